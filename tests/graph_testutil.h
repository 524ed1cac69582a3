/*
 * graph_testutil.h: helpers shared by the graph tests (test_graph.c,
 * test_graph_exec.c): random tensors, reading them back, an annotated
 * debug_inc_u32 dispatch of a chosen op kind, and a small program of real
 * ops (norm, mul, add, scale, inc) encoded with barriers where it needs
 * them.
 */
#ifndef MLXN_GRAPH_TESTUTIL_H
#define MLXN_GRAPH_TESTUTIL_H

#include "test.h"

static inline mlxn_buffer *gt_f32(mlxn_device *dev, int ndim, const int64_t *shape)
{
    mlxn_buffer *b = NULL;
    if (mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, ndim, shape, &b) != MLXN_OK)
        return NULL;
    int64_t n = mlxn_buffer_elems(b);
    float *v = malloc((size_t)n * sizeof *v + 1);
    for (int64_t i = 0; i < n; i++)
        v[i] = test_rand_f(-2.0f, 2.0f);
    mlxn_buffer_write(b, 0, v, (size_t)n * sizeof *v);
    free(v);
    return b;
}

static inline mlxn_buffer *gt_vec(mlxn_device *dev, int64_t n)
{
    return gt_f32(dev, 1, &n);
}

static inline mlxn_buffer *gt_u32(mlxn_device *dev, uint32_t n, uint32_t base)
{
    mlxn_buffer *b = NULL;
    int64_t shape[1] = {n};
    if (mlxn_buffer_create_tensor(dev, MLXN_DTYPE_U32, 1, shape, &b) != MLXN_OK)
        return NULL;
    uint32_t *v = malloc(n * sizeof *v + 1);
    for (uint32_t i = 0; i < n; i++)
        v[i] = base + i * 3u;
    mlxn_buffer_write(b, 0, v, n * sizeof *v);
    free(v);
    return b;
}

/* The buffer's bytes (malloc'd); NULL on failure. */
static inline void *gt_read(mlxn_buffer *b)
{
    size_t n = mlxn_buffer_bytes(b);
    void *v = malloc(n + 1);
    if (mlxn_buffer_read(b, 0, v, n) != MLXN_OK) {
        free(v);
        return NULL;
    }
    return v;
}

/* 1 when the two buffers hold the same bytes. */
static inline int gt_same(mlxn_buffer *a, mlxn_buffer *b)
{
    void *x = gt_read(a), *y = gt_read(b);
    int same = x && y && mlxn_buffer_bytes(a) == mlxn_buffer_bytes(b) &&
               !memcmp(x, y, mlxn_buffer_bytes(a));
    free(x);
    free(y);
    return same;
}

/* Largest |a - b| over two f32 buffers of the same size. */
static inline double gt_max_diff(mlxn_buffer *a, mlxn_buffer *b)
{
    float *x = gt_read(a), *y = gt_read(b);
    double m = (x && y) ? 0.0 : INFINITY;
    for (size_t i = 0; x && y && i < mlxn_buffer_bytes(a) / 4; i++) {
        double d = fabs((double)x[i] - (double)y[i]);
        m = d > m || d != d ? d : m;
    }
    free(x);
    free(y);
    return m;
}

/* out = in + 1 over n u32 elements, of op kind `kind`, annotated unless
 * `bare`. */
static inline mlxn_status gt_inc(mlxn_encoder *enc, mlxn_buffer *in, mlxn_buffer *out,
                                 uint32_t n, mlxn_op_kind kind, int bare)
{
    mlxn_kernel *k = NULL;
    mlxn_status st = mlxn_kernel_get(mlxn_encoder_device(enc), "debug_inc_u32", &k);
    if (st != MLXN_OK)
        return st;
    mlxn_arg args[3] = {mlxn_arg_buffer(in), mlxn_arg_buffer(out), mlxn_arg_bytes(&n, 4)};
    mlxn_range r = mlxn_range_of(in), w = mlxn_range_of(out);
    mlxn_dispatch d;
    memset(&d, 0, sizeof d);
    d.kernel = k;
    d.args = args;
    d.n_args = 3;
    d.grid = (mlxn_dim3){(n + 255) / 256, 1, 1};
    d.block = (mlxn_dim3){256, 1, 1};
    d.kind = kind;
    if (!bare) {
        d.reads = &r;
        d.n_reads = 1;
        d.writes = &w;
        d.n_writes = 1;
    }
    return mlxn_encoder_dispatch(enc, &d);
}

/* A program of real ops on random data (rows x n f32):
 *   t = rms_norm(x)          | barrier
 *   t2 = t * w (row weight)  | barrier
 *   y = t2 + x ; v = x * x   | barrier     (two independent ops)
 *   z = y * 0.5 ; u = v + bias (full size) | barrier
 *   o = z + u ; c1 = c0 + 1 (u32)
 * Outputs: o, v, c1 (t is the norm's intermediate). */
