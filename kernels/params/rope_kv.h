/*
 * params/rope_kv.h: the fused RoPE + KV-cache write kernels (rope_kv_f16,
 * rope_kv_f32; the suffix is the cache dtype). Slots: float *q,
 * const float *k, const float *v, const int32_t *positions,
 * const float *freq_factors (any buffer when has_factors is 0),
 * const int32_t *pos, cache *k_cache, cache *v_cache, mlxn_rope_kv_kparams.
 * Grid (n_tokens, ceil((n_head + 2 n_kv) / heads_per_block)): block (t, g)
 * handles rows g*heads_per_block.. of token t, where rows [0, n_head) are
 * q heads (rotated in place), [n_head, n_head + n_kv) k heads (rotated
 * into k_cache) and the rest v heads (copied into v_cache). Angles as in
 * the RoPE kernels (params/rope.h): double precision, rounded to f32.
 */
#ifndef MLXN_PARAMS_ROPE_KV_H
#define MLXN_PARAMS_ROPE_KV_H

#include <stdint.h>

typedef struct mlxn_rope_kv_kparams {
    uint32_t n_tokens;
    uint32_t n_head, n_kv;
    uint32_t head_dim;
    uint32_t n_rot;
    uint32_t neox;            /* 1: pairs (i, i + n_rot/2); 0: (2i, 2i+1) */
    uint32_t heads_per_block;
    uint32_t has_factors;
    uint32_t n_ctx;           /* cache rows; rows at or past it are skipped */
    float theta_base;
    float freq_scale;
    uint32_t flags;           /* MLXN_ROPE_KV_* */
} mlxn_rope_kv_kparams;

enum {
    /* positions cannot change while the kernel may run: the angles are
     * computed before waiting for the previous kernel */
    MLXN_ROPE_KV_STABLE_POSITIONS = 1u << 0
};

#endif /* MLXN_PARAMS_ROPE_KV_H */
