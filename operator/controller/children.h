/*
 * children.h - the Kubernetes objects that run a FlinkDeployment, built from its spec: the
 * effective Flink configuration, ConfigMap `flink-config-<name>`, the JobManager Deployment
 * `<name>`, the TaskManager Deployment `<name>-taskmanager`, Services `<name>` (headless: rpc
 * and blob ports) and `<name>-rest`, and an Ingress when `spec.ingress` is set.
 *
 * Names, labels, ports and container arguments are those of upstream's standalone mode, so
 * the same objects run the Weir runtime image or an Apache Flink image. Pure functions: the
 * reconciler applies the result with server-side apply.
 *
 * Layer: operator/controller. Depends on lib/config, lib/json, jansson.
 */
#ifndef WEIR_CHILDREN_H
#define WEIR_CHILDREN_H

#include <jansson.h>

#include "lib/config.h"
#include "lib/error.h"

#define CHILDREN_FIELD_MANAGER         "weir-operator"
#define CHILDREN_MAIN_CONTAINER        "flink-main-container"
#define CHILDREN_GENERATION_ANNOTATION "flinkdeployment.flink.apache.org/generation"
/* Set on each child when it is applied: the hash of what was applied, so that an operator
 * restarted with an empty memory of its writes need not apply unchanged children again. */
#define CHILDREN_HASH_ANNOTATION "operator.weir.dev/applied-hash"

/*
 * The effective Flink configuration of `fd`: `defaults` (the operator's; may be NULL), then the
 * resource's flinkConfiguration (flat or nested), then what the spec implies (memory, cpu,
 * parallelism, jars) and what the operator must set (rpc address, ports, cluster id).
 * `kubernetes.operator.*` and `job.autoscaler.*` keys are left out. A value the spec does not
 * allow (e.g. an unparsable memory size) fails with WEIR_EINVAL and a message naming the field.
 * Caller frees *out with config_free().
 */
int children_flink_config(const json_t *fd, const config *defaults, config **out,
                          weir_error *err) WEIR_MUST_CHECK;

/*
 * The resource's own configuration as the operator reads it: `defaults` (may be NULL), then its
 * flinkConfiguration, `kubernetes.operator.*` keys included. Caller frees *out.
 */
int children_resource_config(const json_t *fd, const config *defaults, config **out,
                             weir_error *err) WEIR_MUST_CHECK;

/*
 * Every child object of `fd` (a JSON array of complete objects, each with apiVersion, kind,
 * metadata.name/namespace/labels/ownerReferences), in the order they should be applied. Caller
 * json_decref()s *out.
 */
int children_build(const json_t *fd, const config *defaults, json_t **out,
                   weir_error *err) WEIR_MUST_CHECK;

/*
 * Merges pod template `over` into a copy of `base` (both may be NULL) as upstream does: objects
 * recursively, arrays of named objects (containers, volumes, env, ports...) by name, other
 * arrays replaced. Returns a new reference.
 */
json_t *children_merge_pod_template(const json_t *base, const json_t *over);

/* TaskManager replicas: taskManager.replicas, else ceil(parallelism / slots), at least 1. */
int children_tm_replicas(const json_t *fd, const config *flink);

#endif
