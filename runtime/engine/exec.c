/*
 * exec.c - the task executor (see exec.h): local subtasks, their channels and loops, barrier
 * alignment, snapshots and restore of local operators.
 *
 * Layer: runtime/engine.
 */
#include "runtime/engine/exec.h"

#include "lib/clock.h"

#include "lib/log.h"
#include "runtime/connectors/connector.h"
#include "runtime/engine/operator.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS 10

typedef struct xchain {
    /* inputs of local subtasks: per subtask an inbox and one channel per producer subtask */
    rt_inbox **inbox;
    rt_channel ***in; /* in[t][s]; NULL rows for subtasks placed elsewhere */
    uint32_t nin;     /* producer subtasks */
} xchain;

typedef struct task task;

struct task {
    rt_exec *x;
    uint32_t chain, subtask;
    rt_op **ops;
    uint32_t nops;
    pthread_t thread;
    bool started;
    weir_error err;
    atomic_bool done;
    uint64_t last_barrier, notified;
    _Atomic uint64_t busy_ns, blocked_ns;
};

struct rt_exec {
    const rt_plan *plan;
    const rt_graph *g;
    rt_exec_config cfg;
    bool *local; /* [max_slots] */
    xchain *xc;  /* [nchains] */
    task *tasks;
    uint32_t ntasks;

    pthread_mutex_t mu;
    pthread_cond_t cond; /* signalled when a request arrives or the executor fails */
    atomic_bool failed;
    weir_error fail_err;
    rt_snap_req req; /* the latest request */
    const rt_storage_ops *req_storage;
    atomic_uint_fast64_t trigger_id;
    atomic_uint_fast64_t completed_id;
    atomic_bool any_finished;
    bool started;
};

void rt_exec_fail(rt_exec *x, const weir_error *e)
{
    pthread_mutex_lock(&x->mu);
    if (!atomic_load(&x->failed)) {
        x->fail_err = *e;
        atomic_store(&x->failed, true);
    }
    pthread_cond_broadcast(&x->cond);
    pthread_mutex_unlock(&x->mu);
    for (uint32_t c = 0; c < x->g->nchains; c++)
        if (x->xc[c].inbox)
            for (uint32_t t = 0; t < x->g->chains[c].parallelism; t++)
                if (x->xc[c].inbox[t])
                    rt_inbox_cancel(x->xc[c].inbox[t]);
}

bool rt_exec_failed(rt_exec *x, weir_error *e)
{
    if (!atomic_load(&x->failed))
        return false;
    if (e) {
        pthread_mutex_lock(&x->mu);
        *e = x->fail_err;
        pthread_mutex_unlock(&x->mu);
    }
    return true;
}

/* --- building ------------------------------------------------------------------------------ */

static int build_channels(rt_exec *x)
{
    const rt_plan *p = x->plan;
    for (uint32_t c = 0; c < x->g->nchains; c++) {
        const rt_chain *ch = &x->g->chains[c];
        xchain *xc = &x->xc[c];
        if (ch->input_chain < 0)
            continue;
        const rt_plan_op *head = &p->ops[ch->ops[0]];
        const rt_schema *s = p->ops[head->input].out; /* a union's: the same column types */
        xc->nin = ch->nchannels;
        xc->inbox = calloc(ch->parallelism, sizeof(rt_inbox *));
        xc->in = calloc(ch->parallelism, sizeof(rt_channel **));
        if (!xc->inbox || !xc->in)
            return WEIR_ENOMEM;
        for (uint32_t t = 0; t < ch->parallelism; t++) {
            if (!x->local[t])
                continue;
            if (!(xc->inbox[t] = rt_inbox_new()))
                return WEIR_ENOMEM;
            if (!(xc->in[t] = calloc(xc->nin, sizeof(rt_channel *))))
                return WEIR_ENOMEM;
            for (uint32_t s2 = 0; s2 < xc->nin; s2++)
                if (!(xc->in[t][s2] = rt_channel_new(xc->inbox[t], s->types, s->ncols, 4, 0)))
                    return WEIR_ENOMEM;
        }
    }
    return 0;
}

