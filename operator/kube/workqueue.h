/*
 * workqueue.h - the controller work queue: keys of objects to reconcile.
 *
 * The semantics of client-go's rate-limited delaying queue:
 * - a key is queued at most once (adding a queued key is a no-op);
 * - a key is held by at most one worker: a key added while a worker processes it is queued
 *   again only when that worker calls workqueue_done();
 * - delayed adds (requeue-after) keep the earliest due time per key;
 * - per-key exponential backoff for failures: base * 2^failures, capped, reset by forget;
 * - two lanes, as controller-runtime's priority queue: keys added now (watch events),
 *   failure retries and short requeues (under WORKQUEUE_RECHECK_MS: the next step of work in
 *   progress) go ahead of keys whose longer workqueue_add_after() came due (periodic
 *   rechecks), so a change is not stuck behind a thousand rechecks. A recheck waiting a second or
 * more is handed out after at most 8 event keys in a row, so events cannot starve rechecks.
 * Thread-safe; workers block in workqueue_get(). After workqueue_shutdown() no new work is
 * handed out (in-flight items finish; workqueue_wait_idle() waits for them).
 *
 * Layer: operator/kube (controller machinery). Depends on lib/ only; knows nothing of
 * Kubernetes objects — a key is any string ("namespace/name").
 */
#ifndef WEIR_WORKQUEUE_H
#define WEIR_WORKQUEUE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct workqueue workqueue;

/* A workqueue_add_after() delay from which on the key is a periodic recheck (timer lane). */
#define WORKQUEUE_RECHECK_MS 1000

struct workqueue_options {
    long base_delay_ms; /* first backoff delay (default 5 ms, as client-go) */
    long max_delay_ms;  /* backoff cap (default 300000 ms) */
};

/* Creates a queue; opts may be NULL for defaults. Caller frees with workqueue_free(). */
workqueue *workqueue_new(const struct workqueue_options *opts);

/* Frees the queue. Call only after every worker has returned. workqueue_free(NULL) is a no-op. */
void workqueue_free(workqueue *q);

/* Queues `key` now (copied). Returns 0, WEIR_ENOMEM, or WEIR_ECLOSED after shutdown. */
int workqueue_add(workqueue *q, const char *key);

/* Queues `key` after `delay_ms` (<= 0 means now). Keeps the earliest due time per key. */
int workqueue_add_after(workqueue *q, const char *key, long delay_ms);

/* Queues `key` after its backoff delay and counts a failure for it. */
int workqueue_add_rate_limited(workqueue *q, const char *key);

/* The backoff delay the next workqueue_add_rate_limited(key) would use, in ms. */
long workqueue_next_backoff_ms(workqueue *q, const char *key);

/* Resets the failure count of `key` (call after a successful reconcile). */
void workqueue_forget(workqueue *q, const char *key);

/* Number of failures counted for `key` since the last forget. */
int workqueue_num_requeues(workqueue *q, const char *key);

/*
 * Blocks until a key is ready, then marks it processing and returns it in *key (caller frees
 * with free() after calling workqueue_done()). *waited_ms (optional) receives how long the key
 * waited in the ready queue. Returns 0, or WEIR_ECLOSED once the queue is shut down.
 */
int workqueue_get(workqueue *q, char **key, long long *waited_ms);

/* Marks `key` done; if it was added again meanwhile it is queued again now. */
void workqueue_done(workqueue *q, const char *key);

/* Stops handing out work: blocked and future workqueue_get() calls return WEIR_ECLOSED. */
void workqueue_shutdown(workqueue *q);

/* Waits until no key is processing, at most `timeout_ms`. Returns 0 or WEIR_ETIMEDOUT. */
int workqueue_wait_idle(workqueue *q, long timeout_ms);

/* Keys ready now (the queue depth). */
size_t workqueue_len(workqueue *q);

/* Keys waiting for a delayed add. */
size_t workqueue_delayed_len(workqueue *q);

/* Keys being processed. */
size_t workqueue_processing_len(workqueue *q);

#endif
