/*
 * test_session.c: encoder sessions (state machine, fenced stage chains,
 * cross-queue stages), timeline fences (queue and host signals and waits,
 * timeouts, value rules, waits encoded before their signals), and device
 * errors of fenced stages (in child processes). Residency sets and
 * profiling are in test_profile.c.
 */
#define MLXN_TEST_MAIN
#include "test.h"

#include "core/fence.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "session_util.h"

/* ---- the session state machine ------------------------------------------------------ */
TEST(session_state_machine)
{
    mlxn_device *dev = test_device();
    mlxn_session *s = new_session(dev, NULL);
    REQUIRE_OK(s ? MLXN_OK : MLXN_ERR_STATE);
    mlxn_buffer *a = u32_buffer(dev, 64, 0);
    CHECK(!mlxn_session_is_drained(s) && !mlxn_session_is_fence_pending(s));
    CHECK(!mlxn_session_has_event(s) && mlxn_session_fence(s) == NULL);
    CHECK(mlxn_session_fence_value(s) == 0 && mlxn_session_wait_count(s) == 0);
    /* A reset while encoding is a no-op. */
    CHECK_OK(mlxn_session_reset_for_next_stage(s));
    CHECK(!mlxn_session_is_drained(s) && mlxn_session_wait_count(s) == 0);

    mlxn_counters c0, c1;
    CHECK_OK(mlxn_session_begin_stage(s, "first"));
    CHECK_OK(inc(mlxn_session_encoder(s), a, a, 64));
    mlxn_device_get_counters(dev, &c0);
    CHECK_OK(mlxn_session_commit_stage(s));
    CHECK(mlxn_session_is_drained(s) && !mlxn_session_is_fence_pending(s));
    /* Commits while drained are no-ops: nothing is submitted. */
    CHECK_OK(mlxn_session_commit_stage(s));
    CHECK_OK(mlxn_session_fence_stage(s, "ignored"));
    mlxn_device_get_counters(dev, &c1);
    CHECK(c1.command_buffers == c0.command_buffers + 1);
    CHECK(mlxn_session_fence_value(s) == 0 && !mlxn_session_has_event(s));
    /* commit_and_wait while drained still waits. */
    CHECK_OK(mlxn_session_commit_and_wait(s));
    CHECK(read_u32(a, 5) == 5u * 3u + 1u);
    /* A reset after a plain commit emits no wait. */
    CHECK_OK(mlxn_session_reset_for_next_stage(s));
    CHECK(!mlxn_session_is_drained(s) && mlxn_session_wait_count(s) == 0);

    CHECK_OK(inc(mlxn_session_encoder(s), a, a, 64));
    CHECK_OK(mlxn_session_fence_stage(s, "second"));
    CHECK(mlxn_session_is_drained(s) && mlxn_session_is_fence_pending(s));
    CHECK(mlxn_session_has_event(s) && mlxn_session_fence_value(s) == 1);
    CHECK_OK(mlxn_session_fence_stage(s, NULL)); /* drained: no-op */
    CHECK(mlxn_session_fence_value(s) == 1);
    CHECK_OK(mlxn_session_reset_for_next_stage(s));
    CHECK(!mlxn_session_is_drained(s) && !mlxn_session_is_fence_pending(s));
    CHECK(mlxn_session_wait_count(s) == 1 && mlxn_session_wait_value(s) == 1);
    CHECK_OK(mlxn_session_reset_for_next_stage(s)); /* no-op */
    CHECK(mlxn_session_wait_count(s) == 1);
    CHECK_OK(inc(mlxn_session_encoder(s), a, a, 64));
    CHECK_OK(mlxn_session_commit_and_wait(s));
    CHECK(read_u32(a, 5) == 5u * 3u + 3u);
    CHECK(mlxn_fence_value(mlxn_session_fence(s)) == 1);
    mlxn_buffer_destroy(a);
    mlxn_session_destroy(s);
}

