/*
 * tokenizer_hf.c: build a tokenizer from a Hugging Face tokenizer.json with
 * a "BPE" model: model.vocab, model.merges ("a b" strings or [a, b] pairs),
 * byte_fallback, ignore_merges, added_tokens, and the normalizer /
 * pre_tokenizer, recognised as one of the known pre-tokenizers (ByteLevel,
 * Split with GPT-2's, Llama 3's or Qwen2's regex, Digits + ByteLevel) or as
 * SentencePiece-style (Metaspace, or a normalizer writing spaces as "▁").
 * Anything else is reported as unsupported, naming what was found.
 */
#include "model/tokenizer_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#define SRC "tokenizer.json"
#define MAX_FILE ((size_t)256 << 20)

/* The regexes as tokenizer.json files write them. */
static const char *const re_gpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
static const char *const re_llama3 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char *const re_qwen2 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* What the normalizer and pre_tokenizer say. */
typedef struct hf_pre {
    int byte_level;   /* a ByteLevel step */
    int bl_regex;     /* ... with use_regex */
    int digits;       /* a Digits step with individual_digits */
    tok_pre split;    /* a recognised Split regex, or TOK_PRE_COUNT */
    int unknown;      /* a step we cannot do */
    int metaspace;    /* Metaspace: 0 none, 1 prepend always, 2 first, 3 never */
    int prepend;      /* normalizer Prepend "▁" */
    int replace;      /* normalizer Replace " " -> "▁" */
    char what[96];    /* the first unsupported step, for the message */
} hf_pre;

static int type_is(const mlxn_json *step, const char *type)
{
    const char *t;
    return mlxn_json_get_string(step, "type", &t) == MLXN_OK && !strcmp(t, type);
}

static void note_unknown(hf_pre *h, const char *kind, const char *detail)
{
    if (!h->unknown)
        snprintf(h->what, sizeof h->what, "%s %.64s", kind, detail);
    h->unknown = 1;
}

typedef enum step_kind { NORMALIZER, PRE_TOKENIZER } step_kind;

static void read_step(hf_pre *h, const mlxn_json *step, step_kind kind)
{
    int normalizer = kind == NORMALIZER;
    const char *type = "?", *s;
    int b;
    mlxn_json_get_string(step, "type", &type);
    if (!strcmp(type, "Sequence")) {
        const mlxn_json *list = mlxn_json_get(step, normalizer ? "normalizers" : "pretokenizers");
        for (int64_t i = 0; i < mlxn_json_count(list); i++)
            read_step(h, mlxn_json_at(list, i), kind);
    } else if (normalizer && !strcmp(type, "Prepend")) {
        h->prepend = mlxn_json_get_string(step, "prepend", &s) == MLXN_OK &&
                     !strcmp(s, "\xe2\x96\x81");
    } else if (normalizer && !strcmp(type, "Replace")) {
        const mlxn_json *pat = mlxn_json_get(step, "pattern");
        if (mlxn_json_get_string(pat, "String", &s) == MLXN_OK && !strcmp(s, " ") &&
            mlxn_json_get_string(step, "content", &s) == MLXN_OK && !strcmp(s, "\xe2\x96\x81"))
            h->replace = 1;
        else
            note_unknown(h, "normalizer Replace", "");
    } else if (normalizer) {
        if (strcmp(type, "NFC")) /* NFC changes nothing for composed input */
            note_unknown(h, "normalizer", type);
    } else if (!strcmp(type, "ByteLevel")) {
        h->byte_level = 1;
        h->bl_regex = mlxn_json_get_bool(step, "use_regex", &b) != MLXN_OK || b;
    } else if (!strcmp(type, "Digits")) {
        h->digits = mlxn_json_get_bool(step, "individual_digits", &b) == MLXN_OK && b;
        if (!h->digits)
            note_unknown(h, "pre_tokenizer", "Digits without individual_digits");
    } else if (!strcmp(type, "Split")) {
        const mlxn_json *pat = mlxn_json_get(step, "pattern");
        s = "";
        mlxn_json_get_string(pat, "Regex", &s);
        h->split = !strcmp(s, re_gpt2)     ? TOK_PRE_GPT2
                   : !strcmp(s, re_llama3) ? TOK_PRE_LLAMA3
                   : !strcmp(s, re_qwen2)  ? TOK_PRE_QWEN2
                                           : TOK_PRE_COUNT;
        if (h->split == TOK_PRE_COUNT)
            note_unknown(h, "Split regex", s);
    } else if (!strcmp(type, "Metaspace")) {
        h->metaspace = 1;
        if (mlxn_json_get_string(step, "prepend_scheme", &s) == MLXN_OK)
            h->metaspace = !strcmp(s, "first") ? 2 : !strcmp(s, "never") ? 3 : 1;
        else if (mlxn_json_get_bool(step, "add_prefix_space", &b) == MLXN_OK && !b)
            h->metaspace = 3;
    } else {
        note_unknown(h, "pre_tokenizer", type);
    }
}

