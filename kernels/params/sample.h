/*
 * params/sample.h: the sampler's kernel parameters, the layout of its state
 * buffer, and the scalar math every sampler kernel shares. The math is
 * written once here and compiled by both the C compiler (CPU kernels, tests)
 * and nvcc (CUDA kernels) so that both backends compute bit-identical values
 * and pick the same token for the same seed:
 *  - only IEEE-rounded single operations (add, sub, mul, div, floor, casts);
 *    on CUDA they go through __fadd_rn and friends, which nvcc never fuses
 *    into FMAs; the C side builds with -std=c11 (no contraction);
 *  - exp and log are our own polynomials (Cephes expf/logf), not libm's;
 *  - probability masses are integers (sums are exact in any order);
 *  - random numbers come from a counter-based hash of (seed, step, token).
 * The semantics (what is kept, how the token is drawn) are in mlxn_ops.h
 * and docs/kernels.md.
 */
#ifndef MLXN_PARAMS_SAMPLE_H
#define MLXN_PARAMS_SAMPLE_H

#include <stdint.h>

/* Multi-block sampler kernels split the vocabulary into at most this many
 * chunks (one per block). */
#define MLXN_SAMPLE_MAX_BLOCKS 512
/* Largest vocabulary (integer masses of 2^44 per token must sum below
 * 2^64). */
#define MLXN_SAMPLE_MAX_VOCAB ((1u << 20) - 1)
/* Vocabulary entries per block of the multi-block kernels, at most. */
#define MLXN_SAMPLE_MAX_CHUNK 2048
/* Level-1 histogram bins over the rank key (see mlxn_sample_bin). */
#define MLXN_SAMPLE_BINS 2048
/* sample_select (one block): candidates it narrows in shared memory, and
 * its dynamic shared memory: variables, candidates (rank and mass), 256
 * sub-bins (count and mass), then the penalty bitmap (n_vocab bits). */
#define MLXN_SAMPLE_SEL_CAP 2048
#define MLXN_SAMPLE_SEL_VARS 1024
#define MLXN_SAMPLE_SEL_SHARED(n_vocab)                                        \
    (MLXN_SAMPLE_SEL_VARS + 16u * MLXN_SAMPLE_SEL_CAP + 12u * 256u +           \
     4u * (((n_vocab) + 31u) / 32u))
/* A probability p in [0, 1] has the integer mass floor(p * 2^44). */
#define MLXN_SAMPLE_MASS_BITS 44

/* Inline parameters of every sampler kernel (constant per op call; nothing
 * in here changes per token). */
typedef struct mlxn_sample_kparams {
    uint32_t n_vocab;
    uint32_t chunk;    /* vocabulary entries per block */
    uint32_t n_blocks; /* blocks of the multi-block kernels */
    uint32_t ring_cap; /* recent-token ring capacity (repeat_last_n) */
    float temperature; /* > 0; 1 in greedy mode */
    float repeat_penalty;
    float top_p;       /* (0, 1]; 1 = off */
    float min_p;       /* [0, 1]; 0 = off */
    uint32_t top_k;    /* 0 = off; already 0 when >= n_vocab */
    uint32_t greedy;   /* 1: the token is the argmax of penalised logits */
    uint32_t n_tokens; /* sample_accept: tokens to append */
    uint32_t pad;
    uint64_t seed;
} mlxn_sample_kparams;

/* The state buffer: a header, scratch for the multi-block kernels, then
 * the ring of recent tokens. Every offset is in bytes from the start. */
typedef struct mlxn_sample_header {
    uint64_t step;       /* draws so far: the RNG counter */
    uint32_t ring_pos;   /* next ring slot to write */
    uint32_t ring_count; /* valid ring entries, <= ring_cap */
    uint32_t done;       /* sample_pick: blocks finished (reset by the last) */
    uint32_t pad;
    uint64_t kstar;      /* sample_select: lowest kept composite key */
    uint64_t wide_lo;    /* sample_compact: candidates are ranks >= wide_lo */
    uint32_t wide_cnt;   /* tokens in that range (compacted when <= SEL_CAP) */
    uint32_t n_cand;     /* candidates written */
    uint64_t pad2[2];
} mlxn_sample_header;

/* (max, index) of one block of sample_max / sample_pick. */
typedef struct mlxn_sample_partial {
    float v;
    uint32_t idx;
} mlxn_sample_partial;

#define MLXN_SAMPLE_OFF_MAXP 64u
#define MLXN_SAMPLE_OFF_PICKP (MLXN_SAMPLE_OFF_MAXP + 8u * MLXN_SAMPLE_MAX_BLOCKS)
#define MLXN_SAMPLE_OFF_CNT (MLXN_SAMPLE_OFF_PICKP + 8u * MLXN_SAMPLE_MAX_BLOCKS)
#define MLXN_SAMPLE_OFF_MASS (MLXN_SAMPLE_OFF_CNT + 4u * MLXN_SAMPLE_BINS)
#define MLXN_SAMPLE_OFF_CAND (MLXN_SAMPLE_OFF_MASS + 8u * MLXN_SAMPLE_BINS)
#define MLXN_SAMPLE_OFF_RING (MLXN_SAMPLE_OFF_CAND + 16u * MLXN_SAMPLE_SEL_CAP)

