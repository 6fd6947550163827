/*
 * local_agg.c - local (pre-)aggregation, the first phase of a two-phase aggregation (Flink's
 * LocalWindowAggregate / LocalGroupAggregate): it runs in its input's subtask, before the
 * hash exchange, and folds the rows it sees into partial accumulators per key — and, for a
 * window aggregation, per slice (the pieces every window of the kind is made of: the window for
 * TUMBLE, gcd(size, slide) for HOP, the step for CUMULATE). The partials are flushed to the
 * global aggregation, which merges them (agg_acc_merge), so each key crosses the exchange once
 * per flush instead of once per row.
 *
 * Where it does not pay — keys that rarely repeat within a flush — it steps aside, as Velox's
 * and Presto's partial aggregations do: when, after LOCAL_SAMPLE_ROWS rows, more than half of
 * the rows opened a new entry, it flushes and passes each row on as its own partial (no hash
 * table) for the next LOCAL_BYPASS_ROWS rows, then samples again.
 *
 * It has no state: everything buffered is flushed before a checkpoint barrier passes
 * (pre_barrier), so a snapshot never holds a partial. Flushes:
 *   window: the slices a watermark reaches (end − 1 <= watermark), before the watermark is
 *           forwarded, so the global has every partial of a window before it can fire; later
 *           slices stay buffered. Rows of slices already behind the watermark go at the end
 *           of their batch (they keep their place relative to watermarks, so late rows are late
 *           exactly as in one phase). Everything when flushRows entries are buffered;
 *   group:  after flushRows input rows, flushMs after the first buffered row (the mini-batch
 *           size and latency).
 *   both:   before a barrier and at the end of input.
 *
 * Output rows (+I): keys..., [slice end,] accumulators (BYTES, agg_acc's layout).
 *
 * Memory: a hash table of entries and one byte buffer (accumulators, then the encoded key, per
 * entry), both owned by the operator and reused after each flush.
 *
 * Layer: runtime/operators.
 */
#include "runtime/engine/operator.h"
#include "runtime/operators/agg_acc.h"

#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOCAL_SAMPLE_ROWS 10000
#define LOCAL_BYPASS_ROWS 1000000

typedef struct lentry {
    uint64_t hash;
    int64_t slice; /* slice end (window), 0 (group) */
    uint32_t off;  /* into data: vlen accumulator bytes, then klen key bytes */
    uint32_t klen;
    uint32_t slot; /* its index in slots, cleared on flush */
} lentry;

typedef struct local_op {
    rt_op op;
    bool windowed;
    uint32_t vlen; /* accumulator bytes, a multiple of 16 */
    rt_batch *out;
    lentry *ents;
    uint32_t nents, cap_ents;
    uint32_t *slots; /* entry index + 1, 0 = empty; a power of two */
    uint32_t nslots;
    uint8_t *data;
    size_t used, cap;
    uint64_t rows;     /* input rows since the last flush */
    int64_t first_ms;  /* tick time at which the buffer was first seen non-empty, 0 */
    int64_t min_slice; /* smallest buffered slice end */
    bool flush_now;
    uint64_t sample_rows, sample_new; /* rows, and new entries, since sampling started */
    uint64_t bypass;                  /* rows still to pass on without aggregating */
    uint8_t keybuf[RT_STATE_MAX_KEY];
} local_op;

static int64_t floor_mod(int64_t a, int64_t b)
{
    int64_t m = a % b;
    return m < 0 ? m + b : m;
}

static uint64_t mix(uint64_t h, int64_t slice)
{
    h ^= (uint64_t)slice * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    return h;
}

static int grow_slots(local_op *l)
{
    uint32_t n = l->nslots ? l->nslots * 2 : 1024;
    uint32_t *s = calloc(n, sizeof(uint32_t));
    if (!s)
        return WEIR_ENOMEM;
    for (uint32_t i = 0; i < l->nents; i++) {
        uint32_t j = (uint32_t)l->ents[i].hash & (n - 1);
        while (s[j])
            j = (j + 1) & (n - 1);
        s[j] = i + 1;
        l->ents[i].slot = j;
    }
    free(l->slots);
    l->slots = s;
    l->nslots = n;
    return 0;
}

