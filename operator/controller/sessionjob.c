/*
 * sessionjob.c - the FlinkSessionJob reconciler (see sessionjob.h).
 *
 * Layer: operator/controller.
 */
#include "operator/controller/sessionjob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/config.h"
#include "lib/json.h"
#include "lib/log.h"
#include "operator/controller/application.h"
#include "operator/controller/children.h"
#include "operator/controller/lifecycle.h"
#include "operator/controller/snapshot.h"
#include "operator/controller/deployment.h"
#include "operator/flink/flinkrest.h"

const kube_resource SESSIONJOB_RES = {"flink.apache.org", "v1beta1", "flinksessionjobs", true};

#define DEFAULT_MAX_ARTIFACT (16ULL << 20)

static long long now_of(const struct sessionjob_ctx *ctx)
{
    if (ctx->now_ms)
        return ctx->now_ms();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

int sessionjob_index_deployment(const json_t *obj, const char **out, int cap)
{
    const char *n = json_path_string(obj, "spec.deploymentName", NULL);
    if (!n || cap < 1)
        return 0;
    out[0] = n;
    return 1;
}

static void event(struct sessionjob_ctx *ctx, const json_t *sj, const char *type,
                  const char *reason, const char *msg)
{
    weir_error err = {0};
    if (ctx->events && events_record(ctx->events, sj, type, reason, msg, &err) != 0)
        log_warn("cannot record event", "reason", reason, "error", err.msg);
}

static int finalizer_index(const json_t *o)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_path_get(o, "metadata.finalizers"), i, f)
    {
        if (json_is_string(f) && strcmp(json_string_value(f), SESSIONJOB_FINALIZER) == 0)
            return (int)i;
    }
    return -1;
}

static int write_status(struct sessionjob_ctx *ctx, json_t *sj, json_t *status, weir_error *err)
{
    enum lifecycle_state ls = lifecycle_derive(status, false);
    json_object_set_new(status, "lifecycleState", json_string(lifecycle_name(ls)));
    json_t *obj = json_deep_copy(sj);
    json_object_set(obj, "status", status);
    json_t *out = NULL;
    int rc = kube_update(ctx->kc, &SESSIONJOB_RES, json_path_string(sj, "metadata.namespace", NULL),
                         obj, "status", &out, err);
    const char *rv = json_path_string(out, "metadata.resourceVersion", NULL);
    if (rc == 0 && rv) {
        (void)!json_path_set(sj, "metadata.resourceVersion", json_string(rv));
        json_object_set_new(sj, "status", json_deep_copy(status));
    }
    json_decref(out);
    json_decref(obj);
    return rc;
}

/* upstream's FlinkResourceException JSON */
static void set_error(json_t *status, const char *type, const char *message)
{
    json_t *e = json_pack("{s:s,s:s,s:{},s:[]}", "type", type, "message", message,
                          "additionalMetadata", "throwableList");
    char *s = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    json_object_set_new(status, "error", json_string(s ? s : message));
    free(s);
}

/* Records `msg` as the status error (with a Warning event when it is new) and writes it. */
static int report(struct sessionjob_ctx *ctx, json_t *sj, json_t *status, const char *reason,
                  const char *msg, weir_error *err)
{
    const char *old = json_string_value(json_object_get(status, "error"));
    bool fresh = !old || !strstr(old, msg);
    set_error(status, "org.apache.flink.kubernetes.operator.exception.ReconciliationException",
              msg);
    if (fresh) {
        event(ctx, sj, EVENT_WARNING, reason, msg);
        log_warn("session job not submitted", "name", json_path_string(sj, "metadata.name", ""),
                 "error", msg);
    }
    return write_status(ctx, sj, status, err);
}

