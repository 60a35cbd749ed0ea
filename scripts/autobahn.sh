#!/usr/bin/env bash
# The Autobahn TestSuite (groups 1-10; 12 and 13 test compression, which the server does not
# negotiate) against the server's WebSocket code in its echo mode, run by kosoku.
#   scripts/autobahn.sh            every group, then CONFORMANCE.md is rewritten from the result
#   scripts/autobahn.sh --quick    every group but 9 (large and many messages)
# Fails when any case is not OK (INFORMATIONAL cases test what the RFC leaves open).
# scripts/test.sh runs it in full: it takes seconds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO"
[ -x "$AUTOBAHN_VENV/bin/kosoku" ] || bash scripts/bootstrap.sh test

exclude=(-x '12.*' -x '13.*')
[ "${1:-}" = --quick ] && exclude+=(-x '9.*')

cargo build -p chat-server --no-default-features --features autobahn-echo --bin autobahn-echo --locked
work=$(mktemp -d)
"$CARGO_TARGET_DIR/debug/autobahn-echo" --addr 127.0.0.1:0 --data-dir "$work/data" >"$work/echo.log" 2>&1 &
echo_server=$!
trap 'kill $echo_server 2>/dev/null || true; rm -rf "$work"' EXIT
url=
for _ in $(seq 100); do
  url=$(sed -n 's/^autobahn echo listening on //p' "$work/echo.log")
  [ -n "$url" ] && break
  kill -0 $echo_server 2>/dev/null || { cat "$work/echo.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "the echo server did not start" >&2; cat "$work/echo.log" >&2; exit 1; }

# kosoku exits non-zero only for FAILED cases; the summary also refuses NON-STRICT and the rest.
"$AUTOBAHN_VENV/bin/kosoku" "$url" "${exclude[@]}" -p 4 -o "$work/report" >"$work/kosoku.log" 2>&1 || true
summary_args=("$work/report/index.json")
[ "${1:-}" = --quick ] || summary_args+=(--write CONFORMANCE.md)
python3 scripts/autobahn-summary.py "${summary_args[@]}"
