/*
 * strmap.h - a hash map from NUL-terminated string keys to opaque pointers.
 *
 * Open addressing with linear probing and backward-shift deletion (no tombstones), power-of-two
 * capacity, grows at 70% load. Keys are copied in (the map owns its key copies); values are
 * borrowed pointers the caller owns. Not thread-safe: callers lock around it.
 *
 * Layer: lib/ leaf. Depends on libc only.
 */
#ifndef WEIR_STRMAP_H
#define WEIR_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct strmap strmap;

/* Creates an empty map. Returns NULL when out of memory. Caller frees with strmap_free(). */
strmap *strmap_new(void);

/* Frees the map and its key copies (not the values). strmap_free(NULL) does nothing. */
void strmap_free(strmap *m);

/* Number of entries. */
size_t strmap_len(const strmap *m);

/* Returns the value for `key`, or NULL when absent (store non-NULL values to tell them apart). */
void *strmap_get(const strmap *m, const char *key);

/* True when `key` is present. */
bool strmap_has(const strmap *m, const char *key);

/*
 * Sets `key` to `value`, copying the key. If `old` is non-NULL it receives the previous value
 * (NULL when the key was new). Returns 0, or WEIR_ENOMEM (the map is then unchanged).
 */
int strmap_put(strmap *m, const char *key, void *value, void **old);

/* Removes `key`; returns its value (the caller's to free) or NULL when absent. */
void *strmap_del(strmap *m, const char *key);

/*
 * Iteration: `size_t it = 0; const char *k; void *v; while (strmap_next(m, &it, &k, &v)) ...`.
 * The map must not be modified during iteration. Order is unspecified.
 */
bool strmap_next(const strmap *m, size_t *it, const char **key, void **value);

/* The string hash the map uses (64-bit FNV-1a); exposed for callers that shard by key. */
unsigned long long strmap_hash(const char *key);

#endif
