/*
 * test_graph_passes.c: property tests of the reorder pass and of the
 * executable-graph edges over thousands of random synthetic graphs (random
 * spans in a small address space so that conflicts are common, random
 * kinds, random barriers; no device work). Through the internal API:
 *  - the reorder plan is a permutation that never puts a dispatch before
 *    one it conflicts with, and never moves a non-reorderable dispatch
 *    relative to any other;
 *  - the whole pass on a graph also places barriers so that no concurrent
 *    group holds two conflicting dispatches, and only where needed;
 *  - precise edges order every conflicting pair, connect nothing else
 *    (except hanging roots from dispatch 0), have one root and no edge
 *    that another path implies; barrier and chain edges follow their rule.
 */
#define MLXN_TEST_MAIN
#include "test.h"

#include "graph/passes.h"

static mlxn_kernel synthetic = {.name = "synthetic"};

static const mlxn_op_kind fixed_kinds[] = {MLXN_OP_OTHER, MLXN_OP_SOFTMAX, MLXN_OP_ATTENTION,
                                           MLXN_OP_MOE_GATE};
static const mlxn_op_kind moving_kinds[] = {MLXN_OP_MATMUL,   MLXN_OP_RMS_NORM, MLXN_OP_ELEM_MUL,
                                            MLXN_OP_ELEM_ADD, MLXN_OP_ROPE,     MLXN_OP_COPY,
                                            MLXN_OP_KV_WRITE, MLXN_OP_ACTIVATION};

static mlxn__span random_span(void)
{
    uint64_t buf = test_rand_u64() % 10, start = (test_rand_u64() % 4) * 256;
    uint64_t len = 128 + (test_rand_u64() % 4) * 256;
    mlxn__span s = {0x100000 + buf * 4096 + start, 0x100000 + buf * 4096 + start + len};
    return s;
}

/* A dispatch tagged `tag` (in grid.x); unannotated with probability
 * p_bare percent; not reorderable with probability p_fixed percent. */
static void random_dispatch(mlxn__node *n, uint32_t tag, int p_bare, int p_fixed)
{
    memset(n, 0, sizeof *n);
    n->type = MLXN_NODE_DISPATCH;
    n->kernel = &synthetic;
    n->grid = (mlxn_dim3){tag, 1, 1};
    n->block = (mlxn_dim3){1, 1, 1};
    if ((int)(test_rand_u64() % 100) < p_fixed)
        n->kind = fixed_kinds[test_rand_u64() % 4];
    else
        n->kind = moving_kinds[test_rand_u64() % 8];
    if ((int)(test_rand_u64() % 100) < p_bare)
        return;
    n->n_reads = (int)(test_rand_u64() % 4);
    n->n_writes = (int)(test_rand_u64() % 3);
    if (!n->n_reads && !n->n_writes)
        n->n_writes = 1;
    for (int i = 0; i < n->n_reads; i++)
        n->reads[i] = random_span();
    for (int i = 0; i < n->n_writes; i++)
        n->writes[i] = random_span();
}

static void barrier_node(mlxn__node *n)
{
    memset(n, 0, sizeof *n);
    n->type = MLXN_NODE_BARRIER;
}

TEST(reorder_plan_is_a_safe_permutation)
{
    enum { GRAPHS = 4000, MAX_N = 120 };
    static mlxn__node nodes[MAX_N];
    const mlxn__node *d[MAX_N];
    size_t order[MAX_N], pos[MAX_N];
    size_t total_moved = 0;
    for (int t = 0; t < GRAPHS && !mlxn_test_failed(); t++) {
        size_t n = 1 + test_rand_u64() % MAX_N;
        int window = t % 3 ? MLXN__REORDER_WINDOW : 1 + (int)(test_rand_u64() % 80);
        for (size_t i = 0; i < n; i++) {
            random_dispatch(&nodes[i], (uint32_t)i, 0, 8);
            d[i] = &nodes[i];
        }
        size_t moved = 0;
        REQUIRE_OK(mlxn__reorder_plan(d, n, window, order, &moved) == 0 ? MLXN_OK
                                                                        : MLXN_ERR_OUT_OF_MEMORY);
        total_moved += moved;
        for (size_t i = 0; i < n; i++)
            pos[i] = SIZE_MAX;
        for (size_t k = 0; k < n; k++) {
            CHECK_MSG(order[k] < n && pos[order[k]] == SIZE_MAX, "graph %d: not a permutation", t);
            if (order[k] < n)
                pos[order[k]] = k;
        }
        for (size_t i = 0; i < n; i++) {
            for (size_t j = i + 1; j < n; j++) {
                if (mlxn__nodes_depend(d[i], d[j]))
                    CHECK_MSG(pos[i] < pos[j], "graph %d: %zu overtook %zu it conflicts with", t,
                              j, i);
                if (!mlxn_op_kind_reorderable(d[i]->kind) ||
                    !mlxn_op_kind_reorderable(d[j]->kind))
                    CHECK_MSG(pos[i] < pos[j], "graph %d: a fixed kind moved (%zu, %zu)", t, i,
                              j);
            }
        }
    }
    CHECK_MSG(total_moved > 1000, "the pass moved only %zu dispatches", total_moved);
}

