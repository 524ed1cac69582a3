/*
 * test_llama2c.c: the llama2.c checkpoint reader on stories260K.bin (its
 * header, tensor table and bytes, which must equal the GGUF's tensors) and
 * on malformed checkpoints written by the test; the llama2.c tokenizer file
 * tok512.bin, which must equal the GGUF's vocabulary.
 */
#define MLXN_TEST_MAIN
#include "test.h"

#define STORIES_BIN "../shared/models/stories260K.bin"
#define STORIES_GGUF "../shared/models/stories260K.gguf"
#define TOK512 "../shared/models/tok512.bin"

TEST(stories260k_checkpoint)
{
    mlxn_llama2c *m;
    mlxn_status st = mlxn_llama2c_open(STORIES_BIN, &m);
    if (st == MLXN_ERR_IO)
        SKIP("%s", mlxn_last_error(NULL));
    REQUIRE_OK(st);
    mlxn_llama2c_config c;
    mlxn_llama2c_get_config(m, &c);
    CHECK(c.dim == 64 && c.hidden_dim == 172 && c.n_layers == 5 && c.n_heads == 8);
    CHECK(c.n_kv_heads == 4 && c.vocab_size == 512 && c.seq_len == 512);
    CHECK(c.shared_classifier == 1);
    CHECK(mlxn_llama2c_tensor_count(m) == 14);
    mlxn_tensor_info t, e;
    CHECK_OK(mlxn_llama2c_tensor(m, mlxn_llama2c_find_tensor(m, "wk"), &t));
    CHECK(t.ndim == 3 && t.shape[0] == 5 && t.shape[1] == 32 && t.shape[2] == 64);
    CHECK_OK(mlxn_llama2c_tensor(m, mlxn_llama2c_find_tensor(m, "w2"), &t));
    CHECK(t.shape[1] == 64 && t.shape[2] == 172 && t.dtype == MLXN_DTYPE_F32);
    CHECK_OK(mlxn_llama2c_tensor(m, mlxn_llama2c_find_tensor(m, "freq_cis_imag"), &t));
    CHECK(t.shape[0] == 512 && t.shape[1] == 4);
    CHECK_OK(mlxn_llama2c_tensor(m, 13, &t));
    CHECK_OK(mlxn_llama2c_tensor(m, 0, &e));
    CHECK(!strcmp(t.name, "wcls") && t.data == e.data && t.offset == 28);
    CHECK(mlxn_llama2c_tensor(m, 14, &t) == MLXN_ERR_NOT_FOUND);
    CHECK(mlxn_llama2c_find_tensor(m, "wx") == -1);

    /* The GGUF holds the same bytes (layer 3 of each stacked weight). */
    mlxn_gguf *g;
    if (mlxn_gguf_open(STORIES_GGUF, &g) == MLXN_OK) {
        static const char *const pairs[][2] = {
            {"wq", "blk.3.attn_q.weight"},      {"wk", "blk.3.attn_k.weight"},
            {"wo", "blk.3.attn_output.weight"}, {"w1", "blk.3.ffn_gate.weight"},
            {"w2", "blk.3.ffn_down.weight"},    {"w3", "blk.3.ffn_up.weight"},
            {"rms_ffn_weight", "blk.3.ffn_norm.weight"}};
        for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
            mlxn_tensor_info a, b;
            CHECK_OK(mlxn_llama2c_tensor(m, mlxn_llama2c_find_tensor(m, pairs[k][0]), &a));
            CHECK_OK(mlxn_gguf_tensor(g, mlxn_gguf_find_tensor(g, pairs[k][1]), &b));
            size_t layer = a.bytes / 5;
            CHECK_MSG(layer == b.bytes && b.shape[0] == a.shape[1] &&
                          !memcmp((const char *)a.data + 3 * layer, b.data, layer),
                      "%s differs from %s", pairs[k][0], pairs[k][1]);
        }
        mlxn_gguf_close(g);
    }
    mlxn_llama2c_close(m);
    mlxn_llama2c_close(NULL);
}

