/*
 * test_limits.c: inputs that claim absurd sizes are refused before anything
 * of that size is allocated. Every case runs under an allocation ceiling
 * (ceiling_on): without ASan a lowered address-space limit (RLIMIT_AS at
 * the current size + 256 MiB); under ASan, whose shadow memory rules
 * RLIMIT_AS out, ASan's own max_allocation_size_mb (set for this binary
 * below). A reader that trusted a claimed size would fail with
 * MLXN_ERR_OUT_OF_MEMORY (or crash) instead of the expected refusal; the
 * first test checks that the ceiling really stops a 1 GiB allocation.
 *
 * Limits already tested elsewhere are not repeated here: GGUF tensor and
 * metadata counts, value string lengths, string-array lengths, dimension
 * counts and products (test_gguf.c corrupted_fields); safetensors header
 * lengths past the file, shape products, dimension counts
 * (test_safetensors.c); llama2.c headers whose tensors overflow
 * (test_llama2c.c); tokenizer.json ids that leave the vocabulary mostly
 * empty (test_tokenizer.c). docs/robustness.md lists every limit and its
 * test.
 */
#define MLXN_TEST_MAIN
#include "test.h"

#include "model/tokenizer_internal.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define CEILING_MB 256

#ifdef UNDER_ASAN
/* Read by ASan at start-up: larger allocations return NULL. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "max_allocation_size_mb=256:allocator_may_return_null=1";
}
#endif

/* ---- the allocation ceiling --------------------------------------------------- */

typedef struct ceiling {
    struct rlimit old;
    int set;
} ceiling;

static void ceiling_on(ceiling *c)
{
    c->set = 0;
#ifndef UNDER_ASAN
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (!f || fscanf(f, "%lu", &pages) != 1 || getrlimit(RLIMIT_AS, &c->old) != 0) {
        if (f)
            fclose(f);
        return;
    }
    fclose(f);
    struct rlimit lim = c->old;
    rlim_t want = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)CEILING_MB << 20);
    if (lim.rlim_max != RLIM_INFINITY && want > lim.rlim_max)
        want = lim.rlim_max;
    lim.rlim_cur = want;
    c->set = setrlimit(RLIMIT_AS, &lim) == 0;
#endif
}

static void ceiling_off(ceiling *c)
{
    if (c->set)
        setrlimit(RLIMIT_AS, &c->old);
    c->set = 0;
}

/* Run `call` under the ceiling; it must fail with `want` and a message
 * containing `needle`. */
#define REFUSED(call, want, needle)                                            \
    do {                                                                       \
        ceiling c_;                                                            \
        ceiling_on(&c_);                                                       \
        mlxn_status s_ = (call);                                               \
        ceiling_off(&c_);                                                      \
        CHECK_MSG(s_ == (want) && strstr(mlxn_last_error(NULL), (needle)),     \
                  "%s -> %s '%s' (wanted %s, '%s')", #call,                    \
                  mlxn_status_name(s_), mlxn_last_error(NULL),                 \
                  mlxn_status_name(want), (needle));                           \
    } while (0)

TEST(ceiling_is_effective)
{
    ceiling c;
    ceiling_on(&c);
    void *volatile p = malloc((size_t)1 << 30);
    int stopped = p == NULL;
    free(p);
    ceiling_off(&c);
    CHECK_MSG(stopped, "a 1 GiB allocation got through the ceiling");
    p = malloc((size_t)CEILING_MB << 19); /* half the ceiling, after it is lifted */
    CHECK(p != NULL);
    free(p);
}

