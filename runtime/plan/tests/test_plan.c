/*
 * test_plan.c - the plan loader: a valid plan's derived schemas, partitions and uids, and one
 * malformed plan per check, each failing with the JSON path of what is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/plan/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SRC                                                                                        \
    "{\"id\":\"src\",\"type\":\"source\",\"connector\":\"datagen\",\"options\":{"                  \
    "\"number-of-rows\":\"10\"},\"schema\":[{\"name\":\"k\",\"type\":\"INT\"},"                    \
    "{\"name\":\"v\",\"type\":\"BIGINT\"},{\"name\":\"t\",\"type\":\"TIMESTAMP(3)\"}]}"
#define WM "{\"id\":\"wm\",\"type\":\"watermark\",\"input\":\"src\",\"rowtime\":\"t\"}"
#define WIN(extra)                                                                                 \
    "{\"id\":\"win\",\"type\":\"window_aggregate\",\"input\":\"wm\",\"rowtime\":\"t\","            \
    "\"keys\":[\"k\"],\"window\":{\"kind\":\"tumble\",\"sizeMs\":1000},\"aggregates\":["           \
    "{\"fn\":\"COUNT\",\"arg\":null,\"name\":\"c\"},{\"fn\":\"SUM\",\"arg\":\"v\","                \
    "\"name\":\"s\"}]" extra "}"
#define SINK(in) "{\"id\":\"out\",\"type\":\"sink\",\"input\":\"" in "\",\"connector\":\"print\"}"

static rt_plan *load_ok(const char *text, uint32_t par)
{
    rt_plan *p = NULL;
    weir_error err = {0};
    if (rt_plan_load(text, strlen(text), "test", par, &p, &err))
        fail_msg("load: %s", err.msg);
    return p;
}

static void test_valid(void **state)
{
    (void)state;
    const char *text =
        "{\"version\":1,\"name\":\"j\",\"operators\":[" SRC "," WM "," WIN("") "," SINK("win") "]}";
    rt_plan *p = load_ok(text, 4);
    assert_int_equal(p->nops, 4);
    assert_int_equal(p->max_parallelism, 128);
    const rt_plan_op *w = &p->ops[2];
    assert_int_equal(w->parallelism, 4);
    assert_int_equal(w->partition, RT_PART_HASH);
    assert_int_equal(w->npart_keys, 1);
    assert_int_equal(w->out->ncols, 6);
    assert_string_equal(w->out->names[1], "window_start");
    assert_string_equal(w->out->names[4], "c");
    assert_int_equal(w->out->types[4].kind, RT_BIGINT);
    assert_int_equal(w->out->types[4].nullable, 0);
    assert_int_equal(w->out->types[5].kind, RT_BIGINT);
    assert_true(w->out->types[3].rowtime);
    assert_true(p->ops[1].out->types[2].rowtime);
    assert_int_equal(p->ops[1].partition, RT_PART_FORWARD);
    /* uids: stable across ids, names and parallelism; different for different content */
    char uid_win[33];
    memcpy(uid_win, w->uid, 33);
    rt_plan_free(p);
    const char *renamed =
        "{\"version\":1,\"operators\":["
        "{\"id\":\"source_1\",\"type\":\"source\",\"connector\":\"datagen\",\"options\":{"
        "\"number-of-rows\":\"99\"},\"schema\":[{\"name\":\"k\",\"type\":\"INT\"},"
        "{\"name\":\"v\",\"type\":\"BIGINT\"},{\"name\":\"t\",\"type\":\"TIMESTAMP(3)\"}]},"
        "{\"id\":\"w2\",\"type\":\"watermark\",\"input\":\"source_1\",\"rowtime\":\"t\"},"
        "{\"id\":\"agg\",\"type\":\"window_aggregate\",\"input\":\"w2\",\"rowtime\":\"t\","
        "\"keys\":[\"k\"],\"window\":{\"kind\":\"tumble\",\"sizeMs\":1000},\"aggregates\":["
        "{\"fn\":\"COUNT\",\"arg\":null,\"name\":\"c\"},{\"fn\":\"SUM\",\"arg\":\"v\","
        "\"name\":\"s\"}],\"parallelism\":3},"
        "{\"id\":\"o\",\"type\":\"sink\",\"input\":\"agg\",\"connector\":\"print\"}]}";
    p = load_ok(renamed, 1);
    assert_string_equal(p->ops[2].uid, uid_win);
    rt_plan_free(p);
    const char *changed = "{\"version\":1,\"operators\":[" SRC "," WM
                          "," WIN(",\"uid\":\"my-window\"") "," SINK("win") "]}";
    p = load_ok(changed, 1);
    assert_string_equal(p->ops[2].uid, "my-window");
    rt_plan_free(p);
}

