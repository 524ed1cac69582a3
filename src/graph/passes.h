/*
 * passes.h: internals shared by the graph passes (fuse.c, reorder.c), the
 * graph encoders (graph_encode.c), executables (exec.c, exec_edges.c) and
 * the executor (executor.c, session.c). Tests reach the pure functions
 * here (reorder plan, edge computation) with synthetic nodes.
 */
#ifndef MLXN_PASSES_H
#define MLXN_PASSES_H

#include "graph/encoder.h"

/* A dispatch with at least one read or write span. */
static inline int mlxn__node_annotated(const mlxn__node *n)
{
    return n->n_reads > 0 || n->n_writes > 0;
}

/* 1 when b must stay after a: a conflict of their spans, or either one is
 * a dispatch without spans (it may touch anything), or either one is a
 * barrier. Symmetric. */
int mlxn__nodes_depend(const mlxn__node *a, const mlxn__node *b);

/* One step of barrier inference over a sequence of dispatches: 1 when a
 * barrier must go before n (the tracker is then reset), 0 when not, -1 when
 * out of memory. n is then tracked. A dispatch without spans conflicts
 * with everything, both ways. */
int mlxn__recompute_step(mlxn__tracker *t, const mlxn__node *n);

/* ---- reorder -------------------------------------------------------------
 * The greedy lookahead over n dispatches d[0..n) (no barriers, all
 * annotated). order[k] receives the input index of the k-th dispatch of the
 * new order; *moved how many dispatches were pulled ahead of pending ones.
 * Returns 0, or -1 when out of memory. */
#define MLXN__REORDER_WINDOW 64
int mlxn__reorder_plan(const mlxn__node *const *d, size_t n, int window,
                       size_t *order, size_t *moved);

/* ---- executable-graph edges ------------------------------------------------
 * The dependency edges of n nodes d[0..n) (dispatches and, for BARRIERS
 * mode, the recorded barriers between them; edges name dispatch ordinals).
 * Every mode ends with one root (dispatch 0): other nodes without a
 * predecessor get an edge from it. Edges implied by other paths are left
 * out. *out is malloc'd. */
mlxn_status mlxn__graph_edges(const mlxn__node *const *d, size_t n,
                              mlxn_graph_edges mode, mlxn__graph_edge **out,
                              size_t *n_edges);

#endif /* MLXN_PASSES_H */