/* ---- a small GGUF writer -------------------------------------------------------- */

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void put_u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void put_str(buf *b, const char *s)
{
    put_u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void put_header(buf *b, uint64_t n_tensors, uint64_t n_kv)
{
    memset(b, 0, sizeof *b);
    put(b, "GGUF", 4);
    put_u32(b, 3);
    put_u64(b, n_tensors);
    put_u64(b, n_kv);
}

static mlxn_status gguf_try(const buf *b)
{
    mlxn_gguf *g = NULL;
    mlxn_status st = mlxn_gguf_open_memory(b->p, b->n, &g);
    mlxn_gguf_close(g);
    return st;
}

/* One key holding `depth` arrays inside each other, the innermost empty. */
static void nested(buf *b, int depth)
{
    put_header(b, 0, 1);
    put_str(b, "k");
    put_u32(b, MLXN_GGUF_ARRAY);
    for (int d = 1; d < depth; d++) {
        put_u32(b, MLXN_GGUF_ARRAY);
        put_u64(b, 1);
    }
    put_u32(b, MLXN_GGUF_UINT8);
    put_u64(b, 0);
}

TEST(gguf_claims)
{
    buf b;
    /* arrays nested 33 deep (the limit is 32 below the value) */
    nested(&b, 33);
    CHECK_OK(gguf_try(&b));
    free(b.p);
    nested(&b, 34);
    REFUSED(gguf_try(&b), MLXN_ERR_FORMAT, "nested more than 32 deep");
    free(b.p);
    nested(&b, 100000);
    REFUSED(gguf_try(&b), MLXN_ERR_FORMAT, "nested more than 32 deep");
    free(b.p);
    /* a key of 2^40 bytes, a tensor name of 2^40 bytes */
    put_header(&b, 0, 1);
    put_u64(&b, 1ull << 40);
    put(&b, "key and some bytes after it", 27);
    REFUSED(gguf_try(&b), MLXN_ERR_FORMAT, "key at offset 24 has length 1099511627776");
    free(b.p);
    put_header(&b, 1, 0);
    put_u64(&b, 1ull << 40);
    put(&b, "name and some bytes after it", 28);
    REFUSED(gguf_try(&b), MLXN_ERR_FORMAT, "tensor name at offset 24 has length");
    free(b.p);
    /* 2^40 arrays of arrays, 2^60 u64 elements */
    put_header(&b, 0, 1);
    put_str(&b, "k");
    put_u32(&b, MLXN_GGUF_ARRAY), put_u32(&b, MLXN_GGUF_ARRAY), put_u64(&b, 1ull << 40);
    put_u32(&b, MLXN_GGUF_UINT8), put_u64(&b, 0);
    REFUSED(gguf_try(&b), MLXN_ERR_FORMAT, "claims 1099511627776 elements of type array");
    free(b.p);
    put_header(&b, 0, 1);
    put_str(&b, "k");
    put_u32(&b, MLXN_GGUF_ARRAY), put_u32(&b, MLXN_GGUF_UINT64), put_u64(&b, 1ull << 60);
    put_u64(&b, 7);
    REFUSED(gguf_try(&b), MLXN_ERR_FORMAT, "elements of type u64");
    free(b.p);
    /* 2^40 tensors and 2^40 pairs in a file that holds one of each */
    put_header(&b, 1ull << 40, 1ull << 40);
    put_str(&b, "k"), put_u32(&b, MLXN_GGUF_UINT8), put(&b, "\1", 1);
    put_str(&b, "t"), put_u32(&b, 1), put_u64(&b, 1), put_u32(&b, 0), put_u64(&b, 0);
    REFUSED(gguf_try(&b), MLXN_ERR_FORMAT, "metadata count 1099511627776 cannot fit");
    free(b.p);
    /* 2^31 x 2^31 f32: the element count fits, the 2^64 bytes do not */
    put_header(&b, 1, 0);
    put_str(&b, "t"), put_u32(&b, 2);
    for (int d = 0; d < 2; d++)
        put_u64(&b, 1ull << 31);
    put_u32(&b, 0), put_u64(&b, 0);
    REFUSED(gguf_try(&b), MLXN_ERR_FORMAT, "byte size overflows");
    free(b.p);
    /* a zero dimension does not hide others whose product overflows */
    static const uint64_t dims[][3] = {{0, 1ull << 40, 1ull << 40},
                                       {0, 1ull << 31, 1ull << 31},
                                       {0, 1ull << 20, 1ull << 20}};
    static const char *const why[] = {"makes the element count overflow", "byte size overflows",
                                      NULL};
    for (int k = 0; k < 3; k++) {
        put_header(&b, 1, 0);
        put_str(&b, "t"), put_u32(&b, 3);
        for (int d = 0; d < 3; d++)
            put_u64(&b, dims[k][d]);
        put_u32(&b, 0), put_u64(&b, 0);
        while (b.n % 32) /* the (empty) data section starts at the alignment */
            put(&b, "", 1);
        if (why[k])
            REFUSED(gguf_try(&b), MLXN_ERR_FORMAT, why[k]);
        else
            CHECK_OK(gguf_try(&b));
        free(b.p);
    }
}

/* ---- safetensors ------------------------------------------------------------------ */

static mlxn_status st_try(const void *p, size_t n)
{
    mlxn_safetensors *s = NULL;
    mlxn_status st = mlxn_safetensors_open_memory(p, n, &s);
    mlxn_safetensors_close(s);
    return st;
}

TEST(safetensors_claims)
{
    /* a header of 100 MiB + 1 in a file that holds it: over the format's
     * limit (the pages are never touched) */
    size_t n = ((size_t)100 << 20) + 9;
    uint8_t *map = mmap(NULL, n, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    REQUIRE_OK(map == MAP_FAILED ? MLXN_ERR_OUT_OF_MEMORY : MLXN_OK);
    uint64_t hlen = ((uint64_t)100 << 20) + 1;
    memcpy(map, &hlen, 8);
    map[8] = '{';
    REFUSED(st_try(map, n), MLXN_ERR_FORMAT, "limit 104857600");
    munmap(map, n);
    /* 2^62 f32 elements: the count fits in int64, the bytes do not */
    static const char hdr[] =
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,4]}}";
    uint8_t file[8 + sizeof hdr + 4] = {0};
    hlen = sizeof hdr - 1;
    memcpy(file, &hlen, 8);
    memcpy(file + 8, hdr, hlen);
    REFUSED(st_try(file, 8 + hlen + 4), MLXN_ERR_FORMAT, "the byte size overflows");
    /* a zero dimension does not hide others whose product overflows */
    static const struct {
        const char *shape, *why;
    } zero[] = {{"[0,4611686018427387904,4]", "the element count overflows"},
                {"[4611686018427387904,0]", "the byte size overflows"},
                {"[0,1048576,1048576]", NULL}};
    for (int k = 0; k < 3; k++) {
        char h[160];
        hlen = (uint64_t)snprintf(h, sizeof h,
                                  "{\"w\":{\"dtype\":\"F32\",\"shape\":%s,"
                                  "\"data_offsets\":[0,0]}}",
                                  zero[k].shape);
        uint8_t img[8 + 160];
        memcpy(img, &hlen, 8);
        memcpy(img + 8, h, hlen);
        if (zero[k].why)
            REFUSED(st_try(img, 8 + hlen), MLXN_ERR_FORMAT, zero[k].why);
        else
            CHECK_OK(st_try(img, 8 + hlen));
    }
}

