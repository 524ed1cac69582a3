/*
 * test_encoder.c: the command encoder: both dispatch forms, slots with
 * offsets, commit and wait, counters for a scripted sequence, barrier
 * inference, capture and replay, dispatch records, retained references,
 * several queues, and device faults (in a child process).
 */
#define MLXN_TEST_MAIN
#include "test.h"

#include <spawn.h>
#include <sys/wait.h>

#define N 1000

static mlxn_buffer *u32_buffer(mlxn_device *dev, uint32_t n, uint32_t base)
{
    mlxn_buffer *b = NULL;
    int64_t shape[1] = {n};
    if (mlxn_buffer_create_tensor(dev, MLXN_DTYPE_U32, 1, shape, &b) != MLXN_OK)
        return NULL;
    uint32_t *v = malloc(n * sizeof *v);
    for (uint32_t i = 0; i < n; i++)
        v[i] = base + i * 7u;
    mlxn_buffer_write(b, 0, v, n * sizeof *v);
    free(v);
    return b;
}

/* 1 when b[i] == base + 7i + add for all i < n. */
static int holds(mlxn_buffer *b, uint32_t n, uint32_t base, uint32_t add)
{
    uint32_t *v = malloc(n * sizeof *v);
    int ok = mlxn_buffer_read(b, 0, v, n * sizeof *v) == MLXN_OK;
    for (uint32_t i = 0; ok && i < n; i++)
        ok = v[i] == base + i * 7u + add;
    free(v);
    return ok;
}

/* out = in + 1 through the one-call form, annotated unless `bare`. */
static mlxn_status inc(mlxn_encoder *enc, mlxn_buffer *in, mlxn_buffer *out, uint32_t n,
                       int bare)
{
    mlxn_kernel *k = NULL;
    mlxn_status st = mlxn_kernel_get(mlxn_encoder_device(enc), "debug_inc_u32", &k);
    if (st != MLXN_OK)
        return st;
    mlxn_arg args[3] = {mlxn_arg_buffer(in), mlxn_arg_buffer(out), mlxn_arg_bytes(&n, 4)};
    mlxn_range r = mlxn_range_of(in), w = mlxn_range_of(out);
    mlxn_dispatch d = {0};
    d.kernel = k;
    d.args = args;
    d.n_args = 3;
    d.grid = (mlxn_dim3){(n + 255) / 256, 1, 1};
    d.block = (mlxn_dim3){256, 1, 1};
    d.kind = MLXN_OP_OTHER;
    if (!bare) {
        d.reads = &r;
        d.n_reads = 1;
        d.writes = &w;
        d.n_writes = 1;
    }
    return mlxn_encoder_dispatch(enc, &d);
}

static mlxn_encoder *new_encoder(mlxn_device *dev, int auto_barrier)
{
    mlxn_encoder_params p = mlxn_encoder_params_default();
    p.auto_barrier = auto_barrier;
    mlxn_encoder *enc = NULL;
    return mlxn_encoder_create(dev, &p, &enc) == MLXN_OK ? enc : NULL;
}

