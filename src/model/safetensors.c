/*
 * safetensors.c: the safetensors reader (huggingface/safetensors format):
 * the u64 header length, the JSON header, and validation of every tensor's
 * dtype, shape, byte size and extent; memory-mapped from a file or read
 * from memory. Tensor names point into the parsed header.
 */
#include "model/model_io.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_HEADER (100u << 20) /* the format's own limit */

struct mlxn_safetensors {
    mlxn__mapping map; /* set when opened from a file */
    const uint8_t *data;
    size_t size;
    mlxn_json_doc *header;
    const mlxn_json *metadata;
    mlxn_tensor_info *tensors;
    int64_t n_tensors;
    mlxn__strmap names;
};

static const struct {
    const char *name;
    int size; /* bytes per element */
    int dtype; /* mlxn dtype, -1 = none */
} st_dtypes[] = {
    {"F32", 4, MLXN_DTYPE_F32},   {"F16", 2, MLXN_DTYPE_F16}, {"BF16", 2, MLXN_DTYPE_BF16},
    {"I32", 4, MLXN_DTYPE_I32},   {"U32", 4, MLXN_DTYPE_U32}, {"I8", 1, MLXN_DTYPE_I8},
    {"U8", 1, MLXN_DTYPE_U8},     {"I64", 8, MLXN_DTYPE_I64}, {"BOOL", 1, -1},
    {"F8_E4M3", 1, -1},           {"F8_E5M2", 1, -1},         {"I16", 2, -1},
    {"U16", 2, -1},               {"F64", 8, -1},             {"U64", 8, -1},
};

static mlxn_status bad(const char *src, const char *name, const char *what)
{
    return mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: tensor '%s': %s", src, name, what);
}

/* Read one header entry into t (offsets relative to the data section). */
static mlxn_status read_entry(const char *src, const mlxn_json *e, size_t data_size,
                              mlxn_tensor_info *t)
{
    const char *name = t->name, *dtype;
    char msg[160];
    if (mlxn_json_kind_of(e) != MLXN_JSON_OBJECT)
        return bad(src, name, "entry is not an object");
    if (mlxn_json_get_string(e, "dtype", &dtype) != MLXN_OK)
        return bad(src, name, "no string \"dtype\"");
    int k = -1;
    for (int i = 0; i < (int)(sizeof st_dtypes / sizeof st_dtypes[0]); i++)
        if (!strcmp(dtype, st_dtypes[i].name))
            k = i;
    if (k < 0) {
        snprintf(msg, sizeof msg, "unknown dtype '%.32s'", dtype);
        return bad(src, name, msg);
    }
    const mlxn_json *shape = mlxn_json_get(e, "shape");
    const mlxn_json *offs = mlxn_json_get(e, "data_offsets");
    if (mlxn_json_kind_of(shape) != MLXN_JSON_ARRAY)
        return bad(src, name, "no \"shape\" array");
    if (mlxn_json_count(shape) > MLXN_FILE_MAX_DIMS) {
        snprintf(msg, sizeof msg, "%lld dimensions (at most %d)",
                 (long long)mlxn_json_count(shape), MLXN_FILE_MAX_DIMS);
        return bad(src, name, msg);
    }
    /* The product of the nonzero dimensions (and its bytes) must fit, so
     * that a zero dimension cannot hide others whose product overflows. */
    int64_t nonzero = 1, elems, begin, end;
    int has_zero = 0;
    t->ndim = (int)mlxn_json_count(shape);
    for (int d = 0; d < t->ndim; d++) {
        int64_t v;
        if (mlxn_json_as_int(mlxn_json_at(shape, d), &v) != MLXN_OK || v < 0)
            return bad(src, name, "shape entries must be non-negative integers");
        has_zero |= v == 0;
        if (mlxn__mul_overflow_i64(nonzero, v ? v : 1, &nonzero))
            return bad(src, name, "the element count overflows");
        t->shape[d] = v;
    }
    elems = has_zero ? 0 : nonzero;
    if (mlxn_json_count(offs) != 2 || mlxn_json_kind_of(offs) != MLXN_JSON_ARRAY ||
        mlxn_json_as_int(mlxn_json_at(offs, 0), &begin) != MLXN_OK ||
        mlxn_json_as_int(mlxn_json_at(offs, 1), &end) != MLXN_OK || begin < 0 || end < begin)
        return bad(src, name, "\"data_offsets\" must be [begin, end] with 0 <= begin <= end");
    int64_t bytes;
    if (mlxn__mul_overflow_i64(nonzero, st_dtypes[k].size, &bytes))
        return bad(src, name, "the byte size overflows");
    if (has_zero)
        bytes = 0;
    if (bytes != end - begin) {
        snprintf(msg, sizeof msg, "%lld elements of %s need %lld bytes, data_offsets give %lld",
                 (long long)elems, dtype, (long long)bytes, (long long)(end - begin));
        return bad(src, name, msg);
    }
    if ((uint64_t)end > data_size) {
        snprintf(msg, sizeof msg, "data_offsets [%lld, %lld] run past the %zu data bytes",
                 (long long)begin, (long long)end, data_size);
        return bad(src, name, msg);
    }
    t->supported = st_dtypes[k].dtype >= 0;
    t->dtype = t->supported ? (mlxn_dtype)st_dtypes[k].dtype : MLXN_DTYPE_U8;
    t->type_name = st_dtypes[k].name;
    t->elems = elems;
    t->bytes = (size_t)bytes;
    t->offset = (size_t)begin;
    return MLXN_OK;
}

static int cmp_offset(const void *a, const void *b, void *ctx)
{
    const mlxn_tensor_info *t = ctx;
    size_t x = t[*(const int64_t *)a].offset, y = t[*(const int64_t *)b].offset;
    return x < y ? -1 : x > y;
}

