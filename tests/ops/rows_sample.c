/*
 * rows_sample.c: op-table rows for the sampler. Each row draws several
 * tokens in sequence (the state advances: RNG step and recent-token ring)
 * from per-step logits that are views at offsets into one tensor.
 * Reference mode replays the documented draw (mlxn_ops.h) with the shared
 * scalar math of params/sample.h, so outputs must match exactly: on CUDA
 * the harness also compares with the CPU backend (same seed, same tokens).
 * Device mode also checks, in float64 and independently of that math,
 * that every token lies in the allowed set (greedy: the argmax; top-k;
 * top-p with a 1e-4 slack; min-p with a 1e-5 slack).
 */
#include "ops/kern_rows.h"
#include "params/sample.h"

#include <math.h>
#include <stdio.h>

#define SR_MAX_STEPS 8

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x < y) - (x > y);
}

static int in_ring(const int32_t *ring, int n_ring, uint32_t i)
{
    for (int k = 0; k < n_ring; k++)
        if (ring[k] == (int32_t)i)
            return 1;
    return 0;
}

/* The documented draw, on the host. ring: (n_ring) recent tokens. */
static int32_t ref_draw(const float *z, uint32_t n, const mlxn_sample_params *p,
                        const int32_t *ring, int n_ring, uint64_t step)
{
    int greedy = p->temperature <= 0.0f || p->top_k == 1;
    float temp = greedy ? 1.0f : p->temperature;
    float *l = malloc(n * sizeof *l);
    uint64_t *rank = malloc(n * sizeof *rank);
    float m = -INFINITY;
    uint32_t arg = 0;
    for (uint32_t i = 0; i < n; i++) {
        l[i] = mlxn_sample_logit(z[i], in_ring(ring, n_ring, i), p->repeat_penalty, temp);
        if (l[i] > m) {
            m = l[i];
            arg = i;
        }
    }
    int32_t tok = (int32_t)arg;
    if (!greedy && isfinite(m)) {
        for (uint32_t i = 0; i < n; i++)
            rank[i] = mlxn_sample_rank(mlxn_sample_key(l[i] - m), i);
        qsort(rank, n, sizeof *rank, cmp_desc);
        uint32_t kept = p->top_k > 0 && (uint32_t)p->top_k < n ? (uint32_t)p->top_k : n;
        uint64_t kstar = rank[kept - 1], zk = 0, cum = 0;
        for (uint32_t r = 0; r < kept; r++)
            zk += mlxn_sample_mass(mlxn_det_exp(l[0xffffffffu - (uint32_t)rank[r]] - m));
        if (p->top_p < 1.0f) {
            uint64_t t = mlxn_sample_top_p_target(zk, p->top_p);
            for (uint32_t r = 0; r < kept; r++) {
                cum += mlxn_sample_mass(mlxn_det_exp(l[0xffffffffu - (uint32_t)rank[r]] - m));
                if (cum >= t) {
                    kstar = rank[r];
                    break;
                }
            }
        }
        float best = -1.0f;
        for (uint32_t i = 0; i < n; i++) {
            float d = l[i] - m, pr = mlxn_det_exp(d);
            if (mlxn_sample_rank(mlxn_sample_key(d), i) < kstar ||
                (p->min_p > 0.0f && !(pr >= p->min_p)))
                continue;
            float score = pr / mlxn_sample_exp1(p->seed, step, i);
            if (score > best) {
                best = score;
                tok = (int32_t)i;
            }
        }
    }
    free(l);
    free(rank);
    return tok;
}

/* Independent check in float64 (no shared math): is tok allowed? */
static const char *check_allowed(const float *z, uint32_t n, const mlxn_sample_params *p,
                                 const int32_t *ring, int n_ring, int32_t tok)
{
    if (tok < 0 || (uint32_t)tok >= n)
        return "token out of range";
    double *l = malloc(n * sizeof *l);
    double m = -INFINITY;
    for (uint32_t i = 0; i < n; i++) {
        double v = isnan(z[i]) ? -INFINITY : z[i];
        if (in_ring(ring, n_ring, i))
            v = v > 0 ? v / p->repeat_penalty : v * p->repeat_penalty;
        l[i] = v;
        m = fmax(m, v);
    }
    const char *bad = NULL;
    double lt = l[tok];
    if (p->temperature <= 0.0f || p->top_k == 1) {
        for (uint32_t i = 0; i < n && !bad; i++)
            if (l[i] > lt || (l[i] == lt && i < (uint32_t)tok))
                bad = "greedy token is not the first argmax";
    } else {
        double T = p->temperature, pt = exp((lt - m) / T), above = 0, total = 0;
        uint32_t higher = 0;
        for (uint32_t i = 0; i < n; i++) {
            double pi = exp((l[i] - m) / T);
            total += pi;
            if (l[i] > lt || (l[i] == lt && i < (uint32_t)tok)) {
                higher++;
                above += pi;
            }
        }
        if (p->top_k > 0 && higher >= (uint32_t)p->top_k)
            bad = "token outside the top-k";
        /* top-p with top-k: masses relative to the top-k set; skip there */
        else if (p->top_k == 0 && p->top_p < 1.0f && above / total > p->top_p + 1e-4)
            bad = "token outside the top-p prefix";
        else if (p->min_p > 0.0f && pt < p->min_p - 1e-5)
            bad = "token below min-p";
    }
    free(l);
    return bad;
}

