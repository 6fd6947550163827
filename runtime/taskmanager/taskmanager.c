/*
 * taskmanager.c - the TaskManager process (see taskmanager.h).
 *
 * Control protocol (JobManager's jobmanager.rpc.port, HTTP + JSON):
 *   POST /internal/v1/taskmanagers                 register {id, host, dataPort, slots, ...}
 *   POST /internal/v1/taskmanagers/:id/heartbeat   report deployments; the answer carries the
 *                                                  commands (deploy, trigger, notify, cancel);
 *                                                  the JobManager holds it up to 200 ms while
 *                                                  it has nothing to say (long poll)
 *   POST /internal/v1/jobs/:jobid/acks             a subtask acknowledged a snapshot
 *
 * Layer: runtime/taskmanager top.
 */
#include "lib/random.h"
#include "runtime/taskmanager/taskmanager.h"

#include "lib/clock.h"

#include "lib/config.h"
#include "lib/http_client.h"
#include "lib/http_server.h"
#include "lib/log.h"
#include "runtime/engine/coord.h"
#include "runtime/engine/exec.h"
#include "runtime/jobconf.h"
#include "runtime/storage/storage.h"
#include "runtime/taskmanager/netchan.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

typedef enum dstate { D_RUNNING, D_FINISHED, D_FAILED, D_CANCELED } dstate;
static const char *const dstate_names[] = {"RUNNING", "FINISHED", "FAILED", "CANCELED"};

typedef struct tmgr tmgr;

typedef struct slot_addr {
    char host[256];
    int port;
} slot_addr;

typedef struct deployment {
    struct deployment *next;
    tmgr *t;
    char job_id[33];
    uint32_t attempt;
    rt_plan *plan;
    rt_graph g;
    bool graph_built;
    rt_exec *x;
    bool *local;
    slot_addr *placement; /* [g.max_slots] */
    rt_net_out **outs;
    size_t nouts, capouts;
    pthread_mutex_t outs_mu;
    char dir[PATH_MAX];
    int64_t connect_timeout_ms;
    dstate state;
    weir_error err;
    /* per-chain rates for Prometheus, refreshed about once a second (under tmgr.mu) */
    struct rate {
        int64_t at_ms;
        rt_exec_counts last;
        double in_per_s, out_per_s, busy_ms_per_s, bp_ms_per_s;
    } * rates;
    bool final; /* resources released; report once more, then drop */
} deployment;

struct tmgr {
    config *c;
    char id[128];
    char host[256];
    int slots;
    char jm_url[512];
    char tmp[PATH_MAX];
    http_client *http;
    rt_net *net;
    deployment *deps;
    pthread_mutex_t mu; /* deps list (the control loop and the ack path) */
    int64_t heartbeat_interval_ms, heartbeat_timeout_ms;
    http_server *metrics;
};

/* --- deployments ------------------------------------------------------------------------- */

static void dep_fail(void *ud, const weir_error *e)
{
    deployment *d = ud;
    if (d->x)
        rt_exec_fail(d->x, e);
}

/* POSTs `body` (taken) to the JobManager's control endpoint `path`; *out (may be NULL) gets
 * the JSON answer. */
static int post_json(tmgr *t, const char *path, json_t *body, long timeout_ms, json_t **out,
                     weir_error *err)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    char url[700];
    snprintf(url, sizeof(url), "%s%s", t->jm_url, path);
    const char *hdr[] = {"Content-Type: application/json", NULL};
    http_client_req req = {.method = "POST",
                           .url = url,
                           .headers = hdr,
                           .body = text,
                           .body_len = strlen(text),
                           .timeout_ms = timeout_ms};
    http_client_response resp = {0};
    int rc = http_client_do(t->http, &req, &resp, err);
    free(text);
    if (!rc && out) {
        json_error_t je;
        *out = resp.body ? json_loads(resp.body, 0, &je) : NULL;
        if (!*out)
            rc = weir_error_set(err, WEIR_EPARSE, "JobManager answered with malformed JSON");
    }
    http_client_response_clear(&resp);
    return rc;
}

