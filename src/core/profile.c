/*
 * profile.c: the profiler: a pool of backend timestamps, the hooks that
 * stamp command buffers and dispatches, NVTX ranges for labels (builds
 * with CUDA), harvesting when a command buffer completes, aggregates by
 * label and by kernel, the query API and capture windows. Output formats
 * are in profile_dump.c.
 */
#include "core/profile.h"

#include <stdlib.h>
#include <string.h>

#ifdef MLXN_WITH_CUDA
#include <nvtx3/nvToolsExt.h>
#endif

#define TIMED (MLXN_PROFILE_COMMAND_BUFFERS | MLXN_PROFILE_DISPATCHES)

mlxn_status mlxn__profiler_create(mlxn_device *dev)
{
    unsigned known = MLXN_PROFILE_COMMAND_BUFFERS | MLXN_PROFILE_DISPATCHES | MLXN_PROFILE_NVTX;
    if (dev->params.profile & ~known)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "device_create: unknown profile bits 0x%x",
                          dev->params.profile & ~known);
    mlxn__profiler *p = calloc(1, sizeof *p);
    if (!p)
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "profiler: out of memory");
    p->dev = dev;
    p->flags = dev->params.profile;
    pthread_mutex_init(&p->lock, NULL);
    dev->profiler = p;
    return MLXN_OK;
}

static void clear_stats(mlxn__profiler *p)
{
    for (int i = 0; i < p->n_labels; i++)
        free((char *)p->labels[i].name);
    p->n_labels = 0;
    p->n_kernels = 0;
    p->n_records = 0;
    p->dropped = 0;
}

void mlxn__profiler_destroy(mlxn_device *dev)
{
    mlxn__profiler *p = dev->profiler;
    if (!p)
        return;
    for (int i = 0; i < p->n_free; i++)
        dev->be->stamp_destroy(dev, p->free_stamps[i]);
    clear_stats(p);
    free(p->free_stamps);
    free(p->labels);
    free(p->kernels);
    free(p->records);
    pthread_mutex_destroy(&p->lock);
    free(p);
    dev->profiler = NULL;
}

/* ---- the stamp pool ----------------------------------------------------------- */
static mlxn_status get_stamp(mlxn__profiler *p, void **out)
{
    pthread_mutex_lock(&p->lock);
    void *s = p->n_free ? p->free_stamps[--p->n_free] : NULL;
    pthread_mutex_unlock(&p->lock);
    if (s) {
        *out = s;
        return MLXN_OK;
    }
    return p->dev->be->stamp_create(p->dev, out);
}

static void put_stamp(mlxn__profiler *p, void *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&p->lock);
    if (p->n_free == p->cap_free) {
        int cap = p->cap_free ? p->cap_free * 2 : 64;
        void **f = realloc(p->free_stamps, (size_t)cap * sizeof *f);
        if (!f) {
            pthread_mutex_unlock(&p->lock);
            p->dev->be->stamp_destroy(p->dev, s);
            return;
        }
        p->free_stamps = f;
        p->cap_free = cap;
    }
    p->free_stamps[p->n_free++] = s;
    pthread_mutex_unlock(&p->lock);
}

/* Record a fresh stamp on the command buffer. */
static mlxn_status stamp_now(mlxn__profiler *p, mlxn__cb *cb, void **out)
{
    void *s = NULL;
    mlxn_status st = get_stamp(p, &s);
    if (st != MLXN_OK)
        return st;
    st = p->dev->be->stamp_record(cb, s);
    if (st != MLXN_OK) {
        put_stamp(p, s);
        return st;
    }
    *out = s;
    return MLXN_OK;
}

/* ---- NVTX ---------------------------------------------------------------------- */
static uint64_t range_begin(const char *label)
{
#ifdef MLXN_WITH_CUDA
    uint64_t id = nvtxRangeStartA(label[0] ? label : "command buffer");
    return id ? id : 1;
#else
    (void)label;
    return 0;
#endif
}

static void range_end(uint64_t id)
{
#ifdef MLXN_WITH_CUDA
    nvtxRangeEnd(id);
#else
    (void)id;
#endif
}

