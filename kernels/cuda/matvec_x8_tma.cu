/*
 * matvec_x8_tma.cu: the int8-activation kernels whose weights the copy
 * engine (cp.async.bulk) moves into shared memory, for weights no running
 * kernel writes: MLX 4- and 8-bit, GGUF Q4_K, Q6_K and Q8_0 (the register
 * kernels are in matvec_x8.cu, the shared parts in matvec_x8.cuh); and
 * the same loop for dense bf16 / f16 weights with x kept in f32
 * (matvec_tma_bf16, _f16).
 */
#include "matvec_x8.cuh"

/* The _tma kernels (W immutable, as the _early ones): each warp streams
 * its rows (w, w + W, ... as in x8_run) as chunks of up to X8T_WORDS
 * words, each chunk's codes, scales and biases copied into one of the
 * warp's S shared-memory slots by cp.async.bulk (the copy engine: one
 * instruction per array moves a chunk, and no registers hold the stages).
 * Lane 0 issues a chunk's copies and the slot's mbarrier counts its bytes;
 * the warp waits on it, consumes the slot and refills it with its next
 * chunk. A warp copies E chunks before griddepcontrol.wait and the rest of
 * its S right after the block's last loads of x are issued: the loads of
 * x queue behind whatever bytes the SM already has in flight, so few
 * early bytes let x arrive sooner, and the copies issued behind it keep
 * the SM's share of DRAM busy while x is rounded (H200, tg128 q4_0, each
 * against the register kernels in the same run: all S early 575.0 / 588.6,
 * E = 1 and the rest after the first round of x 604.6 / 588.5, after the
 * last round 610.6 / 587.7). Lane l takes
 * the words l, l + 32, ... of a chunk: the words and order of sums of
 * x8_run, so the results equal the register kernels' bit for bit. Needs
 * 16-byte aligned codes, scales and biases and, for MLX 4-bit, k a
 * multiple of 8 group_size (every chunk's scales are then whole 16-byte
 * units); the _tma_odd kernels (ODD) take GGUF rows and MLX 8-bit scales
 * that start off 16-byte boundaries. */
#define X8T_WORDS MLXN_X8T_WORDS
#define X8T_SLOT_BYTES(nw) MLXN_X8T_SLOT_BYTES(nw, F == X8_Q6K, ODD)

__device__ __forceinline__ uint32_t x8t_smem(const void *p)
{
    return (uint32_t)__cvta_generic_to_shared(p);
}

/* One bulk copy into shared memory, completing on the mbarrier bar, with
 * the L2 policy pol. */
__device__ __forceinline__ void x8t_copy(uint32_t dst, const void *src, uint32_t bytes,
                                         uint32_t bar, uint64_t pol)
{
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint"
                 " [%0], [%1], %2, [%3], %4;"
                 ::"r"(dst), "l"(src), "r"(bytes), "r"(bar), "l"(pol) : "memory");
}

__device__ __forceinline__ void x8t_wait(uint32_t bar, uint32_t parity)
{
    uint32_t ok;
    do {
        asm volatile("{\n\t.reg .pred p;\n\t"
                     "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n\t"
                     "selp.u32 %0, 1, 0, p;\n\t}"
                     : "=r"(ok) : "r"(bar), "r"(parity) : "memory");
    } while (!ok);
}

/* Lane 0: the copies of chunk c of NW weights into a slot (codes, then
 * scales, then biases, each NW arrays of X8T_WORDS entries; E16: elements
 * per 16-byte word, 32 for MLX 4-bit, 16 for 8-bit). The weights
 * are read once per token, so they are marked evict-first in L2: the
 * activations, the KV cache and the next kernels' data stay (H200, tg128
 * q4_0 in one run: 628.4 against 612.9 without the hint, mlx4 602.5
 * against 590.7). */
template <int NW, uint32_t E16, bool ODD>
__device__ __forceinline__ void x8t_issue(uint32_t slot, uint32_t bar, const x8_w *wt,
                                          x8_cursor c, const mlxn_matmul_params &p)
{
    const uint32_t nb = p.k / E16, gpr = p.k / p.group_size, wpg = p.group_size / E16;
    const uint32_t b0 = c.j * X8T_WORDS, nw = min(X8T_WORDS, nb - b0);
    uint32_t sb = 2 * nw / wpg;
    const bool sym = p.flags & MLXN_MM_SYMMETRIC;
    uint64_t g0 = (uint64_t)c.row * gpr + b0 / wpg;
    /* ODD (MLX 8-bit, k not a multiple of 8 groups): the scales and biases
     * of a row start off 16-byte boundaries; copied from the boundary
     * before (x8t_mlx_soff) */
    if (ODD) {
        const uint32_t soff = (uint32_t)(g0 * 2) & 15u;
        sb = (soff + sb + 15u) & ~15u;
        g0 -= soff / 2;
    }
    const uint32_t bytes = NW * (16 * nw + (sym ? sb : 2 * sb));
    uint64_t pol;
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(pol));
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(bar), "r"(bytes)
                 : "memory");
#pragma unroll
    for (int v = 0; v < NW; v++) {
        x8t_copy(slot + 16 * X8T_WORDS * v, &wt[v].w[(uint64_t)c.row * nb + b0], 16 * nw, bar,
                 pol);
        x8t_copy(slot + 16 * X8T_WORDS * NW + 2 * X8T_WORDS * v, &wt[v].s[g0], sb, bar, pol);
        if (!sym)
            x8t_copy(slot + 18 * X8T_WORDS * NW + 2 * X8T_WORDS * v, &wt[v].b[g0], sb, bar, pol);
    }
}

/* Where an ODD MLX 8-bit chunk's scales (and biases) start in its slot:
 * the 16-byte offset of its first group's scale (x8t_issue). */