TEST(reorder_pass_places_needed_barriers_only)
{
    enum { GRAPHS = 1500, MAX_N = 90 };
    mlxn_device *dev = test_cpu();
    size_t less = 0;
    for (int t = 0; t < GRAPHS && !mlxn_test_failed(); t++) {
        mlxn_graph *g = NULL;
        REQUIRE_OK(mlxn__graph_create(dev, &g));
        size_t n = 1 + test_rand_u64() % MAX_N;
        mlxn__node orig[MAX_N], x;
        for (size_t i = 0; i < n; i++) {
            if (test_rand_u64() % 5 == 0) {
                barrier_node(&x);
                CHECK_OK(mlxn__graph_append(g, &x));
            }
            random_dispatch(&orig[i], (uint32_t)i, 0, 5);
            CHECK_OK(mlxn__graph_append(g, &orig[i]));
        }
        mlxn_reorder_result r;
        CHECK_OK(mlxn_graph_reorder(g, &r));
        CHECK(r.skipped == NULL);
        less += r.barriers_after < r.barriers_before;
        CHECK(mlxn_graph_dispatch_count(g) == n);
        CHECK(mlxn_graph_barrier_count(g) == r.barriers_after);
        /* Walk the groups: members never conflict; each barrier is needed
         * by the dispatch right after it. */
        const mlxn__node *group[MAX_N];
        size_t n_group = 0, seen = 0, pos[MAX_N];
        int after_barrier = 0;
        for (size_t k = 0; k < g->n; k++) {
            const mlxn__node *m = &g->nodes[k];
            if (m->type == MLXN_NODE_BARRIER) {
                CHECK(n_group > 0);
                n_group = 0;
                after_barrier = 1;
                continue;
            }
            size_t tag = m->grid.x;
            pos[tag] = seen++;
            for (size_t i = 0; i < n_group; i++)
                CHECK_MSG(!mlxn__nodes_depend(group[i], m), "graph %d: conflict in a group", t);
            group[n_group++] = m;
            after_barrier = 0;
        }
        CHECK(!after_barrier || n == 0);
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (mlxn__nodes_depend(&orig[i], &orig[j]))
                    CHECK_MSG(pos[i] < pos[j], "graph %d: order broken", t);
        /* Minimal: the dispatch after each barrier conflicts with the
         * group before it. */
        size_t prev_start = 0, start = 0;
        for (size_t k = 0; k < g->n; k++) {
            if (g->nodes[k].type != MLXN_NODE_BARRIER)
                continue;
            prev_start = start;
            start = k + 1;
            int needed = 0;
            for (size_t i = prev_start; i < k; i++)
                needed |= mlxn__nodes_depend(&g->nodes[i], &g->nodes[k + 1]);
            CHECK_MSG(needed, "graph %d: barrier at %zu not needed", t, k);
        }
        mlxn_graph_destroy(g);
    }
    CHECK_MSG(less > GRAPHS / 10, "reordering saved barriers in only %zu graphs", less);
}

/* reach[i * n + j]: a path of edges from i to j. */
static void reachability(const mlxn__graph_edge *e, size_t n_edges, size_t n, uint8_t *reach,
                         size_t skip)
{
    memset(reach, 0, n * n);
    for (size_t j = 0; j < n; j++)
        for (size_t k = 0; k < n_edges; k++) {
            if (k == skip || (size_t)e[k].to != j)
                continue;
            size_t i = (size_t)e[k].from;
            reach[i * n + j] = 1;
            for (size_t a = 0; a < n; a++)
                reach[a * n + j] |= reach[a * n + i];
        }
}

