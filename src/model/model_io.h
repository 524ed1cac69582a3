/*
 * model_io.h: internal helpers shared by the model file readers: read-only
 * file mappings, a bounds-checked little-endian reader, a string hash map,
 * an arena for small strings and a growable array. No global state.
 */
#ifndef MLXN_MODEL_IO_H
#define MLXN_MODEL_IO_H

#include "core/internal.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- file mappings ---------------------------------------------------------- */

/* A whole file mapped read-only (mmap), or an empty file (data NULL). */
typedef struct mlxn__mapping {
    const uint8_t *data;
    size_t size;
} mlxn__mapping;

/* Map `path` read-only. On failure raises MLXN_ERR_IO naming the path. */
mlxn_status mlxn__map_file(const char *path, mlxn__mapping *out);
void mlxn__unmap(mlxn__mapping *m);

/* Read a whole file into a malloc'd buffer with a NUL byte after the end
 * (so text parsers may stop on it); at most max_bytes. */
mlxn_status mlxn__read_file(const char *path, size_t max_bytes, char **out,
                            size_t *len);

/* ---- bounds-checked reading --------------------------------------------------- */

/* Reads little-endian values from [p, p + size); every read checks the
 * remaining bytes first and fails (returns 0) instead of reading past. */
typedef struct mlxn__reader {
    const uint8_t *p;
    size_t size;
    size_t pos;
} mlxn__reader;

static inline size_t mlxn__rd_left(const mlxn__reader *r)
{
    return r->size - r->pos;
}

static inline int mlxn__rd_bytes(mlxn__reader *r, void *dst, size_t n)
{
    if (mlxn__rd_left(r) < n)
        return 0;
    memcpy(dst, r->p + r->pos, n);
    r->pos += n;
    return 1;
}

static inline int mlxn__rd_skip(mlxn__reader *r, size_t n)
{
    if (mlxn__rd_left(r) < n)
        return 0;
    r->pos += n;
    return 1;
}

/* The library targets little-endian hosts (x86-64, aarch64), like the
 * formats themselves, so a byte copy is the decode. */
static inline int mlxn__rd_u32(mlxn__reader *r, uint32_t *v)
{
    return mlxn__rd_bytes(r, v, 4);
}

static inline int mlxn__rd_u64(mlxn__reader *r, uint64_t *v)
{
    return mlxn__rd_bytes(r, v, 8);
}

/* ---- string hash map ------------------------------------------------------------ */

/* Open addressing map from byte strings to int64 values. Keys are NOT
 * copied: they must outlive the map. */
typedef struct mlxn__strmap {
    struct mlxn__strmap_slot {
        const char *key;
        size_t len;
        int64_t value;
        uint64_t hash;
    } *slots;
    size_t cap; /* power of two, 0 when empty */
    size_t count;
} mlxn__strmap;

uint64_t mlxn__hash_bytes(const void *data, size_t len);
/* Reserve room for n keys; returns 0 when out of memory. */
int mlxn__strmap_reserve(mlxn__strmap *m, size_t n);
/* Insert key -> value unless the key is present. Returns the value now
 * stored (the existing one for a duplicate), or -2 when out of memory. */
int64_t mlxn__strmap_put(mlxn__strmap *m, const char *key, size_t len,
                         int64_t value);
/* The value of key, or -1 when absent. */
int64_t mlxn__strmap_get(const mlxn__strmap *m, const char *key, size_t len);
void mlxn__strmap_free(mlxn__strmap *m);

/* ---- arena -------------------------------------------------------------------- */

/* Chunked bump allocator for many small strings freed together. */
typedef struct mlxn__arena {
    struct mlxn__arena_chunk *head;
    size_t used, cap; /* of the head chunk */
} mlxn__arena;

void *mlxn__arena_alloc(mlxn__arena *a, size_t n);
/* A NUL-terminated copy of n bytes; NULL when out of memory. */
char *mlxn__arena_strndup(mlxn__arena *a, const void *s, size_t n);
void mlxn__arena_free(mlxn__arena *a);

/* ---- growable arrays ------------------------------------------------------------- */

/* Grow *ptr (elements of elem bytes) so that it holds at least `need`
 * elements; *cap tracks the capacity. Returns 0 when out of memory (the
 * old array stays valid). */
int mlxn__grow(void **ptr, size_t *cap, size_t need, size_t elem);

/* ---- checked arithmetic ----------------------------------------------------------- */

static inline int mlxn__mul_overflow_i64(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

static inline int mlxn__add_overflow_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_add_overflow(a, b, out);
}

/* Name for messages about a source: the path, or "<memory>". */
static inline const char *mlxn__src_name(const char *path)
{
    return path ? path : "<memory>";
}

#endif /* MLXN_MODEL_IO_H */
