/*
 * quant.c: the reference quantizers and dequantizers (host C) for the GGUF
 * formats Q4_0, Q8_0, Q4_K and Q6_K and for MLX affine quantization, and
 * plain f32 / f16 / bf16 rows.
 *
 * Q4_0 and Q8_0 follow ggml's reference quantizers (quantize_row_q4_0_ref,
 * quantize_row_q8_0_ref); Q4_K and Q6_K follow ggml's quantize_row_q4_K_ref
 * and quantize_row_q6_K_ref step by step (the same search for sub-block
 * scales and minimums, the same rounding), so that files written here
 * dequantize like files written by ggml (ggml/src/ggml-quants.c). The MLX
 * quantizer follows mlx.core.quantize (mode "affine"): per group the edge of
 * larger magnitude is represented exactly.
 */
#include "core/internal.h"
#include "params/half.h"
#include "ops/quant_ref.h"
#include "params/quant.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define GROUP_MAX_EPS 1e-15f

/* Round to nearest, ties to even (ggml's nearest_int for |v| < 2^22). */
static int nearest_int(float v) { return (int)lrintf(v); }

static float h2f(uint16_t h) { return mlxn__f16_to_f32(h); }
static uint16_t f2h(float f) { return mlxn__f32_to_f16(f); }

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ---- Q4_0 and Q8_0 -------------------------------------------------------- */
static void quantize_q4_0(const float *x, mlxn_block_q4_0 *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += MLXN_QK) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < MLXN_QK; j++) {
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        /* The element of largest magnitude maps to -8 exactly. */
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f2h(d);
        for (int j = 0; j < MLXN_QK / 2; j++) {
            int lo = (int)(x[j] * id + 8.5f), hi = (int)(x[j + 16] * id + 8.5f);
            y[i].qs[j] = (uint8_t)(clampi(lo, 0, 15) | clampi(hi, 0, 15) << 4);
        }
    }
}

static void quantize_q8_0(const float *x, mlxn_block_q8_0 *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += MLXN_QK) {
        float amax = 0.0f;
        for (int j = 0; j < MLXN_QK; j++)
            amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f2h(d);
        for (int j = 0; j < MLXN_QK; j++)
            y[i].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

/* ---- K-quants: scale searches (ggml's make_qkx2_quants, make_qx_quants) ---- */

/* Fit x[i] ~ scale * L[i] - min with L in [0, nmax], weighted least squares
 * over a few candidate scales; returns scale, *the_min = min >= 0. */
static float fit_scale_min(int n, int nmax, const float *x, const float *weights,
                           uint8_t *L, float *the_min, uint8_t *Laux)
{
    const float rmin = -1.0f, rdelta = 0.1f;
    const int nstep = 20;
    float min = x[0], max = x[0];
    float sum_w = weights[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min)
            min = x[i];
        if (x[i] > max)
            max = x[i];
        float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0)
        min = 0;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *the_min = -min;
        return 0.0f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        L[i] = (uint8_t)clampi(nearest_int(iscale * (x[i] - min)), 0, nmax);
        float diff = scale * L[i] + min - x[i];
        best_error += weights[i] * (diff * diff);
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = clampi(nearest_int(iscale * (x[i] - min)), 0, nmax);
            Laux[i] = (uint8_t)l;
            float w = weights[i];
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                cur_error += weights[i] * (diff * diff);
            }
            if (cur_error < best_error) {
                memcpy(L, Laux, (size_t)n);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* Fit x[i] ~ scale * (L[i] - nmax) with L - nmax in [-nmax, nmax - 1],
 * weights x^2, trying 19 scales around the one that maps the element of
 * largest magnitude to -nmax. */
static float fit_scale_symmetric(int n, int nmax, const float *x, int8_t *L)
{
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0)
            continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++)
                L[i] = (int8_t)(nmax + clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* Sub-block j's 6-bit scale and min from the packed scales[12]. */
static void q4_k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

static void quantize_q4_k(const float *x, mlxn_block_q4_k *y, int64_t nb)
{
    uint8_t L[MLXN_QK_K], Laux[32];
    float weights[32], mins[8], scales[8];
    for (int64_t i = 0; i < nb; i++, x += MLXN_QK_K) {
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < 8; j++) {
            float sum_x2 = 0;
            for (int l = 0; l < 32; l++)
                sum_x2 += x[32 * j + l] * x[32 * j + l];
            float av_x = sqrtf(sum_x2 / 32);
            for (int l = 0; l < 32; l++)
                weights[l] = av_x + fabsf(x[32 * j + l]);
            scales[j] = fit_scale_min(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux);
            if (scales[j] > max_scale)
                max_scale = scales[j];
            if (mins[j] > max_min)
                max_min = mins[j];
        }
        float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
        float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
        memset(y[i].scales, 0, sizeof y[i].scales);
        for (int j = 0; j < 8; j++) {
            uint8_t ls = (uint8_t)nearest_int(inv_scale * scales[j]);
            uint8_t lm = (uint8_t)nearest_int(inv_min * mins[j]);
            ls = ls < 63 ? ls : 63;
            lm = lm < 63 ? lm : 63;
            if (j < 4) {
                y[i].scales[j] = ls;
                y[i].scales[j + 4] = lm;
            } else {
                y[i].scales[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
                y[i].scales[j - 4] |= (uint8_t)((ls >> 4) << 6);
                y[i].scales[j] |= (uint8_t)((lm >> 4) << 6);
            }
        }
        y[i].d = f2h(max_scale / 63.0f);
        y[i].dmin = f2h(max_min / 63.0f);
        /* Requantize against the scales as stored. */
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            q4_k_scale_min(j, y[i].scales, &sc, &m);
            const float d = h2f(y[i].d) * sc;
            if (d == 0.0f)
                continue;
            const float dm = h2f(y[i].dmin) * m;
            for (int l = 0; l < 32; l++)
                L[32 * j + l] = (uint8_t)clampi(nearest_int((x[32 * j + l] + dm) / d), 0, 15);
        }
        for (int g = 0; g < 4; g++)
            for (int l = 0; l < 32; l++)
                y[i].qs[32 * g + l] = (uint8_t)(L[64 * g + l] | (L[64 * g + 32 + l] << 4));
    }
}

