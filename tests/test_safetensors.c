/*
 * test_safetensors.c: the JSON parser (valid and invalid documents), the
 * safetensors reader on files written by the test (valid, malformed,
 * truncated at every byte, randomly corrupted), and model directories
 * (index, single file, scanned shards, MLX quantization settings), written
 * into a temporary directory.
 */
#define MLXN_TEST_MAIN
#include "test.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- JSON ---------------------------------------------------------------------- */

static mlxn_json_doc *parse(const char *s)
{
    mlxn_json_doc *d = NULL;
    if (mlxn_json_parse(s, strlen(s), &d) != MLXN_OK)
        return NULL;
    return d;
}

TEST(json_values)
{
    const char *text =
        " {\"a\": [1, -2.5, 3e2, 9007199254740993, -0, true, false, null],\n"
        "  \"s\": \"x\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\u0000y\",\n"
        "  \"o\": {\"k\": {}}, \"e\": [], \"dup\": 1, \"dup\": 2, \"u\": \"\xc3\xa9\xe2\x96\x81\"} ";
    mlxn_json_doc *d = parse(text);
    REQUIRE_OK(d ? MLXN_OK : MLXN_ERR_FORMAT);
    const mlxn_json *r = mlxn_json_root(d);
    CHECK(mlxn_json_kind_of(r) == MLXN_JSON_OBJECT && mlxn_json_count(r) == 7);
    CHECK(!strcmp(mlxn_json_key_at(r, 1), "s"));
    const mlxn_json *a = mlxn_json_get(r, "a");
    CHECK(mlxn_json_count(a) == 8);
    int64_t i;
    double x;
    int b;
    CHECK_OK(mlxn_json_as_int(mlxn_json_at(a, 0), &i));
    CHECK(i == 1);
    CHECK_OK(mlxn_json_as_number(mlxn_json_at(a, 1), &x));
    CHECK(x == -2.5);
    CHECK_OK(mlxn_json_as_int(mlxn_json_at(a, 2), &i));
    CHECK(i == 300);
    CHECK_OK(mlxn_json_as_int(mlxn_json_at(a, 3), &i));
    CHECK(i == 9007199254740993ll); /* exact, beyond a double's integers */
    CHECK(mlxn_json_as_int(mlxn_json_at(a, 1), &i) == MLXN_ERR_FORMAT);
    CHECK_OK(mlxn_json_as_bool(mlxn_json_at(a, 5), &b));
    CHECK(b == 1);
    CHECK(mlxn_json_kind_of(mlxn_json_at(a, 7)) == MLXN_JSON_NULL);
    CHECK(mlxn_json_at(a, 8) == NULL && mlxn_json_kind_of(NULL) == MLXN_JSON_NONE);
    const char *s;
    size_t len;
    CHECK_OK(mlxn_json_as_string(mlxn_json_get(r, "s"), &s, &len));
    CHECK(len == 17 && !memcmp(s, "x\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\0y", 17));
    CHECK(mlxn_json_kind_of(mlxn_json_get(mlxn_json_get(r, "o"), "k")) == MLXN_JSON_OBJECT);
    CHECK(mlxn_json_count(mlxn_json_get(r, "e")) == 0);
    CHECK_OK(mlxn_json_get_int(r, "dup", &i));
    CHECK(i == 2);
    CHECK(mlxn_json_get_int(r, "missing", &i) == MLXN_ERR_NOT_FOUND);
    CHECK(mlxn_json_get_string(r, "dup", &s) == MLXN_ERR_FORMAT);
    CHECK(strstr(mlxn_last_error(NULL), "'dup' is a number, not a string"));
    CHECK(mlxn_json_get(a, "x") == NULL && mlxn_json_get(NULL, "x") == NULL);
    mlxn_json_free(d);
}

