/*
 * test_json.c - lib/json: positioned load errors, paths (dots, indices, quoted names), set
 * creating intermediates, RFC 7386 apply (the RFC's own examples) and diff (randomized
 * round-trip property), stable dumps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad test JSON %s: %s", s, e.text);
    return v;
}

static void assert_json(const json_t *v, const char *expect)
{
    json_t *e = J(expect);
    if (!json_equal((json_t *)v, e)) {
        char *got = json_dump_stable(v);
        fail_msg("got %s, want %s", got ? got : "(null)", expect);
    }
    json_decref(e);
}

static void test_load_errors(void **state)
{
    (void)state;
    json_t *v = NULL;
    weir_error err = {0};
    assert_int_equal(json_load_text("{\n  \"a\": 1,\n  \"a\": 2\n}", 22, "x.json", &v, &err),
                     WEIR_EPARSE);
    assert_non_null(strstr(err.msg, "x.json:3:"));
    assert_non_null(strstr(err.msg, "duplicate"));
    assert_int_equal(json_load_text("[1,", 3, NULL, &v, &err), WEIR_EPARSE);
    assert_non_null(strstr(err.msg, "<json>:1:"));
    assert_int_equal(json_load_text("{\"a\":\n  tru}", 13, "cr.json", &v, &err), WEIR_EPARSE);
    assert_null(v);
    assert_non_null(strstr(err.msg, "cr.json:2:"));
    assert_int_equal(json_load_text(NULL, 0, NULL, &v, &err), WEIR_EPARSE);
    assert_int_equal(json_load_text("42", 2, NULL, &v, &err), 0);
    assert_int_equal(json_integer_value(v), 42);
    json_decref(v);
}

static void test_path_get(void **state)
{
    (void)state;
    json_t *o = J("{\"spec\":{\"job\":{\"parallelism\":4,\"state\":\"running\"},"
                  "\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"ok\":true},"
                  "\"metadata\":{\"annotations\":{\"flink.apache.org/x\":\"y\",\"q\\\"\":\"z\"}}}");
    assert_int_equal(json_path_int(o, "spec.job.parallelism", -1), 4);
    assert_string_equal(json_path_string(o, "spec.job.state", NULL), "running");
    assert_string_equal(json_path_string(o, "spec.containers[1].name", NULL), "b");
    assert_string_equal(json_path_string(o, "metadata.annotations[\"flink.apache.org/x\"]", NULL),
                        "y");
    assert_string_equal(json_path_string(o, "metadata.annotations[\"q\\\"\"]", NULL), "z");
    assert_true(json_path_bool(o, "spec.ok", false));
    assert_int_equal(json_path_int(o, "spec.job.state", 7), 7); /* wrong type -> default */
    assert_null(json_path_get(o, "spec.containers[2]"));
    assert_null(json_path_get(o, "spec.job.parallelism.x"));
    const char *bad[] = {"", ".", "a..b", "a.", "[x]", "a[1", "a[\"x]", "a]b", "a[\"x\"]b", NULL};
    for (const char **b = bad; *b; b++)
        if (json_path_get(o, *b))
            fail_msg("path '%s' should be malformed", *b);
    assert_ptr_equal(json_path_get(o, "spec"), json_object_get(o, "spec"));
    json_decref(o);
}

static void test_path_set_del(void **state)
{
    (void)state;
    json_t *o = json_object();
    assert_int_equal(json_path_set(o, "status.jobStatus.state", json_string("RUNNING")), 0);
    assert_int_equal(json_path_set(o, "status.list[0].a", json_integer(1)), 0);
    assert_int_equal(json_path_set(o, "status.list[1]", json_integer(2)), 0);
    assert_int_equal(json_path_set(o, "status.list[0].a", json_integer(3)), 0);
    assert_int_equal(json_path_set(o, "metadata.annotations[\"a.b/c\"]", json_string("v")), 0);
    assert_json(o, "{\"status\":{\"jobStatus\":{\"state\":\"RUNNING\"},\"list\":[{\"a\":3},2]},"
                   "\"metadata\":{\"annotations\":{\"a.b/c\":\"v\"}}}");
    assert_int_equal(json_path_set(o, "status.list[5]", json_integer(1)), WEIR_ERANGE);
    assert_int_equal(json_path_set(o, "status.jobStatus.state.x", json_integer(1)), WEIR_ETYPE);
    assert_int_equal(json_path_set(o, "status..x", json_integer(1)), WEIR_EINVAL);
    /* null intermediates (object member or array element) are replaced by containers */
    json_t *n = J("{\"a\":null,\"l\":[null]}");
    assert_int_equal(json_path_set(n, "a.b[0]", json_integer(1)), 0);
    assert_int_equal(json_path_set(n, "l[0].x", json_integer(2)), 0);
    assert_int_equal(json_path_set(n, "l[1][0]", json_integer(3)), 0);
    assert_json(n, "{\"a\":{\"b\":[1]},\"l\":[{\"x\":2},[3]]}");
    assert_int_equal(json_path_set(n, "l[3].x", json_integer(4)), WEIR_ERANGE);
    assert_int_equal(json_path_set(n, "[0]", json_integer(4)), WEIR_ETYPE);
    assert_int_equal(json_path_set(n, "", json_integer(4)), WEIR_EINVAL);
    json_decref(n);
    json_t *arr = J("[[1]]");
    assert_int_equal(json_path_set(arr, "[0][1]", json_integer(2)), 0);
    assert_int_equal(json_path_int(arr, "[0][1]", 0), 2);
    assert_int_equal(json_path_del(arr, "[0][0]"), 0);
    assert_json(arr, "[[2]]");
    assert_int_equal(json_path_del(arr, "[0"), WEIR_EINVAL);
    json_decref(arr);
    assert_int_equal(json_path_del(o, "status.list[0]"), 0);
    assert_int_equal(json_path_del(o, "metadata.annotations[\"a.b/c\"]"), 0);
    assert_int_equal(json_path_del(o, "metadata.nope"), WEIR_ENOTFOUND);
    assert_json(o, "{\"status\":{\"jobStatus\":{\"state\":\"RUNNING\"},\"list\":[2]},"
                   "\"metadata\":{\"annotations\":{}}}");
    json_decref(o);
}

