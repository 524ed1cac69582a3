/*
 * cli_util.c: helpers shared by the subcommands: backend names, device
 * creation with a readable failure, and the loading progress bar.
 */
#include "tools/cli.h"

#include <stdio.h>
#include <unistd.h>

mlxn_device *mlxn_cli_device(mlxn_backend backend, unsigned profile, int matvec_exact,
                             int timeline)
{
    mlxn_device_params p = mlxn_device_params_default();
    p.backend = backend;
    p.profile = profile;
    p.matvec_exact = matvec_exact;
    p.timeline = timeline;
    mlxn_device *dev = NULL;
    if (mlxn_device_create(&p, &dev) != MLXN_OK) {
        fprintf(stderr, "mlxn: cannot open a device: %s\n", mlxn_last_error(NULL));
        return NULL;
    }
    return dev;
}

void mlxn_cli_progress(float fraction, void *arg)
{
    (void)arg;
    if (!isatty(2))
        return;
    int width = 40, done = (int)(fraction * (float)width + 0.5f);
    if (done < 0)
        done = 0;
    if (done > width)
        done = width;
    fprintf(stderr, "\rloading [%.*s%*s] %3d%%", done, "########################################",
            width - done, "", (int)(fraction * 100.0f + 0.5f));
    if (fraction >= 1.0f)
        fprintf(stderr, "\r%*s\r", width + 18, "");
    fflush(stderr);
}
