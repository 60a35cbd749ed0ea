#!/usr/bin/env bash
# How long the page takes to read server frames in Chromium: the browser's JSON.parse with
# chat_shared::js (what the page does), with serde-wasm-bindgen, and serde_json compiled in.
# Builds bench/decode with the page's release profile and wasm-opt, then runs
# end2end/measure-decode.js; prints microseconds per input for five alternating rounds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash "$REPO/scripts/bootstrap.sh" test
cd "$REPO"

cargo build -p chat-decode-bench --lib --target wasm32-unknown-unknown --profile wasm-release --locked >&2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
wasm-bindgen --target web --no-typescript --out-dir "$out" \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/chat_decode_bench.wasm"
wasm-opt -Oz --converge "$out/chat_decode_bench_bg.wasm" -o "$out/chat_decode_bench_bg.wasm"
(cd end2end && node measure-decode.js "$out")
