#!/usr/bin/env bash
# Accounts mode against open mode, side by side: the fan-out, rooms and idle rows of the suite,
# each on a fresh server in open mode, then in accounts mode (every client presenting one
# account's session cookie, checked once at its upgrade), then in accounts mode with a Web Push
# subscription in the database (`push`: the writer then tells the push worker of every message). What must hold: authentication costs
# nothing per message, and a connection no more memory than the idle row allows.
#   scripts/bench-accounts.sh        prints one JSON line a run, then a summary
# Loopback only; server on core 0, load on core 1; rate and per-address limits off.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
PORT="${PORT:-9250}"
URL="ws://127.0.0.1:$PORT/ws"
results="$work/results"
mkdir -p "$results"

# A fresh server in accounts mode with one account, `bench`, made through a one-time link
# (`chat-server user add`); sets server_pid and cookie.
start_accounts_server() {
  local data="$work/data-$PORT" link token
  rm -rf "$data"
  link=$("$SERVER" --data-dir "$data" --access accounts user add bench | head -1)
  token="${link##*/join/}"
  RUST_LOG=warn taskset -c 0 "$SERVER" --addr "127.0.0.1:$PORT" --data-dir "$data" \
    --access accounts >"$work/server.log" 2>&1 &
  server_pid=$!
  started "$server_pid"
  wait_port "$PORT" "$work/server.log"
  cookie=$(curl -s -D - -o /dev/null -H 'Sec-Fetch-Site: same-origin' \
    --data 'name=bench&password=benchmark-password' "http://127.0.0.1:$PORT/join/$token" |
    tr -d '\r' | awk 'tolower($1) == "set-cookie:" {sub(/;.*/, "", $2); print $2}')
  [ -n "$cookie" ] || { echo "could not sign in; see $work/server.log" >&2; exit 1; }
}

# Gives the signed-in account (`cookie`) a push subscription: an https endpoint on the public
# internet that no message here will reach (none mentions anyone), with keys made for it.
subscribe_to_push() {
  local keys
  keys=$(node -e 'const c = require("crypto"); const e = c.createECDH("prime256v1"); e.generateKeys();
    console.log(JSON.stringify({endpoint: "https://push.example.com/bench", p256dh: e.getPublicKey("base64url"),
      auth: c.randomBytes(16).toString("base64url")}))')
  curl -sf -H 'Sec-Fetch-Site: same-origin' -H "Cookie: $cookie" -H 'Content-Type: application/json'     --data "$keys" "http://127.0.0.1:$PORT/push/subscriptions" ||
    { echo "could not subscribe; see $work/server.log" >&2; exit 1; }
}

# run MODE NAME ARGS...: one scenario on a fresh server in MODE (open, accounts or push).
run() {
  local mode=$1 name=$2; shift 2
  stop_all
  local extra=()
  if [ "$mode" != open ]; then
    start_accounts_server
    [ "$mode" = push ] && subscribe_to_push
    extra=(--cookie "$cookie")
  else
    start_chat_server 0 "$PORT"
  fi
  printf '\n==> %s %s: %s\n' "$mode" "$name" "$*" >&2
  taskset -c 1 "$BENCH" --url "$URL" --pid "$server_pid" "${extra[@]}" --json "$@" \
    >"$results/$mode-$name.json"
  cat "$results/$mode-$name.json"
}

for mode in ${MODES:-open accounts push}; do
  run "$mode" fanout-1000x1-3M fanout --clients 1000 --senders 1 --rate 3000 --duration "$DURATION"
  run "$mode" rooms-1000x10 fanout --rooms 1000 --clients 10000 --senders 1000 --rate 10 --duration "$DURATION"
  run "$mode" idle-18000 idle --rooms 1800 --connections 18000 --hold 3s
done
stop_all

python3 - "$results" <<'PY'
import json, pathlib, sys
rows = {}
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    mode, name = path.stem.split("-", 1)
    rows.setdefault(name, {})[mode] = json.loads(path.read_text())
print(f"{'scenario':24} {'open':40} {'accounts':40} push")
for name, modes in rows.items():
    def cell(r):
        if "latency" in r:
            return f"p99 {r['latency']['p99_ms']:.1f} ms, {r['core_seconds_per_million']:.3f} core-s/M, loss {r['loss_percent']:.3f}%"
        return f"{(r.get('bytes_per_connection') or 0) / 1024:.2f} KiB/connection"
    print(f"{name:24} {cell(modes.get('open', {})):40} {cell(modes.get('accounts', {})):40} {cell(modes.get('push', {}))}")
PY
