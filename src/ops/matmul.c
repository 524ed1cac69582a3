/*
 * matmul.c: the matrix-product ops (mlxn_op_matmul, mlxn_op_matmul_swiglu,
 * their RMS-norm forms mlxn_op_norm_matmul*, the forms that read or
 * write x8 rows): weight validation, the choice between the
 * matrix-vector kernels (m <= MLXN_MATVEC_MAX_M), the library GEMM of the
 * prefill path (matmul_prefill.c) and our own tiled kernel (capture mode,
 * no library, the CPU), and launch geometry. x8 rows and round_x8:
 * matmul_x8.c; mlxn_op_dequantize: matmul_dequant.c.
 */
#include "graph/encoder.h"
#include "graph/encoder_gemm.h"
#include "ops/matmul_internal.h"
#include "params/quant.h"

#include <string.h>

static const char *gguf_fmt(mlxn_dtype t)
{
    switch (t) {
    case MLXN_DTYPE_F32: return "f32";
    case MLXN_DTYPE_F16: return "f16";
    case MLXN_DTYPE_BF16: return "bf16";
    case MLXN_DTYPE_Q4_0: return "q4_0";
    case MLXN_DTYPE_Q8_0: return "q8_0";
    case MLXN_DTYPE_Q4_K: return "q4_k";
    case MLXN_DTYPE_Q6_K: return "q6_k";
    default: return NULL;
    }
}

static mlxn_status fail(mlxn_encoder *enc, const char *op, const char *msg, const char *arg)
{
    return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG, "%s: %s %s", op, arg,
                      msg);
}

static mlxn_status check_mlx(mlxn_encoder *enc, const char *op, const char *arg,
                             const mlxn_weight *w, mlxn__mm_w *d)
{
    mlxn_device *dev = mlxn_encoder_device(enc);
    const mlxn_buffer *wb = w->w;
    int bits = w->bits, gs = w->group_size;
    if (bits < 2 || bits > 8 || bits == 7 || (gs != 32 && gs != 64 && gs != 128))
        return mlxn__fail(dev, MLXN_ERR_UNSUPPORTED,
                          "%s: %s: MLX affine with %d bits and group size %d (bits 2, 3, "
                          "4, 5, 6, 8 and groups 32, 64, 128 are supported)",
                          op, arg, bits, gs);
    if (!w->scales)
        return fail(enc, op, "is MLX affine (U32) but its scales are NULL", arg);
    mlxn_status st;
    if ((st = mlxn__op_check_dtype(enc, op, "scales", w->scales, MLXN_DTYPE_F16,
                                   MLXN_DTYPE_BF16, -1)) != MLXN_OK ||
        (w->biases && (st = mlxn__op_check_dtype(enc, op, "biases", w->biases,
                                                 (int)w->scales->dtype, -1)) != MLXN_OK))
        return st;
    int64_t kw = wb->shape[1];
    if (wb->ndim != 2 || (kw * 32) % bits)
        return fail(enc, op, "must have shape (n, k*bits/32)", arg);
    d->n = wb->shape[0];
    d->k = kw * 32 / bits;
    if (d->k % gs)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: %s: k = %lld is not a multiple of the group size %d", op, arg,
                          (long long)d->k, gs);
    const mlxn_buffer *sb[2] = {w->scales, w->biases};
    for (int i = 0; i < 2; i++)
        if (sb[i] && (sb[i]->ndim != 2 || sb[i]->shape[0] != d->n || sb[i]->shape[1] != d->k / gs))
            return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                              "%s: %s: %s must have shape (%lld, %lld)", op, arg,
                              i ? "biases" : "scales", (long long)d->n,
                              (long long)(d->k / gs));
    d->mlx = 1;
    d->fmt = bits == 4 ? "mlx4" : bits == 8 ? "mlx8" : "mlx";
    d->row_bytes = (uint64_t)kw * 4;
    d->chunk_bytes = MLXN_MATVEC_CHUNK * (uint32_t)bits / 8;
    d->bits = (uint32_t)bits;
    d->group_size = (uint32_t)gs;
    d->scale_bf16 = w->scales->dtype == MLXN_DTYPE_BF16;
    d->symmetric = w->biases == NULL;
    return MLXN_OK;
}

