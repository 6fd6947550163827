/*
 * test_expr.c - expressions by table: each case is an expression (JSON) evaluated over the same
 * three input rows, with the expected results formatted as Flink's CAST to STRING; then compile
 * errors (with their JSON paths), runtime errors, constant folding and large batches.
 *
 * Input columns: 0 a BIGINT, 1 s STRING, 2 d DOUBLE, 3 t TIMESTAMP(3), 4 b BOOLEAN,
 * 5 m DECIMAL(10, 2), 6 i INT. Row 0 has values, row 1 other values, row 2 is all NULL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/expr/expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rt_type types[7];

static rt_batch *input(uint32_t rows)
{
    static const char *tn[] = {"BIGINT",  "STRING",         "DOUBLE", "TIMESTAMP(3)",
                               "BOOLEAN", "DECIMAL(10, 2)", "INT"};
    for (int i = 0; i < 7; i++) {
        weir_error e = {0};
        assert_int_equal(rt_type_parse(tn[i], &types[i], &e), 0);
    }
    rt_batch *b = rt_batch_new_types(types, 7, rows < 3 ? 3 : rows);
    bool ok = true;
    /* row 0 */
    b->cols[0].i64[0] = 7;
    b->cols[1].str[0] = rt_arena_strdup(&b->arena, "Hello, World", 12, &ok);
    b->cols[2].f64[0] = 2.5;
    b->cols[3].i64[0] = 1704164645678; /* 2024-01-02 03:04:05.678 */
    b->cols[4].i64[0] = 1;
    b->cols[5].i64[0] = 1234; /* 12.34 */
    b->cols[6].i64[0] = 2147483647;
    /* row 1 */
    b->cols[0].i64[1] = -3;
    b->cols[1].str[1] = rt_arena_strdup(&b->arena, "a_b%c", 5, &ok);
    b->cols[2].f64[1] = -0.5;
    b->cols[3].i64[1] = 0;
    b->cols[4].i64[1] = 0;
    b->cols[5].i64[1] = -5; /* -0.05 */
    b->cols[6].i64[1] = 0;
    for (int c = 0; c < 7; c++)
        b->cols[c].null[2] = 1;
    for (uint32_t r = 3; r < rows; r++)
        for (int c = 0; c < 7; c++) {
            b->cols[c].null[r] = 0;
            if (c == 1)
                b->cols[1].str[r] = (rt_str){"x", 1};
            else
                b->cols[c].i64[r] = r;
        }
    b->n = rows < 3 ? 3 : rows;
    return b;
}

static void eval_case(const char *json, const char *r0, const char *r1, const char *r2)
{
    rt_batch *in = input(3);
    json_error_t je;
    json_t *j = json_loads(json, 0, &je);
    if (!j)
        fail_msg("bad test JSON %s: %s", json, je.text);
    rt_expr *e = NULL;
    weir_error err = {0};
    if (rt_expr_compile(j, types, 7, "$.e", &e, &err))
        fail_msg("%s: compile: %s", json, err.msg);
    rt_type t = rt_expr_type(e);
    rt_batch *out = rt_batch_new_types(&t, 1, 3);
    if (rt_expr_eval(e, in, out, 0, &err))
        fail_msg("%s: eval: %s", json, err.msg);
    const char *want[3] = {r0, r1, r2};
    for (uint32_t r = 0; r < 3; r++) {
        char buf[256];
        rt_col_format(&out->cols[0], r, buf, sizeof(buf));
        if (want[r] && strcmp(buf, want[r]) != 0)
            fail_msg("%s row %u: got '%s', want '%s'", json, r, buf, want[r]);
    }
    rt_batch_free(out);
    rt_expr_free(e);
    json_decref(j);
    rt_batch_free(in);
}

#define COL(i)        "{\"kind\":\"column\",\"index\":" #i "}"
#define LIT(t, v)     "{\"kind\":\"literal\",\"type\":\"" t "\",\"value\":" v "}"
#define CALL(f, ...)  "{\"kind\":\"call\",\"fn\":\"" f "\",\"args\":[" __VA_ARGS__ "]}"
#define CAST(t, x)    "{\"kind\":\"call\",\"fn\":\"CAST\",\"type\":\"" t "\",\"args\":[" x "]}"
#define TRYCAST(t, x) "{\"kind\":\"call\",\"fn\":\"TRY_CAST\",\"type\":\"" t "\",\"args\":[" x "]}"
#define S(v)          LIT("STRING", "\"" v "\"")
#define I(v)          LIT("INT", #v)

