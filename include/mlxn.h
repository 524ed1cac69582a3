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

/* ---------------------------------------------------------------------------
 * Graph passes, the graph executor and graph sessions
 * ------------------------------------------------------------------------- */

/* ---- encoding a recorded graph --------------------------------------------
 * A recorded graph can be encoded again on any encoder of its device, in
 * direct mode (it runs) or in capture mode (its nodes are recorded again).
 * Encoding stops at the first failing node; nodes encoded before it stay
 * encoded, as after the same sequence of dispatch calls. */

/* How barriers are placed when a graph is encoded. */
typedef enum mlxn_barrier_mode {
    MLXN_BARRIERS_RECORDED = 0,  /* the barriers recorded in the graph */
    /* Recorded barriers are dropped; a barrier goes before each dispatch
     * that conflicts (RAW, WAR, WAW on its spans) with a dispatch since the
     * last barrier. A dispatch without ranges conflicts with everything. */
    MLXN_BARRIERS_RECOMPUTED = 1
} mlxn_barrier_mode;

/* Every node in order, with the recorded barriers. */
mlxn_status mlxn_graph_encode_sequential(const mlxn_graph *g,
                                         mlxn_encoder *enc);
/* Every dispatch in order, with barriers recomputed from the spans. */
mlxn_status mlxn_graph_encode_with_barriers(const mlxn_graph *g,
                                            mlxn_encoder *enc);
/* The dual command buffer: the first mlxn_graph_dual_split(dispatches)
 * dispatches are encoded and committed as their own command buffer, so the
 * device starts while the host encodes the rest into the encoder's next
 * command buffer, which is left open (commit it). Not while capturing. */
mlxn_status mlxn_graph_encode_dual(const mlxn_graph *g, mlxn_encoder *enc,
                                   mlxn_barrier_mode mode);
/* max(64, dispatches / 10), or all of them when there are fewer. */
size_t mlxn_graph_dual_split(size_t dispatches);

/* Sizes of the concurrent groups (dispatches between barriers) of a graph
 * under a barrier mode: bins[k] counts groups of k + 1 dispatches; the last
 * bin counts groups of n_bins or more. */
#define MLXN_GROUP_BINS 16
void mlxn_graph_group_histogram(const mlxn_graph *g, mlxn_barrier_mode mode,
                                uint64_t *bins, int n_bins);

/* ---- passes ---------------------------------------------------------------
 * Fusion rewrites node patterns into fused kernels. The patterns:
 *  - rms_norm_f32 -> barrier(s) -> mul_<t> becomes rms_norm_mul_<t> when
 *    the multiply reads the norm's whole output as its `a` operand with a
 *    row-broadcast weight `b` (nb == n) and nothing later reads the norm's
 *    output before it is overwritten.
 * A fused node takes the place of the pattern's last node, with the merged
 * read/write spans; it is never fused again. *n_fused (may be NULL) gets
 * the number of fusions made. Fails only when out of memory; the fusions
 * made before that stay, and the graph stays valid. */
mlxn_status mlxn_graph_fuse(mlxn_graph *g, int *n_fused);

typedef struct mlxn_reorder_result {
    size_t moved;           /* dispatches pulled ahead of earlier ones */
    size_t barriers_before; /* barriers recomputed in the recorded order */
    size_t barriers_after;  /* barriers recomputed in the new order */
    /* NULL when the pass ran; otherwise why it did not (a static string),
     * e.g. when a dispatch has no read/write ranges. */
    const char *skipped;
} mlxn_reorder_result;

/* Reorder for concurrency (llama.cpp's greedy 64-node lookahead): at each
 * position, dispatches within the next 64 that conflict with nothing still
 * pending before them are pulled forward into the current concurrent group.
 * Kinds that are not reorderable are never moved and stop the lookahead.
 * The recorded barriers are replaced by the ones the new order needs (the
 * ones MLXN_BARRIERS_RECOMPUTED would place). out may be NULL. */
mlxn_status mlxn_graph_reorder(mlxn_graph *g, mlxn_reorder_result *out);

