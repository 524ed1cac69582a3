/*
 * bench_attention.c: GPU timing of the attention op, with CUDA events.
 *  - decode (n_tokens 1) at contexts 1k, 8k, 32k: 32 query heads, 8 KV
 *    heads, head_dim 128, f16 cache; microseconds per op (split kernel +
 *    combine) and bandwidth over the K/V bytes read, as a percentage of the
 *    device-to-device copy bandwidth (cuMemcpyDtoD of 1 GiB, read + write
 *    bytes) measured in the same run. Caches rotate over enough copies to
 *    exceed twice the L2, so every call reads from DRAM.
 *  - prefill of 512 tokens (fresh, and continuing at position 3584):
 *    TFLOP/s over the causal work (4 * head_dim flops per visible
 *    query-key pair and head).
 * Each figure is the median of many samples, each the mean of a run of
 * back-to-back ops after warm-up. GPU time is taken with the queue primed:
 * a debug_delay_write kernel holds the GPU while the host encodes the run,
 * so launch cost is hidden as in a replayed graph. The last column is the
 * same run without the delay: wall time per op in direct mode, bound by
 * the host's launch cost when the op is short.
 *
 * --sweep adds, per decode context, the GPU time of the decode kernel
 * dispatched directly with each of several split counts (the op picks one
 * from the multiprocessor count), for the tensor-core kernel and for the
 * generic (any head dim) kernel at the same shapes.
 *
 * --ctx N measures decode at that context only (no prefill rows).
 *
 *   bench_attention [--reps N] [--sweep] [--ctx N]
 */
#include "bench/bench_util.h"
#include "mlxn.h"
#include "params/attention.h"

#include <stdio.h>
#include <string.h>

#ifdef MLXN_WITH_CUDA
#include "backend/cuda/cuda_backend.h"

#define N_HEADS 32
#define N_KV 8
#define HEAD_DIM 128

typedef struct bench_ctx {
    mlxn_device *dev;
    mlxn_encoder *enc;
    const mlxn__cu *cu;
    CUstream stream;
    CUevent ev0, ev1;
    mlxn_kernel *delay;
    mlxn_buffer *flag; /* (1) U32 written by the delay kernel */
    int reps;
} bench_ctx;

/* Hold the GPU for ns nanoseconds (one thread spinning on %globaltimer). */
static mlxn_status prime(bench_ctx *b, uint64_t ns)
{
    uint32_t value = 1;
    mlxn_arg args[3] = {mlxn_arg_buffer(b->flag), mlxn_arg_bytes(&ns, 8),
                        mlxn_arg_bytes(&value, 4)};
    mlxn_dispatch d;
    memset(&d, 0, sizeof d);
    d.kernel = b->delay;
    d.args = args;
    d.n_args = 3;
    d.grid = (mlxn_dim3){1, 1, 1};
    d.block = (mlxn_dim3){32, 1, 1};
    return mlxn_encoder_dispatch(b->enc, &d);
}

static int fail(bench_ctx *b, const char *what)
{
    printf("%s failed: %s\n", what, mlxn_last_error(b->dev));
    return 1;
}

/* A tensor of random values: f32 uniform in [-1, 1), f16 of magnitude
 * below 2 with random exponents. */
static mlxn_buffer *rand_tensor(bench_ctx *b, mlxn_dtype dt, int ndim, const int64_t *shape,
                                uint64_t seed)
{
    mlxn_buffer *buf = NULL;
    if (mlxn_buffer_create_tensor(b->dev, dt, ndim, shape, &buf) != MLXN_OK)
        return NULL;
    size_t bytes = mlxn_buffer_bytes(buf), es = dt == MLXN_DTYPE_F16 ? 2 : 4;
    unsigned char *host = malloc(bytes);
    if (!host) {
        mlxn_buffer_destroy(buf);
        return NULL;
    }
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < bytes / es; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        float f = (float)((s >> 40) * (2.0 / 16777216.0)) - 1.0f;
        if (es == 4) {
            memcpy(host + 4 * i, &f, 4);
        } else { /* sign, exponent 1..15, 10 random mantissa bits */
            uint16_t h = (uint16_t)(((s >> 20) & 0x8000u) | (((s >> 30) % 15 + 1) << 10) |
                                    ((s >> 8) & 0x3ffu));
            memcpy(host + 2 * i, &h, 2);
        }
    }
    mlxn_status st = mlxn_buffer_write(buf, 0, host, bytes);
    free(host);
    if (st != MLXN_OK) {
        mlxn_buffer_destroy(buf);
        return NULL;
    }
    return buf;
}

