/*
 * tokenizer.c: the tokenizer object: building it from a vocabulary (used by
 * the GGUF, tokenizer.json and llama2.c loaders), the getters, encoding
 * (special-token partition, then the SPM or BPE algorithm per text
 * fragment, as llama.cpp's llama_vocab::impl::tokenize) and decoding.
 */
#include "model/tokenizer_internal.h"
#include "model/unicode.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- building --------------------------------------------------------------------- */

mlxn_status mlxn__tok_create(mlxn_tokenizer_kind kind, int64_t n, mlxn_tokenizer **out)
{
    if (n < 1 || n > INT32_MAX)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "tokenizer: %lld tokens is not a usable vocabulary",
                          (long long)n);
    mlxn_tokenizer *tok = calloc(1, sizeof *tok);
    if (tok)
        tok->tokens = calloc((size_t)n, sizeof *tok->tokens);
    if (!tok || !tok->tokens || !mlxn__strmap_reserve(&tok->token_map, (size_t)n)) {
        mlxn_tokenizer_destroy(tok);
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "tokenizer: out of memory for %lld tokens",
                          (long long)n);
    }
    tok->kind = kind;
    tok->n_vocab = (int32_t)n;
    tok->bos = tok->eos = tok->eot = tok->eom = tok->unk = tok->pad = -1;
    *out = tok;
    return MLXN_OK;
}

static uint32_t attr_of_type(int type)
{
    switch (type) {
    case MLXN_TOKEN_NORMAL: return TOK_ATTR_NORMAL;
    case MLXN_TOKEN_UNKNOWN: return TOK_ATTR_UNKNOWN;
    case MLXN_TOKEN_CONTROL: return TOK_ATTR_CONTROL;
    case MLXN_TOKEN_USER_DEFINED: return TOK_ATTR_USER_DEFINED;
    case MLXN_TOKEN_UNUSED: return TOK_ATTR_UNUSED;
    case MLXN_TOKEN_BYTE: return TOK_ATTR_BYTE;
    default: return 0;
    }
}

mlxn_status mlxn__tok_set(mlxn_tokenizer *tok, int32_t id, const tok_entry *in,
                          const char *src)
{
    const char *text = in->text;
    size_t len = in->len;
    if (id < 0 || id >= tok->n_vocab)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: token id %d is outside the vocabulary of %d",
                          src, id, tok->n_vocab);
    char empty[32];
    if (!len) { /* as llama.cpp: an empty entry gets a unique name */
        len = (size_t)snprintf(empty, sizeof empty, "[EMPTY_%d]", id);
        text = empty;
    }
    if (len > UINT32_MAX)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: token %d is too long", src, id);
    tok_entry *e = &tok->tokens[id];
    if (e->text)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: token id %d is given twice", src, id);
    char *copy = mlxn__arena_strndup(&tok->arena, text, len);
    if (!copy)
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "%s: out of memory", src);
    int64_t prev = mlxn__strmap_put(&tok->token_map, copy, len, id);
    if (prev == -2)
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "%s: out of memory", src);
    if (prev != id)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "%s: duplicate token in the vocabulary: '%.64s' has ids %lld and %d",
                          src, copy, (long long)prev, id);
    e->text = copy;
    e->len = (uint32_t)len;
    e->score = in->score;
    e->type = in->type;
    e->attr = attr_of_type(in->type);
    return MLXN_OK;
}

mlxn_status mlxn__tok_add_merge(mlxn_tokenizer *tok, const char *line, size_t len,
                                int32_t rank)
{
    /* As llama.cpp: split at the first space after the first byte. */
    if (len < 2 || !memchr(line + 1, ' ', len - 1))
        return MLXN_OK;
    char *copy = mlxn__arena_strndup(&tok->arena, line, len);
    if (!copy || mlxn__strmap_put(&tok->merge_map, copy, len, rank) == -2)
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "tokenizer: out of memory for merges");
    return MLXN_OK;
}

