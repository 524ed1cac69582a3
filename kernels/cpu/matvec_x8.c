/*
 * matvec_x8.c: CPU twins of matvec_x8_<f> and matvec_swiglu_x8_<f> for f =
 * mlx4, mlx8, q4_k, q6_k and q8_0 (and of their _early, _tma and _tma_odd
 * forms, which differ only in when and how CUDA loads W): one f32 row x rounded to 8
 * bits per block of 32 values (the rule and helpers of
 * kernels/params/matmul.h, so the codes equal the GPU's; with MLXN_MM_NORM
 * x is RMS-normalised first), exact integer dot products per block with
 * 4- or 8-bit affine (or symmetric) weights or GGUF Q4_K / Q6_K sub-blocks / Q8_0
 * blocks, scaled and summed in f32.
 */
#include "cpu/cpu_kernel.h"
#include "params/elementwise.h"
#include "params/matmul.h"
#include "params/quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct x8_job {
    const float *x;           /* (1, k) */
    const float *nw;          /* (k) norm weight (MLXN_MM_NORM) */
    const uint32_t *w[2];     /* (n, k / 8) */
    const uint16_t *s[2], *b[2];
    const uint8_t *wk[2];     /* GGUF blocks: (n, row_bytes), else NULL */
    int fmt;                  /* of wk: 1 Q4_K, 2 Q6_K, 3 Q8_0 */
    int n_w;
    const float *add;         /* (1, n) or NULL */
    float *out;               /* (1, n) */
    uint8_t *x8o;             /* out as an x8 row (MLXN_MM_X8_OUT), else NULL */
    mlxn_matmul_params p;
    float *xn;                /* (k) x normalised (MLXN_MM_NORM) */
    int8_t *q;                /* x^ codes in element order */
    float *d;                 /* per block */
    int *isum;                /* per block */
} x8_job;

static float sb_f32(uint16_t h, int bf16)
{
    return bf16 ? mlxn__bf16_to_f32(h) : mlxn__f16_to_f32(h);
}

/* x[i] * (1 / sqrt(mean(x^2) + eps)) * nw[i], as rms_norm's CPU kernel
 * (kernels/cpu/elementwise.c) computes it (mlxn__rms_scale). */
static void normalise_x(x8_job *j)
{
    const uint32_t k = j->p.k;
    double ss = 0;
    for (uint32_t i = 0; i < k; i++)
        ss += (double)j->x[i] * j->x[i];
    float inv = mlxn__rms_scale(ss, k, j->p.eps);
    for (uint32_t i = 0; i < k; i++)
        j->xn[i] = j->x[i] * inv * j->nw[i];
}

/* x (k values, k a multiple of 32) rounded by the rule of
 * kernels/params/matmul.h: codes q in element order, d and isum per block
 * (also round_x8_f32's kernel, kernels/cpu/quant.c). */
void mlxn__cpu_round_x8(const float *x, uint32_t k, int8_t *q, float *d, int *isum)
{
    for (uint32_t b = 0; b < k / 32; b++) {
        const float *xb = x + (size_t)b * 32;
        uint32_t amax = 0;
        for (int i = 0; i < 32; i++) {
            uint32_t u;
            memcpy(&u, &xb[i], 4);
            u &= 0x7fffffffu;
            amax = u > amax ? u : amax;
        }
        float inv, db = mlxn_x8_scale(amax, &inv);
        int s = 0;
        for (int i = 0; i < 32; i++) {
            int v = mlxn_x8_round(xb[i] * inv);
            q[b * 32 + i] = (int8_t)v;
            s += v;
        }
        d[b] = db;
        isum[b] = s;
    }
}

/* x^ from x (normalised first with MLXN_MM_NORM), or read from the x8 row
 * x (MLXN_MM_X8_IN). */
static void quantize_x(x8_job *j)
{
    const uint32_t k = j->p.k, nb = k / 32;
    if (j->p.flags & MLXN_MM_X8_IN) {
        const uint8_t *row = (const uint8_t *)j->x;
        memcpy(j->q, row, k);
        memcpy(j->d, row + MLXN_X8_D_OFF(k), sizeof *j->d * nb);
        memcpy(j->isum, row + MLXN_X8_ISUM_OFF(k), sizeof *j->isum * nb);
        return;
    }
    mlxn__cpu_round_x8(j->xn ? j->xn : j->x, k, j->q, j->d, j->isum);
}

