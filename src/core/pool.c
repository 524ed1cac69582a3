/*
 * pool.c: the buffer pool. Requests are rounded up to a power of two (at
 * least 256 bytes) and served from a per-bucket free list; reset returns
 * every buffer handed out since the last reset. Reused memory is not
 * re-zeroed.
 */
#include "core/internal.h"

#include <stdlib.h>
#include <string.h>

#define POOL_MIN_SHIFT 8
#define POOL_BUCKETS 48

typedef struct pool_node {
    mlxn_buffer *buf;
    struct pool_node *next;
} pool_node;

struct mlxn_pool {
    mlxn_device *dev;
    pool_node *free_list[POOL_BUCKETS];
    pool_node *in_use; /* every buffer handed out since the last reset */
    pool_node *spare;  /* list nodes not holding a buffer */
    mlxn_pool_stats stats;
};

mlxn_status mlxn_pool_create(mlxn_device *dev, mlxn_pool **out)
{
    if (!dev || !out)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "pool_create: NULL argument");
    mlxn_pool *p = calloc(1, sizeof *p);
    if (!p)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "pool_create: out of memory");
    p->dev = dev;
    *out = p;
    return MLXN_OK;
}

static void free_nodes(pool_node *n)
{
    while (n) {
        pool_node *next = n->next;
        if (n->buf) {
            n->buf->pool_owned = 0;
            mlxn_buffer_destroy(n->buf);
        }
        free(n);
        n = next;
    }
}

void mlxn_pool_destroy(mlxn_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < POOL_BUCKETS; i++)
        free_nodes(p->free_list[i]);
    free_nodes(p->in_use);
    free_nodes(p->spare);
    free(p);
}

static int bucket_of(size_t bytes)
{
    int b = 0;
    while (((size_t)1 << (b + POOL_MIN_SHIFT)) < bytes)
        b++;
    return b;
}

mlxn_status mlxn_pool_alloc(mlxn_pool *p, size_t bytes, mlxn_buffer **out)
{
    if (!p || !out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "pool_alloc: NULL argument");
    if (bytes > ((size_t)1 << (POOL_BUCKETS - 1 + POOL_MIN_SHIFT)))
        return mlxn__fail(p->dev, MLXN_ERR_OUT_OF_MEMORY,
                          "pool_alloc: %zu bytes is beyond the largest bucket", bytes);
    int b = bucket_of(bytes);
    size_t size = (size_t)1 << (b + POOL_MIN_SHIFT);
    pool_node *n = p->free_list[b];
    if (n) {
        p->free_list[b] = n->next;
        p->stats.reuses++;
    } else {
        n = p->spare;
        if (n)
            p->spare = n->next;
        else if (!(n = calloc(1, sizeof *n)))
            return mlxn__fail(p->dev, MLXN_ERR_OUT_OF_MEMORY, "pool_alloc: out of memory");
        mlxn_buffer_params bp = mlxn_buffer_params_default();
        bp.bytes = size;
        bp.shape[0] = (int64_t)size;
        mlxn_status st = mlxn_buffer_create(p->dev, &bp, &n->buf);
        if (st != MLXN_OK) {
            n->buf = NULL;
            n->next = p->spare;
            p->spare = n;
            return st;
        }
        n->buf->pool_owned = 1;
        p->stats.allocations++;
        p->stats.reserved_bytes += size;
    }
    int64_t shape[1] = {(int64_t)bytes};
    mlxn_buffer_reshape(n->buf, MLXN_DTYPE_U8, 1, shape);
    n->next = p->in_use;
    p->in_use = n;
    p->stats.in_use_bytes += size;
    *out = n->buf;
    return MLXN_OK;
}

void mlxn_pool_reset(mlxn_pool *p)
{
    if (!p)
        return;
    while (p->in_use) {
        pool_node *n = p->in_use;
        p->in_use = n->next;
        int b = bucket_of(n->buf->bytes);
        n->next = p->free_list[b];
        p->free_list[b] = n;
    }
    p->stats.in_use_bytes = 0;
}

void mlxn_pool_get_stats(const mlxn_pool *p, mlxn_pool_stats *out)
{
    *out = p->stats;
}
