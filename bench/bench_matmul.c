/*
 * bench_matmul.c: matrix products at m = 1 (decode) and m = 512 (prefill)
 * on the CUDA backend.
 *
 *   bench_matmul [--quick] [--sweep] [--format NAME] [--shape NxK|swiglu] [--decode]
 *                [--timeline FILE]
 *
 * Decode: for each format and shape (n x k), enough copies of W to exceed
 * twice the L2 are rotated through; 200 back-to-back products are captured
 * into a CUDA graph (stream capture of the encoder's launches, with their
 * programmatic-dependent-launch edges) and the graph is timed with CUDA
 * events; the median over 15 replays gives microseconds per product.
 * Achieved GB/s counts weight bytes + x + out, and is compared with the
 * read bandwidth measured in the same run by debug_read_bw (a read-only
 * xor reduction over 2 GiB, 16-byte streaming loads; the faster of one
 * and two waves of blocks). --sweep also times
 * the matvec kernels with 1, 2 and 4 rows per warp (matvec_x8_* with 1-4
 * blocks per SM). --format runs only the
 * decode rows of one format (its name as printed: "q4_0", "mlx4 g64", ...);
 * --decode skips the prefill section. --shape runs only that decode shape
 * ("swiglu": only the SwiGLU product; NxK need not be one of the five,
 * k a multiple of 256). --timeline writes the device
 * timeline of the run to FILE (a libmlxn built with -DMLXN_TIMELINE;
 * scripts/timeline.py reads it; best with --decode and one format and
 * shape, as the records are capped).
 *
 * Stream floor (before the decode rows): debug_read_bw over each decode
 * shape's Q4_0 bytes, chained and rotated as the products, once with every
 * load after the kernel's wait for its predecessor (a product that could
 * load nothing early would be no faster) and once with every load before
 * it (the chain overlaps its kernels): what a read of that size reaches.
 *
 * SwiGLU: the fused gate/up product at m = 1 on 14336 x 4096 weights.
 *
 * Prefill: m = 512 through mlxn_op_matmul (W dequantized to bf16, x to
 * bf16, cuBLAS GEMM), against the cuBLAS bf16 GEMM alone on the same shape
 * (pre-converted operands), both in TFLOP/s (2 m n k flops).
 */
#include "bench/bench_util.h"
#include "mlxn.h"

#include <stdio.h>
#include <string.h>

#ifdef MLXN_WITH_CUDA
#include "backend/cuda/cuda_backend.h"
#include "graph/encoder_gemm.h"
#include "params/matmul.h"

#include <dlfcn.h>

typedef CUresult (*begin_capture_fn)(CUstream, CUstreamCaptureMode);
typedef CUresult (*end_capture_fn)(CUstream, CUgraph *);

static mlxn_device *dev;
static const mlxn__cu *cu;
static CUstream stream;
static begin_capture_fn begin_capture;
static end_capture_fn end_capture;
static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

