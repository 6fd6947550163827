/*
 * http_server.c - routes, buffered request bodies, responses and graceful shutdown over
 * libmicrohttpd (MHD). All HTTP parsing is MHD's; this file only routes and buffers.
 *
 * MHD calls the access handler several times per request: once when the headers are in (we
 * allocate the per-request state, count the request as in flight and answer 413 early when
 * Content-Length is over the limit), once per body chunk (we append up to the limit, then
 * discard), and once more when the body is complete (we route and call the handler). The
 * per-request state is freed, and the in-flight count dropped, in the completion callback,
 * which MHD calls once the response is sent or the connection is gone.
 *
 * Layer: lib/. Depends on libmicrohttpd, jansson, lib/error, lib/log; never on operator/ or
 * runtime/.
 */
#include "lib/http_server.h"

#include "lib/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_SEGS        32
#define MAX_PARAMS      8
#define MAX_HEADERS     32
#define MAX_ALLOW       16
#define DEFAULT_BODY    (1024 * 1024)
#define DEFAULT_CONNS   128
#define DEFAULT_TIMEOUT 60
/* After the limit is crossed we read and drop the rest of a body so that the 413 can be
 * delivered; past this many discarded bytes the connection is simply closed. */
#define DISCARD_CAP (8u * 1024 * 1024)

struct route {
    char *method;
    char *pattern;
    char *segs[MAX_SEGS]; /* owned copies; ":name" for parameters */
    size_t nsegs;
    http_handler_fn fn;
    void *ud;
};

struct http_server {
    http_server_opts opts; /* string members point at the copies below */
    char *bind_address, *cert, *key;
    struct route *routes;
    size_t nroutes;
    struct MHD_Daemon *d;
    int port;
    bool stopped; /* owner thread only */
    atomic_bool stopping;
    pthread_mutex_t mu; /* guards inflight */
    pthread_cond_t idle;
    long inflight; /* requests whose headers arrived and whose completion has not run */
};

struct http_request {
    struct MHD_Connection *conn;
    const char *method; /* borrowed from MHD for the request's lifetime */
    const char *path;
    char *body;
    size_t len, cap;
    size_t discarded;
    bool too_big;
    bool answered; /* 413 queued from the headers alone */
    char *pathbuf; /* split copy of path; pvalues point into it */
    const char *pnames[MAX_PARAMS];
    const char *pvalues[MAX_PARAMS];
    size_t nparams;
};

struct http_response {
    int status;
    char *content_type;
    char *body;
    size_t len;
    char *hnames[MAX_HEADERS], *hvalues[MAX_HEADERS];
    size_t nheaders;
};

/* --- responses ---------------------------------------------------------------------------- */

static const char OOM_BODY[] = "{\"errors\":[\"out of memory\"]}";

/* Replaces the body of `r`; takes ownership of `content_type` and `body` (either may be NULL). */
static void response_take(http_response *r, int status, char *content_type, char *body, size_t len)
{
    free(r->content_type);
    free(r->body);
    r->status = status;
    r->content_type = content_type;
    r->body = body;
    r->len = body ? len : 0;
}

/* Borrows `r`; on allocation failure turns it into a bodiless 500 (the best we can do). */
void http_response_set(http_response *r, int status, const char *content_type, const char *body,
                       size_t len)
{
    char *ct = content_type ? strdup(content_type) : NULL;
    char *b = NULL;
    if (body && len) {
        b = malloc(len);
        if (b)
            memcpy(b, body, len);
    }
    if ((content_type && !ct) || (body && len && !b)) {
        free(ct);
        free(b);
        response_take(r, 500, NULL, NULL, 0);
        return;
    }
    response_take(r, status, ct, b, len);
}