mlxn_status mlxn__mm_check_weight(mlxn_encoder *enc, const char *op, const char *arg,
                                  const mlxn_weight *w, mlxn__mm_w *d)
{
    mlxn_device *dev = mlxn_encoder_device(enc);
    memset(d, 0, sizeof *d);
    d->w = w;
    if (!w || !w->w)
        return fail(enc, op, "is NULL", arg);
    const mlxn_buffer *wb = w->w;
    if (wb->dtype == MLXN_DTYPE_U32) {
        mlxn_status st = check_mlx(enc, op, arg, w, d);
        if (st != MLXN_OK)
            return st;
    } else {
        d->fmt = gguf_fmt(wb->dtype);
        if (!d->fmt)
            return mlxn__fail(dev, MLXN_ERR_UNSUPPORTED,
                              "%s: %s has dtype %s (f32, f16, bf16, q4_0, q8_0, q4_k, q6_k "
                              "or u32 for MLX affine are supported)",
                              op, arg, mlxn_dtype_name(wb->dtype));
        if (wb->ndim != 2)
            return fail(enc, op, "must have shape (n, k)", arg);
        d->n = wb->shape[0];
        d->k = wb->shape[1];
        int64_t be = mlxn_dtype_block_elems(wb->dtype);
        if (d->k % be)
            return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                              "%s: %s: k = %lld is not a multiple of the %s block (%lld)", op,
                              arg, (long long)d->k, d->fmt, (long long)be);
        if ((wb->dtype == MLXN_DTYPE_F16 || wb->dtype == MLXN_DTYPE_BF16) && d->k % 2)
            return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                              "%s: %s: k = %lld must be even for %s weights", op, arg,
                              (long long)d->k, d->fmt);
        d->row_bytes = (uint64_t)mlxn_dtype_bytes(wb->dtype, d->k);
        d->chunk_bytes = (uint32_t)mlxn_dtype_bytes(wb->dtype, MLXN_MATVEC_CHUNK);
    }
    if (d->n < 1 || d->k < 1 || d->n > INT32_MAX || d->k > INT32_MAX)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: %s has %lld x %lld elements", op,
                          arg, (long long)d->n, (long long)d->k);
    if (mlxn__buffer_addr(wb, 0) % 4)
        return fail(enc, op, "must start at an address that is a multiple of 4 bytes", arg);
    return MLXN_OK;
}

mlxn_matmul_params mlxn__mm_params(const mlxn__mm_w *d, int64_t m)
{
    mlxn_matmul_params p;
    memset(&p, 0, sizeof p);
    p.m = (uint32_t)m;
    p.n = (uint32_t)d->n;
    p.k = (uint32_t)d->k;
    p.ldo = (uint32_t)d->n;
    p.bits = d->bits;
    p.group_size = d->group_size;
    p.flags = (d->scale_bf16 ? MLXN_MM_SCALE_BF16 : 0) | (d->symmetric ? MLXN_MM_SYMMETRIC : 0);
    p.row_bytes = d->row_bytes;
    return p;
}

void mlxn__mm_bind_weight(mlxn__op_launch *l, const mlxn__mm_w *d)
{
    mlxn__op_buf(l, d->w->w, 1, 0);
    if (d->mlx) {
        mlxn__op_buf(l, d->w->scales, 1, 0);
        mlxn__op_buf(l, d->symmetric ? d->w->scales : d->w->biases, 1, 0);
    }
}

void mlxn__mm_bind_range(mlxn__op_launch *l, mlxn_buffer *b, size_t offset, size_t bytes,
                         int reads, int writes)
{
    mlxn_range r = {b, offset, bytes};
    l->args[l->n_args++] = mlxn_arg_buffer_at(b, offset);
    if (reads && l->n_reads < MLXN_MAX_RANGES)
        l->reads[l->n_reads++] = r;
    if (writes && l->n_writes < MLXN_MAX_RANGES)
        l->writes[l->n_writes++] = r;
}

/* ---- shared checks of x, out, add ------------------------------------------------- */
int mlxn__mm_overlaps(const mlxn_buffer *a, const mlxn_buffer *b)
{
    if (!a || !b || a->alloc != b->alloc)
        return 0;
    return a->offset < b->offset + b->bytes && b->offset < a->offset + a->bytes;
}

static mlxn_status check_io(mlxn_encoder *enc, const char *op, const mlxn__mm_w *d,
                            mlxn_buffer *x, mlxn_buffer *add, mlxn_buffer *out, int64_t *m)
{
    mlxn_device *dev = mlxn_encoder_device(enc);
    mlxn_status st;
    if ((st = mlxn__op_check_dtype(enc, op, "x", x, MLXN_DTYPE_F32, -1)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "out", out, MLXN_DTYPE_F32, -1)) != MLXN_OK)
        return st;
    int64_t rows, cols;
    mlxn__op_rows_cols(x, &rows, &cols);
    if (cols != d->k)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: x has rows of %lld elements, W has k = %lld", op,
                          (long long)cols, (long long)d->k);
    if (rows < 1 || rows > INT32_MAX)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: x has %lld rows", op,
                          (long long)rows);
    if (mlxn_buffer_elems(out) != rows * d->n)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: out has %lld elements, expected m x n = %lld x %lld", op,
                          (long long)mlxn_buffer_elems(out), (long long)rows,
                          (long long)d->n);
    if (add) {
        if ((st = mlxn__op_check_dtype(enc, op, "add", add, MLXN_DTYPE_F32, -1)) != MLXN_OK ||
            (st = mlxn__op_check_elems(enc, op, "add", add, "out", out)) != MLXN_OK)
            return st;
        if (mlxn__mm_overlaps(add, out) && (add->alloc != out->alloc || add->offset != out->offset))
            return fail(enc, op, "overlaps out without being the same view", "add");
    }
    if (mlxn__mm_overlaps(x, out))
        return fail(enc, op, "overlaps out", "x");
    *m = rows;
    return MLXN_OK;
}