TEST(json_invalid)
{
    static const char *const bad[] = {
        "", " ", "{", "[1,]", "{\"a\":1,}", "[01]", "[1.]", "[.5]", "[1e]", "[-]", "[+1]",
        "[NaN]", "[Infinity]", "// c\n1", "{'a':1}", "{\"a\" 1}", "{a:1}", "[1 2]",
        "\"abc", "\"a\x01\"", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"",
        "\"\xff\"", "\"\xc0\x80\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "[1] x",
        "tru", "nul", "[true false]", "{\"a\":}", "[\"\\ud800\\u0041\"]"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        mlxn_json_doc *d = (mlxn_json_doc *)1;
        mlxn_status st = mlxn_json_parse(bad[k], strlen(bad[k]), &d);
        CHECK_MSG(st == MLXN_ERR_FORMAT && d == NULL, "'%s' parsed (%s)", bad[k],
                  mlxn_status_name(st));
    }
    CHECK(strstr(mlxn_last_error(NULL), "line 1 column"));
    /* nesting limit */
    char deep[1200];
    memset(deep, '[', 600);
    memset(deep + 600, ']', 600);
    mlxn_json_doc *d;
    CHECK(mlxn_json_parse(deep, 1200, &d) == MLXN_ERR_FORMAT);
    CHECK(mlxn_json_parse(deep + 200, 800, &d) == MLXN_OK);
    mlxn_json_free(d);
    /* prefixes and byte flips never crash or read past the end */
    const char *good = "{\"k\": [1, 2.5e-3, \"s\\u00e9\\n\", {\"x\": null}], \"b\": true}";
    size_t n = strlen(good);
    for (size_t cut = 0; cut < n; cut++) {
        char *copy = malloc(cut ? cut : 1);
        memcpy(copy, good, cut);
        if (mlxn_json_parse(copy, cut, &d) == MLXN_OK)
            mlxn_json_free(d);
        free(copy);
    }
    for (int it = 0; it < 2000; it++) {
        char *copy = malloc(n);
        memcpy(copy, good, n);
        copy[test_rand_u64() % n] = (char)test_rand_u64();
        if (mlxn_json_parse(copy, n, &d) == MLXN_OK)
            mlxn_json_free(d);
        free(copy);
    }
}

/* ---- safetensors ------------------------------------------------------------------ */

/* A safetensors image from a header (JSON) and data bytes. */
static uint8_t *st_image(const char *header, size_t data_bytes, size_t *size)
{
    size_t h = strlen(header);
    *size = 8 + h + data_bytes;
    uint8_t *p = malloc(*size);
    uint64_t hl = h;
    memcpy(p, &hl, 8);
    memcpy(p + 8, header, h);
    for (size_t i = 0; i < data_bytes; i++)
        p[8 + h + i] = (uint8_t)(i * 13 + 5);
    return p;
}

static const char *good_header =
    "{\"__metadata__\":{\"format\":\"mlx\"},"
    "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
    "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[24,32]},"
    "\"s\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[32,40]},"
    "\"q\":{\"dtype\":\"U16\",\"shape\":[1,2],\"data_offsets\":[40,44]}}   ";

TEST(safetensors_valid)
{
    size_t n;
    uint8_t *img = st_image(good_header, 44, &n);
    mlxn_safetensors *st;
    REQUIRE_OK(mlxn_safetensors_open_memory(img, n, &st));
    CHECK(mlxn_safetensors_tensor_count(st) == 4);
    const char *fmt;
    CHECK_OK(mlxn_json_get_string(mlxn_safetensors_metadata(st), "format", &fmt));
    CHECK(!strcmp(fmt, "mlx"));
    mlxn_tensor_info t;
    CHECK_OK(mlxn_safetensors_tensor(st, mlxn_safetensors_find_tensor(st, "w"), &t));
    CHECK(t.supported && t.dtype == MLXN_DTYPE_F32 && !strcmp(t.type_name, "F32"));
    CHECK(t.ndim == 2 && t.shape[0] == 2 && t.shape[1] == 3 && t.bytes == 24);
    size_t base = 8 + strlen(good_header);
    CHECK(t.offset == base && t.data == img + base);
    CHECK_OK(mlxn_safetensors_tensor(st, 1, &t));
    CHECK(!strcmp(t.name, "b") && t.dtype == MLXN_DTYPE_BF16 && t.offset == base + 24);
    CHECK_OK(mlxn_safetensors_tensor(st, 2, &t));
    CHECK(t.ndim == 0 && t.elems == 1 && t.dtype == MLXN_DTYPE_I64);
    CHECK_OK(mlxn_safetensors_tensor(st, 3, &t));
    CHECK(!t.supported && !strcmp(t.type_name, "U16") && t.bytes == 4);
    CHECK(mlxn_safetensors_tensor(st, 4, &t) == MLXN_ERR_NOT_FOUND);
    CHECK(mlxn_safetensors_find_tensor(st, "zz") == -1);
    mlxn_safetensors_close(st);
    mlxn_safetensors_close(NULL);
    free(img);
}

