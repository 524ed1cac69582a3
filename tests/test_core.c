/*
 * test_core.c: statuses and dtypes, devices, buffers and views, the
 * buffer pool and the kernel registry.
 */
#define MLXN_TEST_MAIN
#include "test.h"

#include "backend/cuda/cuda_modules.h"
#include "cpu/cpu_kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TEST(status_names)
{
    for (int s = 0; s < MLXN_STATUS_COUNT; s++)
        CHECK(strlen(mlxn_status_name((mlxn_status)s)) > 0);
    CHECK(!strcmp(mlxn_status_name(MLXN_OK), "ok"));
    CHECK(!strcmp(mlxn_status_name((mlxn_status)999), "unknown status"));
}

TEST(dtype_sizes)
{
    CHECK(mlxn_dtype_bytes(MLXN_DTYPE_F32, 3) == 12);
    CHECK(mlxn_dtype_bytes(MLXN_DTYPE_BF16, 5) == 10);
    CHECK(mlxn_dtype_bytes(MLXN_DTYPE_Q4_0, 64) == 36);
    CHECK(mlxn_dtype_bytes(MLXN_DTYPE_Q4_0, 33) == -1);
    CHECK(mlxn_dtype_bytes(MLXN_DTYPE_Q8_0, 32) == 34);
    CHECK(mlxn_dtype_bytes(MLXN_DTYPE_Q4_K, 256) == 144);
    CHECK(mlxn_dtype_bytes(MLXN_DTYPE_Q6_K, 512) == 420);
    CHECK(mlxn_dtype_bytes(MLXN_DTYPE_F32, INT64_MAX / 2) == -1);
    for (int t = 0; t < MLXN_DTYPE_COUNT; t++) {
        mlxn_dtype back;
        CHECK(mlxn_dtype_from_name(mlxn_dtype_name((mlxn_dtype)t), &back) == 0);
        CHECK(back == (mlxn_dtype)t);
    }
    mlxn_dtype dummy;
    CHECK(mlxn_dtype_from_name("f33", &dummy) != 0);
    CHECK(!strcmp(mlxn_dtype_name(MLXN_DTYPE_Q4_K), "q4_k"));
}

TEST(device_basics)
{
    mlxn_device *dev = test_device();
    CHECK(strlen(mlxn_device_name(dev)) > 0);
    mlxn_device_info info;
    CHECK_OK(mlxn_device_get_info(dev, &info));
    CHECK(info.multiprocessors > 0);
    CHECK(info.memory_bytes > 0);
    CHECK(mlxn_device_status(dev) == MLXN_OK);
    CHECK(mlxn_device_default_queue(dev) != NULL);
    CHECK_OK(mlxn_device_synchronize(dev));
    if (test_backend() == MLXN_BACKEND_CUDA) {
        CHECK(mlxn_device_backend(dev) == MLXN_BACKEND_CUDA);
        CHECK(info.compute_major >= 7);
        CHECK(info.l2_bytes > 0);
    }
    mlxn_device_destroy(NULL); /* no-op */
}

/* Asking for CUDA either gives a CUDA device or says clearly why not. */
TEST(cuda_request_is_answered_clearly)
{
    mlxn_device_params p = mlxn_device_params_default();
    p.backend = MLXN_BACKEND_CUDA;
    mlxn_device *dev = NULL;
    mlxn_status st = mlxn_device_create(&p, &dev);
    if (st == MLXN_OK) {
        CHECK(mlxn_device_backend(dev) == MLXN_BACKEND_CUDA);
        mlxn_device_destroy(dev);
        return;
    }
    CHECK(st == MLXN_ERR_NO_DEVICE);
    CHECK(dev == NULL);
    const char *msg = mlxn_last_error(NULL);
    CHECK_MSG(strstr(msg, "CUDA") != NULL, "unclear message: '%s'", msg);
    /* AUTO falls back to the CPU. */
    p.backend = MLXN_BACKEND_AUTO;
    REQUIRE_OK(mlxn_device_create(&p, &dev));
    CHECK(mlxn_device_backend(dev) == MLXN_BACKEND_CPU);
    mlxn_device_destroy(dev);
}