/* The weights x block b of a row meets, as integers: w[l] = s[h] c[l] + o
 * with h = l / 16 where `halves` (Q6_K's sub-blocks of 16), else h = 0;
 * o only where has_o. */
typedef struct x8_wblock {
    int c[32];
    float s[2], o;
    int halves, has_o;
} x8_wblock;

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* MLX affine, bits 4 or 8: element e is bits [bits e, bits (e + 1)) of
 * the block's `bits` words; w = s q + b, or s (q - 2^(bits-1)) for
 * symmetric weights. */
static void wblock_mlx(const x8_job *j, int v, int64_t row, uint32_t b, x8_wblock *k)
{
    const mlxn_matmul_params *p = &j->p;
    const uint32_t bits = p->bits, mask = (1u << bits) - 1;
    const int bf16 = (p->flags & MLXN_MM_SCALE_BF16) != 0;
    const int sym = (p->flags & MLXN_MM_SYMMETRIC) != 0;
    const uint32_t *w = j->w[v] + (size_t)row * (p->k / 32 * bits) + b * bits;
    const size_t g = (size_t)row * (p->k / p->group_size) + b / (p->group_size / 32);
    for (uint32_t e = 0; e < 32; e++)
        k->c[e] = (int)((w[e * bits / 32] >> (e * bits % 32)) & mask) - (sym ? 1 << (bits - 1) : 0);
    k->s[0] = sb_f32(j->s[v][g], bf16);
    k->has_o = !sym;
    k->o = sym ? 0.0f : sb_f32(j->b[v][g], bf16);
}

/* Q4_K: sub-block b % 8 of block b / 8, its codes the nibbles at shift 4
 * (j & 1) of qs[32 (j / 2) ..] (params/quant.h); w = (d sc) q - dmin m. */
static void wblock_q4_k(const uint8_t *r, uint32_t b, x8_wblock *k)
{
    const uint8_t *blk = r + (size_t)(b / 8) * sizeof(mlxn_block_q4_k);
    const uint32_t sj = b % 8, head = rd32(blk);
    uint32_t sc, m;
    mlxn_q4_k_sm(sj, rd32(blk + 4), rd32(blk + 8), rd32(blk + 12), &sc, &m);
    const uint8_t *qs = blk + 16 + 32 * (sj / 2);
    for (int e = 0; e < 32; e++)
        k->c[e] = (qs[e] >> (4 * (sj & 1))) & 15;
    k->s[0] = mlxn__f16_to_f32((uint16_t)head) * (float)sc;
    k->has_o = 1;
    k->o = -(mlxn__f16_to_f32((uint16_t)(head >> 16)) * (float)m);
}

/* Q6_K: elements 32 (b % 8) .. + 31 of block b / 8, element 128 h + 32 t
 * + l having its low 4 bits in ql[64 h + l + 32 (t & 1)] at shift 4 (t >>
 * 1), its high 2 bits in qh[32 h + l] at shift 2 t and the scale sc[8 h +
 * 2 t + l / 16] (params/quant.h); w = d sc (q - 32). */
static void wblock_q6_k(const uint8_t *r, uint32_t b, x8_wblock *k)
{
    const uint8_t *blk = r + (size_t)(b / 8) * sizeof(mlxn_block_q6_k);
    const uint32_t h = (b % 8) / 4, t = b % 4;
    const uint8_t *ql = blk + 64 * h + 32 * (t & 1), *qh = blk + 128 + 32 * h;
    const int8_t *sc = (const int8_t *)blk + 192 + 8 * h + 2 * t;
    const float d = mlxn__f16_to_f32((uint16_t)(blk[208] | blk[209] << 8));
    for (int l = 0; l < 32; l++)
        k->c[l] = (((ql[l] >> (4 * (t >> 1))) & 15) | (((qh[l] >> (2 * t)) & 3) << 4)) - 32;
    k->s[0] = d * (float)sc[0];
    k->s[1] = d * (float)sc[1];
    k->halves = 1;
}

/* Q8_0: block b (w = d q, q signed bytes). */
static void wblock_q8_0(const uint8_t *r, uint32_t b, x8_wblock *k)
{
    const uint8_t *blk = r + (size_t)b * sizeof(mlxn_block_q8_0);
    for (int l = 0; l < 32; l++)
        k->c[l] = (int8_t)blk[2 + l];
    k->s[0] = mlxn__f16_to_f32((uint16_t)(blk[0] | blk[1] << 8));
}

/* One row of weight v against x^: per block (s d) dot (per half with
 * two scales) + (o d) isum, summed in f32. */
