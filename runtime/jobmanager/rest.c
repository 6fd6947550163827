/*
 * rest.c - Flink's REST API on the JobManager (reference: Flink's rest_v1_dispatcher), with the
 * same paths (also under /v1), field names, types and status codes, and errors as
 * {"errors": [...]}. Handlers read and change the JobManager's state under jm->mu; none waits
 * for a job: snapshots and cancellation are asynchronous operations polled by trigger id.
 *
 * Layer: runtime/jobmanager.
 */
#include "lib/random.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "runtime/jobconf.h"
#include "runtime/jobmanager/jm.h"
#include "runtime/jobmanager/multipart.h"
#include "runtime/storage/storage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef WEIR_VERSION
#define WEIR_VERSION "dev"
#endif

static const char *flink_version(const jm *j)
{
    return config_get_string(j->c, "weir.rest.flink-version", "1.20.0");
}

/* Locations as Flink prints them: "file:/path". */
static json_t *location(const char *path)
{
    char buf[PATH_MAX + 8];
    snprintf(buf, sizeof(buf), "%s%s", path[0] == '/' ? "file:" : "", path);
    return json_string(buf);
}

static bool valid_id(const char *id)
{
    return id && strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32;
}

/* The job of the :jobid parameter; answers 400/404 itself when there is none (then NULL).
 * Called with jm->mu held. */
static jm_job *job_param(jm *j, const http_request *req, http_response *resp)
{
    const char *id = http_request_param(req, "jobid");
    if (!valid_id(id)) {
        http_response_error(resp, 400, "Bad request: job id '%s' is not 32 hex digits",
                            id ? id : "");
        return NULL;
    }
    jm_job *job = jm_find_job(j, id);
    if (!job)
        http_response_error(resp, 404, "Job %s not found", id);
    return job;
}

/* --- cluster ---------------------------------------------------------------------------- */

static void get_config(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    jm *j = ud;
    char rev[64];
    snprintf(rev, sizeof(rev), "weir-%s", WEIR_VERSION);
    http_response_json(
        resp, 200,
        json_pack("{s:i, s:s, s:i, s:s, s:s, s:{s:b, s:b, s:b, s:b}}", "refresh-interval", 3000,
                  "timezone-name", "Coordinated Universal Time", "timezone-offset", 0,
                  "flink-version", flink_version(j), "flink-revision", rev, "features",
                  "web-submit", 0, "web-cancel", 0, "web-rescale", 0, "web-history", 0));
}

static void count_jobs(jm *j, int *running, int *finished, int *cancelled, int *failed)
{
    *running = *finished = *cancelled = *failed = 0;
    for (size_t i = 0; i < j->njobs; i++) {
        jm_state s = j->jobs[i]->state;
        if (s == JS_FINISHED)
            (*finished)++;
        else if (s == JS_CANCELED)
            (*cancelled)++;
        else if (s == JS_FAILED)
            (*failed)++;
        else if (!jm_state_terminal(s))
            (*running)++;
    }
}

static int live_tms(jm *j)
{
    int n = 0;
    for (int t = 0; t < j->ntms; t++)
        n += !j->tms[t].lost;
    return n;
}

static void get_overview(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    jm *j = ud;
    char rev[64];
    snprintf(rev, sizeof(rev), "weir-%s", WEIR_VERSION);
    pthread_mutex_lock(&j->mu);
    int total, r, f, c, fl;
    int free_ = jm_free_slots(j, &total);
    count_jobs(j, &r, &f, &c, &fl);
    json_t *o = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:s}", "taskmanagers",
                          live_tms(j), "taskmanagers-blocked", 0, "slots-total", total,
                          "slots-available", free_, "slots-free-and-blocked", 0, "jobs-running", r,
                          "jobs-finished", f, "jobs-cancelled", c, "jobs-failed", fl,
                          "flink-version", flink_version(j), "flink-commit", rev);
    pthread_mutex_unlock(&j->mu);
    http_response_json(resp, 200, o);
}

