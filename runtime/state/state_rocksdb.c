/*
 * state_rocksdb.c - the "rocksdb" keyed-state backend: RocksDB on local disk with a write-back
 * cache in front.
 *
 * Hot keys live in the cache (an st_table with dirty flags and tombstones); a get that misses
 * reads RocksDB once and keeps the entry. Dirty entries reach RocksDB in WriteBatches when the
 * cache exceeds its budget (clean entries are then evicted by a CLOCK sweep down to half the
 * budget) and at snapshots. Window firing scans a namespace in the cache and, only if entries
 * of that namespace were ever written out, in RocksDB too. The WAL is off: durability comes
 * from checkpoints.
 *
 * RocksDB keys: u16 key group (big endian) | u64 namespace (big endian) | key bytes.
 *
 * Native checkpoints use RocksDB's checkpoint API: SST files not uploaded by an earlier
 * checkpoint are copied to the shared directory (immutable, so name and size identify them),
 * the rest referenced; MANIFEST, CURRENT and OPTIONS go to the checkpoint's own directory.
 *
 * Layer: runtime/state.
 */
#include "runtime/state/state_int.h"
#include "runtime/storage/storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct rocks {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_block_based_table_options_t *bbo;
    rocksdb_cache_t *block_cache;
    rocksdb_writeoptions_t *wo;
    rocksdb_readoptions_t *ro;
    rocksdb_writebatch_t *wb;
    st_table cache;
    size_t budget;
    uint64_t *in_db; /* namespaces that have entries written to RocksDB (sorted) */
    size_t nin_db, cap_in_db;
    json_t *base;    /* {local sst name: shared path} of the last completed checkpoint */
    json_t *pending; /* {checkpoint id: {local sst name: shared path}} */
    uint8_t keybuf[10 + RT_STATE_MAX_KEY];
    char dbpath[PATH_MAX];
} rocks;

#define R(st) ((rocks *)(st)->impl)

static void rmtree(const char *path)
{
    rt_storage_file()->remove_tree(path);
}

static int mkdirs(const char *path)
{
    return rt_storage_file()->mkdirs(path, NULL);
}

static uint32_t dbkey(uint8_t *buf, uint32_t kg, uint64_t ns, const void *key, uint32_t klen)
{
    buf[0] = (uint8_t)(kg >> 8);
    buf[1] = (uint8_t)kg;
    for (int i = 0; i < 8; i++)
        buf[2 + i] = (uint8_t)(ns >> (56 - 8 * i));
    if (klen)
        memcpy(buf + 10, key, klen);
    return 10 + klen;
}

static void dbkey_split(const uint8_t *k, uint32_t *kg, uint64_t *ns)
{
    *kg = ((uint32_t)k[0] << 8) | k[1];
    uint64_t n = 0;
    for (int i = 0; i < 8; i++)
        n = (n << 8) | k[2 + i];
    *ns = n;
}

/* --- namespaces present in the database ------------------------------------------------------ */

static size_t in_db_pos(rocks *r, uint64_t ns)
{
    size_t lo = 0, hi = r->nin_db;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->in_db[mid] < ns)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool in_db_has(rocks *r, uint64_t ns)
{
    size_t i = in_db_pos(r, ns);
    return i < r->nin_db && r->in_db[i] == ns;
}

static int in_db_add(rocks *r, uint64_t ns)
{
    size_t i = in_db_pos(r, ns);
    if (i < r->nin_db && r->in_db[i] == ns)
        return 0;
    if (r->nin_db == r->cap_in_db) {
        size_t nc = r->cap_in_db ? r->cap_in_db * 2 : 16;
        uint64_t *n = realloc(r->in_db, nc * sizeof(uint64_t));
        if (!n)
            return WEIR_ENOMEM;
        r->in_db = n;
        r->cap_in_db = nc;
    }
    memmove(r->in_db + i + 1, r->in_db + i, (r->nin_db - i) * sizeof(uint64_t));
    r->in_db[i] = ns;
    r->nin_db++;
    return 0;
}

static void in_db_del(rocks *r, uint64_t ns)
{
    size_t i = in_db_pos(r, ns);
    if (i < r->nin_db && r->in_db[i] == ns) {
        memmove(r->in_db + i, r->in_db + i + 1, (r->nin_db - i - 1) * sizeof(uint64_t));
        r->nin_db--;
    }
}

/* --- write-back ------------------------------------------------------------------------------- */

