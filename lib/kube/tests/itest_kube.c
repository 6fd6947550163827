/*
 * itest_kube.c - lib/kube against the real local kube-apiserver (KUBECONFIG from
 * e2e/cluster/up.sh): ConfigMap create/get/merge-patch/JSON-patch/server-side apply/update
 * with a stale resourceVersion/delete, a watch that sees ADDED, MODIFIED and DELETED in order,
 * paginated lists, the status subresource, Status errors, and a watch cut by an apiserver
 * restart (e2e/cluster/restart-apiserver.sh), which must be reported, not hang.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/kube/client.h"

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
    if (!kc) {
        fprintf(stderr, "client: %s\n", err.msg);
        return -1;
    }
    snprintf(ns, sizeof(ns), "weir-itest-kube-%d", (int)getpid());
    json_t *nsobj = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                              "metadata", "name", ns);
    int rc = kube_create(kc, &KUBE_RES_NAMESPACES, NULL, nsobj, NULL, &err);
    json_decref(nsobj);
    if (rc) {
        fprintf(stderr, "create namespace: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    weir_error err = {0};
    kube_delete_opts o = {.propagation = "Background", .grace_period_seconds = -1};
    (void)!kube_delete(kc, &KUBE_RES_NAMESPACES, NULL, ns, &o, &err);
    kube_client_free(kc);
    return 0;
}

/* --- a watch running in a thread, recording events ---------------------------------------- */

struct watcher {
    pthread_t t;
    char rv[64];
    char log[4096];
    int n;
    int rc;
    weir_error err;
    atomic_bool cancel;
    atomic_int done;
    const char *field_selector;
    long timeout_seconds;
    pthread_mutex_t mu;
};

static int on_event(kube_watch_type type, json_t *obj, void *ud)
{
    struct watcher *w = ud;
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    const char *b = json_string_value(json_object_get(json_object_get(obj, "data"), "b"));
    pthread_mutex_lock(&w->mu);
    size_t l = strlen(w->log);
    if (type != KUBE_WATCH_BOOKMARK) {
        snprintf(w->log + l, sizeof(w->log) - l, "%s:%s:%s;", kube_watch_type_name(type),
                 name ? name : "-", b ? b : "-");
        w->n++;
    }
    pthread_mutex_unlock(&w->mu);
    return 0;
}

static void *watch_main(void *arg)
{
    struct watcher *w = arg;
    kube_watch_opts o = {.resource_version = w->rv[0] ? w->rv : NULL,
                         .field_selector = w->field_selector,
                         .allow_bookmarks = true,
                         .timeout_seconds = w->timeout_seconds,
                         .cancel = &w->cancel};
    w->rc =
        kube_watch(kc, &KUBE_RES_CONFIGMAPS, ns, &o, on_event, w, w->rv, sizeof(w->rv), &w->err);
    atomic_store(&w->done, 1);
    return NULL;
}

static void watcher_start(struct watcher *w, const char *rv, const char *field_selector,
                          long timeout_seconds)
{
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    snprintf(w->rv, sizeof(w->rv), "%s", rv ? rv : "");
    w->field_selector = field_selector;
    w->timeout_seconds = timeout_seconds;
    assert_int_equal(pthread_create(&w->t, NULL, watch_main, w), 0);
}

static bool wait_until(atomic_int *flag, int seconds)
{
    for (int i = 0; i < seconds * 10; i++) {
        if (atomic_load(flag))
            return true;
        usleep(100000);
    }
    return atomic_load(flag);
}

static int events(struct watcher *w)
{
    pthread_mutex_lock(&w->mu);
    int n = w->n;
    pthread_mutex_unlock(&w->mu);
    return n;
}

/* --- tests --------------------------------------------------------------------------------- */

static json_t *configmap(const char *name, const char *k, const char *v)
{
    return json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                     "metadata", "name", name, "labels", "weir-itest", "crud", "data", k, v);
}