/* Choose the tokenizer's mode from the normalizer and pre_tokenizer. */
static mlxn_status choose_mode(const mlxn_json *root, mlxn_tokenizer *tok)
{
    hf_pre h = {.split = TOK_PRE_NONE};
    const mlxn_json *norm = mlxn_json_get(root, "normalizer");
    const mlxn_json *pre = mlxn_json_get(root, "pre_tokenizer");
    if (mlxn_json_kind_of(norm) == MLXN_JSON_OBJECT)
        read_step(&h, norm, NORMALIZER);
    if (mlxn_json_kind_of(pre) == MLXN_JSON_OBJECT)
        read_step(&h, pre, PRE_TOKENIZER);
    if (h.unknown)
        return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED, SRC ": unsupported %s", h.what);
    tok->kind = MLXN_TOKENIZER_BPE;
    if (h.byte_level) {
        tok->byte_level = 1;
        if (h.split != TOK_PRE_NONE)
            tok->pre = h.split;
        else if (h.digits && h.bl_regex)
            tok->pre = TOK_PRE_STARCODER;
        else if (h.bl_regex)
            tok->pre = TOK_PRE_GPT2;
        else
            return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED,
                              SRC ": ByteLevel without a regex split is not supported");
        return MLXN_OK;
    }
    if (h.split != TOK_PRE_NONE || h.digits)
        return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED,
                          SRC ": a regex split without ByteLevel is not supported");
    /* SentencePiece-style: raw UTF-8, spaces as "▁". */
    tok->pre = TOK_PRE_NONE;
    tok->escape_whitespace = h.metaspace || h.replace;
    tok->add_space_prefix = h.metaspace == 1 || h.prepend ? 1 : h.metaspace == 2 ? 2 : 0;
    if (!tok->escape_whitespace)
        return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED,
                          SRC ": a BPE model with neither ByteLevel nor Metaspace");
    return MLXN_OK;
}

static mlxn_status read_merges(const mlxn_json *merges, mlxn_tokenizer *tok)
{
    if (!mlxn__strmap_reserve(&tok->merge_map, (size_t)mlxn_json_count(merges)))
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, SRC ": out of memory for merges");
    char *line = NULL;
    size_t cap = 0;
    mlxn_status st = MLXN_OK;
    for (int64_t i = 0; i < mlxn_json_count(merges) && st == MLXN_OK && i < INT32_MAX; i++) {
        const mlxn_json *m = mlxn_json_at(merges, i);
        const char *s, *a, *b;
        size_t n, na, nb;
        if (mlxn_json_as_string(m, &s, &n) == MLXN_OK) {
            st = mlxn__tok_add_merge(tok, s, n, (int32_t)i);
            continue;
        }
        if (mlxn_json_count(m) != 2 || mlxn_json_as_string(mlxn_json_at(m, 0), &a, &na) ||
            mlxn_json_as_string(mlxn_json_at(m, 1), &b, &nb))
            return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                              SRC ": merge %lld is neither \"a b\" nor [\"a\", \"b\"]",
                              (long long)i);
        if (!mlxn__grow((void **)&line, &cap, na + nb + 1, 1)) {
            st = mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, SRC ": out of memory");
            break;
        }
        memcpy(line, a, na);
        line[na] = ' ';
        memcpy(line + na + 1, b, nb);
        st = mlxn__tok_add_merge(tok, line, na + nb + 1, (int32_t)i);
    }
    free(line);
    return st;
}

