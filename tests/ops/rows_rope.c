/*
 * rows_rope.c: op-table rows for RoPE, interleaved and NeoX pairs: head
 * dims 64, 80, 96, 128, 256, partial rotation (n_rot < head_dim),
 * frequency factors, linear scaling, positions past 4096 (to 500k),
 * in place, a view at an offset.
 */
#include "ops/kern_rows.h"

#include <math.h>
#include <stdio.h>

/* i[0] = n_tokens, i[1] = n_heads, i[2] = head_dim, i[3] = n_rot,
 * i[4] = mode, i[5] = factors, i[6] = max position, i[7] = 0 plain,
 * 1 in place, 2 view at +2 elements; f[0] = theta_base, f[1] = freq_scale. */
static void run_rope(ot_ctx *c, const optest_row *r)
{
    int64_t nt = r->i[0], nh = r->i[1], hd = r->i[2], n_rot = r->i[3];
    int64_t total = nt * nh * hd, skip = r->i[7] == 2 ? 2 : 0;
    float *x = ot_rand(c, total + skip, -2.0f, 2.0f, MLXN_DTYPE_F32);
    int32_t *pos = ot_rand_int(c, nt, (int32_t)r->i[6]);
    float *fac = ot_rand(c, n_rot / 2, 1.0f, 8.0f, MLXN_DTYPE_F32);
    if (!x || !pos || !fac)
        return;
    mlxn_rope_params p = mlxn_rope_params_default();
    p.mode = r->i[4] ? MLXN_ROPE_NEOX : MLXN_ROPE_INTERLEAVED;
    p.n_rot = (int)n_rot;
    p.theta_base = (float)r->f[0];
    p.freq_scale = (float)r->f[1];
    if (ot_dev(c)) {
        kr_views v = {0};
        int64_t sh[3] = {nt, nh, hd}, shp[1] = {total + skip}, sp[1] = {nt}, sf[1] = {n_rot / 2};
        mlxn_buffer *bx = kr_view(c, &v, ot_in(c, MLXN_DTYPE_F32, 1, shp, x), skip,
                                  MLXN_DTYPE_F32, 3, sh, 0);
        mlxn_buffer *bp = ot_in(c, MLXN_DTYPE_I32, 1, sp, pos);
        mlxn_buffer *bf = r->i[5] ? ot_in(c, MLXN_DTYPE_F32, 1, sf, fac) : NULL;
        mlxn_buffer *out = r->i[7] == 1 ? bx
                                        : kr_view(c, &v, ot_out(c, MLXN_DTYPE_F32, 1, shp),
                                                  skip, MLXN_DTYPE_F32, 3, sh, 1);
        if (out) {
            OT_OK(c, mlxn_op_rope(ot_enc(c), bx, bp, bf, &p, out));
            ot_result(c, out, NULL, total);
        }
        kr_finish(c, &v);
        return;
    }
    double *ref = ot_doubles(c, total);
    int64_t half = n_rot / 2;
    for (int64_t t = 0; t < nt; t++)
        for (int64_t h = 0; h < nh; h++) {
            const float *xh = x + skip + (t * nh + h) * hd;
            double *o = ref + (t * nh + h) * hd;
            for (int64_t d = n_rot; d < hd; d++)
                o[d] = xh[d];
            for (int64_t i = 0; i < half; i++) {
                double ang = (double)pos[t] * (double)p.freq_scale *
                             pow((double)p.theta_base, -2.0 * (double)i / (double)n_rot);
                if (r->i[5])
                    ang /= fac[i];
                int64_t a = r->i[4] ? i : 2 * i, b = r->i[4] ? i + half : 2 * i + 1;
                o[a] = xh[a] * cos(ang) - xh[b] * sin(ang);
                o[b] = xh[a] * sin(ang) + xh[b] * cos(ang);
            }
        }
    ot_result(c, NULL, ref, total);
}

OPTEST_ROWS(rope)
{
    static const int64_t dims[][2] = {{64, 64}, {80, 80}, {96, 96}, {128, 128}, {256, 256},
                                      {128, 64}, {80, 32}, {96, 2}, {256, 128}};
    static const int64_t sizes[][3] = {{1, 32, 4096}, {3, 5, 100000}, {17, 2, 500000}};
    for (int mode = 0; mode < 2; mode++)
        for (unsigned d = 0; d < sizeof dims / sizeof dims[0]; d++)
            for (unsigned s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                int variant = (int)((d + s) % 4); /* 0 plain, 1 in place, 2 view, 3 factors */
                optest_row r = {0};
                r.i[0] = sizes[s][0];
                r.i[1] = sizes[s][1];
                r.i[2] = dims[d][0];
                r.i[3] = dims[d][1];
                r.i[4] = mode;
                r.i[5] = variant == 3 || (s == 2 && d % 2);
                r.i[6] = sizes[s][2];
                r.i[7] = variant == 1 ? 1 : variant == 2 ? 2 : 0;
                r.f[0] = s == 2 ? 500000.0 : 10000.0;
                r.f[1] = s == 1 ? 0.25 : 1.0;
                snprintf(r.label, sizeof r.label,
                         "rope %s tokens=%lld heads=%lld dim=%lld rot=%lld pos<%lld%s%s%s",
                         mode ? "neox" : "interleaved", (long long)r.i[0], (long long)r.i[1],
                         (long long)r.i[2], (long long)r.i[3], (long long)r.i[6],
                         r.i[5] ? " factors" : "", r.i[7] == 1 ? " in-place" : "",
                         r.i[7] == 2 ? " view+2" : "");
                r.kernel = mode ? "rope_neox_f32" : "rope_interleaved_f32";
                /* cos/sin are rounded to f32 before the rotation */
                r.atol = 2e-6;
                r.rtol = 1e-5;
                r.nmse = 1e-11;
                r.run = run_rope;
                optest_add(&r);
            }
}
