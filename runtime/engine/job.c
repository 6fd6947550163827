/*
 * job.c - runs a plan in one process: builds chains and channels, starts one thread per
 * subtask, coordinates checkpoints and savepoints (aligned barriers, acknowledgements,
 * metadata, retention), restores, and restarts failed jobs per the restart strategy.
 *
 * Checkpoint layout (Flink's): <checkpoint dir>/<job id>/chk-<n>/_metadata, operator files in
 * chk-<n>/<uid>-<subtask>/, incremental RocksDB files in <job id>/shared/. A savepoint is one
 * self-contained directory <savepoint dir>/savepoint-<6 hex>-<12 hex>/ with its _metadata.
 * The metadata is JSON (docs/checkpoints.md); "root" says where handle paths start.
 *
 * Layer: runtime/engine top.
 */

#include "runtime/engine/job.h"

#include "lib/json.h"
#include "lib/log.h"
#include "runtime/connectors/connector.h"
#include "runtime/engine/operator.h"
#include "runtime/storage/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS 10

void rt_job_options_init(rt_job_options *o)
{
    memset(o, 0, sizeof(*o));
    o->state_backend = "hashmap";
    o->checkpoint_timeout_ms = 10 * 60 * 1000;
    o->num_retained = 1;
    o->restart = RT_RESTART_NONE;
    o->restart_attempts = 1;
    o->restart_delay_ms = 1000;
    o->restart_max_delay_ms = 60000;
    o->restart_multiplier = 2.0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* --- files ------------------------------------------------------------------------------- */

/* --- the graph ----------------------------------------------------------------------------- */

typedef struct chain {
    uint32_t *ops; /* plan indexes, chain order */
    uint32_t nops;
    uint32_t parallelism;
    int input_chain; /* chain of the head's input, -1 for sources */
    /* inputs: per subtask an inbox and one channel per producer subtask */
    rt_inbox **inbox;
    rt_channel ***in; /* in[t][s] */
    uint32_t nin;     /* producer subtasks */
} chain;

typedef struct task task;
typedef struct job job;

struct task {
    job *j;
    uint32_t chain, subtask;
    rt_op **ops;
    uint32_t nops;
    pthread_t thread;
    bool started;
    weir_error err;
    atomic_bool done;
    uint64_t last_barrier, notified;
};

typedef struct completed {
    uint64_t id;
    char dir[PATH_MAX];
    json_t *shared; /* array of shared paths it references */
} completed;

struct job {
    const rt_plan *plan;
    const rt_job_options *o;
    rt_job_control *ctl;
    char job_id[33];
    const rt_storage_ops *cs, *ss; /* checkpoint and savepoint storage (NULL: not configured) */
    const char *sp_dir;            /* savepoint directory in ss */
    char root[PATH_MAX];           /* <checkpoint dir>/<job id>, "" without checkpoints */
    char local[PATH_MAX];
    int *op_chain; /* plan op -> chain */
    chain *chains;
    uint32_t nchains;
    task *tasks;
    uint32_t ntasks;

    /* coordination */
    pthread_mutex_t mu;
    atomic_bool failed;
    weir_error fail_err;
    atomic_uint_fast64_t trigger_id;
    atomic_uint_fast64_t completed_id;
    atomic_bool any_finished;
    uint64_t next_id;
    /* the pending snapshot */
    uint64_t pend_id;
    bool pend_savepoint, pend_stop, pend_drain;
    const rt_storage_ops *pend_storage;
    char pend_root[PATH_MAX]; /* absolute storage root for handles */
    char pend_dir[PATH_MAX];  /* directory of the _metadata */
    char pend_excl[64];       /* "chk-7" or "" */
    json_t *pend_ops;
    uint32_t pend_acks;
    int64_t pend_started;
    bool stopped_with_savepoint;
    completed *done;
    size_t ndone;
    char latest[PATH_MAX]; /* latest completed checkpoint dir (restarts restore from it) */
};

static void job_fail(job *j, const weir_error *e)
{
    pthread_mutex_lock(&j->mu);
    if (!atomic_load(&j->failed)) {
        j->fail_err = *e;
        atomic_store(&j->failed, true);
    }
    pthread_mutex_unlock(&j->mu);
    for (uint32_t c = 0; c < j->nchains; c++)
        if (j->chains[c].inbox)
            for (uint32_t t = 0; t < j->chains[c].parallelism; t++)
                rt_inbox_cancel(j->chains[c].inbox[t]);
}

static int build_chains(job *j)
{
    const rt_plan *p = j->plan;
    j->op_chain = calloc(p->nops, sizeof(int));
    j->chains = calloc(p->nops, sizeof(chain));
    if (!j->op_chain || !j->chains)
        return WEIR_ENOMEM;
    for (uint32_t i = 0; i < p->nops; i++) {
        const rt_plan_op *op = &p->ops[i];
        int c = -1;
        /* Any partitioning between two single subtasks is forward: chain them too. */
        bool forward =
            op->input >= 0 && (op->partition == RT_PART_FORWARD ||
                               (op->parallelism == 1 && p->ops[op->input].parallelism == 1));
        if (forward && p->ops[op->input].parallelism == op->parallelism) {
            uint32_t consumers = 0;
            for (uint32_t k = 0; k < p->nops; k++)
                consumers += p->ops[k].input == op->input;
            chain *ic = &j->chains[j->op_chain[op->input]];
            if (consumers == 1 && ic->ops[ic->nops - 1] == (uint32_t)op->input)
                c = j->op_chain[op->input];
        }
        if (c < 0) {
            c = (int)j->nchains++;
            chain *nc = &j->chains[c];
            nc->ops = calloc(p->nops, sizeof(uint32_t));
            if (!nc->ops)
                return WEIR_ENOMEM;
            nc->parallelism = op->parallelism;
            nc->input_chain = op->input >= 0 ? j->op_chain[op->input] : -1;
        }
        j->chains[c].ops[j->chains[c].nops++] = i;
        j->op_chain[i] = c;
    }
    /* Channels into every chain that has an input. */
    for (uint32_t c = 0; c < j->nchains; c++) {
        chain *ch = &j->chains[c];
        if (ch->input_chain < 0)
            continue;
        const rt_plan_op *head = &p->ops[ch->ops[0]];
        const rt_schema *s = p->ops[head->input].out;
        ch->nin = j->chains[ch->input_chain].parallelism;
        ch->inbox = calloc(ch->parallelism, sizeof(rt_inbox *));
        ch->in = calloc(ch->parallelism, sizeof(rt_channel **));
        if (!ch->inbox || !ch->in)
            return WEIR_ENOMEM;
        for (uint32_t t = 0; t < ch->parallelism; t++) {
            if (!(ch->inbox[t] = rt_inbox_new()))
                return WEIR_ENOMEM;
            if (!(ch->in[t] = calloc(ch->nin, sizeof(rt_channel *))))
                return WEIR_ENOMEM;
            for (uint32_t s2 = 0; s2 < ch->nin; s2++)
                if (!(ch->in[t][s2] = rt_channel_new(ch->inbox[t], s->types, s->ncols, 4, 0)))
                    return WEIR_ENOMEM;
        }
    }
    return 0;
}

static void free_chains(job *j)
{
    for (uint32_t c = 0; c < j->nchains; c++) {
        chain *ch = &j->chains[c];
        for (uint32_t t = 0; ch->in && t < ch->parallelism; t++) {
            for (uint32_t s = 0; ch->in[t] && s < ch->nin; s++)
                rt_channel_free(ch->in[t][s]);
            free(ch->in[t]);
        }
        for (uint32_t t = 0; ch->inbox && t < ch->parallelism; t++)
            rt_inbox_free(ch->inbox[t]);
        free(ch->in);
        free(ch->inbox);
        free(ch->ops);
    }
    free(j->chains);
    free(j->op_chain);
    j->chains = NULL;
    j->op_chain = NULL;
    j->nchains = 0;
}

static int make_op(job *j, uint32_t idx, uint32_t subtask, rt_op **out, weir_error *err)
{
    const rt_plan *p = j->plan;
    const rt_plan_op *pop = &p->ops[idx];
    int rc;
    switch (pop->type) {
    case RT_OP_SOURCE:
        rc = rt_op_source_new(p, pop, subtask, out, err);
        break;
    case RT_OP_CALC:
        rc = rt_op_calc_new(p, pop, subtask, out, err);
        break;
    case RT_OP_WATERMARK:
        rc = rt_op_watermark_new(p, pop, subtask, out, err);
        break;
    case RT_OP_WINDOW_AGG:
        rc = rt_op_window_agg_new(p, pop, subtask, out, err);
        break;
    case RT_OP_GROUP_AGG:
        rc = rt_op_group_agg_new(p, pop, subtask, out, err);
        break;
    default:
        rc = rt_op_sink_new(p, pop, subtask, out, err);
        break;
    }
    if (rc)
        return rc;
    rt_op *op = *out;
    op->plan = p;
    op->pop = pop;
    op->subtask = subtask;
    op->parallelism = pop->parallelism;
    op->watermark = RT_WATERMARK_MIN;
    if (pop->type == RT_OP_WINDOW_AGG || pop->type == RT_OP_GROUP_AGG) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s/%s-%u", j->local, pop->uid, subtask);
        rt_state_options so = {.backend = j->o->state_backend,
                               .local_dir = dir,
                               .cache_bytes = j->o->state_cache_bytes,
                               .max_parallelism = p->max_parallelism};
        rt_state_key_group_range(p->max_parallelism, pop->parallelism, subtask, &so.kg_first,
                                 &so.kg_last);
        if ((rc = rt_state_open(&so, &op->state, err)))
            return weir_error_prefix(err, "%s", pop->path);
    }
    return 0;
}

