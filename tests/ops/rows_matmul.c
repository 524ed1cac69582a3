/*
 * rows_matmul.c: op-table rows for the matrix products (mlxn_op_matmul,
 * mlxn_op_matmul_swiglu) in every weight format, for mlxn_op_dequantize,
 * and for the quantized embedding kernels embed_<q>.
 *
 * Weights are random values quantized with the reference quantizers; the
 * float64 reference multiplies the reference dequantization of those
 * weights with the f32 x. Tolerances:
 *  - m <= 8 (matrix-vector kernels, f32 arithmetic): |err| <= 3e-7 * k +
 *    1e-5 * |ref| (summation-order differences of f32 sums of k terms of
 *    magnitude <= 1);
 *  - m = 1 with 4-bit affine or Q4_K weights (matvec_x8_*, x rounded to 8
 *    bits per block of 32): the reference uses the same rounded x^
 *    (round_x8), so the f32 bounds above hold;
 *  - m > 8 (prefill): on CUDA a cuBLAS GEMM with tf32 inputs (f32 for f32
 *    weights): |err| <= 5e-3 * sqrt(k) + 1e-2 * |ref|, loose bounds that
 *    also held for bf16 inputs; the CPU backend computes in f32;
 *  - rows run in capture mode use our own f32 tiled kernel: f32 bounds;
 *  - SwiGLU rows: 15x those (silu(g) * u magnifies errors of g and u by up
 *    to |u| and |g|, both around sqrt(k)/3 here).
 */
#include "ops/optest.h"
#include "ops/quant_ref.h"
#include "ops/x8_ref.h"
#include "params/matmul.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* NORM, NORM_SWIGLU: mlxn_op_norm_matmul, mlxn_op_norm_matmul_swiglu;
 * X8_IN: mlxn_op_matmul_x8 with x rounded by mlxn_op_round_x8;
 * NORM_SWIGLU_X8: mlxn_op_norm_matmul_swiglu_x8 (out rounded too) */
enum {
    MODE_PLAIN,
    MODE_ADD,
    MODE_ADD_ALIAS,
    MODE_SWIGLU,
    MODE_NORM,
    MODE_NORM_SWIGLU,
    MODE_X8_IN,
    MODE_NORM_SWIGLU_X8
};

static int is_swiglu(int mode)
{
    return mode == MODE_SWIGLU || mode == MODE_NORM_SWIGLU || mode == MODE_NORM_SWIGLU_X8;
}
static int is_norm(int mode)
{
    return mode == MODE_NORM || mode == MODE_NORM_SWIGLU || mode == MODE_NORM_SWIGLU_X8;
}

/* Each row of x normalised as rms_norm's CPU kernel computes it (sum of
 * squares in float64, the scale and the product in f32). */
static void norm_rows(const float *x, const float *w, int64_t m, int64_t k, float eps,
                      float *xn)
{
    for (int64_t i = 0; i < m; i++) {
        double ss = 0;
        for (int64_t t = 0; t < k; t++)
            ss += (double)x[i * k + t] * x[i * k + t];
        float inv = (float)(1.0 / sqrt(ss / (double)k + eps));
        for (int64_t t = 0; t < k; t++)
            xn[i * k + t] = x[i * k + t] * inv * w[t];
    }
}

/* A weight format of the table. */
typedef struct fmt_desc {
    const char *name; /* kernel suffix */
    mlxn_dtype dtype; /* U32 for MLX affine */
    int bits, group;  /* MLX affine */
    mlxn_dtype sdt;   /* MLX scale dtype */
    int block;        /* elements per block (k granularity) */
    int sym;          /* symmetric affine (no biases): GGUF Q4_0 repacked */
} fmt_desc;

static const fmt_desc FMTS[] = {
    {"f32", MLXN_DTYPE_F32, 0, 0, 0, 1, 0},
    {"f16", MLXN_DTYPE_F16, 0, 0, 0, 2, 0},
    {"bf16", MLXN_DTYPE_BF16, 0, 0, 0, 2, 0},
    {"q4_0", MLXN_DTYPE_Q4_0, 0, 0, 0, 32, 0},
    {"q8_0", MLXN_DTYPE_Q8_0, 0, 0, 0, 32, 0},
    {"q4_k", MLXN_DTYPE_Q4_K, 0, 0, 0, 256, 0},
    {"q6_k", MLXN_DTYPE_Q6_K, 0, 0, 0, 256, 0},
    {"mlx4", MLXN_DTYPE_U32, 4, 64, MLXN_DTYPE_F16, 64, 0},
    {"mlx4", MLXN_DTYPE_U32, 4, 32, MLXN_DTYPE_BF16, 32, 0},
    {"mlx4", MLXN_DTYPE_U32, 4, 128, MLXN_DTYPE_F16, 128, 0},
    {"mlx8", MLXN_DTYPE_U32, 8, 64, MLXN_DTYPE_BF16, 64, 0},
    {"mlx8", MLXN_DTYPE_U32, 8, 32, MLXN_DTYPE_F16, 32, 0},
    {"mlx", MLXN_DTYPE_U32, 2, 64, MLXN_DTYPE_F16, 64, 0},
    {"mlx", MLXN_DTYPE_U32, 3, 32, MLXN_DTYPE_BF16, 32, 0},
    {"mlx", MLXN_DTYPE_U32, 5, 64, MLXN_DTYPE_F16, 64, 0},
    {"mlx", MLXN_DTYPE_U32, 6, 128, MLXN_DTYPE_BF16, 128, 0},
    {"mlx4", MLXN_DTYPE_U32, 4, 32, MLXN_DTYPE_F16, 32, 1},
};
#define N_FMTS (int)(sizeof FMTS / sizeof FMTS[0])

/* A quantized weight on the host: raw bytes for the device and its
 * reference dequantization. */
typedef struct host_w {
    void *w;
    size_t w_bytes;
    uint16_t *s, *b; /* MLX scales and biases */
    float *deq;      /* (n, k) */
} host_w;

