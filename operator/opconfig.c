/*
 * opconfig.c - reads the operator's configuration with upstream's keys and defaults.
 */
#include "operator/opconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define K "kubernetes.operator."

static int dur(const config *c, const char *key, long long def, long long *out, weir_error *err)
{
    return config_get_duration_ms(c, key, def, out, err);
}

/* The first key of `keys` that is set (new name first, then upstream's deprecated names). */
static const char *pick(const config *c, const char *const *keys)
{
    for (const char *const *k = keys; *k; k++)
        if (config_has(c, *k))
            return *k;
    return keys[0];
}

static int port(const config *c, const char *key, int def, int *out, weir_error *err)
{
    long long v;
    int rc = config_get_int(c, key, def, &v, err);
    if (rc)
        return rc;
    if (v < 0 || v > 65535)
        return weir_error_set(err, WEIR_ERANGE, "%s: key '%s': port %lld is out of range",
                              config_origin(c, key), key, v);
    *out = (int)v;
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

static int split_namespaces(opconfig *o, const char *list, weir_error *err)
{
    for (int i = 0; i < o->n_namespaces; i++)
        free(o->watched_namespaces[i]);
    o->n_namespaces = 0;
    if (!list)
        return 0;
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (strcmp(t, "JOSDK_ALL_NAMESPACES") == 0)
            continue;
        if (o->n_namespaces >= OPCONFIG_MAX_NAMESPACES) {
            free(copy);
            return weir_error_set(err, WEIR_ETOOBIG, "more than %d watched namespaces",
                                  OPCONFIG_MAX_NAMESPACES);
        }
        if (!(o->watched_namespaces[o->n_namespaces++] = strdup(t))) {
            free(copy);
            return weir_error_set(err, WEIR_ENOMEM, "out of memory");
        }
    }
    free(copy);
    return 0;
}

int opconfig_load(opconfig *o, const char *path, const config *dynamic, weir_error *err)
{
    int rc = 0;
    memset(o, 0, sizeof(*o));
    config *c = config_new();
    if (!c)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    if (path && (rc = config_load_file(c, path, err)))
        goto out;
    if (dynamic && (rc = config_merge(c, dynamic)))
        goto out;

    static const char *const reconcile[] = {K "reconcile.interval",
                                            K "reconciler.reschedule.interval", NULL};
    static const char *const parallelism[] = {K "reconcile.parallelism",
                                              K "reconciler.max.parallelism", NULL};
    long long par;
    if ((rc = dur(c, pick(c, reconcile), 60000, &o->reconcile_interval_ms, err)) ||
        (rc = config_get_int(c, pick(c, parallelism), OPCONFIG_DEFAULT_PARALLELISM, &par, err)) ||
        (rc = dur(c, K "observer.progress-check.interval", 10000, &o->progress_check_interval_ms,
                  err)) ||
        (rc = dur(c, K "observer.rest-ready.delay", 10000, &o->rest_ready_delay_ms, err)) ||
        (rc = dur(c, K "flink.client.timeout", 10000, &o->flink_client_timeout_ms, err)) ||
        (rc = dur(c, K "retry.initial.interval", 5000, &o->retry_initial_ms, err)) ||
        (rc =
             config_get_double(c, K "retry.interval.multiplier", 1.5, &o->retry_multiplier, err)) ||
        (rc = dur(c, K "retry.max.interval", 300000, &o->retry_max_ms, err)) ||
        (rc = config_get_bool(c, K "leader-election.enabled", false, &o->leader_election, err)) ||
        (rc = dur(c, K "leader-election.lease-duration", 15000, &o->lease_duration_ms, err)) ||
        (rc = dur(c, K "leader-election.renew-deadline", 10000, &o->renew_deadline_ms, err)) ||
        (rc = dur(c, K "leader-election.retry-period", 2000, &o->retry_period_ms, err)) ||
        (rc = port(c, K "health.probe.port", 8085, &o->health_port, err)) ||
        (rc = port(c, K "metrics.reporter.prom.port", 9999, &o->metrics_port, err)) ||
        (rc = dur(c, K "termination.timeout", 10000, &o->termination_timeout_ms, err)))
        goto out;
    if (par == 0 || par < -1 || par > 10000) {
        rc = weir_error_set(err, WEIR_ERANGE,
                            "%s: key '%s': reconcile parallelism must be -1 or 1..10000",
                            config_origin(c, pick(c, parallelism)), pick(c, parallelism));
        goto out;
    }
    o->reconcile_parallelism = (int)par;
    if (o->retry_multiplier < 1.0) {
        rc = weir_error_set(err, WEIR_ERANGE, "key '" K "retry.interval.multiplier' must be >= 1");
        goto out;
    }
    if (o->renew_deadline_ms >= o->lease_duration_ms ||
        o->retry_period_ms >= o->renew_deadline_ms) {
        rc = weir_error_set(err, WEIR_EINVAL,
                            "leader election needs retry-period < renew-deadline < "
                            "lease-duration");
        goto out;
    }
    const char *wns = getenv("WATCH_NAMESPACES");
    if ((rc = split_namespaces(o, wns && *wns ? wns : config_get(c, K "watched.namespaces"), err)))
        goto out;
    o->label_selector = dup_or_null(config_get(c, K "label.selector"));
    o->lease_name = dup_or_null(config_get(c, K "leader-election.lease-name"));
    if (o->leader_election && !o->lease_name) {
        rc = weir_error_set(err, WEIR_EINVAL,
                            "key '" K "leader-election.lease-name' is required when leader "
                            "election is enabled");
        goto out;
    }
    const char *pns = getenv("POD_NAMESPACE");
    o->lease_namespace = strdup(pns && *pns ? pns : "default");
    o->bind_address = dup_or_null(config_get(c, K "http.bind-address"));
    char host[128] = "weir-operator";
    const char *pod = getenv("POD_NAME");
    if (pod && *pod)
        snprintf(host, sizeof(host), "%s", pod);
    else
        (void)gethostname(host, sizeof(host) - 1);
    char id[192];
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    snprintf(id, sizeof(id), "%s_%08x", host, (unsigned)rand());
    o->identity = strdup(id);

    /* the default Flink configuration: every key outside kubernetes.operator.* */
    o->flink_defaults = config_new();
    if (!o->lease_namespace || !o->identity || !o->flink_defaults) {
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        goto out;
    }
    const char **keys = config_keys(c);
    if (!keys) {
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        goto out;
    }
    for (const char **k = keys; *k && !rc; k++)
        if (strncmp(*k, K, strlen(K)) != 0)
            rc = config_set(o->flink_defaults, *k, config_get(c, *k), config_origin(c, *k));
    free(keys);
    if (rc) {
        rc = weir_error_set(err, rc, "out of memory");
        goto out;
    }
    o->all = c;
    c = NULL;
out:
    config_free(c);
    if (rc)
        opconfig_clear(o);
    return rc;
}