static int build_tasks(job *j, weir_error *err)
{
    const rt_plan *p = j->plan;
    for (uint32_t c = 0; c < j->nchains; c++)
        j->ntasks += j->chains[c].parallelism;
    j->tasks = calloc(j->ntasks, sizeof(task));
    if (!j->tasks)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    uint32_t k = 0;
    for (uint32_t c = 0; c < j->nchains; c++) {
        chain *ch = &j->chains[c];
        for (uint32_t s = 0; s < ch->parallelism; s++, k++) {
            task *t = &j->tasks[k];
            t->j = j;
            t->chain = c;
            t->subtask = s;
            t->ops = calloc(ch->nops, sizeof(rt_op *));
            if (!t->ops)
                return weir_error_set(err, WEIR_ENOMEM, "out of memory");
            for (uint32_t i = 0; i < ch->nops; i++) {
                int rc = make_op(j, ch->ops[i], s, &t->ops[i], err);
                if (rc)
                    return rc;
                t->nops++;
                t->ops[i]->err = &t->err;
                if (i > 0) {
                    rt_op *prev = t->ops[i - 1];
                    prev->next = calloc(1, sizeof(rt_op *));
                    if (!prev->next)
                        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
                    prev->next[0] = t->ops[i];
                    prev->nnext = 1;
                }
            }
            /* Partitioners from the chain's last operator into consumer chains. */
            rt_op *last = t->ops[ch->nops - 1];
            uint32_t last_idx = ch->ops[ch->nops - 1];
            for (uint32_t d = 0; d < j->nchains; d++) {
                chain *dc = &j->chains[d];
                if (dc->input_chain != (int)c || p->ops[dc->ops[0]].input != (int)last_idx)
                    continue;
                const rt_plan_op *head = &p->ops[dc->ops[0]];
                rt_channel **targets = calloc(dc->parallelism, sizeof(rt_channel *));
                if (!targets)
                    return weir_error_set(err, WEIR_ENOMEM, "out of memory");
                for (uint32_t tt = 0; tt < dc->parallelism; tt++)
                    targets[tt] = dc->in[tt][s];
                rt_output *o = rt_output_new(head->partition, head->part_keys, head->npart_keys,
                                             targets, dc->parallelism, p->max_parallelism, s);
                free(targets);
                rt_output **no = o ? realloc(last->outs, (last->nouts + 1) * sizeof(*no)) : NULL;
                if (!no) {
                    rt_output_free(o);
                    return weir_error_set(err, WEIR_ENOMEM, "out of memory");
                }
                last->outs = no;
                last->outs[last->nouts++] = o;
            }
        }
    }
    return 0;
}

