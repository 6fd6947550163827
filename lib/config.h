/*
 * config.h - Flink-style configuration: a flat map from dotted keys to string values, like
 * Apache Flink's Configuration. Filled from `config.yaml` (standard YAML via libyaml; nested
 * maps are flattened with '.', flat and nested keys may be mixed), the legacy
 * `flink-conf.yaml` line format, `-Dkey=value` arguments and the FLINK_PROPERTIES environment
 * variable; read through typed getters that parse values the way Flink does:
 *
 *   durations   "60 s", "1 min", "500ms", "2 h", "3 d", "100" (= ms)   -> milliseconds
 *   memory      "2048m", "1g", "1 gb", "512 kb", "100" (= bytes)       -> bytes (powers of 1024)
 *   booleans    true/false (any case); 64-bit ints; doubles; enums (any case)
 *   lists       "a;b;c" ('quoted;items' allowed) or a YAML sequence (stored ';'-joined)
 *   maps        "k1:v1,k2:v2", or a YAML map under the key (stored flattened as key.k1)
 *
 * Every entry remembers where it came from ("config.yaml:3:15" = file, line and column of its
 * value, 1-based; "<string>" for YAML loaded without a name; "-D"; ...), so getter errors read
 *
 *   config.yaml:3:15: key 'execution.checkpointing.interval': unknown duration unit 'mins2' ...
 *
 * (the key's own position is what duplicate-key errors name).
 *
 * Not thread-safe: callers lock around writes.
 *
 * Layer: lib/. Depends on libyaml, lib/strmap, lib/error, lib/log; nothing in operator/ or
 * runtime/.
 */
#ifndef WEIR_CONFIG_H
#define WEIR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

typedef struct config config;

/* An empty configuration. NULL when out of memory. Caller frees with config_free(). */
config *config_new(void);

/* Frees the configuration and everything it owns. config_free(NULL) does nothing. */
void config_free(config *c);

/* A deep copy. NULL when out of memory. Caller frees with config_free(). */
config *config_clone(const config *c);

/*
 * Sets `key` to `value`, replacing any previous value. Copies key, value and `origin` (where
 * the value came from, e.g. "-D" or "config.yaml:3:5"; NULL means "set by code").
 * WEIR_EINVAL for a NULL/empty key or NULL value, WEIR_ENOMEM (then nothing changed).
 */
int config_set(config *c, const char *key, const char *value, const char *origin) WEIR_MUST_CHECK;

/* Removes `key`. Returns 0, or WEIR_ENOTFOUND. */
int config_remove(config *c, const char *key);

/* The raw value of `key`, or NULL. Borrowed: valid until the key is set or removed. */
const char *config_get(const config *c, const char *key);

/* Where `key`'s value came from ("(set by code)" when set without an origin), or NULL when
 * unset. Borrowed like config_get(). */
const char *config_origin(const config *c, const char *key);

/* True when `key` has a value. */
bool config_has(const config *c, const char *key);

/* Number of keys. */
size_t config_len(const config *c);

/* The keys, sorted (strcmp), as a NULL-terminated array. The strings are borrowed (valid until
 * the configuration changes); the caller frees the array itself with free(). NULL when out of
 * memory. */
const char **config_keys(const config *c);

/*
 * Calls fn(key, value, origin, ud) for every entry in sorted key order (origin NULL when set
 * by code); stops at the first non-zero return and returns it. All strings are borrowed for
 * the call; `fn` must not change `c`. WEIR_ENOMEM when the key list cannot be built.
 */
int config_foreach(const config *c,
                   int (*fn)(const char *key, const char *value, const char *origin, void *ud),
                   void *ud);

/* Copies every entry of `src` (values and origins) onto `dst`; src wins. `src` is only read. */
int config_merge(config *dst, const config *src) WEIR_MUST_CHECK;

/* --- loading: every loader applies all of its input or, on error, nothing ------------------ */

