/*
 * datagen.c - the datagen source with Flink's options, made deterministic.
 *
 * Every value is a pure function of (seed, field position, global row index), so the rows a
 * job sees do not depend on the source's parallelism and a restored source continues with
 * exactly the rows an unfailed run would have produced. docs/connectors.md documents the
 * formula; runtime/connectors/tests/datagen_model.py recomputes it independently.
 *
 * Projection push-down: a projected source keeps the configuration of every declared field (a
 * sequence field it does not produce still bounds the rows) and generates only the projected
 * ones, each with its declared position in the formula, so its values are the unprojected ones.
 *
 * Rows: with `number-of-rows` N (or a sequence field, which bounds N by its length) the global
 * indexes [0, N) are split into contiguous ranges, subtask k of p taking [k*N/p, (k+1)*N/p).
 * Unbounded, subtask k emits k, k+p, k+2p, ... `rows-per-second` is the whole source's rate,
 * split evenly across subtasks (a token bucket per subtask).
 *
 * Layer: runtime/connectors.
 */
#include "runtime/connectors/connector.h"

#include "lib/config.h"

#include "runtime/types/decimal.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum { KIND_RANDOM, KIND_SEQUENCE };

typedef struct field {
    const char *name;
    rt_type type;
    int kind;
    int64_t imin, imax; /* random integers */
    rt_i128 qmin, qmax; /* random DECIMAL (scaled by 10^scale) */
    double dmin, dmax;  /* random FLOAT/DOUBLE */
    int64_t start, end; /* sequence */
    uint32_t length;    /* strings */
    bool var_len;
    double null_rate;
    int64_t max_past_ms; /* random timestamps */
    bool has_min, has_max, has_start, has_end;
} field;

typedef struct datagen {
    field *f; /* every declared field */
    uint32_t nf;
    uint32_t *out; /* output column j is field out[j] */
    uint32_t nout;
    uint64_t seed;
    bool bounded;
    uint64_t next, end; /* bounded: global indexes [next, end); unbounded: next = local j */
    uint32_t subtask, parallelism;
    double rate; /* rows per second of this subtask; 0: unlimited */
    double tokens;
    int64_t last_ns;
    int64_t now_ms; /* base of random timestamps, fixed at creation */
} datagen;

/* --- the documented generator ------------------------------------------------------------ */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* The random stream of field `f`, purpose `salt` (0 value, 1 null, 2 length, 3+ characters). */
static inline uint64_t rnd(uint64_t seed, uint32_t f, uint64_t salt, uint64_t i)
{
    return mix64(seed * 0x9E3779B97F4A7C15ULL +
                 ((uint64_t)f * 1024 + salt) * 0xD1B54A32D192ED03ULL + i);
}

static inline double unit(uint64_t r)
{
    return (double)(r >> 11) * 0x1.0p-53;
}

static inline int64_t in_range(uint64_t r, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    return (int64_t)((uint64_t)lo + (span ? r % span : r));
}

/* --- options ------------------------------------------------------------------------------ */

static int parse_i64(const char *key, const char *v, int64_t *out, weir_error *err)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    while (*end == ' ')
        end++;
    if (errno || end == v || *end)
        return weir_error_set(err, WEIR_EINVAL, "option '%s': '%s' is not an integer", key, v);
    *out = x;
    return 0;
}

static int parse_f64(const char *key, const char *v, double *out, weir_error *err)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    while (*end == ' ')
        end++;
    if (errno || end == v || *end || !isfinite(x))
        return weir_error_set(err, WEIR_EINVAL, "option '%s': '%s' is not a number", key, v);
    *out = x;
    return 0;
}

/* A decimal literal scaled to the type's scale ("12.5" at scale 2 -> 1250), rounded HALF_UP. */
static int parse_decimal(const char *key, const char *v, rt_type t, rt_i128 *out, weir_error *err)
{
    int rc = rt_dec_parse(v, strlen(v), t.scale, out);
    if (rc < 0)
        return weir_error_set(err, WEIR_EINVAL, "option '%s': '%s' is not a number", key, v);
    if (rc > 0 || !rt_dec_fits(*out, t.precision)) {
        char tb[64];
        return weir_error_set(err, WEIR_ERANGE, "option '%s': '%s' is out of range for %s", key, v,
                              rt_type_format(t, tb, sizeof(tb)));
    }
    return 0;
}

