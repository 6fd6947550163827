/*
 * coord.c - checkpoint and savepoint bookkeeping (see coord.h).
 *
 * Layout (Flink's): <checkpoint dir>/<job id>/chk-<n>/_metadata, operator files in
 * chk-<n>/<uid>-<subtask>/, incremental RocksDB files in <job id>/shared/. A savepoint is one
 * self-contained directory <savepoint dir>/savepoint-<6 hex>-<12 hex>/ with its _metadata.
 * The metadata is JSON (docs/runtime.md); "root" says where handle paths start.
 *
 * Layer: runtime/engine.
 */
#include "lib/random.h"
#include "runtime/engine/coord.h"

#include "lib/clock.h"
#include "lib/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HISTORY 16

typedef struct completed {
    uint64_t id;
    char dir[PATH_MAX];
    json_t *shared; /* shared paths it references */
} completed;

struct rt_coord {
    const rt_plan *plan;
    const rt_graph *graph;
    char job_id[33];
    const rt_storage_ops *cs, *ss;
    const char *sp_dir;
    char root[PATH_MAX]; /* <checkpoint dir>/<job id>, "" without checkpoints */
    int num_retained;
    pthread_mutex_t mu;
    uint64_t next_id;
    /* pending */
    uint64_t pend_id;
    bool pend_savepoint, pend_stop;
    const rt_storage_ops *pend_storage;
    char pend_dir[PATH_MAX];
    json_t *pend_ops;
    uint32_t pend_acks;
    int64_t pend_started;
    /* done */
    completed *done;
    size_t ndone;
    char latest[PATH_MAX];
    uint64_t latest_id;
    /* statistics */
    rt_snap_stat hist[HISTORY]; /* ring, newest at (hpos - 1) */
    size_t hpos, hlen;
    uint64_t n_completed, n_failed;
};

int rt_coord_new(const rt_plan *p, const rt_graph *g, const rt_coord_opts *o, rt_coord **out,
                 weir_error *err)
{
    rt_coord *c = calloc(1, sizeof(*c));
    if (!c)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    c->plan = p;
    c->graph = g;
    snprintf(c->job_id, sizeof(c->job_id), "%s", o->job_id);
    c->num_retained = o->num_retained > 0 ? o->num_retained : 1;
    pthread_mutex_init(&c->mu, NULL);
    int rc = 0;
    if (o->checkpoint_dir) {
        const char *d;
        if ((rc = rt_storage_resolve(o->checkpoint_dir, &c->cs, &d, err))) {
            weir_error_prefix(err, "state.checkpoints.dir");
            goto fail;
        }
        snprintf(c->root, sizeof(c->root), "%s/%s", d, c->job_id);
        if ((rc = c->cs->mkdirs(c->root, err))) {
            weir_error_prefix(err, "state.checkpoints.dir");
            goto fail;
        }
    }
    if (o->savepoint_dir && (rc = rt_storage_resolve(o->savepoint_dir, &c->ss, &c->sp_dir, err))) {
        weir_error_prefix(err, "state.savepoints.dir");
        goto fail;
    }
    *out = c;
    return 0;
fail:
    rt_coord_free(c);
    return rc;
}

void rt_coord_free(rt_coord *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->ndone; i++)
        json_decref(c->done[i].shared);
    free(c->done);
    json_decref(c->pend_ops);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

bool rt_coord_has_checkpoints(const rt_coord *c)
{
    return c->root[0] != '\0';
}

static rt_snap_stat *hist_find(rt_coord *c, uint64_t id)
{
    for (size_t i = 0; i < c->hlen; i++) {
        rt_snap_stat *s = &c->hist[(c->hpos + HISTORY - 1 - i) % HISTORY];
        if (s->id == id)
            return s;
    }
    return NULL;
}

static void hist_end(rt_coord *c, uint64_t id, rt_snap_status st, const char *why)
{
    rt_snap_stat *s = hist_find(c, id);
    if (!s)
        return;
    s->status = st;
    s->end_ts = clock_epoch_ms();
    s->acks = c->pend_acks;
    if (why)
        snprintf(s->failure, sizeof(s->failure), "%s", why);
    if (st == RT_SNAP_COMPLETED)
        c->n_completed++;
    else if (st == RT_SNAP_FAILED)
        c->n_failed++;
}

