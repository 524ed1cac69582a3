/*
 * sample.c: the sampler ops (reset, accept, sample) and the state buffer's
 * size. The draw itself is described in mlxn_ops.h; the kernels and the
 * state layout in kernels/params/sample.h. The op picks the kernels from
 * the params (greedy: max + pick; temperature and min-p only: max + pick;
 * top-k or top-p: max + hist + compact + select + pick); nothing it encodes depends
 * on per-draw values.
 */
#include "ops/op_util.h"
#include "params/sample.h"

#include <math.h>
#include <string.h>

#define SAMPLE_THREADS 256
#define SELECT_THREADS 1024

mlxn_sample_params mlxn_sample_params_default(void)
{
    mlxn_sample_params p;
    p.temperature = 0.8f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    p.repeat_penalty = 1.0f;
    p.repeat_last_n = 64;
    p.seed = 0;
    return p;
}

/* NULL when the params are valid, else what is wrong. */
static const char *params_problem(const mlxn_sample_params *p)
{
    if (!p)
        return "params are NULL";
    if (!isfinite(p->temperature))
        return "temperature is not finite";
    if (p->top_k < 0)
        return "top_k < 0";
    if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        return "top_p outside (0, 1]";
    if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        return "min_p outside [0, 1]";
    if (!(p->repeat_penalty > 0.0f) || !isfinite(p->repeat_penalty))
        return "repeat_penalty must be positive and finite";
    if (p->repeat_last_n < 0 || p->repeat_last_n > (1 << 24))
        return "repeat_last_n outside [0, 2^24]";
    return NULL;
}

size_t mlxn_sampler_state_bytes(const mlxn_sample_params *p)
{
    if (params_problem(p))
        return 0;
    return MLXN_SAMPLE_OFF_RING + 4u * (size_t)p->repeat_last_n;
}

static mlxn_status check_state(mlxn_encoder *enc, const char *op,
                               const mlxn_sample_params *p, mlxn_buffer *state)
{
    mlxn_device *dev = mlxn_encoder_device(enc);
    const char *why = params_problem(p);
    if (why)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: %s", op, why);
    if (!state)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: state is NULL", op);
    size_t need = mlxn_sampler_state_bytes(p);
    if (mlxn_buffer_bytes(state) < need)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: state has %zu bytes, these params need %zu "
                          "(mlxn_sampler_state_bytes)",
                          op, mlxn_buffer_bytes(state), need);
    if (mlxn_buffer_offset(state) % 8)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "%s: state starts at byte offset %zu, not 8-aligned", op,
                          mlxn_buffer_offset(state));
    return MLXN_OK;
}

static mlxn_sample_kparams kparams_of(const mlxn_sample_params *p, uint32_t n_vocab)
{
    mlxn_sample_kparams k;
    memset(&k, 0, sizeof k);
    uint32_t blocks = (n_vocab + 1023) / 1024;
    if (blocks > MLXN_SAMPLE_MAX_BLOCKS)
        blocks = MLXN_SAMPLE_MAX_BLOCKS;
    if (blocks < 1)
        blocks = 1;
    k.n_vocab = n_vocab;
    k.chunk = (n_vocab + blocks - 1) / blocks;
    k.n_blocks = (n_vocab + k.chunk - 1) / k.chunk;
    k.ring_cap = (uint32_t)p->repeat_last_n;
    k.greedy = p->temperature <= 0.0f || p->top_k == 1;
    k.temperature = k.greedy ? 1.0f : p->temperature;
    k.repeat_penalty = p->repeat_penalty;
    k.top_p = p->top_p;
    k.min_p = p->min_p;
    k.top_k = (p->top_k > 0 && (uint32_t)p->top_k < n_vocab) ? (uint32_t)p->top_k : 0;
    k.seed = p->seed;
    return k;
}

mlxn_status mlxn_op_sample_reset(mlxn_encoder *enc, const mlxn_sample_params *p,
                                 mlxn_buffer *state)
{
    mlxn_status st;
    mlxn_kernel *k;
    if ((st = check_state(enc, "sample_reset", p, state)) != MLXN_OK ||
        (st = mlxn__op_kernel(enc, &k, "sample_reset")) != MLXN_OK)
        return st;
    mlxn_sample_kparams kp = kparams_of(p, 1);
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_SAMPLE);
    mlxn__op_buf(&l, state, 1, 1);
    mlxn__op_bytes(&l, &kp, sizeof kp);
    l.block.x = 32;
    return mlxn__op_encode(enc, &l);
}

