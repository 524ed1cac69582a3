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

/* ---- random fill ------------------------------------------------------------
 * Seeded random contents, the same bytes on every backend (synthetic
 * weights). f32/f16/bf16: uniform in [lo, hi). GGUF block formats: random
 * bits with every f16 scale field uniform in [lo, hi). Other dtypes:
 * random bits (the view must be whole 32-bit words). */
mlxn_status mlxn_op_fill_random(mlxn_encoder *enc, mlxn_buffer *buf, uint64_t seed,
                                float lo, float hi);

/* ---- copy ---------------------------------------------------------------------
 * dst = src, byte for byte; the views must have the same size and must not
 * overlap (a view onto itself is a no-op). */
mlxn_status mlxn_op_copy(mlxn_encoder *enc, mlxn_buffer *src, mlxn_buffer *dst);

/* ---- activations: SwiGLU, GELU, softcap, softmax, argmax -------------- */


/* ---- embedding lookup ------------------------------------------------- */


/* ---- RoPE --------------------------------------------------------------- */


/* ---- sampling ----------------------------------------------------------- */


/* ---- KV cache and attention ----------------------------------------------- */


/* ---- matrix products: dense and quantized ------------------------------- */


/* ---- quantization: reference quantizers and dequantization -------------- */


#ifdef __cplusplus
}
#endif

#endif /* MLXN_OPS_H */
