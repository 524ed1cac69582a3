/*
 * test_graph.c: recorded graphs and their passes on real ops: replay in
 * every form equals direct execution, fusion (same results within
 * tolerance, fewer dispatches, and each rule that forbids it), reorder and
 * barrier counts on small graphs worked out by hand, the dual command
 * buffer, and graph sessions (finish variants, timing, group histogram).
 * The randomized property tests of the passes are in
 * test_graph_passes.c; executable graphs in test_graph_exec.c.
 */
#define MLXN_TEST_MAIN
#include "graph_testutil.h"

#define ROWS 3
#define COLS 300

static mlxn_graph_executor *new_executor(mlxn_device *dev, int auto_barrier)
{
    mlxn_graph_executor_params p = mlxn_graph_executor_params_default();
    p.auto_barrier = auto_barrier;
    mlxn_graph_executor *ex = NULL;
    return mlxn_graph_executor_create(dev, &p, &ex) == MLXN_OK ? ex : NULL;
}

static mlxn_encoder *new_encoder(mlxn_device *dev, int auto_barrier)
{
    mlxn_encoder_params p = mlxn_encoder_params_default();
    p.auto_barrier = auto_barrier;
    mlxn_encoder *enc = NULL;
    return mlxn_encoder_create(dev, &p, &enc) == MLXN_OK ? enc : NULL;
}

/* Run the program directly through an executor session; snapshot it. */
static mlxn_status run_direct(mlxn_graph_executor *ex, gt_prog *p, gt_snap *s)
{
    gt_prog_poison(p);
    mlxn_graph_session *ses = NULL;
    mlxn_status st = mlxn_graph_executor_begin(ex, &ses);
    if (st == MLXN_OK)
        st = gt_prog_encode(p, mlxn_graph_session_encoder(ses), gt_session_barrier, ses);
    if (ses) {
        mlxn_status fs = mlxn_graph_session_finish(ses);
        st = st == MLXN_OK ? fs : st;
    }
    gt_snap_take(p, s);
    return st;
}

/* Record the program into a graph with a plain encoder. */
static mlxn_graph *record(mlxn_encoder *enc, gt_prog *p)
{
    mlxn_graph *g = NULL;
    if (mlxn_encoder_start_capture(enc) != MLXN_OK)
        return NULL;
    mlxn_status st = gt_prog_encode(p, enc, gt_encoder_barrier, enc);
    mlxn_encoder_take_capture(enc, &g);
    if (st != MLXN_OK) {
        mlxn_graph_destroy(g);
        return NULL;
    }
    return g;
}

TEST(replay_in_every_form_equals_direct)
{
    mlxn_device *dev = test_device();
    gt_prog p;
    REQUIRE_OK(gt_prog_init(&p, dev, ROWS, COLS) ? MLXN_OK : MLXN_ERR_OUT_OF_MEMORY);
    mlxn_graph_executor *ex = new_executor(dev, 0);
    mlxn_encoder *enc = new_encoder(dev, 0);
    gt_snap ref, got;
    REQUIRE_OK(run_direct(ex, &p, &ref));
    mlxn_graph *g = record(enc, &p);
    REQUIRE_OK(g ? MLXN_OK : MLXN_ERR_STATE);
    CHECK(mlxn_graph_dispatch_count(g) == 8);
    CHECK(mlxn_graph_barrier_count(g) == 4);
    /* Four encodings of the recorded graph. */
    for (int form = 0; form < 4; form++) {
        gt_prog_poison(&p);
        if (form == 0)
            CHECK_OK(mlxn_graph_encode_sequential(g, enc));
        else if (form == 1)
            CHECK_OK(mlxn_graph_encode_with_barriers(g, enc));
        else if (form == 2)
            CHECK_OK(mlxn_graph_encode_dual(g, enc, MLXN_BARRIERS_RECORDED));
        else
            for (size_t i = 0; i < mlxn_graph_node_count(g); i++)
                CHECK_OK(mlxn_encoder_replay_node(enc, g, i));
        CHECK_OK(mlxn_encoder_commit_and_wait(enc));
        gt_snap_take(&p, &got);
        CHECK_MSG(gt_snap_diff(&ref, &got, p.nc) == 0.0, "form %d differs from direct", form);
        gt_snap_free(&got);
    }
    /* A recorded session (no passes) equals direct too. */
    gt_prog_poison(&p);
    mlxn_graph_session *s = NULL;
    REQUIRE_OK(mlxn_graph_executor_begin_recorded(ex, &s));
    CHECK(mlxn_graph_session_is_recorded(s));
    CHECK_OK(gt_prog_encode(&p, mlxn_graph_session_encoder(s), gt_session_barrier, s));
    mlxn_device_reset_counters(dev);
    CHECK_OK(mlxn_graph_session_finish(s));
    gt_snap_take(&p, &got);
    CHECK(gt_snap_diff(&ref, &got, p.nc) == 0.0);
    mlxn_counters c;
    mlxn_device_get_counters(dev, &c);
    CHECK(c.dispatches == 8 && c.command_buffers == 1);
    CHECK(mlxn_graph_session_finish(s) == MLXN_ERR_STATE); /* ended */
    gt_snap_free(&got);
    gt_snap_free(&ref);
    mlxn_graph_destroy(g);
    mlxn_encoder_destroy(enc);
    mlxn_graph_executor_destroy(ex);
    gt_prog_free(&p);
}

