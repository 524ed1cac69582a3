/*
 * cpu_queue.c: CPU command buffers and queues. A command buffer is a list
 * of commands recorded at encode time; commit hands it to the queue's
 * worker thread, which runs buffers in submission order. A failing kernel
 * ends its buffer with MLXN_ERR_GPU and makes the device unusable, as a
 * GPU fault does.
 */
#include "backend/cpu/cpu_backend.h"

#include <stdlib.h>
#include <string.h>

static mlxn__cpu_queue *queue_of(mlxn__cb *cb)
{
    return cb->queue->backend_state;
}

static mlxn_status run_cmd(mlxn_device *dev, mlxn__cpu_cb *c, mlxn__cpu_cmd *cmd)
{
    if (cmd->type == MLXN__CPU_CMD_HOOK)
        return cmd->hook(cmd->hook_a, cmd->hook_b, cmd->hook_v);
    if (cmd->type == MLXN__CPU_CMD_UPDATE) {
        memcpy(cmd->hook_a, c->arena + cmd->arg_off[0], (size_t)cmd->hook_v);
        return MLXN_OK;
    }
    mlxn__cpu_device *cd = dev->backend_state;
    mlxn__cpu_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.grid = cmd->grid;
    ctx.block = cmd->block;
    ctx.shared_bytes = cmd->shared_bytes;
    ctx.pool = cd->pool;
    void *argv[MLXN_MAX_ARGS];
    for (int i = 0; i < cmd->n_args; i++)
        argv[i] = c->arena + cmd->arg_off[i];
    cmd->fn(&ctx, argv);
    if (!ctx.failed)
        return MLXN_OK;
    mlxn__fail(dev, MLXN_ERR_GPU, "kernel %s (command buffer '%s'): %s",
               cmd->name, c->owner->label, ctx.error);
    mlxn__device_set_sticky(dev, MLXN_ERR_GPU);
    mlxn__cpu_fence_wake(dev);
    return MLXN_ERR_GPU;
}

static void run_buffer(mlxn_device *dev, mlxn__cpu_cb *c)
{
    mlxn_status st = mlxn__device_check(dev);
    for (int i = 0; st == MLXN_OK && i < c->n_cmds; i++)
        st = run_cmd(dev, c, &c->cmds[i]);
    c->status = st;
}

static void *worker_main(void *arg)
{
    mlxn__cpu_queue *q = arg;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->stop && !q->head)
            pthread_cond_wait(&q->cond, &q->lock);
        if (!q->head)
            break; /* stop requested and nothing left */
        mlxn__cpu_cb *c = q->head;
        q->head = c->next_submitted;
        if (!q->head)
            q->tail = NULL;
        q->busy = 1;
        pthread_mutex_unlock(&q->lock);
        run_buffer(q->dev, c);
        pthread_mutex_lock(&q->lock);
        c->done = 1;
        q->busy = 0;
        pthread_cond_broadcast(&q->cond);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

mlxn_status mlxn__cpu_queue_open(mlxn_device *dev, mlxn_queue *queue)
{
    mlxn__cpu_queue *q = calloc(1, sizeof *q);
    if (!q)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "queue: out of memory");
    q->dev = dev;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    if (pthread_create(&q->thread, NULL, worker_main, q) != 0) {
        pthread_mutex_destroy(&q->lock);
        pthread_cond_destroy(&q->cond);
        free(q);
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "queue: cannot start a worker thread");
    }
    queue->backend_state = q;
    return MLXN_OK;
}

void mlxn__cpu_queue_close(mlxn_queue *queue)
{
    mlxn__cpu_queue *q = queue->backend_state;
    pthread_mutex_lock(&q->lock);
    q->stop = 1;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    pthread_join(q->thread, NULL);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    free(q);
}

mlxn_status mlxn__cpu_queue_sync(mlxn_queue *queue)
{
    mlxn__cpu_queue *q = queue->backend_state;
    pthread_mutex_lock(&q->lock);
    while (q->head || q->busy)
        pthread_cond_wait(&q->cond, &q->lock);
    pthread_mutex_unlock(&q->lock);
    return MLXN_OK;
}

mlxn_status mlxn__cpu_cb_init(mlxn__cb *cb)
{
    mlxn__cpu_cb *c = calloc(1, sizeof *c);
    if (!c)
        return mlxn__fail(cb->queue->dev, MLXN_ERR_OUT_OF_MEMORY, "command buffer: out of memory");
    c->owner = cb;
    cb->backend_state = c;
    return MLXN_OK;
}

void mlxn__cpu_cb_fini(mlxn__cb *cb)
{
    mlxn__cpu_cb *c = cb->backend_state;
    free(c->cmds);
    free(c->arena);
    free(c);
}

mlxn_status mlxn__cpu_cb_begin(mlxn__cb *cb)
{
    mlxn__cpu_cb *c = cb->backend_state;
    c->n_cmds = 0;
    c->arena_used = 0;
    c->done = 0;
    c->status = MLXN_OK;
    c->next_submitted = NULL;
    return MLXN_OK;
}

