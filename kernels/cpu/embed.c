/*
 * embed.c: CPU kernels of the embedding lookup for f32, f16 and bf16
 * tables (ABI in params/embed.h): out row i = table row ids[i] as f32,
 * zeros for ids out of range.
 */
#include "cpu/cpu_kernel.h"
#include "params/half.h"
#include "params/embed.h"

#include <string.h>

typedef struct embed_job {
    const uint8_t *table;
    const int32_t *ids;
    float *out;
    mlxn_embed_params p;
    int dtype; /* 0 f32, 1 f16, 2 bf16 */
} embed_job;

static void embed_rows(void *arg, int64_t begin, int64_t end)
{
    const embed_job *j = arg;
    uint32_t n = j->p.n_embd;
    for (int64_t r = begin; r < end; r++) {
        float *o = j->out + (uint64_t)r * n;
        int32_t id = j->ids[r];
        if (id < 0 || (uint32_t)id >= j->p.n_rows) {
            memset(o, 0, (size_t)n * sizeof *o);
            continue;
        }
        const uint8_t *row = j->table + (uint64_t)id * j->p.row_bytes;
        for (uint32_t i = 0; i < n; i++) {
            if (j->dtype == 0)
                o[i] = ((const float *)row)[i];
            else if (j->dtype == 1)
                o[i] = mlxn__f16_to_f32(((const uint16_t *)row)[i]);
            else
                o[i] = mlxn__bf16_to_f32(((const uint16_t *)row)[i]);
        }
    }
}

static void embed_run(mlxn__cpu_ctx *ctx, void **args, int dtype)
{
    embed_job j;
    j.table = MLXN_ARG_PTR(const uint8_t, 0);
    j.ids = MLXN_ARG_PTR(const int32_t, 1);
    j.out = MLXN_ARG_PTR(float, 2);
    j.p = MLXN_ARG_VAL(mlxn_embed_params, 3);
    j.dtype = dtype;
    int64_t grain = j.p.n_embd ? (1 << 14) / j.p.n_embd + 1 : 1;
    mlxn__cpu_parallel_for(ctx, j.p.n_ids, grain, embed_rows, &j);
}

/* args: table, ids, out, mlxn_embed_params */
MLXN_CPU_KERNEL(embed_f32) { embed_run(ctx, args, 0); }
MLXN_CPU_KERNEL(embed_f16) { embed_run(ctx, args, 1); }
MLXN_CPU_KERNEL(embed_bf16) { embed_run(ctx, args, 2); }
