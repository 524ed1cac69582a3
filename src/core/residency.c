/*
 * residency.c: residency sets. Adds and removes are staged and applied
 * together at a flush: at the next commit on an attached queue or on an
 * explicit mlxn_residency_set_commit. Host memory (every buffer on the CPU
 * backend, host-visible buffers and raw host ranges on CUDA) gets
 * madvise(MADV_WILLNEED) and, on request, mlock. Device memory on CUDA
 * steers the L2: the set's hottest contiguous range becomes the attached
 * queues' persisting access-policy window (backend residency_window).
 */
#include "core/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { PENDING_ADD = 1, LIVE = 2, PENDING_REMOVE = 3 };

typedef struct entry {
    mlxn__alloc *alloc; /* buffers (retained); NULL for raw host ranges */
    uint64_t addr;      /* device address (device memory) or host address */
    void *host;         /* host address, NULL for device memory */
    size_t bytes;
    unsigned priority;
    int state;
    int locked; /* mlock succeeded */
} entry;

struct mlxn_residency_set {
    mlxn_device *dev;
    mlxn_residency_params params;
    pthread_mutex_t lock; /* guards everything below */
    entry *e;
    int n, cap;
    mlxn_queue **queues;
    int n_queues, cap_queues;
    int dirty;
    uint64_t flushes, hint_failures;
    mlxn_status hint_status; /* first failed hint since the last commit call */
    size_t locked_bytes;
    uint64_t window_addr;
    size_t window_bytes;
    float hit_ratio;
    int limit_set;
    size_t old_limit, granted, max_window;
};

mlxn_residency_params mlxn_residency_params_default(void)
{
    mlxn_residency_params p;
    memset(&p, 0, sizeof p);
    return p;
}

mlxn_status mlxn_residency_set_create(mlxn_device *dev, const mlxn_residency_params *p,
                                      mlxn_residency_set **out)
{
    if (!dev || !out)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "residency_set_create: NULL argument");
    *out = NULL;
    mlxn_residency_params params = p ? *p : mlxn_residency_params_default();
    if (params.flags & ~(unsigned)MLXN_RESIDENCY_LOCK_HOST)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "residency_set_create: unknown flags 0x%x",
                          params.flags);
    mlxn_status st = mlxn__device_check(dev);
    if (st != MLXN_OK)
        return st;
    mlxn_residency_set *set = calloc(1, sizeof *set);
    if (!set)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "residency_set_create: out of memory");
    set->dev = dev;
    set->params = params;
    if (dev->be->residency_limit) {
        mlxn_device_info info;
        st = mlxn_device_get_info(dev, &info);
        size_t want = params.persisting_l2_bytes;
        if (st == MLXN_OK && (!want || want > (size_t)info.max_persisting_l2))
            want = (size_t)info.max_persisting_l2;
        if (st == MLXN_OK)
            st = dev->be->residency_limit(dev, want, &set->old_limit, &set->granted,
                                          &set->max_window);
        if (st != MLXN_OK) {
            free(set);
            return st;
        }
        set->limit_set = 1;
    }
    pthread_mutex_init(&set->lock, NULL);
    *out = set;
    return MLXN_OK;
}

static void set_window(mlxn_residency_set *set, mlxn_queue *q, int on)
{
    if (!set->dev->be->residency_window)
        return;
    mlxn_status st = on ? set->dev->be->residency_window(q, set->window_addr, set->window_bytes,
                                                          set->hit_ratio)
                        : set->dev->be->residency_window(q, 0, 0, 0.0f);
    if (st != MLXN_OK) {
        set->hint_failures++;
        if (set->hint_status == MLXN_OK)
            set->hint_status = st;
    }
}

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

/* The whole pages covering [host, host + bytes). */
static void page_span(const entry *e, void **start, size_t *len)
{
    size_t ps = page_size();
    uintptr_t a = (uintptr_t)e->host & ~(uintptr_t)(ps - 1);
    uintptr_t b = ((uintptr_t)e->host + e->bytes + ps - 1) & ~(uintptr_t)(ps - 1);
    *start = (void *)a;
    *len = (size_t)(b - a);
}

static void hint_failed(mlxn_residency_set *set, const char *what, const entry *e)
{
    set->hint_failures++;
    if (set->hint_status == MLXN_OK)
        set->hint_status = mlxn__fail(set->dev, MLXN_ERR_UNSUPPORTED,
                                      "residency: %s of %zu bytes at %p failed: %s", what,
                                      e->bytes, e->host, strerror(errno));
}

