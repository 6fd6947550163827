/*
 * test_specdiff.c - spec diff classes (reference §1.2-1.3), table-driven.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "operator/controller/specdiff.h"

#include <stdio.h>
#include <string.h>

#define BASE                                                                                       \
    "\"image\":\"flink:1.20\",\"flinkVersion\":\"v1_20\",\"serviceAccount\":\"flink\","            \
    "\"jobManager\":{\"resource\":{\"memory\":\"2048m\",\"cpu\":1}},"                              \
    "\"taskManager\":{\"resource\":{\"memory\":\"2048m\",\"cpu\":1}}"

struct dcase {
    const char *name;
    const char *old_spec;
    const char *new_spec;
    bool standalone, reactive;
    const char *want;       /* aggregate class */
    const char *want_paths; /* comma-separated changed paths, in order */
};

static const struct dcase cases[] = {
    {"identical", "{" BASE "}", "{" BASE "}", false, false, "IGNORE", ""},
    {"image", "{" BASE "}", "{" BASE ",\"image\":\"flink:1.19\"}", false, false, "UPGRADE",
     "image"},
    {"null equals absent", "{" BASE ",\"ingress\":null}", "{" BASE "}", false, false, "IGNORE", ""},
    {"upgradeMode only", "{\"job\":{\"upgradeMode\":\"stateless\",\"parallelism\":2}}",
     "{\"job\":{\"upgradeMode\":\"savepoint\",\"parallelism\":2}}", false, false, "IGNORE",
     "job.upgradeMode"},
    {"savepoint nonce ignored", "{\"job\":{\"savepointTriggerNonce\":1}}",
     "{\"job\":{\"savepointTriggerNonce\":2}}", false, false, "IGNORE",
     "job.savepointTriggerNonce"},
    {"parallelism", "{\"job\":{\"parallelism\":2}}", "{\"job\":{\"parallelism\":4}}", true, false,
     "UPGRADE", "job.parallelism"},
    {"parallelism reactive", "{\"job\":{\"parallelism\":2}}", "{\"job\":{\"parallelism\":4}}", true,
     true, "SCALE", "job.parallelism"},
    {"tm replicas standalone", "{\"taskManager\":{\"replicas\":1}}",
     "{\"taskManager\":{\"replicas\":3}}", true, false, "SCALE", "taskManager.replicas"},
    {"tm replicas native", "{\"taskManager\":{\"replicas\":1}}",
     "{\"taskManager\":{\"replicas\":3}}", false, false, "UPGRADE", "taskManager.replicas"},
    {"tm replicas and memory",
     "{\"taskManager\":{\"replicas\":1,\"resource\":{\"memory\":\"1g\"}}}",
     "{\"taskManager\":{\"replicas\":3,\"resource\":{\"memory\":\"2g\"}}}", true, false, "UPGRADE",
     "taskManager.replicas,taskManager.resource"},
    {"redeploy nonce", "{\"job\":{\"savepointRedeployNonce\":1}}",
     "{\"job\":{\"savepointRedeployNonce\":2}}", false, false, "SAVEPOINT_REDEPLOY",
     "job.savepointRedeployNonce"},
    {"redeploy nonce to null", "{\"job\":{\"savepointRedeployNonce\":1}}",
     "{\"job\":{\"savepointRedeployNonce\":null}}", false, false, "IGNORE",
     "job.savepointRedeployNonce"},
    {"restart nonce", "{\"restartNonce\":1}", "{\"restartNonce\":2}", false, false, "UPGRADE",
     "restartNonce"},
    {"restart nonce removed", "{\"restartNonce\":1}", "{}", false, false, "IGNORE", "restartNonce"},
    {"operator keys ignored", "{\"flinkConfiguration\":{\"kubernetes.operator.x\":\"1\"}}",
     "{\"flinkConfiguration\":{\"kubernetes.operator.x\":\"2\",\"job.autoscaler.enabled\":\"true\","
     "\"parallelism.default\":\"3\"}}",
     false, false, "IGNORE",
     "flinkConfiguration.job.autoscaler.enabled,flinkConfiguration.kubernetes.operator.x,"
     "flinkConfiguration.parallelism.default"},
    {"flat vs nested equal", "{\"flinkConfiguration\":{\"taskmanager.numberOfTaskSlots\":\"2\"}}",
     "{\"flinkConfiguration\":{\"taskmanager\":{\"numberOfTaskSlots\":2}}}", false, false, "IGNORE",
     ""},
    {"config value change", "{\"flinkConfiguration\":{\"state.backend.type\":\"hashmap\"}}",
     "{\"flinkConfiguration\":{\"state\":{\"backend\":{\"type\":\"rocksdb\"}}}}", false, false,
     "UPGRADE", "flinkConfiguration.state.backend.type"},
    {"vertex overrides native", "{}",
     "{\"flinkConfiguration\":{\"pipeline.jobvertex-parallelism-overrides\":\"a:1\"}}", false,
     false, "SCALE", "flinkConfiguration.pipeline.jobvertex-parallelism-overrides"},
    {"session to application", "{" BASE "}", "{" BASE ",\"job\":{\"jarURI\":\"local:///x.jar\"}}",
     false, false, "UPGRADE", "job"},
    {"job state", "{\"job\":{\"state\":\"running\"}}", "{\"job\":{\"state\":\"suspended\"}}", false,
     false, "UPGRADE", "job.state"},
    {"from empty", NULL, "{\"image\":\"x\"}", false, false, "UPGRADE", "image"},
};

