/*
 * rope.cu: rotary position embedding in f32, interleaved pairs (2i, 2i+1)
 * and NeoX pairs (i, i + n_rot/2); dims from n_rot on pass through. Block
 * (t, g) handles token t and heads_per_block heads: it first computes the
 * n_rot/2 angles of the token in double precision (cos/sin rounded to
 * f32, as the CPU kernels do; rope_common.cuh), then rotates every pair
 * of its heads.
 */
#include "rope_common.cuh"
#include "params/rope.h"

template <int NEOX>
__device__ void rope(const float *x, const int32_t *pos, const float *factors, float *out,
                     mlxn_rope_kparams p)
{
    __shared__ float cs[MLXN_ROPE_MAX_HALF], sn[MLXN_ROPE_MAX_HALF];
    __shared__ double pw[MLXN_ROPE_MAX_HALF];
    rope_pow(pw, p.n_rot, p.theta_base); /* before the wait: reads no buffer */
    MLXN_PDL_ENTER();
    uint32_t t = blockIdx.x, half = p.n_rot / 2, pairs = p.head_dim / 2;
    if (t >= p.n_tokens)
        return;
    rope_angles(cs, sn, pos[t], factors, pw, p.n_rot, p.freq_scale, p.has_factors);
    __syncthreads();
    uint32_t h0 = blockIdx.y * p.heads_per_block;
    uint32_t nh = min(p.heads_per_block, p.n_heads - h0);
    for (uint32_t item = threadIdx.x; item < nh * pairs; item += blockDim.x) {
        uint32_t h = h0 + item / pairs, j = item % pairs;
        uint64_t base = ((uint64_t)t * p.n_heads + h) * p.head_dim;
        if (j < half) {
            uint32_t a = NEOX ? j : 2 * j, b = NEOX ? j + half : 2 * j + 1;
            float xa = x[base + a], xb = x[base + b];
            out[base + a] = xa * cs[j] - xb * sn[j];
            out[base + b] = xa * sn[j] + xb * cs[j];
        } else {
            uint32_t d = p.n_rot + 2 * (j - half);
            float xa = x[base + d], xb = x[base + d + 1];
            out[base + d] = xa;
            out[base + d + 1] = xb;
        }
    }
}

/* args: x, positions, freq_factors, out, params */
MLXN_KERNEL(rope_interleaved_f32)(const float *x, const int32_t *pos, const float *factors, float *out, mlxn_rope_kparams p) { rope<0>(x, pos, factors, out, p); }
MLXN_KERNEL(rope_neox_f32)(const float *x, const int32_t *pos, const float *factors, float *out, mlxn_rope_kparams p) { rope<1>(x, pos, factors, out, p); }