/* The device timeline: only asked for, only on CUDA, and only with kernels
 * built with stamps; the plain build says so at creation. */
TEST(timeline_is_explicit_and_cuda_only)
{
    mlxn_device *dev = test_device();
    CHECK(mlxn_device_timeline_write(dev, "/tmp/mlxn_no_timeline", NULL) == MLXN_ERR_STATE);
    CHECK(mlxn_device_timeline_write(NULL, "/tmp/mlxn_no_timeline", NULL) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_device_timeline_write(dev, NULL, NULL) == MLXN_ERR_INVALID_ARG);
    mlxn_device_params p = mlxn_device_params_default();
    p.timeline = 1;
    p.backend = MLXN_BACKEND_CPU;
    mlxn_device *t = NULL;
    CHECK(mlxn_device_create(&p, &t) == MLXN_ERR_UNSUPPORTED);
    CHECK(t == NULL);
    CHECK_MSG(strstr(mlxn_last_error(NULL), "timeline") != NULL, "unclear message: '%s'",
              mlxn_last_error(NULL));
    if (test_backend() != MLXN_BACKEND_CUDA)
        return;
    p.backend = MLXN_BACKEND_CUDA;
    mlxn_status st = mlxn_device_create(&p, &t);
    if (st == MLXN_ERR_UNSUPPORTED) { /* the plain build */
        CHECK(t == NULL);
        CHECK_MSG(strstr(mlxn_last_error(NULL), "-DMLXN_TIMELINE") != NULL,
                  "unclear message: '%s'", mlxn_last_error(NULL));
        return;
    }
    REQUIRE_OK(st);
    /* a build with stamps: nothing ran yet, so the file is the header */
    char path[] = "/tmp/mlxn_test_timelineXXXXXX";
    int fd = mkstemp(path);
    REQUIRE_OK(fd >= 0 ? MLXN_OK : MLXN_ERR_IO);
    close(fd);
    uint64_t taken = 99;
    CHECK_OK(mlxn_device_timeline_write(t, path, &taken));
    CHECK(taken == 0);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (f) {
        fseek(f, 0, SEEK_END);
        CHECK(ftell(f) == 64);
        fclose(f);
    }
    unlink(path);
    mlxn_device_destroy(t);
}

TEST(buffers_are_zero_filled)
{
    mlxn_device *dev = test_device();
    for (int round = 0; round < 3; round++) {
        /* Dirty memory, free it, allocate again: the new one is zero. */
        mlxn_buffer *b = NULL;
        int64_t shape[1] = {1 << 20};
        REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 1, shape, &b));
        CHECK(mlxn_buffer_bytes(b) == 4u << 20);
        uint32_t *host = malloc(4u << 20);
        CHECK_OK(mlxn_buffer_read(b, 0, host, 4u << 20));
        int nonzero = 0;
        for (int i = 0; i < (1 << 20); i++)
            nonzero += host[i] != 0;
        CHECK_MSG(nonzero == 0, "%d nonzero words in a new buffer", nonzero);
        CHECK_OK(mlxn_buffer_fill(b, 0, 0x5a, 4u << 20));
        free(host);
        mlxn_buffer_destroy(b);
    }
}

