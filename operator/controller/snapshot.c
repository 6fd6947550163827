/*
 * snapshot.c - the FlinkStateSnapshot reconciler (see snapshot.h).
 *
 * Layer: operator/controller.
 */
#include "operator/controller/snapshot.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/random.h"
#include "operator/controller/application.h"
#include "operator/controller/deployment.h"
#include "operator/flink/flinkrest.h"

const kube_resource SNAPSHOT_RES = {"flink.apache.org", "v1beta1", "flinkstatesnapshots", true};

static long long now_of(const struct snapshot_ctx *ctx)
{
    if (ctx->now_ms)
        return ctx->now_ms();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void k8s_time(long long ms, char out[40])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tmv;
    gmtime_r(&secs, &tmv);
    strftime(out, 40, "%Y-%m-%dT%H:%M:%SZ", &tmv);
}

static bool is(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

int snapshot_index_job(const json_t *obj, const char **out, int cap)
{
    const char *n = json_path_string(obj, "spec.jobReference.name", NULL);
    if (!n || cap < 1)
        return 0;
    out[0] = n;
    return 1;
}

json_t *snapshot_object(const char *kind, const json_t *fd, bool checkpoint,
                        const char *trigger_type, const char *path, const char *format,
                        bool dispose_on_delete, bool already_exists, long long now_ms)
{
    const char *fdname = json_path_string(fd, "metadata.name", "");
    char name[300], lower[16];
    size_t i = 0;
    for (; i < sizeof(lower) - 1 && trigger_type[i]; i++)
        lower[i] = (char)(trigger_type[i] >= 'A' && trigger_type[i] <= 'Z' ? trigger_type[i] + 32
                                                                           : trigger_type[i]);
    lower[i] = '\0';
    snprintf(name, sizeof(name), "%s-%s-%s-%lld", fdname, checkpoint ? "checkpoint" : "savepoint",
             lower, now_ms);
    json_t *spec = json_pack("{s:{s:s,s:s},s:i}", "jobReference", "kind", kind, "name", fdname,
                             "backoffLimit", 1);
    if (checkpoint)
        json_object_set_new(spec, "checkpoint", json_object());
    else {
        json_t *sp =
            json_pack("{s:s,s:b,s:b}", "formatType", format ? format : "CANONICAL",
                      "disposeOnDelete", dispose_on_delete, "alreadyExists", already_exists);
        if (path)
            json_object_set_new(sp, "path", json_string(path));
        json_object_set_new(spec, "savepoint", sp);
    }
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s}},s:o}", "apiVersion",
                     "flink.apache.org/v1beta1", "kind", "FlinkStateSnapshot", "metadata", "name",
                     name, "namespace", json_path_string(fd, "metadata.namespace", "default"),
                     "labels", "snapshot.type", checkpoint ? "CHECKPOINT" : "SAVEPOINT",
                     "snapshot.trigger-type", trigger_type, "snapshot.state",
                     already_exists ? "COMPLETED" : "TRIGGER_PENDING", "job-reference.kind", kind,
                     "job-reference.name", fdname, "spec", spec);
}

static void event(struct snapshot_ctx *ctx, const json_t *snap, const char *type,
                  const char *reason, const char *msg)
{
    weir_error err = {0};
    if (ctx->events && events_record(ctx->events, snap, type, reason, msg, &err) != 0)
        log_warn("cannot record event", "reason", reason, "error", err.msg);
}

static int finalizer_index(const json_t *o)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_path_get(o, "metadata.finalizers"), i, f)
    {
        if (json_is_string(f) && strcmp(json_string_value(f), SNAPSHOT_FINALIZER) == 0)
            return (int)i;
    }
    return -1;
}

static int write_status(struct snapshot_ctx *ctx, json_t *snap, json_t *status, weir_error *err)
{
    json_t *obj = json_deep_copy(snap);
    json_object_set(obj, "status", status);
    json_t *out = NULL;
    int rc = kube_update(ctx->kc, &SNAPSHOT_RES, json_path_string(snap, "metadata.namespace", NULL),
                         obj, "status", &out, err);
    const char *rv = json_path_string(out, "metadata.resourceVersion", NULL);
    if (rc == 0 && rv)
        (void)!json_path_set(snap, "metadata.resourceVersion", json_string(rv));
    json_decref(out);
    json_decref(obj);
    return rc;
}

