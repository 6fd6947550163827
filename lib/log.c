/*
 * log.c - structured, line-oriented logging (see log.h).
 *
 * Layer: lib/ leaf. Depends on libc only.
 */
#include "lib/log.h"

#include "lib/error.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 8192
#define KV_MAX         64

static _Atomic int g_level = LOG_INFO;
static _Atomic int g_format = LOG_FORMAT_KV;
static _Atomic int g_fd = 2;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void log_set_level(enum log_level level)
{
    atomic_store(&g_level, (int)level);
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load(&g_level);
}

void log_set_format(enum log_format format)
{
    atomic_store(&g_format, (int)format);
}

void log_set_fd(int fd)
{
    atomic_store(&g_fd, fd);
}

bool log_enabled(enum log_level level)
{
    return (int)level >= atomic_load(&g_level) && level < LOG_OFF;
}

int log_parse_level(const char *s, enum log_level *out)
{
    if (s == NULL)
        return WEIR_EINVAL;
    static const struct {
        const char *name;
        enum log_level level;
    } names[] = {{"debug", LOG_DEBUG}, {"trace", LOG_DEBUG},  {"info", LOG_INFO},
                 {"warn", LOG_WARN},   {"warning", LOG_WARN}, {"error", LOG_ERROR},
                 {"off", LOG_OFF}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return WEIR_EINVAL;
}

int log_parse_format(const char *s, enum log_format *out)
{
    if (s == NULL)
        return WEIR_EINVAL;
    if (strcasecmp(s, "kv") == 0 || strcasecmp(s, "text") == 0 || strcasecmp(s, "logfmt") == 0) {
        *out = LOG_FORMAT_KV;
        return 0;
    }
    if (strcasecmp(s, "json") == 0) {
        *out = LOG_FORMAT_JSON;
        return 0;
    }
    return WEIR_EINVAL;
}

/* A bounded string builder over a caller's buffer; silently truncates. */
struct sbuf {
    char *p;
    int len;
    int cap;
};

static void sb_putc(struct sbuf *b, char c)
{
    if (b->len + 1 < b->cap)
        b->p[b->len++] = c;
}

static void sb_puts(struct sbuf *b, const char *s)
{
    while (*s)
        sb_putc(b, *s++);
}

static void sb_json_string(struct sbuf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    sb_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            sb_puts(b, "\\\"");
            break;
        case '\\':
            sb_puts(b, "\\\\");
            break;
        case '\n':
            sb_puts(b, "\\n");
            break;
        case '\r':
            sb_puts(b, "\\r");
            break;
        case '\t':
            sb_puts(b, "\\t");
            break;
        default:
            if (*p < 0x20) {
                sb_puts(b, "\\u00");
                sb_putc(b, hex[*p >> 4]);
                sb_putc(b, hex[*p & 15]);
            } else {
                sb_putc(b, (char)*p);
            }
        }
    }
    sb_putc(b, '"');
}

/* A logfmt value needs quotes when empty or containing space, quote, '=' or control chars. */
static void sb_kv_value(struct sbuf *b, const char *s)
{
    bool quote = (*s == '\0');
    for (const unsigned char *p = (const unsigned char *)s; *p && !quote; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\')
            quote = true;
    if (quote)
        sb_json_string(b, s);
    else
        sb_puts(b, s);
}

static void format_ts(char *out, size_t cap, long long ts_ms)
{
    time_t secs = (time_t)(ts_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char date[32];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03dZ", date, (int)(ts_ms % 1000));
}

int log_format_line(char *buf, int cap, enum log_format format, long long ts_ms,
                    enum log_level level, const char *msg, const char *const *kv, int nkv)
{
    if (cap <= 0)
        return 0;
    struct sbuf b = {buf, 0, cap};
    char ts[40];
    format_ts(ts, sizeof(ts), ts_ms);
    const char *lvl = level_names[level <= LOG_OFF ? level : LOG_ERROR];
    if (format == LOG_FORMAT_JSON) {
        sb_puts(&b, "{\"ts\":\"");
        sb_puts(&b, ts);
        sb_puts(&b, "\",\"level\":\"");
        sb_puts(&b, lvl);
        sb_puts(&b, "\",\"msg\":");
        sb_json_string(&b, msg ? msg : "");
        for (int i = 0; i + 1 < nkv; i += 2) {
            sb_putc(&b, ',');
            sb_json_string(&b, kv[i] ? kv[i] : "");
            sb_putc(&b, ':');
            sb_json_string(&b, kv[i + 1] ? kv[i + 1] : "");
        }
        /* Never emit a truncated JSON object: close it even when the buffer ran out. */
        if (b.len + 2 > cap) {
            b.len = cap - 2 > 0 ? cap - 2 : 0;
        }
        sb_putc(&b, '}');
    } else {
        sb_puts(&b, "ts=");
        sb_puts(&b, ts);
        sb_puts(&b, " level=");
        sb_puts(&b, lvl);
        sb_puts(&b, " msg=");
        sb_kv_value(&b, msg ? msg : "");
        for (int i = 0; i + 1 < nkv; i += 2) {
            sb_putc(&b, ' ');
            sb_puts(&b, kv[i] ? kv[i] : "");
            sb_putc(&b, '=');
            sb_kv_value(&b, kv[i + 1] ? kv[i + 1] : "");
        }
    }
    buf[b.len] = '\0';
    return b.len;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void emit(enum log_level level, const char *msg, const char *const *kv, int nkv)
{
    char line[LINE_MAX_BYTES + 1];
    int n = log_format_line(line, LINE_MAX_BYTES, (enum log_format)atomic_load(&g_format), now_ms(),
                            level, msg, kv, nkv);
    line[n++] = '\n';
    int fd = atomic_load(&g_fd);
    ssize_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, line + off, (size_t)(n - off));
        if (w <= 0)
            break;
        off += w;
    }
}

void log_event(enum log_level level, const char *msg, ...)
{
    if (!log_enabled(level))
        return;
    const char *kv[KV_MAX];
    int nkv = 0;
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (key == NULL)
            break;
        const char *val = va_arg(ap, const char *);
        if (nkv + 2 <= KV_MAX) {
            kv[nkv++] = key;
            kv[nkv++] = val;
        }
    }
    va_end(ap);
    emit(level, msg, kv, nkv);
}

void log_eventf(enum log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char msg[LINE_MAX_BYTES / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    emit(level, msg, NULL, 0);
}
