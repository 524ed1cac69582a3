/*
 * status.c: status names, the last-error messages (per device and per
 * thread), and the static tables of dtypes and op kinds.
 */
#include "core/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[] = {
#define NAME(name, text) text,
    MLXN_STATUS_LIST(NAME)
#undef NAME
};

const char *mlxn_status_name(mlxn_status status)
{
    if ((unsigned)status >= MLXN_STATUS_COUNT)
        return "unknown status";
    return status_names[status];
}

static _Thread_local char thread_error[MLXN__ERROR_MAX];

static mlxn_status fail_v(const mlxn_device *cdev, mlxn_status status,
                          const char *prefix, const char *fmt, va_list ap)
{
    char msg[MLXN__ERROR_MAX];
    int n = snprintf(msg, sizeof msg, "%s", prefix);
    if (n < 0 || (size_t)n >= sizeof msg)
        n = 0;
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    memcpy(thread_error, msg, sizeof msg);
    if (cdev) {
        /* The message buffer is the device's only mutable state touched
         * through a const handle; it is guarded by the device lock. */
        mlxn_device *dev = (mlxn_device *)cdev;
        pthread_mutex_lock(&dev->lock);
        memcpy(dev->last_error, msg, sizeof msg);
        pthread_mutex_unlock(&dev->lock);
    }
    return status;
}

mlxn_status mlxn__fail(const mlxn_device *dev, mlxn_status status,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(dev, status, "", fmt, ap);
    va_end(ap);
    return status;
}

mlxn_status mlxn__fail_at(const mlxn_device *dev, mlxn_status status,
                          const char *file, int line, const char *fmt, ...)
{
    char prefix[96];
    const char *base = strrchr(file, '/');
    snprintf(prefix, sizeof prefix, "%s:%d: ", base ? base + 1 : file, line);
    va_list ap;
    va_start(ap, fmt);
    fail_v(dev, status, prefix, fmt, ap);
    va_end(ap);
    return status;
}

const char *mlxn_last_error(const mlxn_device *dev)
{
    return dev ? dev->last_error : thread_error;
}

/* ---- dtypes ---------------------------------------------------------------- */
static const struct {
    const char *name;
    int64_t block_elems, block_bytes;
} dtypes[] = {
#define ROW(name, be, bb) {#name, be, bb},
    MLXN_DTYPE_LIST(ROW)
#undef ROW
};

static char lower_names[MLXN_DTYPE_COUNT][8];
static pthread_once_t lower_once = PTHREAD_ONCE_INIT;

static void make_lower_names(void)
{
    for (int i = 0; i < MLXN_DTYPE_COUNT; i++) {
        const char *s = dtypes[i].name;
        size_t j = 0;
        for (; s[j] && j + 1 < sizeof lower_names[i]; j++)
            lower_names[i][j] =
                (s[j] >= 'A' && s[j] <= 'Z') ? (char)(s[j] + 32) : s[j];
        lower_names[i][j] = 0;
    }
}

const char *mlxn_dtype_name(mlxn_dtype dtype)
{
    if ((unsigned)dtype >= MLXN_DTYPE_COUNT)
        return "?";
    pthread_once(&lower_once, make_lower_names);
    return lower_names[dtype];
}

int mlxn_dtype_from_name(const char *name, mlxn_dtype *out)
{
    if (!name)
        return -1;
    for (int i = 0; i < MLXN_DTYPE_COUNT; i++) {
        if (strcmp(name, mlxn_dtype_name((mlxn_dtype)i)) == 0) {
            *out = (mlxn_dtype)i;
            return 0;
        }
    }
    return -1;
}

int64_t mlxn_dtype_block_elems(mlxn_dtype dtype)
{
    return (unsigned)dtype < MLXN_DTYPE_COUNT ? dtypes[dtype].block_elems : 0;
}

int64_t mlxn_dtype_block_bytes(mlxn_dtype dtype)
{
    return (unsigned)dtype < MLXN_DTYPE_COUNT ? dtypes[dtype].block_bytes : 0;
}

int64_t mlxn_dtype_bytes(mlxn_dtype dtype, int64_t n)
{
    if ((unsigned)dtype >= MLXN_DTYPE_COUNT || n < 0)
        return -1;
    int64_t be = dtypes[dtype].block_elems, bb = dtypes[dtype].block_bytes;
    if (n % be)
        return -1;
    int64_t blocks = n / be;
    if (blocks > INT64_MAX / bb)
        return -1;
    return blocks * bb;
}

int64_t mlxn__shape_bytes(mlxn_dtype dtype, int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > MLXN_MAX_DIMS)
        return -1;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return -1;
        if (shape[i] && n > INT64_MAX / shape[i])
            return -1;
        n *= shape[i];
    }
    /* Block formats are blocked along the innermost dimension. */
    if (ndim > 0 && shape[ndim - 1] % mlxn_dtype_block_elems(dtype))
        return -1;
    return mlxn_dtype_bytes(dtype, n);
}

/* ---- op kinds --------------------------------------------------------------- */
static const struct {
    const char *name;
    int reorderable;
} kinds[] = {
#define ROW(name, text, r) {text, r},
    MLXN_OP_KIND_LIST(ROW)
#undef ROW
};

const char *mlxn_op_kind_name(mlxn_op_kind kind)
{
    return (unsigned)kind < MLXN_OP_KIND_COUNT ? kinds[kind].name : "?";
}

int mlxn_op_kind_reorderable(mlxn_op_kind kind)
{
    return (unsigned)kind < MLXN_OP_KIND_COUNT ? kinds[kind].reorderable : 0;
}
