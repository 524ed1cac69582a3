/*
 * cuda_backend.c: the CUDA backend through the driver API: the primary
 * context, embedded fatbin modules, memory (device and pinned mapped host),
 * streams as queues, events as command-buffer completion, and launches
 * with programmatic dependent launch.
 */
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/cuda_graph.h"
#include "backend/cuda/cuda_modules.h"
#include "params/timeline.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CU (mlxn__cuda_of(dev)->cu)

mlxn_status mlxn__cuda_bind(mlxn_device *dev)
{
    mlxn__cuda_device *cd = mlxn__cuda_of(dev);
    CUcontext cur = NULL;
    cd->cu->cuCtxGetCurrent(&cur);
    if (cur == cd->ctx)
        return MLXN_OK;
    CUresult r = cd->cu->cuCtxSetCurrent(cd->ctx);
    return r == CUDA_SUCCESS ? MLXN_OK : MLXN__CU_FAIL(dev, r, "cuCtxSetCurrent");
}

static void unload_modules(mlxn__cuda_device *cd)
{
    for (int i = 0; cd->modules && i < mlxn__cuda_module_count; i++)
        if (cd->modules[i])
            cd->cu->cuModuleUnload(cd->modules[i]);
    free(cd->modules);
    cd->modules = NULL;
}

/* The device timeline (mlxn_device_params.timeline, params/timeline.h):
 * one buffer of records that every module's mlxn_tl_buf points at. Only
 * modules built with -DMLXN_TIMELINE have the symbol; with none of them
 * the device cannot record, which creation reports. */
static mlxn_status timeline_attach(mlxn_device *dev, mlxn__cuda_device *cd)
{
    const size_t bytes = 8u * MLXN_TL_WORDS * ((size_t)MLXN_TL_CAP + 1);
    CUresult r = cd->cu->cuMemAlloc(&cd->timeline, bytes);
    if (r != CUDA_SUCCESS) {
        cd->timeline = 0;
        return MLXN__CU_FAIL(dev, r, "timeline: %zu bytes of records", bytes);
    }
    if ((r = cd->cu->cuMemsetD32Async(cd->timeline, 0, bytes / 4, cd->xfer)) != CUDA_SUCCESS)
        return MLXN__CU_FAIL(dev, r, "timeline: clearing the records");
    int stamped = 0;
    for (int i = 0; i < mlxn__cuda_module_count; i++) {
        CUdeviceptr sym;
        size_t n;
        if (cd->cu->cuModuleGetGlobal(&sym, &n, cd->modules[i], "mlxn_tl_buf") != CUDA_SUCCESS ||
            n != sizeof cd->timeline)
            continue;
        if ((r = cd->cu->cuMemcpyHtoDAsync(sym, &cd->timeline, n, cd->xfer)) != CUDA_SUCCESS)
            return MLXN__CU_FAIL(dev, r, "timeline: pointing %s.cu at the records",
                                 mlxn__cuda_modules[i].name);
        stamped++;
    }
    if ((r = cd->cu->cuStreamSynchronize(cd->xfer)) != CUDA_SUCCESS)
        return MLXN__CU_FAIL(dev, r, "timeline: setup");
    if (!stamped)
        return mlxn__fail(dev, MLXN_ERR_UNSUPPORTED,
                          "timeline: the CUDA kernels were built without -DMLXN_TIMELINE");
    return MLXN_OK;
}

static mlxn_status load_modules(mlxn_device *dev, mlxn__cuda_device *cd)
{
    cd->modules = calloc((size_t)(mlxn__cuda_module_count + 1), sizeof *cd->modules);
    if (!cd->modules)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "cuda: out of memory");
    for (int i = 0; i < mlxn__cuda_module_count; i++) {
        CUresult r = cd->cu->cuModuleLoadData(&cd->modules[i], mlxn__cuda_modules[i].begin);
        if (r != CUDA_SUCCESS)
            return MLXN__CU_FAIL(dev, r, "loading kernels of %s.cu", mlxn__cuda_modules[i].name);
    }
    return MLXN_OK;
}

