/*
 * manager.c - informers -> work queue -> workers running the FlinkDeployment reconciler, plus
 * leader election and the HTTP endpoints. See manager.h.
 *
 * Threads: one per informer (list+watch), N workers, the leader elector, the HTTP servers'
 * connection threads. Workers only run while this replica leads (when leader election is on);
 * losing the lease stops the manager at once, so a replica that lost it never writes again.
 */
#include "operator/manager.h"

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/http_client.h"
#include "lib/http_server.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "operator/controller/deployment.h"
#include "operator/controller/lifecycle.h"
#include "operator/controller/sessionjob.h"
#include "operator/controller/snapshot.h"
#include "operator/kube/events.h"
#include "operator/kube/informer.h"
#include "operator/kube/kubeops.h"
#include "operator/kube/leaderelection.h"
#include "operator/kube/workqueue.h"

enum { INF_FD, INF_CM, INF_SVC, INF_DEPLOY, INF_INGRESS, INF_POD, INF_SNAP, INF_SJ, INF_N };
/* FlinkStateSnapshot keys carry this prefix in the shared work queue */
#define SNAP_PREFIX    "FlinkStateSnapshot:"
#define SJ_PREFIX      "FlinkSessionJob:"
#define CHILD_SELECTOR "type=flink-standalone-kubernetes"
/* kubernetes.operator.reconcile.parallelism: upstream's default is 50 threads and -1 means
 * unbounded; here -1 (or more) means this many */
#define MAX_WORKERS 256

struct scope {
    char *ns; /* NULL: all namespaces */
    kubeops_lw *lw[INF_N];
    informer *inf[INF_N];
    struct deployment_ctx ctx;
    struct snapshot_ctx snap_ctx;
    struct sessionjob_ctx sj_ctx;
};

struct manager {
    const opconfig *cfg;
    kube_client *kc;
    struct scope *scopes;
    int nscopes;
    workqueue *q;
    pthread_t workers[MAX_WORKERS];
    int nworkers;
    bool workers_started;
    struct event_ops evops;
    event_recorder *events;
    deployment_applied *applied;
    http_client *rest; /* the JobManagers' REST APIs */
    metrics_registry *reg;
    metrics_family *rec_total, *rec_seconds, *queue_depth, *queue_wait, *kube_requests, *kube_codes,
        *resources, *jm_status, *watch_restarts;
    pthread_mutex_t scrape_mu; /* guards last_stats */
    struct kube_client_stats last_stats;
    http_server *health, *metrics_srv;
    struct kubeops_lease lease_ctx;
    struct leader_lease_ops lease_ops;
    leader_elector *le;
    atomic_bool leading, lost;
};

/* --- event handlers: everything becomes a key in the queue -------------------------------------
 */

static void enqueue_obj(manager *m, const json_t *obj)
{
    char key[600];
    if (informer_key_of(obj, key, sizeof(key)) == 0)
        workqueue_add(m->q, key);
}

static void fd_add(void *arg, const json_t *o)
{
    enqueue_obj(arg, o);
}

static void fd_update(void *arg, const json_t *old, const json_t *o)
{
    (void)old;
    enqueue_obj(arg, o);
}

static void fd_delete(void *arg, const json_t *o)
{
    enqueue_obj(arg, o);
}

/* A child's owner FlinkDeployment key: its ownerReference, or for pods (owned by ReplicaSets)
 * the `app` label our objects carry. */
