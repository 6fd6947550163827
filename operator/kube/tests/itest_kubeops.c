/*
 * itest_kubeops.c - the operator's controller machinery over lib/kube against the real
 * apiserver: an informer that lists, watches, follows changes and recovers from an apiserver
 * restart; leader election between two electors on one real Lease (release hands over at
 * once); an event recorded twice becomes one Event with count 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "operator/kube/kubeops.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static kube_client *kc;
static char ns[64];

static int setup(void **state)
{
    (void)state;
    kube_config *cfg = NULL;
    weir_error err = {0};
    if (kube_config_load_default(&cfg, &err) != 0) {
        fprintf(stderr, "kubeconfig: %s\n", err.msg);
        return -1;
    }
    kc = kube_client_new(cfg, &err);
    kube_config_free(cfg);
    if (!kc)
        return -1;
    snprintf(ns, sizeof(ns), "weir-itest-kubeops-%d", (int)getpid());
    json_t *o = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata",
                          "name", ns);
    int rc = kube_create(kc, &KUBE_RES_NAMESPACES, NULL, o, NULL, &err);
    json_decref(o);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    (void)!kube_delete(kc, &KUBE_RES_NAMESPACES, NULL, ns, NULL, NULL);
    kube_client_free(kc);
    return 0;
}

static json_t *cm(const char *name, const char *label, const char *v)
{
    return json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                     "metadata", "name", name, "labels", "app", label, "data", "v", v);
}

struct seen {
    pthread_mutex_t mu;
    int adds, updates, deletes;
    char last[64];
};

static void on_add(void *arg, const json_t *o)
{
    struct seen *s = arg;
    pthread_mutex_lock(&s->mu);
    s->adds++;
    pthread_mutex_unlock(&s->mu);
    (void)o;
}

static void on_update(void *arg, const json_t *old, const json_t *o)
{
    struct seen *s = arg;
    (void)old;
    pthread_mutex_lock(&s->mu);
    s->updates++;
    snprintf(s->last, sizeof(s->last), "%s",
             json_string_value(json_object_get(json_object_get(o, "data"), "v")));
    pthread_mutex_unlock(&s->mu);
}

static void on_delete(void *arg, const json_t *o)
{
    struct seen *s = arg;
    (void)o;
    pthread_mutex_lock(&s->mu);
    s->deletes++;
    pthread_mutex_unlock(&s->mu);
}

static int get_count(struct seen *s, int *field)
{
    pthread_mutex_lock(&s->mu);
    int v = *field;
    pthread_mutex_unlock(&s->mu);
    return v;
}

static bool wait_count(struct seen *s, int *field, int want, int seconds)
{
    for (int i = 0; i < seconds * 20; i++) {
        if (get_count(s, field) >= want)
            return true;
        usleep(50000);
    }
    return false;
}

static void test_informer_over_real_apiserver(void **state)
{
    (void)state;
    weir_error err = {0};
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof(name), "pre-%d", i);
        json_t *o = cm(name, "weir", "0");
        assert_int_equal(kube_create(kc, &KUBE_RES_CONFIGMAPS, ns, o, NULL, &err), 0);
        json_decref(o);
    }
    json_t *other = cm("not-selected", "other", "0");
    assert_int_equal(kube_create(kc, &KUBE_RES_CONFIGMAPS, ns, other, NULL, &err), 0);
    json_decref(other);

    kubeops_lw *lw = kubeops_lw_new(kc, &KUBE_RES_CONFIGMAPS, ns, "app=weir");
    struct informer_lw ops;
    kubeops_lw_ops(lw, &ops);
    struct seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct informer_handlers h = {&s, on_add, on_update, on_delete};
    struct informer_options io = {
        .name = "ConfigMap", .backoff_initial_ms = 100, .backoff_max_ms = 1000};
    informer *inf = informer_new(&ops, &h, &io);
    assert_int_equal(informer_start(inf), 0);
    assert_true(informer_wait_synced(inf, 10000));
    assert_int_equal(get_count(&s, &s.adds), 3);
    char key[128];
    snprintf(key, sizeof(key), "%s/pre-1", ns);
    json_t *got = informer_get(inf, key);
    assert_non_null(got);
    json_decref(got);
    snprintf(key, sizeof(key), "%s/not-selected", ns);
    assert_null(informer_get(inf, key));

    /* live changes */
    json_t *o = cm("live", "weir", "1");
    assert_int_equal(kube_create(kc, &KUBE_RES_CONFIGMAPS, ns, o, NULL, &err), 0);
    json_decref(o);
    assert_true(wait_count(&s, &s.adds, 4, 10));
    json_t *patch = json_pack("{s:{s:s}}", "data", "v", "2");
    assert_int_equal(
        kube_patch(kc, &KUBE_RES_CONFIGMAPS, ns, "live", KUBE_PATCH_MERGE, patch, NULL, NULL, &err),
        0);
    json_decref(patch);
    assert_true(wait_count(&s, &s.updates, 1, 10));
    assert_int_equal(kube_delete(kc, &KUBE_RES_CONFIGMAPS, ns, "pre-0", NULL, &err), 0);
    assert_true(wait_count(&s, &s.deletes, 1, 10));

    /* apiserver restart: the informer reconnects by itself and keeps following */
    struct informer_stats before;
    informer_get_stats(inf, &before);
    assert_int_equal(system("bash e2e/cluster/restart-apiserver.sh --kill >/dev/null 2>&1"), 0);
    o = cm("after-restart", "weir", "3");
    int rc = -1;
    for (int i = 0; i < 60 && rc != 0; i++) {
        rc = kube_create(kc, &KUBE_RES_CONFIGMAPS, ns, o, NULL, &err);
        if (rc)
            sleep(1);
    }
    json_decref(o);
    assert_int_equal(rc, 0);
    assert_true(wait_count(&s, &s.adds, 5, 30));
    struct informer_stats after;
    informer_get_stats(inf, &after);
    assert_true(after.watch_restarts > before.watch_restarts);
    snprintf(key, sizeof(key), "%s/after-restart", ns);
    got = informer_get(inf, key);
    assert_non_null(got);
    json_decref(got);

    informer_stop(inf);
    informer_free(inf);
    kubeops_lw_free(lw);
}

