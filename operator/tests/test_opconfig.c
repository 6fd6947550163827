/*
 * test_opconfig.c - the operator configuration: upstream defaults, file values, deprecated key
 * names, -D overrides, WATCH_NAMESPACES, the default Flink configuration, and errors naming
 * the key and its position.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "operator/opconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[] = "/tmp/weir-opconfig-XXXXXX";

static const char *write_conf(const char *text)
{
    static char p[64];
    snprintf(p, sizeof(p), "%s/config.yaml", path);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    return p;
}

static void test_defaults(void **state)
{
    (void)state;
    unsetenv("WATCH_NAMESPACES");
    opconfig o;
    weir_error err = {0};
    assert_int_equal(opconfig_load(&o, NULL, NULL, &err), 0);
    assert_int_equal(o.reconcile_interval_ms, 60000);
    assert_int_equal(o.reconcile_parallelism, 16);
    assert_int_equal(o.progress_check_interval_ms, 10000);
    assert_int_equal(o.rest_ready_delay_ms, 10000);
    assert_int_equal(o.health_port, 8085);
    assert_false(o.leader_election);
    assert_int_equal(o.lease_duration_ms, 15000);
    assert_int_equal(o.renew_deadline_ms, 10000);
    assert_int_equal(o.retry_period_ms, 2000);
    assert_int_equal(o.n_namespaces, 0);
    assert_true(opconfig_watches(&o, "anything"));
    assert_non_null(o.identity);
    assert_int_equal(config_len(o.flink_defaults), 0);
    opconfig_clear(&o);
}

static void test_file_dynamic_env(void **state)
{
    (void)state;
    const char *p = write_conf("kubernetes.operator:\n"
                               "  reconcile.interval: 15 s\n"
                               "  observer.progress-check.interval: 5 s\n"
                               "  leader-election.enabled: true\n"
                               "  leader-election.lease-name: weir-lease\n"
                               "  watched.namespaces: a, b\n"
                               "kubernetes.operator.reconciler.max.parallelism: 7\n"
                               "taskmanager.numberOfTaskSlots: 1\n"
                               "parallelism.default: 1\n");
    config *dyn = config_new();
    assert_int_equal(config_set(dyn, "kubernetes.operator.health.probe.port", "9085", "-D"), 0);
    unsetenv("WATCH_NAMESPACES");
    opconfig o;
    weir_error err = {0};
    assert_int_equal(opconfig_load(&o, p, dyn, &err), 0);
    assert_int_equal(o.reconcile_interval_ms, 15000);
    assert_int_equal(o.progress_check_interval_ms, 5000);
    assert_int_equal(o.reconcile_parallelism, 7); /* deprecated key still read */
    assert_true(o.leader_election);
    assert_string_equal(o.lease_name, "weir-lease");
    assert_int_equal(o.health_port, 9085);
    assert_int_equal(o.n_namespaces, 2);
    assert_true(opconfig_watches(&o, "b"));
    assert_false(opconfig_watches(&o, "c"));
    assert_int_equal(config_len(o.flink_defaults), 2);
    assert_string_equal(config_get(o.flink_defaults, "parallelism.default"), "1");
    opconfig_clear(&o);

    setenv("WATCH_NAMESPACES", "x,y,z", 1);
    assert_int_equal(opconfig_load(&o, p, NULL, &err), 0);
    assert_int_equal(o.n_namespaces, 3);
    assert_true(opconfig_watches(&o, "z"));
    assert_false(opconfig_watches(&o, "a"));
    opconfig_clear(&o);
    unsetenv("WATCH_NAMESPACES");
    config_free(dyn);
}

static void test_errors(void **state)
{
    (void)state;
    opconfig o;
    weir_error err = {0};
    const char *p = write_conf("kubernetes.operator.reconcile.interval: 15 parsecs\n");
    assert_int_equal(opconfig_load(&o, p, NULL, &err), WEIR_EUNIT);
    assert_non_null(
        strstr(err.msg, "config.yaml:1:41: key 'kubernetes.operator.reconcile.interval'"));
    p = write_conf("kubernetes.operator.leader-election.enabled: true\n");
    assert_int_equal(opconfig_load(&o, p, NULL, &err), WEIR_EINVAL);
    assert_non_null(strstr(err.msg, "lease-name' is required"));
    p = write_conf("kubernetes.operator.health.probe.port: 70000\n");
    assert_int_equal(opconfig_load(&o, p, NULL, &err), WEIR_ERANGE);
    assert_non_null(strstr(err.msg, "port 70000 is out of range"));
    p = write_conf("kubernetes.operator.reconcile.parallelism: 0\n");
    assert_int_equal(opconfig_load(&o, p, NULL, &err), WEIR_ERANGE);
    p = write_conf("kubernetes.operator.leader-election.renew-deadline: 20 s\n");
    assert_int_equal(opconfig_load(&o, p, NULL, &err), WEIR_EINVAL);
    p = write_conf("a: [\n");
    assert_int_equal(opconfig_load(&o, p, NULL, &err), WEIR_EPARSE);
    assert_int_equal(opconfig_load(&o, "/nonexistent/config.yaml", NULL, &err), WEIR_ENOTFOUND);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(path) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", path);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_defaults_per_namespace_and_version(void **state)
{
    (void)state;
    unsetenv("WATCH_NAMESPACES");
    const char *p = write_conf(
        "taskmanager.numberOfTaskSlots: 1\n"
        "parallelism.default: 1\n"
        "kubernetes.operator.default-configuration.namespace.team-a.parallelism.default: 3\n"
        "kubernetes.operator.default-configuration.namespace.team-a."
        "taskmanager.numberOfTaskSlots: 4\n"
        "kubernetes.operator.default-configuration.flink-version.v1_19+."
        "taskmanager.numberOfTaskSlots: 8\n"
        "kubernetes.operator.default-configuration.flink-version.v1_18.state.backend.type: "
        "rocksdb\n");
    opconfig o;
    weir_error err = {0};
    assert_int_equal(opconfig_load(&o, p, NULL, &err), 0);
    config *d = opconfig_defaults_for(&o, "team-a", "v1_20");
    assert_string_equal(config_get(d, "parallelism.default"), "3");           /* namespace */
    assert_string_equal(config_get(d, "taskmanager.numberOfTaskSlots"), "8"); /* version wins */
    assert_null(config_get(d, "state.backend.type"));                         /* v1_18 only */
    config_free(d);
    d = opconfig_defaults_for(&o, "team-b", "v1_18");
    assert_string_equal(config_get(d, "parallelism.default"), "1");
    assert_string_equal(config_get(d, "taskmanager.numberOfTaskSlots"), "1");
    assert_string_equal(config_get(d, "state.backend.type"), "rocksdb");
    config_free(d);
    d = opconfig_defaults_for(&o, "team-a", NULL);
    assert_string_equal(config_get(d, "taskmanager.numberOfTaskSlots"), "4");
    config_free(d);
    /* the overlay keys themselves are not Flink configuration */
    assert_null(config_get(o.flink_defaults, "default-configuration.namespace.team-a.parallelism"
                                             ".default"));
    opconfig_clear(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_file_dynamic_env),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_defaults_per_namespace_and_version),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