/* N stages: N-1 fenced and reset, the last committed and waited for. */
TEST(fenced_stage_chain)
{
    enum { STAGES = 8, N = 300 };
    mlxn_device *dev = test_device();
    mlxn_session *s = new_session(dev, NULL);
    mlxn_buffer *a = u32_buffer(dev, N, 7);
    REQUIRE_OK(s && a ? MLXN_OK : MLXN_ERR_STATE);
    for (int k = 0; k < STAGES; k++) {
        char label[32];
        snprintf(label, sizeof label, "stage-%d", k);
        CHECK_OK(mlxn_session_begin_stage(s, label));
        CHECK_OK(inc(mlxn_session_encoder(s), a, a, N));
        if (k < STAGES - 1) {
            CHECK_OK(mlxn_session_fence_stage(s, NULL));
            CHECK(mlxn_session_fence_value(s) == (uint64_t)k + 1);
            CHECK_OK(mlxn_session_reset_for_next_stage(s));
        } else {
            CHECK_OK(mlxn_session_commit_and_wait(s));
        }
    }
    CHECK(mlxn_session_wait_count(s) == STAGES - 1);
    CHECK(mlxn_session_wait_value(s) == mlxn_session_fence_value(s));
    CHECK(mlxn_session_fence_value(s) == STAGES - 1);
    CHECK(mlxn_fence_value(mlxn_session_fence(s)) == STAGES - 1);
    CHECK(read_u32(a, N - 1) == 7u + (N - 1) * 3u + STAGES);
    CHECK(read_u32(a, 0) == 7u + STAGES);
    mlxn_buffer_destroy(a);
    mlxn_session_destroy(s);
}

/* Stage 1 on queue A is slow (it writes 42 after 100 ms); stage 2 on
 * queue B reads that value and adds one. Returns what stage 2 read + 1. */
static uint32_t cross_queue_run(mlxn_device *dev, int with_wait)
{
    mlxn_queue *qa = NULL, *qb = NULL;
    if (mlxn_queue_create(dev, &qa) != MLXN_OK || mlxn_queue_create(dev, &qb) != MLXN_OK)
        return 0xdead;
    mlxn_session *sa = new_session(dev, qa), *sb = new_session(dev, qb);
    mlxn_buffer *flag = u32_buffer(dev, 1, 0), *out = u32_buffer(dev, 1, 0);
    uint32_t got = 0xbad;
    CHECK_OK(mlxn_session_begin_stage(sa, "slow producer"));
    CHECK_OK(delay_write(mlxn_session_encoder(sa), flag, 100 * MS, 42));
    CHECK_OK(mlxn_session_fence_stage(sa, NULL));
    CHECK_OK(mlxn_session_begin_stage(sb, "consumer"));
    if (with_wait)
        CHECK_OK(mlxn_encoder_wait_fence(mlxn_session_encoder(sb), mlxn_session_fence(sa),
                                         mlxn_session_fence_value(sa)));
    CHECK_OK(inc(mlxn_session_encoder(sb), flag, out, 1));
    CHECK_OK(mlxn_session_commit_and_wait(sb));
    got = read_u32(out, 0);
    CHECK_OK(mlxn_session_wait(sa));
    CHECK(read_u32(flag, 0) == 42);
    mlxn_buffer_destroy(flag);
    mlxn_buffer_destroy(out);
    mlxn_session_destroy(sa);
    mlxn_session_destroy(sb);
    mlxn_queue_destroy(qa);
    mlxn_queue_destroy(qb);
    return got;
}

TEST(cross_queue_stage_waits_for_slow_stage)
{
    mlxn_device *dev = test_device();
    CHECK_MSG(cross_queue_run(dev, 1) == 43, "stage 2 did not see stage 1's result");
    /* Without the wait stage 2 reads the flag before stage 1 wrote it:
     * the check above is able to fail. */
    uint32_t unordered = cross_queue_run(dev, 0);
    CHECK_MSG(unordered == 1, "without the fence wait stage 2 read %u (expected the stale 1)",
              unordered);
}

/* The memory-wait path (cuStreamWaitValue64 on CUDA), forced: the wait
 * is encoded after its signal, so the driver sees the producer's work
 * first in submission order. */
