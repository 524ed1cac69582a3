/*
 * mlxn.h: the public C API of mlxn, a library for transformer inference on
 * NVIDIA GPUs (CUDA) with a portable CPU backend.
 *
 * This header is the manual. Conventions that hold for every call:
 *  - Fallible calls return mlxn_status and write results through
 *    out-parameters. A call that fails has no effect: nothing is queued,
 *    nothing is signalled, nothing leaks. Detail goes to mlxn_last_error().
 *  - Objects are opaque handles created with mlxn_<object>_create and
 *    released with mlxn_<object>_destroy; destroying NULL is a no-op.
 *  - The library reads no environment variables; every switch is a field of
 *    a params struct, each with an mlxn_<x>_params_default().
 *  - No CUDA type appears here; CUDA interop lives in mlxn_cuda.h.
 */
#ifndef MLXN_H
#define MLXN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Status codes and errors
 * ------------------------------------------------------------------------- */

/* X(name, text): one list generates the enum and mlxn_status_name(). */
#define MLXN_STATUS_LIST(X)                                                    \
    X(OK, "ok")                                                                \
    X(ERR_INVALID_ARG, "invalid argument")                                     \
    X(ERR_OUT_OF_MEMORY, "out of memory")                                      \
    X(ERR_UNSUPPORTED, "unsupported")                                          \
    X(ERR_NO_DEVICE, "no device")                                              \
    X(ERR_NOT_FOUND, "not found")                                              \
    X(ERR_IO, "i/o error")                                                     \
    X(ERR_FORMAT, "malformed input")                                           \
    X(ERR_GPU, "device error")                                                 \
    X(ERR_TIMEOUT, "timeout")                                                  \
    X(ERR_STATE, "wrong state")

typedef enum mlxn_status {
#define MLXN__STATUS_ENUM(name, text) MLXN_##name,
    MLXN_STATUS_LIST(MLXN__STATUS_ENUM)
#undef MLXN__STATUS_ENUM
        MLXN_STATUS_COUNT
} mlxn_status;

typedef struct mlxn_device mlxn_device;

/* Short name of a status ("out of memory"). Never NULL. */
const char *mlxn_status_name(mlxn_status status);

/* The message of the last failed call, e.g. "norm.cu:88: CUDA_ERROR_...".
 * With a device: the last error of any call on that device or its objects.
 * With NULL: the last error raised on the calling thread (the only place
 * that calls without a device, such as mlxn_device_create, report to).
 * The string stays valid until the next failing call on the same handle or
 * thread. Returns "" when there was none. */
const char *mlxn_last_error(const mlxn_device *dev);

/* ---------------------------------------------------------------------------
 * Element types
 * ------------------------------------------------------------------------- */

/* X(name, block_elems, block_bytes): a dtype stores block_elems elements in
 * block_bytes bytes. Plain types have blocks of one element. GGUF block
 * formats follow ggml's layouts (ggml/src/ggml-common.h). MLX affine formats
 * are not listed: they are plain U32 words plus scales and biases. */
#define MLXN_DTYPE_LIST(X)                                                     \
    X(F32, 1, 4)                                                               \
    X(F16, 1, 2)                                                               \
    X(BF16, 1, 2)                                                              \
    X(I32, 1, 4)                                                               \
    X(U32, 1, 4)                                                               \
    X(I8, 1, 1)                                                                \
    X(U8, 1, 1)                                                                \
    X(I64, 1, 8)                                                               \
    X(Q4_0, 32, 18)                                                            \
    X(Q4_1, 32, 20)                                                            \
    X(Q5_0, 32, 22)                                                            \
    X(Q5_1, 32, 24)                                                            \
    X(Q8_0, 32, 34)                                                            \
    X(Q2_K, 256, 84)                                                           \
    X(Q3_K, 256, 110)                                                          \
    X(Q4_K, 256, 144)                                                          \
    X(Q5_K, 256, 176)                                                          \
    X(Q6_K, 256, 210)

typedef enum mlxn_dtype {
#define MLXN__DTYPE_ENUM(name, be, bb) MLXN_DTYPE_##name,
    MLXN_DTYPE_LIST(MLXN__DTYPE_ENUM)
#undef MLXN__DTYPE_ENUM
        MLXN_DTYPE_COUNT
} mlxn_dtype;

