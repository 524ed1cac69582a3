/*
 * json.c: a small strict JSON parser (RFC 8259) for config.json,
 * tokenizer.json and safetensors headers. The whole document is parsed into
 * a node array; strings are unescaped into an arena (UTF-8, NUL-terminated,
 * \u0000 kept); numbers keep an exact int64 when they are integers. Refused:
 * comments, trailing commas, NaN/Infinity, leading zeros, control
 * characters and invalid UTF-8 in strings, lone surrogates, nesting deeper
 * than 512, anything after the root value. Size limits, checked before
 * anything is allocated for the value: strings (and keys) of at most 16 MiB
 * of raw text, numbers of at most 1024 characters. Object lookup returns the
 * last member with a key, as Python's json does.
 */
#include "model/model_io.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

#define JSON_MAX_DEPTH 512                /* containers inside each other */
#define JSON_MAX_STRING ((size_t)16 << 20) /* raw bytes between the quotes */
#define JSON_MAX_NUMBER 1024               /* characters of a number */

struct mlxn_json {
    const mlxn_json_doc *doc;
    const char *key; /* member key when inside an object */
    const char *str; /* string value */
    uint32_t key_len;
    uint8_t kind;
    uint8_t is_int;
    uint8_t truth;
    size_t str_len;
    int64_t i;     /* exact integer value when is_int */
    double num;
    int64_t first; /* children: kids[first .. first + count) */
    int64_t count;
};

struct mlxn_json_doc {
    mlxn_json *nodes;
    size_t n_nodes, nodes_cap;
    int64_t *kids;
    size_t n_kids, kids_cap;
    mlxn__arena arena;
};

typedef struct jparser {
    mlxn_json_doc *doc;
    const char *s;
    size_t n, pos;
    int64_t *stack; /* child indices of the open containers */
    size_t n_stack, stack_cap;
    locale_t c_locale;
    mlxn_status err;
} jparser;

static mlxn_status jfail(jparser *p, const char *what)
{
    if (p->err != MLXN_OK)
        return p->err;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < p->pos && i < p->n; i++) {
        if (p->s[i] == '\n')
            line++, col = 1;
        else
            col++;
    }
    p->err = mlxn__fail(NULL, MLXN_ERR_FORMAT, "json: %s at line %zu column %zu (byte %zu)",
                        what, line, col, p->pos);
    return p->err;
}

static mlxn_status joom(jparser *p)
{
    if (p->err == MLXN_OK)
        p->err = mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "json: out of memory");
    return p->err;
}