/* ---- hooks ----------------------------------------------------------------------- */
mlxn_status mlxn__profile_cb_start(mlxn__cb *cb)
{
    mlxn__profiler *p = cb->queue->dev->profiler;
    if (!cb->profile) {
        cb->profile = calloc(1, sizeof *cb->profile);
        if (!cb->profile)
            return mlxn__fail(p->dev, MLXN_ERR_OUT_OF_MEMORY, "profiler: out of memory");
    }
    mlxn__cb_profile *pr = cb->profile;
    if ((p->flags & MLXN_PROFILE_COMMAND_BUFFERS) && !pr->start) {
        mlxn_status st = stamp_now(p, cb, &pr->start);
        if (st != MLXN_OK)
            return st;
    }
    if ((p->flags & MLXN_PROFILE_NVTX) && !pr->range)
        pr->range = range_begin(cb->label);
    pthread_mutex_lock(&p->lock);
    pr->seq = p->next_seq++;
    pthread_mutex_unlock(&p->lock);
    pr->started = 1;
    return MLXN_OK;
}

mlxn_status mlxn__profile_launch(mlxn__cb *cb, const mlxn__launch *l, mlxn_op_kind kind)
{
    mlxn_device *dev = cb->queue->dev;
    mlxn__profiler *p = dev->profiler;
    mlxn_status st = mlxn__profile_before_command(cb);
    if (st != MLXN_OK)
        return st;
    if (!(p->flags & MLXN_PROFILE_DISPATCHES))
        return dev->be->launch(cb, l);
    mlxn__cb_profile *pr = cb->profile;
    if (pr->n == pr->cap) {
        int cap = pr->cap ? pr->cap * 2 : 64;
        mlxn__prof_dispatch *d = realloc(pr->d, (size_t)cap * sizeof *d);
        if (!d)
            return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "profiler: out of memory");
        pr->d = d;
        pr->cap = cap;
    }
    void *start = NULL, *end = NULL;
    if ((st = stamp_now(p, cb, &start)) != MLXN_OK)
        return st;
    if ((st = dev->be->launch(cb, l)) != MLXN_OK) {
        put_stamp(p, start);
        return st;
    }
    /* The dispatch is queued: a stamp that cannot be recorded now costs
     * its record, not the dispatch. */
    if (stamp_now(p, cb, &end) != MLXN_OK) {
        put_stamp(p, start);
        return MLXN_OK;
    }
    mlxn__prof_dispatch *d = &pr->d[pr->n++];
    d->start = start;
    d->end = end;
    d->kernel = l->name;
    d->kind = kind;
    d->index = (uint32_t)cb->n_dispatches;
    d->us = 0;
    return MLXN_OK;
}

mlxn_status mlxn__profile_cb_submit(mlxn__cb *cb)
{
    mlxn__profiler *p = cb->queue->dev->profiler;
    mlxn__cb_profile *pr = cb->profile;
    if (!pr || !pr->started)
        return MLXN_OK;
    if ((p->flags & MLXN_PROFILE_COMMAND_BUFFERS) && pr->start && !pr->end) {
        mlxn_status st = stamp_now(p, cb, &pr->end);
        if (st != MLXN_OK)
            return st;
    }
    if (pr->range) {
        range_end(pr->range);
        pr->range = 0;
    }
    return MLXN_OK;
}

/* ---- harvest --------------------------------------------------------------------- */
static void add_sample(mlxn__prof_stat *s, double us)
{
    if (!s->count || us < s->min)
        s->min = us;
    if (!s->count || us > s->max)
        s->max = us;
    s->count++;
    s->total += us;
}

/* Index of the stat named `name` (compared as strings when `copy`, as
 * pointers otherwise), appended when new; -1 when out of memory. */
static int find_stat(mlxn__prof_stat **arr, int *n, int *cap, const char *name, int copy)
{
    for (int i = 0; i < *n; i++)
        if (copy ? strcmp((*arr)[i].name, name) == 0 : (*arr)[i].name == name)
            return i;
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 16;
        mlxn__prof_stat *a = realloc(*arr, (size_t)c * sizeof *a);
        if (!a)
            return -1;
        *arr = a;
        *cap = c;
    }
    const char *stored = copy ? strdup(name) : name;
    if (!stored)
        return -1;
    memset(&(*arr)[*n], 0, sizeof **arr);
    (*arr)[*n].name = stored;
    return (*n)++;
}

