/*
 * cuda_graph.c: executable graphs as explicit CUDA graphs. One kernel node
 * per dispatch (cuGraphAddKernelNode), the given edges added in one call
 * with edge data (programmatic edges leave the upstream kernel's
 * programmatic port: the dependent kernel launches once every upstream
 * block has run griddepcontrol.launch_dependents, and waits for the
 * upstream kernel's completion and memory in griddepcontrol.wait).
 * Instantiated and uploaded once; a launch is one cuGraphLaunch on the
 * queue's stream. The template graph stays alive: its nodes address
 * single-node updates of the executable, and its edges are read back for
 * introspection. Timing marks are event pairs.
 */
#include "backend/cuda/cuda_graph.h"

#include <stdlib.h>
#include <string.h>

#define CU (mlxn__cuda_of(dev)->cu)

typedef struct cuda_graph {
    CUgraph graph;
    CUgraphExec exec;
    CUgraphNode *nodes;
    int n;
} cuda_graph;

static void kernel_params(const mlxn__launch *l, CUDA_KERNEL_NODE_PARAMS *p)
{
    memset(p, 0, sizeof *p);
    p->func = (CUfunction)l->fn;
    p->gridDimX = l->grid.x;
    p->gridDimY = l->grid.y;
    p->gridDimZ = l->grid.z;
    p->blockDimX = l->block.x;
    p->blockDimY = l->block.y;
    p->blockDimZ = l->block.z;
    p->sharedMemBytes = l->shared_bytes;
    p->kernelParams = (void **)l->argv;
}

static mlxn_status allow_shared(mlxn_device *dev, const mlxn__launch *l)
{
    if (l->shared_bytes <= 48 * 1024)
        return MLXN_OK;
    CUresult r = CU->cuFuncSetAttribute((CUfunction)l->fn,
                                        CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                        (int)l->shared_bytes);
    return r == CUDA_SUCCESS ? MLXN_OK
                             : MLXN__CU_FAIL(dev, r, "%s: %u bytes of shared memory", l->name,
                                             l->shared_bytes);
}

void mlxn__cuda_graph_free(mlxn_device *dev, void *exec)
{
    cuda_graph *g = exec;
    if (!g)
        return;
    if (mlxn__cuda_bind(dev) == MLXN_OK) {
        /* An executable still running is freed by CUDA when it completes. */
        if (g->exec)
            CU->cuGraphExecDestroy(g->exec);
        if (g->graph)
            CU->cuGraphDestroy(g->graph);
    }
    free(g->nodes);
    free(g);
}

static mlxn_status add_edges(mlxn_device *dev, cuda_graph *g, const mlxn__graph_desc *b)
{
    if (!b->n_edges)
        return MLXN_OK;
    CUgraphNode *from = malloc(b->n_edges * sizeof *from);
    CUgraphNode *to = malloc(b->n_edges * sizeof *to);
    CUgraphEdgeData *data = calloc(b->n_edges, sizeof *data);
    mlxn_status st = MLXN_OK;
    if (!from || !to || !data) {
        st = mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "graph: out of memory");
    } else {
        for (size_t e = 0; e < b->n_edges; e++) {
            from[e] = g->nodes[b->edges[e].from];
            to[e] = g->nodes[b->edges[e].to];
            if (b->edges[e].programmatic) {
                data[e].from_port = CU_GRAPH_KERNEL_NODE_PORT_PROGRAMMATIC;
                data[e].type = CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC;
            }
        }
        CUresult r = CU->cuGraphAddDependencies(g->graph, from, to, data, b->n_edges);
        if (r != CUDA_SUCCESS)
            st = MLXN__CU_FAIL(dev, r, "cuGraphAddDependencies (%zu edges)", b->n_edges);
    }
    free(from);
    free(to);
    free(data);
    return st;
}

