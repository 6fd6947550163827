/*
 * jobmanager.c - the JobManager (see jobmanager.h and jm.h): TaskManager registration and
 * heartbeats, the dispatcher, slot scheduling (subtask i of every chain in slot i, slots
 * filled TaskManager by TaskManager), the checkpoint coordinator across processes, savepoints,
 * stop-with-savepoint, cancel, restarts per the restart strategy, and Flink's JobStatus.
 *
 * Every state change is one log line "job state changed" with from/to.
 *
 * Layer: runtime/jobmanager.
 */
#include "lib/random.h"
#include "runtime/jobmanager/jobmanager.h"

#include "lib/clock.h"

#include "lib/log.h"
#include "runtime/jobconf.h"
#include "runtime/jobmanager/jm.h"
#include "runtime/sql/sql.h"
#include "runtime/storage/storage.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS      10
#define POLL_HOLD_MS 200

const char *const jm_state_names[JS_COUNT] = {
    "INITIALIZING", "CREATED",  "RUNNING",    "FAILING",   "FAILED",     "CANCELLING",
    "CANCELED",     "FINISHED", "RESTARTING", "SUSPENDED", "RECONCILING"};

static volatile sig_atomic_t signalled;

static void on_signal(int sig)
{
    (void)sig;
    signalled = 1;
}

bool jm_state_terminal(jm_state s)
{
    return s == JS_FAILED || s == JS_CANCELED || s == JS_FINISHED || s == JS_SUSPENDED;
}

/* --- jobs -------------------------------------------------------------------------------- */

jm_job *jm_find_job(jm *j, const char *id)
{
    for (size_t i = 0; id && i < j->njobs; i++)
        if (strcmp(j->jobs[i]->id, id) == 0)
            return j->jobs[i];
    return NULL;
}

static void set_state(jm_job *job, jm_state st)
{
    if (job->state == st)
        return;
    log_info("job state changed", "job_id", job->id, "name", job->name, "from",
             jm_state_names[job->state], "to", jm_state_names[st], (const char *)NULL);
    job->state = st;
    job->ts[st] = clock_epoch_ms();
    if (jm_state_terminal(st))
        job->end_ms = job->ts[st];
}

static void job_free(jm_job *job)
{
    if (!job)
        return;
    rt_coord_free(job->coord);
    if (job->g.chains)
        rt_graph_free(&job->g);
    rt_plan_free(job->plan);
    json_decref(job->plan_doc);
    json_decref(job->exceptions);
    config_free(job->conf);
    free(job->slot_tm);
    free(job->tm_state);
    free(job);
}

static void queue_cmd(jm *j, int tm, json_t *cmd)
{
    json_array_append_new(j->tms[tm].cmds, cmd);
    pthread_cond_broadcast(&j->cmd_cond);
}

/* TaskManagers of the current attempt (each once). */
static int attempt_tms(const jm_job *job, int *out)
{
    int n = 0;
    for (uint32_t s = 0; job->slot_tm && s < job->g.max_slots; s++) {
        int t = job->slot_tm[s];
        bool seen = false;
        for (int k = 0; k < n; k++)
            seen = seen || out[k] == t;
        if (t >= 0 && !seen)
            out[n++] = t;
    }
    return n;
}

static void send_to_attempt(jm *j, jm_job *job, const char *type, json_t *extra)
{
    int tms[JM_MAX_TMS];
    int n = attempt_tms(job, tms);
    for (int k = 0; k < n; k++) {
        json_t *cmd = json_pack("{s:s, s:s, s:i}", "type", type, "jobId", job->id, "attempt",
                                (int)job->attempt);
        if (extra)
            json_object_update(cmd, extra);
        queue_cmd(j, tms[k], cmd);
    }
    json_decref(extra);
}

jm_trigger *jm_find_trigger(jm *j, const char *id)
{
    for (size_t i = 0; id && i < j->ntrig; i++)
        if (strcmp(j->triggers[i].id, id) == 0)
            return &j->triggers[i];
    return NULL;
}

jm_trigger *jm_new_trigger(jm *j, const char *id)
{
    jm_trigger *t = &j->triggers[j->trig_pos];
    j->trig_pos = (j->trig_pos + 1) % JM_MAX_TRIGGERS;
    if (j->ntrig < JM_MAX_TRIGGERS)
        j->ntrig++;
    memset(t, 0, sizeof(*t));
    if (id && *id)
        snprintf(t->id, sizeof(t->id), "%s", id);
    else
        random_hex(t->id, 32);
    t->created_ms = clock_epoch_ms();
    return t;
}

static void trigger_fail(jm *j, const char *id, const char *why)
{
    jm_trigger *t = jm_find_trigger(j, id);
    if (!t || t->done)
        return;
    t->done = t->failed = true;
    t->queued = false;
    snprintf(t->failure, sizeof(t->failure), "%s", why);
}

/* Fails every trigger of `job` still waiting for the coordinator. */
static void fail_queued(jm *j, const jm_job *job, const char *why)
{
    for (size_t i = 0; i < j->ntrig; i++)
        if (j->triggers[i].queued && strcmp(j->triggers[i].job_id, job->id) == 0)
            trigger_fail(j, j->triggers[i].id, why);
}

