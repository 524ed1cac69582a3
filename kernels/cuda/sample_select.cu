/*
 * sample_select.cu: sample_select, the sampler's exact top-k / top-p
 * threshold (one block of SEL_THREADS threads). It narrows the candidates
 * that sample_compact wrote (or, when the boundary region held more than
 * SEL_CAP tokens, tokens found by passes over the logits) with radix
 * rounds in shared memory: each round splits the band of composite ranks
 * into up to 256 sub-bins and keeps the one where the running count (top-k)
 * or integer mass (top-p) from the top reaches the target. The result is
 * the rank of the last kept token (header kstar). See sample.cu for the
 * other kernels and params/sample.h for the shared math.
 */
#include "sample.cuh"

/* ---- select ---------------------------------------------------------------------- */

/* Shared variables of sample_select (at the start of its dynamic shared
 * memory). A "band" is an interval [lo, hi] of composite ranks. */
typedef struct sel_vars {
    unsigned long long lo, hi;     /* the band being narrowed */
    unsigned long long target;     /* remaining count or mass inside the band */
    unsigned long long above_mass; /* mass of band tokens ranked above the result */
    unsigned long long res_r, res_w;
    unsigned long long wide_lo, wide_hi; /* range to compact when it fits */
    unsigned long long cand_lo, cand_hi; /* range the candidates cover */
    unsigned long long l1_above_cnt, l1_above_mass, total_mass;
    unsigned long long scan[64];
    uint32_t band_cnt, wide_cnt, n_cand, compacted, l1_bin;
    float z_lo, m;
    float sv[32];
    uint32_t si[32];
} sel_vars;

static_assert(sizeof(sel_vars) <= MLXN_SAMPLE_SEL_VARS, "sel_vars must fit its reservation");

typedef struct sel_ctx {
    const float *logits;
    mlxn_sample_kparams kp;
    sel_vars *V;
    unsigned long long *cand_r, *cand_w; /* (SEL_CAP) */
    unsigned long long *smass;           /* (256) */
    uint32_t *scnt;                      /* (256) */
    uint32_t *bits;                      /* (n_vocab / 32) */
    int pen;
} sel_ctx;

/* Scan the level-1 bins from the top; find the bin where the running count
 * (or mass) reaches target. Sets V->l1_bin, l1_above_cnt, l1_above_mass
 * (of the bins above) and total_mass. SEL_THREADS * 2 == BINS. */
__device__ void l1_find(sel_ctx &c, const uint8_t *state, int use_mass, unsigned long long target)
{
    const uint32_t *gcnt = (const uint32_t *)(state + MLXN_SAMPLE_OFF_CNT);
    const unsigned long long *gmass = (const unsigned long long *)(state + MLXN_SAMPLE_OFF_MASS);
    uint32_t b0 = MLXN_SAMPLE_BINS - 1 - 2 * threadIdx.x, b1 = b0 - 1;
    unsigned long long c0 = gcnt[b0], c1 = gcnt[b1], m0 = gmass[b0], m1 = gmass[b1];
    unsigned long long ec, em;
    block_excl_scan2(c0 + c1, m0 + m1, ec, em, c.V->scan);
    unsigned long long e = use_mass ? em : ec, v0 = use_mass ? m0 : c0, v1 = use_mass ? m1 : c1;
    if (e < target && target <= e + v0 + v1) {
        int first = target <= e + v0;
        c.V->l1_bin = first ? b0 : b1;
        c.V->l1_above_cnt = first ? ec : ec + c0;
        c.V->l1_above_mass = first ? em : em + m0;
    }
    if (threadIdx.x == blockDim.x - 1)
        c.V->total_mass = em + m0 + m1;
    __syncthreads();
}

__device__ __forceinline__ float ord_to_float(uint32_t u)
{
    return __uint_as_float(u & 0x80000000u ? u ^ 0x80000000u : ~u);
}

/* The rank key of a raw, unpenalised logit z; clamped to the top for
 * z above the max so that it is monotone in z. */
