/*
 * fuzz_readers.h: one input through a model file reader, shared by the
 * libFuzzer targets (fuzz/fuzz_*.c) and the regression test
 * (tests/test_regress.c): GGUF (with every getter and the GGUF tokenizer
 * loader), safetensors, JSON (with tokenizer.json and, through files in a
 * temporary directory, the model-directory reader and MLX quantization
 * settings) and llama2.c checkpoints and tokenizer files.
 *
 * Besides "no crash, no sanitizer report" each function checks what the
 * API promises: every pointer handed out lies inside the input, counts
 * and shapes agree, lookups by name find what was listed, out-of-range
 * indices fail, and a failing call leaves its output unchanged. The
 * includer defines FZ_CHECK(cond, what) (fuzz targets abort, the test
 * records a failure). Everything is static inline so that each includer
 * keeps only what it calls.
 */
#ifndef MLXN_FUZZ_READERS_H
#define MLXN_FUZZ_READERS_H

#include "mlxn.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FZ_CHECK
#error "define FZ_CHECK(cond, what) before including fuzz_readers.h"
#endif

/* Reads every byte so that the sanitizers see an access past the input. */
static inline void fz_touch(const void *p, size_t n)
{
    const volatile uint8_t *b = p;
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= b[i];
    (void)x;
}

static inline int fz_inside(const void *p, size_t n, const uint8_t *base, size_t size)
{
    const uint8_t *q = p;
    return n == 0 || (q >= base && q <= base + size && n <= (size_t)(base + size - q));
}

/* A tensor as every reader reports it. */
static inline void fz_tensor(const mlxn_tensor_info *t, const uint8_t *base, size_t size)
{
    FZ_CHECK(t->name != NULL, "tensor without a name");
    FZ_CHECK(t->ndim >= 0 && t->ndim <= MLXN_FILE_MAX_DIMS, "tensor ndim out of range");
    int64_t elems = 1;
    for (int d = 0; d < t->ndim; d++) {
        FZ_CHECK(t->shape[d] >= 0, "negative dimension");
        if (__builtin_mul_overflow(elems, t->shape[d], &elems))
            FZ_CHECK(0, "shape product overflows");
    }
    FZ_CHECK(elems == t->elems, "elems is not the product of the shape");
    FZ_CHECK(fz_inside(t->data, t->bytes, base, size), "tensor data outside the input");
    FZ_CHECK(t->offset == (size_t)((const uint8_t *)t->data - base) || !t->bytes,
             "offset does not match the data pointer");
    if (t->bytes)
        fz_touch(t->data, t->bytes);
}

/* ---- GGUF --------------------------------------------------------------------- */

static inline size_t fz_gguf_elem_size(mlxn_gguf_type t)
{
    static const uint8_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return (unsigned)t < sizeof sizes ? sizes[t] : 0;
}

static inline void fz_gguf_array(const mlxn_gguf *g, mlxn_gguf_array a, const uint8_t *base,
                                 size_t size, int depth)
{
    mlxn_gguf_type et;
    int64_t n;
    if (mlxn_gguf_array_info(g, a, &et, &n) != MLXN_OK) {
        FZ_CHECK(0, "array handle from the reader is refused");
        return;
    }
    FZ_CHECK(n >= 0 && (size_t)n <= size, "array length beyond the input");
    const void *raw = mlxn_gguf_array_data(g, a);
    size_t es = fz_gguf_elem_size(et);
    FZ_CHECK((raw != NULL) == (es != 0), "raw data for exactly the numeric arrays");
    if (raw)
        FZ_CHECK(fz_inside(raw, (size_t)n * es, base, size), "array data outside the input");
    int64_t idx[] = {0, 1, 2, n / 2, n - 2, n - 1, n, -1};
    for (size_t k = 0; k < sizeof idx / sizeof idx[0]; k++) {
        int64_t i = idx[k], v = 0;
        double f = 0;
        const char *s = NULL;
        size_t len = 0;
        mlxn_gguf_array sub = -1;
        int in_range = i >= 0 && i < n;
        mlxn_status si = mlxn_gguf_array_int(g, a, i, &v);
        mlxn_status sf = mlxn_gguf_array_float(g, a, i, &f);
        mlxn_status ss = mlxn_gguf_array_string(g, a, i, &s, &len);
        mlxn_status sa = mlxn_gguf_array_array(g, a, i, &sub);
        if (!in_range) {
            FZ_CHECK(si != MLXN_OK && sf != MLXN_OK && ss != MLXN_OK && sa != MLXN_OK,
                     "array index out of range accepted");
            continue;
        }
        if (ss == MLXN_OK) {
            FZ_CHECK(et == MLXN_GGUF_STRING, "string from a non-string array");
            FZ_CHECK(fz_inside(s, len, base, size), "array string outside the input");
            fz_touch(s, len);
        }
        if (sa == MLXN_OK) {
            FZ_CHECK(et == MLXN_GGUF_ARRAY, "array from a non-array array");
            if (depth < 40)
                fz_gguf_array(g, sub, base, size, depth + 1);
        }
        FZ_CHECK((sf == MLXN_OK) == (et == MLXN_GGUF_FLOAT32 || et == MLXN_GGUF_FLOAT64),
                 "float getter and element type disagree");
    }
}

