/*
 * load_layer.c: turning format-neutral weight sources into device
 * weights: dense and GGUF-block matrices, MLX affine triples, and the
 * fused q/k/v matrix of a layer.
 */
#include "model/load.h"

#include <string.h>

static int present(const mlxn_tensor_info *t) { return t->name != NULL; }

static size_t wsrc_bytes(const mlxn__wsrc *s)
{
    return (present(&s->w) ? s->w.bytes : 0) + (present(&s->scales) ? s->scales.bytes : 0) +
           (present(&s->biases) ? s->biases.bytes : 0);
}

size_t mlxn__layer_src_bytes(const mlxn__layer_src *s)
{
    const mlxn_tensor_info *v[] = {&s->attn_norm, &s->ffn_norm, &s->bq,    &s->bk,
                                   &s->bv,        &s->q_norm,   &s->k_norm};
    size_t b = 0;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        b += present(v[i]) ? v[i]->bytes : 0;
    const mlxn__wsrc *w[] = {&s->q, &s->k, &s->v, &s->o, &s->gate, &s->up, &s->down};
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        b += wsrc_bytes(w[i]);
    return b;
}

/* Columns of the packed u32 matrix of an MLX affine weight with k inputs. */
static mlxn_status affine_shape(const mlxn__wsrc *s, int64_t cols, int64_t *packed,
                                int64_t *groups)
{
    int bits = s->bits, g = s->group_size;
    if (bits < 1 || bits > 8 || g < 1 || cols % g || (cols * bits) % 32)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "tensor %s: MLX quantization with %d bits and group %d does not fit "
                          "%lld columns",
                          s->w.name, bits, g, (long long)cols);
    *packed = cols * bits / 32;
    *groups = cols / g;
    return MLXN_OK;
}

mlxn_status mlxn__load_weight(mlxn_loader *ld, const mlxn__wsrc *s, int64_t rows, int64_t cols,
                              mlxn_weight *out)
{
    memset(out, 0, sizeof *out);
    if (!present(&s->w))
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "a weight is missing");
    if (!present(&s->scales))
        return mlxn__load_matrix(ld, &s->w, rows, cols, &out->w);
    int64_t packed, groups;
    mlxn_status st = affine_shape(s, cols, &packed, &groups);
    if (st != MLXN_OK)
        return st;
    if (!present(&s->biases))
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "tensor %s: MLX scales without biases",
                          s->w.name);
    out->bits = s->bits;
    out->group_size = s->group_size;
    if ((st = mlxn__load_matrix(ld, &s->w, rows, packed, &out->w)) ||
        (st = mlxn__load_matrix(ld, &s->scales, rows, groups, &out->scales)) ||
        (st = mlxn__load_matrix(ld, &s->biases, rows, groups, &out->biases)))
        return st;
    return MLXN_OK;
}

/* q, k and v can share one matrix when their formats agree. */
static int fusable(const mlxn__layer_src *s)
{
    const mlxn__wsrc *w[3] = {&s->q, &s->k, &s->v};
    for (int i = 1; i < 3; i++) {
        if (!w[i]->w.supported || w[i]->w.dtype != w[0]->w.dtype ||
            present(&w[i]->scales) != present(&w[0]->scales))
            return 0;
        if (present(&w[0]->scales) &&
            (w[i]->bits != w[0]->bits || w[i]->group_size != w[0]->group_size ||
             w[i]->scales.dtype != w[0]->scales.dtype || w[i]->biases.dtype != w[0]->biases.dtype))
            return 0;
    }
    return w[0]->w.supported;
}

