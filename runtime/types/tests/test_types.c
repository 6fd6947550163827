/*
 * test_types.c - SQL type parsing and formatting, and values printed as Flink's CAST to STRING.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/types/types.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
