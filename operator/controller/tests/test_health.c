/*
 * test_health.c - the cluster health check's arithmetic (operator/controller/health.c):
 * restarts over the threshold within the window, restarts spread over a longer time, a job
 * whose restart count went down (a new job), checkpoint progress and its window derived from
 * the checkpoint interval and timeout, and the state kept in clusterInfo.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "operator/controller/health.h"

#include <string.h>

static config *conf_with(const char *const *kv)
{
    config *c = config_new();
    for (; kv && kv[0]; kv += 2)
        assert_int_equal(config_set(c, kv[0], kv[1], "test"), 0);
    return c;
}

static bool eval(config *c, json_t *ci, long long ts, long long restarts, long long cps)
{
    health_obs o = {.ts = ts, .num_restarts = restarts, .num_completed_checkpoints = cps};
    return health_evaluate(c, ci, &o, ts);
}

static void test_restarts(void **state)
{
    (void)state;
    const char *kv[] = {"kubernetes.operator.cluster.health-check.restarts.threshold", "5",
                        "kubernetes.operator.cluster.health-check.restarts.window", "1 min", NULL};
    config *c = conf_with(kv);
    json_t *ci = json_object();
    assert_true(eval(c, ci, 1000, 0, 0)); /* the first observation only records */
    assert_non_null(json_object_get(ci, HEALTH_INFO_KEY));
    assert_true(eval(c, ci, 11000, 5, 0));  /* 5 restarts in 10 s: at the threshold */
    assert_false(eval(c, ci, 21000, 6, 0)); /* 6 within the window: over it */
    assert_false(health_is_healthy(ci));
    health_forget(ci);
    assert_true(health_is_healthy(ci));
    assert_null(json_object_get(ci, HEALTH_INFO_KEY));

    /* 20 restarts spread over 10 minutes scale down to 2 per 1-minute window */
    json_t *ci2 = json_object();
    assert_true(eval(c, ci2, 1000, 100, 0));
    assert_true(eval(c, ci2, 1000 + 600000, 120, 0));
    /* a restart count that went down is a new job: counting starts again */
    assert_true(eval(c, ci2, 1000 + 601000, 1, 0));
    assert_true(eval(c, ci2, 1000 + 602000, 6, 0));
    assert_false(eval(c, ci2, 1000 + 603000, 7, 0));
    json_decref(ci);
    json_decref(ci2);
    config_free(c);
}

static void test_checkpoint_progress(void **state)
{
    (void)state;
    /* window = max(interval, timeout) * (tolerable + 2) = 3 s * 2 = 6 s */
    const char *kv[] = {"execution.checkpointing.interval", "1 s",
                        "execution.checkpointing.timeout", "3 s", NULL};
    config *c = conf_with(kv);
    json_t *ci = json_object();
    assert_true(eval(c, ci, 1000, 0, 0));
    assert_true(eval(c, ci, 4000, 0, 2));   /* progress */
    assert_true(eval(c, ci, 9000, 0, 2));   /* 5 s without: inside the window */
    assert_false(eval(c, ci, 10500, 0, 2)); /* 6.5 s without */
    assert_true(eval(c, ci, 11000, 0, 3));  /* progress again */
    json_decref(ci);
    config_free(c);

    /* a configured window shorter than the derived minimum is raised to it */
    const char *kv2[] = {"execution.checkpointing.interval",
                         "1 s",
                         "execution.checkpointing.timeout",
                         "3 s",
                         "kubernetes.operator.cluster.health-check.checkpoint-progress.window",
                         "1 s",
                         NULL};
    c = conf_with(kv2);
    ci = json_object();
    assert_true(eval(c, ci, 1000, 0, 1));
    assert_true(eval(c, ci, 5000, 0, 1));
    json_decref(ci);
    config_free(c);

    /* no checkpointing and no window: progress is not checked */
    c = conf_with(NULL);
    ci = json_object();
    assert_true(eval(c, ci, 1000, 0, 0));
    assert_true(eval(c, ci, 100000000, 0, 0));
    json_decref(ci);
    config_free(c);

    /* checkpoint-progress.enabled: false */
    const char *kv3[] = {"execution.checkpointing.interval", "1 s",
                         "kubernetes.operator.cluster.health-check.checkpoint-progress.enabled",
                         "false", NULL};
    c = conf_with(kv3);
    ci = json_object();
    assert_true(eval(c, ci, 1000, 0, 0));
    assert_true(eval(c, ci, 100000000, 0, 0));
    json_decref(ci);
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restarts),
        cmocka_unit_test(test_checkpoint_progress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
