/*
 * exec.c: executable graphs. An executable keeps a private copy of the
 * graph's dispatches (holding their allocations), computes the dependency
 * edges (exec_edges.c), has the backend build its graph (a CUDA graph, or
 * the node list on the CPU) and reads the edges back for introspection.
 * A launch goes through an encoder: it is ordered with the encoder's other
 * work, retains the graph's allocations for the command buffer like any
 * dispatch, and is counted as the graph's dispatches.
 */
#include "graph/passes.h"

#include <stdlib.h>
#include <string.h>

struct mlxn_graph_exec {
    mlxn_device *dev;
    mlxn_graph *nodes; /* dispatches only: slots, geometry, inline bytes */
    void *backend;
    mlxn__graph_edge *edges; /* as read back from the backend */
    size_t n_edges;
    mlxn__alloc **allocs; /* distinct allocations the nodes use */
    size_t n_allocs;
    mlxn_kernel **kernels; /* distinct kernels, with their node counts */
    uint32_t *kernel_nodes;
    size_t n_kernels;
    uint64_t launches;
};

mlxn_graph_exec_params mlxn_graph_exec_params_default(void)
{
    mlxn_graph_exec_params p;
    memset(&p, 0, sizeof p);
    p.edges = MLXN_EDGES_PRECISE;
    p.programmatic = 1;
    return p;
}

mlxn_graph_node_update mlxn_graph_node_update_default(void)
{
    mlxn_graph_node_update u;
    memset(&u, 0, sizeof u);
    u.slot = -1;
    return u;
}

/* The launch of node n; buffer addresses go to addrs[]. */
static void node_launch(const mlxn__node *n, uint64_t *addrs, mlxn__launch *l)
{
    memset(l, 0, sizeof *l);
    l->fn = n->kernel->fn;
    l->name = n->kernel->name;
    l->grid = n->grid;
    l->block = n->block;
    l->shared_bytes = n->shared_bytes;
    l->n_args = n->n_args;
    for (int i = 0; i < n->n_args; i++) {
        const mlxn__slot *s = &n->slots[i];
        if (s->kind == MLXN_ARG_BUFFER) {
            addrs[i] = s->alloc->mem.addr + s->offset;
            l->argv[i] = &addrs[i];
            l->argsz[i] = sizeof(uint64_t);
        } else {
            l->argv[i] = (void *)s->bytes;
            l->argsz[i] = s->size;
        }
    }
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return (x > y) - (x < y);
}

/* Distinct allocations and kernels of the nodes. */
static mlxn_status collect(mlxn_graph_exec *x)
{
    mlxn_graph *g = x->nodes;
    x->allocs = malloc((g->n * MLXN_MAX_ARGS + 1) * sizeof *x->allocs);
    x->kernels = malloc((g->n + 1) * sizeof *x->kernels);
    x->kernel_nodes = calloc(g->n + 1, sizeof *x->kernel_nodes);
    if (!x->allocs || !x->kernels || !x->kernel_nodes)
        return MLXN_ERR_OUT_OF_MEMORY;
    size_t na = 0;
    for (size_t i = 0; i < g->n; i++) {
        const mlxn__node *n = &g->nodes[i];
        for (int s = 0; s < n->n_args; s++)
            if (n->slots[s].kind == MLXN_ARG_BUFFER)
                x->allocs[na++] = n->slots[s].alloc;
        x->kernels[i] = n->kernel;
    }
    qsort(x->allocs, na, sizeof *x->allocs, cmp_ptr);
    qsort(x->kernels, g->n, sizeof *x->kernels, cmp_ptr);
    x->n_allocs = 0;
    for (size_t i = 0; i < na; i++)
        if (!x->n_allocs || x->allocs[x->n_allocs - 1] != x->allocs[i])
            x->allocs[x->n_allocs++] = x->allocs[i];
    x->n_kernels = 0;
    for (size_t i = 0; i < g->n; i++) {
        if (!x->n_kernels || x->kernels[x->n_kernels - 1] != x->kernels[i])
            x->kernels[x->n_kernels++] = x->kernels[i];
        x->kernel_nodes[x->n_kernels - 1]++;
    }
    return MLXN_OK;
}

