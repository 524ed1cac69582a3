/*
 * matmul_prefill.c: the prefill path of the matmul ops on backends with a
 * matrix library (cuBLAS on CUDA), with add as the GEMM's C operand; the
 * SwiGLU product computes gate and up side by side and joins them. x stays
 * f32. Dense f32 weights are used in place with full f32 arithmetic; every
 * other format is dequantized to f32 in a device workspace and multiplied
 * with tf32 tensor-core inputs (10-bit mantissas, f32 accumulation): the
 * same function as the matrix-vector path to about 1e-3, unlike bf16
 * inputs, which lose three more bits of x.
 */
#include "graph/encoder.h"
#include "graph/encoder_gemm.h"
#include "ops/matmul_internal.h"

#include <string.h>

static mlxn_range range(mlxn_buffer *b, size_t offset, size_t bytes)
{
    mlxn_range r = {b, offset, bytes};
    return r;
}

/* One GEMM: d (m, n) rows ldd apart = a (m, k) @ b (n, k)^T (+ c). */
typedef struct gemm_args {
    mlxn_range a, b, c, d;
    int has_c;
    uint32_t m, n, k, ldd;
    mlxn__gemm_precision precision;
    mlxn_buffer *blas_ws;
} gemm_args;

static mlxn_status gemm(mlxn_encoder *enc, const gemm_args *ga)
{
    mlxn__gemm_call call;
    memset(&call, 0, sizeof call);
    call.g.a = mlxn__buffer_addr(ga->a.buf, ga->a.offset);
    call.g.b = mlxn__buffer_addr(ga->b.buf, ga->b.offset);
    call.g.c = ga->has_c ? mlxn__buffer_addr(ga->c.buf, ga->c.offset) : 0;
    call.g.d = mlxn__buffer_addr(ga->d.buf, ga->d.offset);
    call.g.m = ga->m;
    call.g.n = ga->n;
    call.g.k = ga->k;
    call.g.ldd = ga->ldd;
    call.g.workspace = mlxn__buffer_addr(ga->blas_ws, 0);
    call.g.workspace_bytes = MM_BLAS_WORKSPACE_BYTES;
    call.g.precision = ga->precision;
    call.reads[call.n_reads++] = ga->a;
    call.reads[call.n_reads++] = ga->b;
    if (ga->has_c)
        call.reads[call.n_reads++] = ga->c;
    call.writes[call.n_writes++] = ga->d;
    call.writes[call.n_writes++] = range(ga->blas_ws, 0, MM_BLAS_WORKSPACE_BYTES);
    return mlxn__encoder_gemm(enc, &call);
}

mlxn_status mlxn__mm_prefill_gemm(mlxn_encoder *enc, const mlxn__prefill *pf)
{
    mlxn_device *dev = mlxn_encoder_device(enc);
    const mlxn__mm_w *w = pf->w;
    const int64_t m = pf->m, n = w->n, k = w->k;
    const int n_w = pf->w_up ? 2 : 1;
    const size_t w_bytes = (size_t)n * (size_t)k * 4, x_bytes = (size_t)m * (size_t)k * 4;
    const int in_place = w->w->w->dtype == MLXN_DTYPE_F32;
    mlxn_buffer *ws_w = NULL, *ws_blas, *ws_gu = NULL;
    mlxn_status st;
    if ((!in_place && (st = mlxn__workspace_get(dev, enc->queue, MM_WS_W, n_w * w_bytes,
                                                &ws_w)) != MLXN_OK) ||
        (st = mlxn__workspace_get(dev, enc->queue, MM_WS_BLAS, MM_BLAS_WORKSPACE_BYTES,
                                  &ws_blas)) != MLXN_OK ||
        (pf->w_up && (st = mlxn__workspace_get(dev, enc->queue, MM_WS_GU,
                                               (size_t)m * 2 * (size_t)n * sizeof(float),
                                               &ws_gu)) != MLXN_OK))
        return st;
    if (!in_place) {
        if ((st = mlxn__mm_dequant_to(enc, w, ws_w, 0, MLXN_DTYPE_F32)) != MLXN_OK ||
            (pf->w_up &&
             (st = mlxn__mm_dequant_to(enc, pf->w_up, ws_w, w_bytes, MLXN_DTYPE_F32)) != MLXN_OK))
            return st;
    }
    gemm_args ga;
    memset(&ga, 0, sizeof ga);
    ga.a = range(pf->x, 0, x_bytes);
    ga.precision = in_place ? MLXN__GEMM_F32 : MLXN__GEMM_TF32;
    ga.m = (uint32_t)m;
    ga.k = (uint32_t)k;
    ga.blas_ws = ws_blas;
    if (!pf->w_up) {
        ga.b = in_place ? range(w->w->w, 0, w_bytes) : range(ws_w, 0, w_bytes);
        ga.has_c = pf->add != NULL;
        if (pf->add)
            ga.c = range(pf->add, 0, 0);
        ga.d = range(pf->out, 0, 0);
        ga.n = (uint32_t)n;
        ga.ldd = (uint32_t)n;
        return gemm(enc, &ga);
    }
    /* gate | up side by side in gu (m, 2n): one GEMM over 2n dequantized
     * rows, or two on weights used in place. */
    ga.ldd = (uint32_t)(2 * n);
    if (!in_place) {
        ga.b = range(ws_w, 0, 2 * w_bytes);
        ga.d = range(ws_gu, 0, (size_t)m * 2 * (size_t)n * sizeof(float));
        ga.n = (uint32_t)(2 * n);
        st = gemm(enc, &ga);
    } else {
        ga.n = (uint32_t)n;
        size_t gu_bytes = ((size_t)(m - 1) * 2 * (size_t)n + (size_t)n) * sizeof(float);
        ga.b = range(w->w->w, 0, w_bytes);
        ga.d = range(ws_gu, 0, gu_bytes);
        st = gemm(enc, &ga);
        ga.b = range(pf->w_up->w->w, 0, w_bytes);
        ga.d = range(ws_gu, (size_t)n * sizeof(float), gu_bytes);
        if (st == MLXN_OK)
            st = gemm(enc, &ga);
    }
    if (st != MLXN_OK)
        return st;
    return mlxn__mm_swiglu_join(enc, ws_gu, m, n, pf->out);
}
