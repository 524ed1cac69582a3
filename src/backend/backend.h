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

/* D = A @ B^T (+ C): A (m, k) bf16 and B (n, k) bf16 row-major with rows
 * k elements apart; C and D (m, n) f32 row-major with rows ldd elements
 * apart; f32 accumulation. c == 0: no C. The workspace (device memory of
 * workspace_bytes) is the library's scratch for this call. */
typedef struct mlxn__gemm {
    uint64_t a, b, c, d;
    uint32_t m, n, k, ldd;
    uint64_t workspace;
    uint64_t workspace_bytes;
} mlxn__gemm;

typedef struct mlxn__backend {
    const char *name;
    /* Device lifetime; open fills dev->backend_state and dev->name. */
    mlxn_status (*open)(mlxn_device *dev, const mlxn_device_params *p);
    void (*close)(mlxn_device *dev);
    mlxn_status (*info)(const mlxn_device *dev, mlxn_device_info *out);

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

    /* ---- fences, timing, residency ---- */
} mlxn__backend;

extern const mlxn__backend mlxn__cpu_backend;
#ifdef MLXN_WITH_CUDA
extern const mlxn__backend mlxn__cuda_backend;
#endif

#endif /* MLXN_BACKEND_H */