#define CHECK_ST(call)                                                                     \
    do {                                                                                   \
        mlxn_status s_ = (call);                                                           \
        if (s_ != MLXN_OK) {                                                               \
            printf("%s:%d: %s: %s\n", __FILE__, __LINE__, #call, mlxn_last_error(dev));    \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

typedef struct fmt {
    const char *name;
    mlxn_dtype dtype; /* U32: MLX affine */
    int bits, group;
    int sym; /* symmetric affine (no biases) */
} fmt;

/* "q4_0" is GGUF Q4_0 as the model loaders store linear weights
 * (symmetric affine, group 32); "q4_0 blocks" the GGUF layout itself
 * (tied embeddings used as the output layer). */
static const fmt FMTS[] = {{"q4_0", MLXN_DTYPE_U32, 4, 32, 1},
                           {"q4_0 blocks", MLXN_DTYPE_Q4_0, 0, 0, 0},
                           {"q8_0", MLXN_DTYPE_Q8_0, 0, 0, 0},
                           {"q4_k", MLXN_DTYPE_Q4_K, 0, 0, 0},
                           {"q6_k", MLXN_DTYPE_Q6_K, 0, 0, 0},
                           {"mlx4 g64", MLXN_DTYPE_U32, 4, 64, 0},
                           {"mlx8 g64", MLXN_DTYPE_U32, 8, 64, 0},
                           {"bf16", MLXN_DTYPE_BF16, 0, 0, 0}};

/* A weight with random contents whose scales are sane numbers. */
static mlxn_weight make_weight(const fmt *f, int64_t n, int64_t k)
{
    mlxn_weight w;
    memset(&w, 0, sizeof w);
    int64_t shape[2] = {n, f->dtype == MLXN_DTYPE_U32 ? k * f->bits / 32 : k};
    CHECK_ST(mlxn_buffer_create_tensor(dev, f->dtype, 2, shape, &w.w));
    size_t bytes = mlxn_buffer_bytes(w.w);
    uint8_t *h = malloc(bytes + 8);
    for (size_t i = 0; i < bytes; i += 8) {
        uint64_t v = next();
        memcpy(h + i, &v, 8);
    }
    int64_t bb = mlxn_dtype_block_bytes(f->dtype);
    if (f->dtype == MLXN_DTYPE_BF16) {
        for (size_t i = 0; i + 1 < bytes; i += 2)
            h[i + 1] = (uint8_t)(0x3c + (h[i + 1] & 1)); /* |w| around 0.01 */
    } else if (f->dtype == MLXN_DTYPE_Q6_K) {
        for (size_t b = 0; b + 210 <= bytes; b += 210)
            h[b + 208] = 0x00, h[b + 209] = 0x20; /* d */
    } else if (f->dtype != MLXN_DTYPE_U32) {
        for (size_t b = 0; b + (size_t)bb <= bytes; b += (size_t)bb) {
            h[b] = 0x00, h[b + 1] = 0x20; /* d */
            if (f->dtype == MLXN_DTYPE_Q4_K)
                h[b + 2] = 0x00, h[b + 3] = 0x20; /* dmin */
        }
    }
    CHECK_ST(mlxn_buffer_write(w.w, 0, h, bytes));
    free(h);
    if (f->dtype == MLXN_DTYPE_U32) {
        int64_t ss[2] = {n, k / f->group};
        CHECK_ST(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F16, 2, ss, &w.scales));
        if (!f->sym)
            CHECK_ST(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F16, 2, ss, &w.biases));
        size_t sb = (size_t)(n * (k / f->group)) * 2;
        uint16_t *s = malloc(sb);
        for (size_t i = 0; i < sb / 2; i++)
            s[i] = (uint16_t)(0x2000 + (next() & 0x3ff));
        CHECK_ST(mlxn_buffer_write(w.scales, 0, s, sb));
        if (w.biases)
            CHECK_ST(mlxn_buffer_write(w.biases, 0, s, sb));
        free(s);
        w.bits = f->bits;
        w.group_size = f->group;
    }
    w.immutable = 1; /* written by the host above, never by a dispatch: as a model's */
    return w;
}

static void free_weight(mlxn_weight *w)
{
    mlxn_buffer_destroy(w->w);
    mlxn_buffer_destroy(w->scales);
    mlxn_buffer_destroy(w->biases);
}

static mlxn_buffer *random_f32(int64_t rows, int64_t cols)
{
    int64_t shape[2] = {rows, cols};
    mlxn_buffer *b;
    CHECK_ST(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 2, shape, &b));
    float *h = malloc((size_t)(rows * cols) * sizeof *h);
    for (int64_t i = 0; i < rows * cols; i++)
        h[i] = (float)((int64_t)(next() % 2001) - 1000) * 1e-3f;
    CHECK_ST(mlxn_buffer_write(b, 0, h, (size_t)(rows * cols) * sizeof *h));
    free(h);
    return b;
}

/* Encodes `iters` products (the i-th on copy i % n_copies). */
typedef void (*encode_fn)(mlxn_encoder *enc, void *ctx, int i);

/* Microseconds per product: median over replays of a captured graph. */
static double time_graph(encode_fn fn, void *ctx, int iters, int reps)
{
    mlxn_encoder *enc;
    CHECK_ST(mlxn_encoder_create(dev, NULL, &enc));
    for (int i = 0; i < 4; i++) /* warm-up, also resolves kernels and algorithms */
        fn(enc, ctx, i);
    CHECK_ST(mlxn_encoder_commit_and_wait(enc));
    CUgraph g;
    CUgraphExec ge;
    if (begin_capture(stream, CU_STREAM_CAPTURE_MODE_RELAXED) != CUDA_SUCCESS) {
        printf("cuStreamBeginCapture failed\n");
        exit(1);
    }
    for (int i = 0; i < iters; i++)
        fn(enc, ctx, i);
    if (end_capture(stream, &g) != CUDA_SUCCESS ||
        cu->cuGraphInstantiateWithFlags(&ge, g, 0) != CUDA_SUCCESS) {
        printf("capturing the products into a graph failed\n");
        exit(1);
    }
    CHECK_ST(mlxn_encoder_commit_and_wait(enc)); /* the captured launches ran nowhere */
    CUevent e0, e1;
    cu->cuEventCreate(&e0, CU_EVENT_DEFAULT);
    cu->cuEventCreate(&e1, CU_EVENT_DEFAULT);
    double t[64];
    for (int r = -2; r < reps; r++) {
        cu->cuEventRecord(e0, stream);
        cu->cuGraphLaunch(ge, stream);
        cu->cuEventRecord(e1, stream);
        cu->cuEventSynchronize(e1);
        float ms = 0;
        cu->cuEventElapsedTime(&ms, e0, e1);
        if (r >= 0)
            t[r] = (double)ms * 1e3 / iters;
    }
    cu->cuEventDestroy(e0);
    cu->cuEventDestroy(e1);
    cu->cuGraphExecDestroy(ge);
    cu->cuGraphDestroy(g);
    mlxn_encoder_destroy(enc);
    return bench_median(t, reps);
}

