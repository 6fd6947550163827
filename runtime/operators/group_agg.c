/*
 * group_agg.c - aggregation without windows (GROUP BY keys), emitting a changelog as Flink
 * does: +I for a new group, -U (old) and +U (new) when a group's result changes, -D when its
 * last row is retracted.
 *
 * State: one keyed-state entry per key (namespace 0) holding the accumulators; with DISTINCT
 * aggregates, the counts of their values (namespace 1, agg_distinct.h).
 *
 * As the global phase of a two-phase aggregation (pop->global) it reads a local aggregation's
 * partials (local_agg.c) and merges them: a group changes once per partial, not once per row.
 *
 * Layer: runtime/operators.
 */
#include "runtime/engine/operator.h"
#include "runtime/operators/agg_acc.h"
#include "runtime/operators/agg_distinct.h"

#include <stdlib.h>
#include <string.h>

typedef struct group_op {
    rt_op op;
    uint32_t vlen;
    rt_batch *out;
    agg_acc *old;
    int8_t *dsign; /* DISTINCT aggregates: per aggregate, how this row changes it */
    bool distinct;
    uint8_t keybuf[RT_STATE_MAX_KEY];
} group_op;

static int emit_row(group_op *g, const uint8_t *key, uint32_t klen, const agg_acc *acc,
                    rt_rowkind kind)
{
    rt_op *op = &g->op;
    if (rt_batch_full(g->out)) {
        int rc = rt_op_emit(op, g->out);
        rt_batch_reset(g->out);
        if (rc)
            return rc;
    }
    uint32_t row = g->out->n;
    int rc = rt_key_decode(key, klen, g->out, row, 0, op->pop->nkeys);
    if (rc)
        return weir_error_set(op->err, rc, "group '%s': bad key in state", op->pop->id);
    agg_acc_result(acc, op->pop->aggs, op->pop->naggs, g->out, row, op->pop->nkeys);
    g->out->kind[row] = (uint8_t)kind;
    g->out->n++;
    return 0;
}

static int grp_process(rt_op *op, const rt_batch *in)
{
    group_op *g = (group_op *)op;
    const rt_plan_op *p = op->pop;
    rt_batch_reset(g->out);
    /* The global phase reads partials: keys, accumulators (local_agg.c). */
    const rt_col *part = p->global ? &in->cols[p->nkeys] : NULL;
    for (uint32_t r = 0; r < in->n; r++) {
        if (part && part->str[r].len != g->vlen)
            return weir_error_set(op->err, WEIR_EPARSE,
                                  "group '%s': partial accumulators of %u bytes, expected %u",
                                  p->id, part->str[r].len, g->vlen);
        int sign = in->kind[r] == RT_UPDATE_BEFORE || in->kind[r] == RT_DELETE ? -1 : 1;
        if (part) { /* a partial's net row count: a new group needs rows to start */
            agg_acc last;
            memcpy(&last, part->str[r].ptr + g->vlen - sizeof(agg_acc), sizeof(last));
            sign = last.count > 0 ? 1 : -1;
        }
        int len = rt_key_encode(in, r, p->keys, p->nkeys, g->keybuf, sizeof(g->keybuf));
        if (len < 0)
            return weir_error_set(op->err, len, "group '%s': key larger than %d bytes", p->id,
                                  RT_STATE_MAX_KEY);
        uint32_t kg =
            rt_state_key_group(rt_key_hash(g->keybuf, (uint32_t)len), op->plan->max_parallelism);
        void *val;
        uint32_t vlen;
        int rc;
        /* distinct values (namespace 1) first: `val` below must not outlive a state call */
        if (g->distinct && !part &&
            (rc = agg_distinct_signs(op, kg, 1, g->keybuf, (uint32_t)len, in, r, sign, g->dsign)))
            return rc;
        rc = rt_state_get(op->state, kg, 0, g->keybuf, (uint32_t)len, &val, &vlen);
        bool fresh = rc == WEIR_ENOTFOUND;
        if (fresh) {
            if (sign < 0)
                continue; /* retraction of a group we never saw */
            if ((rc =
                     rt_state_put(op->state, kg, 0, g->keybuf, (uint32_t)len, NULL, g->vlen, &val)))
                return weir_error_set(op->err, rc, "group '%s': state: %s", p->id,
                                      weir_strerror(rc));
            memset(val, 0, g->vlen);
        } else if (rc)
            return weir_error_set(op->err, rc, "group '%s': state: %s", p->id, weir_strerror(rc));
        else if (vlen != g->vlen) /* state of other aggregates, restored under an explicit uid */
            return weir_error_set(op->err, WEIR_EPARSE,
                                  "group '%s': state entry has %u bytes, expected %u", p->id, vlen,
                                  g->vlen);
        memcpy(g->old, val, g->vlen);
        if (part)
            agg_acc_merge(val, part->str[r].ptr, p->aggs, p->naggs);
        else if (agg_acc_update_distinct(val, p->aggs, p->naggs, in, r, sign,
                                         g->distinct ? g->dsign : NULL))
            return weir_error_set(op->err, WEIR_EUNSUPPORTED,
                                  "group '%s': MIN/MAX over an updating input (retractions) is "
                                  "not supported yet",
                                  p->id);
        agg_acc *now = val;
        /* `val` stays valid until the next state call; emit_row makes none. */
        if (fresh)
            rc = emit_row(g, g->keybuf, (uint32_t)len, now, RT_INSERT);
        else if (agg_acc_rows(now, p->aggs, p->naggs) <= 0) {
            rc = emit_row(g, g->keybuf, (uint32_t)len, g->old, RT_DELETE);
            if (!rc && (rc = rt_state_delete(op->state, kg, 0, g->keybuf, (uint32_t)len)))
                weir_error_set(op->err, rc, "group '%s': state: %s", p->id, weir_strerror(rc));
        } else if (memcmp(g->old, now, g->vlen - sizeof(agg_acc)) != 0) {
            if (!(rc = emit_row(g, g->keybuf, (uint32_t)len, g->old, RT_UPDATE_BEFORE)))
                rc = emit_row(g, g->keybuf, (uint32_t)len, now, RT_UPDATE_AFTER);
        }
        if (rc)
            return rc;
    }
    int rc = rt_op_emit(op, g->out);
    rt_batch_reset(g->out);
    return rc;
}

