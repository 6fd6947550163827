/*
 * source_op.c - the source operator: a connector instance whose rows start a chain, and whose
 * position is the operator's checkpointed state.
 *
 * Layer: runtime/operators.
 */
#include "runtime/connectors/connector.h"
#include "runtime/engine/operator.h"

#include <stdlib.h>

typedef struct source_op {
    rt_op op;
    const rt_source_ops *ops;
    void *self;
} source_op;

static int src_process(rt_op *op, const rt_batch *in)
{
    return rt_op_emit(op, in);
}

static int src_snapshot(rt_op *op, const rt_op_snapshot_ctx *c, json_t *out)
{
    source_op *s = (source_op *)op;
    json_t *pos = s->ops->snapshot(s->self);
    if (!pos)
        return weir_error_set(op->err, WEIR_ENOMEM, "out of memory");
    return json_object_set_new(out, "position", pos) ? WEIR_ENOMEM : 0;
}

static int src_restore(rt_op *op, const rt_op_restore_ctx *c)
{
    source_op *s = (source_op *)op;
    size_t old = json_array_size(c->subtasks);
    if (old != op->parallelism && s->ops->rescale) {
        json_t *all = json_array();
        size_t i;
        json_t *st;
        json_array_foreach(c->subtasks, i, st)
        {
            json_t *pos = json_object_get(st, "position");
            json_array_append(all, pos ? pos : json_null());
        }
        weir_error e = {0};
        int rc = s->ops->rescale(s->self, all, &e);
        json_decref(all);
        if (rc)
            return weir_error_set(op->err, rc, "source '%s': %s", op->pop->id, e.msg);
        return 0;
    }
    if (old != op->parallelism)
        return weir_error_set(op->err, WEIR_EUNSUPPORTED,
                              "source '%s': the snapshot has %zu source subtasks, the job %u; "
                              "changing a source's parallelism is not supported yet",
                              op->pop->id, old, op->parallelism);
    json_t *pos = json_object_get(json_array_get(c->subtasks, op->subtask), "position");
    if (!pos)
        return 0;
    weir_error e = {0};
    int rc = s->ops->restore(s->self, pos, &e);
    if (rc)
        return weir_error_set(op->err, rc, "source '%s': %s", op->pop->id, e.msg);
    return 0;
}

static void src_destroy(rt_op *op)
{
    source_op *s = (source_op *)op;
    if (s->self)
        s->ops->destroy(s->self);
    free(s);
}

static const rt_op_vt source_vt = {
    .process = src_process,
    .snapshot = src_snapshot,
    .restore = src_restore,
    .destroy = src_destroy,
};

int rt_op_source_new(const rt_plan *plan, const rt_plan_op *pop, uint32_t subtask, rt_op **out,
                     weir_error *err)
{
    source_op *s = calloc(1, sizeof(*s));
    if (!s)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    s->op.vt = &source_vt;
    s->ops = rt_connector_source(pop->connector);
    weir_error e = {0};
    int rc = s->ops ? rt_plan_source_create(pop, subtask, &s->self, &e) : WEIR_EUNSUPPORTED;
    if (rc) {
        free(s);
        return weir_error_set(err, rc, "%s: %s", pop->path, e.msg);
    }
    *out = &s->op;
    return 0;
}

int rt_op_source_poll(rt_op *op, rt_batch *b, int64_t *idle_ms)
{
    source_op *s = (source_op *)op;
    weir_error e = {0};
    int rc = s->ops->poll(s->self, b, idle_ms, &e);
    if (rc < 0)
        return weir_error_set(op->err, rc, "source '%s': %s", op->pop->id, e.msg);
    return rc;
}
