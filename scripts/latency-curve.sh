#!/usr/bin/env bash
# Latency against load: 1000 clients in one room, one sender, from 1 k to 5 M deliveries/s, with
# the server on one core (chat-bench on the other) and then on both cores (chat-bench sharing
# them). Also the quiet and busy rooms the latency issue names. Each row on a fresh server with
# an empty database, rate limit off. Rewrites the latency section of BENCHMARKS.md.
#   scripts/latency-curve.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
PORT="${PORT:-9230}"

# row CORES LOAD-CORES ARGS...: one fresh server on CORES, chat-bench on LOAD-CORES.
rows=()
row() {
  local cores=$1 load=$2; shift 2
  stop_all
  start_chat_server "$cores" "$PORT"
  printf '\n==> server on %s, load on %s: %s\n' "$cores" "$load" "$*" >&2
  taskset -c "$load" "$BENCH" --url "ws://127.0.0.1:$PORT/ws" --pid "$server_pid" --json "$@" \
    --duration "$DURATION" >"$work/row.json"
  rows+=("$(python3 - "$work/row.json" "$cores" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
l = r["latency"]
clients = f"{r['clients']}" + (f" in {r['rooms']} rooms" if r["rooms"] > 1 else "")
print(f"| {sys.argv[2]} | {clients} | {r['senders']} x {r['rate_per_sender']:g}/s "
      f"| {r['deliveries_per_sec'] / 1000:,.1f} k | {r['loss_percent']:.3f}% | {l['p50_ms']:.2f} "
      f"| {l['p99_ms']:.2f} | {l['max_ms']:.1f} | {r['core_seconds_per_million']:.3f} |")
PY
)")
  echo "${rows[-1]}" >&2
}

for cores in 0 0,1; do
  load=1
  [ "$cores" = 0,1 ] && load=0,1
  for rate in 1 10 100 300 1000 3000 5000; do
    row "$cores" "$load" fanout --clients 1000 --senders 1 --rate "$rate"
  done
done
# The latency issue's quiet and busy rooms, server on one core.
row 0 1 fanout --clients 100 --senders 10 --rate 1
row 0 1 fanout --clients 100 --senders 10 --rate 10
row 0 1 fanout --clients 1000 --senders 10 --rate 30
stop_all

block=$(cat <<MD
Run $(date -u '+%Y-%m-%d %H:%M UTC') by \`scripts/latency-curve.sh\` on $(nproc) cores ($(uname -r)); release
build, default flags (\`--min-write-interval 15ms\`, applied only to a client whose last write
merged several messages), history on, rate limit off, a fresh server per row, ${DURATION} measured.
"server cores" is what \`taskset\` gave the server: \`0\` = one core with chat-bench on the other;
\`0,1\` = both cores, shared with chat-bench. Latency from send to receipt in ms; "core-s/M" is
the server's CPU per million deliveries.

| server cores | clients | senders x rate | deliveries/s | loss | p50 | p99 | max | core-s/M |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
$(printf '%s\n' "${rows[@]}")
MD
)
echo "$block"
python3 scripts/replace_block.py latency BENCHMARKS.md "$block"