static void skip_ws(jparser *p)
{
    while (p->pos < p->n) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static int64_t new_node(jparser *p, int kind)
{
    mlxn_json_doc *d = p->doc;
    if (!mlxn__grow((void **)&d->nodes, &d->nodes_cap, d->n_nodes + 1, sizeof *d->nodes)) {
        joom(p);
        return -1;
    }
    mlxn_json *v = &d->nodes[d->n_nodes];
    memset(v, 0, sizeof *v);
    v->kind = (uint8_t)kind;
    return (int64_t)d->n_nodes++;
}

static int hex4(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* Length of a valid UTF-8 sequence at s (strict: no overlong forms, no
 * surrogates, at most U+10FFFF), or 0. */
static size_t utf8_valid(const uint8_t *s, size_t n)
{
    uint8_t b = s[0];
    if (b < 0x80)
        return 1;
    size_t len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 ? 2 : 0;
    if (!len || len > n || b > 0xf4)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if (len == 3 && ((b == 0xe0 && s[1] < 0xa0) || (b == 0xed && s[1] >= 0xa0)))
        return 0;
    if (len == 4 && ((b == 0xf0 && s[1] < 0x90) || (b == 0xf4 && s[1] >= 0x90)))
        return 0;
    return len;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A string at p->pos (the opening quote), unescaped into the arena. */
static mlxn_status parse_string(jparser *p, const char **out, size_t *out_len)
{
    size_t start = ++p->pos, end = start;
    while (end < p->n && p->s[end] != '"')
        end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->n)
        return jfail(p, "unterminated string");
    if (end - start > JSON_MAX_STRING)
        return jfail(p, "string longer than 16 MiB");
    /* Unescaping never makes a string longer. */
    char *o = mlxn__arena_alloc(&p->doc->arena, end - start + 1);
    if (!o)
        return joom(p);
    size_t n = 0;
    while (p->pos < end) {
        uint8_t c = (uint8_t)p->s[p->pos];
        if (c < 0x20)
            return jfail(p, "control character in string");
        if (c != '\\') {
            size_t l = utf8_valid((const uint8_t *)p->s + p->pos, end - p->pos);
            if (!l)
                return jfail(p, "invalid UTF-8 in string");
            memcpy(o + n, p->s + p->pos, l);
            n += l;
            p->pos += l;
            continue;
        }
        char e = p->s[p->pos + 1];
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *k = e ? strchr(from, e) : NULL;
        if (k) {
            o[n++] = to[k - from];
            p->pos += 2;
            continue;
        }
        uint32_t cp, lo;
        if (e != 'u' || end - p->pos < 6 || !hex4(p->s + p->pos + 2, &cp))
            return jfail(p, "bad escape in string");
        p->pos += 6;
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return jfail(p, "lone low surrogate in string");
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (end - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u' ||
                !hex4(p->s + p->pos + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
                return jfail(p, "lone high surrogate in string");
            p->pos += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        n += put_utf8(o + n, cp);
    }
    o[n] = 0;
    p->pos = end + 1;
    *out = o;
    *out_len = n;
    return MLXN_OK;
}

static int digit(char c) { return c >= '0' && c <= '9'; }

/* Not inlined: its 1 KiB buffer must not sit in every frame of the
 * recursive descent. */
static __attribute__((noinline)) mlxn_status parse_number(jparser *p, int64_t id)
{
    size_t start = p->pos, i = p->pos;
    int is_int = 1;
    if (i < p->n && p->s[i] == '-')
        i++;
    if (i >= p->n || !digit(p->s[i]))
        return jfail(p, "bad number");
    if (p->s[i] == '0' && i + 1 < p->n && digit(p->s[i + 1]))
        return jfail(p, "leading zero in number");
    while (i < p->n && digit(p->s[i]))
        i++;
    if (i < p->n && p->s[i] == '.') {
        is_int = 0;
        if (++i >= p->n || !digit(p->s[i]))
            return jfail(p, "bad fraction in number");
        while (i < p->n && digit(p->s[i]))
            i++;
    }
    if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
        is_int = 0;
        if (++i < p->n && (p->s[i] == '+' || p->s[i] == '-'))
            i++;
        if (i >= p->n || !digit(p->s[i]))
            return jfail(p, "bad exponent in number");
        while (i < p->n && digit(p->s[i]))
            i++;
    }
    size_t len = i - start;
    if (len > JSON_MAX_NUMBER)
        return jfail(p, "number longer than 1024 characters");
    char buf[JSON_MAX_NUMBER + 1];
    memcpy(buf, p->s + start, len);
    buf[len] = 0;
    mlxn_json *v = &p->doc->nodes[id];
    v->num = strtod_l(buf, NULL, p->c_locale);
    if (is_int) {
        errno = 0;
        long long x = strtoll(buf, NULL, 10);
        if (errno == 0) {
            v->is_int = 1;
            v->i = x;
        }
    }
    p->pos = i;
    return MLXN_OK;
}

static mlxn_status parse_value(jparser *p, int depth, int64_t *out);

static mlxn_status push_child(jparser *p, int64_t id)
{
    if (!mlxn__grow((void **)&p->stack, &p->stack_cap, p->n_stack + 1, sizeof *p->stack))
        return joom(p);
    p->stack[p->n_stack++] = id;
    return MLXN_OK;
}

/* Move the children pushed since `mark` into the document's kids. */
static mlxn_status close_container(jparser *p, int64_t id, size_t mark)
{
    mlxn_json_doc *d = p->doc;
    size_t count = p->n_stack - mark;
    if (!mlxn__grow((void **)&d->kids, &d->kids_cap, d->n_kids + count, sizeof *d->kids))
        return joom(p);
    if (count)
        memcpy(d->kids + d->n_kids, p->stack + mark, count * sizeof *d->kids);
    d->nodes[id].first = (int64_t)d->n_kids;
    d->nodes[id].count = (int64_t)count;
    d->n_kids += count;
    p->n_stack = mark;
    return MLXN_OK;
}

/* An object (close '}') or array (close ']') at p->pos. */
static mlxn_status parse_container(jparser *p, int depth, int64_t id, char close)
{
    int object = close == '}';
    size_t mark = p->n_stack;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == close) {
        p->pos++;
        return close_container(p, id, mark);
    }
    for (;;) {
        const char *key = NULL;
        size_t key_len = 0;
        if (object) {
            skip_ws(p);
            if (p->pos >= p->n || p->s[p->pos] != '"')
                return jfail(p, "expected a member name");
            if (parse_string(p, &key, &key_len) != MLXN_OK)
                return p->err;
            skip_ws(p);
            if (p->pos >= p->n || p->s[p->pos] != ':')
                return jfail(p, "expected ':'");
            p->pos++;
        }
        int64_t child;
        if (parse_value(p, depth + 1, &child) != MLXN_OK || push_child(p, child) != MLXN_OK)
            return p->err;
        if (object) {
            if (key_len > UINT32_MAX)
                return jfail(p, "member name too long");
            p->doc->nodes[child].key = key;
            p->doc->nodes[child].key_len = (uint32_t)key_len;
        }
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->n && p->s[p->pos] == close) {
            p->pos++;
            return close_container(p, id, mark);
        }
        return jfail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int literal(jparser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->n - p->pos < n || memcmp(p->s + p->pos, word, n))
        return 0;
    p->pos += n;
    return 1;
}

static mlxn_status parse_value(jparser *p, int depth, int64_t *out)
{
    skip_ws(p);
    if (p->pos >= p->n)
        return jfail(p, "unexpected end of input");
    char c = p->s[p->pos];
    /* depth counts the containers around this value */
    if ((c == '[' || c == '{') && depth >= JSON_MAX_DEPTH)
        return jfail(p, "containers nested deeper than 512");
    int kind = c == '{'   ? MLXN_JSON_OBJECT
               : c == '[' ? MLXN_JSON_ARRAY
               : c == '"' ? MLXN_JSON_STRING
               : c == 't' || c == 'f' ? MLXN_JSON_BOOL
               : c == 'n' ? MLXN_JSON_NULL
                          : MLXN_JSON_NUMBER;
    int64_t id = new_node(p, kind);
    if (id < 0)
        return p->err;
    *out = id;
    switch (kind) {
    case MLXN_JSON_OBJECT:
    case MLXN_JSON_ARRAY:
        return parse_container(p, depth, id, kind == MLXN_JSON_OBJECT ? '}' : ']');
    case MLXN_JSON_STRING: {
        const char *s;
        size_t len;
        if (parse_string(p, &s, &len) != MLXN_OK)
            return p->err;
        p->doc->nodes[id].str = s;
        p->doc->nodes[id].str_len = len;
        return MLXN_OK;
    }
    case MLXN_JSON_BOOL:
        if (literal(p, "true"))
            p->doc->nodes[id].truth = 1;
        else if (!literal(p, "false"))
            return jfail(p, "unexpected token");
        return MLXN_OK;
    case MLXN_JSON_NULL:
        return literal(p, "null") ? MLXN_OK : jfail(p, "unexpected token");
    default:
        if (c != '-' && !digit(c))
            return jfail(p, "unexpected character");
        return parse_number(p, id);
    }
}

mlxn_status mlxn_json_parse(const char *text, size_t len, mlxn_json_doc **out)
{
    if (!out || (!text && len))
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "json_parse: NULL argument");
    *out = NULL;
    mlxn_json_doc *doc = calloc(1, sizeof *doc);
    if (!doc)
        return mlxn__fail(NULL, MLXN_ERR_OUT_OF_MEMORY, "json: out of memory");
    jparser p = {.doc = doc, .s = text, .n = len};
    p.c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    int64_t root;
    mlxn_status st = p.c_locale ? MLXN_OK : joom(&p);
    if (st == MLXN_OK)
        st = parse_value(&p, 0, &root);
    if (st == MLXN_OK) {
        skip_ws(&p);
        if (p.pos != p.n)
            st = jfail(&p, "unexpected text after the value");
    }
    if (p.c_locale)
        freelocale(p.c_locale);
    free(p.stack);
    if (st != MLXN_OK) {
        mlxn_json_free(doc);
        return st;
    }
    for (size_t i = 0; i < doc->n_nodes; i++)
        doc->nodes[i].doc = doc;
    *out = doc;
    return MLXN_OK;
}

void mlxn_json_free(mlxn_json_doc *doc)
{
    if (!doc)
        return;
    mlxn__arena_free(&doc->arena);
    free(doc->nodes);
    free(doc->kids);
    free(doc);
}

/* ---- access ------------------------------------------------------------------------- */

const mlxn_json *mlxn_json_root(const mlxn_json_doc *doc)
{
    return doc && doc->n_nodes ? &doc->nodes[0] : NULL;
}

mlxn_json_kind mlxn_json_kind_of(const mlxn_json *v)
{
    return v ? (mlxn_json_kind)v->kind : MLXN_JSON_NONE;
}

int64_t mlxn_json_count(const mlxn_json *v)
{
    return v && (v->kind == MLXN_JSON_ARRAY || v->kind == MLXN_JSON_OBJECT) ? v->count : 0;
}

const mlxn_json *mlxn_json_at(const mlxn_json *v, int64_t i)
{
    if (i < 0 || i >= mlxn_json_count(v))
        return NULL;
    return &v->doc->nodes[v->doc->kids[v->first + i]];
}

const char *mlxn_json_key_at(const mlxn_json *obj, int64_t i)
{
    if (mlxn_json_kind_of(obj) != MLXN_JSON_OBJECT)
        return NULL;
    const mlxn_json *m = mlxn_json_at(obj, i);
    return m ? m->key : NULL;
}

const mlxn_json *mlxn_json_get(const mlxn_json *obj, const char *key)
{
    if (mlxn_json_kind_of(obj) != MLXN_JSON_OBJECT || !key)
        return NULL;
    size_t len = strlen(key);
    for (int64_t i = obj->count - 1; i >= 0; i--) {
        const mlxn_json *m = mlxn_json_at(obj, i);
        if (m->key_len == len && !memcmp(m->key, key, len))
            return m;
    }
    return NULL;
}

static const char *kind_name(int kind)
{
    static const char *const names[] = {"null", "a bool", "a number", "a string", "an array",
                                        "an object"};
    return kind >= 0 && kind <= MLXN_JSON_OBJECT ? names[kind] : "absent";
}

static mlxn_status want(const mlxn_json *v, int kind, const void *out)
{
    if (!out)
        return mlxn__fail(NULL, MLXN_ERR_INVALID_ARG, "json: NULL argument");
    if (!v)
        return mlxn__fail(NULL, MLXN_ERR_NOT_FOUND, "json: no value");
    if (v->kind != kind)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "json: %s%s%s is %s, not %s",
                          v->key ? "'" : "", v->key ? v->key : "value", v->key ? "'" : "",
                          kind_name(v->kind), kind_name(kind));
    return MLXN_OK;
}

