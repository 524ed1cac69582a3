/*
 * graph.c: the recorded-graph container (nodes plus an arena for inline
 * bytes) and its queries. The passes that rewrite a graph and the
 * executors that run it live in their own files.
 */
#include "graph/node.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK 16384

struct mlxn__arena_chunk {
    mlxn__arena_chunk *next;
    size_t used, cap;
    uint8_t data[];
};

mlxn_status mlxn__graph_create(mlxn_device *dev, mlxn_graph **out)
{
    mlxn_graph *g = calloc(1, sizeof *g);
    if (!g)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "graph: out of memory");
    g->dev = dev;
    *out = g;
    return MLXN_OK;
}

void mlxn__node_retain(mlxn__node *node)
{
    for (int i = 0; i < node->n_args; i++)
        if (node->slots[i].kind == MLXN_ARG_BUFFER)
            mlxn__alloc_retain(node->slots[i].alloc);
}

void mlxn__node_release(mlxn__node *node)
{
    for (int i = 0; i < node->n_args; i++)
        if (node->slots[i].kind == MLXN_ARG_BUFFER)
            mlxn__alloc_release(node->slots[i].alloc);
}

void mlxn_graph_destroy(mlxn_graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        mlxn__node_release(&g->nodes[i]);
    free(g->nodes);
    while (g->arena) {
        mlxn__arena_chunk *next = g->arena->next;
        free(g->arena);
        g->arena = next;
    }
    free(g);
}

const uint8_t *mlxn__graph_store(mlxn_graph *g, const void *bytes, size_t size)
{
    size_t need = (size + 15) & ~(size_t)15;
    mlxn__arena_chunk *c = g->arena;
    if (!c || c->cap - c->used < need) {
        size_t cap = need > ARENA_CHUNK ? need : ARENA_CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = g->arena;
        g->arena = c;
    }
    uint8_t *p = c->data + c->used;
    c->used += need;
    memcpy(p, bytes, size);
    return p;
}

mlxn_status mlxn__graph_append(mlxn_graph *g, const mlxn__node *node)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 256;
        mlxn__node *n = realloc(g->nodes, cap * sizeof *n);
        if (!n)
            return mlxn__fail(g->dev, MLXN_ERR_OUT_OF_MEMORY, "graph: out of memory");
        g->nodes = n;
        g->cap = cap;
    }
    mlxn__node copy = *node;
    for (int i = 0; i < copy.n_args; i++) {
        mlxn__slot *s = &copy.slots[i];
        if (s->kind != MLXN_ARG_BYTES)
            continue;
        s->bytes = mlxn__graph_store(g, s->bytes, s->size);
        if (!s->bytes)
            return mlxn__fail(g->dev, MLXN_ERR_OUT_OF_MEMORY, "graph: out of memory");
    }
    mlxn__node_retain(&copy);
    g->nodes[g->n++] = copy;
    return MLXN_OK;
}

int mlxn__nodes_conflict(const mlxn__node *a, const mlxn__node *b)
{
    if (a->type == MLXN_NODE_BARRIER || b->type == MLXN_NODE_BARRIER)
        return 1;
    for (int i = 0; i < b->n_reads; i++)
        for (int j = 0; j < a->n_writes; j++)
            if (mlxn__spans_overlap(b->reads[i], a->writes[j]))
                return 1;
    for (int i = 0; i < b->n_writes; i++) {
        for (int j = 0; j < a->n_writes; j++)
            if (mlxn__spans_overlap(b->writes[i], a->writes[j]))
                return 1;
        for (int j = 0; j < a->n_reads; j++)
            if (mlxn__spans_overlap(b->writes[i], a->reads[j]))
                return 1;
    }
    return 0;
}

/* ---- queries ------------------------------------------------------------------- */
size_t mlxn_graph_node_count(const mlxn_graph *g) { return g ? g->n : 0; }

static size_t count_type(const mlxn_graph *g, mlxn_node_type t)
{
    size_t c = 0;
    for (size_t i = 0; g && i < g->n; i++)
        c += g->nodes[i].type == t;
    return c;
}

size_t mlxn_graph_dispatch_count(const mlxn_graph *g)
{
    return count_type(g, MLXN_NODE_DISPATCH);
}

size_t mlxn_graph_barrier_count(const mlxn_graph *g)
{
    return count_type(g, MLXN_NODE_BARRIER);
}

size_t mlxn_graph_unannotated_count(const mlxn_graph *g)
{
    size_t c = 0;
    for (size_t i = 0; g && i < g->n; i++) {
        const mlxn__node *n = &g->nodes[i];
        c += n->type == MLXN_NODE_DISPATCH && !n->n_reads && !n->n_writes;
    }
    return c;
}

mlxn_node_type mlxn_graph_node_type(const mlxn_graph *g, size_t i)
{
    return (g && i < g->n) ? g->nodes[i].type : (mlxn_node_type)0;
}

const char *mlxn_graph_node_kernel(const mlxn_graph *g, size_t i)
{
    if (!g || i >= g->n || g->nodes[i].type != MLXN_NODE_DISPATCH)
        return NULL;
    return g->nodes[i].kernel->name;
}

mlxn_op_kind mlxn_graph_node_kind(const mlxn_graph *g, size_t i)
{
    if (!g || i >= g->n || g->nodes[i].type != MLXN_NODE_DISPATCH)
        return MLXN_OP_OTHER;
    return g->nodes[i].kind;
}

/* ---- the conflict tracker ------------------------------------------------------- */
void mlxn__tracker_reset(mlxn__tracker *t)
{
    t->n_reads = t->n_writes = 0;
    t->unknown = 0;
}

void mlxn__tracker_free(mlxn__tracker *t)
{
    free(t->reads);
    free(t->writes);
    memset(t, 0, sizeof *t);
}

static int any_overlap(const mlxn__span *a, int na, const mlxn__span *b, int nb)
{
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            if (mlxn__spans_overlap(a[i], b[j]))
                return 1;
    return 0;
}

int mlxn__tracker_conflicts(const mlxn__tracker *t, const mlxn__span *reads,
                            int n_reads, const mlxn__span *writes, int n_writes)
{
    if (t->unknown)
        return 1;
    return any_overlap(reads, n_reads, t->writes, t->n_writes) ||
           any_overlap(writes, n_writes, t->writes, t->n_writes) ||
           any_overlap(writes, n_writes, t->reads, t->n_reads);
}

static int push_spans(mlxn__span **arr, int *n, int *cap, const mlxn__span *s,
                      int count)
{
    if (count <= 0)
        return 0; /* nothing to copy (and *arr may still be NULL) */
    if (*n + count > *cap) {
        int c = *cap ? *cap : 32;
        while (c < *n + count)
            c *= 2;
        mlxn__span *p = realloc(*arr, (size_t)c * sizeof *p);
        if (!p)
            return -1;
        *arr = p;
        *cap = c;
    }
    memcpy(*arr + *n, s, (size_t)count * sizeof *s);
    *n += count;
    return 0;
}

mlxn_status mlxn__tracker_add(mlxn__tracker *t, const mlxn__span *reads,
                              int n_reads, const mlxn__span *writes, int n_writes)
{
    if (push_spans(&t->reads, &t->n_reads, &t->cap_reads, reads, n_reads) ||
        push_spans(&t->writes, &t->n_writes, &t->cap_writes, writes, n_writes))
        return MLXN_ERR_OUT_OF_MEMORY;
    return MLXN_OK;
}
