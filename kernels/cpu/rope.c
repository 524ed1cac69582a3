/*
 * rope.c: CPU kernels of rotary position embedding in f32, interleaved
 * pairs (2i, 2i+1) and NeoX pairs (i, i + n_rot/2); dims from n_rot on
 * pass through. Angles in double precision, as on the GPU.
 */
#include "cpu/cpu_kernel.h"
#include "params/rope.h"

#include <math.h>

typedef struct rope_job {
    const float *x;
    const int32_t *pos;
    const float *factors;
    float *out;
    mlxn_rope_kparams p;
    int neox;
} rope_job;

static void rope_tokens(void *arg, int64_t begin, int64_t end)
{
    const rope_job *j = arg;
    const mlxn_rope_kparams *p = &j->p;
    uint32_t half = p->n_rot / 2;
    float cs[MLXN_ROPE_MAX_HALF], sn[MLXN_ROPE_MAX_HALF];
    for (int64_t t = begin; t < end; t++) {
        for (uint32_t i = 0; i < half; i++) {
            double inv = pow((double)p->theta_base, -2.0 * i / (double)p->n_rot);
            double ang = (double)j->pos[t] * (double)p->freq_scale * inv;
            if (p->has_factors)
                ang /= (double)j->factors[i];
            cs[i] = (float)cos(ang);
            sn[i] = (float)sin(ang);
        }
        for (uint32_t h = 0; h < p->n_heads; h++) {
            uint64_t base = ((uint64_t)t * p->n_heads + h) * p->head_dim;
            const float *x = j->x + base;
            float *o = j->out + base;
            for (uint32_t i = 0; i < half; i++) {
                uint32_t a = j->neox ? i : 2 * i, b = j->neox ? i + half : 2 * i + 1;
                float xa = x[a], xb = x[b];
                o[a] = xa * cs[i] - xb * sn[i];
                o[b] = xa * sn[i] + xb * cs[i];
            }
            for (uint32_t d = p->n_rot; d < p->head_dim; d++)
                o[d] = x[d];
        }
    }
}

static void rope_run(mlxn__cpu_ctx *ctx, void **args, int neox)
{
    rope_job j;
    j.x = MLXN_ARG_PTR(const float, 0);
    j.pos = MLXN_ARG_PTR(const int32_t, 1);
    j.factors = MLXN_ARG_PTR(const float, 2);
    j.out = MLXN_ARG_PTR(float, 3);
    j.p = MLXN_ARG_VAL(mlxn_rope_kparams, 4);
    j.neox = neox;
    int64_t per = (int64_t)j.p.n_heads * j.p.head_dim;
    mlxn__cpu_parallel_for(ctx, j.p.n_tokens, per ? (1 << 13) / per + 1 : 1, rope_tokens, &j);
}

/* args: x, positions, freq_factors, out, mlxn_rope_kparams */
MLXN_CPU_KERNEL(rope_interleaved_f32) { rope_run(ctx, args, 0); }
MLXN_CPU_KERNEL(rope_neox_f32) { rope_run(ctx, args, 1); }
