/*
 * deployment.h - the FlinkDeployment reconciler: observe (children and their status from the
 * informer caches) -> validate -> reconcile (server-side apply of what changed) -> status.
 *
 * One call handles one resource key and never blocks on anything but single API requests: it
 * returns how soon it wants to run again. Status is written with the resourceVersion it was
 * read at (optimistic concurrency): a conflict means "read again", never "overwrite".
 *
 * Layer: operator/controller. Depends on operator/kube (informers, events), lib/kube.
 */
#ifndef WEIR_DEPLOYMENT_H
#define WEIR_DEPLOYMENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/http_client.h"
#include "lib/kube/client.h"
#include "operator/kube/events.h"
#include "operator/kube/informer.h"
#include "operator/opconfig.h"

#define DEPLOYMENT_FINALIZER "flinkdeployments.flink.apache.org/finalizer"

extern const kube_resource DEPLOYMENT_RES_FLINKDEPLOYMENTS;
extern const kube_resource DEPLOYMENT_RES_INGRESSES;

/*
 * What the operator last applied, per child ("Kind/namespace/name" -> hash of the applied
 * object and the child's generation, or resourceVersion for kinds without one, right after the
 * apply). A child whose cached generation/resourceVersion still matches and whose desired
 * object hashes the same needs no write; anything else (a hand edit, a deletion, a spec
 * change, an operator restart) is applied again. Thread-safe. Caller frees with
 * deployment_applied_free().
 */
typedef struct deployment_applied deployment_applied;
deployment_applied *deployment_applied_new(void);
void deployment_applied_free(deployment_applied *a);

/* Everything a reconcile reads and writes; all borrowed. */
struct deployment_ctx {
    kube_client *kc;
    const opconfig *cfg;
    informer *flinkdeployments;
    informer *configmaps; /* children, selected by type=flink-standalone-kubernetes */
    informer *services;
    informer *deployments;
    informer *ingresses;   /* may be NULL */
    informer *pods;        /* JobManager pods, index "app" (deployment_index_app); may be NULL */
    informer *snapshots;   /* FlinkStateSnapshots, index "job" (snapshot_index_job); may be NULL */
    informer *sessionjobs; /* FlinkSessionJobs, index "deployment"; may be NULL */
    event_recorder *events;
    deployment_applied *applied;
    http_client *rest;         /* for the JobManagers' REST APIs; NULL: do not observe */
    long long (*now_ms)(void); /* wall clock in ms; NULL: real time */
};

/*
 * Reconciles the FlinkDeployment `key` ("namespace/name"). Returns 0 and sets *requeue_ms
 * (0: only on change) on success, or an error to be retried with backoff. `err` explains.
 */
int deployment_reconcile(struct deployment_ctx *ctx, const char *key, long *requeue_ms,
                         weir_error *err);

/*
 * The child cache needs only this much of each object (informer transform): identity, owner,
 * deletion and generation/resourceVersion, and a Deployment's replica counts. Returns a new
 * reference.
 */
json_t *deployment_trim_child(json_t *obj);

/*
 * Whether a child's metadata.managedFields (borrowed) show a write by someone other than the
 * operator at or after the operator's last apply: another manager's entry on the object or its
 * scale subresource, not its status and not the Deployment controller's revision annotation.
 * No apply of ours in the list counts as edited. Pure; exposed for tests.
 */
bool deployment_edited_by_others(const json_t *managed_fields);

/* Pods keep identity, labels and their containers' waiting/terminated reasons. */
json_t *deployment_trim_pod(json_t *obj);

/*
 * The REST base URL ("http://<clusterIP>:8081") of FlinkDeployment `name`'s JobManager, from
 * its `<name>-rest` Service in `services` (the child cache). False while it has none.
 */
bool deployment_rest_base(informer *services, const char *ns, const char *name, char *base,
                          size_t cap);

/* Informer index: the `app` label (the FlinkDeployment's name). */
int deployment_index_app(const json_t *obj, const char **out, int cap);

#endif