static void on_ack(void *ud, uint64_t id, uint32_t chain, uint32_t subtask, json_t *states)
{
    deployment *d = ud;
    char path[128];
    snprintf(path, sizeof(path), "/internal/v1/jobs/%s/acks", d->job_id);
    weir_error e = {0};
    json_t *body = json_pack("{s:s, s:i, s:I, s:i, s:i, s:o}", "taskManagerId", d->t->id, "attempt",
                             (int)d->attempt, "checkpointId", (json_int_t)id, "chain", (int)chain,
                             "subtask", (int)subtask, "states", states);
    if (post_json(d->t, path, body, 0, NULL, &e))
        log_warn("could not acknowledge a snapshot to the JobManager", "error", e.msg);
}

static rt_channel *remote_out(void *ud, uint32_t dch, uint32_t tt, uint32_t s,
                              const rt_schema *schema)
{
    deployment *d = ud;
    rt_frame_hello h = {
        .attempt = d->attempt, .chain = dch, .consumer = tt, .producer = s, .ncols = schema->ncols};
    if (schema->ncols > sizeof(h.phys) || tt >= d->g.max_slots || !d->placement[tt].port)
        return NULL;
    snprintf(h.job_id, sizeof(h.job_id), "%s", d->job_id);
    for (uint32_t i = 0; i < schema->ncols; i++)
        h.phys[i] = (uint8_t)rt_type_phys(schema->types[i]);
    rt_net_out *o = rt_net_out_new(d->placement[tt].host, d->placement[tt].port, &h, schema,
                                   d->connect_timeout_ms, dep_fail, d);
    if (!o)
        return NULL;
    pthread_mutex_lock(&d->outs_mu);
    if (d->nouts == d->capouts) {
        size_t nc = d->capouts ? d->capouts * 2 : 8;
        rt_net_out **no = realloc(d->outs, nc * sizeof(*no));
        if (!no) {
            pthread_mutex_unlock(&d->outs_mu);
            rt_net_out_free(o);
            return NULL;
        }
        d->outs = no;
        d->capouts = nc;
    }
    d->outs[d->nouts++] = o;
    pthread_mutex_unlock(&d->outs_mu);
    return rt_net_out_channel(o);
}

/* Releases everything an attempt holds; its state stays for the next report. */
static void dep_release(deployment *d)
{
    if (d->x && !rt_exec_done(d->x)) {
        weir_error e;
        weir_error_set(&e, WEIR_ECANCELED, "cancelled");
        rt_exec_fail(d->x, &e);
    }
    for (size_t i = 0; i < d->nouts; i++)
        if (!rt_net_out_done(d->outs[i]))
            rt_net_out_cancel(d->outs[i]);
    rt_net_clear_target(d->t->net, d->job_id);
    rt_exec_free(d->x);
    d->x = NULL;
    for (size_t i = 0; i < d->nouts; i++)
        rt_net_out_free(d->outs[i]);
    free(d->outs);
    d->outs = NULL;
    d->nouts = d->capouts = 0;
    if (d->graph_built)
        rt_graph_free(&d->g);
    d->graph_built = false;
    rt_plan_free(d->plan);
    d->plan = NULL;
    free(d->local);
    d->local = NULL;
    free(d->placement);
    d->placement = NULL;
    free(d->rates);
    d->rates = NULL;
    if (d->dir[0])
        rt_storage_file()->remove_tree(d->dir);
    d->final = true;
}

static void dep_free(deployment *d)
{
    if (!d->final)
        dep_release(d);
    pthread_mutex_destroy(&d->outs_mu);
    free(d);
}

static void log_state(const deployment *d, dstate from, dstate to)
{
    char att[16];
    snprintf(att, sizeof(att), "%u", d->attempt);
    log_info("deployment state changed", "job_id", d->job_id, "attempt", att, "from",
             dstate_names[from], "to", dstate_names[to], "error", d->err.code ? d->err.msg : "",
             (const char *)NULL);
}

static void dep_set(deployment *d, dstate st)
{
    if (d->state == st)
        return;
    log_state(d, d->state, st);
    d->state = st;
}

