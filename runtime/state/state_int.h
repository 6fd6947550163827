/*
 * state_int.h - internals shared by the keyed-state backends: the ops table each backend
 * fills, the in-memory entry table both use (the hashmap backend's store, the rocksdb
 * backend's write-back cache), and the canonical snapshot file format.
 *
 * Layer: runtime/state (internal).
 */
#ifndef WEIR_RT_STATE_INT_H
#define WEIR_RT_STATE_INT_H

#include "runtime/state/state.h"

#include <stdio.h>

/* --- the in-memory table ------------------------------------------------------------------- */

typedef struct st_entry {
    uint64_t hash;
    uint64_t ns;
    uint32_t kg;
    uint32_t klen;
    uint32_t vlen, vcap;
    struct st_entry *ns_next, *ns_prev; /* entries of the same namespace */
    uint8_t dirty;                      /* rocksdb cache: differs from the database */
    uint8_t deleted; /* rocksdb cache: a tombstone (the database may still have the key) */
    uint8_t ref;     /* rocksdb cache: CLOCK reference bit */
    uint8_t pad[5];
    uint8_t data[]; /* key bytes, padding to 8, value bytes */
} st_entry;

static inline uint8_t *st_entry_key(st_entry *e)
{
    return e->data;
}

static inline uint8_t *st_entry_val(st_entry *e)
{
    return e->data + ((e->klen + 7u) & ~7u);
}

typedef struct st_nshead {
    uint64_t ns;
    st_entry *head;
    uint8_t used;
} st_nshead;

typedef struct st_table {
    st_entry **slots;
    size_t cap, len; /* power of two; entries in use */
    st_nshead *ns;
    size_t ns_cap, ns_len;
    size_t bytes; /* memory held by entries */
    size_t clock; /* eviction hand */
} st_table;

void st_table_init(st_table *t);
void st_table_free(st_table *t);
uint64_t st_hash(uint32_t kg, uint64_t ns, const void *key, uint32_t klen);
st_entry *st_table_find(st_table *t, uint64_t h, uint32_t kg, uint64_t ns, const void *key,
                        uint32_t klen);
/* Inserts a new entry (or resizes an existing one's value) and returns it; NULL when out of
 * memory. The value bytes are uninitialised when new or grown. */
st_entry *st_table_upsert(st_table *t, uint64_t h, uint32_t kg, uint64_t ns, const void *key,
                          uint32_t klen, uint32_t vlen);
/* Removes and frees an entry. */
void st_table_remove(st_table *t, st_entry *e);
/* The list of entries of namespace ns (NULL when none). */
st_entry *st_table_ns_head(st_table *t, uint64_t ns);

/* --- backends ------------------------------------------------------------------------------ */

typedef struct st_ops {
    int (*get)(rt_state *st, uint32_t kg, uint64_t ns, const void *key, uint32_t klen, void **val,
               uint32_t *vlen);
    int (*put)(rt_state *st, uint32_t kg, uint64_t ns, const void *key, uint32_t klen,
               const void *val, uint32_t vlen, void **stored);
    int (*del)(rt_state *st, uint32_t kg, uint64_t ns, const void *key, uint32_t klen);
    int (*scan_ns)(rt_state *st, uint64_t ns, bool remove, rt_state_scan_fn fn, void *ctx);
    /* Visits every entry (for canonical snapshots); fn returns non-zero to stop. */
    int (*scan_all)(rt_state *st,
                    int (*fn)(void *ctx, uint32_t kg, uint64_t ns, const void *key, uint32_t klen,
                              const void *val, uint32_t vlen),
                    void *ctx);
    uint64_t (*count)(rt_state *st);
    size_t (*memory)(rt_state *st);
    int (*snapshot_native)(rt_state *st, const rt_snapshot_target *t, json_t **handle,
                           weir_error *err);
    int (*restore_native)(rt_state *st, const char *root, const json_t *handle, weir_error *err);
    void (*notify_complete)(rt_state *st, uint64_t id);
    void (*destroy)(rt_state *st);
} st_ops;

struct rt_state {
    const st_ops *ops;
    rt_state_options opts;
    char *local_dir;
    void *impl;
};

int st_hashmap_open(rt_state *st, weir_error *err);
int st_rocksdb_open(rt_state *st, weir_error *err);

/* --- canonical files --------------------------------------------------------------------- */

/* Writes every entry of `st` into <root>/<dir>/state.kv and returns the handle. */
int st_canonical_write(rt_state *st, const rt_snapshot_target *t, json_t **handle, weir_error *err);
/* Reads a canonical file, calling `put` for each entry whose key group is in [first, last]. */
typedef int (*st_put_fn)(void *ctx, uint32_t kg, uint64_t ns, const void *key, uint32_t klen,
                         const void *val, uint32_t vlen);
int st_canonical_read(const char *path, uint32_t first, uint32_t last, st_put_fn put, void *ctx,
                      weir_error *err);

/* Reads a native RocksDB checkpoint's entries in [first, last] (state_rocksdb.c); `tmpdir` is
 * where its files are copied to be opened. */
int st_native_read(const char *root, const json_t *handle, const char *tmpdir, uint32_t first,
                   uint32_t last, st_put_fn put, void *ctx, weir_error *err);

/* Copies a file (used for native snapshots). */
int st_copy_file(const char *from, const char *to, weir_error *err);

#endif
