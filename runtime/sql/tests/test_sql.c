/*
 * test_sql.c - the SQL front end: the seeds' scripts and the feature scripts compile (or check,
 * with Kafka/Iceberg noted as known-later connectors); operator uids are stable when a script is
 * recompiled and survive changes elsewhere; UNION [ALL] inside queries; and a table of bad scripts,
 * each failing with file:line:col, the offending token or construct, and what was expected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/plan/plan.h"
#include "runtime/sql/sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_file(const char *path, bool runnable, size_t notes_want)
{
    char *text = NULL;
    size_t len = 0;
    weir_error err = {0};
    assert_int_equal(sql_read_file(path, &text, &len, &err), 0);
    json_t *plan = NULL, *notes = NULL;
    if (sql_check(text, len, path, &plan, &notes, &err))
        fail_msg("%s: %s", path, err.msg);
    assert_int_equal(json_array_size(notes), notes_want);
    json_decref(plan);
    json_decref(notes);
    plan = NULL;
    int rc = sql_compile(text, len, path, &plan, NULL, &err);
    if (runnable && rc)
        fail_msg("%s: %s", path, err.msg);
    if (!runnable) {
        assert_int_equal(rc, WEIR_EUNSUPPORTED);
        assert_non_null(strstr(err.msg, "is not supported yet"));
    }
    json_decref(plan);
    free(text);
}

static void test_scripts(void **state)
{
    (void)state;
    check_file("runtime/sql/tests/scripts/seed004_sensors.sql", false, 2);
    check_file("runtime/sql/tests/scripts/seed000_cdc.sql", false, 2);
    check_file("runtime/sql/tests/scripts/nexmark.sql", true, 0);
    check_file("runtime/sql/tests/scripts/features.sql", true, 0);
    check_file("runtime/sql/examples/sensor-aggregator.sql", true, 0);
    check_file("runtime/sql/tests/scripts/upstream_statement_set.sql", true, 0);
    check_file("runtime/sql/tests/scripts/upstream_simple.sql", true, 0);
}

static json_t *compile(const char *sql)
{
    json_t *plan = NULL;
    weir_error err = {0};
    if (sql_compile(sql, strlen(sql), "t.sql", &plan, NULL, &err))
        fail_msg("%s", err.msg);
    return plan;
}

/* The uids of a plan's operators, by loading it as the runtime does. */
static void uids(json_t *plan, char out[][33], uint32_t *n)
{
    char *txt = json_dumps(plan, 0);
    rt_plan *p = NULL;
    weir_error err = {0};
    if (rt_plan_load(txt, strlen(txt), "t", 1, &p, &err))
        fail_msg("%s", err.msg);
    *n = p->nops;
    for (uint32_t i = 0; i < p->nops; i++)
        memcpy(out[i], p->ops[i].uid, 33);
    rt_plan_free(p);
    free(txt);
}

#define TABLES                                                                                     \
    "CREATE TABLE s (k INT, v BIGINT, ms BIGINT, ts AS TO_TIMESTAMP_LTZ(ms, 3), WATERMARK FOR "    \
    "ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen', 'number-of-rows' = '10');"     \
    "CREATE TABLE o (k INT, c BIGINT) WITH ('connector' = 'blackhole');"

static void test_uids(void **state)
{
    (void)state;
    const char *a = TABLES "INSERT INTO o SELECT k, COUNT(*) FROM s WHERE v > 5 GROUP BY k;";
    const char *b = TABLES "INSERT INTO o SELECT k, COUNT(*) FROM s WHERE v > 7 GROUP BY k;";
    char ua[32][33], ua2[32][33], ub[32][33];
    uint32_t na, na2, nb;
    json_t *pa = compile(a), *pa2 = compile(a), *pb = compile(b);
    uids(pa, ua, &na);
    uids(pa2, ua2, &na2);
    uids(pb, ub, &nb);
    assert_int_equal(na, na2);
    for (uint32_t i = 0; i < na; i++)
        assert_string_equal(ua[i], ua2[i]);
    /* the changed filter changes the calc and what follows it, not the scan before it */
    assert_int_equal(na, nb);
    assert_string_equal(ua[0], ub[0]); /* source */
    assert_string_equal(ua[1], ub[1]); /* computed columns */
    assert_string_equal(ua[2], ub[2]); /* watermark */
    assert_string_not_equal(ua[3], ub[3]);
    json_decref(pa);
    json_decref(pa2);
    json_decref(pb);
}

#define GRPQ "INSERT INTO o SELECT k, SUM(v) FROM s GROUP BY k;"

typedef struct bad {
    const char *sql;
    const char *marker; /* the error points at its first occurrence after the TABLES prefix */
    const char *text;
} bad;

