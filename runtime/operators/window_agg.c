/*
 * window_agg.c - event-time window aggregation for TUMBLE, HOP and CUMULATE windows (Flink's
 * window table-valued functions followed by GROUP BY window_start, window_end, keys).
 *
 * State: one keyed-state entry per (key, window) — namespace = window end, value = the
 * accumulators — and, with DISTINCT aggregates, the counts of their values in the same
 * namespace (agg_distinct.h), removed when the window fires. The set of window ends that hold state
 * is kept in memory (a sorted array) and checkpointed with the operator; a watermark at or past end
 * - 1 fires the window: its entries are scanned, emitted as +I rows and removed. Rows whose windows
 * have all fired are late: dropped and counted.
 *
 * Output columns: keys..., window_start, window_end, window_time (= end - 1), aggregates...
 *
 * As the global phase of a two-phase aggregation (pop->global) it reads a local aggregation's
 * partials (local_agg.c) and merges each into the windows of its slice.
 *
 * Layer: runtime/operators.
 */
#include "runtime/engine/operator.h"
#include "runtime/operators/agg_acc.h"
#include "runtime/operators/agg_distinct.h"

#include <stdlib.h>
#include <string.h>

typedef struct window_op {
    rt_op op;
    uint32_t vlen;
    rt_batch *out;
    int64_t *ends; /* sorted window ends with state */
    size_t nends, cap;
    uint8_t keybuf[RT_STATE_MAX_KEY];
    int fire_rc;
    int64_t fire_end;
    int8_t *dsign; /* DISTINCT aggregates: per aggregate, how this row changes it */
    bool distinct;
} window_op;

static int64_t floor_mod(int64_t a, int64_t b)
{
    int64_t m = a % b;
    return m < 0 ? m + b : m;
}

static int add_end(window_op *w, int64_t end)
{
    size_t lo = 0, hi = w->nends;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (w->ends[mid] < end)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < w->nends && w->ends[lo] == end)
        return 0;
    if (w->nends == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 16;
        int64_t *n = realloc(w->ends, nc * sizeof(int64_t));
        if (!n)
            return WEIR_ENOMEM;
        w->ends = n;
        w->cap = nc;
    }
    memmove(w->ends + lo + 1, w->ends + lo, (w->nends - lo) * sizeof(int64_t));
    w->ends[lo] = end;
    w->nends++;
    return 0;
}

static int64_t window_start(const rt_plan_op *p, int64_t end)
{
    if (p->win == RT_WIN_CUMULATE)
        return end - 1 - floor_mod(end - 1 - p->offset_ms, p->size_ms);
    return end - p->size_ms;
}

/* Adds row `row` of `in` to the window's accumulators, or merges `part` (a local
 * aggregation's partial accumulators) when it is set. */
static int update(window_op *w, uint32_t kg, int64_t end, const uint8_t *key, uint32_t klen,
                  const rt_batch *in, uint32_t row, const void *part)
{
    rt_op *op = &w->op;
    if (end - 1 <= op->watermark) {
        op->late_dropped++;
        return 0;
    }
    void *val;
    uint32_t vlen;
    int rc;
    /* distinct values of this window first: `val` below must not outlive a state call */
    if (w->distinct && !part &&
        (rc = agg_distinct_signs(op, kg, (uint64_t)end, key, klen, in, row, 1, w->dsign)))
        return rc;
    rc = rt_state_get(op->state, kg, (uint64_t)end, key, klen, &val, &vlen);
    if (rc == WEIR_ENOTFOUND) {
        if ((rc = rt_state_put(op->state, kg, (uint64_t)end, key, klen, NULL, w->vlen, &val)))
            return weir_error_set(op->err, rc, "window '%s': state: %s", op->pop->id,
                                  weir_strerror(rc));
        memset(val, 0, w->vlen);
        if ((rc = add_end(w, end)))
            return weir_error_set(op->err, rc, "out of memory");
    } else if (rc)
        return weir_error_set(op->err, rc, "window '%s': state: %s", op->pop->id,
                              weir_strerror(rc));
    else if (vlen != w->vlen)
        return weir_error_set(op->err, WEIR_EPARSE,
                              "window '%s': state entry has %u bytes, expected %u", op->pop->id,
                              vlen, w->vlen);
    if (part)
        agg_acc_merge(val, part, op->pop->aggs, op->pop->naggs);
    else
        agg_acc_update_distinct(val, op->pop->aggs, op->pop->naggs, in, row, 1,
                                w->distinct ? w->dsign : NULL);
    return 0;
}

