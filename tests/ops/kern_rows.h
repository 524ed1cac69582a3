/*
 * kern_rows.h: helpers for the op-table rows of the inference kernels
 * (activations, add_norm, embed, rope, sample): tensors that are views at
 * an element offset inside a larger guarded tensor, so kernels see
 * unaligned start addresses, and a check that nothing outside an output
 * view was written.
 */
#ifndef MLXN_KERN_ROWS_H
#define MLXN_KERN_ROWS_H

#include "ops/optest.h"

#include <stdlib.h>
#include <string.h>

#define KR_MAX_VIEWS 24

typedef struct kr_views {
    mlxn_buffer *view[KR_MAX_VIEWS];
    mlxn_buffer *parent[KR_MAX_VIEWS]; /* outputs: checked for stray writes */
    size_t off[KR_MAX_VIEWS], bytes[KR_MAX_VIEWS];
    int n;
} kr_views;

/* A view of `shape` at element `skip` of `parent` (which must be big
 * enough); NULL (and the row failed) on error or in reference mode. */
static inline mlxn_buffer *kr_view(ot_ctx *c, kr_views *v, mlxn_buffer *parent, int64_t skip,
                                   mlxn_dtype dt, int ndim, const int64_t *shape, int is_out)
{
    if (!parent || v->n == KR_MAX_VIEWS)
        return NULL;
    size_t es = (size_t)mlxn_dtype_block_bytes(dt);
    mlxn_buffer *b = NULL;
    mlxn_status st = mlxn_buffer_view(parent, (size_t)skip * es, dt, ndim, shape, &b);
    if (st != MLXN_OK) {
        ot_fail(c, "view: %s", mlxn_last_error(NULL));
        return NULL;
    }
    v->view[v->n] = b;
    v->parent[v->n] = is_out ? parent : NULL;
    v->off[v->n] = (size_t)skip * es;
    v->bytes[v->n] = mlxn_buffer_bytes(b);
    v->n++;
    return b;
}

/* After the outputs were collected: every byte of an output view's parent
 * outside the view is still the 0xff poison. Then destroy the views. */
static inline void kr_finish(ot_ctx *c, kr_views *v)
{
    for (int i = 0; i < v->n; i++) {
        if (v->parent[i]) {
            size_t total = mlxn_buffer_bytes(v->parent[i]);
            uint8_t *raw = malloc(total);
            if (raw && mlxn_buffer_read(v->parent[i], 0, raw, total) == MLXN_OK) {
                for (size_t b = 0; b < total; b++)
                    if ((b < v->off[i] || b >= v->off[i] + v->bytes[i]) && raw[b] != 0xff) {
                        ot_fail(c, "a kernel wrote byte %zu outside its output view", b);
                        break;
                    }
            }
            free(raw);
        }
        mlxn_buffer_destroy(v->view[i]);
    }
    v->n = 0;
}

#endif /* MLXN_KERN_ROWS_H */
