/*
 * params/attention.h: parameter structs of the KV-cache write and the
 * attention kernels, and the few integer formulas that the op, the CPU
 * kernels and the CUDA kernels must agree on (which keys a query sees, how
 * decode splits the cache, how much shared memory a kernel uses). Included
 * by C and by nvcc; the functions are host and device inline.
 */
#ifndef MLXN_PARAMS_ATTENTION_H
#define MLXN_PARAMS_ATTENTION_H

#include <stdint.h>

#ifdef __CUDACC__
#define MLXN_ATTN_HD __host__ __device__ __forceinline__
#define MLXN_ATTN_CONST __host__ __device__ constexpr
#else
#define MLXN_ATTN_HD static inline
#define MLXN_ATTN_CONST static inline
#endif

/* kv_write_<cache>: cache[h][pos + t][d] = kv[t][h][d] for pos + t < n_ctx. */
typedef struct mlxn_kv_write_kparams {
    uint32_t n_tokens;
    uint32_t n_kv_heads;
    uint32_t head_dim;
    uint32_t n_ctx;
} mlxn_kv_write_kparams;

/* attn_decode_*, attn_prefill_*. */
typedef struct mlxn_attn_kparams {
    uint32_t n_tokens;   /* queries (1 for decode) */
    uint32_t n_heads;    /* query heads */
    uint32_t n_kv_heads; /* KV heads; divides n_heads */
    uint32_t head_dim;
    uint32_t n_ctx;      /* cache positions */
    uint32_t n_splits;   /* decode: chunks of the key range (grid.x) */
    uint32_t heads_per_block; /* decode: query heads of one KV head per block */
    uint32_t head_batches;    /* decode: ceil(group / heads_per_block) */
    float scale;
    float softcap; /* 0 = off */
    int32_t window; /* 0 = full causal */
    uint32_t flags; /* MLXN_ATTN_STABLE_PREFIX */
} mlxn_attn_kparams;

/* Decode (f16 caches, specialised head dims): pos and the cache rows
 * before it are not written by the kernel before this one, so the first
 * tiles load before griddepcontrol.wait (mlxn_attention_params.stable_prefix). */
#define MLXN_ATTN_STABLE_PREFIX 1u

/* Decode: at most this many query heads share one block's pass over K/V
 * (f16 caches with a specialised head dim: the 16 rows of a tensor-core
 * tile; f32 caches and the generic kernels: 8). */
#define MLXN_ATTN_DECODE_HEADS_F16 16
#define MLXN_ATTN_DECODE_HEADS 8
/* Decode: keys per tile (f16: 16 per warp), threads per block. */
#define MLXN_ATTN_DECODE_TK_F16 64
#define MLXN_ATTN_DECODE_TK 32
#define MLXN_ATTN_DECODE_THREADS 128
/* Decode: splits never exceed this (sizes the scratch without a device). */
#define MLXN_ATTN_MAX_SPLITS 256
/* Decode: keys per split at least this many. */
#define MLXN_ATTN_MIN_SPLIT_KEYS 32
/* Fewest keys a decode split takes (one 64-key tile). */
#ifndef MLXN_ATTN_MIN_CHUNK_KEYS
#define MLXN_ATTN_MIN_CHUNK_KEYS 64
#endif
/* Visible keys up to which one split takes them all: two blocks of one
 * tile each and a combine cost more than one block that streams two. */
#ifndef MLXN_ATTN_ONE_SPLIT_KEYS
#define MLXN_ATTN_ONE_SPLIT_KEYS 128
#endif
/* Decode: arrival counters at the start of the scratch, one per grid row
 * (n_kv_heads * head_batches rows at most). Zero between calls. */