static const bad bads[] = {
    {"CREATE TABEL x (a INT) WITH (\'connector\' = \'print\');", "TABEL",
     "at 'TABEL': expected TABLE or VIEW"},
    {"CREATE TABLE x (a INT WITH (\'connector\' = \'print\');", "WITH",
     "at 'WITH': expected ',' or ')'"},
    {"CREATE TABLE x (a INT) (\'connector\' = \'print\');", "('connector'", "expected WITH"},
    {"CREATE TABLE x (a INT) WITH (connector = \'print\');", "connector",
     "expected an option name as a 'quoted string'"},
    {"CREATE TABLE x (a INT) WITH (\'connector\' \'print\');", "'print'", "expected '='"},
    {"CREATE TABLE x (a INTT) WITH (\'connector\' = \'print\');", "a INTT", "unknown type 'INTT'"},
    {"CREATE TABLE x (a DECIMAL(x)) WITH (\'connector\' = \'print\');", "x))", "expected a number"},
    {TABLES "INSERT INTO o SELECT k, 123456789012345678901234567890123456789 FROM s;",
     "123456789012345678901234567890123456789", "has more than 38 digits"},
    {"CREATE TABLE x (a ARRAY<INT>) WITH (\'connector\' = \'print\');", "ARRAY",
     "ARRAY is not supported yet"},
    {"SELECT 1 FROM t;", "SELECT", "a bare SELECT is not a job"},
    {"INSERT x SELECT 1 FROM t;", "x SELECT", "expected INTO"},
    {TABLES "INSERT INTO o SELECT k, FROM s;", "FROM", "at 'FROM': expected an expression"},
    {TABLES "INSERT INTO o SELECT k AS FROM s;", "FROM", "at 'FROM': expected an alias"},
    {TABLES "INSERT INTO o SELECT k, COUNT(*) FROM s GROUP k;", "k;", "expected BY"},
    {TABLES "INSERT INTO o SELECT k, \'abc FROM s;", "'abc", "unterminated string"},
    {TABLES "INSERT INTO o SELECT k, v FROM s /* unclosed", "/*", "unterminated comment"},
    {TABLES "INSERT INTO o SELECT k, v # 1 FROM s;", "#", "unexpected character '#'"},
    {TABLES "INSERT INTO o SELECT k, v FROM s ORDER BY k;", "ORDER", "ORDER is not supported yet"},
    {TABLES "INSERT INTO o SELECT a.k, v FROM s JOIN s2 ON s.k = s2.k;", "JOIN",
     "joins are not supported yet"},
    {TABLES "INSERT INTO o SELECT k, CAST(v AS) FROM s;", ")", "expected a type name"},
    {TABLES "INSERT INTO o SELECT k, CASE WHEN v > 1 THEN 1 FROM s;", "FROM", "expected END"},
    {TABLES "INSERT INTO o SELECT k, v FROM s WHERE v BETWEEN 1;", ";", "expected AND"},
    {TABLES "INSERT INTO o SELECT k, v FROM s INTERSECT SELECT k, v FROM s;", "INTERSECT",
     "INTERSECT is not supported yet"},
    {TABLES "INSERT INTO o SELECT k, v FROM s EXCEPT SELECT k, v FROM s;", "EXCEPT",
     "EXCEPT is not supported yet"},
    {TABLES "INSERT INTO o WITH RECURSIVE r AS (SELECT k, v FROM s) SELECT k, v FROM r;",
     "RECURSIVE", "WITH RECURSIVE is not supported"},
    {TABLES "INSERT INTO o WITH r AS SELECT k, v FROM s SELECT k, v FROM r;", "SELECT k, v FROM s",
     "expected '('"},
    {TABLES "INSERT INTO o WITH r AS (SELECT k, v FROM s) SELECT k, v FROM q;", "q;",
     "table or view 'q' not found"},
    {TABLES "CREATE TABLE x WITH ('connector' = 'print') LIKE nope;", "nope",
     "LIKE: table 'nope' is not declared before"},
    {TABLES "CREATE TABLE x (k INT) WITH ('connector' = 'print') LIKE s;", "s;",
     "LIKE: column 'k' is in both tables"},
    {TABLES "CREATE TABLE x (WATERMARK FOR ts AS ts) WITH ('connector' = 'print') LIKE s;", "s;",
     "both tables define a WATERMARK"},
    {TABLES "CREATE TABLE x WITH ('connector' = 'print') LIKE s (INCLUDING EVERYTHING);",
     "EVERYTHING", "expected ALL, CONSTRAINTS"},
    {TABLES "CREATE TABLE x WITH ('connector' = 'print');", ";",
     "a table needs columns (or LIKE another table)"},
    {TABLES "INSERT INTO o VALUES (1, 2), (3);", "(3)",
     "VALUES: this row has 1 values, the first has 2"},
    {TABLES "INSERT INTO o VALUES (1, 'x');", "'x'", "cannot insert"},
    {TABLES "INSERT INTO o VALUES (1, 2) (3, 4);", "(3, 4)", "expected ';' after the statement"},
    {TABLES "INSERT INTO o SELECT k, v FROM s UNION ALL SELECT k FROM s;", "SELECT k FROM s;",
     "UNION ALL: this branch produces 1 columns, the first produces 2"},
    {TABLES "INSERT INTO o SELECT k, c FROM (SELECT k, v AS c FROM s UNION ALL SELECT k, "
            "CAST(k AS STRING) FROM s) u;",
     "CAST(k AS STRING)",
     "UNION ALL: column 2 ('EXPR$1') is STRING in this branch but BIGINT in the branches "
     "before, and they have no common type"},
    {TABLES "INSERT INTO o SELECT k, COUNT(*) FROM (SELECT k, v FROM s UNION ALL SELECT k FROM "
            "s) GROUP BY k;",
     "SELECT k FROM s)", "UNION ALL: this branch produces 1 columns, the first produces 2"},
    {TABLES "INSERT INTO o SELECT k, COUNT(*) FROM (SELECT k, v FROM s UNION SELECT k, ts FROM "
            "s) GROUP BY k;",
     "ts FROM", "UNION: column 2 ('ts') is TIMESTAMP_LTZ(3) in this branch but BIGINT"},
    {TABLES "CREATE VIEW w AS SELECT k, ts FROM s UNION ALL SELECT k, CAST(ts AS TIMESTAMP_LTZ(3)) "
            "FROM s WHERE k > 1; INSERT INTO o SELECT k, COUNT(*) FROM TABLE(TUMBLE(TABLE w, "
            "DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY k, window_start, window_end;",
     "ts), INTERVAL", "DESCRIPTOR(ts): 'ts' is not a time attribute"},
    {TABLES "INSERT INTO o WITH u AS (SELECT k, v FROM s UNION ALL SELECT v, k, k FROM s) SELECT "
            "k, SUM(v) FROM u GROUP BY k;",
     "SELECT v, k, k", "UNION ALL: this branch produces 3 columns, the first produces 2"},
    {TABLES "INSERT INTO o SELECT k, v FROM s UNION ALL SELECT k, CAST(k AS STRING) FROM s;",
     "CAST(k AS STRING)", "column 2: cannot insert"},
    {TABLES "INSERT INTO o SELECT k, v FROM TABLE(SESSION(TABLE s, DESCRIPTOR(ts), INTERVAL \'1\' "
            "SECOND)) GROUP BY k;",
     "SESSION", "SESSION windows are not supported yet"},
    {TABLES "INSERT INTO nope SELECT k, v FROM s;", "nope", "table 'nope' not found"},
    {TABLES "INSERT INTO o SELECT k, v FROM nope;", "nope", "table or view 'nope' not found"},
    {TABLES "INSERT INTO o SELECT k, vv FROM s;", "vv",
     "column 'vv' not found (available: k, v, ms, ts)"},
    {TABLES "INSERT INTO o SELECT x.k, v FROM s;", "x.k", "unknown table or alias 'x'"},
    {TABLES "CREATE TABLE o (a INT) WITH (\'connector\' = \'print\');", "o (a INT)",
     "'o' is already defined"},
    {TABLES "INSERT INTO o SELECT k, v + \'x\' FROM s;", "+",
     "PLUS cannot be applied to BIGINT and CHAR(1)"},
    {TABLES "INSERT INTO o SELECT k, v FROM s WHERE v;", "v;", "WHERE must be BOOLEAN, not BIGINT"},
    {TABLES "INSERT INTO o SELECT k, UPPER(v) FROM s;", "UPPER",
     "UPPER needs a string, not BIGINT"},
    {TABLES "INSERT INTO o SELECT k, FOO(v) FROM s;", "FOO", "unknown function 'FOO'"},
    {TABLES "INSERT INTO o SELECT k, ts FROM s;", "ts FROM",
     "cannot insert TIMESTAMP_LTZ(3) into BIGINT column 'c'"},
    {TABLES "INSERT INTO o SELECT k FROM s;", "SELECT",
     "the query produces 1 columns but table 'o' has 2"},
    {TABLES "INSERT INTO o SELECT k, SUM(ts) FROM s GROUP BY k;", "SUM",
     "SUM needs a numeric argument"},
    {TABLES "INSERT INTO o SELECT k, v FROM s GROUP BY k;", "v FROM",
     "expression 'v' is neither in GROUP BY nor inside an aggregate function"},
    {TABLES "INSERT INTO o SELECT k, v FROM s WHERE COUNT(*) > 1;", ">",
     "aggregate functions are not allowed in WHERE"},
    {TABLES "INSERT INTO o SELECT k, COUNT(DISTINCT *) FROM s GROUP BY k;", "COUNT",
     "COUNT takes one argument"},
    {"CREATE TABLE t (id INT, p ROW<a INT, b STRING>) WITH ('connector' = 'datagen'); CREATE "
     "TABLE o (x INT) WITH ('connector' = 'print'); INSERT INTO o SELECT p.c FROM t;",
     "p.c", "ROW 'p' has no field 'c' (fields: p.a, p.b)"},
    {"CREATE TABLE t (id INT, p ROW<a INT, b STRING>) WITH ('connector' = 'datagen'); CREATE "
     "TABLE o (x INT) WITH ('connector' = 'print'); INSERT INTO o SELECT p + 1 FROM t;",
     "p + 1", "'p' is a ROW: a whole ROW can only be selected"},
    {"CREATE TABLE t (id INT, `p.q` INT) WITH ('connector' = 'datagen');", "`p.q`",
     "column names with '.' are not supported"},
    {"CREATE TABLE t (id INT, p ROW<a INT b STRING>) WITH ('connector' = 'datagen');", "b STRING",
     "expected '>'"},
    {TABLES "INSERT INTO o (k, x) SELECT k, v FROM s;", "o (k",
     "column 'x' in the column list is not a column of 'o'"},
    {TABLES "INSERT INTO o (k, k) SELECT k, k FROM s;", "o (k", "column 'k' appears twice"},
    {TABLES "INSERT INTO o (c) SELECT v, k FROM s;", "SELECT v",
     "the query produces 2 columns but the column list names 1"},
    {TABLES "CREATE TABLE nn (a INT NOT NULL, b INT) WITH ('connector' = 'print'); INSERT INTO "
            "nn (b) SELECT k FROM s;",
     "nn (b)", "column 'a' of 'nn' is NOT NULL and not in the column list"},
    {TABLES "INSERT INTO o SELECT k, UPPER(k) FILTER (WHERE v > 1) FROM s;", "FILTER",
     "FILTER applies to aggregate functions, not UPPER"},
    {TABLES "INSERT INTO o SELECT k, COUNT(*) FILTER (v > 1) FROM s GROUP BY k;", "v > 1",
     "expected WHERE"},
    {TABLES "INSERT INTO o SELECT k, COUNT(*) FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ms), INTERVAL "
            "\'1\' SECOND)) GROUP BY k, window_start, window_end;",
     "ms)", "DESCRIPTOR(ms): 'ms' is not a time attribute"},
    {TABLES "INSERT INTO o SELECT k, COUNT(*) FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL "
            "\'1\' SECOND)) GROUP BY k;",
     "SELECT", "must GROUP BY window_start and window_end"},
    {TABLES "INSERT INTO o SELECT k, COUNT(*) FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), 5)) GROUP "
            "BY k, window_start, window_end;",
     "5)", "window sizes are INTERVALs"},
    {"CREATE TABLE s (k INT, ts TIMESTAMP(3), WATERMARK FOR t AS t) WITH (\'connector\' = "
     "\'datagen\');"
     "CREATE TABLE o (k INT) WITH (\'connector\' = \'print\'); INSERT INTO o SELECT k FROM s;",
     "t AS t", "WATERMARK FOR 't': no such column"},
    {"CREATE TABLE s (k INT, ts BIGINT, WATERMARK FOR ts AS ts) WITH (\'connector\' = \'datagen\');"
     "CREATE TABLE o (k INT) WITH (\'connector\' = \'print\'); INSERT INTO o SELECT k FROM s;",
     "ts AS ts", "must be TIMESTAMP(3) or TIMESTAMP_LTZ(3), not BIGINT"},
    {"CREATE TABLE s (k INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - 5) WITH (\'connector\' = "
     "\'datagen\');"
     "CREATE TABLE o (k INT) WITH (\'connector\' = \'print\'); INSERT INTO o SELECT k FROM s;",
     "- 5", "watermark strategy not supported yet"},
    {"CREATE TABLE s (k INT) WITH (\'connector\' = \'datagen\', \'rows-per-secnd\' = \'5\');"
     "CREATE TABLE o (k INT) WITH (\'connector\' = \'print\'); INSERT INTO o SELECT k FROM s;",
     "'rows-per-secnd'", "Unsupported options found for 'datagen': rows-per-secnd"},
    {"CREATE TABLE s (k INT) WITH (\'connector\' = \'datagen\', \'fields.k.min\' = \'ten\');"
     "CREATE TABLE o (k INT) WITH (\'connector\' = \'print\'); INSERT INTO o SELECT k FROM s;",
     "'fields.k.min'", "'fields.k.min': 'ten' is not an integer"},
    {"CREATE TABLE s (k INT) WITH (\'connector\' = \'kafka\', \'topic\' = \'t\');"
     "CREATE TABLE o (k INT) WITH (\'connector\' = \'print\'); INSERT INTO o SELECT k FROM s;",
     "'kafka'", "connector 'kafka' is not supported yet"},
    {"CREATE TABLE s (k INT) WITH (\'connector\' = \'datagen\');"
     "CREATE TABLE o (k INT) WITH (\'connector\' = \'print\', \'print-identifer\' = \'x\'); INSERT "
     "INTO o SELECT k FROM s;",
     "'print-identifer'", "Unsupported options found for 'print': print-identifer"},
    {"CREATE TABLE s (k INT) WITH (\'format\' = \'json\');"
     "CREATE TABLE o (k INT) WITH (\'connector\' = \'print\'); INSERT INTO o SELECT k FROM s;",
     "s (k", "table 's' has no 'connector' option"},
    {"CREATE TABLE s (k INT) WITH (\'connector\' = \'print\');"
     "CREATE TABLE o (k INT) WITH (\'connector\' = \'print\'); INSERT INTO o SELECT k FROM s;",
     "'print'", "connector 'print' cannot be used as a source"},
    {"CREATE TABLE s (k INT) WITH (\'connector\' = \'datagen\');", NULL,
     "the script has no INSERT INTO"},
    {TABLES "SET 'table.optimizer.agg-phase-strategy' = 'THREE_PHASE'; " GRPQ, "SET",
     "table.optimizer.agg-phase-strategy: 'THREE_PHASE' is not one of AUTO, ONE_PHASE, "
     "TWO_PHASE"},
    {TABLES "SET 'table.exec.mini-batch.enabled' = 'yes'; " GRPQ, "SET",
     "table.exec.mini-batch.enabled: 'yes' is not a boolean"},
    {TABLES "SET 'table.exec.mini-batch.allow-latency' = '2 parsecs'; " GRPQ, "SET",
     "table.exec.mini-batch.allow-latency: '2 parsecs' is not a duration"},
    {TABLES "SET 'table.exec.mini-batch.size' = 'many'; " GRPQ, "SET",
     "table.exec.mini-batch.size: 'many' is not an integer"},
    {TABLES "SET 'table.exec.mini-batch.enabled' = 'true'; INSERT INTO o SELECT k, SUM(v) FROM s "
            "GROUP BY k;",
     "SELECT", "set table.exec.mini-batch.allow-latency to a duration > 0"},
    {TABLES "SET 'table.exec.mini-batch.enabled' = 'true'; SET "
            "'table.exec.mini-batch.allow-latency' = '1 s'; INSERT INTO o SELECT k, SUM(v) FROM s "
            "GROUP BY k;",
     "SELECT", "set table.exec.mini-batch.size to a number of rows > 0"},
};

