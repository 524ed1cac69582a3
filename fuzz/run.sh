#!/bin/sh
# run.sh BUILD TIME RUNS JOBS TARGET...: run libFuzzer targets from the
# project root, JOBS at a time, each for TIME seconds (and at most RUNS
# executions when RUNS > 0). Seeds are copied into a temporary folder per
# target (shared model files, fuzz/seeds/, make_seeds output, the regression
# inputs in tests/regress/); new inputs go to BUILD/fuzz-run/corpus/TARGET,
# crashes to BUILD/fuzz-run/artifacts/, logs to BUILD/fuzz-run/logs/. Any
# single allocation of 64 MiB or more counts as a finding (inputs are at most
# 64 KiB, so such an allocation trusted a size from the input). Prints one
# line per target (executions, cov, ft, crashes; also written to
# BUILD/fuzz-run/summary.txt) and fails when any target left a crash, leak,
# timeout or out-of-memory input.
#   run.sh one BUILD TIME RUNS TARGET SEEDS   (internal: one target)
set -u

max_len() {
    case $1 in
    fuzz_gguf) echo 65536 ;;
    fuzz_tokenizer_spm) echo 1024 ;;
    fuzz_tokenizer_bpe) echo 128 ;;
    *) echo 16384 ;;
    esac
}

# Seeds for one target (its name without "fuzz_") from the shared folder.
shared_seeds() {
    shared=$1 name=$2 dest=$3
    case $name in
    gguf) cp "$shared"/models/*.gguf "$shared"/testdata/vocab/*.gguf "$dest"/ 2>/dev/null ;;
    llama2c) cp "$shared"/models/*.bin "$dest"/ 2>/dev/null ;;
    esac
    return 0
}

if [ "$1" = one ]; then
    build=$2 time=$3 runs=$4 t=$5 seeds=$6
    name=${t#fuzz_}
    work=$build/fuzz-run
    mkdir -p "$work/corpus/$t" "$work/artifacts" "$work/logs"
    set -- -max_total_time="$time" -print_final_stats=1 -max_len="$(max_len "$t")" \
        -timeout=10 -rss_limit_mb=2560 -malloc_limit_mb=64 -artifact_prefix="$work/artifacts/$t-"
    [ "$runs" -gt 0 ] && set -- "$@" -runs="$runs"
    [ -f "fuzz/dict/$name.dict" ] && set -- "$@" -dict="fuzz/dict/$name.dict"
    "$build/$t" "$@" "$work/corpus/$t" "$seeds/$name" >"$work/logs/$t.log" 2>&1
    echo $? >"$work/logs/$t.rc"
    exit 0
fi

build=$1 time=$2 runs=$3 jobs=$4
shift 4
shared=${MLXN_SHARED:-../shared}
work=$build/fuzz-run
seeds=$(mktemp -d "${TMPDIR:-/tmp}/mlxn-fuzz-seeds.XXXXXX") || exit 1
trap 'rm -rf "$seeds"' EXIT INT TERM
mkdir -p "$work/logs" "$work/artifacts"
"$build/make_seeds" "$seeds" "$shared" || exit 1
for t in "$@"; do
    name=${t#fuzz_}
    mkdir -p "$seeds/$name"
    shared_seeds "$shared" "$name" "$seeds/$name"
    for d in "fuzz/seeds/$name" "tests/regress/$name"; do
        [ -d "$d" ] && cp "$d"/* "$seeds/$name"/ 2>/dev/null
    done
    rm -f "$work/logs/$t.log" "$work/logs/$t.rc"
done
printf '%s\n' "$@" | xargs -P "$jobs" -I{} sh fuzz/run.sh one "$build" "$time" "$runs" {} "$seeds"

summary() {
    printf '%-22s %14s %8s %8s %9s %s\n' target executions cov ft seconds findings
    for t in "$@"; do
        log=$work/logs/$t.log
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        covft=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)
        cov=$(echo "$covft" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
        ft=$(echo "$covft" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
        secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
        found=$(ls "$work/artifacts" 2>/dev/null | grep -c "^$t-")
        rc=$(cat "$work/logs/$t.rc" 2>/dev/null || echo '?')
        printf '%-22s %14s %8s %8s %9s %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
            "${secs:-?}" "$found (exit $rc)"
    done
}
summary "$@" | tee "$work/summary.txt"
if grep -q -v -e '^target ' -e ' 0 (exit 0)$' "$work/summary.txt"; then
    echo "fuzz: findings or failures above; see $work/artifacts and $work/logs"
    exit 1
fi
