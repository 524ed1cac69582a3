/*
 * profile.h: the profiler's state per command buffer and the hooks the
 * encoder calls. Every hook is reached only when dev->profiler is set
 * (mlxn_device_params.profile != 0), so a device without profiling pays
 * one pointer test per dispatch and per commit.
 */
#ifndef MLXN_PROFILE_H
#define MLXN_PROFILE_H

#include "core/internal.h"

/* One timed dispatch: stamps around it, read when its buffer completes. */
typedef struct mlxn__prof_dispatch {
    void *start, *end;  /* backend stamps */
    const char *kernel; /* the backend's static kernel name */
    mlxn_op_kind kind;
    uint32_t index;     /* dispatch index inside the command buffer */
    double us;          /* filled at harvest */
} mlxn__prof_dispatch;

struct mlxn__cb_profile {
    int started;       /* the first command was seen */
    void *start, *end; /* stamps around the buffer (COMMAND_BUFFERS) */
    uint64_t seq;      /* profiled command buffer number */
    uint64_t range;    /* NVTX range id, 0 when none is open */
    mlxn__prof_dispatch *d;
    int n, cap;
};

/* Aggregates by command-buffer label and by kernel. */
typedef struct mlxn__prof_stat {
    const char *name; /* labels: owned (strdup); kernels: static */
    uint64_t count;
    double total, min, max; /* microseconds */
} mlxn__prof_stat;

typedef struct mlxn__prof_record {
    int label; /* index into labels */
    uint64_t seq;
    uint32_t index;
    const char *kernel;
    mlxn_op_kind kind;
    double us;
} mlxn__prof_record;

struct mlxn__profiler {
    mlxn_device *dev;
    unsigned flags; /* MLXN_PROFILE_* */
    pthread_mutex_t lock; /* guards everything below */
    void **free_stamps;
    int n_free, cap_free;
    mlxn__prof_stat *labels, *kernels;
    int n_labels, cap_labels, n_kernels, cap_kernels;
    mlxn__prof_record *records;
    size_t n_records, cap_records;
    uint64_t dropped;
    uint64_t next_seq;
};

/* Before the first command of a command buffer: start stamp, NVTX range. */
mlxn_status mlxn__profile_cb_start(mlxn__cb *cb);

static inline mlxn_status mlxn__profile_before_command(mlxn__cb *cb)
{
    if (!cb->queue->dev->profiler || (cb->profile && cb->profile->started))
        return MLXN_OK;
    return mlxn__profile_cb_start(cb);
}

/* A launch with profiling on: the backend's launch, bracketed by stamps
 * when dispatches are timed. */
mlxn_status mlxn__profile_launch(mlxn__cb *cb, const mlxn__launch *l,
                                 mlxn_op_kind kind);
/* Just before the buffer is submitted: end stamp, NVTX range end. */
mlxn_status mlxn__profile_cb_submit(mlxn__cb *cb);

#endif /* MLXN_PROFILE_H */