static void test_arithmetic(void **state)
{
    (void)state;
    eval_case(CALL("PLUS", COL(0) "," I(1)), "8", "-2", "NULL");
    eval_case(CALL("MINUS", COL(0) "," COL(2)), "4.5", "-2.5", "NULL");
    eval_case(CALL("TIMES", COL(5) "," I(2)), "24.68", "-0.10", "NULL");
    eval_case(CALL("PLUS", COL(5) "," COL(0)), "19.34", "-3.05", "NULL");
    eval_case(CALL("DIVIDE", COL(0) "," I(2)), "3", "-1", "NULL");
    eval_case(CALL("DIVIDE", COL(2) "," I(0)), "Infinity", "-Infinity", "NULL");
    eval_case(CALL("DIVIDE", COL(5) "," I(4)), "3.0850000000000", "-0.0125000000000", "NULL");
    eval_case(CALL("MOD", COL(0) "," I(4)), "3", "-3", "NULL");
    eval_case(CALL("NEGATE", COL(0)), "-7", "3", "NULL");
    eval_case(CALL("PLUS", COL(6) "," I(1)), "-2147483648", "1", "NULL"); /* wraps as Java */
    eval_case(CALL("ABS", COL(5)), "12.34", "0.05", "NULL");
    eval_case(CALL("ROUND", COL(2)), "3.0", "-1.0", "NULL");
    eval_case(CALL("ROUND", COL(5) "," I(1)), "12.3", "-0.1", "NULL");
    /* ROUND of a DOUBLE is Flink's: its shortest decimal rounded HALF_UP, not x * 10^d rounded */
    eval_case(CALL("ROUND", LIT("DOUBLE", "1.005") "," I(2)), "1.01", "1.01", "1.01");
    eval_case(CALL("ROUND", LIT("DOUBLE", "-2.675") "," I(2)), "-2.68", "-2.68", "-2.68");
    eval_case(CALL("ROUND", LIT("DOUBLE", "9.996") "," I(2)), "10.0", "10.0", "10.0");
    eval_case(CALL("ROUND", LIT("DOUBLE", "1e307") "," I(2)), "1.0E307", "1.0E307", "1.0E307");
    eval_case(CALL("ROUND", LIT("DOUBLE", "1234.5") "," I(-2)), "1200.0", "1200.0", "1200.0");
    eval_case(CALL("ROUND", LIT("DOUBLE", "0.005") "," I(2)), "0.01", "0.01", "0.01");
    eval_case(CALL("FLOOR", COL(5)), "12", "-1", "NULL");
    eval_case(CALL("CEIL", COL(2)), "3.0", "-0.0", "NULL");
    eval_case(CALL("POWER", COL(0) "," I(2)), "49.0", "9.0", "NULL");
    eval_case(CALL("PLUS", COL(0) "," LIT("NULL", "null")), "NULL", "NULL", "NULL");
}

