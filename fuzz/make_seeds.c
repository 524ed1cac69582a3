/*
 * make_seeds.c: writes seed inputs for the fuzz targets at run time
 * (`make fuzz-run` calls it into a temporary folder; nothing it writes is
 * committed):
 *   gguf/          small GGUF files cut from the shared vocabularies and
 *                  stories260K.gguf (every scalar and string key, the first
 *                  400 entries of each array, a few small tensors), and a
 *                  synthetic file with every metadata type and tensor types
 *   llama2c/       tiny checkpoints (shared and separate classifier) and a
 *                  tiny tokenizer file
 *   safetensors/   files with several dtypes, metadata, holes, empty shapes
 *   json/          tokenizer.json files built from the gpt-2 and llama-spm
 *                  vocabularies (ByteLevel and Metaspace)
 *   tokenizer_spm/, tokenizer_bpe/
 *                  the strings of llama.cpp's tokenizer test input, each
 *                  behind a selector byte (see fuzz_tokenizers.h)
 *
 *   make_seeds OUT_DIR SHARED_DIR
 */
#include "mlxn.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KEEP 400 /* array entries kept from a vocabulary */

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
        if (!b->p) {
            perror("make_seeds");
            exit(1);
        }
    }
    if (n)
        memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void put_u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void put_str(buf *b, const char *s, size_t n)
{
    put_u64(b, n);
    put(b, s, n);
}
static void put_cstr(buf *b, const char *s) { put_str(b, s, strlen(s)); }
static void put_fmt(buf *b, const char *fmt, const char *s)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, fmt, s);
    put(b, tmp, (size_t)n);
}

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

static const char *subdir(const char *out, const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", out, name);
    mkdir(out, 0777);
    mkdir(path, 0777);
    return path;
}

/* ---- GGUF: a small copy of a real file ----------------------------------------- */