static inline void fz_gguf_kvs(const mlxn_gguf *g, const uint8_t *base, size_t size)
{
    int64_t n_kv = mlxn_gguf_kv_count(g);
    FZ_CHECK(n_kv >= 0, "negative kv count");
    FZ_CHECK(mlxn_gguf_kv_key(g, n_kv) == NULL && mlxn_gguf_kv_key(g, -1) == NULL,
             "kv index out of range accepted");
    for (int64_t i = 0; i < n_kv; i++) {
        const char *key = mlxn_gguf_kv_key(g, i);
        FZ_CHECK(key != NULL, "kv without a key");
        if (!key)
            continue;
        FZ_CHECK(mlxn_gguf_find_key(g, key) == i, "find_key does not find a listed key");
        int type = mlxn_gguf_kv_type(g, i);
        FZ_CHECK(type >= MLXN_GGUF_UINT8 && type <= MLXN_GGUF_FLOAT64, "kv type out of range");
        uint32_t u32;
        int32_t i32;
        uint64_t u64;
        float f32;
        int b;
        int64_t iv;
        double dv;
        const char *s;
        size_t len;
        mlxn_gguf_array arr;
        mlxn_gguf_type et;
        int64_t n;
        FZ_CHECK((mlxn_gguf_get_u32(g, key, &u32) == MLXN_OK) == (type == MLXN_GGUF_UINT32),
                 "get_u32 and the stored type disagree");
        (void)mlxn_gguf_get_i32(g, key, &i32);
        (void)mlxn_gguf_get_u64(g, key, &u64);
        (void)mlxn_gguf_get_f32(g, key, &f32);
        (void)mlxn_gguf_get_bool(g, key, &b);
        (void)mlxn_gguf_get_int(g, key, &iv);
        (void)mlxn_gguf_get_float(g, key, &dv);
        if (mlxn_gguf_get_string(g, key, &s, &len) == MLXN_OK) {
            FZ_CHECK(type == MLXN_GGUF_STRING, "string from a non-string key");
            FZ_CHECK(s[len] == 0, "string copy is not NUL-terminated");
            fz_touch(s, len);
        }
        if (mlxn_gguf_get_array(g, key, &arr, &et, &n) == MLXN_OK)
            fz_gguf_array(g, arr, base, size, 0);
    }
}