static void test_crud_apply_watch(void **state)
{
    (void)state;
    weir_error err = {0};
    json_t *list = NULL, *obj = NULL;

    /* list to get a resourceVersion, then watch from it */
    kube_list_opts lo = {.field_selector = "metadata.name=cm1"};
    assert_int_equal(kube_list(kc, &KUBE_RES_CONFIGMAPS, ns, &lo, &list, &err), 0);
    const char *rv =
        json_string_value(json_object_get(json_object_get(list, "metadata"), "resourceVersion"));
    assert_non_null(rv);
    struct watcher w;
    watcher_start(&w, rv, "metadata.name=cm1", 60);
    json_decref(list);

    /* create */
    json_t *cm = configmap("cm1", "a", "1");
    assert_int_equal(kube_create(kc, &KUBE_RES_CONFIGMAPS, ns, cm, &obj, &err), 0);
    const char *uid = json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid"));
    assert_non_null(uid);
    char uid_copy[64], old_rv[64];
    snprintf(uid_copy, sizeof(uid_copy), "%s", uid);
    snprintf(
        old_rv, sizeof(old_rv), "%s",
        json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion")));
    json_decref(obj);

    /* create again: AlreadyExists */
    assert_int_equal(kube_create(kc, &KUBE_RES_CONFIGMAPS, ns, cm, NULL, &err), WEIR_EEXIST);
    assert_string_equal(err.reason, "AlreadyExists");
    assert_int_equal(err.http_status, 409);
    assert_non_null(strstr(err.msg, "already exists"));
    json_decref(cm);

    /* get */
    assert_int_equal(kube_get(kc, &KUBE_RES_CONFIGMAPS, ns, "cm1", &obj, &err), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(obj, "data"), "a")), "1");
    json_decref(obj);

    /* merge patch */
    json_t *mp = json_pack("{s:{s:s}}", "data", "b", "merged");
    assert_int_equal(
        kube_patch(kc, &KUBE_RES_CONFIGMAPS, ns, "cm1", KUBE_PATCH_MERGE, mp, NULL, &obj, &err), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(obj, "data"), "b")),
                        "merged");
    json_decref(obj);
    json_decref(mp);

    /* server-side apply with a field manager: owns data.c */
    json_t *ap = json_pack("{s:s,s:s,s:{s:s},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                           "metadata", "name", "cm1", "data", "c", "applied");
    assert_int_equal(kube_apply(kc, &KUBE_RES_CONFIGMAPS, ns, ap, "weir-itest", false, &obj, &err),
                     0);
    json_t *data = json_object_get(obj, "data");
    assert_string_equal(json_string_value(json_object_get(data, "c")), "applied");
    assert_string_equal(json_string_value(json_object_get(data, "a")), "1");
    bool found_manager = false;
    json_t *mf = json_object_get(json_object_get(obj, "metadata"), "managedFields");
    size_t i;
    json_t *e;
    json_array_foreach(mf, i, e)
    {
        const char *m = json_string_value(json_object_get(e, "manager"));
        const char *op = json_string_value(json_object_get(e, "operation"));
        if (m && strcmp(m, "weir-itest") == 0 && op && strcmp(op, "Apply") == 0)
            found_manager = true;
    }
    assert_true(found_manager);
    json_decref(obj);
    json_decref(ap);

    /* apply by another manager conflicting on data.c: Conflict unless forced */
    ap = json_pack("{s:s,s:s,s:{s:s},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                   "name", "cm1", "data", "c", "other");
    assert_int_equal(
        kube_apply(kc, &KUBE_RES_CONFIGMAPS, ns, ap, "someone-else", false, NULL, &err),
        WEIR_ECONFLICT);
    assert_string_equal(err.reason, "Conflict");
    assert_non_null(strstr(err.msg, "weir-itest"));
    assert_int_equal(kube_apply(kc, &KUBE_RES_CONFIGMAPS, ns, ap, "someone-else", true, NULL, &err),
                     0);
    json_decref(ap);

    /* JSON patch */
    json_t *jp =
        json_pack("[{s:s,s:s,s:s}]", "op", "replace", "path", "/data/c", "value", "json-patched");
    assert_int_equal(
        kube_patch(kc, &KUBE_RES_CONFIGMAPS, ns, "cm1", KUBE_PATCH_JSON, jp, NULL, &obj, &err), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(obj, "data"), "c")),
                        "json-patched");
    json_decref(jp);

    /* update with a stale resourceVersion: Conflict, nothing overwritten */
    json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion", json_string(old_rv));
    json_object_set_new(json_object_get(obj, "data"), "c", json_string("stale"));
    assert_int_equal(kube_update(kc, &KUBE_RES_CONFIGMAPS, ns, obj, NULL, NULL, &err),
                     WEIR_ECONFLICT);
    assert_string_equal(err.reason, "Conflict");
    json_decref(obj);

    /* delete with a wrong uid precondition fails, with the right one succeeds */
    kube_delete_opts wrong = {.uid = "00000000-0000-0000-0000-000000000000",
                              .grace_period_seconds = -1};
    assert_int_equal(kube_delete(kc, &KUBE_RES_CONFIGMAPS, ns, "cm1", &wrong, &err),
                     WEIR_ECONFLICT);
    kube_delete_opts right = {
        .uid = uid_copy, .propagation = "Background", .grace_period_seconds = -1};
    assert_int_equal(kube_delete(kc, &KUBE_RES_CONFIGMAPS, ns, "cm1", &right, &err), 0);
    assert_int_equal(kube_get(kc, &KUBE_RES_CONFIGMAPS, ns, "cm1", &obj, &err), WEIR_ENOTFOUND);
    assert_string_equal(err.reason, "NotFound");
    assert_int_equal(err.http_status, 404);
    assert_null(obj);
    assert_int_equal(kube_delete(kc, &KUBE_RES_CONFIGMAPS, ns, "cm1", NULL, &err), WEIR_ENOTFOUND);

    /* the watch saw everything in order: ADDED, 4 x MODIFIED, DELETED */
    for (int t = 0; t < 100 && events(&w) < 6; t++)
        usleep(100000);
    atomic_store(&w.cancel, true);
    pthread_join(w.t, NULL);
    assert_string_equal(w.log, "ADDED:cm1:-;MODIFIED:cm1:merged;MODIFIED:cm1:merged;"
                               "MODIFIED:cm1:merged;MODIFIED:cm1:merged;DELETED:cm1:merged;");
    assert_int_equal(w.rc, WEIR_ECANCELED);
    assert_true(w.rv[0] != '\0');
}

