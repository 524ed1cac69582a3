/*
 * llama_generate.c: generation with sampling on the device. The prompt is
 * evaluated in chunks; each decode step then runs the forward pass of one
 * token and samples on the device into the buffer the next step's
 * embedding reads, so only the sampled id crosses to the host. The decode
 * step is recorded once (capture mode), instantiated as an executable
 * graph with precise dependency edges (a CUDA graph on the GPU) and
 * replayed per token with the position written in queue order first.
 */
#include "model/llama.h"

#include <string.h>
#include <time.h>

mlxn_generate_params mlxn_generate_params_default(void)
{
    mlxn_generate_params g;
    memset(&g, 0, sizeof g);
    g.n_predict = 128;
    g.sample = mlxn_sample_params_default();
    return g;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void mlxn__decode_graph_free(mlxn_model *m)
{
    mlxn_graph_exec_destroy(m->decode_exec);
    m->decode_exec = NULL;
}

/* (Re)size the sampler state for these params and reset it in queue order. */
static mlxn_status prepare_sampler(mlxn_model *m, const mlxn_sample_params *sp)
{
    size_t need = mlxn_sampler_state_bytes(sp);
    if (!m->sampler_state || mlxn_buffer_bytes(m->sampler_state) < need) {
        int64_t shape[1] = {(int64_t)need};
        mlxn_status st = mlxn__model_buffer(m, MLXN_DTYPE_U8, 1, shape, &m->sampler_state);
        if (st != MLXN_OK)
            return st;
    }
    if (memcmp(&m->sampler_params, sp, sizeof *sp) != 0)
        mlxn__decode_graph_free(m);
    m->sampler_params = *sp;
    return mlxn_op_sample_reset(m->enc, sp, m->sampler_state);
}

/* Encode one decode step: forward of the token in ids[0] at m->pos, then
 * sampling into ids[0]. */
static mlxn_status encode_step(mlxn_model *m)
{
    mlxn_status st = mlxn__encode_forward(m, &m->one, NULL);
    if (st == MLXN_OK)
        st = mlxn_op_sample(m->enc, m->one.logits, &m->sampler_params, m->sampler_state,
                            m->one.ids);
    return st;
}

static mlxn_status record_step(mlxn_model *m)
{
    mlxn_status st = mlxn_encoder_start_capture(m->enc);
    if (st != MLXN_OK)
        return st;
    st = encode_step(m);
    mlxn_graph *g = NULL;
    mlxn_status st2 = mlxn_encoder_take_capture(m->enc, &g);
    if (st == MLXN_OK)
        st = st2;
    if (st == MLXN_OK) {
        /* Precise data-dependency edges, programmatic where dependent. */
        mlxn_graph_exec_params xp = mlxn_graph_exec_params_default();
        st = mlxn_graph_exec_create(g, &xp, &m->decode_exec);
    }
    mlxn_graph_destroy(g);
    return st;
}

/* The host-visible id slots and the step fence, made on first use. */
static mlxn_status prepare_pipeline(mlxn_model *m)
{
    if (m->step_fence)
        return MLXN_OK;
    mlxn_buffer_params bp = mlxn_buffer_params_default();
    bp.dtype = MLXN_DTYPE_I32;
    bp.shape[0] = 2;
    bp.flags = MLXN_BUFFER_HOST_VISIBLE;
    mlxn_buffer *ring;
    mlxn_status st = mlxn_buffer_create(m->dev, &bp, &ring);
    if (st == MLXN_OK)
        st = mlxn__model_own(m, ring);
    const int64_t one = 1;
    for (int i = 0; st == MLXN_OK && i < 2; i++)
        st = mlxn__model_view(m, ring, (size_t)i * 4, MLXN_DTYPE_I32, 1, &one, &m->id_slot[i]);
    if (st == MLXN_OK)
        st = mlxn_fence_create(m->dev, 0, &m->step_fence);
    m->step_seq = 0;
    return st;
}

/* Enqueue one decode step without waiting: the token in ids[0] at m->pos,
 * sampled into ids[0] and copied to an id slot; *done is the value the
 * step fence reaches when the id is there. */
static mlxn_status enqueue_step(mlxn_model *m, uint64_t *done)
{
    int32_t pos = m->pos;
    mlxn_status st = mlxn_encoder_update_buffer(m->enc, m->pos_buf, 0, &pos, 4);
    if (st != MLXN_OK)
        return st;
    if (m->params.decode_graph) {
        if (!m->decode_exec && (st = record_step(m)) != MLXN_OK)
            return st;
        st = mlxn_encoder_launch_graph(m->enc, m->decode_exec);
    } else {
        st = encode_step(m);
    }
    if (st == MLXN_OK)
        st = mlxn_op_copy(m->enc, m->one.ids, m->id_slot[m->step_seq % 2]);
    if (st == MLXN_OK)
        st = mlxn_encoder_signal_fence(m->enc, m->step_fence, m->step_seq + 1);
    if (st == MLXN_OK)
        st = mlxn_encoder_commit(m->enc);
    if (st != MLXN_OK)
        return st;
    *done = ++m->step_seq;
    m->pos++;
    return MLXN_OK;
}

/* Wait for the step that signals `done`; its sampled id. */
static mlxn_status finish_step(mlxn_model *m, uint64_t done, int32_t *token)
{
    mlxn_status st = mlxn_fence_wait(m->step_fence, done, MLXN_WAIT_FOREVER);
    if (st == MLXN_OK)
        *token = *(volatile const int32_t *)mlxn_buffer_contents(m->id_slot[(done - 1) % 2]);
    return st;
}

/* Decode steps run one ahead of the host: step i + 1 (the forward pass of
 * token i + 1, which the device already holds) is enqueued before the
 * host reads token i + 1 from step i, so the device does not idle while
 * the host reads an id and launches the next step. A step enqueued ahead
 * whose token turns out to end generation (end of sequence, the callback)
 * is not counted: the position goes back, its cache row is overwritten by
 * the next evaluation, and the sampler is reset by the next generate. */
mlxn_status mlxn_model_generate(mlxn_model *m, const int32_t *prompt, int n_prompt,
                                const mlxn_generate_params *gp, mlxn_generate_stats *stats)
{
    if (!m || !gp)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "generate: NULL argument");
    mlxn_generate_stats s;
    memset(&s, 0, sizeof s);
    if (n_prompt < 1)
        return mlxn__fail(m->dev, MLXN_ERR_INVALID_ARG, "generate: the prompt is empty");
    mlxn_status st = mlxn__check_tokens(m, prompt, n_prompt);
    if (st == MLXN_OK)
        st = prepare_sampler(m, &gp->sample);
    if (st != MLXN_OK)
        return st;
    double t0 = now_seconds();
    st = mlxn_model_eval(m, prompt, n_prompt, MLXN_LOGITS_LAST, NULL);
    int32_t token = -1;
    if (st == MLXN_OK)
        st = mlxn_op_sample(m->enc, m->one.logits, &m->sampler_params, m->sampler_state,
                            m->one.ids);
    if (st == MLXN_OK)
        st = mlxn_encoder_commit_and_wait(m->enc);
    if (st == MLXN_OK)
        st = mlxn_buffer_read(m->one.ids, 0, &token, 4);
    s.n_prompt = n_prompt;
    double t1 = now_seconds();
    s.prompt_seconds = t1 - t0;
    const int p0 = m->pos;
    int enqueued = 0, finished = 0;
    uint64_t done[2] = {0, 0};
    if (st == MLXN_OK)
        st = prepare_pipeline(m);
    for (int i = 0; st == MLXN_OK && i < gp->n_predict; i++) {
        if (!gp->ignore_eos && token == m->cfg.eos_id)
            break;
        s.n_generated++;
        if (gp->on_token && gp->on_token(token, gp->arg))
            break;
        if (i + 1 == gp->n_predict || p0 + i >= m->n_ctx)
            break;
        /* step i (enqueued ahead, except the first), then step i + 1 */
        if (enqueued == i && (st = enqueue_step(m, &done[i % 2])) == MLXN_OK)
            enqueued++;
        if (st == MLXN_OK && i + 2 < gp->n_predict && p0 + i + 1 < m->n_ctx &&
            (st = enqueue_step(m, &done[(i + 1) % 2])) == MLXN_OK)
            enqueued++;
        if (st == MLXN_OK && (st = finish_step(m, done[i % 2], &token)) == MLXN_OK)
            finished++;
    }
    if (enqueued > 0) {
        mlxn_status st2 = mlxn_encoder_wait(m->enc);
        if (st == MLXN_OK)
            st = st2;
        m->pos = p0 + finished;
    }
    s.decode_seconds = now_seconds() - t1;
    if (stats)
        *stats = s;
    return st;
}
