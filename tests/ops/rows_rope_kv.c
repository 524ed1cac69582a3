/*
 * rows_rope_kv.c: op-table rows for the fused RoPE + KV-cache write. The
 * float64 reference rotates with angles computed as the kernels do and
 * writes the caches; rows cover both pair orders, partial rotation,
 * frequency factors, f16 and f32 caches, GQA shapes and cache overflow.
 */
#include "ops/optest.h"

#include <math.h>
#include <stdio.h>

/* i[0] n_tokens, i[1] n_head, i[2] n_kv, i[3] head_dim, i[4] n_rot,
 * i[5] n_ctx, i[6] cache row of token 0, i[7] neox | 2 * factors |
 * 4 * stable_positions (angles before the wait on CUDA);
 * t[0] cache dtype. */
static void run_rope_kv(ot_ctx *c, const optest_row *r)
{
    int64_t T = r->i[0], H = r->i[1], KV = r->i[2], D = r->i[3], R = r->i[4], C = r->i[5];
    int64_t pos0 = r->i[6];
    int neox = (int)(r->i[7] & 1), has_ff = (int)(r->i[7] >> 1 & 1);
    mlxn_dtype ct = r->t[0];
    float *q = ot_rand(c, T * H * D, -2, 2, MLXN_DTYPE_F32);
    float *k = ot_rand(c, T * KV * D, -2, 2, MLXN_DTYPE_F32);
    float *v = ot_rand(c, T * KV * D, -2, 2, MLXN_DTYPE_F32);
    float *kc0 = ot_rand(c, KV * C * D, -1, 1, ct), *vc0 = ot_rand(c, KV * C * D, -1, 1, ct);
    float *ff = ot_rand(c, R / 2, 0.5f, 4.0f, MLXN_DTYPE_F32);
    int32_t *positions = ot_rand_int(c, T, 100000);
    if (!q || !k || !v || !kc0 || !vc0 || !ff || !positions)
        return;
    mlxn_rope_params rp = mlxn_rope_params_default();
    rp.mode = neox ? MLXN_ROPE_NEOX : MLXN_ROPE_INTERLEAVED;
    rp.n_rot = (int)R;
    rp.theta_base = 500000.0f;
    rp.freq_scale = 0.5f;
    if (ot_dev(c)) {
        int64_t sq[3] = {T, H, D}, skv[3] = {T, KV, D}, sc[3] = {KV, C, D}, st[1] = {T};
        int64_t s1[1] = {1}, sf[1] = {R / 2};
        int32_t p0 = (int32_t)pos0;
        mlxn_rope_kv_args a = {0};
        a.q = ot_in(c, MLXN_DTYPE_F32, 3, sq, q);
        a.k = ot_in(c, MLXN_DTYPE_F32, 3, skv, k);
        a.v = ot_in(c, MLXN_DTYPE_F32, 3, skv, v);
        a.positions = ot_in(c, MLXN_DTYPE_I32, 1, st, positions);
        a.freq_factors = has_ff ? ot_in(c, MLXN_DTYPE_F32, 1, sf, ff) : NULL;
        a.pos = ot_in(c, MLXN_DTYPE_I32, 1, s1, &p0);
        a.k_cache = ot_in(c, ct, 3, sc, kc0);
        a.v_cache = ot_in(c, ct, 3, sc, vc0);
        a.rope = &rp;
        a.stable_positions = (int)(r->i[7] >> 2 & 1);
        if (!a.v_cache)
            return;
        OT_OK(c, mlxn_op_rope_kv_write(ot_enc(c), &a));
        ot_result(c, a.q, NULL, T * H * D);
        ot_result(c, a.k_cache, NULL, KV * C * D);
        ot_result(c, a.v_cache, NULL, KV * C * D);
        return;
    }
    double *oq = ot_doubles(c, T * H * D), *okc = ot_doubles(c, KV * C * D),
           *ovc = ot_doubles(c, KV * C * D);
    for (int64_t i = 0; i < KV * C * D; i++) {
        okc[i] = kc0[i];
        ovc[i] = vc0[i];
    }
    for (int64_t t = 0; t < T; t++) {
        float cs[256], sn[256];
        for (int64_t i = 0; i < R / 2; i++) {
            double ang = (double)positions[t] * 0.5 * pow(500000.0, -2.0 * (double)i / (double)R);
            if (has_ff)
                ang /= (double)ff[i];
            cs[i] = (float)cos(ang);
            sn[i] = (float)sin(ang);
        }
        int64_t row = pos0 + t;
        for (int64_t rr = 0; rr < H + KV; rr++) {
            int is_q = rr < H;
            const float *x = is_q ? q + (t * H + rr) * D : k + (t * KV + rr - H) * D;
            double o[512];
            for (int64_t i = 0; i < R / 2; i++) {
                int64_t a = neox ? i : 2 * i, b = neox ? i + R / 2 : 2 * i + 1;
                o[a] = (double)x[a] * cs[i] - (double)x[b] * sn[i];
                o[b] = (double)x[a] * sn[i] + (double)x[b] * cs[i];
            }
            for (int64_t d = R; d < D; d++)
                o[d] = x[d];
            for (int64_t d = 0; d < D; d++) {
                if (is_q)
                    oq[(t * H + rr) * D + d] = o[d];
                else if (row < C)
                    okc[((rr - H) * C + row) * D + d] = ot_round((float)o[d], ct);
            }
        }
        for (int64_t h = 0; row < C && h < KV; h++)
            for (int64_t d = 0; d < D; d++)
                ovc[(h * C + row) * D + d] = ot_round(v[(t * KV + h) * D + d], ct);
    }
    ot_result(c, NULL, oq, T * H * D);
    ot_result(c, NULL, okc, KV * C * D);
    ot_result(c, NULL, ovc, KV * C * D);
}

