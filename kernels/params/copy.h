/*
 * params/copy.h: parameters of the byte-copy kernel.
 */
#ifndef MLXN_PARAMS_COPY_H
#define MLXN_PARAMS_COPY_H

#include <stdint.h>

/* copy_bytes: dst[i] = src[i] for i < n bytes; n16 = 16-byte chunks
 * (both addresses 16-aligned), the tail n - 16*n16 bytes copied singly. */
typedef struct mlxn_copy_params {
    uint64_t n;
    uint64_t n16;
} mlxn_copy_params;

#endif /* MLXN_PARAMS_COPY_H */
