/*
 * sink_op.c - the sink operator: hands rows to a sink connector and flushes it at checkpoint
 * barriers and at the end of input.
 *
 * Layer: runtime/operators.
 */
#include "runtime/connectors/connector.h"
#include "runtime/engine/operator.h"

#include <stdatomic.h>
#include <stdlib.h>

typedef struct sink_op {
    rt_op op;
    const rt_sink_ops *ops;
    void *self;
} sink_op;

/*
 * Fault injection for tests of restarts: with WEIR_FAULT_SINK_FAIL_AFTER_ROWS=N in the
 * environment, the first sink batch that takes the process past N rows fails, once per process
 * (SQLite-style fault injection; unset in production).
 */
static atomic_long fault_rows;
static atomic_bool fault_fired;

static int maybe_fault(rt_op *op, uint32_t rows)
{
    static long limit = -2;
    if (limit == -2) {
        const char *v = getenv("WEIR_FAULT_SINK_FAIL_AFTER_ROWS");
        limit = v ? atol(v) : -1;
    }
    if (limit < 0 || atomic_load(&fault_fired))
        return 0;
    if (atomic_fetch_add(&fault_rows, rows) + rows > limit && !atomic_exchange(&fault_fired, true))
        return weir_error_set(op->err, WEIR_EIO, "sink '%s': injected failure after %ld rows",
                              op->pop->id, limit);
    return 0;
}

static int sink_process(rt_op *op, const rt_batch *in)
{
    sink_op *s = (sink_op *)op;
    weir_error e = {0};
    int frc = maybe_fault(op, in->n);
    if (frc)
        return frc;
    int rc = s->ops->write(s->self, in, &e);
    if (rc)
        return weir_error_set(op->err, rc, "sink '%s': %s", op->pop->id, e.msg);
    op->rows_out += in->n;
    return 0;
}

static int sink_flush(rt_op *op)
{
    sink_op *s = (sink_op *)op;
    weir_error e = {0};
    int rc = s->ops->flush(s->self, &e);
    if (rc)
        return weir_error_set(op->err, rc, "sink '%s': %s", op->pop->id, e.msg);
    return 0;
}

static int sink_snapshot(rt_op *op, const rt_op_snapshot_ctx *c, json_t *out)
{
    (void)c;
    (void)out;
    return sink_flush(op);
}

static void sink_destroy(rt_op *op)
{
    sink_op *s = (sink_op *)op;
    if (s->self)
        s->ops->destroy(s->self);
    free(s);
}

static const rt_op_vt sink_vt = {
    .process = sink_process,
    .snapshot = sink_snapshot,
    .end_input = sink_flush,
    .destroy = sink_destroy,
};

int rt_op_sink_new(const rt_plan *plan, const rt_plan_op *pop, uint32_t subtask, rt_op **out,
                   weir_error *err)
{
    sink_op *s = calloc(1, sizeof(*s));
    if (!s)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    s->op.vt = &sink_vt;
    s->ops = rt_connector_sink(pop->connector);
    weir_error e = {0};
    int rc = s->ops
                 ? s->ops->create(pop->out, pop->options, subtask, pop->parallelism, &s->self, &e)
                 : WEIR_EUNSUPPORTED;
    if (rc) {
        free(s);
        return weir_error_set(err, rc, "%s: %s", pop->path, e.msg);
    }
    *out = &s->op;
    return 0;
}
