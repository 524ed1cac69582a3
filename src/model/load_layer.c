/*
 * load_layer.c: turning format-neutral weight sources into device
 * weights: dense and GGUF-block matrices, MLX affine triples, and the
 * fused q/k/v matrix of a layer.
 */
#include "model/load.h"
#include "ops/quant_ref.h"

#include <stdlib.h>
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

/* ---- GGUF Q4_0 matrices as symmetric affine (mlxn_ops.h) ---- */
static int is_q4_0(const mlxn__wsrc *s)
{
    return !present(&s->scales) && s->w.dtype == MLXN_DTYPE_Q4_0;
}

/* An empty (rows, cols) symmetric affine weight: U32 codes, f16 scales. */
static mlxn_status q4_0_alloc(mlxn_loader *ld, int64_t rows, int64_t cols, mlxn_weight *out)
{
    memset(out, 0, sizeof *out);
    if (cols % 32)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "q4_0 matrix with %lld columns",
                          (long long)cols);
    int64_t ws[2] = {rows, cols / 8}, ss[2] = {rows, cols / 32};
    out->bits = 4;
    out->group_size = 32;
    mlxn_status st = mlxn__model_buffer(ld->m, MLXN_DTYPE_U32, 2, ws, &out->w);
    return st ? st : mlxn__model_buffer(ld->m, MLXN_DTYPE_F16, 2, ss, &out->scales);
}

/* Q4_0 tensor t as rows [row0, row0 + rows) of the symmetric weight out,
 * converted a slice of rows at a time. */
static mlxn_status q4_0_rows_into(mlxn_loader *ld, const mlxn_tensor_info *t,
                                  const mlxn_weight *out, int64_t row0, int64_t rows,
                                  int64_t cols)
{
    mlxn_status st = mlxn__load_check(t, rows, cols);
    if (st != MLXN_OK)
        return st;
    const int64_t slice = cols >= (1 << 20) ? 1 : (1 << 20) / cols;
    const size_t src_row = (size_t)mlxn_dtype_bytes(MLXN_DTYPE_Q4_0, cols);
    const size_t w_row = (size_t)cols / 2, s_row = (size_t)cols / 32 * 2;
    uint32_t *w = malloc(w_row * (size_t)slice);
    uint16_t *s = malloc(s_row * (size_t)slice);
    if (!w || !s)
        st = mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "tensor %s: out of memory", t->name);
    for (int64_t r = 0; st == MLXN_OK && r < rows; r += slice) {
        int64_t nr = rows - r < slice ? rows - r : slice;
        mlxn__q4_0_to_affine((const uint8_t *)t->data + (size_t)r * src_row, nr, cols, w, s);
        st = mlxn_buffer_write(out->w, (size_t)(row0 + r) * w_row, w, w_row * (size_t)nr);
        if (st == MLXN_OK)
            st = mlxn_buffer_write(out->scales, (size_t)(row0 + r) * s_row, s,
                                   s_row * (size_t)nr);
    }
    free(w);
    free(s);
    mlxn__load_progress(ld, t->bytes);
    return st;
}

mlxn_status mlxn__load_linear(mlxn_loader *ld, const mlxn__wsrc *s, int64_t rows, int64_t cols,
                              mlxn_weight *out)
{
    if (!present(&s->w) || !is_q4_0(s))
        return mlxn__load_weight(ld, s, rows, cols, out);
    mlxn_status st = q4_0_alloc(ld, rows, cols, out);
    return st ? st : q4_0_rows_into(ld, &s->w, out, 0, rows, cols);
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
    if (is_q4_0(&s->q)) {
        if ((st = q4_0_alloc(ld, rows, E, &L->wqkv)))
            return st;
        for (int i = 0; i < 3; i++)
            if ((st = q4_0_rows_into(ld, &w[i]->w, &L->wqkv, row0[i], n[i], E)))
                return st;
        return MLXN_OK;
    }
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
    } else if (!(st = mlxn__load_linear(ld, &s->q, nq, E, &L->wq)) &&
               !(st = mlxn__load_linear(ld, &s->k, nkv, E, &L->wk))) {
        st = mlxn__load_linear(ld, &s->v, nkv, E, &L->wv);
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
    if ((st = mlxn__load_linear(ld, &s->o, E, nq, &L->wo)) ||
        (st = mlxn__load_linear(ld, &s->gate, c->n_ff, E, &L->w_gate)) ||
        (st = mlxn__load_linear(ld, &s->up, c->n_ff, E, &L->w_up)) ||
        (st = mlxn__load_linear(ld, &s->down, E, c->n_ff, &L->w_down)))
        return st;
    return MLXN_OK;
}
