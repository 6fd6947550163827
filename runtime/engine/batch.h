/*
 * batch.h - record batches: the unit every operator, channel and connector moves.
 *
 * A batch holds up to `cap` rows of a fixed schema in columnar form: per column an array of
 * values in the column type's physical form (types.h) and an array of NULL flags, plus one row
 * kind per row (+I, -U, +U, -D, as Flink's RowKind). String values point into the batch's own
 * arena (or into memory that outlives the batch, such as a constant), so a batch is
 * self-contained and can cross a channel to another thread.
 *
 * The struct is exposed on purpose: operators read and write columns in tight loops. Batches
 * are created once per operator (or channel slot) and reused: rt_batch_reset() empties it
 * without freeing, so the hot path allocates nothing per record.
 *
 * Layer: runtime/engine leaf. Depends on types.h.
 */
#ifndef WEIR_RT_BATCH_H
#define WEIR_RT_BATCH_H

#include "runtime/types/types.h"

#include <stdint.h>

#define RT_BATCH_ROWS 1024 /* default capacity */

typedef enum rt_rowkind {
    RT_INSERT = 0,        /* +I */
    RT_UPDATE_BEFORE = 1, /* -U */
    RT_UPDATE_AFTER = 2,  /* +U */
    RT_DELETE = 3         /* -D */
} rt_rowkind;

/* "+I", "-U", "+U", "-D". */
const char *rt_rowkind_short(rt_rowkind k);

/* A schema: column names and types. Owned by whoever built it (the loaded plan, usually). */
typedef struct rt_schema {
    uint32_t ncols;
    char **names; /* ncols NUL-terminated names */
    rt_type *types;
} rt_schema;

/* Allocates a schema of n columns with NULL names; caller frees with rt_schema_free(). */
rt_schema *rt_schema_new(uint32_t n);
void rt_schema_free(rt_schema *s);
/* Index of the column named `name` (case-sensitive), or -1. */
int rt_schema_find(const rt_schema *s, const char *name);

/* A chunked bump allocator for string bytes. Reset frees nothing but the extra chunks. */
typedef struct rt_arena {
    char *base; /* first chunk (kept across resets) */
    size_t used, size;
    struct rt_arena_chunk *extra; /* chunks added when `base` ran out; freed on reset */
    size_t high_water;            /* the next reset grows `base` to this much */
} rt_arena;

void rt_arena_init(rt_arena *a);
/* Returns `n` bytes of storage valid until the next reset, or NULL when out of memory. */
void *rt_arena_alloc(rt_arena *a, size_t n);
/* Copies s into the arena; returns the copy (ptr NULL with len 0 for an empty string) and sets
 * *ok to false when out of memory. */
rt_str rt_arena_strdup(rt_arena *a, const char *p, uint32_t len, bool *ok);
void rt_arena_reset(rt_arena *a);
void rt_arena_free(rt_arena *a);

/* One column of a batch. */
typedef struct rt_col {
    rt_type type;
    uint8_t *null; /* cap flags: 1 when the row's value is NULL */
    union {
        int64_t *i64;  /* RT_PHYS_I64 */
        double *f64;   /* RT_PHYS_F64 */
        rt_str *str;   /* RT_PHYS_STR */
        rt_i128 *i128; /* RT_PHYS_I128 (wide DECIMAL) */
    };
} rt_col;

/* The DECIMAL value of row r of c (either width) as a 128-bit integer at the column's scale. */
static inline rt_i128 rt_col_dec(const rt_col *c, uint32_t r)
{
    return c->type.precision > 18 ? c->i128[r] : (rt_i128)c->i64[r];
}

/* Stores a DECIMAL value that fits the column's precision into row r of c. */
static inline void rt_col_set_dec(rt_col *c, uint32_t r, rt_i128 v)
{
    if (c->type.precision > 18)
        c->i128[r] = v;
    else
        c->i64[r] = (int64_t)v;
}

/* Formats row r of c as rt_value_format does (any physical form; "NULL" for NULL). */
int rt_col_format(const rt_col *c, uint32_t r, char *buf, size_t size);

typedef struct rt_batch {
    uint32_t n;   /* rows in use */
    uint32_t cap; /* rows allocated */
    uint32_t ncols;
    uint8_t *kind; /* cap row kinds (rt_rowkind) */
    rt_col *cols;  /* ncols columns */
    rt_arena arena;
} rt_batch;

/* Creates an empty batch for `schema` with room for `cap` rows (0: RT_BATCH_ROWS). Returns NULL
 * when out of memory. The batch copies the column types, not the schema. Caller frees with
 * rt_batch_free(). */
rt_batch *rt_batch_new(const rt_schema *schema, uint32_t cap);

/* Same, from an array of types. */
rt_batch *rt_batch_new_types(const rt_type *types, uint32_t ncols, uint32_t cap);

void rt_batch_free(rt_batch *b);

/* Empties the batch (n = 0) and its arena; keeps the allocations. */
void rt_batch_reset(rt_batch *b);

/* True when no more rows fit. */
static inline bool rt_batch_full(const rt_batch *b)
{
    return b->n >= b->cap;
}

/*
 * Appends row `row` of `src` to `dst` (same column types), copying string bytes into dst's
 * arena. Returns 0, WEIR_ETOOBIG when dst is full, or WEIR_ENOMEM.
 */
int rt_batch_append_row(rt_batch *dst, const rt_batch *src, uint32_t row) WEIR_MUST_CHECK;

/*
 * Appends `n` rows of `src` to `dst` column by column: rows[0..n) when `rows` is set, else the
 * contiguous rows first..first+n. Strings are copied into dst's arena. Returns 0, WEIR_ETOOBIG
 * when they do not fit (nothing appended), or WEIR_ENOMEM.
 */
int rt_batch_append_rows(rt_batch *dst, const rt_batch *src, const uint32_t *rows, uint32_t first,
                         uint32_t n) WEIR_MUST_CHECK;

/* Keeps only the rows whose `keep` flag is non-zero, in order (in place). */
void rt_batch_filter(rt_batch *b, const uint8_t *keep);

/* Copies b (types, rows, strings) into dst, which must have the same column types and enough
 * capacity. Returns 0 or WEIR_ENOMEM / WEIR_ETOOBIG. */
int rt_batch_copy(rt_batch *dst, const rt_batch *src) WEIR_MUST_CHECK;

/* Formats row `row` as Flink's print connector does, "+I[a, b, NULL]", into buf (always
 * NUL-terminated). Returns the full length (snprintf semantics). */
int rt_batch_format_row(const rt_batch *b, uint32_t row, char *buf, size_t size);

#endif
