/*
 * metrics.c - Prometheus registry and text exposition.
 *
 * Values are doubles stored as their bit patterns in atomic 64-bit words, so updates need no
 * lock (a compare-and-swap loop for additions). Families and series are created under
 * mutexes; rendering takes each family's mutex while it walks the series.
 */
#include "lib/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strmap.h"

enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM };

struct metrics_series {
    char **values;                       /* owned label values */
    size_t nvalues;                      /* the family's label count */
    char *key;                           /* owned lookup key (length-prefixed values) */
    _Atomic uint64_t value;              /* counter/gauge value, histogram sum (double bits) */
    _Atomic unsigned long long *buckets; /* histogram: per-bound counts (non-cumulative) + Inf */
    _Atomic unsigned long long count;
    enum mtype type;
    const double *bounds; /* histogram: the family's bounds (borrowed; the family outlives us) */
    size_t nbounds;
};

struct metrics_family {
    char *name, *help;
    enum mtype type;
    char *labels[METRICS_MAX_LABELS];
    size_t nlabels;
    double *bounds;
    size_t nbounds;
    pthread_mutex_t mu; /* guards series */
    strmap *series;     /* key -> metrics_series* (owned) */
};

struct metrics_registry {
    pthread_mutex_t mu; /* guards families */
    strmap *families;   /* name -> metrics_family* (owned) */
};

static const double default_bounds[] = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};

