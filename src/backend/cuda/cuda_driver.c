/*
 * cuda_driver.c: loading libcuda.so.1 at run time and turning driver
 * errors into mlxn statuses and messages.
 */
#include "backend/cuda/cuda_driver.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static mlxn__cu cu;
static const mlxn__cu *cu_loaded;
static char load_error[256];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

typedef CUresult (*get_proc_fn)(const char *, void **, int, cuuint64_t,
                                CUdriverProcAddressQueryResult *);

static void load(void)
{
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(load_error, sizeof load_error,
                 "no CUDA driver: libcuda.so.1 not found (%s)", dlerror());
        return;
    }
    get_proc_fn get_proc = (get_proc_fn)dlsym(h, "cuGetProcAddress_v2");
    CUresult (*driver_version)(int *) =
        (CUresult(*)(int *))dlsym(h, "cuDriverGetVersion");
    if (!get_proc || !driver_version) {
        snprintf(load_error, sizeof load_error,
                 "CUDA driver too old: libcuda.so.1 lacks cuGetProcAddress_v2");
        return;
    }
    int version = 0;
    driver_version(&version);
    cu.driver_version = version;
    int want = version < CUDA_VERSION ? version : CUDA_VERSION;
#define LOAD(name)                                                             \
    {                                                                          \
        void *p = NULL;                                                        \
        CUdriverProcAddressQueryResult q;                                      \
        if (get_proc(#name, &p, want, CU_GET_PROC_ADDRESS_DEFAULT, &q) !=      \
                CUDA_SUCCESS ||                                                \
            !p) {                                                              \
            snprintf(load_error, sizeof load_error,                            \
                     "CUDA driver %d.%d lacks %s (mlxn needs %d.%d)",          \
                     version / 1000, version % 1000 / 10, #name,               \
                     CUDA_VERSION / 1000, CUDA_VERSION % 1000 / 10);           \
            return;                                                            \
        }                                                                      \
        memcpy(&cu.name, &p, sizeof p);                                        \
    }
    MLXN_CU_FUNCTIONS(LOAD)
#undef LOAD
    CUresult r = cu.cuInit(0);
    if (r != CUDA_SUCCESS) {
        char text[160];
        snprintf(load_error, sizeof load_error, "no CUDA device: cuInit: %s",
                 mlxn__cu_error_text(r, text, sizeof text));
        return;
    }
    cu_loaded = &cu;
}

const mlxn__cu *mlxn__cu_load(void)
{
    pthread_once(&load_once, load);
    if (!cu_loaded)
        mlxn__fail(NULL, MLXN_ERR_NO_DEVICE, "%s", load_error);
    return cu_loaded;
}

const char *mlxn__cu_error_text(CUresult r, char *buf, size_t n)
{
    const char *name = NULL, *text = NULL;
    if (cu.cuGetErrorName)
        cu.cuGetErrorName(r, &name);
    if (cu.cuGetErrorString)
        cu.cuGetErrorString(r, &text);
    snprintf(buf, n, "%s (%s)", name ? name : "CUDA_ERROR_?",
             text ? text : "unknown error");
    return buf;
}

/* Errors after which the context cannot be used again. */
static int is_sticky(CUresult r)
{
    switch (r) {
    case CUDA_ERROR_ILLEGAL_ADDRESS:
    case CUDA_ERROR_LAUNCH_FAILED:
    case CUDA_ERROR_ASSERT:
    case CUDA_ERROR_HARDWARE_STACK_ERROR:
    case CUDA_ERROR_ILLEGAL_INSTRUCTION:
    case CUDA_ERROR_MISALIGNED_ADDRESS:
    case CUDA_ERROR_INVALID_ADDRESS_SPACE:
    case CUDA_ERROR_INVALID_PC:
    case CUDA_ERROR_LAUNCH_TIMEOUT:
    case CUDA_ERROR_ECC_UNCORRECTABLE:
    case CUDA_ERROR_CONTEXT_IS_DESTROYED:
    case CUDA_ERROR_DEVICE_UNAVAILABLE:
        return 1;
    default:
        return 0;
    }
}

mlxn_status mlxn__cu_fail(mlxn_device *dev, CUresult r, const char *file,
                          int line, const char *fmt, ...)
{
    char what[256], text[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    mlxn_status st = r == CUDA_ERROR_OUT_OF_MEMORY ? MLXN_ERR_OUT_OF_MEMORY
                                                   : MLXN_ERR_GPU;
    mlxn__fail_at(dev, st, file, line, "%s: %s", what,
                  mlxn__cu_error_text(r, text, sizeof text));
    if (dev && is_sticky(r))
        mlxn__device_set_sticky(dev, MLXN_ERR_GPU);
    return st;
}
