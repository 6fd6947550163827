/*
 * informer.c - list + watch cache of one kind (see informer.h).
 *
 * One thread per informer runs run_loop(): list → replace the store → watch from the list's
 * resourceVersion → apply events; 410 Gone → relist; stream ended by the server → watch again
 * at once; errors → jittered exponential backoff, then watch again from the last version seen.
 * The store and indexes are guarded by one mutex; handlers run with it released.
 *
 * Layer: operator/kube. Depends on lib/strmap, lib/log, jansson.
 */
#include "operator/kube/informer.h"

#include "lib/log.h"
#include "lib/strmap.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_INDEX_VALUES 16
#define MAX_INDEXES      8
#define KEY_MAX          512

struct index {
    const char *name;
    informer_index_fn fn;
    strmap *values; /* index value -> strmap of keys (values (void *)1) */
};

struct informer {
    struct informer_lw lw;
    struct informer_handlers h;
    struct informer_options opts;

    pthread_mutex_t mu;
    pthread_cond_t synced_cond;
    strmap *store; /* key -> struct entry * (owned) */
    struct index indexes[MAX_INDEXES];
    int nindexes;
    bool synced;
    struct informer_stats stats;
    char *rv; /* last resourceVersion seen; owned by the informer thread */

    pthread_t thread;
    bool started;
    atomic_bool stop;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int informer_key_of(const json_t *obj, char *buf, size_t cap)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    if (name == NULL || name[0] == '\0')
        return WEIR_EINVAL;
    int n = ns && ns[0] ? snprintf(buf, cap, "%s/%s", ns, name) : snprintf(buf, cap, "%s", name);
    return n > 0 && (size_t)n < cap ? 0 : WEIR_EINVAL;
}

int informer_index_owner_uid(const json_t *obj, const char **out, int cap)
{
    const json_t *refs = json_object_get(json_object_get(obj, "metadata"), "ownerReferences");
    int n = 0;
    size_t i;
    const json_t *ref;
    json_array_foreach(refs, i, ref)
    {
        const char *uid = json_string_value(json_object_get(ref, "uid"));
        if (uid != NULL && n < cap)
            out[n++] = uid;
    }
    return n;
}

int informer_index_namespace(const json_t *obj, const char **out, int cap)
{
    const char *ns =
        json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
    if (ns == NULL || cap < 1)
        return 0;
    out[0] = ns;
    return 1;
}

informer *informer_new(const struct informer_lw *lw, const struct informer_handlers *h,
                       const struct informer_options *opts)
{
    informer *inf = calloc(1, sizeof(*inf));
    if (inf == NULL)
        return NULL;
    inf->store = strmap_new();
    if (inf->store == NULL) {
        free(inf);
        return NULL;
    }
    inf->lw = *lw;
    if (h)
        inf->h = *h;
    if (opts)
        inf->opts = *opts;
    if (inf->opts.name == NULL)
        inf->opts.name = "informer";
    if (inf->opts.backoff_initial_ms <= 0)
        inf->opts.backoff_initial_ms = 200;
    if (inf->opts.backoff_max_ms <= 0)
        inf->opts.backoff_max_ms = 30000;
    pthread_mutex_init(&inf->mu, NULL);
    pthread_cond_init(&inf->synced_cond, NULL);
    atomic_init(&inf->stop, false);
    return inf;
}

int informer_add_index(informer *inf, const char *name, informer_index_fn fn)
{
    if (inf->started || inf->nindexes == MAX_INDEXES)
        return WEIR_ESTATE;
    strmap *values = strmap_new();
    if (values == NULL)
        return WEIR_ENOMEM;
    inf->indexes[inf->nindexes++] = (struct index){.name = name, .fn = fn, .values = values};
    return 0;
}

/* --- store and indexes (callers hold inf->mu) ------------------------------------------- */

static void index_update(informer *inf, const char *key, const json_t *obj, bool add)
{
    for (int i = 0; i < inf->nindexes; i++) {
        struct index *ix = &inf->indexes[i];
        const char *vals[MAX_INDEX_VALUES];
        int n = ix->fn(obj, vals, MAX_INDEX_VALUES);
        for (int j = 0; j < n; j++) {
            strmap *keys = strmap_get(ix->values, vals[j]);
            if (add) {
                if (keys == NULL) {
                    keys = strmap_new();
                    if (keys == NULL || strmap_put(ix->values, vals[j], keys, NULL) != 0) {
                        strmap_free(keys);
                        log_error("informer index out of memory", "informer", inf->opts.name);
                        continue;
                    }
                }
                if (strmap_put(keys, key, (void *)1, NULL) != 0)
                    log_error("informer index out of memory", "informer", inf->opts.name);
            } else if (keys != NULL) {
                strmap_del(keys, key);
                if (strmap_len(keys) == 0)
                    strmap_free(strmap_del(ix->values, vals[j]));
            }
        }
    }
}

