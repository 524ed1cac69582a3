/*
 * encoder.c: the command encoder. Dispatches (one-call or stateful form)
 * are validated and turned into a transient node; in direct mode the node
 * is launched into the open command buffer, in capture mode it is appended
 * to a graph. Barriers are explicit or inferred from read/write spans.
 * Commit hands the command buffer to its queue; wait reaps completed ones
 * and releases the allocations they kept alive.
 */
#include "graph/encoder.h"
#include "core/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mlxn_encoder_params mlxn_encoder_params_default(void)
{
    mlxn_encoder_params p;
    memset(&p, 0, sizeof p);
    return p;
}

mlxn_arg mlxn_arg_buffer(mlxn_buffer *buf)
{
    mlxn_arg a = {MLXN_ARG_BUFFER, buf, 0, NULL, 0};
    return a;
}

mlxn_arg mlxn_arg_buffer_at(mlxn_buffer *buf, size_t offset)
{
    mlxn_arg a = {MLXN_ARG_BUFFER, buf, offset, NULL, 0};
    return a;
}

mlxn_arg mlxn_arg_bytes(const void *bytes, size_t size)
{
    mlxn_arg a = {MLXN_ARG_BYTES, NULL, 0, bytes, size};
    return a;
}

mlxn_range mlxn_range_of(mlxn_buffer *buf)
{
    mlxn_range r = {buf, 0, 0};
    return r;
}

mlxn_status mlxn_encoder_create(mlxn_device *dev, const mlxn_encoder_params *p,
                                mlxn_encoder **out)
{
    if (!dev || !out)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "encoder_create: NULL argument");
    *out = NULL;
    mlxn_encoder_params params = p ? *p : mlxn_encoder_params_default();
    mlxn_queue *q = params.queue ? params.queue : dev->default_queue;
    if (q->dev != dev)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "encoder_create: the queue belongs to another device");
    mlxn_status st = mlxn__device_check(dev);
    if (st != MLXN_OK)
        return st;
    mlxn_encoder *enc = calloc(1, sizeof *enc);
    if (!enc)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "encoder_create: out of memory");
    enc->dev = dev;
    enc->queue = q;
    enc->auto_barrier = params.auto_barrier != 0;
    st = mlxn__cb_acquire(q, params.label, &enc->cur);
    if (st != MLXN_OK) {
        free(enc);
        return st;
    }
    *out = enc;
    return MLXN_OK;
}

void mlxn_encoder_destroy(mlxn_encoder *enc)
{
    if (!enc)
        return;
    if (enc->capture)
        mlxn_graph_destroy(enc->capture);
    enc->capture = NULL;
    mlxn_encoder_commit(enc);
    mlxn_encoder_wait(enc);
    /* The open buffer is empty (just committed), or a failed commit left
     * work in it that already ran on CUDA: wait for the queue first. */
    if (enc->cur->n_commands)
        enc->dev->be->queue_sync(enc->queue);
    mlxn__cb_recycle(enc->cur);
    mlxn__tracker_free(&enc->tracker);
    free(enc);
}

mlxn_device *mlxn_encoder_device(const mlxn_encoder *enc) { return enc->dev; }

int mlxn_encoder_pending_dispatches(const mlxn_encoder *enc)
{
    return enc->cur ? enc->cur->n_dispatches : 0;
}

/* ---- ranges -> spans ------------------------------------------------------------ */
mlxn_status mlxn__ranges_to_spans(mlxn_device *dev, const mlxn_range *r, int n,
                                  mlxn__span *out)
{
    if (n < 0 || n > MLXN_MAX_RANGES || (n && !r))
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "at most %d read and %d write ranges per dispatch",
                          MLXN_MAX_RANGES, MLXN_MAX_RANGES);
    for (int i = 0; i < n; i++) {
        const mlxn_buffer *b = r[i].buf;
        if (!b || r[i].offset > b->bytes ||
            r[i].bytes > b->bytes - r[i].offset)
            return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                              "range %d is NULL or outside its buffer", i);
        size_t len = r[i].bytes ? r[i].bytes : b->bytes - r[i].offset;
        out[i].start = mlxn__buffer_addr(b, r[i].offset);
        out[i].end = out[i].start + len;
    }
    return MLXN_OK;
}

