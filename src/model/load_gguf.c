/*
 * load_gguf.c: a Llama-family model from a GGUF file: hyperparameters from
 * "<arch>.*" metadata, tensors by llama.cpp's names (token_embd,
 * blk.N.attn_q, ...), the tokenizer from tokenizer.ggml.*. GGUF "llama"
 * files store q/k permuted for interleaved RoPE pairs; qwen2/qwen3 files
 * use NeoX halves. Llama 3.1 frequency factors come from rope_freqs.weight.
 */
#include "model/load.h"

#include <stdio.h>
#include <string.h>

typedef struct gguf_ctx {
    mlxn_gguf *g;
    const char *arch;
} gguf_ctx;

static int64_t get_int(gguf_ctx *x, const char *key, int64_t fallback)
{
    char k[128];
    int64_t v;
    snprintf(k, sizeof k, "%s.%s", x->arch, key);
    return mlxn_gguf_get_int(x->g, k, &v) == MLXN_OK ? v : fallback;
}

static double get_float(gguf_ctx *x, const char *key, double fallback)
{
    char k[128];
    double v;
    snprintf(k, sizeof k, "%s.%s", x->arch, key);
    return mlxn_gguf_get_float(x->g, k, &v) == MLXN_OK ? v : fallback;
}

/* The tensor named by fmt (with the layer number); NULL name if absent. */
static mlxn_tensor_info tensor(gguf_ctx *x, const char *fmt, int l)
{
    char name[128];
    mlxn_tensor_info t;
    memset(&t, 0, sizeof t);
    snprintf(name, sizeof name, fmt, l);
    int64_t i = mlxn_gguf_find_tensor(x->g, name);
    if (i >= 0 && mlxn_gguf_tensor(x->g, i, &t) != MLXN_OK)
        memset(&t, 0, sizeof t);
    return t;
}

static mlxn_status read_config(gguf_ctx *x, mlxn_model_config *c)
{
    memset(c, 0, sizeof *c);
    if (!strcmp(x->arch, "llama") || !strcmp(x->arch, "mistral"))
        c->arch = strcmp(x->arch, "llama") ? MLXN_ARCH_MISTRAL : MLXN_ARCH_LLAMA;
    else if (!strcmp(x->arch, "qwen2"))
        c->arch = MLXN_ARCH_QWEN2;
    else if (!strcmp(x->arch, "qwen3"))
        c->arch = MLXN_ARCH_QWEN3;
    else
        return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED,
                          "GGUF architecture '%s' is not supported (llama, mistral, qwen2, qwen3)",
                          x->arch);
    c->n_embd = (int)get_int(x, "embedding_length", 0);
    c->n_layer = (int)get_int(x, "block_count", 0);
    c->n_ff = (int)get_int(x, "feed_forward_length", 0);
    c->n_head = (int)get_int(x, "attention.head_count", 0);
    c->n_head_kv = (int)get_int(x, "attention.head_count_kv", c->n_head);
    c->n_ctx_train = (int)get_int(x, "context_length", 0);
    c->head_dim = (int)get_int(x, "attention.key_length", c->n_head ? c->n_embd / c->n_head : 0);
    c->n_rot = (int)get_int(x, "rope.dimension_count", c->head_dim);
    c->rms_eps = (float)get_float(x, "attention.layer_norm_rms_epsilon", 1e-5);
    c->rope_theta = (float)get_float(x, "rope.freq_base", 10000.0);
    c->rope_neox = c->arch == MLXN_ARCH_QWEN2 || c->arch == MLXN_ARCH_QWEN3;
    c->qk_norm = c->arch == MLXN_ARCH_QWEN3;
    c->attn_bias = c->arch == MLXN_ARCH_QWEN2;
    char key[128];
    const char *scaling = NULL;
    snprintf(key, sizeof key, "%s.rope.scaling.type", x->arch);
    if (mlxn_gguf_get_string(x->g, key, &scaling, NULL) == MLXN_OK && !strcmp(scaling, "linear")) {
        c->rope_scaling = MLXN_ROPE_SCALING_LINEAR;
        c->rope_factor = (float)get_float(x, "rope.scaling.factor", 1.0);
    }
    mlxn_tensor_info emb = tensor(x, "token_embd.weight", 0);
    if (!emb.name || emb.ndim != 2)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "GGUF: token_embd.weight is missing or not 2-D");
    c->n_vocab = (int)emb.shape[0];
    c->tied_embeddings = tensor(x, "output.weight", 0).name == NULL;
    return mlxn__config_check(c);
}