void opconfig_clear(opconfig *o)
{
    for (int i = 0; i < o->n_namespaces; i++)
        free(o->watched_namespaces[i]);
    free(o->label_selector);
    free(o->lease_name);
    free(o->lease_namespace);
    free(o->bind_address);
    free(o->identity);
    config_free(o->flink_defaults);
    config_free(o->all);
    memset(o, 0, sizeof(*o));
}

bool opconfig_watches(const opconfig *o, const char *ns)
{
    if (o->n_namespaces == 0)
        return true;
    for (int i = 0; i < o->n_namespaces; i++)
        if (strcmp(o->watched_namespaces[i], ns) == 0)
            return true;
    return false;
}

/* "v1_20" -> 1, 20; false when it is not of that form. `plus` is set for "v1_19+". */
static bool parse_version(const char *v, size_t len, int *major, int *minor, bool *plus)
{
    *plus = len > 0 && v[len - 1] == '+';
    if (*plus)
        len--;
    if (len < 4 || v[0] != 'v')
        return false;
    char buf[32];
    if (len >= sizeof(buf))
        return false;
    memcpy(buf, v + 1, len - 1);
    buf[len - 1] = '\0';
    char *us = strchr(buf, '_'), *end;
    if (!us)
        return false;
    *us = '\0';
    *major = (int)strtol(buf, &end, 10);
    if (*end || end == buf)
        return false;
    *minor = (int)strtol(us + 1, &end, 10);
    return !*end && end != us + 1;
}

static bool version_covers(const char *key_v, size_t len, const char *spec_v)
{
    int km, kn, sm, sn;
    bool kplus, splus;
    if (!spec_v || !parse_version(key_v, len, &km, &kn, &kplus) ||
        !parse_version(spec_v, strlen(spec_v), &sm, &sn, &splus))
        return false;
    if (kplus)
        return sm > km || (sm == km && sn >= kn);
    return sm == km && sn == kn;
}

config *opconfig_defaults_for(const opconfig *c, const char *ns, const char *flink_version)
{
    static const char NSP[] = "kubernetes.operator.default-configuration.namespace.";
    static const char VP[] = "kubernetes.operator.default-configuration.flink-version.";
    config *out = config_clone(c->flink_defaults);
    if (!out || !c->all)
        return out;
    const char **keys = config_keys(c->all);
    if (!keys) {
        config_free(out);
        return NULL;
    }
    int rc = 0;
    /* two passes: namespace first, then version, so the version wins */
    for (int pass = 0; pass < 2 && !rc; pass++) {
        const char *prefix = pass ? VP : NSP;
        size_t pl = strlen(prefix);
        for (const char **k = keys; *k && !rc; k++) {
            if (strncmp(*k, prefix, pl) != 0)
                continue;
            const char *sel = *k + pl, *dot = strchr(sel, '.');
            if (!dot || !dot[1])
                continue;
            size_t sl = (size_t)(dot - sel);
            bool match = pass ? version_covers(sel, sl, flink_version)
                              : (ns && strlen(ns) == sl && strncmp(sel, ns, sl) == 0);
            if (match)
                rc = config_set(out, dot + 1, config_get(c->all, *k), config_origin(c->all, *k));
        }
    }
    free(keys);
    if (rc) {
        config_free(out);
        return NULL;
    }
    return out;
}
