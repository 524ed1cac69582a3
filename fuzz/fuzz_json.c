/*
 * fuzz_json.c: libFuzzer target for the JSON parser and its consumers: the
 * document is walked with every getter; a root with "model" goes through
 * the tokenizer.json loader; a root with quantization settings becomes
 * config.json of a scratch model directory (fixed model.safetensors) and
 * is queried through mlxn_model_dir_quant; a root with "weight_map"
 * becomes the shard index of another (see fuzz_readers.h).
 */
#include "fuzz/fuzz_common.h"
#include "fuzz/fuzz_readers.h"

static fz_dirs dirs;

static void remove_dirs(void) { fz_dirs_remove(&dirs); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (!fz_dirs_init(&dirs)) {
        fprintf(stderr, "fuzz_json: cannot create the scratch model directories\n");
        exit(1);
    }
    atexit(remove_dirs);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_json(data, size, &dirs);
    return 0;
}
