/*
 * test_informer.c - informer behaviour against an in-process fake apiserver (a ListerWatcher
 * with a versioned event log): initial sync, ordered events, 410 Gone → relist that notices
 * deletions made while not watching, reconnect after stream errors, indexes, transform, stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/error.h"
#include "operator/kube/informer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- fake apiserver ---------------------------------------------------------------------- */

struct fake {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    json_t *objects; /* key -> object */
    json_t *log;     /* array of {"rv":N,"type":T,"object":O} */
    long rv;
    long compacted; /* watches from below this get 410 */
    int cut;        /* >0: active watches return WEIR_ECONNECT once, decrement */
    int fail_lists; /* >0: lists fail, decrement */
    int lists;
};

static json_t *mkobj(const char *ns, const char *name, long rv, const char *owner, const char *v)
{
    char rvs[32];
    snprintf(rvs, sizeof(rvs), "%ld", rv);
    json_t *md =
        json_pack("{s:s, s:s, s:s}", "namespace", ns, "name", name, "resourceVersion", rvs);
    if (owner)
        json_object_set_new(md, "ownerReferences", json_pack("[{s:s}]", "uid", owner));
    json_object_set_new(md, "managedFields", json_pack("[{s:s}]", "manager", "big"));
    return json_pack("{s:o, s:{s:s}}", "metadata", md, "data", "v", v);
}

static void fake_apply(struct fake *f, const char *type, const char *ns, const char *name,
                       const char *owner, const char *v)
{
    pthread_mutex_lock(&f->mu);
    f->rv++;
    char key[128];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    json_t *obj = mkobj(ns, name, f->rv, owner, v);
    if (strcmp(type, "DELETED") == 0)
        json_object_del(f->objects, key);
    else
        json_object_set(f->objects, key, obj);
    json_array_append_new(
        f->log, json_pack("{s:I, s:s, s:o}", "rv", (json_int_t)f->rv, "type", type, "object", obj));
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
}

