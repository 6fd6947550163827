/*
 * informer.h - a cache of one kind of Kubernetes object kept current by list + watch.
 *
 * The shape of client-go's shared informer: a ListerWatcher (here an ops table, so the
 * informer is tested without a network and runs over lib/kube in production), a thread that
 * lists, then watches from the list's resourceVersion, applies events to a store, follows
 * bookmarks, relists on 410 Gone, and reconnects with jittered exponential backoff after
 * errors. Event handlers (add/update/delete) are called from the informer's thread without
 * the store lock held; they should only enqueue keys.
 *
 * Stored objects are immutable: an update replaces the object. Readers get a reference
 * (json_incref'd; jansson's reference counts are atomic) and must json_decref it. A transform
 * hook trims objects before they are stored, so the cache holds only what reconcilers read.
 * Indexes map an index value (an owner UID, a label value) to the keys of objects.
 *
 * Layer: operator/kube. Depends on lib/ (strmap, log, error) and jansson; not on lib/kube
 * directly (see informer_lw).
 */
#ifndef WEIR_INFORMER_H
#define WEIR_INFORMER_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

typedef struct informer informer;

/* Called by a watch for each event; returns 0 to continue, non-zero to stop the watch. */
typedef int (*informer_event_fn)(void *arg, const char *type, json_t *object);

/* How the informer lists and watches; implemented over lib/kube, or by tests. */
struct informer_lw {
    void *ctx;
    /*
     * Lists every object; *items receives a new JSON array (caller = informer decrefs) and
     * *resource_version a malloc'd string (informer frees). Returns 0 or a WEIR_E* code.
     */
    int (*list)(void *ctx, json_t **items, char **resource_version, weir_error *err);
    /*
     * Watches from `resource_version` with bookmarks, calling `on_event` for ADDED, MODIFIED,
     * DELETED and BOOKMARK events (ERROR events are turned into the return code). Returns 0
     * when the server ended the stream normally (timeout), WEIR_EGONE when the version is too
     * old, WEIR_ECANCELED when `stop` became true or on_event asked to stop, another WEIR_E*
     * code on failure. Must notice `stop` within about a second.
     */
    int (*watch)(void *ctx, const char *resource_version, informer_event_fn on_event, void *arg,
                 const atomic_bool *stop, weir_error *err);
};

struct informer_handlers {
    void *arg;
    void (*on_add)(void *arg, const json_t *obj);
    void (*on_update)(void *arg, const json_t *old_obj, const json_t *new_obj);
    void (*on_delete)(void *arg, const json_t *obj);
};

/*
 * An index function writes up to `cap` index values for `obj` into `out` (borrowed pointers
 * into `obj`, valid while obj lives) and returns how many it wrote.
 */
typedef int (*informer_index_fn)(const json_t *obj, const char **out, int cap);

/* Counters for metrics; read with informer_get_stats(). */
struct informer_stats {
    unsigned long lists;          /* successful lists */
    unsigned long list_failures;  /* failed list attempts */
    unsigned long watches;        /* watch streams opened */
    unsigned long watch_restarts; /* watches that ended by error or timeout and were reopened */
    unsigned long gone;           /* 410 Gone → relist */
    unsigned long events;         /* ADDED/MODIFIED/DELETED applied */
    size_t objects;               /* objects in the store */
};

struct informer_options {
    const char *name;        /* for logs and metrics, e.g. "FlinkDeployment" (borrowed) */
    long backoff_initial_ms; /* default 200 */
    long backoff_max_ms;     /* default 30000 */
    /* Trims an object before it is stored: returns a new reference (may be `obj` increfed).
     * NULL keeps objects as they come. */
    json_t *(*transform)(json_t *obj);
};

/*
 * Creates an informer (not started). `lw` and `h` are copied; h may be NULL. Returns NULL when
 * out of memory. Caller frees with informer_free().
 */
informer *informer_new(const struct informer_lw *lw, const struct informer_handlers *h,
                       const struct informer_options *opts);

/* Adds an index named `name` (borrowed, must outlive the informer). Call before start. */
int informer_add_index(informer *inf, const char *name, informer_index_fn fn);

/* Starts the list+watch thread. Returns 0 or WEIR_ESTATE when already started. */
int informer_start(informer *inf);

/* Stops the thread (within about a second) and joins it. Idempotent. */
void informer_stop(informer *inf);

/* Stops (if needed) and frees. informer_free(NULL) does nothing. */
void informer_free(informer *inf);

/* True once the first list has been applied to the store. */
bool informer_has_synced(informer *inf);

/* Waits until synced or `timeout_ms` passed. Returns true when synced. */
bool informer_wait_synced(informer *inf, long timeout_ms);

/* The object with key "namespace/name" (or "name" when cluster-scoped): a fresh copy parsed
 * from the store (the caller owns it; changing it does not change the cache), or NULL. */
json_t *informer_get(informer *inf, const char *key);

/* Keys of objects whose index `name` has value `value`: a new JSON array of strings. */
json_t *informer_by_index(informer *inf, const char *name, const char *value);

/* Every key in the store: a new JSON array of strings (unspecified order). */
json_t *informer_keys(informer *inf);

void informer_get_stats(informer *inf, struct informer_stats *out);

/* The cache key of an object: "namespace/name" or "name". Returns 0 or WEIR_EINVAL. */
int informer_key_of(const json_t *obj, char *buf, size_t cap);

/* Index functions for common cases. */
int informer_index_owner_uid(const json_t *obj, const char **out, int cap);
int informer_index_namespace(const json_t *obj, const char **out, int cap);

#endif