static void enqueue_owner(manager *m, const json_t *child)
{
    size_t i;
    json_t *ref;
    if (!json_path_get(child, "metadata.ownerReferences") ||
        strcmp(json_path_string(child, "metadata.ownerReferences[0].kind", ""),
               "FlinkDeployment") != 0) {
        const char *app = json_path_string(child, "metadata.labels.app", NULL);
        if (app) {
            char key[600];
            snprintf(key, sizeof(key), "%s/%s", json_path_string(child, "metadata.namespace", ""),
                     app);
            workqueue_add(m->q, key);
        }
        return;
    }
    json_array_foreach(json_path_get(child, "metadata.ownerReferences"), i, ref)
    {
        if (strcmp(json_path_string(ref, "kind", ""), "FlinkDeployment") != 0)
            continue;
        char key[600];
        snprintf(key, sizeof(key), "%s/%s", json_path_string(child, "metadata.namespace", ""),
                 json_path_string(ref, "name", ""));
        workqueue_add(m->q, key);
    }
}

/* A snapshot: its own key, and its FlinkDeployment (which mirrors completed savepoints). */
static void enqueue_snapshot(manager *m, const json_t *o)
{
    char key[700];
    const char *ns = json_path_string(o, "metadata.namespace", "");
    snprintf(key, sizeof(key), SNAP_PREFIX "%s/%s", ns, json_path_string(o, "metadata.name", ""));
    workqueue_add(m->q, key);
    const char *fd = json_path_string(o, "spec.jobReference.name", NULL);
    if (fd && strcmp(json_path_string(o, "status.state", ""), "COMPLETED") == 0) {
        snprintf(key, sizeof(key), "%s/%s", ns, fd);
        workqueue_add(m->q, key);
    }
}

static void snap_add(void *arg, const json_t *o)
{
    enqueue_snapshot(arg, o);
}

static void snap_update(void *arg, const json_t *old, const json_t *o)
{
    (void)old;
    enqueue_snapshot(arg, o);
}

static void snap_delete(void *arg, const json_t *o)
{
    enqueue_snapshot(arg, o);
}

static void enqueue_sessionjob(manager *m, const json_t *o)
{
    char key[700];
    const char *ns = json_path_string(o, "metadata.namespace", "");
    snprintf(key, sizeof(key), SJ_PREFIX "%s/%s", ns, json_path_string(o, "metadata.name", ""));
    workqueue_add(m->q, key);
    /* a session cluster being deleted waits for its session jobs */
    const char *fd = json_path_string(o, "spec.deploymentName", NULL);
    if (fd) {
        snprintf(key, sizeof(key), "%s/%s", ns, fd);
        workqueue_add(m->q, key);
    }
}

static void sj_add(void *arg, const json_t *o)
{
    enqueue_sessionjob(arg, o);
}

static void sj_update(void *arg, const json_t *old, const json_t *o)
{
    (void)old;
    enqueue_sessionjob(arg, o);
}

static void sj_delete(void *arg, const json_t *o)
{
    enqueue_sessionjob(arg, o);
}

static void child_add(void *arg, const json_t *o)
{
    enqueue_owner(arg, o);
}

static void child_update(void *arg, const json_t *old, const json_t *o)
{
    (void)old;
    enqueue_owner(arg, o);
}

static void child_delete(void *arg, const json_t *o)
{
    enqueue_owner(arg, o);
}

/* Keep only what the reconciler reads: no managedFields, no last-applied annotation. */
static json_t *trim(json_t *obj)
{
    json_t *c = json_copy(obj);
    json_t *meta = json_deep_copy(json_object_get(obj, "metadata"));
    json_object_del(meta, "managedFields");
    json_t *ann = json_object_get(meta, "annotations");
    json_object_del(ann, "kubectl.kubernetes.io/last-applied-configuration");
    json_object_set_new(c, "metadata", meta);
    return c;
}

/* --- setup
 * ---------------------------------------------------------------------------------------- */

