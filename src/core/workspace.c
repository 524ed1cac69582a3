/*
 * workspace.c: device-owned scratch buffers per (queue, slot), grown on
 * demand (see internal.h). Growth allocates, so ops use workspaces only off
 * the decode path (prefill).
 */
#include "core/internal.h"

#include <stdlib.h>

typedef struct mlxn__workspace {
    mlxn_queue *queue;
    int slot;
    mlxn_buffer *buf;
    struct mlxn__workspace *next;
} mlxn__workspace;

mlxn_status mlxn__workspace_get(mlxn_device *dev, mlxn_queue *q, int slot, size_t bytes,
                                mlxn_buffer **out)
{
    mlxn_status st = MLXN_OK;
    pthread_mutex_lock(&dev->lock);
    mlxn__workspace *w = dev->workspaces;
    while (w && (w->queue != q || w->slot != slot))
        w = w->next;
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w) {
            pthread_mutex_unlock(&dev->lock);
            return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "workspace: out of memory");
        }
        w->queue = q;
        w->slot = slot;
        w->next = dev->workspaces;
        dev->workspaces = w;
    }
    if (!w->buf || mlxn_buffer_bytes(w->buf) < bytes) {
        /* Grow to the next power of two, at least 1 MiB. */
        size_t size = (size_t)1 << 20;
        while (size < bytes)
            size <<= 1;
        mlxn_buffer_params p = mlxn_buffer_params_default();
        p.bytes = size;
        p.shape[0] = (int64_t)size;
        mlxn_buffer *b = NULL;
        pthread_mutex_unlock(&dev->lock); /* buffer creation reports through lock */
        st = mlxn_buffer_create(dev, &p, &b);
        pthread_mutex_lock(&dev->lock);
        if (st == MLXN_OK) {
            mlxn_buffer_destroy(w->buf);
            w->buf = b;
        }
    }
    *out = w->buf;
    pthread_mutex_unlock(&dev->lock);
    return st;
}

void mlxn__workspace_release_all(mlxn_device *dev)
{
    mlxn__workspace *w = dev->workspaces;
    while (w) {
        mlxn__workspace *next = w->next;
        mlxn_buffer_destroy(w->buf);
        free(w);
        w = next;
    }
    dev->workspaces = NULL;
}
