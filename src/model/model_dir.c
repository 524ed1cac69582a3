/*
 * model_dir.c: Hugging Face / MLX model directories: config.json, the
 * safetensors shards (from model.safetensors.index.json, model.safetensors
 * or every *.safetensors), one tensor table across shards, and MLX's
 * quantization settings (mlx-lm utils.py load_model: per-module entries in
 * config["quantization"] win, else modules that have ".scales" weights use
 * the global bits and group size). Limits: config.json and the index at
 * most 64 MiB each, at most 16384 shard files (counted before any is
 * opened).
 */
#include "model/model_io.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define MAX_JSON_FILE ((size_t)64 << 20)
#define MAX_SHARDS 16384

struct mlxn_model_dir {
    mlxn_json_doc *config;
    mlxn_safetensors **shards;
    char **paths;
    int n_shards;
    size_t shard_cap;
    mlxn__strmap shard_names; /* file name (inside paths) -> shard index */
    int64_t *table; /* (shard << 32) | index, in shard order */
    int64_t n_tensors;
    mlxn__strmap names;
    const mlxn_json *quant; /* config's quantization object, or NULL */
    int bits, group_size;   /* global settings; bits 0 when absent */
    const char *mode;
};

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static mlxn_status read_json(const char *path, mlxn_json_doc **out)
{
    char *text;
    size_t len;
    mlxn_status st = mlxn__read_file(path, MAX_JSON_FILE, &text, &len);
    if (st != MLXN_OK)
        return st;
    st = mlxn_json_parse(text, len, out);
    free(text);
    if (st != MLXN_OK)
        return mlxn__fail(NULL, st, "%s: %s", path, mlxn_last_error(NULL));
    if (mlxn_json_kind_of(mlxn_json_root(*out)) != MLXN_JSON_OBJECT) {
        mlxn_json_free(*out);
        *out = NULL;
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: not a JSON object", path);
    }
    return MLXN_OK;
}

static mlxn_status add_shard(mlxn_model_dir *md, const char *dir, const char *name)
{
    if (!*name || name[0] == '/' || strstr(name, ".."))
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: refusing shard file name '%s'", dir, name);
    if (mlxn__strmap_get(&md->shard_names, name, strlen(name)) >= 0)
        return MLXN_OK;
    if (md->n_shards >= MAX_SHARDS)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: more than %d shard files", dir, MAX_SHARDS);
    size_t cap = md->shard_cap, need = (size_t)md->n_shards + 1;
    int grown = mlxn__grow((void **)&md->paths, &cap, need, sizeof *md->paths);
    cap = md->shard_cap;
    grown = grown && mlxn__grow((void **)&md->shards, &cap, need, sizeof *md->shards);
    char *path = grown ? join(dir, name) : NULL;
    if (!path)
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "%s: out of memory", dir);
    md->shard_cap = cap;
    const char *file = path + strlen(dir) + 1;
    if (mlxn__strmap_put(&md->shard_names, file, strlen(file), md->n_shards) == -2) {
        free(path);
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "%s: out of memory", dir);
    }
    md->paths[md->n_shards] = path;
    md->shards[md->n_shards] = NULL;
    md->n_shards++;
    return mlxn_safetensors_open(path, &md->shards[md->n_shards - 1]);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.safetensors file of dir, in name order. */
static mlxn_status scan_dir(mlxn_model_dir *md, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return mlxn__fail(NULL, MLXN_ERR_IO, "%s: cannot list the directory", dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    mlxn_status st = MLXN_OK;
    for (struct dirent *e; (e = readdir(d)) && st == MLXN_OK;) {
        size_t len = strlen(e->d_name);
        if (len <= 12 || strcmp(e->d_name + len - 12, ".safetensors"))
            continue;
        char *copy = strdup(e->d_name);
        if (!copy || !mlxn__grow((void **)&names, &cap, n + 1, sizeof *names)) {
            free(copy);
            st = mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "%s: out of memory", dir);
            break;
        }
        names[n++] = copy;
    }
    closedir(d);
    if (st == MLXN_OK && n == 0)
        st = mlxn__fail(NULL, MLXN_ERR_NOT_FOUND, "%s: no .safetensors files", dir);
    if (st == MLXN_OK && n > MAX_SHARDS)
        st = mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: %zu .safetensors files is more than %d",
                        dir, n, MAX_SHARDS);
    if (st == MLXN_OK)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n && st == MLXN_OK; i++)
        st = add_shard(md, dir, names[i]);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return st;
}