static void add_exception(jm_job *job, const char *msg, const char *tm)
{
    int64_t now = clock_epoch_ms();
    json_array_append_new(job->exceptions,
                          json_pack("{s:s, s:s, s:I, s:n, s:s?, s:s?, s:o, s:[]}", "exceptionName",
                                    "org.apache.flink.runtime.JobException", "stacktrace", msg,
                                    "timestamp", (json_int_t)now, "taskName", "location", tm,
                                    "taskManagerId", tm, "failureLabels", json_object(),
                                    "concurrentExceptions"));
    while (json_array_size(job->exceptions) > 16)
        json_array_remove(job->exceptions, 0);
    snprintf(job->root_cause, sizeof(job->root_cause), "%s", msg);
    job->root_cause_ts = now;
}

/* Ends the current attempt: TaskManagers cancel it, the pending snapshot is dropped. */
static void end_attempt(jm *j, jm_job *job, const char *why)
{
    send_to_attempt(j, job, "cancel", NULL);
    uint64_t pend = rt_coord_pending(job->coord, NULL, NULL, NULL, NULL);
    if (pend) {
        rt_coord_abort(job->coord, pend, why);
        if (job->pend_trigger[0])
            trigger_fail(j, job->pend_trigger, why);
        job->pend_trigger[0] = '\0';
    }
    free(job->slot_tm);
    job->slot_tm = NULL;
}

/* A failed attempt: restart per the strategy, or fail the job. */
static void fail_attempt(jm *j, jm_job *job, const char *why, const char *tm)
{
    log_error("job attempt failed", "job_id", job->id, "error", why);
    add_exception(job, why, tm);
    set_state(job, JS_FAILING);
    end_attempt(j, job, why);
    const rt_job_options *o = &job->o;
    bool retry = o->restart != RT_RESTART_NONE && (o->restart == RT_RESTART_EXPONENTIAL_DELAY ||
                                                   job->restarts < o->restart_attempts);
    /* Queued savepoints fail with the attempt. */
    fail_queued(j, job, why);
    if (!retry) {
        set_state(job, JS_FAILED);
        return;
    }
    job->restarts++;
    int64_t delay = job->delay_ms;
    if (o->restart == RT_RESTART_EXPONENTIAL_DELAY) {
        job->delay_ms = (int64_t)((double)job->delay_ms * o->restart_multiplier);
        if (job->delay_ms > o->restart_max_delay_ms)
            job->delay_ms = o->restart_max_delay_ms;
    }
    char latest[PATH_MAX];
    rt_coord_latest(job->coord, latest, sizeof(latest));
    if (latest[0])
        snprintf(job->restore, sizeof(job->restore), "%s", latest);
    job->restart_at = clock_mono_ms() + delay;
    job->waiting_since = 0;
    set_state(job, JS_RESTARTING);
    log_info("restarting job", "job_id", job->id, "restore",
             job->restore[0] ? job->restore : "(empty state)");
}

void jm_slots_used(const jm *j, int used[JM_MAX_TMS])
{
    memset(used, 0, JM_MAX_TMS * sizeof(int));
    for (size_t i = 0; i < j->njobs; i++) {
        const jm_job *job = j->jobs[i];
        for (uint32_t s = 0; job->slot_tm && s < job->g.max_slots; s++)
            if (job->slot_tm[s] >= 0)
                used[job->slot_tm[s]]++;
    }
}

int jm_free_slots(jm *j, int *total)
{
    int used[JM_MAX_TMS], free_ = 0, all = 0;
    jm_slots_used(j, used);
    for (int t = 0; t < j->ntms; t++) {
        if (j->tms[t].lost)
            continue;
        all += j->tms[t].slots;
        free_ += j->tms[t].slots - used[t] > 0 ? j->tms[t].slots - used[t] : 0;
    }
    if (total)
        *total = all;
    return free_;
}

/* Places the job's slots on TaskManagers with free slots and sends the deploy commands. */
static bool schedule(jm *j, jm_job *job)
{
    int used[JM_MAX_TMS];
    jm_slots_used(j, used);
    int *place = malloc(job->g.max_slots * sizeof(int));
    if (!place)
        return false;
    uint32_t s = 0;
    for (int t = 0; t < j->ntms && s < job->g.max_slots; t++) {
        if (j->tms[t].lost)
            continue;
        for (int k = used[t]; k < j->tms[t].slots && s < job->g.max_slots; k++)
            place[s++] = t;
    }
    if (s < job->g.max_slots) {
        free(place);
        return false;
    }
    job->attempt++;
    job->slot_tm = place;
    for (int t = 0; t < JM_MAX_TMS; t++)
        job->tm_state[t] = JD_NONE;
    job->source_finished = false;
    job->stopped_with_savepoint = false;
    job->cancel_after_stop = false;
    job->cp_failures = 0;
    job->last_cp_trigger = clock_mono_ms();
    json_t *placement = json_array();
    for (uint32_t k = 0; k < job->g.max_slots; k++) {
        jm_tm *tm = &j->tms[place[k]];
        json_array_append_new(placement,
                              json_pack("{s:i, s:s, s:s, s:i}", "subtask", (int)k, "taskManagerId",
                                        tm->id, "host", tm->host, "dataPort", tm->data_port));
    }
    json_t *extra = json_pack(
        "{s:O, s:i, s:I, s:O, s:s, s:I, s:I}", "plan", job->plan_doc, "defaultParallelism",
        (int)job->default_par, "idleTimeoutMs", (json_int_t)job->idle_ms, "placement", placement,
        "stateBackend", job->o.state_backend, "stateCacheBytes",
        (json_int_t)job->o.state_cache_bytes, "connectTimeoutMs",
        (json_int_t)(j->heartbeat_timeout_ms > 10000 ? j->heartbeat_timeout_ms : 10000));
    json_decref(placement);
    if (job->restore[0])
        json_object_set_new(extra, "restore", json_string(job->restore));
    else
        json_object_set_new(extra, "restore", json_null());
    send_to_attempt(j, job, "deploy", extra);
    char att[16];
    snprintf(att, sizeof(att), "%u", job->attempt);
    log_info("job attempt scheduled", "job_id", job->id, "attempt", att, "restore",
             job->restore[0] ? job->restore : "", (const char *)NULL);
    set_state(job, JS_RUNNING);
    return true;
}

