/*
 * test_gguf.c: the GGUF reader: the stories260K model file (metadata and
 * tensor table), a synthetic file with every metadata type, and malformed
 * files (truncated at every byte of the header, corrupted counts, lengths,
 * types, dimensions, offsets and alignment, random byte flips) that must
 * fail cleanly. Malformed files are opened from exact-size heap copies so
 * that the sanitizer build catches any read past the end.
 */
#define MLXN_TEST_MAIN
#include "test.h"

#include <stdint.h>

#define STORIES_GGUF "../shared/models/stories260K.gguf"
#define STORIES_BIN "../shared/models/stories260K.bin"

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
static void put_u8(buf *b, uint8_t v) { put(b, &v, 1); }
static void put_u16(buf *b, uint16_t v) { put(b, &v, 2); }
static void put_u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void put_str(buf *b, const char *s)
{
    put_u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void put_key(buf *b, const char *k, uint32_t type)
{
    put_str(b, k);
    put_u32(b, type);
}

/* Byte positions of fields the corruption tests patch. */
typedef struct layout {
    size_t n_tensors, n_kv, str_len, arr_count, arr_type, kv_type, align_value;
    size_t a_ndims, a_ne0, b_ne0, b_type, b_offset, c_type, header_end;
} layout;

/* A valid GGUF v3 with every metadata type and three tensors:
 * a (f32, ne {3, 2}), b (q4_0, ne {64, 2}), c (iq2_xxs, ne {256}). */
static void build(buf *b, layout *L)
{
    memset(b, 0, sizeof *b);
    put(b, "GGUF", 4);
    put_u32(b, 3);
    L->n_tensors = b->n;
    put_u64(b, 3);
    L->n_kv = b->n;
    put_u64(b, 18);
    put_key(b, "general.architecture", 8);
    put_str(b, "test");
    put_key(b, "general.alignment", 4);
    L->align_value = b->n;
    put_u32(b, 64);
    put_key(b, "t.u8", 0), put_u8(b, 200);
    put_key(b, "t.i8", 1), put_u8(b, (uint8_t)-5);
    put_key(b, "t.u16", 2), put_u16(b, 60000);
    put_key(b, "t.i16", 3), put_u16(b, (uint16_t)-300);
    put_key(b, "t.u32", 4), put_u32(b, 4000000000u);
    L->kv_type = b->n + 8 + 5; /* type field of t.i32 */
    put_key(b, "t.i32", 5), put_u32(b, (uint32_t)-7);
    float f = 1.5f;
    put_key(b, "t.f32", 6), put(b, &f, 4);
    put_key(b, "t.bool", 7), put_u8(b, 1);
    put_key(b, "t.u64", 10), put_u64(b, 1ull << 40);
    put_key(b, "t.i64", 11), put_u64(b, (uint64_t)-(1ll << 40));
    double d = 2.25;
    put_key(b, "t.f64", 12), put(b, &d, 8);
    put_key(b, "t.str", 8);
    L->str_len = b->n;
    put_str(b, "hello");
    put_key(b, "t.arr_i32", 9), put_u32(b, 5), put_u64(b, 3);
    put_u32(b, 1), put_u32(b, 2), put_u32(b, (uint32_t)-3);
    put_key(b, "t.arr_str", 9);
    L->arr_type = b->n;
    put_u32(b, 8);
    L->arr_count = b->n;
    put_u64(b, 3);
    put_str(b, "a"), put_str(b, "bc"), put_str(b, "");
    put_key(b, "t.nested", 9), put_u32(b, 9), put_u64(b, 2);
    put_u32(b, 2), put_u64(b, 2), put_u16(b, 1), put_u16(b, 2);
    put_u32(b, 2), put_u64(b, 1), put_u16(b, 3);
    put_key(b, "t.empty", 9), put_u32(b, 6), put_u64(b, 0);
    /* tensor infos */
    put_str(b, "a");
    L->a_ndims = b->n;
    put_u32(b, 2);
    L->a_ne0 = b->n;
    put_u64(b, 3), put_u64(b, 2), put_u32(b, 0), put_u64(b, 0);
    put_str(b, "b"), put_u32(b, 2);
    L->b_ne0 = b->n;
    put_u64(b, 64), put_u64(b, 2);
    L->b_type = b->n;
    put_u32(b, 2);
    L->b_offset = b->n;
    put_u64(b, 64);
    put_str(b, "c"), put_u32(b, 1), put_u64(b, 256);
    L->c_type = b->n;
    put_u32(b, 16), put_u64(b, 192);
    L->header_end = b->n;
    while (b->n % 64)
        put_u8(b, 0);
    for (int i = 0; i < 192 + 66; i++)
        put_u8(b, (uint8_t)(i * 7 + 1));
}

/* A file opened from an exact-size heap copy of its bytes. */
typedef struct opened {
    mlxn_gguf *g;
    uint8_t *copy;
} opened;

static void close_copy(opened *o)
{
    mlxn_gguf_close(o->g);
    free(o->copy);
    o->g = NULL;
    o->copy = NULL;
}

/* Open a copy of (p, n); on success also read every tensor byte. */
static mlxn_status open_copy(const uint8_t *p, size_t n, opened *o)
{
    o->copy = malloc(n ? n : 1);
    memcpy(o->copy, p, n);
    o->g = NULL;
    mlxn_status st = mlxn_gguf_open_memory(o->copy, n, &o->g);
    if (st != MLXN_OK) {
        close_copy(o);
        return st;
    }
    unsigned sum = 0;
    for (int64_t i = 0; i < mlxn_gguf_tensor_count(o->g); i++) {
        mlxn_tensor_info t;
        if (mlxn_gguf_tensor(o->g, i, &t) == MLXN_OK)
            for (size_t k = 0; k < t.bytes; k++)
                sum += ((const uint8_t *)t.data)[k];
    }
    (void)sum;
    return st;
}

/* Open, then close: the status of opening a copy of (p, n). */
static mlxn_status try_open(const uint8_t *p, size_t n)
{
    opened o;
    mlxn_status st = open_copy(p, n, &o);
    if (st == MLXN_OK)
        close_copy(&o);
    return st;
}

static void set_u32(buf *b, size_t at, uint32_t v) { memcpy(b->p + at, &v, 4); }

/* A patch of n bytes at a file offset. */
typedef struct patch {
    size_t at;
    const void *bytes;
    size_t n;
} patch;

/* Patch a copy of the valid file and check that opening fails with
 * `want` and a message containing `needle`; returns 1 when it does. */
static int fails_with(const buf *good, patch p, mlxn_status want, const char *needle)
{
    buf b = {malloc(good->n), good->n, good->n};
    memcpy(b.p, good->p, good->n);
    memcpy(b.p + p.at, p.bytes, p.n);
    mlxn_status st = try_open(b.p, b.n);
    free(b.p);
    if (st == want && strstr(mlxn_last_error(NULL), needle))
        return 1;
    printf("    status %s, message '%s' (wanted %s, '%s')\n", mlxn_status_name(st),
           mlxn_last_error(NULL), mlxn_status_name(want), needle);
    return 0;
}

#define BAD_U32(at, v, st, needle)                                             \
    do {                                                                       \
        uint32_t v_ = (v);                                                     \
        CHECK(fails_with(&good, (patch){(at), &v_, 4}, (st), (needle)));        \
    } while (0)
#define BAD_U64(at, v, st, needle)                                             \
    do {                                                                       \
        uint64_t v_ = (v);                                                     \
        CHECK(fails_with(&good, (patch){(at), &v_, 8}, (st), (needle)));        \
    } while (0)

/* ---- tests ------------------------------------------------------------------------ */

TEST(synthetic_metadata)
{
    buf b;
    layout L;
    build(&b, &L);
    mlxn_gguf *g;
    REQUIRE_OK(mlxn_gguf_open_memory(b.p, b.n, &g));
    CHECK(mlxn_gguf_version(g) == 3);
    CHECK(mlxn_gguf_alignment(g) == 64);
    CHECK(mlxn_gguf_data_offset(g) % 64 == 0);
    CHECK(mlxn_gguf_data_offset(g) >= L.header_end);
    CHECK(mlxn_gguf_kv_count(g) == 18);
    CHECK(!strcmp(mlxn_gguf_kv_key(g, 0), "general.architecture"));
    CHECK(mlxn_gguf_kv_key(g, 18) == NULL && mlxn_gguf_kv_type(g, -1) == -1);
    CHECK(mlxn_gguf_kv_type(g, mlxn_gguf_find_key(g, "t.nested")) == MLXN_GGUF_ARRAY);
    CHECK(mlxn_gguf_find_key(g, "nope") == -1);

    int64_t i64;
    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    float f32;
    double f64;
    int bl;
    const char *s;
    size_t len;
    CHECK_OK(mlxn_gguf_get_int(g, "t.u8", &i64));
    CHECK(i64 == 200);
    CHECK_OK(mlxn_gguf_get_int(g, "t.i8", &i64));
    CHECK(i64 == -5);
    CHECK_OK(mlxn_gguf_get_int(g, "t.u16", &i64));
    CHECK(i64 == 60000);
    CHECK_OK(mlxn_gguf_get_int(g, "t.i16", &i64));
    CHECK(i64 == -300);
    CHECK_OK(mlxn_gguf_get_int(g, "t.u32", &i64));
    CHECK(i64 == 4000000000ll);
    CHECK_OK(mlxn_gguf_get_int(g, "t.i64", &i64));
    CHECK(i64 == -(1ll << 40));
    CHECK_OK(mlxn_gguf_get_u32(g, "t.u32", &u32));
    CHECK(u32 == 4000000000u);
    CHECK_OK(mlxn_gguf_get_i32(g, "t.i32", &i32));
    CHECK(i32 == -7);
    CHECK_OK(mlxn_gguf_get_u64(g, "t.u64", &u64));
    CHECK(u64 == 1ull << 40);
    CHECK_OK(mlxn_gguf_get_f32(g, "t.f32", &f32));
    CHECK(f32 == 1.5f);
    CHECK_OK(mlxn_gguf_get_float(g, "t.f64", &f64));
    CHECK(f64 == 2.25);
    CHECK_OK(mlxn_gguf_get_float(g, "t.f32", &f64));
    CHECK(f64 == 1.5);
    CHECK_OK(mlxn_gguf_get_bool(g, "t.bool", &bl));
    CHECK(bl == 1);
    CHECK_OK(mlxn_gguf_get_string(g, "t.str", &s, &len));
    CHECK(!strcmp(s, "hello") && len == 5);
    /* type checks and absent keys */
    CHECK(mlxn_gguf_get_u32(g, "t.i32", &u32) == MLXN_ERR_FORMAT);
    CHECK(strstr(mlxn_last_error(NULL), "'t.i32' is i32, not u32"));
    CHECK(mlxn_gguf_get_int(g, "t.str", &i64) == MLXN_ERR_FORMAT);
    CHECK(mlxn_gguf_get_string(g, "t.u8", &s, NULL) == MLXN_ERR_FORMAT);
    CHECK(mlxn_gguf_get_float(g, "t.u8", &f64) == MLXN_ERR_FORMAT);
    CHECK(mlxn_gguf_get_u32(g, "missing", &u32) == MLXN_ERR_NOT_FOUND);
    CHECK(strstr(mlxn_last_error(NULL), "missing"));

    mlxn_gguf_array arr, sub;
    mlxn_gguf_type et;
    int64_t n;
    CHECK_OK(mlxn_gguf_get_array(g, "t.arr_i32", &arr, &et, &n));
    CHECK(et == MLXN_GGUF_INT32 && n == 3);
    CHECK_OK(mlxn_gguf_array_int(g, arr, 2, &i64));
    CHECK(i64 == -3);
    CHECK(mlxn_gguf_array_int(g, arr, 3, &i64) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_gguf_array_string(g, arr, 0, &s, &len) == MLXN_ERR_FORMAT);
    CHECK(mlxn_gguf_array_data(g, arr) != NULL);
    CHECK_OK(mlxn_gguf_get_array(g, "t.arr_str", &arr, &et, &n));
    CHECK(et == MLXN_GGUF_STRING && n == 3 && mlxn_gguf_array_data(g, arr) == NULL);
    CHECK_OK(mlxn_gguf_array_string(g, arr, 1, &s, &len));
    CHECK(len == 2 && !memcmp(s, "bc", 2));
    CHECK_OK(mlxn_gguf_array_string(g, arr, 2, &s, &len));
    CHECK(len == 0);
    CHECK_OK(mlxn_gguf_get_array(g, "t.nested", &arr, &et, &n));
    CHECK(et == MLXN_GGUF_ARRAY && n == 2);
    CHECK_OK(mlxn_gguf_array_array(g, arr, 1, &sub));
    CHECK_OK(mlxn_gguf_array_info(g, sub, &et, &n));
    CHECK(et == MLXN_GGUF_UINT16 && n == 1);
    CHECK_OK(mlxn_gguf_array_int(g, sub, 0, &i64));
    CHECK(i64 == 3);
    CHECK_OK(mlxn_gguf_array_array(g, arr, 0, &sub));
    CHECK_OK(mlxn_gguf_array_int(g, sub, 1, &i64));
    CHECK(i64 == 2);
    CHECK_OK(mlxn_gguf_get_array(g, "t.empty", &arr, &et, &n));
    CHECK(et == MLXN_GGUF_FLOAT32 && n == 0);
    CHECK(mlxn_gguf_get_array(g, "t.str", &arr, &et, &n) == MLXN_ERR_FORMAT);
    mlxn_gguf_close(g);
    mlxn_gguf_close(NULL);
    free(b.p);
}

TEST(synthetic_tensors)
{
    buf b;
    layout L;
    build(&b, &L);
    mlxn_gguf *g;
    REQUIRE_OK(mlxn_gguf_open_memory(b.p, b.n, &g));
    CHECK(mlxn_gguf_tensor_count(g) == 3);
    mlxn_tensor_info t;
    size_t base = mlxn_gguf_data_offset(g);
    CHECK_OK(mlxn_gguf_tensor(g, mlxn_gguf_find_tensor(g, "a"), &t));
    CHECK(t.supported && t.dtype == MLXN_DTYPE_F32 && !strcmp(t.type_name, "f32"));
    CHECK(t.ndim == 2 && t.shape[0] == 2 && t.shape[1] == 3 && t.elems == 6);
    CHECK(t.bytes == 24 && t.offset == base && t.data == b.p + base);
    CHECK_OK(mlxn_gguf_tensor(g, 1, &t));
    CHECK(!strcmp(t.name, "b") && t.dtype == MLXN_DTYPE_Q4_0 && t.ggml_type == 2);
    CHECK(t.shape[0] == 2 && t.shape[1] == 64 && t.bytes == 72 && t.offset == base + 64);
    CHECK_OK(mlxn_gguf_tensor(g, 2, &t));
    CHECK(!t.supported && t.ggml_type == 16 && !strcmp(t.type_name, "iq2_xxs"));
    CHECK(t.bytes == 66 && t.ndim == 1 && t.shape[0] == 256);
    CHECK(mlxn_gguf_tensor(g, 3, &t) == MLXN_ERR_NOT_FOUND);
    CHECK(mlxn_gguf_find_tensor(g, "d") == -1);
    mlxn_gguf_close(g);
    free(b.p);
}

TEST(version2_and_big_u64)
{
    buf b;
    layout L;
    build(&b, &L);
    uint32_t v2 = 2;
    memcpy(b.p + 4, &v2, 4);
    size_t at = (size_t)((uint8_t *)memmem(b.p, b.n, "t.u64", 5) - b.p) + 5 + 4;
    uint64_t big = UINT64_MAX;
    memcpy(b.p + at, &big, 8);
    mlxn_gguf *g;
    REQUIRE_OK(mlxn_gguf_open_memory(b.p, b.n, &g));
    CHECK(mlxn_gguf_version(g) == 2);
    uint64_t u;
    int64_t i;
    CHECK_OK(mlxn_gguf_get_u64(g, "t.u64", &u));
    CHECK(u == UINT64_MAX);
    CHECK(mlxn_gguf_get_int(g, "t.u64", &i) == MLXN_ERR_FORMAT);
    CHECK(strstr(mlxn_last_error(NULL), "does not fit in int64"));
    mlxn_gguf_close(g);
    free(b.p);
}

TEST(truncated_everywhere)
{
    buf b;
    layout L;
    build(&b, &L);
    /* Every prefix that cuts the header or a tensor's data must fail. */
    int bad = 0;
    for (size_t n = 0; n < b.n; n++) {
        mlxn_status st = try_open(b.p, n);
        if (st != MLXN_ERR_FORMAT) {
            bad++;
            if (bad < 4)
                printf("    prefix %zu: %s\n", n, mlxn_status_name(st));
        }
    }
    CHECK(bad == 0);
    CHECK(try_open(b.p, b.n) == MLXN_OK);
    free(b.p);
}

TEST(corrupted_fields)
{
    buf good;
    layout L;
    build(&good, &L);
    BAD_U32(0, 0x46554748, MLXN_ERR_FORMAT, "not a GGUF file");
    BAD_U32(4, 1, MLXN_ERR_UNSUPPORTED, "version 1");
    BAD_U32(4, 4, MLXN_ERR_UNSUPPORTED, "version 4");
    BAD_U32(4, 0x03000000, MLXN_ERR_UNSUPPORTED, "big-endian");
    BAD_U64(L.n_tensors, 1ull << 60, MLXN_ERR_FORMAT, "tensor count");
    BAD_U64(L.n_kv, UINT64_MAX, MLXN_ERR_FORMAT, "metadata count");
    BAD_U64(L.n_kv, 19, MLXN_ERR_FORMAT, "");
    BAD_U64(L.str_len, 1ull << 62, MLXN_ERR_FORMAT, "key 't.str'");
    BAD_U64(L.arr_count, 1ull << 61, MLXN_ERR_FORMAT, "claims");
    BAD_U32(L.arr_type, 13, MLXN_ERR_FORMAT, "unknown element type 13");
    BAD_U32(L.kv_type, 99, MLXN_ERR_FORMAT, "key 't.i32': unknown value type 99");
    BAD_U32(L.align_value, 48, MLXN_ERR_FORMAT, "not a power of two");
    BAD_U32(L.align_value, 0, MLXN_ERR_FORMAT, "not a power of two");
    BAD_U32(L.a_ndims, 5, MLXN_ERR_FORMAT, "tensor 'a'");
    BAD_U64(L.a_ne0, 1ull << 62, MLXN_ERR_FORMAT, "overflow");
    BAD_U64(L.a_ne0, UINT64_MAX, MLXN_ERR_FORMAT, "overflow");
    BAD_U64(L.a_ne0, 1000, MLXN_ERR_FORMAT, "extends past the end");
    BAD_U64(L.b_ne0, 48, MLXN_ERR_FORMAT, "not a multiple of the block size 32");
    BAD_U32(L.b_type, 4, MLXN_ERR_FORMAT, "unknown ggml type 4");
    BAD_U32(L.b_type, 31, MLXN_ERR_FORMAT, "unknown ggml type 31");
    BAD_U32(L.b_type, 40, MLXN_ERR_FORMAT, "unknown ggml type 40");
    BAD_U32(L.b_type, 0xffffffffu, MLXN_ERR_FORMAT, "unknown ggml type");
    BAD_U64(L.b_offset, 96, MLXN_ERR_FORMAT, "not a multiple of the alignment 64");
    BAD_U64(L.b_offset, 0, MLXN_ERR_FORMAT, "overlap");
    BAD_U64(L.b_offset, 1ull << 40, MLXN_ERR_FORMAT, "tensor 'b'");
    BAD_U64(L.b_offset, UINT64_MAX - 63, MLXN_ERR_FORMAT, "tensor 'b'");
    /* a NUL byte in a key, a duplicate key, a duplicate tensor name */
    CHECK(fails_with(&good, (patch){24 + 8 + 3, "\0", 1}, MLXN_ERR_FORMAT, "NUL"));
    size_t u16 = (size_t)((uint8_t *)memmem(good.p, good.n, "t.u16", 5) - good.p);
    CHECK(fails_with(&good, (patch){u16 + 2, "i", 1}, MLXN_ERR_FORMAT, "duplicate key 't.i16'"));
    buf dup = {malloc(good.n), good.n, good.n};
    memcpy(dup.p, good.p, good.n);
    memcpy(dup.p + L.b_ne0 - 4 - 1, "a", 1); /* rename tensor b to a */
    CHECK(try_open(dup.p, dup.n) == MLXN_ERR_FORMAT);
    CHECK(strstr(mlxn_last_error(NULL), "duplicate tensor name"));
    /* wrong alignment type: make general.alignment a float32 */
    set_u32(&dup, L.align_value - 4, 6);
    memcpy(dup.p + L.b_ne0 - 4 - 1, "b", 1);
    CHECK(try_open(dup.p, dup.n) == MLXN_ERR_FORMAT);
    CHECK(strstr(mlxn_last_error(NULL), "general.alignment must be a u32"));
    free(dup.p);
    free(good.p);
}

TEST(random_corruption_never_crashes)
{
    buf good;
    layout L;
    build(&good, &L);
    int n_opened = 0;
    for (int iter = 0; iter < 3000; iter++) {
        buf b = {malloc(good.n), good.n, good.n};
        memcpy(b.p, good.p, good.n);
        int flips = 1 + (int)(test_rand_u64() % 4);
        for (int k = 0; k < flips; k++) {
            size_t at = test_rand_u64() % L.header_end;
            b.p[at] = (uint8_t)test_rand_u64();
        }
        if (test_rand_u64() % 4 == 0)
            b.n = test_rand_u64() % good.n;
        opened o;
        if (open_copy(b.p, b.n, &o) == MLXN_OK) {
            mlxn_gguf *g = o.g;
            n_opened++;
            /* Every getter must stay inside the file too. */
            for (int64_t i = 0; i < mlxn_gguf_kv_count(g); i++) {
                const char *key = mlxn_gguf_kv_key(g, i);
                int64_t v;
                const char *s;
                mlxn_gguf_array a;
                mlxn_gguf_type et;
                int64_t n;
                (void)mlxn_gguf_get_int(g, key, &v);
                (void)mlxn_gguf_get_string(g, key, &s, NULL);
                if (mlxn_gguf_get_array(g, key, &a, &et, &n) == MLXN_OK && n > 0) {
                    size_t len;
                    (void)mlxn_gguf_array_string(g, a, n - 1, &s, &len);
                    (void)mlxn_gguf_array_int(g, a, n - 1, &v);
                }
            }
            close_copy(&o);
        }
        free(b.p);
    }
    CHECK(n_opened > 0); /* some flips hit bytes that do not matter */
    free(good.p);
}

/* ---- the stories260K model -------------------------------------------------------- */

static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)len + 1);
    *n = fread(p, 1, (size_t)len, f);
    fclose(f);
    return p;
}

