/*
 * matmul.c: CPU kernels for out = x @ W^T in every weight format (dense
 * f32 / f16 / bf16, GGUF q4_0 / q8_0 / q4_k / q6_k, MLX affine), the fused
 * gate/up/SwiGLU product, and the SwiGLU join used by the prefill path.
 *
 * W is processed in blocks of MM_NR rows: the block is dequantized to f32
 * once (the reference dequantizers of src/ops/quant.c) and every row of x
 * is dotted with it, four W rows at a time with 8-wide f32 accumulators.
 * matvec_<f> and matmul_<f> share this code: the CUDA backend has separate
 * kernels for small and large m, the CPU does not need them.
 */
#include "cpu/cpu_kernel.h"
#include "ops/quant_ref.h"
#include "params/matmul.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MM_NR 8 /* W rows per work item */

/* Weight formats; dense and GGUF formats are their dtype. */
#define MM_MLX (-1)

/* 4-wide vectors (the x86-64 baseline has 16-byte registers); loops keep
 * two per accumulator for 8 products in flight. */
typedef float v4f __attribute__((vector_size(16)));

typedef struct mm_weight {
    const uint8_t *w;
    const uint16_t *scales, *biases; /* MLX affine */
} mm_weight;

typedef struct mm_job {
    int fmt;             /* an mlxn_dtype, or MM_MLX */
    const float *x;      /* (m, k) */
    mm_weight wt[2];     /* W, or Wg and Wu */
    int n_w;             /* 2 for the SwiGLU product */
    const float *add;    /* (m, ldo) or NULL */
    float *out;          /* (m, ldo) */
    mlxn_matmul_params p;
    atomic_int oom;
} mm_job;

/* Row r of weight `which`, dequantized to dst[0..k). */
static void dequant_w_row(const mm_job *j, int which, int64_t r, float *dst)
{
    const mm_weight *wt = &j->wt[which];
    const uint8_t *row = wt->w + (uint64_t)r * j->p.row_bytes;
    if (j->fmt == MM_MLX) {
        int64_t groups = j->p.k / j->p.group_size;
        mlxn__affine_src s = {row, wt->scales + r * groups, wt->biases ? wt->biases + r * groups : NULL,
                              (int)j->p.bits, (int)j->p.group_size,
                              (j->p.flags & MLXN_MM_SCALE_BF16) != 0};
        mlxn__dequant_affine(&s, 0, j->p.k, dst);
    } else {
        mlxn__dequant_row((mlxn_dtype)j->fmt, row, j->p.k, dst);
    }
}

static v4f load4(const float *p)
{
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static float hsum(v4f a, v4f b)
{
    v4f v = a + b;
    return (v[0] + v[2]) + (v[1] + v[3]);
}

/* out[r] = dot(x, w[r]) for r < 4; w rows k apart. */
static void dot4(const float *x, const float *w, int64_t k, float out[4])
{
    v4f a[4][2];
    memset(a, 0, sizeof a);
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        v4f x0 = load4(x + i), x1 = load4(x + i + 4);
        for (int r = 0; r < 4; r++) {
            a[r][0] += x0 * load4(w + r * k + i);
            a[r][1] += x1 * load4(w + r * k + i + 4);
        }
    }
    for (int r = 0; r < 4; r++) {
        float s = hsum(a[r][0], a[r][1]);
        for (int64_t t = i; t < k; t++)
            s += x[t] * w[r * k + t];
        out[r] = s;
    }
}

static float dot1(const float *x, const float *w, int64_t k)
{
    v4f a0 = {0}, a1 = {0};
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        a0 += load4(x + i) * load4(w + i);
        a1 += load4(x + i + 4) * load4(w + i + 4);
    }
    float s = hsum(a0, a1);
    for (; i < k; i++)
        s += x[i] * w[i];
    return s;
}

/* dots[r] = x . tile[r] for r < nr. */
static void dot_rows(const float *x, const float *tile, int64_t k, int nr, float *dots)
{
    int r = 0;
    for (; r + 4 <= nr; r += 4)
        dot4(x, tile + (int64_t)r * k, k, dots + r);
    for (; r < nr; r++)
        dots[r] = dot1(x, tile + (int64_t)r * k, k);
}

static float silu(float g) { return g / (1.0f + expf(-g)); }

static void mm_range(void *arg, int64_t begin, int64_t end)
{
    mm_job *j = arg;
    const int64_t k = j->p.k, n = j->p.n, ldo = j->p.ldo;
    float *tile = malloc((size_t)j->n_w * MM_NR * (size_t)k * sizeof *tile);
    if (!tile) {
        atomic_store(&j->oom, 1);
        return;
    }
    for (int64_t blk = begin; blk < end; blk++) {
        int64_t r0 = blk * MM_NR;
        int nr = (int)(n - r0 < MM_NR ? n - r0 : MM_NR);
        for (int w = 0; w < j->n_w; w++)
            for (int r = 0; r < nr; r++)
                dequant_w_row(j, w, r0 + r, tile + ((int64_t)w * MM_NR + r) * k);
        for (int64_t i = 0; i < j->p.m; i++) {
            const float *xi = j->x + i * k;
            float d[2][MM_NR];
            for (int w = 0; w < j->n_w; w++)
                dot_rows(xi, tile + (int64_t)w * MM_NR * k, k, nr, d[w]);
            float *o = j->out + i * ldo + r0;
            for (int r = 0; r < nr; r++) {
                if (j->n_w == 2)
                    o[r] = silu(d[0][r]) * d[1][r];
                else
                    o[r] = j->add ? j->add[i * ldo + r0 + r] + d[0][r] : d[0][r];
            }
        }
    }
    free(tile);
}