/* ---- JSON ---------------------------------------------------------------------------- */

static mlxn_status json_try(const char *text, size_t len)
{
    mlxn_json_doc *d = NULL;
    mlxn_status st = mlxn_json_parse(text, len, &d);
    mlxn_json_free(d);
    return st;
}

TEST(json_claims)
{
    /* 512 containers inside each other parse, 513 do not, nor 10^6 */
    size_t deep = 1000000;
    char *s = malloc(2 * deep + 1);
    memset(s, '[', deep);
    memset(s + deep, ']', deep);
    CHECK_OK(json_try(s + deep - 512, 1024));
    REFUSED(json_try(s + deep - 513, 1026), MLXN_ERR_FORMAT, "nested deeper than 512");
    REFUSED(json_try(s, 2 * deep), MLXN_ERR_FORMAT, "nested deeper than 512");
    /* objects count the same: {"a": and 511 arrays */
    memcpy(s + deep - 516, "{\"a\":", 5);
    s[deep + 511] = '}';
    CHECK_OK(json_try(s + deep - 516, 5 + 511 + 511 + 1));
    /* a scalar inside 512 containers is fine */
    memset(s, '[', 512);
    s[512] = '7';
    memset(s + 513, ']', 512);
    CHECK_OK(json_try(s, 1025));
    free(s);
    /* numbers of 1024 characters parse, 1025 do not */
    char num[1100];
    memset(num, '1', sizeof num);
    CHECK_OK(json_try(num, 1024));
    REFUSED(json_try(num, 1025), MLXN_ERR_FORMAT, "number longer than 1024 characters");
    num[0] = '-', num[1] = '0', num[2] = '.';
    CHECK_OK(json_try(num, 1024));
    REFUSED(json_try(num, 1025), MLXN_ERR_FORMAT, "number longer");
    /* strings of 16 MiB raw text parse, one byte more does not (escapes
     * count as written); an unterminated one fails before any copy */
    size_t big = (size_t)16 << 20;
    s = malloc(big + 4);
    memset(s, 'a', big + 4);
    s[0] = '"';
    s[big + 1] = '"';
    CHECK_OK(json_try(s, big + 2));
    s[big + 1] = 'a';
    s[big + 2] = '"';
    REFUSED(json_try(s, big + 3), MLXN_ERR_FORMAT, "string longer than 16 MiB");
    REFUSED(json_try(s, big + 2), MLXN_ERR_FORMAT, "unterminated string");
    memcpy(s, "{\"", 2); /* keys likewise: 16 MiB + 1 between the quotes */
    s[big + 2] = 'a';
    s[big + 3] = '"';
    REFUSED(json_try(s, big + 4), MLXN_ERR_FORMAT, "string longer than 16 MiB");
    free(s);
}