static mlxn__wsrc wsrc(gguf_ctx *x, const char *fmt, int l)
{
    mlxn__wsrc s;
    memset(&s, 0, sizeof s);
    s.w = tensor(x, fmt, l);
    return s;
}

static void layer_src(gguf_ctx *x, int l, mlxn__layer_src *s)
{
    memset(s, 0, sizeof *s);
    s->attn_norm = tensor(x, "blk.%d.attn_norm.weight", l);
    s->ffn_norm = tensor(x, "blk.%d.ffn_norm.weight", l);
    s->bq = tensor(x, "blk.%d.attn_q.bias", l);
    s->bk = tensor(x, "blk.%d.attn_k.bias", l);
    s->bv = tensor(x, "blk.%d.attn_v.bias", l);
    s->q_norm = tensor(x, "blk.%d.attn_q_norm.weight", l);
    s->k_norm = tensor(x, "blk.%d.attn_k_norm.weight", l);
    s->q = wsrc(x, "blk.%d.attn_q.weight", l);
    s->k = wsrc(x, "blk.%d.attn_k.weight", l);
    s->v = wsrc(x, "blk.%d.attn_v.weight", l);
    s->o = wsrc(x, "blk.%d.attn_output.weight", l);
    s->gate = wsrc(x, "blk.%d.ffn_gate.weight", l);
    s->up = wsrc(x, "blk.%d.ffn_up.weight", l);
    s->down = wsrc(x, "blk.%d.ffn_down.weight", l);
}

static mlxn_status load_all(mlxn_loader *ld, gguf_ctx *x)
{
    mlxn_model *m = ld->m;
    const mlxn_model_config *c = &m->cfg;
    for (int64_t i = 0; i < mlxn_gguf_tensor_count(x->g); i++) {
        mlxn_tensor_info t;
        if (mlxn_gguf_tensor(x->g, i, &t) == MLXN_OK)
            ld->total += t.bytes;
    }
    mlxn__wsrc emb = wsrc(x, "token_embd.weight", 0), out = wsrc(x, "output.weight", 0);
    mlxn_tensor_info norm = tensor(x, "output_norm.weight", 0);
    mlxn_status st;
    if ((st = mlxn__load_weight(ld, &emb, c->n_vocab, c->n_embd, &m->tok_embd)))
        return st;
    if (c->tied_embeddings)
        m->output = m->tok_embd;
    else if ((st = mlxn__load_linear(ld, &out, c->n_vocab, c->n_embd, &m->output)))
        return st;
    if (!norm.name)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "GGUF: output_norm.weight is missing");
    if ((st = mlxn__load_vector(ld, &norm, c->n_embd, &m->output_norm)))
        return st;
    mlxn_tensor_info freqs = tensor(x, "rope_freqs.weight", 0);
    if (freqs.name && (st = mlxn__load_vector(ld, &freqs, c->n_rot / 2, &m->freq_factors)))
        return st;
    for (int l = 0; l < c->n_layer; l++) {
        mlxn__layer_src s;
        layer_src(x, l, &s);
        if (!s.q.w.name || !s.k.w.name || !s.v.w.name || !s.o.w.name || !s.gate.w.name ||
            !s.up.w.name || !s.down.w.name)
            return mlxn__fail(NULL, MLXN_ERR_FORMAT, "GGUF: layer %d is missing weights", l);
        if ((st = mlxn__load_layer(ld, l, &s)))
            return st;
    }
    return mlxn_tokenizer_from_gguf(x->g, &m->tokenizer);
}

mlxn_status mlxn__load_gguf(mlxn_loader *ld, const char *path)
{
    gguf_ctx x;
    mlxn_status st = mlxn_gguf_open(path, &x.g);
    if (st != MLXN_OK)
        return st;
    size_t len = 0;
    if (mlxn_gguf_get_string(x.g, "general.architecture", &x.arch, &len) != MLXN_OK) {
        mlxn_gguf_close(x.g);
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "GGUF: general.architecture is missing");
    }
    mlxn_model_config cfg;
    st = read_config(&x, &cfg);
    if (st == MLXN_OK)
        st = mlxn__model_init(ld->m, &cfg, ld->params);
    if (st == MLXN_OK)
        st = load_all(ld, &x);
    if (st == MLXN_OK && ld->m->tokenizer) {
        ld->m->cfg.bos_id = mlxn_tokenizer_bos(ld->m->tokenizer);
        ld->m->cfg.eos_id = mlxn_tokenizer_eos(ld->m->tokenizer);
    }
    mlxn_gguf_close(x.g);
    return st;
}
