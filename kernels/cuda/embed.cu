/*
 * embed.cu: embedding lookup for f32, f16 and bf16 tables (ABI in
 * params/embed.h): blocks stride over ids, threads over the row.
 */
#include "common.cuh"
#include "params/embed.h"

template <typename T>
__device__ void embed_rows(const uint8_t *table, const int32_t *ids, float *out, mlxn_embed_params p)
{
    MLXN_PDL_ENTER();
    for (uint32_t r = blockIdx.x; r < p.n_ids; r += gridDim.x) {
        float *o = out + (uint64_t)r * p.n_embd;
        int32_t id = ids[r];
        if (id < 0 || (uint32_t)id >= p.n_rows) {
            for (uint32_t i = threadIdx.x; i < p.n_embd; i += blockDim.x)
                o[i] = 0.0f;
            continue;
        }
        const T *row = (const T *)(table + (uint64_t)id * p.row_bytes);
        for (uint32_t i = threadIdx.x; i < p.n_embd; i += blockDim.x)
            o[i] = mlxn_to_f32(row[i]);
    }
}

/* args: table, ids, out, params */
MLXN_KERNEL(embed_f32)(const uint8_t *table, const int32_t *ids, float *out, mlxn_embed_params p) { embed_rows<float>(table, ids, out, p); }
MLXN_KERNEL(embed_f16)(const uint8_t *table, const int32_t *ids, float *out, mlxn_embed_params p) { embed_rows<__half>(table, ids, out, p); }
MLXN_KERNEL(embed_bf16)(const uint8_t *table, const int32_t *ids, float *out, mlxn_embed_params p) { embed_rows<__nv_bfloat16>(table, ids, out, p); }
