/*
 * backend.h: the one internal interface between the core and a driver.
 *
 * A backend owns device memory, kernels, and the ordered execution of
 * command buffers on queues. Everything above this line (buffers, the
 * encoder, graphs, ops) is written once against this vtable. Addresses are
 * 64-bit integers: device pointers on CUDA, host pointers on the CPU.
 */
#ifndef MLXN_BACKEND_H
#define MLXN_BACKEND_H

#include "mlxn.h"

#include <stdint.h>

typedef struct mlxn__cb mlxn__cb;
typedef struct mlxn__fence mlxn__fence;

/* One allocation made by a backend. */
typedef struct mlxn__mem {
    uint64_t addr; /* device address (CUDA) or host address (CPU) */
    void *host;    /* host address when the host can access it, else NULL */
    size_t bytes;
    unsigned flags; /* MLXN_BUFFER_* */
} mlxn__mem;

/* A dispatch resolved to what a driver needs: argv[i] points at the value
 * of slot i (a 64-bit address for buffers, the bytes otherwise), exactly as
 * cuLaunchKernel's kernelParams. argsz[i] is that value's size. */
typedef struct mlxn__launch {
    void *fn; /* backend function handle from kernel_resolve */
    const char *name;
    mlxn_dim3 grid;
    mlxn_dim3 block;
    uint32_t shared_bytes;
    int n_args;
    void *argv[MLXN_MAX_ARGS];
    uint32_t argsz[MLXN_MAX_ARGS];
} mlxn__launch;

/* A graph for graph_build: nodes[i] is dispatch i; edge e makes node
 * edges[e].to wait for node edges[e].from (from < to). A programmatic edge
 * lets the dependent kernel launch early and wait in griddepcontrol.wait. */
typedef struct mlxn__graph_edge {
    int from, to;
    int programmatic;
} mlxn__graph_edge;

typedef struct mlxn__graph_desc {
    const mlxn__launch *nodes;
    int n_nodes;
    const mlxn__graph_edge *edges;
    size_t n_edges;
} mlxn__graph_desc;
/* D = A @ B^T (+ C): A (m, k) and B (n, k) (bf16 or f32, see precision)
 * row-major with rows
 * k elements apart; C and D (m, n) f32 row-major with rows ldd elements
 * apart; f32 accumulation. c == 0: no C. The workspace (device memory of
 * workspace_bytes) is the library's scratch for this call. */
typedef enum mlxn__gemm_precision {
    MLXN__GEMM_BF16 = 0, /* A, B bf16; f32 accumulation */
    MLXN__GEMM_TF32 = 1, /* A, B f32 rounded to tf32 inside; f32 accumulation */
    MLXN__GEMM_F32 = 2   /* A, B f32; full f32 arithmetic */
} mlxn__gemm_precision;

typedef struct mlxn__gemm {
    uint64_t a, b, c, d;
    uint32_t m, n, k, ldd;
    uint64_t workspace;
    uint64_t workspace_bytes;
    mlxn__gemm_precision precision; /* A and B are f32 unless BF16 */
} mlxn__gemm;

