/*
 * state.c - keyed state: the public interface over the backends (state_hashmap.c,
 * state_rocksdb.c), Flink's key-group arithmetic, and the canonical snapshot file that both
 * backends write for savepoints and read on restore (docs/state.md has the byte layout).
 *
 * Layer: runtime/state.
 */
#include "runtime/state/state_int.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- key groups (Flink's KeyGroupRangeAssignment) ------------------------------------------- */

uint32_t rt_state_key_group(uint64_t key_hash, uint32_t max_parallelism)
{
    /* Flink: murmurHash(key.hashCode()) % maxParallelism, murmur's fmix32 finalizer. */
    uint32_t h = (uint32_t)(key_hash ^ (key_hash >> 32));
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h % max_parallelism;
}

void rt_state_key_group_range(uint32_t max_parallelism, uint32_t parallelism, uint32_t index,
                              uint32_t *first, uint32_t *last)
{
    uint64_t mp = max_parallelism, p = parallelism, i = index;
    *first = (uint32_t)((i * mp + p - 1) / p);
    *last = (uint32_t)(((i + 1) * mp - 1) / p);
}

uint32_t rt_state_operator_index(uint32_t max_parallelism, uint32_t parallelism, uint32_t kg)
{
    return (uint32_t)((uint64_t)kg * parallelism / max_parallelism);
}

/* --- the interface -------------------------------------------------------------------------- */

int rt_state_open(const rt_state_options *opts, rt_state **out, weir_error *err)
{
    if (!opts || opts->max_parallelism == 0 || opts->kg_first > opts->kg_last ||
        opts->kg_last >= opts->max_parallelism || opts->max_parallelism > 65536)
        return weir_error_set(err, WEIR_EINVAL, "state: bad key-group range [%u, %u] of %u",
                              opts ? opts->kg_first : 0, opts ? opts->kg_last : 0,
                              opts ? opts->max_parallelism : 0);
    const char *b = opts->backend ? opts->backend : "hashmap";
    bool rocks = strcmp(b, "rocksdb") == 0;
    if (!rocks && strcmp(b, "hashmap") && strcmp(b, "filesystem") && strcmp(b, "heap"))
        return weir_error_set(err, WEIR_EINVAL,
                              "state.backend.type: unknown state backend '%s' (hashmap, rocksdb)",
                              b);
    if (rocks && !opts->local_dir)
        return weir_error_set(err, WEIR_EINVAL, "state: the rocksdb backend needs a local dir");
    rt_state *st = calloc(1, sizeof(*st));
    if (!st)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    st->opts = *opts;
    st->opts.backend = rocks ? "rocksdb" : "hashmap";
    if (opts->local_dir && !(st->local_dir = strdup(opts->local_dir))) {
        free(st);
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    }
    st->opts.local_dir = st->local_dir;
    int rc = rocks ? st_rocksdb_open(st, err) : st_hashmap_open(st, err);
    if (rc) {
        free(st->local_dir);
        free(st);
        return rc;
    }
    *out = st;
    return 0;
}

void rt_state_free(rt_state *st)
{
    if (!st)
        return;
    st->ops->destroy(st);
    free(st->local_dir);
    free(st);
}

static int check_sizes(rt_state *st, uint32_t kg, uint32_t klen, uint32_t vlen)
{
    if (klen > RT_STATE_MAX_KEY || vlen > RT_STATE_MAX_VALUE)
        return WEIR_ETOOBIG;
    if (kg < st->opts.kg_first || kg > st->opts.kg_last)
        return WEIR_EINVAL;
    return 0;
}

int rt_state_get(rt_state *st, uint32_t kg, uint64_t ns, const void *key, uint32_t klen, void **val,
                 uint32_t *vlen)
{
    if (klen > RT_STATE_MAX_KEY)
        return WEIR_ETOOBIG;
    return st->ops->get(st, kg, ns, key, klen, val, vlen);
}

