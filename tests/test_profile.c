/*
 * test_profile.c: residency-set bookkeeping (staging, flushes at commits,
 * host locks, the CUDA L2 window) and profiling (per command buffer, per
 * dispatch, per kernel; dumps as tables and JSON; nothing recorded when
 * profiling is off).
 */
#define MLXN_TEST_MAIN
#include "test.h"

#include "session_util.h"

/* ---- residency sets -------------------------------------------------------------------- */
TEST(residency_set_bookkeeping)
{
    mlxn_device *dev = test_device();
    mlxn_device_info info;
    REQUIRE_OK(mlxn_device_get_info(dev, &info));
    mlxn_residency_set *set = NULL;
    REQUIRE_OK(mlxn_residency_set_create(dev, NULL, &set));
    mlxn_encoder *enc = NULL;
    REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
    mlxn_queue *q = mlxn_device_default_queue(dev);
    REQUIRE_OK(mlxn_residency_set_attach(set, q));
    CHECK_OK(mlxn_residency_set_attach(set, q)); /* again: no-op */
    mlxn_buffer *kv = u32_buffer(dev, 1 << 16, 0), *w = u32_buffer(dev, 1 << 12, 0);
    size_t host_bytes = 64 * 1024;
    void *host = malloc(host_bytes);
    memset(host, 1, host_bytes);
    CHECK_OK(mlxn_residency_set_add(set, kv, 4));
    CHECK_OK(mlxn_residency_set_add(set, w, 1));
    CHECK_OK(mlxn_residency_set_add_host(set, host, host_bytes, 0));
    CHECK_OK(mlxn_residency_set_add(set, w, 1)); /* already staged */
    mlxn_residency_stats st;
    mlxn_residency_set_get_stats(set, &st);
    CHECK(st.pending_adds == 3 && st.entries == 0 && st.flushes == 0);
    /* The next commit on the attached queue flushes once. */
    CHECK_OK(inc(enc, w, w, 16));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    mlxn_residency_set_get_stats(set, &st);
    CHECK(st.pending_adds == 0 && st.entries == 3 && st.flushes == 1);
    CHECK(st.resident_bytes == (4u << 16) + (4u << 12) + host_bytes);
    if (mlxn_device_backend(dev) == MLXN_BACKEND_CUDA && info.max_persisting_l2 > 0) {
        CHECK(st.persisting_l2_bytes > 0 && st.max_window_bytes > 0);
        CHECK(st.window_bytes > 0 && st.window_bytes <= st.max_window_bytes);
        CHECK(st.window_bytes >= (4u << 16)); /* covers the hottest buffer */
        CHECK(st.hit_ratio > 0.0f && st.hit_ratio <= 1.0f);
    } else {
        CHECK(st.window_bytes == 0);
    }
    CHECK_OK(inc(enc, w, w, 16));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    mlxn_residency_set_get_stats(set, &st);
    CHECK(st.flushes == 1); /* nothing staged: no flush */
    /* Removals are staged too. */
    CHECK_OK(mlxn_residency_set_remove_host(set, host, host_bytes));
    CHECK(mlxn_residency_set_remove_host(set, host, 1) == MLXN_ERR_NOT_FOUND);
    mlxn_residency_set_get_stats(set, &st);
    CHECK(st.pending_removes == 1 && st.entries == 3);
    CHECK_OK(mlxn_residency_set_commit(set));
    mlxn_residency_set_get_stats(set, &st);
    CHECK(st.pending_removes == 0 && st.entries == 2 && st.flushes == 2);
    /* Removing a staged add cancels it without a flush of its own. */
    mlxn_buffer *tmp = u32_buffer(dev, 32, 0);
    CHECK_OK(mlxn_residency_set_add(set, tmp, 1));
    CHECK_OK(mlxn_residency_set_remove(set, tmp));
    mlxn_residency_set_get_stats(set, &st);
    CHECK(st.pending_adds == 0 && st.entries == 2);
    CHECK(mlxn_residency_set_remove(set, tmp) == MLXN_ERR_NOT_FOUND);
    /* The set keeps its buffers' memory: destroying the handle is safe. */
    mlxn_buffer_destroy(kv);
    CHECK_OK(mlxn_residency_set_detach(set, q));
    CHECK(mlxn_residency_set_detach(set, q) == MLXN_ERR_NOT_FOUND);
    mlxn_residency_set_destroy(set);
    mlxn_buffer_destroy(tmp);
    mlxn_buffer_destroy(w);
    free(host);
    mlxn_encoder_destroy(enc);
}

