/*
 * debug.c: kernels for tests of the machinery itself (faults, slow work,
 * counters). Their names start with "debug_"; ops never use them.
 */
#include "cpu/cpu_kernel.h"

#include <time.h>

/* args: uint64 address. The GPU version writes there and faults; here the
 * fault is reported without touching memory. */
MLXN_CPU_KERNEL(debug_fault)
{
    uint64_t addr = MLXN_ARG_VAL(uint64_t, 0);
    mlxn__cpu_fail(ctx, "invalid write to address 0x%llx", (unsigned long long)addr);
}

/* args: u32* out, uint64 ns, u32 value: wait ns nanoseconds, then
 * out[0] = value. Makes a slow stage whose result can be checked. */
MLXN_CPU_KERNEL(debug_delay_write)
{
    (void)ctx;
    uint32_t *out = MLXN_ARG_PTR(uint32_t, 0);
    uint64_t ns = MLXN_ARG_VAL(uint64_t, 1);
    uint32_t value = MLXN_ARG_VAL(uint32_t, 2);
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL);
    out[0] = value;
}

/* args: const u32* in, u32* out, u32 n: out[i] = in[i] + 1. */
MLXN_CPU_KERNEL(debug_inc_u32)
{
    (void)ctx;
    const uint32_t *in = MLXN_ARG_PTR(const uint32_t, 0);
    uint32_t *out = MLXN_ARG_PTR(uint32_t, 1);
    uint32_t n = MLXN_ARG_VAL(uint32_t, 2);
    for (uint32_t i = 0; i < n; i++)
        out[i] = in[i] + 1;
}