mlxn_status mlxn__cuda_graph_build(mlxn_device *dev, const mlxn__graph_desc *b, void **out)
{
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    cuda_graph *g = calloc(1, sizeof *g);
    if (g)
        g->nodes = calloc((size_t)b->n_nodes + 1, sizeof *g->nodes);
    if (!g || !g->nodes) {
        free(g);
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "graph: out of memory");
    }
    g->n = b->n_nodes;
    CUresult r = CU->cuGraphCreate(&g->graph, 0);
    if (r != CUDA_SUCCESS)
        st = MLXN__CU_FAIL(dev, r, "cuGraphCreate");
    for (int i = 0; st == MLXN_OK && i < b->n_nodes; i++) {
        const mlxn__launch *l = &b->nodes[i];
        CUDA_KERNEL_NODE_PARAMS p;
        kernel_params(l, &p);
        if ((st = allow_shared(dev, l)) != MLXN_OK)
            break;
        r = CU->cuGraphAddKernelNode(&g->nodes[i], g->graph, NULL, 0, &p);
        if (r != CUDA_SUCCESS)
            st = MLXN__CU_FAIL(dev, r, "graph node %d: %s (grid %ux%ux%u, block %ux%ux%u)", i,
                               l->name, l->grid.x, l->grid.y, l->grid.z, l->block.x,
                               l->block.y, l->block.z);
    }
    if (st == MLXN_OK)
        st = add_edges(dev, g, b);
    if (st == MLXN_OK && (r = CU->cuGraphInstantiateWithFlags(&g->exec, g->graph, 0)) !=
                             CUDA_SUCCESS)
        st = MLXN__CU_FAIL(dev, r, "cuGraphInstantiate (%d nodes)", g->n);
    CUstream xfer = mlxn__cuda_of(dev)->xfer;
    if (st == MLXN_OK && ((r = CU->cuGraphUpload(g->exec, xfer)) != CUDA_SUCCESS ||
                          (r = CU->cuStreamSynchronize(xfer)) != CUDA_SUCCESS))
        st = MLXN__CU_FAIL(dev, r, "cuGraphUpload");
    if (st != MLXN_OK) {
        mlxn__cuda_graph_free(dev, g);
        return st;
    }
    *out = g;
    return MLXN_OK;
}

mlxn_status mlxn__cuda_graph_launch(mlxn__cb *cb, void *exec)
{
    mlxn_device *dev = cb->queue->dev;
    cuda_graph *g = exec;
    CUresult r = CU->cuGraphLaunch(g->exec, mlxn__cuda_stream(cb->queue));
    return r == CUDA_SUCCESS ? MLXN_OK
                             : MLXN__CU_FAIL(dev, r, "cuGraphLaunch (%d nodes)", g->n);
}

mlxn_status mlxn__cuda_graph_set_node(mlxn_device *dev, void *exec, int i, const mlxn__launch *l)
{
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK || (st = allow_shared(dev, l)) != MLXN_OK)
        return st;
    cuda_graph *g = exec;
    CUDA_KERNEL_NODE_PARAMS p;
    kernel_params(l, &p);
    CUresult r = CU->cuGraphExecKernelNodeSetParams(g->exec, g->nodes[i], &p);
    return r == CUDA_SUCCESS ? MLXN_OK
                             : MLXN__CU_FAIL(dev, r, "graph node %d (%s): set params", i,
                                             l->name);
}

typedef struct node_index {
    CUgraphNode node;
    int index;
} node_index;

static int cmp_node(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const node_index *)a)->node;
    uintptr_t y = (uintptr_t)((const node_index *)b)->node;
    return (x > y) - (x < y);
}

static int index_of(const node_index *map, int n, CUgraphNode node)
{
    node_index key = {node, 0};
    const node_index *hit = bsearch(&key, map, (size_t)n, sizeof *map, cmp_node);
    return hit ? hit->index : -1;
}