/* ---- barriers --------------------------------------------------------------------- */
mlxn_status mlxn__encoder_emit_barrier(mlxn_encoder *enc, int automatic)
{
    mlxn__tracker_reset(&enc->tracker);
    if (enc->capture) {
        mlxn_graph *g = enc->capture;
        if (g->n && g->nodes[g->n - 1].type == MLXN_NODE_BARRIER)
            return MLXN_OK;
        mlxn__node b;
        memset(&b, 0, sizeof b);
        b.type = MLXN_NODE_BARRIER;
        return mlxn__graph_append(g, &b);
    }
    /* In direct mode a queue runs its work in order (one CUDA stream, one
     * CPU worker), so a barrier orders nothing further: it is counted. */
    MLXN__COUNT(enc->dev, barriers, 1);
    if (automatic)
        MLXN__COUNT(enc->dev, auto_barriers, 1);
    return MLXN_OK;
}

mlxn_status mlxn_encoder_barrier(mlxn_encoder *enc)
{
    if (!enc)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "barrier: NULL encoder");
    if (enc->auto_barrier && !enc->tracker.unknown) {
        /* Every dispatch since the last barrier was annotated, so range
         * inference already placed the barriers it needs. */
        if (!enc->capture)
            MLXN__COUNT(enc->dev, elided_barriers, 1);
        return MLXN_OK;
    }
    return mlxn__encoder_emit_barrier(enc, 0);
}

mlxn_status mlxn_encoder_barrier_between(mlxn_encoder *enc,
                                         const mlxn_range *reads, int n_reads,
                                         const mlxn_range *writes, int n_writes,
                                         int *emitted)
{
    if (emitted)
        *emitted = 0;
    if (!enc)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "barrier_between: NULL encoder");
    mlxn__span rs[MLXN_MAX_RANGES], ws[MLXN_MAX_RANGES];
    mlxn_status st = mlxn__ranges_to_spans(enc->dev, reads, n_reads, rs);
    if (st == MLXN_OK)
        st = mlxn__ranges_to_spans(enc->dev, writes, n_writes, ws);
    if (st != MLXN_OK)
        return st;
    if (!mlxn__tracker_conflicts(&enc->tracker, rs, n_reads, ws, n_writes)) {
        if (!enc->capture)
            MLXN__COUNT(enc->dev, elided_barriers, 1);
        return MLXN_OK;
    }
    if (emitted)
        *emitted = 1;
    return mlxn__encoder_emit_barrier(enc, 1);
}

mlxn_status mlxn_encoder_track_dispatch(mlxn_encoder *enc,
                                        const mlxn_range *reads, int n_reads,
                                        const mlxn_range *writes, int n_writes)
{
    if (!enc)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "track_dispatch: NULL encoder");
    mlxn__span rs[MLXN_MAX_RANGES], ws[MLXN_MAX_RANGES];
    mlxn_status st = mlxn__ranges_to_spans(enc->dev, reads, n_reads, rs);
    if (st == MLXN_OK)
        st = mlxn__ranges_to_spans(enc->dev, writes, n_writes, ws);
    if (st != MLXN_OK)
        return st;
    if (mlxn__tracker_add(&enc->tracker, rs, n_reads, ws, n_writes) != MLXN_OK)
        return mlxn__fail(enc->dev, MLXN_ERR_OUT_OF_MEMORY, "track_dispatch: out of memory");
    return MLXN_OK;
}

/* Barrier inference before a dispatch node when auto_barrier is on. */
static mlxn_status infer_barrier(mlxn_encoder *enc, const mlxn__node *n)
{
    mlxn__tracker *t = &enc->tracker;
    mlxn_status st = MLXN_OK;
    if (!n->n_reads && !n->n_writes) {
        /* Unknown accesses: order against everything, both ways. */
        if (t->unknown || t->n_reads || t->n_writes)
            st = mlxn__encoder_emit_barrier(enc, 1);
        t->unknown = 1;
        return st;
    }
    if (mlxn__tracker_conflicts(t, n->reads, n->n_reads, n->writes, n->n_writes))
        st = mlxn__encoder_emit_barrier(enc, 1);
    if (st == MLXN_OK &&
        mlxn__tracker_add(t, n->reads, n->n_reads, n->writes, n->n_writes) != MLXN_OK)
        st = mlxn__fail(enc->dev, MLXN_ERR_OUT_OF_MEMORY, "barrier inference: out of memory");
    return st;
}

