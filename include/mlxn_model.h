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
/* File offset where the data section starts. The file's tensor offsets
 * count from it; mlxn_tensor_info.offset is already absolute. */
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
/* Element type and length of an array (either may be NULL). */
mlxn_status mlxn_gguf_array_info(const mlxn_gguf *gguf, mlxn_gguf_array arr,
                                 mlxn_gguf_type *elem_type, int64_t *n);
/* Array element i of an array of arrays (see mlxn_gguf_array_info). */
mlxn_status mlxn_gguf_array_array(const mlxn_gguf *gguf, mlxn_gguf_array arr,
                                  int64_t i, mlxn_gguf_array *sub);
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

/*
 * JSON documents (config.json, tokenizer.json, safetensors headers), parsed
 * strictly (RFC 8259). A document owns its values; a value pointer stays
 * valid until the document is freed. Lookups on NULL or on a value of the
 * wrong kind return NULL / 0, so chains like
 *     mlxn_json_get(mlxn_json_get(cfg, "quantization"), "bits")
 * need no checks in between. Object lookups return the last member with the
 * key (as Python does).
 */
typedef struct mlxn_json_doc mlxn_json_doc;
typedef struct mlxn_json mlxn_json;

typedef enum mlxn_json_kind {
    MLXN_JSON_NONE = -1, /* no value (a NULL pointer) */
    MLXN_JSON_NULL = 0,
    MLXN_JSON_BOOL = 1,
    MLXN_JSON_NUMBER = 2,
    MLXN_JSON_STRING = 3,
    MLXN_JSON_ARRAY = 4,
    MLXN_JSON_OBJECT = 5
} mlxn_json_kind;

/* Parse len bytes; fails with MLXN_ERR_FORMAT naming line and column. */
mlxn_status mlxn_json_parse(const char *text, size_t len, mlxn_json_doc **out);
void mlxn_json_free(mlxn_json_doc *doc);
const mlxn_json *mlxn_json_root(const mlxn_json_doc *doc);

mlxn_json_kind mlxn_json_kind_of(const mlxn_json *v);
/* Elements of an array or members of an object; 0 for other values. */
int64_t mlxn_json_count(const mlxn_json *v);
/* Element i of an array, or the value of member i of an object. */
const mlxn_json *mlxn_json_at(const mlxn_json *v, int64_t i);
/* Key of member i of an object (NUL-terminated). */
const char *mlxn_json_key_at(const mlxn_json *obj, int64_t i);
/* Value of the member `key` of an object, or NULL. */
const mlxn_json *mlxn_json_get(const mlxn_json *obj, const char *key);

/* Typed reads of a value: MLXN_ERR_NOT_FOUND for NULL, MLXN_ERR_FORMAT
 * (naming the key) for another kind. Strings are NUL-terminated UTF-8;
 * *len (may be NULL) counts any \u0000 inside. mlxn_json_as_int accepts
 * numbers with an exact integer value (1, 2.0, 1e3). */
mlxn_status mlxn_json_as_string(const mlxn_json *v, const char **out, size_t *len);
mlxn_status mlxn_json_as_number(const mlxn_json *v, double *out);
mlxn_status mlxn_json_as_int(const mlxn_json *v, int64_t *out);
mlxn_status mlxn_json_as_bool(const mlxn_json *v, int *out);
/* The same for member `key` of an object. */
mlxn_status mlxn_json_get_string(const mlxn_json *obj, const char *key,
                                 const char **out);
mlxn_status mlxn_json_get_number(const mlxn_json *obj, const char *key,
                                 double *out);
mlxn_status mlxn_json_get_int(const mlxn_json *obj, const char *key,
                              int64_t *out);
mlxn_status mlxn_json_get_bool(const mlxn_json *obj, const char *key, int *out);

/*
 * A safetensors file, memory-mapped read-only: an 8-byte little-endian
 * header length, a JSON header {"name": {"dtype", "shape", "data_offsets":
 * [begin, end]}, "__metadata__": {...}}, then the data. Opening checks every
 * tensor: a known dtype, shape x dtype size == end - begin, the extent
 * inside the data, no two tensors overlapping. F32, F16, BF16, I32, U32, I8,
 * U8 and I64 map to mlxn dtypes; BOOL, F8_E4M3, F8_E5M2, I16, U16, F64 and
 * U64 are reported as unsupported (the file still opens). Tensor data has
 * no alignment guarantee.
 */
