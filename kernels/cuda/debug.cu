/*
 * debug.cu: kernels for tests of the machinery itself (faults, slow work).
 * Their names start with "debug_"; ops never use them.
 */
#include "common.cuh"

/* Writes to `addr`: given an invalid address, the kernel faults. */
MLXN_KERNEL(debug_fault)(uint64_t addr)
{
    MLXN_PDL_ENTER();
    if (threadIdx.x == 0 && blockIdx.x == 0)
        *(volatile uint32_t *)addr = 0xdeadu;
}

/* Spin for `ns` nanoseconds of %globaltimer, then out[0] = value. */
MLXN_KERNEL(debug_delay_write)(uint32_t *out, uint64_t ns, uint32_t value)
{
    MLXN_PDL_ENTER();
    if (threadIdx.x != 0 || blockIdx.x != 0)
        return;
    uint64_t start, now;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
    do {
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
    } while (now - start < ns);
    out[0] = value;
}

/* out[i] = in[i] + 1 for i < n. */
MLXN_KERNEL(debug_inc_u32)(const uint32_t *in, uint32_t *out, uint32_t n)
{
    MLXN_PDL_ENTER();
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        out[i] = in[i] + 1;
}
