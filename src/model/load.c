/*
 * load.c: mlxn_model_load and the helpers the format loaders share:
 * picking the loader by what the path is, and copying tensors from a file
 * mapping into device buffers (whole, as row ranges of a fused weight, or
 * converted to f32 for norms and biases).
 */
#include "model/load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static float half_to_f32(uint16_t h, int bf16)
{
    uint32_t u;
    if (bf16) {
        u = (uint32_t)h << 16;
    } else {
        uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 31u, man = h & 1023u;
        if (exp == 31)
            u = sign | 0x7f800000u | (man << 13);
        else if (exp == 0) {
            float f = (float)man * (1.0f / 16777216.0f);
            return sign ? -f : f;
        } else
            u = sign | ((exp + 112u) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

mlxn_status mlxn__load_check(const mlxn_tensor_info *t, int64_t rows, int64_t cols)
{
    if (!t->supported)
        return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED, "tensor %s: type %s is not supported",
                          t->name, t->type_name);
    int64_t need = mlxn_dtype_bytes(t->dtype, rows * cols);
    if (t->elems != rows * cols || need < 0 || (size_t)need != t->bytes)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "tensor %s: %lld elements (%zu bytes) where (%lld, %lld) %s were expected",
                          t->name, (long long)t->elems, t->bytes, (long long)rows,
                          (long long)cols, mlxn_dtype_name(t->dtype));
    return MLXN_OK;
}

mlxn_status mlxn__load_matrix(mlxn_loader *ld, const mlxn_tensor_info *t, int64_t rows,
                              int64_t cols, mlxn_buffer **out)
{
    mlxn_status st = mlxn__load_check(t, rows, cols);
    if (st != MLXN_OK)
        return st;
    int64_t shape[2] = {rows, cols};
    st = mlxn__model_buffer(ld->m, t->dtype, 2, shape, out);
    if (st == MLXN_OK)
        st = mlxn_buffer_write(*out, 0, t->data, t->bytes);
    mlxn__load_progress(ld, t->bytes);
    return st;
}

mlxn_status mlxn__load_rows_into(mlxn_loader *ld, const mlxn_tensor_info *t, mlxn_buffer *dst,
                                 int64_t row0, int64_t rows, int64_t cols)
{
    mlxn_status st = mlxn__load_check(t, rows, cols);
    if (st != MLXN_OK)
        return st;
    if (t->dtype != mlxn_buffer_dtype(dst))
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "tensor %s: dtype %s differs from %s",
                          t->name, mlxn_dtype_name(t->dtype),
                          mlxn_dtype_name(mlxn_buffer_dtype(dst)));
    size_t row_bytes = (size_t)mlxn_dtype_bytes(t->dtype, cols);
    st = mlxn_buffer_write(dst, (size_t)row0 * row_bytes, t->data, t->bytes);
    mlxn__load_progress(ld, t->bytes);
    return st;
}

mlxn_status mlxn__load_f32(mlxn_loader *ld, const mlxn_tensor_info *t, int64_t n,
                           mlxn_buffer *dst, int64_t offset)
{
    if (!t->supported || t->elems != n ||
        (t->dtype != MLXN_DTYPE_F32 && t->dtype != MLXN_DTYPE_F16 &&
         t->dtype != MLXN_DTYPE_BF16))
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "tensor %s: expected %lld f32/f16/bf16 values, found %lld %s", t->name,
                          (long long)n, (long long)t->elems, t->type_name);
    float *f = malloc(sizeof *f * (size_t)n);
    if (!f)
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "loading %s: out of memory", t->name);
    for (int64_t i = 0; i < n; i++) {
        if (t->dtype == MLXN_DTYPE_F32) {
            memcpy(&f[i], (const char *)t->data + 4 * i, 4);
        } else {
            uint16_t h;
            memcpy(&h, (const char *)t->data + 2 * i, 2);
            f[i] = half_to_f32(h, t->dtype == MLXN_DTYPE_BF16);
        }
    }
    mlxn_status st = mlxn_buffer_write(dst, (size_t)offset * 4, f, sizeof *f * (size_t)n);
    free(f);
    mlxn__load_progress(ld, t->bytes);
    return st;
}

mlxn_status mlxn__load_vector(mlxn_loader *ld, const mlxn_tensor_info *t, int64_t n,
                              mlxn_buffer **out)
{
    int64_t shape[1] = {n};
    mlxn_status st = mlxn__model_buffer(ld->m, MLXN_DTYPE_F32, 1, shape, out);
    return st != MLXN_OK ? st : mlxn__load_f32(ld, t, n, *out, 0);
}

void mlxn__load_progress(mlxn_loader *ld, size_t bytes)
{
    ld->done += bytes;
    const mlxn_model_params *p = &ld->m->params;
    if (p->progress && ld->total)
        p->progress((float)((double)ld->done / (double)ld->total), p->progress_arg);
}

static int is_gguf(const char *path)
{
    char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(magic, 1, 4, f);
    fclose(f);
    return n == 4 && !memcmp(magic, "GGUF", 4);
}

mlxn_status mlxn_model_load(const char *path, const mlxn_model_params *p, mlxn_model **out)
{
    if (!path || !p || !out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "model_load: NULL argument");
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return mlxn__fail(NULL, MLXN_ERR_IO, "model_load: cannot open '%s'", path);
    mlxn_model *m = calloc(1, sizeof *m);
    if (!m)
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "model_load: out of memory");
    mlxn_loader ld;
    memset(&ld, 0, sizeof ld);
    ld.m = m;
    ld.params = p;
    mlxn_status st;
    if (S_ISDIR(sb.st_mode))
        st = mlxn__load_hf(&ld, path);
    else if (is_gguf(path))
        st = mlxn__load_gguf(&ld, path);
    else
        st = mlxn__load_llama2c(&ld, path);
    if (st == MLXN_OK)
        st = mlxn__model_finish(m);
    if (st != MLXN_OK) {
        /* Keep the loader's message: teardown may overwrite the thread's. */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", mlxn_last_error(NULL));
        mlxn_model_destroy(m);
        return mlxn__fail(NULL, st, "%s", msg);
    }
    if (p->progress)
        p->progress(1.0f, p->progress_arg);
    *out = m;
    return MLXN_OK;
}
