/*
 * session_util.h: helpers shared by the session, fence, residency and
 * profiling tests: u32 buffers with a known pattern (base + 3i), the
 * debug kernels as dispatches (increment, slow write, fault), sessions,
 * and clocks.
 */
#ifndef MLXN_SESSION_UTIL_H
#define MLXN_SESSION_UTIL_H

#include "mlxn.h"

#include <stdlib.h>
#include <time.h>

#define MS 1000000ull /* nanoseconds */

static inline mlxn_buffer *u32_buffer(mlxn_device *dev, uint32_t n, uint32_t base)
{
    mlxn_buffer *b = NULL;
    int64_t shape[1] = {n};
    if (mlxn_buffer_create_tensor(dev, MLXN_DTYPE_U32, 1, shape, &b) != MLXN_OK)
        return NULL;
    uint32_t *v = malloc(n * sizeof *v);
    for (uint32_t i = 0; i < n; i++)
        v[i] = base + i * 3u;
    mlxn_buffer_write(b, 0, v, n * sizeof *v);
    free(v);
    return b;
}

static inline uint32_t read_u32(mlxn_buffer *b, uint32_t i)
{
    uint32_t v = 0xffffffffu;
    mlxn_buffer_read(b, i * 4u, &v, 4);
    return v;
}

/* out[i] = in[i] + 1 for i < n (in may be out). */
static inline mlxn_status inc(mlxn_encoder *enc, mlxn_buffer *in, mlxn_buffer *out, uint32_t n)
{
    mlxn_kernel *k = NULL;
    mlxn_status st = mlxn_kernel_get(mlxn_encoder_device(enc), "debug_inc_u32", &k);
    if (st != MLXN_OK)
        return st;
    mlxn_arg args[3] = {mlxn_arg_buffer(in), mlxn_arg_buffer(out), mlxn_arg_bytes(&n, 4)};
    mlxn_range r = mlxn_range_of(in), w = mlxn_range_of(out);
    mlxn_dispatch d = {0};
    d.kernel = k;
    d.args = args;
    d.n_args = 3;
    d.grid = (mlxn_dim3){(n + 127) / 128, 1, 1};
    d.block = (mlxn_dim3){128, 1, 1};
    d.kind = MLXN_OP_ELEM_ADD;
    d.reads = &r;
    d.n_reads = 1;
    d.writes = &w;
    d.n_writes = 1;
    return mlxn_encoder_dispatch(enc, &d);
}

/* Wait ns nanoseconds on the device, then out[0] = value. */
static inline mlxn_status delay_write(mlxn_encoder *enc, mlxn_buffer *out, uint64_t ns,
                                      uint32_t value)
{
    mlxn_kernel *k = NULL;
    mlxn_status st = mlxn_kernel_get(mlxn_encoder_device(enc), "debug_delay_write", &k);
    if (st != MLXN_OK)
        return st;
    mlxn_arg args[3] = {mlxn_arg_buffer(out), mlxn_arg_bytes(&ns, 8), mlxn_arg_bytes(&value, 4)};
    mlxn_dispatch d = {0};
    d.kernel = k;
    d.args = args;
    d.n_args = 3;
    d.grid = d.block = (mlxn_dim3){1, 1, 1};
    d.kind = MLXN_OP_OTHER;
    return mlxn_encoder_dispatch(enc, &d);
}

static inline mlxn_status fault(mlxn_encoder *enc)
{
    mlxn_kernel *k = NULL;
    mlxn_status st = mlxn_kernel_get(mlxn_encoder_device(enc), "debug_fault", &k);
    if (st != MLXN_OK)
        return st;
    uint64_t bad = 8; /* an unmapped address */
    mlxn_arg arg = mlxn_arg_bytes(&bad, 8);
    mlxn_dispatch d = {0};
    d.kernel = k;
    d.args = &arg;
    d.n_args = 1;
    d.grid = d.block = (mlxn_dim3){1, 1, 1};
    return mlxn_encoder_dispatch(enc, &d);
}

static inline mlxn_session *new_session(mlxn_device *dev, mlxn_queue *q)
{
    mlxn_session_params p = mlxn_session_params_default();
    p.queue = q;
    mlxn_session *s = NULL;
    return mlxn_session_create(dev, &p, &s) == MLXN_OK ? s : NULL;
}

static inline void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static inline double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

#endif /* MLXN_SESSION_UTIL_H */
