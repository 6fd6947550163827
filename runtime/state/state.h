/*
 * state.h - keyed state of one operator subtask, behind one interface with two backends:
 * "hashmap" (everything in memory) and "rocksdb" (RocksDB on local disk, with a write-back
 * cache in front so hot keys are served from memory).
 *
 * Model. An entry is addressed by (key group, namespace, key bytes) and holds value bytes:
 *   - key group: 0..max_parallelism-1, derived by the caller from the key's hash
 *     (rt_state_key_group()); a subtask owns the contiguous range [kg_first, kg_last]. Key groups
 *     are what make state rescalable: restore keeps exactly the entries of the owned range.
 *   - namespace: a 64-bit number chosen by the operator (a window's end timestamp, or 0).
 *   - key: the operator's serialized grouping key (any bytes, <= RT_STATE_MAX_KEY).
 *   - value: any bytes (<= RT_STATE_MAX_VALUE), usually a fixed-size accumulator struct.
 *
 * Memory contract. rt_state_get() and rt_state_put() return a pointer into the backend's memory
 * that the caller may read and modify in place; the modification is part of the state (the
 * backend treats the entry as dirty). The pointer is valid until the next call on the same
 * rt_state. Not thread-safe: one subtask thread uses one rt_state.
 *
 * Snapshots. rt_state_snapshot() writes the state as files and describes them in a JSON
 * "handle" that the checkpoint metadata stores. Two formats:
 *   - canonical (savepoints, and every hashmap snapshot): one self-contained key-value file,
 *     the same for both backends, so a savepoint restores into either backend and at any
 *     parallelism (docs/state.md describes the file).
 *   - native incremental (rocksdb checkpoints): RocksDB's checkpoint API; SST files not
 *     uploaded by an earlier completed checkpoint are copied to the shared directory, the
 *     others are referenced; small non-SST files (MANIFEST, OPTIONS, CURRENT) go to the
 *     exclusive directory.
 * rt_state_restore() accepts any mix of handles (several old subtasks' handles when the
 * parallelism changed) and keeps the entries whose key group is in this subtask's range.
 *
 * Layer: runtime/state. Depends on lib/ (error, json) and librocksdb; knows nothing of
 * operators or checkpoint coordination.
 */
#ifndef WEIR_RT_STATE_H
#define WEIR_RT_STATE_H

#include "lib/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_STATE_MAX_KEY   4096
#define RT_STATE_MAX_VALUE (1u << 20)

typedef struct rt_state rt_state;

typedef struct rt_state_options {
    const char *backend;      /* "hashmap" or "rocksdb" (Flink's state.backend.type values;
                                 "filesystem" and "heap" are accepted as hashmap) */
    const char *local_dir;    /* rocksdb: a directory this subtask owns (created, and emptied
                                 at open); ignored by hashmap */
    size_t cache_bytes;       /* rocksdb: memory budget of the write-back cache (0: 64 MiB) */
    uint32_t max_parallelism; /* number of key groups (Flink's default 128) */
    uint32_t kg_first;        /* first owned key group */
    uint32_t kg_last;         /* last owned key group (inclusive) */
} rt_state_options;

/* Opens an empty state. Returns 0, WEIR_EINVAL (unknown backend, bad range; message in err),
 * WEIR_EIO. Caller frees with rt_state_free(). */
int rt_state_open(const rt_state_options *opts, rt_state **out, weir_error *err) WEIR_MUST_CHECK;

/* Closes and frees; for rocksdb removes local_dir's contents. rt_state_free(NULL) is a no-op. */
void rt_state_free(rt_state *st);

/* The key group of a key hash: Flink's formula, murmur-mixed hash modulo max_parallelism. */
uint32_t rt_state_key_group(uint64_t key_hash, uint32_t max_parallelism);

/* The first and last key group owned by subtask `index` of `parallelism` (Flink's
 * KeyGroupRangeAssignment). */
void rt_state_key_group_range(uint32_t max_parallelism, uint32_t parallelism, uint32_t index,
                              uint32_t *first, uint32_t *last);

/* The subtask owning key group `kg` (inverse of the above). */
uint32_t rt_state_operator_index(uint32_t max_parallelism, uint32_t parallelism, uint32_t kg);