/* The accumulators of (key, slice), created zeroed when new. NULL when out of memory. */
static agg_acc *find(local_op *l, const uint8_t *key, uint32_t klen, int64_t slice)
{
    if ((l->nents + 1) * 2 > l->nslots && grow_slots(l))
        return NULL;
    uint64_t h = mix(rt_key_hash(key, klen), slice);
    uint32_t j = (uint32_t)h & (l->nslots - 1);
    for (; l->slots[j]; j = (j + 1) & (l->nslots - 1)) {
        lentry *e = &l->ents[l->slots[j] - 1];
        if (e->hash == h && e->slice == slice && e->klen == klen &&
            memcmp(l->data + e->off + l->vlen, key, klen) == 0)
            return (agg_acc *)(void *)(l->data + e->off);
    }
    if (l->nents == l->cap_ents) {
        uint32_t nc = l->cap_ents ? l->cap_ents * 2 : 256;
        lentry *ne = realloc(l->ents, nc * sizeof(lentry));
        if (!ne)
            return NULL;
        l->ents = ne;
        l->cap_ents = nc;
    }
    size_t need = l->vlen + ((klen + 7u) & ~7u);
    if (l->used + need > l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64 * 1024;
        while (nc < l->used + need)
            nc *= 2;
        uint8_t *nd = realloc(l->data, nc);
        if (!nd)
            return NULL;
        l->data = nd;
        l->cap = nc;
    }
    lentry *e = &l->ents[l->nents];
    *e = (lentry){.hash = h, .slice = slice, .off = (uint32_t)l->used, .klen = klen, .slot = j};
    memset(l->data + l->used, 0, l->vlen);
    memcpy(l->data + l->used + l->vlen, key, klen);
    l->used += need;
    l->slots[j] = ++l->nents;
    l->sample_new++;
    if (slice < l->min_slice)
        l->min_slice = slice;
    return (agg_acc *)(void *)(l->data + e->off);
}

/* Emits the buffered partials whose slice ends at or before upto + 1 (INT64_MAX: all) and
 * keeps the others, compacted. */
static int flush(local_op *l, int64_t upto)
{
    rt_op *op = &l->op;
    const rt_plan_op *p = op->pop;
    uint32_t nk = p->nkeys, acc_col = nk + (l->windowed ? 1 : 0);
    int rc = 0;
    rt_batch_reset(l->out);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < l->nents && !rc; i++) {
        const lentry *e = &l->ents[i];
        if (upto != INT64_MAX && e->slice - 1 > upto) {
            kept++;
            continue;
        }
        if (rt_batch_full(l->out)) {
            rc = rt_op_emit(op, l->out);
            rt_batch_reset(l->out);
            if (rc)
                break;
        }
        uint32_t row = l->out->n;
        if ((rc = rt_key_decode(l->data + e->off + l->vlen, e->klen, l->out, row, 0, nk))) {
            weir_error_set(op->err, rc, "local aggregation '%s': bad key", p->id);
            break;
        }
        if (l->windowed) {
            l->out->cols[nk].i64[row] = e->slice;
            l->out->cols[nk].null[row] = 0;
        }
        /* The bytes stay in `data` until after the emit, which copies them. */
        l->out->cols[acc_col].str[row] = (rt_str){(const char *)l->data + e->off, l->vlen};
        l->out->cols[acc_col].null[row] = 0;
        l->out->kind[row] = RT_INSERT;
        l->out->n++;
    }
    if (!rc && l->out->n)
        rc = rt_op_emit(op, l->out);
    rt_batch_reset(l->out);
    for (uint32_t i = 0; i < l->nents; i++)
        l->slots[l->ents[i].slot] = 0;
    uint32_t n = l->nents;
    size_t used = 0;
    l->nents = 0;
    l->min_slice = INT64_MAX;
    for (uint32_t i = 0; kept && i < n; i++) { /* the later slices stay, moved down */
        lentry e = l->ents[i];
        if (e.slice - 1 <= upto)
            continue;
        size_t size = l->vlen + ((e.klen + 7u) & ~7u);
        memmove(l->data + used, l->data + e.off, size);
        e.off = (uint32_t)used;
        used += size;
        uint32_t j = (uint32_t)e.hash & (l->nslots - 1);
        while (l->slots[j])
            j = (j + 1) & (l->nslots - 1);
        e.slot = j;
        l->ents[l->nents] = e;
        l->slots[j] = ++l->nents;
        if (e.slice < l->min_slice)
            l->min_slice = e.slice;
    }
    l->used = used;
    l->rows = 0;
    l->first_ms = 0;
    l->flush_now = false;
    return rc;
}

