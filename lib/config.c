/*
 * config.c - Flink-style configuration (see config.h): a string map of entries, loaders for
 * config.yaml (libyaml's document API), legacy flink-conf.yaml lines, FLINK_PROPERTIES and -D,
 * and Flink's value syntaxes (TimeUtils durations, MemorySize, lists, maps).
 *
 * Each entry owns its value and an origin string ("config.yaml:3:5", "-D", ...) that errors
 * point at. Loaders build into a scratch configuration and merge it only when the whole input
 * is valid, so a bad file changes nothing.
 *
 * Layer: lib/. Depends on libyaml, lib/strmap, lib/error, lib/log; not on operator/ or
 * runtime/.
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

#define MAX_FILE_BYTES   (16u * 1024u * 1024u)
#define MAX_KEY          1024
#define MAX_DEPTH        32
#define MAX_YAML_ENTRIES 100000          /* keys, maps and list items, after alias expansion */
#define MIN_YAML_BYTES   (1024u * 1024u) /* stored bytes allowed whatever the input size */
#define YAML_BYTES_MUL   8u              /* ... or this many times the input size */
#define DEFAULT_SOURCE   "<string>"

struct entry {
    char *value;
    char *origin; /* NULL: set by code */
};

struct config {
    strmap *map; /* key -> struct entry * (owned) */
};

static void entry_free(struct entry *e)
{
    if (!e)
        return;
    free(e->value);
    free(e->origin);
    free(e);
}

/* Caller frees with config_free(). */
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

/* Frees `c`, its entries and key copies. */
void config_free(config *c)
{
    if (!c)
        return;
    size_t it = 0;
    void *v;
    while (strmap_next(c->map, &it, NULL, &v))
        entry_free(v);
    strmap_free(c->map);
    free(c);
}

/* Copies key, value and origin; the previous entry is freed. */
int config_set(config *c, const char *key, const char *value, const char *origin)
{
    if (!c || !key || !*key || !value)
        return WEIR_EINVAL;
    int rc = WEIR_ENOMEM;
    void *old = NULL;
    struct entry *e = calloc(1, sizeof(*e));
    if (!e)
        goto out;
    e->value = strdup(value);
    e->origin = origin ? strdup(origin) : NULL;
    if (!e->value || (origin && !e->origin))
        goto out;
    if (strmap_put(c->map, key, e, &old) != 0)
        goto out;
    e = NULL;
    rc = 0;
out:
    entry_free(e);
    entry_free(old);
    return rc;
}

/* Frees the removed entry. */
int config_remove(config *c, const char *key)
{
    struct entry *e = strmap_del(c->map, key);
    if (!e)
        return WEIR_ENOTFOUND;
    entry_free(e);
    return 0;
}

/* Borrowed: valid until `key` is set or removed. */
const char *config_get(const config *c, const char *key)
{
    const struct entry *e = strmap_get(c->map, key);
    return e ? e->value : NULL;
}

/* Borrowed: valid until `key` is set or removed. */
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

/* Caller frees the array (not the strings) with free(). */
const char **config_keys(const config *c)
{
    size_t n = strmap_len(c->map), i = 0, it = 0;
    const char **keys = calloc(n + 1, sizeof(*keys));
    if (!keys)
        return NULL;
    const char *k;
    while (i < n && strmap_next(c->map, &it, &k, NULL))
        keys[i++] = k;
    qsort(keys, i, sizeof(*keys), cmp_str);
    return keys;
}

/* Strings passed to `fn` are borrowed for the call. */
int config_foreach(const config *c,
                   int (*fn)(const char *key, const char *value, const char *origin, void *ud),
                   void *ud)
{
    const char **keys = config_keys(c);
    int rc = 0;
    if (!keys)
        return WEIR_ENOMEM;
    for (const char **k = keys; *k && rc == 0; k++) {
        const struct entry *e = strmap_get(c->map, *k);
        rc = fn(*k, e->value, e->origin, ud);
    }
    free(keys);
    return rc;
}

/* `src` is only read; its strings are copied into `dst`. */
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

/* Caller frees with config_free(). */
config *config_clone(const config *c)
{
    config *n = config_new();
    if (n && config_merge(n, c) != 0) {
        config_free(n);
        return NULL;
    }
    return n;
}

/* --- errors ---------------------------------------------------------------------------------- */

