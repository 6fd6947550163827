/*
 * http_server.c - routes, request bodies, responses and graceful shutdown over libmicrohttpd.
 *
 * libmicrohttpd calls the access handler several times per request: once when the headers
 * are in (we allocate the per-request state and reject oversize Content-Length early), once
 * per body chunk (we append, up to the limit), and once more when the body is complete (we
 * route and call the handler). The per-request state is freed in the completion callback.
 */
#include "lib/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_SEGS    32
#define MAX_PARAMS  8
#define MAX_HEADERS 16

struct route {
    char *method;
    char *pattern;
    char *segs[MAX_SEGS];
    size_t nsegs;
    http_handler_fn fn;
    void *ud;
};

struct http_server {
    http_server_opts opts;
    char *bind_address, *cert, *key;
    struct route *routes;
    size_t nroutes;
    struct MHD_Daemon *d;
    int port;
    atomic_int inflight; /* requests between the handler's start and their completion */
    bool stopped;
};

struct http_request {
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    char *body;
    size_t len, cap;
    bool too_big;
    const char *pnames[MAX_PARAMS];
    char *pvalues[MAX_PARAMS];
    size_t nparams;
    bool counted; /* counted in inflight */
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

void http_response_set(http_response *r, int status, const char *content_type, const char *body,
                       size_t len)
{
    r->status = status;
    free(r->content_type);
    free(r->body);
    r->content_type = content_type ? strdup(content_type) : NULL;
    r->body = NULL;
    r->len = 0;
    if (body && len) {
        r->body = malloc(len);
        if (r->body) {
            memcpy(r->body, body, len);
            r->len = len;
        } else {
            r->status = 500;
        }
    }
}

void http_response_json(http_response *r, int status, json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    if (!s) {
        http_response_set(r, 500, "application/json", "{\"errors\":[\"out of memory\"]}", 29);
        return;
    }
    http_response_set(r, status, "application/json", s, strlen(s));
    free(s);
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

void http_response_header(http_response *r, const char *name, const char *value)
{
    if (r->nheaders >= MAX_HEADERS)
        return;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return;
    }
    r->hnames[r->nheaders] = n;
    r->hvalues[r->nheaders++] = v;
}

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

static enum MHD_Result send_response(struct MHD_Connection *c, http_response *r)
{
    struct MHD_Response *m =
        MHD_create_response_from_buffer(r->len, r->body ? r->body : "", MHD_RESPMEM_MUST_COPY);
    if (!m)
        return MHD_NO;
    if (r->content_type)
        MHD_add_response_header(m, "Content-Type", r->content_type);
    for (size_t i = 0; i < r->nheaders; i++)
        MHD_add_response_header(m, r->hnames[i], r->hvalues[i]);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)(r->status ? r->status : 204), m);
    MHD_destroy_response(m);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    http_response r = {0};
    http_response_json(&r, status, json_pack("{s:[s]}", "errors", msg));
    enum MHD_Result ret = send_response(c, &r);
    response_clear(&r);
    return ret;
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
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
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

json_t *http_request_json(const http_request *r, http_response *resp)
{
    json_error_t e;
    json_t *v = json_loadb(r->body ? r->body : "", r->len, JSON_REJECT_DUPLICATES, &e);
    if (!v)
        http_response_error(resp, 400, "Request body is not valid JSON: %d:%d: %s", e.line,
                            e.column, e.text);
    return v;
}

static void request_free(http_request *r)
{
    if (!r)
        return;
    free(r->body);
    for (size_t i = 0; i < r->nparams; i++)
        free(r->pvalues[i]);
    free(r);
}

/* --- routing ------------------------------------------------------------------------------ */

/* Splits a path into segments (pointers into `buf`, which is modified). -1 when too many. */
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

/* Specificity of `rt` for `segs`: -1 when it does not match, else a bitmask where literal
 * segments earlier in the path weigh more. */
static long long match(const struct route *rt, char **segs, size_t n)
{
    if (rt->nsegs != n)
        return -1;
    long long score = 0;
    for (size_t i = 0; i < n; i++) {
        bool param = rt->segs[i][0] == ':';
        if (!param && strcmp(rt->segs[i], segs[i]) != 0)
            return -1;
        if (!param)
            score |= 1LL << (MAX_SEGS - i);
    }
    return score;
}

