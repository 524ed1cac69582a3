/*
 * test_ops.c: the op table (tests/ops/rows_*.c) on the backend under test,
 * against float64 references and, on CUDA, against the CPU backend; and
 * the coverage check that every kernel of the backend ran in some row.
 */
#define MLXN_TEST_MAIN
#include "test.h"
#include "ops/optest.h"

static const char *row_filter;

int mlxn_test_extra_arg(int argc, char **argv, int *i)
{
    if (!strcmp(argv[*i], "--rows") && *i + 1 < argc) {
        row_filter = argv[++*i];
        return 1;
    }
    return 0;
}

/* The table, then the coverage check: every kernel the backend has
 * (except debug_*) must have run in some row. */
TEST(op_table)
{
    mlxn_device *dev = test_device();
    mlxn_device_reset_counters(dev);
    int failed = optest_run_all(dev, test_cpu(), row_filter);
    CHECK_MSG(failed == 0, "%d op-table rows failed", failed);
    if (row_filter)
        return;
    int missing = 0;
    for (int i = 0; i < mlxn_kernel_count(dev); i++) {
        const char *name = mlxn_kernel_name_at(dev, i);
        if (!strncmp(name, "debug_", 6))
            continue;
        if (mlxn_device_kernel_dispatches(dev, name) == 0) {
            printf("    kernel %s has no op-table row that ran it\n", name);
            missing++;
        }
    }
    CHECK_MSG(missing == 0, "%d kernels not covered by the op table", missing);
}

/* Rows name the kernel they exercise; each must exist on the backend. */
TEST(op_table_rows_name_real_kernels)
{
    mlxn_device *dev = test_device();
    for (int i = 0; i < optest_count(); i++) {
        const optest_row *r = optest_get(i);
        mlxn_kernel *k = NULL;
        CHECK_MSG(mlxn_kernel_get(dev, r->kernel, &k) == MLXN_OK,
                  "row '%s' names kernel '%s', which does not exist", r->label, r->kernel);
    }
}