static int make_op(rt_exec *x, uint32_t idx, uint32_t subtask, rt_op **out, weir_error *err)
{
    const rt_plan *p = x->plan;
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
    case RT_OP_LOCAL_WINDOW_AGG:
    case RT_OP_LOCAL_GROUP_AGG:
        rc = rt_op_local_agg_new(p, pop, subtask, out, err);
        break;
    case RT_OP_UNION: /* never in a chain (graph.c) */
        return weir_error_set(err, WEIR_EINTERNAL, "%s: a union has no operator to run", pop->path);
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
        snprintf(dir, sizeof(dir), "%s/%s-%u", x->cfg.local_dir, pop->uid, subtask);
        rt_state_options so = {.backend = x->cfg.state_backend,
                               .local_dir = dir,
                               .cache_bytes = x->cfg.state_cache_bytes,
                               .max_parallelism = p->max_parallelism};
        rt_state_key_group_range(p->max_parallelism, pop->parallelism, subtask, &so.kg_first,
                                 &so.kg_last);
        if ((rc = rt_state_open(&so, &op->state, err)))
            return weir_error_prefix(err, "%s", pop->path);
    }
    return 0;
}

/* Partitioners from task t's last operator into the chains it feeds: one per input edge of a
 * consumer (a consumer that reads this chain twice through a union gets the rows twice). */
