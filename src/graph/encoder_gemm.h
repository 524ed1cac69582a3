/*
 * encoder_gemm.h: library matrix products through the encoder (see
 * encoder_gemm.c and mlxn__gemm in backend/backend.h).
 */
#ifndef MLXN_ENCODER_GEMM_H
#define MLXN_ENCODER_GEMM_H

#include "core/internal.h"

/* One library GEMM with the ranges it reads and writes (buffers named in
 * the ranges are kept alive until the command buffer completes). */
typedef struct mlxn__gemm_call {
    mlxn__gemm g;
    mlxn_range reads[4];
    int n_reads;
    mlxn_range writes[2];
    int n_writes;
} mlxn__gemm_call;

/* 1 when mlxn__encoder_gemm can run now: the backend has a matrix library
 * that loaded, and the encoder is not capturing. */
int mlxn__encoder_gemm_available(mlxn_encoder *enc);
mlxn_status mlxn__encoder_gemm(mlxn_encoder *enc, const mlxn__gemm_call *call);

#endif /* MLXN_ENCODER_GEMM_H */