static void lock_host(mlxn_residency_set *set, entry *e)
{
    void *start;
    size_t len;
    page_span(e, &start, &len);
    if (mlock(start, len) == 0) {
        if (!e->locked)
            set->locked_bytes += e->bytes;
        e->locked = 1;
    } else {
        hint_failed(set, "mlock", e);
    }
}

static void apply_host_add(mlxn_residency_set *set, entry *e)
{
    void *start;
    size_t len;
    page_span(e, &start, &len);
    if (madvise(start, len, MADV_WILLNEED) != 0)
        hint_failed(set, "madvise(MADV_WILLNEED)", e);
    if (set->params.flags & MLXN_RESIDENCY_LOCK_HOST)
        lock_host(set, e);
}

/* Choose the contiguous range of at most max_window bytes that covers the
 * most priority-weighted device bytes: O(n^2) over the sorted entries. */
static int by_addr(const void *a, const void *b)
{
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    return (x->addr > y->addr) - (x->addr < y->addr);
}

static void choose_window(mlxn_residency_set *set)
{
    set->window_addr = 0;
    set->window_bytes = 0;
    set->hit_ratio = 0;
    if (!set->max_window || !set->granted)
        return;
    entry **dv = malloc((size_t)(set->n + 1) * sizeof *dv);
    if (!dv)
        return;
    int n = 0;
    for (int i = 0; i < set->n; i++)
        if (set->e[i].state == LIVE && !set->e[i].host)
            dv[n++] = &set->e[i];
    qsort(dv, (size_t)n, sizeof *dv, by_addr);
    double best = 0;
    for (int i = 0; i < n; i++) {
        uint64_t lo = dv[i]->addr, cap = lo + set->max_window, hi = lo;
        double score = 0;
        for (int j = i; j < n && dv[j]->addr < cap; j++) {
            uint64_t s = dv[j]->addr > lo ? dv[j]->addr : lo;
            uint64_t e = dv[j]->addr + dv[j]->bytes;
            if (e > cap)
                e = cap;
            if (e <= s)
                continue;
            score += (double)(e - s) * (double)dv[j]->priority;
            if (e > hi)
                hi = e;
        }
        if (score > best) {
            best = score;
            set->window_addr = lo;
            set->window_bytes = (size_t)(hi - lo);
        }
    }
    free(dv);
    if (set->window_bytes)
        set->hit_ratio = set->granted >= set->window_bytes
                             ? 1.0f
                             : (float)((double)set->granted / (double)set->window_bytes);
}

static void drop_entry(mlxn_residency_set *set, int i)
{
    if (set->e[i].alloc)
        mlxn__alloc_release(set->e[i].alloc);
    set->e[i] = set->e[--set->n];
}

/* Apply staged changes; the set's lock is held. */
static void flush_locked(mlxn_residency_set *set)
{
    if (!set->dirty)
        return;
    int unlocked = 0;
    for (int i = set->n - 1; i >= 0; i--) {
        entry *e = &set->e[i];
        if (e->state != PENDING_REMOVE)
            continue;
        if (e->locked) {
            void *start;
            size_t len;
            page_span(e, &start, &len);
            munlock(start, len);
            set->locked_bytes -= e->bytes;
            unlocked = 1;
        }
        drop_entry(set, i);
    }
    for (int i = 0; i < set->n; i++) {
        entry *e = &set->e[i];
        if (e->state == PENDING_ADD && e->host)
            apply_host_add(set, e);
        else if (unlocked && e->locked)
            lock_host(set, e); /* pages shared with a removed range */
        e->state = LIVE;
    }
    uint64_t old_addr = set->window_addr;
    size_t old_bytes = set->window_bytes;
    choose_window(set);
    if (set->window_addr != old_addr || set->window_bytes != old_bytes)
        for (int q = 0; q < set->n_queues; q++)
            set_window(set, set->queues[q], 1);
    set->flushes++;
    set->dirty = 0;
}

void mlxn_residency_set_destroy(mlxn_residency_set *set)
{
    if (!set)
        return;
    pthread_mutex_lock(&set->lock);
    for (int q = 0; q < set->n_queues; q++) {
        set_window(set, set->queues[q], 0);
        set->queues[q]->residency = NULL;
    }
    for (int i = set->n - 1; i >= 0; i--) {
        entry *e = &set->e[i];
        if (e->locked) {
            void *start;
            size_t len;
            page_span(e, &start, &len);
            munlock(start, len);
        }
        drop_entry(set, i);
    }
    if (set->limit_set)
        set->dev->be->residency_limit(set->dev, set->old_limit, NULL, NULL, NULL);
    pthread_mutex_unlock(&set->lock);
    pthread_mutex_destroy(&set->lock);
    free(set->e);
    free(set->queues);
    free(set);
}

