#!/usr/bin/env bash
# A reconnect storm after a restart: every client of one room leaves, messages are posted, the
# server is restarted gracefully, and all the clients come back at once naming their last id,
# as after a deploy. chat-bench fails unless every one gets exactly its gap (`recovered`), and
# reports how long until the last one had it and how many presence bytes each got meanwhile.
#   scripts/storm.sh [clients] [messages]      (default 5000 1000; scripts/test.sh runs it)
# Loopback only; server on core 0, load on core 1. The per-address limits are off, as in the
# benchmark suite: one poster sends the room's messages as fast as the server takes them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# These runs chat as guests (`--access open`); a server that needs accounts is started with
# `--access accounts`, which wins over the variable.
export CHAT_ACCESS=open
without_rate_limits
cd "$REPO"
clients="${1:-5000}"
messages="${2:-1000}"
PORT="${PORT:-9400}"
bin=$(build_server_and_bench)
work=$(mktemp -d)
trap 'kill -9 $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
pin() { if command -v taskset >/dev/null; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }

# The server, started (again) on the same port and database; returns once it is ready.
cat >"$work/start.sh" <<SH
#!/usr/bin/env bash
RUST_LOG=warn $(command -v taskset >/dev/null && echo "taskset -c 0") "$bin/chat-server" \
  --addr 127.0.0.1:$PORT --data-dir "$work/data" >>"$work/server.log" 2>&1 &
echo \$! >"$work/pid"
for _ in \$(seq 200); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && exit 0; sleep 0.05; done
echo "the server did not start; see $work/server.log" >&2
exit 1
SH
# A graceful restart: SIGTERM, wait for the old process to drain and exit, start again.
cat >"$work/restart.sh" <<SH
#!/usr/bin/env bash
old=\$(cat "$work/pid")
kill -TERM "\$old"
while kill -0 "\$old" 2>/dev/null; do sleep 0.05; done
exec bash "$work/start.sh"
SH
bash "$work/start.sh"
pin 1 "$bin/chat-bench" --url "ws://127.0.0.1:$PORT/ws" --sources 250 resume --rooms 1 \
  --clients "$clients" --messages "$messages" --restart-command "bash $work/restart.sh"