static json_t *tm_json(jm *j, int t, int used)
{
    jm_tm *tm = &j->tms[t];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long long phys = (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
    long long rss = (long long)json_integer_value(json_object_get(tm->report, "maxRssKiB")) * 1024;
    char path[400];
    snprintf(path, sizeof(path), "weir://%s:%d", tm->host, tm->data_port);
    json_t *res = json_pack("{s:f, s:i, s:i, s:i, s:i, s:{}}", "cpuCores", (double)tm->slots,
                            "taskHeapMemory", 0, "taskOffHeapMemory", 0, "managedMemory", 0,
                            "networkMemory", 0, "extendedResources");
    json_t *freer = json_pack("{s:f, s:i, s:i, s:i, s:i, s:{}}", "cpuCores",
                              (double)(tm->slots - used), "taskHeapMemory", 0, "taskOffHeapMemory",
                              0, "managedMemory", 0, "networkMemory", 0, "extendedResources");
    return json_pack("{s:s, s:s, s:i, s:i, s:I, s:i, s:i, s:o, s:o, s:{s:i, s:I, s:I, s:i}, "
                     "s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:I}, s:b}",
                     "id", tm->id, "path", path, "dataPort", tm->data_port, "jmxPort", -1,
                     "timeSinceLastHeartbeat", (json_int_t)tm->last_heartbeat_ms, "slotsNumber",
                     tm->slots, "freeSlots", tm->slots - used, "totalResource", res, "freeResource",
                     freer, "hardware", "cpuCores", (int)cores, "physicalMemory", (json_int_t)phys,
                     "freeMemory", (json_int_t)(phys - rss), "managedMemory", 0,
                     "memoryConfiguration", "frameworkHeap", 0, "taskHeap", 0, "frameworkOffHeap",
                     0, "taskOffHeap", 0, "networkMemory", 0, "managedMemory", 0, "jvmMetaspace", 0,
                     "jvmOverhead", 0, "totalProcessMemory", (json_int_t)rss, "blocked", 0);
}

static void get_taskmanagers(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    jm *j = ud;
    pthread_mutex_lock(&j->mu);
    json_t *a = json_array();
    int used[JM_MAX_TMS];
    jm_slots_used(j, used);
    for (int t = 0; t < j->ntms; t++)
        if (!j->tms[t].lost)
            json_array_append_new(a, tm_json(j, t, used[t]));
    pthread_mutex_unlock(&j->mu);
    http_response_json(resp, 200, json_pack("{s:o}", "taskmanagers", a));
}

static int add_kv(const char *k, const char *v, const char *origin, void *ud)
{
    (void)origin;
    json_array_append_new(ud, json_pack("{s:s, s:s}", "key", k, "value", v));
    return 0;
}

static void get_jm_config(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    jm *j = ud;
    json_t *a = json_array();
    config_foreach(j->c, add_kv, a);
    http_response_json(resp, 200, a);
}

static void delete_cluster(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    jm *j = ud;
    pthread_mutex_lock(&j->mu);
    for (size_t i = 0; i < j->njobs; i++)
        if (!jm_state_terminal(j->jobs[i]->state)) {
            weir_error e;
            if (jm_cancel(j, j->jobs[i], &e)) {
            }
        }
    j->shutdown = 1;
    pthread_cond_broadcast(&j->cmd_cond);
    pthread_mutex_unlock(&j->mu);
    log_info("cluster shutdown requested (DELETE /cluster)", "by", "REST");
    http_response_json(resp, 200, json_object());
}

/* --- jobs ------------------------------------------------------------------------------- */

/* Subtask counts by Flink's ExecutionState names. */
static json_t *task_counts(jm *j, jm_job *job, int chain)
{
    static const char *const names[] = {"CREATED",     "SCHEDULED",   "DEPLOYING", "RUNNING",
                                        "FINISHED",    "CANCELING",   "CANCELED",  "FAILED",
                                        "RECONCILING", "INITIALIZING"};
    int counts[10] = {0};
    for (uint32_t c = 0; c < job->g.nchains; c++) {
        if (chain >= 0 && (uint32_t)chain != c)
            continue;
        int par = (int)job->g.chains[c].parallelism, running = 0, finished = 0;
        if (job->state == JS_RUNNING) {
            for (int t = 0; t < j->ntms; t++) {
                size_t i;
                json_t *d;
                json_array_foreach(json_object_get(j->tms[t].report, "deployments"), i, d)
                {
                    if (strcmp(json_string_value(json_object_get(d, "jobId")), job->id) ||
                        json_integer_value(json_object_get(d, "attempt")) !=
                            (json_int_t)job->attempt)
                        continue;
                    size_t k;
                    json_t *ch;
                    json_array_foreach(json_object_get(d, "chains"), k, ch)
                    {
                        if (json_integer_value(json_object_get(ch, "chain")) == (json_int_t)c) {
                            running += (int)json_integer_value(json_object_get(ch, "running"));
                            finished += (int)json_integer_value(json_object_get(ch, "finished"));
                        }
                    }
                }
            }
            counts[3] += running;
            counts[4] += finished;
            counts[2] += par - running - finished > 0 ? par - running - finished : 0;
        } else {
            int idx = job->state == JS_FINISHED     ? 4
                      : job->state == JS_CANCELED   ? 6
                      : job->state == JS_FAILED     ? 7
                      : job->state == JS_CANCELLING ? 5
                                                    : 0;
            counts[idx] += par;
        }
    }
    json_t *o = json_object();
    for (int i = 0; i < 10; i++) {
        char lower[32];
        size_t k = 0;
        for (const char *p = names[i]; *p && k + 1 < sizeof(lower); p++)
            lower[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        lower[k] = '\0';
        json_object_set_new(o, chain >= 0 ? names[i] : lower, json_integer(counts[i]));
    }
    if (chain == -1) { /* the jobs overview also counts all subtasks */
        int total = 0;
        for (int i = 0; i < 10; i++)
            total += counts[i];
        json_object_set_new(o, "total", json_integer(total));
    }
    return o;
}

/* Summed counters of a chain over the TaskManagers' last reports. */
static void chain_metrics(jm *j, jm_job *job, uint32_t c, json_int_t *in, json_int_t *out,
                          json_int_t *busy_ms, json_int_t *bp_ms)
{
    *in = *out = *busy_ms = *bp_ms = 0;
    for (int t = 0; t < j->ntms; t++) {
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(j->tms[t].report, "deployments"), i, d)
        {
            if (strcmp(json_string_value(json_object_get(d, "jobId")), job->id) ||
                json_integer_value(json_object_get(d, "attempt")) != (json_int_t)job->attempt)
                continue;
            size_t k;
            json_t *ch;
            json_array_foreach(json_object_get(d, "chains"), k, ch)
            {
                if (json_integer_value(json_object_get(ch, "chain")) != (json_int_t)c)
                    continue;
                *in += json_integer_value(json_object_get(ch, "rowsIn"));
                *out += json_integer_value(json_object_get(ch, "rowsOut"));
                *busy_ms += json_integer_value(json_object_get(ch, "busyNs")) / 1000000;
                *bp_ms += json_integer_value(json_object_get(ch, "backpressuredNs")) / 1000000;
            }
        }
    }
}

static json_int_t duration(const jm_job *job)
{
    return (json_int_t)((job->end_ms ? job->end_ms : clock_epoch_ms()) - job->start_ms);
}

static json_t *job_overview(jm *j, jm_job *job)
{
    int64_t lastmod = 0;
    for (int s = 0; s < JS_COUNT; s++)
        if (job->ts[s] > lastmod)
            lastmod = job->ts[s];
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:o}", "jid", job->id, "name", job->name,
                     "state", jm_state_names[job->state], "start-time", (json_int_t)job->start_ms,
                     "end-time", (json_int_t)(job->end_ms ? job->end_ms : -1), "duration",
                     duration(job), "last-modification", (json_int_t)lastmod, "tasks",
                     task_counts(j, job, -1));
}

static void get_jobs(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    jm *j = ud;
    pthread_mutex_lock(&j->mu);
    json_t *a = json_array();
    for (size_t i = 0; i < j->njobs; i++)
        json_array_append_new(a, json_pack("{s:s, s:s}", "id", j->jobs[i]->id, "status",
                                           jm_state_names[j->jobs[i]->state]));
    pthread_mutex_unlock(&j->mu);
    http_response_json(resp, 200, json_pack("{s:o}", "jobs", a));
}

static void get_jobs_overview(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    jm *j = ud;
    pthread_mutex_lock(&j->mu);
    json_t *a = json_array();
    for (size_t i = 0; i < j->njobs; i++)
        json_array_append_new(a, job_overview(j, j->jobs[i]));
    pthread_mutex_unlock(&j->mu);
    http_response_json(resp, 200, json_pack("{s:o}", "jobs", a));
}

static const char *vertex_status(const jm_job *job)
{
    switch (job->state) {
    case JS_RUNNING:
        return "RUNNING";
    case JS_FINISHED:
        return "FINISHED";
    case JS_CANCELED:
        return "CANCELED";
    case JS_FAILED:
        return "FAILED";
    case JS_CANCELLING:
    case JS_FAILING:
        return "CANCELING";
    default:
        return "CREATED";
    }
}