/* Lowercase name ("f32", "q4_0"), or "?" for a value out of range. */
const char *mlxn_dtype_name(mlxn_dtype dtype);
/* Parse a name as printed by mlxn_dtype_name; returns 0 on success. */
int mlxn_dtype_from_name(const char *name, mlxn_dtype *out);
/* Elements per block (1 for plain types) and bytes per block. */
int64_t mlxn_dtype_block_elems(mlxn_dtype dtype);
int64_t mlxn_dtype_block_bytes(mlxn_dtype dtype);
/* Bytes of n elements; -1 when n is not a multiple of the block size or the
 * product overflows. */
int64_t mlxn_dtype_bytes(mlxn_dtype dtype, int64_t n);

/* ---------------------------------------------------------------------------
 * Devices and queues
 * ------------------------------------------------------------------------- */

typedef enum mlxn_backend {
    MLXN_BACKEND_AUTO = 0, /* CUDA when a usable GPU is present, else CPU */
    MLXN_BACKEND_CPU = 1,
    MLXN_BACKEND_CUDA = 2
} mlxn_backend;

/* Profiling switches (mlxn_device_params.profile). */
enum {
    MLXN_PROFILE_COMMAND_BUFFERS = 1u << 0, /* GPU time per command buffer */
    MLXN_PROFILE_DISPATCHES = 1u << 1,      /* GPU time per dispatch */
    MLXN_PROFILE_NVTX = 1u << 2             /* NVTX ranges for labels */
};

typedef struct mlxn_device_params {
    mlxn_backend backend; /* default MLXN_BACKEND_AUTO */
    int ordinal;          /* CUDA device index; default 0 */
    int cpu_threads;      /* CPU backend worker threads; 0 = online cores */
    /* Launch CUDA kernels with programmatic dependent launch; default 1. */
    int pdl;
    unsigned profile; /* MLXN_PROFILE_* bits; default 0 */
    /* Matrix-vector products of one row of x with 4-bit weights (MLX
     * 4-bit, GGUF Q4_0 as the loaders store it, GGUF Q4_K) or immutable
     * GGUF Q6_K (k a multiple of 2048), Q8_0 (of 256) and MLX 8-bit (of 8
     * groups) weights: 0 (default)
     * rounds x to 8 bits per block of 32 values (scale max|x| / 127, as
     * llama.cpp's q8_1) and forms exact integer dot products per block,
     * scaled in f32 (matvec_x8_*; relative error of x up to 1/254 of a
     * block's largest |x|), about twice as fast; 1 keeps x in f32. */
    int matvec_exact;
    /* 1: record the device timeline, a diagnostic: CUDA kernels built
     * with -DMLXN_TIMELINE stamp every block of the decode products,
     * rope_kv and decode attention (kernels/params/timeline.h) into a
     * buffer of the device, which mlxn_device_timeline_write saves.
     * Creation fails with MLXN_ERR_UNSUPPORTED on the CPU and when the
     * kernels were built without the stamps. Default 0. */
    int timeline;
} mlxn_device_params;

mlxn_device_params mlxn_device_params_default(void);

/* Create a device. MLXN_BACKEND_CUDA fails with MLXN_ERR_NO_DEVICE and a
 * message ("no CUDA driver: libcuda.so.1 not found", "built without CUDA")
 * when no GPU can be used; AUTO then falls back to the CPU. */
mlxn_status mlxn_device_create(const mlxn_device_params *params,
                               mlxn_device **out);
/* Waits for all queued work, then frees everything the device owns. */
void mlxn_device_destroy(mlxn_device *dev);

mlxn_backend mlxn_device_backend(const mlxn_device *dev);
/* Human-readable device name ("NVIDIA H200", "cpu (16 threads)"). */
const char *mlxn_device_name(const mlxn_device *dev);

typedef struct mlxn_device_info {
    int multiprocessors;        /* SMs on CUDA; worker threads on the CPU */
    int64_t memory_bytes;       /* total device memory */
    int64_t l2_bytes;           /* L2 cache size; 0 on the CPU */
    int64_t max_persisting_l2;  /* L2 bytes that can be set aside; 0 on CPU */
    int compute_major, compute_minor; /* 0 on the CPU */
} mlxn_device_info;

mlxn_status mlxn_device_get_info(const mlxn_device *dev, mlxn_device_info *out);

/* The sticky status: MLXN_OK, or the first device error (a kernel fault)
 * that made the device unusable. Once set, every later call that would use
 * the device returns it. */
