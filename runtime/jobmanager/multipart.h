/*
 * multipart.h - finding one file part in a multipart/form-data body (RFC 7578), as
 * /jars/upload receives from `curl -F jarfile=@job.sql`.
 *
 * Layer: runtime/jobmanager leaf. Pure: no I/O.
 */
#ifndef WEIR_RT_MULTIPART_H
#define WEIR_RT_MULTIPART_H

#include "lib/error.h"

#include <stddef.h>

typedef struct multipart_file {
    const char *data; /* points into the body */
    size_t len;
    char filename[256]; /* the part's filename, sanitized to [A-Za-z0-9._-] */
} multipart_file;

/*
 * Finds the part named `field` in `body` (of length `len`) given the request's Content-Type.
 * Returns 0, or WEIR_EINVAL (not multipart, no boundary) / WEIR_ENOTFOUND (no such part) /
 * WEIR_EPARSE (malformed) with `err` saying what.
 */
int multipart_find(const char *content_type, const char *body, size_t len, const char *field,
                   multipart_file *out, weir_error *err) WEIR_MUST_CHECK;

#endif