/* Vocabulary size: one past the largest id in model.vocab and added_tokens. */
static mlxn_status vocab_size(const mlxn_json *vocab, const mlxn_json *added, int64_t *n)
{
    int64_t max = -1, id;
    for (int64_t i = 0; i < mlxn_json_count(vocab); i++) {
        if (mlxn_json_as_int(mlxn_json_at(vocab, i), &id) != MLXN_OK || id < 0 ||
            id >= INT32_MAX)
            return mlxn__fail(NULL, MLXN_ERR_FORMAT, SRC ": vocab entry '%s' has a bad id",
                              mlxn_json_key_at(vocab, i));
        max = id > max ? id : max;
    }
    for (int64_t i = 0; i < mlxn_json_count(added); i++) {
        if (mlxn_json_get_int(mlxn_json_at(added, i), "id", &id) != MLXN_OK || id < 0 ||
            id >= INT32_MAX)
            return mlxn__fail(NULL, MLXN_ERR_FORMAT, SRC ": added token %lld has a bad id",
                              (long long)i);
        max = id > max ? id : max;
    }
    /* Ids beyond the entries given would only be holes; refuse absurd ones. */
    if (max + 1 > 2 * (mlxn_json_count(vocab) + mlxn_json_count(added)) + 1024)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, SRC ": id %lld leaves most of the vocabulary empty",
                          (long long)max);
    *n = max + 1;
    return MLXN_OK;
}

static mlxn_status read_added(const mlxn_json *added, mlxn_tokenizer *tok)
{
    for (int64_t i = 0; i < mlxn_json_count(added); i++) {
        const mlxn_json *a = mlxn_json_at(added, i);
        int64_t id;
        const char *text;
        size_t len;
        int special = 0, flag;
        mlxn_json_get_int(a, "id", &id);
        if (mlxn_json_as_string(mlxn_json_get(a, "content"), &text, &len) != MLXN_OK ||
            len > UINT32_MAX)
            return mlxn__fail(NULL, MLXN_ERR_FORMAT, SRC ": added token %lld has no content",
                              (long long)i);
        mlxn_json_get_bool(a, "special", &special);
        int type = special ? MLXN_TOKEN_CONTROL : MLXN_TOKEN_USER_DEFINED;
        tok_entry *e = &tok->tokens[id];
        if (e->text && (e->len != len || memcmp(e->text, text, len)))
            return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                              SRC ": added token %lld '%.64s' differs from the vocabulary's",
                              (long long)id, text);
        if (!e->text) {
            tok_entry in = {.text = text, .len = (uint32_t)len, .type = type};
            mlxn_status st = mlxn__tok_set(tok, (int32_t)id, &in, SRC);
            if (st != MLXN_OK)
                return st;
        }
        e->type = type;
        e->attr = special ? TOK_ATTR_CONTROL : TOK_ATTR_USER_DEFINED;
        if (mlxn_json_get_bool(a, "lstrip", &flag) == MLXN_OK && flag)
            e->attr |= TOK_ATTR_LSTRIP;
        if (mlxn_json_get_bool(a, "rstrip", &flag) == MLXN_OK && flag)
            e->attr |= TOK_ATTR_RSTRIP;
    }
    return MLXN_OK;
}

/* BOS and EOS from a TemplateProcessing post-processor ("single": special
 * tokens around $A), else by common names. */
static void read_special(const mlxn_json *root, mlxn_tokenizer *tok)
{
    const mlxn_json *pp = mlxn_json_get(root, "post_processor");
    const mlxn_json *single = type_is(pp, "TemplateProcessing") ? mlxn_json_get(pp, "single")
                                                                 : NULL;
    int64_t n = mlxn_json_count(single);
    const char *s;
    if (mlxn_json_get_string(mlxn_json_get(mlxn_json_at(single, 0), "SpecialToken"), "id", &s) ==
        MLXN_OK) {
        tok->bos = mlxn__tok_find(tok, s, strlen(s));
        tok->add_bos = tok->bos >= 0;
    }
    if (n > 1 && mlxn_json_get_string(mlxn_json_get(mlxn_json_at(single, n - 1), "SpecialToken"),
                                      "id", &s) == MLXN_OK) {
        tok->eos = mlxn__tok_find(tok, s, strlen(s));
        tok->add_eos = tok->eos >= 0;
    }
    static const char *const bos[] = {"<s>", "<|begin_of_text|>", "<｜begin▁of▁sentence｜>",
                                      "<bos>"};
    static const char *const eos[] = {"</s>", "<|end_of_text|>", "<|endoftext|>",
                                      "<｜end▁of▁sentence｜>", "<eos>"};
    for (size_t k = 0; tok->bos < 0 && k < sizeof bos / sizeof bos[0]; k++)
        tok->bos = mlxn__tok_find(tok, bos[k], strlen(bos[k]));
    for (size_t k = 0; tok->eos < 0 && k < sizeof eos / sizeof eos[0]; k++)
        tok->eos = mlxn__tok_find(tok, eos[k], strlen(eos[k]));
}

