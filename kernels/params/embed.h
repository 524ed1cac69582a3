/*
 * params/embed.h: the embedding-lookup kernel ABI, shared by the op (C),
 * the CPU kernels (C) and the CUDA kernels. Every table dtype has its own
 * kernel named embed_<dtype name> (embed_f32, embed_q4_0, ...); the op
 * looks the name up, so adding a dtype is adding one kernel per backend
 * with this ABI:
 *   slots: const void *table, const int32_t *ids, float *out, mlxn_embed_params
 *   grid (min(n_ids, 65535), 1, 1) blocks of 256 threads; block b handles
 *   ids b, b + gridDim.x, ...; its threads split the row's n_embd values
 *   (quantized kernels may split by blocks of the format). For each id:
 *   out[i][j] = table row ids[i], element j, as f32; ids outside
 *   [0, n_rows) write zeros and read nothing.
 */
#ifndef MLXN_PARAMS_EMBED_H
#define MLXN_PARAMS_EMBED_H

#include <stdint.h>

typedef struct mlxn_embed_params {
    uint32_t n_ids;
    uint32_t n_rows;    /* rows of the table */
    uint32_t n_embd;    /* elements per row */
    uint32_t pad;
    uint64_t row_bytes; /* bytes per table row (quantized rows are blocks) */
} mlxn_embed_params;

#endif /* MLXN_PARAMS_EMBED_H */