static mlxn_status build_table(mlxn_model_dir *md)
{
    int64_t total = 0;
    for (int s = 0; s < md->n_shards; s++)
        total += mlxn_safetensors_tensor_count(md->shards[s]);
    md->table = malloc((size_t)(total ? total : 1) * sizeof *md->table);
    if (!md->table || !mlxn__strmap_reserve(&md->names, (size_t)total))
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "model dir: out of memory");
    for (int s = 0; s < md->n_shards; s++) {
        for (int64_t i = 0; i < mlxn_safetensors_tensor_count(md->shards[s]); i++) {
            mlxn_tensor_info t;
            mlxn_safetensors_tensor(md->shards[s], i, &t);
            int64_t prev = mlxn__strmap_put(&md->names, t.name, strlen(t.name), md->n_tensors);
            if (prev != md->n_tensors)
                return mlxn__fail(NULL, MLXN_ERR_FORMAT, "tensor '%s' is in both %s and %s",
                                  t.name, md->paths[md->table[prev] >> 32], md->paths[s]);
            md->table[md->n_tensors++] = ((int64_t)s << 32) | i;
        }
    }
    return MLXN_OK;
}

/* The distinct file names of a weight_map, refused when there are more
 * than MAX_SHARDS (before any file is opened). */
static mlxn_status count_shards(const mlxn_json *map, const char *index_path)
{
    mlxn__strmap seen = {0};
    mlxn_status st = MLXN_OK;
    for (int64_t i = 0; i < mlxn_json_count(map) && st == MLXN_OK; i++) {
        const char *file;
        size_t len;
        st = mlxn_json_as_string(mlxn_json_at(map, i), &file, &len);
        if (st == MLXN_OK && mlxn__strmap_put(&seen, file, len, 0) == -2)
            st = mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "%s: out of memory", index_path);
        if (st == MLXN_OK && seen.count > MAX_SHARDS)
            st = mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: weight_map names more than %d files",
                            index_path, MAX_SHARDS);
    }
    mlxn__strmap_free(&seen);
    return st;
}

/* Shards from the index's weight_map; every entry must be where it says. */
static mlxn_status open_indexed(mlxn_model_dir *md, const char *dir, const char *index_path)
{
    mlxn_json_doc *index;
    mlxn_status st = read_json(index_path, &index);
    if (st != MLXN_OK)
        return st;
    const mlxn_json *map = mlxn_json_get(mlxn_json_root(index), "weight_map");
    if (mlxn_json_kind_of(map) != MLXN_JSON_OBJECT)
        st = mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: no \"weight_map\" object", index_path);
    if (st == MLXN_OK)
        st = count_shards(map, index_path);
    for (int64_t i = 0; i < mlxn_json_count(map) && st == MLXN_OK; i++) {
        const char *file;
        st = mlxn_json_as_string(mlxn_json_at(map, i), &file, NULL);
        if (st == MLXN_OK)
            st = add_shard(md, dir, file);
    }
    if (st == MLXN_OK)
        st = build_table(md);
    for (int64_t i = 0; i < mlxn_json_count(map) && st == MLXN_OK; i++) {
        const char *name = mlxn_json_key_at(map, i), *file;
        mlxn_json_as_string(mlxn_json_at(map, i), &file, NULL);
        int64_t t = mlxn_model_dir_find_tensor(md, name);
        const char *has = t < 0 ? NULL : md->paths[md->table[t] >> 32] + strlen(dir) + 1;
        if (!has || strcmp(has, file))
            st = mlxn__fail(NULL, MLXN_ERR_FORMAT, "%s: tensor '%s' is not in %s", index_path,
                            name, file);
    }
    mlxn_json_free(index);
    return st;
}

static mlxn_status read_quant(mlxn_model_dir *md)
{
    const mlxn_json *cfg = mlxn_json_root(md->config);
    const mlxn_json *q = mlxn_json_get(cfg, "quantization");
    if (mlxn_json_kind_of(q) != MLXN_JSON_OBJECT) {
        q = mlxn_json_get(cfg, "quantization_config");
        if (!mlxn_json_get(q, "bits") || !mlxn_json_get(q, "group_size"))
            q = NULL;
    }
    md->quant = mlxn_json_kind_of(q) == MLXN_JSON_OBJECT ? q : NULL;
    md->mode = "affine";
    if (!md->quant)
        return MLXN_OK;
    int64_t bits = 0, group = 0;
    if (mlxn_json_get(q, "bits") && mlxn_json_get_int(q, "bits", &bits) != MLXN_OK)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "config.json: quantization: %s",
                          mlxn_last_error(NULL));
    if (mlxn_json_get(q, "group_size") && mlxn_json_get_int(q, "group_size", &group) != MLXN_OK)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "config.json: quantization: %s",
                          mlxn_last_error(NULL));
    if (bits < 0 || bits > 16 || group < 0 || group > (1 << 20) || (bits && !group))
        return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                          "config.json: quantization bits %lld, group_size %lld are not usable",
                          (long long)bits, (long long)group);
    md->bits = (int)bits;
    md->group_size = (int)group;
    mlxn_json_get_string(q, "mode", &md->mode);
    return MLXN_OK;
}

