#!/usr/bin/env bash
# Runs the data plane's lock-free code under ThreadSanitizer: the QSBR-published forwarding
# table (readers looking up while the writer republishes and reclaims), the worker -> control
# signal ring, the per-entry counters and the published worker counters, each with a test that
# runs both sides on their own threads. A premature free in the table's reclamation is reported
# as a data race (checked by hand: forcing reclaim() to ignore the readers makes this fail).
# Needs a nightly toolchain with rust-src (installed here when missing) to rebuild std with
# the sanitizer. Not part of scripts/test.sh: CI machines may not reach rustup's server.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src' ||
    rustup component add rust-src --toolchain nightly
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/tsan}"
export RUSTFLAGS="-Zsanitizer=thread"
export TSAN_OPTIONS="halt_on_error=1"
cargo +nightly test -Zbuild-std --target x86_64-unknown-linux-gnu -p dataplane --lib -- \
    fib::rcu worker::signal worker::stats worker::entry_counters
