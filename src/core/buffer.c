/*
 * buffer.c: allocations (refcounted, zero-filled), buffer handles and
 * views with byte offsets, dtype and shape, and host read/write.
 */
#include "core/internal.h"

#include <stdlib.h>
#include <string.h>

mlxn_buffer_params mlxn_buffer_params_default(void)
{
    mlxn_buffer_params p;
    memset(&p, 0, sizeof p);
    p.dtype = MLXN_DTYPE_U8;
    p.ndim = 1;
    return p;
}

void mlxn__alloc_retain(mlxn__alloc *a)
{
    atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
}

void mlxn__alloc_release(mlxn__alloc *a)
{
    if (atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) != 1)
        return;
    a->dev->be->mem_free(a->dev, &a->mem);
    free(a);
}

static int valid_shape(int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > MLXN_MAX_DIMS || (ndim && !shape))
        return 0;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0)
            return 0;
    return 1;
}

static void set_shape(mlxn_buffer *b, mlxn_dtype dtype, int ndim,
                      const int64_t *shape)
{
    b->dtype = dtype;
    b->ndim = ndim;
    memset(b->shape, 0, sizeof b->shape);
    for (int i = 0; i < ndim; i++)
        b->shape[i] = shape[i];
}

mlxn_status mlxn_buffer_create(mlxn_device *dev, const mlxn_buffer_params *p,
                               mlxn_buffer **out)
{
    if (!dev || !p || !out)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "buffer_create: NULL argument");
    *out = NULL;
    mlxn_status st = mlxn__device_check(dev);
    if (st != MLXN_OK)
        return st;
    if ((unsigned)p->dtype >= MLXN_DTYPE_COUNT || !valid_shape(p->ndim, p->shape))
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "buffer_create: bad dtype %d or shape (ndim %d)",
                          (int)p->dtype, p->ndim);
    if (p->flags & ~(unsigned)MLXN_BUFFER_HOST_VISIBLE)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "buffer_create: unknown flags 0x%x", p->flags);
    int64_t need = mlxn__shape_bytes(p->dtype, p->ndim, p->shape);
    if (need < 0)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "buffer_create: shape overflows or does not fit %s blocks",
                          mlxn_dtype_name(p->dtype));
    size_t bytes = p->bytes ? p->bytes : (size_t)need;
    if (p->bytes && p->bytes < (size_t)need)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "buffer_create: %zu bytes cannot hold a shape of %lld bytes",
                          p->bytes, (long long)need);
    mlxn__alloc *a = calloc(1, sizeof *a);
    mlxn_buffer *b = calloc(1, sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "buffer_create: out of memory");
    }
    /* Zero-byte buffers get one byte of backing so every buffer has a
     * distinct, valid address. */
    st = dev->be->mem_alloc(dev, bytes ? bytes : 1, p->flags, &a->mem);
    if (st != MLXN_OK) {
        free(a);
        free(b);
        return st;
    }
    a->mem.bytes = bytes;
    a->dev = dev;
    atomic_init(&a->refs, 1);
    b->alloc = a;
    b->bytes = bytes;
    set_shape(b, p->dtype, p->ndim, p->shape);
    *out = b;
    return MLXN_OK;
}

mlxn_status mlxn_buffer_create_tensor(mlxn_device *dev, mlxn_dtype dtype,
                                      int ndim, const int64_t *shape,
                                      mlxn_buffer **out)
{
    mlxn_buffer_params p = mlxn_buffer_params_default();
    p.dtype = dtype;
    p.ndim = ndim;
    if (ndim > MLXN_MAX_DIMS || ndim < 0 || (ndim && !shape))
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "buffer_create_tensor: bad ndim %d", ndim);
    for (int i = 0; i < ndim; i++)
        p.shape[i] = shape[i];
    return mlxn_buffer_create(dev, &p, out);
}

mlxn_status mlxn_buffer_view(mlxn_buffer *parent, size_t offset,
                             mlxn_dtype dtype, int ndim, const int64_t *shape,
                             mlxn_buffer **out)
{
    if (!parent || !out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "buffer_view: NULL argument");
    mlxn_device *dev = parent->alloc->dev;
    *out = NULL;
    if ((unsigned)dtype >= MLXN_DTYPE_COUNT || !valid_shape(ndim, shape))
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "buffer_view: bad dtype or shape");
    int64_t need = mlxn__shape_bytes(dtype, ndim, shape);
    if (need < 0 || offset > parent->bytes ||
        (size_t)need > parent->bytes - offset)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "buffer_view: %lld bytes at offset %zu exceed the "
                          "parent's %zu bytes",
                          (long long)need, offset, parent->bytes);
    mlxn_buffer *b = calloc(1, sizeof *b);
    if (!b)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "buffer_view: out of memory");
    mlxn__alloc_retain(parent->alloc);
    b->alloc = parent->alloc;
    b->offset = parent->offset + offset;
    b->bytes = (size_t)need;
    set_shape(b, dtype, ndim, shape);
    *out = b;
    return MLXN_OK;
}

