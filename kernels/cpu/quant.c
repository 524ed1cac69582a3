/*
 * quant.c: CPU kernels that dequantize whole weights (dequant_<f>: W to
 * f32, f16 or bf16) and look up rows of quantized embedding tables
 * (embed_<q>). Both use the reference dequantizers of src/ops/quant.c.
 */
#include "cpu/cpu_kernel.h"
#include "params/half.h"
#include "ops/quant_ref.h"
#include "params/embed.h"
#include "params/matmul.h"

#include <stdlib.h>
#include <string.h>

#define DQ_MLX (-1)

typedef struct dq_job {
    int fmt; /* an mlxn_dtype or DQ_MLX */
    const uint8_t *w;
    const uint16_t *scales, *biases;
    void *out;
    mlxn_matmul_params p;
    int failed;
} dq_job;

static void dq_row(const dq_job *j, int64_t r, float *dst)
{
    const uint8_t *row = j->w + (uint64_t)r * j->p.row_bytes;
    if (j->fmt == DQ_MLX) {
        int64_t groups = j->p.k / j->p.group_size;
        mlxn__affine_src s = {row, j->scales + r * groups, j->biases ? j->biases + r * groups : NULL,
                              (int)j->p.bits, (int)j->p.group_size,
                              (j->p.flags & MLXN_MM_SCALE_BF16) != 0};
        mlxn__dequant_affine(&s, 0, j->p.k, dst);
    } else {
        mlxn__dequant_row((mlxn_dtype)j->fmt, row, j->p.k, dst);
    }
}

static void dq_range(void *arg, int64_t begin, int64_t end)
{
    dq_job *j = arg;
    const int64_t k = j->p.k;
    float *tmp = malloc((size_t)k * sizeof *tmp + 1);
    if (!tmp) {
        j->failed = 1;
        return;
    }
    for (int64_t r = begin; r < end; r++) {
        dq_row(j, r, tmp);
        if (j->p.flags & MLXN_MM_OUT_BF16) {
            uint16_t *o = (uint16_t *)j->out + r * k;
            for (int64_t i = 0; i < k; i++)
                o[i] = mlxn__f32_to_bf16(tmp[i]);
        } else if (j->p.flags & MLXN_MM_OUT_F16) {
            uint16_t *o = (uint16_t *)j->out + r * k;
            for (int64_t i = 0; i < k; i++)
                o[i] = mlxn__f32_to_f16(tmp[i]);
        } else {
            memcpy((float *)j->out + r * k, tmp, (size_t)k * sizeof *tmp);
        }
    }
    free(tmp);
}

static void dq_run(mlxn__cpu_ctx *ctx, dq_job *j)
{
    mlxn__cpu_parallel_for(ctx, j->p.n, 1 + (1 << 15) / (1 + (int64_t)j->p.k), dq_range, j);
    if (j->failed)
        mlxn__cpu_fail(ctx, "dequant: out of memory");
}

/* args: w, out, params */
static void dq_plain(mlxn__cpu_ctx *ctx, void **args, int fmt)
{
    dq_job j = {fmt, MLXN_ARG_PTR(const uint8_t, 0), NULL, NULL, MLXN_ARG_PTR(void, 1),
                MLXN_ARG_VAL(mlxn_matmul_params, 2), 0};
    dq_run(ctx, &j);
}

/* args: w, scales, biases, out, params */
static void dq_mlx(mlxn__cpu_ctx *ctx, void **args)
{
    dq_job j = {DQ_MLX, MLXN_ARG_PTR(const uint8_t, 0), MLXN_ARG_PTR(const uint16_t, 1),
                MLXN_ARG_PTR(const uint16_t, 2), MLXN_ARG_PTR(void, 3),
                MLXN_ARG_VAL(mlxn_matmul_params, 4), 0};
    if (j.p.flags & MLXN_MM_SYMMETRIC)
        j.biases = NULL;
    dq_run(ctx, &j);
}