static void test_logic_and_comparison(void **state)
{
    (void)state;
    eval_case(CALL("GREATER_THAN", COL(0) "," I(0)), "TRUE", "FALSE", "NULL");
    eval_case(CALL("EQUALS", COL(5) "," LIT("DECIMAL(4, 2)", "\"12.34\"")), "TRUE", "FALSE",
              "NULL");
    eval_case(CALL("LESS_THAN", COL(2) "," COL(0)), "TRUE", "FALSE", "NULL");
    eval_case(CALL("EQUALS", COL(1) "," S("a_b%c")), "FALSE", "TRUE", "NULL");
    /* three-valued logic */
    eval_case(CALL("AND", COL(4) "," LIT("BOOLEAN", "null")), "NULL", "FALSE", "NULL");
    eval_case(CALL("OR", COL(4) "," LIT("BOOLEAN", "null")), "TRUE", "NULL", "NULL");
    eval_case(CALL("OR", COL(4) "," LIT("BOOLEAN", "true")), "TRUE", "TRUE", "TRUE");
    eval_case(CALL("NOT", COL(4)), "FALSE", "TRUE", "NULL");
    eval_case(CALL("IS_NULL", COL(0)), "FALSE", "FALSE", "TRUE");
    eval_case(CALL("IS_NOT_TRUE", COL(4)), "FALSE", "TRUE", "TRUE");
    eval_case(CALL("BETWEEN", COL(0) "," I(0) "," I(10)), "TRUE", "FALSE", "NULL");
    eval_case(CALL("IN", COL(0) "," I(1) "," I(7)), "TRUE", "FALSE", "NULL");
    eval_case(CALL("IN", COL(0) "," I(1) "," LIT("INT", "null")), "NULL", "NULL", "NULL");
    eval_case(CALL("NOT_IN", COL(0) "," I(1) "," I(2)), "TRUE", "TRUE", "NULL");
    eval_case(CALL("CASE", CALL("GREATER_THAN", COL(0) "," I(0)) "," S("pos") "," S("neg")), "pos",
              "neg", "neg");
    eval_case(CALL("CASE", CALL("GREATER_THAN", COL(0) "," I(0)) "," COL(0)), "7", "NULL", "NULL");
    eval_case(CALL("CASE", COL(4) "," COL(0) "," COL(2)), "7.0", "-0.5", "NULL");
    eval_case(CALL("COALESCE", COL(0) "," I(42)), "7", "-3", "42");
    eval_case(CALL("IF", COL(4) "," I(1) "," I(2)), "1", "2", "2");
    eval_case(CALL("NULLIF", COL(0) "," I(7)), "NULL", "-3", "NULL");
    eval_case(CALL("LESS_THAN", COL(3) "," LIT("TIMESTAMP(3)", "\"2020-01-01 00:00:00\"")), "FALSE",
              "TRUE", "NULL");
}

static void test_strings(void **state)
{
    (void)state;
    eval_case(CALL("UPPER", COL(1)), "HELLO, WORLD", "A_B%C", "NULL");
    eval_case(CALL("LOWER", COL(1)), "hello, world", "a_b%c", "NULL");
    eval_case(CALL("CHAR_LENGTH", COL(1)), "12", "5", "NULL");
    eval_case(CALL("CHAR_LENGTH", S("h\xc3\xa9llo")), "5", "5", "5");
    eval_case(CALL("SUBSTRING", COL(1) "," I(1) "," I(5)), "Hello", "a_b%c", "NULL");
    eval_case(CALL("SUBSTRING", COL(1) "," I(8)), "World", "", "NULL");
    eval_case(CALL("SUBSTRING", COL(1) "," I(-5) "," I(3)), "Wor", "a_b", "NULL");
    eval_case(CALL("CONCAT", COL(1) "," S("!") "," CAST("STRING", COL(0))), "Hello, World!7",
              "a_b%c!-3", "NULL");
    eval_case(CALL("CONCAT_WS", S("-") "," S("a") "," COL(1) "," S("b")), "a-Hello, World-b",
              "a-a_b%c-b", "a-b");
    eval_case(CALL("TRIM", S("  x  ")), "x", "x", "x");
    eval_case(CALL("TRIM", S("LEADING") "," S("xy") "," S("xyaxy")), "axy", "axy", "axy");
    eval_case(CALL("REPLACE", COL(1) "," S("l") "," S("L")), "HeLLo, WorLd", "a_b%c", "NULL");
    eval_case(CALL("REGEXP_EXTRACT", COL(1) "," S("([A-Z])[a-z]+") "," I(1)), "H", "NULL", "NULL");
    eval_case(CALL("REGEXP_EXTRACT", S("foo=bar") "," S("(\\\\w+)=(\\\\w+)") "," I(2)), "bar",
              "bar", "bar");
    eval_case(CALL("REGEXP_REPLACE", COL(1) "," S("[aeiou]") "," S("*")), "H*ll*, W*rld", "*_b%c",
              "NULL");
    eval_case(CALL("SPLIT_INDEX", COL(1) "," S(", ") "," I(1)), "World", "NULL", "NULL");
    eval_case(CALL("SPLIT_INDEX", S("a,b,,c") "," S(",") "," I(2)), "", "", "");
    eval_case(CALL("LIKE", COL(1) "," S("Hel%")), "TRUE", "FALSE", "NULL");
    eval_case(CALL("LIKE", COL(1) "," S("%World")), "TRUE", "FALSE", "NULL");
    eval_case(CALL("LIKE", COL(1) "," S("a\\\\_b\\\\%_") "," S("\\\\")), "FALSE", "TRUE", "NULL");
    eval_case(CALL("LIKE", COL(1) "," S("_____")), "FALSE", "TRUE", "NULL");
    eval_case(CALL("NOT_LIKE", COL(1) "," S("%o%")), "FALSE", "TRUE", "NULL");
    eval_case(CALL("INITCAP", S("hello wORLD")), "Hello World", "Hello World", "Hello World");
    eval_case(CALL("LPAD", S("7") "," I(3) "," S("0")), "007", "007", "007");
    eval_case(CALL("RPAD", S("abcd") "," I(2) "," S("0")), "ab", "ab", "ab");
}

