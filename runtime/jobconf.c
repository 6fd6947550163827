/*
 * jobconf.c - job options from Flink's configuration keys, and the configuration every role
 * loads (see jobconf.h).
 *
 * Layer: runtime/ top.
 */
#include "runtime/jobconf.h"

#include "runtime/sql/sql.h"

#include <errno.h>
#include <strings.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The first key of `keys` that is set (Flink's deprecated names as fallbacks). */
static const char *first_set(const config *c, const char *const *keys)
{
    for (; *keys; keys++)
        if (config_has(c, *keys))
            return *keys;
    return keys[-1];
}

#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

int rt_jobconf_options(const config *c, rt_job_options *o, uint32_t *par, weir_error *err)
{
    int rc;
    long long v;
    rt_job_options_init(o);
    if ((rc = config_get_int_in(c, "parallelism.default", 1, 1, 1024, &v, err)))
        return rc;
    *par = (uint32_t)v;
    o->state_backend =
        config_get_string(c, first_set(c, KEYS("state.backend.type", "state.backend")), "hashmap");
    if (strcmp(o->state_backend, "hashmap") && strcmp(o->state_backend, "rocksdb") &&
        strcmp(o->state_backend, "filesystem") && strcmp(o->state_backend, "heap"))
        return weir_error_set(err, WEIR_EINVAL,
                              "state.backend.type: '%s' is not one of hashmap, rocksdb",
                              o->state_backend);
    o->checkpoint_dir = config_get_string(
        c, first_set(c, KEYS("execution.checkpointing.dir", "state.checkpoints.dir")), NULL);
    o->savepoint_dir = config_get_string(
        c, first_set(c, KEYS("execution.checkpointing.savepoint-dir", "state.savepoints.dir")),
        NULL);
    o->restore_path = config_get_string(c, "execution.savepoint.path", NULL);
    bool b;
    if ((rc = config_get_bool(c, "execution.savepoint.ignore-unclaimed-state", false, &b, err)))
        return rc;
    o->ignore_unclaimed = b;
    if ((rc = config_get_bool(c, "weir.stop-with-savepoint.drain", false, &b, err)))
        return rc;
    o->stop_drain = b;
    o->local_dir = config_get_string(
        c, first_set(c, KEYS("state.backend.rocksdb.localdir", "io.tmp.dirs")), NULL);
    long long ms;
    if ((rc = config_get_duration_ms(c, "execution.checkpointing.interval", 0, &ms, err)))
        return rc;
    o->checkpoint_interval_ms = ms;
    if ((rc = config_get_duration_ms(c, "execution.checkpointing.timeout", 600000, &ms, err)))
        return rc;
    o->checkpoint_timeout_ms = ms;
    if ((rc = config_get_duration_ms(c, "execution.checkpointing.min-pause", 0, &ms, err)))
        return rc;
    o->checkpoint_min_pause_ms = ms;
    if ((rc = config_get_int_in(c, "execution.checkpointing.tolerable-failed-checkpoints", 0, 0,
                                1000000, &v, err)))
        return rc;
    o->tolerable_failures = (int)v;
    if ((rc = config_get_int_in(c, "execution.checkpointing.max-concurrent-checkpoints", 1, 1, 1,
                                &v, err)))
        return weir_error_prefix(err, "(only 1 is supported)");
    if ((rc = config_get_int_in(c,
                                first_set(c, KEYS("execution.checkpointing.num-retained",
                                                  "state.checkpoints.num-retained")),
                                1, 1, 1000, &v, err)))
        return rc;
    o->num_retained = (int)v;
    unsigned long long bytes;
    if ((rc = config_get_memory_bytes(c, "state.backend.rocksdb.cache-size", 0, &bytes, err)))
        return rc;
    o->state_cache_bytes = (size_t)bytes;
    const char *rs =
        config_get_string(c, first_set(c, KEYS("restart-strategy.type", "restart-strategy")), NULL);
    if (!rs)
        rs = o->checkpoint_interval_ms > 0 ? "exponential-delay" : "none";
    if (!strcmp(rs, "none") || !strcmp(rs, "off") || !strcmp(rs, "disable"))
        o->restart = RT_RESTART_NONE;
    else if (!strcmp(rs, "fixed-delay") || !strcmp(rs, "fixeddelay")) {
        o->restart = RT_RESTART_FIXED_DELAY;
        if ((rc = config_get_int_in(c, "restart-strategy.fixed-delay.attempts", 1, 0, 1 << 30, &v,
                                    err)))
            return rc;
        o->restart_attempts = (int)v;
        if ((rc = config_get_duration_ms(c, "restart-strategy.fixed-delay.delay", 1000, &ms, err)))
            return rc;
        o->restart_delay_ms = ms;
    } else if (!strcmp(rs, "exponential-delay")) {
        o->restart = RT_RESTART_EXPONENTIAL_DELAY;
        if ((rc = config_get_duration_ms(c, "restart-strategy.exponential-delay.initial-backoff",
                                         1000, &ms, err)))
            return rc;
        o->restart_delay_ms = ms;
        if ((rc = config_get_duration_ms(c, "restart-strategy.exponential-delay.max-backoff", 60000,
                                         &ms, err)))
            return rc;
        o->restart_max_delay_ms = ms;
        double m;
        if ((rc = config_get_double(c, "restart-strategy.exponential-delay.backoff-multiplier", 2.0,
                                    &m, err)))
            return rc;
        o->restart_multiplier = m;
    } else
        return weir_error_set(err, WEIR_EINVAL,
                              "restart-strategy.type: '%s' is not one of none, fixed-delay, "
                              "exponential-delay",
                              rs);
    const char *id = config_get_string(c, "$internal.pipeline.job-id", NULL);
    if (id) {
        if (strlen(id) != 32 || strspn(id, "0123456789abcdef") != 32)
            return weir_error_set(err, WEIR_EINVAL,
                                  "$internal.pipeline.job-id: expected 32 lower-case hex digits");
        snprintf(o->job_id, sizeof(o->job_id), "%s", id);
    }
    return 0;
}

