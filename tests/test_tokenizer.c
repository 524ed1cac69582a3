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

typedef enum report { QUIET, SHOW_MISMATCHES } report;

/* Encode every input of NAME.gguf.inp and compare with NAME.gguf.out.
 * Returns the number of mismatches, or -1 when the files are absent. */
static int run_vectors(const mlxn_tokenizer *tok, const char *name, report verbose)
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
    int bad = run_vectors(tok, name, SHOW_MISMATCHES);
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
    CHECK(run_vectors(tok, "ggml-vocab-llama-spm", QUIET) > 30);
    CHECK(run_vectors(tok, "ggml-vocab-deepseek-coder", QUIET) > 20);
    mlxn_tokenizer_destroy(tok);
}

/* ---- the stories260K tokenizer, decoding, special tokens --------------------------- */

TEST(stories260k_tokenizer)
{
    mlxn_tokenizer *tok;
    mlxn_status st = load_gguf_tokenizer(STORIES_GGUF, &tok);
    if (st == MLXN_ERR_IO)
        SKIP("%s", mlxn_last_error(NULL));
    REQUIRE_OK(st);
    CHECK(mlxn_tokenizer_get_kind(tok) == MLXN_TOKENIZER_SPM);
    CHECK(mlxn_tokenizer_n_vocab(tok) == 512);
    CHECK(mlxn_tokenizer_bos(tok) == 1 && mlxn_tokenizer_eos(tok) == 2);
    CHECK(mlxn_tokenizer_adds_bos(tok) && !mlxn_tokenizer_adds_eos(tok));
    CHECK(mlxn_tokenizer_is_eog(tok, 2) && !mlxn_tokenizer_is_eog(tok, 1));
    CHECK(mlxn_tokenizer_token_type(tok, 0) == MLXN_TOKEN_UNKNOWN);
    CHECK(mlxn_tokenizer_token_type(tok, 1) == MLXN_TOKEN_CONTROL);
    CHECK(mlxn_tokenizer_token_type(tok, 13) == MLXN_TOKEN_BYTE);
    CHECK(mlxn_tokenizer_token_text(tok, 512, NULL) == NULL);
    CHECK(mlxn_tokenizer_find(tok, "<0x0A>", 6) == 13);

    const char *text = "Once upon a time";
    mlxn_tokens t = {0};
    CHECK_OK(mlxn_tokenizer_encode(tok, text, strlen(text), MLXN_ENCODE_ADD_SPECIAL, &t));
    CHECK(t.n > 2 && t.ids[0] == 1);
    int64_t n1 = t.n;
    /* encode appends */
    CHECK_OK(mlxn_tokenizer_encode(tok, text, strlen(text), 0, &t));
    CHECK(t.n == 2 * n1 - 1 && !memcmp(t.ids + 1, t.ids + n1, (size_t)(n1 - 1) * 4));
    mlxn_text s = {0};
    CHECK_OK(mlxn_tokenizer_decode(tok, t.ids, n1, 0, &s));
    CHECK(!strcmp(s.data, text));
    mlxn_text_free(&s);
    CHECK_OK(mlxn_tokenizer_decode(tok, t.ids, n1, MLXN_DECODE_SPECIAL, &s));
    CHECK(!strcmp(s.data, "<s>Once upon a time"));
    mlxn_text_free(&s);
    const char *p;
    size_t len;
    CHECK_OK(mlxn_tokenizer_piece(tok, t.ids[1], 0, &p, &len));
    CHECK(len > 1 && p[0] == ' ');
    CHECK_OK(mlxn_tokenizer_piece(tok, 13, 0, &p, &len));
    CHECK(len == 1 && p[0] == '\n');
    CHECK_OK(mlxn_tokenizer_piece(tok, 2, 0, &p, &len));
    CHECK(len == 0);
    CHECK(mlxn_tokenizer_piece(tok, -1, 0, &p, &len) == MLXN_ERR_INVALID_ARG);
    int32_t bad_ids[] = {1, 600};
    CHECK(mlxn_tokenizer_decode(tok, bad_ids, 2, 0, &s) == MLXN_ERR_INVALID_ARG);
    CHECK(s.len == 0);
    mlxn_tokens_free(&t);
    CHECK(mlxn_tokenizer_encode(tok, NULL, 3, 0, &t) == MLXN_ERR_INVALID_ARG);
    CHECK_OK(mlxn_tokenizer_encode(tok, NULL, 0, MLXN_ENCODE_ADD_BOS, &t));
    CHECK(t.n == 1 && t.ids[0] == 1);
    mlxn_tokens_free(&t);
    mlxn_tokenizer_destroy(tok);
}