/* The labels upstream keeps for server-side filtering. */
static int sync_labels(struct snapshot_ctx *ctx, const json_t *snap, const char *state,
                       weir_error *err)
{
    const json_t *spec = json_object_get(snap, "spec");
    const char *type = json_object_get(spec, "checkpoint") ? "CHECKPOINT" : "SAVEPOINT";
    const char *trigger =
        json_path_string(snap, "metadata.labels[\"snapshot.trigger-type\"]", "MANUAL");
    json_t *want =
        json_pack("{s:s,s:s,s:s,s:s,s:s}", "snapshot.type", type, "snapshot.trigger-type", trigger,
                  "snapshot.state", state, "job-reference.kind",
                  json_path_string(spec, "jobReference.kind", "FlinkDeployment"),
                  "job-reference.name", json_path_string(spec, "jobReference.name", ""));
    json_t *have = json_path_get(snap, "metadata.labels");
    bool same = true;
    const char *k;
    json_t *v;
    json_object_foreach(want, k, v)
    {
        if (!json_equal(v, json_object_get(have, k)))
            same = false;
    }
    int rc = 0;
    if (!same) {
        json_t *patch = json_pack("{s:{s:O}}", "metadata", "labels", want);
        rc = kube_patch(ctx->kc, &SNAPSHOT_RES, json_path_string(snap, "metadata.namespace", NULL),
                        json_path_string(snap, "metadata.name", ""), KUBE_PATCH_MERGE, patch, NULL,
                        NULL, err);
        json_decref(patch);
    }
    json_decref(want);
    return rc;
}

static int remove_finalizer(struct snapshot_ctx *ctx, const json_t *snap, int fi, weir_error *err)
{
    char path[64];
    snprintf(path, sizeof(path), "/metadata/finalizers/%d", fi);
    json_t *patch = json_pack("[{s:s,s:s,s:s},{s:s,s:s}]", "op", "test", "path", path, "value",
                              SNAPSHOT_FINALIZER, "op", "remove", "path", path);
    int rc = kube_patch(ctx->kc, &SNAPSHOT_RES, json_path_string(snap, "metadata.namespace", NULL),
                        json_path_string(snap, "metadata.name", ""), KUBE_PATCH_JSON, patch, NULL,
                        NULL, err);
    json_decref(patch);
    return rc == WEIR_ENOTFOUND ? 0 : rc;
}

/* The job a snapshot refers to (spec.jobReference): a FlinkDeployment's application job, or a
 * FlinkSessionJob's job on its session cluster. Returns the FlinkDeployment that runs it (a new
 * reference; its name in `fdname`), with the job id in `jid` ("" when none yet) and whether it
 * runs; or NULL with `msg` saying what is missing. */
static json_t *resolve_job(struct snapshot_ctx *ctx, const json_t *snap, char *fdname, size_t fdcap,
                           char *jid, size_t jidcap, bool *running, char *msg, size_t msgcap)
{
    const char *ns = json_path_string(snap, "metadata.namespace", "default");
    const char *kind = json_path_string(snap, "spec.jobReference.kind", "FlinkDeployment");
    const char *ref = json_path_string(snap, "spec.jobReference.name", "");
    char key[600];
    json_t *job_owner = NULL;
    *running = false;
    jid[0] = '\0';
    if (is(kind, "FlinkSessionJob")) {
        snprintf(key, sizeof(key), "%s/%s", ns, ref);
        job_owner = ctx->sessionjobs ? informer_get(ctx->sessionjobs, key) : NULL;
        if (!job_owner) {
            snprintf(msg, msgcap, "FlinkSessionJob %s not found", ref);
            return NULL;
        }
        snprintf(fdname, fdcap, "%s", json_path_string(job_owner, "spec.deploymentName", ""));
    } else if (is(kind, "FlinkDeployment")) {
        snprintf(fdname, fdcap, "%s", ref);
    } else {
        snprintf(msg, msgcap, "spec.jobReference.kind %s is not FlinkDeployment or FlinkSessionJob",
                 kind);
        return NULL;
    }
    snprintf(key, sizeof(key), "%s/%s", ns, fdname);
    json_t *fd = informer_get(ctx->flinkdeployments, key);
    if (!fd) {
        snprintf(msg, msgcap, "FlinkDeployment %s not found", fdname);
        json_decref(job_owner);
        return NULL;
    }
    const json_t *src = job_owner ? job_owner : fd;
    snprintf(jid, jidcap, "%s", json_path_string(src, "status.jobStatus.jobId", ""));
    *running = is(json_path_string(src, "status.jobStatus.state", ""), "RUNNING");
    json_decref(job_owner);
    return fd;
}

