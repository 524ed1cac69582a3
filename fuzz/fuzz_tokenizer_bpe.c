/*
 * fuzz_tokenizer_bpe.c: libFuzzer target for byte-level BPE encoding and
 * decoding of arbitrary bytes with the gpt-2, deepseek-coder and falcon
 * vocabularies, and gpt-2's under every other pre-tokenizer, loaded once
 * (input layout and checks in fuzz_tokenizers.h).
 */
#include "fuzz/fuzz_common.h"
#include "fuzz/fuzz_tokenizers.h"

static fz_toks toks;

static void free_toks(void) { fz_toks_free(&toks); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (!fz_load_bpe(&toks, fz_shared_dir()))
        exit(1);
    atexit(free_toks);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_tokenize(&toks, data, size);
    return 0;
}
