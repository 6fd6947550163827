/*
 * test_agg_acc.c - aggregate accumulators: DECIMAL SUM/AVG as Flink types them (DECIMAL(38, s),
 * DECIMAL(38, max(6, s))) with sums beyond 64 bits, overflow past 38 digits to NULL and back on
 * retraction, MIN/MAX of 128-bit DECIMALs, the state value layout (sizes, 8-byte alignment), and
 * merging partial accumulators (two-phase aggregation).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/operators/agg_acc.h"
#include "runtime/types/decimal.h"

#include <math.h>
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
    rt_type types[16];
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

/* Merging partial accumulators (two-phase aggregation) gives what accumulating every row in
 * one place gives: rows split at random into partials of random sizes (with retractions of SUM
 * and COUNT, NULLs, negative values, DECIMAL sums beyond 64 bits, a partial without rows) and
 * merged in order equal the direct accumulation, result by result and row count. */
static void test_merge(void **state)
{
    (void)state;
    rt_type t[5] = {rt_type_of(RT_BIGINT), rt_type_of(RT_DOUBLE), rt_type_decimal(38, 3),
                    rt_type_of(RT_INT), rt_type_decimal(10, 2)};
    enum { NA = 12 };
    rt_plan_agg aggs[NA] = {
        agg(RT_AGG_COUNT, -1, t[0]), agg(RT_AGG_COUNT, 1, t[1]), agg(RT_AGG_SUM, 0, t[0]),
        agg(RT_AGG_SUM, 1, t[1]),    agg(RT_AGG_SUM, 2, t[2]),   agg(RT_AGG_AVG, 3, t[3]),
        agg(RT_AGG_AVG, 2, t[2]),    agg(RT_AGG_MIN, 0, t[0]),   agg(RT_AGG_MAX, 1, t[1]),
        agg(RT_AGG_MIN, 2, t[2]),    agg(RT_AGG_MAX, 4, t[4]),   agg(RT_AGG_AVG, 1, t[1])};
    uint32_t size = agg_acc_size(aggs, NA);
    uint8_t *m1 = calloc(1, size + 8), *m2 = calloc(1, size + 8), *m3 = calloc(1, size + 8);
    agg_acc *direct = (agg_acc *)(m1 + 8), *merged = (agg_acc *)(m2 + 8);
    uint8_t *part = m3 + 1; /* partials arrive unaligned, as BYTES */
    rt_batch *in = rt_batch_new_types(t, 5, 1);
    in->n = 1;
    srand(7);
    bool retracting = true; /* the first half may retract SUM/COUNT/AVG; MIN/MAX never */
    rt_plan_agg *use = aggs;
    for (int round = 0; round < 2; round++) {
        uint32_t n = retracting ? 7 : NA; /* without MIN/MAX while retracting */
        if (retracting) {
            static rt_plan_agg r[7];
            int pick[7] = {0, 1, 2, 3, 4, 5, 6};
            for (int i = 0; i < 7; i++)
                r[i] = aggs[pick[i]];
            use = r;
            size = agg_acc_size(use, n);
        } else {
            use = aggs;
            size = agg_acc_size(use, n);
        }
        memset(direct, 0, size);
        memset(merged, 0, size);
        for (int rows = 0; rows < 5000;) {
            int len = rand() % 50; /* 0: a partial of nothing */
            memset(part, 0, size);
            for (int i = 0; i < len; i++, rows++) {
                in->cols[0].i64[0] = (int64_t)(rand() % 2000001) - 1000000;
                in->cols[1].f64[0] = (rand() % 100000) / 7.0 - 5000;
                in->cols[2].i128[0] =
                    (rt_i128)((rand() % 2000001) - 1000000) * rt_dec_pow10(30) + rand();
                in->cols[3].i64[0] = rand() % 1000 - 500;
                in->cols[4].i64[0] = rand() % 100000;
                for (int c = 0; c < 5; c++)
                    in->cols[c].null[0] = rand() % 10 == 0;
                int sign = retracting && rows > 100 && rand() % 4 == 0 ? -1 : 1;
                agg_acc al[64];
                memcpy(al, part, size); /* update works on aligned accumulators */
                assert_int_equal(agg_acc_update(al, use, n, in, 0, sign), 0);
                memcpy(part, al, size);
                assert_int_equal(agg_acc_update(direct, use, n, in, 0, sign), 0);
            }
            agg_acc_merge(merged, part, use, n);
        }
        char b1[80], b2[80];
        for (uint32_t i = 0; i < n; i++) {
            result(direct, use, n, i, b1, sizeof(b1));
            result(merged, use, n, i, b2, sizeof(b2));
            if (rt_type_phys(use[i].out) == RT_PHYS_F64) /* sums in another order */
                assert_true(fabs(atof(b1) - atof(b2)) <= 1e-9 * (1 + fabs(atof(b1))));
            else
                assert_string_equal(b1, b2);
        }
        assert_int_equal(agg_acc_rows(direct, use, n), agg_acc_rows(merged, use, n));
        retracting = false;
    }
    /* merging an empty partial changes nothing; MIN/MAX take the smaller/larger value */
    uint8_t *snap = malloc(size);
    memcpy(snap, merged, size);
    memset(part, 0, size);
    agg_acc_merge(merged, part, aggs, NA);
    assert_memory_equal(snap, merged, size);
    free(snap);
    rt_batch_free(in);
    free(m1);
    free(m2);
    free(m3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal_sum_avg),
        cmocka_unit_test(test_decimal_min_max),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