TEST(special_tokens)
{
    mlxn_tokenizer *tok;
    mlxn_status st = load_gguf_tokenizer(VOCAB_DIR "ggml-vocab-llama-spm.gguf", &tok);
    if (st == MLXN_ERR_IO)
        SKIP("%s", mlxn_last_error(NULL));
    REQUIRE_OK(st);
    const char *text = "Hi</s>there";
    mlxn_tokens a = {0}, b = {0};
    CHECK_OK(mlxn_tokenizer_encode(tok, text, strlen(text), 0, &a));
    CHECK_OK(mlxn_tokenizer_encode(tok, text, strlen(text), MLXN_ENCODE_PARSE_SPECIAL, &b));
    int has_a = 0, has_b = 0;
    for (int64_t i = 0; i < a.n; i++)
        has_a |= a.ids[i] == 2;
    for (int64_t i = 0; i < b.n; i++)
        has_b |= b.ids[i] == 2;
    CHECK(!has_a && has_b);
    /* after a special token the text gets a leading "▁" again */
    CHECK(b.n == 3 && b.ids[1] == 2 && b.ids[2] == 727); /* "▁there" */
    mlxn_text s = {0};
    CHECK_OK(mlxn_tokenizer_decode(tok, b.ids, b.n, MLXN_DECODE_SPECIAL, &s));
    CHECK_MSG(!strcmp(s.data, "Hi</s> there"), "'%s'", s.data);
    mlxn_text_free(&s);
    mlxn_special_tokens sp;
    mlxn_tokenizer_get_special(tok, &sp);
    CHECK(sp.bos == 1 && sp.eos == 2 && sp.add_bos == 1 && sp.add_eos == 0);
    sp.add_eos = 1;
    CHECK_OK(mlxn_tokenizer_set_special(tok, &sp));
    mlxn_tokens_free(&a);
    CHECK_OK(mlxn_tokenizer_encode(tok, "x", 1, MLXN_ENCODE_ADD_SPECIAL, &a));
    CHECK(a.n == 3 && a.ids[0] == 1 && a.ids[2] == 2);
    sp.bos = 40000;
    CHECK(mlxn_tokenizer_set_special(tok, &sp) == MLXN_ERR_INVALID_ARG);
    mlxn_tokens_free(&a);
    mlxn_tokens_free(&b);
    mlxn_tokenizer_destroy(tok);

    /* deepseek-coder's user-defined tokens are matched even without
     * PARSE_SPECIAL; its control tokens only with it */
    st = load_gguf_tokenizer(VOCAB_DIR "ggml-vocab-deepseek-coder.gguf", &tok);
    REQUIRE_OK(st);
    const char *t2 = "a\xc3\xb5<|EOT|>b<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>";
    CHECK_OK(mlxn_tokenizer_encode(tok, t2, strlen(t2), 0, &a));
    CHECK(a.n >= 4 && a.ids[1] == 32000 && a.ids[2] == 32021);
    int bos_a = 0;
    for (int64_t i = 0; i < a.n; i++)
        bos_a |= a.ids[i] == 32013;
    CHECK(!bos_a);
    CHECK_OK(mlxn_tokenizer_encode(tok, t2, strlen(t2), MLXN_ENCODE_PARSE_SPECIAL, &b));
    CHECK(b.n > 0 && b.ids[b.n - 1] == 32013);
    mlxn_tokens_free(&a);
    mlxn_tokens_free(&b);
    mlxn_tokenizer_destroy(tok);
}

/* ---- pre-tokenizers ---------------------------------------------------------------- */