mlxn_status mlxn_json_as_string(const mlxn_json *v, const char **out, size_t *len)
{
    mlxn_status st = want(v, MLXN_JSON_STRING, out);
    if (st != MLXN_OK)
        return st;
    *out = v->str;
    if (len)
        *len = v->str_len;
    return MLXN_OK;
}

mlxn_status mlxn_json_as_number(const mlxn_json *v, double *out)
{
    mlxn_status st = want(v, MLXN_JSON_NUMBER, out);
    if (st == MLXN_OK)
        *out = v->num;
    return st;
}

mlxn_status mlxn_json_as_int(const mlxn_json *v, int64_t *out)
{
    mlxn_status st = want(v, MLXN_JSON_NUMBER, out);
    if (st != MLXN_OK)
        return st;
    if (v->is_int) {
        *out = v->i;
        return MLXN_OK;
    }
    /* 2.0 or 1e3 are integers too, when exact in a double. The range is
     * checked first: converting a double outside int64 is undefined. */
    if (v->num >= -9007199254740992.0 && v->num <= 9007199254740992.0 &&
        v->num == (double)(int64_t)v->num) {
        *out = (int64_t)v->num;
        return MLXN_OK;
    }
    return mlxn__fail(NULL, MLXN_ERR_FORMAT, "json: %s%s%s = %g is not an integer",
                      v->key ? "'" : "", v->key ? v->key : "value", v->key ? "'" : "", v->num);
}