int rt_jobconf_load(config *dyn, const char *conf, config **out, weir_error *err)
{
    config *base = config_new();
    if (!base)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    int rc = 0;
    const char *dir = conf;
    if (!dir) {
        /* Flink's image: the operator mounts the configuration at $FLINK_CONF_DIR. */
        const char *env = getenv("FLINK_CONF_DIR");
        struct stat st;
        if (env && *env)
            dir = env;
        else if (stat("/opt/flink/conf", &st) == 0 && S_ISDIR(st.st_mode))
            dir = "/opt/flink/conf";
    }
    if (dir) {
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            rc = config_load_dir(base, dir, err);
        else if (conf)
            rc = config_load_file(base, dir, err);
    }
    const char *props = getenv("FLINK_PROPERTIES");
    if (!rc && props)
        rc = config_load_properties(base, props, err);
    if (!rc && dyn && config_merge(base, dyn))
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
    if (rc) {
        config_free(base);
        return rc;
    }
    *out = base;
    return 0;
}

int rt_jobconf_compile(const char *path, json_t **plan_doc, config *settings, bool *explain,
                       weir_error *err)
{
    if (explain)
        *explain = false;
    size_t pl = strlen(path);
    if (pl <= 4 || strcasecmp(path + pl - 4, ".sql") != 0) {
        json_error_t je;
        *plan_doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
        if (!*plan_doc)
            return weir_error_set(err, errno == ENOENT ? WEIR_ENOTFOUND : WEIR_EPARSE,
                                  "%s: %s (line %d)", path, je.text, je.line);
        return 0;
    }
    /* The planner's keys as configured so far (a script's SET wins over them). */
    static const char *const planner_keys[] = {SQL_PLANNER_KEYS, NULL};
    json_t *conf = json_object(), *set = NULL;
    if (!conf)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    for (const char *const *k = planner_keys; *k; k++) {
        const char *v = config_get_string(settings, *k, NULL);
        if (v)
            json_object_set_new(conf, *k, json_string(v));
    }
    int rc = sql_compile_file(path, conf, plan_doc, &set, err);
    json_decref(conf);
    if (rc)
        return rc;
    const char *k;
    json_t *v;
    json_object_foreach(set, k, v)
    {
        const char *val = json_is_true(v) ? "true" : json_string_value(v);
        if (strncmp(k, "weir.explain", 12) == 0) {
            if (explain && val && strcmp(val, "true") == 0)
                *explain = true;
        } else if (val && !rc && config_set(settings, k, val, "SET"))
            rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
    }
    json_decref(set);
    if (rc) {
        json_decref(*plan_doc);
        *plan_doc = NULL;
    }
    return rc;
}
