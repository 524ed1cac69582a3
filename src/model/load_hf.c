/*
 * load_hf.c: a Llama-family model from a Hugging Face or MLX safetensors
 * directory: config.json (llama, mistral, qwen2, qwen3; rope_theta and
 * rope_scaling at the top level, or the newer rope_parameters object),
 * tensors by Hugging Face names (model.layers.N.self_attn.q_proj.weight,
 * ...), MLX affine quantization (".weight" u32 with ".scales" and
 * ".biases"), and tokenizer.json when present. HF checkpoints rotate NeoX
 * halves. A quantized embedding table is dequantized to f16 on the host
 * for the lookup; a tied output keeps the quantized matrix.
 */
#include "model/load.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hf_ctx {
    mlxn_model_dir *md;
    const mlxn_json *cfg;
} hf_ctx;

static int64_t jint(const mlxn_json *o, const char *key, int64_t fallback)
{
    int64_t v;
    double d;
    if (mlxn_json_get_int(o, key, &v) == MLXN_OK)
        return v;
    return mlxn_json_get_number(o, key, &d) == MLXN_OK ? (int64_t)d : fallback;
}

static double jnum(const mlxn_json *o, const char *key, double fallback)
{
    double v;
    return mlxn_json_get_number(o, key, &v) == MLXN_OK ? v : fallback;
}

/* bos/eos ids may be a number or a list (the first entry counts). */
static int32_t jtoken(const mlxn_json *o, const char *key)
{
    const mlxn_json *v = mlxn_json_get(o, key);
    if (mlxn_json_kind_of(v) == MLXN_JSON_ARRAY)
        v = mlxn_json_at(v, 0);
    int64_t id;
    return mlxn_json_as_int(v, &id) == MLXN_OK && id >= 0 && id < INT32_MAX ? (int32_t)id : -1;
}

static mlxn_status read_rope(const mlxn_json *cfg, mlxn_model_config *c)
{
    const mlxn_json *rp = mlxn_json_get(cfg, "rope_parameters");
    const mlxn_json *rs = mlxn_json_get(cfg, "rope_scaling");
    c->rope_theta = (float)jnum(cfg, "rope_theta", jnum(rp, "rope_theta", 10000.0));
    const mlxn_json *s = mlxn_json_kind_of(rs) == MLXN_JSON_OBJECT ? rs : rp;
    const char *type = NULL;
    if (mlxn_json_get_string(s, "rope_type", &type) != MLXN_OK)
        mlxn_json_get_string(s, "type", &type);
    if (!type || !strcmp(type, "default"))
        return MLXN_OK;
    c->rope_factor = (float)jnum(s, "factor", 1.0);
    if (!strcmp(type, "linear")) {
        c->rope_scaling = MLXN_ROPE_SCALING_LINEAR;
    } else if (!strcmp(type, "llama3")) {
        c->rope_scaling = MLXN_ROPE_SCALING_LLAMA3;
        c->rope_low_freq_factor = (float)jnum(s, "low_freq_factor", 1.0);
        c->rope_high_freq_factor = (float)jnum(s, "high_freq_factor", 4.0);
        c->rope_orig_ctx = (int)jint(s, "original_max_position_embeddings", 8192);
    } else {
        return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED, "config.json: rope type '%s' is not supported",
                          type);
    }
    return MLXN_OK;
}

static mlxn_status read_config(const mlxn_json *cfg, mlxn_model_config *c)
{
    memset(c, 0, sizeof *c);
    const char *type = NULL;
    if (mlxn_json_get_string(cfg, "model_type", &type) != MLXN_OK)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "config.json: model_type is missing");
    if (!strcmp(type, "llama"))
        c->arch = MLXN_ARCH_LLAMA;
    else if (!strcmp(type, "mistral"))
        c->arch = MLXN_ARCH_MISTRAL;
    else if (!strcmp(type, "qwen2"))
        c->arch = MLXN_ARCH_QWEN2;
    else if (!strcmp(type, "qwen3"))
        c->arch = MLXN_ARCH_QWEN3;
    else
        return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED,
                          "config.json: model_type '%s' is not supported (llama, mistral, qwen2, "
                          "qwen3)",
                          type);
    c->n_vocab = (int)jint(cfg, "vocab_size", 0);
    c->n_embd = (int)jint(cfg, "hidden_size", 0);
    c->n_ff = (int)jint(cfg, "intermediate_size", 0);
    c->n_layer = (int)jint(cfg, "num_hidden_layers", 0);
    c->n_head = (int)jint(cfg, "num_attention_heads", 0);
    c->n_head_kv = (int)jint(cfg, "num_key_value_heads", c->n_head);
    c->head_dim = (int)jint(cfg, "head_dim", c->n_head ? c->n_embd / c->n_head : 0);
    c->n_ctx_train = (int)jint(cfg, "max_position_embeddings", 4096);
    c->rms_eps = (float)jnum(cfg, "rms_norm_eps", 1e-6);
    c->n_rot = (int)(c->head_dim * jnum(cfg, "partial_rotary_factor", 1.0));
    c->n_rot -= c->n_rot % 2;
    c->rope_neox = 1;
    c->qk_norm = c->arch == MLXN_ARCH_QWEN3;
    c->attn_bias = c->arch == MLXN_ARCH_QWEN2;
    int tied = 0;
    if (mlxn_json_get_bool(cfg, "tie_word_embeddings", &tied) != MLXN_OK)
        tied = 0;
    c->tied_embeddings = tied;
    c->bos_id = jtoken(cfg, "bos_token_id");
    c->eos_id = jtoken(cfg, "eos_token_id");
    mlxn_status st = read_rope(cfg, c);
    return st != MLXN_OK ? st : mlxn__config_check(c);
}

