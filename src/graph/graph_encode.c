/*
 * graph_encode.c: encoding a recorded graph on an encoder: in order with
 * the recorded barriers, with barriers recomputed from the spans, and the
 * dual command buffer (an early commit of the first part). Also the
 * concurrent-group histogram and the helpers the passes share (dependency
 * test, barrier inference step).
 */
#include "graph/passes.h"

#include <string.h>

int mlxn__nodes_depend(const mlxn__node *a, const mlxn__node *b)
{
    if (a->type == MLXN_NODE_BARRIER || b->type == MLXN_NODE_BARRIER)
        return 1;
    if (!mlxn__node_annotated(a) || !mlxn__node_annotated(b))
        return 1;
    return mlxn__nodes_conflict(a, b);
}

int mlxn__recompute_step(mlxn__tracker *t, const mlxn__node *n)
{
    int barrier;
    if (!mlxn__node_annotated(n)) {
        barrier = t->unknown || t->n_reads || t->n_writes;
        if (barrier)
            mlxn__tracker_reset(t);
        t->unknown = 1;
        return barrier;
    }
    barrier = mlxn__tracker_conflicts(t, n->reads, n->n_reads, n->writes, n->n_writes);
    if (barrier)
        mlxn__tracker_reset(t);
    if (mlxn__tracker_add(t, n->reads, n->n_reads, n->writes, n->n_writes) != MLXN_OK)
        return -1;
    return barrier;
}

static mlxn_status check_args(const mlxn_graph *g, mlxn_encoder *enc, const char *fn)
{
    if (!g || !enc)
        return mlxn__fail(enc ? enc->dev : NULL, MLXN_ERR_INVALID_ARG, "%s: NULL argument",
                          fn);
    if (g->dev != enc->dev)
        return mlxn__fail(enc->dev, MLXN_ERR_INVALID_ARG, "%s: graph of another device", fn);
    return mlxn__device_check(enc->dev);
}

size_t mlxn_graph_dual_split(size_t dispatches)
{
    size_t k = dispatches / 10;
    if (k < 64)
        k = 64;
    return k < dispatches ? k : dispatches;
}

/* Encode the graph; commit after `split` dispatches when split < total. */
static mlxn_status encode(const mlxn_graph *g, mlxn_encoder *enc, mlxn_barrier_mode mode,
                          size_t split)
{
    mlxn__tracker t;
    memset(&t, 0, sizeof t);
    size_t total = mlxn_graph_dispatch_count(g), done = 0;
    mlxn_status st = MLXN_OK;
    for (size_t i = 0; st == MLXN_OK && i < g->n; i++) {
        const mlxn__node *n = &g->nodes[i];
        if (n->type == MLXN_NODE_BARRIER) {
            if (mode == MLXN_BARRIERS_RECORDED)
                st = mlxn__encoder_encode_node(enc, n);
            continue;
        }
        if (mode == MLXN_BARRIERS_RECOMPUTED) {
            int b = mlxn__recompute_step(&t, n);
            if (b < 0)
                st = mlxn__fail(enc->dev, MLXN_ERR_OUT_OF_MEMORY, "graph encode: out of memory");
            else if (b)
                st = mlxn__encoder_emit_barrier(enc, 1);
            if (st != MLXN_OK)
                break;
        }
        st = mlxn__encoder_encode_node(enc, n);
        if (st == MLXN_OK && ++done == split && split < total) {
            st = mlxn_encoder_commit(enc);
            mlxn__tracker_reset(&t); /* the commit orders everything before it */
        }
    }
    mlxn__tracker_free(&t);
    return st;
}

mlxn_status mlxn_graph_encode_sequential(const mlxn_graph *g, mlxn_encoder *enc)
{
    mlxn_status st = check_args(g, enc, "graph_encode_sequential");
    return st != MLXN_OK ? st : encode(g, enc, MLXN_BARRIERS_RECORDED, SIZE_MAX);
}

mlxn_status mlxn_graph_encode_with_barriers(const mlxn_graph *g, mlxn_encoder *enc)
{
    mlxn_status st = check_args(g, enc, "graph_encode_with_barriers");
    return st != MLXN_OK ? st : encode(g, enc, MLXN_BARRIERS_RECOMPUTED, SIZE_MAX);
}

mlxn_status mlxn_graph_encode_dual(const mlxn_graph *g, mlxn_encoder *enc,
                                   mlxn_barrier_mode mode)
{
    mlxn_status st = check_args(g, enc, "graph_encode_dual");
    if (st != MLXN_OK)
        return st;
    if (mode != MLXN_BARRIERS_RECORDED && mode != MLXN_BARRIERS_RECOMPUTED)
        return mlxn__fail(enc->dev, MLXN_ERR_INVALID_ARG, "graph_encode_dual: bad mode %d",
                          (int)mode);
    if (enc->capture)
        return mlxn__fail(enc->dev, MLXN_ERR_STATE,
                          "graph_encode_dual: the encoder is capturing (it commits)");
    return encode(g, enc, mode, mlxn_graph_dual_split(mlxn_graph_dispatch_count(g)));
}

static void flush_group(uint64_t *bins, int n_bins, size_t *cur)
{
    if (!*cur)
        return;
    size_t k = *cur < (size_t)n_bins ? *cur : (size_t)n_bins;
    bins[k - 1]++;
    *cur = 0;
}

void mlxn_graph_group_histogram(const mlxn_graph *g, mlxn_barrier_mode mode, uint64_t *bins,
                                int n_bins)
{
    if (!bins || n_bins < 1)
        return;
    memset(bins, 0, (size_t)n_bins * sizeof *bins);
    if (!g)
        return;
    mlxn__tracker t;
    memset(&t, 0, sizeof t);
    size_t cur = 0;
    for (size_t i = 0; i < g->n; i++) {
        const mlxn__node *n = &g->nodes[i];
        if (n->type == MLXN_NODE_BARRIER) {
            if (mode == MLXN_BARRIERS_RECORDED)
                flush_group(bins, n_bins, &cur);
            continue;
        }
        /* Out of memory in the tracker: count a barrier (conservative). */
        if (mode == MLXN_BARRIERS_RECOMPUTED && mlxn__recompute_step(&t, n) != 0)
            flush_group(bins, n_bins, &cur);
        cur++;
    }
    flush_group(bins, n_bins, &cur);
    mlxn__tracker_free(&t);
}
