/*
 * decimal.h - exact DECIMAL(p, s) arithmetic up to precision 38, as Flink's DecimalData.
 *
 * A DECIMAL value is an integer `v` meaning v / 10^s. Precision 1..18 is stored in 64 bits
 * (RT_PHYS_I64, Flink's "compact" decimals), 19..38 in 128 bits (RT_PHYS_I128); every function
 * here works on rt_i128 so callers widen once and narrow once. Operations are exact: sums and
 * products are formed in 256 bits, then rounded HALF_UP to the result scale (BigDecimal's
 * setScale(s, HALF_UP)); a result that does not fit the result precision is reported, and the
 * callers make it NULL as Flink does.
 *
 * The result-type rules follow Flink's LogicalTypeMerging (SQL Server's rules with Hive/Spark's
 * scale adjustment): precision above 38 is cut to 38, giving up scale down to min(s, 6).
 *
 * Layer: runtime/ leaf. Depends on types.h.
 */
#ifndef WEIR_RT_DECIMAL_H
#define WEIR_RT_DECIMAL_H

#include "runtime/types/types.h"

#define RT_DECIMAL_MAX_PRECISION     38
#define RT_DECIMAL_COMPACT_PRECISION 18 /* the largest precision stored in 64 bits */

/* 10^n for n <= 38. */
rt_i128 rt_dec_pow10(unsigned n);

/* True when |v| < 10^precision. */
bool rt_dec_fits(rt_i128 v, unsigned precision);

/*
 * Exact operations on a (scale sa) and b (scale sb), rounded HALF_UP to scale `to`. Return
 * true and *out, or false when the exact result does not fit in 128 bits (callers also check
 * rt_dec_fits for the result precision). rt_dec_div and rt_dec_mod need b != 0. rt_dec_mod has
 * the sign of a, as Java's BigDecimal.remainder.
 */
bool rt_dec_add(rt_i128 a, unsigned sa, rt_i128 b, unsigned sb, unsigned to, rt_i128 *out);
bool rt_dec_sub(rt_i128 a, unsigned sa, rt_i128 b, unsigned sb, unsigned to, rt_i128 *out);
bool rt_dec_mul(rt_i128 a, unsigned sa, rt_i128 b, unsigned sb, unsigned to, rt_i128 *out);
bool rt_dec_div(rt_i128 a, unsigned sa, rt_i128 b, unsigned sb, unsigned to, rt_i128 *out);
bool rt_dec_mod(rt_i128 a, unsigned sa, rt_i128 b, unsigned sb, unsigned to, rt_i128 *out);

/* v at scale `from` rounded HALF_UP (or multiplied) to scale `to`; false on overflow. */
bool rt_dec_rescale(rt_i128 v, unsigned from, unsigned to, rt_i128 *out);

/* -1, 0 or 1 comparing a (scale sa) with b (scale sb), exactly. */
int rt_dec_cmp(rt_i128 a, unsigned sa, rt_i128 b, unsigned sb);

/*
 * Parses decimal text ("-12.345", "1e3", " 7 ") at scale `scale`, rounding extra fraction
 * digits HALF_UP. Returns 0, 1 when the value does not fit in 38 digits at that scale, or -1
 * when the text is not a number.
 */
int rt_dec_parse(const char *s, size_t len, unsigned scale, rt_i128 *out);

/* Formats v at `scale` as Flink prints DECIMAL ("-0.50", "12"). snprintf semantics. */
int rt_dec_format(rt_i128 v, unsigned scale, char *buf, size_t size);

/* The nearest double of v / 10^scale. */
double rt_dec_to_double(rt_i128 v, unsigned scale);

/* A double as Flink's CAST does (BigDecimal.valueOf(d).setScale(scale, HALF_UP)); false for NaN,
 * infinities and values that do not fit in 38 digits. */
bool rt_dec_from_double(double d, unsigned scale, rt_i128 *out);

/* Result types (nullable; callers set nullability), Flink's LogicalTypeMerging rules. */
rt_type rt_dec_add_type(unsigned p1, unsigned s1, unsigned p2, unsigned s2);
rt_type rt_dec_mul_type(unsigned p1, unsigned s1, unsigned p2, unsigned s2);
rt_type rt_dec_div_type(unsigned p1, unsigned s1, unsigned p2, unsigned s2);
rt_type rt_dec_mod_type(unsigned p1, unsigned s1, unsigned p2, unsigned s2);
/* The common type of CASE/COALESCE/UNION branches (no extra digit). */
rt_type rt_dec_common_type(unsigned p1, unsigned s1, unsigned p2, unsigned s2);
/* ROUND(DECIMAL(p, s), r). */
rt_type rt_dec_round_type(unsigned p, unsigned s, int r);
/* SUM(DECIMAL(p, s)) is DECIMAL(38, s); AVG is DECIMAL(38, s) / DECIMAL(20, 0). */
rt_type rt_dec_sum_type(unsigned s);
rt_type rt_dec_avg_type(unsigned s);

#endif
