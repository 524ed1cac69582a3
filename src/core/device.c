/*
 * device.c: device creation with backend selection, queues, the sticky
 * error state, device-wide synchronisation and the counters.
 */
#include "core/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mlxn_device_params mlxn_device_params_default(void)
{
    mlxn_device_params p;
    memset(&p, 0, sizeof p);
    p.backend = MLXN_BACKEND_AUTO;
    p.pdl = 1;
    return p;
}

static mlxn_status open_backend(mlxn_device *dev, const mlxn__backend *be,
                                const mlxn_device_params *p)
{
    dev->be = be;
    mlxn_status st = be->open(dev, p);
    if (st != MLXN_OK)
        return st;
    st = mlxn__registry_init(dev);
    if (st != MLXN_OK) {
        be->close(dev);
        return st;
    }
    return MLXN_OK;
}

static mlxn_status select_backend(mlxn_device *dev, const mlxn_device_params *p)
{
    switch (p->backend) {
    case MLXN_BACKEND_CPU:
        dev->kind = MLXN_BACKEND_CPU;
        return open_backend(dev, &mlxn__cpu_backend, p);
    case MLXN_BACKEND_CUDA:
#ifdef MLXN_WITH_CUDA
        dev->kind = MLXN_BACKEND_CUDA;
        return open_backend(dev, &mlxn__cuda_backend, p);
#else
        return mlxn__fail(NULL, MLXN_ERR_NO_DEVICE,
                          "no CUDA: this build of mlxn was made without "
                          "nvcc (rebuild with CUDA=1)");
#endif
    case MLXN_BACKEND_AUTO: {
#ifdef MLXN_WITH_CUDA
        dev->kind = MLXN_BACKEND_CUDA;
        mlxn_status st = open_backend(dev, &mlxn__cuda_backend, p);
        /* a timeline exists only on CUDA: its failure is the answer */
        if (st == MLXN_OK || (p->timeline && st != MLXN_ERR_NO_DEVICE))
            return st;
#endif
        dev->kind = MLXN_BACKEND_CPU;
        return open_backend(dev, &mlxn__cpu_backend, p);
    }
    }
    return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "unknown backend %d",
                      (int)p->backend);
}

mlxn_status mlxn_device_create(const mlxn_device_params *params,
                               mlxn_device **out)
{
    if (!out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "device_create: out is NULL");
    *out = NULL;
    mlxn_device_params p = params ? *params : mlxn_device_params_default();
    if (p.ordinal < 0 || p.cpu_threads < 0)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG,
                          "device_create: negative ordinal or thread count");
    mlxn_device *dev = calloc(1, sizeof *dev);
    if (!dev)
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "device_create: out of memory");
    pthread_mutex_init(&dev->lock, NULL);
    dev->params = p;
    atomic_init(&dev->sticky, MLXN_OK);
    mlxn_status st = select_backend(dev, &p);
    if (st == MLXN_OK && p.timeline && !dev->be->timeline_read)
        st = mlxn__fail(NULL, MLXN_ERR_UNSUPPORTED,
                        "device_create: no timeline on the %s backend (CUDA only)", dev->be->name);
    if (st == MLXN_OK)
        st = mlxn_queue_create(dev, &dev->default_queue);
    if (st == MLXN_OK && p.profile)
        st = mlxn__profiler_create(dev);
    if (st != MLXN_OK) {
        if (dev->default_queue)
            mlxn_queue_destroy(dev->default_queue);
        if (dev->be && dev->backend_state) {
            mlxn__registry_fini(dev);
            dev->be->close(dev);
        }
        pthread_mutex_destroy(&dev->lock);
        free(dev);
        return st;
    }
    dev->default_queue->is_default = 1;
    if (dev->kind == MLXN_BACKEND_CUDA && (st = mlxn__registry_load_all(dev)) != MLXN_OK) {
        char msg[MLXN__ERROR_MAX];
        snprintf(msg, sizeof msg, "%s", dev->last_error);
        mlxn_device_destroy(dev);
        return mlxn__fail(NULL, st, "%s", msg);
    }
    mlxn_device_info info;
    memset(&info, 0, sizeof info);
    dev->multiprocessors = 1;
    if (dev->be->info(dev, &info) == MLXN_OK && info.multiprocessors > 0)
        dev->multiprocessors = info.multiprocessors;
    *out = dev;
    return MLXN_OK;
}

