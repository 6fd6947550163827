/*
 * upgrade.h - how to take a running job from its deployed spec to a new one: upstream's
 * upgrade decision (reference §2.4, AbstractJobReconciler#getJobUpgrade and
 * ApplicationReconciler#getJobUpgrade) as a pure function of what the operator knows. The
 * reconciler executes the decision (issue 10); this module only decides, so every row of the
 * decision table is unit-tested.
 *
 * Layer: operator/controller leaf. Pure: no I/O.
 */
#ifndef WEIR_UPGRADE_H
#define WEIR_UPGRADE_H

#include <stdbool.h>

/* How the running job is brought down (upstream's SuspendMode), or why not yet. */
typedef enum upgrade_suspend {
    UPGRADE_NOOP,       /* nothing to stop: the job is terminal */
    UPGRADE_STATELESS,  /* cancel if possible, delete the cluster and HA metadata */
    UPGRADE_SAVEPOINT,  /* stop-with-savepoint */
    UPGRADE_CANCEL,     /* cancel; the latest checkpoint becomes the restore path */
    UPGRADE_LAST_STATE, /* delete the JobManager, keep HA metadata */
    UPGRADE_WAIT,       /* not now: reconcile again later */
    UPGRADE_FAIL        /* refuse: manual action needed (event UpgradeFailed) */
} upgrade_suspend;

/* Where the new job's state comes from. */
typedef enum upgrade_restore {
    RESTORE_EMPTY,     /* stateless */
    RESTORE_SAVEPOINT, /* execution.savepoint.path = upgradeSavepointPath */
    RESTORE_LAST_STATE /* HA metadata / latest checkpoint, same job id */
} upgrade_restore;

typedef struct upgrade_input {
    const char *upgrade_mode;      /* spec.job.upgradeMode: stateless|savepoint|last-state */
    const char *job_state;         /* observed jobStatus.state (NULL: unknown) */
    bool jm_reachable;             /* the JobManager's REST API answers */
    bool jm_never_available;       /* the JobManager Deployment never became Available */
    const char *last_upgrade_mode; /* upgradeMode recorded in lastReconciledSpec */
    bool ha_enabled;               /* high-availability configured (old and new spec) */
    bool ha_metadata;              /* HA metadata exists */
    bool flink_version_changed;
    bool savepoint_dir;         /* state.savepoints.dir is set */
    bool last_state_fallback;   /* job.upgrade.last-state-fallback.enabled (default true) */
    bool last_state_job_cancel; /* job.upgrade.last-state.job-cancel.enabled (default false) */
    bool session_job;           /* a FlinkSessionJob (cancel is its only last-state path) */
    const char *upgrade_savepoint_path; /* status.jobStatus.upgradeSavepointPath */
} upgrade_input;

typedef struct upgrade_decision {
    upgrade_suspend suspend;
    upgrade_restore restore;
    char reason[256]; /* why (for logs, events and UpgradeFailed messages) */
} upgrade_decision;

/* The placeholder upstream writes as upgradeSavepointPath when HA holds the state. */
#define UPGRADE_LAST_STATE_DUMMY "KUBERNETES_OPERATOR_LAST_STATE"

void upgrade_decide(const upgrade_input *in, upgrade_decision *out);

const char *upgrade_suspend_name(upgrade_suspend s);

#endif
