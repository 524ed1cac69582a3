/*
 * quant_write_gguf.c: a GGUF file rewritten with its 2-D f32/f16/bf16
 * weights (".weight", not norms) in Q4_0 or Q8_0. Metadata is copied
 * value by value (general.file_type set to match); tensors keep their
 * order, other tensors are copied; the layout is GGUF v3 with the input's
 * alignment.
 */
#include "tools/quant_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n ? 0 : -1; }
static int put_u32(FILE *f, uint32_t v) { return put(f, &v, 4); }
static int put_u64(FILE *f, uint64_t v) { return put(f, &v, 8); }
static int put_str(FILE *f, const char *s, size_t n) { return put_u64(f, n) || put(f, s, n); }

static size_t scalar_size(mlxn_gguf_type t)
{
    static const size_t sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return (unsigned)t <= MLXN_GGUF_FLOAT64 ? sz[t] : 0;
}

static int put_array(FILE *f, const mlxn_gguf *g, mlxn_gguf_array arr)
{
    mlxn_gguf_type et;
    int64_t n;
    if (mlxn_gguf_array_info(g, arr, &et, &n) != MLXN_OK || put_u32(f, (uint32_t)et) ||
        put_u64(f, (uint64_t)n))
        return -1;
    if (et == MLXN_GGUF_STRING) {
        for (int64_t i = 0; i < n; i++) {
            const char *s;
            size_t len;
            if (mlxn_gguf_array_string(g, arr, i, &s, &len) != MLXN_OK || put_str(f, s, len))
                return -1;
        }
        return 0;
    }
    if (et == MLXN_GGUF_ARRAY) {
        for (int64_t i = 0; i < n; i++) {
            mlxn_gguf_array sub;
            if (mlxn_gguf_array_array(g, arr, i, &sub) != MLXN_OK || put_array(f, g, sub))
                return -1;
        }
        return 0;
    }
    const void *data = mlxn_gguf_array_data(g, arr);
    return data ? put(f, data, scalar_size(et) * (size_t)n) : -1;
}

static int put_kv(FILE *f, const mlxn_gguf *g, int64_t i, uint32_t file_type)
{
    const char *key = mlxn_gguf_kv_key(g, i);
    mlxn_gguf_type t = (mlxn_gguf_type)mlxn_gguf_kv_type(g, i);
    if (put_str(f, key, strlen(key)) || put_u32(f, (uint32_t)t))
        return -1;
    if (!strcmp(key, "general.file_type") && t == MLXN_GGUF_UINT32)
        return put_u32(f, file_type);
    if (t == MLXN_GGUF_STRING) {
        const char *s;
        size_t len;
        return mlxn_gguf_get_string(g, key, &s, &len) != MLXN_OK || put_str(f, s, len);
    }
    if (t == MLXN_GGUF_ARRAY) {
        mlxn_gguf_array arr;
        return mlxn_gguf_get_array(g, key, &arr, NULL, NULL) != MLXN_OK || put_array(f, g, arr);
    }
    uint8_t raw[8];
    if (t == MLXN_GGUF_FLOAT32 || t == MLXN_GGUF_FLOAT64) {
        double d;
        if (mlxn_gguf_get_float(g, key, &d) != MLXN_OK)
            return -1;
        float x = (float)d;
        return t == MLXN_GGUF_FLOAT32 ? put(f, &x, 4) : put(f, &d, 8);
    }
    int64_t v;
    if (t == MLXN_GGUF_BOOL) {
        int b;
        if (mlxn_gguf_get_bool(g, key, &b) != MLXN_OK)
            return -1;
        v = b;
    } else if (mlxn_gguf_get_int(g, key, &v) != MLXN_OK) {
        uint64_t u;
        if (mlxn_gguf_get_u64(g, key, &u) != MLXN_OK)
            return -1;
        v = (int64_t)u;
    }
    memcpy(raw, &v, 8); /* little-endian: the low bytes hold the value */
    return put(f, raw, scalar_size(t));
}

