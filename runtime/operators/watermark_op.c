/*
 * watermark_op.c - the watermark assigner: watermark = max(rowtime seen) - delay, emitted after
 * each batch when it advanced (Flink SQL's `WATERMARK FOR ts AS ts - INTERVAL ...`).
 *
 * Idleness (table.exec.source.idle-timeout, the plan's idleTimeoutMs): after that long without
 * rows the assigner declares its output idle, so consumers with several inputs stop holding
 * their watermark back for it; the next rows make it active again with a watermark.
 *
 * Layer: runtime/operators.
 */
#include "runtime/engine/operator.h"

#include <stdlib.h>
#include <time.h>

typedef struct wm_op {
    rt_op op;
    int64_t max_ts;
    int64_t emitted;
    int64_t idle_timeout_ms;
    int64_t last_rows_ms; /* monotonic */
    bool idle;
} wm_op;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wm_process(rt_op *op, const rt_batch *in)
{
    wm_op *w = (wm_op *)op;
    const rt_col *c = &in->cols[op->pop->rowtime];
    int64_t mx = w->max_ts;
    for (uint32_t r = 0; r < in->n; r++)
        if (!c->null[r] && c->i64[r] > mx)
            mx = c->i64[r];
    w->max_ts = mx;
    if (in->n)
        w->last_rows_ms = mono_ms();
    int rc = rt_op_emit(op, in);
    if (rc)
        return rc;
    if (w->idle && in->n) {
        /* active again: a watermark (even an unchanged one) says so downstream */
        w->idle = false;
        if (w->emitted != RT_WATERMARK_MIN && (rc = rt_op_emit_watermark(op, w->emitted)))
            return rc;
    }
    if (mx == RT_WATERMARK_MIN)
        return 0;
    int64_t wm = mx - op->pop->delay_ms;
    if (wm > w->emitted) {
        w->emitted = wm;
        op->watermark = wm;
        return rt_op_emit_watermark(op, wm);
    }
    return 0;
}

/* Upstream watermarks (end of input) pass when they are ahead of ours. */
static int wm_watermark(rt_op *op, int64_t wm)
{
    wm_op *w = (wm_op *)op;
    if (wm <= w->emitted)
        return 0;
    w->emitted = wm;
    op->watermark = wm;
    return rt_op_emit_watermark(op, wm);
}

static int wm_tick(rt_op *op, int64_t now_ms)
{
    wm_op *w = (wm_op *)op;
    if (w->idle_timeout_ms > 0 && !w->idle && now_ms - w->last_rows_ms >= w->idle_timeout_ms) {
        w->idle = true;
        rt_op_emit_idle(op);
    }
    return 0;
}

static void wm_destroy(rt_op *op)
{
    free(op);
}

static const rt_op_vt wm_vt = {
    .process = wm_process, .watermark = wm_watermark, .tick = wm_tick, .destroy = wm_destroy};

int rt_op_watermark_new(const rt_plan *plan, const rt_plan_op *pop, uint32_t subtask, rt_op **out,
                        weir_error *err)
{
    wm_op *w = calloc(1, sizeof(*w));
    if (!w)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    w->op.vt = &wm_vt;
    w->max_ts = RT_WATERMARK_MIN;
    w->emitted = RT_WATERMARK_MIN;
    w->idle_timeout_ms = pop->idle_timeout_ms;
    w->last_rows_ms = mono_ms();
    *out = &w->op;
    return 0;
}