/* Takes ownership of `v`. */
void http_response_json(http_response *r, int status, json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    if (!s) {
        http_response_set(r, 500, "application/json", OOM_BODY, sizeof(OOM_BODY) - 1);
        return;
    }
    char *ct = strdup("application/json");
    if (!ct) {
        free(s);
        response_take(r, 500, NULL, NULL, 0);
        return;
    }
    response_take(r, status, ct, s, strlen(s));
}

/* Borrows `text`. */
void http_response_text(http_response *r, int status, const char *text)
{
    http_response_set(r, status, "text/plain; charset=utf-8", text, text ? strlen(text) : 0);
}

void http_response_error(http_response *r, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    http_response_json(r, status, json_pack("{s:[s]}", "errors", msg));
}

/* Borrows `name` and `value` (copied). */
int http_response_header(http_response *r, const char *name, const char *value)
{
    if (!name || !*name || !value || strpbrk(name, "\r\n: \t") || strpbrk(value, "\r\n"))
        return WEIR_EINVAL;
    if (r->nheaders >= MAX_HEADERS)
        return WEIR_ETOOBIG;
    int rc = 0;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        rc = WEIR_ENOMEM;
        goto out;
    }
    r->hnames[r->nheaders] = n;
    r->hvalues[r->nheaders++] = v;
    n = v = NULL;
out:
    free(n);
    free(v);
    return rc;
}

/* Frees what `r` holds and zeroes it; `r` itself is the caller's. */
static void response_clear(http_response *r)
{
    free(r->content_type);
    free(r->body);
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->hnames[i]);
        free(r->hvalues[i]);
    }
    memset(r, 0, sizeof(*r));
}

/* Queues `r` on `c`; moves r->body into MHD (r is cleared either way). */
static enum MHD_Result send_response(http_server *s, struct MHD_Connection *c, http_response *r)
{
    enum MHD_Result ret = MHD_NO;
    unsigned status = r->status ? (unsigned)r->status : 204;
    if (r->status < 0 || (r->status && (r->status < 200 || r->status > 599)))
        status = 500; /* 1xx cannot be a final answer; anything else is not HTTP */
    struct MHD_Response *m =
        MHD_create_response_from_buffer_with_free_callback(r->len, r->body, free);
    if (!m)
        goto out;
    r->body = NULL; /* MHD owns it now */
    r->len = 0;
    if (r->content_type)
        MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    for (size_t i = 0; i < r->nheaders; i++)
        MHD_add_response_header(m, r->hnames[i], r->hvalues[i]);
    if (atomic_load(&s->stopping))
        MHD_add_response_header(m, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(c, status, m);
    MHD_destroy_response(m);
out:
    response_clear(r);
    return ret;
}

static enum MHD_Result send_error(http_server *s, struct MHD_Connection *c, int status,
                                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum MHD_Result send_error(http_server *s, struct MHD_Connection *c, int status,
                                  const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    http_response r = {0};
    http_response_json(&r, status, json_pack("{s:[s]}", "errors", msg));
    return send_response(s, c, &r);
}

/* --- requests ----------------------------------------------------------------------------- */

const char *http_request_method(const http_request *r)
{
    return r->method;
}

const char *http_request_path(const http_request *r)
{
    return r->path;
}

const char *http_request_param(const http_request *r, const char *name)
{
    for (size_t i = 0; i < r->nparams; i++)
        if (strcmp(r->pnames[i], name) == 0)
            return r->pvalues[i];
    return NULL;
}

const char *http_request_query(const http_request *r, const char *name)
{
    const char *v = NULL;
    size_t vlen = 0;
    if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v,
                                      &vlen) != MHD_YES)
        return NULL;
    return v ? v : "";
}