TEST(stateful_dispatch_and_offsets)
{
    mlxn_device *dev = test_device();
    mlxn_encoder *enc = new_encoder(dev, 0);
    mlxn_buffer *a = u32_buffer(dev, N + 16, 5), *b = u32_buffer(dev, N, 0);
    mlxn_kernel *k = NULL;
    REQUIRE_OK(mlxn_kernel_get(dev, "debug_inc_u32", &k));
    uint32_t n = N;
    CHECK_OK(mlxn_encoder_set_kernel(enc, k));
    CHECK_OK(mlxn_encoder_set_buffer_offset(enc, 0, a, 16 * 4));
    CHECK_OK(mlxn_encoder_set_buffer(enc, 1, b));
    CHECK_OK(mlxn_encoder_set_bytes(enc, 2, &n, 4));
    CHECK_OK(mlxn_encoder_dispatch_threads(enc, (mlxn_dim3){N, 1, 1}, (mlxn_dim3){128, 1, 1}));
    CHECK(mlxn_encoder_pending_dispatches(enc) == 1);
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    /* b[i] = a[i + 16] + 1 = 5 + 7(i + 16) + 1 */
    CHECK(holds(b, N, 5 + 16 * 7, 1));
    /* A view carries its offset without being told. */
    mlxn_buffer *view = NULL;
    int64_t shape[1] = {N};
    REQUIRE_OK(mlxn_buffer_view(a, 8 * 4, MLXN_DTYPE_U32, 1, shape, &view));
    CHECK_OK(inc(enc, view, b, N, 0));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    CHECK(holds(b, N, 5 + 8 * 7, 1));
    /* Slots must be bound without gaps; a failed dispatch has no effect. */
    mlxn_counters before, after;
    mlxn_device_get_counters(dev, &before);
    CHECK_OK(mlxn_encoder_set_kernel(enc, k));
    CHECK_OK(mlxn_encoder_set_buffer(enc, 0, a));
    CHECK_OK(mlxn_encoder_set_bytes(enc, 2, &n, 4));
    CHECK(mlxn_encoder_dispatch_groups(enc, (mlxn_dim3){1, 1, 1}, (mlxn_dim3){32, 1, 1}) ==
          MLXN_ERR_INVALID_ARG);
    CHECK(strstr(mlxn_last_error(dev), "gap") != NULL);
    mlxn_device_get_counters(dev, &after);
    CHECK(after.dispatches == before.dispatches);
    CHECK(mlxn_encoder_pending_dispatches(enc) == 0);
    mlxn_buffer_destroy(view);
    mlxn_buffer_destroy(a);
    mlxn_buffer_destroy(b);
    mlxn_encoder_destroy(enc);
}

TEST(dispatch_validation)
{
    mlxn_device *dev = test_device();
    mlxn_encoder *enc = new_encoder(dev, 0);
    mlxn_buffer *a = u32_buffer(dev, 4, 0);
    mlxn_kernel *k = NULL;
    REQUIRE_OK(mlxn_kernel_get(dev, "debug_inc_u32", &k));
    uint32_t n = 4;
    mlxn_arg args[3] = {mlxn_arg_buffer(a), mlxn_arg_buffer(a), mlxn_arg_bytes(&n, 4)};
    mlxn_dispatch d = {0};
    d.kernel = k;
    d.args = args;
    d.n_args = 3;
    d.grid = (mlxn_dim3){1, 1, 1};
    d.block = (mlxn_dim3){2048, 1, 1};
    CHECK(mlxn_encoder_dispatch(enc, &d) == MLXN_ERR_INVALID_ARG);
    d.block = (mlxn_dim3){32, 1, 1};
    d.grid = (mlxn_dim3){0, 1, 1};
    CHECK(mlxn_encoder_dispatch(enc, &d) == MLXN_ERR_INVALID_ARG);
    d.grid = (mlxn_dim3){1, 1, 1};
    args[2] = mlxn_arg_bytes(&n, MLXN_MAX_ARG_BYTES + 1);
    CHECK(mlxn_encoder_dispatch(enc, &d) == MLXN_ERR_INVALID_ARG);
    args[2] = mlxn_arg_bytes(&n, 4);
    args[0] = mlxn_arg_buffer_at(a, 17);
    CHECK(mlxn_encoder_dispatch(enc, &d) == MLXN_ERR_INVALID_ARG);
    args[0] = mlxn_arg_buffer(a);
    d.kernel = NULL;
    CHECK(mlxn_encoder_dispatch(enc, &d) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_encoder_pending_dispatches(enc) == 0);
    mlxn_buffer_destroy(a);
    mlxn_encoder_destroy(enc);
}