TEST(memory_wait_orders_queues)
{
    mlxn_device *dev = test_device();
    mlxn_queue *qa = NULL, *qb = NULL;
    REQUIRE_OK(mlxn_queue_create(dev, &qa));
    REQUIRE_OK(mlxn_queue_create(dev, &qb));
    mlxn_session *sa = new_session(dev, qa), *sb = new_session(dev, qb);
    mlxn_fence *f = NULL;
    REQUIRE_OK(mlxn_fence_create(dev, 10, &f));
    f->f.memop_only = 1;
    CHECK(mlxn_fence_value(f) == 10 && mlxn_fence_device(f) == dev);
    mlxn_buffer *flag = u32_buffer(dev, 1, 0), *out = u32_buffer(dev, 1, 0);
    CHECK_OK(delay_write(mlxn_session_encoder(sa), flag, 50 * MS, 42));
    CHECK_OK(mlxn_encoder_signal_fence(mlxn_session_encoder(sa), f, 11));
    CHECK_OK(mlxn_session_commit_stage(sa));
    CHECK_OK(mlxn_encoder_wait_fence(mlxn_session_encoder(sb), f, 11));
    CHECK_OK(inc(mlxn_session_encoder(sb), flag, out, 1));
    CHECK_OK(mlxn_session_commit_and_wait(sb));
    CHECK(read_u32(out, 0) == 43);
    CHECK(mlxn_fence_value(f) == 11);
    CHECK_OK(mlxn_session_wait(sa));
    mlxn_buffer_destroy(flag);
    mlxn_buffer_destroy(out);
    mlxn_session_destroy(sa);
    mlxn_session_destroy(sb);
    mlxn_fence_destroy(f);
    mlxn_queue_destroy(qa);
    mlxn_queue_destroy(qb);
}

TEST(host_wait_times_out)
{
    mlxn_device *dev = test_device();
    mlxn_fence *f = NULL;
    REQUIRE_OK(mlxn_fence_create(dev, 0, &f));
    CHECK_OK(mlxn_fence_wait(f, 0, 0));
    CHECK(mlxn_fence_wait(f, 1, 0) == MLXN_ERR_TIMEOUT);
    CHECK(mlxn_fence_wait(f, 1, 2 * MS) == MLXN_ERR_TIMEOUT);
    CHECK(strstr(mlxn_last_error(dev), "not reached") != NULL);
    /* A queue signal behind slow work: not there yet, then there. */
    mlxn_encoder *enc = NULL;
    REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
    mlxn_buffer *flag = u32_buffer(dev, 1, 0);
    CHECK_OK(delay_write(enc, flag, 100 * MS, 9));
    CHECK_OK(mlxn_encoder_signal_fence(enc, f, 2));
    CHECK_OK(mlxn_encoder_commit(enc));
    CHECK(mlxn_fence_wait(f, 2, 1 * MS) == MLXN_ERR_TIMEOUT);
    CHECK_OK(mlxn_fence_wait(f, 2, MLXN_WAIT_FOREVER));
    CHECK(mlxn_fence_value(f) == 2);
    CHECK(read_u32(flag, 0) == 9); /* the signal came after the work */
    CHECK_OK(mlxn_fence_signal(f, 3));
    CHECK_OK(mlxn_fence_wait(f, 3, 0));
    CHECK_OK(mlxn_encoder_wait(enc));
    mlxn_buffer_destroy(flag);
    mlxn_encoder_destroy(enc);
    mlxn_fence_destroy(f);
}

TEST(host_signal_releases_queue_wait)
{
    mlxn_device *dev = test_device();
    mlxn_fence *f = NULL;
    REQUIRE_OK(mlxn_fence_create(dev, 0, &f));
    mlxn_encoder *enc = NULL;
    REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
    mlxn_buffer *a = u32_buffer(dev, 16, 100), *b = u32_buffer(dev, 16, 0);
    CHECK_OK(mlxn_encoder_wait_fence(enc, f, 5));
    CHECK_OK(inc(enc, a, b, 16));
    CHECK_OK(mlxn_encoder_commit(enc));
    sleep_ms(30);
    CHECK_MSG(read_u32(b, 3) == 9, "the queue ran past an unsignalled wait");
    CHECK_OK(mlxn_fence_signal(f, 5));
    CHECK_OK(mlxn_encoder_wait(enc));
    CHECK(read_u32(b, 3) == 100u + 9u + 1u);
    /* Values must rise. */
    CHECK(mlxn_fence_signal(f, 5) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_encoder_signal_fence(enc, f, 4) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_fence_value(f) == 5);
    mlxn_buffer_destroy(a);
    mlxn_buffer_destroy(b);
    mlxn_encoder_destroy(enc);
    mlxn_fence_destroy(f);
}

