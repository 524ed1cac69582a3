/*
 * session.c: graph sessions. A direct session's dispatches run as they are
 * encoded; a recorded session captures them, and its finish runs the
 * passes asked for (fusion, reorder), encodes the graph (optionally as a
 * dual command buffer) between timing marks, commits and waits. Direct
 * sessions count their concurrent groups at the session's barriers.
 */
#include "graph/executor.h"

#include <string.h>

static mlxn_status check(const mlxn_graph_session *s, const char *fn)
{
    if (!s)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "%s: NULL session", fn);
    if (!s->open)
        return mlxn__fail(s->ex->dev, MLXN_ERR_STATE, "%s: the session has ended", fn);
    return MLXN_OK;
}

static mlxn_status mark(mlxn_graph_executor *ex, int which)
{
    mlxn__cb *cb = ex->enc->cur;
    mlxn_status st = ex->dev->be->graph_timer_mark(cb, ex->timer, which);
    if (st == MLXN_OK)
        cb->n_commands++;
    return st;
}

static mlxn_status begin(mlxn_graph_executor *ex, int recorded, mlxn_graph_session **out)
{
    if (!ex || !out)
        return mlxn__fail(ex ? ex->dev : NULL, MLXN_ERR_INVALID_ARG,
                          "graph_executor_begin: NULL argument");
    *out = NULL;
    mlxn_graph_session *s = &ex->session;
    if (s->open)
        return mlxn__fail(ex->dev, MLXN_ERR_STATE,
                          "graph_executor_begin: a session is already open");
    mlxn_status st = mlxn__device_check(ex->dev);
    if (st != MLXN_OK)
        return st;
    memset(s, 0, sizeof *s);
    s->ex = ex;
    s->recorded = recorded;
    s->begin_us = mlxn__now_us();
    if (recorded) {
        st = mlxn_encoder_start_capture(ex->enc);
    } else {
        s->group_mark = ex->enc->cur->n_dispatches;
        if (ex->timing && (st = mark(ex, 0)) == MLXN_OK)
            s->timed = 1;
    }
    if (st != MLXN_OK)
        return st;
    s->open = 1;
    *out = s;
    return MLXN_OK;
}

mlxn_status mlxn_graph_executor_begin(mlxn_graph_executor *ex, mlxn_graph_session **out)
{
    return begin(ex, 0, out);
}

mlxn_status mlxn_graph_executor_begin_recorded(mlxn_graph_executor *ex,
                                               mlxn_graph_session **out)
{
    return begin(ex, 1, out);
}

mlxn_encoder *mlxn_graph_session_encoder(mlxn_graph_session *s)
{
    return s && s->open ? s->ex->enc : NULL;
}

int mlxn_graph_session_is_recorded(const mlxn_graph_session *s) { return s && s->recorded; }

/* ---- concurrent groups of direct sessions ---------------------------------------- */
static size_t open_group(const mlxn_graph_session *s)
{
    int now = s->ex->enc->cur->n_dispatches;
    return now > s->group_mark ? (size_t)(now - s->group_mark) : 0;
}

static void close_group(mlxn_graph_session *s)
{
    size_t n = open_group(s);
    if (n) {
        s->groups[(n < MLXN_GROUP_BINS ? n : MLXN_GROUP_BINS) - 1]++;
        s->dispatches += n;
    }
    s->group_mark = s->ex->enc->cur->n_dispatches;
}

mlxn_status mlxn_graph_session_barrier(mlxn_graph_session *s)
{
    mlxn_status st = check(s, "graph_session_barrier");
    if (st != MLXN_OK)
        return st;
    mlxn_encoder *enc = s->ex->enc;
    /* The encoder elides it when range inference already placed barriers. */
    int elided = enc->auto_barrier && !enc->tracker.unknown;
    st = mlxn_encoder_barrier(enc);
    if (st == MLXN_OK && !s->recorded && !elided) {
        close_group(s);
        s->barriers++;
    }
    return st;
}