/* UNION ALL at the top of an INSERT: one pipeline per branch into the sink (also through a
 * view); the first branch's operators keep the uids of the same INSERT without the union. */
static void test_union_all(void **state)
{
    (void)state;
    json_t *one = compile(TABLES "INSERT INTO o SELECT k, v FROM s;");
    json_t *two = compile(TABLES "INSERT INTO o SELECT k, v FROM s UNION ALL SELECT k + 1, v * 2 "
                                 "FROM s WHERE k > 0;");
    json_t *viewed = compile(TABLES "CREATE VIEW u AS SELECT k, v FROM s UNION ALL SELECT k + 1, "
                                    "v * 2 FROM s WHERE k > 0; INSERT INTO o SELECT * FROM u;");
    char u1[16][33], u2[16][33], u3[16][33];
    uint32_t n1 = 0, n2 = 0, n3 = 0;
    uids(one, u1, &n1);
    uids(two, u2, &n2);
    uids(viewed, u3, &n3);
    size_t sinks = 0, i;
    json_t *op;
    json_array_foreach(json_object_get(two, "operators"), i, op)
    {
        if (strcmp(json_string_value(json_object_get(op, "type")), "sink") == 0)
            sinks++;
    }
    assert_int_equal(sinks, 2);
    assert_true(n2 > n1);
    for (uint32_t k = 0; k < n1; k++) /* the first branch's pipeline is unchanged */
        assert_string_equal(u1[k], u2[k]);
    assert_int_equal(n3, n2); /* the view plans the same operators */
    for (uint32_t k = 0; k < n2; k++)
        assert_string_equal(u2[k], u3[k]);
    json_decref(one);
    json_decref(two);
    json_decref(viewed);
}

#define TABLE2                                                                                     \
    "CREATE TABLE s2 (a BIGINT, b INT, ms BIGINT, ts AS TO_TIMESTAMP_LTZ(ms, 3), WATERMARK FOR "   \
    "ts AS ts - INTERVAL '2' SECOND) WITH ('connector' = 'datagen', 'number-of-rows' = '10');"

/* The operator of type `type` in a plan (the only one: fails on a second). */
static json_t *only_op(json_t *plan, const char *type)
{
    json_t *found = NULL, *op;
    size_t i;
    json_array_foreach(json_object_get(plan, "operators"), i, op)
    {
        if (strcmp(json_string_value(json_object_get(op, "type")), type) != 0)
            continue;
        assert_null(found);
        found = op;
    }
    assert_non_null(found);
    return found;
}

