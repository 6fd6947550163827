/*
 * kube/watch.c - incremental decoder of newline-delimited watch events.
 *
 * Bytes are appended to a line buffer; each complete line is parsed with jansson and checked
 * for the event shape before the callback sees it. The buffer never grows past the event cap.
 */
#include "lib/kube/watch.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/http_client.h"

struct kube_watch_decoder {
    kube_watch_fn fn;
    void *ud;
    size_t max_event;
    char *buf; /* pending partial line */
    size_t len, cap;
    size_t events; /* events delivered */
    size_t lines;  /* non-empty lines seen */
    int failed;    /* sticky error code */
    char *rv;      /* resourceVersion of the last event */
};

const char *kube_watch_type_name(kube_watch_type t)
{
    switch (t) {
    case KUBE_WATCH_ADDED:
        return "ADDED";
    case KUBE_WATCH_MODIFIED:
        return "MODIFIED";
    case KUBE_WATCH_DELETED:
        return "DELETED";
    case KUBE_WATCH_BOOKMARK:
        return "BOOKMARK";
    }
    return "UNKNOWN";
}

kube_watch_decoder *kube_watch_decoder_new(size_t max_event, kube_watch_fn fn, void *userdata)
{
    kube_watch_decoder *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->fn = fn;
    d->ud = userdata;
    d->max_event = max_event ? max_event : KUBE_WATCH_MAX_EVENT;
    return d;
}

void kube_watch_decoder_free(kube_watch_decoder *d)
{
    if (!d)
        return;
    free(d->buf);
    free(d->rv);
    free(d);
}

const char *kube_watch_decoder_resource_version(const kube_watch_decoder *d)
{
    return d->rv;
}

size_t kube_watch_decoder_events(const kube_watch_decoder *d)
{
    return d->events;
}

int kube_status_error(const json_t *status, long fallback_status, const char *context,
                      weir_error *err)
{
    const char *reason = json_string_value(json_object_get(status, "reason"));
    const char *message = json_string_value(json_object_get(status, "message"));
    json_int_t code = json_integer_value(json_object_get(status, "code"));
    if (code <= 0)
        code = fallback_status;
    int rc;
    if (reason && strcmp(reason, "AlreadyExists") == 0)
        rc = WEIR_EEXIST;
    else if (code == 422 || (reason && strcmp(reason, "Invalid") == 0))
        rc = WEIR_EINVAL;
    else if (code == 410 ||
             (reason && (strcmp(reason, "Expired") == 0 || strcmp(reason, "Gone") == 0)))
        rc = WEIR_EGONE;
    else
        rc = http_client_status_code(code);
    if (rc == 0)
        rc = WEIR_EHTTP;
    if (context)
        weir_error_set(err, rc, "%s: %s%s%s%s", context, message ? message : "request failed",
                       reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
    else
        weir_error_set(err, rc, "%s%s%s%s", message ? message : "request failed",
                       reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
    if (err) {
        err->http_status = (int)code;
        snprintf(err->reason, sizeof(err->reason), "%s", reason ? reason : "");
    }
    return rc;
}

static int fail(kube_watch_decoder *d, int code)
{
    d->failed = code;
    return code;
}

static int decode_line(kube_watch_decoder *d, const char *line, size_t len, weir_error *err)
{
    json_error_t jerr;
    size_t n = ++d->lines;
    json_t *ev = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!ev)
        return fail(d,
                    weir_error_set(err, WEIR_EPARSE, "watch event %zu: invalid JSON at %d:%d: %s",
                                   n, jerr.line, jerr.column, jerr.text));
    int rc = 0;
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *obj = json_object_get(ev, "object");
    if (!json_is_object(ev) || !type) {
        rc = weir_error_set(err, WEIR_EPARSE, "watch event %zu: no \"type\"", n);
        goto out;
    }
    if (!json_is_object(obj)) {
        rc = weir_error_set(err, WEIR_EPARSE, "watch event %zu (%s): \"object\" is not an object",
                            n, type);
        goto out;
    }
    kube_watch_type t;
    if (strcmp(type, "ADDED") == 0) {
        t = KUBE_WATCH_ADDED;
    } else if (strcmp(type, "MODIFIED") == 0) {
        t = KUBE_WATCH_MODIFIED;
    } else if (strcmp(type, "DELETED") == 0) {
        t = KUBE_WATCH_DELETED;
    } else if (strcmp(type, "BOOKMARK") == 0) {
        t = KUBE_WATCH_BOOKMARK;
    } else if (strcmp(type, "ERROR") == 0) {
        rc = kube_status_error(obj, 500, "watch", err);
        goto out;
    } else {
        rc = weir_error_set(err, WEIR_EPARSE, "watch event %zu: unknown type \"%.40s\"", n, type);
        goto out;
    }
    const char *rv =
        json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
    if (t == KUBE_WATCH_BOOKMARK && !rv) {
        rc = weir_error_set(err, WEIR_EPARSE, "watch event %zu: BOOKMARK without resourceVersion",
                            n);
        goto out;
    }
    if (rv) {
        char *copy = strdup(rv);
        if (!copy) {
            rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
            goto out;
        }
        free(d->rv);
        d->rv = copy;
    }
    d->events++;
    if (d->fn && d->fn(t, obj, d->ud) != 0)
        rc = weir_error_set(err, WEIR_ECANCELED, "watch stopped by the receiver");
out:
    json_decref(ev);
    return rc ? fail(d, rc) : 0;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

static int append(kube_watch_decoder *d, const char *p, size_t n, weir_error *err)
{
    if (d->len + n > d->max_event)
        return fail(d, weir_error_set(err, WEIR_ETOOBIG, "watch event larger than %zu bytes",
                                      d->max_event));
    if (d->len + n > d->cap) {
        size_t cap = d->cap ? d->cap : 4096;
        while (cap < d->len + n)
            cap *= 2;
        char *nb = realloc(d->buf, cap);
        if (!nb)
            return fail(d, weir_error_set(err, WEIR_ENOMEM, "out of memory"));
        d->buf = nb;
        d->cap = cap;
    }
    memcpy(d->buf + d->len, p, n);
    d->len += n;
    return 0;
}

int kube_watch_decoder_feed(kube_watch_decoder *d, const char *data, size_t len, weir_error *err)
{
    if (d->failed)
        return weir_error_set(err, d->failed, "watch decoder already failed");
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        int rc;
        if (!nl)
            return append(d, data, take, err);
        if (d->len == 0) { /* whole line in the input: no copy */
            if (!blank(data, take) && (rc = decode_line(d, data, take, err)))
                return rc;
        } else {
            if ((rc = append(d, data, take, err)))
                return rc;
            size_t l = d->len;
            d->len = 0;
            if (!blank(d->buf, l) && (rc = decode_line(d, d->buf, l, err)))
                return rc;
        }
        data += take + 1;
        len -= take + 1;
    }
    return 0;
}

int kube_watch_decoder_finish(kube_watch_decoder *d, weir_error *err)
{
    if (d->failed)
        return weir_error_set(err, d->failed, "watch decoder already failed");
    if (d->len == 0 || blank(d->buf, d->len))
        return 0;
    size_t l = d->len;
    d->len = 0;
    /* A complete JSON value without the final newline is fine; a fragment means a cut. */
    json_error_t jerr;
    json_t *probe = json_loadb(d->buf, l, 0, &jerr);
    if (!probe)
        return fail(d, weir_error_set(err, WEIR_ECLOSED,
                                      "watch stream ended inside an event (%zu bytes)", l));
    json_decref(probe);
    return decode_line(d, d->buf, l, err);
}