int rt_state_put(rt_state *st, uint32_t kg, uint64_t ns, const void *key, uint32_t klen,
                 const void *val, uint32_t vlen, void **stored)
{
    int rc = check_sizes(st, kg, klen, vlen);
    if (rc)
        return rc;
    return st->ops->put(st, kg, ns, key, klen, val, vlen, stored);
}

int rt_state_delete(rt_state *st, uint32_t kg, uint64_t ns, const void *key, uint32_t klen)
{
    if (klen > RT_STATE_MAX_KEY)
        return WEIR_ETOOBIG;
    return st->ops->del(st, kg, ns, key, klen);
}

int rt_state_scan_ns(rt_state *st, uint64_t ns, bool remove, rt_state_scan_fn fn, void *ctx)
{
    return st->ops->scan_ns(st, ns, remove, fn, ctx);
}

uint64_t rt_state_count(rt_state *st)
{
    return st->ops->count(st);
}

size_t rt_state_memory(rt_state *st)
{
    return st->ops->memory(st);
}

int rt_state_snapshot(rt_state *st, const rt_snapshot_target *t, json_t **handle, weir_error *err)
{
    if (t->kind == RT_SNAPSHOT_CHECKPOINT && st->ops->snapshot_native)
        return st->ops->snapshot_native(st, t, handle, err);
    return st_canonical_write(st, t, handle, err);
}

void rt_state_notify_complete(rt_state *st, uint64_t checkpoint_id)
{
    if (st->ops->notify_complete)
        st->ops->notify_complete(st, checkpoint_id);
}

static int restore_put(void *ctx, uint32_t kg, uint64_t ns, const void *key, uint32_t klen,
                       const void *val, uint32_t vlen)
{
    rt_state *st = ctx;
    return st->ops->put(st, kg, ns, key, klen, val, vlen, NULL);
}

int rt_state_restore(rt_state *st, const char *root, json_t *const *handles, size_t n,
                     weir_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const json_t *h = handles[i];
        const char *format = json_string_value(json_object_get(h, "format"));
        if (!format)
            return weir_error_set(err, WEIR_EPARSE, "state handle without a format");
        if (strcmp(format, "canonical") == 0) {
            const char *rel = json_string_value(
                json_object_get(json_array_get(json_object_get(h, "files"), 0), "path"));
            if (!rel || strstr(rel, ".."))
                return weir_error_set(err, WEIR_EPARSE, "canonical state handle without a path");
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/%s", root, rel);
            int rc =
                st_canonical_read(path, st->opts.kg_first, st->opts.kg_last, restore_put, st, err);
            if (rc)
                return rc;
        } else if (strcmp(format, "rocksdb-native") == 0) {
            int rc;
            if (st->ops->restore_native)
                rc = st->ops->restore_native(st, root, h, err);
            else {
                /* Another backend reads the RocksDB files through a temporary copy. */
                char tmp[] = "/tmp/weir-restore-XXXXXX";
                if (!mkdtemp(tmp))
                    return weir_error_set(err, WEIR_EIO, "mkdtemp: %s", strerror(errno));
                rc = st_native_read(root, h, tmp, st->opts.kg_first, st->opts.kg_last, restore_put,
                                    st, err);
                rmdir(tmp);
            }
            if (rc)
                return rc;
        } else
            return weir_error_set(err, WEIR_EPARSE, "unknown state handle format '%s'", format);
    }
    return 0;
}

/* --- canonical files -------------------------------------------------------------------------
 *
 * "WEIRKV01" | records | "WEIRKEND" | u64 record count | u64 XXH64 of everything before it
 * record: u16 kg | u64 ns | u32 klen | u32 vlen | key | value   (little endian)
 */

#define KV_MAGIC "WEIRKV01"
#define KV_END   "WEIRKEND"

