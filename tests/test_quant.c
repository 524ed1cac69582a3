/*
 * test_quant.c: the reference quantizers and dequantizers. Dequantization
 * is checked bit-exactly against blocks built by hand from the format
 * definitions (ggml-common.h for GGUF, mlx.core.quantize for MLX affine),
 * with values chosen so every product is exact; quantization by round-trip
 * error bounds and by properties of the published algorithms.
 */
#define MLXN_TEST_MAIN
#include "test.h"

#include "ops/quant_ref.h"
#include "params/quant.h"

#include <stdint.h>

/* f16 bit patterns of a few exact values. */
#define H_ONE 0x3C00u
#define H_HALF 0x3800u
#define H_QUARTER 0x3400u
#define H_EIGHTH 0x3000u
#define H_MINUS_ONE 0xBC00u
/* bf16 of 0.5 and -1.0. */
#define B_HALF 0x3F00u
#define B_MINUS_ONE 0xBF80u

TEST(q4_0_block_by_hand)
{
    /* d = 0.5; byte j = (j) | (15 - j) << 4: element j = (j - 8) * 0.5,
     * element j + 16 = (7 - j) * 0.5. */
    mlxn_block_q4_0 b[2];
    b[0].d = H_HALF;
    for (int j = 0; j < 16; j++)
        b[0].qs[j] = (uint8_t)(j | (15 - j) << 4);
    b[1].d = H_MINUS_ONE; /* second block: all nibbles 0x3 / 0xC */
    memset(b[1].qs, 0xC3, 16);
    static const float want0[32] = {
        -4.0f, -3.5f, -3.0f, -2.5f, -2.0f, -1.5f, -1.0f, -0.5f,
        0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 2.5f, 3.0f, 3.5f,
        3.5f, 3.0f, 2.5f, 2.0f, 1.5f, 1.0f, 0.5f, 0.0f,
        -0.5f, -1.0f, -1.5f, -2.0f, -2.5f, -3.0f, -3.5f, -4.0f};
    float y[64];
    CHECK_OK(mlxn_dequantize_row(MLXN_DTYPE_Q4_0, b, 64, y));
    for (int j = 0; j < 32; j++)
        CHECK_MSG(y[j] == want0[j], "element %d: %g, want %g", j, y[j], want0[j]);
    for (int j = 0; j < 16; j++) {
        CHECK(y[32 + j] == 5.0f);  /* (3 - 8) * -1 */
        CHECK(y[48 + j] == -4.0f); /* (12 - 8) * -1 */
    }
}

TEST(q8_0_block_by_hand)
{
    mlxn_block_q8_0 b;
    b.d = H_QUARTER;
    static const int8_t q[32] = {-128, -127, -64, -1, 0, 1, 2, 3, 64, 127, 5, -5,
                                 10, -10, 20, -20, 30, -30, 40, -40, 50, -50, 60, -60,
                                 70, -70, 80, -80, 90, -90, 100, -100};
    memcpy(b.qs, q, 32);
    float y[32];
    CHECK_OK(mlxn_dequantize_row(MLXN_DTYPE_Q8_0, &b, 32, y));
    for (int j = 0; j < 32; j++)
        CHECK_MSG(y[j] == q[j] * 0.25f, "element %d: %g", j, y[j]);
}

/* Pack sub-block scales and mins into the 12 bytes of a Q4_K block, as
 * the format defines: bytes 0-3 scale j (6 bits) and the top 2 bits of
 * scale j+4; bytes 4-7 min j and the top 2 bits of min j+4; bytes 8-11 the
 * low 4 bits of scale j+4 and min j+4. */
