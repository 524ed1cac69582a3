/*
 * cuda_blas.c: the CUDA backend's library GEMM (backend vtable entries
 * gemm_available and gemm): cublasLt, opened with dlopen on first use
 * (libcublasLt.so.13, else .so.12), so nothing links against cuBLAS and a
 * machine without it falls back to mlxn's own kernels. Types come from
 * the toolkit's cublasLt.h at build time.
 *
 * Each call is a bf16 x bf16 -> f32 GEMM with f32 accumulation on the
 * command buffer's stream. Algorithms come from cublasLt's heuristic,
 * cached per shape, alignment and C/no-C.
 */
#include "backend/cuda/cuda_backend.h"

#include <cublasLt.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define MLXN_LT_FUNCTIONS(X)                                                   \
    X(cublasLtCreate)                                                          \
    X(cublasLtDestroy)                                                         \
    X(cublasLtMatmulDescCreate)                                                \
    X(cublasLtMatmulDescDestroy)                                               \
    X(cublasLtMatmulDescSetAttribute)                                          \
    X(cublasLtMatrixLayoutCreate)                                              \
    X(cublasLtMatrixLayoutDestroy)                                             \
    X(cublasLtMatmulPreferenceCreate)                                          \
    X(cublasLtMatmulPreferenceDestroy)                                         \
    X(cublasLtMatmulPreferenceSetAttribute)                                    \
    X(cublasLtMatmulAlgoGetHeuristic)                                          \
    X(cublasLtMatmul)

#define ALGO_CACHE 64

typedef struct algo_entry {
    uint32_t m, n, k, ldd, has_c, align;
    mlxn__gemm_precision precision;
    cublasLtMatmulAlgo_t algo;
} algo_entry;

struct mlxn__cuda_blas {
    void *lib;
#define MLXN__LT_FIELD(name) __typeof__(&name) name;
    MLXN_LT_FUNCTIONS(MLXN__LT_FIELD)
#undef MLXN__LT_FIELD
    cublasLtHandle_t handle;
    int failed; /* loading failed once: do not retry */
    algo_entry cache[ALGO_CACHE];
    int n_cache, next_evict;
};

