/*
 * executor.c: the graph executor: an encoder on one queue, a timing-mark
 * pair for its sessions, and a cache of executables keyed by the caller's
 * 64-bit shape bucket. Sessions are in session.c.
 */
#include "graph/executor.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

double mlxn__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

mlxn_graph_executor_params mlxn_graph_executor_params_default(void)
{
    mlxn_graph_executor_params p;
    memset(&p, 0, sizeof p);
    p.timing = 1;
    return p;
}

mlxn_status mlxn_graph_executor_create(mlxn_device *dev, const mlxn_graph_executor_params *p,
                                       mlxn_graph_executor **out)
{
    if (!dev || !out)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "graph_executor_create: NULL argument");
    *out = NULL;
    mlxn_graph_executor_params params = p ? *p : mlxn_graph_executor_params_default();
    mlxn_graph_executor *ex = calloc(1, sizeof *ex);
    if (!ex)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "graph_executor_create: out of memory");
    ex->dev = dev;
    ex->timing = params.timing != 0;
    ex->session.ex = ex;
    mlxn_encoder_params ep = mlxn_encoder_params_default();
    ep.queue = params.queue;
    ep.auto_barrier = params.auto_barrier;
    ep.label = params.label;
    mlxn_status st = mlxn_encoder_create(dev, &ep, &ex->enc);
    if (st == MLXN_OK)
        st = dev->be->graph_timer_new(dev, &ex->timer);
    if (st != MLXN_OK) {
        mlxn_encoder_destroy(ex->enc);
        free(ex);
        return st;
    }
    *out = ex;
    return MLXN_OK;
}

void mlxn_graph_executor_destroy(mlxn_graph_executor *ex)
{
    if (!ex)
        return;
    mlxn_encoder_destroy(ex->enc); /* waits for the committed work */
    for (size_t i = 0; i < ex->n_cache; i++)
        mlxn_graph_exec_destroy(ex->cache[i].exec);
    free(ex->cache);
    ex->dev->be->graph_timer_free(ex->dev, ex->timer);
    free(ex);
}

mlxn_status mlxn_graph_executor_wait(mlxn_graph_executor *ex)
{
    if (!ex)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "graph_executor_wait: NULL executor");
    return mlxn_encoder_wait(ex->enc);
}

mlxn_graph_exec *mlxn_graph_executor_find(mlxn_graph_executor *ex, uint64_t key)
{
    for (size_t i = 0; ex && i < ex->n_cache; i++)
        if (ex->cache[i].key == key)
            return ex->cache[i].exec;
    return NULL;
}

mlxn_status mlxn_graph_executor_instantiate(mlxn_graph_executor *ex, uint64_t key,
                                            const mlxn_graph *g,
                                            const mlxn_graph_exec_params *p,
                                            mlxn_graph_exec **out)
{
    if (out)
        *out = NULL;
    if (!ex || !g)
        return mlxn__fail(ex ? ex->dev : NULL, MLXN_ERR_INVALID_ARG,
                          "graph_executor_instantiate: NULL argument");
    if (g->dev != ex->dev)
        return mlxn__fail(ex->dev, MLXN_ERR_INVALID_ARG,
                          "graph_executor_instantiate: graph of another device");
    size_t slot = ex->n_cache;
    for (size_t i = 0; i < ex->n_cache; i++)
        if (ex->cache[i].key == key)
            slot = i;
    if (slot == ex->n_cache && ex->n_cache == ex->cap_cache) {
        size_t cap = ex->cap_cache ? ex->cap_cache * 2 : 8;
        mlxn__exec_entry *c = realloc(ex->cache, cap * sizeof *c);
        if (!c)
            return mlxn__fail(ex->dev, MLXN_ERR_OUT_OF_MEMORY,
                              "graph_executor_instantiate: out of memory");
        ex->cache = c;
        ex->cap_cache = cap;
    }
    mlxn_graph_exec *x = NULL;
    mlxn_status st = mlxn_graph_exec_create(g, p, &x);
    if (st != MLXN_OK)
        return st;
    if (slot < ex->n_cache) /* launches in flight keep what they use */
        mlxn_graph_exec_destroy(ex->cache[slot].exec);
    else
        ex->n_cache++;
    ex->cache[slot].key = key;
    ex->cache[slot].exec = x;
    ex->stats.instantiated++;
    if (out)
        *out = x;
    return MLXN_OK;
}

void mlxn_graph_executor_get_stats(const mlxn_graph_executor *ex, mlxn_graph_executor_stats *out)
{
    if (ex && out)
        *out = ex->stats;
}
