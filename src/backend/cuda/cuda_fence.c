/*
 * cuda_fence.c: timeline fences, profiling stamps, capture windows and
 * the L2 persisting window on CUDA.
 *
 * A fence word lives in pinned, device-mapped host memory. A queue signal
 * is cuStreamWriteValue64 (with its default memory barrier: the work
 * before it is visible first), followed by an event recorded on the same
 * stream. A queue wait for v is
 *  - nothing, when the word already holds v or more;
 *  - cuStreamWaitEvent on the event of the signal that first reached v,
 *    when that signal was issued and its event is still in the ring of
 *    recent signals (cheaper between streams than a memory wait);
 *  - cuStreamWaitValue64(GEQ) otherwise (a wait encoded before its
 *    signal, a value signalled by the host, or an evicted event).
 * The host reads and writes the word directly; host waits poll it, and
 * check the context for a fault now and then so a value that can no
 * longer come is reported instead of waited for.
 */
#include "backend/cuda/cuda_backend.h"
#include "core/fence.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CU (mlxn__cuda_of(dev)->cu)
#define RING 8

/* One issued queue signal: it moved the fence from `lo` to `hi`. */
typedef struct signal_rec {
    CUevent ev;
    uint64_t lo, hi;
    int valid;
} signal_rec;

typedef struct cuda_fence {
    signal_rec ring[RING];
    int next;
} cuda_fence;

mlxn_status mlxn__cuda_fence_init(mlxn__fence *f)
{
    mlxn_device *dev = f->dev;
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    cuda_fence *cf = calloc(1, sizeof *cf);
    if (!cf)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "fence: out of memory");
    for (int i = 0; i < RING; i++) {
        CUresult r = CU->cuEventCreate(&cf->ring[i].ev, CU_EVENT_DISABLE_TIMING);
        if (r != CUDA_SUCCESS) {
            while (i-- > 0)
                CU->cuEventDestroy(cf->ring[i].ev);
            free(cf);
            return MLXN__CU_FAIL(dev, r, "fence: cuEventCreate");
        }
    }
    f->backend_state = cf;
    return MLXN_OK;
}

void mlxn__cuda_fence_fini(mlxn__fence *f)
{
    mlxn_device *dev = f->dev;
    cuda_fence *cf = f->backend_state;
    mlxn__cuda_bind(dev);
    /* Events still waited on are released by the driver when done. */
    for (int i = 0; i < RING; i++)
        CU->cuEventDestroy(cf->ring[i].ev);
    free(cf);
}

mlxn_status mlxn__cuda_fence_signal(mlxn__cb *cb, mlxn__fence *f, uint64_t value)
{
    mlxn_device *dev = f->dev;
    cuda_fence *cf = f->backend_state;
    CUstream s = mlxn__cuda_stream(cb->queue);
    CUresult r = CU->cuStreamWriteValue64(s, f->addr, value, CU_STREAM_WRITE_VALUE_DEFAULT);
    if (r != CUDA_SUCCESS)
        return MLXN__CU_FAIL(dev, r, "signal_fence: cuStreamWriteValue64");
    signal_rec *e = &cf->ring[cf->next];
    cf->next = (cf->next + 1) % RING;
    e->valid = 0;
    r = CU->cuEventRecord(e->ev, s);
    if (r != CUDA_SUCCESS)
        return MLXN__CU_FAIL(dev, r, "signal_fence: cuEventRecord");
    e->lo = f->issued;
    e->hi = value;
    e->valid = 1;
    return MLXN_OK;
}

mlxn_status mlxn__cuda_fence_wait(mlxn__cb *cb, mlxn__fence *f, uint64_t value)
{
    mlxn_device *dev = f->dev;
    cuda_fence *cf = f->backend_state;
    CUstream s = mlxn__cuda_stream(cb->queue);
    if (mlxn__fence_load(f) >= value)
        return MLXN_OK;
    CUresult r;
    for (int i = 0; !f->memop_only && i < RING; i++) {
        const signal_rec *e = &cf->ring[i];
        if (!e->valid || !(e->lo < value && value <= e->hi))
            continue;
        r = CU->cuStreamWaitEvent(s, e->ev, CU_EVENT_WAIT_DEFAULT);
        return r == CUDA_SUCCESS ? MLXN_OK : MLXN__CU_FAIL(dev, r, "wait_fence: cuStreamWaitEvent");
    }
    r = CU->cuStreamWaitValue64(s, f->addr, value, CU_STREAM_WAIT_VALUE_GEQ);
    return r == CUDA_SUCCESS ? MLXN_OK : MLXN__CU_FAIL(dev, r, "wait_fence: cuStreamWaitValue64");
}