typedef struct kv_writer {
    FILE *f;
    XXH64_state_t *h;
    uint64_t count;
    bool failed;
} kv_writer;

static void kv_out(kv_writer *w, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, w->f) != n)
        w->failed = true;
    XXH64_update(w->h, p, n);
}

static int kv_record(void *ctx, uint32_t kg, uint64_t ns, const void *key, uint32_t klen,
                     const void *val, uint32_t vlen)
{
    kv_writer *w = ctx;
    uint16_t k16 = (uint16_t)kg;
    kv_out(w, &k16, 2);
    kv_out(w, &ns, 8);
    kv_out(w, &klen, 4);
    kv_out(w, &vlen, 4);
    kv_out(w, key, klen);
    kv_out(w, val, vlen);
    w->count++;
    return w->failed ? WEIR_EIO : 0;
}

int st_canonical_write(rt_state *st, const rt_snapshot_target *t, json_t **handle, weir_error *err)
{
    char rel[PATH_MAX], path[PATH_MAX * 2], tmp[PATH_MAX * 2 + 8];
    snprintf(rel, sizeof(rel), "%s/state.kv", t->exclusive_dir);
    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    kv_writer w = {.f = fopen(tmp, "wb"), .h = XXH64_createState()};
    int rc = 0;
    if (!w.f || !w.h) {
        rc = weir_error_set(err, WEIR_EIO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    XXH64_reset(w.h, 0);
    kv_out(&w, KV_MAGIC, 8);
    if ((rc = st->ops->scan_all(st, kv_record, &w))) {
        weir_error_set(err, rc, "%s: writing state failed", tmp);
        goto done;
    }
    kv_out(&w, KV_END, 8);
    kv_out(&w, &w.count, 8);
    uint64_t sum = XXH64_digest(w.h);
    if (fwrite(&sum, 1, 8, w.f) != 8)
        w.failed = true;
    if (w.failed || fflush(w.f) || fsync(fileno(w.f))) {
        rc = weir_error_set(err, WEIR_EIO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    fclose(w.f);
    w.f = NULL;
    if (rename(tmp, path)) {
        rc = weir_error_set(err, WEIR_EIO, "%s: %s", path, strerror(errno));
        goto done;
    }
    struct stat sb;
    stat(path, &sb);
    *handle = json_pack("{s:s, s:s, s:i, s:i, s:I, s:[{s:s, s:I, s:b}]}", "format", "canonical",
                        "backend", st->opts.backend, "kgFirst", (int)st->opts.kg_first, "kgLast",
                        (int)st->opts.kg_last, "entries", (json_int_t)w.count, "files", "path", rel,
                        "size", (json_int_t)sb.st_size, "shared", 0);
    if (!*handle)
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
done:
    if (w.f) {
        fclose(w.f);
        unlink(tmp);
    }
    if (w.h)
        XXH64_freeState(w.h);
    return rc;
}

int st_canonical_read(const char *path, uint32_t first, uint32_t last, st_put_fn put, void *ctx,
                      weir_error *err)
{
    int rc = 0;
    uint8_t *key = NULL, *val = NULL;
    XXH64_state_t *h = XXH64_createState();
    FILE *f = fopen(path, "rb");
    if (!f) {
        rc = weir_error_set(err, errno == ENOENT ? WEIR_ENOTFOUND : WEIR_EIO, "%s: %s", path,
                            strerror(errno));
        goto done;
    }
    key = malloc(RT_STATE_MAX_KEY);
    if (!h || !key) {
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        goto done;
    }
    XXH64_reset(h, 0);
    uint8_t hdr[8];
    if (fread(hdr, 1, 8, f) != 8 || memcmp(hdr, KV_MAGIC, 8) != 0) {
        rc = weir_error_set(err, WEIR_EPARSE, "%s: not a Weir state file (bad magic)", path);
        goto done;
    }
    XXH64_update(h, hdr, 8);
    uint64_t count = 0;
    uint32_t vcap = 0;
    for (;;) {
        uint8_t rec[18];
        size_t got = fread(rec, 1, 8, f);
        if (got == 8 && memcmp(rec, KV_END, 8) == 0) {
            XXH64_update(h, rec, 8);
            uint64_t n, sum;
            if (fread(&n, 1, 8, f) != 8) {
                rc = weir_error_set(err, WEIR_EPARSE, "%s: truncated footer", path);
                goto done;
            }
            XXH64_update(h, &n, 8);
            if (fread(&sum, 1, 8, f) != 8) {
                rc = weir_error_set(err, WEIR_EPARSE, "%s: truncated footer", path);
                goto done;
            }
            if (n != count)
                rc = weir_error_set(err, WEIR_EPARSE, "%s: footer says %llu records, read %llu",
                                    path, (unsigned long long)n, (unsigned long long)count);
            else if (sum != XXH64_digest(h))
                rc = weir_error_set(err, WEIR_EPARSE, "%s: checksum mismatch (corrupted file)",
                                    path);
            else if (fgetc(f) != EOF)
                rc = weir_error_set(err, WEIR_EPARSE, "%s: data after the footer", path);
            goto done;
        }
        if (got != 8 || fread(rec + 8, 1, 10, f) != 10) {
            rc = weir_error_set(err, WEIR_EPARSE, "%s: truncated after %llu records", path,
                                (unsigned long long)count);
            goto done;
        }
        XXH64_update(h, rec, 18);
        uint16_t kg;
        uint64_t ns;
        uint32_t klen, vlen;
        memcpy(&kg, rec, 2);
        memcpy(&ns, rec + 2, 8);
        memcpy(&klen, rec + 10, 4);
        memcpy(&vlen, rec + 14, 4);
        if (klen > RT_STATE_MAX_KEY || vlen > RT_STATE_MAX_VALUE) {
            rc = weir_error_set(err, WEIR_EPARSE, "%s: record %llu has impossible sizes (%u, %u)",
                                path, (unsigned long long)count, klen, vlen);
            goto done;
        }
        if (vlen > vcap) {
            uint8_t *nv = realloc(val, vlen);
            if (!nv) {
                rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
                goto done;
            }
            val = nv;
            vcap = vlen;
        }
        if (fread(key, 1, klen, f) != klen || (vlen && fread(val, 1, vlen, f) != vlen)) {
            rc = weir_error_set(err, WEIR_EPARSE, "%s: truncated in record %llu", path,
                                (unsigned long long)count);
            goto done;
        }
        XXH64_update(h, key, klen);
        if (vlen)
            XXH64_update(h, val, vlen);
        count++;
        if (kg >= first && kg <= last && (rc = put(ctx, kg, ns, key, klen, val, vlen))) {
            weir_error_set(err, rc, "%s: restoring record %llu: %s", path,
                           (unsigned long long)count, weir_strerror(rc));
            goto done;
        }
    }
done:
    if (f)
        fclose(f);
    if (h)
        XXH64_freeState(h);
    free(key);
    free(val);
    return rc;
}

int st_copy_file(const char *from, const char *to, weir_error *err)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return weir_error_set(err, errno == ENOENT ? WEIR_ENOTFOUND : WEIR_EIO, "%s: %s", from,
                              strerror(errno));
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        close(in);
        return weir_error_set(err, WEIR_EIO, "%s: %s", to, strerror(errno));
    }
    char buf[1 << 16];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n == 0)
            break;
        if (n < 0 || write(out, buf, (size_t)n) != n) {
            rc = weir_error_set(err, WEIR_EIO, "copying %s to %s: %s", from, to, strerror(errno));
            break;
        }
    }
    if (!rc && fsync(out))
        rc = weir_error_set(err, WEIR_EIO, "%s: %s", to, strerror(errno));
    close(in);
    close(out);
    return rc;
}
