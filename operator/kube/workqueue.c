/*
 * workqueue.c - rate-limited delaying work queue (see workqueue.h).
 *
 * State, all under one mutex:
 *   ready      two FIFO rings of keys to hand out (lanes: events, timers), each entry with the
 *              time it became ready and a tag;
 *   dirty      keys that need processing (queued in a lane, or waiting for `done`) -> the tag
 *              of their live entry: a sequence number and the lane. A key moved from the timer
 *              lane to the event lane leaves a stale entry behind, skipped when popped;
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

/* Lanes of the ready queue. Keys added now (watch events, retries) go ahead of keys whose
 * requeue-after came due (periodic rechecks), as controller-runtime's priority queue lets
 * changes go ahead of resyncs; see workqueue_get() for the bound on starvation. */
enum { LANE_EVENT = 0, LANE_TIMER = 1, NLANES = 2 };

/* After this many event-lane keys in a row, a timer-lane key that has waited at least
 * TIMER_AGE_MS is handed out next, so timers get at least 1/(RUN+1) of the workers. */
#define EVENT_RUN    8
#define TIMER_AGE_MS 1000

struct ready_item {
    char *key; /* owned */
    long long ready_ms;
    uintptr_t tag; /* (seq << 1) | lane; live when equal to dirty[key] */
};

struct ring {
    struct ready_item *items;
    size_t head, len, cap;
    size_t live; /* entries whose tag is still the key's dirty tag */
};

struct delayed_item {
    char *key; /* owned; the index map's key is a separate copy */
    long long due_ms;
    int lane;   /* the lane it enters when due */
    size_t pos; /* slot in the heap */
};

struct workqueue {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* signalled on new ready keys, earlier delayed keys, done, shutdown */
    struct workqueue_options opts;

    struct ring ready[NLANES];
    uintptr_t seq; /* last tag sequence number */
    int event_run; /* event-lane keys handed out in a row while timer keys waited */

