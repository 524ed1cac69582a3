/*
 * rows_attention.c: op-table rows for the KV-cache write and attention:
 * every specialised head dim and generic ones (2, 8, 16, 32, 48, 72, 200)
 * with both cache dtypes, decode (split-K with the in-kernel combine) and
 * prefill, GQA ratios 1, 2, 4, 8 and odd ones, chunks continuing at
 * pos > 0, softcap, sliding windows, long contexts, and caches that are
 * views into a larger (two-layer) buffer. The reference applies the chunk's writes to a host
 * copy of the cache (rounded to the cache dtype) and computes the scores in
 * double with an exact softmax.
 */
#include "ops/optest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* F_STABLE: mlxn_attention_params.stable_prefix (the kv_write just before
 * writes only the row at pos, which the flag allows). */
enum { F_VIEW = 1, F_BIG = 2, F_STABLE = 4 };

/* Row parameters shared by both kinds of row. */
typedef struct attn_case {
    int64_t n_tokens, n_heads, n_kv, d, n_ctx, pos, window, flags;
    double softcap;
    mlxn_dtype dt;
} attn_case;

static attn_case case_of(const optest_row *r)
{
    attn_case a = {r->i[0], r->i[1], r->i[2], r->i[3], r->i[4], r->i[5], r->i[6], r->i[7],
                   r->f[0], r->t[0]};
    return a;
}

/* Host cache after this chunk's writes: cache[h][pos+t] = round(kv[t][h]). */
static void apply_writes(const attn_case *a, float *cache, const float *kv)
{
    for (int64_t t = 0; t < a->n_tokens; t++)
        for (int64_t h = 0; h < a->n_kv; h++) {
            if (a->pos + t >= a->n_ctx)
                continue;
            for (int64_t i = 0; i < a->d; i++)
                cache[(h * a->n_ctx + a->pos + t) * a->d + i] =
                    ot_round(kv[(t * a->n_kv + h) * a->d + i], a->dt);
        }
}

/* i[0] = n_tokens, i[2] = n_kv_heads, i[3] = head_dim, i[4] = n_ctx,
 * i[5] = pos; t[0] = cache dtype. Output: the whole cache (exact). */
static void run_kv_write(ot_ctx *c, const optest_row *r)
{
    attn_case a = case_of(r);
    int64_t nc = a.n_kv * a.n_ctx * a.d, nk = a.n_tokens * a.n_kv * a.d;
    float *cache = ot_rand(c, nc, -2.0f, 2.0f, a.dt);
    float *kv = ot_rand(c, nk, -2.0f, 2.0f, MLXN_DTYPE_F32);
    if (!cache || !kv)
        return;
    if (ot_dev(c)) {
        int64_t sc[3] = {a.n_kv, a.n_ctx, a.d}, sk[3] = {a.n_tokens, a.n_kv, a.d}, sp[1] = {1};
        int32_t pos = (int32_t)a.pos;
        mlxn_buffer *bc = ot_in(c, a.dt, 3, sc, cache), *bk = ot_in(c, MLXN_DTYPE_F32, 3, sk, kv);
        mlxn_buffer *bp = ot_in(c, MLXN_DTYPE_I32, 1, sp, &pos);
        if (!bp)
            return;
        OT_OK(c, mlxn_op_kv_write(ot_enc(c), bk, bp, bc));
        ot_result(c, bc, NULL, nc);
        return;
    }
    apply_writes(&a, cache, kv);
    double *ref = ot_doubles(c, nc);
    for (int64_t i = 0; ref && i < nc; i++)
        ref[i] = cache[i];
    ot_result(c, NULL, ref, nc);
}