TEST(fusion_same_results_fewer_dispatches)
{
    mlxn_device *dev = test_device();
    gt_prog p;
    REQUIRE_OK(gt_prog_init(&p, dev, ROWS, COLS) ? MLXN_OK : MLXN_ERR_OUT_OF_MEMORY);
    mlxn_graph_executor *ex = new_executor(dev, 0);
    gt_snap ref, got;
    REQUIRE_OK(run_direct(ex, &p, &ref));
    static const unsigned variants[] = {MLXN_FINISH_FUSE, MLXN_FINISH_FUSE | MLXN_FINISH_REORDER,
                                        MLXN_FINISH_FUSE | MLXN_FINISH_REORDER |
                                            MLXN_FINISH_DUAL | MLXN_FINISH_TIME};
    for (int v = 0; v < 3; v++) {
        gt_prog_poison(&p);
        mlxn_graph_session *s = NULL;
        REQUIRE_OK(mlxn_graph_executor_begin_recorded(ex, &s));
        CHECK_OK(gt_prog_encode(&p, mlxn_graph_session_encoder(s), gt_session_barrier, s));
        mlxn_device_reset_counters(dev);
        mlxn_graph_report r;
        CHECK_OK(mlxn_graph_session_finish_ex(s, variants[v], &r));
        gt_snap_take(&p, &got);
        double diff = gt_snap_diff(&ref, &got, p.nc);
        CHECK_MSG(diff <= 1e-5, "variant %d: max diff %g", v, diff);
        CHECK(r.fusions == 1);
        CHECK(r.dispatches == 7);
        mlxn_counters c;
        mlxn_device_get_counters(dev, &c);
        CHECK_MSG(c.dispatches == 7, "dispatches %llu", (unsigned long long)c.dispatches);
        CHECK(mlxn_device_kernel_dispatches(dev, "rms_norm_mul_f32") == 1);
        CHECK(mlxn_device_kernel_dispatches(dev, "rms_norm_f32") == 0);
        if (variants[v] & MLXN_FINISH_REORDER) {
            CHECK(r.reorder_skipped == NULL);
            CHECK(r.barriers <= 4);
        }
        if (variants[v] & MLXN_FINISH_TIME)
            CHECK(r.host_us > 0 && r.gpu_us >= 0 && r.gpu_us <= r.host_us);
        gt_snap_free(&got);
    }
    mlxn_graph_executor_stats stats;
    mlxn_graph_executor_get_stats(ex, &stats);
    CHECK(stats.fusions == 3 && stats.sessions == 4);
    gt_snap_free(&ref);
    mlxn_graph_executor_destroy(ex);
    gt_prog_free(&p);
}

/* Capture `fn` into a graph, fuse it, return the number of fusions. */
typedef mlxn_status (*build_fn)(mlxn_encoder *enc, mlxn_buffer **b);

