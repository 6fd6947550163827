/*
 * test_workqueue.c - unit tests for operator/kube/workqueue: dedupe, one worker per key,
 * delayed adds, per-key backoff, shutdown. Timing assertions use generous lower bounds only
 * (a delayed key must never come early), never tight upper bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/error.h"
#include "operator/kube/workqueue.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *get(workqueue *q)
{
    char *k = NULL;
    assert_int_equal(workqueue_get(q, &k, NULL), 0);
    return k;
}

static void test_fifo_and_dedupe(void **state)
{
    (void)state;
    workqueue *q = workqueue_new(NULL);
    assert_int_equal(workqueue_add(q, "ns/a"), 0);
    assert_int_equal(workqueue_add(q, "ns/b"), 0);
    assert_int_equal(workqueue_add(q, "ns/a"), 0); /* deduped */
    assert_int_equal(workqueue_len(q), 2);
    char *k = get(q);
    assert_string_equal(k, "ns/a");
    workqueue_done(q, k);
    free(k);
    k = get(q);
    assert_string_equal(k, "ns/b");
    workqueue_done(q, k);
    free(k);
    assert_int_equal(workqueue_len(q), 0);
    workqueue_free(q);
}

static void test_readd_while_processing(void **state)
{
    (void)state;
    workqueue *q = workqueue_new(NULL);
    workqueue_add(q, "ns/a");
    char *k = get(q);
    /* Added while processing: not handed to another worker until done. */
    workqueue_add(q, "ns/a");
    workqueue_add(q, "ns/a");
    assert_int_equal(workqueue_len(q), 0);
    assert_int_equal(workqueue_processing_len(q), 1);
    workqueue_done(q, k);
    free(k);
    assert_int_equal(workqueue_len(q), 1);
    k = get(q);
    assert_string_equal(k, "ns/a");
    workqueue_done(q, k);
    free(k);
    assert_int_equal(workqueue_len(q), 0);
    workqueue_free(q);
}

static void test_add_after_keeps_earliest(void **state)
{
    (void)state;
    workqueue *q = workqueue_new(NULL);
    long long t0 = mono_ms();
    workqueue_add_after(q, "ns/late", 10000);
    workqueue_add_after(q, "ns/late", 150); /* earlier wins */
    workqueue_add_after(q, "ns/late", 5000);
    workqueue_add_after(q, "ns/x", 60);
    assert_int_equal(workqueue_delayed_len(q), 2);
    assert_int_equal(workqueue_len(q), 0);
    char *k = get(q);
    assert_string_equal(k, "ns/x");
    assert_true(mono_ms() - t0 >= 60);
    workqueue_done(q, k);
    free(k);
    k = get(q);
    assert_string_equal(k, "ns/late");
    assert_true(mono_ms() - t0 >= 150);
    workqueue_done(q, k);
    free(k);
    assert_int_equal(workqueue_delayed_len(q), 0);
    workqueue_free(q);
}

static void test_delayed_then_immediate_dedupes(void **state)
{
    (void)state;
    workqueue *q = workqueue_new(NULL);
    workqueue_add_after(q, "ns/a", 100);
    workqueue_add(q, "ns/a");
    char *k = get(q);
    assert_string_equal(k, "ns/a");
    /* The delayed copy becomes due while processing: merged into one more run after done. */
    usleep(150 * 1000);
    workqueue_done(q, k);
    free(k);
    k = get(q);
    assert_string_equal(k, "ns/a");
    workqueue_done(q, k);
    free(k);
    assert_int_equal(workqueue_len(q), 0);
    assert_int_equal(workqueue_delayed_len(q), 0);
    workqueue_free(q);
}

static void take(workqueue *q, const char *want)
{
    char *k = get(q);
    assert_string_equal(k, want);
    workqueue_done(q, k);
    free(k);
}

