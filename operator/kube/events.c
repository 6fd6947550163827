/*
 * events.c - deduplicating Kubernetes event recorder (see events.h).
 *
 * The cache maps an event name to the count we last wrote; it is cleared when it reaches
 * CACHE_MAX entries (the names are deterministic, so a cold cache only costs one extra read).
 *
 * Started (events_start), the recorder is asynchronous like client-go's broadcaster: a record
 * is built at once and queued (at most QUEUE_MAX; beyond that it is dropped and counted), and
 * one sender thread writes the queue in order. Stopped without draining, queued records are
 * discarded: a replica that lost its lease never writes.
 *
 * Layer: operator/kube. Depends on lib/strmap, lib/json, lib/log, lib/error, jansson.
 */
#include "operator/kube/events.h"

#include "lib/json.h"
#include "lib/log.h"
#include "lib/strmap.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_MAX    4096
#define NAME_MAX_LEN 253
#define QUEUE_MAX    4096

/* One event to write: the event object as created first, and what a count bump needs. */
struct pending {
    json_t *event; /* owned */
    char now[40];
    struct pending *next;
};

struct event_recorder {
    struct event_ops ops;
    char *component;
    char *instance;
    long long (*wall_ms)(void);
    pthread_mutex_t mu;
    strmap *counts; /* "ns/name" -> (void *)(uintptr_t)count */

    /* asynchronous mode (under mu) */
    pthread_cond_t cv; /* queue changed, or stop */
    pthread_t sender;
    bool started, stopping, sending;
    struct pending *head, *tail; /* owned */
    size_t queued;
    unsigned long dropped, failed;
};

static long long real_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

event_recorder *events_new(const struct event_ops *ops, const char *component, const char *instance,
                           long long (*wall_ms)(void))
{
    event_recorder *rec = calloc(1, sizeof(*rec));
    if (rec == NULL)
        return NULL;
    pthread_mutex_init(&rec->mu, NULL);
    pthread_cond_init(&rec->cv, NULL);
    rec->ops = *ops;
    rec->component = strdup(component ? component : "weir-operator");
    rec->instance = strdup(instance ? instance : "");
    rec->counts = strmap_new();
    rec->wall_ms = wall_ms ? wall_ms : real_wall_ms;
    if (!rec->component || !rec->instance || !rec->counts) {
        events_free(rec);
        return NULL;
    }
    return rec;
}

void events_free(event_recorder *rec)
{
    if (rec == NULL)
        return;
    events_stop(rec, 0);
    strmap_free(rec->counts);
    pthread_cond_destroy(&rec->cv);
    free(rec->component);
    free(rec->instance);
    pthread_mutex_destroy(&rec->mu);
    free(rec);
}

static const char *md_str(const json_t *object, const char *key)
{
    const char *s = json_string_value(json_object_get(json_object_get(object, "metadata"), key));
    return s ? s : "";
}

static unsigned long long fnv1a(unsigned long long h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    h ^= 0xff; /* field separator, so ("ab","c") and ("a","bc") differ */
    h *= 1099511628211ULL;
    return h;
}

void events_name(const json_t *object, const char *type, const char *reason, const char *message,
                 const char *component, char *buf, size_t cap)
{
    unsigned long long h = 1469598103934665603ULL;
    h = fnv1a(h, md_str(object, "uid"));
    h = fnv1a(h, type);
    h = fnv1a(h, reason);
    h = fnv1a(h, message);
    h = fnv1a(h, component);
    /* Keep the whole name within 253 characters: trim the object name if needed. */
    const char *name = md_str(object, "name");
    int keep = (int)strlen(name);
    if (keep > NAME_MAX_LEN - 17)
        keep = NAME_MAX_LEN - 17;
    snprintf(buf, cap, "%.*s.%016llx", keep, name, h);
}

