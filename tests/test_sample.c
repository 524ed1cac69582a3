/*
 * test_sample.c: the sampler beyond the op table: token frequencies over
 * many draws against the exact softmax probabilities of the allowed set (a
 * chi-square test), the same tokens on the device and on the CPU for a
 * 128256-entry vocabulary, a captured draw replayed step after step, greedy
 * against argmax, and rejected arguments leaving nothing queued.
 */
#define MLXN_TEST_MAIN
#include "test.h"

#define BATCH 500

/* Draw `n_draws` tokens from logits z (n) on dev; counts[tok]++. */
static int draw_counts(mlxn_device *dev, const float *z, int n, const mlxn_sample_params *p,
                       int n_draws, int *counts)
{
    mlxn_encoder *enc = NULL;
    mlxn_buffer *logits = NULL, *state = NULL, *out = NULL, *views[BATCH] = {0};
    int64_t sn[1] = {n}, sb[1] = {BATCH}, one[1] = {1};
    mlxn_buffer_params bp = mlxn_buffer_params_default();
    bp.bytes = mlxn_sampler_state_bytes(p);
    int ok = mlxn_encoder_create(dev, NULL, &enc) == MLXN_OK &&
             mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 1, sn, &logits) == MLXN_OK &&
             mlxn_buffer_create_tensor(dev, MLXN_DTYPE_I32, 1, sb, &out) == MLXN_OK &&
             mlxn_buffer_create(dev, &bp, &state) == MLXN_OK &&
             mlxn_buffer_write(logits, 0, z, (size_t)n * 4) == MLXN_OK;
    for (int j = 0; ok && j < BATCH; j++)
        ok = mlxn_buffer_view(out, (size_t)j * 4, MLXN_DTYPE_I32, 1, one, &views[j]) == MLXN_OK;
    int32_t toks[BATCH];
    for (int done = 0; ok && done < n_draws; done += BATCH) {
        for (int j = 0; ok && j < BATCH; j++)
            ok = mlxn_op_sample(enc, logits, p, state, views[j]) == MLXN_OK;
        ok = ok && mlxn_encoder_commit_and_wait(enc) == MLXN_OK &&
             mlxn_buffer_read(out, 0, toks, sizeof toks) == MLXN_OK;
        for (int j = 0; ok && j < BATCH && done + j < n_draws; j++) {
            if (toks[j] < 0 || toks[j] >= n)
                ok = 0;
            else
                counts[toks[j]]++;
        }
    }
    if (!ok)
        printf("    draw_counts: %s\n", mlxn_last_error(dev));
    for (int j = 0; j < BATCH; j++)
        mlxn_buffer_destroy(views[j]);
    mlxn_buffer_destroy(out);
    mlxn_buffer_destroy(state);
    mlxn_buffer_destroy(logits);
    mlxn_encoder_destroy(enc);
    return ok;
}

/* Exact probabilities of the documented draw, in float64: prob[i] = 0 for
 * tokens outside the allowed set. Returns the smallest distance of a
 * top-p / min-p boundary to its threshold (the test needs it clear). */
static double exact_probs(const float *z, int n, const mlxn_sample_params *p, double *prob)
{
    int order[64];
    double e[64], total = 0, margin = 1.0;
    for (int i = 0; i < n; i++) {
        e[i] = exp((double)z[i] / p->temperature);
        order[i] = i;
    }
    for (int a = 0; a < n; a++) /* by logit, descending (distinct logits) */
        for (int b = a + 1; b < n; b++)
            if (z[order[b]] > z[order[a]]) {
                int t = order[a];
                order[a] = order[b];
                order[b] = t;
            }
    int kept = p->top_k > 0 && p->top_k < n ? p->top_k : n;
    for (int r = 0; r < kept; r++)
        total += e[order[r]];
    if (p->top_p < 1.0f) {
        double cum = 0;
        for (int r = 0; r < kept; r++) {
            cum += e[order[r]];
            margin = fmin(margin, fabs(cum / total - p->top_p));
            if (cum / total >= p->top_p) {
                kept = r + 1;
                break;
            }
        }
    }
    double emax = e[order[0]], sum = 0;
    for (int i = 0; i < n; i++)
        prob[i] = 0;
    for (int r = 0; r < kept; r++) {
        int i = order[r];
        if (p->min_p > 0.0f) {
            margin = fmin(margin, fabs(e[i] / emax - p->min_p));
            if (e[i] / emax < p->min_p)
                continue;
        }
        prob[i] = e[i];
        sum += e[i];
    }
    for (int i = 0; i < n; i++)
        prob[i] /= sum;
    return margin;
}

