/*
 * gguf.c: the GGUF reader (versions 2 and 3): opening from a file (mmap) or
 * memory, parsing and validating the header, metadata and tensor table.
 * The typed getters are in gguf_get.c. Layout reference: ggml's
 * docs/gguf.md. Every read is bounds-checked against the mapping; every
 * count is checked against the bytes left before it sizes an allocation.
 */
#include "model/gguf_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define GGUF_MAX_DEPTH 32 /* nesting of arrays in metadata */

/* ggml tensor types: name, block elements, block bytes, mlxn dtype (-1 =
 * none). Ids without a row are unknown (removed from ggml or never used). */
static const struct {
    const char *name;
    int64_t block_elems, block_bytes;
    int dtype;
} ggml_types[] = {
    [0] = {"f32", 1, 4, MLXN_DTYPE_F32},
    [1] = {"f16", 1, 2, MLXN_DTYPE_F16},
    [2] = {"q4_0", 32, 18, MLXN_DTYPE_Q4_0},
    [3] = {"q4_1", 32, 20, MLXN_DTYPE_Q4_1},
    [6] = {"q5_0", 32, 22, MLXN_DTYPE_Q5_0},
    [7] = {"q5_1", 32, 24, MLXN_DTYPE_Q5_1},
    [8] = {"q8_0", 32, 34, MLXN_DTYPE_Q8_0},
    [9] = {"q8_1", 32, 36, -1},
    [10] = {"q2_K", 256, 84, MLXN_DTYPE_Q2_K},
    [11] = {"q3_K", 256, 110, MLXN_DTYPE_Q3_K},
    [12] = {"q4_K", 256, 144, MLXN_DTYPE_Q4_K},
    [13] = {"q5_K", 256, 176, MLXN_DTYPE_Q5_K},
    [14] = {"q6_K", 256, 210, MLXN_DTYPE_Q6_K},
    [15] = {"q8_K", 256, 292, -1},
    [16] = {"iq2_xxs", 256, 66, -1},
    [17] = {"iq2_xs", 256, 74, -1},
    [18] = {"iq3_xxs", 256, 98, -1},
    [19] = {"iq1_s", 256, 50, -1},
    [20] = {"iq4_nl", 32, 18, -1},
    [21] = {"iq3_s", 256, 110, -1},
    [22] = {"iq2_s", 256, 82, -1},
    [23] = {"iq4_xs", 256, 136, -1},
    [24] = {"i8", 1, 1, MLXN_DTYPE_I8},
    [25] = {"i16", 1, 2, -1},
    [26] = {"i32", 1, 4, MLXN_DTYPE_I32},
    [27] = {"i64", 1, 8, MLXN_DTYPE_I64},
    [28] = {"f64", 1, 8, -1},
    [29] = {"iq1_m", 256, 56, -1},
    [30] = {"bf16", 1, 2, MLXN_DTYPE_BF16},
    [34] = {"tq1_0", 256, 54, -1},
    [35] = {"tq2_0", 256, 66, -1},
    [39] = {"mxfp4", 32, 17, -1},
};
#define N_GGML_TYPES ((uint32_t)(sizeof ggml_types / sizeof ggml_types[0]))

const char *mlxn_ggml_type_name(uint32_t t)
{
    return t < N_GGML_TYPES ? ggml_types[t].name : NULL;
}

/* Bytes of one scalar value of a metadata type; 0 for string and array. */
size_t mlxn__gguf_scalar_size(uint32_t type)
{
    static const uint8_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return type < sizeof sizes ? sizes[type] : 0;
}

static int type_valid(uint32_t type) { return type <= MLXN_GGUF_FLOAT64; }

/* ---- parse context ------------------------------------------------------------ */

typedef struct parser {
    mlxn_gguf *g;
    mlxn__reader r;
    const char *src;
    const char *key; /* the key being parsed, for messages */
    int64_t *stack;  /* elements of the arrays being read */
    size_t n_stack, stack_cap;
} parser;

