/*
 * bench_fence.c: the cost of a timeline fence, against an event handoff
 * measured in the same run.
 *
 * Cross-queue handoff: a chain of K tiny kernels alternates between two
 * queues; before stage k its queue waits for stage k-1 (fence value, or a
 * raw CUDA event: cuEventRecord + cuStreamWaitEvent). Every stage is
 * queued behind a gate fence that the host opens once everything is
 * encoded, so the time from opening the gate to the last stage's signal
 * is GPU time. The same K kernels on one queue without handoffs are the
 * baseline; the cost per handoff is (chain - baseline) / (K - 1). Fence
 * waits run either through the signal's event (the wait is encoded after
 * its signal, the normal case) or through cuStreamWaitValue64 (forced).
 *
 * Host wait: one tiny kernel followed by a fence signal, observed with
 * mlxn_fence_wait (the host polls the fence word), against the same
 * kernel observed with mlxn_encoder_wait (cuEventSynchronize). Round trip
 * from encoding to the host seeing completion.
 *
 * Medians of many repetitions. Kernels launch without programmatic
 * dependent launch, so the baseline is plain stream order.
 *
 *   bench_fence [--backend cpu|cuda|auto] [--reps N] [--profile]
 *
 * --profile times every command buffer and dispatch (which slows what is
 * measured) and prints the profile table at the end.
 */
#include "bench/bench_util.h"
#include "core/fence.h"
#include "mlxn.h"
#ifdef MLXN_WITH_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

#include <stdio.h>
#include <string.h>

#define K 64 /* stages per chain */

enum { BASELINE, FENCE_EVENT, FENCE_MEMOP, RAW_EVENT, SESSION_PLAIN, SESSION_FENCED };

typedef struct bench {
    mlxn_device *dev;
    mlxn_queue *qa, *qb;
    mlxn_encoder *ea, *eb;
    mlxn_kernel *inc;
    mlxn_buffer *buf; /* 32 u32 counters, +1 per stage */
    mlxn_session *sess; /* on queue A, for the same-queue stage chains */
    mlxn_fence *gate, *chain, *chain_memop, *done;
    uint64_t gate_v, chain_v, done_v;
    uint64_t stages_run;
#ifdef MLXN_WITH_CUDA
    CUevent ev[K];
#endif
} bench;

static int ok(mlxn_status st, bench *b, const char *what)
{
    if (st == MLXN_OK)
        return 1;
    printf("%s failed: %s\n", what, mlxn_last_error(b->dev));
    return 0;
}

static mlxn_status stage_kernel(bench *b, mlxn_encoder *enc)
{
    uint32_t n = 32;
    mlxn_arg args[3] = {mlxn_arg_buffer(b->buf), mlxn_arg_buffer(b->buf), mlxn_arg_bytes(&n, 4)};
    mlxn_dispatch d = {0};
    d.kernel = b->inc;
    d.args = args;
    d.n_args = 3;
    d.grid = (mlxn_dim3){1, 1, 1};
    d.block = (mlxn_dim3){32, 1, 1};
    return mlxn_encoder_dispatch(enc, &d);
}

#ifdef MLXN_WITH_CUDA
static int cuda_ok(bench *b, CUresult r, const char *what)
{
    if (r == CUDA_SUCCESS)
        return 1;
    printf("%s failed: CUresult %d\n", what, (int)r);
    (void)b;
    return 0;
}
#endif

static int fenced(int kind)
{
    return kind == FENCE_EVENT || kind == FENCE_MEMOP;
}

/* K stages on queue A through a session: each committed (and fenced),
 * then reset; stage k+1 of a fenced chain waits for stage k's value. */
static int encode_session_chain(bench *b, int kind)
{
    mlxn_encoder *enc = mlxn_session_encoder(b->sess);
    if (!ok(mlxn_encoder_wait_fence(enc, b->gate, b->gate_v), b, "gate wait"))
        return 0;
    for (int k = 0; k < K; k++) {
        if (!ok(stage_kernel(b, enc), b, "dispatch"))
            return 0;
        if (k == K - 1)
            break;
        mlxn_status st = kind == SESSION_FENCED ? mlxn_session_fence_stage(b->sess, "stage")
                                                : mlxn_session_commit_stage(b->sess);
        if (!ok(st, b, "stage commit") ||
            !ok(mlxn_session_reset_for_next_stage(b->sess), b, "reset"))
            return 0;
    }
    b->stages_run += K;
    return ok(mlxn_encoder_signal_fence(enc, b->done, ++b->done_v), b, "done signal") &&
           ok(mlxn_session_commit_stage(b->sess), b, "commit") &&
           ok(mlxn_session_reset_for_next_stage(b->sess), b, "reset");
}

