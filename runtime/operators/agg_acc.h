/*
 * agg_acc.h - accumulators of COUNT, SUM, MIN, MAX and AVG, shared by the window and group
 * aggregation operators. The accumulators of a row of aggregates are one keyed-state value,
 * updated in place: 16 bytes (one agg_acc) per aggregate, 32 bytes (two) for the wide ones —
 * SUM/AVG of DECIMAL (a 192-bit sum) and MIN/MAX of DECIMAL with precision above 18 — and a
 * last 16-byte slot that counts the group's rows.
 *
 * Layer: runtime/operators (internal).
 */
#ifndef WEIR_RT_AGG_ACC_H
#define WEIR_RT_AGG_ACC_H

#include "runtime/engine/batch.h"
#include "runtime/plan/plan.h"

typedef struct agg_acc {
    int64_t count; /* rows counted (COUNT(*)) or non-NULL arguments */
    union {
        int64_t i;
        double d;
    } v;
} agg_acc;

/* Bytes of the accumulators of aggs[0..naggs) including the row count: the state value size. */
uint32_t agg_acc_size(const rt_plan_agg *aggs, uint32_t naggs);

/* Adds (sign +1) or retracts (sign -1) row `row` of `in` into accs. Returns 0, or
 * WEIR_EUNSUPPORTED when MIN/MAX would have to retract. */
int agg_acc_update(agg_acc *accs, const rt_plan_agg *aggs, uint32_t naggs, const rt_batch *in,
                   uint32_t row, int sign);

/* As agg_acc_update, but a DISTINCT aggregate i takes the row with sign dsign[i] (+1: its value
 * is new in the group, -1: the value's last occurrence left it, 0: no change; agg_distinct.h)
 * instead of row_sign. dsign NULL: as agg_acc_update. */
int agg_acc_update_distinct(agg_acc *accs, const rt_plan_agg *aggs, uint32_t naggs,
                            const rt_batch *in, uint32_t row, int row_sign, const int8_t *dsign);

/* Merges the partial accumulators `part` (a local aggregation's, same aggregates) into accs:
 * counts and sums add, MIN/MAX keep the smaller/larger value. `part` may be unaligned. */
void agg_acc_merge(agg_acc *accs, const void *part, const rt_plan_agg *aggs, uint32_t naggs);

/* Writes the results into columns [first, first+naggs) of row `row` of `out`. */
void agg_acc_result(const agg_acc *accs, const rt_plan_agg *aggs, uint32_t naggs, rt_batch *out,
                    uint32_t row, uint32_t first);

/* The count that says whether a group still has rows (COUNT(*) semantics). */
int64_t agg_acc_rows(const agg_acc *accs, const rt_plan_agg *aggs, uint32_t naggs);

#endif