/* The operator whose "input" is `id`. */
static json_t *consumer_of(json_t *plan, const char *id)
{
    json_t *op;
    size_t i;
    json_array_foreach(json_object_get(plan, "operators"), i, op)
    {
        const char *in = json_string_value(json_object_get(op, "input"));
        if (in && strcmp(in, id) == 0)
            return op;
    }
    fail_msg("nothing reads %s", id);
    return NULL;
}

static void same_uids(json_t *a, json_t *b)
{
    char ua[32][33], ub[32][33];
    uint32_t na = 0, nb = 0;
    uids(a, ua, &na);
    uids(b, ub, &nb);
    assert_int_equal(na, nb);
    for (uint32_t k = 0; k < na; k++)
        assert_string_equal(ua[k], ub[k]);
}

/* UNION ALL inside a query: one union operator read by the aggregation, branches widened to
 * the common column types (INT and BIGINT: BIGINT, a cast on the INT branch); in a CTE as in a
 * view; under a window TVF through a view whose branches both have the rowtime; UNION
 * (DISTINCT) as a union and a distinct group_aggregate. Recompiled: the same uids; the scan of
 * the first branch keeps the uids it has without the union. */
static void test_union_inside(void **state)
{
    (void)state;
    const char *grouped = TABLES TABLE2
        "INSERT INTO o SELECT x, COUNT(*) FROM (SELECT k AS x FROM s UNION ALL SELECT a FROM s2 "
        "WHERE b > 0) GROUP BY x;";
    json_t *p = compile(grouped), *p2 = compile(grouped);
    same_uids(p, p2);
    json_t *u = only_op(p, "union");
    json_t *inputs = json_object_get(u, "inputs");
    assert_int_equal(json_array_size(inputs), 2);
    json_t *cast = NULL, *op;
    size_t i;
    json_array_foreach(json_object_get(p, "operators"), i, op)
    {
        if (!strcmp(json_string_value(json_object_get(op, "id")),
                    json_string_value(json_array_get(inputs, 0))))
            cast = op;
    }
    assert_non_null(cast); /* the INT branch is cast to BIGINT */
    char *ct = json_dumps(cast, JSON_COMPACT);
    assert_non_null(strstr(ct, "\"fn\":\"CAST\""));
    assert_non_null(strstr(ct, "\"type\":\"BIGINT\""));
    free(ct);
    json_t *pre = consumer_of(p, json_string_value(json_object_get(u, "id")));
    json_t *agg = consumer_of(p, json_string_value(json_object_get(pre, "id")));
    assert_string_equal(json_string_value(json_object_get(agg, "type")), "group_aggregate");
    /* the scan of s: the uids of the same scan without the union */
    json_t *plain = compile(TABLES "INSERT INTO o SELECT k, COUNT(*) FROM s GROUP BY k;");
    char ua[32][33], ub[32][33];
    uint32_t na = 0, nb = 0;
    uids(p, ua, &na);
    uids(plain, ub, &nb);
    for (uint32_t k = 0; k < 3; k++) /* source, computed columns, watermark */
        assert_string_equal(ua[k], ub[k]);
    json_decref(plain);
    json_decref(p);
    json_decref(p2);

    /* a CTE plans as the equivalent view */
    json_t *cte = compile(TABLES "INSERT INTO o WITH u AS (SELECT k, v FROM s UNION ALL SELECT k, "
                                 "v FROM s WHERE k > 3) SELECT k, SUM(v) FROM u GROUP BY k;");
    json_t *view = compile(TABLES "CREATE VIEW u AS SELECT k, v FROM s UNION ALL SELECT k, v FROM "
                                  "s WHERE k > 3; INSERT INTO o SELECT k, SUM(v) FROM u GROUP BY "
                                  "k;");
    same_uids(cte, view);
    u = only_op(cte, "union");
    assert_int_equal(json_array_size(json_object_get(u, "inputs")), 2);
    json_decref(cte);
    json_decref(view);

    /* a window TVF over a view of two tables with watermarks: the rowtime survives */
    const char *windowed =
        TABLES TABLE2 "CREATE VIEW w AS SELECT k, ts FROM s UNION ALL SELECT b AS k, ts FROM s2;"
                      "INSERT INTO o SELECT k, COUNT(*) FROM TABLE(TUMBLE(TABLE w, DESCRIPTOR(ts), "
                      "INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, k;";
    p = compile(windowed);
    p2 = compile(windowed);
    same_uids(p, p2);
    u = only_op(p, "union");
    pre = consumer_of(p, json_string_value(json_object_get(u, "id")));
    /* split in two phases: the local one beside the calc after the union */
    agg = consumer_of(p, json_string_value(json_object_get(pre, "id")));
    assert_string_equal(json_string_value(json_object_get(agg, "type")), "local_window_aggregate");
    agg = consumer_of(p, json_string_value(json_object_get(agg, "id")));
    assert_string_equal(json_string_value(json_object_get(agg, "type")), "window_aggregate");
    json_decref(p);
    json_decref(p2);

    /* UNION: a union, then DISTINCT over it, then the rest with UNION ALL */
    p = compile(TABLES "INSERT INTO o SELECT k, COUNT(*) FROM (SELECT k FROM s UNION SELECT k "
                       "FROM s WHERE k > 1 UNION ALL SELECT k + 1 FROM s) GROUP BY k;");
    size_t unions = 0;
    json_t *first = NULL;
    json_array_foreach(json_object_get(p, "operators"), i, op)
    {
        if (strcmp(json_string_value(json_object_get(op, "type")), "union") != 0)
            continue;
        if (!unions++)
            first = op;
    }
    assert_int_equal(unions, 2);
    json_t *d = consumer_of(p, json_string_value(json_object_get(first, "id")));
    assert_string_equal(json_string_value(json_object_get(d, "type")), "group_aggregate");
    assert_int_equal(json_array_size(json_object_get(d, "aggregates")), 0);
    json_decref(p);
    /* at the top of an INSERT too: one sink */
    p = compile(TABLES "INSERT INTO o SELECT k, v FROM s UNION SELECT k, v FROM s WHERE k > 1;");
    only_op(p, "sink");
    only_op(p, "union");
    json_decref(p);
}

/* WITH queries: scoped to their query (and every UNION ALL branch), a later one sees the
 * earlier ones, a name shadows a table but not inside its own definition (WITH is not
 * recursive); they plan as the equivalent views do. Equal branches get distinct uids. */
static void test_with(void **state)
{
    (void)state;
    json_t *viewed = compile(TABLES "CREATE VIEW big AS SELECT k, v FROM s WHERE k > 0;"
                                    "INSERT INTO o SELECT k, COUNT(*) FROM big GROUP BY k;");
    json_t *with = compile(TABLES "INSERT INTO o WITH big AS (SELECT k, v FROM s WHERE k > 0) "
                                  "SELECT k, COUNT(*) FROM big GROUP BY k;");
    char u1[16][33], u2[16][33];
    uint32_t n1 = 0, n2 = 0;
    uids(viewed, u1, &n1);
    uids(with, u2, &n2);
    assert_int_equal(n1, n2);
    for (uint32_t k = 0; k < n1; k++)
        assert_string_equal(u1[k], u2[k]);
    json_decref(viewed);
    json_decref(with);
    /* chained, column-renamed, shadowing the table it reads, across UNION ALL branches */
    json_t *p = compile(TABLES "INSERT INTO o WITH s AS (SELECT k + 100 AS k, v FROM s), "
                               "t2 (a, b) AS (SELECT k, v * 2 FROM s) "
                               "SELECT a, b FROM t2 UNION ALL SELECT a, b FROM t2;");
    char u3[16][33];
    uint32_t n3 = 0;
    uids(p, u3, &n3); /* loads: equal branches got distinct uids */
    for (uint32_t a = 0; a < n3; a++)
        for (uint32_t b = 0; b < a; b++)
            assert_string_not_equal(u3[a], u3[b]);
    json_t *again = compile(TABLES "INSERT INTO o WITH s AS (SELECT k + 100 AS k, v FROM s), "
                                   "t2 (a, b) AS (SELECT k, v * 2 FROM s) "
                                   "SELECT a, b FROM t2 UNION ALL SELECT a, b FROM t2;");
    char u4[16][33];
    uint32_t n4 = 0;
    uids(again, u4, &n4); /* and the same ones when recompiled */
    assert_int_equal(n3, n4);
    for (uint32_t k = 0; k < n3; k++)
        assert_string_equal(u3[k], u4[k]);
    json_decref(p);
    json_decref(again);
}