/* ---- matrix-vector kernels ------------------------------------------------------------ */
/* Rows per warp at m <= 2: more rows share each load of x, fewer rows
 * keep enough warps in flight for small n (measured on an H200). */
static uint32_t rows_per_warp(int64_t n)
{
    return n >= 2048 ? 4 : n >= 1024 ? 2 : 1;
}

static void matvec_geometry(mlxn__op_launch *l, mlxn_matmul_params *p, const mlxn__mm_w *d,
                            int n_w)
{
    /* m > 2 and the SwiGLU product keep one row per warp (registers). */
    uint32_t r = p->m > 2 || n_w == 2 ? 1 : rows_per_warp(d->n);
    p->rows_per_warp = r;
    uint64_t rows_per_block = (uint64_t)MLXN_MATVEC_WARPS * r;
    l->grid.x = (uint32_t)((d->n + rows_per_block - 1) / rows_per_block);
    l->block.x = 32 * MLXN_MATVEC_WARPS;
    l->shared_bytes = MLXN_MATVEC_WARPS * MLXN_MATVEC_STAGES * r * (uint32_t)n_w *
                      mlxn_matvec_stage_bytes(d->chunk_bytes * mlxn_matvec_units(d->chunk_bytes));
}

static int x8_tma_ok(const mlxn__mm_w *d, int nw);

/* The int8-activation kernels (matvec_x8_*, kernels/cuda/matvec_x8*.cu)
 * take one row of x and 4-bit weights (MLX affine, or GGUF Q4_K blocks)
 * or, for the copy-engine kernels only (immutable W; MLX 8-bit as
 * x8_tma_ok says), GGUF Q6_K and Q8_0 blocks and MLX 8-bit words; x and
 * W 16-byte aligned,
 * unless the device asks for exact products. nw: the weights of the
 * product (2 for SwiGLU). */
static int use_x8(mlxn_encoder *enc, const mlxn__mm_w *d, const mlxn_buffer *x, int64_t m,
                  int nw)
{
    const mlxn_weight *w = d->w;
    const mlxn_dtype dt = w->w->dtype;
    const int tma_only = w->immutable && (dt == MLXN_DTYPE_Q6_K || dt == MLXN_DTYPE_Q8_0 ||
                                          (d->mlx && d->bits == 8));
    const int fmt = (d->mlx && d->bits == 4) || dt == MLXN_DTYPE_Q4_K || tma_only;
    return m == 1 && fmt && d->k <= MLXN_X8_MAX_K && (!tma_only || x8_tma_ok(d, nw)) &&
           !mlxn_encoder_device(enc)->params.matvec_exact &&
           mlxn__buffer_addr(w->w, 0) % 16 == 0 && mlxn__buffer_addr(x, 0) % 16 == 0;
}

/* Warps per block of a _tma kernel streaming nw weights. */
static uint32_t x8t_warps(int nw)
{
    return nw == 2 ? MLXN_X8T_WARPS_SWIGLU : MLXN_X8T_WARPS;
}

/* Whether d's rows do not start on 16-byte boundaries: GGUF rows (Q6_K
 * with k not a multiple of 2048, Q8_0 not of 256), MLX 8-bit scales and
 * biases (k not a multiple of 8 groups): the _tma_odd kernels. */
static int x8t_odd(const mlxn__mm_w *d)
{
    return d->mlx ? d->k % (8 * (int64_t)d->group_size) != 0 : d->row_bytes % 16 != 0;
}

/* Shared memory of a _tma kernel streaming nw weights like d (the GGUF
 * formats and MLX 8-bit round x in padded element order; Q6_K slots are
 * larger, and larger again for odd rows; the dense bf16 / f16 kernels
 * keep x in f32). */
static uint32_t x8t_shared(const mlxn__mm_w *d, int nw)
{
    const uint32_t k = (uint32_t)d->k;
    const mlxn_dtype dt = d->w->w->dtype;
    if (dt == MLXN_DTYPE_BF16 || dt == MLXN_DTYPE_F16)
        return nw == 2 ? MLXN_X8T_DENSE_SHARED(2u, MLXN_X8T_S_SWIGLU, k, x8t_warps(2))
                       : MLXN_X8T_DENSE_SHARED(1u, MLXN_X8T_S, k, x8t_warps(1));
    const int nat = !d->mlx || d->bits == 8, q6k = dt == MLXN_DTYPE_Q6_K;
    const int odd = x8t_odd(d);
    return nw == 2 ? MLXN_X8T_SHARED(2u, MLXN_X8T_S_SWIGLU, k, x8t_warps(2), nat, q6k, odd)
                   : MLXN_X8T_SHARED(1u, MLXN_X8T_S, k, x8t_warps(1), nat, q6k, odd);
}

