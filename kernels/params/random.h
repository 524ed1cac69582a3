/*
 * params/random.h: parameters of the random-fill kernels (synthetic
 * weights for benchmarks and tests).
 */
#ifndef MLXN_PARAMS_RANDOM_H
#define MLXN_PARAMS_RANDOM_H

#include "params/half.h"

/* Plain dtypes: element i = lo + (hi - lo) * u(seed, i), u in [0, 1).
 * Integer dtypes (u32, i32, u8): random bits. Block dtypes: every byte of
 * block b random, then each f16 scale field set to lo + (hi - lo) * u. */
typedef struct mlxn_fill_params {
    uint64_t seed;
    uint64_t n;     /* elements (plain) or blocks (block formats) */
    float lo, hi;
    uint32_t block_bytes; /* 0 for plain dtypes */
    uint32_t n_scales;    /* f16 scale fields per block (at most 4) */
    uint32_t scale_off[4]; /* their byte offsets inside the block */
} mlxn_fill_params;

/* A 64-bit mix (splitmix64's finaliser) of seed and index: the same bits
 * on every backend. */
static inline MLXN__HD uint64_t mlxn__hash64(uint64_t seed, uint64_t i)
{
    uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#endif /* MLXN_PARAMS_RANDOM_H */