#define MLXN_ATTN_COUNTERS 1024
/* Prefill: query rows per block (f16 caches use tensor cores). */
#define MLXN_ATTN_PREFILL_BQ_F16 64
#define MLXN_ATTN_PREFILL_BQ_F32 16
#define MLXN_ATTN_PREFILL_THREADS 128
/* Generic kernels (any even head_dim up to this): keys per tile. */
#define MLXN_ATTN_GENERIC_MAX_DIM 256
#define MLXN_ATTN_GENERIC_TK 32

/* Keys visible to the query at absolute position qpos: [*lo, *hi]; returns
 * 0 when there are none. Keys past the cache are never visible. */
MLXN_ATTN_HD int mlxn_attn_key_range(int64_t qpos, uint32_t n_ctx, int32_t window,
                                     int64_t *lo, int64_t *hi)
{
    int64_t h = qpos < (int64_t)n_ctx - 1 ? qpos : (int64_t)n_ctx - 1;
    int64_t l = 0;
    if (window > 0 && qpos - window + 1 > 0)
        l = qpos - window + 1;
    *lo = l;
    *hi = h;
    return l <= h;
}

/* The position a kernel reads from the pos buffer, clamped at 0. */
MLXN_ATTN_HD int64_t mlxn_attn_pos(const int32_t *pos) { return pos[0] > 0 ? pos[0] : 0; }

/* Decode: keys [*c0, *c1) of split s (empty when *c0 >= *c1). The key
 * range is cut into n_splits equal chunks, so the grid never depends on
 * the position. */
/* Keys of a decode split: at least MLXN_ATTN_MIN_CHUNK_KEYS (one tile), so
 * short contexts leave the later splits empty; all of them up to
 * MLXN_ATTN_ONE_SPLIT_KEYS (one block, no combine). */
MLXN_ATTN_HD int64_t mlxn_attn_chunk(const mlxn_attn_kparams *p, int64_t span)
{
    if (span <= MLXN_ATTN_ONE_SPLIT_KEYS)
        return span;
    int64_t chunk = (span + p->n_splits - 1) / p->n_splits;
    return chunk < MLXN_ATTN_MIN_CHUNK_KEYS ? MLXN_ATTN_MIN_CHUNK_KEYS : chunk;
}

MLXN_ATTN_HD void mlxn_attn_split_range(const mlxn_attn_kparams *p, int64_t qpos,
                                        uint32_t s, int64_t *c0, int64_t *c1)
{
    int64_t lo, hi;
    if (!mlxn_attn_key_range(qpos, p->n_ctx, p->window, &lo, &hi)) {
        *c0 = *c1 = 0;
        return;
    }
    int64_t chunk = mlxn_attn_chunk(p, hi + 1 - lo);
    int64_t a = lo + (int64_t)s * chunk, b = a + chunk;
    *c0 = a;
    *c1 = b < hi + 1 ? b : hi + 1;
}

/* Splits with keys for a query at qpos (0 when it sees none). With one,
 * that split's block writes the output itself: no count, no combine. */
MLXN_ATTN_HD uint32_t mlxn_attn_active_splits(const mlxn_attn_kparams *p, int64_t qpos)
{
    int64_t lo, hi;
    if (!mlxn_attn_key_range(qpos, p->n_ctx, p->window, &lo, &hi))
        return 0;
    int64_t span = hi + 1 - lo, chunk = mlxn_attn_chunk(p, span);
    return (uint32_t)((span + chunk - 1) / chunk);
}

/* Most splits decode may use for a cache of n_ctx positions. */
MLXN_ATTN_HD uint32_t mlxn_attn_max_splits(uint32_t n_ctx)
{
    uint32_t s = (n_ctx + MLXN_ATTN_MIN_SPLIT_KEYS - 1) / MLXN_ATTN_MIN_SPLIT_KEYS;
    return s < 1 ? 1 : s > MLXN_ATTN_MAX_SPLITS ? MLXN_ATTN_MAX_SPLITS : s;
}