static const uint8_t elem_size[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

/* One metadata value of `key`, arrays cut to KEEP entries; 0 if skipped. */
static int copy_kv(const mlxn_gguf *g, int64_t i, buf *b)
{
    const char *key = mlxn_gguf_kv_key(g, i);
    int type = mlxn_gguf_kv_type(g, i);
    buf v = {0};
    if (type == MLXN_GGUF_STRING) {
        const char *s;
        size_t len;
        mlxn_gguf_get_string(g, key, &s, &len);
        put_str(&v, s, len);
    } else if (type == MLXN_GGUF_ARRAY) {
        mlxn_gguf_array a;
        mlxn_gguf_type et;
        int64_t n;
        mlxn_gguf_get_array(g, key, &a, &et, &n);
        if (et == MLXN_GGUF_ARRAY) {
            free(v.p);
            return 0;
        }
        int64_t keep = n < KEEP ? n : KEEP;
        put_u32(&v, (uint32_t)et);
        put_u64(&v, (uint64_t)keep);
        if (et == MLXN_GGUF_STRING) {
            for (int64_t k = 0; k < keep; k++) {
                const char *s;
                size_t len;
                mlxn_gguf_array_string(g, a, k, &s, &len);
                put_str(&v, s, len);
            }
        } else {
            put(&v, mlxn_gguf_array_data(g, a), (size_t)keep * elem_size[et]);
        }
    } else {
        /* Scalars: the stored bytes, read back through the typed getters. */
        uint64_t raw = 0;
        int64_t iv;
        double dv;
        int bv;
        if (type == MLXN_GGUF_FLOAT32) {
            float f;
            mlxn_gguf_get_f32(g, key, &f);
            memcpy(&raw, &f, 4);
        } else if (type == MLXN_GGUF_FLOAT64) {
            mlxn_gguf_get_float(g, key, &dv);
            memcpy(&raw, &dv, 8);
        } else if (type == MLXN_GGUF_BOOL) {
            mlxn_gguf_get_bool(g, key, &bv);
            raw = (uint64_t)bv;
        } else if (type == MLXN_GGUF_UINT64) {
            mlxn_gguf_get_u64(g, key, &raw);
        } else {
            mlxn_gguf_get_int(g, key, &iv);
            raw = (uint64_t)iv;
        }
        put(&v, &raw, elem_size[type]);
    }
    put_cstr(b, key);
    put_u32(b, (uint32_t)type);
    put(b, v.p, v.n);
    free(v.p);
    return 1;
}

static void mini_gguf(const char *src, const char *dir, const char *name)
{
    mlxn_gguf *g;
    if (mlxn_gguf_open(src, &g) != MLXN_OK) {
        fprintf(stderr, "make_seeds: skipping %s: %s\n", src, mlxn_last_error(NULL));
        return;
    }
    buf kvs = {0};
    uint64_t n_kv = 0;
    for (int64_t i = 0; i < mlxn_gguf_kv_count(g); i++)
        n_kv += (uint64_t)copy_kv(g, i, &kvs);
    /* Up to three tensors of at most 4 KiB, data aligned to 32. */
    mlxn_tensor_info keep[3];
    int n_t = 0;
    for (int64_t i = 0; i < mlxn_gguf_tensor_count(g) && n_t < 3; i++) {
        mlxn_tensor_info t;
        mlxn_gguf_tensor(g, i, &t);
        if (t.bytes <= 4096)
            keep[n_t++] = t;
    }
    buf b = {0};
    put(&b, "GGUF", 4);
    put_u32(&b, 3);
    put_u64(&b, (uint64_t)n_t);
    put_u64(&b, n_kv);
    put(&b, kvs.p, kvs.n);
    uint64_t off = 0;
    for (int k = 0; k < n_t; k++) {
        put_cstr(&b, keep[k].name);
        put_u32(&b, (uint32_t)keep[k].ndim);
        for (int d = keep[k].ndim - 1; d >= 0; d--)
            put_u64(&b, (uint64_t)keep[k].shape[d]);
        put_u32(&b, keep[k].ggml_type);
        put_u64(&b, off);
        off += (keep[k].bytes + 31) & ~(size_t)31;
    }
    static const uint8_t zeros[32];
    put(&b, zeros, (32 - b.n % 32) % 32);
    for (int k = 0; k < n_t; k++) {
        put(&b, keep[k].data, keep[k].bytes);
        put(&b, zeros, (32 - keep[k].bytes % 32) % 32);
    }
    write_file(dir, name, b.p, b.n);
    free(b.p);
    free(kvs.p);
    mlxn_gguf_close(g);
}

/* Every metadata type, nested arrays and tensors of several ggml types. */
static void synthetic_gguf(const char *dir)
{
    buf b = {0};
    put(&b, "GGUF", 4);
    put_u32(&b, 3);
    put_u64(&b, 4);
    put_u64(&b, 16);
    put_cstr(&b, "general.architecture"), put_u32(&b, 8), put_cstr(&b, "llama");
    put_cstr(&b, "general.alignment"), put_u32(&b, 4), put_u32(&b, 64);
    for (uint32_t t = 0; t <= 12; t++) {
        if (t == 8 || t == 9)
            continue;
        char key[16];
        snprintf(key, sizeof key, "t.%u", t);
        uint64_t raw = 0x8070605040302010ull;
        put_cstr(&b, key), put_u32(&b, t), put(&b, &raw, elem_size[t]);
    }
    put_cstr(&b, "t.strs"), put_u32(&b, 9), put_u32(&b, 8), put_u64(&b, 2);
    put_cstr(&b, "x"), put_cstr(&b, "");
    put_cstr(&b, "t.nested"), put_u32(&b, 9), put_u32(&b, 9), put_u64(&b, 2);
    put_u32(&b, 2), put_u64(&b, 1), put(&b, "\1\0", 2);
    put_u32(&b, 9), put_u64(&b, 1), put_u32(&b, 7), put_u64(&b, 1), put(&b, "\1", 1);
    put_cstr(&b, "t.i32s"), put_u32(&b, 9), put_u32(&b, 5), put_u64(&b, 3);
    put_u32(&b, 1), put_u32(&b, 2), put_u32(&b, 3);
    put_cstr(&b, "t.empty"), put_u32(&b, 9), put_u32(&b, 6), put_u64(&b, 0);
    /* tensors: f32 (3, 2), q4_0 (64, 2), iq2_xxs (256), bf16 scalar */
    struct {
        const char *name;
        uint32_t nd;
        uint64_t ne[2];
        uint32_t type;
        uint64_t off, bytes;
    } ts[] = {{"a", 2, {3, 2}, 0, 0, 24},
              {"b", 2, {64, 2}, 2, 64, 72},
              {"c", 1, {256, 0}, 16, 192, 66},
              {"d", 0, {0, 0}, 30, 320, 2}};
    for (int k = 0; k < 4; k++) {
        put_cstr(&b, ts[k].name);
        put_u32(&b, ts[k].nd);
        for (uint32_t d = 0; d < ts[k].nd; d++)
            put_u64(&b, ts[k].ne[d]);
        put_u32(&b, ts[k].type);
        put_u64(&b, ts[k].off);
    }
    while (b.n % 64)
        put(&b, "", 1);
    for (int i = 0; i < 384; i++) {
        uint8_t x = (uint8_t)(i * 13 + 5);
        put(&b, &x, 1);
    }
    write_file(dir, "synthetic.gguf", b.p, b.n);
    free(b.p);
}

/* ---- llama2.c ---------------------------------------------------------------------- */

static void tiny_checkpoint(const char *dir, const char *name, int shared)
{
    int32_t dim = 4, hid = 6, L = 1, nh = 2, nkv = 1, V = 8, seq = 2;
    int32_t hs = dim / nh, kv = nkv * hs;
    int64_t floats = (int64_t)V * dim + L * dim + L * dim * dim + 2 * L * kv * dim +
                     L * dim * dim + L * dim + 3 * L * hid * dim + dim + 2 * seq * (hs / 2) +
                     (shared ? 0 : V * dim);
    int32_t h[7] = {dim, hid, L, nh, nkv, shared ? V : -V, seq};
    buf b = {0};
    put(&b, h, sizeof h);
    for (int64_t i = 0; i < floats; i++) {
        float f = (float)i * 0.25f - 3.0f;
        put(&b, &f, 4);
    }
    write_file(dir, name, b.p, b.n);
    free(b.p);
}

static void tiny_llama2c_tokenizer(const char *dir)
{
    static const char *const toks[] = {"<unk>", "\n<s>\n", "\n</s>\n", "<0x0A>", "<0x41>",
                                       " ", "a", "b", " a", "ab", " ab", "\xc3\xa9"};
    buf b = {0};
    put_u32(&b, 8);
    for (size_t i = 0; i < sizeof toks / sizeof toks[0]; i++) {
        float score = -(float)i;
        put(&b, &score, 4);
        put_u32(&b, (uint32_t)strlen(toks[i]));
        put(&b, toks[i], strlen(toks[i]));
    }
    write_file(dir, "tiny_tokenizer.bin", b.p, b.n);
    free(b.p);
}

/* ---- safetensors ------------------------------------------------------------------- */

static void safetensors_file(const char *dir, const char *name, const char *header,
                             size_t data_bytes)
{
    buf b = {0};
    put_u64(&b, strlen(header));
    put(&b, header, strlen(header));
    for (size_t i = 0; i < data_bytes; i++) {
        uint8_t x = (uint8_t)(i * 29 + 7);
        put(&b, &x, 1);
    }
    write_file(dir, name, b.p, b.n);
    free(b.p);
}

static void safetensors_seeds(const char *dir)
{
    safetensors_file(dir, "dtypes.safetensors",
                     "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"\\u00e9\\n\"},"
                     "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                     "\"b\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]},"
                     "\"c\":{\"dtype\":\"BF16\",\"shape\":[1,1,2],\"data_offsets\":[32,36]},"
                     "\"d\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[40,48]},"
                     "\"e\":{\"dtype\":\"BOOL\",\"shape\":[0],\"data_offsets\":[48,48]},"
                     "\"f\":{\"dtype\":\"F8_E4M3\",\"shape\":[3],\"data_offsets\":[48,51]},"
                     "\"g\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1],"
                     "\"data_offsets\":[51,52]}}",
                     52);
    safetensors_file(dir, "empty.safetensors", "{}", 0);
    safetensors_file(dir, "mlx.safetensors",
                     "{\"__metadata__\":{\"format\":\"mlx\"},"
                     "\"model.layers.0.mlp.down_proj.weight\":{\"dtype\":\"U32\",\"shape\":[4,2],"
                     "\"data_offsets\":[0,32]},"
                     "\"model.layers.0.mlp.down_proj.scales\":{\"dtype\":\"F16\",\"shape\":[4,1],"
                     "\"data_offsets\":[32,40]},"
                     "\"model.layers.0.mlp.down_proj.biases\":{\"dtype\":\"F16\",\"shape\":[4,1],"
                     "\"data_offsets\":[40,48]}}        ",
                     48);
}

/* ---- tokenizer.json from a GGUF vocabulary ------------------------------------------ */

static void put_json_string(buf *b, const char *s, size_t n)
{
    put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(b, esc, 6);
        } else {
            put(b, &s[i], 1);
        }
    }
    put(b, "\"", 1);
}

