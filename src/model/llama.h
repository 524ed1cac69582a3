/*
 * llama.h: the Llama-family model inside mlxn: weights on the device,
 * the KV cache, activation buffers, and the internal steps shared by
 * loading, the forward pass and generation. Loaders fill an mlxn_model
 * through mlxn__model_init and the weight setters here.
 */
#ifndef MLXN_LLAMA_H
#define MLXN_LLAMA_H

#include "core/internal.h"

/* One transformer block's weights and cache. */
typedef struct mlxn__layer {
    mlxn_buffer *attn_norm, *ffn_norm; /* (n_embd) f32 */
    /* (n_q + 2 n_kv, n_embd): q, k, v rows in one matrix when the three
     * share a format (w NULL otherwise) */
    mlxn_weight wqkv;
    mlxn_weight wq, wk, wv;            /* row views of wqkv, or separate */
    mlxn_buffer *bqkv;                 /* (n_q + 2 n_kv) f32 or NULL (Qwen2) */
    mlxn_buffer *bq, *bk, *bv;         /* views of bqkv */
    mlxn_buffer *q_norm, *k_norm;      /* (head_dim) f32 or NULL (Qwen3) */
    mlxn_weight wo;                    /* (n_embd, n_q) */
    mlxn_weight w_gate, w_up;          /* (n_ff, n_embd) */
    mlxn_weight w_down;                /* (n_embd, n_ff) */
    mlxn_buffer *k_cache, *v_cache;    /* (n_head_kv, n_ctx, head_dim) kv dtype */
} mlxn__layer;

/* Views of the activation storage for a chunk of m tokens. */
typedef struct mlxn__acts {
    int m;
    mlxn_buffer *ids;       /* (m) I32 */
    mlxn_buffer *positions; /* (m) I32 */
    mlxn_buffer *x, *norm;  /* (m, n_embd) f32 */
    mlxn_buffer *qkv;       /* (m, n_q + 2 n_kv) f32, m == 1 only */
    mlxn_buffer *q2, *k2, *v2; /* (m, n_q), (m, n_kv), (m, n_kv) f32 */
    mlxn_buffer *q, *k, *v;    /* (m, heads, head_dim) views of the same */
    mlxn_buffer *qh, *kh;      /* (m * heads, head_dim): per-head norms */
    mlxn_buffer *qk;           /* (1, n_head + n_head_kv, head_dim), m == 1 */
    mlxn_buffer *attn;         /* (m, n_head, head_dim) f32 */
    mlxn_buffer *attn2;        /* (m, n_q) f32 */
    mlxn_buffer *ffn;          /* (m, n_ff) f32 */
    mlxn_buffer *x_last, *norm_last; /* (1, n_embd): the last row */
    mlxn_buffer *logits;       /* (1, n_vocab) f32 */
} mlxn__acts;

#define MLXN__MODEL_MAX_OWNED 4096

struct mlxn_model {
    mlxn_device *dev;
    mlxn_model_config cfg;
    mlxn_model_params params;
    int n_ctx, n_batch;
    int pos; /* tokens in the cache */
    mlxn_encoder *enc;

    mlxn_weight tok_embd;      /* (n_vocab, n_embd) */
    mlxn_weight output;        /* (n_vocab, n_embd) (tok_embd when tied) */
    mlxn_buffer *output_norm;  /* (n_embd) f32 */
    mlxn__layer *layers;
    mlxn_buffer *freq_factors; /* (n_rot / 2) f32 or NULL */

    /* activation storage, sized for n_batch tokens */
    mlxn_buffer *ids_store, *pos_store, *pos_buf; /* I32 */
    mlxn_buffer *x_store, *norm_store, *qkv_store, *attn_store, *ffn_store;
    /* the FFN's hidden row rounded by its producer (an x8 row of n_ff,
     * mlxn_op_norm_matmul_swiglu_x8), read by the down product; NULL when
     * n_ff is not a multiple of 32 */
    mlxn_buffer *ffn_x8;
    mlxn_buffer *logits_store;  /* (n_vocab) f32 */
    mlxn_buffer *scratch;       /* attention scratch, or NULL */
    mlxn_buffer *sampler_state; /* sized for the sampler of the last generate */
    mlxn_sample_params sampler_params;
    mlxn__acts one; /* views for m == 1 (decode), built once */