static mlxn_status truncated(parser *ps, const char *what)
{
    return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                      "%s: truncated GGUF: %s%s%s%s at offset %zu needs more than the %zu "
                      "bytes left",
                      ps->src, what, ps->key ? " of key '" : "", ps->key ? ps->key : "",
                      ps->key ? "'" : "", ps->r.pos, mlxn__rd_left(&ps->r));
}

static mlxn_status oom(parser *ps)
{
    return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "%s: out of memory reading GGUF",
                      ps->src);
}

/* Read a GGUF string (u64 length, bytes) and return its position. */
static mlxn_status read_string(parser *ps, const char *what, size_t *at, size_t *len)
{
    uint64_t n;
    size_t start = ps->r.pos;
    if (!mlxn__rd_u64(&ps->r, &n))
        return truncated(ps, what);
    if (n > mlxn__rd_left(&ps->r)) {
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "%s: %s%s%s%s at offset %zu has length %llu but only %zu bytes are "
                          "left",
                          ps->src, what, ps->key ? " of key '" : "",
                          ps->key ? ps->key : "", ps->key ? "'" : "", start,
                          (unsigned long long)n, mlxn__rd_left(&ps->r));
    }
    *at = ps->r.pos;
    *len = (size_t)n;
    ps->r.pos += (size_t)n;
    return MLXN_OK;
}

static mlxn_status new_array(parser *ps, uint32_t type, int64_t n, int64_t *id)
{
    mlxn_gguf *g = ps->g;
    if (!mlxn__grow((void **)&g->arrs, &g->arr_cap, (size_t)g->n_arrs + 1,
                    sizeof *g->arrs))
        return oom(ps);
    gguf_arr *a = &g->arrs[g->n_arrs];
    a->type = type;
    a->n = n;
    a->offset = ps->r.pos;
    a->elem_index = -1;
    *id = g->n_arrs++;
    return MLXN_OK;
}

/* Remember one element of a string or array array (its file offset or
 * sub-array id) on the parser's stack; the stack only grows with elements
 * actually read, so a bogus count cannot make it large. */
static mlxn_status push_elem(parser *ps, int64_t v)
{
    if (!mlxn__grow((void **)&ps->stack, &ps->stack_cap, ps->n_stack + 1, sizeof *ps->stack))
        return oom(ps);
    ps->stack[ps->n_stack++] = v;
    return MLXN_OK;
}

/* Move the elements pushed since `mark` into the handle's element list. */
static mlxn_status close_array(parser *ps, int64_t id, size_t mark)
{
    mlxn_gguf *g = ps->g;
    size_t n = ps->n_stack - mark;
    if (!mlxn__grow((void **)&g->elems, &g->elem_cap, (size_t)g->n_elems + n, sizeof *g->elems))
        return oom(ps);
    if (n)
        memcpy(g->elems + g->n_elems, ps->stack + mark, n * sizeof *g->elems);
    g->arrs[id].elem_index = g->n_elems;
    g->n_elems += (int64_t)n;
    ps->n_stack = mark;
    return MLXN_OK;
}

static mlxn_status parse_array(parser *ps, int depth, int64_t *id);

/* A value of `type` at the cursor; scalars and strings are stored in kv
 * (when not NULL), arrays become array records. */
static mlxn_status parse_value(parser *ps, uint32_t type, int depth, gguf_kv *kv)
{
    size_t sz = mlxn__gguf_scalar_size(type);
    if (sz) {
        uint8_t buf[8] = {0};
        if (!mlxn__rd_bytes(&ps->r, buf, sz))
            return truncated(ps, "value");
        if (kv)
            memcpy(&kv->raw, buf, 8);
        return MLXN_OK;
    }
    if (type == MLXN_GGUF_STRING) {
        size_t at, len;
        mlxn_status st = read_string(ps, "string value", &at, &len);
        if (st != MLXN_OK || !kv)
            return st;
        kv->str = mlxn__arena_strndup(&ps->g->arena, ps->r.p + at, len);
        kv->str_len = len;
        return kv->str ? MLXN_OK : oom(ps);
    }
    int64_t id;
    mlxn_status st = parse_array(ps, depth, &id);
    if (st == MLXN_OK && kv)
        kv->arr = id;
    return st;
}

