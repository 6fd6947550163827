/*
 * json.h - small helpers over jansson: loading with positioned errors, path get/set/delete,
 * RFC 7386 JSON merge patch (apply and compute), and a stable (sorted, compact) dump.
 *
 * Paths: members separated by dots, array elements as [N], and members whose names contain
 * dots, brackets or quotes as ["..."] with \" and \\ escapes:
 *     spec.job.parallelism
 *     spec.podTemplate.spec.containers[0].name
 *     metadata.annotations["flink.apache.org/nonce"]
 * There is no backslash-dot escape outside brackets. A segment name is at most 511 bytes.
 *
 * Names here avoid jansson's own json_* names. Layer: lib/. Depends on jansson, lib/error.
 */
#ifndef WEIR_JSON_H
#define WEIR_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

/*
 * Parses `len` bytes of JSON (any value, not only objects). On success *out is a new
 * reference (caller json_decref()s it). On failure err names `source` (may be NULL), the line
 * and column, and what is wrong. Duplicate object keys are rejected.
 */
int json_load_text(const char *text, size_t len, const char *source, json_t **out,
                   weir_error *err) WEIR_MUST_CHECK;

/* The value at `path` in `root`, or NULL (absent, or the path is malformed). Borrowed; valid
 * while `root` holds it. */
json_t *json_path_get(const json_t *root, const char *path);

/* Convenience getters: the value at `path` when it has the right type (exactly: an integer is
 * not a bool, a real is not an int), else `def`. The string is borrowed; valid while `root`
 * holds it. */
const char *json_path_string(const json_t *root, const char *path, const char *def);
long long json_path_int(const json_t *root, const char *path, long long def);
bool json_path_bool(const json_t *root, const char *path, bool def);

/*
 * Sets `path` in `root` to `value`, creating missing (or null) objects and arrays on the way
 * (an array when the next segment is an index); an array index may name an existing element
 * or the one just past the end (append). Takes ownership of `value` (also on failure). Returns
 * WEIR_EINVAL for a malformed path, WEIR_ETYPE when the path runs through a value of another type,
 * WEIR_ERANGE for an index past the end.
 */
int json_path_set(json_t *root, const char *path, json_t *value) WEIR_MUST_CHECK;

/* Removes the value at `path` (a later array element moves down). Returns 0, WEIR_ENOTFOUND
 * when there was none, or WEIR_EINVAL for a malformed path. */
int json_path_del(json_t *root, const char *path);

/*
 * RFC 7386: applies merge patch `patch` to `target` and returns the result as a new reference
 * (caller json_decref()s it); neither argument is modified. NULL only when out of memory.
 */
json_t *json_merge_patch_apply(const json_t *target, const json_t *patch);

/*
 * The merge patch that turns `from` into `to` (a new reference; `{}` when they are equal
 * objects). Removed members become null, arrays and scalars are replaced whole. Exact
 * (apply(from, diff(from, to)) equals to) whenever `to` has no null object members, which a
 * merge patch cannot express. NULL only when out of memory.
 */
json_t *json_merge_patch_diff(const json_t *from, const json_t *to);

/* Compact JSON with object keys sorted: equal values give equal strings. Caller frees. */
char *json_dump_stable(const json_t *v);

/* Like json_dump_stable, indented by two spaces, with a final newline. Caller frees. */
char *json_dump_pretty(const json_t *v);

#endif
