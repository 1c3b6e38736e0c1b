#!/usr/bin/env bash
# The whole test suite: machine setup (idempotent), formatting and lint checks, then every test
# of the workspace under cargo-nextest (one process per test: DPDK's EAL initialises once per
# process). Data-plane tests run real DPDK on net_pcap vdevs; end-to-end tests create their own
# network namespaces with real Linux hosts, so run this as root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
echo "test: cargo fmt --check"
cargo fmt --all -- --check
echo "test: import cycles between files (mgm, control, dataplane, bench)"
scripts/import-cycles.sh mgm control dataplane bench
echo "test: cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "test: cargo nextest"
cargo nextest run --workspace --no-fail-fast "$@"