static mlxn_status parse_array(parser *ps, int depth, int64_t *id)
{
    if (depth > GGUF_MAX_DEPTH)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "%s: key '%s': arrays nested more than %d deep at offset %zu",
                          ps->src, ps->key, GGUF_MAX_DEPTH, ps->r.pos);
    uint32_t et;
    uint64_t n;
    size_t start = ps->r.pos;
    if (!mlxn__rd_u32(&ps->r, &et) || !mlxn__rd_u64(&ps->r, &n))
        return truncated(ps, "array header");
    if (!type_valid(et))
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "%s: key '%s': array at offset %zu has unknown element type %u",
                          ps->src, ps->key, start, et);
    size_t sz = mlxn__gguf_scalar_size(et);
    size_t min = sz ? sz : et == MLXN_GGUF_STRING ? 8 : 12;
    if (n > mlxn__rd_left(&ps->r) / min)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "%s: key '%s': array at offset %zu claims %llu elements of type %s "
                          "but only %zu bytes are left",
                          ps->src, ps->key, start, (unsigned long long)n,
                          mlxn_gguf_type_name((mlxn_gguf_type)et), mlxn__rd_left(&ps->r));
    mlxn_status st = new_array(ps, et, (int64_t)n, id);
    if (st != MLXN_OK)
        return st;
    if (sz) {
        ps->r.pos += (size_t)n * sz;
        return MLXN_OK;
    }
    size_t mark = ps->n_stack;
    for (uint64_t i = 0; i < n; i++) {
        int64_t v = (int64_t)ps->r.pos;
        if (et == MLXN_GGUF_STRING) {
            size_t at, len;
            st = read_string(ps, "array string", &at, &len);
        } else {
            st = parse_array(ps, depth + 1, &v);
        }
        if (st == MLXN_OK)
            st = push_elem(ps, v);
        if (st != MLXN_OK)
            return st;
    }
    return close_array(ps, *id, mark);
}

/* ---- header and metadata ------------------------------------------------------- */

static mlxn_status parse_header(parser *ps, uint64_t *n_tensors, uint64_t *n_kv)
{
    uint8_t magic[4];
    uint32_t version;
    if (!mlxn__rd_bytes(&ps->r, magic, 4))
        return truncated(ps, "magic");
    if (memcmp(magic, "GGUF", 4))
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "%s: not a GGUF file (magic %02x %02x %02x %02x, expected \"GGUF\")",
                          ps->src, magic[0], magic[1], magic[2], magic[3]);
    if (!mlxn__rd_u32(&ps->r, &version))
        return truncated(ps, "version");
    if (version == 1)
        return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED,
                          "%s: GGUF version 1 is not supported (only 2 and 3)", ps->src);
    if (version != 2 && version != 3) {
        if ((version & 0xffff) == 0)
            return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED,
                              "%s: big-endian GGUF (version field 0x%08x) is not supported",
                              ps->src, version);
        return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED,
                          "%s: GGUF version %u is not supported (only 2 and 3)", ps->src,
                          version);
    }
    ps->g->version = version;
    if (!mlxn__rd_u64(&ps->r, n_tensors))
        return truncated(ps, "tensor count");
    if (!mlxn__rd_u64(&ps->r, n_kv))
        return truncated(ps, "metadata count");
    /* A key-value pair takes at least 13 bytes (key length, type, one
     * byte of value); a tensor info at least 24 (name length, n_dims,
     * type, offset). */
    if (*n_kv > mlxn__rd_left(&ps->r) / 13)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "%s: metadata count %llu cannot fit in the %zu bytes left",
                          ps->src, (unsigned long long)*n_kv, mlxn__rd_left(&ps->r));
    if (*n_tensors > mlxn__rd_left(&ps->r) / 24)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "%s: tensor count %llu cannot fit in the %zu bytes left", ps->src,
                          (unsigned long long)*n_tensors, mlxn__rd_left(&ps->r));
    return MLXN_OK;
}

