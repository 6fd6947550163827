/*
 * test_trim.c - what the child caches keep of a child (deployment_trim_child) and the check
 * that lets a restarted operator trust a child it applied before: our applied-hash annotation
 * and whether anyone else wrote the child after our last apply (deployment_edited_by_others).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/json.h"
#include "operator/controller/children.h"
#include "operator/controller/deployment.h"

static json_t *mf(const char *entries)
{
    json_error_t e;
    json_t *j = json_loads(entries, 0, &e);
    if (!j)
        fail_msg("bad fixture: %s", e.text);
    return j;
}

static void test_edited_by_others(void **state)
{
    (void)state;
    struct {
        const char *fields;
        bool edited;
    } cases[] = {
        /* only us */
        {"[{\"manager\":\"weir-operator\",\"operation\":\"Apply\",\"time\":\"2026-11-23T10:00:"
         "00Z\"}]",
         false},
        /* the Deployment controller: its status and its revision annotation do not count */
        {"[{\"manager\":\"weir-operator\",\"operation\":\"Apply\",\"time\":\"2026-11-23T10:00:"
         "00Z\"},"
         "{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\","
         "\"time\":\"2026-11-23T10:00:01Z\"},"
         "{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\",\"subresource\":"
         "\"status\",\"time\":\"2026-11-23T10:05:00Z\"}]",
         false},
        /* kubectl edit after our apply */
        {"[{\"manager\":\"weir-operator\",\"operation\":\"Apply\",\"time\":\"2026-11-23T10:00:"
         "00Z\"},"
         "{\"manager\":\"kubectl-edit\",\"operation\":\"Update\",\"time\":\"2026-11-23T10:07:00Z\"}"
         "]",
         true},
        /* in the same second counts */
        {"[{\"manager\":\"kubectl-patch\",\"operation\":\"Update\",\"time\":\"2026-11-23T10:00:"
         "00Z\"},"
         "{\"manager\":\"weir-operator\",\"operation\":\"Apply\",\"time\":\"2026-11-23T10:00:00Z\"}"
         "]",
         true},
        /* an edit before our last apply was overwritten by it */
        {"[{\"manager\":\"kubectl-patch\",\"operation\":\"Update\",\"time\":\"2026-11-23T09:00:"
         "00Z\"},"
         "{\"manager\":\"weir-operator\",\"operation\":\"Apply\",\"time\":\"2026-11-23T10:00:00Z\"}"
         "]",
         false},
        /* kubectl scale: the scale subresource counts */
        {"[{\"manager\":\"weir-operator\",\"operation\":\"Apply\",\"time\":\"2026-11-23T10:00:"
         "00Z\"},"
         "{\"manager\":\"kubectl\",\"operation\":\"Update\",\"subresource\":\"scale\","
         "\"time\":\"2026-11-23T11:00:00Z\"}]",
         true},
        /* not applied by us (created by someone else, or an Update under our name) */
        {"[{\"manager\":\"weir-operator\",\"operation\":\"Update\",\"time\":\"2026-11-23T10:00:"
         "00Z\"}]",
         true},
        {"[]", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = mf(cases[i].fields);
        if (deployment_edited_by_others(j) != cases[i].edited)
            fail_msg("case %zu: want %s", i, cases[i].edited ? "edited" : "not edited");
        json_decref(j);
    }
    assert_true(deployment_edited_by_others(NULL));
}

static void test_trim_keeps_hash(void **state)
{
    (void)state;
    json_t *d =
        mf("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"
           "\"name\":\"fd\",\"namespace\":\"ns\",\"resourceVersion\":\"7\",\"generation\":2,"
           "\"labels\":{\"app\":\"fd\",\"component\":\"jobmanager\",\"other\":\"x\"},"
           "\"annotations\":{\"operator.weir.dev/applied-hash\":\"00ff\",\"big\":\"y\"},"
           "\"managedFields\":[{\"manager\":\"weir-operator\",\"operation\":\"Apply\","
           "\"time\":\"2026-11-23T10:00:00Z\"},{\"manager\":\"kubectl-edit\","
           "\"operation\":\"Update\",\"time\":\"2026-11-23T10:01:00Z\"}]},"
           "\"spec\":{\"replicas\":1,\"template\":{}}}");
    json_t *t = deployment_trim_child(d);
    assert_string_equal(
        json_path_string(t, "metadata.annotations[\"" CHILDREN_HASH_ANNOTATION "\"]", ""), "00ff");
    assert_null(json_path_get(t, "metadata.annotations.big"));
    assert_null(json_path_get(t, "metadata.managedFields"));
    assert_null(json_path_get(t, "metadata.labels.other"));
    assert_true(json_is_true(json_path_get(t, "metadata.weirEditedByOthers")));
    json_decref(t);
    /* without the kubectl edit: no mark */
    json_array_remove(json_path_get(d, "metadata.managedFields"), 1);
    t = deployment_trim_child(d);
    assert_null(json_path_get(t, "metadata.weirEditedByOthers"));
    json_decref(t);
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edited_by_others),
        cmocka_unit_test(test_trim_keeps_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
