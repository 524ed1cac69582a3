/*
 * sample.c: CPU kernels of the sampler (reset, accept, max, hist, compact,
 * select, pick). Same slots and state layout as kernels/cuda/sample.cu. Where the
 * CUDA select narrows a threshold with histograms, this one sorts every
 * token by rank: a plain implementation of the same definition, so the
 * op table checks one against the other. The scalar math comes from
 * params/sample.h, which makes the chosen token bit-identical.
 */
#include "cpu/cpu_kernel.h"
#include "params/sample.h"

#include <stdlib.h>
#include <string.h>

typedef struct sampler {
    const float *logits;         /* (n_vocab) f32 */
    uint8_t *state;              /* the state buffer */
    mlxn_sample_header *h;
    int32_t *ring;               /* (ring_cap) I32 */
    mlxn_sample_kparams kp;
} sampler;

static void sampler_init(sampler *s, const float *logits, uint8_t *state,
                         mlxn_sample_kparams kp)
{
    s->logits = logits;
    s->state = state;
    s->h = (mlxn_sample_header *)state;
    s->ring = (int32_t *)(state + MLXN_SAMPLE_OFF_RING);
    s->kp = kp;
}

static mlxn_sample_partial *partials(const sampler *s, uint32_t off)
{
    return (mlxn_sample_partial *)(s->state + off);
}

/* l[i] for every token: penalty for tokens in the ring, then temperature. */
static void sampler_logits(const sampler *s, float *l)
{
    uint32_t n = s->kp.n_vocab;
    for (uint32_t i = 0; i < n; i++)
        l[i] = mlxn_sample_logit(s->logits[i], 0, s->kp.repeat_penalty, s->kp.temperature);
    uint32_t cnt = s->h->ring_count < s->kp.ring_cap ? s->h->ring_count : s->kp.ring_cap;
    for (uint32_t r = 0; r < cnt; r++) {
        int32_t t = s->ring[r];
        if (t >= 0 && (uint32_t)t < n)
            l[t] = mlxn_sample_logit(s->logits[t], 1, s->kp.repeat_penalty, s->kp.temperature);
    }
}

static float *logits_or_fail(mlxn__cpu_ctx *ctx, const sampler *s)
{
    float *l = malloc((size_t)s->kp.n_vocab * sizeof *l);
    if (!l)
        mlxn__cpu_fail(ctx, "sampler: out of memory for %u logits", s->kp.n_vocab);
    else
        sampler_logits(s, l);
    return l;
}

/* Global (max, argmax) from the sample_max partials. */
static mlxn_sample_partial reduce_partials(const mlxn_sample_partial *p, uint32_t n)
{
    mlxn_sample_partial best = {mlxn_s_float(0xff800000u), 0xffffffffu};
    for (uint32_t b = 0; b < n; b++)
        if (p[b].v > best.v || (p[b].v == best.v && p[b].idx < best.idx))
            best = p[b];
    return best;
}

static int is_finite_f(float v) { return v == v && v - v == 0.0f; }

/* args: state, kparams. Step 0, empty ring. */
MLXN_CPU_KERNEL(sample_reset)
{
    (void)ctx;
    mlxn_sample_header *h = MLXN_ARG_PTR(mlxn_sample_header, 0);
    memset(h, 0, sizeof *h);
}

/* args: state, tokens (n_tokens) I32, kparams. Append to the ring. */
MLXN_CPU_KERNEL(sample_accept)
{
    (void)ctx;
    sampler s;
    sampler_init(&s, NULL, MLXN_ARG_PTR(uint8_t, 0), MLXN_ARG_VAL(mlxn_sample_kparams, 2));
    const int32_t *tok = MLXN_ARG_PTR(const int32_t, 1);
    uint32_t cap = s.kp.ring_cap;
    if (!cap)
        return;
    for (uint32_t i = 0; i < s.kp.n_tokens; i++) {
        uint32_t pos = s.h->ring_pos % cap;
        s.ring[pos] = tok[i];
        s.h->ring_pos = (pos + 1) % cap;
        if (s.h->ring_count < cap)
            s.h->ring_count++;
    }
}

/* args: logits, state, kparams. Per-block (max, argmax) of the sampler
 * logits; clears the level-1 histogram for sample_hist. */
MLXN_CPU_KERNEL(sample_max_f32)
{
    sampler s;
    sampler_init(&s, MLXN_ARG_PTR(const float, 0), MLXN_ARG_PTR(uint8_t, 1),
                 MLXN_ARG_VAL(mlxn_sample_kparams, 2));
    float *l = logits_or_fail(ctx, &s);
    if (!l)
        return;
    mlxn_sample_partial *part = partials(&s, MLXN_SAMPLE_OFF_MAXP);
    for (uint32_t b = 0; b < s.kp.n_blocks; b++) {
        mlxn_sample_partial best = {mlxn_s_float(0xff800000u), 0xffffffffu};
        uint32_t lo = b * s.kp.chunk, hi = lo + s.kp.chunk;
        for (uint32_t i = lo; i < hi && i < s.kp.n_vocab; i++)
            if (l[i] > best.v || (l[i] == best.v && i < best.idx)) {
                best.v = l[i];
                best.idx = i;
            }
        part[b] = best;
    }
    s.h->n_cand = 0;
    memset(s.state + MLXN_SAMPLE_OFF_CNT, 0, 4u * MLXN_SAMPLE_BINS);
    memset(s.state + MLXN_SAMPLE_OFF_MASS, 0, 8u * MLXN_SAMPLE_BINS);
    free(l);
}

