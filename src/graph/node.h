/*
 * node.h: the captured-node IR shared by the encoder, the graph passes and
 * the executors, and the memory-range conflict tracker.
 *
 * A node is a dispatch or a barrier. A dispatch node holds its kernel, its
 * slots (allocation + byte offset, or inline bytes in the graph's arena),
 * launch geometry, op kind and the absolute address spans it reads and
 * writes. The encoder builds a transient node for every direct dispatch
 * too, so direct mode, capture and replay share one path.
 */
#ifndef MLXN_NODE_H
#define MLXN_NODE_H

#include "core/internal.h"

/* Half-open address interval [start, end). */
typedef struct mlxn__span {
    uint64_t start, end;
} mlxn__span;

typedef struct mlxn__slot {
    mlxn_arg_kind kind;
    uint32_t size;         /* bytes: inline size; buffers: 8 */
    mlxn__alloc *alloc;    /* buffers */
    uint64_t offset;       /* buffers: bytes from the allocation's start */
    const uint8_t *bytes;  /* inline bytes (graph arena or caller memory) */
} mlxn__slot;

typedef struct mlxn__node {
    mlxn_node_type type;
    mlxn_kernel *kernel;
    int n_args;
    mlxn__slot slots[MLXN_MAX_ARGS];
    mlxn_dim3 grid, block;
    uint32_t shared_bytes;
    mlxn_op_kind kind;
    int n_reads, n_writes;
    mlxn__span reads[MLXN_MAX_RANGES];
    mlxn__span writes[MLXN_MAX_RANGES];
} mlxn__node;

static inline int mlxn__spans_overlap(mlxn__span a, mlxn__span b)
{
    return a.start < b.end && b.start < a.end;
}

/* 1 when node b must run after node a: b reads what a writes (RAW), writes
 * what a reads (WAR) or writes what a writes (WAW). Read-read never
 * conflicts. Barrier nodes conflict with everything. */
int mlxn__nodes_conflict(const mlxn__node *a, const mlxn__node *b);

/* ---- the graph container ----------------------------------------------------- */
typedef struct mlxn__arena_chunk mlxn__arena_chunk;

struct mlxn_graph {
    mlxn_device *dev;
    mlxn__node *nodes;
    size_t n, cap;
    mlxn__arena_chunk *arena; /* inline bytes; chunks never move */
};

mlxn_status mlxn__graph_create(mlxn_device *dev, mlxn_graph **out);
/* Append a copy of `node`: inline bytes are copied into the arena and
 * allocations retained. */
mlxn_status mlxn__graph_append(mlxn_graph *g, const mlxn__node *node);
/* Copy `size` bytes into the arena; the pointer stays valid for the
 * graph's life. NULL when out of memory. */
const uint8_t *mlxn__graph_store(mlxn_graph *g, const void *bytes, size_t size);
/* Release the node's allocations (before overwriting or dropping it). */
void mlxn__node_release(mlxn__node *node);
void mlxn__node_retain(mlxn__node *node);

/* ---- the conflict tracker (the seeds' MemRanges) ---------------------------- */
typedef struct mlxn__tracker {
    mlxn__span *reads, *writes;
    int n_reads, n_writes, cap_reads, cap_writes;
    /* An unannotated dispatch ran since the last barrier: anything may
     * conflict with it. */
    int unknown;
} mlxn__tracker;

void mlxn__tracker_reset(mlxn__tracker *t);
void mlxn__tracker_free(mlxn__tracker *t);
/* Would a dispatch with these spans conflict with what is tracked? */
int mlxn__tracker_conflicts(const mlxn__tracker *t, const mlxn__span *reads,
                            int n_reads, const mlxn__span *writes,
                            int n_writes);
/* Track a dispatch's spans; returns MLXN_OK or MLXN_ERR_OUT_OF_MEMORY. */
mlxn_status mlxn__tracker_add(mlxn__tracker *t, const mlxn__span *reads,
                              int n_reads, const mlxn__span *writes,
                              int n_writes);

#endif /* MLXN_NODE_H */
