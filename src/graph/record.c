/*
 * record.c: dispatch records. Everything of a dispatch except its runtime
 * buffers is validated and copied once; each call fills the runtime slots
 * and encodes the node through the normal path (so capture works).
 */
#include "graph/encoder.h"

#include <stdlib.h>
#include <string.h>

struct mlxn_record {
    mlxn_device *dev;
    mlxn__node node;          /* runtime slots have alloc == NULL */
    int runtime[MLXN_MAX_ARGS]; /* slot index of each runtime buffer */
    int n_runtime;
    uint8_t bytes[MLXN_MAX_ARGS][MLXN_MAX_ARG_BYTES];
};

mlxn_record_params mlxn_record_params_default(void)
{
    mlxn_record_params p;
    memset(&p, 0, sizeof p);
    p.grid.x = p.grid.y = p.grid.z = 1;
    p.block.x = p.block.y = p.block.z = 1;
    return p;
}

mlxn_status mlxn_record_create(mlxn_device *dev, const mlxn_record_params *p,
                               mlxn_record **out)
{
    if (!dev || !p || !out)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "record_create: NULL argument");
    *out = NULL;
    if (p->n_args < 0 || p->n_args > MLXN_MAX_ARGS || (p->n_args && !p->args))
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "record_create: bad args");
    /* Validate with a placeholder buffer in each runtime slot. */
    mlxn_buffer placeholder;
    mlxn__alloc placeholder_alloc;
    memset(&placeholder, 0, sizeof placeholder);
    memset(&placeholder_alloc, 0, sizeof placeholder_alloc);
    placeholder_alloc.dev = dev;
    placeholder.alloc = &placeholder_alloc;
    mlxn_arg args[MLXN_MAX_ARGS];
    for (int i = 0; i < p->n_args; i++) {
        args[i] = p->args[i];
        if (args[i].kind == MLXN_ARG_BUFFER && !args[i].buf) {
            args[i].buf = &placeholder;
            args[i].offset = 0;
        }
    }
    mlxn_dispatch d;
    memset(&d, 0, sizeof d);
    d.kernel = p->kernel;
    d.args = args;
    d.n_args = p->n_args;
    d.grid = p->grid;
    d.block = p->block;
    d.shared_bytes = p->shared_bytes;
    d.kind = p->kind;
    mlxn_record *r = calloc(1, sizeof *r);
    if (!r)
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "record_create: out of memory");
    mlxn_status st = mlxn__node_from_dispatch(dev, &d, &r->node);
    if (st != MLXN_OK) {
        free(r);
        return st;
    }
    r->dev = dev;
    for (int i = 0; i < p->n_args; i++) {
        mlxn__slot *s = &r->node.slots[i];
        if (s->kind == MLXN_ARG_BYTES) {
            memcpy(r->bytes[i], s->bytes, s->size);
            s->bytes = r->bytes[i];
        } else if (s->alloc == &placeholder_alloc) {
            s->alloc = NULL;
            r->runtime[r->n_runtime++] = i;
        } else {
            mlxn__alloc_retain(s->alloc);
        }
    }
    *out = r;
    return MLXN_OK;
}

void mlxn_record_destroy(mlxn_record *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->node.n_args; i++) {
        mlxn__slot *s = &r->node.slots[i];
        if (s->kind == MLXN_ARG_BUFFER && s->alloc)
            mlxn__alloc_release(s->alloc);
    }
    free(r);
}

int mlxn_record_runtime_slots(const mlxn_record *r) { return r->n_runtime; }

mlxn_status mlxn_encoder_dispatch_record(mlxn_encoder *enc, const mlxn_record *r,
                                         mlxn_buffer *const *buffers, int n)
{
    if (!enc || !r || (n && !buffers))
        return mlxn__fail(enc ? enc->dev : NULL, MLXN_ERR_INVALID_ARG,
                          "dispatch_record: NULL argument");
    if (n != r->n_runtime)
        return mlxn__fail(enc->dev, MLXN_ERR_INVALID_ARG,
                          "dispatch_record: %s expects %d runtime buffers, got %d",
                          r->node.kernel->name, r->n_runtime, n);
    if (r->dev != enc->dev)
        return mlxn__fail(enc->dev, MLXN_ERR_INVALID_ARG,
                          "dispatch_record: record of another device");
    mlxn__node node = r->node;
    for (int i = 0; i < n; i++) {
        const mlxn_buffer *b = buffers[i];
        if (!b || b->alloc->dev != enc->dev)
            return mlxn__fail(enc->dev, MLXN_ERR_INVALID_ARG,
                              "dispatch_record: runtime buffer %d is NULL or "
                              "of another device", i);
        node.slots[r->runtime[i]].alloc = b->alloc;
        node.slots[r->runtime[i]].offset = b->offset;
    }
    /* Annotate every buffer slot as read and written, from its offset to
     * the end of its allocation; with too many slots, leave it unknown. */
    node.n_reads = node.n_writes = 0;
    for (int i = 0; i < node.n_args; i++) {
        const mlxn__slot *s = &node.slots[i];
        if (s->kind != MLXN_ARG_BUFFER)
            continue;
        if (node.n_reads == MLXN_MAX_RANGES) {
            node.n_reads = node.n_writes = 0;
            break;
        }
        mlxn__span sp = {s->alloc->mem.addr + s->offset,
                         s->alloc->mem.addr + s->alloc->mem.bytes};
        node.reads[node.n_reads++] = sp;
        node.writes[node.n_writes++] = sp;
    }
    return mlxn__encoder_encode_node(enc, &node);
}