static void type_range(rt_type t, int64_t *lo, int64_t *hi)
{
    switch (t.kind) {
    case RT_TINYINT:
        *lo = INT8_MIN, *hi = INT8_MAX;
        break;
    case RT_SMALLINT:
        *lo = INT16_MIN, *hi = INT16_MAX;
        break;
    case RT_INT:
        *lo = INT32_MIN, *hi = INT32_MAX;
        break;
    default:
        *lo = INT64_MIN, *hi = INT64_MAX;
        break;
    }
}

static int field_option(datagen *g, const char *key, const char *v, weir_error *err)
{
    /* key is "fields.<name>.<option>"; names may contain dots, options do not. */
    const char *rest = key + 7;
    const char *dot = strrchr(rest, '.');
    if (!dot || dot == rest)
        return weir_error_set(err, WEIR_EINVAL, "Unsupported options found for 'datagen': %s", key);
    size_t nlen = (size_t)(dot - rest);
    const char *opt = dot + 1;
    field *f = NULL;
    for (uint32_t i = 0; i < g->nf; i++)
        if (strlen(g->f[i].name) == nlen && strncmp(g->f[i].name, rest, nlen) == 0)
            f = &g->f[i];
    if (!f)
        return weir_error_set(err, WEIR_EINVAL,
                              "Unsupported options found for 'datagen': %s (the table has no "
                              "column '%.*s')",
                              key, (int)nlen, rest);
    rt_phys ph = rt_type_phys(f->type);
    int rc = 0;
    if (!strcmp(opt, "kind")) {
        if (!strcasecmp(v, "random"))
            f->kind = KIND_RANDOM;
        else if (!strcasecmp(v, "sequence"))
            f->kind = KIND_SEQUENCE;
        else
            return weir_error_set(err, WEIR_EINVAL,
                                  "option '%s': '%s' is not one of random, sequence", key, v);
    } else if (!strcmp(opt, "min") || !strcmp(opt, "max")) {
        bool mn = opt[1] == 'i';
        if (ph == RT_PHYS_F64)
            rc = parse_f64(key, v, mn ? &f->dmin : &f->dmax, err);
        else if (f->type.kind == RT_DECIMAL)
            rc = parse_decimal(key, v, f->type, mn ? &f->qmin : &f->qmax, err);
        else if (rt_type_is_integer(f->type))
            rc = parse_i64(key, v, mn ? &f->imin : &f->imax, err);
        else
            return weir_error_set(err, WEIR_EINVAL,
                                  "option '%s': min/max apply to numeric columns, '%s' is %s", key,
                                  f->name, rt_kind_name((rt_kind)f->type.kind));
        if (mn)
            f->has_min = true;
        else
            f->has_max = true;
    } else if (!strcmp(opt, "start") || !strcmp(opt, "end")) {
        bool st = opt[1] == 't';
        rc = parse_i64(key, v, st ? &f->start : &f->end, err);
        if (st)
            f->has_start = true;
        else
            f->has_end = true;
    } else if (!strcmp(opt, "length")) {
        int64_t n;
        if ((rc = parse_i64(key, v, &n, err)))
            return rc;
        if (n < 0 || n > 1 << 20)
            return weir_error_set(err, WEIR_EINVAL, "option '%s': %lld is not in 0..1048576", key,
                                  (long long)n);
        f->length = (uint32_t)n;
    } else if (!strcmp(opt, "var-len")) {
        if (!strcasecmp(v, "true"))
            f->var_len = true;
        else if (!strcasecmp(v, "false"))
            f->var_len = false;
        else
            return weir_error_set(err, WEIR_EINVAL, "option '%s': '%s' is not a boolean", key, v);
    } else if (!strcmp(opt, "null-rate")) {
        if ((rc = parse_f64(key, v, &f->null_rate, err)))
            return rc;
        if (f->null_rate < 0 || f->null_rate > 1)
            return weir_error_set(err, WEIR_EINVAL, "option '%s': %s is not in [0, 1]", key, v);
    } else if (!strcmp(opt, "max-past")) {
        long long ms;
        if (config_parse_duration_ms(v, &ms))
            return weir_error_set(err, WEIR_EINVAL, "option '%s': '%s' is not a duration", key, v);
        f->max_past_ms = ms;
    } else
        return weir_error_set(err, WEIR_EINVAL, "Unsupported options found for 'datagen': %s", key);
    return rc;
}