static int reconcile_delete(struct snapshot_ctx *ctx, json_t *snap, long *requeue_ms,
                            weir_error *err)
{
    int fi = finalizer_index(snap);
    if (fi < 0)
        return 0;
    const char *ns = json_path_string(snap, "metadata.namespace", "default");
    const char *state = json_path_string(snap, "status.state", "TRIGGER_PENDING");
    if (is(state, "IN_PROGRESS")) { /* the savepoint being taken would be orphaned */
        *requeue_ms = ctx->cfg ? ctx->cfg->progress_check_interval_ms : 10000;
        return 0;
    }
    const char *path = json_path_string(snap, "status.path", NULL);
    bool dispose = is(state, "COMPLETED") && json_path_get(snap, "spec.savepoint") &&
                   json_path_bool(snap, "spec.savepoint.disposeOnDelete", false) && path;
    if (dispose) {
        char fdname[300], jid[64], base[128], why[400];
        bool running = false;
        json_t *fd = resolve_job(ctx, snap, fdname, sizeof(fdname), jid, sizeof(jid), &running, why,
                                 sizeof(why));
        json_decref(fd);
        if (!fd) {
            log_warn("savepoint not disposed: its job is gone", "snapshot",
                     json_path_string(snap, "metadata.name", ""), "path", path, "why", why);
        } else if (!running ||
                   !deployment_rest_base(ctx->services, ns, fdname, base, sizeof(base))) {
            event(ctx, snap, EVENT_WARNING, "CleanupFailed",
                  "Cannot dispose the savepoint while the job is not running; retrying");
            *requeue_ms = ctx->cfg ? ctx->cfg->reconcile_interval_ms : 60000;
            return 0;
        } else {
            flinkrest fr = {.hc = ctx->rest, .base = base, .timeout_ms = 5000};
            char req[33];
            flinkrest_op op = {0};
            weir_error e = {0};
            int rc = flinkrest_dispose_savepoint(&fr, path, req, &e);
            for (int i = 0; rc == 0 && !op.done && i < 40; i++) {
                rc = flinkrest_disposal_status(&fr, req, &op, &e);
                if (rc == 0 && !op.done)
                    usleep(50000);
            }
            if (rc || !op.done || op.failed) {
                char msg[1200];
                snprintf(msg, sizeof(msg), "Cannot dispose savepoint %s: %s", path,
                         rc ? e.msg : op.failure);
                event(ctx, snap, EVENT_WARNING, "CleanupFailed", msg);
                *requeue_ms = ctx->cfg ? ctx->cfg->progress_check_interval_ms : 10000;
                return 0;
            }
            log_info("disposed savepoint", "path", path);
        }
    }
    return remove_finalizer(ctx, snap, fi, err);
}