mlxn_status mlxn_model_dir_open(const char *dir, mlxn_model_dir **out)
{
    if (!dir || !out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "model_dir_open: NULL argument");
    *out = NULL;
    mlxn_model_dir *md = calloc(1, sizeof *md);
    char *config = join(dir, "config.json");
    char *index = join(dir, "model.safetensors.index.json");
    char *single = join(dir, "model.safetensors");
    mlxn_status st = md && config && index && single
                         ? MLXN_OK
                         : mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "model dir: out of memory");
    if (st == MLXN_OK)
        st = read_json(config, &md->config);
    if (st == MLXN_OK) {
        if (is_file(index)) {
            st = open_indexed(md, dir, index);
        } else {
            st = is_file(single) ? add_shard(md, dir, "model.safetensors") : scan_dir(md, dir);
            if (st == MLXN_OK)
                st = build_table(md);
        }
    }
    if (st == MLXN_OK)
        st = read_quant(md);
    free(config);
    free(index);
    free(single);
    if (st != MLXN_OK) {
        mlxn_model_dir_close(md);
        return st;
    }
    *out = md;
    return MLXN_OK;
}

void mlxn_model_dir_close(mlxn_model_dir *md)
{
    if (!md)
        return;
    for (int i = 0; i < md->n_shards; i++) {
        mlxn_safetensors_close(md->shards[i]);
        free(md->paths[i]);
    }
    free(md->shards);
    free(md->paths);
    mlxn__strmap_free(&md->shard_names);
    free(md->table);
    mlxn__strmap_free(&md->names);
    mlxn_json_free(md->config);
    free(md);
}

const mlxn_json *mlxn_model_dir_config(const mlxn_model_dir *md)
{
    return md ? mlxn_json_root(md->config) : NULL;
}

int mlxn_model_dir_shard_count(const mlxn_model_dir *md) { return md ? md->n_shards : 0; }

const char *mlxn_model_dir_shard_path(const mlxn_model_dir *md, int i)
{
    return md && i >= 0 && i < md->n_shards ? md->paths[i] : NULL;
}

int64_t mlxn_model_dir_tensor_count(const mlxn_model_dir *md) { return md ? md->n_tensors : 0; }

mlxn_status mlxn_model_dir_tensor(const mlxn_model_dir *md, int64_t i, mlxn_tensor_info *out)
{
    if (!md || !out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "model_dir_tensor: NULL argument");
    if (i < 0 || i >= md->n_tensors)
        return mlxn__fail(NULL, MLXN_ERR_NOT_FOUND, "model dir: no tensor %lld (of %lld)",
                          (long long)i, (long long)md->n_tensors);
    int s = (int)(md->table[i] >> 32);
    mlxn_status st = mlxn_safetensors_tensor(md->shards[s], md->table[i] & 0xffffffff, out);
    out->shard = s;
    return st;
}

int64_t mlxn_model_dir_find_tensor(const mlxn_model_dir *md, const char *name)
{
    if (!md || !name)
        return -1;
    return mlxn__strmap_get(&md->names, name, strlen(name));
}

mlxn_status mlxn_model_dir_quant(const mlxn_model_dir *md, const char *name,
                                 mlxn_quant_info *out)
{
    if (!md || !name || !out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "model_dir_quant: NULL argument");
    char module[512];
    size_t len = strlen(name);
    if (len >= sizeof module - 8)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "model_dir_quant: name too long");
    memcpy(module, name, len + 1);
    static const char *const suffixes[] = {".weight", ".scales", ".biases"};
    for (int k = 0; k < 3; k++) {
        size_t sl = strlen(suffixes[k]);
        if (len > sl && !strcmp(module + len - sl, suffixes[k]))
            module[len -= sl] = 0;
    }
    *out = (mlxn_quant_info){0, 0, md->mode ? md->mode : "affine"};
    if (!md->quant)
        return MLXN_OK;
    const mlxn_json *entry = mlxn_json_get(md->quant, module);
    if (strcmp(module, "bits") && strcmp(module, "group_size") && strcmp(module, "mode") &&
        entry) {
        int flag;
        if (mlxn_json_as_bool(entry, &flag) == MLXN_OK) {
            if (flag)
                out->bits = md->bits, out->group_size = md->group_size;
            return MLXN_OK;
        }
        if (mlxn_json_kind_of(entry) != MLXN_JSON_OBJECT)
            return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                              "config.json: quantization entry '%s' is neither an object nor a "
                              "bool", module);
        int64_t bits = md->bits, group = md->group_size;
        if ((mlxn_json_get(entry, "bits") && mlxn_json_get_int(entry, "bits", &bits) != MLXN_OK) ||
            (mlxn_json_get(entry, "group_size") &&
             mlxn_json_get_int(entry, "group_size", &group) != MLXN_OK) ||
            bits < 0 || bits > 16 || group < 0 || group > (1 << 20))
            return mlxn__fail(NULL, MLXN_ERR_FORMAT,
                              "config.json: quantization entry '%s' is not usable", module);
        out->bits = (int)bits;
        out->group_size = (int)group;
        mlxn_json_get_string(entry, "mode", &out->mode);
        return MLXN_OK;
    }
    memcpy(module + len, ".scales", 8);
    if (md->bits && mlxn_model_dir_find_tensor(md, module) >= 0)
        out->bits = md->bits, out->group_size = md->group_size;
    return MLXN_OK;
}
