#!/usr/bin/env bash
# This server and the Go original (gorilla/websocket's examples/chat) side by side on this host,
# in the scenarios of the latency issue: same load tool, each server on core 0 with chat-bench
# on core 1, a fresh server per row, the two servers alternating row by row so that both see
# the same host. Rewrites the "go" section of BENCHMARKS.md.
#   GO_CHAT_BIN=/path/to/built/examples/chat scripts/go-compare.sh
# Build the Go original once from a checkout of github.com/gorilla/websocket:
#   cd examples/chat && go build -o chat-go .
# (Offline, Debian's golang-go and golang-github-gorilla-websocket-dev packages provide the
# compiler and the library; vendor /usr/share/gocode/src/github.com/gorilla/websocket.)
# The Go example broadcasts each frame as it came in, so chat-bench's tokens (which it finds
# in any frame) are measured the same way for both servers.
set -euo pipefail
[ -x "${GO_CHAT_BIN:-}" ] || { echo "set GO_CHAT_BIN to the built Go chat example" >&2; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
PORT="${PORT:-9240}"

# measure WHICH ARGS...: prints "p50 / p99 ms, core-s/M" (or why there is none) for one run.
measure() {
  local which=$1; shift
  if [ "$which" = go ]; then
    (cd "$work" && exec taskset -c 0 "$GO_CHAT_BIN" -addr "127.0.0.1:$PORT") >"$work/server.log" 2>&1 &
    server_pid=$!
    started "$server_pid"
    wait_port "$PORT" "$work/server.log"
  else
    start_chat_server 0 "$PORT"
  fi
  printf '==> %s: %s\n' "$which" "$*" >&2
  taskset -c 1 "$BENCH" --url "ws://127.0.0.1:$PORT/ws" --pid "$server_pid" --json "$@" \
    --duration "$DURATION" >"$work/row.json" 2>"$work/row.progress" || true
  stop_all # here: measure runs in a subshell, $(...), which has the only copy of the pid
  python3 - "$work/row.json" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print("no result (the run failed)")
    sys.exit()
l = r["latency"]
if not r.get("deliveries_per_sec"):
    print("nothing delivered: every client was dropped")
    sys.exit()
loss = f", loss {r['loss_percent']:.2f}%" if r["loss_percent"] > 0 else ""
print(f"{l['p50_ms']:.2f} / {l['p99_ms']:.2f} ms, {r['core_seconds_per_million']:.2f}{loss}")
PY
}

rows=()
row() {
  local label=$1 target=$2; shift 2
  local go ours
  go=$(measure go "$@")
  ours=$(measure rust "$@")
  rows+=("| $label | $go | $ours | $target |")
  echo "${rows[-1]}" >&2
}

row "100 x 10 at 1 msg/s each (1 k/s)" "p50 < 1, p99 < 2" fanout --clients 100 --senders 10 --rate 1
row "100 x 10 at 10 msg/s each (10 k/s)" "p50 < 1, p99 < 2" fanout --clients 100 --senders 10 --rate 10
row "1000 x 1 at 100 msg/s (100 k/s)" "p50 < 4, p99 < 10" fanout --clients 1000 --senders 1 --rate 100
row "1000 x 10 at 30 msg/s each (300 k/s)" "p99 < 15" fanout --clients 1000 --senders 10 --rate 30
row "1000 x 1 at 3000 msg/s (3 M/s)" "p99 < 25, <= 0.2 core-s/M" fanout --clients 1000 --senders 1 --rate 3000

block=$(cat <<MD
Run $(date -u '+%Y-%m-%d %H:%M UTC') by \`GO_CHAT_BIN=... scripts/go-compare.sh\` on $(nproc) cores ($(uname -r));
each server on core 0, chat-bench on core 1, a fresh server per row, ${DURATION} measured; this
server with default flags, history on, rate limit off. Cells: p50 / p99 latency in ms, then
the server's core-seconds per million deliveries.

| scenario (clients x senders) | Go original | this server | target (issue 11) |
| --- | --- | --- | --- |
$(printf '%s\n' "${rows[@]}")
MD
)
echo "$block"
python3 scripts/replace_block.py go BENCHMARKS.md "$block"
