/*
 * gguf_get.c: GGUF getters: file properties, metadata by index and by key
 * with type checks, array elements, and the tensor table.
 */
#include "model/gguf_internal.h"

#include <math.h>

const char *mlxn_gguf_type_name(mlxn_gguf_type type)
{
    static const char *const names[] = {"u8",  "i8",     "u16",   "i16", "u32",
                                        "i32", "f32",    "bool",  "string",
                                        "array", "u64",  "i64",   "f64"};
    return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "?";
}

uint32_t mlxn_gguf_version(const mlxn_gguf *g) { return g ? g->version : 0; }
size_t mlxn_gguf_alignment(const mlxn_gguf *g) { return g ? g->alignment : 0; }
size_t mlxn_gguf_data_offset(const mlxn_gguf *g) { return g ? g->data_offset : 0; }
int64_t mlxn_gguf_kv_count(const mlxn_gguf *g) { return g ? g->n_kv : 0; }

const char *mlxn_gguf_kv_key(const mlxn_gguf *g, int64_t i)
{
    return g && i >= 0 && i < g->n_kv ? g->kvs[i].key : NULL;
}

int mlxn_gguf_kv_type(const mlxn_gguf *g, int64_t i)
{
    return g && i >= 0 && i < g->n_kv ? (int)g->kvs[i].type : -1;
}

int64_t mlxn_gguf_find_key(const mlxn_gguf *g, const char *key)
{
    if (!g || !key)
        return -1;
    return mlxn__strmap_get(&g->kv_map, key, strlen(key));
}

/* The pair under key, or a failure: not found / NULL arguments. */
static mlxn_status lookup(const mlxn_gguf *g, const char *key, const void *out,
                          const gguf_kv **kv)
{
    if (!g || !key || !out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "gguf get: NULL argument");
    int64_t i = mlxn_gguf_find_key(g, key);
    if (i < 0)
        return mlxn__fail(NULL, MLXN_ERR_NOT_FOUND, "gguf: no key '%s'", key);
    *kv = &g->kvs[i];
    return MLXN_OK;
}

static mlxn_status wrong_type(const gguf_kv *kv, const char *want)
{
    return mlxn__fail(NULL, MLXN_ERR_FORMAT, "gguf: key '%s' is %s, not %s", kv->key,
                      mlxn_gguf_type_name((mlxn_gguf_type)kv->type), want);
}

/* Decode a scalar of `type` from its raw bytes as int64 (integers and
 * bool); returns 0 for other types or a u64 above INT64_MAX. */
static int scalar_int(uint32_t type, uint64_t raw, int64_t *out)
{
    switch (type) {
    case MLXN_GGUF_UINT8: *out = (uint8_t)raw; return 1;
    case MLXN_GGUF_INT8: *out = (int8_t)(uint8_t)raw; return 1;
    case MLXN_GGUF_UINT16: *out = (uint16_t)raw; return 1;
    case MLXN_GGUF_INT16: *out = (int16_t)(uint16_t)raw; return 1;
    case MLXN_GGUF_UINT32: *out = (uint32_t)raw; return 1;
    case MLXN_GGUF_INT32: *out = (int32_t)(uint32_t)raw; return 1;
    case MLXN_GGUF_INT64: *out = (int64_t)raw; return 1;
    case MLXN_GGUF_UINT64:
        if (raw > (uint64_t)INT64_MAX)
            return 0;
        *out = (int64_t)raw;
        return 1;
    default: return 0;
    }
}

static int scalar_float(uint32_t type, uint64_t raw, double *out)
{
    if (type == MLXN_GGUF_FLOAT32) {
        float f;
        uint32_t b = (uint32_t)raw;
        memcpy(&f, &b, 4);
        *out = f;
        return 1;
    }
    if (type == MLXN_GGUF_FLOAT64) {
        memcpy(out, &raw, 8);
        return 1;
    }
    return 0;
}

#define GETTER(fn, ctype, gtype, tname)                                        \
    mlxn_status fn(const mlxn_gguf *g, const char *key, ctype *out)            \
    {                                                                          \
        const gguf_kv *kv = NULL;                                                     \
        mlxn_status st = lookup(g, key, out, &kv);                             \
        if (st != MLXN_OK)                                                     \
            return st;                                                         \
        if (kv->type != (gtype))                                               \
            return wrong_type(kv, tname);                                      \
        memcpy(out, &kv->raw, sizeof(ctype));                                  \
        return MLXN_OK;                                                        \
    }