/* Encode one gated chain of the given kind; returns 0 on failure. */
static int encode_chain(bench *b, int kind)
{
    uint64_t gate = ++b->gate_v;
    if (kind == SESSION_PLAIN || kind == SESSION_FENCED)
        return encode_session_chain(b, kind);
    if (!ok(mlxn_encoder_wait_fence(b->ea, b->gate, gate), b, "gate wait") ||
        !ok(mlxn_encoder_wait_fence(b->eb, b->gate, gate), b, "gate wait"))
        return 0;
    mlxn_fence *chain = kind == FENCE_MEMOP ? b->chain_memop : b->chain;
    b->chain_v = chain->f.issued;
    mlxn_encoder *last = b->ea;
    for (int k = 0; k < K; k++) {
        mlxn_encoder *enc = kind == BASELINE ? b->ea : (k % 2 ? b->eb : b->ea);
        if (k > 0 && fenced(kind) &&
            !ok(mlxn_encoder_wait_fence(enc, chain, b->chain_v), b, "chain wait"))
            return 0;
#ifdef MLXN_WITH_CUDA
        const mlxn__cu *cu = mlxn__cuda_of(b->dev)->cu;
        CUstream s = mlxn__cuda_stream(enc == b->ea ? b->qa : b->qb);
        if (k > 0 && kind == RAW_EVENT &&
            !cuda_ok(b, cu->cuStreamWaitEvent(s, b->ev[k - 1], 0), "cuStreamWaitEvent"))
            return 0;
#endif
        if (!ok(stage_kernel(b, enc), b, "dispatch"))
            return 0;
        if (fenced(kind) && !ok(mlxn_encoder_signal_fence(enc, chain, ++b->chain_v), b,
                                "chain signal"))
            return 0;
#ifdef MLXN_WITH_CUDA
        if (kind == RAW_EVENT && !cuda_ok(b, cu->cuEventRecord(b->ev[k], s), "cuEventRecord"))
            return 0;
#endif
        last = enc;
    }
    b->stages_run += K;
    return ok(mlxn_encoder_signal_fence(last, b->done, ++b->done_v), b, "done signal") &&
           ok(mlxn_encoder_commit(b->ea), b, "commit") &&
           ok(mlxn_encoder_commit(b->eb), b, "commit");
}

/* Microseconds from opening the gate to the chain's last signal. */
static double run_chain(bench *b, int kind)
{
    if (!encode_chain(b, kind))
        return -1;
    double t0 = bench_now_us();
    if (!ok(mlxn_fence_signal(b->gate, b->gate_v), b, "gate signal") ||
        !ok(mlxn_fence_wait(b->done, b->done_v, MLXN_WAIT_FOREVER), b, "done wait"))
        return -1;
    double t = bench_now_us() - t0;
    if (!ok(mlxn_encoder_wait(b->ea), b, "wait") || !ok(mlxn_encoder_wait(b->eb), b, "wait") ||
        !ok(mlxn_session_wait(b->sess), b, "wait"))
        return -1;
    return t;
}

static double median_chain(bench *b, int kind, int reps)
{
    double *t = malloc((size_t)reps * sizeof *t);
    for (int r = -3; r < reps; r++) {
        double v = run_chain(b, kind);
        if (v < 0) {
            free(t);
            return -1;
        }
        if (r >= 0)
            t[r] = v;
    }
    double m = bench_median(t, reps);
    free(t);
    return m;
}