static void bad(const char *text, int code, const char *needle)
{
    rt_plan *p = NULL;
    weir_error err = {0};
    int rc = rt_plan_load(text, strlen(text), "test", 1, &p, &err);
    if (rc != code || !strstr(err.msg, needle))
        fail_msg("expected %d with '%s', got %d: %s", code, needle, rc, err.msg);
    assert_null(p);
}

#define PLAN(...) "{\"version\":1,\"operators\":[" __VA_ARGS__ "]}"

static void test_errors(void **state)
{
    (void)state;
    bad("{", WEIR_EPARSE, "test:1:");
    bad("[]", WEIR_EPARSE, "$: a plan is a JSON object");
    bad("{\"version\":2,\"operators\":[]}", WEIR_EUNSUPPORTED, "$.version: plan version 2");
    bad("{\"operators\":[]}", WEIR_EPARSE, "$.version");
    bad("{\"version\":1,\"operators\":[],\"bogus\":1}", WEIR_EPARSE, "unknown field 'bogus'");
    bad(PLAN(), WEIR_EPARSE, "$.operators: expected a non-empty array");
    bad(PLAN(SRC), WEIR_EINVAL, "goes nowhere");
    bad(PLAN(SRC "," SINK("nope")), WEIR_EINVAL, "$.operators[1].input: no earlier operator");
    bad(PLAN(SRC "," SINK("src") "," SINK("src")), WEIR_EDUPLICATE, "$.operators[2].id");
    bad(PLAN("{\"id\":\"x\",\"type\":\"magic\"}"), WEIR_EUNSUPPORTED,
        "$.operators[0].type: unknown operator type 'magic'");
    bad(PLAN("{\"id\":\"src\",\"type\":\"source\",\"connector\":\"datagen\",\"schema\":[{"
             "\"name\":\"k\",\"type\":\"INTEGR\"}]}," SINK("src")),
        WEIR_ETYPE, "$.operators[0].schema[0].type: unknown type 'INTEGR'");
    bad(PLAN("{\"id\":\"src\",\"type\":\"source\",\"connector\":\"kafkaa\",\"schema\":[{"
             "\"name\":\"k\",\"type\":\"INT\"}]}," SINK("src")),
        WEIR_EUNSUPPORTED, "$.operators[0].connector: no source connector 'kafkaa'");
    bad(PLAN("{\"id\":\"src\",\"type\":\"source\",\"connector\":\"datagen\",\"options\":{"
             "\"rows-per-secnd\":\"5\"},\"schema\":[{\"name\":\"k\",\"type\":\"INT\"}]}," SINK(
                 "src")),
        WEIR_EINVAL, "rows-per-secnd");
    bad(PLAN(SRC ",{\"id\":\"c\",\"type\":\"calc\",\"input\":\"src\",\"filter\":{\"kind\":"
                 "\"column\",\"index\":0}}," SINK("c")),
        WEIR_ETYPE, "$.operators[1].filter: a filter must be BOOLEAN, not INT");
    bad(PLAN(SRC ",{\"id\":\"c\",\"type\":\"calc\",\"input\":\"src\",\"projection\":[{\"name\":"
                 "\"x\",\"expr\":{\"kind\":\"column\",\"index\":7}}]}," SINK("c")),
        WEIR_EPARSE, "$.operators[1].projection[0].expr");
    bad(PLAN(SRC "," WIN("") "," SINK("win")), WEIR_EINVAL, "$.operators[1].input");
    bad(PLAN(SRC
             ",{\"id\":\"wm\",\"type\":\"watermark\",\"input\":\"src\",\"rowtime\":\"v\"}," SINK(
                 "wm")),
        WEIR_ETYPE, "$.operators[1].rowtime: a watermark needs a TIMESTAMP");
    bad(PLAN(SRC
             ",{\"id\":\"win\",\"type\":\"window_aggregate\",\"input\":\"src\","
             "\"rowtime\":\"t\",\"keys\":[\"k\"],\"window\":{\"kind\":\"tumble\",\"sizeMs\":10},"
             "\"aggregates\":[]}," SINK("win")),
        WEIR_EINVAL, "not an event-time attribute");
    bad(PLAN(SRC "," WM ",{\"id\":\"win\",\"type\":\"window_aggregate\",\"input\":\"wm\","
                 "\"rowtime\":\"t\",\"keys\":[\"zz\"],\"window\":{\"kind\":\"tumble\","
                 "\"sizeMs\":10},\"aggregates\":[]}," SINK("win")),
        WEIR_EINVAL, "$.operators[2].keys[0]: no input column named 'zz'");
    bad(PLAN(SRC "," WM ",{\"id\":\"win\",\"type\":\"window_aggregate\",\"input\":\"wm\","
                 "\"rowtime\":\"t\",\"keys\":[0],\"window\":{\"kind\":\"hop\",\"sizeMs\":10,"
                 "\"slideMs\":3},\"aggregates\":[]}," SINK("win")),
        WEIR_EINVAL, "must be a multiple of the slide");
    bad(PLAN(SRC "," WM ",{\"id\":\"win\",\"type\":\"window_aggregate\",\"input\":\"wm\","
                 "\"rowtime\":\"t\",\"keys\":[0],\"window\":{\"kind\":\"session\",\"sizeMs\":10},"
                 "\"aggregates\":[]}," SINK("win")),
        WEIR_EUNSUPPORTED, "$.operators[2].window.kind: unknown window kind 'session'");
    bad(PLAN(SRC "," WM ",{\"id\":\"win\",\"type\":\"window_aggregate\",\"input\":\"wm\","
                 "\"rowtime\":\"t\",\"keys\":[0],\"window\":{\"kind\":\"tumble\",\"sizeMs\":10},"
                 "\"aggregates\":[{\"fn\":\"SUM\",\"arg\":\"t\",\"name\":\"s\"}]}," SINK("win")),
        WEIR_ETYPE, "$.operators[2].aggregates[0]: SUM needs a numeric argument, not TIMESTAMP");
    bad(PLAN(SRC ",{\"id\":\"g\",\"type\":\"group_aggregate\",\"input\":\"src\","
                 "\"parallelism\":2,\"aggregates\":[{\"fn\":\"MEDIAN\",\"arg\":0,\"name\":\"m\"}]}"
                 "," SINK("g")),
        WEIR_EUNSUPPORTED, "$.operators[1].aggregates[0].fn: unknown aggregate function");
    bad(PLAN(SRC ",{\"id\":\"g\",\"type\":\"group_aggregate\",\"input\":\"src\","
                 "\"parallelism\":2,\"aggregates\":[]}," SINK("g")),
        WEIR_EINVAL, "without keys runs at parallelism 1");
    bad(PLAN(SRC ",{\"id\":\"s\",\"type\":\"sink\",\"input\":\"src\",\"connector\":\"print\","
                 "\"parallelism\":2,\"partition\":\"forward\"}"),
        WEIR_EINVAL, "$.operators[1].partition: forward needs equal parallelism");
    bad(PLAN(SRC ",{\"id\":\"s\",\"type\":\"sink\",\"input\":\"src\",\"connector\":\"print\","
                 "\"parallelism\":0}"),
        WEIR_EINVAL, "$.operators[1].parallelism");
}

