/*
 * application.c - the job lifecycle of an application FlinkDeployment (see application.h).
 *
 * The steps, each a status write (W*) followed by the action it announces:
 *   first deploy   W: jobId, upgradeSavepointPath = initialSavepointPath, lastReconciledSpec,
 *                     reconciliationStatus.state UPGRADING        -> create the cluster
 *   upgrade        W1: savepointInfo.triggerId (UPGRADE)          -> POST /jobs/:id/stop
 *                  (or jobStatus.state CANCELLING                 -> PATCH cancel, last-state)
 *                  poll; W2: upgradeSavepointPath, lastReconciledSpec.job.state suspended
 *                                                                 -> delete the cluster
 *                  W3: new jobId, lastReconciledSpec = spec       -> create the cluster
 *   suspend        W1, W2 as an upgrade, then lastReconciledSpec = the suspended spec
 *   savepoint      W: savepointInfo.triggerId (MANUAL|PERIODIC)   -> POST /jobs/:id/savepoints
 *                  poll; W: lastSavepoint, savepointHistory, nonce consumed
 *
 * Layer: operator/controller.
 */
#include "operator/controller/lifecycle.h"
#include "operator/controller/application.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/cron.h"
#include "lib/json.h"
#include "lib/random.h"
#include "lib/log.h"
#include "operator/controller/health.h"
#include "operator/controller/specdiff.h"
#include "operator/controller/upgrade.h"

void application_crashpoint(const char *name)
{
#ifdef WEIR_TESTING
    const char *at = getenv("WEIR_CRASHPOINT");
    if (at && strcmp(at, name) == 0) {
        log_warn("crash point reached: killing the operator", "point", name);
        raise(SIGKILL);
    }
#else
    (void)name;
#endif
}

