#!/usr/bin/env bash
# Runs the pure-Rust lock-free code under Miri: the QSBR-published forwarding table
# (dataplane::fib::rcu, including its concurrent reader/writer test) and the worker signal ring
# filter. Needs a nightly toolchain with the miri component (installed here when missing).
# Not part of scripts/test.sh: CI machines may not reach rustup's distribution server.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^miri' ||
    rustup component add miri --toolchain nightly
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/miri}"
cargo +nightly miri test -p dataplane --lib -- fib::rcu worker::signal worker::stats worker::entry_counters
