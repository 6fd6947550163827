/*
 * events.h - the event recorder: Kubernetes Events (core/v1) about our resources, with the
 * reasons upstream's operator uses, deduplicated with a count.
 *
 * An event's name is derived from what it says (involved object UID, type, reason, message,
 * component): `<object name>.<16 hex>`. Recording the same thing again increments `count` and
 * moves `lastTimestamp` with a merge patch instead of creating a new object — also after an
 * operator restart, because the name is the same. Events the apiserver already expired (1 h
 * TTL) are created afresh.
 *
 * Writes go through an ops table (lib/kube in production, a fake in tests). A recorder is
 * thread-safe; its cache of recent events is bounded.
 *
 * A new recorder writes in the caller's thread. After events_start() it is asynchronous, as
 * client-go's event broadcaster: events_record() queues the event (bounded) and returns, and
 * a sender thread writes the queue in order, so an event never adds an apiserver round trip
 * to a reconcile. Events are best effort either way: one queued when the process dies is lost.
 *
 * Layer: operator/kube. Depends on lib/ and jansson.
 */
#ifndef WEIR_EVENTS_H
#define WEIR_EVENTS_H

#include <jansson.h>

#include "lib/error.h"

typedef struct event_recorder event_recorder;

struct event_ops {
    void *ctx;
    /* Creates `event` (borrowed). WEIR_EEXIST when an event of that name exists. */
    int (*create)(void *ctx, const json_t *event, weir_error *err);
    /* Reads event `name` in `ns`; *event receives a new reference. */
    int (*get)(void *ctx, const char *ns, const char *name, json_t **event, weir_error *err);
    /* Applies a JSON merge patch (borrowed) to event `name`. WEIR_ENOTFOUND when gone. */
    int (*patch)(void *ctx, const char *ns, const char *name, const json_t *patch, weir_error *err);
};

/* Event types. */
#define EVENT_NORMAL  "Normal"
#define EVENT_WARNING "Warning"

/*
 * Creates a recorder. `component` is the reporting component (e.g. "weir-operator") and
 * `instance` the reporting instance (pod name); both copied. `wall_ms` may be NULL (real
 * clock). Caller frees with events_free().
 */
event_recorder *events_new(const struct event_ops *ops, const char *component, const char *instance,
                           long long (*wall_ms)(void));

void events_free(event_recorder *rec);

/*
 * Records an event about `object` (borrowed; needs apiVersion, kind, metadata.name, namespace
 * and uid). `type` is EVENT_NORMAL or EVENT_WARNING, `reason` a CamelCase word (upstream's:
 * SpecChanged, Submit, Suspended, SavepointCreated, JobStatusChanged, ValidationError, ...),
 * `message` a sentence. Returns 0 or the error of the failed write (callers log it; an event
 * that cannot be written never fails a reconcile); asynchronous, 0 once queued, or
 * WEIR_ETOOBIG when the queue is full (the event is dropped).
 */
int events_record(event_recorder *rec, const json_t *object, const char *type, const char *reason,
                  const char *message, weir_error *err);

/* Starts the sender thread: events_record() queues from now on. Returns 0 or WEIR_ENOMEM. */
int events_start(event_recorder *rec) WEIR_MUST_CHECK;

/*
 * Waits up to `drain_ms` for the queue to be written (0: not at all), discards what is left and
 * stops the sender; later records are written synchronously. Returns 0, or WEIR_ETIMEDOUT when
 * records were discarded. events_free() stops without draining.
 */
int events_stop(event_recorder *rec, long drain_ms);

/* Events waiting, dropped because the queue was full, and failed writes (any may be NULL). */
void events_stats(event_recorder *rec, size_t *queued, unsigned long *dropped,
                  unsigned long *failed);

/* The deterministic event name for these inputs, written into buf. Exposed for tests. */
void events_name(const json_t *object, const char *type, const char *reason, const char *message,
                 const char *component, char *buf, size_t cap);

#endif
