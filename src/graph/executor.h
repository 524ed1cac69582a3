/*
 * executor.h: the graph executor and its session, shared by executor.c
 * (executor, executable cache) and session.c (sessions and finishes).
 */
#ifndef MLXN_EXECUTOR_H
#define MLXN_EXECUTOR_H

#include "graph/passes.h"

struct mlxn_graph_session {
    mlxn_graph_executor *ex;
    int open;
    int recorded;
    int timed;        /* a start mark was recorded at begin */
    double begin_us;  /* host clock at begin */
    int group_mark;   /* direct: dispatches of the open buffer at the last barrier */
    uint64_t groups[MLXN_GROUP_BINS]; /* direct: closed groups */
    size_t barriers;  /* direct: barriers through the session */
    size_t dispatches; /* direct: dispatches in closed groups */
};

typedef struct mlxn__exec_entry {
    uint64_t key;
    mlxn_graph_exec *exec;
} mlxn__exec_entry;

struct mlxn_graph_executor {
    mlxn_device *dev;
    mlxn_encoder *enc;
    void *timer;
    int timing;
    mlxn__exec_entry *cache;
    size_t n_cache, cap_cache;
    mlxn_graph_executor_stats stats;
    mlxn_graph_session session; /* the one session; reused */
};

double mlxn__now_us(void);

#endif /* MLXN_EXECUTOR_H */