void mlxn_buffer_destroy(mlxn_buffer *b)
{
    if (!b || b->pool_owned)
        return;
    mlxn__alloc_release(b->alloc);
    free(b);
}

size_t mlxn_buffer_bytes(const mlxn_buffer *b) { return b->bytes; }
size_t mlxn_buffer_offset(const mlxn_buffer *b) { return b->offset; }
mlxn_dtype mlxn_buffer_dtype(const mlxn_buffer *b) { return b->dtype; }
int mlxn_buffer_ndim(const mlxn_buffer *b) { return b->ndim; }
mlxn_device *mlxn_buffer_device(const mlxn_buffer *b) { return b->alloc->dev; }

int64_t mlxn_buffer_dim(const mlxn_buffer *b, int i)
{
    return (i >= 0 && i < b->ndim) ? b->shape[i] : 0;
}

int64_t mlxn_buffer_elems(const mlxn_buffer *b)
{
    int64_t n = 1;
    for (int i = 0; i < b->ndim; i++)
        n *= b->shape[i];
    return n;
}

mlxn_status mlxn_buffer_reshape(mlxn_buffer *b, mlxn_dtype dtype, int ndim,
                                const int64_t *shape)
{
    if (!b)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "buffer_reshape: NULL buffer");
    mlxn_device *dev = b->alloc->dev;
    if ((unsigned)dtype >= MLXN_DTYPE_COUNT || !valid_shape(ndim, shape))
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "buffer_reshape: bad dtype or shape");
    int64_t need = mlxn__shape_bytes(dtype, ndim, shape);
    if (need < 0 || (size_t)need > b->bytes)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG,
                          "buffer_reshape: shape needs %lld bytes, buffer has %zu",
                          (long long)need, b->bytes);
    set_shape(b, dtype, ndim, shape);
    return MLXN_OK;
}

static mlxn_status check_span(const mlxn_buffer *b, size_t offset, size_t n,
                              const char *what)
{
    if (offset > b->bytes || n > b->bytes - offset)
        return mlxn__fail(b->alloc->dev, MLXN_ERR_INVALID_ARG,
                          "%s: %zu bytes at offset %zu exceed the buffer's %zu",
                          what, n, offset, b->bytes);
    return mlxn__device_check(b->alloc->dev);
}

mlxn_status mlxn_buffer_write(mlxn_buffer *b, size_t offset, const void *src,
                              size_t n)
{
    if (!b || (!src && n))
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "buffer_write: NULL argument");
    mlxn_status st = check_span(b, offset, n, "buffer_write");
    if (st != MLXN_OK || !n)
        return st;
    mlxn_device *dev = b->alloc->dev;
    if (b->alloc->mem.host) {
        memcpy((char *)b->alloc->mem.host + b->offset + offset, src, n);
        return MLXN_OK;
    }
    return dev->be->mem_write(dev, mlxn__buffer_addr(b, offset), src, n);
}

mlxn_status mlxn_buffer_read(const mlxn_buffer *b, size_t offset, void *dst,
                             size_t n)
{
    if (!b || (!dst && n))
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "buffer_read: NULL argument");
    mlxn_status st = check_span(b, offset, n, "buffer_read");
    if (st != MLXN_OK || !n)
        return st;
    mlxn_device *dev = b->alloc->dev;
    if (b->alloc->mem.host) {
        memcpy(dst, (const char *)b->alloc->mem.host + b->offset + offset, n);
        return MLXN_OK;
    }
    return dev->be->mem_read(dev, mlxn__buffer_addr(b, offset), dst, n);
}

mlxn_status mlxn_buffer_fill(mlxn_buffer *b, size_t offset, uint8_t byte,
                             size_t n)
{
    if (!b)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "buffer_fill: NULL buffer");
    mlxn_status st = check_span(b, offset, n, "buffer_fill");
    if (st != MLXN_OK || !n)
        return st;
    mlxn_device *dev = b->alloc->dev;
    if (b->alloc->mem.host) {
        memset((char *)b->alloc->mem.host + b->offset + offset, byte, n);
        return MLXN_OK;
    }
    return dev->be->mem_fill(dev, mlxn__buffer_addr(b, offset), byte, n);
}

void *mlxn_buffer_contents(mlxn_buffer *b)
{
    if (!b || !b->alloc->mem.host)
        return NULL;
    return (char *)b->alloc->mem.host + b->offset;
}
