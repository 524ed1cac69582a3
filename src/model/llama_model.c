/*
 * llama_model.c: creating and destroying a model: config checks, device
 * buffers the model owns, weight row views, the KV cache, activation
 * storage and the per-chunk views. Loading from files is in the loaders;
 * the forward pass in llama_forward.c.
 */
#include "model/llama.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

mlxn_model_params mlxn_model_params_default(void)
{
    mlxn_model_params p;
    memset(&p, 0, sizeof p);
    p.n_batch = 512;
    p.kv_dtype = MLXN_DTYPE_F16;
    p.decode_graph = 1;
    p.x8_chain = 1;
    return p;
}

mlxn_status mlxn__config_check(const mlxn_model_config *c)
{
    const char *bad = NULL;
    if (c->n_vocab < 1 || c->n_embd < 1 || c->n_layer < 1 || c->n_ff < 1)
        bad = "sizes must be positive";
    else if (c->n_head < 1 || c->n_head_kv < 1 || c->n_head % c->n_head_kv)
        bad = "n_head must be a positive multiple of n_head_kv";
    else if (c->head_dim < 2 || c->head_dim % 2)
        bad = "head_dim must be even";
    else if (c->n_rot < 2 || c->n_rot > c->head_dim || c->n_rot % 2)
        bad = "n_rot must be even and at most head_dim";
    else if (!(c->rms_eps > 0) || !(c->rope_theta > 0))
        bad = "rms_eps and rope_theta must be positive";
    else if (c->rope_scaling != MLXN_ROPE_SCALING_NONE && !(c->rope_factor > 0))
        bad = "rope scaling needs a positive factor";
    else if (c->n_vocab > (1 << 24) || c->n_embd > (1 << 20) || c->n_layer > 1024 ||
             c->n_ff > (1 << 22) || c->n_head > 1024)
        bad = "sizes are implausibly large";
    if (bad)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "model config: %s", bad);
    return MLXN_OK;
}

void mlxn__llama3_freq_factors(const mlxn_model_config *c, float *out)
{
    const double two_pi = 6.283185307179586;
    double old_ctx = c->rope_orig_ctx > 0 ? c->rope_orig_ctx : 8192;
    double low_wavelen = old_ctx / c->rope_low_freq_factor;
    double high_wavelen = old_ctx / c->rope_high_freq_factor;
    for (int i = 0; i < c->n_rot / 2; i++) {
        double freq = pow(c->rope_theta, -2.0 * i / c->n_rot);
        double wavelen = two_pi / freq;
        double factor;
        if (wavelen < high_wavelen) {
            factor = 1.0;
        } else if (wavelen > low_wavelen) {
            factor = c->rope_factor;
        } else {
            double smooth = (old_ctx / wavelen - c->rope_low_freq_factor) /
                            (c->rope_high_freq_factor - c->rope_low_freq_factor);
            factor = 1.0 / ((1.0 - smooth) / c->rope_factor + smooth);
        }
        out[i] = (float)factor;
    }
}

mlxn_status mlxn__model_own(mlxn_model *m, mlxn_buffer *b)
{
    if (m->n_owned == MLXN__MODEL_MAX_OWNED) {
        mlxn_buffer_destroy(b);
        return mlxn__fail(m->dev, MLXN_ERR_OUT_OF_MEMORY, "model: too many buffers");
    }
    m->owned[m->n_owned++] = b;
    return MLXN_OK;
}

mlxn_status mlxn__model_buffer(mlxn_model *m, mlxn_dtype dtype, int ndim,
                               const int64_t *shape, mlxn_buffer **out)
{
    mlxn_status st = mlxn_buffer_create_tensor(m->dev, dtype, ndim, shape, out);
    return st != MLXN_OK ? st : mlxn__model_own(m, *out);
}

mlxn_status mlxn__model_view(mlxn_model *m, mlxn_buffer *parent, size_t offset,
                             mlxn_dtype dtype, int ndim, const int64_t *shape,
                             mlxn_buffer **out)
{
    mlxn_status st = mlxn_buffer_view(parent, offset, dtype, ndim, shape, out);
    return st != MLXN_OK ? st : mlxn__model_own(m, *out);
}

