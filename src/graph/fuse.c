/*
 * fuse.c: the fusion pass. A table of patterns, each a matcher (which
 * nodes, from a starting dispatch, form the pattern) and a builder (the
 * fused node: kernel, slots, geometry, merged spans; new inline bytes go
 * into the graph's arena). The driver applies the checks every pattern
 * needs: values the pattern no longer produces ("dead" spans) must not be
 * read later, and with recorded barriers the fused node, which takes the
 * place of the pattern's last node, must not conflict with the dispatches
 * of its concurrent group. Fused nodes are never inputs to a pattern.
 * More patterns (residual add + norm, SwiGLU, RoPE + KV copy) are more
 * rows of the table.
 */
#include "graph/passes.h"
#include "params/elementwise.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PATTERN_NODES 4
#define MAX_DEAD 4

typedef struct fuse_ctx {
    mlxn_graph *g;
    uint8_t *gone;  /* node removed by an earlier fusion */
    uint8_t *fused; /* node made by fusion: never an input */
} fuse_ctx;

typedef struct fuse_match {
    size_t nodes[MAX_PATTERN_NODES]; /* in graph order; the last is replaced */
    int n_nodes;
    /* Spans the removed nodes wrote that the fused node does not. */
    mlxn__span dead[MAX_DEAD];
    int n_dead;
} fuse_match;

typedef struct fuse_pattern {
    const char *name;
    /* 1 when the dispatch at index i starts the pattern; fills m. */
    int (*match)(const fuse_ctx *c, size_t i, fuse_match *m);
    /* Build the fused node (allocations not yet retained). MLXN_ERR_NOT_FOUND
     * when the backend lacks the fused kernel (no fusion then). */
    mlxn_status (*build)(fuse_ctx *c, const fuse_match *m, mlxn__node *out);
} fuse_pattern;

/* ---- helpers ---------------------------------------------------------------------- */
static int usable(const fuse_ctx *c, size_t i)
{
    const mlxn__node *n = &c->g->nodes[i];
    return !c->gone[i] && !c->fused[i] && n->type == MLXN_NODE_DISPATCH &&
           n->kind != MLXN_OP_FUSED_NORM_MUL;
}

/* The next dispatch after i, skipping barriers and removed nodes. */
static size_t next_dispatch(const fuse_ctx *c, size_t i, int *barriers)
{
    *barriers = 0;
    for (size_t j = i + 1; j < c->g->n; j++) {
        if (c->gone[j])
            continue;
        if (c->g->nodes[j].type != MLXN_NODE_BARRIER)
            return j;
        (*barriers)++;
    }
    return SIZE_MAX;
}

static uint64_t slot_addr(const mlxn__node *n, int i)
{
    return n->slots[i].alloc->mem.addr + n->slots[i].offset;
}

static int is_buffer(const mlxn__node *n, int i)
{
    return i < n->n_args && n->slots[i].kind == MLXN_ARG_BUFFER;
}

static int is_bytes(const mlxn__node *n, int i, size_t size)
{
    return i < n->n_args && n->slots[i].kind == MLXN_ARG_BYTES && n->slots[i].size == size;
}

static int span_contains(mlxn__span outer, mlxn__span inner)
{
    return outer.start <= inner.start && inner.end <= outer.end;
}

static int span_equal(mlxn__span a, mlxn__span b)
{
    return a.start == b.start && a.end == b.end;
}

/* ---- pattern: rms_norm_f32 -> barrier(s) -> mul_<t> => rms_norm_mul_<t> ----------
 * norm: x (rows, n) f32 -> t; mul: out = t * w[j % n] with w (n) of the
 * mul's dtype; fused: out = rms_norm(x) * w. */
