/*
 * bench_graph.c: the graph path against direct launches.
 *
 * 1. Host cost per token of a decode-shaped graph of 401 dispatches (an
 *    input add that reads a per-token scalar from a buffer, then 100 layers
 *    of rms_norm -> mul (row weight) -> scale -> residual add on n_embd
 *    4096 f32): direct encoding through the op API vs one cached executable
 *    replayed with update_buffer + launch (and the same through a graph
 *    session). Host microseconds to encode and commit, and wall
 *    microseconds to completion, medians over many tokens.
 * 2. Device time of a graph with independent branches (4 chains of 100
 *    small kernels recorded round-robin with a barrier after each round):
 *    chain edges, recorded-barrier edges and precise edges, each with and
 *    without programmatic (PDL) edges, against direct launches; the
 *    executable is replayed many times between timing marks.
 *
 *   bench_graph [--backend cpu|cuda|auto] [--tokens N]
 */
#include "bench/bench_util.h"
#include "mlxn.h"

#include <stdio.h>
#include <string.h>

#define N_EMBD 4096
#define LAYERS 100
#define BRANCHES 4
#define BRANCH_LEN 100
#define BRANCH_ELEMS 16384
#define REPLAYS 20

#define TRY(call)                                                              \
    do {                                                                       \
        mlxn_status s_ = (call);                                               \
        if (s_ != MLXN_OK) {                                                   \
            printf("%s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #call,         \
                   mlxn_status_name(s_), mlxn_last_error(NULL));               \
            return 1;                                                          \
        }                                                                      \
    } while (0)

static mlxn_buffer *vec(mlxn_device *dev, int64_t n, float scale)
{
    mlxn_buffer *b = NULL;
    if (mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 1, &n, &b) != MLXN_OK)
        return NULL;
    float *v = malloc((size_t)n * sizeof *v);
    uint64_t s = 0x9e3779b97f4a7c15ull + (uint64_t)n;
    for (int64_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = scale * ((float)(s >> 40) / 16777216.0f - 0.5f);
    }
    mlxn_buffer_write(b, 0, v, (size_t)n * sizeof *v);
    free(v);
    return b;
}

/* ---- 1. decode-shaped graph: host cost per token ------------------------------------ */
typedef struct decode {
    mlxn_buffer *emb, *pos, *x, *t, *t2, *h, *w[LAYERS];
} decode;

static mlxn_status decode_step(mlxn_encoder *enc, decode *d)
{
    mlxn_status st = mlxn_op_add(enc, d->emb, d->pos, d->x);
    for (int l = 0; st == MLXN_OK && l < LAYERS; l++) {
        if ((st = mlxn_encoder_barrier(enc)) != MLXN_OK ||
            (st = mlxn_op_rms_norm(enc, d->x, NULL, 1e-5f, d->t)) != MLXN_OK ||
            (st = mlxn_encoder_barrier(enc)) != MLXN_OK ||
            (st = mlxn_op_mul(enc, d->t, d->w[l], d->t2)) != MLXN_OK ||
            (st = mlxn_encoder_barrier(enc)) != MLXN_OK ||
            (st = mlxn_op_scale(enc, d->t2, 0.5f, d->h)) != MLXN_OK ||
            (st = mlxn_encoder_barrier(enc)) != MLXN_OK)
            break;
        st = mlxn_op_add(enc, d->x, d->h, d->x);
    }
    return st;
}

/* One path of part 1: what it needs, and one token of it (encode and
 * commit; *t0 may move past untimed setup). */
typedef struct token_path {
    mlxn_encoder *enc;
    mlxn_graph_executor *ex; /* session paths */
    decode *d;
    mlxn_graph_exec *x;
    mlxn_status (*token)(struct token_path *p, float pos, double *t0);
} token_path;

static mlxn_status direct_token(token_path *p, float pos, double *t0)
{
    mlxn_status st = mlxn_buffer_write(p->d->pos, 0, &pos, 4);
    *t0 = bench_now_us();
    if (st == MLXN_OK)
        st = decode_step(p->enc, p->d);
    return st == MLXN_OK ? mlxn_encoder_commit(p->enc) : st;
}

static mlxn_status exec_token(token_path *p, float pos, double *t0)
{
    (void)t0;
    mlxn_status st = mlxn_encoder_update_buffer(p->enc, p->d->pos, 0, &pos, 4);
    if (st == MLXN_OK)
        st = mlxn_encoder_launch_graph(p->enc, p->x);
    return st == MLXN_OK ? mlxn_encoder_commit(p->enc) : st;
}

static mlxn_status session_token(token_path *p, float pos, double *t0)
{
    (void)t0;
    mlxn_graph_session *s = NULL;
    mlxn_status st = mlxn_graph_executor_begin(p->ex, &s);
    if (st != MLXN_OK)
        return st;
    st = mlxn_encoder_update_buffer(mlxn_graph_session_encoder(s), p->d->pos, 0, &pos, 4);
    if (st == MLXN_OK)
        st = mlxn_graph_session_launch(s, p->x);
    mlxn_status cs = mlxn_graph_session_commit(s);
    return st == MLXN_OK ? cs : st;
}

/* Median host and wall microseconds per token of a path, printed as a
 * table row. */
static int time_tokens(token_path *p, int tokens, const char *label)
{
    double *host = malloc((size_t)tokens * sizeof *host);
    double *wall = malloc((size_t)tokens * sizeof *wall);
    for (int k = -10; k < tokens; k++) {
        double t0 = bench_now_us();
        TRY(p->token(p, (float)(k & 1023), &t0));
        double t1 = bench_now_us();
        TRY(p->ex ? mlxn_graph_executor_wait(p->ex) : mlxn_encoder_wait(p->enc));
        double t2 = bench_now_us();
        if (k >= 0) {
            host[k] = t1 - t0;
            wall[k] = t2 - t0;
        }
    }
    printf("| %s | %.1f | %.1f |\n", label, bench_median(host, tokens),
           bench_median(wall, tokens));
    free(host);
    free(wall);
    return 0;
}

static int bench_decode(mlxn_device *dev, int tokens)
{
    decode d;
    d.emb = vec(dev, N_EMBD, 2.0f);
    d.pos = vec(dev, 1, 0.0f);
    d.x = vec(dev, N_EMBD, 0.0f);
    d.t = vec(dev, N_EMBD, 0.0f);
    d.t2 = vec(dev, N_EMBD, 0.0f);
    d.h = vec(dev, N_EMBD, 0.0f);
    for (int l = 0; l < LAYERS; l++)
        d.w[l] = vec(dev, N_EMBD, 2.0f);
    mlxn_encoder *enc = NULL;
    TRY(mlxn_encoder_create(dev, NULL, &enc));
    TRY(mlxn_encoder_start_capture(enc));
    TRY(decode_step(enc, &d));
    mlxn_graph *g = NULL;
    TRY(mlxn_encoder_take_capture(enc, &g));
    mlxn_graph_exec *x = NULL;
    TRY(mlxn_graph_exec_create(g, NULL, &x));
    printf("\n1. decode-shaped graph: %zu dispatches, %zu barriers, n_embd %d f32; median of %d "
           "tokens\n\n",
           mlxn_graph_dispatch_count(g), mlxn_graph_barrier_count(g), N_EMBD, tokens);
    printf("| path | host us/token (encode + commit) | wall us/token (to completion) |\n");
    printf("|---|---|---|\n");
    token_path p = {enc, NULL, &d, x, direct_token};
    if (time_tokens(&p, tokens, "direct launches (op API)"))
        return 1;
    p.token = exec_token;
    if (time_tokens(&p, tokens, "cached executable: update_buffer + launch"))
        return 1;
    /* The same replay through the executor: a direct session per token. */
    for (int timing = 0; timing < 2; timing++) {
        mlxn_graph_executor_params ep = mlxn_graph_executor_params_default();
        ep.timing = timing;
        mlxn_graph_executor *ex = NULL;
        TRY(mlxn_graph_executor_create(dev, &ep, &ex));
        token_path ps = {NULL, ex, &d, x, session_token};
        if (time_tokens(&ps, tokens,
                        timing ? "graph session per token (timing marks on)"
                               : "graph session per token (timing marks off)"))
            return 1;
        mlxn_graph_executor_destroy(ex);
    }
    /* Fewer, fused kernels: rms_norm -> mul becomes rms_norm_mul_f32. */
    int fused = 0;
    TRY(mlxn_graph_fuse(g, &fused));
    TRY(mlxn_graph_exec_create(g, NULL, &p.x));
    char label[96];
    snprintf(label, sizeof label, "cached executable after fusion (%d fused, %zu dispatches)",
             fused, mlxn_graph_dispatch_count(g));
    if (time_tokens(&p, tokens, label))
        return 1;
    mlxn_graph_exec_destroy(p.x);
    mlxn_graph_exec_destroy(x);
    mlxn_graph_destroy(g);
    mlxn_encoder_destroy(enc);
    mlxn_buffer *all[] = {d.emb, d.pos, d.x, d.t, d.t2, d.h};
    for (int i = 0; i < 6; i++)
        mlxn_buffer_destroy(all[i]);
    for (int l = 0; l < LAYERS; l++)
        mlxn_buffer_destroy(d.w[l]);
    return 0;
}

/* ---- 2. independent branches: device time per replay -------------------------------- */
static mlxn_status branches(mlxn_graph_session *s, mlxn_buffer **a, mlxn_buffer **b)
{
    mlxn_encoder *enc = mlxn_graph_session_encoder(s);
    mlxn_status st = MLXN_OK;
    for (int i = 0; st == MLXN_OK && i < BRANCH_LEN; i++) {
        for (int k = 0; st == MLXN_OK && k < BRANCHES; k++) {
            mlxn_buffer *in = (i & 1) ? b[k] : a[k], *out = (i & 1) ? a[k] : b[k];
            st = (i % 3 == 2) ? mlxn_op_add(enc, in, in, out) : mlxn_op_scale(enc, in, 0.75f, out);
        }
        if (st == MLXN_OK)
            st = mlxn_graph_session_barrier(s);
    }
    return st;
}

static int bench_branches(mlxn_device *dev, int samples)
{
    mlxn_buffer *a[BRANCHES], *b[BRANCHES];
    for (int k = 0; k < BRANCHES; k++) {
        a[k] = vec(dev, BRANCH_ELEMS, 1.0f);
        b[k] = vec(dev, BRANCH_ELEMS, 1.0f);
    }
    mlxn_graph_executor *ex = NULL;
    TRY(mlxn_graph_executor_create(dev, NULL, &ex));
    mlxn_graph_session *s = NULL;
    TRY(mlxn_graph_executor_begin_recorded(ex, &s));
    TRY(branches(s, a, b));
    mlxn_graph *g = NULL;
    TRY(mlxn_graph_session_take_graph(s, &g));
    double *gpu = malloc((size_t)samples * sizeof *gpu);
    double *host = malloc((size_t)samples * sizeof *host);
    size_t nd = mlxn_graph_dispatch_count(g);
    printf("\n2. independent branches: %d chains x %d kernels (%d f32 each), %zu dispatches; "
           "device us per replay, median of %d samples of %d replays\n\n",
           BRANCHES, BRANCH_LEN, BRANCH_ELEMS, nd, samples, REPLAYS);
    printf("| edges | programmatic | edges in graph | device us/replay | us/node | host us/launch "
           "|\n");
    printf("|---|---|---|---|---|---|\n");
    /* Reference: the same dispatches launched directly (with PDL). */
    for (int k = -3; k < samples; k++) {
        double us = 0;
        TRY(mlxn_graph_executor_begin(ex, &s));
        double t0 = bench_now_us();
        for (int r = 0; r < REPLAYS; r++)
            TRY(mlxn_graph_encode_sequential(g, mlxn_graph_session_encoder(s)));
        double t1 = bench_now_us();
        TRY(mlxn_graph_session_finish_with_gpu_time(s, &us));
        if (k >= 0) {
            gpu[k] = us / REPLAYS;
            host[k] = (t1 - t0) / REPLAYS;
        }
    }
    double direct = bench_median(gpu, samples);
    printf("| direct launches (stream order) | device pdl | - | %.1f | %.3f | %.1f |\n", direct,
           direct / (double)nd, bench_median(host, samples));
    static const char *names[] = {"precise", "recorded barriers", "chain"};
    static const mlxn_graph_edges modes[] = {MLXN_EDGES_CHAIN, MLXN_EDGES_BARRIERS,
                                             MLXN_EDGES_PRECISE};
    for (int m = 0; m < 3; m++) {
        for (int prog = 0; prog < 2; prog++) {
            mlxn_graph_exec_params xp = mlxn_graph_exec_params_default();
            xp.edges = modes[m];
            xp.programmatic = prog;
            mlxn_graph_exec *x = NULL;
            TRY(mlxn_graph_exec_create(g, &xp, &x));
            for (int k = -3; k < samples; k++) {
                double us = 0;
                TRY(mlxn_graph_executor_begin(ex, &s));
                double t0 = bench_now_us();
                for (int r = 0; r < REPLAYS; r++)
                    TRY(mlxn_graph_session_launch(s, x));
                double t1 = bench_now_us();
                TRY(mlxn_graph_session_finish_with_gpu_time(s, &us));
                if (k >= 0) {
                    gpu[k] = us / REPLAYS;
                    host[k] = (t1 - t0) / REPLAYS;
                }
            }
            double med = bench_median(gpu, samples);
            printf("| %s | %s | %zu | %.1f | %.3f | %.1f |\n", names[xp.edges],
                   prog ? "yes" : "no", mlxn_graph_exec_edge_count(x), med, med / (double)nd,
                   bench_median(host, samples));
            mlxn_graph_exec_destroy(x);
        }
    }
    free(gpu);
    free(host);
    mlxn_graph_destroy(g);
    mlxn_graph_executor_destroy(ex);
    for (int k = 0; k < BRANCHES; k++) {
        mlxn_buffer_destroy(a[k]);
        mlxn_buffer_destroy(b[k]);
    }
    return 0;
}

int main(int argc, char **argv)
{
    mlxn_backend backend = MLXN_BACKEND_AUTO;
    int tokens = 300;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
            const char *b = argv[++i];
            backend = !strcmp(b, "cpu") ? MLXN_BACKEND_CPU
                      : !strcmp(b, "cuda") ? MLXN_BACKEND_CUDA : MLXN_BACKEND_AUTO;
        } else if (!strcmp(argv[i], "--tokens") && i + 1 < argc) {
            tokens = atoi(argv[++i]);
        } else {
            printf("usage: %s [--backend cpu|cuda|auto] [--tokens N]\n", argv[0]);
            return 2;
        }
    }
    if (tokens < 1)
        tokens = 1;
    mlxn_device_params dp = mlxn_device_params_default();
    dp.backend = backend;
    mlxn_device *dev = NULL;
    if (mlxn_device_create(&dp, &dev) != MLXN_OK) {
        printf("no device: %s\n", mlxn_last_error(NULL));
        return 1;
    }
    printf("bench_graph on %s\n", mlxn_device_name(dev));
    int rc = bench_decode(dev, tokens);
    if (!rc)
        rc = bench_branches(dev, tokens / 10 > 5 ? tokens / 10 : 5);
    mlxn_device_destroy(dev);
    return rc;
}
