/*
 * agg_acc.c - aggregate accumulators (see agg_acc.h).
 *
 * Integer sums wrap as Java's do (computed in unsigned arithmetic). AVG of an integer type is an
 * integer (Flink truncates); AVG of DOUBLE/FLOAT is a double. DECIMAL sums are exact in 192 bits
 * (so retractions undo additions exactly); SUM is DECIMAL(38, s) and AVG DECIMAL(38, max(6, s)) as
 * in Flink, NULL when the sum does not fit 38 digits. The last accumulator slot past the aggregates
 * counts rows for group emission.
 *
 * Layer: runtime/operators (internal).
 */
#include "runtime/operators/agg_acc.h"

#include "runtime/types/decimal.h"

#include <string.h>

/* A wide accumulator: two agg_acc slots. `w` is a 192-bit two's-complement DECIMAL sum (least
 * significant word first), or a 128-bit MIN/MAX in w[0], w[1]. Loaded and stored with memcpy:
 * state values are only 8-byte aligned. */
typedef struct wide_acc {
    int64_t count;
    uint64_t w[3];
} wide_acc;

_Static_assert(sizeof(wide_acc) == 2 * sizeof(agg_acc), "a wide accumulator is two slots");

static bool is_wide(const rt_plan_agg *a)
{
    if (a->out.kind != RT_DECIMAL)
        return false;
    return a->fn == RT_AGG_SUM || a->fn == RT_AGG_AVG ||
           ((a->fn == RT_AGG_MIN || a->fn == RT_AGG_MAX) && rt_type_phys(a->out) == RT_PHYS_I128);
}

static uint32_t slots(const rt_plan_agg *a)
{
    return is_wide(a) ? 2 : 1;
}

uint32_t agg_acc_size(const rt_plan_agg *aggs, uint32_t naggs)
{
    uint32_t n = 1;
    for (uint32_t i = 0; i < naggs; i++)
        n += slots(&aggs[i]);
    return n * (uint32_t)sizeof(agg_acc);
}

static rt_i128 w128(const wide_acc *x)
{
    return (rt_i128)(((rt_u128)x->w[1] << 64) | x->w[0]);
}

static void set_w128(wide_acc *x, rt_i128 v)
{
    x->w[0] = (uint64_t)(rt_u128)v;
    x->w[1] = (uint64_t)((rt_u128)v >> 64);
    x->w[2] = v < 0 ? UINT64_MAX : 0;
}

static void wide_add(wide_acc *x, rt_i128 v)
{
    uint64_t add[3] = {(uint64_t)(rt_u128)v, (uint64_t)((rt_u128)v >> 64), v < 0 ? UINT64_MAX : 0};
    rt_u128 carry = 0;
    for (int i = 0; i < 3; i++) {
        carry += (rt_u128)x->w[i] + add[i];
        x->w[i] = (uint64_t)carry;
        carry >>= 64;
    }
}

/* The 192-bit sum as 128 bits; false when it does not fit. */
static bool wide_sum(const wide_acc *x, rt_i128 *out)
{
    bool top = x->w[1] >> 63;
    if (x->w[2] != (top ? UINT64_MAX : 0))
        return false;
    *out = w128(x);
    return true;
}

static void update_wide(agg_acc *slot, const rt_plan_agg *a, const rt_col *c, uint32_t row,
                        int sign)
{
    wide_acc x;
    memcpy(&x, slot, sizeof(x));
    rt_i128 v = rt_col_dec(c, row); /* |v| < 10^38: negation is exact */
    if (a->fn == RT_AGG_SUM || a->fn == RT_AGG_AVG) {
        wide_add(&x, sign > 0 ? v : -v);
    } else if (x.count == 0 || (a->fn == RT_AGG_MIN ? v < w128(&x) : v > w128(&x))) {
        set_w128(&x, v);
    }
    x.count += sign;
    memcpy(slot, &x, sizeof(x));
}

int agg_acc_update(agg_acc *accs, const rt_plan_agg *aggs, uint32_t naggs, const rt_batch *in,
                   uint32_t row, int sign)
{
    return agg_acc_update_distinct(accs, aggs, naggs, in, row, sign, NULL);
}