#include "model/tokenizer_internal.h"
#include "model/unicode.h"

/* The words of text joined with '|'. */
static void split(tok_pre pre, const char *text, char *out, size_t cap)
{
    uint32_t *cps;
    size_t *lens;
    int64_t n = mlxn__pretokenize(pre, text, strlen(text), &cps, &lens);
    size_t o = 0, at = 0;
    for (int64_t w = 0; w < n; w++) {
        if (w && o + 1 < cap)
            out[o++] = '|';
        for (size_t i = 0; i < lens[w]; i++) {
            char u[4];
            size_t k = mlxn__utf8_encode(cps[at + i], u);
            for (size_t j = 0; j < k && o + 1 < cap; j++)
                out[o++] = u[j];
        }
        at += lens[w];
    }
    out[o] = 0;
    free(cps);
    free(lens);
}

#define SPLITS(pre, text, want)                                                \
    do {                                                                       \
        char got_[512];                                                        \
        split((pre), (text), got_, sizeof got_);                               \
        CHECK_MSG(!strcmp(got_, (want)), "%s: '%s' -> '%s', want '%s'",        \
                  mlxn__tok_pre_name(pre), (text), got_, (want));              \
    } while (0)

TEST(pretokenizer_splits)
{
    const char *s = "Hello world 12345 it's\n\n  x";
    SPLITS(TOK_PRE_GPT2, s, "Hello| world| 12345| it|'s|\n\n | x");
    SPLITS(TOK_PRE_LLAMA3, s, "Hello| world| |123|45| it|'s|\n\n| | x");
    SPLITS(TOK_PRE_QWEN2, s, "Hello| world| |1|2|3|4|5| it|'s|\n\n| | x");
    SPLITS(TOK_PRE_STARCODER, s, "Hello| world| |1|2|3|4|5| it|'s|\n\n | x");
    SPLITS(TOK_PRE_LLAMA3, "IT'S ok?!\r\n", "IT|'S| ok|?!\r\n");
    SPLITS(TOK_PRE_GPT2, "IT'S", "IT|'|S");
    SPLITS(TOK_PRE_LLAMA3, "a  ", "a|  ");
    SPLITS(TOK_PRE_LLAMA3, "\xce\xb1\xce\xb2 \xd9\xa3\xd9\xa4", "\xce\xb1\xce\xb2| |\xd9\xa3\xd9\xa4");
    SPLITS(TOK_PRE_FALCON, "a+b==c 1234567", "a|+|b|==|c| |123|456|7");
    SPLITS(TOK_PRE_DEFAULT, "x 1234567", "x| |123|456|7");
    SPLITS(TOK_PRE_DEEPSEEK_CODER, "ab 12\n\xe4\xb8\xad\xe6\x96\x87!", "ab| |1|2|\n|\xe4\xb8\xad\xe6\x96\x87|!");
    SPLITS(TOK_PRE_NONE, "a b", "a b");
    SPLITS(TOK_PRE_GPT2, "", "");
    /* invalid UTF-8 becomes U+FFFD, as in llama.cpp */
    SPLITS(TOK_PRE_GPT2, "a\xff", "a|\xef\xbf\xbd");
}

