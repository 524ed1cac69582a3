/*
 * llama2c.c: karpathy/llama2.c files: the legacy checkpoint (seven int32:
 * dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (negative when
 * the classifier is not shared), seq_len; then fp32 tensors in run.c's
 * order) and the tokenizer file (int32 max_token_length; per token: f32
 * score, int32 length, bytes). The checkpoint is memory-mapped and exposed
 * as a tensor table; the tokenizer becomes a SentencePiece-style tokenizer.
 */
#include "model/tokenizer_internal.h"

#include <stdlib.h>

#define N_TENSORS 14

struct mlxn_llama2c {
    mlxn__mapping map; /* set when opened from a file */
    const uint8_t *data;
    size_t size;
    mlxn_llama2c_config cfg;
    mlxn_tensor_info tensors[N_TENSORS];
};

/* Tensor names (run.c's TransformerWeights fields) in file order. */
static const char *const names[N_TENSORS] = {
    "token_embedding_table", "rms_att_weight", "wq", "wk", "wv", "wo", "rms_ffn_weight",
    "w1", "w2", "w3", "rms_final_weight", "freq_cis_real", "freq_cis_imag", "wcls"};

static mlxn_status bad_config(const char *src, const char *what, const mlxn_llama2c_config *c)
{
    return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                      "%s: not a llama2.c checkpoint: %s (dim %d, hidden_dim %d, n_layers %d, "
                      "n_heads %d, n_kv_heads %d, vocab_size %d, seq_len %d)",
                      src, what, c->dim, c->hidden_dim, c->n_layers, c->n_heads,
                      c->n_kv_heads, c->vocab_size, c->seq_len);
}

/* Lay out the tensors; returns the float count or -1 on overflow. */
static int64_t layout(mlxn_llama2c *m)
{
    const mlxn_llama2c_config *c = &m->cfg;
    int64_t L = c->n_layers, dim = c->dim, hid = c->hidden_dim, V = c->vocab_size;
    int64_t hs = dim / c->n_heads, kv = (int64_t)c->n_kv_heads * hs;
    int64_t shapes[N_TENSORS][3] = {
        {V, dim, 0},   {L, dim, 0},          {L, dim, dim}, {L, kv, dim},  {L, kv, dim},
        {L, dim, dim}, {L, dim, 0},          {L, hid, dim}, {L, dim, hid}, {L, hid, dim},
        {dim, 0, 0},   {c->seq_len, hs / 2, 0}, {c->seq_len, hs / 2, 0}, {V, dim, 0}};
    int64_t at = 0;
    for (int i = 0; i < N_TENSORS; i++) {
        mlxn_tensor_info *t = &m->tensors[i];
        int64_t n = 1;
        t->ndim = 0;
        for (int d = 0; d < 3 && shapes[i][d]; d++) {
            if (mlxn__mul_overflow_i64(n, shapes[i][d], &n))
                return -1;
            t->shape[t->ndim++] = shapes[i][d];
        }
        int shared = i == N_TENSORS - 1 && c->shared_classifier;
        int64_t start = shared ? 0 : at;
        t->name = names[i];
        t->supported = 1;
        t->dtype = MLXN_DTYPE_F32;
        t->type_name = "f32";
        t->elems = n;
        if (n > INT64_MAX / 4 - 28 || start > INT64_MAX / 4 - 28)
            return -1;
        t->bytes = (size_t)n * 4;
        t->offset = 28 + (size_t)start * 4;
        if (!shared && __builtin_add_overflow(at, n, &at))
            return -1;
    }
    return at;
}