/* Reference attention in double over the written host caches. */
static void ref_attention(const attn_case *a, const float *q, const float *kc, const float *vc,
                          double *out)
{
    double scale = 1.0 / sqrt((double)a->d);
    int64_t group = a->n_heads / a->n_kv;
    double *s = malloc((size_t)a->n_ctx * sizeof *s);
    if (!s)
        return;
    for (int64_t t = 0; t < a->n_tokens; t++)
        for (int64_t h = 0; h < a->n_heads; h++) {
            int64_t qp = a->pos + t, kvh = h / group;
            int64_t hi = qp < a->n_ctx - 1 ? qp : a->n_ctx - 1;
            int64_t lo = a->window > 0 && qp - a->window + 1 > 0 ? qp - a->window + 1 : 0;
            const float *qr = q + (t * a->n_heads + h) * a->d;
            double *o = out + (t * a->n_heads + h) * a->d, mx = -INFINITY, sum = 0;
            for (int64_t i = 0; i < a->d; i++)
                o[i] = 0;
            for (int64_t j = lo; j <= hi; j++) {
                const float *kr = kc + (kvh * a->n_ctx + j) * a->d;
                double dot = 0;
                for (int64_t i = 0; i < a->d; i++)
                    dot += (double)qr[i] * kr[i];
                s[j] = dot * scale;
                if (a->softcap > 0)
                    s[j] = a->softcap * tanh(s[j] / a->softcap);
                mx = s[j] > mx ? s[j] : mx;
            }
            for (int64_t j = lo; j <= hi; j++) {
                double e = exp(s[j] - mx);
                const float *vr = vc + (kvh * a->n_ctx + j) * a->d;
                sum += e;
                for (int64_t i = 0; i < a->d; i++)
                    o[i] += e * vr[i];
            }
            for (int64_t i = 0; sum > 0 && i < a->d; i++)
                o[i] /= sum;
        }
    free(s);
}

/* A tensor of `shape` (first dimension n0) that is a view at one slice
 * (the second of two) of a larger tensor (2 * n0, ...). The parent is
 * returned through *parent for reading it back. */
static mlxn_buffer *view_in_second(ot_ctx *c, mlxn_dtype dt, const int64_t shape[3],
                                   const float *first, const float *second,
                                   mlxn_buffer **parent, mlxn_buffer **view)
{
    int64_t n = shape[0] * shape[1] * shape[2];
    float *both = ot_rand(c, 2 * n, 0.0f, 1.0f, MLXN_DTYPE_F32);
    if (!both)
        return NULL;
    memcpy(both, first, (size_t)n * sizeof *both);
    memcpy(both + n, second, (size_t)n * sizeof *both);
    int64_t big[3] = {2 * shape[0], shape[1], shape[2]};
    *parent = ot_in(c, dt, 3, big, both);
    if (!*parent)
        return NULL;
    OT_OK(c, mlxn_buffer_view(*parent, (size_t)mlxn_dtype_bytes(dt, n), dt, 3, shape, view));
    return *view;
}

/* i[0] = n_tokens, i[1] = n_heads, i[2] = n_kv_heads, i[3] = head_dim,
 * i[4] = n_ctx, i[5] = pos, i[6] = window, i[7] = flags (F_VIEW: the caches
 * are the second layer of a two-layer buffer and the whole K buffer is a
 * second output; F_BIG: inputs in [-3, 3] for peaked softmaxes);
 * f[0] = softcap; t[0] = cache dtype. The chunk's K/V go in with kv_write. */
