/*
 * mlxn_graph.h: recorded-graph passes (fusion, reorder), executable graphs
 * (CUDA graphs) and graph sessions (included by mlxn.h; part of the public
 * API).
 */
#ifndef MLXN_GRAPH_H
#define MLXN_GRAPH_H

#include "mlxn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Graph passes, the graph executor and graph sessions
 * ------------------------------------------------------------------------- */

/* ---- encoding a recorded graph --------------------------------------------
 * A recorded graph can be encoded again on any encoder of its device, in
 * direct mode (it runs) or in capture mode (its nodes are recorded again).
 * Encoding stops at the first failing node; nodes encoded before it stay
 * encoded, as after the same sequence of dispatch calls. */

/* How barriers are placed when a graph is encoded. */
typedef enum mlxn_barrier_mode {
    MLXN_BARRIERS_RECORDED = 0,  /* the barriers recorded in the graph */
    /* Recorded barriers are dropped; a barrier goes before each dispatch
     * that conflicts (RAW, WAR, WAW on its spans) with a dispatch since the
     * last barrier. A dispatch without ranges conflicts with everything. */
    MLXN_BARRIERS_RECOMPUTED = 1
} mlxn_barrier_mode;

/* Every node in order, with the recorded barriers. */
mlxn_status mlxn_graph_encode_sequential(const mlxn_graph *g,
                                         mlxn_encoder *enc);
/* Every dispatch in order, with barriers recomputed from the spans. */
mlxn_status mlxn_graph_encode_with_barriers(const mlxn_graph *g,
                                            mlxn_encoder *enc);
/* The dual command buffer: the first mlxn_graph_dual_split(dispatches)
 * dispatches are encoded and committed as their own command buffer, so the
 * device starts while the host encodes the rest into the encoder's next
 * command buffer, which is left open (commit it). Not while capturing. */
mlxn_status mlxn_graph_encode_dual(const mlxn_graph *g, mlxn_encoder *enc,
                                   mlxn_barrier_mode mode);
/* max(64, dispatches / 10), or all of them when there are fewer. */
size_t mlxn_graph_dual_split(size_t dispatches);

/* Sizes of the concurrent groups (dispatches between barriers) of a graph
 * under a barrier mode: bins[k] counts groups of k + 1 dispatches; the last
 * bin counts groups of n_bins or more. */
#define MLXN_GROUP_BINS 16
void mlxn_graph_group_histogram(const mlxn_graph *g, mlxn_barrier_mode mode,
                                uint64_t *bins, int n_bins);

/* ---- passes ---------------------------------------------------------------
 * Fusion rewrites node patterns into fused kernels. The patterns:
 *  - rms_norm_f32 -> barrier(s) -> mul_<t> becomes rms_norm_mul_<t> when
 *    the multiply reads the norm's whole output as its `a` operand with a
 *    row-broadcast weight `b` (nb == n) and nothing later reads the norm's
 *    output before it is overwritten.
 * A fused node takes the place of the pattern's last node, with the merged
 * read/write spans; it is never fused again. *n_fused (may be NULL) gets
 * the number of fusions made. Fails only when out of memory; the fusions
 * made before that stay, and the graph stays valid. */
mlxn_status mlxn_graph_fuse(mlxn_graph *g, int *n_fused);

typedef struct mlxn_reorder_result {
    size_t moved;           /* dispatches pulled ahead of earlier ones */
    size_t barriers_before; /* barriers recomputed in the recorded order */
    size_t barriers_after;  /* barriers recomputed in the new order */
    /* NULL when the pass ran; otherwise why it did not (a static string),
     * e.g. when a dispatch has no read/write ranges. */
    const char *skipped;
} mlxn_reorder_result;

/* Reorder for concurrency (llama.cpp's greedy 64-node lookahead): at each
 * position, dispatches within the next 64 that conflict with nothing still
 * pending before them are pulled forward into the current concurrent group.
 * Kinds that are not reorderable are never moved and stop the lookahead.
 * The recorded barriers are replaced by the ones the new order needs (the
 * ones MLXN_BARRIERS_RECOMPUTED would place). out may be NULL. */
mlxn_status mlxn_graph_reorder(mlxn_graph *g, mlxn_reorder_result *out);

/* ---- executable graphs ----------------------------------------------------
 * A graph instantiated for repeated launches. On CUDA it is an explicit CUDA
 * graph (one kernel node per dispatch, one root, edges as chosen below),
 * instantiated and uploaded once; each launch is one cuGraphLaunch on the
 * encoder's stream. On the CPU it is the node list, replayed in order.
 * Node indices of an executable count dispatches only (barriers are not
 * nodes). The executable keeps every buffer of the graph alive. */
typedef struct mlxn_graph_exec mlxn_graph_exec;

