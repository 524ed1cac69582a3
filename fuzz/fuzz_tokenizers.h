/*
 * fuzz_tokenizers.h: arbitrary bytes through the tokenizers, shared by
 * fuzz/fuzz_tokenizer_spm.c, fuzz/fuzz_tokenizer_bpe.c and
 * tests/test_regress.c. The vocabularies are loaded once from the GGUF
 * files in ../shared/testdata/vocab and ../shared/models/tok512.bin; the
 * byte-level BPE set also runs the gpt-2 vocabulary under every other
 * pre-tokenizer (set through the internal header), so each pre-tokenizer's
 * splitter sees the same inputs.
 *
 * Input layout: byte 0 picks the tokenizer (low 4 bits), the encode flags
 * (bits 4-6: ADD_SPECIAL, ADD_BOS, PARSE_SPECIAL) and the decode flag
 * (bit 7); the rest is the text. Checks: encoding succeeds and gives ids in
 * range, decoding them gives the concatenated pieces, text without special
 * handling survives encode + decode where the algorithm promises it (SPM:
 * any bytes without U+2581; byte-level BPE: strictly valid UTF-8), and the
 * text read as int32 ids decodes exactly when every id is in range, else
 * fails leaving the output unchanged. FZ_CHECK as in fuzz_readers.h.
 */
#ifndef MLXN_FUZZ_TOKENIZERS_H
#define MLXN_FUZZ_TOKENIZERS_H

#include "mlxn.h"
#include "model/tokenizer_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FZ_CHECK
#error "define FZ_CHECK(cond, what) before including fuzz_tokenizers.h"
#endif

#define FZ_MAX_TOKS 16

/* Which text is promised to survive encode + decode. */
typedef enum fz_round_trip {
    FZ_RT_NONE = 0,
    FZ_RT_SPM,       /* strictly valid UTF-8 without U+2581 */
    FZ_RT_BYTE_LEVEL /* strictly valid UTF-8 */
} fz_round_trip;

/* Round trips need a token for every byte (byte fallback). */
static inline fz_round_trip fz_rt_if_all_bytes(const mlxn_tokenizer *tok, fz_round_trip rt)
{
    for (int b = 0; b < 256; b++)
        if (tok->byte_token[b] < 0)
            return FZ_RT_NONE;
    return rt;
}

typedef struct fz_toks {
    mlxn_tokenizer *tok[FZ_MAX_TOKS];
    char name[FZ_MAX_TOKS][64];
    fz_round_trip rt[FZ_MAX_TOKS];
    int n;
} fz_toks;

/* Load a tokenizer from a GGUF vocabulary; returns 0 (with a message on
 * stderr) when the file is missing or refused. */
static inline int fz_add_gguf(fz_toks *t, const char *shared, const char *vocab,
                              fz_round_trip rt, mlxn_tokenizer **out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/testdata/vocab/ggml-vocab-%s.gguf", shared, vocab);
    mlxn_gguf *g;
    mlxn_tokenizer *tok = NULL;
    mlxn_status st = mlxn_gguf_open(path, &g);
    if (st == MLXN_OK) {
        st = mlxn_tokenizer_from_gguf(g, &tok);
        mlxn_gguf_close(g);
    }
    if (st != MLXN_OK || t->n == FZ_MAX_TOKS) {
        fprintf(stderr, "fuzz: cannot load %s: %s\n", path, mlxn_last_error(NULL));
        mlxn_tokenizer_destroy(tok);
        return 0;
    }
    snprintf(t->name[t->n], sizeof t->name[t->n], "%s", vocab);
    t->rt[t->n] = fz_rt_if_all_bytes(tok, rt);
    t->tok[t->n++] = tok;
    if (out)
        *out = tok;
    return 1;
}

/* SentencePiece-style: llama-spm, phi-3 (rstrip specials, user-defined
 * </s>) and the llama2.c tokenizer file. */
static inline int fz_load_spm(fz_toks *t, const char *shared)
{
    if (!fz_add_gguf(t, shared, "llama-spm", FZ_RT_SPM, NULL) ||
        !fz_add_gguf(t, shared, "phi-3", FZ_RT_NONE, NULL))
        return 0;
    char path[512];
    snprintf(path, sizeof path, "%s/models/tok512.bin", shared);
    mlxn_tokenizer *tok;
    if (mlxn_tokenizer_from_llama2c(path, 512, &tok) != MLXN_OK) {
        fprintf(stderr, "fuzz: cannot load %s: %s\n", path, mlxn_last_error(NULL));
        return 0;
    }
    snprintf(t->name[t->n], sizeof t->name[t->n], "tok512");
    t->rt[t->n] = fz_rt_if_all_bytes(tok, FZ_RT_SPM);
    t->tok[t->n++] = tok;
    return 1;
}

/* Byte-level BPE: gpt-2, deepseek-coder, falcon, and gpt-2's vocabulary
 * under each other pre-tokenizer (llama3 also with ignore_merges). */
static inline int fz_load_bpe(fz_toks *t, const char *shared)
{
    if (!fz_add_gguf(t, shared, "gpt-2", FZ_RT_BYTE_LEVEL, NULL) ||
        !fz_add_gguf(t, shared, "deepseek-coder", FZ_RT_BYTE_LEVEL, NULL) ||
        !fz_add_gguf(t, shared, "falcon", FZ_RT_BYTE_LEVEL, NULL))
        return 0;
    static const struct {
        tok_pre pre;
        int ignore_merges;
    } variants[] = {{TOK_PRE_DEFAULT, 0}, {TOK_PRE_LLAMA3, 1}, {TOK_PRE_QWEN2, 0},
                    {TOK_PRE_STARCODER, 0}, {TOK_PRE_DEEPSEEK_CODER, 0}, {TOK_PRE_FALCON, 0},
                    {TOK_PRE_NONE, 0}};
    for (size_t k = 0; k < sizeof variants / sizeof variants[0]; k++) {
        mlxn_tokenizer *tok;
        if (!fz_add_gguf(t, shared, "gpt-2", FZ_RT_BYTE_LEVEL, &tok))
            return 0;
        tok->pre = variants[k].pre;
        tok->ignore_merges = variants[k].ignore_merges;
        snprintf(t->name[t->n - 1], sizeof t->name[0], "gpt-2/%s%s",
                 mlxn__tok_pre_name(variants[k].pre),
                 variants[k].ignore_merges ? "+ignore_merges" : "");
    }
    return 1;
}

