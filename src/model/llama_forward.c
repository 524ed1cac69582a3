/*
 * llama_forward.c: the Llama-family forward pass written against the op
 * API, and evaluation of token chunks. One step for m tokens:
 *
 *   x = embed(ids)
 *   per layer:  n = rms_norm(x) * attn_norm         folded into the next
 *               q, k, v = n @ Wqkv^T (+ bias)    one product when m == 1
 *               q, k = rms_norm per head (Qwen3)
 *               q = rope(q); cache[pos..] = rope(k), v     (one fused kernel)
 *               x += attention(q, cache) @ Wo^T
 *               n = rms_norm(x) * ffn_norm          folded into the next
 *               x += (silu(n @ Wg^T) * (n @ Wu^T)) @ Wd^T
 *                   (one row: the SwiGLU product also rounds its output
 *                   to 8 bits for the down product, where that pays)
 *   logits = (rms_norm(x) * output_norm) @ Wout^T   (last row, or all)
 * "Folded": mlxn_op_norm_matmul*, one kernel where the int8-activation
 * kernels run (m = 1 with 4-bit weights), else the norm op and the product.
 *
 * Per-token values (ids, positions, the start position) live in device
 * buffers, so the decode step can be recorded once and replayed.
 */
#include "model/llama.h"

#include <math.h>
#include <string.h>

static mlxn_status encode_layer(mlxn_model *m, const mlxn__layer *L, const mlxn__acts *a)
{
    const mlxn_model_config *c = &m->cfg;
    mlxn_encoder *e = m->enc;
    mlxn_status st;
    if (a->m == 1 && L->wqkv.w) {
        if ((st = mlxn_op_norm_matmul(e, a->x, L->attn_norm, c->rms_eps, a->norm, &L->wqkv,
                                      a->qkv)))
            return st;
        if (L->bqkv && (st = mlxn_op_add(e, a->qkv, L->bqkv, a->qkv)))
            return st;
    } else {
        if ((st = mlxn_op_rms_norm(e, a->x, L->attn_norm, c->rms_eps, a->norm)))
            return st;
        if ((st = mlxn_op_matmul(e, a->norm, &L->wq, NULL, a->q2)) ||
            (st = mlxn_op_matmul(e, a->norm, &L->wk, NULL, a->k2)) ||
            (st = mlxn_op_matmul(e, a->norm, &L->wv, NULL, a->v2)))
            return st;
        if (L->bqkv && ((st = mlxn_op_add(e, a->q2, L->bq, a->q2)) ||
                        (st = mlxn_op_add(e, a->k2, L->bk, a->k2)) ||
                        (st = mlxn_op_add(e, a->v2, L->bv, a->v2))))
            return st;
    }
    if (c->qk_norm && ((st = mlxn_op_rms_norm(e, a->qh, L->q_norm, c->rms_eps, a->qh)) ||
                       (st = mlxn_op_rms_norm(e, a->kh, L->k_norm, c->rms_eps, a->kh))))
        return st;
    mlxn_rope_params rp = mlxn_rope_params_default();
    rp.mode = c->rope_neox ? MLXN_ROPE_NEOX : MLXN_ROPE_INTERLEAVED;
    rp.n_rot = c->n_rot;
    rp.theta_base = c->rope_theta;
    rp.freq_scale = c->rope_scaling == MLXN_ROPE_SCALING_LINEAR ? 1.0f / c->rope_factor : 1.0f;
    /* RoPE of q and k fused with the cache writes of k and v; positions
     * are written by the host before the step or chunk (stable) */
    mlxn_rope_kv_args rk = {a->q, a->k,       a->v,       a->positions, m->freq_factors,
                            &rp,  m->pos_buf, L->k_cache, L->v_cache,   1};
    if ((st = mlxn_op_rope_kv_write(e, &rk)))
        return st;
    mlxn_attention_params ap = mlxn_attention_params_default();
    ap.scale = 1.0f / sqrtf((float)c->head_dim);
    /* the op before (rope_kv) writes only the row at pos; pos is written
     * before the step starts */
    ap.stable_prefix = 1;
    /* one row: the hidden row rounded once, by the SwiGLU product's warps,
     * instead of by every block of the down product (where that pays) */
    mlxn_buffer *h8 = a->m == 1 && m->ffn_x8 && m->params.x8_chain &&
                              mlxn_op_swiglu_x8_pays(e, a->x, L->ffn_norm, &L->w_gate,
                                                     &L->w_up, a->ffn, &L->w_down)
                          ? m->ffn_x8
                          : NULL;
    if ((st = mlxn_op_attention(e, a->q, L->k_cache, L->v_cache, m->pos_buf, &ap, m->scratch,
                                a->attn)) ||
        (st = mlxn_op_matmul(e, a->attn2, &L->wo, a->x, a->x)) ||
        (st = mlxn_op_norm_matmul_swiglu_x8(e, a->x, L->ffn_norm, c->rms_eps, a->norm,
                                            &L->w_gate, &L->w_up, a->ffn, h8)) ||
        (st = mlxn_op_matmul_x8(e, a->ffn, h8, &L->w_down, a->x, a->x)))
        return st;
    return MLXN_OK;
}

