/*
 * operator.h - the interface every physical operator implements, and how an operator hands its
 * output on: to the next operators of its chain (direct calls, no copy) and to partitioners
 * feeding channels to other chains.
 *
 * An operator instance belongs to one subtask thread. Input batches are read-only: an operator
 * that changes rows writes them into a batch of its own.
 *
 * Layer: runtime/engine. Operators (runtime/operators/) implement it; task.c drives it.
 */
#ifndef WEIR_RT_OPERATOR_H
#define WEIR_RT_OPERATOR_H

#include "lib/error.h"
#include "runtime/engine/batch.h"
#include "runtime/engine/channel.h"
#include "runtime/plan/plan.h"
#include "runtime/state/state.h"

#include <jansson.h>

#define RT_WATERMARK_MAX INT64_MAX
#define RT_WATERMARK_MIN INT64_MIN

typedef struct rt_op rt_op;
typedef struct rt_output rt_output;

/* What a snapshot writes to: the storage root and this operator subtask's directories. */
typedef struct rt_op_snapshot_ctx {
    rt_snapshot_kind kind;
    uint64_t checkpoint_id;
    const char *root;          /* absolute */
    const char *exclusive_dir; /* relative to root, created by the task */
    const char *shared_dir;    /* relative to root */
} rt_op_snapshot_ctx;

/* What a restore reads: this operator's entry of the checkpoint metadata. */
typedef struct rt_op_restore_ctx {
    const char *root;       /* absolute storage root of the snapshot */
    const json_t *subtasks; /* array: the old subtasks' state objects, by old index */
} rt_op_restore_ctx;

typedef struct rt_op_vt {
    /* Rows in. */
    int (*process)(rt_op *op, const rt_batch *in);
    /* The watermark advanced to `wm`; the operator fires what is due and must then forward it
     * with rt_op_emit_watermark(). NULL: forwarded as is. */
    int (*watermark)(rt_op *op, int64_t wm);
    /* A checkpoint barrier is about to pass: emit what must reach the consumers before it
     * (Flink's prepareSnapshotPreBarrier). Called in chain order, before any snapshot. NULL:
     * nothing buffered. */
    int (*pre_barrier)(rt_op *op);
    /* Writes this subtask's state into `out` (a JSON object it fills). NULL: stateless. */
    int (*snapshot)(rt_op *op, const rt_op_snapshot_ctx *c, json_t *out);
    /* Restores from an earlier snapshot. NULL: stateless. */
    int (*restore)(rt_op *op, const rt_op_restore_ctx *c);
    /* All input has arrived; emit what is pending (sinks flush). NULL: nothing to do. */
    int (*end_input)(rt_op *op);
    /* Checkpoint `id` completed everywhere. */
    void (*notify_complete)(rt_op *op, uint64_t id);
    /* Called by the task loop at least every 50 ms with the monotonic clock. NULL: no timers. */
    int (*tick)(rt_op *op, int64_t now_ms);
    void (*destroy)(rt_op *op);
} rt_op_vt;

struct rt_op {
    const rt_op_vt *vt;
    const rt_plan *plan;
    const rt_plan_op *pop; /* this operator in the plan */
    uint32_t subtask, parallelism;
    rt_op **next; /* chained successors */
    uint32_t nnext;
    rt_output **outs; /* partitioners to other chains */
    uint32_t nouts;
    rt_state *state; /* keyed state (aggregations), NULL otherwise */
    weir_error *err; /* the task's error slot */
    int64_t watermark;
    /* metrics */
    uint64_t rows_in, rows_out, late_dropped;
};

/* Hands rows to the chained successors and the partitioners. */
int rt_op_emit(rt_op *op, const rt_batch *b) WEIR_MUST_CHECK;
/* Hands a watermark on (successors' watermark handlers, then partitioners). */
int rt_op_emit_watermark(rt_op *op, int64_t wm) WEIR_MUST_CHECK;
/* Tells the consumers of this chain that its input is idle (they stop waiting for its
 * watermark until it sends one again). */
void rt_op_emit_idle(rt_op *op);

/* --- partitioners -------------------------------------------------------------------------- */

/* A partitioner owns nothing but its pending batches (taken from the target channels). */
rt_output *rt_output_new(rt_partition kind, const uint32_t *keys, uint32_t nkeys,
                         rt_channel **targets, uint32_t ntargets, uint32_t max_parallelism,
                         uint32_t self_index);
void rt_output_free(rt_output *o);
int rt_output_write(rt_output *o, const rt_batch *b) WEIR_MUST_CHECK;
/* Flushes pending rows, then sends the control message to every target. */
int rt_output_control(rt_output *o, rt_msg_kind kind, int64_t value, bool savepoint);

/* --- keys ---------------------------------------------------------------------------------- */

/* Encodes the key columns of row `row` into buf (see keys in docs/runtime.md). Returns the
 * length, or WEIR_ETOOBIG when it does not fit `cap`. */
int rt_key_encode(const rt_batch *b, uint32_t row, const uint32_t *keys, uint32_t nkeys,
                  uint8_t *buf, uint32_t cap);
/* Decodes an encoded key into columns [first, first+nkeys) of row `row` of `out` (strings
 * copied into out's arena). Returns 0 or WEIR_EPARSE / WEIR_ENOMEM. */
int rt_key_decode(const uint8_t *buf, uint32_t len, rt_batch *out, uint32_t row, uint32_t first,
                  uint32_t nkeys);
uint64_t rt_key_hash(const uint8_t *buf, uint32_t len);

/* --- operator constructors (runtime/operators/) -------------------------------------------- */

int rt_op_source_new(const rt_plan *plan, const rt_plan_op *pop, uint32_t subtask, rt_op **out,
                     weir_error *err);
int rt_op_calc_new(const rt_plan *plan, const rt_plan_op *pop, uint32_t subtask, rt_op **out,
                   weir_error *err);
int rt_op_watermark_new(const rt_plan *plan, const rt_plan_op *pop, uint32_t subtask, rt_op **out,
                        weir_error *err);
int rt_op_window_agg_new(const rt_plan *plan, const rt_plan_op *pop, uint32_t subtask, rt_op **out,
                         weir_error *err);
int rt_op_group_agg_new(const rt_plan *plan, const rt_plan_op *pop, uint32_t subtask, rt_op **out,
                        weir_error *err);
/* local_window_aggregate and local_group_aggregate */
int rt_op_local_agg_new(const rt_plan *plan, const rt_plan_op *pop, uint32_t subtask, rt_op **out,
                        weir_error *err);
int rt_op_sink_new(const rt_plan *plan, const rt_plan_op *pop, uint32_t subtask, rt_op **out,
                   weir_error *err);

/* The source operator's connector side, used by the task loop. */
int rt_op_source_poll(rt_op *op, rt_batch *b, int64_t *idle_ms) WEIR_MUST_CHECK;

/* Frees an operator (its vt->destroy) and the chain/partitioner arrays. */
void rt_op_free(rt_op *op);

#endif