typedef struct mlxn_safetensors mlxn_safetensors;

mlxn_status mlxn_safetensors_open(const char *path, mlxn_safetensors **out);
/* `data` is not copied and must outlive the handle. */
mlxn_status mlxn_safetensors_open_memory(const void *data, size_t size,
                                         mlxn_safetensors **out);
void mlxn_safetensors_close(mlxn_safetensors *st);
int64_t mlxn_safetensors_tensor_count(const mlxn_safetensors *st);
/* Tensors in header order. */
mlxn_status mlxn_safetensors_tensor(const mlxn_safetensors *st, int64_t i,
                                    mlxn_tensor_info *out);
int64_t mlxn_safetensors_find_tensor(const mlxn_safetensors *st,
                                     const char *name);
/* The "__metadata__" object, or NULL. */
const mlxn_json *mlxn_safetensors_metadata(const mlxn_safetensors *st);

/*
 * A Hugging Face or MLX model directory: config.json (required) and the
 * weights, from model.safetensors.index.json (its weight_map names the shard
 * of every tensor), else model.safetensors, else every *.safetensors file in
 * name order. Tensors are looked up by name across shards; a name in two
 * shards is an error.
 */
typedef struct mlxn_model_dir mlxn_model_dir;

mlxn_status mlxn_model_dir_open(const char *dir, mlxn_model_dir **out);
void mlxn_model_dir_close(mlxn_model_dir *md);
/* The parsed config.json (an object). */
const mlxn_json *mlxn_model_dir_config(const mlxn_model_dir *md);
int mlxn_model_dir_shard_count(const mlxn_model_dir *md);
/* Path of shard i, as opened. */
const char *mlxn_model_dir_shard_path(const mlxn_model_dir *md, int i);
int64_t mlxn_model_dir_tensor_count(const mlxn_model_dir *md);
/* Tensor i over all shards (shard order, then header order); info.shard
 * says which. */
mlxn_status mlxn_model_dir_tensor(const mlxn_model_dir *md, int64_t i,
                                  mlxn_tensor_info *out);
int64_t mlxn_model_dir_find_tensor(const mlxn_model_dir *md, const char *name);

/* MLX affine quantization of one module. */
typedef struct mlxn_quant_info {
    int bits;         /* 0 = not quantized */
    int group_size;   /* elements per scale/bias group */
    const char *mode; /* "affine" unless config.json says otherwise */
} mlxn_quant_info;

/* How module `name` is quantized, from config.json's "quantization"
 * (or "quantization_config" when it has "bits" and "group_size"), as
 * mlx-lm decides it: a per-module entry ({"bits", "group_size"} or false)
 * wins; otherwise the global settings apply when the weights hold
 * "<name>.scales". `name` may carry a ".weight", ".scales" or ".biases"
 * suffix. Without quantization settings bits is 0. */
mlxn_status mlxn_model_dir_quant(const mlxn_model_dir *md, const char *name,
                                 mlxn_quant_info *out);


/* ---- llama2.c checkpoints ---------------------------------------------------- */

/*
 * karpathy/llama2.c's legacy checkpoint (run.c's format): seven int32
 * (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a
 * negative vocab_size means the classifier is stored separately) followed by
 * fp32 tensors. Opening memory-maps the file and checks that its size is
 * exactly what the header describes. Tensors are named after run.c's
 * TransformerWeights fields, with shapes outermost first as stored
 * (weights are (out, in) row-major, stacked over layers):
 *   token_embedding_table (vocab, dim)      rms_att_weight (n_layers, dim)
 *   wq (n_layers, dim, dim)                 wk, wv (n_layers, kv_dim, dim)
 *   wo (n_layers, dim, dim)                 rms_ffn_weight (n_layers, dim)
 *   w1, w3 (n_layers, hidden_dim, dim)      w2 (n_layers, dim, hidden_dim)
 *   rms_final_weight (dim)                  freq_cis_real, freq_cis_imag
 *   wcls (vocab, dim)                          (seq_len, head_size / 2)
 * where kv_dim = n_kv_heads * dim / n_heads. With a shared classifier wcls
 * is the token embedding (same data). The versioned exports (magic "ak42")
 * are not supported. The tokenizer file is read by
 * mlxn_tokenizer_from_llama2c (below).
 */
typedef struct mlxn_llama2c mlxn_llama2c;

