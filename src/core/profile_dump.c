/*
 * profile_dump.c: the profile as markdown tables (sorted by total time)
 * or as one JSON object, written to a FILE* or into a caller's buffer.
 * The per-kernel dispatch counters are included whether or not profiling
 * is on. The JSON layout is documented in docs/sessions.md.
 */
#include "core/profile.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Output goes to a FILE*, or is counted / written into a buffer. */
typedef struct sink {
    FILE *f;
    char *buf; /* NULL: count only */
    size_t len;
    int failed;
} sink;

__attribute__((format(printf, 2, 3))) static void put(sink *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (s->f) {
        if (vfprintf(s->f, fmt, ap) < 0)
            s->failed = 1;
    } else {
        /* The buffer was sized by a counting pass: the text fits. */
        int n = s->buf ? vsprintf(s->buf + s->len, fmt, ap) : vsnprintf(NULL, 0, fmt, ap);
        if (n < 0)
            s->failed = 1;
        else
            s->len += (size_t)n;
    }
    va_end(ap);
}

/* A JSON string literal. */
static void put_json_string(sink *s, const char *str)
{
    put(s, "\"");
    for (const unsigned char *c = (const unsigned char *)str; *c; c++) {
        if (*c == '"' || *c == '\\')
            put(s, "\\%c", *c);
        else if (*c < 0x20)
            put(s, "\\u%04x", *c);
        else
            put(s, "%c", *c);
    }
    put(s, "\"");
}

/* A label in a markdown cell: '|' would end the cell. */
static void put_cell(sink *s, const char *str)
{
    if (!str[0]) {
        put(s, "(unlabelled)");
        return;
    }
    for (const char *c = str; *c; c++) {
        if (*c == '|')
            put(s, "\\|");
        else
            put(s, "%c", *c);
    }
}

typedef struct dump_ctx {
    const mlxn_device *dev;
    const mlxn__profiler *p; /* NULL when profiling is off */
    int *cb_order, *k_order, *count_order;
    int n_cb, n_k, n_counts;
} dump_ctx;

static int by_total_desc(const void *a, const void *b, void *arg)
{
    const mlxn__prof_stat *st = arg;
    double x = st[*(const int *)a].total, y = st[*(const int *)b].total;
    return (x < y) - (x > y);
}

static int by_dispatches_desc(const void *a, const void *b, void *arg)
{
    const mlxn_kernel *k = arg;
    uint64_t x = atomic_load(&k[*(const int *)a].dispatches);
    uint64_t y = atomic_load(&k[*(const int *)b].dispatches);
    return (x < y) - (x > y);
}

/* Orders of rows to print; stats with no samples are left out. */
static mlxn_status make_orders(dump_ctx *c)
{
    const mlxn__profiler *p = c->p;
    const mlxn__registry *reg = &c->dev->registry;
    int n_labels = p && (p->flags & MLXN_PROFILE_COMMAND_BUFFERS) ? p->n_labels : 0;
    int n_kernels = p ? p->n_kernels : 0;
    c->cb_order = malloc((size_t)(n_labels + 1) * sizeof(int));
    c->k_order = malloc((size_t)(n_kernels + 1) * sizeof(int));
    c->count_order = malloc((size_t)(reg->n + 1) * sizeof(int));
    if (!c->cb_order || !c->k_order || !c->count_order)
        return MLXN_ERR_OUT_OF_MEMORY;
    for (int i = 0; i < n_labels; i++)
        if (p->labels[i].count)
            c->cb_order[c->n_cb++] = i;
    for (int i = 0; i < n_kernels; i++)
        if (p->kernels[i].count)
            c->k_order[c->n_k++] = i;
    for (int i = 0; i < reg->n; i++)
        if (atomic_load(&reg->kernels[i].dispatches))
            c->count_order[c->n_counts++] = i;
    if (p) {
        qsort_r(c->cb_order, (size_t)c->n_cb, sizeof(int), by_total_desc, p->labels);
        qsort_r(c->k_order, (size_t)c->n_k, sizeof(int), by_total_desc, p->kernels);
    }
    qsort_r(c->count_order, (size_t)c->n_counts, sizeof(int), by_dispatches_desc, reg->kernels);
    return MLXN_OK;
}

static void stat_row(sink *s, const mlxn__prof_stat *st)
{
    put(s, " | %llu | %.3f | %.3f | %.3f | %.3f |\n", (unsigned long long)st->count, st->total,
        st->total / (double)st->count, st->min, st->max);
}

static void dump_table(sink *s, const dump_ctx *c)
{
    const mlxn__profiler *p = c->p;
    const mlxn__registry *reg = &c->dev->registry;
    put(s, "mlxn profile: %s (%s), profile flags 0x%x\n\n", c->dev->name, c->dev->be->name,
        p ? p->flags : 0u);
    put(s, "command buffers, GPU us\n\n| label | count | total | mean | min | max |\n"
           "|---|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < c->n_cb; i++) {
        put(s, "| ");
        put_cell(s, p->labels[c->cb_order[i]].name);
        stat_row(s, &p->labels[c->cb_order[i]]);
    }
    put(s, "\nkernels, GPU us per dispatch\n\n| kernel | timed | total | mean | min | max |\n"
           "|---|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < c->n_k; i++) {
        put(s, "| %s", p->kernels[c->k_order[i]].name);
        stat_row(s, &p->kernels[c->k_order[i]]);
    }
    put(s, "\ndispatch counts\n\n| kernel | dispatches |\n|---|---:|\n");
    for (int i = 0; i < c->n_counts; i++) {
        const mlxn_kernel *k = &reg->kernels[c->count_order[i]];
        put(s, "| %s | %llu |\n", k->name, (unsigned long long)atomic_load(&k->dispatches));
    }
    put(s, "\n%zu dispatch records, %llu dropped\n", p ? p->n_records : 0,
        (unsigned long long)(p ? p->dropped : 0));
}