TEST(fence_argument_checks)
{
    mlxn_device *dev = test_device();
    mlxn_fence *f = NULL, *other = NULL;
    REQUIRE_OK(mlxn_fence_create(dev, 0, &f));
    mlxn_encoder *enc = NULL;
    REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
    CHECK(mlxn_fence_create(dev, 0, NULL) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_encoder_signal_fence(enc, NULL, 1) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_fence_wait(NULL, 1, 0) == MLXN_ERR_INVALID_ARG);
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    CHECK(mlxn_encoder_signal_fence(enc, f, 1) == MLXN_ERR_STATE);
    CHECK(mlxn_encoder_wait_fence(enc, f, 1) == MLXN_ERR_STATE);
    mlxn_graph *g = NULL;
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g));
    mlxn_graph_destroy(g);
    if (test_cpu() != dev) {
        REQUIRE_OK(mlxn_fence_create(test_cpu(), 0, &other));
        CHECK(mlxn_encoder_signal_fence(enc, other, 1) == MLXN_ERR_INVALID_ARG);
        CHECK(strstr(mlxn_last_error(dev), "another device") != NULL);
    }
    /* A wait for a value already reached is satisfied at once. */
    CHECK_OK(mlxn_encoder_wait_fence(enc, f, 0));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    mlxn_fence_destroy(NULL);
    mlxn_fence_destroy(other);
    mlxn_fence_destroy(f);
    mlxn_encoder_destroy(enc);
}

/* A fence handle destroyed while its signal is queued: the command buffer
 * keeps the word alive. */
TEST(fence_destroyed_while_signal_queued)
{
    mlxn_device *dev = test_device();
    mlxn_fence *f = NULL;
    REQUIRE_OK(mlxn_fence_create(dev, 0, &f));
    mlxn_encoder *enc = NULL;
    REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
    mlxn_buffer *flag = u32_buffer(dev, 1, 0);
    CHECK_OK(delay_write(enc, flag, 20 * MS, 1));
    CHECK_OK(mlxn_encoder_signal_fence(enc, f, 1));
    CHECK_OK(mlxn_encoder_commit(enc));
    mlxn_fence_destroy(f);
    CHECK_OK(mlxn_encoder_wait(enc));
    CHECK(read_u32(flag, 0) == 1);
    mlxn_buffer_destroy(flag);
    mlxn_encoder_destroy(enc);
}

/* ---- errors of fenced stages, in child processes -------------------------------------
 * A CUDA fault poisons the process, so each scenario runs in a child (this
 * binary with --child-fault N) and reports the step it failed at through
 * its exit code; an alarm turns a hang into a failure. */
#define STEP(n)                                                                \
    do {                                                                       \
        step = (n);                                                            \
        printf("    child: step %d\n", step);                                  \
        fflush(stdout);                                                        \
    } while (0)

static mlxn_device *child_device(mlxn_backend backend)
{
    alarm(15);
    mlxn_device_params p = mlxn_device_params_default();
    p.backend = backend;
    mlxn_device *dev = NULL;
    return mlxn_device_create(&p, &dev) == MLXN_OK ? dev : NULL;
}

/* One queue: stage 1 faults and is fenced, stage 2 waits for it. The
 * wait returns the error naming stage 1; so does a host wait on the
 * session fence for a value that cannot come. */
