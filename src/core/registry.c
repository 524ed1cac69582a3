/*
 * registry.c: the kernel registry. The backend lists its kernel names; the
 * registry hashes them once at device creation and resolves a name to the
 * backend's function on first use (the seeds' pipeline cache).
 */
#include "core/internal.h"

#include <stdlib.h>
#include <string.h>

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

mlxn_status mlxn__registry_init(mlxn_device *dev)
{
    mlxn__registry *r = &dev->registry;
    int n = dev->be->kernel_count(dev);
    int cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    r->kernels = calloc((size_t)(n ? n : 1), sizeof *r->kernels);
    r->slots = malloc((size_t)cap * sizeof *r->slots);
    if (!r->kernels || !r->slots) {
        free(r->kernels);
        free(r->slots);
        return mlxn__fail(dev, MLXN_ERR_OUT_OF_MEMORY, "registry: out of memory");
    }
    for (int i = 0; i < cap; i++)
        r->slots[i] = -1;
    r->n = n;
    r->cap = cap;
    for (int i = 0; i < n; i++) {
        mlxn_kernel *k = &r->kernels[i];
        k->name = dev->be->kernel_name(dev, i);
        atomic_init(&k->dispatches, 0);
        uint32_t h = hash_name(k->name) & (uint32_t)(cap - 1);
        while (r->slots[h] >= 0)
            h = (h + 1) & (uint32_t)(cap - 1);
        r->slots[h] = i;
    }
    return MLXN_OK;
}

void mlxn__registry_fini(mlxn_device *dev)
{
    free(dev->registry.kernels);
    free(dev->registry.slots);
    memset(&dev->registry, 0, sizeof dev->registry);
}

mlxn_kernel *mlxn__registry_find(const mlxn_device *dev, const char *name)
{
    const mlxn__registry *r = &dev->registry;
    if (!name || !r->cap)
        return NULL;
    uint32_t h = hash_name(name) & (uint32_t)(r->cap - 1);
    for (;;) {
        int i = r->slots[h];
        if (i < 0)
            return NULL;
        if (strcmp(r->kernels[i].name, name) == 0)
            return &r->kernels[i];
        h = (h + 1) & (uint32_t)(r->cap - 1);
    }
}

mlxn_status mlxn_kernel_get(mlxn_device *dev, const char *name,
                            mlxn_kernel **out)
{
    if (!dev || !name || !out)
        return mlxn__fail(dev, MLXN_ERR_INVALID_ARG, "kernel_get: NULL argument");
    mlxn_kernel *k = mlxn__registry_find(dev, name);
    if (!k)
        return mlxn__fail(dev, MLXN_ERR_NOT_FOUND,
                          "kernel '%s' does not exist on the %s backend", name,
                          dev->be->name);
    void *fn = __atomic_load_n(&k->fn, __ATOMIC_ACQUIRE);
    if (!fn) {
        /* Two threads racing here resolve the same handle; either store
         * wins. Resolution may report errors, so no lock is held. */
        mlxn_status st = dev->be->kernel_resolve(dev, name, &fn);
        if (st != MLXN_OK)
            return st;
        __atomic_store_n(&k->fn, fn, __ATOMIC_RELEASE);
    }
    *out = k;
    return MLXN_OK;
}

const char *mlxn_kernel_name(const mlxn_kernel *k) { return k ? k->name : NULL; }

int mlxn_kernel_count(const mlxn_device *dev) { return dev->registry.n; }

const char *mlxn_kernel_name_at(const mlxn_device *dev, int i)
{
    if (i < 0 || i >= dev->registry.n)
        return NULL;
    return dev->registry.kernels[i].name;
}

mlxn_status mlxn__registry_load_all(mlxn_device *dev)
{
    if (atomic_load(&dev->kernels_loaded))
        return MLXN_OK;
    for (int i = 0; i < dev->registry.n; i++) {
        mlxn_kernel *k = NULL;
        mlxn_status st = mlxn_kernel_get(dev, dev->registry.kernels[i].name, &k);
        if (st != MLXN_OK)
            return st;
    }
    atomic_store(&dev->kernels_loaded, 1);
    return MLXN_OK;
}
