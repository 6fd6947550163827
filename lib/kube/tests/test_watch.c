/*
 * test_watch.c - the watch-stream decoder: events split at every byte boundary, bookmarks,
 * ERROR events (410 -> WEIR_EGONE with the Status reason), malformed events, size caps, cut
 * streams, and a receiver that stops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/kube/watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seen {
    char log[2048];
    int n;
    int stop_at;
};

static int record(kube_watch_type t, json_t *obj, void *ud)
{
    struct seen *s = ud;
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    size_t l = strlen(s->log);
    snprintf(s->log + l, sizeof(s->log) - l, "%s:%s;", kube_watch_type_name(t), name ? name : "-");
    s->n++;
    return s->stop_at && s->n >= s->stop_at;
}

static const char *stream =
    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"10\"}}}\n"
    "\r\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"11\"},"
    "\"data\":{\"k\":\"v\\n\"}}}\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"15\"}}}\n"
    "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"16\"}}}"
    "\n";

static void test_every_split(void **state)
{
    (void)state;
    size_t n = strlen(stream);
    for (size_t cut = 0; cut <= n; cut++) {
        struct seen s = {0};
        kube_watch_decoder *d = kube_watch_decoder_new(0, record, &s);
        assert_int_equal(kube_watch_decoder_feed(d, stream, cut, NULL), 0);
        assert_int_equal(kube_watch_decoder_feed(d, stream + cut, n - cut, NULL), 0);
        assert_int_equal(kube_watch_decoder_finish(d, NULL), 0);
        assert_string_equal(s.log, "ADDED:a;MODIFIED:a;BOOKMARK:-;DELETED:a;");
        assert_string_equal(kube_watch_decoder_resource_version(d), "16");
        assert_int_equal(kube_watch_decoder_events(d), 4);
        kube_watch_decoder_free(d);
    }
    /* byte by byte */
    struct seen s = {0};
    kube_watch_decoder *d = kube_watch_decoder_new(0, record, &s);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(kube_watch_decoder_feed(d, stream + i, 1, NULL), 0);
    assert_int_equal(s.n, 4);
    kube_watch_decoder_free(d);
}

static void test_error_event_gone(void **state)
{
    (void)state;
    const char *in = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\","
                     "\"resourceVersion\":\"5\"}}}\n"
                     "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                     "\"status\":\"Failure\",\"message\":\"too old resource version: 5 (90)\","
                     "\"reason\":\"Expired\",\"code\":410}}\n"
                     "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"y\"}}}\n";
    struct seen s = {0};
    weir_error err = {0};
    kube_watch_decoder *d = kube_watch_decoder_new(0, record, &s);
    assert_int_equal(kube_watch_decoder_feed(d, in, strlen(in), &err), WEIR_EGONE);
    assert_string_equal(err.reason, "Expired");
    assert_int_equal(err.http_status, 410);
    assert_non_null(strstr(err.msg, "too old resource version"));
    assert_string_equal(s.log, "ADDED:x;"); /* nothing after the error */
    /* sticky */
    assert_int_equal(kube_watch_decoder_feed(d, "\n", 1, &err), WEIR_EGONE);
    kube_watch_decoder_free(d);

    const char *other = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500,"
                        "\"reason\":\"InternalError\",\"message\":\"boom\"}}\n";
    d = kube_watch_decoder_new(0, record, &s);
    assert_int_equal(kube_watch_decoder_feed(d, other, strlen(other), &err), WEIR_EHTTP);
    assert_string_equal(err.reason, "InternalError");
    kube_watch_decoder_free(d);
}

static void expect_parse(const char *in, const char *needle)
{
    weir_error err = {0};
    kube_watch_decoder *d = kube_watch_decoder_new(0, NULL, NULL);
    int rc = kube_watch_decoder_feed(d, in, strlen(in), &err);
    if (rc != WEIR_EPARSE || !strstr(err.msg, needle))
        fail_msg("rc=%d msg='%s' want '%s'", rc, err.msg, needle);
    kube_watch_decoder_free(d);
}

