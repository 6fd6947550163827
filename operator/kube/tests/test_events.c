/*
 * test_events.c - the event recorder against an in-memory event store: create, dedupe with
 * count, continue counts after a restart (cold cache), re-create after expiry, names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/error.h"
#include "operator/kube/events.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static json_t *store; /* "ns/name" -> event */
static int creates, patches, gets;
/* the asynchronous test holds writes here until it lets them go */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_closed;
static pthread_t caller;
static bool written_by_caller;

static int ev_create(void *ctx, const json_t *ev, weir_error *err)
{
    (void)ctx;
    pthread_mutex_lock(&gate_mu);
    while (gate_closed)
        pthread_cond_wait(&gate_cv, &gate_mu);
    if (pthread_equal(pthread_self(), caller))
        written_by_caller = true;
    pthread_mutex_unlock(&gate_mu);
    char key[512];
    snprintf(key, sizeof(key), "%s/%s",
             json_string_value(json_object_get(json_object_get(ev, "metadata"), "namespace")),
             json_string_value(json_object_get(json_object_get(ev, "metadata"), "name")));
    if (json_object_get(store, key))
        return weir_error_set(err, WEIR_EEXIST, "events \"%s\" already exists", key);
    creates++;
    json_object_set_new(store, key, json_deep_copy(ev));
    return 0;
}

static int ev_get(void *ctx, const char *ns, const char *name, json_t **ev, weir_error *err)
{
    (void)ctx;
    char key[512];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    gets++;
    json_t *e = json_object_get(store, key);
    if (!e)
        return weir_error_set(err, WEIR_ENOTFOUND, "not found");
    *ev = json_incref(e);
    return 0;
}

static int ev_patch(void *ctx, const char *ns, const char *name, const json_t *patch,
                    weir_error *err)
{
    (void)ctx;
    char key[512];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    json_t *e = json_object_get(store, key);
    if (!e)
        return weir_error_set(err, WEIR_ENOTFOUND, "not found");
    patches++;
    if (pthread_equal(pthread_self(), caller))
        written_by_caller = true;
    json_object_update(e, (json_t *)patch);
    return 0;
}

static const struct event_ops OPS = {
    .ctx = NULL, .create = ev_create, .get = ev_get, .patch = ev_patch};

static long long clock_ms = 1795428000000LL;
static long long fake_wall(void)
{
    return clock_ms;
}

static json_t *fd(void)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "apiVersion", "flink.apache.org/v1beta1",
                     "kind", "FlinkDeployment", "metadata", "name", "basic-example", "namespace",
                     "flink", "uid", "0b7e-uid", "resourceVersion", "42");
}

static int setup(void **state)
{
    (void)state;
    store = json_object();
    creates = patches = gets = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(store);
    return 0;
}

static json_t *only_event(void)
{
    assert_int_equal(json_object_size(store), 1);
    void *it = json_object_iter(store);
    return json_object_iter_value(it);
}

static void test_create_shape(void **state)
{
    (void)state;
    event_recorder *rec = events_new(&OPS, "weir-operator", "pod-1", fake_wall);
    json_t *obj = fd();
    assert_int_equal(
        events_record(rec, obj, EVENT_NORMAL, "SpecChanged", "UPGRADE change(s) detected", NULL),
        0);
    json_t *ev = only_event();
    json_t *io = json_object_get(ev, "involvedObject");
    assert_string_equal(json_string_value(json_object_get(io, "kind")), "FlinkDeployment");
    assert_string_equal(json_string_value(json_object_get(io, "uid")), "0b7e-uid");
    assert_string_equal(json_string_value(json_object_get(ev, "reason")), "SpecChanged");
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "Normal");
    assert_int_equal(json_integer_value(json_object_get(ev, "count")), 1);
    assert_string_equal(json_string_value(json_object_get(ev, "firstTimestamp")),
                        "2026-11-23T10:00:00Z");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ev, "source"), "component")),
        "weir-operator");
    const char *name = json_string_value(json_object_get(json_object_get(ev, "metadata"), "name"));
    assert_true(strncmp(name, "basic-example.", 14) == 0);
    assert_int_equal(strlen(name), 14 + 16);
    json_decref(obj);
    events_free(rec);
}

static void test_dedupe_counts(void **state)
{
    (void)state;
    event_recorder *rec = events_new(&OPS, "weir-operator", "pod-1", fake_wall);
    json_t *obj = fd();
    for (int i = 0; i < 5; i++) {
        clock_ms += 1000;
        assert_int_equal(
            events_record(rec, obj, EVENT_WARNING, "ValidationError", "bad duration", NULL), 0);
    }
    json_t *ev = only_event();
    assert_int_equal(json_integer_value(json_object_get(ev, "count")), 5);
    assert_string_equal(json_string_value(json_object_get(ev, "lastTimestamp")),
                        "2026-11-23T10:00:05Z");
    assert_int_equal(creates, 1);
    assert_int_equal(patches, 4);
    /* A different message is a different event. */
    assert_int_equal(events_record(rec, obj, EVENT_WARNING, "ValidationError", "other", NULL), 0);
    assert_int_equal(json_object_size(store), 2);
    json_decref(obj);
    events_free(rec);
}

