/*
 * cmd_bench.c: `mlxn bench`, prompt processing and generation speed in the
 * style of llama-bench (pp512 and tg128 by default, repeats, mean and
 * deviation, markdown or JSON). Without -m it builds a synthetic model
 * with seeded random weights: the Llama-3-8B shape in Q4_0 on a GPU, a
 * small shape on the CPU. Reports decode bandwidth as a fraction of the
 * device's copy bandwidth measured in the same run.
 */
#include "tools/cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct bench_opts {
    const char *model, *synthetic, *format, *timeline;
    mlxn_backend backend;
    int n_prompt, n_gen, reps, group, n_ctx, graph, json, profile, x8_chain;
    mlxn_dtype kv;
} bench_opts;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mlxn bench [options]\n\n"
            "Measure prompt processing (ppN) and generation (tgN) speed.\n\n"
            "  -m, --model PATH      GGUF file, llama2.c .bin or safetensors directory\n"
            "                        (default: a synthetic model with random weights)\n"
            "  --synthetic NAME      synthetic shape: llama3-8b (GPU default), llama2-7b,\n"
            "                        small (CPU default)\n"
            "  --type T              synthetic weight format: q4_0 (default), q8_0, q4_k, q6_k,\n"
            "                        f16, bf16, f32, mlx4, mlx8 (MLX affine)\n"
            "  --group N             MLX affine group size (default 64)\n"
            "  -p, --n-prompt N      prompt tokens (default 512; 0 skips)\n"
            "  -n, --n-gen N         generated tokens (default 128; 0 skips)\n"
            "  -r, --repetitions N   runs per test (default 5)\n"
            "  --backend B           cpu, cuda or auto (default)\n"
            "  --n-ctx N             KV cache length (default: prompt + generation)\n"
            "  --kv f16|f32          KV cache type (default f16)\n"
            "  --no-graph            encode every decode step instead of replaying it\n"
            "  --no-x8-chain         every block of the FFN's down product rounds its input\n"
            "                        (instead of the SwiGLU product, once; same results)\n"
            "  --profile             GPU time per kernel of one extra generation run\n"
            "                        (direct launches, one event pair per dispatch)\n"
            "  --timeline FILE       write the device timeline of the whole run to FILE\n"
            "                        (CUDA kernels built with -DMLXN_TIMELINE; read it\n"
            "                        with scripts/timeline.py)\n"
            "  -o, --output md|json  output format (default md)\n"
            "  -h, --help\n");
}

