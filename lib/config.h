/*
 * config.h - Flink-style configuration: a map from dotted keys to string values, filled from
 * `config.yaml` (standard YAML, nested or flat keys), legacy `flink-conf.yaml` (`key: value`
 * lines), `-Dkey=value` arguments and the FLINK_PROPERTIES environment variable, and read
 * through typed getters that parse values the way Apache Flink does:
 *
 *   durations   "60 s", "1 min", "500ms", "2 h", "3 d", "100" (ms)     -> milliseconds
 *   memory      "2048m", "1g", "1 gb", "512 kb", "100" (bytes)          -> bytes (powers of 1024)
 *   booleans    true/false (any case); ints; enums (any case); lists "a;b;c" or a YAML list;
 *   maps        "k1:v1,k2:v2", a YAML map, or flattened "key.k1: v1" entries
 *
 * Every entry remembers where it came from, so an error names the key and, for YAML, the
 * file, line and column:  config.yaml:3:33: key 'execution.checkpointing.interval': unknown
 * duration unit 'mins2' (use ms, s, min, h or d)
 *
 * Layer: lib/. Depends on libyaml, lib/strmap, lib/error, lib/log.
 */
#ifndef WEIR_CONFIG_H
#define WEIR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

typedef struct config config;

/* An empty configuration. NULL when out of memory. Caller frees with config_free(). */
config *config_new(void);

/* Frees the configuration. NULL is a no-op. */
void config_free(config *c);

/* A deep copy. NULL when out of memory. Caller frees with config_free(). */
config *config_clone(const config *c);

/*
 * Sets `key` to `value` (both copied), remembering `origin` (copied; e.g. "-D",
 * "FLINK_PROPERTIES", "config.yaml:3:5"; NULL means "set by code").
 */
int config_set(config *c, const char *key, const char *value, const char *origin) WEIR_MUST_CHECK;

/* Removes `key`. Returns 0, or WEIR_ENOTFOUND. */
int config_remove(config *c, const char *key);

/* The raw value of `key`, or NULL. Borrowed: valid until the key is set or removed. */
const char *config_get(const config *c, const char *key);

/* Where `key`'s value came from, or NULL when unset. Borrowed like config_get(). */
const char *config_origin(const config *c, const char *key);

bool config_has(const config *c, const char *key);
size_t config_len(const config *c);

/* The keys, sorted, as a NULL-terminated array of borrowed strings. Caller frees the array
 * (only) with free(). NULL when out of memory. */
const char **config_keys(const config *c);

/* Copies every entry of `src` into `dst` (src wins). */
int config_merge(config *dst, const config *src) WEIR_MUST_CHECK;

/* --- loading ------------------------------------------------------------------------------- */

/*
 * Loads standard YAML (`config.yaml`): nested maps are flattened with '.', lists of scalars
 * become ';'-separated values, null values are skipped. A key given twice (also as
 * `a.b` and `a: {b:}`) is WEIR_EDUPLICATE; YAML syntax errors are WEIR_EPARSE; both name
 * `source` (e.g. the path) with line and column. Nothing is changed on error.
 */
int config_load_yaml(config *c, const char *text, size_t len, const char *source,
                     weir_error *err) WEIR_MUST_CHECK;

/*
 * Loads the legacy `flink-conf.yaml` line format as Flink does: '#' starts a comment, each
 * other non-blank line is split at the first ": ". Lines Flink would skip (no ": ", empty
 * key or value) are skipped with a warning naming `source` and the line; a later duplicate
 * wins.
 */
int config_load_legacy(config *c, const char *text, size_t len, const char *source,
                       weir_error *err) WEIR_MUST_CHECK;

/* Reads a file and loads it with config_load_yaml(), or config_load_legacy() when the file's
 * name is "flink-conf.yaml". */
int config_load_file(config *c, const char *path, weir_error *err) WEIR_MUST_CHECK;

/* Loads a Flink configuration directory: `config.yaml` if present, else `flink-conf.yaml`,
 * else nothing (WEIR_ENOTFOUND). */
int config_load_dir(config *c, const char *dir, weir_error *err) WEIR_MUST_CHECK;

/* Applies FLINK_PROPERTIES content: "key: value" lines, read like flink-conf.yaml (the Flink
 * image's entrypoint appends them to the configuration file). */
int config_load_properties(config *c, const char *text, weir_error *err) WEIR_MUST_CHECK;

/* Applies one dynamic property "key=value" (the argument of -D). */
int config_set_dynamic(config *c, const char *kv, weir_error *err) WEIR_MUST_CHECK;

/*
 * Takes `-Dkey=value` and `-D key=value` out of argv (in place; *argc shrinks), applying them
 * in order. Other arguments keep their order. A -D without "=" is WEIR_EINVAL.
 */
int config_parse_args(config *c, int *argc, char **argv, weir_error *err) WEIR_MUST_CHECK;

/* --- typed getters: *out gets `def` when the key is unset ----------------------------------- */

const char *config_get_string(const config *c, const char *key, const char *def);
int config_get_int(const config *c, const char *key, long long def, long long *out,
                   weir_error *err) WEIR_MUST_CHECK;
int config_get_double(const config *c, const char *key, double def, double *out,
                      weir_error *err) WEIR_MUST_CHECK;
int config_get_bool(const config *c, const char *key, bool def, bool *out,
                    weir_error *err) WEIR_MUST_CHECK;
int config_get_duration_ms(const config *c, const char *key, long long def, long long *out,
                           weir_error *err) WEIR_MUST_CHECK;
int config_get_memory(const config *c, const char *key, unsigned long long def,
                      unsigned long long *out, weir_error *err) WEIR_MUST_CHECK;
/* `names` is NULL-terminated; matching ignores case and treats '-' and '_' alike. *out is the
 * index of the match (or `def`). */
int config_get_enum(const config *c, const char *key, const char *const *names, int def, int *out,
                    weir_error *err) WEIR_MUST_CHECK;

/* A list value: NULL-terminated array of strings; *out NULL when unset. Caller frees with
 * config_strv_free(). */
int config_get_list(const config *c, const char *key, char ***out, weir_error *err) WEIR_MUST_CHECK;

/* A map value as a NULL-terminated array alternating key, value; *out NULL when unset. Caller
 * frees with config_strv_free(). */
int config_get_map(const config *c, const char *key, char ***out, weir_error *err) WEIR_MUST_CHECK;

void config_strv_free(char **v);

/* --- the value parsers, for callers with a string in hand ---------------------------------- */

/* Flink TimeUtils syntax. WEIR_EPARSE (no number), WEIR_EUNIT, WEIR_ERANGE. */
int config_parse_duration_ms(const char *s, long long *out) WEIR_MUST_CHECK;
/* Flink MemorySize syntax. WEIR_EPARSE, WEIR_EUNIT, WEIR_ERANGE. */
int config_parse_memory(const char *s, unsigned long long *out) WEIR_MUST_CHECK;

#endif