/*
 * What the store keeps of an object: its compact JSON text and its resourceVersion. A parsed
 * jansson tree of a FlinkDeployment with its status costs ~8.8 KiB, its text ~2.4 KiB (measured
 * with 1,000 of them; bench/results/operator.md), and the operator caches every resource and
 * child it watches. informer_get() parses a fresh copy, which also means no caller can change
 * what the cache holds.
 */
struct entry {
    char *text;
    char rv[40];
};

static const char *rv_of(const json_t *obj);

static struct entry *entry_new(const json_t *obj)
{
    struct entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->text = json_dumps(obj, JSON_COMPACT);
    if (!e->text) {
        free(e);
        return NULL;
    }
    const char *rv = rv_of(obj);
    snprintf(e->rv, sizeof(e->rv), "%s", rv ? rv : "");
    return e;
}

/* A new tree of the entry's object (NULL if `e` is NULL or out of memory). */
static json_t *entry_obj(const struct entry *e)
{
    return e ? json_loads(e->text, 0, NULL) : NULL;
}

static void entry_free(struct entry *e)
{
    if (e)
        free(e->text);
    free(e);
}

/* Stores `obj` (takes the reference) under `key`; returns the previous object (a new
 * reference) or NULL. */
static json_t *store_put(informer *inf, const char *key, json_t *obj)
{
    struct entry *e = entry_new(obj);
    void *old = NULL;
    if (!e || strmap_put(inf->store, key, e, &old) != 0) {
        entry_free(e);
        json_decref(obj);
        log_error("informer store out of memory", "informer", inf->opts.name, "key", key);
        return NULL;
    }
    json_t *prev = entry_obj(old);
    entry_free(old);
    if (prev)
        index_update(inf, key, prev, false);
    index_update(inf, key, obj, true);
    json_decref(obj);
    return prev;
}

/* Removes `key`; returns the removed object (a new reference) or NULL. */
static json_t *store_del(informer *inf, const char *key)
{
    struct entry *e = strmap_del(inf->store, key);
    json_t *old = entry_obj(e);
    entry_free(e);
    if (old)
        index_update(inf, key, old, false);
    return old;
}

static json_t *transform(informer *inf, json_t *obj)
{
    return inf->opts.transform ? inf->opts.transform(obj) : json_incref(obj);
}

static const char *rv_of(const json_t *obj)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

static void set_rv(informer *inf, const char *rv)
{
    if (rv == NULL || rv[0] == '\0')
        return;
    char *copy = strdup(rv);
    if (copy == NULL)
        return;
    free(inf->rv);
    inf->rv = copy;
}

/* --- applying a list and events ---------------------------------------------------------- */

struct pending {
    json_t *old_obj; /* owned references, either may be NULL */
    json_t *new_obj;
};

static void deliver(informer *inf, struct pending *p)
{
    if (p->old_obj && p->new_obj) {
        if (inf->h.on_update)
            inf->h.on_update(inf->h.arg, p->old_obj, p->new_obj);
    } else if (p->new_obj) {
        if (inf->h.on_add)
            inf->h.on_add(inf->h.arg, p->new_obj);
    } else if (p->old_obj) {
        if (inf->h.on_delete)
            inf->h.on_delete(inf->h.arg, p->old_obj);
    }
    json_decref(p->old_obj);
    json_decref(p->new_obj);
}