/*
 * Loads standard YAML (`config.yaml`) from `text` (`len` bytes, need not be NUL-terminated).
 * `source` names the input in positions (NULL: "<string>"). Nested maps are flattened with
 * '.', sequences of scalars become ';'-joined lists (items with ';' or quotes are quoted as
 * Flink does), null values are skipped. Errors, each "source:line:col: ..." naming the key
 * when known: invalid YAML or a second document (WEIR_EPARSE), a key given twice, also as
 * `a.b` and `a: {b:}` (WEIR_EDUPLICATE, naming both positions), a non-scalar where a scalar is
 * expected (WEIR_ETYPE), alias expansion or nesting beyond the caps (WEIR_ETOOBIG).
 */
int config_load_yaml(config *c, const char *text, size_t len, const char *source,
                     weir_error *err) WEIR_MUST_CHECK;

/*
 * Loads the legacy `flink-conf.yaml` line format as Flink's legacy parser does: '#' starts a
 * comment, each other non-blank line is split at the first ": ", key and value trimmed. Lines
 * Flink skips (no ": ", empty key or value) are skipped with a warning naming `source` and
 * the line; a later duplicate wins. `source` NULL means "flink-conf.yaml"; origins are
 * "source:line:col" of the value. Fails only for a NUL byte (WEIR_EPARSE) or out of memory.
 */
int config_load_legacy(config *c, const char *text, size_t len, const char *source,
                       weir_error *err) WEIR_MUST_CHECK;

/* Reads `path` and loads it with config_load_legacy() when its file name is
 * "flink-conf.yaml", else with config_load_yaml(). WEIR_ENOTFOUND, WEIR_EIO, WEIR_ETOOBIG
 * (over 16 MiB), or the loader's errors. */
int config_load_file(config *c, const char *path, weir_error *err) WEIR_MUST_CHECK;

/* Loads a Flink configuration directory: `config.yaml` if present, else `flink-conf.yaml`,
 * else WEIR_ENOTFOUND. */
int config_load_dir(config *c, const char *dir, weir_error *err) WEIR_MUST_CHECK;

/* Applies FLINK_PROPERTIES content (NUL-terminated; NULL does nothing): newline-separated
 * "key: value" lines read like flink-conf.yaml, as the Flink image's entrypoint appends them
 * to the configuration. Origins are "FLINK_PROPERTIES:line:col". */
int config_load_properties(config *c, const char *text, weir_error *err) WEIR_MUST_CHECK;

/* Applies one dynamic property "key=value" (the argument of -D; split at the first '=', key
 * trimmed, value kept as given; origin "-D"). WEIR_EINVAL without '=' or with an empty key. */
int config_set_dynamic(config *c, const char *kv, weir_error *err) WEIR_MUST_CHECK;

/*
 * Takes `-Dkey=value` and `-D key=value` out of argv (in place: *argc shrinks and the freed
 * slots become NULL), applying them in order (later wins). Other arguments keep their order.
 * The argv strings stay the caller's. A -D without "=" or at the end is WEIR_EINVAL; argv is
 * then left partly compacted and the properties before the bad one stay applied.
 */
int config_parse_args(config *c, int *argc, char **argv, weir_error *err) WEIR_MUST_CHECK;

/*
 * --- typed getters ---------------------------------------------------------------------------
 * When the key is unset, *out gets `def` and the result is 0. On a malformed value *out gets
 * `def`, the result is a WEIR_E* code and `err` (may be NULL) says
 * "<origin>: key '<key>': <what is wrong>". Lists and maps are caller-freed copies.
 */

/* The value, or `def` when unset (cannot fail). Borrowed like config_get(). */
const char *config_get_string(const config *c, const char *key, const char *def);
/* A decimal 64-bit integer (surrounding spaces and a sign allowed). WEIR_ETYPE, WEIR_ERANGE. */
int config_get_int(const config *c, const char *key, long long def, long long *out,
                   weir_error *err) WEIR_MUST_CHECK;
