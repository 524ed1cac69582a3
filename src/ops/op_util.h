/*
 * op_util.h: helpers every op uses: kernel lookup by formatted name,
 * dtype and shape checks with messages naming the op and the argument,
 * and one call that encodes an annotated dispatch.
 */
#ifndef MLXN_OP_UTIL_H
#define MLXN_OP_UTIL_H

#include "core/internal.h"

#include <stdarg.h>

/* Look up the kernel named by printf-style fmt (e.g. "add_%s"). */
mlxn_status mlxn__op_kernel(mlxn_encoder *enc, mlxn_kernel **out,
                            const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fail unless buf is non-NULL and its dtype is one of the listed ones
 * (list ends with -1). */
mlxn_status mlxn__op_check_dtype(mlxn_encoder *enc, const char *op,
                                 const char *arg, const mlxn_buffer *buf, ...);

/* Fail unless the buffers have the same element count. */
mlxn_status mlxn__op_check_elems(mlxn_encoder *enc, const char *op,
                                 const char *arg_a, const mlxn_buffer *a,
                                 const char *arg_b, const mlxn_buffer *b);

/* Innermost dimension and the product of the others. */
void mlxn__op_rows_cols(const mlxn_buffer *b, int64_t *rows, int64_t *cols);

/* Everything of one dispatch, for mlxn__op_encode. */
typedef struct mlxn__op_launch {
    mlxn_kernel *kernel;
    mlxn_arg args[MLXN_MAX_ARGS];
    int n_args;
    mlxn_dim3 grid, block;
    uint32_t shared_bytes;
    mlxn_op_kind kind;
    mlxn_range reads[MLXN_MAX_RANGES], writes[MLXN_MAX_RANGES];
    int n_reads, n_writes;
} mlxn__op_launch;

/* Start a launch description for `kernel` of kind `kind`. */
void mlxn__op_begin(mlxn__op_launch *l, mlxn_kernel *kernel, mlxn_op_kind kind);
/* Append a buffer slot; reads and writes mark it in the ranges. */
void mlxn__op_buf(mlxn__op_launch *l, mlxn_buffer *b, int reads, int writes);
void mlxn__op_bytes(mlxn__op_launch *l, const void *bytes, size_t size);
mlxn_status mlxn__op_encode(mlxn_encoder *enc, const mlxn__op_launch *l);

/* 1-D launch geometry for n items handled `per_thread` at a time by
 * blocks of `block` threads, with at most max_blocks blocks. */
mlxn_dim3 mlxn__op_grid_1d(uint64_t n, uint32_t block, uint32_t per_thread,
                           uint32_t max_blocks);

#endif /* MLXN_OP_UTIL_H */