mlxn_status mlxn_device_timeline_write(mlxn_device *dev, const char *path, uint64_t *taken)
{
    if (!dev || !path)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "timeline_write: NULL device or path");
    if (!dev->params.timeline)
        return mlxn__fail(dev, MLXN_ERR_STATE,
                          "timeline_write: the device was created without a timeline");
    mlxn_status st = mlxn_device_synchronize(dev);
    uint64_t *w = NULL;
    size_t n = 0;
    if (st == MLXN_OK)
        st = dev->be->timeline_read(dev, &w, &n);
    if (st != MLXN_OK)
        return st;
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(w, sizeof *w, n, f) == n;
    if (f && fclose(f) != 0)
        ok = 0;
    if (ok && taken)
        *taken = w[0];
    free(w);
    return ok ? MLXN_OK : mlxn__fail(dev, MLXN_ERR_IO, "timeline_write: cannot write %s", path);
}

void mlxn_device_destroy(mlxn_device *dev)
{
    if (!dev)
        return;
    dev->default_queue->is_default = 0;
    mlxn_queue_destroy(dev->default_queue);
    mlxn__profiler_destroy(dev);
    mlxn__workspace_release_all(dev);
    mlxn__registry_fini(dev);
    dev->be->close(dev);
    pthread_mutex_destroy(&dev->lock);
    free(dev);
}

mlxn_backend mlxn_device_backend(const mlxn_device *dev) { return dev->kind; }
const char *mlxn_device_name(const mlxn_device *dev) { return dev->name; }

mlxn_status mlxn_device_get_info(const mlxn_device *dev, mlxn_device_info *out)
{
    if (!dev || !out)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "device_get_info: NULL argument");
    memset(out, 0, sizeof *out);
    return dev->be->info(dev, out);
}

void mlxn__device_set_sticky(mlxn_device *dev, mlxn_status status)
{
    pthread_mutex_lock(&dev->lock);
    if (atomic_load(&dev->sticky) == MLXN_OK) {
        memcpy(dev->sticky_msg, dev->last_error, sizeof dev->sticky_msg);
        atomic_store(&dev->sticky, (int)status);
    }
    pthread_mutex_unlock(&dev->lock);
}

mlxn_status mlxn__device_check(const mlxn_device *dev)
{
    mlxn_status st = (mlxn_status)atomic_load(&dev->sticky);
    if (st == MLXN_OK)
        return MLXN_OK;
    return mlxn__fail(dev, st, "device unusable after an earlier fault: %s",
                      dev->sticky_msg);
}

mlxn_status mlxn_device_status(const mlxn_device *dev)
{
    return (mlxn_status)atomic_load(&dev->sticky);
}

mlxn_status mlxn_device_synchronize(mlxn_device *dev)
{
    MLXN__COUNT(dev, syncs, 1);
    mlxn_status st = dev->be->queue_sync(dev->default_queue);
    if (st != MLXN_OK)
        return st;
    return mlxn__device_check(dev);
}

/* ---- queues ------------------------------------------------------------------ */
mlxn_queue *mlxn_device_default_queue(mlxn_device *dev)
{
    return dev ? dev->default_queue : NULL;
}

mlxn_status mlxn_queue_create(mlxn_device *dev, mlxn_queue **out)
{
    if (!dev || !out)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "queue_create: NULL argument");
    *out = NULL;
    mlxn_status st = mlxn__device_check(dev);
    if (st != MLXN_OK)
        return st;
    mlxn_queue *q = calloc(1, sizeof *q);
    if (!q)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "queue_create: out of memory");
    q->dev = dev;
    pthread_mutex_init(&q->lock, NULL);
    st = dev->be->queue_open(dev, q);
    if (st != MLXN_OK) {
        pthread_mutex_destroy(&q->lock);
        free(q);
        return st;
    }
    *out = q;
    return MLXN_OK;
}

