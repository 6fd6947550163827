/*
 * netchan.h - the data plane between TaskManagers: channels whose producer and consumer run in
 * different processes, one TCP connection per channel (docs/network.md).
 *
 * Outbound: rt_net_out owns a bounded local channel (4 batches, as every channel) that the
 * producer subtask writes into, and a sender thread that connects to the consumer's
 * TaskManager, says HELLO, and streams the channel's messages as frames. Inbound: rt_net runs
 * the TaskManager's data port; each accepted connection gets a receiver thread that checks the
 * HELLO against the deployed attempt and feeds the consumer's local channel.
 *
 * Flow control is a window per channel: the receiver takes a free batch of the consumer's
 * channel before it reads the next batch frame, so a slow consumer stops the reads, TCP's
 * window fills, the sender blocks, the outbound channel's 4 batches fill, and the producer
 * blocks — backpressure reaches the sources with bounded memory (at most 4 + 4 batches plus
 * socket buffers per channel). One connection per channel means barrier alignment, which stops
 * reading some channels, never blocks another channel.
 *
 * Layer: runtime/taskmanager. Depends on frame, channel, exec.
 */
#ifndef WEIR_RT_NETCHAN_H
#define WEIR_RT_NETCHAN_H

#include "lib/error.h"
#include "runtime/engine/exec.h"
#include "runtime/taskmanager/frame.h"

typedef struct rt_net rt_net;
typedef struct rt_net_out rt_net_out;

/* Called when a channel breaks (peer gone, malformed frame): the attempt must fail. */
typedef void (*rt_net_fail_fn)(void *ud, const weir_error *e);

/* Listens on bind_host:port (port 0: ephemeral) and accepts data connections. */
int rt_net_new(const char *bind_host, int port, rt_net **out, weir_error *err) WEIR_MUST_CHECK;
int rt_net_port(const rt_net *n);
#define RT_NET_MAX_TARGETS 64

/* Makes an attempt's executor the target of incoming connections for its job (replacing the
 * job's earlier attempt). WEIR_ETOOBIG beyond RT_NET_MAX_TARGETS jobs. */
int rt_net_set_target(rt_net *n, const char *job_id, uint32_t attempt, rt_exec *x,
                      rt_net_fail_fn fail, void *ud) WEIR_MUST_CHECK;
/* Detaches a job's target: closes its connections and joins their receivers. Call after the
 * executor was failed or finished, before freeing it. */
void rt_net_clear_target(rt_net *n, const char *job_id);
/* Frames received and rejected so far (metrics, tests). */
void rt_net_counts(rt_net *n, uint64_t *frames, uint64_t *bytes, uint64_t *rejected);
void rt_net_free(rt_net *n);

/* An outbound channel to `host`:`port` identified by `hello`; the sender starts at once and
 * retries the connection while the consumer is not deployed (up to connect_timeout_ms). */
rt_net_out *rt_net_out_new(const char *host, int port, const rt_frame_hello *hello,
                           const rt_schema *schema, int64_t connect_timeout_ms, rt_net_fail_fn fail,
                           void *ud);
rt_channel *rt_net_out_channel(rt_net_out *o);
/* True once the sender has sent END (or failed) and exited. */
bool rt_net_out_done(rt_net_out *o);
/* Bytes sent so far. */
uint64_t rt_net_out_bytes(rt_net_out *o);
/* Makes the sender and its producer stop waiting. */
void rt_net_out_cancel(rt_net_out *o);
/* Cancels (if running), joins and frees. */
void rt_net_out_free(rt_net_out *o);

#endif
