/*
 * plan.h - the job plan: a versioned JSON description of a streaming job (a DAG of operators
 * with parallelism, edges, typed schemas and expressions) and its loader.
 *
 * The format is documented in docs/plan.md and runtime/plan/plan.schema.json. It is what the
 * SQL front end emits, what `weir run plan.json` accepts and what a JobManager serves as the
 * job's plan. Loading checks everything that can be checked before running: structure, types,
 * references between operators, connector names, expressions (compiled once to type-check
 * them); every error names the JSON path of what is wrong ("$.operators[2].keys[0]").
 *
 * A loaded plan is immutable and shared read-only by all subtask threads.
 *
 * Layer: runtime/plan. Depends on runtime/types, runtime/expr (type checking),
 * runtime/connectors (names), lib/. Knows nothing of execution.
 */
#ifndef WEIR_RT_PLAN_H
#define WEIR_RT_PLAN_H

#include "lib/error.h"
#include "runtime/engine/batch.h"

#include <jansson.h>

#define RT_PLAN_VERSION         1
#define RT_PLAN_MAX_OPERATORS   256
#define RT_PLAN_MAX_PARALLELISM 1024

typedef enum rt_op_type {
    RT_OP_SOURCE,
    RT_OP_CALC,
    RT_OP_WATERMARK,
    RT_OP_WINDOW_AGG,
    RT_OP_GROUP_AGG,
    RT_OP_SINK,
    RT_OP_UNION, /* UNION ALL: no operator of its own; its consumers read every input (graph.h) */
    /* Local (pre-)aggregation: partial accumulators per key (and window slice), flushed to the
     * window_aggregate / group_aggregate that reads it (its global phase). No state. */
    RT_OP_LOCAL_WINDOW_AGG,
    RT_OP_LOCAL_GROUP_AGG
} rt_op_type;

typedef enum rt_partition {
    RT_PART_FORWARD,
    RT_PART_HASH,
    RT_PART_REBALANCE,
    RT_PART_BROADCAST
} rt_partition;

typedef enum rt_window_kind { RT_WIN_TUMBLE, RT_WIN_HOP, RT_WIN_CUMULATE } rt_window_kind;

typedef enum rt_agg_fn {
    RT_AGG_COUNT, /* COUNT(*) when arg < 0 */
    RT_AGG_SUM,
    RT_AGG_MIN,
    RT_AGG_MAX,
    RT_AGG_AVG
} rt_agg_fn;

typedef struct rt_plan_agg {
    rt_agg_fn fn;
    int arg;       /* input column, -1 for COUNT(*) */
    bool distinct; /* COUNT(DISTINCT x) etc. */
    rt_type in;    /* argument type (BIGINT for COUNT(*)) */
    rt_type out;   /* result type */
    char *name;
} rt_plan_agg;

typedef struct rt_plan_op {
    char *id;     /* the plan's name for the operator */
    char uid[33]; /* stable identity for state: the "uid" field, or derived (docs/plan.md) */
    char *path;   /* "$.operators[i]" for messages */
    rt_op_type type;
    uint32_t parallelism;   /* a union: its inputs' when they agree, else 0 */
    int input;              /* index of the input operator, -1 for sources and unions */
    int *inputs;            /* RT_OP_UNION: indexes of its inputs ("inputs", in order) */
    uint32_t ninputs;       /* RT_OP_UNION: at least 2 */
    rt_partition partition; /* how rows travel from `input` */
    uint32_t *part_keys;    /* RT_PART_HASH: input columns hashed */
    uint32_t npart_keys;
    rt_schema *out;     /* output schema (sinks: their input's) */
    const json_t *json; /* the operator's object in the plan document */

    /* source / sink */
    char *connector;
    json_t *options; /* string -> string, without "connector" */
    /* source: the declared columns ("schema"); `out` is the same unless the source has a
     * "projection" (push-down): then `out` holds the declared columns scan_cols[0..nscan_cols),
     * in that order. scan_cols is NULL without a projection. */
    rt_schema *declared;
    uint32_t *scan_cols;
    uint32_t nscan_cols;

    /* calc: projection (array of expressions) and filter (NULL: none) */
    const json_t *projection;
    const json_t *filter;

    /* watermark */
    uint32_t rowtime; /* rowtime column (watermark, window_agg) */
    int64_t delay_ms; /* watermark = max(rowtime) - delay */
    int64_t idle_timeout_ms;

    /* window_agg / group_agg */
    uint32_t *keys;
    uint32_t nkeys;
    rt_window_kind win;
    int64_t size_ms, slide_ms, step_ms, offset_ms;
    rt_plan_agg *aggs;
    uint32_t naggs;

    /* local_*_aggregate: a flush after this many input rows (a window one: buffered entries),
     * and (local_group_aggregate) at the latest this long after the first buffered row */
    int64_t flush_rows, flush_ms;
    int64_t slice_ms; /* local_window_aggregate: the slice the partials are kept per */
    /* window_aggregate / group_aggregate reading a local one: the input rows are partial
     * accumulators (keys, [slice end,] accumulators), merged rather than accumulated */
    bool global;
} rt_plan_op;

typedef struct rt_plan {
    int version;
    char *name;
    char *path; /* file it came from, or "<string>" */
    uint32_t max_parallelism;
    rt_plan_op *ops; /* topological order: inputs before consumers */
    uint32_t nops;
    json_t *doc; /* the document (owned) */
} rt_plan;

/*
 * Loads and checks a plan from JSON text. `source` names it in messages. `default_parallelism`
 * applies to operators without "parallelism" (Flink's parallelism.default). Returns 0 and *out
 * (caller frees with rt_plan_free), or WEIR_EPARSE/WEIR_ETYPE/WEIR_EINVAL/WEIR_EUNSUPPORTED
 * with err naming the JSON path.
 */
int rt_plan_load(const char *text, size_t len, const char *source, uint32_t default_parallelism,
                 rt_plan **out, weir_error *err) WEIR_MUST_CHECK;

/* Reads the file and loads it. WEIR_ENOTFOUND / WEIR_EIO for the file. */
int rt_plan_load_file(const char *path, uint32_t default_parallelism, rt_plan **out,
                      weir_error *err) WEIR_MUST_CHECK;

void rt_plan_free(rt_plan *p);

/*
 * Creates subtask `subtask` of source operator `op`'s connector, producing op->out: with a
 * projection through the connector's create_projected(), else create(). Returns the
 * connector's error code with its message in err.
 */
int rt_plan_source_create(const rt_plan_op *op, uint32_t subtask, void **self,
                          weir_error *err) WEIR_MUST_CHECK;

/* Names for messages and the metadata ("source", "calc", ...; "hash", ...). */
const char *rt_op_type_name(rt_op_type t);
/* True for operators whose state goes into checkpoints: sources (their position) and the
 * keyed aggregations. */
bool rt_plan_op_stateful(const rt_plan_op *op);
/* Gives every watermark assigner without an idle timeout of its own `ms`
 * (table.exec.source.idle-timeout). */
void rt_plan_default_idle_timeout(rt_plan *p, int64_t ms);
const char *rt_partition_name(rt_partition p);
/* How many edges read operator i's output: operators naming it as "input", plus one per
 * occurrence in a union's "inputs". */
uint32_t rt_plan_consumers(const rt_plan *p, uint32_t i);

#endif
