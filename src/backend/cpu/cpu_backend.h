/*
 * cpu_backend.h: state shared by the CPU backend's files: the device, the
 * per-queue worker thread, and command buffers as command lists.
 */
#ifndef MLXN_CPU_BACKEND_H
#define MLXN_CPU_BACKEND_H

#include "core/internal.h"
#include "cpu/cpu_kernel.h"

typedef struct mlxn__cpu_pool mlxn__cpu_pool;

mlxn__cpu_pool *mlxn__cpu_pool_create(int n_threads);
void mlxn__cpu_pool_destroy(mlxn__cpu_pool *p);
int mlxn__cpu_pool_threads(const mlxn__cpu_pool *p);

typedef struct mlxn__cpu_device {
    mlxn__cpu_pool *pool;
    /* Timeline fences (cpu_fence.c): one lock and one condition variable
     * (CLOCK_MONOTONIC) for every fence of the device. */
    pthread_mutex_t fence_lock;
    pthread_cond_t fence_cond;
} mlxn__cpu_device;

/* One command of a CPU command buffer. Argument values live in the
 * buffer's arena at arg_off[i] (offsets: the arena may grow). */
enum {
    MLXN__CPU_CMD_LAUNCH = 1, /* run fn over argv */
    MLXN__CPU_CMD_HOOK = 2,   /* call hook(hook_a, hook_b, hook_v) */
    MLXN__CPU_CMD_UPDATE = 3  /* copy hook_v bytes from arg_off[0] to hook_a */
};

typedef struct mlxn__cpu_cmd {
    int type;
    mlxn__cpu_kernel_fn fn;
    const char *name;
    mlxn_dim3 grid, block;
    uint32_t shared_bytes;
    int n_args;
    uint32_t arg_off[MLXN_MAX_ARGS];
    /* MLXN__CPU_CMD_HOOK: a backend-internal step (fence signal or wait,
     * timestamps) run in order on the worker; returns an error status. */
    mlxn_status (*hook)(void *a, void *b, uint64_t v);
    void *hook_a, *hook_b;
    uint64_t hook_v;
} mlxn__cpu_cmd;

typedef struct mlxn__cpu_cb {
    mlxn__cpu_cmd *cmds;
    int n_cmds, cap_cmds;
    uint8_t *arena;
    size_t arena_used, arena_cap;
    int done;            /* guarded by the queue's lock */
    mlxn_status status;  /* MLXN_OK or the failure */
    struct mlxn__cpu_cb *next_submitted;
    mlxn__cb *owner;
} mlxn__cpu_cb;

typedef struct mlxn__cpu_queue {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* signalled on submit, completion and stop */
    mlxn__cpu_cb *head, *tail; /* submitted, not yet run */
    int busy;                  /* the worker is running a buffer */
    int stop;
    mlxn_device *dev;
} mlxn__cpu_queue;

/* Append a hook command to an open command buffer. */
mlxn_status mlxn__cpu_cb_add_hook(mlxn__cb *cb,
                                  mlxn_status (*hook)(void *, void *, uint64_t),
                                  void *a, void *b, uint64_t v);

mlxn_status mlxn__cpu_queue_open(mlxn_device *dev, mlxn_queue *q);
void mlxn__cpu_queue_close(mlxn_queue *q);
mlxn_status mlxn__cpu_cb_init(mlxn__cb *cb);
void mlxn__cpu_cb_fini(mlxn__cb *cb);
mlxn_status mlxn__cpu_cb_begin(mlxn__cb *cb);
mlxn_status mlxn__cpu_launch(mlxn__cb *cb, const mlxn__launch *l);
mlxn_status mlxn__cpu_cb_submit(mlxn__cb *cb);
mlxn_status mlxn__cpu_cb_wait(mlxn__cb *cb);
int mlxn__cpu_cb_query(mlxn__cb *cb);
mlxn_status mlxn__cpu_queue_sync(mlxn_queue *q);
mlxn_status mlxn__cpu_update(mlxn__cb *cb, uint64_t addr, const void *data, size_t n);

/* Timeline fences, profiling stamps (cpu_fence.c). */
mlxn_status mlxn__cpu_fence_init(mlxn__fence *f);
void mlxn__cpu_fence_fini(mlxn__fence *f);
mlxn_status mlxn__cpu_fence_signal(mlxn__cb *cb, mlxn__fence *f, uint64_t value);
mlxn_status mlxn__cpu_fence_wait(mlxn__cb *cb, mlxn__fence *f, uint64_t value);
mlxn_status mlxn__cpu_fence_host_signal(mlxn__fence *f, uint64_t value);
mlxn_status mlxn__cpu_fence_host_wait(mlxn__fence *f, uint64_t value, uint64_t timeout_ns);
/* Wake every fence waiter (a failure may have made their values
 * unreachable; they re-check the device's sticky status). */
void mlxn__cpu_fence_wake(mlxn_device *dev);
mlxn_status mlxn__cpu_stamp_create(mlxn_device *dev, void **out);
void mlxn__cpu_stamp_destroy(mlxn_device *dev, void *stamp);
mlxn_status mlxn__cpu_stamp_record(mlxn__cb *cb, void *stamp);
mlxn_status mlxn__cpu_stamp_elapsed(mlxn_device *dev, void *from, void *to, double *us);

#endif /* MLXN_CPU_BACKEND_H */