/* COUNT(DISTINCT x) GROUP BY k: distinct (k, x), then COUNT(x) per k. */
static void test_count_distinct(void **state)
{
    (void)state;
    json_t *p = compile(TABLES "INSERT INTO o SELECT k, COUNT(DISTINCT v) FROM s GROUP BY k;");
    size_t i, n = 0;
    json_t *op, *aggs[2] = {NULL, NULL};
    json_array_foreach(json_object_get(p, "operators"), i, op)
    {
        if (!strcmp(json_string_value(json_object_get(op, "type")), "group_aggregate") && n < 2)
            aggs[n++] = op;
    }
    assert_int_equal(n, 2);
    assert_int_equal(json_array_size(json_object_get(aggs[0], "keys")), 2);
    assert_int_equal(json_array_size(json_object_get(aggs[0], "aggregates")), 0);
    assert_int_equal(json_array_size(json_object_get(aggs[1], "keys")), 1);
    json_t *a = json_array_get(json_object_get(aggs[1], "aggregates"), 0);
    assert_string_equal(json_string_value(json_object_get(a, "fn")), "COUNT");
    assert_true(json_is_integer(json_object_get(a, "arg"))); /* COUNT(x): NULLs not counted */
    char u[16][33];
    uint32_t nu = 0;
    uids(p, u, &nu);
    json_decref(p);
}

/* SELECT DISTINCT: a group_aggregate keyed by every output column, with no aggregates. */
static void test_distinct(void **state)
{
    (void)state;
    json_t *p = compile(TABLES "INSERT INTO o SELECT DISTINCT k, v FROM s WHERE k > 1;");
    size_t i, found = 0;
    json_t *op;
    json_array_foreach(json_object_get(p, "operators"), i, op)
    {
        if (strcmp(json_string_value(json_object_get(op, "type")), "group_aggregate") != 0)
            continue;
        found++;
        assert_int_equal(json_array_size(json_object_get(op, "keys")), 2);
        assert_int_equal(json_array_size(json_object_get(op, "aggregates")), 0);
    }
    assert_int_equal(found, 1);
    char u[16][33];
    uint32_t n = 0;
    uids(p, u, &n); /* the runtime loads it */
    json_decref(p);
}

/* VALUES: the rows come out once each, in order, typed per column; also in a UNION ALL. */
static void test_values(void **state)
{
    (void)state;
    json_t *p = compile(TABLES "INSERT INTO o VALUES (1, 10), (2, CAST(NULL AS BIGINT)), (3, 30) "
                               "UNION ALL SELECT k, v FROM s;");
    size_t i, sources = 0;
    json_t *op;
    json_array_foreach(json_object_get(p, "operators"), i, op)
    {
        if (strcmp(json_string_value(json_object_get(op, "type")), "source") != 0)
            continue;
        sources++;
        if (strcmp(json_string_value(json_object_get(op, "connector")), "datagen") == 0 &&
            json_object_get(json_object_get(op, "options"), "fields.__row.end"))
            assert_string_equal(json_string_value(json_object_get(json_object_get(op, "options"),
                                                                  "fields.__row.end")),
                                "2");
    }
    assert_int_equal(sources, 2);
    char u[16][33];
    uint32_t n = 0;
    uids(p, u, &n);
    json_decref(p);
}

/* CREATE TABLE ... LIKE: columns, watermark and options copied as Flink merges them. */
static void test_like(void **state)
{
    (void)state;
    /* upstream's simple.sql shape (its ROW column is not supported yet) */
    json_t *p = compile("CREATE TABLE orders (order_number BIGINT, price DECIMAL(10, 2), "
                        "order_time TIMESTAMP(3)) WITH ('connector' = 'datagen');"
                        "CREATE TABLE print_table WITH ('connector' = 'print') LIKE orders;"
                        "INSERT INTO print_table SELECT * FROM orders;");
    size_t i;
    json_t *op, *sink = NULL;
    json_array_foreach(json_object_get(p, "operators"), i, op)
    {
        if (!strcmp(json_string_value(json_object_get(op, "type")), "sink"))
            sink = op;
    }
    assert_non_null(sink);
    assert_string_equal(json_string_value(json_object_get(sink, "connector")), "print");
    json_decref(p);
    /* the source's watermark and computed column come along; EXCLUDING OPTIONS drops its
     * options; own columns follow the copied ones */
    p = compile(TABLES "CREATE TABLE s2 (extra INT) WITH ('connector' = 'datagen', "
                       "'number-of-rows' = '5') LIKE s (EXCLUDING OPTIONS);"
                       "INSERT INTO o SELECT k, COUNT(*) FROM TABLE(TUMBLE(TABLE s2, "
                       "DESCRIPTOR(ts), INTERVAL '1' SECOND)) WHERE extra IS NOT NULL "
                       "GROUP BY window_start, window_end, k;");
    json_decref(p);
}

/* The output types of the last operator of `plan` that is not a sink, loaded as the runtime
 * loads the plan (so the types round-trip through the plan's JSON), joined by "; ". */
static void last_types(json_t *plan, char *buf, size_t size)
{
    char *txt = json_dumps(plan, 0);
    rt_plan *p = NULL;
    weir_error err = {0};
    if (rt_plan_load(txt, strlen(txt), "t", 1, &p, &err))
        fail_msg("%s", err.msg);
    const rt_schema *out = NULL;
    for (uint32_t i = 0; i < p->nops; i++)
        if (p->ops[i].type != RT_OP_SINK)
            out = p->ops[i].out;
    size_t n = 0;
    buf[0] = '\0';
    for (uint32_t c = 0; out && c < out->ncols; c++) {
        char tb[64];
        rt_type t = out->types[c];
        t.nullable = 1;
        n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s", c ? "; " : "",
                              rt_type_format(t, tb, sizeof(tb)));
    }
    rt_plan_free(p);
    free(txt);
}

/* DECIMAL up to 38 digits: column types, literals beyond BIGINT and 18 digits typed as Flink
 * does, SUM/AVG result types, all surviving the plan's JSON. */
static void test_decimal38(void **state)
{
    (void)state;
    char types[512];
    json_t *p = compile("CREATE TABLE d (k INT, price DECIMAL(10, 2), big DECIMAL(38, 10)) WITH "
                        "('connector' = 'datagen', 'number-of-rows' = '5');"
                        "CREATE TABLE o (k INT, s DECIMAL(38, 2), a DECIMAL(38, 6), "
                        "m DECIMAL(38, 10), sb DECIMAL(38, 10)) WITH ('connector' = 'blackhole');"
                        "INSERT INTO o SELECT k, SUM(price), AVG(price), MAX(big), SUM(big) "
                        "FROM d GROUP BY k;");
    last_types(p, types, sizeof(types));
    assert_string_equal(types, "INT; DECIMAL(38, 2); DECIMAL(38, 6); DECIMAL(38, 10); "
                               "DECIMAL(38, 10)");
    json_decref(p);
    p = compile("CREATE TABLE d (k INT, big DECIMAL(38, 10)) WITH ('connector' = 'datagen');"
                "CREATE TABLE o (a DECIMAL(22, 2), b DECIMAL(20, 0), c DECIMAL(38, 10), "
                "e DECIMAL(38, 6)) WITH ('connector' = 'blackhole');"
                "INSERT INTO o SELECT 12345678901234567890.12, 12345678901234567890, big + 1, "
                "big * big FROM d;");
    last_types(p, types, sizeof(types));
    assert_string_equal(types, "DECIMAL(22, 2); DECIMAL(20, 0); DECIMAL(38, 10); DECIMAL(38, 6)");
    json_decref(p);
    /* into STRING columns, so that no cast to the sink's types hides the literals' own types */
    p = compile("CREATE TABLE d (k INT) WITH ('connector' = 'datagen');"
                "CREATE TABLE o (a STRING, b STRING) WITH ('connector' = 'blackhole');"
                "INSERT INTO o SELECT CAST(12345678901234567890.12 AS STRING), "
                "CAST(12345678901234567890 AS STRING) FROM d;");
    char *txt = json_dumps(p, JSON_COMPACT);
    assert_non_null(strstr(txt, "\"type\":\"DECIMAL(22, 2)\""));
    assert_non_null(strstr(txt, "\"type\":\"DECIMAL(20, 0)\""));
    free(txt);
    json_decref(p);
}

