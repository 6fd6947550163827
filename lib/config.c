/*
 * config.c - Flink-style configuration: loaders (YAML via libyaml's document API, legacy
 * lines, FLINK_PROPERTIES, -D) into a string map, and Flink's value syntaxes.
 *
 * Each entry owns its value and an origin string ("config.yaml:3:5", "-D", ...), used to
 * point at the source in errors. Loaders build into a scratch map and merge it only when the
 * whole input is valid, so a bad file changes nothing.
 */
#include "lib/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "lib/log.h"
#include "lib/strmap.h"

#define MAX_FILE_BYTES (16u * 1024u * 1024u)
#define MAX_KEY        1024

struct entry {
    char *value;
    char *origin; /* NULL: set by code */
};

struct config {
    strmap *map; /* key -> struct entry* (owned) */
};

static void entry_free(struct entry *e)
{
    if (!e)
        return;
    free(e->value);
    free(e->origin);
    free(e);
}

config *config_new(void)
{
    config *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->map = strmap_new();
    if (!c->map) {
        free(c);
        return NULL;
    }
    return c;
}

void config_free(config *c)
{
    if (!c)
        return;
    size_t it = 0;
    const char *k;
    void *v;
    while (strmap_next(c->map, &it, &k, &v))
        entry_free(v);
    strmap_free(c->map);
    free(c);
}

int config_set(config *c, const char *key, const char *value, const char *origin)
{
    if (!key || !*key || !value)
        return WEIR_EINVAL;
    struct entry *e = calloc(1, sizeof(*e));
    if (!e)
        return WEIR_ENOMEM;
    e->value = strdup(value);
    e->origin = origin ? strdup(origin) : NULL;
    if (!e->value || (origin && !e->origin)) {
        entry_free(e);
        return WEIR_ENOMEM;
    }
    void *old = NULL;
    if (strmap_put(c->map, key, e, &old) != 0) {
        entry_free(e);
        return WEIR_ENOMEM;
    }
    entry_free(old);
    return 0;
}

int config_remove(config *c, const char *key)
{
    struct entry *e = strmap_del(c->map, key);
    if (!e)
        return WEIR_ENOTFOUND;
    entry_free(e);
    return 0;
}

const char *config_get(const config *c, const char *key)
{
    const struct entry *e = strmap_get(c->map, key);
    return e ? e->value : NULL;
}

const char *config_origin(const config *c, const char *key)
{
    const struct entry *e = strmap_get(c->map, key);
    return e ? (e->origin ? e->origin : "(set by code)") : NULL;
}

bool config_has(const config *c, const char *key)
{
    return strmap_has(c->map, key);
}

