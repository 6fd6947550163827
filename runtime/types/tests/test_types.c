/*
 * test_types.c - SQL type parsing and formatting, values printed as Flink's CAST to STRING, and
 * DECIMAL arithmetic up to 38 digits (decimal.h) with Flink's result-type rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/types/decimal.h"
#include "runtime/types/types.h"

#include <math.h>
#include <string.h>

static void roundtrip(const char *in, const char *want)
{
    rt_type t;
    weir_error err = {0};
    if (rt_type_parse(in, &t, &err) != 0)
        fail_msg("parse '%s': %s", in, err.msg);
    char buf[64];
    assert_string_equal(rt_type_format(t, buf, sizeof(buf)), want);
}

static void test_parse(void **state)
{
    (void)state;
    roundtrip("int", "INT");
    roundtrip("INTEGER NOT NULL", "INT NOT NULL");
    roundtrip("BigInt", "BIGINT");
    roundtrip("DECIMAL(10, 2)", "DECIMAL(10, 2)");
    roundtrip("decimal(5)", "DECIMAL(5, 0)");
    roundtrip("DECIMAL", "DECIMAL(10, 0)");
    roundtrip("DECIMAL(38, 10)", "DECIMAL(38, 10)");
    roundtrip("NUMERIC(19) NOT NULL", "DECIMAL(19, 0) NOT NULL");
    roundtrip("VARCHAR(20)", "VARCHAR(20)");
    roundtrip("STRING", "STRING");
    roundtrip("CHAR(3)", "CHAR(3)");
    roundtrip("TIMESTAMP(3)", "TIMESTAMP(3)");
    roundtrip("TIMESTAMP", "TIMESTAMP(6)");
    roundtrip("TIMESTAMP(3) WITH LOCAL TIME ZONE", "TIMESTAMP_LTZ(3)");
    roundtrip("TIMESTAMP_LTZ(3)", "TIMESTAMP_LTZ(3)");
    roundtrip("DOUBLE", "DOUBLE");
    roundtrip("DOUBLE PRECISION", "DOUBLE");
    roundtrip("BOOLEAN", "BOOLEAN");
    roundtrip("DATE", "DATE");
    roundtrip("BYTES", "BYTES");
}

static void bad(const char *in, int code, const char *needle)
{
    rt_type t;
    weir_error err = {0};
    assert_int_equal(rt_type_parse(in, &t, &err), code);
    if (!strstr(err.msg, needle))
        fail_msg("'%s': message '%s' lacks '%s'", in, err.msg, needle);
}

static void test_parse_errors(void **state)
{
    (void)state;
    bad("INTEGR", WEIR_EPARSE, "unknown type 'INTEGR'");
    bad("DECIMAL(40, 2)", WEIR_EPARSE, "precision");
    bad("DECIMAL(5, 6)", WEIR_EPARSE, "scale");
    bad("VARCHAR(x)", WEIR_EPARSE, "bad type parameter");
    bad("INT NOT", WEIR_EPARSE, "expected NULL");
    bad("INT garbage", WEIR_EPARSE, "unexpected");
    bad("TIMESTAMP(12)", WEIR_EPARSE, "precision");
    bad("", WEIR_EPARSE, "not a SQL type");
}

static void fmt(rt_type t, int64_t i, double f, const char *s, const char *want)
{
    char buf[64];
    rt_str str = {s, s ? (uint32_t)strlen(s) : 0};
    int n = rt_value_format(t, i, f, str, buf, sizeof(buf));
    assert_string_equal(buf, want);
    assert_int_equal(n, (int)strlen(want));
}

static void test_format(void **state)
{
    (void)state;
    fmt(rt_type_of(RT_BOOLEAN), 1, 0, NULL, "TRUE");
    fmt(rt_type_of(RT_BIGINT), -42, 0, NULL, "-42");
    fmt(rt_type_decimal(5, 2), 150, 0, NULL, "1.50");
    fmt(rt_type_decimal(5, 2), -5, 0, NULL, "-0.05");
    fmt(rt_type_of(RT_DOUBLE), 0, 1.0, NULL, "1.0");
    fmt(rt_type_of(RT_DOUBLE), 0, 0.1, NULL, "0.1");
    fmt(rt_type_of(RT_DOUBLE), 0, 2.5e10, NULL, "2.5E10");
    fmt(rt_type_of(RT_DOUBLE), 0, 1234567.0, NULL, "1234567.0");
    fmt(rt_type_of(RT_DOUBLE), 0, 0.0001, NULL, "1.0E-4");
    fmt(rt_type_of(RT_DOUBLE), 0, -3.25, NULL, "-3.25");
    fmt(rt_type_of(RT_VARCHAR), 0, 0, "abc", "abc");
    fmt(rt_type_timestamp(3), 1704164645678, 0, NULL, "2024-01-02 03:04:05.678");
    fmt(rt_type_timestamp(0), 1704164645678, 0, NULL, "2024-01-02 03:04:05");
    fmt(rt_type_timestamp(3), -1, 0, NULL, "1969-12-31 23:59:59.999");
    fmt(rt_type_of(RT_DATE), 19724, 0, NULL, "2024-01-02");
}

/* --- DECIMAL ------------------------------------------------------------------------------ */

