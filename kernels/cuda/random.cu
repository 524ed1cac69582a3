/*
 * random.cu: random-fill kernels for synthetic weights; the same counter
 * hash and the same rounding as kernels/cpu/random.c, so both backends
 * fill identical bytes.
 */
#include "common.cuh"
#include "params/random.h"

__device__ __forceinline__ float fill_uniform(const mlxn_fill_params &p, uint64_t i)
{
    float u = (float)(mlxn__hash64(p.seed, i) >> 40) * (1.0f / 16777216.0f);
    return __fmaf_rn(p.hi - p.lo, u, p.lo);
}

template <int KIND> __device__ void fill(uint8_t *out, mlxn_fill_params p)
{
    MLXN_PDL_ENTER();
    uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
    for (uint64_t k = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; k < p.n; k += stride) {
        if (KIND == 0) {
            ((float *)out)[k] = fill_uniform(p, k);
        } else if (KIND == 1) {
            ((__half *)out)[k] = __float2half_rn(fill_uniform(p, k));
        } else if (KIND == 2) {
            ((__nv_bfloat16 *)out)[k] = __float2bfloat16_rn(fill_uniform(p, k));
        } else if (KIND == 3) {
            ((uint32_t *)out)[k] = (uint32_t)mlxn__hash64(p.seed, k);
        } else {
            uint8_t *blk = out + k * p.block_bytes;
            for (uint32_t b = 0; b < p.block_bytes; b++)
                blk[b] = (uint8_t)mlxn__hash64(p.seed, k * p.block_bytes + b);
            for (uint32_t s = 0; s < p.n_scales; s++) {
                /* integer conversion (params/half.h): __float2half_rn's
                 * low byte stored this way comes out 0 (nvcc 13.0). */
                uint16_t bits = mlxn__f32_to_f16(fill_uniform(p, ~(k * 4 + s)));
                blk[p.scale_off[s]] = (uint8_t)bits;
                blk[p.scale_off[s] + 1] = (uint8_t)(bits >> 8);
            }
        }
    }
}

/* args: out, mlxn_fill_params */
MLXN_KERNEL(fill_random_f32)(uint8_t *out, mlxn_fill_params p) { fill<0>(out, p); }
MLXN_KERNEL(fill_random_f16)(uint8_t *out, mlxn_fill_params p) { fill<1>(out, p); }
MLXN_KERNEL(fill_random_bf16)(uint8_t *out, mlxn_fill_params p) { fill<2>(out, p); }
MLXN_KERNEL(fill_random_bits)(uint8_t *out, mlxn_fill_params p) { fill<3>(out, p); }
MLXN_KERNEL(fill_random_blocks)(uint8_t *out, mlxn_fill_params p) { fill<4>(out, p); }