static void quantize_q6_k(const float *x, mlxn_block_q6_k *y, int64_t nb)
{
    int8_t L[MLXN_QK_K];
    float scales[16];
    for (int64_t i = 0; i < nb; i++, x += MLXN_QK_K) {
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < 16; ib++) {
            scales[ib] = fit_scale_symmetric(16, 32, x + 16 * ib, L + 16 * ib);
            if (fabsf(scales[ib]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[ib]);
                max_scale = scales[ib];
            }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        float iscale = -128.0f / max_scale;
        y[i].d = f2h(1 / iscale);
        for (int ib = 0; ib < 16; ib++) {
            int s = nearest_int(iscale * scales[ib]);
            y[i].scales[ib] = (int8_t)(s < 127 ? s : 127);
        }
        for (int j = 0; j < 16; j++) {
            float d = h2f(y[i].d) * y[i].scales[j];
            if (d == 0.0f)
                continue;
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = (int8_t)(clampi(nearest_int(x[16 * j + l] / d), -32, 31) + 32);
        }
        for (int h = 0; h < 2; h++) {
            const int8_t *Lh = L + 128 * h;
            uint8_t *ql = y[i].ql + 64 * h, *qh = y[i].qh + 32 * h;
            for (int l = 0; l < 32; l++) {
                int q1 = Lh[l], q2 = Lh[l + 32], q3 = Lh[l + 64], q4 = Lh[l + 96];
                ql[l] = (uint8_t)((q1 & 0xF) | ((q3 & 0xF) << 4));
                ql[l + 32] = (uint8_t)((q2 & 0xF) | ((q4 & 0xF) << 4));
                qh[l] = (uint8_t)((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
            }
        }
    }
}

/* ---- dequantization ----------------------------------------------------------- */
int mlxn__dequant_supported(mlxn_dtype t)
{
    return t == MLXN_DTYPE_F32 || t == MLXN_DTYPE_F16 || t == MLXN_DTYPE_BF16 ||
           t == MLXN_DTYPE_Q4_0 || t == MLXN_DTYPE_Q8_0 || t == MLXN_DTYPE_Q4_K ||
           t == MLXN_DTYPE_Q6_K;
}

static void dequant_q4_k(const mlxn_block_q4_k *b, float *y)
{
    const float d = h2f(b->d), min = h2f(b->dmin);
    for (int g = 0; g < 4; g++) {
        uint8_t sc, m;
        q4_k_scale_min(2 * g, b->scales, &sc, &m);
        const float d1 = d * sc, m1 = min * m;
        q4_k_scale_min(2 * g + 1, b->scales, &sc, &m);
        const float d2 = d * sc, m2 = min * m;
        const uint8_t *q = b->qs + 32 * g;
        for (int l = 0; l < 32; l++)
            y[64 * g + l] = d1 * (q[l] & 0xF) - m1;
        for (int l = 0; l < 32; l++)
            y[64 * g + 32 + l] = d2 * (q[l] >> 4) - m2;
    }
}

static void dequant_q6_k(const mlxn_block_q6_k *b, float *y)
{
    const float d = h2f(b->d);
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
        const int8_t *sc = b->scales + 8 * h;
        float *yh = y + 128 * h;
        for (int l = 0; l < 32; l++) {
            int is = l / 16;
            int q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
            int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            yh[l] = d * sc[is] * q1;
            yh[l + 32] = d * sc[is + 2] * q2;
            yh[l + 64] = d * sc[is + 4] * q3;
            yh[l + 96] = d * sc[is + 6] * q4;
        }
    }
}

void mlxn__dequant_row(mlxn_dtype t, const void *in, int64_t k, float *y)
{
    switch (t) {
    case MLXN_DTYPE_F32:
        memcpy(y, in, (size_t)k * sizeof *y);
        break;
    case MLXN_DTYPE_F16:
        for (int64_t i = 0; i < k; i++)
            y[i] = h2f(((const uint16_t *)in)[i]);
        break;
    case MLXN_DTYPE_BF16:
        for (int64_t i = 0; i < k; i++)
            y[i] = mlxn__bf16_to_f32(((const uint16_t *)in)[i]);
        break;
    case MLXN_DTYPE_Q4_0:
        for (int64_t i = 0; i < k / MLXN_QK; i++, y += MLXN_QK) {
            const mlxn_block_q4_0 *b = (const mlxn_block_q4_0 *)in + i;
            const float d = h2f(b->d);
            for (int j = 0; j < 16; j++) {
                y[j] = (float)((b->qs[j] & 0xF) - 8) * d;
                y[j + 16] = (float)((b->qs[j] >> 4) - 8) * d;
            }
        }
        break;
    case MLXN_DTYPE_Q8_0:
        for (int64_t i = 0; i < k / MLXN_QK; i++, y += MLXN_QK) {
            const mlxn_block_q8_0 *b = (const mlxn_block_q8_0 *)in + i;
            const float d = h2f(b->d);
            for (int j = 0; j < MLXN_QK; j++)
                y[j] = (float)b->qs[j] * d;
        }
        break;
    case MLXN_DTYPE_Q4_K:
        for (int64_t i = 0; i < k / MLXN_QK_K; i++)
            dequant_q4_k((const mlxn_block_q4_k *)in + i, y + MLXN_QK_K * i);
        break;
    case MLXN_DTYPE_Q6_K:
        for (int64_t i = 0; i < k / MLXN_QK_K; i++)
            dequant_q6_k((const mlxn_block_q6_k *)in + i, y + MLXN_QK_K * i);
        break;
    default:
        break;
    }
}

/* ---- MLX affine --------------------------------------------------------------- */
static float scale_to_f32(uint16_t v, int bf16)
{
    return bf16 ? mlxn__bf16_to_f32(v) : h2f(v);
}

/* Element j of a little-endian bit stream of `bits`-bit values. */
static uint32_t get_bits(const uint8_t *w, int64_t j, int bits)
{
    int64_t bit = j * bits;
    uint32_t v = 0;
    for (int b = 0; b < bits; b++, bit++)
        v |= (uint32_t)((w[bit >> 3] >> (bit & 7)) & 1) << b;
    return v;
}

void mlxn__dequant_affine(const mlxn__affine_src *s, int64_t k0, int64_t k, float *out)
{
    const uint8_t *w = s->w + k0 * s->bits / 8;
    const int64_t g0 = k0 / s->group_size;
    for (int64_t j = 0; j < k; j++) {
        int64_t g = g0 + j / s->group_size;
        float scale = scale_to_f32(s->scales[g], s->scale_bf16);
        float bias = s->biases ? scale_to_f32(s->biases[g], s->scale_bf16)
                               : -(float)(1 << (s->bits - 1)) * scale;
        float q;
        if (s->bits == 4)
            q = (float)((w[j >> 1] >> ((j & 1) * 4)) & 0xF);
        else if (s->bits == 8)
            q = (float)w[j];
        else
            q = (float)get_bits(w, j, s->bits);
        out[j] = scale * q + bias;
    }
}

void mlxn__q4_0_to_affine(const void *q4_0, int64_t rows, int64_t k, uint32_t *w,
                          uint16_t *scales)
{
    const uint8_t *src = q4_0;
    const int64_t blocks = rows * (k / 32);
    for (int64_t b = 0; b < blocks; b++, src += 18) {
        memcpy(&scales[b], src, 2);
        const uint8_t *qs = src + 2;
        for (int t = 0; t < 4; t++) { /* word t: elements 8t .. 8t+7 */
            uint32_t v = 0;
            for (int i = 0; i < 8; i++) {
                int e = 8 * t + i;
                uint32_t q = e < 16 ? qs[e] & 15u : (uint32_t)qs[e - 16] >> 4;
                v |= q << (4 * i);
            }
            w[4 * b + t] = v;
        }
    }
}

static void set_bits(uint8_t *w, int64_t j, int bits, uint32_t v)
{
    int64_t bit = j * bits;
    for (int b = 0; b < bits; b++, bit++)
        if ((v >> b) & 1)
            w[bit >> 3] |= (uint8_t)(1u << (bit & 7));
}

/* ---- public API ----------------------------------------------------------------- */
mlxn_affine_format mlxn_affine_format_default(void)
{
    mlxn_affine_format f;
    f.bits = 4;
    f.group_size = 64;
    f.scale_dtype = MLXN_DTYPE_F16;
    return f;
}

static mlxn_status check_row(const char *fn, mlxn_dtype t, const void *a, const void *b,
                             int64_t k)
{
    if (!a || !b)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "%s: NULL argument", fn);
    if ((unsigned)t >= MLXN_DTYPE_COUNT || !mlxn__dequant_supported(t))
        return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED,
                          "%s: dtype %s is not supported (f32, f16, bf16, q4_0, q8_0, "
                          "q4_k, q6_k are)", fn, mlxn_dtype_name(t));
    if (k < 0 || k % mlxn_dtype_block_elems(t))
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG,
                          "%s: k = %lld is not a multiple of the %s block (%lld)", fn,
                          (long long)k, mlxn_dtype_name(t),
                          (long long)mlxn_dtype_block_elems(t));
    return MLXN_OK;
}

