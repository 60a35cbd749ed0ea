#!/usr/bin/env bash
# Where the server's CPU goes under load: for each standard fan-out scenario, counts the server's
# send syscalls (perf tracepoints) and samples its stacks (perf record) during the measured
# window, then rewrites the profile table in BENCHMARKS.md. Needs `perf` (Debian: linux-perf)
# with tracepoint access, and 2 cores (server on core 0, chat-bench on core 1). Loopback only.
set -euo pipefail
command -v perf >/dev/null || { echo "perf is needed (apt-get install linux-perf)" >&2; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
PORT="${PORT:-9300}"
rows=()

# start_load NAME CPUS "SERVER FLAGS" CHAT-BENCH ARGS...: starts the server on CPUS and
# chat-bench on core 1, and returns once the measured window has begun (sets $server, $bench).
start_load() {
  local name=$1 cpus=$2 flags=$3; shift 3
  # shellcheck disable=SC2086 # the flags are words
  rm -rf "$work/data"
  RUST_LOG=warn taskset -c "$cpus" "$SERVER" --addr "127.0.0.1:$PORT" --data-dir "$work/data" $flags >"$work/server.log" 2>&1 &
  server=$!
  started "$server"
  wait_port "$PORT" "$work/server.log"
  taskset -c 1 "$BENCH" --url "ws://127.0.0.1:$PORT/ws" --pid "$server" --json "$@" \
    --warmup 2s --duration 12s >"$work/$name.json" 2>"$work/$name.progress" &
  bench=$!
  # Connecting takes a few seconds; start sampling once the run's progress lines appear.
  until grep -q "^t=" "$work/$name.progress" 2>/dev/null; do sleep 0.2; done
  sleep 2
}

stop_load() {
  wait "$bench"
  kill "$server"; wait "$server" 2>/dev/null || true
}

# profile NAME "SERVER FLAGS" CHAT-BENCH ARGS...
profile() {
  local name=$1 flags=$2; shift 2
  start_load "$name" 0 "$flags" "$@"
  perf stat -x, -e syscalls:sys_enter_sendto,syscalls:sys_enter_sendmsg,syscalls:sys_enter_write,syscalls:sys_enter_writev -p "$server" \
    -o "$work/$name.stat" -- sleep 4
  perf record -q -F 999 -g -p "$server" -o "$work/$name.data" -- sleep 4 2>/dev/null
  stop_load
  local sends deliveries kernel rx
  sends=$(awk -F, '/sys_enter_(sendto|sendmsg|write|writev)/ {n += $1} END {print n}' "$work/$name.stat")
  deliveries=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['deliveries_per_sec'])" "$work/$name.json")
  kernel=$(perf report -i "$work/$name.data" --no-children --sort dso --stdio 2>/dev/null \
    | awk '/\[kernel.kallsyms\]/ && !done {gsub("%", "", $1); print $1; done = 1}')
  rx=$(perf report -i "$work/$name.data" --children --sort symbol --stdio 2>/dev/null \
    | awk '/\] net_rx_action/ && !done {gsub("%", "", $1); print $1; done = 1}')
  local per_million
  per_million=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['core_seconds_per_million'])" "$work/$name.json")
  rows+=("$(python3 - "$name" "$sends" "$deliveries" "$kernel" "${rx:-0}" "$per_million" "$flags" <<'PY'
import sys
name, sends, deliveries, kernel, rx = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
flags = f"`{sys.argv[7]}`" if sys.argv[7] else "defaults"
busy = float(sys.argv[6]) * deliveries / 1e6  # server cores in use over the measured window
per_s = sends / 4
print(f"| {name} | {flags} | {deliveries / 1000:,.0f} k | {busy:.2f} | {per_s / 1000:,.0f} k | {deliveries / per_s:.1f} | {busy * 1e6 / per_s:.2f} | {kernel}% | {rx}% |")
PY
)")
  echo "${rows[-1]}" >&2
}

profile fanout-1000x1-3M "" fanout --clients 1000 --senders 1 --rate 3000
profile fanout-1000x1-3M "--min-write-interval 0ms" fanout --clients 1000 --senders 1 --rate 3000
profile fanout-5000x10-300k "" fanout --clients 5000 --senders 10 --rate 6
profile fanout-5000x10-300k "--min-write-interval 0ms" fanout --clients 5000 --senders 10 --rate 6

# Lock contention between readers (publishing) and writers (taking from the feed): the server
# on both cores, so its worker threads really run in parallel, 10 senders into 1000 clients.
# parking_lot's slow path runs only when a lock is held by another thread (spin, then park).
start_load contention 0,1 "" fanout --clients 1000 --senders 10 --rate 300
perf record -q -F 999 -g -p "$server" -o "$work/contention.data" -- sleep 4 2>/dev/null
stop_load
contention=$(perf script -i "$work/contention.data" 2>/dev/null | awk 'BEGIN {RS = ""} {n++} /lock_slow/ {l++}
  END {printf "%d of %d samples (%.2f%%)", l, n, 100 * l / n}')
echo "contention: $contention" >&2

block=$(cat <<MD
Profiled $(date -u +%Y-%m-%d) by \`scripts/profile.sh\` (same build and pinning as the table above;
syscalls counted with perf tracepoints and stacks sampled at 999 Hz, 4 s each, inside the
measured window). "server cores busy" is the server's CPU over chat-bench's measured window;
"µs of core per write" divides it by the server's writes, so it includes everything the server
does per write (fan-out, wake-ups, the syscall).

| scenario | server flags | deliveries/s | server cores busy | server writes/s | deliveries per write | µs of core per write | kernel share of server CPU | of which receiving side (\`net_rx_action\`) |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
$(printf '%s\n' "${rows[@]}")

Lock contention between readers and the broadcast, measured with the server on both cores
(\`taskset -c 0,1\`, two worker threads), 10 senders x 300/s into 1000 clients (3 M deliveries/s):
parking_lot's contended path (\`lock_slow\`: another thread holds the lock, so spin, then park)
was in $contention of the server's stacks.
MD
)
echo "$block"
python3 scripts/replace_block.py profile BENCHMARKS.md "$block"
