/*
 * synthetic.c: models with seeded random weights of a given shape and
 * format, for benchmarks that need no download. Weights are filled on the
 * device (mlxn_op_fill_random), scaled so activations stay O(1).
 */
#include "model/llama.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void llama3_8b(mlxn_model_config *c)
{
    c->arch = MLXN_ARCH_LLAMA;
    c->n_vocab = 128256;
    c->n_embd = 4096;
    c->n_layer = 32;
    c->n_head = 32;
    c->n_head_kv = 8;
    c->head_dim = 128;
    c->n_ff = 14336;
    c->n_ctx_train = 8192;
    c->rope_theta = 500000.0f;
    c->rope_scaling = MLXN_ROPE_SCALING_LLAMA3;
    c->rope_factor = 8.0f;
    c->rope_low_freq_factor = 1.0f;
    c->rope_high_freq_factor = 4.0f;
    c->rope_orig_ctx = 8192;
    c->bos_id = 128000;
    c->eos_id = 128001;
}

/* Llama-2-7B: multi-head attention, a feed-forward width (11008) that is
 * not a multiple of 2048 */
static void llama2_7b(mlxn_model_config *c)
{
    c->arch = MLXN_ARCH_LLAMA;
    c->n_vocab = 32000;
    c->n_embd = 4096;
    c->n_layer = 32;
    c->n_head = 32;
    c->n_head_kv = 32;
    c->head_dim = 128;
    c->n_ff = 11008;
    c->n_ctx_train = 4096;
    c->rope_theta = 10000.0f;
    c->bos_id = 1;
    c->eos_id = 2;
}

static void small(mlxn_model_config *c)
{
    c->arch = MLXN_ARCH_LLAMA;
    c->n_vocab = 8192;
    c->n_embd = 512;
    c->n_layer = 8;
    c->n_head = 8;
    c->n_head_kv = 4;
    c->head_dim = 64;
    c->n_ff = 1536;
    c->n_ctx_train = 2048;
    c->rope_theta = 10000.0f;
    c->bos_id = 1;
    c->eos_id = 2;
}

mlxn_status mlxn_synthetic_preset(const char *name, mlxn_synthetic_params *out)
{
    memset(out, 0, sizeof *out);
    mlxn_model_config *c = &out->config;
    if (name && !strcmp(name, "llama3-8b"))
        llama3_8b(c);
    else if (name && !strcmp(name, "llama2-7b"))
        llama2_7b(c);
    else if (name && !strcmp(name, "small"))
        small(c);
    else
        return mlxn__fail(NULL, MLXN_ERR_NOT_FOUND,
                          "unknown synthetic model '%s' (known: llama3-8b, llama2-7b, small)",
                          name ? name : "(null)");
    c->rms_eps = 1e-5f;
    c->n_rot = c->head_dim;
    out->weight_dtype = MLXN_DTYPE_Q4_0;
    out->bits = 4;
    out->group_size = 64;
    out->seed = 1234;
    return MLXN_OK;
}

/* Standard deviation of a raw quantized value, to scale weights so that a
 * row dot product with O(1) inputs is O(1). */
static float quant_spread(mlxn_dtype t, int bits)
{
    switch (t) {
    case MLXN_DTYPE_Q8_0:
        return 74.0f;
    case MLXN_DTYPE_U32:
        return (float)(1 << bits) / 3.5f;
    case MLXN_DTYPE_F32:
    case MLXN_DTYPE_F16:
    case MLXN_DTYPE_BF16:
        return 1.0f;
    default:
        return 8.0f;
    }
}

typedef struct synth {
    mlxn_model *m;
    const mlxn_synthetic_params *sp;
    uint64_t seed;
} synth;

static mlxn_status fill(synth *s, mlxn_buffer *b, float lo, float hi)
{
    return mlxn_op_fill_random(s->m->enc, b, s->seed++, lo, hi);
}

/* A random (n, k) weight in the synthetic format. */
static mlxn_status make_weight(synth *s, int64_t n, int64_t k, mlxn_weight *w)
{
    mlxn_model *m = s->m;
    mlxn_dtype t = s->sp->weight_dtype;
    memset(w, 0, sizeof *w);
    float unit = 1.0f / (sqrtf((float)k) * quant_spread(t, s->sp->bits));
    mlxn_status st;
    if (t == MLXN_DTYPE_U32) {
        int bits = s->sp->bits, g = s->sp->group_size;
        if (bits < 2 || bits > 8 || g < 1 || k % g || (k * bits) % 32)
            return mlxn__fail(m->dev, MLXN_ERR_INVALID_ARG,
                              "synthetic: bits %d / group %d do not fit k = %lld", bits, g,
                              (long long)k);
        int64_t sw[2] = {n, k * bits / 32}, ss[2] = {n, k / g};
        w->bits = bits;
        w->group_size = g;
        float mid = (float)((1 << bits) - 1) / 2.0f;
        if ((st = mlxn__model_buffer(m, MLXN_DTYPE_U32, 2, sw, &w->w)) ||
            (st = mlxn__model_buffer(m, MLXN_DTYPE_F16, 2, ss, &w->scales)) ||
            (st = mlxn__model_buffer(m, MLXN_DTYPE_F16, 2, ss, &w->biases)) ||
            (st = fill(s, w->w, 0, 0)) || (st = fill(s, w->scales, 0.5f * unit, 1.5f * unit)) ||
            (st = fill(s, w->biases, -mid * 1.2f * unit, -mid * 0.8f * unit)))
            return st;
        return MLXN_OK;
    }
    int64_t shape[2] = {n, k};
    if ((st = mlxn__model_buffer(m, t, 2, shape, &w->w)))
        return st;
    if (t == MLXN_DTYPE_F32 || t == MLXN_DTYPE_F16 || t == MLXN_DTYPE_BF16)
        return fill(s, w->w, -1.7f * unit, 1.7f * unit);
    return fill(s, w->w, 0.5f * unit, 1.5f * unit);
}