static void free_tasks(job *j)
{
    for (uint32_t k = 0; k < j->ntasks; k++) {
        task *t = &j->tasks[k];
        for (uint32_t i = 0; i < t->nops; i++)
            rt_op_free(t->ops[i]);
        free(t->ops);
    }
    free(j->tasks);
    j->tasks = NULL;
    j->ntasks = 0;
}

/* --- snapshots in tasks -------------------------------------------------------------------- */

static bool stateful(const rt_plan_op *op)
{
    return op->type == RT_OP_SOURCE || op->type == RT_OP_WINDOW_AGG || op->type == RT_OP_GROUP_AGG;
}

/* Snapshots the task's operators for the pending checkpoint `id` and acknowledges it. */
static int task_snapshot(task *t, uint64_t id)
{
    job *j = t->j;
    pthread_mutex_lock(&j->mu);
    bool current = j->pend_id == id;
    rt_op_snapshot_ctx c = {.kind =
                                j->pend_savepoint ? RT_SNAPSHOT_SAVEPOINT : RT_SNAPSHOT_CHECKPOINT,
                            .checkpoint_id = id,
                            .root = j->pend_root,
                            .shared_dir = "shared"};
    char excl_base[64];
    snprintf(excl_base, sizeof(excl_base), "%s", j->pend_excl);
    pthread_mutex_unlock(&j->mu);
    if (!current)
        return 0; /* aborted meanwhile */
    json_t *acks = json_object();
    for (uint32_t i = 0; i < t->nops; i++) {
        rt_op *op = t->ops[i];
        if (!op->vt->snapshot)
            continue;
        char excl[PATH_MAX], abs[PATH_MAX * 2];
        snprintf(excl, sizeof(excl), "%s%s%s-%u", excl_base, *excl_base ? "/" : "", op->pop->uid,
                 t->subtask);
        snprintf(abs, sizeof(abs), "%s/%s", c.root, excl);
        if (stateful(op->pop) && op->pop->type != RT_OP_SOURCE &&
            j->pend_storage->mkdirs(abs, &t->err))
            return t->err.code;
        c.exclusive_dir = excl;
        json_t *o = json_object();
        int rc = op->vt->snapshot(op, &c, o);
        if (rc) {
            json_decref(o);
            json_decref(acks);
            if (!t->err.code)
                weir_error_set(&t->err, rc, "snapshot of '%s' failed", op->pop->id);
            return rc;
        }
        if (stateful(op->pop))
            json_object_set_new(acks, op->pop->uid, o);
        else
            json_decref(o);
    }
    pthread_mutex_lock(&j->mu);
    if (j->pend_id == id) {
        const char *uid;
        json_t *o;
        json_object_foreach(acks, uid, o)
        {
            json_t *subs = json_object_get(json_object_get(j->pend_ops, uid), "subtasks");
            json_array_set(subs, t->subtask, o);
        }
        j->pend_acks++;
    }
    pthread_mutex_unlock(&j->mu);
    json_decref(acks);
    return 0;
}

