/*
 * error.c - messages for Weir's status codes and the weir_error helpers.
 *
 * Layer: lib/ leaf. Depends on nothing but libc.
 */
#include "lib/error.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const messages[] = {
    "success",
    "out of memory",
    "invalid argument",
    "malformed input",
    "I/O error",
    "not found",
    "wrong type",
    "value out of range",
    "HTTP error",
    "timed out",
    "could not connect",
    "TLS error",
    "resource version too old (gone)",
    "conflict",
    "too large",
    "not supported",
    "closed",
    "duplicate",
    "unknown unit",
    "canceled",
    "forbidden",
    "already exists",
    "invalid state",
    "internal error",
};

static_assert(sizeof(messages) / sizeof(messages[0]) == (size_t)(-WEIR_ERR_LAST) + 1,
              "weir_strerror table must cover every status code");

const char *weir_strerror(int code)
{
    if (code > 0 || code < WEIR_ERR_LAST)
        return "unknown error";
    return messages[-code];
}

void weir_error_clear(weir_error *e)
{
    if (e == NULL)
        return;
    e->code = 0;
    e->http_status = 0;
    e->reason[0] = '\0';
    e->msg[0] = '\0';
}

int weir_error_set(weir_error *e, int code, const char *fmt, ...)
{
    if (e == NULL)
        return code;
    e->code = code;
    e->http_status = 0;
    e->reason[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return code;
}

int weir_error_prefix(weir_error *e, const char *fmt, ...)
{
    if (e == NULL)
        return WEIR_EINVAL;
    char prefix[WEIR_ERROR_MSG_MAX];
    char old[WEIR_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof(old));
    if (old[0] != '\0')
        snprintf(e->msg, sizeof(e->msg), "%s: %s", prefix, old);
    else
        snprintf(e->msg, sizeof(e->msg), "%s", prefix);
    return e->code;
}
