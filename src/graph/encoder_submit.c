/*
 * encoder_submit.c: commit, wait and completion reaping; capture start,
 * take and replay; and the seed-style stateful binding API.
 */
#include "graph/encoder.h"
#include "core/profile.h"

#include <stdio.h>
#include <string.h>

/* ---- commit and wait ------------------------------------------------------------ */
/* Recycle the oldest in-flight buffer, which completed with `status`. */
static void reap(mlxn_encoder *enc, mlxn_status status)
{
    mlxn__cb *cb = enc->inflight_head;
    enc->inflight_head = cb->next;
    if (!enc->inflight_head)
        enc->inflight_tail = NULL;
    cb->state = MLXN__CB_DONE;
    cb->status = status;
    mlxn__cb_recycle(cb);
}

mlxn_status mlxn__encoder_poll(mlxn_encoder *enc)
{
    while (enc->inflight_head) {
        int r = enc->dev->be->cb_query(enc->inflight_head);
        if (r == 0)
            return MLXN_OK;
        reap(enc, r < 0 ? (mlxn_status)-r : MLXN_OK);
        if (r < 0)
            return (mlxn_status)-r;
    }
    return MLXN_OK;
}

mlxn_status mlxn_encoder_commit(mlxn_encoder *enc)
{
    if (!enc)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "commit: NULL encoder");
    if (enc->capture)
        return mlxn__fail(enc->dev, MLXN_ERR_STATE,
                          "commit: the encoder is capturing (take the capture first)");
    mlxn_status st = mlxn__device_check(enc->dev);
    if (st != MLXN_OK)
        return st;
    mlxn__cb *cb = enc->cur;
    if (!cb->n_commands)
        return MLXN_OK;
    /* Open the next buffer first, so a failure leaves the current one
     * intact and uncommitted. */
    mlxn__cb *next;
    st = mlxn__cb_acquire(enc->queue, NULL, &next);
    if (st != MLXN_OK)
        return st;
    if (enc->dev->profiler)
        st = mlxn__profile_cb_submit(cb);
    if (st == MLXN_OK)
        st = enc->dev->be->cb_submit(cb);
    if (st != MLXN_OK) {
        mlxn__cb_recycle(next);
        return st;
    }
    if (enc->queue->residency)
        mlxn__residency_on_commit(enc->queue);
    cb->state = MLXN__CB_SUBMITTED;
    MLXN__COUNT(enc->dev, command_buffers, 1);
    if (enc->inflight_tail)
        enc->inflight_tail->next = cb;
    else
        enc->inflight_head = cb;
    enc->inflight_tail = cb;
    cb->next = NULL;
    enc->cur = next;
    enc->unwaited = 1;
    mlxn__tracker_reset(&enc->tracker);
    return mlxn__encoder_poll(enc);
}

mlxn_status mlxn_encoder_wait(mlxn_encoder *enc)
{
    if (!enc)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "wait: NULL encoder");
    mlxn_status first = MLXN_OK;
    char first_msg[MLXN__ERROR_MAX];
    /* One host wait per wait call that follows a commit, even when
     * polling already reaped everything: counts do not depend on timing. */
    if (enc->unwaited)
        MLXN__COUNT(enc->dev, syncs, 1);
    enc->unwaited = 0;
    while (enc->inflight_head) {
        mlxn_status st = enc->dev->be->cb_wait(enc->inflight_head);
        if (st != MLXN_OK && first == MLXN_OK) {
            first = st;
            snprintf(first_msg, sizeof first_msg, "%s", mlxn_last_error(enc->dev));
        }
        reap(enc, st);
    }
    /* Later buffers fail as a consequence: report the first cause. */
    if (first != MLXN_OK)
        return mlxn__fail(enc->dev, first, "%s", first_msg);
    return mlxn__device_check(enc->dev);
}

mlxn_status mlxn_encoder_commit_and_wait(mlxn_encoder *enc)
{
    mlxn_status st = mlxn_encoder_commit(enc);
    if (st != MLXN_OK)
        return st;
    return mlxn_encoder_wait(enc);
}