/* i[0] = n_vocab, i[1] = top_k, i[2] = repeat_last_n, i[3] = steps,
 * i[4] = seed, i[5] = logits kind (0 uniform, 1 peaked, 2 ties, 3 with
 * -inf), i[6] = prompt tokens accepted first, i[7] = state view offset;
 * f[0] = temperature, f[1] = top_p, f[2] = min_p, f[3] = repeat_penalty. */
static void run_sample(ot_ctx *c, const optest_row *r)
{
    uint32_t n = (uint32_t)r->i[0];
    int steps = (int)r->i[3], n_prompt = (int)r->i[6];
    float *z = ot_rand(c, (int64_t)n * steps, -8.0f, 8.0f, MLXN_DTYPE_F32);
    float *u = ot_rand(c, (int64_t)n * steps, 0.0f, 1.0f, MLXN_DTYPE_F32);
    int32_t *prompt = ot_rand_int(c, n_prompt ? n_prompt : 1, (int32_t)n);
    if (!z || !u || !prompt)
        return;
    for (int64_t i = 0; i < (int64_t)n * steps; i++) {
        if (r->i[5] == 1) /* a few strong candidates over a long tail */
            z[i] = u[i] > 0.999f ? 6.0f + 6.0f * u[i] : z[i] * 0.5f;
        else if (r->i[5] == 2)
            z[i] = floorf(z[i] * 0.25f);
        else if (r->i[5] == 3 && u[i] < 0.3f)
            z[i] = -INFINITY;
    }
    mlxn_sample_params p = mlxn_sample_params_default();
    p.temperature = (float)r->f[0];
    p.top_k = (int)r->i[1];
    p.top_p = (float)r->f[1];
    p.min_p = (float)r->f[2];
    p.repeat_penalty = (float)r->f[3];
    p.repeat_last_n = (int)r->i[2];
    p.seed = (uint64_t)r->i[4];
    /* the ring as the reference keeps it: the last repeat_last_n tokens */
    int32_t hist[64 + SR_MAX_STEPS];
    int n_hist = 0;
    for (int k = 0; k < n_prompt; k++)
        hist[n_hist++] = prompt[k];
    double *ref = ot_doubles(c, steps);
    int32_t toks[SR_MAX_STEPS];
    for (int s = 0; s < steps; s++) {
        int keep = n_hist < p.repeat_last_n ? n_hist : p.repeat_last_n;
        const int32_t *ring = hist + n_hist - keep;
        toks[s] = ref_draw(z + (int64_t)s * n, n, &p, ring, keep, (uint64_t)s);
        ref[s] = toks[s];
        hist[n_hist++] = toks[s];
    }
    if (!ot_dev(c)) {
        ot_result(c, NULL, ref, steps);
        return;
    }
    kr_views v = {0};
    int64_t sz[1] = {(int64_t)n * steps}, sl[1] = {n}, so[1] = {steps}, one[1] = {1};
    int64_t sp[1] = {n_prompt ? n_prompt : 1};
    int64_t state_bytes = (int64_t)mlxn_sampler_state_bytes(&p);
    int64_t ss[1] = {state_bytes + r->i[7]};
    mlxn_buffer *bz = ot_in(c, MLXN_DTYPE_F32, 1, sz, z);
    mlxn_buffer *bp = ot_in(c, MLXN_DTYPE_I32, 1, sp, prompt);
    mlxn_buffer *out = ot_out(c, MLXN_DTYPE_I32, 1, so);
    int64_t sb[1] = {state_bytes};
    mlxn_buffer *state = kr_view(c, &v, ot_out(c, MLXN_DTYPE_U8, 1, ss), r->i[7], MLXN_DTYPE_U8,
                                 1, sb, 0);
    if (!state || !out || !bz || !bp) {
        kr_finish(c, &v);
        return;
    }
    mlxn_encoder *e = ot_enc(c);
    OT_OK(c, mlxn_op_sample_reset(e, &p, state));
    if (n_prompt)
        OT_OK(c, mlxn_op_sample_accept(e, &p, state, bp));
    for (int s = 0; s < steps; s++) {
        mlxn_buffer *ls = kr_view(c, &v, bz, (int64_t)s * n, MLXN_DTYPE_F32, 1, sl, 0);
        mlxn_buffer *os = kr_view(c, &v, out, s, MLXN_DTYPE_I32, 1, one, 0);
        if (!ls || !os)
            break;
        OT_OK(c, mlxn_op_sample(e, ls, &p, state, os));
    }
    ot_result(c, out, NULL, steps);
    int32_t got[SR_MAX_STEPS];
    if (mlxn_buffer_read(out, 0, got, (size_t)steps * 4) == MLXN_OK) {
        n_hist = n_prompt;
        for (int s = 0; s < steps; s++) {
            int keep = n_hist < p.repeat_last_n ? n_hist : p.repeat_last_n;
            const char *why = check_allowed(z + (int64_t)s * n, n, &p, hist + n_hist - keep,
                                            keep, got[s]);
            if (why) {
                ot_fail(c, "step %d: token %d: %s", s, got[s], why);
                break;
            }
            hist[n_hist++] = got[s];
        }
    }
    kr_finish(c, &v);
}

