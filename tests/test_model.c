/*
 * test_model.c: end-to-end model runs. The correctness oracle: greedy
 * decoding of stories260K from BOS reproduces the sample published with
 * the model (../shared/models/README.md); the GGUF and llama2.c files
 * give the same tokens; on CUDA the tokens equal the CPU backend's.
 * Also: prefill in one chunk equals token-by-token evaluation, graph
 * replay equals direct decode, synthetic models run, bad input fails
 * cleanly.
 */
#define MLXN_TEST_MAIN
#include "test.h"

#include <unistd.h>

#define GGUF "../shared/models/stories260K.gguf"
#define BIN "../shared/models/stories260K.bin"
#define STEPS 256

/* The published sample's opening (README), whitespace as published. */
static const char *OPENING =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
    "park. One day, she saw a big, red ball. She wanted to play with it, but it was too high. "
    "Lily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do.";

static int have(const char *path) { return access(path, R_OK) == 0; }

typedef struct collected {
    int32_t ids[STEPS + 8];
    int n;
} collected;

static int collect(int32_t token, void *arg)
{
    collected *c = arg;
    if (c->n < STEPS + 8)
        c->ids[c->n++] = token;
    return 0;
}

static mlxn_model *load(mlxn_device *dev, const char *path, int graph)
{
    mlxn_model_params p = mlxn_model_params_default();
    p.device = dev;
    p.decode_graph = graph;
    mlxn_model *m = NULL;
    mlxn_status st = mlxn_model_load(path, &p, &m);
    if (st != MLXN_OK)
        printf("    load %s: %s: %s\n", path, mlxn_status_name(st), mlxn_last_error(NULL));
    return m;
}

/* Greedy tokens from BOS (the first token after BOS is ids[0]). */
static int greedy(mlxn_model *m, int steps, collected *out)
{
    mlxn_generate_params g = mlxn_generate_params_default();
    g.n_predict = steps;
    g.sample.temperature = 0;
    g.ignore_eos = 1;
    g.on_token = collect;
    g.arg = out;
    int32_t bos = mlxn_model_get_config(m)->bos_id;
    out->n = 0;
    mlxn_model_reset(m);
    return mlxn_model_generate(m, &bos, 1, &g, NULL) == MLXN_OK ? 0 : -1;
}

/* Collapse whitespace runs, so the README's line wrapping compares. */
static void squeeze(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    int space = 0;
    for (; *in && n + 1 < cap; in++) {
        if (*in == ' ' || *in == '\n' || *in == '\t') {
            space = 1;
            continue;
        }
        if (space && n)
            out[n++] = ' ';
        space = 0;
        out[n++] = *in;
    }
    out[n] = 0;
}

