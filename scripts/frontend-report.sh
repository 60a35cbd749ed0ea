#!/usr/bin/env bash
# Builds the release bundle, measures what a first visit downloads and how long it takes to get
# a live socket in headless Chromium, and rewrites the frontend section of BENCHMARKS.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash "$REPO/scripts/bootstrap.sh" test
cd "$REPO"
LOADS="${LOADS:-15}"
PORT="${PORT:-8095}"

cargo leptos build --release >&2
pkg=target/site/pkg
size_row() {
  local file=$1 label=$2
  printf '| %s | `%s` | %s | %s |\n' "$label" "$(basename "$file")" \
    "$(stat -c %s "$file")" "$(gzip -9 -c "$file" | wc -c)"
}

LEPTOS_SITE_ROOT="$REPO/target/site" LEPTOS_OUTPUT_NAME=chat RUST_LOG=warn \
  "$CARGO_TARGET_DIR/release/chat-server" --addr "127.0.0.1:$PORT" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/" >/dev/null && break; sleep 0.1; done
measure=$(cd end2end && node measure-connect.js "http://127.0.0.1:$PORT/" "$LOADS")
kill $server; wait $server 2>/dev/null || true; trap - EXIT

field() { node -e "console.log(JSON.parse(process.argv[1])[process.argv[2]])" "$measure" "$1"; }
chromium_version=$(chromium --version 2>/dev/null | head -1 | tr -s ' ')
report=$(cat <<MD
Measured $(date -u +%Y-%m-%d) on $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(. /etc/os-release && echo "$PRETTY_NAME"), by \`scripts/frontend-report.sh\`
(release build: \`wasm-release\` profile, wasm-opt -Oz from npm binaryen 132).

| what | file | raw bytes | gzip -9 bytes |
| --- | --- | --- | --- |
$(size_row $pkg/chat.wasm "WASM")
$(size_row $pkg/chat.js "JS glue")
$(size_row $pkg/chat.css "CSS")

Navigation start to socket open (\`chat:connected\` mark) in headless $chromium_version, each load
in a new browser context (nothing cached), server and browser on this machine, over loopback:
median **$(field median_ms) ms** over $(field loads) loads (min $(field min_ms), p90 $(field p90_ms), max $(field max_ms) ms).
MD
)
echo "$report"
python3 scripts/replace_block.py frontend BENCHMARKS.md "$report"
