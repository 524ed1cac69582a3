/*
 * test_graph_exec.c: executable graphs (explicit CUDA graphs on CUDA, the
 * node list on the CPU): the edges of the instantiated graph (independent
 * dispatches get none, dependent ones do, implied ones are left out,
 * programmatic when asked), launches equal direct runs and are counted,
 * per-token scalars written with update_buffer before each launch of one
 * executable, node updates that change a grid, the executor's cache, and
 * launches inside graph sessions.
 */
#define MLXN_TEST_MAIN
#include "graph_testutil.h"

#define N 1000

static mlxn_encoder *new_encoder(mlxn_device *dev)
{
    mlxn_encoder *enc = NULL;
    return mlxn_encoder_create(dev, NULL, &enc) == MLXN_OK ? enc : NULL;
}

/* n0 P = 2X, n1 Q = 3Y (independent), n2 R = P + Q, n3 S = 0.5R, n4 T = 4X
 * (reads X like n0: independent of everything). */
static mlxn_status five(mlxn_encoder *enc, mlxn_buffer **b, int barriers)
{
    mlxn_buffer *X = b[0], *Y = b[1], *P = b[2], *Q = b[3], *R = b[4], *S = b[5], *T = b[6];
    mlxn_status st;
    if ((st = mlxn_op_scale(enc, X, 2.0f, P)) != MLXN_OK ||
        (st = mlxn_op_scale(enc, Y, 3.0f, Q)) != MLXN_OK ||
        (barriers && (st = mlxn_encoder_barrier(enc)) != MLXN_OK) ||
        (st = mlxn_op_add(enc, P, Q, R)) != MLXN_OK ||
        (barriers && (st = mlxn_encoder_barrier(enc)) != MLXN_OK) ||
        (st = mlxn_op_scale(enc, R, 0.5f, S)) != MLXN_OK)
        return st;
    return mlxn_op_scale(enc, X, 4.0f, T);
}

TEST(exec_edges)
{
    mlxn_device *dev = test_device();
    mlxn_buffer *b[7];
    for (int i = 0; i < 7; i++)
        b[i] = gt_vec(dev, N);
    mlxn_encoder *enc = new_encoder(dev);
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    CHECK_OK(five(enc, b, 1));
    mlxn_graph *g = NULL;
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g));
    mlxn_graph_exec_params p = mlxn_graph_exec_params_default();
    mlxn_graph_exec *x = NULL;
    REQUIRE_OK(mlxn_graph_exec_create(g, &p, &x));
    CHECK(mlxn_graph_exec_node_count(x) == 5);
    /* Precise: 0->1 (the single root), 1->2 (0->2 implied), 2->3, 0->4. */
    CHECK_MSG(mlxn_graph_exec_edge_count(x) == 4, "%zu edges", mlxn_graph_exec_edge_count(x));
    CHECK(mlxn_graph_exec_edge(x, 1, 2) && mlxn_graph_exec_edge(x, 2, 3));
    CHECK(mlxn_graph_exec_edge(x, 0, 1) && mlxn_graph_exec_edge(x, 0, 4));
    CHECK(!mlxn_graph_exec_edge(x, 0, 2) && !mlxn_graph_exec_edge(x, 0, 3));
    CHECK(!mlxn_graph_exec_edge(x, 1, 4) && !mlxn_graph_exec_edge(x, 2, 4) &&
          !mlxn_graph_exec_edge(x, 3, 4) && !mlxn_graph_exec_edge(x, 1, 3));
    CHECK(mlxn_graph_exec_edge(x, 2, 3) == 2); /* programmatic (device pdl on) */
    mlxn_graph_exec_destroy(x);
    p.programmatic = 0;
    REQUIRE_OK(mlxn_graph_exec_create(g, &p, &x));
    CHECK(mlxn_graph_exec_edge(x, 2, 3) == 1);
    mlxn_graph_exec_destroy(x);
    /* Barriers: groups 0 1 | 2 | 3 4 -> 0->1 (the root), 1->2 (which
     * implies 0->2), 2->3, 2->4. */
    p.edges = MLXN_EDGES_BARRIERS;
    REQUIRE_OK(mlxn_graph_exec_create(g, &p, &x));
    CHECK(mlxn_graph_exec_edge(x, 0, 1) && mlxn_graph_exec_edge(x, 1, 2));
    CHECK(mlxn_graph_exec_edge(x, 2, 3) && mlxn_graph_exec_edge(x, 2, 4));
    CHECK(!mlxn_graph_exec_edge(x, 3, 4) && !mlxn_graph_exec_edge(x, 0, 2));
    CHECK(mlxn_graph_exec_edge_count(x) == 4);
    mlxn_graph_exec_destroy(x);
    p.edges = MLXN_EDGES_CHAIN;
    REQUIRE_OK(mlxn_graph_exec_create(g, &p, &x));
    CHECK(mlxn_graph_exec_edge_count(x) == 4 && mlxn_graph_exec_edge(x, 3, 4));
    mlxn_graph_exec_destroy(x);
    p.edges = (mlxn_graph_edges)7;
    CHECK(mlxn_graph_exec_create(g, &p, &x) == MLXN_ERR_INVALID_ARG);
    mlxn_graph_destroy(g);
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g));
    CHECK(mlxn_graph_exec_create(g, NULL, &x) == MLXN_ERR_INVALID_ARG); /* empty */
    mlxn_graph_destroy(g);
    for (int i = 0; i < 7; i++)
        mlxn_buffer_destroy(b[i]);
    mlxn_encoder_destroy(enc);
}