/* Round trip of one tiny kernel, observed by a fence or an event. */
static double median_host_wait(bench *b, int use_fence, int reps)
{
    double *t = malloc((size_t)reps * sizeof *t);
    for (int r = -10; r < reps; r++) {
        double t0 = bench_now_us();
        if (!ok(stage_kernel(b, b->ea), b, "dispatch")) {
            free(t);
            return -1;
        }
        mlxn_status st;
        if (use_fence) {
            st = mlxn_encoder_signal_fence(b->ea, b->done, ++b->done_v);
            if (st == MLXN_OK)
                st = mlxn_encoder_commit(b->ea);
            if (st == MLXN_OK)
                st = mlxn_fence_wait(b->done, b->done_v, MLXN_WAIT_FOREVER);
        } else {
            st = mlxn_encoder_commit_and_wait(b->ea);
        }
        double v = bench_now_us() - t0;
        if (!ok(st, b, "host wait")) {
            free(t);
            return -1;
        }
        if (r >= 0)
            t[r] = v;
        b->stages_run++;
    }
    double m = bench_median(t, reps);
    free(t);
    return ok(mlxn_encoder_wait(b->ea), b, "wait") ? m : -1;
}

static int setup(bench *b, mlxn_backend backend, unsigned profile)
{
    mlxn_device_params dp = mlxn_device_params_default();
    dp.backend = backend;
    dp.pdl = 0;
    dp.profile = profile;
    if (mlxn_device_create(&dp, &b->dev) != MLXN_OK) {
        printf("no device: %s\n", mlxn_last_error(NULL));
        return 0;
    }
    mlxn_encoder_params ep = mlxn_encoder_params_default();
    int64_t shape[1] = {32};
    if (!ok(mlxn_queue_create(b->dev, &b->qa), b, "queue") ||
        !ok(mlxn_queue_create(b->dev, &b->qb), b, "queue") ||
        !ok(mlxn_kernel_get(b->dev, "debug_inc_u32", &b->inc), b, "kernel") ||
        !ok(mlxn_buffer_create_tensor(b->dev, MLXN_DTYPE_U32, 1, shape, &b->buf), b, "buffer"))
        return 0;
    ep.queue = b->qa;
    if (!ok(mlxn_encoder_create(b->dev, &ep, &b->ea), b, "encoder"))
        return 0;
    ep.queue = b->qb;
    if (!ok(mlxn_encoder_create(b->dev, &ep, &b->eb), b, "encoder") ||
        !ok(mlxn_fence_create(b->dev, 0, &b->gate), b, "fence") ||
        !ok(mlxn_fence_create(b->dev, 0, &b->chain), b, "fence") ||
        !ok(mlxn_fence_create(b->dev, 0, &b->chain_memop), b, "fence") ||
        !ok(mlxn_fence_create(b->dev, 0, &b->done), b, "fence"))
        return 0;
    b->chain_memop->f.memop_only = 1;
    mlxn_session_params sp = mlxn_session_params_default();
    sp.queue = b->qa;
    if (!ok(mlxn_session_create(b->dev, &sp, &b->sess), b, "session"))
        return 0;
#ifdef MLXN_WITH_CUDA
    if (mlxn_device_backend(b->dev) == MLXN_BACKEND_CUDA) {
        if (mlxn__cuda_bind(b->dev) != MLXN_OK)
            return 0;
        for (int k = 0; k < K; k++)
            if (!cuda_ok(b, mlxn__cuda_of(b->dev)->cu->cuEventCreate(&b->ev[k],
                                                                      CU_EVENT_DISABLE_TIMING),
                         "cuEventCreate"))
                return 0;
    }
#endif
    return 1;
}

static void teardown(bench *b)
{
#ifdef MLXN_WITH_CUDA
    if (b->dev && mlxn_device_backend(b->dev) == MLXN_BACKEND_CUDA)
        for (int k = 0; k < K; k++)
            if (b->ev[k])
                mlxn__cuda_of(b->dev)->cu->cuEventDestroy(b->ev[k]);
#endif
    mlxn_session_destroy(b->sess);
    mlxn_encoder_destroy(b->ea);
    mlxn_encoder_destroy(b->eb);
    mlxn_fence_destroy(b->gate);
    mlxn_fence_destroy(b->chain);
    mlxn_fence_destroy(b->chain_memop);
    mlxn_fence_destroy(b->done);
    mlxn_buffer_destroy(b->buf);
    mlxn_queue_destroy(b->qa);
    mlxn_queue_destroy(b->qb);
    mlxn_device_destroy(b->dev);
}