static void test_casts(void **state)
{
    (void)state;
    eval_case(CAST("STRING", COL(2)), "2.5", "-0.5", "NULL");
    eval_case(CAST("STRING", COL(3)), "2024-01-02 03:04:05.678", "1970-01-01 00:00:00.000", "NULL");
    eval_case(CAST("STRING", COL(5)), "12.34", "-0.05", "NULL");
    eval_case(CAST("INT", COL(2)), "2", "0", "NULL");
    eval_case(CAST("DECIMAL(5, 1)", COL(5)), "12.3", "-0.1", "NULL");
    eval_case(CAST("TINYINT", I(300)), "44", "44", "44");
    eval_case(CAST("BIGINT", S(" 42 ")), "42", "42", "42");
    eval_case(CAST("DOUBLE", S("1e3")), "1000.0", "1000.0", "1000.0");
    eval_case(CAST("BOOLEAN", S("TRUE")), "TRUE", "TRUE", "TRUE");
    eval_case(CAST("DATE", COL(3)), "2024-01-02", "1970-01-01", "NULL");
    eval_case(CAST("TIMESTAMP(3)", S("2024-05-06T07:08:09.5")), "2024-05-06 07:08:09.500",
              "2024-05-06 07:08:09.500", "2024-05-06 07:08:09.500");
    eval_case(CAST("DECIMAL(3, 1)", I(1000)), "NULL", "NULL", "NULL"); /* overflow: NULL */
    eval_case(TRYCAST("INT", COL(1)), "NULL", "NULL", "NULL");
    eval_case(CAST("VARCHAR(3)", COL(1)), "Hel", "a_b", "NULL");
    eval_case(CAST("BIGINT", COL(4)), "1", "0", "NULL");
}

/* The result type of `json` (compiled against the test input) formatted, nullability aside. */
static void type_case(const char *json, const char *want)
{
    rt_batch *in = input(3);
    json_t *j = json_loads(json, 0, NULL);
    if (!j)
        fail_msg("bad test JSON %s", json);
    rt_expr *e = NULL;
    weir_error err = {0};
    if (rt_expr_compile(j, types, 7, "$.e", &e, &err))
        fail_msg("%s: compile: %s", json, err.msg);
    rt_type t = rt_expr_type(e);
    t.nullable = 1;
    char buf[64];
    if (strcmp(rt_type_format(t, buf, sizeof(buf)), want) != 0)
        fail_msg("%s: type %s, want %s", json, buf, want);
    rt_expr_free(e);
    json_decref(j);
    rt_batch_free(in);
}

#define D(p, s, v) LIT("DECIMAL(" #p ", " #s ")", "\"" v "\"")
#define Z37        "0000000000000000000000000000000000000" /* 37 zeros */
#define E37        "1" Z37
#define E19        "10000000000000000000"

/* DECIMAL above 18 digits (128-bit values): literals, CAST, arithmetic with Flink's types,
 * overflow to NULL, comparisons and functions, from constants and from columns. */