/* Decode scratch, in 4-byte words from the start: arrival counters
 * (MLXN_ATTN_COUNTERS) u32, then partial outputs (n_heads, n_splits,
 * head_dim) f32, maxima (n_heads, n_splits) f32 and sums of exponentials
 * (n_heads, n_splits) f32. The counters sit at a fixed place whatever the
 * shapes, so calls of any shapes can share one scratch. */
MLXN_ATTN_HD uint64_t mlxn_attn_scratch_o(const mlxn_attn_kparams *p)
{
    (void)p;
    return MLXN_ATTN_COUNTERS;
}
MLXN_ATTN_HD uint64_t mlxn_attn_scratch_m(const mlxn_attn_kparams *p)
{
    return mlxn_attn_scratch_o(p) + (uint64_t)p->n_heads * p->n_splits * p->head_dim;
}
MLXN_ATTN_HD uint64_t mlxn_attn_scratch_l(const mlxn_attn_kparams *p)
{
    return mlxn_attn_scratch_m(p) + (uint64_t)p->n_heads * p->n_splits;
}

/* Padded shared-memory row of a K or V tile: 16 bytes more than the row,
 * so rows read by consecutive lanes fall in different banks. */
MLXN_ATTN_CONST uint32_t mlxn_attn_smem_row(uint32_t head_dim, uint32_t elem_bytes)
{
    return head_dim * elem_bytes + 16;
}

/* Decode, f32 caches (CUDA cores): pipeline stages, 3 when a stage (K and
 * V tile of 32 keys) is small. */
MLXN_ATTN_CONST uint32_t mlxn_attn_decode_stages(uint32_t head_dim, uint32_t elem_bytes)
{
    return 2 * MLXN_ATTN_DECODE_TK * mlxn_attn_smem_row(head_dim, elem_bytes) <= 20480 ? 3 : 2;
}

/* Decode (f32) shared memory: stages of K and V tiles, the scaled queries
 * (heads, head_dim) f32, per-warp partial scores (warps, heads, TK) f32,
 * probabilities (TK, heads) f32 and rescale factors (heads) f32. */
MLXN_ATTN_CONST uint32_t mlxn_attn_decode_smem(uint32_t head_dim, uint32_t elem_bytes)
{
    uint32_t tiles = mlxn_attn_decode_stages(head_dim, elem_bytes) * 2 *
                     MLXN_ATTN_DECODE_TK * mlxn_attn_smem_row(head_dim, elem_bytes);
    uint32_t warps = MLXN_ATTN_DECODE_THREADS / 32;
    uint32_t floats = MLXN_ATTN_DECODE_HEADS * head_dim +
                      warps * MLXN_ATTN_DECODE_HEADS * MLXN_ATTN_DECODE_TK +
                      MLXN_ATTN_DECODE_TK * MLXN_ATTN_DECODE_HEADS + MLXN_ATTN_DECODE_HEADS;
    return tiles + 4 * floats;
}

/* Decode, f16 caches (tensor cores): 4 pipeline stages of 64-key K and V
 * tiles when a stage fits in 36 KiB (head_dim <= 128: three tiles stay in
 * flight while one is used; measured better than 3 stages at head_dim
 * 128 on an H200), else 2, then the queries (16, head_dim) f16 with padded
 * rows. After the key loop the tile area holds each warp's maxima and
 * sums (warps, 16) f32 and outputs (warps, 16, head_dim) f32. */
MLXN_ATTN_CONST uint32_t mlxn_attn_decode_stages_f16(uint32_t head_dim)
{
    return 2 * MLXN_ATTN_DECODE_TK_F16 * mlxn_attn_smem_row(head_dim, 2) <= 36864 ? 4 : 2;
}
MLXN_ATTN_CONST uint32_t mlxn_attn_decode_smem_f16(uint32_t head_dim)
{
    return mlxn_attn_decode_stages_f16(head_dim) * 2 * MLXN_ATTN_DECODE_TK_F16 *
               mlxn_attn_smem_row(head_dim, 2) +
           MLXN_ATTN_DECODE_HEADS_F16 * mlxn_attn_smem_row(head_dim, 2);
}