TEST(counters_for_a_scripted_sequence)
{
    mlxn_device *dev = test_device();
    mlxn_buffer *b[6];
    for (int i = 0; i < 6; i++)
        b[i] = u32_buffer(dev, N, 100);
    mlxn_encoder *enc = new_encoder(dev, 0);
    mlxn_device_reset_counters(dev);
    CHECK_OK(inc(enc, b[0], b[1], N, 0));
    CHECK_OK(inc(enc, b[1], b[2], N, 0));
    CHECK_OK(mlxn_encoder_barrier(enc));
    CHECK_OK(inc(enc, b[2], b[3], N, 0));
    CHECK_OK(mlxn_encoder_commit(enc));
    CHECK_OK(inc(enc, b[3], b[4], N, 0));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    CHECK_OK(mlxn_encoder_commit(enc)); /* empty: not submitted */
    CHECK_OK(mlxn_encoder_wait(enc));   /* nothing in flight: no sync */
    mlxn_counters c;
    mlxn_device_get_counters(dev, &c);
    CHECK(c.dispatches == 4);
    CHECK(c.command_buffers == 2);
    CHECK(c.syncs == 1);
    CHECK(c.barriers == 1);
    CHECK(c.auto_barriers == 0);
    CHECK(c.elided_barriers == 0);
    CHECK(mlxn_device_kernel_dispatches(dev, "debug_inc_u32") == 4);
    CHECK(mlxn_device_kernel_dispatches(dev, "add_f32") == 0);
    CHECK(holds(b[4], N, 100, 4));
    mlxn_device_reset_counters(dev);
    mlxn_device_get_counters(dev, &c);
    CHECK(c.dispatches == 0 && c.command_buffers == 0 && c.syncs == 0);
    CHECK(mlxn_device_kernel_dispatches(dev, "debug_inc_u32") == 0);
    for (int i = 0; i < 6; i++)
        mlxn_buffer_destroy(b[i]);
    mlxn_encoder_destroy(enc);
}

/* Barrier inference: counts worked out by hand in the comments. */
TEST(auto_barriers_from_ranges)
{
    mlxn_device *dev = test_device();
    mlxn_buffer *b[8];
    for (int i = 0; i < 8; i++)
        b[i] = u32_buffer(dev, N, 10 * (uint32_t)i);
    mlxn_encoder *enc = new_encoder(dev, 1);
    mlxn_device_reset_counters(dev);
    CHECK_OK(inc(enc, b[0], b[1], N, 0)); /* nothing tracked: no barrier */
    CHECK_OK(inc(enc, b[1], b[2], N, 0)); /* reads what was written: barrier 1 */
    CHECK_OK(inc(enc, b[3], b[4], N, 0)); /* independent: none */
    CHECK_OK(mlxn_encoder_barrier(enc));  /* all annotated: elided 1 */
    CHECK_OK(inc(enc, b[0], b[5], N, 1)); /* unannotated: barrier 2 */
    CHECK_OK(inc(enc, b[6], b[7], N, 0)); /* after an unknown: barrier 3 */
    int emitted = -1;
    mlxn_range r7 = mlxn_range_of(b[7]), r0 = mlxn_range_of(b[0]);
    CHECK_OK(mlxn_encoder_barrier_between(enc, &r7, 1, NULL, 0, &emitted));
    CHECK(emitted == 1); /* b[7] was written: barrier 4 */
    CHECK_OK(mlxn_encoder_barrier_between(enc, &r0, 1, NULL, 0, &emitted));
    CHECK(emitted == 0); /* nothing tracked since: elided 2 */
    /* Write-after-read: a write to what a tracked dispatch reads. */
    CHECK_OK(mlxn_encoder_track_dispatch(enc, &r0, 1, NULL, 0));
    CHECK_OK(mlxn_encoder_barrier_between(enc, NULL, 0, &r0, 1, &emitted));
    CHECK(emitted == 1); /* barrier 5 */
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    mlxn_counters c;
    mlxn_device_get_counters(dev, &c);
    CHECK(c.dispatches == 5);
    CHECK_MSG(c.barriers == 5, "barriers %llu", (unsigned long long)c.barriers);
    CHECK_MSG(c.auto_barriers == 5, "auto %llu", (unsigned long long)c.auto_barriers);
    CHECK_MSG(c.elided_barriers == 2, "elided %llu", (unsigned long long)c.elided_barriers);
    CHECK(holds(b[2], N, 0, 2));
    CHECK(holds(b[4], N, 30, 1));
    CHECK(holds(b[5], N, 0, 1));
    CHECK(holds(b[7], N, 60, 1));
    /* Ranges cover views, not whole allocations: disjoint halves of one
     * buffer do not conflict. */
    mlxn_buffer *lo = NULL, *hi = NULL;
    int64_t half[1] = {N / 2};
    REQUIRE_OK(mlxn_buffer_view(b[0], 0, MLXN_DTYPE_U32, 1, half, &lo));
    REQUIRE_OK(mlxn_buffer_view(b[0], N / 2 * 4, MLXN_DTYPE_U32, 1, half, &hi));
    mlxn_device_reset_counters(dev);
    CHECK_OK(inc(enc, b[1], lo, N / 2, 0));
    CHECK_OK(inc(enc, b[1], hi, N / 2, 0));
    CHECK_OK(inc(enc, hi, b[3], N / 2, 0)); /* reads hi: barrier */
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    mlxn_device_get_counters(dev, &c);
    CHECK(c.auto_barriers == 1);
    mlxn_buffer_destroy(lo);
    mlxn_buffer_destroy(hi);
    for (int i = 0; i < 8; i++)
        mlxn_buffer_destroy(b[i]);
    mlxn_encoder_destroy(enc);
}