GETTER(mlxn_gguf_get_u32, uint32_t, MLXN_GGUF_UINT32, "u32")
GETTER(mlxn_gguf_get_i32, int32_t, MLXN_GGUF_INT32, "i32")
GETTER(mlxn_gguf_get_u64, uint64_t, MLXN_GGUF_UINT64, "u64")
GETTER(mlxn_gguf_get_f32, float, MLXN_GGUF_FLOAT32, "f32")
#undef GETTER

mlxn_status mlxn_gguf_get_bool(const mlxn_gguf *g, const char *key, int *out)
{
    const gguf_kv *kv = NULL;
    mlxn_status st = lookup(g, key, out, &kv);
    if (st != MLXN_OK)
        return st;
    if (kv->type != MLXN_GGUF_BOOL)
        return wrong_type(kv, "bool");
    *out = (uint8_t)kv->raw != 0;
    return MLXN_OK;
}

mlxn_status mlxn_gguf_get_int(const mlxn_gguf *g, const char *key, int64_t *out)
{
    const gguf_kv *kv = NULL;
    mlxn_status st = lookup(g, key, out, &kv);
    if (st != MLXN_OK)
        return st;
    if (kv->type == MLXN_GGUF_UINT64 && kv->raw > (uint64_t)INT64_MAX)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "gguf: key '%s' = %llu does not fit in int64",
                          key, (unsigned long long)kv->raw);
    if (!scalar_int(kv->type, kv->raw, out))
        return wrong_type(kv, "an integer");
    return MLXN_OK;
}

mlxn_status mlxn_gguf_get_float(const mlxn_gguf *g, const char *key, double *out)
{
    const gguf_kv *kv = NULL;
    mlxn_status st = lookup(g, key, out, &kv);
    if (st != MLXN_OK)
        return st;
    if (!scalar_float(kv->type, kv->raw, out))
        return wrong_type(kv, "f32 or f64");
    return MLXN_OK;
}

mlxn_status mlxn_gguf_get_string(const mlxn_gguf *g, const char *key, const char **out,
                                 size_t *len)
{
    const gguf_kv *kv = NULL;
    mlxn_status st = lookup(g, key, out, &kv);
    if (st != MLXN_OK)
        return st;
    if (kv->type != MLXN_GGUF_STRING)
        return wrong_type(kv, "string");
    *out = kv->str;
    if (len)
        *len = kv->str_len;
    return MLXN_OK;
}

/* ---- arrays -------------------------------------------------------------------- */

static void describe(const mlxn_gguf *g, int64_t id, mlxn_gguf_array *arr,
                     mlxn_gguf_type *elem_type, int64_t *n)
{
    if (arr)
        *arr = id;
    if (elem_type)
        *elem_type = (mlxn_gguf_type)g->arrs[id].type;
    if (n)
        *n = g->arrs[id].n;
}

mlxn_status mlxn_gguf_get_array(const mlxn_gguf *g, const char *key, mlxn_gguf_array *arr,
                                mlxn_gguf_type *elem_type, int64_t *n)
{
    const gguf_kv *kv = NULL;
    mlxn_status st = lookup(g, key, arr, &kv);
    if (st != MLXN_OK)
        return st;
    if (kv->type != MLXN_GGUF_ARRAY)
        return wrong_type(kv, "array");
    describe(g, kv->arr, arr, elem_type, n);
    return MLXN_OK;
}

/* The array record for an element access, or a failure. */
static mlxn_status element(const mlxn_gguf *g, mlxn_gguf_array arr, int64_t i,
                           const void *out, const gguf_arr **a)
{
    if (!g || !out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "gguf array: NULL argument");
    if (arr < 0 || arr >= g->n_arrs)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "gguf: no array handle %lld",
                          (long long)arr);
    *a = &g->arrs[arr];
    if (i < 0 || i >= (*a)->n)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG,
                          "gguf: index %lld is outside the array of %lld elements",
                          (long long)i, (long long)(*a)->n);
    return MLXN_OK;
}