static int connect_outputs(rt_exec *x, task *t, weir_error *err)
{
    const rt_plan *p = x->plan;
    const rt_chain *ch = &x->g->chains[t->chain];
    rt_op *last = t->ops[ch->nops - 1];
    uint32_t last_idx = ch->ops[ch->nops - 1];
    uint32_t s = t->subtask;
    for (uint32_t d = 0; d < x->g->nchains; d++) {
        const rt_chain *dc = &x->g->chains[d];
        for (uint32_t k = 0; k < dc->ninputs; k++) {
            const rt_chain_input *ci = &dc->inputs[k];
            if (ci->chain != t->chain || ci->op != last_idx)
                continue;
            const rt_plan_op *head = &p->ops[dc->ops[0]];
            uint32_t slot = ci->first + s; /* the consumer's input channel */
            rt_channel **targets = calloc(dc->parallelism, sizeof(rt_channel *));
            if (!targets)
                return weir_error_set(err, WEIR_ENOMEM, "out of memory");
            for (uint32_t tt = 0; tt < dc->parallelism; tt++) {
                if (x->local[tt])
                    targets[tt] = x->xc[d].in[tt][slot];
                else if (!x->cfg.hooks.remote_out ||
                         !(targets[tt] = x->cfg.hooks.remote_out(x->cfg.hooks.ud, d, tt, slot,
                                                                 p->ops[last_idx].out))) {
                    free(targets);
                    return weir_error_set(err, WEIR_ENOMEM,
                                          "no channel to subtask %u of '%s' placed elsewhere", tt,
                                          head->id);
                }
            }
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
    return 0;
}

static int build_tasks(rt_exec *x, weir_error *err)
{
    for (uint32_t c = 0; c < x->g->nchains; c++)
        for (uint32_t s = 0; s < x->g->chains[c].parallelism; s++)
            x->ntasks += x->local[s];
    x->tasks = calloc(x->ntasks ? x->ntasks : 1, sizeof(task));
    if (!x->tasks)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    uint32_t k = 0;
    for (uint32_t c = 0; c < x->g->nchains; c++) {
        const rt_chain *ch = &x->g->chains[c];
        for (uint32_t s = 0; s < ch->parallelism; s++) {
            if (!x->local[s])
                continue;
            task *t = &x->tasks[k++];
            t->x = x;
            t->chain = c;
            t->subtask = s;
            t->ops = calloc(ch->nops, sizeof(rt_op *));
            if (!t->ops)
                return weir_error_set(err, WEIR_ENOMEM, "out of memory");
            for (uint32_t i = 0; i < ch->nops; i++) {
                int rc = make_op(x, ch->ops[i], s, &t->ops[i], err);
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
            int rc = connect_outputs(x, t, err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int rt_exec_new(const rt_plan *p, const rt_graph *g, const rt_exec_config *c, rt_exec **out,
                weir_error *err)
{
    rt_exec *x = calloc(1, sizeof(*x));
    if (!x)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    x->plan = p;
    x->g = g;
    x->cfg = *c;
    pthread_mutex_init(&x->mu, NULL);
    pthread_cond_init(&x->cond, NULL);
    int rc;
    x->local = calloc(g->max_slots ? g->max_slots : 1, sizeof(bool));
    x->xc = calloc(g->nchains ? g->nchains : 1, sizeof(xchain));
    if (!x->local || !x->xc) {
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < g->max_slots; i++)
        x->local[i] = c->local ? c->local[i] : true;
    if ((rc = build_channels(x))) {
        weir_error_set(err, rc, "out of memory");
        goto fail;
    }
    if ((rc = build_tasks(x, err)))
        goto fail;
    *out = x;
    return 0;
fail:
    rt_exec_free(x);
    return rc;
}

rt_channel *rt_exec_input(rt_exec *x, uint32_t d, uint32_t t, uint32_t s)
{
    if (d >= x->g->nchains || t >= x->g->chains[d].parallelism || !x->xc[d].in || !x->xc[d].in[t] ||
        s >= x->xc[d].nin)
        return NULL;
    return x->xc[d].in[t][s];
}

const rt_schema *rt_exec_input_schema(const rt_exec *x, uint32_t d)
{
    if (d >= x->g->nchains || x->g->chains[d].input_chain < 0)
        return NULL;
    return x->plan->ops[x->plan->ops[x->g->chains[d].ops[0]].input].out;
}

uint32_t rt_exec_ntasks(const rt_exec *x)
{
    return x->ntasks;
}

/* --- snapshots in tasks -------------------------------------------------------------------- */

/* The request for snapshot `id`: waits while the barrier has overtaken it (a remote
 * coordinator reaches this process after the barrier did). False when it was superseded or the
 * executor failed. */
static bool wait_request(rt_exec *x, uint64_t id, rt_snap_req *r, const rt_storage_ops **st)
{
    pthread_mutex_lock(&x->mu);
    while (x->req.id < id && !atomic_load(&x->failed)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&x->cond, &x->mu, &ts);
    }
    bool ok = x->req.id == id && !atomic_load(&x->failed);
    if (ok) {
        *r = x->req;
        *st = x->req_storage;
    }
    pthread_mutex_unlock(&x->mu);
    return ok;
}

/* Snapshots the task's operators for snapshot `id` and acknowledges it. */
static int task_snapshot(task *t, uint64_t id)
{
    rt_exec *x = t->x;
    rt_snap_req r;
    const rt_storage_ops *st = NULL;
    if (!wait_request(x, id, &r, &st))
        return 0; /* superseded or failing */
    rt_op_snapshot_ctx c = {.kind = r.savepoint ? RT_SNAPSHOT_SAVEPOINT : RT_SNAPSHOT_CHECKPOINT,
                            .checkpoint_id = id,
                            .root = r.root,
                            .shared_dir = "shared"};
    json_t *acks = json_object();
    if (!acks)
        return weir_error_set(&t->err, WEIR_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < t->nops; i++) {
        rt_op *op = t->ops[i];
        if (!op->vt->snapshot)
            continue;
        char excl[PATH_MAX], abs[PATH_MAX * 2];
        snprintf(excl, sizeof(excl), "%s%s%s-%u", r.excl, *r.excl ? "/" : "", op->pop->uid,
                 t->subtask);
        snprintf(abs, sizeof(abs), "%s/%s", c.root, excl);
        if (rt_plan_op_stateful(op->pop) && op->pop->type != RT_OP_SOURCE &&
            st->mkdirs(abs, &t->err)) {
            json_decref(acks);
            return t->err.code;
        }
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
        if (rt_plan_op_stateful(op->pop))
            json_object_set_new(acks, op->pop->uid, o);
        else
            json_decref(o);
    }
    if (x->cfg.hooks.ack)
        x->cfg.hooks.ack(x->cfg.hooks.ud, id, t->chain, t->subtask, acks);
    else
        json_decref(acks);
    return 0;
}

static int task_barrier(task *t, uint64_t id, bool savepoint)
{
    int rc;
    for (uint32_t i = 0; i < t->nops; i++)
        if (t->ops[i]->vt->pre_barrier && (rc = t->ops[i]->vt->pre_barrier(t->ops[i])))
            return rc;
    rc = task_snapshot(t, id);
    if (rc)
        return rc;
    rt_op *last = t->ops[t->nops - 1];
    for (uint32_t i = 0; i < last->nouts; i++)
        rt_output_control(last->outs[i], RT_MSG_BARRIER, (int64_t)id, savepoint);
    return 0;
}

static void task_notify(task *t)
{
    uint64_t c = atomic_load(&t->x->completed_id);
    if (c <= t->notified)
        return;
    t->notified = c;
    for (uint32_t i = 0; i < t->nops; i++)
        if (t->ops[i]->vt->notify_complete)
            t->ops[i]->vt->notify_complete(t->ops[i], c);
}

static int task_tick(task *t)
{
    int64_t now = clock_mono_ms();
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

/* Accounts the time since *t0 as busy (minus what the thread spent blocked on output). */
static void account(task *t, uint64_t t0, uint64_t blocked0)
{
    uint64_t now = clock_mono_ns(), blocked = rt_channel_blocked_ns - blocked0;
    uint64_t spent = now - t0;
    atomic_fetch_add(&t->blocked_ns, blocked);
    atomic_fetch_add(&t->busy_ns, spent > blocked ? spent - blocked : 0);
}

static int source_loop(task *t)
{
    rt_exec *x = t->x;
    rt_op *src = t->ops[0];
    rt_batch *b = rt_batch_new(src->pop->out, 0);
    if (!b)
        return weir_error_set(&t->err, WEIR_ENOMEM, "out of memory");
    int rc = 0;
    while (!atomic_load(&x->failed)) {
        uint64_t id = atomic_load(&x->trigger_id);
        if (id > t->last_barrier) {
            t->last_barrier = id;
            pthread_mutex_lock(&x->mu);
            bool sp = x->req.savepoint, stop = x->req.stop && x->req.id == id;
            bool drain = stop && x->req.drain;
            pthread_mutex_unlock(&x->mu);
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
        uint64_t t0 = clock_mono_ns(), blocked0 = rt_channel_blocked_ns;
        int r = rt_op_source_poll(src, b, &idle);
        if (r < 0) {
            rc = r;
            break;
        }
        src->rows_in += b->n;
        if (b->n && (rc = src->vt->process(src, b)))
            break;
        account(t, t0, blocked0);
        if (r == RT_SOURCE_END) {
            atomic_store(&x->any_finished, true);
            if ((rc = rt_op_emit_watermark(src, RT_WATERMARK_MAX)) || (rc = task_end(t)))
                break;
            break;
        }
        if (b->n == 0)
            clock_sleep_ms(idle > 0 && idle < TICK_MS ? idle : TICK_MS);
    }
    rt_batch_free(b);
    return rc;
}

static int input_loop(task *t)
{
    rt_exec *x = t->x;
    xchain *xc = &x->xc[t->chain];
    uint32_t n = xc->nin;
    rt_channel **in = xc->in[t->subtask];
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
    while (!atomic_load(&x->failed)) {
        rt_msg m;
        int which;
        task_notify(t);
        if ((rc = task_tick(t)))
            break;
        if (!rt_inbox_pop(xc->inbox[t->subtask], in, n, blocked, 50, &m, &which))
            break;
        if (which < 0)
            continue;
        uint64_t t0 = clock_mono_ns(), blocked0 = rt_channel_blocked_ns;
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
        account(t, t0, blocked0);
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
    rt_exec *x = t->x;
    const rt_chain *ch = &x->g->chains[t->chain];
    int rc = ch->input_chain < 0 ? source_loop(t) : input_loop(t);
    if (rc && rc != WEIR_ECANCELED) {
        if (!t->err.code)
            weir_error_set(&t->err, rc, "%s", weir_strerror(rc));
        weir_error e = t->err;
        weir_error_prefix(&e, "task %s (%u/%u)", x->plan->ops[ch->ops[0]].id, t->subtask + 1,
                          ch->parallelism);
        rt_exec_fail(x, &e);
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

/* --- control -------------------------------------------------------------------------------- */

int rt_exec_restore(rt_exec *x, const json_t *meta, const char *root, const char *path,
                    weir_error *err)
{
    json_t *ops = json_object_get(meta, "operators");
    for (uint32_t k = 0; k < x->ntasks; k++) {
        task *t = &x->tasks[k];
        for (uint32_t i = 0; i < t->nops; i++) {
            rt_op *op = t->ops[i];
            json_t *e = json_object_get(ops, op->pop->uid);
            if (!op->vt->restore || !e)
                continue;
            rt_op_restore_ctx c = {.root = root, .subtasks = json_object_get(e, "subtasks")};
            if (!json_is_array(c.subtasks))
                return weir_error_set(err, WEIR_EPARSE, "%s: operator %s has no subtasks array",
                                      path, op->pop->uid);
            int rc = op->vt->restore(op, &c);
            if (rc) {
                *err = t->err;
                if (!err->code)
                    weir_error_set(err, rc, "%s", weir_strerror(rc));
                return weir_error_prefix(err, "restoring from %s", path);
            }
        }
    }
    return 0;
}

int rt_exec_start(rt_exec *x, weir_error *err)
{
    x->started = true;
    for (uint32_t k = 0; k < x->ntasks; k++) {
        if (pthread_create(&x->tasks[k].thread, NULL, task_main, &x->tasks[k])) {
            weir_error_set(err, WEIR_ENOMEM, "cannot start a thread");
            rt_exec_fail(x, err);
            return WEIR_ENOMEM;
        }
        x->tasks[k].started = true;
    }
    return 0;
}

void rt_exec_trigger(rt_exec *x, const rt_snap_req *r)
{
    const rt_storage_ops *st = NULL;
    const char *path;
    weir_error e;
    if (!strcmp(r->scheme, "file"))
        st = rt_storage_file();
    else if (rt_storage_resolve(r->root, &st, &path, &e))
        st = NULL;
    pthread_mutex_lock(&x->mu);
    if (r->id > x->req.id && st) {
        x->req = *r;
        x->req_storage = st;
    }
    pthread_cond_broadcast(&x->cond);
    pthread_mutex_unlock(&x->mu);
    if (st)
        atomic_store(&x->trigger_id, r->id);
}

void rt_exec_notify_complete(rt_exec *x, uint64_t id)
{
    if (id > atomic_load(&x->completed_id))
        atomic_store(&x->completed_id, id);
}

bool rt_exec_done(rt_exec *x)
{
    for (uint32_t k = 0; k < x->ntasks; k++)
        if (!atomic_load(&x->tasks[k].done))
            return false;
    return true;
}

bool rt_exec_source_finished(rt_exec *x)
{
    return atomic_load(&x->any_finished);
}

void rt_exec_chain_counts(rt_exec *x, uint32_t chain, rt_exec_counts *out)
{
    memset(out, 0, sizeof(*out));
    out->watermark = RT_WATERMARK_MAX;
    bool any = false;
    for (uint32_t k = 0; k < x->ntasks; k++) {
        task *t = &x->tasks[k];
        if (t->chain != chain || !t->nops)
            continue;
        any = true;
        /* Racy reads of counters written by the task thread: monitoring only. */
        out->rows_in += t->ops[0]->rows_in;
        out->rows_out += t->ops[t->nops - 1]->rows_out;
        for (uint32_t i = 0; i < t->nops; i++)
            out->late_dropped += t->ops[i]->late_dropped;
        out->busy_ns += atomic_load(&t->busy_ns);
        out->backpressured_ns += atomic_load(&t->blocked_ns);
        if (atomic_load(&t->done))
            out->finished++;
        else
            out->running++;
        int64_t wm = t->ops[t->nops - 1]->watermark;
        if (wm < out->watermark)
            out->watermark = wm;
    }
    if (!any)
        out->watermark = RT_WATERMARK_MIN;
}

void rt_exec_free(rt_exec *x)
{
    if (!x)
        return;
    if (x->started && !rt_exec_done(x)) {
        weir_error e;
        weir_error_set(&e, WEIR_ECANCELED, "cancelled");
        rt_exec_fail(x, &e);
    }
    for (uint32_t k = 0; k < x->ntasks; k++)
        if (x->tasks && x->tasks[k].started)
            pthread_join(x->tasks[k].thread, NULL);
    for (uint32_t k = 0; x->tasks && k < x->ntasks; k++) {
        task *t = &x->tasks[k];
        for (uint32_t i = 0; i < t->nops; i++)
            rt_op_free(t->ops[i]);
        free(t->ops);
    }
    free(x->tasks);
    for (uint32_t c = 0; x->xc && c < x->g->nchains; c++) {
        xchain *xc = &x->xc[c];
        uint32_t par = x->g->chains[c].parallelism;
        for (uint32_t t = 0; xc->in && t < par; t++) {
            for (uint32_t s = 0; xc->in[t] && s < xc->nin; s++)
                rt_channel_free(xc->in[t][s]);
            free(xc->in[t]);
        }
        for (uint32_t t = 0; xc->inbox && t < par; t++)
            rt_inbox_free(xc->inbox[t]);
        free(xc->in);
        free(xc->inbox);
    }
    free(x->xc);
    free(x->local);
    pthread_mutex_destroy(&x->mu);
    pthread_cond_destroy(&x->cond);
    free(x);
}