/* Copies column value in[r] to out[row] (same type; strings into out's arena). */
static int copy_value(const rt_col *in, uint32_t r, rt_batch *out, uint32_t c, uint32_t row)
{
    rt_col *o = &out->cols[c];
    o->null[row] = in->null[r];
    switch (rt_type_phys(in->type)) {
    case RT_PHYS_STR: {
        bool ok = true;
        o->str[row] = in->null[r]
                          ? (rt_str){NULL, 0}
                          : rt_arena_strdup(&out->arena, in->str[r].ptr, in->str[r].len, &ok);
        return ok ? 0 : WEIR_ENOMEM;
    }
    case RT_PHYS_I128:
        o->i128[row] = in->i128[r];
        return 0;
    case RT_PHYS_F64:
        o->f64[row] = in->f64[r];
        return 0;
    default:
        o->i64[row] = in->i64[r];
        return 0;
    }
}

/* Not paying: every row of `in` becomes a partial of its own, straight to the output. */
static int pass_on(local_op *l, const rt_batch *in)
{
    rt_op *op = &l->op;
    const rt_plan_op *p = op->pop;
    uint32_t nk = p->nkeys, acc_col = nk + (l->windowed ? 1 : 0);
    const rt_col *ts = l->windowed ? &in->cols[p->rowtime] : NULL;
    int rc = 0;
    rt_batch_reset(l->out);
    for (uint32_t r = 0; r < in->n && !rc; r++) {
        int sign = in->kind[r] == RT_UPDATE_BEFORE || in->kind[r] == RT_DELETE ? -1 : 1;
        if (rt_batch_full(l->out)) {
            rc = rt_op_emit(op, l->out);
            rt_batch_reset(l->out);
            if (rc)
                break;
        }
        uint32_t row = l->out->n;
        if (ts) {
            if (sign < 0)
                return weir_error_set(op->err, WEIR_EUNSUPPORTED,
                                      "window '%s': window aggregation over an updating input "
                                      "(retractions) is not supported yet",
                                      p->id);
            if (ts->null[r]) {
                op->late_dropped++;
                continue;
            }
            int64_t t = ts->i64[r];
            l->out->cols[nk].i64[row] = t - floor_mod(t - p->offset_ms, p->slice_ms) + p->slice_ms;
            l->out->cols[nk].null[row] = 0;
        }
        agg_acc *acc = rt_arena_alloc(&l->out->arena, l->vlen);
        if (!acc)
            return weir_error_set(op->err, WEIR_ENOMEM, "out of memory");
        memset(acc, 0, l->vlen);
        if (agg_acc_update(acc, p->aggs, p->naggs, in, r, sign))
            return weir_error_set(op->err, WEIR_EUNSUPPORTED,
                                  "group '%s': MIN/MAX over an updating input (retractions) is "
                                  "not supported yet",
                                  p->id);
        for (uint32_t k = 0; k < nk && !rc; k++)
            rc = copy_value(&in->cols[p->keys[k]], r, l->out, k, row);
        if (rc)
            return weir_error_set(op->err, rc, "out of memory");
        l->out->cols[acc_col].str[row] = (rt_str){(const char *)acc, l->vlen};
        l->out->cols[acc_col].null[row] = 0;
        l->out->kind[row] = RT_INSERT;
        l->out->n++;
    }
    if (!rc && l->out->n)
        rc = rt_op_emit(op, l->out);
    rt_batch_reset(l->out);
    l->bypass = l->bypass > in->n ? l->bypass - in->n : 0;
    return rc;
}