TEST(capture_and_replay)
{
    mlxn_device *dev = test_device();
    mlxn_buffer *b[4], *d[4];
    for (int i = 0; i < 4; i++) {
        b[i] = u32_buffer(dev, N, 3);
        d[i] = u32_buffer(dev, N, 3);
    }
    mlxn_encoder *enc = new_encoder(dev, 0);
    CHECK(!mlxn_encoder_is_capturing(enc));
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    CHECK(mlxn_encoder_start_capture(enc) == MLXN_ERR_STATE);
    CHECK(mlxn_encoder_is_capturing(enc));
    mlxn_device_reset_counters(dev);
    CHECK_OK(inc(enc, b[0], b[1], N, 0));
    CHECK_OK(inc(enc, b[1], b[2], N, 0));
    CHECK_OK(mlxn_encoder_barrier(enc));
    CHECK_OK(mlxn_encoder_barrier(enc)); /* consecutive barriers collapse */
    CHECK_OK(inc(enc, b[2], b[3], N, 1));
    CHECK(mlxn_encoder_commit(enc) == MLXN_ERR_STATE);
    mlxn_graph *g = NULL;
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g));
    CHECK(mlxn_encoder_take_capture(enc, &g) == MLXN_ERR_STATE);
    CHECK(mlxn_graph_node_count(g) == 4);
    CHECK(mlxn_graph_dispatch_count(g) == 3);
    CHECK(mlxn_graph_barrier_count(g) == 1);
    CHECK(mlxn_graph_unannotated_count(g) == 1);
    CHECK(mlxn_graph_node_type(g, 2) == MLXN_NODE_BARRIER);
    CHECK(!strcmp(mlxn_graph_node_kernel(g, 3), "debug_inc_u32"));
    mlxn_counters c;
    mlxn_device_get_counters(dev, &c);
    CHECK(c.dispatches == 0 && c.barriers == 0);
    CHECK_OK(mlxn_device_synchronize(dev));
    CHECK(holds(b[3], N, 3, 0)); /* nothing ran */
    /* Replay equals a direct run of the same dispatches. */
    for (size_t i = 0; i < mlxn_graph_node_count(g); i++)
        CHECK_OK(mlxn_encoder_replay_node(enc, g, i));
    CHECK_OK(inc(enc, d[0], d[1], N, 0));
    CHECK_OK(inc(enc, d[1], d[2], N, 0));
    CHECK_OK(mlxn_encoder_barrier(enc));
    CHECK_OK(inc(enc, d[2], d[3], N, 0));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    CHECK(holds(b[3], N, 3, 3));
    CHECK(holds(d[3], N, 3, 3));
    mlxn_device_get_counters(dev, &c);
    CHECK(c.dispatches == 6 && c.barriers == 2);
    mlxn_graph_destroy(g);
    mlxn_graph_destroy(NULL);
    for (int i = 0; i < 4; i++) {
        mlxn_buffer_destroy(b[i]);
        mlxn_buffer_destroy(d[i]);
    }
    mlxn_encoder_destroy(enc);
}

