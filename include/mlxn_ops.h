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


/* RoPE fused with the KV-cache write (kernels rope_kv_<cache dtype>):
 *   q[t] = rope(q[t]) in place; k_cache[h][pos + t] = rope(k[t][h]);
 *   v_cache[h][pos + t] = v[t][h]
 * One dispatch where rope + two kv_writes take three, with the same
 * arithmetic. q (n_tokens, n_head, head_dim), k and v (n_tokens, n_kv,
 * head_dim) f32; positions (n_tokens) I32 (the rotation angles); pos (1) I32
 * device buffer, the cache row of token 0 (negative reads as 0; rows at or
 * past n_ctx are not written); caches (n_kv, n_ctx, head_dim), both f16 or
 * both f32. k and v are read only. */
typedef struct mlxn_rope_kv_args {
    mlxn_buffer *q, *k, *v;
    mlxn_buffer *positions;
    mlxn_buffer *freq_factors; /* (n_rot / 2) f32 or NULL */
    const mlxn_rope_params *rope;
    mlxn_buffer *pos;
    mlxn_buffer *k_cache, *v_cache;
    /* 1 when positions (and freq_factors) are not written by any kernel
     * that may still run when this op starts (positions written by the
     * host before the step): the CUDA kernel then computes the angles
     * before waiting for the previous kernel. Default 0. */
    int stable_positions;
} mlxn_rope_kv_args;

mlxn_status mlxn_op_rope_kv_write(mlxn_encoder *enc, const mlxn_rope_kv_args *a);

/* ---- sampling ----------------------------------------------------------- */

/* Sampling on the device, replay-friendly: everything that changes per
 * draw (the step counter of the random numbers, the recent-token ring)
 * lives in a state buffer that the kernels read and advance, so a recorded
 * decode step can be replayed with nothing coming from the host.
 *
 * One draw from logits z (n_vocab) f32, in this order:
 *  1. penalty: a token in the ring (the last repeat_last_n tokens) gets
 *     z > 0 ? z / repeat_penalty : z * repeat_penalty (llama.cpp's rule,
 *     once per distinct token). NaN logits count as -inf.
 *  2. greedy when temperature <= 0 or top_k == 1: the lowest index of the
 *     largest penalised logit (exactly mlxn_op_argmax without penalty).
 *  3. l = z / temperature; d = l - max(l); p = exp(d) (so the top token
 *     has p = 1); tokens are ranked by d, ties by lower index.
 *  4. top_k > 0: keep the first top_k ranks (exactly top_k tokens).
 *  5. top_p < 1: of those, keep the shortest rank prefix whose mass reaches
 *     top_p of their total (the boundary token is kept).
 *  6. min_p > 0: of those, keep tokens with p >= min_p (relative to the top
 *     token, whose p is 1).
 *  7. draw from the kept tokens in proportion to p: the token with the
 *     largest p / E, where E is an Exp(1) variate from a counter-based hash
 *     of (seed, step, token) (the exponential race: an exact draw).
 *  8. append the token to the ring and advance the step.
 * CPU and CUDA pick the same token for the same seed: both evaluate the
 * same float operations (own exp and log polynomials, no fused multiply-
 * add) and integer masses (p quantised to 2^-44, so tokens with d < -30.5
 * carry no mass in step 5 and every exp below d = -80 is 0). If every
 * logit is -inf or NaN, or one is +inf, the draw is greedy.
 * No sort and no host round trip: multi-block passes find the max, a
 * histogram of the ranks and the tokens of the top-k / top-p boundary
 * region; one block narrows those exactly; a last pass draws. */
typedef struct mlxn_sample_params {
    float temperature;    /* 0 = greedy (argmax); default 0.8 */
    int top_k;            /* 0 = off; default 40 */
    float top_p;          /* 1 = off; default 0.95 */
    float min_p;          /* 0 = off; default 0.05 */
    float repeat_penalty; /* 1 = off (default) */
    int repeat_last_n;    /* ring size: tokens of the window; default 64 */
    uint64_t seed;        /* default 0 */
} mlxn_sample_params;

mlxn_sample_params mlxn_sample_params_default(void);

/* Bytes of the state buffer for these params (RNG step, scratch of the
 * multi-block kernels, the ring). 0 when the params are invalid. The
 * buffer must start 8-byte aligned; use the same params for reset, accept
 * and sample. */
size_t mlxn_sampler_state_bytes(const mlxn_sample_params *p);

/* Reset a state buffer (in queue order) to step 0 with an empty ring. A
 * fresh zero-filled buffer is already reset. */
mlxn_status mlxn_op_sample_reset(mlxn_encoder *enc, const mlxn_sample_params *p,
                                 mlxn_buffer *state);

/* Append tokens (n) I32 (a device buffer: e.g. the prompt) to the ring,
 * so that the repetition penalty sees them, as llama.cpp's sampler does.
 * Does not advance the step. */