size_t config_len(const config *c)
{
    return strmap_len(c->map);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **config_keys(const config *c)
{
    size_t n = strmap_len(c->map), i = 0, it = 0;
    const char **keys = calloc(n + 1, sizeof(*keys));
    if (!keys)
        return NULL;
    const char *k;
    void *v;
    while (strmap_next(c->map, &it, &k, &v) && i < n)
        keys[i++] = k;
    qsort(keys, i, sizeof(*keys), cmp_str);
    return keys;
}

int config_merge(config *dst, const config *src)
{
    size_t it = 0;
    const char *k;
    void *v;
    while (strmap_next(src->map, &it, &k, &v)) {
        const struct entry *e = v;
        int rc = config_set(dst, k, e->value, e->origin);
        if (rc)
            return rc;
    }
    return 0;
}

config *config_clone(const config *c)
{
    config *n = config_new();
    if (n && config_merge(n, c) != 0) {
        config_free(n);
        return NULL;
    }
    return n;
}

/* --- errors -------------------------------------------------------------------------------- */

/* Fills err with "<origin>: key '<key>': <msg>" and returns code. */
static int verr(const config *c, const char *key, weir_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int verr(const config *c, const char *key, weir_error *err, int code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const struct entry *e = c ? strmap_get(c->map, key) : NULL;
    if (e && e->origin)
        return weir_error_set(err, code, "%s: key '%s': %s", e->origin, key, msg);
    return weir_error_set(err, code, "key '%s': %s", key, msg);
}

/* --- value syntaxes -------------------------------------------------------------------------- */

/* Splits "  123 unit " into the number and the lower-cased unit. */
static int split_number_unit(const char *s, unsigned long long *num, char *unit, size_t cap)
{
    while (isspace((unsigned char)*s))
        s++;
    const char *p = s;
    unsigned long long v = 0;
    if (!isdigit((unsigned char)*p))
        return WEIR_EPARSE;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return WEIR_ERANGE;
        v = v * 10 + d;
    }
    while (isspace((unsigned char)*p))
        p++;
    size_t n = 0;
    for (; *p && n + 1 < cap; p++)
        unit[n++] = (char)tolower((unsigned char)*p);
    if (*p)
        return WEIR_EUNIT;
    while (n && isspace((unsigned char)unit[n - 1]))
        n--;
    unit[n] = '\0';
    *num = v;
    return 0;
}

static bool in_list(const char *u, const char *const *names)
{
    for (; *names; names++)
        if (strcmp(u, *names) == 0)
            return true;
    return false;
}

int config_parse_duration_ms(const char *s, long long *out)
{
    static const char *const ns[] = {"ns", "nano", "nanos", "nanosecond", "nanoseconds", NULL};
    static const char *const us[] = {"\xc2\xb5s",   "us",           "micro", "micros",
                                     "microsecond", "microseconds", NULL};
    static const char *const ms[] = {"",  "ms", "milli", "millis", "millisecond", "milliseconds",
                                     NULL};
    static const char *const sec[] = {"s", "sec", "secs", "second", "seconds", NULL};
    static const char *const min[] = {"m", "min", "mins", "minute", "minutes", NULL};
    static const char *const hour[] = {"h", "hour", "hours", NULL};
    static const char *const day[] = {"d", "day", "days", NULL};
    unsigned long long v;
    char unit[32];
    int rc = split_number_unit(s, &v, unit, sizeof(unit));
    if (rc)
        return rc;
    unsigned long long mul, div = 1;
    if (in_list(unit, ns)) {
        mul = 1, div = 1000000;
    } else if (in_list(unit, us)) {
        mul = 1, div = 1000;
    } else if (in_list(unit, ms)) {
        mul = 1;
    } else if (in_list(unit, sec)) {
        mul = 1000;
    } else if (in_list(unit, min)) {
        mul = 60000;
    } else if (in_list(unit, hour)) {
        mul = 3600000;
    } else if (in_list(unit, day)) {
        mul = 86400000;
    } else {
        return WEIR_EUNIT;
    }
    if (v > (unsigned long long)LLONG_MAX / mul)
        return WEIR_ERANGE;
    *out = (long long)(v * mul / div);
    return 0;
}

int config_parse_memory(const char *s, unsigned long long *out)
{
    static const char *const b[] = {"", "b", "bytes", NULL};
    static const char *const k[] = {"k", "kb", "kibibytes", NULL};
    static const char *const m[] = {"m", "mb", "mebibytes", NULL};
    static const char *const g[] = {"g", "gb", "gibibytes", NULL};
    static const char *const t[] = {"t", "tb", "tebibytes", NULL};
    unsigned long long v, mul;
    char unit[32];
    int rc = split_number_unit(s, &v, unit, sizeof(unit));
    if (rc)
        return rc;
    if (in_list(unit, b))
        mul = 1;
    else if (in_list(unit, k))
        mul = 1ULL << 10;
    else if (in_list(unit, m))
        mul = 1ULL << 20;
    else if (in_list(unit, g))
        mul = 1ULL << 30;
    else if (in_list(unit, t))
        mul = 1ULL << 40;
    else
        return WEIR_EUNIT;
    if (v > ULLONG_MAX / mul)
        return WEIR_ERANGE;
    *out = v * mul;
    return 0;
}

/* The unit part of a value, for messages. */
static const char *unit_of(const char *s, char *buf, size_t cap)
{
    while (isspace((unsigned char)*s))
        s++;
    while (isdigit((unsigned char)*s))
        s++;
    while (isspace((unsigned char)*s))
        s++;
    snprintf(buf, cap, "%s", s);
    return buf;
}

/* --- typed getters -----------------------------------------------------------------------------
 */

const char *config_get_string(const config *c, const char *key, const char *def)
{
    const char *v = config_get(c, key);
    return v ? v : def;
}

static void trim_copy(const char *s, char *buf, size_t cap)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
}

