/*
 * lifecycle.c - lifecycleState derivation (see lifecycle.h and reference §1.7).
 *
 * Layer: operator/controller. Pure logic over jansson values.
 */
#include "operator/controller/lifecycle.h"

#include <string.h>

static const char *const names[LIFECYCLE_COUNT] = {
    "CREATED",      "SUSPENDED",   "UPGRADING", "DEPLOYED", "STABLE",
    "ROLLING_BACK", "ROLLED_BACK", "FAILED",    "DELETING", "DELETED",
};

static const bool terminal[LIFECYCLE_COUNT] = {
    [LIFECYCLE_SUSPENDED] = true, [LIFECYCLE_STABLE] = true,  [LIFECYCLE_ROLLED_BACK] = true,
    [LIFECYCLE_FAILED] = true,    [LIFECYCLE_DELETED] = true,
};

/* Error texts upstream treats as "the job can only be restored by hand". */
static const char *const manual_restore_markers[] = {
    "Manual restore required.",
    ("It is possible that the job has finished or terminally failed, or the configmaps have been "
     "deleted."),
    "HA metadata is not available",
};

const char *lifecycle_name(enum lifecycle_state s)
{
    return (unsigned)s < LIFECYCLE_COUNT ? names[s] : "UNKNOWN";
}

int lifecycle_parse(const char *name)
{
    for (int i = 0; name && i < LIFECYCLE_COUNT; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

bool lifecycle_job_terminal(const char *st)
{
    return st && (strcmp(st, "FINISHED") == 0 || strcmp(st, "FAILED") == 0 ||
                  strcmp(st, "CANCELED") == 0);
}

bool lifecycle_is_terminal(enum lifecycle_state s)
{
    return (unsigned)s < LIFECYCLE_COUNT && terminal[s];
}

/* Borrowed string at obj[key], or NULL when absent or not a string. */
static const char *str_at(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool str_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/*
 * The job state recorded in a lastReconciledSpec string: {"spec":{"job":{"state":..}}, ...},
 * or the older format that is the spec itself. Returns true for "suspended".
 */
static bool reconciled_job_suspended(const char *last_spec)
{
    json_t *doc = json_loads(last_spec, 0, NULL);
    if (doc == NULL)
        return false;
    const json_t *spec = json_object_get(doc, "spec");
    if (!json_is_object(spec) || json_object_get(doc, "resource_metadata") == NULL)
        spec = doc;
    const json_t *job = json_object_get(spec, "job");
    bool suspended = str_eq(str_at(job, "state"), "suspended");
    json_decref(doc);
    return suspended;
}

static bool needs_manual_restore(const char *error)
{
    if (error == NULL)
        return false;
    for (size_t i = 0; i < sizeof(manual_restore_markers) / sizeof(manual_restore_markers[0]); i++)
        if (strstr(error, manual_restore_markers[i]) != NULL)
            return true;
    return false;
}

enum lifecycle_state lifecycle_derive(const json_t *status, bool is_deployment)
{
    const char *current = str_at(status, "lifecycleState");
    if (str_eq(current, "DELETING"))
        return LIFECYCLE_DELETING;
    if (str_eq(current, "DELETED"))
        return LIFECYCLE_DELETED;

    const json_t *recon =
        json_is_object(status) ? json_object_get(status, "reconciliationStatus") : NULL;
    const char *last_spec = str_at(recon, "lastReconciledSpec");
    const char *error = str_at(status, "error");
    if (last_spec == NULL || last_spec[0] == '\0')
        return error != NULL && error[0] != '\0' ? LIFECYCLE_FAILED : LIFECYCLE_CREATED;

    const char *recon_state = str_at(recon, "state");
    if (str_eq(recon_state, "UPGRADING"))
        return LIFECYCLE_UPGRADING;
    if (str_eq(recon_state, "ROLLING_BACK"))
        return LIFECYCLE_ROLLING_BACK;
    if (reconciled_job_suspended(last_spec))
        return LIFECYCLE_SUSPENDED;

    const json_t *job_status = json_object_get(status, "jobStatus");
    if (str_eq(str_at(job_status, "state"), "FAILED"))
        return LIFECYCLE_FAILED;

    if (is_deployment) {
        const char *jm = str_at(status, "jobManagerDeploymentStatus");
        if ((str_eq(jm, "MISSING") || str_eq(jm, "ERROR")) && needs_manual_restore(error))
            return LIFECYCLE_FAILED;
    }
    if (str_eq(recon_state, "ROLLED_BACK"))
        return LIFECYCLE_ROLLED_BACK;
    return str_eq(last_spec, str_at(recon, "lastStableSpec")) ? LIFECYCLE_STABLE
                                                              : LIFECYCLE_DEPLOYED;
}
