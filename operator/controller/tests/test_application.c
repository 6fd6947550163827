/*
 * test_application.c - the job lifecycle's steps that need no JobManager: what is written to
 * status before each irreversible step (the write-ahead log), and which cluster the status
 * says should exist. The steps that talk to a JobManager are covered end to end by
 * e2e/tests/lifecycle/test_lifecycle.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/json.h"
#include "operator/controller/application.h"

#include <string.h>

typedef struct writes {
    int n;
    json_t *last; /* a copy of the last status written */
    int fail_with;
} writes;

static int fake_write(void *ud, json_t *status, weir_error *err)
{
    writes *w = ud;
    if (w->fail_with)
        return weir_error_set(err, w->fail_with, "conflict");
    w->n++;
    json_decref(w->last);
    w->last = json_deep_copy(status);
    return 0;
}

static json_t *fd_with(const char *spec_json)
{
    json_t *spec = json_loads(spec_json, 0, NULL);
    assert_non_null(spec);
    return json_pack("{s:{s:s,s:s,s:i},s:o}", "metadata", "name", "app", "namespace", "ns",
                     "generation", 1, "spec", spec);
}

static application_env env_for(writes *w, config *conf, bool cluster)
{
    return (application_env){.rest = NULL,
                             .cluster_present = cluster,
                             .now_ms = 1000,
                             .progress_ms = 2000,
                             .reconcile_ms = 5000,
                             .conf = conf,
                             .write = fake_write,
                             .ud = w};
}

static void set_last(json_t *status, const char *spec_json, const char *state)
{
    char *doc = NULL;
    json_t *d =
        json_pack("{s:o,s:{s:s,s:b}}", "spec", json_loads(spec_json, 0, NULL), "resource_metadata",
                  "apiVersion", "flink.apache.org/v1beta1", "firstDeployment", 0);
    doc = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    json_object_set_new(status, "reconciliationStatus",
                        json_pack("{s:s,s:s}", "lastReconciledSpec", doc, "state", state));
    free(doc);
}

#define SPEC_SP                                                                                    \
    "{\"image\":\"i\",\"job\":{\"jarURI\":\"local:///j.sql\",\"parallelism\":2,"                   \
    "\"upgradeMode\":\"savepoint\",\"state\":\"running\"}}"

static void test_first_deploy_writes_job_id_before_deploying(void **state)
{
    (void)state;
    json_t *fd =
        fd_with("{\"image\":\"i\",\"job\":{\"jarURI\":\"local:///j.sql\","
                "\"upgradeMode\":\"savepoint\",\"initialSavepointPath\":\"file:///sp/1\"}}");
    json_t *status = json_object();
    writes w = {0};
    config *conf = config_new();
    application_env env = env_for(&w, conf, false);
    application_plan plan;
    weir_error err = {0};
    assert_int_equal(application_reconcile(fd, status, &env, &plan, &err), 0);
    assert_int_equal(w.n, 1);
    const char *jid = json_path_string(w.last, "jobStatus.jobId", "");
    assert_int_equal(strlen(jid), 32);
    assert_string_equal(json_path_string(w.last, "reconciliationStatus.state", ""), "UPGRADING");
    assert_string_equal(json_path_string(w.last, "jobStatus.upgradeSavepointPath", ""),
                        "file:///sp/1");
    assert_non_null(json_path_string(w.last, "reconciliationStatus.lastReconciledSpec", NULL));
    /* the cluster is built from what was written */
    assert_non_null(plan.deploy_spec);
    assert_true(plan.deployed);
    assert_string_equal(
        json_path_string(plan.deploy_spec, "flinkConfiguration[\"$internal.pipeline.job-id\"]", ""),
        jid);
    assert_string_equal(json_path_string(plan.deploy_spec, "job.initialSavepointPath", ""),
                        "file:///sp/1");
    json_decref(plan.deploy_spec);
    json_decref(w.last);
    json_decref(status);
    json_decref(fd);
    config_free(conf);
}