static void format_time(long long ms, char *buf, size_t cap)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *build_event(event_recorder *rec, const json_t *object, const char *name,
                           const char *type, const char *reason, const char *message,
                           const char *now)
{
    const char *api = json_string_value(json_object_get(object, "apiVersion"));
    const char *kind = json_string_value(json_object_get(object, "kind"));
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:s, s:s, s:s, "
                     "s:{s:s, s:s}, s:s, s:s, s:i, s:s, s:s, s:s}",
                     "apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace",
                     md_str(object, "namespace"), "involvedObject", "apiVersion", api ? api : "",
                     "kind", kind ? kind : "", "name", md_str(object, "name"), "namespace",
                     md_str(object, "namespace"), "uid", md_str(object, "uid"), "resourceVersion",
                     md_str(object, "resourceVersion"), "type", type, "reason", reason, "message",
                     message, "source", "component", rec->component, "host", rec->instance,
                     "firstTimestamp", now, "lastTimestamp", now, "count", 1, "reportingComponent",
                     rec->component, "reportingInstance", rec->instance, "action", reason);
}

static int bump(event_recorder *rec, const char *ns, const char *name, long count, const char *now,
                weir_error *err)
{
    json_t *patch = json_pack("{s:I, s:s}", "count", (json_int_t)count, "lastTimestamp", now);
    if (patch == NULL)
        return WEIR_ENOMEM;
    int rc = rec->ops.patch(rec->ops.ctx, ns, name, patch, err);
    json_decref(patch);
    return rc;
}

static void remember(event_recorder *rec, const char *key, long count)
{
    pthread_mutex_lock(&rec->mu);
    if (strmap_len(rec->counts) >= CACHE_MAX && !strmap_has(rec->counts, key)) {
        strmap_free(rec->counts);
        rec->counts = strmap_new();
    }
    if (rec->counts)
        strmap_put(rec->counts, key, (void *)(uintptr_t)count, NULL);
    pthread_mutex_unlock(&rec->mu);
}

/* Writes one event: a count bump when we know it, else a create (or, when it exists from
 * before a restart, a bump of its count). */
static int send_event(event_recorder *rec, const json_t *ev, const char *now, weir_error *err)
{
    const char *ns = md_str(ev, "namespace");
    const char *name = md_str(ev, "name");
    char key[NAME_MAX_LEN + 256];
    snprintf(key, sizeof(key), "%s/%s", ns, name);

    pthread_mutex_lock(&rec->mu);
    long known = rec->counts ? (long)(uintptr_t)strmap_get(rec->counts, key) : 0;
    pthread_mutex_unlock(&rec->mu);

    int rc;
    if (known > 0) {
        rc = bump(rec, ns, name, known + 1, now, err);
        if (rc == 0) {
            remember(rec, key, known + 1);
            return 0;
        }
        if (rc != WEIR_ENOTFOUND)
            return rc;
        /* Expired by the apiserver's event TTL: write it anew below. */
    }
    rc = rec->ops.create(rec->ops.ctx, ev, err);
    if (rc == 0) {
        remember(rec, key, 1);
        return 0;
    }
    if (rc != WEIR_EEXIST)
        return rc;
    /* Written before (e.g. by us before a restart): continue its count. */
    json_t *existing = NULL;
    rc = rec->ops.get(rec->ops.ctx, ns, name, &existing, err);
    if (rc != 0)
        return rc;
    long count = (long)json_integer_value(json_object_get(existing, "count"));
    json_decref(existing);
    rc = bump(rec, ns, name, (count > 0 ? count : 1) + 1, now, err);
    if (rc == 0)
        remember(rec, key, (count > 0 ? count : 1) + 1);
    return rc;
}