/* ---- encoding a node ------------------------------------------------------------- */
static mlxn_status launch_node(mlxn_encoder *enc, const mlxn__node *n)
{
    mlxn__launch l;
    uint64_t addrs[MLXN_MAX_ARGS];
    mlxn__cb *cb = enc->cur;
    l.fn = n->kernel->fn;
    l.name = n->kernel->name;
    l.grid = n->grid;
    l.block = n->block;
    l.shared_bytes = n->shared_bytes;
    l.n_args = n->n_args;
    for (int i = 0; i < n->n_args; i++) {
        const mlxn__slot *s = &n->slots[i];
        if (s->kind == MLXN_ARG_BUFFER) {
            addrs[i] = s->alloc->mem.addr + s->offset;
            l.argv[i] = &addrs[i];
            l.argsz[i] = sizeof(uint64_t);
            mlxn__alloc *prev = cb->n_retained ? cb->retained[cb->n_retained - 1] : NULL;
            if (s->alloc != prev && mlxn__cb_retain(cb, s->alloc) != MLXN_OK)
                return MLXN_ERR_OUT_OF_MEMORY;
        } else {
            l.argv[i] = (void *)s->bytes;
            l.argsz[i] = s->size;
        }
    }
    mlxn_status st = enc->dev->profiler ? mlxn__profile_launch(cb, &l, n->kind)
                                        : enc->dev->be->launch(cb, &l);
    if (st != MLXN_OK)
        return st;
    cb->n_dispatches++;
    cb->n_commands++;
    MLXN__COUNT(enc->dev, dispatches, 1);
    atomic_fetch_add_explicit(&n->kernel->dispatches, 1, memory_order_relaxed);
    return MLXN_OK;
}

mlxn_status mlxn__encoder_encode_node(mlxn_encoder *enc, const mlxn__node *n)
{
    mlxn_status st = mlxn__device_check(enc->dev);
    if (st != MLXN_OK)
        return st;
    if (n->type == MLXN_NODE_BARRIER)
        return mlxn_encoder_barrier(enc);
    if (enc->auto_barrier && (st = infer_barrier(enc, n)) != MLXN_OK)
        return st;
    if (enc->capture)
        return mlxn__graph_append(enc->capture, n);
    return launch_node(enc, n);
}

/* ---- building a node from a dispatch ------------------------------------------- */
mlxn_status mlxn__node_from_dispatch(mlxn_device *dev, const mlxn_dispatch *d,
                                     mlxn__node *n)
{
    memset(n, 0, sizeof *n);
    n->type = MLXN_NODE_DISPATCH;
    if (!d->kernel || !d->kernel->fn)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "dispatch: no kernel (get it with mlxn_kernel_get)");
    const char *kname = d->kernel->name;
    if (d->n_args < 0 || d->n_args > MLXN_MAX_ARGS || (d->n_args && !d->args))
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: %d args (at most %d)",
                          kname, d->n_args, MLXN_MAX_ARGS);
    uint64_t threads = (uint64_t)d->block.x * d->block.y * d->block.z;
    if (!d->grid.x || !d->grid.y || !d->grid.z || !threads || threads > 1024)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: bad launch grid %ux%ux%u block %ux%ux%u", kname,
                          d->grid.x, d->grid.y, d->grid.z, d->block.x,
                          d->block.y, d->block.z);
    if ((unsigned)d->kind >= MLXN_OP_KIND_COUNT)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: bad op kind %d", kname,
                          (int)d->kind);
    n->kernel = d->kernel;
    n->n_args = d->n_args;
    n->grid = d->grid;
    n->block = d->block;
    n->shared_bytes = d->shared_bytes;
    n->kind = d->kind;
    for (int i = 0; i < d->n_args; i++) {
        const mlxn_arg *a = &d->args[i];
        mlxn__slot *s = &n->slots[i];
        s->kind = a->kind;
        if (a->kind == MLXN_ARG_BUFFER) {
            if (!a->buf || a->offset > a->buf->bytes)
                return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                                  "%s: slot %d: NULL buffer or offset %zu past its end",
                                  kname, i, a->offset);
            if (a->buf->alloc->dev != dev)
                return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                                  "%s: slot %d: buffer of another device", kname, i);
            s->alloc = a->buf->alloc;
            s->offset = a->buf->offset + a->offset;
            s->size = sizeof(uint64_t);
        } else if (a->kind == MLXN_ARG_BYTES) {
            if (!a->bytes || !a->size || a->size > MLXN_MAX_ARG_BYTES)
                return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                                  "%s: slot %d: inline bytes must be 1..%d bytes",
                                  kname, i, MLXN_MAX_ARG_BYTES);
            s->bytes = a->bytes;
            s->size = (uint32_t)a->size;
        } else {
            return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: slot %d: bad kind %d",
                              kname, i, (int)a->kind);
        }
    }
    mlxn_status st = mlxn__ranges_to_spans(dev, d->reads, d->n_reads, n->reads);
    if (st == MLXN_OK)
        st = mlxn__ranges_to_spans(dev, d->writes, d->n_writes, n->writes);
    n->n_reads = d->n_reads;
    n->n_writes = d->n_writes;
    return st;
}