static enum MHD_Result dispatch(http_server *s, struct MHD_Connection *c, http_request *req)
{
    char buf[4096], *segs[MAX_SEGS];
    snprintf(buf, sizeof(buf), "%s", req->path);
    int n = split(buf, segs);
    if (n < 0)
        return send_error(c, 404, "Not found: %s", req->path);
    const struct route *best = NULL;
    long long best_score = -1;
    char allow[256] = "";
    for (size_t i = 0; i < s->nroutes; i++) {
        long long sc = match(&s->routes[i], segs, (size_t)n);
        if (sc < 0)
            continue;
        if (strcmp(s->routes[i].method, req->method) != 0) {
            if (!strstr(allow, s->routes[i].method)) {
                size_t l = strlen(allow);
                snprintf(allow + l, sizeof(allow) - l, "%s%s", l ? ", " : "", s->routes[i].method);
            }
            continue;
        }
        if (sc > best_score) {
            best = &s->routes[i];
            best_score = sc;
        }
    }
    if (!best) {
        if (allow[0]) {
            http_response r = {0};
            http_response_error(&r, 405, "Method %s is not allowed for %s (allowed: %s)",
                                req->method, req->path, allow);
            http_response_header(&r, "Allow", allow);
            enum MHD_Result ret = send_response(c, &r);
            response_clear(&r);
            return ret;
        }
        return send_error(c, 404, "Not found: %s", req->path);
    }
    for (size_t i = 0; i < best->nsegs && req->nparams < MAX_PARAMS; i++) {
        if (best->segs[i][0] != ':')
            continue;
        req->pnames[req->nparams] = best->segs[i] + 1;
        req->pvalues[req->nparams] = strdup(segs[i]);
        if (!req->pvalues[req->nparams])
            return send_error(c, 500, "out of memory");
        req->nparams++;
    }
    http_response resp = {0};
    best->fn(req, &resp, best->ud);
    enum MHD_Result ret = send_response(c, &resp);
    response_clear(&resp);
    return ret;
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
        atomic_fetch_add(&s->inflight, 1);
        req->counted = true;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > s->opts.max_body_bytes) {
            req->too_big = true;
            return send_error(c, 413, "Request body larger than %zu bytes", s->opts.max_body_bytes);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (req->too_big || req->len + n > s->opts.max_body_bytes) {
            req->too_big = true;
            return MHD_YES; /* discard the rest; answer 413 at the end */
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
        memcpy(req->body + req->len, upload, n);
        req->len += n;
        req->body[req->len] = '\0';
        return MHD_YES;
    }
    if (req->too_big)
        return send_error(c, 413, "Request body larger than %zu bytes", s->opts.max_body_bytes);
    return dispatch(s, c, req);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    (void)toe;
    http_server *s = cls;
    http_request *req = *con_cls;
    if (req && req->counted)
        atomic_fetch_sub(&s->inflight, 1);
    request_free(req);
    *con_cls = NULL;
}

/* --- server ------------------------------------------------------------------------------- */

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
    if (!s) {
        weir_error_set(err, WEIR_ENOMEM, "out of memory");
        return NULL;
    }
    s->opts = *opts;
    if (!s->opts.max_body_bytes)
        s->opts.max_body_bytes = 1024 * 1024;
    if (!s->opts.max_connections)
        s->opts.max_connections = 128;
    if (!s->opts.connection_timeout)
        s->opts.connection_timeout = 60;
    s->bind_address = opts->bind_address ? strdup(opts->bind_address) : NULL;
    s->cert = opts->tls_cert_pem ? strdup(opts->tls_cert_pem) : NULL;
    s->key = opts->tls_key_pem ? strdup(opts->tls_key_pem) : NULL;
    if ((opts->bind_address && !s->bind_address) || (opts->tls_cert_pem && !s->cert) ||
        (opts->tls_key_pem && !s->key)) {
        weir_error_set(err, WEIR_ENOMEM, "out of memory");
        http_server_free(s);
        return NULL;
    }
    s->opts.bind_address = s->bind_address;
    s->opts.tls_cert_pem = s->cert;
    s->opts.tls_key_pem = s->key;
    return s;
}