/* ---- executable graphs ----------------------------------------------------
 * A graph instantiated for repeated launches. On CUDA it is an explicit CUDA
 * graph (one kernel node per dispatch, one root, edges as chosen below),
 * instantiated and uploaded once; each launch is one cuGraphLaunch on the
 * encoder's stream. On the CPU it is the node list, replayed in order.
 * Node indices of an executable count dispatches only (barriers are not
 * nodes). The executable keeps every buffer of the graph alive. */
typedef struct mlxn_graph_exec mlxn_graph_exec;

typedef enum mlxn_graph_edges {
    /* An edge a -> b when b conflicts with a (RAW, WAR, WAW; a dispatch
     * without ranges conflicts with everything), minus the edges that other
     * paths already imply. Independent dispatches get no edge. */
    MLXN_EDGES_PRECISE = 0,
    /* Every dispatch after a recorded barrier depends on every dispatch of
     * the group before it (the recorded barrier semantics). */
    MLXN_EDGES_BARRIERS = 1,
    /* Each dispatch depends on the one before it (stream order). */
    MLXN_EDGES_CHAIN = 2
} mlxn_graph_edges;

typedef struct mlxn_graph_exec_params {
    mlxn_graph_edges edges; /* default MLXN_EDGES_PRECISE */
    /* Programmatic (PDL) edges between dependent kernels: the dependent
     * kernel launches early and waits in griddepcontrol.wait. Default 1;
     * no effect when the device was created with pdl = 0. */
    int programmatic;
} mlxn_graph_exec_params;

mlxn_graph_exec_params mlxn_graph_exec_params_default(void);
/* Instantiate the graph's dispatches; the graph may be destroyed after. */
mlxn_status mlxn_graph_exec_create(const mlxn_graph *g,
                                   const mlxn_graph_exec_params *p,
                                   mlxn_graph_exec **out);
/* Free the executable. Launches already encoded keep what they use until
 * they complete. */
void mlxn_graph_exec_destroy(mlxn_graph_exec *x);
/* Launch in order with the encoder's other work (not while capturing).
 * Counted as the graph's dispatches; per-token scalars are written before
 * with mlxn_encoder_update_buffer. */
mlxn_status mlxn_encoder_launch_graph(mlxn_encoder *enc, mlxn_graph_exec *x);

size_t mlxn_graph_exec_node_count(const mlxn_graph_exec *x);
/* Edges of the instantiated graph (read back from CUDA on that backend). */
size_t mlxn_graph_exec_edge_count(const mlxn_graph_exec *x);
/* 0: no edge from node `from` to node `to`; 1: a full edge; 2: a
 * programmatic edge. */
int mlxn_graph_exec_edge(const mlxn_graph_exec *x, size_t from, size_t to);
uint64_t mlxn_graph_exec_launches(const mlxn_graph_exec *x);

/* A change to one dispatch node of an executable, for later launches. */
typedef struct mlxn_graph_node_update {
    mlxn_dim3 grid;    /* new grid; {0, 0, 0} keeps the current one */
    int slot;          /* an inline-bytes slot to replace, or -1 (default) */
    const void *bytes; /* its new value: exactly the slot's size */
    size_t size;
} mlxn_graph_node_update;

mlxn_graph_node_update mlxn_graph_node_update_default(void);
/* Change a node's grid and/or inline bytes (cuGraphExecKernelNodeSetParams
 * on CUDA): for values that change the grid. Values a kernel can read from
 * a buffer go through mlxn_encoder_update_buffer instead. */
mlxn_status mlxn_graph_exec_update_node(mlxn_graph_exec *x, size_t node,
                                        const mlxn_graph_node_update *u);

/* ---- the graph executor and graph sessions -------------------------------
 * An executor owns an encoder on one queue and a cache of executables keyed
 * by a caller-chosen 64-bit shape bucket. A session is one unit of work on
 * it: begin (dispatches execute as encoded) or begin_recorded (they are
 * captured and run at finish, after the passes the finish variant asks
 * for). Every op of mlxn_ops.h works on mlxn_graph_session_encoder().
 * One session at a time per executor; a finish or commit ends it (whatever
 * the status). Not thread-safe. */
typedef struct mlxn_graph_executor mlxn_graph_executor;
typedef struct mlxn_graph_session mlxn_graph_session;