TEST(residency_set_locks_host_ranges)
{
    mlxn_device *dev = test_device();
    mlxn_residency_params p = mlxn_residency_params_default();
    p.flags = MLXN_RESIDENCY_LOCK_HOST;
    mlxn_residency_set *set = NULL;
    REQUIRE_OK(mlxn_residency_set_create(dev, &p, &set));
    size_t bytes = 16 * 1024;
    void *host = malloc(bytes);
    memset(host, 2, bytes);
    CHECK_OK(mlxn_residency_set_add_host(set, host, bytes, 1));
    mlxn_status st = mlxn_residency_set_commit(set);
    mlxn_residency_stats s;
    mlxn_residency_set_get_stats(set, &s);
    /* mlock may be refused (RLIMIT_MEMLOCK): then it is reported. */
    CHECK((st == MLXN_OK && s.locked_bytes == bytes && s.hint_failures == 0) ||
          (st == MLXN_ERR_UNSUPPORTED && s.locked_bytes == 0 && s.hint_failures > 0));
    CHECK_OK(mlxn_residency_set_remove_host(set, host, bytes));
    mlxn_residency_set_commit(set);
    mlxn_residency_set_get_stats(set, &s);
    CHECK(s.locked_bytes == 0 && s.entries == 0);
    mlxn_residency_set_destroy(set);
    free(host);
    CHECK(mlxn_residency_set_create(dev, &(mlxn_residency_params){.flags = 1u << 7}, &set) ==
          MLXN_ERR_INVALID_ARG);
}

/* ---- profiling --------------------------------------------------------------------------
 * A tiny JSON reader: checks the syntax and records every object key with
 * its nesting depth (members of the top object are at depth 1). */
typedef struct json_keys {
    char keys[64][32];
    int depth[64];
    int n;
} json_keys;

static const char *json_value(const char *p, int depth, json_keys *k);

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static const char *json_string(const char *p, char *out, size_t cap)
{
    size_t n = 0;
    if (*p++ != '"')
        return NULL;
    while (*p && *p != '"') {
        char c = *p++;
        if (c == '\\') {
            if (!*p)
                return NULL;
            c = *p++;
            if (c == 'u') {
                for (int i = 0; i < 4; i++)
                    if (!*p++)
                        return NULL;
                c = '?';
            }
        }
        if (out && n + 1 < cap)
            out[n++] = c;
    }
    if (out)
        out[n] = 0;
    return *p == '"' ? p + 1 : NULL;
}

static const char *json_value(const char *p, int depth, json_keys *k)
{
    p = json_ws(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        int object = *p == '{';
        p = json_ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (object) {
                char key[32];
                if (!(p = json_string(json_ws(p), key, sizeof key)))
                    return NULL;
                int seen = 0;
                for (int i = 0; i < k->n; i++)
                    seen |= k->depth[i] == depth + 1 && !strcmp(k->keys[i], key);
                if (!seen && k->n < 64) {
                    snprintf(k->keys[k->n], sizeof k->keys[0], "%s", key);
                    k->depth[k->n++] = depth + 1;
                }
                p = json_ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            if (!(p = json_value(p, depth + 1, k)))
                return NULL;
            p = json_ws(p);
            if (*p == close)
                return p + 1;
            if (*p++ != ',')
                return NULL;
        }
    }
    if (*p == '"')
        return json_string(p, NULL, 0);
    if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4))
        return p + 4;
    if (!strncmp(p, "false", 5))
        return p + 5;
    char *end;
    strtod(p, &end);
    return end == p ? NULL : end;
}

