/*
 * channel.c - bounded channels with batch pools (see channel.h).
 *
 * Layer: runtime/engine.
 */
#include "runtime/engine/channel.h"

#include "lib/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

struct rt_inbox {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* signalled on every push, release and cancel */
    bool cancelled;
    uint32_t rr; /* round-robin start for fairness between inputs */
};

struct rt_channel {
    rt_inbox *ib;
    uint32_t slots;
    rt_batch **pool;  /* all batches (owned) */
    rt_batch **free_; /* stack of free batches */
    uint32_t nfree;
    rt_msg *q; /* ring of 2*slots messages (control messages need room too) */
    uint32_t qcap, head, len;
};

rt_inbox *rt_inbox_new(void)
{
    rt_inbox *ib = calloc(1, sizeof(*ib));
    if (!ib)
        return NULL;
    pthread_mutex_init(&ib->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ib->cond, &ca);
    pthread_condattr_destroy(&ca);
    return ib;
}

void rt_inbox_free(rt_inbox *ib)
{
    if (!ib)
        return;
    pthread_mutex_destroy(&ib->mu);
    pthread_cond_destroy(&ib->cond);
    free(ib);
}

rt_channel *rt_channel_new(rt_inbox *ib, const rt_type *types, uint32_t ncols, uint32_t slots,
                           uint32_t rows)
{
    rt_channel *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return NULL;
    ch->ib = ib;
    ch->slots = slots;
    ch->qcap = slots * 2 + 4;
    ch->pool = calloc(slots, sizeof(rt_batch *));
    ch->free_ = calloc(slots, sizeof(rt_batch *));
    ch->q = calloc(ch->qcap, sizeof(rt_msg));
    if (!ch->pool || !ch->free_ || !ch->q)
        goto fail;
    for (uint32_t i = 0; i < slots; i++) {
        if (!(ch->pool[i] = rt_batch_new_types(types, ncols, rows)))
            goto fail;
        ch->free_[ch->nfree++] = ch->pool[i];
    }
    return ch;
fail:
    rt_channel_free(ch);
    return NULL;
}

void rt_channel_free(rt_channel *ch)
{
    if (!ch)
        return;
    if (ch->pool)
        for (uint32_t i = 0; i < ch->slots; i++)
            rt_batch_free(ch->pool[i]);
    free(ch->pool);
    free(ch->free_);
    free(ch->q);
    free(ch);
}

_Thread_local uint64_t rt_channel_blocked_ns;

rt_batch *rt_channel_acquire(rt_channel *ch)
{
    rt_inbox *ib = ch->ib;
    pthread_mutex_lock(&ib->mu);
    if (ch->nfree == 0 && !ib->cancelled) {
        uint64_t t0 = clock_mono_ns();
        while (ch->nfree == 0 && !ib->cancelled)
            pthread_cond_wait(&ib->cond, &ib->mu);
        rt_channel_blocked_ns += clock_mono_ns() - t0;
    }
    rt_batch *b = ib->cancelled ? NULL : ch->free_[--ch->nfree];
    pthread_mutex_unlock(&ib->mu);
    if (b)
        rt_batch_reset(b);
    return b;
}

static void enqueue_locked(rt_channel *ch, rt_msg m)
{
    rt_inbox *ib = ch->ib;
    if (ch->len == ch->qcap && !ib->cancelled) {
        uint64_t t0 = clock_mono_ns();
        while (ch->len == ch->qcap && !ib->cancelled)
            pthread_cond_wait(&ib->cond, &ib->mu);
        rt_channel_blocked_ns += clock_mono_ns() - t0;
    }
    if (ib->cancelled)
        return;
    ch->q[(ch->head + ch->len) % ch->qcap] = m;
    ch->len++;
    pthread_cond_broadcast(&ib->cond);
}

void rt_channel_push_batch(rt_channel *ch, rt_batch *b)
{
    rt_inbox *ib = ch->ib;
    pthread_mutex_lock(&ib->mu);
    if (b->n == 0 || ib->cancelled) {
        ch->free_[ch->nfree++] = b;
        pthread_cond_broadcast(&ib->cond);
    } else {
        enqueue_locked(ch, (rt_msg){.kind = RT_MSG_BATCH, .batch = b});
        if (ib->cancelled)
            ch->free_[ch->nfree++] = b;
    }
    pthread_mutex_unlock(&ib->mu);
}

void rt_channel_push(rt_channel *ch, rt_msg_kind kind, int64_t value, bool savepoint)
{
    pthread_mutex_lock(&ch->ib->mu);
    enqueue_locked(ch, (rt_msg){.kind = kind, .value = value, .savepoint = savepoint});
    pthread_mutex_unlock(&ch->ib->mu);
}

void rt_channel_release(rt_channel *ch, rt_batch *b)
{
    pthread_mutex_lock(&ch->ib->mu);
    ch->free_[ch->nfree++] = b;
    pthread_cond_broadcast(&ch->ib->cond);
    pthread_mutex_unlock(&ch->ib->mu);
}

bool rt_inbox_pop(rt_inbox *ib, rt_channel **chs, uint32_t n, const bool *blocked,
                  int64_t timeout_ms, rt_msg *m, int *which)
{
    struct timespec deadline;
    if (timeout_ms > 0) {
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (timeout_ms % 1000) * 1000000;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
    }
    pthread_mutex_lock(&ib->mu);
    for (;;) {
        if (ib->cancelled) {
            pthread_mutex_unlock(&ib->mu);
            return false;
        }
        for (uint32_t k = 0; k < n; k++) {
            uint32_t i = (ib->rr + k) % n;
            rt_channel *ch = chs[i];
            if (blocked && blocked[i])
                continue;
            if (ch->len > 0) {
                *m = ch->q[ch->head];
                ch->head = (ch->head + 1) % ch->qcap;
                ch->len--;
                ib->rr = i + 1;
                *which = (int)i;
                pthread_cond_broadcast(&ib->cond);
                pthread_mutex_unlock(&ib->mu);
                return true;
            }
        }
        if (timeout_ms > 0) {
            if (pthread_cond_timedwait(&ib->cond, &ib->mu, &deadline) == ETIMEDOUT) {
                pthread_mutex_unlock(&ib->mu);
                *which = -1;
                return true;
            }
        } else
            pthread_cond_wait(&ib->cond, &ib->mu);
    }
}

void rt_inbox_cancel(rt_inbox *ib)
{
    pthread_mutex_lock(&ib->mu);
    ib->cancelled = true;
    pthread_cond_broadcast(&ib->cond);
    pthread_mutex_unlock(&ib->mu);
}