static mlxn_status st_try(const uint8_t *p, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, p, n);
    mlxn_safetensors *st;
    mlxn_status s = mlxn_safetensors_open_memory(copy, n, &st);
    if (s == MLXN_OK) {
        unsigned sum = 0;
        for (int64_t i = 0; i < mlxn_safetensors_tensor_count(st); i++) {
            mlxn_tensor_info t;
            mlxn_safetensors_tensor(st, i, &t);
            for (size_t k = 0; k < t.bytes; k++)
                sum += ((const uint8_t *)t.data)[k];
        }
        (void)sum;
        mlxn_safetensors_close(st);
    }
    free(copy);
    return s;
}

static void st_bad(const char *header, size_t data, const char *needle, int line)
{
    size_t n;
    uint8_t *img = st_image(header, data, &n);
    mlxn_status s = st_try(img, n);
    if (s != MLXN_ERR_FORMAT || !strstr(mlxn_last_error(NULL), needle))
        mlxn_test_fail(__FILE__, line, "%s: '%s' (wanted '%s')", mlxn_status_name(s),
                       mlxn_last_error(NULL), needle);
    free(img);
}

#define ST_BAD(h, d, needle) st_bad((h), (d), (needle), __LINE__)

TEST(safetensors_malformed)
{
    ST_BAD("[1]", 0, "not a JSON object");
    ST_BAD("{\"w\":1}", 0, "entry is not an object");
    ST_BAD("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "no string \"dtype\"");
    ST_BAD("{\"w\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
           "unknown dtype 'F33'");
    ST_BAD("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "no \"shape\"");
    ST_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
           "non-negative");
    ST_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4,
           "non-negative");
    ST_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
           4, "9 dimensions");
    ST_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],"
           "\"data_offsets\":[0,4]}}",
           4, "overflows");
    ST_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "[begin, end]");
    ST_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4,
           "[begin, end]");
    ST_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 8,
           "need 8 bytes, data_offsets give 4");
    ST_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4,
           "run past the 4 data bytes");
    ST_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
           "\"v\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
           8, "overlap");
    ST_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
           "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
           8, "named twice");
    ST_BAD("{\"__metadata__\":[]}", 0, "__metadata__ is not an object");
    ST_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}", 4, "json:");
    uint8_t tiny[8] = {200, 0, 0, 0, 0, 0, 0, 0};
    CHECK(st_try(tiny, 8) == MLXN_ERR_FORMAT);
    CHECK(strstr(mlxn_last_error(NULL), "header length 200"));
    CHECK(st_try(tiny, 3) == MLXN_ERR_FORMAT);
    size_t n;
    uint8_t *img = st_image(good_header, 44, &n);
    uint64_t huge = UINT64_MAX;
    memcpy(img, &huge, 8);
    CHECK(st_try(img, n) == MLXN_ERR_FORMAT);
    free(img);
}

