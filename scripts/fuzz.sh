#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 60 s each) with cargo-fuzz on nightly.
#   scripts/fuzz.sh [seconds per target] [target...]
# The seed corpus lives in fuzz/corpus/<target>/ (committed); what a run finds is added there.
# A crash stops the script with the input saved under fuzz/artifacts/<target>/: turn it into a
# regression test next to the code it broke (ws/, http/, session/, peers.rs), then fix.
# Not part of scripts/test.sh: the sanitizer build of every dependency takes long on 2 cores.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO/fuzz"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(frame_decoder handshake client_frame peer_limits session markdown)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo install --list | grep -q '^cargo-fuzz v0.13.1:' || \
  CARGO_PROFILE_DEV_DEBUG=0 cargo install --locked cargo-fuzz --version 0.13.1
# Its own build folder: the sanitizer flags rebuild every dependency.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/chat/fuzz-target}"
cargo +nightly fuzz build -O
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  echo "==> $target for ${seconds}s" >&2
  cargo +nightly fuzz run -O "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=4096 -print_final_stats=1 2>&1 \
    | grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|Done|==|SUMMARY|INFO: (Running|Loaded))' || true
  # A crash ends the run with an artifact; fail then.
  if compgen -G "artifacts/$target/crash-*" >/dev/null || compgen -G "artifacts/$target/oom-*" >/dev/null; then
    echo "$target found a failing input: fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