static mlxn_status row_view(mlxn_model *m, mlxn_buffer *b, int64_t row0, int64_t rows,
                            mlxn_buffer **out)
{
    if (!b) {
        *out = NULL;
        return MLXN_OK;
    }
    int64_t cols = mlxn_buffer_dim(b, 1);
    int64_t row_bytes = mlxn_dtype_bytes(mlxn_buffer_dtype(b), cols);
    int64_t shape[2] = {rows, cols};
    return mlxn__model_view(m, b, (size_t)(row0 * row_bytes), mlxn_buffer_dtype(b), 2, shape,
                            out);
}

mlxn_status mlxn__model_weight_rows(mlxn_model *m, const mlxn_weight *w, int64_t row0,
                                    int64_t rows, mlxn_weight *out)
{
    *out = *w;
    mlxn_status st = row_view(m, w->w, row0, rows, &out->w);
    if (st == MLXN_OK)
        st = row_view(m, w->scales, row0, rows, &out->scales);
    if (st == MLXN_OK)
        st = row_view(m, w->biases, row0, rows, &out->biases);
    return st;
}

mlxn_status mlxn__model_init(mlxn_model *m, const mlxn_model_config *cfg,
                             const mlxn_model_params *p)
{
    mlxn_status st = mlxn__config_check(cfg);
    if (st != MLXN_OK)
        return st;
    if (!p || !p->device)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "model: params.device is required");
    if (p->kv_dtype != MLXN_DTYPE_F16 && p->kv_dtype != MLXN_DTYPE_F32)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "model: kv_dtype must be f16 or f32");
    if (p->n_ctx < 0 || p->n_batch < 0)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "model: negative n_ctx or n_batch");
    m->dev = p->device;
    m->cfg = *cfg;
    m->params = *p;
    int train = cfg->n_ctx_train > 0 ? cfg->n_ctx_train : 4096;
    m->n_ctx = p->n_ctx ? p->n_ctx : (train < 4096 ? train : 4096);
    m->n_batch = p->n_batch ? p->n_batch : 512;
    if (m->n_batch > m->n_ctx)
        m->n_batch = m->n_ctx;
    m->layers = calloc((size_t)cfg->n_layer, sizeof *m->layers);
    if (!m->layers)
        return mlxn__fail(m->dev, MLXN_ERR_OUT_OF_MEMORY, "model: out of memory");
    mlxn_encoder_params ep = mlxn_encoder_params_default();
    ep.label = "model";
    return mlxn_encoder_create(m->dev, &ep, &m->enc);
}