/* Upper quantile of chi-square with df degrees at z standard deviations
 * (Wilson-Hilferty). */
static double chi2_crit(int df, double z)
{
    double a = 2.0 / (9.0 * df);
    return df * pow(1.0 - a + z * sqrt(a), 3.0);
}

TEST(sample_frequencies_match_softmax)
{
    mlxn_device *dev = test_device();
    static const float z[12] = {2.0f, -0.4f, 1.5f, 0.9f, 1.2f, 0.3f,
                                0.0f, 0.5f, -0.9f, -1.5f, -2.2f, -3.0f};
    struct {
        float temp;
        int top_k;
        float top_p, min_p;
    } cfg[] = {{1.0f, 0, 1.0f, 0.0f},
               {0.7f, 5, 1.0f, 0.0f},
               {1.0f, 0, 0.8f, 0.0f},
               {1.3f, 0, 1.0f, 0.15f},
               {1.0f, 8, 0.9f, 0.05f},
               {2.5f, 3, 0.35f, 0.0f}};
    const int n = 12, draws = 20000;
    for (unsigned k = 0; k < sizeof cfg / sizeof cfg[0]; k++) {
        mlxn_sample_params p = mlxn_sample_params_default();
        p.temperature = cfg[k].temp;
        p.top_k = cfg[k].top_k;
        p.top_p = cfg[k].top_p;
        p.min_p = cfg[k].min_p;
        p.seed = 77 + k;
        double prob[12];
        double margin = exact_probs(z, n, &p, prob);
        CHECK_MSG(margin > 1e-3, "config %u: a boundary is too close to call (%g)", k, margin);
        int counts[12] = {0};
        if (!draw_counts(dev, z, n, &p, draws, counts)) {
            CHECK_MSG(0, "config %u: drawing failed", k);
            continue;
        }
        double chi2 = 0;
        int df = -1;
        for (int i = 0; i < n; i++) {
            if (prob[i] == 0) {
                CHECK_MSG(counts[i] == 0, "config %u: token %d is not allowed but drawn %d times",
                          k, i, counts[i]);
                continue;
            }
            double expect = prob[i] * draws;
            chi2 += (counts[i] - expect) * (counts[i] - expect) / expect;
            df++;
        }
        if (df > 0) {
            double crit = chi2_crit(df, 4.75); /* p ~ 1e-6 */
            CHECK_MSG(chi2 < crit, "config %u: chi-square %.2f >= %.2f (df %d)", k, chi2, crit,
                      df);
        }
    }
}

/* n_steps draws with a penalty window, on dev; tokens into toks. */
static int draw_sequence(mlxn_device *dev, const float *z, int n, const mlxn_sample_params *p,
                         int steps, int32_t *toks)
{
    mlxn_encoder *enc = NULL;
    mlxn_buffer *logits = NULL, *state = NULL, *out = NULL;
    int64_t sn[1] = {n}, one[1] = {1};
    mlxn_buffer_params bp = mlxn_buffer_params_default();
    bp.bytes = mlxn_sampler_state_bytes(p);
    int ok = mlxn_encoder_create(dev, NULL, &enc) == MLXN_OK &&
             mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 1, sn, &logits) == MLXN_OK &&
             mlxn_buffer_create_tensor(dev, MLXN_DTYPE_I32, 1, one, &out) == MLXN_OK &&
             mlxn_buffer_create(dev, &bp, &state) == MLXN_OK &&
             mlxn_buffer_write(logits, 0, z, (size_t)n * 4) == MLXN_OK &&
             mlxn_op_sample_reset(enc, p, state) == MLXN_OK;
    for (int s = 0; ok && s < steps; s++)
        ok = mlxn_op_sample(enc, logits, p, state, out) == MLXN_OK &&
             mlxn_encoder_commit_and_wait(enc) == MLXN_OK &&
             mlxn_buffer_read(out, 0, &toks[s], 4) == MLXN_OK;
    if (!ok)
        printf("    draw_sequence: %s\n", mlxn_last_error(dev));
    mlxn_buffer_destroy(out);
    mlxn_buffer_destroy(state);
    mlxn_buffer_destroy(logits);
    mlxn_encoder_destroy(enc);
    return ok;
}