/* A checkpoint image: header h, then the floats it needs plus `extra`. */
static uint8_t *image(const int32_t h[7], int64_t floats, size_t *n)
{
    *n = 28 + (size_t)floats * 4;
    uint8_t *p = calloc(1, *n);
    memcpy(p, h, 28);
    return p;
}

static int64_t floats_for(const int32_t h[7])
{
    int64_t dim = h[0], hid = h[1], L = h[2], V = h[5] < 0 ? -h[5] : h[5], hs = dim / h[3];
    int64_t kv = (int64_t)h[4] * hs;
    return V * dim + L * dim * 2 + L * dim * dim * 2 + L * kv * dim * 2 + L * hid * dim * 3 +
           dim + (int64_t)h[6] * hs + (h[5] < 0 ? V * dim : 0);
}

static mlxn_status try_open(const uint8_t *p, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, p, n);
    mlxn_llama2c *m;
    mlxn_status st = mlxn_llama2c_open_memory(copy, n, &m);
    if (st == MLXN_OK) {
        mlxn_tensor_info t;
        unsigned sum = 0;
        for (int i = 0; i < 14; i++) {
            mlxn_llama2c_tensor(m, i, &t);
            for (size_t k = 0; k < t.bytes; k++)
                sum += ((const uint8_t *)t.data)[k];
        }
        (void)sum;
        mlxn_llama2c_close(m);
    }
    free(copy);
    return st;
}

TEST(synthetic_checkpoints)
{
    int32_t h[7] = {16, 24, 2, 4, 2, -40, 8};
    size_t n;
    uint8_t *p = image(h, floats_for(h), &n);
    mlxn_llama2c *m;
    REQUIRE_OK(mlxn_llama2c_open_memory(p, n, &m));
    mlxn_llama2c_config c;
    mlxn_llama2c_get_config(m, &c);
    CHECK(c.vocab_size == 40 && !c.shared_classifier);
    mlxn_tensor_info t;
    CHECK_OK(mlxn_llama2c_tensor(m, 13, &t));
    CHECK(t.offset + t.bytes == n && t.shape[0] == 40 && t.shape[1] == 16);
    mlxn_llama2c_close(m);
    /* every shorter or longer file fails */
    for (size_t cut = 0; cut < n; cut += 1 + cut / 64)
        CHECK(try_open(p, cut) == MLXN_ERR_FORMAT);
    uint8_t *longer = realloc(p, n + 4);
    CHECK(try_open(longer, n + 4) == MLXN_ERR_FORMAT);
    CHECK(strstr(mlxn_last_error(NULL), "should be"));
    free(longer);

    static const int32_t bad[][7] = {
        {0, 24, 2, 4, 2, 40, 8},          {16, 24, 2, 5, 1, 40, 8},
        {16, 24, 2, 4, 3, 40, 8},         {16, 24, 2, 16, 16, 40, 8},
        {16, -1, 2, 4, 2, 40, 8},         {16, 24, 2, 4, 2, 0, 8},
        {16, 24, 2, 4, 2, INT32_MIN, 8},  {1 << 30, 1 << 30, 1 << 30, 2, 1, 1 << 30, 1 << 30},
        {16, 24, 2, 4, 2, 40, -8}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        uint8_t q[64] = {0};
        memcpy(q, bad[k], 28);
        CHECK_MSG(try_open(q, sizeof q) == MLXN_ERR_FORMAT, "header %zu opened", k);
    }
    uint8_t magic[64] = {'2', '4', 'k', 'a', 1};
    CHECK(try_open(magic, sizeof magic) == MLXN_ERR_UNSUPPORTED);
    CHECK(strstr(mlxn_last_error(NULL), "ak42"));
    for (int it = 0; it < 500; it++) {
        uint8_t q[28 + 4096];
        for (size_t k = 0; k < sizeof q; k++)
            q[k] = (uint8_t)test_rand_u64();
        for (int k = 0; k < 7; k++)
            q[4 * k + 1] = q[4 * k + 2] = q[4 * k + 3] = 0;
        (void)try_open(q, 28 + (test_rand_u64() % 4096));
    }
}