static int fusions_of(mlxn_encoder *enc, build_fn fn, mlxn_buffer **b, mlxn_graph **keep)
{
    mlxn_graph *g = NULL;
    if (mlxn_encoder_start_capture(enc) != MLXN_OK)
        return -1;
    mlxn_status st = fn(enc, b);
    if (mlxn_encoder_take_capture(enc, &g) != MLXN_OK || st != MLXN_OK) {
        mlxn_graph_destroy(g);
        return -1;
    }
    int n = -1;
    if (mlxn_graph_fuse(g, &n) != MLXN_OK)
        n = -1;
    if (keep)
        *keep = g;
    else
        mlxn_graph_destroy(g);
    return n;
}

/* b: 0 x (rows, n), 1 w (n), 2 t, 3 out, 4 other, 5 full-size tensor */
static mlxn_status norm_mul(mlxn_encoder *enc, mlxn_buffer **b)
{
    mlxn_status st = mlxn_op_rms_norm(enc, b[0], NULL, 1e-5f, b[2]);
    if (st == MLXN_OK)
        st = mlxn_encoder_barrier(enc);
    return st == MLXN_OK ? mlxn_op_mul(enc, b[2], b[1], b[3]) : st;
}

static mlxn_status t_read_later(mlxn_encoder *enc, mlxn_buffer **b)
{
    mlxn_status st = norm_mul(enc, b);
    if (st == MLXN_OK)
        st = mlxn_encoder_barrier(enc);
    return st == MLXN_OK ? mlxn_op_add(enc, b[2], b[3], b[4]) : st;
}

static mlxn_status t_overwritten_then_read(mlxn_encoder *enc, mlxn_buffer **b)
{
    mlxn_status st = norm_mul(enc, b);
    if (st == MLXN_OK)
        st = mlxn_encoder_barrier(enc);
    if (st == MLXN_OK)
        st = mlxn_op_scale(enc, b[3], 2.0f, b[2]); /* writes all of t */
    if (st == MLXN_OK)
        st = mlxn_encoder_barrier(enc);
    return st == MLXN_OK ? mlxn_op_add(enc, b[2], b[3], b[4]) : st;
}

static mlxn_status t_as_b_operand(mlxn_encoder *enc, mlxn_buffer **b)
{
    mlxn_status st = mlxn_op_rms_norm(enc, b[0], NULL, 1e-5f, b[2]);
    if (st == MLXN_OK)
        st = mlxn_encoder_barrier(enc);
    return st == MLXN_OK ? mlxn_op_mul(enc, b[5], b[2], b[3]) : st;
}

static mlxn_status weight_not_a_row(mlxn_encoder *enc, mlxn_buffer **b)
{
    mlxn_status st = mlxn_op_rms_norm(enc, b[0], NULL, 1e-5f, b[2]);
    if (st == MLXN_OK)
        st = mlxn_encoder_barrier(enc);
    return st == MLXN_OK ? mlxn_op_mul(enc, b[2], b[5], b[3]) : st;
}

static mlxn_status in_place_then_read(mlxn_encoder *enc, mlxn_buffer **b)
{
    mlxn_status st = mlxn_op_rms_norm(enc, b[0], NULL, 1e-5f, b[2]);
    if (st == MLXN_OK)
        st = mlxn_encoder_barrier(enc);
    if (st == MLXN_OK)
        st = mlxn_op_mul(enc, b[2], b[1], b[2]); /* t = t * w */
    if (st == MLXN_OK)
        st = mlxn_encoder_barrier(enc);
    return st == MLXN_OK ? mlxn_op_add(enc, b[2], b[3], b[4]) : st;
}

static mlxn_status two_patterns(mlxn_encoder *enc, mlxn_buffer **b)
{
    mlxn_status st = norm_mul(enc, b);
    if (st == MLXN_OK)
        st = mlxn_encoder_barrier(enc);
    if (st == MLXN_OK)
        st = mlxn_op_rms_norm(enc, b[3], NULL, 1e-5f, b[2]);
    if (st == MLXN_OK)
        st = mlxn_encoder_barrier(enc);
    return st == MLXN_OK ? mlxn_op_mul(enc, b[2], b[1], b[4]) : st;
}

/* The multiply's group also holds a dispatch that writes x, which the fused
 * node would read in that group (a write-after-read race). */