TEST(capture_annotations)
{
    mlxn_device *dev = test_device();
    mlxn_buffer *a = u32_buffer(dev, N, 0), *b = u32_buffer(dev, N, 0);
    mlxn_encoder *enc = new_encoder(dev, 0);
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    mlxn_range ra = mlxn_range_of(a), rb = mlxn_range_of(b);
    CHECK_OK(mlxn_encoder_set_op_kind(enc, MLXN_OP_MATMUL));
    CHECK_OK(mlxn_encoder_set_pending_ranges(enc, &ra, 1, &rb, 1));
    CHECK_OK(inc(enc, a, b, N, 1)); /* takes the pending kind and ranges */
    CHECK_OK(inc(enc, b, a, N, 1)); /* pending state was used up */
    CHECK_OK(inc(enc, a, b, N, 1));
    CHECK_OK(mlxn_encoder_annotate_last(enc, &ra, 1, &rb, 1));
    mlxn_graph *g = NULL;
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g));
    CHECK(mlxn_graph_node_kind(g, 0) == MLXN_OP_MATMUL);
    CHECK(mlxn_graph_node_kind(g, 1) == MLXN_OP_OTHER);
    CHECK(mlxn_graph_unannotated_count(g) == 1); /* only the middle one */
    mlxn_graph_destroy(g);
    /* With auto_barrier, capture records the inferred barriers. */
    mlxn_encoder *auto_enc = new_encoder(dev, 1);
    REQUIRE_OK(mlxn_encoder_start_capture(auto_enc));
    CHECK_OK(inc(auto_enc, a, b, N, 0));
    CHECK_OK(inc(auto_enc, b, a, N, 0));
    REQUIRE_OK(mlxn_encoder_take_capture(auto_enc, &g));
    CHECK(mlxn_graph_node_count(g) == 3);
    CHECK(mlxn_graph_node_type(g, 1) == MLXN_NODE_BARRIER);
    mlxn_graph_destroy(g);
    mlxn_buffer_destroy(a);
    mlxn_buffer_destroy(b);
    mlxn_encoder_destroy(auto_enc);
    mlxn_encoder_destroy(enc);
}

