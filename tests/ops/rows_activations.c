/*
 * rows_activations.c: op-table rows for silu_mul, gelu (erf, tanh),
 * softcap, softmax and argmax: odd sizes, size 1, non-multiples of 32 and
 * 128, a 128256-entry vocabulary row, views at unaligned offsets, in-place
 * outputs, ties and NaN/-inf for argmax.
 */
#include "ops/kern_rows.h"

#include <math.h>
#include <stdio.h>

enum { PW_SILU_MUL, PW_GELU_ERF, PW_GELU_TANH, PW_SOFTCAP };
static const char *pw_kernels[4] = {"silu_mul_f32", "gelu_erf_f32", "gelu_tanh_f32", "softcap_f32"};

/* i[0] = n, i[1] = op, i[2] = view offset (elements), i[3] = in place;
 * f[0] = softcap cap. */
static void run_pointwise(ot_ctx *c, const optest_row *r)
{
    int64_t n = r->i[0], skip = r->i[2];
    int op = (int)r->i[1];
    float lo = op == PW_SOFTCAP ? -100.0f : -6.0f;
    float *x = ot_rand(c, n + skip, lo, -lo, MLXN_DTYPE_F32);
    float *up = ot_rand(c, n + skip, -2.0f, 2.0f, MLXN_DTYPE_F32);
    if (!x || !up)
        return;
    float cap = (float)r->f[0];
    if (ot_dev(c)) {
        kr_views v = {0};
        int64_t sh[1] = {n}, shp[1] = {n + skip}, sho[1] = {n + skip + 3};
        mlxn_buffer *bx = kr_view(c, &v, ot_in(c, MLXN_DTYPE_F32, 1, shp, x), skip,
                                  MLXN_DTYPE_F32, 1, sh, 0);
        mlxn_buffer *bu = kr_view(c, &v, ot_in(c, MLXN_DTYPE_F32, 1, shp, up), skip,
                                  MLXN_DTYPE_F32, 1, sh, 0);
        mlxn_buffer *out = r->i[3] ? bx
                                   : kr_view(c, &v, ot_out(c, MLXN_DTYPE_F32, 1, sho), skip,
                                             MLXN_DTYPE_F32, 1, sh, 1);
        if (out) {
            mlxn_encoder *e = ot_enc(c);
            if (op == PW_SILU_MUL)
                OT_OK(c, mlxn_op_silu_mul(e, bx, bu, out));
            else if (op == PW_SOFTCAP)
                OT_OK(c, mlxn_op_softcap(e, bx, cap, out));
            else
                OT_OK(c, mlxn_op_gelu(e, bx, op == PW_GELU_ERF ? MLXN_GELU_ERF : MLXN_GELU_TANH,
                                      out));
            ot_result(c, out, NULL, n);
        }
        kr_finish(c, &v);
        return;
    }
    double *ref = ot_doubles(c, n);
    for (int64_t i = 0; i < n; i++) {
        double a = x[skip + i];
        if (op == PW_SILU_MUL)
            ref[i] = a / (1.0 + exp(-a)) * up[skip + i];
        else if (op == PW_GELU_ERF)
            ref[i] = 0.5 * a * (1.0 + erf(a / sqrt(2.0)));
        else if (op == PW_GELU_TANH)
            ref[i] = 0.5 * a * (1.0 + tanh(sqrt(2.0 / M_PI) * (a + 0.044715 * a * a * a)));
        else
            ref[i] = cap * tanh(a / cap);
    }
    ot_result(c, NULL, ref, n);
}

/* i[0] = rows, i[1] = n, i[2] = view offset, i[3] = in place; f[0] = scale. */
static void run_softmax(ot_ctx *c, const optest_row *r)
{
    int64_t rows = r->i[0], n = r->i[1], skip = r->i[2], total = rows * n;
    float *x = ot_rand(c, total + skip, -10.0f, 10.0f, MLXN_DTYPE_F32);
    if (!x)
        return;
    float scale = (float)r->f[0];
    if (ot_dev(c)) {
        kr_views v = {0};
        int64_t sh[2] = {rows, n}, shp[1] = {total + skip};
        mlxn_buffer *bx = kr_view(c, &v, ot_in(c, MLXN_DTYPE_F32, 1, shp, x), skip,
                                  MLXN_DTYPE_F32, 2, sh, 0);
        mlxn_buffer *out = r->i[3] ? bx
                                   : kr_view(c, &v, ot_out(c, MLXN_DTYPE_F32, 1, shp), skip,
                                             MLXN_DTYPE_F32, 2, sh, 1);
        if (out) {
            OT_OK(c, mlxn_op_softmax(ot_enc(c), bx, scale, out));
            ot_result(c, out, NULL, total);
        }
        kr_finish(c, &v);
        return;
    }
    double *ref = ot_doubles(c, total);
    for (int64_t row = 0; row < rows; row++) {
        const float *xr = x + skip + row * n;
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j < n; j++)
            mx = fmax(mx, (double)xr[j] * scale);
        for (int64_t j = 0; j < n; j++)
            sum += exp((double)xr[j] * scale - mx);
        for (int64_t j = 0; j < n; j++)
            ref[row * n + j] = exp((double)xr[j] * scale - mx) / sum;
    }
    ot_result(c, NULL, ref, total);
}