mlxn_status mlxn__encode_forward(mlxn_model *m, const mlxn__acts *a, mlxn_buffer *logits_all)
{
    const mlxn_model_config *c = &m->cfg;
    mlxn_encoder *e = m->enc;
    mlxn_status st = mlxn_op_embed(e, m->tok_embd.w, a->ids, a->x);
    for (int l = 0; st == MLXN_OK && l < c->n_layer; l++)
        st = encode_layer(m, &m->layers[l], a);
    if (st != MLXN_OK)
        return st;
    if (logits_all)
        return mlxn_op_norm_matmul(e, a->x, m->output_norm, c->rms_eps, a->norm, &m->output,
                                   logits_all);
    return mlxn_op_norm_matmul(e, a->x_last, m->output_norm, c->rms_eps, a->norm_last,
                               &m->output, a->logits);
}

/* Evaluate one chunk of n tokens at m->pos. Inputs are written with plain
 * host writes, so the previous chunk must have completed (it has: every
 * chunk ends with a wait). */
static mlxn_status eval_chunk(mlxn_model *m, const int32_t *tokens, int n,
                              mlxn_logits_mode mode, float *logits, mlxn_buffer *all)
{
    int32_t positions[1024];
    mlxn__acts a;
    mlxn_status st = mlxn__acts_build(m, n, &a);
    if (st != MLXN_OK)
        return st;
    for (int i = 0; st == MLXN_OK && i < n; i += 1024) {
        int k = n - i < 1024 ? n - i : 1024;
        for (int j = 0; j < k; j++)
            positions[j] = m->pos + i + j;
        st = mlxn_buffer_write(m->pos_store, (size_t)i * 4, positions, (size_t)k * 4);
    }
    int32_t pos = m->pos;
    if (st == MLXN_OK)
        st = mlxn_buffer_write(m->ids_store, 0, tokens, (size_t)n * 4);
    if (st == MLXN_OK)
        st = mlxn_buffer_write(m->pos_buf, 0, &pos, 4);
    if (st == MLXN_OK)
        st = mlxn__encode_forward(m, &a, mode == MLXN_LOGITS_ALL ? all : NULL);
    if (st == MLXN_OK)
        st = mlxn_encoder_commit_and_wait(m->enc);
    if (st == MLXN_OK && logits) {
        size_t row = (size_t)m->cfg.n_vocab * sizeof(float);
        st = mode == MLXN_LOGITS_ALL ? mlxn_buffer_read(all, 0, logits, row * (size_t)n)
                                     : mlxn_buffer_read(m->logits_store, 0, logits, row);
    }
    mlxn__acts_free(&a);
    if (st == MLXN_OK)
        m->pos += n;
    return st;
}

mlxn_status mlxn__check_tokens(const mlxn_model *m, const int32_t *tokens, int n)
{
    if (n < 0 || (n && !tokens))
        return mlxn__fail(m->dev, MLXN_ERR_INVALID_ARG, "eval: bad token array");
    if (n > m->n_ctx - m->pos)
        return mlxn__fail(m->dev, MLXN_ERR_INVALID_ARG,
                          "eval: %d tokens at position %d exceed the context of %d", n,
                          m->pos, m->n_ctx);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= m->cfg.n_vocab)
            return mlxn__fail(m->dev, MLXN_ERR_INVALID_ARG,
                              "eval: token %d at index %d is outside the vocabulary of %d",
                              tokens[i], i, m->cfg.n_vocab);
    return MLXN_OK;
}

mlxn_status mlxn_model_eval(mlxn_model *m, const int32_t *tokens, int n,
                            mlxn_logits_mode mode, float *logits)
{
    if (!m)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "eval: NULL model");
    mlxn_status st = mlxn__check_tokens(m, tokens, n);
    if (st != MLXN_OK)
        return st;
    mlxn_buffer *all = NULL;
    if (mode == MLXN_LOGITS_ALL) {
        int64_t shape[2] = {m->n_batch, m->cfg.n_vocab};
        if ((st = mlxn_buffer_create_tensor(m->dev, MLXN_DTYPE_F32, 2, shape, &all)))
            return st;
    }
    for (int i = 0; st == MLXN_OK && i < n; i += m->n_batch) {
        int k = n - i < m->n_batch ? n - i : m->n_batch;
        mlxn_buffer *rows = NULL;
        if (all) {
            int64_t shape[2] = {k, m->cfg.n_vocab};
            st = mlxn_buffer_view(all, 0, MLXN_DTYPE_F32, 2, shape, &rows);
        }
        float *dst = !logits ? NULL
                     : mode == MLXN_LOGITS_ALL ? logits + (size_t)i * (size_t)m->cfg.n_vocab
                                               : logits;
        if (st == MLXN_OK)
            st = eval_chunk(m, tokens + i, k, mode, dst, rows);
        mlxn_buffer_destroy(rows);
    }
    mlxn_buffer_destroy(all);
    return st;
}
