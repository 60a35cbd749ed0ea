#!/usr/bin/env bash
# The soak: 2,000 named clients from 200 loopback addresses living in 200 rooms (sending,
# typing, paging history, moving between rooms, dropping and resuming) beside one address that
# abuses every limit, while the server is restarted gracefully (half-way) and killed with -9
# (at three quarters).
# chat-bench checks every promise (ids only increase, none twice, every gap owned up to, every
# id seen still in the history afterwards, no well-behaved client refused); this script samples
# the server's memory, open files, names and rooms every 10 s.
#   scripts/soak.sh [minutes]      (default 30; scripts/test.sh runs 2)
# Loopback only. The server runs with its default limits: the load is spread as people are.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
with_default_limits
cd "$REPO"
minutes="${1:-30}"
profile="${CHAT_PROFILE:-release}"
PORT="${PORT:-9300}"
if [ "$profile" = release ]; then
  cargo build --release --locked -p chat-server -p chat-bench >&2
else
  cargo build --locked -p chat-server -p chat-bench >&2
fi
bin="$CARGO_TARGET_DIR/$profile"
work=$(mktemp -d)
server=
trap 'kill -9 $server $bench 2>/dev/null || true; rm -rf "$work"' EXIT

start() {
  RUST_LOG=warn "$bin/chat-server" --addr "127.0.0.1:$PORT" --data-dir "$work/data" \
    >>"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return; sleep 0.1; done
  echo "the server did not start; see $work/server.log" >&2
  exit 1
}

sample() {
  local rss files names rooms
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$server/status" 2>/dev/null || echo 0)
  files=$(ls "/proc/$server/fd" 2>/dev/null | wc -l)
  read -r names rooms < <(curl -s "http://127.0.0.1:$PORT/metrics" |
    awk '/^chat_names / {n=$2} /^chat_rooms_stored / {r=$2} END {print n+0, r+0}')
  printf '%s\t%s\t%s\t%s\t%s\n' "$SECONDS" "$rss" "$files" "$names" "$rooms" >>"$work/samples.tsv"
}

start
seconds=$((minutes * 60))
"$bin/chat-bench" --url "ws://127.0.0.1:$PORT/ws" --json soak --duration "${seconds}s" \
  >"$work/report.json" 2>"$work/bench.log" &
bench=$!
SECONDS=0
restarted= killed=
while kill -0 $bench 2>/dev/null; do
  sleep 10
  sample
  # Restarted half-way and killed at three quarters: the first half is long enough (in a
  # 30-minute run) for memory to settle once the 10-minute cid window is full.
  if [ -z "$restarted" ] && [ "$SECONDS" -ge $((seconds / 2)) ]; then
    echo "==> graceful restart at ${SECONDS}s" >&2
    kill -TERM $server; wait $server 2>/dev/null || true
    start; restarted=1
  elif [ -z "$killed" ] && [ "$SECONDS" -ge $((3 * seconds / 4)) ]; then
    echo "==> kill -9 at ${SECONDS}s" >&2
    kill -9 $server; wait $server 2>/dev/null || true
    start; killed=1
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
