/*
 * health.h - upstream's cluster health check (kubernetes.operator.cluster.health-check.*,
 * reference §2.7): from the job's `numRestarts` and `numberOfCompletedCheckpoints`, observed at
 * every reconcile, decide whether a running job is unhealthy — more restarts than
 * `restarts.threshold` within `restarts.window`, or no completed checkpoint within the
 * checkpoint-progress window — so that the reconciler restarts it.
 *
 * The evaluation state lives in status.clusterInfo["ClusterHealthInfo"] as upstream keeps it
 * (a JSON string: timeStamp, numRestarts, numRestartsEvaluationTimeStamp,
 * numCompletedCheckpoints, numCompletedCheckpointsIncreasedTimeStamp, healthy), so it survives
 * an operator restart. Pure logic: no I/O.
 *
 * Layer: operator/controller. Depends on lib/config.
 */
#ifndef WEIR_HEALTH_H
#define WEIR_HEALTH_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/config.h"

/* One observation of a running job (epoch ms, and its metrics). */
typedef struct health_obs {
    long long ts;
    long long num_restarts;
    long long num_completed_checkpoints;
} health_obs;

#define HEALTH_INFO_KEY "ClusterHealthInfo"

/* Evaluates `obs` against the state in `cluster_info` (a status.clusterInfo object, updated)
 * with the resource's configuration `conf`. Returns false when the job is unhealthy. */
bool health_evaluate(const config *conf, json_t *cluster_info, const health_obs *obs,
                     long long now);

/* The last evaluation's verdict (true when there is none). */
bool health_is_healthy(const json_t *cluster_info);

/* Forgets the evaluation state (after the job was restarted). */
void health_forget(json_t *cluster_info);

#endif
