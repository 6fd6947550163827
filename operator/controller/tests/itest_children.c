/*
 * itest_children.c - the objects children_build() makes are accepted by the real apiserver
 * (server-side apply with the operator's field manager), and applying them again is a no-op
 * (resourceVersion unchanged): an unchanged spec costs no writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/json.h"
#include "lib/kube/client.h"
#include "operator/controller/children.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const kube_resource RES_INGRESSES = {"networking.k8s.io", "v1", "ingresses", true};

static const kube_resource *resource_of(const json_t *o)
{
    const char *kind = json_path_string(o, "kind", "");
    if (strcmp(kind, "ConfigMap") == 0)
        return &KUBE_RES_CONFIGMAPS;
    if (strcmp(kind, "Service") == 0)
        return &KUBE_RES_SERVICES;
    if (strcmp(kind, "Deployment") == 0)
        return &KUBE_RES_DEPLOYMENTS;
    if (strcmp(kind, "Ingress") == 0)
        return &RES_INGRESSES;
    return NULL;
}

static void apply_fixture(kube_client *kc, const char *name, const char *ns)
{
    char path[256];
    snprintf(path, sizeof(path), "operator/controller/tests/golden/%s.input.json", name);
    json_t *fd = json_load_file(path, 0, NULL);
    assert_non_null(fd);
    json_object_set_new(json_object_get(fd, "metadata"), "namespace", json_string(ns));
    json_t *objs = NULL;
    weir_error err = {0};
    assert_int_equal(children_build(fd, NULL, &objs, &err), 0);
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o)
    {
        const kube_resource *r = resource_of(o);
        assert_non_null(r);
        json_t *first = NULL, *second = NULL;
        int rc = kube_apply(kc, r, ns, o, CHILDREN_FIELD_MANAGER, true, &first, &err);
        if (rc)
            fail_msg("%s %s: %s", json_path_string(o, "kind", ""),
                     json_path_string(o, "metadata.name", ""), err.msg);
        assert_int_equal(kube_apply(kc, r, ns, o, CHILDREN_FIELD_MANAGER, true, &second, &err), 0);
        assert_string_equal(json_path_string(first, "metadata.resourceVersion", "a"),
                            json_path_string(second, "metadata.resourceVersion", "b"));
        json_decref(first);
        json_decref(second);
    }
    json_decref(objs);
    json_decref(fd);
}

static void test_children_apply_and_reapply_without_writes(void **state)
{
    (void)state;
    kube_config *cfg = NULL;
    weir_error err = {0};
    assert_int_equal(kube_config_load_default(&cfg, &err), 0);
    kube_client *kc = kube_client_new(cfg, &err);
    kube_config_free(cfg);
    assert_non_null(kc);
    char ns[64];
    snprintf(ns, sizeof(ns), "weir-itest-children-%d", (int)getpid());
    json_t *nso = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                            "metadata", "name", ns);
    assert_int_equal(kube_create(kc, &KUBE_RES_NAMESPACES, NULL, nso, NULL, &err), 0);
    json_decref(nso);
    const char *fixtures[] = {"fraud-detector", "flink-session", "titan-flink",
                              "sensor-aggregation", "flink-example-statemachine"};
    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
        apply_fixture(kc, fixtures[i], ns);
    (void)!kube_delete(kc, &KUBE_RES_NAMESPACES, NULL, ns, NULL, NULL);
    kube_client_free(kc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_children_apply_and_reapply_without_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