/* x8 = x rounded (mlxn_op_round_x8), once, outside the timed graphs. */
static void round_once(mlxn_buffer *x, mlxn_buffer *x8)
{
    mlxn_encoder *enc;
    CHECK_ST(mlxn_encoder_create(dev, NULL, &enc));
    CHECK_ST(mlxn_op_round_x8(enc, x, x8));
    CHECK_ST(mlxn_encoder_commit_and_wait(enc));
    mlxn_encoder_destroy(enc);
}

/* Copies of `bytes` of weights to rotate over so that every pass reads
 * from DRAM: enough to exceed twice the L2, at most cap. */
static int rotation_copies(size_t bytes, int cap)
{
    mlxn_device_info info;
    mlxn_device_get_info(dev, &info);
    int n = (int)(2 * (uint64_t)info.l2_bytes / bytes) + 2;
    return n > cap ? cap : n;
}

/* ---- read bandwidth reference ------------------------------------------------ */
typedef struct bw_ctx {
    mlxn_buffer *buf[64], *out;
    int n_copies;
    uint32_t grid, early;
    mlxn_kernel *k;
    uint64_t n16;
} bw_ctx;

static void enc_bw(mlxn_encoder *enc, void *p, int i)
{
    bw_ctx *c = p;
    mlxn_arg args[4] = {mlxn_arg_buffer(c->buf[i % c->n_copies]), mlxn_arg_buffer(c->out),
                        mlxn_arg_bytes(&c->n16, 8), mlxn_arg_bytes(&c->early, 4)};
    mlxn_dispatch d;
    memset(&d, 0, sizeof d);
    d.kernel = c->k;
    d.args = args;
    d.n_args = 4;
    d.grid = (mlxn_dim3){c->grid, 1, 1};
    d.block = (mlxn_dim3){256, 1, 1};
    CHECK_ST(mlxn_encoder_dispatch(enc, &d));
}

/* Microseconds per debug_read_bw pass over `bytes` (random words where
 * `fill`, else as allocated), on n_copies buffers in turn, `iters` passes
 * per graph, with `grid` blocks of 256 threads; `early`: the loads before
 * the kernel's wait. */
static double time_read(size_t bytes, int fill, int n_copies, uint32_t grid, uint32_t early,
                        int iters, int reps)
{
    bw_ctx c;
    memset(&c, 0, sizeof c);
    c.n_copies = n_copies;
    c.grid = grid;
    c.early = early;
    int64_t n32 = (int64_t)(bytes / 4);
    for (int i = 0; i < n_copies; i++) {
        mlxn_buffer_params p = mlxn_buffer_params_default();
        p.bytes = bytes;
        p.shape[0] = (int64_t)bytes;
        if (fill)
            c.buf[i] = random_f32(1, n32);
        else
            CHECK_ST(mlxn_buffer_create(dev, &p, &c.buf[i]));
    }
    int64_t one = 4;
    CHECK_ST(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_U32, 1, &one, &c.out));
    CHECK_ST(mlxn_kernel_get(dev, "debug_read_bw", &c.k));
    c.n16 = bytes / 16;
    double us = time_graph(enc_bw, &c, iters, reps);
    for (int i = 0; i < n_copies; i++)
        mlxn_buffer_destroy(c.buf[i]);
    mlxn_buffer_destroy(c.out);
    return us;
}

/* The read bandwidth reference: debug_read_bw over 2 GiB, the faster of
 * one wave of blocks (8 of 256 threads per SM) and 16 blocks per SM (two
 * waves); both are printed. */
