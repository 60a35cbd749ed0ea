#!/usr/bin/env bash
# Installs what is missing, and nothing else: exact tool versions, each only when absent.
#   scripts/bootstrap.sh run   what `scripts/run.sh` needs
#   scripts/bootstrap.sh test  also trunk, Chromium and Redis, for the whole test suite
#   scripts/bootstrap.sh cluster  what `scripts/cluster.sh` needs (Redis too)
# Safe to run again; a machine that has everything spends a few seconds here.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO"
purpose="${1:-test}"

CARGO_LEPTOS_VERSION=0.3.11
TRUNK_VERSION=0.22.1
KOSOKU_VERSION=0.1.0
# The wasm-bindgen CLI must equal the crate in Cargo.lock (pinned with `=` in Cargo.toml).
WASM_BINDGEN_VERSION=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)

say() { printf '==> %s\n' "$*" >&2; }
have_crate() { cargo install --list | grep -qx "$1 v$2:"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

command -v cargo >/dev/null || { say "cargo is missing: install Rust with rustup first (https://rustup.rs)"; exit 1; }
[ -n "$WASM_BINDGEN_VERSION" ] || { say "no wasm-bindgen in Cargo.lock"; exit 1; }

rustup target list --installed | grep -qx wasm32-unknown-unknown || {
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
}
# The pinned nightly that builds the page's release WebAssembly (scripts/env.sh, build_page):
# the minimal profile, with std's sources to rebuild std for wasm32.
rustup toolchain list | grep -q "^$PAGE_TOOLCHAIN" &&
  rustup component list --toolchain "$PAGE_TOOLCHAIN" --installed | grep -q '^rust-src' || {
  say "installing Rust $PAGE_TOOLCHAIN for the page's release build (rust-src, wasm32)"
  rustup toolchain install "$PAGE_TOOLCHAIN" --profile minimal -c rust-src -t wasm32-unknown-unknown
}
# The build tools are built unoptimized (`--debug`, no debug info): they only run other tools
# and spend their time waiting for them, so an optimized build would cost a cold machine
# three times the minutes for nothing measurable (README, "How long the first run takes").
install_tool() {
  CARGO_PROFILE_DEV_DEBUG=0 cargo install --debug "$@"
}
# --ignore-rust-version: both tools declare a newer rustc than stable 1.95 but build fine on it.
have_crate cargo-leptos "$CARGO_LEPTOS_VERSION" || {
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 5 minutes on 2 cores, once)"
  install_tool --locked --ignore-rust-version cargo-leptos --version "$CARGO_LEPTOS_VERSION"
}
# Not --locked: its lock file names a webpki-roots release the registry does not have.
have_crate wasm-bindgen-cli "$WASM_BINDGEN_VERSION" || {
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  install_tool --force wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
}
if [ "$purpose" = test ]; then
  have_crate trunk "$TRUNK_VERSION" || {
    say "installing trunk $TRUNK_VERSION (about 4 minutes on 2 cores, once)"
    install_tool --locked --ignore-rust-version trunk --version "$TRUNK_VERSION"
  }
  command -v chromium >/dev/null || { say "installing Debian's chromium"; apt_install chromium; }
fi
# Cluster mode's tests and scripts/cluster.sh start their own redis-server on a loopback port.
if [ "$purpose" = test ] || [ "$purpose" = cluster ]; then
  command -v redis-server >/dev/null || {
    say "installing Debian's redis-server"
    apt_install redis-server
    # The package starts a system-wide Redis where systemd runs; ours are started on demand.
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
      as_root systemctl disable --now redis-server >/dev/null 2>&1 || true
    fi
  }
fi
command -v npm >/dev/null || { say "installing node and npm"; apt_install nodejs npm; }

# The Autobahn TestSuite's cases, run by kosoku (PyPI), in a virtualenv of its own.
if [ "$purpose" = test ]; then
  python3 -c 'import ensurepip, venv' 2>/dev/null || { say "installing python3-venv"; apt_install python3-venv; }
  # sed reads all of pip's output: `grep -q` would stop early, and under pipefail pip's SIGPIPE
  # would read as "not installed".
  kosoku_version=$("$AUTOBAHN_VENV/bin/pip" show kosoku 2>/dev/null | sed -n 's/^Version: //p' || true)
  [ -x "$AUTOBAHN_VENV/bin/kosoku" ] && [ "$kosoku_version" = "$KOSOKU_VERSION" ] || {
    say "installing kosoku $KOSOKU_VERSION (the Autobahn TestSuite) into $AUTOBAHN_VENV"
    python3 -m venv "$AUTOBAHN_VENV"
    "$AUTOBAHN_VENV/bin/pip" install --quiet --disable-pip-version-check "kosoku==$KOSOKU_VERSION"
  }
fi

# npm binaryen 132 (wasm-opt) and Playwright; reinstalled only when the lock file changed.
if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  say "installing end2end/node_modules (playwright, binaryen)"
  (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
fi
wasm-opt --version | grep -q 'version 132' || {
  say "wrong wasm-opt on PATH: $(command -v wasm-opt) ($(wasm-opt --version)); expected binaryen 132"
  exit 1
}
cargo fetch --locked >/dev/null