/* ---- staging ----------------------------------------------------------------------- */
static int find(const mlxn_residency_set *set, const mlxn__alloc *alloc, uint64_t addr,
                size_t bytes)
{
    for (int i = 0; i < set->n; i++)
        if (set->e[i].alloc == alloc && set->e[i].addr == addr && set->e[i].bytes == bytes)
            return i;
    return -1;
}

static mlxn_status stage_add(mlxn_residency_set *set, const entry *proto)
{
    pthread_mutex_lock(&set->lock);
    int i = find(set, proto->alloc, proto->addr, proto->bytes);
    if (i >= 0) {
        entry *e = &set->e[i];
        if (e->state == PENDING_REMOVE)
            e->state = LIVE;
        if (e->priority != proto->priority)
            set->dirty = 1;
        e->priority = proto->priority;
        pthread_mutex_unlock(&set->lock);
        return MLXN_OK;
    }
    if (set->n == set->cap) {
        int cap = set->cap ? set->cap * 2 : 16;
        entry *e = realloc(set->e, (size_t)cap * sizeof *e);
        if (!e) {
            pthread_mutex_unlock(&set->lock);
            return mlxn__fail(set->dev, MLXN_ERR_OUT_OF_MEMORY, "residency: out of memory");
        }
        set->e = e;
        set->cap = cap;
    }
    set->e[set->n++] = *proto;
    if (proto->alloc)
        mlxn__alloc_retain(proto->alloc);
    set->dirty = 1;
    pthread_mutex_unlock(&set->lock);
    return MLXN_OK;
}

static mlxn_status stage_remove(mlxn_residency_set *set, const mlxn__alloc *alloc, uint64_t addr,
                                size_t bytes)
{
    pthread_mutex_lock(&set->lock);
    int i = find(set, alloc, addr, bytes);
    if (i < 0) {
        pthread_mutex_unlock(&set->lock);
        return mlxn__fail(set->dev, MLXN_ERR_NOT_FOUND,
                          "residency: %zu bytes at 0x%llx are not in the set", bytes,
                          (unsigned long long)addr);
    }
    if (set->e[i].state == PENDING_ADD)
        drop_entry(set, i);
    else
        set->e[i].state = PENDING_REMOVE;
    set->dirty = 1;
    pthread_mutex_unlock(&set->lock);
    return MLXN_OK;
}

/* The entry for a whole view: host memory when the host can address it. */
static mlxn_status buffer_entry(mlxn_residency_set *set, mlxn_buffer *buf, entry *e)
{
    if (!buf)
        return mlxn__fail(set->dev, MLXN_ERR_INVALID_ARG, "residency: NULL buffer");
    if (buf->alloc->dev != set->dev)
        return mlxn__fail(set->dev, MLXN_ERR_INVALID_ARG, "residency: buffer of another device");
    memset(e, 0, sizeof *e);
    e->alloc = buf->alloc;
    e->addr = mlxn__buffer_addr(buf, 0);
    e->host = buf->alloc->mem.host ? (uint8_t *)buf->alloc->mem.host + buf->offset : NULL;
    e->bytes = buf->bytes ? buf->bytes : 1;
    e->state = PENDING_ADD;
    return MLXN_OK;
}

mlxn_status mlxn_residency_set_add(mlxn_residency_set *set, mlxn_buffer *buf, unsigned priority)
{
    if (!set)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "residency_set_add: NULL set");
    entry e;
    mlxn_status st = buffer_entry(set, buf, &e);
    if (st != MLXN_OK)
        return st;
    e.priority = priority ? priority : 1;
    return stage_add(set, &e);
}

mlxn_status mlxn_residency_set_add_host(mlxn_residency_set *set, const void *addr, size_t bytes,
                                        unsigned priority)
{
    if (!set || !addr || !bytes)
        return mlxn__fail(set ? set->dev : NULL, MLXN_ERR_INVALID_ARG,
                          "residency_set_add_host: NULL set or empty range");
    entry e;
    memset(&e, 0, sizeof e);
    e.addr = (uint64_t)(uintptr_t)addr;
    e.host = (void *)(uintptr_t)addr;
    e.bytes = bytes;
    e.priority = priority ? priority : 1;
    e.state = PENDING_ADD;
    return stage_add(set, &e);
}

mlxn_status mlxn_residency_set_remove(mlxn_residency_set *set, mlxn_buffer *buf)
{
    if (!set)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "residency_set_remove: NULL set");
    entry e;
    mlxn_status st = buffer_entry(set, buf, &e);
    if (st != MLXN_OK)
        return st;
    return stage_remove(set, e.alloc, e.addr, e.bytes);
}