    strmap *dirty;      /* key -> (void *)tag */
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
    for (int l = 0; l < NLANES; l++) {
        struct ring *r = &q->ready[l];
        for (size_t i = 0; i < r->len; i++)
            free(r->items[(r->head + i) % r->cap].key);
        free(r->items);
    }
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

/* --- ready FIFOs ------------------------------------------------------------------------ */

static uintptr_t tag_lane(uintptr_t tag)
{
    return tag & 1u;
}

static int ring_push(struct ring *r, const char *key, uintptr_t tag)
{
    if (r->len == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 16;
        struct ready_item *n = malloc(ncap * sizeof(*n));
        if (n == NULL)
            return WEIR_ENOMEM;
        for (size_t i = 0; i < r->len; i++)
            n[i] = r->items[(r->head + i) % r->cap];
        free(r->items);
        r->items = n;
        r->cap = ncap;
        r->head = 0;
    }
    char *copy = strdup(key);
    if (copy == NULL)
        return WEIR_ENOMEM;
    r->items[(r->head + r->len) % r->cap] =
        (struct ready_item){.key = copy, .ready_ms = now_ms(), .tag = tag};
    r->len++;
    r->live++;
    return 0;
}

/* Drops stale entries at the head of `r`; true when a live one is left there. */
static bool ring_settle(workqueue *q, struct ring *r)
{
    while (r->len > 0) {
        struct ready_item *it = &r->items[r->head];
        if ((uintptr_t)strmap_get(q->dirty, it->key) == it->tag &&
            !strmap_has(q->processing, it->key))
            return true;
        free(it->key);
        r->head = (r->head + 1) % r->cap;
        r->len--;
    }
    return false;
}

static struct ready_item ring_pop(struct ring *r)
{
    struct ready_item it = r->items[r->head];
    r->head = (r->head + 1) % r->cap;
    r->len--;
    r->live--;
    return it;
}

/* Queues `key` in the lane of `tag`, which the caller has stored as dirty[key]. */
static int ready_push(workqueue *q, const char *key, uintptr_t tag)
{
    return ring_push(&q->ready[tag_lane(tag)], key, tag);
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

/* Inserts or moves `key` to be due at `due_ms` in `lane`, keeping the earlier of two due times
 * and the more urgent of two lanes. */
static int heap_schedule(workqueue *q, const char *key, long long due_ms, int lane)
{
    struct delayed_item *it = strmap_get(q->delayed_index, key);
    if (it != NULL) {
        if (lane < it->lane)
            it->lane = lane;
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
    it->lane = lane;
    it->pos = q->heap_len;
    q->heap[q->heap_len++] = it;
    heap_up(q, it->pos);
    return 0;
}

/* --- core ------------------------------------------------------------------------------- */

static int add_locked(workqueue *q, const char *key, int lane)
{
    uintptr_t old = (uintptr_t)strmap_get(q->dirty, key);
    if (old != 0 && (int)tag_lane(old) <= lane)
        return 0; /* already queued at least as urgently */
    uintptr_t tag = (++q->seq << 1) | (uintptr_t)lane;
    int rc = strmap_put(q->dirty, key, (void *)tag, NULL);
    if (rc != 0)
        return rc;
    bool processing = strmap_has(q->processing, key);
    if (old != 0 && !processing)
        q->ready[tag_lane(old)].live--; /* its entry there is stale now */
    if (processing)
        return 0; /* queued again by workqueue_done() */
    rc = ready_push(q, key, tag);
    if (rc != 0) {
        if (old != 0) {
            /* keep the old entry live */
            (void)strmap_put(q->dirty, key, (void *)old, NULL);
            q->ready[tag_lane(old)].live++;
        } else {
            strmap_del(q->dirty, key);
        }
        return rc;
    }
    pthread_cond_signal(&q->cond);
    return 0;
}

/* Moves every delayed key that is due into its ready lane. */
static void promote_due(workqueue *q, long long now)
{
    while (q->heap_len > 0 && q->heap[0]->due_ms <= now) {
        struct delayed_item *it = heap_pop(q);
        /* On ENOMEM the key is dropped; the informer's resync will bring it back. */
        (void)add_locked(q, it->key, it->lane);
        free(it->key);
        free(it);
    }
}

int workqueue_add(workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    int rc = q->shutdown ? WEIR_ECLOSED : add_locked(q, key, LANE_EVENT);
    pthread_mutex_unlock(&q->mu);
    return rc;
}

static int add_after(workqueue *q, const char *key, long delay_ms, int lane)
{
    pthread_mutex_lock(&q->mu);
    int rc = WEIR_ECLOSED;
    if (!q->shutdown) {
        rc = heap_schedule(q, key, now_ms() + delay_ms, lane);
        /* Waiters may be sleeping until a later due time: let them recompute. */
        pthread_cond_broadcast(&q->cond);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

int workqueue_add_after(workqueue *q, const char *key, long delay_ms)
{
    if (delay_ms <= 0)
        return workqueue_add(q, key);
    /* a short requeue continues work in progress (the next step of a change, a conflict
     * retry); a long one is a periodic recheck */
    return add_after(q, key, delay_ms, delay_ms < WORKQUEUE_RECHECK_MS ? LANE_EVENT : LANE_TIMER);
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
    /* a retry is work that failed, not a recheck: it keeps the event lane */
    return add_after(q, key, delay, LANE_EVENT);
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
        bool ev = ring_settle(q, &q->ready[LANE_EVENT]);
        bool tm = ring_settle(q, &q->ready[LANE_TIMER]);
        if (ev || tm) {
            int lane = LANE_EVENT;
            if (!ev) {
                lane = LANE_TIMER;
            } else if (tm && q->event_run >= EVENT_RUN &&
                       now - q->ready[LANE_TIMER].items[q->ready[LANE_TIMER].head].ready_ms >=
                           TIMER_AGE_MS) {
                lane = LANE_TIMER; /* bounded starvation: an old timer key goes next */
            }
            q->event_run = lane == LANE_EVENT && tm ? q->event_run + 1 : 0;
            struct ring *r = &q->ready[lane];
            struct ready_item it = ring_pop(r);
            if (strmap_put(q->processing, it.key, (void *)1, NULL) != 0) {
                /* Out of memory: put it back and report; the caller retries. */
                r->head = (r->head + r->cap - 1) % r->cap;
                r->items[r->head] = it;
                r->len++;
                r->live++;
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
    uintptr_t tag = (uintptr_t)strmap_get(q->dirty, key);
    if (tag != 0 && !q->shutdown) {
        if (ready_push(q, key, tag) != 0)
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
    size_t n = q->ready[LANE_EVENT].live + q->ready[LANE_TIMER].live;
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