int config_get_int(const config *c, const char *key, long long def, long long *out, weir_error *err)
{
    const char *v = config_get(c, key);
    char buf[64];
    *out = def;
    if (!v)
        return 0;
    trim_copy(v, buf, sizeof(buf));
    char *end;
    errno = 0;
    long long n = strtoll(buf, &end, 10);
    if (!buf[0] || *end || end == buf)
        return verr(c, key, err, WEIR_ETYPE, "'%s' is not an integer", v);
    if (errno == ERANGE)
        return verr(c, key, err, WEIR_ERANGE, "'%s' is out of range", v);
    *out = n;
    return 0;
}

int config_get_double(const config *c, const char *key, double def, double *out, weir_error *err)
{
    const char *v = config_get(c, key);
    char buf[64];
    *out = def;
    if (!v)
        return 0;
    trim_copy(v, buf, sizeof(buf));
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if (!buf[0] || *end || !isfinite(d))
        return verr(c, key, err, WEIR_ETYPE, "'%s' is not a number", v);
    if (errno == ERANGE)
        return verr(c, key, err, WEIR_ERANGE, "'%s' is out of range", v);
    *out = d;
    return 0;
}

int config_get_bool(const config *c, const char *key, bool def, bool *out, weir_error *err)
{
    const char *v = config_get(c, key);
    char buf[16];
    *out = def;
    if (!v)
        return 0;
    trim_copy(v, buf, sizeof(buf));
    if (strcasecmp(buf, "true") == 0) {
        *out = true;
    } else if (strcasecmp(buf, "false") == 0) {
        *out = false;
    } else {
        return verr(c, key, err, WEIR_ETYPE, "'%s' is not a boolean (use true or false)", v);
    }
    return 0;
}

int config_get_duration_ms(const config *c, const char *key, long long def, long long *out,
                           weir_error *err)
{
    const char *v = config_get(c, key);
    char ub[32];
    *out = def;
    if (!v)
        return 0;
    long long ms;
    switch (config_parse_duration_ms(v, &ms)) {
    case 0:
        *out = ms;
        return 0;
    case WEIR_EUNIT:
        return verr(c, key, err, WEIR_EUNIT,
                    "unknown duration unit '%s' in '%s' (use ms, s, min, h or d)",
                    unit_of(v, ub, sizeof(ub)), v);
    case WEIR_ERANGE:
        return verr(c, key, err, WEIR_ERANGE, "duration '%s' is too large", v);
    default:
        return verr(c, key, err, WEIR_EPARSE,
                    "'%s' is not a duration (a whole number and a unit, e.g. '30 s')", v);
    }
}

int config_get_memory(const config *c, const char *key, unsigned long long def,
                      unsigned long long *out, weir_error *err)
{
    const char *v = config_get(c, key);
    char ub[32];
    *out = def;
    if (!v)
        return 0;
    unsigned long long b;
    switch (config_parse_memory(v, &b)) {
    case 0:
        *out = b;
        return 0;
    case WEIR_EUNIT:
        return verr(c, key, err, WEIR_EUNIT,
                    "unknown memory unit '%s' in '%s' (use b, k/kb, m/mb, g/gb or t/tb)",
                    unit_of(v, ub, sizeof(ub)), v);
    case WEIR_ERANGE:
        return verr(c, key, err, WEIR_ERANGE, "memory size '%s' is too large", v);
    default:
        return verr(c, key, err, WEIR_EPARSE,
                    "'%s' is not a memory size (a whole number and a unit, e.g. '2048m')", v);
    }
}