static void test_decimal38(void **state)
{
    (void)state;
    /* CAST from a string keeps every digit */
    eval_case(CAST("DECIMAL(25, 2)", S("12345678901234567890123.45")), "12345678901234567890123.45",
              "12345678901234567890123.45", "12345678901234567890123.45");
    eval_case(CAST("STRING", D(38, 2, "-123456789012345678901234567890123456.78")),
              "-123456789012345678901234567890123456.78", NULL, NULL);
    /* 10^37 arithmetic: DECIMAL(38, 0) + DECIMAL(38, 0) is DECIMAL(38, 0) */
    type_case(CALL("PLUS", D(38, 0, E37) "," D(38, 0, E37)), "DECIMAL(38, 0)");
    eval_case(CALL("PLUS", D(38, 0, E37) "," D(38, 0, E37)), "2" Z37, NULL, NULL);
    eval_case(CALL("MINUS", D(38, 0, "-" E37) "," D(38, 0, E37)), "-2" Z37, NULL, NULL);
    /* overflow beyond 38 digits is NULL, as in Flink */
    eval_case(CALL("PLUS", D(38, 0, "9" Z37) "," D(38, 0, "9" Z37)), "NULL", NULL, NULL);
    type_case(CALL("TIMES", D(20, 0, E19) "," D(20, 0, E19)), "DECIMAL(38, 0)");
    eval_case(CALL("TIMES", D(20, 0, E19) "," D(20, 0, E19)), "NULL", NULL, NULL);
    eval_case(CALL("TIMES", D(20, 0, E19) "," D(19, 0, "999999999999999999")),
              "9999999999999999990000000000000000000", NULL, NULL);
    /* scale reduction above 38 digits: DECIMAL(38, 10) * DECIMAL(38, 0) is DECIMAL(38, 6) */
    type_case(CALL("TIMES", CAST("DECIMAL(38, 10)", COL(5)) "," D(38, 0, E19)), "DECIMAL(38, 6)");
    eval_case(CALL("TIMES", CAST("DECIMAL(38, 10)", COL(5)) "," D(38, 0, E19)),
              "123400000000000000000.000000", "-500000000000000000.000000", "NULL");
    type_case(CALL("DIVIDE", D(38, 0, E19) "," I(3)), "DECIMAL(38, 6)");
    eval_case(CALL("DIVIDE", D(38, 0, "1000000000000000000000000000000") "," I(3)),
              "333333333333333333333333333333.333333", NULL, NULL);
    eval_case(CALL("DIVIDE", D(38, 0, E37) "," I(3)), "NULL", NULL, NULL); /* 43 digits */
    eval_case(CALL("MOD", D(38, 0, E37) "," I(7)), "3", NULL, NULL);       /* 10^6 = 1 (mod 7) */
    /* CAST to a narrower DECIMAL: rounded HALF_UP, NULL when the integral part does not fit */
    eval_case(CAST("DECIMAL(30, 1)", D(38, 2, "123456789012345678901234.56")),
              "123456789012345678901234.6", NULL, NULL);
    eval_case(CAST("DECIMAL(10, 2)", D(38, 2, "123456789012345678901234.56")), "NULL", NULL, NULL);
    eval_case(CAST("DECIMAL(38, 0)", S("1e40")), "NULL", NULL, NULL);
    eval_case(TRYCAST("DECIMAL(38, 2)", S("abc")), "NULL", "NULL", "NULL");
    eval_case(CAST("DECIMAL(20, 2)", COL(5)), "12.34", "-0.05", "NULL");
    eval_case(CAST("DECIMAL(38, 0)", COL(0)), "7", "-3", "NULL");
    eval_case(CAST("DECIMAL(38, 4)", COL(2)), "2.5000", "-0.5000", "NULL");
    /* out of the wide form */
    eval_case(CAST("DOUBLE", D(25, 2, "12345678901234567890123.45")), "1.2345678901234568E22", NULL,
              NULL);
    eval_case(CAST("BIGINT", D(25, 2, "-1234567890123.99")), "-1234567890123", NULL, NULL);
    eval_case(CAST("BOOLEAN", D(25, 2, "0.01")), "TRUE", NULL, NULL);
    /* comparisons between widths and scales */
    eval_case(CALL("GREATER_THAN", D(38, 10, "12.3399999999") "," COL(5)), "FALSE", "TRUE", "NULL");
    eval_case(CALL("EQUALS", CAST("DECIMAL(38, 10)", COL(5)) "," COL(5)), "TRUE", "TRUE", "NULL");
    eval_case(CALL("LESS_THAN", D(38, 0, "-" E37) "," COL(0)), "TRUE", "TRUE", "NULL");
    /* functions */
    eval_case(CALL("NEGATE", D(38, 0, E37)), "-" E37, NULL, NULL);
    eval_case(CALL("ABS", D(38, 2, "-123456789012345678901234567890123456.78")),
              "123456789012345678901234567890123456.78", NULL, NULL);
    type_case(CALL("ROUND", D(38, 10, "1.5") "," I(2)), "DECIMAL(31, 2)");
    eval_case(CALL("ROUND", D(38, 10, "123456789012345678901234567.8951234567") "," I(2)),
              "123456789012345678901234567.90", NULL, NULL);
    eval_case(CALL("ROUND", D(38, 0, "1234567890123456789012345") "," I(-3)),
              "1234567890123456789012000", NULL, NULL);
    eval_case(CALL("FLOOR", D(38, 2, "-12345678901234567890123.45")), "-12345678901234567890124",
              NULL, NULL);
    eval_case(CALL("CEIL", D(38, 2, "12345678901234567890123.01")), "12345678901234567890124", NULL,
              NULL);
    type_case(CALL("COALESCE", D(38, 0, E37) "," COL(5)), "DECIMAL(38, 0)");
    eval_case(CALL("COALESCE", LIT("DECIMAL(38, 0)", "null") "," COL(5)), "12", "0", "NULL");
}

