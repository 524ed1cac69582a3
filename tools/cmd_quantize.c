/*
 * cmd_quantize.c: `mlxn quantize`, weight quantization with the library's
 * reference quantizers: a Hugging Face safetensors directory to an MLX
 * affine directory (4 or 8 bits), or a GGUF file to GGUF Q4_0 / Q8_0.
 * The file writers are in quant_write.c.
 */
#include "tools/quant_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: mlxn quantize -m INPUT -o OUTPUT --to FORMAT [--group N]\n\n"
               "Quantize a model's linear weights (norms and biases are kept).\n\n"
               "  -m, --model INPUT   Hugging Face safetensors directory, or a GGUF file\n"
               "  -o, --output PATH   output directory (MLX) or file (GGUF)\n"
               "  --to FORMAT         mlx4, mlx8 (MLX affine, from a directory) or\n"
               "                      q4_0, q8_0 (GGUF, from a GGUF file)\n"
               "  --group N           MLX group size: 32, 64 (default) or 128\n"
               "  -h, --help\n");
}

int mlxn_cmd_quantize(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *to = NULL;
    int group = 64;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int v = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && v) {
            in = argv[++i];
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && v) {
            out = argv[++i];
        } else if (!strcmp(a, "--to") && v) {
            to = argv[++i];
        } else if (!strcmp(a, "--group") && v) {
            group = atoi(argv[++i]);
        } else {
            fprintf(stderr, "mlxn quantize: unknown or incomplete option '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!in || !out || !to) {
        fprintf(stderr, "mlxn quantize: need -m INPUT, -o OUTPUT and --to FORMAT\n\n");
        usage(stderr);
        return 2;
    }
    struct stat sb;
    if (stat(in, &sb) != 0) {
        fprintf(stderr, "mlxn quantize: cannot open '%s'\n", in);
        return 1;
    }
    int rc;
    if (!strcmp(to, "mlx4") || !strcmp(to, "mlx8")) {
        if (!S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "mlxn quantize: MLX output needs a safetensors directory as input\n");
            return 2;
        }
        if (group != 32 && group != 64 && group != 128) {
            fprintf(stderr, "mlxn quantize: group size must be 32, 64 or 128\n");
            return 2;
        }
        rc = mlxn_quant_write_mlx(in, out, to[3] - '0', group);
    } else if (!strcmp(to, "q4_0") || !strcmp(to, "q8_0")) {
        if (S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "mlxn quantize: GGUF output needs a GGUF file as input\n");
            return 2;
        }
        rc = mlxn_quant_write_gguf(in, out, !strcmp(to, "q4_0") ? MLXN_DTYPE_Q4_0
                                                                : MLXN_DTYPE_Q8_0);
    } else {
        fprintf(stderr, "mlxn quantize: unknown format '%s' (mlx4, mlx8, q4_0, q8_0)\n", to);
        return 2;
    }
    return rc;
}