static void begin_snapshot(jm *j, jm_job *job, jm_trigger *t)
{
    rt_snap_req req;
    weir_error e = {0};
    bool sp = t && t->kind != JT_CHECKPOINT;
    bool stop = t && t->kind == JT_STOP;
    const char *target = t && t->target[0] ? t->target : NULL;
    if (rt_coord_begin(job->coord, sp, stop, t && t->drain, target, &req, &e)) {
        if (t)
            trigger_fail(j, t->id, e.msg);
        else {
            log_error("could not trigger a checkpoint", "error", e.msg);
            job->cp_failures++;
        }
        return;
    }
    if (t) {
        t->queued = false;
        t->checkpoint_id = req.id;
        snprintf(job->pend_trigger, sizeof(job->pend_trigger), "%s", t->id);
    } else
        job->pend_trigger[0] = '\0';
    send_to_attempt(j, job, "trigger",
                    json_pack("{s:I, s:b, s:b, s:b, s:s, s:s, s:s}", "checkpointId",
                              (json_int_t)req.id, "savepoint", req.savepoint, "stop", req.stop,
                              "drain", req.drain, "root", req.root, "exclusive", req.excl, "scheme",
                              req.scheme));
}

static void step_running(jm *j, jm_job *job)
{
    int tms[JM_MAX_TMS];
    int n = attempt_tms(job, tms);
    int finished = 0;
    for (int k = 0; k < n; k++) {
        jm_tm *tm = &j->tms[tms[k]];
        if (tm->lost) {
            char why[512];
            snprintf(why, sizeof(why),
                     "TaskManager %s is lost: no heartbeat for %lld ms "
                     "(heartbeat.timeout)",
                     tm->id, (long long)j->heartbeat_timeout_ms);
            fail_attempt(j, job, why, tm->id);
            return;
        }
        jm_dstate st = job->tm_state[tms[k]];
        if (st == JD_FAILED || st == JD_CANCELED) {
            const char *err = "task failed";
            size_t i;
            json_t *d;
            json_array_foreach(json_object_get(tm->report, "deployments"), i, d)
            {
                if (!strcmp(json_string_value(json_object_get(d, "jobId")), job->id) &&
                    json_string_value(json_object_get(d, "error")))
                    err = json_string_value(json_object_get(d, "error"));
            }
            char why[1024];
            snprintf(why, sizeof(why), "%s (on TaskManager %s)",
                     st == JD_CANCELED ? "the TaskManager cancelled its tasks" : err, tm->id);
            fail_attempt(j, job, why, tm->id);
            return;
        }
        finished += st == JD_FINISHED;
    }
    /* snapshots */
    bool acked, sp, stop;
    int64_t started;
    uint64_t pend = rt_coord_pending(job->coord, &acked, &started, &sp, &stop);
    if (pend && acked) {
        weir_error e = {0};
        char path[PATH_MAX];
        if (rt_coord_complete(job->coord, path, &e)) {
            log_error("could not complete snapshot", "error", e.msg);
            if (job->pend_trigger[0])
                trigger_fail(j, job->pend_trigger, e.msg);
            job->cp_failures++;
        } else {
            jm_trigger *t = jm_find_trigger(j, job->pend_trigger);
            if (t) {
                t->done = true;
                snprintf(t->location, sizeof(t->location), "%s", path);
            }
            job->cancel_after_stop = t && t->cancel_job;
            if (!sp) {
                send_to_attempt(j, job, "notify",
                                json_pack("{s:I}", "checkpointId", (json_int_t)pend));
                job->cp_failures = 0;
            } else if (stop)
                job->stopped_with_savepoint = true;
        }
        job->pend_trigger[0] = '\0';
        job->last_cp_done = clock_mono_ms();
        pend = 0;
    }
    if (n > 0 && finished == n) {
        if (pend) {
            rt_coord_abort(job->coord, pend, "the job finished before all tasks acknowledged");
            if (job->pend_trigger[0])
                trigger_fail(j, job->pend_trigger, "the job finished before the savepoint");
        }
        free(job->slot_tm);
        job->slot_tm = NULL;
        /* Flink: stop-with-savepoint ends FINISHED, a savepoint with cancel-job CANCELED */
        set_state(job, job->stopped_with_savepoint && job->cancel_after_stop ? JS_CANCELED
                                                                             : JS_FINISHED);
        return;
    }
    if (job->stopped_with_savepoint)
        return; /* waiting for the tasks to end */
    int64_t now = clock_epoch_ms();
    if (pend && now - started > job->o.checkpoint_timeout_ms) {
        rt_coord_abort(job->coord, pend, "timeout (execution.checkpointing.timeout)");
        if (job->pend_trigger[0])
            trigger_fail(j, job->pend_trigger, "Checkpoint expired before completing.");
        job->pend_trigger[0] = '\0';
        job->cp_failures++;
        pend = 0;
    }
    if (job->cp_failures > job->o.tolerable_failures) {
        char why[256];
        snprintf(why, sizeof(why), "Exceeded checkpoint tolerable failure threshold (%d)",
                 job->o.tolerable_failures);
        fail_attempt(j, job, why, NULL);
        return;
    }
    if (pend)
        return;
    if (job->source_finished) {
        /* Flink does not checkpoint after a source finished (here): queued triggers fail. */
        fail_queued(j, job, "a source has finished; snapshots are not possible any more");
        return;
    }
    /* Every TaskManager must have taken the deployment before barriers can flow. */
    for (int k = 0; k < n; k++)
        if (job->tm_state[tms[k]] != JD_RUNNING)
            return;
    /* queued triggers first, oldest first */
    jm_trigger *oldest = NULL;
    for (size_t i = 0; i < j->ntrig; i++) {
        jm_trigger *t = &j->triggers[i];
        if (t->queued && strcmp(t->job_id, job->id) == 0 &&
            (!oldest || t->created_ms < oldest->created_ms))
            oldest = t;
    }
    if (oldest) {
        begin_snapshot(j, job, oldest);
        return;
    }
    int64_t m = clock_mono_ms();
    if (rt_coord_has_checkpoints(job->coord) && job->o.checkpoint_interval_ms > 0 &&
        m - job->last_cp_trigger >= job->o.checkpoint_interval_ms &&
        m - job->last_cp_done >= job->o.checkpoint_min_pause_ms) {
        job->last_cp_trigger = m;
        begin_snapshot(j, job, NULL);
    }
}

