/*
 * reorder.c: the reorder pass. Dispatches are regrouped for concurrency
 * with llama.cpp's greedy lookahead (the idea of ggml-metal's graph
 * optimizer; this is our own code): starting a group at the first pending
 * dispatch, the next dispatches within the window join it when they
 * conflict neither with the group nor with any dispatch still pending
 * before them (those would otherwise be overtaken). Dispatches of kinds that
 * are not reorderable never move and stop the lookahead. The barriers the
 * new order needs are then recomputed from the spans.
 */
#include "graph/passes.h"

#include <stdlib.h>
#include <string.h>

static int depends_on_any(const mlxn__node *const *set, size_t n, const mlxn__node *x)
{
    for (size_t i = 0; i < n; i++)
        if (mlxn__nodes_depend(set[i], x))
            return 1;
    return 0;
}

int mlxn__reorder_plan(const mlxn__node *const *d, size_t n, int window, size_t *order,
                       size_t *moved)
{
    *moved = 0;
    if (window < 1)
        window = 1;
    uint8_t *placed = calloc(n + 1, 1);
    const mlxn__node **group = malloc((size_t)window * sizeof *group);
    const mlxn__node **pending = malloc((size_t)window * sizeof *pending);
    if (!placed || !group || !pending) {
        free(placed);
        free(group);
        free(pending);
        return -1;
    }
    size_t k = 0, first = 0;
    while (k < n) {
        while (placed[first])
            first++;
        size_t i0 = first;
        placed[i0] = 1;
        order[k++] = i0;
        if (!mlxn_op_kind_reorderable(d[i0]->kind))
            continue;
        size_t n_group = 0, n_pending = 0;
        group[n_group++] = d[i0];
        for (size_t i1 = i0 + 1; i1 < n && i1 - i0 < (size_t)window; i1++) {
            if (placed[i1])
                continue;
            const mlxn__node *x = d[i1];
            if (!mlxn_op_kind_reorderable(x->kind))
                break;
            if (depends_on_any(group, n_group, x) || depends_on_any(pending, n_pending, x)) {
                pending[n_pending++] = x;
                continue;
            }
            placed[i1] = 1;
            order[k++] = i1;
            group[n_group++] = x;
            *moved += n_pending > 0;
        }
    }
    free(placed);
    free(group);
    free(pending);
    return 0;
}

/* Barriers the dispatches need in the order given (order NULL: as is);
 * -1 when out of memory. With `out`, also writes the nodes with barriers. */
static long place_barriers(const mlxn__node *const *d, size_t n, const size_t *order,
                           mlxn__node *out, size_t *n_out)
{
    mlxn__tracker t;
    memset(&t, 0, sizeof t);
    long barriers = 0;
    size_t w = 0;
    for (size_t k = 0; k < n; k++) {
        const mlxn__node *x = d[order ? order[k] : k];
        int b = mlxn__recompute_step(&t, x);
        if (b < 0) {
            barriers = -1;
            break;
        }
        barriers += b;
        if (out && b) {
            memset(&out[w], 0, sizeof out[w]);
            out[w++].type = MLXN_NODE_BARRIER;
        }
        if (out)
            out[w++] = *x;
    }
    mlxn__tracker_free(&t);
    if (n_out)
        *n_out = w;
    return barriers;
}

mlxn_status mlxn_graph_reorder(mlxn_graph *g, mlxn_reorder_result *out)
{
    mlxn_reorder_result r;
    memset(&r, 0, sizeof r);
    if (out)
        *out = r;
    if (!g)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "graph_reorder: NULL graph");
    if (mlxn_graph_unannotated_count(g)) {
        r.skipped = "a dispatch has no read/write ranges";
        if (out)
            *out = r;
        return MLXN_OK;
    }
    size_t nd = mlxn_graph_dispatch_count(g);
    const mlxn__node **d = malloc((nd + 1) * sizeof *d);
    size_t *order = malloc((nd + 1) * sizeof *order);
    mlxn__node *nodes = malloc((2 * nd + 1) * sizeof *nodes);
    mlxn_status st = MLXN_OK;
    if (!d || !order || !nodes) {
        st = MLXN_ERR_OUT_OF_MEMORY;
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < g->n; i++)
        if (g->nodes[i].type == MLXN_NODE_DISPATCH)
            d[k++] = &g->nodes[i];
    long before = place_barriers(d, nd, NULL, NULL, NULL);
    size_t n_new = 0;
    long after = -1;
    if (before >= 0 && mlxn__reorder_plan(d, nd, MLXN__REORDER_WINDOW, order, &r.moved) == 0)
        after = place_barriers(d, nd, order, nodes, &n_new);
    if (after < 0) {
        st = MLXN_ERR_OUT_OF_MEMORY;
        goto done;
    }
    /* The dispatch nodes move (with their references); barriers carry
     * none. */
    free(g->nodes);
    g->nodes = nodes;
    g->n = n_new;
    g->cap = 2 * nd + 1;
    nodes = NULL;
    r.barriers_before = (size_t)before;
    r.barriers_after = (size_t)after;
    if (out)
        *out = r;
done:
    free(d);
    free(order);
    free(nodes);
    if (st != MLXN_OK)
        return mlxn__fail(g->dev, st, "graph_reorder: out of memory");
    return MLXN_OK;
}