static void run_attention(ot_ctx *c, const optest_row *r)
{
    attn_case a = case_of(r);
    float mag = (a.flags & F_BIG) ? 3.0f : 1.0f;
    int64_t nq = a.n_tokens * a.n_heads * a.d, nc = a.n_kv * a.n_ctx * a.d;
    int64_t nk = a.n_tokens * a.n_kv * a.d;
    float *q = ot_rand(c, nq, -mag, mag, MLXN_DTYPE_F32);
    float *kc = ot_rand(c, nc, -mag, mag, a.dt), *vc = ot_rand(c, nc, -1.0f, 1.0f, a.dt);
    float *kn = ot_rand(c, nk, -mag, mag, MLXN_DTYPE_F32);
    float *vn = ot_rand(c, nk, -1.0f, 1.0f, MLXN_DTYPE_F32);
    float *layer0 = (a.flags & F_VIEW) ? ot_rand(c, nc, -1.0f, 1.0f, a.dt) : NULL;
    if (!q || !kc || !vc || !kn || !vn || ((a.flags & F_VIEW) && !layer0))
        return;
    if (ot_dev(c)) {
        int64_t sq[3] = {a.n_tokens, a.n_heads, a.d}, sc[3] = {a.n_kv, a.n_ctx, a.d};
        int64_t sk[3] = {a.n_tokens, a.n_kv, a.d}, sp[1] = {1};
        int32_t pos = (int32_t)a.pos;
        mlxn_buffer *bq = ot_in(c, MLXN_DTYPE_F32, 3, sq, q);
        mlxn_buffer *bkn = ot_in(c, MLXN_DTYPE_F32, 3, sk, kn);
        mlxn_buffer *bvn = ot_in(c, MLXN_DTYPE_F32, 3, sk, vn);
        mlxn_buffer *bp = ot_in(c, MLXN_DTYPE_I32, 1, sp, &pos);
        mlxn_buffer *kparent = NULL, *vparent = NULL, *kview = NULL, *vview = NULL;
        mlxn_buffer *bk, *bv;
        if (a.flags & F_VIEW) {
            bk = view_in_second(c, a.dt, sc, layer0, kc, &kparent, &kview);
            bv = view_in_second(c, a.dt, sc, layer0, vc, &vparent, &vview);
        } else {
            bk = ot_in(c, a.dt, 3, sc, kc);
            bv = ot_in(c, a.dt, 3, sc, vc);
        }
        size_t sb = mlxn_attention_scratch_bytes((int)a.n_tokens, (int)a.n_heads, (int)a.d,
                                                 (int)a.n_ctx);
        int64_t ss[1] = {(int64_t)(sb / 4)};
        mlxn_buffer *scratch = sb ? ot_out(c, MLXN_DTYPE_F32, 1, ss) : NULL;
        mlxn_buffer *out = ot_out(c, MLXN_DTYPE_F32, 3, sq);
        if (scratch) /* poisoned, but for its arrival counters (zero by contract) */
            OT_OK(c, mlxn_buffer_fill(scratch, 0, 0, MLXN_ATTENTION_SCRATCH_COUNTER_BYTES));
        if (out && bk && bv && bp && bq && bkn && bvn && (scratch || !sb)) {
            mlxn_attention_params p = mlxn_attention_params_default();
            p.softcap = (float)a.softcap;
            p.window = (int)a.window;
            p.stable_prefix = (a.flags & F_STABLE) != 0;
            OT_OK(c, mlxn_op_kv_write(ot_enc(c), bkn, bp, bk));
            OT_OK(c, mlxn_op_kv_write(ot_enc(c), bvn, bp, bv));
            OT_OK(c, mlxn_op_attention(ot_enc(c), bq, bk, bv, bp, &p, scratch, out));
            ot_result(c, out, NULL, nq);
            if (kparent)
                ot_result(c, kparent, NULL, 2 * nc);
        }
        mlxn_buffer_destroy(kview);
        mlxn_buffer_destroy(vview);
        return;
    }
    apply_writes(&a, kc, kn);
    apply_writes(&a, vc, vn);
    double *ref = ot_doubles(c, nq);
    if (!ref)
        return;
    ref_attention(&a, q, kc, vc, ref);
    ot_result(c, NULL, ref, nq);
    if (a.flags & F_VIEW) {
        double *both = ot_doubles(c, 2 * nc);
        for (int64_t i = 0; both && i < nc; i++) {
            both[i] = layer0[i];
            both[nc + i] = kc[i];
        }
        ot_result(c, NULL, both, 2 * nc);
    }
}