static mlxn_status group_conflict(mlxn_encoder *enc, mlxn_buffer **b)
{
    mlxn_status st = norm_mul(enc, b);
    return st == MLXN_OK ? mlxn_op_scale(enc, b[5], 1.0f, b[0]) : st;
}

TEST(fusion_rules)
{
    mlxn_device *dev = test_device();
    int64_t shape[2] = {ROWS, COLS};
    mlxn_buffer *b[6];
    for (int i = 0; i < 6; i++)
        b[i] = i == 1 ? gt_vec(dev, COLS) : gt_f32(dev, 2, shape);
    mlxn_encoder *enc = new_encoder(dev, 0);
    mlxn_graph *g = NULL;
    CHECK(fusions_of(enc, norm_mul, b, &g) == 1);
    if (g) {
        CHECK(mlxn_graph_node_count(g) == 1); /* the barrier before it went too */
        CHECK(!strcmp(mlxn_graph_node_kernel(g, 0), "rms_norm_mul_f32"));
        CHECK(mlxn_graph_node_kind(g, 0) == MLXN_OP_FUSED_NORM_MUL);
        int again = -1;
        CHECK_OK(mlxn_graph_fuse(g, &again));
        CHECK(again == 0); /* a fused node is never fused again */
        mlxn_graph_destroy(g);
    }
    CHECK(fusions_of(enc, t_read_later, b, NULL) == 0);
    CHECK(fusions_of(enc, t_overwritten_then_read, b, NULL) == 1);
    CHECK(fusions_of(enc, t_as_b_operand, b, NULL) == 0);
    CHECK(fusions_of(enc, weight_not_a_row, b, NULL) == 0);
    CHECK(fusions_of(enc, in_place_then_read, b, NULL) == 1);
    CHECK(fusions_of(enc, two_patterns, b, NULL) == 2);
    CHECK(fusions_of(enc, group_conflict, b, NULL) == 0);
    /* In-place fusion computes what the unfused pair does. */
    mlxn_buffer *ref = gt_f32(dev, 2, shape);
    CHECK_OK(mlxn_op_rms_norm(enc, b[0], NULL, 1e-5f, ref));
    CHECK_OK(mlxn_op_mul(enc, ref, b[1], ref));
    CHECK_OK(mlxn_op_add(enc, ref, b[3], ref));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    REQUIRE_OK(fusions_of(enc, in_place_then_read, b, &g) == 1 ? MLXN_OK : MLXN_ERR_STATE);
    CHECK_OK(mlxn_graph_encode_sequential(g, enc));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    CHECK_NEAR(gt_max_diff(ref, b[4]), 0.0, 1e-5);
    mlxn_graph_destroy(g);
    mlxn_buffer_destroy(ref);
    for (int i = 0; i < 6; i++)
        mlxn_buffer_destroy(b[i]);
    mlxn_encoder_destroy(enc);
}

/* a0: A->B, a1: B->C (after a0), b0: D->E, b1: E->F (after b0), each a
 * reorderable COPY; recorded with barriers from ranges: a0 | a1 b0 | b1. */