static int verr(const config *c, const char *key, weir_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Fills err with "<origin>: key '<key>': <msg>" and returns code. */
static int verr(const config *c, const char *key, weir_error *err, int code, const char *fmt, ...)
{
    char msg[WEIR_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const struct entry *e = strmap_get(c->map, key);
    if (e && e->origin)
        return weir_error_set(err, code, "%s: key '%s': %s", e->origin, key, msg);
    return weir_error_set(err, code, "key '%s': %s", key, msg);
}

/* --- value syntaxes -------------------------------------------------------------------------- */

/*
 * Splits "  123 unit " as Flink's TimeUtils and MemorySize do: leading digits, then the rest
 * trimmed and lower-cased into `unit`. WEIR_EPARSE when there is no leading digit; WEIR_EUNIT
 * when the unit does not fit `cap` (no known unit is that long). *overflow tells whether the
 * number overflowed 64 bits (callers check the unit first, so an unknown unit wins).
 */
static int split_number_unit(const char *s, uint64_t *num, bool *overflow, char *unit, size_t cap)
{
    while (isspace((unsigned char)*s))
        s++;
    const char *p = s;
    uint64_t v = 0;
    if (!isdigit((unsigned char)*p))
        return WEIR_EPARSE;
    *overflow = false;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            *overflow = true;
        else
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

/* Flink's TimeUtils.TimeUnit labels: the short forms, plus "s" plurals of the long names. */
int config_parse_duration_ms(const char *s, long long *out)
{
    static const char *const ns[] = {"ns", "nano", "nanos", "nanosecond", "nanoseconds", NULL};
    static const char *const us[] = {"\xc2\xb5s",   "us",           "micro", "micros",
                                     "microsecond", "microseconds", NULL};
    static const char *const ms[] = {"",  "ms", "milli", "millis", "millisecond", "milliseconds",
                                     NULL};
    static const char *const sec[] = {"s", "sec", "secs", "second", "seconds", NULL};
    static const char *const min[] = {"m", "min", "minute", "minutes", NULL};
    static const char *const hour[] = {"h", "hour", "hours", NULL};
    static const char *const day[] = {"d", "day", "days", NULL};
    uint64_t v, mul = 1, div = 1;
    char unit[32];
    bool overflow;
    int rc = split_number_unit(s, &v, &overflow, unit, sizeof(unit));
    if (rc)
        return rc;
    if (in_list(unit, ns))
        div = 1000000;
    else if (in_list(unit, us))
        div = 1000;
    else if (in_list(unit, ms))
        mul = 1;
    else if (in_list(unit, sec))
        mul = 1000;
    else if (in_list(unit, min))
        mul = 60000;
    else if (in_list(unit, hour))
        mul = 3600000;
    else if (in_list(unit, day))
        mul = 86400000;
    else
        return WEIR_EUNIT;
    v /= div;
    if (overflow || v > (uint64_t)LLONG_MAX / mul)
        return WEIR_ERANGE;
    *out = (long long)(v * mul);
    return 0;
}

/* Flink's MemorySize.MemoryUnit labels; as in Flink the result must fit a signed 64-bit long. */
int config_parse_memory(const char *s, unsigned long long *out)
{
    static const char *const b[] = {"", "b", "bytes", NULL};
    static const char *const k[] = {"k", "kb", "kibibytes", NULL};
    static const char *const m[] = {"m", "mb", "mebibytes", NULL};
    static const char *const g[] = {"g", "gb", "gibibytes", NULL};
    static const char *const t[] = {"t", "tb", "tebibytes", NULL};
    uint64_t v, mul;
    char unit[32];
    bool overflow;
    int rc = split_number_unit(s, &v, &overflow, unit, sizeof(unit));
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
    if (overflow || v > (uint64_t)LLONG_MAX / mul)
        return WEIR_ERANGE;
    *out = v * mul;
    return 0;
}

/* The unit part of a value (after leading spaces and digits, trimmed), for messages. */
static const char *unit_of(const char *s, char *buf, size_t cap)
{
    while (isspace((unsigned char)*s))
        s++;
    while (isdigit((unsigned char)*s))
        s++;
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    snprintf(buf, cap, "%.*s", (int)(n < cap ? n : cap - 1), s);
    return buf;
}

/* The trimmed bounds of `s`: *start and the returned length. */
static size_t trim_span(const char *s, const char **start)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    *start = s;
    return n;
}

/* --- typed getters --------------------------------------------------------------------------- */

/* Borrowed from `c` (until the key changes), or `def`. */
const char *config_get_string(const config *c, const char *key, const char *def)
{
    const char *v = config_get(c, key);
    return v ? v : def;
}

int config_get_int_in(const config *c, const char *key, long long def, long long min, long long max,
                      long long *out, weir_error *err)
{
    const char *v = config_get(c, key);
    char buf[32];
    *out = def;
    if (!v)
        return 0;
    const char *p;
    size_t n = trim_span(v, &p);
    size_t sign = n > 0 && (*p == '+' || *p == '-');
    if (n == sign || strspn(p + sign, "0123456789") < n - sign)
        return verr(c, key, err, WEIR_ETYPE, "'%s' is not an integer", v);
    if (n >= sizeof(buf))
        return verr(c, key, err, WEIR_ERANGE, "'%s' is out of range", v);
    memcpy(buf, p, n);
    buf[n] = '\0';
    errno = 0;
    long long x = strtoll(buf, NULL, 10);
    if (errno == ERANGE)
        return verr(c, key, err, WEIR_ERANGE, "'%s' is out of range", v);
    if (x < min || x > max)
        return verr(c, key, err, WEIR_ERANGE, "%s is out of range [%lld, %lld]", buf, min, max);
    *out = x;
    return 0;
}

int config_get_int(const config *c, const char *key, long long def, long long *out, weir_error *err)
{
    return config_get_int_in(c, key, def, LLONG_MIN, LLONG_MAX, out, err);
}

int config_get_double(const config *c, const char *key, double def, double *out, weir_error *err)
{
    const char *v = config_get(c, key);
    char buf[128];
    *out = def;
    if (!v)
        return 0;
    const char *p;
    size_t n = trim_span(v, &p);
    if (n == 0 || n >= sizeof(buf))
        return verr(c, key, err, WEIR_ETYPE, "'%s' is not a number", v);
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if (*end || !isfinite(d))
        return verr(c, key, err, WEIR_ETYPE, "'%s' is not a number", v);
    if (errno == ERANGE)
        return verr(c, key, err, WEIR_ERANGE, "'%s' is out of range", v);
    *out = d;
    return 0;
}

int config_get_bool(const config *c, const char *key, bool def, bool *out, weir_error *err)
{
    const char *v = config_get(c, key);
    *out = def;
    if (!v)
        return 0;
    const char *p;
    size_t n = trim_span(v, &p);
    if (n == 4 && strncasecmp(p, "true", 4) == 0) {
        *out = true;
        return 0;
    }
    if (n == 5 && strncasecmp(p, "false", 5) == 0) {
        *out = false;
        return 0;
    }
    return verr(c, key, err, WEIR_ETYPE, "'%s' is not a boolean (use true or false)", v);
}

int config_get_duration_ms(const config *c, const char *key, long long def, long long *out,
                           weir_error *err)
{
    const char *v = config_get(c, key);
    char ub[64];
    long long ms = 0;
    *out = def;
    if (!v)
        return 0;
    switch (config_parse_duration_ms(v, &ms)) {
    case 0:
        *out = ms;
        return 0;
    case WEIR_EUNIT:
        return verr(c, key, err, WEIR_EUNIT,
                    "unknown duration unit '%s' in '%s' (use ns, us, ms, s, min, h or d)",
                    unit_of(v, ub, sizeof(ub)), v);
    case WEIR_ERANGE:
        return verr(c, key, err, WEIR_ERANGE, "duration '%s' is too large", v);
    default:
        return verr(c, key, err, WEIR_EPARSE,
                    "'%s' is not a duration (a whole number and a unit, e.g. '30 s')", v);
    }
}

int config_get_memory_bytes(const config *c, const char *key, unsigned long long def,
                            unsigned long long *out, weir_error *err)
{
    const char *v = config_get(c, key);
    char ub[64];
    unsigned long long b = 0;
    *out = def;
    if (!v)
        return 0;
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

int config_get_memory(const config *c, const char *key, unsigned long long def,
                      unsigned long long *out, weir_error *err)
{
    return config_get_memory_bytes(c, key, def, out, err);
}

/* Case-insensitive, '-' equal to '_'; `a` has length `an`, `b` is NUL-terminated. */
static bool enum_eq(const char *a, size_t an, const char *b)
{
    size_t i = 0;
    for (; i < an && b[i]; i++) {
        char x = (char)tolower((unsigned char)a[i]), y = (char)tolower((unsigned char)b[i]);
        if (x == '-')
            x = '_';
        if (y == '-')
            y = '_';
        if (x != y)
            return false;
    }
    return i == an && b[i] == '\0';
}

int config_get_enum(const config *c, const char *key, const char *const *names, int def, int *out,
                    weir_error *err)
{
    const char *v = config_get(c, key);
    *out = def;
    if (!v)
        return 0;
    const char *p;
    size_t n = trim_span(v, &p);
    for (int i = 0; names[i]; i++)
        if (enum_eq(p, n, names[i])) {
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

/* --- lists and maps -------------------------------------------------------------------------- */

/* Frees the strings and the array. */
void config_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* A growing NULL-terminated string vector. */
struct strv {
    char **v;
    size_t len;
};

/* Appends a copy of [s, s+n) (need not be NUL-terminated). */
static int strv_push(struct strv *sv, const char *s, size_t n)
{
    char **nv = realloc(sv->v, (sv->len + 2) * sizeof(char *));
    if (!nv)
        return WEIR_ENOMEM;
    sv->v = nv;
    char *copy = malloc(n + 1);
    if (!copy)
        return WEIR_ENOMEM;
    memcpy(copy, s, n);
    copy[n] = '\0';
    nv[sv->len++] = copy;
    nv[sv->len] = NULL;
    return 0;
}

/* An empty vector (so "set but empty" differs from "unset"). */
static int strv_init(struct strv *sv)
{
    sv->len = 0;
    sv->v = calloc(1, sizeof(char *));
    return sv->v ? 0 : WEIR_ENOMEM;
}

/*
 * The end of the quoted segment starting at p (on the quote): just past the closing quote; a
 * doubled quote inside is an escaped quote. NULL when the quote is not closed before `end`.
 */
static const char *quoted_end(const char *p, const char *end)
{
    char q = *p++;
    while (p < end) {
        if (*p == q) {
            if (p + 1 < end && p[1] == q) {
                p += 2;
                continue;
            }
            return p + 1;
        }
        p++;
    }
    return NULL;
}

/*
 * Finds the first `delim` in [p, end) outside quotes, as Flink's StructuredOptionsSplitter
 * does: a quote opens a quoted segment when it starts a token, i.e. follows (spaces aside) the
 * range start or one of `seps`; other quotes are literal. *at gets the delimiter or `end`.
 * WEIR_EPARSE when a quoted segment is not closed.
 */
static int find_delim(const char *p, const char *end, char delim, const char *seps, const char **at)
{
    bool token_start = true;
    while (p < end) {
        if (*p == delim) {
            *at = p;
            return 0;
        }
        if (token_start && (*p == '\'' || *p == '"')) {
            const char *q = quoted_end(p, end);
            if (!q)
                return WEIR_EPARSE;
            p = q;
            token_start = false;
            continue;
        }
        if (!isspace((unsigned char)*p))
            token_start = strchr(seps, *p) != NULL;
        p++;
    }
    *at = end;
    return 0;
}

/* Pushes [p, end) trimmed; when that is exactly one quoted segment, its unescaped text. */
static int push_item(struct strv *sv, const char *p, const char *end)
{
    while (p < end && isspace((unsigned char)*p))
        p++;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    if (p < end && (*p == '\'' || *p == '"') && quoted_end(p, end) == end) {
        size_t n = 0;
        char *buf = malloc((size_t)(end - p));
        if (!buf)
            return WEIR_ENOMEM;
        for (const char *s = p + 1; s < end - 1; s++) {
            buf[n++] = *s;
            if (*s == *p)
                s++; /* the second of a doubled quote */
        }
        int rc = strv_push(sv, buf, n);
        free(buf);
        return rc;
    }
    return strv_push(sv, p, (size_t)(end - p));
}

/* Caller frees *out with config_strv_free(). */
int config_get_list(const config *c, const char *key, char ***out, weir_error *err)
{
    const char *v = config_get(c, key);
    struct strv sv = {0};
    int rc = 0;
    *out = NULL;
    if (!v)
        return 0;
    if ((rc = strv_init(&sv)))
        goto out;
    const char *p;
    size_t n = trim_span(v, &p);
    const char *end = p + n;
    while (n > 0) {
        const char *at;
        if (find_delim(p, end, ';', ";", &at)) {
            rc = verr(c, key, err, WEIR_EPARSE, "unclosed quote in list '%s'", v);
            goto out;
        }
        if ((rc = push_item(&sv, p, at)))
            goto out;
        if (at == end)
            break;
        p = at + 1;
    }
    *out = sv.v;
    sv.v = NULL;
out:
    if (rc == WEIR_ENOMEM)
        weir_error_set(err, rc, "out of memory");
    config_strv_free(sv.v);
    return rc;
}

/* Parses "k1:v1,k2:v2" into `sv`. */
static int parse_map_string(const config *c, const char *key, const char *v, struct strv *sv,
                            weir_error *err)
{
    const char *p;
    size_t n = trim_span(v, &p);
    const char *end = p + n;
    while (n > 0) {
        const char *at, *colon;
        if (find_delim(p, end, ',', ",:", &at) || find_delim(p, at, ':', ",:", &colon))
            return verr(c, key, err, WEIR_EPARSE, "unclosed quote in map '%s'", v);
        const char *k = p;
        while (k < colon && isspace((unsigned char)*k))
            k++;
        if (colon == at || k == colon)
            return verr(c, key, err, WEIR_EPARSE,
                        "map entry '%.*s' is not 'key:value' (the map syntax is k1:v1,k2:v2)",
                        (int)(at - k), k);
        int rc = push_item(sv, p, colon);
        if (!rc)
            rc = push_item(sv, colon + 1, at);
        if (rc)
            return rc;
        if (at == end)
            break;
        p = at + 1;
    }
    return 0;
}

/* Caller frees *out with config_strv_free(). */
int config_get_map(const config *c, const char *key, char ***out, weir_error *err)
{
    const char *v = config_get(c, key);
    struct strv sv = {0};
    const char **match = NULL;
    size_t nmatch = 0, kl = strlen(key);
    int rc = 0;
    *out = NULL;
    if (v) {
        if ((rc = strv_init(&sv)) || (rc = parse_map_string(c, key, v, &sv, err)))
            goto out;
        *out = sv.v;
        sv.v = NULL;
        goto out;
    }
    /* the flattened form: key.k1, key.k2 (what a YAML map under the key becomes) */
    match = calloc(strmap_len(c->map) + 1, sizeof(*match));
    if (!match) {
        rc = WEIR_ENOMEM;
        goto out;
    }
    size_t it = 0;
    const char *k;
    while (strmap_next(c->map, &it, &k, NULL))
        if (strncmp(k, key, kl) == 0 && k[kl] == '.' && k[kl + 1])
            match[nmatch++] = k;
    if (nmatch == 0)
        goto out;
    qsort(match, nmatch, sizeof(*match), cmp_str);
    if ((rc = strv_init(&sv)))
        goto out;
    for (size_t i = 0; i < nmatch; i++) {
        const char *val = config_get(c, match[i]);
        if ((rc = strv_push(&sv, match[i] + kl + 1, strlen(match[i] + kl + 1))) ||
            (rc = strv_push(&sv, val, strlen(val))))
            goto out;
    }
    *out = sv.v;
    sv.v = NULL;
out:
    if (rc == WEIR_ENOMEM)
        weir_error_set(err, rc, "out of memory");
    free(match);
    config_strv_free(sv.v);
    return rc;
}

/* --- YAML ------------------------------------------------------------------------------------ */

struct yload {
    yaml_document_t doc;
    const char *source;
    config *tmp;
    strmap *key_pos; /* key -> "source:line:col" of the key (owned), for duplicate errors */
    weir_error *err;
    size_t entries;   /* keys, maps and list items stored: aliases multiply a small document */
    size_t bytes;     /* bytes stored, for the same reason */
    size_t max_bytes; /* cap on `bytes` */
};

static int yerr_at(struct yload *y, const yaml_mark_t *m, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fills y->err with "source:line:col: msg" (1-based) and returns code. */
static int yerr_at(struct yload *y, const yaml_mark_t *m, int code, const char *fmt, ...)
{
    char msg[WEIR_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return weir_error_set(y->err, code, "%s:%zu:%zu: %s", y->source, m->line + 1, m->column + 1,
                          msg);
}

static const char *node_kind(const yaml_node_t *n)
{
    if (!n)
        return "nothing";
    return n->type == YAML_MAPPING_NODE    ? "a map"
           : n->type == YAML_SEQUENCE_NODE ? "a list"
                                           : "a value";
}

static bool yaml_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return n->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* Counts one more entry of `n` bytes against the caps. */
static int ycount(struct yload *y, const yaml_node_t *at, size_t n)
{
    y->entries++;
    y->bytes += n;
    if (y->entries > MAX_YAML_ENTRIES)
        return yerr_at(y, &at->start_mark, WEIR_ETOOBIG,
                       "more than %d entries and list items (through aliases?)", MAX_YAML_ENTRIES);
    if (y->bytes > y->max_bytes)
        return yerr_at(y, &at->start_mark, WEIR_ETOOBIG,
                       "values expand to more than %zu bytes (through aliases?)", y->max_bytes);
    return 0;
}

static void free_key_pos(strmap *m)
{
    size_t it = 0;
    void *v;
    if (!m)
        return;
    while (strmap_next(m, &it, NULL, &v))
        free(v);
    strmap_free(m);
}

/*
 * Stores key = value with the origin "source:line:col" of the value node `at` (what getter
 * errors point at) and remembers the key's own position; a key seen before is
 * WEIR_EDUPLICATE naming both key positions.
 */
static int yset(struct yload *y, const char *key, const char *value, const yaml_node_t *key_node,
                const yaml_node_t *at)
{
    char origin[MAX_KEY];
    const yaml_mark_t *m = &key_node->start_mark;
    const char *prev = strmap_get(y->key_pos, key);
    if (prev)
        return yerr_at(y, m, WEIR_EDUPLICATE, "key '%s' is given twice (first at %s)", key, prev);
    int rc = ycount(y, key_node, strlen(key) + strlen(value));
    if (rc)
        return rc;
    snprintf(origin, sizeof(origin), "%s:%zu:%zu", y->source, m->line + 1, m->column + 1);
    char *pos = strdup(origin);
    if (!pos || strmap_put(y->key_pos, key, pos, NULL) != 0) {
        free(pos);
        return weir_error_set(y->err, WEIR_ENOMEM, "out of memory");
    }
    snprintf(origin, sizeof(origin), "%s:%zu:%zu", y->source, at->start_mark.line + 1,
             at->start_mark.column + 1);
    if (config_set(y->tmp, key, value, origin))
        return weir_error_set(y->err, WEIR_ENOMEM, "out of memory");
    return 0;
}

/* True when a list item must be quoted to survive ';'-splitting (Flink's escapeWithSingleQuote,
 * plus items that splitting would trim away). */
static bool needs_quotes(const char *s, size_t n)
{
    if (n == 0 || isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1]))
        return true;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ';' || s[i] == '\'' || s[i] == '"')
            return true;
    return false;
}

/* Joins a sequence of scalars with ';' (quoting items as needed) and stores it under `key`. */
static int yseq(struct yload *y, const char *key, const yaml_node_t *seq,
                const yaml_node_t *key_node)
{
    size_t cap = 1;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        const yaml_node_t *e = yaml_document_get_node(&y->doc, *it);
        if (!e || e->type != YAML_SCALAR_NODE)
            return yerr_at(y, e ? &e->start_mark : &seq->start_mark, WEIR_ETYPE,
                           "key '%s': list items must be plain values, found %s", key,
                           node_kind(e));
        if (strlen((const char *)e->data.scalar.value) != e->data.scalar.length)
            return yerr_at(y, &e->start_mark, WEIR_EPARSE,
                           "key '%s': list item contains a NUL character", key);
        int rc = ycount(y, e, e->data.scalar.length);
        if (rc)
            return rc;
        cap += 2 * e->data.scalar.length + 3; /* doubled quotes, enclosing quotes, ';' */
    }
    char *joined = malloc(cap);
    size_t len = 0;
    if (!joined)
        return weir_error_set(y->err, WEIR_ENOMEM, "out of memory");
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        const yaml_node_t *e = yaml_document_get_node(&y->doc, *it);
        const char *s = (const char *)e->data.scalar.value;
        size_t n = e->data.scalar.length;
        if (it != seq->data.sequence.items.start)
            joined[len++] = ';';
        if (!needs_quotes(s, n)) {
            memcpy(joined + len, s, n);
            len += n;
            continue;
        }
        joined[len++] = '\'';
        for (size_t i = 0; i < n; i++) {
            joined[len++] = s[i];
            if (s[i] == '\'')
                joined[len++] = '\'';
        }
        joined[len++] = '\'';
    }
    joined[len] = '\0';
    int rc = yset(y, key, joined, key_node, seq);
    free(joined);
    return rc;
}

/* Walks a mapping, flattening nested maps into "prefix.key". */
static int ywalk(struct yload *y, const yaml_node_t *map, const char *prefix, int depth)
{
    if (depth > MAX_DEPTH)
        return yerr_at(y, &map->start_mark, WEIR_ETOOBIG, "maps nested more than %d levels deep",
                       MAX_DEPTH);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = yaml_document_get_node(&y->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(&y->doc, p->value);
        if (!k || !v)
            return weir_error_set(y->err, WEIR_EINTERNAL, "%s: dangling YAML node", y->source);
        if (k->type != YAML_SCALAR_NODE || k->data.scalar.length == 0 || yaml_null(k))
            return yerr_at(y, &k->start_mark, WEIR_ETYPE,
                           "%s%s%s: a key must be a non-empty string, found %s",
                           prefix[0] ? "under '" : "at the top level", prefix, prefix[0] ? "'" : "",
                           k->type == YAML_SCALAR_NODE ? "an empty key" : node_kind(k));
        const char *kname = (const char *)k->data.scalar.value;
        if (strlen(kname) != k->data.scalar.length)
            return yerr_at(y, &k->start_mark, WEIR_EPARSE, "a key contains a NUL character");
        char key[MAX_KEY];
        int n = snprintf(key, sizeof(key), "%s%s%s", prefix, prefix[0] ? "." : "", kname);
        if (n < 0 || (size_t)n >= sizeof(key))
            return yerr_at(y, &k->start_mark, WEIR_ETOOBIG, "key longer than %d characters",
                           MAX_KEY - 1);
        int rc = 0;
        switch (v->type) {
        case YAML_MAPPING_NODE:
            rc = ycount(y, k, 0);
            if (!rc)
                rc = ywalk(y, v, key, depth + 1);
            break;
        case YAML_SEQUENCE_NODE:
            rc = yseq(y, key, v, k);
            break;
        case YAML_SCALAR_NODE:
            if (yaml_null(v))
                break; /* null: leave unset, as Flink does */
            if (strlen((const char *)v->data.scalar.value) != v->data.scalar.length)
                return yerr_at(y, &v->start_mark, WEIR_EPARSE,
                               "key '%s': value contains a NUL character", key);
            rc = yset(y, key, (const char *)v->data.scalar.value, k, v);
            break;
        default:
            rc = yerr_at(y, &v->start_mark, WEIR_ETYPE, "key '%s': empty node", key);
            break;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int yparse_err(struct yload *y, const yaml_parser_t *parser)
{
    if (parser->error == YAML_MEMORY_ERROR)
        return weir_error_set(y->err, WEIR_ENOMEM, "out of memory");
    return yerr_at(y, &parser->problem_mark, WEIR_EPARSE, "invalid YAML: %s%s%s",
                   parser->problem ? parser->problem : "syntax error", parser->context ? " " : "",
                   parser->context ? parser->context : "");
}

/* Builds into a scratch config, merged into `c` only when the whole document is valid. */
int config_load_yaml(config *c, const char *text, size_t len, const char *source, weir_error *err)
{
    yaml_parser_t parser;
    yaml_document_t extra;
    struct yload y = {.source = source ? source : DEFAULT_SOURCE, .err = err};
    bool have_doc = false;
    int rc = 0;
    y.max_bytes = len > MIN_YAML_BYTES / YAML_BYTES_MUL ? len * YAML_BYTES_MUL : MIN_YAML_BYTES;
    if (!yaml_parser_initialize(&parser))
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    if (!(y.tmp = config_new()) || !(y.key_pos = strmap_new())) {
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        goto out;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &y.doc)) {
        rc = yparse_err(&y, &parser);
        goto out;
    }
    have_doc = true;
    const yaml_node_t *root = yaml_document_get_root_node(&y.doc);
    if (root) {
        /* Flink reads one document; a second one is an error, as in SnakeYAML's load(). */
        if (!yaml_parser_load(&parser, &extra)) {
            rc = yparse_err(&y, &parser);
            goto out;
        }
        const yaml_node_t *second = yaml_document_get_root_node(&extra);
        yaml_mark_t at = second ? second->start_mark : parser.mark;
        yaml_document_delete(&extra);
        if (second) {
            rc = yerr_at(&y, &at, WEIR_EPARSE, "expected a single YAML document, found another");
            goto out;
        }
    }
    if (root && !yaml_null(root)) {
        if (root->type != YAML_MAPPING_NODE) {
            rc = yerr_at(&y, &root->start_mark, WEIR_ETYPE,
                         "expected 'key: value' entries, found %s", node_kind(root));
            goto out;
        }
        if ((rc = ywalk(&y, root, "", 0)))
            goto out;
    }
    if (config_merge(c, y.tmp))
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
out:
    config_free(y.tmp);
    free_key_pos(y.key_pos);
    if (have_doc)
        yaml_document_delete(&y.doc);
    yaml_parser_delete(&parser);
    return rc;
}

/* --- line formats ---------------------------------------------------------------------------- */

/*
 * Parses "key: value" lines as Flink's legacy loader does: '#' starts a comment anywhere, the
 * split is at the first ": ", key and value are trimmed; lines without ": " or with an empty
 * key or value are skipped with a warning. Origins are "source:line:col" of the value.
 */
static int load_lines(config *c, const char *text, size_t len, const char *source, weir_error *err)
{
    config *tmp = config_new();
    char *line = NULL;
    int rc = 0;
    size_t lineno = 0;
    if (!tmp)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lineno++;
        if (memchr(p, '\0', n)) {
            rc = weir_error_set(err, WEIR_EPARSE, "%s:%zu: line contains a NUL character", source,
                                lineno);
            goto out;
        }
        free(line);
        line = malloc(n + 1); /* not strndup: `text` need not be NUL-terminated */
        if (!line) {
            rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
            goto out;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p += n + (nl ? 1 : 0);
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        const char *kp, *vp;
        if (trim_span(line, &kp) == 0)
            continue; /* blank or comment only */
        char ln[24];
        snprintf(ln, sizeof(ln), "%zu", lineno);
        char *sep = strstr(line, ": ");
        if (!sep) {
            log_warn("config: skipping a line that is not 'key: value'", "source", source, "line",
                     ln);
            continue;
        }
        *sep = '\0';
        size_t kn = trim_span(line, &kp);
        size_t vn = trim_span(sep + 2, &vp);
        if (kn == 0 || vn == 0) {
            log_warn("config: skipping a line with an empty key or value", "source", source, "line",
                     ln);
            continue;
        }
        line[(size_t)(kp - line) + kn] = '\0';
        sep[2 + (size_t)(vp - (sep + 2)) + vn] = '\0';
        char origin[MAX_KEY];
        snprintf(origin, sizeof(origin), "%s:%zu:%zu", source, lineno, (size_t)(vp - line) + 1);
        if (config_set(tmp, kp, vp, origin)) {
            rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (config_merge(c, tmp))
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
out:
    free(line);
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

/* `kv` is only read. */
int config_set_dynamic(config *c, const char *kv, weir_error *err)
{
    const char *eq = kv ? strchr(kv, '=') : NULL;
    if (!eq)
        return weir_error_set(err, WEIR_EINVAL, "-D%s: expected -Dkey=value", kv ? kv : "");
    const char *k = kv;
    while (k < eq && isspace((unsigned char)*k))
        k++;
    const char *ke = eq;
    while (ke > k && isspace((unsigned char)ke[-1]))
        ke--;
    if (ke == k)
        return weir_error_set(err, WEIR_EINVAL, "-D%s: expected -Dkey=value (empty key)", kv);
    size_t kl = (size_t)(ke - k);
    if (kl >= MAX_KEY)
        return weir_error_set(err, WEIR_ETOOBIG, "-D: key longer than %d characters", MAX_KEY - 1);
    char key[MAX_KEY];
    memcpy(key, k, kl);
    key[kl] = '\0';
    if (config_set(c, key, eq + 1, "-D"))
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    return 0;
}

/* argv's strings stay the caller's; only the pointer array is rearranged. */
int config_parse_args(config *c, int *argc, char **argv, weir_error *err)
{
    int out = 0, rc = 0;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "-D", 2) != 0) {
            argv[out++] = argv[i];
            continue;
        }
        const char *kv = a + 2;
        if (!*kv) {
            if (i + 1 >= *argc) {
                rc = weir_error_set(err, WEIR_EINVAL, "-D at the end: expected -D key=value");
                goto out;
            }
            kv = argv[++i];
        }
        if ((rc = config_set_dynamic(c, kv, err)))
            goto out;
    }
    for (int j = out; j < *argc; j++)
        argv[j] = NULL;
    *argc = out;
out:
    return rc;
}

/* Reads a whole file; caller frees *out. */
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
        goto out;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strcmp(base, "flink-conf.yaml") == 0)
        rc = config_load_legacy(c, text, len, path, err);
    else
        rc = config_load_yaml(c, text, len, path, err);
out:
    free(text);
    return rc;
}

int config_load_dir(config *c, const char *dir, weir_error *err)
{
    static const char *const names[] = {"config.yaml", "flink-conf.yaml"};
    char path[4096];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int n = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (n < 0 || (size_t)n >= sizeof(path))
            return weir_error_set(err, WEIR_ETOOBIG, "%s: path too long", dir);
        int rc = config_load_file(c, path, err);
        if (rc != WEIR_ENOTFOUND)
            return rc;
    }
    return weir_error_set(err, WEIR_ENOTFOUND, "%s: neither config.yaml nor flink-conf.yaml", dir);
}
