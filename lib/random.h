/*
 * random.h - random identifiers: Flink job and trigger ids (32 hex digits) and name suffixes,
 * from /dev/urandom.
 *
 * Layer: lib. No dependencies.
 */
#ifndef WEIR_RANDOM_H
#define WEIR_RANDOM_H

#include <stddef.h>

/* Writes `n` random lowercase hex digits and a NUL to `out` (n + 1 bytes; n <= 64). */
void random_hex(char *out, size_t n);

#endif