TEST(unicode_classes)
{
    CHECK((mlxn__uclass('a') & MLXN__UCLASS_MASK) == MLXN__UCLASS_LETTER);
    CHECK((mlxn__uclass('7') & MLXN__UCLASS_MASK) == MLXN__UCLASS_NUMBER);
    CHECK((mlxn__uclass('!') & MLXN__UCLASS_MASK) == MLXN__UCLASS_PUNCT);
    CHECK((mlxn__uclass('$') & MLXN__UCLASS_MASK) == MLXN__UCLASS_SYMBOL);
    CHECK(mlxn__uclass(' ') & MLXN__UWHITESPACE);
    CHECK(mlxn__uclass(0x3000) & MLXN__UWHITESPACE);
    CHECK((mlxn__uclass(0x4e2d) & MLXN__UCLASS_MASK) == MLXN__UCLASS_LETTER);
    CHECK((mlxn__uclass(0xbd) & MLXN__UCLASS_MASK) == MLXN__UCLASS_NUMBER); /* ½ */
    CHECK((mlxn__uclass(0x301) & MLXN__UCLASS_MASK) == MLXN__UCLASS_MARK);
    CHECK((mlxn__uclass(0x10ffff) & MLXN__UCLASS_MASK) == MLXN__UCLASS_UNDEFINED);
    CHECK((mlxn__uclass(0x110000) & MLXN__UCLASS_MASK) == MLXN__UCLASS_UNDEFINED);
    for (int b = 0; b < 256; b++)
        CHECK(mlxn__cp_to_byte(mlxn__byte_to_cp((uint8_t)b)) == b);
    CHECK(mlxn__byte_to_cp(' ') == 0x120 && mlxn__byte_to_cp('A') == 'A');
    CHECK(mlxn__cp_to_byte(0x2581) == -1);
}

/* ---- round trips ----------------------------------------------------------------- */

/* A random valid UTF-8 string of up to n bytes from mixed scripts. */
static size_t random_utf8(char *out, size_t n)
{
    static const uint32_t ranges[][2] = {{0x20, 0x7e}, {0x09, 0x0a}, {0xa0, 0x24f},
                                         {0x370, 0x3ff}, {0x400, 0x4ff}, {0x4e00, 0x4fff},
                                         {0xac00, 0xacff}, {0x1f600, 0x1f64f}, {0x2000, 0x206f}};
    size_t o = 0;
    while (o + 4 < n) {
        int r = (int)(test_rand_u64() % 9);
        if (test_rand_u64() % 2)
            r = 0;
        uint32_t cp = ranges[r][0] + (uint32_t)(test_rand_u64() % (ranges[r][1] - ranges[r][0] + 1));
        o += mlxn__utf8_encode(cp, out + o);
    }
    return o;
}

/* Valid UTF-8 must survive encode + decode exactly; any bytes must at
 * least encode and decode without failing (invalid UTF-8 may come back
 * changed, as in llama.cpp). */
typedef enum inputs { VALID_UTF8, ANY_BYTES } inputs;

static void round_trip(const char *name, inputs kind)
{
    int any_bytes = kind == ANY_BYTES;
    char path[512];
    snprintf(path, sizeof path, VOCAB_DIR "%s.gguf", name);
    mlxn_tokenizer *tok;
    mlxn_status st = load_gguf_tokenizer(path, &tok);
    if (st == MLXN_ERR_IO)
        SKIP("%s", mlxn_last_error(NULL));
    REQUIRE_OK(st);
    int bad = 0;
    for (int it = 0; it < 200; it++) {
        char text[200];
        size_t n = 1 + test_rand_u64() % (sizeof text - 8);
        if (any_bytes)
            for (size_t i = 0; i < n; i++)
                text[i] = (char)test_rand_u64();
        else
            n = random_utf8(text, n + 5);
        mlxn_tokens t = {0};
        mlxn_text s = {0};
        CHECK_OK(mlxn_tokenizer_encode(tok, text, n, 0, &t));
        CHECK_OK(mlxn_tokenizer_decode(tok, t.ids, t.n, MLXN_DECODE_SPECIAL, &s));
        if (!any_bytes && (s.len != n || memcmp(s.data, text, n)))
            bad++;
        mlxn_tokens_free(&t);
        mlxn_text_free(&s);
    }
    CHECK_MSG(bad == 0, "%s: %d strings did not survive encode + decode", name, bad);
    mlxn_tokenizer_destroy(tok);
}

TEST(round_trip_spm_utf8) { round_trip("ggml-vocab-llama-spm", VALID_UTF8); }
TEST(round_trip_any_bytes)
{
    round_trip("ggml-vocab-llama-spm", ANY_BYTES);
    round_trip("ggml-vocab-gpt-2", ANY_BYTES);
    round_trip("ggml-vocab-deepseek-coder", ANY_BYTES);
}
TEST(round_trip_gpt2_utf8) { round_trip("ggml-vocab-gpt-2", VALID_UTF8); }
TEST(round_trip_deepseek_coder_utf8) { round_trip("ggml-vocab-deepseek-coder", VALID_UTF8); }
TEST(round_trip_falcon_utf8) { round_trip("ggml-vocab-falcon", VALID_UTF8); }

