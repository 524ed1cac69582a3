/*
 * rope_common.cuh: the RoPE arithmetic of rope.cu and rope_kv.cu: angles
 * in double precision rounded to f32 (as the CPU kernels compute them),
 * the powers of the base first, before the kernel waits for its
 * predecessor (they read no buffer; the double-precision pow was about
 * 1% of a decode step when it followed the wait).
 */
#ifndef MLXN_ROPE_COMMON_CUH
#define MLXN_ROPE_COMMON_CUH

#include "common.cuh"

/* pw[i] = theta_base^(-2i / n_rot) for the n_rot / 2 frequencies, by the
 * block's threads (thread t takes i = t, t + blockDim.x, ...): no buffer
 * is read, so a kernel computes it before waiting for its predecessor. */
__device__ __forceinline__ void rope_pow(double *pw, uint32_t n_rot, float theta_base)
{
    for (uint32_t i = threadIdx.x; i < n_rot / 2; i += blockDim.x)
        pw[i] = pow((double)theta_base, -2.0 * i / (double)n_rot);
}

/* cs[i], sn[i] at `position` from pw (each thread the i it computed in
 * rope_pow; the caller synchronises before reading cs and sn). */
__device__ __forceinline__ void rope_angles(float *cs, float *sn, int32_t position,
                                            const float *factors, const double *pw,
                                            uint32_t n_rot, float freq_scale,
                                            uint32_t has_factors)
{
    double ppos = (double)position * (double)freq_scale;
    for (uint32_t i = threadIdx.x; i < n_rot / 2; i += blockDim.x) {
        double ang = ppos * pw[i];
        if (has_factors)
            ang /= (double)factors[i];
        double s, c;
        sincos(ang, &s, &c);
        cs[i] = (float)c;
        sn[i] = (float)s;
    }
}

#endif /* MLXN_ROPE_COMMON_CUH */