/* Parses `text` at `scale`, expecting rc 0 and the formatted value `want`. */
static rt_i128 dec(const char *text, unsigned scale, const char *want)
{
    rt_i128 v = 0;
    int rc = rt_dec_parse(text, strlen(text), scale, &v);
    if (rc != 0)
        fail_msg("rt_dec_parse('%s', %u) = %d", text, scale, rc);
    char buf[64];
    int n = rt_dec_format(v, scale, buf, sizeof(buf));
    if (strcmp(buf, want) != 0)
        fail_msg("'%s' at scale %u: got '%s', want '%s'", text, scale, buf, want);
    assert_int_equal(n, (int)strlen(want));
    return v;
}

static void expect(rt_i128 v, unsigned scale, const char *want)
{
    char buf[64];
    rt_dec_format(v, scale, buf, sizeof(buf));
    assert_string_equal(buf, want);
}

static void test_decimal_storage(void **state)
{
    (void)state;
    assert_int_equal(rt_type_phys(rt_type_decimal(18, 2)), RT_PHYS_I64);
    assert_int_equal(rt_type_phys(rt_type_decimal(19, 2)), RT_PHYS_I128);
    assert_int_equal(rt_type_phys(rt_type_decimal(38, 38)), RT_PHYS_I128);
    assert_int_equal(rt_phys_width(RT_PHYS_I128), 16);
    assert_int_equal(rt_phys_width(RT_PHYS_I64), 8);
}