static int loc_process(rt_op *op, const rt_batch *in)
{
    local_op *l = (local_op *)op;
    const rt_plan_op *p = op->pop;
    if (l->bypass)
        return pass_on(l, in);
    const rt_col *ts = l->windowed ? &in->cols[p->rowtime] : NULL;
    for (uint32_t r = 0; r < in->n; r++) {
        int sign = in->kind[r] == RT_UPDATE_BEFORE || in->kind[r] == RT_DELETE ? -1 : 1;
        int64_t slice = 0;
        if (ts) {
            if (sign < 0)
                return weir_error_set(op->err, WEIR_EUNSUPPORTED,
                                      "window '%s': window aggregation over an updating input "
                                      "(retractions) is not supported yet",
                                      p->id);
            if (ts->null[r]) {
                op->late_dropped++;
                continue;
            }
            int64_t t = ts->i64[r];
            slice = t - floor_mod(t - p->offset_ms, p->slice_ms) + p->slice_ms;
            if (slice - 1 <= op->watermark)
                l->flush_now = true; /* behind the watermark: to the global at once */
        }
        int len = rt_key_encode(in, r, p->keys, p->nkeys, l->keybuf, sizeof(l->keybuf));
        if (len < 0)
            return weir_error_set(op->err, len, "local aggregation '%s': key larger than %d bytes",
                                  p->id, RT_STATE_MAX_KEY);
        agg_acc *acc = find(l, l->keybuf, (uint32_t)len, slice);
        if (!acc)
            return weir_error_set(op->err, WEIR_ENOMEM, "out of memory");
        if (agg_acc_update(acc, p->aggs, p->naggs, in, r, sign))
            return weir_error_set(op->err, WEIR_EUNSUPPORTED,
                                  "group '%s': MIN/MAX over an updating input (retractions) is "
                                  "not supported yet",
                                  p->id);
        l->rows++;
        l->sample_rows++;
    }
    if (l->sample_rows >= LOCAL_SAMPLE_ROWS) {
        double share = (double)l->sample_new / (double)l->sample_rows;
        bool pays = l->sample_new * 2 <= l->sample_rows;
        l->sample_rows = l->sample_new = 0;
        if (!pays) {
            char sub[16], shs[32];
            snprintf(sub, sizeof(sub), "%u", op->subtask);
            snprintf(shs, sizeof(shs), "%.2f", share);
            log_info("local aggregation does not pay: passing rows on", "operator", p->id,
                     "subtask", sub, "new_key_share", shs);
            l->bypass = LOCAL_BYPASS_ROWS;
            return flush(l, INT64_MAX);
        }
    }
    if (l->flush_now) /* rows of slices behind the watermark */
        return flush(l, op->watermark);
    if ((l->windowed ? l->nents : l->rows) >= (uint64_t)p->flush_rows)
        return flush(l, INT64_MAX);
    return 0;
}

static int loc_watermark(rt_op *op, int64_t wm)
{
    local_op *l = (local_op *)op;
    int rc;
    if (l->windowed && l->nents && wm >= l->min_slice - 1 && (rc = flush(l, wm)))
        return rc;
    op->watermark = wm;
    return rt_op_emit_watermark(op, wm);
}

static int loc_flush(rt_op *op)
{
    local_op *l = (local_op *)op;
    return l->nents ? flush(l, INT64_MAX) : 0;
}

static int loc_tick(rt_op *op, int64_t now_ms)
{
    local_op *l = (local_op *)op;
    if (!l->nents)
        return 0;
    if (!l->first_ms) {
        l->first_ms = now_ms;
        return 0;
    }
    return now_ms - l->first_ms >= op->pop->flush_ms ? flush(l, INT64_MAX) : 0;
}

static void loc_destroy(rt_op *op)
{
    local_op *l = (local_op *)op;
    rt_batch_free(l->out);
    free(l->ents);
    free(l->slots);
    free(l->data);
    free(l);
}

static const rt_op_vt local_window_vt = {
    .process = loc_process,
    .watermark = loc_watermark,
    .pre_barrier = loc_flush,
    .end_input = loc_flush,
    .destroy = loc_destroy,
};

static const rt_op_vt local_group_vt = {
    .process = loc_process,
    .pre_barrier = loc_flush,
    .end_input = loc_flush,
    .tick = loc_tick,
    .destroy = loc_destroy,
};

int rt_op_local_agg_new(const rt_plan *plan, const rt_plan_op *pop, uint32_t subtask, rt_op **out,
                        weir_error *err)
{
    (void)plan;
    (void)subtask;
    local_op *l = calloc(1, sizeof(*l));
    if (!l)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    l->windowed = pop->type == RT_OP_LOCAL_WINDOW_AGG;
    l->op.vt = l->windowed ? &local_window_vt : &local_group_vt;
    l->vlen = agg_acc_size(pop->aggs, pop->naggs);
    l->min_slice = INT64_MAX;
    if (!(l->out = rt_batch_new(pop->out, 0)) || grow_slots(l)) {
        loc_destroy(&l->op);
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    }
    *out = &l->op;
    return 0;
}