/*
 * Looks an entry up. Returns 0 with *val and *vlen set (mutable in place, see the memory
 * contract), WEIR_ENOTFOUND, or WEIR_EIO (rocksdb read failure).
 */
int rt_state_get(rt_state *st, uint32_t kg, uint64_t ns, const void *key, uint32_t klen, void **val,
                 uint32_t *vlen) WEIR_MUST_CHECK;

/*
 * Inserts or replaces an entry with a copy of `val` (NULL: vlen zero bytes). If `stored` is not
 * NULL it receives the pointer to the stored copy. Returns 0, WEIR_ETOOBIG (key or value too
 * large), WEIR_ENOMEM, WEIR_EIO.
 */
int rt_state_put(rt_state *st, uint32_t kg, uint64_t ns, const void *key, uint32_t klen,
                 const void *val, uint32_t vlen, void **stored) WEIR_MUST_CHECK;

/* Removes an entry; absent entries are fine. Returns 0 or WEIR_EIO. */
int rt_state_delete(rt_state *st, uint32_t kg, uint64_t ns, const void *key,
                    uint32_t klen) WEIR_MUST_CHECK;

/* Called for each entry of a scan. `key`/`val` are valid during the call only. Return 0 to go
 * on, anything else stops the scan and is returned by rt_state_scan_ns(). The callback must not
 * call other functions on the same rt_state. */
typedef int (*rt_state_scan_fn)(void *ctx, uint32_t kg, const void *key, uint32_t klen,
                                const void *val, uint32_t vlen);

/* Visits every entry of namespace `ns` (in no particular order). If `remove` is true the entries
 * are deleted after the visit (window firing). Returns 0, the callback's non-zero value, or
 * WEIR_EIO. */
int rt_state_scan_ns(rt_state *st, uint64_t ns, bool remove, rt_state_scan_fn fn,
                     void *ctx) WEIR_MUST_CHECK;

/* Number of entries (exact for hashmap; rocksdb may estimate). */
uint64_t rt_state_count(rt_state *st);

/* Bytes of memory the state uses (hashmap: entries; rocksdb: cache + memtables). */
size_t rt_state_memory(rt_state *st);

typedef enum rt_snapshot_kind {
    RT_SNAPSHOT_CHECKPOINT, /* native: incremental for rocksdb, canonical for hashmap */
    RT_SNAPSHOT_SAVEPOINT   /* canonical, self-contained */
} rt_snapshot_kind;

typedef struct rt_snapshot_target {
    rt_snapshot_kind kind;
    uint64_t checkpoint_id;
    const char *root;          /* absolute path; handle paths are relative to it */
    const char *exclusive_dir; /* relative to root, exists: files of this snapshot only
                                  ("chk-7/op-<uid>-3" or "op-<uid>-3" in a savepoint) */
    const char *shared_dir;    /* relative to root, exists: incremental SST files ("shared") */
} rt_snapshot_target;

/*
 * Writes a snapshot of the whole state synchronously and returns its handle (caller owns,
 * json_decref). The handle is a JSON object; its "files" array lists every file it needs as
 * {"path": relative to root, "size": bytes, "shared": bool}, so the checkpoint storage can
 * reference-count shared files without knowing the format. Returns 0, WEIR_EIO, WEIR_ENOMEM.
 */
int rt_state_snapshot(rt_state *st, const rt_snapshot_target *t, json_t **handle,
                      weir_error *err) WEIR_MUST_CHECK;

/* Tells the backend that checkpoint `checkpoint_id` completed: its shared files are the base
 * that the next incremental checkpoint references. */
void rt_state_notify_complete(rt_state *st, uint64_t checkpoint_id);

/*
 * Restores from `n` handles (written by either backend; paths relative to `root`), keeping
 * entries in this subtask's key-group range. The state must be empty. Returns 0, WEIR_EPARSE
 * (a corrupted or truncated file: err names it), WEIR_ENOTFOUND (a missing file), WEIR_EIO.
 */
int rt_state_restore(rt_state *st, const char *root, json_t *const *handles, size_t n,
                     weir_error *err) WEIR_MUST_CHECK;

#endif