static double read_bandwidth(void)
{
    mlxn_device_info info;
    mlxn_device_get_info(dev, &info);
    const size_t bytes = (size_t)2 << 30;
    const uint32_t sms = (uint32_t)info.multiprocessors;
    double gbs[2];
    for (int i = 0; i < 2; i++)
        gbs[i] = (double)bytes / (time_read(bytes, 0, 1, (i ? 16 : 8) * sms, 0, 10, 9) * 1e-6) /
                 1e9;
    printf("\nread bandwidth (debug_read_bw, 2 GiB, median of 9): %.0f GB/s (one wave of %u "
           "blocks: %.0f, %u blocks: %.0f)\n",
           gbs[0] > gbs[1] ? gbs[0] : gbs[1], 8 * sms, gbs[0], 16 * sms, gbs[1]);
    return gbs[0] > gbs[1] ? gbs[0] : gbs[1];
}

/* ---- decode products ------------------------------------------------------------ */
typedef struct mv_ctx {
    mlxn_weight w[64];
    int n_copies;
    mlxn_buffer *x, *out;
    mlxn_buffer *x8;   /* x rounded (mlxn_op_round_x8): mlxn_op_matmul_x8, or NULL */
    int rows_per_warp; /* 0: through mlxn_op_matmul */
    int grid;          /* matvec_x8_*: blocks (0: one per group of rows) */
    const char *kname;
    int64_t n, k;
} mv_ctx;

static void enc_mv(mlxn_encoder *enc, void *p, int i)
{
    mv_ctx *c = p;
    mlxn_weight *w = &c->w[i % c->n_copies];
    if (!c->rows_per_warp) {
        CHECK_ST(mlxn_op_matmul_x8(enc, c->x, c->x8, w, NULL, c->out));
        return;
    }
    /* The matvec kernel with a chosen rows_per_warp (geometry as in the op). */
    mlxn_kernel *k;
    CHECK_ST(mlxn_kernel_get(dev, c->kname, &k));
    mlxn_matmul_params mp;
    memset(&mp, 0, sizeof mp);
    mp.m = 1;
    mp.n = (uint32_t)c->n;
    mp.k = (uint32_t)c->k;
    mp.ldo = (uint32_t)c->n;
    mp.bits = (uint32_t)w->bits;
    mp.group_size = (uint32_t)w->group_size;
    mp.rows_per_warp = (uint32_t)c->rows_per_warp;
    if (!w->biases && w->scales)
        mp.flags |= MLXN_MM_SYMMETRIC;
    mp.row_bytes = mlxn_buffer_bytes(w->w) / (uint64_t)c->n;
    uint32_t chunk = (uint32_t)(mp.row_bytes * MLXN_MATVEC_CHUNK / (uint64_t)c->k);
    mlxn_arg args[8];
    int na = 0;
    args[na++] = mlxn_arg_buffer(c->x);
    args[na++] = mlxn_arg_buffer(w->w);
    if (w->scales) {
        args[na++] = mlxn_arg_buffer(w->scales);
        args[na++] = mlxn_arg_buffer(w->biases ? w->biases : w->scales);
    }
    args[na++] = mlxn_arg_buffer(c->out);
    args[na++] = mlxn_arg_buffer(c->out);
    if (strstr(c->kname, "_x8_"))
        args[na++] = mlxn_arg_buffer(c->x); /* the norm weight slot, not read */
    args[na++] = mlxn_arg_bytes(&mp, sizeof mp);
    mlxn_dispatch d;
    memset(&d, 0, sizeof d);
    d.kernel = k;
    d.args = args;
    d.n_args = na;
    uint32_t rows = MLXN_MATVEC_WARPS * mp.rows_per_warp;
    d.block = (mlxn_dim3){32 * MLXN_MATVEC_WARPS, 1, 1};
    d.shared_bytes = MLXN_MATVEC_WARPS * MLXN_MATVEC_STAGES * mp.rows_per_warp *
                     mlxn_matvec_stage_bytes(chunk * mlxn_matvec_units(chunk));
    if (strstr(c->kname, "_x8_")) { /* geometry of src/ops/matmul.c x8_geometry */
        rows = MLXN_X8_WARPS;
        d.block = (mlxn_dim3){32 * MLXN_X8_WARPS, 1, 1};
        d.shared_bytes = (uint32_t)c->k + (uint32_t)(c->k / 32) * 8u;
    }
    d.grid = (mlxn_dim3){(uint32_t)((c->n + rows - 1) / rows), 1, 1};
    if (c->grid && (uint32_t)c->grid < d.grid.x)
        d.grid.x = (uint32_t)c->grid;
    d.kind = MLXN_OP_MATMUL;
    CHECK_ST(mlxn_encoder_dispatch(enc, &d));
}