/* args: logits, state, kparams. Level-1 histogram of the rank keys: token
 * count and integer mass per bin (what the CUDA select narrows from). */
MLXN_CPU_KERNEL(sample_hist_f32)
{
    sampler s;
    sampler_init(&s, MLXN_ARG_PTR(const float, 0), MLXN_ARG_PTR(uint8_t, 1),
                 MLXN_ARG_VAL(mlxn_sample_kparams, 2));
    float m = reduce_partials(partials(&s, MLXN_SAMPLE_OFF_MAXP), s.kp.n_blocks).v;
    if (!is_finite_f(m))
        return;
    float *l = logits_or_fail(ctx, &s);
    if (!l)
        return;
    uint32_t *cnt = (uint32_t *)(s.state + MLXN_SAMPLE_OFF_CNT);
    uint64_t *mass = (uint64_t *)(s.state + MLXN_SAMPLE_OFF_MASS);
    for (uint32_t i = 0; i < s.kp.n_vocab; i++) {
        float d = MLXN_SSUB(l[i], m);
        uint32_t b = mlxn_sample_bin(mlxn_sample_key(d));
        cnt[b]++;
        mass[b] += mlxn_sample_mass(mlxn_det_exp(d));
    }
    free(l);
}

/* args: logits, state, kparams. The candidate range from the level-1
 * histogram (mlxn_sample_plan) and, when it holds at most SEL_CAP tokens,
 * those tokens (rank, mass) in index order. */
MLXN_CPU_KERNEL(sample_compact_f32)
{
    sampler s;
    sampler_init(&s, MLXN_ARG_PTR(const float, 0), MLXN_ARG_PTR(uint8_t, 1),
                 MLXN_ARG_VAL(mlxn_sample_kparams, 2));
    float m = reduce_partials(partials(&s, MLXN_SAMPLE_OFF_MAXP), s.kp.n_blocks).v;
    if (!is_finite_f(m))
        return;
    mlxn_sample_plan((const uint32_t *)(s.state + MLXN_SAMPLE_OFF_CNT),
                     (const uint64_t *)(s.state + MLXN_SAMPLE_OFF_MASS), s.kp.top_k, s.kp.top_p,
                     &s.h->wide_lo, &s.h->wide_cnt);
    if (s.h->wide_cnt > MLXN_SAMPLE_SEL_CAP)
        return;
    float *l = logits_or_fail(ctx, &s);
    if (!l)
        return;
    uint64_t *cr = (uint64_t *)(s.state + MLXN_SAMPLE_OFF_CAND), *cw = cr + MLXN_SAMPLE_SEL_CAP;
    for (uint32_t i = 0; i < s.kp.n_vocab; i++) {
        float d = MLXN_SSUB(l[i], m);
        uint64_t r = mlxn_sample_rank(mlxn_sample_key(d), i);
        if (r >= s.h->wide_lo && s.h->n_cand < MLXN_SAMPLE_SEL_CAP) {
            cr[s.h->n_cand] = r;
            cw[s.h->n_cand++] = mlxn_sample_mass(mlxn_det_exp(d));
        }
    }
    free(l);
}

static int cmp_rank_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x < y) - (x > y);
}

/* args: logits, state, kparams. The lowest kept composite rank after
 * top-k and top-p (header kstar), by sorting every token by rank. */
