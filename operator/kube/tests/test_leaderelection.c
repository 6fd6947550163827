/*
 * test_leaderelection.c - Lease election against an in-memory Lease store with optimistic
 * concurrency, driven by a fake clock (rounds) and by the real clock (threads).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/error.h"
#include "operator/kube/leaderelection.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct store {
    pthread_mutex_t mu;
    json_t *lease; /* NULL = not found */
    long rv;
    int steal_before_update; /* >0: bump the version before the next update (a racing writer) */
    int fail_all;            /* >0: every call fails with WEIR_ECONNECT */
};

static struct store S;

static int st_get(void *ctx, json_t **lease, weir_error *err)
{
    (void)ctx;
    pthread_mutex_lock(&S.mu);
    int rc = 0;
    if (S.fail_all)
        rc = weir_error_set(err, WEIR_ECONNECT, "apiserver unreachable");
    else if (S.lease == NULL)
        rc = weir_error_set(err, WEIR_ENOTFOUND, "leases \"weir\" not found");
    else
        *lease = json_deep_copy(S.lease);
    pthread_mutex_unlock(&S.mu);
    return rc;
}

static void stamp(json_t *obj)
{
    char rv[32];
    snprintf(rv, sizeof(rv), "%ld", ++S.rv);
    json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion", json_string(rv));
}

static int st_create(void *ctx, const json_t *lease, weir_error *err)
{
    (void)ctx;
    pthread_mutex_lock(&S.mu);
    int rc = 0;
    if (S.fail_all)
        rc = weir_error_set(err, WEIR_ECONNECT, "apiserver unreachable");
    else if (S.lease != NULL)
        rc = weir_error_set(err, WEIR_EEXIST, "already exists");
    else {
        S.lease = json_deep_copy(lease);
        stamp(S.lease);
    }
    pthread_mutex_unlock(&S.mu);
    return rc;
}

static int st_update(void *ctx, const json_t *lease, weir_error *err)
{
    (void)ctx;
    pthread_mutex_lock(&S.mu);
    int rc = 0;
    if (S.steal_before_update > 0) {
        S.steal_before_update--;
        stamp(S.lease);
    }
    const char *want =
        json_string_value(json_object_get(json_object_get(S.lease, "metadata"), "resourceVersion"));
    const char *have =
        json_string_value(json_object_get(json_object_get(lease, "metadata"), "resourceVersion"));
    if (S.fail_all)
        rc = weir_error_set(err, WEIR_ECONNECT, "apiserver unreachable");
    else if (!want || !have || strcmp(want, have) != 0)
        rc = weir_error_set(err, WEIR_ECONFLICT, "the object has been modified");
    else {
        json_decref(S.lease);
        S.lease = json_deep_copy(lease);
        stamp(S.lease);
    }
    pthread_mutex_unlock(&S.mu);
    return rc;
}

static const struct leader_lease_ops OPS = {
    .ctx = NULL, .get = st_get, .create = st_create, .update = st_update};

static atomic_llong fake_now;
static long long fake_clock(void)
{
    return atomic_load(&fake_now);
}

static const char *holder(void)
{
    return json_string_value(json_object_get(json_object_get(S.lease, "spec"), "holderIdentity"));
}

static long transitions(void)
{
    return (long)json_integer_value(
        json_object_get(json_object_get(S.lease, "spec"), "leaseTransitions"));
}

static leader_elector *mk(const char *id, bool fake)
{
    struct leader_options o = {.identity = id,
                               .lease_name = "weir-operator-lease",
                               .namespace = "weir",
                               .lease_duration_ms = fake ? 15000 : 400,
                               .renew_deadline_ms = fake ? 10000 : 250,
                               .retry_period_ms = fake ? 2000 : 30,
                               .mono_ms = fake ? fake_clock : NULL,
                               .wall_ms = fake ? fake_clock : NULL};
    return leader_new(&OPS, &o);
}

static int reset(void **state)
{
    (void)state;
    pthread_mutex_init(&S.mu, NULL);
    json_decref(S.lease);
    S.lease = NULL;
    S.rv = 0;
    S.steal_before_update = 0;
    S.fail_all = 0;
    atomic_store(&fake_now, 1795428000000LL);
    return 0;
}

