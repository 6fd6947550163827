/*
 * upgrade.c - the upgrade decision table (see upgrade.h).
 *
 * Layer: operator/controller leaf.
 */
#include "operator/controller/lifecycle.h"
#include "operator/controller/upgrade.h"

#include <stdio.h>
#include <string.h>

const char *upgrade_suspend_name(upgrade_suspend s)
{
    static const char *const n[] = {"NOOP",       "STATELESS", "SAVEPOINT", "CANCEL",
                                    "LAST_STATE", "WAIT",      "FAIL"};
    return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

static bool is(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

static void set(upgrade_decision *o, upgrade_suspend s, upgrade_restore r, const char *why)
{
    o->suspend = s;
    o->restore = r;
    snprintf(o->reason, sizeof(o->reason), "%s", why);
}

/* upgradeMode last-state (also reached from savepoint when the job is not running). */
static void last_state(const upgrade_input *in, upgrade_decision *o)
{
    bool running = is(in->job_state, "RUNNING");
    if (in->flink_version_changed) {
        if (running && in->savepoint_dir)
            set(o, UPGRADE_SAVEPOINT, RESTORE_SAVEPOINT,
                "Flink version changes: a savepoint instead of last-state");
        else if (in->jm_reachable && in->job_state && !lifecycle_job_terminal(in->job_state))
            set(o, UPGRADE_CANCEL, RESTORE_SAVEPOINT,
                "Flink version changes: cancel and restore the latest checkpoint");
        else
            set(o, UPGRADE_WAIT, RESTORE_SAVEPOINT,
                "Flink version changes and the job can be neither savepointed nor cancelled");
        return;
    }
    if (running) {
        if (in->last_state_job_cancel || !in->ha_metadata || in->session_job)
            set(o, UPGRADE_CANCEL, RESTORE_SAVEPOINT,
                "last-state: cancel and restore the latest checkpoint");
        else
            set(o, UPGRADE_LAST_STATE, RESTORE_LAST_STATE,
                "last-state: delete the JobManager, restore from HA metadata");
        return;
    }
    if (in->jm_reachable && in->job_state && !lifecycle_job_terminal(in->job_state) &&
        !is(in->job_state, "CANCELLING")) {
        set(o, UPGRADE_CANCEL, RESTORE_SAVEPOINT,
            "last-state: the job is not running; cancel and restore the latest checkpoint");
        return;
    }
    /* the JobManager is gone or unreachable (application clusters) */
    if (!in->session_job && in->ha_enabled && in->ha_metadata) {
        set(o, UPGRADE_LAST_STATE, RESTORE_LAST_STATE,
            "the JobManager is unavailable; restore from HA metadata");
        return;
    }
    if (!in->session_job && in->jm_never_available && !is(in->last_upgrade_mode, "last-state")) {
        set(o, UPGRADE_STATELESS, RESTORE_SAVEPOINT,
            "the JobManager never became available: redeploy from the last savepoint");
        return;
    }
    set(o, UPGRADE_FAIL, RESTORE_SAVEPOINT,
        "the JobManager is unavailable and there is no HA metadata to restore from; manual "
        "restore required (never silently stateless)");
}

void upgrade_decide(const upgrade_input *in, upgrade_decision *o)
{
    memset(o, 0, sizeof(*o));
    const char *mode = in->upgrade_mode ? in->upgrade_mode : "stateless";
    if (is(mode, "stateless")) {
        set(o, lifecycle_job_terminal(in->job_state) ? UPGRADE_NOOP : UPGRADE_STATELESS,
            RESTORE_EMPTY, "stateless upgrade");
        return;
    }
    /* a terminal job whose recorded state can be trusted restores from what is recorded */
    if (lifecycle_job_terminal(in->job_state) &&
        (is(in->job_state, "CANCELED") || !in->ha_metadata || in->jm_reachable)) {
        if (is(in->upgrade_savepoint_path, UPGRADE_LAST_STATE_DUMMY))
            set(o, UPGRADE_FAIL, RESTORE_SAVEPOINT,
                "Job is in terminal state but last checkpoint is unknown, possibly due to an "
                "unrecoverable restore error. Manual restore required.");
        else
            set(o, UPGRADE_NOOP, RESTORE_SAVEPOINT,
                in->upgrade_savepoint_path && *in->upgrade_savepoint_path
                    ? "terminal job: restore from upgradeSavepointPath"
                    : "terminal job without a recorded savepoint: start from empty state");
        return;
    }
    if (is(in->job_state, "CANCELLING")) {
        set(o, UPGRADE_WAIT, RESTORE_SAVEPOINT, "the job is being cancelled");
        return;
    }
    if (is(mode, "savepoint")) {
        if (is(in->job_state, "RUNNING")) {
            set(o, UPGRADE_SAVEPOINT, RESTORE_SAVEPOINT, "savepoint upgrade: stop-with-savepoint");
            return;
        }
        if (!in->flink_version_changed && !in->last_state_fallback) {
            set(o, UPGRADE_WAIT, RESTORE_SAVEPOINT,
                "savepoint upgrade waits for the job to run "
                "(job.upgrade.last-state-fallback.enabled is false)");
            return;
        }
    }
    last_state(in, o);
}