mlxn_status mlxn_graph_session_barrier_between(mlxn_graph_session *s, const mlxn_range *reads,
                                               int n_reads, const mlxn_range *writes,
                                               int n_writes, int *emitted)
{
    int e = 0;
    mlxn_status st = check(s, "graph_session_barrier_between");
    if (st == MLXN_OK)
        st = mlxn_encoder_barrier_between(s->ex->enc, reads, n_reads, writes, n_writes, &e);
    if (st == MLXN_OK && e && !s->recorded) {
        close_group(s);
        s->barriers++;
    }
    if (emitted)
        *emitted = e;
    return st;
}

mlxn_status mlxn_graph_session_track_dispatch(mlxn_graph_session *s, const mlxn_range *reads,
                                              int n_reads, const mlxn_range *writes,
                                              int n_writes)
{
    mlxn_status st = check(s, "graph_session_track_dispatch");
    if (st != MLXN_OK)
        return st;
    return mlxn_encoder_track_dispatch(s->ex->enc, reads, n_reads, writes, n_writes);
}

void mlxn_graph_session_group_histogram(const mlxn_graph_session *s, uint64_t *bins, int n_bins)
{
    if (!bins || n_bins < 1)
        return;
    memset(bins, 0, (size_t)n_bins * sizeof *bins);
    if (!s || !s->open)
        return;
    if (s->recorded) {
        mlxn_graph_group_histogram(s->ex->enc->capture, MLXN_BARRIERS_RECORDED, bins, n_bins);
        return;
    }
    for (int k = 0; k < MLXN_GROUP_BINS; k++) {
        int b = k < n_bins ? k : n_bins - 1;
        bins[b] += s->groups[k];
    }
    size_t n = open_group(s);
    if (n)
        bins[(n < (size_t)n_bins ? n : (size_t)n_bins) - 1]++;
}

mlxn_status mlxn_graph_session_launch(mlxn_graph_session *s, mlxn_graph_exec *x)
{
    mlxn_status st = check(s, "graph_session_launch");
    if (st != MLXN_OK)
        return st;
    if (s->recorded)
        return mlxn__fail(s->ex->dev, MLXN_ERR_STATE,
                          "graph_session_launch: not in a recorded session");
    close_group(s);
    st = mlxn_encoder_launch_graph(s->ex->enc, x);
    if (st == MLXN_OK) {
        s->group_mark = s->ex->enc->cur->n_dispatches; /* not a concurrent group */
        s->ex->stats.launches++;
    }
    return st;
}

mlxn_status mlxn_graph_session_take_graph(mlxn_graph_session *s, mlxn_graph **out)
{
    mlxn_status st = check(s, "graph_session_take_graph");
    if (st != MLXN_OK)
        return st;
    if (!out)
        return mlxn__fail(s->ex->dev, MLXN_ERR_INVALID_ARG, "graph_session_take_graph: NULL out");
    if (!s->recorded)
        return mlxn__fail(s->ex->dev, MLXN_ERR_STATE,
                          "graph_session_take_graph: not a recorded session");
    st = mlxn_encoder_take_capture(s->ex->enc, out);
    s->open = 0;
    s->ex->stats.sessions++;
    return st;
}

/* ---- finishing --------------------------------------------------------------------- */

/* Passes and encoding of a recorded session's graph. */
static mlxn_status run_recorded(mlxn_graph_session *s, unsigned flags, mlxn_graph_report *r)
{
    mlxn_graph_executor *ex = s->ex;
    mlxn_graph *g = NULL;
    mlxn_status st = mlxn_encoder_take_capture(ex->enc, &g);
    if (st == MLXN_OK && (flags & MLXN_FINISH_FUSE))
        st = mlxn_graph_fuse(g, &r->fusions);
    if (st == MLXN_OK && (flags & MLXN_FINISH_REORDER)) {
        mlxn_reorder_result rr;
        st = mlxn_graph_reorder(g, &rr);
        r->reordered = rr.moved;
        r->reorder_skipped = rr.skipped;
    }
    if (st == MLXN_OK && (flags & MLXN_FINISH_TIME))
        st = mark(ex, 0);
    if (st == MLXN_OK)
        st = (flags & MLXN_FINISH_DUAL) ? mlxn_graph_encode_dual(g, ex->enc, MLXN_BARRIERS_RECORDED)
                                        : mlxn_graph_encode_sequential(g, ex->enc);
    if (g) {
        r->dispatches = mlxn_graph_dispatch_count(g);
        r->barriers = mlxn_graph_barrier_count(g);
        mlxn_graph_group_histogram(g, MLXN_BARRIERS_RECORDED, r->groups, MLXN_GROUP_BINS);
    }
    mlxn_graph_destroy(g);
    ex->stats.fusions += (uint64_t)r->fusions;
    ex->stats.reordered += r->reordered;
    return st;
}