/* Deploys an attempt; failures become a FAILED deployment with the error. */
static void deploy(tmgr *t, const json_t *cmd)
{
    const char *job = json_string_value(json_object_get(cmd, "jobId"));
    if (!job || strlen(job) != 32)
        return;
    pthread_mutex_lock(&t->mu);
    for (deployment **pp = &t->deps; *pp;) {
        if (strcmp((*pp)->job_id, job) == 0) {
            deployment *old = *pp;
            *pp = old->next;
            pthread_mutex_unlock(&t->mu);
            dep_free(old);
            pthread_mutex_lock(&t->mu);
        } else
            pp = &(*pp)->next;
    }
    pthread_mutex_unlock(&t->mu);
    deployment *d = calloc(1, sizeof(*d));
    if (!d)
        return;
    d->t = t;
    pthread_mutex_init(&d->outs_mu, NULL);
    snprintf(d->job_id, sizeof(d->job_id), "%s", job);
    d->attempt = (uint32_t)json_integer_value(json_object_get(cmd, "attempt"));
    d->connect_timeout_ms = json_integer_value(json_object_get(cmd, "connectTimeoutMs"));
    if (d->connect_timeout_ms <= 0)
        d->connect_timeout_ms = 60000;
    weir_error *err = &d->err;
    int rc = 0;
    char *text = json_dumps(json_object_get(cmd, "plan"), JSON_COMPACT);
    uint32_t par = (uint32_t)json_integer_value(json_object_get(cmd, "defaultParallelism"));
    if (!text)
        rc = weir_error_set(err, WEIR_EINVAL, "deploy command without a plan");
    else
        rc = rt_plan_load(text, strlen(text), "deployed plan", par ? par : 1, &d->plan, err);
    free(text);
    if (rc)
        goto failed;
    rt_plan_default_idle_timeout(d->plan,
                                 json_integer_value(json_object_get(cmd, "idleTimeoutMs")));
    if ((rc = rt_graph_build(d->plan, &d->g))) {
        weir_error_set(err, rc, "out of memory");
        goto failed;
    }
    d->graph_built = true;
    d->rates = calloc(d->g.nchains, sizeof(*d->rates));
    d->local = calloc(d->g.max_slots, sizeof(bool));
    d->placement = calloc(d->g.max_slots, sizeof(slot_addr));
    if (!d->local || !d->placement || !d->rates) {
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        goto failed;
    }
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(cmd, "placement"), i, v)
    {
        json_int_t slot = json_integer_value(json_object_get(v, "subtask"));
        const char *host = json_string_value(json_object_get(v, "host"));
        if (slot < 0 || slot >= (json_int_t)d->g.max_slots || !host)
            continue;
        snprintf(d->placement[slot].host, sizeof(d->placement[slot].host), "%s", host);
        d->placement[slot].port = (int)json_integer_value(json_object_get(v, "dataPort"));
        const char *owner = json_string_value(json_object_get(v, "taskManagerId"));
        d->local[slot] = owner && strcmp(owner, t->id) == 0;
    }
    snprintf(d->dir, sizeof(d->dir), "%s/%s-%u", t->tmp, d->job_id, d->attempt);
    const char *backend = json_string_value(json_object_get(cmd, "stateBackend"));
    rt_exec_config xc = {.local_dir = d->dir,
                         .state_backend = backend ? backend : "hashmap",
                         .state_cache_bytes =
                             (size_t)json_integer_value(json_object_get(cmd, "stateCacheBytes")),
                         .local = d->local,
                         .hooks = {.ud = d, .ack = on_ack, .remote_out = remote_out}};
    if ((rc = rt_exec_new(d->plan, &d->g, &xc, &d->x, err)))
        goto failed;
    const char *restore = json_string_value(json_object_get(cmd, "restore"));
    if (restore) {
        json_t *meta = NULL;
        char root[PATH_MAX];
        const rt_storage_ops *st;
        const char *path;
        if ((rc = rt_storage_resolve(restore, &st, &path, err)) ||
            (rc = rt_snapshot_load(path, &meta, root, err)) ||
            (rc = rt_exec_restore(d->x, meta, root, path, err))) {
            json_decref(meta);
            goto failed;
        }
        json_decref(meta);
    }
    if ((rc = rt_net_set_target(t->net, d->job_id, d->attempt, d->x, dep_fail, d))) {
        weir_error_set(err, rc, "too many jobs on this TaskManager");
        goto failed;
    }
    if ((rc = rt_exec_start(d->x, err)))
        goto failed;
    char att[16], n[16];
    snprintf(att, sizeof(att), "%u", d->attempt);
    snprintf(n, sizeof(n), "%u", rt_exec_ntasks(d->x));
    log_info("deployed job attempt", "job_id", d->job_id, "attempt", att, "subtasks", n, "restore",
             restore ? restore : "", (const char *)NULL);
    d->state = D_RUNNING;
    goto link;
