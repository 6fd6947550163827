/*
 * operator.c - emitting along chains and through partitioners; key encoding and hashing.
 *
 * Keys are encoded column by column: a flag byte (0 value, 1 NULL), then 8 little-endian bytes
 * for I64/F64 values or a 4-byte length and the bytes for strings. The hash is XXH3-64 of the
 * encoding, so the exchange and the keyed state agree on key groups.
 *
 * Layer: runtime/engine.
 */
#include "runtime/engine/operator.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <stdlib.h>
#include <string.h>

int rt_op_emit(rt_op *op, const rt_batch *b)
{
    if (b->n == 0)
        return 0;
    op->rows_out += b->n;
    for (uint32_t i = 0; i < op->nnext; i++) {
        rt_op *n = op->next[i];
        n->rows_in += b->n;
        int rc = n->vt->process(n, b);
        if (rc)
            return rc;
    }
    for (uint32_t i = 0; i < op->nouts; i++) {
        int rc = rt_output_write(op->outs[i], b);
        if (rc)
            return rc;
    }
    return 0;
}

int rt_op_emit_watermark(rt_op *op, int64_t wm)
{
    for (uint32_t i = 0; i < op->nnext; i++) {
        rt_op *n = op->next[i];
        if (wm <= n->watermark)
            continue;
        int rc;
        if (n->vt->watermark)
            rc = n->vt->watermark(n, wm);
        else {
            n->watermark = wm;
            rc = rt_op_emit_watermark(n, wm);
        }
        if (rc)
            return rc;
    }
    for (uint32_t i = 0; i < op->nouts; i++) {
        int rc = rt_output_control(op->outs[i], RT_MSG_WATERMARK, wm, false);
        if (rc)
            return rc;
    }
    return 0;
}

void rt_op_emit_idle(rt_op *op)
{
    for (uint32_t i = 0; i < op->nnext; i++)
        rt_op_emit_idle(op->next[i]);
    for (uint32_t i = 0; i < op->nouts; i++)
        rt_output_control(op->outs[i], RT_MSG_IDLE, 0, false);
}

void rt_op_free(rt_op *op)
{
    if (!op)
        return;
    rt_op **next = op->next;
    rt_output **outs = op->outs;
    uint32_t nouts = op->nouts;
    rt_state *st = op->state;
    op->vt->destroy(op);
    free(next);
    for (uint32_t i = 0; i < nouts; i++)
        rt_output_free(outs[i]);
    free(outs);
    rt_state_free(st);
}

/* --- partitioners -------------------------------------------------------------------------- */

struct rt_output {
    rt_partition kind;
    uint32_t *keys, nkeys;
    rt_channel **targets;
    uint32_t ntargets;
    rt_batch **pending;
    uint32_t maxp;
    uint32_t rr;
    uint32_t self;
    uint32_t *tgt, *idx, *count; /* hash scratch: target per row, rows by target, counts */
    uint32_t scratch_rows;
    uint8_t keybuf[RT_STATE_MAX_KEY];
};

rt_output *rt_output_new(rt_partition kind, const uint32_t *keys, uint32_t nkeys,
                         rt_channel **targets, uint32_t ntargets, uint32_t max_parallelism,
                         uint32_t self_index)
{
    rt_output *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->kind = kind;
    o->nkeys = nkeys;
    o->keys = calloc(nkeys ? nkeys : 1, sizeof(uint32_t));
    o->targets = calloc(ntargets, sizeof(rt_channel *));
    o->pending = calloc(ntargets, sizeof(rt_batch *));
    o->count = calloc(ntargets + 1, sizeof(uint32_t));
    if (!o->keys || !o->targets || !o->pending || !o->count) {
        rt_output_free(o);
        return NULL;
    }
    if (nkeys)
        memcpy(o->keys, keys, nkeys * sizeof(uint32_t));
    memcpy(o->targets, targets, ntargets * sizeof(rt_channel *));
    o->ntargets = ntargets;
    o->maxp = max_parallelism;
    o->self = self_index;
    o->rr = self_index % ntargets;
    return o;
}

void rt_output_free(rt_output *o)
{
    if (!o)
        return;
    /* Pending batches belong to their channels' pools, which free them. */
    free(o->keys);
    free(o->targets);
    free(o->pending);
    free(o->tgt);
    free(o->idx);
    free(o->count);
    free(o);
}

/* Appends rows (rows[0..n), or first..first+n when rows is NULL) to target t's pending batch,
 * pushing every batch that fills. */
static int append(rt_output *o, uint32_t t, const rt_batch *b, const uint32_t *rows, uint32_t first,
                  uint32_t n)
{
    while (n) {
        if (!o->pending[t] && !(o->pending[t] = rt_channel_acquire(o->targets[t])))
            return WEIR_ECANCELED;
        rt_batch *p = o->pending[t];
        uint32_t k = p->cap - p->n < n ? p->cap - p->n : n;
        int rc = rt_batch_append_rows(p, b, rows, first, k);
        if (rc)
            return rc;
        if (rows)
            rows += k;
        else
            first += k;
        n -= k;
        if (rt_batch_full(p)) {
            rt_channel_push_batch(o->targets[t], p);
            o->pending[t] = NULL;
        }
    }
    return 0;
}

