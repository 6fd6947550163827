/*
 * kubeops.h - the operator's Kubernetes-facing ops tables (informer list/watch, Lease get/
 * create/update, Event create/get/patch) implemented over lib/kube's client.
 *
 * The controller machinery in operator/kube takes its I/O as ops tables so that it is tested
 * without a network; this module is the production implementation against a real apiserver.
 *
 * Layer: operator/kube. Depends on lib/kube and the ops structs of informer.h,
 * leaderelection.h and events.h.
 */
#ifndef WEIR_KUBEOPS_H
#define WEIR_KUBEOPS_H

#include "lib/kube/client.h"
#include "operator/kube/events.h"
#include "operator/kube/informer.h"
#include "operator/kube/leaderelection.h"

typedef struct kubeops_lw kubeops_lw;

/*
 * A list/watch source for `res` in `ns` (NULL: all namespaces), optionally filtered by a label
 * selector (NULL: none). `kc` is borrowed and must outlive the source. Strings are copied.
 * Caller frees with kubeops_lw_free() after the informer using it is stopped.
 */
kubeops_lw *kubeops_lw_new(kube_client *kc, const kube_resource *res, const char *ns,
                           const char *label_selector);
void kubeops_lw_free(kubeops_lw *lw);

/* Fills `out` with the ops of `lw` (which stays owned by the caller). */
void kubeops_lw_ops(kubeops_lw *lw, struct informer_lw *out);

/* Lease ops for the Lease `name` in `ns` (strings borrowed; must outlive the elector). The
 * context is a small struct the caller owns: */
struct kubeops_lease {
    kube_client *kc;
    const char *ns;
    const char *name;
};
void kubeops_lease_ops(struct kubeops_lease *ctx, struct leader_lease_ops *out);

/* Event ops over core/v1 Events; `kc` borrowed. */
void kubeops_event_ops(kube_client *kc, struct event_ops *out);

#endif