/* The decode shapes; a sixth from --shape when it names another one. */
static int64_t SHAPES[6][2] = {
    {4096, 4096}, {1024, 4096}, {14336, 4096}, {4096, 14336}, {128256, 4096}};
static int n_shapes = 5;

/* Decode shape si as --shape names it ("NxK"). */
static const char *shape_name(int si, char sn[32])
{
    snprintf(sn, 32, "%lldx%lld", (long long)SHAPES[si][0], (long long)SHAPES[si][1]);
    return sn;
}

/* Whether --shape names a decode shape or "swiglu"; another "NxK" (k a
 * multiple of 256, so that every format takes it) becomes the sixth
 * shape. */
static int known_shape(const char *shape)
{
    char sn[32], end;
    for (int si = 0; si < 5; si++)
        if (!strcmp(shape, shape_name(si, sn)))
            return 1;
    long long n, k;
    if (sscanf(shape, "%lldx%lld%c", &n, &k, &end) == 2 && n >= 1 && n <= (1 << 20) &&
        k >= 256 && k <= 65536 && k % 256 == 0) {
        SHAPES[5][0] = n;
        SHAPES[5][1] = k;
        n_shapes = 6;
        return 1;
    }
    return !strcmp(shape, "swiglu");
}

/* The floor of a product that streams its weights after its wait: a pure
 * read (debug_read_bw) of the Q4_0 / MLX 4-bit g64 bytes of each shape
 * (4.5 bits an element), one wave of blocks, chained and rotated as the
 * products; "after wait": every load after griddepcontrol.wait (as a
 * product that could load nothing before its predecessor ends), "before":
 * every load before it (the kernels of the chain overlap). */
static void floor_bench(double bw, int quick, const char *shape)
{
    mlxn_device_info info;
    mlxn_device_get_info(dev, &info);
    printf("\n### Stream floor: a read of each shape's Q4_0 / MLX 4-bit bytes "
           "(debug_read_bw, %d blocks of 256, chained as the products)\n\n",
           8 * info.multiprocessors);
    printf("| n x k | MB read | copies | us after wait | %% of read bw | us before | "
           "%% of read bw |\n|---|---|---|---|---|---|---|\n");
    for (int si = 0; si < n_shapes; si++) {
        char sn[32];
        if ((quick && si != 2) || (shape && strcmp(shape, shape_name(si, sn))))
            continue;
        size_t bytes = (size_t)(SHAPES[si][0] * SHAPES[si][1] / 32 * 18) & ~(size_t)15;
        int copies = rotation_copies(bytes, 64);
        printf("| %lld x %lld | %.1f | %d |", (long long)SHAPES[si][0], (long long)SHAPES[si][1],
               (double)bytes / 1e6, copies);
        for (uint32_t early = 0; early < 2; early++) {
            double us = time_read(bytes, 1, copies, 8 * info.multiprocessors, early, 200, 15);
            printf(" %.2f | %.1f |", us, 100.0 * (double)bytes / (us * 1e-6) / 1e9 / bw);
        }
        printf("\n");
        fflush(stdout);
    }
}