/* Encode and decode a little text with a tokenizer that just loaded. */
static inline void fz_tokenizer_use(const mlxn_tokenizer *tok, const char *text, size_t len)
{
    int32_t n_vocab = mlxn_tokenizer_n_vocab(tok);
    FZ_CHECK(n_vocab > 0, "tokenizer without tokens");
    for (int32_t id = 0; id < n_vocab && id < 300; id++) {
        size_t tl;
        const char *t = mlxn_tokenizer_token_text(tok, id, &tl);
        FZ_CHECK(t != NULL && t[tl] == 0, "token text missing or not NUL-terminated");
        if (t)
            FZ_CHECK(mlxn_tokenizer_find(tok, t, tl) == id, "find does not give a token's id");
    }
    const int32_t sp[] = {mlxn_tokenizer_bos(tok), mlxn_tokenizer_eos(tok),
                          mlxn_tokenizer_eot(tok)};
    for (int k = 0; k < 3; k++)
        FZ_CHECK(sp[k] >= -1 && sp[k] < n_vocab, "special id outside the vocabulary");
    for (unsigned flags = 0; flags < 8; flags += 7) {
        mlxn_tokens ids = {0};
        mlxn_status st = mlxn_tokenizer_encode(tok, text, len, flags, &ids);
        FZ_CHECK(st == MLXN_OK, "encode failed");
        for (int64_t i = 0; i < ids.n; i++)
            FZ_CHECK(ids.ids[i] >= 0 && ids.ids[i] < n_vocab, "encode gave an id out of range");
        mlxn_text out = {0};
        st = mlxn_tokenizer_decode(tok, ids.ids, ids.n, flags & 1, &out);
        FZ_CHECK(st == MLXN_OK, "decode of encoded ids failed");
        if (st == MLXN_OK)
            FZ_CHECK(out.data[out.len] == 0, "decoded text is not NUL-terminated");
        mlxn_text_free(&out);
        mlxn_tokens_free(&ids);
    }
}

static inline void fz_gguf(const uint8_t *data, size_t size)
{
    mlxn_gguf *g = (mlxn_gguf *)(uintptr_t)1;
    if (mlxn_gguf_open_memory(data, size, &g) != MLXN_OK) {
        FZ_CHECK(g == NULL, "failed open left a handle");
        return;
    }
    FZ_CHECK(mlxn_gguf_version(g) == 2 || mlxn_gguf_version(g) == 3, "bad version accepted");
    size_t align = mlxn_gguf_alignment(g);
    FZ_CHECK(align && !(align & (align - 1)), "alignment not a power of two");
    FZ_CHECK(mlxn_gguf_data_offset(g) % align == 0, "data section not aligned");
    fz_gguf_kvs(g, data, size);
    int64_t n = mlxn_gguf_tensor_count(g);
    mlxn_tensor_info t;
    FZ_CHECK(mlxn_gguf_tensor(g, n, &t) != MLXN_OK && mlxn_gguf_tensor(g, -1, &t) != MLXN_OK,
             "tensor index out of range accepted");
    for (int64_t i = 0; i < n; i++) {
        if (mlxn_gguf_tensor(g, i, &t) != MLXN_OK) {
            FZ_CHECK(0, "listed tensor refused");
            continue;
        }
        fz_tensor(&t, data, size);
        FZ_CHECK(t.ndim <= 4, "GGUF tensor with more than 4 dimensions");
        FZ_CHECK(mlxn_gguf_find_tensor(g, t.name) == i, "find_tensor does not find a tensor");
        FZ_CHECK(t.offset >= mlxn_gguf_data_offset(g) || !t.bytes, "tensor before the data");
    }
    mlxn_tokenizer *tok = NULL;
    if (mlxn_tokenizer_from_gguf(g, &tok) == MLXN_OK) {
        static const char text[] =
            " Hello world, it's 2024!\n\t<s>ok</s> \xe2\x96\x81\xf0\x9f\x98\x80";
        fz_tokenizer_use(tok, text, sizeof text - 1);
        mlxn_tokenizer_destroy(tok);
    } else {
        FZ_CHECK(tok == NULL, "failed tokenizer load left a handle");
    }
    mlxn_gguf_close(g);
}

/* ---- safetensors ---------------------------------------------------------------- */

static inline void fz_json_walk(const mlxn_json *v, int depth);