static mlxn_status parse_kvs(parser *ps, int64_t n_kv)
{
    mlxn_gguf *g = ps->g;
    size_t cap = 0;
    for (int64_t i = 0; i < n_kv; i++) {
        /* Grown as pairs are read, so a bogus count allocates nothing. */
        if (!mlxn__grow((void **)&g->kvs, &cap, (size_t)i + 1, sizeof *g->kvs))
            return oom(ps);
        gguf_kv *kv = &g->kvs[i];
        memset(kv, 0, sizeof *kv);
        size_t key_at = ps->r.pos, at, len;
        ps->key = NULL;
        mlxn_status st = read_string(ps, "key", &at, &len);
        if (st != MLXN_OK)
            return st;
        if (memchr(ps->r.p + at, 0, len))
            return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                              "%s: key at offset %zu contains a NUL byte", ps->src, key_at);
        kv->key = mlxn__arena_strndup(&g->arena, ps->r.p + at, len);
        if (!kv->key)
            return oom(ps);
        ps->key = kv->key;
        int64_t prev = mlxn__strmap_put(&g->kv_map, kv->key, len, i);
        if (prev == -2)
            return oom(ps);
        if (prev != i)
            return mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: duplicate key '%s' at offset %zu",
                              ps->src, kv->key, key_at);
        size_t type_at = ps->r.pos;
        if (!mlxn__rd_u32(&ps->r, &kv->type))
            return truncated(ps, "value type");
        if (!type_valid(kv->type))
            return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                              "%s: key '%s': unknown value type %u at offset %zu", ps->src,
                              kv->key, kv->type, type_at);
        kv->arr = -1;
        st = parse_value(ps, kv->type, 0, kv);
        if (st != MLXN_OK)
            return st;
        g->n_kv = i + 1;
    }
    ps->key = NULL;
    return MLXN_OK;
}

static mlxn_status read_alignment(parser *ps)
{
    mlxn_gguf *g = ps->g;
    g->alignment = 32;
    int64_t i = mlxn_gguf_find_key(g, "general.alignment");
    if (i < 0)
        return MLXN_OK;
    const gguf_kv *kv = &g->kvs[i];
    if (kv->type != MLXN_GGUF_UINT32)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "%s: general.alignment must be a u32, not %s", ps->src,
                          mlxn_gguf_type_name((mlxn_gguf_type)kv->type));
    uint32_t a = (uint32_t)kv->raw;
    if (a == 0 || (a & (a - 1)))
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "%s: general.alignment %u is not a power of two", ps->src, a);
    g->alignment = a;
    return MLXN_OK;
}

/* ---- tensor table ----------------------------------------------------------------- */

static mlxn_status tensor_fail(parser *ps, const char *name, size_t at, const char *fmt,
                               ...) __attribute__((format(printf, 4, 5)));

static mlxn_status tensor_fail(parser *ps, const char *name, size_t at, const char *fmt, ...)
{
    char what[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: tensor '%s' (info at offset %zu): %s",
                      ps->src, name, at, what);
}

