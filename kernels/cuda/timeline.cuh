/*
 * timeline.cuh: the device timeline's stamps (params/timeline.h). Without
 * -DMLXN_TIMELINE every macro is empty. MLXN_TL_BEGIN() opens a kernel's
 * scope (it declares the record's slot), MLXN_TL_MARK(i) stamps point i
 * (1: after the wait, 2: the kernel's mark, 3: its `a`) and
 * MLXN_TL_END(tag, a, b) closes it: every thread of the block must reach
 * it (it synchronises the block).
 */
#ifndef MLXN_TIMELINE_CUH
#define MLXN_TIMELINE_CUH

#include "params/timeline.h"

#ifdef MLXN_TIMELINE
__device__ unsigned long long *mlxn_tl_buf; /* set by the backend; NULL: off */
__shared__ unsigned long long mlxn_tl_t[5];
__device__ __forceinline__ unsigned long long mlxn_tl_now()
{
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}
#define MLXN_TL_T0 (threadIdx.x + threadIdx.y + threadIdx.z == 0)
#define MLXN_TL_MARK(i)                                                        \
    do {                                                                       \
        if (MLXN_TL_T0)                                                        \
            mlxn_tl_t[i] = mlxn_tl_now();                                      \
    } while (0)
/* The slot is taken at entry: the atomic's latency hides under the kernel
 * instead of delaying the block's end. */
#define MLXN_TL_BEGIN()                                                        \
    unsigned long long mlxn_tl_slot = ~0ull;                                   \
    do {                                                                       \
        if (MLXN_TL_T0) {                                                      \
            mlxn_tl_t[0] = mlxn_tl_now();                                      \
            mlxn_tl_t[1] = mlxn_tl_t[2] = mlxn_tl_t[3] = mlxn_tl_t[4] = 0;     \
            if (mlxn_tl_buf)                                                   \
                mlxn_tl_slot = atomicAdd(mlxn_tl_buf, 1ull);                   \
        }                                                                      \
    } while (0)
#define MLXN_TL_END(tag, a, b)                                                 \
    do {                                                                       \
        __syncthreads();                                                       \
        if (MLXN_TL_T0 && mlxn_tl_slot < MLXN_TL_CAP) {                        \
            const unsigned long long end_ = mlxn_tl_now();                     \
            unsigned sm_;                                                      \
            asm volatile("mov.u32 %0, %%smid;" : "=r"(sm_));                   \
            unsigned long long *r_ = mlxn_tl_buf + MLXN_TL_WORDS * (mlxn_tl_slot + 1); \
            r_[0] = (tag);                                                     \
            r_[1] = ((unsigned long long)sm_ << 32) |                          \
                    (blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z)); \
            r_[2] = (a);                                                       \
            r_[3] = (b);                                                       \
            r_[4] = mlxn_tl_t[0];                                              \
            r_[5] = mlxn_tl_t[1];                                              \
            r_[6] = mlxn_tl_t[2];                                              \
            r_[7] = end_;                                                      \
        }                                                                      \
    } while (0)
#else
#define MLXN_TL_BEGIN() do {} while (0)
#define MLXN_TL_MARK(i) do {} while (0)
#define MLXN_TL_END(tag, a, b) do {} while (0)
#endif

#endif /* MLXN_TIMELINE_CUH */
