/*
 * application.h - the job lifecycle of an application FlinkDeployment (upstream's
 * ApplicationReconciler and AbstractJobReconciler, reference §2.3-2.5 and §2.8): first
 * deployment with a job id recorded before submission, savepoint / last-state / stateless
 * upgrades, suspend and resume, savepointRedeployNonce, restarts of failed jobs
 * (job.restart.failed), and manual and periodic savepoints and checkpoints (FlinkStateSnapshot
 * resources, or the legacy `savepointInfo` / `checkpointInfo` status).
 *
 * Status is the write-ahead log. Every irreversible step is preceded by a status write that
 * names it, so an operator killed at any point resumes at the right step:
 *   - a stop-with-savepoint (or savepoint) trigger id is written before the request that uses
 *     it; the request is idempotent on that id, so a retry never takes a second savepoint;
 *   - the savepoint location and `lastReconciledSpec.job.state: suspended` are written before
 *     the cluster is deleted;
 *   - the new job id and restore path are written before the cluster is created.
 * Nothing waits on the JobManager: a step triggers, records, and asks to be requeued.
 *
 * Which cluster should exist is a function of status alone: the children are built from
 * `lastReconciledSpec` with the recorded job id and `upgradeSavepointPath`
 * (application_deploy_spec()), so re-applying them is always safe.
 *
 * Layer: operator/controller. Depends on operator/flink (REST), lib/config.
 */
#ifndef WEIR_APPLICATION_H
#define WEIR_APPLICATION_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/config.h"
#include "lib/error.h"
#include "operator/flink/flinkrest.h"

/* What the reconciler lends a step; all borrowed. */
typedef struct application_env {
    const flinkrest *rest;   /* the JobManager's REST API when it answered this round, else NULL */
    bool cluster_present;    /* a JobManager or TaskManager Deployment of this resource exists */
    bool jm_never_available; /* the JobManager Deployment exists but never became available */
    bool unhealthy;          /* the cluster health check judged the running job unhealthy */
    long long now_ms;        /* wall clock */
    long progress_ms;        /* observer.progress-check.interval */
    long reconcile_ms;       /* reconcile.interval */
    const config *conf;      /* the resource's configuration, operator keys included */
    /* Writes `status` (the WAL record). 0, or an error; WEIR_ECONFLICT means someone else wrote
     * first: the step stops and the resource is read again. */
    int (*write)(void *ud, json_t *status, weir_error *err);
    void (*event)(void *ud, const char *type, const char *reason, const char *msg);
    /* With FlinkStateSnapshot resources (kubernetes.operator.snapshot.resource.enabled, the
     * default): creates one for a MANUAL, PERIODIC or UPGRADE savepoint (`path`: the target
     * directory, or with `already_exists` the savepoint itself) or, with `checkpoint`, a MANUAL
     * or PERIODIC checkpoint, unless one carrying the same `dedupe` key exists already. NULL:
     * the legacy savepointInfo / checkpointInfo triggers are used. */
    int (*create_snapshot)(void *ud, bool checkpoint, const char *trigger_type, const char *path,
                           const char *format, bool already_exists, const char *dedupe,
                           weir_error *err);
    void *ud;
} application_env;

typedef struct application_plan {
    json_t *deploy_spec; /* the spec to build the cluster from (owned), or NULL: no cluster */
    bool deployed;       /* deploying deploy_spec completes an upgrade: mark it DEPLOYED */
    const char *deployed_state; /* ... or this state (ROLLED_BACK); static string or NULL */
    long requeue_ms;            /* how soon to look again (0: the reconciler's default) */
} application_plan;

/*
 * One step of the job lifecycle for `fd` (borrowed) whose working status is `status` (mutated;
 * already holds this round's observations). May write status through env->write and call the
 * JobManager. Fills `plan` (caller frees plan->deploy_spec). Returns 0, or an error to retry
 * with backoff (WEIR_ECONFLICT: read again).
 */
int application_reconcile(const json_t *fd, json_t *status, const application_env *env,
                          application_plan *plan, weir_error *err) WEIR_MUST_CHECK;

/*
 * The spec the cluster is built from: a copy of `spec` with the recorded job id
 * ($internal.pipeline.job-id) and restore path (job.initialSavepointPath =
 * jobStatus.upgradeSavepointPath) of `status`. Returns a new reference.
 */
json_t *application_deploy_spec(const json_t *spec, const json_t *status);

/*
 * A periodic snapshot interval (`key`: kubernetes.operator.periodic.savepoint.interval or
 * .checkpoint.interval): a duration ("10 s"; unset or 0 disables) or a Quartz cron expression
 * ("0 0 * * * ?"), as upstream. *next_ms: the first trigger time after `last_ms`, or -1 when
 * disabled. Returns 0, or an error naming the key when the value is neither.
 */
int application_periodic_next(const config *conf, const char *key, long long last_ms,
                              long long *next_ms, weir_error *err) WEIR_MUST_CHECK;

/* Names the write points of the WAL for the crash-point test (WEIR_CRASHPOINT=name kills the
 * operator right after that write in test builds (WEIR_TESTING, the sanitizer build); a
 * release build does nothing). */
void application_crashpoint(const char *name);

#endif
