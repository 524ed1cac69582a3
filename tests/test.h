/*
 * test.h: the test harness. A test file defines TESTs and includes this
 * header once with MLXN_TEST_MAIN defined, which provides main():
 *
 *   test_x --backend cpu|cuda|auto [--filter substring] [--list]
 *
 * Each binary prints "N passed, N failed, N skipped" last and exits 0, 1
 * on failures, or 77 when every test skipped (no GPU for --backend cuda).
 * test_device() is the device of the chosen backend, test_cpu() a CPU
 * device to compare against.
 */
#ifndef MLXN_TEST_H
#define MLXN_TEST_H

#include "mlxn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*mlxn_test_fn)(void);

void mlxn_test_register(const char *name, mlxn_test_fn fn);
void mlxn_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mlxn_test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int mlxn_test_failed(void);

/* The device of the backend under test, and a CPU reference device. Both
 * live for the whole run. test_device() SKIPs the test when the backend
 * has no device. */
mlxn_device *mlxn_test_device_or_null(void);
mlxn_device *test_cpu(void);
mlxn_backend test_backend(void);
/* Path of the test binary (argv[0]), for tests that re-run themselves. */
const char *test_argv0(void);

#define test_device()                                                          \
    ({                                                                         \
        mlxn_device *d_ = mlxn_test_device_or_null();                          \
        if (!d_) {                                                             \
            SKIP("no device for this backend: %s", mlxn_last_error(NULL));     \
        }                                                                      \
        d_;                                                                    \
    })

#define TEST(name)                                                             \
    static void test_##name(void);                                             \
    __attribute__((constructor)) static void register_##name(void)             \
    {                                                                          \
        mlxn_test_register(#name, test_##name);                                \
    }                                                                          \
    static void test_##name(void)

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            mlxn_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);            \
    } while (0)

#define CHECK_MSG(cond, ...)                                                   \
    do {                                                                       \
        if (!(cond))                                                           \
            mlxn_test_fail(__FILE__, __LINE__, __VA_ARGS__);                   \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                  \
    do {                                                                       \
        double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);         \
        if (!(fabs(a_ - b_) <= t_))                                            \
            mlxn_test_fail(__FILE__, __LINE__, "%s = %.9g, %s = %.9g, tol %g", \
                           #a, a_, #b, b_, t_);                                \
    } while (0)

/* CHECK that a call returns MLXN_OK, printing the status and message. */
#define CHECK_OK(call)                                                         \
    do {                                                                       \
        mlxn_status s_ = (call);                                               \
        if (s_ != MLXN_OK)                                                     \
            mlxn_test_fail(__FILE__, __LINE__, "%s -> %s: %s", #call,          \
                           mlxn_status_name(s_), mlxn_last_error(NULL));       \
    } while (0)

/* Like CHECK_OK, but end the test on failure (later steps depend on it). */
#define REQUIRE_OK(call)                                                       \
    do {                                                                       \
        mlxn_status s_ = (call);                                               \
        if (s_ != MLXN_OK) {                                                   \
            mlxn_test_fail(__FILE__, __LINE__, "%s -> %s: %s", #call,          \
                           mlxn_status_name(s_), mlxn_last_error(NULL));       \
            return;                                                            \
        }                                                                      \
    } while (0)

#define SKIP(...)                                                              \
    do {                                                                       \
        mlxn_test_skip(__VA_ARGS__);                                           \
        return;                                                                \
    } while (0)

/* ---- random data -------------------------------------------------------------- */
/* A small deterministic generator (splitmix64) per test. */
void test_seed(uint64_t seed);
uint64_t test_rand_u64(void);
/* Uniform in [lo, hi). */
float test_rand_f(float lo, float hi);

#ifdef MLXN_TEST_MAIN
#include <stdarg.h>

#define MLXN_TEST_MAX 512
static struct {
    const char *name;
    mlxn_test_fn fn;
} tests_[MLXN_TEST_MAX];
static int n_tests_;
static int cur_failed_, cur_skipped_;
static char skip_reason_[256];
static mlxn_backend backend_ = MLXN_BACKEND_CPU;
static mlxn_device *device_, *cpu_;
static int device_tried_;
static const char *argv0_;
static uint64_t rng_state_ = 0x9e3779b97f4a7c15ull;

void mlxn_test_register(const char *name, mlxn_test_fn fn)
{
    if (n_tests_ < MLXN_TEST_MAX) {
        tests_[n_tests_].name = name;
        tests_[n_tests_].fn = fn;
        n_tests_++;
    }
}

void mlxn_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("    FAIL %s:%d: ", file, line);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    cur_failed_ = 1;
}