static uint64_t d2u(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

static double u2d(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

static void atomic_add_double(_Atomic uint64_t *slot, double v)
{
    uint64_t old = atomic_load_explicit(slot, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(slot, &old, d2u(u2d(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

static void series_free(metrics_series *s, size_t nlabels)
{
    if (!s)
        return;
    for (size_t i = 0; i < nlabels; i++)
        free(s->values ? s->values[i] : NULL);
    free(s->values);
    free(s->key);
    free((void *)s->buckets);
    free(s);
}

static void family_free(metrics_family *f)
{
    if (!f)
        return;
    if (f->series) {
        size_t it = 0;
        const char *k;
        void *v;
        while (strmap_next(f->series, &it, &k, &v))
            series_free(v, f->nlabels);
        strmap_free(f->series);
    }
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->name);
    free(f->help);
    free(f->bounds);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

metrics_registry *metrics_registry_new(void)
{
    metrics_registry *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->families = strmap_new();
    if (!r->families) {
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

void metrics_registry_free(metrics_registry *r)
{
    if (!r)
        return;
    size_t it = 0;
    const char *k;
    void *v;
    while (strmap_next(r->families, &it, &k, &v))
        family_free(v);
    strmap_free(r->families);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static bool valid_metric_name(const char *s)
{
    if (!s || !*s ||
        !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || *s == ':'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == ':'))
            return false;
    return true;
}

static bool valid_label_name(const char *s)
{
    if (!s || !*s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    if (s[0] == '_' && s[1] == '_')
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

static bool same_shape(const metrics_family *f, enum mtype t, const char *help,
                       const char *const *labels, size_t nlabels, const double *bounds,
                       size_t nbounds)
{
    if (f->type != t || f->nlabels != nlabels || strcmp(f->help, help ? help : "") != 0)
        return false;
    for (size_t i = 0; i < nlabels; i++)
        if (strcmp(f->labels[i], labels[i]) != 0)
            return false;
    if (t == M_HISTOGRAM) {
        if (f->nbounds != nbounds)
            return false;
        for (size_t i = 0; i < nbounds; i++)
            if (f->bounds[i] != bounds[i])
                return false;
    }
    return true;
}

static const char *const hist_suffixes[] = {"_bucket", "_sum", "_count"};

/*
 * The name of an existing family whose samples would share a name with those of a new family
 * `name` of type `t` (a histogram "x" writes x_bucket, x_sum and x_count), or NULL. Called with
 * r->mu held; `name` is not registered yet.
 */
static const char *sample_name_clash(metrics_registry *r, enum mtype t, const char *name)
{
    char tmp[512];
    size_t n = strlen(name);
    for (size_t i = 0; i < 3; i++) {
        size_t sl = strlen(hist_suffixes[i]);
        /* a histogram named `name` minus this suffix already writes `name` */
        if (n > sl && n - sl < sizeof(tmp) && strcmp(name + n - sl, hist_suffixes[i]) == 0) {
            memcpy(tmp, name, n - sl);
            tmp[n - sl] = '\0';
            const metrics_family *h = strmap_get(r->families, tmp);
            if (h && h->type == M_HISTOGRAM)
                return h->name;
        }
        /* this histogram would write name+suffix, which some family already is */
        if (t == M_HISTOGRAM && n + sl < sizeof(tmp)) {
            snprintf(tmp, sizeof(tmp), "%s%s", name, hist_suffixes[i]);
            const metrics_family *o = strmap_get(r->families, tmp);
            if (o)
                return o->name;
        }
    }
    return NULL;
}

static metrics_family *family(metrics_registry *r, enum mtype t, const char *name, const char *help,
                              const char *const *labels, const double *bounds, size_t nbounds,
                              weir_error *err)
{
    size_t nlabels = 0;
    metrics_family *f = NULL;
    if (!valid_metric_name(name)) {
        weir_error_set(err, WEIR_EINVAL, "metric name '%s' is not valid", name ? name : "");
        return NULL;
    }
    for (; labels && labels[nlabels]; nlabels++) {
        if (nlabels >= METRICS_MAX_LABELS) {
            weir_error_set(err, WEIR_ETOOBIG, "metric %s: more than %d labels", name,
                           METRICS_MAX_LABELS);
            return NULL;
        }
        if (!valid_label_name(labels[nlabels]) ||
            (t == M_HISTOGRAM && strcmp(labels[nlabels], "le") == 0)) {
            weir_error_set(err, WEIR_EINVAL, "metric %s: label name '%s' is not valid or reserved",
                           name, labels[nlabels]);
            return NULL;
        }
        for (size_t j = 0; j < nlabels; j++)
            if (strcmp(labels[j], labels[nlabels]) == 0) {
                weir_error_set(err, WEIR_EDUPLICATE, "metric %s: label '%s' given twice", name,
                               labels[j]);
                return NULL;
            }
    }
    if (t == M_HISTOGRAM) {
        if (!bounds) {
            bounds = default_bounds;
            nbounds = sizeof(default_bounds) / sizeof(default_bounds[0]);
        }
        for (size_t i = 0; i < nbounds; i++)
            if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
                weir_error_set(err, WEIR_EINVAL,
                               "histogram %s: bucket bounds must be finite and increasing", name);
                return NULL;
            }
    }
    pthread_mutex_lock(&r->mu);
    metrics_family *old = strmap_get(r->families, name);
    if (old) {
        if (!same_shape(old, t, help, labels, nlabels, bounds, nbounds)) {
            weir_error_set(err, WEIR_EEXIST,
                           "metric %s is already registered with another type, help or labels",
                           name);
            old = NULL;
        }
        pthread_mutex_unlock(&r->mu);
        return old;
    }
    const char *clash = sample_name_clash(r, t, name);
    if (clash) {
        weir_error_set(err, WEIR_EEXIST, "metric %s: its samples would clash with metric %s", name,
                       clash);
        pthread_mutex_unlock(&r->mu);
        return NULL;
    }
    f = calloc(1, sizeof(*f));
    if (!f)
        goto oom;
    pthread_mutex_init(&f->mu, NULL);
    f->type = t;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->series = strmap_new();
    if (!f->name || !f->help || !f->series)
        goto oom;
    for (size_t i = 0; i < nlabels; i++) {
        if (!(f->labels[i] = strdup(labels[i])))
            goto oom;
        f->nlabels = i + 1;
    }
    if (t == M_HISTOGRAM) {
        f->bounds = malloc(sizeof(double) * (nbounds ? nbounds : 1));
        if (!f->bounds)
            goto oom;
        memcpy(f->bounds, bounds, sizeof(double) * nbounds);
        f->nbounds = nbounds;
    }
    /* a family without labels has exactly one series: show it (at zero) from the start */
    if (nlabels == 0 && !metrics_series_get(f, NULL))
        goto oom;
    if (strmap_put(r->families, f->name, f, NULL) != 0)
        goto oom;
    pthread_mutex_unlock(&r->mu);
    return f;
oom:
    pthread_mutex_unlock(&r->mu);
    family_free(f);
    weir_error_set(err, WEIR_ENOMEM, "out of memory");
    return NULL;
}

metrics_family *metrics_counter(metrics_registry *r, const char *name, const char *help,
                                const char *const *labels, weir_error *err)
{
    return family(r, M_COUNTER, name, help, labels, NULL, 0, err);
}

metrics_family *metrics_gauge(metrics_registry *r, const char *name, const char *help,
                              const char *const *labels, weir_error *err)
{
    return family(r, M_GAUGE, name, help, labels, NULL, 0, err);
}

metrics_family *metrics_histogram(metrics_registry *r, const char *name, const char *help,
                                  const char *const *labels, const double *bounds, size_t nbounds,
                                  weir_error *err)
{
    return family(r, M_HISTOGRAM, name, help, labels, bounds, nbounds, err);
}

/* The lookup key of the family's nlabels values: each value as "<length>:<bytes>", so no two
 * lists of values share a key whatever bytes they hold. Malloc'd; NULL when values are missing
 * or memory runs out. */
static char *join_key(const metrics_family *f, const char *const *values)
{
    size_t len = 1;
    if (f->nlabels && !values)
        return NULL;
    for (size_t i = 0; i < f->nlabels; i++) {
        if (!values[i])
            return NULL;
        len += strlen(values[i]) + 24;
    }
    char *k = malloc(len);
    if (!k)
        return NULL;
    size_t n = 0;
    k[0] = '\0';
    for (size_t i = 0; i < f->nlabels; i++)
        n += (size_t)snprintf(k + n, len - n, "%zu:%s", strlen(values[i]), values[i]);
    return k;
}

metrics_series *metrics_series_get(metrics_family *f, const char *const *values)
{
    char *key = join_key(f, values);
    if (!key)
        return NULL;
    pthread_mutex_lock(&f->mu);
    metrics_series *s = strmap_get(f->series, key);
    if (s) {
        pthread_mutex_unlock(&f->mu);
        free(key);
        return s;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        goto oom;
    s->type = f->type;
    s->nvalues = f->nlabels;
    s->key = key;
    key = NULL;
    s->values = calloc(f->nlabels ? f->nlabels : 1, sizeof(char *));
    if (!s->values)
        goto oom;
    for (size_t i = 0; i < f->nlabels; i++)
        if (!(s->values[i] = strdup(values[i])))
            goto oom;
    if (f->type == M_HISTOGRAM) {
        s->buckets = calloc(f->nbounds + 1, sizeof(*s->buckets));
        if (!s->buckets)
            goto oom;
        s->bounds = f->bounds;
        s->nbounds = f->nbounds;
    }
    if (strmap_put(f->series, s->key, s, NULL) != 0)
        goto oom;
    pthread_mutex_unlock(&f->mu);
    return s;
oom:
    pthread_mutex_unlock(&f->mu);
    free(key);
    series_free(s, f->nlabels);
    return NULL;
}

int metrics_series_remove(metrics_family *f, const char *const *values)
{
    char *key = join_key(f, values);
    if (!key)
        return WEIR_EINVAL;
    pthread_mutex_lock(&f->mu);
    metrics_series *s = strmap_del(f->series, key);
    pthread_mutex_unlock(&f->mu);
    free(key);
    if (!s)
        return WEIR_ENOTFOUND;
    series_free(s, f->nlabels);
    return 0;
}

void metrics_add(metrics_series *s, double v)
{
    if (!s || s->type == M_HISTOGRAM || (s->type == M_COUNTER && !(v >= 0)))
        return;
    atomic_add_double(&s->value, v);
}

void metrics_set(metrics_series *s, double v)
{
    if (!s || s->type != M_GAUGE)
        return;
    atomic_store_explicit(&s->value, d2u(v), memory_order_relaxed);
}

void metrics_observe(metrics_series *s, double v)
{
    if (!s || s->type != M_HISTOGRAM || isnan(v))
        return;
    size_t i = 0;
    while (i < s->nbounds && v > s->bounds[i])
        i++;
    atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    atomic_add_double(&s->value, v);
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
}

double metrics_value(const metrics_series *s)
{
    return s ? u2d(atomic_load_explicit(&((metrics_series *)s)->value, memory_order_relaxed)) : 0;
}

unsigned long long metrics_count(const metrics_series *s)
{
    return s && s->type == M_HISTOGRAM ? atomic_load(&((metrics_series *)s)->count) : 0;
}

/* --- rendering ------------------------------------------------------------------------------- */

struct buf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void putf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Shortest of %.15g/%.17g that reads back exactly; NaN and infinities as Prometheus spells them. */
static void fmt_double(char *out, size_t cap, double v)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
    } else if (isinf(v)) {
        snprintf(out, cap, "%s", v > 0 ? "+Inf" : "-Inf");
    } else {
        snprintf(out, cap, "%.15g", v);
        if (strtod(out, NULL) != v)
            snprintf(out, cap, "%.17g", v);
    }
}

/* Escapes for HELP (backslash, newline) or label values (also double quote). */
static void put_escaped(struct buf *b, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            puts_(b, "\\\\");
        else if (*s == '\n')
            puts_(b, "\\n");
        else if (quote && *s == '"')
            puts_(b, "\\\"");
        else
            put(b, s, 1);
    }
}

static void put_labels(struct buf *b, const metrics_family *f, const metrics_series *s,
                       const char *le)
{
    if (f->nlabels == 0 && !le)
        return;
    puts_(b, "{");
    for (size_t i = 0; i < f->nlabels; i++) {
        if (i)
            puts_(b, ",");
        puts_(b, f->labels[i]);
        puts_(b, "=\"");
        put_escaped(b, s->values[i], true);
        puts_(b, "\"");
    }
    if (le) {
        if (f->nlabels)
            puts_(b, ",");
        puts_(b, "le=\"");
        puts_(b, le);
        puts_(b, "\"");
    }
    puts_(b, "}");
}

static int cmp_family(const void *a, const void *b)
{
    return strcmp((*(metrics_family *const *)a)->name, (*(metrics_family *const *)b)->name);
}

/* Label values in order, each compared bytewise. */
static int cmp_series(const void *a, const void *b)
{
    const metrics_series *x = *(metrics_series *const *)a, *y = *(metrics_series *const *)b;
    for (size_t i = 0; i < x->nvalues; i++) {
        int c = strcmp(x->values[i], y->values[i]);
        if (c)
            return c;
    }
    return 0;
}

static void render_family(struct buf *b, metrics_family *f)
{
    static const char *types[] = {"counter", "gauge", "histogram"};
    char num[64], le[64];
    puts_(b, "# HELP ");
    puts_(b, f->name);
    puts_(b, " ");
    put_escaped(b, f->help, false);
    puts_(b, "\n# TYPE ");
    puts_(b, f->name);
    puts_(b, " ");
    puts_(b, types[f->type]);
    puts_(b, "\n");

    pthread_mutex_lock(&f->mu);
    size_t n = strmap_len(f->series), i = 0, it = 0;
    metrics_series **all = calloc(n ? n : 1, sizeof(*all));
    if (!all) {
        pthread_mutex_unlock(&f->mu);
        b->oom = true;
        return;
    }
    const char *k;
    void *v;
    while (strmap_next(f->series, &it, &k, &v) && i < n)
        all[i++] = v;
    qsort(all, n, sizeof(*all), cmp_series);
    for (i = 0; i < n; i++) {
        metrics_series *s = all[i];
        if (f->type != M_HISTOGRAM) {
            puts_(b, f->name);
            put_labels(b, f, s, NULL);
            fmt_double(num, sizeof(num), metrics_value(s));
            putf(b, " %s\n", num);
            continue;
        }
        unsigned long long cum = 0;
        for (size_t j = 0; j <= f->nbounds; j++) {
            cum += atomic_load_explicit(&s->buckets[j], memory_order_relaxed);
            if (j < f->nbounds)
                fmt_double(le, sizeof(le), f->bounds[j]);
            else
                snprintf(le, sizeof(le), "+Inf");
            puts_(b, f->name);
            puts_(b, "_bucket");
            put_labels(b, f, s, le);
            putf(b, " %llu\n", cum);
        }
        puts_(b, f->name);
        puts_(b, "_sum");
        put_labels(b, f, s, NULL);
        fmt_double(num, sizeof(num), metrics_value(s));
        putf(b, " %s\n", num);
        puts_(b, f->name);
        puts_(b, "_count");
        put_labels(b, f, s, NULL);
        /* the +Inf bucket is the count, read once above, so the two always agree */
        putf(b, " %llu\n", cum);
    }
    pthread_mutex_unlock(&f->mu);
    free(all);
}

char *metrics_render(metrics_registry *r)
{
    struct buf b = {0};
    pthread_mutex_lock(&r->mu);
    size_t n = strmap_len(r->families), i = 0, it = 0;
    metrics_family **all = calloc(n ? n : 1, sizeof(*all));
    if (!all) {
        pthread_mutex_unlock(&r->mu);
        return NULL;
    }
    const char *k;
    void *v;
    while (strmap_next(r->families, &it, &k, &v) && i < n)
        all[i++] = v;
    qsort(all, n, sizeof(*all), cmp_family);
    put(&b, "", 0);
    for (i = 0; i < n; i++)
        render_family(&b, all[i]);
    pthread_mutex_unlock(&r->mu);
    free(all);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
