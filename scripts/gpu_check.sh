#!/bin/sh
# gpu_check.sh PHASE...: what the lead runs on the GPU machine from the
# repository root, using the bundle made by scripts/gpu_bundle.sh. Logs go
# to $OUT. Phases: tests (every test binary on CUDA), model (stories260K
# on CUDA vs CPU, mlxn bench), hf (transformers comparison), sanitize
# (scripts/gpu_sanitize.sh: compute-sanitizer on the op table, graph replay
# and a stories run).
B=.carry/bundle
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
[ -e ../shared ] || ln -s "$PWD/.carry/shared" ../shared
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader
for phase in "$@"; do
    echo "=== phase $phase"
    case $phase in
    tests)
        sh scripts/run_tests.sh cuda $B/tests/test_* >"$OUT/tests.log" 2>&1
        grep -E "^(FAIL|    FAIL|test binaries|!!)|passed, " "$OUT/tests.log" | tail -40
        ;;
    model)
        M=../shared/models/stories260K.gguf
        $B/mlxn generate -m $M -n 256 --temp 0 --ids --backend cuda >"$OUT/ids_cuda.txt"
        $B/mlxn generate -m $M -n 256 --temp 0 --ids --backend cpu >"$OUT/ids_cpu.txt"
        $B/mlxn generate -m $M -n 256 --temp 0 --ids --backend cuda --no-graph >"$OUT/ids_cuda_direct.txt"
        cmp "$OUT/ids_cuda.txt" "$OUT/ids_cpu.txt" && echo "stories260K: CUDA tokens == CPU tokens"
        cmp "$OUT/ids_cuda.txt" "$OUT/ids_cuda_direct.txt" && echo "stories260K: graph replay == direct"
        $B/mlxn generate -m $M -n 100 --temp 0 --backend cuda --stats
        $B/mlxn bench -r 3 | tee "$OUT/bench_q4_0.md"
        $B/mlxn bench -r 3 --type mlx4 | tee "$OUT/bench_mlx4.md"
        $B/mlxn bench -r 2 -p 0 --no-graph | tee "$OUT/bench_direct.md"
        ;;
    hf)
        for mode in "" "--dtype bf16" "--quant mlx4" "--quant mlx4 --int8"; do
            PYTHONUNBUFFERED=1 python3 scripts/hf_compare.py --mlxn $B/mlxn --backend cuda $mode 2>&1 |
                grep -v "^Writing\|it/s\]" | tee -a "$OUT/hf.log"
        done
        ;;
    sanitize)
        OUT=$OUT sh scripts/gpu_sanitize.sh $B/tests $B/mlxn
        ;;
    esac
done