TEST(exec_launch_equals_direct_and_is_counted)
{
    mlxn_device *dev = test_device();
    gt_prog p;
    REQUIRE_OK(gt_prog_init(&p, dev, 3, 300) ? MLXN_OK : MLXN_ERR_OUT_OF_MEMORY);
    mlxn_encoder *enc = new_encoder(dev);
    gt_prog_poison(&p);
    CHECK_OK(gt_prog_encode(&p, enc, gt_encoder_barrier, enc));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    gt_snap ref, got;
    gt_snap_take(&p, &ref);
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    CHECK_OK(gt_prog_encode(&p, enc, gt_encoder_barrier, enc));
    mlxn_graph *g = NULL;
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g));
    for (int mode = 0; mode < 3; mode++) {
        mlxn_graph_exec_params xp = mlxn_graph_exec_params_default();
        xp.edges = (mlxn_graph_edges)mode;
        mlxn_graph_exec *x = NULL;
        REQUIRE_OK(mlxn_graph_exec_create(g, &xp, &x));
        for (int rep = 0; rep < 3; rep++) {
            gt_prog_poison(&p);
            mlxn_device_reset_counters(dev);
            CHECK_OK(mlxn_encoder_launch_graph(enc, x));
            CHECK(mlxn_encoder_pending_dispatches(enc) == 8);
            CHECK_OK(mlxn_encoder_commit_and_wait(enc));
            mlxn_counters c;
            mlxn_device_get_counters(dev, &c);
            CHECK(c.dispatches == 8 && c.command_buffers == 1);
            CHECK(mlxn_device_kernel_dispatches(dev, "add_f32") == 3);
            gt_snap_take(&p, &got);
            CHECK_MSG(gt_snap_diff(&ref, &got, p.nc) == 0.0, "edges %d rep %d differ", mode, rep);
            gt_snap_free(&got);
        }
        CHECK(mlxn_graph_exec_launches(x) == 3);
        mlxn_graph_exec_destroy(x);
    }
    /* The executable keeps the graph's buffers: destroy graph and buffers
     * first, launch after. */
    mlxn_graph_exec *x = NULL;
    REQUIRE_OK(mlxn_graph_exec_create(g, NULL, &x));
    mlxn_graph_destroy(g);
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    CHECK(mlxn_encoder_launch_graph(enc, x) == MLXN_ERR_STATE);
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g));
    mlxn_graph_destroy(g);
    mlxn_buffer *keep_o = NULL;
    int64_t shape[1] = {3 * 300};
    REQUIRE_OK(mlxn_buffer_view(p.o, 0, MLXN_DTYPE_F32, 1, shape, &keep_o));
    mlxn_buffer_fill(keep_o, 0, 0xff, mlxn_buffer_bytes(keep_o));
    gt_prog_free(&p);
    CHECK_OK(mlxn_encoder_launch_graph(enc, x));
    mlxn_graph_exec_destroy(x); /* the committed launch keeps what it uses */
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    float *o = gt_read(keep_o);
    CHECK(o && !memcmp(o, ref.o, mlxn_buffer_bytes(keep_o)));
    free(o);
    mlxn_buffer_destroy(keep_o);
    gt_snap_free(&ref);
    mlxn_encoder_destroy(enc);
}