/* Writes every dirty cache entry to RocksDB; tombstones leave the cache. */
static int flush_dirty(rocks *r)
{
    st_table *t = &r->cache;
    rocksdb_writebatch_clear(r->wb);
    size_t n = 0;
    for (size_t i = 0; i < t->cap;) {
        st_entry *e = t->slots[i];
        if (!e || !e->dirty) {
            i++;
            continue;
        }
        uint32_t kl = dbkey(r->keybuf, e->kg, e->ns, st_entry_key(e), e->klen);
        if (e->deleted) {
            rocksdb_writebatch_delete(r->wb, (const char *)r->keybuf, kl);
            st_table_remove(t, e); /* slot i now holds a shifted entry: look again */
        } else {
            rocksdb_writebatch_put(r->wb, (const char *)r->keybuf, kl,
                                   (const char *)st_entry_val(e), e->vlen);
            if (in_db_add(r, e->ns))
                return WEIR_ENOMEM;
            e->dirty = 0;
            i++;
        }
        n++;
    }
    if (n == 0)
        return 0;
    char *err = NULL;
    rocksdb_write(r->db, r->wo, r->wb, &err);
    rocksdb_writebatch_clear(r->wb);
    if (err) {
        rocksdb_free(err);
        return WEIR_EIO;
    }
    return 0;
}

static int maybe_evict(rocks *r)
{
    st_table *t = &r->cache;
    if (t->bytes <= r->budget)
        return 0;
    int rc = flush_dirty(r);
    if (rc)
        return rc;
    size_t target = r->budget / 2, steps = 0;
    while (t->bytes > target && t->len > 0 && steps < 4 * t->cap) {
        size_t i = t->clock & (t->cap - 1);
        st_entry *e = t->slots[i];
        steps++;
        if (!e) {
            t->clock++;
            continue;
        }
        if (e->ref) {
            e->ref = 0;
            t->clock++;
            continue;
        }
        st_table_remove(t, e); /* slot i may now hold a shifted entry */
    }
    return 0;
}

/* --- operations --------------------------------------------------------------------------- */

static int rk_get(rt_state *st, uint32_t kg, uint64_t ns, const void *key, uint32_t klen,
                  void **val, uint32_t *vlen)
{
    rocks *r = R(st);
    int rc = maybe_evict(r);
    if (rc)
        return rc;
    uint64_t h = st_hash(kg, ns, key, klen);
    st_entry *e = st_table_find(&r->cache, h, kg, ns, key, klen);
    if (!e) {
        if (!in_db_has(r, ns))
            return WEIR_ENOTFOUND;
        uint32_t kl = dbkey(r->keybuf, kg, ns, key, klen);
        size_t len = 0;
        char *err = NULL;
        char *v = rocksdb_get(r->db, r->ro, (const char *)r->keybuf, kl, &len, &err);
        if (err) {
            rocksdb_free(err);
            return WEIR_EIO;
        }
        if (!v)
            return WEIR_ENOTFOUND;
        e = st_table_upsert(&r->cache, h, kg, ns, key, klen, (uint32_t)len);
        if (!e) {
            rocksdb_free(v);
            return WEIR_ENOMEM;
        }
        memcpy(st_entry_val(e), v, len);
        rocksdb_free(v);
        e->dirty = 0;
        e->deleted = 0;
    } else if (e->deleted)
        return WEIR_ENOTFOUND;
    e->dirty = 1; /* the caller may change it in place */
    e->ref = 1;
    *val = st_entry_val(e);
    *vlen = e->vlen;
    return 0;
}

static int rk_put(rt_state *st, uint32_t kg, uint64_t ns, const void *key, uint32_t klen,
                  const void *val, uint32_t vlen, void **stored)
{
    rocks *r = R(st);
    int rc = maybe_evict(r);
    if (rc)
        return rc;
    st_entry *e = st_table_upsert(&r->cache, st_hash(kg, ns, key, klen), kg, ns, key, klen, vlen);
    if (!e)
        return WEIR_ENOMEM;
    if (val)
        memmove(st_entry_val(e), val, vlen);
    else
        memset(st_entry_val(e), 0, vlen);
    e->dirty = 1;
    e->deleted = 0;
    e->ref = 1;
    if (stored)
        *stored = st_entry_val(e);
    return 0;
}