static mlxn_status cuda_open(mlxn_device *dev, const mlxn_device_params *p)
{
    const mlxn__cu *cu = mlxn__cu_load();
    if (!cu)
        return MLXN_ERR_NO_DEVICE;
    int count = 0;
    CUresult r = cu->cuDeviceGetCount(&count);
    if (r != CUDA_SUCCESS || count == 0)
        return mlxn__fail(NULL, MLXN_ERR_NO_DEVICE, "no CUDA device found");
    if (p->ordinal >= count)
        return mlxn__fail(NULL, MLXN_ERR_NO_DEVICE, "CUDA device %d requested, %d present",
                          p->ordinal, count);
    mlxn__cuda_device *cd = calloc(1, sizeof *cd);
    if (!cd)
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "cuda: out of memory");
    cd->cu = cu;
    cd->pdl = p->pdl != 0;
    dev->backend_state = cd;
    mlxn_status st = MLXN_OK;
    if ((r = cu->cuDeviceGet(&cd->device, p->ordinal)) != CUDA_SUCCESS ||
        (r = cu->cuDevicePrimaryCtxRetain(&cd->ctx, cd->device)) != CUDA_SUCCESS) {
        st = MLXN__CU_FAIL(NULL, r, "opening CUDA device %d", p->ordinal);
        free(cd);
        dev->backend_state = NULL;
        return st;
    }
    char name[100] = "CUDA device";
    cu->cuDeviceGetName(name, sizeof name, cd->device);
    snprintf(dev->name, sizeof dev->name, "%s", name);
    cu->cuDeviceGetAttribute(&cd->sm_count, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                             cd->device);
    st = mlxn__cuda_bind(dev);
    if (st == MLXN_OK && (r = cu->cuStreamCreate(&cd->xfer, CU_STREAM_NON_BLOCKING)) != CUDA_SUCCESS)
        st = MLXN__CU_FAIL(dev, r, "cuStreamCreate");
    if (st == MLXN_OK)
        st = load_modules(dev, cd);
    if (st == MLXN_OK && p->timeline)
        st = timeline_attach(dev, cd);
    if (st != MLXN_OK) {
        if (cd->timeline)
            cu->cuMemFree(cd->timeline);
        unload_modules(cd);
        if (cd->xfer)
            cu->cuStreamDestroy(cd->xfer);
        cu->cuDevicePrimaryCtxRelease(cd->device);
        free(cd);
        dev->backend_state = NULL;
    }
    return st;
}

static void cuda_close(mlxn_device *dev)
{
    mlxn__cuda_device *cd = mlxn__cuda_of(dev);
    mlxn__cuda_bind(dev);
    cd->cu->cuCtxSynchronize();
    if (cd->timeline)
        cd->cu->cuMemFree(cd->timeline);
    mlxn__cuda_blas_close(dev);
    unload_modules(cd);
    cd->cu->cuStreamDestroy(cd->xfer);
    cd->cu->cuDevicePrimaryCtxRelease(cd->device);
    free(cd);
    dev->backend_state = NULL;
}

static mlxn_status cuda_info(const mlxn_device *dev, mlxn_device_info *out)
{
    mlxn__cuda_device *cd = mlxn__cuda_of(dev);
    const mlxn__cu *cu = cd->cu;
    int l2 = 0, persist = 0;
    size_t total = 0;
    out->multiprocessors = cd->sm_count;
    cu->cuDeviceGetAttribute(&l2, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, cd->device);
    cu->cuDeviceGetAttribute(&persist, CU_DEVICE_ATTRIBUTE_MAX_PERSISTING_L2_CACHE_SIZE,
                             cd->device);
    cu->cuDeviceGetAttribute(&out->compute_major,
                             CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, cd->device);
    cu->cuDeviceGetAttribute(&out->compute_minor,
                             CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, cd->device);
    cu->cuDeviceTotalMem(&total, cd->device);
    out->l2_bytes = l2;
    out->max_persisting_l2 = persist;
    out->memory_bytes = (int64_t)total;
    return MLXN_OK;
}