/* Geometry of matvec_x8_*: MLXN_X8_BLOCKS_PER_SM blocks per SM (of
 * MLXN_X8_WARPS warps, or x8t_warps for the _tma kernels), fewer when W
 * has fewer rows than that many warps; the kernel splits the rows evenly
 * among the grid's warps. tma_nw: the weights a _tma kernel streams (its
 * shared memory holds their slots), 0 for the register kernels. */
static void x8_geometry(mlxn_encoder *enc, mlxn__op_launch *l, const mlxn__mm_w *d, int tma_nw)
{
    uint64_t cap = (uint64_t)mlxn__device_multiprocessors(mlxn_encoder_device(enc)) *
                   MLXN_X8_BLOCKS_PER_SM;
    const uint32_t k = (uint32_t)d->k, warps = tma_nw ? x8t_warps(tma_nw) : MLXN_X8_WARPS;
    uint64_t need = ((uint64_t)d->n + warps - 1) / warps;
    l->grid.x = (uint32_t)(cap < need ? cap : need);
    l->block.x = 32 * warps;
    l->shared_bytes = tma_nw ? x8t_shared(d, tma_nw) : MLXN_X8_XBYTES(k, !d->mlx);
}

/* The copy engine's conditions (matvec_x8_tma.cu): the slots and x fit a
 * block's shared memory, and for MLX weights the scales and biases are
 * 16-byte aligned and, for 4-bit, k is a multiple of 8 groups (every
 * chunk's scales whole 16-byte units); GGUF rows and MLX 8-bit scales
 * are copied from the 16-byte boundary before them, whatever k. */
static int x8_tma_ok(const mlxn__mm_w *d, int nw)
{
    const mlxn_weight *w = d->w;
    if (!MLXN_X8T || x8t_shared(d, nw) > MLXN_X8T_MAX_SHARED)
        return 0;
    return !d->mlx || ((d->bits == 8 || d->k % (8 * (int64_t)d->group_size) == 0) &&
                       mlxn__buffer_addr(w->scales, 0) % 16 == 0 &&
                       (!w->biases || mlxn__buffer_addr(w->biases, 0) % 16 == 0));
}

/* The int8-activation kernel variants, by the suffix of their names. */
enum { X8_PLAIN, X8_EARLY, X8_TMA, X8_TMA_ODD };
static const char *const X8_SUFFIX[] = {"", "_early", "_tma", "_tma_odd"};

/* X8_TMA (weights streamed by the copy engine, a first chunk before the
 * wait; X8_TMA_ODD for GGUF rows or MLX 8-bit scales off 16-byte
 * boundaries, x8t_odd) where it can
 * run, else X8_EARLY (first stages loaded into registers before the wait;
 * MLX 4-bit only) when no running kernel can write W (or Wu), X8_PLAIN (W
 * read only after the wait) otherwise. */
static int x8_variant(const mlxn__mm_w *d, const mlxn__mm_w *u)
{
    if (!d->w->immutable || (u && !u->w->immutable))
        return X8_PLAIN;
    if (x8_tma_ok(d, u ? 2 : 1) && (!u || x8_tma_ok(u, 2)))
        return x8t_odd(d) ? X8_TMA_ODD : X8_TMA;
    return d->mlx ? X8_EARLY : X8_PLAIN;
}

/* An RMS norm folded into the product (mlxn_op_norm_matmul*): the f32
 * weight of k elements; only the int8-activation kernels take one. */
typedef struct mm_norm {
    mlxn_buffer *w;
    float eps;
} mm_norm;

/* The int8-activation kernels' norm weight slot: the norm's weight, or x
 * (not read) without a norm. */
static void x8_bind_norm(mlxn__op_launch *l, mlxn_matmul_params *p, const mm_norm *nrm,
                         mlxn_buffer *x)
{
    mlxn__op_buf(l, nrm ? nrm->w : x, 1, 0);
    if (nrm) {
        p->flags |= MLXN_MM_NORM;
        p->eps = nrm->eps;
    }
}

/* Whether the dense 16-bit _tma kernels can stream d: bf16 / f16
 * weights, one row of x, W immutable (copied before the wait) and 16-byte
 * aligned, k a multiple of 32 (whole chunks of 16-byte words), the slots
 * and x in f32 within a block's shared memory (x8t_shared), and no exact
 * products asked for. */
static int dense_tma_ok(mlxn_encoder *enc, const mlxn__mm_w *d, const mlxn_buffer *x,
                        int64_t m, int nw)
{
    const mlxn_dtype dt = d->w->w->dtype;
    return (dt == MLXN_DTYPE_BF16 || dt == MLXN_DTYPE_F16) && m == 1 && MLXN_X8T &&
           d->w->immutable && d->k % 32 == 0 && d->k <= MLXN_X8_MAX_K &&
           !mlxn_encoder_device(enc)->params.matvec_exact &&
           mlxn__buffer_addr(d->w->w, 0) % 16 == 0 && mlxn__buffer_addr(x, 0) % 16 == 0 &&
           x8t_shared(d, nw) <= MLXN_X8T_MAX_SHARED;
}