static bool enum_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = (char)tolower((unsigned char)*a), y = (char)tolower((unsigned char)*b);
        if (x == '-')
            x = '_';
        if (y == '-')
            y = '_';
        if (x != y)
            return false;
    }
    return *a == *b;
}

int config_get_enum(const config *c, const char *key, const char *const *names, int def, int *out,
                    weir_error *err)
{
    const char *v = config_get(c, key);
    char buf[128];
    *out = def;
    if (!v)
        return 0;
    trim_copy(v, buf, sizeof(buf));
    for (int i = 0; names[i]; i++)
        if (enum_eq(buf, names[i])) {
            *out = i;
            return 0;
        }
    char allowed[300] = "";
    for (int i = 0; names[i]; i++) {
        size_t l = strlen(allowed);
        snprintf(allowed + l, sizeof(allowed) - l, "%s%s", i ? ", " : "", names[i]);
    }
    return verr(c, key, err, WEIR_EINVAL, "'%s' is not one of: %s", v, allowed);
}

void config_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* Appends a trimmed copy of [s, s+n) to a growing NULL-terminated vector. */
static int strv_push(char ***v, size_t *len, const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    char **nv = realloc(*v, (*len + 2) * sizeof(char *));
    if (!nv)
        return WEIR_ENOMEM;
    *v = nv;
    nv[*len] = malloc(n + 1); /* not strndup: `s` need not be NUL-terminated */
    if (!nv[*len])
        return WEIR_ENOMEM;
    memcpy(nv[*len], s, n);
    nv[*len][n] = '\0';
    (*len)++;
    nv[*len] = NULL;
    return 0;
}

/* Splits on `sep` outside single or double quotes (quotes are kept out of the items). */
static int split_quoted(const char *s, char sep, char ***out)
{
    char **v = calloc(1, sizeof(char *));
    size_t len = 0;
    char *item = malloc(strlen(s) + 1);
    size_t n = 0;
    char q = 0;
    if (!v || !item)
        goto oom;
    for (const char *p = s;; p++) {
        if (*p == '\0' || (*p == sep && !q)) {
            if (strv_push(&v, &len, item, n))
                goto oom;
            n = 0;
            if (*p == '\0')
                break;
            continue;
        }
        if ((*p == '\'' || *p == '"') && (!q || q == *p)) {
            q = q ? 0 : *p;
            continue;
        }
        item[n++] = *p;
    }
    free(item);
    *out = v;
    return 0;
oom:
    free(item);
    config_strv_free(v);
    return WEIR_ENOMEM;
}

int config_get_list(const config *c, const char *key, char ***out, weir_error *err)
{
    const char *v = config_get(c, key);
    *out = NULL;
    if (!v)
        return 0;
    char buf[8];
    trim_copy(v, buf, sizeof(buf));
    if (!buf[0]) { /* an empty value is an empty list */
        *out = calloc(1, sizeof(char *));
        return *out ? 0 : weir_error_set(err, WEIR_ENOMEM, "out of memory");
    }
    int rc = split_quoted(v, ';', out);
    return rc ? weir_error_set(err, rc, "out of memory") : 0;
}

