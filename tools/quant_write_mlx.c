/*
 * quant_write_mlx.c: a Hugging Face safetensors directory rewritten as an
 * MLX affine-quantized directory, as mlx-lm lays it out: every 2-D
 * ".weight" whose columns divide into groups becomes "<name>" (u32 packed
 * values, (rows, cols * bits / 32)), "<base>.scales" and "<base>.biases"
 * ((rows, cols / group), f16, or bf16 for bf16 sources); other tensors are
 * copied; config.json gains {"quantization": {"group_size", "bits"}}.
 */
#include "tools/quant_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int mlxn_quant_row_f32(const mlxn_tensor_info *t, int64_t r, int64_t cols, float *out)
{
    if (t->dtype == MLXN_DTYPE_F32) {
        memcpy(out, (const float *)t->data + r * cols, sizeof(float) * (size_t)cols);
        return 0;
    }
    if (t->dtype != MLXN_DTYPE_F16 && t->dtype != MLXN_DTYPE_BF16)
        return -1;
    return mlxn_dequantize_row(t->dtype, (const uint16_t *)t->data + r * cols, cols, out) ==
                   MLXN_OK
               ? 0
               : -1;
}

enum { COPY, QWEIGHT, QSCALES, QBIASES };

typedef struct entry {
    char name[256];
    const char *dtype;
    int64_t shape[8];
    int ndim;
    size_t bytes;
    int64_t src;
    int kind;
} entry;

static int quantizable(const mlxn_tensor_info *t, int group)
{
    size_t len = strlen(t->name);
    return t->supported && t->ndim == 2 && len > 7 && !strcmp(t->name + len - 7, ".weight") &&
           (t->dtype == MLXN_DTYPE_F32 || t->dtype == MLXN_DTYPE_F16 ||
            t->dtype == MLXN_DTYPE_BF16) &&
           t->shape[1] % group == 0;
}

/* Plan the output tensors; returns their count or -1. */
static int plan(mlxn_model_dir *md, int bits, int group, entry **out)
{
    int64_t n = mlxn_model_dir_tensor_count(md);
    entry *e = calloc((size_t)(3 * n + 1), sizeof *e);
    int k = 0;
    for (int64_t i = 0; e && i < n; i++) {
        mlxn_tensor_info t;
        if (mlxn_model_dir_tensor(md, i, &t) != MLXN_OK) {
            free(e);
            return -1;
        }
        if (!quantizable(&t, group)) {
            snprintf(e[k].name, sizeof e[k].name, "%s", t.name);
            e[k].dtype = t.type_name;
            e[k].ndim = t.ndim;
            memcpy(e[k].shape, t.shape, sizeof(int64_t) * (size_t)t.ndim);
            e[k].bytes = t.bytes;
            e[k].src = i;
            e[k++].kind = COPY;
            continue;
        }
        size_t base = strlen(t.name) - 7;
        int64_t rows = t.shape[0], cols = t.shape[1];
        const char *sdt = t.dtype == MLXN_DTYPE_BF16 ? "BF16" : "F16";
        for (int part = 0; part < 3; part++, k++) {
            e[k].src = i;
            e[k].kind = QWEIGHT + part;
            e[k].ndim = 2;
            e[k].shape[0] = rows;
            if (part == 0) {
                snprintf(e[k].name, sizeof e[k].name, "%s", t.name);
                e[k].dtype = "U32";
                e[k].shape[1] = cols * bits / 32;
                e[k].bytes = (size_t)(rows * cols * bits / 8);
            } else {
                snprintf(e[k].name, sizeof e[k].name, "%.*s%s", (int)base, t.name,
                         part == 1 ? ".scales" : ".biases");
                e[k].dtype = sdt;
                e[k].shape[1] = cols / group;
                e[k].bytes = (size_t)(rows * (cols / group) * 2);
            }
        }
    }
    *out = e;
    return e ? k : -1;
}

static int write_header(FILE *f, const entry *e, int n)
{
    size_t cap = 256 + (size_t)n * 400, len = 0, off = 0;
    char *h = malloc(cap);
    if (!h)
        return -1;
    len += (size_t)snprintf(h + len, cap - len, "{\"__metadata__\":{\"format\":\"mlx\"}");
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(h + len, cap - len, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", e[i].name,
                                e[i].dtype);
        for (int d = 0; d < e[i].ndim; d++)
            len += (size_t)snprintf(h + len, cap - len, "%s%lld", d ? "," : "",
                                    (long long)e[i].shape[d]);
        len += (size_t)snprintf(h + len, cap - len, "],\"data_offsets\":[%zu,%zu]}", off,
                                off + e[i].bytes);
        off += e[i].bytes;
    }
    len += (size_t)snprintf(h + len, cap - len, "}");
    while (len % 8)
        h[len++] = ' ';
    uint64_t hl = len;
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(hl >> (8 * i));
    int ok = fwrite(le, 1, 8, f) == 8 && fwrite(h, 1, len, f) == len;
    free(h);
    return ok ? 0 : -1;
}