const char *http_request_header(const http_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_request_body(const http_request *r, size_t *len)
{
    if (len)
        *len = r->len;
    return r->body ? r->body : "";
}

/* Caller json_decref()s the result; fills `resp` (borrowed) on failure. */
json_t *http_request_json(const http_request *r, http_response *resp)
{
    json_error_t e;
    json_t *v = json_loadb(r->body ? r->body : "", r->len, JSON_REJECT_DUPLICATES, &e);
    if (!v)
        http_response_error(resp, 400, "Request body is not valid JSON: %d:%d: %s", e.line,
                            e.column, e.text);
    return v;
}

/* Frees `r` and everything it owns; NULL is a no-op. */
static void request_free(http_request *r)
{
    if (!r)
        return;
    free(r->body);
    free(r->pathbuf);
    free(r);
}

/* --- routing ------------------------------------------------------------------------------ */

/* Splits `buf` (modified) at '/' into at most MAX_SEGS non-empty segments pointing into it.
 * Returns the count, or -1 when there are more. */
static int split(char *buf, char **segs)
{
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (n >= MAX_SEGS)
            return -1;
        segs[n++] = t;
    }
    return n;
}

static bool is_param(const char *seg)
{
    return seg[0] == ':';
}

/* Specificity of `rt` for `segs`: -1 when it does not match, else a bitmask in which a
 * literal segment weighs more than all literal segments to its right together. */
static int64_t match(const struct route *rt, char *const *segs, size_t n)
{
    if (rt->nsegs != n)
        return -1;
    int64_t score = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_param(rt->segs[i]))
            continue;
        if (strcmp(rt->segs[i], segs[i]) != 0)
            return -1;
        score |= (int64_t)1 << (MAX_SEGS - 1 - i);
    }
    return score;
}

/* True when both routes match exactly the same paths. */
static bool same_shape(const struct route *a, const struct route *b)
{
    if (a->nsegs != b->nsegs)
        return false;
    for (size_t i = 0; i < a->nsegs; i++) {
        bool pa = is_param(a->segs[i]), pb = is_param(b->segs[i]);
        if (pa != pb || (!pa && strcmp(a->segs[i], b->segs[i]) != 0))
            return false;
    }
    return true;
}

/* The most specific route for `method` matching `segs`, or NULL. */
static const struct route *find(const http_server *s, const char *method, char *const *segs,
                                size_t n)
{
    const struct route *best = NULL;
    int64_t best_score = -1;
    for (size_t i = 0; i < s->nroutes; i++) {
        if (strcmp(s->routes[i].method, method) != 0)
            continue;
        int64_t sc = match(&s->routes[i], segs, n);
        if (sc > best_score) {
            best = &s->routes[i];
            best_score = sc;
        }
    }
    return best;
}

/* Writes the methods that have a route matching `segs` into `allow` ("GET, HEAD, POST"). */
static void allowed_methods(const http_server *s, char *const *segs, size_t n, char *allow,
                            size_t cap)
{
    const char *seen[MAX_ALLOW] = {0};
    size_t nseen = 0;
    bool get = false, head = false;
    allow[0] = '\0';
    for (size_t i = 0; i < s->nroutes && nseen < MAX_ALLOW; i++) {
        const char *m = s->routes[i].method;
        if (match(&s->routes[i], segs, n) < 0)
            continue;
        bool dup = false;
        for (size_t j = 0; j < nseen && !dup; j++)
            dup = strcmp(seen[j], m) == 0;
        if (dup)
            continue;
        seen[nseen++] = m;
        get |= strcmp(m, "GET") == 0;
        head |= strcmp(m, "HEAD") == 0;
    }
    if (get && !head && nseen < MAX_ALLOW)
        seen[nseen++] = "HEAD";
    for (size_t i = 0; i < nseen; i++) {
        size_t l = strlen(allow);
        snprintf(allow + l, cap - l, "%s%s", l ? ", " : "", seen[i]);
    }
}