int agg_acc_update_distinct(agg_acc *accs, const rt_plan_agg *aggs, uint32_t naggs,
                            const rt_batch *in, uint32_t row, int row_sign, const int8_t *dsign)
{
    for (uint32_t i = 0; i < naggs; accs += slots(&aggs[i]), i++) {
        const rt_plan_agg *a = &aggs[i];
        agg_acc *acc = accs;
        int sign = a->distinct && dsign ? dsign[i] : row_sign;
        if (sign == 0)
            continue;
        if (a->arg < 0) {
            acc->count += sign;
            continue;
        }
        const rt_col *c = &in->cols[a->arg];
        if (c->null[row])
            continue;
        if ((a->fn == RT_AGG_MIN || a->fn == RT_AGG_MAX) && sign < 0)
            return WEIR_EUNSUPPORTED;
        if (is_wide(a)) {
            update_wide(acc, a, c, row, sign);
            continue;
        }
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
    accs->count += row_sign;
    return 0;
}

static void merge_wide(agg_acc *slot, const rt_plan_agg *a, const void *part)
{
    wide_acc x, y;
    memcpy(&x, slot, sizeof(x));
    memcpy(&y, part, sizeof(y));
    if (a->fn == RT_AGG_SUM || a->fn == RT_AGG_AVG) {
        rt_u128 carry = 0;
        for (int i = 0; i < 3; i++) {
            carry += (rt_u128)x.w[i] + y.w[i];
            x.w[i] = (uint64_t)carry;
            carry >>= 64;
        }
    } else if (y.count > 0 && (x.count == 0 ||
                               (a->fn == RT_AGG_MIN ? w128(&y) < w128(&x) : w128(&y) > w128(&x)))) {
        x.w[0] = y.w[0];
        x.w[1] = y.w[1];
        x.w[2] = y.w[2];
    }
    x.count += y.count;
    memcpy(slot, &x, sizeof(x));
}

void agg_acc_merge(agg_acc *accs, const void *part, const rt_plan_agg *aggs, uint32_t naggs)
{
    const unsigned char *src = part;
    for (uint32_t i = 0; i < naggs;
         accs += slots(&aggs[i]), src += slots(&aggs[i]) * sizeof(agg_acc), i++) {
        const rt_plan_agg *a = &aggs[i];
        agg_acc *acc = accs, y;
        if (is_wide(a)) {
            merge_wide(acc, a, src);
            continue;
        }
        memcpy(&y, src, sizeof(y));
        bool f = rt_type_phys(a->in) == RT_PHYS_F64;
        switch (a->fn) {
        case RT_AGG_COUNT:
            break;
        case RT_AGG_SUM:
        case RT_AGG_AVG:
            if (f)
                acc->v.d += y.v.d;
            else
                acc->v.i = (int64_t)((uint64_t)acc->v.i + (uint64_t)y.v.i);
            break;
        case RT_AGG_MIN:
        case RT_AGG_MAX:
            if (y.count <= 0)
                break;
            if (acc->count == 0)
                acc->v = y.v;
            else if (f ? (a->fn == RT_AGG_MIN ? y.v.d < acc->v.d : y.v.d > acc->v.d)
                       : (a->fn == RT_AGG_MIN ? y.v.i < acc->v.i : y.v.i > acc->v.i))
                acc->v = y.v;
            break;
        }
        acc->count += y.count;
    }
    agg_acc rows;
    memcpy(&rows, src, sizeof(rows));
    accs->count += rows.count;
}

static void result_wide(const agg_acc *slot, const rt_plan_agg *a, rt_col *c, uint32_t row)
{
    wide_acc x;
    memcpy(&x, slot, sizeof(x));
    rt_i128 v = 0;
    bool ok;
    if (a->fn == RT_AGG_MIN || a->fn == RT_AGG_MAX)
        ok = rt_dec_rescale(w128(&x), a->in.scale, a->out.scale, &v);
    else if (!wide_sum(&x, &v) || !rt_dec_fits(v, RT_DECIMAL_MAX_PRECISION))
        ok = false; /* the DECIMAL(38, s) sum overflowed: NULL, as Flink's */
    else if (a->fn == RT_AGG_AVG)
        ok = rt_dec_div(v, a->in.scale, x.count, 0, a->out.scale, &v);
    else
        ok = rt_dec_rescale(v, a->in.scale, a->out.scale, &v);
    if (!ok || !rt_dec_fits(v, a->out.precision)) {
        c->null[row] = 1;
        rt_col_set_dec(c, row, 0);
        return;
    }
    rt_col_set_dec(c, row, v);
}

void agg_acc_result(const agg_acc *accs, const rt_plan_agg *aggs, uint32_t naggs, rt_batch *out,
                    uint32_t row, uint32_t first)
{
    for (uint32_t i = 0; i < naggs; accs += slots(&aggs[i]), i++) {
        const rt_plan_agg *a = &aggs[i];
        const agg_acc *acc = accs;
        rt_col *c = &out->cols[first + i];
        bool f = rt_type_phys(a->out) == RT_PHYS_F64;
        c->null[row] = 0;
        if (a->fn == RT_AGG_COUNT) {
            c->i64[row] = acc->count;
            continue;
        }
        if (acc->count <= 0) {
            c->null[row] = 1;
            if (rt_type_phys(a->out) == RT_PHYS_I128)
                c->i128[row] = 0;
            else
                c->i64[row] = 0;
            continue;
        }
        if (is_wide(a)) {
            result_wide(acc, a, c, row);
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

int64_t agg_acc_rows(const agg_acc *accs, const rt_plan_agg *aggs, uint32_t naggs)
{
    for (uint32_t i = 0; i < naggs; i++)
        accs += slots(&aggs[i]);
    return accs->count;
}