__device__ __forceinline__ uint32_t key_of_z(float z, const sel_ctx &c)
{
    float d = MLXN_SSUB(mlxn_sample_logit(z, 0, c.kp.repeat_penalty, c.kp.temperature), c.V->m);
    return d > 0.0f ? 0x7fffffffu : mlxn_sample_key(d);
}

/* Warp 0: the smallest raw logit z whose key is >= key (a 32-ary search
 * over the ordered float bit patterns); -inf when every z qualifies. Tokens
 * with a smaller z can be skipped in passes over the logits: the key is
 * monotone in z, and a penalty >= 1 only lowers a logit. */
__device__ void find_z_lo(sel_ctx &c, uint32_t key)
{
    if (threadIdx.x < 32) {
        uint32_t lane = threadIdx.x;
        /* answer in (a, b]: f(a) < key <= f(b); f(+inf) is the top key */
        uint32_t a = 0x007fffffu, b = 0xff800000u; /* ord(-inf), ord(+inf) */
        int all = key_of_z(neg_inf(), c) >= key;
        while (!all && b - a > 1) {
            uint32_t step = (b - a + 31) / 32;
            uint32_t u = min(a + step * (lane + 1), b);
            unsigned mask = __ballot_sync(FULL, u == b || key_of_z(ord_to_float(u), c) >= key);
            uint32_t first = (uint32_t)__ffs(mask) - 1; /* lane 31 always qualifies */
            uint32_t na = first ? min(a + step * first, b) : a;
            b = min(a + step * (first + 1), b);
            a = na;
        }
        if (lane == 0)
            c.V->z_lo = all ? neg_inf() : ord_to_float(b);
    }
    __syncthreads();
}

/* One pass over the logits (prefiltered by V->z_lo): the composite rank of
 * token i when it falls in [lo, hi], else returns 0. */
__device__ __forceinline__ int rank_in(const sel_ctx &c, float z, uint32_t i, unsigned long long lo,
                                       unsigned long long hi, int prefilter,
                                       unsigned long long &r, float &d)
{
    if (prefilter && z < c.V->z_lo)
        return 0;
    d = MLXN_SSUB(logit_at(z, i, c.bits, 0, c.pen, c.kp), c.V->m);
    r = mlxn_sample_rank(mlxn_sample_key(d), i);
    return r >= lo && r <= hi;
}

/* Visit every token of the logits in [lo, hi]: fn(r, w). Loads are issued
 * eight at a time for memory-level parallelism. */
template <typename F>
__device__ void scan_logits(const sel_ctx &c, unsigned long long lo, unsigned long long hi, F fn)
{
    int prefilter = c.kp.repeat_penalty >= 1.0f;
    uint32_t n = c.kp.n_vocab;
    for (uint32_t base = 0; base < n; base += 8 * SEL_THREADS) {
        float z[8];
#pragma unroll
        for (int u = 0; u < 8; u++) {
            uint32_t i = base + u * SEL_THREADS + threadIdx.x;
            z[u] = i < n ? c.logits[i] : neg_inf();
        }
#pragma unroll
        for (int u = 0; u < 8; u++) {
            uint32_t i = base + u * SEL_THREADS + threadIdx.x;
            unsigned long long r;
            float d;
            if (i < n && rank_in(c, z[u], i, lo, hi, prefilter, r, d))
                fn(r, (unsigned long long)mlxn_sample_mass(mlxn_det_exp(d)));
        }
    }
}

/* Copy the tokens of the wide range (when it fits) or of the band into
 * shared memory. */
