/*
 * state_hashmap.c - the "hashmap" keyed-state backend: every entry in memory (st_table), every
 * snapshot a canonical file.
 *
 * Layer: runtime/state.
 */
#include "runtime/state/state_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct hashmap {
    st_table t;
} hashmap;

#define HM(st) (&((hashmap *)(st)->impl)->t)

static int hm_get(rt_state *st, uint32_t kg, uint64_t ns, const void *key, uint32_t klen,
                  void **val, uint32_t *vlen)
{
    st_entry *e = st_table_find(HM(st), st_hash(kg, ns, key, klen), kg, ns, key, klen);
    if (!e)
        return WEIR_ENOTFOUND;
    *val = st_entry_val(e);
    *vlen = e->vlen;
    return 0;
}

static int hm_put(rt_state *st, uint32_t kg, uint64_t ns, const void *key, uint32_t klen,
                  const void *val, uint32_t vlen, void **stored)
{
    st_entry *e = st_table_upsert(HM(st), st_hash(kg, ns, key, klen), kg, ns, key, klen, vlen);
    if (!e)
        return WEIR_ENOMEM;
    if (val)
        memmove(st_entry_val(e), val, vlen);
    else
        memset(st_entry_val(e), 0, vlen);
    if (stored)
        *stored = st_entry_val(e);
    return 0;
}

static int hm_del(rt_state *st, uint32_t kg, uint64_t ns, const void *key, uint32_t klen)
{
    st_entry *e = st_table_find(HM(st), st_hash(kg, ns, key, klen), kg, ns, key, klen);
    if (e)
        st_table_remove(HM(st), e);
    return 0;
}

static int hm_scan_ns(rt_state *st, uint64_t ns, bool remove, rt_state_scan_fn fn, void *ctx)
{
    st_table *t = HM(st);
    for (st_entry *e = st_table_ns_head(t, ns); e;) {
        st_entry *next = e->ns_next;
        int rc = fn(ctx, e->kg, st_entry_key(e), e->klen, st_entry_val(e), e->vlen);
        if (rc)
            return rc;
        if (remove)
            st_table_remove(t, e);
        e = next;
    }
    return 0;
}

static int hm_scan_all(rt_state *st,
                       int (*fn)(void *, uint32_t, uint64_t, const void *, uint32_t, const void *,
                                 uint32_t),
                       void *ctx)
{
    st_table *t = HM(st);
    for (size_t i = 0; i < t->cap; i++) {
        st_entry *e = t->slots[i];
        if (!e)
            continue;
        int rc = fn(ctx, e->kg, e->ns, st_entry_key(e), e->klen, st_entry_val(e), e->vlen);
        if (rc)
            return rc;
    }
    return 0;
}

static uint64_t hm_count(rt_state *st)
{
    return HM(st)->len;
}

static size_t hm_memory(rt_state *st)
{
    st_table *t = HM(st);
    return t->bytes + t->cap * sizeof(void *) + t->ns_cap * sizeof(st_nshead);
}

static void hm_destroy(rt_state *st)
{
    st_table_free(HM(st));
    free(st->impl);
}

static const st_ops hashmap_ops = {
    .get = hm_get,
    .put = hm_put,
    .del = hm_del,
    .scan_ns = hm_scan_ns,
    .scan_all = hm_scan_all,
    .count = hm_count,
    .memory = hm_memory,
    .destroy = hm_destroy,
};

int st_hashmap_open(rt_state *st, weir_error *err)
{
    hashmap *h = calloc(1, sizeof(*h));
    if (!h)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    st_table_init(&h->t);
    st->impl = h;
    st->ops = &hashmap_ops;
    return 0;
}
