/*
 * job.c - runs a plan in one process (Flink's MiniCluster): every subtask placed in the local
 * executor, the checkpoint coordinator driven from here (periodic checkpoints, savepoints on
 * request, completion, timeouts, tolerable failures), restore, and restarts of failed attempts
 * per the restart strategy.
 *
 * Layer: runtime/engine top.
 */
#include "lib/random.h"
#include "runtime/engine/job.h"

#include "lib/clock.h"

#include "lib/json.h"
#include "lib/log.h"
#include "runtime/engine/coord.h"
#include "runtime/engine/exec.h"
#include "runtime/engine/graph.h"
#include "runtime/storage/storage.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TICK_MS 10

void rt_job_options_init(rt_job_options *o)
{
    memset(o, 0, sizeof(*o));
    o->state_backend = "hashmap";
    o->checkpoint_timeout_ms = 10 * 60 * 1000;
    o->num_retained = 1;
    o->restart = RT_RESTART_NONE;
    o->restart_attempts = 1;
    o->restart_delay_ms = 1000;
    o->restart_max_delay_ms = 60000;
    o->restart_multiplier = 2.0;
}

typedef struct job {
    const rt_plan *plan;
    const rt_job_options *o;
    rt_job_control *ctl;
    char job_id[33];
    char local[PATH_MAX];
    rt_graph g;
    rt_coord *coord;
    rt_exec *x;
} job;

static void on_ack(void *ud, uint64_t id, uint32_t chain, uint32_t subtask, json_t *states)
{
    (void)chain;
    rt_coord_ack(((job *)ud)->coord, id, subtask, states);
}

/* One attempt: build, restore, run until finished/failed/cancelled/stopped. */
static rt_job_result attempt(job *j, const char *restore, weir_error *err)
{
    rt_job_result res = RT_JOB_FAILED;
    int rc;
    json_t *meta = NULL;
    rt_exec_config xc = {.local_dir = j->local,
                         .state_backend = j->o->state_backend,
                         .state_cache_bytes = j->o->state_cache_bytes,
                         .hooks = {.ud = j, .ack = on_ack}};
    if ((rc = rt_exec_new(j->plan, &j->g, &xc, &j->x, err)))
        goto done;
    if (restore) {
        char root[PATH_MAX];
        if ((rc = rt_snapshot_load(restore, &meta, root, err))) {
            weir_error_prefix(err, "execution.savepoint.path");
            goto done;
        }
        if ((rc = rt_snapshot_check_claimed(j->plan, meta, restore, j->o->ignore_unclaimed, err)) ||
            (rc = rt_exec_restore(j->x, meta, root, restore, err)))
            goto done;
        log_info("restored job state", "path", restore, "kind",
                 json_string_value(json_object_get(meta, "kind")));
    }
    if ((rc = rt_exec_start(j->x, err)))
        goto done;
    int64_t last_trigger = clock_epoch_ms(), last_done = 0;
    int failures = 0;
    bool stopped_with_savepoint = false;
    for (;;) {
        clock_sleep_ms(TICK_MS);
        bool all_done = rt_exec_done(j->x);
        if (rt_exec_failed(j->x, err)) {
            res = RT_JOB_FAILED;
            break;
        }
        if (j->ctl && j->ctl->cancel) {
            j->ctl->cancel = 0;
            weir_error e;
            weir_error_set(&e, WEIR_ECANCELED, "cancelled");
            rt_exec_fail(j->x, &e);
            res = RT_JOB_CANCELED;
            break;
        }
        bool acked, sp, stop;
        int64_t started;
        uint64_t pending = rt_coord_pending(j->coord, &acked, &started, &sp, &stop);
        if (pending && acked) {
            weir_error ce = {0};
            if ((rc = rt_coord_complete(j->coord, NULL, &ce))) {
                log_error("could not complete snapshot", "error", ce.msg);
                failures++;
            } else if (!sp) {
                rt_exec_notify_complete(j->x, pending);
                failures = 0;
            } else if (stop)
                stopped_with_savepoint = true;
            pending = 0;
            last_done = clock_epoch_ms();
        }
        if (all_done) {
            if (pending)
                rt_coord_abort(j->coord, pending, "the job finished before all tasks acknowledged");
            res = stopped_with_savepoint ? RT_JOB_STOPPED : RT_JOB_FINISHED;
            break;
        }
        int64_t now = clock_epoch_ms();
        if (pending && now - started > j->o->checkpoint_timeout_ms) {
            rt_coord_abort(j->coord, pending, "timeout");
            failures++;
            pending = 0;
        }
        if (failures > j->o->tolerable_failures) {
            weir_error e;
            weir_error_set(&e, WEIR_ETIMEDOUT,
                           "exceeded checkpoint tolerable failure threshold (%d)",
                           j->o->tolerable_failures);
            rt_exec_fail(j->x, &e);
            continue;
        }
        if (pending || rt_exec_source_finished(j->x))
            continue;
        rt_snap_req req;
        if (j->ctl && (j->ctl->savepoint || j->ctl->stop_savepoint)) {
            bool st = j->ctl->stop_savepoint;
            j->ctl->savepoint = j->ctl->stop_savepoint = 0;
            weir_error te = {0};
            if (rt_coord_begin(j->coord, true, st, j->o->stop_drain, NULL, &req, &te))
                log_error("could not trigger a savepoint", "error", te.msg);
            else
                rt_exec_trigger(j->x, &req);
            continue;
        }
        if (rt_coord_has_checkpoints(j->coord) && j->o->checkpoint_interval_ms > 0 &&
            now - last_trigger >= j->o->checkpoint_interval_ms &&
            now - last_done >= j->o->checkpoint_min_pause_ms) {
            weir_error te = {0};
            if (rt_coord_begin(j->coord, false, false, false, NULL, &req, &te)) {
                log_error("could not trigger a checkpoint", "error", te.msg);
                failures++;
            } else
                rt_exec_trigger(j->x, &req);
            last_trigger = now;
        }
    }
done:
    if (res == RT_JOB_FAILED && !err->code)
        weir_error_set(err, rc ? rc : WEIR_EINTERNAL, "%s",
                       weir_strerror(rc ? rc : WEIR_EINTERNAL));
    /* Sinks see all rows before the job reports. */
    rt_exec_free(j->x);
    j->x = NULL;
    rt_coord_abort(j->coord, 0, "the job attempt ended");
    json_decref(meta);
    return res;
}