/* ---- model directories ------------------------------------------------------------ */

static char tmp_dir[64];

static void remove_tmp(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (tmp_dir[0] && system(cmd) != 0)
        printf("could not remove %s\n", tmp_dir);
}

static const char *make_tmp(void)
{
    if (!tmp_dir[0]) {
        snprintf(tmp_dir, sizeof tmp_dir, "/tmp/mlxn_test_limits_XXXXXX");
        if (!mkdtemp(tmp_dir))
            return NULL;
        atexit(remove_tmp);
    }
    return tmp_dir;
}

static int write_text(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(text, 1, strlen(text), f) == strlen(text);
    return fclose(f) == 0 && ok;
}

static mlxn_status dir_try(const char *dir)
{
    mlxn_model_dir *md = NULL;
    mlxn_status st = mlxn_model_dir_open(dir, &md);
    mlxn_model_dir_close(md);
    return st;
}

TEST(model_dir_claims)
{
    const char *dir = make_tmp();
    REQUIRE_OK(dir ? MLXN_OK : MLXN_ERR_IO);
    CHECK(write_text(dir, "config.json", "{}"));
    /* a weight_map naming 16385 files (none exists): refused as too many,
     * not as a missing file, so no shard was opened first */
    size_t cap = 16385 * 40 + 64, n = 0;
    char *index = malloc(cap);
    n += (size_t)snprintf(index + n, cap - n, "{\"weight_map\":{");
    for (int i = 0; i < 16385; i++)
        n += (size_t)snprintf(index + n, cap - n, "%s\"t%d\":\"s%05d.safetensors\"",
                              i ? "," : "", i, i);
    snprintf(index + n, cap - n, "}}");
    CHECK(write_text(dir, "model.safetensors.index.json", index));
    REFUSED(dir_try(dir), MLXN_ERR_FORMAT, "weight_map names more than 16384 files");
    free(index);
    /* a config.json of 64 MiB + 1 (sparse) is refused before it is read */
    char path[256];
    snprintf(path, sizeof path, "%s/config.json", dir);
    int fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && ftruncate(fd, ((off_t)64 << 20) + 1) == 0);
    if (fd >= 0)
        close(fd);
    REFUSED(dir_try(dir), MLXN_ERR_FORMAT, "67108865 bytes is more than the 67108864 allowed");

    /* quantization settings out of range, module names too long */
    char sub[128];
    snprintf(sub, sizeof sub, "%s/quant", dir);
    mkdir(sub, 0700);
    static const uint8_t empty_st[10] = {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    snprintf(path, sizeof path, "%s/model.safetensors", sub);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(empty_st, 1, sizeof empty_st, f) == sizeof empty_st);
    if (f)
        fclose(f);
    CHECK(write_text(sub, "config.json", "{\"quantization\":{\"bits\":99,\"group_size\":64}}"));
    REFUSED(dir_try(sub), MLXN_ERR_FORMAT, "bits 99, group_size 64 are not usable");
    CHECK(write_text(sub, "config.json",
                     "{\"quantization\":{\"bits\":4,\"group_size\":64,"
                     "\"a\":{\"bits\":17},\"b\":{\"group_size\":1048577}}}"));
    mlxn_model_dir *md;
    REQUIRE_OK(mlxn_model_dir_open(sub, &md));
    mlxn_quant_info q;
    REFUSED(mlxn_model_dir_quant(md, "a.weight", &q), MLXN_ERR_FORMAT, "'a' is not usable");
    REFUSED(mlxn_model_dir_quant(md, "b", &q), MLXN_ERR_FORMAT, "'b' is not usable");
    char name[600];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = 0;
    REFUSED(mlxn_model_dir_quant(md, name, &q), MLXN_ERR_INVALID_ARG, "name too long");
    mlxn_model_dir_close(md);
}

