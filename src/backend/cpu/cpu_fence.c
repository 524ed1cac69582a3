/*
 * cpu_fence.c: timeline fences and profiling stamps on the CPU backend.
 * A fence is its 64-bit word plus the device's fence lock and condition
 * variable. A queue-side signal or wait is a HOOK command run in order by
 * the queue's worker: a wait blocks that worker (so that queue), never the
 * host. A kernel failure wakes every waiter, which then reports the
 * device's sticky error instead of waiting for a value that cannot come.
 * A stamp is a nanosecond clock reading taken by the worker.
 */
#include "backend/cpu/cpu_backend.h"
#include "core/fence.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

static mlxn__cpu_device *cpu_of(const mlxn_device *dev)
{
    return (mlxn__cpu_device *)dev->backend_state;
}

mlxn_status mlxn__cpu_fence_init(mlxn__fence *f)
{
    (void)f;
    return MLXN_OK;
}

void mlxn__cpu_fence_fini(mlxn__fence *f) { (void)f; }

void mlxn__cpu_fence_wake(mlxn_device *dev)
{
    mlxn__cpu_device *cd = cpu_of(dev);
    pthread_mutex_lock(&cd->fence_lock);
    pthread_cond_broadcast(&cd->fence_cond);
    pthread_mutex_unlock(&cd->fence_lock);
}

/* hook(dev, word, value): store and wake. */
static mlxn_status signal_hook(void *a, void *b, uint64_t value)
{
    mlxn__cpu_device *cd = cpu_of(a);
    pthread_mutex_lock(&cd->fence_lock);
    __atomic_store_n((uint64_t *)b, value, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&cd->fence_cond);
    pthread_mutex_unlock(&cd->fence_lock);
    return MLXN_OK;
}

/* hook(dev, word, value): block this worker until the word reaches value
 * or the device fails. */
static mlxn_status wait_hook(void *a, void *b, uint64_t value)
{
    mlxn_device *dev = a;
    mlxn__cpu_device *cd = cpu_of(dev);
    const uint64_t *word = b;
    pthread_mutex_lock(&cd->fence_lock);
    while (__atomic_load_n(word, __ATOMIC_ACQUIRE) < value &&
           atomic_load(&dev->sticky) == MLXN_OK)
        pthread_cond_wait(&cd->fence_cond, &cd->fence_lock);
    int reached = __atomic_load_n(word, __ATOMIC_ACQUIRE) >= value;
    pthread_mutex_unlock(&cd->fence_lock);
    return reached ? MLXN_OK : mlxn__device_check(dev);
}

mlxn_status mlxn__cpu_fence_signal(mlxn__cb *cb, mlxn__fence *f, uint64_t value)
{
    return mlxn__cpu_cb_add_hook(cb, signal_hook, f->dev, f->host, value);
}

mlxn_status mlxn__cpu_fence_wait(mlxn__cb *cb, mlxn__fence *f, uint64_t value)
{
    return mlxn__cpu_cb_add_hook(cb, wait_hook, f->dev, f->host, value);
}

mlxn_status mlxn__cpu_fence_host_signal(mlxn__fence *f, uint64_t value)
{
    return signal_hook(f->dev, f->host, value);
}

mlxn_status mlxn__cpu_fence_host_wait(mlxn__fence *f, uint64_t value, uint64_t timeout_ns)
{
    mlxn__cpu_device *cd = cpu_of(f->dev);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    if (timeout_ns != MLXN_WAIT_FOREVER) {
        uint64_t ns = (uint64_t)deadline.tv_nsec + timeout_ns % 1000000000u;
        deadline.tv_sec += (time_t)(timeout_ns / 1000000000u + ns / 1000000000u);
        deadline.tv_nsec = (long)(ns % 1000000000u);
    }
    mlxn_status st = MLXN_OK;
    pthread_mutex_lock(&cd->fence_lock);
    while (__atomic_load_n(f->host, __ATOMIC_ACQUIRE) < value) {
        if (atomic_load(&f->dev->sticky) != MLXN_OK) {
            st = MLXN_ERR_GPU;
            break;
        }
        if (timeout_ns == MLXN_WAIT_FOREVER) {
            pthread_cond_wait(&cd->fence_cond, &cd->fence_lock);
        } else if (pthread_cond_timedwait(&cd->fence_cond, &cd->fence_lock, &deadline) ==
                       ETIMEDOUT &&
                   __atomic_load_n(f->host, __ATOMIC_ACQUIRE) < value) {
            st = MLXN_ERR_TIMEOUT;
            break;
        }
    }
    uint64_t now = __atomic_load_n(f->host, __ATOMIC_ACQUIRE);
    pthread_mutex_unlock(&cd->fence_lock);
    if (st == MLXN_ERR_GPU)
        return mlxn__device_check(f->dev);
    if (st == MLXN_ERR_TIMEOUT)
        return mlxn__fail(f->dev, st,
                          "fence_wait: value %llu not reached within %llu ns (fence at %llu)",
                          (unsigned long long)value, (unsigned long long)timeout_ns,
                          (unsigned long long)now);
    return MLXN_OK;
}

/* ---- stamps ------------------------------------------------------------------------- */
mlxn_status mlxn__cpu_stamp_create(mlxn_device *dev, void **out)
{
    uint64_t *s = calloc(1, sizeof *s);
    if (!s)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "profiler: out of memory");
    *out = s;
    return MLXN_OK;
}

void mlxn__cpu_stamp_destroy(mlxn_device *dev, void *stamp)
{
    (void)dev;
    free(stamp);
}

static mlxn_status stamp_hook(void *a, void *b, uint64_t v)
{
    (void)b;
    (void)v;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    *(uint64_t *)a = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return MLXN_OK;
}

mlxn_status mlxn__cpu_stamp_record(mlxn__cb *cb, void *stamp)
{
    return mlxn__cpu_cb_add_hook(cb, stamp_hook, stamp, NULL, 0);
}

mlxn_status mlxn__cpu_stamp_elapsed(mlxn_device *dev, void *from, void *to, double *us)
{
    (void)dev;
    uint64_t a = *(const uint64_t *)from, b = *(const uint64_t *)to;
    *us = b >= a ? (double)(b - a) * 1e-3 : 0.0;
    return MLXN_OK;
}