TEST(sample_same_tokens_on_cpu_and_device)
{
    mlxn_device *dev = test_device();
    const int n = 128256, steps = 24;
    float *z = malloc((size_t)n * sizeof *z);
    for (int i = 0; i < n; i++)
        z[i] = test_rand_f(0.0f, 1.0f) < 0.001f ? test_rand_f(4.0f, 9.0f) : test_rand_f(-6.0f, 3.0f);
    struct {
        float temp;
        int top_k;
        float top_p, min_p, rp;
    } cfg[] = {{0.8f, 40, 0.95f, 0.05f, 1.1f}, {1.5f, 0, 0.9f, 0.0f, 1.0f},
               {1.0f, 0, 1.0f, 0.0f, 1.3f},    {0.6f, 1000, 1.0f, 0.02f, 1.0f}};
    for (unsigned k = 0; k < sizeof cfg / sizeof cfg[0]; k++) {
        mlxn_sample_params p = mlxn_sample_params_default();
        p.temperature = cfg[k].temp;
        p.top_k = cfg[k].top_k;
        p.top_p = cfg[k].top_p;
        p.min_p = cfg[k].min_p;
        p.repeat_penalty = cfg[k].rp;
        p.seed = 0x5eed0000u + k;
        int32_t a[24], b[24];
        if (!draw_sequence(dev, z, n, &p, steps, a) || !draw_sequence(test_cpu(), z, n, &p, steps, b)) {
            CHECK_MSG(0, "config %u: drawing failed", k);
            continue;
        }
        int distinct = 0;
        for (int s = 0; s < steps; s++) {
            CHECK_MSG(a[s] == b[s], "config %u step %d: device %d, cpu %d", k, s, a[s], b[s]);
            distinct += s == 0 || a[s] != a[s - 1];
        }
        CHECK_MSG(distinct > 1, "config %u: the state does not advance", k);
    }
    free(z);
}

TEST(sample_captured_draw_replays_like_direct_mode)
{
    mlxn_device *dev = test_device();
    const int n = 5000, steps = 6;
    float *z = malloc((size_t)n * sizeof *z);
    for (int i = 0; i < n; i++)
        z[i] = test_rand_f(-4.0f, 4.0f);
    mlxn_sample_params p = mlxn_sample_params_default();
    p.repeat_penalty = 1.2f;
    p.seed = 99;
    int32_t direct[6], replayed[6];
    REQUIRE_OK(draw_sequence(dev, z, n, &p, steps, direct) ? MLXN_OK : MLXN_ERR_GPU);
    mlxn_encoder *enc = NULL;
    mlxn_buffer *logits = NULL, *state = NULL, *out = NULL;
    mlxn_graph *g = NULL;
    int64_t sn[1] = {n}, one[1] = {1};
    mlxn_buffer_params bp = mlxn_buffer_params_default();
    bp.bytes = mlxn_sampler_state_bytes(&p);
    REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
    REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 1, sn, &logits));
    REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_I32, 1, one, &out));
    REQUIRE_OK(mlxn_buffer_create(dev, &bp, &state));
    REQUIRE_OK(mlxn_buffer_write(logits, 0, z, (size_t)n * 4));
    REQUIRE_OK(mlxn_encoder_start_capture(enc));
    CHECK_OK(mlxn_op_sample(enc, logits, &p, state, out));
    REQUIRE_OK(mlxn_encoder_take_capture(enc, &g));
    CHECK(mlxn_graph_unannotated_count(g) == 0);
    for (int s = 0; s < steps; s++) {
        for (size_t i = 0; i < mlxn_graph_node_count(g); i++)
            CHECK_OK(mlxn_encoder_replay_node(enc, g, i));
        CHECK_OK(mlxn_encoder_commit_and_wait(enc));
        CHECK_OK(mlxn_buffer_read(out, 0, &replayed[s], 4));
        CHECK_MSG(replayed[s] == direct[s], "step %d: replayed %d, direct %d", s, replayed[s],
                  direct[s]);
    }
    mlxn_graph_destroy(g);
    mlxn_buffer_destroy(out);
    mlxn_buffer_destroy(state);
    mlxn_buffer_destroy(logits);
    mlxn_encoder_destroy(enc);
    free(z);
}