/* ---- llama2.c ------------------------------------------------------------------------- */

TEST(llama2c_tokenizer_claims)
{
    /* max_token_length INT32_MAX and a token claiming 2^31 - 1 bytes */
    uint8_t f[24] = {0};
    int32_t v = INT32_MAX;
    memcpy(f, &v, 4);
    memcpy(f + 8, &v, 4);
    mlxn_tokenizer *tok = NULL;
    REFUSED(mlxn_tokenizer_from_llama2c_memory(f, sizeof f, 0, &tok), MLXN_ERR_FORMAT,
            "token 0 at offset");
    CHECK(tok == NULL);
    /* a negative max_token_length */
    v = -5;
    memcpy(f, &v, 4);
    REFUSED(mlxn_tokenizer_from_llama2c_memory(f, sizeof f, 0, &tok), MLXN_ERR_FORMAT,
            "max_token_length");
}

/* ---- tokenizer.json and encoding -------------------------------------------------------- */

TEST(tokenizer_claims)
{
    static const char json[] =
        "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":"
        "{\"a\":2147483647},\"merges\":[]}}";
    mlxn_tokenizer *tok = NULL;
    REFUSED(mlxn_tokenizer_from_hf_json_memory(json, strlen(json), &tok), MLXN_ERR_FORMAT,
            "bad id");
    /* a tokenizer.json of 256 MiB + 1 (sparse) is refused before it is read */
    const char *dir = make_tmp();
    REQUIRE_OK(dir ? MLXN_OK : MLXN_ERR_IO);
    char path[256];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0 && ftruncate(fd, ((off_t)256 << 20) + 1) == 0);
    if (fd >= 0)
        close(fd);
    REFUSED(mlxn_tokenizer_from_hf_json(path, &tok), MLXN_ERR_FORMAT,
            "268435457 bytes is more than the 268435456 allowed");
    unlink(path);

    /* encoding more than 512 MiB of text is refused before it is read
     * (the pages of the mapping are never touched) */
    static const char small[] =
        "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":"
        "{\"a\":0},\"merges\":[]}}";
    REQUIRE_OK(mlxn_tokenizer_from_hf_json_memory(small, strlen(small), &tok));
    size_t n = MLXN__TOK_MAX_TEXT + 1;
    char *text = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(text != MAP_FAILED);
    if (text != MAP_FAILED) {
        mlxn_tokens ids = {0};
        CHECK(mlxn_tokenizer_encode(tok, text, n, 0, &ids) == MLXN_ERR_INVALID_ARG);
        CHECK(strstr(mlxn_last_error(NULL), "more than 512 MiB"));
        CHECK(ids.n == 0 && ids.ids == NULL);
        munmap(text, n);
    }
    mlxn_tokenizer_destroy(tok);
}
