/*
 * random.c: CPU random-fill kernels for synthetic weights. Bits come from
 * a counter hash, so CPU and CUDA fill identical bytes.
 */
#include "cpu/cpu_kernel.h"
#include "params/half.h"
#include "params/random.h"

#include <math.h>

typedef struct fill_job {
    uint8_t *out;
    mlxn_fill_params p;
    int kind; /* 0 f32, 1 f16, 2 bf16, 3 u32 bits, 4 blocks */
} fill_job;

static float uniform(const mlxn_fill_params *p, uint64_t i)
{
    float u = (float)(mlxn__hash64(p->seed, i) >> 40) * (1.0f / 16777216.0f);
    return fmaf(p->hi - p->lo, u, p->lo);
}

static void fill_range(void *arg, int64_t begin, int64_t end)
{
    const fill_job *j = arg;
    for (int64_t i = begin; i < end; i++) {
        uint64_t k = (uint64_t)i;
        if (j->kind == 0) {
            ((float *)j->out)[k] = uniform(&j->p, k);
        } else if (j->kind == 1) {
            ((uint16_t *)j->out)[k] = mlxn__f32_to_f16(uniform(&j->p, k));
        } else if (j->kind == 2) {
            ((uint16_t *)j->out)[k] = mlxn__f32_to_bf16(uniform(&j->p, k));
        } else if (j->kind == 3) {
            ((uint32_t *)j->out)[k] = (uint32_t)mlxn__hash64(j->p.seed, k);
        } else {
            uint8_t *blk = j->out + k * j->p.block_bytes;
            for (uint32_t b = 0; b < j->p.block_bytes; b++)
                blk[b] = (uint8_t)mlxn__hash64(j->p.seed, k * j->p.block_bytes + b);
            for (uint32_t s = 0; s < j->p.n_scales; s++) {
                uint16_t h = mlxn__f32_to_f16(uniform(&j->p, ~(k * 4 + s)));
                blk[j->p.scale_off[s]] = (uint8_t)h;
                blk[j->p.scale_off[s] + 1] = (uint8_t)(h >> 8);
            }
        }
    }
}

static void fill_run(mlxn__cpu_ctx *ctx, void **args, int kind)
{
    fill_job j;
    j.out = MLXN_ARG_PTR(uint8_t, 0);
    j.p = MLXN_ARG_VAL(mlxn_fill_params, 1);
    j.kind = kind;
    mlxn__cpu_parallel_for(ctx, (int64_t)j.p.n, 1 << 12, fill_range, &j);
}

/* args: out, mlxn_fill_params */
MLXN_CPU_KERNEL(fill_random_f32) { fill_run(ctx, args, 0); }
MLXN_CPU_KERNEL(fill_random_f16) { fill_run(ctx, args, 1); }
MLXN_CPU_KERNEL(fill_random_bf16) { fill_run(ctx, args, 2); }
MLXN_CPU_KERNEL(fill_random_bits) { fill_run(ctx, args, 3); }
MLXN_CPU_KERNEL(fill_random_blocks) { fill_run(ctx, args, 4); }
