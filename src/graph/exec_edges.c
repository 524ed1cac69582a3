/*
 * exec_edges.c: the dependency edges of an executable graph. For each
 * dispatch, its candidate predecessors come from the mode (the previous
 * dispatch; the previous recorded group; or every earlier dispatch it
 * conflicts with), and an edge is kept only when no kept path already
 * orders the pair (a transitive reduction, with ancestor bitsets). A node
 * left without predecessors hangs from dispatch 0, so the graph has one
 * root (CUDA graphs with many roots launch slowly).
 */
#include "graph/passes.h"

#include <stdlib.h>
#include <string.h>

typedef struct edge_buf {
    mlxn__graph_edge *e;
    size_t n, cap;
} edge_buf;

static int push_edge(edge_buf *b, size_t from, size_t to)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        mlxn__graph_edge *p = realloc(b->e, cap * sizeof *p);
        if (!p)
            return -1;
        b->e = p;
        b->cap = cap;
    }
    b->e[b->n].from = (int)from;
    b->e[b->n].to = (int)to;
    b->e[b->n].programmatic = 0;
    b->n++;
    return 0;
}

typedef struct edge_ctx {
    const mlxn__node **disp; /* dispatches only */
    long *group;             /* recorded group of each dispatch */
    mlxn_graph_edges mode;
} edge_ctx;

static int dep(const edge_ctx *c, size_t i, size_t j)
{
    switch (c->mode) {
    case MLXN_EDGES_CHAIN:
        return i + 1 == j;
    case MLXN_EDGES_BARRIERS:
        return c->group[i] + 1 == c->group[j];
    default:
        return mlxn__nodes_depend(c->disp[i], c->disp[j]);
    }
}

/* Keep edge i -> j unless i is already an ancestor of j. */
static int keep(edge_buf *b, uint64_t *anc_j, const uint64_t *anc_i, size_t words, size_t i,
                size_t j)
{
    if (anc_j[i / 64] >> (i % 64) & 1)
        return 0;
    if (push_edge(b, i, j))
        return -1;
    for (size_t w = 0; w < words; w++)
        anc_j[w] |= anc_i[w];
    anc_j[i / 64] |= 1ull << (i % 64);
    return 0;
}

static mlxn_status reduce(const edge_ctx *c, size_t n, edge_buf *b)
{
    size_t words = (n + 63) / 64;
    uint64_t *anc = calloc(n * words + 1, sizeof *anc);
    if (!anc)
        return MLXN_ERR_OUT_OF_MEMORY;
    for (size_t j = 1; j < n; j++) {
        uint64_t *aj = anc + j * words;
        int any = 0;
        for (size_t i = j; i-- > 0;) {
            if (!dep(c, i, j))
                continue;
            any = 1;
            if (keep(b, aj, anc + i * words, words, i, j)) {
                free(anc);
                return MLXN_ERR_OUT_OF_MEMORY;
            }
        }
        if (!any && keep(b, aj, anc, words, 0, j)) {
            free(anc);
            return MLXN_ERR_OUT_OF_MEMORY;
        }
    }
    free(anc);
    return MLXN_OK;
}

mlxn_status mlxn__graph_edges(const mlxn__node *const *d, size_t n, mlxn_graph_edges mode,
                              mlxn__graph_edge **out, size_t *n_edges)
{
    *out = NULL;
    *n_edges = 0;
    edge_ctx c;
    c.mode = mode;
    c.disp = malloc((n + 1) * sizeof *c.disp);
    c.group = malloc((n + 1) * sizeof *c.group);
    edge_buf b = {NULL, 0, 0};
    mlxn_status st = MLXN_ERR_OUT_OF_MEMORY;
    if (c.disp && c.group) {
        size_t nd = 0;
        long group = 0;
        for (size_t i = 0; i < n; i++) {
            if (d[i]->type == MLXN_NODE_BARRIER) {
                if (nd && c.group[nd - 1] == group)
                    group++; /* a new group starts after a non-empty one */
                continue;
            }
            c.group[nd] = group;
            c.disp[nd++] = d[i];
        }
        st = reduce(&c, nd, &b);
    }
    free(c.disp);
    free(c.group);
    if (st != MLXN_OK) {
        free(b.e);
        return st;
    }
    *out = b.e;
    *n_edges = b.n;
    return MLXN_OK;
}
