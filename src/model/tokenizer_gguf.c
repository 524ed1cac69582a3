/*
 * tokenizer_gguf.c: build a tokenizer from GGUF metadata (tokenizer.ggml.*)
 * with llama.cpp's defaults and overrides (src/llama-vocab.cpp, load()).
 */
#include "model/gguf_internal.h"
#include "model/tokenizer_internal.h"

#include <ctype.h>

#define SRC "gguf tokenizer"

/* An optional array under key of f32 or i32 (type_mask: bits of
 * 1 << MLXN_GGUF_*) with at least n elements; *arr is -1 when absent. */
static mlxn_status optional_array(const mlxn_gguf *g, const char *key, int64_t n,
                                  unsigned type_mask, mlxn_gguf_array *arr)
{
    *arr = -1;
    if (mlxn_gguf_find_key(g, key) < 0)
        return MLXN_OK;
    int64_t len;
    mlxn_gguf_type type;
    mlxn_status st = mlxn_gguf_get_array(g, key, arr, &type, &len);
    if (st != MLXN_OK)
        return st;
    if (!(type_mask & (1u << type)))
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, SRC ": %s is an array of %s", key,
                          mlxn_gguf_type_name(type));
    if (len < n)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, SRC ": %s has %lld entries for %lld tokens",
                          key, (long long)len, (long long)n);
    return MLXN_OK;
}

static void read_id(const mlxn_gguf *g, const char *key, int32_t *id, int32_t n_vocab)
{
    int64_t v;
    if (mlxn_gguf_find_key(g, key) >= 0 && mlxn_gguf_get_int(g, key, &v) == MLXN_OK &&
        v >= 0 && v < n_vocab)
        *id = (int32_t)v;
}

static void read_flag(const mlxn_gguf *g, const char *key, int *flag)
{
    int v;
    if (mlxn_gguf_find_key(g, key) >= 0 && mlxn_gguf_get_bool(g, key, &v) == MLXN_OK)
        *flag = v;
}

/* Model kind, pre-tokenizer and the flags that depend on them. */
static mlxn_status read_model(const mlxn_gguf *g, mlxn_tokenizer *tok)
{
    const char *model, *pre = NULL;
    mlxn_status st = mlxn_gguf_get_string(g, "tokenizer.ggml.model", &model, NULL);
    if (st != MLXN_OK)
        return st;
    if (!strcmp(model, "llama")) {
        tok->kind = MLXN_TOKENIZER_SPM;
        tok->pre = TOK_PRE_NONE;
        tok->add_space_prefix = 1;
        tok->escape_whitespace = 1;
        tok->add_bos = 1;
        tok->bos = 1, tok->eos = 2, tok->unk = 0;
        return MLXN_OK;
    }
    if (strcmp(model, "gpt2"))
        return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED,
                          SRC ": tokenizer.ggml.model '%s' is not supported (only llama, gpt2)",
                          model);
    tok->kind = MLXN_TOKENIZER_BPE;
    tok->byte_level = 1;
    tok->bos = tok->eos = 11; /* llama.cpp's defaults for BPE vocabularies */
    if (mlxn_gguf_find_key(g, "tokenizer.ggml.pre") >= 0) {
        st = mlxn_gguf_get_string(g, "tokenizer.ggml.pre", &pre, NULL);
        if (st != MLXN_OK)
            return st;
    }
    tok->pre = mlxn__tok_pre_from_name(pre ? pre : "default", &tok->ignore_merges,
                                       &tok->add_bos);
    if (tok->pre == TOK_PRE_COUNT)
        return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED,
                          SRC ": pre-tokenizer '%s' (tokenizer.ggml.pre) is not supported", pre);
    return MLXN_OK;
}

static mlxn_status read_vocab(const mlxn_gguf *g, mlxn_tokenizer *tok, mlxn_gguf_array toks)
{
    mlxn_gguf_array scores, types = -1;
    mlxn_gguf_type score_type = MLXN_GGUF_FLOAT32;
    mlxn_status st = optional_array(g, "tokenizer.ggml.scores", tok->n_vocab,
                                    (1u << MLXN_GGUF_FLOAT32) | (1u << MLXN_GGUF_INT32), &scores);
    if (st == MLXN_OK && scores >= 0)
        mlxn_gguf_array_info(g, scores, &score_type, NULL);
    if (st == MLXN_OK)
        st = optional_array(g, "tokenizer.ggml.token_type", tok->n_vocab,
                            1u << MLXN_GGUF_INT32, &types);
    const uint8_t *score_data = scores >= 0 ? mlxn_gguf_array_data(g, scores) : NULL;
    const uint8_t *type_data = types >= 0 ? mlxn_gguf_array_data(g, types) : NULL;
    for (int32_t id = 0; id < tok->n_vocab && st == MLXN_OK; id++) {
        const char *text;
        size_t len;
        st = mlxn_gguf_array_string(g, toks, id, &text, &len);
        if (st != MLXN_OK)
            break;
        float score = 0.0f;
        int32_t type = MLXN_TOKEN_NORMAL;
        if (score_data && score_type == MLXN_GGUF_FLOAT32) {
            memcpy(&score, score_data + 4 * (size_t)id, 4);
        } else if (score_data) {
            int32_t s;
            memcpy(&s, score_data + 4 * (size_t)id, 4);
            score = (float)s;
        }
        if (type_data)
            memcpy(&type, type_data + 4 * (size_t)id, 4);
        if (type < 0 || type > MLXN_TOKEN_BYTE)
            type = MLXN_TOKEN_UNDEFINED;
        if (len > UINT32_MAX)
            return mlxn__fail(NULL, MLXN_ERR_FORMAT, SRC ": token %d is too long", id);
        tok_entry e = {.text = text, .len = (uint32_t)len, .score = score, .type = type};
        st = mlxn__tok_set(tok, id, &e, SRC);
    }
    return st;
}

