/*
 * fence.c: timeline fences, the host side: creation (the word is an
 * 8-byte host-visible allocation), reading, host waits and host signals.
 * Signals and waits encoded on queues are in graph/encoder_fence.c; the
 * mechanisms are the backends' (cpu/cpu_fence.c, cuda/cuda_fence.c).
 */
#include "core/fence.h"

#include <stdlib.h>

mlxn_status mlxn_fence_create(mlxn_device *dev, uint64_t initial_value,
                              mlxn_fence **out)
{
    if (!dev || !out)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "fence_create: NULL argument");
    *out = NULL;
    mlxn_status st = mlxn__device_check(dev);
    if (st != MLXN_OK)
        return st;
    mlxn_fence *fence = calloc(1, sizeof *fence);
    mlxn__alloc *a = calloc(1, sizeof *a);
    if (!fence || !a) {
        free(fence);
        free(a);
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "fence_create: out of memory");
    }
    st = dev->be->mem_alloc(dev, sizeof(uint64_t), MLXN_BUFFER_HOST_VISIBLE, &a->mem);
    if (st != MLXN_OK) {
        free(fence);
        free(a);
        return st;
    }
    a->dev = dev;
    atomic_init(&a->refs, 1);
    mlxn__fence *f = &fence->f;
    f->dev = dev;
    f->word = a;
    f->host = a->mem.host;
    f->addr = a->mem.addr;
    f->issued = initial_value;
    __atomic_store_n(f->host, initial_value, __ATOMIC_RELEASE);
    pthread_mutex_init(&f->lock, NULL);
    st = dev->be->fence_init(f);
    if (st != MLXN_OK) {
        pthread_mutex_destroy(&f->lock);
        mlxn__alloc_release(a);
        free(fence);
        return st;
    }
    *out = fence;
    return MLXN_OK;
}

void mlxn_fence_destroy(mlxn_fence *fence)
{
    if (!fence)
        return;
    mlxn__fence *f = &fence->f;
    f->dev->be->fence_fini(f);
    pthread_mutex_destroy(&f->lock);
    mlxn__alloc_release(f->word);
    free(fence);
}

mlxn_device *mlxn_fence_device(const mlxn_fence *fence)
{
    return fence ? fence->f.dev : NULL;
}

uint64_t mlxn_fence_value(const mlxn_fence *fence)
{
    return fence ? mlxn__fence_load(&fence->f) : 0;
}

mlxn_status mlxn_fence_wait(mlxn_fence *fence, uint64_t value, uint64_t timeout_ns)
{
    if (!fence)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "fence_wait: NULL fence");
    mlxn__fence *f = &fence->f;
    if (mlxn__fence_load(f) >= value)
        return MLXN_OK;
    mlxn_status st = mlxn__device_check(f->dev);
    if (st != MLXN_OK)
        return st;
    MLXN__COUNT(f->dev, syncs, 1);
    return f->dev->be->fence_host_wait(f, value, timeout_ns);
}

mlxn_status mlxn_fence_signal(mlxn_fence *fence, uint64_t value)
{
    if (!fence)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "fence_signal: NULL fence");
    mlxn__fence *f = &fence->f;
    mlxn_status st = mlxn__device_check(f->dev);
    if (st != MLXN_OK)
        return st;
    pthread_mutex_lock(&f->lock);
    if (value <= f->issued) {
        uint64_t issued = f->issued;
        pthread_mutex_unlock(&f->lock);
        return mlxn__fail(f->dev, MLXN_ERR_INVALID_ARG,
                          "fence_signal: value %llu does not exceed %llu, the highest "
                          "value already signalled (fence values must rise)",
                          (unsigned long long)value, (unsigned long long)issued);
    }
    st = f->dev->be->fence_host_signal(f, value);
    if (st == MLXN_OK)
        f->issued = value;
    pthread_mutex_unlock(&f->lock);
    return st;
}
