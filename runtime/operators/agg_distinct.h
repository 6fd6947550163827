/*
 * agg_distinct.h - DISTINCT aggregates (COUNT(DISTINCT x), SUM(DISTINCT x) ...) in the keyed
 * aggregations, as Flink keeps a MapView of the distinct values: how many times each value of
 * a distinct aggregate's argument occurs in a group (and window) is kept in keyed state beside
 * the group's accumulators, and decides whether a row changes the aggregate — the first
 * occurrence of a value adds it, the retraction of its last occurrence takes it out.
 *
 * Entries: the group's key group and the given namespace; key = the group key's encoding, the
 * argument's encoding (rt_key_encode: prefix-free, so no entry has a group's key) and one byte,
 * 0xD0 + the aggregate's index; value = an int64 count (AGG_DISTINCT_VLEN bytes, never an
 * accumulator's size).
 *
 * Layer: runtime/operators (internal).
 */
#ifndef WEIR_RT_AGG_DISTINCT_H
#define WEIR_RT_AGG_DISTINCT_H

#include "runtime/engine/operator.h"

#define AGG_DISTINCT_VLEN 8

/* True when one of the operator's aggregates is DISTINCT. */
bool agg_distinct_any(const rt_plan_op *p);

/*
 * For row `row` of `in`, entering (sign +1) or leaving (sign -1) the group whose encoded key is
 * key[0..klen) in key group kg and namespace ns: updates the counts of the DISTINCT aggregates'
 * values and sets dsign[i] for each DISTINCT aggregate i (+1 a new value, -1 a value's last
 * occurrence gone, 0 otherwise; 0 for a NULL argument). Other entries of dsign are untouched.
 * Returns 0, or a state error with op->err set.
 */
int agg_distinct_signs(rt_op *op, uint32_t kg, uint64_t ns, const uint8_t *key, uint32_t klen,
                       const rt_batch *in, uint32_t row, int sign, int8_t *dsign);

#endif
