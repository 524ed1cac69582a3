/*
 * cmd_eval.c: `mlxn eval`, run token ids through a model, write every
 * position's logits to a file and print a greedy continuation. For checks
 * against other implementations (scripts/hf_compare.py).
 */
#include "tools/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: mlxn eval -m MODEL --ids 1,2,3 [options]\n\n"
               "Evaluate token ids; optionally write all logits and decode greedily.\n\n"
               "  -m, --model PATH     GGUF file, llama2.c .bin or safetensors directory\n"
               "  --ids LIST           comma-separated token ids (required)\n"
               "  --logits FILE        write n_ids x n_vocab float32 logits (little-endian)\n"
               "  --greedy N           then decode N tokens greedily and print their ids\n"
               "  --backend B          cpu, cuda or auto (default)\n"
               "  --kv f16|f32         KV cache type (default f32 here, for comparisons)\n"
               "  --exact-matvec       keep x in f32 in one-row products with 4-bit weights\n"
               "                       (default: x rounded to 8 bits per 32 values, faster)\n"
               "  --no-graph           encode every decode step instead of replaying it\n"
               "  -h, --help\n");
}

static int parse_ids(const char *s, int32_t **out, int *n)
{
    int cap = 16, count = 0;
    int32_t *ids = malloc(sizeof *ids * (size_t)cap);
    while (ids && *s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || v > INT32_MAX)
            break;
        if (count == cap) {
            int32_t *p = realloc(ids, sizeof *ids * (size_t)(cap *= 2));
            if (!p)
                break;
            ids = p;
        }
        ids[count++] = (int32_t)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            break;
    }
    if (!ids || *s || !count) {
        free(ids);
        return -1;
    }
    *out = ids;
    *n = count;
    return 0;
}

static int collect(int32_t token, void *arg)
{
    (void)arg;
    printf(" %d", token);
    return 0;
}

int mlxn_cmd_eval(int argc, char **argv)
{
    const char *model = NULL, *ids_s = NULL, *logits_path = NULL;
    int greedy = 0, graph = 1, exact = 0;
    mlxn_backend backend = MLXN_BACKEND_AUTO;
    mlxn_dtype kv = MLXN_DTYPE_F32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && v) {
            model = argv[++i];
        } else if (!strcmp(a, "--ids") && v) {
            ids_s = argv[++i];
        } else if (!strcmp(a, "--logits") && v) {
            logits_path = argv[++i];
        } else if (!strcmp(a, "--greedy") && v) {
            greedy = atoi(argv[++i]);
        } else if (!strcmp(a, "--backend") && v && !mlxn_cli_backend(v, &backend)) {
            i++;
        } else if (!strcmp(a, "--kv") && v && !mlxn_dtype_from_name(v, &kv)) {
            i++;
        } else if (!strcmp(a, "--no-graph")) {
            graph = 0;
        } else if (!strcmp(a, "--exact-matvec")) {
            exact = 1;
        } else {
            fprintf(stderr, "mlxn eval: unknown or incomplete option '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    int32_t *ids = NULL;
    int n = 0;
    if (!model || !ids_s || parse_ids(ids_s, &ids, &n) || greedy < 0) {
        fprintf(stderr, "mlxn eval: need -m MODEL and --ids with comma-separated ids\n");
        return 2;
    }
    mlxn_device *dev = mlxn_cli_device(backend, 0, exact, 0);
    if (!dev) {
        free(ids);
        return 1;
    }
    mlxn_model_params mp = mlxn_model_params_default();
    mp.device = dev;
    mp.kv_dtype = kv;
    mp.decode_graph = graph;
    mp.n_ctx = n + greedy + 1;
    mp.progress = mlxn_cli_progress;
    mlxn_model *m = NULL;
    int rc = 1;
    float *logits = NULL;
    if (mlxn_model_load(model, &mp, &m) != MLXN_OK) {
        fprintf(stderr, "mlxn eval: %s\n", mlxn_last_error(NULL));
        goto done;
    }
    size_t vocab = (size_t)mlxn_model_get_config(m)->n_vocab;
    logits = malloc(sizeof *logits * vocab * (size_t)n);
    if (!logits || mlxn_model_eval(m, ids, n, MLXN_LOGITS_ALL, logits) != MLXN_OK) {
        fprintf(stderr, "mlxn eval: %s\n", logits ? mlxn_last_error(dev) : "out of memory");
        goto done;
    }
    if (logits_path) {
        FILE *f = fopen(logits_path, "wb");
        size_t w = f ? fwrite(logits, sizeof *logits, vocab * (size_t)n, f) : 0;
        if (!f || w != vocab * (size_t)n || fclose(f)) {
            fprintf(stderr, "mlxn eval: cannot write %s\n", logits_path);
            goto done;
        }
    }
    if (greedy) {
        /* Recompute from a clean cache so the continuation follows the
         * prompt exactly as a fresh generation would. */
        mlxn_model_reset(m);
        mlxn_generate_params g = mlxn_generate_params_default();
        g.n_predict = greedy;
        g.ignore_eos = 1;
        g.sample.temperature = 0;
        g.on_token = collect;
        printf("greedy:");
        if (mlxn_model_generate(m, ids, n, &g, NULL) != MLXN_OK) {
            fprintf(stderr, "\nmlxn eval: %s\n", mlxn_last_error(dev));
            goto done;
        }
        printf("\n");
    }
    rc = 0;
done:
    free(logits);
    free(ids);
    mlxn_model_destroy(m);
    mlxn_device_destroy(dev);
    return rc;
}