static int win_process(rt_op *op, const rt_batch *in)
{
    window_op *w = (window_op *)op;
    const rt_plan_op *p = op->pop;
    const rt_col *ts = &in->cols[p->rowtime];
    /* A global window aggregation reads partials: keys, slice end, accumulators. A slice's
     * windows are those of its last millisecond. */
    const rt_col *part = p->global ? &in->cols[p->nkeys + 1] : NULL;
    for (uint32_t r = 0; r < in->n; r++) {
        const void *pv = NULL;
        if (part) {
            if (part->str[r].len != w->vlen)
                return weir_error_set(op->err, WEIR_EPARSE,
                                      "window '%s': partial accumulators of %u bytes, expected %u",
                                      p->id, part->str[r].len, w->vlen);
            pv = part->str[r].ptr;
        }
        if (in->kind[r] == RT_UPDATE_BEFORE || in->kind[r] == RT_DELETE)
            return weir_error_set(op->err, WEIR_EUNSUPPORTED,
                                  "window '%s': window aggregation over an updating input "
                                  "(retractions) is not supported yet",
                                  p->id);
        if (ts->null[r]) {
            op->late_dropped++;
            continue;
        }
        int64_t t = ts->i64[r] - (part ? 1 : 0);
        int len = rt_key_encode(in, r, p->keys, p->nkeys, w->keybuf, sizeof(w->keybuf));
        if (len < 0)
            return weir_error_set(op->err, len, "window '%s': key larger than %d bytes", p->id,
                                  RT_STATE_MAX_KEY);
        uint32_t kg =
            rt_state_key_group(rt_key_hash(w->keybuf, (uint32_t)len), op->plan->max_parallelism);
        int rc = 0;
        switch (p->win) {
        case RT_WIN_TUMBLE: {
            int64_t start = t - floor_mod(t - p->offset_ms, p->size_ms);
            rc = update(w, kg, start + p->size_ms, w->keybuf, (uint32_t)len, in, r, pv);
            break;
        }
        case RT_WIN_HOP: {
            int64_t last = t - floor_mod(t - p->offset_ms, p->slide_ms);
            for (int64_t s = last; s > t - p->size_ms && !rc; s -= p->slide_ms)
                rc = update(w, kg, s + p->size_ms, w->keybuf, (uint32_t)len, in, r, pv);
            break;
        }
        case RT_WIN_CUMULATE: {
            int64_t start = t - floor_mod(t - p->offset_ms, p->size_ms);
            int64_t first = start + ((t - start) / p->step_ms + 1) * p->step_ms;
            for (int64_t e = first; e <= start + p->size_ms && !rc; e += p->step_ms)
                rc = update(w, kg, e, w->keybuf, (uint32_t)len, in, r, pv);
            break;
        }
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int fire_one(void *ctx, uint32_t kg, const void *key, uint32_t klen, const void *val,
                    uint32_t vlen)
{
    window_op *w = ctx;
    rt_op *op = &w->op;
    const rt_plan_op *p = op->pop;
    if (vlen == AGG_DISTINCT_VLEN && w->distinct)
        return 0; /* a DISTINCT value's count: removed with the window */
    if (vlen != w->vlen)
        return WEIR_EPARSE;
    if (rt_batch_full(w->out)) {
        int rc = rt_op_emit(op, w->out);
        rt_batch_reset(w->out);
        if (rc)
            return rc;
    }
    uint32_t row = w->out->n;
    int rc = rt_key_decode(key, klen, w->out, row, 0, p->nkeys);
    if (rc)
        return rc;
    int64_t end = w->fire_end;
    rt_col *c = &w->out->cols[p->nkeys];
    c[0].i64[row] = window_start(p, end);
    c[1].i64[row] = end;
    c[2].i64[row] = end - 1;
    c[0].null[row] = c[1].null[row] = c[2].null[row] = 0;
    agg_acc_result(val, p->aggs, p->naggs, w->out, row, p->nkeys + 3);
    w->out->kind[row] = RT_INSERT;
    w->out->n++;
    return 0;
}

static int win_watermark(rt_op *op, int64_t wm)
{
    window_op *w = (window_op *)op;
    size_t fired = 0;
    rt_batch_reset(w->out);
    while (fired < w->nends && w->ends[fired] - 1 <= wm) {
        w->fire_end = w->ends[fired];
        int rc = rt_state_scan_ns(op->state, (uint64_t)w->fire_end, true, fire_one, w);
        if (rc) {
            if (!op->err->code)
                weir_error_set(op->err, rc, "window '%s': firing window ending %lld: %s",
                               op->pop->id, (long long)w->fire_end, weir_strerror(rc));
            return rc;
        }
        fired++;
    }
    if (fired) {
        memmove(w->ends, w->ends + fired, (w->nends - fired) * sizeof(int64_t));
        w->nends -= fired;
    }
    int rc = rt_op_emit(op, w->out);
    rt_batch_reset(w->out);
    if (rc)
        return rc;
    op->watermark = wm;
    return rt_op_emit_watermark(op, wm);
}

static int win_snapshot(rt_op *op, const rt_op_snapshot_ctx *c, json_t *out)
{
    window_op *w = (window_op *)op;
    rt_snapshot_target t = {.kind = c->kind,
                            .checkpoint_id = c->checkpoint_id,
                            .root = c->root,
                            .exclusive_dir = c->exclusive_dir,
                            .shared_dir = c->shared_dir};
    json_t *h = NULL;
    int rc = rt_state_snapshot(op->state, &t, &h, op->err);
    if (rc)
        return rc;
    json_t *ends = json_array();
    for (size_t i = 0; i < w->nends; i++)
        json_array_append_new(ends, json_integer(w->ends[i]));
    json_object_set_new(out, "keyed", h);
    json_object_set_new(out, "windows", ends);
    json_object_set_new(out, "watermark", json_integer(op->watermark));
    return 0;
}

static int win_restore(rt_op *op, const rt_op_restore_ctx *c)
{
    window_op *w = (window_op *)op;
    size_t n = json_array_size(c->subtasks);
    json_t **handles = calloc(n ? n : 1, sizeof(json_t *));
    if (!handles)
        return weir_error_set(op->err, WEIR_ENOMEM, "out of memory");
    size_t nh = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(c->subtasks, i);
        json_t *h = json_object_get(s, "keyed");
        if (h)
            handles[nh++] = h;
        json_t *e;
        size_t j;
        json_array_foreach(json_object_get(s, "windows"), j, e)
        {
            if (json_is_integer(e) && (rc = add_end(w, json_integer_value(e))))
                goto done;
        }
        /* The smallest watermark any old subtask had is safe for all keys. */
        json_t *wm = json_object_get(s, "watermark");
        if (json_is_integer(wm) && (i == 0 || json_integer_value(wm) < op->watermark))
            op->watermark = json_integer_value(wm);
    }
    rc = rt_state_restore(op->state, c->root, handles, nh, op->err);
done:
    free(handles);
    return rc;
}

static void win_destroy(rt_op *op)
{
    window_op *w = (window_op *)op;
    rt_batch_free(w->out);
    free(w->ends);
    free(w->dsign);
    free(w);
}

static void win_complete(rt_op *op, uint64_t id)
{
    rt_state_notify_complete(op->state, id);
}

static const rt_op_vt window_vt = {
    .process = win_process,
    .watermark = win_watermark,
    .snapshot = win_snapshot,
    .restore = win_restore,
    .notify_complete = win_complete,
    .destroy = win_destroy,
};

int rt_op_window_agg_new(const rt_plan *plan, const rt_plan_op *pop, uint32_t subtask, rt_op **out,
                         weir_error *err)
{
    window_op *w = calloc(1, sizeof(*w));
    if (!w)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    w->op.vt = &window_vt;
    w->vlen = agg_acc_size(pop->aggs, pop->naggs);
    w->distinct = agg_distinct_any(pop);
    if (!(w->out = rt_batch_new(pop->out, 0)) ||
        !(w->dsign = calloc(pop->naggs ? pop->naggs : 1, 1))) {
        rt_batch_free(w->out);
        free(w);
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    }
    *out = &w->op;
    return 0;
}
