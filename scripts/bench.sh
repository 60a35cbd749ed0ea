#!/usr/bin/env bash
# The benchmark suite: builds the release server and chat-bench, runs the standard scenarios
# with the server pinned to core 0 and the load tool to core 1, and rewrites the results table
# in BENCHMARKS.md. Loopback only; every run stops by itself.
#   scripts/bench.sh            all scenarios
#   QUICK=1 scripts/bench.sh    shorter windows (a smoke run; does not touch BENCHMARKS.md)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
PORT="${PORT:-9200}"
URL="ws://127.0.0.1:$PORT/ws"
[ -n "${QUICK:-}" ] && DURATION=3s
results=$work

# Starts a fresh server (so memory baselines are clean) with extra flags, on an empty database
# (history on, as by default) and with the rate limit off (the load is the point).
start_server() {
  stop_all
  server_flags="$*"
  start_chat_server 0 "$PORT" "$@"
  data="$work/data-$PORT"
}

# run NAME ARGS...: one scenario on core 1; its JSON goes to $results/NAME.json.
commands=()
run() {
  local name=$1; shift
  local cmd=(chat-bench --url "$URL" --pid PID --json "$@")
  commands+=("$name: server \`chat-server${server_flags:+ $server_flags}\`, load \`taskset -c 1 ${cmd[*]}\`")
  printf '%s\n' "$server_flags" >"$results/$name.flags"
  printf '\n==> %s: %s\n' "$name" "$*" >&2
  taskset -c 1 "$BENCH" --url "$URL" --pid "$server_pid" --json "$@" >"$results/$name.json"
  cat "$results/$name.json" >&2
}

start_server
run fanout-1000x1-2M fanout --clients 1000 --senders 1 --rate 2000 --duration "$DURATION"
start_server
run fanout-1000x1-3M fanout --clients 1000 --senders 1 --rate 3000 --duration "$DURATION"
start_server
run fanout-5000x10-300k fanout --clients 5000 --senders 10 --rate 6 --duration "$DURATION"
start_server
run fanout-5000x10-1M fanout --clients 5000 --senders 10 --rate 20 --duration "$DURATION"
# The write-interval trade-off: every message written at once, and a longer interval.
start_server --min-write-interval 0ms
run fanout-1000x1-3M-interval-0 fanout --clients 1000 --senders 1 --rate 3000 --duration "$DURATION"
start_server --min-write-interval 0ms
run fanout-5000x10-300k-interval-0 fanout --clients 5000 --senders 10 --rate 6 --duration "$DURATION"
start_server --min-write-interval 100ms
run fanout-5000x10-300k-interval-100 fanout --clients 5000 --senders 10 --rate 6 --duration "$DURATION"
start_server
run slow-1000x10 slow --clients 1000 --senders 10 --rate 20 --size 1000 --stalled 1 --stall-after 3s --duration 20s
# The same run without a stalled client: what the server's memory does anyway.
start_server
run slow-1000x10-control slow --clients 1000 --senders 10 --rate 20 --size 1000 --stalled 0 --stall-after 3s --duration 20s
# Rooms: one sender per room at 10 msg/s; small rooms and larger ones.
start_server
run rooms-1000x10 fanout --rooms 1000 --clients 10000 --senders 1000 --rate 10 --duration "$DURATION"
start_server
run rooms-100x100 fanout --rooms 100 --clients 10000 --senders 100 --rate 10 --duration "$DURATION"
# Ingest: 200 clients in 100 rooms of 2, each sending 250 msg/s = 50,000 stored messages/s.
start_server
run ingest-100x2 fanout --rooms 100 --clients 200 --senders 200 --rate 250 --duration "$DURATION"
stop_all
python3 - "$data/chat.sqlite3" >"$results/ingest-stored.txt" <<'PY'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM messages").fetchone()[0])
PY
start_server
run resume-1000x10 resume --rooms 10 --clients 1000 --messages 10000
# Idle: every connection with a (guest) name, in a room of 10.
start_server
run idle-18000 idle --rooms 1800 --connections 18000 --hold 3s
# Idle in one room with history: 60 messages of ~2 KB in lobby first, then 18,000 sockets that
# join it (each gets the latest page in `joined`) and never read.
start_server
run idle-seed fanout --clients 2 --senders 1 --rate 30 --size 1950 --warmup 0s --duration 2s --drain 1s
run idle-18000-history idle --connections 18000 --hold 3s
stop_all

[ -n "${QUICK:-}" ] && { echo "QUICK run: BENCHMARKS.md left as it was" >&2; exit 0; }
printf '%s\n' "${commands[@]}" >"$results/commands.txt"
python3 scripts/bench-table.py "$results" BENCHMARKS.md
echo "BENCHMARKS.md updated" >&2