int snapshot_reconcile(struct snapshot_ctx *ctx, const char *key, long *requeue_ms, weir_error *err)
{
    int rc = 0;
    *requeue_ms = 0;
    json_t *cached_snap = informer_get(ctx->snapshots, key);
    if (!cached_snap)
        return 0;
    json_t *snap = json_deep_copy(cached_snap);
    json_decref(cached_snap);
    json_t *status = NULL, *fd = NULL;
    const char *ns = json_path_string(snap, "metadata.namespace", "default");
    const char *name = json_path_string(snap, "metadata.name", "");
    long progress = ctx->cfg ? (long)ctx->cfg->progress_check_interval_ms : 10000;
    long long now = now_of(ctx);
    char ts[40];
    k8s_time(now, ts);

    if (json_path_get(snap, "metadata.deletionTimestamp")) {
        rc = reconcile_delete(ctx, snap, requeue_ms, err);
        goto out;
    }
    if (finalizer_index(snap) < 0) {
        json_t *patch = json_path_get(snap, "metadata.finalizers")
                            ? json_pack("[{s:s,s:s,s:s}]", "op", "add", "path",
                                        "/metadata/finalizers/-", "value", SNAPSHOT_FINALIZER)
                            : json_pack("[{s:s,s:s,s:[s]}]", "op", "add", "path",
                                        "/metadata/finalizers", "value", SNAPSHOT_FINALIZER);
        rc = kube_patch(ctx->kc, &SNAPSHOT_RES, ns, name, KUBE_PATCH_JSON, patch, NULL, NULL, err);
        json_decref(patch);
        if (rc == WEIR_EINVAL || rc == WEIR_ECONFLICT)
            rc = 0;
        *requeue_ms = 1;
        goto out;
    }
    status = json_deep_copy(json_object_get(snap, "status"));
    if (!json_is_object(status)) {
        json_decref(status);
        status = json_object();
    }
    const json_t *spec = json_object_get(snap, "spec");
    bool checkpoint = json_object_get(spec, "checkpoint") != NULL;
    char state[32];
    snprintf(state, sizeof(state), "%s", json_path_string(status, "state", "TRIGGER_PENDING"));
    if (is(state, "COMPLETED") || is(state, "FAILED") || is(state, "ABANDONED")) {
        rc = sync_labels(ctx, snap, state, err);
        goto out;
    }
    /* registering an existing savepoint needs no job */
    if (!checkpoint && json_path_bool(spec, "savepoint.alreadyExists", false)) {
        const char *p = json_path_string(spec, "savepoint.path", NULL);
        if (!p || !*p) {
            json_object_set_new(status, "state", json_string("FAILED"));
            json_object_set_new(status, "error",
                                json_string("spec.savepoint.path is required with alreadyExists"));
        } else {
            json_object_set_new(status, "state", json_string("COMPLETED"));
            json_object_set_new(status, "path", json_string(p));
            json_object_set_new(status, "resultTimestamp", json_string(ts));
        }
        if ((rc = write_status(ctx, snap, status, err)) == 0)
            rc = sync_labels(ctx, snap, json_string_value(json_object_get(status, "state")), err);
        goto out;
    }
    char fdname[300], jidbuf[64], base[128], msg[400];
    bool running = false;
    fd = resolve_job(ctx, snap, fdname, sizeof(fdname), jidbuf, sizeof(jidbuf), &running, msg,
                     sizeof(msg));
    if (!fd) {
        if (!is(json_string_value(json_object_get(status, "error")), msg)) {
            json_object_set_new(status, "error", json_string(msg));
            json_object_set_new(status, "state", json_string(state));
            event(ctx, snap, EVENT_WARNING, "SnapshotError", msg);
            rc = write_status(ctx, snap, status, err);
        }
        *requeue_ms = ctx->cfg ? ctx->cfg->reconcile_interval_ms : 60000;
        goto out;
    }
    const char *jid = jidbuf[0] ? jidbuf : NULL;
    bool reachable = deployment_rest_base(ctx->services, ns, fdname, base, sizeof(base)) &&
                     is(json_path_string(fd, "status.jobManagerDeploymentStatus", ""), "READY");
    flinkrest fr = {.hc = ctx->rest, .base = base, .timeout_ms = 5000};
    const char *dir = json_path_string(spec, "savepoint.path", NULL);
    const char *format = json_path_string(spec, "savepoint.formatType", "CANONICAL");
    weir_error e = {0};
    char req[33];

    if (is(state, "TRIGGER_PENDING")) {
        if (!running || !jid || !reachable) {
            json_object_set_new(status, "state", json_string("ABANDONED"));
            json_object_set_new(status, "error",
                                json_string("the job is not running: the snapshot was not taken"));
            event(ctx, snap, EVENT_WARNING, "SnapshotAbandoned",
                  "The job is not running: the snapshot was not taken");
            if ((rc = write_status(ctx, snap, status, err)) == 0)
                rc = sync_labels(ctx, snap, "ABANDONED", err);
            goto out;
        }
        char id[33];
        random_hex(id, 32);
        json_object_set_new(status, "state", json_string("IN_PROGRESS"));
        json_object_set_new(status, "triggerId", json_string(id));
        json_object_set_new(status, "triggerTimestamp", json_string(ts));
        json_object_del(status, "error");
        if ((rc = write_status(ctx, snap, status, err))) /* WAL: the id before the request */
            goto out;
        application_crashpoint("snapshot-trigger");
        int trc = checkpoint ? flinkrest_trigger_checkpoint(&fr, jid, "FULL", req, &e)
                             : flinkrest_trigger_savepoint(&fr, jid, dir, format, id, req, &e);
        if (trc)
            log_warn("snapshot not accepted yet; polling will retry", "snapshot", name, "error",
                     e.msg);
        else if (checkpoint) { /* Flink's checkpoint trigger picks its own id: record it */
            json_object_set_new(status, "triggerId", json_string(req));
            rc = write_status(ctx, snap, status, err);
        }
        if (rc == 0)
            rc = sync_labels(ctx, snap, "IN_PROGRESS", err);
        *requeue_ms = progress;
        goto out;
    }

    /* IN_PROGRESS: poll */
    const char *tid = json_string_value(json_object_get(status, "triggerId"));
    if (!reachable || !tid) {
        *requeue_ms = progress;
        goto out;
    }
    flinkrest_op op = {0};
    rc = checkpoint ? flinkrest_checkpoint_status(&fr, jid, tid, &op, &e)
                    : flinkrest_savepoint_status(&fr, jid, tid, &op, &e);
    if (rc == WEIR_ENOTFOUND && running && !checkpoint) {
        rc = flinkrest_trigger_savepoint(&fr, jid, dir, format, tid, req, &e);
        *requeue_ms = progress;
        if (rc)
            log_warn("savepoint not accepted", "snapshot", name, "error", e.msg);
        rc = 0;
        goto out;
    }
    if (rc == WEIR_ENOTFOUND) {
        op.done = op.failed = true;
        snprintf(op.failure, sizeof(op.failure), "the job no longer knows trigger %s", tid);
    } else if (rc) {
        rc = 0;
        *requeue_ms = progress;
        goto out;
    }
    if (!op.done) {
        *requeue_ms = progress;
        goto out;
    }
    if (!op.failed && checkpoint && op.checkpoint_id > 0) {
        char p[1024];
        bool found = false;
        if (flinkrest_latest_checkpoint(&fr, jid, p, sizeof(p), &found, &e) == 0 && found)
            snprintf(op.location, sizeof(op.location), "%s", p);
    }
    if (!op.failed) {
        json_object_set_new(status, "state", json_string("COMPLETED"));
        json_object_set_new(status, "path", json_string(op.location));
        json_object_set_new(status, "resultTimestamp", json_string(ts));
        char msg[1200];
        snprintf(msg, sizeof(msg), "%s completed: %s", checkpoint ? "Checkpoint" : "Savepoint",
                 op.location);
        event(ctx, snap, EVENT_NORMAL, "SnapshotCompleted", msg);
    } else {
        long long failures = json_path_int(status, "failures", 0) + 1;
        long long limit = json_path_int(spec, "backoffLimit", -1);
        json_object_set_new(status, "failures", json_integer(failures));
        json_object_set_new(status, "error", json_string(op.failure));
        bool give_up = limit >= 0 && failures > limit;
        json_object_set_new(status, "state", json_string(give_up ? "FAILED" : "TRIGGER_PENDING"));
        json_object_del(status, "triggerId");
        event(ctx, snap, EVENT_WARNING, checkpoint ? "CheckpointError" : "SavepointError",
              op.failure);
        if (!give_up) { /* 10 s, 20 s, 40 s, ... */
            long long d = 10000LL << (failures - 1 < 10 ? failures - 1 : 10);
            *requeue_ms = (long)d;
        }
    }
    if ((rc = write_status(ctx, snap, status, err)) == 0)
        rc = sync_labels(ctx, snap, json_string_value(json_object_get(status, "state")), err);
out:
    if (rc == WEIR_ECONFLICT) {
        rc = 0;
        *requeue_ms = 100;
    }
    json_decref(fd);
    json_decref(status);
    json_decref(snap);
    return rc;
}