static void pack_q4_k_scales(const int sc[8], const int m[8], uint8_t out[12])
{
    for (int j = 0; j < 4; j++) {
        out[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
        out[j + 4] = (uint8_t)(m[j] | (m[j + 4] >> 4) << 6);
        out[j + 8] = (uint8_t)((sc[j + 4] & 0xF) | (m[j + 4] & 0xF) << 4);
    }
}

TEST(q4_k_block_by_hand)
{
    static const int sc[8] = {1, 7, 15, 63, 17, 33, 48, 62};
    static const int m[8] = {0, 3, 62, 9, 20, 40, 60, 5};
    mlxn_block_q4_k b;
    b.d = H_HALF;
    b.dmin = H_QUARTER;
    pack_q4_k_scales(sc, m, b.scales);
    int q[256];
    for (int e = 0; e < 256; e++)
        q[e] = (e * 7 + e / 16) % 16;
    /* Byte 32*g + l: element 64*g + l (low nibble), 64*g + 32 + l (high). */
    for (int g = 0; g < 4; g++)
        for (int l = 0; l < 32; l++)
            b.qs[32 * g + l] = (uint8_t)(q[64 * g + l] | q[64 * g + 32 + l] << 4);
    float y[256];
    CHECK_OK(mlxn_dequantize_row(MLXN_DTYPE_Q4_K, &b, 256, y));
    for (int e = 0; e < 256; e++) {
        int j = e / 32;
        float want = 0.5f * sc[j] * q[e] - 0.25f * m[j];
        CHECK_MSG(y[e] == want, "element %d: %g, want %g", e, y[e], want);
    }
}

TEST(q6_k_block_by_hand)
{
    static const int sc[16] = {1, -1, 2, -3, 5, -8, 13, -21, 34, -55, 89, -128, 127, 7, -7, 0};
    mlxn_block_q6_k b;
    memset(&b, 0, sizeof b);
    b.d = H_EIGHTH;
    for (int i = 0; i < 16; i++)
        b.scales[i] = (int8_t)sc[i];
    int q[256];
    for (int e = 0; e < 256; e++)
        q[e] = (e * 37 + 11) % 64;
    /* Element 128*h + 32*r + l (r = 0..3, l = 0..31): low 4 bits in
     * ql[64*h + l + 32*(r & 1)] (low nibble for r < 2, high for r >= 2),
     * high 2 bits in qh[32*h + l] at bit 2*r; scale 8*h + l/16 + 2*r. */
    for (int e = 0; e < 256; e++) {
        int h = e / 128, r = (e % 128) / 32, l = e % 32;
        uint8_t *ql = &b.ql[64 * h + l + 32 * (r & 1)];
        *ql |= (uint8_t)((q[e] & 0xF) << (r >= 2 ? 4 : 0));
        b.qh[32 * h + l] |= (uint8_t)((q[e] >> 4) << (2 * r));
    }
    float y[256];
    CHECK_OK(mlxn_dequantize_row(MLXN_DTYPE_Q6_K, &b, 256, y));
    for (int e = 0; e < 256; e++) {
        int h = e / 128, r = (e % 128) / 32, l = e % 32;
        float want = 0.125f * sc[8 * h + l / 16 + 2 * r] * (q[e] - 32);
        CHECK_MSG(y[e] == want, "element %d: %g, want %g", e, y[e], want);
    }
}

TEST(affine_rows_by_hand)
{
    /* 4 bits, group 32, f16: words 0x76543210 and 0xFEDCBA98 repeat, so
     * element j = j % 16 and w = 0.5 * q - 1. */
    uint32_t w4[8];
    uint16_t s[2] = {H_HALF, H_ONE}, bi[2] = {H_MINUS_ONE, 0};
    for (int i = 0; i < 8; i++)
        w4[i] = i % 2 ? 0xFEDCBA98u : 0x76543210u;
    mlxn_affine_format f = mlxn_affine_format_default();
    CHECK(f.bits == 4 && f.group_size == 64 && f.scale_dtype == MLXN_DTYPE_F16);
    f.group_size = 32;
    mlxn_affine_row row = {w4, s, bi};
    float y[64];
    CHECK_OK(mlxn_dequantize_row_affine(&f, &row, 64, y));
    for (int j = 0; j < 64; j++) {
        float want = j < 32 ? 0.5f * (j % 16) - 1.0f : (float)(j % 16);
        CHECK_MSG(y[j] == want, "4-bit element %d: %g, want %g", j, y[j], want);
    }
    /* 8 bits, bf16 scales: byte j of the row is element j. */
    uint32_t w8[8] = {0x03020100u, 0x07060504u, 0xff80407fu, 0, 0, 0, 0, 0x11223344u};
    uint16_t sb[1] = {B_HALF}, bb[1] = {B_MINUS_ONE};
    f.bits = 8;
    f.scale_dtype = MLXN_DTYPE_BF16;
    mlxn_affine_row row8 = {w8, sb, bb};
    CHECK_OK(mlxn_dequantize_row_affine(&f, &row8, 32, y));
    static const int q8[12] = {0, 1, 2, 3, 4, 5, 6, 7, 0x7f, 0x40, 0x80, 0xff};
    for (int j = 0; j < 12; j++)
        CHECK_MSG(y[j] == 0.5f * q8[j] - 1.0f, "8-bit element %d: %g", j, y[j]);
    CHECK(y[28] == 0.5f * 0x44 - 1.0f && y[31] == 0.5f * 0x11 - 1.0f);
    /* 3 bits: elements run across byte and word boundaries. Element j of
     * the stream = j % 8, so the 24-bit little-endian pattern of 8 values
     * is 0b111110101100011010001000 = 0xFAC688. */
    uint8_t w3[12];
    for (int i = 0; i < 12; i += 3) {
        w3[i] = 0x88;
        w3[i + 1] = 0xC6;
        w3[i + 2] = 0xFA;
    }
    f.bits = 3;
    f.scale_dtype = MLXN_DTYPE_F16;
    mlxn_affine_row row3 = {w3, s, bi};
    CHECK_OK(mlxn_dequantize_row_affine(&f, &row3, 32, y));
    for (int j = 0; j < 32; j++)
        CHECK_MSG(y[j] == 0.5f * (j % 8) - 1.0f, "3-bit element %d: %g", j, y[j]);
}

/* Uniform random values in [-1, 1) with a few larger outliers. */
static void random_row(float *x, int64_t k)
{
    for (int64_t i = 0; i < k; i++)
        x[i] = test_rand_f(-1.0f, 1.0f) * (i % 37 == 5 ? 6.0f : 1.0f);
}

static double rms_error(const float *a, const float *b, int64_t k, double *max_err)
{
    double s = 0, mx = 0;
    for (int64_t i = 0; i < k; i++) {
        double d = fabs((double)a[i] - b[i]);
        s += d * d;
        mx = d > mx ? d : mx;
    }
    *max_err = mx;
    return sqrt(s / (double)k);
}

/* Round trips: per-block error bounds that follow from each format's
 * step size, and overall RMS error bounds. */
TEST(gguf_round_trips)
{
    enum { K = 4096 };
    static float x[K], y[K];
    static uint8_t q[K * 2];
    random_row(x, K);
    const mlxn_dtype types[4] = {MLXN_DTYPE_Q4_0, MLXN_DTYPE_Q8_0, MLXN_DTYPE_Q4_K,
                                 MLXN_DTYPE_Q6_K};
    /* RMS error over the RMS of x, measured on this data (uniform with
     * outliers): 0.144, 0.0090, 0.089, 0.026; bounds 25% above. */
    const double rms_bound[4] = {0.18, 0.0115, 0.11, 0.033};
    double xrms = 0;
    for (int i = 0; i < K; i++)
        xrms += (double)x[i] * x[i];
    xrms = sqrt(xrms / K);
    for (int t = 0; t < 4; t++) {
        REQUIRE_OK(mlxn_quantize_row(types[t], x, K, q));
        REQUIRE_OK(mlxn_dequantize_row(types[t], q, K, y));
        double mx, rms = rms_error(x, y, K, &mx);
        CHECK_MSG(rms / xrms < rms_bound[t], "%s: relative rms error %g",
                  mlxn_dtype_name(types[t]), rms / xrms);
        int64_t bs = mlxn_dtype_block_elems(types[t]);
        for (int64_t b0 = 0; b0 < K; b0 += bs) {
            double amax = 0;
            for (int64_t i = b0; i < b0 + bs; i++)
                amax = fmax(amax, fabs(x[i]));
            double bound = types[t] == MLXN_DTYPE_Q8_0   ? amax * (0.5 / 127 + 1e-3)
                           : types[t] == MLXN_DTYPE_Q4_0 ? amax * (1.0 / 8 + 1e-3)
                           : types[t] == MLXN_DTYPE_Q6_K ? amax * (1.0 / 16)
                                                         : amax * 0.25;
            for (int64_t i = b0; i < b0 + bs; i++)
                CHECK_MSG(fabs((double)x[i] - y[i]) <= bound, "%s element %lld: %g vs %g",
                          mlxn_dtype_name(types[t]), (long long)i, x[i], y[i]);
        }
    }
}

/* Properties of the published algorithms: Q4_0 maps the element of
 * largest magnitude to -8 exactly, Q8_0 to +-127, and both keep zero rows
 * at zero. */
TEST(gguf_quantizer_properties)
{
    float x[32], y[32];
    mlxn_block_q4_0 b4;
    mlxn_block_q8_0 b8;
    for (int i = 0; i < 32; i++)
        x[i] = (float)(i - 10) * 0.125f;
    x[7] = -3.0f; /* largest magnitude, negative */
    REQUIRE_OK(mlxn_quantize_row(MLXN_DTYPE_Q4_0, x, 32, &b4));
    CHECK(b4.d == 0x3600u); /* -3 / -8 = 0.375 */
    CHECK((b4.qs[7] & 0xF) == 0);
    REQUIRE_OK(mlxn_dequantize_row(MLXN_DTYPE_Q4_0, &b4, 32, y));
    CHECK(y[7] == -3.0f);
    REQUIRE_OK(mlxn_quantize_row(MLXN_DTYPE_Q8_0, x, 32, &b8));
    CHECK(b8.qs[7] == -127);
    for (int i = 0; i < 32; i++)
        x[i] = 0.0f;
    REQUIRE_OK(mlxn_quantize_row(MLXN_DTYPE_Q4_0, x, 32, &b4));
    REQUIRE_OK(mlxn_dequantize_row(MLXN_DTYPE_Q4_0, &b4, 32, y));
    for (int i = 0; i < 32; i++)
        CHECK(y[i] == 0.0f);
    float z[256] = {0}, yz[256];
    mlxn_block_q6_k b6;
    mlxn_block_q4_k bk;
    REQUIRE_OK(mlxn_quantize_row(MLXN_DTYPE_Q6_K, z, 256, &b6));
    REQUIRE_OK(mlxn_dequantize_row(MLXN_DTYPE_Q6_K, &b6, 256, yz));
    for (int i = 0; i < 256; i++)
        CHECK(yz[i] == 0.0f);
    REQUIRE_OK(mlxn_quantize_row(MLXN_DTYPE_Q4_K, z, 256, &bk));
    REQUIRE_OK(mlxn_dequantize_row(MLXN_DTYPE_Q4_K, &bk, 256, yz));
    for (int i = 0; i < 256; i++)
        CHECK(yz[i] == 0.0f);
}

static double scale_value(uint16_t v, int bf16)
{
    uint32_t u;
    if (bf16) {
        u = (uint32_t)v << 16;
    } else { /* normal f16 values only (scales of this data are normal) */
        u = ((uint32_t)(v & 0x8000u) << 16) | ((((v >> 10) & 0x1fu) + 112u) << 23) |
            ((uint32_t)(v & 0x3ffu) << 13);
        if (!(v & 0x7fffu))
            u &= 0x80000000u;
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* MLX affine rows: every element lands on the nearest point of its
 * group's grid {bias + scale * q, q = 0..2^bits-1} (the quantizer places
 * the edge of larger magnitude and zero exactly on the grid, so the other
 * edge may fall outside it), up to the rounding of scale and bias to 16
 * bits. */
TEST(affine_round_trips)
{
    enum { K = 1024 };
    static float x[K], y[K];
    static uint32_t w[K];
    static uint16_t s[K / 32], b[K / 32];
    random_row(x, K);
    static const int bits[6] = {2, 3, 4, 5, 6, 8};
    for (int bi = 0; bi < 6; bi++)
        for (int gs = 32; gs <= 128; gs *= 2)
            for (int sd = 0; sd < 2; sd++) {
                mlxn_affine_format f = {bits[bi], gs, sd ? MLXN_DTYPE_BF16 : MLXN_DTYPE_F16};
                mlxn_affine_row row = {w, s, b};
                REQUIRE_OK(mlxn_quantize_row_affine(&f, x, K, &row));
                REQUIRE_OK(mlxn_dequantize_row_affine(&f, &row, K, y));
                const double su = sd ? 1.0 / 256 : 1.0 / 2048, nb = (1 << bits[bi]) - 1;
                int zero_ok = 1;
                for (int g = 0; g < K / gs; g++) {
                    double sc = scale_value(s[g], sd), bias = scale_value(b[g], sd);
                    double lo = fmin(bias, bias + nb * sc), hi = fmax(bias, bias + nb * sc);
                    double slack = nb * fabs(sc) * su + fabs(bias) * su + 1e-6;
                    /* zero is a grid point: bias is 0 or -bias/scale an integer */
                    double z = bias == 0.0 ? 0.0 : -bias / sc;
                    zero_ok &= fabs(z - rint(z)) < 0.02 * fabs(z) + 1e-3;
                    for (int j = g * gs; j < (g + 1) * gs; j++) {
                        double out = x[j] < lo ? lo - x[j] : x[j] > hi ? x[j] - hi : 0.0;
                        double bound = 0.5 * fabs(sc) + out + slack;
                        CHECK_MSG(fabs((double)x[j] - y[j]) <= bound,
                                  "bits %d group %d %s: element %d %g vs %g", bits[bi], gs,
                                  sd ? "bf16" : "f16", j, x[j], y[j]);
                    }
                }
                CHECK_MSG(zero_ok, "bits %d group %d: zero is not on the grid", bits[bi], gs);
            }
}

/* GGUF Q4_0 rows as symmetric affine (what the model loaders store):
 * identical values, element by element. */
TEST(q4_0_as_symmetric_affine)
{
    enum { ROWS = 3, K = 96 };
    float x[ROWS * K], a[K], b[K];
    uint64_t z = 77;
    for (int i = 0; i < ROWS * K; i++) {
        z = z * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((int64_t)(z >> 40) - (1 << 23)) / (float)(1 << 21);
    }
    uint8_t q[ROWS * K / 32 * 18];
    uint32_t w[ROWS * K / 8];
    uint16_t s[ROWS * K / 32];
    for (int r = 0; r < ROWS; r++)
        REQUIRE_OK(mlxn_quantize_row(MLXN_DTYPE_Q4_0, x + r * K, K, q + r * (K / 32 * 18)));
    mlxn__q4_0_to_affine(q, ROWS, K, w, s);
    mlxn_affine_format f = {4, 32, MLXN_DTYPE_F16};
    int same = 1;
    for (int r = 0; r < ROWS; r++) {
        mlxn_affine_row row = {w + r * (K / 8), s + r * (K / 32), NULL};
        REQUIRE_OK(mlxn_dequantize_row(MLXN_DTYPE_Q4_0, q + r * (K / 32 * 18), K, a));
        REQUIRE_OK(mlxn_dequantize_row_affine(&f, &row, K, b));
        for (int i = 0; i < K; i++)
            same &= a[i] == b[i];
    }
    CHECK(same);
    /* quantizing needs biases */
    mlxn_affine_row nob = {w, s, NULL};
    CHECK(mlxn_quantize_row_affine(&f, x, K, &nob) == MLXN_ERR_INVALID_ARG);
}

TEST(quantize_api_errors)
{
    float x[64] = {0};
    uint8_t out[256];
    CHECK(mlxn_quantize_row(MLXN_DTYPE_Q4_0, x, 33, out) == MLXN_ERR_INVALID_ARG);
    CHECK(strstr(mlxn_last_error(NULL), "multiple") != NULL);
    CHECK(mlxn_quantize_row(MLXN_DTYPE_Q4_K, x, 64, out) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_quantize_row(MLXN_DTYPE_Q5_1, x, 32, out) == MLXN_ERR_UNSUPPORTED);
    CHECK(mlxn_quantize_row(MLXN_DTYPE_Q4_0, NULL, 32, out) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_dequantize_row(MLXN_DTYPE_I32, out, 32, x) == MLXN_ERR_UNSUPPORTED);
    mlxn_affine_format f = mlxn_affine_format_default();
    uint16_t s[2], b[2];
    mlxn_affine_row row = {out, s, b};
    f.bits = 7;
    CHECK(mlxn_quantize_row_affine(&f, x, 64, &row) == MLXN_ERR_UNSUPPORTED);
    f.bits = 4;
    f.group_size = 48;
    CHECK(mlxn_quantize_row_affine(&f, x, 96, &row) == MLXN_ERR_UNSUPPORTED);
    f.group_size = 64;
    CHECK(mlxn_quantize_row_affine(&f, x, 32, &row) == MLXN_ERR_INVALID_ARG);
    f.scale_dtype = MLXN_DTYPE_F32;
    CHECK(mlxn_quantize_row_affine(&f, x, 64, &row) == MLXN_ERR_UNSUPPORTED);
    /* Plain types convert. */
    float y[4] = {1.0f, -2.5f, 65504.0f, 1e-3f}, z[4];
    uint16_t h[4];
    CHECK_OK(mlxn_quantize_row(MLXN_DTYPE_BF16, y, 4, h));
    CHECK_OK(mlxn_dequantize_row(MLXN_DTYPE_BF16, h, 4, z));
    CHECK(z[0] == 1.0f && z[1] == -2.5f);
    CHECK_OK(mlxn_quantize_row(MLXN_DTYPE_F16, y, 4, h));
    CHECK(h[0] == H_ONE && h[2] == 0x7BFFu);
}