static void get_job(const http_request *req, http_response *resp, void *ud)
{
    jm *j = ud;
    pthread_mutex_lock(&j->mu);
    jm_job *job = job_param(j, req, resp);
    if (!job) {
        pthread_mutex_unlock(&j->mu);
        return;
    }
    json_t *ts = json_object();
    for (int s = 0; s < JS_COUNT; s++)
        json_object_set_new(ts, jm_state_names[s], json_integer(job->ts[s]));
    json_t *vertices = json_array(), *nodes = json_array();
    for (uint32_t c = 0; c < job->g.nchains; c++) {
        const rt_chain *ch = &job->g.chains[c];
        char name[1024];
        rt_graph_chain_name(job->plan, ch, name, sizeof(name));
        json_int_t in, out, busy, bp;
        chain_metrics(j, job, c, &in, &out, &busy, &bp);
        bool src = ch->input_chain < 0;
        bool sink = true;
        for (uint32_t d = 0; d < job->g.nchains; d++)
            for (uint32_t k = 0; k < job->g.chains[d].ninputs; k++)
                sink = sink && job->g.chains[d].inputs[k].chain != c;
        json_t *metrics =
            json_pack("{s:I, s:b, s:I, s:b, s:I, s:b, s:I, s:b, s:I, s:I, s:I}", "read-bytes",
                      (json_int_t)0, "read-bytes-complete", 1, "write-bytes", (json_int_t)0,
                      "write-bytes-complete", 1, "read-records", src ? (json_int_t)0 : in,
                      "read-records-complete", 1, "write-records", sink ? (json_int_t)0 : out,
                      "write-records-complete", 1, "accumulated-backpressured-time", bp,
                      "accumulated-idle-time", (json_int_t)0, "accumulated-busy-time", busy);
        json_array_append_new(
            vertices,
            json_pack("{s:s, s:s, s:i, s:i, s:s, s:I, s:I, s:I, s:o, s:o}", "id", ch->id, "name",
                      name, "maxParallelism", (int)job->plan->max_parallelism, "parallelism",
                      (int)ch->parallelism, "status", vertex_status(job), "start-time",
                      (json_int_t)job->start_ms, "end-time",
                      (json_int_t)(job->end_ms ? job->end_ms : -1), "duration", duration(job),
                      "tasks", task_counts(j, job, (int)c), "metrics", metrics));
        json_t *node = json_pack("{s:s, s:i, s:s, s:s, s:s, s:{}}", "id", ch->id, "parallelism",
                                 (int)ch->parallelism, "operator", "", "operator_strategy", "",
                                 "description", name, "optimizer_properties");
        if (ch->ninputs > 0) {
            /* one entry per input edge: several for the consumer of a union, as Flink lists
             * the producers of a union's consumer */
            const rt_plan_op *head = &job->plan->ops[ch->ops[0]];
            json_t *inputs = json_array();
            for (uint32_t k = 0; k < ch->ninputs; k++)
                json_array_append_new(
                    inputs, json_pack("{s:i, s:s, s:s, s:s}", "num", (int)k, "id",
                                      job->g.chains[ch->inputs[k].chain].id, "ship_strategy",
                                      head->partition == RT_PART_HASH      ? "HASH"
                                      : head->partition == RT_PART_FORWARD ? "FORWARD"
                                                                           : "REBALANCE",
                                      "exchange", "pipelined_bounded"));
            json_object_set_new(node, "inputs", inputs);
        }
        json_array_append_new(nodes, node);
    }
    json_t *sc = task_counts(j, job, -2);
    /* status-counts uses upper-case names */
    json_t *counts = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(sc, k, v)
    {
        char up[32];
        size_t n = 0;
        for (const char *p = k; *p && n + 1 < sizeof(up); p++)
            up[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        up[n] = '\0';
        json_object_set(counts, up, v);
    }
    json_decref(sc);
    json_t *o = json_pack(
        "{s:s, s:s, s:b, s:s, s:s, s:I, s:I, s:I, s:i, s:I, s:o, s:o, s:o, s:{s:s, s:s, s:s, "
        "s:o}}",
        "jid", job->id, "name", job->name, "isStoppable", 0, "state", jm_state_names[job->state],
        "job-type", "STREAMING", "start-time", (json_int_t)job->start_ms, "end-time",
        (json_int_t)(job->end_ms ? job->end_ms : -1), "duration", duration(job), "maxParallelism",
        (int)job->plan->max_parallelism, "now", (json_int_t)clock_epoch_ms(), "timestamps", ts,
        "vertices", vertices, "status-counts", counts, "plan", "jid", job->id, "name", job->name,
        "type", "STREAMING", "nodes", nodes);
    pthread_mutex_unlock(&j->mu);
    http_response_json(resp, 200, o);
}

static void get_job_status(const http_request *req, http_response *resp, void *ud)
{
    jm *j = ud;
    pthread_mutex_lock(&j->mu);
    jm_job *job = job_param(j, req, resp);
    if (job)
        http_response_json(resp, 200, json_pack("{s:s}", "status", jm_state_names[job->state]));
    pthread_mutex_unlock(&j->mu);
}

static void patch_job(const http_request *req, http_response *resp, void *ud)
{
    jm *j = ud;
    const char *mode = http_request_query(req, "mode");
    if (mode && strcasecmp(mode, "cancel") != 0) {
        http_response_error(resp, 400,
                            "Bad request: mode '%s' is not supported (use mode=cancel, or "
                            "POST /jobs/:jobid/stop to stop with a savepoint)",
                            mode);
        return;
    }
    pthread_mutex_lock(&j->mu);
    jm_job *job = job_param(j, req, resp);
    if (job) {
        weir_error e;
        if (jm_cancel(j, job, &e))
            http_response_error(resp, 409, "Job cancellation failed: %s", e.msg);
        else
            http_response_json(resp, 202, json_object());
    }
    pthread_mutex_unlock(&j->mu);
}

/* POST /jobs/:jobid/savepoints, /stop and /checkpoints. */
static void trigger(const http_request *req, http_response *resp, jm *j, jm_trigger_kind kind)
{
    size_t blen;
    http_request_body(req, &blen);
    json_t *b = blen ? http_request_json(req, resp) : json_object();
    if (!b)
        return;
    if (!json_is_object(b)) {
        json_decref(b);
        http_response_error(resp, 400, "Bad request: the body must be a JSON object");
        return;
    }
    const char *target = json_string_value(
        json_object_get(b, kind == JT_STOP ? "targetDirectory" : "target-directory"));
    json_t *tid = json_object_get(b, "triggerId");
    if (tid && !json_is_null(tid) && !valid_id(json_string_value(tid))) {
        json_decref(b);
        http_response_error(resp, 400, "Bad request: triggerId must be 32 hex digits");
        return;
    }
    json_t *drain = json_object_get(b, "drain");
    json_t *cancel = json_object_get(b, "cancel-job");
    if ((drain && !json_is_boolean(drain)) || (cancel && !json_is_boolean(cancel))) {
        json_decref(b);
        http_response_error(resp, 400, "Bad request: drain and cancel-job must be booleans");
        return;
    }
    const char *ctype = json_string_value(json_object_get(b, "checkpointType"));
    if (kind == JT_CHECKPOINT && ctype && strcmp(ctype, "CONFIGURED") && strcmp(ctype, "FULL") &&
        strcmp(ctype, "INCREMENTAL")) {
        json_decref(b);
        http_response_error(resp, 400,
                            "Bad request: checkpointType '%s' is not one of "
                            "CONFIGURED, FULL, INCREMENTAL",
                            ctype);
        return;
    }
    bool cancel_job = kind == JT_SAVEPOINT && json_is_true(cancel);
    if (cancel_job)
        kind = JT_STOP; /* savepoint, then the job ends (CANCELED) */
    pthread_mutex_lock(&j->mu);
    jm_job *job = job_param(j, req, resp);
    if (job) {
        int status = 500;
        weir_error e = {0};
        jm_trigger *t = jm_trigger_snapshot(j, job, kind, target, json_is_true(drain),
                                            json_string_value(tid), &status, &e);
        if (t && cancel_job && t->queued)
            t->cancel_job = true;
        if (t)
            http_response_json(resp, 202, json_pack("{s:s}", "request-id", t->id));
        else
            http_response_error(resp, status, "%s", e.msg);
    }
    pthread_mutex_unlock(&j->mu);
    json_decref(b);
}

static void post_savepoint(const http_request *req, http_response *resp, void *ud)
{
    trigger(req, resp, ud, JT_SAVEPOINT);
}

static void post_stop(const http_request *req, http_response *resp, void *ud)
{
    trigger(req, resp, ud, JT_STOP);
}

static void post_checkpoint(const http_request *req, http_response *resp, void *ud)
{
    trigger(req, resp, ud, JT_CHECKPOINT);
}

static json_t *failure_cause(const char *msg)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "class", "java.util.concurrent.CompletionException",
                     "stack-trace", msg, "serialized-throwable", "", "message", msg);
}