struct leader_state {
    atomic_int started, stopped;
};

static void started(void *arg)
{
    struct leader_state *l = arg;
    atomic_fetch_add(&l->started, 1);
}

static void stopped(void *arg)
{
    struct leader_state *l = arg;
    atomic_fetch_add(&l->stopped, 1);
}

static void test_leader_election_on_a_real_lease(void **state)
{
    (void)state;
    struct kubeops_lease lctx = {kc, ns, "weir-operator-lock"};
    struct leader_lease_ops ops;
    kubeops_lease_ops(&lctx, &ops);
    struct leader_state a = {0}, b = {0};
    struct leader_options oa = {.identity = "replica-a",
                                .lease_name = "weir-operator-lock",
                                .namespace = ns,
                                .lease_duration_ms = 3000,
                                .renew_deadline_ms = 2000,
                                .retry_period_ms = 300,
                                .arg = &a,
                                .on_started_leading = started,
                                .on_stopped_leading = stopped};
    struct leader_options ob = oa;
    ob.identity = "replica-b";
    ob.arg = &b;
    leader_elector *ea = leader_new(&ops, &oa);
    assert_int_equal(leader_start(ea), 0);
    for (int i = 0; i < 100 && !leader_is_leader(ea); i++)
        usleep(50000);
    assert_true(leader_is_leader(ea));
    leader_elector *eb = leader_new(&ops, &ob);
    assert_int_equal(leader_start(eb), 0);
    sleep(2); /* b keeps trying while a renews */
    assert_false(leader_is_leader(eb));
    assert_int_equal(atomic_load(&b.started), 0);
    json_t *lease = NULL;
    assert_int_equal(kube_get(kc, &KUBE_RES_LEASES, ns, "weir-operator-lock", &lease, NULL), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(lease, "spec"), "holderIdentity")),
        "replica-a");
    json_decref(lease);

    /* a releases: b takes over well within the lease duration */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    leader_stop(ea, true);
    assert_int_equal(atomic_load(&a.stopped), 1);
    for (int i = 0; i < 100 && !leader_is_leader(eb); i++)
        usleep(50000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(leader_is_leader(eb));
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    fprintf(stderr, "takeover after release: %ld ms\n", ms);
    assert_true(ms < 3000);
    leader_stop(eb, true);
    leader_free(ea);
    leader_free(eb);
}

static void test_events_dedupe_on_a_real_apiserver(void **state)
{
    (void)state;
    weir_error err = {0};
    json_t *obj = NULL;
    json_t *o = cm("evented", "ev", "1");
    assert_int_equal(kube_create(kc, &KUBE_RES_CONFIGMAPS, ns, o, &obj, &err), 0);
    json_decref(o);
    struct event_ops ops;
    kubeops_event_ops(kc, &ops);
    event_recorder *rec = events_new(&ops, "weir-operator", "itest", NULL);
    assert_int_equal(events_record(rec, obj, EVENT_WARNING, "ValidationError",
                                   "bad duration in flinkConfiguration", &err),
                     0);
    assert_int_equal(events_record(rec, obj, EVENT_WARNING, "ValidationError",
                                   "bad duration in flinkConfiguration", &err),
                     0);
    json_t *list = NULL;
    kube_list_opts lo = {.field_selector = "involvedObject.name=evented"};
    assert_int_equal(kube_list(kc, &KUBE_RES_EVENTS, ns, &lo, &list, &err), 0);
    json_t *items = json_object_get(list, "items");
    assert_int_equal(json_array_size(items), 1);
    json_t *ev = json_array_get(items, 0);
    assert_int_equal(json_integer_value(json_object_get(ev, "count")), 2);
    assert_string_equal(json_string_value(json_object_get(ev, "reason")), "ValidationError");
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "Warning");
    json_decref(list);
    events_free(rec);
    json_decref(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_informer_over_real_apiserver),
        cmocka_unit_test(test_leader_election_on_a_real_lease),
        cmocka_unit_test(test_events_dedupe_on_a_real_apiserver),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