failed:
    log_error("deployment failed", "job_id", d->job_id, "error", err->msg);
    d->state = D_FAILED;
    dep_release(d);
link:
    pthread_mutex_lock(&t->mu);
    d->next = t->deps;
    t->deps = d;
    pthread_mutex_unlock(&t->mu);
}

static deployment *find_dep(tmgr *t, const json_t *cmd)
{
    const char *job = json_string_value(json_object_get(cmd, "jobId"));
    uint32_t att = (uint32_t)json_integer_value(json_object_get(cmd, "attempt"));
    for (deployment *d = t->deps; job && d; d = d->next)
        if (strcmp(d->job_id, job) == 0 && d->attempt == att)
            return d;
    return NULL;
}

static void handle_command(tmgr *t, const json_t *cmd)
{
    const char *type = json_string_value(json_object_get(cmd, "type"));
    if (!type)
        return;
    if (!strcmp(type, "deploy")) {
        deploy(t, cmd);
        return;
    }
    deployment *d = find_dep(t, cmd);
    if (!d || d->final)
        return;
    if (!strcmp(type, "trigger")) {
        rt_snap_req r = {0};
        r.id = (uint64_t)json_integer_value(json_object_get(cmd, "checkpointId"));
        r.savepoint = json_is_true(json_object_get(cmd, "savepoint"));
        r.stop = json_is_true(json_object_get(cmd, "stop"));
        r.drain = json_is_true(json_object_get(cmd, "drain"));
        const char *root = json_string_value(json_object_get(cmd, "root"));
        const char *excl = json_string_value(json_object_get(cmd, "exclusive"));
        const char *scheme = json_string_value(json_object_get(cmd, "scheme"));
        if (!root || !r.id)
            return;
        snprintf(r.root, sizeof(r.root), "%s", root);
        snprintf(r.excl, sizeof(r.excl), "%s", excl ? excl : "");
        snprintf(r.scheme, sizeof(r.scheme), "%s", scheme ? scheme : "file");
        rt_exec_trigger(d->x, &r);
    } else if (!strcmp(type, "notify"))
        rt_exec_notify_complete(d->x,
                                (uint64_t)json_integer_value(json_object_get(cmd, "checkpointId")));
    else if (!strcmp(type, "cancel")) {
        dep_set(d, D_CANCELED);
        dep_release(d);
    }
}

/* Refreshes the per-second rates of running deployments (about once a second). */
static void update_rates(tmgr *t)
{
    int64_t now = clock_mono_ms();
    pthread_mutex_lock(&t->mu);
    for (deployment *d = t->deps; d; d = d->next) {
        if (d->final || !d->x || !d->rates)
            continue;
        for (uint32_t c = 0; c < d->g.nchains; c++) {
            struct rate *r = &d->rates[c];
            if (r->at_ms && now - r->at_ms < 1000)
                continue;
            rt_exec_counts k;
            rt_exec_chain_counts(d->x, c, &k);
            if (r->at_ms) {
                double sec = (double)(now - r->at_ms) / 1000.0;
                r->in_per_s = (double)(k.rows_in - r->last.rows_in) / sec;
                r->out_per_s = (double)(k.rows_out - r->last.rows_out) / sec;
                r->busy_ms_per_s = (double)(k.busy_ns - r->last.busy_ns) / 1e6 / sec;
                r->bp_ms_per_s =
                    (double)(k.backpressured_ns - r->last.backpressured_ns) / 1e6 / sec;
                /* several subtasks of a chain: Flink reports per subtask, we average */
                uint32_t n = k.running + k.finished;
                if (n > 1) {
                    r->busy_ms_per_s /= n;
                    r->bp_ms_per_s /= n;
                }
            }
            r->last = k;
            r->at_ms = now;
        }
    }
    pthread_mutex_unlock(&t->mu);
}