static void step(jm *j, jm_job *job)
{
    switch (job->state) {
    case JS_INITIALIZING:
        set_state(job, JS_CREATED);
        break;
    case JS_CREATED:
    case JS_RESTARTING:
        if (job->state == JS_RESTARTING && clock_mono_ms() < job->restart_at)
            break;
        if (!job->waiting_since)
            job->waiting_since = clock_mono_ms();
        if (!schedule(j, job) && clock_mono_ms() - job->waiting_since > j->slot_timeout_ms) {
            char why[256];
            int total;
            int free_ = jm_free_slots(j, &total);
            snprintf(why, sizeof(why),
                     "NoResourceAvailableException: could not acquire %u slots within %lld ms "
                     "(%d free of %d)",
                     job->g.max_slots, (long long)j->slot_timeout_ms, free_, total);
            add_exception(job, why, NULL);
            set_state(job, JS_FAILED);
        }
        break;
    case JS_RUNNING:
        step_running(j, job);
        break;
    case JS_CANCELLING:
        end_attempt(j, job, "cancelled");
        set_state(job, JS_CANCELED);
        break;
    default:
        break;
    }
}

int jm_cancel(jm *j, jm_job *job, weir_error *err)
{
    (void)j;
    if (jm_state_terminal(job->state))
        return weir_error_set(err, WEIR_ESTATE, "job %s is already %s", job->id,
                              jm_state_names[job->state]);
    set_state(job, JS_CANCELLING);
    return 0;
}

jm_trigger *jm_trigger_snapshot(jm *j, jm_job *job, jm_trigger_kind kind, const char *target,
                                bool drain, const char *trigger_id, int *status, weir_error *err)
{
    if (trigger_id && *trigger_id) {
        jm_trigger *t = jm_find_trigger(j, trigger_id);
        if (t && strcmp(t->job_id, job->id) == 0) {
            *status = 202; /* idempotent: the same trigger again */
            return t;
        }
    }
    if (job->state != JS_RUNNING && job->state != JS_CREATED && job->state != JS_RESTARTING) {
        *status = 409;
        weir_error_set(err, WEIR_ESTATE, "job %s is %s; snapshots need a running job", job->id,
                       jm_state_names[job->state]);
        return NULL;
    }
    if (kind != JT_CHECKPOINT && !(target && *target) && !job->o.savepoint_dir) {
        *status = 400;
        weir_error_set(err, WEIR_EINVAL,
                       "no savepoint directory: give target-directory or set "
                       "state.savepoints.dir");
        return NULL;
    }
    if (kind == JT_CHECKPOINT && !rt_coord_has_checkpoints(job->coord)) {
        *status = 400;
        weir_error_set(err, WEIR_EINVAL, "checkpointing is not configured (state.checkpoints.dir)");
        return NULL;
    }
    if (target && *target) {
        const rt_storage_ops *st;
        const char *p;
        if (rt_storage_resolve(target, &st, &p, err)) {
            *status = 400;
            return NULL;
        }
    }
    jm_trigger *t = jm_new_trigger(j, trigger_id);
    snprintf(t->job_id, sizeof(t->job_id), "%s", job->id);
    t->kind = kind;
    t->drain = drain;
    t->queued = true;
    if (target)
        snprintf(t->target, sizeof(t->target), "%s", target);
    *status = 202;
    return t;
}

/* --- submission -------------------------------------------------------------------------- */