mlxn_status mlxn_device_status(const mlxn_device *dev);

/* Wait until every queue of the device is idle. */
mlxn_status mlxn_device_synchronize(mlxn_device *dev);

/* Wait for the device, then write its timeline records (format in
 * kernels/params/timeline.h; scripts/timeline.py reads them) to `path`.
 * *taken (may be NULL): the records the kernels took, which may exceed
 * the ones kept (MLXN_TL_CAP). MLXN_ERR_STATE when the device was created
 * without mlxn_device_params.timeline, MLXN_ERR_IO when the file cannot
 * be written. */
mlxn_status mlxn_device_timeline_write(mlxn_device *dev, const char *path, uint64_t *taken);

/* Queues execute their command buffers in submission order. The device
 * owns a default queue; more can be created for concurrent work. */
typedef struct mlxn_queue mlxn_queue;

mlxn_queue *mlxn_device_default_queue(mlxn_device *dev);
mlxn_status mlxn_queue_create(mlxn_device *dev, mlxn_queue **out);
/* Waits for the queue's work, then destroys it. The default queue cannot
 * be destroyed (the call is a no-op). */
void mlxn_queue_destroy(mlxn_queue *queue);
/* Wait until everything committed to the queue has completed. */
mlxn_status mlxn_queue_synchronize(mlxn_queue *queue);

/* ---------------------------------------------------------------------------
 * Buffers, views and the buffer pool
 * ------------------------------------------------------------------------- */

#define MLXN_MAX_DIMS 4

typedef struct mlxn_buffer mlxn_buffer;

enum {
    /* Memory the host can read and write directly (pinned, device-mapped
     * host memory on CUDA). mlxn_buffer_contents() returns its address. */
    MLXN_BUFFER_HOST_VISIBLE = 1u << 0
};

typedef struct mlxn_buffer_params {
    /* Size in bytes. 0 = computed from dtype and shape. */
    size_t bytes;
    mlxn_dtype dtype;             /* default MLXN_DTYPE_U8 */
    int ndim;                     /* 0..MLXN_MAX_DIMS; default 1 */
    int64_t shape[MLXN_MAX_DIMS]; /* outermost first; elements */
    unsigned flags;               /* MLXN_BUFFER_* */
} mlxn_buffer_params;

mlxn_buffer_params mlxn_buffer_params_default(void);

/* Allocate a zero-filled buffer. When both bytes and a shape are given,
 * bytes must be at least what the shape needs. */
mlxn_status mlxn_buffer_create(mlxn_device *dev, const mlxn_buffer_params *p,
                               mlxn_buffer **out);

/* Shorthand: a zero-filled tensor of the given dtype and shape. */
mlxn_status mlxn_buffer_create_tensor(mlxn_device *dev, mlxn_dtype dtype,
                                      int ndim, const int64_t *shape,
                                      mlxn_buffer **out);

/* A view shares the parent's memory from byte `offset` on, with its own
 * dtype and shape (its size is what the shape needs and must fit inside the
 * parent). Views of views add offsets. A view keeps its parent's memory
 * alive; destroy it like any buffer. */
mlxn_status mlxn_buffer_view(mlxn_buffer *parent, size_t offset,
                             mlxn_dtype dtype, int ndim, const int64_t *shape,
                             mlxn_buffer **out);

/* Release the caller's reference. Memory still used by committed work is
 * freed when that work completes. */
void mlxn_buffer_destroy(mlxn_buffer *buf);

size_t mlxn_buffer_bytes(const mlxn_buffer *buf);
/* Byte offset of a view inside its root allocation (0 for allocations). */
size_t mlxn_buffer_offset(const mlxn_buffer *buf);
mlxn_dtype mlxn_buffer_dtype(const mlxn_buffer *buf);
int mlxn_buffer_ndim(const mlxn_buffer *buf);
/* Dimension i (outermost first), or 0 when i is out of range. */
int64_t mlxn_buffer_dim(const mlxn_buffer *buf, int i);
/* Product of the shape. */
int64_t mlxn_buffer_elems(const mlxn_buffer *buf);
mlxn_device *mlxn_buffer_device(const mlxn_buffer *buf);

/* Change the dtype and shape a buffer describes; the new shape must fit. */
mlxn_status mlxn_buffer_reshape(mlxn_buffer *buf, mlxn_dtype dtype, int ndim,
                                const int64_t *shape);