typedef struct mlxn_graph_executor_params {
    mlxn_queue *queue; /* NULL = the device's default queue */
    int auto_barrier;  /* the encoder's auto_barrier; default 0 */
    const char *label; /* command buffer label; copied */
    /* Record a start mark when a direct session begins, so that it can
     * finish with device timing (costs one event record per session on
     * CUDA). Default 1. Recorded sessions are always timeable. */
    int timing;
} mlxn_graph_executor_params;

mlxn_graph_executor_params mlxn_graph_executor_params_default(void);
mlxn_status mlxn_graph_executor_create(mlxn_device *dev,
                                       const mlxn_graph_executor_params *p,
                                       mlxn_graph_executor **out);
/* Waits for the executor's work; frees its cached executables. */
void mlxn_graph_executor_destroy(mlxn_graph_executor *ex);
/* Wait for everything the executor's sessions committed. */
mlxn_status mlxn_graph_executor_wait(mlxn_graph_executor *ex);

/* The executable cached under `key`, or NULL. */
mlxn_graph_exec *mlxn_graph_executor_find(mlxn_graph_executor *ex,
                                          uint64_t key);
/* Instantiate g and cache it under `key` (replacing an older one). The
 * executor owns the result; *out (may be NULL) receives it. */
mlxn_status mlxn_graph_executor_instantiate(mlxn_graph_executor *ex,
                                            uint64_t key, const mlxn_graph *g,
                                            const mlxn_graph_exec_params *p,
                                            mlxn_graph_exec **out);

typedef struct mlxn_graph_executor_stats {
    uint64_t sessions;     /* sessions finished or committed */
    uint64_t fusions;      /* fusions made by finish variants */
    uint64_t reordered;    /* dispatches moved by finish variants */
    uint64_t launches;     /* executables launched through sessions */
    uint64_t instantiated; /* executables built */
} mlxn_graph_executor_stats;

void mlxn_graph_executor_get_stats(const mlxn_graph_executor *ex,
                                   mlxn_graph_executor_stats *out);

mlxn_status mlxn_graph_executor_begin(mlxn_graph_executor *ex,
                                      mlxn_graph_session **out);
mlxn_status mlxn_graph_executor_begin_recorded(mlxn_graph_executor *ex,
                                               mlxn_graph_session **out);

mlxn_encoder *mlxn_graph_session_encoder(mlxn_graph_session *s);
int mlxn_graph_session_is_recorded(const mlxn_graph_session *s);
/* A barrier; and the encoder's barrier_between and track_dispatch. Use
 * these (not the encoder's) so the session sees its concurrent groups. */
mlxn_status mlxn_graph_session_barrier(mlxn_graph_session *s);
mlxn_status mlxn_graph_session_barrier_between(mlxn_graph_session *s,
                                               const mlxn_range *reads,
                                               int n_reads,
                                               const mlxn_range *writes,
                                               int n_writes, int *emitted);
mlxn_status mlxn_graph_session_track_dispatch(mlxn_graph_session *s,
                                              const mlxn_range *reads,
                                              int n_reads,
                                              const mlxn_range *writes,
                                              int n_writes);
/* Concurrent-group sizes so far (see mlxn_graph_group_histogram): of the
 * recorded graph, or, in a direct session, of the dispatches between the
 * session's barriers. */
void mlxn_graph_session_group_histogram(const mlxn_graph_session *s,
                                        uint64_t *bins, int n_bins);
/* Launch an executable in the session (direct sessions only). */
mlxn_status mlxn_graph_session_launch(mlxn_graph_session *s,
                                      mlxn_graph_exec *x);
/* End a recorded session without running it: the caller gets the graph
 * (to instantiate and cache, for instance). */
mlxn_status mlxn_graph_session_take_graph(mlxn_graph_session *s,
                                          mlxn_graph **out);

/* What a finish did. Timings are filled when MLXN_FINISH_TIME is set
 * (and the finish waits); otherwise they are -1. */
typedef struct mlxn_graph_report {
    double host_us; /* host wall time from begin to the end of the wait */
    /* Device time of the session's work: CUDA events around it; on the CPU
     * backend, the worker's wall time. -1 for a direct session of an
     * executor created with timing = 0. */
    double gpu_us;
    int fusions;
    size_t reordered;
    const char *reorder_skipped; /* see mlxn_reorder_result.skipped */
    size_t dispatches, barriers; /* as encoded */
    uint64_t groups[MLXN_GROUP_BINS]; /* as encoded (group histogram) */
} mlxn_graph_report;

