/*
 * opconfig.h - the operator's own configuration: upstream's `kubernetes.operator.*` keys with
 * upstream's defaults, read from a Flink-style config file (flink-conf.yaml or config.yaml),
 * `-D` overrides and the environment (WATCH_NAMESPACES, POD_NAME, POD_NAMESPACE).
 *
 * Keys that are not `kubernetes.operator.*` form the default Flink configuration that is merged
 * under each resource's flinkConfiguration.
 *
 * Layer: operator/. Depends on lib/config.
 */
#ifndef WEIR_OPCONFIG_H
#define WEIR_OPCONFIG_H

#include <stdbool.h>

#include "lib/config.h"
#include "lib/error.h"

#define OPCONFIG_MAX_NAMESPACES 64

typedef /* Weir's default for kubernetes.operator.reconcile.parallelism. Upstream's is 50; measured
         * here (bench/results/operator.md) 50 workers did not shorten a burst of 1,000 (the
         * apiserver is the bound) and cost 9 MiB of thread stacks and arenas, so the default is 16.
         */
#define OPCONFIG_DEFAULT_PARALLELISM 16

    struct opconfig {
    long long reconcile_interval_ms; /* kubernetes.operator.reconcile.interval, 1 min */
    int reconcile_parallelism; /* ...reconcile.parallelism, OPCONFIG_DEFAULT_PARALLELISM (-1: 256)
                                */
    long long progress_check_interval_ms; /* ...observer.progress-check.interval, 10 s */
    long long rest_ready_delay_ms;        /* ...observer.rest-ready.delay, 10 s */
    long long flink_client_timeout_ms;    /* ...flink.client.timeout, 10 s */
    long long retry_initial_ms;           /* ...retry.initial.interval, 5 s */
    double retry_multiplier;              /* ...retry.interval.multiplier, 1.5 */
    long long retry_max_ms;               /* ...retry.max.interval, 5 min (upstream: none) */
    char *watched_namespaces[OPCONFIG_MAX_NAMESPACES]; /* empty: all namespaces */
    int n_namespaces;
    char *label_selector;             /* ...label.selector, NULL: none */
    bool leader_election;             /* ...leader-election.enabled, false */
    char *lease_name;                 /* ...leader-election.lease-name (required when enabled) */
    char *lease_namespace;            /* POD_NAMESPACE, else "default" */
    long long lease_duration_ms;      /* 15 s */
    long long renew_deadline_ms;      /* 10 s */
    long long retry_period_ms;        /* 2 s */
    int health_port;                  /* ...health.probe.port, 8085 */
    int metrics_port;                 /* ...metrics.reporter.prom.port, 9999 */
    char *bind_address;               /* ...http.bind-address (Weir), NULL: all interfaces */
    char *identity;                   /* POD_NAME (+ random suffix) for leases and events */
    long long termination_timeout_ms; /* ...termination.timeout, 10 s */
    config *flink_defaults;           /* every non-operator key: merged under each resource's */
    config *all;                      /* everything that was read, for per-resource overrides */
} opconfig;

/*
 * Builds the configuration: upstream defaults, then the file at `path` (NULL: none), then
 * `dynamic` (the -D options, may be NULL), then WATCH_NAMESPACES. Returns 0 and fills `out`, or
 * an error naming the key and position. Caller frees with opconfig_clear().
 */
int opconfig_load(opconfig *out, const char *path, const config *dynamic,
                  weir_error *err) WEIR_MUST_CHECK;

/*
 * The default Flink configuration for one resource: flink_defaults, then the keys of
 * kubernetes.operator.default-configuration.namespace.<ns>.<key>, then those of
 * kubernetes.operator.default-configuration.flink-version.<v>.<key> (the version beats the
 * namespace, as upstream), where <v> is the resource's spec.flinkVersion (v1_20) or a "v1_19+"
 * that covers it. `flink_version` may be NULL. Returns a new config (caller frees) or NULL when
 * out of memory.
 */
config *opconfig_defaults_for(const opconfig *c, const char *ns, const char *flink_version);

/* Frees what `c` owns and zeroes it. */
void opconfig_clear(opconfig *c);

/* True when `ns` is watched (all namespaces are watched when none are listed). */
bool opconfig_watches(const opconfig *c, const char *ns);

#endif