mlxn_status mlxn_quantize_row(mlxn_dtype dtype, const float *x, int64_t k, void *out)
{
    mlxn_status st = check_row("quantize_row", dtype, x, out, k);
    if (st != MLXN_OK)
        return st;
    int64_t nb = k / mlxn_dtype_block_elems(dtype);
    switch (dtype) {
    case MLXN_DTYPE_F32:
        memcpy(out, x, (size_t)k * sizeof *x);
        break;
    case MLXN_DTYPE_F16:
        for (int64_t i = 0; i < k; i++)
            ((uint16_t *)out)[i] = f2h(x[i]);
        break;
    case MLXN_DTYPE_BF16:
        for (int64_t i = 0; i < k; i++)
            ((uint16_t *)out)[i] = mlxn__f32_to_bf16(x[i]);
        break;
    case MLXN_DTYPE_Q4_0:
        quantize_q4_0(x, out, nb);
        break;
    case MLXN_DTYPE_Q8_0:
        quantize_q8_0(x, out, nb);
        break;
    case MLXN_DTYPE_Q4_K:
        quantize_q4_k(x, out, nb);
        break;
    case MLXN_DTYPE_Q6_K:
        quantize_q6_k(x, out, nb);
        break;
    default:
        break;
    }
    return MLXN_OK;
}

