/*
 * cpu_backend.c: the CPU backend's device, memory and kernel table, and
 * its vtable. Memory is plain 64-byte-aligned host memory; kernels are the
 * C functions of kernels/cpu/, found through the generated name table.
 */
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static mlxn_status cpu_open(mlxn_device *dev, const mlxn_device_params *p)
{
    mlxn__cpu_device *cd = calloc(1, sizeof *cd);
    if (!cd)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "cpu backend: out of memory");
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = p->cpu_threads ? p->cpu_threads : (online > 0 ? (int)online : 1);
    cd->pool = mlxn__cpu_pool_create(threads);
    if (!cd->pool) {
        free(cd);
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "cpu backend: cannot start threads");
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cd->fence_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&cd->fence_lock, NULL);
    dev->backend_state = cd;
    snprintf(dev->name, sizeof dev->name, "cpu (%d threads)",
             mlxn__cpu_pool_threads(cd->pool));
    return MLXN_OK;
}

static void cpu_close(mlxn_device *dev)
{
    mlxn__cpu_device *cd = dev->backend_state;
    mlxn__cpu_pool_destroy(cd->pool);
    pthread_cond_destroy(&cd->fence_cond);
    pthread_mutex_destroy(&cd->fence_lock);
    free(cd);
    dev->backend_state = NULL;
}

static mlxn_status cpu_info(const mlxn_device *dev, mlxn_device_info *out)
{
    const mlxn__cpu_device *cd = dev->backend_state;
    out->multiprocessors = mlxn__cpu_pool_threads(cd->pool);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    out->memory_bytes = (pages > 0 && page > 0) ? (int64_t)pages * page : 0;
    return MLXN_OK;
}

static mlxn_status cpu_mem_alloc(mlxn_device *dev, size_t bytes, unsigned flags,
                                 mlxn__mem *out)
{
    size_t size = (bytes + 63) & ~(size_t)63;
    if (size < bytes)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes", bytes);
    void *p = aligned_alloc(64, size);
    if (!p)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes", bytes);
    memset(p, 0, size);
    out->addr = (uint64_t)(uintptr_t)p;
    out->host = p;
    out->bytes = bytes;
    out->flags = flags;
    return MLXN_OK;
}

static void cpu_mem_free(mlxn_device *dev, mlxn__mem *mem)
{
    (void)dev;
    free(mem->host);
}

static mlxn_status cpu_mem_write(mlxn_device *dev, uint64_t addr, const void *src,
                                 size_t n)
{
    (void)dev;
    memcpy((void *)(uintptr_t)addr, src, n);
    return MLXN_OK;
}

static mlxn_status cpu_mem_read(mlxn_device *dev, uint64_t addr, void *dst, size_t n)
{
    (void)dev;
    memcpy(dst, (const void *)(uintptr_t)addr, n);
    return MLXN_OK;
}

static mlxn_status cpu_mem_fill(mlxn_device *dev, uint64_t addr, uint8_t byte,
                                size_t n)
{
    (void)dev;
    memset((void *)(uintptr_t)addr, byte, n);
    return MLXN_OK;
}

static int cpu_kernel_count(const mlxn_device *dev)
{
    (void)dev;
    return mlxn__cpu_kernel_count;
}

static const char *cpu_kernel_name(const mlxn_device *dev, int i)
{
    (void)dev;
    return mlxn__cpu_kernels[i].name;
}

static mlxn_status cpu_kernel_resolve(mlxn_device *dev, const char *name, void **fn)
{
    for (int i = 0; i < mlxn__cpu_kernel_count; i++) {
        if (strcmp(mlxn__cpu_kernels[i].name, name) == 0) {
            *fn = (void *)mlxn__cpu_kernels[i].fn;
            return MLXN_OK;
        }
    }
    return mlxn__fail(dev, MLXN_ERR_NOT_FOUND, "cpu backend has no kernel '%s'", name);
}

const mlxn__backend mlxn__cpu_backend = {
    .name = "cpu",
    .open = cpu_open,
    .close = cpu_close,
    .info = cpu_info,
    .mem_alloc = cpu_mem_alloc,
    .mem_free = cpu_mem_free,
    .mem_write = cpu_mem_write,
    .mem_read = cpu_mem_read,
    .mem_fill = cpu_mem_fill,
    .kernel_count = cpu_kernel_count,
    .kernel_name = cpu_kernel_name,
    .kernel_resolve = cpu_kernel_resolve,
    .queue_open = mlxn__cpu_queue_open,
    .queue_close = mlxn__cpu_queue_close,
    .cb_init = mlxn__cpu_cb_init,
    .cb_fini = mlxn__cpu_cb_fini,
    .cb_begin = mlxn__cpu_cb_begin,
    .launch = mlxn__cpu_launch,
    .cb_submit = mlxn__cpu_cb_submit,
    .cb_wait = mlxn__cpu_cb_wait,
    .cb_query = mlxn__cpu_cb_query,
    .queue_sync = mlxn__cpu_queue_sync,
    .update = mlxn__cpu_update,
    .graph_build = mlxn__cpu_graph_build,
    .graph_free = mlxn__cpu_graph_free,
    .graph_launch = mlxn__cpu_graph_launch,
    .graph_set_node = mlxn__cpu_graph_set_node,
    .graph_edges = mlxn__cpu_graph_edges,
    .graph_timer_new = mlxn__cpu_timer_new,
    .graph_timer_free = mlxn__cpu_timer_free,
    .graph_timer_mark = mlxn__cpu_timer_mark,
    .graph_timer_elapsed = mlxn__cpu_timer_elapsed,
    .fence_init = mlxn__cpu_fence_init,
    .fence_fini = mlxn__cpu_fence_fini,
    .fence_signal = mlxn__cpu_fence_signal,
    .fence_wait = mlxn__cpu_fence_wait,
    .fence_host_signal = mlxn__cpu_fence_host_signal,
    .fence_host_wait = mlxn__cpu_fence_host_wait,
    .stamp_create = mlxn__cpu_stamp_create,
    .stamp_destroy = mlxn__cpu_stamp_destroy,
    .stamp_record = mlxn__cpu_stamp_record,
    .stamp_elapsed = mlxn__cpu_stamp_elapsed,
};