static void decode_bench(double bw, int sweep, int quick, const char *only, const char *shape)
{
    mlxn_device_info info;
    mlxn_device_get_info(dev, &info);
    printf("\n### Decode, m = 1 (us per product, GB/s of weights + x + out, %% of %.0f GB/s)\n\n",
           bw);
    printf("x8 in: x given rounded by its producer (mlxn_op_matmul_x8; x's bytes then "
           "1.25 k)\n\n");
    printf("| format | n x k | weight MB | copies | us | GB/s | %% of read bw | x8 in us | "
           "x8 in %% of read bw |%s\n",
           sweep ? " us R=1 | us R=2 | us R=4 |" : "");
    printf("|---|---|---|---|---|---|---|---|---|%s\n", sweep ? "---|---|---|" : "");
    int n_fmts = (int)(sizeof FMTS / sizeof FMTS[0]);
    for (int fi = 0; fi < n_fmts; fi++)
        for (int si = 0; si < n_shapes; si++) {
            char sn[32];
            if ((quick && si != 2) || (only && strcmp(only, FMTS[fi].name)) ||
                (shape && strcmp(shape, shape_name(si, sn))))
                continue;
            mv_ctx c;
            memset(&c, 0, sizeof c);
            c.n = SHAPES[si][0];
            c.k = SHAPES[si][1];
            c.w[0] = make_weight(&FMTS[fi], c.n, c.k);
            size_t wb = mlxn_weight_bytes(&c.w[0]);
            c.n_copies = rotation_copies(wb, 64);
            for (int i = 1; i < c.n_copies; i++)
                c.w[i] = make_weight(&FMTS[fi], c.n, c.k);
            c.x = random_f32(1, c.k);
            int64_t so[2] = {1, c.n};
            CHECK_ST(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 2, so, &c.out));
            double us = time_graph(enc_mv, &c, 200, 15);
            double bytes = (double)wb + 4.0 * (double)(c.k + c.n);
            double gbs = bytes / (us * 1e-6) / 1e9;
            printf("| %s | %lld x %lld | %.1f | %d | %.2f | %.0f | %.1f |", FMTS[fi].name,
                   (long long)c.n, (long long)c.k, (double)wb / 1e6, c.n_copies, us, gbs,
                   100.0 * gbs / bw);
            int64_t s8[1] = {(int64_t)MLXN_X8_ROW_BYTES((uint64_t)c.k)};
            CHECK_ST(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_U8, 1, s8, &c.x8));
            round_once(c.x, c.x8);
            double us8 = time_graph(enc_mv, &c, 200, 15);
            double gbs8 = ((double)wb + 1.25 * (double)c.k + 4.0 * (double)c.n) /
                          (us8 * 1e-6) / 1e9;
            printf(" %.2f | %.1f |", us8, 100.0 * gbs8 / bw);
            mlxn_buffer_destroy(c.x8);
            c.x8 = NULL;
            if (sweep) {
                char kn[32];
                const char *fn = FMTS[fi].dtype == MLXN_DTYPE_U32
                                     ? (FMTS[fi].bits == 4 ? "mlx4" : "mlx8")
                                     : FMTS[fi].name;
                snprintf(kn, sizeof kn, "matvec_%s%s",
                         FMTS[fi].dtype == MLXN_DTYPE_U32 && FMTS[fi].bits == 4 ? "x8_" : "",
                         FMTS[fi].dtype == MLXN_DTYPE_Q4_0 ? "q4_0" : fn);
                c.kname = kn;
                for (int r = 1; r <= 4; r *= 2) {
                    c.rows_per_warp = r;
                    if (strstr(kn, "_x8_")) /* splits rows evenly, no R */
                        printf(" - |");
                    else
                        printf(" %.2f |", time_graph(enc_mv, &c, 200, 9));
                }
                c.rows_per_warp = 1;
                if (strstr(kn, "_x8_")) { /* grid-stride: blocks per SM */
                    printf(" x8 blocks/SM:");
                    for (int g = 1; g <= 4; g++) {
                        c.grid = g * info.multiprocessors;
                        printf(" %d=%.2f", g, time_graph(enc_mv, &c, 200, 9));
                    }
                    c.grid = 0;
                }
            }
            printf("\n");
            fflush(stdout);
            for (int i = 0; i < c.n_copies; i++)
                free_weight(&c.w[i]);
            mlxn_buffer_destroy(c.x);
            mlxn_buffer_destroy(c.out);
        }
}

/* ---- the fused gate/up SwiGLU product at m = 1 ------------------------------------ */
typedef struct sw_ctx {
    mlxn_weight g[32], u[32];
    int n_copies;
    mlxn_buffer *x, *out;
    mlxn_buffer *nw, *norm; /* the folded norm (mlxn_op_norm_matmul_swiglu_x8), or NULL */
    mlxn_buffer *x8;        /* out rounded too, or NULL */
} sw_ctx;

static void enc_sw(mlxn_encoder *enc, void *p, int i)
{
    sw_ctx *c = p;
    const mlxn_weight *g = &c->g[i % c->n_copies], *u = &c->u[i % c->n_copies];
    if (c->nw)
        CHECK_ST(mlxn_op_norm_matmul_swiglu_x8(enc, c->x, c->nw, 1e-5f, c->norm, g, u, c->out,
                                               c->x8));
    else
        CHECK_ST(mlxn_op_matmul_swiglu(enc, c->x, g, u, c->out));
}

