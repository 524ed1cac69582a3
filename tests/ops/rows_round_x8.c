/*
 * rows_round_x8.c: op-table rows for mlxn_op_round_x8 (round_x8_f32): f32
 * rows rounded into x8 rows, checked byte for byte against the reference
 * rounding of x8_ref.h.
 */
#include "ops/optest.h"
#include "ops/x8_ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* i[1] m, i[2] k. x random with, per row, block 1 zero, block 2 below
 * 2^-100 (d = 0), block 3 holding an Inf (d = Inf, codes 0); the output is
 * the x8 buffer's bytes, its slots still the harness's poison (0xff) as
 * round_x8 leaves them. */
static void run_round_x8(ot_ctx *c, const optest_row *r)
{
    const int64_t m = r->i[1], k = r->i[2], nb = k / 32;
    const uint64_t row = MLXN_X8_ROW_BYTES((uint64_t)k);
    float *x = ot_rand(c, m * k, -3.0f, 3.0f, MLXN_DTYPE_F32);
    if (!x)
        return;
    for (int64_t i = 0; i < m; i++)
        for (int t = 0; t < 32; t++) {
            float *xr = x + i * k;
            if (nb > 1)
                xr[32 + t] = 0.0f;
            if (nb > 2)
                xr[64 + t] *= 1e-32f;
            if (nb > 3 && t == 5)
                xr[96 + t] = -INFINITY;
        }
    int64_t sx[2] = {m, k}, sb[1] = {m * (int64_t)row};
    if (ot_dev(c)) {
        mlxn_buffer *bx = ot_in(c, MLXN_DTYPE_F32, 2, sx, x);
        mlxn_buffer *b8 = ot_out(c, MLXN_DTYPE_U8, 1, sb);
        if (!bx || !b8)
            return;
        OT_OK(c, mlxn_op_round_x8(ot_enc(c), bx, b8));
        ot_result(c, b8, NULL, sb[0]);
        return;
    }
    double *ref = ot_doubles(c, sb[0]);
    uint8_t *img = malloc((size_t)sb[0]);
    if (!ref || !img) {
        free(img);
        return;
    }
    memset(img, 0xff, (size_t)sb[0]);
    for (int64_t i = 0; i < m; i++) {
        uint8_t *o = img + i * row;
        for (int64_t b = 0; b < nb; b++) {
            int32_t sum;
            const float d = x8_ref_block(x + i * k + b * 32, (int8_t *)o + b * 32, &sum);
            memcpy(o + MLXN_X8_D_OFF((uint64_t)k) + 4 * b, &d, 4);
            memcpy(o + MLXN_X8_ISUM_OFF((uint64_t)k) + 4 * b, &sum, 4);
        }
    }
    for (int64_t i = 0; i < sb[0]; i++)
        ref[i] = img[i];
    free(img);
    ot_result(c, NULL, ref, sb[0]);
}

OPTEST_ROWS(round_x8)
{
    /* one block; a row of 4096; rows of 14336; two rows of 5 blocks */
    static const int64_t rx_rows[][2] = {{1, 32}, {1, 4096}, {3, 14336}, {2, 160}};
    for (unsigned i = 0; i < sizeof rx_rows / sizeof rx_rows[0]; i++) {
        optest_row r;
        memset(&r, 0, sizeof r);
        r.kernel = "round_x8_f32";
        r.i[1] = rx_rows[i][0];
        r.i[2] = rx_rows[i][1];
        snprintf(r.label, sizeof r.label, "round_x8 m=%lld k=%lld", (long long)r.i[1],
                 (long long)r.i[2]);
        r.exact = 1;
        r.run = run_round_x8;
        optest_add(&r);
    }
}