mlxn_status mlxn_residency_set_remove_host(mlxn_residency_set *set, const void *addr,
                                           size_t bytes)
{
    if (!set || !addr || !bytes)
        return mlxn__fail(set ? set->dev : NULL, MLXN_ERR_INVALID_ARG,
                          "residency_set_remove_host: NULL set or empty range");
    return stage_remove(set, NULL, (uint64_t)(uintptr_t)addr, bytes);
}

/* ---- queues and flushes ------------------------------------------------------------- */
mlxn_status mlxn_residency_set_attach(mlxn_residency_set *set, mlxn_queue *queue)
{
    if (!set || !queue)
        return mlxn__fail(set ? set->dev : NULL, MLXN_ERR_INVALID_ARG,
                          "residency_set_attach: NULL argument");
    if (queue->dev != set->dev)
        return mlxn__fail(set->dev, MLXN_ERR_INVALID_ARG,
                          "residency_set_attach: queue of another device");
    if (queue->residency == set)
        return MLXN_OK;
    if (queue->residency)
        return mlxn__fail(set->dev, MLXN_ERR_STATE,
                          "residency_set_attach: the queue already has a residency set");
    pthread_mutex_lock(&set->lock);
    if (set->n_queues == set->cap_queues) {
        int cap = set->cap_queues ? set->cap_queues * 2 : 4;
        mlxn_queue **q = realloc(set->queues, (size_t)cap * sizeof *q);
        if (!q) {
            pthread_mutex_unlock(&set->lock);
            return mlxn__fail(set->dev, MLXN_ERR_OUT_OF_MEMORY, "residency: out of memory");
        }
        set->queues = q;
        set->cap_queues = cap;
    }
    set->queues[set->n_queues++] = queue;
    queue->residency = set;
    if (set->window_bytes)
        set_window(set, queue, 1);
    pthread_mutex_unlock(&set->lock);
    return MLXN_OK;
}

static void detach_locked(mlxn_residency_set *set, mlxn_queue *queue)
{
    for (int i = 0; i < set->n_queues; i++) {
        if (set->queues[i] != queue)
            continue;
        if (set->window_bytes)
            set_window(set, queue, 0);
        set->queues[i] = set->queues[--set->n_queues];
        queue->residency = NULL;
        return;
    }
}

mlxn_status mlxn_residency_set_detach(mlxn_residency_set *set, mlxn_queue *queue)
{
    if (!set || !queue)
        return mlxn__fail(set ? set->dev : NULL, MLXN_ERR_INVALID_ARG,
                          "residency_set_detach: NULL argument");
    if (queue->residency != set)
        return mlxn__fail(set->dev, MLXN_ERR_NOT_FOUND,
                          "residency_set_detach: the set is not attached to this queue");
    pthread_mutex_lock(&set->lock);
    detach_locked(set, queue);
    pthread_mutex_unlock(&set->lock);
    return MLXN_OK;
}

void mlxn__residency_queue_gone(mlxn_queue *q)
{
    mlxn_residency_set *set = q->residency;
    pthread_mutex_lock(&set->lock);
    detach_locked(set, q);
    pthread_mutex_unlock(&set->lock);
}

void mlxn__residency_on_commit(mlxn_queue *q)
{
    mlxn_residency_set *set = q->residency;
    pthread_mutex_lock(&set->lock);
    flush_locked(set);
    pthread_mutex_unlock(&set->lock);
}

mlxn_status mlxn_residency_set_commit(mlxn_residency_set *set)
{
    if (!set)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "residency_set_commit: NULL set");
    pthread_mutex_lock(&set->lock);
    flush_locked(set);
    mlxn_status st = set->hint_status;
    set->hint_status = MLXN_OK;
    pthread_mutex_unlock(&set->lock);
    return st;
}

void mlxn_residency_set_get_stats(const mlxn_residency_set *cset, mlxn_residency_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!cset)
        return;
    mlxn_residency_set *set = (mlxn_residency_set *)cset;
    pthread_mutex_lock(&set->lock);
    for (int i = 0; i < set->n; i++) {
        const entry *e = &set->e[i];
        if (e->state == PENDING_ADD) {
            out->pending_adds++;
            continue;
        }
        if (e->state == PENDING_REMOVE)
            out->pending_removes++;
        out->entries++;
        out->resident_bytes += e->bytes;
    }
    out->flushes = set->flushes;
    out->locked_bytes = set->locked_bytes;
    out->hint_failures = set->hint_failures;
    out->window_addr = set->window_addr;
    out->window_bytes = set->window_bytes;
    out->hit_ratio = set->hit_ratio;
    out->persisting_l2_bytes = set->granted;
    out->max_window_bytes = set->max_window;
    pthread_mutex_unlock(&set->lock);
}