/* A second source: (a, b, t2) with the given types of a and b, at parallelism `par`. */
#define SRC2(ta, tb, par)                                                                          \
    "{\"id\":\"src2\",\"type\":\"source\",\"parallelism\":" par ",\"connector\":\"datagen\","      \
    "\"options\":{\"number-of-rows\":\"5\"},\"schema\":[{\"name\":\"a\",\"type\":\"" ta "\"},"     \
    "{\"name\":\"b\",\"type\":\"" tb "\"},{\"name\":\"t2\",\"type\":\"TIMESTAMP(3)\"}]}"
#define WM2        "{\"id\":\"wm2\",\"type\":\"watermark\",\"input\":\"src2\",\"rowtime\":\"t2\"}"
#define UNION(...) "{\"id\":\"u\",\"type\":\"union\",\"inputs\":[" __VA_ARGS__ "]}"
#define UWIN                                                                                       \
    "{\"id\":\"win\",\"type\":\"window_aggregate\",\"input\":\"u\",\"rowtime\":\"t\","             \
    "\"keys\":[\"k\"],\"window\":{\"kind\":\"tumble\",\"sizeMs\":1000},\"aggregates\":["           \
    "{\"fn\":\"COUNT\",\"arg\":null,\"name\":\"c\"}]}"

