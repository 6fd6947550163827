/*
 * lifecycle.h - derives a resource's `status.lifecycleState` from the rest of its status,
 * exactly as upstream's CommonStatus#getLifecycleState does (reference §1.7), so printer
 * columns, dashboards and Argo CD health checks read the same values.
 *
 * Layer: operator/controller (pure logic over status JSON; no I/O).
 */
#ifndef WEIR_LIFECYCLE_H
#define WEIR_LIFECYCLE_H

#include <jansson.h>
#include <stdbool.h>

/* The ResourceLifecycleState values, in upstream's declaration order. */
enum lifecycle_state {
    LIFECYCLE_CREATED,
    LIFECYCLE_SUSPENDED,
    LIFECYCLE_UPGRADING,
    LIFECYCLE_DEPLOYED,
    LIFECYCLE_STABLE,
    LIFECYCLE_ROLLING_BACK,
    LIFECYCLE_ROLLED_BACK,
    LIFECYCLE_FAILED,
    LIFECYCLE_DELETING,
    LIFECYCLE_DELETED,
    LIFECYCLE_COUNT
};

/* The upstream spelling ("STABLE", ...). */
const char *lifecycle_name(enum lifecycle_state s);

/* Parses an upstream spelling; returns -1 when unknown. */
int lifecycle_parse(const char *name);

/* Upstream's "terminal" flag, used by the lifecycle metrics. */
bool lifecycle_is_terminal(enum lifecycle_state s);

/* Whether a Flink JobStatus name is globally terminal: FINISHED, FAILED or CANCELED (a job in
 * it never runs again). NULL and other names are not. */
bool lifecycle_job_terminal(const char *job_state);

/*
 * Derives the lifecycle state from `status` (a FlinkDeployment's when `is_deployment`, else a
 * FlinkSessionJob's). `status` is borrowed and may be NULL (a new resource: CREATED).
 */
enum lifecycle_state lifecycle_derive(const json_t *status, bool is_deployment);

#endif
