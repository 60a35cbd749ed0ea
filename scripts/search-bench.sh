#!/usr/bin/env bash
# Search over a million messages (issue 25). Fills a database through the server as chat would
# (`fanout --words`: 1000 rooms, one sender each, 15 msg/s, texts of made-up words padded to
# 80 bytes; 15,000 a second, which one core of this host stores with room to spare either way:
# at 50,000 the build before the index fell behind and refused 42 %), with this tree's server (search index on) and, side by side, COMMIT's (before the
# index): the CPU each spends per stored message and the database's size with and without the
# index. Then this tree's server, restarted on its database, answers `chat-bench search`: p50
# and p99 per kind of search. Server on core 0, chat-bench on core 1, loopback only.
#   scripts/search-bench.sh 2fe9cb9
#   FILL_SECONDS=8 scripts/search-bench.sh 2fe9cb9     (a quick run: 150,000 messages)
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 COMMIT" >&2; exit 2; }
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
PORT=9231
FILL_SECONDS="${FILL_SECONDS:-65}"

OLD=$(server_at "$1")

# serve BINARY DATA: a server on core 0 over the database in DATA; sets server_pid.
serve() {
  RUST_LOG=warn taskset -c 0 "$1" --addr "127.0.0.1:$PORT" --data-dir "$2" \
    >"$work/server.log" 2>&1 &
  server_pid=$!; started "$server_pid"
  wait_port "$PORT" "$work/server.log"
}

# fill NAME BINARY: a fresh database filled by fanout --words; prints the fill's figures.
fill() {
  local name=$1 data="$work/data-$1"
  rm -rf "$data"
  serve "$2" "$data"
  taskset -c 1 "$BENCH" --url "ws://127.0.0.1:$PORT/ws" --pid "$server_pid" --json --rooms 1000 \
    fanout --clients 1000 --senders 1000 --rate 15 --warmup 2s --duration "${FILL_SECONDS}s" \
    --drain 5s --size 80 --words >"$work/fill-$name.json"
  stop_all
  python3 - "$name" "$work/fill-$name.json" "$data/chat.sqlite3" <<'PY'
import json, os, sqlite3, sys
name, report, db = sys.argv[1:]
r = json.load(open(report))
conn = sqlite3.connect(db)
count = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
conn.close()
size = sum(os.path.getsize(db + ext) for ext in ("", "-wal") if os.path.exists(db + ext))
print(f"{name}: {count:,} messages stored; {r['core_seconds_per_million']:.3f} core-s per million "
      f"deliveries (one per message); p99 {r['latency']['p99_ms']:.1f} ms; loss "
      f"{r['loss_percent']:.3f}%; database {size / 2**20:.1f} MiB "
      f"({size / max(count, 1):.0f} bytes a message)")
PY
}

fill "before-$1" "$OLD"
fill "indexed" "$SERVER"
serve "$SERVER" "$work/data-indexed"
taskset -c 1 "$BENCH" --url "ws://127.0.0.1:$PORT/ws" --rooms 1000 search --per-kind 100
stop_all
