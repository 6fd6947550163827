/*
 * leaderelection.c - Lease-based leader election (see leaderelection.h).
 *
 * State: the last Lease record we observed (holder, renewTime string, transitions) and the
 * monotonic time at which it last changed; whether we lead and when we last renewed. The
 * election thread runs rounds every retry period (with jitter while not leading).
 *
 * Layer: operator/kube. Depends on lib/log, lib/error, jansson.
 */
#include "operator/kube/leaderelection.h"

#include "lib/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct leader_elector {
    struct leader_lease_ops ops;
    struct leader_options o;
    char *identity, *lease_name, *namespace; /* owned copies */

    pthread_mutex_t mu;
    char observed_holder[256];
    char observed_renew[64];
    long long observed_mono; /* when the observed record last changed */
    bool observed_valid;

    atomic_bool leading;
    atomic_llong last_renew_mono;

    pthread_t thread;
    bool started;
    atomic_bool stop;
};

static long long default_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long default_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void leader_format_microtime(long long wall_ms, char *buf, size_t cap)
{
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char date[32];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%06dZ", date, (int)(wall_ms % 1000) * 1000);
}

leader_elector *leader_new(const struct leader_lease_ops *ops, const struct leader_options *o)
{
    if (!o->identity || !o->lease_name || !o->namespace || !o->identity[0])
        return NULL;
    struct leader_options opts = *o;
    if (opts.lease_duration_ms <= 0)
        opts.lease_duration_ms = 15000;
    if (opts.renew_deadline_ms <= 0)
        opts.renew_deadline_ms = 10000;
    if (opts.retry_period_ms <= 0)
        opts.retry_period_ms = 2000;
    if (opts.renew_deadline_ms >= opts.lease_duration_ms ||
        opts.retry_period_ms >= opts.renew_deadline_ms)
        return NULL;
    if (opts.mono_ms == NULL)
        opts.mono_ms = default_mono;
    if (opts.wall_ms == NULL)
        opts.wall_ms = default_wall;
    leader_elector *le = calloc(1, sizeof(*le));
    if (le == NULL)
        return NULL;
    le->identity = strdup(o->identity);
    le->lease_name = strdup(o->lease_name);
    le->namespace = strdup(o->namespace);
    if (!le->identity || !le->lease_name || !le->namespace) {
        free(le->identity);
        free(le->lease_name);
        free(le->namespace);
        free(le);
        return NULL;
    }
    opts.identity = le->identity;
    opts.lease_name = le->lease_name;
    opts.namespace = le->namespace;
    le->ops = *ops;
    le->o = opts;
    pthread_mutex_init(&le->mu, NULL);
    atomic_init(&le->leading, false);
    atomic_init(&le->last_renew_mono, 0);
    atomic_init(&le->stop, false);
    return le;
}

bool leader_is_leader(leader_elector *le)
{
    if (!atomic_load(&le->leading))
        return false;
    return le->o.mono_ms() - atomic_load(&le->last_renew_mono) < le->o.renew_deadline_ms;
}

void leader_observed_holder(leader_elector *le, char *buf, size_t cap)
{
    pthread_mutex_lock(&le->mu);
    snprintf(buf, cap, "%s", le->observed_holder);
    pthread_mutex_unlock(&le->mu);
}

static const char *spec_str(const json_t *lease, const char *key)
{
    const char *s = json_string_value(json_object_get(json_object_get(lease, "spec"), key));
    return s ? s : "";
}

/* Records what we saw; the observed time moves only when the record changed. */
static void observe(leader_elector *le, const char *holder, const char *renew)
{
    pthread_mutex_lock(&le->mu);
    if (!le->observed_valid || strcmp(holder, le->observed_holder) != 0 ||
        strcmp(renew, le->observed_renew) != 0) {
        snprintf(le->observed_holder, sizeof(le->observed_holder), "%s", holder);
        snprintf(le->observed_renew, sizeof(le->observed_renew), "%s", renew);
        le->observed_mono = le->o.mono_ms();
        le->observed_valid = true;
    }
    pthread_mutex_unlock(&le->mu);
}

static json_t *new_lease_spec(leader_elector *le, const char *acquire_time, long transitions,
                              long duration_s)
{
    char now[64];
    leader_format_microtime(le->o.wall_ms(), now, sizeof(now));
    return json_pack("{s:s, s:I, s:s, s:s, s:I}", "holderIdentity", le->identity,
                     "leaseDurationSeconds", (json_int_t)duration_s, "acquireTime",
                     acquire_time ? acquire_time : now, "renewTime", now, "leaseTransitions",
                     (json_int_t)transitions);
}

static void mark_renewed(leader_elector *le)
{
    atomic_store(&le->last_renew_mono, le->o.mono_ms());
    atomic_store(&le->leading, true);
}