void mlxn_test_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(skip_reason_, sizeof skip_reason_, fmt, ap);
    va_end(ap);
    cur_skipped_ = 1;
}

int mlxn_test_failed(void) { return cur_failed_; }

mlxn_device *mlxn_test_device_or_null(void)
{
    if (!device_tried_) {
        device_tried_ = 1;
        mlxn_device_params p = mlxn_device_params_default();
        p.backend = backend_;
        if (mlxn_device_create(&p, &device_) != MLXN_OK)
            device_ = NULL;
    }
    return device_;
}

mlxn_device *test_cpu(void)
{
    if (!cpu_) {
        mlxn_device_params p = mlxn_device_params_default();
        p.backend = MLXN_BACKEND_CPU;
        if (mlxn_device_create(&p, &cpu_) != MLXN_OK) {
            printf("cannot create a CPU device: %s\n", mlxn_last_error(NULL));
            exit(1);
        }
    }
    return cpu_;
}

mlxn_backend test_backend(void) { return backend_; }
const char *test_argv0(void) { return argv0_; }

void test_seed(uint64_t seed) { rng_state_ = seed * 0x9e3779b97f4a7c15ull + 1; }

uint64_t test_rand_u64(void)
{
    uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

float test_rand_f(float lo, float hi)
{
    return lo + (hi - lo) * (float)((test_rand_u64() >> 40) * (1.0 / 16777216.0));
}

/* Tests may define this to handle their own arguments (e.g. a child
 * process mode); return 1 when the argument was consumed. */
int mlxn_test_extra_arg(int argc, char **argv, int *i) __attribute__((weak));

int main(int argc, char **argv)
{
    const char *filter = NULL;
    int list = 0;
    argv0_ = argv[0];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
            const char *b = argv[++i];
            backend_ = !strcmp(b, "cuda")  ? MLXN_BACKEND_CUDA
                       : !strcmp(b, "auto") ? MLXN_BACKEND_AUTO
                                            : MLXN_BACKEND_CPU;
        } else if (!strcmp(argv[i], "--filter") && i + 1 < argc) {
            filter = argv[++i];
        } else if (!strcmp(argv[i], "--list")) {
            list = 1;
        } else if (mlxn_test_extra_arg && mlxn_test_extra_arg(argc, argv, &i)) {
            continue;
        } else {
            printf("usage: %s [--backend cpu|cuda|auto] [--filter S] [--list]\n", argv[0]);
            return 2;
        }
    }
    int passed = 0, failed = 0, skipped = 0;
    for (int t = 0; t < n_tests_; t++) {
        if (filter && !strstr(tests_[t].name, filter))
            continue;
        if (list) {
            printf("%s\n", tests_[t].name);
            continue;
        }
        cur_failed_ = cur_skipped_ = 0;
        test_seed((uint64_t)t + 1);
        fflush(stdout);
        tests_[t].fn();
        if (cur_failed_) {
            failed++;
            printf("FAIL %s\n", tests_[t].name);
        } else if (cur_skipped_) {
            skipped++;
            printf("skip %s: %s\n", tests_[t].name, skip_reason_);
        } else {
            passed++;
            printf("ok   %s\n", tests_[t].name);
        }
    }
    if (list)
        return 0;
    mlxn_device_destroy(device_);
    mlxn_device_destroy(cpu_);
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    if (failed)
        return 1;
    return (skipped && !passed) ? 77 : 0;
}
#endif /* MLXN_TEST_MAIN */

#endif /* MLXN_TEST_H */