static bool is(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static json_t *obj_at(json_t *root, const char *key)
{
    json_t *o = json_object_get(root, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(root, key, o);
    }
    return o;
}

/* lastReconciledSpec as upstream writes it. */
static void set_last_spec(json_t *status, const json_t *spec, bool first, long long now)
{
    json_t *doc = json_pack("{s:O,s:{s:s,s:b}}", "spec", spec, "resource_metadata", "apiVersion",
                            "flink.apache.org/v1beta1", "firstDeployment", first);
    char *s = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    json_t *recon = obj_at(status, "reconciliationStatus");
    json_object_set_new(recon, "lastReconciledSpec", json_string(s ? s : ""));
    json_object_set_new(recon, "reconciliationTimestamp", json_integer(now));
    free(s);
}

static void set_recon_state(json_t *status, const char *st)
{
    json_object_set_new(obj_at(status, "reconciliationStatus"), "state", json_string(st));
}

json_t *application_deploy_spec(const json_t *spec, const json_t *status)
{
    json_t *d = json_deep_copy(spec);
    json_t *job = json_object_get(d, "job");
    if (!json_is_object(job))
        return d;
    const char *path = json_path_string(status, "jobStatus.upgradeSavepointPath", NULL);
    if (path && *path && strcmp(path, UPGRADE_LAST_STATE_DUMMY) != 0)
        json_object_set_new(job, "initialSavepointPath", json_string(path));
    else
        json_object_del(job, "initialSavepointPath");
    const char *jid = json_path_string(status, "jobStatus.jobId", NULL);
    if (jid && *jid) {
        json_t *fc = json_object_get(d, "flinkConfiguration");
        if (!json_is_object(fc)) {
            fc = json_object();
            json_object_set_new(d, "flinkConfiguration", fc);
        }
        json_object_set_new(fc, "$internal.pipeline.job-id", json_string(jid));
    }
    return d;
}

/* A completed savepoint in the legacy status: lastSavepoint and the history. */
static void record_savepoint(json_t *status, const char *location, const char *trigger_type,
                             const char *format, long long ts, const json_t *nonce)
{
    json_t *si = obj_at(obj_at(status, "jobStatus"), "savepointInfo");
    json_t *sp =
        json_pack("{s:I,s:s,s:s,s:s}", "timeStamp", (json_int_t)ts, "location", location,
                  "triggerType", trigger_type, "formatType", format ? format : "CANONICAL");
    if (nonce && !json_is_null(nonce))
        json_object_set(sp, "triggerNonce", (json_t *)nonce);
    json_t *hist = json_object_get(si, "savepointHistory");
    if (!json_is_array(hist)) {
        hist = json_array();
        json_object_set_new(si, "savepointHistory", hist);
    }
    json_array_append(hist, sp);
    json_object_set_new(si, "lastSavepoint", sp);
}

static void clear_trigger(json_t *status)
{
    json_t *si = json_path_get(status, "jobStatus.savepointInfo");
    if (!json_is_object(si))
        return;
    json_object_del(si, "triggerId");
    json_object_del(si, "triggerTimestamp");
    json_object_del(si, "triggerType");
    json_object_del(si, "formatType");
}

static void set_trigger(json_t *status, const char *id, const char *type, const char *format,
                        long long now)
{
    json_t *si = obj_at(obj_at(status, "jobStatus"), "savepointInfo");
    json_object_set_new(si, "triggerId", json_string(id));
    json_object_set_new(si, "triggerTimestamp", json_integer(now));
    json_object_set_new(si, "triggerType", json_string(type));
    json_object_set_new(si, "formatType", json_string(format ? format : "CANONICAL"));
}

static void event(const application_env *env, const char *type, const char *reason, const char *msg)
{
    if (env->event)
        env->event(env->ud, type, reason, msg);
}

static int wal(const application_env *env, json_t *status, const char *point, weir_error *err)
{
    int rc = env->write(env->ud, status, err);
    if (rc == 0)
        application_crashpoint(point);
    return rc;
}

static const char *savepoint_dir(const application_env *env)
{
    const char *d = config_get(env->conf, "state.savepoints.dir");
    return d ? d : config_get(env->conf, "execution.checkpointing.savepoint-dir");
}

static const char *savepoint_format(const application_env *env)
{
    const char *f = config_get(env->conf, "kubernetes.operator.savepoint.format.type");
    if (!f)
        f = config_get(env->conf, "execution.checkpointing.savepoint.format.type");
    return f && strcasecmp(f, "NATIVE") == 0 ? "NATIVE" : "CANONICAL";
}

static bool conf_bool(const application_env *env, const char *key, bool def)
{
    bool v = def;
    weir_error e = {0};
    if (config_get_bool(env->conf, key, def, &v, &e))
        return def;
    return v;
}

/* W2: the running job is gone (stopped with a savepoint, cancelled, or terminal); its state is
 * recorded in upgradeSavepointPath, and the cluster may be deleted. */
static int suspended(json_t *status, const json_t *last_spec, const char *mode, const char *path,
                     const application_env *env, application_plan *plan, weir_error *err)
{
    json_t *l = json_deep_copy(last_spec);
    json_t *job = json_object_get(l, "job");
    json_object_set_new(job, "state", json_string("suspended"));
    json_object_set_new(job, "upgradeMode", json_string(mode));
    json_t *js = obj_at(status, "jobStatus");
    if (path)
        json_object_set_new(js, "upgradeSavepointPath", json_string(path));
    if (!lifecycle_job_terminal(json_string_value(json_object_get(js, "state"))))
        json_object_set_new(js, "state", json_string("FINISHED"));
    set_last_spec(status, l, false, env->now_ms);
    json_decref(l);
    if (!is(json_path_string(status, "reconciliationStatus.state", ""), "ROLLING_BACK"))
        set_recon_state(status, "UPGRADING");
    int rc = wal(env, status, "suspended", err);
    plan->requeue_ms = 1;
    return rc;
}

/* A pending savepoint (trigger id in savepointInfo): poll it; returns true while it holds the
 * resource (the caller returns). */
static int poll_savepoint(const json_t *spec, json_t *status, const json_t *last_spec,
                          const application_env *env, application_plan *plan, bool *busy,
                          weir_error *err)
{
    json_t *si = json_path_get(status, "jobStatus.savepointInfo");
    const char *tid = json_string_value(json_object_get(si, "triggerId"));
    *busy = false;
    if (!tid || !*tid)
        return 0;
    *busy = true;
    const char *type = json_string_value(json_object_get(si, "triggerType"));
    const char *jid = json_path_string(status, "jobStatus.jobId", "");
    char triggered[64];
    snprintf(triggered, sizeof(triggered), "%s", type ? type : "UNKNOWN");
    plan->requeue_ms = env->progress_ms;
    if (!env->rest)
        return 0; /* the JobManager does not answer now: look again */
    flinkrest_op op = {0};
    weir_error e = {0};
    int rc = flinkrest_savepoint_status(env->rest, jid, tid, &op, &e);
    if (rc == WEIR_ENOTFOUND) {
        /* the request never reached the JobManager (the operator died before sending it, or
         * the JobManager lost it): send it again with the same id */
        char req[33];
        rc = is(type, "UPGRADE")
                 ? flinkrest_stop_with_savepoint(env->rest, jid, savepoint_dir(env), false, tid,
                                                 req, &e)
                 : flinkrest_trigger_savepoint(env->rest, jid, savepoint_dir(env),
                                               json_string_value(json_object_get(si, "formatType")),
                                               tid, req, &e);
        if (rc == 0)
            return 0;
        op.done = op.failed = true;
        snprintf(op.failure, sizeof(op.failure), "%s", e.msg);
    } else if (rc) {
        log_debug("savepoint status not available", "trigger", tid, "error", e.msg);
        return 0;
    }
    if (!op.done)
        return 0;
    long long now = env->now_ms;
    const char *fmt = json_string_value(json_object_get(si, "formatType"));
    char tid_copy[64], fmt_copy[32];
    snprintf(tid_copy, sizeof(tid_copy), "%s", tid);
    snprintf(fmt_copy, sizeof(fmt_copy), "%s", fmt ? fmt : "CANONICAL");
    if (op.failed) {
        char msg[1200];
        snprintf(msg, sizeof(msg), "Savepoint (%s) failed: %s", triggered, op.failure);
        event(env, "Warning", "SavepointError", msg);
        clear_trigger(status);
        if (is(triggered, "UPGRADE")) {
            set_recon_state(status, "DEPLOYED");
            plan->requeue_ms = env->reconcile_ms;
        }
        if (is(triggered, "MANUAL") && last_spec) { /* the nonce is consumed, as upstream */
            json_t *l = json_deep_copy(last_spec);
            json_object_set(json_object_get(l, "job"), "savepointTriggerNonce",
                            json_path_get(spec, "job.savepointTriggerNonce"));
            set_last_spec(status, l, false, now);
            json_decref(l);
        }
        return wal(env, status, "savepoint-failed", err);
    }
    char msg[1200];
    snprintf(msg, sizeof(msg), "Savepoint (%s) completed: %s", triggered, op.location);
    event(env, "Normal", "SavepointCompleted", msg);
    json_t *nonce =
        is(triggered, "MANUAL") ? json_path_get(spec, "job.savepointTriggerNonce") : NULL;
    record_savepoint(status, op.location, triggered, fmt, now, nonce);
    clear_trigger(status);
    if (is(triggered, "UPGRADE")) {
        rc = suspended(status, last_spec, "savepoint", op.location, env, plan, err);
        if (rc == 0 && env->create_snapshot) {
            char dedupe[1100];
            snprintf(dedupe, sizeof(dedupe), "upgrade-%s", tid_copy);
            weir_error e2 = {0};
            if (env->create_snapshot(env->ud, false, "UPGRADE", op.location, fmt_copy, true, dedupe,
                                     &e2) != 0)
                log_warn("cannot record the upgrade savepoint as a FlinkStateSnapshot", "error",
                         e2.msg);
        }
        return rc;
    }
    if (is(triggered, "MANUAL") && last_spec) {
        json_t *l = json_deep_copy(last_spec);
        json_object_set(json_object_get(l, "job"), "savepointTriggerNonce", nonce);
        set_last_spec(status, l, false, now);
        json_decref(l);
    }
    plan->requeue_ms = 0;
    return wal(env, status, "savepoint-completed", err);
}

/* Savepoint history beyond max.count / max.age: disposed through the JobManager, then
 * dropped from the history (only after the disposal succeeded). One per round. */
static int trim_history(json_t *status, const application_env *env, bool *changed)
{
    json_t *hist = json_path_get(status, "jobStatus.savepointInfo.savepointHistory");
    *changed = false;
    if (!json_is_array(hist) || !env->rest)
        return 0;
    long long max_count = 10, max_age = 86400000LL;
    weir_error e = {0};
    if (config_get_int(env->conf, "kubernetes.operator.savepoint.history.max.count", 10, &max_count,
                       &e) ||
        config_get_duration_ms(env->conf, "kubernetes.operator.savepoint.history.max.age",
                               86400000LL, &max_age, &e))
        return 0;
    if (max_count < 1)
        max_count = 1;
    size_t n = json_array_size(hist);
    if (n == 0)
        return 0;
    json_t *oldest = json_array_get(hist, 0);
    bool over =
        (long long)n > max_count ||
        (n > 1 && env->now_ms - json_integer_value(json_object_get(oldest, "timeStamp")) > max_age);
    if (!over)
        return 0;
    const char *loc = json_string_value(json_object_get(oldest, "location"));
    const char *last =
        json_path_string(status, "jobStatus.savepointInfo.lastSavepoint.location", "");
    const char *upgrade = json_path_string(status, "jobStatus.upgradeSavepointPath", "");
    /* never dispose what the next restore or the newest savepoint needs */
    if (loc && !is(loc, last) && !is(loc, upgrade)) {
        char req[33];
        flinkrest_op op = {0};
        if (flinkrest_dispose_savepoint(env->rest, loc, req, &e) != 0) {
            log_warn("cannot dispose an old savepoint", "location", loc, "error", e.msg);
            return 0;
        }
        for (int i = 0; i < 20 && !op.done; i++) { /* disposal is a directory removal */
            if (flinkrest_disposal_status(env->rest, req, &op, &e) != 0)
                return 0;
            if (!op.done)
                usleep(50000);
        }
        if (!op.done || op.failed) {
            log_warn("old savepoint not disposed", "location", loc, "error", op.failure);
            return 0;
        }
        log_info("disposed an old savepoint", "location", loc);
    }
    json_array_remove(hist, 0);
    *changed = true;
    return 0;
}

/* A manual snapshot's nonce (job.savepointTriggerNonce or job.checkpointTriggerNonce) is
 * reconciled: lastReconciledSpec takes the spec's value. */
static void consume_nonce(json_t *status, const char *field, const json_t *value, long long now)
{
    json_t *doc = json_loads(
        json_path_string(status, "reconciliationStatus.lastReconciledSpec", "{}"), 0, NULL);
    json_t *job = json_path_get(doc, "spec.job");
    if (json_is_object(job)) {
        if (value && !json_is_null(value))
            json_object_set(job, field, (json_t *)value);
        else
            json_object_del(job, field);
        set_last_spec(status, json_object_get(doc, "spec"), false, now);
    }
    json_decref(doc);
}

int application_periodic_next(const config *conf, const char *key, long long last_ms,
                              long long *next_ms, weir_error *err)
{
    *next_ms = -1;
    const char *v = config_get(conf, key);
    if (!v || !*v)
        return 0;
    long long ms = 0;
    weir_error de = {0};
    if (config_get_duration_ms(conf, key, 0, &ms, &de) == 0) {
        if (ms > 0)
            *next_ms = last_ms + ms;
        return 0;
    }
    cron *c = NULL;
    weir_error ce = {0};
    if (cron_parse(v, &c, &ce) != 0)
        return weir_error_set(err, ce.code,
                              "key '%s': '%s' is neither a duration nor a Quartz cron "
                              "expression (%s)",
                              key, v, ce.msg);
    *next_ms = cron_next(c, last_ms);
    cron_free(c);
    return 0;
}

/* The last periodic trigger: the one recorded in status, or the resource's creation (upstream
 * counts the first period from there). */
static long long periodic_last(const json_t *fd, const json_t *status, const char *path)
{
    long long t = json_path_int(status, path, 0);
    long long c = clock_parse_k8s_ms(json_path_string(fd, "metadata.creationTimestamp", NULL));
    return t > c ? t : c;
}

/* Is a periodic snapshot due now? Otherwise *wait_ms (if smaller) becomes the time to its
 * next trigger. */
static bool periodic_due(const application_env *env, const char *key, long long last, long *wait_ms)
{
    long long next = -1;
    weir_error e = {0};
    if (application_periodic_next(env->conf, key, last, &next, &e) != 0) {
        log_warn("periodic snapshots disabled", "error", e.msg); /* the validator reports it */
        return false;
    }
    if (next < 0)
        return false;
    if (env->now_ms >= next)
        return true;
    long long d = next - env->now_ms;
    if (d < 1000)
        d = 1000;
    if (*wait_ms == 0 || d < *wait_ms)
        *wait_ms = (long)d;
    return false;
}

/* Legacy checkpointInfo: a pending manual or periodic checkpoint (its trigger id is Flink's
 * request id) is polled; a completed one becomes lastCheckpoint and consumes the manual nonce.
 * A checkpoint never holds the resource: upgrades do not wait for it. */
static int poll_checkpoint(const json_t *spec, json_t *status, const application_env *env,
                           weir_error *err)
{
    json_t *ci = json_path_get(status, "jobStatus.checkpointInfo");
    const char *tid = json_string_value(json_object_get(ci, "triggerId"));
    if (!tid || !*tid || !env->rest)
        return 0;
    flinkrest_op op = {0};
    weir_error e = {0};
    const char *jid = json_path_string(status, "jobStatus.jobId", "");
    int rc = flinkrest_checkpoint_status(env->rest, jid, tid, &op, &e);
    if (rc == WEIR_ENOTFOUND) {
        op.done = op.failed = true;
        snprintf(op.failure, sizeof(op.failure), "the job no longer knows checkpoint request %s",
                 tid);
    } else if (rc || !op.done) {
        return 0;
    }
    char type[32], msg[1200];
    snprintf(type, sizeof(type), "%s",
             json_string_value(json_object_get(ci, "triggerType"))
                 ? json_string_value(json_object_get(ci, "triggerType"))
                 : "UNKNOWN");
    if (op.failed) {
        snprintf(msg, sizeof(msg), "Checkpoint (%s) failed: %s", type, op.failure);
        event(env, "Warning", "CheckpointError", msg);
    } else {
        json_t *cp = json_pack("{s:I,s:s,s:s}", "timeStamp", (json_int_t)env->now_ms, "triggerType",
                               type, "formatType", "FULL");
        json_t *nonce = json_path_get(spec, "job.checkpointTriggerNonce");
        if (is(type, "MANUAL") && nonce && !json_is_null(nonce))
            json_object_set(cp, "triggerNonce", nonce);
        json_object_set_new(ci, "lastCheckpoint", cp);
        char path[1024];
        bool found = false;
        if (flinkrest_latest_checkpoint(env->rest, jid, path, sizeof(path), &found, &e) != 0 ||
            !found)
            snprintf(path, sizeof(path), "checkpoint %llu", (unsigned long long)op.checkpoint_id);
        snprintf(msg, sizeof(msg), "Checkpoint (%s) completed: %s", type, path);
        event(env, "Normal", "CheckpointCompleted", msg);
    }
    if (is(type, "MANUAL")) /* consumed either way, as upstream */
        consume_nonce(status, "checkpointTriggerNonce",
                      json_path_get(spec, "job.checkpointTriggerNonce"), env->now_ms);
    json_object_del(ci, "triggerId");
    json_object_del(ci, "triggerTimestamp");
    json_object_del(ci, "triggerType");
    json_object_del(ci, "formatType");
    return wal(env, status, "checkpoint-completed", err);
}

/* A running job with nothing to upgrade: manual (nonce) and periodic savepoints, then
 * checkpoints, each as a FlinkStateSnapshot resource or a legacy trigger in status; the legacy
 * savepoint history is trimmed. One trigger per round. */
static int take_snapshots(const json_t *fd, const json_t *spec, const json_t *lspec, json_t *status,
                          const application_env *env, application_plan *plan, weir_error *err)
{
    int rc = 0;
    json_t *js = obj_at(status, "jobStatus");
    const char *jstate = json_string_value(json_object_get(js, "state"));
    const char *jid = json_string_value(json_object_get(js, "jobId"));
    char msg[300], id[33];
    long wait = 0;
    if (!env->create_snapshot && (rc = poll_checkpoint(spec, status, env, err)))
        return rc;
    for (int k = 0; k < 2; k++) {
        bool cp = k == 1;
        const char *what = cp ? "checkpoint" : "savepoint";
        const char *nonce_field = cp ? "checkpointTriggerNonce" : "savepointTriggerNonce";
        const char *info = cp ? "checkpointInfo" : "savepointInfo";
        const char *ts_field =
            cp ? "lastPeriodicCheckpointTimestamp" : "lastPeriodicSavepointTimestamp";
        char ts_path[96];
        snprintf(ts_path, sizeof(ts_path), "jobStatus.%s.%s", info, ts_field);
        json_t *want =
            json_path_get(spec, cp ? "job.checkpointTriggerNonce" : "job.savepointTriggerNonce");
        json_t *have =
            json_path_get(lspec, cp ? "job.checkpointTriggerNonce" : "job.savepointTriggerNonce");
        bool manual = want && !json_is_null(want) && !(have && json_equal(want, have));
        bool periodic = periodic_due(env,
                                     cp ? "kubernetes.operator.periodic.checkpoint.interval"
                                        : "kubernetes.operator.periodic.savepoint.interval",
                                     periodic_last(fd, status, ts_path), &wait);
        if (!(manual || periodic) || !is(jstate, "RUNNING") || !env->rest)
            continue;
        if (!env->create_snapshot && json_path_get(obj_at(js, info), "triggerId"))
            continue; /* one legacy trigger of a kind at a time */
        const char *type = manual ? "MANUAL" : "PERIODIC";
        if (!cp && !savepoint_dir(env)) {
            if (manual) {
                event(env, "Warning", "SavepointError",
                      "Cannot trigger a savepoint: state.savepoints.dir is not set");
                consume_nonce(status, nonce_field, want, env->now_ms);
                rc = wal(env, status, "savepoint-refused", err);
            }
            return rc;
        }
        if (env->create_snapshot) {
            /* FlinkStateSnapshot resources: the snapshot controller takes it. Periodic: the
             * time first (a crash skips one period, never duplicates); manual: the resource
             * first, deduplicated by generation and nonce, then the nonce. */
            char dedupe[200];
            weir_error e = {0};
            if (!manual) {
                json_object_set_new(obj_at(js, info), ts_field, json_integer(env->now_ms));
                if ((rc = wal(env, status, "periodic-snapshot", err)))
                    return rc;
                snprintf(dedupe, sizeof(dedupe), "periodic-%s-%lld", what, env->now_ms);
            } else {
                char *nv = json_dumps(want, JSON_ENCODE_ANY | JSON_COMPACT);
                snprintf(dedupe, sizeof(dedupe), "manual-%s%lld-%s", cp ? "checkpoint-" : "",
                         json_path_int(fd, "metadata.generation", 0), nv ? nv : "");
                free(nv);
            }
            if (env->create_snapshot(env->ud, cp, type, cp ? NULL : savepoint_dir(env),
                                     cp ? "FULL" : savepoint_format(env), false, dedupe, &e) != 0) {
                log_warn("cannot create a FlinkStateSnapshot", "error", e.msg);
                plan->requeue_ms = env->progress_ms;
                return 0;
            }
            if (manual) {
                consume_nonce(status, nonce_field, want, env->now_ms);
                if ((rc = wal(env, status, "manual-snapshot", err)))
                    return rc;
            }
            snprintf(msg, sizeof(msg), "Created a %s %s FlinkStateSnapshot",
                     manual ? "manual" : "periodic", what);
            event(env, "Normal", cp ? "CheckpointTriggered" : "SavepointTriggered", msg);
            plan->requeue_ms = env->progress_ms;
            return 0;
        }
        weir_error e = {0};
        char req[33];
        if (cp) {
            /* Flink's checkpoint trigger chooses the request id; a lost trigger is only
             * triggered again (an extra checkpoint loses nothing) */
            if (flinkrest_trigger_checkpoint(env->rest, jid, "FULL", req, &e) != 0) {
                log_warn("checkpoint not accepted", "error", e.msg);
                plan->requeue_ms = env->progress_ms;
                return 0;
            }
            snprintf(id, sizeof(id), "%s", req);
        } else {
            random_hex(id, 32);
        }
        json_t *ti = obj_at(js, info);
        json_object_set_new(ti, "triggerId", json_string(id));
        json_object_set_new(ti, "triggerTimestamp", json_integer(env->now_ms));
        json_object_set_new(ti, "triggerType", json_string(type));
        json_object_set_new(ti, "formatType", json_string(cp ? "FULL" : savepoint_format(env)));
        if (!manual)
            json_object_set_new(ti, ts_field, json_integer(env->now_ms));
        if ((rc = wal(env, status, cp ? "checkpoint-trigger" : "savepoint-trigger", err)))
            return rc;
        if (!cp && flinkrest_trigger_savepoint(env->rest, jid, savepoint_dir(env),
                                               savepoint_format(env), id, req, &e) != 0)
            log_warn("savepoint not accepted yet; polling will retry", "error", e.msg);
        snprintf(msg, sizeof(msg), "Triggering a %s %s", manual ? "manual" : "periodic", what);
        event(env, "Normal", cp ? "CheckpointTriggered" : "SavepointTriggered", msg);
        plan->requeue_ms = env->progress_ms;
        return 0;
    }
    if (wait > 0 && (!plan->requeue_ms || wait < plan->requeue_ms))
        plan->requeue_ms = wait;
    if (json_path_get(status, "jobStatus.checkpointInfo.triggerId") &&
        (!plan->requeue_ms || plan->requeue_ms > env->progress_ms))
        plan->requeue_ms = env->progress_ms;
    bool trimmed = false;
    if (!env->create_snapshot && is(jstate, "RUNNING"))
        rc = trim_history(status, env, &trimmed);
    return rc;
}

int application_reconcile(const json_t *fd, json_t *status, const application_env *env,
                          application_plan *plan, weir_error *err)
{
    int rc = 0;
    memset(plan, 0, sizeof(*plan));
    const json_t *spec = json_object_get(fd, "spec");
    const char *last = json_path_string(status, "reconciliationStatus.lastReconciledSpec", NULL);
    json_t *ldoc = last ? json_loads(last, 0, NULL) : NULL, *sdoc = NULL;
    json_t *lspec = json_object_get(ldoc, "spec");
    bool want_running = !is(json_path_string(spec, "job.state", "running"), "suspended");
    json_t *js = obj_at(status, "jobStatus");
    char id[33], msg[600];

    /* --- first deployment -------------------------------------------------------------- */
    if (!json_is_object(lspec)) {
        if (!want_running)
            goto out; /* upstream: a resource created suspended is not deployed */
        random_hex(id, 32);
        json_object_set_new(js, "jobId", json_string(id));
        json_object_set_new(js, "state", json_string("RECONCILING"));
        json_object_set_new(js, "jobName", json_string(json_path_string(fd, "metadata.name", "")));
        const char *init = json_path_string(spec, "job.initialSavepointPath", NULL);
        if (init && *init)
            json_object_set_new(js, "upgradeSavepointPath", json_string(init));
        set_last_spec(status, spec, true, env->now_ms);
        set_recon_state(status, "UPGRADING");
        if ((rc = wal(env, status, "first-deploy", err)))
            goto out;
        event(env, "Normal", "Submit", "Starting deployment");
        plan->deploy_spec = application_deploy_spec(spec, status);
        plan->deployed = true;
        goto out;
    }

    bool deployed_running = !is(json_path_string(lspec, "job.state", "running"), "suspended");
    /* copies: the steps below replace these fields in status */
    char recon_state_buf[32], jstate_buf[32], ttype_buf[32];
    snprintf(recon_state_buf, sizeof(recon_state_buf), "%s",
             json_path_string(status, "reconciliationStatus.state", "DEPLOYED"));
    snprintf(jstate_buf, sizeof(jstate_buf), "%s",
             json_string_value(json_object_get(js, "state"))
                 ? json_string_value(json_object_get(js, "state"))
                 : "");
    const char *recon_state = recon_state_buf;
    const char *jstate = jstate_buf[0] ? jstate_buf : NULL;
    struct specdiff_options so = {.standalone = true};
    json_t *changes = NULL;
    enum spec_diff diff = specdiff_compute(lspec, spec, &so, &changes);
    json_decref(changes);
    snprintf(ttype_buf, sizeof(ttype_buf), "%s",
             json_path_string(status, "jobStatus.savepointInfo.triggerType", ""));
    const char *ttype = ttype_buf;
    bool pending = json_path_string(status, "jobStatus.savepointInfo.triggerId", NULL) != NULL;
    /* rollback (reference §2.6): the target is lastStableSpec; a new user change wins */
    const char *stable_s = json_path_string(status, "reconciliationStatus.lastStableSpec", NULL);
    sdoc = stable_s ? json_loads(stable_s, 0, NULL) : NULL;
    json_t *stable = json_object_get(sdoc, "spec");
    /* did the user change the spec since? (job.state is ours to flip while suspending) */
    json_t *lcopy = json_deep_copy(lspec);
    (void)!json_path_set(lcopy, "job.state",
                         json_string(json_path_string(spec, "job.state", "running")));
    enum spec_diff user_diff = specdiff_compute(lcopy, spec, &so, NULL);
    json_decref(lcopy);
    bool rolling =
        is(recon_state, "ROLLING_BACK") && json_is_object(stable) && user_diff < SPEC_DIFF_UPGRADE;
    bool rolled = is(recon_state, "ROLLED_BACK") && json_is_object(stable);
    if (rolled && user_diff >= SPEC_DIFF_UPGRADE) {
        /* leaving a rollback for a new spec: the running cluster is the stable spec's, so it
         * becomes the deployed spec the upgrade starts from (written with the upgrade's first
         * status write) */
        set_last_spec(status, stable, false, env->now_ms);
        set_recon_state(status, "DEPLOYED");
        json_decref(ldoc);
        ldoc = json_loads(json_path_string(status, "reconciliationStatus.lastReconciledSpec", "{}"),
                          0, NULL);
        lspec = json_object_get(ldoc, "spec");
        last = json_path_string(status, "reconciliationStatus.lastReconciledSpec", NULL);
        snprintf(recon_state_buf, sizeof(recon_state_buf), "DEPLOYED");
        diff = specdiff_compute(lspec, spec, &so, NULL);
        rolled = false;
    }
    /* the spec the cluster is built from: a rolled-back resource runs its stable spec */
    const json_t *base = rolled ? stable : lspec;

    /* a terminal job's latest checkpoint is what a later restore uses (only terminal states
     * are safe: no newer checkpoint can appear) */
    if (deployed_running && lifecycle_job_terminal(jstate) && env->rest) {
        char path[1024];
        bool found = false;
        weir_error e = {0};
        const char *cur = json_string_value(json_object_get(js, "upgradeSavepointPath"));
        if (flinkrest_latest_checkpoint(env->rest, json_string_value(json_object_get(js, "jobId")),
                                        path, sizeof(path), &found, &e) == 0 &&
            found && !is(cur, path))
            json_object_set_new(js, "upgradeSavepointPath", json_string(path));
    }

    if (deployed_running) {
        bool busy = false;
        /* a pending savepoint first: an upgrade's, or a manual/periodic one */
        if (pending && (rc = poll_savepoint(spec, status, lspec, env, plan, &busy, err)))
            goto out;
        if (busy) {
            /* still pending, or just recorded; after an upgrade's savepoint (W2) the deployed
             * spec is suspended and the cluster goes */
            if (!json_path_get(status, "jobStatus.savepointInfo.triggerId") &&
                is(ttype, "UPGRADE") &&
                is(json_path_string(status, "reconciliationStatus.state", ""), "UPGRADING"))
                goto out;
            plan->deploy_spec = application_deploy_spec(base, status);
            if (!plan->requeue_ms)
                plan->requeue_ms = env->progress_ms;
            goto out;
        }
        if (rolling && !env->cluster_present) {
            /* the rollback's restore was written: create the stable spec's cluster */
            plan->deploy_spec = application_deploy_spec(stable, status);
            plan->deployed = true;
            plan->deployed_state = "ROLLED_BACK";
            plan->requeue_ms = env->progress_ms;
            goto out;
        }
        /* job.restart.failed: a FAILED job is redeployed with the same spec, restoring the
         * latest checkpoint recorded above (upstream's restart of failed jobs) */
        bool restart_failed = is(jstate, "FAILED") && is(recon_state, "DEPLOYED") &&
                              diff < SPEC_DIFF_UPGRADE &&
                              conf_bool(env, "kubernetes.operator.job.restart.failed", false);
        if (restart_failed)
            event(env, "Warning", "RestartUnhealthyJob", "Restarting failed job");
        /* cluster.health-check: too many restarts, or no checkpoint progress (health.c) */
        bool unhealthy = env->unhealthy && jstate && !lifecycle_job_terminal(jstate) &&
                         !is(jstate, "CANCELLING") && !is(jstate, "RECONCILING") &&
                         is(recon_state, "DEPLOYED") && diff < SPEC_DIFF_UPGRADE && !pending;
        if (unhealthy)
            event(env, "Warning", "RestartUnhealthyJob", "Restarting unhealthy job");
        bool need = diff >= SPEC_DIFF_UPGRADE || is(jstate, "CANCELLING") ||
                    (is(recon_state, "UPGRADING") && lifecycle_job_terminal(jstate)) || rolling ||
                    restart_failed || unhealthy;
        bool upgrading_w3 = is(recon_state, "UPGRADING") && !need;
        if (upgrading_w3) {
            /* W3 was written: (re)create the cluster and mark the upgrade deployed */
            plan->deploy_spec = application_deploy_spec(lspec, status);
            plan->deployed = true;
            plan->requeue_ms = env->progress_ms;
            goto out;
        }
        if (need) {
            if (diff == SPEC_DIFF_SAVEPOINT_REDEPLOY) {
                const char *p = json_path_string(spec, "job.initialSavepointPath", NULL);
                if (!p || !*p) {
                    snprintf(msg, sizeof(msg),
                             "savepointRedeployNonce changed but job.initialSavepointPath is "
                             "empty");
                    event(env, "Warning", "ValidationError", msg);
                    plan->deploy_spec = application_deploy_spec(lspec, status);
                    goto out;
                }
                event(env, "Normal", "Suspended", "Redeploying from the given savepoint");
                if (env->rest && !lifecycle_job_terminal(jstate)) {
                    weir_error e = {0};
                    (void)!flinkrest_cancel(env->rest,
                                            json_string_value(json_object_get(js, "jobId")), &e);
                }
                rc = suspended(status, lspec, "savepoint", p, env, plan, err);
                goto out;
            }
            const char *mode = json_path_string(spec, "job.upgradeMode", "stateless");
            const char *old_mode = json_path_string(lspec, "job.upgradeMode", "stateless");
            if (rolling || unhealthy) /* upstream restarts an unhealthy job with last-state */
                mode = is(old_mode, "stateless") ? "stateless" : "last-state";
            upgrade_input in = {
                .upgrade_mode = mode,
                .job_state = jstate,
                .jm_reachable = env->rest != NULL,
                .jm_never_available = env->jm_never_available,
                .last_upgrade_mode = old_mode,
                .ha_enabled = false, /* Weir keeps no HA metadata yet: last-state cancels */
                .ha_metadata = false,
                .flink_version_changed = !is(json_path_string(lspec, "flinkVersion", ""),
                                             json_path_string(spec, "flinkVersion", "")),
                .savepoint_dir = savepoint_dir(env) != NULL,
                .last_state_fallback = conf_bool(
                    env, "kubernetes.operator.job.upgrade.last-state-fallback.enabled", true),
                .last_state_job_cancel = true,
                .upgrade_savepoint_path =
                    json_string_value(json_object_get(js, "upgradeSavepointPath")),
            };
            upgrade_decision d;
            upgrade_decide(&in, &d);
            log_info("job upgrade decided", "name", json_path_string(fd, "metadata.name", ""),
                     "suspend", upgrade_suspend_name(d.suspend), "reason", d.reason);
            const char *jid = json_string_value(json_object_get(js, "jobId"));
            weir_error e = {0};
            switch (d.suspend) {
            case UPGRADE_SAVEPOINT: {
                if (!env->rest) { /* the JobManager must answer to take the savepoint */
                    plan->deploy_spec = application_deploy_spec(lspec, status);
                    plan->requeue_ms = env->progress_ms;
                    goto out;
                }
                random_hex(id, 32);
                set_trigger(status, id, "UPGRADE", savepoint_format(env), env->now_ms);
                if (!rolling)
                    set_recon_state(status, "UPGRADING");
                if ((rc = wal(env, status, "upgrade-trigger", err)))
                    goto out;
                event(env, "Normal", "Suspended", "Suspending existing deployment.");
                char req[33];
                if (flinkrest_stop_with_savepoint(env->rest, jid, savepoint_dir(env), false, id,
                                                  req, &e) != 0)
                    log_warn("stop-with-savepoint not accepted yet; polling will retry", "error",
                             e.msg);
                plan->deploy_spec = application_deploy_spec(lspec, status);
                plan->requeue_ms = env->progress_ms;
                goto out;
            }
            case UPGRADE_CANCEL:
            case UPGRADE_LAST_STATE:
                if (!is(jstate, "CANCELLING")) {
                    json_object_set_new(js, "state", json_string("CANCELLING"));
                    if (!rolling)
                        set_recon_state(status, "UPGRADING");
                    if ((rc = wal(env, status, "upgrade-cancel", err)))
                        goto out;
                    event(env, "Normal", "Suspended", "Suspending existing deployment.");
                }
                if (env->rest && flinkrest_cancel(env->rest, jid, &e) != 0)
                    log_warn("cancel not accepted", "error", e.msg);
                plan->deploy_spec = application_deploy_spec(lspec, status);
                plan->requeue_ms = env->progress_ms;
                goto out;
            case UPGRADE_STATELESS:
                if (env->rest && jid && flinkrest_cancel(env->rest, jid, &e) != 0)
                    log_debug("cancel before a stateless upgrade failed", "error", e.msg);
                event(env, "Normal", "Suspended", "Suspending existing deployment.");
                rc =
                    suspended(status, lspec, d.restore == RESTORE_EMPTY ? "stateless" : "savepoint",
                              NULL, env, plan, err);
                goto out;
            case UPGRADE_NOOP:
                rc =
                    suspended(status, lspec, d.restore == RESTORE_EMPTY ? "stateless" : "savepoint",
                              NULL, env, plan, err);
                goto out;
            case UPGRADE_WAIT:
                plan->deploy_spec = application_deploy_spec(lspec, status);
                plan->requeue_ms = env->progress_ms;
                goto out;
            case UPGRADE_FAIL: {
                json_t *e2 = json_pack("{s:s,s:s,s:{},s:[]}", "type",
                                       "org.apache.flink.kubernetes.operator.exception."
                                       "UpgradeFailureException",
                                       "message", d.reason, "additionalMetadata", "throwableList");
                char *ej = json_dumps(e2, JSON_COMPACT);
                json_decref(e2);
                if (ej && !is(json_string_value(json_object_get(status, "error")), ej))
                    event(env, "Warning", "UpgradeFailed", d.reason);
                if (ej)
                    json_object_set_new(status, "error", json_string(ej));
                free(ej);
                plan->deploy_spec = application_deploy_spec(lspec, status);
                plan->requeue_ms = env->reconcile_ms;
                goto out;
            }
            }
        }
        /* a deployment that did not become stable within the readiness timeout rolls back */
        long long readiness = 300000;
        weir_error re = {0};
        if (config_get_duration_ms(env->conf, "kubernetes.operator.deployment.readiness.timeout",
                                   300000, &readiness, &re))
            readiness = 300000;
        if (conf_bool(env, "kubernetes.operator.deployment.rollback.enabled", false) &&
            is(recon_state, "DEPLOYED") && stable_s && !is(stable_s, last) &&
            json_is_object(stable) &&
            !is(json_path_string(stable, "job.state", "running"), "suspended") &&
            is(json_path_string(stable, "flinkVersion", ""),
               json_path_string(lspec, "flinkVersion", "")) &&
            !is(jstate, "RUNNING") &&
            env->now_ms - json_path_int(status, "reconciliationStatus.reconciliationTimestamp",
                                        env->now_ms) >
                readiness) {
            set_recon_state(status, "ROLLING_BACK");
            json_object_del(obj_at(js, "savepointInfo"), "triggerId");
            if ((rc = wal(env, status, "rollback", err)))
                goto out;
            event(env, "Normal", "Rollback", "Rolling back failed deployment.");
            plan->deploy_spec = application_deploy_spec(lspec, status);
            plan->requeue_ms = 1;
            goto out;
        }
        /* running, nothing to upgrade: small changes, snapshots */
        json_t *l = json_deep_copy(spec);
        json_t *lj = json_object_get(l, "job");
        /* a snapshot nonce advances only when its snapshot is taken */
        for (int k = 0; k < 2; k++) {
            const char *f = k ? "checkpointTriggerNonce" : "savepointTriggerNonce";
            json_t *have = json_object_get(json_object_get(lspec, "job"), f);
            if (have)
                json_object_set(lj, f, have);
            else
                json_object_del(lj, f);
        }
        bool spec_moved = !json_equal(l, lspec);
        if (spec_moved) /* IGNORE/SCALE changes are taken over without a restart */
            set_last_spec(status, l, false, env->now_ms);
        plan->deploy_spec = application_deploy_spec(rolled       ? stable
                                                    : spec_moved ? l
                                                                 : lspec,
                                                    status);
        json_decref(l);

        rc = take_snapshots(fd, spec, lspec, status, env, plan, err);
        goto out;
    }

    /* --- the deployed spec is suspended (suspend done, or mid-upgrade) ------------------ */
    if (env->cluster_present) {
        plan->requeue_ms = 500; /* the reconciler deletes it; come back when it is gone */
        goto out;
    }
    if (!want_running) {
        if (!json_equal(lspec, spec) || is(recon_state, "UPGRADING")) {
            set_last_spec(status, spec, false, env->now_ms);
            set_recon_state(status, "DEPLOYED");
            json_object_set_new(obj_at(status, "reconciliationStatus"), "lastStableSpec",
                                json_string(json_path_string(
                                    status, "reconciliationStatus.lastReconciledSpec", "")));
        }
        goto out;
    }
    /* W3: resume / complete the upgrade with a new job id and the recorded restore path */
    {
        bool rb = rolling;
        const json_t *target = rb ? stable : spec;
        bool empty = is(json_path_string(target, "job.upgradeMode", "stateless"), "stateless") ||
                     is(json_path_string(lspec, "job.upgradeMode", "stateless"), "stateless");
        if (empty)
            json_object_del(js, "upgradeSavepointPath");
        random_hex(id, 32);
        json_object_set_new(js, "jobId", json_string(id));
        json_object_set_new(js, "state", json_string("RECONCILING"));
        json_object_del(js, "startTime");
        health_forget(json_object_get(status, "clusterInfo")); /* a new job is judged anew */
        set_last_spec(status, spec, false, env->now_ms);
        set_recon_state(status, rb ? "ROLLING_BACK" : "UPGRADING");
        if ((rc = wal(env, status, "restore", err)))
            goto out;
        const char *p = json_string_value(json_object_get(js, "upgradeSavepointPath"));
        snprintf(msg, sizeof(msg), "Starting deployment%s%s%s", rb ? " (rollback)" : "",
                 p ? " from " : "", p ? p : "");
        event(env, "Normal", "Submit", msg);
        plan->deploy_spec = application_deploy_spec(target, status);
        plan->deployed = true;
        if (rb)
            plan->deployed_state = "ROLLED_BACK";
        plan->requeue_ms = env->progress_ms;
    }
out:
    json_decref(sdoc);
    json_decref(ldoc);
    return rc;
}