/* x8in: x as an x8 row (mlxn_op_matmul_x8), read instead of x where the
 * int8-activation kernels run; NULL otherwise. */
static mlxn_status matvec(mlxn_encoder *enc, mlxn_buffer *x, const mlxn__mm_w *d,
                          mlxn_buffer *add, mlxn_buffer *out, int64_t m, const mm_norm *nrm,
                          mlxn_buffer *x8in)
{
    mlxn_kernel *k;
    const int dense = !nrm && dense_tma_ok(enc, d, x, m, 1);
    const int x8 = !dense && use_x8(enc, d, x, m, 1);
    if (!x8 || nrm)
        x8in = NULL;
    const int var = x8 ? x8_variant(d, NULL) : X8_PLAIN;
    mlxn_status st = dense ? mlxn__op_kernel(enc, &k, "matvec_tma_%s", d->fmt)
                     : x8  ? mlxn__op_kernel(enc, &k, "matvec_x8%s_%s", X8_SUFFIX[var], d->fmt)
                           : mlxn__op_kernel(enc, &k, "matvec_%s", d->fmt);
    if (st != MLXN_OK)
        return st;
    mlxn_matmul_params p = mlxn__mm_params(d, m);
    if (add)
        p.flags |= MLXN_MM_ADD;
    if (x8in)
        p.flags |= MLXN_MM_X8_IN;
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_MATMUL);
    mlxn__op_buf(&l, x8in ? x8in : x, 1, 0);
    mlxn__mm_bind_weight(&l, d);
    mlxn__op_buf(&l, add ? add : out, add != NULL, 0);
    mlxn__op_buf(&l, out, 0, 1);
    if (dense) {
        x8_geometry(enc, &l, d, 1);
    } else if (x8) {
        x8_bind_norm(&l, &p, nrm, x);
        x8_geometry(enc, &l, d, var >= X8_TMA ? 1 : 0);
    } else {
        matvec_geometry(&l, &p, d, 1);
    }
    mlxn__op_bytes(&l, &p, sizeof p);
    return mlxn__op_encode(enc, &l);
}

/* Whether a _tma SwiGLU kernel of geometry l can round its n outputs
 * itself (MLXN_MM_X8_OUT): n a multiple of 32 and, on CUDA, at most 32
 * rows a warp. */
static int x8o_fits(mlxn_encoder *enc, const mlxn__mm_w *g, const mlxn__op_launch *l)
{
    return g->n % 32 == 0 &&
           (mlxn_device_backend(mlxn_encoder_device(enc)) != MLXN_BACKEND_CUDA ||
            (uint64_t)g->n <= 32ull * l->grid.x * x8t_warps(2));
}

/* x8out: out also as an x8 row (mlxn_op_norm_matmul_swiglu_x8), written
 * by the _tma kernels themselves (MLXN_MM_X8_OUT) and by round_x8 after
 * the others; NULL for none. */
static mlxn_status matvec_swiglu(mlxn_encoder *enc, mlxn_buffer *x, const mlxn__mm_w *g,
                                 const mlxn__mm_w *u, mlxn_buffer *out, int64_t m,
                                 const mm_norm *nrm, mlxn_buffer *x8out)
{
    mlxn_kernel *k;
    const int dense = !nrm && dense_tma_ok(enc, g, x, m, 2) && dense_tma_ok(enc, u, x, m, 2);
    const int x8 = !dense && use_x8(enc, g, x, m, 2) && use_x8(enc, u, x, m, 2);
    const int var = x8 ? x8_variant(g, u) : X8_PLAIN;
    mlxn_status st = dense ? mlxn__op_kernel(enc, &k, "matvec_swiglu_tma_%s", g->fmt)
                     : x8  ? mlxn__op_kernel(enc, &k, "matvec_swiglu_x8%s_%s", X8_SUFFIX[var],
                                             g->fmt)
                           : mlxn__op_kernel(enc, &k, "matvec_swiglu_%s", g->fmt);
    if (st != MLXN_OK)
        return st;
    mlxn_matmul_params p = mlxn__mm_params(g, m);
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_MATMUL);
    mlxn__op_buf(&l, x, 1, 0);
    mlxn__mm_bind_weight(&l, g);
    mlxn__mm_bind_weight(&l, u);
    mlxn__op_buf(&l, out, 0, 1);
    int self_x8 = 0;
    if (dense) {
        x8_geometry(enc, &l, g, 2);
    } else if (x8) {
        x8_geometry(enc, &l, g, var >= X8_TMA ? 2 : 0);
        /* the _tma kernels round out themselves: n a multiple of 32, at
         * most 32 rows a warp */
        self_x8 = x8out && var >= X8_TMA && x8o_fits(enc, g, &l);
        x8_bind_norm(&l, &p, nrm, x);
        /* x8o: the slots are read and written */
        mlxn__op_buf(&l, self_x8 ? x8out : out, self_x8, self_x8);
        if (self_x8)
            p.flags |= MLXN_MM_X8_OUT;
    } else {
        matvec_geometry(&l, &p, g, 2);
    }
    mlxn__op_bytes(&l, &p, sizeof p);
    mlxn_status st2 = mlxn__op_encode(enc, &l);
    if (st2 != MLXN_OK || !x8out || self_x8)
        return st2;
    return mlxn_op_round_x8(enc, out, x8out);
}