/* ---- ordered small writes ------------------------------------------------------ */
mlxn_status mlxn_encoder_update_buffer(mlxn_encoder *enc, mlxn_buffer *buf,
                                       size_t offset, const void *data, size_t n)
{
    if (!enc || !buf || !data)
        return mlxn__fail(enc ? enc->dev : NULL, MLXN_ERR_INVALID_ARG,
                          "update_buffer: NULL argument");
    if (enc->capture)
        return mlxn__fail(enc->dev, MLXN_ERR_STATE,
                          "update_buffer: not allowed while capturing");
    uint64_t addr = mlxn__buffer_addr(buf, 0) + offset;
    if (!n || n % 4 || n > MLXN_MAX_UPDATE_BYTES || addr % 4 || offset > buf->bytes ||
        n > buf->bytes - offset)
        return mlxn__fail(enc->dev, MLXN_ERR_INVALID_ARG,
                          "update_buffer: %zu bytes at offset %zu: need a multiple of 4 "
                          "up to %d, 4-aligned, inside the buffer",
                          n, offset, MLXN_MAX_UPDATE_BYTES);
    if (buf->alloc->dev != enc->dev)
        return mlxn__fail(enc->dev, MLXN_ERR_INVALID_ARG,
                          "update_buffer: buffer of another device");
    mlxn_status st = mlxn__device_check(enc->dev);
    if (st != MLXN_OK)
        return st;
    mlxn__cb *cb = enc->cur;
    if ((st = mlxn__profile_before_command(cb)) != MLXN_OK)
        return st;
    mlxn__alloc *prev = cb->n_retained ? cb->retained[cb->n_retained - 1] : NULL;
    if (buf->alloc != prev && (st = mlxn__cb_retain(cb, buf->alloc)) != MLXN_OK)
        return st;
    st = enc->dev->be->update(cb, addr, data, n);
    if (st == MLXN_OK)
        cb->n_commands++;
    return st;
}

/* ---- capture ----------------------------------------------------------------------- */
mlxn_status mlxn_encoder_start_capture(mlxn_encoder *enc)
{
    if (!enc)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "start_capture: NULL encoder");
    if (enc->capture)
        return mlxn__fail(enc->dev, MLXN_ERR_STATE, "start_capture: already capturing");
    mlxn_status st = mlxn__graph_create(enc->dev, &enc->capture);
    if (st != MLXN_OK)
        return st;
    mlxn__tracker_reset(&enc->tracker);
    return MLXN_OK;
}

int mlxn_encoder_is_capturing(const mlxn_encoder *enc)
{
    return enc && enc->capture != NULL;
}

mlxn_status mlxn_encoder_take_capture(mlxn_encoder *enc, mlxn_graph **out)
{
    if (!enc || !out)
        return mlxn__fail(enc ? enc->dev : NULL, MLXN_ERR_INVALID_ARG,
                          "take_capture: NULL argument");
    if (!enc->capture)
        return mlxn__fail(enc->dev, MLXN_ERR_STATE, "take_capture: not capturing");
    *out = enc->capture;
    enc->capture = NULL;
    mlxn__tracker_reset(&enc->tracker);
    return MLXN_OK;
}

mlxn_status mlxn_encoder_replay_node(mlxn_encoder *enc, const mlxn_graph *g,
                                     size_t index)
{
    if (!enc || !g || index >= g->n)
        return mlxn__fail(enc ? enc->dev : NULL, MLXN_ERR_INVALID_ARG,
                          "replay_node: bad graph or index");
    if (g->dev != enc->dev)
        return mlxn__fail(enc->dev, MLXN_ERR_INVALID_ARG,
                          "replay_node: graph of another device");
    return mlxn__encoder_encode_node(enc, &g->nodes[index]);
}

/* ---- stateful binding -------------------------------------------------------------- */
mlxn_status mlxn_encoder_set_kernel(mlxn_encoder *enc, mlxn_kernel *kernel)
{
    if (!enc || !kernel)
        return mlxn__fail(enc ? enc->dev : NULL, MLXN_ERR_INVALID_ARG,
                          "set_kernel: NULL argument");
    enc->bound_kernel = kernel;
    return MLXN_OK;
}