static int scope_init(manager *m, struct scope *s, const char *ns, weir_error *err)
{
    static const kube_resource *res[INF_N] = {&DEPLOYMENT_RES_FLINKDEPLOYMENTS,
                                              &KUBE_RES_CONFIGMAPS,
                                              &KUBE_RES_SERVICES,
                                              &KUBE_RES_DEPLOYMENTS,
                                              &DEPLOYMENT_RES_INGRESSES,
                                              &KUBE_RES_PODS,
                                              &SNAPSHOT_RES,
                                              &SESSIONJOB_RES};
    static const char *names[INF_N] = {"FlinkDeployment",    "ConfigMap",      "Service",
                                       "Deployment",         "Ingress",        "Pod",
                                       "FlinkStateSnapshot", "FlinkSessionJob"};
    s->ns = ns ? strdup(ns) : NULL;
    for (int i = 0; i < INF_N; i++) {
        const char *sel = i == INF_FD                    ? m->cfg->label_selector
                          : i == INF_SNAP || i == INF_SJ ? NULL
                          : i == INF_POD                 ? CHILD_SELECTOR ",component=jobmanager"
                                                         : CHILD_SELECTOR;
        s->lw[i] = kubeops_lw_new(m->kc, res[i], ns, sel);
        if (!s->lw[i])
            return weir_error_set(err, WEIR_ENOMEM, "out of memory");
        struct informer_lw ops;
        kubeops_lw_ops(s->lw[i], &ops);
        struct informer_handlers h =
            i == INF_FD     ? (struct informer_handlers){m, fd_add, fd_update, fd_delete}
            : i == INF_SNAP ? (struct informer_handlers){m, snap_add, snap_update, snap_delete}
            : i == INF_SJ   ? (struct informer_handlers){m, sj_add, sj_update, sj_delete}
                            : (struct informer_handlers){m, child_add, child_update, child_delete};
        struct informer_options io = {.name = names[i],
                                      .transform = i == INF_FD || i == INF_SNAP || i == INF_SJ
                                                       ? trim
                                                   : i == INF_POD ? deployment_trim_pod
                                                                  : deployment_trim_child};
        s->inf[i] = informer_new(&ops, &h, &io);
        if (!s->inf[i])
            return weir_error_set(err, WEIR_ENOMEM, "out of memory");
        if (i == INF_POD && informer_add_index(s->inf[i], "app", deployment_index_app) != 0)
            return weir_error_set(err, WEIR_ENOMEM, "out of memory");
        if (i == INF_SNAP && informer_add_index(s->inf[i], "job", snapshot_index_job) != 0)
            return weir_error_set(err, WEIR_ENOMEM, "out of memory");
        if (i == INF_SJ &&
            informer_add_index(s->inf[i], "deployment", sessionjob_index_deployment) != 0)
            return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    }
    s->ctx = (struct deployment_ctx){.kc = m->kc,
                                     .cfg = m->cfg,
                                     .flinkdeployments = s->inf[INF_FD],
                                     .configmaps = s->inf[INF_CM],
                                     .services = s->inf[INF_SVC],
                                     .deployments = s->inf[INF_DEPLOY],
                                     .ingresses = s->inf[INF_INGRESS],
                                     .pods = s->inf[INF_POD],
                                     .events = m->events,
                                     .applied = m->applied,
                                     .rest = m->rest,
                                     .snapshots = s->inf[INF_SNAP],
                                     .sessionjobs = s->inf[INF_SJ]};
    s->sj_ctx = (struct sessionjob_ctx){.kc = m->kc,
                                        .cfg = m->cfg,
                                        .sessionjobs = s->inf[INF_SJ],
                                        .flinkdeployments = s->inf[INF_FD],
                                        .services = s->inf[INF_SVC],
                                        .snapshots = s->inf[INF_SNAP],
                                        .events = m->events,
                                        .rest = m->rest};
    s->snap_ctx = (struct snapshot_ctx){.kc = m->kc,
                                        .cfg = m->cfg,
                                        .snapshots = s->inf[INF_SNAP],
                                        .flinkdeployments = s->inf[INF_FD],
                                        .sessionjobs = s->inf[INF_SJ],
                                        .services = s->inf[INF_SVC],
                                        .events = m->events,
                                        .rest = m->rest};
    return 0;
}