static void json_stat(sink *s, const char *key, const mlxn__prof_stat *st)
{
    put(s, "{\"%s\":", key);
    put_json_string(s, st->name);
    put(s, ",\"count\":%llu,\"total_us\":%.3f,\"mean_us\":%.3f,\"min_us\":%.3f,\"max_us\":%.3f}",
        (unsigned long long)st->count, st->total, st->total / (double)st->count, st->min,
        st->max);
}

static void dump_json(sink *s, const dump_ctx *c)
{
    const mlxn__profiler *p = c->p;
    const mlxn__registry *reg = &c->dev->registry;
    put(s, "{\"device\":");
    put_json_string(s, c->dev->name);
    put(s, ",\"backend\":\"%s\",\"profile_flags\":%u,\"command_buffers\":[", c->dev->be->name,
        p ? p->flags : 0u);
    for (int i = 0; i < c->n_cb; i++) {
        put(s, i ? "," : "");
        json_stat(s, "label", &p->labels[c->cb_order[i]]);
    }
    put(s, "],\"kernels\":[");
    for (int i = 0; i < c->n_k; i++) {
        put(s, i ? "," : "");
        json_stat(s, "kernel", &p->kernels[c->k_order[i]]);
    }
    put(s, "],\"dispatches\":[");
    for (size_t i = 0; p && i < p->n_records; i++) {
        const mlxn__prof_record *r = &p->records[i];
        put(s, "%s{\"cb_label\":", i ? "," : "");
        put_json_string(s, p->labels[r->label].name);
        put(s, ",\"cb_seq\":%llu,\"index\":%u,\"kernel\":\"%s\",\"kind\":\"%s\",\"gpu_us\":%.3f}",
            (unsigned long long)r->seq, r->index, r->kernel, mlxn_op_kind_name(r->kind), r->us);
    }
    put(s, "],\"dispatch_counts\":[");
    for (int i = 0; i < c->n_counts; i++) {
        const mlxn_kernel *k = &reg->kernels[c->count_order[i]];
        put(s, "%s{\"kernel\":\"%s\",\"count\":%llu}", i ? "," : "", k->name,
            (unsigned long long)atomic_load(&k->dispatches));
    }
    put(s, "],\"dropped_dispatches\":%llu}\n", (unsigned long long)(p ? p->dropped : 0));
}

/* Run the formatter with the profiler locked (the buffer form makes two
 * passes over the same data). */
static mlxn_status dump(const mlxn_device *dev, mlxn_profile_format fmt, FILE *f, char *buf,
                        size_t cap, size_t *needed)
{
    if (!dev || (unsigned)fmt > MLXN_PROFILE_JSON)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "profile_dump: bad device or format");
    mlxn__profiler *p = dev->profiler;
    dump_ctx c;
    memset(&c, 0, sizeof c);
    c.dev = dev;
    c.p = p;
    if (p)
        pthread_mutex_lock(&p->lock);
    mlxn_status st = make_orders(&c);
    sink s = {f, NULL, 0, 0};
    if (st == MLXN_OK) {
        (fmt == MLXN_PROFILE_JSON ? dump_json : dump_table)(&s, &c);
        if (!f && !s.failed) {
            if (needed)
                *needed = s.len + 1;
            if (buf && cap > s.len) {
                sink w = {NULL, buf, 0, 0};
                (fmt == MLXN_PROFILE_JSON ? dump_json : dump_table)(&w, &c);
                s.failed = w.failed;
            } else {
                st = MLXN_ERR_INVALID_ARG;
            }
        }
    }
    if (p)
        pthread_mutex_unlock(&p->lock);
    free(c.cb_order);
    free(c.k_order);
    free(c.count_order);
    if (st == MLXN_ERR_OUT_OF_MEMORY)
        return mlxn__fail(dev, st, "profile_dump: out of memory");
    if (st == MLXN_ERR_INVALID_ARG)
        return mlxn__fail(dev, st, "profile_dump: the buffer holds %zu bytes, %zu needed", cap,
                          s.len + 1);
    if (s.failed)
        return mlxn__fail(dev, MLXN_ERR_IO, "profile_dump: writing failed");
    return MLXN_OK;
}

mlxn_status mlxn_profile_dump(const mlxn_device *dev, mlxn_profile_format fmt, FILE *f)
{
    if (!f)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "profile_dump: NULL FILE");
    return dump(dev, fmt, f, NULL, 0, NULL);
}

mlxn_status mlxn_profile_dump_buffer(const mlxn_device *dev, mlxn_profile_format fmt,
                                     char *buf, size_t cap, size_t *needed)
{
    return dump(dev, fmt, NULL, buf, cap, needed);
}