static inline void fz_safetensors(const uint8_t *data, size_t size)
{
    mlxn_safetensors *s = (mlxn_safetensors *)(uintptr_t)1;
    if (mlxn_safetensors_open_memory(data, size, &s) != MLXN_OK) {
        FZ_CHECK(s == NULL, "failed open left a handle");
        return;
    }
    int64_t n = mlxn_safetensors_tensor_count(s);
    mlxn_tensor_info t;
    FZ_CHECK(mlxn_safetensors_tensor(s, n, &t) != MLXN_OK &&
                 mlxn_safetensors_tensor(s, -1, &t) != MLXN_OK,
             "tensor index out of range accepted");
    for (int64_t i = 0; i < n; i++) {
        if (mlxn_safetensors_tensor(s, i, &t) != MLXN_OK) {
            FZ_CHECK(0, "listed tensor refused");
            continue;
        }
        fz_tensor(&t, data, size);
        FZ_CHECK(mlxn_safetensors_find_tensor(s, t.name) == i, "find_tensor misses a tensor");
    }
    const mlxn_json *meta = mlxn_safetensors_metadata(s);
    if (meta) {
        FZ_CHECK(mlxn_json_kind_of(meta) == MLXN_JSON_OBJECT, "metadata is not an object");
        fz_json_walk(meta, 0);
    }
    mlxn_safetensors_close(s);
}

/* ---- JSON ------------------------------------------------------------------------ */

static inline void fz_json_walk(const mlxn_json *v, int depth)
{
    FZ_CHECK(depth <= 513, "JSON deeper than the parser allows");
    mlxn_json_kind kind = mlxn_json_kind_of(v);
    const char *s;
    size_t len;
    double num;
    int64_t iv;
    int b;
    FZ_CHECK((mlxn_json_as_string(v, &s, &len) == MLXN_OK) == (kind == MLXN_JSON_STRING),
             "as_string and kind disagree");
    if (kind == MLXN_JSON_STRING) {
        FZ_CHECK(s[len] == 0, "string not NUL-terminated");
        fz_touch(s, len);
    }
    FZ_CHECK((mlxn_json_as_number(v, &num) == MLXN_OK) == (kind == MLXN_JSON_NUMBER),
             "as_number and kind disagree");
    if (mlxn_json_as_int(v, &iv) == MLXN_OK)
        FZ_CHECK(kind == MLXN_JSON_NUMBER, "as_int on a non-number");
    FZ_CHECK((mlxn_json_as_bool(v, &b) == MLXN_OK) == (kind == MLXN_JSON_BOOL),
             "as_bool and kind disagree");
    int64_t n = mlxn_json_count(v);
    FZ_CHECK(n == 0 || kind == MLXN_JSON_ARRAY || kind == MLXN_JSON_OBJECT,
             "count of a scalar");
    FZ_CHECK(mlxn_json_at(v, n) == NULL && mlxn_json_at(v, -1) == NULL,
             "child index out of range accepted");
    for (int64_t i = 0; i < n; i++) {
        const mlxn_json *c = mlxn_json_at(v, i);
        FZ_CHECK(c != NULL, "missing child");
        const char *key = mlxn_json_key_at(v, i);
        FZ_CHECK((key != NULL) == (kind == MLXN_JSON_OBJECT), "keys exactly on objects");
        /* Lookup gives the last member whose key matches (keys holding
         * \u0000 may match none, as lookups stop at the first NUL). */
        const mlxn_json *m = key && n <= 64 ? mlxn_json_get(v, key) : NULL;
        for (int64_t j = n - 1; m && j >= 0; j--) {
            if (mlxn_json_at(v, j) == m) {
                FZ_CHECK(!strcmp(mlxn_json_key_at(v, j), key),
                         "lookup found a member with another key");
                break;
            }
            FZ_CHECK(j > 0, "lookup gave a value that is not a member");
        }
        if (c)
            fz_json_walk(c, depth + 1);
    }
}

/* Scratch directories for the model-directory reader: `quant` holds a
 * fixed model.safetensors and gets the input as config.json; `index`
 * holds two fixed shards and gets the input as the index. */
typedef struct fz_dirs {
    char quant[256], index[256];
} fz_dirs;

