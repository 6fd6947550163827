/*
 * snapshot.h - the FlinkStateSnapshot reconciler (reference §1.8): a resource that asks for a
 * savepoint or checkpoint of a FlinkDeployment's job, or registers an existing savepoint.
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
 * A new FlinkStateSnapshot object the operator creates for FlinkDeployment `fd`: a savepoint
 * (`checkpoint` false) or checkpoint of `trigger_type` (MANUAL, PERIODIC, UPGRADE) named
 * `<fd>-<savepoint|checkpoint>-<manual|periodic|upgrade>-<now_ms>`. `path` is the target
 * directory, or for `already_exists` the savepoint itself. Returns a new reference.
 */
json_t *snapshot_object(const json_t *fd, bool checkpoint, const char *trigger_type,
                        const char *path, const char *format, bool dispose_on_delete,
                        bool already_exists, long long now_ms);

/* Informer index: "<kind>/<name>" of spec.jobReference. */
int snapshot_index_job(const json_t *obj, const char **out, int cap);

#endif