static mlxn_status check_overlap(const char *src, const mlxn_safetensors *s)
{
    if (s->n_tensors < 2)
        return MLXN_OK;
    int64_t *order = malloc((size_t)s->n_tensors * sizeof *order);
    if (!order)
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "%s: out of memory", src);
    for (int64_t i = 0; i < s->n_tensors; i++)
        order[i] = i;
    qsort_r(order, (size_t)s->n_tensors, sizeof *order, cmp_offset, s->tensors);
    mlxn_status st = MLXN_OK;
    for (int64_t k = 1; k < s->n_tensors && st == MLXN_OK; k++) {
        const mlxn_tensor_info *a = &s->tensors[order[k - 1]], *b = &s->tensors[order[k]];
        if (a->bytes && b->bytes && a->offset + a->bytes > b->offset)
            st = mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", src,
                            a->name, b->name);
    }
    free(order);
    return st;
}

static mlxn_status parse(const char *src, mlxn_safetensors *s)
{
    uint64_t hlen;
    if (s->size < 8)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "%s: %zu bytes is too short for a safetensors file", src, s->size);
    memcpy(&hlen, s->data, 8);
    if (hlen > s->size - 8 || hlen > MAX_HEADER)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "%s: header length %llu does not fit (file %zu bytes, limit %u)", src,
                          (unsigned long long)hlen, s->size, MAX_HEADER);
    if (hlen < 2 || s->data[8] != '{')
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: the header is not a JSON object", src);
    mlxn_status st = mlxn_json_parse((const char *)s->data + 8, (size_t)hlen, &s->header);
    if (st != MLXN_OK)
        return mlxn__fail(NULL, st, "%s: header: %s", src, mlxn_last_error(NULL));
    const mlxn_json *root = mlxn_json_root(s->header);
    int64_t n = mlxn_json_count(root);
    s->tensors = calloc(n ? (size_t)n : 1, sizeof *s->tensors);
    if (!s->tensors || !mlxn__strmap_reserve(&s->names, (size_t)n))
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "%s: out of memory", src);
    size_t data_start = 8 + (size_t)hlen, data_size = s->size - data_start;
    for (int64_t i = 0; i < n; i++) {
        const char *key = mlxn_json_key_at(root, i);
        const mlxn_json *e = mlxn_json_at(root, i);
        if (!strcmp(key, "__metadata__")) {
            if (mlxn_json_kind_of(e) != MLXN_JSON_OBJECT)
                return mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: __metadata__ is not an object",
                                  src);
            s->metadata = e;
            continue;
        }
        mlxn_tensor_info *t = &s->tensors[s->n_tensors];
        t->name = key;
        st = read_entry(src, e, data_size, t);
        if (st != MLXN_OK)
            return st;
        if (mlxn__strmap_put(&s->names, key, strlen(key), s->n_tensors) != s->n_tensors)
            return bad(src, key, "named twice in the header");
        t->offset += data_start;
        t->data = s->data + t->offset;
        s->n_tensors++;
    }
    return check_overlap(src, s);
}

static mlxn_status open_common(const char *path, const uint8_t *data, size_t size,
                               mlxn_safetensors **out)
{
    mlxn_safetensors *s = calloc(1, sizeof *s);
    if (!s)
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "safetensors: out of memory");
    s->data = data;
    s->size = size;
    mlxn_status st = parse(mlxn__src_name(path), s);
    if (st != MLXN_OK) {
        mlxn_safetensors_close(s);
        return st;
    }
    *out = s;
    return MLXN_OK;
}

mlxn_status mlxn_safetensors_open_memory(const void *data, size_t size, mlxn_safetensors **out)
{
    if (!out || (!data && size))
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "safetensors_open_memory: NULL argument");
    *out = NULL;
    return open_common(NULL, data, size, out);
}

mlxn_status mlxn_safetensors_open(const char *path, mlxn_safetensors **out)
{
    if (!path || !out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "safetensors_open: NULL argument");
    *out = NULL;
    mlxn__mapping m;
    mlxn_status st = mlxn__map_file(path, &m);
    if (st != MLXN_OK)
        return st;
    st = open_common(path, m.data, m.size, out);
    if (st != MLXN_OK) {
        mlxn__unmap(&m);
        return st;
    }
    (*out)->map = m;
    return MLXN_OK;
}

void mlxn_safetensors_close(mlxn_safetensors *s)
{
    if (!s)
        return;
    mlxn__unmap(&s->map);
    mlxn_json_free(s->header);
    mlxn__strmap_free(&s->names);
    free(s->tensors);
    free(s);
}

int64_t mlxn_safetensors_tensor_count(const mlxn_safetensors *s) { return s ? s->n_tensors : 0; }

mlxn_status mlxn_safetensors_tensor(const mlxn_safetensors *s, int64_t i, mlxn_tensor_info *out)
{
    if (!s || !out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "safetensors_tensor: NULL argument");
    if (i < 0 || i >= s->n_tensors)
        return mlxn__fail(NULL, MLXN_ERR_NOT_FOUND, "safetensors: no tensor %lld (of %lld)",
                          (long long)i, (long long)s->n_tensors);
    *out = s->tensors[i];
    return MLXN_OK;
}

int64_t mlxn_safetensors_find_tensor(const mlxn_safetensors *s, const char *name)
{
    if (!s || !name)
        return -1;
    return mlxn__strmap_get(&s->names, name, strlen(name));
}

const mlxn_json *mlxn_safetensors_metadata(const mlxn_safetensors *s)
{
    return s ? s->metadata : NULL;
}