static int task_barrier(task *t, uint64_t id, bool savepoint)
{
    int rc = task_snapshot(t, id);
    if (rc)
        return rc;
    rt_op *last = t->ops[t->nops - 1];
    for (uint32_t i = 0; i < last->nouts; i++)
        rt_output_control(last->outs[i], RT_MSG_BARRIER, (int64_t)id, savepoint);
    return 0;
}

static void task_notify(task *t)
{
    uint64_t c = atomic_load(&t->j->completed_id);
    if (c <= t->notified)
        return;
    t->notified = c;
    for (uint32_t i = 0; i < t->nops; i++)
        if (t->ops[i]->vt->notify_complete)
            t->ops[i]->vt->notify_complete(t->ops[i], c);
}

static int64_t mono_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int task_tick(task *t)
{
    int64_t now = mono_now_ms();
    for (uint32_t i = 0; i < t->nops; i++)
        if (t->ops[i]->vt->tick) {
            int rc = t->ops[i]->vt->tick(t->ops[i], now);
            if (rc)
                return rc;
        }
    return 0;
}

static int task_end(task *t)
{
    for (uint32_t i = 0; i < t->nops; i++)
        if (t->ops[i]->vt->end_input) {
            int rc = t->ops[i]->vt->end_input(t->ops[i]);
            if (rc)
                return rc;
        }
    rt_op *last = t->ops[t->nops - 1];
    for (uint32_t i = 0; i < last->nouts; i++)
        rt_output_control(last->outs[i], RT_MSG_END, 1, false);
    return 0;
}

/* Stop after a savepoint without draining: no end of input, no final watermark. */
static int task_stop(task *t)
{
    rt_op *last = t->ops[t->nops - 1];
    for (uint32_t i = 0; i < last->nouts; i++)
        rt_output_control(last->outs[i], RT_MSG_END, 0, false);
    return 0;
}

static int deliver_watermark(rt_op *head, int64_t wm)
{
    if (wm <= head->watermark)
        return 0;
    if (head->vt->watermark)
        return head->vt->watermark(head, wm);
    head->watermark = wm;
    return rt_op_emit_watermark(head, wm);
}

static int source_loop(task *t)
{
    job *j = t->j;
    rt_op *src = t->ops[0];
    rt_batch *b = rt_batch_new(src->pop->out, 0);
    if (!b)
        return weir_error_set(&t->err, WEIR_ENOMEM, "out of memory");
    int rc = 0;
    while (!atomic_load(&j->failed)) {
        uint64_t id = atomic_load(&j->trigger_id);
        if (id > t->last_barrier) {
            t->last_barrier = id;
            pthread_mutex_lock(&j->mu);
            bool sp = j->pend_savepoint, stop = j->pend_stop && j->pend_id == id;
            bool drain = stop && j->pend_drain;
            pthread_mutex_unlock(&j->mu);
            /* Draining: the final watermark fires every window before the barrier. */
            if (drain && (rc = rt_op_emit_watermark(src, RT_WATERMARK_MAX)))
                break;
            if ((rc = task_barrier(t, id, sp)))
                break;
            if (stop) {
                rc = task_stop(t);
                break;
            }
        }
        task_notify(t);
        if ((rc = task_tick(t)))
            break;
        rt_batch_reset(b);
        int64_t idle = 0;
        int r = rt_op_source_poll(src, b, &idle);
        if (r < 0) {
            rc = r;
            break;
        }
        src->rows_in += b->n;
        if (b->n && (rc = src->vt->process(src, b)))
            break;
        if (r == RT_SOURCE_END) {
            atomic_store(&j->any_finished, true);
            if ((rc = rt_op_emit_watermark(src, RT_WATERMARK_MAX)) || (rc = task_end(t)))
                break;
            break;
        }
        if (b->n == 0)
            sleep_ms(idle > 0 && idle < TICK_MS ? idle : TICK_MS);
    }
    rt_batch_free(b);
    return rc;
}