/* --- projection push-down ------------------------------------------------------------------ */

#define WIDE                                                                                       \
    "CREATE TABLE w (a BIGINT, b INT, c STRING, d DOUBLE, e BIGINT) WITH ('connector' = "          \
    "'datagen', 'number-of-rows' = '10');"                                                         \
    "CREATE TABLE o2 (x BIGINT, y DOUBLE) WITH ('connector' = 'blackhole');"                       \
    "CREATE TABLE o5 (a BIGINT, b INT, c STRING, d DOUBLE, e BIGINT) WITH ('connector' = "         \
    "'blackhole');"

/* The source's "projection" as text ("[0, 3]"), or "none". */
static void source_projection(json_t *plan, char *buf, size_t size)
{
    json_t *pj = json_object_get(only_op(plan, "source"), "projection");
    char *t = pj ? json_dumps(pj, JSON_COMPACT) : strdup("none");
    snprintf(buf, size, "%s", t);
    free(t);
}

/* Column indexes the expression reads, appended to buf as ",i". */
static void refs(const json_t *e, char *buf, size_t size)
{
    const char *kind = json_string_value(json_object_get(e, "kind"));
    if (kind && !strcmp(kind, "column"))
        snprintf(buf + strlen(buf), size - strlen(buf), ",%lld",
                 (long long)json_integer_value(json_object_get(e, "index")));
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(e, "args"), i, a) refs(a, buf, size);
}

static void test_projection_pushdown(void **state)
{
    (void)state;
    char pj[128], r[128] = "";
    /* two of five columns: the source produces those two, the calc reads them renumbered */
    json_t *p = compile(WIDE "INSERT INTO o2 SELECT a, d FROM w;");
    source_projection(p, pj, sizeof(pj));
    assert_string_equal(pj, "[0,3]");
    json_t *calc = consumer_of(p, "source_w");
    assert_string_equal(json_string_value(json_object_get(calc, "type")), "calc");
    json_t *proj = json_object_get(calc, "projection");
    refs(json_object_get(json_array_get(proj, 0), "expr"), r, sizeof(r));
    refs(json_object_get(json_array_get(proj, 1), "expr"), r, sizeof(r));
    assert_string_equal(r, ",0,1");
    json_decref(p);
    /* a filter's columns count; every column or SELECT *: no projection */
    p = compile(WIDE "INSERT INTO o2 SELECT a, d FROM w WHERE e > 0;");
    source_projection(p, pj, sizeof(pj));
    assert_string_equal(pj, "[0,3,4]");
    json_decref(p);
    p = compile(WIDE "INSERT INTO o2 SELECT a + b, d FROM w WHERE c <> '' AND e > 0;");
    source_projection(p, pj, sizeof(pj));
    assert_string_equal(pj, "none");
    json_decref(p);
    p = compile(WIDE "INSERT INTO o5 SELECT * FROM w;");
    source_projection(p, pj, sizeof(pj));
    assert_string_equal(pj, "none");
    json_decref(p);
    p = compile(WIDE "INSERT INTO o5 SELECT * FROM w WHERE a > 1;");
    source_projection(p, pj, sizeof(pj));
    assert_string_equal(pj, "none");
    json_decref(p);
    /* an aggregation: its keys and arguments */
    p = compile(WIDE "CREATE TABLE o3 (b INT, s DOUBLE) WITH ('connector' = 'blackhole');"
                     "INSERT INTO o3 SELECT b, SUM(d) FROM w GROUP BY b;");
    source_projection(p, pj, sizeof(pj));
    assert_string_equal(pj, "[1,3]");
    json_decref(p);
    /* a query reading no column still reads one, for the rows */
    p = compile(WIDE "CREATE TABLE o4 (c BIGINT) WITH ('connector' = 'blackhole');"
                     "INSERT INTO o4 SELECT CAST(1 AS BIGINT) FROM w;");
    source_projection(p, pj, sizeof(pj));
    assert_string_equal(pj, "[0]");
    json_decref(p);
    /* through a subquery: columns the outer query does not read are dropped */
    p = compile(WIDE "INSERT INTO o2 SELECT a, d FROM (SELECT a, c, d, e FROM w);");
    source_projection(p, pj, sizeof(pj));
    assert_string_equal(pj, "[0,3]");
    json_decref(p);
}

static void test_projection_watermark_computed(void **state)
{
    (void)state;
    char pj[128];
    /* the watermark's rowtime column is kept though the query does not read it */
    json_t *p = compile(WIDE "CREATE TABLE t (a BIGINT, b INT, ts TIMESTAMP(3), d DOUBLE, "
                             "WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' "
                             "= 'datagen', 'number-of-rows' = '10');"
                             "INSERT INTO o2 SELECT a, d FROM t;");
    source_projection(p, pj, sizeof(pj));
    assert_string_equal(pj, "[0,2,3]");
    json_t *wm = only_op(p, "watermark");
    assert_string_equal(json_string_value(json_object_get(wm, "input")), "source_t");
    assert_string_equal(json_string_value(json_object_get(wm, "rowtime")), "ts");
    json_decref(p);
    /* computed columns: a needed one keeps the columns it reads (v for v2, ms for the rowtime
     * ts); one nothing reads drops out with its columns */
#define CC                                                                                         \
    "CREATE TABLE cc (k INT, v BIGINT, ms BIGINT, x DOUBLE, ts AS TO_TIMESTAMP_LTZ(ms, 3), v2 AS " \
    "v * 2, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen', "         \
    "'number-of-rows' = '10');"                                                                    \
    "CREATE TABLE ok (k INT, y BIGINT) WITH ('connector' = 'blackhole');"                          \
    "CREATE TABLE ox (k INT, y DOUBLE) WITH ('connector' = 'blackhole');"
    p = compile(WIDE CC "INSERT INTO ok SELECT k, v2 FROM cc;");
    source_projection(p, pj, sizeof(pj));
    assert_string_equal(pj, "[0,1,2]");
    json_decref(p);
    p = compile(WIDE CC "INSERT INTO ox SELECT k, x FROM cc;");
    source_projection(p, pj, sizeof(pj));
    assert_string_equal(pj, "[0,2,3]");
    /* the computed-column calc: v and v2 are unread, typed NULLs; ts reads ms (now column 1) */
    json_t *calc = consumer_of(p, "source_cc");
    json_t *proj = json_object_get(calc, "projection");
    assert_int_equal(json_array_size(proj), 6);
    json_t *v = json_object_get(json_array_get(proj, 1), "expr");
    assert_string_equal(json_string_value(json_object_get(v, "kind")), "literal");
    assert_string_equal(json_string_value(json_object_get(v, "type")), "BIGINT");
    assert_true(json_is_null(json_object_get(v, "value")));
    json_t *v2 = json_object_get(json_array_get(proj, 5), "expr");
    assert_string_equal(json_string_value(json_object_get(v2, "kind")), "literal");
    char r[64] = "";
    refs(json_object_get(json_array_get(proj, 4), "expr"), r, sizeof(r));
    assert_string_equal(r, ",1");
    json_decref(p);
    p = compile(WIDE CC "INSERT INTO ok SELECT k, v2 FROM cc WHERE x > 0;");
    source_projection(p, pj, sizeof(pj));
    assert_string_equal(pj, "none");
    json_decref(p);
#undef CC
}

