/*
 * cpu_graph.c: executable graphs on the CPU backend: the launches, with
 * their argument values copied, replayed in order into the command buffer
 * at each launch (edges are kept for introspection; in-order execution
 * satisfies them). Timing marks are hooks that read the clock on the
 * queue's worker.
 */
#include "backend/cpu/cpu_graph.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct cpu_graph {
    int n;
    mlxn__launch *nodes; /* argv[] point into args */
    uint8_t *args;
    mlxn__graph_edge *edges;
    size_t n_edges;
} cpu_graph;

void mlxn__cpu_graph_free(mlxn_device *dev, void *exec)
{
    (void)dev;
    cpu_graph *g = exec;
    if (!g)
        return;
    free(g->nodes);
    free(g->args);
    free(g->edges);
    free(g);
}

mlxn_status mlxn__cpu_graph_build(mlxn_device *dev, const mlxn__graph_desc *b, void **out)
{
    cpu_graph *g = calloc(1, sizeof *g);
    size_t bytes = 0;
    for (int i = 0; i < b->n_nodes; i++)
        for (int a = 0; a < b->nodes[i].n_args; a++)
            bytes += (b->nodes[i].argsz[a] + 15) & ~(size_t)15;
    if (g) {
        g->n = b->n_nodes;
        g->nodes = malloc(((size_t)b->n_nodes + 1) * sizeof *g->nodes);
        g->args = malloc(bytes + 16);
        g->edges = malloc((b->n_edges + 1) * sizeof *g->edges);
    }
    if (!g || !g->nodes || !g->args || !g->edges) {
        mlxn__cpu_graph_free(dev, g);
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "graph: out of memory");
    }
    size_t off = 0;
    for (int i = 0; i < b->n_nodes; i++) {
        g->nodes[i] = b->nodes[i];
        for (int a = 0; a < b->nodes[i].n_args; a++) {
            memcpy(g->args + off, b->nodes[i].argv[a], b->nodes[i].argsz[a]);
            g->nodes[i].argv[a] = g->args + off;
            off += (b->nodes[i].argsz[a] + 15) & ~(size_t)15;
        }
    }
    if (b->n_edges)
        memcpy(g->edges, b->edges, b->n_edges * sizeof *g->edges);
    g->n_edges = b->n_edges;
    *out = g;
    return MLXN_OK;
}

mlxn_status mlxn__cpu_graph_launch(mlxn__cb *cb, void *exec)
{
    cpu_graph *g = exec;
    mlxn__cpu_cb *c = cb->backend_state;
    int n_cmds = c->n_cmds;
    size_t arena_used = c->arena_used;
    for (int i = 0; i < g->n; i++) {
        mlxn_status st = mlxn__cpu_launch(cb, &g->nodes[i]);
        if (st != MLXN_OK) { /* no partial graph in the command buffer */
            c->n_cmds = n_cmds;
            c->arena_used = arena_used;
            return st;
        }
    }
    return MLXN_OK;
}

mlxn_status mlxn__cpu_graph_set_node(mlxn_device *dev, void *exec, int i, const mlxn__launch *l)
{
    (void)dev;
    cpu_graph *g = exec;
    mlxn__launch *n = &g->nodes[i];
    n->grid = l->grid;
    n->block = l->block;
    n->shared_bytes = l->shared_bytes;
    for (int a = 0; a < n->n_args; a++)
        memcpy(n->argv[a], l->argv[a], n->argsz[a]);
    return MLXN_OK;
}

mlxn_status mlxn__cpu_graph_edges(mlxn_device *dev, void *exec, mlxn__graph_edge **out,
                                  size_t *n)
{
    cpu_graph *g = exec;
    *out = malloc((g->n_edges + 1) * sizeof **out);
    if (!*out)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "graph: out of memory");
    memcpy(*out, g->edges, g->n_edges * sizeof **out);
    *n = g->n_edges;
    return MLXN_OK;
}

/* ---- timing marks: wall-clock microseconds read on the worker ---------------------- */
typedef struct cpu_timer {
    double us[2];
} cpu_timer;

mlxn_status mlxn__cpu_timer_new(mlxn_device *dev, void **out)
{
    cpu_timer *t = calloc(1, sizeof *t);
    if (!t)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "timer: out of memory");
    *out = t;
    return MLXN_OK;
}

void mlxn__cpu_timer_free(mlxn_device *dev, void *timer)
{
    (void)dev;
    free(timer);
}

static mlxn_status stamp(void *a, void *b, uint64_t which)
{
    (void)b;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ((cpu_timer *)a)->us[which] = (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
    return MLXN_OK;
}

mlxn_status mlxn__cpu_timer_mark(mlxn__cb *cb, void *timer, int which)
{
    return mlxn__cpu_cb_add_hook(cb, stamp, timer, NULL, (uint64_t)(which != 0));
}

mlxn_status mlxn__cpu_timer_elapsed(mlxn_device *dev, void *timer, double *us)
{
    (void)dev;
    cpu_timer *t = timer;
    *us = t->us[1] - t->us[0];
    return MLXN_OK;
}