static int input_loop(task *t)
{
    job *j = t->j;
    chain *ch = &j->chains[t->chain];
    uint32_t n = ch->nin;
    rt_channel **in = ch->in[t->subtask];
    bool *blocked = calloc(n, sizeof(bool)), *ended = calloc(n, sizeof(bool));
    bool *idle = calloc(n, sizeof(bool));
    int64_t *wm = malloc(n * sizeof(int64_t));
    int rc = 0;
    if (!blocked || !ended || !wm || !idle) {
        rc = weir_error_set(&t->err, WEIR_ENOMEM, "out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < n; i++)
        wm[i] = RT_WATERMARK_MIN;
    uint32_t nended = 0;
    uint64_t aligning = 0;
    bool aligning_sp = false, stopped = false;
    rt_op *head = t->ops[0];
    while (!atomic_load(&j->failed)) {
        rt_msg m;
        int which;
        task_notify(t);
        if ((rc = task_tick(t)))
            break;
        if (!rt_inbox_pop(ch->inbox[t->subtask], in, n, blocked, 50, &m, &which))
            break;
        if (which < 0)
            continue;
        switch (m.kind) {
        case RT_MSG_BATCH:
            head->rows_in += m.batch->n;
            rc = head->vt->process(head, m.batch);
            rt_channel_release(in[which], m.batch);
            break;
        case RT_MSG_WATERMARK:
        case RT_MSG_IDLE: {
            if (m.kind == RT_MSG_IDLE)
                idle[which] = true;
            else {
                idle[which] = false;
                if (m.value > wm[which])
                    wm[which] = m.value;
            }
            /* the minimum over inputs that are neither finished nor idle */
            int64_t low = RT_WATERMARK_MAX;
            bool any = false;
            for (uint32_t i = 0; i < n; i++)
                if (!ended[i] && !idle[i]) {
                    any = true;
                    if (wm[i] < low)
                        low = wm[i];
                }
            if (any)
                rc = deliver_watermark(head, low);
            break;
        }
        case RT_MSG_BARRIER:
            if ((uint64_t)m.value < aligning)
                break;
            if ((uint64_t)m.value > aligning) {
                aligning = (uint64_t)m.value;
                aligning_sp = m.savepoint;
            }
            blocked[which] = true;
            break;
        case RT_MSG_END:
            /* A drained input sent its final watermark before; one that stopped with a
             * savepoint did not, and must not advance anything now. */
            ended[which] = true;
            nended++;
            if (m.value == 0)
                stopped = true;
            break;
        }
        if (rc)
            break;
        if (aligning) {
            /* aligned when every input still running has delivered the barrier */
            bool all_blocked = true;
            for (uint32_t i = 0; i < n; i++)
                if (!ended[i] && !blocked[i])
                    all_blocked = false;
            if (all_blocked) {
                if ((rc = task_barrier(t, aligning, aligning_sp)))
                    break;
                memset(blocked, 0, n * sizeof(bool));
                t->last_barrier = aligning;
                aligning = 0;
            }
        }
        if (nended == n) {
            rc = stopped ? task_stop(t) : task_end(t);
            break;
        }
    }
done:
    free(blocked);
    free(ended);
    free(idle);
    free(wm);
    return rc;
}

static void *task_main(void *arg)
{
    task *t = arg;
    job *j = t->j;
    int rc = j->chains[t->chain].input_chain < 0 ? source_loop(t) : input_loop(t);
    if (rc && rc != WEIR_ECANCELED) {
        if (!t->err.code)
            weir_error_set(&t->err, rc, "%s", weir_strerror(rc));
        weir_error e = t->err;
        weir_error_prefix(&e, "task %s (%u/%u)", j->plan->ops[j->chains[t->chain].ops[0]].id,
                          t->subtask + 1, j->chains[t->chain].parallelism);
        job_fail(j, &e);
    }
    for (uint32_t i = 0; i < t->nops; i++) {
        rt_op *op = t->ops[i];
        char in[24], out[24], late[24], sub[16];
        snprintf(in, sizeof(in), "%llu", (unsigned long long)op->rows_in);
        snprintf(out, sizeof(out), "%llu", (unsigned long long)op->rows_out);
        snprintf(late, sizeof(late), "%llu", (unsigned long long)op->late_dropped);
        snprintf(sub, sizeof(sub), "%u", t->subtask);
        log_event(op->late_dropped ? LOG_INFO : LOG_DEBUG, "operator subtask ended", "operator",
                  op->pop->id, "subtask", sub, "rows_in", in, "rows_out", out, "late_dropped", late,
                  (const char *)NULL);
    }
    atomic_store(&t->done, true);
    return NULL;
}

/* --- restore -------------------------------------------------------------------------------- */

static int load_metadata(const char *path, json_t **meta, char *root, size_t rootsz,
                         weir_error *err)
{
    char file[PATH_MAX];
    struct stat st;
    if (stat(path, &st))
        return weir_error_set(err, WEIR_ENOTFOUND, "execution.savepoint.path: %s: %s", path,
                              strerror(errno));
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
    (void)rootsz;
    *meta = m;
    return 0;
}

static int restore_job(job *j, const char *path, weir_error *err)
{
    json_t *meta = NULL;
    char root[PATH_MAX];
    int rc = load_metadata(path, &meta, root, sizeof(root), err);
    if (rc)
        return rc;
    json_t *ops = json_object_get(meta, "operators");
    /* Every operator state in the snapshot must find its operator. */
    const char *uid;
    json_t *v;
    json_object_foreach(ops, uid, v)
    {
        bool found = false;
        for (uint32_t i = 0; i < j->plan->nops; i++)
            if (strcmp(j->plan->ops[i].uid, uid) == 0)
                found = true;
        if (!found && !j->o->ignore_unclaimed) {
            rc = weir_error_set(err, WEIR_EINVAL,
                                "%s: the state of operator %s ('%s') cannot be mapped to the new "
                                "job; set execution.savepoint.ignore-unclaimed-state "
                                "(allowNonRestoredState) to skip it",
                                path, uid, json_string_value(json_object_get(v, "id")));
            goto done;
        }
        if (!found)
            log_warn("skipping unclaimed operator state", "uid", uid);
    }
    for (uint32_t k = 0; k < j->ntasks && !rc; k++) {
        task *t = &j->tasks[k];
        for (uint32_t i = 0; i < t->nops && !rc; i++) {
            rt_op *op = t->ops[i];
            json_t *e = json_object_get(ops, op->pop->uid);
            if (!op->vt->restore || !e)
                continue;
            rt_op_restore_ctx c = {.root = root, .subtasks = json_object_get(e, "subtasks")};
            if (!json_is_array(c.subtasks)) {
                rc = weir_error_set(err, WEIR_EPARSE, "%s: operator %s has no subtasks array", path,
                                    op->pop->uid);
                break;
            }
            if ((rc = op->vt->restore(op, &c))) {
                *err = t->err;
                weir_error_prefix(err, "restoring from %s", path);
            }
        }
    }
    if (!rc)
        log_info("restored job state", "path", path, "kind",
                 json_string_value(json_object_get(meta, "kind")));
done:
    json_decref(meta);
    return rc;
}

/* --- coordinator ---------------------------------------------------------------------------- */

static void random_hex(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char buf[64];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, buf, n) : -1;
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < n; i++)
        out[i] = hex[(got == (ssize_t)n ? buf[i] : (unsigned char)rand()) & 15];
    out[n] = '\0';
}

