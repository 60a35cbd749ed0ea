#!/usr/bin/env bash
# Sets up whatever is missing, then runs every check: format, lints, unit and integration tests,
# both browser bundles, and the Playwright suite in Chromium against the release build.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# These runs chat as guests (`--access open`); a server that needs accounts is started with
# `--access accounts`, which wins over the variable.
export CHAT_ACCESS=open
bash "$REPO/scripts/bootstrap.sh" test
cd "$REPO"

step() { printf '\n==> %s (%s s)\n' "$*" "$SECONDS" >&2; }
# The page's WebAssembly, gzip -9: 120 KB is the target (BENCHMARKS.md, frontend).
MAX_WASM_GZIP_BYTES=120000
for port in 8000 8080 8090 8081 8082 8091 8092 6390 6392 9300; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is in use; the browser tests need it (is a chat server running?)" >&2
    exit 1
  fi
done

step "format"
cargo fmt --all -- --check
step "imports run one way (no module in an import cycle)"
python3 scripts/layers.py server/src frontend/src
step "clippy (server, shared, frontend natively; the frontend, shared and streams for wasm32)"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p chat-frontend --target wasm32-unknown-unknown --features hydrate --all-targets --locked -- -D warnings
cargo clippy -p chat-server --no-default-features --locked -- -D warnings
cargo clippy -p chat-server --no-default-features --features autobahn-echo --all-targets --locked -- -D warnings
cargo clippy -p chat-shared --target wasm32-unknown-unknown --features js --all-targets --locked -- -D warnings
cargo clippy -p wasm-streams --target wasm32-unknown-unknown --all-targets --locked -- -D warnings
step "unit and integration tests"
cargo test --workspace --locked
step "WebSocket conformance: the Autobahn TestSuite, groups 1-10 (scripts/autobahn.sh)"
bash scripts/autobahn.sh
step "the page's frame reader in WebAssembly, under Node (shared/tests/js.rs)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p chat-shared --features js --target wasm32-unknown-unknown --test js --locked
step "the page's reading of what the server embeds, in WebAssembly under Node (frontend/tests/json.rs)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p chat-frontend --features hydrate --target wasm32-unknown-unknown --test json --locked
step "the stand-in for wasm-streams, under Node (patches/wasm-streams/tests/streams.rs)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p wasm-streams --target wasm32-unknown-unknown --test streams --locked

# The two release bundles build side by side: each ends in single-threaded work (fat LTO with
# one codegen unit, wasm-bindgen, wasm-opt), and they lock different build folders (cargo-leptos
# builds the page in $CARGO_TARGET_DIR/front).
step "the page's release bundle (cargo-leptos) and the frontend-only one (trunk), side by side"
build_page &
page_build=$!
trunk build --release --offline
wait $page_build

step "the page's WebAssembly stays under ${MAX_WASM_GZIP_BYTES} bytes gzip"
wasm_gzip=$(gzip -9 -c target/site/pkg/chat.wasm | wc -c)
echo "chat.wasm: $wasm_gzip bytes gzip" >&2
if [ "$wasm_gzip" -gt "$MAX_WASM_GZIP_BYTES" ]; then
  echo "the page's WebAssembly grew past ${MAX_WASM_GZIP_BYTES} bytes gzip (BENCHMARKS.md, frontend)" >&2
  exit 1
fi

# The server the browser tests talk to is the one `cargo test` built (debug, with the page):
# building it again in release would cost the suite's longest compile for no test it needs.
step "browser tests against the release WebAssembly"
mkdir -p docs
# A fresh database for every run, and no rate limits (for every server started from here on):
# some tests send hundreds of messages at machine speed to test the page itself, and every
# page comes from 127.0.0.1 (the limits have their own tests in server/tests/limits.rs).
export CHAT_DATA_DIR="$CARGO_TARGET_DIR/e2e-data"
rm -rf "$CHAT_DATA_DIR"
export CHAT_SERVER_BIN="$CARGO_TARGET_DIR/debug/chat-server"
without_rate_limits
LEPTOS_SITE_ROOT="$REPO/target/site" LEPTOS_OUTPUT_NAME=chat RUST_LOG=warn \
  "$CHAT_SERVER_BIN" --addr 127.0.0.1:8080 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
(cd end2end && npx playwright test)
kill $server; wait $server 2>/dev/null || true
trap - EXIT

step "two nodes and Redis (scripts/cluster.sh --check, the README's cluster example)"
CHAT_PROFILE=debug bash scripts/cluster.sh --check

step "a 2-minute soak: 2,000 clients, an abusive address, a restart and a kill -9 (scripts/soak.sh)"
CHAT_PROFILE=debug bash scripts/soak.sh 2

step "the same soak on two nodes and Redis, Redis restarted once (scripts/soak.sh --cluster)"
CHAT_PROFILE=debug bash scripts/soak.sh --cluster 2

step "a reconnect storm: 5,000 clients of one room back at once after a restart (scripts/storm.sh)"
CHAT_PROFILE=debug bash scripts/storm.sh 5000 1000

step "browser test through trunk serve (frontend-only path) and the WebSocket-only server"
cargo build -p chat-server --no-default-features --locked
"$CARGO_TARGET_DIR/debug/chat-server" --allowed-origin http://127.0.0.1:8000 >"$CARGO_TARGET_DIR/ws-only.log" 2>&1 &
backend=$!
trunk serve --release --offline >"$CARGO_TARGET_DIR/trunk-serve.log" 2>&1 &
frontend=$!
trap 'kill $backend $frontend 2>/dev/null || true' EXIT
(cd end2end && BASE_URL=http://127.0.0.1:8000 npx playwright test -g "two pages")
kill $backend $frontend 2>/dev/null || true
wait $backend $frontend 2>/dev/null || true
trap - EXIT