mlxn_status mlxn_graph_session_finish_ex(mlxn_graph_session *s, unsigned flags,
                                         mlxn_graph_report *out)
{
    mlxn_status st = check(s, "graph_session_finish");
    if (st != MLXN_OK)
        return st;
    mlxn_graph_executor *ex = s->ex;
    mlxn_graph_report r;
    memset(&r, 0, sizeof r);
    r.host_us = r.gpu_us = -1;
    int timed = (flags & MLXN_FINISH_TIME) && !(flags & MLXN_FINISH_NO_WAIT);
    if (s->recorded) {
        st = run_recorded(s, timed ? flags : flags & ~(unsigned)MLXN_FINISH_TIME, &r);
        timed = timed && st == MLXN_OK;
    } else {
        close_group(s);
        memcpy(r.groups, s->groups, sizeof r.groups);
        r.dispatches = s->dispatches;
        r.barriers = s->barriers;
        timed = timed && s->timed;
    }
    if (st == MLXN_OK && timed)
        st = mark(ex, 1);
    /* Whatever was encoded is committed, so the executor is clean after a
     * failure too. */
    mlxn_status cs = mlxn_encoder_commit(ex->enc);
    if (st == MLXN_OK)
        st = cs;
    if (!(flags & MLXN_FINISH_NO_WAIT)) {
        mlxn_status ws = mlxn_encoder_wait(ex->enc);
        if (st == MLXN_OK)
            st = ws;
    }
    if (st == MLXN_OK && (flags & MLXN_FINISH_TIME) && !(flags & MLXN_FINISH_NO_WAIT)) {
        r.host_us = mlxn__now_us() - s->begin_us;
        if (timed)
            st = ex->dev->be->graph_timer_elapsed(ex->dev, ex->timer, &r.gpu_us);
    }
    s->open = 0;
    ex->stats.sessions++;
    if (out)
        *out = r;
    return st;
}

mlxn_status mlxn_graph_session_finish(mlxn_graph_session *s)
{
    return mlxn_graph_session_finish_ex(s, 0, NULL);
}

mlxn_status mlxn_graph_session_finish_with_timing(mlxn_graph_session *s, double *host_us,
                                                  double *gpu_us)
{
    mlxn_graph_report r;
    mlxn_status st = mlxn_graph_session_finish_ex(s, MLXN_FINISH_TIME, &r);
    if (host_us)
        *host_us = st == MLXN_OK ? r.host_us : -1;
    if (gpu_us)
        *gpu_us = st == MLXN_OK ? r.gpu_us : -1;
    return st;
}

mlxn_status mlxn_graph_session_finish_with_gpu_time(mlxn_graph_session *s, double *gpu_us)
{
    return mlxn_graph_session_finish_with_timing(s, NULL, gpu_us);
}

mlxn_status mlxn_graph_session_finish_with_fusion(mlxn_graph_session *s, mlxn_graph_report *out)
{
    return mlxn_graph_session_finish_ex(s, MLXN_FINISH_FUSE, out);
}

mlxn_status mlxn_graph_session_finish_with_fusion_and_reorder(mlxn_graph_session *s,
                                                              mlxn_graph_report *out)
{
    return mlxn_graph_session_finish_ex(s, MLXN_FINISH_FUSE | MLXN_FINISH_REORDER, out);
}

mlxn_status mlxn_graph_session_finish_optimized(mlxn_graph_session *s, mlxn_graph_report *out)
{
    return mlxn_graph_session_finish_ex(
        s, MLXN_FINISH_FUSE | MLXN_FINISH_REORDER | MLXN_FINISH_DUAL, out);
}

mlxn_status mlxn_graph_session_commit(mlxn_graph_session *s)
{
    return mlxn_graph_session_finish_ex(s, MLXN_FINISH_NO_WAIT, NULL);
}