static int trigger(job *j, bool savepoint, bool stop, weir_error *err)
{
    uint64_t id = ++j->next_id;
    pthread_mutex_lock(&j->mu);
    j->pend_id = id;
    j->pend_savepoint = savepoint;
    j->pend_stop = stop;
    j->pend_drain = stop && j->o->stop_drain;
    j->pend_acks = 0;
    j->pend_started = now_ms();
    json_decref(j->pend_ops);
    j->pend_ops = json_object();
    for (uint32_t i = 0; i < j->plan->nops; i++) {
        const rt_plan_op *op = &j->plan->ops[i];
        if (!stateful(op))
            continue;
        json_t *subs = json_array();
        for (uint32_t s = 0; s < op->parallelism; s++)
            json_array_append_new(subs, json_null());
        json_object_set_new(j->pend_ops, op->uid,
                            json_pack("{s:s, s:s, s:i, s:o}", "id", op->id, "type",
                                      rt_op_type_name(op->type), "parallelism",
                                      (int)op->parallelism, "subtasks", subs));
    }
    int rc = 0;
    if (savepoint) {
        const char *dir = j->sp_dir;
        char rnd[13];
        random_hex(rnd, 12);
        snprintf(j->pend_dir, sizeof(j->pend_dir), "%s/savepoint-%.6s-%s", dir, j->job_id, rnd);
        snprintf(j->pend_root, sizeof(j->pend_root), "%s", j->pend_dir);
        j->pend_excl[0] = '\0';
    } else {
        snprintf(j->pend_dir, sizeof(j->pend_dir), "%s/chk-%llu", j->root, (unsigned long long)id);
        snprintf(j->pend_root, sizeof(j->pend_root), "%s", j->root);
        snprintf(j->pend_excl, sizeof(j->pend_excl), "chk-%llu", (unsigned long long)id);
    }
    j->pend_storage = savepoint ? j->ss : j->cs;
    if (!(rc = j->pend_storage->mkdirs(j->pend_dir, err)) && !savepoint) {
        char shared[PATH_MAX + 8];
        snprintf(shared, sizeof(shared), "%s/shared", j->root);
        rc = j->pend_storage->mkdirs(shared, err);
    }
    if (rc)
        j->pend_id = 0;
    pthread_mutex_unlock(&j->mu);
    if (!rc) {
        atomic_store(&j->trigger_id, id);
        log_debug(savepoint ? "triggered savepoint" : "triggered checkpoint", "dir", j->pend_dir);
    }
    return rc;
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
        json_t *c;
        json_object_foreach(v, k, c)
        {
            if (strcmp(k, "files") != 0)
                collect_shared(c, out);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c) collect_shared(c, out);
    }
}

static bool referenced(job *j, const char *path)
{
    for (size_t i = 0; i < j->ndone; i++) {
        size_t k;
        json_t *p;
        json_array_foreach(j->done[i].shared, k, p)
        {
            if (strcmp(json_string_value(p), path) == 0)
                return true;
        }
    }
    return false;
}

