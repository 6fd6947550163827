/*
 * kube/client.h - JSON requests to the Kubernetes API for any resource named by
 * group/version/resource: get, list (with continue tokens), create, update, merge/JSON/
 * strategic patch, server-side apply with a field manager, delete with propagation, the status
 * subresource, and watch streams.
 *
 * Errors keep the apiserver's Status: err->reason is its reason ("NotFound", "Conflict",
 * "AlreadyExists", "Invalid", "Expired"...), err->msg its message, err->http_status its code;
 * the return code follows kube_status_error() (e.g. WEIR_ECONFLICT for a stale
 * resourceVersion, WEIR_EGONE for an expired watch).
 *
 * Thread-safe: one client serves all threads and reuses connections.
 *
 * Layer: lib/kube. Depends on lib/http_client, lib/kube/config, lib/kube/watch, jansson.
 */
#ifndef WEIR_KUBE_CLIENT_H
#define WEIR_KUBE_CLIENT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "lib/error.h"
#include "lib/kube/config.h"
#include "lib/kube/watch.h"

typedef struct kube_client kube_client;

/* A resource type: group "" is the core API. `plural` is the URL name ("configmaps"). */
typedef struct kube_resource {
    const char *group;
    const char *version;
    const char *plural;
    bool namespaced;
} kube_resource;

extern const kube_resource KUBE_RES_NAMESPACES, KUBE_RES_CONFIGMAPS, KUBE_RES_SECRETS,
    KUBE_RES_PODS, KUBE_RES_SERVICES, KUBE_RES_SERVICEACCOUNTS, KUBE_RES_EVENTS,
    KUBE_RES_DEPLOYMENTS, KUBE_RES_LEASES, KUBE_RES_CRDS;

/* Creates a client from `cfg` (copied). Returns NULL and fills `err` on failure. Caller frees
 * with kube_client_free(). */
kube_client *kube_client_new(const kube_config *cfg, weir_error *err);

/* Frees the client. No request may be running. NULL is a no-op. */
void kube_client_free(kube_client *kc);

/* The configuration's default namespace (borrowed, valid while the client lives). */
const char *kube_client_namespace(const kube_client *kc);

/* The API server URL (borrowed). */
const char *kube_client_server(const kube_client *kc);

/* Requests sent so far, by HTTP method (watches counted apart), and those that failed. */
struct kube_client_stats {
    unsigned long get, post, put, patch, del, watch;
    unsigned long failed;  /* transport errors and statuses >= 400 */
    unsigned long code[6]; /* responses by status class: [2] 2xx, [3] 3xx, [4] 4xx, [5] 5xx;
                              [0] no response (transport error) */
};

/* A snapshot of the counters. Thread-safe. */
void kube_client_get_stats(kube_client *kc, struct kube_client_stats *out);

/* Writes so far (POST + PUT + PATCH + DELETE). */
unsigned long kube_client_writes(kube_client *kc);

/*
 * Builds the API path of a resource into `buf`: /api/v1/namespaces/NS/configmaps/NAME/SUB or
 * /apis/GROUP/VERSION/... `ns`, `name` and `subresource` may be NULL. Returns 0, or
 * WEIR_EINVAL when a namespaced resource lacks a namespace or a name is not a valid path
 * segment, WEIR_ETOOBIG when `buf` is too small.
 */
int kube_path(const kube_resource *r, const char *ns, const char *name, const char *subresource,
              char *buf, size_t cap) WEIR_MUST_CHECK;

/*
 * Sends a raw request to `path_and_query` (e.g. "/version") with an optional JSON body of
 * `content_type` (NULL: application/json). On success *out (may be NULL) receives the parsed
 * response body (NULL when empty); caller json_decref()s it.
 */
int kube_request(kube_client *kc, const char *method, const char *path_and_query,
                 const json_t *body, const char *content_type, json_t **out,
                 weir_error *err) WEIR_MUST_CHECK;

/* GET one object. *out: the object; caller json_decref()s it. */
int kube_get(kube_client *kc, const kube_resource *r, const char *ns, const char *name,
             json_t **out, weir_error *err) WEIR_MUST_CHECK;

typedef struct kube_list_opts {
    const char *label_selector;
    const char *field_selector;
    const char *resource_version; /* "0": from the watch cache; NULL: consistent read */
    const char *continue_token;
    long limit; /* page size; 0: no limit (kube_list_all: 500) */
} kube_list_opts;

