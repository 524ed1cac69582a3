/*
 * cmd_generate.c: `mlxn generate`, text generation with sampling on the
 * device, printing the text as tokens arrive.
 */
#include "tools/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mlxn generate -m MODEL [-p PROMPT] [options]\n\n"
            "Generate text. With no prompt, generation starts from BOS alone.\n\n"
            "  -m, --model PATH        GGUF file, llama2.c .bin or safetensors directory\n"
            "  -p, --prompt TEXT       prompt text (default: empty)\n"
            "  -n, --n-predict N       tokens to generate (default 128)\n"
            "  --temp T                temperature (default 0.8; 0 = greedy)\n"
            "  --top-k K               keep the K most likely tokens (default 40; 0 = off)\n"
            "  --top-p P               nucleus sampling (default 0.95; 1 = off)\n"
            "  --min-p P               drop tokens below P x the top probability (default 0.05)\n"
            "  --repeat-penalty R      penalise recent tokens (default 1 = off)\n"
            "  --repeat-last-n N       window of recent tokens (default 64)\n"
            "  --seed S                sampling seed (default 0)\n"
            "  --backend B             cpu, cuda or auto (default)\n"
            "  --n-ctx N               context length (default: model's, at most 4096)\n"
            "  --no-graph              encode every decode step instead of replaying it\n"
            "  --ignore-eos            keep going past the end-of-sequence token\n"
            "  --ids                   print token ids instead of text\n"
            "  --stats                 print speed figures to stderr at the end\n"
            "  -h, --help\n");
}

typedef struct gen_state {
    const mlxn_tokenizer *tok;
    int32_t *ids; /* prompt, then generated */
    int n, cap;
    size_t shown; /* bytes of the decoded text already printed */
    int print_ids;
    int failed;
} gen_state;

/* Print what the newest token added to the decoded text (decoding the
 * whole sequence keeps the tokenizer's spacing rules exact). */
static int on_token(int32_t token, void *arg)
{
    gen_state *g = arg;
    if (g->n == g->cap) {
        int32_t *p = realloc(g->ids, sizeof *p * (size_t)(g->cap *= 2));
        if (!p)
            return g->failed = 1;
        g->ids = p;
    }
    g->ids[g->n++] = token;
    if (g->print_ids || !g->tok) {
        printf("%s%d", g->n > 1 ? " " : "", token);
    } else {
        mlxn_text text = {0};
        if (mlxn_tokenizer_decode(g->tok, g->ids, g->n, 0, &text) != MLXN_OK)
            return g->failed = 1;
        if (text.len > g->shown)
            fwrite(text.data + g->shown, 1, text.len - g->shown, stdout);
        g->shown = text.len;
        mlxn_text_free(&text);
    }
    fflush(stdout);
    return 0;
}

static int opt_float(const char *v, float *out)
{
    char *end;
    *out = strtof(v, &end);
    return *end != 0;
}