TEST(stories260k_metadata)
{
    mlxn_gguf *g;
    mlxn_status st = mlxn_gguf_open(STORIES_GGUF, &g);
    if (st == MLXN_ERR_IO)
        SKIP("%s", mlxn_last_error(NULL));
    REQUIRE_OK(st);
    CHECK(mlxn_gguf_version(g) == 3);
    CHECK(mlxn_gguf_alignment(g) == 32);
    CHECK(mlxn_gguf_kv_count(g) == 19);
    const char *s;
    CHECK_OK(mlxn_gguf_get_string(g, "general.architecture", &s, NULL));
    CHECK(!strcmp(s, "llama"));
    CHECK_OK(mlxn_gguf_get_string(g, "tokenizer.ggml.model", &s, NULL));
    CHECK(!strcmp(s, "llama"));
    uint32_t u;
    CHECK_OK(mlxn_gguf_get_u32(g, "llama.block_count", &u));
    CHECK(u == 5);
    CHECK_OK(mlxn_gguf_get_u32(g, "llama.embedding_length", &u));
    CHECK(u == 64);
    CHECK_OK(mlxn_gguf_get_u32(g, "llama.feed_forward_length", &u));
    CHECK(u == 172);
    CHECK_OK(mlxn_gguf_get_u32(g, "llama.attention.head_count", &u));
    CHECK(u == 8);
    CHECK_OK(mlxn_gguf_get_u32(g, "llama.attention.head_count_kv", &u));
    CHECK(u == 4);
    CHECK_OK(mlxn_gguf_get_u32(g, "tokenizer.ggml.seperator_token_id", &u));
    CHECK(u == 0xffffffffu);
    float eps;
    CHECK_OK(mlxn_gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &eps));
    CHECK_NEAR(eps, 1e-5, 1e-12);
    mlxn_gguf_array arr;
    mlxn_gguf_type et;
    int64_t n;
    CHECK_OK(mlxn_gguf_get_array(g, "tokenizer.ggml.tokens", &arr, &et, &n));
    CHECK(et == MLXN_GGUF_STRING && n == 512);
    size_t len;
    CHECK_OK(mlxn_gguf_array_string(g, arr, 1, &s, &len));
    CHECK(len == 3 && !memcmp(s, "<s>", 3));
    CHECK_OK(mlxn_gguf_get_array(g, "tokenizer.ggml.scores", &arr, &et, &n));
    CHECK(et == MLXN_GGUF_FLOAT32 && n == 512);
    mlxn_gguf_close(g);
}

