/*
 * deployment.c - reconciles one FlinkDeployment: finalizer, validation, children, status,
 * deletion. See deployment.h.
 *
 * Writes are avoided when nothing changed: a child is applied only when the cached live
 * object lacks a field the desired object has (or has another value), and status only when it
 * differs from what is stored. An unchanged resource therefore costs no API writes.
 */
#include "operator/controller/deployment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/json.h"
#include "lib/log.h"
#include "operator/controller/children.h"
#include "operator/controller/lifecycle.h"
#include "operator/controller/specdiff.h"

const kube_resource DEPLOYMENT_RES_FLINKDEPLOYMENTS = {"flink.apache.org", "v1beta1",
                                                       "flinkdeployments", true};
const kube_resource DEPLOYMENT_RES_INGRESSES = {"networking.k8s.io", "v1", "ingresses", true};

static long long wall_ms(const struct deployment_ctx *ctx)
{
    if (ctx->now_ms)
        return ctx->now_ms();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- comparing desired and live objects ------------------------------------------------------ */

/* Parses a Kubernetes quantity into a double; false when it is not one. */
static bool quantity(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s)
        return false;
    static const struct {
        const char *sfx;
        double mul;
    } u[] = {{"", 1},
             {"m", 1e-3},
             {"k", 1e3},
             {"M", 1e6},
             {"G", 1e9},
             {"T", 1e12},
             {"Ki", 1024.0},
             {"Mi", 1048576.0},
             {"Gi", 1073741824.0},
             {"Ti", 1099511627776.0}};
    for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
        if (strcmp(end, u[i].sfx) == 0) {
            *out = v * u[i].mul;
            return true;
        }
    return false;
}

static bool subset(const json_t *want, const json_t *have, bool in_resources)
{
    if (json_is_object(want)) {
        if (!json_is_object(have))
            return false;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)want, k, v)
        {
            /* the generation annotation follows the spec; it alone is no reason to write */
            if (strcmp(k, CHILDREN_GENERATION_ANNOTATION) == 0)
                continue;
            bool res = in_resources || strcmp(k, "requests") == 0 || strcmp(k, "limits") == 0;
            if (!subset(v, json_object_get(have, k), res))
                return false;
        }
        return true;
    }
    if (json_is_array(want)) {
        if (!json_is_array(have) || json_array_size(want) != json_array_size(have))
            return false;
        for (size_t i = 0; i < json_array_size(want); i++)
            if (!subset(json_array_get(want, i), json_array_get(have, i), in_resources))
                return false;
        return true;
    }
    if (in_resources && json_is_string(want) && json_is_string(have)) {
        double a, b;
        if (quantity(json_string_value(want), &a) && quantity(json_string_value(have), &b))
            return fabs(a - b) <= 1e-9 * fmax(1.0, fabs(a));
    }
    return have && json_equal((json_t *)want, (json_t *)have);
}

bool deployment_subset(const json_t *want, const json_t *have)
{
    return subset(want, have, false);
}

/* --- helpers ---------------------------------------------------------------------------------- */

static informer *cache_for(struct deployment_ctx *ctx, const char *kind)
{
    if (strcmp(kind, "ConfigMap") == 0)
        return ctx->configmaps;
    if (strcmp(kind, "Service") == 0)
        return ctx->services;
    if (strcmp(kind, "Deployment") == 0)
        return ctx->deployments;
    if (strcmp(kind, "Ingress") == 0)
        return ctx->ingresses;
    return NULL;
}

static const kube_resource *resource_for(const char *kind)
{
    if (strcmp(kind, "ConfigMap") == 0)
        return &KUBE_RES_CONFIGMAPS;
    if (strcmp(kind, "Service") == 0)
        return &KUBE_RES_SERVICES;
    if (strcmp(kind, "Deployment") == 0)
        return &KUBE_RES_DEPLOYMENTS;
    if (strcmp(kind, "Ingress") == 0)
        return &DEPLOYMENT_RES_INGRESSES;
    return NULL;
}

