/*
 * job.h - running a job plan in this process (Flink's MiniCluster): every operator subtask a
 * thread, chains of forward-connected operators in one thread, bounded channels between
 * chains, a checkpoint coordinator, savepoints, restore and restart strategies.
 *
 * Layer: runtime/engine top. Depends on the plan, operators, state and checkpoint storage.
 */
#ifndef WEIR_RT_JOB_H
#define WEIR_RT_JOB_H

#include "lib/error.h"
#include "runtime/plan/plan.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum rt_restart_kind {
    RT_RESTART_NONE,
    RT_RESTART_FIXED_DELAY,
    RT_RESTART_EXPONENTIAL_DELAY
} rt_restart_kind;

typedef struct rt_job_options {
    char job_id[33];                /* 32 hex digits; empty: random */
    const char *state_backend;      /* "hashmap" (default) or "rocksdb" */
    const char *local_dir;          /* working directory for rocksdb (default /tmp/weir-<job>) */
    size_t state_cache_bytes;       /* rocksdb write-back cache per subtask (0: backend default) */
    const char *checkpoint_dir;     /* state.checkpoints.dir (file:// or a path); NULL: none */
    int64_t checkpoint_interval_ms; /* 0: periodic checkpoints off */
    int64_t checkpoint_timeout_ms;
    int64_t checkpoint_min_pause_ms;
    int tolerable_failures;
    int num_retained;
    const char *savepoint_dir; /* state.savepoints.dir: default target of savepoints */
    const char *restore_path;  /* execution.savepoint.path */
    bool ignore_unclaimed;     /* execution.savepoint.ignore-unclaimed-state */
    bool stop_drain;           /* stop-with-savepoint sends the final watermark first */
    rt_restart_kind restart;
    int restart_attempts;
    int64_t restart_delay_ms, restart_max_delay_ms;
    double restart_multiplier;
} rt_job_options;

/* Fills the defaults (Flink's where they exist). */
void rt_job_options_init(rt_job_options *o);

/* Requests from outside (signal handlers set them; the job clears them when acted upon). */
typedef struct rt_job_control {
    volatile sig_atomic_t cancel;         /* cancel the job */
    volatile sig_atomic_t savepoint;      /* trigger a savepoint, keep running */
    volatile sig_atomic_t stop_savepoint; /* stop with a savepoint (no drain) */
} rt_job_control;

typedef enum rt_job_result {
    RT_JOB_FINISHED,
    RT_JOB_CANCELED,
    RT_JOB_STOPPED, /* stopped with a savepoint */
    RT_JOB_FAILED
} rt_job_result;

/*
 * Runs the plan until it finishes, fails (after the restart strategy gave up), is cancelled
 * or stopped with a savepoint. Progress is logged (checkpoints and savepoints with their
 * paths). Returns the result; *err describes a failure.
 */
rt_job_result rt_job_run(const rt_plan *plan, const rt_job_options *o, rt_job_control *ctl,
                         weir_error *err);

#endif