/* Copy between host memory and the buffer, starting `offset` bytes into
 * the view. These do not wait for queued work that uses the buffer: wait
 * for it first (mlxn_encoder_wait, mlxn_queue_synchronize). */
mlxn_status mlxn_buffer_write(mlxn_buffer *buf, size_t offset, const void *src,
                              size_t n);
mlxn_status mlxn_buffer_read(const mlxn_buffer *buf, size_t offset, void *dst,
                             size_t n);
/* Fill n bytes from `offset` with `byte` (tests poison outputs this way). */
mlxn_status mlxn_buffer_fill(mlxn_buffer *buf, size_t offset, uint8_t byte,
                             size_t n);

/* Host address of the view's first byte, for host-visible buffers and for
 * every buffer on the CPU backend; NULL otherwise. */
void *mlxn_buffer_contents(mlxn_buffer *buf);

/* A pool hands out buffers from power-of-two buckets and reuses them
 * without re-zeroing: contents of a reused buffer are whatever the last
 * user left. mlxn_pool_reset returns every buffer handed out since the last
 * reset; the handles it returned become invalid. Typical use: one reset per
 * token for scratch tensors. */
typedef struct mlxn_pool mlxn_pool;

mlxn_status mlxn_pool_create(mlxn_device *dev, mlxn_pool **out);
void mlxn_pool_destroy(mlxn_pool *pool);
/* A buffer of at least `bytes` (rounded up to a power of two, minimum 256),
 * described as `bytes` U8 elements. Owned by the pool: do not destroy it. */
mlxn_status mlxn_pool_alloc(mlxn_pool *pool, size_t bytes, mlxn_buffer **out);
void mlxn_pool_reset(mlxn_pool *pool);

typedef struct mlxn_pool_stats {
    size_t reserved_bytes; /* total bytes of all allocations the pool holds */
    size_t in_use_bytes;   /* bucket bytes handed out since the last reset */
    uint64_t allocations;  /* device allocations made (misses) */
    uint64_t reuses;       /* requests served from a free list (hits) */
} mlxn_pool_stats;

void mlxn_pool_get_stats(const mlxn_pool *pool, mlxn_pool_stats *out);

/* ---------------------------------------------------------------------------
 * Kernels
 * ------------------------------------------------------------------------- */

/* A kernel is a named device function (e.g. "rms_norm_f32") that exists on
 * every backend with the same argument layout. The registry resolves a name
 * on first use and caches it; handles live as long as the device. */
typedef struct mlxn_kernel mlxn_kernel;

mlxn_status mlxn_kernel_get(mlxn_device *dev, const char *name,
                            mlxn_kernel **out);
const char *mlxn_kernel_name(const mlxn_kernel *kernel);

/* Number of kernels this backend provides, and the name of the i-th. */
int mlxn_kernel_count(const mlxn_device *dev);
const char *mlxn_kernel_name_at(const mlxn_device *dev, int i);

/* ---------------------------------------------------------------------------
 * The command encoder
 * ------------------------------------------------------------------------- */

typedef struct mlxn_dim3 {
    uint32_t x, y, z;
} mlxn_dim3;

/* What a dispatch does, for the fusion and reorder passes. Kinds marked
 * (barrier) are not reorderable: they stop the reorder lookahead. */
#define MLXN_OP_KIND_LIST(X)                                                   \
    X(OTHER, "other", 0) /* (barrier) */                                       \
    X(MATMUL, "matmul", 1)                                                     \
    X(RMS_NORM, "rms_norm", 1)                                                 \
    X(ELEM_MUL, "elem_mul", 1)                                                 \
    X(ELEM_ADD, "elem_add", 1)                                                 \
    X(ELEM_SCALE, "elem_scale", 1)                                             \
    X(ROPE, "rope", 1)                                                         \
    X(SOFTMAX, "softmax", 0) /* (barrier) */                                   \
    X(ATTENTION, "attention", 0) /* (barrier) */                               \
    X(KV_WRITE, "kv_write", 1)                                                 \
    X(EMBED, "embed", 1)                                                       \
    X(ACTIVATION, "activation", 1)                                             \
    X(COPY, "copy", 1)                                                         \
    X(REDUCE, "reduce", 1)                                                     \
    X(SAMPLE, "sample", 1)                                                     \
    X(MOE_GATE, "moe_gate", 0) /* (barrier) */                                 \
    X(FUSED_NORM_MUL, "fused_norm_mul", 1)

