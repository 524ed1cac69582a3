/*
 * bench_kern.c: GPU time and bandwidth of the inference kernels at Llama-3
 * 8B shapes (n_embd 4096, 32 heads of 128, vocabulary 128256): decode
 * sizes (one token: launch-latency bound, inputs in L2) and prefill sizes
 * (512 tokens, buffers rotated over more than the 60 MiB of L2).
 *
 * GPU time per op without events: a debug_delay_write kernel holds the
 * queue while the host encodes R ops behind it, so the GPU then runs them
 * back to back; time per op = (wall - wall of the delay alone) / R, the
 * median of several trials. The reference is a streaming kernel measured
 * in the same run (scale_f32 over 256 MiB: read + write).
 *
 *   bench_kern [--backend cpu|cuda|auto] [--reps R]
 */
#include "bench/bench_util.h"
#include "mlxn.h"

#include <stdio.h>
#include <string.h>

#define SETS 4 /* rotated buffer sets for the prefill cases */
#define TRIALS 7

typedef struct bctx {
    mlxn_device *dev;
    mlxn_buffer *a[SETS], *b[SETS], *c[SETS], *d[SETS], *w, *pos, *i32, *state;
    int sets;
    mlxn_sample_params sp;
    mlxn_rope_params rp;
    float scale;
} bctx;

typedef mlxn_status (*encode_fn)(mlxn_encoder *enc, bctx *c, int i);

static mlxn_status enc_rms(mlxn_encoder *e, bctx *c, int i)
{
    int s = i % c->sets;
    return mlxn_op_rms_norm(e, c->a[s], c->w, 1e-5f, c->b[s]);
}
static mlxn_status enc_add_rms(mlxn_encoder *e, bctx *c, int i)
{
    int s = i % c->sets;
    return mlxn_op_add_rms_norm(e, c->a[s], c->b[s], c->w, 1e-5f, c->c[s], c->d[s]);
}
static mlxn_status enc_rope(mlxn_encoder *e, bctx *c, int i)
{
    int s = i % c->sets;
    return mlxn_op_rope(e, c->a[s], c->pos, NULL, &c->rp, c->b[s]);
}
static mlxn_status enc_argmax(mlxn_encoder *e, bctx *c, int i)
{
    return mlxn_op_argmax(e, c->a[i % c->sets], c->i32);
}
static mlxn_status enc_softmax(mlxn_encoder *e, bctx *c, int i)
{
    int s = i % c->sets;
    return mlxn_op_softmax(e, c->a[s], 1.0f, c->b[s]);
}
static mlxn_status enc_silu(mlxn_encoder *e, bctx *c, int i)
{
    int s = i % c->sets;
    return mlxn_op_silu_mul(e, c->a[s], c->b[s], c->c[s]);
}
static mlxn_status enc_sample(mlxn_encoder *e, bctx *c, int i)
{
    return mlxn_op_sample(e, c->a[i % c->sets], &c->sp, c->state, c->i32);
}
static mlxn_status enc_scale(mlxn_encoder *e, bctx *c, int i)
{
    int s = i % c->sets;
    return mlxn_op_scale(e, c->a[s], 0.5f, c->b[s]);
}

/* Wall microseconds of: a delay of delay_ns, then n ops, then the wait. */
static double timed(mlxn_encoder *enc, bctx *c, encode_fn fn, int n, uint64_t delay_ns,
                    mlxn_kernel *delay, int *ok)
{
    uint32_t v = 1;
    mlxn_arg args[3] = {mlxn_arg_buffer(c->i32), mlxn_arg_bytes(&delay_ns, 8),
                        mlxn_arg_bytes(&v, 4)};
    mlxn_dispatch d = {0};
    d.kernel = delay;
    d.args = args;
    d.n_args = 3;
    d.grid = (mlxn_dim3){1, 1, 1};
    d.block = (mlxn_dim3){32, 1, 1};
    double t0 = bench_now_us();
    if (delay_ns && mlxn_encoder_dispatch(enc, &d) != MLXN_OK)
        *ok = 0;
    for (int i = 0; i < n && *ok; i++)
        if (fn(enc, c, i) != MLXN_OK)
            *ok = 0;
    if (mlxn_encoder_commit_and_wait(enc) != MLXN_OK)
        *ok = 0;
    return bench_now_us() - t0;
}

/* Median GPU microseconds per op. */
static double gpu_us(mlxn_encoder *enc, bctx *c, encode_fn fn, int reps, mlxn_kernel *delay,
                     int *ok)
{
    timed(enc, c, fn, 10, 0, delay, ok); /* warm-up */
    double host = timed(enc, c, fn, reps, 0, delay, ok);
    uint64_t delay_ns = (uint64_t)(host * 1500.0) + 100000; /* 1.5x the encode time */
    double s[TRIALS];
    for (int t = 0; t < TRIALS && *ok; t++) {
        double base = timed(enc, c, fn, 0, delay_ns, delay, ok);
        double all = timed(enc, c, fn, reps, delay_ns, delay, ok);
        s[t] = (all - base) / reps;
    }
    return *ok ? bench_median(s, TRIALS) : 0.0;
}