enum {
    MLXN_FINISH_FUSE = 1u << 0,    /* recorded sessions: fusion pass */
    MLXN_FINISH_REORDER = 1u << 1, /* recorded sessions: reorder pass */
    MLXN_FINISH_DUAL = 1u << 2,    /* recorded sessions: dual buffer */
    MLXN_FINISH_TIME = 1u << 3,    /* fill host_us and gpu_us */
    MLXN_FINISH_NO_WAIT = 1u << 4  /* commit without waiting */
};

/* End the session: run what was recorded (after the passes asked for),
 * commit, and wait unless MLXN_FINISH_NO_WAIT. out may be NULL. */
mlxn_status mlxn_graph_session_finish_ex(mlxn_graph_session *s, unsigned flags,
                                         mlxn_graph_report *out);
mlxn_status mlxn_graph_session_finish(mlxn_graph_session *s);
mlxn_status mlxn_graph_session_finish_with_timing(mlxn_graph_session *s,
                                                  double *host_us,
                                                  double *gpu_us);
mlxn_status mlxn_graph_session_finish_with_gpu_time(mlxn_graph_session *s,
                                                    double *gpu_us);
mlxn_status mlxn_graph_session_finish_with_fusion(mlxn_graph_session *s,
                                                  mlxn_graph_report *out);
mlxn_status mlxn_graph_session_finish_with_fusion_and_reorder(
    mlxn_graph_session *s, mlxn_graph_report *out);
/* Fusion, reorder and the dual command buffer. */
mlxn_status mlxn_graph_session_finish_optimized(mlxn_graph_session *s,
                                                mlxn_graph_report *out);
/* Commit without waiting (mlxn_graph_executor_wait waits). */
mlxn_status mlxn_graph_session_commit(mlxn_graph_session *s);

/* ---------------------------------------------------------------------------
 * Encoder sessions, timeline fences, residency sets and profiling
 * ------------------------------------------------------------------------- */

#include <stdio.h>

/* ---- timeline fences ------------------------------------------------------
 * A fence is a 64-bit counter that queues signal and wait on in queue
 * order, and that the host can read, wait on and signal. Any queue of the
 * fence's device may use it, so a fence orders work across queues.
 *
 * Values rise: every signal (from the host or encoded on a queue) must be
 * greater than every value signalled before it, and a host signal must not
 * overtake a queue signal that is still in flight (the word is written,
 * not maxed). A queue wait for value v completes once the fence is at
 * least v. A queue waiting for a value that nobody signals blocks forever
 * (and so does destroying its queue or device): that is the caller's
 * deadlock, as with any timeline semaphore.
 *
 * CUDA: the counter is a word of pinned, device-mapped host memory,
 * written with cuStreamWriteValue64 and waited on with
 * cuStreamWaitValue64(GEQ); a wait encoded after the signal that first
 * reaches its value uses that signal's event instead (cuStreamWaitEvent,
 * cheaper between streams). A wait encoded before its signal is a memory
 * wait the driver does not see: while it is pending, do not free memory
 * (which may synchronise the context); mlxn loads every kernel before the
 * first such wait for the same reason. CPU: a counter with a condition
 * variable; a queue-side wait blocks that queue's worker thread, not the
 * host. docs/sessions.md has the details and measurements. */
typedef struct mlxn_fence mlxn_fence;

/* Timeout for "no timeout" in host waits. */
#define MLXN_WAIT_FOREVER UINT64_MAX

mlxn_status mlxn_fence_create(mlxn_device *dev, uint64_t initial_value,
                              mlxn_fence **out);
/* The caller must not destroy a fence that queued work still waits on
 * unless the value it waits for was already reached. Queued signals keep
 * the fence's memory alive until they complete. */
void mlxn_fence_destroy(mlxn_fence *fence);
mlxn_device *mlxn_fence_device(const mlxn_fence *fence);
/* The value the fence holds now (what completed signals wrote). */
uint64_t mlxn_fence_value(const mlxn_fence *fence);
/* Block until the fence is at least `value`. MLXN_ERR_TIMEOUT when
 * timeout_ns passes first (0 polls once); MLXN_ERR_GPU when a device fault
 * makes the value unreachable. */