MLXN_CPU_KERNEL(dequant_f32) { dq_plain(ctx, args, MLXN_DTYPE_F32); }
MLXN_CPU_KERNEL(dequant_f16) { dq_plain(ctx, args, MLXN_DTYPE_F16); }
MLXN_CPU_KERNEL(dequant_bf16) { dq_plain(ctx, args, MLXN_DTYPE_BF16); }
MLXN_CPU_KERNEL(dequant_q4_0) { dq_plain(ctx, args, MLXN_DTYPE_Q4_0); }
MLXN_CPU_KERNEL(dequant_q8_0) { dq_plain(ctx, args, MLXN_DTYPE_Q8_0); }
MLXN_CPU_KERNEL(dequant_q4_k) { dq_plain(ctx, args, MLXN_DTYPE_Q4_K); }
MLXN_CPU_KERNEL(dequant_q6_k) { dq_plain(ctx, args, MLXN_DTYPE_Q6_K); }
MLXN_CPU_KERNEL(dequant_mlx4) { dq_mlx(ctx, args); }
MLXN_CPU_KERNEL(dequant_mlx8) { dq_mlx(ctx, args); }
MLXN_CPU_KERNEL(dequant_mlx) { dq_mlx(ctx, args); }

/* ---- embedding rows of quantized tables ----------------------------------------- */
typedef struct emb_job {
    mlxn_dtype dtype;
    const uint8_t *table;
    const int32_t *ids;
    float *out;
    mlxn_embed_params p;
} emb_job;

static void emb_range(void *arg, int64_t begin, int64_t end)
{
    const emb_job *j = arg;
    const int64_t row_bytes = mlxn_dtype_bytes(j->dtype, j->p.n_embd);
    for (int64_t i = begin; i < end; i++) {
        int32_t id = j->ids[i];
        float *o = j->out + i * (int64_t)j->p.n_embd;
        if (id < 0 || (uint32_t)id >= j->p.n_rows)
            memset(o, 0, (size_t)j->p.n_embd * sizeof *o);
        else
            mlxn__dequant_row(j->dtype, j->table + (int64_t)id * row_bytes, j->p.n_embd, o);
    }
}

/* args: table, ids, out, mlxn_embed_params */
static void emb_run(mlxn__cpu_ctx *ctx, void **args, mlxn_dtype dtype)
{
    emb_job j = {dtype, MLXN_ARG_PTR(const uint8_t, 0), MLXN_ARG_PTR(const int32_t, 1),
                 MLXN_ARG_PTR(float, 2), MLXN_ARG_VAL(mlxn_embed_params, 3)};
    mlxn__cpu_parallel_for(ctx, j.p.n_ids, 1 + (1 << 14) / (1 + (int64_t)j.p.n_embd),
                           emb_range, &j);
}

MLXN_CPU_KERNEL(embed_q4_0) { emb_run(ctx, args, MLXN_DTYPE_Q4_0); }
MLXN_CPU_KERNEL(embed_q8_0) { emb_run(ctx, args, MLXN_DTYPE_Q8_0); }
MLXN_CPU_KERNEL(embed_q4_k) { emb_run(ctx, args, MLXN_DTYPE_Q4_K); }
MLXN_CPU_KERNEL(embed_q6_k) { emb_run(ctx, args, MLXN_DTYPE_Q6_K); }

/* Read bandwidth reference of the benchmarks (CUDA twin in quant.cu):
 * args: const 16-byte words in, u32 *out, uint64 n, u32 early (the CUDA
 * kernel's order of loads and wait; nothing to order here); xor of the
 * words, written only when it equals 0x9e3779b9. */
MLXN_CPU_KERNEL(debug_read_bw)
{
    (void)ctx;
    const uint32_t *in = MLXN_ARG_PTR(const uint32_t, 0);
    uint32_t *out = MLXN_ARG_PTR(uint32_t, 1);
    uint64_t n = MLXN_ARG_VAL(uint64_t, 2);
    uint32_t acc = 0;
    for (uint64_t i = 0; i < 4 * n; i++)
        acc ^= in[i];
    if (acc == 0x9e3779b9u)
        out[0] = acc;
}
