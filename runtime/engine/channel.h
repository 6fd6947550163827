/*
 * channel.h - bounded channels between subtasks of different chains.
 *
 * Every (producer subtask, consumer subtask) pair of an edge gets one channel. A channel owns a
 * fixed pool of batches: a producer takes a free batch (blocking while none is free — that is
 * backpressure), fills it, and pushes it; the consumer pops it, processes it and gives it back.
 * Control messages (watermarks, checkpoint barriers, end of input) travel in order with the
 * batches. Nothing grows without bound.
 *
 * All input channels of one consumer share the consumer's `rt_inbox` (a mutex and a condition
 * variable), so a consumer sleeps on one condition for all its inputs and can block single
 * channels while it aligns checkpoint barriers.
 *
 * Layer: runtime/engine. Depends on batch.h and pthreads.
 */
#ifndef WEIR_RT_CHANNEL_H
#define WEIR_RT_CHANNEL_H

#include "runtime/engine/batch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum rt_msg_kind {
    RT_MSG_BATCH,
    RT_MSG_WATERMARK,
    RT_MSG_BARRIER,
    RT_MSG_IDLE, /* the producer has had no rows for its idle timeout (Flink's WatermarkStatus) */
    RT_MSG_END
} rt_msg_kind;

typedef struct rt_msg {
    rt_msg_kind kind;
    rt_batch *batch; /* RT_MSG_BATCH: give it back with rt_channel_release() */
    int64_t value;   /* watermark, or checkpoint id */
    bool savepoint;  /* barrier of a savepoint */
} rt_msg;

typedef struct rt_inbox rt_inbox;
typedef struct rt_channel rt_channel;

/* An inbox for one consumer. Caller frees with rt_inbox_free() after its channels. */
rt_inbox *rt_inbox_new(void);
void rt_inbox_free(rt_inbox *ib);

/*
 * Creates a channel into `ib` with `slots` batches of `types` (capacity `rows`). Returns NULL
 * when out of memory. Caller frees with rt_channel_free() once both sides are done.
 */
rt_channel *rt_channel_new(rt_inbox *ib, const rt_type *types, uint32_t ncols, uint32_t slots,
                           uint32_t rows);
void rt_channel_free(rt_channel *ch);

/* Producer: a free, reset batch (blocks while none is free). NULL when the channel was
 * cancelled. */
rt_batch *rt_channel_acquire(rt_channel *ch);
/* Producer: sends a batch got from rt_channel_acquire (an empty one is just released). */
void rt_channel_push_batch(rt_channel *ch, rt_batch *b);
/* Producer: sends a control message (blocks while the queue is full). */
void rt_channel_push(rt_channel *ch, rt_msg_kind kind, int64_t value, bool savepoint);

/*
 * Consumer: waits until one of `chs` (not blocked[i]) has a message and pops it into *m;
 * *which gets the channel's index. Returns false when cancelled. `timeout_ms` > 0 bounds the
 * wait (then returns true with *which = -1 when nothing came).
 */
bool rt_inbox_pop(rt_inbox *ib, rt_channel **chs, uint32_t n, const bool *blocked,
                  int64_t timeout_ms, rt_msg *m, int *which);
/* Consumer: gives a batch back to its channel's pool. */
void rt_channel_release(rt_channel *ch, rt_batch *b);

/* Nanoseconds this thread has spent blocked as a producer (no free batch or a full queue):
 * backpressure. Never reset; readers take differences. */
extern _Thread_local uint64_t rt_channel_blocked_ns;

/* Wakes everybody waiting on the inbox's channels and makes all further waits fail. */
void rt_inbox_cancel(rt_inbox *ib);

#endif