static void test_list_pages(void **state)
{
    (void)state;
    weir_error err = {0};
    char name[32];
    for (int i = 0; i < 7; i++) {
        snprintf(name, sizeof(name), "page-%d", i);
        json_t *cm = configmap(name, "i", name);
        json_object_set_new(json_object_get(json_object_get(cm, "metadata"), "labels"),
                            "weir-itest", json_string("pages"));
        assert_int_equal(kube_create(kc, &KUBE_RES_CONFIGMAPS, ns, cm, NULL, &err), 0);
        json_decref(cm);
    }
    json_t *page = NULL;
    kube_list_opts one = {.label_selector = "weir-itest=pages", .limit = 3};
    assert_int_equal(kube_list(kc, &KUBE_RES_CONFIGMAPS, ns, &one, &page, &err), 0);
    assert_int_equal(json_array_size(json_object_get(page, "items")), 3);
    const char *cont =
        json_string_value(json_object_get(json_object_get(page, "metadata"), "continue"));
    assert_non_null(cont);
    assert_true(cont[0] != '\0');
    json_decref(page);

    json_t *all = NULL;
    assert_int_equal(kube_list_all(kc, &KUBE_RES_CONFIGMAPS, ns, &one, &all, &err), 0);
    assert_int_equal(json_array_size(json_object_get(all, "items")), 7);
    assert_null(json_object_get(json_object_get(all, "metadata"), "continue"));
    assert_non_null(
        json_string_value(json_object_get(json_object_get(all, "metadata"), "resourceVersion")));
    json_decref(all);

    /* across all namespaces, with a label selector */
    assert_int_equal(kube_list_all(kc, &KUBE_RES_CONFIGMAPS, NULL,
                                   &(kube_list_opts){.label_selector = "weir-itest=pages"}, &all,
                                   &err),
                     0);
    assert_true(json_array_size(json_object_get(all, "items")) >= 7);
    json_decref(all);
}