static void swiglu_bench(double bw)
{
    printf("\n### SwiGLU product out = silu(x Wg^T) * (x Wu^T), m = 1, n x k = 14336 x 4096 "
           "(bytes: both weights + x + out)\n\nnorm: the RMS norm of x folded in "
           "(mlxn_op_norm_matmul_swiglu); x8 out: out also rounded into an x8 row "
           "(mlxn_op_norm_matmul_swiglu_x8)\n\n| format | us | GB/s | %% of read bw | "
           "norm us | norm, x8 out us |\n|---|---|---|---|---|---|\n");
    static const int fis[3] = {0, 1, 5};
    for (int f = 0; f < 3; f++) {
        sw_ctx c;
        memset(&c, 0, sizeof c);
        const int64_t n = 14336, k = 4096;
        c.g[0] = make_weight(&FMTS[fis[f]], n, k);
        size_t wb = mlxn_weight_bytes(&c.g[0]);
        c.n_copies = rotation_copies(2 * wb, 32);
        for (int i = 0; i < c.n_copies; i++) {
            if (i)
                c.g[i] = make_weight(&FMTS[fis[f]], n, k);
            c.u[i] = make_weight(&FMTS[fis[f]], n, k);
        }
        c.x = random_f32(1, k);
        int64_t so[2] = {1, n};
        CHECK_ST(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 2, so, &c.out));
        double us = time_graph(enc_sw, &c, 200, 15);
        double gbs = (2.0 * (double)wb + 4.0 * (double)(k + n)) / (us * 1e-6) / 1e9;
        printf("| %s | %.2f | %.0f | %.1f |", FMTS[fis[f]].name, us, gbs, 100.0 * gbs / bw);
        int64_t sk[1] = {k}, s8[1] = {(int64_t)MLXN_X8_ROW_BYTES((uint64_t)n)};
        c.nw = random_f32(1, k);
        CHECK_ST(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 1, sk, &c.norm));
        CHECK_ST(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_U8, 1, s8, &c.x8));
        mlxn_buffer *x8 = c.x8;
        c.x8 = NULL;
        printf(" %.2f |", time_graph(enc_sw, &c, 200, 15));
        c.x8 = x8;
        printf(" %.2f |\n", time_graph(enc_sw, &c, 200, 15));
        mlxn_buffer_destroy(c.nw);
        mlxn_buffer_destroy(c.norm);
        mlxn_buffer_destroy(c.x8);
        for (int i = 0; i < c.n_copies; i++) {
            free_weight(&c.g[i]);
            free_weight(&c.u[i]);
        }
        mlxn_buffer_destroy(c.x);
        mlxn_buffer_destroy(c.out);
    }
}

/* ---- prefill products ------------------------------------------------------------ */
typedef struct pf_ctx {
    mlxn_weight w;
    mlxn_buffer *x, *out, *xb, *wb, *ws;
    int blas_only;
    int64_t m, n, k;
} pf_ctx;

static void enc_pf(mlxn_encoder *enc, void *p, int i)
{
    (void)i;
    pf_ctx *c = p;
    if (!c->blas_only) {
        CHECK_ST(mlxn_op_matmul(enc, c->x, &c->w, NULL, c->out));
        return;
    }
    mlxn__gemm_call call;
    memset(&call, 0, sizeof call);
    call.g.a = mlxn__buffer_addr(c->xb, 0);
    call.g.b = mlxn__buffer_addr(c->wb, 0);
    call.g.d = mlxn__buffer_addr(c->out, 0);
    call.g.m = (uint32_t)c->m;
    call.g.n = (uint32_t)c->n;
    call.g.k = (uint32_t)c->k;
    call.g.ldd = (uint32_t)c->n;
    call.g.workspace = mlxn__buffer_addr(c->ws, 0);
    call.g.workspace_bytes = mlxn_buffer_bytes(c->ws);
    call.reads[0] = mlxn_range_of(c->xb);
    call.reads[1] = mlxn_range_of(c->wb);
    call.n_reads = 2;
    call.writes[0] = mlxn_range_of(c->out);
    call.writes[1] = mlxn_range_of(c->ws);
    call.n_writes = 2;
    CHECK_ST(mlxn__encoder_gemm(enc, &call));
}

