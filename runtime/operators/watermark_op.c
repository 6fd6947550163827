/*
 * watermark_op.c - the watermark assigner: watermark = max(rowtime seen) - delay, emitted after
 * each batch when it advanced (Flink SQL's `WATERMARK FOR ts AS ts - INTERVAL ...`).
 *
 * Layer: runtime/operators.
 */
#include "runtime/engine/operator.h"

#include <stdlib.h>

typedef struct wm_op {
    rt_op op;
    int64_t max_ts;
    int64_t emitted;
} wm_op;

static int wm_process(rt_op *op, const rt_batch *in)
{
    wm_op *w = (wm_op *)op;
    const rt_col *c = &in->cols[op->pop->rowtime];
    int64_t mx = w->max_ts;
    for (uint32_t r = 0; r < in->n; r++)
        if (!c->null[r] && c->i64[r] > mx)
            mx = c->i64[r];
    w->max_ts = mx;
    int rc = rt_op_emit(op, in);
    if (rc)
        return rc;
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

static void wm_destroy(rt_op *op)
{
    free(op);
}

static const rt_op_vt wm_vt = {
    .process = wm_process, .watermark = wm_watermark, .destroy = wm_destroy};

int rt_op_watermark_new(const rt_plan *plan, const rt_plan_op *pop, uint32_t subtask, rt_op **out,
                        weir_error *err)
{
    wm_op *w = calloc(1, sizeof(*w));
    if (!w)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    w->op.vt = &wm_vt;
    w->max_ts = RT_WATERMARK_MIN;
    w->emitted = RT_WATERMARK_MIN;
    *out = &w->op;
    return 0;
}