static void test_table(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct dcase *c = &cases[i];
        json_error_t e;
        json_t *o = c->old_spec ? json_loads(c->old_spec, 0, &e) : NULL;
        json_t *n = json_loads(c->new_spec, 0, &e);
        if ((c->old_spec && !o) || !n) {
            printf("case '%s': bad fixture: %s\n", c->name, e.text);
            failures++;
            continue;
        }
        struct specdiff_options opts = {.standalone = c->standalone, .reactive = c->reactive};
        json_t *changes = NULL;
        enum spec_diff d = specdiff_compute(o, n, &opts, &changes);
        char paths[1024] = "";
        size_t j;
        json_t *ch;
        json_array_foreach(changes, j, ch)
        {
            if (j)
                strcat(paths, ",");
            strcat(paths, json_string_value(json_object_get(ch, "path")));
        }
        if (strcmp(specdiff_name(d), c->want) != 0 || strcmp(paths, c->want_paths) != 0) {
            printf("case '%s': got %s [%s], want %s [%s]\n", c->name, specdiff_name(d), paths,
                   c->want, c->want_paths);
            failures++;
        }
        json_decref(changes);
        json_decref(o);
        json_decref(n);
    }
    assert_int_equal(failures, 0);
}

static void test_describe(void **state)
{
    (void)state;
    json_t *o = json_loads("{\"image\":\"flink:1.19\",\"job\":{\"parallelism\":2,"
                           "\"upgradeMode\":\"stateless\"}}",
                           0, NULL);
    json_t *n = json_loads("{\"image\":\"flink:1.20\",\"job\":{\"parallelism\":4,"
                           "\"upgradeMode\":\"savepoint\"}}",
                           0, NULL);
    json_t *changes;
    enum spec_diff d = specdiff_compute(o, n, NULL, &changes);
    char buf[256];
    specdiff_describe(d, changes, buf, sizeof(buf));
    assert_string_equal(buf, "UPGRADE change(s) detected (image: flink:1.19 -> flink:1.20, "
                             "job.parallelism: 2 -> 4)");
    char tiny[20];
    specdiff_describe(d, changes, tiny, sizeof(tiny));
    assert_true(strlen(tiny) < sizeof(tiny));
    json_decref(changes);
    json_decref(o);
    json_decref(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
