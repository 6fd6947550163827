/*
 * deployment.c - reconciles one FlinkDeployment: finalizer, validation, children, status,
 * deletion. See deployment.h.
 *
 * Writes are avoided when nothing changed: a child is applied only when the cached live
 * object lacks a field the desired object has (or has another value), and status only when it
 * differs from what is stored. An unchanged resource therefore costs no API writes.
 */
#include "operator/controller/deployment.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/random.h"
#include "lib/strmap.h"
#include "operator/controller/application.h"
#include "operator/controller/children.h"
#include "operator/controller/health.h"
#include "operator/controller/lifecycle.h"
#include "operator/controller/observer.h"
#include "operator/controller/snapshot.h"
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

/* In a trimmed child: someone other than us wrote it after our last apply. */
#define TRIM_FOREIGN_EDIT "weirEditedByOthers"

/* --- what was applied ------------------------------------------------------------------------ */

struct applied_rec {
    uint64_t hash;
    char marker[64]; /* generation (Deployments) or resourceVersion right after our apply */
};

struct deployment_applied {
    pthread_mutex_t mu;
    strmap *recs; /* "Kind/ns/name" -> struct applied_rec* (owned) */
};

deployment_applied *deployment_applied_new(void)
{
    deployment_applied *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->recs = strmap_new();
    if (!a->recs) {
        free(a);
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

void deployment_applied_free(deployment_applied *a)
{
    if (!a)
        return;
    size_t it = 0;
    const char *k;
    void *v;
    while (strmap_next(a->recs, &it, &k, &v))
        free(v);
    strmap_free(a->recs);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static bool applied_matches(deployment_applied *a, const char *key, uint64_t hash,
                            const char *marker)
{
    if (!a || !marker)
        return false;
    pthread_mutex_lock(&a->mu);
    const struct applied_rec *r = strmap_get(a->recs, key);
    bool ok = r && r->hash == hash && strcmp(r->marker, marker) == 0;
    pthread_mutex_unlock(&a->mu);
    return ok;
}

/* Whether anything was recorded under `key` (since this process started). */
static bool applied_known(deployment_applied *a, const char *key)
{
    if (!a)
        return false;
    pthread_mutex_lock(&a->mu);
    bool known = strmap_has(a->recs, key);
    pthread_mutex_unlock(&a->mu);
    return known;
}

static void applied_record(deployment_applied *a, const char *key, uint64_t hash,
                           const char *marker)
{
    if (!a)
        return;
    struct applied_rec *r = calloc(1, sizeof(*r));
    if (!r)
        return; /* next reconcile just applies again */
    r->hash = hash;
    snprintf(r->marker, sizeof(r->marker), "%s", marker ? marker : "");
    void *old = NULL;
    pthread_mutex_lock(&a->mu);
    if (strmap_put(a->recs, key, r, &old) != 0) {
        free(r);
        old = NULL;
    }
    pthread_mutex_unlock(&a->mu);
    free(old);
}

/* The hash recorded under `key` with `marker` (0: none): also a small per-key memory
 * (JobException). */
static uint64_t applied_mark(deployment_applied *a, const char *key, const char *marker)
{
    if (!a)
        return 0;
    pthread_mutex_lock(&a->mu);
    const struct applied_rec *r = strmap_get(a->recs, key);
    uint64_t h = r && strcmp(r->marker, marker) == 0 ? r->hash : 0;
    pthread_mutex_unlock(&a->mu);
    return h;
}

static void applied_forget(deployment_applied *a, const char *key)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    void *old = strmap_del(a->recs, key);
    pthread_mutex_unlock(&a->mu);
    free(old);
}

/* FNV-1a over the stable dump: equal objects hash equally. The generation annotation is left
 * out: it alone is no reason to write (a TaskManager-only change must not touch the JM). */
static uint64_t object_hash(const json_t *obj)
{
    json_t *o = json_deep_copy(obj);
    json_object_del(json_path_get(o, "metadata.annotations"), CHILDREN_GENERATION_ANNOTATION);
    char *s = json_dump_stable(o);
    json_decref(o);
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    free(s);
    return h;
}

/* `o` (borrowed) with CHILDREN_HASH_ANNOTATION set to `hash`: a new object. */
static json_t *with_hash(const json_t *o, uint64_t hash)
{
    json_t *c = json_deep_copy(o);
    char hex[17];
    snprintf(hex, sizeof(hex), "%016" PRIx64, hash);
    if (c && json_path_set(c, "metadata.annotations[\"" CHILDREN_HASH_ANNOTATION "\"]",
                           json_string(hex)) != 0) {
        json_decref(c);
        return NULL;
    }
    return c;
}

/* A live (trimmed) child that carries our hash `hash` and no later write by anyone else. */
static bool applied_by_us(const json_t *live, uint64_t hash)
{
    char hex[17];
    snprintf(hex, sizeof(hex), "%016" PRIx64, hash);
    return strcmp(
               json_path_string(live, "metadata.annotations[\"" CHILDREN_HASH_ANNOTATION "\"]", ""),
               hex) == 0 &&
           !json_is_true(json_path_get(live, "metadata." TRIM_FOREIGN_EDIT));
}

/* Deployments: generation (status updates do not change it); others: resourceVersion. */
static const char *marker_of(const json_t *obj, const char *kind, char *buf, size_t cap)
{
    if (!obj)
        return NULL;
    if (strcmp(kind, "Deployment") == 0) { /* (list items carry no kind: the caller says it) */
        json_t *g = json_path_get(obj, "metadata.generation");
        if (!json_is_integer(g))
            return NULL;
        snprintf(buf, cap, "g%" JSON_INTEGER_FORMAT, json_integer_value(g));
        return buf;
    }
    const char *rv = json_path_string(obj, "metadata.resourceVersion", NULL);
    if (!rv)
        return NULL;
    snprintf(buf, cap, "r%s", rv);
    return buf;
}

bool deployment_edited_by_others(const json_t *managed_fields)
{
    const char *ours = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(managed_fields, i, e)
    {
        if (strcmp(json_path_string(e, "manager", ""), CHILDREN_FIELD_MANAGER) == 0 &&
            strcmp(json_path_string(e, "operation", ""), "Apply") == 0 &&
            !json_path_get(e, "subresource"))
            ours = json_path_string(e, "time", NULL);
    }
    if (!ours)
        return true; /* not applied by us as far as we can tell */
    json_array_foreach(managed_fields, i, e)
    {
        const char *mgr = json_path_string(e, "manager", "");
        if (strcmp(mgr, CHILDREN_FIELD_MANAGER) == 0 ||
            strcmp(json_path_string(e, "subresource", ""), "status") == 0)
            continue;
        /* the Deployment controller writes its revision annotation on every rollout */
        if (strcmp(mgr, "kube-controller-manager") == 0)
            continue;
        /* RFC 3339 times in UTC with seconds compare as strings; the same second counts */
        if (strcmp(json_path_string(e, "time", ""), ours) >= 0)
            return true;
    }
    return false;
}

json_t *deployment_trim_child(json_t *obj)
{
    /* ownerReferences are not kept: every child carries its FlinkDeployment's name in `app` */
    static const char *const meta_keys[] = {"name",       "namespace",         "resourceVersion",
                                            "generation", "deletionTimestamp", NULL};
    static const char *const status_keys[] = {"replicas", "availableReplicas", "readyReplicas",
                                              "observedGeneration", NULL};
    json_t *meta = json_object_get(obj, "metadata");
    json_t *m = json_object();
    for (const char *const *k = meta_keys; *k; k++)
        if (json_object_get(meta, *k))
            json_object_set(m, *k, json_object_get(meta, *k));
    json_t *labels = json_object_get(meta, "labels");
    json_t *l = json_object();
    static const char *const label_keys[] = {"app", "component", NULL};
    for (const char *const *k = label_keys; *k; k++)
        if (json_object_get(labels, *k))
            json_object_set(l, *k, json_object_get(labels, *k));
    json_object_set_new(m, "labels", l);
    json_t *h = json_path_get(meta, "annotations[\"" CHILDREN_HASH_ANNOTATION "\"]");
    if (json_is_string(h)) {
        json_object_set_new(m, "annotations", json_pack("{s:O}", CHILDREN_HASH_ANNOTATION, h));
        if (deployment_edited_by_others(json_object_get(meta, "managedFields")))
            json_object_set_new(m, TRIM_FOREIGN_EDIT, json_true());
    }
    json_t *t = json_pack("{s:O?,s:O?,s:o}", "apiVersion", json_object_get(obj, "apiVersion"),
                          "kind", json_object_get(obj, "kind"), "metadata", m);
    json_t *st = json_object_get(obj, "status");
    if (json_is_object(st) && json_object_get(st, "observedGeneration")) { /* Deployments */
        json_t *s = json_object();
        for (const char *const *k = status_keys; *k; k++)
            if (json_object_get(st, *k))
                json_object_set(s, *k, json_object_get(st, *k));
        json_object_set_new(t, "status", s);
    }
    json_t *rep = json_path_get(obj, "spec.replicas");
    json_t *ip = json_path_get(obj, "spec.clusterIP"); /* Services: how to reach the REST API */
    if (rep || ip) {
        json_t *sp = json_object();
        if (rep)
            json_object_set(sp, "replicas", rep);
        if (ip)
            json_object_set(sp, "clusterIP", ip);
        json_object_set_new(t, "spec", sp);
    }
    return t;
}

json_t *deployment_trim_pod(json_t *obj)
{
    json_t *t = deployment_trim_child(obj);
    json_t *st = json_object_get(obj, "status");
    json_t *cs = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(st, "containerStatuses"), i, c)
    {
        json_t *w = json_path_get(c, "state.waiting");
        json_t *e = json_object();
        json_object_set(e, "name", json_object_get(c, "name"));
        if (w)
            json_object_set_new(e, "waiting",
                                json_pack("{s:O?,s:O?}", "reason", json_object_get(w, "reason"),
                                          "message", json_object_get(w, "message")));
        json_array_append_new(cs, e);
    }
    json_object_set_new(
        t, "status",
        json_pack("{s:O?,s:o}", "phase", json_object_get(st, "phase"), "containerStatuses", cs));
    return t;
}

int deployment_index_app(const json_t *obj, const char **out, int cap)
{
    const char *app = json_path_string(obj, "metadata.labels.app", NULL);
    if (!app || cap < 1)
        return 0;
    out[0] = app;
    return 1;
}

/* A JobManager pod stuck for a reason that needs a spec change (upstream's list). */
static bool pod_error(struct deployment_ctx *ctx, const char *ns, const char *app, char *reason,
                      size_t rcap, char *msg, size_t mcap)
{
    static const char *const fatal[] = {"CrashLoopBackOff",
                                        "ImagePullBackOff",
                                        "ErrImagePull",
                                        "ErrImageNeverPull",
                                        "CreateContainerConfigError",
                                        "CreateContainerError",
                                        "InvalidImageName",
                                        NULL};
    if (!ctx->pods)
        return false;
    json_t *keys = informer_by_index(ctx->pods, "app", app);
    bool found = false;
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        json_t *pod = informer_get(ctx->pods, json_string_value(k));
        if (!pod)
            continue;
        if (strcmp(json_path_string(pod, "metadata.namespace", ""), ns) == 0 &&
            strcmp(json_path_string(pod, "metadata.labels.component", ""), "jobmanager") == 0) {
            size_t j;
            json_t *c;
            json_array_foreach(json_path_get(pod, "status.containerStatuses"), j, c)
            {
                const char *r = json_path_string(c, "waiting.reason", NULL);
                for (const char *const *f = fatal; r && *f && !found; f++)
                    if (strcmp(r, *f) == 0) {
                        snprintf(reason, rcap, "%s", r);
                        snprintf(msg, mcap, "%s", json_path_string(c, "waiting.message", r));
                        found = true;
                    }
            }
        }
        json_decref(pod);
        if (found)
            break;
    }
    json_decref(keys);
    return found;
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

/* PUT .../status with the resourceVersion the object was read at (or last written at: `fd`'s
 * resourceVersion is moved forward, so one reconcile may write several times, each write
 * conflicting if anyone else wrote in between). */
static int write_status(struct deployment_ctx *ctx, const json_t *fd, json_t *status,
                        weir_error *err)
{
    json_t *obj = json_deep_copy(fd);
    json_object_set(obj, "status", status);
    json_t *out = NULL;
    int rc =
        kube_update(ctx->kc, &DEPLOYMENT_RES_FLINKDEPLOYMENTS,
                    json_path_string(fd, "metadata.namespace", NULL), obj, "status", &out, err);
    const char *rv = json_path_string(out, "metadata.resourceVersion", NULL);
    if (rc == 0 && rv)
        (void)!json_path_set((json_t *)fd, "metadata.resourceVersion", json_string(rv));
    json_decref(out);
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

/* kubernetes.operator.job.savepoint-on-deletion: a running application job is stopped with a
 * savepoint before its cluster goes. The trigger id is written first (the WAL), the result is
 * polled without waiting, and the location is recorded in status and in a Normal event, so it
 * outlives the resource in the event log. A failed savepoint is tried again; a job that is not
 * running, or a JobManager that does not answer, is deleted as upstream does. *hold: the
 * deletion waits. */
static int savepoint_on_deletion(struct deployment_ctx *ctx, json_t *fd, json_t *status, bool *hold,
                                 long *requeue_ms, weir_error *err)
{
    *hold = false;
    const char *name = json_path_string(fd, "metadata.name", "");
    const char *ns = json_path_string(fd, "metadata.namespace", "default");
    if (!json_path_get(fd, "spec.job") || !ctx->rest)
        return 0;
    config *defaults =
        ctx->cfg
            ? opconfig_defaults_for(ctx->cfg, ns, json_path_string(fd, "spec.flinkVersion", NULL))
            : NULL;
    config *conf = NULL;
    bool on = false;
    const char *dir = NULL;
    weir_error ce = {0};
    int rc = 0;
    if (children_resource_config(fd, defaults, &conf, &ce) == 0) {
        if (config_get_bool(conf, "kubernetes.operator.job.savepoint-on-deletion", false, &on, &ce))
            on = false;
        dir = config_get(conf, "state.savepoints.dir");
        if (!dir)
            dir = config_get(conf, "execution.checkpointing.savepoint-dir");
    }
    const char *jid = json_path_string(status, "jobStatus.jobId", NULL);
    const char *tid = json_path_string(status, "jobStatus.savepointInfo.triggerId", NULL);
    bool deleting_sp =
        tid &&
        strcmp(json_path_string(status, "jobStatus.savepointInfo.triggerType", ""), "UPGRADE") == 0;
    char base[128];
    if (!on || !jid || !dir || !deployment_rest_base(ctx->services, ns, name, base, sizeof(base)))
        goto out;
    flinkrest fr = {.hc = ctx->rest, .base = base, .timeout_ms = 5000};
    weir_error e = {0};
    bool running = strcmp(json_path_string(status, "jobStatus.state", ""), "RUNNING") == 0;
    char req[33];
    if (!deleting_sp) {
        if (!running)
            goto out; /* nothing runs: nothing to save */
        char id[33];
        random_hex(id, 32);
        json_t *si = json_path_get(status, "jobStatus.savepointInfo");
        if (!json_is_object(si)) {
            si = json_object();
            (void)!json_path_set(status, "jobStatus.savepointInfo", si);
        }
        json_object_set_new(si, "triggerId", json_string(id));
        json_object_set_new(si, "triggerType", json_string("UPGRADE"));
        json_object_set_new(si, "triggerTimestamp", json_integer(wall_ms(ctx)));
        json_object_set_new(si, "formatType", json_string("CANONICAL"));
        if ((rc = write_status(ctx, fd, status, err)))
            goto out;
        application_crashpoint("deletion-savepoint-trigger");
        event(ctx, fd, EVENT_NORMAL, "Suspended",
              "Stopping the job with a savepoint before deletion");
        if (flinkrest_stop_with_savepoint(&fr, jid, dir, false, id, req, &e) != 0)
            log_warn("stop-with-savepoint before deletion not accepted yet", "name", name, "error",
                     e.msg);
        *hold = true;
        *requeue_ms = ctx->cfg ? ctx->cfg->progress_check_interval_ms : 2000;
        goto out;
    }
    flinkrest_op op = {0};
    int src = flinkrest_savepoint_status(&fr, jid, tid, &op, &e);
    int stop = 0;
    if (src == WEIR_ENOTFOUND && running) { /* never reached the JobManager: send it again */
        stop = flinkrest_stop_with_savepoint(&fr, jid, dir, false, tid, req, &e);
        if (stop)
            log_warn("stop-with-savepoint before deletion not accepted", "name", name, "error",
                     e.msg);
    }
    bool gone = stop == WEIR_ENOTFOUND || stop == WEIR_ECONFLICT; /* the job is not running */
    if (src == WEIR_ENOTFOUND && running && !gone) {
        *hold = true;
    } else if (gone) {
        json_t *si = json_path_get(status, "jobStatus.savepointInfo");
        json_object_del(si, "triggerId");
        json_object_del(si, "triggerTimestamp");
        json_object_del(si, "triggerType");
        json_object_del(si, "formatType");
        log_info("the job is not running: deleted without a savepoint", "name", name);
        rc = write_status(ctx, fd, status, err);
    } else if (src == WEIR_ENOTFOUND || (src == 0 && op.done)) {
        json_t *si = json_path_get(status, "jobStatus.savepointInfo");
        json_object_del(si, "triggerId");
        json_object_del(si, "triggerTimestamp");
        json_object_del(si, "triggerType");
        json_object_del(si, "formatType");
        char msg[1300];
        if (src == 0 && !op.failed) {
            json_t *sp =
                json_pack("{s:I,s:s,s:s,s:s}", "timeStamp", (json_int_t)wall_ms(ctx), "location",
                          op.location, "triggerType", "UPGRADE", "formatType", "CANONICAL");
            json_object_set_new(si, "lastSavepoint", sp);
            (void)!json_path_set(status, "jobStatus.upgradeSavepointPath",
                                 json_string(op.location));
            snprintf(msg, sizeof(msg), "Savepoint (UPGRADE) completed before deletion: %s",
                     op.location);
            event(ctx, fd, EVENT_NORMAL, "SavepointCompleted", msg);
            log_info("savepoint taken before deletion", "name", name, "location", op.location);
        } else {
            snprintf(msg, sizeof(msg), "Savepoint before deletion failed (trying again): %s",
                     src ? "the JobManager no longer knows the trigger" : op.failure);
            event(ctx, fd, EVENT_WARNING, "SavepointError", msg);
            *hold = true; /* upstream: the deletion fails and is retried; state is never lost */
        }
        if ((rc = write_status(ctx, fd, status, err)))
            goto out;
    } else {
        *hold = true; /* in progress, or the JobManager did not answer this time */
    }
    if (*hold)
        *requeue_ms = ctx->cfg ? ctx->cfg->progress_check_interval_ms : 2000;
out:
    config_free(conf);
    config_free(defaults);
    return rc;
}

static int reconcile_delete(struct deployment_ctx *ctx, const json_t *fd, long *requeue_ms,
                            weir_error *err)
{
    const char *name = json_path_string(fd, "metadata.name", "");
    const char *ns = json_path_string(fd, "metadata.namespace", "default");
    int fi = finalizer_index(fd);
    if (fi < 0)
        return 0;
    /* a session cluster waits while session jobs use it (session.deletion.block-on-session-jobs) */
    if (ctx->sessionjobs && !json_path_get(fd, "spec.job")) {
        json_t *keys = informer_by_index(ctx->sessionjobs, "deployment", name);
        size_t i, users = 0;
        json_t *k;
        json_array_foreach(keys, i, k)
        {
            json_t *sj = informer_get(ctx->sessionjobs, json_string_value(k));
            if (sj && strcmp(json_path_string(sj, "metadata.namespace", ""), ns) == 0)
                users++;
            json_decref(sj);
        }
        json_decref(keys);
        if (users) {
            char msg[300];
            snprintf(msg, sizeof(msg),
                     "The session cluster cannot be deleted while %zu FlinkSessionJob(s) use it",
                     users);
            event(ctx, fd, EVENT_WARNING, "CleanupFailed", msg);
            *requeue_ms = ctx->cfg ? ctx->cfg->reconcile_interval_ms : 60000;
            return 0;
        }
    }
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
    bool hold = false;
    int src = savepoint_on_deletion(ctx, (json_t *)fd, status, &hold, requeue_ms, err);
    json_decref(status);
    if (src == WEIR_ECONFLICT) {
        *requeue_ms = 100;
        return 0;
    }
    if (src || hold)
        return src;
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
    char xkey[400];
    snprintf(xkey, sizeof(xkey), "JobException/%s", json_path_string(fd, "metadata.uid", ""));
    applied_forget(ctx->applied, xkey);
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
    if (rc == 0) {
        static const char *const kinds[] = {"ConfigMap",  "Service",    "Service",
                                            "Deployment", "Deployment", "Ingress"};
        static const char *const prefix[] = {"flink-config-", "", "", "", "", ""};
        static const char *const suffix[] = {"", "", "-rest", "", "-taskmanager", ""};
        for (int k = 0; k < 6; k++) {
            char akey[700];
            snprintf(akey, sizeof(akey), "%s/%s/%s%s%s", kinds[k], ns, prefix[k], name, suffix[k]);
            applied_forget(ctx->applied, akey);
        }
        log_info("FlinkDeployment deleted", "namespace", ns, "name", name);
    }
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
    if (rc)
        return rc;
    /* operator keys of the resource: periodic snapshot intervals are durations or cron */
    config *own = NULL;
    if ((rc = children_resource_config(fd, defaults, &own, err)))
        return rc;
    static const char *const PERIODIC[] = {"kubernetes.operator.periodic.savepoint.interval",
                                           "kubernetes.operator.periodic.checkpoint.interval",
                                           NULL};
    long long next;
    for (const char *const *k = PERIODIC; !rc && *k; k++)
        rc = application_periodic_next(own, *k, 0, &next, err);
    config_free(own);
    return rc;
}

bool deployment_rest_base(informer *services, const char *ns, const char *name, char *base,
                          size_t cap)
{
    char svc[300];
    snprintf(svc, sizeof(svc), "%s-rest", name);
    json_t *s = cached(services, ns, svc);
    const char *ip = json_path_string(s, "spec.clusterIP", NULL);
    bool ok = ip && strcmp(ip, "None") != 0;
    if (ok)
        snprintf(base, cap, "http://%s:8081", ip);
    json_decref(s);
    return ok;
}

/* kubernetes.operator.cluster.health-check.enabled: the running job's restarts and
 * checkpoint progress, evaluated into status.clusterInfo (health.c). Returns false when the
 * job is judged unhealthy. */
static bool observe_health(const flinkrest *fr, json_t *status, const config *rconf, long long now)
{
    bool on = false;
    weir_error e = {0};
    if (config_get_bool(rconf, "kubernetes.operator.cluster.health-check.enabled", false, &on,
                        &e) ||
        !on)
        return true;
    const char *jid = json_path_string(status, "jobStatus.jobId", NULL);
    json_t *ci = json_object_get(status, "clusterInfo");
    const char *st = json_path_string(status, "jobStatus.state", "");
    bool live = strcmp(st, "RUNNING") == 0 || strcmp(st, "RESTARTING") == 0 ||
                strcmp(st, "FAILING") == 0 || strcmp(st, "CREATED") == 0;
    if (!jid || !json_is_object(ci) || !live)
        return health_is_healthy(ci);
    json_t *m = NULL;
    if (flinkrest_job_metrics(fr, jid, "numRestarts,numberOfCompletedCheckpoints", &m, &e) != 0) {
        log_debug("job metrics not available for the health check", "error", e.msg);
        return health_is_healthy(ci);
    }
    const char *r = json_string_value(json_object_get(m, "numRestarts"));
    const char *c = json_string_value(json_object_get(m, "numberOfCompletedCheckpoints"));
    health_obs obs = {.ts = now,
                      .num_restarts = r ? strtoll(r, NULL, 10) : 0,
                      .num_completed_checkpoints = c ? strtoll(c, NULL, 10) : 0};
    json_decref(m);
    bool ok = health_evaluate(rconf, ci, &obs, now);
    if (!ok)
        log_warn("the job is unhealthy", "job_id", jid, "restarts", r ? r : "?",
                 "completed_checkpoints", c ? c : "?");
    return ok;
}

/* A FAILED job's cause goes to status.error (with a Warning `Error` event when it changes);
 * entries of the job's exception history not reported yet become Warning `JobException`
 * events (at most kubernetes.operator.events.exceptions.limit-per-reconciliation, 10, with up
 * to five stack lines each). The newest reported timestamp is remembered per job; after an
 * operator restart only the last 30 minutes are reported, as upstream. */
static void observe_failures(struct deployment_ctx *ctx, const json_t *fd, json_t *status,
                             const char *old_state, const char *state, const char *base,
                             long timeout)
{
    const char *jid = json_path_string(status, "jobStatus.jobId", NULL);
    if (!jid || !state)
        return;
    flinkrest fr = {.hc = ctx->rest, .base = base, .timeout_ms = timeout};
    weir_error e = {0};
    if (strcmp(state, "FAILED") == 0) {
        char cls[256], trace[4096];
        if (flinkrest_job_failure(&fr, jid, cls, sizeof(cls), trace, sizeof(trace), &e) == 0) {
            char *nl = strchr(trace, '\n');
            if (nl)
                *nl = '\0';
            char *ej = error_json(cls[0] ? cls : "org.apache.flink.runtime.JobException",
                                  trace[0] ? trace : "the job failed");
            if (ej && strcmp(json_path_string(status, "error", ""), ej) != 0) {
                event(ctx, fd, EVENT_WARNING, "Error", trace[0] ? trace : "the job failed");
                json_object_set_new(status, "error", json_string(ej));
            }
            free(ej);
        }
    }
    if (lifecycle_job_terminal(old_state) && lifecycle_job_terminal(state))
        return; /* nothing new can have happened */
    long long limit = 10;
    config *own = NULL;
    weir_error ce = {0};
    if (children_resource_config(fd, NULL, &own, &ce) == 0 &&
        config_get_int(own, "kubernetes.operator.events.exceptions.limit-per-reconciliation", 10,
                       &limit, &ce) != 0)
        limit = 10;
    config_free(own);
    if (limit <= 0)
        return;
    json_t *entries = NULL;
    if (flinkrest_job_exceptions(&fr, jid, (int)limit, &entries, &e) != 0)
        return;
    char key[400];
    /* one entry per resource, for its current job */
    snprintf(key, sizeof(key), "JobException/%s", json_path_string(fd, "metadata.uid", ""));
    long long seen = (long long)applied_mark(ctx->applied, key, jid);
    if (seen == 0)
        seen = wall_ms(ctx) - 30LL * 60 * 1000;
    long long newest = seen;
    size_t i, n = json_array_size(entries);
    for (i = n; i > 0; i--) { /* oldest first */
        json_t *x = json_array_get(entries, i - 1);
        long long ts = json_integer_value(json_object_get(x, "timestamp"));
        if (ts <= seen)
            continue;
        const char *st = json_string_value(json_object_get(x, "stacktrace"));
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", st ? st : "(no stack trace)");
        char *p = msg;
        for (int lines = 0; p && *p; lines++) { /* at most five lines */
            p = strchr(p, '\n');
            if (!p)
                break;
            if (lines == 4) {
                *p = '\0';
                break;
            }
            p++;
        }
        event(ctx, fd, EVENT_WARNING, "JobException", msg);
        if (ts > newest)
            newest = ts;
    }
    json_decref(entries);
    if (newest > seen)
        applied_record(ctx->applied, key, (uint64_t)newest, jid);
}

/* The JobManager answers its REST API: READY, clusterInfo, jobStatus, and a spec that runs is
 * stable. A JobManager that does not answer stays DEPLOYED_NOT_READY (checked again at the
 * progress-check interval); once READY every reconcile observes the job again, so jobStatus
 * follows the job (CREATED -> RUNNING, restarts, failures). Nothing here blocks longer than the
 * client timeout. */
static bool observe_rest(struct deployment_ctx *ctx, const json_t *fd, json_t *status,
                         const json_t *old_status, bool app, char *base_out, size_t base_cap)
{
    const char *name = json_path_string(fd, "metadata.name", "");
    const char *ns = json_path_string(fd, "metadata.namespace", "default");
    const char *jms = json_path_string(status, "jobManagerDeploymentStatus", "");
    if (!ctx->rest || (strcmp(jms, "DEPLOYED_NOT_READY") != 0 && strcmp(jms, "READY") != 0))
        return false;
    char base[128];
    if (!deployment_rest_base(ctx->services, ns, name, base, sizeof(base)))
        return false;
    snprintf(base_out, base_cap, "%s", base);
    long timeout = ctx->cfg && ctx->cfg->flink_client_timeout_ms < 3000
                       ? (long)ctx->cfg->flink_client_timeout_ms
                       : 3000;
    observer_result r;
    weir_error err = {0};
    if (observer_query(ctx->rest, base, timeout, &r, &err) != 0) {
        log_debug("JobManager REST API not answering", "name", name, "error", err.msg);
        return false;
    }
    json_object_set_new(status, "jobManagerDeploymentStatus", json_string("READY"));
    json_t *ci = json_object_get(status, "clusterInfo");
    if (!json_is_object(ci)) {
        ci = json_object();
        json_object_set_new(status, "clusterInfo", ci);
    }
    json_object_update(ci, r.cluster_info);
    bool running = !app;
    if (app && r.job) {
        const char *old_state = json_path_string(old_status, "jobStatus.state", "");
        const char *state = json_string_value(json_object_get(r.job, "state"));
        if (strcmp(old_state, state) != 0) {
            char msg[200];
            snprintf(msg, sizeof(msg), "Job status changed from %s to %s",
                     *old_state ? old_state : "(none)", state);
            event(ctx, fd, EVENT_NORMAL, "JobStatusChanged", msg);
        }
        json_t *js = json_object_get(status, "jobStatus");
        if (!json_is_object(js)) {
            js = json_object();
            json_object_set_new(status, "jobStatus", js);
        }
        /* updateTime moves only when the state does */
        if (strcmp(old_state, state) == 0)
            json_object_del(r.job, "updateTime");
        json_object_update(js, r.job);
        running = strcmp(state, "RUNNING") == 0;
        observe_failures(ctx, fd, status, old_state, state, base, timeout);
    }
    json_t *recon = json_object_get(status, "reconciliationStatus");
    const char *last = json_path_string(recon, "lastReconciledSpec", NULL);
    if (running && last && strcmp(json_path_string(recon, "state", ""), "DEPLOYED") == 0)
        json_object_set_new(recon, "lastStableSpec", json_string(last));
    observer_result_clear(&r);
    return true;
}

/* --- applying and deleting children ---------------------------------------------------------- */

/* Applies what differs from the cache: first a dry run of every change, so that an object the
 * apiserver refuses (e.g. an invalid pod template) leaves nothing half-deployed. A refusal is
 * recorded in status.error with a Warning event. */
static int apply_children(struct deployment_ctx *ctx, const json_t *fd, json_t *status,
                          const json_t *old_status, const json_t *objs, const json_t *spec,
                          const char *ns, weir_error *err)
{
    int rc = 0;
    size_t i, n = json_array_size(objs);
    bool *todo = calloc(n ? n : 1, sizeof(bool));
    uint64_t *hashes = calloc(n ? n : 1, sizeof(uint64_t));
    if (!todo || !hashes) {
        free(todo);
        free(hashes);
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    }
    json_t *o;
    size_t pending = 0;
    json_array_foreach(objs, i, o)
    {
        const char *kind = json_path_string(o, "kind", "");
        const char *cname = json_path_string(o, "metadata.name", "");
        json_t *live = cached(cache_for(ctx, kind), ns, cname);
        char akey[700], mbuf[64];
        snprintf(akey, sizeof(akey), "%s/%s/%s", kind, ns, cname);
        hashes[i] = object_hash(o);
        const char *marker = marker_of(live, kind, mbuf, sizeof(mbuf));
        todo[i] = !live || json_path_get(live, "metadata.deletionTimestamp") ||
                  !applied_matches(ctx->applied, akey, hashes[i], marker);
        if (todo[i] && live && !json_path_get(live, "metadata.deletionTimestamp") &&
            !applied_known(ctx->applied, akey) && applied_by_us(live, hashes[i])) {
            /* applied before a restart, unchanged since: remember it instead of writing */
            applied_record(ctx->applied, akey, hashes[i], marker);
            todo[i] = false;
        }
        pending += todo[i];
        json_decref(live);
    }
    /* Only user content (pod templates, ingress rules) can make the apiserver refuse what we
     * build; without any, the dry run is skipped (it costs a request per object). */
    bool user_content =
        json_path_get(spec, "podTemplate") || json_path_get(spec, "jobManager.podTemplate") ||
        json_path_get(spec, "taskManager.podTemplate") || json_path_get(spec, "ingress");
    for (int pass = user_content ? 0 : 1; pass < 2 && pending && !rc; pass++) {
        json_array_foreach(objs, i, o)
        {
            if (!todo[i])
                continue;
            const char *kind = json_path_string(o, "kind", "");
            /* only objects with user content (pod templates, ingress rules) can be refused */
            if (pass == 0 && strcmp(kind, "Deployment") != 0 && strcmp(kind, "Ingress") != 0)
                continue;
            const char *cname = json_path_string(o, "metadata.name", "");
            kube_patch_opts po = {
                .field_manager = CHILDREN_FIELD_MANAGER, .force = true, .dry_run = pass == 0};
            json_t *applied = NULL;
            json_t *body = with_hash(o, hashes[i]);
            rc = body ? kube_patch(ctx->kc, resource_for(kind), ns, cname, KUBE_PATCH_APPLY, body,
                                   &po, &applied, err)
                      : weir_error_set(err, WEIR_ENOMEM, "out of memory");
            json_decref(body);
            if (rc == 0 && pass == 1) {
                char akey[700], mbuf[64];
                snprintf(akey, sizeof(akey), "%s/%s/%s", kind, ns, cname);
                applied_record(ctx->applied, akey, hashes[i],
                               marker_of(applied, kind, mbuf, sizeof(mbuf)));
            }
            json_decref(applied);
            if (rc) {
                weir_error_prefix(err, "%s %s", kind, cname);
                break;
            }
        }
    }
    free(todo);
    free(hashes);
    if (rc == WEIR_EINVAL) {
        /* the apiserver refused what we built: say so, deploy nothing, retry with backoff */
        char *ej = error_json("org.apache.flink.kubernetes.operator.exception."
                              "ReconciliationException",
                              err ? err->msg : weir_strerror(rc));
        bool same = ej && strcmp(json_path_string(old_status, "error", ""), ej) == 0;
        if (ej && !same) {
            json_object_set_new(status, "error", json_string(ej));
            set_lifecycle(status);
            event(ctx, fd, EVENT_WARNING, "Error", err ? err->msg : "invalid object");
            if (write_status(ctx, fd, status, NULL) != 0)
                log_warn("cannot write status", "name", json_path_string(fd, "metadata.name", ""));
        }
        free(ej);
    }
    return rc;
}

/* Deletes the JobManager and TaskManager Deployments (a suspended job, or an upgrade between
 * its stop and its restore). Services and the ConfigMap stay. Idempotent. */
static int delete_cluster(struct deployment_ctx *ctx, const char *ns, const char *name,
                          weir_error *err)
{
    char names[2][300];
    snprintf(names[0], 300, "%s", name);
    snprintf(names[1], 300, "%s-taskmanager", name);
    for (int i = 0; i < 2; i++) {
        json_t *live = cached(ctx->deployments, ns, names[i]);
        if (!live)
            continue;
        bool deleting = json_path_get(live, "metadata.deletionTimestamp") != NULL;
        json_decref(live);
        if (deleting)
            continue;
        kube_delete_opts o = {.propagation = "Foreground", .grace_period_seconds = -1};
        int rc = kube_delete(ctx->kc, &KUBE_RES_DEPLOYMENTS, ns, names[i], &o, err);
        if (rc && rc != WEIR_ENOTFOUND)
            return rc;
        char akey[700];
        snprintf(akey, sizeof(akey), "Deployment/%s/%s", ns, names[i]);
        applied_forget(ctx->applied, akey);
        log_info("deleted cluster deployment", "namespace", ns, "name", names[i]);
    }
    return 0;
}

/* The job lifecycle's status writes and events, on the resource being reconciled. */
struct app_write_ud {
    struct deployment_ctx *ctx;
    json_t *fd; /* resourceVersion moves forward with each write */
    const config *conf;
};

static int app_write(void *ud, json_t *status, weir_error *err)
{
    struct app_write_ud *w = ud;
    set_lifecycle(status);
    int rc = write_status(w->ctx, w->fd, status, err);
    if (rc == 0)
        json_object_set_new(w->fd, "status", json_deep_copy(status)); /* what is stored now */
    else
        log_warn("cannot write status", "name", json_path_string(w->fd, "metadata.name", ""),
                 "error", err ? err->msg : "");
    return rc;
}

static int app_create_snapshot(void *ud, bool checkpoint, const char *trigger_type,
                               const char *path, const char *format, bool already_exists,
                               const char *dedupe, weir_error *err)
{
    struct app_write_ud *w = ud;
    return snapshot_create_for(w->ctx->kc, w->ctx->snapshots, "FlinkDeployment", w->fd, w->conf,
                               checkpoint, trigger_type, path, format, already_exists, dedupe,
                               wall_ms(w->ctx), err);
}

static void app_event(void *ud, const char *type, const char *reason, const char *msg)
{
    struct app_write_ud *w = ud;
    event(w->ctx, w->fd, strcmp(type, "Warning") == 0 ? EVENT_WARNING : EVENT_NORMAL, reason, msg);
}

/* --- reconcile ----------------------------------------------------------------------------------
 */

int deployment_reconcile(struct deployment_ctx *ctx, const char *key, long *requeue_ms,
                         weir_error *err)
{
    int rc = 0;
    json_t *objs = NULL, *status = NULL, *old_status = NULL;
    application_plan plan = {0}; /* the job lifecycle's decision (deploy_spec owned) */
    config *defaults = NULL;     /* the resource's default Flink configuration (owned) */
    *requeue_ms = 0;
    json_t *cached_fd = informer_get(ctx->flinkdeployments, key);
    if (!cached_fd)
        return 0; /* gone: nothing left to do */
    /* our own copy: status writes move its resourceVersion and status forward */
    json_t *fd = json_deep_copy(cached_fd);
    json_decref(cached_fd);
    if (!fd)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
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
        json_t *patched = NULL;
        rc = kube_patch(ctx->kc, &DEPLOYMENT_RES_FLINKDEPLOYMENTS, ns, name, KUBE_PATCH_JSON, patch,
                        NULL, &patched, err);
        json_decref(patch);
        if (rc == WEIR_EINVAL || rc == WEIR_ECONFLICT) {
            /* changed meanwhile (the informer was behind): read again */
            json_decref(patched);
            rc = 0;
            *requeue_ms = 1;
            goto out;
        }
        if (rc)
            goto out;
        if (finalizer_index(patched) < 0) {
            json_decref(patched);
            *requeue_ms = 1;
            goto out;
        }
        /* go on from the stored object: the informer may not have it yet, and waiting for it
         * would cost a second reconcile (and, on a stale read, a second patch) */
        json_decref(fd);
        fd = patched;
        name = json_path_string(fd, "metadata.name", "");
        ns = json_path_string(fd, "metadata.namespace", "default");
        gen = json_path_int(fd, "metadata.generation", 0);
    }

    old_status = json_incref(json_object_get(fd, "status")); /* as read (owned) */
    status = old_status ? json_deep_copy(old_status) : json_object();
    const json_t *spec = json_object_get(fd, "spec");
    bool app = json_is_object(json_object_get(spec, "job"));

    /* validate: what the CRD cannot reject ends in status.error and a Warning event */
    weir_error verr = {0};
    int vrc = 0;
    if (!json_path_string(spec, "flinkVersion", NULL))
        vrc = weir_error_set(&verr, WEIR_EINVAL, "spec.flinkVersion: Flink version must be set");
    /* the operator's default Flink configuration, with this namespace's and version's keys */
    defaults =
        ctx->cfg ? opconfig_defaults_for(ctx->cfg, ns, json_path_string(spec, "flinkVersion", NULL))
                 : NULL;
    if (ctx->cfg && !defaults) {
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        goto out;
    }
    if (!vrc)
        vrc = validate_flink_config(fd, defaults, &verr);
    if (!vrc)
        vrc = children_build(fd, defaults, &objs, &verr);
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

    /* a changed spec: say what changed, once per generation */
    const char *last = json_path_string(status, "reconciliationStatus.lastReconciledSpec", NULL);
    json_t *last_doc = last ? json_loads(last, 0, NULL) : NULL;
    json_t *last_spec = json_object_get(last_doc, "spec");
    bool changed = !last_spec || !json_equal(last_spec, (json_t *)spec);
    if (last_spec && changed && json_path_int(old_status, "observedGeneration", -1) != gen) {
        json_t *changes = NULL;
        struct specdiff_options so = {
            .standalone = true,
        };
        enum spec_diff d = specdiff_compute(last_spec, spec, &so, &changes);
        char msg[512];
        specdiff_describe(d, changes, msg, sizeof(msg));
        json_decref(changes);
        if (d != SPEC_DIFF_IGNORE)
            event(ctx, fd, EVENT_NORMAL, "SpecChanged", msg);
    }
    json_decref(last_doc);

    /* observe: the JobManager Deployment, its pods, its REST API */
    char tm_sel[600], now[40];
    snprintf(tm_sel, sizeof(tm_sel),
             "app=%s,component=taskmanager,type=flink-standalone-kubernetes", name);
    long long t = wall_ms(ctx);
    time_t secs = (time_t)(t / 1000);
    struct tm tmv;
    gmtime_r(&secs, &tmv);
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tmv);
    char tm_name[300];
    snprintf(tm_name, sizeof(tm_name), "%s-taskmanager", name);
    json_t *jm = cached(ctx->deployments, ns, name);
    json_t *tmd = cached(ctx->deployments, ns, tm_name);
    bool cluster_present = jm || tmd;
    /* a JobManager Deployment this operator saw serving is gone (deleted by hand, lost with
     * its namespace's quota, ...) while its job should run */
    const char *old_jms = json_path_string(old_status, "jobManagerDeploymentStatus", "");
    bool jm_lost =
        app && !jm && (strcmp(old_jms, "READY") == 0 || strcmp(old_jms, "DEPLOYED_NOT_READY") == 0);
    bool jm_never_available = jm && json_path_int(jm, "status.availableReplicas", 0) == 0 &&
                              json_path_get(jm, "metadata.deletionTimestamp") == NULL;
    json_object_set_new(status, "jobManagerDeploymentStatus",
                        json_string(jm ? jm_status(jm) : (app ? "MISSING" : "DEPLOYING")));
    json_decref(jm);
    json_decref(tmd);
    char preason[64], pmsg[512];
    bool perr = pod_error(ctx, ns, name, preason, sizeof(preason), pmsg, sizeof(pmsg));
    if (perr) {
        json_object_set_new(status, "jobManagerDeploymentStatus", json_string("ERROR"));
        char text[700];
        snprintf(text, sizeof(text), "JobManager deployment failure: %s: %s", preason, pmsg);
        char *ej = error_json("org.apache.flink.kubernetes.operator.exception."
                              "DeploymentFailedException",
                              text);
        if (ej && strcmp(json_path_string(old_status, "error", ""), ej) != 0)
            event(ctx, fd, EVENT_WARNING, preason, text);
        if (ej)
            json_object_set_new(status, "error", json_string(ej));
        free(ej);
    }
    char rest_base[128];
    bool reachable = observe_rest(ctx, fd, status, old_status, app, rest_base, sizeof(rest_base));

    /* the job lifecycle decides which cluster exists (status is its write-ahead log) */
    bool want_cluster = true, skip_children = false;
    if (app) {
        config *rconf = NULL;
        if ((rc = children_resource_config(fd, defaults, &rconf, err)))
            goto out;
        flinkrest fr = {.hc = ctx->rest, .base = rest_base, .timeout_ms = 5000};
        struct app_write_ud wud = {ctx, fd, rconf};
        bool snap_res = true;
        weir_error serr = {0};
        if (config_get_bool(rconf, "kubernetes.operator.snapshot.resource.enabled", true, &snap_res,
                            &serr))
            snap_res = true;
        snap_res = snap_res && ctx->snapshots != NULL;
        if (snap_res)
            snapshot_observe_for(ctx->kc, ctx->snapshots, "FlinkDeployment", fd, status, rconf, t);
        bool unhealthy = reachable && !observe_health(&fr, status, rconf, t);
        application_env env = {
            .unhealthy = unhealthy,
            .rest = reachable ? &fr : NULL,
            .cluster_present = cluster_present,
            .jm_never_available = jm_never_available,
            .now_ms = t,
            .progress_ms = ctx->cfg ? (long)ctx->cfg->progress_check_interval_ms : 10000,
            .reconcile_ms = ctx->cfg ? (long)ctx->cfg->reconcile_interval_ms : 60000,
            .conf = rconf,
            .write = app_write,
            .event = app_event,
            .create_snapshot = snap_res ? app_create_snapshot : NULL,
            .ud = &wud,
        };
        rc = application_reconcile(fd, status, &env, &plan, err);
        config_free(rconf);
        if (rc == WEIR_ECONFLICT) { /* someone wrote first: read again, never overwrite */
            rc = 0;
            *requeue_ms = 100;
            goto out;
        }
        if (rc)
            goto out;
        want_cluster = plan.deploy_spec != NULL;
        if (want_cluster) {
            json_decref(objs);
            objs = NULL;
            json_t *dfd = json_deep_copy(fd);
            json_object_set(dfd, "spec", plan.deploy_spec);
            weir_error berr = {0};
            int brc = children_build(dfd, defaults, &objs, &berr);
            json_decref(dfd);
            if (brc) {
                rc = weir_error_set(err, brc, "%s", berr.msg);
                goto out;
            }
        }
    }

    if (want_cluster && jm_lost && !plan.deployed) {
        /* kubernetes.operator.jm-deployment-recovery.enabled: re-create it. The JobManager
         * keeps the recorded job id, and a job id that has completed checkpoints continues from
         * the newest one (the runtime's recovery), so nothing is restarted from older state. */
        bool recover = true;
        weir_error re = {0};
        config *rc2 = NULL;
        if (children_resource_config(fd, defaults, &rc2, &re) == 0 &&
            config_get_bool(rc2, "kubernetes.operator.jm-deployment-recovery.enabled", true,
                            &recover, &re) != 0)
            recover = true;
        config_free(rc2);
        if (recover) {
            event(ctx, fd, EVENT_WARNING, "RecoverDeployment", "Recovering lost deployment");
            log_warn("JobManager deployment lost: recovering it", "namespace", ns, "name", name);
        } else {
            char *ej = error_json("org.apache.flink.kubernetes.operator.exception."
                                  "RecoveryFailureException",
                                  "JobManager deployment not found and "
                                  "kubernetes.operator.jm-deployment-recovery.enabled is false");
            if (ej && strcmp(json_path_string(old_status, "error", ""), ej) != 0)
                event(ctx, fd, EVENT_WARNING, "RecoverDeployment",
                      "JobManager deployment not found; recovery is disabled");
            if (ej)
                json_object_set_new(status, "error", json_string(ej));
            free(ej);
            want_cluster = false;
            skip_children = true;
        }
    }
    if (want_cluster) {
        rc = apply_children(ctx, fd, status, old_status, objs, spec, ns, err);
        if (rc)
            goto out;
        if (app && plan.deployed) {
            json_object_set_new(
                json_object_get(status, "reconciliationStatus"), "state",
                json_string(plan.deployed_state ? plan.deployed_state : "DEPLOYED"));
            if (!perr)
                json_object_set_new(status, "jobManagerDeploymentStatus", json_string("DEPLOYING"));
        }
    } else if (!skip_children) {
        if ((rc = delete_cluster(ctx, ns, name, err)))
            goto out;
        json_object_set_new(status, "jobManagerDeploymentStatus", json_string("MISSING"));
    }

    /* status */
    config *flink = NULL;
    int replicas = 1;
    if (children_flink_config(fd, defaults, &flink, NULL) == 0)
        replicas = children_tm_replicas(fd, flink);
    config_free(flink);
    if (want_cluster)
        json_object_set_new(status, "taskManager",
                            json_pack("{s:s,s:i}", "labelSelector", tm_sel, "replicas", replicas));
    else
        json_object_set_new(status, "taskManager",
                            json_pack("{s:s,s:i}", "labelSelector", "", "replicas", 0));
    json_object_set_new(status, "observedGeneration", json_integer(gen));
    if (!perr && !skip_children && !json_path_get(status, "jobStatus.savepointInfo.triggerId") &&
        !(app && strcmp(json_path_string(status, "jobStatus.state", ""), "FAILED") == 0) &&
        !(app && strstr(json_path_string(status, "error", ""), "UpgradeFailureException")))
        json_object_del(status, "error");
    if (!app && changed) {
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
    /* a session cluster is stable once its JobManager serves; a job once it runs (lifecycle) */
    set_lifecycle(status);
    json_object_set_new(status, "conditions", running_condition(status, old_status, app, gen, now));
    if (!json_equal(status, json_object_get(fd, "status"))) {
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
    /* a job not yet running is checked at the progress-check interval */
    bool settled =
        strcmp(jms, "READY") == 0 &&
        (!app || strcmp(json_path_string(status, "jobStatus.state", ""), "RUNNING") == 0);
    *requeue_ms = settled ? ctx->cfg->reconcile_interval_ms : ctx->cfg->progress_check_interval_ms;
    if (app && plan.requeue_ms > 0 && plan.requeue_ms < *requeue_ms)
        *requeue_ms = plan.requeue_ms;
    if (app && !want_cluster && cluster_present)
        *requeue_ms = 500; /* wait for the deletion */
    if (app && !want_cluster && !cluster_present && plan.requeue_ms == 0)
        *requeue_ms = ctx->cfg->reconcile_interval_ms;
out:
    json_decref(old_status);
    json_decref(plan.deploy_spec);
    config_free(defaults);
    json_decref(status);
    json_decref(objs);
    json_decref(fd);
    return rc;
}