mlxn_status mlxn_op_sample_accept(mlxn_encoder *enc, const mlxn_sample_params *p,
                                  mlxn_buffer *state, mlxn_buffer *tokens)
{
    const char *op = "sample_accept";
    mlxn_status st;
    mlxn_kernel *k;
    if ((st = check_state(enc, op, p, state)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "tokens", tokens, MLXN_DTYPE_I32, -1)) != MLXN_OK)
        return st;
    int64_t n = mlxn_buffer_elems(tokens);
    if (n > UINT32_MAX)
        return mlxn__fail(mlxn_encoder_device(enc), MLXN_ERR_INVALID_ARG,
                          "%s: %lld tokens is too many", op, (long long)n);
    if (n == 0 || p->repeat_last_n == 0)
        return MLXN_OK; /* nothing to remember */
    if ((st = mlxn__op_kernel(enc, &k, "sample_accept")) != MLXN_OK)
        return st;
    mlxn_sample_kparams kp = kparams_of(p, 1);
    kp.n_tokens = (uint32_t)n;
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_SAMPLE);
    mlxn__op_buf(&l, state, 1, 1);
    mlxn__op_buf(&l, tokens, 1, 0);
    mlxn__op_bytes(&l, &kp, sizeof kp);
    l.block.x = 32;
    return mlxn__op_encode(enc, &l);
}

/* Encode one sampler kernel over (logits, state[, out]). */
static mlxn_status encode_step(mlxn_encoder *enc, mlxn_kernel *k, mlxn_buffer *logits,
                               mlxn_buffer *state, mlxn_buffer *out,
                               const mlxn_sample_kparams *kp, uint32_t blocks,
                               uint32_t threads, uint32_t shared)
{
    mlxn__op_launch l;
    mlxn__op_begin(&l, k, MLXN_OP_SAMPLE);
    mlxn__op_buf(&l, logits, 1, 0);
    mlxn__op_buf(&l, state, 1, 1);
    if (out)
        mlxn__op_buf(&l, out, 0, 1);
    mlxn__op_bytes(&l, kp, sizeof *kp);
    l.grid.x = blocks;
    l.block.x = threads;
    l.shared_bytes = shared;
    return mlxn__op_encode(enc, &l);
}

mlxn_status mlxn_op_sample(mlxn_encoder *enc, mlxn_buffer *logits, const mlxn_sample_params *p,
                           mlxn_buffer *state, mlxn_buffer *out)
{
    const char *op = "sample";
    mlxn_device *dev = mlxn_encoder_device(enc);
    mlxn_status st;
    if ((st = check_state(enc, op, p, state)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "logits", logits, MLXN_DTYPE_F32, -1)) != MLXN_OK ||
        (st = mlxn__op_check_dtype(enc, op, "out", out, MLXN_DTYPE_I32, -1)) != MLXN_OK)
        return st;
    int64_t n = mlxn_buffer_elems(logits);
    if (n < 1 || n > MLXN_SAMPLE_MAX_VOCAB)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: logits have %lld entries, need 1..%u",
                          op, (long long)n, MLXN_SAMPLE_MAX_VOCAB);
    if (mlxn_buffer_elems(out) != 1)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "%s: out has %lld elements, need 1", op,
                          (long long)mlxn_buffer_elems(out));
    mlxn_sample_kparams kp = kparams_of(p, (uint32_t)n);
    int select = !kp.greedy && (kp.top_k || kp.top_p < 1.0f);
    /* Resolve every kernel first: a failure leaves nothing queued. */
    mlxn_kernel *kmax, *khist = NULL, *kcomp = NULL, *ksel = NULL, *kpick;
    if ((st = mlxn__op_kernel(enc, &kmax, "sample_max_f32")) != MLXN_OK ||
        (st = mlxn__op_kernel(enc, &kpick, "sample_pick_f32")) != MLXN_OK ||
        (select && ((st = mlxn__op_kernel(enc, &khist, "sample_hist_f32")) != MLXN_OK ||
                    (st = mlxn__op_kernel(enc, &kcomp, "sample_compact_f32")) != MLXN_OK ||
                    (st = mlxn__op_kernel(enc, &ksel, "sample_select_f32")) != MLXN_OK)))
        return st;
    if ((st = encode_step(enc, kmax, logits, state, NULL, &kp, kp.n_blocks, SAMPLE_THREADS,
                          0)) != MLXN_OK)
        return st;
    if (select &&
        ((st = encode_step(enc, khist, logits, state, NULL, &kp, kp.n_blocks, SAMPLE_THREADS,
                           0)) != MLXN_OK ||
         (st = encode_step(enc, kcomp, logits, state, NULL, &kp, kp.n_blocks, SAMPLE_THREADS,
                           0)) != MLXN_OK ||
         (st = encode_step(enc, ksel, logits, state, NULL, &kp, 1, SELECT_THREADS,
                           MLXN_SAMPLE_SEL_SHARED(kp.n_vocab))) != MLXN_OK))
        return st;
    return encode_step(enc, kpick, logits, state, out, &kp, kp.n_blocks, SAMPLE_THREADS, 0);
}