int rt_coord_begin(rt_coord *c, bool savepoint, bool stop, bool drain, const char *target_dir,
                   rt_snap_req *req, weir_error *err)
{
    const rt_storage_ops *st = savepoint ? c->ss : c->cs;
    const char *spdir = c->sp_dir;
    if (savepoint && target_dir && *target_dir) {
        if (rt_storage_resolve(target_dir, &st, &spdir, err))
            return weir_error_prefix(err, "target directory");
    }
    if (!st)
        return weir_error_set(err, WEIR_EINVAL,
                              savepoint ? "no savepoint directory: set state.savepoints.dir or "
                                          "give a target directory"
                                        : "no state.checkpoints.dir configured");
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    if (c->pend_id) {
        rc = weir_error_set(err, WEIR_ESTATE, "snapshot %llu is still in progress",
                            (unsigned long long)c->pend_id);
        goto out;
    }
    uint64_t id = ++c->next_id;
    memset(req, 0, sizeof(*req));
    req->id = id;
    req->savepoint = savepoint;
    req->stop = stop;
    req->drain = stop && drain;
    snprintf(req->scheme, sizeof(req->scheme), "%s", st->scheme);
    json_decref(c->pend_ops);
    c->pend_ops = json_object();
    for (uint32_t i = 0; i < c->plan->nops; i++) {
        const rt_plan_op *op = &c->plan->ops[i];
        if (!rt_plan_op_stateful(op))
            continue;
        json_t *subs = json_array();
        for (uint32_t s = 0; s < op->parallelism; s++)
            json_array_append_new(subs, json_null());
        json_object_set_new(c->pend_ops, op->uid,
                            json_pack("{s:s, s:s, s:i, s:o}", "id", op->id, "type",
                                      rt_op_type_name(op->type), "parallelism",
                                      (int)op->parallelism, "subtasks", subs));
    }
    if (savepoint) {
        char rnd[13];
        random_hex(rnd, 12);
        snprintf(c->pend_dir, sizeof(c->pend_dir), "%s/savepoint-%.6s-%s", spdir, c->job_id, rnd);
        snprintf(req->root, sizeof(req->root), "%s", c->pend_dir);
    } else {
        snprintf(c->pend_dir, sizeof(c->pend_dir), "%s/chk-%llu", c->root, (unsigned long long)id);
        snprintf(req->root, sizeof(req->root), "%s", c->root);
        snprintf(req->excl, sizeof(req->excl), "chk-%llu", (unsigned long long)id);
    }
    if (!(rc = st->mkdirs(c->pend_dir, err)) && !savepoint) {
        char shared[PATH_MAX + 8];
        snprintf(shared, sizeof(shared), "%s/shared", c->root);
        rc = st->mkdirs(shared, err);
    }
    if (rc)
        goto out;
    c->pend_id = id;
    c->pend_savepoint = savepoint;
    c->pend_stop = stop;
    c->pend_storage = st;
    c->pend_acks = 0;
    c->pend_started = clock_epoch_ms();
    rt_snap_stat *h = &c->hist[c->hpos];
    memset(h, 0, sizeof(*h));
    h->id = id;
    h->savepoint = savepoint;
    h->stop = stop;
    h->status = RT_SNAP_IN_PROGRESS;
    h->trigger_ts = c->pend_started;
    h->nsubtasks = c->graph->ntasks;
    snprintf(h->path, sizeof(h->path), "%s", c->pend_dir);
    c->hpos = (c->hpos + 1) % HISTORY;
    if (c->hlen < HISTORY)
        c->hlen++;
    log_debug(savepoint ? "triggered savepoint" : "triggered checkpoint", "dir", c->pend_dir);
out:
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void rt_coord_ack(rt_coord *c, uint64_t id, uint32_t subtask, json_t *states)
{
    pthread_mutex_lock(&c->mu);
    if (c->pend_id == id && id) {
        const char *uid;
        json_t *o;
        json_object_foreach(states, uid, o)
        {
            json_t *subs = json_object_get(json_object_get(c->pend_ops, uid), "subtasks");
            if (json_is_array(subs) && subtask < json_array_size(subs))
                json_array_set(subs, subtask, o);
        }
        c->pend_acks++;
        rt_snap_stat *h = hist_find(c, id);
        if (h)
            h->acks = c->pend_acks;
    }
    pthread_mutex_unlock(&c->mu);
    json_decref(states);
}

uint64_t rt_coord_pending(rt_coord *c, bool *all_acked, int64_t *started_ms, bool *savepoint,
                          bool *stop)
{
    pthread_mutex_lock(&c->mu);
    uint64_t id = c->pend_id;
    if (all_acked)
        *all_acked = id && c->pend_acks >= c->graph->ntasks;
    if (started_ms)
        *started_ms = c->pend_started;
    if (savepoint)
        *savepoint = c->pend_savepoint;
    if (stop)
        *stop = c->pend_stop;
    pthread_mutex_unlock(&c->mu);
    return id;
}

static void collect_shared(json_t *v, json_t *out)
{
    if (json_is_object(v)) {
        json_t *files = json_object_get(v, "files");
        size_t i;
        json_t *f;
        json_array_foreach(files, i, f)
        {
            if (json_is_true(json_object_get(f, "shared")))
                json_array_append(out, json_object_get(f, "path"));
        }
        const char *k;
        json_t *ch;
        json_object_foreach(v, k, ch)
        {
            if (strcmp(k, "files") != 0)
                collect_shared(ch, out);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *ch;
        json_array_foreach(v, i, ch) collect_shared(ch, out);
    }
}

static bool referenced(rt_coord *c, const char *path);

/* Sums the sizes of the files in handles below `v`: all, and those written for this snapshot
 * (exclusive files, and shared files no retained checkpoint references yet). */
static void sum_sizes(rt_coord *c, json_t *v, uint64_t *all, uint64_t *fresh)
{
    if (json_is_object(v)) {
        json_t *files = json_object_get(v, "files");
        size_t i;
        json_t *f;
        json_array_foreach(files, i, f)
        {
            json_int_t sz = json_integer_value(json_object_get(f, "size"));
            if (sz <= 0)
                continue;
            *all += (uint64_t)sz;
            const char *path = json_string_value(json_object_get(f, "path"));
            if (!json_is_true(json_object_get(f, "shared")) || !path || !referenced(c, path))
                *fresh += (uint64_t)sz;
        }
        const char *k;
        json_t *ch;
        json_object_foreach(v, k, ch)
        {
            if (strcmp(k, "files") != 0)
                sum_sizes(c, ch, all, fresh);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *ch;
        json_array_foreach(v, i, ch) sum_sizes(c, ch, all, fresh);
    }
}

static bool referenced(rt_coord *c, const char *path)
{
    for (size_t i = 0; i < c->ndone; i++) {
        size_t k;
        json_t *p;
        json_array_foreach(c->done[i].shared, k, p)
        {
            if (strcmp(json_string_value(p), path) == 0)
                return true;
        }
    }
    return false;
}

int rt_coord_complete(rt_coord *c, char *path, weir_error *err)
{
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    json_t *meta = NULL;
    if (!c->pend_id) {
        rc = weir_error_set(err, WEIR_ESTATE, "no snapshot in progress");
        goto out;
    }
    meta =
        json_pack("{s:i, s:s, s:s, s:I, s:I, s:s, s:s, s:i, s:O}", "version", 1, "kind",
                  c->pend_savepoint ? "savepoint" : "checkpoint", "jobId", c->job_id,
                  "checkpointId", (json_int_t)c->pend_id, "timestamp", (json_int_t)clock_epoch_ms(),
                  "root", c->pend_savepoint ? "." : "..", "planName", c->plan->name,
                  "maxParallelism", (int)c->plan->max_parallelism, "operators", c->pend_ops);
    char *text = meta ? json_dumps(meta, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
    char file[PATH_MAX + 16];
    snprintf(file, sizeof(file), "%s/_metadata", c->pend_dir);
    rc = text ? c->pend_storage->write_atomic(file, text, strlen(text), err)
              : weir_error_set(err, WEIR_ENOMEM, "out of memory");
    free(text);
    if (rc) {
        hist_end(c, c->pend_id, RT_SNAP_FAILED, err->msg);
        c->pend_storage->remove_tree(c->pend_dir);
        c->pend_id = 0;
        goto out;
    }
    int64_t took = clock_epoch_ms() - c->pend_started;
    char idb[24], tb[24];
    snprintf(idb, sizeof(idb), "%llu", (unsigned long long)c->pend_id);
    snprintf(tb, sizeof(tb), "%lld", (long long)took);
    if (path)
        snprintf(path, PATH_MAX, "%s", c->pend_dir);
    rt_snap_stat *h = hist_find(c, c->pend_id);
    if (h) {
        h->state_bytes = h->checkpointed_bytes = 0;
        sum_sizes(c, c->pend_ops, &h->state_bytes, &h->checkpointed_bytes);
    }
    hist_end(c, c->pend_id, RT_SNAP_COMPLETED, NULL);
    uint64_t id = c->pend_id;
    c->pend_id = 0;
    if (c->pend_savepoint) {
        log_info("savepoint completed", "path", c->pend_dir, "duration_ms", tb);
        goto out;
    }
    log_info("checkpoint completed", "id", idb, "path", c->pend_dir, "duration_ms", tb);
    completed *nd = realloc(c->done, (c->ndone + 1) * sizeof(completed));
    if (!nd) {
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        goto out;
    }
    c->done = nd;
    completed *d = &c->done[c->ndone++];
    d->id = id;
    snprintf(d->dir, sizeof(d->dir), "%s", c->pend_dir);
    d->shared = json_array();
    collect_shared(c->pend_ops, d->shared);
    snprintf(c->latest, sizeof(c->latest), "%s", c->pend_dir);
    c->latest_id = id;
    /* Retention: drop the oldest beyond num-retained, and shared files nobody references. */
    while (c->ndone > (size_t)c->num_retained) {
        completed old = c->done[0];
        memmove(c->done, c->done + 1, (c->ndone - 1) * sizeof(completed));
        c->ndone--;
        c->cs->remove_tree(old.dir);
        size_t k;
        json_t *p;
        json_array_foreach(old.shared, k, p)
        {
            if (!referenced(c, json_string_value(p))) {
                char f[PATH_MAX * 2];
                snprintf(f, sizeof(f), "%s/%s", c->root, json_string_value(p));
                c->cs->remove(f);
            }
        }
        json_decref(old.shared);
    }
out:
    json_decref(meta);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void rt_coord_abort(rt_coord *c, uint64_t id, const char *why)
{
    pthread_mutex_lock(&c->mu);
    if (c->pend_id && (id == 0 || id == c->pend_id)) {
        char idb[24];
        snprintf(idb, sizeof(idb), "%llu", (unsigned long long)c->pend_id);
        log_warn(c->pend_savepoint ? "savepoint aborted" : "checkpoint aborted", "id", idb,
                 "reason", why);
        hist_end(c, c->pend_id, RT_SNAP_FAILED, why);
        c->pend_storage->remove_tree(c->pend_dir);
        c->pend_id = 0;
    }
    pthread_mutex_unlock(&c->mu);
}

bool rt_coord_recover(rt_coord *c, char *path, size_t size)
{
    if (!c->cs || !c->root[0] || strcmp(c->cs->scheme, "file") != 0)
        return false;
    DIR *d = opendir(c->root);
    if (!d)
        return false;
    uint64_t best = 0;
    char dir[PATH_MAX + 32], meta_path[PATH_MAX + 64];
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end = NULL;
        if (strncmp(e->d_name, "chk-", 4) != 0)
            continue;
        unsigned long long id = strtoull(e->d_name + 4, &end, 10);
        if (!end || *end || id <= best)
            continue;
        snprintf(meta_path, sizeof(meta_path), "%s/%s/_metadata", c->root, e->d_name);
        if (c->cs->exists(meta_path)) /* written last: a checkpoint without it never completed */
            best = id;
    }
    closedir(d);
    if (!best)
        return false;
    snprintf(dir, sizeof(dir), "%s/chk-%llu", c->root, (unsigned long long)best);
    json_t *meta = NULL;
    char root[PATH_MAX];
    weir_error err = {0};
    if (rt_snapshot_load(dir, &meta, root, &err) != 0) {
        log_warn("a checkpoint of this job cannot be read: not recovered from it", "path", dir,
                 "error", err.msg);
        return false;
    }
    pthread_mutex_lock(&c->mu);
    completed *nd = realloc(c->done, (c->ndone + 1) * sizeof(completed));
    if (nd) { /* retained like a checkpoint of this run, so retention removes it in turn */
        c->done = nd;
        completed *dn = &c->done[c->ndone++];
        dn->id = best;
        snprintf(dn->dir, sizeof(dn->dir), "%s", dir);
        dn->shared = json_array();
        collect_shared(json_object_get(meta, "operators"), dn->shared);
    }
    snprintf(c->latest, sizeof(c->latest), "%s", dir);
    c->latest_id = best;
    if (c->next_id < best)
        c->next_id = best;
    pthread_mutex_unlock(&c->mu);
    json_decref(meta);
    snprintf(path, size, "%s", dir);
    return true;
}

void rt_coord_latest(rt_coord *c, char *buf, size_t size)
{
    pthread_mutex_lock(&c->mu);
    snprintf(buf, size, "%s", c->latest);
    pthread_mutex_unlock(&c->mu);
}

uint64_t rt_coord_latest_id(rt_coord *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t id = c->latest_id;
    pthread_mutex_unlock(&c->mu);
    return id;
}

size_t rt_coord_stats(rt_coord *c, rt_snap_stat *out, size_t max, uint64_t *completed_n,
                      uint64_t *failed, uint64_t *in_progress)
{
    pthread_mutex_lock(&c->mu);
    size_t n = 0;
    for (size_t i = 0; i < c->hlen && n < max; i++)
        out[n++] = c->hist[(c->hpos + HISTORY - 1 - i) % HISTORY];
    if (completed_n)
        *completed_n = c->n_completed;
    if (failed)
        *failed = c->n_failed;
    if (in_progress)
        *in_progress = c->pend_id ? 1 : 0;
    pthread_mutex_unlock(&c->mu);
    return n;
}

bool rt_coord_stat(rt_coord *c, uint64_t id, rt_snap_stat *out)
{
    pthread_mutex_lock(&c->mu);
    rt_snap_stat *s = hist_find(c, id);
    if (s)
        *out = *s;
    pthread_mutex_unlock(&c->mu);
    return s != NULL;
}

int rt_snapshot_load(const char *path, json_t **meta, char *root, weir_error *err)
{
    char file[PATH_MAX];
    struct stat st;
    if (stat(path, &st))
        return weir_error_set(err, WEIR_ENOTFOUND, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        snprintf(file, sizeof(file), "%s/_metadata", path);
    else
        snprintf(file, sizeof(file), "%s", path);
    json_error_t je;
    json_t *m = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
    if (!m)
        return weir_error_set(err, errno == ENOENT ? WEIR_ENOTFOUND : WEIR_EPARSE,
                              "%s: not a Weir checkpoint or savepoint metadata file (%s at "
                              "line %d)",
                              file, je.text, je.line);
    json_t *ver = json_object_get(m, "version");
    const char *kind = json_string_value(json_object_get(m, "kind"));
    const char *r = json_string_value(json_object_get(m, "root"));
    if (!json_is_integer(ver) || !kind || !r || !json_is_object(json_object_get(m, "operators"))) {
        json_decref(m);
        return weir_error_set(err, WEIR_EPARSE,
                              "%s: corrupted metadata (missing version, kind, root or operators)",
                              file);
    }
    if (json_integer_value(ver) != 1) {
        json_decref(m);
        return weir_error_set(err, WEIR_EUNSUPPORTED, "%s: metadata version %lld not supported",
                              file, (long long)json_integer_value(ver));
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", file);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    char joined[PATH_MAX * 2];
    snprintf(joined, sizeof(joined), "%s/%s", dir, r);
    if (!realpath(joined, root)) {
        json_decref(m);
        return weir_error_set(err, WEIR_ENOTFOUND, "%s: root %s: %s", file, joined,
                              strerror(errno));
    }
    *meta = m;
    return 0;
}

int rt_snapshot_check_claimed(const rt_plan *p, const json_t *meta, const char *path,
                              bool ignore_unclaimed, weir_error *err)
{
    const char *uid;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(meta, "operators"), uid, v)
    {
        bool found = false;
        for (uint32_t i = 0; i < p->nops; i++)
            if (strcmp(p->ops[i].uid, uid) == 0)
                found = true;
        if (!found && !ignore_unclaimed)
            return weir_error_set(err, WEIR_EINVAL,
                                  "%s: the state of operator %s ('%s') cannot be mapped to the "
                                  "new job; set execution.savepoint.ignore-unclaimed-state "
                                  "(allowNonRestoredState) to skip it",
                                  path, uid, json_string_value(json_object_get(v, "id")));
        if (!found)
            log_warn("skipping unclaimed operator state", "uid", uid);
    }
    return 0;
}