TEST(precise_edges_are_exact_and_minimal)
{
    enum { GRAPHS = 1500, MAX_N = 60 };
    static mlxn__node nodes[MAX_N];
    const mlxn__node *d[MAX_N];
    static uint8_t reach[MAX_N * MAX_N], reach2[MAX_N * MAX_N];
    for (int t = 0; t < GRAPHS && !mlxn_test_failed(); t++) {
        size_t n = 1 + test_rand_u64() % MAX_N;
        for (size_t i = 0; i < n; i++) {
            random_dispatch(&nodes[i], (uint32_t)i, 4, 0);
            d[i] = &nodes[i];
        }
        mlxn__graph_edge *e = NULL;
        size_t ne = 0;
        REQUIRE_OK(mlxn__graph_edges(d, n, MLXN_EDGES_PRECISE, &e, &ne));
        uint8_t has_pred[MAX_N] = {0};
        for (size_t k = 0; k < ne; k++) {
            CHECK(e[k].from >= 0 && e[k].from < e[k].to && (size_t)e[k].to < n);
            has_pred[e[k].to] = 1;
        }
        for (size_t j = 1; j < n; j++)
            CHECK_MSG(has_pred[j], "graph %d: %zu is a second root", t, j);
        reachability(e, ne, n, reach, SIZE_MAX);
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (mlxn__nodes_depend(d[i], d[j]))
                    CHECK_MSG(reach[i * n + j], "graph %d: %zu -> %zu not ordered", t, i, j);
        for (size_t k = 0; k < ne && !mlxn_test_failed(); k++) {
            size_t i = (size_t)e[k].from, j = (size_t)e[k].to;
            int dep_pred = 0;
            for (size_t a = 0; a < j; a++)
                dep_pred |= mlxn__nodes_depend(d[a], d[j]);
            CHECK_MSG(mlxn__nodes_depend(d[i], d[j]) || (i == 0 && !dep_pred),
                      "graph %d: edge %zu -> %zu between independent dispatches", t, i, j);
            reachability(e, ne, n, reach2, k);
            CHECK_MSG(!reach2[i * n + j], "graph %d: edge %zu -> %zu is implied", t, i, j);
        }
        free(e);
    }
}

TEST(barrier_and_chain_edges)
{
    enum { GRAPHS = 500, MAX_N = 50 };
    static mlxn__node nodes[2 * MAX_N];
    const mlxn__node *d[2 * MAX_N];
    static uint8_t reach[MAX_N * MAX_N];
    for (int t = 0; t < GRAPHS && !mlxn_test_failed(); t++) {
        size_t n = 1 + test_rand_u64() % MAX_N, m = 0;
        long group[MAX_N], cur = 0;
        int group_open = 0;
        for (size_t i = 0; i < n; i++) {
            if (test_rand_u64() % 3 == 0) {
                barrier_node(&nodes[m]);
                d[m] = &nodes[m];
                m++;
                cur += group_open;
                group_open = 0;
            }
            random_dispatch(&nodes[m], (uint32_t)i, 0, 0);
            d[m] = &nodes[m];
            m++;
            group[i] = cur;
            group_open = 1;
        }
        mlxn__graph_edge *e = NULL;
        size_t ne = 0;
        REQUIRE_OK(mlxn__graph_edges(d, m, MLXN_EDGES_BARRIERS, &e, &ne));
        reachability(e, ne, n, reach, SIZE_MAX);
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++) {
                if (group[i] < group[j])
                    CHECK_MSG(reach[i * n + j], "graph %d: groups not ordered", t);
                else if (i > 0)
                    CHECK_MSG(!reach[i * n + j], "graph %d: one group serialized", t);
            }
        free(e);
        REQUIRE_OK(mlxn__graph_edges(d, m, MLXN_EDGES_CHAIN, &e, &ne));
        CHECK(ne == n - 1);
        for (size_t k = 0; k < ne; k++)
            CHECK(e[k].to == e[k].from + 1);
        free(e);
    }
}