static void test_time(void **state)
{
    (void)state;
    eval_case(CALL("EXTRACT", S("YEAR") "," COL(3)), "2024", "1970", "NULL");
    eval_case(CALL("EXTRACT", S("HOUR") "," COL(3)), "3", "0", "NULL");
    eval_case(CALL("EXTRACT", S("DOW") "," COL(3)), "3", "5", "NULL"); /* Tuesday, Thursday */
    eval_case(CALL("DATE_FORMAT", COL(3) "," S("yyyy/MM/dd HH:mm")), "2024/01/02 03:04",
              "1970/01/01 00:00", "NULL");
    eval_case(CALL("TO_TIMESTAMP", S("2024-03-04 05:06:07")), "2024-03-04 05:06:07.000",
              "2024-03-04 05:06:07.000", "2024-03-04 05:06:07.000");
    eval_case(CALL("TO_TIMESTAMP", S("04.03.2024") "," S("dd.MM.yyyy")), "2024-03-04 00:00:00.000",
              NULL, NULL);
    eval_case(CALL("TO_TIMESTAMP", S("garbage")), "NULL", "NULL", "NULL");
    eval_case(CALL("TO_TIMESTAMP_LTZ", COL(0) "," I(0)), "1970-01-01 00:00:07.000",
              "1969-12-31 23:59:57.000", "NULL");
    eval_case(CALL("TIMESTAMPADD",
                   S("MONTH") "," I(1) "," LIT("TIMESTAMP(3)", "\"2024-01-31 10:00:00\"")),
              "2024-02-29 10:00:00.000", NULL, NULL);
    eval_case(CALL("TIMESTAMPADD", S("SECOND") "," I(-5) "," COL(3)), "2024-01-02 03:04:00.678",
              "1969-12-31 23:59:55.000", "NULL");
    eval_case(CALL("TIMESTAMPDIFF",
                   S("DAY") "," LIT("TIMESTAMP(3)", "\"2024-01-01 00:00:00\"") "," COL(3)),
              "1", "-19723", "NULL");
    eval_case(CALL("TIMESTAMPDIFF",
                   S("MONTH") "," LIT("DATE", "\"2024-01-31\"") "," LIT("DATE", "\"2024-02-29\"")),
              "0", "0", "0");
    eval_case(CALL("FROM_UNIXTIME", I(86400)), "1970-01-02 00:00:00", NULL, NULL);
    eval_case(CALL("UNIX_TIMESTAMP", S("1970-01-02 00:00:00")), "86400", NULL, NULL);
    rt_expr_set_clock(1704164645678);
    eval_case(CALL("CURRENT_TIMESTAMP"), "2024-01-02 03:04:05.678", NULL, NULL);
    eval_case(CALL("CURRENT_DATE"), "2024-01-02", NULL, NULL);
    rt_expr_set_clock(0);
}

static void compile_error(const char *json, int code, const char *needle)
{
    json_t *j = json_loads(json, 0, NULL);
    if (!j)
        fail_msg("bad test JSON %s", json);
    rt_type t[7];
    rt_batch *b = input(3);
    memcpy(t, types, sizeof(t));
    rt_batch_free(b);
    rt_expr *e = NULL;
    weir_error err = {0};
    int rc = rt_expr_compile(j, t, 7, "$.ops[1].filter", &e, &err);
    if (rc != code || !strstr(err.msg, needle))
        fail_msg("%s: got %d '%s', want %d '%s'", json, rc, err.msg, code, needle);
    assert_null(e);
    json_decref(j);
}

