/*
 * copy.c: the CPU byte-copy kernel.
 */
#include "cpu/cpu_kernel.h"
#include "params/copy.h"

#include <string.h>

typedef struct copy_job {
    const uint8_t *src;
    uint8_t *dst;
} copy_job;

static void copy_range(void *arg, int64_t begin, int64_t end)
{
    const copy_job *j = arg;
    memmove(j->dst + begin, j->src + begin, (size_t)(end - begin));
}

/* args: src, dst, mlxn_copy_params */
MLXN_CPU_KERNEL(copy_bytes)
{
    copy_job j = {MLXN_ARG_PTR(const uint8_t, 0), MLXN_ARG_PTR(uint8_t, 1)};
    mlxn_copy_params p = MLXN_ARG_VAL(mlxn_copy_params, 2);
    if (j.src + p.n > j.dst && j.dst + p.n > j.src) {
        memmove(j.dst, j.src, p.n); /* overlapping: one ordered move */
        return;
    }
    mlxn__cpu_parallel_for(ctx, (int64_t)p.n, 1 << 20, copy_range, &j);
}
