/*
 * tokenizer_pretok.c: the pre-tokenizers of byte-level BPE, written by hand
 * (no regex library). A pre-tokenizer is a chain of splits; each split
 * refines the pieces of the one before, and inside a piece both the matches
 * and the text between them become pieces, as in llama.cpp's
 * unicode_regex_split (src/unicode.cpp). GPT-2's and Llama 3's regexes
 * follow llama.cpp's hand-written matchers; the other regexes are simple
 * character-class patterns whose leftmost-first matches are computed
 * directly. Classes come from the generated table in unicode_table.c.
 */
#include "model/tokenizer_internal.h"
#include "model/unicode.h"

#include <stdlib.h>

typedef struct splitter {
    const uint32_t *cps;
    const uint8_t *cls; /* class code per codepoint */
    size_t end;         /* end of the piece being split */
    size_t *out;        /* lengths of the new pieces */
    size_t n_out, cap;
    int oom;
} splitter;

static void emit(splitter *s, size_t len)
{
    if (!len)
        return;
    if (!mlxn__grow((void **)&s->out, &s->cap, s->n_out + 1, sizeof *s->out)) {
        s->oom = 1;
        return;
    }
    s->out[s->n_out++] = len;
}

/* Emit the piece [*prev, to) and move *prev; returns its length. */
static size_t add(splitter *s, size_t *prev, size_t to)
{
    size_t len = to - *prev;
    emit(s, len);
    *prev = to;
    return len;
}

static int in(const splitter *s, size_t p) { return p < s->end; }
static unsigned klass(const splitter *s, size_t p) { return s->cls[p] & MLXN__UCLASS_MASK; }
static int is_letter(const splitter *s, size_t p)
{
    return in(s, p) && klass(s, p) == MLXN__UCLASS_LETTER;
}
static int is_number(const splitter *s, size_t p)
{
    return in(s, p) && klass(s, p) == MLXN__UCLASS_NUMBER;
}
static int is_space(const splitter *s, size_t p)
{
    return in(s, p) && (s->cls[p] & MLXN__UWHITESPACE);
}
/* [^\s\p{L}\p{N}] inside the piece */
static int is_other(const splitter *s, size_t p)
{
    return in(s, p) && !is_space(s, p) && !is_letter(s, p) && !is_number(s, p);
}
static int is_rn(const splitter *s, size_t p)
{
    return in(s, p) && (s->cps[p] == '\r' || s->cps[p] == '\n');
}
/* ASCII lowercase: the contraction letters have no other uppercase forms. */
static uint32_t lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* 's|'t|'re|'ve|'m|'ll|'d at p (case-insensitive when ci); returns the
 * length matched or 0. */
static size_t contraction(const splitter *s, size_t p, int ci)
{
    if (s->cps[p] != '\'' || !in(s, p + 1))
        return 0;
    uint32_t a = ci ? lower(s->cps[p + 1]) : s->cps[p + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if (!in(s, p + 2))
        return 0;
    uint32_t b = ci ? lower(s->cps[p + 2]) : s->cps[p + 2];
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return 3;
    return 0;
}

/* GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static void split_gpt2(splitter *s, size_t ini)
{
    size_t prev = ini;
    for (size_t pos = ini; pos < s->end;) {
        size_t c = contraction(s, pos, 0);
        if (c) {
            pos += add(s, &prev, pos + c);
            continue;
        }
        size_t q = s->cps[pos] == ' ' ? pos + 1 : pos;
        if (is_letter(s, q) || is_number(s, q) || is_other(s, q)) {
            int (*same)(const splitter *, size_t) =
                is_letter(s, q) ? is_letter : is_number(s, q) ? is_number : is_other;
            pos = q;
            while (same(s, pos))
                pos++;
            add(s, &prev, pos);
            continue;
        }
        size_t nws = 0;
        while (is_space(s, pos + nws))
            nws++;
        if (nws > 1 && in(s, pos + nws)) { /* \s+(?!\S): leave one for the next word */
            pos += nws - 1;
            add(s, &prev, pos);
            continue;
        }
        if (nws > 0) {
            pos += nws;
            add(s, &prev, pos);
            continue;
        }
        add(s, &prev, ++pos);
    }
}