/* ---- memory ------------------------------------------------------------------------ */
static mlxn_status sync_xfer(mlxn_device *dev, CUresult r, const char *what)
{
    if (r == CUDA_SUCCESS)
        r = CU->cuStreamSynchronize(mlxn__cuda_of(dev)->xfer);
    return r == CUDA_SUCCESS ? MLXN_OK : MLXN__CU_FAIL(dev, r, "%s", what);
}

/* Device memory is allocated in whole 16-byte units (the bytes past the
 * buffer's end zeroed): the copy engine moves only whole aligned units,
 * so the int8-activation kernels may read up to the 16-byte boundary
 * after a weight's last row (kernels/cuda/matvec_x8_tma.cu). */
static mlxn_status cuda_mem_alloc(mlxn_device *dev, size_t bytes, unsigned flags,
                                  mlxn__mem *out)
{
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    CUresult r;
    out->bytes = bytes;
    out->flags = flags;
    if (bytes > SIZE_MAX - 15)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "a buffer of %zu bytes", bytes);
    bytes = (bytes + 15) & ~(size_t)15;
    if (flags & MLXN_BUFFER_HOST_VISIBLE) {
        void *host = NULL;
        CUdeviceptr dptr = 0;
        r = CU->cuMemHostAlloc(&host, bytes,
                               CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_PORTABLE);
        if (r != CUDA_SUCCESS)
            return MLXN__CU_FAIL(dev, r, "cuMemHostAlloc(%zu bytes)", bytes);
        memset(host, 0, bytes);
        r = CU->cuMemHostGetDevicePointer(&dptr, host, 0);
        if (r != CUDA_SUCCESS) {
            CU->cuMemFreeHost(host);
            return MLXN__CU_FAIL(dev, r, "cuMemHostGetDevicePointer");
        }
        out->addr = dptr;
        out->host = host;
        return MLXN_OK;
    }
    CUdeviceptr dptr = 0;
    r = CU->cuMemAlloc(&dptr, bytes);
    if (r != CUDA_SUCCESS)
        return MLXN__CU_FAIL(dev, r, "cuMemAlloc(%zu bytes)", bytes);
    st = sync_xfer(dev, CU->cuMemsetD8Async(dptr, 0, bytes, mlxn__cuda_of(dev)->xfer),
                   "zero-filling a new buffer");
    if (st != MLXN_OK) {
        CU->cuMemFree(dptr);
        return st;
    }
    out->addr = dptr;
    out->host = NULL;
    return MLXN_OK;
}

static void cuda_mem_free(mlxn_device *dev, mlxn__mem *mem)
{
    if (mlxn__cuda_bind(dev) != MLXN_OK)
        return;
    if (mem->host)
        CU->cuMemFreeHost(mem->host);
    else
        CU->cuMemFree((CUdeviceptr)mem->addr);
}

static mlxn_status cuda_mem_write(mlxn_device *dev, uint64_t addr, const void *src,
                                  size_t n)
{
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    return sync_xfer(dev, CU->cuMemcpyHtoDAsync(addr, src, n, mlxn__cuda_of(dev)->xfer),
                     "copying to the device");
}

static mlxn_status cuda_mem_read(mlxn_device *dev, uint64_t addr, void *dst, size_t n)
{
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    return sync_xfer(dev, CU->cuMemcpyDtoHAsync(dst, addr, n, mlxn__cuda_of(dev)->xfer),
                     "copying from the device");
}