static mlxn_tensor_info tensor(hf_ctx *x, const char *fmt, int l, const char *suffix)
{
    char name[160];
    mlxn_tensor_info t;
    memset(&t, 0, sizeof t);
    snprintf(name, sizeof name, fmt, l);
    strncat(name, suffix, sizeof name - strlen(name) - 1);
    int64_t i = mlxn_model_dir_find_tensor(x->md, name);
    if (i >= 0 && mlxn_model_dir_tensor(x->md, i, &t) != MLXN_OK)
        memset(&t, 0, sizeof t);
    return t;
}

/* A module's weight with its MLX scales and biases when quantized. */
static mlxn_status wsrc(hf_ctx *x, const char *fmt, int l, mlxn__wsrc *s)
{
    memset(s, 0, sizeof *s);
    s->w = tensor(x, fmt, l, ".weight");
    s->scales = tensor(x, fmt, l, ".scales");
    s->biases = tensor(x, fmt, l, ".biases");
    if (!s->scales.name)
        return MLXN_OK;
    mlxn_quant_info q;
    mlxn_status st = mlxn_model_dir_quant(x->md, s->w.name, &q);
    if (st != MLXN_OK)
        return st;
    if (!q.bits || (q.mode && strcmp(q.mode, "affine")))
        return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED, "%s: quantization mode '%s' is not supported",
                          s->w.name, q.mode ? q.mode : "none");
    s->bits = q.bits;
    s->group_size = q.group_size;
    return MLXN_OK;
}

static mlxn_status layer_src(hf_ctx *x, int l, mlxn__layer_src *s)
{
    memset(s, 0, sizeof *s);
    const char *p = "model.layers.%d.";
    char f[64];
#define T(field, name) (snprintf(f, sizeof f, "%s%s", p, name), s->field = tensor(x, f, l, ".weight"))
#define B(field, name) (snprintf(f, sizeof f, "%s%s", p, name), s->field = tensor(x, f, l, ".bias"))
#define W(field, name) (snprintf(f, sizeof f, "%s%s", p, name), wsrc(x, f, l, &s->field))
    T(attn_norm, "input_layernorm");
    T(ffn_norm, "post_attention_layernorm");
    T(q_norm, "self_attn.q_norm");
    T(k_norm, "self_attn.k_norm");
    B(bq, "self_attn.q_proj");
    B(bk, "self_attn.k_proj");
    B(bv, "self_attn.v_proj");
    mlxn_status st;
    if ((st = W(q, "self_attn.q_proj")) || (st = W(k, "self_attn.k_proj")) ||
        (st = W(v, "self_attn.v_proj")) || (st = W(o, "self_attn.o_proj")) ||
        (st = W(gate, "mlp.gate_proj")) || (st = W(up, "mlp.up_proj")) ||
        (st = W(down, "mlp.down_proj")))
        return st;
#undef T
#undef B
#undef W
    if (!s->q.w.name || !s->k.w.name || !s->v.w.name || !s->o.w.name || !s->gate.w.name ||
        !s->up.w.name || !s->down.w.name)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "layer %d is missing weights", l);
    return MLXN_OK;
}

static float half_bits_to_f32(uint16_t h, int bf16)
{
    uint32_t u;
    if (bf16) {
        u = (uint32_t)h << 16;
    } else {
        uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 31u, man = h & 1023u;
        if (e == 0) {
            float f = (float)man * (1.0f / 16777216.0f);
            return sign ? -f : f;
        }
        u = e == 31 ? (sign | 0x7f800000u | (man << 13)) : (sign | ((e + 112u) << 23) | (man << 13));
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint16_t f32_to_half_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u);
    if (a >= 0x477ff000u)
        return (uint16_t)(sign | 0x7c00u);
    if (a < 0x38800000u) {
        float v;
        memcpy(&v, &a, 4);
        return (uint16_t)(sign | (uint32_t)nearbyintf(v * 16777216.0f));
    }
    return (uint16_t)(sign | ((a + 0xfffu + ((a >> 13) & 1u) - 0x38000000u) >> 13));
}

/* An MLX-quantized embedding table dequantized to f16 on the host
 * (w = scale * q + bias per group; q packed little-end first in u32). */