/* Moves running deployments to FINISHED or FAILED when their subtasks say so. */
static void check_deployments(tmgr *t)
{
    update_rates(t);
    for (deployment *d = t->deps; d; d = d->next) {
        if (d->final || d->state != D_RUNNING)
            continue;
        if (rt_exec_failed(d->x, &d->err) && d->err.code != WEIR_ECANCELED) {
            dep_set(d, D_FAILED);
            dep_release(d);
            continue;
        }
        if (!rt_exec_done(d->x))
            continue;
        bool outs_done = true;
        pthread_mutex_lock(&d->outs_mu);
        for (size_t i = 0; i < d->nouts; i++)
            outs_done = outs_done && rt_net_out_done(d->outs[i]);
        pthread_mutex_unlock(&d->outs_mu);
        if (!outs_done)
            continue;
        if (rt_exec_failed(d->x, &d->err) && d->err.code != WEIR_ECANCELED)
            dep_set(d, D_FAILED);
        else
            dep_set(d, D_FINISHED);
        dep_release(d);
    }
}

static json_t *report(tmgr *t)
{
    json_t *deps = json_array();
    for (deployment *d = t->deps; d; d = d->next) {
        json_t *o = json_pack("{s:s, s:i, s:s}", "jobId", d->job_id, "attempt", (int)d->attempt,
                              "state", dstate_names[d->state]);
        if (d->state == D_FAILED)
            json_object_set_new(o, "error", json_string(d->err.msg));
        if (d->x) {
            json_object_set_new(o, "sourceFinished", json_boolean(rt_exec_source_finished(d->x)));
            json_t *chains = json_array();
            for (uint32_t c = 0; c < d->g.nchains; c++) {
                rt_exec_counts k;
                rt_exec_chain_counts(d->x, c, &k);
                if (!k.running && !k.finished)
                    continue;
                json_array_append_new(
                    chains,
                    json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:i, s:i, s:I}", "chain", (int)c,
                              "rowsIn", (json_int_t)k.rows_in, "rowsOut", (json_int_t)k.rows_out,
                              "lateDropped", (json_int_t)k.late_dropped, "busyNs",
                              (json_int_t)k.busy_ns, "backpressuredNs",
                              (json_int_t)k.backpressured_ns, "running", (int)k.running, "finished",
                              (int)k.finished, "watermark", (json_int_t)k.watermark));
            }
            json_object_set_new(o, "chains", chains);
        }
        json_array_append_new(deps, o);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return json_pack("{s:o, s:I}", "deployments", deps, "maxRssKiB", (json_int_t)ru.ru_maxrss);
}

/* Drops deployments whose final state the JobManager has seen. */
static void drop_reported(tmgr *t, const json_t *reported)
{
    pthread_mutex_lock(&t->mu);
    for (deployment **pp = &t->deps; *pp;) {
        deployment *d = *pp;
        bool seen = false;
        size_t i;
        json_t *v;
        json_array_foreach(reported, i, v)
        {
            if (!strcmp(json_string_value(json_object_get(v, "jobId")), d->job_id) &&
                json_integer_value(json_object_get(v, "attempt")) == (json_int_t)d->attempt &&
                strcmp(json_string_value(json_object_get(v, "state")), "RUNNING") != 0)
                seen = true;
        }
        if (d->final && seen) {
            *pp = d->next;
            dep_free(d);
        } else
            pp = &d->next;
    }
    pthread_mutex_unlock(&t->mu);
}

static void release_all(tmgr *t, const char *why)
{
    pthread_mutex_lock(&t->mu);
    deployment *d = t->deps;
    t->deps = NULL;
    pthread_mutex_unlock(&t->mu);
    if (d)
        log_warn("cancelling every deployment", "reason", why);
    while (d) {
        deployment *n = d->next;
        dep_free(d);
        d = n;
    }
}

/* The address other processes reach this one at: taskmanager.host, else the pod IP the
 * operator passes (_POD_IP_ADDRESS), else the local address of a route to the JobManager
 * (Flink's bind policy "ip"). False while the JobManager's name does not resolve yet (its
 * Service has no endpoints before its pod runs): the caller retries. */
static bool own_host(tmgr *t, const char *jm_host, int jm_port)
{
    const char *h = config_get_string(t->c, "taskmanager.host", NULL);
    if (!h)
        h = getenv("_POD_IP_ADDRESS");
    if (h && *h) {
        snprintf(t->host, sizeof(t->host), "%s", h);
        return true;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *ai = NULL;
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", jm_port);
    if (getaddrinfo(jm_host, ps, &hints, &ai) || !ai)
        return false;
    bool ok = false;
    int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
        getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        char buf[INET6_ADDRSTRLEN];
        const void *a = ss.ss_family == AF_INET6
                            ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                            : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
        if (inet_ntop(ss.ss_family, a, buf, sizeof(buf))) {
            snprintf(t->host, sizeof(t->host), "%s", buf);
            ok = true;
        }
    }
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return ok;
}

