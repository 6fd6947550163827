/*
 * calc.c - the calc operator: a filter and a projection, both compiled once per subtask and
 * evaluated a batch at a time.
 *
 * Rows a filter drops are removed before the projection runs (as Flink's generated code
 * evaluates the condition first), by a shallow compaction that copies values, not strings.
 *
 * Layer: runtime/operators.
 */
#include "runtime/engine/operator.h"
#include "runtime/expr/expr.h"

#include <stdlib.h>
#include <string.h>

typedef struct calc_op {
    rt_op op;
    rt_expr *filter;
    rt_expr **proj;
    uint32_t nproj;
    uint8_t *keep;
    uint32_t keep_cap;
    rt_batch *kept; /* compacted input (shallow: strings point into the input) */
    rt_batch *out;
} calc_op;

/* Copies the rows of `in` with keep[r] into `dst` without copying string bytes. */
static void compact(rt_batch *dst, const rt_batch *in, const uint8_t *keep)
{
    uint32_t o = 0;
    for (uint32_t r = 0; r < in->n; r++) {
        if (!keep[r])
            continue;
        dst->kind[o] = in->kind[r];
        for (uint32_t c = 0; c < in->ncols; c++) {
            dst->cols[c].null[o] = in->cols[c].null[r];
            rt_phys ph = rt_type_phys(in->cols[c].type);
            if (ph == RT_PHYS_STR)
                dst->cols[c].str[o] = in->cols[c].str[r];
            else if (ph == RT_PHYS_I128)
                dst->cols[c].i128[o] = in->cols[c].i128[r];
            else
                dst->cols[c].i64[o] = in->cols[c].i64[r];
        }
        o++;
    }
    dst->n = o;
}

static int calc_process(rt_op *op, const rt_batch *in)
{
    calc_op *c = (calc_op *)op;
    const rt_batch *src = in;
    int rc;
    if (c->filter) {
        if (in->n > c->keep_cap) {
            uint8_t *k = realloc(c->keep, in->n);
            if (!k)
                return weir_error_set(op->err, WEIR_ENOMEM, "out of memory");
            c->keep = k;
            c->keep_cap = in->n;
        }
        if ((rc = rt_expr_eval_filter(c->filter, in, c->keep, op->err)))
            return rc;
        uint32_t kept = 0;
        for (uint32_t r = 0; r < in->n; r++)
            kept += c->keep[r];
        if (kept == 0)
            return 0;
        if (kept < in->n) {
            if (!c->kept || c->kept->cap < in->n) {
                rt_batch_free(c->kept);
                if (!(c->kept = rt_batch_new(op->plan->ops[op->pop->input].out, in->cap)))
                    return weir_error_set(op->err, WEIR_ENOMEM, "out of memory");
            }
            compact(c->kept, in, c->keep);
            src = c->kept;
        }
    }
    if (!c->proj)
        return rt_op_emit(op, src);
    if (!c->out || c->out->cap < src->n) {
        rt_batch_free(c->out);
        if (!(c->out = rt_batch_new(op->pop->out, src->cap)))
            return weir_error_set(op->err, WEIR_ENOMEM, "out of memory");
    }
    rt_batch_reset(c->out);
    for (uint32_t i = 0; i < c->nproj; i++)
        if ((rc = rt_expr_eval(c->proj[i], src, c->out, i, op->err)))
            return weir_error_prefix(op->err, "calc '%s'", op->pop->id);
    memcpy(c->out->kind, src->kind, src->n);
    c->out->n = src->n;
    return rt_op_emit(op, c->out);
}

static void calc_destroy(rt_op *op)
{
    calc_op *c = (calc_op *)op;
    rt_expr_free(c->filter);
    for (uint32_t i = 0; i < c->nproj; i++)
        rt_expr_free(c->proj[i]);
    free(c->proj);
    free(c->keep);
    rt_batch_free(c->kept);
    rt_batch_free(c->out);
    free(c);
}

static const rt_op_vt calc_vt = {.process = calc_process, .destroy = calc_destroy};

int rt_op_calc_new(const rt_plan *plan, const rt_plan_op *pop, uint32_t subtask, rt_op **out,
                   weir_error *err)
{
    calc_op *c = calloc(1, sizeof(*c));
    if (!c)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    c->op.vt = &calc_vt;
    const rt_schema *in = plan->ops[pop->input].out;
    int rc = 0;
    char p[256];
    if (pop->filter) {
        snprintf(p, sizeof(p), "%s.filter", pop->path);
        if ((rc = rt_expr_compile(pop->filter, in->types, in->ncols, p, &c->filter, err)))
            goto fail;
    }
    if (pop->projection) {
        c->nproj = (uint32_t)json_array_size(pop->projection);
        c->proj = calloc(c->nproj, sizeof(rt_expr *));
        if (!c->proj) {
            rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
            goto fail;
        }
        for (uint32_t i = 0; i < c->nproj; i++) {
            snprintf(p, sizeof(p), "%s.projection[%u].expr", pop->path, i);
            if ((rc = rt_expr_compile(json_object_get(json_array_get(pop->projection, i), "expr"),
                                      in->types, in->ncols, p, &c->proj[i], err)))
                goto fail;
        }
    }
    *out = &c->op;
    return 0;
fail:
    calc_destroy(&c->op);
    return rc;
}
