/*
 * log.h - structured logging: one line per event, key=value or JSON, with timestamps.
 *
 * An event is a message plus key/value string pairs; the log_* macros add the terminating NULL:
 *
 *     log_info("watch restarted", "kind", "FlinkDeployment", "reason", "410 Gone");
 *
 * prints (format "kv", the default)
 *
 *     ts=2026-11-23T10:00:00.123Z level=info msg="watch restarted" kind=FlinkDeployment ...
 *
 * or (format "json") {"ts":"...","level":"info","msg":"watch restarted","kind":...}.
 * Each event is written with a single write(2), so lines from threads never interleave.
 * The logger is process-global; configure it once at startup before starting threads.
 *
 * Layer: lib/ leaf. Depends on libc only.
 */
#ifndef WEIR_LOG_H
#define WEIR_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3, LOG_OFF = 4 };
enum log_format { LOG_FORMAT_KV = 0, LOG_FORMAT_JSON = 1 };

/* Sets the minimum level printed (default LOG_INFO). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Sets the line format (default LOG_FORMAT_KV). */
void log_set_format(enum log_format format);

/* Sets the output file descriptor (default 2, stderr). */
void log_set_fd(int fd);

/*
 * Parses "debug"/"info"/"warn"/"warning"/"error"/"off" (case-insensitive).
 * Returns 0 and sets *out, or WEIR_EINVAL.
 */
int log_parse_level(const char *s, enum log_level *out);

/* Parses "kv"/"text"/"logfmt" or "json". Returns 0 and sets *out, or WEIR_EINVAL. */
int log_parse_format(const char *s, enum log_format *out);

/* True when an event of `level` would be printed. */
bool log_enabled(enum log_level level);

/*
 * Logs `msg` with key/value pairs (const char *key, const char *value, ..., NULL).
 * A NULL value prints as an empty string. Long lines are truncated at 8 KiB.
 */
void log_event(enum log_level level, const char *msg, ...) __attribute__((sentinel));

/* Logs a printf-formatted message without key/value pairs. */
void log_eventf(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Formats one event into `buf` (no trailing newline) exactly as log_event would print it, with
 * the given timestamp in milliseconds since the epoch. Returns the length written (truncated to
 * cap-1). Exposed for tests and for callers that ship lines elsewhere.
 */
int log_format_line(char *buf, int cap, enum log_format format, long long ts_ms,
                    enum log_level level, const char *msg, const char *const *kv, int nkv);

#define log_debug(...) log_event(LOG_DEBUG, __VA_ARGS__, (const char *)NULL)
#define log_info(...)  log_event(LOG_INFO, __VA_ARGS__, (const char *)NULL)
#define log_warn(...)  log_event(LOG_WARN, __VA_ARGS__, (const char *)NULL)
#define log_error(...) log_event(LOG_ERROR, __VA_ARGS__, (const char *)NULL)

#endif
