/*
 * params/embed.h: parameters of the embedding-lookup kernels embed_<dtype>
 * (args: const void *table, const int32_t *ids, float *out, params):
 * out[i] = dequantize(table row ids[i]), n_embd values per row; ids outside
 * [0, n_rows) give a row of zeros. Shared with the embedding op.
 */
#ifndef MLXN_PARAMS_EMBED_H
#define MLXN_PARAMS_EMBED_H

#include <stdint.h>

typedef struct mlxn_embed_params {
    uint32_t n_ids;
    uint32_t n_rows;
    uint32_t n_embd;
    uint32_t pad;
} mlxn_embed_params;

#endif /* MLXN_PARAMS_EMBED_H */
