/*
 * cuda_backend.h: state shared by the CUDA backend's files.
 */
#ifndef MLXN_CUDA_BACKEND_H
#define MLXN_CUDA_BACKEND_H

#include "backend/cuda/cuda_driver.h"

typedef struct mlxn__cuda_blas mlxn__cuda_blas;

typedef struct mlxn__cuda_device {
    const mlxn__cu *cu;
    CUdevice device;
    CUcontext ctx;    /* the primary context */
    CUmodule *modules; /* one per embedded fatbin */
    CUstream xfer;    /* host<->device copies and fills */
    int pdl;          /* launch with programmatic stream serialization */
    int sm_count;
    mlxn__cuda_blas *blas; /* cublasLt, loaded on first use (cuda_blas.c) */
    int blas_failed;       /* loading cublasLt failed: do not retry */
    CUdeviceptr timeline;  /* device timeline records (params/timeline.h) or 0 */
} mlxn__cuda_device;

typedef struct mlxn__cuda_queue {
    CUstream stream;
} mlxn__cuda_queue;

typedef struct mlxn__cuda_cb {
    CUevent done; /* recorded at submit */
} mlxn__cuda_cb;

/* The library GEMM (cuda_blas.c): backend entries and cleanup. */
int mlxn__cuda_gemm_available(mlxn_device *dev);
mlxn_status mlxn__cuda_gemm(mlxn__cb *cb, const mlxn__gemm *g);
void mlxn__cuda_blas_close(mlxn_device *dev);

/* Make the device's context current on the calling thread. */
mlxn_status mlxn__cuda_bind(mlxn_device *dev);

static inline mlxn__cuda_device *mlxn__cuda_of(const mlxn_device *dev)
{
    return (mlxn__cuda_device *)dev->backend_state;
}

static inline CUstream mlxn__cuda_stream(const mlxn_queue *q)
{
    return ((mlxn__cuda_queue *)q->backend_state)->stream;
}

/* Timeline fences, profiling stamps, capture windows and the L2
 * persisting window (cuda_fence.c). */
mlxn_status mlxn__cuda_fence_init(mlxn__fence *f);
void mlxn__cuda_fence_fini(mlxn__fence *f);
mlxn_status mlxn__cuda_fence_signal(mlxn__cb *cb, mlxn__fence *f, uint64_t value);
mlxn_status mlxn__cuda_fence_wait(mlxn__cb *cb, mlxn__fence *f, uint64_t value);
mlxn_status mlxn__cuda_fence_host_signal(mlxn__fence *f, uint64_t value);
mlxn_status mlxn__cuda_fence_host_wait(mlxn__fence *f, uint64_t value, uint64_t timeout_ns);
mlxn_status mlxn__cuda_stamp_create(mlxn_device *dev, void **out);
void mlxn__cuda_stamp_destroy(mlxn_device *dev, void *stamp);
mlxn_status mlxn__cuda_stamp_record(mlxn__cb *cb, void *stamp);
mlxn_status mlxn__cuda_stamp_elapsed(mlxn_device *dev, void *from, void *to, double *us);
mlxn_status mlxn__cuda_capture_start(mlxn_device *dev);
mlxn_status mlxn__cuda_capture_stop(mlxn_device *dev);
mlxn_status mlxn__cuda_residency_limit(mlxn_device *dev, size_t want, size_t *old,
                                       size_t *granted, size_t *max_window);
mlxn_status mlxn__cuda_residency_window(mlxn_queue *q, uint64_t addr, size_t bytes,
                                        float hit_ratio);

#endif /* MLXN_CUDA_BACKEND_H */
