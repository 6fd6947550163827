/*
 * http_server.h - an embeddable HTTP(S) server over libmicrohttpd for Weir's REST API, health,
 * metrics and (later) admission webhook endpoints.
 *
 *   http_server *s = http_server_new(&(http_server_opts){.port = 8081}, &err);
 *   http_server_route(s, "GET", "/jobs/:jobid", get_job, ctx);
 *   http_server_start(s, &err);
 *   ...
 *   http_server_stop(s, 5000);   // stop accepting, let running requests finish
 *   http_server_free(s);
 *
 * Routing: patterns are '/'-separated segments; ":name" matches any one segment and is read
 * with http_request_param(). A literal segment beats a parameter at the same position. An
 * unknown path answers 404, a known path with another method 405 with an Allow header; both,
 * and every error made with http_response_error(), carry Flink REST's body
 * {"errors": ["..."]}. Bodies over the size limit answer 413 without reaching a handler.
 *
 * Threads: one thread per connection (up to max_connections), so a slow handler never delays
 * another connection. Handlers run concurrently and must be thread-safe.
 *
 * Layer: lib/. Depends on libmicrohttpd, jansson, lib/error, lib/log.
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
    const char *bind_address;    /* IPv4 address to bind; NULL: all interfaces */
    int port;                    /* 0: an ephemeral port (see http_server_port()) */
    size_t max_body_bytes;       /* request body limit; 0: 1 MiB */
    unsigned max_connections;    /* 0: 128 */
    unsigned connection_timeout; /* idle seconds before a connection is closed; 0: 60 */
    const char *tls_cert_pem;    /* PEM certificate (chain): serve HTTPS when set with the key */
    const char *tls_key_pem;     /* PEM private key */
} http_server_opts;

/* Receives a request. `req` is borrowed for the call; fill `resp` (default: 204, no body). */
typedef void (*http_handler_fn)(const http_request *req, http_response *resp, void *userdata);

/* A server (not yet listening). Strings are copied. NULL and `err` filled on bad options.
 * Caller frees with http_server_free(). */
http_server *http_server_new(const http_server_opts *opts, weir_error *err);

/*
 * Adds a route before http_server_start(). `method` e.g. "GET"; `pattern` starts with '/'.
 * Returns WEIR_EINVAL for a malformed pattern, WEIR_EDUPLICATE when the same method and
 * pattern is already routed, WEIR_ESTATE once started.
 */
int http_server_route(http_server *s, const char *method, const char *pattern, http_handler_fn fn,
                      void *userdata) WEIR_MUST_CHECK;

/* Binds and starts serving. Returns WEIR_EIO (e.g. port in use) or WEIR_ETLS with `err`. */
int http_server_start(http_server *s, weir_error *err) WEIR_MUST_CHECK;

/* The bound port (after start), or 0. */
int http_server_port(const http_server *s);

/*
 * Graceful stop: stops accepting connections, waits up to `timeout_ms` for requests being
 * handled to finish, then closes every connection. Safe to call twice or before start.
 */
void http_server_stop(http_server *s, unsigned timeout_ms);

/* Stops (without waiting) if still running and frees the server. NULL is a no-op. */
void http_server_free(http_server *s);

/* --- inside a handler (all strings borrowed for the duration of the call) ---------------- */

const char *http_request_method(const http_request *r);
/* The decoded path, without the query string. */
const char *http_request_path(const http_request *r);
/* The value of a ":name" path parameter, or NULL. */
const char *http_request_param(const http_request *r, const char *name);
/* A query-string argument, or NULL. */
const char *http_request_query(const http_request *r, const char *name);
/* A request header (case-insensitive name), or NULL. */
const char *http_request_header(const http_request *r, const char *name);
/* The request body (NUL-terminated; "" when none); `len` (may be NULL) gets its length. */
const char *http_request_body(const http_request *r, size_t *len);
/* Parses the body as JSON. On failure fills `resp` with 400 and a message and returns NULL.
 * Caller json_decref()s the result. */
json_t *http_request_json(const http_request *r, http_response *resp);

/* Sets status, content type and a body (copied). */
void http_response_set(http_response *resp, int status, const char *content_type, const char *body,
                       size_t len);
/* Sets status and a compact JSON body; takes ownership of `v`. */
void http_response_json(http_response *resp, int status, json_t *v);
/* Sets status and {"errors": ["<message>"]}. */
void http_response_error(http_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds a response header (copied). */
void http_response_header(http_response *resp, const char *name, const char *value);

#endif