/* i[0] = rows, i[1] = n, i[2] = view offset, i[3] = values: 0 random,
 * 1 few distinct values (ties), 2 with NaN and -inf entries. */
static void run_argmax(ot_ctx *c, const optest_row *r)
{
    int64_t rows = r->i[0], n = r->i[1], skip = r->i[2], total = rows * n;
    float *x = ot_rand(c, total + skip, -5.0f, 5.0f, MLXN_DTYPE_F32);
    int32_t *pick = ot_rand_int(c, total + skip, 16);
    if (!x || !pick)
        return;
    for (int64_t i = 0; i < total + skip; i++) {
        if (r->i[3] == 1)
            x[i] = floorf(x[i]); /* 10 distinct values: many ties */
        else if (r->i[3] == 2 && pick[i] < 3)
            x[i] = pick[i] == 0 ? NAN : -INFINITY;
    }
    if (ot_dev(c)) {
        kr_views v = {0};
        int64_t sh[2] = {rows, n}, shp[1] = {total + skip}, so[1] = {rows}, sop[1] = {rows + 2};
        mlxn_buffer *bx = kr_view(c, &v, ot_in(c, MLXN_DTYPE_F32, 1, shp, x), skip,
                                  MLXN_DTYPE_F32, 2, sh, 0);
        mlxn_buffer *out = kr_view(c, &v, ot_out(c, MLXN_DTYPE_I32, 1, sop), 1, MLXN_DTYPE_I32,
                                   1, so, 1);
        if (out) {
            OT_OK(c, mlxn_op_argmax(ot_enc(c), bx, out));
            ot_result(c, out, NULL, rows);
        }
        kr_finish(c, &v);
        return;
    }
    double *ref = ot_doubles(c, rows);
    for (int64_t row = 0; row < rows; row++) {
        const float *xr = x + skip + row * n;
        int64_t best = 0; /* NaN counts as -inf; ties keep the lower index */
        double bv = isnan(xr[0]) ? -INFINITY : xr[0];
        for (int64_t j = 1; j < n; j++)
            if (!isnan(xr[j]) && xr[j] > bv) {
                bv = xr[j];
                best = j;
            }
        ref[row] = (double)best;
    }
    ot_result(c, NULL, ref, rows);
}

OPTEST_ROWS(activations)
{
    static const int64_t sizes[] = {1, 31, 1000, 4097, 14336, 65536 + 5};
    for (int op = 0; op < 4; op++)
        for (unsigned s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (int variant = 0; variant < 3; variant++) {
                if (variant && sizes[s] != 1000 && sizes[s] != 31)
                    continue;
                optest_row r = {0};
                r.i[0] = sizes[s];
                r.i[1] = op;
                r.i[2] = variant == 1 ? 3 : 0;
                r.i[3] = variant == 2;
                r.f[0] = 30.0;
                snprintf(r.label, sizeof r.label, "%s n=%lld%s", pw_kernels[op],
                         (long long)sizes[s],
                         variant == 1 ? " view+3" : variant == 2 ? " in-place" : "");
                r.kernel = pw_kernels[op];
                r.atol = 1e-6;
                r.rtol = 1e-5;
                r.nmse = 1e-10;
                r.run = run_pointwise;
                optest_add(&r);
            }
    static const int64_t shapes[][2] = {{1, 1}, {1, 7}, {3, 33}, {5, 1000}, {2, 4097},
                                        {7, 129}, {1, 32000}, {1, 128256}};
    for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int variant = 0; variant < 3; variant++) {
            if (variant && shapes[s][1] != 129)
                continue;
            optest_row r = {0};
            r.i[0] = shapes[s][0];
            r.i[1] = shapes[s][1];
            r.i[2] = variant == 1 ? 5 : 0;
            r.i[3] = variant == 2;
            r.f[0] = s % 2 ? 0.125 : 1.0;
            snprintf(r.label, sizeof r.label, "softmax rows=%lld n=%lld scale=%g%s",
                     (long long)shapes[s][0], (long long)shapes[s][1], r.f[0],
                     variant == 1 ? " view+5" : variant == 2 ? " in-place" : "");
            r.kernel = "softmax_f32";
            r.atol = 1e-9;
            r.rtol = 2e-5;
            r.nmse = 1e-10;
            r.run = run_softmax;
            optest_add(&r);
        }
    static const int64_t ashapes[][2] = {{1, 1}, {1, 3}, {4, 1000}, {2, 4097}, {3, 32000},
                                         {1, 128256}, {5, 129}};
    for (unsigned s = 0; s < sizeof ashapes / sizeof ashapes[0]; s++)
        for (int values = 0; values < 3; values++) {
            optest_row r = {0};
            r.i[0] = ashapes[s][0];
            r.i[1] = ashapes[s][1];
            r.i[2] = values == 2 ? 7 : 0;
            r.i[3] = values;
            snprintf(r.label, sizeof r.label, "argmax rows=%lld n=%lld %s",
                     (long long)ashapes[s][0], (long long)ashapes[s][1],
                     values == 0 ? "random" : values == 1 ? "ties" : "nan/-inf view+7");
            r.kernel = "argmax_f32";
            r.exact = 1;
            r.run = run_argmax;
            optest_add(&r);
        }
}