int config_get_map(const config *c, const char *key, char ***out, weir_error *err)
{
    const char *v = config_get(c, key);
    char **items = NULL, **res = NULL;
    size_t len = 0;
    int rc = 0;
    *out = NULL;
    if (v) {
        char tb[8];
        trim_copy(v, tb, sizeof(tb));
        if (!tb[0]) {
            *out = calloc(1, sizeof(char *));
            return *out ? 0 : weir_error_set(err, WEIR_ENOMEM, "out of memory");
        }
        if ((rc = split_quoted(v, ',', &items)))
            return weir_error_set(err, rc, "out of memory");
        res = calloc(1, sizeof(char *));
        if (!res)
            goto oom;
        for (char **p = items; *p; p++) {
            char *colon = strchr(*p, ':');
            if (!colon || colon == *p) {
                rc = verr(c, key, err, WEIR_EPARSE,
                          "map entry '%s' is not 'key:value' (the map syntax is k1:v1,k2:v2)", *p);
                goto out;
            }
            if (strv_push(&res, &len, *p, (size_t)(colon - *p)) ||
                strv_push(&res, &len, colon + 1, strlen(colon + 1)))
                goto oom;
        }
        *out = res;
        res = NULL;
        goto out;
    }
    /* flattened form: key.k1 = v1 (what a YAML map under the key becomes) */
    const char **keys = config_keys(c);
    if (!keys)
        goto oom;
    size_t kl = strlen(key);
    for (const char **k = keys; *k; k++) {
        if (strncmp(*k, key, kl) != 0 || (*k)[kl] != '.' || !(*k)[kl + 1])
            continue;
        if (!res && !(res = calloc(1, sizeof(char *)))) {
            free(keys);
            goto oom;
        }
        const char *val = config_get(c, *k);
        if (strv_push(&res, &len, *k + kl + 1, strlen(*k + kl + 1)) ||
            strv_push(&res, &len, val, strlen(val))) {
            free(keys);
            goto oom;
        }
    }
    free(keys);
    *out = res;
    res = NULL;
    goto out;
oom:
    rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
out:
    config_strv_free(items);
    config_strv_free(res);
    return rc;
}

/* --- YAML ------------------------------------------------------------------------------------- */

struct yload {
    yaml_document_t doc;
    const char *source;
    config *tmp;
    weir_error *err;
    size_t visited; /* nodes walked: aliases can multiply a small document ("billion laughs") */
};

#define MAX_YAML_NODES 200000

static int yerr(struct yload *y, const yaml_node_t *n, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int yerr(struct yload *y, const yaml_node_t *n, int code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return weir_error_set(y->err, code, "%s:%zu:%zu: %s", y->source, n->start_mark.line + 1,
                          n->start_mark.column + 1, msg);
}

static bool yaml_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return n->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static int yset(struct yload *y, const char *key, const char *value, const yaml_node_t *at,
                const yaml_node_t *key_node)
{
    char origin[600];
    const struct entry *prev = strmap_get(y->tmp->map, key);
    if (prev)
        return yerr(y, key_node, WEIR_EDUPLICATE, "key '%s' is given twice (first at %s)", key,
                    prev->origin ? prev->origin : "?");
    snprintf(origin, sizeof(origin), "%s:%zu:%zu", y->source, at->start_mark.line + 1,
             at->start_mark.column + 1);
    if (config_set(y->tmp, key, value, origin))
        return weir_error_set(y->err, WEIR_ENOMEM, "out of memory");
    return 0;
}

static int ywalk(struct yload *y, const yaml_node_t *map, const char *prefix, int depth)
{
    if (depth > 32)
        return yerr(y, map, WEIR_ETOOBIG, "maps nested more than 32 levels deep");
    y->visited += (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    if (y->visited > MAX_YAML_NODES)
        return yerr(y, map, WEIR_ETOOBIG, "more than %d entries (through aliases?)",
                    MAX_YAML_NODES);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&y->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&y->doc, p->value);
        if (!k || !v)
            continue;
        if (k->type != YAML_SCALAR_NODE || k->data.scalar.length == 0)
            return yerr(y, k, WEIR_ETYPE, "%s%s%s: a key must be a non-empty string",
                        prefix[0] ? "under '" : "", prefix, prefix[0] ? "'" : "at the top level");
        char key[MAX_KEY];
        int n = snprintf(key, sizeof(key), "%s%s%s", prefix, prefix[0] ? "." : "",
                         (const char *)k->data.scalar.value);
        if (n < 0 || (size_t)n >= sizeof(key))
            return yerr(y, k, WEIR_ETOOBIG, "key longer than %d characters", MAX_KEY - 1);
        int rc = 0;
        switch (v->type) {
        case YAML_MAPPING_NODE:
            rc = ywalk(y, v, key, depth + 1);
            break;
        case YAML_SEQUENCE_NODE: {
            size_t cap = 1, len = 0;
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 it < v->data.sequence.items.top; it++) {
                yaml_node_t *e = yaml_document_get_node(&y->doc, *it);
                if (!e || e->type != YAML_SCALAR_NODE)
                    return yerr(y, e ? e : v, WEIR_ETYPE,
                                "key '%s': list items must be plain values, found %s", key,
                                e && e->type == YAML_MAPPING_NODE ? "a map" : "a list");
                cap += e->data.scalar.length + 1;
            }
            char *joined = malloc(cap);
            if (!joined)
                return weir_error_set(y->err, WEIR_ENOMEM, "out of memory");
            joined[0] = '\0';
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 it < v->data.sequence.items.top; it++) {
                yaml_node_t *e = yaml_document_get_node(&y->doc, *it);
                if (len)
                    joined[len++] = ';';
                memcpy(joined + len, e->data.scalar.value, e->data.scalar.length);
                len += e->data.scalar.length;
                joined[len] = '\0';
            }
            rc = yset(y, key, joined, v, k);
            free(joined);
            break;
        }
        case YAML_SCALAR_NODE:
            if (yaml_null(v))
                break; /* null: leave unset, as Flink does */
            if (strlen((const char *)v->data.scalar.value) != v->data.scalar.length)
                return yerr(y, v, WEIR_EPARSE, "key '%s': value contains a NUL character", key);
            rc = yset(y, key, (const char *)v->data.scalar.value, v, k);
            break;
        default:
            break;
        }
        if (rc)
            return rc;
    }
    return 0;
}