static void test_conflict_stops_before_deploying(void **state)
{
    (void)state;
    json_t *fd = fd_with(SPEC_SP);
    json_t *status = json_object();
    writes w = {.fail_with = WEIR_ECONFLICT};
    config *conf = config_new();
    application_env env = env_for(&w, conf, false);
    application_plan plan;
    weir_error err = {0};
    assert_int_equal(application_reconcile(fd, status, &env, &plan, &err), WEIR_ECONFLICT);
    assert_null(plan.deploy_spec); /* nothing deployed without its WAL record */
    json_decref(status);
    json_decref(fd);
    config_free(conf);
}

static void test_created_suspended_is_not_deployed(void **state)
{
    (void)state;
    json_t *fd = fd_with("{\"job\":{\"jarURI\":\"local:///j.sql\",\"state\":\"suspended\"}}");
    json_t *status = json_object();
    writes w = {0};
    config *conf = config_new();
    application_env env = env_for(&w, conf, false);
    application_plan plan;
    weir_error err = {0};
    assert_int_equal(application_reconcile(fd, status, &env, &plan, &err), 0);
    assert_int_equal(w.n, 0);
    assert_null(plan.deploy_spec);
    json_decref(status);
    json_decref(fd);
    config_free(conf);
}

/* W2 was written (deployed spec suspended): the old cluster must go before anything else. */
static void test_suspended_spec_waits_for_cluster_deletion(void **state)
{
    (void)state;
    json_t *fd = fd_with(SPEC_SP);
    json_t *status = json_pack("{s:{s:s,s:s,s:s}}", "jobStatus", "jobId", "old", "state",
                               "FINISHED", "upgradeSavepointPath", "file:///sp/2");
    set_last(status,
             "{\"image\":\"i\",\"job\":{\"jarURI\":\"local:///j.sql\",\"parallelism\":1,"
             "\"upgradeMode\":\"savepoint\",\"state\":\"suspended\"}}",
             "UPGRADING");
    writes w = {0};
    config *conf = config_new();
    application_env env = env_for(&w, conf, true);
    application_plan plan;
    weir_error err = {0};
    assert_int_equal(application_reconcile(fd, status, &env, &plan, &err), 0);
    assert_int_equal(w.n, 0);
    assert_null(plan.deploy_spec);
    assert_true(plan.requeue_ms > 0);

    /* the cluster is gone: W3 records a new job id, keeps the restore path, then deploys */
    env.cluster_present = false;
    assert_int_equal(application_reconcile(fd, status, &env, &plan, &err), 0);
    assert_int_equal(w.n, 1);
    const char *jid = json_path_string(w.last, "jobStatus.jobId", "");
    assert_int_equal(strlen(jid), 32);
    assert_string_equal(json_path_string(w.last, "jobStatus.upgradeSavepointPath", ""),
                        "file:///sp/2");
    assert_non_null(plan.deploy_spec);
    assert_string_equal(json_path_string(plan.deploy_spec, "job.initialSavepointPath", ""),
                        "file:///sp/2");
    assert_int_equal(json_path_int(plan.deploy_spec, "job.parallelism", 0), 2);
    json_decref(plan.deploy_spec);
    json_decref(w.last);
    json_decref(status);
    json_decref(fd);
    config_free(conf);
}

