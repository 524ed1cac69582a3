/*
 * test_tokenizer.c: tokenizers against llama.cpp's test-tokenizer-0 golden
 * vectors (../shared/testdata/vocab: encoded without BOS, special tokens
 * not parsed, exactly as test-tokenizer-0 does), the stories260K and
 * llama2.c tokenizers, decoding, special tokens, and tokenizer.json
 * loading (written by the test from the GGUF vocabularies).
 */
#define MLXN_TEST_MAIN
#include "test.h"

#define VOCAB_DIR "../shared/testdata/vocab/"
#define STORIES_GGUF "../shared/models/stories260K.gguf"
#define TOK512 "../shared/models/tok512.bin"

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)len + 1);
    *n = fread(p, 1, (size_t)len, f);
    p[*n] = 0;
    fclose(f);
    return p;
}

static mlxn_status load_gguf_tokenizer(const char *path, mlxn_tokenizer **tok)
{
    mlxn_gguf *g;
    mlxn_status st = mlxn_gguf_open(path, &g);
    if (st != MLXN_OK)
        return st;
    st = mlxn_tokenizer_from_gguf(g, tok);
    mlxn_gguf_close(g);
    return st;
}

/* Encode every input of NAME.gguf.inp and compare with NAME.gguf.out.
 * Returns the number of mismatches, or -1 when the files are absent. */
static int run_vectors(const mlxn_tokenizer *tok, const char *name, int verbose)
{
    char path[512];
    size_t n_inp, n_out;
    snprintf(path, sizeof path, VOCAB_DIR "%s.gguf.inp", name);
    char *inp = slurp(path, &n_inp);
    snprintf(path, sizeof path, VOCAB_DIR "%s.gguf.out", name);
    char *out = slurp(path, &n_out);
    if (!inp || !out) {
        free(inp);
        free(out);
        return -1;
    }
    static const char sep[] = "\n__ggml_vocab_test__\n";
    int bad = 0, count = 0;
    char *ip = inp, *op = out;
    while (ip <= inp + n_inp && *op) {
        char *next = strstr(ip, sep);
        size_t len = next ? (size_t)(next - ip) : (size_t)(inp + n_inp - ip);
        char *eol = strchr(op, '\n');
        if (eol)
            *eol = 0;
        mlxn_tokens t = {0};
        mlxn_status st = mlxn_tokenizer_encode(tok, ip, len, 0, &t);
        int ok = st == MLXN_OK;
        char *q = op;
        int64_t k = 0;
        for (; ok;) {
            while (*q == ' ')
                q++;
            if (!*q)
                break;
            long want = strtol(q, &q, 10);
            ok = k < t.n && t.ids[k] == want;
            k++;
        }
        ok = ok && k == t.n;
        if (!ok) {
            bad++;
            if (verbose && bad <= 3) {
                printf("    %s input %d '%.*s'\n      want:%s\n      got: ", name, count,
                       (int)(len > 60 ? 60 : len), ip, op);
                for (int64_t j = 0; j < t.n; j++)
                    printf(" %d", t.ids[j]);
                printf("\n");
            }
        }
        mlxn_tokens_free(&t);
        count++;
        op = eol ? eol + 1 : op + strlen(op);
        if (!next)
            break;
        ip = next + sizeof sep - 1;
    }
    free(inp);
    free(out);
    CHECK_MSG(count > 30, "%s: only %d vectors read", name, count);
    return bad;
}

static void golden(const char *name, const char *kind_pre)
{
    char path[512];
    snprintf(path, sizeof path, VOCAB_DIR "%s.gguf", name);
    mlxn_tokenizer *tok;
    mlxn_status st = load_gguf_tokenizer(path, &tok);
    if (st == MLXN_ERR_IO)
        SKIP("%s", mlxn_last_error(NULL));
    REQUIRE_OK(st);
    CHECK_MSG(!strcmp(mlxn_tokenizer_pre_name(tok), kind_pre), "pre %s",
              mlxn_tokenizer_pre_name(tok));
    int bad = run_vectors(tok, name, 1);
    CHECK_MSG(bad == 0, "%s: %d inputs encode differently", name, bad);
    mlxn_tokenizer_destroy(tok);
}

TEST(golden_llama_spm) { golden("ggml-vocab-llama-spm", "none"); }
TEST(golden_phi3) { golden("ggml-vocab-phi-3", "none"); }
TEST(golden_gpt2) { golden("ggml-vocab-gpt-2", "gpt2"); }
TEST(golden_deepseek_coder) { golden("ggml-vocab-deepseek-coder", "deepseek-coder"); }
TEST(golden_falcon) { golden("ggml-vocab-falcon", "falcon"); }

/* The comparison can fail: GPT-2's vocabulary does not give llama's ids. */
TEST(golden_vectors_can_fail)
{
    mlxn_tokenizer *tok;
    mlxn_status st = load_gguf_tokenizer(VOCAB_DIR "ggml-vocab-gpt-2.gguf", &tok);
    if (st == MLXN_ERR_IO)
        SKIP("%s", mlxn_last_error(NULL));
    REQUIRE_OK(st);
    CHECK(run_vectors(tok, "ggml-vocab-llama-spm", 0) > 30);
    CHECK(run_vectors(tok, "ggml-vocab-deepseek-coder", 0) > 20);
    mlxn_tokenizer_destroy(tok);
}
