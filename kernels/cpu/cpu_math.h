/*
 * cpu_math.h: scalar helpers for CPU kernels: f16 and bf16 conversions
 * (round to nearest even, as the GPU's conversions), loads by dtype.
 */
#ifndef MLXN_CPU_MATH_H
#define MLXN_CPU_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float mlxn__f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint32_t mlxn__f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float mlxn__bf16_to_f32(uint16_t h)
{
    return mlxn__f32_from_bits((uint32_t)h << 16);
}

static inline uint16_t mlxn__f32_to_bf16(float f)
{
    uint32_t u = mlxn__f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it quiet */
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float mlxn__f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f)
        return mlxn__f32_from_bits(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        if (man == 0)
            return mlxn__f32_from_bits(sign);
        float f = (float)man * (1.0f / 16777216.0f); /* man * 2^-24 */
        return sign ? -f : f;
    }
    return mlxn__f32_from_bits(sign | ((exp + 112u) << 23) | (man << 13));
}

static inline uint16_t mlxn__f32_to_f16(float f)
{
    uint32_t u = mlxn__f32_bits(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u);
    if (a >= 0x477ff000u) /* rounds to >= 65520: infinity */
        return (uint16_t)(sign | 0x7c00u);
    if (a < 0x38800000u) { /* below the smallest normal: subnormal or 0 */
        float v = mlxn__f32_from_bits(a) * 16777216.0f; /* units of 2^-24 */
        float r = nearbyintf(v); /* current rounding mode: nearest even */
        return (uint16_t)(sign | (uint32_t)r);
    }
    uint32_t rounded = a + 0xfffu + ((a >> 13) & 1u);
    return (uint16_t)(sign | ((rounded - 0x38000000u) >> 13));
}

#endif /* MLXN_CPU_MATH_H */
