/*
 * test_agg_acc.c - aggregate accumulators: DECIMAL SUM/AVG as Flink types them (DECIMAL(38, s),
 * DECIMAL(38, max(6, s))) with sums beyond 64 bits, overflow past 38 digits to NULL and back on
 * retraction, MIN/MAX of 128-bit DECIMALs, and the state value layout (sizes, 8-byte alignment).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/operators/agg_acc.h"
#include "runtime/types/decimal.h"

#include <stdlib.h>
#include <string.h>

static rt_plan_agg agg(rt_agg_fn fn, int arg, rt_type in)
{
    rt_plan_agg a = {.fn = fn, .arg = arg, .in = in, .out = in};
    if (fn == RT_AGG_COUNT)
        a.out = rt_type_of(RT_BIGINT);
    else if (fn == RT_AGG_SUM && in.kind == RT_DECIMAL)
        a.out = rt_dec_sum_type(in.scale);
    else if (fn == RT_AGG_AVG && in.kind == RT_DECIMAL)
        a.out = rt_dec_avg_type(in.scale);
    return a;
}

/* Formats result column `i` of the accumulators into buf. */
static const char *result(const agg_acc *accs, const rt_plan_agg *aggs, uint32_t naggs, uint32_t i,
                          char *buf, size_t size)
{
    rt_type types[8];
    for (uint32_t k = 0; k < naggs; k++)
        types[k] = aggs[k].out;
    rt_batch *out = rt_batch_new_types(types, naggs, 1);
    agg_acc_result(accs, aggs, naggs, out, 0, 0);
    out->n = 1;
    rt_col_format(&out->cols[i], 0, buf, size);
    rt_batch_free(out);
    return buf;
}

static void test_decimal_sum_avg(void **state)
{
    (void)state;
    rt_type t[3] = {rt_type_decimal(10, 2), rt_type_decimal(18, 0), rt_type_decimal(38, 0)};
    rt_plan_agg aggs[5] = {agg(RT_AGG_SUM, 0, t[0]), agg(RT_AGG_AVG, 0, t[0]),
                           agg(RT_AGG_SUM, 1, t[1]), agg(RT_AGG_SUM, 2, t[2]),
                           agg(RT_AGG_AVG, 2, t[2])};
    char tb[64];
    assert_string_equal(rt_type_format(aggs[0].out, tb, sizeof(tb)), "DECIMAL(38, 2)");
    assert_string_equal(rt_type_format(aggs[1].out, tb, sizeof(tb)), "DECIMAL(38, 6)");
    assert_string_equal(rt_type_format(aggs[3].out, tb, sizeof(tb)), "DECIMAL(38, 0)");
    /* 5 wide aggregates (2 slots each) and the row count */
    uint32_t size = agg_acc_size(aggs, 5);
    assert_int_equal(size, (5 * 2 + 1) * sizeof(agg_acc));
    /* state values are 8-byte aligned only: keep the accumulators off 16-byte alignment */
    uint8_t *mem = calloc(1, size + 8);
    agg_acc *accs = (agg_acc *)(mem + 8);
    rt_batch *in = rt_batch_new_types(t, 3, 1);
    in->n = 1;
    in->cols[0].i64[0] = 9999999999;                /* 99999999.99 */
    in->cols[1].i64[0] = 999999999999999999;        /* 18 nines */
    in->cols[2].i128[0] = 9 * rt_dec_pow10(37) / 2; /* 4.5 * 10^37 */
    for (int i = 0; i < 100000; i++)
        assert_int_equal(agg_acc_update(accs, aggs, 5, in, 0, 1), 0);
    char b[80];
    /* 100000 * 99999999.99, and 100000 * (10^18 - 1) beyond 64 bits */
    assert_string_equal(result(accs, aggs, 5, 0, b, sizeof(b)), "9999999999000.00");
    assert_string_equal(result(accs, aggs, 5, 1, b, sizeof(b)), "99999999.990000");
    assert_string_equal(result(accs, aggs, 5, 2, b, sizeof(b)), "99999999999999999900000");
    /* 100000 * 4.5 * 10^37 does not fit 38 digits: NULL, and so is the AVG over that sum */
    assert_string_equal(result(accs, aggs, 5, 3, b, sizeof(b)), "NULL");
    assert_string_equal(result(accs, aggs, 5, 4, b, sizeof(b)), "NULL");
    assert_int_equal(agg_acc_rows(accs, aggs, 5), 100000);
    /* retracting all but two rows brings the exact sum back */
    for (int i = 0; i < 99998; i++)
        assert_int_equal(agg_acc_update(accs, aggs, 5, in, 0, -1), 0);
    assert_string_equal(result(accs, aggs, 5, 3, b, sizeof(b)),
                        "90000000000000000000000000000000000000");
    /* their average, 4.5 * 10^37, needs 38 + 6 digits in DECIMAL(38, 6): NULL as in Flink */
    assert_string_equal(result(accs, aggs, 5, 4, b, sizeof(b)), "NULL");
    assert_int_equal(agg_acc_rows(accs, aggs, 5), 2);
    /* negative values and HALF_UP in AVG: (-1 + -2) / 2 = -1.5 at scale 6 */
    memset(accs, 0, size);
    in->cols[2].i128[0] = -1;
    assert_int_equal(agg_acc_update(accs, aggs, 5, in, 0, 1), 0);
    in->cols[2].i128[0] = -2;
    assert_int_equal(agg_acc_update(accs, aggs, 5, in, 0, 1), 0);
    assert_string_equal(result(accs, aggs, 5, 3, b, sizeof(b)), "-3");
    assert_string_equal(result(accs, aggs, 5, 4, b, sizeof(b)), "-1.500000");
    /* NULL arguments are skipped; no non-NULL argument gives NULL */
    memset(accs, 0, size);
    in->cols[0].null[0] = in->cols[1].null[0] = in->cols[2].null[0] = 1;
    assert_int_equal(agg_acc_update(accs, aggs, 5, in, 0, 1), 0);
    assert_string_equal(result(accs, aggs, 5, 0, b, sizeof(b)), "NULL");
    assert_string_equal(result(accs, aggs, 5, 4, b, sizeof(b)), "NULL");
    assert_int_equal(agg_acc_rows(accs, aggs, 5), 1);
    rt_batch_free(in);
    free(mem);
}