static int fault_one_queue(mlxn_backend backend)
{
    int step = 0;
    mlxn_device *dev = child_device(backend);
    if (!dev)
        return 77;
    mlxn_session *s = new_session(dev, NULL);
    mlxn_buffer *x = u32_buffer(dev, 4, 0);
    STEP(1);
    mlxn_session_begin_stage(s, "stage-1-fault");
    if (fault(mlxn_session_encoder(s)) != MLXN_OK)
        return step;
    /* From here on the fault may already have happened: calls that meet
     * it return it, which is fine; the waits below must return it. */
    mlxn_status st = mlxn_session_fence_stage(s, NULL);
    if ((st != MLXN_OK && st != MLXN_ERR_GPU) || !mlxn_session_is_drained(s))
        return step;
    STEP(2);
    st = mlxn_session_reset_for_next_stage(s);
    mlxn_session_begin_stage(s, "stage-2");
    if (st == MLXN_OK)
        st = inc(mlxn_session_encoder(s), x, x, 4);
    if (st != MLXN_OK && st != MLXN_ERR_GPU)
        return step;
    STEP(3);
    st = mlxn_session_commit_and_wait(s);
    printf("    child: stage 2 -> %s: %s\n", mlxn_status_name(st), mlxn_last_error(dev));
    if (st != MLXN_ERR_GPU || !strstr(mlxn_last_error(dev), "stage-1-fault"))
        return step;
    STEP(4);
    st = mlxn_fence_wait(mlxn_session_fence(s), 2, 10000 * MS);
    printf("    child: host wait -> %s: %s\n", mlxn_status_name(st), mlxn_last_error(dev));
    if (st != MLXN_ERR_GPU || mlxn_device_status(dev) != MLXN_ERR_GPU)
        return step;
    return 0;
}

/* Two queues: B waits for a value that A signals after a faulting kernel,
 * through the memory wait (B's wait encoded first) or through A's signal
 * event (encoded after). B's wait must return the error, not hang. */
static int fault_waiting_queue(mlxn_backend backend, int wait_first)
{
    int step = 0;
    mlxn_device *dev = child_device(backend);
    if (!dev)
        return 77;
    mlxn_queue *qb = NULL;
    mlxn_fence *f = NULL;
    if (mlxn_queue_create(dev, &qb) != MLXN_OK || mlxn_fence_create(dev, 0, &f) != MLXN_OK)
        return 10;
    mlxn_session *sa = new_session(dev, NULL), *sb = new_session(dev, qb);
    mlxn_buffer *x = u32_buffer(dev, 4, 0), *y = u32_buffer(dev, 4, 0);
    mlxn_encoder *ea = mlxn_session_encoder(sa), *eb = mlxn_session_encoder(sb);
    STEP(1);
    mlxn_session_begin_stage(sb, "consumer");
    if (wait_first && (mlxn_encoder_wait_fence(eb, f, 1) != MLXN_OK ||
                       inc(eb, x, y, 4) != MLXN_OK || mlxn_session_commit_stage(sb) != MLXN_OK))
        return step;
    STEP(2);
    mlxn_session_begin_stage(sa, "producer-fault");
    if (fault(ea) != MLXN_OK || mlxn_encoder_signal_fence(ea, f, 1) != MLXN_OK)
        return step;
    mlxn_status st = mlxn_session_commit_stage(sa);
    if (st != MLXN_OK && st != MLXN_ERR_GPU)
        return step;
    STEP(3);
    if (!wait_first) {
        st = mlxn_encoder_wait_fence(eb, f, 1);
        if (st == MLXN_OK)
            st = inc(eb, x, y, 4);
        if (st == MLXN_OK)
            st = mlxn_session_commit_stage(sb);
        if (st != MLXN_OK && st != MLXN_ERR_GPU)
            return step;
    }
    st = mlxn_fence_wait(f, 1, 2000 * MS);
    printf("    child: host wait for A's signal -> %s: %s\n", mlxn_status_name(st),
           mlxn_last_error(dev));
    STEP(4);
    st = mlxn_session_commit_and_wait(sb);
    printf("    child: queue B -> %s: %s\n", mlxn_status_name(st), mlxn_last_error(dev));
    if (st != MLXN_ERR_GPU)
        return step;
    STEP(5);
    st = mlxn_session_commit_and_wait(sa);
    printf("    child: queue A -> %s: %s\n", mlxn_status_name(st), mlxn_last_error(dev));
    if (st != MLXN_ERR_GPU)
        return step;
    return 0;
}

