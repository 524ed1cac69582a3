/*
 * copy.cu: the byte-copy kernel: 16-byte vector loads and stores over a
 * grid-stride loop, then the unaligned tail.
 */
#include "common.cuh"
#include "params/copy.h"

/* args: src, dst, mlxn_copy_params. src and dst must not overlap. */
MLXN_KERNEL(copy_bytes)(const uint8_t *src, uint8_t *dst, mlxn_copy_params p)
{
    MLXN_PDL_ENTER();
    uint64_t tid = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
    const uint4 *s = (const uint4 *)src;
    uint4 *d = (uint4 *)dst;
    for (uint64_t i = tid; i < p.n16; i += stride)
        d[i] = s[i];
    for (uint64_t i = p.n16 * 16 + tid; i < p.n; i += stride)
        dst[i] = src[i];
}
