/*
 * encoder_gemm.c: library matrix products (cuBLAS on CUDA) issued through
 * the encoder, so they run in queue order with the kernels around them,
 * take part in barrier inference, keep their buffers alive until the
 * command buffer completes, and are counted as dispatches. They cannot be
 * recorded: in capture mode callers use their own kernels instead.
 */
#include "graph/encoder.h"
#include "graph/encoder_gemm.h"

int mlxn__encoder_gemm_available(mlxn_encoder *enc)
{
    const mlxn__backend *be = enc->dev->be;
    return !enc->capture && be->gemm && be->gemm_available && be->gemm_available(enc->dev);
}

mlxn_status mlxn__encoder_gemm(mlxn_encoder *enc, const mlxn__gemm_call *call)
{
    mlxn_device *dev = enc->dev;
    if (enc->capture)
        return mlxn__fail(dev, MLXN_ERR_STATE,
                          "gemm: library products cannot be recorded in capture mode");
    if (!mlxn__encoder_gemm_available(enc))
        return mlxn__fail(dev, MLXN_ERR_UNSUPPORTED, "gemm: no matrix library on %s",
                          dev->be->name);
    mlxn_status st = mlxn__device_check(dev);
    if (st != MLXN_OK)
        return st;
    if (enc->auto_barrier) {
        int emitted = 0;
        st = mlxn_encoder_barrier_between(enc, call->reads, call->n_reads, call->writes,
                                          call->n_writes, &emitted);
        if (st == MLXN_OK)
            st = mlxn_encoder_track_dispatch(enc, call->reads, call->n_reads, call->writes,
                                             call->n_writes);
        if (st != MLXN_OK)
            return st;
    }
    mlxn__cb *cb = enc->cur;
    for (int i = 0; i < call->n_reads + call->n_writes; i++) {
        const mlxn_range *r = i < call->n_reads ? &call->reads[i]
                                                : &call->writes[i - call->n_reads];
        if ((st = mlxn__cb_retain(cb, r->buf->alloc)) != MLXN_OK)
            return st;
    }
    st = dev->be->gemm(cb, &call->g);
    if (st != MLXN_OK)
        return st;
    cb->n_dispatches++;
    cb->n_commands++;
    MLXN__COUNT(dev, dispatches, 1);
    return MLXN_OK;
}
