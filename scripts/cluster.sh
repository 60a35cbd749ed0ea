#!/usr/bin/env bash
# Two chat nodes sharing rooms through Redis, all on loopback: Redis on 127.0.0.1:6390 (append-only
# file with fsync on every write, data under $CARGO_TARGET_DIR/cluster), nodes at
# http://127.0.0.1:8081/ and http://127.0.0.1:8082/. Ctrl-C stops all three.
#   scripts/cluster.sh          build, start, print the URLs, serve until Ctrl-C
#   scripts/cluster.sh --check  build, start, check that a room spans both nodes, stop
# Put a load balancer in front of the nodes for one address (README: "Running several nodes").
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# These runs chat as guests (`--access open`); a server that needs accounts is started with
# `--access accounts`, which wins over the variable.
export CHAT_ACCESS=open
bash "$REPO/scripts/bootstrap.sh" cluster
cd "$REPO"
check=false
[ "${1:-}" = --check ] && check=true

REDIS_PORT="${REDIS_PORT:-6390}"
PORTS=(8081 8082)
dir="$CARGO_TARGET_DIR/cluster"
# The check starts from empty rooms; a normal run keeps what Redis stored before.
if $check; then rm -rf "$dir"; fi
mkdir -p "$dir/redis"
for port in "$REDIS_PORT" "${PORTS[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is in use (is a cluster already running?)" >&2
    exit 1
  fi
done

# CHAT_PROFILE=debug (the test suite): the server and chat-bench of `cargo test`'s build, and
# only the page's bundle here, instead of a second, release build of the server.
profile="${CHAT_PROFILE:-release}"
if [ "$profile" = debug ]; then
  printf '==> building the page, and the server and chat-bench (debug)\n' >&2
  build_page >&2
  cargo build --locked -p chat-server -p chat-bench >&2
else
  printf '==> building the app (release)\n' >&2
  build_page >&2
  cargo leptos build --release --server-only >&2
  if $check; then cargo build --release --locked -p chat-bench >&2; fi
fi
bin="$CARGO_TARGET_DIR/$profile"

pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 130' INT TERM

redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$dir/redis" \
  --appendonly yes --appendfsync always --save "" >"$dir/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$REDIS_PORT" ping >/dev/null || { echo "Redis did not start; see $dir/redis.log" >&2; exit 1; }

# The check's 80 clients all come from 127.0.0.1: no limits per address for it.
if $check; then without_rate_limits; fi
for port in "${PORTS[@]}"; do
  LEPTOS_SITE_ROOT=target/site LEPTOS_OUTPUT_NAME=chat \
    "$bin/chat-server" --addr "127.0.0.1:$port" \
    --redis-url "redis://127.0.0.1:$REDIS_PORT/0" >"$dir/node-$port.log" 2>&1 &
  pids+=($!)
done
for port in "${PORTS[@]}"; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { echo "node :$port is not ready; see $dir/node-$port.log" >&2; exit 1; }
done

if $check; then
  # 80 clients alternating between the nodes in 8 rooms, one sender per room within the
  # default rate limit: every message must reach every member of its room on both nodes.
  "$bin/chat-bench" --url "ws://127.0.0.1:${PORTS[0]}/ws" \
    --url "ws://127.0.0.1:${PORTS[1]}/ws" --rooms 8 --json \
    fanout --clients 80 --senders 8 --rate 4 --warmup 1s --duration 3s >"$dir/check.json"
  python3 - "$dir/check.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["expected"] > 0 and r["delivered"] == r["expected"], r
print(f"cluster check: {r['delivered']} of {r['expected']} deliveries across two nodes, "
      f"p99 {r['latency']['p99_ms']} ms")
PY
  for port in "${PORTS[@]}"; do
    curl -sf "http://127.0.0.1:$port/metrics" | grep -q '^chat_messages_out_total [1-9]' \
      || { echo "node :$port delivered nothing" >&2; exit 1; }
  done
  exit 0
fi

printf '==> Redis on 127.0.0.1:%s; nodes at http://127.0.0.1:%s/ and http://127.0.0.1:%s/ (Ctrl-C stops)\n' \
  "$REDIS_PORT" "${PORTS[0]}" "${PORTS[1]}" >&2
wait