int config_load_yaml(config *c, const char *text, size_t len, const char *source, weir_error *err)
{
    yaml_parser_t parser;
    struct yload y = {.source = source ? source : "<yaml>", .err = err};
    bool have_doc = false;
    int rc = 0;
    if (!yaml_parser_initialize(&parser))
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    if (!(y.tmp = config_new())) {
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        goto out;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &y.doc)) {
        const yaml_mark_t *m = &parser.problem_mark;
        rc = weir_error_set(err, WEIR_EPARSE, "%s:%zu:%zu: invalid YAML: %s%s%s", y.source,
                            m->line + 1, m->column + 1, parser.problem ? parser.problem : "error",
                            parser.context ? " " : "", parser.context ? parser.context : "");
        goto out;
    }
    have_doc = true;
    yaml_node_t *root = yaml_document_get_root_node(&y.doc);
    if (root && !yaml_null(root)) {
        if (root->type != YAML_MAPPING_NODE) {
            rc = yerr(&y, root, WEIR_ETYPE, "expected 'key: value' entries, found %s",
                      root->type == YAML_SEQUENCE_NODE ? "a list" : "a single value");
            goto out;
        }
        if ((rc = ywalk(&y, root, "", 0)))
            goto out;
    }
    if (config_merge(c, y.tmp))
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
out:
    config_free(y.tmp);
    if (have_doc)
        yaml_document_delete(&y.doc);
    yaml_parser_delete(&parser);
    return rc;
}

/* --- line formats -------------------------------------------------------------------------------
 */

/* Parses "key: value" lines as Flink's legacy loader does: '#' starts a comment anywhere,
 * the split is at the first ": ", malformed lines are skipped with a warning. */
