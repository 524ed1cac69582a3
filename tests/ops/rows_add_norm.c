/*
 * rows_add_norm.c: op-table rows for the fused residual add + RMS norm
 * (weights in f32, f16, bf16): odd widths, size 1, Llama widths, views at
 * unaligned offsets and sum written in place over x or over residual.
 */
#include "ops/kern_rows.h"

#include <math.h>
#include <stdio.h>

/* i[0] = rows, i[1] = n, i[2] = view offset (elements), i[3] = sum
 * aliases 0 nothing, 1 x, 2 residual; t[0] = weight dtype. Outputs: sum,
 * then norm. */
static void run_add_norm(ot_ctx *c, const optest_row *r)
{
    int64_t rows = r->i[0], n = r->i[1], skip = r->i[2], total = rows * n;
    mlxn_dtype wt = r->t[0];
    float *x = ot_rand(c, total + skip, -3.0f, 3.0f, MLXN_DTYPE_F32);
    float *res = ot_rand(c, total + skip, -3.0f, 3.0f, MLXN_DTYPE_F32);
    float *w = ot_rand(c, n, 0.5f, 1.5f, wt);
    if (!x || !res || !w)
        return;
    float eps = 1e-5f;
    if (ot_dev(c)) {
        kr_views v = {0};
        int64_t sh[2] = {rows, n}, shp[1] = {total + skip}, sw[1] = {n};
        mlxn_buffer *bx = kr_view(c, &v, ot_in(c, MLXN_DTYPE_F32, 1, shp, x), skip,
                                  MLXN_DTYPE_F32, 2, sh, 0);
        mlxn_buffer *br = kr_view(c, &v, ot_in(c, MLXN_DTYPE_F32, 1, shp, res), skip,
                                  MLXN_DTYPE_F32, 2, sh, 0);
        mlxn_buffer *bw = ot_in(c, wt, 1, sw, w);
        mlxn_buffer *sum = r->i[3] == 1   ? bx
                           : r->i[3] == 2 ? br
                                          : kr_view(c, &v, ot_out(c, MLXN_DTYPE_F32, 1, shp),
                                                    skip, MLXN_DTYPE_F32, 2, sh, 1);
        mlxn_buffer *norm = kr_view(c, &v, ot_out(c, MLXN_DTYPE_F32, 1, shp), skip,
                                    MLXN_DTYPE_F32, 2, sh, 1);
        if (sum && norm) {
            OT_OK(c, mlxn_op_add_rms_norm(ot_enc(c), bx, br, bw, eps, sum, norm));
            ot_result(c, sum, NULL, total);
            ot_result(c, norm, NULL, total);
        }
        kr_finish(c, &v);
        return;
    }
    double *rsum = ot_doubles(c, total), *rnorm = ot_doubles(c, total);
    for (int64_t row = 0; row < rows; row++) {
        double ss = 0;
        for (int64_t j = 0; j < n; j++) {
            /* the kernel's sum is an f32 addition: so is the reference's */
            float s = x[skip + row * n + j] + res[skip + row * n + j];
            rsum[row * n + j] = s;
            ss += (double)s * s;
        }
        double inv = 1.0 / sqrt(ss / (double)n + eps);
        for (int64_t j = 0; j < n; j++)
            rnorm[row * n + j] = rsum[row * n + j] * inv * w[j];
    }
    ot_result(c, NULL, rsum, total);
    ot_result(c, NULL, rnorm, total);
}

OPTEST_ROWS(add_norm)
{
    static const mlxn_dtype dts[3] = {MLXN_DTYPE_F32, MLXN_DTYPE_F16, MLXN_DTYPE_BF16};
    static const char *names[3] = {"add_rms_norm_mul_f32", "add_rms_norm_mul_f16",
                                   "add_rms_norm_mul_bf16"};
    static const int64_t shapes[][2] = {{1, 1}, {1, 8}, {3, 64}, {7, 100}, {2, 4096},
                                        {5, 4097}, {1, 5120}, {33, 129}, {1, 8192}};
    for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int w = 0; w < 3; w++)
            for (int variant = 0; variant < 4; variant++) {
                if (variant && (w != 0 || (shapes[s][1] != 129 && shapes[s][1] != 4097)))
                    continue;
                optest_row r = {0};
                r.i[0] = shapes[s][0];
                r.i[1] = shapes[s][1];
                r.i[2] = variant == 3 ? 3 : 0;
                r.i[3] = variant == 1 ? 1 : variant == 2 ? 2 : 0;
                r.t[0] = dts[w];
                snprintf(r.label, sizeof r.label, "add_rms_norm w=%s rows=%lld n=%lld%s",
                         mlxn_dtype_name(dts[w]), (long long)shapes[s][0],
                         (long long)shapes[s][1],
                         variant == 1   ? " sum=x"
                         : variant == 2 ? " sum=residual"
                         : variant == 3 ? " view+3"
                                        : "");
                r.kernel = names[w];
                r.atol = 1e-5;
                r.rtol = 1e-5;
                r.nmse = 1e-10;
                r.run = run_add_norm;
                optest_add(&r);
            }
}
