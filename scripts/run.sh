#!/usr/bin/env bash
# Sets up whatever is missing, then builds and serves the full app (release) at
# http://127.0.0.1:8080/ (set CHAT_ADDR to change the address; every flag in README.md has a
# CHAT_* variable).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash "$REPO/scripts/bootstrap.sh" run
cd "$REPO"
printf '==> building; the app will be at http://%s/\n' "${CHAT_ADDR:-127.0.0.1:8080}" >&2
exec cargo leptos serve --release