static int match_norm_mul(const fuse_ctx *c, size_t i, fuse_match *m)
{
    const mlxn__node *norm = &c->g->nodes[i];
    if (norm->kind != MLXN_OP_RMS_NORM || strcmp(norm->kernel->name, "rms_norm_f32") ||
        norm->n_args != 3 || !is_buffer(norm, 0) || !is_buffer(norm, 1) ||
        !is_bytes(norm, 2, sizeof(mlxn_norm_params)) || norm->n_writes != 1)
        return 0;
    int barriers;
    size_t j = next_dispatch(c, i, &barriers);
    if (j == SIZE_MAX || !usable(c, j))
        return 0;
    const mlxn__node *mul = &c->g->nodes[j];
    if (mul->kind != MLXN_OP_ELEM_MUL || strcmp(mul->kernel->name, "mul_f32") ||
        mul->n_args != 4 || !is_buffer(mul, 0) || !is_buffer(mul, 1) || !is_buffer(mul, 2) ||
        !is_bytes(mul, 3, sizeof(mlxn_ew_params)) || !mlxn__node_annotated(mul))
        return 0;
    mlxn_norm_params np;
    mlxn_ew_params ep;
    memcpy(&np, norm->slots[2].bytes, sizeof np);
    memcpy(&ep, mul->slots[3].bytes, sizeof ep);
    uint64_t elems = (uint64_t)np.rows * np.n;
    if (ep.n != elems || ep.nb != np.n)
        return 0; /* not the whole output, or not a row-broadcast weight */
    mlxn__span t = {slot_addr(norm, 1), slot_addr(norm, 1) + elems * 4};
    mlxn__span x = {slot_addr(norm, 0), slot_addr(norm, 0) + elems * 4};
    mlxn__span a = {slot_addr(mul, 0), slot_addr(mul, 0) + elems * 4};
    mlxn__span w = {slot_addr(mul, 1), slot_addr(mul, 1) + (uint64_t)np.n * 4};
    mlxn__span o = {slot_addr(mul, 2), slot_addr(mul, 2) + elems * 4};
    if (!span_equal(a, t) || !span_equal(norm->writes[0], t))
        return 0; /* the multiply's `a` must be exactly the norm's output */
    if (mlxn__spans_overlap(w, t) || mlxn__spans_overlap(w, o))
        return 0;
    if (mlxn__spans_overlap(o, x) && !span_equal(o, x))
        return 0; /* the fused kernel may write over x only in place */
    m->nodes[0] = i;
    m->nodes[1] = j;
    m->n_nodes = 2;
    m->n_dead = 0;
    if (!span_contains(o, t))
        m->dead[m->n_dead++] = t;
    return 1;
}

static mlxn_status build_norm_mul(fuse_ctx *c, const fuse_match *m, mlxn__node *out)
{
    const mlxn__node *norm = &c->g->nodes[m->nodes[0]];
    const mlxn__node *mul = &c->g->nodes[m->nodes[1]];
    mlxn_kernel *k = NULL;
    /* The weight's dtype is the multiply's (its kernel name's suffix). */
    char name[64];
    snprintf(name, sizeof name, "rms_norm_mul_%s", mul->kernel->name + strlen("mul_"));
    if (!mlxn__registry_find(c->g->dev, name))
        return MLXN_ERR_NOT_FOUND;
    mlxn_status st = mlxn_kernel_get(c->g->dev, name, &k);
    if (st != MLXN_OK)
        return st;
    mlxn_norm_params np;
    memcpy(&np, norm->slots[2].bytes, sizeof np);
    const uint8_t *bytes = mlxn__graph_store(c->g, &np, sizeof np);
    if (!bytes)
        return mlxn__fail(c->g->dev, MLXN_ERR_OUT_OF_MEMORY, "fusion: out of memory");
    memset(out, 0, sizeof *out);
    out->type = MLXN_NODE_DISPATCH;
    out->kernel = k;
    out->kind = MLXN_OP_FUSED_NORM_MUL;
    out->grid = norm->grid;
    out->block = norm->block;
    out->shared_bytes = norm->shared_bytes;
    out->n_args = 4;
    out->slots[0] = norm->slots[0]; /* x */
    out->slots[1] = mul->slots[1];  /* w */
    out->slots[2] = mul->slots[2];  /* out */
    out->slots[3].kind = MLXN_ARG_BYTES;
    out->slots[3].size = sizeof np;
    out->slots[3].bytes = bytes;
    /* Reads: the norm's, and the multiply's except the norm's output. */
    for (int r = 0; r < norm->n_reads; r++)
        out->reads[out->n_reads++] = norm->reads[r];
    for (int r = 0; r < mul->n_reads; r++) {
        if (span_contains(norm->writes[0], mul->reads[r]))
            continue;
        if (out->n_reads == MLXN_MAX_RANGES)
            return MLXN_ERR_NOT_FOUND; /* too many spans to merge: no fusion */
        out->reads[out->n_reads++] = mul->reads[r];
    }
    out->n_writes = mul->n_writes;
    memcpy(out->writes, mul->writes, sizeof out->writes);
    return MLXN_OK;
}

static const fuse_pattern patterns[] = {
    {"rms_norm_mul", match_norm_mul, build_norm_mul},
};

/* ---- the driver --------------------------------------------------------------------- */