int32_t mlxn__tok_find(const mlxn_tokenizer *tok, const char *text, size_t len)
{
    return (int32_t)mlxn__strmap_get(&tok->token_map, text, len);
}

static int cmp_special(const void *a, const void *b, void *ctx)
{
    const mlxn_tokenizer *tok = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    uint32_t lx = tok->tokens[x].len, ly = tok->tokens[y].len;
    if (lx != ly)
        return lx > ly ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* The piece a token decodes to (special tokens as their text), as
 * llama.cpp's token_to_piece with special = true. */
static mlxn_status make_piece(mlxn_tokenizer *tok, int32_t id)
{
    const tok_entry *e = &tok->tokens[id];
    char *p = mlxn__arena_alloc(&tok->arena, (size_t)e->len + 1);
    if (!p)
        return MLXN_ERR_OUT_OF_MEMORY;
    size_t n = 0;
    if (e->attr & (TOK_ATTR_UNKNOWN | TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED)) {
        memcpy(p, e->text, e->len);
        n = e->len;
    } else if (e->attr & TOK_ATTR_BYTE) {
        unsigned v;
        if (e->len == 6 && sscanf(e->text, "<0x%2x>", &v) == 1)
            p[n++] = (char)v;
    } else if (e->attr & TOK_ATTR_NORMAL) {
        const uint8_t *t = (const uint8_t *)e->text;
        for (uint32_t i = 0; i < e->len;) {
            if (tok->kind == MLXN_TOKENIZER_BPE && tok->byte_level) {
                size_t used;
                uint32_t cp = mlxn__utf8_decode(t + i, e->len - i, &used);
                int b = mlxn__cp_to_byte(cp);
                if (b >= 0) /* else keep the character as it is */
                    p[n++] = (char)b;
                else
                    for (size_t k = 0; k < used; k++)
                        p[n++] = (char)t[i + k];
                i += (uint32_t)used;
            } else if (e->len - i >= 3 && !memcmp(t + i, "\xe2\x96\x81", 3)) {
                p[n++] = ' ';
                i += 3;
            } else {
                p[n++] = (char)t[i++];
            }
        }
    }
    p[n] = 0;
    tok->pieces[id] = p;
    tok->piece_len[id] = (uint32_t)n;
    return MLXN_OK;
}

static const char *const eot_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
    "<|end_of_text|>", "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>", "<end_of_utterance>"};

mlxn_status mlxn__tok_finish(mlxn_tokenizer *tok, const char *src)
{
    for (int32_t id = 0; id < tok->n_vocab; id++) {
        if (tok->tokens[id].text)
            continue;
        tok_entry empty = {.text = "", .type = MLXN_TOKEN_UNDEFINED};
        mlxn_status st = mlxn__tok_set(tok, id, &empty, src);
        if (st != MLXN_OK)
            return st;
    }
    int32_t *ids[] = {&tok->bos, &tok->eos, &tok->eot, &tok->eom, &tok->unk, &tok->pad};
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++)
        if (*ids[k] >= tok->n_vocab)
            *ids[k] = -1;
    for (size_t k = 0; tok->eot < 0 && k < sizeof eot_texts / sizeof eot_texts[0]; k++)
        tok->eot = mlxn__tok_find(tok, eot_texts[k], strlen(eot_texts[k]));
    for (int b = 0; b < 256; b++) {
        tok->byte_cp[b] = mlxn__byte_to_cp((uint8_t)b);
        char name[8], u[4];
        int32_t id;
        if (tok->byte_level) {
            id = mlxn__tok_find(tok, u, mlxn__utf8_encode(tok->byte_cp[b], u));
        } else {
            snprintf(name, sizeof name, "<0x%02X>", b);
            id = mlxn__tok_find(tok, name, 6);
            if (id < 0 && tok->kind == MLXN_TOKENIZER_SPM) {
                name[0] = (char)b;
                id = mlxn__tok_find(tok, name, 1);
            }
        }
        tok->byte_token[b] = id;
    }
    tok->special = malloc((size_t)tok->n_vocab * sizeof *tok->special);
    tok->pieces = malloc((size_t)tok->n_vocab * sizeof *tok->pieces);
    tok->piece_len = malloc((size_t)tok->n_vocab * sizeof *tok->piece_len);
    if (!tok->special || !tok->pieces || !tok->piece_len)
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "%s: out of memory", src);
    tok->n_special = 0;
    for (int32_t id = 0; id < tok->n_vocab; id++) {
        if (tok->tokens[id].attr & (TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED | TOK_ATTR_UNKNOWN))
            tok->special[tok->n_special++] = id;
        if (make_piece(tok, id) != MLXN_OK)
            return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "%s: out of memory", src);
    }
    qsort_r(tok->special, (size_t)tok->n_special, sizeof *tok->special, cmp_special, tok);
    return MLXN_OK;
}

