/*
 * matmul_internal.h: what the matmul op files share: a validated weight
 * and the helpers that bind it to kernel slots.
 */
#ifndef MLXN_MATMUL_INTERNAL_H
#define MLXN_MATMUL_INTERNAL_H

#include "ops/op_util.h"
#include "params/matmul.h"

/* A weight after validation. */
typedef struct mlxn__mm_w {
    const mlxn_weight *w;
    const char *fmt;      /* kernel suffix: f32 ... q6_k, mlx4, mlx8, mlx */
    int mlx;              /* MLX affine (three buffers) */
    int64_t n, k;
    uint64_t row_bytes;   /* bytes of one row of w->w */
    uint32_t chunk_bytes; /* bytes of MLXN_MATVEC_CHUNK elements of a row */
    uint32_t bits, group_size, scale_bf16;
    uint32_t symmetric;   /* MLX affine without biases (MLXN_MM_SYMMETRIC) */
} mlxn__mm_w;

mlxn_status mlxn__mm_check_weight(mlxn_encoder *enc, const char *op, const char *arg,
                                  const mlxn_weight *w, mlxn__mm_w *out);
/* Kernel parameters for a product of m rows with this weight. */
mlxn_matmul_params mlxn__mm_params(const mlxn__mm_w *d, int64_t m);
/* Append the weight's buffer slots (w, or w, scales, biases) as reads. */
void mlxn__mm_bind_weight(mlxn__op_launch *l, const mlxn__mm_w *d);
/* Append a slot for `bytes` bytes of a buffer at `offset`, read and/or
 * written (workspaces). */
void mlxn__mm_bind_range(mlxn__op_launch *l, mlxn_buffer *b, size_t offset, size_t bytes,
                         int reads, int writes);
/* Dequantize d's weight to out_dtype (f32, f16 or bf16) at `offset` in
 * `ws` (dequant_<f>). */
mlxn_status mlxn__mm_dequant_to(mlxn_encoder *enc, const mlxn__mm_w *d, mlxn_buffer *ws,
                                size_t offset, mlxn_dtype out_dtype);

/* Whether two buffers share bytes of one allocation. */
int mlxn__mm_overlaps(const mlxn_buffer *a, const mlxn_buffer *b);

/* An x8 buffer (matmul_x8.c) for `rows` rows of k values: k a multiple of
 * 32, MLXN_X8_ROW_BYTES(k) bytes a row, 16-byte aligned, not overlapping
 * `other` (may be NULL); errors name `arg`. */
mlxn_status mlxn__mm_check_x8(mlxn_encoder *enc, const char *op, const char *arg,
                              mlxn_buffer *x8, int64_t rows, int64_t k, mlxn_buffer *other);

/* out (m, n) = silu(gu[:, :n]) * gu[:, n:2n], gu (m, 2n) f32 at the start
 * of a workspace. */
mlxn_status mlxn__mm_swiglu_join(mlxn_encoder *enc, mlxn_buffer *gu, int64_t m, int64_t n,
                                mlxn_buffer *out);

/* The cuBLAS prefill path: out = x @ W^T (+ add), or, with w_up, out =
 * silu(x @ W^T) * (x @ Wup^T). Only when mlxn__encoder_gemm_available. */
typedef struct mlxn__prefill {
    mlxn_buffer *x;   /* (m, k) f32 */
    const mlxn__mm_w *w, *w_up;
    mlxn_buffer *add; /* (m, n) f32 or NULL */
    mlxn_buffer *out; /* (m, n) f32 */
    int64_t m;
} mlxn__prefill;

mlxn_status mlxn__mm_prefill_gemm(mlxn_encoder *enc, const mlxn__prefill *pf);

/* Workspace slots of the matmul ops. */
enum { MM_WS_W = 0, MM_WS_GU = 2, MM_WS_BLAS = 3 };
#define MM_BLAS_WORKSPACE_BYTES ((size_t)32 << 20)

#endif /* MLXN_MATMUL_INTERNAL_H */
