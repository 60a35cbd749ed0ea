#!/usr/bin/env bash
# Sets up whatever is missing, then builds and serves the full app (release) at
# http://127.0.0.1:8080/ (set CHAT_ADDR to change the address; every flag in README.md has a
# CHAT_* variable).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash "$REPO/scripts/bootstrap.sh" run
cd "$REPO"
printf '==> building; the app will be at http://%s/\n' "${CHAT_ADDR:-127.0.0.1:8080}" >&2
if [ "${CHAT_ACCESS:-accounts}" = accounts ]; then
  printf '%s\n' \
    '==> accounts mode: on its first start the server logs a one-time link,' \
    '    "not set up yet: open http://.../setup/<token> ...": open it to make the first account' \
    '    (an administrator), then invite people from /admin. CHAT_ACCESS=open serves guests instead.' >&2
fi
# The page first (pinned nightly, scripts/env.sh), then the server, which serves it.
build_page
exec cargo leptos serve --release --server-only
