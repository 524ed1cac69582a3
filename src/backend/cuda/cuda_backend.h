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

#endif /* MLXN_CUDA_BACKEND_H */
