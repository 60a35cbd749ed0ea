#!/usr/bin/env bash
# Issue 24's side-by-side rows: the rooms and fan-out scenarios of scripts/bench.sh with and
# without 10 % edits and reactions (`chat-bench fanout --actions 10`), alternately, twice each,
# a fresh server for every run (core 0; the load on core 1). Prints one line per run; the
# figures are in BENCHMARKS.md, "Edits and reactions in the load". Loopback only.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
PORT="${PORT:-9200}"
URL="ws://127.0.0.1:$PORT/ws"
one() {
  local name=$1; shift
  stop_all
  start_chat_server 0 "$PORT"
  taskset -c 1 "$BENCH" --url "$URL" --pid "$server_pid" --json "$@" >"$work/$name.json"
  python3 - "$name" "$work/$name.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[2]))
print(f"{sys.argv[1]}: timed deliveries {d['delivered']}/{d['expected']} "
      f"({d['deliveries_per_sec']:.0f}/s) p50 {d['latency']['p50_ms']:.2f} "
      f"p99 {d['latency']['p99_ms']:.2f} ms, core-s/M {d['core_seconds_per_million']:.3f}, "
      f"RSS peak {d['server_rss_peak_bytes']}, actions {d['actions_sent']}")
PY
}
for round in 1 2; do
  one "rooms-$round-plain" fanout --rooms 1000 --clients 10000 --senders 1000 --rate 10 --duration 10s
  one "rooms-$round-actions" fanout --rooms 1000 --clients 10000 --senders 1000 --rate 10 --duration 10s --actions 10
  one "fanout-$round-plain" fanout --clients 1000 --senders 1 --rate 2000 --duration 10s
  one "fanout-$round-actions" fanout --clients 1000 --senders 1 --rate 2000 --duration 10s --actions 10
done
stop_all
