/*
 * sample.cu: the sampler on the GPU, five kernels per draw (the op encodes
 * only the ones the parameters need), no host round trip:
 *   sample_max     G blocks: per-block (max, argmax) of the sampler logits
 *   sample_hist    G blocks: level-1 histogram (count, integer mass) of the
 *                  rank keys, by global integer atomics (order-free, exact)
 *   sample_compact G blocks: each block scans the level-1 bins for the
 *                  boundary region (a rank range holding at most SEL_CAP
 *                  tokens in the common case) and appends its tokens there
 *                  to a candidate list in the state buffer
 *   sample_select  1 block (sample_select.cu): the exact top-k / top-p
 *                  threshold, by radix narrowing of the candidates in
 *                  shared memory; when the region was too large, by passes
 *                  over the logits (pre-filtered by a logit threshold)
 *   sample_pick    G blocks: exponential race p_i / E_i over kept tokens;
 *                  the last block to finish reduces, writes the token and
 *                  advances the state
 * plus sample_reset and sample_accept. Values are bit-identical to the CPU
 * kernels (params/sample.h). Everything per draw (step, ring) is read from
 * the state buffer.
 */
#include "sample.cuh"

/* ---- reset and accept ------------------------------------------------------------ */

/* args: state, kparams */
MLXN_KERNEL(sample_reset)(uint8_t *state, mlxn_sample_kparams kp)
{
    MLXN_PDL_ENTER();
    (void)kp;
    if (blockIdx.x == 0 && threadIdx.x < sizeof(mlxn_sample_header) / 4)
        ((uint32_t *)state)[threadIdx.x] = 0;
}

/* args: state, tokens (n_tokens) I32, kparams; one thread appends in order */
MLXN_KERNEL(sample_accept)(uint8_t *state, const int32_t *tokens, mlxn_sample_kparams kp)
{
    MLXN_PDL_ENTER();
    if (blockIdx.x != 0 || threadIdx.x != 0 || kp.ring_cap == 0)
        return;
    mlxn_sample_header *h = (mlxn_sample_header *)state;
    int32_t *ring = (int32_t *)(state + MLXN_SAMPLE_OFF_RING);
    uint32_t pos = h->ring_pos % kp.ring_cap, cnt = h->ring_count;
    for (uint32_t i = 0; i < kp.n_tokens; i++) {
        ring[pos] = tokens[i];
        pos = (pos + 1) % kp.ring_cap;
        if (cnt < kp.ring_cap)
            cnt++;
    }
    h->ring_pos = pos;
    h->ring_count = cnt;
}

/* ---- max ------------------------------------------------------------------------- */

/* args: logits, state, kparams. Grid n_blocks x SAMPLE_THREADS. */
MLXN_KERNEL(sample_max_f32)(const float *logits, uint8_t *state, mlxn_sample_kparams kp)
{
    __shared__ uint32_t bits[MLXN_SAMPLE_MAX_CHUNK / 32];
    __shared__ float sv[32];
    __shared__ uint32_t si[32];
    MLXN_PDL_ENTER();
    uint32_t lo = blockIdx.x * kp.chunk, hi = min(lo + kp.chunk, kp.n_vocab);
    int pen = build_bitmap(bits, (kp.chunk + 31) / 32, lo, state, kp);
    float v = neg_inf();
    uint32_t idx = 0xffffffffu;
    for (uint32_t i = lo + threadIdx.x; i < hi; i += blockDim.x)
        arg_better(v, idx, logit_at(logits[i], i, bits, lo, pen, kp), i);
    block_argmax(v, idx, sv, si);
    if (threadIdx.x == 0) {
        mlxn_sample_partial *p = (mlxn_sample_partial *)(state + MLXN_SAMPLE_OFF_MAXP);
        p[blockIdx.x].v = v;
        p[blockIdx.x].idx = idx;
    }
    if (blockIdx.x == 0 && threadIdx.x == 0)
        ((mlxn_sample_header *)state)->n_cand = 0;
    uint32_t *cnt = (uint32_t *)(state + MLXN_SAMPLE_OFF_CNT);
    unsigned long long *mass = (unsigned long long *)(state + MLXN_SAMPLE_OFF_MASS);
    for (uint32_t b = blockIdx.x * blockDim.x + threadIdx.x; b < MLXN_SAMPLE_BINS;
         b += gridDim.x * blockDim.x) {
        cnt[b] = 0;
        mass[b] = 0;
    }
}

/* ---- level-1 histogram ----------------------------------------------------------- */