__device__ void compact(sel_ctx &c)
{
    sel_vars *V = c.V;
    unsigned long long lo = V->wide_cnt <= MLXN_SAMPLE_SEL_CAP ? V->wide_lo : V->lo;
    unsigned long long hi = V->wide_cnt <= MLXN_SAMPLE_SEL_CAP ? V->wide_hi : V->hi;
    find_z_lo(c, (uint32_t)(lo >> 32));
    if (threadIdx.x == 0)
        V->n_cand = 0;
    __syncthreads();
    scan_logits(c, lo, hi, [&](unsigned long long r, unsigned long long w) {
        uint32_t slot = atomicAdd(&V->n_cand, 1u);
        if (slot < MLXN_SAMPLE_SEL_CAP) {
            c.cand_r[slot] = r;
            c.cand_w[slot] = w;
        }
    });
    __syncthreads();
    if (threadIdx.x == 0) {
        V->n_cand = min(V->n_cand, (uint32_t)MLXN_SAMPLE_SEL_CAP);
        V->cand_lo = lo;
        V->cand_hi = hi;
        V->compacted = 1;
    }
    __syncthreads();
}

/* Shrink the band [V->lo, V->hi] to the smallest and largest candidate
 * rank inside it (compacted bands only), so rounds split real spread. */
__device__ void tighten(sel_ctx &c)
{
    sel_vars *V = c.V;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    unsigned long long lo = V->lo, hi = V->hi, mn = ~0ull, mx = 0;
    for (uint32_t k = threadIdx.x; k < V->n_cand; k += blockDim.x) {
        unsigned long long r = c.cand_r[k];
        if (r >= lo && r <= hi) {
            mn = min(mn, r);
            mx = max(mx, r);
        }
    }
    for (int o = 16; o > 0; o >>= 1) {
        mn = min(mn, __shfl_xor_sync(FULL, mn, o));
        mx = max(mx, __shfl_xor_sync(FULL, mx, o));
    }
    __syncthreads();
    if (lane == 0) {
        V->scan[warp] = mn;
        V->scan[32 + warp] = mx;
    }
    __syncthreads();
    if (warp == 0) {
        mn = lane < warps ? V->scan[lane] : ~0ull;
        mx = lane < warps ? V->scan[32 + lane] : 0;
        for (int o = 16; o > 0; o >>= 1) {
            mn = min(mn, __shfl_xor_sync(FULL, mn, o));
            mx = max(mx, __shfl_xor_sync(FULL, mx, o));
        }
        if (lane == 0 && mn <= mx) {
            V->lo = mn;
            V->hi = mx;
        }
    }
    __syncthreads();
}

/* Narrow the band [V->lo, V->hi] (V->band_cnt tokens) to the single token
 * at which the running count (use_mass 0) or mass (1), from the top,
 * reaches V->target. Result in V->res_r / res_w; V->above_mass gains the
 * mass of the band's tokens ranked above it. Each round splits the band
 * into up to 256 sub-bins by the next bits of the rank. */