/* Keys added now go ahead of keys whose requeue-after came due; a due key that is then added
 * now moves to the event lane and is handed out once. */
static void test_events_before_timers(void **state)
{
    (void)state;
    workqueue *q = workqueue_new(NULL);
    workqueue_add_after(q, "t/1", WORKQUEUE_RECHECK_MS);
    workqueue_add_after(q, "t/2", WORKQUEUE_RECHECK_MS + 1);
    workqueue_add_after(q, "t/3", WORKQUEUE_RECHECK_MS + 2);
    usleep((WORKQUEUE_RECHECK_MS + 20) * 1000);
    char *k = get(q); /* promotes all three into the timer lane, in due order */
    assert_string_equal(k, "t/1");
    workqueue_add(q, "e/1");
    workqueue_add(q, "t/3"); /* queued as a timer key: moves to the event lane */
    workqueue_add(q, "e/2");
    workqueue_add(q, "e/1"); /* deduped */
    assert_int_equal(workqueue_len(q), 4);
    workqueue_done(q, k);
    free(k);
    take(q, "e/1");
    take(q, "t/3");
    take(q, "e/2");
    take(q, "t/2");
    assert_int_equal(workqueue_len(q), 0); /* t/3's old timer entry is not handed out */
    /* a later requeue of t/3 works as before */
    workqueue_add_after(q, "t/3", 1);
    usleep(5 * 1000);
    take(q, "t/3");
    assert_int_equal(workqueue_len(q), 0);
    /* a short requeue is work in progress: it goes ahead of a due recheck */
    workqueue_add_after(q, "t/1", WORKQUEUE_RECHECK_MS);
    usleep((WORKQUEUE_RECHECK_MS + 20) * 1000);
    workqueue_add_after(q, "s/1", 1);
    usleep(20 * 1000);
    take(q, "s/1");
    take(q, "t/1");
    assert_int_equal(workqueue_delayed_len(q), 0);
    workqueue_free(q);
}

/* Events cannot starve timers: once a timer key has waited a second, it goes after at most a
 * short run of event keys. */
static void test_timers_not_starved(void **state)
{
    (void)state;
    workqueue *q = workqueue_new(NULL);
    workqueue_add_after(q, "old", WORKQUEUE_RECHECK_MS);
    usleep((WORKQUEUE_RECHECK_MS + 20) * 1000);
    char name[16];
    for (int i = 0; i < 30; i++) {
        snprintf(name, sizeof(name), "e/%d", i);
        workqueue_add(q, name);
    }
    take(q, "e/0"); /* promotes "old"; the event lane still goes first */
    usleep(1100 * 1000);
    int pos = 0;
    for (;;) {
        char *k = get(q);
        pos++;
        bool old = strcmp(k, "old") == 0;
        workqueue_done(q, k);
        free(k);
        if (old)
            break;
        assert_true(pos <= 10);
    }
    assert_true(pos >= 2);
    assert_int_equal(workqueue_len(q), 30 - 1 - (pos - 1));
    workqueue_free(q);
}

static void test_backoff(void **state)
{
    (void)state;
    struct workqueue_options o = {.base_delay_ms = 10, .max_delay_ms = 100};
    workqueue *q = workqueue_new(&o);
    assert_int_equal(workqueue_next_backoff_ms(q, "k"), 10);
    long expect[] = {10, 20, 40, 80, 100, 100};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(workqueue_next_backoff_ms(q, "k"), expect[i]);
        long long t0 = mono_ms();
        assert_int_equal(workqueue_add_rate_limited(q, "k"), 0);
        char *k = get(q);
        assert_true(mono_ms() - t0 >= expect[i]);
        workqueue_done(q, k);
        free(k);
        assert_int_equal(workqueue_num_requeues(q, "k"), i + 1);
    }
    workqueue_forget(q, "k");
    assert_int_equal(workqueue_num_requeues(q, "k"), 0);
    assert_int_equal(workqueue_next_backoff_ms(q, "k"), 10);
    workqueue_free(q);
}