/* RFC 7386 appendix A */
static void test_merge_patch_rfc_examples(void **state)
{
    (void)state;
    const char *cases[][3] = {
        {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
        {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
        {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
        {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
        {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
        {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
        {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
        {"{\"a\":\"foo\"}", "null", "null"},
        {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
        {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
        {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
        {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *t = J(cases[i][0]), *p = J(cases[i][1]);
        json_t *r = json_merge_patch_apply(t, p);
        assert_json(r, cases[i][2]);
        char *before = json_dump_stable(t);
        json_t *t2 = J(cases[i][0]);
        assert_true(json_equal(t, t2)); /* target untouched */
        free(before);
        json_decref(t2);
        json_decref(t);
        json_decref(p);
        json_decref(r);
    }
}

static void test_merge_patch_diff(void **state)
{
    (void)state;
    json_t *from = J("{\"a\":1,\"b\":{\"c\":2,\"d\":3},\"e\":[1,2],\"f\":\"x\"}");
    json_t *to = J("{\"a\":1,\"b\":{\"c\":5},\"e\":[1,2,3],\"g\":{\"h\":true}}");
    json_t *d = json_merge_patch_diff(from, to);
    assert_json(d, "{\"b\":{\"c\":5,\"d\":null},\"e\":[1,2,3],\"f\":null,\"g\":{\"h\":true}}");
    json_decref(d);
    d = json_merge_patch_diff(from, from);
    assert_json(d, "{}");
    json_decref(d);
    json_decref(from);
    json_decref(to);
}

/* A random JSON value without null object members (what a merge patch can express). */
static json_t *rnd(unsigned *seed, int depth)
{
    int kind = depth > 3 ? rand_r(seed) % 4 : rand_r(seed) % 6;
    switch (kind) {
    case 0:
        return json_integer(rand_r(seed) % 5);
    case 1: {
        char s[2] = {(char)('a' + rand_r(seed) % 3), 0};
        return json_string(s);
    }
    case 2:
        return json_boolean(rand_r(seed) % 2);
    case 3: {
        json_t *a = json_array();
        int n = rand_r(seed) % 3;
        for (int i = 0; i < n; i++)
            json_array_append_new(a, i == 0 && rand_r(seed) % 4 == 0 ? json_null()
                                                                     : rnd(seed, depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        int n = rand_r(seed) % 4;
        for (int i = 0; i < n; i++) {
            char k[2] = {(char)('k' + rand_r(seed) % 4), 0};
            json_object_set_new(o, k, rnd(seed, depth + 1));
        }
        return o;
    }
    }
}

static void test_merge_patch_roundtrip_property(void **state)
{
    (void)state;
    unsigned seed = 12345;
    for (int i = 0; i < 5000; i++) {
        json_t *a = rnd(&seed, 0), *b = rnd(&seed, 0);
        json_t *d = json_merge_patch_diff(a, b);
        json_t *r = json_merge_patch_apply(a, d);
        if (!json_equal(r, b)) {
            char *sa = json_dump_stable(a), *sb = json_dump_stable(b), *sd = json_dump_stable(d);
            fail_msg("apply(%s, diff=%s) != %s", sa, sd, sb);
        }
        json_decref(a);
        json_decref(b);
        json_decref(d);
        json_decref(r);
    }
}

static void test_stable_dump(void **state)
{
    (void)state;
    json_t *a = J("{\"b\":1,\"a\":{\"z\":[1,{\"y\":2,\"x\":3}],\"c\":\"\\u00e9\"}}");
    json_t *b = J("{\"a\":{\"c\":\"\\u00e9\",\"z\":[1,{\"x\":3,\"y\":2}]},\"b\":1}");
    char *sa = json_dump_stable(a), *sb = json_dump_stable(b);
    assert_string_equal(sa, sb);
    assert_string_equal(sa, "{\"a\":{\"c\":\"\xc3\xa9\",\"z\":[1,{\"x\":3,\"y\":2}]},\"b\":1}");
    char *p = json_dump_pretty(a);
    assert_string_equal(p + strlen(p) - 2, "}\n");
    assert_non_null(strstr(p, "\n  \"a\": {\n"));
    free(sa);
    free(sb);
    free(p);
    json_t *five = json_integer(5);
    char *s = json_dump_stable(five);
    assert_string_equal(s, "5");
    free(s);
    json_decref(five);
    json_decref(a);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_path_get),
        cmocka_unit_test(test_path_set_del),
        cmocka_unit_test(test_merge_patch_rfc_examples),
        cmocka_unit_test(test_merge_patch_diff),
        cmocka_unit_test(test_merge_patch_roundtrip_property),
        cmocka_unit_test(test_stable_dump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