typedef struct mlxn_llama2c_config {
    int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads;
    int32_t vocab_size; /* always positive here */
    int32_t seq_len;
    int shared_classifier; /* 1 when the header's vocab_size was positive */
} mlxn_llama2c_config;

mlxn_status mlxn_llama2c_open(const char *path, mlxn_llama2c **out);
/* `data` is not copied and must outlive the handle. */
mlxn_status mlxn_llama2c_open_memory(const void *data, size_t size,
                                     mlxn_llama2c **out);
void mlxn_llama2c_close(mlxn_llama2c *ckpt);
void mlxn_llama2c_get_config(const mlxn_llama2c *ckpt, mlxn_llama2c_config *out);
int64_t mlxn_llama2c_tensor_count(const mlxn_llama2c *ckpt);
mlxn_status mlxn_llama2c_tensor(const mlxn_llama2c *ckpt, int64_t i,
                                mlxn_tensor_info *out);
int64_t mlxn_llama2c_find_tensor(const mlxn_llama2c *ckpt, const char *name);


/* ---- tokenizers ---------------------------------------------------------------- */

/*
 * Tokenizers turn text into token ids and back. Two algorithms:
 *  - SentencePiece-style BPE (GGUF tokenizer.ggml.model "llama", llama2.c
 *    tokenizer files): merges by token score, spaces written as U+2581
 *    ("▁"), a space added in front of the text, bytes outside the vocabulary
 *    spelled as <0xNN> tokens.
 *  - BPE by merge rank (GGUF "gpt2", Hugging Face tokenizer.json "BPE"):
 *    byte-level (GPT-2's byte-to-unicode mapping) with a pre-tokenizer that
 *    splits text into words first, chosen by tokenizer.ggml.pre: "default",
 *    "gpt-2" (and "phi-2", "mpt", "olmo"), "llama3" / "llama-bpe" (and
 *    "llama-v3", "falcon3", "pixtral", "dbrx", "smaug-bpe"), "qwen2" (and
 *    "deepseek-r1-qwen", "megrez", "stablelm2"), "deepseek-coder", "falcon",
 *    "starcoder" (and "refact", "command-r", "smollm", "codeshell", "exaone",
 *    "minerva-7b"); or SentencePiece-style (raw UTF-8, "▁", <0xNN> bytes)
 *    when a tokenizer.json says so.
 * Encoding matches llama.cpp's tokenizer (and so Hugging Face's) on
 * llama.cpp's test vectors. Tokenizers hold no reference to the file they
 * were loaded from and are safe to use from several threads at once.
 */
typedef struct mlxn_tokenizer mlxn_tokenizer;

typedef enum mlxn_tokenizer_kind {
    MLXN_TOKENIZER_SPM = 1, /* SentencePiece-style, merges by score */
    MLXN_TOKENIZER_BPE = 2  /* merges by rank */
} mlxn_tokenizer_kind;

/* Token types, numbered as GGUF's tokenizer.ggml.token_type. */
typedef enum mlxn_token_type {
    MLXN_TOKEN_UNDEFINED = 0,
    MLXN_TOKEN_NORMAL = 1,
    MLXN_TOKEN_UNKNOWN = 2,
    MLXN_TOKEN_CONTROL = 3,      /* <s>, </s>, <|endoftext|> ... */
    MLXN_TOKEN_USER_DEFINED = 4, /* always matched as whole tokens */
    MLXN_TOKEN_UNUSED = 5,
    MLXN_TOKEN_BYTE = 6          /* <0xNN> */
} mlxn_token_type;

/* From a GGUF file's tokenizer.ggml.* metadata (tokens, scores,
 * token_type, merges, pre, special token ids, add_bos_token, ...). An
 * unknown tokenizer.ggml.model or .pre fails with MLXN_ERR_UNSUPPORTED. */
mlxn_status mlxn_tokenizer_from_gguf(const mlxn_gguf *gguf, mlxn_tokenizer **out);
/* From a Hugging Face tokenizer.json: model.type "BPE" (model.vocab,
 * model.merges as "a b" strings or [a, b] pairs, byte_fallback), the
 * pre_tokenizer (ByteLevel, or Split with one of the regexes above, or a
 * Metaspace / normalizer that writes spaces as "▁"), and added_tokens
 * (special or not, lstrip and rstrip). */