mlxn_status mlxn_op_sample_accept(mlxn_encoder *enc, const mlxn_sample_params *p,
                                  mlxn_buffer *state, mlxn_buffer *tokens);

/* Draw one token from logits (n_vocab) f32 (any shape; n_vocab < 2^20)
 * into out (1) I32 and advance the state (kernels sample_max_f32,
 * sample_hist_f32, sample_compact_f32, sample_select_f32, sample_pick_f32;
 * the op encodes only those the params need: greedy and temperature/min-p
 * draws use max and pick). */
mlxn_status mlxn_op_sample(mlxn_encoder *enc, mlxn_buffer *logits,
                           const mlxn_sample_params *p, mlxn_buffer *state,
                           mlxn_buffer *out);


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
    /* 1 when pos and the cache rows before pos[0] are not written by any
     * kernel that may still run when this op starts (a decode step whose
     * previous op writes only the row at pos): the decode kernel (f16
     * caches, head dims 64/80/96/128/256) then loads its first keys and
     * values before waiting for the previous kernel, and its blocks
     * without keys leave before it. Default 0. */
    int stable_prefix;
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

/* A weight matrix W of shape (n, k): n rows (output features) of k inputs.
 *  - dense: w is f32, f16 or bf16 with shape (n, k);
 *  - GGUF blocks: w is q4_0, q8_0, q4_k or q6_k with shape (n, k), blocked
 *    along k (k a multiple of the block: 32 or 256);
 *  - MLX affine (mlx.core.quantize): w is U32 with shape (n, k*bits/32),
 *    scales and biases f16 or bf16 (the same dtype) with shape
 *    (n, k/group_size); bits 2, 3, 4, 5, 6 or 8, group_size 32, 64 or 128;
 *    element j of a row sits at bits [j*bits, (j+1)*bits) of the row's
 *    little-endian bit stream and w[j] = scale * q + bias;
 *  - symmetric affine: as MLX affine with biases NULL: w[j] = scale *
 *    (q - 2^(bits-1)). The model loaders store GGUF Q4_0 matrices this way
 *    (bits 4, group 32, f16 scales: the same values and the same 18 bytes
 *    per 32 elements, but 16-byte aligned rows of codes that the
 *    matrix-vector kernels read with wide loads).
 * scales, biases, bits and group_size are ignored unless w is U32. The
 * address of w must be a multiple of 4 bytes. */
typedef struct mlxn_weight {
    mlxn_buffer *w;
    mlxn_buffer *scales; /* MLX affine only, else NULL */
    mlxn_buffer *biases; /* MLX affine only; NULL: symmetric affine */
    int bits;            /* MLX affine only */
    int group_size;      /* MLX affine only */
    /* 1 when no dispatch that may still be running writes these buffers
     * while products read them (a model's weights once loaded): the
     * int8-activation kernels then load their first weight bytes before
     * waiting for the previous kernel (programmatic dependent launch), so
     * the load latency overlaps that kernel's tail. 0 (a zeroed struct):
     * W is read only after the wait. The model loaders set it. */
    int immutable;
} mlxn_weight;

/* Bytes of a weight's buffers (w, scales, biases): what a product reads. */
size_t mlxn_weight_bytes(const mlxn_weight *w);

/* out = x @ W^T (+ add)
 * x: (m, k) f32 (any shape whose last dimension is k; m is the product of
 * the others). out, add: (m, n) f32 (element counts must match); add may be
 * NULL and may alias out (residual connections: out = x @ W^T + out).
 * m <= 8 runs matrix-vector kernels that stream W once with f32
 * arithmetic, except m = 1 with 4-bit affine, Q4_K or (immutable, k a
 * multiple of 2048 / 256 / 8 groups) Q6_K / Q8_0 / 8-bit affine weights,
 * which rounds x to 8 bits per 32 values (see matvec_exact in
 * mlxn_device_params); larger m
 * runs the prefill path: on CUDA a cuBLAS GEMM, in f32 for f32 weights and
 * with tf32 inputs on W dequantized to f32 otherwise (relative error around
 * 1e-3), or, while capturing or without cuBLAS, a tiled f32 kernel of our
 * own; on the CPU a blocked f32 kernel. */
mlxn_status mlxn_op_matmul(mlxn_encoder *enc, mlxn_buffer *x, const mlxn_weight *w,
                           mlxn_buffer *add, mlxn_buffer *out);

/* out = silu(x @ Wg^T) * (x @ Wu^T), the fused gate/up/SwiGLU product.
 * x: (m, k) f32; Wg and Wu: same format and shape (n, k); out: (m, n) f32,
 * must not alias x. Same paths and precision as mlxn_op_matmul. */
mlxn_status mlxn_op_matmul_swiglu(mlxn_encoder *enc, mlxn_buffer *x,
                                  const mlxn_weight *w_gate, const mlxn_weight *w_up,
                                  mlxn_buffer *out);