/* Replaces the store with a fresh list, delivering add/update/delete for the differences. */
static void apply_list(informer *inf, json_t *items)
{
    size_t n = json_array_size(items);
    size_t cap = n + 1;
    struct pending *ev = calloc(cap, sizeof(*ev));
    size_t nev = 0;
    strmap *seen = strmap_new();
    if (ev == NULL || seen == NULL) {
        log_error("informer out of memory applying a list", "informer", inf->opts.name);
        free(ev);
        strmap_free(seen);
        return;
    }

    pthread_mutex_lock(&inf->mu);
    size_t i;
    json_t *item;
    char key[KEY_MAX];
    json_array_foreach(items, i, item)
    {
        if (informer_key_of(item, key, sizeof(key)) != 0)
            continue;
        strmap_put(seen, key, (void *)1, NULL);
        const struct entry *cur = strmap_get(inf->store, key);
        const char *cur_rv = cur && cur->rv[0] ? cur->rv : NULL;
        const char *new_rv = rv_of(item);
        if (cur && cur_rv && new_rv && strcmp(cur_rv, new_rv) == 0)
            continue; /* unchanged */
        json_t *obj = transform(inf, item);
        if (obj == NULL)
            continue;
        json_t *old = store_put(inf, key, json_incref(obj));
        ev[nev++] = (struct pending){.old_obj = old, .new_obj = obj};
    }
    /* Objects that disappeared while we were not watching. */
    json_t *gone_keys = json_array();
    size_t it = 0;
    const char *k;
    while (strmap_next(inf->store, &it, &k, NULL))
        if (!strmap_has(seen, k))
            json_array_append_new(gone_keys, json_string(k));
    json_t *gk;
    json_array_foreach(gone_keys, i, gk)
    {
        json_t *old = store_del(inf, json_string_value(gk));
        if (nev == cap) {
            struct pending *grown = realloc(ev, (cap *= 2) * sizeof(*ev));
            if (grown == NULL) {
                json_decref(old);
                continue;
            }
            ev = grown;
        }
        ev[nev++] = (struct pending){.old_obj = old, .new_obj = NULL};
    }
    json_decref(gone_keys);
    inf->stats.lists++;
    inf->stats.objects = strmap_len(inf->store);
    bool first = !inf->synced;
    inf->synced = true;
    pthread_cond_broadcast(&inf->synced_cond);
    pthread_mutex_unlock(&inf->mu);

    for (size_t e = 0; e < nev; e++)
        deliver(inf, &ev[e]);
    free(ev);
    strmap_free(seen);
    if (first) {
        char count[32];
        snprintf(count, sizeof(count), "%zu", n);
        log_info("informer synced", "informer", inf->opts.name, "objects", count);
    }
}

static int on_watch_event(void *arg, const char *type, json_t *object)
{
    informer *inf = arg;
    if (atomic_load(&inf->stop))
        return 1;
    set_rv(inf, rv_of(object));
    if (strcmp(type, "BOOKMARK") == 0)
        return 0;
    char key[KEY_MAX];
    if (informer_key_of(object, key, sizeof(key)) != 0)
        return 0;
    struct pending p = {0};
    pthread_mutex_lock(&inf->mu);
    if (strcmp(type, "DELETED") == 0) {
        p.old_obj = store_del(inf, key);
    } else if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
        json_t *obj = transform(inf, object);
        if (obj != NULL) {
            p.old_obj = store_put(inf, key, json_incref(obj));
            p.new_obj = obj;
        }
    }
    inf->stats.events++;
    inf->stats.objects = strmap_len(inf->store);
    pthread_mutex_unlock(&inf->mu);
    deliver(inf, &p);
    return 0;
}

/* --- the loop ----------------------------------------------------------------------------- */

