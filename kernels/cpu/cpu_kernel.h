/*
 * cpu_kernel.h: how CPU kernels are written. A CPU kernel has the same
 * name and argument layout as its CUDA twin and computes the whole grid in
 * one call: args[i] points at slot i's value, exactly like CUDA's
 * kernelParams (a buffer slot holds a 64-bit address).
 *
 *   MLXN_CPU_KERNEL(add_f32)
 *   {
 *       const float *a = MLXN_ARG_PTR(const float, 0);
 *       ...
 *   }
 *
 * The build scans kernels/cpu/ sources for MLXN_CPU_KERNEL(name) lines and
 * generates the backend's name table, so a new kernel needs no other edit.
 */
#ifndef MLXN_CPU_KERNEL_H
#define MLXN_CPU_KERNEL_H

#include "mlxn.h"

#include <stdint.h>
#include <stdio.h>

typedef struct mlxn__cpu_ctx mlxn__cpu_ctx;

/* fn(arg, begin, end) processes items [begin, end). */
typedef void (*mlxn__cpu_range_fn)(void *arg, int64_t begin, int64_t end);

struct mlxn__cpu_ctx {
    mlxn_dim3 grid, block;
    uint32_t shared_bytes;
    struct mlxn__cpu_pool *pool; /* NULL: run serially */
    int failed;                  /* set by mlxn__cpu_fail */
    char error[256];
};

/* Run fn over [0, n) on the device's worker threads, in chunks of at least
 * `grain` items; returns when every item is done. */
/* x (k values, k a multiple of 32) rounded to 8 bits per block of 32 by
 * the rule of params/matmul.h: codes q in element order, d and isum per
 * block (kernels/cpu/matvec_x8.c). */
void mlxn__cpu_round_x8(const float *x, uint32_t k, int8_t *q, float *d, int *isum);

void mlxn__cpu_parallel_for(mlxn__cpu_ctx *ctx, int64_t n, int64_t grain,
                            mlxn__cpu_range_fn fn, void *arg);

/* Report a kernel failure; the command buffer ends with MLXN_ERR_GPU and
 * the device becomes unusable, as after a GPU fault. */
#define mlxn__cpu_fail(ctx, ...)                                               \
    do {                                                                       \
        (ctx)->failed = 1;                                                     \
        snprintf((ctx)->error, sizeof (ctx)->error, __VA_ARGS__);              \
    } while (0)

typedef void (*mlxn__cpu_kernel_fn)(mlxn__cpu_ctx *ctx, void **args);

#define MLXN_CPU_KERNEL(name)                                                  \
    void mlxn__cpuk_##name(mlxn__cpu_ctx *ctx, void **args)

#define MLXN_ARG_PTR(T, i) ((T *)(uintptr_t)(*(const uint64_t *)args[i]))
#define MLXN_ARG_VAL(T, i) (*(const T *)args[i])

typedef struct mlxn__cpu_kernel_entry {
    const char *name;
    mlxn__cpu_kernel_fn fn;
} mlxn__cpu_kernel_entry;

/* Generated from the kernels/cpu/ sources by the build. */
extern const mlxn__cpu_kernel_entry mlxn__cpu_kernels[];
extern const int mlxn__cpu_kernel_count;

#endif /* MLXN_CPU_KERNEL_H */