/* No dispatch after node `last` reads a dead span before something writes
 * all of it. A later dispatch without spans might read it. */
static int dead_spans_unread(const fuse_ctx *c, const fuse_match *m)
{
    for (int d = 0; d < m->n_dead; d++) {
        for (size_t k = m->nodes[m->n_nodes - 1] + 1; k < c->g->n; k++) {
            const mlxn__node *n = &c->g->nodes[k];
            if (c->gone[k] || n->type != MLXN_NODE_DISPATCH)
                continue;
            if (!mlxn__node_annotated(n))
                return 0;
            int read = 0, overwritten = 0;
            for (int r = 0; r < n->n_reads; r++)
                read |= mlxn__spans_overlap(n->reads[r], m->dead[d]);
            if (read)
                return 0;
            for (int w = 0; w < n->n_writes; w++)
                overwritten |= span_contains(n->writes[w], m->dead[d]);
            if (overwritten)
                break;
        }
    }
    return 1;
}

static int in_match(const fuse_match *m, size_t k)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i] == k)
            return 1;
    return 0;
}

/* With recorded barriers between the pattern's nodes, the fused node joins
 * the last node's concurrent group: it must conflict with none of it. */
static int fits_group(const fuse_ctx *c, const fuse_match *m, const mlxn__node *fused)
{
    size_t last = m->nodes[m->n_nodes - 1];
    int barriers = 0;
    for (size_t k = m->nodes[0]; k < last; k++)
        barriers += !c->gone[k] && c->g->nodes[k].type == MLXN_NODE_BARRIER;
    if (!barriers)
        return 1; /* one group already: ordering comes from the spans */
    for (int dir = -1; dir <= 1; dir += 2) {
        for (size_t k = last + dir; k < c->g->n; k += dir) { /* wraps past 0 */
            const mlxn__node *n = &c->g->nodes[k];
            if (c->gone[k] || in_match(m, k))
                continue;
            if (n->type == MLXN_NODE_BARRIER)
                break;
            if (mlxn__nodes_depend(n, fused))
                return 0;
        }
    }
    return 1;
}

/* Drop removed nodes, and barriers left with an empty group before them:
 * after another barrier, or first when what preceded them was removed. */
static void compact(fuse_ctx *c)
{
    mlxn_graph *g = c->g;
    size_t w = 0;
    int removed = 0;
    for (size_t i = 0; i < g->n; i++) {
        if (c->gone[i]) {
            removed = 1;
            continue;
        }
        if (g->nodes[i].type == MLXN_NODE_BARRIER &&
            (w ? g->nodes[w - 1].type == MLXN_NODE_BARRIER : removed))
            continue;
        g->nodes[w++] = g->nodes[i];
    }
    g->n = w;
}

mlxn_status mlxn_graph_fuse(mlxn_graph *g, int *n_fused)
{
    if (n_fused)
        *n_fused = 0;
    if (!g)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "graph_fuse: NULL graph");
    fuse_ctx c = {g, calloc(g->n + 1, 1), calloc(g->n + 1, 1)};
    if (!c.gone || !c.fused) {
        free(c.gone);
        free(c.fused);
        return mlxn__fail(g->dev, MLXN_ERR_OUT_OF_MEMORY, "graph_fuse: out of memory");
    }
    int count = 0;
    mlxn_status st = MLXN_OK;
    for (size_t i = 0; st == MLXN_OK && i < g->n; i++) {
        if (!usable(&c, i))
            continue;
        for (size_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
            fuse_match m;
            mlxn__node fused;
            if (!patterns[p].match(&c, i, &m) || !dead_spans_unread(&c, &m))
                continue;
            mlxn_status b = patterns[p].build(&c, &m, &fused);
            if (b == MLXN_ERR_NOT_FOUND)
                continue;
            if (b != MLXN_OK) {
                st = b;
                break;
            }
            if (!fits_group(&c, &m, &fused))
                continue;
            size_t last = m.nodes[m.n_nodes - 1];
            mlxn__node_retain(&fused);
            for (int k = 0; k < m.n_nodes; k++) {
                mlxn__node_release(&g->nodes[m.nodes[k]]);
                c.gone[m.nodes[k]] = 1;
            }
            g->nodes[last] = fused;
            c.gone[last] = 0;
            c.fused[last] = 1;
            count++;
            break;
        }
    }
    /* Rewrites made before an out-of-memory failure are complete and
     * correct, so the graph stays consistent either way. */
    compact(&c);
    free(c.gone);
    free(c.fused);
    if (n_fused)
        *n_fused = count;
    return st;
}