TEST(sample_greedy_equals_argmax)
{
    mlxn_device *dev = test_device();
    const int n = 128256;
    float *z = malloc((size_t)n * sizeof *z);
    for (int i = 0; i < n; i++)
        z[i] = floorf(test_rand_f(-50.0f, 50.0f)); /* ties at the top */
    mlxn_sample_params p = mlxn_sample_params_default();
    p.temperature = 0.0f;
    int32_t seq[4], arg = -1;
    REQUIRE_OK(draw_sequence(dev, z, n, &p, 4, seq) ? MLXN_OK : MLXN_ERR_GPU);
    mlxn_encoder *enc = NULL;
    mlxn_buffer *x = NULL, *out = NULL;
    int64_t sn[2] = {1, n}, one[1] = {1};
    REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
    REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 2, sn, &x));
    REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_I32, 1, one, &out));
    REQUIRE_OK(mlxn_buffer_write(x, 0, z, (size_t)n * 4));
    CHECK_OK(mlxn_op_argmax(enc, x, out));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    CHECK_OK(mlxn_buffer_read(out, 0, &arg, 4));
    int first = 0;
    for (int i = 1; i < n; i++)
        if (z[i] > z[first])
            first = i;
    CHECK(arg == first);
    for (int s = 0; s < 4; s++)
        CHECK_MSG(seq[s] == arg, "greedy step %d: %d, argmax %d", s, seq[s], arg);
    mlxn_buffer_destroy(out);
    mlxn_buffer_destroy(x);
    mlxn_encoder_destroy(enc);
    free(z);
}

TEST(sample_rejects_bad_arguments_without_effect)
{
    mlxn_device *dev = test_device();
    mlxn_encoder *enc = NULL;
    mlxn_buffer *logits = NULL, *ilogits = NULL, *state = NULL, *small = NULL, *out = NULL,
                *out2 = NULL;
    int64_t sn[1] = {100}, one[1] = {1}, two[1] = {2};
    mlxn_sample_params p = mlxn_sample_params_default();
    mlxn_buffer_params bp = mlxn_buffer_params_default();
    bp.bytes = mlxn_sampler_state_bytes(&p);
    REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
    REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 1, sn, &logits));
    REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_I32, 1, sn, &ilogits));
    REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_I32, 1, one, &out));
    REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_I32, 1, two, &out2));
    REQUIRE_OK(mlxn_buffer_create(dev, &bp, &state));
    bp.bytes -= 4;
    REQUIRE_OK(mlxn_buffer_create(dev, &bp, &small));
    CHECK(mlxn_op_sample(enc, logits, &p, small, out) == MLXN_ERR_INVALID_ARG);
    CHECK(strstr(mlxn_last_error(dev), "state") != NULL);
    CHECK(mlxn_op_sample(enc, ilogits, &p, state, out) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_op_sample(enc, logits, &p, state, out2) == MLXN_ERR_INVALID_ARG);
    mlxn_sample_params bad = p;
    bad.top_p = 0.0f;
    CHECK(mlxn_op_sample(enc, logits, &bad, state, out) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_sampler_state_bytes(&bad) == 0);
    bad = p;
    bad.repeat_last_n = -1;
    CHECK(mlxn_op_sample_reset(enc, &bad, state) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_op_sample_accept(enc, &p, state, logits) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_encoder_pending_dispatches(enc) == 0);
    mlxn_buffer_destroy(small);
    mlxn_buffer_destroy(state);
    mlxn_buffer_destroy(out2);
    mlxn_buffer_destroy(out);
    mlxn_buffer_destroy(ilogits);
    mlxn_buffer_destroy(logits);
    mlxn_encoder_destroy(enc);
}