static int grp_snapshot(rt_op *op, const rt_op_snapshot_ctx *c, json_t *out)
{
    rt_snapshot_target t = {.kind = c->kind,
                            .checkpoint_id = c->checkpoint_id,
                            .root = c->root,
                            .exclusive_dir = c->exclusive_dir,
                            .shared_dir = c->shared_dir};
    json_t *h = NULL;
    int rc = rt_state_snapshot(op->state, &t, &h, op->err);
    if (rc)
        return rc;
    return json_object_set_new(out, "keyed", h) ? WEIR_ENOMEM : 0;
}

static int grp_restore(rt_op *op, const rt_op_restore_ctx *c)
{
    size_t n = json_array_size(c->subtasks);
    json_t **handles = calloc(n ? n : 1, sizeof(json_t *));
    if (!handles)
        return weir_error_set(op->err, WEIR_ENOMEM, "out of memory");
    size_t nh = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *h = json_object_get(json_array_get(c->subtasks, i), "keyed");
        if (h)
            handles[nh++] = h;
    }
    int rc = rt_state_restore(op->state, c->root, handles, nh, op->err);
    free(handles);
    return rc;
}

static void grp_complete(rt_op *op, uint64_t id)
{
    rt_state_notify_complete(op->state, id);
}

static void grp_destroy(rt_op *op)
{
    group_op *g = (group_op *)op;
    rt_batch_free(g->out);
    free(g->old);
    free(g->dsign);
    free(g);
}

static const rt_op_vt group_vt = {
    .process = grp_process,
    .snapshot = grp_snapshot,
    .restore = grp_restore,
    .notify_complete = grp_complete,
    .destroy = grp_destroy,
};

int rt_op_group_agg_new(const rt_plan *plan, const rt_plan_op *pop, uint32_t subtask, rt_op **out,
                        weir_error *err)
{
    group_op *g = calloc(1, sizeof(*g));
    if (!g)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    g->op.vt = &group_vt;
    g->vlen = agg_acc_size(pop->aggs, pop->naggs);
    g->out = rt_batch_new(pop->out, 0);
    g->old = calloc(1, g->vlen);
    g->dsign = calloc(pop->naggs ? pop->naggs : 1, 1);
    g->distinct = agg_distinct_any(pop);
    if (!g->out || !g->old || !g->dsign) {
        grp_destroy(&g->op);
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    }
    *out = &g->op;
    return 0;
}