mlxn_status mlxn_json_as_bool(const mlxn_json *v, int *out)
{
    mlxn_status st = want(v, MLXN_JSON_BOOL, out);
    if (st == MLXN_OK)
        *out = v->truth;
    return st;
}

static mlxn_status member(const mlxn_json *obj, const char *key, const mlxn_json **m)
{
    if (mlxn_json_kind_of(obj) != MLXN_JSON_OBJECT)
        return mlxn__fail(NULL, MLXN_ERR_FORMAT, "json: looking up '%s' in %s", key ? key : "",
                          kind_name(mlxn_json_kind_of(obj)));
    *m = mlxn_json_get(obj, key);
    if (!*m)
        return mlxn__fail(NULL, MLXN_ERR_NOT_FOUND, "json: no member '%s'", key ? key : "");
    return MLXN_OK;
}

mlxn_status mlxn_json_get_string(const mlxn_json *obj, const char *key, const char **out)
{
    const mlxn_json *m = NULL;
    mlxn_status st = member(obj, key, &m);
    return st != MLXN_OK ? st : mlxn_json_as_string(m, out, NULL);
}

mlxn_status mlxn_json_get_number(const mlxn_json *obj, const char *key, double *out)
{
    const mlxn_json *m = NULL;
    mlxn_status st = member(obj, key, &m);
    return st != MLXN_OK ? st : mlxn_json_as_number(m, out);
}

mlxn_status mlxn_json_get_int(const mlxn_json *obj, const char *key, int64_t *out)
{
    const mlxn_json *m = NULL;
    mlxn_status st = member(obj, key, &m);
    return st != MLXN_OK ? st : mlxn_json_as_int(m, out);
}

mlxn_status mlxn_json_get_bool(const mlxn_json *obj, const char *key, int *out)
{
    const mlxn_json *m = NULL;
    mlxn_status st = member(obj, key, &m);
    return st != MLXN_OK ? st : mlxn_json_as_bool(m, out);
}
