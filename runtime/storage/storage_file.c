/*
 * storage_file.c - the local file system backend of checkpoint storage, and URI resolution.
 *
 * Layer: runtime/storage.
 */
#include "runtime/storage/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int file_mkdirs(const char *path, weir_error *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
        return weir_error_set(err, WEIR_ETOOBIG, "path too long: %s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) && errno != EEXIST)
            return weir_error_set(err, WEIR_EIO, "%s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) && errno != EEXIST)
        return weir_error_set(err, WEIR_EIO, "%s: %s", tmp, strerror(errno));
    return 0;
}

static int file_write_atomic(const char *path, const void *data, size_t len, weir_error *err)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s.inprogress", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return weir_error_set(err, WEIR_EIO, "%s: %s", tmp, strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return weir_error_set(err, WEIR_EIO, "%s: %s", tmp, strerror(e));
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) || close(fd) || rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        return weir_error_set(err, WEIR_EIO, "%s: %s", path, strerror(e));
    }
    return 0;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

static int file_remove_tree(const char *path)
{
    return nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS) && errno != ENOENT ? WEIR_EIO : 0;
}

static int file_remove(const char *path)
{
    return unlink(path) && errno != ENOENT ? WEIR_EIO : 0;
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static const rt_storage_ops file_ops = {
    .scheme = "file",
    .mkdirs = file_mkdirs,
    .write_atomic = file_write_atomic,
    .remove_tree = file_remove_tree,
    .remove = file_remove,
    .exists = file_exists,
};

const rt_storage_ops *rt_storage_file(void)
{
    return &file_ops;
}

int rt_storage_resolve(const char *uri, const rt_storage_ops **ops, const char **path,
                       weir_error *err)
{
    if (!uri || !*uri)
        return weir_error_set(err, WEIR_EINVAL, "empty storage location");
    if (strncmp(uri, "file://", 7) == 0) {
        if (uri[7] != '/')
            return weir_error_set(err, WEIR_EINVAL, "'%s': a file URI needs an absolute path", uri);
        *ops = &file_ops;
        *path = uri + 7;
        return 0;
    }
    if (strncmp(uri, "file:/", 6) == 0) { /* Flink's own form: file:/path */
        *ops = &file_ops;
        *path = uri + 5;
        return 0;
    }
    const char *scheme = strstr(uri, "://");
    if (scheme)
        return weir_error_set(err, WEIR_EUNSUPPORTED,
                              "'%s': storage scheme '%.*s' is not supported yet (file:// only)",
                              uri, (int)(scheme - uri), uri);
    *ops = &file_ops;
    *path = uri;
    return 0;
}
