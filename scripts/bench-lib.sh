# Sourced by the benchmark scripts (bench.sh, latency-curve.sh, cluster-bench.sh, go-compare.sh,
# profile.sh): the checks, the release build and the process handling they all need.
# shellcheck shell=bash
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# These runs chat as guests (`--access open`); a server that needs accounts is started with
# `--access accounts`, which wins over the variable.
export CHAT_ACCESS=open
# The load comes from one address at machine speed: no limits on rates or connections per address.
without_rate_limits
cd "$REPO"
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "needs 2 cores (servers and load tool apart)" >&2; exit 1; }

cargo build --release --locked -p chat-server -p chat-bench >&2
SERVER="$CARGO_TARGET_DIR/release/chat-server"
BENCH="$CARGO_TARGET_DIR/release/chat-bench"
DURATION="${DURATION:-10s}"
work=$(mktemp -d)

# Every process a script starts goes into `pids` (`started $!`); `stop_all` ends them, and
# runs on exit whatever happens.
pids=()
started() { pids+=("$1"); }
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap stop_all EXIT

# wait_port PORT [LOG]: returns once something listens on PORT; fails (showing LOG) after 10 s.
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1" >&2
  [ -n "${2:-}" ] && cat "$2" >&2
  exit 1
}

# start_chat_server CPUS PORT [FLAGS...]: a fresh server on an empty database under $work
# (history on, as by default), rate limit off (the load is the point); sets server_pid.
start_chat_server() {
  local cpus=$1 port=$2; shift 2
  rm -rf "$work/data-$port"
  RUST_LOG=warn taskset -c "$cpus" "$SERVER" --addr "127.0.0.1:$port" --data-dir "$work/data-$port" \
    "$@" >"$work/server.log" 2>&1 &
  server_pid=$!
  started "$server_pid"
  wait_port "$port" "$work/server.log"
}

# server_at COMMIT: the commit's release server, built in a worktree of its own with its own
# target folder (kept, so the next run for a nearby commit rebuilds little), copied under $work;
# prints its path. For the side-by-side scripts (compare-bench.sh, search-bench.sh).
server_at() {
  local src="$CARGO_TARGET_DIR/../compare-src" target="$CARGO_TARGET_DIR/../compare-target"
  rm -rf "$src"
  git -C "$REPO" worktree prune
  git -C "$REPO" worktree add --detach --force "$src" "$1" >&2
  (cd "$src" && CARGO_TARGET_DIR="$target" cargo build --release --locked -p chat-server >&2)
  cp "$target/release/chat-server" "$work/chat-server-$1"
  git -C "$REPO" worktree remove --force "$src"
  echo "$work/chat-server-$1"
}