TEST(reorder_on_a_small_graph_by_hand)
{
    mlxn_device *dev = test_device();
    mlxn_buffer *u[6];
    for (int i = 0; i < 6; i++)
        u[i] = gt_u32(dev, 500, 100u * (uint32_t)i);
    mlxn_encoder *enc = new_encoder(dev, 1);
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    CHECK_OK(gt_inc(enc, u[0], u[1], 500, MLXN_OP_COPY, 0));
    CHECK_OK(gt_inc(enc, u[1], u[2], 500, MLXN_OP_COPY, 0));
    CHECK_OK(gt_inc(enc, u[3], u[4], 500, MLXN_OP_COPY, 0));
    CHECK_OK(gt_inc(enc, u[4], u[5], 500, MLXN_OP_COPY, 0));
    mlxn_graph *g = NULL;
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g));
    CHECK(mlxn_graph_node_count(g) == 6 && mlxn_graph_barrier_count(g) == 2);
    uint64_t bins[4];
    mlxn_graph_group_histogram(g, MLXN_BARRIERS_RECORDED, bins, 4);
    CHECK(bins[0] == 2 && bins[1] == 1 && bins[2] == 0);
    mlxn_reorder_result r;
    CHECK_OK(mlxn_graph_reorder(g, &r));
    CHECK(r.skipped == NULL);
    CHECK(r.moved == 1); /* b0 pulled ahead of a1 */
    CHECK(r.barriers_before == 2 && r.barriers_after == 1);
    /* a0 b0 | a1 b1 */
    CHECK(mlxn_graph_node_count(g) == 5);
    CHECK(mlxn_graph_node_type(g, 2) == MLXN_NODE_BARRIER);
    mlxn_graph_group_histogram(g, MLXN_BARRIERS_RECORDED, bins, 4);
    CHECK(bins[0] == 0 && bins[1] == 2);
    CHECK_OK(mlxn_graph_encode_sequential(g, enc));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    uint32_t c[500], f[500];
    CHECK_OK(mlxn_buffer_read(u[2], 0, c, sizeof c));
    CHECK_OK(mlxn_buffer_read(u[5], 0, f, sizeof f));
    CHECK(c[0] == 2 && c[499] == 499 * 3 + 2);
    CHECK(f[0] == 302 && f[499] == 300 + 499 * 3 + 2);
    mlxn_graph_destroy(g);
    /* A dispatch without ranges: the pass is skipped, with a reason. */
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    CHECK_OK(gt_inc(enc, u[0], u[1], 500, MLXN_OP_COPY, 0));
    CHECK_OK(gt_inc(enc, u[3], u[4], 500, MLXN_OP_COPY, 1));
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g));
    size_t before = mlxn_graph_node_count(g);
    CHECK_OK(mlxn_graph_reorder(g, &r));
    CHECK(r.skipped != NULL && r.moved == 0);
    CHECK(mlxn_graph_node_count(g) == before);
    mlxn_graph_destroy(g);
    for (int i = 0; i < 6; i++)
        mlxn_buffer_destroy(u[i]);
    mlxn_encoder_destroy(enc);
}

/* Recorded without barriers: n0 A->B, n1 C->D, n2 B->E (RAW on B: barrier
 * 1), n3 F->A (writes A, read by n0 before barrier 1: none), n4 E->G (RAW on
 * E: barrier 2), n5 unannotated (barrier 3), n6 G->H (after an unknown:
 * barrier 4). */
TEST(barrier_counts_by_hand)
{
    mlxn_device *dev = test_device();
    mlxn_buffer *u[8];
    for (int i = 0; i < 8; i++)
        u[i] = gt_u32(dev, 64, 10u * (uint32_t)i);
    mlxn_encoder *enc = new_encoder(dev, 0);
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    CHECK_OK(gt_inc(enc, u[0], u[1], 64, MLXN_OP_COPY, 0));
    CHECK_OK(gt_inc(enc, u[2], u[3], 64, MLXN_OP_COPY, 0));
    CHECK_OK(gt_inc(enc, u[1], u[4], 64, MLXN_OP_COPY, 0));
    CHECK_OK(gt_inc(enc, u[5], u[0], 64, MLXN_OP_COPY, 0));
    CHECK_OK(gt_inc(enc, u[4], u[6], 64, MLXN_OP_COPY, 0));
    CHECK_OK(gt_inc(enc, u[2], u[2], 64, MLXN_OP_COPY, 1));
    CHECK_OK(gt_inc(enc, u[6], u[7], 64, MLXN_OP_COPY, 0));
    mlxn_graph *g = NULL;
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g));
    CHECK(mlxn_graph_barrier_count(g) == 0);
    uint64_t bins[4];
    mlxn_graph_group_histogram(g, MLXN_BARRIERS_RECOMPUTED, bins, 4);
    CHECK(bins[0] == 3 && bins[1] == 2 && bins[2] == 0 && bins[3] == 0); /* 2 2 1 1 1 */
    /* Recomputed while capturing: the new graph holds the barriers. */
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    CHECK_OK(mlxn_graph_encode_with_barriers(g, enc));
    mlxn_graph *g2 = NULL;
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g2));
    CHECK_MSG(mlxn_graph_barrier_count(g2) == 4, "%zu barriers", mlxn_graph_barrier_count(g2));
    /* n0 n1 | n2 n3 | n4 | n5 | n6 */
    CHECK(mlxn_graph_node_type(g2, 2) == MLXN_NODE_BARRIER);
    CHECK(mlxn_graph_node_type(g2, 4) == MLXN_NODE_DISPATCH);
    CHECK(mlxn_graph_node_type(g2, 5) == MLXN_NODE_BARRIER);
    mlxn_graph_destroy(g2);
    /* Directly: counted as automatic barriers; sequential counts none. */
    mlxn_device_reset_counters(dev);
    CHECK_OK(mlxn_graph_encode_with_barriers(g, enc));
    CHECK_OK(mlxn_graph_encode_sequential(g, enc));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    mlxn_counters c;
    mlxn_device_get_counters(dev, &c);
    CHECK(c.barriers == 4 && c.auto_barriers == 4 && c.dispatches == 14);
    mlxn_graph_destroy(g);
    for (int i = 0; i < 8; i++)
        mlxn_buffer_destroy(u[i]);
    mlxn_encoder_destroy(enc);
}

