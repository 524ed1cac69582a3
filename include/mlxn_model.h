/*
 * mlxn_model.h: model files, tokenizers and models (included by mlxn.h):
 * GGUF and safetensors readers, tokenizers, samplers and the forward pass.
 */
#ifndef MLXN_MODEL_H
#define MLXN_MODEL_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- GGUF --------------------------------------------------------------- */

/*
 * Tensors read from a model file (GGUF, safetensors, llama2.c). Shapes are
 * OUTERMOST FIRST, like mlxn buffers: a GGUF tensor with ggml ne = {64, 512}
 * (ne[0] is the contiguous dimension) is reported as shape {512, 64}. The
 * strings and the data pointer belong to the file handle and stay valid
 * until it is closed.
 */
#define MLXN_FILE_MAX_DIMS 8

typedef struct mlxn_tensor_info {
    const char *name;
    /* 1 when the file's element type has an mlxn dtype; the file still
     * opens with other types, and such tensors report 0 here. */
    int supported;
    mlxn_dtype dtype;      /* valid when supported */
    const char *type_name; /* the file's own name: "q4_K", "F8_E4M3" */
    uint32_t ggml_type;    /* GGUF: the ggml type id; otherwise 0 */
    int ndim;
    int64_t shape[MLXN_FILE_MAX_DIMS]; /* outermost first */
    int64_t elems;                     /* product of the shape */
    size_t bytes;                      /* bytes of data */
    size_t offset;                     /* of the first byte in its file */
    const void *data;                  /* host address in the mapping */
    int shard;                         /* safetensors directories: file index */
} mlxn_tensor_info;

/*
 * A GGUF file (versions 2 and 3), memory-mapped read-only. Opening reads and
 * validates everything before the tensor data: the header, every metadata
 * value (all scalar types, strings, arrays and nested arrays),
 * general.alignment (default 32; a power of two), and every tensor's name,
 * type, dimensions, byte size, alignment and extent (inside the file, no
 * two overlapping). A malformed or truncated file fails with
 * MLXN_ERR_FORMAT and a message naming the key, tensor and file offset;
 * counts and lengths are checked against the bytes left before anything is
 * allocated for them. Tensor types that ggml knows but mlxn does not
 * (IQ*, Q8_K, F64, ...) still open, reported as unsupported; unknown type
 * ids are malformed.
 */
typedef struct mlxn_gguf mlxn_gguf;

/* Metadata value types, numbered as in the file. */
typedef enum mlxn_gguf_type {
    MLXN_GGUF_UINT8 = 0,
    MLXN_GGUF_INT8 = 1,
    MLXN_GGUF_UINT16 = 2,
    MLXN_GGUF_INT16 = 3,
    MLXN_GGUF_UINT32 = 4,
    MLXN_GGUF_INT32 = 5,
    MLXN_GGUF_FLOAT32 = 6,
    MLXN_GGUF_BOOL = 7,
    MLXN_GGUF_STRING = 8,
    MLXN_GGUF_ARRAY = 9,
    MLXN_GGUF_UINT64 = 10,
    MLXN_GGUF_INT64 = 11,
    MLXN_GGUF_FLOAT64 = 12
} mlxn_gguf_type;

/* "u32", "string", ...; "?" out of range. */
const char *mlxn_gguf_type_name(mlxn_gguf_type type);
/* ggml's name of a tensor type id ("q4_K"), or NULL for unknown ids. */
const char *mlxn_ggml_type_name(uint32_t ggml_type);

mlxn_status mlxn_gguf_open(const char *path, mlxn_gguf **out);
/* The same from memory: `data` is not copied and must outlive the handle. */
mlxn_status mlxn_gguf_open_memory(const void *data, size_t size,
                                  mlxn_gguf **out);
/* Unmaps the file; NULL is a no-op. */
void mlxn_gguf_close(mlxn_gguf *gguf);

uint32_t mlxn_gguf_version(const mlxn_gguf *gguf);
size_t mlxn_gguf_alignment(const mlxn_gguf *gguf);
/* File offset where tensor data starts (tensor offsets are relative to it). */
size_t mlxn_gguf_data_offset(const mlxn_gguf *gguf);