static void test_decimal_min_max(void **state)
{
    (void)state;
    rt_type t[2] = {rt_type_decimal(38, 10), rt_type_of(RT_BIGINT)};
    rt_plan_agg aggs[4] = {agg(RT_AGG_MIN, 0, t[0]), agg(RT_AGG_MAX, 0, t[0]),
                           agg(RT_AGG_COUNT, -1, t[1]), agg(RT_AGG_MAX, 1, t[1])};
    uint32_t size = agg_acc_size(aggs, 4);
    assert_int_equal(size, (2 + 2 + 1 + 1 + 1) * sizeof(agg_acc));
    uint8_t *mem = calloc(1, size + 8);
    agg_acc *accs = (agg_acc *)(mem + 8);
    rt_batch *in = rt_batch_new_types(t, 2, 1);
    in->n = 1;
    const char *vals[] = {"12345678901234567890.1234567890",
                          "-9999999999999999999999999999.9999999999", "0.0000000001",
                          "9999999999999999999999999999.9999999999"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(rt_dec_parse(vals[i], strlen(vals[i]), 10, &in->cols[0].i128[0]), 0);
        in->cols[1].i64[0] = i * 10;
        assert_int_equal(agg_acc_update(accs, aggs, 4, in, 0, 1), 0);
    }
    char b[80];
    assert_string_equal(result(accs, aggs, 4, 0, b, sizeof(b)), vals[1]);
    assert_string_equal(result(accs, aggs, 4, 1, b, sizeof(b)), vals[3]);
    assert_string_equal(result(accs, aggs, 4, 2, b, sizeof(b)), "4");
    assert_string_equal(result(accs, aggs, 4, 3, b, sizeof(b)), "30");
    /* MIN/MAX cannot retract */
    assert_int_equal(agg_acc_update(accs, aggs, 4, in, 0, -1), WEIR_EUNSUPPORTED);
    rt_batch_free(in);
    free(mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal_sum_avg),
        cmocka_unit_test(test_decimal_min_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
