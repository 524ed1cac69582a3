/*
 * load_llama2c.c: a model from a llama2.c checkpoint (karpathy/llama2.c
 * run.c format, f32): the layer tensors are slices of stacked arrays.
 * RoPE rotates interleaved pairs (run.c), norms use eps 1e-5, theta 10000.
 * The tokenizer comes from tokenizer.bin or tok<vocab>.bin beside the
 * checkpoint when present.
 */
#include "model/load.h"

#include <stdio.h>
#include <string.h>

/* Layer l of a stacked (n_layers, rows, cols) f32 tensor. */
static mlxn_tensor_info slice(mlxn_llama2c *ck, const char *name, int l, int n_layers)
{
    mlxn_tensor_info t;
    memset(&t, 0, sizeof t);
    int64_t i = mlxn_llama2c_find_tensor(ck, name);
    if (i < 0 || mlxn_llama2c_tensor(ck, i, &t) != MLXN_OK || t.shape[0] != n_layers) {
        memset(&t, 0, sizeof t);
        return t;
    }
    int64_t per = t.elems / n_layers;
    t.data = (const float *)t.data + per * l;
    t.elems = per;
    t.bytes = (size_t)per * 4;
    for (int d = 1; d < t.ndim; d++)
        t.shape[d - 1] = t.shape[d];
    t.ndim--;
    return t;
}

static mlxn_tensor_info whole(mlxn_llama2c *ck, const char *name)
{
    mlxn_tensor_info t;
    memset(&t, 0, sizeof t);
    int64_t i = mlxn_llama2c_find_tensor(ck, name);
    if (i < 0 || mlxn_llama2c_tensor(ck, i, &t) != MLXN_OK)
        memset(&t, 0, sizeof t);
    return t;
}

static void load_tokenizer(mlxn_model *m, const char *path)
{
    char dir[4096], cand[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[1] = 0;
    else
        dir[0] = 0;
    const char *names[2] = {"tokenizer.bin", NULL};
    char tok[64];
    snprintf(tok, sizeof tok, "tok%d.bin", m->cfg.n_vocab);
    names[1] = tok;
    for (int i = 1; i >= 0 && !m->tokenizer; i--) {
        snprintf(cand, sizeof cand, "%s%s", dir, names[i]);
        FILE *f = fopen(cand, "rb");
        if (!f)
            continue;
        fclose(f);
        if (mlxn_tokenizer_from_llama2c(cand, m->cfg.n_vocab, &m->tokenizer) != MLXN_OK)
            m->tokenizer = NULL;
    }
}

static mlxn_status load_all(mlxn_loader *ld, mlxn_llama2c *ck)
{
    mlxn_model *m = ld->m;
    const mlxn_model_config *c = &m->cfg;
    for (int64_t i = 0; i < mlxn_llama2c_tensor_count(ck); i++) {
        mlxn_tensor_info t;
        if (mlxn_llama2c_tensor(ck, i, &t) == MLXN_OK)
            ld->total += t.bytes;
    }
    mlxn__wsrc emb, cls;
    memset(&emb, 0, sizeof emb);
    memset(&cls, 0, sizeof cls);
    emb.w = whole(ck, "token_embedding_table");
    cls.w = whole(ck, "wcls");
    mlxn_tensor_info norm = whole(ck, "rms_final_weight");
    mlxn_status st;
    if ((st = mlxn__load_weight(ld, &emb, c->n_vocab, c->n_embd, &m->tok_embd)) ||
        (st = mlxn__load_vector(ld, &norm, c->n_embd, &m->output_norm)))
        return st;
    if (c->tied_embeddings)
        m->output = m->tok_embd;
    else if ((st = mlxn__load_weight(ld, &cls, c->n_vocab, c->n_embd, &m->output)))
        return st;
    for (int l = 0; l < c->n_layer; l++) {
        mlxn__layer_src s;
        memset(&s, 0, sizeof s);
        s.attn_norm = slice(ck, "rms_att_weight", l, c->n_layer);
        s.ffn_norm = slice(ck, "rms_ffn_weight", l, c->n_layer);
        s.q.w = slice(ck, "wq", l, c->n_layer);
        s.k.w = slice(ck, "wk", l, c->n_layer);
        s.v.w = slice(ck, "wv", l, c->n_layer);
        s.o.w = slice(ck, "wo", l, c->n_layer);
        s.gate.w = slice(ck, "w1", l, c->n_layer);
        s.down.w = slice(ck, "w2", l, c->n_layer);
        s.up.w = slice(ck, "w3", l, c->n_layer);
        if ((st = mlxn__load_layer(ld, l, &s)))
            return st;
    }
    return MLXN_OK;
}

mlxn_status mlxn__load_llama2c(mlxn_loader *ld, const char *path)
{
    mlxn_llama2c *ck;
    mlxn_status st = mlxn_llama2c_open(path, &ck);
    if (st != MLXN_OK)
        return st;
    mlxn_llama2c_config lc;
    mlxn_llama2c_get_config(ck, &lc);
    mlxn_model_config c;
    memset(&c, 0, sizeof c);
    c.arch = MLXN_ARCH_LLAMA;
    c.n_vocab = lc.vocab_size;
    c.n_embd = lc.dim;
    c.n_layer = lc.n_layers;
    c.n_head = lc.n_heads;
    c.n_head_kv = lc.n_kv_heads;
    c.head_dim = lc.n_heads ? lc.dim / lc.n_heads : 0;
    c.n_rot = c.head_dim;
    c.n_ff = lc.hidden_dim;
    c.n_ctx_train = lc.seq_len;
    c.rms_eps = 1e-5f;
    c.rope_theta = 10000.0f;
    c.tied_embeddings = lc.shared_classifier;
    c.bos_id = 1;
    c.eos_id = 2;
    st = mlxn__config_check(&c);
    if (st == MLXN_OK)
        st = mlxn__model_init(ld->m, &c, ld->params);
    if (st == MLXN_OK)
        st = load_all(ld, ck);
    if (st == MLXN_OK)
        load_tokenizer(ld->m, path);
    mlxn_llama2c_close(ck);
    return st;
}
