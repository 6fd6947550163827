/*
 * test_children.c - the objects built for a FlinkDeployment: golden JSON per fixture (seed and
 * upstream manifests; regenerate with WEIR_UPDATE_GOLDEN=1 and review the diff), TaskManager
 * replica arithmetic, pod template merging by name, the effective Flink configuration, and an
 * invalid memory size reported with its field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/json.h"
#include "operator/controller/children.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN "operator/controller/tests/golden/"

static json_t *load(const char *path)
{
    json_error_t e;
    json_t *v = json_load_file(path, 0, &e);
    if (!v)
        fail_msg("%s: %s", path, e.text);
    return v;
}

static void check_golden(const char *name)
{
    char in[256], gold[256];
    snprintf(in, sizeof(in), GOLDEN "%s.input.json", name);
    snprintf(gold, sizeof(gold), GOLDEN "%s.golden.json", name);
    json_t *fd = load(in);
    config *defaults = config_new();
    assert_int_equal(config_set(defaults, "taskmanager.numberOfTaskSlots", "1", "operator"), 0);
    assert_int_equal(config_set(defaults, "parallelism.default", "1", "operator"), 0);
    json_t *objs = NULL;
    weir_error err = {0};
    int rc = children_build(fd, defaults, &objs, &err);
    if (rc)
        fail_msg("%s: %s", name, err.msg);
    const char *update = getenv("WEIR_UPDATE_GOLDEN");
    if (update && *update == '1') {
        char *s = json_dump_pretty(objs);
        FILE *f = fopen(gold, "w");
        fputs(s, f);
        fclose(f);
        free(s);
    }
    json_t *want = load(gold);
    if (!json_equal(objs, want)) {
        char *got = json_dump_pretty(objs);
        fprintf(stderr, "%s differs from %s; got:\n%s\n", name, gold, got);
        free(got);
        fail();
    }
    json_decref(want);
    json_decref(objs);
    json_decref(fd);
    config_free(defaults);
}

static void test_golden_seed_application(void **state)
{
    (void)state;
    check_golden("fraud-detector");
}

static void test_golden_seed_sessions(void **state)
{
    (void)state;
    check_golden("flink-session");
    check_golden("titan-flink");
}

static void test_golden_weir_and_upstream(void **state)
{
    (void)state;
    check_golden("sensor-aggregation");
    check_golden("flink-example-statemachine");
}

static json_t *fd_with(const char *spec_json)
{
    json_error_t e;
    json_t *spec = json_loads(spec_json, 0, &e);
    if (!spec)
        fail_msg("bad JSON: %s", e.text);
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:i},s:o}", "apiVersion", "flink.apache.org/v1beta1",
                     "kind", "FlinkDeployment", "metadata", "name", "app", "namespace", "ns", "uid",
                     "u-1", "generation", 1, "spec", spec);
}

static const json_t *find(const json_t *objs, const char *kind, const char *name)
{
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o)
    {
        if (strcmp(json_path_string(o, "kind", ""), kind) == 0 &&
            strcmp(json_path_string(o, "metadata.name", ""), name) == 0)
            return o;
    }
    return NULL;
}

static void test_tm_replicas(void **state)
{
    (void)state;
    config *c = config_new();
    assert_int_equal(config_set(c, "taskmanager.numberOfTaskSlots", "4", NULL), 0);
    json_t *fd = fd_with("{\"job\":{\"parallelism\":10}}");
    assert_int_equal(children_tm_replicas(fd, c), 3);
    json_decref(fd);
    fd = fd_with("{\"job\":{\"parallelism\":8},\"taskManager\":{\"replicas\":5}}");
    assert_int_equal(children_tm_replicas(fd, c), 5);
    json_decref(fd);
    fd = fd_with("{}");
    assert_int_equal(children_tm_replicas(fd, c), 1);
    json_decref(fd);
    config_free(c);
}

static void test_pod_template_merge(void **state)
{
    (void)state;
    json_t *base = json_loads(
        "{\"metadata\":{\"labels\":{\"a\":\"1\"}},\"spec\":{\"containers\":[{\"name\":\"flink-main-"
        "container\",\"env\":[{\"name\":\"X\",\"value\":\"base\"}]},{\"name\":\"sidecar\","
        "\"image\":\"s:1\"}],\"volumes\":[{\"name\":\"v1\",\"emptyDir\":{}}],\"tolerations\":"
        "[{\"key\":\"k\"}]}}",
        0, NULL);
    json_t *over = json_loads(
        "{\"metadata\":{\"labels\":{\"b\":\"2\"}},\"spec\":{\"containers\":[{\"name\":\"flink-main-"
        "container\",\"env\":[{\"name\":\"X\",\"value\":\"jm\"},{\"name\":\"Y\",\"value\":\"y\"}]}"
        "],\"volumes\":[{\"name\":\"v2\",\"emptyDir\":{}}],\"tolerations\":[{\"key\":\"j\"}]}}",
        0, NULL);
    json_t *m = children_merge_pod_template(base, over);
    char *s = json_dump_stable(m);
    assert_string_equal(
        s,
        "{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}},\"spec\":{\"containers\":[{\"env\":"
        "[{\"name\":\"X\",\"value\":\"jm\"},{\"name\":\"Y\",\"value\":\"y\"}],\"name\":\"flink-"
        "main-container\"},{\"image\":\"s:1\",\"name\":\"sidecar\"}],\"tolerations\":[{\"key\":"
        "\"j\"}],\"volumes\":[{\"emptyDir\":{},\"name\":\"v1\"},{\"emptyDir\":{},\"name\":"
        "\"v2\"}]}}");
    free(s);
    json_decref(m);
    m = children_merge_pod_template(NULL, NULL);
    assert_true(json_is_object(m) && json_object_size(m) == 0);
    json_decref(m);
    json_decref(base);
    json_decref(over);
}

static void test_flink_config_and_objects(void **state)
{
    (void)state;
    json_t *fd = fd_with(
        "{\"image\":\"weir/runtime:dev\",\"flinkVersion\":\"v1_18\",\"serviceAccount\":\"flink\","
        "\"flinkConfiguration\":{\"state\":{\"checkpoints.dir\":\"file:///cp\"},"
        "\"taskmanager.numberOfTaskSlots\":2,\"kubernetes.operator.periodic.savepoint.interval\":"
        "\"1h\",\"high-availability\":{\"type\":\"kubernetes\"},\"pipeline.jars\":[\"a\",\"b\"]},"
        "\"jobManager\":{\"resource\":{\"memory\":\"1g\",\"cpu\":0.5}},"
        "\"taskManager\":{\"resource\":{\"memory\":\"2Gi\",\"cpu\":1}},"
        "\"job\":{\"jarURI\":\"local:///opt/flink/usrlib/job.sql\",\"parallelism\":3,"
        "\"upgradeMode\":\"last-state\",\"initialSavepointPath\":\"file:///sp/1\","
        "\"allowNonRestoredState\":true,\"args\":[\"--x\"]},"
        "\"ingress\":{\"template\":\"/{{namespace}}/{{name}}(/|$)(.*)\",\"className\":\"nginx\"}}");
    config *flink = NULL;
    weir_error err = {0};
    assert_int_equal(children_flink_config(fd, NULL, &flink, &err), 0);
    assert_string_equal(config_get(flink, "state.checkpoints.dir"), "file:///cp");
    assert_string_equal(config_get(flink, "taskmanager.numberOfTaskSlots"), "2");
    assert_false(config_has(flink, "kubernetes.operator.periodic.savepoint.interval"));
    assert_string_equal(config_get(flink, "jobmanager.memory.process.size"), "1073741824");
    assert_string_equal(config_get(flink, "taskmanager.memory.process.size"), "2147483648");
    assert_string_equal(config_get(flink, "kubernetes.jobmanager.cpu"), "0.5");
    assert_string_equal(config_get(flink, "parallelism.default"), "3");
    assert_string_equal(config_get(flink, "pipeline.jars"), "local:///opt/flink/usrlib/job.sql");
    assert_string_equal(config_get(flink, "execution.checkpointing.interval"), "5 min");
    assert_string_equal(config_get(flink, "high-availability.cluster-id"), "app");
    assert_string_equal(config_get(flink, "kubernetes.cluster-id"), "app");
    assert_string_equal(config_get(flink, "kubernetes.namespace"), "ns");
    assert_string_equal(config_get(flink, "jobmanager.rpc.address"), "app");
    assert_string_equal(config_get(flink, "execution.savepoint.ignore-unclaimed-state"), "true");
    config_free(flink);

    json_t *objs = NULL;
    assert_int_equal(children_build(fd, NULL, &objs, &err), 0);
    assert_int_equal(json_array_size(objs), 6);
    const json_t *cm = find(objs, "ConfigMap", "flink-config-app");
    assert_non_null(cm);
    /* Flink 1.18 reads flink-conf.yaml */
    const char *conf = json_path_string(cm, "data[\"flink-conf.yaml\"]", NULL);
    assert_non_null(conf);
    assert_non_null(strstr(conf, "state.checkpoints.dir: \"file:///cp\"\n"));
    const json_t *jm = find(objs, "Deployment", "app");
    char *args = json_dump_stable(json_path_get(jm, "spec.template.spec.containers[0].args"));
    assert_string_equal(args, "[\"standalone-job\",\"--fromSavepoint\",\"file:///sp/1\","
                              "\"--allowNonRestoredState\",\"--x\"]");
    free(args);
    assert_string_equal(json_path_string(jm, "spec.template.spec.serviceAccountName", ""), "flink");
    assert_string_equal(json_path_string(jm, "metadata.ownerReferences[0].uid", ""), "u-1");
    assert_true(json_is_true(json_path_get(jm, "metadata.ownerReferences[0].controller")));
    const json_t *tm = find(objs, "Deployment", "app-taskmanager");
    assert_int_equal(json_path_int(tm, "spec.replicas", 0), 2); /* ceil(3 / 2) */
    assert_string_equal(
        json_path_string(tm, "spec.template.spec.containers[0].resources.requests.memory", ""),
        "2048Mi");
    const json_t *ing = find(objs, "Ingress", "app");
    assert_string_equal(json_path_string(ing, "spec.rules[0].http.paths[0].path", ""),
                        "/ns/app(/|$)(.*)");
    assert_null(json_path_get(ing, "spec.rules[0].host"));
    assert_non_null(find(objs, "Service", "app"));
    assert_non_null(find(objs, "Service", "app-rest"));
    json_decref(objs);
    json_decref(fd);

    fd = fd_with("{\"jobManager\":{\"resource\":{\"memory\":\"plenty\"}}}");
    assert_int_equal(children_build(fd, NULL, &objs, &err), WEIR_EINVAL);
    assert_string_equal(err.msg, "spec.jobManager.resource.memory: 'plenty' is not a memory size");
    json_decref(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_seed_application),
        cmocka_unit_test(test_golden_seed_sessions),
        cmocka_unit_test(test_golden_weir_and_upstream),
        cmocka_unit_test(test_tm_replicas),
        cmocka_unit_test(test_pod_template_merge),
        cmocka_unit_test(test_flink_config_and_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
