/*
 * x8_ref.h: the test reference for rounding one block of 32 values to 8
 * bits by the rule of kernels/params/matmul.h (the x8 rows and the int8
 * activations of matvec_x8_*), written here from the rule, not taken from
 * a kernel.
 */
#ifndef MLXN_X8_REF_H
#define MLXN_X8_REF_H

#include "params/matmul.h"

#include <stdint.h>
#include <string.h>

/* xb[0..32) -> codes q and their sum *isum; returns the block's scale d
 * (x^ = d * q). */
static inline float x8_ref_block(const float *xb, int8_t q[32], int32_t *isum)
{
    uint32_t amax = 0;
    for (int i = 0; i < 32; i++) {
        uint32_t u;
        memcpy(&u, &xb[i], 4);
        amax = (u & 0x7fffffffu) > amax ? u & 0x7fffffffu : amax;
    }
    float inv, d = mlxn_x8_scale(amax, &inv);
    int32_t s = 0;
    for (int i = 0; i < 32; i++) {
        q[i] = (int8_t)mlxn_x8_round(xb[i] * inv);
        s += q[i];
    }
    *isum = s;
    return d;
}

#endif /* MLXN_X8_REF_H */
