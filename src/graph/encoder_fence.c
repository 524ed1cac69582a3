/*
 * encoder_fence.c: timeline-fence signals and waits encoded in queue
 * order. The command buffer retains the fence word, so the fence handle
 * may go while the operation is queued. Values of signals must rise; the
 * check and the issue happen under the fence's lock, so concurrent
 * encoders on several queues issue signals in value order.
 */
#include "core/fence.h"
#include "core/profile.h"
#include "graph/encoder.h"

static mlxn_status fence_op(mlxn_encoder *enc, mlxn_fence *fence, uint64_t value, int signal)
{
    const char *what = signal ? "signal_fence" : "wait_fence";
    if (!enc || !fence)
        return mlxn__fail(enc ? enc->dev : NULL, MLXN_ERR_INVALID_ARG, "%s: NULL argument",
                          what);
    mlxn__fence *f = &fence->f;
    if (f->dev != enc->dev)
        return mlxn__fail(enc->dev, MLXN_ERR_INVALID_ARG, "%s: fence of another device", what);
    if (enc->capture)
        return mlxn__fail(enc->dev, MLXN_ERR_STATE, "%s: not allowed while capturing", what);
    mlxn_status st = mlxn__device_check(enc->dev);
    if (st == MLXN_OK && !signal && value > mlxn__fence_load(f))
        st = mlxn__registry_load_all(enc->dev);
    if (st != MLXN_OK)
        return st;
    mlxn__cb *cb = enc->cur;
    pthread_mutex_lock(&f->lock);
    if (signal && value <= f->issued) {
        uint64_t issued = f->issued;
        pthread_mutex_unlock(&f->lock);
        return mlxn__fail(enc->dev, MLXN_ERR_INVALID_ARG,
                          "signal_fence: value %llu does not exceed %llu, the highest value "
                          "already signalled (fence values must rise)",
                          (unsigned long long)value, (unsigned long long)issued);
    }
    st = mlxn__profile_before_command(cb);
    mlxn__alloc *prev = cb->n_retained ? cb->retained[cb->n_retained - 1] : NULL;
    if (st == MLXN_OK && f->word != prev)
        st = mlxn__cb_retain(cb, f->word);
    if (st == MLXN_OK)
        st = signal ? enc->dev->be->fence_signal(cb, f, value)
                    : enc->dev->be->fence_wait(cb, f, value);
    if (st == MLXN_OK) {
        if (signal)
            f->issued = value;
        cb->n_commands++;
    }
    pthread_mutex_unlock(&f->lock);
    return st;
}

mlxn_status mlxn_encoder_signal_fence(mlxn_encoder *enc, mlxn_fence *fence, uint64_t value)
{
    return fence_op(enc, fence, value, 1);
}

mlxn_status mlxn_encoder_wait_fence(mlxn_encoder *enc, mlxn_fence *fence, uint64_t value)
{
    return fence_op(enc, fence, value, 0);
}