static void log_request(const http_request *req, unsigned status, struct timespec t0)
{
    if (!log_enabled(LOG_DEBUG))
        return;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    char st[16], ms[32];
    snprintf(st, sizeof(st), "%u", status);
    snprintf(ms, sizeof(ms), "%.3f",
             (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    log_debug("http request", "method", req->method, "path", req->path, "status", st, "ms", ms);
}

static enum MHD_Result dispatch(http_server *s, struct MHD_Connection *c, http_request *req)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char *segs[MAX_SEGS];
    req->pathbuf = strdup(req->path);
    if (!req->pathbuf)
        return send_error(s, c, 500, "out of memory");
    int n = split(req->pathbuf, segs);
    if (n < 0) {
        log_request(req, 404, t0);
        return send_error(s, c, 404, "Not found: %s", req->path);
    }
    const struct route *rt = find(s, req->method, segs, (size_t)n);
    if (!rt && strcmp(req->method, "HEAD") == 0)
        rt = find(s, "GET", segs, (size_t)n);
    if (!rt) {
        char allow[256];
        allowed_methods(s, segs, (size_t)n, allow, sizeof(allow));
        if (!allow[0]) {
            log_request(req, 404, t0);
            return send_error(s, c, 404, "Not found: %s", req->path);
        }
        http_response r = {0};
        http_response_error(&r, 405, "Method %s is not allowed for %s (allowed: %s)", req->method,
                            req->path, allow);
        http_response_header(&r, "Allow", allow);
        log_request(req, 405, t0);
        return send_response(s, c, &r);
    }
    for (size_t i = 0; i < rt->nsegs; i++) {
        if (!is_param(rt->segs[i]))
            continue;
        req->pnames[req->nparams] = rt->segs[i] + 1; /* route registration caps the count */
        req->pvalues[req->nparams++] = segs[i];
    }
    http_response resp = {0};
    rt->fn(req, &resp, rt->ud);
    log_request(req, resp.status ? (unsigned)resp.status : 204, t0);
    return send_response(s, c, &resp);
}

/* Appends an upload chunk to req->body, or discards it once over the limit. MHD_NO closes
 * the connection. */
static enum MHD_Result take_upload(http_server *s, http_request *req, const char *data, size_t n)
{
    if (req->too_big || n > s->opts.max_body_bytes - req->len) {
        req->too_big = true;
        req->discarded += n;
        return req->discarded > DISCARD_CAP ? MHD_NO : MHD_YES; /* 413 at the end */
    }
    if (req->len + n + 1 > req->cap) {
        size_t cap = req->cap ? req->cap : 1024;
        while (cap < req->len + n + 1)
            cap *= 2;
        char *nb = realloc(req->body, cap);
        if (!nb)
            return MHD_NO;
        req->body = nb;
        req->cap = cap;
    }
    memcpy(req->body + req->len, data, n);
    req->len += n;
    req->body[req->len] = '\0';
    return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    (void)version;
    http_server *s = cls;
    http_request *req = *con_cls;
    if (!req) {
        req = calloc(1, sizeof(*req));
        if (!req)
            return MHD_NO;
        req->conn = c;
        req->method = method;
        req->path = url;
        *con_cls = req;
        pthread_mutex_lock(&s->mu);
        s->inflight++;
        pthread_mutex_unlock(&s->mu);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl) {
            errno = 0;
            char *end = NULL;
            unsigned long long v = strtoull(cl, &end, 10);
            if (errno || end == cl || v > s->opts.max_body_bytes) {
                req->too_big = req->answered = true;
                return send_error(s, c, 413, "Request body larger than %zu bytes",
                                  s->opts.max_body_bytes);
            }
        }
        return MHD_YES;
    }
    if (req->answered) {
        *upload_size = 0; /* MHD drops the rest and closes the connection */
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        return take_upload(s, req, upload, n);
    }
    if (req->too_big)
        return send_error(s, c, 413, "Request body larger than %zu bytes", s->opts.max_body_bytes);
    return dispatch(s, c, req);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    (void)toe;
    http_server *s = cls;
    http_request *req = *con_cls;
    if (!req)
        return;
    request_free(req);
    *con_cls = NULL;
    pthread_mutex_lock(&s->mu);
    if (--s->inflight == 0)
        pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
}