mlxn_status mlxn_fence_wait(mlxn_fence *fence, uint64_t value,
                            uint64_t timeout_ns);
/* Set the fence to `value` from the host, releasing waiters (host and
 * queue) for values up to it. */
mlxn_status mlxn_fence_signal(mlxn_fence *fence, uint64_t value);

/* Encode, in queue order, a signal of `value` after everything encoded
 * before it, or a wait until the fence is at least `value` before
 * everything encoded after it. Not allowed while capturing. */
mlxn_status mlxn_encoder_signal_fence(mlxn_encoder *enc, mlxn_fence *fence,
                                      uint64_t value);
mlxn_status mlxn_encoder_wait_fence(mlxn_encoder *enc, mlxn_fence *fence,
                                    uint64_t value);

/* ---- encoder sessions -----------------------------------------------------
 * A session is an encoder plus stage bookkeeping (the seeds' EncoderSession).
 * States and transitions:
 *
 *   encoding --commit_stage / commit_and_wait--> drained
 *   encoding --fence_stage--> drained, fence pending (value N+1 signalled
 *                             at the end of the stage, committed, no wait)
 *   drained  --reset_for_next_stage--> encoding (when a fence is pending,
 *                             the new command buffer first waits for N)
 *
 * Commits while drained and resets while encoding are harmless no-ops
 * (commit_and_wait while drained still waits and reports errors). Encode
 * through mlxn_session_encoder(); do not commit that encoder directly, and
 * reset before encoding the next stage. The session fence is created at
 * the first fence_stage; other queues may wait on it (mlxn_session_fence).
 * Errors of committed stages surface at commit_and_wait / mlxn_session_wait
 * and are never swallowed. */
typedef struct mlxn_session mlxn_session;

typedef struct mlxn_session_params {
    mlxn_queue *queue; /* NULL = the device's default queue */
    int auto_barrier;  /* as mlxn_encoder_params.auto_barrier */
} mlxn_session_params;

mlxn_session_params mlxn_session_params_default(void);
mlxn_status mlxn_session_create(mlxn_device *dev, const mlxn_session_params *p,
                                mlxn_session **out);
/* Commits what is open, waits for everything, then frees the session. */
void mlxn_session_destroy(mlxn_session *s);
/* The inner encoder: every op and dispatch call works on it. */
mlxn_encoder *mlxn_session_encoder(mlxn_session *s);
/* Label the stage (its command buffers, profiles, NVTX ranges, errors).
 * Copied; cleared by reset_for_next_stage. */
mlxn_status mlxn_session_begin_stage(mlxn_session *s, const char *label);
/* Commit without waiting. */
mlxn_status mlxn_session_commit_stage(mlxn_session *s);
/* Commit, then wait for everything the session committed; returns the
 * first device error of that work. */
mlxn_status mlxn_session_commit_and_wait(mlxn_session *s);
/* Signal the session fence to N+1 at the end of the stage and commit
 * without waiting. label may be NULL (keep the stage label). */
mlxn_status mlxn_session_fence_stage(mlxn_session *s, const char *label);
/* Open the next stage; with a fence pending its command buffer first
 * waits (on the GPU) for the fence value of the last fence_stage. */
mlxn_status mlxn_session_reset_for_next_stage(mlxn_session *s);
/* Wait for everything the session committed; returns device errors. */
mlxn_status mlxn_session_wait(mlxn_session *s);

int mlxn_session_is_drained(const mlxn_session *s);
int mlxn_session_is_fence_pending(const mlxn_session *s);
/* Last value signalled by fence_stage (0 before the first). */
uint64_t mlxn_session_fence_value(const mlxn_session *s);
/* 1 once the session fence exists (after the first fence_stage). */
int mlxn_session_has_event(const mlxn_session *s);
/* Value of the last wait emitted by reset_for_next_stage, and how many
 * such waits were emitted (an N-stage chain of fences emits N-1). */
uint64_t mlxn_session_wait_value(const mlxn_session *s);
uint64_t mlxn_session_wait_count(const mlxn_session *s);
/* The session fence (NULL before the first fence_stage); owned by the
 * session. */
