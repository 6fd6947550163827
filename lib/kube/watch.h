/*
 * kube/watch.h - decoder for Kubernetes watch streams: newline-delimited JSON events
 * `{"type": "ADDED|MODIFIED|DELETED|BOOKMARK|ERROR", "object": {...}}` arriving in arbitrary
 * chunks. Pure logic (no I/O), so it can be fuzzed; lib/kube/client feeds it from a streaming
 * HTTP request.
 *
 * An ERROR event ends the stream with an error that keeps the Status' reason and message:
 * code 410 (resourceVersion too old: "Expired"/"Gone") gives WEIR_EGONE, so the caller knows to
 * relist. A malformed event gives WEIR_EPARSE naming the event's ordinal number; an event
 * longer than the cap gives WEIR_ETOOBIG. After an error the decoder accepts nothing more.
 *
 * Layer: lib/kube. Depends on jansson and lib/error.
 */
#ifndef WEIR_KUBE_WATCH_H
#define WEIR_KUBE_WATCH_H

#include <jansson.h>
#include <stddef.h>

#include "lib/error.h"

typedef enum kube_watch_type {
    KUBE_WATCH_ADDED,
    KUBE_WATCH_MODIFIED,
    KUBE_WATCH_DELETED,
    KUBE_WATCH_BOOKMARK,
} kube_watch_type;

/* "ADDED", "MODIFIED", "DELETED" or "BOOKMARK". */
const char *kube_watch_type_name(kube_watch_type t);

/*
 * Receives one event. `object` is borrowed for the call (json_incref() to keep it). Return 0
 * to go on, non-zero to stop: the decoder then reports WEIR_ECANCELED.
 */
typedef int (*kube_watch_fn)(kube_watch_type type, json_t *object, void *userdata);

typedef struct kube_watch_decoder kube_watch_decoder;

/* Default cap on one event's size (the apiserver's own object limit is ~1.5 MiB in etcd). */
#define KUBE_WATCH_MAX_EVENT (16u * 1024u * 1024u)

/*
 * A decoder calling `fn` for each complete event. `max_event` 0 means KUBE_WATCH_MAX_EVENT.
 * Returns NULL when out of memory. Caller frees with kube_watch_decoder_free().
 */
kube_watch_decoder *kube_watch_decoder_new(size_t max_event, kube_watch_fn fn, void *userdata);

/* Frees the decoder. NULL is a no-op. */
void kube_watch_decoder_free(kube_watch_decoder *d);

/* Feeds `len` bytes; calls `fn` for each event completed by them. Returns 0 or an error. */
int kube_watch_decoder_feed(kube_watch_decoder *d, const char *data, size_t len,
                            weir_error *err) WEIR_MUST_CHECK;

/*
 * Ends the input. A complete last event without its newline is decoded; a partial one means
 * the stream was cut (WEIR_ECLOSED). Returns 0 or an error.
 */
int kube_watch_decoder_finish(kube_watch_decoder *d, weir_error *err) WEIR_MUST_CHECK;

/* resourceVersion of the last delivered event's object (BOOKMARKs too), or NULL. Borrowed. */
const char *kube_watch_decoder_resource_version(const kube_watch_decoder *d);

/* Number of events delivered so far. */
size_t kube_watch_decoder_events(const kube_watch_decoder *d);

/*
 * Fills `err` from a Kubernetes Status object (reason, message, code) and returns the WEIR_E*
 * code for it: 410 WEIR_EGONE, 409 WEIR_ECONFLICT or WEIR_EEXIST (AlreadyExists), 404
 * WEIR_ENOTFOUND, 422 WEIR_EINVAL, 401/403 WEIR_EFORBIDDEN, others WEIR_EHTTP. `fallback_status`
 * is used when the Status has no code. `context` (may be NULL) prefixes the message.
 */
int kube_status_error(const json_t *status, long fallback_status, const char *context,
                      weir_error *err);

#endif