/* A statement set reading different columns of one table scans it once, for their union; the
 * source's uid does not depend on its projection. */
static void test_projection_statement_set(void **state)
{
    (void)state;
    char pj[128];
    json_t *p = compile(WIDE "EXECUTE STATEMENT SET BEGIN INSERT INTO o2 SELECT a, d FROM w; "
                             "INSERT INTO o2 SELECT e, d FROM w; END;");
    source_projection(p, pj, sizeof(pj)); /* only_op: one source */
    assert_string_equal(pj, "[0,3,4]");
    json_decref(p);
    json_t *two = compile(WIDE "INSERT INTO o2 SELECT a, d FROM w;");
    json_t *three = compile(WIDE "INSERT INTO o2 SELECT a, d FROM w WHERE b > 0;");
    json_t *all = compile(WIDE "INSERT INTO o5 SELECT * FROM w;");
    char p2[64], p3[64], pa[64];
    source_projection(two, p2, sizeof(p2));
    source_projection(three, p3, sizeof(p3));
    source_projection(all, pa, sizeof(pa));
    assert_string_equal(p2, "[0,3]");
    assert_string_equal(p3, "[0,1,3]");
    assert_string_equal(pa, "none");
    char u2[16][33], u3[16][33], ua[16][33];
    uint32_t n2 = 0, n3 = 0, na = 0;
    uids(two, u2, &n2);
    uids(three, u3, &n3);
    uids(all, ua, &na);
    assert_string_equal(u2[0], u3[0]);
    assert_string_equal(u2[0], ua[0]);
    json_decref(two);
    json_decref(three);
    json_decref(all);
    /* a second INSERT reading another column (before d, so the first's calc is renumbered)
     * changes none of the first INSERT's uids: its aggregation's state restores */
    json_t *one = compile(WIDE "INSERT INTO o2 SELECT a, SUM(d) FROM w GROUP BY a;");
    json_t *both = compile(WIDE "EXECUTE STATEMENT SET BEGIN INSERT INTO o2 SELECT a, SUM(d) "
                                "FROM w GROUP BY a; INSERT INTO o2 SELECT CAST(b AS BIGINT), d "
                                "FROM w; END;");
    source_projection(one, p2, sizeof(p2));
    source_projection(both, p3, sizeof(p3));
    assert_string_equal(p2, "[0,3]");
    assert_string_equal(p3, "[0,1,3]");
    char r[64] = "";
    refs(json_object_get(
             json_array_get(json_object_get(consumer_of(both, "source_w"), "projection"), 1),
             "expr"),
         r, sizeof(r));
    assert_string_equal(r, ",2"); /* d, renumbered */
    uids(one, u2, &n2);
    uids(both, u3, &n3);
    assert_true(n3 > n2);
    for (uint32_t k = 0; k < n2; k++)
        assert_string_equal(u2[k], u3[k]);
    json_decref(one);
    json_decref(both);
}

/* Two-phase aggregation (table.optimizer.agg-phase-strategy, as Flink): a window aggregation
 * is split into local + global unless ONE_PHASE; a group aggregation only with mini-batch on,
 * its local flushing after mini-batch.size rows and allow-latency; never a COUNT(DISTINCT).
 * Every operator that is in both plans has the same uid either way, so a savepoint taken with
 * one strategy restores with the other. */
#define WINQ                                                                                       \
    "INSERT INTO o SELECT k, COUNT(*) FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL '1' "    \
    "MINUTE)) GROUP BY window_start, window_end, k;"
#define MB                                                                                         \
    "SET 'table.exec.mini-batch.enabled' = 'true';"                                                \
    "SET 'table.exec.mini-batch.allow-latency' = '2 s'; SET 'table.exec.mini-batch.size' = '500';"

static size_t count_type(json_t *plan, const char *type)
{
    size_t i, n = 0;
    json_t *op;
    json_array_foreach(json_object_get(plan, "operators"), i, op) n +=
        strcmp(json_string_value(json_object_get(op, "type")), type) == 0;
    return n;
}

/* Every uid of `a` that is not a local aggregation's appears in `b`, in the same order. */
static void uids_kept(json_t *a, json_t *b)
{
    char ua[32][33], ub[32][33];
    uint32_t na = 0, nb = 0, j = 0;
    uids(a, ua, &na);
    uids(b, ub, &nb);
    for (uint32_t i = 0; i < na; i++) {
        const char *t = json_string_value(
            json_object_get(json_array_get(json_object_get(a, "operators"), i), "type"));
        if (!strncmp(t, "local_", 6))
            continue;
        while (j < nb && strcmp(ua[i], ub[j]) != 0)
            j++;
        if (j == nb)
            fail_msg("uid of operator %u (%s) is not kept", i, t);
    }
}

static void test_two_phase(void **state)
{
    (void)state;
    json_t *two = compile(TABLES WINQ);
    json_t *one = compile(TABLES "SET 'table.optimizer.agg-phase-strategy' = 'ONE_PHASE';" WINQ);
    json_t *forced = compile(TABLES "SET 'table.optimizer.agg-phase-strategy' = 'two_phase';" WINQ);
    json_t *loc = only_op(two, "local_window_aggregate");
    json_t *glob = consumer_of(two, json_string_value(json_object_get(loc, "id")));
    assert_string_equal(json_string_value(json_object_get(glob, "type")), "window_aggregate");
    assert_null(json_object_get(glob, "keys"));
    assert_null(json_object_get(loc, "parallelism"));
    assert_null(json_object_get(loc, "flushRows")); /* the loader's default */
    assert_int_equal(count_type(one, "local_window_aggregate"), 0);
    assert_int_equal(count_type(forced, "local_window_aggregate"), 1);
    uids_kept(one, two);
    uids_kept(two, one);
    json_decref(two);
    json_decref(one);
    json_decref(forced);

    /* from the configuration (Flink's table options in flink-conf / -D); a SET wins */
    json_t *conf = json_pack("{s:s, s:s}", "table.optimizer.agg-phase-strategy", "ONE_PHASE",
                             "table.exec.mini-batch.enabled", "false");
    json_t *pc = NULL;
    weir_error e = {0};
    const char *q = TABLES WINQ;
    assert_int_equal(sql_compile_conf(q, strlen(q), "t.sql", conf, &pc, NULL, &e), 0);
    assert_int_equal(count_type(pc, "local_window_aggregate"), 0);
    json_decref(pc);
    q = TABLES "SET 'table.optimizer.agg-phase-strategy' = 'AUTO';" WINQ;
    assert_int_equal(sql_compile_conf(q, strlen(q), "t.sql", conf, &pc, NULL, &e), 0);
    assert_int_equal(count_type(pc, "local_window_aggregate"), 1);
    json_decref(pc);
    json_object_set_new(conf, "table.exec.mini-batch.enabled", json_string("maybe"));
    assert_int_equal(sql_compile_conf(q, strlen(q), "t.sql", conf, &pc, NULL, &e), WEIR_EINVAL);
    assert_string_equal(e.msg, "t.sql: table.exec.mini-batch.enabled: 'maybe' is not a boolean "
                               "(true or false) (from the configuration)");
    json_decref(conf);

    /* group aggregation: one phase unless mini-batch, as Flink */
    one = compile(TABLES GRPQ);
    assert_int_equal(count_type(one, "local_group_aggregate"), 0);
    two = compile(TABLES MB GRPQ);
    loc = only_op(two, "local_group_aggregate");
    assert_int_equal(json_integer_value(json_object_get(loc, "flushRows")), 500);
    assert_int_equal(json_integer_value(json_object_get(loc, "flushMs")), 2000);
    uids_kept(one, two);
    json_decref(two);
    two = compile(TABLES MB "SET 'table.optimizer.agg-phase-strategy' = 'ONE_PHASE';" GRPQ);
    assert_int_equal(count_type(two, "local_group_aggregate"), 0);
    json_decref(two);
    /* a global aggregation (no keys): the global at parallelism 1, the local beside its input;
     * COUNT(*) alone reads no column (its calc still has one) */
    json_decref(compile(TABLES "INSERT INTO o SELECT 1, COUNT(*) FROM s;"));
    two = compile(TABLES MB "INSERT INTO o SELECT 1, COUNT(*) FROM s;");
    loc = only_op(two, "local_group_aggregate");
    assert_null(json_object_get(loc, "parallelism"));
    glob = consumer_of(two, json_string_value(json_object_get(loc, "id")));
    assert_int_equal(json_integer_value(json_object_get(glob, "parallelism")), 1);
    json_decref(two);
    /* DISTINCT aggregates beside others, in windows too: the engine's, in one phase */
    two = compile(TABLES "INSERT INTO o SELECT k, COUNT(DISTINCT v) + SUM(DISTINCT v) + COUNT(*) "
                         "FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP "
                         "BY window_start, window_end, k;");
    assert_int_equal(count_type(two, "local_window_aggregate"), 0);
    json_t *aggs = json_object_get(only_op(two, "window_aggregate"), "aggregates");
    assert_int_equal(json_array_size(aggs), 3);
    assert_true(json_is_true(json_object_get(json_array_get(aggs, 0), "distinct")));
    assert_true(json_is_true(json_object_get(json_array_get(aggs, 1), "distinct")));
    assert_null(json_object_get(json_array_get(aggs, 2), "distinct"));
    json_decref(two);
    /* FILTER (WHERE c): the aggregate of CASE WHEN c THEN x END (COUNT(*): of TRUE) */
    two = compile(TABLES "INSERT INTO o SELECT k, COUNT(*) FILTER (WHERE v > 1) + SUM(v) FILTER "
                         "(WHERE k < 3) FROM s GROUP BY k;");
    aggs = json_object_get(only_op(two, "group_aggregate"), "aggregates");
    assert_int_equal(json_array_size(aggs), 2);
    char *pre = json_dumps(json_array_get(json_object_get(two, "operators"), 3), JSON_COMPACT);
    assert_non_null(strstr(pre, "\"fn\":\"CASE\""));
    free(pre);
    json_decref(two);
    /* COUNT(DISTINCT) is not split */
    two = compile(TABLES MB "INSERT INTO o SELECT k, COUNT(DISTINCT v) FROM s GROUP BY k;");
    assert_int_equal(count_type(two, "local_group_aggregate"), 0);
    json_decref(two);
    json_decref(one);
}

