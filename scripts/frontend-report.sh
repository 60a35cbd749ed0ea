#!/usr/bin/env bash
# Builds the release bundle, measures what a first visit downloads, the server's time to the
# first byte of a room page with its latest messages, how long a first visit takes to get a live
# socket, and how long a room switch takes, in headless Chromium; rewrites the frontend section
# of BENCHMARKS.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# These runs chat as guests (`--access open`); a server that needs accounts is started with
# `--access accounts`, which wins over the variable.
export CHAT_ACCESS=open
# The load comes from one address at machine speed: no limits on rates or connections per address.
without_rate_limits
bash "$REPO/scripts/bootstrap.sh" test
cd "$REPO"
LOADS="${LOADS:-15}"
PORT="${PORT:-8095}"

build_page >&2
cargo leptos build --release --server-only >&2
pkg=target/site/pkg
size_row() {
  local file=$1 label=$2
  printf '| %s | `%s` | %s | %s |\n' "$label" "$(basename "$file")" \
    "$(stat -c %s "$file")" "$(gzip -9 -c "$file" | wc -c)"
}

data=$(mktemp -d)
LEPTOS_SITE_ROOT="$REPO/target/site" LEPTOS_OUTPUT_NAME=chat RUST_LOG=warn \
  "$CARGO_TARGET_DIR/release/chat-server" --addr "127.0.0.1:$PORT" --data-dir "$data" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/" >/dev/null && break; sleep 0.1; done
measure=$(cd end2end && node measure-frontend.js "http://127.0.0.1:$PORT" "$LOADS")
kill $server; wait $server 2>/dev/null || true; rm -rf "$data"; trap - EXIT

field() { node -e "const m = JSON.parse(process.argv[1]); console.log(m[process.argv[2]][process.argv[3]])" "$measure" "$1" "$2"; }
line() { echo "median **$(field "$1" median_ms) ms** over $(field "$1" loads) (min $(field "$1" min_ms), p90 $(field "$1" p90_ms), max $(field "$1" max_ms) ms)"; }
chromium_version=$(chromium --version 2>/dev/null | head -1 | tr -s ' ')
report=$(cat <<MD
Measured $(date -u +%Y-%m-%d) on $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(. /etc/os-release && echo "$PRETTY_NAME"), by \`scripts/frontend-report.sh\`
(release build: \`wasm-release\` profile, wasm-opt -Oz --converge as set in \`Cargo.toml\`, from npm binaryen 132).

| what | file | raw bytes | gzip -9 bytes |
| --- | --- | --- | --- |
$(size_row $pkg/chat.wasm "WASM")
$(size_row $pkg/chat.js "JS glue")
$(size_row $pkg/chat.css "CSS")

In headless $chromium_version, server and browser on this machine, over loopback, each load in
a new browser context (nothing cached), a room of 60 messages (\`end2end/measure-frontend.js\`):

| what | target | measured |
| --- | --- | --- |
| server time to first byte of \`/r/<room>\` with its latest 50 messages rendered in | < 100 ms | $(line ttfb) |
| navigation start to socket open (\`chat:connected\` mark) | < 500 ms | $(line connect) |
| click on another room to its latest message in the document and the next frame | < 50 ms | $(line switch) |
MD
)
echo "$report"
python3 scripts/replace_block.py frontend BENCHMARKS.md "$report"