static mlxn_status parse_tensor_info(parser *ps, int64_t i)
{
    mlxn_gguf *g = ps->g;
    mlxn_tensor_info *t = &g->tensors[i];
    size_t info_at = ps->r.pos, at, len;
    mlxn_status st = read_string(ps, "tensor name", &at, &len);
    if (st != MLXN_OK)
        return st;
    if (memchr(ps->r.p + at, 0, len))
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "%s: tensor name at offset %zu contains a NUL byte", ps->src,
                          info_at);
    t->name = mlxn__arena_strndup(&g->arena, ps->r.p + at, len);
    if (!t->name)
        return oom(ps);
    int64_t prev = mlxn__strmap_put(&g->tensor_map, t->name, len, i);
    if (prev == -2)
        return oom(ps);
    if (prev != i)
        return tensor_fail(ps, t->name, info_at, "duplicate tensor name");
    uint32_t n_dims, type;
    if (!mlxn__rd_u32(&ps->r, &n_dims))
        return truncated(ps, "tensor dimension count");
    if (n_dims > 4)
        return tensor_fail(ps, t->name, info_at, "%u dimensions (at most 4)", n_dims);
    /* The product of the nonzero dimensions must fit, so that a zero
     * dimension cannot hide others whose product (a row count, a row's
     * bytes) would overflow. */
    uint64_t ne[4];
    int64_t nonzero = 1, elems;
    int has_zero = 0;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (!mlxn__rd_u64(&ps->r, &ne[d]))
            return truncated(ps, "tensor dimensions");
        has_zero |= ne[d] == 0;
        if (ne[d] > (uint64_t)INT64_MAX ||
            mlxn__mul_overflow_i64(nonzero, ne[d] ? (int64_t)ne[d] : 1, &nonzero))
            return tensor_fail(ps, t->name, info_at,
                               "dimension %u (= %llu) makes the element count overflow",
                               d, (unsigned long long)ne[d]);
    }
    elems = has_zero ? 0 : nonzero;
    uint64_t offset;
    if (!mlxn__rd_u32(&ps->r, &type) || !mlxn__rd_u64(&ps->r, &offset))
        return truncated(ps, "tensor type and offset");
    if (type >= N_GGML_TYPES || !ggml_types[type].name)
        return tensor_fail(ps, t->name, info_at, "unknown ggml type %u", type);
    int64_t be = ggml_types[type].block_elems, bb = ggml_types[type].block_bytes;
    if (n_dims > 0 && ne[0] % (uint64_t)be)
        return tensor_fail(ps, t->name, info_at,
                           "row length %llu is not a multiple of the block size %lld",
                           (unsigned long long)ne[0], (long long)be);
    int64_t bytes;
    if (mlxn__mul_overflow_i64(nonzero / be, bb, &bytes))
        return tensor_fail(ps, t->name, info_at, "byte size overflows (%lld elements)",
                           (long long)nonzero);
    if (has_zero)
        bytes = 0;
    t->ggml_type = type;
    t->type_name = ggml_types[type].name;
    t->supported = ggml_types[type].dtype >= 0;
    t->dtype = t->supported ? (mlxn_dtype)ggml_types[type].dtype : MLXN_DTYPE_U8;
    t->ndim = (int)n_dims;
    for (uint32_t d = 0; d < n_dims; d++)
        t->shape[d] = (int64_t)ne[n_dims - 1 - d];
    t->elems = elems;
    t->bytes = (size_t)bytes;
    t->offset = (size_t)(offset > SIZE_MAX ? SIZE_MAX : offset); /* relative for now */
    if (offset % g->alignment)
        return tensor_fail(ps, t->name, info_at,
                           "data offset %llu is not a multiple of the alignment %zu",
                           (unsigned long long)offset, g->alignment);
    return MLXN_OK;
}

static int cmp_offset(const void *a, const void *b, void *ctx)
{
    const mlxn_tensor_info *t = ctx;
    size_t x = t[*(const int64_t *)a].offset, y = t[*(const int64_t *)b].offset;
    return x < y ? -1 : x > y;
}

