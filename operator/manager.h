/*
 * manager.h - wires the operator together, as controller-runtime's manager does: informers
 * for FlinkDeployments and their children (one set per watched namespace, or one for all),
 * a work queue fed by their events, N workers running the reconciler, optional leader
 * election, and the health (/healthz, /readyz) and Prometheus (/metrics) endpoints.
 *
 * Layer: operator/ top. Depends on operator/kube, operator/controller, lib/.
 */
#ifndef WEIR_MANAGER_H
#define WEIR_MANAGER_H

#include <stdatomic.h>
#include <stdbool.h>

#include "lib/error.h"
#include "lib/kube/client.h"
#include "operator/opconfig.h"

typedef struct manager manager;

/* A manager over `kc` with configuration `cfg` (both borrowed; must outlive it). NULL and
 * `err` filled on failure. Caller frees with manager_free(). */
manager *manager_new(const opconfig *cfg, kube_client *kc, weir_error *err);

/*
 * Runs until `*stop` becomes true (e.g. SIGTERM): starts the HTTP endpoints and the informers,
 * then (as leader, when leader election is on) the workers. On stop: no new work is taken,
 * reconciles in flight finish, the lease is released. Returns 0, or an error (e.g. a port in
 * use, leadership lost).
 */
int manager_run(manager *m, const atomic_bool *stop, weir_error *err) WEIR_MUST_CHECK;

/* Frees the manager (after manager_run returned). NULL is a no-op. */
void manager_free(manager *m);

#endif
