/*
 * sessionjob.h - the FlinkSessionJob reconciler (reference §2.10): a job submitted through
 * REST to a session FlinkDeployment's JobManager. The job lifecycle (first submission with a
 * job id recorded before it, savepoint / last-state / stateless upgrades, suspend/resume,
 * manual and periodic savepoints in savepointInfo) is application.c's state machine, with
 * "the cluster exists" read as "the job with the recorded id exists and is not terminal":
 * deploying means fetching the artifact (the SQL file: local:// or file:// paths readable by
 * the operator, or http(s) within kubernetes.operator.user.artifacts.max-size), uploading it
 * with POST /jars/upload and running it with POST /jars/:id/run {jobId, savepointPath, ...};
 * removing it means cancelling that job.
 *
 * A session job naming a missing deployment, an application cluster, or an unreachable or
 * oversized artifact gets a specific status.error and a Warning event and is retried with
 * backoff. Deleting one cancels its job (finalizer flinksessionjobs.flink.apache.org/finalizer).
 *
 * Layer: operator/controller.
 */
#ifndef WEIR_SESSIONJOB_H
#define WEIR_SESSIONJOB_H

#include <jansson.h>

#include "lib/error.h"
#include "lib/http_client.h"
#include "lib/kube/client.h"
#include "operator/kube/events.h"
#include "operator/kube/informer.h"
#include "operator/opconfig.h"

#define SESSIONJOB_FINALIZER "flinksessionjobs.flink.apache.org/finalizer"

extern const kube_resource SESSIONJOB_RES;

/* All borrowed. */
struct sessionjob_ctx {
    kube_client *kc;
    const opconfig *cfg;
    informer *sessionjobs;
    informer *flinkdeployments;
    informer *services;
    informer *snapshots; /* FlinkStateSnapshots, index "job"; NULL: legacy status fields only */
    event_recorder *events;
    http_client *rest;
    long long (*now_ms)(void); /* NULL: real time */
};

/* Reconciles the FlinkSessionJob `key` ("namespace/name"); as deployment_reconcile(). */
int sessionjob_reconcile(struct sessionjob_ctx *ctx, const char *key, long *requeue_ms,
                         weir_error *err) WEIR_MUST_CHECK;

/* Informer index: spec.deploymentName. */
int sessionjob_index_deployment(const json_t *obj, const char **out, int cap);

#endif