OPTEST_ROWS(rope_kv)
{
    /* T, H, KV, D, R, C, pos0, flags */
    static const int64_t cases[][8] = {
        {1, 8, 4, 8, 8, 16, 5, 0},       {1, 32, 8, 128, 128, 64, 63, 2},
        {1, 7, 1, 64, 32, 9, 3, 1},      {3, 6, 2, 64, 64, 8, 6, 3},
        {5, 4, 4, 80, 80, 12, 0, 1},     {2, 12, 3, 256, 192, 4, 3, 0},
        {1, 2, 2, 96, 96, 4, 9, 1},
        /* stable positions: the angles before the wait */
        {1, 32, 8, 128, 128, 64, 63, 4}, {3, 6, 2, 64, 64, 8, 6, 7},
        {1, 8, 4, 8, 8, 16, 16, 6},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int f16 = 0; f16 < 2; f16++) {
            optest_row r = {0};
            const int64_t *x = cases[i];
            snprintf(r.label, sizeof r.label,
                     "rope_kv %s T=%lld H=%lld KV=%lld D=%lld rot=%lld ctx=%lld pos=%lld %s%s%s",
                     f16 ? "f16" : "f32", (long long)x[0], (long long)x[1], (long long)x[2],
                     (long long)x[3], (long long)x[4], (long long)x[5], (long long)x[6],
                     (x[7] & 1) ? "neox" : "interleaved", (x[7] & 2) ? " factors" : "",
                     (x[7] & 4) ? " stable" : "");
            r.kernel = f16 ? "rope_kv_f16" : "rope_kv_f32";
            for (int j = 0; j < 8; j++)
                r.i[j] = x[j];
            r.t[0] = f16 ? MLXN_DTYPE_F16 : MLXN_DTYPE_F32;
            /* one f32 rounding of the rotation, then the cache's rounding;
             * that f32 rounding can move a value across an f16 rounding
             * boundary (a 1-ulp flip adds ~2.4e-7 / elements to the
             * normalised MSE: 1e-8 allows one in ~25 elements) */
            r.atol = 1e-6;
            r.rtol = f16 ? 1e-3 : 1e-6;
            r.nmse = f16 ? 1e-8 : 1e-10;
            r.run = run_rope_kv;
            optest_add(&r);
        }
}
