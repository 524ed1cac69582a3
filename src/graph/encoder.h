/*
 * encoder.h: the encoder's state, shared by the encoder's files and by the
 * layers built on it (graph executor, sessions, records).
 */
#ifndef MLXN_ENCODER_H
#define MLXN_ENCODER_H

#include "graph/node.h"

struct mlxn_encoder {
    mlxn_device *dev;
    mlxn_queue *queue;
    int auto_barrier;
    mlxn__cb *cur;                          /* the open command buffer */
    mlxn__cb *inflight_head, *inflight_tail; /* committed, not yet reaped */
    int unwaited; /* committed since the last wait (reaped or not) */
    mlxn__tracker tracker;
    mlxn_graph *capture; /* non-NULL while capturing */

    /* stateful bindings (mlxn_encoder_set_*) */
    mlxn_kernel *bound_kernel;
    uint32_t bound_mask; /* bit i: slot i is bound */
    mlxn_arg bound[MLXN_MAX_ARGS];
    uint8_t bound_bytes[MLXN_MAX_ARGS][MLXN_MAX_ARG_BYTES];
    uint32_t bound_shared;

    /* annotations for the next dispatch */
    int pending_kind_set;
    mlxn_op_kind pending_kind;
    int pending_ranges_set;
    int pending_n_reads, pending_n_writes;
    mlxn__span pending_reads[MLXN_MAX_RANGES];
    mlxn__span pending_writes[MLXN_MAX_RANGES];
};

/* Validate a public dispatch and build its transient node (inline bytes
 * still point at the caller's memory). */
mlxn_status mlxn__node_from_dispatch(mlxn_device *dev, const mlxn_dispatch *d,
                                     mlxn__node *n);
/* Encode a node: barrier inference, then capture or launch. */
mlxn_status mlxn__encoder_encode_node(mlxn_encoder *enc, const mlxn__node *n);
/* Convert public ranges to absolute spans (validated). */
mlxn_status mlxn__ranges_to_spans(mlxn_device *dev, const mlxn_range *r, int n,
                                  mlxn__span *out);
/* Reap completed command buffers from the in-flight list without
 * blocking; returns the first error found. */
mlxn_status mlxn__encoder_poll(mlxn_encoder *enc);
/* Emit a barrier whatever the auto_barrier setting: a barrier node while
 * capturing (consecutive ones collapse), a counted barrier otherwise;
 * `automatic` counts it as inferred from ranges. Resets the tracker. */
mlxn_status mlxn__encoder_emit_barrier(mlxn_encoder *enc, int automatic);

#endif /* MLXN_ENCODER_H */