typedef enum mlxn_graph_edges {
    /* An edge a -> b when b conflicts with a (RAW, WAR, WAW; a dispatch
     * without ranges conflicts with everything), minus the edges that other
     * paths already imply. Independent dispatches get no edge. */
    MLXN_EDGES_PRECISE = 0,
    /* Every dispatch after a recorded barrier depends on every dispatch of
     * the group before it (the recorded barrier semantics). */
    MLXN_EDGES_BARRIERS = 1,
    /* Each dispatch depends on the one before it (stream order). */
    MLXN_EDGES_CHAIN = 2
} mlxn_graph_edges;

typedef struct mlxn_graph_exec_params {
    mlxn_graph_edges edges; /* default MLXN_EDGES_PRECISE */
    /* Programmatic (PDL) edges between dependent kernels: the dependent
     * kernel launches early and waits in griddepcontrol.wait. Default 1;
     * no effect when the device was created with pdl = 0. */
    int programmatic;
} mlxn_graph_exec_params;

mlxn_graph_exec_params mlxn_graph_exec_params_default(void);
/* Instantiate the graph's dispatches; the graph may be destroyed after. */
mlxn_status mlxn_graph_exec_create(const mlxn_graph *g,
                                   const mlxn_graph_exec_params *p,
                                   mlxn_graph_exec **out);
/* Free the executable. Launches already encoded keep what they use until
 * they complete. */
void mlxn_graph_exec_destroy(mlxn_graph_exec *x);
/* Launch in order with the encoder's other work (not while capturing).
 * Counted as the graph's dispatches; per-token scalars are written before
 * with mlxn_encoder_update_buffer. */
mlxn_status mlxn_encoder_launch_graph(mlxn_encoder *enc, mlxn_graph_exec *x);

size_t mlxn_graph_exec_node_count(const mlxn_graph_exec *x);
/* Edges of the instantiated graph (read back from CUDA on that backend). */
size_t mlxn_graph_exec_edge_count(const mlxn_graph_exec *x);
/* 0: no edge from node `from` to node `to`; 1: a full edge; 2: a
 * programmatic edge. */
int mlxn_graph_exec_edge(const mlxn_graph_exec *x, size_t from, size_t to);
uint64_t mlxn_graph_exec_launches(const mlxn_graph_exec *x);

/* A change to one dispatch node of an executable, for later launches. */
typedef struct mlxn_graph_node_update {
    mlxn_dim3 grid;    /* new grid; {0, 0, 0} keeps the current one */
    int slot;          /* an inline-bytes slot to replace, or -1 (default) */
    const void *bytes; /* its new value: exactly the slot's size */
    size_t size;
} mlxn_graph_node_update;

mlxn_graph_node_update mlxn_graph_node_update_default(void);
/* Change a node's grid and/or inline bytes (cuGraphExecKernelNodeSetParams
 * on CUDA): for values that change the grid. Values a kernel can read from
 * a buffer go through mlxn_encoder_update_buffer instead. */
mlxn_status mlxn_graph_exec_update_node(mlxn_graph_exec *x, size_t node,
                                        const mlxn_graph_node_update *u);

/* ---- the graph executor and graph sessions -------------------------------
 * An executor owns an encoder on one queue and a cache of executables keyed
 * by a caller-chosen 64-bit shape bucket. A session is one unit of work on
 * it: begin (dispatches execute as encoded) or begin_recorded (they are
 * captured and run at finish, after the passes the finish variant asks
 * for). Every op of mlxn_ops.h works on mlxn_graph_session_encoder().
 * One session at a time per executor; a finish or commit ends it (whatever
 * the status). Not thread-safe. */
typedef struct mlxn_graph_executor mlxn_graph_executor;
typedef struct mlxn_graph_session mlxn_graph_session;

typedef struct mlxn_graph_executor_params {
    mlxn_queue *queue; /* NULL = the device's default queue */
    int auto_barrier;  /* the encoder's auto_barrier; default 0 */
    const char *label; /* command buffer label; copied */
    /* Record a start mark when a direct session begins, so that it can
     * finish with device timing (costs one event record per session on
     * CUDA). Default 1. Recorded sessions are always timeable. */
    int timing;
} mlxn_graph_executor_params;

mlxn_graph_executor_params mlxn_graph_executor_params_default(void);
mlxn_status mlxn_graph_executor_create(mlxn_device *dev,
                                       const mlxn_graph_executor_params *p,
                                       mlxn_graph_executor **out);
/* Waits for the executor's work; frees its cached executables. */
void mlxn_graph_executor_destroy(mlxn_graph_executor *ex);
/* Wait for everything the executor's sessions committed. */
mlxn_status mlxn_graph_executor_wait(mlxn_graph_executor *ex);

/* The executable cached under `key`, or NULL. */
mlxn_graph_exec *mlxn_graph_executor_find(mlxn_graph_executor *ex,
                                          uint64_t key);
/* Instantiate g and cache it under `key` (replacing an older one). The
 * executor owns the result; *out (may be NULL) receives it. */
mlxn_status mlxn_graph_executor_instantiate(mlxn_graph_executor *ex,
                                            uint64_t key, const mlxn_graph *g,
                                            const mlxn_graph_exec_params *p,
                                            mlxn_graph_exec **out);