static mlxn_status dequant_embedding(mlxn_loader *ld, const mlxn__wsrc *s, mlxn_weight *out)
{
    const mlxn_model_config *c = &ld->m->cfg;
    int64_t V = c->n_vocab, E = c->n_embd, bits = s->bits, g = s->group_size;
    if (bits < 1 || bits > 8 || 32 % bits || g < 1 || E % g || !s->biases.name ||
        s->w.dtype != MLXN_DTYPE_U32 || s->w.elems != V * E * bits / 32 ||
        s->scales.elems != V * E / g || s->biases.elems != V * E / g ||
        (s->scales.dtype != MLXN_DTYPE_F16 && s->scales.dtype != MLXN_DTYPE_BF16) ||
        s->biases.dtype != s->scales.dtype)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: quantized embedding does not match the config",
                          s->w.name);
    uint16_t *h = malloc(sizeof *h * (size_t)(V * E));
    if (!h)
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "dequantizing %s: out of memory", s->w.name);
    int bf16 = s->scales.dtype == MLXN_DTYPE_BF16;
    const uint8_t *w = s->w.data, *sc = s->scales.data, *bi = s->biases.data;
    for (int64_t i = 0; i < V * E; i++) {
        uint32_t word;
        memcpy(&word, w + 4 * ((i * bits) / 32), 4);
        uint32_t q = (word >> ((i * bits) % 32)) & ((1u << bits) - 1);
        uint16_t sb, bb;
        memcpy(&sb, sc + 2 * (i / g), 2);
        memcpy(&bb, bi + 2 * (i / g), 2);
        h[i] = f32_to_half_bits(half_bits_to_f32(sb, bf16) * (float)q + half_bits_to_f32(bb, bf16));
    }
    int64_t shape[2] = {V, E};
    memset(out, 0, sizeof *out);
    mlxn_status st = mlxn__model_buffer(ld->m, MLXN_DTYPE_F16, 2, shape, &out->w);
    if (st == MLXN_OK)
        st = mlxn_buffer_write(out->w, 0, h, sizeof *h * (size_t)(V * E));
    free(h);
    return st;
}

static mlxn_status load_all(mlxn_loader *ld, hf_ctx *x)
{
    mlxn_model *m = ld->m;
    const mlxn_model_config *c = &m->cfg;
    for (int64_t i = 0; i < mlxn_model_dir_tensor_count(x->md); i++) {
        mlxn_tensor_info t;
        if (mlxn_model_dir_tensor(x->md, i, &t) == MLXN_OK)
            ld->total += t.bytes;
    }
    mlxn__wsrc emb, out;
    mlxn_status st;
    if ((st = wsrc(x, "model.embed_tokens", 0, &emb)) || (st = wsrc(x, "lm_head", 0, &out)))
        return st;
    if (!emb.w.name)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "model.embed_tokens.weight is missing");
    int tied = c->tied_embeddings || !out.w.name;
    if (emb.scales.name) {
        if ((st = dequant_embedding(ld, &emb, &m->tok_embd)))
            return st;
        if (tied && (st = mlxn__load_weight(ld, &emb, c->n_vocab, c->n_embd, &m->output)))
            return st;
    } else {
        if ((st = mlxn__load_weight(ld, &emb, c->n_vocab, c->n_embd, &m->tok_embd)))
            return st;
        if (tied)
            m->output = m->tok_embd;
    }
    if (!tied && (st = mlxn__load_weight(ld, &out, c->n_vocab, c->n_embd, &m->output)))
        return st;
    mlxn_tensor_info norm = tensor(x, "model.norm", 0, ".weight");
    if (!norm.name)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "model.norm.weight is missing");
    if ((st = mlxn__load_vector(ld, &norm, c->n_embd, &m->output_norm)))
        return st;
    for (int l = 0; l < c->n_layer; l++) {
        mlxn__layer_src s;
        if ((st = layer_src(x, l, &s)) || (st = mlxn__load_layer(ld, l, &s)))
            return st;
    }
    return MLXN_OK;
}

static void load_tokenizer(mlxn_model *m, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    fclose(f);
    /* A tokenizer we cannot read leaves the model usable with ids. */
    if (mlxn_tokenizer_from_hf_json(path, &m->tokenizer) != MLXN_OK)
        m->tokenizer = NULL;
    if (m->tokenizer && m->cfg.eos_id < 0)
        m->cfg.eos_id = mlxn_tokenizer_eos(m->tokenizer);
    if (m->tokenizer && m->cfg.bos_id < 0)
        m->cfg.bos_id = mlxn_tokenizer_bos(m->tokenizer);
}

mlxn_status mlxn__load_hf(mlxn_loader *ld, const char *dir)
{
    hf_ctx x;
    mlxn_status st = mlxn_model_dir_open(dir, &x.md);
    if (st != MLXN_OK)
        return st;
    x.cfg = mlxn_model_dir_config(x.md);
    mlxn_model_config cfg;
    st = read_config(x.cfg, &cfg);
    if (st == MLXN_OK)
        st = mlxn__model_init(ld->m, &cfg, ld->params);
    if (st == MLXN_OK)
        st = load_all(ld, &x);
    if (st == MLXN_OK)
        load_tokenizer(ld->m, dir);
    mlxn_model_dir_close(x.md);
    return st;
}