/* ROW columns: flattened into "row.field" columns (nested ROWs too) that `row.field`,
 * `t.row.field` and a whole `row` in the select list read; the sink gets the fields under its
 * own ROW's names, which the print sink nests. */
static void test_row(void **state)
{
    (void)state;
    json_t *p = compile("CREATE TABLE t (id BIGINT, p ROW<name STRING, addr ROW(city STRING, zip "
                        "INT) NOT NULL, age INT>) WITH ('connector' = 'datagen', "
                        "'fields.p.addr.zip.min' = '1', 'number-of-rows' = '5');"
                        "CREATE TABLE o (p ROW<name STRING, addr ROW<city STRING, zip INT>, age "
                        "INT>, z INT, c STRING) WITH ('connector' = 'print');"
                        "INSERT INTO o SELECT p, t.p.addr.zip + 1, UPPER(p.addr.city) FROM t "
                        "WHERE p.age > 3;");
    json_t *src = only_op(p, "source"), *sink = only_op(p, "sink");
    json_t *schema = json_object_get(src, "schema");
    assert_int_equal(json_array_size(schema), 5);
    assert_string_equal(json_string_value(json_object_get(json_array_get(schema, 3), "name")),
                        "p.addr.zip");
    assert_string_equal(json_string_value(json_object_get(json_array_get(schema, 3), "type")),
                        "INT");
    /* the calc before the sink names its columns as the sink declares them */
    json_t *last = NULL, *op;
    size_t k;
    json_array_foreach(json_object_get(p, "operators"), k, op)
    {
        if (!strcmp(json_string_value(json_object_get(op, "id")),
                    json_string_value(json_object_get(sink, "input"))))
            last = op;
    }
    assert_non_null(last);
    json_t *proj = json_object_get(last, "projection");
    assert_int_equal(json_array_size(proj), 6);
    assert_string_equal(json_string_value(json_object_get(json_array_get(proj, 1), "name")),
                        "p.addr.city");
    assert_string_equal(json_string_value(json_object_get(json_array_get(proj, 4), "name")), "z");
    char *txt = json_dumps(p, JSON_COMPACT);
    assert_non_null(strstr(txt, "\"name\":\"p.addr.city\""));
    free(txt);
    json_decref(p);
}

/* INSERT INTO t (cols): the listed columns in list order, NULL for the others. */
static void test_insert_columns(void **state)
{
    (void)state;
    json_t *p = compile("CREATE TABLE s (k INT, v BIGINT) WITH ('connector' = 'datagen');"
                        "CREATE TABLE o (a INT, b STRING, c BIGINT) WITH ('connector' = 'print');"
                        "INSERT INTO o (c, a) SELECT v, k FROM s;");
    json_t *sink = only_op(p, "sink"), *last = NULL, *op;
    size_t k;
    json_array_foreach(json_object_get(p, "operators"), k, op)
    {
        if (!strcmp(json_string_value(json_object_get(op, "id")),
                    json_string_value(json_object_get(sink, "input"))))
            last = op;
    }
    json_t *proj = json_object_get(last, "projection");
    assert_int_equal(json_array_size(proj), 3);
    json_t *e0 = json_object_get(json_array_get(proj, 0), "expr"),
           *e1 = json_object_get(json_array_get(proj, 1), "expr"),
           *e2 = json_object_get(json_array_get(proj, 2), "expr");
    assert_int_equal(json_integer_value(json_object_get(e0, "index")), 1); /* a = k */
    assert_string_equal(json_string_value(json_object_get(e1, "kind")), "literal");
    assert_true(json_is_null(json_object_get(e1, "value")));               /* b = NULL */
    assert_int_equal(json_integer_value(json_object_get(e2, "index")), 0); /* c = v */
    json_decref(p);
}

static void test_bad_scripts(void **state)
{
    (void)state;
    size_t n = sizeof(bads) / sizeof(bads[0]);
    int failures = 0;
    assert_true(n >= 30);
    for (size_t i = 0; i < n; i++) {
        json_t *plan = NULL;
        weir_error err = {0};
        int rc = sql_compile(bads[i].sql, strlen(bads[i].sql), "t.sql", &plan, NULL, &err);
        if (rc == 0)
            fail_msg("case %zu compiled: %s", i, bads[i].sql);
        char where[64];
        const char *sql = bads[i].sql;
        size_t skip = strncmp(sql, TABLES, strlen(TABLES)) == 0 ? strlen(TABLES) : 0;
        if (bads[i].marker) {
            const char *at = strstr(sql + skip, bads[i].marker);
            assert_non_null(at);
            snprintf(where, sizeof(where), "t.sql:1:%d:", (int)(at - sql) + 1);
        } else
            snprintf(where, sizeof(where), "t.sql:");
        if (strncmp(err.msg, where, strlen(where)) != 0 || !strstr(err.msg, bads[i].text)) {
            print_message("case %zu: got '%s', want '%s' ... '%s'\n", i, err.msg, where,
                          bads[i].text);
            failures++;
        }
        assert_null(plan);
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scripts),
        cmocka_unit_test(test_row),
        cmocka_unit_test(test_insert_columns),
        cmocka_unit_test(test_uids),
        cmocka_unit_test(test_union_all),
        cmocka_unit_test(test_union_inside),
        cmocka_unit_test(test_with),
        cmocka_unit_test(test_distinct),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_like),
        cmocka_unit_test(test_count_distinct),
        cmocka_unit_test(test_decimal38),
        cmocka_unit_test(test_bad_scripts),
        cmocka_unit_test(test_two_phase),
        cmocka_unit_test(test_projection_pushdown),
        cmocka_unit_test(test_projection_watermark_computed),
        cmocka_unit_test(test_projection_statement_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