/* ---- shared scalar math ------------------------------------------------------ */
#if defined(__CUDACC__)
#define MLXN_SFN static __device__ __forceinline__
#define MLXN_SADD(a, b) __fadd_rn((a), (b))
#define MLXN_SSUB(a, b) __fsub_rn((a), (b))
#define MLXN_SMUL(a, b) __fmul_rn((a), (b))
#define MLXN_SDIV(a, b) __fdiv_rn((a), (b))
MLXN_SFN uint32_t mlxn_s_bits(float f) { return __float_as_uint(f); }
MLXN_SFN float mlxn_s_float(uint32_t u) { return __uint_as_float(u); }
#else
#include <math.h>
#include <string.h>
#define MLXN_SFN static inline
#define MLXN_SADD(a, b) ((a) + (b))
#define MLXN_SSUB(a, b) ((a) - (b))
#define MLXN_SMUL(a, b) ((a) * (b))
#define MLXN_SDIV(a, b) ((a) / (b))
MLXN_SFN uint32_t mlxn_s_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
MLXN_SFN float mlxn_s_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}
#endif

/* exp(x) for x <= 0 (Cephes expf), 0 below -80 (and for -inf and NaN).
 * det_exp(0) == 1 exactly. */
MLXN_SFN float mlxn_det_exp(float x)
{
    if (!(x >= -80.0f))
        return 0.0f;
    if (x > 0.0f)
        x = 0.0f;
    float k = floorf(MLXN_SADD(MLXN_SMUL(x, 1.44269504088896341f), 0.5f));
    x = MLXN_SSUB(x, MLXN_SMUL(k, 0.693359375f));
    x = MLXN_SSUB(x, MLXN_SMUL(k, -2.12194440e-4f));
    float z = MLXN_SMUL(x, x);
    float y = 1.9875691500e-4f;
    y = MLXN_SADD(MLXN_SMUL(y, x), 1.3981999507e-3f);
    y = MLXN_SADD(MLXN_SMUL(y, x), 8.3334519073e-3f);
    y = MLXN_SADD(MLXN_SMUL(y, x), 4.1665795894e-2f);
    y = MLXN_SADD(MLXN_SMUL(y, x), 1.6666665459e-1f);
    y = MLXN_SADD(MLXN_SMUL(y, x), 5.0000001201e-1f);
    y = MLXN_SADD(MLXN_SADD(MLXN_SMUL(y, z), x), 1.0f);
    int e = (int)k; /* in [-116, 0]: 2^e is a normal float */
    return MLXN_SMUL(y, mlxn_s_float((uint32_t)(e + 127) << 23));
}

/* ln(x) for x in (0, 1) normal (Cephes logf). */
MLXN_SFN float mlxn_det_log(float x)
{
    uint32_t u = mlxn_s_bits(x);
    float e = (float)((int)(u >> 23) - 126);
    float m = mlxn_s_float((u & 0x007fffffu) | 0x3f000000u); /* [0.5, 1) */
    if (m < 0.707106781186547524f) {
        e = MLXN_SSUB(e, 1.0f);
        m = MLXN_SSUB(MLXN_SADD(m, m), 1.0f);
    } else {
        m = MLXN_SSUB(m, 1.0f);
    }
    float z = MLXN_SMUL(m, m);
    float y = 7.0376836292e-2f;
    y = MLXN_SADD(MLXN_SMUL(y, m), -1.1514610310e-1f);
    y = MLXN_SADD(MLXN_SMUL(y, m), 1.1676998740e-1f);
    y = MLXN_SADD(MLXN_SMUL(y, m), -1.2420140846e-1f);
    y = MLXN_SADD(MLXN_SMUL(y, m), 1.4249322787e-1f);
    y = MLXN_SADD(MLXN_SMUL(y, m), -1.6668057665e-1f);
    y = MLXN_SADD(MLXN_SMUL(y, m), 2.0000714765e-1f);
    y = MLXN_SADD(MLXN_SMUL(y, m), -2.4999993993e-1f);
    y = MLXN_SADD(MLXN_SMUL(y, m), 3.3333331174e-1f);
    y = MLXN_SMUL(MLXN_SMUL(y, m), z);
    y = MLXN_SADD(y, MLXN_SMUL(e, -2.12194440e-4f));
    y = MLXN_SADD(y, MLXN_SMUL(z, -0.5f));
    float r = MLXN_SADD(m, y);
    return MLXN_SADD(r, MLXN_SMUL(e, 0.693359375f));
}

/* The splitmix64 finaliser. */
MLXN_SFN uint64_t mlxn_s_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Exp(1) variate for token i at draw `step`: -ln(U), U = (2j+1) / 2^24
 * with j the top 23 bits of a hash of (seed, step, i). */
