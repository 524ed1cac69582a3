/*
 * model_io.c: read-only file mappings, whole-file reads, the string hash
 * map, the small-string arena and array growth used by the model readers.
 */
#include "model/model_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- file mappings ---------------------------------------------------------- */

mlxn_status mlxn__map_file(const char *path, mlxn__mapping *out)
{
    if (!path || !out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "map file: NULL argument");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mlxn__fail(NULL, MLXN_ERR_IO, "%s: cannot open: %s", path,
                          strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return mlxn__fail(NULL, MLXN_ERR_IO, "%s: not a regular file", path);
    }
    out->data = NULL;
    out->size = (size_t)st.st_size;
    if (out->size > 0) {
        void *p = mmap(NULL, out->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return mlxn__fail(NULL, MLXN_ERR_IO, "%s: mmap of %zu bytes failed: %s",
                              path, out->size, strerror(e));
        }
        out->data = p;
    }
    close(fd);
    return MLXN_OK;
}

void mlxn__unmap(mlxn__mapping *m)
{
    if (m && m->data)
        munmap((void *)m->data, m->size);
    if (m) {
        m->data = NULL;
        m->size = 0;
    }
}

mlxn_status mlxn__read_file(const char *path, size_t max_bytes, char **out,
                            size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mlxn__fail(NULL, MLXN_ERR_IO, "%s: cannot open: %s", path,
                          strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return mlxn__fail(NULL, MLXN_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_bytes) {
        fclose(f);
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: %lld bytes is more than the %zu allowed",
                          path, (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        fclose(f);
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "%s: cannot hold %zu bytes", path, n);
    }
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    if (got != n) {
        free(buf);
        return mlxn__fail(NULL, MLXN_ERR_IO, "%s: short read (%zu of %zu bytes)", path, got, n);
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return MLXN_OK;
}

/* ---- string hash map ------------------------------------------------------------ */

uint64_t mlxn__hash_bytes(const void *data, size_t len)
{
    /* FNV-1a, then a final mix so that low bits spread. */
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}

static int strmap_rehash(mlxn__strmap *m, size_t new_cap)
{
    struct mlxn__strmap_slot *slots = calloc(new_cap, sizeof *slots);
    if (!slots)
        return 0;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        size_t j = m->slots[i].hash & (new_cap - 1);
        while (slots[j].key)
            j = (j + 1) & (new_cap - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = new_cap;
    return 1;
}

int mlxn__strmap_reserve(mlxn__strmap *m, size_t n)
{
    size_t cap = m->cap ? m->cap : 16;
    while (cap / 2 < n + 1) {
        if (cap > SIZE_MAX / 4 / sizeof(struct mlxn__strmap_slot))
            return 0;
        cap *= 2;
    }
    return cap == m->cap ? 1 : strmap_rehash(m, cap);
}

int64_t mlxn__strmap_put(mlxn__strmap *m, const char *key, size_t len,
                         int64_t value)
{
    if (!mlxn__strmap_reserve(m, m->count + 1))
        return -2;
    uint64_t h = mlxn__hash_bytes(key, len);
    size_t j = h & (m->cap - 1);
    /* An empty key is stored with a non-NULL pointer so that the slot
     * reads as taken. */
    const char *stored = key ? key : "";
    while (m->slots[j].key) {
        struct mlxn__strmap_slot *s = &m->slots[j];
        if (s->hash == h && s->len == len && !memcmp(s->key, stored, len))
            return s->value;
        j = (j + 1) & (m->cap - 1);
    }
    m->slots[j].key = stored;
    m->slots[j].len = len;
    m->slots[j].value = value;
    m->slots[j].hash = h;
    m->count++;
    return value;
}

int64_t mlxn__strmap_get(const mlxn__strmap *m, const char *key, size_t len)
{
    if (!m->cap)
        return -1;
    uint64_t h = mlxn__hash_bytes(key, len);
    size_t j = h & (m->cap - 1);
    const char *k = key ? key : "";
    while (m->slots[j].key) {
        const struct mlxn__strmap_slot *s = &m->slots[j];
        if (s->hash == h && s->len == len && !memcmp(s->key, k, len))
            return s->value;
        j = (j + 1) & (m->cap - 1);
    }
    return -1;
}

void mlxn__strmap_free(mlxn__strmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

/* ---- arena -------------------------------------------------------------------- */

struct mlxn__arena_chunk {
    struct mlxn__arena_chunk *next;
    max_align_t align_;
};

void *mlxn__arena_alloc(mlxn__arena *a, size_t n)
{
    if (n > SIZE_MAX / 2)
        return NULL; /* rounding up and the chunk header must not wrap */
    n = (n + 7) & ~(size_t)7;
    if (!a->head || a->cap - a->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        struct mlxn__arena_chunk *c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = a->head;
        a->head = c;
        a->used = 0;
        a->cap = cap;
    }
    void *p = (char *)(a->head + 1) + a->used;
    a->used += n;
    return p;
}

char *mlxn__arena_strndup(mlxn__arena *a, const void *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = mlxn__arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void mlxn__arena_free(mlxn__arena *a)
{
    struct mlxn__arena_chunk *c = a->head;
    while (c) {
        struct mlxn__arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used = a->cap = 0;
}

/* ---- growable arrays ------------------------------------------------------------- */

int mlxn__grow(void **ptr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 1;
    size_t c = *cap ? *cap : 8;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return 0;
        c *= 2;
    }
    if (c > SIZE_MAX / elem)
        return 0;
    void *p = realloc(*ptr, c * elem);
    if (!p)
        return 0;
    *ptr = p;
    *cap = c;
    return 1;
}