int jm_submit(jm *j, const char *job_id, json_t *plan_doc, config *conf, const char *restore,
              bool allow_non_restored, uint32_t parallelism, jm_job **out, weir_error *err)
{
    jm_job *job = calloc(1, sizeof(*job));
    int rc = 0;
    if (!job) {
        config_free(conf);
        json_decref(plan_doc);
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    }
    job->conf = conf;
    job->plan_doc = plan_doc;
    job->exceptions = json_array();
    job->tm_state = calloc(JM_MAX_TMS, sizeof(jm_dstate));
    if (!job->exceptions || !job->tm_state) {
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = rt_jobconf_options(conf, &job->o, &job->default_par, err)))
        goto fail;
    if (parallelism)
        job->default_par = parallelism;
    if (allow_non_restored)
        job->o.ignore_unclaimed = true;
    if (job_id && *job_id)
        snprintf(job->id, sizeof(job->id), "%s", job_id);
    else if (job->o.job_id[0])
        snprintf(job->id, sizeof(job->id), "%s", job->o.job_id);
    else
        random_hex(job->id, 32);
    if (jm_find_job(j, job->id)) {
        rc = weir_error_set(err, WEIR_EDUPLICATE, "job %s already exists", job->id);
        goto fail;
    }
    long long idle;
    if ((rc = config_get_duration_ms(conf, "table.exec.source.idle-timeout", 0, &idle, err)))
        goto fail;
    job->idle_ms = idle;
    char *text = json_dumps(plan_doc, JSON_COMPACT);
    rc = text ? rt_plan_load(text, strlen(text), "job plan", job->default_par, &job->plan, err)
              : weir_error_set(err, WEIR_ENOMEM, "out of memory");
    free(text);
    if (rc)
        goto fail;
    const char *pname = config_get_string(conf, "pipeline.name", job->plan->name);
    snprintf(job->name, sizeof(job->name), "%s", pname ? pname : "weir-job");
    if ((rc = rt_graph_build(job->plan, &job->g))) {
        weir_error_set(err, rc, "out of memory");
        goto fail;
    }
    rt_coord_opts co = {.job_id = job->id,
                        .checkpoint_dir = job->o.checkpoint_dir,
                        .savepoint_dir = job->o.savepoint_dir,
                        .num_retained = job->o.num_retained};
    if ((rc = rt_coord_new(job->plan, &job->g, &co, &job->coord, err)))
        goto fail;
    const char *rp = restore && *restore ? restore : job->o.restore_path;
    /* a job id that already has completed checkpoints (the JobManager was restarted or its
     * Deployment re-created) continues from the newest one, as with Flink's HA services:
     * never from an older savepoint */
    char recovered[PATH_MAX];
    if (rt_coord_recover(job->coord, recovered, sizeof(recovered))) {
        log_info("recovering the job from its latest checkpoint", "job_id", job->id, "checkpoint",
                 recovered, "instead_of", rp ? rp : "(empty state)", (const char *)NULL);
        rp = recovered;
    }
    if (rp) {
        json_t *meta = NULL;
        char root[PATH_MAX];
        const rt_storage_ops *st;
        const char *path;
        if ((rc = rt_storage_resolve(rp, &st, &path, err)) ||
            (rc = rt_snapshot_load(path, &meta, root, err)) ||
            (rc = rt_snapshot_check_claimed(job->plan, meta, path, job->o.ignore_unclaimed, err))) {
            json_decref(meta);
            weir_error_prefix(err, "execution.savepoint.path");
            goto fail;
        }
        job->restored_checkpoint =
            (uint64_t)json_integer_value(json_object_get(meta, "checkpointId"));
        json_decref(meta);
        snprintf(job->restore, sizeof(job->restore), "%s", path);
    }
    job->delay_ms = job->o.restart_delay_ms;
    job->start_ms = clock_epoch_ms();
    job->state = JS_INITIALIZING;
    job->ts[JS_INITIALIZING] = job->start_ms;
    jm_job **nj = realloc(j->jobs, (j->njobs + 1) * sizeof(*nj));
    if (!nj) {
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        goto fail;
    }
    j->jobs = nj;
    j->jobs[j->njobs++] = job;
    char par[16];
    snprintf(par, sizeof(par), "%u", job->g.max_slots);
    log_info("job submitted", "job_id", job->id, "name", job->name, "slots", par, "restore",
             job->restore, (const char *)NULL);
    if (out)
        *out = job;
    return 0;
fail:
    job_free(job);
    return rc;
}

/* --- control endpoints ------------------------------------------------------------------- */

static int find_tm(jm *j, const char *id)
{
    for (int t = 0; id && t < j->ntms; t++)
        if (strcmp(j->tms[t].id, id) == 0)
            return t;
    return -1;
}

static void rpc_register(const http_request *req, http_response *resp, void *ud)
{
    jm *j = ud;
    json_t *b = http_request_json(req, resp);
    if (!b)
        return;
    const char *id = json_string_value(json_object_get(b, "id"));
    const char *host = json_string_value(json_object_get(b, "host"));
    json_int_t port = json_integer_value(json_object_get(b, "dataPort"));
    json_int_t slots = json_integer_value(json_object_get(b, "slots"));
    if (!id || !*id || strlen(id) >= 128 || !host || strlen(host) >= 256 || port <= 0 ||
        port > 65535 || slots <= 0 || slots > 1024) {
        json_decref(b);
        http_response_error(resp, 400,
                            "registration needs id, host, dataPort (1-65535) and "
                            "slots (1-1024)");
        return;
    }
    pthread_mutex_lock(&j->mu);
    int t = find_tm(j, id);
    if (t < 0 && j->ntms < JM_MAX_TMS)
        t = j->ntms++;
    for (int k = 0; t < 0 && k < j->ntms; k++) {
        /* full: reuse a lost TaskManager's entry that no job places subtasks on */
        bool referenced = !j->tms[k].lost;
        for (size_t i = 0; i < j->njobs; i++)
            for (uint32_t s = 0; j->jobs[i]->slot_tm && s < j->jobs[i]->g.max_slots; s++)
                referenced = referenced || j->jobs[i]->slot_tm[s] == k;
        if (!referenced)
            t = k;
    }
    if (t < 0) {
        pthread_mutex_unlock(&j->mu);
        json_decref(b);
        http_response_error(resp, 503, "too many TaskManagers (%d)", JM_MAX_TMS);
        return;
    }
    jm_tm *tm = &j->tms[t];
    json_decref(tm->cmds);
    json_decref(tm->report);
    memset(tm, 0, sizeof(*tm));
    snprintf(tm->id, sizeof(tm->id), "%s", id);
    snprintf(tm->host, sizeof(tm->host), "%s", host);
    tm->data_port = (int)port;
    tm->slots = (int)slots;
    tm->pid = (int)json_integer_value(json_object_get(b, "pid"));
    tm->registered_ms = tm->last_heartbeat_ms = clock_epoch_ms();
    tm->last_seen_mono = clock_mono_ms();
    tm->cmds = json_array();
    pthread_mutex_unlock(&j->mu);
    char sl[16];
    snprintf(sl, sizeof(sl), "%d", (int)slots);
    log_info("TaskManager registered", "id", id, "slots", sl);
    json_decref(b);
    http_response_json(resp, 200,
                       json_pack("{s:b, s:I}", "registered", 1, "heartbeatTimeoutMs",
                                 (json_int_t)j->heartbeat_timeout_ms));
}

