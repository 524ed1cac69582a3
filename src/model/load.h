/*
 * load.h: what the format loaders (GGUF, Hugging Face / MLX safetensors,
 * llama2.c) share: a loading context with progress, tensor copies into
 * device buffers, and one layer assembly from format-neutral sources.
 */
#ifndef MLXN_LOAD_H
#define MLXN_LOAD_H

#include "model/llama.h"

typedef struct mlxn_loader {
    mlxn_model *m;
    const mlxn_model_params *params;
    size_t total, done; /* bytes to copy, for the progress callback */
} mlxn_loader;

/* One weight matrix in a file: w, plus scales and biases for MLX affine
 * quantization (bits, group_size). A NULL name in w means absent. */
typedef struct mlxn__wsrc {
    mlxn_tensor_info w, scales, biases;
    int bits, group_size;
} mlxn__wsrc;

/* One layer's tensors, format-neutral. Absent optional tensors have a
 * NULL name. */
typedef struct mlxn__layer_src {
    mlxn_tensor_info attn_norm, ffn_norm;
    mlxn_tensor_info bq, bk, bv;         /* Qwen2 */
    mlxn_tensor_info q_norm, k_norm;     /* Qwen3 */
    mlxn__wsrc q, k, v, o, gate, up, down;
} mlxn__layer_src;

mlxn_status mlxn__load_gguf(mlxn_loader *ld, const char *path);
mlxn_status mlxn__load_hf(mlxn_loader *ld, const char *dir);
mlxn_status mlxn__load_llama2c(mlxn_loader *ld, const char *path);

/* Fail unless t is a supported (rows, cols) tensor. */
mlxn_status mlxn__load_check(const mlxn_tensor_info *t, int64_t rows, int64_t cols);
/* A new (rows, cols) device buffer holding t. */
mlxn_status mlxn__load_matrix(mlxn_loader *ld, const mlxn_tensor_info *t, int64_t rows,
                              int64_t cols, mlxn_buffer **out);
/* Write t as rows [row0, row0 + rows) of dst (same dtype). */
mlxn_status mlxn__load_rows_into(mlxn_loader *ld, const mlxn_tensor_info *t, mlxn_buffer *dst,
                                 int64_t row0, int64_t rows, int64_t cols);
/* Write n values of t (f32, f16 or bf16) as f32 at element offset. */
mlxn_status mlxn__load_f32(mlxn_loader *ld, const mlxn_tensor_info *t, int64_t n,
                           mlxn_buffer *dst, int64_t offset);
/* A new (n) f32 device buffer holding t converted. */
mlxn_status mlxn__load_vector(mlxn_loader *ld, const mlxn_tensor_info *t, int64_t n,
                              mlxn_buffer **out);
/* A weight of shape (rows, cols) from its source (dense, GGUF blocks or
 * MLX affine). */
mlxn_status mlxn__load_weight(mlxn_loader *ld, const mlxn__wsrc *s, int64_t rows, int64_t cols,
                              mlxn_weight *out);
/* A weight of a linear layer: as mlxn__load_weight, but GGUF Q4_0
 * matrices become symmetric affine (bits 4, group 32, biases NULL; see
 * mlxn_weight in mlxn_ops.h) for the wide-load matrix-vector kernels. */
mlxn_status mlxn__load_linear(mlxn_loader *ld, const mlxn__wsrc *s, int64_t rows, int64_t cols,
                              mlxn_weight *out);
/* Assemble layer l: norms, q/k/v (fused into one matrix when the three
 * share a format), biases, q/k norms, o, gate, up, down. */
mlxn_status mlxn__load_layer(mlxn_loader *ld, int l, const mlxn__layer_src *s);
/* Bytes a layer source will copy (for progress). */
size_t mlxn__layer_src_bytes(const mlxn__layer_src *s);
void mlxn__load_progress(mlxn_loader *ld, size_t bytes);

#endif /* MLXN_LOAD_H */
