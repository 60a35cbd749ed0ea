# Sourced by the other scripts: where the tools and the build live.
# shellcheck shell=bash
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO
# wasm-opt (npm binaryen 132) and playwright come from end2end/node_modules; cargo tools from
# ~/.cargo/bin. Both go first so a system binaryen (Debian's 108 breaks the app) is never used.
# scripts/wasm-opt holds a wrapper that runs that wasm-opt with the page's pass order.
export PATH="$REPO/scripts/wasm-opt:$REPO/end2end/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true
# One build directory outside the checkout, kept between runs and fresh clones on this machine:
# a warm rebuild takes seconds instead of minutes. Override it to build elsewhere.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chat/target}"
# What cargo-leptos sets when it builds: Leptos reads it at compile time to name the page's
# files (/pkg/chat.wasm, not chat_bg.wasm). Set for every build, so that the server `cargo test`
# builds serves the page as cargo-leptos' would (the browser tests use that server), and so
# that no build of Leptos differs from another by it.
export LEPTOS_OUTPUT_NAME=chat
# The page's release WebAssembly is built by a pinned nightly Rust, which compiles std for it
# with panics that abort at once (no panic messages, no formatting code for them): 9.6 KB gzip
# less than the same page built by stable (BENCHMARKS.md, "The page's size"). Only the page: the
# server, the tests and every other build use stable. scripts/bootstrap.sh installs it.
export PAGE_TOOLCHAIN=nightly-2026-10-30
# cargo-leptos' release build of the page alone (extra arguments go to cargo-leptos). RUSTFLAGS
# replaces .cargo/config.toml's wasm32 flags, so it repeats the inline threshold set there.
build_page() {
  RUSTUP_TOOLCHAIN="$PAGE_TOOLCHAIN" CARGO_UNSTABLE_BUILD_STD=std,panic_abort \
    RUSTFLAGS="-C llvm-args=-inline-threshold=13 -Zunstable-options -Cpanic=immediate-abort" \
    cargo leptos build --release --frontend-only "$@"
}
# The Autobahn TestSuite's runner (scripts/autobahn.sh), installed by scripts/bootstrap.sh.
export AUTOBAHN_VENV="${AUTOBAHN_VENV:-$HOME/.cache/chat/autobahn-venv}"
# Every limit on rates and on connections per client address (the variables of their flags).
RATE_LIMIT_VARIABLES=(CHAT_RATE_LIMIT_PER_SEC CHAT_RATE_LIMIT_PER_IP_PER_SEC CHAT_REQUEST_RATE_PER_SEC
  CHAT_MAX_FRAMES_PER_SEC CHAT_MAX_CONNECTIONS_PER_IP CHAT_HANDSHAKES_PER_IP_PER_SEC
  CHAT_HTTP_REQUESTS_PER_IP_PER_SEC CHAT_NAME_CLAIMS_PER_IP_PER_HOUR CHAT_ROOM_CREATIONS_PER_IP_PER_HOUR
  CHAT_SIGN_INS_PER_IP_PER_MIN)
# All of them off, for the servers started after it: benchmarks and browser tests drive the
# server from one address at machine speed (the limits have their own tests,
# server/tests/limits.rs).
without_rate_limits() {
  local variable
  for variable in "${RATE_LIMIT_VARIABLES[@]}"; do export "$variable=0"; done
}
# The opposite, for a script that must run the server with its own limits (the soak) even when
# called after `without_rate_limits`.
with_default_limits() {
  unset "${RATE_LIMIT_VARIABLES[@]}"
}

# Builds chat-server and chat-bench in the profile $CHAT_PROFILE names (release unless it says
# debug, as scripts/test.sh does to reuse the build `cargo test` made) and prints their folder.
build_server_and_bench() {
  local profile="${CHAT_PROFILE:-release}"
  if [ "$profile" = release ]; then
    cargo build --release --locked -p chat-server -p chat-bench >&2
  else
    cargo build --locked -p chat-server -p chat-bench >&2
  fi
  echo "$CARGO_TARGET_DIR/$profile"
}