static uint64_t element_raw(const mlxn_gguf *g, const gguf_arr *a, int64_t i)
{
    size_t sz = mlxn__gguf_scalar_size(a->type);
    uint64_t raw = 0;
    memcpy(&raw, g->data + a->offset + (size_t)i * sz, sz);
    return raw;
}

mlxn_status mlxn_gguf_array_int(const mlxn_gguf *g, mlxn_gguf_array arr, int64_t i,
                                int64_t *out)
{
    const gguf_arr *a = NULL;
    mlxn_status st = element(g, arr, i, out, &a);
    if (st != MLXN_OK)
        return st;
    if (!scalar_int(a->type, element_raw(g, a, i), out))
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "gguf: element %lld of a %s array is not an int64 integer",
                          (long long)i, mlxn_gguf_type_name((mlxn_gguf_type)a->type));
    return MLXN_OK;
}

mlxn_status mlxn_gguf_array_float(const mlxn_gguf *g, mlxn_gguf_array arr, int64_t i,
                                  double *out)
{
    const gguf_arr *a = NULL;
    mlxn_status st = element(g, arr, i, out, &a);
    if (st != MLXN_OK)
        return st;
    if (!scalar_float(a->type, element_raw(g, a, i), out))
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "gguf: a %s array has no float elements",
                          mlxn_gguf_type_name((mlxn_gguf_type)a->type));
    return MLXN_OK;
}

mlxn_status mlxn_gguf_array_string(const mlxn_gguf *g, mlxn_gguf_array arr, int64_t i,
                                   const char **str, size_t *len)
{
    const gguf_arr *a = NULL;
    mlxn_status st = element(g, arr, i, str, &a);
    if (st != MLXN_OK)
        return st;
    if (a->type != MLXN_GGUF_STRING)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "gguf: a %s array has no string elements",
                          mlxn_gguf_type_name((mlxn_gguf_type)a->type));
    size_t at = (size_t)g->elems[a->elem_index + i];
    uint64_t n;
    memcpy(&n, g->data + at, 8); /* validated when the file was opened */
    *str = (const char *)g->data + at + 8;
    if (len)
        *len = (size_t)n;
    return MLXN_OK;
}

mlxn_status mlxn_gguf_array_info(const mlxn_gguf *g, mlxn_gguf_array arr,
                                 mlxn_gguf_type *elem_type, int64_t *n)
{
    if (!g || arr < 0 || arr >= g->n_arrs)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "gguf: no array handle %lld",
                          (long long)arr);
    describe(g, arr, NULL, elem_type, n);
    return MLXN_OK;
}

mlxn_status mlxn_gguf_array_array(const mlxn_gguf *g, mlxn_gguf_array arr, int64_t i,
                                  mlxn_gguf_array *sub)
{
    const gguf_arr *a = NULL;
    mlxn_status st = element(g, arr, i, sub, &a);
    if (st != MLXN_OK)
        return st;
    if (a->type != MLXN_GGUF_ARRAY)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "gguf: a %s array has no array elements",
                          mlxn_gguf_type_name((mlxn_gguf_type)a->type));
    *sub = g->elems[a->elem_index + i];
    return MLXN_OK;
}

const void *mlxn_gguf_array_data(const mlxn_gguf *g, mlxn_gguf_array arr)
{
    if (!g || arr < 0 || arr >= g->n_arrs)
        return NULL;
    const gguf_arr *a = &g->arrs[arr];
    if (!mlxn__gguf_scalar_size(a->type))
        return NULL;
    return g->data + a->offset;
}

/* ---- tensors -------------------------------------------------------------------- */

int64_t mlxn_gguf_tensor_count(const mlxn_gguf *g) { return g ? g->n_tensors : 0; }

mlxn_status mlxn_gguf_tensor(const mlxn_gguf *g, int64_t i, mlxn_tensor_info *out)
{
    if (!g || !out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "gguf_tensor: NULL argument");
    if (i < 0 || i >= g->n_tensors)
        return mlxn__fail(NULL, MLXN_ERR_NOT_FOUND, "gguf: no tensor %lld (the file has %lld)",
                          (long long)i, (long long)g->n_tensors);
    *out = g->tensors[i];
    return MLXN_OK;
}

int64_t mlxn_gguf_find_tensor(const mlxn_gguf *g, const char *name)
{
    if (!g || !name)
        return -1;
    return mlxn__strmap_get(&g->tensor_map, name, strlen(name));
}