static mlxn_buffer *tensor(bctx *c, mlxn_dtype dt, int ndim, const int64_t *shape, float lo,
                           float hi, int *ok)
{
    mlxn_buffer *b = NULL;
    if (mlxn_buffer_create_tensor(c->dev, dt, ndim, shape, &b) != MLXN_OK) {
        *ok = 0;
        return NULL;
    }
    int64_t n = mlxn_buffer_elems(b);
    float *h = malloc((size_t)n * sizeof *h);
    uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    for (int64_t i = 0; h && i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        float u = (float)((x >> 40) * (1.0 / 16777216.0));
        if (dt == MLXN_DTYPE_I32)
            ((int32_t *)h)[i] = (int32_t)(u * 8000.0f);
        else
            h[i] = lo + (hi - lo) * u;
    }
    if (!h || mlxn_buffer_write(b, 0, h, (size_t)n * 4) != MLXN_OK)
        *ok = 0;
    free(h);
    return b;
}

typedef struct bcase {
    const char *name, *shape;
    encode_fn fn;
    int rows, n;    /* tensors a..d are (rows, n) f32 */
    int rope_heads; /* > 0: a, b are (rows, heads, 128) */
    int io;         /* f32 tensors streamed per op (reads + writes) */
    int sets;
} bcase;

static void run_case(mlxn_device *dev, mlxn_encoder *enc, mlxn_kernel *delay, const bcase *k,
                     int reps, double ref_gbs)
{
    bctx c;
    memset(&c, 0, sizeof c);
    c.dev = dev;
    c.sets = k->sets;
    c.sp = mlxn_sample_params_default();
    c.rp = mlxn_rope_params_default();
    c.rp.mode = MLXN_ROPE_NEOX;
    c.rp.theta_base = 500000.0f;
    if (!strcmp(k->shape, "greedy"))
        c.sp.temperature = 0.0f;
    if (!strcmp(k->shape, "temp 1"))
        c.sp.top_k = 0, c.sp.top_p = 1.0f, c.sp.min_p = 0.0f, c.sp.temperature = 1.0f;
    int ok = 1;
    int64_t sh2[2] = {k->rows, k->n}, sh3[3] = {k->rows, k->rope_heads, 128};
    int64_t sw[1] = {k->n}, sp[1] = {k->rows}, one[1] = {k->rows};
    for (int s = 0; s < k->sets && ok; s++) {
        int nd = k->rope_heads ? 3 : 2;
        const int64_t *sh = k->rope_heads ? sh3 : sh2;
        c.a[s] = tensor(&c, MLXN_DTYPE_F32, nd, sh, -4.0f, 4.0f, &ok);
        c.b[s] = tensor(&c, MLXN_DTYPE_F32, nd, sh, -4.0f, 4.0f, &ok);
        if (k->io >= 4 || k->fn == enc_silu) {
            c.c[s] = tensor(&c, MLXN_DTYPE_F32, nd, sh, -4.0f, 4.0f, &ok);
            c.d[s] = tensor(&c, MLXN_DTYPE_F32, nd, sh, -4.0f, 4.0f, &ok);
        }
    }
    c.w = tensor(&c, MLXN_DTYPE_F32, 1, sw, 0.5f, 1.5f, &ok);
    c.pos = tensor(&c, MLXN_DTYPE_I32, 1, sp, 0, 0, &ok);
    c.i32 = tensor(&c, MLXN_DTYPE_I32, 1, one, 0, 0, &ok);
    mlxn_buffer_params bp = mlxn_buffer_params_default();
    bp.bytes = mlxn_sampler_state_bytes(&c.sp);
    if (ok && mlxn_buffer_create(dev, &bp, &c.state) != MLXN_OK)
        ok = 0;
    double us = ok ? gpu_us(enc, &c, k->fn, reps, delay, &ok) : 0;
    double bytes = (double)k->io * k->rows * k->n * 4.0;
    if (k->rope_heads)
        bytes = (double)k->io * k->rows * k->rope_heads * 128 * 4.0;
    if (!ok)
        printf("| %s | %s | failed: %s | | |\n", k->name, k->shape, mlxn_last_error(dev));
    else if (k->io)
        printf("| %s | %s | %.2f | %.0f | %.0f%% |\n", k->name, k->shape, us, bytes / us * 1e-3,
               100.0 * bytes / us * 1e-3 / ref_gbs);
    else
        printf("| %s | %s | %.2f | | |\n", k->name, k->shape, us);
    for (int s = 0; s < k->sets; s++) {
        mlxn_buffer_destroy(c.a[s]);
        mlxn_buffer_destroy(c.b[s]);
        mlxn_buffer_destroy(c.c[s]);
        mlxn_buffer_destroy(c.d[s]);
    }
    mlxn_buffer_destroy(c.w);
    mlxn_buffer_destroy(c.pos);
    mlxn_buffer_destroy(c.i32);
    mlxn_buffer_destroy(c.state);
}

