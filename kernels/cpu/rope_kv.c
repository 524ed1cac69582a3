/*
 * rope_kv.c: the CPU twin of rope_kv.cu: RoPE of q (in place) and k, the
 * rotated k and v written into the KV cache, with the arithmetic of the
 * RoPE and kv_write kernels.
 */
#include "cpu/cpu_kernel.h"
#include "params/half.h"
#include "params/rope.h"
#include "params/rope_kv.h"

#include <math.h>

typedef struct rkv_job {
    float *q;
    const float *k, *v;
    const int32_t *positions;
    const float *factors;
    int64_t pos0;
    void *kc, *vc;
    int f16;
    mlxn_rope_kv_kparams p;
} rkv_job;

static void store(const rkv_job *j, void *cache, uint64_t i, float v)
{
    if (j->f16)
        ((uint16_t *)cache)[i] = mlxn__f32_to_f16(v);
    else
        ((float *)cache)[i] = v;
}

static void rkv_tokens(void *arg, int64_t begin, int64_t end)
{
    const rkv_job *j = arg;
    const mlxn_rope_kv_kparams *p = &j->p;
    uint32_t half = p->n_rot / 2, hd = p->head_dim;
    float cs[MLXN_ROPE_MAX_HALF], sn[MLXN_ROPE_MAX_HALF], o[2 * MLXN_ROPE_MAX_HALF];
    for (int64_t t = begin; t < end; t++) {
        for (uint32_t i = 0; i < half; i++) {
            double inv = pow((double)p->theta_base, -2.0 * i / (double)p->n_rot);
            double ang = (double)j->positions[t] * (double)p->freq_scale * inv;
            if (p->has_factors)
                ang /= (double)j->factors[i];
            cs[i] = (float)cos(ang);
            sn[i] = (float)sin(ang);
        }
        int64_t row = j->pos0 + t;
        int in_cache = row < (int64_t)p->n_ctx;
        for (uint32_t r = 0; r < p->n_head + p->n_kv; r++) {
            int is_q = r < p->n_head;
            uint32_t h = is_q ? r : r - p->n_head;
            const float *x = is_q ? j->q + ((uint64_t)t * p->n_head + h) * hd
                                  : j->k + ((uint64_t)t * p->n_kv + h) * hd;
            for (uint32_t i = 0; i < half; i++) {
                uint32_t a = p->neox ? i : 2 * i, b = p->neox ? i + half : 2 * i + 1;
                float xa = x[a], xb = x[b];
                o[a] = xa * cs[i] - xb * sn[i];
                o[b] = xa * sn[i] + xb * cs[i];
            }
            for (uint32_t d = p->n_rot; d < hd; d++)
                o[d] = x[d];
            if (is_q) {
                for (uint32_t d = 0; d < hd; d++)
                    j->q[((uint64_t)t * p->n_head + h) * hd + d] = o[d];
            } else if (in_cache) {
                for (uint32_t d = 0; d < hd; d++)
                    store(j, j->kc, ((uint64_t)h * p->n_ctx + (uint64_t)row) * hd + d, o[d]);
            }
        }
        for (uint32_t h = 0; in_cache && h < p->n_kv; h++)
            for (uint32_t d = 0; d < hd; d++)
                store(j, j->vc, ((uint64_t)h * p->n_ctx + (uint64_t)row) * hd + d,
                      j->v[((uint64_t)t * p->n_kv + h) * hd + d]);
    }
}

static void rkv_run(mlxn__cpu_ctx *ctx, void **args, int f16)
{
    rkv_job j;
    j.q = MLXN_ARG_PTR(float, 0);
    j.k = MLXN_ARG_PTR(const float, 1);
    j.v = MLXN_ARG_PTR(const float, 2);
    j.positions = MLXN_ARG_PTR(const int32_t, 3);
    j.factors = MLXN_ARG_PTR(const float, 4);
    int32_t p0 = *MLXN_ARG_PTR(const int32_t, 5);
    j.pos0 = p0 < 0 ? 0 : p0;
    j.kc = MLXN_ARG_PTR(void, 6);
    j.vc = MLXN_ARG_PTR(void, 7);
    j.p = MLXN_ARG_VAL(mlxn_rope_kv_kparams, 8);
    j.f16 = f16;
    mlxn__cpu_parallel_for(ctx, j.p.n_tokens, 1, rkv_tokens, &j);
}

/* args: q, k, v, positions, freq_factors, pos, k_cache, v_cache, params */
MLXN_CPU_KERNEL(rope_kv_f16) { rkv_run(ctx, args, 1); }
MLXN_CPU_KERNEL(rope_kv_f32) { rkv_run(ctx, args, 0); }