static void dg_destroy(void *self)
{
    datagen *g = self;
    if (!g)
        return;
    free(g->f);
    free(g->out);
    free(g);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int dg_create_projected(const rt_schema *schema, const uint32_t *proj, uint32_t nproj,
                               const json_t *options, uint32_t subtask, uint32_t parallelism,
                               void **self, weir_error *err)
{
    int rc = 0;
    datagen *g = calloc(1, sizeof(*g));
    if (!g)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    g->nf = schema->ncols;
    g->f = calloc(g->nf ? g->nf : 1, sizeof(field));
    g->nout = proj ? nproj : schema->ncols;
    g->out = calloc(g->nout ? g->nout : 1, sizeof(uint32_t));
    if (!g->f || !g->out) {
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        goto fail;
    }
    if (proj && nproj == 0) {
        rc = weir_error_set(err, WEIR_EINVAL, "a projection needs at least one column");
        goto fail;
    }
    for (uint32_t j = 0; j < g->nout; j++) {
        g->out[j] = proj ? proj[j] : j;
        if (g->out[j] >= g->nf) {
            rc = weir_error_set(err, WEIR_EINVAL,
                                "projected column %u is out of range (the table has %u)", g->out[j],
                                g->nf);
            goto fail;
        }
    }
    for (uint32_t i = 0; i < g->nf; i++) {
        field *f = &g->f[i];
        f->name = schema->names[i];
        f->type = schema->types[i];
        f->length = 100;
        type_range(f->type, &f->imin, &f->imax);
        f->qmax = rt_dec_pow10(f->type.precision) - 1; /* DECIMAL: every value of the type */
        f->qmin = -f->qmax;
        f->dmin = DBL_MIN;
        f->dmax = DBL_MAX;
        if (f->type.kind == RT_FLOAT)
            f->dmin = FLT_MIN, f->dmax = FLT_MAX;
    }
    int64_t rps = 10000, rows = -1;
    bool has_rows = false;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)options, k, v)
    {
        const char *s = json_string_value(v);
        if (!s)
            s = "";
        if (!strcmp(k, "rows-per-second")) {
            if ((rc = parse_i64(k, s, &rps, err)))
                goto fail;
            if (rps < 1) {
                rc = weir_error_set(err, WEIR_EINVAL, "option 'rows-per-second': must be > 0");
                goto fail;
            }
        } else if (!strcmp(k, "number-of-rows")) {
            if ((rc = parse_i64(k, s, &rows, err)))
                goto fail;
            if (rows < 0) {
                rc = weir_error_set(err, WEIR_EINVAL, "option 'number-of-rows': must be >= 0");
                goto fail;
            }
            has_rows = true;
        } else if (!strcmp(k, "seed")) {
            int64_t seed;
            if ((rc = parse_i64(k, s, &seed, err)))
                goto fail;
            g->seed = (uint64_t)seed;
        } else if (!strcmp(k, "scan.parallelism")) {
            int64_t x;
            if ((rc = parse_i64(k, s, &x, err)))
                goto fail;
        } else if (!strncmp(k, "fields.", 7)) {
            if ((rc = field_option(g, k, s, err)))
                goto fail;
        } else {
            rc = weir_error_set(err, WEIR_EINVAL,
                                "Unsupported options found for 'datagen': %s (supported: "
                                "rows-per-second, number-of-rows, seed, scan.parallelism, "
                                "fields.#.kind, fields.#.min, fields.#.max, fields.#.max-past, "
                                "fields.#.length, fields.#.var-len, fields.#.start, "
                                "fields.#.end, fields.#.null-rate)",
                                k);
            goto fail;
        }
    }
    uint64_t n = has_rows ? (uint64_t)rows : UINT64_MAX;
    for (uint32_t i = 0; i < g->nf; i++) {
        field *f = &g->f[i];
        if (f->kind == KIND_SEQUENCE) {
            if (!f->has_start || !f->has_end) {
                rc = weir_error_set(err, WEIR_EINVAL,
                                    "fields.%s.%s is required for a sequence field", f->name,
                                    f->has_start ? "end" : "start");
                goto fail;
            }
            if (f->end < f->start) {
                rc = weir_error_set(err, WEIR_EINVAL, "fields.%s: end %lld is before start %lld",
                                    f->name, (long long)f->end, (long long)f->start);
                goto fail;
            }
            if (rt_type_phys(f->type) == RT_PHYS_F64 || f->type.kind == RT_BOOLEAN ||
                rt_type_is_temporal(f->type)) {
                rc = weir_error_set(err, WEIR_EINVAL,
                                    "fields.%s.kind: sequence applies to integer, DECIMAL and "
                                    "string columns",
                                    f->name);
                goto fail;
            }
            uint64_t len = (uint64_t)f->end - (uint64_t)f->start + 1;
            if (len != 0 && len < n)
                n = len;
        } else if (f->has_start || f->has_end) {
            rc = weir_error_set(err, WEIR_EINVAL, "fields.%s.%s applies to sequence fields only",
                                f->name, f->has_start ? "start" : "end");
            goto fail;
        }
        if (f->kind == KIND_RANDOM && (f->has_min || f->has_max)) {
            bool bad = rt_type_phys(f->type) == RT_PHYS_F64 ? f->dmin > f->dmax
                       : f->type.kind == RT_DECIMAL         ? f->qmin > f->qmax
                                                            : f->imin > f->imax;
            if (bad) {
                rc =
                    weir_error_set(err, WEIR_EINVAL, "fields.%s: min is greater than max", f->name);
                goto fail;
            }
        }
    }
    g->subtask = subtask;
    g->parallelism = parallelism ? parallelism : 1;
    if (n != UINT64_MAX) {
        g->bounded = true;
        /* 128-bit products keep k*N/p exact for any N. */
        g->next = (uint64_t)((unsigned __int128)n * subtask / g->parallelism);
        g->end = (uint64_t)((unsigned __int128)n * (subtask + 1) / g->parallelism);
    }
    g->rate = (double)rps / g->parallelism;
    g->last_ns = mono_ns();
    g->tokens = 0;
    g->now_ms = (int64_t)time(NULL) * 1000;
    *self = g;
    return 0;
