/*
 * fuzz_safetensors.c: libFuzzer target for the safetensors reader: the
 * header length, the JSON header and every tensor entry, then the tensor
 * table, lookups and the __metadata__ object (see fuzz_readers.h).
 */
#include "fuzz/fuzz_common.h"
#include "fuzz/fuzz_readers.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_safetensors(data, size);
    return 0;
}