/* Prefill (f16, tensor cores): keys per tile. */
MLXN_ATTN_CONST uint32_t mlxn_attn_prefill_bk_f16(uint32_t head_dim)
{
    return head_dim <= 128 ? 64 : 32;
}

/* Prefill (f16) shared memory: Q (BQ, head_dim) f16 and two stages of K and
 * V tiles (BK, head_dim) f16, all with padded rows. */
MLXN_ATTN_CONST uint32_t mlxn_attn_prefill_smem_f16(uint32_t head_dim)
{
    uint32_t row = mlxn_attn_smem_row(head_dim, 2);
    return MLXN_ATTN_PREFILL_BQ_F16 * row + 4 * mlxn_attn_prefill_bk_f16(head_dim) * row;
}

/* Prefill (f32, CUDA cores): keys per tile and shared memory: two stages
 * of K and V tiles with padded rows, scaled Q (BQ, head_dim) f32 and
 * probabilities (BQ, BK) f32. */
#define MLXN_ATTN_PREFILL_BK_F32 32
MLXN_ATTN_CONST uint32_t mlxn_attn_prefill_smem_f32(uint32_t head_dim)
{
    uint32_t row = mlxn_attn_smem_row(head_dim, 4);
    return 4 * MLXN_ATTN_PREFILL_BK_F32 * row +
           4 * (MLXN_ATTN_PREFILL_BQ_F32 * head_dim +
                MLXN_ATTN_PREFILL_BQ_F32 * MLXN_ATTN_PREFILL_BK_F32);
}

/* Generic kernels: a K or V row in shared memory is head_dim elements
 * padded to an odd number of 4-byte words, so lanes reading one word of
 * consecutive rows hit different banks. head_dim is even. */
MLXN_ATTN_CONST uint32_t mlxn_attn_generic_row_words(uint32_t head_dim, uint32_t elem_bytes)
{
    return (head_dim * elem_bytes / 4) | 1u;
}

/* Generic decode shared memory: two stages of K and V tiles, then the
 * scaled queries (heads, head_dim) f32, per-warp partial scores (warps,
 * heads, TK) f32, probabilities (TK, heads) f32 and rescale factors
 * (heads) f32. */
MLXN_ATTN_CONST uint32_t mlxn_attn_decode_smem_generic(uint32_t head_dim, uint32_t elem_bytes)
{
    uint32_t tiles = 2 * 2 * MLXN_ATTN_GENERIC_TK *
                     mlxn_attn_generic_row_words(head_dim, elem_bytes) * 4;
    uint32_t warps = MLXN_ATTN_DECODE_THREADS / 32;
    uint32_t floats = MLXN_ATTN_DECODE_HEADS * head_dim +
                      warps * MLXN_ATTN_DECODE_HEADS * MLXN_ATTN_GENERIC_TK +
                      MLXN_ATTN_GENERIC_TK * MLXN_ATTN_DECODE_HEADS + MLXN_ATTN_DECODE_HEADS;
    return tiles + 4 * floats;
}

/* Generic prefill shared memory: two stages of K and V tiles, scaled Q
 * (BQ, head_dim) f32 and probabilities (BQ, TK) f32 (BQ as f32 prefill). */
MLXN_ATTN_CONST uint32_t mlxn_attn_prefill_smem_generic(uint32_t head_dim, uint32_t elem_bytes)
{
    return 2 * 2 * MLXN_ATTN_GENERIC_TK * mlxn_attn_generic_row_words(head_dim, elem_bytes) * 4 +
           4 * (MLXN_ATTN_PREFILL_BQ_F32 * head_dim +
                MLXN_ATTN_PREFILL_BQ_F32 * MLXN_ATTN_GENERIC_TK);
}

#endif /* MLXN_PARAMS_ATTENTION_H */