mlxn_status mlxn_dequantize_row(mlxn_dtype dtype, const void *in, int64_t k, float *out)
{
    mlxn_status st = check_row("dequantize_row", dtype, in, out, k);
    if (st != MLXN_OK)
        return st;
    mlxn__dequant_row(dtype, in, k, out);
    return MLXN_OK;
}

static mlxn_status check_affine(const char *fn, const mlxn_affine_format *f,
                                const mlxn_affine_row *row, const void *x, int64_t k)
{
    if (!f || !row || !row->w || !row->scales || !x)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "%s: NULL argument", fn);
    if (f->bits < 2 || f->bits > 8 || f->bits == 7)
        return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED,
                          "%s: %d bits (2, 3, 4, 5, 6 and 8 are supported)", fn, f->bits);
    if (f->group_size != 32 && f->group_size != 64 && f->group_size != 128)
        return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED,
                          "%s: group size %d (32, 64 and 128 are supported)", fn,
                          f->group_size);
    if (f->scale_dtype != MLXN_DTYPE_F16 && f->scale_dtype != MLXN_DTYPE_BF16)
        return mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED,
                          "%s: scales of dtype %s (f16 and bf16 are supported)", fn,
                          mlxn_dtype_name(f->scale_dtype));
    if (k < 0 || k % f->group_size)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG,
                          "%s: k = %lld is not a multiple of the group size %d", fn,
                          (long long)k, f->group_size);
    return MLXN_OK;
}