/* One page of a list. `ns` NULL lists across all namespaces. *out: the List object. */
int kube_list(kube_client *kc, const kube_resource *r, const char *ns, const kube_list_opts *opts,
              json_t **out, weir_error *err) WEIR_MUST_CHECK;

/*
 * Every page of a list, following continue tokens, as one List object whose items are all
 * items and whose metadata.resourceVersion is the list's (use it to start a watch). A
 * continue token that expires midway (410) restarts the list from the beginning once.
 */
int kube_list_all(kube_client *kc, const kube_resource *r, const char *ns,
                  const kube_list_opts *opts, json_t **out, weir_error *err) WEIR_MUST_CHECK;

/* POST a new object (borrowed). *out (may be NULL) receives the created object. */
int kube_create(kube_client *kc, const kube_resource *r, const char *ns, const json_t *obj,
                json_t **out, weir_error *err) WEIR_MUST_CHECK;

/*
 * PUT an object (borrowed) by its metadata.name; with metadata.resourceVersion set, a stale
 * write fails with WEIR_ECONFLICT. `subresource` "status" writes only the status.
 */
int kube_update(kube_client *kc, const kube_resource *r, const char *ns, const json_t *obj,
                const char *subresource, json_t **out, weir_error *err) WEIR_MUST_CHECK;

typedef enum kube_patch_type {
    KUBE_PATCH_MERGE,     /* application/merge-patch+json (RFC 7386) */
    KUBE_PATCH_JSON,      /* application/json-patch+json (RFC 6902) */
    KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json (built-in types only) */
    KUBE_PATCH_APPLY,     /* application/apply-patch+yaml: server-side apply */
} kube_patch_type;

typedef struct kube_patch_opts {
    const char *field_manager; /* required for KUBE_PATCH_APPLY */
    bool force;                /* apply: take ownership of conflicting fields */
    bool dry_run;              /* validate and admit, but do not persist (dryRun=All) */
    const char *subresource;   /* e.g. "status" */
} kube_patch_opts;

/* PATCH `name` with `patch` (borrowed). *out (may be NULL) receives the patched object. */
int kube_patch(kube_client *kc, const kube_resource *r, const char *ns, const char *name,
               kube_patch_type type, const json_t *patch, const kube_patch_opts *opts, json_t **out,
               weir_error *err) WEIR_MUST_CHECK;

/* Server-side apply of `obj` (borrowed; its metadata.name names the object). */
int kube_apply(kube_client *kc, const kube_resource *r, const char *ns, const json_t *obj,
               const char *field_manager, bool force, json_t **out,
               weir_error *err) WEIR_MUST_CHECK;

typedef struct kube_delete_opts {
    const char *propagation;      /* "Foreground", "Background", "Orphan" or NULL */
    const char *uid;              /* precondition: delete only this incarnation */
    const char *resource_version; /* precondition */
    long grace_period_seconds;    /* < 0: the object's default */
} kube_delete_opts;

/* DELETE `name`. WEIR_ENOTFOUND when it does not exist. */
int kube_delete(kube_client *kc, const kube_resource *r, const char *ns, const char *name,
                const kube_delete_opts *opts, weir_error *err) WEIR_MUST_CHECK;

typedef struct kube_watch_opts {
    const char *resource_version; /* start after this version (from a list); NULL: "now" */
    const char *label_selector;
    const char *field_selector;
    long timeout_seconds;      /* server closes the watch after this long; 0: 300 */
    bool allow_bookmarks;      /* ask for BOOKMARK events */
    long idle_timeout_ms;      /* no byte for this long ends the watch with WEIR_ETIMEDOUT;
                                  0: timeout_seconds + 30 s */
    const atomic_bool *cancel; /* set to true from any thread to stop (WEIR_ECANCELED) */
} kube_watch_opts;

/*
 * Watches `r` (in `ns`, or all namespaces when NULL) and calls `fn` for each event until the
 * server ends the watch (returns 0: call again from the last resourceVersion), the
 * resourceVersion is too old (WEIR_EGONE: relist), the connection breaks (WEIR_ECLOSED,
 * WEIR_ECONNECT), or it is cancelled. `last_rv` (may be NULL, `rv_cap` bytes) receives the
 * last resourceVersion seen, to resume from.
 */
int kube_watch(kube_client *kc, const kube_resource *r, const char *ns, const kube_watch_opts *opts,
               kube_watch_fn fn, void *userdata, char *last_rv, size_t rv_cap,
               weir_error *err) WEIR_MUST_CHECK;

#endif