static void mm_run(mlxn__cpu_ctx *ctx, mm_job *j)
{
    atomic_init(&j->oom, 0);
    if (j->p.flags & MLXN_MM_SYMMETRIC)
        j->wt[0].biases = j->wt[1].biases = NULL;
    int64_t blocks = ((int64_t)j->p.n + MM_NR - 1) / MM_NR;
    /* Work per block ~ MM_NR * k * (m + dequant): a few blocks per chunk. */
    int64_t grain = 1 + (1 << 16) / (1 + (int64_t)MM_NR * j->p.k * (j->p.m + 4) / 64);
    mlxn__cpu_parallel_for(ctx, blocks, grain, mm_range, j);
    if (atomic_load(&j->oom))
        mlxn__cpu_fail(ctx, "matmul: out of memory for a %d x %u weight tile", MM_NR,
                       j->p.k);
}

/* args: x, w, add, out, params */
static void mm_plain(mlxn__cpu_ctx *ctx, void **args, int fmt)
{
    mm_job j;
    memset(&j, 0, sizeof j);
    j.fmt = fmt;
    j.n_w = 1;
    j.x = MLXN_ARG_PTR(const float, 0);
    j.wt[0].w = MLXN_ARG_PTR(const uint8_t, 1);
    j.p = MLXN_ARG_VAL(mlxn_matmul_params, 4);
    j.add = (j.p.flags & MLXN_MM_ADD) ? MLXN_ARG_PTR(const float, 2) : NULL;
    j.out = MLXN_ARG_PTR(float, 3);
    mm_run(ctx, &j);
}

/* args: x, w, scales, biases, add, out, params */
static void mm_plain_mlx(mlxn__cpu_ctx *ctx, void **args)
{
    mm_job j;
    memset(&j, 0, sizeof j);
    j.fmt = MM_MLX;
    j.n_w = 1;
    j.x = MLXN_ARG_PTR(const float, 0);
    j.wt[0].w = MLXN_ARG_PTR(const uint8_t, 1);
    j.wt[0].scales = MLXN_ARG_PTR(const uint16_t, 2);
    j.wt[0].biases = MLXN_ARG_PTR(const uint16_t, 3);
    j.p = MLXN_ARG_VAL(mlxn_matmul_params, 6);
    j.add = (j.p.flags & MLXN_MM_ADD) ? MLXN_ARG_PTR(const float, 4) : NULL;
    j.out = MLXN_ARG_PTR(float, 5);
    mm_run(ctx, &j);
}

/* args: x, wg, wu, out, params */
static void mm_swiglu(mlxn__cpu_ctx *ctx, void **args, int fmt)
{
    mm_job j;
    memset(&j, 0, sizeof j);
    j.fmt = fmt;
    j.n_w = 2;
    j.x = MLXN_ARG_PTR(const float, 0);
    j.wt[0].w = MLXN_ARG_PTR(const uint8_t, 1);
    j.wt[1].w = MLXN_ARG_PTR(const uint8_t, 2);
    j.out = MLXN_ARG_PTR(float, 3);
    j.p = MLXN_ARG_VAL(mlxn_matmul_params, 4);
    mm_run(ctx, &j);
}

/* args: x, wg, sg, bg, wu, su, bu, out, params */
static void mm_swiglu_mlx(mlxn__cpu_ctx *ctx, void **args)
{
    mm_job j;
    memset(&j, 0, sizeof j);
    j.fmt = MM_MLX;
    j.n_w = 2;
    j.x = MLXN_ARG_PTR(const float, 0);
    for (int w = 0; w < 2; w++) {
        j.wt[w].w = MLXN_ARG_PTR(const uint8_t, 1 + 3 * w);
        j.wt[w].scales = MLXN_ARG_PTR(const uint16_t, 2 + 3 * w);
        j.wt[w].biases = MLXN_ARG_PTR(const uint16_t, 3 + 3 * w);
    }
    j.out = MLXN_ARG_PTR(float, 7);
    j.p = MLXN_ARG_VAL(mlxn_matmul_params, 8);
    mm_run(ctx, &j);
}

#define F32 MLXN_DTYPE_F32
#define F16 MLXN_DTYPE_F16
#define BF16 MLXN_DTYPE_BF16
#define Q4_0 MLXN_DTYPE_Q4_0
#define Q8_0 MLXN_DTYPE_Q8_0
#define Q4_K MLXN_DTYPE_Q4_K
#define Q6_K MLXN_DTYPE_Q6_K

