#!/usr/bin/env bash
# Fuzzes shoal's targets one after another and keeps a record of each run.
#   fuzz/run.sh SECONDS [TARGET...]     (default: every target)
# Needs cargo-fuzz and a nightly toolchain. Each run grows fuzz/corpus/TARGET;
# a crash is left in fuzz/artifacts/TARGET/ (copy it to fuzz/regressions/
# TARGET/ with its fix). One line per run is appended to fuzz/runs.csv:
# date, target, seconds fuzzed, executions, corpus files, crashes.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
[ -f runs.csv ] || echo "date,target,seconds,executions,corpus_files,crashes" > runs.csv
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log=$(mktemp)
    start=$(date +%s)
    status=0
    # -rss_limit_mb: an input that makes a reader allocate more than this is
    # a finding (absurd declared sizes must be refused before allocating).
    # -O -a: optimised, with overflow checks and debug assertions on
    # (FUZZ_BUILD="-O" reuses a build without them; cargo test replays the
    # corpus with overflow checks anyway).
    # shellcheck disable=SC2086
    cargo +nightly fuzz run ${FUZZ_BUILD:--O -a} "$t" "corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 \
        -timeout=20 -print_final_stats=1 > "$log" 2>&1 || status=$?
    # libFuzzer's own time ("Done N runs in S second(s)"), not the build's;
    # the wall time when it stopped on a crash before saying so.
    took=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' || true)
    took=${took:-$(( $(date +%s) - start ))}
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    crashes=$(find "artifacts/$t" -type f | wc -l)
    echo "$(date -u +%FT%TZ),$t,$took,${execs:-0},$(find "corpus/$t" -type f | wc -l),$crashes" >> runs.csv
    if [ "$status" -ne 0 ]; then
        echo "$t: the fuzzer stopped with status $status; see $log and artifacts/$t" >&2
        tail -n 40 "$log" >&2
    else
        rm -f "$log"
    fi
done