/* A random (n, k) weight of a linear layer: as make_weight, but Q4_0 as
 * the loaders store it (symmetric affine, mlxn__load_linear). */
static mlxn_status make_linear(synth *s, int64_t n, int64_t k, mlxn_weight *w)
{
    if (s->sp->weight_dtype != MLXN_DTYPE_Q4_0)
        return make_weight(s, n, k, w);
    mlxn_model *m = s->m;
    memset(w, 0, sizeof *w);
    if (k % 32)
        return mlxn__fail(m->dev, MLXN_ERR_INVALID_ARG, "synthetic: q4_0 with k = %lld",
                          (long long)k);
    float unit = 1.0f / (sqrtf((float)k) * quant_spread(MLXN_DTYPE_Q4_0, 4));
    int64_t sw[2] = {n, k / 8}, ss[2] = {n, k / 32};
    w->bits = 4;
    w->group_size = 32;
    mlxn_status st;
    if ((st = mlxn__model_buffer(m, MLXN_DTYPE_U32, 2, sw, &w->w)) ||
        (st = mlxn__model_buffer(m, MLXN_DTYPE_F16, 2, ss, &w->scales)) ||
        (st = fill(s, w->w, 0, 0)) || (st = fill(s, w->scales, 0.5f * unit, 1.5f * unit)))
        return st;
    return MLXN_OK;
}

static mlxn_status make_norm(synth *s, int64_t n, mlxn_buffer **out)
{
    int64_t shape[1] = {n};
    mlxn_status st = mlxn__model_buffer(s->m, MLXN_DTYPE_F32, 1, shape, out);
    return st != MLXN_OK ? st : fill(s, *out, 0.9f, 1.1f);
}

static mlxn_status build(synth *s)
{
    mlxn_model *m = s->m;
    const mlxn_model_config *c = &m->cfg;
    int64_t E = c->n_embd, nq = mlxn__n_q(c), nkv = mlxn__n_kv(c);
    mlxn_status st;
    /* Embeddings: the weight format when it has an embedding kernel (GGUF
     * blocks and dense), f16 for MLX affine. */
    if (s->sp->weight_dtype == MLXN_DTYPE_U32) {
        int64_t shape[2] = {c->n_vocab, E};
        if ((st = mlxn__model_buffer(m, MLXN_DTYPE_F16, 2, shape, &m->tok_embd.w)) ||
            (st = fill(s, m->tok_embd.w, -1.0f, 1.0f)))
            return st;
    } else if ((st = make_weight(s, c->n_vocab, E, &m->tok_embd))) {
        return st;
    }
    if ((st = make_linear(s, c->n_vocab, E, &m->output)) ||
        (st = make_norm(s, E, &m->output_norm)))
        return st;
    for (int l = 0; l < c->n_layer; l++) {
        mlxn__layer *L = &m->layers[l];
        if ((st = make_norm(s, E, &L->attn_norm)) || (st = make_norm(s, E, &L->ffn_norm)) ||
            (st = make_linear(s, nq + 2 * nkv, E, &L->wqkv)) ||
            (st = make_linear(s, E, nq, &L->wo)) ||
            (st = make_linear(s, c->n_ff, E, &L->w_gate)) ||
            (st = make_linear(s, c->n_ff, E, &L->w_up)) ||
            (st = make_linear(s, E, c->n_ff, &L->w_down)))
            return st;
        if (m->params.progress)
            m->params.progress((float)(l + 1) / (float)c->n_layer, m->params.progress_arg);
    }
    return mlxn_encoder_commit_and_wait(m->enc);
}

mlxn_status mlxn_model_create_synthetic(const mlxn_synthetic_params *sp,
                                        const mlxn_model_params *p, mlxn_model **out)
{
    if (!sp || !p || !out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "create_synthetic: NULL argument");
    *out = NULL;
    mlxn_model *m = calloc(1, sizeof *m);
    if (!m)
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "create_synthetic: out of memory");
    mlxn_status st = mlxn__model_init(m, &sp->config, p);
    synth s = {m, sp, sp->seed};
    if (st == MLXN_OK)
        st = build(&s);
    if (st == MLXN_OK)
        st = mlxn__model_finish(m);
    if (st != MLXN_OK) {
        mlxn_model_destroy(m);
        return st;
    }
    *out = m;
    return MLXN_OK;
}