__device__ __forceinline__ uint32_t x8t_mlx_soff(x8_cursor c, const mlxn_matmul_params &p)
{
    const uint32_t gpr = p.k / p.group_size, wpg = p.group_size / 16u;
    return (uint32_t)(((uint64_t)c.row * gpr + c.j * X8T_WORDS / wpg) * 2) & 15u;
}

/* Elements of a row per chunk: those of X8T_WORDS words of 32, or of
 * X8T_WORDS / 2 Q8_0 blocks (whose 34 bytes per 32 elements would not
 * fit the slots otherwise). */
template <int F> __device__ __forceinline__ constexpr uint32_t x8t_chunk_elems()
{
    return F == X8_BF16 || F == X8_F16      ? 8 * X8T_WORDS
           : F == X8_Q80 || F == X8_MLX8 ? 16 * X8T_WORDS
                                         : 32 * X8T_WORDS;
}

/* Dense 16-bit weights (the _tma_bf16 / _tma_f16 kernels): x stays f32. */
template <int F> __device__ __forceinline__ constexpr bool x8t_dense()
{
    return F == X8_BF16 || F == X8_F16;
}

/* GGUF blocks: bytes and elements of a block of format F (Q4_K 144 / 256,
 * Q6_K 210 / 256, Q8_0 34 / 32; the dense formats are copied the same
 * way, a "block" being one 16-byte word of 8 elements), and the bytes of
 * a slot that one weight's chunk takes: its x8t_chunk_elems / elements
 * blocks, and for ODD (rows that need not start on 16-byte boundaries,
 * x8t_issue_k) 16 more. */
template <int F> __device__ __forceinline__ constexpr uint32_t x8t_bb()
{
    return F == X8_Q4K ? 144u : F == X8_Q6K ? 210u : x8t_dense<F>() ? 16u : 34u;
}
template <int F> __device__ __forceinline__ constexpr uint32_t x8t_be()
{
    return F == X8_Q80 ? 32u : x8t_dense<F>() ? 8u : 256u;
}
template <int F, bool ODD> __device__ __forceinline__ constexpr uint32_t x8t_wstride()
{
    return x8t_chunk_elems<F>() / x8t_be<F>() * x8t_bb<F>() + (ODD ? 16u : 0u);
}

/* Where a GGUF chunk starts within its copy: for ODD, the 16-byte offset
 * of row `row` (W is 16-byte aligned and a chunk's blocks span a multiple
 * of 16 bytes, so every chunk of a row has its row's offset); 0 for rows
 * of whole 16-byte units (Q4_K always; Q6_K with k a multiple of 2048,
 * Q8_0 with k a multiple of 256: the kernels without ODD). */
template <bool ODD>
__device__ __forceinline__ uint32_t x8t_row_off(uint32_t row, const mlxn_matmul_params &p)
{
    return ODD ? (uint32_t)((uint64_t)row * p.row_bytes) & 15u : 0u;
}

/* Lane 0: the copy of chunk c of NW weights of GGUF blocks (format F) into
 * a slot: x8t_chunk_elems / x8t_be blocks of a row, one copy per weight,
 * weight v at byte x8t_wstride v of the slot. The copy engine moves whole
 * 16-byte units from 16-byte aligned addresses, so for ODD a chunk whose
 * row starts off a boundary (Q6_K, Q8_0: 210 or 34 bytes a block) is
 * copied from the boundary before it (up to 14 bytes of the previous
 * row) to the one after its end (up to 14 bytes of the next row, or of
 * the padding every device buffer has up to 16 bytes) and found at
 * x8t_row_off in the slot. */
template <int NW, int F, bool ODD>
__device__ __forceinline__ void x8t_issue_k(uint32_t slot, uint32_t bar, const x8_w *wt,
                                            x8_cursor c, const mlxn_matmul_params &p)
{
    constexpr uint32_t BB = x8t_bb<F>(), nc = x8t_chunk_elems<F>() / x8t_be<F>();
    const uint32_t nbk = p.k / x8t_be<F>(), b0 = c.j * nc;
    const uint32_t off = x8t_row_off<ODD>(c.row, p);
    const uint32_t bytes = ODD ? (off + BB * min(nc, nbk - b0) + 15u) & ~15u
                               : BB * min(nc, nbk - b0);
    const uint64_t src = (uint64_t)c.row * p.row_bytes + BB * b0 - off;
    uint64_t pol;
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(pol));
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(bar),
                 "r"(NW * bytes)
                 : "memory");
#pragma unroll
    for (int v = 0; v < NW; v++)
        x8t_copy(slot + x8t_wstride<F, ODD>() * v, (const uint8_t *)wt[v].w + src, bytes, bar,
                 pol);
}

template <int NW, int F, bool ODD>
__device__ __forceinline__ void x8t_fill(uint32_t slot, uint32_t bar, const x8_w *wt,
                                         x8_cursor c, const mlxn_matmul_params &p)
{
    if (F == X8_Q4K || F == X8_Q6K || F == X8_Q80 || x8t_dense<F>())
        x8t_issue_k<NW, F, ODD>(slot, bar, wt, c, p);
    else if (F == X8_MLX8)
        x8t_issue<NW, 16, ODD>(slot, bar, wt, c, p);
    else
        x8t_issue<NW, 32, false>(slot, bar, wt, c, p);
}

/* N 32-bit words from a 2-byte aligned shared address (Q6_K blocks are
 * 210 bytes, so every other one starts 2 bytes off a word): N + 1 aligned
 * loads, realigned with byte permutes. */