static json_t *cached(informer *inf, const char *ns, const char *name)
{
    char key[600];
    if (!inf)
        return NULL;
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    return informer_get(inf, key);
}

static int finalizer_index(const json_t *fd)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_path_get(fd, "metadata.finalizers"), i, f)
    {
        if (json_is_string(f) && strcmp(json_string_value(f), DEPLOYMENT_FINALIZER) == 0)
            return (int)i;
    }
    return -1;
}

static void event(struct deployment_ctx *ctx, const json_t *fd, const char *type,
                  const char *reason, const char *msg)
{
    weir_error err = {0};
    if (ctx->events && events_record(ctx->events, fd, type, reason, msg, &err) != 0)
        log_warn("cannot record event", "reason", reason, "error", err.msg);
}

/* upstream's FlinkResourceException JSON */
static char *error_json(const char *type, const char *message)
{
    json_t *e = json_pack("{s:s,s:s,s:{},s:[]}", "type", type, "message", message,
                          "additionalMetadata", "throwableList");
    char *s = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    return s;
}

/* PUT .../status with the resourceVersion the object was read at. */
static int write_status(struct deployment_ctx *ctx, const json_t *fd, json_t *status,
                        weir_error *err)
{
    json_t *obj = json_deep_copy(fd);
    json_object_set(obj, "status", status);
    int rc =
        kube_update(ctx->kc, &DEPLOYMENT_RES_FLINKDEPLOYMENTS,
                    json_path_string(fd, "metadata.namespace", NULL), obj, "status", NULL, err);
    json_decref(obj);
    return rc;
}

static void set_lifecycle(json_t *status)
{
    enum lifecycle_state s = lifecycle_derive(status, true);
    json_object_set_new(status, "lifecycleState", json_string(lifecycle_name(s)));
}

/* --- deletion ------------------------------------------------------------------------------------
 */

static int reconcile_delete(struct deployment_ctx *ctx, const json_t *fd, long *requeue_ms,
                            weir_error *err)
{
    const char *name = json_path_string(fd, "metadata.name", "");
    const char *ns = json_path_string(fd, "metadata.namespace", "default");
    int fi = finalizer_index(fd);
    if (fi < 0)
        return 0;
    json_t *status = json_deep_copy(json_object_get(fd, "status"));
    if (!status)
        status = json_object();
    if (strcmp(json_path_string(status, "lifecycleState", ""), "DELETING") != 0) {
        json_object_set_new(status, "lifecycleState", json_string("DELETING"));
        int rc = write_status(ctx, fd, status, err);
        json_decref(status);
        if (rc == WEIR_ECONFLICT) {
            *requeue_ms = 100;
            return 0;
        }
        if (rc)
            return rc;
        event(ctx, fd, EVENT_NORMAL, "Cleanup", "Cleaning up FlinkDeployment");
        *requeue_ms = 100;
        return 0;
    }
    json_decref(status);
    /* delete what is still there; wait until the Deployments are gone */
    char names[5][300];
    const char *kinds[5] = {"Ingress", "Deployment", "Deployment", "Service", "Service"};
    snprintf(names[0], 300, "%s", name);
    snprintf(names[1], 300, "%s-taskmanager", name);
    snprintf(names[2], 300, "%s", name);
    snprintf(names[3], 300, "%s-rest", name);
    snprintf(names[4], 300, "%s", name);
    bool pending = false;
    for (int i = 0; i < 5; i++) {
        json_t *live = cached(cache_for(ctx, kinds[i]), ns, names[i]);
        if (!live)
            continue;
        pending = true;
        if (!json_path_get(live, "metadata.deletionTimestamp")) {
            kube_delete_opts o = {.propagation = "Background", .grace_period_seconds = -1};
            int rc = kube_delete(ctx->kc, resource_for(kinds[i]), ns, names[i], &o, err);
            if (rc && rc != WEIR_ENOTFOUND) {
                json_decref(live);
                return rc;
            }
        }
        json_decref(live);
    }
    char cm[300];
    snprintf(cm, sizeof(cm), "flink-config-%s", name);
    json_t *live = cached(ctx->configmaps, ns, cm);
    if (live) {
        pending = true;
        int rc = kube_delete(ctx->kc, &KUBE_RES_CONFIGMAPS, ns, cm, NULL, err);
        json_decref(live);
        if (rc && rc != WEIR_ENOTFOUND)
            return rc;
    }
    if (pending) {
        *requeue_ms = 500;
        return 0;
    }
    /* every child is gone: DELETED, and let the resource go */
    char path[64];
    snprintf(path, sizeof(path), "/metadata/finalizers/%d", fi);
    json_t *patch = json_pack("[{s:s,s:s,s:s},{s:s,s:s}]", "op", "test", "path", path, "value",
                              DEPLOYMENT_FINALIZER, "op", "remove", "path", path);
    int rc = kube_patch(ctx->kc, &DEPLOYMENT_RES_FLINKDEPLOYMENTS, ns, name, KUBE_PATCH_JSON, patch,
                        NULL, NULL, err);
    json_decref(patch);
    if (rc == WEIR_ENOTFOUND)
        return 0;
    if (rc == WEIR_EINVAL || rc == WEIR_ECONFLICT) { /* the list changed under us: read again */
        *requeue_ms = 100;
        return 0;
    }
    if (rc == 0)
        log_info("FlinkDeployment deleted", "namespace", ns, "name", name);
    return rc;
}