static void prefill_bench(int quick)
{
    static const int64_t shapes[5][2] = {
        {4096, 4096}, {1024, 4096}, {14336, 4096}, {4096, 14336}, {128256, 4096}};
    printf("\n### Prefill, m = 512 (TFLOP/s = 2 m n k / time)\n\n");
    printf("| format | n x k | mlxn_op_matmul us | TFLOP/s | cuBLAS bf16 GEMM alone us | "
           "TFLOP/s | ratio |\n|---|---|---|---|---|---|---|\n");
    int n_fmts = (int)(sizeof FMTS / sizeof FMTS[0]);
    for (int fi = 0; fi < n_fmts; fi++)
        for (int si = 0; si < 5; si++) {
            if (quick && si != 2)
                continue;
            if (fi != 0 && fi != 2 && fi != 4 && fi != 6 && si != 2)
                continue; /* all shapes for q4_0, q4_k, mlx4, bf16 */
            pf_ctx c;
            memset(&c, 0, sizeof c);
            c.m = 512;
            c.n = shapes[si][0];
            c.k = shapes[si][1];
            c.w = make_weight(&FMTS[fi], c.n, c.k);
            c.x = random_f32(c.m, c.k);
            int64_t so[2] = {c.m, c.n}, sx[2] = {c.m, c.k}, sw[2] = {c.n, c.k}, sws[1] = {32 << 20};
            CHECK_ST(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 2, so, &c.out));
            CHECK_ST(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_BF16, 2, sx, &c.xb));
            CHECK_ST(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_BF16, 2, sw, &c.wb));
            CHECK_ST(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_U8, 1, sws, &c.ws));
            double flop = 2.0 * (double)c.m * (double)c.n * (double)c.k;
            double us = time_graph(enc_pf, &c, 20, 9);
            c.blas_only = 1;
            double ub = time_graph(enc_pf, &c, 20, 9);
            printf("| %s | %lld x %lld | %.1f | %.1f | %.1f | %.1f | %.2f |\n", FMTS[fi].name,
                   (long long)c.n, (long long)c.k, us, flop / us * 1e-6, ub, flop / ub * 1e-6,
                   ub / us);
            fflush(stdout);
            free_weight(&c.w);
            mlxn_buffer_destroy(c.x);
            mlxn_buffer_destroy(c.out);
            mlxn_buffer_destroy(c.xb);
            mlxn_buffer_destroy(c.wb);
            mlxn_buffer_destroy(c.ws);
        }
}

int main(int argc, char **argv)
{
    int sweep = 0, quick = 0, decode_only = 0;
    const char *only = NULL, *shape = NULL, *timeline = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sweep")) {
            sweep = 1;
        } else if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if (!strcmp(argv[i], "--decode")) {
            decode_only = 1;
        } else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            only = argv[++i];
        } else if (!strcmp(argv[i], "--shape") && i + 1 < argc) {
            shape = argv[++i];
        } else if (!strcmp(argv[i], "--timeline") && i + 1 < argc) {
            timeline = argv[++i];
        } else {
            printf("usage: %s [--quick] [--sweep] [--format NAME] [--shape NxK|swiglu] "
                   "[--decode] [--timeline FILE]\n",
                   argv[0]);
            return 2;
        }
    }
    if (shape && !known_shape(shape)) {
        printf("bench_matmul: --shape %s: not NxK (k a multiple of 256, at most 65536) or "
               "swiglu\n",
               shape);
        return 2;
    }
    mlxn_device_params dp = mlxn_device_params_default();
    dp.backend = MLXN_BACKEND_CUDA;
    dp.timeline = timeline != NULL;
    if (mlxn_device_create(&dp, &dev) != MLXN_OK && timeline) {
        printf("bench_matmul: no device with a timeline (%s)\n", mlxn_last_error(NULL));
        return 1;
    } else if (!dev) {
        printf("bench_matmul: no CUDA device (%s); nothing to measure\n", mlxn_last_error(NULL));
        return 0;
    }
    cu = mlxn__cuda_of(dev)->cu;
    stream = mlxn__cuda_stream(mlxn_device_default_queue(dev));
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    begin_capture = lib ? (begin_capture_fn)dlsym(lib, "cuStreamBeginCapture_v2") : NULL;
    end_capture = lib ? (end_capture_fn)dlsym(lib, "cuStreamEndCapture") : NULL;
    if (!begin_capture || !end_capture) {
        printf("bench_matmul: stream capture entry points not found\n");
        return 1;
    }
    printf("# bench_matmul on %s\n", mlxn_device_name(dev));
    double bw = read_bandwidth();
    if (!shape || strcmp(shape, "swiglu")) {
        floor_bench(bw, quick, shape);
        decode_bench(bw, sweep, quick, only, shape);
    }
    if (!shape || !strcmp(shape, "swiglu"))
        swiglu_bench(bw);
    if (!decode_only && !shape)
        prefill_bench(quick);
    uint64_t taken = 0;
    if (timeline && mlxn_device_timeline_write(dev, timeline, &taken) != MLXN_OK) {
        printf("bench_matmul: %s\n", mlxn_last_error(dev));
        mlxn_device_destroy(dev);
        return 1;
    }
    if (timeline)
        printf("\ntimeline: %llu block records in %s\n", (unsigned long long)taken, timeline);
    mlxn_device_destroy(dev);
    return 0;
}
#else
int main(void)
{
    printf("bench_matmul: built without CUDA; nothing to measure\n");
    return 0;
}
#endif