static mlxn_status alloc_state(mlxn_model *m)
{
    const mlxn_model_config *c = &m->cfg;
    int64_t nb = m->n_batch, n_qkv = mlxn__n_q(c) + 2 * mlxn__n_kv(c);
    int64_t s_ids[1] = {nb}, s_one[1] = {1};
    int64_t s_x[2] = {nb, c->n_embd}, s_qkv[1] = {nb * n_qkv};
    int64_t s_attn[2] = {nb, mlxn__n_q(c)}, s_ffn[2] = {nb, c->n_ff};
    int64_t s_logits[2] = {1, c->n_vocab};
    int64_t s_cache[3] = {c->n_head_kv, m->n_ctx, c->head_dim};
    mlxn_status st;
    if ((st = mlxn__model_buffer(m, MLXN_DTYPE_I32, 1, s_ids, &m->ids_store)) ||
        (st = mlxn__model_buffer(m, MLXN_DTYPE_I32, 1, s_ids, &m->pos_store)) ||
        (st = mlxn__model_buffer(m, MLXN_DTYPE_I32, 1, s_one, &m->pos_buf)) ||
        (st = mlxn__model_buffer(m, MLXN_DTYPE_F32, 2, s_x, &m->x_store)) ||
        (st = mlxn__model_buffer(m, MLXN_DTYPE_F32, 2, s_x, &m->norm_store)) ||
        (st = mlxn__model_buffer(m, MLXN_DTYPE_F32, 1, s_qkv, &m->qkv_store)) ||
        (st = mlxn__model_buffer(m, MLXN_DTYPE_F32, 2, s_attn, &m->attn_store)) ||
        (st = mlxn__model_buffer(m, MLXN_DTYPE_F32, 2, s_ffn, &m->ffn_store)) ||
        (st = mlxn__model_buffer(m, MLXN_DTYPE_F32, 2, s_logits, &m->logits_store)))
        return st;
    int64_t s_x8[1] = {(int64_t)mlxn_x8_row_bytes(c->n_ff)};
    if (s_x8[0] > 0 &&
        (st = mlxn__model_buffer(m, MLXN_DTYPE_U8, 1, s_x8, &m->ffn_x8)))
        return st;
    for (int l = 0; l < c->n_layer; l++) {
        mlxn__layer *L = &m->layers[l];
        if ((st = mlxn__model_buffer(m, m->params.kv_dtype, 3, s_cache, &L->k_cache)) ||
            (st = mlxn__model_buffer(m, m->params.kv_dtype, 3, s_cache, &L->v_cache)))
            return st;
    }
    size_t scratch = mlxn_attention_scratch_bytes((int)nb, c->n_head, c->head_dim, m->n_ctx);
    size_t s1 = mlxn_attention_scratch_bytes(1, c->n_head, c->head_dim, m->n_ctx);
    if (s1 > scratch)
        scratch = s1;
    if (scratch) {
        int64_t s_scr[1] = {(int64_t)scratch};
        if ((st = mlxn__model_buffer(m, MLXN_DTYPE_U8, 1, s_scr, &m->scratch)))
            return st;
    }
    if (c->rope_scaling == MLXN_ROPE_SCALING_LLAMA3) {
        int64_t s_ff[1] = {c->n_rot / 2};
        float *ff = malloc(sizeof(float) * (size_t)(c->n_rot / 2));
        if (!ff)
            return mlxn__fail(m->dev, MLXN_ERR_OUT_OF_MEMORY, "model: out of memory");
        mlxn__llama3_freq_factors(c, ff);
        st = mlxn__model_buffer(m, MLXN_DTYPE_F32, 1, s_ff, &m->freq_factors);
        if (st == MLXN_OK)
            st = mlxn_buffer_write(m->freq_factors, 0, ff, sizeof(float) * (size_t)(c->n_rot / 2));
        free(ff);
        if (st)
            return st;
    }
    return MLXN_OK;
}

/* Split the fused q/k/v weight and bias into row views. */
static mlxn_status split_qkv(mlxn_model *m, mlxn__layer *L)
{
    const mlxn_model_config *c = &m->cfg;
    int64_t nq = mlxn__n_q(c), nkv = mlxn__n_kv(c);
    mlxn_status st;
    if (L->wqkv.w && ((st = mlxn__model_weight_rows(m, &L->wqkv, 0, nq, &L->wq)) ||
                      (st = mlxn__model_weight_rows(m, &L->wqkv, nq, nkv, &L->wk)) ||
                      (st = mlxn__model_weight_rows(m, &L->wqkv, nq + nkv, nkv, &L->wv))))
        return st;
    if (!L->bqkv)
        return MLXN_OK;
    int64_t sq[1] = {nq}, skv[1] = {nkv};
    if ((st = mlxn__model_view(m, L->bqkv, 0, MLXN_DTYPE_F32, 1, sq, &L->bq)) ||
        (st = mlxn__model_view(m, L->bqkv, (size_t)nq * 4, MLXN_DTYPE_F32, 1, skv, &L->bk)) ||
        (st = mlxn__model_view(m, L->bqkv, (size_t)(nq + nkv) * 4, MLXN_DTYPE_F32, 1, skv,
                               &L->bv)))
        return st;
    return MLXN_OK;
}