/* ---- tokenizer.json ---------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sput(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sputs(sbuf *b, const char *s) { sput(b, s, strlen(s)); }

static void sput_json_string(sbuf *b, const char *s, size_t n)
{
    sputs(b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            sput(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sputs(b, esc);
        } else {
            sput(b, (const char *)&c, 1);
        }
    }
    sputs(b, "\"");
}

/* tokenizer.json for the GGUF's byte-level vocabulary with the given
 * pre_tokenizer; merges as "a b" strings or as [a, b] pairs. */
typedef enum merge_format { MERGE_STRINGS, MERGE_PAIRS } merge_format;

static char *hf_json_from_gguf(const char *path, const char *pre, merge_format format)
{
    int pairs = format == MERGE_PAIRS;
    mlxn_gguf *g;
    if (mlxn_gguf_open(path, &g) != MLXN_OK)
        return NULL;
    mlxn_gguf_array toks, merges, types;
    mlxn_gguf_type et;
    int64_t n_tok, n_merge, n_types;
    mlxn_gguf_get_array(g, "tokenizer.ggml.tokens", &toks, &et, &n_tok);
    mlxn_gguf_get_array(g, "tokenizer.ggml.merges", &merges, &et, &n_merge);
    mlxn_gguf_get_array(g, "tokenizer.ggml.token_type", &types, &et, &n_types);
    sbuf b = {0};
    sputs(&b, "{\"version\":\"1.0\",\"added_tokens\":[");
    int first = 1;
    for (int64_t i = 0; i < n_tok; i++) {
        int64_t type;
        mlxn_gguf_array_int(g, types, i, &type);
        if (type != MLXN_TOKEN_CONTROL && type != MLXN_TOKEN_USER_DEFINED)
            continue;
        const char *s;
        size_t len;
        mlxn_gguf_array_string(g, toks, i, &s, &len);
        char head[64];
        snprintf(head, sizeof head, "%s{\"id\":%lld,\"content\":", first ? "" : ",", (long long)i);
        sputs(&b, head);
        sput_json_string(&b, s, len);
        sputs(&b, type == MLXN_TOKEN_CONTROL ? ",\"special\":true}" : ",\"special\":false}");
        first = 0;
    }
    sputs(&b, "],\"normalizer\":null,\"pre_tokenizer\":");
    sputs(&b, pre);
    sputs(&b, ",\"post_processor\":null,\"decoder\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":"
              "\"BPE\",\"dropout\":null,\"unk_token\":null,\"byte_fallback\":false,\"vocab\":{");
    for (int64_t i = 0; i < n_tok; i++) {
        const char *s;
        size_t len;
        char id[32];
        mlxn_gguf_array_string(g, toks, i, &s, &len);
        if (i)
            sputs(&b, ",");
        sput_json_string(&b, s, len);
        snprintf(id, sizeof id, ":%lld", (long long)i);
        sputs(&b, id);
    }
    sputs(&b, "},\"merges\":[");
    for (int64_t i = 0; i < n_merge; i++) {
        const char *s;
        size_t len;
        mlxn_gguf_array_string(g, merges, i, &s, &len);
        if (i)
            sputs(&b, ",");
        const char *sp = memchr(s + 1, ' ', len - 1);
        if (pairs && sp) {
            sputs(&b, "[");
            sput_json_string(&b, s, (size_t)(sp - s));
            sputs(&b, ",");
            sput_json_string(&b, sp + 1, len - (size_t)(sp - s) - 1);
            sputs(&b, "]");
        } else {
            sput_json_string(&b, s, len);
        }
    }
    sputs(&b, "]}}");
    mlxn_gguf_close(g);
    return b.p;
}

static const char *pre_bytelevel =
    "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}";
