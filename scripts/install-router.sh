#!/usr/bin/env bash
# Installs the pinned Hive Router (the gateway engine) once and prints the path of
# its binary. Idempotent: an existing binary is reused, never rebuilt.
#
#   TONGXIN_TOOLS_DIR  cache root (default: $HOME/.cache/tongxin/tools)
#
# The build takes about 15 minutes on 2 cores; only cargo (and a C toolchain) is needed.
set -euo pipefail

version="0.3.10"
tools_dir="${TONGXIN_TOOLS_DIR:-$HOME/.cache/tongxin/tools}"
root="$tools_dir/hive-router-$version"
bin="$root/bin/hive_router"

if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install-router: cargo not found; install Rust (rustup) first" >&2
  exit 1
fi

mkdir -p "$tools_dir"

# Serialise concurrent callers (make tools and a test run, say): the second waits for
# the first build instead of starting its own, then finds the binary.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$tools_dir/hive-router-$version.lock"
  flock 9
  if [ -x "$bin" ]; then
    echo "$bin"
    exit 0
  fi
fi

log="$tools_dir/hive-router-$version-build.log"
echo "install-router: building hive-router $version into $root (about 15 minutes; log: $log)" >&2

# --locked: the crate's own Cargo.lock; --ignore-rust-version: it declares a newer
# rust-version than it needs; graphiql: serve GraphiQL on a browser GET of /graphql.
if ! cargo install hive-router --version "$version" --locked --ignore-rust-version \
  --features graphiql --root "$root" >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "install-router: build failed; full log in $log" >&2
  exit 1
fi

if [ ! -x "$bin" ]; then
  echo "install-router: cargo install finished but $bin is missing" >&2
  exit 1
fi
echo "$bin"
