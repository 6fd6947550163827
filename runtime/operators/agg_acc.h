/*
 * agg_acc.h - accumulators of COUNT, SUM, MIN, MAX and AVG, shared by the window and group
 * aggregation operators. An accumulator is 16 bytes per aggregate, stored as the value of a
 * keyed-state entry and updated in place.
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

/* Adds (sign +1) or retracts (sign -1) row `row` of `in` into accs[0..naggs). Returns 0, or
 * WEIR_EUNSUPPORTED when MIN/MAX would have to retract. */
int agg_acc_update(agg_acc *accs, const rt_plan_agg *aggs, uint32_t naggs, const rt_batch *in,
                   uint32_t row, int sign);

/* Writes the results into columns [first, first+naggs) of row `row` of `out`. */
void agg_acc_result(const agg_acc *accs, const rt_plan_agg *aggs, uint32_t naggs, rt_batch *out,
                    uint32_t row, uint32_t first);

/* The count that says whether a group still has rows (COUNT(*) semantics). */
int64_t agg_acc_rows(const agg_acc *accs, uint32_t naggs);

#endif