rt_job_result rt_job_run(const rt_plan *plan, const rt_job_options *o, rt_job_control *ctl,
                         weir_error *err)
{
    job j;
    memset(&j, 0, sizeof(j));
    j.plan = plan;
    j.o = o;
    j.ctl = ctl;
    if (o->job_id[0])
        snprintf(j.job_id, sizeof(j.job_id), "%s", o->job_id);
    else
        random_hex(j.job_id, 32);
    if (o->local_dir)
        snprintf(j.local, sizeof(j.local), "%s/weir-%s", o->local_dir, j.job_id);
    else
        snprintf(j.local, sizeof(j.local), "/tmp/weir-%s", j.job_id);
    rt_job_result res = RT_JOB_FAILED;
    if (rt_graph_build(plan, &j.g)) {
        weir_error_set(err, WEIR_ENOMEM, "out of memory");
        return res;
    }
    rt_coord_opts co = {.job_id = j.job_id,
                        .checkpoint_dir = o->checkpoint_dir,
                        .savepoint_dir = o->savepoint_dir,
                        .num_retained = o->num_retained};
    if (rt_coord_new(plan, &j.g, &co, &j.coord, err))
        goto out;
    const char *restore = NULL;
    const rt_storage_ops *rs;
    if (o->restore_path && rt_storage_resolve(o->restore_path, &rs, &restore, err)) {
        weir_error_prefix(err, "execution.savepoint.path");
        goto out;
    }
    log_info("job starting", "job_id", j.job_id, "name", plan->name);
    int attempts = 0;
    int64_t delay = o->restart_delay_ms;
    char latest[PATH_MAX];
    for (;;) {
        weir_error_clear(err);
        res = attempt(&j, restore, err);
        rt_storage_file()->remove_tree(j.local);
        if (res != RT_JOB_FAILED)
            break;
        bool retry =
            o->restart != RT_RESTART_NONE &&
            (o->restart == RT_RESTART_EXPONENTIAL_DELAY || attempts < o->restart_attempts) &&
            !(ctl && ctl->cancel);
        log_error("job failed", "error", err->msg, "restarting", retry ? "true" : "false");
        if (!retry)
            break;
        attempts++;
        clock_sleep_ms(delay);
        if (o->restart == RT_RESTART_EXPONENTIAL_DELAY) {
            delay = (int64_t)((double)delay * o->restart_multiplier);
            if (delay > o->restart_max_delay_ms)
                delay = o->restart_max_delay_ms;
        }
        rt_coord_latest(j.coord, latest, sizeof(latest));
        if (latest[0])
            restore = latest;
        log_info("restarting job", "restore", restore ? restore : "(empty state)");
    }
    static const char *const names[] = {"FINISHED", "CANCELED", "STOPPED", "FAILED"};
    log_info("job ended", "job_id", j.job_id, "state", names[res]);
out:
    rt_coord_free(j.coord);
    rt_graph_free(&j.g);
    return res;
}