static mlxn__cuda_blas *blas_load(mlxn_device *dev)
{
    mlxn__cuda_device *cd = mlxn__cuda_of(dev);
    if (cd->blas || cd->blas_failed)
        return cd->blas;
    mlxn__cuda_blas *b = calloc(1, sizeof *b);
    if (!b) {
        cd->blas_failed = 1;
        return NULL;
    }
    static const char *names[] = {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"};
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !b->lib; i++)
        b->lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    int ok = b->lib != NULL;
#define MLXN__LT_LOAD(name)                                                    \
    if (ok)                                                                    \
        ok = (*(void **)&b->name = dlsym(b->lib, #name)) != NULL;
    MLXN_LT_FUNCTIONS(MLXN__LT_LOAD)
#undef MLXN__LT_LOAD
    /* (Called under the device lock: bind without mlxn__cuda_bind, whose
     * error path takes the lock.) */
    if (ok && cd->cu->cuCtxSetCurrent(cd->ctx) == CUDA_SUCCESS)
        ok = b->cublasLtCreate(&b->handle) == CUBLAS_STATUS_SUCCESS;
    else
        ok = 0;
    if (!ok) {
        if (b->lib)
            dlclose(b->lib);
        free(b);
        cd->blas_failed = 1;
        return NULL;
    }
    cd->blas = b;
    return b;
}

int mlxn__cuda_gemm_available(mlxn_device *dev)
{
    pthread_mutex_lock(&dev->lock);
    int ok = blas_load(dev) != NULL;
    pthread_mutex_unlock(&dev->lock);
    return ok;
}

void mlxn__cuda_blas_close(mlxn_device *dev)
{
    mlxn__cuda_device *cd = mlxn__cuda_of(dev);
    if (!cd->blas)
        return;
    cd->blas->cublasLtDestroy(cd->blas->handle);
    dlclose(cd->blas->lib);
    free(cd->blas);
    cd->blas = NULL;
}

/* Largest power of two (<= 256) dividing the address of every column. */
static uint32_t alignment(uint64_t addr, uint64_t ld_bytes)
{
    uint64_t v = addr | ld_bytes | 256;
    return (uint32_t)(v & (~v + 1));
}

static mlxn_status lt_fail(mlxn_device *dev, const char *what, cublasStatus_t s)
{
    return mlxn__fail(dev, MLXN_ERR_GPU, "cublasLt: %s failed with status %d", what, (int)s);
}

mlxn_status mlxn__cuda_gemm(mlxn__cb *cb, const mlxn__gemm *g)
{
    mlxn_device *dev = cb->queue->dev;
    mlxn__cuda_blas *b = mlxn__cuda_of(dev)->blas;
    if (!b)
        return mlxn__fail(dev, MLXN_ERR_UNSUPPORTED, "cublasLt is not loaded");
    /* Column-major view: D^T (n x m, ld ldd) = W (k x n)^T @ x^T (k x m). */
    const uint64_t es = g->precision == MLXN__GEMM_BF16 ? 2 : 4;
    const cudaDataType_t in_type = g->precision == MLXN__GEMM_BF16 ? CUDA_R_16BF : CUDA_R_32F;
    const cublasComputeType_t compute = g->precision == MLXN__GEMM_TF32
                                            ? CUBLAS_COMPUTE_32F_FAST_TF32
                                            : CUBLAS_COMPUTE_32F;
    const uint32_t align_a = alignment(g->b, (uint64_t)g->k * es),
                   align_b = alignment(g->a, (uint64_t)g->k * es),
                   align_d = alignment(g->d, (uint64_t)g->ldd * 4),
                   align_c = g->c ? alignment(g->c, (uint64_t)g->ldd * 4) : 256;
    const uint32_t akey = align_a | align_b << 9 | align_c << 18 | (align_d & 511) << 27;
    cublasLtMatmulDesc_t op = NULL;
    cublasLtMatrixLayout_t la = NULL, lb = NULL, lc = NULL;
    cublasLtMatmulPreference_t pref = NULL;
    cublasStatus_t s;
    mlxn_status st = MLXN_OK;
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    if ((s = b->cublasLtMatmulDescCreate(&op, compute, CUDA_R_32F)) ||
        (s = b->cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta)) ||
        (s = b->cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb)) ||
        (s = b->cublasLtMatrixLayoutCreate(&la, in_type, g->k, g->n, g->k)) ||
        (s = b->cublasLtMatrixLayoutCreate(&lb, in_type, g->k, g->m, g->k)) ||
        (s = b->cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, g->n, g->m, g->ldd))) {
        st = lt_fail(dev, "creating descriptors", s);
        goto done;
    }
    pthread_mutex_lock(&dev->lock);
    algo_entry *e = NULL;
    for (int i = 0; i < b->n_cache; i++) {
        algo_entry *c = &b->cache[i];
        if (c->m == g->m && c->n == g->n && c->k == g->k && c->ldd == g->ldd &&
            c->has_c == (g->c != 0) && c->align == akey && c->precision == g->precision)
            e = c;
    }
    if (!e) {
        cublasLtMatmulHeuristicResult_t res;
        int found = 0;
        uint64_t wsb = g->workspace_bytes;
        memset(&res, 0, sizeof res);
        if ((s = b->cublasLtMatmulPreferenceCreate(&pref)) ||
            (s = b->cublasLtMatmulPreferenceSetAttribute(
                 pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsb, sizeof wsb)) ||
            (s = b->cublasLtMatmulPreferenceSetAttribute(
                 pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_a, 4)) ||
            (s = b->cublasLtMatmulPreferenceSetAttribute(
                 pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_b, 4)) ||
            (s = b->cublasLtMatmulPreferenceSetAttribute(
                 pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_c, 4)) ||
            (s = b->cublasLtMatmulPreferenceSetAttribute(
                 pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_d, 4)) ||
            (s = b->cublasLtMatmulAlgoGetHeuristic(b->handle, op, la, lb, lc, lc, pref, 1, &res,
                                                   &found)) ||
            found < 1) {
            pthread_mutex_unlock(&dev->lock);
            st = found < 1 && !s ? mlxn__fail(dev, MLXN_ERR_UNSUPPORTED,
                                              "cublasLt: no algorithm for a %u x %u x %u GEMM",
                                              g->m, g->n, g->k)
                                 : lt_fail(dev, "choosing an algorithm", s);
            goto done;
        }
        int slot = b->n_cache < ALGO_CACHE ? b->n_cache++ : (b->next_evict++ % ALGO_CACHE);
        e = &b->cache[slot];
        e->m = g->m;
        e->n = g->n;
        e->k = g->k;
        e->ldd = g->ldd;
        e->has_c = g->c != 0;
        e->align = akey;
        e->precision = g->precision;
        e->algo = res.algo;
    }
    cublasLtMatmulAlgo_t algo = e->algo;
    pthread_mutex_unlock(&dev->lock);
    const float alpha = 1.0f, beta = g->c ? 1.0f : 0.0f;
    s = b->cublasLtMatmul(b->handle, op, &alpha, (const void *)(uintptr_t)g->b, la,
                          (const void *)(uintptr_t)g->a, lb, &beta,
                          (const void *)(uintptr_t)(g->c ? g->c : g->d), lc,
                          (void *)(uintptr_t)g->d, lc, &algo, (void *)(uintptr_t)g->workspace,
                          g->workspace_bytes, (cudaStream_t)mlxn__cuda_stream(cb->queue));
    if (s)
        st = lt_fail(dev, "cublasLtMatmul", s);
done:
    if (pref)
        b->cublasLtMatmulPreferenceDestroy(pref);
    if (lc)
        b->cublasLtMatrixLayoutDestroy(lc);
    if (lb)
        b->cublasLtMatrixLayoutDestroy(lb);
    if (la)
        b->cublasLtMatrixLayoutDestroy(la);
    if (op)
        b->cublasLtMatmulDescDestroy(op);
    return st;
}