int leader_try_acquire_or_renew(leader_elector *le, weir_error *err)
{
    long duration_s = (le->o.lease_duration_ms + 999) / 1000;
    json_t *lease = NULL;
    int rc = le->ops.get(le->ops.ctx, &lease, err);
    if (rc == WEIR_ENOTFOUND) {
        json_t *spec = new_lease_spec(le, NULL, 0, duration_s);
        json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion",
                                "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name",
                                le->lease_name, "namespace", le->namespace, "spec", spec);
        if (obj == NULL)
            return WEIR_ENOMEM;
        rc = le->ops.create(le->ops.ctx, obj, err);
        if (rc == 0) {
            observe(le, le->identity, spec_str(obj, "renewTime"));
            mark_renewed(le);
        }
        json_decref(obj);
        return rc;
    }
    if (rc != 0)
        return rc;

    const char *holder = spec_str(lease, "holderIdentity");
    const char *renew = spec_str(lease, "renewTime");
    observe(le, holder, renew);
    bool ours = strcmp(holder, le->identity) == 0;
    if (!ours && holder[0] != '\0') {
        json_int_t dur_s = json_integer_value(
            json_object_get(json_object_get(lease, "spec"), "leaseDurationSeconds"));
        long long dur_ms = dur_s > 0 ? (long long)dur_s * 1000 : le->o.lease_duration_ms;
        pthread_mutex_lock(&le->mu);
        bool valid = le->observed_mono + dur_ms > le->o.mono_ms();
        pthread_mutex_unlock(&le->mu);
        if (valid) {
            json_decref(lease);
            return WEIR_ESTATE;
        }
    }
    json_int_t transitions =
        json_integer_value(json_object_get(json_object_get(lease, "spec"), "leaseTransitions"));
    const char *acquire = ours ? spec_str(lease, "acquireTime") : NULL;
    json_t *spec = new_lease_spec(le, acquire && acquire[0] ? acquire : NULL,
                                  (long)(ours ? transitions : transitions + 1), duration_s);
    bool had_holder = holder[0] != '\0'; /* `holder` points into the spec replaced next */
    json_object_set_new(lease, "spec", spec);
    rc = le->ops.update(le->ops.ctx, lease, err);
    if (rc == 0) {
        observe(le, le->identity, spec_str(lease, "renewTime"));
        mark_renewed(le);
        if (!ours)
            log_info("acquired leader lease", "lease", le->lease_name, "identity", le->identity,
                     "previous", had_holder ? "expired holder" : "none");
    }
    json_decref(lease);
    return rc;
}

static void lose(leader_elector *le, const char *why)
{
    if (!atomic_exchange(&le->leading, false))
        return;
    log_warn("lost leader lease", "lease", le->lease_name, "identity", le->identity, "reason", why);
    if (le->o.on_stopped_leading)
        le->o.on_stopped_leading(le->o.arg);
}

static void sleep_ms_unless_stopped(leader_elector *le, long ms)
{
    long long until = default_mono() + ms;
    while (!atomic_load(&le->stop) && default_mono() < until) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void *run(void *arg)
{
    leader_elector *le = arg;
    unsigned seed = (unsigned)default_mono();
    while (!atomic_load(&le->stop)) {
        bool was_leading = atomic_load(&le->leading);
        weir_error err;
        weir_error_clear(&err);
        int rc = leader_try_acquire_or_renew(le, &err);
        if (atomic_load(&le->stop))
            break;
        if (rc == 0 && !was_leading) {
            log_info("started leading", "lease", le->lease_name, "identity", le->identity);
            if (le->o.on_started_leading)
                le->o.on_started_leading(le->o.arg);
        } else if (rc != 0 && was_leading) {
            if (rc == WEIR_ESTATE)
                lose(le, "another replica holds the lease");
            else if (!leader_is_leader(le))
                lose(le, err.msg[0] ? err.msg : weir_strerror(rc));
        }
        long wait = le->o.retry_period_ms;
        if (!atomic_load(&le->leading)) /* jitter candidates: 1.0-1.2x */
            wait += (long)(rand_r(&seed) % (unsigned)(wait / 5 + 1));
        sleep_ms_unless_stopped(le, wait);
        /* Renewals failing for longer than the deadline: give up even without an answer. */
        if (atomic_load(&le->leading) && !leader_is_leader(le))
            lose(le, "renew deadline exceeded");
    }
    return NULL;
}

int leader_start(leader_elector *le)
{
    if (le->started)
        return WEIR_ESTATE;
    atomic_store(&le->stop, false);
    if (pthread_create(&le->thread, NULL, run, le) != 0)
        return WEIR_ENOMEM;
    le->started = true;
    return 0;
}

static void release(leader_elector *le)
{
    json_t *lease = NULL;
    weir_error err;
    weir_error_clear(&err);
    if (le->ops.get(le->ops.ctx, &lease, &err) != 0)
        return;
    if (strcmp(spec_str(lease, "holderIdentity"), le->identity) == 0) {
        json_t *spec = json_object_get(lease, "spec");
        json_object_set_new(spec, "holderIdentity", json_string(""));
        json_object_set_new(spec, "leaseDurationSeconds", json_integer(1));
        if (le->ops.update(le->ops.ctx, lease, &err) == 0)
            log_info("released leader lease", "lease", le->lease_name, "identity", le->identity);
        else
            log_warn("could not release leader lease", "lease", le->lease_name, "error", err.msg);
    }
    json_decref(lease);
}

void leader_stop(leader_elector *le, bool do_release)
{
    if (le->started) {
        atomic_store(&le->stop, true);
        pthread_join(le->thread, NULL);
        le->started = false;
    }
    if (atomic_load(&le->leading)) {
        atomic_store(&le->leading, false); /* stop writing before giving the lease away */
        if (do_release)
            release(le);
        if (le->o.on_stopped_leading)
            le->o.on_stopped_leading(le->o.arg);
    }
}

void leader_free(leader_elector *le)
{
    if (le == NULL)
        return;
    leader_stop(le, false);
    pthread_mutex_destroy(&le->mu);
    free(le->identity);
    free(le->lease_name);
    free(le->namespace);
    free(le);
}