fail:
    dg_destroy(g);
    return rc;
}

static const char hexd[] = "0123456789abcdef";

/* Field `fi` (its declared position) of global row `i` into output column `oc` of `b`. */
static int gen_value(datagen *g, uint32_t fi, uint32_t oc, uint64_t i, rt_batch *b, uint32_t row)
{
    field *f = &g->f[fi];
    rt_col *c = &b->cols[oc];
    if (f->null_rate > 0 && unit(rnd(g->seed, fi, 1, i)) < f->null_rate) {
        c->null[row] = 1;
        if (rt_type_phys(f->type) == RT_PHYS_STR)
            c->str[row] = (rt_str){NULL, 0};
        else if (rt_type_phys(f->type) == RT_PHYS_I128)
            c->i128[row] = 0;
        else
            c->i64[row] = 0;
        return 0;
    }
    c->null[row] = 0;
    uint64_t r = rnd(g->seed, fi, 0, i);
    if (f->kind == KIND_SEQUENCE) {
        int64_t v = (int64_t)((uint64_t)f->start + i);
        if (rt_type_phys(f->type) == RT_PHYS_STR) {
            char buf[24];
            int n = snprintf(buf, sizeof(buf), "%" PRId64, v);
            bool ok = true;
            c->str[row] = rt_arena_strdup(&b->arena, buf, (uint32_t)n, &ok);
            return ok ? 0 : WEIR_ENOMEM;
        }
        if (f->type.kind == RT_DECIMAL) {
            /* start + i at the column's scale; beyond the precision it wraps as the int64 path
             * always did for p <= 18 (the 128-bit product is exact) */
            rt_i128 d = (rt_i128)v * rt_dec_pow10(f->type.scale);
            rt_col_set_dec(c, row, d);
            return 0;
        }
        c->i64[row] = v;
        return 0;
    }
    switch (f->type.kind) {
    case RT_BOOLEAN:
        c->i64[row] = (int64_t)(r & 1);
        break;
    case RT_FLOAT:
    case RT_DOUBLE:
        c->f64[row] = f->dmin + unit(r) * (f->dmax - f->dmin);
        if (f->type.kind == RT_FLOAT)
            c->f64[row] = (float)c->f64[row];
        break;
    case RT_CHAR:
    case RT_VARCHAR:
    case RT_BYTES: {
        uint32_t len = f->length < f->type.length ? f->length : f->type.length;
        if (f->var_len && len > 0)
            len = 1 + (uint32_t)(rnd(g->seed, fi, 2, i) % len);
        char *p = rt_arena_alloc(&b->arena, len ? len : 1);
        if (!p)
            return WEIR_ENOMEM;
        for (uint32_t j = 0; j < len; j += 16) {
            uint64_t x = rnd(g->seed, fi, 3 + j / 16, i);
            for (uint32_t k = 0; k < 16 && j + k < len; k++)
                p[j + k] = hexd[(x >> (4 * k)) & 15];
        }
        c->str[row] = (rt_str){p, len};
        break;
    }
    case RT_DATE:
        c->i64[row] = g->now_ms / 86400000 - (int64_t)(r % 365);
        break;
    case RT_TIME:
        c->i64[row] = (int64_t)(r % 86400000);
        break;
    case RT_TIMESTAMP:
    case RT_TIMESTAMP_LTZ:
        c->i64[row] = g->now_ms - (int64_t)(r % ((uint64_t)f->max_past_ms + 1));
        break;
    case RT_DECIMAL: {
        /* min + x mod (max - min + 1): x is r for precision <= 18 (as before 128-bit decimals),
         * else the 128 bits r(f, 0, i) * 2^64 + r(f, 2, i) */
        rt_u128 span = (rt_u128)f->qmax - (rt_u128)f->qmin + 1;
        rt_u128 x = f->type.precision > 18 ? ((rt_u128)r << 64) | rnd(g->seed, fi, 2, i) : r;
        rt_col_set_dec(c, row, (rt_i128)((rt_u128)f->qmin + (span ? x % span : x)));
        break;
    }
    default:
        c->i64[row] = in_range(r, f->imin, f->imax);
        break;
    }
    return 0;
}