__device__ void narrow(sel_ctx &c, int use_mass)
{
    sel_vars *V = c.V;
    int lane = threadIdx.x & 31;
    for (;;) {
        if (!V->compacted && V->band_cnt <= MLXN_SAMPLE_SEL_CAP)
            compact(c);
        if (V->compacted && V->band_cnt > 1)
            tighten(c);
        unsigned long long lo = V->lo, hi = V->hi;
        if (V->band_cnt <= 1 || lo == hi) { /* one token left (0: cannot happen) */
            if (threadIdx.x == 0) {
                V->res_r = lo;
                V->res_w = 0;
            }
            __syncthreads();
            for (uint32_t k = threadIdx.x; V->compacted && k < V->n_cand; k += blockDim.x)
                if (c.cand_r[k] >= lo && c.cand_r[k] <= hi) {
                    V->res_r = c.cand_r[k];
                    V->res_w = c.cand_w[k];
                }
            __syncthreads();
            return;
        }
        int s = 64 - __clzll((long long)(lo ^ hi)); /* varying low bits, >= 1 */
        int nbits = s < 8 ? s : 8, shift = s - nbits;
        uint32_t nsub = 1u << nbits;
        for (uint32_t j = threadIdx.x; j < 256; j += blockDim.x) {
            c.scnt[j] = 0;
            c.smass[j] = 0;
        }
        if (!V->compacted)
            find_z_lo(c, (uint32_t)(lo >> 32));
        __syncthreads();
        auto add = [&](unsigned long long r, unsigned long long w) {
            uint32_t j = (uint32_t)(r >> shift) & (nsub - 1);
            atomicAdd(&c.scnt[j], 1u);
            if (w)
                atomicAdd(&c.smass[j], w);
        };
        if (V->compacted) {
            for (uint32_t k = threadIdx.x; k < V->n_cand; k += blockDim.x)
                if (c.cand_r[k] >= lo && c.cand_r[k] <= hi)
                    add(c.cand_r[k], c.cand_w[k]);
        } else {
            scan_logits(c, lo, hi, add);
        }
        __syncthreads();
        if (threadIdx.x < 32) {
            /* lane l holds sub-bins nsub-1-8l .. nsub-8-8l (from the top) */
            unsigned long long t = V->target, lc = 0, lm = 0;
            for (int q = 0; q < 8; q++) {
                int j = (int)nsub - 1 - 8 * lane - q;
                if (j >= 0) {
                    lc += c.scnt[j];
                    lm += c.smass[j];
                }
            }
            unsigned long long ic = lc, im = lm;
            for (int o = 1; o < 32; o <<= 1) {
                unsigned long long x = __shfl_up_sync(FULL, ic, o), y = __shfl_up_sync(FULL, im, o);
                if (lane >= o) {
                    ic += x;
                    im += y;
                }
            }
            unsigned long long ec = ic - lc, em = im - lm;
            unsigned long long e = use_mass ? em : ec, mine = use_mass ? lm : lc;
            __syncwarp(); /* every lane has read V before the crossing lane writes */
            if (e < t && t <= e + mine) {
                for (int q = 0; q < 8; q++) {
                    int j = (int)nsub - 1 - 8 * lane - q;
                    if (j < 0)
                        break;
                    unsigned long long v = use_mass ? c.smass[j] : c.scnt[j];
                    if (t <= e + v) {
                        unsigned long long base = s == 64 ? 0 : lo & ~((1ull << s) - 1);
                        unsigned long long sub_lo = base | ((unsigned long long)j << shift);
                        unsigned long long sub_hi = sub_lo | ((1ull << shift) - 1);
                        unsigned long long nlo = max(lo, sub_lo), nhi = min(hi, sub_hi);
                        if ((nlo >> 32) == (nhi >> 32)) /* one key: index part < n */
                            nlo = max(nlo, (nlo & 0xffffffff00000000ull) |
                                               (0xffffffffull - (c.kp.n_vocab - 1)));
                        V->lo = nlo;
                        V->hi = nhi;
                        V->target = t - e;
                        V->above_mass += em;
                        V->band_cnt = c.scnt[j];
                        break;
                    }
                    e += v;
                    ec += c.scnt[j];
                    em += c.smass[j];
                }
            }
        }
        __syncthreads();
    }
}

__device__ __forceinline__ unsigned long long bin_rank_lo(uint32_t b)
{
    return (unsigned long long)mlxn_sample_bin_key_lo(b) << 32;
}
__device__ __forceinline__ unsigned long long bin_rank_hi(uint32_t b)
{
    return ((unsigned long long)mlxn_sample_bin_key_hi(b) << 32) | 0xffffffffull;
}

/* args: logits, state, kparams. One block of SEL_THREADS threads with
 * MLXN_SAMPLE_SEL_SHARED(n_vocab) bytes of dynamic shared memory. Writes
 * the header's kstar: the composite rank of the last kept token. */