static void add_sample_row(const char *what, uint32_t n, float temp, int top_k, float top_p,
                           float min_p, float rp, int last_n, int kind, int prompt, int view)
{
    static unsigned seq;
    optest_row r = {0};
    r.i[0] = n;
    r.i[1] = top_k;
    r.i[2] = last_n;
    r.i[3] = n > 100000 ? 3 : 6;
    r.i[4] = 1000 + seq++;
    r.i[5] = kind;
    r.i[6] = prompt;
    r.i[7] = view;
    r.f[0] = temp;
    r.f[1] = top_p;
    r.f[2] = min_p;
    r.f[3] = rp;
    snprintf(r.label, sizeof r.label,
             "sample %s n=%u T=%g k=%d p=%g minp=%g rp=%g/%d kind=%d%s%s", what, n, temp,
             top_k, top_p, min_p, rp, last_n, kind, prompt ? " prompt" : "",
             view ? " state-view" : "");
    int select = temp > 0.0f && top_k != 1 && ((top_k > 0 && (uint32_t)top_k < n) || top_p < 1.0f);
    r.kernel = select ? "sample_select_f32" : "sample_pick_f32";
    r.exact = 1;
    r.run = run_sample;
    optest_add(&r);
}

OPTEST_ROWS(sample)
{
    static const uint32_t vocabs[] = {1, 2, 7, 1000, 4097, 32000, 128256};
    for (unsigned v = 0; v < sizeof vocabs / sizeof vocabs[0]; v++) {
        uint32_t n = vocabs[v];
        add_sample_row("greedy", n, 0.0f, 0, 1.0f, 0.0f, 1.0f, 0, 0, 0, 0);
        add_sample_row("defaults", n, 0.8f, 40, 0.95f, 0.05f, 1.0f, 64, (int)(v % 4), 0, 0);
        add_sample_row("temp", n, 1.0f, 0, 1.0f, 0.0f, 1.0f, 0, 0, 0, v % 2 ? 8 : 0);
        add_sample_row("top_k=1", n, 0.7f, 1, 1.0f, 0.0f, 1.0f, 0, 0, 0, 0);
        add_sample_row("top_p", n, 1.2f, 0, 0.5f, 0.0f, 1.0f, 0, (int)((v + 1) % 4), 0, 0);
        add_sample_row("min_p", n, 1.0f, 0, 1.0f, 0.1f, 1.0f, 0, (int)((v + 2) % 4), 0, 0);
    }
    add_sample_row("top_k large", 128256, 1.0f, 50000, 1.0f, 0.0f, 1.0f, 0, 0, 0, 0);
    add_sample_row("top_k ties", 32000, 1.0f, 10001, 0.9f, 0.0f, 1.0f, 0, 2, 0, 0);
    add_sample_row("top_p ties", 32000, 0.9f, 0, 0.3f, 0.0f, 1.0f, 0, 2, 0, 0);
    add_sample_row("top_p flat", 128256, 2.0f, 0, 0.9f, 0.0f, 1.0f, 0, 0, 0, 0);
    add_sample_row("top_k+top_p", 128256, 0.8f, 300, 0.6f, 0.0f, 1.0f, 0, 1, 0, 0);
    add_sample_row("-inf", 4097, 0.8f, 2000, 0.99f, 0.0f, 1.0f, 0, 3, 0, 0);
    add_sample_row("penalty", 50, 1.0f, 0, 1.0f, 0.0f, 1.5f, 16, 1, 20, 0);
    add_sample_row("penalty greedy", 37, 0.0f, 0, 1.0f, 0.0f, 3.0f, 8, 0, 8, 0);
    add_sample_row("penalty<1", 1000, 0.8f, 40, 0.9f, 0.0f, 0.8f, 32, 0, 12, 0);
    add_sample_row("penalty all", 128256, 0.8f, 40, 0.95f, 0.05f, 1.3f, 64, 1, 60, 8);
}