static int rk_del(rt_state *st, uint32_t kg, uint64_t ns, const void *key, uint32_t klen)
{
    rocks *r = R(st);
    uint64_t h = st_hash(kg, ns, key, klen);
    st_entry *e = st_table_find(&r->cache, h, kg, ns, key, klen);
    if (!in_db_has(r, ns)) {
        if (e)
            st_table_remove(&r->cache, e);
        return 0;
    }
    if (!e && !(e = st_table_upsert(&r->cache, h, kg, ns, key, klen, 0)))
        return WEIR_ENOMEM;
    e->vlen = 0;
    e->deleted = 1;
    e->dirty = 1;
    return 0;
}

static int rk_scan_ns(rt_state *st, uint64_t ns, bool remove, rt_state_scan_fn fn, void *ctx)
{
    rocks *r = R(st);
    st_table *t = &r->cache;
    for (st_entry *e = st_table_ns_head(t, ns); e; e = e->ns_next) {
        if (e->deleted)
            continue;
        int rc = fn(ctx, e->kg, st_entry_key(e), e->klen, st_entry_val(e), e->vlen);
        if (rc)
            return rc;
    }
    if (in_db_has(r, ns)) {
        /* Entries written out earlier and not in the cache. */
        for (uint32_t kg = st->opts.kg_first; kg <= st->opts.kg_last; kg++) {
            uint8_t lo[10], hi[10];
            dbkey(lo, kg, ns, NULL, 0);
            dbkey(hi, kg, ns + 1, NULL, 0);
            if (ns == UINT64_MAX)
                dbkey(hi, kg + 1, 0, NULL, 0);
            rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
            rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)hi, 10);
            rocksdb_iterator_t *it = rocksdb_create_iterator(r->db, ro);
            int rc = 0;
            for (rocksdb_iter_seek(it, (const char *)lo, 10); rocksdb_iter_valid(it) && !rc;
                 rocksdb_iter_next(it)) {
                size_t kl, vl;
                const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
                const char *v = rocksdb_iter_value(it, &vl);
                if (kl < 10)
                    continue;
                if (st_table_find(t, st_hash(kg, ns, k + 10, (uint32_t)(kl - 10)), kg, ns, k + 10,
                                  (uint32_t)(kl - 10)))
                    continue; /* the cache has the current value (or a tombstone) */
                rc = fn(ctx, kg, k + 10, (uint32_t)(kl - 10), v, (uint32_t)vl);
            }
            char *err = NULL;
            rocksdb_iter_get_error(it, &err);
            rocksdb_iter_destroy(it);
            rocksdb_readoptions_destroy(ro);
            if (err) {
                rocksdb_free(err);
                return WEIR_EIO;
            }
            if (rc)
                return rc;
        }
    }
    if (!remove)
        return 0;
    while (st_table_ns_head(t, ns))
        st_table_remove(t, st_table_ns_head(t, ns));
    if (in_db_has(r, ns)) {
        rocksdb_writebatch_clear(r->wb);
        for (uint32_t kg = st->opts.kg_first; kg <= st->opts.kg_last; kg++) {
            uint8_t lo[10], hi[10];
            dbkey(lo, kg, ns, NULL, 0);
            if (ns == UINT64_MAX)
                dbkey(hi, kg + 1, 0, NULL, 0);
            else
                dbkey(hi, kg, ns + 1, NULL, 0);
            rocksdb_writebatch_delete_range(r->wb, (const char *)lo, 10, (const char *)hi, 10);
        }
        char *err = NULL;
        rocksdb_write(r->db, r->wo, r->wb, &err);
        rocksdb_writebatch_clear(r->wb);
        if (err) {
            rocksdb_free(err);
            return WEIR_EIO;
        }
        in_db_del(r, ns);
    }
    return 0;
}

static int rk_scan_all(rt_state *st,
                       int (*fn)(void *, uint32_t, uint64_t, const void *, uint32_t, const void *,
                                 uint32_t),
                       void *ctx)
{
    rocks *r = R(st);
    int rc = flush_dirty(r);
    if (rc)
        return rc;
    rocksdb_iterator_t *it = rocksdb_create_iterator(r->db, r->ro);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it) && !rc; rocksdb_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
        const char *v = rocksdb_iter_value(it, &vl);
        if (kl < 10)
            continue;
        uint32_t kg;
        uint64_t ns;
        dbkey_split(k, &kg, &ns);
        rc = fn(ctx, kg, ns, k + 10, (uint32_t)(kl - 10), v, (uint32_t)vl);
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (err) {
        rocksdb_free(err);
        return WEIR_EIO;
    }
    return rc;
}

