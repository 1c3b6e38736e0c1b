#!/usr/bin/env bash
# Builds mrouter, mcgen, mrfloor and mrbench (release) and runs the benchmark scenarios on this machine's
# virtual devices. Writes bench/results/{report.md,results.json,runs.csv,summary.csv,plots/}
# (logs, generated pcaps and configs go to /tmp/mrbench).
#
#   scripts/bench.sh            # every scenario, 5 A/B pairs: about 17 minutes
#   scripts/bench.sh --quick    # about 4 minutes
#   scripts/bench.sh --scenarios fanout,latency --pairs 7 --out /tmp/r
#
# Needs root (hugepages, DPDK runtime dirs), dpdk-testpmd (apt: dpdk-dev) and the
# ipv4_multicast sources (apt: dpdk-doc). Nothing else should busy-poll meanwhile: the
# programs under test use both cores and the figures are only meaningful as ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v dpdk-testpmd >/dev/null || need+=(dpdk-dev)
[ -f /usr/share/dpdk/examples/ipv4_multicast/main.c ] || need+=(dpdk-doc)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v make >/dev/null || need+=(make)
command -v gcc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
    echo "bench.sh: installing ${need[*]}"
    apt-get install -y "${need[@]}" >/dev/null
fi
if [ "$(cat /proc/sys/vm/nr_hugepages)" -lt 512 ]; then
    echo 512 > /proc/sys/vm/nr_hugepages || true
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -p control -p bench --bins
exec "$CARGO_TARGET_DIR/release/mrbench" "$@"
