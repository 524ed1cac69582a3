/*
 * optest.h: the op table. Each op family registers rows from its own file
 * (tests/ops/rows_<family>.c) with OPTEST_ROWS(family). A row's run()
 * is written once and executed in two modes:
 *  - device mode (c->dev set): upload inputs, encode the op, read outputs;
 *  - reference mode (c->dev NULL): compute the same outputs in float64.
 * Inputs come from the row's own seed, so both modes see identical data.
 * The harness compares device outputs with the float64 reference (and, on
 * CUDA, with the CPU backend), checks NaN/Inf, that every output element
 * was written (outputs are poisoned with NaN bytes first) and that guard
 * bytes around every buffer are intact.
 */
#ifndef MLXN_OPTEST_H
#define MLXN_OPTEST_H

#include "mlxn.h"

#include <stdint.h>

#define OT_MAX_TENSORS 16
#define OT_MAX_OUTPUTS 4

typedef struct ot_ctx ot_ctx;

typedef struct optest_row {
    char label[112];
    const char *kernel;  /* the kernel this row exercises */
    double atol, rtol;   /* per element: |out - ref| <= atol + rtol*|ref| */
    double nmse;         /* sum((out-ref)^2) / sum(ref^2) at most this */
    int exact;           /* outputs must match the reference exactly */
    int64_t i[8];        /* row parameters (sizes, flags) */
    double f[4];
    mlxn_dtype t[4];
    void (*run)(ot_ctx *c, const struct optest_row *row);
} optest_row;

void optest_add(const optest_row *row);
int optest_count(void);
const optest_row *optest_get(int i);

#define OPTEST_ROWS(family)                                                    \
    static void optest_rows_##family(void);                                    \
    __attribute__((constructor)) static void optest_register_##family(void)    \
    {                                                                          \
        optest_rows_##family();                                                \
    }                                                                          \
    static void optest_rows_##family(void)

/* ---- inside run() ------------------------------------------------------------ */
/* Device under test, or NULL in reference mode. */
mlxn_device *ot_dev(ot_ctx *c);
mlxn_encoder *ot_enc(ot_ctx *c);
/* Byte offset at which inputs and outputs sit inside their allocations
 * (rows that test views set it through row->i[7]; 0 otherwise). */

/* n random values in [lo, hi), rounded to dtype (so the reference sees
 * what the device sees). Owned by the context. */
float *ot_rand(ot_ctx *c, int64_t n, float lo, float hi, mlxn_dtype dtype);
/* n random integers in [0, hi). */
int32_t *ot_rand_int(ot_ctx *c, int64_t n, int32_t hi);
/* A zeroed host array of n doubles, owned by the context. */
double *ot_doubles(ot_ctx *c, int64_t n);

/* Device mode: an input tensor holding `vals` converted to dtype (values
 * are f32 for float dtypes). NULL in reference mode. */
mlxn_buffer *ot_in(ot_ctx *c, mlxn_dtype dtype, int ndim, const int64_t *shape,
                   const void *vals);
/* Same, but from raw bytes already in the dtype's layout (quantized). */
mlxn_buffer *ot_in_raw(ot_ctx *c, mlxn_dtype dtype, int ndim, const int64_t *shape,
                       const void *bytes, size_t nbytes);
/* Device mode: an output tensor poisoned with 0xff bytes. */
mlxn_buffer *ot_out(ot_ctx *c, mlxn_dtype dtype, int ndim, const int64_t *shape);
/* Device mode: commit, wait, and collect `buf` as the next output.
 * Reference mode: collect `ref` (n doubles) as the next output. */
void ot_result(ot_ctx *c, mlxn_buffer *buf, const double *ref, int64_t n);
/* Fail the row with a message (device calls that returned an error). */
void ot_fail(ot_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define OT_OK(c, call)                                                         \
    do {                                                                       \
        mlxn_status s_ = (call);                                               \
        if (s_ != MLXN_OK)                                                     \
            ot_fail((c), "%s -> %s: %s", #call, mlxn_status_name(s_),         \
                    mlxn_last_error(NULL));                                    \
    } while (0)

/* Round a float to a dtype and back (f32, f16, bf16). */
float ot_round(float v, mlxn_dtype dtype);
/* IEEE half and bfloat16 bits of a float (round to nearest even). */
uint16_t ot_f16_bits(float v);
uint16_t ot_bf16_bits(float v);

/* Run every row on `dev` (and on `cpu` for comparison when dev is not a
 * CPU device); returns the number of failed rows. `filter` selects rows
 * whose label contains it (NULL: all). */
int optest_run_all(mlxn_device *dev, mlxn_device *cpu, const char *filter);

#endif /* MLXN_OPTEST_H */