static int has_key(const json_keys *k, const char *key, int depth)
{
    for (int i = 0; i < k->n; i++)
        if (k->depth[i] == depth && !strcmp(k->keys[i], key))
            return 1;
    return 0;
}

TEST(profiling_times_and_dumps)
{
    mlxn_device_params dp = mlxn_device_params_default();
    dp.backend = test_backend();
    dp.profile = MLXN_PROFILE_COMMAND_BUFFERS | MLXN_PROFILE_DISPATCHES | MLXN_PROFILE_NVTX;
    mlxn_device *dev = NULL;
    if (mlxn_device_create(&dp, &dev) != MLXN_OK)
        SKIP("no device for this backend: %s", mlxn_last_error(NULL));
    mlxn_session *s = new_session(dev, NULL);
    mlxn_buffer *a = u32_buffer(dev, 1000, 1), *flag = u32_buffer(dev, 1, 0);
    double t0 = now_us();
    CHECK_OK(mlxn_session_begin_stage(s, "prof-stage"));
    mlxn_encoder *enc = mlxn_session_encoder(s);
    for (int i = 0; i < 3; i++) {
        CHECK_OK(delay_write(enc, flag, 200000, (uint32_t)i));
        CHECK_OK(inc(enc, a, a, 1000));
    }
    CHECK_OK(mlxn_session_commit_and_wait(s));
    double wall = now_us() - t0;
    CHECK(read_u32(a, 10) == 1u + 30u + 3u);

    size_t n_cb = mlxn_profile_cb_count(dev);
    double cb_us = -1;
    for (size_t i = 0; i < n_cb; i++) {
        mlxn_profile_cb_stats c;
        CHECK_OK(mlxn_profile_cb_at(dev, i, &c));
        if (!strcmp(c.label, "prof-stage")) {
            CHECK(c.count == 1 && c.min_us == c.total_us && c.max_us == c.total_us);
            cb_us = c.total_us;
        }
    }
    CHECK_MSG(cb_us > 0 && cb_us <= wall, "command buffer %.3f us, host wall %.3f us", cb_us,
              wall);
    size_t n_d = mlxn_profile_dispatch_count(dev);
    CHECK(n_d == 6);
    double sum = 0;
    for (size_t i = 0; i < n_d; i++) {
        mlxn_profile_dispatch d;
        CHECK_OK(mlxn_profile_dispatch_at(dev, i, &d));
        CHECK(!strcmp(d.cb_label, "prof-stage") && d.index == i && d.gpu_us > 0);
        CHECK(!strcmp(d.kernel, i % 2 ? "debug_inc_u32" : "debug_delay_write"));
        CHECK(d.kind == (i % 2 ? MLXN_OP_ELEM_ADD : MLXN_OP_OTHER));
        if (i % 2 == 0)
            CHECK_MSG(d.gpu_us >= 150, "a 200 us delay timed at %.3f us", d.gpu_us);
        sum += d.gpu_us;
    }
    CHECK_MSG(sum <= cb_us + 0.01, "dispatches sum to %.3f us, their buffer took %.3f us", sum,
              cb_us);
    int found = 0;
    for (size_t i = 0; i < mlxn_profile_kernel_count(dev); i++) {
        mlxn_profile_kernel_stats k;
        CHECK_OK(mlxn_profile_kernel_at(dev, i, &k));
        if (!strcmp(k.kernel, "debug_delay_write"))
            found = k.count == 3 && k.min_us <= k.max_us && k.total_us >= 3 * k.min_us;
    }
    CHECK(found);
    CHECK(mlxn_device_kernel_dispatches(dev, "debug_delay_write") == 3);
    CHECK(mlxn_profile_dropped(dev) == 0);

    /* JSON: valid, with the documented keys. */
    size_t need = 0;
    CHECK(mlxn_profile_dump_buffer(dev, MLXN_PROFILE_JSON, NULL, 0, &need) ==
          MLXN_ERR_INVALID_ARG);
    CHECK(need > 100);
    char *json = malloc(need);
    char small[16];
    CHECK(mlxn_profile_dump_buffer(dev, MLXN_PROFILE_JSON, small, sizeof small, NULL) ==
          MLXN_ERR_INVALID_ARG);
    CHECK_OK(mlxn_profile_dump_buffer(dev, MLXN_PROFILE_JSON, json, need, &need));
    CHECK(strlen(json) + 1 == need);
    json_keys k = {0};
    const char *end = json_value(json, 0, &k);
    CHECK_MSG(end && !*json_ws(end), "the JSON dump does not parse: %s", json);
    const char *top[] = {"device",     "backend",         "profile_flags", "command_buffers",
                         "kernels",    "dispatches",      "dispatch_counts",
                         "dropped_dispatches"};
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        CHECK_MSG(has_key(&k, top[i], 1), "JSON lacks key %s", top[i]);
    const char *inner[] = {"label", "count",    "total_us", "mean_us", "min_us", "max_us",
                           "kernel", "cb_label", "cb_seq",   "index",   "kind",   "gpu_us"};
    for (size_t i = 0; i < sizeof inner / sizeof inner[0]; i++)
        CHECK_MSG(has_key(&k, inner[i], 3), "JSON rows lack key %s", inner[i]);
    CHECK(strstr(json, "\"prof-stage\"") != NULL);
    free(json);

    char table[8192];
    CHECK_OK(mlxn_profile_dump_buffer(dev, MLXN_PROFILE_TABLE, table, sizeof table, NULL));
    CHECK(strstr(table, "| prof-stage | 1 |") && strstr(table, "| debug_delay_write | 3 |"));
    FILE *f = tmpfile();
    CHECK_OK(mlxn_profile_dump(dev, MLXN_PROFILE_TABLE, f));
    fclose(f);
    CHECK_OK(mlxn_profile_capture_start(dev));
    CHECK_OK(mlxn_profile_capture_stop(dev));
    mlxn_profile_reset(dev);
    CHECK(mlxn_profile_cb_count(dev) == 0 && mlxn_profile_dispatch_count(dev) == 0);
    mlxn_buffer_destroy(a);
    mlxn_buffer_destroy(flag);
    mlxn_session_destroy(s);
    mlxn_device_destroy(dev);
}

TEST(profiling_off_records_nothing)
{
    mlxn_device *dev = test_device();
    mlxn_encoder *enc = NULL;
    REQUIRE_OK(mlxn_encoder_create(dev, NULL, &enc));
    mlxn_buffer *a = u32_buffer(dev, 8, 0);
    CHECK_OK(inc(enc, a, a, 8));
    CHECK_OK(mlxn_encoder_commit_and_wait(enc));
    CHECK(mlxn_profile_cb_count(dev) == 0 && mlxn_profile_dispatch_count(dev) == 0);
    mlxn_profile_cb_stats c;
    CHECK(mlxn_profile_cb_at(dev, 0, &c) == MLXN_ERR_INVALID_ARG);
    char buf[4096];
    CHECK_OK(mlxn_profile_dump_buffer(dev, MLXN_PROFILE_JSON, buf, sizeof buf, NULL));
    json_keys k = {0};
    CHECK(json_value(buf, 0, &k) != NULL && has_key(&k, "dispatch_counts", 1));
    CHECK(strstr(buf, "\"debug_inc_u32\"") != NULL);
    mlxn_buffer_destroy(a);
    mlxn_encoder_destroy(enc);
}