static inline int fz_write(const char *dir, const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* A safetensors file with F32 tensors of two elements each. */
static inline int fz_write_st(const char *dir, const char *file, const char *const *names,
                              int n)
{
    char hdr[2048];
    size_t h = 0;
    h += (size_t)snprintf(hdr + h, sizeof hdr - h, "{\"__metadata__\":{\"format\":\"mlx\"}");
    for (int i = 0; i < n; i++)
        h += (size_t)snprintf(hdr + h, sizeof hdr - h,
                              ",\"%s\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[%d,%d]}",
                              names[i], 8 * i, 8 * i + 8);
    h += (size_t)snprintf(hdr + h, sizeof hdr - h, "}");
    uint8_t file_bytes[4096];
    uint64_t hl = h;
    memcpy(file_bytes, &hl, 8);
    memcpy(file_bytes + 8, hdr, h);
    memset(file_bytes + 8 + h, 0x3f, (size_t)n * 8);
    return fz_write(dir, file, file_bytes, 8 + h + (size_t)n * 8);
}

static const char *const fz_quant_names[] = {
    "model.embed_tokens.weight", "model.embed_tokens.scales", "model.embed_tokens.biases",
    "model.layers.0.mlp.down_proj.weight", "model.layers.0.mlp.down_proj.scales",
    "model.layers.0.mlp.down_proj.biases", "model.layers.0.self_attn.q_proj.weight",
    "lm_head.weight"};

static inline int fz_dirs_init(fz_dirs *d)
{
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(d->quant, sizeof d->quant, "%s/mlxn_fuzz_q_XXXXXX", tmp);
    snprintf(d->index, sizeof d->index, "%s/mlxn_fuzz_i_XXXXXX", tmp);
    if (!mkdtemp(d->quant) || !mkdtemp(d->index))
        return 0;
    static const char *const a[] = {"a.weight", "a.scales", "shared.x"};
    static const char *const b[] = {"b.weight", "b.biases"};
    return fz_write_st(d->quant, "model.safetensors", fz_quant_names, 8) &&
           fz_write_st(d->index, "a.safetensors", a, 3) &&
           fz_write_st(d->index, "b.safetensors", b, 2) &&
           fz_write(d->index, "config.json", "{}", 2);
}

static inline void fz_dirs_remove(fz_dirs *d)
{
    static const char *const files[][2] = {{"q", "model.safetensors"}, {"q", "config.json"},
                                           {"i", "a.safetensors"},     {"i", "b.safetensors"},
                                           {"i", "config.json"},
                                           {"i", "model.safetensors.index.json"}};
    char path[512];
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        snprintf(path, sizeof path, "%s/%s", files[k][0][0] == 'q' ? d->quant : d->index,
                 files[k][1]);
        unlink(path);
    }
    rmdir(d->quant);
    rmdir(d->index);
}

static inline void fz_quant_check(const mlxn_model_dir *md, const char *name)
{
    mlxn_quant_info q = {-1, -1, NULL};
    if (mlxn_model_dir_quant(md, name, &q) != MLXN_OK)
        return;
    FZ_CHECK(q.bits >= 0 && q.bits <= 16, "quantization bits out of range");
    FZ_CHECK(q.group_size >= 0, "negative group size");
    FZ_CHECK(q.mode != NULL, "no quantization mode");
}

static inline void fz_model_dir(const char *dir, const mlxn_json *root)
{
    mlxn_model_dir *md = NULL;
    if (mlxn_model_dir_open(dir, &md) != MLXN_OK) {
        FZ_CHECK(md == NULL, "failed open left a handle");
        return;
    }
    for (int64_t i = 0; i < mlxn_model_dir_tensor_count(md); i++) {
        mlxn_tensor_info t;
        FZ_CHECK(mlxn_model_dir_tensor(md, i, &t) == MLXN_OK, "listed tensor refused");
        FZ_CHECK(mlxn_model_dir_find_tensor(md, t.name) == i, "find_tensor misses a tensor");
        fz_quant_check(md, t.name);
    }
    for (size_t k = 0; k < sizeof fz_quant_names / sizeof fz_quant_names[0]; k++)
        fz_quant_check(md, fz_quant_names[k]);
    const char *groups[] = {"quantization", "quantization_config"};
    for (int g = 0; g < 2; g++) {
        const mlxn_json *q = mlxn_json_get(root, groups[g]);
        for (int64_t i = 0; i < mlxn_json_count(q) && i < 64; i++) {
            const char *key = mlxn_json_key_at(q, i);
            if (key)
                fz_quant_check(md, key);
        }
    }
    mlxn_model_dir_close(md);
}