static int dg_poll(void *self, rt_batch *b, int64_t *idle_ms, weir_error *err)
{
    datagen *g = self;
    if (g->bounded && g->next >= g->end)
        return RT_SOURCE_END;
    /* Token bucket at this subtask's share of rows-per-second, bursting up to one batch. */
    int64_t now = mono_ns();
    g->tokens += (double)(now - g->last_ns) * 1e-9 * g->rate;
    g->last_ns = now;
    double cap = (double)b->cap;
    if (g->tokens > cap)
        g->tokens = cap;
    uint64_t want = b->cap - b->n;
    if ((double)want > g->tokens)
        want = (uint64_t)g->tokens;
    if (g->bounded && want > g->end - g->next)
        want = g->end - g->next;
    if (want == 0) {
        double need = 1.0 - g->tokens;
        *idle_ms = (int64_t)ceil(need / g->rate * 1000.0);
        if (*idle_ms < 1)
            *idle_ms = 1;
        return RT_SOURCE_MORE;
    }
    for (uint64_t k = 0; k < want; k++) {
        uint64_t i = g->bounded ? g->next : g->subtask + g->next * (uint64_t)g->parallelism;
        uint32_t row = b->n;
        for (uint32_t oc = 0; oc < g->nout; oc++)
            if (gen_value(g, g->out[oc], oc, i, b, row))
                return weir_error_set(err, WEIR_ENOMEM, "out of memory");
        b->kind[row] = RT_INSERT;
        b->n++;
        g->next++;
    }
    g->tokens -= (double)want;
    return g->bounded && g->next >= g->end ? RT_SOURCE_END : RT_SOURCE_MORE;
}

