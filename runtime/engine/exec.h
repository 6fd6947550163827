/*
 * exec.h - the task executor: runs the subtasks of a plan that are placed in this process,
 * one thread per subtask, chains as direct calls, bounded channels between chains.
 *
 * The local runner (job.c) places every subtask here; a TaskManager places the subtasks of its
 * slots (slot i runs subtask i of every chain) and connects the edges that cross processes
 * through the hooks: `remote_out` gives the channel a local producer writes into for a consumer
 * elsewhere, and rt_exec_input() the channel a network receiver feeds for a producer elsewhere.
 *
 * Snapshots: the coordinator's request reaches the executor with rt_exec_trigger(); sources
 * inject the barrier, other subtasks snapshot when aligned (waiting for the request when the
 * barrier overtook it) and every subtask acknowledges through the `ack` hook.
 *
 * Layer: runtime/engine. Depends on graph, channels, operators, state, storage.
 */
#ifndef WEIR_RT_EXEC_H
#define WEIR_RT_EXEC_H

#include "lib/error.h"
#include "runtime/engine/channel.h"
#include "runtime/engine/coord.h"
#include "runtime/engine/graph.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct rt_exec rt_exec;

typedef struct rt_exec_hooks {
    void *ud;
    /* Subtask `subtask` of `chain` acknowledged snapshot `id` with its operators' states
     * (uid -> object); the callee owns `states`. Called on the subtask's thread. */
    void (*ack)(void *ud, uint64_t id, uint32_t chain, uint32_t subtask, json_t *states);
    /* A channel into input channel `s` of consumer subtask `t` of chain `d`, which runs
     * elsewhere (`s` is the producer subtask numbered across d's inputs: rt_chain_input.first
     * + subtask, so for a single input just the producer subtask); owned by the callee, valid until
     * rt_exec_free() returns. NULL when out of memory. Required when `local` leaves subtasks out.
     */
    rt_channel *(*remote_out)(void *ud, uint32_t d, uint32_t t, uint32_t s, const rt_schema *out);
} rt_exec_hooks;

typedef struct rt_exec_config {
    const char *local_dir;     /* working directory of this attempt (state backends) */
    const char *state_backend; /* "hashmap" or "rocksdb" */
    size_t state_cache_bytes;
    const bool *local; /* [graph max_slots]: slots placed here; NULL: all */
    rt_exec_hooks hooks;
} rt_exec_config;

/* Builds the local subtasks and channels. `p`, `g` are borrowed and must outlive the executor. */
int rt_exec_new(const rt_plan *p, const rt_graph *g, const rt_exec_config *c, rt_exec **out,
                weir_error *err) WEIR_MUST_CHECK;

/* Restores the local subtasks' operators from a snapshot's metadata (rt_snapshot_load). */
int rt_exec_restore(rt_exec *x, const json_t *meta, const char *root, const char *path,
                    weir_error *err) WEIR_MUST_CHECK;

/* Starts the subtask threads. */
int rt_exec_start(rt_exec *x, weir_error *err) WEIR_MUST_CHECK;

/* Input channel `s` (rt_chain_input.first + producer subtask) of local consumer subtask `t` of
 * chain `d`;
 * NULL when that consumer is not local or the indexes are out of range. */
rt_channel *rt_exec_input(rt_exec *x, uint32_t d, uint32_t t, uint32_t s);

/* The schema of the rows chain `d` receives (NULL for a source chain or a bad index). */
const rt_schema *rt_exec_input_schema(const rt_exec *x, uint32_t d);

/* Hands a snapshot request to the subtasks (sources inject its barrier). */
void rt_exec_trigger(rt_exec *x, const rt_snap_req *r);
/* Checkpoint `id` completed: operators are notified (sinks commit). */
void rt_exec_notify_complete(rt_exec *x, uint64_t id);

/* Fails the executor: every subtask stops (first error wins). Thread-safe. */
void rt_exec_fail(rt_exec *x, const weir_error *e);
/* True once failed; *e (may be NULL) gets the first error. */
bool rt_exec_failed(rt_exec *x, weir_error *e);
/* True when every local subtask has ended. */
bool rt_exec_done(rt_exec *x);
/* True once a local source has reached its end. */
bool rt_exec_source_finished(rt_exec *x);
/* Number of local subtasks. */
uint32_t rt_exec_ntasks(const rt_exec *x);

/* Per-chain counters of the local subtasks, summed: rows in at the head, rows out at the tail. */
typedef struct rt_exec_counts {
    uint64_t rows_in, rows_out, late_dropped;
    uint64_t busy_ns, backpressured_ns; /* time spent processing / waiting for output slots */
    uint32_t running, finished;         /* local subtasks of the chain by state */
    int64_t watermark;                  /* minimum output watermark of the chain's tails */
} rt_exec_counts;
void rt_exec_chain_counts(rt_exec *x, uint32_t chain, rt_exec_counts *out);

/* Stops every subtask (when still running), joins the threads and frees everything. */
void rt_exec_free(rt_exec *x);

#endif