static void make_weight(ot_ctx *c, const fmt_desc *f, int64_t n, int64_t k, host_w *hw)
{
    float *src = ot_rand(c, n * k, -1.0f, 1.0f, MLXN_DTYPE_F32);
    hw->deq = ot_rand(c, n * k, 0.0f, 1.0f, MLXN_DTYPE_F32); /* overwritten below */
    if (!src || !hw->deq)
        return;
    if (f->sym) {
        int64_t q_bytes = mlxn_dtype_bytes(MLXN_DTYPE_Q4_0, k);
        uint8_t *q = (uint8_t *)ot_doubles(c, n * q_bytes / 8 + 1);
        hw->w_bytes = (size_t)(n * k / 2);
        hw->w = ot_doubles(c, (int64_t)hw->w_bytes / 8 + 1);
        hw->s = (uint16_t *)ot_doubles(c, n * (k / 32) / 4 + 1);
        for (int64_t r = 0; q && hw->w && hw->s && r < n; r++)
            if (mlxn_quantize_row(MLXN_DTYPE_Q4_0, src + r * k, k, q + r * q_bytes) != MLXN_OK ||
                mlxn_dequantize_row(MLXN_DTYPE_Q4_0, q + r * q_bytes, k, hw->deq + r * k) !=
                    MLXN_OK)
                ot_fail(c, "quantizing a q4_0 row: %s", mlxn_last_error(NULL));
        if (q && hw->w && hw->s)
            mlxn__q4_0_to_affine(q, n, k, (uint32_t *)hw->w, hw->s);
        return;
    }
    if (f->dtype == MLXN_DTYPE_U32) {
        mlxn_affine_format af = {f->bits, f->group, f->sdt};
        int64_t row_words = k * f->bits / 32, groups = k / f->group;
        hw->w_bytes = (size_t)(n * row_words * 4);
        hw->w = ot_doubles(c, (int64_t)hw->w_bytes / 8 + 1);
        hw->s = (uint16_t *)ot_doubles(c, n * groups / 4 + 1);
        hw->b = (uint16_t *)ot_doubles(c, n * groups / 4 + 1);
        for (int64_t r = 0; hw->w && hw->s && hw->b && r < n; r++) {
            mlxn_affine_row row = {(uint32_t *)hw->w + r * row_words, hw->s + r * groups,
                                   hw->b + r * groups};
            if (mlxn_quantize_row_affine(&af, src + r * k, k, &row) != MLXN_OK ||
                mlxn_dequantize_row_affine(&af, &row, k, hw->deq + r * k) != MLXN_OK)
                ot_fail(c, "quantizing a %s row: %s", f->name, mlxn_last_error(NULL));
        }
        return;
    }
    int64_t row_bytes = mlxn_dtype_bytes(f->dtype, k);
    hw->w_bytes = (size_t)(n * row_bytes);
    hw->w = ot_doubles(c, (int64_t)hw->w_bytes / 8 + 1);
    for (int64_t r = 0; hw->w && r < n; r++) {
        uint8_t *row = (uint8_t *)hw->w + r * row_bytes;
        if (mlxn_quantize_row(f->dtype, src + r * k, k, row) != MLXN_OK ||
            mlxn_dequantize_row(f->dtype, row, k, hw->deq + r * k) != MLXN_OK)
            ot_fail(c, "quantizing a %s row: %s", f->name, mlxn_last_error(NULL));
    }
}

/* Device copies of a host weight; `off` extra bytes in front of each
 * buffer (views with offsets). Views made here go into views[] for the
 * caller to destroy. */
static void upload_weight(ot_ctx *c, const fmt_desc *f, int64_t n, int64_t k,
                          const host_w *hw, size_t off, mlxn_buffer **views, int *n_views,
                          mlxn_weight *out)
{
    memset(out, 0, sizeof *out);
    int64_t shape[2] = {n, f->dtype == MLXN_DTYPE_U32 ? k * f->bits / 32 : k};
    int64_t sshape[2] = {n, f->group ? k / f->group : 0};
    if (!off) {
        out->w = ot_in_raw(c, f->dtype, 2, shape, hw->w, hw->w_bytes);
    } else {
        uint8_t *pad = (uint8_t *)ot_doubles(c, (int64_t)(hw->w_bytes + off) / 8 + 1);
        if (!pad)
            return;
        memset(pad, 0x5a, off);
        memcpy(pad + off, hw->w, hw->w_bytes);
        int64_t s1[1] = {(int64_t)(hw->w_bytes + off)};
        mlxn_buffer *root = ot_in_raw(c, MLXN_DTYPE_U8, 1, s1, pad, hw->w_bytes + off);
        if (root)
            OT_OK(c, mlxn_buffer_view(root, off, f->dtype, 2, shape, &views[(*n_views)++]));
        out->w = views[*n_views - 1];
    }
    if (f->dtype == MLXN_DTYPE_U32) {
        size_t sb = (size_t)(n * sshape[1] * 2);
        out->scales = ot_in_raw(c, f->sdt, 2, sshape, hw->s, sb);
        out->biases = hw->b ? ot_in_raw(c, f->sdt, 2, sshape, hw->b, sb) : NULL;
        out->bits = f->bits;
        out->group_size = f->group;
    }
}

/* xr[0..k) = x^ = d * q (exact in float64), the 8-bit rounding of one row
 * of x in matvec_x8_* (kernels/params/matmul.h); k a multiple of 32. */
static void round_x8(const float *x, int64_t k, double *xr)
{
    for (int64_t b = 0; b < k / 32; b++) {
        int8_t q[32];
        int32_t isum;
        const float d = x8_ref_block(x + b * 32, q, &isum);
        for (int i = 0; i < 32; i++)
            xr[b * 32 + i] = (double)d * q[i];
    }
}

static double silu(double g) { return g / (1.0 + exp(-g)); }

/* Device mode: whether the first `bytes` bytes of a and b are equal (the
 * row fails with `what` when not). */
static int same_bytes(ot_ctx *c, mlxn_buffer *a, mlxn_buffer *b, size_t bytes, const char *what)
{
    if (mlxn_encoder_commit_and_wait(ot_enc(c)) != MLXN_OK) {
        ot_fail(c, "%s: commit_and_wait: %s", what, mlxn_last_error(NULL));
        return 0;
    }
    uint8_t *ha = malloc(bytes + 1), *hb = malloc(bytes + 1);
    int same = ha && hb && mlxn_buffer_read(a, 0, ha, bytes) == MLXN_OK &&
               mlxn_buffer_read(b, 0, hb, bytes) == MLXN_OK && !memcmp(ha, hb, bytes);
    size_t i = 0;
    while (!same && ha && hb && i < bytes && ha[i] == hb[i])
        i++;
    if (!same)
        ot_fail(c, "%s (first difference at byte %zu)", what, i);
    free(ha);
    free(hb);
    return same;
}