static float dot_of(const x8_job *j, int v, int64_t row)
{
    const uint8_t *r = j->wk[v] ? j->wk[v] + (size_t)row * j->p.row_bytes : NULL;
    float acc = 0.0f;
    for (uint32_t b = 0; b < j->p.k / 32; b++) {
        x8_wblock k;
        memset(&k, 0, sizeof k);
        switch (r ? j->fmt : 0) {
        case 1:
            wblock_q4_k(r, b, &k);
            break;
        case 2:
            wblock_q6_k(r, b, &k);
            break;
        case 3:
            wblock_q8_0(r, b, &k);
            break;
        default:
            wblock_mlx(j, v, row, b, &k);
        }
        const int8_t *q = j->q + (size_t)b * 32;
        const float d = j->d[b];
        for (int h = 0, n = k.halves ? 16 : 32; h * n < 32; h++) {
            int dot = 0;
            for (int l = h * n; l < h * n + n; l++)
                dot += k.c[l] * q[l];
            acc = fmaf(k.s[h] * d, (float)dot, acc);
        }
        if (k.has_o)
            acc = fmaf(k.o * d, (float)j->isum[b], acc);
    }
    return acc;
}

static void x8_range(void *arg, int64_t begin, int64_t end)
{
    const x8_job *j = arg;
    for (int64_t r = begin; r < end; r++) {
        float v = dot_of(j, 0, r);
        if (j->n_w == 2)
            v = v / (1.0f + expf(-v)) * dot_of(j, 1, r);
        else if (j->p.flags & MLXN_MM_ADD)
            v += j->add[r];
        j->out[r] = v;
    }
}

static void x8_run(mlxn__cpu_ctx *ctx, x8_job *j)
{
    const uint32_t nb = j->p.k / 32;
    j->q = malloc((size_t)j->p.k + 1);
    j->d = malloc(sizeof *j->d * nb + 1);
    j->isum = malloc(sizeof *j->isum * nb + 1);
    const int norm = (j->p.flags & MLXN_MM_NORM) != 0;
    j->xn = norm ? malloc(sizeof *j->xn * j->p.k + 1) : NULL;
    if (j->q && j->d && j->isum && (!norm || j->xn)) {
        if (norm)
            normalise_x(j);
        quantize_x(j);
        mlxn__cpu_parallel_for(ctx, j->p.n, 1 + (1 << 16) / (1 + (int64_t)j->p.k * j->n_w),
                               x8_range, j);
        /* MLXN_MM_X8_OUT: out as an x8 row too (the slots are the CUDA
         * producer's; left as they are) */
        if (j->x8o)
            mlxn__cpu_round_x8(j->out, j->p.n, (int8_t *)j->x8o,
                               (float *)(j->x8o + MLXN_X8_D_OFF(j->p.n)),
                               (int *)(j->x8o + MLXN_X8_ISUM_OFF(j->p.n)));
    } else {
        mlxn__cpu_fail(ctx, "matvec_x8: out of memory for x (k = %u)", j->p.k);
    }
    free(j->xn);
    free(j->q);
    free(j->d);
    free(j->isum);
}

/* The arguments of matvec_x8_<f> (n_w 1: x, W..., add, out, nw, params)
 * and matvec_swiglu_x8_<f> (n_w 2: x, Wg..., Wu..., out, nw, x8o, params),
 * W... being w, scales, biases for MLX 4-bit and the blocks for the GGUF
 * formats (fmt: 0 MLX 4-bit, 1 Q4_K, 2 Q6_K, 3 Q8_0). */
static void run_args(mlxn__cpu_ctx *ctx, void **args, int n_w, int fmt)
{
    x8_job j;
    memset(&j, 0, sizeof j);
    j.n_w = n_w;
    j.fmt = fmt;
    j.x = MLXN_ARG_PTR(const float, 0);
    int a = 1;
    for (int w = 0; w < n_w; w++) {
        if (fmt) {
            j.wk[w] = MLXN_ARG_PTR(const uint8_t, a++);
            continue;
        }
        j.w[w] = MLXN_ARG_PTR(const uint32_t, a);
        j.s[w] = MLXN_ARG_PTR(const uint16_t, a + 1);
        j.b[w] = MLXN_ARG_PTR(const uint16_t, a + 2);
        a += 3;
    }
    const int add = n_w == 1 ? a++ : 0;
    j.out = MLXN_ARG_PTR(float, a);
    j.nw = MLXN_ARG_PTR(const float, a + 1);
    a += n_w == 2 ? 3 : 2;
    j.p = MLXN_ARG_VAL(mlxn_matmul_params, a);
    if (n_w == 2 && (j.p.flags & MLXN_MM_X8_OUT))
        j.x8o = MLXN_ARG_PTR(uint8_t, a - 1);
    j.add = add && (j.p.flags & MLXN_MM_ADD) ? MLXN_ARG_PTR(const float, add) : NULL;
    x8_run(ctx, &j);
}