static void get_trigger(const http_request *req, http_response *resp, jm *j, bool checkpoint)
{
    pthread_mutex_lock(&j->mu);
    jm_job *job = job_param(j, req, resp);
    if (!job) {
        pthread_mutex_unlock(&j->mu);
        return;
    }
    const char *tid = http_request_param(req, "triggerid");
    jm_trigger *t = jm_find_trigger(j, tid);
    if (!t || strcmp(t->job_id, job->id) != 0 || (checkpoint != (t->kind == JT_CHECKPOINT))) {
        http_response_error(resp, 404, "There is no %s operation with triggerId=%s for job %s",
                            checkpoint ? "checkpoint" : "savepoint", tid, job->id);
        pthread_mutex_unlock(&j->mu);
        return;
    }
    json_t *o;
    if (!t->done)
        o = json_pack("{s:{s:s}}", "status", "id", "IN_PROGRESS");
    else if (t->failed)
        o = json_pack("{s:{s:s}, s:{s:o}}", "status", "id", "COMPLETED", "operation",
                      "failure-cause", failure_cause(t->failure));
    else if (checkpoint)
        o = json_pack("{s:{s:s}, s:{s:I}}", "status", "id", "COMPLETED", "operation",
                      "checkpointId", (json_int_t)t->checkpoint_id);
    else
        o = json_pack("{s:{s:s}, s:{s:o}}", "status", "id", "COMPLETED", "operation", "location",
                      location(t->location));
    pthread_mutex_unlock(&j->mu);
    http_response_json(resp, 200, o);
}

static void get_savepoint(const http_request *req, http_response *resp, void *ud)
{
    get_trigger(req, resp, ud, false);
}

static void get_checkpoint_trigger(const http_request *req, http_response *resp, void *ud)
{
    get_trigger(req, resp, ud, true);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Flink's StatsSummary over values (nearest-rank quantiles); zeros when there are none. */
static json_t *summary(int64_t *v, size_t n)
{
    if (!n)
        return json_pack("{s:i, s:i, s:i, s:f, s:f, s:f, s:f, s:f}", "min", 0, "max", 0, "avg", 0,
                         "p50", 0.0, "p90", 0.0, "p95", 0.0, "p99", 0.0, "p999", 0.0);
    qsort(v, n, sizeof(*v), cmp_i64);
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    double q[5] = {0.5, 0.9, 0.95, 0.99, 0.999};
    double r[5];
    for (int i = 0; i < 5; i++) {
        size_t k = (size_t)(q[i] * (double)n + 0.999999);
        r[i] = (double)v[(k ? k : 1) - 1];
    }
    return json_pack("{s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f}", "min", (json_int_t)v[0], "max",
                     (json_int_t)v[n - 1], "avg", (json_int_t)(sum / (int64_t)n), "p50", r[0],
                     "p90", r[1], "p95", r[2], "p99", r[3], "p999", r[4]);
}

static json_t *checkpoint_stat(const rt_snap_stat *s)
{
    static const char *const st[] = {"IN_PROGRESS", "COMPLETED", "FAILED"};
    static const char *const cls[] = {"in_progress", "completed", "failed"};
    json_int_t dur = (json_int_t)((s->end_ts ? s->end_ts : clock_epoch_ms()) - s->trigger_ts);
    json_t *o = json_pack(
        "{s:s, s:I, s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:i, s:s, s:{}}",
        "className", cls[s->status], "id", (json_int_t)s->id, "status", st[s->status],
        "is_savepoint", s->savepoint, "savepointFormat", s->savepoint ? "CANONICAL" : "",
        "trigger_timestamp", (json_int_t)s->trigger_ts, "latest_ack_timestamp",
        (json_int_t)(s->end_ts ? s->end_ts : s->trigger_ts), "state_size",
        (json_int_t)s->state_bytes, "checkpointed_size", (json_int_t)s->checkpointed_bytes,
        "end_to_end_duration", dur, "alignment_buffered", (json_int_t)0, "processed_data",
        (json_int_t)0, "persisted_data", (json_int_t)0, "num_subtasks", (int)s->nsubtasks,
        "num_acknowledged_subtasks", (int)s->acks, "checkpoint_type",
        s->savepoint ? (s->stop ? "SYNC_SAVEPOINT" : "SAVEPOINT") : "CHECKPOINT", "tasks");
    if (s->status == RT_SNAP_COMPLETED) {
        json_object_set_new(o, "external_path", location(s->path));
        json_object_set_new(o, "discarded", json_false());
    } else if (s->status == RT_SNAP_FAILED) {
        json_object_set_new(o, "failure_timestamp", json_integer(s->end_ts));
        json_object_set_new(o, "failure_message", json_string(s->failure));
    }
    return o;
}

static void get_checkpoints(const http_request *req, http_response *resp, void *ud)
{
    jm *j = ud;
    pthread_mutex_lock(&j->mu);
    jm_job *job = job_param(j, req, resp);
    if (!job) {
        pthread_mutex_unlock(&j->mu);
        return;
    }
    rt_snap_stat st[16];
    uint64_t done, failed, inprog;
    size_t n = rt_coord_stats(job->coord, st, 16, &done, &failed, &inprog);
    json_t *hist = json_array();
    json_t *lc = json_null(), *ls = json_null(), *lf = json_null();
    int64_t dur[16], full[16], inc[16], zero[16] = {0};
    size_t nd = 0;
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(hist, checkpoint_stat(&st[i]));
        if (st[i].status == RT_SNAP_COMPLETED) {
            dur[nd] = st[i].end_ts - st[i].trigger_ts;
            full[nd] = (int64_t)st[i].state_bytes;
            inc[nd] = (int64_t)st[i].checkpointed_bytes;
            nd++;
        }
        if (st[i].status == RT_SNAP_COMPLETED && !st[i].savepoint && json_is_null(lc))
            lc = checkpoint_stat(&st[i]);
        if (st[i].status == RT_SNAP_COMPLETED && st[i].savepoint && json_is_null(ls))
            ls = checkpoint_stat(&st[i]);
        if (st[i].status == RT_SNAP_FAILED && json_is_null(lf))
            lf = checkpoint_stat(&st[i]);
    }
    json_t *restored =
        job->restored_checkpoint
            ? json_pack("{s:I, s:I, s:b, s:o}", "id", (json_int_t)job->restored_checkpoint,
                        "restore_timestamp", (json_int_t)job->start_ms, "is_savepoint", 1,
                        "external_path", location(job->restore))
            : json_null();
    json_t *o = json_pack(
        "{s:{s:I, s:I, s:I, s:I, s:I}, s:{s:o, s:o, s:o, s:o, s:o, s:o}, s:{s:o, s:o, s:o, "
        "s:o}, s:o}",
        "counts", "restored", (json_int_t)(job->restored_checkpoint ? 1 : 0), "total",
        (json_int_t)(done + failed + inprog), "in_progress", (json_int_t)inprog, "completed",
        (json_int_t)done, "failed", (json_int_t)failed, "summary", "checkpointed_size",
        summary(inc, nd), "state_size", summary(full, nd), "end_to_end_duration", summary(dur, nd),
        "alignment_buffered", summary(zero, nd), "processed_data", summary(zero, nd),
        "persisted_data", summary(zero, nd), "latest", "completed", lc, "savepoint", ls, "failed",
        lf, "restored", restored, "history", hist);
    pthread_mutex_unlock(&j->mu);
    http_response_json(resp, 200, o);
}