/* A stateless restore never uses an old savepoint. */
static void test_stateless_restore_starts_empty(void **state)
{
    (void)state;
    json_t *fd = fd_with("{\"image\":\"i\",\"job\":{\"jarURI\":\"local:///j.sql\","
                         "\"upgradeMode\":\"stateless\",\"state\":\"running\"}}");
    json_t *status = json_pack("{s:{s:s,s:s,s:s}}", "jobStatus", "jobId", "old", "state",
                               "FINISHED", "upgradeSavepointPath", "file:///sp/old");
    set_last(status,
             "{\"image\":\"i\",\"job\":{\"jarURI\":\"local:///j.sql\","
             "\"upgradeMode\":\"stateless\",\"state\":\"suspended\"}}",
             "UPGRADING");
    writes w = {0};
    config *conf = config_new();
    application_env env = env_for(&w, conf, false);
    application_plan plan;
    weir_error err = {0};
    assert_int_equal(application_reconcile(fd, status, &env, &plan, &err), 0);
    assert_int_equal(w.n, 1);
    assert_null(json_path_get(w.last, "jobStatus.upgradeSavepointPath"));
    assert_null(json_path_get(plan.deploy_spec, "job.initialSavepointPath"));
    json_decref(plan.deploy_spec);
    json_decref(w.last);
    json_decref(status);
    json_decref(fd);
    config_free(conf);
}

/* Suspended and the cluster gone: the suspended spec is deployed (and stable) without a JM. */
static void test_suspend_completes(void **state)
{
    (void)state;
    json_t *fd = fd_with("{\"image\":\"i\",\"job\":{\"jarURI\":\"local:///j.sql\","
                         "\"upgradeMode\":\"savepoint\",\"state\":\"suspended\"}}");
    json_t *status = json_pack("{s:{s:s,s:s}}", "jobStatus", "jobId", "old", "state", "FINISHED");
    set_last(status,
             "{\"image\":\"i\",\"job\":{\"jarURI\":\"local:///j.sql\","
             "\"upgradeMode\":\"savepoint\",\"state\":\"suspended\"}}",
             "UPGRADING");
    writes w = {0};
    config *conf = config_new();
    application_env env = env_for(&w, conf, false);
    application_plan plan;
    weir_error err = {0};
    assert_int_equal(application_reconcile(fd, status, &env, &plan, &err), 0);
    assert_null(plan.deploy_spec);
    assert_string_equal(json_path_string(status, "reconciliationStatus.state", ""), "DEPLOYED");
    assert_string_equal(json_path_string(status, "reconciliationStatus.lastStableSpec", "x"),
                        json_path_string(status, "reconciliationStatus.lastReconciledSpec", "y"));
    json_decref(status);
    json_decref(fd);
    config_free(conf);
}

/* A running job whose JobManager does not answer is not upgraded blindly: no WAL, no change. */
static void test_savepoint_upgrade_waits_for_the_jobmanager(void **state)
{
    (void)state;
    json_t *fd = fd_with(SPEC_SP);
    json_t *status = json_pack("{s:{s:s,s:s}}", "jobStatus", "jobId", "j1", "state", "RUNNING");
    set_last(status,
             "{\"image\":\"i\",\"job\":{\"jarURI\":\"local:///j.sql\",\"parallelism\":1,"
             "\"upgradeMode\":\"savepoint\",\"state\":\"running\"}}",
             "DEPLOYED");
    writes w = {0};
    config *conf = config_new();
    application_env env = env_for(&w, conf, true);
    application_plan plan;
    weir_error err = {0};
    assert_int_equal(application_reconcile(fd, status, &env, &plan, &err), 0);
    assert_int_equal(w.n, 0);
    assert_non_null(plan.deploy_spec); /* the running cluster stays as it was */
    assert_int_equal(json_path_int(plan.deploy_spec, "job.parallelism", 0), 1);
    json_decref(plan.deploy_spec);
    json_decref(status);
    json_decref(fd);
    config_free(conf);
}

static void set_stable(json_t *status, const char *spec_json)
{
    json_t *d =
        json_pack("{s:o,s:{s:s,s:b}}", "spec", json_loads(spec_json, 0, NULL), "resource_metadata",
                  "apiVersion", "flink.apache.org/v1beta1", "firstDeployment", 0);
    char *doc = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    json_object_set_new(json_object_get(status, "reconciliationStatus"), "lastStableSpec",
                        json_string(doc));
    free(doc);
}