static void test_compile_errors(void **state)
{
    (void)state;
    compile_error("{}", WEIR_EPARSE, "$.ops[1].filter.kind");
    compile_error("[]", WEIR_EPARSE, "an expression is a JSON object");
    compile_error(COL(9), WEIR_EPARSE, "$.ops[1].filter.index: column index must be 0..6");
    compile_error(CALL("FOO", COL(0)), WEIR_EUNSUPPORTED,
                  "$.ops[1].filter.fn: unknown function 'FOO'");
    compile_error(CALL("PLUS", COL(0) "," COL(1)), WEIR_ETYPE,
                  "$.ops[1].filter: PLUS cannot be applied to BIGINT and STRING");
    compile_error(CALL("AND", COL(4) "," COL(0)), WEIR_ETYPE,
                  "$.ops[1].filter.args[1]: AND needs BOOLEAN, not BIGINT");
    compile_error(CALL("PLUS", COL(0)), WEIR_EPARSE, "PLUS takes 2 arguments, not 1");
    compile_error(CAST("DECIMAL(38, 2)", S("abc")), WEIR_ERANGE,
                  "cannot CAST 'abc' to DECIMAL(38, 2)");
    compile_error(D(38, 0, "1" E37), WEIR_EPARSE, "is not a valid DECIMAL(38, 0) literal");
    compile_error(CAST("DECIMAL(39, 0)", COL(0)), WEIR_EPARSE, "DECIMAL precision must be 1..38");
    compile_error(CALL("EQUALS", COL(0) "," COL(3)), WEIR_ETYPE, "cannot compare BIGINT with");
    compile_error(LIT("INT", "\"x\""), WEIR_EPARSE,
                  "$.ops[1].filter.value: \"x\" is not a valid INT");
    compile_error(LIT("INTEGR", "1"), WEIR_EPARSE, "unknown type 'INTEGR'");
    compile_error(LIT("TINYINT", "300"), WEIR_EPARSE, "out of range");
    compile_error(CALL("REGEXP_EXTRACT", COL(1) "," S("(")), WEIR_EPARSE, "args[1]: invalid regex");
    compile_error(CAST("DATE", COL(4)), WEIR_ETYPE, "cannot CAST BOOLEAN to DATE");
    compile_error(CALL("REGEXP_EXTRACT", COL(1) "," S("(a+)+b")), WEIR_EUNSUPPORTED,
                  "args[1]: regex not supported: stacked quantifiers");
    compile_error(CALL("EXTRACT", S("FORTNIGHT") "," COL(3)), WEIR_ETYPE, "time unit");
    compile_error(CALL("DIVIDE", I(1) "," I(0)), WEIR_ERANGE, "division by zero");
    compile_error(CALL("PLUS", CALL("PLUS", COL(0) "," I(1)) "," COL(1)), WEIR_ETYPE,
                  "$.ops[1].filter: PLUS");
    /* nesting limit */
    char *deep = malloc(100000);
    strcpy(deep, "");
    for (int i = 0; i < 300; i++)
        strcat(deep, "{\"kind\":\"call\",\"fn\":\"NOT\",\"args\":[");
    strcat(deep, COL(4));
    for (int i = 0; i < 300; i++)
        strcat(deep, "]}");
    compile_error(deep, WEIR_ETOOBIG, "nested deeper");
    free(deep);
}

static void test_lazy_case(void **state)
{
    (void)state;
    /* row 1 has a = -3; row 0 a = 7; make a zero on row 1 and guard the division with CASE */
    rt_batch *in = input(3);
    in->cols[0].i64[1] = 0;
    const char *ok = CALL(
        "CASE", CALL("NOT_EQUALS", COL(0) "," I(0)) "," CALL("DIVIDE", I(70) "," COL(0)) "," I(-1));
    const char *bad = CALL(
        "CASE", CALL("EQUALS", COL(0) "," I(0)) "," CALL("DIVIDE", I(70) "," COL(0)) "," I(-1));
    const char *coalesce = CALL("COALESCE", CALL("DIVIDE", I(70) "," COL(0)) "," I(5));
    const char *cond = CALL(
        "CASE", CALL("EQUALS", COL(0) "," I(0)) "," I(1) "," CALL(
                    "GREATER_THAN", CALL("DIVIDE", I(70) "," COL(0)) "," I(5)) "," I(2) "," I(3));
    struct {
        const char *json;
        int rc;
        const char *r0, *r1;
    } cases[] = {{ok, 0, "10", "-1"},
                 {bad, WEIR_ERANGE, NULL, NULL},
                 {coalesce, WEIR_ERANGE, NULL, NULL},
                 {cond, 0, "2", "1"}};
    for (size_t k = 0; k < 4; k++) {
        json_t *j = json_loads(cases[k].json, 0, NULL);
        rt_expr *e;
        weir_error err = {0};
        assert_int_equal(rt_expr_compile(j, types, 7, "$.c", &e, &err), 0);
        rt_type t = rt_expr_type(e);
        rt_batch *out = rt_batch_new_types(&t, 1, 3);
        int rc = rt_expr_eval(e, in, out, 0, &err);
        if (rc != cases[k].rc)
            fail_msg("case %zu: rc %d (%s)", k, rc, err.msg);
        if (rc)
            assert_non_null(strstr(err.msg, "division by zero"));
        else {
            char b0[32], b1[32];
            rt_value_format(t, out->cols[0].i64[0], 0, (rt_str){NULL, 0}, b0, sizeof(b0));
            rt_value_format(t, out->cols[0].i64[1], 0, (rt_str){NULL, 0}, b1, sizeof(b1));
            assert_string_equal(b0, cases[k].r0);
            assert_string_equal(b1, cases[k].r1);
        }
        rt_batch_free(out);
        rt_expr_free(e);
        json_decref(j);
    }
    rt_batch_free(in);
}

