/*
 * cuda_driver.h: the CUDA driver API, loaded at run time. libcuda.so.1 is
 * opened with dlopen and every entry point taken with cuGetProcAddress, so
 * the library links nothing from CUDA and starts on machines without a
 * driver. Types come from the toolkit's cuda.h at build time.
 */
#ifndef MLXN_CUDA_DRIVER_H
#define MLXN_CUDA_DRIVER_H

#include <cuda.h>
#include <cudaProfiler.h>

#include "core/internal.h"

/* X(name): every driver function the backend uses. */
#define MLXN_CU_FUNCTIONS(X)                                                   \
    X(cuInit)                                                                  \
    X(cuDriverGetVersion)                                                      \
    X(cuGetErrorName)                                                          \
    X(cuGetErrorString)                                                        \
    X(cuDeviceGetCount)                                                        \
    X(cuDeviceGet)                                                             \
    X(cuDeviceGetName)                                                         \
    X(cuDeviceGetAttribute)                                                    \
    X(cuDeviceTotalMem)                                                        \
    X(cuDevicePrimaryCtxRetain)                                                \
    X(cuDevicePrimaryCtxRelease)                                               \
    X(cuCtxSetCurrent)                                                         \
    X(cuCtxGetCurrent)                                                         \
    X(cuCtxSynchronize)                                                        \
    X(cuCtxSetLimit)                                                           \
    X(cuCtxGetLimit)                                                           \
    X(cuCtxResetPersistingL2Cache)                                             \
    X(cuMemAlloc)                                                              \
    X(cuMemFree)                                                               \
    X(cuMemHostAlloc)                                                          \
    X(cuMemFreeHost)                                                           \
    X(cuMemHostGetDevicePointer)                                               \
    X(cuMemcpyHtoDAsync)                                                       \
    X(cuMemcpyDtoHAsync)                                                       \
    X(cuMemcpyDtoDAsync)                                                       \
    X(cuMemsetD8Async)                                                         \
    X(cuMemsetD32Async)                                                        \
    X(cuMemGetInfo)                                                            \
    X(cuStreamCreate)                                                          \
    X(cuStreamDestroy)                                                         \
    X(cuStreamSynchronize)                                                     \
    X(cuStreamQuery)                                                           \
    X(cuStreamWaitEvent)                                                       \
    X(cuStreamSetAttribute)                                                    \
    X(cuStreamWriteValue64)                                                    \
    X(cuStreamWaitValue64)                                                     \
    X(cuStreamWriteValue32)                                                    \
    X(cuEventCreate)                                                           \
    X(cuEventDestroy)                                                          \
    X(cuEventRecord)                                                           \
    X(cuEventSynchronize)                                                      \
    X(cuEventQuery)                                                            \
    X(cuEventElapsedTime)                                                      \
    X(cuModuleLoadData)                                                        \
    X(cuModuleUnload)                                                          \
    X(cuModuleGetGlobal)                                                       \
    X(cuModuleGetFunction)                                                     \
    X(cuFuncLoad)                                                              \
    X(cuFuncSetAttribute)                                                      \
    X(cuFuncGetAttribute)                                                      \
    X(cuLaunchKernelEx)                                                        \
    X(cuLaunchHostFunc)                                                        \
    X(cuGraphCreate)                                                           \
    X(cuGraphDestroy)                                                          \
    X(cuGraphAddKernelNode)                                                    \
    X(cuGraphAddDependencies)                                                  \
    X(cuGraphKernelNodeSetAttribute)                                           \
    X(cuGraphInstantiateWithFlags)                                             \
    X(cuGraphExecUpdate)                                                       \
    X(cuGraphAddNode)                                                          \
    X(cuGraphNodeSetParams)                                                    \
    X(cuGraphExecNodeSetParams)                                                \
    X(cuGraphUpload)                                                           \
    X(cuGraphLaunch)                                                           \
    X(cuGraphExecDestroy)                                                      \
    X(cuGraphExecKernelNodeSetParams)                                          \
    X(cuGraphGetEdges)                                                         \
    X(cuProfilerStart)                                                         \
    X(cuProfilerStop)

typedef struct mlxn__cu {
#define MLXN__CU_FIELD(name) __typeof__(&name) name;
    MLXN_CU_FUNCTIONS(MLXN__CU_FIELD)
#undef MLXN__CU_FIELD
    int driver_version;
} mlxn__cu;

/* Load the driver once per process; NULL with a message when it cannot
 * be loaded (no libcuda.so.1, cuInit failed). */
const mlxn__cu *mlxn__cu_load(void);

/* "CUDA_ERROR_ILLEGAL_ADDRESS (an illegal memory access ...)" */
const char *mlxn__cu_error_text(CUresult r, char *buf, size_t n);

/* Record a failed driver call: message "file:line: what: CUDA_ERROR_X
 * (text)". Errors that leave the context unusable make the device
 * sticky. Returns MLXN_ERR_GPU (MLXN_ERR_OUT_OF_MEMORY for allocation
 * failures). */
#define MLXN__CU_FAIL(dev, r, ...)                                             \
    mlxn__cu_fail((dev), (r), __FILE__, __LINE__, __VA_ARGS__)
mlxn_status mlxn__cu_fail(mlxn_device *dev, CUresult r, const char *file,
                          int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif /* MLXN_CUDA_DRIVER_H */