static int metrics_init(manager *m, weir_error *err)
{
    m->reg = metrics_registry_new();
    if (!m->reg)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    static const double secs[] = {.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
    m->rec_total = metrics_counter(m->reg, "weir_operator_reconcile_total",
                                   "Reconciles by resource kind and result.",
                                   (const char *[]){"kind", "result", NULL}, err);
    m->rec_seconds = metrics_histogram(m->reg, "weir_operator_reconcile_duration_seconds",
                                       "Time spent in one reconcile.",
                                       (const char *[]){"kind", NULL}, secs, 13, err);
    m->queue_depth =
        metrics_gauge(m->reg, "weir_operator_workqueue_depth",
                      "Keys waiting in the work queue (ready and delayed).", NULL, err);
    m->queue_wait =
        metrics_histogram(m->reg, "weir_operator_workqueue_wait_seconds",
                          "How long a key waited before a worker took it.", NULL, secs, 13, err);
    m->kube_requests = metrics_counter(m->reg, "weir_operator_kube_requests_total",
                                       "Kubernetes API requests by verb (failed: errors).",
                                       (const char *[]){"verb", NULL}, err);
    m->kube_codes = metrics_counter(m->reg, "weir_operator_kube_responses_total",
                                    "Kubernetes API responses by status class (none: no answer).",
                                    (const char *[]){"code", NULL}, err);
    m->watch_restarts = metrics_counter(m->reg, "weir_operator_watch_restarts_total",
                                        "Watches that ended and were reopened, by kind.",
                                        (const char *[]){"kind", NULL}, err);
    m->resources =
        metrics_gauge(m->reg, "flink_k8soperator_namespace_Lifecycle_State_Count",
                      "Resources by namespace, kind and lifecycle state (upstream's name).",
                      (const char *[]){"resourcens", "resourcetype", "state", NULL}, err);
    m->jm_status = metrics_gauge(
        m->reg, "flink_k8soperator_namespace_JmDeploymentStatus_Count",
        "FlinkDeployments by namespace and JobManager deployment status (upstream's name).",
        (const char *[]){"resourcens", "status", NULL}, err);
    if (!m->rec_total || !m->rec_seconds || !m->queue_depth || !m->queue_wait ||
        !m->kube_requests || !m->kube_codes || !m->watch_restarts || !m->resources || !m->jm_status)
        return err ? err->code : WEIR_EINTERNAL;
    return 0;
}

manager *manager_new(const opconfig *cfg, kube_client *kc, weir_error *err)
{
    manager *m = calloc(1, sizeof(*m));
    if (!m) {
        weir_error_set(err, WEIR_ENOMEM, "out of memory");
        return NULL;
    }
    m->cfg = cfg;
    m->kc = kc;
    pthread_mutex_init(&m->scrape_mu, NULL);
    struct workqueue_options qo = {.base_delay_ms = 5, .max_delay_ms = cfg->retry_max_ms};
    m->q = workqueue_new(&qo);
    kubeops_event_ops(kc, &m->evops);
    m->events = events_new(&m->evops, "weir-operator", cfg->identity, NULL);
    m->applied = deployment_applied_new();
    m->rest = http_client_new(&(http_client_opts){.connect_timeout_ms = 2000,
                                                  .timeout_ms = cfg->flink_client_timeout_ms,
                                                  .max_response_bytes = 4u << 20},
                              err);
    if (!m->q || !m->events || !m->applied || !m->rest || metrics_init(m, err) != 0)
        goto fail;
    m->nscopes = cfg->n_namespaces ? cfg->n_namespaces : 1;
    m->scopes = calloc((size_t)m->nscopes, sizeof(*m->scopes));
    if (!m->scopes)
        goto fail;
    for (int i = 0; i < m->nscopes; i++)
        if (scope_init(m, &m->scopes[i], cfg->n_namespaces ? cfg->watched_namespaces[i] : NULL,
                       err) != 0)
            goto fail;
    int par = cfg->reconcile_parallelism;
    m->nworkers = par < 0 || par > MAX_WORKERS ? MAX_WORKERS : par;
    return m;
fail:
    if (err && !err->code)
        weir_error_set(err, WEIR_ENOMEM, "out of memory");
    manager_free(m);
    return NULL;
}

void manager_free(manager *m)
{
    if (!m)
        return;
    for (int i = 0; m->scopes && i < m->nscopes; i++) {
        for (int k = 0; k < INF_N; k++) {
            if (m->scopes[i].inf[k])
                informer_stop(m->scopes[i].inf[k]);
            informer_free(m->scopes[i].inf[k]);
            kubeops_lw_free(m->scopes[i].lw[k]);
        }
        free(m->scopes[i].ns);
    }
    free(m->scopes);
    http_server_free(m->health);
    http_server_free(m->metrics_srv);
    leader_free(m->le);
    events_free(m->events);
    deployment_applied_free(m->applied);
    http_client_free(m->rest);
    workqueue_free(m->q);
    metrics_registry_free(m->reg);
    pthread_mutex_destroy(&m->scrape_mu);
    free(m);
}

/* --- workers
 * -------------------------------------------------------------------------------------- */

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct scope *scope_of(manager *m, const char *key)
{
    if (strncmp(key, SNAP_PREFIX, strlen(SNAP_PREFIX)) == 0)
        key += strlen(SNAP_PREFIX);
    else if (strncmp(key, SJ_PREFIX, strlen(SJ_PREFIX)) == 0)
        key += strlen(SJ_PREFIX);
    if (m->nscopes == 1 && !m->scopes[0].ns)
        return &m->scopes[0];
    const char *slash = strchr(key, '/');
    size_t n = slash ? (size_t)(slash - key) : 0;
    for (int i = 0; i < m->nscopes; i++)
        if (strlen(m->scopes[i].ns) == n && strncmp(m->scopes[i].ns, key, n) == 0)
            return &m->scopes[i];
    return NULL;
}

static void *worker_main(void *arg)
{
    manager *m = arg;
    char *key;
    long long waited;
    /* per kind: 0 FlinkDeployment, 1 FlinkStateSnapshot, 2 FlinkSessionJob */
    static const char *const kinds[3] = {"FlinkDeployment", "FlinkStateSnapshot",
                                         "FlinkSessionJob"};
    metrics_series *oks[3], *bads[3], *durs[3];
    for (int k = 0; k < 3; k++) {
        oks[k] = metrics_series_get(m->rec_total, (const char *[]){kinds[k], "success"});
        bads[k] = metrics_series_get(m->rec_total, (const char *[]){kinds[k], "error"});
        durs[k] = metrics_series_get(m->rec_seconds, (const char *[]){kinds[k]});
    }
    metrics_series *wait = metrics_series_get(m->queue_wait, NULL);
    while (workqueue_get(m->q, &key, &waited) == 0) {
        metrics_observe(wait, (double)waited / 1000.0);
        struct scope *s = scope_of(m, key);
        long requeue = 0;
        weir_error err = {0};
        int rc = 0;
        long long t0 = mono_ms();
        bool snap = strncmp(key, SNAP_PREFIX, strlen(SNAP_PREFIX)) == 0;
        bool sj = strncmp(key, SJ_PREFIX, strlen(SJ_PREFIX)) == 0;
        if (s && !atomic_load(&m->lost))
            rc = snap ? snapshot_reconcile(&s->snap_ctx, key + strlen(SNAP_PREFIX), &requeue, &err)
                 : sj ? sessionjob_reconcile(&s->sj_ctx, key + strlen(SJ_PREFIX), &requeue, &err)
                      : deployment_reconcile(&s->ctx, key, &requeue, &err);
        int kind = snap ? 1 : sj ? 2 : 0;
        metrics_observe(durs[kind], (double)(mono_ms() - t0) / 1000.0);
        if (rc) {
            metrics_add(bads[kind], 1);
            char backoff[32];
            snprintf(backoff, sizeof(backoff), "%ld", workqueue_next_backoff_ms(m->q, key));
            log_warn("reconcile failed, retrying", "key", key, "error",
                     err.msg[0] ? err.msg : weir_strerror(rc), "backoff_ms", backoff);
            workqueue_add_rate_limited(m->q, key);
        } else {
            metrics_add(oks[kind], 1);
            workqueue_forget(m->q, key);
            if (requeue > 0)
                workqueue_add_after(m->q, key, requeue);
        }
        workqueue_done(m->q, key);
        free(key);
    }
    return NULL;
}

static void start_workers(manager *m)
{
    if (m->workers_started)
        return;
    int started = 0;
    for (int i = 0; i < m->nworkers; i++)
        if (pthread_create(&m->workers[started], NULL, worker_main, m) == 0)
            started++;
    if (started < m->nworkers) {
        char want[16];
        snprintf(want, sizeof(want), "%d", m->nworkers);
        log_warn("could not start every worker", "wanted", want);
    }
    m->nworkers = started;
    m->workers_started = true;
    char n[16];
    snprintf(n, sizeof(n), "%d", m->nworkers);
    log_info("workers started", "workers", n);
}

static void on_started_leading(void *arg)
{
    manager *m = arg;
    atomic_store(&m->leading, true);
    log_info("became the leader", "identity", m->cfg->identity);
}

static void on_stopped_leading(void *arg)
{
    manager *m = arg;
    if (atomic_load(&m->leading)) {
        atomic_store(&m->lost, true); /* workers stop writing now */
        log_error("lost the leader lease: stopping", "identity", m->cfg->identity);
    }
}

/* --- HTTP ----------------------------------------------------------------------------------------
 */

static bool synced(manager *m)
{
    for (int i = 0; i < m->nscopes; i++)
        for (int k = 0; k < INF_N; k++)
            if (!informer_has_synced(m->scopes[i].inf[k]))
                return false;
    return true;
}

static void h_healthz(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    manager *m = ud;
    if (atomic_load(&m->lost))
        http_response_set(resp, 500, "text/plain", "leader lease lost\n", 18);
    else
        http_response_set(resp, 200, "text/plain", "OK\n", 3);
}

static void h_readyz(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    manager *m = ud;
    if (synced(m))
        http_response_set(resp, 200, "text/plain", "OK\n", 3);
    else
        http_response_set(resp, 503, "text/plain", "caches not synced\n", 18);
}

static void add_delta(metrics_family *f, const char *verb, unsigned long now, unsigned long last)
{
    if (now > last)
        metrics_add(metrics_series_get(f, (const char *[]){verb}), (double)(now - last));
    else
        metrics_add(metrics_series_get(f, (const char *[]){verb}), 0);
}

/* Refreshes the values computed from state (queue, API counters, resources) and renders. */
static void h_metrics(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    manager *m = ud;
    pthread_mutex_lock(&m->scrape_mu);
    metrics_set(metrics_series_get(m->queue_depth, NULL),
                (double)(workqueue_len(m->q) + workqueue_delayed_len(m->q)));
    struct kube_client_stats st;
    kube_client_get_stats(m->kc, &st);
    add_delta(m->kube_requests, "GET", st.get, m->last_stats.get);
    add_delta(m->kube_requests, "POST", st.post, m->last_stats.post);
    add_delta(m->kube_requests, "PUT", st.put, m->last_stats.put);
    add_delta(m->kube_requests, "PATCH", st.patch, m->last_stats.patch);
    add_delta(m->kube_requests, "DELETE", st.del, m->last_stats.del);
    add_delta(m->kube_requests, "WATCH", st.watch, m->last_stats.watch);
    add_delta(m->kube_requests, "failed", st.failed, m->last_stats.failed);
    static const char *const classes[6] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (int c = 0; c < 6; c++)
        if (c != 1)
            add_delta(m->kube_codes, classes[c], st.code[c], m->last_stats.code[c]);
    m->last_stats = st;
    for (int i = 0; i < m->nscopes; i++) {
        static const char *kinds[INF_N] = {"FlinkDeployment", "ConfigMap", "Service", "Deployment",
                                           "Ingress"};
        for (int k = 0; k < INF_N; k++) {
            struct informer_stats is;
            informer_get_stats(m->scopes[i].inf[k], &is);
            metrics_series *s = metrics_series_get(m->watch_restarts, (const char *[]){kinds[k]});
            double have = metrics_value(s);
            if ((double)is.watch_restarts > have)
                metrics_add(s, (double)is.watch_restarts - have);
        }
        /* resources by lifecycle state and JobManager status, recounted from the cache */
        json_t *keys = informer_keys(m->scopes[i].inf[INF_FD]);
        size_t j;
        json_t *kv;
        json_t *counts = json_object(), *jm = json_object();
        json_array_foreach(keys, j, kv)
        {
            json_t *fd = informer_get(m->scopes[i].inf[INF_FD], json_string_value(kv));
            if (!fd)
                continue;
            char ck[400];
            const char *ns = json_path_string(fd, "metadata.namespace", "");
            snprintf(ck, sizeof(ck), "%s\x1f%s", ns,
                     json_path_string(fd, "status.lifecycleState", "CREATED"));
            json_object_set_new(counts, ck,
                                json_integer(json_integer_value(json_object_get(counts, ck)) + 1));
            snprintf(ck, sizeof(ck), "%s\x1f%s", ns,
                     json_path_string(fd, "status.jobManagerDeploymentStatus", "MISSING"));
            json_object_set_new(jm, ck,
                                json_integer(json_integer_value(json_object_get(jm, ck)) + 1));
            json_decref(fd);
        }
        const char *ck;
        json_t *cv;
        json_object_foreach(counts, ck, cv)
        {
            char buf[400];
            snprintf(buf, sizeof(buf), "%s", ck);
            char *sep = strchr(buf, '\x1f');
            *sep = '\0';
            metrics_set(
                metrics_series_get(m->resources, (const char *[]){buf, "FlinkDeployment", sep + 1}),
                (double)json_integer_value(cv));
        }
        json_object_foreach(jm, ck, cv)
        {
            char buf[400];
            snprintf(buf, sizeof(buf), "%s", ck);
            char *sep = strchr(buf, '\x1f');
            *sep = '\0';
            metrics_set(metrics_series_get(m->jm_status, (const char *[]){buf, sep + 1}),
                        (double)json_integer_value(cv));
        }
        json_decref(counts);
        json_decref(jm);
        json_decref(keys);
    }
    char *text = metrics_render(m->reg);
    pthread_mutex_unlock(&m->scrape_mu);
    if (!text) {
        http_response_error(resp, 500, "out of memory");
        return;
    }
    http_response_set(resp, 200, METRICS_CONTENT_TYPE, text, strlen(text));
    free(text);
}

static int start_http(manager *m, weir_error *err)
{
    http_server_opts ho = {.bind_address = m->cfg->bind_address, .port = m->cfg->health_port};
    m->health = http_server_new(&ho, err);
    if (!m->health)
        return err ? err->code : WEIR_ENOMEM;
    int rc = 0;
    if ((rc = http_server_route(m->health, "GET", "/healthz", h_healthz, m)) ||
        (rc = http_server_route(m->health, "GET", "/", h_healthz, m)) ||
        (rc = http_server_route(m->health, "GET", "/readyz", h_readyz, m)))
        return weir_error_set(err, rc, "http routes");
    if (m->cfg->metrics_port == m->cfg->health_port) {
        if ((rc = http_server_route(m->health, "GET", "/metrics", h_metrics, m)))
            return weir_error_set(err, rc, "http routes");
    } else {
        http_server_opts mo = {.bind_address = m->cfg->bind_address, .port = m->cfg->metrics_port};
        m->metrics_srv = http_server_new(&mo, err);
        if (!m->metrics_srv)
            return err ? err->code : WEIR_ENOMEM;
        if ((rc = http_server_route(m->metrics_srv, "GET", "/metrics", h_metrics, m)))
            return weir_error_set(err, rc, "http routes");
        if ((rc = http_server_start(m->metrics_srv, err)))
            return rc;
    }
    return http_server_start(m->health, err);
}

/* --- run
 * ------------------------------------------------------------------------------------------ */

int manager_run(manager *m, const atomic_bool *stop, weir_error *err)
{
    int rc = start_http(m, err);
    if (rc)
        return rc;
    char ports[64];
    snprintf(ports, sizeof(ports), "%d/%d", http_server_port(m->health),
             m->metrics_srv ? http_server_port(m->metrics_srv) : http_server_port(m->health));
    log_info("serving health and metrics", "ports", ports);
    for (int i = 0; i < m->nscopes; i++)
        for (int k = 0; k < INF_N; k++)
            if ((rc = informer_start(m->scopes[i].inf[k])))
                return weir_error_set(err, rc, "cannot start informer");
    if (m->cfg->leader_election) {
        m->lease_ctx = (struct kubeops_lease){m->kc, m->cfg->lease_namespace, m->cfg->lease_name};
        kubeops_lease_ops(&m->lease_ctx, &m->lease_ops);
        struct leader_options lo = {.identity = m->cfg->identity,
                                    .lease_name = m->cfg->lease_name,
                                    .namespace = m->cfg->lease_namespace,
                                    .lease_duration_ms = m->cfg->lease_duration_ms,
                                    .renew_deadline_ms = m->cfg->renew_deadline_ms,
                                    .retry_period_ms = m->cfg->retry_period_ms,
                                    .arg = m,
                                    .on_started_leading = on_started_leading,
                                    .on_stopped_leading = on_stopped_leading};
        m->le = leader_new(&m->lease_ops, &lo);
        if (!m->le || leader_start(m->le) != 0)
            return weir_error_set(err, WEIR_EINVAL, "cannot start leader election");
    } else {
        atomic_store(&m->leading, true);
    }
    /* events are written by a sender thread of their own, off the reconcile path */
    if ((rc = events_start(m->events)))
        return weir_error_set(err, rc, "cannot start the event sender");
    /* workers start once caches are synced (and, with leader election, once we lead) */
    long long last_trim = mono_ms();
    while (!atomic_load(stop) && !atomic_load(&m->lost)) {
        if (!m->workers_started && atomic_load(&m->leading) && synced(m))
            start_workers(m);
        /* hand memory freed after a burst back to the system (cheap when there is none) */
        if (mono_ms() - last_trim > 10000) {
            malloc_trim(0);
            last_trim = mono_ms();
        }
        usleep(20000);
    }
    bool lost = atomic_load(&m->lost);
    if (lost)
        (void)events_stop(m->events, 0); /* a replica that lost the lease writes no more */
    log_info("stopping: finishing reconciles in flight");
    workqueue_shutdown(m->q);
    if (m->workers_started)
        for (int i = 0; i < m->nworkers; i++)
            pthread_join(m->workers[i], NULL);
    if (!lost && events_stop(m->events, 2000) == WEIR_ETIMEDOUT)
        log_warn("events not written before exit were discarded");
    if (m->le)
        leader_stop(m->le, true);
    for (int i = 0; i < m->nscopes; i++)
        for (int k = 0; k < INF_N; k++)
            informer_stop(m->scopes[i].inf[k]);
    http_server_stop(m->health, 1000);
    if (m->metrics_srv)
        http_server_stop(m->metrics_srv, 1000);
    if (lost)
        return weir_error_set(err, WEIR_ESTATE, "leader lease lost");
    return 0;
}
