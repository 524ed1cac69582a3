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

/* Parse "cpu", "cuda" or "auto"; returns 0 on success. */
int mlxn_cli_backend(const char *s, mlxn_backend *out);

#endif /* MLXN_CLI_H */
