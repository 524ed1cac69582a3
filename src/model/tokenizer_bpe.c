/*
 * tokenizer_bpe.c: BPE by merge rank, as llama.cpp's llm_tokenizer_bpe:
 * pre-tokenize a fragment into words, map each word's bytes to GPT-2's
 * byte-level characters (or keep raw UTF-8 for SentencePiece-style BPE),
 * then repeatedly merge the adjacent pair with the lowest rank in the
 * merges list (leftmost on ties). Pieces that end up outside the
 * vocabulary fall back to single-byte tokens, which only exist for ASCII in
 * byte-level vocabularies and as <0xNN> in SentencePiece-style ones.
 */
#include "model/tokenizer_internal.h"
#include "model/unicode.h"

#include <stdlib.h>

typedef struct bpe_ctx {
    const mlxn_tokenizer *tok;
    char *key; /* scratch for "left right" */
    size_t key_cap;
    tok_heap heap;
    int oom;
} bpe_ctx;

static void add_bigram(bpe_ctx *c, const tok_symbol *sym, int32_t left, int32_t right)
{
    if (left < 0 || right < 0)
        return;
    size_t n = (size_t)sym[left].n + 1 + sym[right].n;
    if (!mlxn__grow((void **)&c->key, &c->key_cap, n, 1)) {
        c->oom = 1;
        return;
    }
    memcpy(c->key, sym[left].text, sym[left].n);
    c->key[sym[left].n] = ' ';
    memcpy(c->key + sym[left].n + 1, sym[right].text, sym[right].n);
    int64_t rank = mlxn__strmap_get(&c->tok->merge_map, c->key, n);
    if (rank < 0)
        return;
    tok_bigram b = {(double)rank, left, right, sym[left].n + sym[right].n};
    mlxn__heap_push(&c->heap, b);
}

/* Merge one (encoded) word and append its tokens. */
static void merge_word(bpe_ctx *c, const char *w, size_t len, tok_out *out)
{
    const mlxn_tokenizer *tok = c->tok;
    if (!len)
        return;
    if (tok->ignore_merges) {
        int32_t id = mlxn__tok_find(tok, w, len);
        if (id >= 0) {
            mlxn__tok_push(out, id);
            return;
        }
    }
    tok_symbol *sym = malloc(len * sizeof *sym);
    if (!sym) {
        c->oom = 1;
        return;
    }
    int32_t n = 0;
    for (size_t offs = 0; offs < len; n++) {
        size_t l = mlxn__utf8_len((uint8_t)w[offs]);
        if (l > len - offs)
            l = len - offs;
        sym[n] = (tok_symbol){n - 1, offs + l == len ? -1 : n + 1, w + offs, (uint32_t)l};
        offs += l;
    }
    c->heap.n = 0;
    for (int32_t i = 1; i < n; i++)
        add_bigram(c, sym, i - 1, i);
    tok_bigram b;
    while (mlxn__heap_pop(&c->heap, &b)) {
        tok_symbol *l = &sym[b.left], *r = &sym[b.right];
        if (!l->n || !r->n || l->n + r->n != b.size)
            continue; /* outdated */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            sym[r->next].prev = b.left;
        add_bigram(c, sym, l->prev, b.left);
        add_bigram(c, sym, b.left, l->next);
    }
    for (int32_t i = 0; i != -1 && n > 0; i = sym[i].next) {
        int32_t id = mlxn__tok_find(tok, sym[i].text, sym[i].n);
        if (id >= 0) {
            mlxn__tok_push(out, id);
            continue;
        }
        for (uint32_t k = 0; k < sym[i].n; k++) {
            uint8_t byte = (uint8_t)sym[i].text[k];
            int32_t bt = tok->byte_level ? mlxn__tok_find(tok, sym[i].text + k, 1)
                                         : tok->byte_token[byte];
            if (bt >= 0)
                mlxn__tok_push(out, bt);
        }
    }
    free(sym);
}

void mlxn__bpe_encode(const mlxn_tokenizer *tok, const char *text, size_t len, tok_out *out)
{
    uint32_t *cps = NULL;
    size_t *lens = NULL;
    int64_t n_words = mlxn__pretokenize(tok->pre, text, len, &cps, &lens);
    if (n_words < 0) {
        out->oom = 1;
        return;
    }
    bpe_ctx c = {.tok = tok};
    char *word = NULL;
    size_t word_cap = 0, start = 0;
    for (int64_t w = 0; w < n_words && !c.oom; w++) {
        /* Each codepoint becomes up to 4 bytes, each byte up to 2. */
        if (!mlxn__grow((void **)&word, &word_cap, lens[w] * 8 + 1, 1)) {
            c.oom = 1;
            break;
        }
        size_t wn = 0;
        for (size_t i = start; i < start + lens[w]; i++) {
            char u[4];
            size_t k = mlxn__utf8_encode(cps[i], u);
            for (size_t j = 0; j < k; j++) {
                if (tok->byte_level)
                    wn += mlxn__utf8_encode(tok->byte_cp[(uint8_t)u[j]], word + wn);
                else
                    word[wn++] = u[j];
            }
        }
        start += lens[w];
        merge_word(&c, word, wn, out);
    }
    if (c.oom || c.heap.oom)
        out->oom = 1;
    free(word);
    free(c.key);
    free(c.heap.v);
    free(cps);
    free(lens);
}