/* args: logits, state, kparams. Grid n_blocks x SAMPLE_THREADS. */
MLXN_KERNEL(sample_hist_f32)(const float *logits, uint8_t *state, mlxn_sample_kparams kp)
{
    __shared__ uint32_t bits[MLXN_SAMPLE_MAX_CHUNK / 32];
    __shared__ uint32_t scnt[MLXN_SAMPLE_BINS];
    __shared__ unsigned long long smass[MLXN_SAMPLE_BINS];
    __shared__ float sv[32];
    __shared__ uint32_t si[32];
    MLXN_PDL_ENTER();
    float m;
    uint32_t top;
    reduce_partials(state, kp, m, top, sv, si);
    if (!is_finite_f(m))
        return;
    for (uint32_t b = threadIdx.x; b < MLXN_SAMPLE_BINS; b += blockDim.x) {
        scnt[b] = 0;
        smass[b] = 0;
    }
    uint32_t lo = blockIdx.x * kp.chunk, hi = min(lo + kp.chunk, kp.n_vocab);
    int pen = build_bitmap(bits, (kp.chunk + 31) / 32, lo, state, kp);
    __syncthreads();
    for (uint32_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
        float d = MLXN_SSUB(logit_at(logits[i], i, bits, lo, pen, kp), m);
        uint32_t b = mlxn_sample_bin(mlxn_sample_key(d));
        uint64_t w = mlxn_sample_mass(mlxn_det_exp(d));
        atomicAdd(&scnt[b], 1u);
        if (w)
            atomicAdd(&smass[b], (unsigned long long)w);
    }
    __syncthreads();
    uint32_t *gcnt = (uint32_t *)(state + MLXN_SAMPLE_OFF_CNT);
    unsigned long long *gmass = (unsigned long long *)(state + MLXN_SAMPLE_OFF_MASS);
    for (uint32_t b = threadIdx.x; b < MLXN_SAMPLE_BINS; b += blockDim.x)
        if (scnt[b]) {
            atomicAdd(&gcnt[b], scnt[b]);
            if (smass[b])
                atomicAdd(&gmass[b], smass[b]);
        }
}

/* mlxn_sample_plan (params/sample.h) with the whole block: each thread
 * sums BINS / blockDim.x bins from the top, an exclusive scan finds the
 * crossing bin. Results in *wlo / *wcnt (shared), seen by every thread. */
__device__ void block_plan(const uint8_t *state, const mlxn_sample_kparams &kp,
                           unsigned long long *tmp, unsigned long long *wlo, uint32_t *wcnt)
{
    const uint32_t *gcnt = (const uint32_t *)(state + MLXN_SAMPLE_OFF_CNT);
    const unsigned long long *gmass = (const unsigned long long *)(state + MLXN_SAMPLE_OFF_MASS);
    uint32_t per = MLXN_SAMPLE_BINS / blockDim.x, top = MLXN_SAMPLE_BINS - 1 - threadIdx.x * per;
    unsigned long long lc = 0, lm = 0, ec, em;
    for (uint32_t q = 0; q < per; q++) {
        lc += gcnt[top - q];
        lm += gmass[top - q];
    }
    block_excl_scan2(lc, lm, ec, em, tmp);
    if (threadIdx.x == blockDim.x - 1)
        tmp[0] = em + lm; /* the total mass */
    if (threadIdx.x == 0) {
        *wlo = 0;
        *wcnt = kp.n_vocab;
    }
    __syncthreads();
    int use_mass = kp.top_k == 0;
    unsigned long long t = use_mass ? mlxn_sample_top_p_target(tmp[0], kp.top_p) : kp.top_k;
    unsigned long long e = use_mass ? em : ec, mine = use_mass ? lm : lc;
    if (e < t && t <= e + mine) {
        for (uint32_t q = 0; q < per; q++) {
            uint32_t b = top - q;
            unsigned long long v = use_mass ? gmass[b] : gcnt[b];
            if (t <= e + v) {
                *wlo = (unsigned long long)mlxn_sample_bin_key_lo(b) << 32;
                *wcnt = (uint32_t)ec + gcnt[b];
                break;
            }
            e += v;
            ec += gcnt[b];
        }
    }
    __syncthreads();
}