static const char *pre_split_gpt2 =
    "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":"
    "\"'s|'t|'re|'ve|'m|'ll|'d| ?\\\\p{L}+| ?\\\\p{N}+| ?[^\\\\s\\\\p{L}\\\\p{N}]+|\\\\s+(?!\\\\S)|"
    "\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\","
    "\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}";
static const char *pre_split_llama3 =
    "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":"
    "\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| "
    "?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},"
    "\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":"
    "false,\"trim_offsets\":true,\"use_regex\":false}]}";

static void hf_golden(const char *pre, merge_format format)
{
    char *json = hf_json_from_gguf(VOCAB_DIR "ggml-vocab-gpt-2.gguf", pre, format);
    if (!json)
        SKIP("%s", mlxn_last_error(NULL));
    mlxn_tokenizer *tok;
    REQUIRE_OK(mlxn_tokenizer_from_hf_json_memory(json, strlen(json), &tok));
    CHECK(!strcmp(mlxn_tokenizer_pre_name(tok), "gpt2"));
    CHECK(mlxn_tokenizer_token_type(tok, 50256) == MLXN_TOKEN_CONTROL);
    int bad = run_vectors(tok, "ggml-vocab-gpt-2", SHOW_MISMATCHES);
    CHECK_MSG(bad == 0, "%d inputs encode differently", bad);
    mlxn_tokenizer_destroy(tok);
    free(json);
}

TEST(hf_json_gpt2_bytelevel) { hf_golden(pre_bytelevel, MERGE_STRINGS); }
TEST(hf_json_gpt2_split_pairs) { hf_golden(pre_split_gpt2, MERGE_PAIRS); }

TEST(hf_json_llama3_split)
{
    char *json = hf_json_from_gguf(VOCAB_DIR "ggml-vocab-gpt-2.gguf", pre_split_llama3,
                                   MERGE_STRINGS);
    if (!json)
        SKIP("%s", mlxn_last_error(NULL));
    mlxn_tokenizer *tok;
    REQUIRE_OK(mlxn_tokenizer_from_hf_json_memory(json, strlen(json), &tok));
    CHECK(!strcmp(mlxn_tokenizer_pre_name(tok), "llama3"));
    const char *text = "x 1234567";
    mlxn_tokens t = {0};
    CHECK_OK(mlxn_tokenizer_encode(tok, text, strlen(text), 0, &t));
    /* "x", " ", "123", "456", "7" */
    CHECK(t.n == 5 && t.ids[2] == mlxn_tokenizer_find(tok, "123", 3));
    mlxn_tokens_free(&t);
    mlxn_tokenizer_destroy(tok);
    /* an unknown regex is named in the error */
    char *p = strstr(json, "{1,3}");
    p[1] = '2';
    CHECK(mlxn_tokenizer_from_hf_json_memory(json, strlen(json), &tok) == MLXN_ERR_UNSUPPORTED);
    CHECK(strstr(mlxn_last_error(NULL), "Split regex"));
    free(json);
}

/* A SentencePiece-style tokenizer.json: "▁" words, byte fallback. */
static char *spm_json(const char *pre_or_norm)
{
    sbuf b = {0};
    sputs(&b, "{\"added_tokens\":[{\"id\":0,\"content\":\"<unk>\",\"special\":true},"
              "{\"id\":1,\"content\":\"<s>\",\"special\":true},{\"id\":2,\"content\":\"</s>\","
              "\"special\":true}],");
    sputs(&b, pre_or_norm);
    sputs(&b, ",\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":"
              "{\"id\":\"<s>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}]},"
              "\"model\":{\"type\":\"BPE\",\"byte_fallback\":true,\"unk_token\":\"<unk>\","
              "\"vocab\":{\"<unk>\":0,\"<s>\":1,\"</s>\":2");
    for (int i = 0; i < 256; i++) {
        char e[32];
        snprintf(e, sizeof e, ",\"<0x%02X>\":%d", i, 3 + i);
        sputs(&b, e);
    }
    static const char *const words[] = {"▁", "h", "e", "l", "o", "w", "r", "d", "ll",
                                        "he", "▁he", "llo", "▁hello", "▁w", "or", "▁wor",
                                        "ld", "▁world"};
    for (int i = 0; i < 18; i++) {
        char e[64];
        snprintf(e, sizeof e, ",\"%s\":%d", words[i], 259 + i);
        sputs(&b, e);
    }
    sputs(&b, "},\"merges\":[\"l l\",\"h e\",\"▁ he\",\"ll o\",\"▁he llo\",\"▁ w\",\"o r\","
              "\"▁w or\",\"l d\",\"▁wor ld\"]}}");
    return b.p;
}