static const struct {
    const char *name;
    tok_pre pre;
    int ignore_merges, add_bos;
} pre_names[] = {
    {"default", TOK_PRE_DEFAULT, 0, 0},       {"gpt-2", TOK_PRE_GPT2, 0, 0},
    {"phi-2", TOK_PRE_GPT2, 0, 0},            {"mpt", TOK_PRE_GPT2, 0, 0},
    {"olmo", TOK_PRE_GPT2, 0, 0},             {"llama3", TOK_PRE_LLAMA3, 1, 1},
    {"llama-v3", TOK_PRE_LLAMA3, 1, 1},       {"llama-bpe", TOK_PRE_LLAMA3, 1, 1},
    {"falcon3", TOK_PRE_LLAMA3, 1, 1},        {"pixtral", TOK_PRE_LLAMA3, 1, 1},
    {"dbrx", TOK_PRE_LLAMA3, 0, 0},           {"smaug-bpe", TOK_PRE_LLAMA3, 0, 0},
    {"qwen2", TOK_PRE_QWEN2, 0, 0},           {"deepseek-r1-qwen", TOK_PRE_QWEN2, 0, 0},
    {"megrez", TOK_PRE_QWEN2, 0, 0},          {"stablelm2", TOK_PRE_QWEN2, 0, 0},
    {"deepseek-coder", TOK_PRE_DEEPSEEK_CODER, 0, 0},
    {"falcon", TOK_PRE_FALCON, 0, 0},         {"starcoder", TOK_PRE_STARCODER, 0, 0},
    {"refact", TOK_PRE_STARCODER, 0, 0},      {"command-r", TOK_PRE_STARCODER, 0, 0},
    {"smollm", TOK_PRE_STARCODER, 0, 0},      {"codeshell", TOK_PRE_STARCODER, 0, 0},
    {"exaone", TOK_PRE_STARCODER, 0, 0},      {"minerva-7b", TOK_PRE_STARCODER, 0, 0},
};

tok_pre mlxn__tok_pre_from_name(const char *name, int *ignore_merges, int *add_bos)
{
    for (size_t i = 0; i < sizeof pre_names / sizeof pre_names[0]; i++) {
        if (!strcmp(name, pre_names[i].name)) {
            *ignore_merges = pre_names[i].ignore_merges;
            *add_bos = pre_names[i].add_bos;
            return pre_names[i].pre;
        }
    }
    return TOK_PRE_COUNT;
}

const char *mlxn__tok_pre_name(tok_pre pre)
{
    static const char *const names[] = {"none", "default", "gpt2", "llama3", "qwen2",
                                        "deepseek-coder", "falcon", "starcoder"};
    return (unsigned)pre < TOK_PRE_COUNT ? names[pre] : "?";
}

void mlxn_tokenizer_destroy(mlxn_tokenizer *tok)
{
    if (!tok)
        return;
    mlxn__strmap_free(&tok->token_map);
    mlxn__strmap_free(&tok->merge_map);
    mlxn__arena_free(&tok->arena);
    free(tok->tokens);
    free(tok->special);
    free(tok->pieces);
    free(tok->piece_len);
    free(tok);
}

/* ---- getters ------------------------------------------------------------------------ */