/* The residency limits the device reports (docs/sessions.md quotes them). */
static void print_limits(mlxn_device *dev)
{
    mlxn_device_info info;
    mlxn_residency_set *set = NULL;
    if (mlxn_device_get_info(dev, &info) != MLXN_OK ||
        mlxn_residency_set_create(dev, NULL, &set) != MLXN_OK)
        return;
    mlxn_residency_stats st;
    mlxn_residency_set_get_stats(set, &st);
    printf("\nresidency: L2 %lld bytes, max persisting L2 %lld bytes, granted %zu bytes, "
           "max access-policy window %zu bytes\n",
           (long long)info.l2_bytes, (long long)info.max_persisting_l2, st.persisting_l2_bytes,
           st.max_window_bytes);
    mlxn_residency_set_destroy(set);
}

int main(int argc, char **argv)
{
    mlxn_backend backend = MLXN_BACKEND_AUTO;
    int reps = 101;
    unsigned profile = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
            const char *s = argv[++i];
            backend = !strcmp(s, "cpu")    ? MLXN_BACKEND_CPU
                      : !strcmp(s, "cuda") ? MLXN_BACKEND_CUDA
                                           : MLXN_BACKEND_AUTO;
        } else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--profile")) {
            profile = MLXN_PROFILE_COMMAND_BUFFERS | MLXN_PROFILE_DISPATCHES;
        } else {
            printf("usage: %s [--backend cpu|cuda|auto] [--reps N] [--profile]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1)
        reps = 1;
    bench b;
    memset(&b, 0, sizeof b);
    if (!setup(&b, backend, profile)) {
        teardown(&b);
        return 1;
    }
    int cuda = mlxn_device_backend(b.dev) == MLXN_BACKEND_CUDA;
    printf("timeline fences on %s: chains of %d tiny kernels over two queues, medians of %d\n\n",
           mlxn_device_name(b.dev), K, reps);
    /* Rows print as they are measured; a failed one says so and the
     * rest still run. */
    printf("| measurement | median us | per handoff / stage / round trip us |\n"
           "|---|---:|---:|\n");
    int failed = 0;
    double base = median_chain(&b, BASELINE, reps);
    failed |= base < 0;
    printf("| one queue, %d kernels, no handoff (baseline) | %.2f | %.2f per kernel |\n", K, base,
           base / K);
    static const struct {
        int kind, cuda_only;
        const char *what, *unit;
    } rows[] = {
        {RAW_EVENT, 1, "two queues, raw CUDA event handoff (cuEventRecord + cuStreamWaitEvent)",
         ""},
        {FENCE_EVENT, 0, "two queues, mlxn fence handoff (signal: write + event; wait: event)", ""},
        {FENCE_MEMOP, 1, "two queues, mlxn fence handoff, wait forced to cuStreamWaitValue64", ""},
        {SESSION_PLAIN, 0, "one queue, session stages: commit_stage + reset", " per stage"},
        {SESSION_FENCED, 0, "one queue, session stages: fence_stage + reset (signal N+1, wait N)",
         " per stage"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].cuda_only && !cuda)
            continue;
        double t = base < 0 ? -1 : median_chain(&b, rows[i].kind, reps);
        if (t < 0) {
            printf("| %s | failed | |\n", rows[i].what);
            failed = 1;
            continue;
        }
        const char *what = rows[i].kind == FENCE_EVENT && !cuda
                               ? "two queues, mlxn fence handoff (counter + condition variable)"
                               : rows[i].what;
        printf("| %s | %.2f | %.2f%s |\n", what, t, (t - base) / (K - 1), rows[i].unit);
    }
    double hw_event = median_host_wait(&b, 0, reps * 5);
    printf("| host sees one kernel done: %s | | %.2f |\n",
           cuda ? "mlxn_encoder_wait (cuEventSynchronize)" : "mlxn_encoder_wait", hw_event);
    double hw_fence = median_host_wait(&b, 1, reps * 5);
    printf("| host sees one kernel done: mlxn_fence_wait (%s) | | %.2f |\n",
           cuda ? "polls the fence word" : "condition variable", hw_fence);
    failed |= hw_event < 0 || hw_fence < 0;
    uint32_t got = 0;
    mlxn_buffer_read(b.buf, 0, &got, 4);
    if (!failed && got != (uint32_t)b.stages_run) {
        printf("wrong result: %u increments, expected %llu (a handoff did not order)\n", got,
               (unsigned long long)b.stages_run);
        failed = 1;
    }
    print_limits(b.dev);
    if (profile) {
        printf("\n");
        mlxn_profile_dump(b.dev, MLXN_PROFILE_TABLE, stdout);
    }
    teardown(&b);
    return failed;
}