/* A union: several inputs with the same column types; names from the first, nullable when any
 * input is, rowtime when every input has it; uids derived from the inputs' in order, the
 * inputs' own uids as without the union. */
static void test_union(void **state)
{
    (void)state;
    rt_plan *p = load_ok(PLAN(SRC "," WM "," SRC2("INT NOT NULL", "BIGINT", "1") "," WM2 "," UNION(
                             "\"wm\",\"wm2\"") "," UWIN "," SINK("win")),
                         1);
    const rt_plan_op *u = &p->ops[4];
    assert_int_equal(u->type, RT_OP_UNION);
    assert_int_equal(u->input, -1);
    assert_int_equal(u->ninputs, 2);
    assert_int_equal(u->inputs[0], 1);
    assert_int_equal(u->inputs[1], 3);
    assert_int_equal(u->parallelism, 1);
    assert_int_equal(u->out->ncols, 3);
    assert_string_equal(u->out->names[0], "k"); /* the first input's names */
    assert_string_equal(u->out->names[2], "t");
    assert_int_equal(u->out->types[0].nullable, 1); /* INT and INT NOT NULL */
    assert_true(u->out->types[2].rowtime);          /* a watermark in both inputs */
    assert_int_equal(rt_plan_consumers(p, 1), 1);
    assert_int_equal(p->ops[5].partition, RT_PART_HASH);
    assert_string_equal(rt_op_type_name(u->type), "union");
    char uid_u[33], uid_win[33], uid_wm[33];
    memcpy(uid_u, u->uid, 33);
    memcpy(uid_win, p->ops[5].uid, 33);
    memcpy(uid_wm, p->ops[1].uid, 33);
    rt_plan_free(p);
    /* the first input keeps the uid it has without the union */
    p = load_ok(PLAN(SRC "," WM "," WIN("") "," SINK("win")), 1);
    assert_string_equal(p->ops[1].uid, uid_wm);
    rt_plan_free(p);
    /* the same plan again: the same uids; the inputs swapped: another union */
    p = load_ok(PLAN(SRC "," WM "," SRC2("INT NOT NULL", "BIGINT", "1") "," WM2 "," UNION(
                    "\"wm\",\"wm2\"") "," UWIN "," SINK("win")),
                1);
    assert_string_equal(p->ops[4].uid, uid_u);
    assert_string_equal(p->ops[5].uid, uid_win);
    rt_plan_free(p);
    p = load_ok(PLAN(SRC "," WM "," SRC2("INT NOT NULL", "BIGINT", "1") "," WM2 "," UNION(
                    "\"wm2\",\"wm\"") ",{\"id\":\"c\",\"type\":\"calc\",\"input\":\"u\"},"
                                      "{\"id\":\"win\",\"type\":\"window_aggregate\",\"input\":"
                                      "\"c\",\"rowtime\":"
                                      "\"t2\",\"keys\":[\"a\"],\"window\":{\"kind\":\"tumble\","
                                      "\"sizeMs\":1000},"
                                      "\"aggregates\":[]}," SINK("win")),
                1);
    assert_string_not_equal(p->ops[4].uid, uid_u);
    assert_string_equal(p->ops[4].out->names[0], "a");
    assert_int_equal(p->ops[4].out->types[0].nullable, 1);
    assert_int_equal(p->ops[5].partition, RT_PART_FORWARD); /* by subtask, never chained */
    rt_plan_free(p);
    /* one input without a watermark: no rowtime; the same input twice is two edges */
    p = load_ok(PLAN(SRC "," WM "," SRC2("INT", "BIGINT",
                                         "2") "," UNION("\"wm\",\"src2\",\"wm\"") "," SINK("u")),
                1);
    assert_false(p->ops[3].out->types[2].rowtime);
    assert_int_equal(p->ops[3].parallelism, 0); /* inputs at 1 and 2 */
    assert_int_equal(p->ops[4].partition, RT_PART_REBALANCE);
    assert_int_equal(rt_plan_consumers(p, 1), 2);
    rt_plan_free(p);
}