static void test_decimal_parse_format(void **state)
{
    (void)state;
    dec("12345678901234567890123.45", 2, "12345678901234567890123.45");
    dec("-12345678901234567890123.455", 2, "-12345678901234567890123.46"); /* HALF_UP */
    dec("99999999999999999999999999999999999999", 0, "99999999999999999999999999999999999999");
    dec("-0.00000000000000000000000000000000000001", 38,
        "-0.00000000000000000000000000000000000001");
    dec(" 1.5 ", 0, "2");
    dec("-2.5", 0, "-3");
    dec("0.004", 2, "0.00");
    dec("1e3", 1, "1000.0");
    dec("1.25E-1", 2, "0.13");
    dec("000123.4500", 3, "123.450");
    dec("+7", 2, "7.00");
    dec("0e99999", 2, "0.00");
    rt_i128 v;
    assert_int_equal(rt_dec_parse("100000000000000000000000000000000000000", 39, 0, &v), 1);
    assert_int_equal(rt_dec_parse("1e38", 4, 0, &v), 1);
    assert_int_equal(rt_dec_parse("1", 1, 38, &v), 1); /* 10^38 at scale 38 */
    assert_int_equal(rt_dec_parse("99999999999999999999999999999999999999.5", 40, 0, &v), 1);
    assert_int_equal(rt_dec_parse("abc", 3, 0, &v), -1);
    assert_int_equal(rt_dec_parse("1.2.3", 5, 0, &v), -1);
    assert_int_equal(rt_dec_parse("", 0, 0, &v), -1);
    assert_int_equal(rt_dec_parse("1e", 2, 0, &v), -1);
    assert_true(rt_dec_fits(rt_dec_pow10(38) - 1, 38));
    assert_false(rt_dec_fits(rt_dec_pow10(38), 38));
    assert_false(rt_dec_fits(-rt_dec_pow10(18), 18));
    assert_true(rt_dec_fits(-rt_dec_pow10(18) + 1, 18));
    /* doubles as Flink's BigDecimal.valueOf(d): the shortest digits, then HALF_UP */
    assert_true(rt_dec_from_double(0.1, 2, &v));
    expect(v, 2, "0.10");
    assert_true(rt_dec_from_double(2.675, 2, &v)); /* the double is 2.67499..., its text 2.675 */
    expect(v, 2, "2.68");
    assert_true(rt_dec_from_double(-1.5e20, 0, &v));
    expect(v, 0, "-150000000000000000000");
    assert_false(rt_dec_from_double(1e40, 0, &v));
    assert_false(rt_dec_from_double(NAN, 0, &v));
    assert_true(rt_dec_to_double(dec("12345678901234567890123.45", 2, "12345678901234567890123.45"),
                                 2) == 12345678901234567890123.45);
}

static void test_decimal_arithmetic(void **state)
{
    (void)state;
    rt_i128 p37 = rt_dec_pow10(37), z;
    /* 10^37 + 10^37 fits DECIMAL(38, 0); 8 * 10^37 + 8 * 10^37 fits 128 bits but not 38 digits;
     * 9 * 10^37 + 9 * 10^37 does not even fit 128 bits */
    assert_true(rt_dec_add(p37, 0, p37, 0, 0, &z));
    expect(z, 0, "20000000000000000000000000000000000000");
    assert_true(rt_dec_fits(z, 38));
    assert_true(rt_dec_add(8 * p37, 0, 8 * p37, 0, 0, &z));
    assert_false(rt_dec_fits(z, 38));
    assert_false(rt_dec_add(9 * p37, 0, 9 * p37, 0, 0, &z));
    assert_false(rt_dec_sub(-9 * p37, 0, 9 * p37, 0, 0, &z));
    assert_true(rt_dec_sub(-9 * p37, 0, -9 * p37, 0, 0, &z));
    expect(z, 0, "0");
    /* different scales: 10^37 (scale 0) + 0.5 (scale 1) at scale 0 rounds HALF_UP */
    assert_true(rt_dec_add(p37, 0, 5, 1, 0, &z));
    expect(z, 0, "10000000000000000000000000000000000001");
    /* products: 10^19 * 10^19 = 10^38 (fits 128 bits, not 38 digits); 10^37 * 10^37 overflows
     * 128 bits but at a smaller scale fits again */
    assert_true(rt_dec_mul(rt_dec_pow10(19), 0, rt_dec_pow10(19), 0, 0, &z));
    assert_false(rt_dec_fits(z, 38));
    assert_false(rt_dec_mul(p37, 0, p37, 0, 0, &z));
    assert_true(rt_dec_mul(p37, 20, p37, 20, 4, &z)); /* 10^17 * 10^17 at scale 4 */
    expect(z, 4, "10000000000000000000000000000000000.0000");
    assert_true(rt_dec_mul(-125, 2, 5, 1, 2, &z)); /* -1.25 * 0.5 = -0.625 -> -0.63 */
    expect(z, 2, "-0.63");
    /* division: HALF_UP at the result scale; exact even when the dividend needs 256 bits */
    assert_true(rt_dec_div(2, 0, 3, 0, 6, &z));
    expect(z, 6, "0.666667");
    assert_true(rt_dec_div(-1, 0, 8, 0, 2, &z)); /* -0.125 */
    expect(z, 2, "-0.13");
    assert_true(rt_dec_div(p37, 0, 3, 0, 1, &z));
    expect(z, 1, "3333333333333333333333333333333333333.3");
    assert_true(rt_dec_div(rt_dec_pow10(30), 0, rt_dec_pow10(30) * 7, 0, 30, &z));
    expect(z, 30, "0.142857142857142857142857142857");
    assert_false(rt_dec_div(p37, 0, 1, 38, 0, &z)); /* 10^37 / 10^-38 */
    assert_true(rt_dec_div(1, 0, p37, 0, 6, &z));   /* rounds to 0 */
    expect(z, 6, "0.000000");
    assert_false(rt_dec_div(1, 0, 0, 0, 0, &z));
    /* MOD has the sign of the dividend, as BigDecimal.remainder */
    assert_true(rt_dec_mod(-7, 0, 3, 0, 0, &z));
    expect(z, 0, "-1");
    assert_true(rt_dec_mod(1234, 2, 5, 1, 2, &z)); /* 12.34 % 0.5 = 0.34 */
    expect(z, 2, "0.34");
    assert_true(rt_dec_mod(9 * p37, 0, 7, 38, 38, &z));        /* 9*10^37 % 7*10^-38 */
    expect(z, 38, "0.00000000000000000000000000000000000005"); /* 9 * 10^75 mod 7 = 5 */
    /* rescaling and comparison */
    assert_true(rt_dec_rescale(-15, 1, 0, &z));
    expect(z, 0, "-2");
    assert_false(rt_dec_rescale(p37, 0, 2, &z) && rt_dec_fits(z, 38));
    assert_int_equal(rt_dec_cmp(10, 1, 1, 0), 0);
    assert_int_equal(rt_dec_cmp(p37, 0, p37 - 1, 0), 1);
    assert_int_equal(rt_dec_cmp(-p37, 0, -1, 38), -1);
    assert_int_equal(rt_dec_cmp(1, 38, 0, 0), 1);
    assert_int_equal(rt_dec_cmp(-5, 1, -1, 0), 1);
}