int rt_output_write(rt_output *o, const rt_batch *b)
{
    int rc = 0;
    switch (o->kind) {
    case RT_PART_FORWARD:
        return append(o, o->ntargets == 1 ? 0 : o->self % o->ntargets, b, NULL, 0, b->n);
    case RT_PART_REBALANCE: {
        uint32_t t = o->rr;
        o->rr = (o->rr + 1) % o->ntargets;
        return append(o, t, b, NULL, 0, b->n);
    }
    case RT_PART_BROADCAST:
        for (uint32_t t = 0; t < o->ntargets && !rc; t++)
            rc = append(o, t, b, NULL, 0, b->n);
        return rc;
    case RT_PART_HASH: {
        if (b->n > o->scratch_rows) {
            uint32_t *nt = realloc(o->tgt, b->n * sizeof(uint32_t));
            if (nt)
                o->tgt = nt;
            uint32_t *ni = nt ? realloc(o->idx, b->n * sizeof(uint32_t)) : NULL;
            if (!ni)
                return WEIR_ENOMEM;
            o->idx = ni;
            o->scratch_rows = b->n;
        }
        /* target of every row, then the rows grouped by target in their order (counting
         * sort), then one columnar copy per target */
        memset(o->count, 0, (o->ntargets + 1) * sizeof(uint32_t));
        for (uint32_t r = 0; r < b->n; r++) {
            int len = rt_key_encode(b, r, o->keys, o->nkeys, o->keybuf, sizeof(o->keybuf));
            if (len < 0)
                return len;
            uint32_t kg = rt_state_key_group(rt_key_hash(o->keybuf, (uint32_t)len), o->maxp);
            o->tgt[r] = rt_state_operator_index(o->maxp, o->ntargets, kg);
            o->count[o->tgt[r] + 1]++;
        }
        for (uint32_t t = 1; t <= o->ntargets; t++)
            o->count[t] += o->count[t - 1];
        /* count[t] is now where target t's rows start; fill, then restore the starts */
        for (uint32_t r = 0; r < b->n; r++)
            o->idx[o->count[o->tgt[r]]++] = r;
        uint32_t start = 0;
        for (uint32_t t = 0; t < o->ntargets && !rc; t++) {
            uint32_t end = o->count[t];
            if (end > start)
                rc = append(o, t, b, o->idx + start, 0, end - start);
            start = end;
        }
        return rc;
    }
    }
    return rc;
}

int rt_output_control(rt_output *o, rt_msg_kind kind, int64_t value, bool savepoint)
{
    for (uint32_t t = 0; t < o->ntargets; t++) {
        if (o->pending[t]) {
            rt_channel_push_batch(o->targets[t], o->pending[t]);
            o->pending[t] = NULL;
        }
        rt_channel_push(o->targets[t], kind, value, savepoint);
    }
    return 0;
}

/* --- keys ---------------------------------------------------------------------------------- */

int rt_key_encode(const rt_batch *b, uint32_t row, const uint32_t *keys, uint32_t nkeys,
                  uint8_t *buf, uint32_t cap)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < nkeys; i++) {
        const rt_col *c = &b->cols[keys[i]];
        if (n + 1 > cap)
            return WEIR_ETOOBIG;
        if (c->null[row]) {
            buf[n++] = 1;
            continue;
        }
        buf[n++] = 0;
        if (rt_type_phys(c->type) == RT_PHYS_STR) {
            uint32_t len = c->str[row].len;
            if (n + 4 + len > cap)
                return WEIR_ETOOBIG;
            memcpy(buf + n, &len, 4);
            if (len)
                memcpy(buf + n + 4, c->str[row].ptr, len);
            n += 4 + len;
        } else if (rt_type_phys(c->type) == RT_PHYS_I128) {
            if (n + 16 > cap)
                return WEIR_ETOOBIG;
            memcpy(buf + n, &c->i128[row], 16);
            n += 16;
        } else {
            if (n + 8 > cap)
                return WEIR_ETOOBIG;
            int64_t v = c->i64[row];
            if (rt_type_phys(c->type) == RT_PHYS_F64 && c->f64[row] == 0)
                v = 0; /* -0.0 and 0.0 are the same key */
            memcpy(buf + n, &v, 8);
            n += 8;
        }
    }
    return (int)n;
}

int rt_key_decode(const uint8_t *buf, uint32_t len, rt_batch *out, uint32_t row, uint32_t first,
                  uint32_t nkeys)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < nkeys; i++) {
        rt_col *c = &out->cols[first + i];
        if (n >= len)
            return WEIR_EPARSE;
        if (buf[n++]) {
            c->null[row] = 1;
            continue;
        }
        c->null[row] = 0;
        if (rt_type_phys(c->type) == RT_PHYS_STR) {
            uint32_t l;
            if (n + 4 > len)
                return WEIR_EPARSE;
            memcpy(&l, buf + n, 4);
            if (n + 4 + l > len)
                return WEIR_EPARSE;
            bool ok = true;
            c->str[row] = rt_arena_strdup(&out->arena, (const char *)buf + n + 4, l, &ok);
            if (!ok)
                return WEIR_ENOMEM;
            n += 4 + l;
        } else if (rt_type_phys(c->type) == RT_PHYS_I128) {
            if (n + 16 > len)
                return WEIR_EPARSE;
            memcpy(&c->i128[row], buf + n, 16);
            n += 16;
        } else {
            if (n + 8 > len)
                return WEIR_EPARSE;
            memcpy(&c->i64[row], buf + n, 8);
            n += 8;
        }
    }
    return n == len ? 0 : WEIR_EPARSE;
}

uint64_t rt_key_hash(const uint8_t *buf, uint32_t len)
{
    return XXH3_64bits(buf, len);
}