static void test_union_errors(void **state)
{
    (void)state;
    bad(PLAN(SRC "," WM "," SRC2("INT", "BIGINT", "1") "," UNION("\"wm\",\"nope\"") "," SINK("u")),
        WEIR_EINVAL, "$.operators[3].inputs[1]: no earlier operator has id 'nope'");
    bad(PLAN(SRC "," WM "," SRC2("INT", "STRING", "1") "," UNION("\"wm\",\"src2\"") "," SINK("u")),
        WEIR_ETYPE,
        "$.operators[3].inputs[1]: column 1 ('b') of 'src2' is STRING but BIGINT in "
        "'wm' (the first input); the inputs of a union need the same column types");
    bad(PLAN(SRC "," WM "," SRC2("INT", "BIGINT",
                                 "1") "," UNION("\"wm\",\"src2\"") "," UWIN "," SINK("win")),
        WEIR_EINVAL, "$.operators[4].rowtime: 't' is not an event-time attribute");
    bad(PLAN(SRC ",{\"id\":\"c\",\"type\":\"calc\",\"input\":\"src\",\"projection\":[{\"name\":"
                 "\"k\",\"expr\":{\"kind\":\"column\",\"index\":0}}]}," UNION(
                     "\"src\",\"c\"") "," SINK("u")),
        WEIR_ETYPE,
        "$.operators[2].inputs[1]: 'c' has 1 columns but 'src' (the first input) has 3");
    bad(PLAN(SRC "," UNION("\"src\"") "," SINK("u")), WEIR_EPARSE,
        "$.operators[1].inputs: expected an array of at least two ids");
    bad(PLAN(SRC ",{\"id\":\"u\",\"type\":\"union\",\"input\":\"src\"}," SINK("u")), WEIR_EPARSE,
        "$.operators[1].input: a union reads \"inputs\"");
    bad(PLAN(SRC ",{\"id\":\"u\",\"type\":\"union\",\"parallelism\":2,\"inputs\":[\"src\","
                 "\"src\"]}," SINK("u")),
        WEIR_EPARSE, "$.operators[1].parallelism: a union has no parallelism");
    bad(PLAN(SRC "," SINK("src") "," UNION("\"src\",\"out\"") "," SINK("u")), WEIR_EINVAL,
        "$.operators[2].inputs[1]: 'out' is a sink and has no output");
    bad(PLAN(SRC "," SRC2("INT", "BIGINT", "2") "," UNION(
            "\"src\",\"src2\"") ","
                                "{\"id\":\"s\",\"type\":\"sink\",\"input\":\"u\",\"connector\":"
                                "\"print\","
                                "\"partition\":\"forward\"}"),
        WEIR_EINVAL, "inputs of union 'u' run at different ones");
    bad(PLAN(SRC "," SRC2("INT", "BIGINT", "1") "," UNION("\"src\",\"src2\"")), WEIR_EINVAL,
        "the output of 'u' goes nowhere");
}

/* A source with a projection (push-down): its output is the projected declared columns, its
 * readers see those, and its uid does not depend on the projection. */
#define PSRC(proj)                                                                                 \
    "{\"id\":\"src\",\"type\":\"source\",\"connector\":\"datagen\",\"options\":{"                  \
    "\"number-of-rows\":\"10\"},\"schema\":[{\"name\":\"k\",\"type\":\"INT\"},"                    \
    "{\"name\":\"v\",\"type\":\"BIGINT\"},{\"name\":\"t\",\"type\":\"TIMESTAMP(3)\"}]" proj "}"
#define PCALC                                                                                      \
    "{\"id\":\"c\",\"type\":\"calc\",\"input\":\"src\",\"projection\":[{\"name\":\"x\","           \
    "\"expr\":{\"kind\":\"column\",\"index\":1}}]}"

