/*
 * workqueue.c - rate-limited delaying work queue (see workqueue.h).
 *
 * State, all under one mutex:
 *   ready      FIFO ring of keys to hand out, each with the time it became ready;
 *   dirty      keys that need processing (queued in `ready`, or waiting for `done`);
 *   processing keys held by a worker;
 *   delayed    min-heap by due time, plus an index key -> heap slot for dedupe;
 *   failures   key -> failure count for backoff.
 * Waiters sleep on a condition variable (CLOCK_MONOTONIC) until a key is ready or the earliest
 * delayed key is due; promotion of due keys happens inside workqueue_get(), so no timer thread
 * is needed.
 *
 * Layer: operator/kube. Depends on lib/strmap and lib/error.
 */
#include "operator/kube/workqueue.h"

#include "lib/error.h"
#include "lib/strmap.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ready_item {
    char *key; /* owned */
    long long ready_ms;
};

struct delayed_item {
    char *key; /* owned; the index map's key is a separate copy */
    long long due_ms;
    size_t pos; /* slot in the heap */
};

struct workqueue {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* signalled on new ready keys, earlier delayed keys, done, shutdown */
    struct workqueue_options opts;

    struct ready_item *ready;
    size_t ready_head, ready_len, ready_cap;

    strmap *dirty;      /* key -> (void *)1 */
    strmap *processing; /* key -> (void *)1 */

    struct delayed_item **heap;
    size_t heap_len, heap_cap;
    strmap *delayed_index; /* key -> struct delayed_item * */

    strmap *failures; /* key -> (void *)(uintptr_t)count */

    bool shutdown;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

workqueue *workqueue_new(const struct workqueue_options *opts)
{
    workqueue *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return NULL;
    q->opts.base_delay_ms = opts && opts->base_delay_ms > 0 ? opts->base_delay_ms : 5;
    q->opts.max_delay_ms = opts && opts->max_delay_ms > 0 ? opts->max_delay_ms : 300000;
    q->dirty = strmap_new();
    q->processing = strmap_new();
    q->delayed_index = strmap_new();
    q->failures = strmap_new();
    if (!q->dirty || !q->processing || !q->delayed_index || !q->failures)
        goto fail;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&q->mu, NULL);
    return q;
fail:
    strmap_free(q->dirty);
    strmap_free(q->processing);
    strmap_free(q->delayed_index);
    strmap_free(q->failures);
    free(q);
    return NULL;
}

void workqueue_free(workqueue *q)
{
    if (q == NULL)
        return;
    for (size_t i = 0; i < q->ready_len; i++)
        free(q->ready[(q->ready_head + i) % q->ready_cap].key);
    free(q->ready);
    for (size_t i = 0; i < q->heap_len; i++) {
        free(q->heap[i]->key);
        free(q->heap[i]);
    }
    free(q->heap);
    strmap_free(q->dirty);
    strmap_free(q->processing);
    strmap_free(q->delayed_index);
    strmap_free(q->failures);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

/* --- ready FIFO ------------------------------------------------------------------------- */

static int ready_push(workqueue *q, const char *key)
{
    if (q->ready_len == q->ready_cap) {
        size_t ncap = q->ready_cap ? q->ready_cap * 2 : 16;
        struct ready_item *n = malloc(ncap * sizeof(*n));
        if (n == NULL)
            return WEIR_ENOMEM;
        for (size_t i = 0; i < q->ready_len; i++)
            n[i] = q->ready[(q->ready_head + i) % q->ready_cap];
        free(q->ready);
        q->ready = n;
        q->ready_cap = ncap;
        q->ready_head = 0;
    }
    char *copy = strdup(key);
    if (copy == NULL)
        return WEIR_ENOMEM;
    q->ready[(q->ready_head + q->ready_len) % q->ready_cap] =
        (struct ready_item){.key = copy, .ready_ms = now_ms()};
    q->ready_len++;
    return 0;
}

static struct ready_item ready_pop(workqueue *q)
{
    struct ready_item it = q->ready[q->ready_head];
    q->ready_head = (q->ready_head + 1) % q->ready_cap;
    q->ready_len--;
    return it;
}

/* --- delayed min-heap ------------------------------------------------------------------- */

static void heap_swap(workqueue *q, size_t a, size_t b)
{
    struct delayed_item *t = q->heap[a];
    q->heap[a] = q->heap[b];
    q->heap[b] = t;
    q->heap[a]->pos = a;
    q->heap[b]->pos = b;
}

static void heap_up(workqueue *q, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (q->heap[parent]->due_ms <= q->heap[i]->due_ms)
            break;
        heap_swap(q, parent, i);
        i = parent;
    }
}

