/*
 * agg_distinct.c - value counts of DISTINCT aggregates in keyed state (see agg_distinct.h).
 *
 * Layer: runtime/operators (internal).
 */
#include "runtime/operators/agg_distinct.h"

#include <string.h>

bool agg_distinct_any(const rt_plan_op *p)
{
    for (uint32_t i = 0; i < p->naggs; i++)
        if (p->aggs[i].distinct)
            return true;
    return false;
}

int agg_distinct_signs(rt_op *op, uint32_t kg, uint64_t ns, const uint8_t *key, uint32_t klen,
                       const rt_batch *in, uint32_t row, int sign, int8_t *dsign)
{
    const rt_plan_op *p = op->pop;
    uint8_t buf[RT_STATE_MAX_KEY];
    for (uint32_t i = 0; i < p->naggs; i++) {
        const rt_plan_agg *a = &p->aggs[i];
        if (!a->distinct)
            continue;
        dsign[i] = 0;
        if (a->arg < 0 || in->cols[a->arg].null[row])
            continue;
        uint32_t arg = (uint32_t)a->arg;
        if (klen + 2 > sizeof(buf))
            return weir_error_set(op->err, WEIR_ETOOBIG,
                                  "'%s': DISTINCT value and key larger than %d bytes", p->id,
                                  RT_STATE_MAX_KEY);
        memcpy(buf, key, klen);
        int vl = rt_key_encode(in, row, &arg, 1, buf + klen, (uint32_t)sizeof(buf) - klen - 1);
        if (vl < 0)
            return weir_error_set(op->err, vl, "'%s': DISTINCT value and key larger than %d bytes",
                                  p->id, RT_STATE_MAX_KEY);
        uint32_t len = klen + (uint32_t)vl;
        buf[len++] = (uint8_t)(0xD0 + i);
        void *val;
        uint32_t vlen;
        int rc = rt_state_get(op->state, kg, ns, buf, len, &val, &vlen);
        int64_t n = 0;
        if (rc == 0 && vlen == AGG_DISTINCT_VLEN)
            memcpy(&n, val, sizeof(n));
        else if (rc == 0)
            return weir_error_set(op->err, WEIR_EPARSE,
                                  "'%s': DISTINCT entry has %u bytes, expected %d", p->id, vlen,
                                  AGG_DISTINCT_VLEN);
        else if (rc != WEIR_ENOTFOUND)
            return weir_error_set(op->err, rc, "'%s': state: %s", p->id, weir_strerror(rc));
        if (sign < 0 && n == 0)
            continue; /* a retraction of a value never counted */
        int64_t m = n + sign;
        if (m == 0) {
            if ((rc = rt_state_delete(op->state, kg, ns, buf, len)))
                return weir_error_set(op->err, rc, "'%s': state: %s", p->id, weir_strerror(rc));
            dsign[i] = -1;
            continue;
        }
        if (n == 0 &&
            (rc = rt_state_put(op->state, kg, ns, buf, len, NULL, AGG_DISTINCT_VLEN, &val)))
            return weir_error_set(op->err, rc, "'%s': state: %s", p->id, weir_strerror(rc));
        memcpy(val, &m, sizeof(m));
        dsign[i] = n == 0 ? 1 : 0;
    }
    return 0;
}