/* Queue B's wait is encoded before queue A's signal exists (a memory
 * wait on CUDA), and A then uses a kernel for the first time in this
 * process. On CUDA that first use loads the kernel, which synchronises the
 * context: unless every kernel was loaded before the wait, A never runs.
 * B must see A's result. */
static int wait_before_signal(mlxn_backend backend)
{
    int step = 0;
    mlxn_device *dev = child_device(backend);
    if (!dev)
        return 77;
    mlxn_queue *qb = NULL;
    mlxn_fence *f = NULL;
    if (mlxn_queue_create(dev, &qb) != MLXN_OK || mlxn_fence_create(dev, 0, &f) != MLXN_OK)
        return 10;
    mlxn_session *sa = new_session(dev, NULL), *sb = new_session(dev, qb);
    mlxn_buffer *flag = u32_buffer(dev, 1, 0), *out = u32_buffer(dev, 1, 0);
    mlxn_encoder *ea = mlxn_session_encoder(sa), *eb = mlxn_session_encoder(sb);
    STEP(1);
    if (mlxn_encoder_wait_fence(eb, f, 1) != MLXN_OK || inc(eb, flag, out, 1) != MLXN_OK ||
        mlxn_session_commit_stage(sb) != MLXN_OK)
        return step;
    STEP(2);
    if (delay_write(ea, flag, 30 * MS, 42) != MLXN_OK ||
        mlxn_encoder_signal_fence(ea, f, 1) != MLXN_OK ||
        mlxn_session_commit_stage(sa) != MLXN_OK)
        return step;
    STEP(3);
    if (mlxn_fence_wait(f, 1, 5000 * MS) != MLXN_OK)
        return step;
    STEP(4);
    if (mlxn_session_wait(sb) != MLXN_OK || read_u32(out, 0) != 43)
        return step;
    mlxn_session_destroy(sa);
    mlxn_session_destroy(sb);
    mlxn_fence_destroy(f);
    mlxn_device_destroy(dev);
    return 0;
}

int mlxn_test_extra_arg(int argc, char **argv, int *i)
{
    if (strcmp(argv[*i], "--child-fault") || *i + 1 >= argc)
        return 0;
    int which = atoi(argv[*i + 1]);
    int rc = which == 0   ? fault_one_queue(test_backend())
             : which == 1 ? fault_waiting_queue(test_backend(), 1)
             : which == 2 ? fault_waiting_queue(test_backend(), 0)
                          : wait_before_signal(test_backend());
    fflush(stdout);
    _exit(rc);
}

static void run_fault_child(const char *which)
{
    const char *backend = test_backend() == MLXN_BACKEND_CUDA ? "cuda" : "cpu";
    char *argv[] = {(char *)test_argv0(), "--backend", (char *)backend, "--child-fault",
                    (char *)which, NULL};
    pid_t pid;
    extern char **environ;
    fflush(stdout);
    if (posix_spawn(&pid, test_argv0(), NULL, NULL, argv, environ) != 0) {
        CHECK_MSG(0, "cannot start the child process");
        return;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFEXITED(status), "child died (signal %d%s)",
              WIFSIGNALED(status) ? WTERMSIG(status) : 0,
              WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? ": a wait hung" : "");
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child scenario failed at step %d",
              WEXITSTATUS(status));
}

TEST(wait_encoded_before_signal)
{
    mlxn_device *dev = test_device();
    (void)dev;
    run_fault_child("3");
}

TEST(failed_stage_error_reaches_caller)
{
    mlxn_device *dev = test_device();
    (void)dev;
    run_fault_child("0");
}

TEST(failed_stage_error_reaches_waiting_queue_memory_wait)
{
    mlxn_device *dev = test_device();
    (void)dev;
    run_fault_child("1");
}

TEST(failed_stage_error_reaches_waiting_queue_event_wait)
{
    mlxn_device *dev = test_device();
    (void)dev;
    run_fault_child("2");
}