TEST(dual_command_buffer)
{
    CHECK(mlxn_graph_dual_split(10) == 10);
    CHECK(mlxn_graph_dual_split(100) == 64);
    CHECK(mlxn_graph_dual_split(1000) == 100);
    mlxn_device *dev = test_device();
    enum { STEPS = 150 };
    mlxn_buffer *a = gt_u32(dev, 300, 1), *b = gt_u32(dev, 300, 0);
    mlxn_buffer *c = gt_u32(dev, 300, 1), *d = gt_u32(dev, 300, 0);
    mlxn_encoder *enc = new_encoder(dev, 1);
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    for (int i = 0; i < STEPS; i++)
        CHECK_OK(gt_inc(enc, (i & 1) ? b : a, (i & 1) ? a : b, 300, MLXN_OP_COPY, 0));
    mlxn_graph *g = NULL;
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g));
    CHECK(mlxn_graph_encode_dual(g, enc, MLXN_BARRIERS_RECORDED) == MLXN_OK);
    for (int i = 0; i < STEPS; i++) /* the same steps, directly */
        CHECK_OK(gt_inc(enc, (i & 1) ? d : c, (i & 1) ? c : d, 300, MLXN_OP_COPY, 0));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    CHECK(gt_same(a, c) && gt_same(b, d));
    for (int mode = 0; mode < 2; mode++) {
        mlxn_device_reset_counters(dev);
        CHECK_OK(mlxn_graph_encode_dual(g, enc, (mlxn_barrier_mode)mode));
        mlxn_counters cnt;
        mlxn_device_get_counters(dev, &cnt);
        CHECK(cnt.command_buffers == 1); /* the first 64, committed early */
        CHECK(mlxn_encoder_pending_dispatches(enc) == STEPS - 64);
        CHECK_OK(mlxn_encoder_commit_and_wait(enc));
        for (int i = 0; i < STEPS; i++)
            CHECK_OK(gt_inc(enc, (i & 1) ? d : c, (i & 1) ? c : d, 300, MLXN_OP_COPY, 0));
        CHECK_OK(mlxn_encoder_commit_and_wait(enc));
        CHECK(gt_same(a, c) && gt_same(b, d));
    }
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    CHECK(mlxn_graph_encode_dual(g, enc, MLXN_BARRIERS_RECORDED) == MLXN_ERR_STATE);
    mlxn_graph *empty = NULL;
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &empty));
    CHECK(mlxn_graph_node_count(empty) == 0);
    mlxn_graph_destroy(empty);
    mlxn_graph_destroy(g);
    mlxn_buffer_destroy(a);
    mlxn_buffer_destroy(b);
    mlxn_buffer_destroy(c);
    mlxn_buffer_destroy(d);
    mlxn_encoder_destroy(enc);
}