static char kernel_names[64][40];
static int n_kernel_names;

/* A stable copy of the name of the kernel that runs `kind` ("decode" or
 * "prefill") for cache dtype dt and head dim d. */
static const char *kname(const char *kind, const char *dt, int64_t d)
{
    char buf[40];
    if (d == 64 || d == 80 || d == 96 || d == 128 || d == 256)
        snprintf(buf, sizeof buf, "attn_%s_%s_d%d", kind, dt, (int)d);
    else
        snprintf(buf, sizeof buf, "attn_%s_%s_generic", kind, dt);
    for (int i = 0; i < n_kernel_names; i++)
        if (!strcmp(kernel_names[i], buf))
            return kernel_names[i];
    snprintf(kernel_names[n_kernel_names], sizeof kernel_names[0], "%s", buf);
    return kernel_names[n_kernel_names++];
}

static void add_attn(int64_t n_tokens, int64_t n_heads, int64_t n_kv, int64_t d, int64_t n_ctx,
                     int64_t pos, int64_t window, int64_t flags, double softcap, mlxn_dtype dt)
{
    optest_row r = {0};
    const char *dn = mlxn_dtype_name(dt);
    snprintf(r.label, sizeof r.label,
             "attention %s d=%lld tok=%lld heads=%lld/%lld ctx=%lld pos=%lld%s%s%s", dn,
             (long long)d, (long long)n_tokens, (long long)n_heads, (long long)n_kv,
             (long long)n_ctx, (long long)pos, window ? " window" : "",
             softcap > 0 ? " softcap" : "", (flags & F_VIEW) ? " view" : "");
    if (flags & F_STABLE)
        strncat(r.label, " stable-prefix", sizeof r.label - strlen(r.label) - 1);
    r.kernel = kname(n_tokens == 1 ? "decode" : "prefill", dn, d);
    int64_t v[8] = {n_tokens, n_heads, n_kv, d, n_ctx, pos, window, flags};
    memcpy(r.i, v, sizeof v);
    r.f[0] = softcap;
    r.t[0] = dt;
    /* f32: f32 arithmetic over the key range. f16 caches: prefill rounds Q
     * and the probabilities to f16 for the tensor cores (2^-11 relative). */
    r.atol = dt == MLXN_DTYPE_F32 ? 2e-5 : 2e-3;
    r.rtol = dt == MLXN_DTYPE_F32 ? 2e-4 : 1e-2;
    r.nmse = dt == MLXN_DTYPE_F32 ? 1e-8 : 2e-5;
    r.run = run_attention;
    optest_add(&r);
}

static void add_kv_write(int64_t n_tokens, int64_t n_kv, int64_t d, int64_t n_ctx, int64_t pos,
                         mlxn_dtype dt)
{
    optest_row r = {0};
    snprintf(r.label, sizeof r.label, "kv_write %s tok=%lld kv=%lld d=%lld ctx=%lld pos=%lld",
             mlxn_dtype_name(dt), (long long)n_tokens, (long long)n_kv, (long long)d,
             (long long)n_ctx, (long long)pos);
    r.kernel = dt == MLXN_DTYPE_F16 ? "kv_write_f16" : "kv_write_f32";
    int64_t v[8] = {n_tokens, 0, n_kv, d, n_ctx, pos, 0, 0};
    memcpy(r.i, v, sizeof v);
    r.t[0] = dt;
    r.exact = 1;
    r.run = run_kv_write;
    optest_add(&r);
}