/* The artifact (the job's SQL file or plan) into *data (caller frees). */
static int fetch_artifact(const char *uri, unsigned long long max, char **data, size_t *len,
                          weir_error *err)
{
    *data = NULL;
    *len = 0;
    if (!strncmp(uri, "http://", 7) || !strncmp(uri, "https://", 8)) {
        http_client *hc = http_client_new(&(http_client_opts){.connect_timeout_ms = 5000,
                                                              .timeout_ms = 30000,
                                                              .max_response_bytes = (size_t)max},
                                          err);
        if (!hc)
            return err->code ? err->code : WEIR_ENOMEM;
        http_client_req req = {.method = "GET", .url = uri};
        http_client_response resp = {0};
        int rc = http_client_do(hc, &req, &resp, err);
        if (rc == 0) {
            *data = malloc(resp.body_len + 1);
            if (!*data)
                rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
            else {
                memcpy(*data, resp.body, resp.body_len);
                (*data)[resp.body_len] = '\0';
                *len = resp.body_len;
            }
        } else if (rc == WEIR_ETOOBIG) {
            weir_error_set(err, WEIR_ETOOBIG,
                           "artifact %s is larger than %llu bytes "
                           "(kubernetes.operator.user.artifacts.max-size)",
                           uri, max);
        } else
            weir_error_prefix(err, "cannot fetch artifact %s", uri);
        http_client_response_clear(&resp);
        http_client_free(hc);
        return rc;
    }
    const char *path = NULL;
    if (!strncmp(uri, "local://", 8))
        path = uri + 8;
    else if (!strncmp(uri, "file://", 7))
        path = uri + 7;
    else if (uri[0] == '/')
        path = uri;
    if (!path)
        return weir_error_set(err, WEIR_EUNSUPPORTED,
                              "artifact %s: unsupported scheme (local://, file://, http:// and "
                              "https:// are)",
                              uri);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return weir_error_set(err, WEIR_ENOTFOUND, "artifact %s: no such file", uri);
    if ((unsigned long long)st.st_size > max)
        return weir_error_set(err, WEIR_ETOOBIG,
                              "artifact %s is %lld bytes, larger than %llu "
                              "(kubernetes.operator.user.artifacts.max-size)",
                              uri, (long long)st.st_size, max);
    FILE *f = fopen(path, "rb");
    if (!f)
        return weir_error_set(err, WEIR_EIO, "artifact %s: cannot open", uri);
    *data = malloc((size_t)st.st_size + 1);
    size_t got = *data ? fread(*data, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!*data)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    if (got != (size_t)st.st_size) {
        free(*data);
        *data = NULL;
        return weir_error_set(err, WEIR_EIO, "artifact %s: short read", uri);
    }
    (*data)[got] = '\0';
    *len = got;
    return 0;
}

/* Submits the job `spec` describes under `job_id`: fetch, upload, run, delete the jar. */
static int submit(const flinkrest *fr, const json_t *spec, const char *job_id,
                  unsigned long long max, weir_error *err)
{
    const char *uri = json_path_string(spec, "job.jarURI", NULL);
    if (!uri || !*uri)
        return weir_error_set(err, WEIR_EINVAL, "spec.job.jarURI is required");
    char *data = NULL;
    size_t len = 0;
    int rc = fetch_artifact(uri, max, &data, &len, err);
    if (rc)
        return rc;
    const char *base = strrchr(uri, '/');
    base = base ? base + 1 : uri;
    char jar_id[300], got[33];
    rc = flinkrest_upload_jar(fr, base && *base ? base : "artifact.sql", data, len, jar_id,
                              sizeof(jar_id), err);
    free(data);
    if (rc)
        return rc;
    json_t *body = json_pack("{s:s}", "jobId", job_id);
    const json_t *job = json_object_get(spec, "job");
    json_t *v;
    if ((v = json_object_get(job, "entryClass")) && json_is_string(v))
        json_object_set(body, "entryClass", v);
    if ((v = json_object_get(job, "args")) && json_is_array(v))
        json_object_set(body, "programArgsList", v);
    if ((v = json_object_get(job, "parallelism")) && json_is_integer(v))
        json_object_set(body, "parallelism", v);
    if (json_is_true(json_object_get(job, "allowNonRestoredState")))
        json_object_set_new(body, "allowNonRestoredState", json_true());
    const char *sp = json_string_value(json_object_get(job, "initialSavepointPath"));
    if (sp && *sp)
        json_object_set_new(body, "savepointPath", json_string(sp));
    /* the job's own Flink configuration (operator keys and the job id key stay out) */
    json_t *fc = json_object();
    const char *k;
    json_object_foreach(json_object_get(spec, "flinkConfiguration"), k, v)
    {
        if (strncmp(k, "kubernetes.operator.", 20) != 0 && strncmp(k, "$internal.", 10) != 0 &&
            json_is_string(v))
            json_object_set(fc, k, v);
    }
    if (json_object_size(fc))
        json_object_set(body, "flinkConfiguration", fc);
    json_decref(fc);
    rc = flinkrest_run_jar(fr, jar_id, body, got, err);
    json_decref(body);
    weir_error e2 = {0};
    if (flinkrest_delete_jar(fr, jar_id, &e2) != 0)
        log_debug("cannot delete the uploaded jar", "jar", jar_id, "error", e2.msg);
    return rc;
}