/* --- status -------------------------------------------------------------------------------------
 */

static const char *jm_status(const json_t *jm)
{
    if (!jm)
        return "DEPLOYING";
    long long want = json_path_int(jm, "spec.replicas", 1);
    long long avail = json_path_int(jm, "status.availableReplicas", 0);
    long long gen = json_path_int(jm, "metadata.generation", 0);
    long long seen = json_path_int(jm, "status.observedGeneration", -1);
    if (avail >= 1 && avail >= want && seen >= gen)
        return "DEPLOYED_NOT_READY"; /* REST readiness is the job lifecycle's to check */
    return "DEPLOYING";
}

static json_t *running_condition(const json_t *status, const json_t *old_status, bool app,
                                 long long gen, const char *now)
{
    const char *cond_status, *reason, *msg;
    char m[128], camel[32]; /* "RUNNING" -> "Running"; local: workers run this concurrently */
    if (app) {
        const char *st = json_path_string(status, "jobStatus.state", "RECONCILING");
        cond_status = strcmp(st, "RUNNING") == 0 ? "True" : "False";
        size_t n = 0;
        for (; n < sizeof(camel) - 1 && st[n]; n++)
            camel[n] = (char)(n > 0 && st[n] >= 'A' && st[n] <= 'Z' ? st[n] + 32 : st[n]);
        camel[n] = '\0';
        reason = camel;
        snprintf(m, sizeof(m), "Job status %s", st);
        msg = m;
    } else {
        const char *jm = json_path_string(status, "jobManagerDeploymentStatus", "MISSING");
        cond_status = strcmp(jm, "READY") == 0 ? "True" : "False";
        reason = strcmp(jm, "READY") == 0                ? "JobManagerReady"
                 : strcmp(jm, "DEPLOYED_NOT_READY") == 0 ? "DeployedNotReady"
                 : strcmp(jm, "DEPLOYING") == 0          ? "JobManagerIsDeploying"
                 : strcmp(jm, "ERROR") == 0              ? "Error"
                                                         : "JobManagerDeploymentMissing";
        snprintf(m, sizeof(m), "JobManager deployment %s", jm);
        msg = m;
    }
    const char *since = now;
    json_t *old = json_path_get(old_status, "conditions[0]");
    if (old && strcmp(json_path_string(old, "status", ""), cond_status) == 0)
        since = json_path_string(old, "lastTransitionTime", now);
    return json_pack("[{s:s,s:s,s:s,s:s,s:s,s:I}]", "type", "Running", "status", cond_status,
                     "reason", reason, "message", msg, "lastTransitionTime", since,
                     "observedGeneration", (json_int_t)gen);
}

