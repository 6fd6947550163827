/*
 * snapshot.h - the FlinkStateSnapshot reconciler (reference §1.8): a resource that asks for a
 * savepoint or checkpoint of a FlinkDeployment's or FlinkSessionJob's job, or registers an
 * existing savepoint; and the operator's own snapshots (manual, periodic, upgrade) of both.
 *
 * States: TRIGGER_PENDING -> IN_PROGRESS -> COMPLETED | FAILED (after backoffLimit retries) |
 * ABANDONED (the job was not running). The trigger id is written to status before the request
 * that uses it (Flink's REST is idempotent on it), so a killed operator polls the same
 * savepoint instead of taking a second one. Labels snapshot.type, snapshot.trigger-type,
 * snapshot.state, job-reference.kind and job-reference.name are kept for server-side
 * filtering. Deleting a COMPLETED savepoint with spec.savepoint.disposeOnDelete disposes it
 * through the job's JobManager first (finalizer flinkstatesnapshots.flink.apache.org/finalizer).
 *
 * Layer: operator/controller. Depends on operator/kube (informers, events), operator/flink.
 */
#ifndef WEIR_SNAPSHOT_H
#define WEIR_SNAPSHOT_H

#include <jansson.h>

#include "lib/config.h"
#include "lib/error.h"
#include "lib/http_client.h"
#include "lib/kube/client.h"
#include "operator/kube/events.h"
#include "operator/kube/informer.h"
#include "operator/opconfig.h"

#define SNAPSHOT_FINALIZER "flinkstatesnapshots.flink.apache.org/finalizer"

extern const kube_resource SNAPSHOT_RES;

/* Everything a snapshot reconcile reads and writes; all borrowed. */
struct snapshot_ctx {
    kube_client *kc;
    const opconfig *cfg;
    informer *snapshots;
    informer *flinkdeployments;
    informer *sessionjobs; /* FlinkSessionJobs (jobReference.kind FlinkSessionJob); may be NULL */
    informer *services;    /* the JobManagers' NAME-rest Services */
    event_recorder *events;
    http_client *rest;
    long long (*now_ms)(void); /* NULL: real time */
};

/* Reconciles the FlinkStateSnapshot `key` ("namespace/name"); as deployment_reconcile(). */
int snapshot_reconcile(struct snapshot_ctx *ctx, const char *key, long *requeue_ms,
                       weir_error *err) WEIR_MUST_CHECK;

/*
 * A new FlinkStateSnapshot object the operator creates for `fd`, a resource of `kind`
 * (FlinkDeployment or FlinkSessionJob): a savepoint (`checkpoint` false) or checkpoint of
 * `trigger_type` (MANUAL, PERIODIC, UPGRADE) named
 * `<name>-<savepoint|checkpoint>-<manual|periodic|upgrade>-<now_ms>`. `path` is the target
 * directory, or for `already_exists` the savepoint itself. Returns a new reference.
 */
json_t *snapshot_object(const char *kind, const json_t *fd, bool checkpoint,
                        const char *trigger_type, const char *path, const char *format,
                        bool dispose_on_delete, bool already_exists, long long now_ms);

/* The FlinkStateSnapshots in `snapshots` whose jobReference is `owner`, a resource of `kind`
 * (new references in a new array; empty when `snapshots` is NULL). */
json_t *snapshot_list_for(informer *snapshots, const char *kind, const json_t *owner);

/*
 * Creates the operator's FlinkStateSnapshot for `owner` (as snapshot_object(), owned by it
 * through an ownerReference, disposeOnDelete from kubernetes.operator.savepoint.dispose-on-delete
 * in `conf`) unless one carrying the same `dedupe` annotation exists. Returns 0 or an error.
 */
int snapshot_create_for(kube_client *kc, informer *snapshots, const char *kind, const json_t *owner,
                        const config *conf, bool checkpoint, const char *trigger_type,
                        const char *path, const char *format, bool already_exists,
                        const char *dedupe, long long now_ms, weir_error *err) WEIR_MUST_CHECK;

/*
 * With snapshot resources: the newest completed savepoint of `owner` is mirrored into
 * status.jobStatus.savepointInfo.lastSavepoint; PERIODIC/UPGRADE savepoints beyond
 * savepoint.history.max.count or older than max.age are deleted (their finalizer disposes them
 * when disposeOnDelete), always keeping the newest completed one and the newest one; PERIODIC
 * checkpoint snapshots are kept to state.checkpoints.num-retained.
 */
void snapshot_observe_for(kube_client *kc, informer *snapshots, const char *kind,
                          const json_t *owner, json_t *status, const config *rconf, long long now);

/* Informer index: "<kind>/<name>" of spec.jobReference. */
int snapshot_index_job(const json_t *obj, const char **out, int cap);

#endif