/* One task (chain) of a deployment, as the metrics endpoint reports it. */
typedef struct task_row {
    char labels[1024];
    rt_exec_counts k;
    struct rate r;
    bool has_rate;
} task_row;

static double task_value(const task_row *t, int m)
{
    switch (m) {
    case 0:
        return (double)t->k.rows_in;
    case 1:
        return (double)t->k.rows_out;
    case 2:
        return t->r.in_per_s;
    case 3:
        return t->r.out_per_s;
    case 4:
        return t->r.busy_ms_per_s > 1000 ? 1000 : t->r.busy_ms_per_s;
    case 5:
        return t->r.bp_ms_per_s > 1000 ? 1000 : t->r.bp_ms_per_s;
    case 6:
        return t->r.bp_ms_per_s > 100 ? 1 : 0;
    case 7:
        return (double)(t->k.busy_ns / 1000000);
    case 8:
        return (double)(t->k.backpressured_ns / 1000000);
    case 9:
        return (double)t->k.late_dropped;
    default:
        return (double)t->k.watermark;
    }
}

static void metrics_handler(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    tmgr *t = ud;
    static const char *const names[] = {
        "flink_taskmanager_job_task_numRecordsIn",
        "flink_taskmanager_job_task_numRecordsOut",
        "flink_taskmanager_job_task_numRecordsInPerSecond",
        "flink_taskmanager_job_task_numRecordsOutPerSecond",
        "flink_taskmanager_job_task_busyTimeMsPerSecond",
        "flink_taskmanager_job_task_backPressuredTimeMsPerSecond",
        "flink_taskmanager_job_task_isBackPressured",
        "flink_taskmanager_job_task_accumulatedBusyTimeMs",
        "flink_taskmanager_job_task_accumulatedBackPressuredTimeMs",
        "flink_taskmanager_job_task_operator_numLateRecordsDropped",
        "flink_taskmanager_job_task_operator_currentOutputWatermark",
    };
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        http_response_error(resp, 500, "out of memory");
        return;
    }
    task_row *rows = NULL;
    size_t nrows = 0;
    pthread_mutex_lock(&t->mu);
    int used = 0;
    for (deployment *d = t->deps; d; d = d->next) {
        if (d->final || !d->x)
            continue;
        for (uint32_t s = 0; d->local && s < d->g.max_slots; s++)
            used += d->local[s];
        for (uint32_t c = 0; c < d->g.nchains; c++) {
            rt_exec_counts k;
            rt_exec_chain_counts(d->x, c, &k);
            if (!k.running && !k.finished)
                continue;
            task_row *nr = realloc(rows, (nrows + 1) * sizeof(*nr));
            if (!nr)
                break;
            rows = nr;
            task_row *tr = &rows[nrows++];
            memset(tr, 0, sizeof(*tr));
            tr->k = k;
            if (d->rates) {
                tr->r = d->rates[c];
                tr->has_rate = true;
            }
            char name[512];
            rt_graph_chain_name(d->plan, &d->g.chains[c], name, sizeof(name));
            for (char *p = name; *p; p++)
                if (*p == '"' || *p == '\\' || *p == '\n')
                    *p = '_';
            snprintf(tr->labels, sizeof(tr->labels),
                     "tm_id=\"%s\",job_id=\"%s\",task_id=\"%s\",task_name=\"%s\"", t->id, d->job_id,
                     d->g.chains[c].id, name);
        }
    }
    pthread_mutex_unlock(&t->mu);
    fprintf(f, "# TYPE flink_taskmanager_Status_numberOfTaskSlots gauge\n");
    fprintf(f, "flink_taskmanager_Status_numberOfTaskSlots{tm_id=\"%s\"} %d\n", t->id, t->slots);
    fprintf(f, "# TYPE flink_taskmanager_Status_numberOfAvailableTaskSlots gauge\n");
    fprintf(f, "flink_taskmanager_Status_numberOfAvailableTaskSlots{tm_id=\"%s\"} %d\n", t->id,
            t->slots - used);
    for (size_t m = 0; m < sizeof(names) / sizeof(names[0]); m++) {
        fprintf(f, "# TYPE %s gauge\n", names[m]);
        for (size_t i = 0; i < nrows; i++) {
            if ((m >= 2 && m <= 6 && !rows[i].has_rate) ||
                (m == 10 && (rows[i].k.watermark == INT64_MIN || rows[i].k.watermark == INT64_MAX)))
                continue;
            fprintf(f, "%s{%s} %.17g\n", names[m], rows[i].labels, task_value(&rows[i], (int)m));
        }
    }
    free(rows);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(f, "# TYPE flink_taskmanager_Status_Process_MaxRssBytes gauge\n");
    fprintf(f, "flink_taskmanager_Status_Process_MaxRssBytes{tm_id=\"%s\"} %lld\n", t->id,
            (long long)ru.ru_maxrss * 1024);
    fclose(f);
    http_response_set(resp, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len);
    free(buf);
}