MLXN_KERNEL(sample_select_f32)(const float *logits, uint8_t *state, mlxn_sample_kparams kp)
{
    extern __shared__ unsigned long long sel_smem[];
    MLXN_PDL_ENTER();
    sel_ctx c;
    c.logits = logits;
    c.kp = kp;
    uint8_t *sm = (uint8_t *)sel_smem;
    c.V = (sel_vars *)sm;
    c.cand_r = (unsigned long long *)(sm + MLXN_SAMPLE_SEL_VARS);
    c.cand_w = c.cand_r + MLXN_SAMPLE_SEL_CAP;
    c.smass = c.cand_w + MLXN_SAMPLE_SEL_CAP;
    c.scnt = (uint32_t *)(c.smass + 256);
    c.bits = c.scnt + 256;
    sel_vars *V = c.V;
    mlxn_sample_header *h = (mlxn_sample_header *)state;
    float m;
    uint32_t top;
    reduce_partials(state, kp, m, top, V->sv, V->si);
    if (!is_finite_f(m) || (kp.top_k == 0 && kp.top_p >= 1.0f)) {
        if (threadIdx.x == 0)
            h->kstar = 0;
        return;
    }
    /* the candidates of sample_compact, when the region fit */
    uint32_t n_cand = h->n_cand;
    int have = h->wide_cnt <= MLXN_SAMPLE_SEL_CAP && n_cand == h->wide_cnt;
    if (have) {
        const unsigned long long *cr = (const unsigned long long *)(state + MLXN_SAMPLE_OFF_CAND);
        for (uint32_t k = threadIdx.x; k < n_cand; k += blockDim.x) {
            c.cand_r[k] = cr[k];
            c.cand_w[k] = cr[MLXN_SAMPLE_SEL_CAP + k];
        }
    }
    c.pen = have ? 0 : build_bitmap(c.bits, (kp.n_vocab + 31) / 32, 0, state, kp);
    if (threadIdx.x == 0) {
        V->m = m;
        V->compacted = have;
        V->n_cand = have ? n_cand : 0;
        V->cand_lo = h->wide_lo;
        V->cand_hi = ~0ull;
        V->above_mass = 0;
    }
    __syncthreads();
    const uint32_t *gcnt = (const uint32_t *)(state + MLXN_SAMPLE_OFF_CNT);
    unsigned long long kstar = 0, zk, above_k = 0;
    uint32_t bk = 0, rk = 0;
    l1_find(c, state, 0, kp.top_k ? kp.top_k : 1);
    zk = V->total_mass;
    if (kp.top_k) {
        bk = V->l1_bin;
        rk = kp.top_k - (uint32_t)V->l1_above_cnt;
        above_k = V->l1_above_mass;
        if (threadIdx.x == 0) {
            V->lo = bin_rank_lo(bk);
            V->hi = bin_rank_hi(bk);
            V->target = rk;
            V->band_cnt = gcnt[bk];
            V->wide_lo = V->lo;
            V->wide_hi = ~0ull;
            V->wide_cnt = (uint32_t)V->l1_above_cnt + gcnt[bk];
        }
        __syncthreads();
        narrow(c, 0);
        kstar = V->res_r;
        zk = above_k + V->above_mass + V->res_w;
    }
    if (kp.top_p < 1.0f) {
        unsigned long long t = mlxn_sample_top_p_target(zk, kp.top_p);
        l1_find(c, state, 1, t);
        uint32_t bp = V->l1_bin;
        if (threadIdx.x == 0) {
            if (kp.top_k && bp <= bk) { /* inside the top-k part of bin bk */
                V->lo = kstar;
                V->hi = bin_rank_hi(bk);
                V->target = t - above_k;
                V->band_cnt = rk;
                V->wide_lo = kstar;
                V->wide_cnt = kp.top_k;
            } else {
                V->lo = bin_rank_lo(bp);
                V->hi = bin_rank_hi(bp);
                V->target = t - V->l1_above_mass;
                V->band_cnt = gcnt[bp];
                V->wide_lo = V->lo;
                V->wide_cnt = (uint32_t)V->l1_above_cnt + gcnt[bp];
            }
            V->wide_hi = ~0ull;
            V->above_mass = 0;
            V->compacted = V->compacted && V->lo >= V->cand_lo && V->hi <= V->cand_hi;
        }
        __syncthreads();
        narrow(c, 1);
        kstar = V->res_r;
    }
    if (threadIdx.x == 0)
        h->kstar = kstar;
}

