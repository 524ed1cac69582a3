/*
 * bench_dispatch.c: host cost of direct-mode dispatch. Encodes command
 * buffers of 400 tiny dispatches and reports, as medians over many
 * command buffers, the host microseconds per dispatch spent encoding and
 * the wall microseconds per dispatch including commit and wait, with and
 * without programmatic dependent launch.
 *
 *   bench_dispatch [--backend cpu|cuda|auto] [--reps N]
 */
#include "bench/bench_util.h"
#include "mlxn.h"

#include <stdio.h>
#include <string.h>

#define DISPATCHES 400

static int run(mlxn_backend backend, int pdl, int reps, const char *label)
{
    mlxn_device_params dp = mlxn_device_params_default();
    dp.backend = backend;
    dp.pdl = pdl;
    mlxn_device *dev = NULL;
    if (mlxn_device_create(&dp, &dev) != MLXN_OK) {
        printf("| %s | unavailable: %s | | |\n", label, mlxn_last_error(NULL));
        return 1;
    }
    mlxn_encoder *enc = NULL;
    mlxn_kernel *k = NULL;
    mlxn_buffer *a = NULL, *b = NULL;
    int64_t shape[1] = {256};
    uint32_t n = 256;
    if (mlxn_encoder_create(dev, NULL, &enc) != MLXN_OK ||
        mlxn_kernel_get(dev, "debug_inc_u32", &k) != MLXN_OK ||
        mlxn_buffer_create_tensor(dev, MLXN_DTYPE_U32, 1, shape, &a) != MLXN_OK ||
        mlxn_buffer_create_tensor(dev, MLXN_DTYPE_U32, 1, shape, &b) != MLXN_OK) {
        printf("setup failed: %s\n", mlxn_last_error(dev));
        return 1;
    }
    double *enc_us = malloc((size_t)reps * sizeof *enc_us);
    double *wall_us = malloc((size_t)reps * sizeof *wall_us);
    for (int r = -5; r < reps; r++) { /* 5 warm-up command buffers */
        double t0 = bench_now_us();
        for (int i = 0; i < DISPATCHES; i++) {
            mlxn_buffer *in = (i & 1) ? b : a, *out = (i & 1) ? a : b;
            mlxn_arg args[3] = {mlxn_arg_buffer(in), mlxn_arg_buffer(out), mlxn_arg_bytes(&n, 4)};
            mlxn_dispatch d = {0};
            d.kernel = k;
            d.args = args;
            d.n_args = 3;
            d.grid = (mlxn_dim3){1, 1, 1};
            d.block = (mlxn_dim3){256, 1, 1};
            if (mlxn_encoder_dispatch(enc, &d) != MLXN_OK) {
                printf("dispatch failed: %s\n", mlxn_last_error(dev));
                return 1;
            }
        }
        double t1 = bench_now_us();
        if (mlxn_encoder_commit_and_wait(enc) != MLXN_OK) {
            printf("wait failed: %s\n", mlxn_last_error(dev));
            return 1;
        }
        double t2 = bench_now_us();
        if (r >= 0) {
            enc_us[r] = (t1 - t0) / DISPATCHES;
            wall_us[r] = (t2 - t0) / DISPATCHES;
        }
    }
    printf("| %s | %s | %.2f | %.2f |\n", label, mlxn_device_name(dev),
           bench_median(enc_us, reps), bench_median(wall_us, reps));
    free(enc_us);
    free(wall_us);
    mlxn_buffer_destroy(a);
    mlxn_buffer_destroy(b);
    mlxn_encoder_destroy(enc);
    mlxn_device_destroy(dev);
    return 0;
}

int main(int argc, char **argv)
{
    mlxn_backend backend = MLXN_BACKEND_AUTO;
    int reps = 200;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
            const char *b = argv[++i];
            backend = !strcmp(b, "cpu") ? MLXN_BACKEND_CPU
                      : !strcmp(b, "cuda") ? MLXN_BACKEND_CUDA : MLXN_BACKEND_AUTO;
        } else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else {
            printf("usage: %s [--backend cpu|cuda|auto] [--reps N]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1)
        reps = 1;
    printf("direct-mode dispatch, %d dispatches per command buffer, median of %d\n\n",
           DISPATCHES, reps);
    printf("| mode | device | host us/dispatch (encode) | wall us/dispatch (encode+run+wait) |\n");
    printf("|---|---|---|---|\n");
    int rc = run(backend, 1, reps, "pdl on");
    if (!rc)
        rc = run(backend, 0, reps, "pdl off");
    return rc;
}