static int quantize_it(const mlxn_tensor_info *t)
{
    size_t len = strlen(t->name);
    return t->supported && t->ndim == 2 && len > 7 && !strcmp(t->name + len - 7, ".weight") &&
           !strstr(t->name, "norm") && t->shape[1] % 32 == 0 &&
           (t->dtype == MLXN_DTYPE_F32 || t->dtype == MLXN_DTYPE_F16 ||
            t->dtype == MLXN_DTYPE_BF16);
}

static size_t pad_to(size_t n, size_t a) { return (n + a - 1) / a * a; }

static int put_padding(FILE *f, size_t n)
{
    static const uint8_t zero[64] = {0};
    while (n) {
        size_t k = n < sizeof zero ? n : sizeof zero;
        if (put(f, zero, k))
            return -1;
        n -= k;
    }
    return 0;
}

static int write_all(FILE *f, const mlxn_gguf *g, mlxn_dtype target)
{
    uint32_t ggml_target = target == MLXN_DTYPE_Q4_0 ? 2 : 8; /* ggml type ids */
    uint32_t file_type = target == MLXN_DTYPE_Q4_0 ? 2 : 7;   /* llama_ftype */
    int64_t nt = mlxn_gguf_tensor_count(g), nkv = mlxn_gguf_kv_count(g);
    size_t align = mlxn_gguf_alignment(g);
    if (put(f, "GGUF", 4) || put_u32(f, 3) || put_u64(f, (uint64_t)nt) || put_u64(f, (uint64_t)nkv))
        return -1;
    for (int64_t i = 0; i < nkv; i++)
        if (put_kv(f, g, i, file_type))
            return -1;
    size_t off = 0;
    for (int64_t i = 0; i < nt; i++) {
        mlxn_tensor_info t;
        if (mlxn_gguf_tensor(g, i, &t) != MLXN_OK)
            return -1;
        int q = quantize_it(&t);
        size_t bytes = q ? (size_t)mlxn_dtype_bytes(target, t.elems) : t.bytes;
        if (put_str(f, t.name, strlen(t.name)) || put_u32(f, (uint32_t)t.ndim))
            return -1;
        for (int d = t.ndim - 1; d >= 0; d--) /* GGUF lists the contiguous dimension first */
            if (put_u64(f, (uint64_t)t.shape[d]))
                return -1;
        if (put_u32(f, q ? ggml_target : t.ggml_type) || put_u64(f, off))
            return -1;
        off = pad_to(off + bytes, align);
    }
    long pos = ftell(f);
    if (pos < 0 || put_padding(f, pad_to((size_t)pos, align) - (size_t)pos))
        return -1;
    for (int64_t i = 0; i < nt; i++) {
        mlxn_tensor_info t;
        if (mlxn_gguf_tensor(g, i, &t) != MLXN_OK)
            return -1;
        size_t bytes = t.bytes;
        if (!quantize_it(&t)) {
            if (put(f, t.data, t.bytes))
                return -1;
        } else {
            int64_t rows = t.shape[0], cols = t.shape[1];
            size_t rb = (size_t)mlxn_dtype_bytes(target, cols);
            float *x = malloc(sizeof(float) * (size_t)cols);
            uint8_t *row = malloc(rb);
            int rc = x && row ? 0 : -1;
            for (int64_t r = 0; !rc && r < rows; r++)
                rc = mlxn_quant_row_f32(&t, r, cols, x) ||
                     mlxn_quantize_row(target, x, cols, row) != MLXN_OK || put(f, row, rb);
            free(x);
            free(row);
            if (rc)
                return -1;
            bytes = rb * (size_t)rows;
        }
        if (put_padding(f, pad_to(bytes, align) - bytes))
            return -1;
    }
    return 0;
}

int mlxn_quant_write_gguf(const char *in, const char *out, mlxn_dtype target)
{
    mlxn_gguf *g;
    if (mlxn_gguf_open(in, &g) != MLXN_OK) {
        fprintf(stderr, "mlxn quantize: %s\n", mlxn_last_error(NULL));
        return 1;
    }
    FILE *f = fopen(out, "wb");
    int rc = !f || write_all(f, g, target);
    if (f && fclose(f))
        rc = 1;
    if (rc)
        fprintf(stderr, "mlxn quantize: writing %s failed\n", out);
    mlxn_gguf_close(g);
    return rc;
}
