/*
 * internal.h: the core objects behind the public handles (device, queue,
 * allocation, buffer, kernel, command buffer) and the error helpers every
 * layer uses. Nothing here is part of the public API.
 */
#ifndef MLXN_INTERNAL_H
#define MLXN_INTERNAL_H

#include "mlxn.h"
#include "backend/backend.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mlxn__profiler mlxn__profiler;
typedef struct mlxn__cb_profile mlxn__cb_profile;

#define MLXN__LABEL_MAX 64
#define MLXN__ERROR_MAX 512

/* ---- errors ---------------------------------------------------------------
 * mlxn__fail records a message for the device (may be NULL) and the calling
 * thread, and returns `status` so a call can end with `return mlxn__fail(...)`.
 */
mlxn_status mlxn__fail(const mlxn_device *dev, mlxn_status status,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same, prefixed with "file.c:line: ". */
#define MLXN__FAIL_AT(dev, status, ...)                                        \
    mlxn__fail_at((dev), (status), __FILE__, __LINE__, __VA_ARGS__)
mlxn_status mlxn__fail_at(const mlxn_device *dev, mlxn_status status,
                          const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- allocations and buffers ----------------------------------------------
 * An allocation is the refcounted root memory; buffer handles (allocations
 * and views alike) each hold one reference, and so does every command
 * buffer or graph node that uses it. The memory is freed with the last one.
 */
typedef struct mlxn__alloc {
    atomic_int refs;
    mlxn_device *dev;
    mlxn__mem mem;
} mlxn__alloc;

void mlxn__alloc_retain(mlxn__alloc *a);
void mlxn__alloc_release(mlxn__alloc *a);

struct mlxn_buffer {
    mlxn__alloc *alloc;
    size_t offset; /* bytes from the allocation's start */
    size_t bytes;  /* bytes this handle covers */
    mlxn_dtype dtype;
    int ndim;
    int64_t shape[MLXN_MAX_DIMS];
    int pool_owned; /* handed out by a pool: the pool destroys it */
};

/* Address of byte `offset` of the view. */
static inline uint64_t mlxn__buffer_addr(const mlxn_buffer *b, size_t offset)
{
    return b->alloc->mem.addr + b->offset + offset;
}

/* Bytes a shape needs, or -1 when invalid or overflowing. */
int64_t mlxn__shape_bytes(mlxn_dtype dtype, int ndim, const int64_t *shape);

/* ---- kernels ------------------------------------------------------------- */
struct mlxn_kernel {
    const char *name; /* owned by the backend's static tables */
    void *fn;         /* NULL until resolved */
    atomic_uint_fast64_t dispatches;
};

/* The registry: an open-addressing table over the backend's kernel names. */
typedef struct mlxn__registry {
    mlxn_kernel *kernels; /* n entries, in backend order */
    int n;
    int *slots; /* cap entries: index into kernels, or -1 */
    int cap;
} mlxn__registry;

mlxn_status mlxn__registry_init(mlxn_device *dev);
void mlxn__registry_fini(mlxn_device *dev);
/* Resolve every kernel now (CUDA: load its code), once per device: a
 * kernel's first launch then costs no lazy load (about 100 us each, which
 * would land inside a timed or recorded region), and no load can
 * synchronise the context while a queue waits on a fence. */
mlxn_status mlxn__registry_load_all(mlxn_device *dev);
/* Find without resolving; NULL when the backend has no such kernel. */
mlxn_kernel *mlxn__registry_find(const mlxn_device *dev, const char *name);

/* ---- command buffers and queues ------------------------------------------ */
enum { MLXN__CB_IDLE, MLXN__CB_OPEN, MLXN__CB_SUBMITTED, MLXN__CB_DONE };

struct mlxn__cb {
    mlxn_queue *queue;
    int state;
    mlxn_status status;  /* completion status once done */
    char label[MLXN__LABEL_MAX];
    int n_dispatches;    /* launches recorded in this buffer */
    int n_commands;      /* launches plus fence operations */
    mlxn__alloc **retained; /* allocations kept alive until completion */
    int n_retained, cap_retained;
    mlxn__cb *next;      /* free list / in-flight list link */
    void *backend_state;
    mlxn__cb_profile *profile; /* profiling state (core/profile.h), or NULL */
};

/* Keep an allocation alive until the command buffer completes. */
mlxn_status mlxn__cb_retain(mlxn__cb *cb, mlxn__alloc *a);
/* Get a recycled (or new) command buffer and open it on the queue. */
mlxn_status mlxn__cb_acquire(mlxn_queue *q, const char *label,
                             mlxn__cb **out);
/* Drop the retained allocations and return the buffer to the queue. */
void mlxn__cb_recycle(mlxn__cb *cb);

struct mlxn_queue {
    mlxn_device *dev;
    int is_default;
    pthread_mutex_t lock; /* guards free_cbs */
    mlxn__cb *free_cbs;
    void *backend_state;
    mlxn_residency_set *residency; /* attached set, flushed at commits */
};

/* ---- the device ----------------------------------------------------------- */
typedef struct mlxn__counters_atomic {
    atomic_uint_fast64_t dispatches, command_buffers, syncs, barriers,
        auto_barriers, elided_barriers;
} mlxn__counters_atomic;

struct mlxn_device {
    const mlxn__backend *be;
    void *backend_state;
    mlxn_backend kind;
    mlxn_device_params params;
    char name[128];
    pthread_mutex_t lock; /* guards last_error and kernel resolution */
    char last_error[MLXN__ERROR_MAX];
    atomic_int sticky; /* mlxn_status of the first device fault, or OK */
    char sticky_msg[MLXN__ERROR_MAX]; /* that fault's message */
    mlxn__counters_atomic counters;
    mlxn__registry registry;
    mlxn_queue *default_queue;
    mlxn__profiler *profiler; /* NULL unless params.profile is set */
    atomic_int kernels_loaded; /* every kernel resolved (graph/encoder_fence.c) */
    int multiprocessors; /* mlxn_device_info.multiprocessors, read once at creation */
    struct mlxn__workspace *workspaces; /* guarded by lock; see workspace.c */
};

/* The device's multiprocessor count (CUDA SMs, CPU worker threads), at
 * least 1; cached at creation so encode paths make no driver calls. */
static inline int mlxn__device_multiprocessors(const mlxn_device *dev)
{
    return dev->multiprocessors;
}

/* ---- workspaces -----------------------------------------------------------
 * Device-owned scratch buffers for ops that need temporary memory (the
 * prefill matmul path), one per (queue, slot): grown on demand, never
 * shrunk, kept alive by the command buffers and graphs that use them (a
 * grown workspace's old memory goes when its last user completes). Work on
 * one queue runs in order, so reuse within a queue is safe when every use
 * is annotated with its ranges. The returned buffer is owned by the device:
 * do not destroy it. */
mlxn_status mlxn__workspace_get(mlxn_device *dev, mlxn_queue *q, int slot, size_t bytes,
                                mlxn_buffer **out);
void mlxn__workspace_release_all(mlxn_device *dev);

/* Record the first fatal device error; later calls report it. */
void mlxn__device_set_sticky(mlxn_device *dev, mlxn_status status);
/* MLXN_OK, or the sticky status with the last error re-raised. */
mlxn_status mlxn__device_check(const mlxn_device *dev);

/* ---- hooks of sessions, residency and profiling (core/profile.c,
 * core/residency.c) into the device, queue and command-buffer lifetimes --- */
mlxn_status mlxn__profiler_create(mlxn_device *dev);
void mlxn__profiler_destroy(mlxn_device *dev);
/* Harvest a completed command buffer's timings (or drop them) and free
 * its profiling state; called when the buffer is recycled. */
void mlxn__profile_cb_finish(mlxn__cb *cb);
/* Apply the attached residency set's staged changes before a commit. */
void mlxn__residency_on_commit(mlxn_queue *q);
/* Detach the queue's residency set (the queue is being destroyed). */
void mlxn__residency_queue_gone(mlxn_queue *q);

/* Counter helpers (relaxed atomics: counters are statistics). */
#define MLXN__COUNT(dev, field, n)                                             \
    atomic_fetch_add_explicit(&(dev)->counters.field, (n),                     \
                              memory_order_relaxed)

#endif /* MLXN_INTERNAL_H */