/* 1 when text encodes to exactly want[0..n); prints the ids otherwise. */
static int encodes_to(const mlxn_tokenizer *tok, const char *text, unsigned flags,
                      const int32_t *want, int64_t n)
{
    mlxn_tokens t = {0};
    mlxn_status st = mlxn_tokenizer_encode(tok, text, strlen(text), flags, &t);
    int ok = st == MLXN_OK && t.n == n && !memcmp(t.ids, want, (size_t)n * sizeof *want);
    if (!ok) {
        printf("    '%s' ->", text);
        for (int64_t i = 0; i < t.n; i++)
            printf(" %d", t.ids[i]);
        printf("\n");
    }
    mlxn_tokens_free(&t);
    return ok;
}

#define EXPECT_IDS(tok, text, flags, ...)                                      \
    do {                                                                       \
        static const int32_t want_[] = {__VA_ARGS__};                          \
        CHECK_MSG(encodes_to((tok), (text), (flags), want_, sizeof want_ / sizeof want_[0]), \
                  "encoding of '%s' differs", (text));                         \
    } while (0)

TEST(hf_json_spm_style)
{
    static const char *const variants[] = {
        "\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"▁\",\"prepend_scheme\":"
        "\"always\",\"split\":false}",
        "\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\","
        "\"prepend\":\"▁\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":"
        "\"▁\"}]},\"pre_tokenizer\":null"};
    for (int v = 0; v < 2; v++) {
        char *json = spm_json(variants[v]);
        mlxn_tokenizer *tok;
        REQUIRE_OK(mlxn_tokenizer_from_hf_json_memory(json, strlen(json), &tok));
        CHECK(mlxn_tokenizer_get_kind(tok) == MLXN_TOKENIZER_BPE);
        CHECK(mlxn_tokenizer_bos(tok) == 1 && mlxn_tokenizer_adds_bos(tok));
        CHECK(mlxn_tokenizer_token_type(tok, 13) == MLXN_TOKEN_BYTE);
        EXPECT_IDS(tok, "hello world", 0, 271, 276);
        EXPECT_IDS(tok, "hello world", MLXN_ENCODE_ADD_SPECIAL, 1, 271, 276);
        EXPECT_IDS(tok, "hex\n", 0, 269, 3 + 'x', 13);
        EXPECT_IDS(tok, "hello</s>world", MLXN_ENCODE_PARSE_SPECIAL, 271, 2, 276);
        int32_t ids[] = {1, 269, 3 + 'x', 13};
        mlxn_text s = {0};
        CHECK_OK(mlxn_tokenizer_decode(tok, ids, 4, 0, &s));
        CHECK(!strcmp(s.data, "hex\n"));
        mlxn_text_free(&s);
        mlxn_tokenizer_destroy(tok);
        free(json);
    }
    /* prepend_scheme "first": no "▁" after a special token */
    char *json = spm_json("\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"▁\","
                          "\"prepend_scheme\":\"first\"}");
    mlxn_tokenizer *tok;
    REQUIRE_OK(mlxn_tokenizer_from_hf_json_memory(json, strlen(json), &tok));
    EXPECT_IDS(tok, "hello</s>world", MLXN_ENCODE_PARSE_SPECIAL, 271, 2, 264, 273, 275);
    mlxn_tokenizer_destroy(tok);
    free(json);
}