mlxn_tokenizer_kind mlxn_tokenizer_get_kind(const mlxn_tokenizer *tok) { return tok->kind; }
const char *mlxn_tokenizer_pre_name(const mlxn_tokenizer *tok)
{
    return mlxn__tok_pre_name(tok->pre);
}
int32_t mlxn_tokenizer_n_vocab(const mlxn_tokenizer *tok) { return tok->n_vocab; }
int32_t mlxn_tokenizer_bos(const mlxn_tokenizer *tok) { return tok->bos; }
int32_t mlxn_tokenizer_eos(const mlxn_tokenizer *tok) { return tok->eos; }
int32_t mlxn_tokenizer_eot(const mlxn_tokenizer *tok) { return tok->eot; }
int mlxn_tokenizer_adds_bos(const mlxn_tokenizer *tok) { return tok->add_bos; }
int mlxn_tokenizer_adds_eos(const mlxn_tokenizer *tok) { return tok->add_eos; }

void mlxn_tokenizer_get_special(const mlxn_tokenizer *tok, mlxn_special_tokens *out)
{
    *out = (mlxn_special_tokens){tok->bos, tok->eos, tok->eot, tok->add_bos, tok->add_eos};
}

mlxn_status mlxn_tokenizer_set_special(mlxn_tokenizer *tok, const mlxn_special_tokens *sp)
{
    if (!tok || !sp)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "tokenizer_set_special: NULL argument");
    const int32_t ids[3] = {sp->bos, sp->eos, sp->eot};
    for (int k = 0; k < 3; k++)
        if (ids[k] < -1 || ids[k] >= tok->n_vocab)
            return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG,
                              "tokenizer_set_special: id %d is outside the vocabulary of %d",
                              ids[k], tok->n_vocab);
    if ((sp->add_bos && sp->bos < 0) || (sp->add_eos && sp->eos < 0))
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG,
                          "tokenizer_set_special: adding BOS or EOS needs its id");
    tok->bos = sp->bos;
    tok->eos = sp->eos;
    tok->eot = sp->eot;
    tok->add_bos = sp->add_bos != 0;
    tok->add_eos = sp->add_eos != 0;
    return MLXN_OK;
}

int mlxn_tokenizer_is_eog(const mlxn_tokenizer *tok, int32_t id)
{
    return id >= 0 && (id == tok->eos || id == tok->eot || id == tok->eom);
}

const char *mlxn_tokenizer_token_text(const mlxn_tokenizer *tok, int32_t id, size_t *len)
{
    if (id < 0 || id >= tok->n_vocab)
        return NULL;
    if (len)
        *len = tok->tokens[id].len;
    return tok->tokens[id].text;
}

mlxn_token_type mlxn_tokenizer_token_type(const mlxn_tokenizer *tok, int32_t id)
{
    if (id < 0 || id >= tok->n_vocab)
        return MLXN_TOKEN_UNDEFINED;
    return (mlxn_token_type)tok->tokens[id].type;
}

float mlxn_tokenizer_token_score(const mlxn_tokenizer *tok, int32_t id)
{
    return id >= 0 && id < tok->n_vocab ? tok->tokens[id].score : 0.0f;
}

int32_t mlxn_tokenizer_find(const mlxn_tokenizer *tok, const char *text, size_t len)
{
    return text ? mlxn__tok_find(tok, text, len) : -1;
}

/* ---- encoding ----------------------------------------------------------------------- */

/* A piece of the input: raw text [off, off + len), or a special token. */
typedef struct frag {
    int32_t id; /* -1 for text */
    size_t off, len;
} frag;

typedef struct frags {
    frag *v;
    size_t n, cap;
    int oom;
} frags;

static void frag_push(frags *f, int32_t id, size_t off, size_t len)
{
    if (id < 0 && !len)
        return;
    if (!mlxn__grow((void **)&f->v, &f->cap, f->n + 1, sizeof *f->v)) {
        f->oom = 1;
        return;
    }
    f->v[f->n++] = (frag){id, off, len};
}

