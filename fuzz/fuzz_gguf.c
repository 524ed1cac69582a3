/*
 * fuzz_gguf.c: libFuzzer target for the GGUF reader: opening from memory,
 * every metadata getter and array element, the tensor table, and the
 * GGUF tokenizer loader on whatever metadata the input holds (see
 * fuzz_readers.h for what is checked).
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
    fz_gguf(data, size);
    return 0;
}
