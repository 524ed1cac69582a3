/*
 * fuzz_llama2c.c: libFuzzer target for the llama2.c readers: each input is
 * opened as a checkpoint (header, layout, tensor table) and as a tokenizer
 * file (with the vocabulary size from the file and with 512), and a
 * tokenizer that loads encodes and decodes part of the input.
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
    fz_llama2c(data, size);
    return 0;
}