/* The timeline's records (the count, then that many, at most the cap). */
static mlxn_status cuda_timeline_read(mlxn_device *dev, uint64_t **words, size_t *n)
{
    mlxn__cuda_device *cd = mlxn__cuda_of(dev);
    uint64_t count = 0;
    mlxn_status st = cuda_mem_read(dev, cd->timeline, &count, sizeof count);
    if (st != MLXN_OK)
        return st;
    const size_t nw = MLXN_TL_WORDS * (size_t)((count < MLXN_TL_CAP ? count : MLXN_TL_CAP) + 1);
    uint64_t *w = malloc(nw * sizeof *w);
    if (!w)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "timeline: out of memory");
    st = cuda_mem_read(dev, cd->timeline, w, nw * sizeof *w);
    if (st != MLXN_OK) {
        free(w);
        return st;
    }
    *words = w;
    *n = nw;
    return MLXN_OK;
}

static mlxn_status cuda_mem_fill(mlxn_device *dev, uint64_t addr, uint8_t byte, size_t n)
{
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    return sync_xfer(dev, CU->cuMemsetD8Async(addr, byte, n, mlxn__cuda_of(dev)->xfer),
                     "filling device memory");
}

/* ---- kernels ------------------------------------------------------------------------ */
static int cuda_kernel_count(const mlxn_device *dev)
{
    (void)dev;
    return mlxn__cuda_kernel_count;
}

static const char *cuda_kernel_name(const mlxn_device *dev, int i)
{
    (void)dev;
    return mlxn__cuda_kernels[i].name;
}

static mlxn_status cuda_kernel_resolve(mlxn_device *dev, const char *name, void **fn)
{
    int module = -1;
    for (int i = 0; i < mlxn__cuda_kernel_count; i++)
        if (strcmp(mlxn__cuda_kernels[i].name, name) == 0)
            module = mlxn__cuda_kernels[i].module;
    if (module < 0)
        return mlxn__fail(dev, MLXN_ERR_NOT_FOUND, "cuda backend has no kernel '%s'", name);
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    CUfunction f = NULL;
    CUresult r = CU->cuModuleGetFunction(&f, mlxn__cuda_of(dev)->modules[module], name);
    if (r != CUDA_SUCCESS)
        return MLXN__CU_FAIL(dev, r, "cuModuleGetFunction(%s)", name);
    /* Load now rather than at the first launch (lazy loading costs
     * ~100 us there, inside a timed or captured region). */
    r = CU->cuFuncLoad(f);
    if (r != CUDA_SUCCESS)
        return MLXN__CU_FAIL(dev, r, "cuFuncLoad(%s)", name);
    *fn = f;
    return MLXN_OK;
}

/* ---- queues and command buffers ----------------------------------------------------- */
static mlxn_status cuda_queue_open(mlxn_device *dev, mlxn_queue *q)
{
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    mlxn__cuda_queue *cq = calloc(1, sizeof *cq);
    if (!cq)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "queue: out of memory");
    CUresult r = CU->cuStreamCreate(&cq->stream, CU_STREAM_NON_BLOCKING);
    if (r != CUDA_SUCCESS) {
        free(cq);
        return MLXN__CU_FAIL(dev, r, "cuStreamCreate");
    }
    q->backend_state = cq;
    return MLXN_OK;
}

static void cuda_queue_close(mlxn_queue *q)
{
    mlxn_device *dev = q->dev;
    mlxn__cuda_queue *cq = q->backend_state;
    mlxn__cuda_bind(dev);
    CU->cuStreamSynchronize(cq->stream);
    CU->cuStreamDestroy(cq->stream);
    free(cq);
}

static mlxn_status cuda_queue_sync(mlxn_queue *q)
{
    mlxn_device *dev = q->dev;
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    CUresult r = CU->cuStreamSynchronize(mlxn__cuda_stream(q));
    return r == CUDA_SUCCESS ? MLXN_OK : MLXN__CU_FAIL(dev, r, "synchronizing a queue");
}

