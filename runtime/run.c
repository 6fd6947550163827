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

#include "lib/clock.h"
#include "lib/config.h"
#include "lib/log.h"
#include "runtime/engine/job.h"
#include "runtime/jobconf.h"
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

int rt_run_main(int argc, char **argv)
{
    config *c = config_new();
    weir_error err = {0};
    rt_plan *plan = NULL;
    json_t *sqlplan = NULL;
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
    /* A SQL script compiles to a plan; its SET statements configure the job. Precedence, low
     * to high: the configuration file, FLINK_PROPERTIES, the script's SET, then -D. */
    config *settings = config_new();
    bool explain = false;
    size_t pl = strlen(planfile);
    int rc = settings ? 0 : weir_error_set(&err, WEIR_ENOMEM, "out of memory");
    bool is_sql = pl > 4 && strcasecmp(planfile + pl - 4, ".sql") == 0;
    if (!rc && is_sql) {
        /* The planner reads its keys (SQL_PLANNER_KEYS) from the whole configuration. */
        static const char *const planner_keys[] = {SQL_PLANNER_KEYS, NULL};
        config *full = NULL;
        if ((rc = rt_jobconf_load(c, conf, &full, &err))) {
            fprintf(stderr, "weir run: configuration: %s\n", err.msg);
            config_free(settings);
            goto out;
        }
        for (const char *const *k = planner_keys; *k && !rc; k++) {
            const char *v = config_get_string(full, *k, NULL);
            if (v && config_set(settings, *k, v, "configuration"))
                rc = weir_error_set(&err, WEIR_ENOMEM, "out of memory");
        }
        config_free(full);
    }
    if (!rc && is_sql && (rc = rt_jobconf_compile(planfile, &sqlplan, settings, &explain, &err))) {
        fprintf(stderr, "weir run: %s\n", err.msg);
        config_free(settings);
        goto out;
    }
    if (!rc && config_merge(settings, c))
        rc = weir_error_set(&err, WEIR_ENOMEM, "out of memory");
    config_free(c);
    c = NULL;
    if (!rc)
        rc = rt_jobconf_load(settings, conf, &c, &err);
    config_free(settings);
    if (rc) {
        fprintf(stderr, "weir run: configuration: %s\n", err.msg);
        goto out;
    }
    rt_job_options o;
    uint32_t par = 1;
    if ((rc = rt_jobconf_options(c, &o, &par, &err))) {
        fprintf(stderr, "weir run: configuration: %s\n", err.msg);
        goto out;
    }
    if (sqlplan) {
        char *txt = json_dumps(sqlplan, JSON_INDENT(2));
        if (explain) {
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
    rt_plan_default_idle_timeout(plan, idle_ms);
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
    rt_plan_free(plan);
    config_free(c);
    return code;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* `weir sql --time`: the script checked (parse, bind, plan, push-down, plan load) 101 times in
 * this process; prints the median and the fastest in microseconds (bench/sql). */
static int sql_time(const char *path)
{
    enum { RUNS = 101 };
    uint64_t ns[RUNS];
    char *text = NULL;
    size_t len = 0;
    weir_error err = {0};
    if (sql_read_file(path, &text, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (int i = 0; i < RUNS; i++) {
        json_t *plan = NULL, *notes = NULL;
        uint64_t t0 = clock_mono_ns();
        int rc = sql_check(text, len, path, &plan, &notes, &err);
        ns[i] = clock_mono_ns() - t0;
        json_decref(plan);
        json_decref(notes);
        if (rc) {
            fprintf(stderr, "%s\n", err.msg);
            free(text);
            return 1;
        }
    }
    free(text);
    qsort(ns, RUNS, sizeof(ns[0]), cmp_u64);
    printf("{\"file\": \"%s\", \"median_us\": %.1f, \"min_us\": %.1f}\n", path,
           (double)ns[RUNS / 2] / 1000.0, (double)ns[0] / 1000.0);
    return 0;
}

int rt_sql_main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (argc != 3 ||
        (strcmp(mode, "--check") && strcmp(mode, "--plan") && strcmp(mode, "--time"))) {
        fprintf(stderr, "Usage: weir sql --check JOB.sql    validate a script (exit 0 or errors)\n"
                        "       weir sql --plan JOB.sql     print the job plan it compiles to\n"
                        "       weir sql --time JOB.sql     how long checking it takes (median "
                        "of 101, in-process)\n");
        return 2;
    }
    if (!strcmp(mode, "--time"))
        return sql_time(argv[2]);
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