/* The replay-friendly pattern: one executable, a per-token scalar written
 * with update_buffer before each launch; each token matches a fresh direct
 * run with the scalar written on the host. y = h + pos (pos broadcast from a
 * one-element buffer), z = y * w, q = z + 1 (u32 counter from pos too). */
static mlxn_status token_step(mlxn_encoder *enc, mlxn_buffer **b)
{
    mlxn_status st = mlxn_op_add(enc, b[0], b[1], b[2]);
    if (st == MLXN_OK)
        st = mlxn_encoder_barrier(enc);
    if (st == MLXN_OK)
        st = mlxn_op_mul(enc, b[2], b[3], b[4]);
    if (st == MLXN_OK)
        st = gt_inc(enc, b[5], b[6], 1, MLXN_OP_COPY, 0);
    return st;
}

TEST(exec_replay_with_per_token_scalars)
{
    mlxn_device *dev = test_device();
    int64_t one = 1;
    mlxn_buffer *b[7];
    b[0] = gt_vec(dev, 512);
    REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 1, &one, &b[1]));
    b[2] = gt_vec(dev, 512);
    b[3] = gt_vec(dev, 512);
    b[4] = gt_vec(dev, 512);
    b[5] = gt_u32(dev, 1, 0);
    b[6] = gt_u32(dev, 1, 0);
    mlxn_encoder *enc = new_encoder(dev);
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    CHECK_OK(token_step(enc, b));
    mlxn_graph *g = NULL;
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g));
    mlxn_graph_exec *x = NULL;
    REQUIRE_OK(mlxn_graph_exec_create(g, NULL, &x));
    for (uint32_t pos = 3; pos < 40; pos += 9) {
        float fpos = (float)pos;
        CHECK_OK(mlxn_encoder_update_buffer(enc, b[1], 0, &fpos, 4));
        CHECK_OK(mlxn_encoder_update_buffer(enc, b[5], 0, &pos, 4));
        CHECK_OK(mlxn_encoder_launch_graph(enc, x));
        CHECK_OK(mlxn_encoder_commit_and_wait(enc));
        float *replayed = gt_read(b[4]);
        uint32_t *count = gt_read(b[6]);
        CHECK_OK(mlxn_buffer_fill(b[4], 0, 0xff, mlxn_buffer_bytes(b[4])));
        CHECK_OK(mlxn_buffer_write(b[1], 0, &fpos, 4));
        CHECK_OK(mlxn_buffer_write(b[5], 0, &pos, 4));
        CHECK_OK(token_step(enc, b));
        CHECK_OK(mlxn_encoder_commit_and_wait(enc));
        float *direct = gt_read(b[4]);
        CHECK_MSG(replayed && direct && !memcmp(replayed, direct, 512 * 4), "pos %u differs",
                  pos);
        CHECK(count && count[0] == pos + 1);
        free(replayed);
        free(direct);
        free(count);
    }
    mlxn_graph_exec_destroy(x);
    mlxn_graph_destroy(g);
    for (int i = 0; i < 7; i++)
        mlxn_buffer_destroy(b[i]);
    mlxn_encoder_destroy(enc);
}

