/*
 * http_client.h - an HTTP(S) client over libcurl for the Kubernetes API, Flink's REST API and
 * anything else Weir talks to.
 *
 * One http_client holds the TLS material (CA, client certificate, bearer token) and a pool of
 * libcurl handles, so connections are reused across requests and threads. Requests are
 * synchronous and thread-safe; streaming requests (watches) deliver the body in chunks to a
 * callback and can be cancelled from another thread.
 *
 * Errors: a request answered with status >= 400 fails with a code derived from the status
 * (404 WEIR_ENOTFOUND, 409 WEIR_ECONFLICT, 410 WEIR_EGONE, 401/403 WEIR_EFORBIDDEN, 413
 * WEIR_ETOOBIG, others WEIR_EHTTP); err->http_status keeps the status, err->msg the start of the
 * body, and the full body stays in the response. Transport failures map to WEIR_ECONNECT,
 * WEIR_ETIMEDOUT, WEIR_ETLS, WEIR_ETOOBIG (response over the size cap), WEIR_ECANCELED.
 *
 * Layer: lib/. Depends on libcurl and lib/error.
 */
#ifndef WEIR_HTTP_CLIENT_H
#define WEIR_HTTP_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

typedef struct http_client http_client;

/* Client options. Strings are copied by http_client_new(); NULL means "not set". */
typedef struct http_client_opts {
    const char *ca_data;         /* PEM CA bundle to trust instead of the system store */
    const char *ca_file;         /* PEM CA bundle file */
    const char *cert_data;       /* PEM client certificate */
    const char *cert_file;       /* PEM client certificate file */
    const char *key_data;        /* PEM client key */
    const char *key_file;        /* PEM client key file */
    const char *bearer_token;    /* sent as "Authorization: Bearer ..." */
    const char *tls_server_name; /* expected server name when it differs from the URL host */
    bool insecure_skip_verify;   /* do not verify the server certificate (kubeconfig option) */
    long connect_timeout_ms;     /* 0: 10 s */
    long timeout_ms;             /* whole-request timeout for non-streaming requests; 0: 30 s */
    size_t max_response_bytes;   /* cap for buffered responses; 0: 64 MiB */
    const char *user_agent;      /* 0: "weir/<version>" */
} http_client_opts;

/* One request. `headers` is a NULL-terminated array of "Name: value" strings (may be NULL). */
typedef struct http_client_req {
    const char *method; /* "GET", "POST", "PUT", "PATCH", "DELETE"; NULL means GET */
    const char *url;
    const char *const *headers;
    const char *body; /* request body (may be NULL) */
    size_t body_len;
    long timeout_ms;      /* overrides the client's timeout; < 0 disables it (streams) */
    long idle_timeout_ms; /* streams: fail with WEIR_ETIMEDOUT after this long without data */
    /* Streams: set to true from any thread to end the request with WEIR_ECANCELED. */
    const atomic_bool *cancel;
} http_client_req;

/* A buffered response. Zero-initialize; release with http_client_response_clear(). */
typedef struct http_client_response {
    long status;        /* HTTP status, 0 when no response arrived */
    char *body;         /* NUL-terminated body (owned), NULL when empty */
    size_t body_len;    /* bytes in body, not counting the NUL */
    char *content_type; /* owned copy of Content-Type, or NULL */
} http_client_response;

/*
 * Creates a client. Returns NULL and fills `err` when an option is invalid (e.g. unreadable
 * file) or memory runs out. Caller frees with http_client_free().
 */
http_client *http_client_new(const http_client_opts *opts, weir_error *err);

/* Frees the client and its pooled connections. No request may be running. NULL is a no-op. */
void http_client_free(http_client *c);

/* Replaces the bearer token (e.g. a rotated service-account token). Thread-safe. */
int http_client_set_bearer(http_client *c, const char *token) WEIR_MUST_CHECK;

/*
 * Sends `req` and buffers the response in `resp` (cleared first). Returns 0 for statuses below
 * 400. For statuses >= 400 returns the mapped error code, with `resp` still holding the status
 * and body. Thread-safe.
 */
int http_client_do(http_client *c, const http_client_req *req, http_client_response *resp,
                   weir_error *err) WEIR_MUST_CHECK;

/*
 * Receives body chunks of a streaming response. Return 0 to continue, non-zero to stop the
 * stream (http_client_stream() then returns WEIR_ECANCELED). `data` is borrowed for the call.
 */
typedef int (*http_client_chunk_fn)(const char *data, size_t len, void *userdata);

/*
 * Sends `req` and delivers a 2xx response's body to `on_chunk` as it arrives, until the server
 * ends it, the idle timeout fires, or it is cancelled. A status >= 400 is not streamed: its
 * body (first 4 KiB) goes into `resp` and err->msg, and the mapped code is returned. `resp`
 * (may be NULL; cleared first) receives the status and such an error body. Returns 0 when the
 * server ended the stream normally.
 */
int http_client_stream(http_client *c, const http_client_req *req, http_client_chunk_fn on_chunk,
                       void *userdata, http_client_response *resp, weir_error *err) WEIR_MUST_CHECK;

/* Frees what `resp` owns and zeroes it. */
void http_client_response_clear(http_client_response *resp);

/* The WEIR_E* code for an HTTP status >= 400 (0 below 400). */
int http_client_status_code(long status);

/* Number of TCP connections the client has opened so far (for tests and metrics). */
long http_client_connections_opened(http_client *c);

#endif
