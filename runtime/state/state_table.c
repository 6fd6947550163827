/*
 * state_table.c - the in-memory entry table of keyed state: open addressing with linear
 * probing and backward-shift deletion over entry pointers (the entries themselves are single
 * allocations holding key and value), plus a namespace index (a second open-addressing table
 * from namespace to a doubly-linked list of its entries) so a window's entries are found
 * without scanning the whole table.
 *
 * Layer: runtime/state (internal).
 */
#include "runtime/state/state_int.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <stdlib.h>
#include <string.h>

void st_table_init(st_table *t)
{
    memset(t, 0, sizeof(*t));
}

void st_table_free(st_table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i]);
    free(t->slots);
    free(t->ns);
    memset(t, 0, sizeof(*t));
}

uint64_t st_hash(uint32_t kg, uint64_t ns, const void *key, uint32_t klen)
{
    return XXH3_64bits_withSeed(key, klen, ns * 0x9E3779B97F4A7C15ULL + kg);
}

static inline uint64_t ns_hash(uint64_t ns)
{
    ns ^= ns >> 33;
    ns *= 0xff51afd7ed558ccdULL;
    ns ^= ns >> 33;
    return ns;
}

st_entry *st_table_find(st_table *t, uint64_t h, uint32_t kg, uint64_t ns, const void *key,
                        uint32_t klen)
{
    if (!t->cap)
        return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        st_entry *e = t->slots[i];
        if (!e)
            return NULL;
        if (e->hash == h && e->ns == ns && e->kg == kg && e->klen == klen &&
            memcmp(e->data, key, klen) == 0)
            return e;
    }
}

/* --- namespace index ------------------------------------------------------------------------ */

static st_nshead *ns_slot(st_table *t, uint64_t ns, bool create)
{
    if (create && (t->ns_len + 1) * 10 > t->ns_cap * 7) {
        size_t nc = t->ns_cap ? t->ns_cap * 2 : 16;
        st_nshead *n = calloc(nc, sizeof(*n));
        if (!n)
            return NULL;
        for (size_t i = 0; i < t->ns_cap; i++) {
            if (!t->ns[i].used)
                continue;
            size_t j = ns_hash(t->ns[i].ns) & (nc - 1);
            while (n[j].used)
                j = (j + 1) & (nc - 1);
            n[j] = t->ns[i];
        }
        free(t->ns);
        t->ns = n;
        t->ns_cap = nc;
    }
    if (!t->ns_cap)
        return NULL;
    size_t mask = t->ns_cap - 1;
    for (size_t i = ns_hash(ns) & mask;; i = (i + 1) & mask) {
        st_nshead *s = &t->ns[i];
        if (!s->used) {
            if (!create)
                return NULL;
            s->used = 1;
            s->ns = ns;
            s->head = NULL;
            t->ns_len++;
            return s;
        }
        if (s->ns == ns)
            return s;
    }
}

static void ns_remove_slot(st_table *t, st_nshead *s)
{
    size_t mask = t->ns_cap - 1;
    size_t i = (size_t)(s - t->ns);
    t->ns[i].used = 0;
    t->ns_len--;
    for (size_t j = (i + 1) & mask; t->ns[j].used; j = (j + 1) & mask) {
        size_t home = ns_hash(t->ns[j].ns) & mask;
        /* Move j back to i when its home is not in (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            t->ns[i] = t->ns[j];
            t->ns[j].used = 0;
            i = j;
        }
    }
}

static void ns_link(st_table *t, st_nshead *s, st_entry *e)
{
    (void)t;
    e->ns_prev = NULL;
    e->ns_next = s->head;
    if (s->head)
        s->head->ns_prev = e;
    s->head = e;
}

static void ns_unlink(st_table *t, st_entry *e)
{
    if (e->ns_prev)
        e->ns_prev->ns_next = e->ns_next;
    else {
        st_nshead *s = ns_slot(t, e->ns, false);
        if (s) {
            s->head = e->ns_next;
            if (!s->head)
                ns_remove_slot(t, s);
        }
    }
    if (e->ns_next)
        e->ns_next->ns_prev = e->ns_prev;
}

st_entry *st_table_ns_head(st_table *t, uint64_t ns)
{
    st_nshead *s = ns_slot(t, ns, false);
    return s ? s->head : NULL;
}

/* --- entries -------------------------------------------------------------------------------- */

static int grow(st_table *t)
{
    size_t nc = t->cap ? t->cap * 2 : 64;
    st_entry **n = calloc(nc, sizeof(*n));
    if (!n)
        return WEIR_ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        st_entry *e = t->slots[i];
        if (!e)
            continue;
        size_t j = e->hash & (nc - 1);
        while (n[j])
            j = (j + 1) & (nc - 1);
        n[j] = e;
    }
    free(t->slots);
    t->slots = n;
    t->cap = nc;
    return 0;
}

static size_t entry_size(uint32_t klen, uint32_t vcap)
{
    return sizeof(st_entry) + ((klen + 7u) & ~7u) + vcap;
}

st_entry *st_table_upsert(st_table *t, uint64_t h, uint32_t kg, uint64_t ns, const void *key,
                          uint32_t klen, uint32_t vlen)
{
    if ((t->len + 1) * 10 > t->cap * 7 && grow(t))
        return NULL;
    size_t mask = t->cap - 1;
    size_t i = h & mask;
    for (;; i = (i + 1) & mask) {
        st_entry *e = t->slots[i];
        if (!e)
            break;
        if (e->hash == h && e->ns == ns && e->kg == kg && e->klen == klen &&
            memcmp(e->data, key, klen) == 0) {
            if (vlen <= e->vcap) {
                e->vlen = vlen;
                return e;
            }
            /* Grow in place: relink the namespace list around the new block. */
            ns_unlink(t, e);
            st_entry *n = realloc(e, entry_size(klen, vlen));
            if (!n) {
                st_nshead *s = ns_slot(t, e->ns, true);
                if (s)
                    ns_link(t, s, e);
                return NULL;
            }
            t->bytes += (size_t)(vlen - n->vcap);
            n->vcap = n->vlen = vlen;
            t->slots[i] = n;
            st_nshead *s = ns_slot(t, ns, true);
            if (!s)
                return NULL;
            ns_link(t, s, n);
            return n;
        }
    }
    uint32_t vcap = (vlen + 7u) & ~7u;
    st_entry *e = malloc(entry_size(klen, vcap));
    if (!e)
        return NULL;
    memset(e, 0, sizeof(*e));
    e->hash = h;
    e->ns = ns;
    e->kg = kg;
    e->klen = klen;
    e->vlen = vlen;
    e->vcap = vcap;
    memcpy(e->data, key, klen);
    st_nshead *s = ns_slot(t, ns, true);
    if (!s) {
        free(e);
        return NULL;
    }
    ns_link(t, s, e);
    t->slots[i] = e;
    t->len++;
    t->bytes += entry_size(klen, vcap);
    return e;
}

void st_table_remove(st_table *t, st_entry *e)
{
    size_t mask = t->cap - 1;
    size_t i = e->hash & mask;
    while (t->slots[i] != e)
        i = (i + 1) & mask;
    ns_unlink(t, e);
    t->bytes -= entry_size(e->klen, e->vcap);
    free(e);
    t->slots[i] = NULL;
    t->len--;
    for (size_t j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
        size_t home = t->slots[j]->hash & mask;
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            t->slots[i] = t->slots[j];
            t->slots[j] = NULL;
            i = j;
        }
    }
}
