/*
 * kubeops.c - informer, lease and event ops over lib/kube.
 *
 * Watches ask for bookmarks and a server-side timeout of 4-6 minutes (jittered so that many
 * informers do not reconnect in step, as client-go does); the stop flag is passed down to the
 * HTTP transfer, which notices it within about a second.
 */
#include "operator/kube/kubeops.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct kubeops_lw {
    kube_client *kc;
    const kube_resource *res;
    char *ns;
    char *selector;
    unsigned seed;
};

kubeops_lw *kubeops_lw_new(kube_client *kc, const kube_resource *res, const char *ns,
                           const char *label_selector)
{
    kubeops_lw *lw = calloc(1, sizeof(*lw));
    if (!lw)
        return NULL;
    lw->kc = kc;
    lw->res = res;
    lw->ns = ns ? strdup(ns) : NULL;
    lw->selector = label_selector && *label_selector ? strdup(label_selector) : NULL;
    lw->seed = (unsigned)time(NULL) ^ (unsigned)(size_t)lw;
    if ((ns && !lw->ns) || (label_selector && *label_selector && !lw->selector)) {
        kubeops_lw_free(lw);
        return NULL;
    }
    return lw;
}

void kubeops_lw_free(kubeops_lw *lw)
{
    if (!lw)
        return;
    free(lw->ns);
    free(lw->selector);
    free(lw);
}

static int lw_list(void *ctx, json_t **items, char **resource_version, weir_error *err)
{
    kubeops_lw *lw = ctx;
    json_t *list = NULL;
    kube_list_opts o = {.label_selector = lw->selector, .limit = 500};
    int rc = kube_list_all(lw->kc, lw->res, lw->ns, &o, &list, err);
    if (rc)
        return rc;
    const char *rv =
        json_string_value(json_object_get(json_object_get(list, "metadata"), "resourceVersion"));
    *items = json_incref(json_object_get(list, "items"));
    *resource_version = strdup(rv ? rv : "");
    json_decref(list);
    if (!*items || !*resource_version) {
        json_decref(*items);
        free(*resource_version);
        *items = NULL;
        *resource_version = NULL;
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    }
    return 0;
}

struct watch_bridge {
    informer_event_fn fn;
    void *arg;
};

static int bridge_event(kube_watch_type type, json_t *object, void *ud)
{
    struct watch_bridge *b = ud;
    return b->fn(b->arg, kube_watch_type_name(type), object);
}

static int lw_watch(void *ctx, const char *resource_version, informer_event_fn on_event, void *arg,
                    const atomic_bool *stop, weir_error *err)
{
    kubeops_lw *lw = ctx;
    struct watch_bridge b = {on_event, arg};
    kube_watch_opts o = {
        .resource_version = resource_version && *resource_version ? resource_version : NULL,
        .label_selector = lw->selector,
        .allow_bookmarks = true,
        .timeout_seconds = 240 + rand_r(&lw->seed) % 120,
        .cancel = stop,
    };
    int rc = kube_watch(lw->kc, lw->res, lw->ns, &o, bridge_event, &b, NULL, 0, err);
    if (rc == WEIR_ECANCELED && stop && !atomic_load(stop))
        rc = 0; /* the informer's handler asked to stop this stream: not an error */
    return rc;
}

void kubeops_lw_ops(kubeops_lw *lw, struct informer_lw *out)
{
    out->ctx = lw;
    out->list = lw_list;
    out->watch = lw_watch;
}

/* --- Lease --------------------------------------------------------------------------------- */

static int lease_get(void *ctx, json_t **lease, weir_error *err)
{
    struct kubeops_lease *l = ctx;
    return kube_get(l->kc, &KUBE_RES_LEASES, l->ns, l->name, lease, err);
}

static int lease_create(void *ctx, const json_t *lease, weir_error *err)
{
    struct kubeops_lease *l = ctx;
    return kube_create(l->kc, &KUBE_RES_LEASES, l->ns, lease, NULL, err);
}

static int lease_update(void *ctx, const json_t *lease, weir_error *err)
{
    struct kubeops_lease *l = ctx;
    return kube_update(l->kc, &KUBE_RES_LEASES, l->ns, lease, NULL, NULL, err);
}

void kubeops_lease_ops(struct kubeops_lease *ctx, struct leader_lease_ops *out)
{
    out->ctx = ctx;
    out->get = lease_get;
    out->create = lease_create;
    out->update = lease_update;
}

/* --- Events --------------------------------------------------------------------------------- */

static int event_create(void *ctx, const json_t *event, weir_error *err)
{
    const char *ns =
        json_string_value(json_object_get(json_object_get(event, "metadata"), "namespace"));
    return kube_create(ctx, &KUBE_RES_EVENTS, ns ? ns : "default", event, NULL, err);
}

static int event_get(void *ctx, const char *ns, const char *name, json_t **event, weir_error *err)
{
    return kube_get(ctx, &KUBE_RES_EVENTS, ns, name, event, err);
}

static int event_patch(void *ctx, const char *ns, const char *name, const json_t *patch,
                       weir_error *err)
{
    return kube_patch(ctx, &KUBE_RES_EVENTS, ns, name, KUBE_PATCH_MERGE, patch, NULL, NULL, err);
}

void kubeops_event_ops(kube_client *kc, struct event_ops *out)
{
    out->ctx = kc;
    out->create = event_create;
    out->get = event_get;
    out->patch = event_patch;
}