/* Device-to-device copy bandwidth in GB/s (read + write bytes). */
static double copy_bandwidth(bench_ctx *b)
{
    size_t bytes = (size_t)1 << 30;
    mlxn_buffer_params bp = mlxn_buffer_params_default();
    bp.bytes = bytes;
    bp.shape[0] = (int64_t)bytes;
    mlxn_buffer *src = NULL, *dst = NULL;
    if (mlxn_buffer_create(b->dev, &bp, &src) != MLXN_OK ||
        mlxn_buffer_create(b->dev, &bp, &dst) != MLXN_OK) {
        mlxn_buffer_destroy(src);
        return 0;
    }
    double *t = malloc((size_t)b->reps * sizeof *t);
    for (int r = -3; t && r < b->reps; r++) {
        b->cu->cuEventRecord(b->ev0, b->stream);
        b->cu->cuMemcpyDtoDAsync(mlxn__buffer_addr(dst, 0), mlxn__buffer_addr(src, 0), bytes,
                                 b->stream);
        b->cu->cuEventRecord(b->ev1, b->stream);
        b->cu->cuEventSynchronize(b->ev1);
        float ms = 0;
        b->cu->cuEventElapsedTime(&ms, b->ev0, b->ev1);
        if (r >= 0)
            t[r] = ms * 1e-3;
    }
    double bw = t ? 2.0 * (double)bytes / bench_median(t, b->reps) * 1e-9 : 0;
    free(t);
    mlxn_buffer_destroy(src);
    mlxn_buffer_destroy(dst);
    return bw;
}

typedef struct attn_set {
    mlxn_buffer *k, *v;
} attn_set;

/* A decode kernel dispatched directly (NULL kernel: the op). */
typedef struct direct_decode {
    mlxn_kernel *kernel;
    mlxn_attn_kparams p;
    uint32_t smem;
} direct_decode;

static mlxn_status encode_one(bench_ctx *b, const direct_decode *dd, attn_set *s, mlxn_buffer *q,
                              mlxn_buffer *pos, mlxn_buffer *scratch, mlxn_buffer *out)
{
    if (!dd)
        return mlxn_op_attention(b->enc, q, s->k, s->v, pos, NULL, scratch, out);
    mlxn_arg args[7] = {mlxn_arg_buffer(q),       mlxn_arg_buffer(s->k),
                        mlxn_arg_buffer(s->v),    mlxn_arg_buffer(pos),
                        mlxn_arg_buffer(scratch), mlxn_arg_buffer(out),
                        mlxn_arg_bytes(&dd->p, sizeof dd->p)};
    mlxn_dispatch d;
    memset(&d, 0, sizeof d);
    d.kernel = dd->kernel;
    d.args = args;
    d.n_args = 7;
    d.grid = (mlxn_dim3){dd->p.n_splits, dd->p.n_kv_heads * dd->p.head_batches, 1};
    d.block = (mlxn_dim3){MLXN_ATTN_DECODE_THREADS, 1, 1};
    d.shared_bytes = dd->smem;
    return mlxn_encoder_dispatch(b->enc, &d);
}

/* Median microseconds per attention op over `iters` back-to-back calls
 * rotating over the sets; with `primed`, GPU time behind a delay kernel. */