/* The job `job_id` in /jobs/overview: *state (static storage of the answer copied into buf). */
static int find_job(struct sessionjob_ctx *ctx, const char *base, const char *job_id, json_t **out,
                    weir_error *err)
{
    char url[300];
    snprintf(url, sizeof(url), "%s/jobs/overview", base);
    const char *hdrs[] = {"Accept: application/json", "Connection: close", NULL};
    http_client_req req = {.method = "GET", .url = url, .headers = hdrs, .timeout_ms = 5000};
    http_client_response resp = {0};
    *out = NULL;
    int rc = http_client_do(ctx->rest, &req, &resp, err);
    if (rc) {
        http_client_response_clear(&resp);
        return rc;
    }
    json_t *doc = json_loadb(resp.body, resp.body_len, 0, NULL);
    http_client_response_clear(&resp);
    if (!doc)
        return weir_error_set(err, WEIR_EPARSE, "%s: not a Flink REST answer", url);
    size_t i;
    json_t *j;
    json_array_foreach(json_object_get(doc, "jobs"), i, j)
    {
        if (job_id && is(json_string_value(json_object_get(j, "jid")), job_id))
            *out = json_incref(j);
    }
    json_decref(doc);
    return 0;
}

struct sj_ud {
    struct sessionjob_ctx *ctx;
    json_t *sj;
    const config *conf;
};

static int sj_write(void *ud, json_t *status, weir_error *err)
{
    struct sj_ud *u = ud;
    return write_status(u->ctx, u->sj, status, err);
}

static void sj_event(void *ud, const char *type, const char *reason, const char *msg)
{
    struct sj_ud *u = ud;
    event(u->ctx, u->sj, strcmp(type, "Warning") == 0 ? EVENT_WARNING : EVENT_NORMAL, reason, msg);
}

static int sj_create_snapshot(void *ud, bool checkpoint, const char *trigger_type, const char *path,
                              const char *format, bool already_exists, const char *dedupe,
                              weir_error *err)
{
    struct sj_ud *u = ud;
    return snapshot_create_for(u->ctx->kc, u->ctx->snapshots, "FlinkSessionJob", u->sj, u->conf,
                               checkpoint, trigger_type, path, format, already_exists, dedupe,
                               now_of(u->ctx), err);
}