/* --- the operator's own snapshots of a FlinkDeployment or FlinkSessionJob ------------------- */

#define SNAPSHOT_DEDUPE_ANNOTATION "weir.flink.apache.org/trigger"

json_t *snapshot_list_for(informer *snapshots, const char *kind, const json_t *owner)
{
    json_t *out = json_array();
    if (!snapshots)
        return out;
    const char *ns = json_path_string(owner, "metadata.namespace", "");
    json_t *keys =
        informer_by_index(snapshots, "job", json_path_string(owner, "metadata.name", ""));
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        json_t *o = informer_get(snapshots, json_string_value(k));
        if (o && is(json_path_string(o, "metadata.namespace", ""), ns) &&
            is(json_path_string(o, "spec.jobReference.kind", "FlinkDeployment"), kind))
            json_array_append(out, o);
        json_decref(o);
    }
    json_decref(keys);
    return out;
}

int snapshot_create_for(kube_client *kc, informer *snapshots, const char *kind, const json_t *owner,
                        const config *conf, bool checkpoint, const char *trigger_type,
                        const char *path, const char *format, bool already_exists,
                        const char *dedupe, long long now_ms, weir_error *err)
{
    json_t *all = snapshot_list_for(snapshots, kind, owner);
    size_t i;
    json_t *o;
    bool exists = false;
    json_array_foreach(all, i, o)
    {
        const char *d = json_string_value(
            json_object_get(json_path_get(o, "metadata.annotations"), SNAPSHOT_DEDUPE_ANNOTATION));
        if (is(d, dedupe))
            exists = true;
    }
    json_decref(all);
    if (exists)
        return 0;
    bool dispose = false;
    weir_error e = {0};
    if (config_get_bool(conf, "kubernetes.operator.savepoint.dispose-on-delete", false, &dispose,
                        &e))
        dispose = false;
    json_t *obj = snapshot_object(kind, owner, checkpoint, trigger_type, path, format, dispose,
                                  already_exists, now_ms);
    (void)!json_path_set(obj, "metadata.annotations",
                         json_pack("{s:s}", SNAPSHOT_DEDUPE_ANNOTATION, dedupe));
    /* owned by the resource: deleting it removes its snapshots */
    json_t *ref = json_pack("[{s:s,s:s,s:s,s:s}]", "apiVersion", "flink.apache.org/v1beta1", "kind",
                            kind, "name", json_path_string(owner, "metadata.name", ""), "uid",
                            json_path_string(owner, "metadata.uid", ""));
    (void)!json_path_set(obj, "metadata.ownerReferences", ref);
    int rc = kube_create(kc, &SNAPSHOT_RES, json_path_string(owner, "metadata.namespace", NULL),
                         obj, NULL, err);
    if (rc == 0)
        log_info("created FlinkStateSnapshot", "name", json_path_string(obj, "metadata.name", ""),
                 "trigger", trigger_type);
    json_decref(obj);
    return rc == WEIR_EEXIST || rc == WEIR_ECONFLICT ? 0 : rc; /* created already */
}