/* Pending op kind and ranges apply to the next dispatch only. */
static void apply_pending(mlxn_encoder *enc, mlxn__node *n)
{
    if (enc->pending_kind_set && n->kind == MLXN_OP_OTHER)
        n->kind = enc->pending_kind;
    if (enc->pending_ranges_set && !n->n_reads && !n->n_writes) {
        n->n_reads = enc->pending_n_reads;
        n->n_writes = enc->pending_n_writes;
        memcpy(n->reads, enc->pending_reads, sizeof n->reads);
        memcpy(n->writes, enc->pending_writes, sizeof n->writes);
    }
    enc->pending_kind_set = 0;
    enc->pending_ranges_set = 0;
}

mlxn_status mlxn_encoder_dispatch(mlxn_encoder *enc, const mlxn_dispatch *d)
{
    if (!enc || !d)
        return mlxn__fail(enc ? enc->dev : NULL, MLXN_ERR_INVALID_ARG,
                          "dispatch: NULL argument");
    mlxn__node n;
    mlxn_status st = mlxn__node_from_dispatch(enc->dev, d, &n);
    if (st != MLXN_OK)
        return st;
    apply_pending(enc, &n);
    return mlxn__encoder_encode_node(enc, &n);
}

mlxn_status mlxn_encoder_set_op_kind(mlxn_encoder *enc, mlxn_op_kind kind)
{
    if (!enc || (unsigned)kind >= MLXN_OP_KIND_COUNT)
        return mlxn__fail(enc ? enc->dev : NULL, MLXN_ERR_INVALID_ARG,
                          "set_op_kind: bad argument");
    enc->pending_kind = kind;
    enc->pending_kind_set = 1;
    return MLXN_OK;
}

mlxn_status mlxn_encoder_set_pending_ranges(mlxn_encoder *enc,
                                            const mlxn_range *reads, int n_reads,
                                            const mlxn_range *writes, int n_writes)
{
    if (!enc)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "set_pending_ranges: NULL encoder");
    mlxn_status st = mlxn__ranges_to_spans(enc->dev, reads, n_reads, enc->pending_reads);
    if (st == MLXN_OK)
        st = mlxn__ranges_to_spans(enc->dev, writes, n_writes, enc->pending_writes);
    if (st != MLXN_OK)
        return st;
    enc->pending_n_reads = n_reads;
    enc->pending_n_writes = n_writes;
    enc->pending_ranges_set = 1;
    return MLXN_OK;
}

mlxn_status mlxn_encoder_annotate_last(mlxn_encoder *enc, const mlxn_range *reads,
                                       int n_reads, const mlxn_range *writes,
                                       int n_writes)
{
    if (!enc)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "annotate_last: NULL encoder");
    mlxn__span rs[MLXN_MAX_RANGES], ws[MLXN_MAX_RANGES];
    mlxn_status st = mlxn__ranges_to_spans(enc->dev, reads, n_reads, rs);
    if (st == MLXN_OK)
        st = mlxn__ranges_to_spans(enc->dev, writes, n_writes, ws);
    if (st != MLXN_OK || !enc->capture)
        return st;
    mlxn_graph *g = enc->capture;
    for (size_t i = g->n; i-- > 0;) {
        mlxn__node *n = &g->nodes[i];
        if (n->type != MLXN_NODE_DISPATCH)
            continue;
        if (!n->n_reads && !n->n_writes) {
            memcpy(n->reads, rs, (size_t)n_reads * sizeof *rs);
            memcpy(n->writes, ws, (size_t)n_writes * sizeof *ws);
            n->n_reads = n_reads;
            n->n_writes = n_writes;
        }
        break;
    }
    return MLXN_OK;
}

mlxn_status mlxn_encoder_set_label(mlxn_encoder *enc, const char *label)
{
    if (!enc)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "set_label: NULL encoder");
    snprintf(enc->cur->label, sizeof enc->cur->label, "%s", label ? label : "");
    return MLXN_OK;
}