#define SPEC_BROKEN                                                                                \
    "{\"image\":\"broken\",\"job\":{\"jarURI\":\"local:///j.sql\",\"parallelism\":2,"              \
    "\"upgradeMode\":\"savepoint\",\"state\":\"running\"}}"
#define SPEC_GOOD                                                                                  \
    "{\"image\":\"good\",\"job\":{\"jarURI\":\"local:///j.sql\",\"parallelism\":2,"                \
    "\"upgradeMode\":\"savepoint\",\"state\":\"running\"}}"

/* A deployment not running after the readiness timeout, with rollback enabled: ROLLING_BACK is
 * written first; once the broken cluster is gone the stable spec is deployed (ROLLED_BACK)
 * from the recorded savepoint, and lastReconciledSpec stays the user's spec. */
static void test_rollback(void **state)
{
    (void)state;
    json_t *fd = fd_with(SPEC_BROKEN);
    json_t *status = json_pack("{s:{s:s,s:s,s:s}}", "jobStatus", "jobId", "j2", "state",
                               "RECONCILING", "upgradeSavepointPath", "file:///sp/u");
    set_last(status, SPEC_BROKEN, "DEPLOYED");
    json_object_set_new(json_object_get(status, "reconciliationStatus"), "reconciliationTimestamp",
                        json_integer(0));
    set_stable(status, SPEC_GOOD);
    writes w = {0};
    config *conf = config_new();
    assert_int_equal(
        config_set(conf, "kubernetes.operator.deployment.rollback.enabled", "true", "t"), 0);
    assert_int_equal(
        config_set(conf, "kubernetes.operator.deployment.readiness.timeout", "500 ms", "t"), 0);
    application_env env = env_for(&w, conf, true);
    application_plan plan;
    weir_error err = {0};
    /* before the timeout: nothing */
    env.now_ms = 400;
    assert_int_equal(application_reconcile(fd, status, &env, &plan, &err), 0);
    assert_int_equal(w.n, 0);
    json_decref(plan.deploy_spec);
    env.now_ms = 1000;
    assert_int_equal(application_reconcile(fd, status, &env, &plan, &err), 0);
    assert_int_equal(w.n, 1);
    assert_string_equal(json_path_string(w.last, "reconciliationStatus.state", ""), "ROLLING_BACK");
    json_decref(plan.deploy_spec);
    /* the broken cluster is gone and the suspend recorded (as the JobManager never came up) */
    json_t *l = json_loads(SPEC_BROKEN, 0, NULL);
    (void)!json_path_set(l, "job.state", json_string("suspended"));
    char *ls = json_dumps(l, JSON_COMPACT);
    json_decref(l);
    set_last(status, ls, "ROLLING_BACK");
    free(ls);
    set_stable(status, SPEC_GOOD);
    env.cluster_present = false;
    assert_int_equal(application_reconcile(fd, status, &env, &plan, &err), 0);
    assert_non_null(plan.deploy_spec);
    assert_string_equal(json_path_string(plan.deploy_spec, "image", ""), "good");
    assert_string_equal(json_path_string(plan.deploy_spec, "job.initialSavepointPath", ""),
                        "file:///sp/u");
    assert_true(plan.deployed);
    assert_string_equal(plan.deployed_state, "ROLLED_BACK");
    json_t *ldoc = json_loads(
        json_path_string(w.last, "reconciliationStatus.lastReconciledSpec", ""), 0, NULL);
    assert_string_equal(json_path_string(ldoc, "spec.image", ""), "broken");
    json_decref(ldoc);
    json_decref(plan.deploy_spec);
    json_decref(w.last);
    json_decref(status);
    json_decref(fd);
    config_free(conf);
}

/* job.restart.failed: a FAILED job is taken down (W2: the deployed spec suspended, the latest
 * checkpoint kept as the restore path) so that it is resubmitted; without the key it stays. */
