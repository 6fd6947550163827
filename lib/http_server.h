/*
 * http_server.h - an embeddable HTTP(S) server over libmicrohttpd for Weir's REST API, health,
 * metrics and (later) admission webhook endpoints.
 *
 *   http_server *s = http_server_new(&(http_server_opts){.port = 8081}, &err);
 *   http_server_route(s, "GET", "/jobs/:jobid/savepoints/:triggerid", get_savepoint, ctx);
 *   http_server_start(s, &err);
 *   ...
 *   http_server_stop(s, 5000);   // stop accepting, let running requests finish
 *   http_server_free(s);
 *
 * Routing: patterns are '/'-separated segments; ":name" matches any one non-empty segment and
 * is read with http_request_param(). At each position a literal segment beats a parameter
 * (the leftmost difference decides). Empty segments are ignored ("/a//b/" is "/a/b"). The path
 * is percent-decoded by libmicrohttpd before it is split, so "%2F" acts as a separator. HEAD is
 * answered by the GET route when no HEAD route exists (libmicrohttpd drops the body).
 *
 * Errors: an unknown path answers 404, a known path with another method 405 with an Allow
 * header; both, and every error made with http_response_error(), carry Flink REST's body
 * {"errors": ["..."]}. Bodies over max_body_bytes answer 413 without reaching a handler (early
 * when Content-Length says so, otherwise once the limit is crossed).
 *
 * Threads: with thread_pool_size 0 (the default) every connection gets its own thread (up to
 * max_connections), so a slow handler delays nobody else. With thread_pool_size N, N worker
 * threads share all connections and a slow handler delays the other connections of its worker.
 * Either way handlers run concurrently on libmicrohttpd's threads: a handler and its userdata
 * must be thread-safe, and must not call http_server_stop()/http_server_free() on their own
 * server (that would wait for themselves). The http_server_* calls below are for one owning
 * thread; http_server_port() may be called from anywhere once started.
 *
 * Layer: lib/. Depends on libmicrohttpd, jansson, lib/error, lib/log; knows nothing of
 * operator/ or runtime/.
 */
#ifndef WEIR_HTTP_SERVER_H
#define WEIR_HTTP_SERVER_H

#include <jansson.h>
#include <stddef.h>

#include "lib/error.h"

typedef struct http_server http_server;
typedef struct http_request http_request;
typedef struct http_response http_response;

typedef struct http_server_opts {
    const char *bind_address;    /* IPv4 or IPv6 literal; NULL: all IPv4 interfaces */
    int port;                    /* 0: an ephemeral port (see http_server_port()) */
    unsigned thread_pool_size;   /* 0: one thread per connection; N: N shared worker threads */
    size_t max_body_bytes;       /* request body limit; 0: 1 MiB */
    unsigned max_connections;    /* 0: 128 */
    unsigned connection_timeout; /* idle seconds before a connection is closed; 0: 60 */
    const char *tls_cert_pem;    /* PEM certificate (chain): serve HTTPS when set with the key */
    const char *tls_key_pem;     /* PEM private key (unencrypted) */
} http_server_opts;

/* Handles one request. `req` is borrowed for the call; fill `resp` (default: 204, no body).
 * Runs on a libmicrohttpd thread (see "Threads" above). */
typedef void (*http_handler_fn)(const http_request *req, http_response *resp, void *userdata);

/*
 * A server, not yet listening. `opts` may be NULL (all defaults); its strings are copied.
 * Returns NULL with `err` filled on invalid options (port out of range, a certificate without
 * a key) or when out of memory. Caller frees with http_server_free().
 */
http_server *http_server_new(const http_server_opts *opts, weir_error *err);

/*
 * Adds a route before http_server_start(). `method` e.g. "GET"; `pattern` starts with '/'.
 * Strings are copied; `userdata` is borrowed and must outlive the server.
 * Returns WEIR_EINVAL for a malformed pattern (no leading '/', an empty ":" name, a repeated
 * parameter name, more than 32 segments or 8 parameters), WEIR_EDUPLICATE when the method
 * already has a route of the same shape ("/jobs/:a" and "/jobs/:b" are the same shape),
 * WEIR_ESTATE once started, WEIR_ENOMEM.
 */
int http_server_route(http_server *s, const char *method, const char *pattern, http_handler_fn fn,
                      void *userdata) WEIR_MUST_CHECK;

/*
 * Binds and starts serving. Returns WEIR_EINVAL (bad bind address), WEIR_EIO (e.g. port in
 * use), WEIR_ETLS (certificate or key rejected, or port in use with TLS) with `err` filled,
 * or WEIR_ESTATE when already started or stopped (a server starts once).
 */
int http_server_start(http_server *s, weir_error *err) WEIR_MUST_CHECK;

/* The bound port (the real one when opts.port was 0) while serving, else 0. */
int http_server_port(const http_server *s);

/*
 * Graceful stop: stops accepting connections at once, waits up to `timeout_ms` for requests
 * already received to be answered (responses say "Connection: close" meanwhile; idle
 * keep-alive connections do not hold the stop), then closes every connection and joins
 * libmicrohttpd's threads. A handler still running after the timeout cannot be interrupted:
 * the join waits for it to return. Safe to call twice or before start. `s` stays owned by the
 * caller (free it with http_server_free()).
 */
void http_server_stop(http_server *s, unsigned timeout_ms);

/* Stops (without a grace period) if still running and frees the server. NULL is a no-op. */
void http_server_free(http_server *s);

/* --- inside a handler: every string is borrowed; valid until the handler returns --------- */

const char *http_request_method(const http_request *r);
/* The decoded path, without the query string. */
const char *http_request_path(const http_request *r);
/* The value of the ":name" path parameter of the matched route, or NULL. */
const char *http_request_param(const http_request *r, const char *name);
/* A decoded query-string argument (the first when repeated), "" for "?name" without '=', or
 * NULL when absent. */
const char *http_request_query(const http_request *r, const char *name);
/* A request header (case-insensitive name), or NULL. */
const char *http_request_header(const http_request *r, const char *name);
/* The request body, fully buffered (NUL-terminated; "" when none); `len` (may be NULL) gets
 * its length, which counts embedded NULs. */
const char *http_request_body(const http_request *r, size_t *len);
/* Parses the body as JSON. On failure fills `resp` with 400 and a message and returns NULL.
 * Caller json_decref()s the result. */
json_t *http_request_json(const http_request *r, http_response *resp);

/* Sets status, content type and body, replacing earlier ones; `content_type` and `body` are
 * copied (`body` may be NULL when `len` is 0). Out of memory turns the response into a 500. */
void http_response_set(http_response *resp, int status, const char *content_type, const char *body,
                       size_t len);
/* Sets status and a compact JSON body ("application/json"); takes ownership of `v` (NULL
 * gives a 500). */
void http_response_json(http_response *resp, int status, json_t *v);
/* Sets status and a "text/plain; charset=utf-8" body; `text` is copied. */
void http_response_text(http_response *resp, int status, const char *text);
/* Sets status and {"errors": ["<message>"]} (message truncated at 1 KiB). */
void http_response_error(http_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds a response header; `name` and `value` are copied. Content-Type is set through the
 * functions above, not here. Returns WEIR_EINVAL for a name or value with CR/LF or an empty
 * name, WEIR_ETOOBIG beyond 32 headers, WEIR_ENOMEM. */
int http_response_header(http_response *resp, const char *name, const char *value);

#endif