int sessionjob_reconcile(struct sessionjob_ctx *ctx, const char *key, long *requeue_ms,
                         weir_error *err)
{
    int rc = 0;
    *requeue_ms = 0;
    json_t *cached = informer_get(ctx->sessionjobs, key);
    if (!cached)
        return 0;
    json_t *sj = json_deep_copy(cached);
    json_decref(cached);
    json_t *status = NULL, *fd = NULL, *job = NULL, *old_status = NULL;
    config *defaults = NULL, *conf = NULL, *own = NULL;
    application_plan plan = {0};
    const char *ns = json_path_string(sj, "metadata.namespace", "default");
    const char *name = json_path_string(sj, "metadata.name", "");
    const char *fdname = json_path_string(sj, "spec.deploymentName", "");
    long progress = ctx->cfg ? (long)ctx->cfg->progress_check_interval_ms : 10000;
    long reconcile = ctx->cfg ? (long)ctx->cfg->reconcile_interval_ms : 60000;
    char fkey[600], base[128] = "";
    snprintf(fkey, sizeof(fkey), "%s/%s", ns, fdname);
    fd = informer_get(ctx->flinkdeployments, fkey);
    bool ready = fd && is(json_path_string(fd, "status.jobManagerDeploymentStatus", ""), "READY") &&
                 deployment_rest_base(ctx->services, ns, fdname, base, sizeof(base));
    flinkrest fr = {.hc = ctx->rest, .base = base, .timeout_ms = 10000};
    const char *jid = json_path_string(sj, "status.jobStatus.jobId", NULL);

    if (json_path_get(sj, "metadata.deletionTimestamp")) {
        int fi = finalizer_index(sj);
        if (fi < 0)
            goto out;
        if (ready && jid) {
            weir_error e = {0};
            if (find_job(ctx, base, jid, &job, &e) == 0 && job &&
                !lifecycle_job_terminal(json_string_value(json_object_get(job, "state")))) {
                if (flinkrest_cancel(&fr, jid, &e) != 0)
                    log_warn("cannot cancel the session job", "name", name, "error", e.msg);
                *requeue_ms = progress; /* until the cancellation completes */
                goto out;
            }
        }
        char path[64];
        snprintf(path, sizeof(path), "/metadata/finalizers/%d", fi);
        json_t *patch = json_pack("[{s:s,s:s,s:s},{s:s,s:s}]", "op", "test", "path", path, "value",
                                  SESSIONJOB_FINALIZER, "op", "remove", "path", path);
        rc =
            kube_patch(ctx->kc, &SESSIONJOB_RES, ns, name, KUBE_PATCH_JSON, patch, NULL, NULL, err);
        json_decref(patch);
        if (rc == WEIR_ENOTFOUND || rc == WEIR_EINVAL || rc == WEIR_ECONFLICT)
            rc = 0;
        goto out;
    }
    if (finalizer_index(sj) < 0) {
        json_t *patch = json_path_get(sj, "metadata.finalizers")
                            ? json_pack("[{s:s,s:s,s:s}]", "op", "add", "path",
                                        "/metadata/finalizers/-", "value", SESSIONJOB_FINALIZER)
                            : json_pack("[{s:s,s:s,s:[s]}]", "op", "add", "path",
                                        "/metadata/finalizers", "value", SESSIONJOB_FINALIZER);
        rc =
            kube_patch(ctx->kc, &SESSIONJOB_RES, ns, name, KUBE_PATCH_JSON, patch, NULL, NULL, err);
        json_decref(patch);
        if (rc == WEIR_EINVAL || rc == WEIR_ECONFLICT)
            rc = 0;
        *requeue_ms = 1;
        goto out;
    }
    old_status = json_incref(json_object_get(sj, "status"));
    status = old_status ? json_deep_copy(old_status) : json_object();
    char msg[700];
    if (!fd) {
        snprintf(msg, sizeof(msg), "FlinkDeployment %s not found", fdname);
        rc = report(ctx, sj, status, "SessionJobException", msg, err);
        if (rc == 0)
            rc = weir_error_set(err, WEIR_ENOTFOUND, "%s", msg); /* retried with backoff */
        goto out;
    }
    if (json_path_get(fd, "spec.job")) {
        snprintf(msg, sizeof(msg),
                 "FlinkDeployment %s is an application cluster; session jobs need a session "
                 "cluster (no spec.job)",
                 fdname);
        rc = report(ctx, sj, status, "SessionJobException", msg, err);
        if (rc == 0)
            rc = weir_error_set(err, WEIR_EINVAL, "%s", msg);
        goto out;
    }
    if (!ready) { /* the session cluster is not serving yet */
        *requeue_ms = progress;
        goto out;
    }
    /* observe the job by the id recorded in status */
    weir_error oe = {0};
    if (jid && find_job(ctx, base, jid, &job, &oe) != 0) {
        *requeue_ms = progress;
        goto out;
    }
    json_t *js = json_object_get(status, "jobStatus");
    if (!json_is_object(js)) {
        js = json_object();
        json_object_set_new(status, "jobStatus", js);
    }
    if (job) {
        const char *st = json_string_value(json_object_get(job, "state"));
        const char *prev = json_string_value(json_object_get(js, "state"));
        if (st && !is(prev, st)) {
            snprintf(msg, sizeof(msg), "Job status changed from %s to %s", prev ? prev : "(none)",
                     st);
            event(ctx, sj, EVENT_NORMAL, "JobStatusChanged", msg);
            char t[32];
            snprintf(t, sizeof(t), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(json_object_get(job, "last-modification")));
            json_object_set_new(js, "updateTime", json_string(t));
        }
        if (st)
            json_object_set_new(js, "state", json_string(st));
        char t[32];
        snprintf(t, sizeof(t), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(job, "start-time")));
        json_object_set_new(js, "startTime", json_string(t));
        const char *jn = json_string_value(json_object_get(job, "name"));
        if (jn)
            json_object_set_new(js, "jobName", json_string(jn));
    }
    bool present = job && !lifecycle_job_terminal(json_string_value(json_object_get(job, "state")));

    /* the configuration: the operator's defaults, the session cluster's, then the job's own */
    defaults = ctx->cfg ? opconfig_defaults_for(ctx->cfg, ns,
                                                json_path_string(fd, "spec.flinkVersion", NULL))
                        : NULL;
    json_t *pseudo = json_pack("{s:{s:O?}}", "spec", "flinkConfiguration",
                               json_path_get(sj, "spec.flinkConfiguration"));
    if ((rc = children_resource_config(fd, defaults, &conf, err)) ||
        (rc = children_resource_config(pseudo, NULL, &own, err)) ||
        (rc = config_merge(conf, own))) {
        json_decref(pseudo);
        goto out;
    }
    json_decref(pseudo);
    struct sj_ud ud = {ctx, sj, conf};
    /* FlinkStateSnapshot resources (snapshot.resource.enabled, the default) */
    bool snap_res = true;
    weir_error sre = {0};
    if (config_get_bool(conf, "kubernetes.operator.snapshot.resource.enabled", true, &snap_res,
                        &sre))
        snap_res = true;
    snap_res = snap_res && ctx->snapshots != NULL;
    if (snap_res)
        snapshot_observe_for(ctx->kc, ctx->snapshots, "FlinkSessionJob", sj, status, conf,
                             now_of(ctx));
    application_env env = {.rest = &fr,
                           .create_snapshot = snap_res ? sj_create_snapshot : NULL,
                           .cluster_present = present,
                           .now_ms = now_of(ctx),
                           .progress_ms = progress,
                           .reconcile_ms = reconcile,
                           .conf = conf,
                           .write = sj_write,
                           .event = sj_event,
                           .ud = &ud};
    rc = application_reconcile(sj, status, &env, &plan, err);
    if (rc)
        goto out;
    const char *rid = json_path_string(status, "jobStatus.jobId", NULL);
    if (plan.deploy_spec) {
        json_t *cur = NULL;
        weir_error fe = {0};
        if (rid && !is(rid, jid)) { /* a new id since the observation */
            if (find_job(ctx, base, rid, &cur, &fe) != 0) {
                *requeue_ms = progress;
                goto out;
            }
        } else
            cur = json_incref(job);
        if (!cur) {
            unsigned long long max = DEFAULT_MAX_ARTIFACT;
            weir_error ce = {0};
            if (config_get_memory(conf, "kubernetes.operator.user.artifacts.max-size",
                                  DEFAULT_MAX_ARTIFACT, &max, &ce))
                max = DEFAULT_MAX_ARTIFACT;
            weir_error se = {0};
            int src = submit(&fr, plan.deploy_spec, rid, max, &se);
            if (src) {
                rc = report(ctx, sj, status, "SessionJobException", se.msg, err);
                if (rc == 0)
                    rc = weir_error_set(err, src, "%s", se.msg); /* retried with backoff */
                goto out;
            }
            snprintf(msg, sizeof(msg), "Submitted job %s to session cluster %s", rid, fdname);
            event(ctx, sj, EVENT_NORMAL, "Submit", msg);
        }
        json_decref(cur);
        if (plan.deployed)
            json_object_set_new(json_object_get(status, "reconciliationStatus"), "state",
                                json_string("DEPLOYED"));
    } else if (present) {
        /* a job whose stop-with-savepoint just completed ends (FINISHED) on its own: give it
         * time before cancelling whatever still runs */
        long long sp_ts =
            json_path_int(status, "jobStatus.savepointInfo.lastSavepoint.timeStamp", 0);
        bool stopping =
            is(json_path_string(status, "jobStatus.savepointInfo.lastSavepoint.triggerType", ""),
               "UPGRADE") &&
            env.now_ms - sp_ts < 30000;
        weir_error ce = {0};
        if (!stopping && flinkrest_cancel(&fr, jid, &ce) != 0)
            log_warn("cannot cancel the session job", "name", name, "error", ce.msg);
        plan.requeue_ms = progress;
    }
    /* stable: deployed and running */
    json_t *recon = json_object_get(status, "reconciliationStatus");
    const char *last = json_path_string(recon, "lastReconciledSpec", NULL);
    if (last && is(json_path_string(recon, "state", ""), "DEPLOYED") &&
        (is(json_path_string(status, "jobStatus.state", ""), "RUNNING") || !plan.deploy_spec))
        json_object_set_new(recon, "lastStableSpec", json_string(last));
    json_object_set_new(status, "observedGeneration",
                        json_integer(json_path_int(sj, "metadata.generation", 0)));
    const char *err_s = json_string_value(json_object_get(status, "error"));
    if (err_s && strstr(err_s, "ReconciliationException"))
        json_object_del(status, "error");
    if (!json_equal(status, json_object_get(sj, "status")))
        rc = write_status(ctx, sj, status, err);
    *requeue_ms = plan.requeue_ms > 0 && plan.requeue_ms < reconcile ? plan.requeue_ms : reconcile;
    if (!is(json_path_string(status, "jobStatus.state", ""), "RUNNING") && *requeue_ms > progress)
        *requeue_ms = progress;
out:
    if (rc == WEIR_ECONFLICT) {
        rc = 0;
        *requeue_ms = 100;
    }
    json_decref(plan.deploy_spec);
    config_free(own);
    config_free(conf);
    config_free(defaults);
    json_decref(job);
    json_decref(old_status);
    json_decref(status);
    json_decref(fd);
    json_decref(sj);
    return rc;
}