typedef enum mlxn_op_kind {
#define MLXN__KIND_ENUM(name, text, reorderable) MLXN_OP_##name,
    MLXN_OP_KIND_LIST(MLXN__KIND_ENUM)
#undef MLXN__KIND_ENUM
        MLXN_OP_KIND_COUNT
} mlxn_op_kind;

const char *mlxn_op_kind_name(mlxn_op_kind kind);
/* 1 when dispatches of this kind may be moved by the reorder pass. */
int mlxn_op_kind_reorderable(mlxn_op_kind kind);

/* A byte range of a buffer read or written by a dispatch. bytes == 0 means
 * "from offset to the end of the view". Ranges are compared on the memory
 * they cover (views of one allocation overlap only where their bytes do). */
typedef struct mlxn_range {
    mlxn_buffer *buf;
    size_t offset;
    size_t bytes;
} mlxn_range;

/* One kernel argument (a "slot"): a buffer, a buffer at an extra byte
 * offset, or inline bytes passed by value (a parameter struct). */
typedef enum mlxn_arg_kind {
    MLXN_ARG_BUFFER = 1,
    MLXN_ARG_BYTES = 2
} mlxn_arg_kind;

typedef struct mlxn_arg {
    mlxn_arg_kind kind;
    mlxn_buffer *buf;  /* MLXN_ARG_BUFFER */
    size_t offset;     /* extra bytes past the view's own offset */
    const void *bytes; /* MLXN_ARG_BYTES: copied at encode time */
    size_t size;       /* MLXN_ARG_BYTES: at most MLXN_MAX_ARG_BYTES */
} mlxn_arg;

#define MLXN_MAX_ARGS 16
#define MLXN_MAX_ARG_BYTES 512
#define MLXN_MAX_RANGES 8

/* Argument constructors. */
mlxn_arg mlxn_arg_buffer(mlxn_buffer *buf);
mlxn_arg mlxn_arg_buffer_at(mlxn_buffer *buf, size_t offset);
mlxn_arg mlxn_arg_bytes(const void *bytes, size_t size);
/* The whole view as a range. */
mlxn_range mlxn_range_of(mlxn_buffer *buf);

/* A complete dispatch. grid counts thread blocks; block counts threads per
 * block. reads and writes are optional: they drive barrier inference and
 * the graph passes. */
typedef struct mlxn_dispatch {
    mlxn_kernel *kernel;
    const mlxn_arg *args;
    int n_args;
    mlxn_dim3 grid;
    mlxn_dim3 block;
    uint32_t shared_bytes; /* dynamic shared memory per block */
    mlxn_op_kind kind;
    const mlxn_range *reads;
    int n_reads;
    const mlxn_range *writes;
    int n_writes;
} mlxn_dispatch;

typedef struct mlxn_encoder mlxn_encoder;

typedef struct mlxn_encoder_params {
    mlxn_queue *queue; /* NULL = the device's default queue */
    /* Infer barriers from each dispatch's read/write ranges instead of
     * emitting them where the caller asks (mlxn_encoder_barrier is then
     * counted as elided when nothing conflicts). Default 0. */
    int auto_barrier;
    const char *label; /* label of the first command buffer; copied */
} mlxn_encoder_params;

mlxn_encoder_params mlxn_encoder_params_default(void);

/* An encoder batches dispatches into command buffers on one queue. It is
 * persistent: after each commit it opens a new command buffer. On CUDA,
 * direct-mode dispatches start on the GPU as they are encoded; on the CPU
 * they run when committed. Not thread-safe: one thread at a time. */
mlxn_status mlxn_encoder_create(mlxn_device *dev, const mlxn_encoder_params *p,
                                mlxn_encoder **out);
/* Waits for everything the encoder committed, then destroys it.
 * Uncommitted dispatches are committed first. */
void mlxn_encoder_destroy(mlxn_encoder *enc);
mlxn_device *mlxn_encoder_device(const mlxn_encoder *enc);

/* Encode one dispatch. In capture mode it is recorded instead. */
mlxn_status mlxn_encoder_dispatch(mlxn_encoder *enc, const mlxn_dispatch *d);

/* The seed-style stateful form: bind slots, then dispatch. Bindings are
 * cleared after every dispatch. */