/* Quantize tensor t and write its packed values, scales and biases. */
static int write_quantized(FILE *f, const mlxn_tensor_info *t, int bits, int group)
{
    int64_t rows = t->shape[0], cols = t->shape[1], groups = cols / group;
    mlxn_affine_format af = mlxn_affine_format_default();
    af.bits = bits;
    af.group_size = group;
    af.scale_dtype = t->dtype == MLXN_DTYPE_BF16 ? MLXN_DTYPE_BF16 : MLXN_DTYPE_F16;
    size_t wrow = (size_t)(cols * bits / 8), srow = (size_t)groups * 2;
    uint8_t *w = malloc(wrow * (size_t)rows), *s = malloc(srow * (size_t)rows),
            *b = malloc(srow * (size_t)rows);
    float *x = malloc(sizeof(float) * (size_t)cols);
    int rc = (w && s && b && x) ? 0 : -1;
    for (int64_t r = 0; !rc && r < rows; r++) {
        mlxn_affine_row out = {w + wrow * (size_t)r, s + srow * (size_t)r, b + srow * (size_t)r};
        if (mlxn_quant_row_f32(t, r, cols, x) || mlxn_quantize_row_affine(&af, x, cols, &out))
            rc = -1;
    }
    if (!rc && (fwrite(w, 1, wrow * (size_t)rows, f) != wrow * (size_t)rows ||
                fwrite(s, 1, srow * (size_t)rows, f) != srow * (size_t)rows ||
                fwrite(b, 1, srow * (size_t)rows, f) != srow * (size_t)rows))
        rc = -1;
    free(w);
    free(s);
    free(b);
    free(x);
    return rc;
}

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    if (s) {
        s[n] = 0;
        *len = (size_t)n;
    }
    return s;
}

/* config.json with the quantization settings added before the last '}'. */
static int write_config(const char *in_dir, const char *out_dir, int bits, int group)
{
    char path[4096];
    size_t len;
    snprintf(path, sizeof path, "%s/config.json", in_dir);
    char *s = read_text(path, &len);
    char *end = s ? strrchr(s, '}') : NULL;
    if (!end) {
        free(s);
        return -1;
    }
    snprintf(path, sizeof path, "%s/config.json", out_dir);
    FILE *f = fopen(path, "wb");
    int rc = f ? 0 : -1;
    if (f) {
        fwrite(s, 1, (size_t)(end - s), f);
        fprintf(f, ",\n  \"quantization\": {\"group_size\": %d, \"bits\": %d}\n}\n", group, bits);
        rc = fclose(f) ? -1 : 0;
    }
    free(s);
    return rc;
}

static void copy_file(const char *in_dir, const char *out_dir, const char *name)
{
    char path[4096];
    size_t len;
    snprintf(path, sizeof path, "%s/%s", in_dir, name);
    char *s = read_text(path, &len);
    if (!s)
        return;
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(s, 1, len, f);
        fclose(f);
    }
    free(s);
}

int mlxn_quant_write_mlx(const char *in_dir, const char *out_dir, int bits, int group)
{
    mlxn_model_dir *md;
    if (mlxn_model_dir_open(in_dir, &md) != MLXN_OK) {
        fprintf(stderr, "mlxn quantize: %s\n", mlxn_last_error(NULL));
        return 1;
    }
    if (mlxn_json_get(mlxn_model_dir_config(md), "quantization")) {
        fprintf(stderr, "mlxn quantize: %s is already quantized\n", in_dir);
        mlxn_model_dir_close(md);
        return 1;
    }
    entry *e = NULL;
    int n = plan(md, bits, group, &e);
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", out_dir);
    FILE *f = NULL;
    int rc = n < 0 || (mkdir(out_dir, 0755) && errno != EEXIST) || !(f = fopen(path, "wb")) ||
             write_header(f, e, n);
    for (int i = 0; !rc && i < n; i++) {
        mlxn_tensor_info t;
        rc = mlxn_model_dir_tensor(md, e[i].src, &t) != MLXN_OK;
        if (rc || e[i].kind == QSCALES || e[i].kind == QBIASES)
            continue;
        rc = e[i].kind == COPY ? fwrite(t.data, 1, t.bytes, f) != t.bytes
                               : write_quantized(f, &t, bits, group) != 0;
    }
    if (f && fclose(f))
        rc = 1;
    if (!rc)
        rc = write_config(in_dir, out_dir, bits, group) != 0;
    if (!rc) {
        copy_file(in_dir, out_dir, "tokenizer.json");
        copy_file(in_dir, out_dir, "tokenizer_config.json");
        copy_file(in_dir, out_dir, "generation_config.json");
    } else {
        fprintf(stderr, "mlxn quantize: writing %s failed\n", out_dir);
    }
    free(e);
    mlxn_model_dir_close(md);
    return rc ? 1 : 0;
}
