/*
 * jm.h - the JobManager's state, shared by its modules (private to runtime/jobmanager/):
 * jobmanager.c (TaskManager registry, dispatcher, scheduler, checkpoint coordination, restarts,
 * the control endpoints) and rest.c (Flink's REST API over that state).
 *
 * Concurrency: one mutex (jm->mu) guards everything below; the scheduler thread and every
 * HTTP handler take it. Nothing blocking (file I/O of a snapshot's metadata aside) runs under
 * it.
 *
 * Layer: runtime/jobmanager.
 */
#ifndef WEIR_RT_JM_H
#define WEIR_RT_JM_H

#include "lib/config.h"
#include "lib/http_server.h"
#include "runtime/engine/coord.h"
#include "runtime/engine/graph.h"
#include "runtime/engine/job.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define JM_MAX_TMS      256
#define JM_MAX_TRIGGERS 256

/* Flink's JobStatus values, in its order. */
typedef enum jm_state {
    JS_INITIALIZING,
    JS_CREATED,
    JS_RUNNING,
    JS_FAILING,
    JS_FAILED,
    JS_CANCELLING,
    JS_CANCELED,
    JS_FINISHED,
    JS_RESTARTING,
    JS_SUSPENDED,
    JS_RECONCILING,
    JS_COUNT
} jm_state;

extern const char *const jm_state_names[JS_COUNT];
bool jm_state_terminal(jm_state s);

typedef struct jm_tm {
    char id[128];
    char host[256];
    int data_port, slots, pid;
    int64_t registered_ms, last_heartbeat_ms; /* epoch ms */
    int64_t last_seen_mono;
    bool lost;
    json_t *cmds;   /* pending commands (array) */
    json_t *report; /* the last heartbeat's body */
} jm_tm;

typedef enum jm_trigger_kind { JT_SAVEPOINT, JT_STOP, JT_CHECKPOINT, JT_DISPOSAL } jm_trigger_kind;

typedef struct jm_trigger {
    char id[33];
    char job_id[33];
    jm_trigger_kind kind;
    bool queued; /* waiting for the coordinator */
    bool done;   /* COMPLETED (with location or failure) */
    bool failed;
    bool drain;
    bool cancel_job; /* a savepoint with cancel-job: the job ends CANCELED */
    uint64_t checkpoint_id;
    char target[PATH_MAX];
    char location[PATH_MAX];
    char failure[512];
    int64_t created_ms;
} jm_trigger;

typedef enum jm_dstate { JD_NONE, JD_RUNNING, JD_FINISHED, JD_FAILED, JD_CANCELED } jm_dstate;

typedef struct jm_job {
    char id[33];
    char name[256];
    jm_state state;
    int64_t ts[JS_COUNT]; /* when each state was entered (epoch ms), 0: never */
    int64_t start_ms, end_ms;
    config *conf; /* the job's configuration (owned) */
    rt_job_options o;
    rt_plan *plan;
    json_t *plan_doc; /* what TaskManagers load */
    uint32_t default_par;
    int64_t idle_ms;
    rt_graph g;
    rt_coord *coord;
    /* attempts */
    uint32_t attempt;
    int *slot_tm;        /* [g.max_slots] TaskManager index per slot for this attempt */
    jm_dstate *tm_state; /* [JM_MAX_TMS] what each TaskManager reported for this attempt */
    char restore[PATH_MAX];
    int restarts;
    int64_t restart_at, delay_ms, waiting_since;
    bool source_finished, stopped_with_savepoint, cancel_after_stop;
    /* snapshots */
    char pend_trigger[33]; /* trigger of the pending snapshot ("" for periodic) */
    int64_t last_cp_trigger, last_cp_done;
    int cp_failures;
    uint64_t restored_checkpoint;
    /* exceptions (newest last) */
    json_t *exceptions;
    char root_cause[1024];
    int64_t root_cause_ts;
} jm_job;

typedef struct jm_jar {
    char id[160];
    char name[128];
    char path[PATH_MAX];
    int64_t uploaded;
} jm_jar;

typedef struct jm {
    pthread_mutex_t mu;
    pthread_cond_t cmd_cond; /* commands queued for TaskManagers */
    config *c;
    jm_tm tms[JM_MAX_TMS];
    int ntms;
    jm_job **jobs;
    size_t njobs;
    jm_trigger triggers[JM_MAX_TRIGGERS]; /* ring of recent triggers */
    size_t ntrig, trig_pos;
    jm_jar *jars;
    size_t njars;
    char upload_dir[PATH_MAX];
    int64_t heartbeat_timeout_ms;
    int64_t slot_timeout_ms;
    int64_t started_ms;
    bool application; /* standalone-job: one job, the cluster ends with it */
    bool shutdown_on_finish;
    volatile int shutdown; /* DELETE /cluster or signal */
    http_server *rest, *rpc, *metrics;
} jm;

/* jobmanager.c */
jm_job *jm_find_job(jm *j, const char *id);
/* Submits a compiled plan as a new job (the dispatcher). `conf` is taken. */
int jm_submit(jm *j, const char *job_id, json_t *plan_doc, config *conf, const char *restore,
              bool allow_non_restored, uint32_t parallelism, jm_job **out, weir_error *err);

int jm_cancel(jm *j, jm_job *job, weir_error *err);
/* Starts a savepoint / stop-with-savepoint / checkpoint; returns the trigger. */
jm_trigger *jm_trigger_snapshot(jm *j, jm_job *job, jm_trigger_kind kind, const char *target,
                                bool drain, const char *trigger_id, int *status, weir_error *err);
jm_trigger *jm_find_trigger(jm *j, const char *id);
jm_trigger *jm_new_trigger(jm *j, const char *id);
int jm_free_slots(jm *j, int *total);
/* Slots in use per TaskManager index, over every job's current placement. */
void jm_slots_used(const jm *j, int used[JM_MAX_TMS]);

/* rest.c */
int jm_rest_routes(jm *j, http_server *s, weir_error *err);
int jm_metrics_routes(jm *j, http_server *s, weir_error *err);

#endif