static mlxn_status bind(mlxn_encoder *enc, int slot, mlxn_arg a)
{
    if (slot < 0 || slot >= MLXN_MAX_ARGS)
        return mlxn__fail(enc->dev, MLXN_ERR_INVALID_ARG, "slot %d out of range 0..%d",
                          slot, MLXN_MAX_ARGS - 1);
    enc->bound[slot] = a;
    enc->bound_mask |= 1u << slot;
    return MLXN_OK;
}

mlxn_status mlxn_encoder_set_buffer(mlxn_encoder *enc, int slot, mlxn_buffer *buf)
{
    return mlxn_encoder_set_buffer_offset(enc, slot, buf, 0);
}

mlxn_status mlxn_encoder_set_buffer_offset(mlxn_encoder *enc, int slot,
                                           mlxn_buffer *buf, size_t offset)
{
    if (!enc || !buf)
        return mlxn__fail(enc ? enc->dev : NULL, MLXN_ERR_INVALID_ARG,
                          "set_buffer: NULL argument");
    return bind(enc, slot, mlxn_arg_buffer_at(buf, offset));
}

mlxn_status mlxn_encoder_set_bytes(mlxn_encoder *enc, int slot, const void *bytes,
                                   size_t size)
{
    if (!enc || !bytes || !size || size > MLXN_MAX_ARG_BYTES)
        return mlxn__fail(enc ? enc->dev : NULL, MLXN_ERR_INVALID_ARG,
                          "set_bytes: NULL argument or size not in 1..%d",
                          MLXN_MAX_ARG_BYTES);
    if (slot < 0 || slot >= MLXN_MAX_ARGS)
        return bind(enc, slot, mlxn_arg_bytes(bytes, size));
    memcpy(enc->bound_bytes[slot], bytes, size);
    return bind(enc, slot, mlxn_arg_bytes(enc->bound_bytes[slot], size));
}

mlxn_status mlxn_encoder_set_shared_bytes(mlxn_encoder *enc, uint32_t bytes)
{
    if (!enc)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "set_shared_bytes: NULL encoder");
    enc->bound_shared = bytes;
    return MLXN_OK;
}

static mlxn_status dispatch_bound(mlxn_encoder *enc, mlxn_dim3 grid, mlxn_dim3 block)
{
    int n_args = 0;
    while (n_args < MLXN_MAX_ARGS && (enc->bound_mask >> n_args))
        n_args++;
    mlxn_status st = MLXN_OK;
    if (enc->bound_mask != (n_args ? (uint32_t)((1ull << n_args) - 1) : 0u))
        st = mlxn__fail(enc->dev, MLXN_ERR_INVALID_ARG,
                        "dispatch: slots bound 0x%x leave a gap", enc->bound_mask);
    if (st == MLXN_OK) {
        mlxn_dispatch d;
        memset(&d, 0, sizeof d);
        d.kernel = enc->bound_kernel;
        d.args = enc->bound;
        d.n_args = n_args;
        d.grid = grid;
        d.block = block;
        d.shared_bytes = enc->bound_shared;
        st = mlxn_encoder_dispatch(enc, &d);
    }
    enc->bound_mask = 0;
    enc->bound_shared = 0;
    return st;
}

static uint32_t div_up(uint32_t a, uint32_t b) { return b ? (a + b - 1) / b : 0; }

mlxn_status mlxn_encoder_dispatch_threads(mlxn_encoder *enc, mlxn_dim3 threads,
                                          mlxn_dim3 block)
{
    if (!enc)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "dispatch_threads: NULL encoder");
    mlxn_dim3 grid = {div_up(threads.x, block.x), div_up(threads.y, block.y),
                      div_up(threads.z, block.z)};
    return dispatch_bound(enc, grid, block);
}

mlxn_status mlxn_encoder_dispatch_groups(mlxn_encoder *enc, mlxn_dim3 groups,
                                         mlxn_dim3 block)
{
    if (!enc)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "dispatch_groups: NULL encoder");
    return dispatch_bound(enc, groups, block);
}