/* JSON text: the parser and walker always; tokenizer.json when the root
 * has "model"; the model directory when it has quantization settings or a
 * weight_map (dirs may be NULL to skip the files). */
static inline void fz_json(const uint8_t *data, size_t size, const fz_dirs *dirs)
{
    mlxn_json_doc *doc = (mlxn_json_doc *)(uintptr_t)1;
    if (mlxn_json_parse((const char *)data, size, &doc) != MLXN_OK) {
        FZ_CHECK(doc == NULL, "failed parse left a document");
        return;
    }
    const mlxn_json *root = mlxn_json_root(doc);
    FZ_CHECK(root != NULL, "parsed document without a root");
    fz_json_walk(root, 0);
    if (mlxn_json_get(root, "model")) {
        mlxn_tokenizer *tok = NULL;
        if (mlxn_tokenizer_from_hf_json_memory((const char *)data, size, &tok) == MLXN_OK) {
            fz_tokenizer_use(tok, (const char *)data, size < 256 ? size : 256);
            mlxn_tokenizer_destroy(tok);
        } else {
            FZ_CHECK(tok == NULL, "failed tokenizer load left a handle");
        }
    }
    if (dirs && (mlxn_json_get(root, "quantization") ||
                 mlxn_json_get(root, "quantization_config"))) {
        if (fz_write(dirs->quant, "config.json", data, size))
            fz_model_dir(dirs->quant, root);
    }
    if (dirs && mlxn_json_get(root, "weight_map")) {
        if (fz_write(dirs->index, "model.safetensors.index.json", data, size))
            fz_model_dir(dirs->index, root);
    }
    mlxn_json_free(doc);
}

/* ---- llama2.c -------------------------------------------------------------------- */

static inline void fz_llama2c(const uint8_t *data, size_t size)
{
    mlxn_llama2c *m = (mlxn_llama2c *)(uintptr_t)1;
    if (mlxn_llama2c_open_memory(data, size, &m) == MLXN_OK) {
        mlxn_llama2c_config c;
        mlxn_llama2c_get_config(m, &c);
        FZ_CHECK(c.dim > 0 && c.vocab_size > 0 && c.n_layers > 0, "bad config accepted");
        mlxn_tensor_info t;
        for (int64_t i = 0; i < mlxn_llama2c_tensor_count(m); i++) {
            FZ_CHECK(mlxn_llama2c_tensor(m, i, &t) == MLXN_OK, "listed tensor refused");
            fz_tensor(&t, data, size);
            FZ_CHECK(mlxn_llama2c_find_tensor(m, t.name) == i, "find_tensor misses a tensor");
        }
        FZ_CHECK(mlxn_llama2c_tensor(m, mlxn_llama2c_tensor_count(m), &t) != MLXN_OK,
                 "tensor index out of range accepted");
        mlxn_llama2c_close(m);
    } else {
        FZ_CHECK(m == NULL, "failed open left a handle");
    }
    for (int32_t n_vocab = 0; n_vocab <= 512; n_vocab += 512) {
        mlxn_tokenizer *tok = (mlxn_tokenizer *)(uintptr_t)1;
        if (mlxn_tokenizer_from_llama2c_memory(data, size, n_vocab, &tok) != MLXN_OK) {
            FZ_CHECK(tok == NULL, "failed tokenizer load left a handle");
            continue;
        }
        FZ_CHECK(n_vocab == 0 || mlxn_tokenizer_n_vocab(tok) == n_vocab, "wrong vocab size");
        fz_tokenizer_use(tok, (const char *)data, size < 256 ? size : 256);
        mlxn_tokenizer_destroy(tok);
    }
}

#endif /* MLXN_FUZZ_READERS_H */