MLXN_SFN float mlxn_sample_exp1(uint64_t seed, uint64_t step, uint32_t i)
{
    uint64_t h = mlxn_s_mix64(seed + 0x9e3779b97f4a7c15ull * (step + 1));
    h = mlxn_s_mix64(h ^ (0xd1b54a32d192ed03ull * ((uint64_t)i + 1)));
    uint32_t j = (uint32_t)(h >> 41);
    float u = MLXN_SMUL((float)(2u * j + 1u), 5.9604644775390625e-8f);
    return -mlxn_det_log(u);
}

/* A logit as the sampler sees it: NaN becomes -inf; a token in the recent
 * window gets the llama.cpp penalty; then division by the temperature. */
MLXN_SFN float mlxn_sample_logit(float z, int penalised, float penalty, float temperature)
{
    if (z != z)
        z = mlxn_s_float(0xff800000u); /* -inf */
    if (penalised)
        z = z > 0.0f ? MLXN_SDIV(z, penalty) : MLXN_SMUL(z, penalty);
    return MLXN_SDIV(z, temperature);
}

/* Rank key of d = logit - max (d <= 0): larger d, larger key. */
MLXN_SFN uint32_t mlxn_sample_key(float d)
{
    return 0x7fffffffu - (mlxn_s_bits(d) & 0x7fffffffu);
}

/* Composite rank of token i: key first, then the lower index. Unique. */
MLXN_SFN uint64_t mlxn_sample_rank(uint32_t key, uint32_t i)
{
    return ((uint64_t)key << 32) | (uint64_t)(0xffffffffu - i);
}

/* Level-1 histogram bin of a key (monotone): bin 0 holds |d| >= ~512,
 * bin BINS-1 holds |d| < 2^-7, the bins between split each power of two
 * of |d| into 128 equal parts. */
#define MLXN_SAMPLE_BIN_BASE 15361u
MLXN_SFN uint32_t mlxn_sample_bin(uint32_t key)
{
    uint32_t k16 = key >> 16;
    if (k16 <= MLXN_SAMPLE_BIN_BASE)
        return 0;
    if (k16 >= MLXN_SAMPLE_BIN_BASE + MLXN_SAMPLE_BINS - 1)
        return MLXN_SAMPLE_BINS - 1;
    return k16 - MLXN_SAMPLE_BIN_BASE;
}

/* Smallest and largest key of a bin. */
MLXN_SFN uint32_t mlxn_sample_bin_key_lo(uint32_t b)
{
    return b == 0 ? 0u : (b + MLXN_SAMPLE_BIN_BASE) << 16;
}
MLXN_SFN uint32_t mlxn_sample_bin_key_hi(uint32_t b)
{
    return b == MLXN_SAMPLE_BINS - 1 ? 0xffffffffu
                                     : ((b + MLXN_SAMPLE_BIN_BASE) << 16) | 0xffffu;
}

/* Integer mass of a probability p in [0, 1]. */
MLXN_SFN uint64_t mlxn_sample_mass(float p)
{
    return (uint64_t)MLXN_SMUL(p, 17592186044416.0f); /* 2^44, truncated */
}

/* Top-p target: ceil(z * q / 2^24) with q = floor(top_p * 2^24), at least 1. */
MLXN_SFN uint64_t mlxn_sample_top_p_target(uint64_t z, float top_p)
{
    uint64_t q = (uint64_t)MLXN_SMUL(top_p, 16777216.0f);
    uint64_t t = (z >> 24) * q + (((z & 0xffffffull) * q + 0xffffffull) >> 24);
    return t ? t : 1;
}

/* The candidate range of the top-k / top-p boundary from the level-1
 * histogram (cnt, mass per bin): every token the selection can end on has
 * rank >= *wide_lo; *wide_cnt tokens do. top_k in [0, n_vocab), 0 = off;
 * top_p < 1 only matters when top_k is off (with top-k on, the top-p
 * boundary lies inside the top-k set). Sequential: the CPU kernels use
 * it; the CUDA kernels compute the same with a block-wide scan. */
MLXN_SFN void mlxn_sample_plan(const uint32_t *cnt, const uint64_t *mass, uint32_t top_k,
                               float top_p, uint64_t *wide_lo, uint32_t *wide_cnt)
{
    uint64_t z = 0, t, cum = 0;
    uint32_t above = 0;
    int b;
    for (b = 0; b < MLXN_SAMPLE_BINS; b++)
        z += mass[b];
    t = top_k ? top_k : mlxn_sample_top_p_target(z, top_p);
    for (b = MLXN_SAMPLE_BINS - 1; b > 0; b--) {
        cum += top_k ? cnt[b] : mass[b];
        if (cum >= t)
            break;
        above += cnt[b];
    }
    *wide_lo = (uint64_t)mlxn_sample_bin_key_lo((uint32_t)b) << 32;
    *wide_cnt = above + cnt[b];
}

#endif /* MLXN_PARAMS_SAMPLE_H */