TEST(views_share_memory_with_offsets)
{
    mlxn_device *dev = test_device();
    mlxn_buffer *root = NULL, *v1 = NULL, *v2 = NULL;
    int64_t shape[1] = {256};
    REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_U32, 1, shape, &root));
    uint32_t vals[256];
    for (int i = 0; i < 256; i++)
        vals[i] = (uint32_t)i * 3u + 1u;
    CHECK_OK(mlxn_buffer_write(root, 0, vals, sizeof vals));
    int64_t s1[2] = {4, 16};
    REQUIRE_OK(mlxn_buffer_view(root, 64 * 4, MLXN_DTYPE_U32, 2, s1, &v1));
    CHECK(mlxn_buffer_offset(v1) == 256);
    CHECK(mlxn_buffer_bytes(v1) == 256);
    CHECK(mlxn_buffer_ndim(v1) == 2 && mlxn_buffer_dim(v1, 0) == 4 && mlxn_buffer_dim(v1, 1) == 16);
    int64_t s2[1] = {8};
    REQUIRE_OK(mlxn_buffer_view(v1, 16 * 4, MLXN_DTYPE_U32, 1, s2, &v2));
    CHECK(mlxn_buffer_offset(v2) == 256 + 64);
    uint32_t got[8];
    CHECK_OK(mlxn_buffer_read(v2, 0, got, sizeof got));
    for (int i = 0; i < 8; i++)
        CHECK(got[i] == vals[80 + i]);
    uint32_t w = 0xabcdef;
    CHECK_OK(mlxn_buffer_write(v2, 4, &w, 4));
    uint32_t back = 0;
    CHECK_OK(mlxn_buffer_read(root, 81 * 4, &back, 4));
    CHECK(back == w);
    /* A view must fit in its parent; the failing call has no effect. */
    mlxn_buffer *bad = (mlxn_buffer *)1;
    int64_t big[1] = {65};
    CHECK(mlxn_buffer_view(v1, 0, MLXN_DTYPE_U32, 1, big, &bad) == MLXN_ERR_INVALID_ARG);
    CHECK(bad == NULL);
    CHECK(strstr(mlxn_last_error(dev), "exceed") != NULL);
    /* The root can go first: views keep the memory alive. */
    mlxn_buffer_destroy(root);
    CHECK_OK(mlxn_buffer_read(v2, 4, &back, 4));
    CHECK(back == w);
    mlxn_buffer_destroy(v2);
    mlxn_buffer_destroy(v1);
}

TEST(buffer_bounds_and_reshape)
{
    mlxn_device *dev = test_device();
    mlxn_buffer *b = NULL;
    int64_t shape[2] = {3, 5};
    REQUIRE_OK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F16, 2, shape, &b));
    CHECK(mlxn_buffer_bytes(b) == 30);
    CHECK(mlxn_buffer_elems(b) == 15);
    char tmp[64] = {0};
    CHECK(mlxn_buffer_write(b, 20, tmp, 11) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_buffer_read(b, 31, tmp, 0) == MLXN_ERR_INVALID_ARG);
    int64_t s2[1] = {15};
    CHECK_OK(mlxn_buffer_reshape(b, MLXN_DTYPE_BF16, 1, s2));
    CHECK(mlxn_buffer_dtype(b) == MLXN_DTYPE_BF16);
    int64_t s3[1] = {16};
    CHECK(mlxn_buffer_reshape(b, MLXN_DTYPE_BF16, 1, s3) == MLXN_ERR_INVALID_ARG);
    CHECK(mlxn_buffer_dim(b, 0) == 15);
    /* Block formats need whole blocks along the innermost dimension. */
    mlxn_buffer *q = NULL;
    int64_t qs[2] = {2, 48};
    CHECK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_Q4_0, 2, qs, &q) == MLXN_ERR_INVALID_ARG);
    int64_t huge[2] = {INT64_MAX / 2, 4};
    CHECK(mlxn_buffer_create_tensor(dev, MLXN_DTYPE_F32, 2, huge, &q) == MLXN_ERR_INVALID_ARG);
    mlxn_buffer_destroy(b);
    mlxn_buffer_destroy(NULL);
}

TEST(host_visible_buffers)
{
    mlxn_device *dev = test_device();
    mlxn_buffer_params p = mlxn_buffer_params_default();
    p.dtype = MLXN_DTYPE_U32;
    p.shape[0] = 64;
    p.flags = MLXN_BUFFER_HOST_VISIBLE;
    mlxn_buffer *b = NULL;
    REQUIRE_OK(mlxn_buffer_create(dev, &p, &b));
    uint32_t *host = mlxn_buffer_contents(b);
    REQUIRE_OK(host ? MLXN_OK : MLXN_ERR_STATE);
    for (int i = 0; i < 64; i++)
        CHECK(host[i] == 0);
    host[7] = 77;
    uint32_t v = 0;
    CHECK_OK(mlxn_buffer_read(b, 28, &v, 4));
    CHECK(v == 77);
    mlxn_buffer_destroy(b);
}