/* args: logits, state, kparams. Grid n_blocks x SAMPLE_THREADS. */
MLXN_KERNEL(sample_compact_f32)(const float *logits, uint8_t *state, mlxn_sample_kparams kp)
{
    __shared__ uint32_t bits[MLXN_SAMPLE_MAX_CHUNK / 32];
    __shared__ float sv[32];
    __shared__ uint32_t si[32];
    __shared__ unsigned long long tmp[64], wide_lo;
    __shared__ uint32_t wide_cnt;
    MLXN_PDL_ENTER();
    mlxn_sample_header *h = (mlxn_sample_header *)state;
    float m;
    uint32_t top;
    reduce_partials(state, kp, m, top, sv, si);
    if (!is_finite_f(m))
        return;
    block_plan(state, kp, tmp, &wide_lo, &wide_cnt);
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        h->wide_lo = wide_lo;
        h->wide_cnt = wide_cnt;
    }
    if (wide_cnt > MLXN_SAMPLE_SEL_CAP)
        return;
    unsigned long long *cr = (unsigned long long *)(state + MLXN_SAMPLE_OFF_CAND);
    unsigned long long *cw = cr + MLXN_SAMPLE_SEL_CAP;
    uint32_t lo = blockIdx.x * kp.chunk, hi = min(lo + kp.chunk, kp.n_vocab);
    int pen = build_bitmap(bits, (kp.chunk + 31) / 32, lo, state, kp);
    for (uint32_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
        float d = MLXN_SSUB(logit_at(logits[i], i, bits, lo, pen, kp), m);
        unsigned long long r = mlxn_sample_rank(mlxn_sample_key(d), i);
        if (r >= wide_lo) {
            uint32_t slot = atomicAdd(&h->n_cand, 1u);
            if (slot < MLXN_SAMPLE_SEL_CAP) {
                cr[slot] = r;
                cw[slot] = mlxn_sample_mass(mlxn_det_exp(d));
            }
        }
    }
}

/* ---- pick ------------------------------------------------------------------------ */

/* args: logits, state, out (1) I32, kparams. Grid n_blocks x SAMPLE_THREADS. */
MLXN_KERNEL(sample_pick_f32)(const float *logits, uint8_t *state, int32_t *out,
                             mlxn_sample_kparams kp)
{
    __shared__ uint32_t bits[MLXN_SAMPLE_MAX_CHUNK / 32];
    __shared__ float sv[32];
    __shared__ uint32_t si[32];
    __shared__ int is_last;
    MLXN_PDL_ENTER();
    mlxn_sample_header *h = (mlxn_sample_header *)state;
    float m;
    uint32_t top;
    reduce_partials(state, kp, m, top, sv, si);
    float v = neg_inf();
    uint32_t idx = 0xffffffffu;
    int greedy = kp.greedy || !is_finite_f(m);
    if (greedy) {
        if (blockIdx.x != 0)
            return;
        idx = top;
    } else {
        uint64_t kstar = (kp.top_k || kp.top_p < 1.0f) ? h->kstar : 0, step = h->step;
        uint32_t lo = blockIdx.x * kp.chunk, hi = min(lo + kp.chunk, kp.n_vocab);
        int pen = build_bitmap(bits, (kp.chunk + 31) / 32, lo, state, kp);
        for (uint32_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
            float d = MLXN_SSUB(logit_at(logits[i], i, bits, lo, pen, kp), m);
            if (mlxn_sample_rank(mlxn_sample_key(d), i) < kstar)
                continue;
            float p = mlxn_det_exp(d);
            if (kp.min_p > 0.0f && !(p >= kp.min_p))
                continue;
            arg_better(v, idx, MLXN_SDIV(p, mlxn_sample_exp1(kp.seed, step, i)), i);
        }
        block_argmax(v, idx, sv, si);
        mlxn_sample_partial *part = (mlxn_sample_partial *)(state + MLXN_SAMPLE_OFF_PICKP);
        if (threadIdx.x == 0) {
            part[blockIdx.x].v = v;
            part[blockIdx.x].idx = idx;
            __threadfence();
            is_last = atomicAdd(&h->done, 1u) == gridDim.x - 1;
        }
        __syncthreads();
        if (!is_last)
            return;
        __threadfence();
        v = neg_inf();
        idx = 0xffffffffu;
        for (uint32_t b = threadIdx.x; b < gridDim.x; b += blockDim.x)
            arg_better(v, idx, ((volatile mlxn_sample_partial *)part)[b].v,
                       ((volatile mlxn_sample_partial *)part)[b].idx);
        block_argmax(v, idx, sv, si);
    }
    if (threadIdx.x == 0) {
        out[0] = (int32_t)idx;
        h->done = 0;
        h->step++;
        if (kp.ring_cap) {
            int32_t *ring = (int32_t *)(state + MLXN_SAMPLE_OFF_RING);
            uint32_t pos = h->ring_pos % kp.ring_cap;
            ring[pos] = (int32_t)idx;
            h->ring_pos = (pos + 1) % kp.ring_cap;
            if (h->ring_count < kp.ring_cap)
                h->ring_count++;
        }
    }
}