static void get_checkpoint_details(const http_request *req, http_response *resp, void *ud)
{
    jm *j = ud;
    const char *cid = http_request_param(req, "checkpointid");
    char *end = NULL;
    errno = 0;
    unsigned long long id = cid ? strtoull(cid, &end, 10) : 0;
    if (!cid || !*cid || *end || errno || id == 0) {
        http_response_error(resp, 400, "Bad request: checkpoint id '%s' is not a number",
                            cid ? cid : "");
        return;
    }
    pthread_mutex_lock(&j->mu);
    jm_job *job = job_param(j, req, resp);
    if (job) {
        rt_snap_stat s;
        if (rt_coord_stat(job->coord, id, &s))
            http_response_json(resp, 200, checkpoint_stat(&s));
        else
            http_response_error(resp, 404,
                                "Could not find checkpointing statistics for "
                                "checkpoint %llu.",
                                id);
    }
    pthread_mutex_unlock(&j->mu);
}

static void get_checkpoint_config(const http_request *req, http_response *resp, void *ud)
{
    jm *j = ud;
    pthread_mutex_lock(&j->mu);
    jm_job *job = job_param(j, req, resp);
    if (job) {
        const rt_job_options *o = &job->o;
        http_response_json(
            resp, 200,
            json_pack(
                "{s:s, s:I, s:I, s:I, s:i, s:{s:b, s:b}, s:s, s:s, s:b, s:i, s:I, s:b, "
                "s:b}",
                "mode", "exactly_once", "interval",
                (json_int_t)(o->checkpoint_interval_ms > 0 ? o->checkpoint_interval_ms : INT64_MAX),
                "timeout", (json_int_t)o->checkpoint_timeout_ms, "min_pause",
                (json_int_t)o->checkpoint_min_pause_ms, "max_concurrent", 1, "externalization",
                "enabled", o->checkpoint_dir != NULL, "delete_on_cancellation", 0, "state_backend",
                strcmp(o->state_backend, "rocksdb") == 0 ? "EmbeddedRocksDBStateBackend"
                                                         : "HashMapStateBackend",
                "checkpoint_storage",
                o->checkpoint_dir ? "FileSystemCheckpointStorage" : "JobManagerCheckpointStorage",
                "unaligned_checkpoints", 0, "tolerable_failed_checkpoints", o->tolerable_failures,
                "aligned_checkpoint_timeout", (json_int_t)0, "checkpoints_after_tasks_finish", 0,
                "state_changelog_enabled", 0));
    }
    pthread_mutex_unlock(&j->mu);
}

static void get_exceptions(const http_request *req, http_response *resp, void *ud)
{
    jm *j = ud;
    const char *maxs = http_request_query(req, "maxExceptions");
    long max = 20;
    if (maxs) {
        char *end;
        max = strtol(maxs, &end, 10);
        if (!*maxs || *end || max < 0) {
            http_response_error(resp, 400,
                                "Bad request: maxExceptions must be a non-negative "
                                "integer");
            return;
        }
    }
    pthread_mutex_lock(&j->mu);
    jm_job *job = job_param(j, req, resp);
    if (job) {
        json_t *entries = json_array(), *all = json_array();
        size_t n = json_array_size(job->exceptions);
        for (size_t i = n; i > 0 && (long)json_array_size(entries) < max; i--) {
            json_t *e = json_array_get(job->exceptions, i - 1);
            json_array_append(entries, e);
            json_array_append_new(
                all, json_pack("{s:s, s:O, s:s, s:I}", "exception",
                               json_string_value(json_object_get(e, "stacktrace")), "location",
                               json_object_get(e, "location"), "task", "", "timestamp",
                               json_integer_value(json_object_get(e, "timestamp"))));
        }
        bool trunc = (long)n > max;
        json_t *o = json_pack(
            "{s:{s:o, s:b}, s:s?, s:I, s:o, s:b}", "exceptionHistory", "entries", entries,
            "truncated", trunc, "root-exception", job->root_cause[0] ? job->root_cause : NULL,
            "timestamp", (json_int_t)job->root_cause_ts, "all-exceptions", all, "truncated", trunc);
        if (!job->root_cause[0]) {
            json_object_set_new(o, "root-exception", json_null());
            json_object_set_new(o, "timestamp", json_null());
        }
        http_response_json(resp, 200, o);
    }
    pthread_mutex_unlock(&j->mu);
}