mlxn_status mlxn__cuda_fence_host_signal(mlxn__fence *f, uint64_t value)
{
    __atomic_store_n(f->host, value, __ATOMIC_RELEASE);
    return MLXN_OK;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A fault anywhere in the context makes queued signals never come. */
static mlxn_status context_check(mlxn_device *dev)
{
    mlxn_status st = mlxn__device_check(dev);
    if (st != MLXN_OK)
        return st;
    CUresult r = CU->cuStreamQuery(mlxn__cuda_of(dev)->xfer);
    if (r == CUDA_SUCCESS || r == CUDA_ERROR_NOT_READY)
        return MLXN_OK;
    return MLXN__CU_FAIL(dev, r, "fence_wait: the context failed");
}

/* Spin for the first 20 us (the common short wait), then yield, then
 * sleep in 20 us steps; check the context every 100 us. */
mlxn_status mlxn__cuda_fence_host_wait(mlxn__fence *f, uint64_t value, uint64_t timeout_ns)
{
    mlxn_device *dev = f->dev;
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    uint64_t t0 = now_ns(), next_check = 100000;
    for (;;) {
        if (mlxn__fence_load(f) >= value)
            return MLXN_OK;
        uint64_t t = now_ns() - t0;
        if (timeout_ns != MLXN_WAIT_FOREVER && t >= timeout_ns)
            return mlxn__fail(dev, MLXN_ERR_TIMEOUT,
                              "fence_wait: value %llu not reached within %llu ns (fence at %llu)",
                              (unsigned long long)value, (unsigned long long)timeout_ns,
                              (unsigned long long)mlxn__fence_load(f));
        if (t >= next_check) {
            next_check = t + 100000;
            if ((st = context_check(dev)) != MLXN_OK)
                return st;
        }
        if (t < 20000) {
#if defined(__x86_64__) || defined(__i386__)
            __asm__ volatile("pause");
#endif
        } else if (t < 1000000) {
            sched_yield();
        } else {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
    }
}

/* ---- stamps: timing events ------------------------------------------------------------ */
mlxn_status mlxn__cuda_stamp_create(mlxn_device *dev, void **out)
{
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    CUevent ev = NULL;
    CUresult r = CU->cuEventCreate(&ev, CU_EVENT_DEFAULT);
    if (r != CUDA_SUCCESS)
        return MLXN__CU_FAIL(dev, r, "profiler: cuEventCreate");
    *out = ev;
    return MLXN_OK;
}

void mlxn__cuda_stamp_destroy(mlxn_device *dev, void *stamp)
{
    if (mlxn__cuda_bind(dev) == MLXN_OK)
        CU->cuEventDestroy((CUevent)stamp);
}

mlxn_status mlxn__cuda_stamp_record(mlxn__cb *cb, void *stamp)
{
    mlxn_device *dev = cb->queue->dev;
    CUresult r = CU->cuEventRecord((CUevent)stamp, mlxn__cuda_stream(cb->queue));
    return r == CUDA_SUCCESS ? MLXN_OK : MLXN__CU_FAIL(dev, r, "profiler: cuEventRecord");
}

mlxn_status mlxn__cuda_stamp_elapsed(mlxn_device *dev, void *from, void *to, double *us)
{
    float ms = 0;
    CUresult r = CU->cuEventElapsedTime(&ms, (CUevent)from, (CUevent)to);
    if (r != CUDA_SUCCESS)
        return MLXN__CU_FAIL(dev, r, "profiler: cuEventElapsedTime");
    *us = (double)ms * 1e3;
    return MLXN_OK;
}

/* ---- capture windows ---------------------------------------------------------------- */
mlxn_status mlxn__cuda_capture_start(mlxn_device *dev)
{
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    CUresult r = CU->cuProfilerStart();
    return r == CUDA_SUCCESS ? MLXN_OK : MLXN__CU_FAIL(dev, r, "cuProfilerStart");
}

mlxn_status mlxn__cuda_capture_stop(mlxn_device *dev)
{
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    CUresult r = CU->cuProfilerStop();
    return r == CUDA_SUCCESS ? MLXN_OK : MLXN__CU_FAIL(dev, r, "cuProfilerStop");
}

/* ---- the L2 persisting window --------------------------------------------------------- */
mlxn_status mlxn__cuda_residency_limit(mlxn_device *dev, size_t want, size_t *old,
                                       size_t *granted, size_t *max_window)
{
    mlxn__cuda_device *cd = mlxn__cuda_of(dev);
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    int max_persist = 0, max_win = 0;
    CU->cuDeviceGetAttribute(&max_persist, CU_DEVICE_ATTRIBUTE_MAX_PERSISTING_L2_CACHE_SIZE,
                             cd->device);
    CU->cuDeviceGetAttribute(&max_win, CU_DEVICE_ATTRIBUTE_MAX_ACCESS_POLICY_WINDOW_SIZE,
                             cd->device);
    if (max_persist <= 0) {
        if (old)
            *old = 0;
        if (granted)
            *granted = 0;
        if (max_window)
            *max_window = 0;
        return MLXN_OK;
    }
    CUresult r;
    if (old) {
        size_t cur = 0;
        if ((r = CU->cuCtxGetLimit(&cur, CU_LIMIT_PERSISTING_L2_CACHE_SIZE)) != CUDA_SUCCESS)
            return MLXN__CU_FAIL(dev, r, "cuCtxGetLimit(PERSISTING_L2_CACHE_SIZE)");
        *old = cur;
    } else {
        /* A restore: demote lines left persisting by the set. */
        CU->cuCtxResetPersistingL2Cache();
    }
    if (want > (size_t)max_persist)
        want = (size_t)max_persist;
    r = CU->cuCtxSetLimit(CU_LIMIT_PERSISTING_L2_CACHE_SIZE, want);
    if (r != CUDA_SUCCESS)
        return MLXN__CU_FAIL(dev, r, "cuCtxSetLimit(PERSISTING_L2_CACHE_SIZE, %zu)", want);
    if (granted) {
        size_t got = 0;
        if ((r = CU->cuCtxGetLimit(&got, CU_LIMIT_PERSISTING_L2_CACHE_SIZE)) != CUDA_SUCCESS)
            return MLXN__CU_FAIL(dev, r, "cuCtxGetLimit(PERSISTING_L2_CACHE_SIZE)");
        *granted = got;
    }
    if (max_window)
        *max_window = max_win > 0 ? (size_t)max_win : 0;
    return MLXN_OK;
}

mlxn_status mlxn__cuda_residency_window(mlxn_queue *q, uint64_t addr, size_t bytes,
                                        float hit_ratio)
{
    mlxn_device *dev = q->dev;
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    CUstreamAttrValue v;
    memset(&v, 0, sizeof v);
    v.accessPolicyWindow.base_ptr = (void *)(uintptr_t)addr;
    v.accessPolicyWindow.num_bytes = bytes;
    v.accessPolicyWindow.hitRatio = bytes ? hit_ratio : 0.0f;
    v.accessPolicyWindow.hitProp =
        bytes ? CU_ACCESS_PROPERTY_PERSISTING : CU_ACCESS_PROPERTY_NORMAL;
    v.accessPolicyWindow.missProp =
        bytes ? CU_ACCESS_PROPERTY_STREAMING : CU_ACCESS_PROPERTY_NORMAL;
    CUresult r = CU->cuStreamSetAttribute(mlxn__cuda_stream(q),
                                          CU_STREAM_ATTRIBUTE_ACCESS_POLICY_WINDOW, &v);
    return r == CUDA_SUCCESS ? MLXN_OK
                             : MLXN__CU_FAIL(dev, r, "cuStreamSetAttribute(ACCESS_POLICY_WINDOW, "
                                                     "%zu bytes)",
                                             bytes);
}
