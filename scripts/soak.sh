#!/usr/bin/env bash
# The soak scenario of issue 8: builds mrouter, mcgen and mrbench (release) and runs
# `mrbench --scenarios soak`: steady flows plus churn (new sources, IGMP joins and leaves,
# reloads) for a fixed time over the memif loop, then the checks (no loss on established
# flows, RSS and mbufs flat, counters add up). Writes bench/results/soak.md and soak.json
# (logs and generated configs go to /tmp/mrbench); exits non-zero when a check fails.
#
#   scripts/soak.sh                 # 10 minutes of traffic (about 11 in all)
#   scripts/soak.sh --secs 60       # a quick check
#   scripts/soak.sh --secs 60 --out /tmp/soak
#
# Needs root (hugepages, DPDK runtime dirs). Not part of scripts/test.sh (CI time budget).
# Nothing else should busy-poll meanwhile: mcgen and mrouter use both cores.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=600
out=bench/results
while [ $# -gt 0 ]; do
    case "$1" in
        --secs) secs="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        *) echo "usage: scripts/soak.sh [--secs N] [--out DIR]" >&2; exit 2 ;;
    esac
done
if [ "$(cat /proc/sys/vm/nr_hugepages)" -lt 512 ]; then
    echo 512 > /proc/sys/vm/nr_hugepages || true
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -p control -p bench --bins
exec "$CARGO_TARGET_DIR/release/mrbench" --scenarios soak --soak-secs "$secs" --out "$out"
