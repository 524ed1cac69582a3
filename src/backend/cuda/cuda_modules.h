/*
 * cuda_modules.h: the generated tables of CUDA kernels. The build compiles
 * each kernels/cuda/<family>.cu into a fatbin (sm_90 code plus PTX),
 * embeds it with .incbin, and lists every MLXN_KERNEL(name) it defines.
 */
#ifndef MLXN_CUDA_MODULES_H
#define MLXN_CUDA_MODULES_H

typedef struct mlxn__cuda_module_blob {
    const char *name; /* the .cu file's stem */
    const unsigned char *begin, *end;
} mlxn__cuda_module_blob;

typedef struct mlxn__cuda_kernel_entry {
    const char *name;
    int module; /* index into mlxn__cuda_modules */
} mlxn__cuda_kernel_entry;

/* Names: generated in every build (from the sources). */
extern const mlxn__cuda_kernel_entry mlxn__cuda_kernels[];
extern const int mlxn__cuda_kernel_count;
/* Fatbins: only in builds with CUDA. */
extern const mlxn__cuda_module_blob mlxn__cuda_modules[];
extern const int mlxn__cuda_module_count;

#endif /* MLXN_CUDA_MODULES_H */