void mlxn_graph_exec_destroy(mlxn_graph_exec *x)
{
    if (!x)
        return;
    if (x->backend)
        x->dev->be->graph_free(x->dev, x->backend);
    mlxn_graph_destroy(x->nodes);
    free(x->edges);
    free(x->allocs);
    free(x->kernels);
    free(x->kernel_nodes);
    free(x);
}

/* Edges for the dispatches of g, then the backend graph. */
static mlxn_status build(mlxn_graph_exec *x, const mlxn_graph *g, const mlxn_graph_exec_params *p)
{
    mlxn_device *dev = x->dev;
    size_t nd = x->nodes->n;
    const mlxn__node **all = malloc((g->n + 1) * sizeof *all);
    mlxn__launch *launches = malloc((nd + 1) * sizeof *launches);
    uint64_t(*addrs)[MLXN_MAX_ARGS] = malloc((nd + 1) * sizeof *addrs);
    mlxn__graph_edge *edges = NULL;
    size_t n_edges = 0;
    mlxn_status st = MLXN_ERR_OUT_OF_MEMORY;
    if (all && launches && addrs) {
        for (size_t i = 0; i < g->n; i++)
            all[i] = &g->nodes[i];
        st = mlxn__graph_edges(all, g->n, p->edges, &edges, &n_edges);
    }
    if (st == MLXN_ERR_OUT_OF_MEMORY)
        st = mlxn__fail(dev, st, "graph_exec_create: out of memory");
    if (st == MLXN_OK) {
        int programmatic = p->programmatic && dev->params.pdl;
        for (size_t e = 0; e < n_edges; e++)
            edges[e].programmatic = programmatic;
        for (size_t i = 0; i < nd; i++)
            node_launch(&x->nodes->nodes[i], addrs[i], &launches[i]);
        mlxn__graph_desc desc = {launches, (int)nd, edges, n_edges};
        st = dev->be->graph_build(dev, &desc, &x->backend);
    }
    if (st == MLXN_OK)
        st = dev->be->graph_edges(dev, x->backend, &x->edges, &x->n_edges);
    free(all);
    free(launches);
    free(addrs);
    free(edges);
    return st;
}

mlxn_status mlxn_graph_exec_create(const mlxn_graph *g, const mlxn_graph_exec_params *p,
                                   mlxn_graph_exec **out)
{
    if (!g || !out)
        return mlxn__fail(g ? g->dev : NULL, MLXN_ERR_INVALID_ARG,
                          "graph_exec_create: NULL argument");
    *out = NULL;
    mlxn_device *dev = g->dev;
    mlxn_graph_exec_params params = p ? *p : mlxn_graph_exec_params_default();
    if ((unsigned)params.edges > MLXN_EDGES_CHAIN)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "graph_exec_create: bad edge mode %d",
                          (int)params.edges);
    size_t nd = mlxn_graph_dispatch_count(g);
    if (nd == 0 || nd > INT32_MAX)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "graph_exec_create: the graph has %zu dispatches", nd);
    mlxn_status st = mlxn__device_check(dev);
    if (st != MLXN_OK)
        return st;
    mlxn_graph_exec *x = calloc(1, sizeof *x);
    if (!x)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "graph_exec_create: out of memory");
    x->dev = dev;
    st = mlxn__graph_create(dev, &x->nodes);
    for (size_t i = 0; st == MLXN_OK && i < g->n; i++)
        if (g->nodes[i].type == MLXN_NODE_DISPATCH)
            st = mlxn__graph_append(x->nodes, &g->nodes[i]);
    if (st == MLXN_OK && collect(x) != MLXN_OK)
        st = mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "graph_exec_create: out of memory");
    if (st == MLXN_OK)
        st = build(x, g, &params);
    if (st != MLXN_OK) {
        mlxn_graph_exec_destroy(x);
        return st;
    }
    *out = x;
    return MLXN_OK;
}