static int parse(int argc, char **argv, bench_opts *o)
{
    memset(o, 0, sizeof *o);
    o->backend = MLXN_BACKEND_AUTO;
    o->n_prompt = 512;
    o->n_gen = 128;
    o->reps = 5;
    o->group = 64;
    o->graph = 1;
    o->x8_chain = 1;
    o->kv = MLXN_DTYPE_F16;
    o->format = "q4_0";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKES(s1, s2) ((!strcmp(a, s1) || !strcmp(a, s2)) && v && ++i)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 1;
        } else if (TAKES("-m", "--model")) {
            o->model = v;
        } else if (TAKES("--synthetic", "--synthetic")) {
            o->synthetic = v;
        } else if (TAKES("--type", "--type")) {
            o->format = v;
        } else if (TAKES("--group", "--group")) {
            o->group = atoi(v);
        } else if (TAKES("-p", "--n-prompt")) {
            o->n_prompt = atoi(v);
        } else if (TAKES("-n", "--n-gen")) {
            o->n_gen = atoi(v);
        } else if (TAKES("-r", "--repetitions")) {
            o->reps = atoi(v);
        } else if (TAKES("--n-ctx", "--n-ctx")) {
            o->n_ctx = atoi(v);
        } else if (TAKES("--backend", "--backend")) {
            if (mlxn_cli_backend(v, &o->backend))
                return fprintf(stderr, "mlxn bench: unknown backend '%s'\n", v), 2;
        } else if (TAKES("--kv", "--kv")) {
            if (mlxn_dtype_from_name(v, &o->kv))
                return fprintf(stderr, "mlxn bench: unknown KV type '%s'\n", v), 2;
        } else if (TAKES("-o", "--output")) {
            o->json = !strcmp(v, "json");
            if (!o->json && strcmp(v, "md"))
                return fprintf(stderr, "mlxn bench: unknown output '%s'\n", v), 2;
        } else if (!strcmp(a, "--no-graph")) {
            o->graph = 0;
        } else if (!strcmp(a, "--no-x8-chain")) {
            o->x8_chain = 0;
        } else if (TAKES("--timeline", "--timeline")) {
            o->timeline = v;
        } else if (!strcmp(a, "--profile")) {
            o->profile = 1;
        } else {
            fprintf(stderr, "mlxn bench: unknown or incomplete option '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
#undef TAKES
    }
    if (o->n_prompt < 0 || o->n_gen < 0 || o->reps < 1 || o->group < 1) {
        fprintf(stderr, "mlxn bench: counts must be positive\n");
        return 2;
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Device copy bandwidth (bytes read + written per second), the median of
 * 20 copies of 1 GiB (64 MiB on the CPU). */
static double copy_bandwidth(mlxn_device *dev)
{
    size_t bytes = mlxn_device_backend(dev) == MLXN_BACKEND_CUDA ? (size_t)1 << 30 : (size_t)64 << 20;
    mlxn_buffer *a = NULL, *b = NULL;
    mlxn_encoder *enc = NULL;
    int64_t shape[1] = {(int64_t)bytes};
    double best[20];
    int n = 0;
    if (mlxn_buffer_create_tensor(dev, MLXN_DTYPE_U8, 1, shape, &a) == MLXN_OK &&
        mlxn_buffer_create_tensor(dev, MLXN_DTYPE_U8, 1, shape, &b) == MLXN_OK &&
        mlxn_encoder_create(dev, NULL, &enc) == MLXN_OK &&
        mlxn_op_fill_random(enc, a, 1, 0, 1) == MLXN_OK) {
        mlxn_op_copy(enc, a, b);
        mlxn_encoder_commit_and_wait(enc);
        for (; n < 20; n++) {
            double t0 = now_s();
            if (mlxn_op_copy(enc, a, b) != MLXN_OK || mlxn_encoder_commit_and_wait(enc) != MLXN_OK)
                break;
            best[n] = 2.0 * (double)bytes / (now_s() - t0);
        }
    }
    mlxn_encoder_destroy(enc);
    mlxn_buffer_destroy(a);
    mlxn_buffer_destroy(b);
    if (!n)
        return 0;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && best[j - 1] > best[j]; j--) {
            double t = best[j];
            best[j] = best[j - 1];
            best[j - 1] = t;
        }
    return best[n / 2];
}

typedef struct result {
    const char *test;
    int n;
    double mean, sd, samples[64];
    int count;
} result;

static void summarise(result *r)
{
    double s = 0, s2 = 0;
    for (int i = 0; i < r->count; i++)
        s += r->samples[i];
    r->mean = s / r->count;
    for (int i = 0; i < r->count; i++)
        s2 += (r->samples[i] - r->mean) * (r->samples[i] - r->mean);
    r->sd = r->count > 1 ? sqrt(s2 / (r->count - 1)) : 0;
}

static int run_pp(mlxn_model *m, int n, int32_t token, result *r)
{
    int32_t *toks = malloc(sizeof *toks * (size_t)n);
    if (!toks)
        return -1;
    for (int i = 0; i < n; i++)
        toks[i] = (token + i * 7919) % mlxn_model_get_config(m)->n_vocab;
    mlxn_model_reset(m);
    double t0 = now_s();
    mlxn_status st = mlxn_model_eval(m, toks, n, MLXN_LOGITS_LAST, NULL);
    double dt = now_s() - t0;
    free(toks);
    if (st != MLXN_OK)
        return -1;
    r->samples[r->count++] = n / dt;
    return 0;
}

static int run_tg(mlxn_model *m, int n, int32_t token, result *r)
{
    mlxn_generate_params g = mlxn_generate_params_default();
    g.n_predict = n + 1; /* the first token comes from the prompt step */
    g.ignore_eos = 1;
    g.sample.temperature = 0;
    mlxn_generate_stats s;
    mlxn_model_reset(m);
    if (mlxn_model_generate(m, &token, 1, &g, &s) != MLXN_OK || s.n_generated < 2)
        return -1;
    r->samples[r->count++] = (s.n_generated - 1) / s.decode_seconds;
    return 0;
}

/* One more generation run with per-dispatch timing: direct launches (a
 * replayed graph cannot be timed per kernel), profile reset first. */
static int profile_tg(mlxn_model *m, mlxn_device *dev, int n, int32_t token)
{
    mlxn_model_set_decode_graph(m, 0);
    mlxn_profile_reset(dev);
    result r;
    memset(&r, 0, sizeof r);
    int rc = run_tg(m, n, token, &r);
    if (!rc) {
        printf("\nGPU time per kernel over one tg%d run with direct launches (%.2f t/s while "
               "timed):\n\n",
               n, r.samples[0]);
        mlxn_profile_dump(dev, MLXN_PROFILE_TABLE, stdout);
    }
    return rc;
}

static mlxn_status open_model(const bench_opts *o, mlxn_device *dev, mlxn_model **m, char *name,
                              size_t cap)
{
    mlxn_model_params mp = mlxn_model_params_default();
    mp.device = dev;
    mp.kv_dtype = o->kv;
    mp.decode_graph = o->graph;
    mp.x8_chain = o->x8_chain;
    mp.n_ctx = o->n_ctx ? o->n_ctx : o->n_prompt + o->n_gen + 8;
    mp.progress = mlxn_cli_progress;
    if (o->model) {
        snprintf(name, cap, "%s", o->model);
        return mlxn_model_load(o->model, &mp, m);
    }
    const char *shape = o->synthetic ? o->synthetic
                        : mlxn_device_backend(dev) == MLXN_BACKEND_CUDA ? "llama3-8b" : "small";
    mlxn_synthetic_params sp;
    mlxn_status st = mlxn_synthetic_preset(shape, &sp);
    if (st != MLXN_OK)
        return st;
    if (!strcmp(o->format, "mlx4") || !strcmp(o->format, "mlx8")) {
        sp.weight_dtype = MLXN_DTYPE_U32;
        sp.bits = o->format[3] - '0';
        sp.group_size = o->group;
    } else if (mlxn_dtype_from_name(o->format, &sp.weight_dtype)) {
        fprintf(stderr, "mlxn bench: unknown weight type '%s'\n", o->format);
        return MLXN_ERR_INVALID_ARG;
    }
    snprintf(name, cap, "synthetic %s %s%s", shape, o->format,
             sp.weight_dtype == MLXN_DTYPE_U32 ? (o->group == 64 ? " g64" : " g?") : "");
    return mlxn_model_create_synthetic(&sp, &mp, m);
}

static void print_md(const bench_opts *o, const char *name, mlxn_model *m, mlxn_device *dev,
                     result *r, int nr, double bw)
{
    double gb = (double)mlxn_model_weight_bytes(m) / 1e9;
    printf("| model | size | backend | device | test | t/s | weights GB/s | of copy BW |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < nr; i++) {
        int tg = r[i].test[0] == 't';
        printf("| %s | %.2f GB | %s | %s | %s%d | %.2f ± %.2f |", name, gb,
               mlxn_device_backend(dev) == MLXN_BACKEND_CUDA ? "cuda" : "cpu",
               mlxn_device_name(dev), r[i].test, r[i].n, r[i].mean, r[i].sd);
        if (tg && bw > 0)
            printf(" %.0f | %.1f%% |\n", gb * r[i].mean, 100.0 * gb * 1e9 * r[i].mean / bw);
        else
            printf(" | |\n");
    }
    printf("\ncopy bandwidth (read + write) measured in this run: %.0f GB/s; %d runs each%s%s\n",
           bw / 1e9, o->reps, o->graph ? "" : "; decode graph off",
           o->x8_chain ? "" : "; x8 chain off");
}

static void print_json(const char *name, mlxn_model *m, mlxn_device *dev, result *r, int nr,
                       double bw)
{
    printf("[\n");
    for (int i = 0; i < nr; i++) {
        printf("  {\"model\": \"%s\", \"weight_bytes\": %lld, \"backend\": \"%s\", "
               "\"device\": \"%s\", \"test\": \"%s%d\", \"avg_ts\": %.4f, \"stddev_ts\": %.4f, "
               "\"copy_bandwidth_gbs\": %.2f, \"samples_ts\": [",
               name, (long long)mlxn_model_weight_bytes(m),
               mlxn_device_backend(dev) == MLXN_BACKEND_CUDA ? "cuda" : "cpu",
               mlxn_device_name(dev), r[i].test, r[i].n, r[i].mean, r[i].sd, bw / 1e9);
        for (int j = 0; j < r[i].count; j++)
            printf("%s%.4f", j ? ", " : "", r[i].samples[j]);
        printf("]}%s\n", i + 1 < nr ? "," : "");
    }
    printf("]\n");
}

int mlxn_cmd_bench(int argc, char **argv)
{
    bench_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (o.reps > 64)
        o.reps = 64;
    mlxn_device *dev =
        mlxn_cli_device(o.backend, o.profile ? MLXN_PROFILE_DISPATCHES : 0, 0, o.timeline != NULL);
    if (!dev)
        return 1;
    mlxn_model *m = NULL;
    char name[256];
    mlxn_status st = open_model(&o, dev, &m, name, sizeof name);
    if (st != MLXN_OK) {
        if (st != MLXN_ERR_INVALID_ARG)
            fprintf(stderr, "mlxn bench: %s\n", mlxn_last_error(NULL));
        mlxn_device_destroy(dev);
        return 1;
    }
    double bw = copy_bandwidth(dev);
    int32_t token = mlxn_model_get_config(m)->bos_id >= 0 ? mlxn_model_get_config(m)->bos_id : 1;
    result r[2];
    int nr = 0;
    memset(r, 0, sizeof r);
    if (o.n_prompt) {
        r[nr].test = "pp";
        r[nr].n = o.n_prompt;
        result warm = {0};
        rc = run_pp(m, o.n_prompt < 16 ? o.n_prompt : 16, token, &warm);
        for (int i = 0; !rc && i < o.reps; i++)
            rc = run_pp(m, o.n_prompt, token, &r[nr]);
        nr++;
    }
    if (!rc && o.n_gen) {
        r[nr].test = "tg";
        r[nr].n = o.n_gen;
        result warm = {0};
        rc = run_tg(m, 4, token, &warm);
        for (int i = 0; !rc && i < o.reps; i++)
            rc = run_tg(m, o.n_gen, token, &r[nr]);
        nr++;
    }
    if (rc) {
        fprintf(stderr, "mlxn bench: %s\n", mlxn_last_error(dev));
    } else {
        for (int i = 0; i < nr; i++)
            summarise(&r[i]);
        if (o.json)
            print_json(name, m, dev, r, nr, bw);
        else
            print_md(&o, name, m, dev, r, nr, bw);
        if (o.profile && o.n_gen)
            rc = profile_tg(m, dev, o.n_gen, token);
    }
    uint64_t taken = 0;
    if (!rc && o.timeline) {
        if (mlxn_device_timeline_write(dev, o.timeline, &taken) != MLXN_OK) {
            fprintf(stderr, "mlxn bench: %s\n", mlxn_last_error(dev));
            rc = 1;
        } else {
            fprintf(stderr, "mlxn bench: timeline (%llu block records taken) in %s\n",
                    (unsigned long long)taken, o.timeline);
        }
    }
    mlxn_model_destroy(m);
    mlxn_device_destroy(dev);
    return rc ? 1 : 0;
}
