/*
 * elementwise.c: CPU kernels for add, mul (b repeating along a) and scale
 * in f32, f16 and bf16, and RMS norm with and without a weight multiply.
 * Arithmetic is done in f32 (sums in f64), results rounded to the dtype.
 */
#include "cpu/cpu_kernel.h"
#include "params/half.h"
#include "params/elementwise.h"

enum { EW_ADD, EW_MUL, EW_SCALE };

typedef struct ew_job {
    const void *a, *b;
    void *out;
    mlxn_ew_params p;
    int op;
    int dtype; /* 0 f32, 1 f16, 2 bf16 */
} ew_job;

static float load(const void *p, int dtype, uint64_t i)
{
    if (dtype == 0)
        return ((const float *)p)[i];
    if (dtype == 1)
        return mlxn__f16_to_f32(((const uint16_t *)p)[i]);
    return mlxn__bf16_to_f32(((const uint16_t *)p)[i]);
}

static void store(void *p, int dtype, uint64_t i, float v)
{
    if (dtype == 0)
        ((float *)p)[i] = v;
    else if (dtype == 1)
        ((uint16_t *)p)[i] = mlxn__f32_to_f16(v);
    else
        ((uint16_t *)p)[i] = mlxn__f32_to_bf16(v);
}

static void ew_range(void *arg, int64_t begin, int64_t end)
{
    const ew_job *j = arg;
    for (int64_t i = begin; i < end; i++) {
        float a = load(j->a, j->dtype, (uint64_t)i), r;
        if (j->op == EW_SCALE)
            r = a * j->p.scale;
        else {
            float b = load(j->b, j->dtype, (uint64_t)i % j->p.nb);
            r = j->op == EW_ADD ? a + b : a * b;
        }
        store(j->out, j->dtype, (uint64_t)i, r);
    }
}

static void ew_run(mlxn__cpu_ctx *ctx, void **args, int op, int dtype)
{
    ew_job j;
    j.a = MLXN_ARG_PTR(const void, 0);
    j.op = op;
    j.dtype = dtype;
    if (op == EW_SCALE) {
        j.b = NULL;
        j.out = MLXN_ARG_PTR(void, 1);
        j.p = MLXN_ARG_VAL(mlxn_ew_params, 2);
    } else {
        j.b = MLXN_ARG_PTR(const void, 1);
        j.out = MLXN_ARG_PTR(void, 2);
        j.p = MLXN_ARG_VAL(mlxn_ew_params, 3);
    }
    mlxn__cpu_parallel_for(ctx, (int64_t)j.p.n, 1 << 14, ew_range, &j);
}

/* args: a, b, out, mlxn_ew_params */
MLXN_CPU_KERNEL(add_f32) { ew_run(ctx, args, EW_ADD, 0); }
MLXN_CPU_KERNEL(add_f16) { ew_run(ctx, args, EW_ADD, 1); }
MLXN_CPU_KERNEL(add_bf16) { ew_run(ctx, args, EW_ADD, 2); }
MLXN_CPU_KERNEL(mul_f32) { ew_run(ctx, args, EW_MUL, 0); }
MLXN_CPU_KERNEL(mul_f16) { ew_run(ctx, args, EW_MUL, 1); }
MLXN_CPU_KERNEL(mul_bf16) { ew_run(ctx, args, EW_MUL, 2); }
/* args: a, out, mlxn_ew_params */
MLXN_CPU_KERNEL(scale_f32) { ew_run(ctx, args, EW_SCALE, 0); }
MLXN_CPU_KERNEL(scale_f16) { ew_run(ctx, args, EW_SCALE, 1); }
MLXN_CPU_KERNEL(scale_bf16) { ew_run(ctx, args, EW_SCALE, 2); }

/* ---- RMS norm ----------------------------------------------------------------- */
typedef struct norm_job {
    const float *x;
    const void *w; /* NULL: no weight */
    int wtype;
    float *out;
    mlxn_norm_params p;
} norm_job;

static void norm_rows(void *arg, int64_t begin, int64_t end)
{
    const norm_job *j = arg;
    uint32_t n = j->p.n;
    for (int64_t r = begin; r < end; r++) {
        const float *x = j->x + (uint64_t)r * n;
        float *o = j->out + (uint64_t)r * n;
        double ss = 0;
        for (uint32_t i = 0; i < n; i++)
            ss += (double)x[i] * x[i];
        float inv = mlxn__rms_scale(ss, n, j->p.eps);
        for (uint32_t i = 0; i < n; i++)
            o[i] = x[i] * inv * (j->w ? load(j->w, j->wtype, i) : 1.0f);
    }
}

static void norm_run(mlxn__cpu_ctx *ctx, void **args, int has_w, int wtype)
{
    norm_job j;
    j.x = MLXN_ARG_PTR(const float, 0);
    j.w = has_w ? MLXN_ARG_PTR(const void, 1) : NULL;
    j.wtype = wtype;
    j.out = MLXN_ARG_PTR(float, has_w ? 2 : 1);
    j.p = MLXN_ARG_VAL(mlxn_norm_params, has_w ? 3 : 2);
    int64_t grain = j.p.n ? (1 << 14) / j.p.n + 1 : 1;
    mlxn__cpu_parallel_for(ctx, j.p.rows, grain, norm_rows, &j);
}

/* args: x, out, mlxn_norm_params */
MLXN_CPU_KERNEL(rms_norm_f32) { norm_run(ctx, args, 0, 0); }
/* args: x, w, out, mlxn_norm_params */
MLXN_CPU_KERNEL(rms_norm_mul_f32) { norm_run(ctx, args, 1, 0); }
MLXN_CPU_KERNEL(rms_norm_mul_f16) { norm_run(ctx, args, 1, 1); }
MLXN_CPU_KERNEL(rms_norm_mul_bf16) { norm_run(ctx, args, 1, 2); }
