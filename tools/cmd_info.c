/*
 * cmd_info.c: `mlxn info`: which backends work here and what the devices
 * are.
 */
#include "tools/cli.h"

#include <stdio.h>
#include <string.h>

int mlxn_cli_backend(const char *s, mlxn_backend *out)
{
    if (!strcmp(s, "cpu"))
        *out = MLXN_BACKEND_CPU;
    else if (!strcmp(s, "cuda"))
        *out = MLXN_BACKEND_CUDA;
    else if (!strcmp(s, "auto"))
        *out = MLXN_BACKEND_AUTO;
    else
        return -1;
    return 0;
}

static void show(mlxn_backend b, const char *name)
{
    mlxn_device_params p = mlxn_device_params_default();
    p.backend = b;
    mlxn_device *dev = NULL;
    if (mlxn_device_create(&p, &dev) != MLXN_OK) {
        printf("%-5s unavailable: %s\n", name, mlxn_last_error(NULL));
        return;
    }
    mlxn_device_info info;
    mlxn_device_get_info(dev, &info);
    printf("%-5s %s: %d %s, %.1f GiB", name, mlxn_device_name(dev), info.multiprocessors,
           b == MLXN_BACKEND_CUDA ? "SMs" : "threads",
           (double)info.memory_bytes / (1024.0 * 1024 * 1024));
    if (b == MLXN_BACKEND_CUDA)
        printf(", sm_%d%d, L2 %.0f MiB", info.compute_major, info.compute_minor,
               (double)info.l2_bytes / (1024.0 * 1024));
    printf(", %d kernels\n", mlxn_kernel_count(dev));
    mlxn_device_destroy(dev);
}

int mlxn_cmd_info(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: mlxn info\n\nShow the CPU and CUDA devices mlxn can use here.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "mlxn info: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    show(MLXN_BACKEND_CPU, "cpu");
    show(MLXN_BACKEND_CUDA, "cuda");
    return 0;
}