mlxn_status mlxn_tokenizer_from_hf_json(const char *path, mlxn_tokenizer **out);
mlxn_status mlxn_tokenizer_from_hf_json_memory(const char *text, size_t len,
                                               mlxn_tokenizer **out);
/* From a llama2.c tokenizer file (int32 max_token_length, then per token
 * f32 score, int32 length, bytes): n_vocab tokens, or as many as the file
 * holds when n_vocab is 0. The result is a SentencePiece-style tokenizer
 * with <unk> = 0, <s> = 1 (BOS), </s> = 2 (EOS). */
mlxn_status mlxn_tokenizer_from_llama2c(const char *path, int32_t n_vocab,
                                        mlxn_tokenizer **out);
mlxn_status mlxn_tokenizer_from_llama2c_memory(const void *data, size_t size,
                                               int32_t n_vocab,
                                               mlxn_tokenizer **out);
void mlxn_tokenizer_destroy(mlxn_tokenizer *tok);

mlxn_tokenizer_kind mlxn_tokenizer_get_kind(const mlxn_tokenizer *tok);
/* The pre-tokenizer's name ("gpt2", "llama3", ...; "none" for SPM). */
const char *mlxn_tokenizer_pre_name(const mlxn_tokenizer *tok);
int32_t mlxn_tokenizer_n_vocab(const mlxn_tokenizer *tok);
/* Special token ids, -1 when the vocabulary has none. EOT is found by
 * text ("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", ...) when
 * the file does not name it. */
int32_t mlxn_tokenizer_bos(const mlxn_tokenizer *tok);
int32_t mlxn_tokenizer_eos(const mlxn_tokenizer *tok);
int32_t mlxn_tokenizer_eot(const mlxn_tokenizer *tok);
/* The special ids and BOS/EOS policy together. mlxn_tokenizer_set_special
 * replaces them (ids -1 or inside the vocabulary; add_bos needs a BOS):
 * tokenizer.json files leave them to tokenizer_config.json or config.json,
 * which the caller reads. Setting is not safe while another thread encodes
 * with the same tokenizer. */
typedef struct mlxn_special_tokens {
    int32_t bos, eos, eot; /* -1 = none */
    int add_bos, add_eos;  /* what MLXN_ENCODE_ADD_SPECIAL adds */
} mlxn_special_tokens;

void mlxn_tokenizer_get_special(const mlxn_tokenizer *tok,
                                mlxn_special_tokens *out);
mlxn_status mlxn_tokenizer_set_special(mlxn_tokenizer *tok,
                                       const mlxn_special_tokens *sp);
/* 1 when id ends generation (EOS, EOT or EOM). */
int mlxn_tokenizer_is_eog(const mlxn_tokenizer *tok, int32_t id);
/* Whether MLXN_ENCODE_ADD_SPECIAL adds BOS / EOS for this model. */
int mlxn_tokenizer_adds_bos(const mlxn_tokenizer *tok);
int mlxn_tokenizer_adds_eos(const mlxn_tokenizer *tok);

/* The vocabulary entry of id as stored ("▁Hello", "Ġworld", "<0x0A>"),
 * NUL-terminated, *len (may be NULL) its byte length; NULL out of range. */
const char *mlxn_tokenizer_token_text(const mlxn_tokenizer *tok, int32_t id,
                                      size_t *len);
mlxn_token_type mlxn_tokenizer_token_type(const mlxn_tokenizer *tok, int32_t id);
float mlxn_tokenizer_token_score(const mlxn_tokenizer *tok, int32_t id);
/* The id whose vocabulary entry is exactly text[0..len), or -1. */
int32_t mlxn_tokenizer_find(const mlxn_tokenizer *tok, const char *text,
                            size_t len);

/* A growable list of token ids. Start from {0}; encode appends; free with
 * mlxn_tokens_free (which leaves it empty and reusable). */
typedef struct mlxn_tokens {
    int32_t *ids;
    int64_t n;
    int64_t cap;
} mlxn_tokens;

void mlxn_tokens_free(mlxn_tokens *tokens);

enum {
    /* Add BOS and/or EOS as the model asks (mlxn_tokenizer_adds_bos). */
    MLXN_ENCODE_ADD_SPECIAL = 1u << 0,
    /* Always start with BOS (when the vocabulary has one). */
    MLXN_ENCODE_ADD_BOS = 1u << 1,
    /* Recognise control tokens written in the text ("<|im_start|>"). User-
     * defined tokens are always recognised; without this flag control
     * token text is tokenized as ordinary text. */
    MLXN_ENCODE_PARSE_SPECIAL = 1u << 2
};

