#!/usr/bin/python3
"""Generates Weir's three CustomResourceDefinitions from one description.

This file is the single source of truth for the flink.apache.org/v1beta1 schemas:

    crds/generate.py            writes crds/<plural>.flink.apache.org.yaml (and the chart's copy
                                in helm/weir-operator/crds/)
    crds/generate.py --check    exits 1 when a committed file differs from what it would write
    crds/generate.py --fields   prints every spec/status field path (the operator's parser is
                                checked against this list by its tests)

Field names, types, enums and printer columns follow the upstream Flink Kubernetes Operator
(see ../shared/reference/flink-kubernetes-operator.md section 1). What differs on purpose:

* podTemplate is a light schema (metadata/spec objects that keep unknown fields) instead of the
  full ~11k-line Pod schema, so client-side `kubectl apply` stays far below the 256 KiB
  annotation limit and GitOps tools see no defaulting diffs (see README, "CRDs").
* x-kubernetes-validations (CEL) reject at apply time what the operator could never run. Every
  rule states why its cost is bounded: rules only use `in`, `has()` and comparisons on
  scalars, or iterate over maps capped with maxProperties.
"""
import itertools
import os
import sys

import yaml

GROUP = "flink.apache.org"
VERSION = "v1beta1"
HERE = os.path.dirname(os.path.abspath(__file__))

# --- schema helpers ------------------------------------------------------------------------


def s(typ, desc, **kw):
    d = {"type": typ, "description": desc}
    d.update(kw)
    return d


def string(desc, **kw):
    return s("string", desc, **kw)


def integer(desc, fmt="int32", **kw):
    return s("integer", desc, format=fmt, **kw)


def boolean(desc):
    return s("boolean", desc)


def enum(desc, values, **kw):
    return s("string", desc, enum=list(values), **kw)


def obj(desc, props=None, **kw):
    d = s("object", desc)
    if props is not None:
        d["properties"] = props
    d.update(kw)
    return d


def string_map(desc, **kw):
    return obj(desc, additionalProperties={"type": "string"}, **kw)


def free_object(desc, **kw):
    return obj(desc, **{"x-kubernetes-preserve-unknown-fields": True}, **kw)


def array(desc, items, **kw):
    return s("array", desc, items=items, **kw)


def rule(expr, message, field_path=None, reason=None, why_bounded=""):
    r = {"rule": expr, "message": message}
    if field_path:
        r["fieldPath"] = field_path
    if reason:
        r["reason"] = reason
    # why_bounded is documentation for reviewers of this file; the apiserver checks the cost.
    assert why_bounded, "every rule says why its CEL cost is bounded: " + expr
    return r