TEST(stories260k_gguf_reproduces_the_published_sample)
{
    mlxn_device *dev = test_device();
    if (!have(GGUF))
        SKIP("%s not found", GGUF);
    mlxn_model *m = load(dev, GGUF, 1);
    REQUIRE_OK(m ? MLXN_OK : MLXN_ERR_IO);
    collected c;
    REQUIRE_OK(greedy(m, STEPS, &c) ? MLXN_ERR_GPU : MLXN_OK);
    CHECK(c.n == STEPS);
    int32_t ids[STEPS + 1];
    ids[0] = mlxn_model_get_config(m)->bos_id;
    memcpy(ids + 1, c.ids, sizeof(int32_t) * (size_t)c.n);
    mlxn_text text = {0};
    CHECK_OK(mlxn_tokenizer_decode(mlxn_model_tokenizer(m), ids, c.n + 1, 0, &text));
    printf("    sample: %.300s...\n", text.data ? text.data : "");
    char got[8192], want[1024];
    squeeze(text.data ? text.data : "", got, sizeof got);
    squeeze(OPENING, want, sizeof want);
    CHECK_MSG(!strncmp(got, want, strlen(want)), "the text does not start with the published opening");
    CHECK(text.data && text.data[0] == 'O'); /* the leading space after BOS is dropped */
    mlxn_text_free(&text);
    /* Direct decode (no recorded graph) gives the same tokens. */
    mlxn_model *d = load(dev, GGUF, 0);
    collected c2;
    CHECK(d && !greedy(d, STEPS, &c2) && c2.n == c.n &&
          !memcmp(c.ids, c2.ids, sizeof(int32_t) * (size_t)c.n));
    mlxn_model_destroy(d);
    /* The llama2.c checkpoint holds the same weights: same tokens. */
    if (have(BIN)) {
        mlxn_model *b = load(dev, BIN, 1);
        collected c3;
        CHECK(b && !greedy(b, STEPS, &c3) && c3.n == c.n &&
              !memcmp(c.ids, c3.ids, sizeof(int32_t) * (size_t)c.n));
        CHECK(b && mlxn_model_tokenizer(b) != NULL);
        mlxn_model_destroy(b);
    }
    /* On a GPU, the CPU backend must produce the same tokens. */
    if (mlxn_device_backend(dev) != MLXN_BACKEND_CPU) {
        mlxn_model *cpu = load(test_cpu(), GGUF, 1);
        collected c4;
        CHECK(cpu && !greedy(cpu, STEPS, &c4) && c4.n == c.n);
        int first_diff = -1;
        for (int i = 0; cpu && i < c.n && first_diff < 0; i++)
            if (c.ids[i] != c4.ids[i])
                first_diff = i;
        CHECK_MSG(first_diff < 0, "CPU and device tokens differ from step %d", first_diff);
        mlxn_model_destroy(cpu);
    }
    mlxn_model_destroy(m);
}

/* Logits of a prompt in one chunk equal those of feeding it token by
 * token (prefill path vs decode path), and the model's eval API checks. */
TEST(prefill_equals_token_by_token)
{
    mlxn_device *dev = test_device();
    if (!have(GGUF))
        SKIP("%s not found", GGUF);
    mlxn_model *m = load(dev, GGUF, 1);
    REQUIRE_OK(m ? MLXN_OK : MLXN_ERR_IO);
    int V = mlxn_model_get_config(m)->n_vocab;
    int32_t toks[37];
    for (int i = 0; i < 37; i++)
        toks[i] = 1 + (i * 131) % (V - 1);
    float *all = malloc(sizeof(float) * (size_t)V * 37), *one = malloc(sizeof(float) * (size_t)V);
    mlxn_model_reset(m);
    REQUIRE_OK(mlxn_model_eval(m, toks, 37, MLXN_LOGITS_ALL, all));
    CHECK(mlxn_model_pos(m) == 37);
    mlxn_model_reset(m);
    double worst = 0;
    for (int i = 0; i < 37; i++) {
        CHECK_OK(mlxn_model_eval(m, &toks[i], 1, MLXN_LOGITS_LAST, one));
        for (int j = 0; j < V; j++) {
            double d = fabs((double)one[j] - all[(size_t)i * V + j]);
            worst = d > worst ? d : worst;
        }
    }
    CHECK_MSG(worst < 2e-3, "prefill and decode logits differ by %g", worst);
    int32_t bad = V;
    CHECK(mlxn_model_eval(m, &bad, 1, MLXN_LOGITS_LAST, one) == MLXN_ERR_INVALID_ARG);
    CHECK(strstr(mlxn_last_error(dev), "vocabulary") != NULL);
    free(all);
    free(one);
    mlxn_model_destroy(m);
}

/* Stops after `limit` tokens (the callback returns 1 on the last). */
typedef struct stopper {
    collected c;
    int limit;
} stopper;

static int collect_until(int32_t token, void *arg)
{
    stopper *s = arg;
    collect(token, &s->c);
    return s->c.n >= s->limit;
}

/* Decode steps run one ahead of the host (llama_generate.c): stopping
 * from the callback must leave the position after the last token whose
 * step ran, so that generating on from the stopping token continues the
 * greedy sequence exactly; with and without the recorded graph. */