/* Llama 3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *          ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * Qwen2 is the same with \p{N} (max_digits 1). */
static void split_llama3(splitter *s, size_t ini, size_t max_digits)
{
    size_t prev = ini;
    for (size_t pos = ini; pos < s->end;) {
        uint32_t cpt = s->cps[pos];
        size_t c = contraction(s, pos, 1);
        if (c) {
            pos += add(s, &prev, pos + c);
            continue;
        }
        if (!(cpt == '\r' || cpt == '\n' || is_number(s, pos)) &&
            (is_letter(s, pos) || is_letter(s, pos + 1))) {
            pos++;
            while (is_letter(s, pos))
                pos++;
            add(s, &prev, pos);
            continue;
        }
        if (is_number(s, pos)) {
            size_t first = pos;
            while (is_number(s, pos)) {
                if (++pos - first >= max_digits) {
                    add(s, &prev, pos);
                    first = pos;
                }
            }
            add(s, &prev, pos);
            continue;
        }
        size_t q = cpt == ' ' ? pos + 1 : pos;
        if (is_other(s, q)) {
            pos = q;
            while (is_other(s, pos))
                pos++;
            while (is_rn(s, pos))
                pos++;
            add(s, &prev, pos);
            continue;
        }
        size_t nws = 0, last_rn = 0;
        while (is_space(s, pos + nws)) {
            if (is_rn(s, pos + nws))
                last_rn = pos + nws + 1;
            nws++;
        }
        if (last_rn) { /* \s*[\r\n]+ */
            pos = last_rn;
            add(s, &prev, pos);
            continue;
        }
        if (nws > 1 && in(s, pos + nws)) {
            pos += nws - 1;
            add(s, &prev, pos);
            continue;
        }
        if (nws > 0) {
            pos += nws;
            add(s, &prev, pos);
            continue;
        }
        add(s, &prev, ++pos);
    }
}

/* ---- character-class patterns ---------------------------------------------------- */

typedef int (*cls_pred)(uint32_t cp, unsigned code);

static int p_letter(uint32_t cp, unsigned code)
{
    (void)cp;
    return (code & MLXN__UCLASS_MASK) == MLXN__UCLASS_LETTER;
}
static int p_number(uint32_t cp, unsigned code)
{
    (void)cp;
    return (code & MLXN__UCLASS_MASK) == MLXN__UCLASS_NUMBER;
}
static int p_punct(uint32_t cp, unsigned code)
{
    (void)cp;
    return (code & MLXN__UCLASS_MASK) == MLXN__UCLASS_PUNCT && !(code & MLXN__UWHITESPACE);
}
/* [\p{P}\$\+<=>\^~\|`] (Falcon) */
static int p_falcon(uint32_t cp, unsigned code)
{
    return p_punct(cp, code) || (cp < 128 && cp && strchr("$+<=>^~|`", (int)cp));
}
/* [\p{P}\$\+<=>\^~\|] (llama.cpp's default chain) */
static int p_default(uint32_t cp, unsigned code)
{
    return p_punct(cp, code) || (cp < 128 && cp && strchr("$+<=>^~|", (int)cp));
}
/* [一-龥ࠀ-一가-퟿] (DeepSeek Coder); llama.cpp matches it on codepoints
 * where non-ASCII whitespace was first replaced by U+000B. */
static int p_cjk(uint32_t cp, unsigned code)
{
    if (cp > 0x7f && (code & MLXN__UWHITESPACE))
        return 0;
    return (cp >= 0x0800 && cp <= 0x9fa5) || (cp >= 0xac00 && cp <= 0xd7ff);
}
static int p_rn(uint32_t cp, unsigned code)
{
    (void)code;
    return cp == '\r' || cp == '\n';
}
static int p_digit(uint32_t cp, unsigned code)
{
    (void)code;
    return cp >= '0' && cp <= '9';
}

typedef enum cls_mode {
    CLS_RUN,        /* [X]+ */
    CLS_SINGLE,     /* [X] */
    CLS_WS_RUN,     /* \s?[X]+ */
    CLS_TRIPLE      /* [X][X][X] */
} cls_mode;

static int pred_at(const splitter *s, cls_pred p, size_t i)
{
    return in(s, i) && p(s->cps[i], s->cls[i]);
}

/* End of the leftmost match starting at pos, or 0 when none starts there. */
static size_t match_at(const splitter *s, cls_pred p, cls_mode mode, size_t pos)
{
    size_t e = pos;
    switch (mode) {
    case CLS_SINGLE:
        return pred_at(s, p, pos) ? pos + 1 : 0;
    case CLS_TRIPLE:
        return pred_at(s, p, pos) && pred_at(s, p, pos + 1) && pred_at(s, p, pos + 2)
                   ? pos + 3
                   : 0;
    case CLS_WS_RUN:
        if (is_space(s, pos) && pred_at(s, p, pos + 1))
            e = pos + 1;
        /* fall through */
    case CLS_RUN:
        if (!pred_at(s, p, e))
            return 0;
        while (pred_at(s, p, e))
            e++;
        return e;
    }
    return 0;
}