int main(int argc, char **argv)
{
    mlxn_device_params dp = mlxn_device_params_default();
    int reps = 200;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
            const char *b = argv[++i];
            dp.backend = !strcmp(b, "cuda") ? MLXN_BACKEND_CUDA
                         : !strcmp(b, "cpu") ? MLXN_BACKEND_CPU
                                             : MLXN_BACKEND_AUTO;
        } else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else {
            printf("usage: %s [--backend cpu|cuda|auto] [--reps R]\n", argv[0]);
            return 2;
        }
    }
    mlxn_device *dev = NULL;
    mlxn_encoder *enc = NULL;
    mlxn_kernel *delay = NULL;
    if (mlxn_device_create(&dp, &dev) != MLXN_OK || mlxn_encoder_create(dev, NULL, &enc) != MLXN_OK ||
        mlxn_kernel_get(dev, "debug_delay_write", &delay) != MLXN_OK) {
        printf("bench_kern: %s\n", mlxn_last_error(dev));
        return 1;
    }
    int cpu = mlxn_device_backend(dev) == MLXN_BACKEND_CPU;
    if (cpu && reps > 20)
        reps = 20;
    int big = cpu ? 64 : 512; /* prefill tokens */
    printf("bench_kern on %s, %d ops per trial, median of %d trials\n\n", mlxn_device_name(dev),
           reps, TRIALS);
    /* reference: scale_f32 streaming 64 Mi floats in and out */
    bcase ref = {"scale_f32 (reference)", "(1, 64Mi)", enc_scale, 1, cpu ? 1 << 22 : 1 << 26, 0, 2, 1};
    printf("| op | shape | GPU us/op | GB/s | of reference |\n|---|---|---|---|---|\n");
    {
        bctx c;
        memset(&c, 0, sizeof c);
        c.dev = dev;
        c.sets = 1;
        int ok = 1;
        int64_t sh[2] = {1, ref.n}, one[1] = {1};
        c.a[0] = tensor(&c, MLXN_DTYPE_F32, 2, sh, -1.0f, 1.0f, &ok);
        c.b[0] = tensor(&c, MLXN_DTYPE_F32, 2, sh, -1.0f, 1.0f, &ok);
        c.i32 = tensor(&c, MLXN_DTYPE_I32, 1, one, 0, 0, &ok);
        double us = ok ? gpu_us(enc, &c, enc_scale, cpu ? 5 : 20, delay, &ok) : 0;
        double gbs = ok ? 2.0 * ref.n * 4.0 / us * 1e-3 : 0;
        printf("| %s | %s | %.2f | %.0f | 100%% |\n", ref.name, ref.shape, us, gbs);
        mlxn_buffer_destroy(c.a[0]);
        mlxn_buffer_destroy(c.b[0]);
        mlxn_buffer_destroy(c.i32);
        static char big_shape[8][40];
        snprintf(big_shape[0], 40, "(%d, 4096)", big);
        snprintf(big_shape[1], 40, "(%d, 32, 128)", big);
        snprintf(big_shape[2], 40, "(%d, 14336)", big);
        bcase cases[] = {
            {"rms_norm_mul_f32", "(1, 4096)", enc_rms, 1, 4096, 0, 2, 1},
            {"add_rms_norm_mul_f32", "(1, 4096)", enc_add_rms, 1, 4096, 0, 4, 1},
            {"rope_neox_f32 q", "(1, 32, 128)", enc_rope, 1, 4096, 32, 2, 1},
            {"rope_neox_f32 k", "(1, 8, 128)", enc_rope, 1, 1024, 8, 2, 1},
            {"argmax_f32", "(1, 128256)", enc_argmax, 1, 128256, 0, 1, 1},
            {"softmax_f32", "(1, 128256)", enc_softmax, 1, 128256, 0, 2, 1},
            {"sample", "greedy", enc_sample, 1, 128256, 0, 0, 1},
            {"sample", "temp 1", enc_sample, 1, 128256, 0, 0, 1},
            {"sample", "defaults k40 p.95 minp.05", enc_sample, 1, 128256, 0, 0, 1},
            {"rms_norm_mul_f32", big_shape[0], enc_rms, big, 4096, 0, 2, SETS},
            {"add_rms_norm_mul_f32", big_shape[0], enc_add_rms, big, 4096, 0, 4, SETS},
            {"rope_neox_f32", big_shape[1], enc_rope, big, 4096, 32, 2, SETS},
            {"silu_mul_f32", big_shape[2], enc_silu, big, 14336, 0, 3, SETS},
            {"argmax_f32", "(64, 128256)", enc_argmax, 64, 128256, 0, 1, SETS},
        };
        for (unsigned i = 0; ok && i < sizeof cases / sizeof cases[0]; i++)
            run_case(dev, enc, delay, &cases[i], reps, gbs);
    }
    mlxn_encoder_destroy(enc);
    mlxn_device_destroy(dev);
    return 0;
}