static void test_status_subresource_and_errors(void **state)
{
    (void)state;
    weir_error err = {0};
    json_t *obj = NULL;
    /* Namespace status through the status subresource */
    json_t *st = json_pack("{s:{s:[{s:s,s:s,s:s,s:s}]}}", "status", "conditions", "type",
                           "WeirItest", "status", "True", "reason", "Testing", "message", "hi");
    kube_patch_opts so = {.subresource = "status"};
    assert_int_equal(
        kube_patch(kc, &KUBE_RES_NAMESPACES, NULL, ns, KUBE_PATCH_MERGE, st, &so, &obj, &err), 0);
    json_t *conds = json_object_get(json_object_get(obj, "status"), "conditions");
    assert_true(json_array_size(conds) >= 1);
    json_decref(st);
    /* a status write through PUT /status with the current resourceVersion */
    assert_int_equal(kube_update(kc, &KUBE_RES_NAMESPACES, NULL, obj, "status", NULL, &err), 0);
    json_decref(obj);

    /* invalid object: 422 Invalid with the field in the message */
    json_t *bad = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                            "metadata", "name", "Not_A_Valid_Name");
    assert_int_equal(kube_create(kc, &KUBE_RES_CONFIGMAPS, ns, bad, NULL, &err), WEIR_EINVAL);
    assert_string_equal(err.reason, "Invalid");
    assert_int_equal(err.http_status, 422);
    assert_non_null(strstr(err.msg, "metadata.name"));
    json_decref(bad);

    /* a name that is not a path segment never reaches the server */
    assert_int_equal(kube_get(kc, &KUBE_RES_CONFIGMAPS, ns, "../secrets", &obj, &err), WEIR_EINVAL);

    /* raw request */
    assert_int_equal(kube_request(kc, "GET", "/version", NULL, NULL, &obj, &err), 0);
    assert_non_null(json_string_value(json_object_get(obj, "gitVersion")));
    json_decref(obj);

    /* a watch from a resourceVersion far in the past: 410 Gone reported as WEIR_EGONE */
    kube_watch_opts wo = {.resource_version = "1", .timeout_seconds = 5};
    int rc = kube_watch(kc, &KUBE_RES_CONFIGMAPS, ns, &wo, NULL, NULL, NULL, 0, &err);
    /* A fresh etcd may still hold revision 1; then the watch simply times out. */
    assert_true(rc == WEIR_EGONE || rc == 0);
    if (rc == WEIR_EGONE)
        assert_true(strcmp(err.reason, "Expired") == 0 || strcmp(err.reason, "Gone") == 0);
}

static void test_watch_cut_by_apiserver_restart(void **state)
{
    (void)state;
    const char *script = getenv("WEIR_RESTART_APISERVER");
    if (!script)
        script = "e2e/cluster/restart-apiserver.sh";
    if (access(script, X_OK) != 0 && access(script, R_OK) != 0)
        skip();
    weir_error err = {0};
    json_t *list = NULL;
    assert_int_equal(kube_list(kc, &KUBE_RES_CONFIGMAPS, ns, NULL, &list, &err), 0);
    const char *rv =
        json_string_value(json_object_get(json_object_get(list, "metadata"), "resourceVersion"));
    struct watcher w;
    watcher_start(&w, rv, NULL, 600);
    json_decref(list);
    usleep(500000);
    assert_false(atomic_load(&w.done));

    char cmd[512];
    snprintf(cmd, sizeof(cmd), "bash %s --kill >/dev/null 2>&1", script);
    time_t t0 = time(NULL);
    assert_int_equal(system(cmd), 0);
    /* the watch ends promptly with a report, it does not hang */
    assert_true(wait_until(&w.done, 60));
    pthread_join(w.t, NULL);
    fprintf(stderr, "watch ended after %lds: rc=%d (%s) %s\n", (long)(time(NULL) - t0), w.rc,
            weir_strerror(w.rc), w.err.msg);
    assert_true(w.rc == WEIR_ECLOSED || w.rc == WEIR_ECONNECT || w.rc == WEIR_EIO || w.rc == 0);

    /* and the apiserver is back: resume from the last resourceVersion, see a new event */
    struct watcher w2;
    for (int i = 0; i < 60; i++) {
        json_t *v = NULL;
        if (kube_request(kc, "GET", "/readyz", NULL, NULL, &v, NULL) == 0 ||
            kube_request(kc, "GET", "/version", NULL, NULL, &v, NULL) == 0) {
            json_decref(v);
            break;
        }
        sleep(1);
    }
    watcher_start(&w2, w.rv, NULL, 60);
    usleep(300000);
    json_t *cm = configmap("after-restart", "a", "1");
    assert_int_equal(kube_create(kc, &KUBE_RES_CONFIGMAPS, ns, cm, NULL, &err), 0);
    json_decref(cm);
    for (int t = 0; t < 100 && events(&w2) < 1; t++)
        usleep(100000);
    atomic_store(&w2.cancel, true);
    pthread_join(w2.t, NULL);
    assert_non_null(strstr(w2.log, "ADDED:after-restart"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crud_apply_watch),
        cmocka_unit_test(test_list_pages),
        cmocka_unit_test(test_status_subresource_and_errors),
        cmocka_unit_test(test_watch_cut_by_apiserver_restart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