TEST(stories260k_tensors)
{
    mlxn_gguf *g;
    mlxn_status st = mlxn_gguf_open(STORIES_GGUF, &g);
    if (st == MLXN_ERR_IO)
        SKIP("%s", mlxn_last_error(NULL));
    REQUIRE_OK(st);
    CHECK(mlxn_gguf_tensor_count(g) == 3 + 5 * 9);
    static const struct {
        const char *name;
        int ndim;
        int64_t shape[2];
        size_t rel_offset;
    } want[] = {
        {"token_embd.weight", 2, {512, 64}, 0},
        {"output_norm.weight", 1, {64, 0}, 131072},
        {"output.weight", 2, {512, 64}, 131328},
        {"blk.0.attn_q.weight", 2, {64, 64}, 262400},
        {"blk.0.attn_k.weight", 2, {32, 64}, 278784},
        {"blk.0.ffn_down.weight", 2, {64, 172}, 355840},
        {"blk.0.ffn_up.weight", 2, {172, 64}, 399872},
        {"blk.4.ffn_norm.weight", 1, {64, 0}, 0},
    };
    size_t base = mlxn_gguf_data_offset(g), total = 0;
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        int64_t i = mlxn_gguf_find_tensor(g, want[k].name);
        CHECK_MSG(i >= 0, "tensor %s missing", want[k].name);
        mlxn_tensor_info t;
        if (i < 0 || mlxn_gguf_tensor(g, i, &t) != MLXN_OK)
            continue;
        CHECK(t.supported && t.dtype == MLXN_DTYPE_F32 && t.ggml_type == 0);
        CHECK(t.ndim == want[k].ndim && t.shape[0] == want[k].shape[0]);
        if (t.ndim == 2)
            CHECK(t.shape[1] == want[k].shape[1]);
        CHECK(t.bytes == (size_t)t.elems * 4);
        if (want[k].rel_offset)
            CHECK(t.offset == base + want[k].rel_offset);
    }
    for (int64_t i = 0; i < mlxn_gguf_tensor_count(g); i++) {
        mlxn_tensor_info t;
        CHECK_OK(mlxn_gguf_tensor(g, i, &t));
        total += t.bytes;
    }
    size_t file_size;
    uint8_t *file = read_all(STORIES_GGUF, &file_size);
    CHECK(file && base + total <= file_size && file_size - (base + total) < 32 * 48);
    free(file);
    /* The embedding holds the same bytes as the llama2.c checkpoint's. */
    size_t bin_size;
    uint8_t *bin = read_all(STORIES_BIN, &bin_size);
    mlxn_tensor_info t;
    CHECK_OK(mlxn_gguf_tensor(g, 0, &t));
    if (bin && bin_size >= 28 + t.bytes)
        CHECK(!memcmp(bin + 28, t.data, t.bytes));
    free(bin);
    mlxn_gguf_close(g);
}