static jm_dstate dstate_of(const char *s)
{
    if (!s)
        return JD_NONE;
    if (!strcmp(s, "RUNNING"))
        return JD_RUNNING;
    if (!strcmp(s, "FINISHED"))
        return JD_FINISHED;
    if (!strcmp(s, "FAILED"))
        return JD_FAILED;
    if (!strcmp(s, "CANCELED"))
        return JD_CANCELED;
    return JD_NONE;
}

static void rpc_heartbeat(const http_request *req, http_response *resp, void *ud)
{
    jm *j = ud;
    json_t *b = http_request_json(req, resp);
    if (!b)
        return;
    if (!json_is_array(json_object_get(b, "deployments"))) {
        json_decref(b);
        http_response_error(resp, 400, "heartbeat needs a deployments array");
        return;
    }
    pthread_mutex_lock(&j->mu);
    int t = find_tm(j, http_request_param(req, "tmid"));
    if (t < 0 || j->tms[t].lost) {
        pthread_mutex_unlock(&j->mu);
        json_decref(b);
        http_response_error(resp, 404, "TaskManager %s is not registered",
                            http_request_param(req, "tmid"));
        return;
    }
    jm_tm *tm = &j->tms[t];
    tm->last_heartbeat_ms = clock_epoch_ms();
    tm->last_seen_mono = clock_mono_ms();
    json_decref(tm->report);
    tm->report = b;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(b, "deployments"), i, d)
    {
        jm_job *job = jm_find_job(j, json_string_value(json_object_get(d, "jobId")));
        if (!job || json_integer_value(json_object_get(d, "attempt")) != (json_int_t)job->attempt)
            continue;
        job->tm_state[t] = dstate_of(json_string_value(json_object_get(d, "state")));
        if (json_is_true(json_object_get(d, "sourceFinished")))
            job->source_finished = true;
    }
    /* Long poll: hold the answer while there is nothing to say. */
    if (json_array_size(tm->cmds) == 0 && !j->shutdown) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += POLL_HOLD_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&j->cmd_cond, &j->mu, &ts);
    }
    json_t *cmds = tm->cmds;
    tm->cmds = json_array();
    pthread_mutex_unlock(&j->mu);
    http_response_json(resp, 200, json_pack("{s:o}", "commands", cmds));
}

static void rpc_ack(const http_request *req, http_response *resp, void *ud)
{
    jm *j = ud;
    json_t *b = http_request_json(req, resp);
    if (!b)
        return;
    json_t *states = json_object_get(b, "states");
    json_int_t id = json_integer_value(json_object_get(b, "checkpointId"));
    json_int_t sub = json_integer_value(json_object_get(b, "subtask"));
    if (!json_is_object(states) || id <= 0 || sub < 0) {
        json_decref(b);
        http_response_error(resp, 400, "an acknowledgement needs checkpointId, subtask, states");
        return;
    }
    pthread_mutex_lock(&j->mu);
    jm_job *job = jm_find_job(j, http_request_param(req, "jobid"));
    if (!job) {
        pthread_mutex_unlock(&j->mu);
        json_decref(b);
        http_response_error(resp, 404, "Job %s not found", http_request_param(req, "jobid"));
        return;
    }
    if (json_integer_value(json_object_get(b, "attempt")) == (json_int_t)job->attempt)
        rt_coord_ack(job->coord, (uint64_t)id, (uint32_t)sub, json_incref(states));
    pthread_mutex_unlock(&j->mu);
    json_decref(b);
    http_response_json(resp, 200, json_object());
}

/* --- main ---------------------------------------------------------------------------------- */

static void check_heartbeats(jm *j)
{
    int64_t now = clock_mono_ms();
    for (int t = 0; t < j->ntms; t++) {
        jm_tm *tm = &j->tms[t];
        if (!tm->lost && tm->id[0] && now - tm->last_seen_mono > j->heartbeat_timeout_ms) {
            tm->lost = true;
            log_warn("TaskManager lost (heartbeat timeout)", "id", tm->id);
        }
    }
}