static void get_execution_result(const http_request *req, http_response *resp, void *ud)
{
    jm *j = ud;
    pthread_mutex_lock(&j->mu);
    jm_job *job = job_param(j, req, resp);
    if (job) {
        if (!jm_state_terminal(job->state))
            http_response_json(resp, 200, json_pack("{s:{s:s}}", "status", "id", "IN_PROGRESS"));
        else {
            const char *app = job->state == JS_FINISHED   ? "SUCCEEDED"
                              : job->state == JS_CANCELED ? "CANCELED"
                                                          : "FAILED";
            json_t *r = json_pack("{s:s, s:s, s:{}, s:I}", "id", job->id, "application-status", app,
                                  "accumulator-results", "net-runtime", duration(job));
            if (job->state == JS_FAILED)
                json_object_set_new(r, "failure-cause", failure_cause(job->root_cause));
            http_response_json(resp, 200,
                               json_pack("{s:{s:s}, s:o}", "status", "id", "COMPLETED",
                                         "job-execution-result", r));
        }
    }
    pthread_mutex_unlock(&j->mu);
}

/* Job-level metrics (Flink's JobManager job scope). */
static json_t *job_metrics(jm *j, jm_job *job)
{
    (void)j;
    rt_snap_stat st[16];
    uint64_t done, failed, inprog;
    size_t n = rt_coord_stats(job->coord, st, 16, &done, &failed, &inprog);
    json_int_t last_dur = -1, last_id = -1, last_ts = -1, last_size = -1, last_full = -1;
    const char *last_path = "n/a";
    for (size_t i = 0; i < n; i++)
        if (st[i].status == RT_SNAP_COMPLETED && !st[i].savepoint) {
            last_dur = (json_int_t)(st[i].end_ts - st[i].trigger_ts);
            last_size = (json_int_t)st[i].checkpointed_bytes;
            last_full = (json_int_t)st[i].state_bytes;
            last_id = (json_int_t)st[i].id;
            last_ts = (json_int_t)st[i].end_ts;
            last_path = st[i].path;
            break;
        }
    json_int_t uptime = job->state == JS_RUNNING
                            ? (json_int_t)(clock_epoch_ms() - job->ts[JS_RUNNING])
                        : jm_state_terminal(job->state) ? -1
                                                        : 0;
    json_t *m = json_object();
    char b[PATH_MAX + 8];
#define SETI(k, v)                                                                                 \
    do {                                                                                           \
        snprintf(b, sizeof(b), "%lld", (long long)(v));                                            \
        json_object_set_new(m, k, json_string(b));                                                 \
    } while (0)
    SETI("uptime", uptime);
    SETI("runningTime", uptime);
    SETI("downtime", job->state == JS_RESTARTING || job->state == JS_FAILING
                         ? clock_epoch_ms() - job->ts[job->state]
                         : 0);
    SETI("restartingTime",
         job->state == JS_RESTARTING ? clock_epoch_ms() - job->ts[JS_RESTARTING] : 0);
    SETI("numRestarts", job->restarts);
    SETI("fullRestarts", job->restarts);
    SETI("numberOfCompletedCheckpoints", done);
    SETI("numberOfFailedCheckpoints", failed);
    SETI("numberOfInProgressCheckpoints", inprog);
    SETI("totalNumberOfCheckpoints", done + failed + inprog);
    SETI("lastCheckpointDuration", last_dur);
    SETI("lastCompletedCheckpointId", last_id);
    SETI("lastCheckpointCompletedTimestamp", last_ts);
    SETI("lastCheckpointSize", last_size);
    SETI("lastCheckpointFullSize", last_full);
    SETI("lastCheckpointRestoreTimestamp", job->restored_checkpoint ? job->start_ms : -1);
    json_object_set_new(m, "lastCheckpointExternalPath", json_string(last_path));
#undef SETI
    return m;
}

static void get_job_metrics(const http_request *req, http_response *resp, void *ud)
{
    jm *j = ud;
    pthread_mutex_lock(&j->mu);
    jm_job *job = job_param(j, req, resp);
    if (!job) {
        pthread_mutex_unlock(&j->mu);
        return;
    }
    json_t *m = job_metrics(j, job);
    pthread_mutex_unlock(&j->mu);
    json_t *a = json_array();
    const char *get = http_request_query(req, "get");
    if (!get) {
        const char *k;
        json_t *v;
        json_object_foreach(m, k, v) json_array_append_new(a, json_pack("{s:s}", "id", k));
    } else {
        char *copy = strdup(get), *save = NULL;
        for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok;
             tok = strtok_r(NULL, ",", &save)) {
            json_t *v = json_object_get(m, tok);
            if (v)
                json_array_append_new(a, json_pack("{s:s, s:O}", "id", tok, "value", v));
        }
        free(copy);
    }
    json_decref(m);
    http_response_json(resp, 200, a);
}

/* --- savepoint disposal --------------------------------------------------------------------- */

static void post_disposal(const http_request *req, http_response *resp, void *ud)
{
    jm *j = ud;
    json_t *b = http_request_json(req, resp);
    if (!b)
        return;
    const char *path = json_string_value(json_object_get(b, "savepoint-path"));
    if (!path || !*path) {
        json_decref(b);
        http_response_error(resp, 400, "Bad request: savepoint-path is required");
        return;
    }
    const rt_storage_ops *st;
    const char *p;
    weir_error e = {0};
    pthread_mutex_lock(&j->mu);
    jm_trigger *t = jm_new_trigger(j, NULL);
    t->kind = JT_DISPOSAL;
    t->done = true;
    char id[33];
    snprintf(id, sizeof(id), "%s", t->id);
    pthread_mutex_unlock(&j->mu);
    /* Only a savepoint (a directory with a savepoint _metadata) is disposed. */
    json_t *meta = NULL;
    char root[PATH_MAX];
    int rc = rt_storage_resolve(path, &st, &p, &e);
    if (!rc)
        rc = rt_snapshot_load(p, &meta, root, &e);
    if (!rc && strcmp(json_string_value(json_object_get(meta, "kind")), "savepoint") != 0)
        rc = weir_error_set(&e, WEIR_EINVAL, "%s is a checkpoint, not a savepoint", path);
    if (!rc) {
        char dir[PATH_MAX];
        struct stat sb;
        snprintf(dir, sizeof(dir), "%s", p);
        if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
            char *slash = strrchr(dir, '/');
            if (slash)
                *slash = '\0';
        }
        st->remove_tree(dir);
        log_info("savepoint disposed", "path", dir);
    }
    json_decref(meta);
    pthread_mutex_lock(&j->mu);
    t = jm_find_trigger(j, id);
    if (t && rc) {
        t->failed = true;
        snprintf(t->failure, sizeof(t->failure), "%s", e.msg);
    }
    pthread_mutex_unlock(&j->mu);
    json_decref(b);
    http_response_json(resp, 202, json_pack("{s:s}", "request-id", id));
}

