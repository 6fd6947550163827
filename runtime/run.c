/*
 * run.c - `weir run [--config FILE|DIR] [-Dkey=value ...] PLAN.json`: loads the configuration
 * (Flink's keys), the plan, and runs the job until it finishes.
 *
 * Signals: SIGINT/SIGTERM cancel the job; SIGUSR1 triggers a savepoint into
 * state.savepoints.dir and keeps running; SIGUSR2 stops the job with a savepoint.
 * Exit codes: 0 finished or stopped with a savepoint, 1 failed, 2 usage or configuration
 * error, 130 cancelled.
 *
 * Layer: runtime/ top.
 */
#include "runtime/run.h"

#include "lib/config.h"
#include "lib/log.h"
#include "runtime/engine/job.h"
#include "runtime/sql/sql.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static rt_job_control control;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        control.savepoint = 1;
    else if (sig == SIGUSR2)
        control.stop_savepoint = 1;
    else
        control.cancel = 1;
}

static void usage(void)
{
    fprintf(stderr, "Usage: weir run [--config FILE|DIR] [--log-level LEVEL] [-Dkey=value ...] "
                    "PLAN.json|JOB.sql\n"
                    "\n"
                    "Runs a job plan in this process. Signals: SIGUSR1 takes a savepoint,\n"
                    "SIGUSR2 stops with a savepoint, SIGINT/SIGTERM cancel.\n");
}

/* The first key of `keys` that is set (Flink's deprecated names as fallbacks). */
static const char *first_set(const config *c, const char *const *keys)
{
    for (; *keys; keys++)
        if (config_has(c, *keys))
            return *keys;
    return keys[-1];
}

#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

static int load_options(const config *c, rt_job_options *o, uint32_t *par, weir_error *err)
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

int rt_run_main(int argc, char **argv)
{
    config *c = config_new();
    weir_error err = {0};
    rt_plan *plan = NULL;
    json_t *sqlplan = NULL, *settings = NULL;
    int code = 2;
    if (!c)
        return 1;
    if (config_parse_args(c, &argc, argv, &err)) {
        fprintf(stderr, "weir run: %s\n", err.msg);
        goto out;
    }
    const char *conf = NULL, *planfile = NULL;
    for (int i = 1; i < argc; i++) {
        if (!argv[i])
            continue;
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            conf = argv[++i];
        else if (!strcmp(argv[i], "--log-level") && i + 1 < argc) {
            enum log_level lv;
            if (log_parse_level(argv[++i], &lv)) {
                fprintf(stderr, "weir run: --log-level: unknown level '%s'\n", argv[i]);
                goto out;
            }
            log_set_level(lv);
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            code = 0;
            goto out;
        } else if (!planfile)
            planfile = argv[i];
        else {
            usage();
            goto out;
        }
    }
    if (!planfile) {
        usage();
        goto out;
    }
    /* A SQL script compiles to a plan; its SET statements configure the job. */
    size_t pl = strlen(planfile);
    if (pl > 4 && strcasecmp(planfile + pl - 4, ".sql") == 0) {
        if (sql_compile_file(planfile, &sqlplan, &settings, &err)) {
            fprintf(stderr, "weir run: %s\n", err.msg);
            goto out;
        }
    }
    /* File first, then FLINK_PROPERTIES, then the script's SET, then -D (already in c). */
    config *base = config_new();
    if (!base)
        goto out;
    int rc = 0;
    if (conf) {
        struct stat st;
        rc = stat(conf, &st) == 0 && S_ISDIR(st.st_mode) ? config_load_dir(base, conf, &err)
                                                         : config_load_file(base, conf, &err);
    }
    const char *props = getenv("FLINK_PROPERTIES");
    if (!rc && props)
        rc = config_load_properties(base, props, &err);
    if (!rc && settings) {
        const char *k;
        json_t *v;
        json_object_foreach(settings, k, v)
        {
            if (!rc && strncmp(k, "weir.explain", 12) != 0)
                rc = config_set(base, k, json_string_value(v), "SET");
        }
    }
    if (!rc)
        rc = config_merge(base, c);
    config_free(c);
    c = base;
    if (rc) {
        fprintf(stderr, "weir run: configuration: %s\n", err.msg);
        goto out;
    }
    rt_job_options o;
    uint32_t par = 1;
    if ((rc = load_options(c, &o, &par, &err))) {
        fprintf(stderr, "weir run: configuration: %s\n", err.msg);
        goto out;
    }
    if (sqlplan) {
        char *txt = json_dumps(sqlplan, JSON_INDENT(2));
        if (json_is_true(json_object_get(settings, "weir.explain")) ||
            (json_string_value(json_object_get(settings, "weir.explain")) &&
             !strcmp(json_string_value(json_object_get(settings, "weir.explain")), "true"))) {
            /* EXPLAIN: print the plan instead of running it */
            printf("%s\n", txt ? txt : "");
            free(txt);
            code = 0;
            goto out;
        }
        rc = txt ? rt_plan_load(txt, strlen(txt), planfile, par, &plan, &err) : WEIR_ENOMEM;
        free(txt);
    } else
        rc = rt_plan_load_file(planfile, par, &plan, &err);
    if (rc) {
        fprintf(stderr, "weir run: %s: %s\n", planfile, err.msg);
        goto out;
    }
    /* Flink SQL's source idleness applies to every watermark assigner that has none of its own. */
    long long idle_ms;
    if ((rc = config_get_duration_ms(c, "table.exec.source.idle-timeout", 0, &idle_ms, &err))) {
        fprintf(stderr, "weir run: configuration: %s\n", err.msg);
        goto out;
    }
    for (uint32_t i = 0; i < plan->nops; i++)
        if (plan->ops[i].type == RT_OP_WATERMARK && plan->ops[i].idle_timeout_ms == 0)
            plan->ops[i].idle_timeout_ms = idle_ms;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    rt_job_result r = rt_job_run(plan, &o, &control, &err);
    switch (r) {
    case RT_JOB_FINISHED:
    case RT_JOB_STOPPED:
        code = 0;
        break;
    case RT_JOB_CANCELED:
        code = 130;
        break;
    default:
        fprintf(stderr, "weir run: job failed: %s\n", err.msg);
        code = 1;
        break;
    }
out:
    json_decref(sqlplan);
    json_decref(settings);
    rt_plan_free(plan);
    config_free(c);
    return code;
}

int rt_sql_main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (argc != 3 || (strcmp(mode, "--check") && strcmp(mode, "--plan"))) {
        fprintf(stderr, "Usage: weir sql --check JOB.sql    validate a script (exit 0 or errors)\n"
                        "       weir sql --plan JOB.sql     print the job plan it compiles to\n");
        return 2;
    }
    json_t *plan = NULL, *notes = NULL;
    weir_error err = {0};
    char *text = NULL;
    size_t len = 0;
    int rc = sql_read_file(argv[2], &text, &len, &err);
    if (!rc)
        rc = !strcmp(mode, "--check") ? sql_check(text, len, argv[2], &plan, &notes, &err)
                                      : sql_compile(text, len, argv[2], &plan, NULL, &err);
    free(text);
    if (rc) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    size_t i;
    json_t *n;
    json_array_foreach(notes, i, n) fprintf(stderr, "note: %s\n", json_string_value(n));
    json_decref(notes);
    if (!strcmp(mode, "--plan")) {
        char *txt = json_dumps(plan, JSON_INDENT(2));
        printf("%s\n", txt ? txt : "");
        free(txt);
    }
    json_decref(plan);
    return 0;
}