static double time_attention(bench_ctx *b, const direct_decode *dd, attn_set *sets, int n_sets,
                             mlxn_buffer *q, mlxn_buffer *pos, mlxn_buffer *scratch,
                             mlxn_buffer *out, int iters, int primed)
{
    double *t = malloc((size_t)b->reps * sizeof *t);
    int call = 0;
    for (int r = -3; t && r < b->reps; r++) {
        if (primed && prime(b, (uint64_t)iters * 25000u + 200000u) != MLXN_OK) {
            free(t);
            return -1;
        }
        b->cu->cuEventRecord(b->ev0, b->stream);
        for (int i = 0; i < iters; i++, call++) {
            if (encode_one(b, dd, &sets[call % n_sets], q, pos, scratch, out) != MLXN_OK) {
                free(t);
                return -1;
            }
        }
        b->cu->cuEventRecord(b->ev1, b->stream);
        if (mlxn_encoder_commit_and_wait(b->enc) != MLXN_OK) {
            free(t);
            return -1;
        }
        float ms = 0;
        b->cu->cuEventElapsedTime(&ms, b->ev0, b->ev1);
        if (r >= 0)
            t[r] = ms * 1e3 / iters;
    }
    double us = t ? bench_median(t, b->reps) : -1;
    free(t);
    return us;
}

/* Decode kernels at several split counts: GPU us and % of copy. */
static int sweep(bench_ctx *b, attn_set *sets, int n_sets, mlxn_buffer *q, mlxn_buffer *pos,
                 mlxn_buffer *scratch, mlxn_buffer *out, int n_ctx, double bytes, double copy_gbs)
{
    static const uint32_t splits[] = {4, 8, 12, 16, 24, 33, 48, 66, 99, 132, 198, 256};
    static const char *names[2] = {"attn_decode_f16_d128", "attn_decode_f16_generic"};
    for (int g = 0; g < 2; g++) {
        direct_decode dd;
        memset(&dd, 0, sizeof dd);
        if (mlxn_kernel_get(b->dev, names[g], &dd.kernel) != MLXN_OK)
            return 1;
        dd.p.n_tokens = 1;
        dd.p.n_heads = N_HEADS;
        dd.p.n_kv_heads = N_KV;
        dd.p.head_dim = HEAD_DIM;
        dd.p.n_ctx = (uint32_t)n_ctx;
        dd.p.heads_per_block = N_HEADS / N_KV;
        dd.p.head_batches = 1;
        dd.p.scale = 0.08838834764831845f;
        dd.smem = g ? mlxn_attn_decode_smem_generic(HEAD_DIM, 2)
                    : mlxn_attn_decode_smem_f16(HEAD_DIM);
        for (unsigned i = 0; i < sizeof splits / sizeof splits[0]; i++) {
            if (splits[i] > mlxn_attn_max_splits((uint32_t)n_ctx))
                break;
            dd.p.n_splits = splits[i];
            double us = time_attention(b, &dd, sets, n_sets, q, pos, scratch, out, 50, 1);
            if (us < 0)
                return 1;
            double gbs = bytes / (us * 1e-6) * 1e-9;
            printf("| sweep %s | %d | %u | %.2f | %.0f | %.1f%% |\n", names[g], n_ctx, splits[i],
                   us, gbs, 100.0 * gbs / copy_gbs);
        }
    }
    return 0;
}

/* One attention configuration: n_tokens queries at `pos` over a cache of
 * n_ctx positions in dtype dt, with n_sets copies of the cache. */