/* Like config_get_int, and WEIR_ERANGE outside [min, max]. */
int config_get_int_in(const config *c, const char *key, long long def, long long min, long long max,
                      long long *out, weir_error *err) WEIR_MUST_CHECK;
/* A finite double. WEIR_ETYPE, WEIR_ERANGE. */
int config_get_double(const config *c, const char *key, double def, double *out,
                      weir_error *err) WEIR_MUST_CHECK;
/* "true" or "false", any case, surrounding spaces allowed. WEIR_ETYPE otherwise. */
int config_get_bool(const config *c, const char *key, bool def, bool *out,
                    weir_error *err) WEIR_MUST_CHECK;
/* Flink TimeUtils syntax (config_parse_duration_ms), in milliseconds. WEIR_EPARSE, WEIR_EUNIT
 * (naming the unit), WEIR_ERANGE. */
int config_get_duration_ms(const config *c, const char *key, long long def, long long *out,
                           weir_error *err) WEIR_MUST_CHECK;
/* Flink MemorySize syntax (config_parse_memory), in bytes. WEIR_EPARSE, WEIR_EUNIT,
 * WEIR_ERANGE. */
int config_get_memory_bytes(const config *c, const char *key, unsigned long long def,
                            unsigned long long *out, weir_error *err) WEIR_MUST_CHECK;
/* The same as config_get_memory_bytes (the earlier name). */
int config_get_memory(const config *c, const char *key, unsigned long long def,
                      unsigned long long *out, weir_error *err) WEIR_MUST_CHECK;
/* `names` is NULL-terminated; matching ignores case and treats '-' and '_' alike. *out is the
 * index of the match (or `def`). WEIR_EINVAL, listing the allowed names. */
int config_get_enum(const config *c, const char *key, const char *const *names, int def, int *out,
                    weir_error *err) WEIR_MUST_CHECK;

/* A list value ("a;b;c", items trimmed; an item that is 'single' or "double" quoted may contain
 * ';', a doubled quote inside quotes is one quote) as a NULL-terminated array; "" is the empty
 * list; *out NULL when unset. WEIR_EPARSE for an unclosed quote. Caller frees *out with
 * config_strv_free(). */
int config_get_list(const config *c, const char *key, char ***out, weir_error *err) WEIR_MUST_CHECK;

/* A map value as a NULL-terminated array alternating key, value. From "k1:v1,k2:v2" (split at
 * the first ':' of each entry, quoting as for lists) when `key` itself is set, else from the
 * flattened entries "key.k1", "key.k2", ... (sorted); *out NULL when neither exists.
 * WEIR_EPARSE for an entry without ':' or an unclosed quote. Caller frees *out with
 * config_strv_free(). */
int config_get_map(const config *c, const char *key, char ***out, weir_error *err) WEIR_MUST_CHECK;

/* Frees a NULL-terminated string array from config_get_list/map. NULL does nothing. */
void config_strv_free(char **v);

/* --- the value parsers, for callers with a string in hand ----------------------------------- */

/* Flink TimeUtils syntax: digits, optional spaces, optional unit (any case): ns/nano(s)/
 * nanosecond(s), us/µs/micro(s)/microsecond(s), ms/milli(s)/millisecond(s), s/sec(s)/
 * second(s), m/min/minute(s), h/hour(s), d/day(s); a bare number is milliseconds;
 * sub-millisecond results round down. WEIR_EPARSE (no number), WEIR_EUNIT, WEIR_ERANGE. */
int config_parse_duration_ms(const char *s, long long *out) WEIR_MUST_CHECK;

/* Flink MemorySize syntax: digits, optional spaces, optional unit (any case): b/bytes,
 * k/kb/kibibytes, m/mb/mebibytes, g/gb/gibibytes, t/tb/tebibytes (powers of 1024); a bare
 * number is bytes; at most LLONG_MAX as in Flink. WEIR_EPARSE, WEIR_EUNIT, WEIR_ERANGE. */
int config_parse_memory(const char *s, unsigned long long *out) WEIR_MUST_CHECK;

#endif
