/*
 * mlxn_session.h: encoder sessions with stage fences, timeline fences,
 * residency sets and profiling (included by mlxn.h; part of the public API).
 */
#ifndef MLXN_SESSION_H
#define MLXN_SESSION_H

#include "mlxn.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Encoder sessions, timeline fences, residency sets and profiling
 * ------------------------------------------------------------------------- */

/* ---- timeline fences ------------------------------------------------------
 * A fence is a 64-bit counter that queues signal and wait on in queue
 * order, and that the host can read, wait on and signal. Any queue of the
 * fence's device may use it, so a fence orders work across queues.
 *
 * Values rise: every signal (from the host or encoded on a queue) must be
 * greater than every value signalled before it, and a host signal must not
 * overtake a queue signal that is still in flight (the word is written,
 * not maxed). A queue wait for value v completes once the fence is at
 * least v. A queue waiting for a value that nobody signals blocks forever
 * (and so does destroying its queue or device): that is the caller's
 * deadlock, as with any timeline semaphore.
 *
 * CUDA: the counter is a word of pinned, device-mapped host memory,
 * written with cuStreamWriteValue64 and waited on with
 * cuStreamWaitValue64(GEQ); a wait encoded after the signal that first
 * reaches its value uses that signal's event instead (cuStreamWaitEvent,
 * cheaper between streams). A wait encoded before its signal is a memory
 * wait the driver does not see: while it is pending, do not free memory
 * (which may synchronise the context); mlxn loads every kernel before the
 * first such wait for the same reason. CPU: a counter with a condition
 * variable; a queue-side wait blocks that queue's worker thread, not the
 * host. docs/sessions.md has the details and measurements. */
typedef struct mlxn_fence mlxn_fence;

/* Timeout for "no timeout" in host waits. */
#define MLXN_WAIT_FOREVER UINT64_MAX

mlxn_status mlxn_fence_create(mlxn_device *dev, uint64_t initial_value,
                              mlxn_fence **out);
/* The caller must not destroy a fence that queued work still waits on
 * unless the value it waits for was already reached. Queued signals keep
 * the fence's memory alive until they complete. */
void mlxn_fence_destroy(mlxn_fence *fence);
mlxn_device *mlxn_fence_device(const mlxn_fence *fence);
/* The value the fence holds now (what completed signals wrote). */
uint64_t mlxn_fence_value(const mlxn_fence *fence);
/* Block until the fence is at least `value`. MLXN_ERR_TIMEOUT when
 * timeout_ns passes first (0 polls once); MLXN_ERR_GPU when a device fault
 * makes the value unreachable. */
mlxn_status mlxn_fence_wait(mlxn_fence *fence, uint64_t value,
                            uint64_t timeout_ns);
/* Set the fence to `value` from the host, releasing waiters (host and
 * queue) for values up to it. */
mlxn_status mlxn_fence_signal(mlxn_fence *fence, uint64_t value);

/* Encode, in queue order, a signal of `value` after everything encoded
 * before it, or a wait until the fence is at least `value` before
 * everything encoded after it. Not allowed while capturing. */
mlxn_status mlxn_encoder_signal_fence(mlxn_encoder *enc, mlxn_fence *fence,
                                      uint64_t value);
mlxn_status mlxn_encoder_wait_fence(mlxn_encoder *enc, mlxn_fence *fence,
                                    uint64_t value);

/* ---- encoder sessions -----------------------------------------------------
 * A session is an encoder plus stage bookkeeping (the seeds' EncoderSession).
 * States and transitions:
 *
 *   encoding --commit_stage / commit_and_wait--> drained
 *   encoding --fence_stage--> drained, fence pending (value N+1 signalled
 *                             at the end of the stage, committed, no wait)
 *   drained  --reset_for_next_stage--> encoding (when a fence is pending,
 *                             the new command buffer first waits for N)
 *
 * Commits while drained and resets while encoding are harmless no-ops
 * (commit_and_wait while drained still waits and reports errors). Encode
 * through mlxn_session_encoder(); do not commit that encoder directly, and
 * reset before encoding the next stage. The session fence is created at
 * the first fence_stage; other queues may wait on it (mlxn_session_fence).
 * Errors of committed stages surface at commit_and_wait / mlxn_session_wait
 * and are never swallowed. */
typedef struct mlxn_session mlxn_session;

typedef struct mlxn_session_params {
    mlxn_queue *queue; /* NULL = the device's default queue */
    int auto_barrier;  /* as mlxn_encoder_params.auto_barrier */
} mlxn_session_params;

mlxn_session_params mlxn_session_params_default(void);
mlxn_status mlxn_session_create(mlxn_device *dev, const mlxn_session_params *p,
                                mlxn_session **out);
/* Commits what is open, waits for everything, then frees the session. */
void mlxn_session_destroy(mlxn_session *s);
/* The inner encoder: every op and dispatch call works on it. */
mlxn_encoder *mlxn_session_encoder(mlxn_session *s);
/* Label the stage (its command buffers, profiles, NVTX ranges, errors).
 * Copied; cleared by reset_for_next_stage. */
