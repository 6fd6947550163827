/*
 * storage.h - checkpoint and savepoint storage behind a small ops table, chosen by the URI of
 * state.checkpoints.dir / state.savepoints.dir. Only the local file system ("file://" or a
 * plain path) exists today; S3 (libcurl with SigV4) will be a second backend with the same ops.
 *
 * Paths given to the ops are absolute paths inside the backend's namespace (for file: the local
 * path). Writes of metadata are atomic: readers see the old file or the complete new one.
 *
 * Layer: runtime/storage. Depends on lib/error.h only.
 */
#ifndef WEIR_RT_STORAGE_H
#define WEIR_RT_STORAGE_H

#include "lib/error.h"

#include <stddef.h>

typedef struct rt_storage_ops {
    const char *scheme; /* "file" */
    /* Creates a directory and its parents; existing ones are fine. */
    int (*mkdirs)(const char *path, weir_error *err);
    /* Writes `len` bytes to `path` atomically (temporary file, fsync, rename). */
    int (*write_atomic)(const char *path, const void *data, size_t len, weir_error *err);
    /* Removes a directory tree (missing is fine). */
    int (*remove_tree)(const char *path);
    /* Removes one file (missing is fine). */
    int (*remove)(const char *path);
    /* True when `path` exists. */
    int (*exists)(const char *path);
} rt_storage_ops;

/* The local file system backend (also for local working directories). */
const rt_storage_ops *rt_storage_file(void);

/*
 * Resolves a storage URI: "file:///x" or "/x" give the file backend and "/x" in *path (a
 * pointer into `uri`). Other schemes are WEIR_EUNSUPPORTED with a message naming the URI.
 */
int rt_storage_resolve(const char *uri, const rt_storage_ops **ops, const char **path,
                       weir_error *err) WEIR_MUST_CHECK;

#endif
