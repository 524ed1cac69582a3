/*
 * test_regress.c: every input the fuzz targets ever found a bug with, kept
 * under tests/regress/<target>/ (target = the fuzz target's name without
 * "fuzz_"), fed again to the same entry points with the same checks
 * (fuzz/fuzz_readers.h, fuzz/fuzz_tokenizers.h). Each file is read into a
 * heap buffer of exactly its size, so the sanitizer build sees any read
 * past the end. Tokenizer inputs need the shared vocabularies and skip
 * without them.
 */
#define MLXN_TEST_MAIN
#include "test.h"

#include <dirent.h>

static char fz_current[512]; /* the input being checked, for messages */
#define FZ_CHECK(cond, what) CHECK_MSG(cond, "%s: %s", fz_current, what)

#include "fuzz/fuzz_readers.h"
#include "fuzz/fuzz_tokenizers.h"

#define REGRESS_DIR "tests/regress/"
#define SHARED_DIR "../shared"

typedef void (*input_fn)(const uint8_t *data, size_t size, void *ctx);

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted file names of tests/regress/<name>/; returns the count. */
static int list_inputs(const char *name, char ***out)
{
    char dir[256];
    snprintf(dir, sizeof dir, REGRESS_DIR "%s", name);
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        *out = realloc(*out, (size_t)(n + 1) * sizeof **out);
        (*out)[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(*out, (size_t)n, sizeof **out, cmp_names);
    return n;
}

static void free_list(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Feed every input of tests/regress/<name>/ to fn. */
static void run_inputs(const char *name, char **names, int n, input_fn fn, void *ctx)
{
    for (int i = 0; i < n; i++) {
        snprintf(fz_current, sizeof fz_current, REGRESS_DIR "%s/%s", name, names[i]);
        FILE *f = fopen(fz_current, "rb");
        CHECK_MSG(f != NULL, "cannot open %s", fz_current);
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *data = malloc(size > 0 ? (size_t)size : 1);
        CHECK(fread(data, 1, (size_t)size, f) == (size_t)size);
        fclose(f);
        fn(data, (size_t)size, ctx);
        free(data);
    }
    printf("    %d inputs in " REGRESS_DIR "%s\n", n, name);
}

static void gguf_input(const uint8_t *d, size_t n, void *ctx) { (void)ctx, fz_gguf(d, n); }
static void safetensors_input(const uint8_t *d, size_t n, void *ctx)
{
    (void)ctx, fz_safetensors(d, n);
}
static void json_input(const uint8_t *d, size_t n, void *ctx) { fz_json(d, n, ctx); }
static void llama2c_input(const uint8_t *d, size_t n, void *ctx) { (void)ctx, fz_llama2c(d, n); }
static void tokenizer_input(const uint8_t *d, size_t n, void *ctx) { fz_tokenize(ctx, d, n); }

static void reader_test(const char *name, input_fn fn)
{
    char **names;
    int n = list_inputs(name, &names);
    run_inputs(name, names, n, fn, NULL);
    free_list(names, n);
}

TEST(regress_gguf) { reader_test("gguf", gguf_input); }
TEST(regress_safetensors) { reader_test("safetensors", safetensors_input); }
TEST(regress_llama2c) { reader_test("llama2c", llama2c_input); }

TEST(regress_json)
{
    char **names;
    int n = list_inputs("json", &names);
    fz_dirs dirs;
    if (!fz_dirs_init(&dirs)) {
        CHECK_MSG(0, "cannot create the scratch model directories");
        free_list(names, n);
        return;
    }
    run_inputs("json", names, n, json_input, &dirs);
    fz_dirs_remove(&dirs);
    free_list(names, n);
}

typedef int (*load_fn)(fz_toks *t, const char *shared);

static void tokenizer_test(const char *name, load_fn load)
{
    char **names;
    int n = list_inputs(name, &names);
    fz_toks toks = {0};
    if (n > 0 && !load(&toks, SHARED_DIR)) {
        fz_toks_free(&toks);
        free_list(names, n);
        SKIP("the vocabularies in " SHARED_DIR " are missing");
    }
    run_inputs(name, names, n, tokenizer_input, &toks);
    fz_toks_free(&toks);
    free_list(names, n);
}

TEST(regress_tokenizer_spm) { tokenizer_test("tokenizer_spm", fz_load_spm); }
TEST(regress_tokenizer_bpe) { tokenizer_test("tokenizer_bpe", fz_load_bpe); }