static mlxn__cpu_cmd *new_cmd(mlxn__cpu_cb *c)
{
    if (c->n_cmds == c->cap_cmds) {
        int cap = c->cap_cmds ? c->cap_cmds * 2 : 64;
        mlxn__cpu_cmd *p = realloc(c->cmds, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        c->cmds = p;
        c->cap_cmds = cap;
    }
    mlxn__cpu_cmd *cmd = &c->cmds[c->n_cmds];
    memset(cmd, 0, sizeof *cmd);
    return cmd;
}

/* Copy n bytes into the arena (16-byte aligned); returns the offset or -1. */
static int64_t arena_put(mlxn__cpu_cb *c, const void *src, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (c->arena_used + need > c->arena_cap) {
        size_t cap = c->arena_cap ? c->arena_cap : 4096;
        while (cap < c->arena_used + need)
            cap *= 2;
        uint8_t *p = realloc(c->arena, cap);
        if (!p)
            return -1;
        c->arena = p;
        c->arena_cap = cap;
    }
    int64_t off = (int64_t)c->arena_used;
    memcpy(c->arena + off, src, n);
    c->arena_used += need;
    return off;
}

mlxn_status mlxn__cpu_launch(mlxn__cb *cb, const mlxn__launch *l)
{
    mlxn__cpu_cb *c = cb->backend_state;
    size_t saved = c->arena_used;
    mlxn__cpu_cmd *cmd = new_cmd(c);
    if (!cmd)
        return mlxn__fail(cb->queue->dev, MLXN_ERR_OUT_OF_MEMORY, "launch: out of memory");
    cmd->type = MLXN__CPU_CMD_LAUNCH;
    cmd->fn = (mlxn__cpu_kernel_fn)l->fn;
    cmd->name = l->name;
    cmd->grid = l->grid;
    cmd->block = l->block;
    cmd->shared_bytes = l->shared_bytes;
    cmd->n_args = l->n_args;
    for (int i = 0; i < l->n_args; i++) {
        int64_t off = arena_put(c, l->argv[i], l->argsz[i]);
        if (off < 0) {
            c->arena_used = saved;
            return mlxn__fail(cb->queue->dev, MLXN_ERR_OUT_OF_MEMORY, "launch: out of memory");
        }
        cmd->arg_off[i] = (uint32_t)off;
    }
    c->n_cmds++;
    return MLXN_OK;
}

mlxn_status mlxn__cpu_cb_add_hook(mlxn__cb *cb,
                                  mlxn_status (*hook)(void *, void *, uint64_t),
                                  void *a, void *b, uint64_t v)
{
    mlxn__cpu_cb *c = cb->backend_state;
    mlxn__cpu_cmd *cmd = new_cmd(c);
    if (!cmd)
        return mlxn__fail(cb->queue->dev, MLXN_ERR_OUT_OF_MEMORY, "command buffer: out of memory");
    cmd->type = MLXN__CPU_CMD_HOOK;
    cmd->hook = hook;
    cmd->hook_a = a;
    cmd->hook_b = b;
    cmd->hook_v = v;
    c->n_cmds++;
    return MLXN_OK;
}

mlxn_status mlxn__cpu_update(mlxn__cb *cb, uint64_t addr, const void *data, size_t n)
{
    mlxn__cpu_cb *c = cb->backend_state;
    mlxn__cpu_cmd *cmd = new_cmd(c);
    int64_t off = cmd ? arena_put(c, data, n) : -1;
    if (off < 0)
        return mlxn__fail(cb->queue->dev, MLXN_ERR_OUT_OF_MEMORY, "update: out of memory");
    cmd->type = MLXN__CPU_CMD_UPDATE;
    cmd->hook_a = (void *)(uintptr_t)addr;
    cmd->hook_v = n;
    cmd->arg_off[0] = (uint32_t)off;
    c->n_cmds++;
    return MLXN_OK;
}

mlxn_status mlxn__cpu_cb_submit(mlxn__cb *cb)
{
    mlxn__cpu_queue *q = queue_of(cb);
    mlxn__cpu_cb *c = cb->backend_state;
    pthread_mutex_lock(&q->lock);
    c->next_submitted = NULL;
    if (q->tail)
        q->tail->next_submitted = c;
    else
        q->head = c;
    q->tail = c;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    return MLXN_OK;
}

mlxn_status mlxn__cpu_cb_wait(mlxn__cb *cb)
{
    mlxn__cpu_queue *q = queue_of(cb);
    mlxn__cpu_cb *c = cb->backend_state;
    pthread_mutex_lock(&q->lock);
    while (!c->done)
        pthread_cond_wait(&q->cond, &q->lock);
    pthread_mutex_unlock(&q->lock);
    return c->status;
}

int mlxn__cpu_cb_query(mlxn__cb *cb)
{
    mlxn__cpu_queue *q = queue_of(cb);
    mlxn__cpu_cb *c = cb->backend_state;
    pthread_mutex_lock(&q->lock);
    int done = c->done;
    pthread_mutex_unlock(&q->lock);
    if (!done)
        return 0;
    return c->status == MLXN_OK ? 1 : -(int)c->status;
}