mlxn_status mlxn_encoder_set_kernel(mlxn_encoder *enc, mlxn_kernel *kernel);
mlxn_status mlxn_encoder_set_buffer(mlxn_encoder *enc, int slot,
                                    mlxn_buffer *buf);
mlxn_status mlxn_encoder_set_buffer_offset(mlxn_encoder *enc, int slot,
                                           mlxn_buffer *buf, size_t offset);
mlxn_status mlxn_encoder_set_bytes(mlxn_encoder *enc, int slot,
                                   const void *bytes, size_t size);
mlxn_status mlxn_encoder_set_shared_bytes(mlxn_encoder *enc, uint32_t bytes);
/* Launch ceil(threads / block) blocks of `block` threads. */
mlxn_status mlxn_encoder_dispatch_threads(mlxn_encoder *enc, mlxn_dim3 threads,
                                          mlxn_dim3 block);
/* Launch `groups` blocks of `block` threads. */
mlxn_status mlxn_encoder_dispatch_groups(mlxn_encoder *enc, mlxn_dim3 groups,
                                         mlxn_dim3 block);

/* Op kind and ranges for the next dispatch only (for dispatches encoded by
 * code that does not annotate, as the seed's set_op_kind and
 * set_pending_buffer_ranges). */
mlxn_status mlxn_encoder_set_op_kind(mlxn_encoder *enc, mlxn_op_kind kind);
mlxn_status mlxn_encoder_set_pending_ranges(mlxn_encoder *enc,
                                            const mlxn_range *reads,
                                            int n_reads,
                                            const mlxn_range *writes,
                                            int n_writes);
/* In capture mode, give the last recorded dispatch these ranges if it has
 * none. Elsewhere a no-op. */
mlxn_status mlxn_encoder_annotate_last(mlxn_encoder *enc,
                                       const mlxn_range *reads, int n_reads,
                                       const mlxn_range *writes, int n_writes);

/* A memory barrier: everything encoded before it completes (and its writes
 * are visible) before anything after it starts. With auto_barrier it is a
 * request that is elided when no tracked range conflicts. */
mlxn_status mlxn_encoder_barrier(mlxn_encoder *enc);

/* Barrier inference by hand: emit a barrier only when the given ranges
 * conflict (read-after-write, write-after-read, write-after-write) with
 * ranges tracked since the last barrier; returns whether one was emitted
 * through *emitted (may be NULL). */
mlxn_status mlxn_encoder_barrier_between(mlxn_encoder *enc,
                                         const mlxn_range *reads, int n_reads,
                                         const mlxn_range *writes,
                                         int n_writes, int *emitted);
/* Add ranges to the tracker (done automatically for annotated dispatches
 * when auto_barrier is set). */
mlxn_status mlxn_encoder_track_dispatch(mlxn_encoder *enc,
                                        const mlxn_range *reads, int n_reads,
                                        const mlxn_range *writes,
                                        int n_writes);

/* Label the current command buffer (profiling, NVTX, error messages). */
mlxn_status mlxn_encoder_set_label(mlxn_encoder *enc, const char *label);

/* Submit the current command buffer without waiting. An empty command
 * buffer is not submitted. */
mlxn_status mlxn_encoder_commit(mlxn_encoder *enc);
/* Commit, then wait for it; returns any device error of that work. */
mlxn_status mlxn_encoder_commit_and_wait(mlxn_encoder *enc);
/* Wait until everything this encoder committed has completed. Device
 * errors surface here as MLXN_ERR_GPU with a message. */
mlxn_status mlxn_encoder_wait(mlxn_encoder *enc);
/* Dispatches encoded into the current command buffer so far. */
int mlxn_encoder_pending_dispatches(const mlxn_encoder *enc);

/* Write a few bytes into a buffer in queue order: after the work encoded
 * before, before the work encoded after, without waiting (the way
 * per-token scalars such as a position reach a replayed graph). n is a
 * multiple of 4 up to MLXN_MAX_UPDATE_BYTES; the view offset plus `offset`
 * must be 4-aligned. The data is copied at call time. Not allowed while
 * capturing. */
#define MLXN_MAX_UPDATE_BYTES 256
mlxn_status mlxn_encoder_update_buffer(mlxn_encoder *enc, mlxn_buffer *buf,
                                       size_t offset, const void *data,
                                       size_t n);

/* ---------------------------------------------------------------------------
 * Capture mode and the recorded graph
 * ------------------------------------------------------------------------- */

