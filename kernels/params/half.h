/*
 * params/half.h: f16 and bf16 conversions by integer arithmetic (round to
 * nearest even, as the GPU's conversion instructions), for host and device
 * code alike. The CPU kernels use them for every conversion; CUDA kernels
 * use them where the bits must match the CPU's by construction (random
 * fills), and where nvcc 13.0 miscompiles the hardware conversion: storing
 * the low byte of a __float2half_rn result with a byte store writes 0 on
 * sm_90 (found on the H200 in fill_random_blocks; a 16-bit store of the
 * same value is right).
 */
#ifndef MLXN_PARAMS_HALF_H
#define MLXN_PARAMS_HALF_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define MLXN__HD __host__ __device__
#else
#define MLXN__HD
#endif

static inline MLXN__HD float mlxn__f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline MLXN__HD uint32_t mlxn__f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline MLXN__HD float mlxn__bf16_to_f32(uint16_t h)
{
    return mlxn__f32_from_bits((uint32_t)h << 16);
}

static inline MLXN__HD uint16_t mlxn__f32_to_bf16(float f)
{
    uint32_t u = mlxn__f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it quiet */
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline MLXN__HD float mlxn__f16_to_f32(uint16_t h)
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

static inline MLXN__HD uint16_t mlxn__f32_to_f16(float f)
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

#endif /* MLXN_PARAMS_HALF_H */