/* Allocate the fused (n_q + 2 n_kv, E) weight and write q, k, v into it. */
static mlxn_status load_qkv(mlxn_loader *ld, const mlxn__layer_src *s, mlxn__layer *L)
{
    const mlxn_model_config *c = &ld->m->cfg;
    int64_t E = c->n_embd, nq = mlxn__n_q(c), nkv = mlxn__n_kv(c), rows = nq + 2 * nkv;
    const mlxn__wsrc *w[3] = {&s->q, &s->k, &s->v};
    const int64_t row0[3] = {0, nq, nq + nkv}, n[3] = {nq, nkv, nkv};
    int64_t cols = E, groups = 0;
    mlxn_status st;
    int affine = present(&s->q.scales);
    if (affine && (st = affine_shape(&s->q, E, &cols, &groups)))
        return st;
    int64_t shape[2] = {rows, cols};
    if ((st = mlxn__model_buffer(ld->m, s->q.w.dtype, 2, shape, &L->wqkv.w)))
        return st;
    if (affine) {
        int64_t gshape[2] = {rows, groups};
        L->wqkv.bits = s->q.bits;
        L->wqkv.group_size = s->q.group_size;
        if ((st = mlxn__model_buffer(ld->m, s->q.scales.dtype, 2, gshape, &L->wqkv.scales)) ||
            (st = mlxn__model_buffer(ld->m, s->q.biases.dtype, 2, gshape, &L->wqkv.biases)))
            return st;
    }
    for (int i = 0; i < 3; i++) {
        if ((st = mlxn__load_rows_into(ld, &w[i]->w, L->wqkv.w, row0[i], n[i], cols)))
            return st;
        if (affine &&
            ((st = mlxn__load_rows_into(ld, &w[i]->scales, L->wqkv.scales, row0[i], n[i], groups)) ||
             (st = mlxn__load_rows_into(ld, &w[i]->biases, L->wqkv.biases, row0[i], n[i], groups))))
            return st;
    }
    return MLXN_OK;
}

mlxn_status mlxn__load_layer(mlxn_loader *ld, int l, const mlxn__layer_src *s)
{
    mlxn_model *m = ld->m;
    const mlxn_model_config *c = &m->cfg;
    mlxn__layer *L = &m->layers[l];
    int64_t E = c->n_embd, nq = mlxn__n_q(c), nkv = mlxn__n_kv(c);
    mlxn_status st;
    if (!present(&s->attn_norm) || !present(&s->ffn_norm))
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "layer %d: a norm weight is missing", l);
    if ((st = mlxn__load_vector(ld, &s->attn_norm, E, &L->attn_norm)) ||
        (st = mlxn__load_vector(ld, &s->ffn_norm, E, &L->ffn_norm)))
        return st;
    if (fusable(s)) {
        st = load_qkv(ld, s, L);
    } else if (!(st = mlxn__load_weight(ld, &s->q, nq, E, &L->wq)) &&
               !(st = mlxn__load_weight(ld, &s->k, nkv, E, &L->wk))) {
        st = mlxn__load_weight(ld, &s->v, nkv, E, &L->wv);
    }
    if (st != MLXN_OK)
        return st;
    if (present(&s->bq) || present(&s->bk) || present(&s->bv)) {
        if (!present(&s->bq) || !present(&s->bk) || !present(&s->bv))
            return mlxn__fail(NULL, MLXN_ERR_FORMAT, "layer %d: some q/k/v biases are missing", l);
        int64_t shape[1] = {nq + 2 * nkv};
        if ((st = mlxn__model_buffer(m, MLXN_DTYPE_F32, 1, shape, &L->bqkv)) ||
            (st = mlxn__load_f32(ld, &s->bq, nq, L->bqkv, 0)) ||
            (st = mlxn__load_f32(ld, &s->bk, nkv, L->bqkv, nq)) ||
            (st = mlxn__load_f32(ld, &s->bv, nkv, L->bqkv, nq + nkv)))
            return st;
    }
    if (c->qk_norm) {
        if (!present(&s->q_norm) || !present(&s->k_norm))
            return mlxn__fail(NULL, MLXN_ERR_FORMAT, "layer %d: q/k norm weights are missing", l);
        if ((st = mlxn__load_vector(ld, &s->q_norm, c->head_dim, &L->q_norm)) ||
            (st = mlxn__load_vector(ld, &s->k_norm, c->head_dim, &L->k_norm)))
            return st;
    }
    if ((st = mlxn__load_weight(ld, &s->o, E, nq, &L->wo)) ||
        (st = mlxn__load_weight(ld, &s->gate, c->n_ff, E, &L->w_gate)) ||
        (st = mlxn__load_weight(ld, &s->up, c->n_ff, E, &L->w_up)) ||
        (st = mlxn__load_weight(ld, &s->down, E, c->n_ff, &L->w_down)))
        return st;
    return MLXN_OK;
}