/* A graph is an ordered list of recorded nodes: dispatches and barriers. */
typedef struct mlxn_graph mlxn_graph;

typedef enum mlxn_node_type {
    MLXN_NODE_DISPATCH = 1,
    MLXN_NODE_BARRIER = 2
} mlxn_node_type;

/* Start recording: dispatches and barriers are appended to a graph instead
 * of executing. Fails with MLXN_ERR_STATE when already capturing. */
mlxn_status mlxn_encoder_start_capture(mlxn_encoder *enc);
int mlxn_encoder_is_capturing(const mlxn_encoder *enc);
/* Stop recording and hand the recorded graph to the caller (who destroys
 * it). The graph keeps every buffer it names alive. */
mlxn_status mlxn_encoder_take_capture(mlxn_encoder *enc, mlxn_graph **out);
/* Encode recorded node `index` of a graph as if it were dispatched now
 * (a barrier node encodes a barrier). */
mlxn_status mlxn_encoder_replay_node(mlxn_encoder *enc, const mlxn_graph *g,
                                     size_t index);

void mlxn_graph_destroy(mlxn_graph *g);
size_t mlxn_graph_node_count(const mlxn_graph *g);
size_t mlxn_graph_dispatch_count(const mlxn_graph *g);
size_t mlxn_graph_barrier_count(const mlxn_graph *g);
/* Dispatches recorded without read or write ranges. */
size_t mlxn_graph_unannotated_count(const mlxn_graph *g);
mlxn_node_type mlxn_graph_node_type(const mlxn_graph *g, size_t index);
/* Kernel name and op kind of a dispatch node (NULL / OTHER for barriers). */
const char *mlxn_graph_node_kernel(const mlxn_graph *g, size_t index);
mlxn_op_kind mlxn_graph_node_kind(const mlxn_graph *g, size_t index);

/* ---------------------------------------------------------------------------
 * Dispatch records
 * ------------------------------------------------------------------------- */

/* A record pre-bakes everything of a dispatch except its runtime buffers:
 * kernel, grid, block, shared bytes, op kind and inline parameter bytes.
 * Slots whose arg has kind MLXN_ARG_BUFFER and buf == NULL are runtime
 * slots, filled per call in slot order. Records work in capture mode. */
typedef struct mlxn_record mlxn_record;

typedef struct mlxn_record_params {
    mlxn_kernel *kernel;
    const mlxn_arg *args; /* bytes are copied; buffers (if any) retained */
    int n_args;
    mlxn_dim3 grid;
    mlxn_dim3 block;
    uint32_t shared_bytes;
    mlxn_op_kind kind;
} mlxn_record_params;

mlxn_record_params mlxn_record_params_default(void);
mlxn_status mlxn_record_create(mlxn_device *dev, const mlxn_record_params *p,
                               mlxn_record **out);
void mlxn_record_destroy(mlxn_record *rec);
/* Number of runtime buffer slots the record expects. */
int mlxn_record_runtime_slots(const mlxn_record *rec);
/* Encode the record with `buffers` in its runtime slots; n must equal
 * mlxn_record_runtime_slots. Runtime buffers are annotated as read-write
 * ranges for barrier inference. */
mlxn_status mlxn_encoder_dispatch_record(mlxn_encoder *enc,
                                         const mlxn_record *rec,
                                         mlxn_buffer *const *buffers, int n);

/* ---------------------------------------------------------------------------
 * Counters
 * ------------------------------------------------------------------------- */

typedef struct mlxn_counters {
    uint64_t dispatches;      /* kernels encoded for execution */
    uint64_t command_buffers; /* command buffers submitted */
    uint64_t syncs;           /* host waits on the device */
    uint64_t barriers;        /* barriers emitted (explicit and automatic) */
    uint64_t auto_barriers;   /* barriers emitted by range inference */
    uint64_t elided_barriers; /* barrier requests that found no conflict */
} mlxn_counters;

void mlxn_device_get_counters(const mlxn_device *dev, mlxn_counters *out);
/* Dispatches counted for one kernel name (0 if never dispatched). */
uint64_t mlxn_device_kernel_dispatches(const mlxn_device *dev,
                                       const char *name);
void mlxn_device_reset_counters(mlxn_device *dev);

#ifdef __cplusplus
}
#endif

#include "mlxn_graph.h"
#include "mlxn_session.h"
#include "mlxn_ops.h"
#include "mlxn_model.h"

#endif /* MLXN_H */