static void test_restart_failed(void **state)
{
    (void)state;
    for (int on = 0; on < 2; on++) {
        json_t *fd = fd_with(SPEC_SP);
        json_t *status = json_pack("{s:{s:s,s:s,s:s}}", "jobStatus", "jobId", "j1", "state",
                                   "FAILED", "upgradeSavepointPath", "file:///cp/j1/chk-7");
        set_last(status, SPEC_SP, "DEPLOYED");
        writes w = {0};
        config *conf = config_new();
        if (on)
            assert_int_equal(
                config_set(conf, "kubernetes.operator.job.restart.failed", "true", "t"), 0);
        application_env env = env_for(&w, conf, true);
        application_plan plan;
        weir_error err = {0};
        assert_int_equal(application_reconcile(fd, status, &env, &plan, &err), 0);
        if (on) {
            assert_int_equal(w.n, 1);
            json_t *l = json_loads(
                json_path_string(w.last, "reconciliationStatus.lastReconciledSpec", ""), 0, NULL);
            assert_string_equal(json_path_string(l, "spec.job.state", ""), "suspended");
            json_decref(l);
            assert_string_equal(json_path_string(w.last, "jobStatus.upgradeSavepointPath", ""),
                                "file:///cp/j1/chk-7");
            assert_null(plan.deploy_spec); /* the failed cluster goes */
        } else {
            assert_int_equal(w.n, 0);
            assert_non_null(plan.deploy_spec); /* left as it is */
        }
        json_decref(plan.deploy_spec);
        json_decref(w.last);
        json_decref(status);
        json_decref(fd);
        config_free(conf);
    }
}

/* Periodic snapshot intervals: a duration, a Quartz cron expression, 0 and unset (disabled),
 * and a value that is neither (an error naming the key). */
static void test_periodic_intervals(void **state)
{
    (void)state;
    const char *key = "kubernetes.operator.periodic.savepoint.interval";
    config *conf = config_new();
    long long next = 0;
    weir_error err = {0};
    assert_int_equal(application_periodic_next(conf, key, 5000, &next, &err), 0);
    assert_int_equal(next, -1);
    assert_int_equal(config_set(conf, key, "10 s", "t"), 0);
    assert_int_equal(application_periodic_next(conf, key, 5000, &next, &err), 0);
    assert_int_equal(next, 15000);
    assert_int_equal(config_set(conf, key, "0", "t"), 0);
    assert_int_equal(application_periodic_next(conf, key, 5000, &next, &err), 0);
    assert_int_equal(next, -1);
    assert_int_equal(config_set(conf, key, "0 0/15 * * * ?", "t"), 0);
    assert_int_equal(
        application_periodic_next(conf, key, 1000LL * 3600 * 24 * 365 + 61000, &next, &err), 0);
    assert_int_equal(next, 1000LL * 3600 * 24 * 365 + 15 * 60000);
    assert_int_equal(config_set(conf, key, "every hour", "t"), 0);
    assert_int_not_equal(application_periodic_next(conf, key, 0, &next, &err), 0);
    assert_non_null(strstr(err.msg, key));
    assert_non_null(strstr(err.msg, "neither a duration nor a Quartz cron"));
    config_free(conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_deploy_writes_job_id_before_deploying),
        cmocka_unit_test(test_conflict_stops_before_deploying),
        cmocka_unit_test(test_created_suspended_is_not_deployed),
        cmocka_unit_test(test_suspended_spec_waits_for_cluster_deletion),
        cmocka_unit_test(test_stateless_restore_starts_empty),
        cmocka_unit_test(test_suspend_completes),
        cmocka_unit_test(test_savepoint_upgrade_waits_for_the_jobmanager),
        cmocka_unit_test(test_rollback),
        cmocka_unit_test(test_restart_failed),
        cmocka_unit_test(test_periodic_intervals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