MLXN_CPU_KERNEL(matvec_f32) { mm_plain(ctx, args, F32); }
MLXN_CPU_KERNEL(matvec_f16) { mm_plain(ctx, args, F16); }
MLXN_CPU_KERNEL(matvec_bf16) { mm_plain(ctx, args, BF16); }
MLXN_CPU_KERNEL(matvec_q4_0) { mm_plain(ctx, args, Q4_0); }
MLXN_CPU_KERNEL(matvec_q8_0) { mm_plain(ctx, args, Q8_0); }
MLXN_CPU_KERNEL(matvec_q4_k) { mm_plain(ctx, args, Q4_K); }
MLXN_CPU_KERNEL(matvec_q6_k) { mm_plain(ctx, args, Q6_K); }
MLXN_CPU_KERNEL(matvec_mlx4) { mm_plain_mlx(ctx, args); }
MLXN_CPU_KERNEL(matvec_mlx8) { mm_plain_mlx(ctx, args); }
MLXN_CPU_KERNEL(matvec_mlx) { mm_plain_mlx(ctx, args); }

MLXN_CPU_KERNEL(matvec_swiglu_f32) { mm_swiglu(ctx, args, F32); }
MLXN_CPU_KERNEL(matvec_swiglu_f16) { mm_swiglu(ctx, args, F16); }
MLXN_CPU_KERNEL(matvec_swiglu_bf16) { mm_swiglu(ctx, args, BF16); }
/* The dense _tma kernels copy W into shared memory on CUDA; on the CPU
 * they are the kernels above. */
MLXN_CPU_KERNEL(matvec_tma_f16) { mm_plain(ctx, args, F16); }
MLXN_CPU_KERNEL(matvec_tma_bf16) { mm_plain(ctx, args, BF16); }
MLXN_CPU_KERNEL(matvec_swiglu_tma_f16) { mm_swiglu(ctx, args, F16); }
MLXN_CPU_KERNEL(matvec_swiglu_tma_bf16) { mm_swiglu(ctx, args, BF16); }
MLXN_CPU_KERNEL(matvec_swiglu_q4_0) { mm_swiglu(ctx, args, Q4_0); }
MLXN_CPU_KERNEL(matvec_swiglu_q8_0) { mm_swiglu(ctx, args, Q8_0); }
MLXN_CPU_KERNEL(matvec_swiglu_q4_k) { mm_swiglu(ctx, args, Q4_K); }
MLXN_CPU_KERNEL(matvec_swiglu_q6_k) { mm_swiglu(ctx, args, Q6_K); }
MLXN_CPU_KERNEL(matvec_swiglu_mlx4) { mm_swiglu_mlx(ctx, args); }
MLXN_CPU_KERNEL(matvec_swiglu_mlx8) { mm_swiglu_mlx(ctx, args); }
MLXN_CPU_KERNEL(matvec_swiglu_mlx) { mm_swiglu_mlx(ctx, args); }

MLXN_CPU_KERNEL(matmul_f32) { mm_plain(ctx, args, F32); }
MLXN_CPU_KERNEL(matmul_f16) { mm_plain(ctx, args, F16); }
MLXN_CPU_KERNEL(matmul_bf16) { mm_plain(ctx, args, BF16); }
MLXN_CPU_KERNEL(matmul_q4_0) { mm_plain(ctx, args, Q4_0); }
MLXN_CPU_KERNEL(matmul_q8_0) { mm_plain(ctx, args, Q8_0); }
MLXN_CPU_KERNEL(matmul_q4_k) { mm_plain(ctx, args, Q4_K); }
MLXN_CPU_KERNEL(matmul_q6_k) { mm_plain(ctx, args, Q6_K); }
MLXN_CPU_KERNEL(matmul_mlx4) { mm_plain_mlx(ctx, args); }
MLXN_CPU_KERNEL(matmul_mlx8) { mm_plain_mlx(ctx, args); }
MLXN_CPU_KERNEL(matmul_mlx) { mm_plain_mlx(ctx, args); }

/* ---- SwiGLU join: out[i][j] = silu(gu[i][j]) * gu[i][n + j] ---------------- */
typedef struct join_job {
    const float *gu; /* (m, 2n) */
    float *out;      /* (m, ldo) */
    mlxn_matmul_params p;
} join_job;

static void join_range(void *arg, int64_t begin, int64_t end)
{
    const join_job *j = arg;
    const int64_t n = j->p.n;
    for (int64_t i = begin; i < end; i++)
        for (int64_t c = 0; c < n; c++)
            j->out[i * j->p.ldo + c] = silu(j->gu[i * 2 * n + c]) * j->gu[i * 2 * n + n + c];
}

/* args: gu, out, params (m, n, ldo) */
MLXN_CPU_KERNEL(swiglu_join_f32)
{
    join_job j = {MLXN_ARG_PTR(const float, 0), MLXN_ARG_PTR(float, 1),
                  MLXN_ARG_VAL(mlxn_matmul_params, 2)};
    mlxn__cpu_parallel_for(ctx, j.p.m, 1 + (1 << 14) / (1 + (int64_t)j.p.n), join_range, &j);
}