mlxn_status mlxn__cuda_graph_edges(mlxn_device *dev, void *exec, mlxn__graph_edge **out,
                                   size_t *n)
{
    cuda_graph *g = exec;
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    size_t count = 0;
    CUresult r = CU->cuGraphGetEdges(g->graph, NULL, NULL, NULL, &count);
    if (r != CUDA_SUCCESS)
        return MLXN__CU_FAIL(dev, r, "cuGraphGetEdges");
    if (count == 0) { /* a query with arrays and no edges is refused */
        *out = malloc(sizeof **out);
        *n = 0;
        return *out ? MLXN_OK : mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "graph: out of memory");
    }
    CUgraphNode *from = malloc((count + 1) * sizeof *from);
    CUgraphNode *to = malloc((count + 1) * sizeof *to);
    CUgraphEdgeData *data = calloc(count + 1, sizeof *data);
    node_index *map = malloc(((size_t)g->n + 1) * sizeof *map);
    mlxn__graph_edge *edges = malloc((count + 1) * sizeof *edges);
    if (!from || !to || !data || !map || !edges) {
        st = mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "graph: out of memory");
    } else if ((r = CU->cuGraphGetEdges(g->graph, from, to, data, &count)) != CUDA_SUCCESS) {
        st = MLXN__CU_FAIL(dev, r, "cuGraphGetEdges");
    } else {
        for (int i = 0; i < g->n; i++)
            map[i] = (node_index){g->nodes[i], i};
        qsort(map, (size_t)g->n, sizeof *map, cmp_node);
        for (size_t e = 0; e < count; e++) {
            edges[e].from = index_of(map, g->n, from[e]);
            edges[e].to = index_of(map, g->n, to[e]);
            edges[e].programmatic = data[e].type == CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC;
        }
    }
    free(from);
    free(to);
    free(data);
    free(map);
    if (st != MLXN_OK) {
        free(edges);
        return st;
    }
    *out = edges;
    *n = count;
    return MLXN_OK;
}

/* ---- timing marks: a pair of timing events ----------------------------------------- */
typedef struct cuda_timer {
    CUevent ev[2];
} cuda_timer;

void mlxn__cuda_timer_free(mlxn_device *dev, void *timer)
{
    cuda_timer *t = timer;
    if (!t)
        return;
    if (mlxn__cuda_bind(dev) == MLXN_OK)
        for (int i = 0; i < 2; i++)
            if (t->ev[i])
                CU->cuEventDestroy(t->ev[i]);
    free(t);
}

mlxn_status mlxn__cuda_timer_new(mlxn_device *dev, void **out)
{
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    cuda_timer *t = calloc(1, sizeof *t);
    if (!t)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "timer: out of memory");
    for (int i = 0; i < 2; i++) {
        CUresult r = CU->cuEventCreate(&t->ev[i], CU_EVENT_DEFAULT);
        if (r != CUDA_SUCCESS) {
            mlxn__cuda_timer_free(dev, t);
            return MLXN__CU_FAIL(dev, r, "cuEventCreate");
        }
    }
    *out = t;
    return MLXN_OK;
}

mlxn_status mlxn__cuda_timer_mark(mlxn__cb *cb, void *timer, int which)
{
    mlxn_device *dev = cb->queue->dev;
    cuda_timer *t = timer;
    CUresult r = CU->cuEventRecord(t->ev[which != 0], mlxn__cuda_stream(cb->queue));
    return r == CUDA_SUCCESS ? MLXN_OK : MLXN__CU_FAIL(dev, r, "timing mark");
}

mlxn_status mlxn__cuda_timer_elapsed(mlxn_device *dev, void *timer, double *us)
{
    cuda_timer *t = timer;
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    float ms = 0;
    CUresult r = CU->cuEventElapsedTime(&ms, t->ev[0], t->ev[1]);
    if (r != CUDA_SUCCESS)
        return MLXN__CU_FAIL(dev, r, "reading a timing mark");
    *us = (double)ms * 1000.0;
    return MLXN_OK;
}