/* Sleeps `ms` in short slices so a stop request is noticed quickly. */
static void sleep_unless_stopped(informer *inf, long ms)
{
    long long until = now_ms() + ms;
    while (!atomic_load(&inf->stop) && now_ms() < until) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static long jittered(long d, unsigned *seed)
{
    return d / 2 + (long)(rand_r(seed) % (unsigned)(d / 2 + 1));
}

static void *run_loop(void *arg)
{
    informer *inf = arg;
    unsigned seed = (unsigned)now_ms() ^ (unsigned)(uintptr_t)inf;
    long backoff = inf->opts.backoff_initial_ms;
    bool need_list = true;
    weir_error err;
    while (!atomic_load(&inf->stop)) {
        if (need_list) {
            json_t *items = NULL;
            char *rv = NULL;
            weir_error_clear(&err);
            int rc = inf->lw.list(inf->lw.ctx, &items, &rv, &err);
            if (rc != 0) {
                pthread_mutex_lock(&inf->mu);
                inf->stats.list_failures++;
                pthread_mutex_unlock(&inf->mu);
                log_warn("informer list failed", "informer", inf->opts.name, "error",
                         err.msg[0] ? err.msg : weir_strerror(rc));
                json_decref(items);
                free(rv);
                sleep_unless_stopped(inf, jittered(backoff, &seed));
                backoff =
                    backoff * 2 < inf->opts.backoff_max_ms ? backoff * 2 : inf->opts.backoff_max_ms;
                continue;
            }
            apply_list(inf, items);
            json_decref(items);
            free(inf->rv);
            inf->rv = rv;
            need_list = false;
            backoff = inf->opts.backoff_initial_ms;
        }
        pthread_mutex_lock(&inf->mu);
        inf->stats.watches++;
        pthread_mutex_unlock(&inf->mu);
        weir_error_clear(&err);
        /* Events update inf->rv while the watch runs: hand the watch its own copy. */
        char *from = strdup(inf->rv ? inf->rv : "");
        if (from == NULL) {
            sleep_unless_stopped(inf, backoff);
            continue;
        }
        int rc = inf->lw.watch(inf->lw.ctx, from, on_watch_event, inf, &inf->stop, &err);
        free(from);
        if (atomic_load(&inf->stop))
            break;
        pthread_mutex_lock(&inf->mu);
        inf->stats.watch_restarts++;
        if (rc == WEIR_EGONE)
            inf->stats.gone++;
        pthread_mutex_unlock(&inf->mu);
        if (rc == WEIR_EGONE) {
            log_info("informer watch expired (410 Gone), relisting", "informer", inf->opts.name);
            need_list = true;
        } else if (rc == 0) {
            backoff = inf->opts.backoff_initial_ms; /* server timeout: watch again now */
        } else {
            log_warn("informer watch failed, retrying", "informer", inf->opts.name, "error",
                     err.msg[0] ? err.msg : weir_strerror(rc));
            sleep_unless_stopped(inf, jittered(backoff, &seed));
            backoff =
                backoff * 2 < inf->opts.backoff_max_ms ? backoff * 2 : inf->opts.backoff_max_ms;
        }
    }
    return NULL;
}

int informer_start(informer *inf)
{
    if (inf->started)
        return WEIR_ESTATE;
    atomic_store(&inf->stop, false);
    if (pthread_create(&inf->thread, NULL, run_loop, inf) != 0)
        return WEIR_ENOMEM;
    inf->started = true;
    return 0;
}

void informer_stop(informer *inf)
{
    if (!inf->started)
        return;
    atomic_store(&inf->stop, true);
    pthread_join(inf->thread, NULL);
    inf->started = false;
}

void informer_free(informer *inf)
{
    if (inf == NULL)
        return;
    informer_stop(inf);
    size_t it = 0;
    void *v;
    while (strmap_next(inf->store, &it, NULL, &v))
        entry_free(v);
    strmap_free(inf->store);
    for (int i = 0; i < inf->nindexes; i++) {
        it = 0;
        while (strmap_next(inf->indexes[i].values, &it, NULL, &v))
            strmap_free(v);
        strmap_free(inf->indexes[i].values);
    }
    free(inf->rv);
    pthread_cond_destroy(&inf->synced_cond);
    pthread_mutex_destroy(&inf->mu);
    free(inf);
}

bool informer_has_synced(informer *inf)
{
    pthread_mutex_lock(&inf->mu);
    bool s = inf->synced;
    pthread_mutex_unlock(&inf->mu);
    return s;
}

bool informer_wait_synced(informer *inf, long timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    pthread_mutex_lock(&inf->mu);
    while (!inf->synced) {
        long long left = deadline - now_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long long ns = ts.tv_nsec + (left < 100 ? left : 100) * 1000000LL;
        ts.tv_sec += (time_t)(ns / 1000000000LL);
        ts.tv_nsec = (long)(ns % 1000000000LL);
        pthread_cond_timedwait(&inf->synced_cond, &inf->mu, &ts);
    }
    bool s = inf->synced;
    pthread_mutex_unlock(&inf->mu);
    return s;
}

json_t *informer_get(informer *inf, const char *key)
{
    pthread_mutex_lock(&inf->mu);
    json_t *obj = entry_obj(strmap_get(inf->store, key));
    pthread_mutex_unlock(&inf->mu);
    return obj;
}

json_t *informer_by_index(informer *inf, const char *name, const char *value)
{
    json_t *out = json_array();
    if (out == NULL)
        return NULL;
    pthread_mutex_lock(&inf->mu);
    for (int i = 0; i < inf->nindexes; i++) {
        if (strcmp(inf->indexes[i].name, name) != 0)
            continue;
        strmap *keys = strmap_get(inf->indexes[i].values, value);
        size_t it = 0;
        const char *k;
        while (keys && strmap_next(keys, &it, &k, NULL))
            json_array_append_new(out, json_string(k));
    }
    pthread_mutex_unlock(&inf->mu);
    return out;
}

json_t *informer_keys(informer *inf)
{
    json_t *out = json_array();
    if (out == NULL)
        return NULL;
    pthread_mutex_lock(&inf->mu);
    size_t it = 0;
    const char *k;
    while (strmap_next(inf->store, &it, &k, NULL))
        json_array_append_new(out, json_string(k));
    pthread_mutex_unlock(&inf->mu);
    return out;
}

void informer_get_stats(informer *inf, struct informer_stats *out)
{
    pthread_mutex_lock(&inf->mu);
    *out = inf->stats;
    out->objects = strmap_len(inf->store);
    pthread_mutex_unlock(&inf->mu);
}