static int cleanup(void **state)
{
    (void)state;
    json_decref(S.lease);
    S.lease = NULL;
    return 0;
}

static void test_acquire_and_exclusion(void **state)
{
    (void)state;
    leader_elector *a = mk("a", true), *b = mk("b", true);
    assert_int_equal(leader_try_acquire_or_renew(a, NULL), 0);
    assert_string_equal(holder(), "a");
    assert_true(leader_is_leader(a));
    assert_int_equal(leader_try_acquire_or_renew(b, NULL), WEIR_ESTATE);
    assert_false(leader_is_leader(b));
    /* Time passes but a keeps renewing: b never gets it. */
    for (int i = 0; i < 20; i++) {
        atomic_fetch_add(&fake_now, 2000);
        assert_int_equal(leader_try_acquire_or_renew(a, NULL), 0);
        assert_int_equal(leader_try_acquire_or_renew(b, NULL), WEIR_ESTATE);
    }
    assert_int_equal(transitions(), 0);
    char buf[32];
    leader_observed_holder(b, buf, sizeof(buf));
    assert_string_equal(buf, "a");
    leader_free(a);
    leader_free(b);
}

static void test_takeover_after_expiry(void **state)
{
    (void)state;
    leader_elector *a = mk("a", true), *b = mk("b", true);
    assert_int_equal(leader_try_acquire_or_renew(a, NULL), 0);
    assert_int_equal(leader_try_acquire_or_renew(b, NULL), WEIR_ESTATE);
    /* a goes silent. Within the lease duration b must wait... */
    atomic_fetch_add(&fake_now, 14000);
    assert_int_equal(leader_try_acquire_or_renew(b, NULL), WEIR_ESTATE);
    /* ...and a stops considering itself leader after the renew deadline, without any call. */
    assert_false(leader_is_leader(a));
    atomic_fetch_add(&fake_now, 1001);
    assert_int_equal(leader_try_acquire_or_renew(b, NULL), 0);
    assert_string_equal(holder(), "b");
    assert_int_equal(transitions(), 1);
    assert_true(leader_is_leader(b));
    /* a comes back: the lease is validly held by b now. */
    assert_int_equal(leader_try_acquire_or_renew(a, NULL), WEIR_ESTATE);
    leader_free(a);
    leader_free(b);
}

static void test_conflict_loses_round(void **state)
{
    (void)state;
    leader_elector *a = mk("a", true), *b = mk("b", true);
    assert_int_equal(leader_try_acquire_or_renew(a, NULL), 0);
    atomic_fetch_add(&fake_now, 20000); /* expired from b's point of view after it observes */
    assert_int_equal(leader_try_acquire_or_renew(b, NULL), WEIR_ESTATE); /* first observation */
    atomic_fetch_add(&fake_now, 16000);
    S.steal_before_update = 1; /* someone writes between b's read and b's update */
    weir_error err;
    weir_error_clear(&err);
    assert_int_equal(leader_try_acquire_or_renew(b, &err), WEIR_ECONFLICT);
    assert_false(leader_is_leader(b));
    assert_string_equal(holder(), "a");
    leader_free(a);
    leader_free(b);
}

static void test_fresh_foreign_holder_blocks(void **state)
{
    (void)state;
    leader_elector *a = mk("a", true);
    /* A lease freshly held by someone else (first observation): we must wait. */
    S.lease = json_pack("{s:{s:s,s:s,s:s}, s:{s:s, s:I, s:s}}", "metadata", "name", "x",
                        "namespace", "weir", "resourceVersion", "7", "spec", "holderIdentity", "z",
                        "leaseDurationSeconds", (json_int_t)15, "renewTime", "t");
    json_t *keep = S.lease;
    S.lease = NULL;

    assert_int_equal(st_create(NULL, keep, NULL), 0);
    json_decref(keep);
    assert_int_equal(leader_try_acquire_or_renew(a, NULL), WEIR_ESTATE);
    leader_free(a);
}