static void split_class(splitter *s, size_t ini, cls_pred p, cls_mode mode)
{
    size_t gap = ini;
    for (size_t pos = ini; pos < s->end;) {
        size_t e = match_at(s, p, mode, pos);
        if (!e) {
            pos++;
            continue;
        }
        emit(s, pos - gap);
        emit(s, e - pos);
        pos = gap = e;
    }
    emit(s, s->end - gap);
}

/* ---- chains ------------------------------------------------------------------------ */

typedef struct step {
    int kind; /* 0 class pattern, 1 GPT-2, 2 Llama 3, 3 Qwen2 */
    cls_pred pred;
    cls_mode mode;
} step;

#define MAX_STEPS 5

static int chain(tok_pre pre, step *st)
{
    switch (pre) {
    case TOK_PRE_GPT2:
        st[0] = (step){1, NULL, 0};
        return 1;
    case TOK_PRE_LLAMA3:
        st[0] = (step){2, NULL, 0};
        return 1;
    case TOK_PRE_QWEN2:
        st[0] = (step){3, NULL, 0};
        return 1;
    case TOK_PRE_DEFAULT:
        st[0] = (step){0, p_default, CLS_RUN};
        st[1] = (step){1, NULL, 0};
        st[2] = (step){0, p_number, CLS_RUN};
        st[3] = (step){0, p_digit, CLS_TRIPLE};
        return 4;
    case TOK_PRE_DEEPSEEK_CODER:
        st[0] = (step){0, p_rn, CLS_SINGLE};
        st[1] = (step){0, p_letter, CLS_WS_RUN};
        st[2] = (step){0, p_punct, CLS_WS_RUN};
        st[3] = (step){0, p_cjk, CLS_RUN};
        st[4] = (step){0, p_number, CLS_SINGLE};
        return 5;
    case TOK_PRE_FALCON:
        st[0] = (step){0, p_falcon, CLS_RUN};
        st[1] = (step){1, NULL, 0};
        st[2] = (step){0, p_digit, CLS_TRIPLE};
        return 3;
    case TOK_PRE_STARCODER:
        st[0] = (step){0, p_number, CLS_SINGLE};
        st[1] = (step){1, NULL, 0};
        return 2;
    default:
        return 0;
    }
}

int64_t mlxn__pretokenize(tok_pre pre, const char *text, size_t len, uint32_t **cps_out,
                          size_t **lens_out)
{
    uint32_t *cps = malloc((len ? len : 1) * sizeof *cps);
    uint8_t *cls = malloc(len ? len : 1);
    size_t *lens = malloc(sizeof *lens);
    size_t n = 0, n_lens = 0;
    int64_t result = -1;
    if (!cps || !cls || !lens)
        goto done;
    for (size_t i = 0; i < len;) {
        size_t used;
        cps[n] = mlxn__utf8_decode((const uint8_t *)text + i, len - i, &used);
        cls[n] = (uint8_t)mlxn__uclass(cps[n]);
        n++;
        i += used;
    }
    if (n)
        lens[n_lens++] = n;
    step steps[MAX_STEPS];
    int n_steps = chain(pre, steps);
    for (int k = 0; k < n_steps; k++) {
        splitter s = {.cps = cps, .cls = cls};
        size_t start = 0;
        for (size_t w = 0; w < n_lens && !s.oom; w++) {
            s.end = start + lens[w];
            switch (steps[k].kind) {
            case 0: split_class(&s, start, steps[k].pred, steps[k].mode); break;
            case 1: split_gpt2(&s, start); break;
            case 2: split_llama3(&s, start, 3); break;
            default: split_llama3(&s, start, 1); break;
            }
            start = s.end;
        }
        if (s.oom) {
            free(s.out);
            goto done;
        }
        free(lens);
        lens = s.out ? s.out : malloc(sizeof *lens);
        n_lens = s.n_out;
        if (!lens)
            goto done;
    }
    result = (int64_t)n_lens;
done:
    free(cls);
    if (result < 0) {
        free(cps);
        free(lens);
        return -1;
    }
    *cps_out = cps;
    *lens_out = lens;
    return result;
}