mlxn_status mlxn_session_begin_stage(mlxn_session *s, const char *label);
/* Commit without waiting. */
mlxn_status mlxn_session_commit_stage(mlxn_session *s);
/* Commit, then wait for everything the session committed; returns the
 * first device error of that work. */
mlxn_status mlxn_session_commit_and_wait(mlxn_session *s);
/* Signal the session fence to N+1 at the end of the stage and commit
 * without waiting. label may be NULL (keep the stage label). */
mlxn_status mlxn_session_fence_stage(mlxn_session *s, const char *label);
/* Open the next stage; with a fence pending its command buffer first
 * waits (on the GPU) for the fence value of the last fence_stage. */
mlxn_status mlxn_session_reset_for_next_stage(mlxn_session *s);
/* Wait for everything the session committed; returns device errors. */
mlxn_status mlxn_session_wait(mlxn_session *s);

int mlxn_session_is_drained(const mlxn_session *s);
int mlxn_session_is_fence_pending(const mlxn_session *s);
/* Last value signalled by fence_stage (0 before the first). */
uint64_t mlxn_session_fence_value(const mlxn_session *s);
/* 1 once the session fence exists (after the first fence_stage). */
int mlxn_session_has_event(const mlxn_session *s);
/* Value of the last wait emitted by reset_for_next_stage, and how many
 * such waits were emitted (an N-stage chain of fences emits N-1). */
uint64_t mlxn_session_wait_value(const mlxn_session *s);
uint64_t mlxn_session_wait_count(const mlxn_session *s);
/* The session fence (NULL before the first fence_stage); owned by the
 * session. */
mlxn_fence *mlxn_session_fence(mlxn_session *s);

/* ---- residency sets ---------------------------------------------------------
 * A residency set names memory that should stay close to the processor.
 * Adds and removes are staged and applied together ("flushed") once, at
 * the next commit on a queue the set is attached to, or by
 * mlxn_residency_set_commit; a flush affects work encoded after it. The
 * set holds a reference on every buffer in it.
 *
 * CUDA: device memory is always resident, so the set steers the L2: the
 * contiguous address range (at most the device's maximum access-policy
 * window, mlxn_residency_stats.max_window_bytes) that covers the most
 * priority-weighted bytes of the set's device buffers becomes the
 * attached queues' persisting access-policy window (hitRatio = set-aside
 * L2 / window, capped at 1). The set-aside L2 (a per-process context limit,
 * CU_LIMIT_PERSISTING_L2_CACHE_SIZE) is persisting_l2_bytes, at most
 * mlxn_device_info.max_persisting_l2; the previous limit comes back when
 * the set is destroyed. Host ranges (and host-visible buffers) get
 * madvise(MADV_WILLNEED), and mlock with MLXN_RESIDENCY_LOCK_HOST.
 * CPU: every buffer is host memory and gets the host treatment.
 * Hints that fail (mlock beyond RLIMIT_MEMLOCK) leave the commit alone;
 * they are counted in the stats and returned by mlxn_residency_set_commit.
 */
typedef struct mlxn_residency_set mlxn_residency_set;

enum {
    MLXN_RESIDENCY_LOCK_HOST = 1u << 0 /* mlock host ranges */
};

typedef struct mlxn_residency_params {
    unsigned flags; /* MLXN_RESIDENCY_* */
    /* L2 bytes to set aside for persisting accesses (CUDA); 0 = the
     * device maximum. */
    size_t persisting_l2_bytes;
} mlxn_residency_params;

mlxn_residency_params mlxn_residency_params_default(void);
mlxn_status mlxn_residency_set_create(mlxn_device *dev,
                                      const mlxn_residency_params *p,
                                      mlxn_residency_set **out);
/* Detaches from every queue, drops the set's window and locks. */
void mlxn_residency_set_destroy(mlxn_residency_set *set);
/* Stage a buffer (the whole view) or a host range. priority weighs the
 * range when choosing the L2 window (0 counts as 1). Adding what the set
 * already holds only updates its priority. */
mlxn_status mlxn_residency_set_add(mlxn_residency_set *set, mlxn_buffer *buf,
                                   unsigned priority);
mlxn_status mlxn_residency_set_add_host(mlxn_residency_set *set,
                                        const void *addr, size_t bytes,
                                        unsigned priority);
/* Stage a removal; MLXN_ERR_NOT_FOUND when the set does not hold it. */
mlxn_status mlxn_residency_set_remove(mlxn_residency_set *set,
                                      mlxn_buffer *buf);
mlxn_status mlxn_residency_set_remove_host(mlxn_residency_set *set,
                                           const void *addr, size_t bytes);
/* Flush at every commit on `queue` (a queue takes at most one set). Do
 * not attach or detach while another thread commits on the queue. */
mlxn_status mlxn_residency_set_attach(mlxn_residency_set *set,
                                      mlxn_queue *queue);
