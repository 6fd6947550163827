/*
 * connector.h - the small ops tables behind which sources and sinks sit, and their registry.
 *
 * A connector is chosen by the table's 'connector' option ('datagen', 'print', 'blackhole'; Kafka
 * comes later). Options are the table's WITH (...) map without 'connector'; a connector rejects
 * options it does not know and values it cannot use with an error that names the option
 * (Flink's "Unsupported options found for 'datagen'" behaviour).
 *
 * One instance exists per parallel subtask and is used by that subtask's thread only.
 *
 * Layer: runtime/connectors. Depends on runtime/engine/batch.h, lib/, jansson. Knows nothing of
 * operators, channels or checkpoints beyond the position JSON it hands out.
 */
#ifndef WEIR_RT_CONNECTOR_H
#define WEIR_RT_CONNECTOR_H

#include "lib/error.h"
#include "runtime/engine/batch.h"

#include <jansson.h>
#include <stdio.h>

/* What a source's poll() reports besides an error. */
enum {
    RT_SOURCE_MORE = 0, /* rows may follow (b->n may be 0: nothing available right now) */
    RT_SOURCE_END = 1   /* bounded source finished: no rows will ever follow this batch's */
};

typedef struct rt_source_ops {
    const char *name; /* the 'connector' option value */
    /*
     * Creates subtask `subtask` of `parallelism` for rows of `schema` (the table's physical
     * columns). `options` is a JSON object of string values. Returns 0 and *self, or
     * WEIR_EINVAL with a message naming the option.
     */
    int (*create)(const rt_schema *schema, const json_t *options, uint32_t subtask,
                  uint32_t parallelism, void **self, weir_error *err);
    /*
     * Optional: projection push-down (Flink's SupportsProjectionPushDown); NULL when the
     * connector does not support it, and the plan loader then refuses a source "projection".
     * As create(), but each row holds only the `nproj` columns `proj` (distinct indexes into
     * `schema`, the table's declared columns, in output order). The options still describe every
     * declared column, and the projected columns get exactly the values create() would give them.
     */
    int (*create_projected)(const rt_schema *schema, const uint32_t *proj, uint32_t nproj,
                            const json_t *options, uint32_t subtask, uint32_t parallelism,
                            void **self, weir_error *err);
    /*
     * Appends up to b->cap - b->n rows to `b`. Returns RT_SOURCE_MORE or RT_SOURCE_END, or a
     * negative error. When nothing is available (rate limit, no data yet) it returns
     * RT_SOURCE_MORE with no rows and sets *idle_ms to how long the caller may sleep.
     */
    int (*poll)(void *self, rt_batch *b, int64_t *idle_ms, weir_error *err);
    /* The current position (the rows emitted so far) for a checkpoint; caller owns the JSON. */
    json_t *(*snapshot)(void *self);
    /* Continues after `position` (from snapshot() of the same subtask index). WEIR_EPARSE when
     * the position is malformed. */
    int (*restore)(void *self, const json_t *position, weir_error *err);
    /* Optional: continues after the positions of every subtask of a snapshot taken at another
     * parallelism (`positions`: a JSON array, one per old subtask). NULL: not supported. */
    int (*rescale)(void *self, const json_t *positions, weir_error *err);
    void (*destroy)(void *self);
} rt_source_ops;

typedef struct rt_sink_ops {
    const char *name;
    /* As rt_source_ops.create. */
    int (*create)(const rt_schema *schema, const json_t *options, uint32_t subtask,
                  uint32_t parallelism, void **self, weir_error *err);
    /* Consumes rows [0, b->n) of b (with their row kinds). */
    int (*write)(void *self, const rt_batch *b, weir_error *err);
    /* Makes everything written so far durable/visible (called at checkpoint barriers and at the
     * end of input). */
    int (*flush)(void *self, weir_error *err);
    void (*destroy)(void *self);
} rt_sink_ops;

/* The registered connectors by name, or NULL. */
const rt_source_ops *rt_connector_source(const char *name);
const rt_sink_ops *rt_connector_sink(const char *name);

/* Where the print connector writes (tests point it at a file); NULL restores stdout/stderr. */
void rt_connector_print_redirect(FILE *out);

#endif