TEST(safetensors_truncated_and_corrupted)
{
    size_t n;
    uint8_t *img = st_image(good_header, 44, &n);
    int bad = 0;
    for (size_t cut = 0; cut < n; cut++)
        bad += st_try(img, cut) != MLXN_ERR_FORMAT;
    CHECK(bad == 0);
    CHECK(st_try(img, n) == MLXN_OK);
    size_t h = 8 + strlen(good_header);
    for (int it = 0; it < 3000; it++) {
        uint8_t *copy = malloc(n);
        memcpy(copy, img, n);
        for (int k = 0; k < 3; k++)
            copy[test_rand_u64() % h] = (uint8_t)test_rand_u64();
        (void)st_try(copy, n);
        free(copy);
    }
    free(img);
}

/* ---- model directories ----------------------------------------------------------- */

static char tmp_root[256];

static void remove_tmp(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0)
        printf("could not remove %s\n", tmp_root);
}

/* A fresh directory under a temporary root removed at exit. */
static const char *tmpdir(const char *name)
{
    static char path[512];
    if (!tmp_root[0]) {
        snprintf(tmp_root, sizeof tmp_root, "/tmp/mlxn_test_st_XXXXXX");
        if (!mkdtemp(tmp_root))
            return NULL;
        atexit(remove_tmp);
    }
    snprintf(path, sizeof path, "%s/%s", tmp_root, name);
    mkdir(path, 0700);
    return path;
}

static void write_file(const char *dir, const char *name, const void *data, size_t n)
{
    char path[768];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

static void write_text(const char *dir, const char *name, const char *text)
{
    write_file(dir, name, text, strlen(text));
}

static void write_st(const char *dir, const char *name, const char *header, size_t data)
{
    size_t n;
    uint8_t *img = st_image(header, data, &n);
    write_file(dir, name, img, n);
    free(img);
}

static const char *config_q =
    "{\"model_type\":\"llama\",\"hidden_size\":64,\"rms_norm_eps\":1e-5,\"tie\":false,"
    "\"quantization\":{\"group_size\":64,\"bits\":4,"
    "\"model.layers.0.mlp.down_proj\":{\"group_size\":32,\"bits\":8},"
    "\"lm_head\":false,\"model.embed\":true},"
    "\"quantization_config\":{\"group_size\":64,\"bits\":4}}";

TEST(model_dir_indexed)
{
    const char *dir = tmpdir("indexed");
    REQUIRE_OK(dir ? MLXN_OK : MLXN_ERR_IO);
    write_text(dir, "config.json", config_q);
    write_st(dir, "model-00001-of-00002.safetensors",
             "{\"a.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
             "\"a.scales\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[4,8]}}",
             8);
    write_st(dir, "model-00002-of-00002.safetensors",
             "{\"lm_head.weight\":{\"dtype\":\"U32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    write_text(dir, "model.safetensors.index.json",
               "{\"metadata\":{},\"weight_map\":{"
               "\"a.weight\":\"model-00001-of-00002.safetensors\","
               "\"a.scales\":\"model-00001-of-00002.safetensors\","
               "\"lm_head.weight\":\"model-00002-of-00002.safetensors\"}}");
    mlxn_model_dir *md;
    REQUIRE_OK(mlxn_model_dir_open(dir, &md));
    CHECK(mlxn_model_dir_shard_count(md) == 2 && mlxn_model_dir_tensor_count(md) == 3);
    CHECK(strstr(mlxn_model_dir_shard_path(md, 1), "00002-of-00002"));
    mlxn_tensor_info t;
    CHECK_OK(mlxn_model_dir_tensor(md, mlxn_model_dir_find_tensor(md, "lm_head.weight"), &t));
    CHECK(t.shard == 1 && t.dtype == MLXN_DTYPE_U32);
    CHECK_OK(mlxn_model_dir_tensor(md, 1, &t));
    CHECK(!strcmp(t.name, "a.scales") && t.shard == 0);
    const mlxn_json *cfg = mlxn_model_dir_config(md);
    int64_t h;
    double eps;
    const char *type;
    CHECK_OK(mlxn_json_get_int(cfg, "hidden_size", &h));
    CHECK(h == 64);
    CHECK_OK(mlxn_json_get_number(cfg, "rms_norm_eps", &eps));
    CHECK(eps == 1e-5);
    CHECK_OK(mlxn_json_get_string(cfg, "model_type", &type));
    CHECK(!strcmp(type, "llama"));
    mlxn_quant_info q;
    CHECK_OK(mlxn_model_dir_quant(md, "a.weight", &q)); /* has a.scales */
    CHECK(q.bits == 4 && q.group_size == 64 && !strcmp(q.mode, "affine"));
    CHECK_OK(mlxn_model_dir_quant(md, "model.layers.0.mlp.down_proj", &q));
    CHECK(q.bits == 8 && q.group_size == 32);
    CHECK_OK(mlxn_model_dir_quant(md, "lm_head.weight", &q));
    CHECK(q.bits == 0);
    CHECK_OK(mlxn_model_dir_quant(md, "model.embed", &q));
    CHECK(q.bits == 4);
    CHECK_OK(mlxn_model_dir_quant(md, "model.norm.weight", &q)); /* no scales */
    CHECK(q.bits == 0);
    mlxn_model_dir_close(md);

    /* the index names a tensor that its shard does not hold */
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\":{\"a.weight\":\"model-00002-of-00002.safetensors\"}}");
    CHECK(mlxn_model_dir_open(dir, &md) == MLXN_ERR_FORMAT);
    CHECK(strstr(mlxn_last_error(NULL), "'a.weight' is not in model-00002"));
    write_text(dir, "model.safetensors.index.json", "{\"weight_map\":{\"x\":\"../evil\"}}");
    CHECK(mlxn_model_dir_open(dir, &md) == MLXN_ERR_FORMAT);
    write_text(dir, "model.safetensors.index.json", "{\"weight_map\":{\"x\":\"absent.st\"}}");
    CHECK(mlxn_model_dir_open(dir, &md) == MLXN_ERR_IO);
}

