/*
 * quant_write.h: writers of quantized model files for `mlxn quantize`.
 */
#ifndef MLXN_QUANT_WRITE_H
#define MLXN_QUANT_WRITE_H

#include "tools/cli.h"

/* Read row r of a (rows, cols) f32/f16/bf16 tensor as floats. */
int mlxn_quant_row_f32(const mlxn_tensor_info *t, int64_t r, int64_t cols, float *out);

/* HF safetensors directory -> MLX affine directory (model.safetensors,
 * config.json with "quantization", tokenizer files copied). Returns the
 * process exit code, printing errors. */
int mlxn_quant_write_mlx(const char *in_dir, const char *out_dir, int bits, int group);
/* GGUF -> GGUF with 2-D weights in `target` (q4_0 or q8_0). */
int mlxn_quant_write_gguf(const char *in, const char *out, mlxn_dtype target);

#endif /* MLXN_QUANT_WRITE_H */
