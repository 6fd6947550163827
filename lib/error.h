/*
 * error.h - Weir's one status convention.
 *
 * Every function that can fail returns int: 0 on success, a negative WEIR_E* code on failure.
 * weir_strerror() gives every code a message. Functions that can say more (a YAML line and
 * column, an HTTP status, a Kubernetes reason) take an optional `weir_error *` that receives a
 * human-readable message; passing NULL is always allowed.
 *
 * Layer: lib/ leaf. Depends on nothing but libc.
 */
#ifndef WEIR_ERROR_H
#define WEIR_ERROR_H

#include <stddef.h>

/* Append-only: never renumber, never reuse. Keep weir_strerror()'s table in sync. */
enum weir_status {
    WEIR_OK = 0,
    WEIR_ENOMEM = -1,        /* out of memory */
    WEIR_EINVAL = -2,        /* invalid argument */
    WEIR_EPARSE = -3,        /* malformed input (YAML, JSON, config, SQL, frame) */
    WEIR_EIO = -4,           /* I/O error (file, socket) */
    WEIR_ENOTFOUND = -5,     /* no such key, file, object or route */
    WEIR_ETYPE = -6,         /* value has the wrong type */
    WEIR_ERANGE = -7,        /* value out of range */
    WEIR_EHTTP = -8,         /* HTTP request answered with an error status */
    WEIR_ETIMEDOUT = -9,     /* operation timed out */
    WEIR_ECONNECT = -10,     /* could not connect */
    WEIR_ETLS = -11,         /* TLS / certificate problem */
    WEIR_EGONE = -12,        /* resource version too old (HTTP 410) */
    WEIR_ECONFLICT = -13,    /* conflicting write (HTTP 409) */
    WEIR_ETOOBIG = -14,      /* input exceeds a configured limit */
    WEIR_EUNSUPPORTED = -15, /* valid but not supported (yet) */
    WEIR_ECLOSED = -16,      /* stream or handle closed */
    WEIR_EDUPLICATE = -17,   /* duplicate key or name */
    WEIR_EUNIT = -18,        /* unknown unit in a duration or memory size */
    WEIR_ECANCELED = -19,    /* operation canceled by the caller */
    WEIR_EFORBIDDEN = -20,   /* not allowed (HTTP 401/403) */
    WEIR_EEXIST = -21,       /* already exists */
    WEIR_ESTATE = -22,       /* operation not valid in the current state */
    WEIR_EINTERNAL = -23,    /* internal invariant broken (a bug) */
    WEIR_ERR_LAST = -23
};

#define WEIR_ERROR_MSG_MAX 512

/* An error with a message. Callers own and embed it; zero-initialize or weir_error_clear(). */
typedef struct weir_error {
    int code;                     /* a WEIR_E* code, 0 when no error was recorded */
    int http_status;              /* HTTP status when the error came from an HTTP exchange */
    char reason[64];              /* machine-readable reason (a Kubernetes Status reason), or "" */
    char msg[WEIR_ERROR_MSG_MAX]; /* human-readable, without a trailing newline */
} weir_error;

/* Returns a static message for a status code; unknown codes give "unknown error". */
const char *weir_strerror(int code);

/* Clears `e` (no-op on NULL). */
void weir_error_clear(weir_error *e);

/*
 * Records `code` and a printf-style message in `e` (no-op on NULL), clears http_status and
 * reason, and returns `code`, so
 * error paths read `return weir_error_set(err, WEIR_EPARSE, "...")`.
 */
int weir_error_set(weir_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like weir_error_set, but prefixes the message already in `e` with a new context string. */
int weir_error_prefix(weir_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define WEIR_MUST_CHECK __attribute__((warn_unused_result))

#endif