/* Writes the pending snapshot's metadata and retires old checkpoints. Called with mu held. */
static int complete(job *j, weir_error *err)
{
    json_t *meta =
        json_pack("{s:i, s:s, s:s, s:I, s:I, s:s, s:s, s:i, s:O}", "version", 1, "kind",
                  j->pend_savepoint ? "savepoint" : "checkpoint", "jobId", j->job_id,
                  "checkpointId", (json_int_t)j->pend_id, "timestamp", (json_int_t)now_ms(), "root",
                  j->pend_savepoint ? "." : "..", "planName", j->plan->name, "maxParallelism",
                  (int)j->plan->max_parallelism, "operators", j->pend_ops);
    char *text = meta ? json_dumps(meta, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
    char file[PATH_MAX + 16];
    snprintf(file, sizeof(file), "%s/_metadata", j->pend_dir);
    int rc = text ? j->pend_storage->write_atomic(file, text, strlen(text), err)
                  : weir_error_set(err, WEIR_ENOMEM, "out of memory");
    free(text);
    if (rc) {
        json_decref(meta);
        return rc;
    }
    int64_t took = now_ms() - j->pend_started;
    char idb[24], tb[24];
    snprintf(idb, sizeof(idb), "%llu", (unsigned long long)j->pend_id);
    snprintf(tb, sizeof(tb), "%lld", (long long)took);
    if (j->pend_savepoint) {
        log_info("savepoint completed", "path", j->pend_dir, "duration_ms", tb);
        json_decref(meta);
        return 0;
    }
    log_info("checkpoint completed", "id", idb, "path", j->pend_dir, "duration_ms", tb);
    completed *nd = realloc(j->done, (j->ndone + 1) * sizeof(completed));
    if (!nd) {
        json_decref(meta);
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    }
    j->done = nd;
    completed *c = &j->done[j->ndone++];
    c->id = j->pend_id;
    snprintf(c->dir, sizeof(c->dir), "%s", j->pend_dir);
    c->shared = json_array();
    collect_shared(j->pend_ops, c->shared);
    snprintf(j->latest, sizeof(j->latest), "%s", j->pend_dir);
    json_decref(meta);
    /* Retention: drop the oldest beyond num-retained, and shared files nobody references. */
    int keep = j->o->num_retained > 0 ? j->o->num_retained : 1;
    while (j->ndone > (size_t)keep) {
        completed old = j->done[0];
        memmove(j->done, j->done + 1, (j->ndone - 1) * sizeof(completed));
        j->ndone--;
        j->cs->remove_tree(old.dir);
        size_t k;
        json_t *p;
        json_array_foreach(old.shared, k, p)
        {
            if (!referenced(j, json_string_value(p))) {
                char f[PATH_MAX * 2];
                snprintf(f, sizeof(f), "%s/%s", j->root, json_string_value(p));
                j->cs->remove(f);
            }
        }
        json_decref(old.shared);
    }
    return 0;
}

static void abort_pending(job *j, const char *why)
{
    pthread_mutex_lock(&j->mu);
    if (j->pend_id) {
        char idb[24];
        snprintf(idb, sizeof(idb), "%llu", (unsigned long long)j->pend_id);
        log_warn(j->pend_savepoint ? "savepoint aborted" : "checkpoint aborted", "id", idb,
                 "reason", why);
        j->pend_storage->remove_tree(j->pend_dir);
        j->pend_id = 0;
    }
    pthread_mutex_unlock(&j->mu);
}

/* One attempt: build, restore, run until finished/failed/cancelled/stopped. */
static rt_job_result attempt(job *j, const char *restore, weir_error *err)
{
    rt_job_result res = RT_JOB_FAILED;
    int rc;
    atomic_store(&j->failed, false);
    atomic_store(&j->any_finished, false);
    atomic_store(&j->trigger_id, 0);
    atomic_store(&j->completed_id, 0);
    j->pend_id = 0;
    j->stopped_with_savepoint = false;
    if ((rc = build_chains(j))) {
        weir_error_set(err, rc, "out of memory");
        goto done;
    }
    if ((rc = build_tasks(j, err)))
        goto done;
    if (restore && (rc = restore_job(j, restore, err)))
        goto done;
    for (uint32_t k = 0; k < j->ntasks; k++) {
        if (pthread_create(&j->tasks[k].thread, NULL, task_main, &j->tasks[k])) {
            weir_error e;
            weir_error_set(&e, WEIR_ENOMEM, "cannot start a thread");
            job_fail(j, &e);
            break;
        }
        j->tasks[k].started = true;
    }
    int64_t last_trigger = now_ms(), last_done = 0;
    int failures = 0;
    for (;;) {
        sleep_ms(TICK_MS);
        bool all_done = true;
        for (uint32_t k = 0; k < j->ntasks; k++)
            if (!atomic_load(&j->tasks[k].done))
                all_done = false;
        if (atomic_load(&j->failed)) {
            *err = j->fail_err;
            res = RT_JOB_FAILED;
            break;
        }
        if (j->ctl && j->ctl->cancel) {
            j->ctl->cancel = 0;
            weir_error e;
            weir_error_set(&e, WEIR_ECANCELED, "cancelled");
            job_fail(j, &e);
            res = RT_JOB_CANCELED;
            break;
        }
        pthread_mutex_lock(&j->mu);
        bool pending = j->pend_id != 0;
        if (pending && j->pend_acks == j->ntasks) {
            weir_error ce = {0};
            bool sp = j->pend_savepoint, stop = j->pend_stop;
            if ((rc = complete(j, &ce))) {
                log_error("could not complete snapshot", "error", ce.msg);
                failures++;
            } else if (!sp) {
                atomic_store(&j->completed_id, j->pend_id);
                failures = 0;
            } else if (stop)
                j->stopped_with_savepoint = true;
            j->pend_id = 0;
            pending = false;
            last_done = now_ms();
        }
        pthread_mutex_unlock(&j->mu);
        if (all_done) {
            if (pending)
                abort_pending(j, "the job finished before all tasks acknowledged");
            res = j->stopped_with_savepoint ? RT_JOB_STOPPED : RT_JOB_FINISHED;
            break;
        }
        int64_t now = now_ms();
        if (pending && now - j->pend_started > j->o->checkpoint_timeout_ms) {
            abort_pending(j, "timeout");
            failures++;
            pending = false;
        }
        if (failures > j->o->tolerable_failures) {
            weir_error e;
            weir_error_set(&e, WEIR_ETIMEDOUT,
                           "exceeded checkpoint tolerable failure threshold (%d)",
                           j->o->tolerable_failures);
            job_fail(j, &e);
            continue;
        }
        if (pending || atomic_load(&j->any_finished))
            continue;
        if (j->ctl && (j->ctl->savepoint || j->ctl->stop_savepoint)) {
            bool stop = j->ctl->stop_savepoint;
            j->ctl->savepoint = j->ctl->stop_savepoint = 0;
            weir_error te = {0};
            if (!j->ss)
                log_error("savepoint requested but no usable state.savepoints.dir is set", "dir",
                          j->o->savepoint_dir ? j->o->savepoint_dir : "");
            else if (trigger(j, true, stop, &te))
                log_error("could not trigger a savepoint", "error", te.msg);
            continue;
        }
        if (j->root[0] && j->o->checkpoint_interval_ms > 0 &&
            now - last_trigger >= j->o->checkpoint_interval_ms &&
            now - last_done >= j->o->checkpoint_min_pause_ms) {
            weir_error te = {0};
            if (trigger(j, false, false, &te)) {
                log_error("could not trigger a checkpoint", "error", te.msg);
                failures++;
            }
            last_trigger = now;
        }
    }
done:
    if (res != RT_JOB_FINISHED && res != RT_JOB_STOPPED) {
        weir_error e = *err;
        if (!e.code)
            weir_error_set(&e, WEIR_ECANCELED, "cancelled");
        job_fail(j, &e);
    }
    for (uint32_t k = 0; k < j->ntasks; k++)
        if (j->tasks[k].started)
            pthread_join(j->tasks[k].thread, NULL);
    if (res == RT_JOB_FAILED && !err->code && atomic_load(&j->failed))
        *err = j->fail_err;
    /* Sinks see all rows before the job reports. */
    free_tasks(j);
    free_chains(j);
    json_decref(j->pend_ops);
    j->pend_ops = NULL;
    return res;
}

rt_job_result rt_job_run(const rt_plan *plan, const rt_job_options *o, rt_job_control *ctl,
                         weir_error *err)
{
    job j;
    memset(&j, 0, sizeof(j));
    j.plan = plan;
    j.o = o;
    j.ctl = ctl;
    pthread_mutex_init(&j.mu, NULL);
    if (o->job_id[0])
        snprintf(j.job_id, sizeof(j.job_id), "%s", o->job_id);
    else
        random_hex(j.job_id, 32);
    if (o->local_dir)
        snprintf(j.local, sizeof(j.local), "%s/weir-%s", o->local_dir, j.job_id);
    else
        snprintf(j.local, sizeof(j.local), "/tmp/weir-%s", j.job_id);
    rt_job_result res = RT_JOB_FAILED;
    if (o->checkpoint_dir) {
        const char *d;
        if (rt_storage_resolve(o->checkpoint_dir, &j.cs, &d, err)) {
            weir_error_prefix(err, "state.checkpoints.dir");
            goto out;
        }
        snprintf(j.root, sizeof(j.root), "%s/%s", d, j.job_id);
        if (j.cs->mkdirs(j.root, err)) {
            weir_error_prefix(err, "state.checkpoints.dir");
            goto out;
        }
    }
    if (o->savepoint_dir && rt_storage_resolve(o->savepoint_dir, &j.ss, &j.sp_dir, err)) {
        weir_error_prefix(err, "state.savepoints.dir");
        goto out;
    }
    const char *restore = NULL;
    const rt_storage_ops *rs;
    if (o->restore_path && rt_storage_resolve(o->restore_path, &rs, &restore, err)) {
        weir_error_prefix(err, "execution.savepoint.path");
        goto out;
    }
    log_info("job starting", "job_id", j.job_id, "name", plan->name);
    int attempts = 0;
    int64_t delay = o->restart_delay_ms;
    for (;;) {
        weir_error_clear(err);
        res = attempt(&j, restore, err);
        rt_storage_file()->remove_tree(j.local);
        if (res != RT_JOB_FAILED)
            break;
        /* Errors in restoring or configuration are not worth a restart. */
        bool retry =
            o->restart != RT_RESTART_NONE &&
            (o->restart == RT_RESTART_EXPONENTIAL_DELAY || attempts < o->restart_attempts) &&
            !(ctl && ctl->cancel);
        log_error("job failed", "error", err->msg, "restarting", retry ? "true" : "false");
        if (!retry)
            break;
        attempts++;
        sleep_ms(delay);
        if (o->restart == RT_RESTART_EXPONENTIAL_DELAY) {
            delay = (int64_t)((double)delay * o->restart_multiplier);
            if (delay > o->restart_max_delay_ms)
                delay = o->restart_max_delay_ms;
        }
        if (j.latest[0])
            restore = j.latest;
        log_info("restarting job", "restore", restore ? restore : "(empty state)");
    }
    static const char *const names[] = {"FINISHED", "CANCELED", "STOPPED", "FAILED"};
    log_info("job ended", "job_id", j.job_id, "state", names[res]);
out:
    for (size_t i = 0; i < j.ndone; i++)
        json_decref(j.done[i].shared);
    free(j.done);
    pthread_mutex_destroy(&j.mu);
    return res;
}