/* --- server ------------------------------------------------------------------------------- */

/* Caller frees with http_server_free(); `opts` is borrowed and its strings copied. */
http_server *http_server_new(const http_server_opts *opts, weir_error *err)
{
    static const http_server_opts none;
    if (!opts)
        opts = &none;
    if (opts->port < 0 || opts->port > 65535) {
        weir_error_set(err, WEIR_EINVAL, "http server: port %d out of range", opts->port);
        return NULL;
    }
    if (!opts->tls_cert_pem != !opts->tls_key_pem) {
        weir_error_set(err, WEIR_EINVAL, "http server: TLS needs both a certificate and a key");
        return NULL;
    }
    http_server *s = calloc(1, sizeof(*s));
    if (!s)
        goto oom;
    s->opts = *opts;
    if (!s->opts.max_body_bytes)
        s->opts.max_body_bytes = DEFAULT_BODY;
    if (!s->opts.max_connections)
        s->opts.max_connections = DEFAULT_CONNS;
    if (!s->opts.connection_timeout)
        s->opts.connection_timeout = DEFAULT_TIMEOUT;
    s->bind_address = opts->bind_address ? strdup(opts->bind_address) : NULL;
    s->cert = opts->tls_cert_pem ? strdup(opts->tls_cert_pem) : NULL;
    s->key = opts->tls_key_pem ? strdup(opts->tls_key_pem) : NULL;
    s->opts.bind_address = s->bind_address;
    s->opts.tls_cert_pem = s->cert;
    s->opts.tls_key_pem = s->key;
    atomic_init(&s->stopping, false);
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->idle, &ca);
    pthread_condattr_destroy(&ca);
    if ((opts->bind_address && !s->bind_address) || (opts->tls_cert_pem && !s->cert) ||
        (opts->tls_key_pem && !s->key))
        goto oom;
    return s;
oom:
    weir_error_set(err, WEIR_ENOMEM, "out of memory");
    http_server_free(s);
    return NULL;
}

/* Frees the strings `rt` owns (not `rt`). */
static void route_clear(struct route *rt)
{
    for (size_t j = 0; j < rt->nsegs; j++)
        free(rt->segs[j]);
    free(rt->method);
    free(rt->pattern);
    memset(rt, 0, sizeof(*rt));
}

/* Borrows `method` and `pattern` (copied) and `ud` (kept until the server is freed). */
int http_server_route(http_server *s, const char *method, const char *pattern, http_handler_fn fn,
                      void *ud)
{
    if (s->d || s->stopped)
        return WEIR_ESTATE;
    if (!method || !*method || strpbrk(method, " \t\r\n") || !pattern || pattern[0] != '/' || !fn)
        return WEIR_EINVAL;
    int rc = 0;
    struct route rt = {.fn = fn, .ud = ud};
    char *segs[MAX_SEGS];
    char *buf = strdup(pattern);
    rt.method = strdup(method);
    rt.pattern = strdup(pattern);
    if (!buf || !rt.method || !rt.pattern) {
        rc = WEIR_ENOMEM;
        goto out;
    }
    int n = split(buf, segs);
    if (n < 0) {
        rc = WEIR_EINVAL;
        goto out;
    }
    size_t nparams = 0;
    for (int i = 0; i < n; i++) {
        if (!is_param(segs[i]))
            continue;
        if (segs[i][1] == '\0' || ++nparams > MAX_PARAMS) {
            rc = WEIR_EINVAL;
            goto out;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(segs[j], segs[i]) == 0) {
                rc = WEIR_EINVAL; /* the same :name twice */
                goto out;
            }
    }
    for (int i = 0; i < n; i++) {
        rt.segs[i] = strdup(segs[i]);
        if (!rt.segs[i]) {
            rc = WEIR_ENOMEM;
            goto out;
        }
        rt.nsegs++;
    }
    for (size_t i = 0; i < s->nroutes; i++)
        if (strcmp(s->routes[i].method, method) == 0 && same_shape(&s->routes[i], &rt)) {
            rc = WEIR_EDUPLICATE;
            goto out;
        }
    struct route *nr = realloc(s->routes, (s->nroutes + 1) * sizeof(*nr));
    if (!nr) {
        rc = WEIR_ENOMEM;
        goto out;
    }
    s->routes = nr;
    s->routes[s->nroutes++] = rt;
    memset(&rt, 0, sizeof(rt)); /* moved */
out:
    route_clear(&rt);
    free(buf);
    return rc;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (!log_enabled(LOG_DEBUG))
        return; /* client resets and the like: not worth more than debug */
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t l = strlen(msg);
    while (l && (msg[l - 1] == '\n' || msg[l - 1] == '\r'))
        msg[--l] = '\0';
    log_debug("libmicrohttpd", "detail", msg);
}

