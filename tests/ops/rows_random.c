/*
 * rows_random.c: op-table rows for mlxn_op_fill_random. The reference
 * recomputes the counter hash in C, so outputs must match exactly.
 */
#include "ops/optest.h"
#include "params/random.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static float uniform(uint64_t seed, uint64_t i, float lo, float hi)
{
    float u = (float)(mlxn__hash64(seed, i) >> 40) * (1.0f / 16777216.0f);
    return fmaf(hi - lo, u, lo);
}

/* i[0] = n, t[0] = dtype (plain f32/f16/bf16), i[1] = seed. */
static void run_fill(ot_ctx *c, const optest_row *r)
{
    int64_t n = r->i[0];
    mlxn_dtype dt = r->t[0];
    if (ot_dev(c)) {
        int64_t s[1] = {n};
        mlxn_buffer *out = ot_out(c, dt, 1, s);
        if (!out)
            return;
        OT_OK(c, mlxn_op_fill_random(ot_enc(c), out, (uint64_t)r->i[1], -0.5f, 2.0f));
        ot_result(c, out, NULL, n);
        return;
    }
    double *ref = ot_doubles(c, n);
    for (int64_t i = 0; i < n; i++)
        ref[i] = ot_round(uniform((uint64_t)r->i[1], (uint64_t)i, -0.5f, 2.0f), dt);
    ot_result(c, NULL, ref, n);
}

/* Block formats and raw bits, compared as u32 words: i[0] = blocks (or
 * words for U32), t[0] = Q4_0 or U32. Q4_0 blocks are random bytes with
 * the f16 scale at byte 0 set from the uniform formula. */
static void run_fill_words(ot_ctx *c, const optest_row *r)
{
    int q = r->t[0] == MLXN_DTYPE_Q4_0;
    int64_t words = q ? r->i[0] * 18 / 4 : r->i[0];
    if (ot_dev(c)) {
        int64_t s[1] = {q ? r->i[0] * 32 : r->i[0]};
        mlxn_buffer *out = ot_out(c, r->t[0], 1, s), *w = NULL;
        if (!out)
            return;
        OT_OK(c, mlxn_op_fill_random(ot_enc(c), out, 7, 0.25f, 0.75f));
        int64_t ws[1] = {words};
        OT_OK(c, mlxn_buffer_view(out, 0, MLXN_DTYPE_U32, 1, ws, &w));
        ot_result(c, w, NULL, words);
        mlxn_buffer_destroy(w);
        return;
    }
    uint8_t *bytes = (uint8_t *)ot_doubles(c, words); /* 8 bytes per word: room enough */
    if (!q) {
        for (int64_t i = 0; i < words; i++) {
            uint32_t v = (uint32_t)mlxn__hash64(7, (uint64_t)i);
            memcpy(bytes + 4 * i, &v, 4);
        }
    } else {
        for (int64_t k = 0; k < r->i[0]; k++) {
            uint8_t *blk = bytes + k * 18;
            for (int b = 0; b < 18; b++)
                blk[b] = (uint8_t)mlxn__hash64(7, (uint64_t)k * 18 + (uint64_t)b);
            float scale = uniform(7, ~((uint64_t)k * 4), 0.25f, 0.75f);
            uint16_t h = ot_f16_bits(scale);
            blk[0] = (uint8_t)h;
            blk[1] = (uint8_t)(h >> 8);
        }
    }
    double *ref = ot_doubles(c, words);
    for (int64_t i = 0; i < words; i++) {
        uint32_t v;
        memcpy(&v, bytes + 4 * i, 4);
        ref[i] = v;
    }
    ot_result(c, NULL, ref, words);
}

OPTEST_ROWS(random)
{
    static const mlxn_dtype dts[3] = {MLXN_DTYPE_F32, MLXN_DTYPE_F16, MLXN_DTYPE_BF16};
    static const char *names[3] = {"fill_random_f32", "fill_random_f16", "fill_random_bf16"};
    static const int64_t sizes[] = {1, 33, 4099};
    for (int d = 0; d < 3; d++)
        for (unsigned s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            optest_row r = {0};
            snprintf(r.label, sizeof r.label, "fill_random %s n=%lld", mlxn_dtype_name(dts[d]),
                     (long long)sizes[s]);
            r.kernel = names[d];
            r.i[0] = sizes[s];
            r.i[1] = 12345 + s;
            r.t[0] = dts[d];
            r.exact = 1;
            r.run = run_fill;
            optest_add(&r);
        }
    optest_row q = {0};
    snprintf(q.label, sizeof q.label, "fill_random q4_0 blocks=38");
    q.kernel = "fill_random_blocks";
    q.i[0] = 38;
    q.t[0] = MLXN_DTYPE_Q4_0;
    q.exact = 1;
    q.run = run_fill_words;
    optest_add(&q);
    optest_row u = q;
    snprintf(u.label, sizeof u.label, "fill_random u32 n=101");
    u.kernel = "fill_random_bits";
    u.i[0] = 101;
    u.t[0] = MLXN_DTYPE_U32;
    optest_add(&u);
}

/* copy: i[0] = bytes, i[1] = byte offset of the source view (unaligned
 * offsets take the byte path). Compared as u8 values. */
static void run_copy(ot_ctx *c, const optest_row *r)
{
    int64_t n = r->i[0], off = r->i[1];
    float *vals = ot_rand(c, n + off, 0.0f, 256.0f, MLXN_DTYPE_F32);
    if (!vals)
        return;
    uint8_t *bytes = (uint8_t *)ot_doubles(c, (n + off) / 8 + 1);
    for (int64_t i = 0; i < n + off; i++)
        bytes[i] = (uint8_t)vals[i];
    if (ot_dev(c)) {
        int64_t s_all[1] = {n + off}, s[1] = {n};
        mlxn_buffer *src = ot_in_raw(c, MLXN_DTYPE_U8, 1, s_all, bytes, (size_t)(n + off));
        mlxn_buffer *dst = ot_out(c, MLXN_DTYPE_U8, 1, s), *sv = NULL;
        if (!src || !dst)
            return;
        OT_OK(c, mlxn_buffer_view(src, (size_t)off, MLXN_DTYPE_U8, 1, s, &sv));
        OT_OK(c, mlxn_op_copy(ot_enc(c), sv, dst));
        ot_result(c, dst, NULL, n);
        mlxn_buffer_destroy(sv);
        return;
    }
    double *ref = ot_doubles(c, n);
    for (int64_t i = 0; i < n; i++)
        ref[i] = bytes[off + i];
    ot_result(c, NULL, ref, n);
}

OPTEST_ROWS(copy)
{
    static const int64_t cases[][2] = {{1, 0}, {15, 0}, {4096, 0}, {100003, 16}, {777, 3}};
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        optest_row r = {0};
        snprintf(r.label, sizeof r.label, "copy bytes=%lld offset=%lld", (long long)cases[i][0],
                 (long long)cases[i][1]);
        r.kernel = "copy_bytes";
        r.i[0] = cases[i][0];
        r.i[1] = cases[i][1];
        r.exact = 1;
        r.run = run_copy;
        optest_add(&r);
    }
}
