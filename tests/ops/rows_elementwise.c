/*
 * rows_elementwise.c: op-table rows for add, mul, scale (f32, f16, bf16)
 * and RMS norm with and without the fused weight multiply.
 */
#include "ops/optest.h"

#include <math.h>
#include <stdio.h>

/* i[0] = n (elements of a), i[1] = nb (elements of b), i[2] = op
 * (0 add, 1 mul, 2 scale); t[0] = dtype; f[0] = scale. */
static void run_ew(ot_ctx *c, const optest_row *r)
{
    int64_t n = r->i[0], nb = r->i[1];
    mlxn_dtype dt = r->t[0];
    float *a = ot_rand(c, n, -2.0f, 2.0f, dt);
    float *b = ot_rand(c, nb, -2.0f, 2.0f, dt);
    if (!a || !b)
        return;
    if (ot_dev(c)) {
        int64_t sa[1] = {n}, sb[1] = {nb};
        mlxn_buffer *ba = ot_in(c, dt, 1, sa, a), *bb = ot_in(c, dt, 1, sb, b);
        mlxn_buffer *out = ot_out(c, dt, 1, sa);
        if (!out)
            return;
        if (r->i[2] == 0)
            OT_OK(c, mlxn_op_add(ot_enc(c), ba, bb, out));
        else if (r->i[2] == 1)
            OT_OK(c, mlxn_op_mul(ot_enc(c), ba, bb, out));
        else
            OT_OK(c, mlxn_op_scale(ot_enc(c), ba, (float)r->f[0], out));
        ot_result(c, out, NULL, n);
        return;
    }
    double *ref = ot_doubles(c, n);
    for (int64_t i = 0; i < n; i++) {
        double x = a[i], y = b[i % nb];
        double v = r->i[2] == 0 ? x + y : r->i[2] == 1 ? x * y : x * (double)(float)r->f[0];
        ref[i] = ot_round((float)v, dt);
    }
    ot_result(c, NULL, ref, n);
}

/* i[0] = rows, i[1] = n, i[2] = has weight; t[0] = weight dtype. */
static void run_norm(ot_ctx *c, const optest_row *r)
{
    int64_t rows = r->i[0], n = r->i[1];
    mlxn_dtype wt = r->t[0];
    float *x = ot_rand(c, rows * n, -3.0f, 3.0f, MLXN_DTYPE_F32);
    float *w = ot_rand(c, n, 0.5f, 1.5f, wt);
    if (!x || !w)
        return;
    float eps = 1e-5f;
    if (ot_dev(c)) {
        int64_t sx[2] = {rows, n}, sw[1] = {n};
        mlxn_buffer *bx = ot_in(c, MLXN_DTYPE_F32, 2, sx, x);
        mlxn_buffer *bw = r->i[2] ? ot_in(c, wt, 1, sw, w) : NULL;
        mlxn_buffer *out = ot_out(c, MLXN_DTYPE_F32, 2, sx);
        if (!out)
            return;
        OT_OK(c, mlxn_op_rms_norm(ot_enc(c), bx, bw, eps, out));
        ot_result(c, out, NULL, rows * n);
        return;
    }
    double *ref = ot_doubles(c, rows * n);
    for (int64_t row = 0; row < rows; row++) {
        double ss = 0;
        for (int64_t j = 0; j < n; j++)
            ss += (double)x[row * n + j] * x[row * n + j];
        double inv = 1.0 / sqrt(ss / (double)n + eps);
        for (int64_t j = 0; j < n; j++)
            ref[row * n + j] = x[row * n + j] * inv * (r->i[2] ? w[j] : 1.0);
    }
    ot_result(c, NULL, ref, rows * n);
}

static double ew_tol(mlxn_dtype dt)
{
    return dt == MLXN_DTYPE_F32 ? 1e-6 : dt == MLXN_DTYPE_F16 ? 1e-3 : 8e-3;
}

OPTEST_ROWS(elementwise)
{
    static const mlxn_dtype dts[3] = {MLXN_DTYPE_F32, MLXN_DTYPE_F16, MLXN_DTYPE_BF16};
    static const char *ops[3] = {"add", "mul", "scale"};
    static const int64_t sizes[][2] = {{1, 1}, {31, 31}, {1000, 1000}, {4097, 4097},
                                       {128 * 7, 128}, {3 * 333, 333}, {65536 + 5, 1}};
    for (int op = 0; op < 3; op++)
        for (int d = 0; d < 3; d++)
            for (unsigned s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                if (op == 2 && sizes[s][1] != sizes[s][0])
                    continue;
                optest_row r = {0};
                snprintf(r.label, sizeof r.label, "%s %s n=%lld nb=%lld", ops[op],
                         mlxn_dtype_name(dts[d]), (long long)sizes[s][0],
                         (long long)sizes[s][1]);
                static char names[3][3][16];
                snprintf(names[op][d], sizeof names[op][d], "%s_%s", ops[op],
                         mlxn_dtype_name(dts[d]));
                r.kernel = names[op][d];
                r.i[0] = sizes[s][0];
                r.i[1] = sizes[s][1];
                r.i[2] = op;
                r.f[0] = 0.37;
                r.t[0] = dts[d];
                /* Results are rounded to the dtype: allow one rounding step. */
                r.atol = 1e-6;
                r.rtol = ew_tol(dts[d]);
                r.nmse = 1e-5;
                r.run = run_ew;
                optest_add(&r);
            }
    static const int64_t shapes[][2] = {{1, 1}, {1, 8}, {3, 64}, {7, 100}, {2, 4096},
                                        {5, 4097}, {1, 5120}, {33, 129}};
    static const char *wnames[3] = {"rms_norm_mul_f32", "rms_norm_mul_f16", "rms_norm_mul_bf16"};
    for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int w = -1; w < 3; w++) {
            optest_row r = {0};
            snprintf(r.label, sizeof r.label, "rms_norm%s%s rows=%lld n=%lld",
                     w < 0 ? "" : " w=", w < 0 ? "" : mlxn_dtype_name(dts[w]),
                     (long long)shapes[s][0], (long long)shapes[s][1]);
            r.kernel = w < 0 ? "rms_norm_f32" : wnames[w];
            r.i[0] = shapes[s][0];
            r.i[1] = shapes[s][1];
            r.i[2] = w >= 0;
            r.t[0] = w < 0 ? MLXN_DTYPE_F32 : dts[w];
            r.atol = 1e-5;
            r.rtol = 1e-5;
            r.nmse = 1e-10;
            r.run = run_norm;
            optest_add(&r);
        }
}