static inline void fz_toks_free(fz_toks *t)
{
    for (int i = 0; i < t->n; i++)
        mlxn_tokenizer_destroy(t->tok[i]);
    t->n = 0;
}

/* Strict UTF-8 (no overlong forms, surrogates or values past U+10FFFF). */
static inline int fz_valid_utf8(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t b = s[i];
        size_t len = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3
                   : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
        if (!len || len > n - i)
            return 0;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        if ((b == 0xe0 && s[i + 1] < 0xa0) || (b == 0xed && s[i + 1] >= 0xa0) ||
            (b == 0xf0 && s[i + 1] < 0x90) || (b == 0xf4 && s[i + 1] >= 0x90))
            return 0;
        i += len;
    }
    return 1;
}

static inline int fz_round_trips(fz_round_trip rt, const char *text, size_t len)
{
    if (rt == FZ_RT_NONE || !fz_valid_utf8((const uint8_t *)text, len))
        return 0;
    return rt != FZ_RT_SPM || !memmem(text, len, "\xe2\x96\x81", 3);
}

/* The text read as int32 ids: decodes exactly when all are in range. */
static inline void fz_decode_raw(const mlxn_tokenizer *tok, const char *text, size_t len,
                                 unsigned dflags)
{
    int64_t n = (int64_t)(len / 4);
    int32_t *ids = malloc(n ? (size_t)n * 4 : 1);
    if (!ids)
        return;
    memcpy(ids, text, (size_t)n * 4);
    int all_in = 1;
    for (int64_t i = 0; i < n; i++)
        all_in &= ids[i] >= 0 && ids[i] < mlxn_tokenizer_n_vocab(tok);
    mlxn_text out = {0};
    mlxn__grow((void **)&out.data, &out.cap, 4, 1);
    memcpy(out.data, "abc", 4);
    out.len = 3;
    mlxn_status st = mlxn_tokenizer_decode(tok, ids, n, dflags, &out);
    FZ_CHECK((st == MLXN_OK) == all_in, "decode accepts exactly the ids in range");
    if (st != MLXN_OK)
        FZ_CHECK(out.len == 3 && !memcmp(out.data, "abc", 4), "failed decode changed the output");
    else
        FZ_CHECK(out.len >= 3 && !memcmp(out.data, "abc", 3) && out.data[out.len] == 0,
                 "decode did not append");
    const char *piece;
    size_t plen;
    if (n > 0 && mlxn_tokenizer_piece(tok, ids[0], dflags, &piece, &plen) != MLXN_OK)
        FZ_CHECK(ids[0] < 0 || ids[0] >= mlxn_tokenizer_n_vocab(tok), "piece refused an id");
    mlxn_text_free(&out);
    free(ids);
}

static inline void fz_tokenize(const fz_toks *t, const uint8_t *data, size_t size)
{
    if (size < 1 || t->n == 0)
        return;
    int which = (data[0] & 15) % t->n;
    const mlxn_tokenizer *tok = t->tok[which];
    unsigned eflags = (data[0] >> 4) & 7, dflags = data[0] >> 7;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    int32_t n_vocab = mlxn_tokenizer_n_vocab(tok);

    mlxn_tokens ids = {0};
    mlxn_tokenizer_encode(tok, "", 0, MLXN_ENCODE_ADD_BOS, &ids); /* something before */
    int64_t before = ids.n;
    mlxn_status st = mlxn_tokenizer_encode(tok, text, len, eflags, &ids);
    FZ_CHECK(st == MLXN_OK, "encode failed");
    FZ_CHECK(ids.n >= before, "encode dropped earlier ids");
    size_t pieces = 0;
    for (int64_t i = before; i < ids.n; i++) {
        FZ_CHECK(ids.ids[i] >= 0 && ids.ids[i] < n_vocab, "encode gave an id out of range");
        const char *p;
        size_t pl = 0;
        FZ_CHECK(mlxn_tokenizer_piece(tok, ids.ids[i], dflags, &p, &pl) == MLXN_OK,
                 "piece of an encoded id failed");
        pieces += pl;
    }
    mlxn_text out = {0};
    st = mlxn_tokenizer_decode(tok, ids.ids + before, ids.n - before, dflags, &out);
    FZ_CHECK(st == MLXN_OK, "decode of encoded ids failed");
    FZ_CHECK(out.len == pieces || out.len + 1 == pieces, "decode is not the pieces joined");
    if (eflags == 0 && fz_round_trips(t->rt[which], text, len)) {
        if (out.len != len || memcmp(out.data ? out.data : "", text, len)) {
            fprintf(stderr, "fuzz: %s: %zu bytes came back as %zu bytes\n", t->name[which], len,
                    out.len);
            FZ_CHECK(0, "text did not survive encode + decode");
        }
    }
    mlxn_text_free(&out);
    mlxn_tokens_free(&ids);
    fz_decode_raw(tok, text, len, dflags);
}

#endif /* MLXN_FUZZ_TOKENIZERS_H */