static int load_lines(config *c, const char *text, size_t len, const char *source, weir_error *err)
{
    config *tmp = config_new();
    int rc = 0;
    size_t lineno = 0;
    if (!tmp)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lineno++;
        char *line = malloc(n + 1); /* not strndup: `text` need not be NUL-terminated */
        if (!line) {
            rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
            goto out;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p += n + (nl ? 1 : 0);
        if (strlen(line) != n) {
            free(line);
            rc = weir_error_set(err, WEIR_EPARSE, "%s:%zu: line contains a NUL character", source,
                                lineno);
            goto out;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char conf[4096];
        trim_copy(line, conf, sizeof(conf));
        free(line);
        if (!conf[0])
            continue;
        char *sep = strstr(conf, ": ");
        char ln[24];
        snprintf(ln, sizeof(ln), "%zu", lineno);
        if (!sep) {
            log_warn("config: skipping a line that is not 'key: value'", "source", source, "line",
                     ln);
            continue;
        }
        *sep = '\0';
        char key[MAX_KEY], value[4096];
        trim_copy(conf, key, sizeof(key));
        trim_copy(sep + 2, value, sizeof(value));
        if (!key[0] || !value[0]) {
            log_warn("config: skipping a line with an empty key or value", "source", source, "line",
                     ln);
            continue;
        }
        char origin[600];
        snprintf(origin, sizeof(origin), "%s:%zu", source, lineno);
        if (config_set(tmp, key, value, origin)) {
            rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (config_merge(c, tmp))
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
out:
    config_free(tmp);
    return rc;
}

int config_load_legacy(config *c, const char *text, size_t len, const char *source, weir_error *err)
{
    return load_lines(c, text, len, source ? source : "flink-conf.yaml", err);
}

int config_load_properties(config *c, const char *text, weir_error *err)
{
    if (!text)
        return 0;
    return load_lines(c, text, strlen(text), "FLINK_PROPERTIES", err);
}

int config_set_dynamic(config *c, const char *kv, weir_error *err)
{
    const char *eq = kv ? strchr(kv, '=') : NULL;
    if (!eq || eq == kv)
        return weir_error_set(err, WEIR_EINVAL, "-D%s: expected -Dkey=value", kv ? kv : "");
    char key[MAX_KEY];
    size_t kl = (size_t)(eq - kv);
    if (kl >= sizeof(key))
        return weir_error_set(err, WEIR_ETOOBIG, "-D%s: key too long", kv);
    memcpy(key, kv, kl);
    key[kl] = '\0';
    char tk[MAX_KEY];
    trim_copy(key, tk, sizeof(tk));
    if (!tk[0])
        return weir_error_set(err, WEIR_EINVAL, "-D%s: expected -Dkey=value", kv);
    if (config_set(c, tk, eq + 1, "-D"))
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    return 0;
}

int config_parse_args(config *c, int *argc, char **argv, weir_error *err)
{
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "-D", 2) != 0) {
            argv[out++] = argv[i];
            continue;
        }
        const char *kv = a + 2;
        if (!*kv) {
            if (i + 1 >= *argc)
                return weir_error_set(err, WEIR_EINVAL, "-D at the end: expected -D key=value");
            kv = argv[++i];
        }
        int rc = config_set_dynamic(c, kv, err);
        if (rc)
            return rc;
    }
    for (int i = out; i < *argc; i++)
        argv[i] = NULL;
    *argc = out;
    return 0;
}

static int read_file(const char *path, char **out, size_t *len, weir_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return weir_error_set(err, errno == ENOENT ? WEIR_ENOTFOUND : WEIR_EIO, "%s: %s", path,
                              strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
                goto out;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (n > MAX_FILE_BYTES) {
            rc =
                weir_error_set(err, WEIR_ETOOBIG, "%s: larger than %u bytes", path, MAX_FILE_BYTES);
            goto out;
        }
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        rc = weir_error_set(err, WEIR_EIO, "%s: read error", path);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    fclose(f);
    return rc;
}

int config_load_file(config *c, const char *path, weir_error *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(path, &text, &len, err);
    if (rc)
        return rc;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strcmp(base, "flink-conf.yaml") == 0)
        rc = config_load_legacy(c, text, len, path, err);
    else
        rc = config_load_yaml(c, text, len, path, err);
    free(text);
    return rc;
}

int config_load_dir(config *c, const char *dir, weir_error *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/config.yaml", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(path, sizeof(path), "%s/flink-conf.yaml", dir);
        f = fopen(path, "r");
    }
    if (!f)
        return weir_error_set(err, WEIR_ENOTFOUND, "%s: neither config.yaml nor flink-conf.yaml",
                              dir);
    fclose(f);
    return config_load_file(c, path, err);
}