TEST(dispatch_records)
{
    mlxn_device *dev = test_device();
    mlxn_buffer *a = u32_buffer(dev, N, 9), *b = u32_buffer(dev, N, 0),
                *c = u32_buffer(dev, N, 0);
    mlxn_kernel *k = NULL;
    REQUIRE_OK(mlxn_kernel_get(dev, "debug_inc_u32", &k));
    uint32_t n = N;
    mlxn_arg args[3] = {mlxn_arg_buffer(NULL), mlxn_arg_buffer(NULL), mlxn_arg_bytes(&n, 4)};
    mlxn_record_params p = mlxn_record_params_default();
    p.kernel = k;
    p.args = args;
    p.n_args = 3;
    p.grid = (mlxn_dim3){(N + 255) / 256, 1, 1};
    p.block = (mlxn_dim3){256, 1, 1};
    mlxn_record *rec = NULL;
    REQUIRE_OK(mlxn_record_create(dev, &p, &rec));
    n = 0; /* the record copied the bytes */
    CHECK(mlxn_record_runtime_slots(rec) == 2);
    mlxn_encoder *enc = new_encoder(dev, 1);
    mlxn_buffer *ab[2] = {a, b}, *bc[2] = {b, c};
    CHECK_OK(mlxn_encoder_dispatch_record(enc, rec, ab, 2));
    CHECK_OK(mlxn_encoder_dispatch_record(enc, rec, bc, 2));
    CHECK(mlxn_encoder_dispatch_record(enc, rec, ab, 1) == MLXN_ERR_INVALID_ARG);
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    CHECK(holds(c, N, 9, 2));
    /* Records work in capture mode, and infer the barrier between them. */
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    CHECK_OK(mlxn_encoder_dispatch_record(enc, rec, ab, 2));
    CHECK_OK(mlxn_encoder_dispatch_record(enc, rec, bc, 2));
    mlxn_graph *g = NULL;
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g));
    CHECK(mlxn_graph_dispatch_count(g) == 2 && mlxn_graph_barrier_count(g) == 1);
    mlxn_record_destroy(rec); /* the graph keeps what it needs */
    CHECK_OK(mlxn_buffer_write(c, 0, &n, 4));
    for (size_t i = 0; i < mlxn_graph_node_count(g); i++)
        CHECK_OK(mlxn_encoder_replay_node(enc, g, i));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    CHECK(holds(c, N, 9, 2));
    mlxn_graph_destroy(g);
    mlxn_buffer_destroy(a);
    mlxn_buffer_destroy(b);
    mlxn_buffer_destroy(c);
    mlxn_encoder_destroy(enc);
}

/* A buffer destroyed while queued work still reads it stays valid until
 * that work completes. New allocations made meanwhile (which would reuse
 * freed memory) are filled with garbage to expose an early free. */
TEST(buffer_destroyed_while_in_flight)
{
    mlxn_device *dev = test_device();
    mlxn_encoder *enc = new_encoder(dev, 0);
    mlxn_buffer *flag = u32_buffer(dev, 1, 0);
    mlxn_buffer *src = u32_buffer(dev, 1 << 16, 11), *dst = u32_buffer(dev, 1 << 16, 0);
    mlxn_kernel *delay = NULL;
    REQUIRE_OK(mlxn_kernel_get(dev, "debug_delay_write", &delay));
    uint64_t ns = 100 * 1000 * 1000;
    uint32_t one = 1;
    mlxn_arg args[3] = {mlxn_arg_buffer(flag), mlxn_arg_bytes(&ns, 8), mlxn_arg_bytes(&one, 4)};
    mlxn_dispatch d = {0};
    d.kernel = delay;
    d.args = args;
    d.n_args = 3;
    d.grid = d.block = (mlxn_dim3){1, 1, 1};
    CHECK_OK(mlxn_encoder_dispatch(enc, &d));
    CHECK_OK(inc(enc, src, dst, 1 << 16, 0));
    mlxn_buffer_destroy(src);
    CHECK_OK(mlxn_encoder_commit(enc));
    mlxn_buffer *junk[4];
    for (int i = 0; i < 4; i++) {
        junk[i] = u32_buffer(dev, 1 << 16, 0);
        CHECK_OK(mlxn_buffer_fill(junk[i], 0, 0xee, 4u << 16));
    }
    CHECK_OK(mlxn_encoder_wait(enc));
    CHECK(holds(dst, 1 << 16, 11, 1));
    CHECK(holds(flag, 1, 1, 0));
    for (int i = 0; i < 4; i++)
        mlxn_buffer_destroy(junk[i]);
    mlxn_buffer_destroy(flag);
    mlxn_buffer_destroy(dst);
    mlxn_encoder_destroy(enc);
}