template <int N>
__device__ __forceinline__ void x8t_words(const unsigned char *p, uint32_t (&out)[N])
{
    const uint32_t *w = (const uint32_t *)((uintptr_t)p & ~(uintptr_t)3);
    const uint32_t sel = ((uintptr_t)p & 2) ? 0x5432u : 0x3210u;
    uint32_t prev = w[0];
#pragma unroll
    for (int i = 0; i < N; i++) {
        const uint32_t next = w[i + 1];
        out[i] = __byte_perm(prev, next, sel);
        prev = next;
    }
}

__device__ __forceinline__ int x8_word(const x8_xblock &x, int i)
{
    const int4 &h = i < 4 ? x.a : x.b;
    const int j = i & 3;
    return j == 0 ? h.x : j == 1 ? h.y : j == 2 ? h.z : h.w;
}

/* acc plus half h of a GGUF Q6_K block (params/quant.h) of each of NW
 * weights (blk: the blocks in shared memory), lane unit b of the row
 * (x's blocks 4b .. 4b + 3): element 128 h + 32 j + l of the block has
 * its low 4 bits in ql[64 h + l + 32 (j & 1)] at shift 4 (j >> 1), its
 * high 2 bits in qh[32 h + l] at shift 2 j and the scale sc[8 h + 2 j +
 * l / 16]; w = d sc (q - 32), so the codes q - 32 are signed bytes for
 * __dp4a and each 16 elements add (d sc xd) dot. */
template <int NW>
__device__ __forceinline__ void x8q6_add_unit(float acc[NW], const unsigned char *const *blk,
                                              uint32_t h, uint32_t b, const int8_t *sq,
                                              const float *sd, const int *si)
{
    uint32_t ql[NW][16], qh[NW][8], sc[NW][2];
    float d[NW];
#pragma unroll
    for (int v = 0; v < NW; v++) {
        x8t_words(blk[v] + 64 * h, ql[v]);
        x8t_words(blk[v] + 128 + 32 * h, qh[v]);
        x8t_words(blk[v] + 192 + 8 * h, sc[v]);
        d[v] = h2f(*(const uint16_t *)(blk[v] + 208));
    }
#pragma unroll
    for (int j = 0; j < 4; j++) {
        const x8_xblock xq = x8_xblock_at<true>(sq, sd, si, 4 * b + j);
#pragma unroll
        for (int v = 0; v < NW; v++) {
            int dot[2] = {0, 0};
#pragma unroll
            for (int i = 0; i < 8; i++) {
                const uint32_t q = ((ql[v][8 * (j & 1) + i] >> (4 * (j >> 1))) & 0x0F0F0F0Fu) |
                                   (((qh[v][i] >> (2 * j)) & 0x03030303u) << 4);
                dot[i / 4] = __dp4a((int)__vsub4(q, 0x20202020u), x8_word(xq, i), dot[i / 4]);
            }
#pragma unroll
            for (int s = 0; s < 2; s++) {
                const int sv = (int8_t)(sc[v][j >> 1] >> (16 * (j & 1) + 8 * s));
                acc[v] = fmaf(d[v] * (float)sv * xq.d, (float)dot[s], acc[v]);
            }
        }
    }
}

/* acc plus two GGUF Q8_0 blocks (w = d q, q signed bytes: 34 bytes each,
 * 2-byte aligned) of each of NW weights, x's blocks 2 b and 2 b + 1 (for
 * ODD only the first where 2 b + 1 is the row's nbk-th block: an odd
 * count; without ODD k is a multiple of 256). */
template <int NW, bool ODD>
__device__ __forceinline__ void x8q8_add_unit(float acc[NW], const unsigned char *const *blk,
                                              uint32_t b, uint32_t nbk, const int8_t *sq,
                                              const float *sd, const int *si)
{
#pragma unroll
    for (int t = 0; t < 2; t++) {
        if (ODD && t == 1 && 2 * b + 1 >= nbk)
            break;
        const x8_xblock xq = x8_xblock_at<true>(sq, sd, si, 2 * b + t);
#pragma unroll
        for (int v = 0; v < NW; v++) {
            uint32_t q[8];
            x8t_words(blk[v] + 34 * t + 2, q);
            int dot = 0;
#pragma unroll
            for (int i = 0; i < 8; i++)
                dot = __dp4a((int)q[i], x8_word(xq, i), dot);
            const float d = h2f(*(const uint16_t *)(blk[v] + 34 * t));
            acc[v] = fmaf(d * xq.d, (float)dot, acc[v]);
        }
    }
}