static void test_source_projection(void **state)
{
    (void)state;
    rt_plan *p = load_ok(PLAN(PSRC(",\"projection\":[2,0]") "," PCALC "," SINK("c")), 1);
    const rt_plan_op *s = &p->ops[0];
    assert_int_equal(s->nscan_cols, 2);
    assert_int_equal(s->scan_cols[0], 2);
    assert_int_equal(s->scan_cols[1], 0);
    assert_int_equal(s->declared->ncols, 3);
    assert_int_equal(s->out->ncols, 2);
    assert_string_equal(s->out->names[0], "t");
    assert_int_equal(s->out->types[0].kind, RT_TIMESTAMP);
    assert_string_equal(s->out->names[1], "k");
    assert_int_equal(s->out->types[1].kind, RT_INT);
    /* the calc's column 1 is now k (INT) */
    assert_int_equal(p->ops[1].out->types[0].kind, RT_INT);
    char uid[33];
    memcpy(uid, s->uid, sizeof(uid));
    rt_plan_free(p);
    /* the same source without a projection, or with another one, keeps its uid */
    p = load_ok(PLAN(PSRC("") "," PCALC "," SINK("c")), 1);
    assert_null(p->ops[0].scan_cols);
    assert_int_equal(p->ops[0].out->ncols, 3);
    assert_int_equal(p->ops[1].out->types[0].kind, RT_BIGINT);
    assert_string_equal(p->ops[0].uid, uid);
    rt_plan_free(p);
    p = load_ok(PLAN(PSRC(",\"projection\":[1]") "," SINK("src")), 1);
    assert_string_equal(p->ops[0].uid, uid);
    assert_int_equal(p->ops[0].out->ncols, 1);
    rt_plan_free(p);
    /* a reader of a projected source sees only the projected columns */
    bad(PLAN(PSRC(",\"projection\":[0]") "," PCALC "," SINK("c")), WEIR_EPARSE,
        "$.operators[1].projection[0].expr.index: column index must be 0..0");
    bad(PLAN(PSRC(",\"projection\":[0]") "," WM "," SINK("wm")), WEIR_EINVAL,
        "$.operators[1].rowtime: no input column named 't'");
}

static void test_source_projection_errors(void **state)
{
    (void)state;
    bad(PLAN(PSRC(",\"projection\":[]") "," SINK("src")), WEIR_EPARSE,
        "$.operators[0].projection: expected a non-empty array of declared column indexes");
    bad(PLAN(PSRC(",\"projection\":{}") "," SINK("src")), WEIR_EPARSE,
        "$.operators[0].projection: expected a non-empty array");
    bad(PLAN(PSRC(",\"projection\":[0,3]") "," SINK("src")), WEIR_EINVAL,
        "$.operators[0].projection[1]: column 3 out of range (the schema declares 3)");
    bad(PLAN(PSRC(",\"projection\":[-1]") "," SINK("src")), WEIR_EINVAL,
        "$.operators[0].projection[0]: column -1 out of range");
    bad(PLAN(PSRC(",\"projection\":[2,1,2]") "," SINK("src")), WEIR_EDUPLICATE,
        "$.operators[0].projection[2]: column 2 ('t') is already projected at [0]");
    bad(PLAN(PSRC(",\"projection\":[\"k\"]") "," SINK("src")), WEIR_EPARSE,
        "$.operators[0].projection[0]: expected the index of a declared column");
    bad(PLAN(PSRC(",\"projection\":[0,1,2,0]") "," SINK("src")), WEIR_EINVAL,
        "$.operators[0].projection: 4 columns, but the schema declares only 3");
    /* sinks have no projection */
    bad(PLAN(PSRC("") ",{\"id\":\"out\",\"type\":\"sink\",\"input\":\"src\",\"connector\":"
                      "\"print\",\"projection\":[0]}"),
        WEIR_EPARSE, "$.operators[1]: unknown field 'projection'");
}

/* Two-phase aggregation: a local aggregation beside its input and the global one reading it
 * has the one-phase aggregation's output, partitioning and uid (so a savepoint restores either
 * way), and the operators after it keep theirs. */
#define LWIN(extra)                                                                                \
    "{\"id\":\"loc\",\"type\":\"local_window_aggregate\",\"input\":\"wm\",\"rowtime\":\"t\","      \
    "\"keys\":[\"k\"],\"window\":{\"kind\":\"cumulate\",\"sizeMs\":6000,\"stepMs\":2000},"         \
    "\"aggregates\":[{\"fn\":\"COUNT\",\"arg\":null,\"name\":\"c\"},{\"fn\":\"SUM\",\"arg\":"      \
    "\"v\","                                                                                       \
    "\"name\":\"s\"}]" extra "}"
