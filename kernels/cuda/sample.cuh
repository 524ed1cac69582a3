/*
 * sample.cuh: device helpers shared by the sampler kernels (sample.cu and
 * sample_select.cu): (max, index) reductions, the global max from the
 * sample_max partials, the penalty bitmap, the sampler logit of a token,
 * and a block-wide scan.
 */
#ifndef MLXN_SAMPLE_CUH
#define MLXN_SAMPLE_CUH

#include "common.cuh"
#include "params/sample.h"

#define SAMPLE_THREADS 256
#define SEL_THREADS 1024
#define FULL 0xffffffffu

__device__ __forceinline__ float neg_inf() { return __uint_as_float(0xff800000u); }
__device__ __forceinline__ int is_finite_f(float v) { return v == v && v - v == 0.0f; }

__device__ __forceinline__ void arg_better(float &v, uint32_t &i, float v2, uint32_t i2)
{
    if (v2 > v || (v2 == v && i2 < i)) {
        v = v2;
        i = i2;
    }
}

/* (max, lowest index) over the block; every thread receives it. sv, si:
 * 32 entries of shared memory. */
__device__ void block_argmax(float &v, uint32_t &i, float *sv, uint32_t *si)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    for (int o = 16; o > 0; o >>= 1)
        arg_better(v, i, __shfl_xor_sync(FULL, v, o), __shfl_xor_sync(FULL, i, o));
    __syncthreads();
    if (lane == 0) {
        sv[warp] = v;
        si[warp] = i;
    }
    __syncthreads();
    if (warp == 0) {
        v = lane < warps ? sv[lane] : neg_inf();
        i = lane < warps ? si[lane] : 0xffffffffu;
        for (int o = 16; o > 0; o >>= 1)
            arg_better(v, i, __shfl_xor_sync(FULL, v, o), __shfl_xor_sync(FULL, i, o));
        if (lane == 0) {
            sv[0] = v;
            si[0] = i;
        }
    }
    __syncthreads();
    v = sv[0];
    i = si[0];
}

/* The global (max, argmax) from the sample_max partials. */
__device__ void reduce_partials(const uint8_t *state, const mlxn_sample_kparams &kp, float &v,
                                uint32_t &i, float *sv, uint32_t *si)
{
    const mlxn_sample_partial *p = (const mlxn_sample_partial *)(state + MLXN_SAMPLE_OFF_MAXP);
    v = neg_inf();
    i = 0xffffffffu;
    for (uint32_t b = threadIdx.x; b < kp.n_blocks; b += blockDim.x)
        arg_better(v, i, p[b].v, p[b].idx);
    block_argmax(v, i, sv, si);
}

/* Penalty bitmap of tokens [lo, lo + 32 * words) in shared memory; returns
 * whether any token is penalised (else lookups can be skipped). */
__device__ int build_bitmap(uint32_t *bits, uint32_t words, uint32_t lo, const uint8_t *state,
                            const mlxn_sample_kparams &kp)
{
    const mlxn_sample_header *h = (const mlxn_sample_header *)state;
    const int32_t *ring = (const int32_t *)(state + MLXN_SAMPLE_OFF_RING);
    uint32_t cnt = min(h->ring_count, kp.ring_cap);
    if (cnt == 0 || kp.repeat_penalty == 1.0f)
        return 0;
    for (uint32_t w = threadIdx.x; w < words; w += blockDim.x)
        bits[w] = 0;
    __syncthreads();
    for (uint32_t r = threadIdx.x; r < cnt; r += blockDim.x) {
        uint32_t t = (uint32_t)ring[r];
        if (t < kp.n_vocab && t >= lo && t - lo < 32u * words)
            atomicOr(&bits[(t - lo) >> 5], 1u << ((t - lo) & 31));
    }
    __syncthreads();
    return 1;
}

__device__ __forceinline__ float logit_at(float z, uint32_t i, const uint32_t *bits, uint32_t lo,
                                          int pen, const mlxn_sample_kparams &kp)
{
    int p = pen ? (bits[(i - lo) >> 5] >> ((i - lo) & 31)) & 1 : 0;
    return mlxn_sample_logit(z, p, kp.repeat_penalty, kp.temperature);
}

/* Block-wide exclusive prefix sums of two u64 values in thread order. */
__device__ void block_excl_scan2(unsigned long long a, unsigned long long b,
                                 unsigned long long &ea, unsigned long long &eb,
                                 unsigned long long *tmp)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    unsigned long long ia = a, ib = b;
    for (int o = 1; o < 32; o <<= 1) {
        unsigned long long x = __shfl_up_sync(FULL, ia, o), y = __shfl_up_sync(FULL, ib, o);
        if (lane >= o) {
            ia += x;
            ib += y;
        }
    }
    __syncthreads();
    if (lane == 31) {
        tmp[warp] = ia;
        tmp[32 + warp] = ib;
    }
    __syncthreads();
    if (warp == 0) {
        unsigned long long wa = lane < warps ? tmp[lane] : 0, wb = lane < warps ? tmp[32 + lane] : 0;
        unsigned long long sa = wa, sb = wb;
        for (int o = 1; o < 32; o <<= 1) {
            unsigned long long x = __shfl_up_sync(FULL, sa, o), y = __shfl_up_sync(FULL, sb, o);
            if (lane >= o) {
                sa += x;
                sb += y;
            }
        }
        tmp[lane] = sa - wa;
        tmp[32 + lane] = sb - wb;
    }
    __syncthreads();
    ea = tmp[warp] + ia - a;
    eb = tmp[32 + warp] + ib - b;
    __syncthreads();
}

#endif /* MLXN_SAMPLE_CUH */