static void add_record(mlxn__profiler *p, int label, uint64_t seq, const mlxn__prof_dispatch *d)
{
    if (p->n_records == p->cap_records) {
        size_t cap = p->cap_records ? p->cap_records * 2 : 1024;
        if (cap > MLXN_PROFILE_MAX_RECORDS)
            cap = MLXN_PROFILE_MAX_RECORDS;
        mlxn__prof_record *r = cap > p->cap_records
                                   ? realloc(p->records, cap * sizeof *r)
                                   : NULL;
        if (!r) {
            p->dropped++;
            return;
        }
        p->records = r;
        p->cap_records = cap;
    }
    mlxn__prof_record *r = &p->records[p->n_records++];
    r->label = label;
    r->seq = seq;
    r->index = d->index;
    r->kernel = d->kernel;
    r->kind = d->kind;
    r->us = d->us;
}

static void harvest(mlxn__profiler *p, const mlxn__cb *cb, mlxn__cb_profile *pr)
{
    mlxn_device *dev = p->dev;
    double cb_us = -1;
    if (pr->start && pr->end && dev->be->stamp_elapsed(dev, pr->start, pr->end, &cb_us) != MLXN_OK)
        cb_us = -1;
    for (int i = 0; i < pr->n; i++)
        if (dev->be->stamp_elapsed(dev, pr->d[i].start, pr->d[i].end, &pr->d[i].us) != MLXN_OK)
            pr->d[i].us = -1;
    pthread_mutex_lock(&p->lock);
    int label = find_stat(&p->labels, &p->n_labels, &p->cap_labels, cb->label, 1);
    if (label >= 0 && cb_us >= 0)
        add_sample(&p->labels[label], cb_us);
    for (int i = 0; i < pr->n; i++) {
        if (pr->d[i].us < 0)
            continue;
        int k = find_stat(&p->kernels, &p->n_kernels, &p->cap_kernels, pr->d[i].kernel, 0);
        if (k >= 0)
            add_sample(&p->kernels[k], pr->d[i].us);
        if (label >= 0)
            add_record(p, label, pr->seq, &pr->d[i]);
        else
            p->dropped++;
    }
    pthread_mutex_unlock(&p->lock);
}

void mlxn__profile_cb_finish(mlxn__cb *cb)
{
    mlxn__cb_profile *pr = cb->profile;
    mlxn__profiler *p = cb->queue->dev->profiler;
    cb->profile = NULL;
    if (!p) {
        free(pr->d);
        free(pr);
        return;
    }
    if (pr->started && cb->state == MLXN__CB_DONE && cb->status == MLXN_OK)
        harvest(p, cb, pr);
    if (pr->range)
        range_end(pr->range);
    put_stamp(p, pr->start);
    put_stamp(p, pr->end);
    for (int i = 0; i < pr->n; i++) {
        put_stamp(p, pr->d[i].start);
        put_stamp(p, pr->d[i].end);
    }
    free(pr->d);
    free(pr);
}

/* ---- queries ----------------------------------------------------------------------- */
static mlxn_status stat_at(const mlxn_device *dev, size_t i, int labels, mlxn__prof_stat *out)
{
    mlxn__profiler *p = dev ? dev->profiler : NULL;
    if (!p)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "profile: profiling is off on this device");
    pthread_mutex_lock(&p->lock);
    size_t n = (size_t)(labels ? p->n_labels : p->n_kernels);
    if (labels && !(p->flags & MLXN_PROFILE_COMMAND_BUFFERS))
        n = 0;
    if (i < n)
        *out = labels ? p->labels[i] : p->kernels[i];
    pthread_mutex_unlock(&p->lock);
    if (i >= n)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "profile: index %zu out of range (%zu)", i, n);
    return MLXN_OK;
}