static int run_case(bench_ctx *b, int n_tokens, int n_ctx, int pos_v, mlxn_dtype dt, int n_sets,
                    double copy_gbs, int do_sweep)
{
    int64_t sq[3] = {n_tokens, N_HEADS, HEAD_DIM}, sc[3] = {N_KV, n_ctx, HEAD_DIM};
    int64_t sp[1] = {1};
    attn_set *sets = calloc((size_t)n_sets, sizeof *sets);
    mlxn_buffer *q = rand_tensor(b, MLXN_DTYPE_F32, 3, sq, 1), *out = NULL, *pos = NULL;
    mlxn_buffer *scratch = NULL;
    int rc = 1;
    if (!sets || !q || mlxn_buffer_create_tensor(b->dev, MLXN_DTYPE_F32, 3, sq, &out) ||
        mlxn_buffer_create_tensor(b->dev, MLXN_DTYPE_I32, 1, sp, &pos) ||
        mlxn_buffer_write(pos, 0, &pos_v, 4))
        goto done;
    size_t sb = mlxn_attention_scratch_bytes(n_tokens, N_HEADS, HEAD_DIM, n_ctx);
    if (sb) {
        int64_t ss[1] = {(int64_t)(sb / 4)};
        if (mlxn_buffer_create_tensor(b->dev, MLXN_DTYPE_F32, 1, ss, &scratch))
            goto done;
    }
    for (int i = 0; i < n_sets; i++) {
        sets[i].k = rand_tensor(b, dt, 3, sc, 2 + 2 * (uint64_t)i);
        sets[i].v = rand_tensor(b, dt, 3, sc, 3 + 2 * (uint64_t)i);
        if (!sets[i].k || !sets[i].v)
            goto done;
    }
    int iters = n_tokens == 1 ? 50 : 10;
    double us = time_attention(b, NULL, sets, n_sets, q, pos, scratch, out, iters, 1);
    double wall = time_attention(b, NULL, sets, n_sets, q, pos, scratch, out, iters, 0);
    if (us < 0 || wall < 0)
        goto done;
    if (n_tokens == 1) {
        double bytes = 2.0 * N_KV * (pos_v + 1.0) * HEAD_DIM * (dt == MLXN_DTYPE_F16 ? 2 : 4);
        double gbs = bytes / (us * 1e-6) * 1e-9;
        printf("| decode | %s | %d | %d | %.2f | %.1f | %.0f | %.1f%% | %.2f |\n",
               mlxn_dtype_name(dt), pos_v + 1, n_sets, us, bytes / 1e6, gbs,
               100.0 * gbs / copy_gbs, wall);
        if (do_sweep && sweep(b, sets, n_sets, q, pos, scratch, out, n_ctx, bytes, copy_gbs))
            goto done;
    } else {
        double pairs = 0; /* visible query-key pairs */
        for (int i = 0; i < n_tokens; i++)
            pairs += pos_v + i + 1;
        double tflops = 4.0 * HEAD_DIM * N_HEADS * pairs / (us * 1e-6) * 1e-12;
        printf("| prefill %d tokens at pos %d | %s | %d | %d | %.2f | | %.1f TFLOP/s | | %.2f |\n",
               n_tokens, pos_v, mlxn_dtype_name(dt), pos_v + n_tokens, n_sets, us, tflops, wall);
    }
    rc = 0;
done:
    if (rc)
        fail(b, "attention case");
    for (int i = 0; sets && i < n_sets; i++) {
        mlxn_buffer_destroy(sets[i].k);
        mlxn_buffer_destroy(sets[i].v);
    }
    free(sets);
    mlxn_buffer_destroy(q);
    mlxn_buffer_destroy(out);
    mlxn_buffer_destroy(pos);
    mlxn_buffer_destroy(scratch);
    return rc;
}