mlxn_status mlxn_residency_set_detach(mlxn_residency_set *set,
                                      mlxn_queue *queue);
/* Flush staged changes now; returns the first hint that failed. */
mlxn_status mlxn_residency_set_commit(mlxn_residency_set *set);

typedef struct mlxn_residency_stats {
    int entries;          /* ranges in effect (flushed) */
    int pending_adds;     /* staged, not yet flushed */
    int pending_removes;
    uint64_t flushes;     /* flushes that applied staged changes */
    size_t resident_bytes; /* bytes of the ranges in effect */
    size_t locked_bytes;   /* host bytes locked with mlock */
    uint64_t hint_failures; /* madvise/mlock/window calls that failed */
    uint64_t window_addr;  /* CUDA: the persisting window; 0 bytes: none */
    size_t window_bytes;
    float hit_ratio;
    size_t persisting_l2_bytes; /* L2 set aside (CUDA) */
    size_t max_window_bytes;    /* the device's window limit (CUDA) */
} mlxn_residency_stats;

void mlxn_residency_set_get_stats(const mlxn_residency_set *set,
                                  mlxn_residency_stats *out);

/* ---- profiling ----------------------------------------------------------------
 * Switched on by mlxn_device_params.profile only; with 0 nothing is
 * recorded and the hot path pays one pointer test. Times are GPU times
 * (CUDA events around the work in queue order) or worker wall clock on
 * the CPU backend, in microseconds, collected when command buffers are
 * waited for. MLXN_PROFILE_COMMAND_BUFFERS: per command buffer, from its
 * first command to its end, aggregated by label. MLXN_PROFILE_DISPATCHES:
 * an event pair around every direct-mode dispatch (about 2 us each on
 * CUDA, and it breaks programmatic-launch overlap), kept as records (up
 * to MLXN_PROFILE_MAX_RECORDS, then counted as dropped) and aggregated by
 * kernel. MLXN_PROFILE_NVTX: an NVTX range per command buffer named by
 * its label at its first command (builds with CUDA), so Nsight Systems
 * shows stages. Strings returned below stay valid until
 * mlxn_profile_reset or the device's end. */
#define MLXN_PROFILE_MAX_RECORDS 65536

typedef struct mlxn_profile_cb_stats {
    const char *label; /* "" for unlabelled command buffers */
    uint64_t count;
    double total_us, min_us, max_us;
} mlxn_profile_cb_stats;

typedef struct mlxn_profile_kernel_stats {
    const char *kernel;
    uint64_t count; /* dispatches timed */
    double total_us, min_us, max_us;
} mlxn_profile_kernel_stats;

typedef struct mlxn_profile_dispatch {
    const char *cb_label;
    uint64_t cb_seq;   /* profiled command buffer number, from 0 */
    uint32_t index;    /* dispatch index inside its command buffer */
    const char *kernel;
    mlxn_op_kind kind;
    double gpu_us;
} mlxn_profile_dispatch;

size_t mlxn_profile_cb_count(const mlxn_device *dev);
mlxn_status mlxn_profile_cb_at(const mlxn_device *dev, size_t i,
                               mlxn_profile_cb_stats *out);
size_t mlxn_profile_kernel_count(const mlxn_device *dev);
mlxn_status mlxn_profile_kernel_at(const mlxn_device *dev, size_t i,
                                   mlxn_profile_kernel_stats *out);
size_t mlxn_profile_dispatch_count(const mlxn_device *dev);
mlxn_status mlxn_profile_dispatch_at(const mlxn_device *dev, size_t i,
                                     mlxn_profile_dispatch *out);
/* Dispatch records not kept because MLXN_PROFILE_MAX_RECORDS was hit. */
uint64_t mlxn_profile_dropped(const mlxn_device *dev);
void mlxn_profile_reset(mlxn_device *dev);

typedef enum mlxn_profile_format {
    MLXN_PROFILE_TABLE = 0, /* markdown tables sorted by total time */
    MLXN_PROFILE_JSON = 1   /* one object: see docs/sessions.md */
} mlxn_profile_format;

/* Write the profile (and the per-kernel dispatch counters) to f. */
mlxn_status mlxn_profile_dump(const mlxn_device *dev, mlxn_profile_format fmt,
                              FILE *f);
/* The same into buf: *needed (may be NULL) receives the size including the
 * terminating NUL; when cap is smaller, nothing is written and the call
 * fails with MLXN_ERR_INVALID_ARG. */
mlxn_status mlxn_profile_dump_buffer(const mlxn_device *dev,
                                     mlxn_profile_format fmt, char *buf,
                                     size_t cap, size_t *needed);
/* A capture window for an external profiler (cuProfilerStart/Stop, for
 * nsys --capture-range=cudaProfilerApi); a no-op on the CPU backend. */
mlxn_status mlxn_profile_capture_start(mlxn_device *dev);
mlxn_status mlxn_profile_capture_stop(mlxn_device *dev);

#ifdef __cplusplus
}
#endif

#endif /* MLXN_SESSION_H */