/* Deletes the operator's snapshots of one kind beyond `max_count` or older than `max_age` (< 0:
 * no age limit): savepoints triggered PERIODIC or UPGRADE, checkpoints triggered PERIODIC.
 * The newest, `keep` and snapshots in progress stay. */
static void prune(kube_client *kc, json_t *all, bool checkpoint, long long max_count,
                  long long max_age, const json_t *keep, long long now)
{
    size_t i;
    json_t *o;
    weir_error e = {0};
    json_t *cand = json_array(); /* newest first */
    json_array_foreach(all, i, o)
    {
        const char *tt = json_path_string(o, "metadata.labels[\"snapshot.trigger-type\"]", "");
        bool kind = checkpoint ? json_path_get(o, "spec.checkpoint") != NULL
                               : json_path_get(o, "spec.savepoint") != NULL;
        bool ours = is(tt, "PERIODIC") || (!checkpoint && is(tt, "UPGRADE"));
        if (!kind || !ours || json_path_get(o, "metadata.deletionTimestamp"))
            continue;
        long long ts = clock_parse_k8s_ms(json_path_string(o, "metadata.creationTimestamp", NULL));
        size_t at = 0;
        json_t *c;
        json_array_foreach(cand, at, c)
        {
            if (clock_parse_k8s_ms(json_path_string(c, "metadata.creationTimestamp", NULL)) < ts)
                break;
        }
        json_array_insert(cand, at, o);
    }
    json_array_foreach(cand, i, o)
    {
        long long ts = clock_parse_k8s_ms(json_path_string(o, "metadata.creationTimestamp", NULL));
        bool over = (long long)i >= max_count || (max_age >= 0 && ts > 0 && now - ts > max_age);
        if (!over || i == 0 || o == keep ||
            is(json_path_string(o, "status.state", ""), "IN_PROGRESS"))
            continue;
        const char *sname = json_path_string(o, "metadata.name", "");
        int rc = kube_delete(kc, &SNAPSHOT_RES, json_path_string(o, "metadata.namespace", NULL),
                             sname, NULL, &e);
        if (rc && rc != WEIR_ENOTFOUND)
            log_warn("cannot delete an old FlinkStateSnapshot", "name", sname, "error", e.msg);
        else
            log_info("deleted an old FlinkStateSnapshot (snapshot history)", "name", sname);
    }
    json_decref(cand);
}