int http_server_route(http_server *s, const char *method, const char *pattern, http_handler_fn fn,
                      void *ud)
{
    if (s->d)
        return WEIR_ESTATE;
    if (!method || !*method || !pattern || pattern[0] != '/' || !fn)
        return WEIR_EINVAL;
    for (size_t i = 0; i < s->nroutes; i++)
        if (strcmp(s->routes[i].method, method) == 0 && strcmp(s->routes[i].pattern, pattern) == 0)
            return WEIR_EDUPLICATE;
    struct route *nr = realloc(s->routes, (s->nroutes + 1) * sizeof(*nr));
    if (!nr)
        return WEIR_ENOMEM;
    s->routes = nr;
    struct route *rt = &s->routes[s->nroutes];
    memset(rt, 0, sizeof(*rt));
    rt->method = strdup(method);
    rt->pattern = strdup(pattern);
    char *buf = strdup(pattern);
    int n = buf ? split(buf, rt->segs) : -1;
    if (!rt->method || !rt->pattern || n < 0) {
        free(rt->method);
        free(rt->pattern);
        free(buf);
        return buf ? WEIR_EINVAL : WEIR_ENOMEM;
    }
    rt->nsegs = (size_t)n; /* rt->segs point into buf until copied below */
    for (size_t i = 0; i < rt->nsegs; i++) {
        if (rt->segs[i][0] == ':' && rt->segs[i][1] == '\0') {
            free(rt->method);
            free(rt->pattern);
            free(buf);
            return WEIR_EINVAL;
        }
    }
    for (size_t i = 0; i < rt->nsegs; i++) {
        rt->segs[i] = strdup(rt->segs[i]);
        if (!rt->segs[i]) {
            for (size_t j = 0; j < i; j++)
                free(rt->segs[j]);
            free(rt->method);
            free(rt->pattern);
            free(buf);
            return WEIR_ENOMEM;
        }
    }
    free(buf);
    rt->fn = fn;
    rt->ud = ud;
    s->nroutes++;
    return 0;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    (void)fmt;
    (void)ap; /* libmicrohttpd's own messages (client resets etc.) are not ours to print */
}

int http_server_start(http_server *s, weir_error *err)
{
    if (s->d || s->stopped)
        return weir_error_set(err, WEIR_ESTATE, "http server already started");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->opts.port)};
    if (s->bind_address) {
        if (inet_pton(AF_INET, s->bind_address, &addr.sin_addr) != 1)
            return weir_error_set(err, WEIR_EINVAL, "http server: bind address '%s' is not IPv4",
                                  s->bind_address);
    } else {
        addr.sin_addr.s_addr = htonl(INADDR_ANY);
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    if (s->cert)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, s->key},
        {MHD_OPTION_END, 0, NULL},
    };
    s->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_LIMIT,
        s->opts.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, s->opts.connection_timeout,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_ARRAY,
        s->cert ? tls : (struct MHD_OptionItem[]){{MHD_OPTION_END, 0, NULL}}, MHD_OPTION_END);
    if (!s->d) {
        if (s->cert)
            return weir_error_set(err, WEIR_ETLS,
                                  "http server: cannot start on %s:%d (port in use, or the TLS "
                                  "certificate/key is not valid PEM)",
                                  s->bind_address ? s->bind_address : "0.0.0.0", s->opts.port);
        return weir_error_set(err, WEIR_EIO, "http server: cannot listen on %s:%d (port in use?)",
                              s->bind_address ? s->bind_address : "0.0.0.0", s->opts.port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : s->opts.port;
    return 0;
}

int http_server_port(const http_server *s)
{
    return s->d ? s->port : 0;
}

void http_server_stop(http_server *s, unsigned timeout_ms)
{
    if (!s || !s->d)
        return;
    MHD_socket fd = MHD_quiesce_daemon(s->d); /* no new connections from here on */
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    for (unsigned waited = 0; atomic_load(&s->inflight) > 0 && waited < timeout_ms; waited += 10)
        usleep(10000);
    MHD_stop_daemon(s->d);
    s->d = NULL;
    s->stopped = true;
}

void http_server_free(http_server *s)
{
    if (!s)
        return;
    http_server_stop(s, 0);
    for (size_t i = 0; i < s->nroutes; i++) {
        for (size_t j = 0; j < s->routes[i].nsegs; j++)
            free(s->routes[i].segs[j]);
        free(s->routes[i].method);
        free(s->routes[i].pattern);
    }
    free(s->routes);
    free(s->bind_address);
    free(s->cert);
    free(s->key);
    free(s);
}