static uint64_t rk_count(rt_state *st)
{
    rocks *r = R(st);
    uint64_t n = 0;
    rocksdb_property_int(r->db, "rocksdb.estimate-num-keys", &n);
    return n + r->cache.len;
}

static size_t rk_memory(rt_state *st)
{
    rocks *r = R(st);
    uint64_t mem = 0;
    rocksdb_property_int(r->db, "rocksdb.cur-size-all-mem-tables", &mem);
    return r->cache.bytes + r->cache.cap * sizeof(void *) + (size_t)mem;
}

/* --- native snapshots ------------------------------------------------------------------------ */

static void random_name(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, b, sizeof(b)) : -1;
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i + 1 < n && i < 32; i++)
        out[i] = hex[(got == (ssize_t)sizeof(b) ? b[i / 2] >> (4 * (i % 2)) : rand()) & 15];
    out[n - 1 < 32 ? n - 1 : 32] = '\0';
}

static const char *known_upload(rocks *r, const char *name)
{
    const char *p = json_string_value(json_object_get(r->base, name));
    if (p)
        return p;
    const char *id;
    json_t *m;
    json_object_foreach(r->pending, id, m)
    {
        if ((p = json_string_value(json_object_get(m, name))))
            return p;
    }
    return NULL;
}

static int rk_snapshot_native(rt_state *st, const rt_snapshot_target *t, json_t **handle,
                              weir_error *err)
{
    rocks *r = R(st);
    int rc = flush_dirty(r);
    if (rc)
        return weir_error_set(err, rc, "state: writing the cache to RocksDB failed");
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof(tmp), "%s/chk-%llu", st->local_dir, (unsigned long long)t->checkpoint_id);
    rmtree(tmp);
    char *e = NULL;
    rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(r->db, &e);
    if (!e)
        rocksdb_checkpoint_create(cp, tmp, 0, &e);
    if (cp)
        rocksdb_checkpoint_object_destroy(cp);
    if (e) {
        rc = weir_error_set(err, WEIR_EIO, "state: RocksDB checkpoint: %s", e);
        rocksdb_free(e);
        return rc;
    }
    json_t *files = json_array(), *uploads = json_object();
    DIR *d = opendir(tmp);
    if (!d || !files || !uploads) {
        rc = weir_error_set(err, WEIR_EIO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char src[PATH_MAX * 2];
        snprintf(src, sizeof(src), "%s/%s", tmp, de->d_name);
        struct stat sb;
        if (stat(src, &sb) || !S_ISREG(sb.st_mode))
            continue;
        size_t nl = strlen(de->d_name);
        bool sst = nl > 4 && strcmp(de->d_name + nl - 4, ".sst") == 0;
        char rel[PATH_MAX];
        if (sst) {
            const char *known = known_upload(r, de->d_name);
            if (known)
                snprintf(rel, sizeof(rel), "%s", known);
            else {
                char rnd[33];
                random_name(rnd, sizeof(rnd));
                snprintf(rel, sizeof(rel), "%s/%s-%s", t->shared_dir, rnd, de->d_name);
                char dst[PATH_MAX * 2];
                snprintf(dst, sizeof(dst), "%s/%s", t->root, rel);
                if ((rc = st_copy_file(src, dst, err)))
                    goto done;
            }
            json_object_set_new(uploads, de->d_name, json_string(rel));
        } else {
            snprintf(rel, sizeof(rel), "%s/%s", t->exclusive_dir, de->d_name);
            char dst[PATH_MAX * 2];
            snprintf(dst, sizeof(dst), "%s/%s", t->root, rel);
            if ((rc = st_copy_file(src, dst, err)))
                goto done;
        }
        json_array_append_new(files, json_pack("{s:s, s:s, s:I, s:b}", "name", de->d_name, "path",
                                               rel, "size", (json_int_t)sb.st_size, "shared", sst));
    }
    char idb[24];
    snprintf(idb, sizeof(idb), "%llu", (unsigned long long)t->checkpoint_id);
    json_object_set(r->pending, idb, uploads);
    *handle = json_pack("{s:s, s:s, s:i, s:i, s:O}", "format", "rocksdb-native", "backend",
                        "rocksdb", "kgFirst", (int)st->opts.kg_first, "kgLast",
                        (int)st->opts.kg_last, "files", files);
    if (!*handle)
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
done:
    if (d)
        closedir(d);
    json_decref(files);
    json_decref(uploads);
    rmtree(tmp);
    return rc;
}