/* x rounded once, by its producer. The int8-activation kernels (m = 1,
 * above) round x to 8 bits per 32 values in every block of the grid; a
 * row already rounded (an "x8 row": the codes, each block's scale and
 * code sum, then an 8-byte slot per value for producers that round their
 * own output; mlxn_x8_row_bytes(k) bytes with k a multiple of 32;
 * kernels/params/matmul.h) spares each block reading and rounding the f32
 * row. Results equal those from the f32 row bit for bit.
 *   mlxn_op_round_x8: x8 = x (m, k) f32 rounded, one x8 row per row of x.
 *   mlxn_op_matmul_x8: mlxn_op_matmul, where x8 (or NULL) holds x rounded
 *     (written after x's last change by mlxn_op_round_x8 or as out_x8
 *     below); the int8-activation kernels read x8, the others x.
 *   mlxn_op_norm_matmul_swiglu_x8: mlxn_op_norm_matmul_swiglu that also
 *     writes out rounded to out_x8 (or nothing for NULL): the copy-engine
 *     kernels round each block of 32 outputs once all 32 are written (n a
 *     multiple of 32), the other paths by mlxn_op_round_x8 after the
 *     product.
 * x8 buffers: 16-byte aligned, m * mlxn_x8_row_bytes(k) bytes or more,
 * overlapping no f32 argument; an out_x8 buffer must be zeroed when made
 * (buffers are created zeroed) and then written only by these ops: its
 * slots' tags are kept across dispatches (a block whose tags disagree is
 * rounded with a NaN scale after a few seconds of waiting). */
/* Bytes of one x8 row of k values; 0 when k is not a positive multiple of 32. */
size_t mlxn_x8_row_bytes(int64_t k);
mlxn_status mlxn_op_round_x8(mlxn_encoder *enc, mlxn_buffer *x, mlxn_buffer *x8);
/* 1 when rounding by the producer pays for an FFN of one row: with these
 * arguments mlxn_op_norm_matmul_swiglu_x8 rounds h (its out) in its own
 * kernel and mlxn_op_matmul_x8 with w_down reads the x8 row; 0 when either
 * would not (an extra mlxn_op_round_x8 launch costs more than it saves) or
 * the arguments do not fit. */
int mlxn_op_swiglu_x8_pays(mlxn_encoder *enc, mlxn_buffer *x, mlxn_buffer *norm_w,
                           const mlxn_weight *w_gate, const mlxn_weight *w_up, mlxn_buffer *h,
                           const mlxn_weight *w_down);
mlxn_status mlxn_op_matmul_x8(mlxn_encoder *enc, mlxn_buffer *x, mlxn_buffer *x8,
                              const mlxn_weight *w, mlxn_buffer *add, mlxn_buffer *out);

/* The RMS norm of mlxn_op_rms_norm folded into a product:
 *   mlxn_op_norm_matmul:        out = rms_norm(x, norm_w, eps) @ W^T
 *   mlxn_op_norm_matmul_swiglu: out = silu(n @ Wg^T) * (n @ Wu^T),
 *                               n = rms_norm(x, norm_w, eps)
 * One kernel where the int8-activation kernels run (m = 1, 4-bit affine,
 * Q4_K, Q6_K, Q8_0 or 8-bit affine weights as mlxn_op_matmul says,
 * norm_w f32, 16-byte aligned x and norm_w; see matvec_exact in
 * mlxn_device_params): every block normalises x (sum of squares in
 * float64, as the CPU's rms_norm) before rounding it to 8 bits, so the
 * norm costs no launch of its own. Otherwise mlxn_op_rms_norm writes
 * `norm` and the product reads it. norm: f32 scratch with x's element
 * count, overlapping neither x nor out; its contents afterwards are
 * unspecified. Shapes and the other arguments as mlxn_op_rms_norm and
 * mlxn_op_matmul / mlxn_op_matmul_swiglu (no add). */
mlxn_status mlxn_op_norm_matmul(mlxn_encoder *enc, mlxn_buffer *x, mlxn_buffer *norm_w,
                                float eps, mlxn_buffer *norm, const mlxn_weight *w,
                                mlxn_buffer *out);
mlxn_status mlxn_op_norm_matmul_swiglu(mlxn_encoder *enc, mlxn_buffer *x, mlxn_buffer *norm_w,
                                       float eps, mlxn_buffer *norm,
                                       const mlxn_weight *w_gate, const mlxn_weight *w_up,
                                       mlxn_buffer *out);
mlxn_status mlxn_op_norm_matmul_swiglu_x8(mlxn_encoder *enc, mlxn_buffer *x,
                                          mlxn_buffer *norm_w, float eps, mlxn_buffer *norm,
                                          const mlxn_weight *w_gate, const mlxn_weight *w_up,
                                          mlxn_buffer *out, mlxn_buffer *out_x8);

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
 * k/group_size scales and biases. mlxn_dequantize_row_affine accepts NULL
 * biases (symmetric affine: w = scale * (q - 2^(bits-1))). */
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