OPTEST_ROWS(attention)
{
    static const mlxn_dtype dts[2] = {MLXN_DTYPE_F16, MLXN_DTYPE_F32};
    static const int64_t dims[5] = {64, 80, 96, 128, 256};
    for (int t = 0; t < 2; t++) {
        mlxn_dtype dt = dts[t];
        add_kv_write(1, 1, 64, 1, 0, dt);
        add_kv_write(1, 8, 128, 300, 299, dt);
        add_kv_write(5, 3, 80, 40, 37, dt);   /* two rows fall past the cache */
        add_kv_write(100, 2, 96, 257, 100, dt);
        add_kv_write(7, 2, 40, 10, 20, dt);   /* every row past the cache */
        /* decode with the first tiles loaded before the wait */
        for (int i = 0; i < 5; i++)
            add_attn(1, 8, 2, dims[i], 300, 213, 0, F_STABLE, 0, dt);
        static const int64_t spos[] = {0, 1, 63, 64, 65, 127, 128, 129, 999};
        for (unsigned i = 0; i < sizeof spos / sizeof spos[0]; i++)
            add_attn(1, 32, 8, 128, 1000, spos[i], 0, F_STABLE, 0, dt);
        add_attn(1, 32, 8, 128, 20, 25, 0, F_STABLE, 0, dt);    /* past the cache */
        add_attn(1, 32, 8, 128, 20, 25, 0, 0, 0, dt);
        add_attn(1, 32, 8, 128, 20, 19, 0, F_STABLE, 0, dt);
        add_attn(1, 32, 8, 128, 20, 20, 0, F_STABLE, 0, dt);
        add_attn(1, 4, 2, 128, 500, 400, 100, F_STABLE, 0, dt); /* window */
        add_attn(1, 24, 2, 64, 4096, 3001, 0, F_STABLE | F_BIG, 0, dt);
        add_attn(5, 4, 2, 128, 64, 30, 0, F_STABLE, 0, dt);     /* prefill ignores it */
        /* every head dim: decode and prefill, GQA 2 */
        for (int i = 0; i < 5; i++) {
            add_attn(1, 4, 2, dims[i], 300, 213, 0, 0, 0, dt);
            add_attn(17, 4, 2, dims[i], 100, 5, 0, 0, 0, dt);
            add_attn(100, 2, 1, dims[i], 230, 100, 0, 0, 0, dt);
        }
        /* GQA ratios 1, 2, 4, 8, 12, 16, 17, 32 (decode splits groups past 16
         * heads, or 8 for f32, into head batches) and 7 heads over one */
        static const int64_t gqa[][2] = {{4, 4}, {8, 4}, {8, 2}, {16, 2}, {7, 1}, {24, 2},
                                         {16, 1}, {17, 1}, {32, 1}};
        for (unsigned g = 0; g < sizeof gqa / sizeof gqa[0]; g++) {
            add_attn(1, gqa[g][0], gqa[g][1], 128, 1000, 999, 0, 0, 0, dt);
            add_attn(3, gqa[g][0], gqa[g][1], 128, 64, 30, 0, 0, 0, dt);
        }
        /* prefill lengths, fresh and continuing after earlier chunks */
        static const int64_t lens[] = {3, 17, 100, 257};
        for (unsigned n = 0; n < sizeof lens / sizeof lens[0]; n++) {
            add_attn(lens[n], 4, 1, 128, 300, 0, 0, 0, 0, dt);
            add_attn(lens[n], 2, 2, 64, 600, 301, 0, 0, 0, dt);
        }
        add_attn(257, 2, 1, 256, 257, 0, 0, 0, 0, dt);
        add_attn(130, 3, 1, 80, 500, 64, 0, 0, 0, dt);
        /* short caches and first tokens */
        add_attn(1, 2, 1, 64, 1, 0, 0, 0, 0, dt);
        add_attn(1, 4, 2, 128, 50, 0, 0, 0, 0, dt);
        add_attn(2, 2, 1, 96, 2, 0, 0, 0, 0, dt);
        /* softcap and sliding windows, with peaked scores */
        add_attn(1, 8, 2, 128, 700, 650, 0, F_BIG, 5.0, dt);
        add_attn(33, 4, 2, 256, 200, 120, 0, F_BIG, 5.0, dt);
        add_attn(1, 8, 2, 128, 700, 650, 64, F_BIG, 0, dt);
        add_attn(1, 4, 4, 64, 4097, 4096, 100, 0, 0, dt);
        add_attn(100, 4, 2, 128, 400, 150, 32, F_BIG, 0, dt);
        add_attn(70, 2, 1, 80, 200, 0, 17, 0, 30.0, dt);
        add_attn(5, 2, 1, 64, 300, 3, 1, 0, 0, dt);
        /* caches as the second layer of a two-layer buffer */
        add_attn(1, 4, 2, 128, 129, 100, 0, F_VIEW, 0, dt);
        add_attn(19, 4, 2, 96, 129, 40, 0, F_VIEW, 0, dt);
        /* generic head dims: decode and prefill, GQA 2 and odd ratios */
        static const int64_t gdims[7] = {2, 8, 16, 32, 48, 72, 200};
        for (int i = 0; i < 7; i++) {
            add_attn(1, 4, 2, gdims[i], 300, 213, 0, 0, 0, dt);
            add_attn(1, 7, 1, gdims[i], 97, 96, 0, 0, 0, dt);
            add_attn(17, 4, 2, gdims[i], 100, 5, 0, 0, 0, dt);
            add_attn(37, 6, 2, gdims[i], 230, 100, 0, 0, 0, dt);
        }
        /* the tiny Llama oracle (8 heads over 4, head_dim 8, context 512) */
        add_attn(1, 8, 4, 8, 512, 0, 0, 0, 0, dt);
        add_attn(1, 8, 4, 8, 512, 511, 0, 0, 0, dt);
        add_attn(1, 8, 4, 8, 512, 700, 0, 0, 0, dt); /* past the cache */
        add_attn(64, 8, 4, 8, 512, 0, 0, 0, 0, dt);
        add_attn(130, 8, 4, 8, 512, 400, 0, 0, 0, dt);
        /* generic: GQA past the head batch, softcap, windows, views */
        add_attn(1, 17, 1, 72, 500, 450, 0, F_BIG, 5.0, dt);
        add_attn(1, 24, 2, 8, 700, 650, 64, F_BIG, 0, dt);
        add_attn(33, 4, 2, 200, 200, 120, 0, F_BIG, 5.0, dt);
        add_attn(70, 3, 1, 48, 200, 0, 17, 0, 30.0, dt);
        add_attn(5, 2, 1, 2, 300, 3, 1, 0, 0, dt);
        add_attn(1, 4, 2, 16, 129, 100, 0, F_VIEW, 0, dt);
        add_attn(19, 4, 2, 72, 129, 40, 0, F_VIEW, 0, dt);
        add_kv_write(3, 4, 8, 512, 510, dt); /* one row past the cache */
        add_kv_write(9, 2, 2, 20, 3, dt);
        add_kv_write(2, 3, 200, 7, 5, dt);
    }
    /* long contexts */
    add_attn(1, 8, 1, 128, 4097, 4096, 0, 0, 0, MLXN_DTYPE_F16);
    add_attn(1, 4, 1, 128, 32768, 32767, 0, 0, 0, MLXN_DTYPE_F16);
    add_attn(1, 2, 1, 64, 32768, 20000, 0, 0, 0, MLXN_DTYPE_F32);
    add_attn(17, 4, 1, 128, 4097, 4000, 0, 0, 0, MLXN_DTYPE_F16);
    add_attn(64, 2, 1, 64, 4200, 4100, 0, 0, 0, MLXN_DTYPE_F32);
    add_attn(1, 8, 4, 8, 32768, 30000, 0, 0, 0, MLXN_DTYPE_F16);
    add_attn(1, 2, 1, 200, 8192, 8191, 0, 0, 0, MLXN_DTYPE_F32);
}