static int fake_list(void *ctx, json_t **items, char **rv, weir_error *err)
{
    struct fake *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->lists++;
    if (f->fail_lists > 0) {
        f->fail_lists--;
        pthread_mutex_unlock(&f->mu);
        return weir_error_set(err, WEIR_ECONNECT, "fake: connection refused");
    }
    *items = json_array();
    const char *k;
    json_t *o;
    json_object_foreach(f->objects, k, o) json_array_append(*items, o);
    char buf[32];
    snprintf(buf, sizeof(buf), "%ld", f->rv);
    *rv = strdup(buf);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static int fake_watch(void *ctx, const char *rv, informer_event_fn on_event, void *arg,
                      const atomic_bool *stop, weir_error *err)
{
    struct fake *f = ctx;
    long from = atol(rv);
    pthread_mutex_lock(&f->mu);
    if (from < f->compacted) {
        pthread_mutex_unlock(&f->mu);
        return weir_error_set(err, WEIR_EGONE, "fake: too old resource version");
    }
    size_t next = 0;
    for (;;) {
        if (atomic_load(stop)) {
            pthread_mutex_unlock(&f->mu);
            return WEIR_ECANCELED;
        }
        if (f->cut > 0) {
            f->cut--;
            pthread_mutex_unlock(&f->mu);
            return weir_error_set(err, WEIR_ECONNECT, "fake: stream cut");
        }
        if (f->compacted > from) { /* compaction while watching: the stream is told 410 */
            pthread_mutex_unlock(&f->mu);
            return weir_error_set(err, WEIR_EGONE, "fake: compacted");
        }
        while (next < json_array_size(f->log)) {
            json_t *e = json_array_get(f->log, next++);
            long erv = (long)json_integer_value(json_object_get(e, "rv"));
            if (erv <= from)
                continue;
            from = erv;
            json_t *obj = json_incref(json_object_get(e, "object"));
            const char *type = json_string_value(json_object_get(e, "type"));
            pthread_mutex_unlock(&f->mu);
            int stop_req = on_event(arg, type, obj);
            json_decref(obj);
            pthread_mutex_lock(&f->mu);
            if (stop_req) {
                pthread_mutex_unlock(&f->mu);
                return WEIR_ECANCELED;
            }
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&f->cond, &f->mu, &ts);
    }
}

static struct fake *fake_new(void)
{
    struct fake *f = calloc(1, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cond, NULL);
    f->objects = json_object();
    f->log = json_array();
    return f;
}

static void fake_free(struct fake *f)
{
    json_decref(f->objects);
    json_decref(f->log);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* ---- recording handlers ------------------------------------------------------------------- */

struct rec {
    pthread_mutex_t mu;
    json_t *events; /* array of "ADD ns/name v" strings */
};

static void rec_push(struct rec *r, const char *what, const json_t *obj)
{
    char key[256];
    informer_key_of(obj, key, sizeof(key));
    const char *v = json_string_value(json_object_get(json_object_get(obj, "data"), "v"));
    char line[512];
    snprintf(line, sizeof(line), "%s %s %s", what, key, v ? v : "-");
    pthread_mutex_lock(&r->mu);
    json_array_append_new(r->events, json_string(line));
    pthread_mutex_unlock(&r->mu);
}

static void on_add(void *arg, const json_t *o)
{
    rec_push(arg, "ADD", o);
}

static void on_update(void *arg, const json_t *old, const json_t *o)
{
    (void)old;
    rec_push(arg, "UPD", o);
}

static void on_delete(void *arg, const json_t *o)
{
    rec_push(arg, "DEL", o);
}

static size_t rec_len(struct rec *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = json_array_size(r->events);
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* Waits until `n` events were recorded (at most 5 s). */
static bool rec_wait(struct rec *r, size_t n)
{
    for (int i = 0; i < 500; i++) {
        if (rec_len(r) >= n)
            return true;
        usleep(10 * 1000);
    }
    return false;
}

static const char *rec_at(struct rec *r, size_t i)
{
    return json_string_value(json_array_get(r->events, i));
}

static json_t *drop_managed_fields(json_t *obj)
{
    json_t *copy = json_deep_copy(obj);
    json_object_del(json_object_get(copy, "metadata"), "managedFields");
    return copy;
}

struct env {
    struct fake *f;
    struct rec r;
    informer *inf;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    e->f = fake_new();
    pthread_mutex_init(&e->r.mu, NULL);
    e->r.events = json_array();
    fake_apply(e->f, "ADDED", "ns", "a", "uid-1", "1");
    fake_apply(e->f, "ADDED", "ns", "b", "uid-1", "1");
    fake_apply(e->f, "ADDED", "other", "c", "uid-2", "1");
    struct informer_lw lw = {.ctx = e->f, .list = fake_list, .watch = fake_watch};
    struct informer_handlers h = {
        .arg = &e->r, .on_add = on_add, .on_update = on_update, .on_delete = on_delete};
    struct informer_options o = {.name = "test",
                                 .backoff_initial_ms = 10,
                                 .backoff_max_ms = 50,
                                 .transform = drop_managed_fields};
    e->inf = informer_new(&lw, &h, &o);
    assert_int_equal(informer_add_index(e->inf, "owner", informer_index_owner_uid), 0);
    assert_int_equal(informer_start(e->inf), 0);
    assert_true(informer_wait_synced(e->inf, 5000));
    assert_true(rec_wait(&e->r, 3));
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    informer_free(e->inf);
    fake_free(e->f);
    json_decref(e->r.events);
    pthread_mutex_destroy(&e->r.mu);
    free(e);
    return 0;
}

static void test_initial_sync(void **state)
{
    struct env *e = *state;
    assert_true(informer_has_synced(e->inf));
    assert_int_equal(rec_len(&e->r), 3);
    json_t *a = informer_get(e->inf, "ns/a");
    assert_non_null(a);
    /* The transform ran: managedFields are not cached. */
    assert_null(json_object_get(json_object_get(a, "metadata"), "managedFields"));
    /* a copy: changing it leaves the cache as it was */
    json_object_set_new(json_object_get(a, "metadata"), "name", json_string("changed"));
    json_t *a2 = informer_get(e->inf, "ns/a");
    assert_string_equal(json_string_value(json_object_get(json_object_get(a2, "metadata"), "name")),
                        "a");
    assert_ptr_not_equal(a, a2);
    json_decref(a2);
    json_decref(a);
    assert_null(informer_get(e->inf, "ns/zzz"));
    json_t *owned = informer_by_index(e->inf, "owner", "uid-1");
    assert_int_equal(json_array_size(owned), 2);
    json_decref(owned);
}

static void test_events_in_order(void **state)
{
    struct env *e = *state;
    fake_apply(e->f, "ADDED", "ns", "d", NULL, "1");
    fake_apply(e->f, "MODIFIED", "ns", "d", NULL, "2");
    fake_apply(e->f, "DELETED", "ns", "d", NULL, "2");
    assert_true(rec_wait(&e->r, 6));
    assert_string_equal(rec_at(&e->r, 3), "ADD ns/d 1");
    assert_string_equal(rec_at(&e->r, 4), "UPD ns/d 2");
    assert_string_equal(rec_at(&e->r, 5), "DEL ns/d 2");
    assert_null(informer_get(e->inf, "ns/d"));
}

static void test_index_follows_updates(void **state)
{
    struct env *e = *state;
    fake_apply(e->f, "MODIFIED", "ns", "a", "uid-2", "2"); /* owner changes */
    assert_true(rec_wait(&e->r, 4));
    json_t *k1 = informer_by_index(e->inf, "owner", "uid-1");
    json_t *k2 = informer_by_index(e->inf, "owner", "uid-2");
    assert_int_equal(json_array_size(k1), 1);
    assert_int_equal(json_array_size(k2), 2);
    json_decref(k1);
    json_decref(k2);
    fake_apply(e->f, "DELETED", "ns", "b", "uid-1", "1");
    assert_true(rec_wait(&e->r, 5));
    k1 = informer_by_index(e->inf, "owner", "uid-1");
    assert_int_equal(json_array_size(k1), 0);
    json_decref(k1);
}

static void test_gone_relists_and_sees_gap_deletions(void **state)
{
    struct env *e = *state;
    /* While the informer is not watching, "b" is deleted and "x" created and the log is
     * compacted past them, so no watch can replay them: only a relist can notice. */
    pthread_mutex_lock(&e->f->mu);
    json_object_del(e->f->objects, "ns/b");
    e->f->rv += 10;
    json_object_set_new(e->f->objects, "ns/x", mkobj("ns", "x", e->f->rv, NULL, "9"));
    json_array_clear(e->f->log);
    e->f->compacted = e->f->rv;
    pthread_cond_broadcast(&e->f->cond);
    pthread_mutex_unlock(&e->f->mu);
    assert_true(rec_wait(&e->r, 5));
    struct informer_stats st;
    informer_get_stats(e->inf, &st);
    assert_true(st.gone >= 1);
    assert_true(st.lists >= 2);
    assert_null(informer_get(e->inf, "ns/b"));
    json_t *x = informer_get(e->inf, "ns/x");
    assert_non_null(x);
    json_decref(x);
    /* Unchanged objects are not re-delivered by the relist. */
    assert_int_equal(rec_len(&e->r), 5);
    /* And the new watch works. */
    fake_apply(e->f, "MODIFIED", "ns", "x", NULL, "10");
    assert_true(rec_wait(&e->r, 6));
    assert_string_equal(rec_at(&e->r, 5), "UPD ns/x 10");
}

static void test_reconnects_after_cut(void **state)
{
    struct env *e = *state;
    pthread_mutex_lock(&e->f->mu);
    e->f->cut = 3;
    e->f->fail_lists = 0;
    pthread_cond_broadcast(&e->f->cond);
    pthread_mutex_unlock(&e->f->mu);
    fake_apply(e->f, "ADDED", "ns", "after-cut", NULL, "1");
    assert_true(rec_wait(&e->r, 4));
    assert_string_equal(rec_at(&e->r, 3), "ADD ns/after-cut 1");
    struct informer_stats st;
    informer_get_stats(e->inf, &st);
    assert_true(st.watch_restarts >= 3);
    assert_int_equal(st.lists, 1); /* a cut stream resumes from its version, no relist */
}

static void test_stop_is_prompt(void **state)
{
    struct env *e = *state;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    informer_stop(e->inf);
    clock_gettime(CLOCK_MONOTONIC, &b);
    assert_true(b.tv_sec - a.tv_sec < 3);
    informer_stop(e->inf); /* idempotent */
}

static void test_list_failure_retries(void **state)
{
    (void)state;
    struct fake *f = fake_new();
    f->fail_lists = 3;
    fake_apply(f, "ADDED", "ns", "a", NULL, "1");
    struct informer_lw lw = {.ctx = f, .list = fake_list, .watch = fake_watch};
    struct informer_options o = {.name = "retry", .backoff_initial_ms = 10, .backoff_max_ms = 40};
    informer *inf = informer_new(&lw, NULL, &o);
    assert_int_equal(informer_start(inf), 0);
    assert_true(informer_wait_synced(inf, 5000));
    struct informer_stats st;
    informer_get_stats(inf, &st);
    assert_int_equal(st.list_failures, 3);
    assert_int_equal(st.objects, 1);
    informer_free(inf);
    fake_free(f);
}

static void test_key_of(void **state)
{
    (void)state;
    char buf[64];
    json_t *o = json_pack("{s:{s:s}}", "metadata", "name", "cluster-wide");
    assert_int_equal(informer_key_of(o, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "cluster-wide");
    json_decref(o);
    o = json_pack("{s:{}}", "metadata");
    assert_int_equal(informer_key_of(o, buf, sizeof(buf)), WEIR_EINVAL);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_initial_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_follows_updates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gone_relists_and_sees_gap_deletions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnects_after_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_is_prompt, setup, teardown),
        cmocka_unit_test(test_list_failure_retries),
        cmocka_unit_test(test_key_of),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
