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

#include "lib/error.h"
#include "lib/kube/client.h"
#include "operator/kube/events.h"
#include "operator/kube/informer.h"
#include "operator/opconfig.h"

#define DEPLOYMENT_FINALIZER "flinkdeployments.flink.apache.org/finalizer"

extern const kube_resource DEPLOYMENT_RES_FLINKDEPLOYMENTS;
extern const kube_resource DEPLOYMENT_RES_INGRESSES;

/* Everything a reconcile reads and writes; all borrowed. */
struct deployment_ctx {
    kube_client *kc;
    const opconfig *cfg;
    informer *flinkdeployments;
    informer *configmaps; /* children, selected by type=flink-standalone-kubernetes */
    informer *services;
    informer *deployments;
    informer *ingresses; /* may be NULL */
    event_recorder *events;
    long long (*now_ms)(void); /* wall clock in ms; NULL: real time */
};

/*
 * Reconciles the FlinkDeployment `key` ("namespace/name"). Returns 0 and sets *requeue_ms
 * (0: only on change) on success, or an error to be retried with backoff. `err` explains.
 */
int deployment_reconcile(struct deployment_ctx *ctx, const char *key, long *requeue_ms,
                         weir_error *err);

/*
 * True when every field of `want` is present in `have` with an equal value (objects as
 * subsets, arrays element-wise with equal length, resource quantities compared by value:
 * "1000m" equals "1", "2048Mi" equals "2Gi"). Fields the server adds do not matter.
 */
bool deployment_subset(const json_t *want, const json_t *have);

#endif