TEST(exec_node_update_changes_the_grid)
{
    mlxn_device *dev = test_device();
    mlxn_buffer *a = gt_u32(dev, N, 7), *out = gt_u32(dev, N, 0), *ref = gt_u32(dev, N, 0);
    mlxn_encoder *enc = new_encoder(dev);
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    CHECK_OK(gt_inc(enc, a, out, N, MLXN_OP_COPY, 0));
    mlxn_graph *g = NULL;
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g));
    mlxn_graph_exec *x = NULL;
    REQUIRE_OK(mlxn_graph_exec_create(g, NULL, &x));
    mlxn_graph_destroy(g);
    /* Shrink to n = 300 on a 2-block grid. */
    uint32_t n = 300;
    mlxn_graph_node_update u = mlxn_graph_node_update_default();
    u.grid = (mlxn_dim3){2, 1, 1};
    u.slot = 2;
    u.bytes = &n;
    u.size = 4;
    CHECK_OK(mlxn_graph_exec_update_node(x, 0, &u));
    CHECK_OK(mlxn_encoder_launch_graph(enc, x));
    CHECK_OK(gt_inc(enc, a, ref, 300, MLXN_OP_COPY, 0));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    CHECK(gt_same(out, ref));
    uint32_t v[N];
    CHECK_OK(mlxn_buffer_read(out, 0, v, sizeof v));
    CHECK(v[299] == 7 + 299 * 3 + 1 && v[300] == 300 * 3);
    /* Grid kept, bytes back to all N (the kernel's grid-stride loop covers
     * them); then the original grid. */
    n = N;
    u.grid = (mlxn_dim3){0, 0, 0};
    CHECK_OK(mlxn_graph_exec_update_node(x, 0, &u));
    CHECK_OK(mlxn_encoder_launch_graph(enc, x));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    CHECK_OK(mlxn_buffer_read(out, 0, v, sizeof v));
    CHECK(v[300] == 7 + 300 * 3 + 1 && v[N - 1] == 7 + (N - 1) * 3 + 1);
    u.grid = (mlxn_dim3){4, 1, 1};
    CHECK_OK(mlxn_graph_exec_update_node(x, 0, &u));
    CHECK_OK(mlxn_buffer_fill(out, 0, 0, N * 4));
    CHECK_OK(mlxn_encoder_launch_graph(enc, x));
    CHECK_OK(gt_inc(enc, a, ref, N, MLXN_OP_COPY, 0));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    CHECK(gt_same(out, ref));
    /* Bad updates fail and change nothing. */
    u.slot = 0; /* a buffer slot */
    CHECK(mlxn_graph_exec_update_node(x, 0, &u) == MLXN_ERR_INVALID_ARG);
    u.slot = 2;
    u.size = 8;
    CHECK(mlxn_graph_exec_update_node(x, 0, &u) == MLXN_ERR_INVALID_ARG);
    u.size = 4;
    u.grid = (mlxn_dim3){0, 1, 1};
    CHECK(mlxn_graph_exec_update_node(x, 0, &u) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_graph_exec_update_node(x, 1, &u) == MLXN_ERR_INVALID_ARG);
    mlxn_graph_exec_destroy(x);
    mlxn_buffer_destroy(a);
    mlxn_buffer_destroy(out);
    mlxn_buffer_destroy(ref);
    mlxn_encoder_destroy(enc);
}

TEST(executor_cache_and_session_launch)
{
    mlxn_device *dev = test_device();
    mlxn_graph_executor *ex = NULL;
    REQUIRE_OK(mlxn_graph_executor_create(dev, NULL, &ex));
    mlxn_buffer *a = gt_u32(dev, N, 1), *b = gt_u32(dev, N, 0);
    mlxn_buffer *pos = gt_u32(dev, 1, 0), *seen = gt_u32(dev, 1, 0);
    const uint64_t key = 0x400;
    for (uint32_t token = 0; token < 4; token++) {
        mlxn_graph_exec *x = mlxn_graph_executor_find(ex, key);
        if (!x) { /* first token: record the step once, then instantiate */
            CHECK(token == 0);
            mlxn_graph_session *s = NULL;
            REQUIRE_OK(mlxn_graph_executor_begin_recorded(ex, &s));
            mlxn_encoder *enc = mlxn_graph_session_encoder(s);
            CHECK_OK(gt_inc(enc, a, b, N, MLXN_OP_COPY, 0));
            CHECK_OK(mlxn_graph_session_barrier(s));
            CHECK_OK(gt_inc(enc, b, a, N, MLXN_OP_COPY, 0));
            CHECK_OK(gt_inc(enc, pos, seen, 1, MLXN_OP_COPY, 0));
            mlxn_graph *g = NULL;
            REQUIRE_OK(mlxn_graph_session_take_graph(s, &g));
            REQUIRE_OK(mlxn_graph_executor_instantiate(ex, key, g, NULL, &x));
            mlxn_graph_destroy(g);
        }
        CHECK(mlxn_graph_executor_find(ex, key) == x);
        mlxn_graph_session *s = NULL;
        REQUIRE_OK(mlxn_graph_executor_begin(ex, &s));
        CHECK_OK(mlxn_encoder_update_buffer(mlxn_graph_session_encoder(s), pos, 0, &token, 4));
        CHECK_OK(mlxn_graph_session_launch(s, x));
        CHECK_OK(mlxn_graph_session_finish(s));
        uint32_t got = 0;
        CHECK_OK(mlxn_buffer_read(seen, 0, &got, 4));
        CHECK(got == token + 1);
    }
    CHECK(mlxn_graph_executor_find(ex, key + 1) == NULL);
    uint32_t v[2];
    CHECK_OK(mlxn_buffer_read(a, 0, v, 8));
    CHECK(v[0] == 1 + 8 && v[1] == 1 + 3 + 8);
    mlxn_graph_executor_stats st;
    mlxn_graph_executor_get_stats(ex, &st);
    CHECK(st.instantiated == 1 && st.launches == 4 && st.sessions == 5);
    mlxn_graph_executor_destroy(ex);
    mlxn_buffer_destroy(a);
    mlxn_buffer_destroy(b);
    mlxn_buffer_destroy(pos);
    mlxn_buffer_destroy(seen);
}

