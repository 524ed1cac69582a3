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

/* Fused residual add and RMS norm (kernels add_rms_norm_mul_<w dtype>):
 *   sum[r][j] = x[r][j] + residual[r][j]
 *   norm[r][j] = sum[r][j] / sqrt(mean_j(sum[r][j]^2) + eps) * w[j]
 * x, residual, sum, norm: f32 (rows, n), same element count. w: (n) in
 * f32, f16 or bf16. sum may alias x or residual; norm aliases nothing. */
mlxn_status mlxn_op_add_rms_norm(mlxn_encoder *enc, mlxn_buffer *x,
                                 mlxn_buffer *residual, mlxn_buffer *w,
                                 float eps, mlxn_buffer *sum,
                                 mlxn_buffer *norm);

/* ---- activations: SwiGLU, GELU, softcap, softmax, argmax -------------- */

/* SwiGLU (kernel silu_mul_f32):
 *   out[i] = silu(gate[i]) * up[i] = gate[i] / (1 + exp(-gate[i])) * up[i]
 * gate, up, out: f32, same element count; out may alias gate or up. */
mlxn_status mlxn_op_silu_mul(mlxn_encoder *enc, mlxn_buffer *gate,
                             mlxn_buffer *up, mlxn_buffer *out);

typedef enum mlxn_gelu_kind {
    MLXN_GELU_ERF = 0, /* 0.5 x (1 + erf(x / sqrt 2)) */
    MLXN_GELU_TANH = 1 /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
} mlxn_gelu_kind;

/* GELU (kernels gelu_erf_f32, gelu_tanh_f32): out[i] = gelu(x[i]).
 * x, out: f32, same element count; out may alias x. */
mlxn_status mlxn_op_gelu(mlxn_encoder *enc, mlxn_buffer *x, mlxn_gelu_kind kind,
                         mlxn_buffer *out);

/* Logit soft-capping (kernel softcap_f32): out[i] = cap * tanh(x[i] / cap).
 * x, out: f32, same element count; out may alias x. cap > 0. */
mlxn_status mlxn_op_softcap(mlxn_encoder *enc, mlxn_buffer *x, float cap,
                            mlxn_buffer *out);

/* Softmax over the innermost dimension (kernel softmax_f32):
 *   out[r][j] = exp(x[r][j] * scale - mx) / sum_j exp(x[r][j] * scale - mx)
 * with mx = max_j(x[r][j] * scale). x, out: f32 (rows, n), same shape; out
 * may alias x. One block per row. */
mlxn_status mlxn_op_softmax(mlxn_encoder *enc, mlxn_buffer *x, float scale,
                            mlxn_buffer *out);

/* Argmax over the innermost dimension (kernel argmax_f32):
 *   out[r] = the lowest j with x[r][j] == max_j x[r][j]
 * x: f32 (rows, n); out: I32 (rows). NaN never wins (it counts as -inf);
 * a row of -inf and NaN gives 0. One block (a parallel reduction) per row. */
mlxn_status mlxn_op_argmax(mlxn_encoder *enc, mlxn_buffer *x, mlxn_buffer *out);


/* ---- embedding lookup ------------------------------------------------- */

/* Embedding lookup (kernels embed_<table dtype>):
 *   out[i][j] = table[ids[i]][j] as f32, or 0 when ids[i] is out of range
 * table: (n_rows, n_embd) of any dtype that has an embed_<dtype> kernel
 * (f32, f16, bf16 here; quantized kernels follow the ABI in
 * kernels/params/embed.h). ids: (n) I32 in a device buffer, read by the
 * kernel (replay-friendly). out: (n, n_embd) f32 (any shape with n * n_embd
 * elements). Fails with MLXN_ERR_UNSUPPORTED when the dtype has no kernel. */
mlxn_status mlxn_op_embed(mlxn_encoder *enc, mlxn_buffer *table,
                          mlxn_buffer *ids, mlxn_buffer *out);


/* ---- RoPE --------------------------------------------------------------- */

typedef enum mlxn_rope_mode {
    MLXN_ROPE_INTERLEAVED = 0, /* pairs (2i, 2i+1): GGUF "llama" order */
    MLXN_ROPE_NEOX = 1         /* pairs (i, i + n_rot/2): Hugging Face order */
} mlxn_rope_mode;

typedef struct mlxn_rope_params {
    mlxn_rope_mode mode; /* default MLXN_ROPE_INTERLEAVED */
    int n_rot;           /* rotated dims per head: even, <= head_dim; the
                            rest pass through. 0 (default) = head_dim */
    float theta_base;    /* default 10000 */
    float freq_scale;    /* linear scaling: angles use pos * freq_scale;
                            default 1 */
} mlxn_rope_params;

mlxn_rope_params mlxn_rope_params_default(void);

/* Rotary position embedding (kernels rope_interleaved_f32, rope_neox_f32).
 * For pair i < n_rot/2 of each head of token t, with pos = positions[t]:
 *   angle = pos * freq_scale * theta_base^(-2i / n_rot) / factor_i
 *   (a, b) -> (a cos(angle) - b sin(angle), a sin(angle) + b cos(angle))
 * where factor_i = freq_factors[i] (Llama 3.1 scaling; the model computes
 * them) or 1 when freq_factors is NULL. Angles are computed in double
 * precision, so large positions keep full f32 accuracy.
 * x, out: f32 (n_tokens, n_heads, head_dim), same shape; out may alias x.
 * positions: (n_tokens) I32, read by the kernel (replay-friendly).
 * freq_factors: (n_rot/2) f32 or NULL. */
mlxn_status mlxn_op_rope(mlxn_encoder *enc, mlxn_buffer *x,
                         mlxn_buffer *positions, mlxn_buffer *freq_factors,
                         const mlxn_rope_params *p, mlxn_buffer *out);


/* ---- sampling ----------------------------------------------------------- */


/* ---- KV cache and attention ----------------------------------------------- */


/* ---- matrix products: dense and quantized ------------------------------- */


/* ---- quantization: reference quantizers and dequantization -------------- */


#ifdef __cplusplus
}
#endif

#endif /* MLXN_OPS_H */