/* "<0xNN>" with two hex digits */
static int is_byte_name(const char *s)
{
    return strlen(s) == 6 && !memcmp(s, "<0x", 3) && s[5] == '>' && isxdigit((unsigned char)s[3]) &&
           isxdigit((unsigned char)s[4]);
}

static mlxn_status build(const mlxn_json *root, mlxn_tokenizer **out)
{
    const mlxn_json *model = mlxn_json_get(root, "model");
    const mlxn_json *vocab = mlxn_json_get(model, "vocab");
    const mlxn_json *added = mlxn_json_get(root, "added_tokens");
    const char *type = "BPE", *unk;
    mlxn_json_get_string(model, "type", &type);
    if (strcmp(type, "BPE"))
        return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED, SRC ": model type '%s' is not supported "
                          "(only BPE)", type);
    if (mlxn_json_kind_of(vocab) != MLXN_JSON_OBJECT)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, SRC ": no model.vocab object");
    int64_t n = 0;
    mlxn_status st = vocab_size(vocab, added, &n);
    mlxn_tokenizer *tok = NULL;
    if (st == MLXN_OK)
        st = mlxn__tok_create(MLXN_TOKENIZER_BPE, n, &tok);
    if (st == MLXN_OK)
        st = choose_mode(root, tok);
    for (int64_t i = 0; st == MLXN_OK && i < mlxn_json_count(vocab); i++) {
        int64_t id;
        const char *key = mlxn_json_key_at(vocab, i);
        mlxn_json_as_int(mlxn_json_at(vocab, i), &id);
        int byte_type = !tok->byte_level && is_byte_name(key);
        tok_entry in = {.text = key, .len = (uint32_t)strlen(key),
                        .type = byte_type ? MLXN_TOKEN_BYTE : MLXN_TOKEN_NORMAL};
        st = mlxn__tok_set(tok, (int32_t)id, &in, SRC);
    }
    if (st == MLXN_OK)
        st = read_added(added, tok);
    if (st == MLXN_OK)
        st = read_merges(mlxn_json_get(model, "merges"), tok);
    if (st == MLXN_OK) {
        int flag;
        if (mlxn_json_get_bool(model, "ignore_merges", &flag) == MLXN_OK)
            tok->ignore_merges = flag;
        if (mlxn_json_get_string(model, "unk_token", &unk) == MLXN_OK)
            tok->unk = mlxn__tok_find(tok, unk, strlen(unk));
        read_special(root, tok);
        st = mlxn__tok_finish(tok, SRC);
    }
    if (st != MLXN_OK) {
        mlxn_tokenizer_destroy(tok);
        return st;
    }
    *out = tok;
    return MLXN_OK;
}

mlxn_status mlxn_tokenizer_from_hf_json_memory(const char *text, size_t len,
                                               mlxn_tokenizer **out)
{
    if (!out || (!text && len))
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "tokenizer_from_hf_json: NULL argument");
    *out = NULL;
    mlxn_json_doc *doc;
    mlxn_status st = mlxn_json_parse(text, len, &doc);
    if (st != MLXN_OK)
        return mlxn__fail(NULL, st, SRC ": %s", mlxn_last_error(NULL));
    const mlxn_json *root = mlxn_json_root(doc);
    if (mlxn_json_kind_of(root) != MLXN_JSON_OBJECT)
        st = mlxn__fail(NULL, MLXN_ERR_FORMAT, SRC ": not a JSON object");
    else
        st = build(root, out);
    mlxn_json_free(doc);
    return st;
}

mlxn_status mlxn_tokenizer_from_hf_json(const char *path, mlxn_tokenizer **out)
{
    if (!path || !out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "tokenizer_from_hf_json: NULL argument");
    *out = NULL;
    char *text;
    size_t len;
    mlxn_status st = mlxn__read_file(path, MAX_FILE, &text, &len);
    if (st != MLXN_OK)
        return st;
    st = mlxn_tokenizer_from_hf_json_memory(text, len, out);
    free(text);
    if (st != MLXN_OK)
        return mlxn__fail(NULL, st, "%s: %s", path, mlxn_last_error(NULL));
    return MLXN_OK;
}