/* Device mode, X8_IN: out = x8 product, checked equal bit for bit to the
 * plain product of the f32 row. NORM_SWIGLU_X8: the product run three
 * times (x, another x, x) into a zeroed x8 row, which must then hold out
 * rounded as mlxn_op_round_x8 rounds it (each run's blocks rounded anew:
 * slots' tags work across dispatches). */
static void run_x8_modes(ot_ctx *c, int mode, mlxn_buffer *bx, mlxn_buffer *bnw, float eps,
                         mlxn_buffer *bnorm, const mlxn_weight *wt, mlxn_buffer *out,
                         int64_t m, int64_t n, int64_t k)
{
    mlxn_encoder *enc = ot_enc(c);
    const int64_t vals = mode == MODE_X8_IN ? k : n;
    int64_t sb[1] = {m * (int64_t)MLXN_X8_ROW_BYTES((uint64_t)vals)}, so[2] = {m, n};
    mlxn_buffer *x8 = ot_out(c, MLXN_DTYPE_U8, 1, sb);
    mlxn_buffer *chk = mode == MODE_X8_IN ? ot_out(c, MLXN_DTYPE_F32, 2, so)
                                          : ot_out(c, MLXN_DTYPE_U8, 1, sb);
    if (!x8 || !chk)
        return;
    if (mode == MODE_X8_IN) {
        OT_OK(c, mlxn_op_round_x8(enc, bx, x8));
        OT_OK(c, mlxn_op_matmul_x8(enc, bx, x8, &wt[0], NULL, out));
        OT_OK(c, mlxn_op_matmul(enc, bx, &wt[0], NULL, chk));
        same_bytes(c, out, chk, (size_t)(m * n) * 4, "matmul_x8 differs from matmul");
        return;
    }
    int64_t sx[2] = {m, k};
    float *xa = ot_rand(c, m * k, -2.0f, 2.0f, MLXN_DTYPE_F32);
    uint8_t *zero = calloc((size_t)sb[0], 1);
    mlxn_buffer *bxa = ot_in(c, MLXN_DTYPE_F32, 2, sx, xa);
    if (!xa || !zero || !bxa) {
        free(zero);
        return;
    }
    OT_OK(c, mlxn_buffer_write(x8, 0, zero, (size_t)sb[0]));
    free(zero);
    mlxn_buffer *xs[3] = {bx, bxa, bx};
    for (int i = 0; i < 3; i++)
        OT_OK(c, mlxn_op_norm_matmul_swiglu_x8(enc, xs[i], bnw, eps, bnorm, &wt[0], &wt[1], out,
                                               x8));
    OT_OK(c, mlxn_op_round_x8(enc, out, chk));
    /* (rows use m = 1: the codes, scales and sums before the slots) */
    same_bytes(c, x8, chk, (size_t)MLXN_X8_SLOT_OFF((uint64_t)n),
               "out_x8 differs from round_x8(out)");
}

/* i[0] format index, i[1] m, i[2] n, i[3] k, i[4] mode, i[5] capture,
 * i[7] extra byte offset of x, W and out inside larger buffers. */
static void run_mm(ot_ctx *c, const optest_row *r)
{
    const fmt_desc *f = &FMTS[r->i[0]];
    const int64_t m = r->i[1], n = r->i[2], k = r->i[3];
    const int mode = (int)r->i[4], n_w = is_swiglu(mode) ? 2 : 1;
    const size_t off = (size_t)r->i[7];
    const float eps = 1e-5f;
    float *x = ot_rand(c, m * k, -1.0f, 1.0f, MLXN_DTYPE_F32);
    float *nw = is_norm(mode) ? ot_rand(c, k, 0.5f, 1.5f, MLXN_DTYPE_F32) : NULL;
    host_w hw[2];
    memset(hw, 0, sizeof hw);
    for (int w = 0; w < n_w; w++)
        make_weight(c, f, n, k, &hw[w]);
    float *add = mode == MODE_ADD || mode == MODE_ADD_ALIAS
                     ? ot_rand(c, m * n, -1.0f, 1.0f, MLXN_DTYPE_F32)
                     : NULL;
    if (!x || !hw[0].deq || !hw[n_w - 1].deq || (is_norm(mode) && !nw))
        return;
    if (ot_dev(c)) {
        mlxn_buffer *views[8] = {0};
        int n_views = 0;
        mlxn_weight wt[2];
        for (int w = 0; w < n_w; w++) {
            upload_weight(c, f, n, k, &hw[w], off, views, &n_views, &wt[w]);
            wt[w].immutable = r->f[0] != 0.0;
        }
        int64_t sx[2] = {m, k}, so[2] = {m, n};
        mlxn_buffer *bx, *out, *badd = NULL;
        if (!off) {
            bx = ot_in(c, MLXN_DTYPE_F32, 2, sx, x);
            out = ot_out(c, MLXN_DTYPE_F32, 2, so);
        } else {
            int64_t px[1] = {m * k + (int64_t)off / 4}, po[1] = {m * n + (int64_t)off / 4};
            float *xp = ot_rand(c, px[0], -1.0f, 1.0f, MLXN_DTYPE_F32);
            if (xp)
                memcpy(xp + off / 4, x, (size_t)(m * k) * sizeof *x);
            mlxn_buffer *rx = ot_in(c, MLXN_DTYPE_F32, 1, px, xp);
            mlxn_buffer *ro = ot_out(c, MLXN_DTYPE_F32, 1, po);
            if (!rx || !ro)
                return;
            OT_OK(c, mlxn_buffer_view(rx, off, MLXN_DTYPE_F32, 2, sx, &views[n_views++]));
            bx = views[n_views - 1];
            OT_OK(c, mlxn_buffer_view(ro, off, MLXN_DTYPE_F32, 2, so, &views[n_views++]));
            out = views[n_views - 1];
        }
        if (mode == MODE_ADD)
            badd = ot_in(c, MLXN_DTYPE_F32, 2, so, add);
        if (mode == MODE_ADD_ALIAS && out)
            OT_OK(c, mlxn_buffer_write(out, 0, add, (size_t)(m * n) * sizeof *add));
        mlxn_buffer *bnw = NULL, *bnorm = NULL;
        if (is_norm(mode)) {
            int64_t sk[1] = {k};
            bnw = ot_in(c, MLXN_DTYPE_F32, 1, sk, nw);
            bnorm = ot_out(c, MLXN_DTYPE_F32, 2, sx);
        }
        if (out && bx && wt[0].w && wt[n_w - 1].w && (!is_norm(mode) || (bnw && bnorm))) {
            mlxn_encoder *enc = ot_enc(c);
            if (r->i[5])
                OT_OK(c, mlxn_encoder_start_capture(enc));
            if (mode == MODE_X8_IN || mode == MODE_NORM_SWIGLU_X8)
                run_x8_modes(c, mode, bx, bnw, eps, bnorm, wt, out, m, n, k);
            else if (mode == MODE_NORM)
                OT_OK(c, mlxn_op_norm_matmul(enc, bx, bnw, eps, bnorm, &wt[0], out));
            else if (mode == MODE_NORM_SWIGLU)
                OT_OK(c, mlxn_op_norm_matmul_swiglu(enc, bx, bnw, eps, bnorm, &wt[0], &wt[1],
                                                    out));
            else if (mode == MODE_SWIGLU)
                OT_OK(c, mlxn_op_matmul_swiglu(enc, bx, &wt[0], &wt[1], out));
            else
                OT_OK(c, mlxn_op_matmul(enc, bx, &wt[0],
                                        mode == MODE_ADD_ALIAS ? out : badd, out));
            if (r->i[5]) {
                mlxn_graph *g = NULL;
                OT_OK(c, mlxn_encoder_take_capture(enc, &g));
                for (size_t i = 0; g && i < mlxn_graph_node_count(g); i++)
                    OT_OK(c, mlxn_encoder_replay_node(enc, g, i));
                mlxn_graph_destroy(g);
            }
            ot_result(c, out, NULL, m * n);
        }
        for (int i = 0; i < n_views; i++)
            mlxn_buffer_destroy(views[i]);
        return;
    }
    double *ref = ot_doubles(c, m * n), *xr = ot_doubles(c, m * k);
    if (!ref || !xr)
        return;
    if (is_norm(mode))
        norm_rows(x, nw, m, k, eps, x); /* x is this row's own copy */
    for (int64_t i = 0; i < m * k; i++)
        xr[i] = x[i];
    if (r->i[6])
        round_x8(x, k, xr);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double d[2] = {0, 0};
            for (int w = 0; w < n_w; w++)
                for (int64_t t = 0; t < k; t++)
                    d[w] += (double)hw[w].deq[j * k + t] * xr[i * k + t];
            ref[i * n + j] = is_swiglu(mode) ? silu(d[0]) * d[1]
                             : add               ? d[0] + add[i * n + j]
                                                 : d[0];
        }
    ot_result(c, NULL, ref, m * n);
}