mlxn_status mlxn_quantize_row_affine(const mlxn_affine_format *f, const float *x, int64_t k,
                                     const mlxn_affine_row *out)
{
    mlxn_status st = check_affine("quantize_row_affine", f, out, x, k);
    if (st != MLXN_OK)
        return st;
    if (!out->biases)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "quantize_row_affine: NULL biases");
    const float n_bins = (float)((1 << f->bits) - 1), eps = 1e-7f;
    const int bf16 = f->scale_dtype == MLXN_DTYPE_BF16;
    uint8_t *w = out->w;
    memset(w, 0, (size_t)(k * f->bits / 8));
    for (int64_t g = 0; g < k / f->group_size; g++) {
        const float *xg = x + g * f->group_size;
        float w_min = INFINITY, w_max = -INFINITY;
        for (int j = 0; j < f->group_size; j++) {
            w_max = fmaxf(w_max, xg[j]);
            w_min = fminf(w_min, xg[j]);
        }
        int mask = fabsf(w_min) > fabsf(w_max);
        float scale = fmaxf((w_max - w_min) / n_bins, eps);
        scale = mask ? scale : -scale;
        float edge = mask ? w_min : w_max;
        float q0 = rintf(edge / scale), bias = 0.0f;
        if (q0 != 0.0f) {
            scale = edge / q0;
            bias = edge;
        }
        for (int j = 0; j < f->group_size; j++) {
            float q = fminf(fmaxf(rintf((xg[j] - bias) / scale), 0.0f), n_bins);
            set_bits(w, g * f->group_size + j, f->bits, (uint32_t)q);
        }
        ((uint16_t *)out->scales)[g] = bf16 ? mlxn__f32_to_bf16(scale) : f2h(scale);
        ((uint16_t *)out->biases)[g] = bf16 ? mlxn__f32_to_bf16(bias) : f2h(bias);
    }
    return MLXN_OK;
}

mlxn_status mlxn_dequantize_row_affine(const mlxn_affine_format *f, const mlxn_affine_row *in,
                                       int64_t k, float *out)
{
    mlxn_status st = check_affine("dequantize_row_affine", f, in, out, k);
    if (st != MLXN_OK)
        return st;
    mlxn__affine_src s = {in->w, in->scales, in->biases, f->bits, f->group_size,
                          f->scale_dtype == MLXN_DTYPE_BF16};
    mlxn__dequant_affine(&s, 0, k, out);
    return MLXN_OK;
}