/* ---- our own tiled kernel (capture mode, no library, the CPU) ------------------------ */
/* out (m, ldo) at byte `out_off` of `out` = x @ W^T (+ add). */
static mlxn_status tiled(mlxn_encoder *enc, mlxn_buffer *x, const mlxn__mm_w *d,
                         mlxn_buffer *add, mlxn_buffer *out, size_t out_off, int64_t m,
                         uint32_t ldo)
{
    mlxn_kernel *k;
    mlxn_status st = mlxn__op_kernel(enc, &k, "matmul_%s", d->fmt);
    if (st != MLXN_OK)
        return st;
    mlxn_matmul_params p = mlxn__mm_params(d, m);
    p.ldo = ldo;
    if (add)
        p.flags |= MLXN_MM_ADD;
    size_t out_bytes = ((size_t)(m - 1) * ldo + (size_t)d->n) * sizeof(float);
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_MATMUL);
    mlxn__op_buf(&l, x, 1, 0);
    mlxn__mm_bind_weight(&l, d);
    if (add)
        mlxn__op_buf(&l, add, 1, 0);
    else
        mlxn__mm_bind_range(&l, out, out_off, out_bytes, 0, 0);
    mlxn__mm_bind_range(&l, out, out_off, out_bytes, 0, 1);
    mlxn__op_bytes(&l, &p, sizeof p);
    l.grid.x = (uint32_t)((d->n + MLXN_MATMUL_TILE - 1) / MLXN_MATMUL_TILE);
    l.grid.y = (uint32_t)((m + MLXN_MATMUL_TILE - 1) / MLXN_MATMUL_TILE);
    l.block.x = 256;
    return mlxn__op_encode(enc, &l);
}

mlxn_status mlxn__mm_swiglu_join(mlxn_encoder *enc, mlxn_buffer *gu, int64_t m, int64_t n,
                                mlxn_buffer *out)
{
    mlxn_kernel *k;
    mlxn_status st = mlxn__op_kernel(enc, &k, "swiglu_join_f32");
    if (st != MLXN_OK)
        return st;
    mlxn_matmul_params p;
    memset(&p, 0, sizeof p);
    p.m = (uint32_t)m;
    p.n = (uint32_t)n;
    p.ldo = (uint32_t)n;
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_ACTIVATION);
    mlxn__mm_bind_range(&l, gu, 0, (size_t)m * 2 * (size_t)n * sizeof(float), 1, 0);
    mlxn__op_buf(&l, out, 0, 1);
    mlxn__op_bytes(&l, &p, sizeof p);
    l.block.x = 256;
    l.grid = mlxn__op_grid_1d((uint64_t)m * (uint64_t)n, 256, 4, 65535);
    return mlxn__op_encode(enc, &l);
}

size_t mlxn_weight_bytes(const mlxn_weight *w)
{
    return (w->w ? mlxn_buffer_bytes(w->w) : 0) + (w->scales ? mlxn_buffer_bytes(w->scales) : 0) +
           (w->biases ? mlxn_buffer_bytes(w->biases) : 0);
}

/* ---- the ops --------------------------------------------------------------------------- */
static mlxn_status check_matmul(mlxn_encoder *enc, const char *op, mlxn_buffer *x,
                                const mlxn_weight *w, mlxn_buffer *add, mlxn_buffer *out,
                                mlxn__mm_w *d, int64_t *m)
{
    if (!enc)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "%s: NULL encoder", op);
    mlxn_status st = mlxn__mm_check_weight(enc, op, "w", w, d);
    return st != MLXN_OK ? st : check_io(enc, op, d, x, add, out, m);
}