static mlxn_status parse(const char *src, mlxn_llama2c *m)
{
    int32_t h[7];
    if (m->size < sizeof h)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: %zu bytes is too short for a llama2.c "
                          "checkpoint header", src, m->size);
    memcpy(h, m->data, sizeof h);
    if (!memcmp(m->data, "24ka", 4))
        return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED,
                          "%s: llama2.c export version %d (magic \"ak42\") is not supported, "
                          "only the legacy format", src, h[1]);
    mlxn_llama2c_config *c = &m->cfg;
    *c = (mlxn_llama2c_config){h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[5] > 0};
    if (c->vocab_size < 0 && c->vocab_size != INT32_MIN)
        c->vocab_size = -c->vocab_size;
    if (c->dim <= 0 || c->hidden_dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 ||
        c->n_kv_heads <= 0 || c->vocab_size <= 0 || c->seq_len <= 0)
        return bad_config(src, "sizes must be positive", c);
    if (c->dim % c->n_heads || c->n_heads % c->n_kv_heads)
        return bad_config(src, "heads do not divide dim, or kv heads the heads", c);
    if ((c->dim / c->n_heads) % 2)
        return bad_config(src, "the head size must be even", c);
    int64_t floats = layout(m);
    if (floats < 0 || (uint64_t)floats > (m->size - 28) / 4 + 1)
        return bad_config(src, "the tensors it describes overflow or exceed the file", c);
    size_t want = 28 + (size_t)floats * 4;
    if (want != m->size)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "%s: llama2.c checkpoint should be %zu bytes for its header, is %zu",
                          src, want, m->size);
    for (int i = 0; i < N_TENSORS; i++)
        m->tensors[i].data = m->data + m->tensors[i].offset;
    return MLXN_OK;
}

static mlxn_status open_common(const char *path, const uint8_t *data, size_t size,
                               mlxn_llama2c **out)
{
    mlxn_llama2c *m = calloc(1, sizeof *m);
    if (!m)
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "llama2c: out of memory");
    m->data = data;
    m->size = size;
    mlxn_status st = parse(mlxn__src_name(path), m);
    if (st != MLXN_OK) {
        free(m);
        return st;
    }
    *out = m;
    return MLXN_OK;
}

mlxn_status mlxn_llama2c_open_memory(const void *data, size_t size, mlxn_llama2c **out)
{
    if (!out || (!data && size))
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "llama2c_open_memory: NULL argument");
    *out = NULL;
    return open_common(NULL, data, size, out);
}

mlxn_status mlxn_llama2c_open(const char *path, mlxn_llama2c **out)
{
    if (!path || !out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "llama2c_open: NULL argument");
    *out = NULL;
    mlxn__mapping map;
    mlxn_status st = mlxn__map_file(path, &map);
    if (st != MLXN_OK)
        return st;
    st = open_common(path, map.data, map.size, out);
    if (st != MLXN_OK) {
        mlxn__unmap(&map);
        return st;
    }
    (*out)->map = map;
    return MLXN_OK;
}

void mlxn_llama2c_close(mlxn_llama2c *m)
{
    if (!m)
        return;
    mlxn__unmap(&m->map);
    free(m);
}

void mlxn_llama2c_get_config(const mlxn_llama2c *m, mlxn_llama2c_config *out)
{
    *out = m->cfg;
}

int64_t mlxn_llama2c_tensor_count(const mlxn_llama2c *m) { return m ? N_TENSORS : 0; }

mlxn_status mlxn_llama2c_tensor(const mlxn_llama2c *m, int64_t i, mlxn_tensor_info *out)
{
    if (!m || !out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "llama2c_tensor: NULL argument");
    if (i < 0 || i >= N_TENSORS)
        return mlxn__fail(NULL, MLXN_ERR_NOT_FOUND, "llama2c: no tensor %lld", (long long)i);
    *out = m->tensors[i];
    return MLXN_OK;
}

int64_t mlxn_llama2c_find_tensor(const mlxn_llama2c *m, const char *name)
{
    for (int i = 0; m && name && i < N_TENSORS; i++)
        if (!strcmp(names[i], name))
            return i;
    return -1;
}

/* ---- tokenizer files ---------------------------------------------------------------- */

/* llama2.c's exporter wrote BOS and EOS as "\n<s>\n" and "\n</s>\n" and
 * "▁" as a space; undo both so the vocabulary reads as SentencePiece's. */
