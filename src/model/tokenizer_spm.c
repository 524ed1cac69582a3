/*
 * tokenizer_spm.c: SentencePiece-style BPE as llama.cpp's llm_tokenizer_spm
 * does it: start from UTF-8 characters, repeatedly merge the adjacent pair
 * whose concatenation is the highest-scoring vocabulary entry (leftmost on
 * ties), and spell out pieces that are not in the vocabulary as byte
 * tokens <0xNN>. Also the bigram heap shared with tokenizer_bpe.c.
 */
#include "model/tokenizer_internal.h"
#include "model/unicode.h"

#include <stdlib.h>

/* ---- bigram heap -------------------------------------------------------------- */

static int before(const tok_bigram *a, const tok_bigram *b)
{
    return a->key < b->key || (a->key == b->key && a->left < b->left);
}

void mlxn__heap_push(tok_heap *h, tok_bigram b)
{
    if (!mlxn__grow((void **)&h->v, &h->cap, h->n + 1, sizeof *h->v)) {
        h->oom = 1;
        return;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&b, &h->v[parent]))
            break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = b;
}

int mlxn__heap_pop(tok_heap *h, tok_bigram *out)
{
    if (!h->n)
        return 0;
    *out = h->v[0];
    tok_bigram last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!before(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = last;
    return 1;
}

void mlxn__tok_push(tok_out *o, int32_t id)
{
    if (o->oom)
        return;
    if (!mlxn__grow((void **)&o->ids, &o->cap, o->n + 1, sizeof *o->ids)) {
        o->oom = 1;
        return;
    }
    o->ids[o->n++] = id;
}

/* ---- SPM ---------------------------------------------------------------------- */

static void try_bigram(const mlxn_tokenizer *tok, const tok_symbol *sym, int32_t left,
                       int32_t right, tok_heap *h)
{
    if (left < 0 || right < 0)
        return;
    uint32_t size = sym[left].n + sym[right].n;
    int32_t id = mlxn__tok_find(tok, sym[left].text, size);
    if (id < 0)
        return;
    tok_bigram b = {-(double)tok->tokens[id].score, left, right, size};
    mlxn__heap_push(h, b);
}

void mlxn__spm_encode(const mlxn_tokenizer *tok, const char *text, size_t len, tok_out *out)
{
    if (!len)
        return;
    tok_symbol *sym = malloc(len * sizeof *sym);
    tok_heap h = {0};
    if (!sym) {
        out->oom = 1;
        return;
    }
    int32_t n = 0;
    for (size_t offs = 0; offs < len; n++) {
        size_t l = mlxn__utf8_len((uint8_t)text[offs]);
        if (l > len - offs)
            l = len - offs;
        sym[n] = (tok_symbol){n - 1, offs + l == len ? -1 : n + 1, text + offs, (uint32_t)l};
        offs += l;
    }
    for (int32_t i = 1; i < n; i++)
        try_bigram(tok, sym, i - 1, i, &h);
    tok_bigram b;
    while (mlxn__heap_pop(&h, &b)) {
        tok_symbol *l = &sym[b.left], *r = &sym[b.right];
        if (!l->n || !r->n || l->n + r->n != b.size)
            continue; /* one side changed since the bigram was made */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            sym[r->next].prev = b.left;
        try_bigram(tok, sym, l->prev, b.left, &h);
        try_bigram(tok, sym, b.left, l->next, &h);
    }
    if (h.oom)
        out->oom = 1;
    for (int32_t i = 0; i != -1; i = sym[i].next) {
        int32_t id = mlxn__tok_find(tok, sym[i].text, sym[i].n);
        if (id >= 0) {
            mlxn__tok_push(out, id);
            continue;
        }
        for (uint32_t k = 0; k < sym[i].n; k++) {
            int32_t bt = tok->byte_token[(uint8_t)sym[i].text[k]];
            if (bt < 0)
                bt = tok->unk;
            if (bt >= 0)
                mlxn__tok_push(out, bt);
        }
    }
    free(h.v);
    free(sym);
}
