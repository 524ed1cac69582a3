/*
 * optest.c: the op-table machinery (see optest.h): row registry, input
 * generation, guarded and poisoned tensors, and the comparison of device
 * outputs with the float64 reference and with the CPU backend.
 */
#include "ops/optest.h"
#include "test.h"

#include <stdarg.h>

#define OT_GUARD 256
#define OT_GUARD_BYTE 0xa5
#define OT_MAX_ROWS 4096
#define OT_MAX_HOST 64

static optest_row *rows_;
static int n_rows_;

void optest_add(const optest_row *row)
{
    if (!rows_)
        rows_ = calloc(OT_MAX_ROWS, sizeof *rows_);
    if (rows_ && n_rows_ < OT_MAX_ROWS)
        rows_[n_rows_++] = *row;
}

int optest_count(void) { return n_rows_; }
const optest_row *optest_get(int i) { return &rows_[i]; }

typedef struct ot_tensor {
    mlxn_buffer *root, *view;
    size_t view_offset, view_bytes;
} ot_tensor;

struct ot_ctx {
    mlxn_device *dev;
    mlxn_encoder *enc;
    uint64_t rng;
    ot_tensor tensors[OT_MAX_TENSORS];
    int n_tensors;
    void *host[OT_MAX_HOST];
    int n_host;
    double *out[OT_MAX_OUTPUTS];
    int64_t n_out[OT_MAX_OUTPUTS];
    int n_outputs;
    int failed;
    char msg[512];
};

mlxn_device *ot_dev(ot_ctx *c) { return c->dev; }
mlxn_encoder *ot_enc(ot_ctx *c) { return c->enc; }

void ot_fail(ot_ctx *c, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
}

static void *host_alloc(ot_ctx *c, size_t bytes)
{
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p || c->n_host == OT_MAX_HOST) {
        free(p);
        ot_fail(c, "test harness: out of host memory slots");
        return NULL;
    }
    c->host[c->n_host++] = p;
    return p;
}