TEST(stories260k_truncated_everywhere)
{
    size_t n;
    uint8_t *file = read_all(STORIES_GGUF, &n);
    if (!file)
        SKIP("%s is absent", STORIES_GGUF);
    opened o;
    REQUIRE_OK(open_copy(file, n, &o));
    size_t header = mlxn_gguf_data_offset(o.g);
    close_copy(&o);
    int bad = 0;
    for (size_t k = 0; k < header; k++)
        if (try_open(file, k) != MLXN_ERR_FORMAT)
            bad++;
    /* cutting tensor data also fails */
    if (try_open(file, n - 1) != MLXN_ERR_FORMAT)
        bad++;
    CHECK(bad == 0);
    CHECK(try_open(file, n) == MLXN_OK);
    free(file);
}

TEST(open_errors)
{
    mlxn_gguf *g = (mlxn_gguf *)1;
    CHECK(mlxn_gguf_open("/nonexistent/x.gguf", &g) == MLXN_ERR_IO);
    CHECK(g == NULL);
    CHECK(strstr(mlxn_last_error(NULL), "/nonexistent/x.gguf"));
    CHECK(mlxn_gguf_open("/", &g) == MLXN_ERR_IO);
    CHECK(mlxn_gguf_open_memory(NULL, 0, &g) == MLXN_ERR_FORMAT);
    CHECK(mlxn_gguf_open_memory(NULL, 4, &g) == MLXN_ERR_INVALID_ARG);
    CHECK(!strcmp(mlxn_ggml_type_name(12), "q4_K") && mlxn_ggml_type_name(4) == NULL);
    CHECK(!strcmp(mlxn_gguf_type_name(MLXN_GGUF_STRING), "string"));
}
