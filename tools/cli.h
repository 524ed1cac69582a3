/*
 * cli.h: shared pieces of the mlxn tool: the command table entry and the
 * option helpers every subcommand uses.
 */
#ifndef MLXN_CLI_H
#define MLXN_CLI_H

#include "mlxn.h"

typedef struct mlxn_cli_command {
    const char *name;
    const char *help;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} mlxn_cli_command;

int mlxn_cmd_info(int argc, char **argv);
int mlxn_cmd_bench(int argc, char **argv);
int mlxn_cmd_eval(int argc, char **argv);
int mlxn_cmd_generate(int argc, char **argv);
int mlxn_cmd_inspect(int argc, char **argv);
int mlxn_cmd_quantize(int argc, char **argv);

/* Parse "cpu", "cuda" or "auto"; returns 0 on success. */
int mlxn_cli_backend(const char *s, mlxn_backend *out);
/* Create a device with MLXN_PROFILE_* bits, printing the reason to stderr
 * on failure (NULL). */
mlxn_device *mlxn_cli_device(mlxn_backend backend, unsigned profile, int matvec_exact,
                             int timeline);
/* Loading progress: a bar on stderr when it is a terminal, else nothing. */
void mlxn_cli_progress(float fraction, void *arg);

#endif /* MLXN_CLI_H */