static mlxn_status add_token(mlxn_tokenizer *tok, int32_t id, const char *s, int32_t len,
                             float score, const char *src)
{
    int type = MLXN_TOKEN_NORMAL;
    if (len >= 2 && s[0] == '\n' && s[len - 1] == '\n' && (id == 1 || id == 2))
        s++, len -= 2;
    if (id == 0)
        type = MLXN_TOKEN_UNKNOWN;
    else if (id == 1 || id == 2)
        type = MLXN_TOKEN_CONTROL;
    else if (len == 6 && !memcmp(s, "<0x", 3) && s[5] == '>')
        type = MLXN_TOKEN_BYTE;
    size_t spaces = 0;
    for (int32_t i = 0; i < len; i++)
        spaces += s[i] == ' ';
    char *buf = malloc((size_t)len + 2 * spaces + 1);
    if (!buf)
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "%s: out of memory", src);
    size_t n = 0;
    for (int32_t i = 0; i < len; i++) {
        if (s[i] == ' ' && type == MLXN_TOKEN_NORMAL)
            memcpy(buf + n, "\xe2\x96\x81", 3), n += 3;
        else
            buf[n++] = s[i];
    }
    tok_entry e = {.text = buf, .len = (uint32_t)n, .score = score, .type = type};
    mlxn_status st = mlxn__tok_set(tok, id, &e, src);
    free(buf);
    return st;
}

static mlxn_status read_tokenizer(const char *src, const uint8_t *data, size_t size,
                                  int32_t n_vocab, mlxn_tokenizer **out)
{
    mlxn__reader r = {data, size, 0};
    uint32_t max_len;
    if (!mlxn__rd_u32(&r, &max_len) || (int32_t)max_len <= 0)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: no valid max_token_length", src);
    /* Count the entries first (each at least 8 bytes, so bounded by size). */
    int64_t count = 0;
    for (mlxn__reader s = r; mlxn__rd_left(&s) > 0;) {
        uint32_t len;
        if (!mlxn__rd_skip(&s, 4) || !mlxn__rd_u32(&s, &len) || len > max_len ||
            !mlxn__rd_skip(&s, len))
            return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                              "%s: token %lld at offset %zu is cut or longer than "
                              "max_token_length %u",
                              src, (long long)count, s.pos, max_len);
        count++;
    }
    if (n_vocab > 0 && count != n_vocab)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: holds %lld tokens, not %d", src,
                          (long long)count, n_vocab);
    if (count < 3)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: %lld tokens is too few", src,
                          (long long)count);
    mlxn_tokenizer *tok = NULL;
    mlxn_status st = mlxn__tok_create(MLXN_TOKENIZER_SPM, count, &tok);
    for (int32_t id = 0; id < count && st == MLXN_OK; id++) {
        float score = 0.0f;
        uint32_t len = 0;
        mlxn__rd_bytes(&r, &score, 4); /* all within the entries counted above */
        mlxn__rd_u32(&r, &len);
        st = add_token(tok, id, (const char *)r.p + r.pos, (int32_t)len, score, src);
        r.pos += len;
    }
    if (st != MLXN_OK) {
        mlxn_tokenizer_destroy(tok);
        return st;
    }
    tok->add_bos = tok->add_space_prefix = tok->escape_whitespace = 1;
    tok->unk = 0, tok->bos = 1, tok->eos = 2;
    st = mlxn__tok_finish(tok, src);
    if (st != MLXN_OK) {
        mlxn_tokenizer_destroy(tok);
        return st;
    }
    *out = tok;
    return MLXN_OK;
}

mlxn_status mlxn_tokenizer_from_llama2c_memory(const void *data, size_t size, int32_t n_vocab,
                                               mlxn_tokenizer **out)
{
    if (!out || (!data && size) || n_vocab < 0)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "tokenizer_from_llama2c: bad argument");
    *out = NULL;
    return read_tokenizer("<memory>", data, size, n_vocab, out);
}

mlxn_status mlxn_tokenizer_from_llama2c(const char *path, int32_t n_vocab, mlxn_tokenizer **out)
{
    if (!path || !out || n_vocab < 0)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "tokenizer_from_llama2c: bad argument");
    *out = NULL;
    mlxn__mapping map;
    mlxn_status st = mlxn__map_file(path, &map);
    if (st != MLXN_OK)
        return st;
    st = read_tokenizer(path, map.data, map.size, n_vocab, out);
    mlxn__unmap(&map);
    return st;
}