TEST(pool_buckets_and_reuse)
{
    mlxn_device *dev = test_device();
    mlxn_pool *pool = NULL;
    REQUIRE_OK(mlxn_pool_create(dev, &pool));
    mlxn_buffer *a = NULL, *b = NULL, *c = NULL;
    REQUIRE_OK(mlxn_pool_alloc(pool, 300, &a));
    REQUIRE_OK(mlxn_pool_alloc(pool, 10, &b));
    CHECK(mlxn_buffer_bytes(a) == 512);
    CHECK(mlxn_buffer_bytes(b) == 256);
    CHECK(mlxn_buffer_elems(a) == 300);
    mlxn_pool_stats s;
    mlxn_pool_get_stats(pool, &s);
    CHECK(s.allocations == 2 && s.reuses == 0);
    CHECK(s.reserved_bytes == 768 && s.in_use_bytes == 768);
    uint32_t mark = 0x1234;
    CHECK_OK(mlxn_buffer_write(a, 0, &mark, 4));
    mlxn_pool_reset(pool);
    mlxn_pool_get_stats(pool, &s);
    CHECK(s.in_use_bytes == 0);
    REQUIRE_OK(mlxn_pool_alloc(pool, 400, &c));
    mlxn_pool_get_stats(pool, &s);
    CHECK(s.allocations == 2 && s.reuses == 1);
    /* Reused without re-zeroing: the old contents are still there. */
    uint32_t back = 0;
    CHECK_OK(mlxn_buffer_read(c, 0, &back, 4));
    CHECK(back == mark);
    mlxn_buffer_destroy(c); /* pool-owned: a no-op */
    mlxn_pool_destroy(pool);
}

TEST(kernel_registry)
{
    mlxn_device *dev = test_device();
    mlxn_kernel *k1 = NULL, *k2 = NULL;
    REQUIRE_OK(mlxn_kernel_get(dev, "rms_norm_f32", &k1));
    REQUIRE_OK(mlxn_kernel_get(dev, "rms_norm_f32", &k2));
    CHECK(k1 == k2);
    CHECK(!strcmp(mlxn_kernel_name(k1), "rms_norm_f32"));
    mlxn_kernel *k3 = NULL;
    CHECK(mlxn_kernel_get(dev, "no_such_kernel", &k3) == MLXN_ERR_NOT_FOUND);
    CHECK(strstr(mlxn_last_error(dev), "no_such_kernel") != NULL);
    CHECK(mlxn_kernel_count(dev) > 10);
    int found = 0;
    for (int i = 0; i < mlxn_kernel_count(dev); i++)
        found += !strcmp(mlxn_kernel_name_at(dev, i), "add_bf16");
    CHECK(found == 1);
}

/* Every kernel exists on both backends with the same name. */
TEST(kernel_names_match_across_backends)
{
    int missing = 0;
    for (int i = 0; i < mlxn__cpu_kernel_count; i++) {
        int found = 0;
        for (int j = 0; j < mlxn__cuda_kernel_count; j++)
            found |= !strcmp(mlxn__cpu_kernels[i].name, mlxn__cuda_kernels[j].name);
        if (!found) {
            printf("    CPU kernel %s has no CUDA twin\n", mlxn__cpu_kernels[i].name);
            missing++;
        }
    }
    for (int j = 0; j < mlxn__cuda_kernel_count; j++) {
        int found = 0;
        for (int i = 0; i < mlxn__cpu_kernel_count; i++)
            found |= !strcmp(mlxn__cpu_kernels[i].name, mlxn__cuda_kernels[j].name);
        if (!found) {
            printf("    CUDA kernel %s has no CPU twin\n", mlxn__cuda_kernels[j].name);
            missing++;
        }
    }
    CHECK(missing == 0);
    CHECK(mlxn__cpu_kernel_count == mlxn__cuda_kernel_count);
}