static void test_restart_continues_count(void **state)
{
    (void)state;
    json_t *obj = fd();
    event_recorder *a = events_new(&OPS, "weir-operator", "pod-1", fake_wall);
    events_record(a, obj, EVENT_NORMAL, "Submit", "Starting deployment", NULL);
    events_record(a, obj, EVENT_NORMAL, "Submit", "Starting deployment", NULL);
    events_free(a);
    event_recorder *b = events_new(&OPS, "weir-operator", "pod-2", fake_wall); /* cold cache */
    assert_int_equal(events_record(b, obj, EVENT_NORMAL, "Submit", "Starting deployment", NULL), 0);
    assert_int_equal(json_integer_value(json_object_get(only_event(), "count")), 3);
    events_free(b);
    json_decref(obj);
}

static void test_expired_event_recreated(void **state)
{
    (void)state;
    json_t *obj = fd();
    event_recorder *rec = events_new(&OPS, "weir-operator", "pod-1", fake_wall);
    events_record(rec, obj, EVENT_NORMAL, "Submit", "Starting deployment", NULL);
    json_object_clear(store); /* the apiserver's TTL removed it */
    assert_int_equal(events_record(rec, obj, EVENT_NORMAL, "Submit", "Starting deployment", NULL),
                     0);
    assert_int_equal(json_integer_value(json_object_get(only_event(), "count")), 1);
    assert_int_equal(creates, 2);
    events_free(rec);
    json_decref(obj);
}

static void test_names(void **state)
{
    (void)state;
    json_t *obj = fd();
    char a[300], b[300], c[300];
    events_name(obj, "Normal", "X", "m", "weir-operator", a, sizeof(a));
    events_name(obj, "Normal", "X", "m", "weir-operator", b, sizeof(b));
    events_name(obj, "Normal", "Xm", "", "weir-operator", c, sizeof(c));
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    char longname[400];
    memset(longname, 'n', 300);
    longname[300] = '\0';
    json_object_set_new(json_object_get(obj, "metadata"), "name", json_string(longname));
    events_name(obj, "Normal", "X", "m", "weir-operator", a, sizeof(a));
    assert_int_equal(strlen(a), 253);
    json_decref(obj);
}

static void *open_gate_later(void *arg)
{
    (void)arg;
    usleep(100 * 1000);
    pthread_mutex_lock(&gate_mu);
    gate_closed = false;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
    return NULL;
}

/* Started, the recorder queues and returns at once; the sender writes in order; stopping with
 * a drain writes the queue, stopping without one discards it. */
static void test_async(void **state)
{
    (void)state;
    caller = pthread_self();
    written_by_caller = false;
    event_recorder *rec = events_new(&OPS, "weir-operator", "op-0", fake_wall);
    assert_int_equal(events_start(rec), 0);
    json_t *o = fd();
    weir_error err = {0};
    pthread_mutex_lock(&gate_mu);
    gate_closed = true;
    pthread_mutex_unlock(&gate_mu);
    char msg[32];
    for (int i = 0; i < 5; i++) {
        snprintf(msg, sizeof(msg), "message %d", i);
        /* returns although every write is held at the gate */
        assert_int_equal(events_record(rec, o, EVENT_NORMAL, "Submit", msg, &err), 0);
    }
    size_t queued = 0;
    events_stats(rec, &queued, NULL, NULL);
    assert_true(queued >= 4); /* the sender may hold the first at the gate */
    assert_int_equal(creates, 0);
    pthread_mutex_lock(&gate_mu);
    gate_closed = false;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
    assert_int_equal(events_stop(rec, 5000), 0);
    assert_int_equal(creates, 5);
    assert_false(written_by_caller);
    /* the same event again, after the stop: written synchronously, as a count bump */
    assert_int_equal(events_record(rec, o, EVENT_NORMAL, "Submit", "message 0", &err), 0);
    assert_int_equal(patches, 1);
    assert_true(written_by_caller);

    /* stopped without a drain: what waits is discarded */
    assert_int_equal(events_start(rec), 0);
    pthread_mutex_lock(&gate_mu);
    gate_closed = true;
    pthread_mutex_unlock(&gate_mu);
    for (int i = 0; i < 3; i++) {
        snprintf(msg, sizeof(msg), "later %d", i);
        assert_int_equal(events_record(rec, o, EVENT_NORMAL, "Submit", msg, &err), 0);
    }
    /* the sender takes the first and waits at the gate */
    for (int i = 0; i < 500 && queued != 2; i++) {
        usleep(10 * 1000);
        events_stats(rec, &queued, NULL, NULL);
    }
    assert_int_equal(queued, 2);
    pthread_t opener;
    assert_int_equal(pthread_create(&opener, NULL, open_gate_later, NULL), 0);
    assert_int_equal(events_stop(rec, 0), WEIR_ETIMEDOUT);
    pthread_join(opener, NULL);
    assert_int_equal(creates, 6); /* the one in flight; the two waiting were discarded */
    events_free(rec);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedupe_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_continues_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_event_recreated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