/* Every weight is loaded (the loaders wait for their last writes) and no
 * dispatch writes it again: products may read it before waiting for the
 * previous kernel (mlxn_weight.immutable). */
static void seal_weights(mlxn_model *m)
{
    m->tok_embd.immutable = m->output.immutable = 1;
    for (int l = 0; l < m->cfg.n_layer; l++) {
        mlxn__layer *L = &m->layers[l];
        mlxn_weight *w[8] = {&L->wqkv, &L->wq,     &L->wk,   &L->wv,
                             &L->wo,   &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < 8; i++)
            w[i]->immutable = 1;
    }
}

mlxn_status mlxn__model_finish(mlxn_model *m)
{
    const mlxn_model_config *c = &m->cfg;
    if (!m->tok_embd.w || !m->output.w || !m->output_norm)
        return mlxn__fail(m->dev, MLXN_ERR_FORMAT,
                          "model: missing token embedding, output norm or output weight");
    size_t bytes = mlxn_weight_bytes(&m->output) + mlxn_buffer_bytes(m->output_norm);
    for (int l = 0; l < c->n_layer; l++) {
        mlxn__layer *L = &m->layers[l];
        int qkv = L->wqkv.w || (L->wq.w && L->wk.w && L->wv.w);
        if (!L->attn_norm || !L->ffn_norm || !qkv || !L->wo.w || !L->w_gate.w ||
            !L->w_up.w || !L->w_down.w || (c->qk_norm && (!L->q_norm || !L->k_norm)))
            return mlxn__fail(m->dev, MLXN_ERR_FORMAT, "model: layer %d is missing weights", l);
        bytes += L->wqkv.w ? mlxn_weight_bytes(&L->wqkv)
                           : mlxn_weight_bytes(&L->wq) + mlxn_weight_bytes(&L->wk) +
                                 mlxn_weight_bytes(&L->wv);
        mlxn_status st = split_qkv(m, L);
        if (st != MLXN_OK)
            return st;
        bytes += mlxn_weight_bytes(&L->wo) + mlxn_weight_bytes(&L->w_gate) +
                 mlxn_weight_bytes(&L->w_up) + mlxn_weight_bytes(&L->w_down);
    }
    m->weight_bytes = (int64_t)bytes;
    seal_weights(m);
    mlxn_status st = alloc_state(m);
    if (st == MLXN_OK)
        st = mlxn__acts_build(m, 1, &m->one);
    return st;
}

/* ---- per-chunk views ----------------------------------------------------------- */
static mlxn_status view(mlxn_buffer *b, size_t off, int ndim, const int64_t *shape,
                        mlxn_dtype t, mlxn_buffer **out)
{
    return mlxn_buffer_view(b, off, t, ndim, shape, out);
}