/* --- validation ---------------------------------------------------------------------------------
 */

/* Typed Flink options the operator and the runtime parse: a value that does not parse is an
 * error the CRD cannot catch (flinkConfiguration keeps any value). */
static const char *const DURATION_KEYS[] = {"execution.checkpointing.interval",
                                            "execution.checkpointing.timeout",
                                            "execution.checkpointing.min-pause",
                                            "heartbeat.interval",
                                            "heartbeat.timeout",
                                            "restart-strategy.fixed-delay.delay",
                                            "restart-strategy.exponential-delay.initial-backoff",
                                            "restart-strategy.exponential-delay.max-backoff",
                                            "restart-strategy.failure-rate.delay",
                                            "restart-strategy.failure-rate.failure-rate-interval",
                                            "table.exec.source.idle-timeout",
                                            "pipeline.auto-watermark-interval",
                                            NULL};
static const char *const MEMORY_KEYS[] = {"jobmanager.memory.process.size",
                                          "taskmanager.memory.process.size",
                                          "jobmanager.memory.flink.size",
                                          "taskmanager.memory.flink.size",
                                          "taskmanager.memory.managed.size",
                                          "taskmanager.memory.task.heap.size",
                                          "state.backend.rocksdb.block.cache-size",
                                          "state.backend.rocksdb.writebuffer.size",
                                          NULL};
static const char *const INT_KEYS[] = {"taskmanager.numberOfTaskSlots", "parallelism.default",
                                       "state.checkpoints.num-retained", NULL};

static int validate_flink_config(const json_t *fd, const config *defaults, weir_error *err)
{
    config *flink = NULL;
    int rc = children_flink_config(fd, defaults, &flink, err);
    if (rc)
        return rc;
    long long ll;
    unsigned long long ull;
    for (const char *const *k = DURATION_KEYS; !rc && *k; k++)
        rc = config_get_duration_ms(flink, *k, 0, &ll, err);
    for (const char *const *k = MEMORY_KEYS; !rc && *k; k++)
        rc = config_get_memory(flink, *k, 0, &ull, err);
    for (const char *const *k = INT_KEYS; !rc && *k; k++) {
        rc = config_get_int(flink, *k, 1, &ll, err);
        if (!rc && ll < 1)
            rc = weir_error_set(err, WEIR_ERANGE, "%s: key '%s': must be at least 1, not %lld",
                                config_origin(flink, *k), *k, ll);
    }
    config_free(flink);
    return rc;
}

/* --- reconcile ----------------------------------------------------------------------------------
 */