static mlxn_status read_merges(const mlxn_gguf *g, mlxn_tokenizer *tok)
{
    mlxn_gguf_array merges;
    mlxn_gguf_type et;
    int64_t n;
    if (mlxn_gguf_find_key(g, "tokenizer.ggml.merges") < 0)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, SRC ": a gpt2 vocabulary needs tokenizer.ggml.merges");
    mlxn_status st = mlxn_gguf_get_array(g, "tokenizer.ggml.merges", &merges, &et, &n);
    if (st != MLXN_OK)
        return st;
    if (et != MLXN_GGUF_STRING || n > INT32_MAX)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, SRC ": tokenizer.ggml.merges must be strings");
    if (!mlxn__strmap_reserve(&tok->merge_map, (size_t)n))
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, SRC ": out of memory for merges");
    for (int64_t i = 0; i < n && st == MLXN_OK; i++) {
        const char *s;
        size_t len;
        st = mlxn_gguf_array_string(g, merges, i, &s, &len);
        if (st == MLXN_OK)
            st = mlxn__tok_add_merge(tok, s, len, (int32_t)i);
    }
    return st;
}

/* llama.cpp strips whitespace after Phi-3's special tokens, chosen by the
 * model name. */
static void phi3_rstrip(const mlxn_gguf *g, mlxn_tokenizer *tok)
{
    const char *name;
    if (mlxn_gguf_find_key(g, "general.name") < 0 ||
        mlxn_gguf_get_string(g, "general.name", &name, NULL) != MLXN_OK)
        return;
    char lower[64];
    size_t n = 0;
    for (; name[n] && n + 1 < sizeof lower; n++)
        lower[n] = (char)tolower((unsigned char)name[n]);
    lower[n] = 0;
    if (!strstr(lower, "phi-3") && !strstr(lower, "phi3"))
        return;
    for (int32_t id = 0; id < tok->n_vocab; id++)
        if (tok->tokens[id].attr & (TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED | TOK_ATTR_UNKNOWN))
            tok->tokens[id].attr |= TOK_ATTR_RSTRIP;
    static const char *const on[] = {"</s>"}, *const off[] = {"<unk>", "<s>", "<|endoftext|>"};
    int32_t id = mlxn__tok_find(tok, on[0], strlen(on[0]));
    if (id >= 0)
        tok->tokens[id].attr |= TOK_ATTR_RSTRIP;
    for (size_t k = 0; k < 3; k++)
        if ((id = mlxn__tok_find(tok, off[k], strlen(off[k]))) >= 0)
            tok->tokens[id].attr &= ~(uint32_t)TOK_ATTR_RSTRIP;
}

mlxn_status mlxn_tokenizer_from_gguf(const mlxn_gguf *g, mlxn_tokenizer **out)
{
    if (!g || !out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "tokenizer_from_gguf: NULL argument");
    *out = NULL;
    mlxn_gguf_array toks;
    mlxn_gguf_type et;
    int64_t n;
    mlxn_status st = mlxn_gguf_get_array(g, "tokenizer.ggml.tokens", &toks, &et, &n);
    if (st != MLXN_OK)
        return st;
    if (et != MLXN_GGUF_STRING)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, SRC ": tokenizer.ggml.tokens must be strings");
    mlxn_tokenizer *tok;
    st = mlxn__tok_create(MLXN_TOKENIZER_SPM, n, &tok);
    if (st != MLXN_OK)
        return st;
    st = read_model(g, tok);
    if (st == MLXN_OK)
        st = read_vocab(g, tok, toks);
    if (st == MLXN_OK && tok->kind == MLXN_TOKENIZER_BPE)
        st = read_merges(g, tok);
    if (st == MLXN_OK) {
        read_flag(g, "tokenizer.ggml.add_space_prefix", &tok->add_space_prefix);
        read_flag(g, "tokenizer.ggml.add_bos_token", &tok->add_bos);
        read_flag(g, "tokenizer.ggml.add_eos_token", &tok->add_eos);
        read_id(g, "tokenizer.ggml.bos_token_id", &tok->bos, tok->n_vocab);
        read_id(g, "tokenizer.ggml.eos_token_id", &tok->eos, tok->n_vocab);
        read_id(g, "tokenizer.ggml.eot_token_id", &tok->eot, tok->n_vocab);
        read_id(g, "tokenizer.ggml.eom_token_id", &tok->eom, tok->n_vocab);
        read_id(g, "tokenizer.ggml.unknown_token_id", &tok->unk, tok->n_vocab);
        read_id(g, "tokenizer.ggml.padding_token_id", &tok->pad, tok->n_vocab);
        st = mlxn__tok_finish(tok, SRC);
    }
    if (st == MLXN_OK)
        phi3_rstrip(g, tok);
    if (st != MLXN_OK) {
        mlxn_tokenizer_destroy(tok);
        return st;
    }
    *out = tok;
    return MLXN_OK;
}