typedef struct mlxn_graph_executor_stats {
    uint64_t sessions;     /* sessions finished or committed */
    uint64_t fusions;      /* fusions made by finish variants */
    uint64_t reordered;    /* dispatches moved by finish variants */
    uint64_t launches;     /* executables launched through sessions */
    uint64_t instantiated; /* executables built */
} mlxn_graph_executor_stats;

void mlxn_graph_executor_get_stats(const mlxn_graph_executor *ex,
                                   mlxn_graph_executor_stats *out);

mlxn_status mlxn_graph_executor_begin(mlxn_graph_executor *ex,
                                      mlxn_graph_session **out);
mlxn_status mlxn_graph_executor_begin_recorded(mlxn_graph_executor *ex,
                                               mlxn_graph_session **out);

mlxn_encoder *mlxn_graph_session_encoder(mlxn_graph_session *s);
int mlxn_graph_session_is_recorded(const mlxn_graph_session *s);
/* A barrier; and the encoder's barrier_between and track_dispatch. Use
 * these (not the encoder's) so the session sees its concurrent groups. */
mlxn_status mlxn_graph_session_barrier(mlxn_graph_session *s);
mlxn_status mlxn_graph_session_barrier_between(mlxn_graph_session *s,
                                               const mlxn_range *reads,
                                               int n_reads,
                                               const mlxn_range *writes,
                                               int n_writes, int *emitted);
mlxn_status mlxn_graph_session_track_dispatch(mlxn_graph_session *s,
                                              const mlxn_range *reads,
                                              int n_reads,
                                              const mlxn_range *writes,
                                              int n_writes);
/* Concurrent-group sizes so far (see mlxn_graph_group_histogram): of the
 * recorded graph, or, in a direct session, of the dispatches between the
 * session's barriers. */
void mlxn_graph_session_group_histogram(const mlxn_graph_session *s,
                                        uint64_t *bins, int n_bins);
/* Launch an executable in the session (direct sessions only). */
mlxn_status mlxn_graph_session_launch(mlxn_graph_session *s,
                                      mlxn_graph_exec *x);
/* End a recorded session without running it: the caller gets the graph
 * (to instantiate and cache, for instance). */
mlxn_status mlxn_graph_session_take_graph(mlxn_graph_session *s,
                                          mlxn_graph **out);

/* What a finish did. Timings are filled when MLXN_FINISH_TIME is set
 * (and the finish waits); otherwise they are -1. */
typedef struct mlxn_graph_report {
    double host_us; /* host wall time from begin to the end of the wait */
    /* Device time of the session's work: CUDA events around it; on the CPU
     * backend, the worker's wall time. -1 for a direct session of an
     * executor created with timing = 0. */
    double gpu_us;
    int fusions;
    size_t reordered;
    const char *reorder_skipped; /* see mlxn_reorder_result.skipped */
    size_t dispatches, barriers; /* as encoded */
    uint64_t groups[MLXN_GROUP_BINS]; /* as encoded (group histogram) */
} mlxn_graph_report;

enum {
    MLXN_FINISH_FUSE = 1u << 0,    /* recorded sessions: fusion pass */
    MLXN_FINISH_REORDER = 1u << 1, /* recorded sessions: reorder pass */
    MLXN_FINISH_DUAL = 1u << 2,    /* recorded sessions: dual buffer */
    MLXN_FINISH_TIME = 1u << 3,    /* fill host_us and gpu_us */
    MLXN_FINISH_NO_WAIT = 1u << 4  /* commit without waiting */
};

/* End the session: run what was recorded (after the passes asked for),
 * commit, and wait unless MLXN_FINISH_NO_WAIT. out may be NULL. */
mlxn_status mlxn_graph_session_finish_ex(mlxn_graph_session *s, unsigned flags,
                                         mlxn_graph_report *out);
mlxn_status mlxn_graph_session_finish(mlxn_graph_session *s);
mlxn_status mlxn_graph_session_finish_with_timing(mlxn_graph_session *s,
                                                  double *host_us,
                                                  double *gpu_us);
mlxn_status mlxn_graph_session_finish_with_gpu_time(mlxn_graph_session *s,
                                                    double *gpu_us);
mlxn_status mlxn_graph_session_finish_with_fusion(mlxn_graph_session *s,
                                                  mlxn_graph_report *out);
mlxn_status mlxn_graph_session_finish_with_fusion_and_reorder(
    mlxn_graph_session *s, mlxn_graph_report *out);
/* Fusion, reorder and the dual command buffer. */
mlxn_status mlxn_graph_session_finish_optimized(mlxn_graph_session *s,
                                                mlxn_graph_report *out);
/* Commit without waiting (mlxn_graph_executor_wait waits). */
mlxn_status mlxn_graph_session_commit(mlxn_graph_session *s);

#ifdef __cplusplus
}
#endif

#endif /* MLXN_GRAPH_H */