static void tokenizer_json(const char *src, const char *dir, const char *name,
                           const char *pre)
{
    mlxn_gguf *g;
    mlxn_tokenizer *tok;
    if (mlxn_gguf_open(src, &g) != MLXN_OK)
        return;
    if (mlxn_tokenizer_from_gguf(g, &tok) != MLXN_OK) {
        mlxn_gguf_close(g);
        return;
    }
    buf b = {0};
    put_fmt(&b, "{\"version\":\"1.0\",%s,\"added_tokens\":[", pre);
    put(&b, "{\"id\":0,\"content\":", 18);
    size_t len;
    const char *t0 = mlxn_tokenizer_token_text(tok, 0, &len);
    put_json_string(&b, t0, len);
    put_fmt(&b, ",\"special\":true,\"lstrip\":false,\"rstrip\":%s}],", "true");
    put_fmt(&b, "%s", "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":["
                      "{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
                      "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}]},");
    put_fmt(&b, "%s", "\"model\":{\"type\":\"BPE\",\"byte_fallback\":true,\"vocab\":{");
    int32_t n = mlxn_tokenizer_n_vocab(tok) < KEEP ? mlxn_tokenizer_n_vocab(tok) : KEEP;
    for (int32_t id = 0; id < n; id++) {
        const char *t = mlxn_tokenizer_token_text(tok, id, &len);
        if (id)
            put(&b, ",", 1);
        put_json_string(&b, t, len);
        char num[24];
        put(&b, num, (size_t)snprintf(num, sizeof num, ":%d", id));
    }
    put_fmt(&b, "%s", "},\"merges\":[");
    mlxn_gguf_array merges;
    mlxn_gguf_type et;
    int64_t n_merges = 0;
    if (mlxn_gguf_find_key(g, "tokenizer.ggml.merges") >= 0)
        mlxn_gguf_get_array(g, "tokenizer.ggml.merges", &merges, &et, &n_merges);
    for (int64_t i = 0; i < n_merges && i < KEEP; i++) {
        const char *s;
        mlxn_gguf_array_string(g, merges, i, &s, &len);
        if (i)
            put(&b, ",", 1);
        put_json_string(&b, s, len);
    }
    put_fmt(&b, "%s", "]}}");
    write_file(dir, name, b.p, b.n);
    free(b.p);
    mlxn_tokenizer_destroy(tok);
    mlxn_gguf_close(g);
}

/* ---- tokenizer inputs ----------------------------------------------------------------- */

static void tokenizer_inputs(const char *src, const char *dir)
{
    FILE *f = fopen(src, "rb");
    if (!f)
        return;
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    static const char sep[] = "\n__ggml_vocab_test__\n";
    int k = 0;
    for (char *p = text; p && *p; k++) {
        char *end = strstr(p, sep);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        buf b = {0};
        /* tokenizer k (mod the set), flags from k: every fourth parses
         * special tokens, every eighth decodes them */
        uint8_t sel = (uint8_t)((k & 15) | (k % 4 == 3 ? 0x40 : 0) | (k % 8 == 5 ? 0x80 : 0));
        put(&b, &sel, 1);
        put(&b, p, len);
        char name[32];
        snprintf(name, sizeof name, "inp_%03d", k);
        write_file(dir, name, b.p, b.n);
        free(b.p);
        p = end ? end + sizeof sep - 1 : NULL;
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: make_seeds OUT_DIR SHARED_DIR\n");
        return 2;
    }
    const char *out = argv[1], *shared = argv[2];
    static const char *const vocabs[] = {"llama-spm", "phi-3", "gpt-2", "deepseek-coder",
                                         "falcon"};
    char src[1024], name[256];
    const char *d = subdir(out, "gguf");
    for (size_t i = 0; i < sizeof vocabs / sizeof vocabs[0]; i++) {
        snprintf(src, sizeof src, "%s/testdata/vocab/ggml-vocab-%s.gguf", shared, vocabs[i]);
        snprintf(name, sizeof name, "mini-%s.gguf", vocabs[i]);
        mini_gguf(src, d, name);
    }
    snprintf(src, sizeof src, "%s/models/stories260K.gguf", shared);
    mini_gguf(src, d, "mini-stories260K.gguf");
    synthetic_gguf(d);

    d = subdir(out, "llama2c");
    tiny_checkpoint(d, "tiny_shared.bin", 1);
    tiny_checkpoint(d, "tiny_separate.bin", 0);
    tiny_llama2c_tokenizer(d);

    safetensors_seeds(subdir(out, "safetensors"));

    d = subdir(out, "json");
    snprintf(src, sizeof src, "%s/testdata/vocab/ggml-vocab-gpt-2.gguf", shared);
    tokenizer_json(src, d, "tokenizer-bytelevel.json",
                   "\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"ByteLevel\","
                   "\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}");
    snprintf(src, sizeof src, "%s/testdata/vocab/ggml-vocab-llama-spm.gguf", shared);
    tokenizer_json(src, d, "tokenizer-metaspace.json",
                   "\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"Metaspace\","
                   "\"replacement\":\"\\u2581\",\"prepend_scheme\":\"first\",\"split\":false}");

    snprintf(src, sizeof src, "%s/testdata/vocab/ggml-vocab-gpt-2.gguf.inp", shared);
    tokenizer_inputs(src, subdir(out, "tokenizer_spm"));
    tokenizer_inputs(src, subdir(out, "tokenizer_bpe"));
    return 0;
}