TEST(generate_stops_and_continues_exactly)
{
    mlxn_device *dev = test_device();
    if (!have(GGUF))
        SKIP("%s not found", GGUF);
    for (int graph = 0; graph < 2; graph++) {
        mlxn_model *m = load(dev, GGUF, graph);
        REQUIRE_OK(m ? MLXN_OK : MLXN_ERR_IO);
        collected ref;
        REQUIRE_OK(greedy(m, 40, &ref) ? MLXN_ERR_GPU : MLXN_OK);
        CHECK(ref.n == 40 && mlxn_model_pos(m) == 40); /* BOS + 39 steps */
        const int limits[] = {1, 2, 3, 10};
        for (int li = 0; li < 4; li++) {
            int k = limits[li];
            mlxn_generate_params g = mlxn_generate_params_default();
            g.n_predict = 40;
            g.sample.temperature = 0;
            g.ignore_eos = 1;
            stopper s = {.limit = k};
            g.on_token = collect_until;
            g.arg = &s;
            int32_t bos = mlxn_model_get_config(m)->bos_id;
            mlxn_model_reset(m);
            CHECK_OK(mlxn_model_generate(m, &bos, 1, &g, NULL));
            CHECK(s.c.n == k && !memcmp(s.c.ids, ref.ids, sizeof(int32_t) * (size_t)k));
            CHECK_MSG(mlxn_model_pos(m) == k, "graph %d, stop after %d: position %d", graph, k,
                      mlxn_model_pos(m));
            /* go on from the stopping token: the rest of the sequence */
            collected more = {.n = 0};
            g.on_token = collect;
            g.arg = &more;
            g.n_predict = 40 - k;
            CHECK_OK(mlxn_model_generate(m, &ref.ids[k - 1], 1, &g, NULL));
            CHECK(more.n == 40 - k &&
                  !memcmp(more.ids, ref.ids + k, sizeof(int32_t) * (size_t)(40 - k)));
        }
        mlxn_model_destroy(m);
    }
}

TEST(synthetic_model_runs_and_is_deterministic)
{
    mlxn_device *dev = test_device();
    mlxn_synthetic_params sp;
    REQUIRE_OK(mlxn_synthetic_preset("small", &sp));
    sp.config.n_layer = 2;
    sp.config.n_vocab = 1024;
    mlxn_model_params p = mlxn_model_params_default();
    p.device = dev;
    p.n_ctx = 64;
    const mlxn_dtype types[] = {MLXN_DTYPE_Q4_0, MLXN_DTYPE_F16, MLXN_DTYPE_U32};
    for (unsigned t = 0; t < sizeof types / sizeof types[0]; t++) {
        sp.weight_dtype = types[t];
        collected a, b;
        mlxn_model *m = NULL;
        REQUIRE_OK(mlxn_model_create_synthetic(&sp, &p, &m));
        CHECK(mlxn_model_weight_bytes(m) > 0);
        CHECK(!greedy(m, 12, &a) && a.n == 12);
        CHECK(!greedy(m, 12, &b) && b.n == 12 && !memcmp(a.ids, b.ids, sizeof(int32_t) * 12));
        mlxn_model_destroy(m);
    }
    CHECK(mlxn_synthetic_preset("no-such-model", &sp) == MLXN_ERR_NOT_FOUND);
}

/* The FFN's hidden row rounded once by the SwiGLU product (x8_chain, the
 * default) gives the logits of every decode step bit for bit as when
 * every block of the down product rounds it (x8_chain 0): Q4_0 and MLX
 * 4-bit weights, one token at a time (direct encoding), then greedy
 * generation (the decode graph replayed) with the same tokens. */