TEST(many_commits_then_one_wait)
{
    mlxn_device *dev = test_device();
    mlxn_encoder *enc = new_encoder(dev, 0);
    mlxn_buffer *a = u32_buffer(dev, N, 0), *b = u32_buffer(dev, N, 0);
    mlxn_device_reset_counters(dev);
    for (int i = 0; i < 100; i++) {
        CHECK_OK(inc(enc, (i & 1) ? b : a, (i & 1) ? a : b, N, 0));
        CHECK_OK(mlxn_encoder_set_label(enc, "step"));
        CHECK_OK(mlxn_encoder_commit(enc));
    }
    CHECK_OK(mlxn_encoder_wait(enc));
    CHECK(holds(a, N, 0, 100));
    mlxn_counters c;
    mlxn_device_get_counters(dev, &c);
    CHECK(c.command_buffers == 100 && c.dispatches == 100 && c.syncs == 1);
    mlxn_buffer_destroy(a);
    mlxn_buffer_destroy(b);
    mlxn_encoder_destroy(enc);
}

TEST(several_queues)
{
    mlxn_device *dev = test_device();
    mlxn_queue *q2 = NULL;
    REQUIRE_OK(mlxn_queue_create(dev, &q2));
    mlxn_encoder_params p = mlxn_encoder_params_default();
    p.queue = q2;
    mlxn_encoder *e1 = new_encoder(dev, 0), *e2 = NULL;
    REQUIRE_OK(mlxn_encoder_create(dev, &p, &e2));
    mlxn_buffer *a = u32_buffer(dev, N, 1), *b = u32_buffer(dev, N, 0);
    mlxn_buffer *c = u32_buffer(dev, N, 2), *d = u32_buffer(dev, N, 0);
    for (int i = 0; i < 10; i++) {
        CHECK_OK(inc(e1, (i & 1) ? b : a, (i & 1) ? a : b, N, 0));
        CHECK_OK(inc(e2, (i & 1) ? d : c, (i & 1) ? c : d, N, 0));
    }
    CHECK_OK(mlxn_encoder_commit(e1));
    CHECK_OK(mlxn_encoder_commit(e2));
    CHECK_OK(mlxn_queue_synchronize(q2));
    CHECK_OK(mlxn_encoder_wait(e1));
    CHECK(holds(a, N, 1, 10));
    CHECK(holds(c, N, 2, 10));
    mlxn_encoder_destroy(e1);
    mlxn_encoder_destroy(e2);
    mlxn_queue_destroy(q2);
    mlxn_queue_destroy(mlxn_device_default_queue(dev)); /* a no-op */
    mlxn_buffer_destroy(a);
    mlxn_buffer_destroy(b);
    mlxn_buffer_destroy(c);
    mlxn_buffer_destroy(d);
}

/* ---- device faults, in a child process ---------------------------------------------
 * A CUDA fault poisons the whole process, so the scenario runs in a child
 * (this binary with --child-fault) and reports through its exit code. */
static int fault_scenario(mlxn_backend backend)
{
    mlxn_device_params p = mlxn_device_params_default();
    p.backend = backend;
    mlxn_device *dev = NULL;
    if (mlxn_device_create(&p, &dev) != MLXN_OK)
        return 77;
    mlxn_encoder *enc = new_encoder(dev, 0);
    mlxn_kernel *k = NULL;
    if (!enc || mlxn_kernel_get(dev, "debug_fault", &k) != MLXN_OK)
        return 10;
    uint64_t bad = 8; /* an unmapped address */
    mlxn_arg arg = mlxn_arg_bytes(&bad, 8);
    mlxn_dispatch d = {0};
    d.kernel = k;
    d.args = &arg;
    d.n_args = 1;
    d.grid = d.block = (mlxn_dim3){1, 1, 1};
    mlxn_encoder_set_label(enc, "fault-stage");
    if (mlxn_encoder_dispatch(enc, &d) != MLXN_OK)
        return 11;
    mlxn_status st = mlxn_encoder_commit_and_wait(enc);
    printf("    child: wait -> %s: %s\n", mlxn_status_name(st), mlxn_last_error(dev));
    if (st != MLXN_ERR_GPU)
        return 12;
    if (!strstr(mlxn_last_error(dev), "fault-stage"))
        return 13;
    if (mlxn_device_status(dev) != MLXN_ERR_GPU)
        return 14;
    /* Sticky: later work is refused with the original cause. */
    mlxn_buffer *b = NULL;
    int64_t shape[1] = {4};
    if (mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 1, shape, &b) != MLXN_ERR_GPU)
        return 15;
    if (!strstr(mlxn_last_error(dev), "earlier fault"))
        return 16;
    if (mlxn_encoder_dispatch(enc, &d) != MLXN_ERR_GPU)
        return 17;
    return 0;
}