static mlxn_status check_swiglu(mlxn_encoder *enc, const char *op, mlxn_buffer *x,
                                const mlxn_weight *w_gate, const mlxn_weight *w_up,
                                mlxn_buffer *out, mlxn__mm_w *g, mlxn__mm_w *u, int64_t *m)
{
    if (!enc)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "%s: NULL encoder", op);
    mlxn_status st = mlxn__mm_check_weight(enc, op, "w_gate", w_gate, g);
    if (st == MLXN_OK)
        st = mlxn__mm_check_weight(enc, op, "w_up", w_up, u);
    if (st == MLXN_OK)
        st = check_io(enc, op, g, x, NULL, out, m);
    if (st != MLXN_OK)
        return st;
    if (strcmp(g->fmt, u->fmt) || g->n != u->n || g->k != u->k || g->bits != u->bits ||
        g->group_size != u->group_size || g->scale_bf16 != u->scale_bf16 ||
        g->symmetric != u->symmetric || w_gate->w->dtype != w_up->w->dtype)
        return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG,
                          "%s: w_gate and w_up differ in format or shape", op);
    return MLXN_OK;
}

mlxn_status mlxn_op_matmul(mlxn_encoder *enc, mlxn_buffer *x, const mlxn_weight *w,
                           mlxn_buffer *add, mlxn_buffer *out)
{
    return mlxn_op_matmul_x8(enc, x, NULL, w, add, out);
}

mlxn_status mlxn_op_matmul_x8(mlxn_encoder *enc, mlxn_buffer *x, mlxn_buffer *x8,
                              const mlxn_weight *w, mlxn_buffer *add, mlxn_buffer *out)
{
    mlxn__mm_w d;
    int64_t m;
    mlxn_status st = check_matmul(enc, "matmul", x, w, add, out, &d, &m);
    if (st == MLXN_OK && x8)
        st = mlxn__mm_check_x8(enc, "matmul", "x8", x8, m, d.k, out);
    if (st != MLXN_OK)
        return st;
    if (m <= MLXN_MATVEC_MAX_M)
        return matvec(enc, x, &d, add, out, m, NULL, x8);
    if (mlxn__encoder_gemm_available(enc)) {
        mlxn__prefill pf = {x, &d, NULL, add, out, m};
        return mlxn__mm_prefill_gemm(enc, &pf);
    }
    return tiled(enc, x, &d, add, out, 0, m, (uint32_t)d.n);
}

mlxn_status mlxn_op_matmul_swiglu(mlxn_encoder *enc, mlxn_buffer *x, const mlxn_weight *w_gate,
                                  const mlxn_weight *w_up, mlxn_buffer *out)
{
    mlxn__mm_w g, u;
    int64_t m;
    mlxn_status st = check_swiglu(enc, "matmul_swiglu", x, w_gate, w_up, out, &g, &u, &m);
    if (st != MLXN_OK)
        return st;
    if (m <= MLXN_MATVEC_MAX_M)
        return matvec_swiglu(enc, x, &g, &u, out, m, NULL, NULL);
    if (mlxn__encoder_gemm_available(enc)) {
        mlxn__prefill pf = {x, &g, &u, NULL, out, m};
        return mlxn__mm_prefill_gemm(enc, &pf);
    }
    /* gate and up side by side in a workspace, then the join. */
    mlxn_device *dev = mlxn_encoder_device(enc);
    mlxn_buffer *gu;
    size_t row = (size_t)g.n * sizeof(float);
    if ((st = mlxn__workspace_get(dev, enc->queue, MM_WS_GU, (size_t)m * 2 * row, &gu)) !=
        MLXN_OK)
        return st;
    if ((st = tiled(enc, x, &g, NULL, gu, 0, m, (uint32_t)(2 * g.n))) != MLXN_OK ||
        (st = tiled(enc, x, &u, NULL, gu, row, m, (uint32_t)(2 * g.n))) != MLXN_OK)
        return st;
    return mlxn__mm_swiglu_join(enc, gu, m, g.n, out);
}

/* Whether the norm runs inside the int8-activation kernel (use_x8 for
 * every weight, norm_w f32 with k elements, 16-byte aligned); otherwise
 * the norm op writes `norm` and the product reads it. */
static mlxn_status norm_args(mlxn_encoder *enc, const char *op, mlxn_buffer *x,
                             mlxn_buffer *norm_w, mlxn_buffer *norm)
{
    if (!norm_w)
        return fail(enc, op, "is NULL", "norm_w");
    if (!norm)
        return fail(enc, op, "is NULL (the scratch of the separate norm)", "norm");
    if (mlxn__mm_overlaps(norm, x))
        return fail(enc, op, "overlaps x", "norm");
    return mlxn__op_check_elems(enc, op, "x", x, "norm", norm);
}

static int norm_fuses(mlxn_encoder *enc, const mlxn__mm_w *d, mlxn_buffer *x,
                      mlxn_buffer *norm_w, int64_t m, int nw)
{
    return use_x8(enc, d, x, m, nw) && norm_w->dtype == MLXN_DTYPE_F32 &&
           mlxn_buffer_elems(norm_w) == d->k && mlxn__buffer_addr(norm_w, 0) % 16 == 0;
}