static void test_empty_holder_is_free(void **state)
{
    (void)state;
    leader_elector *a = mk("a", true), *b = mk("b", true);
    assert_int_equal(leader_try_acquire_or_renew(a, NULL), 0);
    /* a releases (as on SIGTERM). */
    leader_stop(a, true);
    assert_string_equal(holder(), "");
    assert_false(leader_is_leader(a));
    assert_int_equal(leader_try_acquire_or_renew(b, NULL), 0);
    assert_string_equal(holder(), "b");
    leader_free(a);
    leader_free(b);
}

static void test_unreachable_apiserver_drops_leadership(void **state)
{
    (void)state;
    leader_elector *a = mk("a", true);
    assert_int_equal(leader_try_acquire_or_renew(a, NULL), 0);
    S.fail_all = 1;
    atomic_fetch_add(&fake_now, 5000);
    assert_int_equal(leader_try_acquire_or_renew(a, NULL), WEIR_ECONNECT);
    assert_true(leader_is_leader(a)); /* still within the renew deadline */
    atomic_fetch_add(&fake_now, 5001);
    assert_false(leader_is_leader(a));
    leader_free(a);
}

static void test_invalid_options(void **state)
{
    (void)state;
    struct leader_options o = {.identity = "a", .lease_name = "l", .namespace = "n"};
    leader_elector *le = leader_new(&OPS, &o);
    assert_non_null(le);
    leader_free(le);
    o.renew_deadline_ms = 20000; /* >= default lease duration */
    assert_null(leader_new(&OPS, &o));
    o.renew_deadline_ms = 0;
    o.identity = "";
    assert_null(leader_new(&OPS, &o));
}

static atomic_int started_a, started_b;
static void inc(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
}

static void test_threads_failover(void **state)
{
    (void)state;
    struct leader_options oa = {.identity = "a",
                                .lease_name = "l",
                                .namespace = "n",
                                .lease_duration_ms = 400,
                                .renew_deadline_ms = 250,
                                .retry_period_ms = 30,
                                .arg = &started_a,
                                .on_started_leading = inc};
    leader_elector *a = leader_new(&OPS, &oa);
    struct leader_options ob = oa;
    ob.identity = "b";
    ob.arg = &started_b;
    leader_elector *b = leader_new(&OPS, &ob);
    assert_int_equal(leader_start(a), 0);
    for (int i = 0; i < 200 && !leader_is_leader(a); i++)
        usleep(10000);
    assert_true(leader_is_leader(a));
    assert_int_equal(leader_start(b), 0);
    usleep(600 * 1000); /* longer than the lease: b must still not lead, a renews */
    assert_false(leader_is_leader(b));
    assert_true(leader_is_leader(a));
    leader_stop(a, true);
    /* b leads, and its started-leading callback (run right after the winning round) ran. */
    for (int i = 0; i < 300 && !(leader_is_leader(b) && atomic_load(&started_b) == 1); i++)
        usleep(10000);
    assert_true(leader_is_leader(b));
    assert_int_equal(atomic_load(&started_a), 1);
    assert_int_equal(atomic_load(&started_b), 1);
    leader_free(a);
    leader_free(b);
}

static void test_microtime(void **state)
{
    (void)state;
    char buf[64];
    leader_format_microtime(1795428000123LL, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-23T10:00:00.123000Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_acquire_and_exclusion, reset, cleanup),
        cmocka_unit_test_setup_teardown(test_takeover_after_expiry, reset, cleanup),
        cmocka_unit_test_setup_teardown(test_conflict_loses_round, reset, cleanup),
        cmocka_unit_test_setup_teardown(test_fresh_foreign_holder_blocks, reset, cleanup),
        cmocka_unit_test_setup_teardown(test_empty_holder_is_free, reset, cleanup),
        cmocka_unit_test_setup_teardown(test_unreachable_apiserver_drops_leadership, reset,
                                        cleanup),
        cmocka_unit_test_setup_teardown(test_invalid_options, reset, cleanup),
        cmocka_unit_test_setup_teardown(test_threads_failover, reset, cleanup),
        cmocka_unit_test(test_microtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