/* A kernel name that outlives the call (rows keep pointers); a full table
 * yields a name no kernel has, so op_table_rows_name_real_kernels fails. */
static char *kernel_name(const char *fmt)
{
    static char names[128][40];
    static char full[] = "(rows_matmul.c: kernel_name table full)";
    static int used;
    for (int i = 0; i < used; i++)
        if (!strcmp(names[i], fmt))
            return names[i];
    if (used == (int)(sizeof names / sizeof names[0]))
        return full;
    snprintf(names[used], sizeof names[used], "%s", fmt);
    return names[used++];
}

static void add_mm_row_w(int fi, int64_t m, int64_t n, int64_t k, int mode, int capture,
                         int64_t off, int immutable)
{
    const fmt_desc *f = &FMTS[fi];
    optest_row r;
    memset(&r, 0, sizeof r);
    char kn[48];
    const char *kind = m <= 8 ? "matvec" : (capture ? "matmul" : "matmul");
    /* one row of x with 4-bit affine or Q4_K weights on a 16-byte aligned
     * W: the int8-activation kernels (src/ops/matmul.c use_x8); Q6_K,
     * Q8_0 and MLX 8-bit (any k) only in the copy-engine form: W
     * immutable, the slots in shared memory (Q6_K SwiGLU: k up to 11520) */
    const int q4k = f->dtype == MLXN_DTYPE_Q4_K;
    const int q6k = f->dtype == MLXN_DTYPE_Q6_K && immutable && (!is_swiglu(mode) || k <= 11520);
    const int q80 = f->dtype == MLXN_DTYPE_Q8_0 && immutable;
    const int mlx8 = f->dtype == MLXN_DTYPE_U32 && f->bits == 8 && immutable;
    const int x8 = m == 1 &&
                   ((f->dtype == MLXN_DTYPE_U32 && f->bits == 4) || q4k || q6k || q80 || mlx8) &&
                   off % 16 == 0;
    /* immutable W: the copy-engine kernels (the scales here are whole
     * buffers, so aligned), except MLX 4-bit with k not a multiple of 8
     * groups (the _early register kernels); rows off 16-byte boundaries
     * (Q6_K: k not a multiple of 2048, Q8_0: of 256; MLX 8-bit scales: of
     * 8 groups): the _tma_odd kernels */
    const int odd = (q6k && k % 2048) || (q80 && k % 256) || (mlx8 && k % (8 * f->group));
    const char *var = !x8                                          ? ""
                      : !immutable                                 ? "_x8"
                      : f->dtype == MLXN_DTYPE_U32 && f->bits == 4 && k % (8 * f->group)
                          ? "_x8_early"
                      : odd                                        ? "_x8_tma_odd"
                                                                   : "_x8_tma";
    /* dense 16-bit weights, W immutable, one row of x, k a multiple of 32
     * whose slots and f32 x fit shared memory: the _tma kernels */
    const int dense =
        m == 1 && immutable && (f->dtype == MLXN_DTYPE_BF16 || f->dtype == MLXN_DTYPE_F16) &&
        off % 16 == 0 && k % 32 == 0 &&
        (is_swiglu(mode)
             ? MLXN_X8T_DENSE_SHARED(2u, MLXN_X8T_S_SWIGLU, (uint32_t)k, MLXN_X8T_WARPS_SWIGLU)
             : MLXN_X8T_DENSE_SHARED(1u, MLXN_X8T_S, (uint32_t)k, MLXN_X8T_WARPS)) <=
            MLXN_X8T_MAX_SHARED;
    snprintf(kn, sizeof kn, "%s%s%s_%s", kind, is_swiglu(mode) && m <= 8 ? "_swiglu" : "",
             dense ? "_tma" : var, f->name);
    r.kernel = kernel_name(kn);
    static const char *modes[8] = {"", " +add", " +add(out)", " swiglu", " norm",
                                   " norm+swiglu", " x8 in", " norm+swiglu x8 out"};
    char fname[32];
    if (f->sym)
        snprintf(fname, sizeof fname, "q4_0 as symmetric affine");
    else if (f->dtype == MLXN_DTYPE_U32)
        snprintf(fname, sizeof fname, "mlx%d g%d %s", f->bits, f->group,
                 mlxn_dtype_name(f->sdt));
    else
        snprintf(fname, sizeof fname, "%s", f->name);
    snprintf(r.label, sizeof r.label, "matmul %s m=%lld n=%lld k=%lld%s%s%s%s", fname,
             (long long)m, (long long)n, (long long)k, modes[mode],
             capture ? " captured" : "", off ? " views+offset" : "",
             immutable ? " W immutable" : "");
    r.f[0] = immutable;
    r.i[0] = fi;
    r.i[1] = m;
    r.i[2] = n;
    r.i[3] = k;
    r.i[4] = mode;
    r.i[5] = capture;
    r.i[6] = x8;
    r.i[7] = off;
    int f32_math = m <= 8 || capture;
    double scale = (is_swiglu(mode) ? 15.0 : 1.0) * (is_norm(mode) ? 3.0 : 1.0);
    r.atol = scale * (f32_math ? 3e-7 * (double)k : 5e-3 * sqrt((double)k));
    r.rtol = scale * (f32_math ? 1e-5 : 1e-2);
    r.nmse = f32_math ? 1e-8 : 1e-4 * scale;
    r.run = run_mm;
    optest_add(&r);
}