/* The _early and _tma (_tma_odd) kernels load W before waiting for the
 * previous kernel on CUDA (into registers, or by the copy engine into
 * shared memory); on the CPU they are the same. */
MLXN_CPU_KERNEL(matvec_x8_mlx4) { run_args(ctx, args, 1, 0); }
MLXN_CPU_KERNEL(matvec_x8_early_mlx4) { run_args(ctx, args, 1, 0); }
MLXN_CPU_KERNEL(matvec_x8_tma_mlx4) { run_args(ctx, args, 1, 0); }
MLXN_CPU_KERNEL(matvec_swiglu_x8_mlx4) { run_args(ctx, args, 2, 0); }
MLXN_CPU_KERNEL(matvec_swiglu_x8_early_mlx4) { run_args(ctx, args, 2, 0); }
MLXN_CPU_KERNEL(matvec_swiglu_x8_tma_mlx4) { run_args(ctx, args, 2, 0); }
MLXN_CPU_KERNEL(matvec_x8_tma_mlx8) { run_args(ctx, args, 1, 0); }
MLXN_CPU_KERNEL(matvec_swiglu_x8_tma_mlx8) { run_args(ctx, args, 2, 0); }
MLXN_CPU_KERNEL(matvec_x8_q4_k) { run_args(ctx, args, 1, 1); }
MLXN_CPU_KERNEL(matvec_x8_tma_q4_k) { run_args(ctx, args, 1, 1); }
MLXN_CPU_KERNEL(matvec_swiglu_x8_q4_k) { run_args(ctx, args, 2, 1); }
MLXN_CPU_KERNEL(matvec_swiglu_x8_tma_q4_k) { run_args(ctx, args, 2, 1); }
MLXN_CPU_KERNEL(matvec_x8_tma_q6_k) { run_args(ctx, args, 1, 2); }
MLXN_CPU_KERNEL(matvec_swiglu_x8_tma_q6_k) { run_args(ctx, args, 2, 2); }
MLXN_CPU_KERNEL(matvec_x8_tma_q8_0) { run_args(ctx, args, 1, 3); }
MLXN_CPU_KERNEL(matvec_swiglu_x8_tma_q8_0) { run_args(ctx, args, 2, 3); }
MLXN_CPU_KERNEL(matvec_x8_tma_odd_mlx8) { run_args(ctx, args, 1, 0); }
MLXN_CPU_KERNEL(matvec_swiglu_x8_tma_odd_mlx8) { run_args(ctx, args, 2, 0); }
MLXN_CPU_KERNEL(matvec_x8_tma_odd_q6_k) { run_args(ctx, args, 1, 2); }
MLXN_CPU_KERNEL(matvec_swiglu_x8_tma_odd_q6_k) { run_args(ctx, args, 2, 2); }
MLXN_CPU_KERNEL(matvec_x8_tma_odd_q8_0) { run_args(ctx, args, 1, 3); }
MLXN_CPU_KERNEL(matvec_swiglu_x8_tma_odd_q8_0) { run_args(ctx, args, 2, 3); }

/* args: x, out8, params (m, k): as the CUDA kernel, row by row. */
MLXN_CPU_KERNEL(round_x8_f32)
{
    const float *x = MLXN_ARG_PTR(const float, 0);
    uint8_t *out8 = MLXN_ARG_PTR(uint8_t, 1);
    const mlxn_matmul_params p = MLXN_ARG_VAL(mlxn_matmul_params, 2);
    (void)ctx;
    for (uint32_t r = 0; r < p.m; r++) {
        uint8_t *row = out8 + (uint64_t)r * MLXN_X8_ROW_BYTES(p.k);
        mlxn__cpu_round_x8(x + (uint64_t)r * p.k, p.k, (int8_t *)row,
                           (float *)(row + MLXN_X8_D_OFF(p.k)),
                           (int *)(row + MLXN_X8_ISUM_OFF(p.k)));
    }
}
