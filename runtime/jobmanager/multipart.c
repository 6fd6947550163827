/*
 * multipart.c - multipart/form-data parsing for one file field (see multipart.h).
 *
 * Layer: runtime/jobmanager leaf.
 */
#include "runtime/jobmanager/multipart.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The value of parameter `name` (e.g. boundary, name, filename) in a header value. */
static int param(const char *h, size_t hl, const char *name, char *out, size_t size)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i + nl + 1 <= hl; i++) {
        if (strncasecmp(h + i, name, nl) != 0 || h[i + nl] != '=')
            continue;
        if (i > 0 && h[i - 1] != ';' && h[i - 1] != ' ' && h[i - 1] != '\t')
            continue;
        const char *v = h + i + nl + 1, *end = h + hl;
        size_t o = 0;
        if (v < end && *v == '"') {
            v++;
            while (v < end && *v != '"' && o + 1 < size)
                out[o++] = *v++;
            if (v >= end || *v != '"')
                return -1;
        } else
            while (v < end && *v != ';' && *v != ' ' && *v != '\r' && o + 1 < size)
                out[o++] = *v++;
        out[o] = '\0';
        return o ? 0 : -1;
    }
    return -1;
}

int multipart_find(const char *content_type, const char *body, size_t len, const char *field,
                   multipart_file *out, weir_error *err)
{
    char boundary[200], delim[210];
    if (!content_type || strncasecmp(content_type, "multipart/form-data", 19) != 0)
        return weir_error_set(err, WEIR_EINVAL, "expected a multipart/form-data body");
    if (param(content_type, strlen(content_type), "boundary", boundary, sizeof(boundary)))
        return weir_error_set(err, WEIR_EINVAL, "multipart body without a boundary");
    int dl = snprintf(delim, sizeof(delim), "--%s", boundary);
    const char *end = body + len;
    const char *p = memmem(body, len, delim, (size_t)dl);
    if (!p)
        return weir_error_set(err, WEIR_EPARSE, "multipart body without its boundary");
    for (;;) {
        p += dl;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            break; /* closing delimiter */
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return weir_error_set(err, WEIR_EPARSE, "malformed multipart delimiter line");
        p += 2;
        const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
        if (!hend)
            return weir_error_set(err, WEIR_EPARSE, "multipart part without a header end");
        const char *data = hend + 4;
        char nd[216];
        int ndl = snprintf(nd, sizeof(nd), "\r\n--%s", boundary);
        const char *next = memmem(data, (size_t)(end - data), nd, (size_t)ndl);
        if (!next)
            return weir_error_set(err, WEIR_EPARSE, "multipart part without a closing boundary");
        /* headers: look for Content-Disposition */
        char name[128] = "", fname[256] = "";
        const char *h = p;
        while (h < hend) {
            const char *eol = memmem(h, (size_t)(hend - h) + 2, "\r\n", 2);
            if (!eol)
                eol = hend;
            size_t hl = (size_t)(eol - h);
            if (hl > 20 && strncasecmp(h, "Content-Disposition:", 20) == 0) {
                param(h, hl, "name", name, sizeof(name));
                param(h, hl, "filename", fname, sizeof(fname));
            }
            h = eol + 2;
        }
        if (strcmp(name, field) == 0) {
            out->data = data;
            out->len = (size_t)(next - data);
            /* keep the last path component, then only safe characters */
            const char *base = strrchr(fname, '/');
            base = base ? base + 1 : fname;
            size_t o = 0;
            for (const char *c = base; *c && o + 1 < sizeof(out->filename); c++)
                out->filename[o++] =
                    (isalnum((unsigned char)*c) || *c == '.' || *c == '-' || *c == '_') ? *c : '_';
            out->filename[o] = '\0';
            if (!o || strcmp(out->filename, ".") == 0 || strcmp(out->filename, "..") == 0)
                snprintf(out->filename, sizeof(out->filename), "job");
            return 0;
        }
        p = next + 2;
    }
    return weir_error_set(err, WEIR_ENOTFOUND, "no '%s' part in the multipart body", field);
}