static void add_mm_row(int fi, int64_t m, int64_t n, int64_t k, int mode, int capture,
                       int64_t off)
{
    add_mm_row_w(fi, m, n, k, mode, capture, off, 0);
}

/* ---- dequantize and embed ------------------------------------------------------- */
/* i[0] format index, i[1] n, i[2] k; t[0] out dtype. */
static void run_dequant(ot_ctx *c, const optest_row *r)
{
    const fmt_desc *f = &FMTS[r->i[0]];
    const int64_t n = r->i[1], k = r->i[2];
    host_w hw;
    memset(&hw, 0, sizeof hw);
    make_weight(c, f, n, k, &hw);
    if (!hw.deq)
        return;
    int64_t so[2] = {n, k};
    if (ot_dev(c)) {
        mlxn_weight wt;
        upload_weight(c, f, n, k, &hw, 0, NULL, NULL, &wt);
        mlxn_buffer *out = ot_out(c, r->t[0], 2, so);
        if (!out || !wt.w)
            return;
        OT_OK(c, mlxn_op_dequantize(ot_enc(c), &wt, out));
        ot_result(c, out, NULL, n * k);
        return;
    }
    double *ref = ot_doubles(c, n * k);
    for (int64_t i = 0; ref && i < n * k; i++)
        ref[i] = ot_round(hw.deq[i], r->t[0]);
    ot_result(c, NULL, ref, n * k);
}

/* i[0] format index (GGUF), i[1] table rows, i[2] n_embd, i[3] ids. */
static void run_embed(ot_ctx *c, const optest_row *r)
{
    const fmt_desc *f = &FMTS[r->i[0]];
    const int64_t rows = r->i[1], n_embd = r->i[2], n_ids = r->i[3];
    host_w hw;
    memset(&hw, 0, sizeof hw);
    make_weight(c, f, rows, n_embd, &hw);
    int32_t *ids = ot_rand_int(c, n_ids, (int32_t)rows);
    if (!hw.deq || !ids)
        return;
    ids[0] = -1; /* out of range: zeros */
    if (n_ids > 2)
        ids[n_ids - 1] = (int32_t)rows;
    if (ot_dev(c)) {
        int64_t st[2] = {rows, n_embd}, si[1] = {n_ids}, so[2] = {n_ids, n_embd};
        mlxn_buffer *table = ot_in_raw(c, f->dtype, 2, st, hw.w, hw.w_bytes);
        mlxn_buffer *bids = ot_in_raw(c, MLXN_DTYPE_I32, 1, si, ids, (size_t)n_ids * 4);
        mlxn_buffer *out = ot_out(c, MLXN_DTYPE_F32, 2, so);
        if (!table || !bids || !out)
            return;
        char name[32];
        snprintf(name, sizeof name, "embed_%s", f->name);
        mlxn_kernel *k = NULL;
        OT_OK(c, mlxn_kernel_get(ot_dev(c), name, &k));
        uint32_t p[4] = {(uint32_t)n_ids, (uint32_t)rows, (uint32_t)n_embd, 0};
        mlxn_arg args[4] = {mlxn_arg_buffer(table), mlxn_arg_buffer(bids),
                            mlxn_arg_buffer(out), mlxn_arg_bytes(p, sizeof p)};
        mlxn_range rd[2] = {mlxn_range_of(table), mlxn_range_of(bids)};
        mlxn_range wr[1] = {mlxn_range_of(out)};
        mlxn_dispatch d;
        memset(&d, 0, sizeof d);
        d.kernel = k;
        d.args = args;
        d.n_args = 4;
        d.grid = (mlxn_dim3){(uint32_t)(r->i[4] ? 3 : (n_ids * n_embd / 32 + 127) / 128), 1, 1};
        d.block = (mlxn_dim3){r->i[4] ? 96u : 128u, 1, 1};
        d.kind = MLXN_OP_EMBED;
        d.reads = rd;
        d.n_reads = 2;
        d.writes = wr;
        d.n_writes = 1;
        if (k)
            OT_OK(c, mlxn_encoder_dispatch(ot_enc(c), &d));
        ot_result(c, out, NULL, n_ids * n_embd);
        return;
    }
    double *ref = ot_doubles(c, n_ids * n_embd);
    for (int64_t i = 0; ref && i < n_ids; i++)
        for (int64_t j = 0; j < n_embd; j++)
            ref[i * n_embd + j] = ids[i] < 0 || ids[i] >= rows ? 0.0
                                                               : hw.deq[ids[i] * n_embd + j];
    ot_result(c, NULL, ref, n_ids * n_embd);
}