static void rk_notify_complete(rt_state *st, uint64_t id)
{
    rocks *r = R(st);
    char idb[24];
    snprintf(idb, sizeof(idb), "%llu", (unsigned long long)id);
    json_t *m = json_object_get(r->pending, idb);
    if (!m)
        return;
    json_decref(r->base);
    r->base = json_incref(m);
    /* Drop this and older pending maps. */
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(r->pending, tmp, k, v)
    {
        if (strtoull(k, NULL, 10) <= id)
            json_object_del(r->pending, k);
    }
}

/* Reads the entries of a native RocksDB checkpoint (copied into a temporary directory under
 * `tmpdir`) and hands those in [first, last] to `put`. */
int st_native_read(const char *root, const json_t *handle, const char *tmpdir, uint32_t first,
                   uint32_t last, st_put_fn put, void *ctx, weir_error *err)
{
    static unsigned seq;
    int rc = 0;
    char dir[PATH_MAX + 64];
    snprintf(dir, sizeof(dir), "%s/restore-%d-%u", tmpdir, (int)getpid(),
             __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
    rmtree(dir);
    if (mkdirs(dir))
        return weir_error_set(err, WEIR_EIO, "%s: %s", dir, strerror(errno));
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(handle, "files"), i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *rel = json_string_value(json_object_get(f, "path"));
        if (!name || !rel || strchr(name, '/') || strstr(rel, "..")) {
            rc = weir_error_set(err, WEIR_EPARSE, "native state handle: bad file entry %zu", i);
            goto done;
        }
        char src[PATH_MAX * 2], dst[PATH_MAX * 2];
        snprintf(src, sizeof(src), "%s/%s", root, rel);
        snprintf(dst, sizeof(dst), "%s/%s", dir, name);
        if ((rc = st_copy_file(src, dst, err)))
            goto done;
    }
    char *e = NULL;
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_t *db = rocksdb_open_for_read_only(o, dir, 0, &e);
    rocksdb_options_destroy(o);
    if (e) {
        rc = weir_error_set(err, WEIR_EPARSE, "restoring RocksDB files from %s: %s", root, e);
        rocksdb_free(e);
        goto done;
    }
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_iterator_t *it = rocksdb_create_iterator(db, ro);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it) && !rc; rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        const char *v = rocksdb_iter_value(it, &vl);
        if (kl < 10)
            continue;
        uint32_t kg;
        uint64_t ns;
        dbkey_split((const uint8_t *)k, &kg, &ns);
        if (kg < first || kg > last)
            continue;
        if ((rc = put(ctx, kg, ns, k + 10, (uint32_t)(kl - 10), v, (uint32_t)vl)))
            weir_error_set(err, rc, "restoring RocksDB files from %s: %s", root, weir_strerror(rc));
    }
    rocksdb_iter_get_error(it, &e);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    rocksdb_close(db);
    if (e) {
        rc = weir_error_set(err, WEIR_EIO, "restoring RocksDB files from %s: %s", root, e);
        rocksdb_free(e);
    }
done:
    rmtree(dir);
    return rc;
}

/* Restored entries go straight into RocksDB in batches, bypassing the cache. */
typedef struct bulk {
    rocks *r;
    size_t n;
} bulk;

static int bulk_put(void *ctx, uint32_t kg, uint64_t ns, const void *key, uint32_t klen,
                    const void *val, uint32_t vlen)
{
    bulk *b = ctx;
    rocks *r = b->r;
    uint32_t kl = dbkey(r->keybuf, kg, ns, key, klen);
    rocksdb_writebatch_put(r->wb, (const char *)r->keybuf, kl, val, vlen);
    if (in_db_add(r, ns))
        return WEIR_ENOMEM;
    if (++b->n % 10000 == 0) {
        char *e = NULL;
        rocksdb_write(r->db, r->wo, r->wb, &e);
        rocksdb_writebatch_clear(r->wb);
        if (e) {
            rocksdb_free(e);
            return WEIR_EIO;
        }
    }
    return 0;
}