mlxn_status mlxn__acts_build(mlxn_model *m, int n, mlxn__acts *a)
{
    const mlxn_model_config *c = &m->cfg;
    memset(a, 0, sizeof *a);
    a->m = n;
    int64_t nq = mlxn__n_q(c), nkv = mlxn__n_kv(c), hd = c->head_dim, E = c->n_embd;
    const mlxn_dtype F = MLXN_DTYPE_F32;
    int64_t s_m[1] = {n}, s_x[2] = {n, E}, s_qkv[2] = {n, nq + 2 * nkv};
    int64_t s_q2[2] = {n, nq}, s_kv2[2] = {n, nkv};
    int64_t s_q[3] = {n, c->n_head, hd}, s_kv[3] = {n, c->n_head_kv, hd};
    int64_t s_qh[2] = {(int64_t)n * c->n_head, hd}, s_kh[2] = {(int64_t)n * c->n_head_kv, hd};
    int64_t s_qk[3] = {1, c->n_head + c->n_head_kv, hd}, s_ffn[2] = {n, c->n_ff};
    int64_t s_row[2] = {1, E}, s_logits[2] = {1, c->n_vocab};
    size_t koff = (size_t)(n * nq) * 4, voff = (size_t)(n * (nq + nkv)) * 4;
    size_t last = (size_t)((n - 1) * E) * 4;
    mlxn_status st;
    if ((st = view(m->ids_store, 0, 1, s_m, MLXN_DTYPE_I32, &a->ids)) ||
        (st = view(n == 1 ? m->pos_buf : m->pos_store, 0, 1, s_m, MLXN_DTYPE_I32, &a->positions)) ||
        (st = view(m->x_store, 0, 2, s_x, F, &a->x)) ||
        (st = view(m->norm_store, 0, 2, s_x, F, &a->norm)) ||
        (n == 1 && (st = view(m->qkv_store, 0, 2, s_qkv, F, &a->qkv))) ||
        (n == 1 && (st = view(m->qkv_store, 0, 3, s_qk, F, &a->qk))) ||
        (st = view(m->qkv_store, 0, 2, s_q2, F, &a->q2)) ||
        (st = view(m->qkv_store, koff, 2, s_kv2, F, &a->k2)) ||
        (st = view(m->qkv_store, voff, 2, s_kv2, F, &a->v2)) ||
        (st = view(m->qkv_store, 0, 3, s_q, F, &a->q)) ||
        (st = view(m->qkv_store, koff, 3, s_kv, F, &a->k)) ||
        (st = view(m->qkv_store, voff, 3, s_kv, F, &a->v)) ||
        (st = view(m->qkv_store, 0, 2, s_qh, F, &a->qh)) ||
        (st = view(m->qkv_store, koff, 2, s_kh, F, &a->kh)) ||
        (st = view(m->attn_store, 0, 3, s_q, F, &a->attn)) ||
        (st = view(m->attn_store, 0, 2, s_q2, F, &a->attn2)) ||
        (st = view(m->ffn_store, 0, 2, s_ffn, F, &a->ffn)) ||
        (st = view(m->x_store, last, 2, s_row, F, &a->x_last)) ||
        (st = view(m->norm_store, last, 2, s_row, F, &a->norm_last)) ||
        (st = view(m->logits_store, 0, 2, s_logits, F, &a->logits))) {
        mlxn__acts_free(a);
        return st;
    }
    return MLXN_OK;
}

void mlxn__acts_free(mlxn__acts *a)
{
    mlxn_buffer *all[] = {a->ids, a->positions, a->x,    a->norm,  a->qkv,    a->q2,
                          a->k2,  a->v2,        a->q,    a->k,     a->v,      a->qh,
                          a->kh,  a->qk,        a->attn, a->attn2, a->ffn,    a->x_last,
                          a->norm_last, a->logits};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        mlxn_buffer_destroy(all[i]);
    memset(a, 0, sizeof *a);
}

/* ---- lifetime and accessors ------------------------------------------------------ */
void mlxn_model_destroy(mlxn_model *m)
{
    if (!m)
        return;
    if (m->enc)
        mlxn_encoder_wait(m->enc);
    mlxn__decode_graph_free(m);
    mlxn__acts_free(&m->one);
    mlxn_encoder_destroy(m->enc);
    mlxn_fence_destroy(m->step_fence);
    for (int i = m->n_owned; i-- > 0;)
        mlxn_buffer_destroy(m->owned[i]);
    mlxn_tokenizer_destroy(m->tokenizer);
    free(m->layers);
    free(m);
}

const mlxn_model_config *mlxn_model_get_config(const mlxn_model *m) { return &m->cfg; }
const mlxn_tokenizer *mlxn_model_tokenizer(const mlxn_model *m) { return m->tokenizer; }
int64_t mlxn_model_weight_bytes(const mlxn_model *m) { return m->weight_bytes; }
int mlxn_model_pos(const mlxn_model *m) { return m->pos; }
int mlxn_model_n_ctx(const mlxn_model *m) { return m->n_ctx; }
void mlxn_model_reset(mlxn_model *m) { m->pos = 0; }

void mlxn_model_set_decode_graph(mlxn_model *m, int on)
{
    m->params.decode_graph = on != 0;
    if (!on)
        mlxn__decode_graph_free(m);
}