mlxn_status mlxn_encoder_launch_graph(mlxn_encoder *enc, mlxn_graph_exec *x)
{
    if (!enc || !x)
        return mlxn__fail(enc ? enc->dev : NULL, MLXN_ERR_INVALID_ARG,
                          "launch_graph: NULL argument");
    mlxn_device *dev = enc->dev;
    if (x->dev != dev)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "launch_graph: graph of another device");
    if (enc->capture)
        return mlxn__fail(dev, MLXN_ERR_STATE,
                          "launch_graph: the encoder is capturing (launch in direct mode)");
    mlxn_status st = mlxn__device_check(dev);
    if (st != MLXN_OK)
        return st;
    mlxn__cb *cb = enc->cur;
    int kept = cb->n_retained;
    for (size_t i = 0; i < x->n_allocs; i++) {
        if ((st = mlxn__cb_retain(cb, x->allocs[i])) != MLXN_OK) {
            while (cb->n_retained > kept)
                mlxn__alloc_release(cb->retained[--cb->n_retained]);
            return st;
        }
    }
    st = dev->be->graph_launch(cb, x->backend);
    if (st != MLXN_OK) {
        while (cb->n_retained > kept)
            mlxn__alloc_release(cb->retained[--cb->n_retained]);
        return st;
    }
    size_t nd = x->nodes->n;
    cb->n_dispatches += (int)nd;
    cb->n_commands++;
    MLXN__COUNT(dev, dispatches, nd);
    for (size_t k = 0; k < x->n_kernels; k++)
        atomic_fetch_add_explicit(&x->kernels[k]->dispatches, x->kernel_nodes[k],
                                  memory_order_relaxed);
    x->launches++;
    /* What the graph touched is unknown to the encoder's barrier tracker. */
    enc->tracker.unknown = 1;
    return MLXN_OK;
}

size_t mlxn_graph_exec_node_count(const mlxn_graph_exec *x) { return x ? x->nodes->n : 0; }
size_t mlxn_graph_exec_edge_count(const mlxn_graph_exec *x) { return x ? x->n_edges : 0; }
uint64_t mlxn_graph_exec_launches(const mlxn_graph_exec *x) { return x ? x->launches : 0; }

int mlxn_graph_exec_edge(const mlxn_graph_exec *x, size_t from, size_t to)
{
    for (size_t e = 0; x && e < x->n_edges; e++)
        if ((size_t)x->edges[e].from == from && (size_t)x->edges[e].to == to)
            return x->edges[e].programmatic ? 2 : 1;
    return 0;
}

mlxn_status mlxn_graph_exec_update_node(mlxn_graph_exec *x, size_t node,
                                        const mlxn_graph_node_update *u)
{
    if (!x || !u)
        return mlxn__fail(x ? x->dev : NULL, MLXN_ERR_INVALID_ARG,
                          "graph_exec_update_node: NULL argument");
    mlxn_device *dev = x->dev;
    if (node >= x->nodes->n)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "graph_exec_update_node: node %zu of %zu", node, x->nodes->n);
    mlxn__node *n = &x->nodes->nodes[node];
    int keep_grid = !u->grid.x && !u->grid.y && !u->grid.z;
    if (!keep_grid && (!u->grid.x || !u->grid.y || !u->grid.z))
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "graph_exec_update_node: bad grid %ux%ux%u",
                          u->grid.x, u->grid.y, u->grid.z);
    if (u->slot != -1 &&
        (u->slot < 0 || u->slot >= n->n_args || n->slots[u->slot].kind != MLXN_ARG_BYTES ||
         !u->bytes || u->size != n->slots[u->slot].size))
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "graph_exec_update_node: %s: slot %d is not %zu inline bytes",
                          n->kernel->name, u->slot, u->size);
    mlxn_status st = mlxn__device_check(dev);
    if (st != MLXN_OK)
        return st;
    mlxn__launch l;
    uint64_t addrs[MLXN_MAX_ARGS];
    node_launch(n, addrs, &l);
    if (!keep_grid)
        l.grid = u->grid;
    if (u->slot >= 0)
        l.argv[u->slot] = (void *)u->bytes;
    st = dev->be->graph_set_node(dev, x->backend, (int)node, &l);
    if (st != MLXN_OK)
        return st;
    n->grid = l.grid;
    if (u->slot >= 0) /* the private copy's arena bytes */
        memcpy((uint8_t *)n->slots[u->slot].bytes, u->bytes, u->size);
    return MLXN_OK;
}