/* Every tensor inside the file, none overlapping another. */
static mlxn_status check_extents(parser *ps)
{
    mlxn_gguf *g = ps->g;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        mlxn_tensor_info *t = &g->tensors[i];
        uint64_t start, end;
        if (mlxn__add_overflow_u64(g->data_offset, t->offset, &start) ||
            mlxn__add_overflow_u64(start, t->bytes, &end) || end > g->size)
            return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                              "%s: tensor '%s' (data offset %zu, %zu bytes) extends past the "
                              "end of the file (%zu bytes, data section at %zu)",
                              ps->src, t->name, t->offset, t->bytes, g->size, g->data_offset);
        t->offset = (size_t)start;
        t->data = g->data + start;
    }
    if (g->n_tensors < 2)
        return MLXN_OK;
    int64_t *order = malloc((size_t)g->n_tensors * sizeof *order);
    if (!order)
        return oom(ps);
    for (int64_t i = 0; i < g->n_tensors; i++)
        order[i] = i;
    qsort_r(order, (size_t)g->n_tensors, sizeof *order, cmp_offset, g->tensors);
    mlxn_status st = MLXN_OK;
    for (int64_t k = 1; k < g->n_tensors && st == MLXN_OK; k++) {
        const mlxn_tensor_info *a = &g->tensors[order[k - 1]], *b = &g->tensors[order[k]];
        if (a->bytes && b->bytes && a->offset + a->bytes > b->offset)
            st = mlxn__fail(NULL, MLXN_ERR_FORMAT,
                            "%s: tensors '%s' (file offset %zu, %zu bytes) and '%s' (file "
                            "offset %zu) overlap",
                            ps->src, a->name, a->offset, a->bytes, b->name, b->offset);
    }
    free(order);
    return st;
}

static mlxn_status parse(parser *ps)
{
    uint64_t n_tensors = 0, n_kv = 0;
    mlxn_status st = parse_header(ps, &n_tensors, &n_kv);
    if (st == MLXN_OK)
        st = parse_kvs(ps, (int64_t)n_kv);
    if (st == MLXN_OK)
        st = read_alignment(ps);
    if (st != MLXN_OK)
        return st;
    mlxn_gguf *g = ps->g;
    size_t cap = 0;
    for (uint64_t i = 0; i < n_tensors; i++) {
        if (!mlxn__grow((void **)&g->tensors, &cap, (size_t)i + 1, sizeof *g->tensors))
            return oom(ps);
        memset(&g->tensors[i], 0, sizeof g->tensors[i]);
        st = parse_tensor_info(ps, (int64_t)i);
        if (st != MLXN_OK)
            return st;
        g->n_tensors = (int64_t)i + 1;
    }
    size_t pad = (g->alignment - ps->r.pos % g->alignment) % g->alignment;
    g->data_offset = ps->r.pos + pad;
    return check_extents(ps);
}

/* ---- open and close ---------------------------------------------------------------- */

static mlxn_status open_common(const char *path, const uint8_t *data, size_t size,
                               mlxn_gguf **out)
{
    mlxn_gguf *g = calloc(1, sizeof *g);
    if (!g)
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "gguf: out of memory");
    g->data = data;
    g->size = size;
    parser ps = {.g = g, .r = {data, size, 0}, .src = mlxn__src_name(path)};
    mlxn_status st = parse(&ps);
    free(ps.stack);
    if (st != MLXN_OK) {
        mlxn_gguf_close(g);
        return st;
    }
    *out = g;
    return MLXN_OK;
}

mlxn_status mlxn_gguf_open_memory(const void *data, size_t size, mlxn_gguf **out)
{
    if (!out || (!data && size))
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "gguf_open_memory: NULL argument");
    *out = NULL;
    return open_common(NULL, data, size, out);
}

mlxn_status mlxn_gguf_open(const char *path, mlxn_gguf **out)
{
    if (!path || !out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "gguf_open: NULL argument");
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

void mlxn_gguf_close(mlxn_gguf *g)
{
    if (!g)
        return;
    mlxn__unmap(&g->map);
    mlxn__arena_free(&g->arena);
    mlxn__strmap_free(&g->kv_map);
    mlxn__strmap_free(&g->tensor_map);
    free(g->kvs);
    free(g->arrs);
    free(g->elems);
    free(g->tensors);
    free(g);
}