    /* the recorded decode step (when decode_graph is on) */
    mlxn_graph_exec *decode_exec;
    /* sampled ids on their way to the host (llama_generate.c): two slots
     * of host-visible memory, and the fence that step i signals with
     * i + 1 once its id is in slot i % 2 */
    mlxn_buffer *id_slot[2];
    mlxn_fence *step_fence;
    uint64_t step_seq;

    int64_t weight_bytes;
    mlxn_tokenizer *tokenizer;
    mlxn_buffer *owned[MLXN__MODEL_MAX_OWNED]; /* destroyed with the model */
    int n_owned;
};

/* Allocate the model and its device state for a config (weights are left
 * for the loader). */
mlxn_status mlxn__model_init(mlxn_model *m, const mlxn_model_config *cfg,
                             const mlxn_model_params *p);
/* Finish after the loader set every weight: derived views, the fused
 * q/k/v layout checks, activation storage, caches, weight_bytes. */
mlxn_status mlxn__model_finish(mlxn_model *m);

/* Make the model own b (destroyed with it; destroyed at once on failure). */
mlxn_status mlxn__model_own(mlxn_model *m, mlxn_buffer *b);
/* A device buffer the model owns (destroyed with it). */
mlxn_status mlxn__model_buffer(mlxn_model *m, mlxn_dtype dtype, int ndim,
                               const int64_t *shape, mlxn_buffer **out);
/* A view the model owns. */
mlxn_status mlxn__model_view(mlxn_model *m, mlxn_buffer *parent, size_t offset,
                             mlxn_dtype dtype, int ndim, const int64_t *shape,
                             mlxn_buffer **out);
/* Row range [row0, row0 + rows) of a weight as a weight of its own. */
mlxn_status mlxn__model_weight_rows(mlxn_model *m, const mlxn_weight *w, int64_t row0,
                                    int64_t rows, mlxn_weight *out);

/* Build / free the views of a chunk of m tokens. */
mlxn_status mlxn__acts_build(mlxn_model *m, int n_tokens, mlxn__acts *a);
void mlxn__acts_free(mlxn__acts *a);

/* Encode the forward pass of a->m tokens whose ids and positions are in
 * a->ids / a->positions, starting at the position held in m->pos_buf.
 * With logits_all, every row's logits go to `logits_all` (m, n_vocab);
 * otherwise the last row's go to a->logits. */
mlxn_status mlxn__encode_forward(mlxn_model *m, const mlxn__acts *a,
                                 mlxn_buffer *logits_all);

/* Check tokens for eval: inside the vocabulary and the context. */
mlxn_status mlxn__check_tokens(const mlxn_model *m, const int32_t *tokens, int n);
/* Drop the recorded decode step (sampler settings changed, or teardown). */
void mlxn__decode_graph_free(mlxn_model *m);

/* n_q, n_kv (elements per token of q and of k or v). */
static inline int64_t mlxn__n_q(const mlxn_model_config *c)
{
    return (int64_t)c->n_head * c->head_dim;
}
static inline int64_t mlxn__n_kv(const mlxn_model_config *c)
{
    return (int64_t)c->n_head_kv * c->head_dim;
}

/* Validate a config (sizes positive, heads divide, head_dim even...). */
mlxn_status mlxn__config_check(const mlxn_model_config *c);
/* Llama 3.1 frequency factors (n_rot / 2 floats) for a config. */
void mlxn__llama3_freq_factors(const mlxn_model_config *c, float *out);

#endif /* MLXN_LLAMA_H */