mlxn_fence *mlxn_session_fence(mlxn_session *s);

/* ---- residency sets ---------------------------------------------------------
 * A residency set names memory that should stay close to the processor.
 * Adds and removes are staged and applied together ("flushed") once, at
 * the next commit on a queue the set is attached to, or by
 * mlxn_residency_set_commit; a flush affects work encoded after it. The
 * set holds a reference on every buffer in it.
 *
 * CUDA: device memory is always resident, so the set steers the L2: the
 * contiguous address range (at most the device's maximum access-policy
 * window, mlxn_residency_stats.max_window_bytes) that covers the most
 * priority-weighted bytes of the set's device buffers becomes the
 * attached queues' persisting access-policy window (hitRatio = set-aside
 * L2 / window, capped at 1). The set-aside L2 (a per-process context limit,
 * CU_LIMIT_PERSISTING_L2_CACHE_SIZE) is persisting_l2_bytes, at most
 * mlxn_device_info.max_persisting_l2; the previous limit comes back when
 * the set is destroyed. Host ranges (and host-visible buffers) get
 * madvise(MADV_WILLNEED), and mlock with MLXN_RESIDENCY_LOCK_HOST.
 * CPU: every buffer is host memory and gets the host treatment.
 * Hints that fail (mlock beyond RLIMIT_MEMLOCK) leave the commit alone;
 * they are counted in the stats and returned by mlxn_residency_set_commit.
 */
typedef struct mlxn_residency_set mlxn_residency_set;

enum {
    MLXN_RESIDENCY_LOCK_HOST = 1u << 0 /* mlock host ranges */
};

typedef struct mlxn_residency_params {
    unsigned flags; /* MLXN_RESIDENCY_* */
    /* L2 bytes to set aside for persisting accesses (CUDA); 0 = the
     * device maximum. */
    size_t persisting_l2_bytes;
} mlxn_residency_params;

mlxn_residency_params mlxn_residency_params_default(void);
mlxn_status mlxn_residency_set_create(mlxn_device *dev,
                                      const mlxn_residency_params *p,
                                      mlxn_residency_set **out);
/* Detaches from every queue, drops the set's window and locks. */
void mlxn_residency_set_destroy(mlxn_residency_set *set);
/* Stage a buffer (the whole view) or a host range. priority weighs the
 * range when choosing the L2 window (0 counts as 1). Adding what the set
 * already holds only updates its priority. */
mlxn_status mlxn_residency_set_add(mlxn_residency_set *set, mlxn_buffer *buf,
                                   unsigned priority);
mlxn_status mlxn_residency_set_add_host(mlxn_residency_set *set,
                                        const void *addr, size_t bytes,
                                        unsigned priority);
/* Stage a removal; MLXN_ERR_NOT_FOUND when the set does not hold it. */
mlxn_status mlxn_residency_set_remove(mlxn_residency_set *set,
                                      mlxn_buffer *buf);
mlxn_status mlxn_residency_set_remove_host(mlxn_residency_set *set,
                                           const void *addr, size_t bytes);
/* Flush at every commit on `queue` (a queue takes at most one set). Do
 * not attach or detach while another thread commits on the queue. */
mlxn_status mlxn_residency_set_attach(mlxn_residency_set *set,
                                      mlxn_queue *queue);
mlxn_status mlxn_residency_set_detach(mlxn_residency_set *set,
                                      mlxn_queue *queue);
/* Flush staged changes now; returns the first hint that failed. */
mlxn_status mlxn_residency_set_commit(mlxn_residency_set *set);

typedef struct mlxn_residency_stats {
    int entries;          /* ranges in effect (flushed) */
    int pending_adds;     /* staged, not yet flushed */
    int pending_removes;
    uint64_t flushes;     /* flushes that applied staged changes */
    size_t resident_bytes; /* bytes of the ranges in effect */
    size_t locked_bytes;   /* host bytes locked with mlock */
    uint64_t hint_failures; /* madvise/mlock/window calls that failed */
    uint64_t window_addr;  /* CUDA: the persisting window; 0 bytes: none */
    size_t window_bytes;
    float hit_ratio;
    size_t persisting_l2_bytes; /* L2 set aside (CUDA) */
    size_t max_window_bytes;    /* the device's window limit (CUDA) */
} mlxn_residency_stats;