mlxn_status mlxn_op_norm_matmul(mlxn_encoder *enc, mlxn_buffer *x, mlxn_buffer *norm_w,
                                float eps, mlxn_buffer *norm, const mlxn_weight *w,
                                mlxn_buffer *out)
{
    const char *op = "norm_matmul";
    mlxn__mm_w d;
    int64_t m;
    mlxn_status st = check_matmul(enc, op, x, w, NULL, out, &d, &m);
    if (st == MLXN_OK)
        st = norm_args(enc, op, x, norm_w, norm);
    if (st != MLXN_OK)
        return st;
    if (norm_fuses(enc, &d, x, norm_w, m, 1)) {
        mm_norm nrm = {norm_w, eps};
        return matvec(enc, x, &d, NULL, out, m, &nrm, NULL);
    }
    if ((st = mlxn_op_rms_norm(enc, x, norm_w, eps, norm)) != MLXN_OK)
        return st;
    return mlxn_op_matmul(enc, norm, w, NULL, out);
}

mlxn_status mlxn_op_norm_matmul_swiglu(mlxn_encoder *enc, mlxn_buffer *x, mlxn_buffer *norm_w,
                                       float eps, mlxn_buffer *norm,
                                       const mlxn_weight *w_gate, const mlxn_weight *w_up,
                                       mlxn_buffer *out)
{
    return mlxn_op_norm_matmul_swiglu_x8(enc, x, norm_w, eps, norm, w_gate, w_up, out, NULL);
}

mlxn_status mlxn_op_norm_matmul_swiglu_x8(mlxn_encoder *enc, mlxn_buffer *x,
                                          mlxn_buffer *norm_w, float eps, mlxn_buffer *norm,
                                          const mlxn_weight *w_gate, const mlxn_weight *w_up,
                                          mlxn_buffer *out, mlxn_buffer *out_x8)
{
    const char *op = "norm_matmul_swiglu";
    mlxn__mm_w g, u;
    int64_t m;
    mlxn_status st = check_swiglu(enc, op, x, w_gate, w_up, out, &g, &u, &m);
    if (st == MLXN_OK)
        st = norm_args(enc, op, x, norm_w, norm);
    if (st == MLXN_OK && out_x8)
        st = mlxn__mm_check_x8(enc, op, "out_x8", out_x8, m, g.n, out);
    if (st == MLXN_OK && out_x8 && (mlxn__mm_overlaps(out_x8, x) || mlxn__mm_overlaps(out_x8, norm)))
        st = fail(enc, op, "overlaps x or norm", "out_x8");
    if (st != MLXN_OK)
        return st;
    if (norm_fuses(enc, &g, x, norm_w, m, 2) && norm_fuses(enc, &u, x, norm_w, m, 2)) {
        mm_norm nrm = {norm_w, eps};
        return matvec_swiglu(enc, x, &g, &u, out, m, &nrm, out_x8);
    }
    if ((st = mlxn_op_rms_norm(enc, x, norm_w, eps, norm)) != MLXN_OK)
        return st;
    if (m <= MLXN_MATVEC_MAX_M)
        return matvec_swiglu(enc, norm, &g, &u, out, m, NULL, out_x8);
    if ((st = mlxn_op_matmul_swiglu(enc, norm, w_gate, w_up, out)) != MLXN_OK || !out_x8)
        return st;
    return mlxn_op_round_x8(enc, out, out_x8);
}

int mlxn_op_swiglu_x8_pays(mlxn_encoder *enc, mlxn_buffer *x, mlxn_buffer *norm_w,
                           const mlxn_weight *w_gate, const mlxn_weight *w_up, mlxn_buffer *h,
                           const mlxn_weight *w_down)
{
    const char *op = "swiglu_x8_pays";
    mlxn__mm_w g, u, d;
    if (!enc || !x || !norm_w || !h ||
        mlxn__mm_check_weight(enc, op, "w_gate", w_gate, &g) != MLXN_OK ||
        mlxn__mm_check_weight(enc, op, "w_up", w_up, &u) != MLXN_OK ||
        mlxn__mm_check_weight(enc, op, "w_down", w_down, &d) != MLXN_OK)
        return 0;
    int64_t rows, cols;
    mlxn__op_rows_cols(x, &rows, &cols);
    if (rows != 1 || cols != g.k || u.k != g.k || u.n != g.n || d.k != g.n || g.n % 32 ||
        mlxn_buffer_elems(h) != g.n)
        return 0;
    /* the producer rounds in its own kernel (matvec_swiglu with the norm
     * folded: a _tma int8 kernel), the consumer reads x8 (matvec: an int8
     * kernel, not the dense _tma one) */
    mlxn__op_launch l;
    x8_geometry(enc, &l, &g, 2);
    const int self = norm_fuses(enc, &g, x, norm_w, 1, 2) && norm_fuses(enc, &u, x, norm_w, 1, 2) &&
                     x8_variant(&g, &u) >= X8_TMA && x8o_fits(enc, &g, &l);
    return self && !dense_tma_ok(enc, &d, h, 1, 1) && use_x8(enc, &d, h, 1, 1);
}