TEST(sessions_groups_timing_and_commit)
{
    mlxn_device *dev = test_device();
    gt_prog p;
    REQUIRE_OK(gt_prog_init(&p, dev, ROWS, COLS) ? MLXN_OK : MLXN_ERR_OUT_OF_MEMORY);
    mlxn_graph_executor *ex = new_executor(dev, 0);
    mlxn_graph_session *s = NULL, *s2 = NULL;
    /* Direct: groups 1 | 1 | 2 | 2 | 2 from the session's barriers. */
    REQUIRE_OK(mlxn_graph_executor_begin(ex, &s));
    CHECK(mlxn_graph_executor_begin(ex, &s2) == MLXN_ERR_STATE);
    CHECK(!mlxn_graph_session_is_recorded(s));
    CHECK_OK(gt_prog_encode(&p, mlxn_graph_session_encoder(s), gt_session_barrier, s));
    uint64_t bins[MLXN_GROUP_BINS];
    mlxn_graph_session_group_histogram(s, bins, MLXN_GROUP_BINS);
    CHECK(bins[0] == 2 && bins[1] == 3 && bins[2] == 0);
    mlxn_graph *none = NULL;
    CHECK(mlxn_graph_session_take_graph(s, &none) == MLXN_ERR_STATE);
    double host = -1, gpu = -1;
    CHECK_OK(mlxn_graph_session_finish_with_timing(s, &host, &gpu));
    CHECK_MSG(host > 0 && gpu >= 0 && gpu <= host, "host %g us, gpu %g us", host, gpu);
    CHECK(mlxn_graph_session_encoder(s) == NULL);
    gt_snap ref, got;
    gt_snap_take(&p, &ref);
    /* Recorded: the histogram comes from the graph. */
    REQUIRE_OK(mlxn_graph_executor_begin_recorded(ex, &s));
    CHECK_OK(gt_prog_encode(&p, mlxn_graph_session_encoder(s), gt_session_barrier, s));
    mlxn_graph_session_group_histogram(s, bins, 2);
    CHECK(bins[0] == 2 && bins[1] == 3);
    gt_prog_poison(&p);
    CHECK_OK(mlxn_graph_session_finish_with_gpu_time(s, &gpu));
    CHECK(gpu >= 0);
    gt_snap_take(&p, &got);
    CHECK(gt_snap_diff(&ref, &got, p.nc) == 0.0);
    gt_snap_free(&got);
    /* Commit without waiting, then wait on the executor. */
    gt_prog_poison(&p);
    REQUIRE_OK(mlxn_graph_executor_begin_recorded(ex, &s));
    CHECK_OK(gt_prog_encode(&p, mlxn_graph_session_encoder(s), gt_session_barrier, s));
    CHECK_OK(mlxn_graph_session_commit(s));
    CHECK_OK(mlxn_graph_executor_wait(ex));
    gt_snap_take(&p, &got);
    CHECK(gt_snap_diff(&ref, &got, p.nc) == 0.0);
    gt_snap_free(&got);
    /* A taken graph is the caller's and runs like the session would. */
    REQUIRE_OK(mlxn_graph_executor_begin_recorded(ex, &s));
    CHECK_OK(gt_prog_encode(&p, mlxn_graph_session_encoder(s), gt_session_barrier, s));
    mlxn_graph *g = NULL;
    CHECK_OK(mlxn_graph_session_take_graph(s, &g));
    CHECK(mlxn_graph_dispatch_count(g) == 8);
    mlxn_graph_destroy(g);
    /* barrier_between through the session closes a group when emitted. */
    REQUIRE_OK(mlxn_graph_executor_begin(ex, &s));
    mlxn_encoder *enc = mlxn_graph_session_encoder(s);
    mlxn_range rt = mlxn_range_of(p.t), rx = mlxn_range_of(p.x);
    CHECK_OK(mlxn_op_rms_norm(enc, p.x, NULL, 1e-5f, p.t));
    CHECK_OK(mlxn_graph_session_track_dispatch(s, &rx, 1, &rt, 1));
    int emitted = -1;
    CHECK_OK(mlxn_graph_session_barrier_between(s, &rt, 1, NULL, 0, &emitted));
    CHECK(emitted == 1);
    CHECK_OK(mlxn_op_scale(enc, p.t, 2.0f, p.y));
    mlxn_graph_session_group_histogram(s, bins, MLXN_GROUP_BINS);
    CHECK(bins[0] == 2);
    CHECK_OK(mlxn_graph_session_finish(s));
    mlxn_graph_executor_stats st;
    mlxn_graph_executor_get_stats(ex, &st);
    CHECK(st.sessions == 5);
    gt_snap_free(&ref);
    mlxn_graph_executor_destroy(ex);
    gt_prog_free(&p);
}