static void get_disposal(const http_request *req, http_response *resp, void *ud)
{
    jm *j = ud;
    const char *tid = http_request_param(req, "triggerid");
    pthread_mutex_lock(&j->mu);
    jm_trigger *t = jm_find_trigger(j, tid);
    if (!t || t->kind != JT_DISPOSAL)
        http_response_error(resp, 404, "There is no savepoint disposal with triggerId=%s", tid);
    else if (t->failed)
        http_response_json(resp, 200,
                           json_pack("{s:{s:s}, s:{s:o}}", "status", "id", "COMPLETED", "operation",
                                     "failure-cause", failure_cause(t->failure)));
    else
        http_response_json(resp, 200,
                           json_pack("{s:{s:s}, s:{}}", "status", "id", "COMPLETED", "operation"));
    pthread_mutex_unlock(&j->mu);
}

/* --- jars (a "jar" is a SQL script or a job plan) ------------------------------------------- */

static void post_jar_upload(const http_request *req, http_response *resp, void *ud)
{
    jm *j = ud;
    size_t len;
    const char *body = http_request_body(req, &len);
    multipart_file f;
    weir_error e = {0};
    if (multipart_find(http_request_header(req, "Content-Type"), body, len, "jarfile", &f, &e)) {
        log_warn("jar upload rejected", "error", e.msg);
        http_response_error(resp, 400, "Bad request: %s", e.msg);
        return;
    }
    char uuid[37], hex[33];
    random_hex(hex, 32);
    snprintf(uuid, sizeof(uuid), "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
    char id[160], path[PATH_MAX + 200];
    snprintf(id, sizeof(id), "%s_%s", uuid, f.filename);
    if (rt_storage_file()->mkdirs(j->upload_dir, &e)) {
        http_response_error(resp, 500, "cannot store the upload: %s", e.msg);
        return;
    }
    snprintf(path, sizeof(path), "%s/%s", j->upload_dir, id);
    if (rt_storage_file()->write_atomic(path, f.data, f.len, &e)) {
        http_response_error(resp, 500, "cannot store the upload: %s", e.msg);
        return;
    }
    pthread_mutex_lock(&j->mu);
    jm_jar *nj = realloc(j->jars, (j->njars + 1) * sizeof(*nj));
    if (nj) {
        j->jars = nj;
        jm_jar *jar = &j->jars[j->njars++];
        snprintf(jar->id, sizeof(jar->id), "%s", id);
        snprintf(jar->name, sizeof(jar->name), "%s", f.filename);
        snprintf(jar->path, sizeof(jar->path), "%s", path);
        jar->uploaded = clock_epoch_ms();
    }
    pthread_mutex_unlock(&j->mu);
    if (!nj) {
        http_response_error(resp, 500, "out of memory");
        return;
    }
    log_info("job file uploaded", "id", id);
    http_response_json(resp, 200, json_pack("{s:s, s:s}", "filename", path, "status", "success"));
}

static void get_jars(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    jm *j = ud;
    pthread_mutex_lock(&j->mu);
    json_t *files = json_array();
    for (size_t i = 0; i < j->njars; i++)
        json_array_append_new(files, json_pack("{s:s, s:s, s:I, s:[]}", "id", j->jars[i].id, "name",
                                               j->jars[i].name, "uploaded",
                                               (json_int_t)j->jars[i].uploaded, "entry"));
    pthread_mutex_unlock(&j->mu);
    char addr[64];
    snprintf(addr, sizeof(addr), "http://localhost:%d", http_server_port(j->rest));
    http_response_json(resp, 200, json_pack("{s:s, s:o}", "address", addr, "files", files));
}

static jm_jar *find_jar(jm *j, const char *id)
{
    for (size_t i = 0; id && i < j->njars; i++)
        if (strcmp(j->jars[i].id, id) == 0)
            return &j->jars[i];
    return NULL;
}

static void delete_jar(const http_request *req, http_response *resp, void *ud)
{
    jm *j = ud;
    const char *id = http_request_param(req, "jarid");
    pthread_mutex_lock(&j->mu);
    jm_jar *jar = find_jar(j, id);
    if (!jar) {
        pthread_mutex_unlock(&j->mu);
        http_response_error(resp, 400, "File %s does not exist in %s.", id, j->upload_dir);
        return;
    }
    unlink(jar->path);
    size_t k = (size_t)(jar - j->jars);
    memmove(jar, jar + 1, (j->njars - k - 1) * sizeof(*jar));
    j->njars--;
    pthread_mutex_unlock(&j->mu);
    http_response_json(resp, 200, json_object());
}

static void post_jar_run(const http_request *req, http_response *resp, void *ud)
{
    jm *j = ud;
    size_t blen;
    http_request_body(req, &blen);
    json_t *b = blen ? http_request_json(req, resp) : json_object();
    if (!b)
        return;
    char path[PATH_MAX];
    pthread_mutex_lock(&j->mu);
    jm_jar *jar = find_jar(j, http_request_param(req, "jarid"));
    if (jar)
        snprintf(path, sizeof(path), "%s", jar->path);
    pthread_mutex_unlock(&j->mu);
    if (!jar) {
        json_decref(b);
        http_response_error(resp, 400, "Jar file %s does not exist",
                            http_request_param(req, "jarid"));
        return;
    }
    const char *sp = json_string_value(json_object_get(b, "savepointPath"));
    if (!sp)
        sp = http_request_query(req, "savepointPath");
    json_t *anrs = json_object_get(b, "allowNonRestoredState");
    const char *q = http_request_query(req, "allowNonRestoredState");
    bool allow = json_is_true(anrs) || (q && !strcmp(q, "true"));
    json_int_t par = json_integer_value(json_object_get(b, "parallelism"));
    if (!par && http_request_query(req, "parallelism"))
        par = atoll(http_request_query(req, "parallelism"));
    const char *job_id = json_string_value(json_object_get(b, "jobId"));
    if ((job_id && !valid_id(job_id)) || par < 0 || par > 1024) {
        json_decref(b);
        http_response_error(resp, 400,
                            "Bad request: jobId must be 32 hex digits and "
                            "parallelism between 1 and 1024");
        return;
    }
    config *conf = config_clone(j->c);
    json_t *fc = json_object_get(b, "flinkConfiguration");
    const char *k;
    json_t *v;
    json_object_foreach(fc, k, v)
    {
        char buf[64];
        const char *s = json_string_value(v);
        if (!s && json_is_integer(v)) {
            snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            s = buf;
        } else if (!s && json_is_boolean(v))
            s = json_is_true(v) ? "true" : "false";
        if (conf && s && config_set(conf, k, s, "flinkConfiguration")) {
            config_free(conf);
            conf = NULL;
        }
    }
    weir_error e = {0};
    json_t *doc = NULL;
    if (!conf || rt_jobconf_compile(path, &doc, conf, NULL, &e)) {
        config_free(conf);
        json_decref(b);
        http_response_error(resp, 400, "Could not compile the job: %s",
                            e.code ? e.msg : "out of memory");
        return;
    }
    pthread_mutex_lock(&j->mu);
    jm_job *job = NULL;
    int rc = jm_submit(j, job_id, doc, conf, sp, allow, (uint32_t)par, &job, &e);
    char jid[33] = "";
    if (!rc)
        snprintf(jid, sizeof(jid), "%s", job->id);
    pthread_mutex_unlock(&j->mu);
    json_decref(b);
    if (rc) {
        http_response_error(resp, rc == WEIR_EDUPLICATE ? 409 : 400, "Job submission failed: %s",
                            e.msg);
        return;
    }
    http_response_json(resp, 200, json_pack("{s:s}", "jobid", jid));
}

/* --- routes ------------------------------------------------------------------------------- */

typedef struct route {
    const char *method, *path;
    http_handler_fn fn;
} route;

static const route routes[] = {
    {"GET", "/config", get_config},
    {"GET", "/overview", get_overview},
    {"GET", "/taskmanagers", get_taskmanagers},
    {"GET", "/jobmanager/config", get_jm_config},
    {"DELETE", "/cluster", delete_cluster},
    {"GET", "/jobs", get_jobs},
    {"GET", "/jobs/overview", get_jobs_overview},
    {"GET", "/jobs/:jobid", get_job},
    {"PATCH", "/jobs/:jobid", patch_job},
    {"GET", "/jobs/:jobid/status", get_job_status},
    {"POST", "/jobs/:jobid/savepoints", post_savepoint},
    {"GET", "/jobs/:jobid/savepoints/:triggerid", get_savepoint},
    {"POST", "/jobs/:jobid/stop", post_stop},
    {"GET", "/jobs/:jobid/checkpoints", get_checkpoints},
    {"POST", "/jobs/:jobid/checkpoints", post_checkpoint},
    {"GET", "/jobs/:jobid/checkpoints/:triggerid", get_checkpoint_trigger},
    {"GET", "/jobs/:jobid/checkpoints/details/:checkpointid", get_checkpoint_details},
    {"GET", "/jobs/:jobid/checkpoints/config", get_checkpoint_config},
    {"GET", "/jobs/:jobid/exceptions", get_exceptions},
    {"GET", "/jobs/:jobid/execution-result", get_execution_result},
    {"GET", "/jobs/:jobid/metrics", get_job_metrics},
    {"POST", "/savepoint-disposal", post_disposal},
    {"GET", "/savepoint-disposal/:triggerid", get_disposal},
    {"POST", "/jars/upload", post_jar_upload},
    {"GET", "/jars", get_jars},
    {"POST", "/jars/:jarid/run", post_jar_run},
    {"DELETE", "/jars/:jarid", delete_jar},
};

int jm_rest_routes(jm *j, http_server *s, weir_error *err)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        char v1[256];
        snprintf(v1, sizeof(v1), "/v1%s", routes[i].path);
        int rc = http_server_route(s, routes[i].method, routes[i].path, routes[i].fn, j);
        if (!rc)
            rc = http_server_route(s, routes[i].method, v1, routes[i].fn, j);
        if (rc)
            return weir_error_set(err, rc, "route %s %s", routes[i].method, routes[i].path);
    }
    return 0;
}