static int rk_restore_native(rt_state *st, const char *root, const json_t *handle, weir_error *err)
{
    rocks *r = R(st);
    int rc = flush_dirty(r);
    if (rc)
        return weir_error_set(err, rc, "state: writing the cache to RocksDB failed");
    bulk b = {.r = r};
    rocksdb_writebatch_clear(r->wb);
    rc = st_native_read(root, handle, st->local_dir, st->opts.kg_first, st->opts.kg_last, bulk_put,
                        &b, err);
    if (!rc) {
        char *e = NULL;
        rocksdb_write(r->db, r->wo, r->wb, &e);
        if (e) {
            rc = weir_error_set(err, WEIR_EIO, "state: restoring into RocksDB: %s", e);
            rocksdb_free(e);
        }
    }
    rocksdb_writebatch_clear(r->wb);
    return rc;
}

static void rk_destroy(rt_state *st)
{
    rocks *r = R(st);
    if (!r)
        return;
    if (r->db)
        rocksdb_close(r->db);
    if (r->opts)
        rocksdb_options_destroy(r->opts);
    if (r->bbo)
        rocksdb_block_based_options_destroy(r->bbo);
    if (r->block_cache)
        rocksdb_cache_destroy(r->block_cache);
    if (r->wo)
        rocksdb_writeoptions_destroy(r->wo);
    if (r->ro)
        rocksdb_readoptions_destroy(r->ro);
    if (r->wb)
        rocksdb_writebatch_destroy(r->wb);
    st_table_free(&r->cache);
    free(r->in_db);
    json_decref(r->base);
    json_decref(r->pending);
    if (st->local_dir)
        rmtree(st->local_dir);
    free(r);
}

static const st_ops rocksdb_ops = {
    .get = rk_get,
    .put = rk_put,
    .del = rk_del,
    .scan_ns = rk_scan_ns,
    .scan_all = rk_scan_all,
    .count = rk_count,
    .memory = rk_memory,
    .snapshot_native = rk_snapshot_native,
    .restore_native = rk_restore_native,
    .notify_complete = rk_notify_complete,
    .destroy = rk_destroy,
};

int st_rocksdb_open(rt_state *st, weir_error *err)
{
    rocks *r = calloc(1, sizeof(*r));
    if (!r)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    st->impl = r;
    st->ops = &rocksdb_ops;
    st_table_init(&r->cache);
    r->budget = st->opts.cache_bytes ? st->opts.cache_bytes : (64u << 20);
    r->base = json_object();
    r->pending = json_object();
    rmtree(st->local_dir);
    snprintf(r->dbpath, sizeof(r->dbpath), "%s/db", st->local_dir);
    int rc = 0;
    if (mkdirs(st->local_dir)) {
        rc = weir_error_set(err, WEIR_EIO, "state: %s: %s", st->local_dir, strerror(errno));
        goto fail;
    }
    r->opts = rocksdb_options_create();
    r->wo = rocksdb_writeoptions_create();
    r->ro = rocksdb_readoptions_create();
    r->wb = rocksdb_writebatch_create();
    if (!r->opts || !r->wo || !r->ro || !r->wb || !r->base || !r->pending) {
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        goto fail;
    }
    rocksdb_options_set_create_if_missing(r->opts, 1);
    rocksdb_options_set_compression(r->opts, rocksdb_lz4_compression);
    rocksdb_options_set_write_buffer_size(r->opts, 32u << 20);
    rocksdb_options_set_max_background_jobs(r->opts, 2);
    rocksdb_options_set_max_open_files(r->opts, 256);
    rocksdb_options_set_keep_log_file_num(r->opts, 2);
    rocksdb_options_set_info_log_level(r->opts, 3 /* ERROR */);
    /* Bloom filters make the lookups of keys that are not there (new keys) cheap; a small block
     * cache serves re-reads of evicted entries. */
    r->bbo = rocksdb_block_based_options_create();
    r->block_cache = rocksdb_cache_create_lru(16u << 20);
    if (!r->bbo || !r->block_cache) {
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        goto fail;
    }
    rocksdb_block_based_options_set_filter_policy(r->bbo, rocksdb_filterpolicy_create_bloom(10));
    rocksdb_block_based_options_set_block_cache(r->bbo, r->block_cache);
    rocksdb_options_set_block_based_table_factory(r->opts, r->bbo);
    rocksdb_writeoptions_disable_WAL(r->wo, 1);
    char *e = NULL;
    r->db = rocksdb_open(r->opts, r->dbpath, &e);
    if (e) {
        rc = weir_error_set(err, WEIR_EIO, "state: opening RocksDB in %s: %s", r->dbpath, e);
        rocksdb_free(e);
        goto fail;
    }
    return 0;
fail:
    rk_destroy(st);
    st->impl = NULL;
    return rc;
}