/* Metadata by index (file order), 0 <= i < mlxn_gguf_kv_count. The key
 * and type getters return NULL / -1 for an index out of range. */
int64_t mlxn_gguf_kv_count(const mlxn_gguf *gguf);
const char *mlxn_gguf_kv_key(const mlxn_gguf *gguf, int64_t i);
int mlxn_gguf_kv_type(const mlxn_gguf *gguf, int64_t i);
/* Index of a key, or -1. */
int64_t mlxn_gguf_find_key(const mlxn_gguf *gguf, const char *key);

/* Typed getters by key. MLXN_ERR_NOT_FOUND when the key is absent,
 * MLXN_ERR_FORMAT (naming the stored type) when it has another type. */
mlxn_status mlxn_gguf_get_u32(const mlxn_gguf *gguf, const char *key,
                              uint32_t *out);
mlxn_status mlxn_gguf_get_i32(const mlxn_gguf *gguf, const char *key,
                              int32_t *out);
mlxn_status mlxn_gguf_get_u64(const mlxn_gguf *gguf, const char *key,
                              uint64_t *out);
mlxn_status mlxn_gguf_get_f32(const mlxn_gguf *gguf, const char *key,
                              float *out);
mlxn_status mlxn_gguf_get_bool(const mlxn_gguf *gguf, const char *key,
                               int *out);
/* Any integer type (u8..i64) as int64; a u64 above INT64_MAX fails. */
mlxn_status mlxn_gguf_get_int(const mlxn_gguf *gguf, const char *key,
                              int64_t *out);
/* f32 or f64 as double. */
mlxn_status mlxn_gguf_get_float(const mlxn_gguf *gguf, const char *key,
                                double *out);
/* A NUL-terminated copy owned by the handle; *len (may be NULL) gets the
 * byte length, which counts any NUL bytes inside the string. */
mlxn_status mlxn_gguf_get_string(const mlxn_gguf *gguf, const char *key,
                                 const char **out, size_t *len);

/* Arrays. mlxn_gguf_get_array gives a handle to the array stored under a
 * key, its element type and its length; the element getters take that
 * handle. Elements of nested arrays are arrays again. */
typedef int64_t mlxn_gguf_array;

mlxn_status mlxn_gguf_get_array(const mlxn_gguf *gguf, const char *key,
                                mlxn_gguf_array *arr, mlxn_gguf_type *elem_type,
                                int64_t *n);
/* Element i as int64 (integer element types only) or double (f32, f64). */
mlxn_status mlxn_gguf_array_int(const mlxn_gguf *gguf, mlxn_gguf_array arr,
                                int64_t i, int64_t *out);
mlxn_status mlxn_gguf_array_float(const mlxn_gguf *gguf, mlxn_gguf_array arr,
                                  int64_t i, double *out);
/* String element i: points into the file, NOT NUL-terminated. */
mlxn_status mlxn_gguf_array_string(const mlxn_gguf *gguf, mlxn_gguf_array arr,
                                   int64_t i, const char **str, size_t *len);
/* Array element i of an array of arrays. */
mlxn_status mlxn_gguf_array_array(const mlxn_gguf *gguf, mlxn_gguf_array arr,
                                  int64_t i, mlxn_gguf_array *sub,
                                  mlxn_gguf_type *elem_type, int64_t *n);
/* Raw little-endian elements of a numeric or bool array (n * element
 * size bytes, possibly unaligned), or NULL for string and array arrays. */
const void *mlxn_gguf_array_data(const mlxn_gguf *gguf, mlxn_gguf_array arr);

/* Tensors, in file order. */
int64_t mlxn_gguf_tensor_count(const mlxn_gguf *gguf);
mlxn_status mlxn_gguf_tensor(const mlxn_gguf *gguf, int64_t i,
                             mlxn_tensor_info *out);
/* Index of a tensor by name, or -1. */
int64_t mlxn_gguf_find_tensor(const mlxn_gguf *gguf, const char *name);


/* ---- safetensors and MLX directories --------------------------------------- */


/* ---- llama2.c checkpoints ---------------------------------------------------- */


/* ---- tokenizers ---------------------------------------------------------------- */


/* ---- models: the forward pass and generation ------------------------------------ */


#ifdef __cplusplus
}
#endif

#endif /* MLXN_MODEL_H */