/* Borrows `s`; on success the daemon is owned by `s` until http_server_stop(). */
int http_server_start(http_server *s, weir_error *err)
{
    if (s->d || s->stopped)
        return weir_error_set(err, WEIR_ESTATE, "http server: already started");
    const char *host = s->bind_address ? s->bind_address : "0.0.0.0";
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)s->opts.port);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)s->opts.port);
        flags |= MHD_USE_IPv6;
    } else {
        return weir_error_set(err, WEIR_EINVAL,
                              "http server: bind address '%s' is not an IP address", host);
    }
    if (s->opts.thread_pool_size == 0)
        flags |= MHD_USE_THREAD_PER_CONNECTION;
    if (s->cert)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem xo[4];
    size_t nx = 0;
    if (s->opts.thread_pool_size)
        xo[nx++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
                                           (intptr_t)s->opts.thread_pool_size, NULL};
    if (s->cert) {
        xo[nx++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert};
        xo[nx++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->key};
    }
    xo[nx] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    s->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_LIMIT,
        s->opts.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, s->opts.connection_timeout,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_ARRAY, xo, MHD_OPTION_END);
    if (!s->d) {
        if (s->cert)
            return weir_error_set(err, WEIR_ETLS,
                                  "http server: cannot start HTTPS on %s:%d (port in use, or "
                                  "the certificate/key is not valid PEM)",
                                  host, s->opts.port);
        return weir_error_set(err, WEIR_EIO, "http server: cannot listen on %s:%d (port in use?)",
                              host, s->opts.port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info && info->port ? info->port : s->opts.port;
    return 0;
}

int http_server_port(const http_server *s)
{
    return s && s->d ? s->port : 0;
}

/* Borrows `s`; releases the daemon, not `s`. */
void http_server_stop(http_server *s, unsigned timeout_ms)
{
    if (!s || !s->d)
        return;
    atomic_store(&s->stopping, true);
    MHD_socket fd = MHD_quiesce_daemon(s->d); /* no new connections from here on */
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (s->inflight > 0)
        if (pthread_cond_timedwait(&s->idle, &s->mu, &deadline) == ETIMEDOUT)
            break;
    long left = s->inflight;
    pthread_mutex_unlock(&s->mu);
    if (left > 0) {
        char n[24];
        snprintf(n, sizeof(n), "%ld", left);
        log_warn("http server: stop grace period over, closing requests in flight", "requests", n);
    }
    MHD_stop_daemon(s->d); /* closes connections, joins MHD's threads */
    s->d = NULL;
    s->stopped = true;
}

void http_server_free(http_server *s)
{
    if (!s)
        return;
    http_server_stop(s, 0);
    for (size_t i = 0; i < s->nroutes; i++)
        route_clear(&s->routes[i]);
    free(s->routes);
    free(s->bind_address);
    free(s->cert);
    free(s->key);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
