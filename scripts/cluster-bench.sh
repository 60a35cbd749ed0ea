#!/usr/bin/env bash
# Cluster mode's benchmark: the issue's scenarios over two nodes sharing Redis, and the same
# scenarios on one node (SQLite) for the cost of cluster mode. The servers (both nodes and Redis,
# or the single node) run on core 0, chat-bench on core 1; loopback only; each scenario on fresh
# servers with empty data. Rewrites the cluster section of BENCHMARKS.md.
#   scripts/cluster-bench.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# The load comes from one address at machine speed: no limits on rates or connections per address.
without_rate_limits
bash "$REPO/scripts/bootstrap.sh" cluster
source "$REPO/scripts/bench-lib.sh"
REDIS_PORT=6391
PORTS=(9211 9212)

# cpu_ticks PID: user + system CPU of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# metric PORT NAME: a counter's value on a node.
metric() { curl -sf "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n {print $2}'; }

rows=()
# scenario NAME MODE ARGS...: MODE is `cluster` (two nodes + Redis) or `single`.
scenario() {
  local name=$1 mode=$2; shift 2
  stop_all
  local urls=() pidargs=() redis_pid=
  if [ "$mode" = cluster ]; then
    rm -rf "$work/redis"; mkdir -p "$work/redis"
    taskset -c 0 redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$work/redis" \
      --appendonly yes --appendfsync "${FSYNC:-always}" --save "" >"$work/redis.log" 2>&1 &
    redis_pid=$!; pids+=("$redis_pid")
    wait_port "$REDIS_PORT"
    for port in "${PORTS[@]}"; do
      RUST_LOG=warn taskset -c 0 "$SERVER" --addr "127.0.0.1:$port" \
        --redis-url "redis://127.0.0.1:$REDIS_PORT/0" >"$work/node-$port.log" 2>&1 &
      pids+=($!); pidargs+=(--pid "$!"); urls+=(--url "ws://127.0.0.1:$port/ws")
    done
  else
    rm -rf "$work/data"
    RUST_LOG=warn taskset -c 0 "$SERVER" --addr "127.0.0.1:${PORTS[0]}" \
      --data-dir "$work/data" >"$work/node.log" 2>&1 &
    pids+=($!); pidargs+=(--pid "$!"); urls+=(--url "ws://127.0.0.1:${PORTS[0]}/ws")
  fi
  local port
  for port in "${PORTS[@]}"; do [ "$mode" = single ] && [ "$port" != "${PORTS[0]}" ] || wait_port "$port"; done
  local redis_before=0
  [ -n "$redis_pid" ] && redis_before=$(cpu_ticks "$redis_pid")
  printf '\n==> %s (%s): %s\n' "$name" "$mode" "$*" >&2
  taskset -c 1 "$BENCH" "${urls[@]}" "${pidargs[@]}" --json "$@" --duration "$DURATION" >"$work/$name.json"
  local redis_ticks=0 trips=0 other=0 published=0 delivered=0
  if [ -n "$redis_pid" ]; then
    redis_ticks=$(( $(cpu_ticks "$redis_pid") - redis_before ))
    for port in "${PORTS[@]}"; do
      trips=$(python3 -c "print($trips + $(metric "$port" chat_redis_publish_round_trips_total))")
      other=$(python3 -c "print($other + $(metric "$port" chat_redis_round_trips_total))")
      published=$(python3 -c "print($published + $(metric "$port" chat_messages_in_total))")
      delivered=$(python3 -c "print($delivered + $(metric "$port" chat_deliveries_total))")
    done
  fi
  rows+=("$(python3 - "$name" "$mode" "$work/$name.json" "$redis_ticks" "$(getconf CLK_TCK)" "$trips" "$published" "$delivered" "$other" "${FSYNC:-always}" <<'PY'
import json, sys
name, mode, path = sys.argv[1:4]
ticks, hz, trips, published, delivered, other = (float(x) for x in sys.argv[4:10])
fsync = sys.argv[10]
r = json.load(open(path))
l = r["latency"]
nodes = f"2 nodes + Redis ({fsync})" if mode == "cluster" else "1 node (SQLite)"
clients = f"{r['clients']}" + (f" in {r['rooms']} rooms" if r["rooms"] > 1 else "")
load = f"{r['senders']} x {r['rate_per_sender']:g}/s"
if mode == "cluster" and published:
    redis = f"{ticks / hz / r['sent_total'] * 1e6:.1f}"
    per_pub = f"{trips / published:.3f}"
    per_del = f"{other / delivered:.4f}"
else:
    redis = per_pub = per_del = "-"
print(f"| {name} | {nodes} | {clients} | {load} | {r['deliveries_per_sec'] / 1000:,.0f} k "
      f"| {r['loss_percent']:.3f}% | {l['p50_ms']:.1f} | {l['p99_ms']:.1f} | {l['max_ms']:.1f} "
      f"| {r['core_seconds_per_million']:.3f} | {redis} | {per_pub} | {per_del} |")
PY
)")
  echo "${rows[-1]}" >&2
}

scenario one-room-2000-cluster cluster fanout --clients 2000 --senders 1 --rate 1000
scenario one-room-2000-single single fanout --clients 2000 --senders 1 --rate 1000
scenario rooms-1000x10-cluster cluster --rooms 1000 fanout --clients 10000 --senders 1000 --rate 10
scenario rooms-1000x10-single single --rooms 1000 fanout --clients 10000 --senders 1000 --rate 10
scenario quiet-100x10-cluster cluster --rooms 10 fanout --clients 100 --senders 10 --rate 1
scenario quiet-100x10-single single --rooms 10 fanout --clients 100 --senders 10 --rate 1
FSYNC=everysec scenario quiet-100x10-cluster-everysec cluster --rooms 10 fanout --clients 100 --senders 10 --rate 1
FSYNC=everysec scenario one-room-2000-cluster-everysec cluster fanout --clients 2000 --senders 1 --rate 1000
stop_all

block=$(cat <<MD
Run $(date -u '+%Y-%m-%d %H:%M UTC') by \`scripts/cluster-bench.sh\` on $(nproc) cores ($(uname -r)), Redis
$(redis-server --version | awk '{print $3}' | tr -d 'v=') with \`appendonly yes\`, \`appendfsync always\`. The servers (two nodes and Redis, or
the single node) share core 0, chat-bench runs on core 1 with clients alternating between the
nodes (so every room has members on both and its sender on one); release builds, rate limit off,
fresh data for every row, ${DURATION} measured. Latency is from a message's send to its receipt, in ms.
"core-s/M" is the nodes' CPU (not Redis') per million deliveries; "Redis µs/msg" is Redis' CPU
per published message (its CPU, so an fsync's wait is not in it). Round trips: the
publish pipelines per published message (\`chat_redis_publish_round_trips_total\`; one pipeline
carries whatever queued meanwhile), and every other round trip (history, gap fills, presence
refreshes, readiness probes: \`chat_redis_round_trips_total\`) per delivered message. Redis
runs with \`appendfsync always\` unless the servers column says \`everysec\`.

| scenario | servers | clients | senders x rate | deliveries/s | loss | p50 | p99 | max | core-s/M | Redis µs/msg | round trips / published | round trips / delivered |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
$(printf '%s\n' "${rows[@]}")
MD
)
echo "$block"
python3 scripts/replace_block.py cluster BENCHMARKS.md "$block"
