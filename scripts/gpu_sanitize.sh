#!/bin/sh
# gpu_sanitize.sh TESTDIR MLXN: the op table (test_ops), the graph replay
# tests (test_graph_exec) and a 64-token stories260K run on the CUDA
# backend under compute-sanitizer's memcheck, racecheck and synccheck
# (`make test-gpu SANITIZE=1`). Logs in ${OUT:-build}/sanitize/; prints one
# line per run and fails if any tool reported an error or a run failed.
tests=$1
mlxn=$2
logs=${OUT:-build}/sanitize
mkdir -p "$logs"
command -v compute-sanitizer >/dev/null 2>&1 || { echo "compute-sanitizer not found"; exit 1; }
model=../shared/models/stories260K.gguf
failed=0
run() { # run NAME TOOL COMMAND...
    name=$1 tool=$2
    shift 2
    log="$logs/$tool-$name.log"
    compute-sanitizer --tool "$tool" --error-exitcode 99 --print-limit 20 "$@" >"$log" 2>&1
    rc=$?
    summary=$(grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$log" | tail -1)
    echo "$tool $name: exit $rc; ${summary:-no summary}"
    [ "$rc" -eq 0 ] || failed=1
}
for tool in memcheck racecheck synccheck; do
    run test_ops "$tool" "$tests/test_ops" --backend cuda
    run test_graph_exec "$tool" "$tests/test_graph_exec" --backend cuda
    if [ -f "$model" ]; then
        run stories260K "$tool" "$mlxn" generate -m "$model" -n 64 --temp 0 --backend cuda
    fi
done
[ "$failed" -eq 0 ]