void mlxn_queue_destroy(mlxn_queue *q)
{
    if (!q || q->is_default)
        return;
    mlxn_device *dev = q->dev;
    dev->be->queue_sync(q);
    if (q->residency)
        mlxn__residency_queue_gone(q);
    while (q->free_cbs) {
        mlxn__cb *cb = q->free_cbs;
        q->free_cbs = cb->next;
        dev->be->cb_fini(cb);
        free(cb->retained);
        free(cb);
    }
    dev->be->queue_close(q);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

mlxn_status mlxn_queue_synchronize(mlxn_queue *q)
{
    if (!q)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "queue_synchronize: NULL queue");
    MLXN__COUNT(q->dev, syncs, 1);
    mlxn_status st = q->dev->be->queue_sync(q);
    if (st != MLXN_OK)
        return st;
    return mlxn__device_check(q->dev);
}

/* ---- command buffers ----------------------------------------------------------- */
mlxn_status mlxn__cb_acquire(mlxn_queue *q, const char *label, mlxn__cb **out)
{
    mlxn_device *dev = q->dev;
    pthread_mutex_lock(&q->lock);
    mlxn__cb *cb = q->free_cbs;
    if (cb)
        q->free_cbs = cb->next;
    pthread_mutex_unlock(&q->lock);
    if (!cb) {
        cb = calloc(1, sizeof *cb);
        if (!cb)
            return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "command buffer: out of memory");
        cb->queue = q;
        mlxn_status st = dev->be->cb_init(cb);
        if (st != MLXN_OK) {
            free(cb);
            return st;
        }
    }
    cb->next = NULL;
    cb->status = MLXN_OK;
    cb->n_dispatches = 0;
    cb->n_commands = 0;
    snprintf(cb->label, sizeof cb->label, "%s", label ? label : "");
    mlxn_status st = dev->be->cb_begin(cb);
    if (st != MLXN_OK) {
        mlxn__cb_recycle(cb);
        return st;
    }
    cb->state = MLXN__CB_OPEN;
    *out = cb;
    return MLXN_OK;
}

mlxn_status mlxn__cb_retain(mlxn__cb *cb, mlxn__alloc *a)
{
    if (cb->n_retained == cb->cap_retained) {
        int cap = cb->cap_retained ? cb->cap_retained * 2 : 64;
        mlxn__alloc **r = realloc(cb->retained, (size_t)cap * sizeof *r);
        if (!r)
            return mlxn__fail(cb->queue->dev, MLXN_ERR_OUT_OF_MEMORY,
                              "command buffer: out of memory");
        cb->retained = r;
        cb->cap_retained = cap;
    }
    mlxn__alloc_retain(a);
    cb->retained[cb->n_retained++] = a;
    return MLXN_OK;
}

void mlxn__cb_recycle(mlxn__cb *cb)
{
    if (cb->profile)
        mlxn__profile_cb_finish(cb);
    for (int i = 0; i < cb->n_retained; i++)
        mlxn__alloc_release(cb->retained[i]);
    cb->n_retained = 0;
    cb->state = MLXN__CB_IDLE;
    mlxn_queue *q = cb->queue;
    pthread_mutex_lock(&q->lock);
    cb->next = q->free_cbs;
    q->free_cbs = cb;
    pthread_mutex_unlock(&q->lock);
}

/* ---- counters ------------------------------------------------------------------- */
void mlxn_device_get_counters(const mlxn_device *dev, mlxn_counters *out)
{
    const mlxn__counters_atomic *c = &dev->counters;
    out->dispatches = atomic_load(&c->dispatches);
    out->command_buffers = atomic_load(&c->command_buffers);
    out->syncs = atomic_load(&c->syncs);
    out->barriers = atomic_load(&c->barriers);
    out->auto_barriers = atomic_load(&c->auto_barriers);
    out->elided_barriers = atomic_load(&c->elided_barriers);
}

uint64_t mlxn_device_kernel_dispatches(const mlxn_device *dev, const char *name)
{
    mlxn_kernel *k = mlxn__registry_find(dev, name);
    return k ? atomic_load(&k->dispatches) : 0;
}

void mlxn_device_reset_counters(mlxn_device *dev)
{
    mlxn__counters_atomic *c = &dev->counters;
    atomic_store(&c->dispatches, 0);
    atomic_store(&c->command_buffers, 0);
    atomic_store(&c->syncs, 0);
    atomic_store(&c->barriers, 0);
    atomic_store(&c->auto_barriers, 0);
    atomic_store(&c->elided_barriers, 0);
    for (int i = 0; i < dev->registry.n; i++)
        atomic_store(&dev->registry.kernels[i].dispatches, 0);
}
