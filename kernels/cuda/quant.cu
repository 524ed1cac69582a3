/*
 * quant.cu: dequantize whole weights (dequant_<f>: W to f32, f16 or bf16,
 * used by mlxn_op_dequantize and the cuBLAS prefill path) and look up rows
 * of quantized embedding tables (embed_<q>).
 *
 * Both walk units of 8 elements with a grid-stride loop over the flattened
 * thread index, so they are correct for any launch geometry (the embedding
 * op of another module chooses its own).
 */
#include "quant.cuh"
#include "params/embed.h"

__device__ __forceinline__ uint64_t flat_thread(uint64_t *stride)
{
    uint64_t threads = (uint64_t)blockDim.x * blockDim.y * blockDim.z;
    uint64_t block = ((uint64_t)blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
    *stride = threads * gridDim.x * gridDim.y * gridDim.z;
    return block * threads + ((uint64_t)threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x +
           threadIdx.x;
}

template <int F>
__device__ __forceinline__ void dequant(const wptr &w, void *out, const mlxn_matmul_params &p)
{
    MLXN_PDL_ENTER();
    const uint64_t units = (p.k + 7) / 8, total = (uint64_t)p.n * units;
    uint64_t stride, u = flat_thread(&stride);
    for (; u < total; u += stride) {
        const uint64_t r = u / units;
        const uint32_t e = (uint32_t)(u % units) * 8;
        float q[8], s, o;
        decode8<F>(row_ptr(w, r, p), e, w, r, e, p, q, s, o);
        const uint64_t base = r * p.k + e;
        float v[8];
#pragma unroll
        for (int i = 0; i < 8; i++)
            v[i] = fmaf(s, q[i], o);
        const bool full = e + 8 <= p.k;
        if (p.flags & (MLXN_MM_OUT_BF16 | MLXN_MM_OUT_F16)) {
            uint16_t h[8];
#pragma unroll
            for (int i = 0; i < 8; i++)
                h[i] = (p.flags & MLXN_MM_OUT_BF16) ? __bfloat16_as_ushort(__float2bfloat16_rn(v[i]))
                                                    : __half_as_ushort(__float2half_rn(v[i]));
            uint16_t *o16 = (uint16_t *)out + base;
            if (full && ((uintptr_t)o16 & 15) == 0) {
                *(uint4 *)o16 = make_uint4(h[0] | (uint32_t)h[1] << 16, h[2] | (uint32_t)h[3] << 16,
                                           h[4] | (uint32_t)h[5] << 16, h[6] | (uint32_t)h[7] << 16);
            } else {
                for (int i = 0; i < 8 && e + i < p.k; i++)
                    o16[i] = h[i];
            }
        } else {
            float *o32 = (float *)out + base;
            if (full && ((uintptr_t)o32 & 15) == 0) {
                ((float4 *)o32)[0] = make_float4(v[0], v[1], v[2], v[3]);
                ((float4 *)o32)[1] = make_float4(v[4], v[5], v[6], v[7]);
            } else {
                for (int i = 0; i < 8 && e + i < p.k; i++)
                    o32[i] = v[i];
            }
        }
    }
}

template <int F>
__device__ __forceinline__ void dq(const uint8_t *w, void *out, mlxn_matmul_params p)
{
    wptr wp = {w, 0, 0};
    dequant<F>(wp, out, p);
}

template <int F>
__device__ __forceinline__ void dq_mlx(const uint8_t *w, const uint16_t *s, const uint16_t *b, void *out,
                                       mlxn_matmul_params p)
{
    wptr wp = {w, s, b};
    dequant<F>(wp, out, p);
}

/* args: w, out, params (MLX: w, scales, biases, out, params) */
MLXN_KERNEL(dequant_f32)(const uint8_t *w, void *out, mlxn_matmul_params p) { dq<FMT_F32>(w, out, p); }
MLXN_KERNEL(dequant_f16)(const uint8_t *w, void *out, mlxn_matmul_params p) { dq<FMT_F16>(w, out, p); }
MLXN_KERNEL(dequant_bf16)(const uint8_t *w, void *out, mlxn_matmul_params p) { dq<FMT_BF16>(w, out, p); }
MLXN_KERNEL(dequant_q4_0)(const uint8_t *w, void *out, mlxn_matmul_params p) { dq<FMT_Q4_0>(w, out, p); }
MLXN_KERNEL(dequant_q8_0)(const uint8_t *w, void *out, mlxn_matmul_params p) { dq<FMT_Q8_0>(w, out, p); }
MLXN_KERNEL(dequant_q4_k)(const uint8_t *w, void *out, mlxn_matmul_params p) { dq<FMT_Q4_K>(w, out, p); }
MLXN_KERNEL(dequant_q6_k)(const uint8_t *w, void *out, mlxn_matmul_params p) { dq<FMT_Q6_K>(w, out, p); }
MLXN_KERNEL(dequant_mlx4)(const uint8_t *w, const uint16_t *s, const uint16_t *b, void *out, mlxn_matmul_params p) { dq_mlx<FMT_MLX4>(w, s, b, out, p); }
MLXN_KERNEL(dequant_mlx8)(const uint8_t *w, const uint16_t *s, const uint16_t *b, void *out, mlxn_matmul_params p) { dq_mlx<FMT_MLX8>(w, s, b, out, p); }
MLXN_KERNEL(dequant_mlx)(const uint8_t *w, const uint16_t *s, const uint16_t *b, void *out, mlxn_matmul_params p) { dq_mlx<FMT_MLX>(w, s, b, out, p); }

/* out[i] = row ids[i] of the table dequantized; zeros for ids outside
 * [0, n_rows). */
template <int F>
__device__ __forceinline__ void embed(const uint8_t *table, const int32_t *ids, float *out,
                                      mlxn_embed_params ep)
{
    MLXN_PDL_ENTER();
    mlxn_matmul_params p = {};
    p.k = ep.n_embd;
    p.row_bytes = F == FMT_Q4_0 ? ep.n_embd / 32 * 18
                  : F == FMT_Q8_0 ? ep.n_embd / 32 * 34
                  : F == FMT_Q4_K ? ep.n_embd / 256 * 144
                                  : ep.n_embd / 256 * 210;
    const wptr w = {table, 0, 0};
    const uint64_t units = ep.n_embd / 8, total = (uint64_t)ep.n_ids * units;
    uint64_t stride, u = flat_thread(&stride);
    for (; u < total; u += stride) {
        const uint64_t i = u / units;
        const uint32_t e = (uint32_t)(u % units) * 8;
        const int32_t id = ids[i];
        float *o = out + i * ep.n_embd + e;
        float q[8], s = 0.0f, off = 0.0f;
        bool valid = id >= 0 && (uint32_t)id < ep.n_rows;
        if (valid)
            decode8<F>(row_ptr(w, (uint64_t)id, p), e, w, (uint64_t)id, e, p, q, s, off);
#pragma unroll
        for (int j = 0; j < 8; j++)
            o[j] = valid ? fmaf(s, q[j], off) : 0.0f;
    }
}

/* args: table, ids, out, mlxn_embed_params */
MLXN_KERNEL(embed_q4_0)(const uint8_t *table, const int32_t *ids, float *out, mlxn_embed_params p) { embed<FMT_Q4_0>(table, ids, out, p); }
MLXN_KERNEL(embed_q8_0)(const uint8_t *table, const int32_t *ids, float *out, mlxn_embed_params p) { embed<FMT_Q8_0>(table, ids, out, p); }
MLXN_KERNEL(embed_q4_k)(const uint8_t *table, const int32_t *ids, float *out, mlxn_embed_params p) { embed<FMT_Q4_K>(table, ids, out, p); }
MLXN_KERNEL(embed_q6_k)(const uint8_t *table, const int32_t *ids, float *out, mlxn_embed_params p) { embed<FMT_Q6_K>(table, ids, out, p); }

/* Read bandwidth reference for the benchmarks: xor of n 16-byte words,
 * written only when it equals a value random data will not produce (so
 * the loads cannot be dropped). early = 0: the loads after
 * griddepcontrol.wait, as a kernel that reads its predecessor's output;
 * early = 1: all loads before it (only the write waits), so a chain of
 * these overlaps its kernels' starts and ends. */
MLXN_KERNEL(debug_read_bw)(const uint4 *in, uint32_t *out, uint64_t n, uint32_t early)
{
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
    if (!early)
        asm volatile("griddepcontrol.wait;" ::: "memory");
    MLXN_TL_MARK(1);
    uint64_t stride = (uint64_t)gridDim.x * blockDim.x, i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    uint32_t acc = 0;
    for (; i + 3 * stride < n; i += 4 * stride) {
        uint4 a = __ldcs(in + i), b = __ldcs(in + i + stride), c = __ldcs(in + i + 2 * stride),
              d = __ldcs(in + i + 3 * stride);
        acc ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w ^ c.x ^ c.y ^ c.z ^ c.w ^ d.x ^ d.y ^
               d.z ^ d.w;
    }
    for (; i < n; i += stride) {
        uint4 a = __ldcs(in + i);
        acc ^= a.x ^ a.y ^ a.z ^ a.w;
    }
    if (early)
        asm volatile("griddepcontrol.wait;" ::: "memory");
    if (acc == 0x9e3779b9u)
        out[0] = acc;
}