static void *sender_main(void *arg)
{
    event_recorder *rec = arg;
    pthread_mutex_lock(&rec->mu);
    for (;;) {
        while (!rec->head && !rec->stopping)
            pthread_cond_wait(&rec->cv, &rec->mu);
        if (!rec->head)
            break; /* stopping, nothing left */
        struct pending *p = rec->head;
        rec->head = p->next;
        if (!rec->head)
            rec->tail = NULL;
        rec->queued--;
        rec->sending = true;
        pthread_mutex_unlock(&rec->mu);
        weir_error err = {0};
        int rc = send_event(rec, p->event, p->now, &err);
        if (rc)
            log_warn("cannot write event", "reason",
                     json_string_value(json_object_get(p->event, "reason")), "object",
                     json_string_value(json_path_get(p->event, "involvedObject.name")), "error",
                     err.msg[0] ? err.msg : weir_strerror(rc));
        json_decref(p->event);
        free(p);
        pthread_mutex_lock(&rec->mu);
        rec->sending = false;
        if (rc)
            rec->failed++;
        pthread_cond_broadcast(&rec->cv);
    }
    pthread_mutex_unlock(&rec->mu);
    return NULL;
}

int events_start(event_recorder *rec)
{
    pthread_mutex_lock(&rec->mu);
    int rc = 0;
    if (!rec->started) {
        rec->stopping = false;
        if (pthread_create(&rec->sender, NULL, sender_main, rec) != 0)
            rc = WEIR_ENOMEM;
        else
            rec->started = true;
    }
    pthread_mutex_unlock(&rec->mu);
    return rc;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int events_stop(event_recorder *rec, long drain_ms)
{
    pthread_mutex_lock(&rec->mu);
    if (!rec->started) {
        pthread_mutex_unlock(&rec->mu);
        return 0;
    }
    long long deadline = mono_ms() + (drain_ms > 0 ? drain_ms : 0);
    while ((rec->head || rec->sending) && mono_ms() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&rec->cv, &rec->mu, &ts);
    }
    int rc = rec->head ? WEIR_ETIMEDOUT : 0;
    /* what is left is discarded: the sender finishes the write in flight and exits */
    while (rec->head) {
        struct pending *p = rec->head;
        rec->head = p->next;
        json_decref(p->event);
        free(p);
    }
    rec->tail = NULL;
    rec->queued = 0;
    rec->stopping = true;
    pthread_cond_broadcast(&rec->cv);
    pthread_mutex_unlock(&rec->mu);
    pthread_join(rec->sender, NULL);
    pthread_mutex_lock(&rec->mu);
    rec->started = false;
    pthread_mutex_unlock(&rec->mu);
    return rc;
}

void events_stats(event_recorder *rec, size_t *queued, unsigned long *dropped,
                  unsigned long *failed)
{
    pthread_mutex_lock(&rec->mu);
    if (queued)
        *queued = rec->queued;
    if (dropped)
        *dropped = rec->dropped;
    if (failed)
        *failed = rec->failed;
    pthread_mutex_unlock(&rec->mu);
}

int events_record(event_recorder *rec, const json_t *object, const char *type, const char *reason,
                  const char *message, weir_error *err)
{
    char name[NAME_MAX_LEN + 1];
    events_name(object, type, reason, message, rec->component, name, sizeof(name));
    char now[40];
    format_time(rec->wall_ms(), now, sizeof(now));
    json_t *ev = build_event(rec, object, name, type, reason, message, now);
    if (ev == NULL)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");

    pthread_mutex_lock(&rec->mu);
    if (!rec->started || rec->stopping) {
        pthread_mutex_unlock(&rec->mu);
        int rc = send_event(rec, ev, now, err);
        json_decref(ev);
        return rc;
    }
    if (rec->queued >= QUEUE_MAX) {
        unsigned long d = ++rec->dropped;
        pthread_mutex_unlock(&rec->mu);
        json_decref(ev);
        return weir_error_set(err, WEIR_ETOOBIG,
                              "event queue full (%d events waiting): event dropped (%lu so far)",
                              QUEUE_MAX, d);
    }
    struct pending *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        pthread_mutex_unlock(&rec->mu);
        json_decref(ev);
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    }
    p->event = ev;
    snprintf(p->now, sizeof(p->now), "%s", now);
    if (rec->tail)
        rec->tail->next = p;
    else
        rec->head = p;
    rec->tail = p;
    rec->queued++;
    pthread_cond_broadcast(&rec->cv);
    pthread_mutex_unlock(&rec->mu);
    return 0;
}
