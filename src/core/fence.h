/*
 * fence.h: timeline fences as the core and the backends see them. The
 * counter is a 64-bit word of host-visible memory held by an allocation,
 * so command buffers that signal or wait on it keep it alive (they retain
 * the allocation) even after the fence handle is destroyed.
 */
#ifndef MLXN_FENCE_H
#define MLXN_FENCE_H

#include "core/internal.h"

struct mlxn__fence {
    mlxn_device *dev;
    mlxn__alloc *word;    /* 8 bytes, host-visible */
    uint64_t *host;       /* host address of the word */
    uint64_t addr;        /* device address of the word */
    pthread_mutex_t lock; /* serialises signals and waits (issue order) */
    uint64_t issued;      /* highest value signalled, host or queue */
    /* CUDA: always wait with cuStreamWaitValue64, never through a
     * signal's event (benchmarks and tests compare the two). */
    int memop_only;
    void *backend_state;
};

/* The public handle is the core fence. */
struct mlxn_fence {
    mlxn__fence f;
};

/* The value the word holds now. */
static inline uint64_t mlxn__fence_load(const mlxn__fence *f)
{
    return __atomic_load_n(f->host, __ATOMIC_ACQUIRE);
}

#endif /* MLXN_FENCE_H */