static int dg_create(const rt_schema *schema, const json_t *options, uint32_t subtask,
                     uint32_t parallelism, void **self, weir_error *err)
{
    return dg_create_projected(schema, NULL, 0, options, subtask, parallelism, self, err);
}

static json_t *dg_snapshot(void *self)
{
    datagen *g = self;
    return json_pack("{s:I, s:i, s:i}", "next", (json_int_t)g->next, "subtask", (int)g->subtask,
                     "parallelism", (int)g->parallelism);
}

static int dg_restore(void *self, const json_t *position, weir_error *err)
{
    datagen *g = self;
    json_t *n = json_object_get(position, "next");
    json_t *p = json_object_get(position, "parallelism");
    if (!json_is_integer(n) || json_integer_value(n) < 0)
        return weir_error_set(err, WEIR_EPARSE, "datagen position: missing or bad 'next'");
    if (json_is_integer(p) && json_integer_value(p) != (json_int_t)g->parallelism)
        return weir_error_set(err, WEIR_EUNSUPPORTED,
                              "datagen position was taken at parallelism %lld, not %u",
                              (long long)json_integer_value(p), g->parallelism);
    uint64_t next = (uint64_t)json_integer_value(n);
    if (g->bounded) {
        uint64_t first = g->next; /* not started yet: the range start */
        if (next < first || next > g->end)
            return weir_error_set(err, WEIR_EPARSE,
                                  "datagen position %llu is outside this subtask's rows "
                                  "[%llu, %llu)",
                                  (unsigned long long)next, (unsigned long long)first,
                                  (unsigned long long)g->end);
    }
    g->next = next;
    return 0;
}

/* An unbounded source restored at another parallelism: old subtask k emitted the global rows
 * k, k+p, ..., k+(next_k-1)p. The new subtasks continue after the highest row any old one
 * emitted, so no row is emitted twice (rows below it that an old subtask had not reached yet
 * are skipped: random rows have no identity to lose). A bounded source's ranges depend on the
 * parallelism and are not rescaled. */
static int dg_rescale(void *self, const json_t *positions, weir_error *err)
{
    datagen *g = self;
    if (g->bounded)
        return weir_error_set(err, WEIR_EUNSUPPORTED,
                              "a bounded datagen source (number-of-rows or a sequence field) "
                              "cannot change its parallelism on restore");
    uint64_t high = 0; /* one past the highest global row emitted */
    size_t k;
    json_t *pos;
    json_array_foreach(positions, k, pos)
    {
        json_t *n = json_object_get(pos, "next");
        json_t *p = json_object_get(pos, "parallelism");
        json_t *sub = json_object_get(pos, "subtask");
        if (!json_is_integer(n) || json_integer_value(n) < 0 || !json_is_integer(p) ||
            json_integer_value(p) < 1)
            return weir_error_set(err, WEIR_EPARSE, "datagen position %zu: bad 'next'", k);
        uint64_t next = (uint64_t)json_integer_value(n);
        uint64_t sk = json_is_integer(sub) ? (uint64_t)json_integer_value(sub) : k;
        if (next > 0) {
            uint64_t last = sk + (next - 1) * (uint64_t)json_integer_value(p);
            if (last + 1 > high)
                high = last + 1;
        }
    }
    /* the first m with subtask + m * parallelism >= high */
    g->next =
        high > g->subtask ? (high - g->subtask + g->parallelism - 1) / (uint64_t)g->parallelism : 0;
    return 0;
}

const rt_source_ops rt_datagen_source = {
    .rescale = dg_rescale,
    .name = "datagen",
    .create = dg_create,
    .create_projected = dg_create_projected,
    .poll = dg_poll,
    .snapshot = dg_snapshot,
    .restore = dg_restore,
    .destroy = dg_destroy,
};