/* dp4a of 4 unsigned bytes (MLX 8-bit codes) with 4 signed ones (x). */
__device__ __forceinline__ int x8_dp4a_us(uint32_t a, int b, int c)
{
    int r;
    asm("dp4a.u32.s32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}

/* acc plus 32 MLX 8-bit codes (the words w0, w1, in element order) of
 * one group against x's block x: (s d) dot + (b d) isum, or (s d) (dot -
 * 128 isum) for symmetric weights. */
__device__ __forceinline__ float x8_add_word8(float acc, const uint4 &w0, const uint4 &w1,
                                              uint16_t s, const uint16_t &b, const x8_xblock &x,
                                              bool bf16, bool sym)
{
    int dot = 0;
    dot = x8_dp4a_us(w0.x, x.a.x, dot);
    dot = x8_dp4a_us(w0.y, x.a.y, dot);
    dot = x8_dp4a_us(w0.z, x.a.z, dot);
    dot = x8_dp4a_us(w0.w, x.a.w, dot);
    dot = x8_dp4a_us(w1.x, x.b.x, dot);
    dot = x8_dp4a_us(w1.y, x.b.y, dot);
    dot = x8_dp4a_us(w1.z, x.b.z, dot);
    dot = x8_dp4a_us(w1.w, x.b.w, dot);
    const float sf = x8_h2f(s, bf16);
    if (sym)
        return fmaf(sf * x.d, (float)(dot - 128 * x.is), acc);
    acc = fmaf(sf * x.d, (float)dot, acc);
    return fmaf(x8_h2f(b, bf16) * x.d, (float)x.is, acc);
}

/* x (k f32, 16-byte aligned) copied into shared memory xs by the whole
 * block, X8_QLOADS float4 per thread a round; after_loads() once the last
 * round's loads are issued (as x8_quantize; the dense kernels keep x in
 * f32). */
template <class Fn>
__device__ __forceinline__ void x8t_stage_x(const float *x, uint32_t k, float *xs,
                                            Fn &&after_loads)
{
    const float4 *x4 = (const float4 *)x;
    float4 *o4 = (float4 *)xs;
    const uint32_t n4 = k / 4, nt = blockDim.x;
    for (uint32_t base = 0; base < n4; base += nt * X8_QLOADS) {
        float4 v[X8_QLOADS];
#pragma unroll
        for (int j = 0; j < X8_QLOADS; j++) {
            const uint32_t i = base + j * nt + threadIdx.x;
            v[j] = i < n4 ? x4[i] : make_float4(0.f, 0.f, 0.f, 0.f);
        }
        if (base + nt * X8_QLOADS >= n4)
            after_loads();
#pragma unroll
        for (int j = 0; j < X8_QLOADS; j++) {
            const uint32_t i = base + j * nt + threadIdx.x;
            if (i < n4)
                o4[i] = v[j];
        }
    }
}

/* acc plus the dot product of 8 bf16 or f16 weights (one 16-byte word,
 * element 2i in the low half of 32-bit word i) with x's 8 f32 values. */
template <int F>
__device__ __forceinline__ float x8t_dot16(float acc, const uint4 &w, const float4 &xa,
                                           const float4 &xb)
{
    const uint32_t ww[4] = {w.x, w.y, w.z, w.w};
    const float xv[8] = {xa.x, xa.y, xa.z, xa.w, xb.x, xb.y, xb.z, xb.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float lo, hi;
        if (F == X8_BF16) {
            lo = __uint_as_float(ww[i] << 16);
            hi = __uint_as_float(ww[i] & 0xffff0000u);
        } else {
            lo = h2f((uint16_t)(ww[i] & 0xffffu));
            hi = h2f((uint16_t)(ww[i] >> 16));
        }
        acc = fmaf(lo, xv[2 * i], acc);
        acc = fmaf(hi, xv[2 * i + 1], acc);
    }
    return acc;
}

/* MLXN_MM_X8_OUT: out also written as an x8 row (kernels/params/matmul.h)
 * by the warps that write it, with no fence, atomic or wait while the
 * weights stream: each of those costs about as long as the copies take
 * to land (H200, the SwiGLU product at 14336 x 4096, 16.8 us plain: 28.4
 * with a release add per row, 22.4 with one fence and add per warp at its
 * end, 24.2 with relaxed adds per row read at the end). Every row has a
 * slot (its f32 bits and a tag); a dispatch writes every slot with the
 * tag one above the last, so all slots of a block of 32 carry the same
 * tag between dispatches. After the wait, lane i reads the tag of the
 * warp's i-th row (i < 32: the op keeps n within 32 rows a warp); when the
 * row is written lane i stores its slot with that tag + 1. The block's
 * row 32 g + g % 32 (one row of each block, spread over the warps) names
 * the warp that rounds block g after its own rows: it reads the 32 slots
 * until all carry the new tag (other writers' stores may still be on
 * their way) and rounds them by the rule of x8_quantize4, so the codes
 * equal those the consumer would make from out. A block whose tags never
 * agree (an x8 row not zeroed when made) gets d = NaN after a few
 * seconds of reading, so its products come out NaN instead of hanging. */
struct x8o_state {
    uint32_t n_rows; /* rows the warp has written */
    uint32_t row;    /* lane i: the warp's i-th row (~0u past the end) */
    uint32_t tag;    /* lane i: the tag its slot gets */
};

__device__ __forceinline__ uint64_t *x8o_slots(uint8_t *x8, uint32_t n)
{
    return (uint64_t *)(x8 + MLXN_X8_SLOT_OFF(n));
}

/* After griddepcontrol.wait: lane i's row and its slot's new tag. */
__device__ __forceinline__ x8o_state x8o_start(uint8_t *x8, uint32_t n, uint32_t gw,
                                              uint32_t n_warps)
{
    const uint64_t row = gw + (uint64_t)(threadIdx.x % 32) * n_warps;
    x8o_state st = {0, ~0u, 0};
    if (row < n) {
        uint64_t s;
        asm volatile("ld.relaxed.gpu.global.u64 %0, [%1];"
                     : "=l"(s) : "l"(x8o_slots(x8, n) + row) : "memory");
        st.row = (uint32_t)row;
        st.tag = (uint32_t)(s >> 32) + 1;
    }
    return st;
}

/* The warp wrote its next row (value v in every lane). */
__device__ __forceinline__ void x8o_row(x8o_state &st, uint8_t *x8, uint32_t n, float v)
{
    if (threadIdx.x % 32 == st.n_rows) {
        const uint64_t slot = (uint64_t)st.tag << 32 | __float_as_uint(v);
        asm volatile("st.relaxed.gpu.global.u64 [%0], %1;" ::"l"(x8o_slots(x8, n) + st.row),
                     "l"(slot)
                     : "memory");
    }
    st.n_rows++;
}

/* After the warp's loop: the blocks it rounds. */
__device__ __forceinline__ void x8o_finish(const x8o_state &st, uint8_t *x8, uint32_t n)
{
    const uint32_t lane = threadIdx.x % 32;
    const uint64_t *slots = x8o_slots(x8, n);
    const bool rounds = st.row != ~0u && st.row % 32 == (st.row / 32) % 32;
    for (uint32_t m = __ballot_sync(~0u, rounds); m; m &= m - 1) {
        const int i = __ffs(m) - 1;
        const uint32_t g = __shfl_sync(~0u, st.row, i) / 32, t = __shfl_sync(~0u, st.tag, i);
        uint64_t s;
        bool agree;
        for (uint32_t tries = 0;; tries++) {
            asm volatile("ld.relaxed.gpu.global.u64 %0, [%1];"
                         : "=l"(s) : "l"(slots + 32 * g + lane) : "memory");
            agree = __all_sync(~0u, (uint32_t)(s >> 32) == t);
            if (agree || tries == (1u << 22))
                break;
            if (tries > 64)
                __nanosleep(256);
        }
        x8_round_block32(__uint_as_float((uint32_t)s), x8, n, g, !agree);
    }
}

/* Shared memory of the _tma kernels (MLXN_X8T_SHARED): WARPS x S slots,
 * then the slots' mbarriers, then x rounded (k + k / 32 * 8 bytes). */
template <int NW, int S, int WARPS, int F, bool ODD>
__device__ __forceinline__ void x8t_run(const float *x, const float *nw, const x8_w *wt,
                                        const float *add, float *out, uint8_t *x8o,
                                        const mlxn_matmul_params &p)
{
    extern __shared__ __align__(16) unsigned char x8_smem[];
    const uint32_t lane = threadIdx.x % 32, wi = threadIdx.x / 32;
    unsigned char *slots = x8_smem + X8T_SLOT_BYTES(NW) * S * wi;
    uint64_t *bars = (uint64_t *)(x8_smem + X8T_SLOT_BYTES(NW) * S * WARPS) + S * wi;
    int8_t *sq = (int8_t *)(x8_smem + X8T_SLOT_BYTES(NW) * S * WARPS + 8 * S * WARPS);
    float *sd = (float *)(sq + MLXN_X8_SQ_BYTES(p.k, F != X8_MLX4));
    int *si = (int *)(sd + p.k / 32);
    const uint32_t n_warps = gridDim.x * WARPS, gw = blockIdx.x * WARPS + wi;
    const uint32_t nb = p.k / 32, wpc = x8t_chunk_elems<F>() / 32, cpr = (nb + wpc - 1) / wpc;
    const uint32_t gshift = p.group_size == 32 ? 0 : p.group_size == 64 ? 1 : 2;
    const bool bf16 = p.flags & MLXN_MM_SCALE_BF16, sym = p.flags & MLXN_MM_SYMMETRIC;
    x8_cursor lc = {gw, 0}, cc = lc;
    if (lane == 0) {
        for (int i = 0; i < S; i++)
            asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(x8t_smem(&bars[i])));
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
        asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
    }
    __syncwarp();
    /* E chunks before the wait, the others once x's loads are issued */
    constexpr int E = (NW == 1 ? MLXN_X8T_E : MLXN_X8T_E_SWIGLU) < S
                          ? (NW == 1 ? MLXN_X8T_E : MLXN_X8T_E_SWIGLU)
                          : S;
    for (int i = 0; i < E && lc.row < p.n; i++) {
        if (lane == 0)
            x8t_fill<NW, F, ODD>(x8t_smem(slots + X8T_SLOT_BYTES(NW) * i), x8t_smem(&bars[i]),
                                 wt, lc, p);
        x8_advance(lc, cpr, n_warps);
    }
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
    MLXN_TL_MARK(1);
    auto rest = [&] {
        for (int i = E; i < S && lc.row < p.n; i++) {
            if (lane == 0)
                x8t_fill<NW, F, ODD>(x8t_smem(slots + X8T_SLOT_BYTES(NW) * i),
                                     x8t_smem(&bars[i]), wt, lc, p);
            x8_advance(lc, cpr, n_warps);
        }
    };
    if constexpr (x8t_dense<F>())
        x8t_stage_x(x, p.k, (float *)sq, rest);
    else
        x8_quantize<F != X8_MLX4>(x, p.flags & MLXN_MM_NORM ? nw : 0, p.eps, p.k, sq, sd, si,
                                  rest, p.flags & MLXN_MM_X8_IN);
    __syncthreads();
    MLXN_TL_MARK(2);
    float acc[NW];
#pragma unroll
    for (int v = 0; v < NW; v++)
        acc[v] = 0.0f;
    uint32_t phase = 0;
    const bool x8out = NW == 2 && (p.flags & MLXN_MM_X8_OUT);
    const x8o_state xo0 = {0, ~0u, 0};
    x8o_state xo = x8out ? x8o_start(x8o, p.n, gw, n_warps) : xo0;
    for (uint32_t i = 0; cc.row < p.n; i = i + 1 == S ? 0 : i + 1) {
        const unsigned char *slot = slots + X8T_SLOT_BYTES(NW) * i;
        x8t_wait(x8t_smem(&bars[i]), (phase >> i) & 1);
        phase ^= 1u << i;
        const uint4 *cw = (const uint4 *)slot;
        const uint16_t *cs = (const uint16_t *)(slot + 16 * X8T_WORDS * NW);
        if (ODD && F == X8_MLX8)
            cs = (const uint16_t *)(slot + 16 * X8T_WORDS * NW + x8t_mlx_soff(cc, p));
        const uint16_t *cb = cs + X8T_WORDS * NW;
        /* MLX 8-bit: lane unit u = words 2u, 2u + 1 of the chunk (x's block
         * X8T_WORDS / 2 j + u, within one group) */
#pragma unroll
        for (int u = 0; F == X8_MLX8 && u < (int)(X8T_WORDS / 64); u++) {
            const uint32_t ul = 32 * u + lane, b = cc.j * (X8T_WORDS / 2) + ul;
            if (b >= nb)
                break;
            const x8_xblock xq = x8_xblock_at<true>(sq, sd, si, b);
#pragma unroll
            for (int v = 0; v < NW; v++)
                acc[v] = x8_add_word8(acc[v], cw[X8T_WORDS * v + 2 * ul],
                                      cw[X8T_WORDS * v + 2 * ul + 1],
                                      cs[X8T_WORDS * v + (ul >> gshift)],
                                      cb[X8T_WORDS * v + (ul >> gshift)], xq, bf16, sym);
        }
        /* The GGUF formats: lane unit u of the chunk (X8T_WORDS / 4 units of
         * each weight: Q4_K and Q6_K half of block u / 2, Q8_0 blocks 2u and
         * 2u + 1), unit X8T_WORDS / 4 j + u of the row */
#pragma unroll
        for (int u = 0; F != X8_MLX4 && F != X8_MLX8 && !x8t_dense<F>() &&
                        u < (int)(X8T_WORDS / 128);
             u++) {
            const uint32_t ul = 32 * u + lane, b = cc.j * (X8T_WORDS / 4) + ul;
            if (b >= (F == X8_Q80 ? (ODD ? (nb + 1) / 2 : p.k / 64) : p.k / 128))
                break;
            if (F == X8_Q4K) {
                uint4 h[NW], q[NW][4];
#pragma unroll
                for (int v = 0; v < NW; v++) {
                    const uint4 *blk =
                        (const uint4 *)(slot + x8t_wstride<F, false>() * v + 144 * (ul >> 1));
                    h[v] = blk[0];
#pragma unroll
                    for (int t = 0; t < 4; t++)
                        q[v][t] = blk[1 + 4 * (ul & 1) + t];
                }
                x8k_add_unit<NW>(acc, h, q, b, sq, sd, si);
            } else {
                const unsigned char *blk[NW];
                const unsigned char *s0 = slot + x8t_row_off<ODD>(cc.row, p);
#pragma unroll
                for (int v = 0; v < NW; v++)
                    blk[v] = s0 + x8t_wstride<F, ODD>() * v +
                             (F == X8_Q6K ? 210 * (ul >> 1) : 68 * ul);
                if (F == X8_Q6K)
                    x8q6_add_unit<NW>(acc, blk, ul & 1, b, sq, sd, si);
                else
                    x8q8_add_unit<NW, ODD>(acc, blk, b, nb, sq, sd, si);
            }
        }
        /* dense 16-bit weights: lane unit u = word 32 u + lane of the chunk,
         * 8 elements against x's f32 values */
#pragma unroll
        for (int u = 0; x8t_dense<F>() && u < (int)(X8T_WORDS / 32); u++) {
            const uint32_t wl = 32 * u + lane, b = cc.j * X8T_WORDS + wl;
            if (b >= p.k / 8)
                break;
            const float4 *xs4 = (const float4 *)sq;
            const float4 xa = xs4[2 * b], xb = xs4[2 * b + 1];
#pragma unroll
            for (int v = 0; v < NW; v++)
                acc[v] = x8t_dot16<F>(acc[v], cw[X8T_WORDS * v + wl], xa, xb);
        }
#pragma unroll
        for (int u = 0; F == X8_MLX4 && u < (int)(X8T_WORDS / 32); u++) {
            const uint32_t bl = 32 * u + lane, b = cc.j * X8T_WORDS + bl;
            if (b >= nb)
                break;
            const x8_xblock xq = x8_xblock_at(sq, sd, si, b);
#pragma unroll
            for (int v = 0; v < NW; v++)
                acc[v] = x8_add_word(acc[v], cw[X8T_WORDS * v + bl],
                                     cs[X8T_WORDS * v + (bl >> gshift)],
                                     cb[X8T_WORDS * v + (bl >> gshift)], xq, bf16, sym);
        }
        __syncwarp();
        if (lane == 0 && lc.row < p.n) {
            asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
            x8t_fill<NW, F, ODD>(x8t_smem(slot), x8t_smem(&bars[i]), wt, lc, p);
        }
        if (lc.row < p.n)
            x8_advance(lc, cpr, n_warps);
        const x8_cursor done = cc;
        x8_advance(cc, cpr, n_warps);
        if (done.j == cpr - 1) {
            const float r = x8_finish<NW>(acc, done.row, add, out, p);
            if (x8out)
                x8o_row(xo, x8o, p.n, r);
        }
    }
    if (x8out)
        x8o_finish(xo, x8o, p.n);
}

/* The _tma kernels' bodies: one weight (w, and for MLX the scales and
 * biases; NULL for GGUF blocks) or the SwiGLU pair; F: the format; ODD:
 * GGUF rows or MLX 8-bit scales that need not start on 16-byte boundaries
 * (the _tma_odd kernels). */
template <int F, bool ODD = false>
__device__ __forceinline__ void x8t_one(const float *x, const x8_w &w, const float *add,
                                        float *out, const float *nw, const mlxn_matmul_params &p)
{
    const x8_w wt[1] = {w};
    MLXN_TL_BEGIN();
    x8t_run<1, MLXN_X8T_S, MLXN_X8T_WARPS, F, ODD>(x, nw, wt, add, out, nullptr, p);
    MLXN_TL_END(MLXN_TL_X8_TMA, p.n, p.k | (uint64_t)p.flags << 32);
}

template <int F, bool ODD = false>
__device__ __forceinline__ void x8t_two(const float *x, const x8_w (&wt)[2], float *out,
                                        const float *nw, uint8_t *x8o,
                                        const mlxn_matmul_params &p)
{
    MLXN_TL_BEGIN();
    x8t_run<2, MLXN_X8T_S_SWIGLU, MLXN_X8T_WARPS_SWIGLU, F, ODD>(x, nw, wt, 0, out, x8o, p);
    MLXN_TL_END(MLXN_TL_X8_SWIGLU_TMA, p.n, p.k | (uint64_t)p.flags << 32);
}

/* args: as matvec_x8_early_mlx4 (W immutable; the conditions above) */
MLXN_KERNEL_BOUNDED(matvec_x8_tma_mlx4, 32 * MLXN_X8T_WARPS, 1)(const float *x, const uint4 *w, const uint16_t *s, const uint16_t *b, const float *add, float *out, const float *nw, mlxn_matmul_params p)
{
    x8t_one<X8_MLX4>(x, {w, s, b}, add, out, nw, p);
}

/* args: as matvec_swiglu_x8_early_mlx4 (W immutable; the conditions above) */
MLXN_KERNEL_BOUNDED(matvec_swiglu_x8_tma_mlx4, 32 * MLXN_X8T_WARPS_SWIGLU, 1)(const float *x, const uint4 *wg, const uint16_t *sg, const uint16_t *bg, const uint4 *wu, const uint16_t *su, const uint16_t *bu, float *out, const float *nw, uint8_t *x8o, mlxn_matmul_params p)
{
    const x8_w wt[2] = {{wg, sg, bg}, {wu, su, bu}};
    x8t_two<X8_MLX4>(x, wt, out, nw, x8o, p);
}

/* args: as matvec_x8_tma_mlx4, for MLX 8-bit weights (copy engine only:
 * W immutable, k a multiple of 8 group_size) */
MLXN_KERNEL_BOUNDED(matvec_x8_tma_mlx8, 32 * MLXN_X8T_WARPS, 1)(const float *x, const uint4 *w, const uint16_t *s, const uint16_t *b, const float *add, float *out, const float *nw, mlxn_matmul_params p)
{
    x8t_one<X8_MLX8>(x, {w, s, b}, add, out, nw, p);
}

/* args: as matvec_swiglu_x8_tma_mlx4, for MLX 8-bit weights */
MLXN_KERNEL_BOUNDED(matvec_swiglu_x8_tma_mlx8, 32 * MLXN_X8T_WARPS_SWIGLU, 1)(const float *x, const uint4 *wg, const uint16_t *sg, const uint16_t *bg, const uint4 *wu, const uint16_t *su, const uint16_t *bu, float *out, const float *nw, uint8_t *x8o, mlxn_matmul_params p)
{
    const x8_w wt[2] = {{wg, sg, bg}, {wu, su, bu}};
    x8t_two<X8_MLX8>(x, wt, out, nw, x8o, p);
}

/* args: as matvec_x8_q4_k (W immutable, rows 16-byte aligned: every
 * chunk is whole blocks, copied as one array) */
MLXN_KERNEL_BOUNDED(matvec_x8_tma_q4_k, 32 * MLXN_X8T_WARPS, 1)(const float *x, const uint4 *w, const float *add, float *out, const float *nw, mlxn_matmul_params p)
{
    x8t_one<X8_Q4K>(x, {w, 0, 0}, add, out, nw, p);
}

/* args: as matvec_swiglu_x8_q4_k (W immutable) */
MLXN_KERNEL_BOUNDED(matvec_swiglu_x8_tma_q4_k, 32 * MLXN_X8T_WARPS_SWIGLU, 1)(const float *x, const uint4 *wg, const uint4 *wu, float *out, const float *nw, uint8_t *x8o, mlxn_matmul_params p)
{
    const x8_w wt[2] = {{wg, 0, 0}, {wu, 0, 0}};
    x8t_two<X8_Q4K>(x, wt, out, nw, x8o, p);
}

/* args: as matvec_q6_k's with nw before params (W immutable, k a multiple
 * of 2048: chunks of whole 16-byte units, rows 16-byte aligned) */
MLXN_KERNEL_BOUNDED(matvec_x8_tma_q6_k, 32 * MLXN_X8T_WARPS, 1)(const float *x, const uint4 *w, const float *add, float *out, const float *nw, mlxn_matmul_params p)
{
    x8t_one<X8_Q6K>(x, {w, 0, 0}, add, out, nw, p);
}

/* args: as matvec_swiglu_q6_k's with nw and x8o before params (as
 * matvec_x8_tma_q6_k) */
MLXN_KERNEL_BOUNDED(matvec_swiglu_x8_tma_q6_k, 32 * MLXN_X8T_WARPS_SWIGLU, 1)(const float *x, const uint4 *wg, const uint4 *wu, float *out, const float *nw, uint8_t *x8o, mlxn_matmul_params p)
{
    const x8_w wt[2] = {{wg, 0, 0}, {wu, 0, 0}};
    x8t_two<X8_Q6K>(x, wt, out, nw, x8o, p);
}

/* args: as matvec_q8_0's with nw before params (W immutable, k a multiple
 * of 256: chunks of whole 16-byte units, rows 16-byte aligned) */
MLXN_KERNEL_BOUNDED(matvec_x8_tma_q8_0, 32 * MLXN_X8T_WARPS, 1)(const float *x, const uint4 *w, const float *add, float *out, const float *nw, mlxn_matmul_params p)
{
    x8t_one<X8_Q80>(x, {w, 0, 0}, add, out, nw, p);
}

/* args: as matvec_swiglu_q8_0's with nw and x8o before params (as
 * matvec_x8_tma_q8_0) */
MLXN_KERNEL_BOUNDED(matvec_swiglu_x8_tma_q8_0, 32 * MLXN_X8T_WARPS_SWIGLU, 1)(const float *x, const uint4 *wg, const uint4 *wu, float *out, const float *nw, uint8_t *x8o, mlxn_matmul_params p)
{
    const x8_w wt[2] = {{wg, 0, 0}, {wu, 0, 0}};
    x8t_two<X8_Q80>(x, wt, out, nw, x8o, p);
}

/* args: as matvec_x8_tma_q6_k, for rows that do not start on 16-byte
 * boundaries (k not a multiple of 2048: Llama-2's 11008, Qwen2.5's 3584
 * and 18944) */
MLXN_KERNEL_BOUNDED(matvec_x8_tma_odd_q6_k, 32 * MLXN_X8T_WARPS, 1)(const float *x, const uint4 *w, const float *add, float *out, const float *nw, mlxn_matmul_params p)
{
    x8t_one<X8_Q6K, true>(x, {w, 0, 0}, add, out, nw, p);
}

/* args: as matvec_swiglu_x8_tma_q6_k (as matvec_x8_tma_odd_q6_k) */
MLXN_KERNEL_BOUNDED(matvec_swiglu_x8_tma_odd_q6_k, 32 * MLXN_X8T_WARPS_SWIGLU, 1)(const float *x, const uint4 *wg, const uint4 *wu, float *out, const float *nw, uint8_t *x8o, mlxn_matmul_params p)
{
    const x8_w wt[2] = {{wg, 0, 0}, {wu, 0, 0}};
    x8t_two<X8_Q6K, true>(x, wt, out, nw, x8o, p);
}

/* args: as matvec_x8_tma_q8_0, for rows that do not start on 16-byte
 * boundaries (k not a multiple of 256; an odd count of blocks too) */
MLXN_KERNEL_BOUNDED(matvec_x8_tma_odd_q8_0, 32 * MLXN_X8T_WARPS, 1)(const float *x, const uint4 *w, const float *add, float *out, const float *nw, mlxn_matmul_params p)
{
    x8t_one<X8_Q80, true>(x, {w, 0, 0}, add, out, nw, p);
}

/* args: as matvec_swiglu_x8_tma_q8_0 (as matvec_x8_tma_odd_q8_0) */
MLXN_KERNEL_BOUNDED(matvec_swiglu_x8_tma_odd_q8_0, 32 * MLXN_X8T_WARPS_SWIGLU, 1)(const float *x, const uint4 *wg, const uint4 *wu, float *out, const float *nw, uint8_t *x8o, mlxn_matmul_params p)
{
    const x8_w wt[2] = {{wg, 0, 0}, {wu, 0, 0}};
    x8t_two<X8_Q80, true>(x, wt, out, nw, x8o, p);
}

/* args: as matvec_x8_tma_mlx8, for k not a multiple of 8 groups (each
 * row's scales and biases then start off 16-byte boundaries) */
MLXN_KERNEL_BOUNDED(matvec_x8_tma_odd_mlx8, 32 * MLXN_X8T_WARPS, 1)(const float *x, const uint4 *w, const uint16_t *s, const uint16_t *b, const float *add, float *out, const float *nw, mlxn_matmul_params p)
{
    x8t_one<X8_MLX8, true>(x, {w, s, b}, add, out, nw, p);
}

/* args: as matvec_swiglu_x8_tma_mlx8 (as matvec_x8_tma_odd_mlx8) */
MLXN_KERNEL_BOUNDED(matvec_swiglu_x8_tma_odd_mlx8, 32 * MLXN_X8T_WARPS_SWIGLU, 1)(const float *x, const uint4 *wg, const uint16_t *sg, const uint16_t *bg, const uint4 *wu, const uint16_t *su, const uint16_t *bu, float *out, const float *nw, uint8_t *x8o, mlxn_matmul_params p)
{
    const x8_w wt[2] = {{wg, sg, bg}, {wu, su, bu}};
    x8t_two<X8_MLX8, true>(x, wt, out, nw, x8o, p);
}

/* args: as matvec_bf16 (x, w, add, out, params): the dense 16-bit
 * weights streamed by the copy engine like the int8 kernels' (W
 * immutable and 16-byte aligned, k a multiple of 32), x kept in f32 in
 * shared memory (MLXN_X8T_DENSE_SHARED) */
MLXN_KERNEL_BOUNDED(matvec_tma_bf16, 32 * MLXN_X8T_WARPS, 1)(const float *x, const uint4 *w, const float *add, float *out, mlxn_matmul_params p)
{
    x8t_one<X8_BF16>(x, {w, 0, 0}, add, out, nullptr, p);
}

/* args: as matvec_tma_bf16, for f16 weights */
MLXN_KERNEL_BOUNDED(matvec_tma_f16, 32 * MLXN_X8T_WARPS, 1)(const float *x, const uint4 *w, const float *add, float *out, mlxn_matmul_params p)
{
    x8t_one<X8_F16>(x, {w, 0, 0}, add, out, nullptr, p);
}

/* args: as matvec_swiglu_bf16 (x, wg, wu, out, params; as matvec_tma_bf16) */
MLXN_KERNEL_BOUNDED(matvec_swiglu_tma_bf16, 32 * MLXN_X8T_WARPS_SWIGLU, 1)(const float *x, const uint4 *wg, const uint4 *wu, float *out, mlxn_matmul_params p)
{
    const x8_w wt[2] = {{wg, 0, 0}, {wu, 0, 0}};
    x8t_two<X8_BF16>(x, wt, out, nullptr, nullptr, p);
}

/* args: as matvec_swiglu_tma_bf16, for f16 weights */
MLXN_KERNEL_BOUNDED(matvec_swiglu_tma_f16, 32 * MLXN_X8T_WARPS_SWIGLU, 1)(const float *x, const uint4 *wg, const uint4 *wu, float *out, mlxn_matmul_params p)
{
    const x8_w wt[2] = {{wg, 0, 0}, {wu, 0, 0}};
    x8t_two<X8_F16>(x, wt, out, nullptr, nullptr, p);
}