/* Encode len bytes of text (any bytes; NUL is ordinary text) and append
 * the ids to out. On failure out is unchanged. */
mlxn_status mlxn_tokenizer_encode(const mlxn_tokenizer *tok, const char *text,
                                  size_t len, unsigned flags, mlxn_tokens *out);

enum {
    /* Render control and unknown tokens as their text (else nothing). */
    MLXN_DECODE_SPECIAL = 1u << 0
};

/* The bytes token id stands for: "▁" becomes a space, <0xNN> the byte
 * NN, byte-level characters their bytes. Points into the tokenizer; not
 * NUL-terminated. A piece may be part of a UTF-8 character. */
mlxn_status mlxn_tokenizer_piece(const mlxn_tokenizer *tok, int32_t id,
                                 unsigned flags, const char **piece,
                                 size_t *len);

/* Growable bytes, NUL-terminated after len. Start from {0}; free with
 * mlxn_text_free. */
typedef struct mlxn_text {
    char *data;
    size_t len;
    size_t cap;
} mlxn_text;

void mlxn_text_free(mlxn_text *text);

/* Append the pieces of n ids to out. For SentencePiece-style tokenizers
 * the space the encoder put in front of the text is dropped: the leading
 * space of the first piece that follows BOS (or starts the list). An id
 * out of range fails and leaves out unchanged. */
mlxn_status mlxn_tokenizer_decode(const mlxn_tokenizer *tok, const int32_t *ids,
                                  int64_t n, unsigned flags, mlxn_text *out);


/* ---- models: the forward pass and generation ------------------------------------ */

typedef struct mlxn_model mlxn_model;
typedef struct mlxn_tokenizer mlxn_tokenizer;

typedef enum mlxn_arch {
    MLXN_ARCH_LLAMA = 0, /* Llama 2/3, SmolLM, llama2.c checkpoints */
    MLXN_ARCH_MISTRAL,   /* Llama layout; GGUF files say "llama" */
    MLXN_ARCH_QWEN2,     /* q/k/v biases */
    MLXN_ARCH_QWEN3      /* per-head RMS norm on q and k */
} mlxn_arch;

typedef enum mlxn_rope_scaling {
    MLXN_ROPE_SCALING_NONE = 0,
    MLXN_ROPE_SCALING_LINEAR, /* positions divided by rope_factor */
    MLXN_ROPE_SCALING_LLAMA3  /* Llama 3.1 per-frequency factors */
} mlxn_rope_scaling;

/* The shape and hyperparameters of a Llama-family model. */
typedef struct mlxn_model_config {
    mlxn_arch arch;
    int n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff;
    int n_ctx_train;
    float rms_eps;
    float rope_theta;
    int rope_neox;  /* 1: NeoX halves (HF order); 0: interleaved pairs (GGUF llama) */
    int n_rot;      /* rotated dims per head (head_dim unless partial) */
    mlxn_rope_scaling rope_scaling;
    float rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    int rope_orig_ctx; /* original_max_position_embeddings (Llama 3.1) */
    int qk_norm;       /* Qwen3 */
    int attn_bias;     /* Qwen2 */
    int tied_embeddings;
    int bos_id, eos_id; /* -1 when unknown */
} mlxn_model_config;

typedef struct mlxn_model_params {
    mlxn_device *device;  /* required */
    int n_ctx;            /* KV cache length; 0 = min(n_ctx_train, 4096) */
    int n_batch;          /* prefill chunk; default 512 */
    mlxn_dtype kv_dtype;  /* MLXN_DTYPE_F16 (default) or MLXN_DTYPE_F32 */
    int decode_graph;     /* record the decode step once and replay it; default 1 */
    /* one row at a time: the FFN's hidden row rounded to 8 bits once, by
     * the SwiGLU product, for the down product (mlxn_op_swiglu_x8_pays);
     * default 1. 0: every block of the down product rounds it (the same
     * results bit for bit, for comparisons) */
    int x8_chain;
    /* Called while loading with the fraction done (0..1); may be NULL. */
    void (*progress)(float fraction, void *arg);
    void *progress_arg;
} mlxn_model_params;

mlxn_model_params mlxn_model_params_default(void);