TEST(x8_chain_changes_no_logit)
{
    mlxn_device *dev = test_device();
    mlxn_synthetic_params sp;
    REQUIRE_OK(mlxn_synthetic_preset("small", &sp));
    sp.config.n_layer = 2;
    sp.config.n_vocab = 1024;
    const mlxn_dtype types[] = {MLXN_DTYPE_Q4_0, MLXN_DTYPE_U32};
    for (unsigned t = 0; t < sizeof types / sizeof types[0]; t++) {
        sp.weight_dtype = types[t];
        mlxn_model *m[2] = {NULL, NULL};
        float *lg[2] = {NULL, NULL};
        collected g[2];
        const int n_vocab = sp.config.n_vocab, steps = 6;
        for (int c = 0; c < 2; c++) {
            mlxn_model_params p = mlxn_model_params_default();
            p.device = dev;
            p.n_ctx = 64;
            p.x8_chain = c == 0;
            REQUIRE_OK(mlxn_model_create_synthetic(&sp, &p, &m[c]));
            lg[c] = malloc(sizeof(float) * (size_t)(n_vocab * steps));
            REQUIRE_OK(lg[c] ? MLXN_OK : MLXN_ERR_OUT_OF_MEMORY);
            int32_t tok = 1;
            for (int i = 0; i < steps; i++) {
                REQUIRE_OK(mlxn_model_eval(m[c], &tok, 1, MLXN_LOGITS_LAST,
                                           lg[c] + (size_t)i * n_vocab));
                tok = (tok * 37 + 11) % n_vocab;
            }
            CHECK(!greedy(m[c], 10, &g[c]) && g[c].n == 10);
        }
        CHECK_MSG(!memcmp(lg[0], lg[1], sizeof(float) * (size_t)(n_vocab * steps)),
                  "weights %s: the logits differ with the x8 chain",
                  mlxn_dtype_name(types[t]));
        CHECK(!memcmp(g[0].ids, g[1].ids, sizeof(int32_t) * 10));
        for (int c = 0; c < 2; c++) {
            free(lg[c]);
            mlxn_model_destroy(m[c]);
        }
    }
}

/* The llama2-7b shape (multi-head attention, a feed-forward width of
 * 11008) with one layer of GGUF Q6_K weights: the down projection's rows
 * (11008 / 256 blocks of 210 bytes) start off 16-byte boundaries. */
TEST(synthetic_llama2_shape_runs)
{
    mlxn_device *dev = test_device();
    mlxn_synthetic_params sp;
    REQUIRE_OK(mlxn_synthetic_preset("llama2-7b", &sp));
    CHECK(sp.config.n_ff == 11008 && sp.config.n_head_kv == sp.config.n_head &&
          sp.config.n_embd == 4096 && sp.config.n_vocab == 32000);
    sp.config.n_layer = 1;
    sp.config.n_vocab = 512;
    sp.weight_dtype = MLXN_DTYPE_Q6_K;
    mlxn_model_params p = mlxn_model_params_default();
    p.device = dev;
    p.n_ctx = 16;
    mlxn_model *m = NULL;
    REQUIRE_OK(mlxn_model_create_synthetic(&sp, &p, &m));
    collected a, b;
    CHECK(!greedy(m, 4, &a) && a.n == 4);
    CHECK(!greedy(m, 4, &b) && b.n == 4 && !memcmp(a.ids, b.ids, sizeof(int32_t) * 4));
    mlxn_model_destroy(m);
}

TEST(bad_model_files_fail_cleanly)
{
    mlxn_device *dev = test_device();
    mlxn_model_params p = mlxn_model_params_default();
    p.device = dev;
    mlxn_model *m = (mlxn_model *)1;
    CHECK(mlxn_model_load("/nonexistent/model.gguf", &p, &m) == MLXN_ERR_IO);
    CHECK(m == NULL);
    char path[] = "/tmp/mlxn_test_modelXXXXXX";
    int fd = mkstemp(path);
    REQUIRE_OK(fd >= 0 ? MLXN_OK : MLXN_ERR_IO);
    CHECK(write(fd, "GGUF\3\0\0\0", 8) == 8);
    close(fd);
    m = (mlxn_model *)1;
    mlxn_status st = mlxn_model_load(path, &p, &m);
    CHECK(st == MLXN_ERR_FORMAT);
    CHECK(m == NULL);
    CHECK(strlen(mlxn_last_error(NULL)) > 0);
    unlink(path);
    p.device = NULL;
    if (have(GGUF))
        CHECK(mlxn_model_load(GGUF, &p, &m) == MLXN_ERR_INVALID_ARG);
}