static uint64_t next_u64(ot_ctx *c)
{
    uint64_t z = (c->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint16_t f32_to_f16(float f)
{
    /* Round to nearest even through the same path as the CPU kernels. */
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u);
    if (a >= 0x477ff000u)
        return (uint16_t)(sign | 0x7c00u);
    if (a < 0x38800000u) {
        float v;
        memcpy(&v, &a, 4);
        return (uint16_t)(sign | (uint32_t)nearbyintf(v * 16777216.0f));
    }
    return (uint16_t)(sign | ((a + 0xfffu + ((a >> 13) & 1u) - 0x38000000u) >> 13));
}

static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    uint32_t u;
    if (exp == 0x1f)
        u = sign | 0x7f800000u | (man << 13);
    else if (exp == 0) {
        float f = (float)man * (1.0f / 16777216.0f);
        return sign ? -f : f;
    } else
        u = sign | ((exp + 112u) << 23) | (man << 13);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint16_t f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static float bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t ot_f16_bits(float v) { return f32_to_f16(v); }
uint16_t ot_bf16_bits(float v) { return f32_to_bf16(v); }

float ot_round(float v, mlxn_dtype dtype)
{
    if (dtype == MLXN_DTYPE_F16)
        return f16_to_f32(f32_to_f16(v));
    if (dtype == MLXN_DTYPE_BF16)
        return bf16_to_f32(f32_to_bf16(v));
    return v;
}

float *ot_rand(ot_ctx *c, int64_t n, float lo, float hi, mlxn_dtype dtype)
{
    float *p = host_alloc(c, (size_t)n * sizeof *p);
    for (int64_t i = 0; p && i < n; i++) {
        float u = (float)((next_u64(c) >> 40) * (1.0 / 16777216.0));
        p[i] = ot_round(lo + (hi - lo) * u, dtype);
    }
    return p;
}

int32_t *ot_rand_int(ot_ctx *c, int64_t n, int32_t hi)
{
    int32_t *p = host_alloc(c, (size_t)n * sizeof *p);
    for (int64_t i = 0; p && i < n; i++)
        p[i] = hi > 0 ? (int32_t)(next_u64(c) % (uint64_t)hi) : 0;
    return p;
}

double *ot_doubles(ot_ctx *c, int64_t n) { return host_alloc(c, (size_t)n * sizeof(double)); }

/* A guarded allocation with a view of dtype/shape at OT_GUARD bytes. */
static ot_tensor *new_tensor(ot_ctx *c, mlxn_dtype dtype, int ndim, const int64_t *shape)
{
    if (!c->dev || c->failed)
        return NULL;
    if (c->n_tensors == OT_MAX_TENSORS) {
        ot_fail(c, "test harness: too many tensors");
        return NULL;
    }
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    int64_t bytes = mlxn_dtype_bytes(dtype, n);
    if (bytes < 0) {
        ot_fail(c, "test harness: bad shape for %s", mlxn_dtype_name(dtype));
        return NULL;
    }
    mlxn_buffer_params rp = mlxn_buffer_params_default();
    rp.bytes = (size_t)bytes + 2 * OT_GUARD;
    rp.shape[0] = (int64_t)rp.bytes;
    ot_tensor *t = &c->tensors[c->n_tensors];
    memset(t, 0, sizeof *t);
    mlxn_status st = mlxn_buffer_create(c->dev, &rp, &t->root);
    if (st == MLXN_OK)
        st = mlxn_buffer_fill(t->root, 0, OT_GUARD_BYTE, rp.bytes);
    if (st == MLXN_OK)
        st = mlxn_buffer_view(t->root, OT_GUARD, dtype, ndim, shape, &t->view);
    if (st != MLXN_OK) {
        ot_fail(c, "creating a %s tensor: %s", mlxn_dtype_name(dtype), mlxn_last_error(NULL));
        mlxn_buffer_destroy(t->view);
        mlxn_buffer_destroy(t->root);
        return NULL;
    }
    t->view_offset = OT_GUARD;
    t->view_bytes = (size_t)bytes;
    c->n_tensors++;
    return t;
}

mlxn_buffer *ot_in_raw(ot_ctx *c, mlxn_dtype dtype, int ndim, const int64_t *shape,
                       const void *bytes, size_t nbytes)
{
    ot_tensor *t = new_tensor(c, dtype, ndim, shape);
    if (!t)
        return NULL;
    if (nbytes != t->view_bytes) {
        ot_fail(c, "ot_in_raw: %zu bytes given, tensor has %zu", nbytes, t->view_bytes);
        return NULL;
    }
    OT_OK(c, mlxn_buffer_write(t->view, 0, bytes, nbytes));
    return t->view;
}

mlxn_buffer *ot_in(ot_ctx *c, mlxn_dtype dtype, int ndim, const int64_t *shape,
                   const void *vals)
{
    if (!c->dev || c->failed)
        return NULL;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    size_t esize = (size_t)mlxn_dtype_block_bytes(dtype);
    uint8_t *raw = malloc((size_t)n * esize + 1);
    if (!raw) {
        ot_fail(c, "ot_in: out of memory");
        return NULL;
    }
    const float *f = vals;
    for (int64_t i = 0; i < n; i++) {
        if (dtype == MLXN_DTYPE_F16) {
            uint16_t h = f32_to_f16(f[i]);
            memcpy(raw + 2 * i, &h, 2);
        } else if (dtype == MLXN_DTYPE_BF16) {
            uint16_t h = f32_to_bf16(f[i]);
            memcpy(raw + 2 * i, &h, 2);
        } else {
            memcpy(raw + (size_t)i * esize, (const uint8_t *)vals + (size_t)i * esize, esize);
        }
    }
    mlxn_buffer *b = ot_in_raw(c, dtype, ndim, shape, raw, (size_t)n * esize);
    free(raw);
    return b;
}

mlxn_buffer *ot_out(ot_ctx *c, mlxn_dtype dtype, int ndim, const int64_t *shape)
{
    ot_tensor *t = new_tensor(c, dtype, ndim, shape);
    if (!t)
        return NULL;
    OT_OK(c, mlxn_buffer_fill(t->view, 0, 0xff, t->view_bytes));
    return t->view;
}

static double to_double(const uint8_t *p, mlxn_dtype dtype)
{
    switch (dtype) {
    case MLXN_DTYPE_F32: {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
    case MLXN_DTYPE_F16: {
        uint16_t h;
        memcpy(&h, p, 2);
        return f16_to_f32(h);
    }
    case MLXN_DTYPE_BF16: {
        uint16_t h;
        memcpy(&h, p, 2);
        return bf16_to_f32(h);
    }
    case MLXN_DTYPE_I32: {
        int32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    case MLXN_DTYPE_U32: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    case MLXN_DTYPE_U8:
        return *p;
    case MLXN_DTYPE_I8:
        return (int8_t)*p;
    default:
        return NAN;
    }
}

void ot_result(ot_ctx *c, mlxn_buffer *buf, const double *ref, int64_t n)
{
    if (c->failed)
        return;
    if (c->n_outputs == OT_MAX_OUTPUTS) {
        ot_fail(c, "test harness: too many outputs");
        return;
    }
    double *out = host_alloc(c, (size_t)n * sizeof *out);
    if (!out)
        return;
    if (!c->dev) {
        memcpy(out, ref, (size_t)n * sizeof *out);
    } else {
        mlxn_status st = mlxn_encoder_commit_and_wait(c->enc);
        if (st != MLXN_OK) {
            ot_fail(c, "commit_and_wait: %s: %s", mlxn_status_name(st), mlxn_last_error(NULL));
            return;
        }
        mlxn_dtype dt = mlxn_buffer_dtype(buf);
        size_t es = (size_t)mlxn_dtype_block_bytes(dt);
        if (mlxn_buffer_elems(buf) != n) {
            ot_fail(c, "output has %lld elements, reference %lld",
                    (long long)mlxn_buffer_elems(buf), (long long)n);
            return;
        }
        uint8_t *raw = malloc((size_t)n * es + 1);
        if (!raw || mlxn_buffer_read(buf, 0, raw, (size_t)n * es) != MLXN_OK) {
            free(raw);
            ot_fail(c, "reading the output: %s", mlxn_last_error(NULL));
            return;
        }
        for (int64_t i = 0; i < n; i++)
            out[i] = to_double(raw + (size_t)i * es, dt);
        free(raw);
    }
    c->out[c->n_outputs] = out;
    c->n_out[c->n_outputs] = n;
    c->n_outputs++;
}

static void check_guards(ot_ctx *c)
{
    for (int i = 0; i < c->n_tensors && !c->failed; i++) {
        ot_tensor *t = &c->tensors[i];
        size_t total = mlxn_buffer_bytes(t->root);
        uint8_t *raw = malloc(total);
        if (!raw || mlxn_buffer_read(t->root, 0, raw, total) != MLXN_OK) {
            free(raw);
            ot_fail(c, "reading guard bytes: %s", mlxn_last_error(NULL));
            return;
        }
        for (size_t b = 0; b < total; b++) {
            int inside = b >= t->view_offset && b < t->view_offset + t->view_bytes;
            if (!inside && raw[b] != OT_GUARD_BYTE) {
                ot_fail(c, "tensor %d: guard byte %zu changed (0x%02x)", i, b, raw[b]);
                break;
            }
        }
        free(raw);
    }
}

static void ctx_free(ot_ctx *c)
{
    for (int i = 0; i < c->n_tensors; i++) {
        mlxn_buffer_destroy(c->tensors[i].view);
        mlxn_buffer_destroy(c->tensors[i].root);
    }
    for (int i = 0; i < c->n_host; i++)
        free(c->host[i]);
    mlxn_encoder_destroy(c->enc);
}

static void run_row(ot_ctx *c, mlxn_device *dev, const optest_row *row, int index)
{
    memset(c, 0, sizeof *c);
    c->dev = dev;
    c->rng = 0x1234567ull + (uint64_t)index * 7919u;
    if (dev && mlxn_encoder_create(dev, NULL, &c->enc) != MLXN_OK) {
        ot_fail(c, "encoder_create: %s", mlxn_last_error(NULL));
        return;
    }
    row->run(c, row);
    if (dev && !c->failed)
        check_guards(c);
}

/* Compare got with want (want is the reference or the CPU backend). */
static int compare(const optest_row *row, const char *what, const ot_ctx *got,
                   const ot_ctx *want)
{
    if (got->n_outputs != want->n_outputs || !got->n_outputs) {
        printf("    FAIL %s: %s: %d outputs, expected %d\n", row->label, what,
               got->n_outputs, want->n_outputs);
        return 1;
    }
    for (int o = 0; o < got->n_outputs; o++) {
        int64_t n = got->n_out[o];
        if (n != want->n_out[o]) {
            printf("    FAIL %s: %s: output %d has %lld elements, expected %lld\n",
                   row->label, what, o, (long long)n, (long long)want->n_out[o]);
            return 1;
        }
        double err2 = 0, ref2 = 0;
        for (int64_t i = 0; i < n; i++) {
            double a = got->out[o][i], r = want->out[o][i];
            int bad = !isfinite(a) && isfinite(r);
            if (row->exact)
                bad |= a != r;
            else
                bad |= !(fabs(a - r) <= row->atol + row->rtol * fabs(r));
            if (bad) {
                printf("    FAIL %s: %s: output %d [%lld] = %.9g, expected %.9g"
                       " (atol %g rtol %g)\n",
                       row->label, what, o, (long long)i, a, r, row->atol, row->rtol);
                return 1;
            }
            err2 += (a - r) * (a - r);
            ref2 += r * r;
        }
        if (!row->exact && ref2 > 0 && err2 / ref2 > row->nmse) {
            printf("    FAIL %s: %s: output %d normalised MSE %.3g > %.3g\n", row->label,
                   what, o, err2 / ref2, row->nmse);
            return 1;
        }
    }
    return 0;
}

int optest_run_all(mlxn_device *dev, mlxn_device *cpu, const char *filter)
{
    int failed = 0, ran = 0;
    for (int i = 0; i < n_rows_; i++) {
        const optest_row *row = &rows_[i];
        if (filter && !strstr(row->label, filter))
            continue;
        ran++;
        ot_ctx ref, got, base;
        run_row(&ref, NULL, row, i);
        run_row(&got, dev, row, i);
        int bad = 0;
        if (ref.failed || got.failed) {
            printf("    FAIL %s: %s\n", row->label, ref.failed ? ref.msg : got.msg);
            bad = 1;
        } else {
            bad = compare(row, "vs float64 reference", &got, &ref);
        }
        if (!bad && cpu && cpu != dev) {
            run_row(&base, cpu, row, i);
            bad = base.failed ? (printf("    FAIL %s: cpu: %s\n", row->label, base.msg), 1)
                              : compare(row, "vs cpu backend", &got, &base);
            ctx_free(&base);
        }
        ctx_free(&ref);
        ctx_free(&got);
        failed += bad;
    }
    printf("    op table: %d rows, %d failed\n", ran, failed);
    return failed;
}