static void heap_down(workqueue *q, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->heap_len && q->heap[l]->due_ms < q->heap[m]->due_ms)
            m = l;
        if (r < q->heap_len && q->heap[r]->due_ms < q->heap[m]->due_ms)
            m = r;
        if (m == i)
            return;
        heap_swap(q, i, m);
        i = m;
    }
}

static struct delayed_item *heap_pop(workqueue *q)
{
    struct delayed_item *top = q->heap[0];
    q->heap_len--;
    if (q->heap_len > 0) {
        q->heap[0] = q->heap[q->heap_len];
        q->heap[0]->pos = 0;
        heap_down(q, 0);
    }
    strmap_del(q->delayed_index, top->key);
    return top;
}

/* Inserts or moves `key` to be due at `due_ms`, keeping the earlier of two due times. */
static int heap_schedule(workqueue *q, const char *key, long long due_ms)
{
    struct delayed_item *it = strmap_get(q->delayed_index, key);
    if (it != NULL) {
        if (due_ms < it->due_ms) {
            it->due_ms = due_ms;
            heap_up(q, it->pos);
        }
        return 0;
    }
    if (q->heap_len == q->heap_cap) {
        size_t ncap = q->heap_cap ? q->heap_cap * 2 : 16;
        struct delayed_item **n = realloc(q->heap, ncap * sizeof(*n));
        if (n == NULL)
            return WEIR_ENOMEM;
        q->heap = n;
        q->heap_cap = ncap;
    }
    it = calloc(1, sizeof(*it));
    if (it == NULL)
        return WEIR_ENOMEM;
    it->key = strdup(key);
    if (it->key == NULL || strmap_put(q->delayed_index, key, it, NULL) != 0) {
        free(it->key);
        free(it);
        return WEIR_ENOMEM;
    }
    it->due_ms = due_ms;
    it->pos = q->heap_len;
    q->heap[q->heap_len++] = it;
    heap_up(q, it->pos);
    return 0;
}

/* --- core ------------------------------------------------------------------------------- */

static int add_locked(workqueue *q, const char *key)
{
    if (strmap_has(q->dirty, key))
        return 0;
    int rc = strmap_put(q->dirty, key, (void *)1, NULL);
    if (rc != 0)
        return rc;
    if (strmap_has(q->processing, key))
        return 0; /* queued again by workqueue_done() */
    rc = ready_push(q, key);
    if (rc != 0) {
        strmap_del(q->dirty, key);
        return rc;
    }
    pthread_cond_signal(&q->cond);
    return 0;
}

/* Moves every delayed key that is due into the ready queue. */
static void promote_due(workqueue *q, long long now)
{
    while (q->heap_len > 0 && q->heap[0]->due_ms <= now) {
        struct delayed_item *it = heap_pop(q);
        /* On ENOMEM the key is dropped; the informer's resync will bring it back. */
        (void)add_locked(q, it->key);
        free(it->key);
        free(it);
    }
}

int workqueue_add(workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    int rc = q->shutdown ? WEIR_ECLOSED : add_locked(q, key);
    pthread_mutex_unlock(&q->mu);
    return rc;
}

