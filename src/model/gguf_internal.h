/*
 * gguf_internal.h: the GGUF handle shared by gguf.c (parsing) and
 * gguf_get.c (getters), and by the GGUF tokenizer loader.
 */
#ifndef MLXN_GGUF_INTERNAL_H
#define MLXN_GGUF_INTERNAL_H

#include "model/model_io.h"

/* One metadata pair. Scalars keep their little-endian bytes in raw. */
typedef struct gguf_kv {
    const char *key;
    uint32_t type;
    uint64_t raw;    /* scalar value bytes, zero-extended */
    const char *str; /* strings: NUL-terminated copy */
    size_t str_len;
    int64_t arr; /* arrays: index into arrs */
} gguf_kv;

/* One array (top level or nested). Numeric elements lie at `offset` in the
 * file; strings and sub-arrays are listed in elems[elem_index ..]: the file
 * offset of each string's length field, or the index of each sub-array. */
typedef struct gguf_arr {
    uint32_t type;
    int64_t n;
    size_t offset;
    int64_t elem_index;
} gguf_arr;

struct mlxn_gguf {
    mlxn__mapping map; /* set when opened from a file */
    const uint8_t *data;
    size_t size;
    uint32_t version;
    size_t alignment;
    size_t data_offset;
    gguf_kv *kvs;
    int64_t n_kv;
    gguf_arr *arrs;
    int64_t n_arrs;
    size_t arr_cap;
    int64_t *elems;
    int64_t n_elems;
    size_t elem_cap;
    mlxn_tensor_info *tensors;
    int64_t n_tensors;
    mlxn__strmap kv_map, tensor_map;
    mlxn__arena arena;
};

size_t mlxn__gguf_scalar_size(uint32_t type);

#endif /* MLXN_GGUF_INTERNAL_H */