/* A larger graph with real concurrency: 4 branches of 60 steps with
 * cross-branch adds every 10 steps, recorded with inferred barriers. Every
 * edge mode, with and without programmatic edges, equals the direct run. */
static mlxn_status braided(mlxn_encoder *enc, mlxn_buffer **a, mlxn_buffer **b)
{
    mlxn_status st = MLXN_OK;
    for (int i = 0; st == MLXN_OK && i < 60; i++) {
        for (int k = 0; st == MLXN_OK && k < 4; k++) {
            mlxn_buffer *in = (i & 1) ? b[k] : a[k], *out = (i & 1) ? a[k] : b[k];
            if (i % 10 == 9)
                st = mlxn_op_add(enc, in, (i & 1) ? b[(k + 1) % 4] : a[(k + 1) % 4], out);
            else if (i % 3 == 0)
                st = mlxn_op_rms_norm(enc, in, NULL, 1e-5f, out);
            else
                st = mlxn_op_scale(enc, in, 0.9f, out);
        }
    }
    return st;
}

TEST(exec_large_graph_every_edge_mode)
{
    mlxn_device *dev = test_device();
    int64_t shape[2] = {4, 1024};
    mlxn_buffer *a[4], *b[4], *init[4];
    for (int k = 0; k < 4; k++) {
        init[k] = gt_f32(dev, 2, shape);
        a[k] = gt_f32(dev, 2, shape);
        b[k] = gt_f32(dev, 2, shape);
    }
    mlxn_encoder_params ep = mlxn_encoder_params_default();
    ep.auto_barrier = 1;
    mlxn_encoder *enc = NULL;
    REQUIRE_OK(mlxn_encoder_create(dev, &ep, &enc));
    void *ref[4];
    for (int k = 0; k < 4; k++)
        CHECK_OK(mlxn_op_scale(enc, init[k], 1.0f, a[k]));
    CHECK_OK(braided(enc, a, b));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    for (int k = 0; k < 4; k++)
        ref[k] = gt_read(a[k]);
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    CHECK_OK(braided(enc, a, b));
    mlxn_graph *g = NULL;
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g));
    CHECK(mlxn_graph_dispatch_count(g) == 240 && mlxn_graph_barrier_count(g) > 0);
    for (int mode = 0; mode < 3; mode++) {
        for (int prog = 0; prog < 2; prog++) {
            mlxn_graph_exec_params xp = mlxn_graph_exec_params_default();
            xp.edges = (mlxn_graph_edges)mode;
            xp.programmatic = prog;
            mlxn_graph_exec *x = NULL;
            REQUIRE_OK(mlxn_graph_exec_create(g, &xp, &x));
            for (int rep = 0; rep < 3; rep++) {
                for (int k = 0; k < 4; k++) {
                    CHECK_OK(mlxn_buffer_fill(b[k], 0, 0xff, mlxn_buffer_bytes(b[k])));
                    CHECK_OK(mlxn_op_scale(enc, init[k], 1.0f, a[k]));
                }
                CHECK_OK(mlxn_encoder_launch_graph(enc, x));
                CHECK_OK(mlxn_encoder_commit_and_wait(enc));
                for (int k = 0; k < 4; k++) {
                    void *got = gt_read(a[k]);
                    CHECK_MSG(got && !memcmp(got, ref[k], mlxn_buffer_bytes(a[k])),
                              "edges %d programmatic %d rep %d: branch %d differs", mode, prog,
                              rep, k);
                    free(got);
                }
            }
            mlxn_graph_exec_destroy(x);
        }
    }
    mlxn_graph_destroy(g);
    for (int k = 0; k < 4; k++) {
        free(ref[k]);
        mlxn_buffer_destroy(init[k]);
        mlxn_buffer_destroy(a[k]);
        mlxn_buffer_destroy(b[k]);
    }
    mlxn_encoder_destroy(enc);
}