static void usage(bool application)
{
    if (application)
        fprintf(stderr, "Usage: weir standalone-job [--job-classname C] [--fromSavepoint PATH]\n"
                        "                           [--allowNonRestoredState] [--job-id ID]\n"
                        "                           [-Dkey=value ...] [JOB.sql|PLAN.json]\n"
                        "\n"
                        "Runs one job: the SQL script or plan named by the argument, or by\n"
                        "pipeline.jars (the FlinkDeployment's jarURI, local:// URIs).\n");
    else
        fprintf(stderr, "Usage: weir jobmanager [--configDir DIR] [-Dkey=value ...]\n"
                        "\n"
                        "Session cluster JobManager: jobs arrive through /jars/upload and\n"
                        "/jars/:id/run.\n");
}

static bool is_job_file(const char *p)
{
    size_t n = strlen(p);
    return (n > 4 && strcasecmp(p + n - 4, ".sql") == 0) ||
           (n > 5 && strcasecmp(p + n - 5, ".json") == 0);
}

/*
 * The job file of an application cluster: pipeline.jars (the jarURI) when it names a SQL script
 * or plan; else the first program argument that does (upstream's SQL-runner examples give the
 * script as an argument of a runner jar); else the first argument. local:// and file:// are
 * stripped.
 */
static const char *job_file(const config *c, const char *const *args, int nargs, char *buf,
                            size_t size)
{
    const char *jars = config_get_string(c, "pipeline.jars", NULL);
    const char *p = NULL;
    if (jars) {
        snprintf(buf, size, "%s", jars);
        char *semi = strpbrk(buf, ";,");
        if (semi)
            *semi = '\0';
        if (is_job_file(buf))
            p = buf;
    }
    for (int i = 0; !p && i < nargs; i++)
        if (is_job_file(args[i]))
            p = args[i];
    if (!p && nargs > 0)
        p = args[0];
    if (!p)
        return NULL;
    if (strncmp(p, "local://", 8) == 0)
        p += 8;
    else if (strncmp(p, "file://", 7) == 0)
        p += 7;
    return p;
}