static void usage(void)
{
    fprintf(stderr,
            "Usage: weir taskmanager [--configDir DIR] [-Dkey=value ...]\n"
            "\n"
            "Registers taskmanager.numberOfTaskSlots slots with the JobManager at\n"
            "jobmanager.rpc.address:jobmanager.rpc.port and runs the subtasks it deploys.\n");
}

int rt_taskmanager_main(int argc, char **argv)
{
    config *dyn = config_new();
    tmgr t;
    memset(&t, 0, sizeof(t));
    pthread_mutex_init(&t.mu, NULL);
    weir_error err = {0};
    int code = 2;
    const char *conf = NULL;
    if (!dyn || config_parse_args(dyn, &argc, argv, &err)) {
        fprintf(stderr, "weir taskmanager: %s\n", err.msg);
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        if (!argv[i])
            continue;
        if ((!strcmp(argv[i], "--configDir") || !strcmp(argv[i], "--config")) && i + 1 < argc)
            conf = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            code = 0;
            goto out;
        } else {
            fprintf(stderr, "weir taskmanager: unexpected argument '%s'\n", argv[i]);
            usage();
            goto out;
        }
    }
    if (rt_jobconf_load(dyn, conf, &t.c, &err)) {
        fprintf(stderr, "weir taskmanager: configuration: %s\n", err.msg);
        goto out;
    }
    long long slots, jm_port, data_port, hb_int, hb_to;
    const char *jm_host = config_get_string(t.c, "jobmanager.rpc.address", "localhost");
    if (config_get_int_in(t.c, "taskmanager.numberOfTaskSlots", 1, 1, 1024, &slots, &err) ||
        config_get_int_in(t.c, "jobmanager.rpc.port", 6123, 1, 65535, &jm_port, &err) ||
        config_get_int_in(t.c, "taskmanager.data.port", 0, 0, 65535, &data_port, &err) ||
        config_get_duration_ms(t.c, "heartbeat.interval", 10000, &hb_int, &err) ||
        config_get_duration_ms(t.c, "heartbeat.timeout", 50000, &hb_to, &err)) {
        fprintf(stderr, "weir taskmanager: configuration: %s\n", err.msg);
        goto out;
    }
    t.slots = (int)slots;
    t.heartbeat_interval_ms = hb_int;
    t.heartbeat_timeout_ms = hb_to;
    const char *tmpd = config_get_string(t.c, "io.tmp.dirs", "/tmp");
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    for (bool warned = false; !own_host(&t, jm_host, (int)jm_port);) {
        if (stop_requested) {
            code = 0;
            goto out;
        }
        if (!warned)
            log_warn("cannot resolve the JobManager's address yet; retrying", "jobmanager",
                     jm_host);
        warned = true;
        clock_sleep_ms(500);
    }
    const char *bind = config_get_string(t.c, "taskmanager.bind-host", "0.0.0.0");
    if (rt_net_new(bind, (int)data_port, &t.net, &err)) {
        log_error("cannot open the data port", "error", err.msg);
        code = 1;
        goto out;
    }
    char rnd[7];
    random_hex(rnd, 6);
    const char *rid = config_get_string(t.c, "taskmanager.resource-id", NULL);
    if (rid)
        snprintf(t.id, sizeof(t.id), "%s", rid);
    else
        snprintf(t.id, sizeof(t.id), "%s:%d-%s", t.host, rt_net_port(t.net), rnd);
    snprintf(t.tmp, sizeof(t.tmp), "%s/weir-tm-%s", tmpd, rnd);
    snprintf(t.jm_url, sizeof(t.jm_url),
             strchr(jm_host, ':') ? "http://[%s]:%lld" : "http://%s:%lld", jm_host, jm_port);
    http_client_opts ho = {.connect_timeout_ms = 2000, .timeout_ms = 10000};
    if (!(t.http = http_client_new(&ho, &err))) {
        log_error("cannot create the HTTP client", "error", err.msg);
        code = 1;
        goto out;
    }
    /* Prometheus endpoint (metrics.reporter.prom.port), when configured. */
    const char *mport = config_get_string(t.c, "metrics.reporter.prom.port", NULL);
    if (mport) {
        long long mp;
        if (config_get_int_in(t.c, "metrics.reporter.prom.port", 9249, 0, 65535, &mp, &err)) {
            fprintf(stderr, "weir taskmanager: configuration: %s\n", err.msg);
            goto out;
        }
        http_server_opts so = {.port = (int)mp, .thread_pool_size = 1};
        if (!(t.metrics = http_server_new(&so, &err)) ||
            http_server_route(t.metrics, "GET", "/metrics", metrics_handler, &t) ||
            http_server_route(t.metrics, "GET", "/", metrics_handler, &t) ||
            http_server_start(t.metrics, &err)) {
            log_error("cannot start the metrics endpoint", "error", err.msg);
            code = 1;
            goto out;
        }
    }
    char dp[16], sl[16];
    snprintf(dp, sizeof(dp), "%d", rt_net_port(t.net));
    snprintf(sl, sizeof(sl), "%d", t.slots);
    log_info("taskmanager starting", "id", t.id, "data_port", dp, "slots", sl, "jobmanager",
             t.jm_url, (const char *)NULL);
    bool registered = false;
    int64_t last_ok = clock_mono_ms();
    bool warned = false;
    while (!stop_requested) {
        if (!registered) {
            json_t *body =
                json_pack("{s:s, s:s, s:i, s:i, s:i}", "id", t.id, "host", t.host, "dataPort",
                          rt_net_port(t.net), "slots", t.slots, "pid", (int)getpid());
            json_t *ans = NULL;
            weir_error e = {0};
            if (post_json(&t, "/internal/v1/taskmanagers", body, 5000, &ans, &e)) {
                if (!warned)
                    log_warn("cannot register with the JobManager yet; retrying", "error", e.msg);
                warned = true;
                clock_sleep_ms(500);
                continue;
            }
            json_decref(ans);
            registered = true;
            warned = false;
            last_ok = clock_mono_ms();
            log_info("registered with the JobManager", "jobmanager", t.jm_url);
        }
        check_deployments(&t);
        pthread_mutex_lock(&t.mu);
        json_t *rep = report(&t);
        pthread_mutex_unlock(&t.mu);
        json_t *sent = json_incref(json_object_get(rep, "deployments"));
        char path[300];
        snprintf(path, sizeof(path), "/internal/v1/taskmanagers/%s/heartbeat", t.id);
        json_t *ans = NULL;
        weir_error e = {0};
        int rc = post_json(&t, path, rep, 5000, &ans, &e);
        if (rc == WEIR_ENOTFOUND) {
            /* The JobManager does not know us (it restarted): start over. */
            log_warn("the JobManager forgot this TaskManager; registering again", "error", e.msg);
            release_all(&t, "JobManager restarted");
            registered = false;
            json_decref(sent);
            continue;
        }
        if (rc) {
            json_decref(sent);
            if (clock_mono_ms() - last_ok > t.heartbeat_timeout_ms) {
                log_error("JobManager heartbeat timed out", "error", e.msg);
                release_all(&t, "JobManager unreachable");
                registered = false;
            }
            clock_sleep_ms(200);
            continue;
        }
        last_ok = clock_mono_ms();
        drop_reported(&t, sent);
        json_decref(sent);
        size_t i;
        json_t *cmd;
        json_array_foreach(json_object_get(ans, "commands"), i, cmd) handle_command(&t, cmd);
        json_decref(ans);
    }
    log_info("taskmanager stopping", "id", t.id);
    release_all(&t, "TaskManager stopping");
    code = 0;
out:
    http_server_free(t.metrics);
    rt_net_free(t.net);
    http_client_free(t.http);
    config_free(t.c);
    config_free(dyn);
    pthread_mutex_destroy(&t.mu);
    return code;
}