TEST(model_dir_single_and_scanned)
{
    const char *dir = tmpdir("single");
    REQUIRE_OK(dir ? MLXN_OK : MLXN_ERR_IO);
    mlxn_model_dir *md;
    CHECK(mlxn_model_dir_open(dir, &md) == MLXN_ERR_IO); /* no config.json */
    write_text(dir, "config.json", "{\"model_type\":\"qwen2\"}");
    CHECK(mlxn_model_dir_open(dir, &md) == MLXN_ERR_NOT_FOUND); /* no weights */
    write_st(dir, "weights.01.safetensors",
             "{\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    write_st(dir, "weights.00.safetensors",
             "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    REQUIRE_OK(mlxn_model_dir_open(dir, &md));
    CHECK(mlxn_model_dir_shard_count(md) == 2);
    CHECK(strstr(mlxn_model_dir_shard_path(md, 0), "weights.00"));
    mlxn_quant_info q;
    CHECK_OK(mlxn_model_dir_quant(md, "x", &q));
    CHECK(q.bits == 0);
    mlxn_model_dir_close(md);
    /* the same tensor in two shards */
    write_st(dir, "weights.02.safetensors",
             "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    CHECK(mlxn_model_dir_open(dir, &md) == MLXN_ERR_FORMAT);
    CHECK(strstr(mlxn_last_error(NULL), "'x' is in both"));
    /* model.safetensors wins over scanning */
    write_st(dir, "model.safetensors",
             "{\"z\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4);
    REQUIRE_OK(mlxn_model_dir_open(dir, &md));
    CHECK(mlxn_model_dir_shard_count(md) == 1 && mlxn_model_dir_find_tensor(md, "z") == 0);
    mlxn_model_dir_close(md);
    write_text(dir, "config.json", "[1]");
    CHECK(mlxn_model_dir_open(dir, &md) == MLXN_ERR_FORMAT);
    write_text(dir, "config.json", "{\"quantization\":{\"bits\":4,\"group_size\":-1}}");
    CHECK(mlxn_model_dir_open(dir, &md) == MLXN_ERR_FORMAT);
}