typedef struct mlxn__backend {
    const char *name;
    /* Device lifetime; open fills dev->backend_state and dev->name. */
    mlxn_status (*open)(mlxn_device *dev, const mlxn_device_params *p);
    void (*close)(mlxn_device *dev);
    mlxn_status (*info)(const mlxn_device *dev, mlxn_device_info *out);
    /* The device timeline (mlxn_device_params.timeline; NULL: none): the
     * record words as kernels/params/timeline.h lays them out (word 0 the
     * count taken), *n words, malloc'd (the caller frees). */
    mlxn_status (*timeline_read)(mlxn_device *dev, uint64_t **words, size_t *n);

    /* Memory. Allocations are zero-filled. */
    mlxn_status (*mem_alloc)(mlxn_device *dev, size_t bytes, unsigned flags,
                             mlxn__mem *out);
    void (*mem_free)(mlxn_device *dev, mlxn__mem *mem);
    mlxn_status (*mem_write)(mlxn_device *dev, uint64_t addr, const void *src,
                             size_t n);
    mlxn_status (*mem_read)(mlxn_device *dev, uint64_t addr, void *dst,
                            size_t n);
    mlxn_status (*mem_fill)(mlxn_device *dev, uint64_t addr, uint8_t byte,
                            size_t n);

    /* Kernels: the names this backend has, and name -> function handle. */
    int (*kernel_count)(const mlxn_device *dev);
    const char *(*kernel_name)(const mlxn_device *dev, int i);
    mlxn_status (*kernel_resolve)(mlxn_device *dev, const char *name,
                                  void **fn);

    /* Queues. queue_open fills q->backend_state. */
    mlxn_status (*queue_open)(mlxn_device *dev, mlxn_queue *q);
    void (*queue_close)(mlxn_queue *q);

    /* Command buffers. cb_init runs once per cb object (they are recycled);
     * cb_begin opens it for recording on its queue; launch, fence_signal
     * and fence_wait append work (CUDA issues it at once); cb_submit hands
     * it to the queue; cb_wait blocks until it completes; cb_query reports
     * 1 done, 0 running, or an error status as a negative number. */
    mlxn_status (*cb_init)(mlxn__cb *cb);
    void (*cb_fini)(mlxn__cb *cb);
    mlxn_status (*cb_begin)(mlxn__cb *cb);
    mlxn_status (*launch)(mlxn__cb *cb, const mlxn__launch *l);
    mlxn_status (*cb_submit)(mlxn__cb *cb);
    mlxn_status (*cb_wait)(mlxn__cb *cb);
    int (*cb_query)(mlxn__cb *cb);
    mlxn_status (*queue_sync)(mlxn_queue *q);
    /* Write n bytes (n <= MLXN_MAX_UPDATE_BYTES, a multiple of 4, addr
     * 4-aligned) at addr in queue order: after the buffer's earlier work,
     * before its later work. The data is copied at call time. */
    mlxn_status (*update)(mlxn__cb *cb, uint64_t addr, const void *data, size_t n);

    /* ---- matrix products through a vendor library (cuBLAS on CUDA) ----
     * gemm_available loads the library on first use and says whether gemm
     * may be called (0: callers use their own kernels). gemm issues one
     * mlxn__gemm on the command buffer's queue, in order with its other
     * work. Backends without a library leave both NULL. */
    int (*gemm_available)(mlxn_device *dev);
    mlxn_status (*gemm)(mlxn__cb *cb, const struct mlxn__gemm *g);

    /* ---- graphs: recorded nodes as backend executable graphs ---- */
    /* An executable graph: b's nodes (launches in recorded order) with
     * b's dependency edges. The backend copies what it keeps. */
    mlxn_status (*graph_build)(mlxn_device *dev, const mlxn__graph_desc *b,
                               void **out);
    void (*graph_free)(mlxn_device *dev, void *exec);
    /* Launch in order with cb's other work. */
    mlxn_status (*graph_launch)(mlxn__cb *cb, void *exec);
    /* Replace node i's grid and argument values (same kernel, same
     * argument sizes) for later launches. */
    mlxn_status (*graph_set_node)(mlxn_device *dev, void *exec, int i,
                                  const mlxn__launch *l);
    /* The edges of the built graph, read back: *n edges, allocated with
     * malloc (the caller frees). */
    mlxn_status (*graph_edges)(mlxn_device *dev, void *exec,
                               mlxn__graph_edge **out, size_t *n);
    /* A pair of timing marks for graph sessions: mark `which` (0 start,
     * 1 end) is recorded in queue order; elapsed reads end - start in
     * microseconds once both ran (device time; wall time on the CPU). */
    mlxn_status (*graph_timer_new)(mlxn_device *dev, void **out);
    void (*graph_timer_free)(mlxn_device *dev, void *timer);
    mlxn_status (*graph_timer_mark)(mlxn__cb *cb, void *timer, int which);
    mlxn_status (*graph_timer_elapsed)(mlxn_device *dev, void *timer,
                                       double *us);

    /* ---- fences, timing, residency ---- */

    /* Timeline fences (core/fence.h). fence_init/fini create and free the
     * fence's backend state. fence_signal appends, in queue order, a write
     * of `value` to the fence word; fence_wait, a wait until the word is
     * at least `value`. The core calls both with the fence's lock held and
     * value checks done. fence_host_signal writes the word from the host
     * and wakes waiters; fence_host_wait blocks the calling thread until
     * the word is at least `value`, MLXN_ERR_TIMEOUT after timeout_ns, or
     * a device error that makes the value unreachable. */
    mlxn_status (*fence_init)(mlxn__fence *f);
    void (*fence_fini)(mlxn__fence *f);
    mlxn_status (*fence_signal)(mlxn__cb *cb, mlxn__fence *f, uint64_t value);
    mlxn_status (*fence_wait)(mlxn__cb *cb, mlxn__fence *f, uint64_t value);
    mlxn_status (*fence_host_signal)(mlxn__fence *f, uint64_t value);
    mlxn_status (*fence_host_wait)(mlxn__fence *f, uint64_t value,
                                   uint64_t timeout_ns);

    /* Profiling timestamps: a stamp is recorded in queue order and read
     * after its command buffer completed; elapsed is in microseconds. */
    mlxn_status (*stamp_create)(mlxn_device *dev, void **out);
    void (*stamp_destroy)(mlxn_device *dev, void *stamp);
    mlxn_status (*stamp_record)(mlxn__cb *cb, void *stamp);
    mlxn_status (*stamp_elapsed)(mlxn_device *dev, void *from, void *to,
                                 double *us);
    /* Capture window for an external profiler; NULL: a no-op. */
    mlxn_status (*capture_start)(mlxn_device *dev);
    mlxn_status (*capture_stop)(mlxn_device *dev);

    /* Residency in the device cache; NULL where there is none (CPU).
     * residency_limit sets aside up to `want` bytes of L2 for persisting
     * accesses, saving the old limit in *old, and reports what was
     * granted and the largest window; with old == NULL it restores a
     * limit and first demotes persisting lines to normal ones. residency_window
     * makes [addr, addr + bytes) the queue's persisting window (bytes 0:
     * none) with the given hit ratio. */
    mlxn_status (*residency_limit)(mlxn_device *dev, size_t want, size_t *old,
                                   size_t *granted, size_t *max_window);
    mlxn_status (*residency_window)(mlxn_queue *q, uint64_t addr, size_t bytes,
                                    float hit_ratio);
} mlxn__backend;

extern const mlxn__backend mlxn__cpu_backend;
#ifdef MLXN_WITH_CUDA
extern const mlxn__backend mlxn__cuda_backend;
#endif

#endif /* MLXN_BACKEND_H */