static mlxn_status cuda_cb_init(mlxn__cb *cb)
{
    mlxn_device *dev = cb->queue->dev;
    mlxn__cuda_cb *c = calloc(1, sizeof *c);
    if (!c)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "command buffer: out of memory");
    CUresult r = CU->cuEventCreate(&c->done, CU_EVENT_DISABLE_TIMING);
    if (r != CUDA_SUCCESS) {
        free(c);
        return MLXN__CU_FAIL(dev, r, "cuEventCreate");
    }
    cb->backend_state = c;
    return MLXN_OK;
}

static void cuda_cb_fini(mlxn__cb *cb)
{
    mlxn_device *dev = cb->queue->dev;
    mlxn__cuda_cb *c = cb->backend_state;
    mlxn__cuda_bind(dev);
    CU->cuEventDestroy(c->done);
    free(c);
}

static mlxn_status cuda_cb_begin(mlxn__cb *cb)
{
    return mlxn__cuda_bind(cb->queue->dev);
}

static mlxn_status cuda_launch(mlxn__cb *cb, const mlxn__launch *l)
{
    mlxn_device *dev = cb->queue->dev;
    mlxn__cuda_device *cd = mlxn__cuda_of(dev);
    CUfunction f = (CUfunction)l->fn;
    CUresult r;
    if (l->shared_bytes > 48 * 1024) {
        r = CU->cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                   (int)l->shared_bytes);
        if (r != CUDA_SUCCESS)
            return MLXN__CU_FAIL(dev, r, "%s: %u bytes of shared memory", l->name,
                                 l->shared_bytes);
    }
    CUlaunchAttribute attr;
    memset(&attr, 0, sizeof attr);
    attr.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attr.value.programmaticStreamSerializationAllowed = 1;
    CUlaunchConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.gridDimX = l->grid.x;
    cfg.gridDimY = l->grid.y;
    cfg.gridDimZ = l->grid.z;
    cfg.blockDimX = l->block.x;
    cfg.blockDimY = l->block.y;
    cfg.blockDimZ = l->block.z;
    cfg.sharedMemBytes = l->shared_bytes;
    cfg.hStream = mlxn__cuda_stream(cb->queue);
    cfg.attrs = cd->pdl ? &attr : NULL;
    cfg.numAttrs = cd->pdl ? 1 : 0;
    r = CU->cuLaunchKernelEx(&cfg, f, (void **)l->argv, NULL);
    if (r != CUDA_SUCCESS)
        return MLXN__CU_FAIL(dev, r, "launching %s (grid %ux%ux%u, block %ux%ux%u)",
                             l->name, l->grid.x, l->grid.y, l->grid.z, l->block.x,
                             l->block.y, l->block.z);
    return MLXN_OK;
}

static mlxn_status cuda_cb_submit(mlxn__cb *cb)
{
    mlxn_device *dev = cb->queue->dev;
    mlxn__cuda_cb *c = cb->backend_state;
    CUresult r = CU->cuEventRecord(c->done, mlxn__cuda_stream(cb->queue));
    return r == CUDA_SUCCESS ? MLXN_OK
                             : MLXN__CU_FAIL(dev, r, "committing '%s'", cb->label);
}

static mlxn_status completion_error(mlxn__cb *cb, CUresult r)
{
    return MLXN__CU_FAIL(cb->queue->dev, r, "command buffer '%s' (%d dispatches)",
                         cb->label, cb->n_dispatches);
}

static mlxn_status cuda_cb_wait(mlxn__cb *cb)
{
    mlxn_device *dev = cb->queue->dev;
    mlxn_status st = mlxn__cuda_bind(dev);
    if (st != MLXN_OK)
        return st;
    mlxn__cuda_cb *c = cb->backend_state;
    CUresult r = CU->cuEventSynchronize(c->done);
    return r == CUDA_SUCCESS ? MLXN_OK : completion_error(cb, r);
}

static int cuda_cb_query(mlxn__cb *cb)
{
    mlxn_device *dev = cb->queue->dev;
    mlxn__cuda_cb *c = cb->backend_state;
    CUresult r = CU->cuEventQuery(c->done);
    if (r == CUDA_ERROR_NOT_READY)
        return 0;
    if (r == CUDA_SUCCESS)
        return 1;
    return -(int)completion_error(cb, r);
}

