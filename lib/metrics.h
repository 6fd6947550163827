/*
 * metrics.h - a Prometheus registry: counters, gauges and histograms with labels, rendered in
 * the text exposition format (version 0.0.4) that Prometheus scrapes.
 *
 *   metrics_registry *r = metrics_registry_new();
 *   metrics_family *rec = metrics_counter(r, "weir_reconcile_total", "Reconciles.",
 *                                         (const char *[]){"kind", "result", NULL});
 *   metrics_add(metrics_series_get(rec, (const char *[]){"FlinkDeployment", "success"}), 1);
 *   char *text = metrics_render(r);
 *
 * Series pointers stay valid until their family's registry is freed (or the series removed),
 * so hot paths look a series up once and then only update it: updates are lock-free atomics.
 * Output is deterministic: families by name, series by label values.
 *
 * Layer: lib/. Depends on lib/error, pthreads.
 */
#ifndef WEIR_METRICS_H
#define WEIR_METRICS_H

#include <stddef.h>

#include "lib/error.h"

typedef struct metrics_registry metrics_registry;
typedef struct metrics_family metrics_family;
typedef struct metrics_series metrics_series;

#define METRICS_MAX_LABELS 8

/* A new, empty registry. NULL when out of memory. Caller frees with metrics_registry_free(). */
metrics_registry *metrics_registry_new(void);

/* Frees the registry, its families and series. NULL is a no-op. */
void metrics_registry_free(metrics_registry *r);

/*
 * Registers a family (or returns the existing one registered with the same type, help and
 * labels). `labels` is a NULL-terminated list of label names, or NULL for none; a family
 * without labels has its one series (at zero) from the start. Returns NULL and fills `err`
 * when a name is invalid, a label is reserved ("le" on histograms, "__" prefixes), the name is
 * taken by a different family, or its samples would share names with another family's
 * (histogram "x" and counter "x_count"). Borrowed: owned by the registry.
 */
metrics_family *metrics_counter(metrics_registry *r, const char *name, const char *help,
                                const char *const *labels, weir_error *err);
metrics_family *metrics_gauge(metrics_registry *r, const char *name, const char *help,
                              const char *const *labels, weir_error *err);
/* `bounds`: `nbounds` strictly increasing upper bounds (+Inf is implied); NULL: the default
 * {.005,.01,.025,.05,.1,.25,.5,1,2.5,5,10} seconds. */
metrics_family *metrics_histogram(metrics_registry *r, const char *name, const char *help,
                                  const char *const *labels, const double *bounds, size_t nbounds,
                                  weir_error *err);

/*
 * The series for `values`: exactly as many non-NULL strings as the family has labels (NULL
 * when it has none), created at zero on first use. NULL when a value is missing or memory runs
 * out. Borrowed: valid until the registry is freed or the series is removed.
 */
metrics_series *metrics_series_get(metrics_family *f, const char *const *values);

/* Removes a series (e.g. the gauge of a deleted resource). Returns 0 or WEIR_ENOTFOUND. The
 * caller must not use pointers to it afterwards. */
int metrics_series_remove(metrics_family *f, const char *const *values);

/* Counter: adds `v` (>= 0; negative values are ignored). Gauge: adds `v` (may be negative). */
void metrics_add(metrics_series *s, double v);

/* Gauge: sets the value. */
void metrics_set(metrics_series *s, double v);

/* Histogram: records one observation. */
void metrics_observe(metrics_series *s, double v);

/* Counter or gauge value; a histogram's sum. */
double metrics_value(const metrics_series *s);

/* A histogram's observation count (0 for other types). */
unsigned long long metrics_count(const metrics_series *s);

/* The exposition text of every family. Caller frees. NULL when out of memory. */
char *metrics_render(metrics_registry *r);

/* The Content-Type of metrics_render()'s output. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
