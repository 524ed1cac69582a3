/*
 * cpu_pool.c: the CPU backend's worker threads for mlxn__cpu_parallel_for.
 * One job runs at a time; a kernel that finds the pool busy (another
 * queue's kernel is using it) runs its loop serially instead of waiting.
 */
#include "backend/cpu/cpu_backend.h"

#include <stdlib.h>

struct mlxn__cpu_pool {
    pthread_t *threads;
    int n_threads; /* helpers, not counting the caller */
    pthread_mutex_t busy; /* held by the running job's caller */
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    uint64_t generation;
    int stop;
    /* the current job */
    mlxn__cpu_range_fn fn;
    void *arg;
    int64_t n, chunk;
    atomic_int_fast64_t next; /* next chunk start */
    int running;              /* helpers still working on this job */
};

static void run_chunks(mlxn__cpu_pool *p)
{
    for (;;) {
        int64_t begin = atomic_fetch_add(&p->next, p->chunk);
        if (begin >= p->n)
            return;
        int64_t end = begin + p->chunk < p->n ? begin + p->chunk : p->n;
        p->fn(p->arg, begin, end);
    }
}

static void *helper_main(void *arg)
{
    mlxn__cpu_pool *p = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stop)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->lock);
        run_chunks(p);
        pthread_mutex_lock(&p->lock);
        if (--p->running == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

mlxn__cpu_pool *mlxn__cpu_pool_create(int n_threads)
{
    mlxn__cpu_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->busy, NULL);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    int helpers = n_threads > 1 ? n_threads - 1 : 0;
    p->threads = calloc((size_t)(helpers ? helpers : 1), sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return NULL;
    }
    for (int i = 0; i < helpers; i++) {
        if (pthread_create(&p->threads[i], NULL, helper_main, p) != 0)
            break;
        p->n_threads++;
    }
    return p;
}

void mlxn__cpu_pool_destroy(mlxn__cpu_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->busy);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p);
}

int mlxn__cpu_pool_threads(const mlxn__cpu_pool *p) { return p ? p->n_threads + 1 : 1; }

void mlxn__cpu_parallel_for(mlxn__cpu_ctx *ctx, int64_t n, int64_t grain,
                            mlxn__cpu_range_fn fn, void *arg)
{
    mlxn__cpu_pool *p = ctx->pool;
    if (n <= 0)
        return;
    if (grain < 1)
        grain = 1;
    if (!p || !p->n_threads || n <= grain || pthread_mutex_trylock(&p->busy) != 0) {
        fn(arg, 0, n);
        return;
    }
    int64_t workers = p->n_threads + 1;
    int64_t chunk = (n + workers * 4 - 1) / (workers * 4);
    if (chunk < grain)
        chunk = grain;
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->chunk = chunk;
    atomic_store(&p->next, 0);
    p->running = p->n_threads;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    run_chunks(p);
    pthread_mutex_lock(&p->lock);
    while (p->running)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&p->busy);
}