static void test_runtime_errors_and_filter(void **state)
{
    (void)state;
    rt_batch *in = input(3);
    json_t *j = json_loads(CALL("DIVIDE", I(10) "," COL(0)), 0, NULL);
    rt_expr *e;
    weir_error err = {0};
    assert_int_equal(rt_expr_compile(j, types, 7, "$.p", &e, &err), 0);
    in->cols[0].i64[1] = 0;
    rt_type t = rt_expr_type(e);
    rt_batch *out = rt_batch_new_types(&t, 1, 3);
    assert_int_equal(rt_expr_eval(e, in, out, 0, &err), WEIR_ERANGE);
    assert_non_null(strstr(err.msg, "$.p: division by zero"));
    rt_expr_free(e);
    json_decref(j);
    j = json_loads(CAST("INT", COL(1)), 0, NULL);
    assert_int_equal(rt_expr_compile(j, types, 7, "$.c", &e, &err), 0);
    assert_int_equal(rt_expr_eval(e, in, out, 0, &err), WEIR_ERANGE);
    assert_non_null(strstr(err.msg, "cannot CAST 'Hello, World' to INT"));
    rt_expr_free(e);
    json_decref(j);
    j = json_loads(CALL("GREATER_THAN", COL(2) "," LIT("DOUBLE", "0")), 0, NULL);
    assert_int_equal(rt_expr_compile(j, types, 7, "$.f", &e, &err), 0);
    uint8_t keep[3];
    assert_int_equal(rt_expr_eval_filter(e, in, keep, &err), 0);
    assert_int_equal(keep[0], 1);
    assert_int_equal(keep[1], 0);
    assert_int_equal(keep[2], 0); /* NULL is not TRUE */
    assert_false(rt_expr_is_constant(e));
    rt_expr_free(e);
    json_decref(j);
    j = json_loads(CALL("PLUS", I(1) "," I(2)), 0, NULL);
    assert_int_equal(rt_expr_compile(j, types, 7, "$.k", &e, &err), 0);
    assert_true(rt_expr_is_constant(e));
    rt_expr_free(e);
    json_decref(j);
    rt_batch_free(out);
    rt_batch_free(in);
}

static void test_large_batch(void **state)
{
    (void)state;
    rt_batch *in = input(5000);
    json_t *j = json_loads(
        CALL("CONCAT", CAST("STRING", CALL("TIMES", COL(0) "," I(2))) "," COL(1)), 0, NULL);
    rt_expr *e;
    weir_error err = {0};
    assert_int_equal(rt_expr_compile(j, types, 7, "$.x", &e, &err), 0);
    rt_type t = rt_expr_type(e);
    rt_batch *out = rt_batch_new_types(&t, 1, 5000);
    for (int round = 0; round < 3; round++) {
        rt_batch_reset(out);
        assert_int_equal(rt_expr_eval(e, in, out, 0, &err), 0);
        assert_memory_equal(out->cols[0].str[4999].ptr, "9998x", 5);
    }
    rt_expr_free(e);
    json_decref(j);
    rt_batch_free(out);
    rt_batch_free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arithmetic),
        cmocka_unit_test(test_logic_and_comparison),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_casts),
        cmocka_unit_test(test_decimal38),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_lazy_case),
        cmocka_unit_test(test_runtime_errors_and_filter),
        cmocka_unit_test(test_large_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