int workqueue_add_after(workqueue *q, const char *key, long delay_ms)
{
    if (delay_ms <= 0)
        return workqueue_add(q, key);
    pthread_mutex_lock(&q->mu);
    int rc = WEIR_ECLOSED;
    if (!q->shutdown) {
        rc = heap_schedule(q, key, now_ms() + delay_ms);
        /* Waiters may be sleeping until a later due time: let them recompute. */
        pthread_cond_broadcast(&q->cond);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

static long backoff_for(const workqueue *q, int failures)
{
    long d = q->opts.base_delay_ms;
    for (int i = 0; i < failures && d < q->opts.max_delay_ms; i++)
        d *= 2;
    return d < q->opts.max_delay_ms ? d : q->opts.max_delay_ms;
}

long workqueue_next_backoff_ms(workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    long d = backoff_for(q, (int)(uintptr_t)strmap_get(q->failures, key));
    pthread_mutex_unlock(&q->mu);
    return d;
}

int workqueue_add_rate_limited(workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    int failures = (int)(uintptr_t)strmap_get(q->failures, key);
    long delay = backoff_for(q, failures);
    int rc = strmap_put(q->failures, key, (void *)(uintptr_t)(failures + 1), NULL);
    pthread_mutex_unlock(&q->mu);
    if (rc != 0)
        return rc;
    return workqueue_add_after(q, key, delay);
}

void workqueue_forget(workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    strmap_del(q->failures, key);
    pthread_mutex_unlock(&q->mu);
}

int workqueue_num_requeues(workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    int n = (int)(uintptr_t)strmap_get(q->failures, key);
    pthread_mutex_unlock(&q->mu);
    return n;
}

static void deadline_from_ms(struct timespec *ts, long long mono_ms)
{
    ts->tv_sec = (time_t)(mono_ms / 1000);
    ts->tv_nsec = (long)(mono_ms % 1000) * 1000000L;
}

int workqueue_get(workqueue *q, char **key, long long *waited_ms)
{
    *key = NULL;
    pthread_mutex_lock(&q->mu);
    int rc = 0;
    for (;;) {
        if (q->shutdown) {
            rc = WEIR_ECLOSED;
            break;
        }
        long long now = now_ms();
        promote_due(q, now);
        if (q->ready_len > 0) {
            struct ready_item it = ready_pop(q);
            if (strmap_put(q->processing, it.key, (void *)1, NULL) != 0) {
                /* Out of memory: put it back and report; the caller retries. */
                q->ready_head = (q->ready_head + q->ready_cap - 1) % q->ready_cap;
                q->ready[q->ready_head] = it;
                q->ready_len++;
                rc = WEIR_ENOMEM;
                break;
            }
            strmap_del(q->dirty, it.key);
            if (waited_ms)
                *waited_ms = now - it.ready_ms;
            *key = it.key;
            break;
        }
        if (q->heap_len > 0) {
            struct timespec ts;
            deadline_from_ms(&ts, q->heap[0]->due_ms);
            pthread_cond_timedwait(&q->cond, &q->mu, &ts);
        } else {
            pthread_cond_wait(&q->cond, &q->mu);
        }
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

void workqueue_done(workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    strmap_del(q->processing, key);
    if (strmap_has(q->dirty, key) && !q->shutdown) {
        if (ready_push(q, key) != 0)
            strmap_del(q->dirty, key); /* ENOMEM: dropped; resync brings it back */
    }
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

void workqueue_shutdown(workqueue *q)
{
    pthread_mutex_lock(&q->mu);
    q->shutdown = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

int workqueue_wait_idle(workqueue *q, long timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    struct timespec ts;
    deadline_from_ms(&ts, deadline);
    pthread_mutex_lock(&q->mu);
    int rc = 0;
    while (strmap_len(q->processing) > 0) {
        if (now_ms() >= deadline) {
            rc = WEIR_ETIMEDOUT;
            break;
        }
        pthread_cond_timedwait(&q->cond, &q->mu, &ts);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

size_t workqueue_len(workqueue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->ready_len;
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t workqueue_delayed_len(workqueue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->heap_len;
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t workqueue_processing_len(workqueue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = strmap_len(q->processing);
    pthread_mutex_unlock(&q->mu);
    return n;
}