int deployment_reconcile(struct deployment_ctx *ctx, const char *key, long *requeue_ms,
                         weir_error *err)
{
    int rc = 0;
    json_t *objs = NULL, *status = NULL, *old_status;
    *requeue_ms = 0;
    json_t *fd = informer_get(ctx->flinkdeployments, key);
    if (!fd)
        return 0; /* gone: nothing left to do */
    const char *name = json_path_string(fd, "metadata.name", "");
    const char *ns = json_path_string(fd, "metadata.namespace", "default");
    long long gen = json_path_int(fd, "metadata.generation", 0);

    if (json_path_get(fd, "metadata.deletionTimestamp")) {
        rc = reconcile_delete(ctx, fd, requeue_ms, err);
        goto out;
    }
    /* the canary only proves the operator is alive */
    if (strcmp(json_path_string(fd, "metadata.labels[\"flink.apache.org/canary\"]", ""), "true") ==
        0)
        goto out;

    if (finalizer_index(fd) < 0) {
        json_t *patch = json_path_get(fd, "metadata.finalizers")
                            ? json_pack("[{s:s,s:s,s:s}]", "op", "add", "path",
                                        "/metadata/finalizers/-", "value", DEPLOYMENT_FINALIZER)
                            : json_pack("[{s:s,s:s,s:[s]}]", "op", "add", "path",
                                        "/metadata/finalizers", "value", DEPLOYMENT_FINALIZER);
        rc = kube_patch(ctx->kc, &DEPLOYMENT_RES_FLINKDEPLOYMENTS, ns, name, KUBE_PATCH_JSON, patch,
                        NULL, NULL, err);
        json_decref(patch);
        if (rc == 0 || rc == WEIR_EINVAL || rc == WEIR_ECONFLICT)
            *requeue_ms = 1; /* continue from the updated object */
        if (rc == WEIR_EINVAL || rc == WEIR_ECONFLICT)
            rc = 0;
        goto out;
    }

    old_status = json_object_get(fd, "status");
    status = old_status ? json_deep_copy(old_status) : json_object();
    const json_t *spec = json_object_get(fd, "spec");
    bool app = json_is_object(json_object_get(spec, "job"));

    /* validate: what the CRD cannot reject ends in status.error and a Warning event */
    weir_error verr = {0};
    int vrc = 0;
    if (!json_path_string(spec, "flinkVersion", NULL))
        vrc = weir_error_set(&verr, WEIR_EINVAL, "spec.flinkVersion: Flink version must be set");
    if (!vrc)
        vrc = validate_flink_config(fd, ctx->cfg ? ctx->cfg->flink_defaults : NULL, &verr);
    if (!vrc)
        vrc = children_build(fd, ctx->cfg ? ctx->cfg->flink_defaults : NULL, &objs, &verr);
    if (vrc) {
        char *ej = error_json("org.apache.flink.kubernetes.operator.exception.ValidationException",
                              verr.msg);
        bool same = ej && strcmp(json_path_string(status, "error", ""), ej) == 0;
        json_object_set_new(status, "error", json_string(ej ? ej : verr.msg));
        free(ej);
        set_lifecycle(status);
        if (!same) {
            event(ctx, fd, EVENT_WARNING, "ValidationError", verr.msg);
            log_warn("FlinkDeployment is invalid", "namespace", ns, "name", name, "error",
                     verr.msg);
        }
        if (!json_equal(status, old_status)) {
            rc = write_status(ctx, fd, status, err);
            if (rc == WEIR_ECONFLICT) {
                rc = 0;
                *requeue_ms = 100;
            }
        }
        goto out; /* nothing is deployed from an invalid spec; a spec change brings us back */
    }

    /* a changed spec: say what changed (the diff class decides the upgrade path later) */
    const char *last = json_path_string(status, "reconciliationStatus.lastReconciledSpec", NULL);
    json_t *last_doc = last ? json_loads(last, 0, NULL) : NULL;
    json_t *last_spec = json_object_get(last_doc, "spec");
    bool changed = !last_spec || !json_equal(last_spec, (json_t *)spec);
    if (last_spec && changed) {
        json_t *changes = NULL;
        struct specdiff_options so = {
            .standalone = true,
        };
        enum spec_diff d = specdiff_compute(last_spec, spec, &so, &changes);
        char msg[512];
        specdiff_describe(d, changes, msg, sizeof(msg));
        json_decref(changes);
        event(ctx, fd, EVENT_NORMAL, "SpecChanged", msg);
    }
    json_decref(last_doc);

    /* apply what differs from the cache */
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o)
    {
        const char *kind = json_path_string(o, "kind", "");
        const char *cname = json_path_string(o, "metadata.name", "");
        informer *inf = cache_for(ctx, kind);
        json_t *live = cached(inf, ns, cname);
        bool ok = live && !json_path_get(live, "metadata.deletionTimestamp") &&
                  deployment_subset(o, live);
        json_decref(live);
        if (ok && inf)
            continue;
        rc =
            kube_apply(ctx->kc, resource_for(kind), ns, o, CHILDREN_FIELD_MANAGER, true, NULL, err);
        if (rc) {
            weir_error_prefix(err, "apply %s %s", kind, cname);
            /* the apiserver refused what we built (e.g. an invalid pod template) */
            char *ej = error_json("org.apache.flink.kubernetes.operator.exception."
                                  "ReconciliationException",
                                  err ? err->msg : weir_strerror(rc));
            if (rc == WEIR_EINVAL && ej) {
                json_object_set_new(status, "error", json_string(ej));
                event(ctx, fd, EVENT_WARNING, "Error", err ? err->msg : "invalid object");
                if (write_status(ctx, fd, status, NULL) != 0)
                    log_warn("cannot write status", "name", name);
            }
            free(ej);
            goto out;
        }
    }

    /* status */
    char tm_sel[600], now[40];
    snprintf(tm_sel, sizeof(tm_sel),
             "app=%s,component=taskmanager,type=flink-standalone-kubernetes", name);
    long long t = wall_ms(ctx);
    time_t secs = (time_t)(t / 1000);
    struct tm tmv;
    gmtime_r(&secs, &tmv);
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tmv);
    char jm_name[300];
    snprintf(jm_name, sizeof(jm_name), "%s", name);
    json_t *jm = cached(ctx->deployments, ns, jm_name);
    json_object_set_new(status, "jobManagerDeploymentStatus", json_string(jm_status(jm)));
    json_decref(jm);
    config *flink = NULL;
    int replicas = 1;
    if (children_flink_config(fd, ctx->cfg ? ctx->cfg->flink_defaults : NULL, &flink, NULL) == 0)
        replicas = children_tm_replicas(fd, flink);
    config_free(flink);
    json_object_set_new(status, "taskManager",
                        json_pack("{s:s,s:i}", "labelSelector", tm_sel, "replicas", replicas));
    json_object_set_new(status, "observedGeneration", json_integer(gen));
    json_object_del(status, "error");
    if (changed) {
        json_t *doc =
            json_pack("{s:O,s:{s:s,s:b}}", "spec", spec, "resource_metadata", "apiVersion",
                      "flink.apache.org/v1beta1", "firstDeployment", last == NULL);
        char *s = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(doc);
        json_t *recon = json_pack("{s:s,s:I,s:s}", "lastReconciledSpec", s ? s : "",
                                  "reconciliationTimestamp", (json_int_t)t, "state", "DEPLOYED");
        const char *stable =
            json_path_string(old_status, "reconciliationStatus.lastStableSpec", NULL);
        if (stable)
            json_object_set_new(recon, "lastStableSpec", json_string(stable));
        free(s);
        json_object_set_new(status, "reconciliationStatus", recon);
    }
    if (app && !json_path_get(status, "jobStatus.state")) {
        json_t *js = json_pack("{s:s,s:s}", "jobName", name, "state", "RECONCILING");
        json_object_set_new(status, "jobStatus", js);
    }
    /* a session cluster is stable once its JobManager serves; a job once it runs (lifecycle) */
    set_lifecycle(status);
    json_object_set_new(status, "conditions", running_condition(status, old_status, app, gen, now));
    if (!json_equal(status, old_status)) {
        rc = write_status(ctx, fd, status, err);
        if (rc == WEIR_ECONFLICT) { /* someone wrote first: read again, never overwrite */
            rc = 0;
            *requeue_ms = 100;
            goto out;
        }
        if (rc)
            goto out;
    }
    const char *jms = json_path_string(status, "jobManagerDeploymentStatus", "");
    *requeue_ms = strcmp(jms, "READY") == 0 ? ctx->cfg->reconcile_interval_ms
                                            : ctx->cfg->progress_check_interval_ms;
out:
    json_decref(status);
    json_decref(objs);
    json_decref(fd);
    return rc;
}