static int c_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Split raw fragments at every occurrence of each special token, longest
 * tokens first (llama.cpp's tokenizer_st_partition). */
static frags partition(const mlxn_tokenizer *tok, const char *text, size_t len,
                       int parse_special)
{
    frags cur = {0};
    frag_push(&cur, -1, 0, len);
    for (int32_t s = 0; s < tok->n_special && !cur.oom; s++) {
        const tok_entry *e = &tok->tokens[tok->special[s]];
        if (!parse_special && (e->attr & (TOK_ATTR_CONTROL | TOK_ATTR_UNKNOWN)))
            continue;
        frags next = {0};
        for (size_t i = 0; i < cur.n; i++) {
            frag f = cur.v[i];
            if (f.id >= 0) {
                frag_push(&next, f.id, 0, 0);
                continue;
            }
            size_t pos = f.off, end = f.off + f.len;
            for (;;) {
                const char *m = memmem(text + pos, end - pos, e->text, e->len);
                if (!m) {
                    frag_push(&next, -1, pos, end - pos);
                    break;
                }
                size_t at = (size_t)(m - text), left = at - pos;
                if (e->attr & TOK_ATTR_LSTRIP)
                    while (left > 0 && c_space(text[pos + left - 1]))
                        left--;
                frag_push(&next, -1, pos, left);
                frag_push(&next, tok->special[s], 0, 0);
                pos = at + e->len;
                if (e->attr & TOK_ATTR_RSTRIP)
                    while (pos < end && c_space(text[pos]))
                        pos++;
                if (pos >= end)
                    break;
            }
        }
        if (next.oom)
            cur.oom = 1;
        free(cur.v);
        cur.v = next.v;
        cur.n = next.n;
        cur.cap = next.cap;
    }
    return cur;
}

/* `lead` then text, every ' ' written as U+2581. */
static char *escape(const char *lead, const char *text, size_t len, size_t *out_len)
{
    size_t prefix = strlen(lead), spaces = 0;
    for (size_t i = 0; i < len; i++)
        spaces += text[i] == ' ';
    char *s = malloc(prefix + len + 2 * spaces + 1);
    if (!s)
        return NULL;
    memcpy(s, lead, prefix);
    size_t n = prefix;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ')
            memcpy(s + n, "\xe2\x96\x81", 3), n += 3;
        else
            s[n++] = text[i];
    }
    *out_len = n;
    return s;
}

static void encode_fragments(const mlxn_tokenizer *tok, const char *text, const frags *f,
                             tok_out *o)
{
    int prev_special = 1; /* a space goes in front of the first text */
    for (size_t i = 0; i < f->n && !o->oom; i++) {
        const frag *x = &f->v[i];
        if (x->id >= 0) {
            mlxn__tok_push(o, x->id);
            prev_special = 1;
            continue;
        }
        int spm_style = tok->kind == MLXN_TOKENIZER_SPM || tok->escape_whitespace;
        if (!spm_style) {
            mlxn__bpe_encode(tok, text + x->off, x->len, o);
            continue;
        }
        /* add_space_prefix 1: in front of text that starts the input or
         * follows a special token (llama.cpp); 2: only at the very start
         * (tokenizer.json Metaspace with prepend_scheme "first"). */
        int prefix = tok->add_space_prefix == 1 ? prev_special
                     : tok->add_space_prefix == 2 ? x->off == 0
                                                  : 0;
        size_t n;
        char *s = escape(prefix ? "\xe2\x96\x81" : "", text + x->off, x->len, &n);
        if (!s) {
            o->oom = 1;
            return;
        }
        if (tok->kind == MLXN_TOKENIZER_SPM)
            mlxn__spm_encode(tok, s, n, o);
        else
            mlxn__bpe_encode(tok, s, n, o);
        free(s);
        prev_special = 0;
    }
}