static void test_malformed(void **state)
{
    (void)state;
    expect_parse("{\"type\":\"ADDED\",\"object\":{}}\nnot json\n",
                 "watch event 2: invalid JSON at 1:");
    expect_parse("{\"object\":{}}\n", "watch event 1: no \"type\"");
    expect_parse("{\"type\":\"ADDED\",\"object\":[]}\n", "\"object\" is not an object");
    expect_parse("{\"type\":\"ADDED\"}\n", "\"object\" is not an object");
    expect_parse("{\"type\":\"WHAT\",\"object\":{}}\n", "unknown type \"WHAT\"");
    expect_parse("{\"type\":\"BOOKMARK\",\"object\":{}}\n", "BOOKMARK without resourceVersion");
    expect_parse("[1,2]\n", "no \"type\"");
    expect_parse("{\"type\":\"ADDED\",\"type\":\"DELETED\",\"object\":{}}\n", "invalid JSON");
}

static void test_caps_and_cuts(void **state)
{
    (void)state;
    weir_error err = {0};
    kube_watch_decoder *d = kube_watch_decoder_new(64, NULL, NULL);
    char big[200];
    memset(big, ' ', sizeof(big));
    big[0] = '{';
    assert_int_equal(kube_watch_decoder_feed(d, big, sizeof(big), &err), WEIR_ETOOBIG);
    assert_non_null(strstr(err.msg, "larger than 64 bytes"));
    kube_watch_decoder_free(d);

    /* a stream cut inside an event */
    struct seen s = {0};
    d = kube_watch_decoder_new(0, record, &s);
    const char *cut =
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n{\"type\":\"MOD";
    assert_int_equal(kube_watch_decoder_feed(d, cut, strlen(cut), &err), 0);
    assert_int_equal(kube_watch_decoder_finish(d, &err), WEIR_ECLOSED);
    assert_int_equal(s.n, 1);
    kube_watch_decoder_free(d);

    /* a last event without its newline is complete */
    memset(&s, 0, sizeof(s));
    d = kube_watch_decoder_new(0, record, &s);
    const char *last = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"z\"}}}";
    assert_int_equal(kube_watch_decoder_feed(d, last, strlen(last), &err), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(kube_watch_decoder_finish(d, &err), 0);
    assert_string_equal(s.log, "ADDED:z;");
    kube_watch_decoder_free(d);
}

static void test_receiver_stops(void **state)
{
    (void)state;
    struct seen s = {.stop_at = 2};
    weir_error err = {0};
    kube_watch_decoder *d = kube_watch_decoder_new(0, record, &s);
    assert_int_equal(kube_watch_decoder_feed(d, stream, strlen(stream), &err), WEIR_ECANCELED);
    assert_int_equal(s.n, 2);
    kube_watch_decoder_free(d);
}

static void test_status_error_mapping(void **state)
{
    (void)state;
    weir_error err = {0};
    json_t *st = json_pack("{s:s,s:s,s:i}", "reason", "AlreadyExists", "message",
                           "configmaps \"a\" already exists", "code", 409);
    assert_int_equal(kube_status_error(st, 0, "POST /x", &err), WEIR_EEXIST);
    assert_string_equal(err.msg, "POST /x: configmaps \"a\" already exists (AlreadyExists)");
    json_decref(st);
    st = json_pack("{s:s,s:i}", "reason", "Conflict", "code", 409);
    assert_int_equal(kube_status_error(st, 0, NULL, &err), WEIR_ECONFLICT);
    json_decref(st);
    st = json_pack("{s:s}", "reason", "Invalid");
    assert_int_equal(kube_status_error(st, 422, NULL, &err), WEIR_EINVAL);
    assert_int_equal(err.http_status, 422);
    json_decref(st);
    st = json_object();
    assert_int_equal(kube_status_error(st, 404, NULL, &err), WEIR_ENOTFOUND);
    assert_int_equal(kube_status_error(st, 403, NULL, &err), WEIR_EFORBIDDEN);
    json_decref(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_split),    cmocka_unit_test(test_error_event_gone),
        cmocka_unit_test(test_malformed),      cmocka_unit_test(test_caps_and_cuts),
        cmocka_unit_test(test_receiver_stops), cmocka_unit_test(test_status_error_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