static void *blocked_getter(void *arg)
{
    workqueue *q = arg;
    char *k = NULL;
    intptr_t rc = workqueue_get(q, &k, NULL);
    free(k);
    return (void *)rc;
}

static void test_shutdown_wakes_waiters(void **state)
{
    (void)state;
    workqueue *q = workqueue_new(NULL);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, blocked_getter, q);
    usleep(50 * 1000);
    workqueue_shutdown(q);
    for (int i = 0; i < 3; i++) {
        void *rc;
        pthread_join(t[i], &rc);
        assert_int_equal((intptr_t)rc, WEIR_ECLOSED);
    }
    assert_int_equal(workqueue_add(q, "x"), WEIR_ECLOSED);
    workqueue_free(q);
}

/* Many workers, many adds of few keys: no key is ever processed by two workers at once. */
#define NKEYS 8
static atomic_int in_flight[NKEYS];
static atomic_int violations;
static atomic_int processed;

static void *worker(void *arg)
{
    workqueue *q = arg;
    char *k;
    while (workqueue_get(q, &k, NULL) == 0) {
        int idx = k[0] - 'a';
        if (atomic_fetch_add(&in_flight[idx], 1) != 0)
            atomic_fetch_add(&violations, 1);
        usleep(200);
        atomic_fetch_sub(&in_flight[idx], 1);
        atomic_fetch_add(&processed, 1);
        workqueue_done(q, k);
        free(k);
    }
    return NULL;
}

static void test_one_worker_per_key(void **state)
{
    (void)state;
    workqueue *q = workqueue_new(NULL);
    pthread_t t[6];
    for (int i = 0; i < 6; i++)
        pthread_create(&t[i], NULL, worker, q);
    char key[2] = {0};
    for (int i = 0; i < 3000; i++) {
        key[0] = (char)('a' + i % NKEYS);
        workqueue_add(q, key);
        if (i % 100 == 0)
            usleep(100);
    }
    /* Wait until everything queued is processed. */
    long long deadline = mono_ms() + 20000;
    while ((workqueue_len(q) > 0 || workqueue_processing_len(q) > 0) && mono_ms() < deadline)
        usleep(1000);
    assert_int_equal(workqueue_wait_idle(q, 5000), 0);
    workqueue_shutdown(q);
    for (int i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&violations), 0);
    assert_true(atomic_load(&processed) >= NKEYS);
    assert_true(atomic_load(&processed) <= 3000);
    workqueue_free(q);
}

static void test_wait_idle_times_out(void **state)
{
    (void)state;
    workqueue *q = workqueue_new(NULL);
    workqueue_add(q, "x");
    char *k = get(q);
    assert_int_equal(workqueue_wait_idle(q, 50), WEIR_ETIMEDOUT);
    workqueue_done(q, k);
    free(k);
    assert_int_equal(workqueue_wait_idle(q, 50), 0);
    workqueue_free(q);
}

static void test_free_with_pending_items(void **state)
{
    (void)state;
    workqueue *q = workqueue_new(NULL);
    workqueue_add(q, "a");
    workqueue_add(q, "b");
    workqueue_add_after(q, "c", 100000);
    workqueue_add_rate_limited(q, "d");
    workqueue_free(q); /* LeakSanitizer checks nothing is left */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_dedupe),
        cmocka_unit_test(test_readd_while_processing),
        cmocka_unit_test(test_add_after_keeps_earliest),
        cmocka_unit_test(test_delayed_then_immediate_dedupes),
        cmocka_unit_test(test_events_before_timers),
        cmocka_unit_test(test_timers_not_starved),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_shutdown_wakes_waiters),
        cmocka_unit_test(test_one_worker_per_key),
        cmocka_unit_test(test_wait_idle_times_out),
        cmocka_unit_test(test_free_with_pending_items),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
