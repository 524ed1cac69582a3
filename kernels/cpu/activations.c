/*
 * activations.c: CPU kernels for SwiGLU (silu_mul), GELU (erf and tanh
 * forms), softcap, softmax and argmax, all in f32. Pointwise math uses the
 * f32 libm functions; softmax sums in f64.
 */
#include "cpu/cpu_kernel.h"
#include "params/activations.h"

#include <math.h>

enum { ACT_SILU_MUL, ACT_GELU_ERF, ACT_GELU_TANH, ACT_SOFTCAP };

typedef struct act_job {
    const float *x, *up;
    float *out;
    mlxn_act_params p;
    int op;
} act_job;

static void act_range(void *arg, int64_t begin, int64_t end)
{
    const act_job *j = arg;
    for (int64_t i = begin; i < end; i++) {
        float x = j->x[i], r;
        switch (j->op) {
        case ACT_SILU_MUL:
            r = x / (1.0f + expf(-x)) * j->up[i];
            break;
        case ACT_GELU_ERF:
            r = 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
            break;
        case ACT_GELU_TANH:
            r = 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
            break;
        default:
            r = j->p.cap * tanhf(x / j->p.cap);
            break;
        }
        j->out[i] = r;
    }
}

static void act_run(mlxn__cpu_ctx *ctx, void **args, int op)
{
    act_job j;
    j.op = op;
    j.x = MLXN_ARG_PTR(const float, 0);
    int binary = op == ACT_SILU_MUL;
    j.up = binary ? MLXN_ARG_PTR(const float, 1) : NULL;
    j.out = MLXN_ARG_PTR(float, binary ? 2 : 1);
    j.p = MLXN_ARG_VAL(mlxn_act_params, binary ? 3 : 2);
    mlxn__cpu_parallel_for(ctx, (int64_t)j.p.n, 1 << 13, act_range, &j);
}

/* args: gate, up, out, mlxn_act_params */
MLXN_CPU_KERNEL(silu_mul_f32) { act_run(ctx, args, ACT_SILU_MUL); }
/* args: x, out, mlxn_act_params */
MLXN_CPU_KERNEL(gelu_erf_f32) { act_run(ctx, args, ACT_GELU_ERF); }
MLXN_CPU_KERNEL(gelu_tanh_f32) { act_run(ctx, args, ACT_GELU_TANH); }
MLXN_CPU_KERNEL(softcap_f32) { act_run(ctx, args, ACT_SOFTCAP); }

/* ---- softmax and argmax: per row ---------------------------------------------- */
typedef struct row_job {
    const float *x;
    void *out;
    mlxn_row_params p;
} row_job;

static void softmax_rows(void *arg, int64_t begin, int64_t end)
{
    const row_job *j = arg;
    uint32_t n = j->p.n;
    for (int64_t r = begin; r < end; r++) {
        const float *x = j->x + (uint64_t)r * n;
        float *o = (float *)j->out + (uint64_t)r * n;
        float mx = -INFINITY;
        for (uint32_t i = 0; i < n; i++)
            mx = fmaxf(mx, x[i] * j->p.scale);
        double sum = 0;
        for (uint32_t i = 0; i < n; i++)
            sum += exp((double)(x[i] * j->p.scale - mx));
        float inv = (float)(1.0 / sum);
        for (uint32_t i = 0; i < n; i++)
            o[i] = expf(x[i] * j->p.scale - mx) * inv;
    }
}

static void argmax_rows(void *arg, int64_t begin, int64_t end)
{
    const row_job *j = arg;
    uint32_t n = j->p.n;
    for (int64_t r = begin; r < end; r++) {
        const float *x = j->x + (uint64_t)r * n;
        float best = -INFINITY;
        uint32_t bi = 0;
        for (uint32_t i = 0; i < n; i++)
            if (x[i] > best) { /* NaN never compares greater */
                best = x[i];
                bi = i;
            }
        ((int32_t *)j->out)[r] = (int32_t)bi;
    }
}

static void rows_run(mlxn__cpu_ctx *ctx, void **args, mlxn__cpu_range_fn fn)
{
    row_job j;
    j.x = MLXN_ARG_PTR(const float, 0);
    j.out = MLXN_ARG_PTR(void, 1);
    j.p = MLXN_ARG_VAL(mlxn_row_params, 2);
    int64_t grain = j.p.n ? (1 << 14) / j.p.n + 1 : 1;
    mlxn__cpu_parallel_for(ctx, j.p.rows, grain, fn, &j);
}

/* args: x, out, mlxn_row_params */
MLXN_CPU_KERNEL(softmax_f32) { rows_run(ctx, args, softmax_rows); }
/* args: x, out (rows) I32, mlxn_row_params */
MLXN_CPU_KERNEL(argmax_f32) { rows_run(ctx, args, argmax_rows); }
