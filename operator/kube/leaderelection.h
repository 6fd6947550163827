/*
 * leaderelection.h - leader election on a coordination.k8s.io/v1 Lease, as client-go does it.
 *
 * A candidate tries to acquire the Lease every retry period; the leader renews it every retry
 * period. Expiry is judged by the candidate's own monotonic clock from the moment it last saw
 * the Lease record change (never by comparing the holder's timestamps with our clock), so
 * clock skew between replicas does not matter. Writes use the Lease's resourceVersion, so two
 * candidates can never both win a round.
 *
 * "Stops writing at once": leader_is_leader() is true only while the last successful renewal
 * is younger than the renew deadline — even if the renewing thread is stuck in a slow request,
 * the answer turns false on time. Writers check it before every write.
 *
 * The Lease is read and written through an ops table (lib/kube in production, a fake in tests).
 *
 * Layer: operator/kube. Depends on lib/ and jansson.
 */
#ifndef WEIR_LEADERELECTION_H
#define WEIR_LEADERELECTION_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/error.h"

typedef struct leader_elector leader_elector;

struct leader_lease_ops {
    void *ctx;
    /* Reads the Lease: *lease gets a new reference. WEIR_ENOTFOUND when it does not exist. */
    int (*get)(void *ctx, json_t **lease, weir_error *err);
    /* Creates the Lease (borrowed). WEIR_EEXIST when someone else created it first. */
    int (*create)(void *ctx, const json_t *lease, weir_error *err);
    /* Replaces the Lease (borrowed, carries metadata.resourceVersion). WEIR_ECONFLICT when stale.
     */
    int (*update)(void *ctx, const json_t *lease, weir_error *err);
};

struct leader_options {
    const char *identity;   /* this replica (pod name + random suffix); borrowed */
    const char *lease_name; /* metadata.name; borrowed */
    const char *namespace;  /* metadata.namespace; borrowed */
    long lease_duration_ms; /* kubernetes.operator.leader-election.lease-duration, default 15 s */
    long renew_deadline_ms; /* ...renew-deadline, default 10 s */
    long retry_period_ms;   /* ...retry-period, default 2 s */
    void *arg;
    void (*on_started_leading)(void *arg);
    void (*on_stopped_leading)(void *arg); /* called once when leadership is lost or released */
    /* Clocks, for tests; NULL uses CLOCK_MONOTONIC / CLOCK_REALTIME in milliseconds. */
    long long (*mono_ms)(void);
    long long (*wall_ms)(void);
};

/* Creates an elector (not started). Returns NULL when out of memory or options are invalid
 * (identity/lease_name/namespace missing, renew_deadline >= lease_duration, retry >= renew). */
leader_elector *leader_new(const struct leader_lease_ops *ops, const struct leader_options *o);

/* Starts the election thread. */
int leader_start(leader_elector *le);

/*
 * Stops the thread; when `release` and we lead, gives the Lease up (holderIdentity cleared,
 * leaseDurationSeconds 1) so another replica takes over at once. Idempotent.
 */
void leader_stop(leader_elector *le, bool release);

/* Stops (without release) if needed and frees. leader_free(NULL) does nothing. */
void leader_free(leader_elector *le);

/* True while this replica holds a Lease renewed within the renew deadline. */
bool leader_is_leader(leader_elector *le);

/* The holder identity last observed ("" when none). Borrowed copy into `buf`. */
void leader_observed_holder(leader_elector *le, char *buf, size_t cap);

/*
 * One round of acquire-or-renew (what the thread does each retry period). Returns 0 when we
 * hold the Lease afterwards, WEIR_ESTATE when someone else validly holds it, or the error of
 * the failed request. Exposed for tests.
 */
int leader_try_acquire_or_renew(leader_elector *le, weir_error *err);

/* Formats epoch milliseconds as a Kubernetes MicroTime ("2026-11-23T04:03:15.123000Z"). */
void leader_format_microtime(long long wall_ms, char *buf, size_t cap);

#endif
