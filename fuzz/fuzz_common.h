/*
 * fuzz_common.h: the libFuzzer side of the fuzz targets: FZ_CHECK aborts
 * (so libFuzzer keeps the input as a crash), and the shared data folder
 * (../shared from the project root, or $MLXN_SHARED) for targets that load
 * vocabularies once at start-up.
 */
#ifndef MLXN_FUZZ_COMMON_H
#define MLXN_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FZ_CHECK(cond, what)                                                   \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz check failed at %s:%d: %s (%s)\n", __FILE__, \
                    __LINE__, what, #cond);                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

static inline const char *fz_shared_dir(void)
{
    const char *s = getenv("MLXN_SHARED");
    return s && *s ? s : "../shared";
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* MLXN_FUZZ_COMMON_H */