# Kubernetes resource.Quantity (the apiserver's own regular expression, anchored).
QUANTITY = (r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
# A memory size as Flink (2048m, 1g, 1 gb, 512 mb, 100) or Kubernetes (2Gi, 1.5G) writes it.
MEMORY = (r"^[0-9]+(\.[0-9]+)?\s*([kKmMgGtTpPeE]i?|[kKmMgGtT][bB]|[bB]|bytes|"
          r"kibibytes|mebibytes|gibibytes|tebibytes)?$")

# --- flinkConfiguration key presence in flat or nested form ----------------------------------
#
# CEL can only see fields the schema declares (values that merely preserve unknown fields are
# invisible to it). So flinkConfiguration declares, for each key a rule needs, every way the
# key can be written - flat `a.b.c`, nested `a: {b: {c:}}` or mixed `a.b: {c:}` - with the
# intermediate levels as objects that keep all other fields, and the key itself as an int or
# string. Intermediate names are never Flink keys themselves (there is no key `state` or
# `execution.checkpointing`), except `high-availability`, which legacy configurations set to a
# string: keys under it are declared flat only.

SCALAR_PREFIXES = {"high-availability"}
CEL_RESERVED = {"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
                "function", "if", "import", "let", "loop", "package", "namespace", "return",
                "var", "void", "while"}


def _splits(parts):
    """Every way to group a dotted key's parts into nested map levels."""
    n = len(parts)
    for cuts in itertools.product([False, True], repeat=n - 1):
        groups, cur = [], [parts[0]]
        for i, cut in enumerate(cuts):
            if cut:
                groups.append(".".join(cur))
                cur = [parts[i + 1]]
            else:
                cur.append(parts[i + 1])
        groups.append(".".join(cur))
        if any(g in SCALAR_PREFIXES for g in groups[:-1]):
            continue
        yield groups


def cel_name(prop):
    """How Kubernetes' CEL spells a property name."""
    if prop in CEL_RESERVED:
        return "__%s__" % prop
    return (prop.replace("__", "__underscores__").replace(".", "__dot__")
            .replace("-", "__dash__").replace("/", "__slash__"))


def _path(base, groups):
    conds, expr = [], base
    for g in groups:
        expr = "%s.%s" % (expr, cel_name(g))
        conds.append("has(%s)" % expr)
    return conds, expr


def conf_has(key, base="self.flinkConfiguration"):
    """CEL: `key` is set in flinkConfiguration, flat, nested or mixed.
    Cost: has() per level of each of the 2^(parts-1) groupings - constant."""
    alts = []
    for groups in _splits(key.split(".")):
        conds, _ = _path(base, groups)
        alts.append("(" + " && ".join(conds) + ")")
    return "(" + " || ".join(alts) + ")"


def conf_set_nonzero(key, base="self.flinkConfiguration"):
    """CEL: `key` is set to something other than '' or 0 (an enabled interval)."""
    alts = []
    for groups in _splits(key.split(".")):
        conds, expr = _path(base, groups)
        conds.append("!(string(%s) in ['', '0'])" % expr)
        alts.append("(" + " && ".join(conds) + ")")
    return "(" + " || ".join(alts) + ")"


def conf_any(keys, base="self.flinkConfiguration"):
    return "(" + " || ".join(conf_has(k, base) for k in keys) + ")"


def conf_declared(keys):
    """The properties flinkConfiguration declares so that rules can see `keys`."""
    props = {}
    for key in keys:
        for groups in _splits(key.split(".")):
            level = props
            for g in groups[:-1]:
                node = level.setdefault(g, obj(
                    "Nested flinkConfiguration level (keys below it are joined with '.').", {},
                    **{"x-kubernetes-preserve-unknown-fields": True}))
                level = node["properties"]
            level[groups[-1]] = {"description": "Flink option %s." % key,
                                 "x-kubernetes-int-or-string": True}
    return props


CHECKPOINT_DIRS = ["state.checkpoints.dir", "execution.checkpointing.dir"]
SAVEPOINT_DIRS = ["state.savepoints.dir", "execution.checkpointing.savepoint-dir"]
FORBIDDEN_KEYS = ["kubernetes.namespace", "kubernetes.cluster-id", "high-availability.cluster-id"]
PERIODIC_SAVEPOINT = "kubernetes.operator.periodic.savepoint.interval"
DECLARED_KEYS = CHECKPOINT_DIRS + SAVEPOINT_DIRS + FORBIDDEN_KEYS + [PERIODIC_SAVEPOINT]

# --- shared pieces ---------------------------------------------------------------------------

FLINK_VERSIONS = ["v1_13", "v1_14", "v1_15", "v1_16", "v1_17", "v1_18", "v1_19", "v1_20",
                  "v2_0", "v2_1", "v2_2", "v2_3", "v2_4"]
JOB_STATES = ["CANCELED", "CANCELLING", "CREATED", "FAILED", "FAILING", "FINISHED",
              "INITIALIZING", "RECONCILING", "RESTARTING", "RUNNING", "SUSPENDED"]
LIFECYCLE = ["CREATED", "SUSPENDED", "UPGRADING", "DEPLOYED", "STABLE", "ROLLING_BACK",
             "ROLLED_BACK", "FAILED", "DELETING", "DELETED"]
TRIGGER_TYPES = ["MANUAL", "PERIODIC", "UPGRADE", "UNKNOWN"]


def flink_configuration():
    return obj(
        "Flink configuration for this resource, merged over the operator's defaults. Either a "
        "flat map of Flink keys to values (`state.checkpoints.dir: s3://b/cp`) or nested YAML "
        "(`state: {checkpoints.dir: s3://b/cp}`), or both; nested maps are flattened with '.'. "
        "Values may be strings, numbers or booleans. Keys under `kubernetes.operator.` tune the "
        "operator for this resource. Not allowed: kubernetes.namespace, kubernetes.cluster-id, "
        "high-availability.cluster-id (the operator sets them).",
        conf_declared(DECLARED_KEYS), **{"x-kubernetes-preserve-unknown-fields": True})


def job_spec(for_session_job):
    where = "the session cluster" if for_session_job else "this application cluster"
    props = {
        "jarURI": string(
            "The job to run on %s: a URI of the job's artifact. Weir's runtime runs Flink SQL "
            "scripts and job plans, e.g. `local:///opt/flink/usrlib/job.sql`; Apache Flink jars "
            "are named the same way (`local:///opt/flink/examples/streaming/X.jar`)." % where),
        "parallelism": integer(
            "Parallelism of the job. Must be greater than 0 unless taskManager.replicas is set "
            "(then parallelism = replicas x taskmanager.numberOfTaskSlots)."),
        "entryClass": string("Entry class of a jar job (Flink's --class). Ignored for SQL jobs."),
        "args": array("Arguments passed to the job.", {"type": "string"}),
        "state": enum("Desired state of the job: `running` (default) or `suspended`. Changing "
                      "running -> suspended stops the job according to upgradeMode (taking a "
                      "savepoint for `savepoint`); suspended -> running restores it.",
                      ["running", "suspended"]),
        "savepointTriggerNonce": integer(
            "Deprecated (create a FlinkStateSnapshot instead). Changing it to a new non-null "
            "value triggers a savepoint; `kubectl patch ... -p '{\"spec\":{\"job\":"
            "{\"savepointTriggerNonce\":N}}}'`.", "int64"),
        "initialSavepointPath": string(
            "Savepoint or checkpoint to start the job from on its first deployment (and on a "
            "savepointRedeployNonce change). Ignored afterwards: upgrades restore from the "
            "operator's own savepoints/checkpoints."),
        "checkpointTriggerNonce": integer(
            "Deprecated (create a FlinkStateSnapshot with `checkpoint: {}`). Changing it to a new "
            "non-null value triggers a checkpoint.", "int64"),
        "upgradeMode": enum(
            "How the job's state is carried across upgrades and suspend: `stateless` (start "
            "empty), `savepoint` (stop-with-savepoint, restore from it; needs "
            "state.savepoints.dir), `last-state` (restore from the latest checkpoint, also when "
            "the job is unhealthy; needs state.checkpoints.dir). Changing only upgradeMode does "
            "not redeploy. Default: stateless.",
            ["savepoint", "last-state", "stateless"]),
        "allowNonRestoredState": boolean(
            "Allow restoring from a savepoint that holds state no operator of the new job "
            "claims (execution.savepoint.ignore-unclaimed-state)."),
        "savepointRedeployNonce": integer(
            "Changing it redeploys the job from initialSavepointPath (which must be set), "
            "discarding the current state. Rollback is not possible across it.", "int64"),
        "autoscalerResetNonce": integer("Changing it resets the autoscaler's state.", "int64"),
    }
    rules = [
        rule("!has(self.savepointRedeployNonce) || (has(self.initialSavepointPath) && "
             "self.initialSavepointPath != '')",
             "savepointRedeployNonce needs initialSavepointPath: the savepoint to redeploy from",
             ".initialSavepointPath", "FieldValueRequired",
             why_bounded="has() and one string comparison"),
    ]
    if for_session_job:
        rules.append(rule(
            "has(self.parallelism) && self.parallelism > 0",
            "job.parallelism must be greater than 0 (a session job cannot take its parallelism "
            "from taskManager.replicas)", ".parallelism", "FieldValueInvalid",
            why_bounded="has() and one integer comparison"))
    return obj("The job of an application cluster (absent: a session cluster)." if not
               for_session_job else "The job to submit to the session cluster.", props,
               **{"x-kubernetes-validations": rules})


def resource_spec(who):
    return obj(
        "Resources of each %s pod in Flink's form (upstream's `resource`; prefer `resources` on "
        "new resources)." % who, {
            "cpu": s("number", "CPU cores per %s (e.g. 0.5, 1, 2)." % who,
                     format="double", exclusiveMinimum=True, minimum=0),
            "memory": string(
                "Total process memory per %s: a Flink size (`2048m`, `2g`, `1 gb`) or a "
                "Kubernetes quantity (`2Gi`); becomes %s.memory.process.size." %
                (who, "jobmanager" if who == "JobManager" else "taskmanager"),
                pattern=MEMORY),
            "ephemeralStorage": string("Ephemeral storage per %s (a Kubernetes quantity)." % who,
                                       pattern=QUANTITY),
        })


def quantity_map(desc):
    return obj(desc, maxProperties=16, additionalProperties={
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "x-kubernetes-int-or-string": True},
        **{"x-kubernetes-validations": [rule(
            "self.all(k, type(self[k]) == int || isQuantity(self[k]))",
            "resource quantities must be numbers or Kubernetes quantities such as 500m, 1, 2Gi",
            None, "FieldValueInvalid",
            why_bounded="all() over a map of at most 16 entries, one isQuantity() each")]})


def resource_requirements(who):
    return obj(
        "Kubernetes resource requirements of each %s pod (`requests`/`limits` of cpu, memory, "
        "ephemeral-storage). Requests become the Flink memory/cpu settings; a limit above the "
        "request becomes the matching limit-factor." % who, {
            "requests": quantity_map("Requested resources (quantities such as `1`, `500m`, "
                                     "`2Gi`)."),
            "limits": quantity_map("Resource limits (quantities)."),
            "claims": array("Dynamic resource claims (passed through).",
                            free_object("A resource claim.")),
        })


def pod_template(who):
    return obj(
        "Pod template merged into the %s pods (Kubernetes PodTemplateSpec: metadata and spec). "
        "Only the shape is checked here; the content is validated when the operator creates the "
        "pods, and errors appear in status.error and as events. The main container must be "
        "named `flink-main-container` to be merged with the operator's." % who, {
            "apiVersion": string("Ignored (upstream allows it)."),
            "kind": string("Ignored (upstream allows it)."),
            "metadata": free_object("Labels and annotations for the pods."),
            "spec": free_object("A Kubernetes PodSpec."),
        })


def jobmanager_spec():
    return obj("The JobManager.", {
        "resource": resource_spec("JobManager"),
        "resources": resource_requirements("JobManager"),
        "replicas": integer("Number of JobManager replicas (default 1). More than one needs "
                            "high availability (high-availability.type: kubernetes).",
                            minimum=1),
        "podTemplate": pod_template("JobManager"),
    })


def taskmanager_spec():
    return obj("The TaskManagers.", {
        "resource": resource_spec("TaskManager"),
        "resources": resource_requirements("TaskManager"),
        "replicas": integer("Number of TaskManager pods. When set, the job's parallelism is "
                            "replicas x taskmanager.numberOfTaskSlots and job.parallelism is "
                            "ignored. This is the scale subresource: "
                            "`kubectl scale flinkdeployment NAME --replicas=3`.", minimum=1),
        "podTemplate": pod_template("TaskManager"),
    })


def ingress_spec():
    return obj("An Ingress for the Flink web UI / REST API.", {
        "template": string("Host and/or path template; `{{name}}` and `{{namespace}}` are "
                           "replaced, e.g. `/{{namespace}}/{{name}}(/|$)(.*)` or "
                           "`{{name}}.{{namespace}}.flink.example.com`.", minLength=1),
        "className": string("The IngressClass."),
        "annotations": string_map("Annotations of the Ingress."),
        "labels": string_map("Labels of the Ingress."),
        "tls": array("TLS settings (networking.k8s.io/v1 IngressTLS).", obj("IngressTLS.", {
            "hosts": array("Hosts covered by the certificate.", {"type": "string"}),
            "secretName": string("Secret holding the certificate."),
        })),
    }, required=["template"])


def savepoint_obj(desc):
    return obj(desc, {
        "timeStamp": integer("Epoch milliseconds.", "int64"),
        "location": string("Path of the savepoint."),
        "triggerType": enum("What triggered it.", TRIGGER_TYPES),
        "formatType": enum("Savepoint format.", ["CANONICAL", "NATIVE", "UNKNOWN"]),
        "triggerNonce": integer("The nonce that triggered it (manual).", "int64"),
    })


def common_status(kind):
    return {
        "jobStatus": obj("Status of the job as last observed.", {
            "jobName": string("Name of the job."),
            "jobId": string("Flink JobID (32 hex characters)."),
            "state": enum("Flink job state (RECONCILING while the operator cannot tell).",
                          JOB_STATES),
            "startTime": string("Start time, epoch milliseconds as a string."),
            "updateTime": string("Time of the last state change, epoch milliseconds."),
            "upgradeSavepointPath": string("Savepoint/checkpoint the next stateful restore uses."),
            "savepointInfo": obj("Deprecated savepoint bookkeeping (used when "
                                 "FlinkStateSnapshot resources are disabled).", {
                "lastSavepoint": savepoint_obj("The last completed savepoint."),
                "triggerId": string("Pending savepoint trigger id."),
                "triggerTimestamp": integer("When the pending savepoint was triggered.", "int64"),
                "triggerType": enum("Type of the pending trigger.", TRIGGER_TYPES),
                "formatType": enum("Format of the pending savepoint.",
                                   ["CANONICAL", "NATIVE", "UNKNOWN"]),
                "savepointHistory": array("Completed savepoints.", savepoint_obj("A savepoint.")),
                "lastPeriodicSavepointTimestamp": integer("Epoch ms of the last periodic "
                                                          "savepoint.", "int64"),
            }),
            "checkpointInfo": obj("Deprecated checkpoint bookkeeping.", {
                "lastCheckpoint": obj("The last completed manual/periodic checkpoint.", {
                    "timeStamp": integer("Epoch milliseconds.", "int64"),
                    "triggerType": enum("What triggered it.", TRIGGER_TYPES),
                    "formatType": enum("Checkpoint type.", ["FULL", "INCREMENTAL", "UNKNOWN"]),
                    "triggerNonce": integer("The nonce that triggered it.", "int64"),
                }),
                "triggerId": string("Pending checkpoint trigger id."),
                "triggerTimestamp": integer("When it was triggered.", "int64"),
                "triggerType": enum("Type of the pending trigger.", TRIGGER_TYPES),
                "formatType": enum("Type of the pending checkpoint.",
                                   ["FULL", "INCREMENTAL", "UNKNOWN"]),
                "lastPeriodicCheckpointTimestamp": integer("Epoch ms of the last periodic "
                                                           "checkpoint.", "int64"),
            }),
        }),
        "error": string("The last error, as JSON {type, message, additionalMetadata, "
                        "throwableList}; cleared when reconciling succeeds."),
        "observedGeneration": integer("metadata.generation of the spec last reconciled.",
                                      "int64"),
        "lifecycleState": enum("Where the %s is in its lifecycle (derived as upstream does)."
                               % kind, LIFECYCLE),
        "reconciliationStatus": obj("What the operator last deployed.", {
            "reconciliationTimestamp": integer("Epoch ms of the last reconcile action.",
                                               "int64"),
            "lastReconciledSpec": string("JSON of the last deployed spec and metadata "
                                         "({\"spec\":...,\"resource_metadata\":...})."),
            "lastStableSpec": string("JSON of the last spec that ran stably (rollback target)."),
            "state": enum("DEPLOYED, UPGRADING (a change is in flight), ROLLING_BACK, "
                          "ROLLED_BACK.",
                          ["DEPLOYED", "UPGRADING", "ROLLING_BACK", "ROLLED_BACK"]),
        }),
    }


def condition():
    return obj("A Kubernetes condition.", {
        "type": string("Condition type (Running)."),
        "status": enum("True, False or Unknown.", ["True", "False", "Unknown"]),
        "observedGeneration": integer("Generation observed.", "int64"),
        "lastTransitionTime": string("When status last changed.", format="date-time"),
        "reason": string("CamelCase reason."),
        "message": string("Human-readable message."),
    }, required=["type", "status"])


def root_schema(spec, status, extra_rules=None, name_rule=False):
    root = obj("", {
        "apiVersion": string("APIVersion of this object."),
        "kind": string("Kind of this object."),
        "metadata": {"type": "object"},
        "spec": spec,
        "status": status,
    })
    root.pop("description")
    rules = list(extra_rules or [])
    if name_rule:
        # only name and generateName may be restricted; the bound keeps the rule's cost known
        root["properties"]["metadata"]["properties"] = {
            "name": {"type": "string", "maxLength": 253}}
        rules.insert(0, rule(
            "self.metadata.name.matches('^[a-z]([-a-z0-9]{0,43}[a-z0-9])?$')",
            "metadata.name must start with a lowercase letter, contain only lowercase letters, "
            "digits and '-', end with a letter or digit, and be at most 45 characters (it "
            "becomes the Flink cluster-id)", ".metadata.name", "FieldValueInvalid",
            why_bounded="one regular expression on a name of at most 253 characters"))
    if rules:
        root["x-kubernetes-validations"] = rules
    return root


# --- the three kinds ---------------------------------------------------------------------------


def flinkdeployment():
    fc = "self.flinkConfiguration"
    spec_rules = [
        rule("!has(self.job) || (has(self.taskManager) && has(self.taskManager.replicas)) || "
             "(has(self.job.parallelism) && self.job.parallelism > 0)",
             "job.parallelism must be greater than 0 (or set taskManager.replicas)",
             ".job.parallelism", "FieldValueInvalid",
             why_bounded="has() and one integer comparison"),
        rule("!has(self.job) || !has(self.job.upgradeMode) || self.job.upgradeMode == "
             "'stateless' || (has(self.flinkConfiguration) && %s)" % conf_any(CHECKPOINT_DIRS),
             "upgradeMode %s needs a checkpoint directory: set state.checkpoints.dir (or "
             "execution.checkpointing.dir) in flinkConfiguration" % "savepoint/last-state",
             ".flinkConfiguration", "FieldValueRequired",
             why_bounded="a fixed number of has() checks (the groupings of two keys)"),
        rule("!((has(self.job) && ((has(self.job.upgradeMode) && self.job.upgradeMode == "
             "'savepoint') || has(self.job.savepointTriggerNonce))) || (has(self.flinkConfiguration)"
             " && %s)) || (has(self.flinkConfiguration) && %s)" %
             (conf_set_nonzero(PERIODIC_SAVEPOINT),
              conf_any(SAVEPOINT_DIRS)),
             "upgradeMode savepoint, savepointTriggerNonce and periodic savepoints need a "
             "savepoint directory: set state.savepoints.dir (or "
             "execution.checkpointing.savepoint-dir) in flinkConfiguration",
             ".flinkConfiguration", "FieldValueRequired",
             why_bounded="a fixed number of has() and string() checks"),
        rule("!has(self.flinkConfiguration) || !%s" % conf_any(FORBIDDEN_KEYS),
             "flinkConfiguration must not set kubernetes.namespace, kubernetes.cluster-id or "
             "high-availability.cluster-id: the operator sets them from the resource",
             ".flinkConfiguration", "FieldValueForbidden",
             why_bounded="a fixed number of has() checks"),
        rule("(has(self.mode) ? self.mode : 'native') == "
             "(has(oldSelf.mode) ? oldSelf.mode : 'native')",
             "mode cannot change after creation (delete and recreate the resource to switch "
             "between native and standalone)", ".mode", "FieldValueForbidden",
             why_bounded="transition rule comparing two enum strings"),
        rule("has(self.job) == has(oldSelf.job)",
             "a session cluster cannot become an application cluster or back (job cannot be "
             "added or removed after creation)", ".job", "FieldValueForbidden",
             why_bounded="transition rule with two has() checks"),
    ]
    spec = obj(
        "Desired state of a Flink cluster: with `job` an application cluster running that job, "
        "without it a session cluster that FlinkSessionJobs run on.", {
            "job": job_spec(False),
            "restartNonce": integer("Changing it to a new non-null value restarts the cluster "
                                    "(honouring upgradeMode).", "int64"),
            "flinkConfiguration": flink_configuration(),
            "image": string("Container image of the JobManager and TaskManager pods, e.g. "
                            "`weir/runtime:dev`."),
            "imagePullPolicy": string("Image pull policy (Always, IfNotPresent, Never)."),
            "serviceAccount": string("ServiceAccount of the JobManager pods (needs rights to "
                                     "manage TaskManager pods and HA ConfigMaps)."),
            "flinkVersion": enum("Flink version the image speaks (v1_20, v2_0, ...). Weir's "
                                 "runtime speaks the REST API of Flink 1.15 and later.",
                                 FLINK_VERSIONS),
            "ingress": ingress_spec(),
            "podTemplate": pod_template("JobManager and TaskManager"),
            "jobManager": jobmanager_spec(),
            "taskManager": taskmanager_spec(),
            "logConfiguration": string_map(
                "Logging configuration files, by name: `log4j-console.properties` or "
                "`logback-console.xml`.", maxProperties=2,
                **{"x-kubernetes-validations": [rule(
                    "self.all(k, k in ['log4j-console.properties', 'logback-console.xml'])",
                    "logConfiguration keys must be log4j-console.properties or "
                    "logback-console.xml", None, "FieldValueInvalid",
                    why_bounded="all() over a map of at most 2 entries")]}),
            "mode": enum("How the cluster is deployed: `native` (default; Flink manages "
                         "TaskManager pods) or `standalone` (the operator manages all pods). "
                         "Cannot change after creation.", ["native", "standalone"]),
        }, **{"x-kubernetes-validations": spec_rules})
    status = obj("Observed state, written by the operator.", dict(common_status(
        "FlinkDeployment"), **{
        "clusterInfo": string_map("Facts about the running cluster: flink-version, "
                                  "flink-revision, total-cpu, total-memory, state-size."),
        "jobManagerDeploymentStatus": enum(
            "READY (REST API answers), DEPLOYED_NOT_READY, DEPLOYING, MISSING, ERROR.",
            ["READY", "DEPLOYED_NOT_READY", "DEPLOYING", "MISSING", "ERROR"]),
        "taskManager": obj("TaskManager replicas and selector (the scale subresource).", {
            "labelSelector": string("Label selector of the TaskManager pods."),
            "replicas": integer("Number of TaskManager pods."),
        }),
        "conditions": array("Conditions; type Running.", condition(),
                            **{"x-kubernetes-list-type": "map",
                               "x-kubernetes-list-map-keys": ["type"]}),
    }))
    return crd("FlinkDeployment", "flinkdeployments", "flinkdep",
               root_schema(spec, status, name_rule=True),
               printer_columns=[
                   ("Job Status", ".status.jobStatus.state", "Last observed state of the job."),
                   ("Lifecycle State", ".status.lifecycleState",
                    "Lifecycle state of the resource."),
               ],
               scale={"specReplicasPath": ".spec.taskManager.replicas",
                      "statusReplicasPath": ".status.taskManager.replicas",
                      "labelSelectorPath": ".status.taskManager.labelSelector"})


def flinksessionjob():
    spec = obj("A job submitted to a session cluster (a FlinkDeployment without `job`).", {
        "deploymentName": string("Name of the session-cluster FlinkDeployment in this "
                                 "namespace. Cannot change after creation.", minLength=1,
                                 **{"x-kubernetes-validations": [rule(
                                     "self == oldSelf",
                                     "deploymentName cannot change after creation", None,
                                     "FieldValueForbidden",
                                     why_bounded="transition rule, one string comparison")]}),
        "job": job_spec(True),
        "restartNonce": integer("Changing it to a new non-null value resubmits the job "
                                "(honouring upgradeMode).", "int64"),
        "flinkConfiguration": flink_configuration(),
    }, required=["deploymentName"], **{"x-kubernetes-validations": [
        rule("!has(self.flinkConfiguration) || !%s" % conf_any(FORBIDDEN_KEYS),
             "flinkConfiguration must not set kubernetes.namespace, kubernetes.cluster-id or "
             "high-availability.cluster-id", ".flinkConfiguration", "FieldValueForbidden",
             why_bounded="a fixed number of has() checks"),
    ]})
    status = obj("Observed state, written by the operator.", common_status("FlinkSessionJob"))
    return crd("FlinkSessionJob", "flinksessionjobs", "sessionjob", root_schema(spec, status),
               printer_columns=[
                   ("Job Status", ".status.jobStatus.state", "Last observed state of the job."),
                   ("Lifecycle State", ".status.lifecycleState",
                    "Lifecycle state of the resource."),
               ])


def flinkstatesnapshot():
    spec = obj("A savepoint or checkpoint of a job: create one to trigger it (or to register "
               "a savepoint that already exists).", {
        "jobReference": obj("The job to snapshot.", {
            "kind": enum("FlinkDeployment or FlinkSessionJob.",
                         ["FlinkDeployment", "FlinkSessionJob"]),
            "name": string("Name of the resource in this namespace.", minLength=1),
        }, required=["kind", "name"]),
        "savepoint": obj("Take (or register) a savepoint.", {
            "path": string("Target directory (default: the job's state.savepoints.dir), or the "
                           "savepoint's path when alreadyExists."),
            "formatType": enum("CANONICAL (default; portable) or NATIVE (faster).",
                               ["CANONICAL", "NATIVE", "UNKNOWN"]),
            "disposeOnDelete": boolean("Dispose of the savepoint's files when this resource is "
                                       "deleted (default true)."),
            "alreadyExists": boolean("Register an existing savepoint at `path` instead of "
                                     "taking one (default false)."),
        }, **{"x-kubernetes-validations": [rule(
            "!has(self.alreadyExists) || !self.alreadyExists || (has(self.path) && "
            "self.path != '')", "savepoint.alreadyExists needs savepoint.path", ".path",
            "FieldValueRequired", why_bounded="has() and one string comparison")]}),
        "checkpoint": obj("Take a checkpoint (`checkpoint: {}`).", {}),
        "backoffLimit": integer("Retries after a failure: -1 unlimited (default), 0 none; "
                                "retries back off 10 s, 20 s, 40 s, ...", minimum=-1),
    }, **{"x-kubernetes-validations": [
        rule("has(self.savepoint) != has(self.checkpoint)",
             "exactly one of savepoint and checkpoint must be set", None, "FieldValueInvalid",
             why_bounded="two has() checks"),
        rule("has(self.jobReference) || (has(self.savepoint) && has(self.savepoint.alreadyExists)"
             " && self.savepoint.alreadyExists)",
             "jobReference is required unless savepoint.alreadyExists is true", ".jobReference",
             "FieldValueRequired", why_bounded="has() checks and one boolean"),
        rule("self == oldSelf", "the spec of a FlinkStateSnapshot cannot change: create a new "
             "one", None, "FieldValueForbidden",
             why_bounded="transition rule; the spec is small and bounded by its schema "
                         "(no maps or lists)"),
    ]})
    status = obj("Observed state, written by the operator.", {
        "state": enum("TRIGGER_PENDING, IN_PROGRESS, COMPLETED, FAILED or ABANDONED.",
                      ["TRIGGER_PENDING", "IN_PROGRESS", "COMPLETED", "FAILED", "ABANDONED"]),
        "triggerId": string("Trigger id returned by the JobManager."),
        "triggerTimestamp": string("When it was triggered.", format="date-time"),
        "resultTimestamp": string("When it completed or failed.", format="date-time"),
        "path": string("Path of the completed snapshot."),
        "error": string("Why it failed."),
        "failures": integer("Failed attempts so far."),
    })
    return crd("FlinkStateSnapshot", "flinkstatesnapshots", "flinksnp",
               root_schema(spec, status),
               printer_columns=[
                   ("Path", ".status.path", "Path of the snapshot."),
                   ("Result Timestamp", ".status.resultTimestamp", "When it completed."),
                   ("Snapshot State", ".status.state", "State of the snapshot."),
               ])


def crd(kind, plural, short, schema, printer_columns, scale=None):
    cols = [{"name": n, "type": "string", "jsonPath": p, "description": d}
            for n, p, d in printer_columns]
    cols.append({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"})
    sub = {"status": {}}
    if scale:
        sub["scale"] = scale
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "%s.%s" % (plural, GROUP),
                     "labels": {"app.kubernetes.io/part-of": "weir"}},
        "spec": {
            "group": GROUP,
            "names": {"kind": kind, "listKind": kind + "List", "plural": plural,
                      "singular": kind.lower(), "shortNames": [short], "categories": ["flink"]},
            "scope": "Namespaced",
            "versions": [{
                "name": VERSION, "served": True, "storage": True,
                "schema": {"openAPIV3Schema": schema},
                "subresources": sub,
                "additionalPrinterColumns": cols,
            }],
        },
    }


HEADER = ("# Generated by crds/generate.py from its single description of the schemas; "
          "do not edit.\n# Regenerate: crds/generate.py   Check: crds/generate.py --check\n")


class Dumper(yaml.SafeDumper):
    pass


def _str(dumper, data):
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


Dumper.add_representer(str, _str)


def render(doc):
    return HEADER + yaml.dump(doc, Dumper=Dumper, sort_keys=False, width=100,
                              default_flow_style=False, allow_unicode=True)


def all_crds():
    return [flinkdeployment(), flinksessionjob(), flinkstatesnapshot()]


def field_paths(schema, prefix=""):
    out = []
    for name, sub in schema.get("properties", {}).items():
        p = prefix + "." + name if prefix else name
        out.append(p)
        if sub.get("type") == "object":
            out.extend(field_paths(sub, p))
            if "additionalProperties" in sub or sub.get("x-kubernetes-preserve-unknown-fields"):
                out.append(p + ".*")  # a map, or an object that keeps any field
        elif sub.get("type") == "array" and sub["items"].get("type") == "object":
            out.extend(field_paths(sub["items"], p + "[]"))
    return out


def main(argv):
    docs = all_crds()
    if "--fields" in argv:
        for d in docs:
            kind = d["spec"]["names"]["kind"]
            schema = d["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
            for f in field_paths(schema):
                if f.startswith(("spec", "status")):
                    print("%s %s" % (kind, f))
        return 0
    check = "--check" in argv
    bad = 0
    # The chart carries a copy (Helm installs crds/ before the templates).
    chart = os.path.join(HERE, "..", "helm", "weir-operator", "crds")
    for d, path in [(d, os.path.join(dirp, d["metadata"]["name"] + ".yaml"))
                    for dirp in (HERE, chart) for d in docs]:
        text = render(d)
        if check:
            try:
                with open(path) as f:
                    current = f.read()
            except FileNotFoundError:
                current = None
            if current != text:
                print("crds: %s is out of date; run crds/generate.py" % os.path.relpath(path),
                      file=sys.stderr)
                bad = 1
        else:
            with open(path, "w") as f:
                f.write(text)
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