int rt_jobmanager_main(int argc, char **argv, bool application)
{
    const char *tool = application ? "weir standalone-job" : "weir jobmanager";
    static jm j;
    memset(&j, 0, sizeof(j));
    pthread_mutex_init(&j.mu, NULL);
    pthread_cond_init(&j.cmd_cond, NULL);
    j.application = application;
    j.started_ms = clock_epoch_ms();
    config *dyn = config_new();
    weir_error err = {0};
    int code = 2;
    const char *conf = NULL, *from_sp = NULL, *job_id = NULL;
    const char *jobargs[64];
    int njobargs = 0;
    bool allow_nrs = false;
    if (!dyn || config_parse_args(dyn, &argc, argv, &err)) {
        fprintf(stderr, "%s: %s\n", tool, err.msg);
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        if (!argv[i])
            continue;
        if ((!strcmp(argv[i], "--configDir") || !strcmp(argv[i], "--config")) && i + 1 < argc)
            conf = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(application);
            code = 0;
            goto out;
        } else if (application && (!strcmp(argv[i], "--job-classname") || !strcmp(argv[i], "-c")) &&
                   i + 1 < argc)
            i++; /* a Java class means nothing here; the job is SQL or a plan */
        else if (application && (!strcmp(argv[i], "--fromSavepoint") || !strcmp(argv[i], "-s")) &&
                 i + 1 < argc)
            from_sp = argv[++i];
        else if (application &&
                 (!strcmp(argv[i], "--allowNonRestoredState") || !strcmp(argv[i], "-n")))
            allow_nrs = true;
        else if (application && (!strcmp(argv[i], "--job-id") || !strcmp(argv[i], "-jid")) &&
                 i + 1 < argc)
            job_id = argv[++i];
        else if (application && argv[i][0] != '-') {
            if (njobargs < 64)
                jobargs[njobargs++] = argv[i]; /* program arguments: the job file among them */
        } else if (application)
            continue; /* other program flags are the job's */
        else {
            fprintf(stderr, "%s: unexpected argument '%s'\n", tool, argv[i]);
            usage(application);
            goto out;
        }
    }
    if (rt_jobconf_load(dyn, conf, &j.c, &err)) {
        fprintf(stderr, "%s: configuration: %s\n", tool, err.msg);
        goto out;
    }
    long long rest_port, rpc_port, hb_to, slot_to;
    bool sof;
    if (config_get_int_in(j.c, "rest.port", 8081, 0, 65535, &rest_port, &err) ||
        config_get_int_in(j.c, "jobmanager.rpc.port", 6123, 0, 65535, &rpc_port, &err) ||
        config_get_duration_ms(j.c, "heartbeat.timeout", 50000, &hb_to, &err) ||
        config_get_duration_ms(j.c, "slot.request.timeout", 300000, &slot_to, &err) ||
        config_get_bool(j.c, "execution.shutdown-on-application-finish", true, &sof, &err)) {
        fprintf(stderr, "%s: configuration: %s\n", tool, err.msg);
        goto out;
    }
    j.heartbeat_timeout_ms = hb_to;
    j.slot_timeout_ms = slot_to;
    j.shutdown_on_finish = sof;
    snprintf(
        j.upload_dir, sizeof(j.upload_dir), "%s/flink-web-upload",
        config_get_string(j.c, "web.upload.dir", config_get_string(j.c, "io.tmp.dirs", "/tmp")));
    if (application) {
        char buf[PATH_MAX];
        const char *path = job_file(j.c, jobargs, njobargs, buf, sizeof(buf));
        if (!path) {
            fprintf(stderr, "%s: no job: give a SQL script or plan, or set pipeline.jars\n", tool);
            goto out;
        }
        config *jc = config_clone(j.c);
        json_t *doc = NULL;
        if (!jc || rt_jobconf_compile(path, &doc, jc, NULL, &err)) {
            log_error("cannot compile the job", "path", path, "error", jc ? err.msg : "memory");
            fprintf(stderr, "%s: %s\n", tool, err.msg);
            config_free(jc);
            code = 1;
            goto out;
        }
        if (!job_id)
            job_id = config_get_string(j.c, "$internal.pipeline.job-id", NULL);
        if (!job_id)
            job_id = "00000000000000000000000000000000"; /* Flink's fixed id without HA */
        if (jm_submit(&j, job_id, doc, jc, from_sp, allow_nrs, 0, NULL, &err)) {
            log_error("cannot submit the job", "error", err.msg);
            fprintf(stderr, "%s: %s\n", tool, err.msg);
            code = 1;
            goto out;
        }
    }
    const char *bind = config_get_string(j.c, "rest.bind-address", "0.0.0.0");
    http_server_opts ro = {
        .bind_address = bind, .port = (int)rest_port, .max_body_bytes = 64u << 20};
    http_server_opts po = {.bind_address =
                               config_get_string(j.c, "jobmanager.bind-host", "0.0.0.0"),
                           .port = (int)rpc_port,
                           .max_body_bytes = 16u << 20,
                           .max_connections = 1024};
    if (!(j.rpc = http_server_new(&po, &err)) ||
        http_server_route(j.rpc, "POST", "/internal/v1/taskmanagers", rpc_register, &j) ||
        http_server_route(j.rpc, "POST", "/internal/v1/taskmanagers/:tmid/heartbeat", rpc_heartbeat,
                          &j) ||
        http_server_route(j.rpc, "POST", "/internal/v1/jobs/:jobid/acks", rpc_ack, &j) ||
        http_server_start(j.rpc, &err)) {
        log_error("cannot start the control endpoint", "error", err.msg);
        code = 1;
        goto out;
    }
    if (!(j.rest = http_server_new(&ro, &err)) || jm_rest_routes(&j, j.rest, &err) ||
        http_server_start(j.rest, &err)) {
        log_error("cannot start the REST endpoint", "error", err.msg);
        code = 1;
        goto out;
    }
    if (config_get_string(j.c, "metrics.reporter.prom.port", NULL)) {
        long long mp;
        if (config_get_int_in(j.c, "metrics.reporter.prom.port", 9249, 0, 65535, &mp, &err)) {
            fprintf(stderr, "%s: configuration: %s\n", tool, err.msg);
            goto out;
        }
        http_server_opts mo = {.port = (int)mp, .thread_pool_size = 1};
        if (!(j.metrics = http_server_new(&mo, &err)) || jm_metrics_routes(&j, j.metrics, &err) ||
            http_server_start(j.metrics, &err)) {
            log_error("cannot start the metrics endpoint", "error", err.msg);
            code = 1;
            goto out;
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    char rp[16], pp[16], ms[24];
    snprintf(rp, sizeof(rp), "%d", http_server_port(j.rest));
    snprintf(pp, sizeof(pp), "%d", http_server_port(j.rpc));
    snprintf(ms, sizeof(ms), "%lld", (long long)(clock_epoch_ms() - j.started_ms));
    log_info("jobmanager ready", "rest_port", rp, "rpc_port", pp, "mode",
             application ? "application" : "session", "startup_ms", ms, (const char *)NULL);
    int64_t ended_at = 0;
    while (!signalled && !j.shutdown) {
        clock_sleep_ms(TICK_MS);
        pthread_mutex_lock(&j.mu);
        check_heartbeats(&j);
        for (size_t i = 0; i < j.njobs; i++)
            step(&j, j.jobs[i]);
        bool all_ended = application && j.njobs > 0;
        for (size_t i = 0; i < j.njobs; i++)
            all_ended = all_ended && jm_state_terminal(j.jobs[i]->state);
        pthread_mutex_unlock(&j.mu);
        /* An application cluster ends with its job (after TaskManagers heard the cancel). */
        if (all_ended && j.shutdown_on_finish) {
            if (!ended_at)
                ended_at = clock_mono_ms();
            else if (clock_mono_ms() - ended_at > 1000)
                break;
        }
    }
    log_info("jobmanager stopping", "reason",
             signalled    ? "signal"
             : j.shutdown ? "cluster shut down"
                          : "application finished");
    code = 0;
    if (application && j.njobs && j.jobs[0]->state == JS_FAILED)
        code = 1;
out:
    if (j.rest)
        http_server_stop(j.rest, 1000);
    if (j.rpc) {
        pthread_mutex_lock(&j.mu);
        j.shutdown = 1;
        pthread_cond_broadcast(&j.cmd_cond);
        pthread_mutex_unlock(&j.mu);
        http_server_stop(j.rpc, 1000);
    }
    if (j.metrics)
        http_server_stop(j.metrics, 1000);
    http_server_free(j.rest);
    http_server_free(j.rpc);
    http_server_free(j.metrics);
    for (size_t i = 0; i < j.njobs; i++)
        job_free(j.jobs[i]);
    free(j.jobs);
    for (int t = 0; t < j.ntms; t++) {
        json_decref(j.tms[t].cmds);
        json_decref(j.tms[t].report);
    }
    free(j.jars);
    config_free(j.c);
    config_free(dyn);
    return code;
}