void snapshot_observe_for(kube_client *kc, informer *snapshots, const char *kind,
                          const json_t *owner, json_t *status, const config *rconf, long long now)
{
    json_t *all = snapshot_list_for(snapshots, kind, owner);
    size_t i;
    json_t *o, *newest_done = NULL;
    long long newest_done_ts = -1;
    json_array_foreach(all, i, o)
    {
        if (!is(json_path_string(o, "status.state", ""), "COMPLETED") ||
            !json_path_get(o, "spec.savepoint"))
            continue;
        long long ts = clock_parse_k8s_ms(json_path_string(o, "metadata.creationTimestamp", NULL));
        if (ts >= newest_done_ts) {
            newest_done_ts = ts;
            newest_done = o;
        }
    }
    if (newest_done) {
        json_t *js = json_object_get(status, "jobStatus");
        json_t *si = json_object_get(js, "savepointInfo");
        if (js && !json_is_object(si)) {
            si = json_object();
            json_object_set_new(js, "savepointInfo", si);
        }
        long long rts =
            clock_parse_k8s_ms(json_path_string(newest_done, "status.resultTimestamp", NULL));
        json_t *sp = json_pack(
            "{s:I,s:s,s:s,s:s}", "timeStamp", (json_int_t)(rts ? rts : newest_done_ts), "location",
            json_path_string(newest_done, "status.path", ""), "triggerType",
            json_path_string(newest_done, "metadata.labels[\"snapshot.trigger-type\"]", "UNKNOWN"),
            "formatType", json_path_string(newest_done, "spec.savepoint.formatType", "CANONICAL"));
        if (si)
            json_object_set_new(si, "lastSavepoint", sp);
        else
            json_decref(sp);
    }
    /* retention */
    long long max_count = 10, max_age = 86400000LL;
    weir_error e = {0};
    bool cleanup = true;
    if (config_get_int(rconf, "kubernetes.operator.savepoint.history.max.count", 10, &max_count,
                       &e) ||
        config_get_duration_ms(rconf, "kubernetes.operator.savepoint.history.max.age", 86400000LL,
                               &max_age, &e) ||
        config_get_bool(rconf, "kubernetes.operator.savepoint.cleanup.enabled", true, &cleanup,
                        &e) ||
        !cleanup) {
        json_decref(all);
        return;
    }
    if (max_count < 1)
        max_count = 1;
    prune(kc, all, false, max_count, max_age, newest_done, now);
    /* periodic checkpoint snapshots: as many as the job retains checkpoints, and always the
     * newest completed one (a newer one may still be pending) */
    long long retained = 1;
    if (config_get_int(rconf, "state.checkpoints.num-retained", 1, &retained, &e) || retained < 1)
        retained = 1;
    json_t *newest_cp = NULL;
    long long newest_cp_ts = -1;
    json_array_foreach(all, i, o)
    {
        if (!is(json_path_string(o, "status.state", ""), "COMPLETED") ||
            !json_path_get(o, "spec.checkpoint"))
            continue;
        long long ts = clock_parse_k8s_ms(json_path_string(o, "metadata.creationTimestamp", NULL));
        if (ts >= newest_cp_ts) {
            newest_cp_ts = ts;
            newest_cp = o;
        }
    }
    prune(kc, all, true, retained, -1, newest_cp, now);
    json_decref(all);
}
