#!/usr/bin/env bash
# The soak: 2,000 named clients from 200 loopback addresses living in 200 rooms (sending,
# typing, paging history, moving between rooms, dropping and resuming) beside one address that
# abuses every limit, while the server is restarted gracefully (half-way) and killed with -9
# (at three quarters).
# With --cluster: two nodes sharing Redis (clients spread over both), Redis restarted once (at
# a quarter; it keeps its data in an append-only file, as a production Redis would), node one
# restarted gracefully half-way, node two killed with -9 at three quarters.
# chat-bench checks every promise (ids only increase, none twice, every gap owned up to, every
# id seen still in the history afterwards, no well-behaved client refused); this script samples
# the servers' memory, open files, names and rooms every 10 s.
#   scripts/soak.sh [--cluster] [minutes]      (default 30; scripts/test.sh runs 2 of each)
# Loopback only. The server runs with its default limits: the load is spread as people are.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# These runs chat as guests (`--access open`); a server that needs accounts is started with
# `--access accounts`, which wins over the variable.
export CHAT_ACCESS=open
with_default_limits
cd "$REPO"
cluster=
if [ "${1:-}" = --cluster ]; then cluster=1; shift; fi
minutes="${1:-30}"
PORT="${PORT:-9300}"
REDIS_PORT="${REDIS_PORT:-9379}"
bin=$(build_server_and_bench)
work=$(mktemp -d)
ports=("$PORT")
[ -z "$cluster" ] || ports+=($((PORT + 1)))
pids=()
redis= bench=
trap 'kill -9 ${pids[*]:-} $bench $redis 2>/dev/null || true; rm -rf "$work"' EXIT

start_redis() {
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$work/redis" \
    --appendonly yes --appendfsync always --save "" >>"$work/redis.log" 2>&1 &
  redis=$!
  for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "Redis did not start; see $work/redis.log" >&2
  exit 1
}

# Starts node $1 (an index into ports).
start() {
  local port=${ports[$1]} extra=()
  if [ -n "$cluster" ]; then
    extra=(--redis-url "redis://127.0.0.1:$REDIS_PORT/0" --history-per-room 0)
  fi
  RUST_LOG=warn "$bin/chat-server" --addr "127.0.0.1:$port" --data-dir "$work/data-$1" \
    "${extra[@]}" >>"$work/server-$1.log" 2>&1 &
  pids[$1]=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.1; done
  echo "node $1 did not start; see $work/server-$1.log" >&2
  exit 1
}

# One line: seconds, then RSS (KiB) and open files summed over the nodes, then the first
# node's names and rooms stored (single node only: in cluster mode they live in Redis).
sample() {
  local rss=0 files=0 names rooms i
  for i in "${!ports[@]}"; do
    rss=$((rss + $(awk '/VmRSS/ {print $2}' "/proc/${pids[$i]}/status" 2>/dev/null || echo 0)))
    files=$((files + $(ls "/proc/${pids[$i]}/fd" 2>/dev/null | wc -l)))
  done
  read -r names rooms < <(curl -s "http://127.0.0.1:$PORT/metrics" |
    awk '/^chat_names / {n=$2} /^chat_rooms_stored / {r=$2} END {print n+0, r+0}')
  printf '%s\t%s\t%s\t%s\t%s\n' "$SECONDS" "$rss" "$files" "$names" "$rooms" >>"$work/samples.tsv"
}

if [ -n "$cluster" ]; then mkdir -p "$work/redis"; start_redis; fi
urls=()
for i in "${!ports[@]}"; do
  start "$i"
  urls+=(--url "ws://127.0.0.1:${ports[$i]}/ws")
done
seconds=$((minutes * 60))
"$bin/chat-bench" "${urls[@]}" --json soak --duration "${seconds}s" \
  >"$work/report.json" 2>"$work/bench.log" &
bench=$!
SECONDS=0
redis_restarted= restarted= killed=
last=$((${#ports[@]} - 1))
while kill -0 $bench 2>/dev/null; do
  sleep 10
  sample
  # Restarted half-way and killed at three quarters: the first half is long enough (in a
  # 30-minute run) for memory to settle once the 10-minute cid window is full.
  if [ -n "$cluster" ] && [ -z "$redis_restarted" ] && [ "$SECONDS" -ge $((seconds / 4)) ]; then
    echo "==> Redis restarted at ${SECONDS}s" >&2
    redis-cli -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || true
    wait $redis 2>/dev/null || true
    start_redis; redis_restarted=1
  elif [ -z "$restarted" ] && [ "$SECONDS" -ge $((seconds / 2)) ]; then
    echo "==> graceful restart of node 0 at ${SECONDS}s" >&2
    kill -TERM "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
    start 0; restarted=1
  elif [ -z "$killed" ] && [ "$SECONDS" -ge $((3 * seconds / 4)) ]; then
    echo "==> kill -9 of node $last at ${SECONDS}s" >&2
    kill -9 "${pids[$last]}"; wait "${pids[$last]}" 2>/dev/null || true
    start "$last"; killed=1
  fi
done
status=0
wait $bench || status=$?
sample
python3 - "$work/report.json" "$work/samples.tsv" <<'PY'
import json, sys
report = json.load(open(sys.argv[1])) if open(sys.argv[1]).read().strip() else {}
rows = [l.split("\t") for l in open(sys.argv[2]).read().split("\n") if l]
print(json.dumps(report, indent=1))
print("seconds  rss_kib  open_files  names  rooms")
for r in rows:
    print("  ".join(r))
PY
[ $status -eq 0 ] || { echo "the soak failed; bench log:" >&2; tail -20 "$work/bench.log" >&2; exit 1; }
echo "soak passed" >&2
