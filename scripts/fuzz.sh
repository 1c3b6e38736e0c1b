#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a fixed time each and writes fuzz/results.md.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (default: 60 s, every target)
#
# Installs what it needs (scripts/setup.sh for DPDK and clang, cargo-fuzz when missing); no
# stdin. Only a stable toolchain is assumed: cargo-fuzz passes -Z flags (-Zsanitizer=address),
# which RUSTC_BOOTSTRAP=1 lets stable rustc accept. Targets are built with debug assertions, so
# integer overflow panics too. Not part of scripts/test.sh (CI time budget).
#
# Each target's corpus grows in fuzz/corpus/TARGET (not committed), seeded from
# fuzz/seeds/TARGET (committed) and, for config_yaml, configs/. A crash stops that target; its
# input is in fuzz/artifacts/TARGET/ (`cargo fuzz fmt TARGET FILE` prints it) and the script
# exits non-zero after running the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

secs=${1:-60}
[ $# -gt 0 ] && shift
case "$secs" in '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2 ;; esac

scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install --locked cargo-fuzz </dev/null
fi
export RUSTC_BOOTSTRAP=1

cd fuzz
if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi
flags=(--debug-assertions)
echo "fuzz: building ${#targets[@]} targets (address sanitizer, debug assertions)"
cargo fuzz build "${flags[@]}" </dev/null

mkdir -p logs
rows=()
failed=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    dirs=("corpus/$t")
    [ -d "seeds/$t" ] && dirs+=("seeds/$t")
    [ "$t" = config_yaml ] && dirs+=("$root/configs")
    before=$(find "artifacts/$t" -type f | wc -l)
    log="logs/$t.log"
    echo "fuzz: $t for ${secs} s"
    rc=0
    cargo fuzz run "${flags[@]}" "$t" "${dirs[@]}" -- \
        -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        </dev/null >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -1)
    execs=${execs:-0}
    per_sec=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    corpus=$(find "corpus/$t" -type f | wc -l)
    crashes=$(($(find "artifacts/$t" -type f | wc -l) - before))
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes=1 # died without leaving an artifact (build or startup failure): see the log
    fi
    note=""
    if [ "$crashes" -gt 0 ]; then
        failed=1
        note=$(ls -t "artifacts/$t" | head -1)
        note=${note:+artifacts/$t/$note}
        echo "fuzz: $t FAILED (exit $rc); log fuzz/$log ${note:+, input fuzz/$note}"
        grep -m3 -E "panicked at|ERROR: AddressSanitizer|ERROR: libFuzzer" "$log" || true
    fi
    printf 'fuzz: %-20s %12s executions %8s exec/s  corpus %6s  crashes %s\n' \
        "$t" "$execs" "${per_sec:-?}" "$corpus" "$crashes"
    rows+=("| \`$t\` | $secs | $execs | ${per_sec:-?} | $corpus | $crashes |")
done

{
    echo "# Fuzzing results"
    echo
    dirty=""
    git -C "$root" diff --quiet HEAD -- dataplane control mgm || dirty=" plus uncommitted changes"
    echo "$(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$root" rev-parse --short HEAD)$dirty," \
        "$(nproc) CPUs, \`scripts/fuzz.sh $secs\` (address sanitizer, debug assertions)."
    echo
    echo "| target | seconds | executions | exec/s | corpus | crashes |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
} >results.md
echo "fuzz: summary in fuzz/results.md"
exit "$failed"
