/*
 * events.c - deduplicating Kubernetes event recorder (see events.h).
 *
 * The cache maps an event name to the count we last wrote; it is cleared when it reaches
 * CACHE_MAX entries (the names are deterministic, so a cold cache only costs one extra read).
 *
 * Layer: operator/kube. Depends on lib/strmap, lib/error, jansson.
 */
#include "operator/kube/events.h"

#include "lib/strmap.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_MAX    4096
#define NAME_MAX_LEN 253

struct event_recorder {
    struct event_ops ops;
    char *component;
    char *instance;
    long long (*wall_ms)(void);
    pthread_mutex_t mu;
    strmap *counts; /* "ns/name" -> (void *)(uintptr_t)count */
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
    strmap_free(rec->counts);
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

int events_record(event_recorder *rec, const json_t *object, const char *type, const char *reason,
                  const char *message, weir_error *err)
{
    char name[NAME_MAX_LEN + 1];
    events_name(object, type, reason, message, rec->component, name, sizeof(name));
    const char *ns = md_str(object, "namespace");
    char key[NAME_MAX_LEN + 256];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    char now[40];
    format_time(rec->wall_ms(), now, sizeof(now));

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
    json_t *ev = build_event(rec, object, name, type, reason, message, now);
    if (ev == NULL)
        return WEIR_ENOMEM;
    rc = rec->ops.create(rec->ops.ctx, ev, err);
    json_decref(ev);
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
