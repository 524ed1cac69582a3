/*
 * params/timeline.h: the device timeline, a diagnostic. Kernels built with
 * -DMLXN_TIMELINE (kernels/cuda/timeline.cuh) stamp %globaltimer (ns) at
 * points of each block and append one record per block to a buffer the
 * CUDA backend allocates for a device created with
 * mlxn_device_params.timeline; mlxn_device_timeline_write saves it
 * (`mlxn bench --timeline FILE`) and scripts/timeline.py turns it into the
 * critical path of each kernel (docs/performance.md, "Device timeline").
 * Each device loads its own modules, so each has its own buffer.
 *
 * Buffer: word 0 counts the records taken (it may exceed the capacity:
 * records past MLXN_TL_CAP are dropped), record i at words 8 (i + 1) ..
 * 8 (i + 1) + 7 (little-endian uint64):
 *   [0] tag (MLXN_TL_*), [1] smid << 32 | linear block index,
 *   [2] a, [3] b (per tag, below), [4] entry, [5] after griddepcontrol.wait
 *   (0: the block left before it), [6] mark (per tag; 0: not reached),
 *   [7] end (after a __syncthreads at the block's end).
 */
#ifndef MLXN_PARAMS_TIMELINE_H
#define MLXN_PARAMS_TIMELINE_H

#define MLXN_TL_CAP (4u << 20) /* records */
#define MLXN_TL_WORDS 8        /* per record */

/* Tags. The int8-activation products (matvec_x8.cu, matvec_x8_tma.cu): a
 * = n, b = k | flags << 32 (mlxn_matmul_params.flags), mark = x rounded
 * into shared memory. */
#define MLXN_TL_X8 1
#define MLXN_TL_X8_EARLY 2
#define MLXN_TL_X8_SWIGLU 3
#define MLXN_TL_X8_SWIGLU_EARLY 4
#define MLXN_TL_X8_TMA 5
#define MLXN_TL_X8_SWIGLU_TMA 6
/* attn_decode_f16_d128: mark = q and the position's row loaded (active
 * blocks only), a = the tiles done, b = the warps' states in shared memory */
#define MLXN_TL_ATTN_DECODE 10
/* rope_kv_f16: a = b = 0, no mark */
#define MLXN_TL_ROPE_KV 20

#endif /* MLXN_PARAMS_TIMELINE_H */
