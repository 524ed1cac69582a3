/*
 * rows_embed.c: op-table rows for the embedding lookup from f32, f16 and
 * bf16 tables: ids in and out of range (out-of-range rows must be zeros),
 * one id, odd widths, a view of the table at an offset.
 */
#include "ops/kern_rows.h"

#include <stdio.h>

/* i[0] = n_rows, i[1] = n_embd, i[2] = n ids, i[3] = table view offset
 * (rows); t[0] = table dtype. */
static void run_embed(ot_ctx *c, const optest_row *r)
{
    int64_t rows = r->i[0], n_embd = r->i[1], n = r->i[2], skip = r->i[3];
    mlxn_dtype dt = r->t[0];
    float *table = ot_rand(c, (rows + skip) * n_embd, -2.0f, 2.0f, dt);
    int32_t *ids = ot_rand_int(c, n, (int32_t)rows);
    if (!table || !ids)
        return;
    for (int64_t i = 0; i < n; i++) /* every fifth id out of range */
        if (i % 5 == 3)
            ids[i] = i % 2 ? -1 - (int32_t)i : (int32_t)(rows + i);
    const float *tab = table + skip * n_embd;
    if (ot_dev(c)) {
        kr_views v = {0};
        int64_t st[2] = {rows, n_embd}, stp[2] = {rows + skip, n_embd}, si[1] = {n};
        int64_t so[2] = {n, n_embd};
        mlxn_buffer *bt = kr_view(c, &v, ot_in(c, dt, 2, stp, table), skip * n_embd, dt, 2, st,
                                  0);
        mlxn_buffer *bi = ot_in(c, MLXN_DTYPE_I32, 1, si, ids);
        mlxn_buffer *out = ot_out(c, MLXN_DTYPE_F32, 2, so);
        if (bt && out) {
            OT_OK(c, mlxn_op_embed(ot_enc(c), bt, bi, out));
            ot_result(c, out, NULL, n * n_embd);
        }
        kr_finish(c, &v);
        return;
    }
    double *ref = ot_doubles(c, n * n_embd);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n_embd; j++)
            ref[i * n_embd + j] = ids[i] >= 0 && ids[i] < rows ? tab[ids[i] * n_embd + j] : 0.0;
    ot_result(c, NULL, ref, n * n_embd);
}

OPTEST_ROWS(embed)
{
    static const mlxn_dtype dts[3] = {MLXN_DTYPE_F32, MLXN_DTYPE_F16, MLXN_DTYPE_BF16};
    static const char *names[3] = {"embed_f32", "embed_f16", "embed_bf16"};
    static const int64_t shapes[][4] = {{1, 1, 1, 0},     {10, 7, 5, 0},   {100, 64, 33, 0},
                                        {1000, 4097, 9, 0}, {32000, 129, 300, 0},
                                        {50, 128, 12, 7}};
    for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int d = 0; d < 3; d++) {
            optest_row r = {0};
            for (int k = 0; k < 4; k++)
                r.i[k] = shapes[s][k];
            r.t[0] = dts[d];
            snprintf(r.label, sizeof r.label, "embed %s table=(%lld, %lld) ids=%lld%s",
                     mlxn_dtype_name(dts[d]), (long long)shapes[s][0], (long long)shapes[s][1],
                     (long long)shapes[s][2], shapes[s][3] ? " view" : "");
            r.kernel = names[d];
            r.exact = 1;
            r.run = run_embed;
            optest_add(&r);
        }
}
