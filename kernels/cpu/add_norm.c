/*
 * add_norm.c: CPU kernels of the fused residual add + RMS norm with a
 * weight in f32, f16 or bf16: sum = x + residual; norm = sum * rsqrt(
 * mean(sum^2) + eps) * w. Sums of squares in f64.
 */
#include "cpu/cpu_kernel.h"
#include "params/half.h"
#include "params/elementwise.h"

typedef struct add_norm_job {
    const float *x, *res;
    const void *w;
    int wtype; /* 0 f32, 1 f16, 2 bf16 */
    float *sum, *norm;
    mlxn_norm_params p;
} add_norm_job;

static float load_w(const void *w, int wtype, uint32_t i)
{
    if (wtype == 0)
        return ((const float *)w)[i];
    if (wtype == 1)
        return mlxn__f16_to_f32(((const uint16_t *)w)[i]);
    return mlxn__bf16_to_f32(((const uint16_t *)w)[i]);
}

static void add_norm_rows(void *arg, int64_t begin, int64_t end)
{
    const add_norm_job *j = arg;
    uint32_t n = j->p.n;
    for (int64_t r = begin; r < end; r++) {
        uint64_t o = (uint64_t)r * n;
        double ss = 0;
        for (uint32_t i = 0; i < n; i++) {
            float s = j->x[o + i] + j->res[o + i]; /* read both before sum (may alias) */
            j->sum[o + i] = s;
            ss += (double)s * s;
        }
        float inv = mlxn__rms_scale(ss, n, j->p.eps);
        for (uint32_t i = 0; i < n; i++)
            j->norm[o + i] = j->sum[o + i] * inv * load_w(j->w, j->wtype, i);
    }
}

static void add_norm_run(mlxn__cpu_ctx *ctx, void **args, int wtype)
{
    add_norm_job j;
    j.x = MLXN_ARG_PTR(const float, 0);
    j.res = MLXN_ARG_PTR(const float, 1);
    j.w = MLXN_ARG_PTR(const void, 2);
    j.wtype = wtype;
    j.sum = MLXN_ARG_PTR(float, 3);
    j.norm = MLXN_ARG_PTR(float, 4);
    j.p = MLXN_ARG_VAL(mlxn_norm_params, 5);
    int64_t grain = j.p.n ? (1 << 14) / j.p.n + 1 : 1;
    mlxn__cpu_parallel_for(ctx, j.p.rows, grain, add_norm_rows, &j);
}

/* args: x, residual, w, sum, norm, mlxn_norm_params */
MLXN_CPU_KERNEL(add_rms_norm_mul_f32) { add_norm_run(ctx, args, 0); }
MLXN_CPU_KERNEL(add_rms_norm_mul_f16) { add_norm_run(ctx, args, 1); }
MLXN_CPU_KERNEL(add_rms_norm_mul_bf16) { add_norm_run(ctx, args, 2); }
