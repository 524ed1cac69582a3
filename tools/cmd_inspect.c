/*
 * cmd_inspect.c: `mlxn inspect`, a model file's metadata and tensor
 * table (GGUF, Hugging Face / MLX safetensors directory, llama2.c).
 */
#include "tools/cli.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void print_tensor(const mlxn_tensor_info *t, int show_limit)
{
    char shape[128] = "";
    for (int d = 0; d < t->ndim; d++) {
        size_t len = strlen(shape);
        snprintf(shape + len, sizeof shape - len, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    }
    (void)show_limit;
    printf("| %s | %s | (%s) | %zu | %zu |\n", t->name, t->type_name, shape, t->bytes, t->offset);
}

static void print_gguf_value(const mlxn_gguf *g, int64_t i)
{
    const char *key = mlxn_gguf_kv_key(g, i);
    int type = mlxn_gguf_kv_type(g, i);
    int64_t iv;
    double dv;
    const char *s;
    mlxn_gguf_array arr;
    mlxn_gguf_type et;
    int64_t n;
    if (type == MLXN_GGUF_STRING && mlxn_gguf_get_string(g, key, &s, NULL) == MLXN_OK)
        printf("%.200s%s", s, strlen(s) > 200 ? "..." : "");
    else if (type == MLXN_GGUF_ARRAY && mlxn_gguf_get_array(g, key, &arr, &et, &n) == MLXN_OK)
        printf("[%lld x %s]", (long long)n, mlxn_gguf_type_name(et));
    else if (type == MLXN_GGUF_BOOL && mlxn_gguf_get_bool(g, key, (int *)&iv) == MLXN_OK)
        printf("%s", (int)iv ? "true" : "false");
    else if (mlxn_gguf_get_int(g, key, &iv) == MLXN_OK)
        printf("%lld", (long long)iv);
    else if (mlxn_gguf_get_float(g, key, &dv) == MLXN_OK)
        printf("%g", dv);
}

static int inspect_gguf(const char *path)
{
    mlxn_gguf *g;
    if (mlxn_gguf_open(path, &g) != MLXN_OK) {
        fprintf(stderr, "mlxn inspect: %s\n", mlxn_last_error(NULL));
        return 1;
    }
    printf("GGUF v%u, alignment %zu, data at byte %zu\n\n", mlxn_gguf_version(g),
           mlxn_gguf_alignment(g), mlxn_gguf_data_offset(g));
    printf("| key | type | value |\n|---|---|---|\n");
    for (int64_t i = 0; i < mlxn_gguf_kv_count(g); i++) {
        printf("| %s | %s | ", mlxn_gguf_kv_key(g, i),
               mlxn_gguf_type_name((mlxn_gguf_type)mlxn_gguf_kv_type(g, i)));
        print_gguf_value(g, i);
        printf(" |\n");
    }
    printf("\n%lld tensors\n\n| name | type | shape | bytes | offset |\n|---|---|---|---|---|\n",
           (long long)mlxn_gguf_tensor_count(g));
    for (int64_t i = 0; i < mlxn_gguf_tensor_count(g); i++) {
        mlxn_tensor_info t;
        if (mlxn_gguf_tensor(g, i, &t) == MLXN_OK)
            print_tensor(&t, 0);
    }
    mlxn_gguf_close(g);
    return 0;
}

static int inspect_dir(const char *path)
{
    mlxn_model_dir *md;
    if (mlxn_model_dir_open(path, &md) != MLXN_OK) {
        fprintf(stderr, "mlxn inspect: %s\n", mlxn_last_error(NULL));
        return 1;
    }
    const mlxn_json *cfg = mlxn_model_dir_config(md);
    printf("config.json\n\n| key | value |\n|---|---|\n");
    for (int64_t i = 0; i < mlxn_json_count(cfg); i++) {
        const mlxn_json *v = mlxn_json_at(cfg, i);
        const char *s;
        double d;
        int b;
        printf("| %s | ", mlxn_json_key_at(cfg, i));
        if (mlxn_json_as_string(v, &s, NULL) == MLXN_OK)
            printf("%s", s);
        else if (mlxn_json_as_number(v, &d) == MLXN_OK)
            printf("%g", d);
        else if (mlxn_json_as_bool(v, &b) == MLXN_OK)
            printf("%s", b ? "true" : "false");
        else
            printf("(%s)", mlxn_json_kind_of(v) == MLXN_JSON_OBJECT ? "object"
                           : mlxn_json_kind_of(v) == MLXN_JSON_ARRAY ? "array" : "null");
        printf(" |\n");
    }
    printf("\n%d shard(s):\n", mlxn_model_dir_shard_count(md));
    for (int i = 0; i < mlxn_model_dir_shard_count(md); i++)
        printf("  %s\n", mlxn_model_dir_shard_path(md, i));
    printf("\n%lld tensors\n\n| name | type | shape | bytes | offset |\n|---|---|---|---|---|\n",
           (long long)mlxn_model_dir_tensor_count(md));
    for (int64_t i = 0; i < mlxn_model_dir_tensor_count(md); i++) {
        mlxn_tensor_info t;
        if (mlxn_model_dir_tensor(md, i, &t) == MLXN_OK)
            print_tensor(&t, 0);
    }
    mlxn_model_dir_close(md);
    return 0;
}

static int inspect_llama2c(const char *path)
{
    mlxn_llama2c *ck;
    if (mlxn_llama2c_open(path, &ck) != MLXN_OK) {
        fprintf(stderr, "mlxn inspect: %s\n", mlxn_last_error(NULL));
        return 1;
    }
    mlxn_llama2c_config c;
    mlxn_llama2c_get_config(ck, &c);
    printf("llama2.c checkpoint: dim %d, hidden_dim %d, n_layers %d, n_heads %d, n_kv_heads %d, "
           "vocab %d (%s classifier), seq_len %d\n\n",
           c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size,
           c.shared_classifier ? "shared" : "separate", c.seq_len);
    printf("| name | type | shape | bytes | offset |\n|---|---|---|---|---|\n");
    for (int64_t i = 0; i < mlxn_llama2c_tensor_count(ck); i++) {
        mlxn_tensor_info t;
        if (mlxn_llama2c_tensor(ck, i, &t) == MLXN_OK)
            print_tensor(&t, 0);
    }
    mlxn_llama2c_close(ck);
    return 0;
}

int mlxn_cmd_inspect(int argc, char **argv)
{
    if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        FILE *f = argc == 2 ? stdout : stderr;
        fprintf(f, "usage: mlxn inspect MODEL\n\n"
                   "Show a model's metadata and tensor table: a GGUF file, a Hugging Face / MLX\n"
                   "safetensors directory, or a llama2.c checkpoint.\n");
        return argc == 2 ? 0 : 2;
    }
    struct stat sb;
    if (stat(argv[1], &sb) != 0) {
        fprintf(stderr, "mlxn inspect: cannot open '%s'\n", argv[1]);
        return 1;
    }
    if (S_ISDIR(sb.st_mode))
        return inspect_dir(argv[1]);
    FILE *f = fopen(argv[1], "rb");
    char magic[4] = {0};
    size_t n = f ? fread(magic, 1, 4, f) : 0;
    if (f)
        fclose(f);
    if (n == 4 && !memcmp(magic, "GGUF", 4))
        return inspect_gguf(argv[1]);
    return inspect_llama2c(argv[1]);
}