static int run(int reps, int do_sweep, int only_ctx)
{
    bench_ctx b;
    memset(&b, 0, sizeof b);
    b.reps = reps;
    mlxn_device_params dp = mlxn_device_params_default();
    dp.backend = MLXN_BACKEND_CUDA;
    if (mlxn_device_create(&dp, &b.dev) != MLXN_OK) {
        printf("bench_attention: skipped, no CUDA device: %s\n", mlxn_last_error(NULL));
        return 0;
    }
    mlxn_device_info info;
    int64_t one[1] = {1};
    if (mlxn_encoder_create(b.dev, NULL, &b.enc) != MLXN_OK ||
        mlxn_device_get_info(b.dev, &info) != MLXN_OK || mlxn__cuda_bind(b.dev) != MLXN_OK ||
        mlxn_kernel_get(b.dev, "debug_delay_write", &b.delay) != MLXN_OK ||
        mlxn_buffer_create_tensor(b.dev, MLXN_DTYPE_U32, 1, one, &b.flag) != MLXN_OK)
        return fail(&b, "setup");
    b.cu = mlxn__cuda_of(b.dev)->cu;
    b.stream = mlxn__cuda_stream(mlxn_device_default_queue(b.dev));
    if (b.cu->cuEventCreate(&b.ev0, CU_EVENT_DEFAULT) != CUDA_SUCCESS ||
        b.cu->cuEventCreate(&b.ev1, CU_EVENT_DEFAULT) != CUDA_SUCCESS)
        return fail(&b, "cuEventCreate");
    double copy_gbs = copy_bandwidth(&b);
    printf("device: %s, %d SMs, L2 %.0f MiB; copy bandwidth (cuMemcpyDtoD 1 GiB, read+write):"
           " %.0f GB/s\n",
           mlxn_device_name(b.dev), info.multiprocessors, info.l2_bytes / 1048576.0, copy_gbs);
    printf("attention: %d query heads, %d KV heads, head_dim %d; median of %d samples\n\n",
           N_HEADS, N_KV, HEAD_DIM, reps);
    printf("| op | cache | context | cache copies | GPU us | KV MB | GB/s | %% of copy |"
           " direct-mode us/op |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    static const int ctxs[3] = {1024, 8192, 32768};
    int rc = 0;
    for (int i = 0; i < (only_ctx ? 1 : 3) && !rc; i++) {
        const int ctx = only_ctx ? only_ctx : ctxs[i];
        double kv_bytes = 2.0 * N_KV * ctx * HEAD_DIM * 2;
        int sets = (int)(2.0 * (double)info.l2_bytes / kv_bytes) + 1;
        rc = run_case(&b, 1, ctx, ctx - 1, MLXN_DTYPE_F16, sets < 2 ? 2 : sets, copy_gbs,
                      do_sweep);
    }
    if (only_ctx)
        goto done;
    if (!rc)
        rc = run_case(&b, 512, 512, 0, MLXN_DTYPE_F16, 1, copy_gbs, 0);
    if (!rc)
        rc = run_case(&b, 512, 4096, 3584, MLXN_DTYPE_F16, 1, copy_gbs, 0);
    if (!rc)
        rc = run_case(&b, 512, 512, 0, MLXN_DTYPE_F32, 1, copy_gbs, 0);
done:
    mlxn_buffer_destroy(b.flag);
    b.cu->cuEventDestroy(b.ev0);
    b.cu->cuEventDestroy(b.ev1);
    mlxn_encoder_destroy(b.enc);
    mlxn_device_destroy(b.dev);
    return rc;
}
#endif /* MLXN_WITH_CUDA */

int main(int argc, char **argv)
{
    int reps = 30, do_sweep = 0, only_ctx = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--sweep")) {
            do_sweep = 1;
        } else if (!strcmp(argv[i], "--ctx") && i + 1 < argc) {
            only_ctx = atoi(argv[++i]);
            if (only_ctx < 1 || only_ctx > 1 << 20) {
                printf("%s: --ctx takes a context of 1 to 1048576 keys\n", argv[0]);
                return 2;
            }
        } else {
            printf("usage: %s [--reps N] [--sweep] [--ctx N]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1)
        reps = 1;
#ifdef MLXN_WITH_CUDA
    return run(reps, do_sweep, only_ctx);
#else
    (void)do_sweep;
    (void)only_ctx;
    printf("bench_attention: skipped, built without CUDA\n");
    return 0;
#endif
}
