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


/* ---- safetensors and MLX directories --------------------------------------- */


/* ---- llama2.c checkpoints ---------------------------------------------------- */


/* ---- tokenizers ---------------------------------------------------------------- */


/* ---- models: the forward pass and generation ------------------------------------ */


#ifdef __cplusplus
}
#endif

#endif /* MLXN_MODEL_H */
