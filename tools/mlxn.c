/*
 * mlxn.c: the mlxn command-line tool. Subcommands live in tools/cmd_*.c;
 * this file holds the table and the entry point.
 */
#include "tools/cli.h"

#include <stdio.h>
#include <string.h>

static const mlxn_cli_command commands[] = {
    {"bench", "measure prompt and generation speed (llama-bench style)", mlxn_cmd_bench},
    {"eval", "evaluate token ids: dump logits, decode greedily", mlxn_cmd_eval},
    {"generate", "generate text from a model", mlxn_cmd_generate},
    {"info", "show the devices mlxn can use", mlxn_cmd_info},
    {"inspect", "show a model file's metadata and tensors", mlxn_cmd_inspect},
    {"quantize", "quantize a model (MLX affine 4/8-bit, GGUF Q4_0/Q8_0)", mlxn_cmd_quantize},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: mlxn COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nRun 'mlxn COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "mlxn: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