int mlxn_test_extra_arg(int argc, char **argv, int *i)
{
    (void)argc;
    if (strcmp(argv[*i], "--child-fault"))
        return 0;
    int rc = fault_scenario(test_backend());
    fflush(stdout);
    _exit(rc);
}

TEST(device_fault_is_reported_not_swallowed)
{
    mlxn_device *dev = test_device();
    (void)dev;
    const char *backend = test_backend() == MLXN_BACKEND_CUDA ? "cuda" : "cpu";
    char *argv[] = {(char *)test_argv0(), "--backend", (char *)backend, "--child-fault", NULL};
    pid_t pid;
    extern char **environ;
    fflush(stdout);
    REQUIRE_OK(posix_spawn(&pid, test_argv0(), NULL, NULL, argv, environ) == 0
                   ? MLXN_OK
                   : MLXN_ERR_STATE);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFEXITED(status), "child crashed (signal %d)",
              WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child scenario failed at step %d",
              WEXITSTATUS(status));
}

/* Ordered small writes land between the work before and after them. */
TEST(update_buffer_is_ordered)
{
    mlxn_device *dev = test_device();
    mlxn_encoder *enc = new_encoder(dev, 0);
    mlxn_buffer *a = u32_buffer(dev, 64, 0), *b = u32_buffer(dev, 64, 0);
    mlxn_buffer *flag = u32_buffer(dev, 1, 0);
    mlxn_kernel *delay = NULL;
    REQUIRE_OK(mlxn_kernel_get(dev, "debug_delay_write", &delay));
    /* A slow kernel first, so the writes must wait in queue order. */
    uint64_t ns = 20 * 1000 * 1000;
    uint32_t one = 1;
    mlxn_arg args[3] = {mlxn_arg_buffer(flag), mlxn_arg_bytes(&ns, 8), mlxn_arg_bytes(&one, 4)};
    mlxn_dispatch d = {0};
    d.kernel = delay;
    d.args = args;
    d.n_args = 3;
    d.grid = d.block = (mlxn_dim3){1, 1, 1};
    CHECK_OK(mlxn_encoder_dispatch(enc, &d));
    CHECK_OK(inc(enc, a, b, 64, 0));           /* b = a + 1 (old a) */
    uint32_t vals[12];
    for (int i = 0; i < 12; i++)
        vals[i] = 1000u + (uint32_t)i * 7u;
    CHECK_OK(mlxn_encoder_update_buffer(enc, a, 4, vals, sizeof vals));
    CHECK_OK(inc(enc, a, a, 64, 0));           /* sees the new values */
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    uint32_t got[64];
    CHECK_OK(mlxn_buffer_read(a, 0, got, sizeof got));
    CHECK(got[0] == 1);
    for (int i = 0; i < 12; i++)
        CHECK(got[1 + i] == vals[i] + 1);
    CHECK(got[13] == 13u * 7u + 1u);
    CHECK(holds(b, 64, 0, 1));
    uint32_t x = 5;
    CHECK(mlxn_encoder_update_buffer(enc, a, 2, &x, 4) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_encoder_update_buffer(enc, a, 0, &x, 3) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_encoder_update_buffer(enc, a, 256, &x, 4) == MLXN_ERR_INVALID_ARG);
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    CHECK(mlxn_encoder_update_buffer(enc, a, 0, &x, 4) == MLXN_ERR_STATE);
    mlxn_graph *g = NULL;
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g));
    mlxn_graph_destroy(g);
    mlxn_buffer_destroy(a);
    mlxn_buffer_destroy(b);
    mlxn_buffer_destroy(flag);
    mlxn_encoder_destroy(enc);
}
