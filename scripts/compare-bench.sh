#!/usr/bin/env bash
# Side by side against an earlier commit: the per-message rows (one room's fan-out, rooms of 10,
# the writer-bound ingest, and over two nodes with Redis one room and rooms of 10), each run by
# this tree's server and by the commit's, alternately, twice (and the cluster rows with 10 %
# edits and reactions by this tree's alone), a fresh server (and Redis) for
# every run on core 0, chat-bench (this tree's) on core 1. Prints one line per run: what a
# change to the per-message path costs, measured in the same minutes. Loopback only.
#   scripts/compare-bench.sh 0c2deb0
#   ONLY=cluster ROUNDS=3 scripts/compare-bench.sh 0c2deb0   (rows whose name has "cluster", 3 rounds)
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 COMMIT" >&2; exit 2; }
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
bash "$REPO/scripts/bootstrap.sh" cluster >&2
PORTS=(9221 9222)
REDIS_PORT=6392

OLD=$(server_at "$1")
NEW="$SERVER"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# one NAME BINARY MODE ARGS...: MODE `single` (one node, SQLite) or `cluster` (two + Redis).
one() {
  local name=$1 binary=$2 mode=$3; shift 3
  [[ "$name" == *"${ONLY:-}"* ]] || return 0
  stop_all
  local urls=() pidargs=() redis_pid=
  if [ "$mode" = cluster ]; then
    rm -rf "$work/redis"; mkdir -p "$work/redis"
    taskset -c 0 redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$work/redis" \
      --appendonly yes --appendfsync always --save "" >"$work/redis.log" 2>&1 &
    redis_pid=$!; started "$redis_pid"
    wait_port "$REDIS_PORT"
    for port in "${PORTS[@]}"; do
      RUST_LOG=warn taskset -c 0 "$binary" --addr "127.0.0.1:$port" \
        --redis-url "redis://127.0.0.1:$REDIS_PORT/0" >"$work/node-$port.log" 2>&1 &
      started $!; pidargs+=(--pid "$!"); urls+=(--url "ws://127.0.0.1:$port/ws")
      wait_port "$port" "$work/node-$port.log"
    done
  else
    rm -rf "$work/data"
    RUST_LOG=warn taskset -c 0 "$binary" --addr "127.0.0.1:${PORTS[0]}" --data-dir "$work/data" \
      >"$work/node.log" 2>&1 &
    started $!; pidargs+=(--pid "$!"); urls+=(--url "ws://127.0.0.1:${PORTS[0]}/ws")
    wait_port "${PORTS[0]}" "$work/node.log"
  fi
  local before=0
  [ -n "$redis_pid" ] && before=$(cpu_ticks "$redis_pid")
  taskset -c 1 "$BENCH" "${urls[@]}" "${pidargs[@]}" --json "$@" --duration "$DURATION" \
    >"$work/$name.json"
  local redis_ticks=0
  [ -n "$redis_pid" ] && redis_ticks=$(( $(cpu_ticks "$redis_pid") - before ))
  python3 - "$name" "$work/$name.json" "$redis_ticks" "$(getconf CLK_TCK)" <<'PY'
import json, sys
name, path, ticks, hz = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
d = json.load(open(path))
redis = f", Redis {ticks / hz / d['sent_total'] * 1e6:.1f} µs/msg" if ticks else ""
print(f"{name}: timed deliveries {d['delivered']}/{d['expected']} "
      f"({d['deliveries_per_sec']:.0f}/s) p50 {d['latency']['p50_ms']:.2f} "
      f"p99 {d['latency']['p99_ms']:.2f} ms, core-s/M {d['core_seconds_per_million']:.3f}{redis}",
      flush=True)
PY
}

for round in $(seq "${ROUNDS:-2}"); do
  for build in new old; do
    binary=$NEW; [ "$build" = old ] && binary=$OLD
    one "fanout-$round-$build" "$binary" single fanout --clients 1000 --senders 1 --rate 2000
    one "rooms-$round-$build" "$binary" single --rooms 1000 fanout --clients 10000 --senders 1000 --rate 10
    one "ingest-$round-$build" "$binary" single fanout --rooms 100 --clients 200 --senders 200 --rate 250
    one "cluster-room-$round-$build" "$binary" cluster fanout --clients 2000 --senders 1 --rate 1000
    one "cluster-rooms-$round-$build" "$binary" cluster --rooms 1000 fanout --clients 10000 --senders 1000 --rate 10
  done
  # This tree's server only (the commit may not take them): 10 % edits and reactions.
  one "cluster-rooms-actions-$round" "$NEW" cluster --rooms 1000 fanout --clients 10000 --senders 1000 --rate 10 --actions 10
  one "cluster-room-actions-$round" "$NEW" cluster fanout --clients 2000 --senders 1 --rate 1000 --actions 10
done
stop_all