#define GWIN(extra) "{\"id\":\"win\",\"type\":\"window_aggregate\",\"input\":\"loc\"" extra "}"
#define OWIN                                                                                       \
    "{\"id\":\"win\",\"type\":\"window_aggregate\",\"input\":\"wm\",\"rowtime\":\"t\","            \
    "\"keys\":[\"k\"],\"window\":{\"kind\":\"cumulate\",\"sizeMs\":6000,\"stepMs\":2000},"         \
    "\"aggregates\":[{\"fn\":\"COUNT\",\"arg\":null,\"name\":\"c\"},{\"fn\":\"SUM\",\"arg\":"      \
    "\"v\","                                                                                       \
    "\"name\":\"s\"}]}"
#define LGRP                                                                                       \
    "{\"id\":\"loc\",\"type\":\"local_group_aggregate\",\"input\":\"src\",\"keys\":[\"k\"],"       \
    "\"flushRows\":500,\"flushMs\":200,\"aggregates\":[{\"fn\":\"MAX\",\"arg\":\"v\","             \
    "\"name\":\"m\"}]}"

static void test_two_phase(void **state)
{
    (void)state;
    rt_plan *one = load_ok(PLAN(SRC "," WM "," OWIN "," SINK("win")), 3);
    rt_plan *two = load_ok(PLAN(SRC "," WM "," LWIN("") "," GWIN("") "," SINK("win")), 3);
    const rt_plan_op *lo = &two->ops[2], *g = &two->ops[3], *o = &one->ops[2];
    assert_int_equal(lo->type, RT_OP_LOCAL_WINDOW_AGG);
    assert_int_equal(lo->partition, RT_PART_FORWARD); /* beside its input */
    assert_int_equal(lo->slice_ms, 2000);             /* the step */
    assert_int_equal(lo->flush_rows, 10000);
    assert_false(rt_plan_op_stateful(lo));
    assert_int_equal(lo->out->ncols, 3); /* k, $slice_end, $acc */
    assert_int_equal(lo->out->types[1].kind, RT_TIMESTAMP);
    assert_false(lo->out->types[1].rowtime);
    assert_int_equal(lo->out->types[2].kind, RT_BYTES);
    assert_true(g->global);
    assert_int_equal(g->partition, RT_PART_HASH);
    assert_int_equal(g->npart_keys, 1);
    assert_int_equal(g->part_keys[0], 0);
    assert_int_equal(g->naggs, 2);
    assert_int_equal(g->aggs[1].in.kind, RT_BIGINT);
    assert_int_equal(g->size_ms, 6000);
    assert_int_equal(g->step_ms, 2000);
    assert_int_equal(g->win, RT_WIN_CUMULATE);
    assert_int_equal(g->out->ncols, o->out->ncols);
    for (uint32_t i = 0; i < o->out->ncols; i++) {
        assert_string_equal(g->out->names[i], o->out->names[i]);
        assert_true(rt_type_equal(g->out->types[i], o->out->types[i]));
        assert_int_equal(g->out->types[i].rowtime, o->out->types[i].rowtime);
    }
    assert_string_equal(g->uid, o->uid);
    assert_string_equal(two->ops[4].uid, one->ops[3].uid); /* the sink after it */
    rt_plan_free(one);
    rt_plan_free(two);

    /* group: flush limits; the global without keys runs at parallelism 1 */
    one = load_ok(PLAN(SRC ",{\"id\":\"g\",\"type\":\"group_aggregate\",\"input\":\"src\","
                           "\"keys\":[\"k\"],\"aggregates\":[{\"fn\":\"MAX\",\"arg\":\"v\","
                           "\"name\":\"m\"}]}," SINK("g")),
                  2);
    two = load_ok(PLAN(SRC "," LGRP ",{\"id\":\"g\",\"type\":\"group_aggregate\",\"input\":"
                           "\"loc\"}," SINK("g")),
                  2);
    assert_int_equal(two->ops[1].flush_rows, 500);
    assert_int_equal(two->ops[1].flush_ms, 200);
    assert_int_equal(two->ops[1].out->ncols, 2);
    assert_string_equal(two->ops[2].uid, one->ops[1].uid);
    assert_int_equal(two->ops[2].out->types[1].kind, RT_BIGINT);
    assert_true(two->ops[2].out->types[1].nullable);
    rt_plan_free(one);
    rt_plan_free(two);

    bad(PLAN(SRC "," WM "," LWIN("") "," SINK("loc")), WEIR_EINVAL,
        "$.operators[2]: the output of local aggregation 'loc' is partial accumulators: exactly "
        "one window_aggregate must read it, and nothing else");
    bad(PLAN(SRC "," WM "," LWIN("") "," GWIN("") "," SINK("win") "," SINK("loc")), WEIR_EDUPLICATE,
        "$.operators[5].id");
    bad(PLAN(SRC "," WM "," LWIN("") "," GWIN(",\"keys\":[\"k\"]") "," SINK("win")), WEIR_EPARSE,
        "$.operators[3].keys: an aggregation reading local aggregation 'loc' takes its "
        "definition from it");
    bad(PLAN(SRC "," WM "," LWIN("") "," GWIN(",\"partition\":\"forward\"") "," SINK("win")),
        WEIR_EPARSE, "$.operators[3].partition: aggregations are always partitioned");
    bad(PLAN(SRC "," LGRP "," GWIN("") "," SINK("win")), WEIR_EINVAL,
        "$.operators[2].input: 'loc' is a local_group_aggregate; a window_aggregate reads a "
        "local_window_aggregate");
    /* DISTINCT aggregates run in one phase only; they need an argument */
    two = load_ok(PLAN(SRC "," WM ",{\"id\":\"win\",\"type\":\"window_aggregate\",\"input\":"
                           "\"wm\",\"rowtime\":\"t\",\"keys\":[\"k\"],\"window\":{\"kind\":"
                           "\"tumble\",\"sizeMs\":1000},\"aggregates\":[{\"fn\":\"COUNT\","
                           "\"arg\":\"v\",\"distinct\":true,\"name\":\"d\"},{\"fn\":\"SUM\","
                           "\"arg\":\"v\",\"name\":\"s\"}]}," SINK("win")),
                  1);
    assert_true(two->ops[2].aggs[0].distinct);
    assert_false(two->ops[2].aggs[1].distinct);
    assert_int_equal(two->ops[2].out->types[4].kind, RT_BIGINT);
    rt_plan_free(two);
    bad(PLAN(SRC ",{\"id\":\"loc\",\"type\":\"local_group_aggregate\",\"input\":\"src\","
                 "\"keys\":[\"k\"],\"aggregates\":[{\"fn\":\"SUM\",\"arg\":\"v\","
                 "\"distinct\":true,\"name\":\"m\"}]},{\"id\":\"g\",\"type\":"
                 "\"group_aggregate\",\"input\":\"loc\"}," SINK("g")),
        WEIR_EUNSUPPORTED,
        "$.operators[1].aggregates[0].distinct: a DISTINCT aggregate cannot be pre-aggregated "
        "locally");
    bad(PLAN(SRC ",{\"id\":\"g\",\"type\":\"group_aggregate\",\"input\":\"src\",\"keys\":["
                 "\"k\"],\"aggregates\":[{\"fn\":\"COUNT\",\"arg\":null,\"distinct\":true,"
                 "\"name\":\"m\"}]}," SINK("g")),
        WEIR_EPARSE, "$.operators[1].aggregates[0].arg: COUNT DISTINCT needs an argument");
    bad(PLAN(SRC "," WM "," LWIN(",\"flushRows\":0") "," GWIN("") "," SINK("win")), WEIR_EINVAL,
        "$.operators[2].flushRows: expected an integer 1..1000000");
    bad(PLAN(SRC "," LWIN("") "," GWIN("") "," SINK("win")), WEIR_EINVAL,
        "$.operators[1].input: no earlier operator has id 'wm'");
    bad(PLAN(SRC ",{\"id\":\"wm\",\"type\":\"calc\",\"input\":\"src\"}," LWIN("") "," GWIN(
            "") "," SINK("win")),
        WEIR_EINVAL, "$.operators[2].rowtime: 't' is not an event-time attribute");
}

static void test_example_file(void **state)
{
    (void)state;
    rt_plan *p = NULL;
    weir_error err = {0};
    if (rt_plan_load_file("runtime/plan/examples/tumble-count.json", 2, &p, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(p->nops, 5);
    rt_plan_free(p);
    assert_int_equal(rt_plan_load_file("/nonexistent/plan.json", 1, &p, &err), WEIR_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_example_file),
        cmocka_unit_test(test_union),
        cmocka_unit_test(test_union_errors),
        cmocka_unit_test(test_source_projection),
        cmocka_unit_test(test_source_projection_errors),
        cmocka_unit_test(test_two_phase),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