int mlxn_cmd_generate(int argc, char **argv)
{
    const char *model = NULL, *prompt = "";
    mlxn_generate_params gp = mlxn_generate_params_default();
    mlxn_backend backend = MLXN_BACKEND_AUTO;
    int n_ctx = 0, graph = 1, stats = 0, print_ids = 0, bad = 0;
    for (int i = 1; i < argc && !bad; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = v != NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && takes) {
            model = argv[++i];
        } else if ((!strcmp(a, "-p") || !strcmp(a, "--prompt")) && takes) {
            prompt = argv[++i];
        } else if ((!strcmp(a, "-n") || !strcmp(a, "--n-predict")) && takes) {
            gp.n_predict = atoi(argv[++i]);
        } else if (!strcmp(a, "--temp") && takes) {
            bad = opt_float(argv[++i], &gp.sample.temperature);
        } else if (!strcmp(a, "--top-k") && takes) {
            gp.sample.top_k = atoi(argv[++i]);
        } else if (!strcmp(a, "--top-p") && takes) {
            bad = opt_float(argv[++i], &gp.sample.top_p);
        } else if (!strcmp(a, "--min-p") && takes) {
            bad = opt_float(argv[++i], &gp.sample.min_p);
        } else if (!strcmp(a, "--repeat-penalty") && takes) {
            bad = opt_float(argv[++i], &gp.sample.repeat_penalty);
        } else if (!strcmp(a, "--repeat-last-n") && takes) {
            gp.sample.repeat_last_n = atoi(argv[++i]);
        } else if (!strcmp(a, "--seed") && takes) {
            gp.sample.seed = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(a, "--backend") && takes) {
            bad = mlxn_cli_backend(argv[++i], &backend);
        } else if (!strcmp(a, "--n-ctx") && takes) {
            n_ctx = atoi(argv[++i]);
        } else if (!strcmp(a, "--no-graph")) {
            graph = 0;
        } else if (!strcmp(a, "--ignore-eos")) {
            gp.ignore_eos = 1;
        } else if (!strcmp(a, "--ids")) {
            print_ids = 1;
        } else if (!strcmp(a, "--stats")) {
            stats = 1;
        } else {
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "mlxn generate: bad or incomplete option '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!model || gp.n_predict < 0 || n_ctx < 0) {
        fprintf(stderr, "mlxn generate: need -m MODEL (and non-negative counts)\n\n");
        usage(stderr);
        return 2;
    }
    mlxn_device *dev = mlxn_cli_device(backend, 0, 0, 0);
    if (!dev)
        return 1;
    mlxn_model_params mp = mlxn_model_params_default();
    mp.device = dev;
    mp.n_ctx = n_ctx;
    mp.decode_graph = graph;
    mp.progress = mlxn_cli_progress;
    mlxn_model *m = NULL;
    gen_state g = {0};
    mlxn_tokens toks = {0};
    int rc = 1;
    if (mlxn_model_load(model, &mp, &m) != MLXN_OK) {
        fprintf(stderr, "mlxn generate: %s\n", mlxn_last_error(NULL));
        goto done;
    }
    g.tok = mlxn_model_tokenizer(m);
    g.print_ids = print_ids;
    int32_t bos = mlxn_model_get_config(m)->bos_id;
    if (!g.tok && *prompt) {
        fprintf(stderr, "mlxn generate: this model has no tokenizer; cannot encode a prompt\n");
        goto done;
    }
    if (g.tok && mlxn_tokenizer_encode(g.tok, prompt, strlen(prompt),
                                       MLXN_ENCODE_ADD_SPECIAL, &toks) != MLXN_OK) {
        fprintf(stderr, "mlxn generate: %s\n", mlxn_last_error(NULL));
        goto done;
    }
    if (toks.n == 0) {
        if (bos < 0) {
            fprintf(stderr, "mlxn generate: empty prompt and the model has no BOS token\n");
            goto done;
        }
        int32_t b = bos;
        toks.ids = malloc(sizeof b);
        if (!toks.ids)
            goto done;
        toks.ids[0] = b;
        toks.n = toks.cap = 1;
    }
    g.cap = (int)toks.n + gp.n_predict + 1;
    g.ids = malloc(sizeof *g.ids * (size_t)g.cap);
    if (!g.ids)
        goto done;
    memcpy(g.ids, toks.ids, sizeof *g.ids * (size_t)toks.n);
    g.n = (int)toks.n;
    if (!print_ids && g.tok) {
        /* Show the prompt as the tokenizer gives it back. */
        mlxn_text text = {0};
        if (mlxn_tokenizer_decode(g.tok, g.ids, g.n, 0, &text) == MLXN_OK) {
            fwrite(text.data, 1, text.len, stdout);
            g.shown = text.len;
        }
        mlxn_text_free(&text);
    }
    gp.on_token = on_token;
    gp.arg = &g;
    mlxn_generate_stats s;
    mlxn_status st = mlxn_model_generate(m, toks.ids, (int)toks.n, &gp, &s);
    printf("\n");
    if (st != MLXN_OK || g.failed) {
        fprintf(stderr, "mlxn generate: %s\n", g.failed ? "out of memory" : mlxn_last_error(dev));
        goto done;
    }
    if (stats)
        fprintf(stderr, "prompt: %d tokens, %.2f tokens/s; generation: %d tokens, %.2f tokens/s\n",
                s.n_prompt, s.n_prompt / (s.prompt_seconds > 0 ? s.prompt_seconds : 1e-9),
                s.n_generated,
                s.n_generated > 1 ? (s.n_generated - 1) / s.decode_seconds : 0.0);
    rc = 0;
done:
    free(g.ids);
    mlxn_tokens_free(&toks);
    mlxn_model_destroy(m);
    mlxn_device_destroy(dev);
    return rc;
}
