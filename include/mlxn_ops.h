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


/* ---- KV cache and attention -----------------------------------------------
 * A KV cache is one tensor per layer for keys and one for values, each
 * (n_kv_heads, n_ctx, head_dim) in f16 or f32: position p of head h is row
 * [h][p]. The position of the first token of a chunk is read by the kernels
 * from `pos`, a (1) I32 device buffer, so a recorded graph can be replayed
 * every token after mlxn_encoder_update_buffer writes the new position;
 * nothing about the launch depends on its value. A negative position is
 * read as 0. Tensors are contiguous, with views 16-byte aligned (pos:
 * 4-byte aligned). */

/* cache[h][pos + t][d] = kv[t][h][d], rounded to the cache's dtype, for
 * every token t with pos + t < n_ctx; rows past the cache are dropped
 * (nothing is written out of bounds).
 * kv: (n_tokens, n_kv_heads, head_dim) f32. cache: (n_kv_heads, n_ctx,
 * head_dim) f16 or f32, any head_dim. pos: (>= 1) I32. */
mlxn_status mlxn_op_kv_write(mlxn_encoder *enc, mlxn_buffer *kv,
                             mlxn_buffer *pos, mlxn_buffer *cache);

typedef struct mlxn_attention_params {
    float scale;   /* default 0: 1/sqrt(head_dim) */
    float softcap; /* 0 = off; else s = softcap * tanh(s / softcap) */
    /* 0 = full causal; else query at position P sees keys P-window+1..P */
    int window;
} mlxn_attention_params;

mlxn_attention_params mlxn_attention_params_default(void);

/* Decode scratch: bytes of arrival counters at its start (see below). */
#define MLXN_ATTENTION_SCRATCH_COUNTER_BYTES 4096

/* Bytes of scratch mlxn_op_attention needs: for decode (n_tokens == 1)
 * 4096 + n_heads * min(256, ceil(n_ctx / 32)) * (head_dim + 2) * 4, else 0.
 * Depends on the shapes only, not on the device or the position. */
size_t mlxn_attention_scratch_bytes(int n_tokens, int n_heads, int head_dim,
                                    int n_ctx);

/* Causal attention of n_tokens queries at positions P_i = pos + i over the
 * cache (after this chunk's keys and values were written with kv_write):
 *   s_ij  = scale * (q_i . k_j)            for keys j in [lo_i, hi_i]
 *   s_ij  = softcap * tanh(s_ij / softcap)  when softcap > 0
 *   out_i = sum_j softmax_j(s_ij) * v_j
 * with hi_i = min(P_i, n_ctx - 1) and lo_i = 0, or max(0, P_i - window + 1)
 * with a window. A query that sees no key gets zeros. Query head h reads
 * KV head h / (n_heads / n_kv_heads) (grouped-query attention).
 * q, out: (n_tokens, n_heads, head_dim) f32 (out must not alias q).
 * k_cache, v_cache: (n_kv_heads, n_ctx, head_dim), both f16 or both f32.
 * head_dim: any even number from 2 to 256 (64, 80, 96, 128 and 256 have
 * specialised kernels; others fail with MLXN_ERR_UNSUPPORTED).
 * pos: (>= 1) I32. p: NULL for the defaults.
 * n_tokens == 1 (decode) is one kernel: it splits the key range into
 * chunks chosen from n_ctx and the device's multiprocessor count (fixed
 * for given shapes), writes each chunk's partial softmax into `scratch`,
 * and the last block to finish each group of heads combines them.
 * scratch: at least mlxn_attention_scratch_bytes() bytes (NULL when that
 * is 0), any dtype, 16-byte aligned. Its first
 * MLXN_ATTENTION_SCRATCH_COUNTER_BYTES (4096) bytes are arrival
 * counters that must be zero when a decode call runs: a newly created
 * buffer is zero-filled, and every decode call leaves them zero (calls of
 * any shapes may share one scratch); write zeros there again after using
 * the buffer for anything else. The rest is overwritten. Decode supports
 * n_kv_heads * ceil(group / 8) <= 1024 (group = n_heads / n_kv_heads), so
 * any n_heads <= 1024; beyond that it may fail with MLXN_ERR_UNSUPPORTED.
 * n_tokens > 1 (prefill) is one tiled online-softmax kernel (tensor cores
 * for f16 caches with a specialised head dim). */
mlxn_status mlxn_op_attention(mlxn_encoder *enc, mlxn_buffer *q,
                              mlxn_buffer *k_cache, mlxn_buffer *v_cache,
                              mlxn_buffer *pos,
                              const mlxn_attention_params *p,
                              mlxn_buffer *scratch, mlxn_buffer *out);


/* ---- matrix products: dense and quantized ------------------------------- */


/* ---- quantization: reference quantizers and dequantization -------------- */


#ifdef __cplusplus
}
#endif

#endif /* MLXN_OPS_H */