TEST(tok512_matches_gguf_vocab)
{
    mlxn_tokenizer *a, *b;
    mlxn_status st = mlxn_tokenizer_from_llama2c(TOK512, 512, &a);
    if (st == MLXN_ERR_IO)
        SKIP("%s", mlxn_last_error(NULL));
    REQUIRE_OK(st);
    mlxn_gguf *g;
    st = mlxn_gguf_open(STORIES_GGUF, &g);
    if (st != MLXN_OK) {
        mlxn_tokenizer_destroy(a);
        SKIP("%s", mlxn_last_error(NULL));
    }
    REQUIRE_OK(mlxn_tokenizer_from_gguf(g, &b));
    mlxn_gguf_close(g);
    CHECK(mlxn_tokenizer_n_vocab(a) == 512 && mlxn_tokenizer_n_vocab(b) == 512);
    int diff = 0;
    for (int32_t id = 0; id < 512; id++) {
        size_t la, lb;
        const char *ta = mlxn_tokenizer_token_text(a, id, &la);
        const char *tb = mlxn_tokenizer_token_text(b, id, &lb);
        diff += la != lb || memcmp(ta, tb, la) ||
                mlxn_tokenizer_token_score(a, id) != mlxn_tokenizer_token_score(b, id) ||
                mlxn_tokenizer_token_type(a, id) != mlxn_tokenizer_token_type(b, id);
    }
    CHECK_MSG(diff == 0, "%d tokens differ", diff);
    static const char *const texts[] = {"Once upon a time, there was a little girl named Lily.",
                                        "", " ", "Hello\n\nworld  !", "caf\xc3\xa9 \xe2\x9c\x85"};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        mlxn_tokens x = {0}, y = {0};
        CHECK_OK(mlxn_tokenizer_encode(a, texts[k], strlen(texts[k]), MLXN_ENCODE_ADD_SPECIAL, &x));
        CHECK_OK(mlxn_tokenizer_encode(b, texts[k], strlen(texts[k]), MLXN_ENCODE_ADD_SPECIAL, &y));
        CHECK(x.n == y.n && x.n >= 1 && x.ids[0] == 1 &&
              !memcmp(x.ids, y.ids, (size_t)x.n * sizeof *x.ids));
        mlxn_text s = {0};
        CHECK_OK(mlxn_tokenizer_decode(a, x.ids, x.n, 0, &s));
        CHECK_MSG(!strcmp(s.data, texts[k]), "'%s' decoded to '%s'", texts[k], s.data);
        mlxn_text_free(&s);
        mlxn_tokens_free(&x);
        mlxn_tokens_free(&y);
    }
    mlxn_tokenizer_destroy(a);
    mlxn_tokenizer_destroy(b);
}

TEST(tok512_malformed)
{
    FILE *f = fopen(TOK512, "rb");
    if (!f)
        SKIP("%s is absent", TOK512);
    uint8_t buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    mlxn_tokenizer *t;
    CHECK_OK(mlxn_tokenizer_from_llama2c_memory(buf, n, 0, &t));
    CHECK(mlxn_tokenizer_n_vocab(t) == 512);
    mlxn_tokenizer_destroy(t);
    CHECK(mlxn_tokenizer_from_llama2c_memory(buf, n, 513, &t) == MLXN_ERR_FORMAT);
    CHECK(mlxn_tokenizer_from_llama2c_memory(buf, n, 100, &t) == MLXN_ERR_FORMAT);
    int ok_prefixes = 0;
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, buf, cut);
        if (mlxn_tokenizer_from_llama2c_memory(copy, cut, 0, &t) == MLXN_OK) {
            ok_prefixes++; /* a prefix that ends between tokens is a smaller vocabulary */
            mlxn_tokenizer_destroy(t);
        }
        free(copy);
    }
    CHECK(ok_prefixes > 0 && ok_prefixes < 512);
    uint8_t bad[32] = {7, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0};
    CHECK(mlxn_tokenizer_from_llama2c_memory(bad, sizeof bad, 0, &t) == MLXN_ERR_FORMAT);
    CHECK(strstr(mlxn_last_error(NULL), "max_token_length"));
}