/* Small ordered writes become stream memory operations that carry their
 * values: no staging memory, no host synchronisation. */
static mlxn_status cuda_update(mlxn__cb *cb, uint64_t addr, const void *data, size_t n)
{
    mlxn_device *dev = cb->queue->dev;
    CUstream s = mlxn__cuda_stream(cb->queue);
    const uint8_t *p = data;
    for (size_t i = 0; i < n;) {
        CUresult r;
        if ((addr + i) % 8 == 0 && n - i >= 8) {
            uint64_t v;
            memcpy(&v, p + i, 8);
            r = CU->cuStreamWriteValue64(s, addr + i, v, CU_STREAM_WRITE_VALUE_DEFAULT);
            i += 8;
        } else {
            uint32_t v;
            memcpy(&v, p + i, 4);
            r = CU->cuStreamWriteValue32(s, addr + i, v, CU_STREAM_WRITE_VALUE_DEFAULT);
            i += 4;
        }
        if (r != CUDA_SUCCESS)
            return MLXN__CU_FAIL(dev, r, "update_buffer: cuStreamWriteValue");
    }
    return MLXN_OK;
}

const mlxn__backend mlxn__cuda_backend = {
    .name = "cuda",
    .open = cuda_open,
    .close = cuda_close,
    .info = cuda_info,
    .timeline_read = cuda_timeline_read,
    .mem_alloc = cuda_mem_alloc,
    .mem_free = cuda_mem_free,
    .mem_write = cuda_mem_write,
    .mem_read = cuda_mem_read,
    .mem_fill = cuda_mem_fill,
    .kernel_count = cuda_kernel_count,
    .kernel_name = cuda_kernel_name,
    .kernel_resolve = cuda_kernel_resolve,
    .queue_open = cuda_queue_open,
    .queue_close = cuda_queue_close,
    .cb_init = cuda_cb_init,
    .cb_fini = cuda_cb_fini,
    .cb_begin = cuda_cb_begin,
    .launch = cuda_launch,
    .cb_submit = cuda_cb_submit,
    .cb_wait = cuda_cb_wait,
    .cb_query = cuda_cb_query,
    .queue_sync = cuda_queue_sync,
    .update = cuda_update,
    .graph_build = mlxn__cuda_graph_build,
    .graph_free = mlxn__cuda_graph_free,
    .graph_launch = mlxn__cuda_graph_launch,
    .graph_set_node = mlxn__cuda_graph_set_node,
    .graph_edges = mlxn__cuda_graph_edges,
    .graph_timer_new = mlxn__cuda_timer_new,
    .graph_timer_free = mlxn__cuda_timer_free,
    .graph_timer_mark = mlxn__cuda_timer_mark,
    .graph_timer_elapsed = mlxn__cuda_timer_elapsed,
    .fence_init = mlxn__cuda_fence_init,
    .fence_fini = mlxn__cuda_fence_fini,
    .fence_signal = mlxn__cuda_fence_signal,
    .fence_wait = mlxn__cuda_fence_wait,
    .fence_host_signal = mlxn__cuda_fence_host_signal,
    .fence_host_wait = mlxn__cuda_fence_host_wait,
    .stamp_create = mlxn__cuda_stamp_create,
    .stamp_destroy = mlxn__cuda_stamp_destroy,
    .stamp_record = mlxn__cuda_stamp_record,
    .stamp_elapsed = mlxn__cuda_stamp_elapsed,
    .capture_start = mlxn__cuda_capture_start,
    .capture_stop = mlxn__cuda_capture_stop,
    .residency_limit = mlxn__cuda_residency_limit,
    .residency_window = mlxn__cuda_residency_window,
    .gemm_available = mlxn__cuda_gemm_available,
    .gemm = mlxn__cuda_gemm,
};