static void type_is(rt_type t, unsigned p, unsigned s)
{
    if (t.kind != RT_DECIMAL || t.precision != p || t.scale != s)
        fail_msg("got DECIMAL(%u, %u), want DECIMAL(%u, %u)", t.precision, t.scale, p, s);
}

static void test_decimal_types(void **state)
{
    (void)state;
    type_is(rt_dec_add_type(10, 2, 5, 3), 12, 3);
    type_is(rt_dec_add_type(38, 8, 32, 8), 38, 7); /* Hive/Spark: integral part kept */
    type_is(rt_dec_add_type(38, 0, 38, 0), 38, 0);
    type_is(rt_dec_mul_type(10, 2, 10, 2), 21, 4);
    type_is(rt_dec_mul_type(38, 10, 38, 10), 38, 6);
    type_is(rt_dec_mul_type(20, 2, 19, 0), 38, 2);
    type_is(rt_dec_div_type(10, 2, 10, 0), 21, 13);
    type_is(rt_dec_div_type(38, 10, 10, 2), 38, 8);
    type_is(rt_dec_div_type(38, 0, 38, 0), 38, 6);
    type_is(rt_dec_mod_type(10, 2, 5, 0), 7, 2);
    type_is(rt_dec_common_type(38, 0, 10, 5), 38, 0);
    type_is(rt_dec_common_type(20, 2, 10, 5), 23, 5);
    type_is(rt_dec_round_type(10, 4, 2), 9, 2);
    type_is(rt_dec_round_type(10, 4, 6), 10, 4);
    type_is(rt_dec_round_type(38, 4, -2), 35, 0);
    type_is(rt_dec_sum_type(2), 38, 2);
    type_is(rt_dec_avg_type(2), 38, 6);
    type_is(rt_dec_avg_type(10), 38, 10); /* DECIMAL(38, max(6, s)) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_decimal_storage),
        cmocka_unit_test(test_decimal_parse_format),
        cmocka_unit_test(test_decimal_arithmetic),
        cmocka_unit_test(test_decimal_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