typedef struct gt_prog {
    mlxn_buffer *x, *w, *bias, *t, *t2, *y, *v, *z, *u, *o, *c0, *c1;
    uint32_t nc;
} gt_prog;

static inline int gt_prog_init(gt_prog *p, mlxn_device *dev, int64_t rows, int64_t n)
{
    int64_t shape[2] = {rows, n};
    memset(p, 0, sizeof *p);
    p->x = gt_f32(dev, 2, shape);
    p->w = gt_vec(dev, n);
    p->bias = gt_f32(dev, 2, shape);
    mlxn_buffer **outs[] = {&p->t, &p->t2, &p->y, &p->v, &p->z, &p->u, &p->o};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
        *outs[i] = gt_f32(dev, 2, shape);
    p->nc = 777;
    p->c0 = gt_u32(dev, p->nc, 5);
    p->c1 = gt_u32(dev, p->nc, 0);
    return p->x && p->w && p->bias && p->o && p->c1;
}

static inline void gt_prog_free(gt_prog *p)
{
    mlxn_buffer *all[] = {p->x, p->w, p->bias, p->t, p->t2, p->y,
                          p->v, p->z, p->u,    p->o, p->c0, p->c1};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        mlxn_buffer_destroy(all[i]);
}

/* Poison every output (so a run that skips work shows). */
static inline void gt_prog_poison(gt_prog *p)
{
    mlxn_buffer *outs[] = {p->t, p->t2, p->y, p->v, p->z, p->u, p->o, p->c1};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
        mlxn_buffer_fill(outs[i], 0, 0xff, mlxn_buffer_bytes(outs[i]));
}

/* Encode the program; `barrier` places a barrier (encoder or session). */
static inline mlxn_status gt_prog_encode(gt_prog *p, mlxn_encoder *enc,
                                         mlxn_status (*barrier)(void *), void *ctx)
{
    mlxn_status st;
    if ((st = mlxn_op_rms_norm(enc, p->x, NULL, 1e-5f, p->t)) != MLXN_OK ||
        (st = barrier(ctx)) != MLXN_OK ||
        (st = mlxn_op_mul(enc, p->t, p->w, p->t2)) != MLXN_OK ||
        (st = barrier(ctx)) != MLXN_OK ||
        (st = mlxn_op_add(enc, p->t2, p->x, p->y)) != MLXN_OK ||
        (st = mlxn_op_mul(enc, p->x, p->x, p->v)) != MLXN_OK ||
        (st = barrier(ctx)) != MLXN_OK ||
        (st = mlxn_op_scale(enc, p->y, 0.5f, p->z)) != MLXN_OK ||
        (st = mlxn_op_add(enc, p->v, p->bias, p->u)) != MLXN_OK ||
        (st = barrier(ctx)) != MLXN_OK ||
        (st = mlxn_op_add(enc, p->z, p->u, p->o)) != MLXN_OK)
        return st;
    return gt_inc(enc, p->c0, p->c1, p->nc, MLXN_OP_COPY, 0);
}

static inline mlxn_status gt_encoder_barrier(void *enc)
{
    return mlxn_encoder_barrier((mlxn_encoder *)enc);
}

static inline mlxn_status gt_session_barrier(void *s)
{
    return mlxn_graph_session_barrier((mlxn_graph_session *)s);
}

/* The program's outputs (o, v, c1) read back. */
typedef struct gt_snap {
    float *o, *v;
    uint32_t *c1;
    size_t n_f32;
} gt_snap;

static inline void gt_snap_take(gt_prog *p, gt_snap *s)
{
    s->o = gt_read(p->o);
    s->v = gt_read(p->v);
    s->c1 = gt_read(p->c1);
    s->n_f32 = mlxn_buffer_bytes(p->o) / 4;
}

static inline void gt_snap_free(gt_snap *s)
{
    free(s->o);
    free(s->v);
    free(s->c1);
}

/* Largest |difference| of the f32 outputs (INFINITY when the u32 output
 * differs or something is missing); 0 means bit-identical. */
static inline double gt_snap_diff(const gt_snap *a, const gt_snap *b, uint32_t nc)
{
    if (!a->o || !b->o || !a->v || !b->v || !a->c1 || !b->c1 ||
        memcmp(a->c1, b->c1, nc * sizeof(uint32_t)))
        return INFINITY;
    if (!memcmp(a->o, b->o, a->n_f32 * 4) && !memcmp(a->v, b->v, a->n_f32 * 4))
        return 0.0;
    double m = 0;
    for (size_t i = 0; i < a->n_f32; i++) {
        double d1 = fabs((double)a->o[i] - b->o[i]), d2 = fabs((double)a->v[i] - b->v[i]);
        if (d1 != d1 || d2 != d2)
            return INFINITY; /* NaN: poison left in an output */
        m = d1 > m ? d1 : m;
        m = d2 > m ? d2 : m;
    }
    return m > 0 ? m : 1e-30; /* bits differ only (-0 vs 0) */
}

#endif /* MLXN_GRAPH_TESTUTIL_H */