size_t mlxn_profile_cb_count(const mlxn_device *dev)
{
    mlxn__profiler *p = dev ? dev->profiler : NULL;
    if (!p || !(p->flags & MLXN_PROFILE_COMMAND_BUFFERS))
        return 0;
    pthread_mutex_lock(&p->lock);
    size_t n = (size_t)p->n_labels;
    pthread_mutex_unlock(&p->lock);
    return n;
}

mlxn_status mlxn_profile_cb_at(const mlxn_device *dev, size_t i, mlxn_profile_cb_stats *out)
{
    mlxn__prof_stat s = {0};
    if (!out)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "profile_cb_at: NULL out");
    mlxn_status st = stat_at(dev, i, 1, &s);
    if (st != MLXN_OK)
        return st;
    out->label = s.name;
    out->count = s.count;
    out->total_us = s.total;
    out->min_us = s.min;
    out->max_us = s.max;
    return MLXN_OK;
}

size_t mlxn_profile_kernel_count(const mlxn_device *dev)
{
    mlxn__profiler *p = dev ? dev->profiler : NULL;
    if (!p)
        return 0;
    pthread_mutex_lock(&p->lock);
    size_t n = (size_t)p->n_kernels;
    pthread_mutex_unlock(&p->lock);
    return n;
}

mlxn_status mlxn_profile_kernel_at(const mlxn_device *dev, size_t i,
                                   mlxn_profile_kernel_stats *out)
{
    mlxn__prof_stat s = {0};
    if (!out)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "profile_kernel_at: NULL out");
    mlxn_status st = stat_at(dev, i, 0, &s);
    if (st != MLXN_OK)
        return st;
    out->kernel = s.name;
    out->count = s.count;
    out->total_us = s.total;
    out->min_us = s.min;
    out->max_us = s.max;
    return MLXN_OK;
}

size_t mlxn_profile_dispatch_count(const mlxn_device *dev)
{
    mlxn__profiler *p = dev ? dev->profiler : NULL;
    if (!p)
        return 0;
    pthread_mutex_lock(&p->lock);
    size_t n = p->n_records;
    pthread_mutex_unlock(&p->lock);
    return n;
}

mlxn_status mlxn_profile_dispatch_at(const mlxn_device *dev, size_t i,
                                     mlxn_profile_dispatch *out)
{
    mlxn__profiler *p = dev ? dev->profiler : NULL;
    if (!p || !out)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "profile_dispatch_at: profiling is off or out is NULL");
    pthread_mutex_lock(&p->lock);
    size_t n = p->n_records;
    if (i < n) {
        const mlxn__prof_record *r = &p->records[i];
        out->cb_label = p->labels[r->label].name;
        out->cb_seq = r->seq;
        out->index = r->index;
        out->kernel = r->kernel;
        out->kind = r->kind;
        out->gpu_us = r->us;
    }
    pthread_mutex_unlock(&p->lock);
    if (i >= n)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "profile_dispatch_at: index %zu out of range (%zu)", i, n);
    return MLXN_OK;
}

uint64_t mlxn_profile_dropped(const mlxn_device *dev)
{
    mlxn__profiler *p = dev ? dev->profiler : NULL;
    if (!p)
        return 0;
    pthread_mutex_lock(&p->lock);
    uint64_t n = p->dropped;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void mlxn_profile_reset(mlxn_device *dev)
{
    mlxn__profiler *p = dev ? dev->profiler : NULL;
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    clear_stats(p);
    pthread_mutex_unlock(&p->lock);
}

/* ---- capture windows ------------------------------------------------------------------ */
mlxn_status mlxn_profile_capture_start(mlxn_device *dev)
{
    if (!dev)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "profile_capture_start: NULL device");
    mlxn_status st = mlxn__device_check(dev);
    if (st != MLXN_OK || !dev->be->capture_start)
        return st;
    return dev->be->capture_start(dev);
}

mlxn_status mlxn_profile_capture_stop(mlxn_device *dev)
{
    if (!dev)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "profile_capture_stop: NULL device");
    mlxn_status st = mlxn__device_check(dev);
    if (st != MLXN_OK || !dev->be->capture_stop)
        return st;
    return dev->be->capture_stop(dev);
}
