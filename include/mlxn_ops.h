/*
 * mlxn_ops.h: the op API (included by mlxn.h). An op validates shapes,
 * dtypes and sizes, picks a kernel, binds buffers and parameters and
 * encodes one dispatch (annotated with its read and write ranges) on the
 * encoder. It never commits. Shapes are outermost first; "rows" are all
 * dimensions but the innermost. Outputs may alias inputs only where said.
 */
#ifndef MLXN_OPS_H
#define MLXN_OPS_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- elementwise ---------------------------------------------------------
 * out[i] = a[i] + b[i % nb]  /  a[i] * b[i % nb]  /  a[i] * s
 * a, b, out: one dtype of f32, f16, bf16. b's element count nb must divide
 * a's (b repeats along a: a bias or weight row). out has a's element count
 * and may alias a. Arithmetic in f32. */
mlxn_status mlxn_op_add(mlxn_encoder *enc, mlxn_buffer *a, mlxn_buffer *b,
                        mlxn_buffer *out);
mlxn_status mlxn_op_mul(mlxn_encoder *enc, mlxn_buffer *a, mlxn_buffer *b,
                        mlxn_buffer *out);
mlxn_status mlxn_op_scale(mlxn_encoder *enc, mlxn_buffer *a, float s,
                          mlxn_buffer *out);

/* ---- RMS norm ------------------------------------------------------------
 * out[r][j] = x[r][j] / sqrt(mean_j(x[r][j]^2) + eps) * w[j]
 * x, out: f32 (rows, n), same shape, may alias. w: (n) in f32, f16 or bf16,
 * or NULL for no weight. With a weight this is the fused rms_norm_mul
 * kernel. */
mlxn_status mlxn_op_rms_norm(mlxn_encoder *enc, mlxn_buffer *x, mlxn_buffer *w,
                             float eps, mlxn_buffer *out);

/* ---- activations: SwiGLU, GELU, softcap, softmax, argmax -------------- */


/* ---- embedding lookup ------------------------------------------------- */


/* ---- RoPE --------------------------------------------------------------- */


/* ---- sampling ----------------------------------------------------------- */


/* ---- KV cache and attention ----------------------------------------------- */


/* ---- matrix products: dense and quantized ------------------------------- */

/* A weight matrix W of shape (n, k): n rows (output features) of k inputs.
 *  - dense: w is f32, f16 or bf16 with shape (n, k);
 *  - GGUF blocks: w is q4_0, q8_0, q4_k or q6_k with shape (n, k), blocked
 *    along k (k a multiple of the block: 32 or 256);
 *  - MLX affine (mlx.core.quantize): w is U32 with shape (n, k*bits/32),
 *    scales and biases f16 or bf16 (the same dtype) with shape
 *    (n, k/group_size); bits 2, 3, 4, 5, 6 or 8, group_size 32, 64 or 128;
 *    element j of a row sits at bits [j*bits, (j+1)*bits) of the row's
 *    little-endian bit stream and w[j] = scale * q + bias.
 * scales, biases, bits and group_size are ignored unless w is U32. The
 * address of w must be a multiple of 4 bytes. */
typedef struct mlxn_weight {
    mlxn_buffer *w;
    mlxn_buffer *scales; /* MLX affine only, else NULL */
    mlxn_buffer *biases; /* MLX affine only, else NULL */
    int bits;            /* MLX affine only */
    int group_size;      /* MLX affine only */
} mlxn_weight;

/* out = x @ W^T (+ add)
 * x: (m, k) f32 (any shape whose last dimension is k; m is the product of
 * the others). out, add: (m, n) f32 (element counts must match); add may be
 * NULL and may alias out (residual connections: out = x @ W^T + out).
 * m <= 8 runs matrix-vector kernels that stream W once with f32
 * arithmetic; larger m runs the prefill path: on CUDA a cuBLAS bf16 GEMM
 * with f32 accumulation on W and x rounded to bf16 (relative error around
 * 1e-2 per element), or, while capturing or without cuBLAS, a tiled f32
 * kernel of our own; on the CPU a blocked f32 kernel. */
mlxn_status mlxn_op_matmul(mlxn_encoder *enc, mlxn_buffer *x, const mlxn_weight *w,
                           mlxn_buffer *add, mlxn_buffer *out);

/* out = silu(x @ Wg^T) * (x @ Wu^T), the fused gate/up/SwiGLU product.
 * x: (m, k) f32; Wg and Wu: same format and shape (n, k); out: (m, n) f32,
 * must not alias x. Same paths and precision as mlxn_op_matmul. */
mlxn_status mlxn_op_matmul_swiglu(mlxn_encoder *enc, mlxn_buffer *x,
                                  const mlxn_weight *w_gate, const mlxn_weight *w_up,
                                  mlxn_buffer *out);


/* ---- quantization: reference quantizers and dequantization -------------- */

/* Host-side reference quantizers (no device needed). GGUF rows follow
 * ggml's reference quantizers (quantize_row_*_ref), so a file written with
 * them dequantizes as one written by ggml; MLX affine rows follow
 * mlx.core.quantize. k must be a multiple of the block (32 for q4_0 and
 * q8_0, 256 for q4_k and q6_k) or of the group size.
 *
 * Quantize k floats into one row of `dtype` (f32, f16, bf16, q4_0, q8_0,
 * q4_k, q6_k), mlxn_dtype_bytes(dtype, k) bytes at out. */
mlxn_status mlxn_quantize_row(mlxn_dtype dtype, const float *x, int64_t k, void *out);
/* The inverse: k floats from one row of `dtype`. */
mlxn_status mlxn_dequantize_row(mlxn_dtype dtype, const void *in, int64_t k, float *out);

/* An MLX affine format: bits (2, 3, 4, 5, 6, 8), group_size (32, 64, 128),
 * scale_dtype (f16 or bf16) of scales and biases. Default: 4, 64, f16. */
typedef struct mlxn_affine_format {
    int bits;
    int group_size;
    mlxn_dtype scale_dtype;
} mlxn_affine_format;

mlxn_affine_format mlxn_affine_format_default(void);

/* One row of an MLX affine matrix: k*bits/8 bytes of packed values at w,
 * k/group_size scales and biases. */
typedef struct mlxn_affine_row {
    void *w;
    void *scales;
    void *biases;
} mlxn_affine_row;

mlxn_status mlxn_quantize_row_affine(const mlxn_affine_format *f, const float *x, int64_t k,
                                     const mlxn_affine_row *out);
mlxn_status mlxn_dequantize_row_affine(const mlxn_affine_format *f,
                                       const mlxn_affine_row *in, int64_t k, float *out);

/* out = W dequantized on the device: (n, k) in f32, f16 or bf16. W is any
 * weight mlxn_op_matmul accepts. */
mlxn_status mlxn_op_dequantize(mlxn_encoder *enc, const mlxn_weight *w, mlxn_buffer *out);


#ifdef __cplusplus
}
#endif

#endif /* MLXN_OPS_H */