/* --- Prometheus ------------------------------------------------------------------------------ */

static void get_metrics(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    jm *j = ud;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        http_response_error(resp, 500, "out of memory");
        return;
    }
    pthread_mutex_lock(&j->mu);
    int total;
    int free_ = jm_free_slots(j, &total);
    int r, fi, c, fl;
    count_jobs(j, &r, &fi, &c, &fl);
    fprintf(f,
            "# TYPE flink_jobmanager_numRegisteredTaskManagers gauge\n"
            "flink_jobmanager_numRegisteredTaskManagers %d\n",
            live_tms(j));
    fprintf(f, "# TYPE flink_jobmanager_numRunningJobs gauge\nflink_jobmanager_numRunningJobs %d\n",
            r);
    fprintf(f,
            "# TYPE flink_jobmanager_taskSlotsAvailable gauge\n"
            "flink_jobmanager_taskSlotsAvailable %d\n",
            free_);
    fprintf(f, "# TYPE flink_jobmanager_taskSlotsTotal gauge\nflink_jobmanager_taskSlotsTotal %d\n",
            total);
    static const char *const names[] = {
        "uptime",
        "numRestarts",
        "numberOfCompletedCheckpoints",
        "numberOfFailedCheckpoints",
        "numberOfInProgressCheckpoints",
        "totalNumberOfCheckpoints",
        "lastCheckpointDuration",
        "lastCompletedCheckpointId",
        "lastCheckpointSize",
        "downtime",
    };
    for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
        fprintf(f, "# TYPE flink_jobmanager_job_%s gauge\n", names[n]);
        for (size_t i = 0; i < j->njobs; i++) {
            jm_job *job = j->jobs[i];
            json_t *m = job_metrics(j, job);
            char jn[256];
            snprintf(jn, sizeof(jn), "%s", job->name);
            for (char *p = jn; *p; p++)
                if (*p == '"' || *p == '\\' || *p == '\n')
                    *p = '_';
            fprintf(f, "flink_jobmanager_job_%s{job_id=\"%s\",job_name=\"%s\"} %s\n", names[n],
                    job->id, jn, json_string_value(json_object_get(m, names[n])));
            json_decref(m);
        }
    }
    pthread_mutex_unlock(&j->mu);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(f,
            "# TYPE flink_jobmanager_Status_Process_MaxRssBytes gauge\n"
            "flink_jobmanager_Status_Process_MaxRssBytes %lld\n",
            (long long)ru.ru_maxrss * 1024);
    fclose(f);
    http_response_set(resp, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len);
    free(buf);
}

int jm_metrics_routes(jm *j, http_server *s, weir_error *err)
{
    if (http_server_route(s, "GET", "/metrics", get_metrics, j) ||
        http_server_route(s, "GET", "/", get_metrics, j))
        return weir_error_set(err, WEIR_EINVAL, "metrics routes");
    return 0;
}
