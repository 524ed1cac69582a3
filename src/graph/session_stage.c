/*
 * session_stage.c: encoder sessions, the seeds' EncoderSession. A session
 * owns an encoder and tracks stages: a drained latch, a pending-fence
 * flag, the session fence (created at the first fence_stage) with its
 * monotonic value, and the wait scoreboard (count and last value) that
 * makes the chaining observable. Commits in the drained state and resets
 * in the encoding state are no-ops; device errors are always returned.
 */
#include "graph/encoder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mlxn_session {
    mlxn_device *dev;
    mlxn_encoder *enc;
    mlxn_fence *fence;     /* NULL until the first fence_stage */
    uint64_t fence_value;  /* last value signalled by fence_stage */
    uint64_t wait_value;   /* last value waited for by reset_for_next_stage */
    uint64_t wait_count;   /* waits emitted by reset_for_next_stage */
    int drained;           /* committed; reset_for_next_stage opens the next stage */
    int fence_pending;     /* the last commit was fence_stage */
    char label[MLXN__LABEL_MAX];
};

mlxn_session_params mlxn_session_params_default(void)
{
    mlxn_session_params p;
    memset(&p, 0, sizeof p);
    return p;
}

mlxn_status mlxn_session_create(mlxn_device *dev, const mlxn_session_params *p,
                                mlxn_session **out)
{
    if (!dev || !out)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "session_create: NULL argument");
    *out = NULL;
    mlxn_session_params params = p ? *p : mlxn_session_params_default();
    mlxn_session *s = calloc(1, sizeof *s);
    if (!s)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "session_create: out of memory");
    mlxn_encoder_params ep = mlxn_encoder_params_default();
    ep.queue = params.queue;
    ep.auto_barrier = params.auto_barrier;
    mlxn_status st = mlxn_encoder_create(dev, &ep, &s->enc);
    if (st != MLXN_OK) {
        free(s);
        return st;
    }
    s->dev = dev;
    *out = s;
    return MLXN_OK;
}

void mlxn_session_destroy(mlxn_session *s)
{
    if (!s)
        return;
    mlxn_encoder_destroy(s->enc);
    mlxn_fence_destroy(s->fence);
    free(s);
}

mlxn_encoder *mlxn_session_encoder(mlxn_session *s) { return s ? s->enc : NULL; }

/* Give the open command buffer the stage label. */
static void apply_label(mlxn_session *s)
{
    snprintf(s->enc->cur->label, sizeof s->enc->cur->label, "%s", s->label);
}

mlxn_status mlxn_session_begin_stage(mlxn_session *s, const char *label)
{
    if (!s)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "session_begin_stage: NULL session");
    snprintf(s->label, sizeof s->label, "%s", label ? label : "");
    apply_label(s);
    return MLXN_OK;
}

/* Commit the open stage. The stage is drained once its buffer was
 * submitted, even when the commit also reports an earlier stage's error. */
static mlxn_status commit(mlxn_session *s, int fence_pending)
{
    if (s->label[0])
        apply_label(s);
    const mlxn__cb *open = s->enc->cur;
    mlxn_status st = mlxn_encoder_commit(s->enc);
    if (s->enc->cur != open || (st == MLXN_OK && !open->n_commands)) {
        s->drained = 1;
        s->fence_pending = fence_pending;
    }
    return st;
}

mlxn_status mlxn_session_commit_stage(mlxn_session *s)
{
    if (!s)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "session_commit_stage: NULL session");
    if (s->drained)
        return MLXN_OK;
    return commit(s, 0);
}

mlxn_status mlxn_session_wait(mlxn_session *s)
{
    if (!s)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "session_wait: NULL session");
    return mlxn_encoder_wait(s->enc);
}

mlxn_status mlxn_session_commit_and_wait(mlxn_session *s)
{
    if (!s)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "session_commit_and_wait: NULL session");
    if (!s->drained) {
        mlxn_status st = commit(s, 0);
        if (!s->drained)
            return st;
    }
    /* Wait even when drained: errors of earlier stages surface here. */
    return mlxn_encoder_wait(s->enc);
}

mlxn_status mlxn_session_fence_stage(mlxn_session *s, const char *label)
{
    if (!s)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "session_fence_stage: NULL session");
    if (s->drained)
        return MLXN_OK;
    if (label)
        snprintf(s->label, sizeof s->label, "%s", label);
    if (s->label[0])
        apply_label(s);
    mlxn_status st = MLXN_OK;
    if (!s->fence && (st = mlxn_fence_create(s->dev, 0, &s->fence)) != MLXN_OK)
        return st;
    uint64_t value = s->fence_value + 1;
    if ((st = mlxn_encoder_signal_fence(s->enc, s->fence, value)) != MLXN_OK)
        return st;
    /* The signal is encoded: the value belongs to this stage even if the
     * commit fails (it then leaves with the next commit). */
    s->fence_value = value;
    return commit(s, 1);
}

mlxn_status mlxn_session_reset_for_next_stage(mlxn_session *s)
{
    if (!s)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "session_reset_for_next_stage: NULL session");
    if (!s->drained)
        return MLXN_OK;
    s->label[0] = 0;
    apply_label(s);
    if (s->fence_pending) {
        mlxn_status st = mlxn_encoder_wait_fence(s->enc, s->fence, s->fence_value);
        if (st != MLXN_OK)
            return st;
        s->wait_count++;
        s->wait_value = s->fence_value;
    }
    s->drained = 0;
    s->fence_pending = 0;
    return MLXN_OK;
}

int mlxn_session_is_drained(const mlxn_session *s) { return s && s->drained; }
int mlxn_session_is_fence_pending(const mlxn_session *s) { return s && s->fence_pending; }
uint64_t mlxn_session_fence_value(const mlxn_session *s) { return s ? s->fence_value : 0; }
int mlxn_session_has_event(const mlxn_session *s) { return s && s->fence != NULL; }
uint64_t mlxn_session_wait_value(const mlxn_session *s) { return s ? s->wait_value : 0; }
uint64_t mlxn_session_wait_count(const mlxn_session *s) { return s ? s->wait_count : 0; }
mlxn_fence *mlxn_session_fence(mlxn_session *s) { return s ? s->fence : NULL; }