/* Load a model: a GGUF file, a llama2.c checkpoint (.bin, with tok512.bin
 * or tokenizer.bin beside it when present), or a Hugging Face / MLX
 * safetensors directory. Weights are copied to the device. */
mlxn_status mlxn_model_load(const char *path, const mlxn_model_params *p,
                            mlxn_model **out);

/* A model with seeded random weights of a given shape and weight format
 * (for benchmarks: no download needed). weight_dtype is a GGUF block type,
 * f32/f16/bf16, or MLXN_DTYPE_U32 for MLX affine quantization with `bits`
 * and `group_size`. Norm weights are f32 near 1. */
typedef struct mlxn_synthetic_params {
    mlxn_model_config config;
    mlxn_dtype weight_dtype;
    int bits, group_size; /* MLX affine only */
    uint64_t seed;
} mlxn_synthetic_params;

/* Presets: "llama3-8b" (32 layers, 4096 wide, 14336 FFN, 32/8 heads,
 * vocab 128256, Q4_0), "llama2-7b" (32 layers, 4096 wide, 11008 FFN, 32/32
 * heads, vocab 32000, Q4_0) and "small" (8 layers, 512 wide, 1536 FFN, 8/4
 * heads, vocab 8192, Q4_0). Returns MLXN_ERR_NOT_FOUND for other names. */
mlxn_status mlxn_synthetic_preset(const char *name, mlxn_synthetic_params *out);
mlxn_status mlxn_model_create_synthetic(const mlxn_synthetic_params *sp,
                                        const mlxn_model_params *p,
                                        mlxn_model **out);

void mlxn_model_destroy(mlxn_model *m);
const mlxn_model_config *mlxn_model_get_config(const mlxn_model *m);
/* The model's tokenizer, or NULL (synthetic models have none). */
const mlxn_tokenizer *mlxn_model_tokenizer(const mlxn_model *m);
/* Bytes of weights one decode step reads (for bandwidth figures). */
int64_t mlxn_model_weight_bytes(const mlxn_model *m);
/* Tokens held in the KV cache, and the cache length. */
int mlxn_model_pos(const mlxn_model *m);
int mlxn_model_n_ctx(const mlxn_model *m);
/* Forget the KV cache (the next token goes to position 0). */
void mlxn_model_reset(mlxn_model *m);
/* Switch decode-step replay on (1) or off (0) after loading. */
void mlxn_model_set_decode_graph(mlxn_model *m, int on);

/* Run n tokens through the model at the current position (advancing it),
 * in chunks of n_batch. logits may be NULL; otherwise it receives the
 * logits of the last token (n_vocab floats) or, with MLXN_LOGITS_ALL, of
 * every token (n * n_vocab floats, row by row). */
typedef enum mlxn_logits_mode { MLXN_LOGITS_LAST = 0, MLXN_LOGITS_ALL = 1 } mlxn_logits_mode;
mlxn_status mlxn_model_eval(mlxn_model *m, const int32_t *tokens, int n,
                            mlxn_logits_mode mode, float *logits);

/* Generation with sampling on the device: the prompt is evaluated, then up
 * to n_predict tokens are sampled, each handed to on_token as it comes
 * (return nonzero to stop). Stops at the end-of-sequence token unless
 * ignore_eos. Only the sampled token id crosses to the host per step.
 * Decode steps run one ahead of the host: while on_token runs, the device
 * already computes the next token, so on_token must not use the model
 * (other models, the tokenizer and the host are fine). A step computed
 * ahead of a stop is discarded: the model's position is where the last
 * token handed out would be evaluated next, as without the step ahead. */
typedef struct mlxn_generate_params {
    int n_predict;            /* default 128 */
    mlxn_sample_params sample;
    int ignore_eos;
    int (*on_token)(int32_t token, void *arg); /* may be NULL */
    void *arg;
} mlxn_generate_params;

mlxn_generate_params mlxn_generate_params_default(void);

typedef struct mlxn_generate_stats {
    int n_prompt, n_generated;
    double prompt_seconds; /* prompt evaluation, wall time */
    double decode_seconds; /* sampling steps after the first token */
} mlxn_generate_stats;

mlxn_status mlxn_model_generate(mlxn_model *m, const int32_t *prompt, int n_prompt,
                                const mlxn_generate_params *gp,
                                mlxn_generate_stats *stats);


#ifdef __cplusplus
}
#endif

#endif /* MLXN_MODEL_H */