TEST(hf_json_refused)
{
    static const struct {
        const char *json;
        mlxn_status st;
        const char *needle;
    } cases[] = {
        {"{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}", MLXN_ERR_UNSUPPORTED, "Unigram"},
        {"{\"model\":{\"type\":\"BPE\"}}", MLXN_ERR_FORMAT, "model.vocab"},
        {"{\"pre_tokenizer\":{\"type\":\"Whitespace\"},\"model\":{\"type\":\"BPE\",\"vocab\":"
         "{\"a\":0},\"merges\":[]}}",
         MLXN_ERR_UNSUPPORTED, "Whitespace"},
        {"{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":"
         "{\"a\":-1},\"merges\":[]}}",
         MLXN_ERR_FORMAT, "bad id"},
        {"{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":"
         "{\"a\":0,\"b\":0},\"merges\":[]}}",
         MLXN_ERR_FORMAT, "given twice"},
        {"{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":"
         "{\"a\":0,\"b\":1},\"merges\":[7]}}",
         MLXN_ERR_FORMAT, "merge 0"},
        {"{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":"
         "{\"a\":99999999},\"merges\":[]}}",
         MLXN_ERR_FORMAT, "empty"},
        {"{\"added_tokens\":[{\"id\":0,\"content\":\"b\"}],\"pre_tokenizer\":{\"type\":"
         "\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}",
         MLXN_ERR_FORMAT, "differs"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}", MLXN_ERR_UNSUPPORTED,
         "neither ByteLevel nor Metaspace"},
        {"[]", MLXN_ERR_FORMAT, "not a JSON object"},
        {"{", MLXN_ERR_FORMAT, "json:"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        mlxn_tokenizer *tok = (mlxn_tokenizer *)1;
        mlxn_status st = mlxn_tokenizer_from_hf_json_memory(cases[k].json, strlen(cases[k].json),
                                                            &tok);
        CHECK_MSG(st == cases[k].st && tok == NULL && strstr(mlxn_last_error(NULL), cases[k].needle),
                  "case %zu: %s '%s'", k, mlxn_status_name(st), mlxn_last_error(NULL));
    }
    mlxn_tokenizer *tok;
    CHECK(mlxn_tokenizer_from_hf_json("/nonexistent/tokenizer.json", &tok) == MLXN_ERR_IO);
    /* every prefix of a valid file fails cleanly */
    char *json = spm_json("\"pre_tokenizer\":{\"type\":\"Metaspace\"}");
    size_t n = strlen(json);
    for (size_t cut = 0; cut < n; cut += 7) {
        char *copy = malloc(cut + 1);
        memcpy(copy, json, cut);
        CHECK(mlxn_tokenizer_from_hf_json_memory(copy, cut, &tok) != MLXN_OK);
        free(copy);
    }
    free(json);
}

TEST(gguf_tokenizer_refused)
{
    /* a GGUF without a vocabulary, and one with an unknown pre-tokenizer */
    mlxn_gguf *g;
    mlxn_tokenizer *tok = (mlxn_tokenizer *)1;
    static const uint8_t empty[] = {'G', 'G', 'U', 'F', 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                    0, 0, 0, 0, 0, 0, 0, 0};
    REQUIRE_OK(mlxn_gguf_open_memory(empty, sizeof empty, &g));
    CHECK(mlxn_tokenizer_from_gguf(g, &tok) == MLXN_ERR_NOT_FOUND && tok == NULL);
    CHECK(strstr(mlxn_last_error(NULL), "tokenizer.ggml.tokens"));
    mlxn_gguf_close(g);
    size_t n;
    char *file = slurp(VOCAB_DIR "ggml-vocab-gpt-2.gguf", &n);
    if (!file)
        SKIP("vocab files absent");
    /* key, u32 type, u64 length, then the value "gpt-2" */
    char *pre = (char *)memmem(file, n, "tokenizer.ggml.pre", 18) + 18 + 4 + 8;
    CHECK(!memcmp(pre, "gpt-2", 5));
    memcpy(pre, "gpt-9", 5);
    REQUIRE_OK(mlxn_gguf_open_memory(file, n, &g));
    CHECK(mlxn_tokenizer_from_gguf(g, &tok) == MLXN_ERR_UNSUPPORTED);
    CHECK(strstr(mlxn_last_error(NULL), "'gpt-9'"));
    mlxn_gguf_close(g);
    free(file);
}
