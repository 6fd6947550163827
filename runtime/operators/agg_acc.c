/*
 * agg_acc.c - aggregate accumulators (see agg_acc.h).
 *
 * Integer sums wrap as Java's do (computed in unsigned arithmetic). AVG of an integer type is an
 * integer (Flink truncates); AVG of DOUBLE/FLOAT is a double; AVG of DECIMAL keeps the scale.
 * The last accumulator slot past the aggregates counts rows for group emission.
 *
 * Layer: runtime/operators (internal).
 */
#include "runtime/operators/agg_acc.h"

int agg_acc_update(agg_acc *accs, const rt_plan_agg *aggs, uint32_t naggs, const rt_batch *in,
                   uint32_t row, int sign)
{
    for (uint32_t i = 0; i < naggs; i++) {
        const rt_plan_agg *a = &aggs[i];
        agg_acc *acc = &accs[i];
        if (a->arg < 0) {
            acc->count += sign;
            continue;
        }
        const rt_col *c = &in->cols[a->arg];
        if (c->null[row])
            continue;
        bool f = rt_type_phys(c->type) == RT_PHYS_F64;
        switch (a->fn) {
        case RT_AGG_COUNT:
            acc->count += sign;
            break;
        case RT_AGG_SUM:
        case RT_AGG_AVG:
            if (f)
                acc->v.d += sign * c->f64[row];
            else if (sign > 0)
                acc->v.i = (int64_t)((uint64_t)acc->v.i + (uint64_t)c->i64[row]);
            else
                acc->v.i = (int64_t)((uint64_t)acc->v.i - (uint64_t)c->i64[row]);
            acc->count += sign;
            break;
        case RT_AGG_MIN:
        case RT_AGG_MAX:
            if (sign < 0)
                return WEIR_EUNSUPPORTED;
            if (acc->count == 0) {
                acc->v.i = c->i64[row]; /* same bits for doubles */
            } else if (f) {
                double v = c->f64[row];
                if (a->fn == RT_AGG_MIN ? v < acc->v.d : v > acc->v.d)
                    acc->v.d = v;
            } else {
                int64_t v = c->i64[row];
                if (a->fn == RT_AGG_MIN ? v < acc->v.i : v > acc->v.i)
                    acc->v.i = v;
            }
            acc->count++;
            break;
        }
    }
    accs[naggs].count += sign;
    return 0;
}

void agg_acc_result(const agg_acc *accs, const rt_plan_agg *aggs, uint32_t naggs, rt_batch *out,
                    uint32_t row, uint32_t first)
{
    for (uint32_t i = 0; i < naggs; i++) {
        const rt_plan_agg *a = &aggs[i];
        const agg_acc *acc = &accs[i];
        rt_col *c = &out->cols[first + i];
        bool f = rt_type_phys(a->out) == RT_PHYS_F64;
        c->null[row] = 0;
        if (a->fn == RT_AGG_COUNT) {
            c->i64[row] = acc->count;
            continue;
        }
        if (acc->count <= 0) {
            c->null[row] = 1;
            c->i64[row] = 0;
            continue;
        }
        if (a->fn == RT_AGG_AVG) {
            if (f)
                c->f64[row] = acc->v.d / (double)acc->count;
            else
                c->i64[row] = acc->v.i / acc->count;
        } else
            c->i64[row] = acc->v.i;
        /* Narrow integer results wrap to their type as Java's would. */
        switch (a->out.kind) {
        case RT_TINYINT:
            c->i64[row] = (int8_t)c->i64[row];
            break;
        case RT_SMALLINT:
            c->i64[row] = (int16_t)c->i64[row];
            break;
        case RT_INT:
            c->i64[row] = (int32_t)c->i64[row];
            break;
        case RT_FLOAT:
            c->f64[row] = (float)c->f64[row];
            break;
        default:
            break;
        }
    }
}

int64_t agg_acc_rows(const agg_acc *accs, uint32_t naggs)
{
    return accs[naggs].count;
}