mlxn_status mlxn_tokenizer_encode(const mlxn_tokenizer *tok, const char *text, size_t len,
                                  unsigned flags, mlxn_tokens *out)
{
    if (!tok || !out || (!text && len))
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "tokenizer_encode: NULL argument");
    if (out->n < 0 || out->n > out->cap || (out->cap && !out->ids))
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "tokenizer_encode: bad token list");
    /* Symbol indices are int32: escaping triples spaces, byte-level BPE
     * doubles bytes; 512 MiB keeps every count below INT32_MAX. */
    if (len > MLXN__TOK_MAX_TEXT)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG,
                          "tokenizer_encode: %zu bytes of text is more than 512 MiB", len);
    tok_out o = {0};
    if (tok->bos >= 0 &&
        ((flags & MLXN_ENCODE_ADD_BOS) || ((flags & MLXN_ENCODE_ADD_SPECIAL) && tok->add_bos)))
        mlxn__tok_push(&o, tok->bos);
    frags f = partition(tok, text, len, (flags & MLXN_ENCODE_PARSE_SPECIAL) != 0);
    if (f.oom)
        o.oom = 1;
    else
        encode_fragments(tok, text, &f, &o);
    free(f.v);
    if ((flags & MLXN_ENCODE_ADD_SPECIAL) && tok->add_eos && tok->eos >= 0)
        mlxn__tok_push(&o, tok->eos);
    size_t cap = (size_t)out->cap;
    if (o.oom || !mlxn__grow((void **)&out->ids, &cap, (size_t)out->n + o.n, sizeof *out->ids)) {
        free(o.ids);
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "tokenizer_encode: out of memory");
    }
    out->cap = (int64_t)cap;
    if (o.n)
        memcpy(out->ids + out->n, o.ids, o.n * sizeof *o.ids);
    out->n += (int64_t)o.n;
    free(o.ids);
    return MLXN_OK;
}

void mlxn_tokens_free(mlxn_tokens *t)
{
    if (!t)
        return;
    free(t->ids);
    t->ids = NULL;
    t->n = t->cap = 0;
}

/* ---- decoding ----------------------------------------------------------------------- */

mlxn_status mlxn_tokenizer_piece(const mlxn_tokenizer *tok, int32_t id, unsigned flags,
                                 const char **piece, size_t *len)
{
    if (!tok || !piece)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "tokenizer_piece: NULL argument");
    if (id < 0 || id >= tok->n_vocab)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG,
                          "tokenizer_piece: token %d is outside the vocabulary of %d", id,
                          tok->n_vocab);
    *piece = tok->pieces[id];
    size_t n = tok->piece_len[id];
    if (!(flags & MLXN_DECODE_SPECIAL) &&
        (tok->tokens[id].attr & (TOK_ATTR_CONTROL | TOK_ATTR_UNKNOWN)))
        n = 0;
    if (len)
        *len = n;
    return MLXN_OK;
}

mlxn_status mlxn_tokenizer_decode(const mlxn_tokenizer *tok, const int32_t *ids, int64_t n,
                                  unsigned flags, mlxn_text *out)
{
    if (!tok || !out || (!ids && n) || n < 0)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "tokenizer_decode: bad argument");
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= tok->n_vocab)
            return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG,
                              "tokenizer_decode: ids[%lld] = %d is outside the vocabulary of %d",
                              (long long)i, ids[i], tok->n_vocab);
        total += tok->piece_len[ids[i]];
    }
    if (!mlxn__grow((void **)&out->data, &out->cap, out->len + total + 1, 1))
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "tokenizer_decode: out of memory");
    int strip = tok->add_space_prefix;
    for (int64_t i = 0; i < n; i++) {
        const char *p;
        size_t len;
        mlxn_tokenizer_piece(tok, ids[i], flags, &p, &len);
        if (strip && ids[i] != tok->bos) {
            if (len && p[0] == ' ')
                p++, len--;
            strip = 0;
        }
        memcpy(out->data + out->len, p, len);
        out->len += len;
    }
    out->data[out->len] = 0;
    return MLXN_OK;
}

void mlxn_text_free(mlxn_text *t)
{
    if (!t)
        return;
    free(t->data);
    t->data = NULL;
    t->len = t->cap = 0;
}