MLXN_CPU_KERNEL(sample_select_f32)
{
    sampler s;
    sampler_init(&s, MLXN_ARG_PTR(const float, 0), MLXN_ARG_PTR(uint8_t, 1),
                 MLXN_ARG_VAL(mlxn_sample_kparams, 2));
    uint32_t n = s.kp.n_vocab;
    float m = reduce_partials(partials(&s, MLXN_SAMPLE_OFF_MAXP), s.kp.n_blocks).v;
    s.h->kstar = 0;
    if (!is_finite_f(m))
        return;
    float *l = logits_or_fail(ctx, &s);
    uint64_t *rank = l ? malloc((size_t)n * sizeof *rank) : NULL;
    if (!rank) {
        if (l)
            mlxn__cpu_fail(ctx, "sample_select: out of memory");
        free(l);
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        l[i] = MLXN_SSUB(l[i], m); /* d */
        rank[i] = mlxn_sample_rank(mlxn_sample_key(l[i]), i);
    }
    qsort(rank, n, sizeof *rank, cmp_rank_desc);
    uint32_t kept = s.kp.top_k ? s.kp.top_k : n;
    uint64_t z = 0;
    for (uint32_t r = 0; r < kept; r++)
        z += mlxn_sample_mass(mlxn_det_exp(l[0xffffffffu - (uint32_t)rank[r]]));
    uint64_t kstar = s.kp.top_k ? rank[kept - 1] : 0;
    if (s.kp.top_p < 1.0f) {
        uint64_t t = mlxn_sample_top_p_target(z, s.kp.top_p), cum = 0;
        for (uint32_t r = 0; r < kept; r++) {
            cum += mlxn_sample_mass(mlxn_det_exp(l[0xffffffffu - (uint32_t)rank[r]]));
            if (cum >= t) {
                kstar = rank[r];
                break;
            }
        }
    }
    s.h->kstar = kstar;
    /* the plan of sample_compact must hold the boundary (what the CUDA
     * select relies on) */
    if (kstar < s.h->wide_lo ||
        (s.h->wide_cnt <= MLXN_SAMPLE_SEL_CAP && s.h->n_cand != s.h->wide_cnt))
        mlxn__cpu_fail(ctx, "sample_select: the candidate plan (from rank %llx, %u tokens, %u "
                            "written) misses the boundary %llx",
                       (unsigned long long)s.h->wide_lo, s.h->wide_cnt, s.h->n_cand,
                       (unsigned long long)kstar);
    free(rank);
    free(l);
}

/* Append the chosen token and advance the step. */
static void sampler_commit(sampler *s, int32_t token)
{
    s->h->step++;
    uint32_t cap = s->kp.ring_cap;
    if (!cap)
        return;
    uint32_t pos = s->h->ring_pos % cap;
    s->ring[pos] = token;
    s->h->ring_pos = (pos + 1) % cap;
    if (s->h->ring_count < cap)
        s->h->ring_count++;
}

typedef struct pick_job {
    const sampler *s;
    const float *l;
    float m;
    uint64_t kstar, step;
    mlxn_sample_partial *best; /* one per chunk of the parallel loop */
    int64_t grain;
} pick_job;

static void pick_range(void *arg, int64_t begin, int64_t end)
{
    const pick_job *j = arg;
    const mlxn_sample_kparams *kp = &j->s->kp;
    for (int64_t c = begin; c < end; c++) {
        mlxn_sample_partial best = {-1.0f, 0xffffffffu};
        int64_t hi = (c + 1) * j->grain < kp->n_vocab ? (c + 1) * j->grain : kp->n_vocab;
        for (uint32_t i = (uint32_t)(c * j->grain); i < (uint32_t)hi; i++) {
            float d = MLXN_SSUB(j->l[i], j->m);
            if (mlxn_sample_rank(mlxn_sample_key(d), i) < j->kstar)
                continue;
            float p = mlxn_det_exp(d);
            if (kp->min_p > 0.0f && !(p >= kp->min_p))
                continue;
            float score = MLXN_SDIV(p, mlxn_sample_exp1(kp->seed, j->step, i));
            if (score > best.v) {
                best.v = score;
                best.idx = i;
            }
        }
        j->best[c] = best;
    }
}

/* args: logits, state, out (1) I32, kparams. Greedy: the argmax of the
 * partials. Otherwise the kept token with the largest p_i / E_i (E_i an
 * Exp(1) variate per token and step: an exact draw from the renormalised
 * distribution, the exponential race); then the state advances. */
MLXN_CPU_KERNEL(sample_pick_f32)
{
    sampler s;
    sampler_init(&s, MLXN_ARG_PTR(const float, 0), MLXN_ARG_PTR(uint8_t, 1),
                 MLXN_ARG_VAL(mlxn_sample_kparams, 3));
    int32_t *out = MLXN_ARG_PTR(int32_t, 2);
    mlxn_sample_partial top = reduce_partials(partials(&s, MLXN_SAMPLE_OFF_MAXP), s.kp.n_blocks);
    if (s.kp.greedy || !is_finite_f(top.v)) {
        out[0] = (int32_t)top.idx;
        sampler_commit(&s, out[0]);
        return;
    }
    float *l = logits_or_fail(ctx, &s);
    int64_t grain = 4096, chunks = (s.kp.n_vocab + grain - 1) / grain;
    mlxn_sample_partial *best = l ? malloc((size_t)chunks * sizeof *best) : NULL;
    if (!best) {
        if (l)
            mlxn__cpu_fail(ctx, "sample_pick: out of memory");
        free(l);
        return;
    }
    pick_job j = {&s, l, top.v, (s.kp.top_k || s.kp.top_p < 1.0f) ? s.h->kstar : 0,
                  s.h->step, best, grain};
    mlxn__cpu_parallel_for(ctx, chunks, 1, pick_range, &j);
    mlxn_sample_partial win = {-1.0f, 0xffffffffu};
    for (int64_t c = 0; c < chunks; c++)
        if (best[c].v > win.v)
            win = best[c];
    out[0] = (int32_t)win.idx;
    sampler_commit(&s, out[0]);
    free(best);
    free(l);
}