OPTEST_ROWS(matmul)
{
    static const int64_t ms[6] = {1, 2, 3, 8, 33, 100};
    static const int64_t ns[4] = {1, 7, 33, 255};
    for (int fi = 0; fi < N_FMTS; fi++) {
        const fmt_desc *f = &FMTS[fi];
        /* k: one block, and a larger size that is not a multiple of the
         * 256-element chunks of the CUDA kernels where the format allows. */
        int64_t k_one = f->block, k_big = f->block >= 256 ? 512 : f->block >= 64 ? 384 : 320;
        if (f->dtype == MLXN_DTYPE_F32)
            k_one = 37, k_big = 520;
        else if (f->block == 2)
            k_one = 38, k_big = 172;
        for (int mi = 0; mi < 6; mi++)
            for (int ni = 0; ni < 4; ni++)
                add_mm_row(fi, ms[mi], ns[ni], (mi + ni) % 2 ? k_one : k_big, MODE_PLAIN, 0,
                           0);
        for (int mode = MODE_ADD; mode <= MODE_ADD_ALIAS; mode++) {
            add_mm_row(fi, 1, 33, k_big, mode, 0, 0);
            add_mm_row(fi, 33, 33, k_big, mode, 0, 0);
        }
        add_mm_row(fi, 1, 7, k_big, MODE_SWIGLU, 0, 0);
        add_mm_row(fi, 3, 255, k_big, MODE_SWIGLU, 0, 0);
        add_mm_row(fi, 8, 33, k_one, MODE_SWIGLU, 0, 0);
        add_mm_row(fi, 100, 255, k_big, MODE_SWIGLU, 0, 0);
        add_mm_row(fi, 33, 7, k_one, MODE_SWIGLU, 0, 0);
        add_mm_row(fi, 2, 33, k_big, MODE_ADD, 0, 36);
        add_mm_row(fi, 33, 7, k_big, MODE_PLAIN, 0, 36);
        add_mm_row(fi, 33, 33, k_big, MODE_ADD, 1, 0);
        add_mm_row(fi, 100, 7, k_one, MODE_PLAIN, 1, 0);
        add_mm_row(fi, 33, 255, k_big, MODE_SWIGLU, 1, 0);
        /* n large enough for 2 and 4 rows per warp in the CUDA matvec
         * (a partial last group of rows). */
        add_mm_row(fi, 1, 1031, k_big, MODE_PLAIN, 0, 0);
        add_mm_row(fi, 2, 2081, k_one, MODE_ADD, 0, 0);
        add_mm_row(fi, 1, 2085, k_big, MODE_PLAIN, 0, 36);
        /* the norm folded into the product (int8-activation kernels for
         * 4-bit weights at m = 1, else the norm op and the product) */
        add_mm_row(fi, 1, 33, k_big, MODE_NORM, 0, 0);
        add_mm_row(fi, 3, 33, k_big, MODE_NORM, 0, 0);
        add_mm_row(fi, 1, 7, k_big, MODE_NORM_SWIGLU, 0, 0);
        add_mm_row(fi, 33, 7, k_one, MODE_NORM_SWIGLU, 0, 0);
        add_mm_row(fi, 1, 33, k_big, MODE_NORM, 1, 0);
        add_mm_row(fi, 1, 33, k_big, MODE_NORM, 0, 36);
        if (f->dtype == MLXN_DTYPE_U32 && f->bits == 4) {
            add_mm_row(fi, 1, 1031, 4224, MODE_NORM, 0, 0);
            add_mm_row(fi, 1, 263, 4224, MODE_NORM_SWIGLU, 0, 0);
            add_mm_row(fi, 1, 4100, 4096, MODE_NORM, 0, 0);
            /* int8-activation kernels: several steps of 128 blocks of 32
             * with a partial last step; two rows per warp at n >= 8192. */
            add_mm_row(fi, 1, 1031, 4224, MODE_PLAIN, 0, 0);
            add_mm_row(fi, 1, 97, 4224, MODE_ADD, 0, 0);
            add_mm_row(fi, 1, 33, 4224, MODE_ADD_ALIAS, 0, 0);
            add_mm_row(fi, 1, 263, 4224, MODE_SWIGLU, 0, 0);
            add_mm_row(fi, 1, 8200, 256, MODE_PLAIN, 0, 0);
            add_mm_row(fi, 1, 9, 128, MODE_PLAIN, 1, 0);
            /* W immutable: the first stages load before the wait */
            add_mm_row_w(fi, 1, 1031, 4224, MODE_PLAIN, 0, 0, 1);
            add_mm_row_w(fi, 1, 97, 4224, MODE_ADD_ALIAS, 0, 0, 1);
            add_mm_row_w(fi, 1, 263, 4224, MODE_NORM_SWIGLU, 0, 0, 1);
            add_mm_row_w(fi, 1, 4100, 4096, MODE_NORM, 1, 0, 1);
            add_mm_row_w(fi, 1, 9, 128, MODE_SWIGLU, 0, 0, 1);
            add_mm_row_w(fi, 3, 33, 256, MODE_PLAIN, 0, 0, 1);
            /* ... streamed by the copy engine (k a multiple of 8 groups):
             * a partial last chunk (k = 5120), more chunks per warp than
             * slots (n above the grid's warps on an H200, k = 14336) */
            add_mm_row_w(fi, 1, 97, 4096, MODE_ADD_ALIAS, 0, 0, 1);
            add_mm_row_w(fi, 1, 263, 4096, MODE_SWIGLU, 0, 0, 1);
            add_mm_row_w(fi, 1, 1031, 5120, MODE_PLAIN, 0, 0, 1);
            add_mm_row_w(fi, 1, 2300, 5120, MODE_NORM_SWIGLU, 0, 0, 1);
            add_mm_row_w(fi, 1, 2500, 14336, MODE_ADD, 0, 0, 1);
        }
        /* x rounded by its producer (m = 1): the product reading an x8
         * row (copy-engine kernels at k = 4096 and 14336, the register
         * kernel with W not immutable, _early for MLX 4-bit with k not a
         * multiple of 8 groups) and the SwiGLU product writing one (n a
         * multiple of 32: the copy-engine kernels round their own output,
         * n = 14336 more rows than the grid's warps; the register kernels
         * and _early leave it to round_x8) */
        if (f->dtype == MLXN_DTYPE_U32 && f->bits == 4 && (f->sym || f->group != 128)) {
            add_mm_row_w(fi, 1, 1031, 4096, MODE_X8_IN, 0, 0, 1);
            add_mm_row_w(fi, 1, 97, 14336, MODE_X8_IN, 0, 0, 1);
            add_mm_row_w(fi, 1, 263, 4096, MODE_X8_IN, 0, 0, 0);
            add_mm_row_w(fi, 1, 2304, 4096, MODE_NORM_SWIGLU_X8, 0, 0, 1);
            add_mm_row_w(fi, 1, 256, 2048, MODE_NORM_SWIGLU_X8, 0, 0, 0);
            if (f->group == 32) {
                add_mm_row_w(fi, 1, 97, 4128, MODE_X8_IN, 0, 0, 1);
                add_mm_row_w(fi, 1, 512, 4128, MODE_NORM_SWIGLU_X8, 0, 0, 1);
            }
            if (f->sym)
                add_mm_row_w(fi, 1, 14336, 4096, MODE_NORM_SWIGLU_X8, 0, 0, 1);
        }
        /* int8-activation kernels on GGUF K blocks (m = 1). Q4_K: several
         * chunks per row with a partial last one (k = 4352: 17 blocks, a
         * chunk holds 16), more rows than the grid's warps, k = 14336; W
         * immutable: the copy-engine kernels. Q6_K (copy engine only): a
         * partial last chunk (k = 6144), k = 14336, a SwiGLU product too
         * large for shared memory (k = 14336; 11776 just over: the f32
         * kernel), W not immutable (the f32 kernel); rows that do not
         * start on a 16-byte boundary (k = 256, 2304: 210 and 1890 bytes,
         * every even offset; 3584 and 11008 with a partial last chunk, the
         * Qwen2.5-7B and Llama-2-7B sizes; SwiGLU at k = 11520, the largest
         * that fits). Q8_0 (copy engine only): a partial last chunk (k =
         * 2304: 72 blocks, a chunk holds 64), k = 14336, W not immutable
         * (the f32 kernel), rows off 16-byte boundaries (k = 96, 288, 2080,
         * 14368: 3, 9, 65, 449 blocks of 34 bytes). {dtype, n, k, mode,
         * capture, immutable} */
        static const int kq_rows[][6] = {
            {MLXN_DTYPE_Q4_K, 1031, 4352, MODE_PLAIN, 0, 0},
            {MLXN_DTYPE_Q4_K, 97, 4352, MODE_ADD, 0, 0},
            {MLXN_DTYPE_Q4_K, 263, 4352, MODE_NORM_SWIGLU, 0, 0},
            {MLXN_DTYPE_Q4_K, 4100, 4096, MODE_NORM, 0, 0},
            {MLXN_DTYPE_Q4_K, 9, 256, MODE_PLAIN, 1, 0},
            {MLXN_DTYPE_Q4_K, 1031, 4352, MODE_PLAIN, 0, 1},
            {MLXN_DTYPE_Q4_K, 97, 4096, MODE_ADD_ALIAS, 0, 1},
            {MLXN_DTYPE_Q4_K, 263, 4352, MODE_NORM_SWIGLU, 0, 1},
            {MLXN_DTYPE_Q4_K, 9, 256, MODE_SWIGLU, 0, 1},
            {MLXN_DTYPE_Q4_K, 2500, 14336, MODE_ADD, 0, 1},
            {MLXN_DTYPE_Q6_K, 1031, 4096, MODE_PLAIN, 0, 1},
            {MLXN_DTYPE_Q6_K, 97, 2048, MODE_ADD_ALIAS, 0, 1},
            {MLXN_DTYPE_Q6_K, 263, 4096, MODE_NORM_SWIGLU, 0, 1},
            {MLXN_DTYPE_Q6_K, 9, 2048, MODE_SWIGLU, 0, 1},
            {MLXN_DTYPE_Q6_K, 33, 6144, MODE_NORM, 1, 1},
            {MLXN_DTYPE_Q6_K, 2500, 14336, MODE_ADD, 0, 1},
            {MLXN_DTYPE_Q6_K, 263, 14336, MODE_SWIGLU, 0, 1},
            {MLXN_DTYPE_Q6_K, 97, 4096, MODE_PLAIN, 0, 0},
            {MLXN_DTYPE_Q6_K, 33, 256, MODE_PLAIN, 1, 1},
            {MLXN_DTYPE_Q6_K, 1031, 2304, MODE_ADD_ALIAS, 0, 1},
            {MLXN_DTYPE_Q6_K, 9, 2304, MODE_SWIGLU, 0, 1},
            {MLXN_DTYPE_Q6_K, 263, 3584, MODE_NORM_SWIGLU, 0, 1},
            {MLXN_DTYPE_Q6_K, 2500, 11008, MODE_ADD, 0, 1},
            {MLXN_DTYPE_Q6_K, 7, 11520, MODE_SWIGLU, 0, 1},
            {MLXN_DTYPE_Q6_K, 7, 11776, MODE_SWIGLU, 0, 1},
            {MLXN_DTYPE_Q8_0, 1031, 4096, MODE_PLAIN, 0, 1},
            {MLXN_DTYPE_Q8_0, 97, 256, MODE_ADD_ALIAS, 0, 1},
            {MLXN_DTYPE_Q8_0, 263, 4096, MODE_NORM_SWIGLU, 0, 1},
            {MLXN_DTYPE_Q8_0, 9, 512, MODE_SWIGLU, 0, 1},
            {MLXN_DTYPE_Q8_0, 33, 2304, MODE_NORM, 1, 1},
            {MLXN_DTYPE_Q8_0, 2500, 14336, MODE_ADD, 0, 1},
            {MLXN_DTYPE_Q8_0, 97, 4096, MODE_PLAIN, 0, 0},
            {MLXN_DTYPE_Q8_0, 33, 288, MODE_PLAIN, 0, 1},
            {MLXN_DTYPE_Q8_0, 9, 96, MODE_SWIGLU, 0, 1},
            {MLXN_DTYPE_Q8_0, 1031, 2080, MODE_NORM, 0, 1},
            {MLXN_DTYPE_Q8_0, 263, 2080, MODE_NORM_SWIGLU, 1, 1},
            {MLXN_DTYPE_Q8_0, 2500, 14368, MODE_ADD_ALIAS, 0, 1},
            /* x8 rows in and out (element-order codes: the K formats) */
            {MLXN_DTYPE_Q4_K, 1031, 4352, MODE_X8_IN, 0, 1},
            {MLXN_DTYPE_Q4_K, 97, 4352, MODE_X8_IN, 0, 0},
            {MLXN_DTYPE_Q4_K, 1024, 4352, MODE_NORM_SWIGLU_X8, 0, 1},
            {MLXN_DTYPE_Q6_K, 97, 11008, MODE_X8_IN, 0, 1},
            {MLXN_DTYPE_Q6_K, 512, 3584, MODE_NORM_SWIGLU_X8, 0, 1},
            {MLXN_DTYPE_Q8_0, 97, 2080, MODE_X8_IN, 0, 1},
            {MLXN_DTYPE_Q8_0, 256, 4096, MODE_NORM_SWIGLU_X8, 0, 1},
        };
        for (unsigned i = 0; i < sizeof kq_rows / sizeof kq_rows[0]; i++) {
            const int *q = kq_rows[i];
            if (q[0] == (int)f->dtype)
                add_mm_row_w(fi, 1, q[1], q[2], q[3], q[4], 0, q[5]);
        }
        /* bf16 / f16 at m = 1 with W immutable (the dense _tma kernels):
         * a partial last chunk (k = 1056, 2080; chunks of 1024), more rows
         * than the grid's warps at k = 14336, k = 96 (one partial chunk);
         * k not a multiple of 32 and a SwiGLU (k = 16384) or a product (k =
         * 28672) too large for shared memory take the f32 kernels. {n, k,
         * mode, capture} */
        static const int dense_rows[][4] = {
            {1031, 4096, MODE_PLAIN, 0},     {97, 4096, MODE_ADD_ALIAS, 0},
            {263, 4096, MODE_SWIGLU, 0},     {9, 1056, MODE_NORM_SWIGLU, 0},
            {33, 2080, MODE_NORM, 1},        {2500, 14336, MODE_ADD, 0},
            {7, 96, MODE_SWIGLU, 0},         {5, 100, MODE_PLAIN, 0},
            {5, 16384, MODE_SWIGLU, 0},      {3, 28672, MODE_PLAIN, 0},
            {97, 4096, MODE_X8_IN, 0},       {256, 1056, MODE_NORM_SWIGLU_X8, 0},
        };
        for (unsigned i = 0; (f->dtype == MLXN_DTYPE_BF16 || f->dtype == MLXN_DTYPE_F16) &&
                             i < sizeof dense_rows / sizeof dense_rows[0];
             i++)
            add_mm_row_w(fi, 1, dense_rows[i][0], dense_rows[i][1], dense_rows[i][2],
                         dense_rows[i][3], 0, 1);
        /* MLX 8-bit at m = 1 (copy engine only): one partial chunk (k =
         * 1024; chunks of 2048), a partial last one (2560), k = 14336;
         * scales off 16-byte boundaries (k not a multiple of 8 groups: 4160,
         * 192, 8896, and 11008 at group size 64, Llama-2's width). {n, k,
         * mode, capture} with W immutable */
        static const int mlx8_rows[][4] = {
            {1031, 4096, MODE_PLAIN, 0}, {97, 4096, MODE_ADD_ALIAS, 0},
            {263, 4096, MODE_NORM_SWIGLU, 0}, {9, 1024, MODE_SWIGLU, 0},
            {33, 2560, MODE_NORM, 1}, {2500, 14336, MODE_ADD, 0}, {97, 4160, MODE_PLAIN, 0},
            {9, 192, MODE_SWIGLU, 0}, {1031, 8896, MODE_NORM, 1},
            {263, 4160, MODE_NORM_SWIGLU, 0}, {2500, 11008, MODE_ADD_ALIAS, 0},
            {97, 4160, MODE_X8_IN, 0}, {512, 4096, MODE_NORM_SWIGLU_X8, 0},
        };
        for (unsigned i = 0; f->dtype == MLXN_DTYPE_U32 && f->bits == 8 &&
                             i < sizeof mlx8_rows / sizeof mlx8_rows[0];
             i++)
            add_mm_row_w(fi, 1, mlx8_rows[i][0], mlx8_rows[i][1], mlx8_rows[i][2],
                         mlx8_rows[i][3], 0, 1);
    }
    static const mlxn_dtype outs[3] = {MLXN_DTYPE_F32, MLXN_DTYPE_F16, MLXN_DTYPE_BF16};
    for (int fi = 0; fi < N_FMTS; fi++)
        for (int o = 0; o < 3; o++) {
            const fmt_desc *f = &FMTS[fi];
            optest_row r;
            memset(&r, 0, sizeof r);
            char kn[32];
            snprintf(kn, sizeof kn, "dequant_%s", f->name);
            r.kernel = kernel_name(kn);
            int64_t k = f->block >= 256 ? 512 : f->block >= 32 ? 4 * f->block : 100;
            snprintf(r.label, sizeof r.label, "dequantize %s bits=%d g=%d n=%d k=%lld -> %s",
                     f->name, f->bits, f->group, 7 + o * 6, (long long)k,
                     mlxn_dtype_name(outs[o]));
            r.i[0] = fi;
            r.i[1] = 7 + o * 6;
            r.i[2] = k;
            r.t[0] = outs[o];
            r.atol = 1e-6;
            r.rtol = outs[o] == MLXN_DTYPE_F32 ? 1e-6 : outs[o] == MLXN_DTYPE_F16 ? 1e-3 : 8e-3;
            r.nmse = 1e-9;
            r.run = run_dequant;
            optest_add(&r);
        }
    for (int fi = 3; fi <= 6; fi++)
        for (int v = 0; v < 2; v++) {
            const fmt_desc *f = &FMTS[fi];
            optest_row r;
            memset(&r, 0, sizeof r);
            char kn[32];
            snprintf(kn, sizeof kn, "embed_%s", f->name);
            r.kernel = kernel_name(kn);
            r.i[0] = fi;
            r.i[1] = v ? 300 : 17;
            r.i[2] = f->block >= 256 ? (v ? 768 : 256) : (v ? 4096 : 32);
            r.i[3] = v ? 9 : 1;
            r.i[4] = v;
            snprintf(r.label, sizeof r.label, "embed %s rows=%lld n_embd=%lld ids=%lld",
                     f->name, (long long)r.i[1], (long long)r.i[2], (long long)r.i[3]);
            r.atol = 0;
            r.rtol = 1e-7;
            r.nmse = 1e-12;
            r.run = run_embed;
            optest_add(&r);
        }
}