void mlxn_residency_set_get_stats(const mlxn_residency_set *set,
                                  mlxn_residency_stats *out);

/* ---- profiling ----------------------------------------------------------------
 * Switched on by mlxn_device_params.profile only; with 0 nothing is
 * recorded and the hot path pays one pointer test. Times are GPU times
 * (CUDA events around the work in queue order) or worker wall clock on
 * the CPU backend, in microseconds, collected when command buffers are
 * waited for. MLXN_PROFILE_COMMAND_BUFFERS: per command buffer, from its
 * first command to its end, aggregated by label. MLXN_PROFILE_DISPATCHES:
 * an event pair around every direct-mode dispatch (about 2 us each on
 * CUDA, and it breaks programmatic-launch overlap), kept as records (up
 * to MLXN_PROFILE_MAX_RECORDS, then counted as dropped) and aggregated by
 * kernel. MLXN_PROFILE_NVTX: an NVTX range per command buffer named by
 * its label at its first command (builds with CUDA), so Nsight Systems
 * shows stages. Strings returned below stay valid until
 * mlxn_profile_reset or the device's end. */
#define MLXN_PROFILE_MAX_RECORDS 65536

typedef struct mlxn_profile_cb_stats {
    const char *label; /* "" for unlabelled command buffers */
    uint64_t count;
    double total_us, min_us, max_us;
} mlxn_profile_cb_stats;

typedef struct mlxn_profile_kernel_stats {
    const char *kernel;
    uint64_t count; /* dispatches timed */
    double total_us, min_us, max_us;
} mlxn_profile_kernel_stats;

typedef struct mlxn_profile_dispatch {
    const char *cb_label;
    uint64_t cb_seq;   /* profiled command buffer number, from 0 */
    uint32_t index;    /* dispatch index inside its command buffer */
    const char *kernel;
    mlxn_op_kind kind;
    double gpu_us;
} mlxn_profile_dispatch;

size_t mlxn_profile_cb_count(const mlxn_device *dev);
mlxn_status mlxn_profile_cb_at(const mlxn_device *dev, size_t i,
                               mlxn_profile_cb_stats *out);
size_t mlxn_profile_kernel_count(const mlxn_device *dev);
mlxn_status mlxn_profile_kernel_at(const mlxn_device *dev, size_t i,
                                   mlxn_profile_kernel_stats *out);
size_t mlxn_profile_dispatch_count(const mlxn_device *dev);
mlxn_status mlxn_profile_dispatch_at(const mlxn_device *dev, size_t i,
                                     mlxn_profile_dispatch *out);
/* Dispatch records not kept because MLXN_PROFILE_MAX_RECORDS was hit. */
uint64_t mlxn_profile_dropped(const mlxn_device *dev);
void mlxn_profile_reset(mlxn_device *dev);

typedef enum mlxn_profile_format {
    MLXN_PROFILE_TABLE = 0, /* markdown tables sorted by total time */
    MLXN_PROFILE_JSON = 1   /* one object: see docs/sessions.md */
} mlxn_profile_format;

/* Write the profile (and the per-kernel dispatch counters) to f. */
mlxn_status mlxn_profile_dump(const mlxn_device *dev, mlxn_profile_format fmt,
                              FILE *f);
/* The same into buf: *needed (may be NULL) receives the size including the
 * terminating NUL; when cap is smaller, nothing is written and the call
 * fails with MLXN_ERR_INVALID_ARG. */
mlxn_status mlxn_profile_dump_buffer(const mlxn_device *dev,
                                     mlxn_profile_format fmt, char *buf,
                                     size_t cap, size_t *needed);
/* A capture window for an external profiler (cuProfilerStart/Stop, for
 * nsys --capture-range=cudaProfilerApi); a no-op on the CPU backend. */
mlxn_status mlxn_profile_capture_start(mlxn_device *dev);
mlxn_status mlxn_profile_capture_stop(mlxn_device *dev);


#ifdef __cplusplus
}
#endif

#include "mlxn_ops.h"
#include "mlxn_model.h"

#endif /* MLXN_H */
