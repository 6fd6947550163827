/*
 * types.h - SQL data types of the runtime and how their values are stored.
 *
 * Every value lives in one of four physical forms, so that expression evaluation and state
 * code handle few cases:
 *   RT_PHYS_I64   BOOLEAN (0/1), TINYINT, SMALLINT, INT, BIGINT, DECIMAL(p,s) with p <= 18 as
 *                 an integer scaled by 10^s, DATE (days since 1970-01-01), TIME (milliseconds of
 *                 the day), TIMESTAMP(p) and TIMESTAMP_LTZ(p) (milliseconds since the epoch, UTC;
 *                 precision above 3 is accepted and truncated to milliseconds)
 *   RT_PHYS_F64   FLOAT, DOUBLE
 *   RT_PHYS_STR   CHAR(n), VARCHAR(n), STRING, BYTES (length + pointer, not NUL-terminated)
 *   RT_PHYS_I128  DECIMAL(p,s) with 19 <= p <= 38, a 128-bit integer scaled by 10^s
 * DECIMAL arithmetic for both widths is in decimal.h.
 * NULL is a per-row flag beside the value (see batch.h), never a special value.
 *
 * Layer: runtime/ leaf. Depends on libc and lib/error.h only.
 */
#ifndef WEIR_RT_TYPES_H
#define WEIR_RT_TYPES_H

#include "lib/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rt_kind {
    RT_NULLTYPE = 0, /* the type of an untyped NULL literal */
    RT_BOOLEAN,
    RT_TINYINT,
    RT_SMALLINT,
    RT_INT,
    RT_BIGINT,
    RT_FLOAT,
    RT_DOUBLE,
    RT_DECIMAL,
    RT_CHAR,
    RT_VARCHAR, /* STRING is VARCHAR(2147483647) */
    RT_BYTES,
    RT_DATE,
    RT_TIME,
    RT_TIMESTAMP,
    RT_TIMESTAMP_LTZ,
    RT_KIND_COUNT
} rt_kind;

/* The numbers are part of the network frame format (docs/network.md): append only. */
typedef enum rt_phys { RT_PHYS_I64, RT_PHYS_F64, RT_PHYS_STR, RT_PHYS_I128 } rt_phys;
#define RT_PHYS_COUNT 4

/* A 128-bit integer (GCC/Clang extension): the values of RT_PHYS_I128 columns. */
__extension__ typedef __int128 rt_i128;
__extension__ typedef unsigned __int128 rt_u128;

/* A SQL type. Plain value; compare with rt_type_equal. */
typedef struct rt_type {
    uint8_t kind;      /* rt_kind */
    uint8_t nullable;  /* 1 unless NOT NULL */
    uint8_t precision; /* DECIMAL precision, TIMESTAMP/TIME fractional digits */
    uint8_t scale;     /* DECIMAL scale */
    uint32_t length;   /* CHAR/VARCHAR/BYTES length; RT_MAX_LENGTH for STRING/BYTES */
    uint8_t rowtime;   /* 1 for an event-time attribute (a column with a WATERMARK) */
    uint8_t proctime;  /* 1 for a processing-time attribute (PROCTIME()) */
} rt_type;

#define RT_MAX_LENGTH 2147483647u

/* A string value: `len` bytes at `ptr` (not NUL-terminated; ptr may be NULL when len is 0). */
typedef struct rt_str {
    const char *ptr;
    uint32_t len;
} rt_str;

/* The physical form of values of type `t`. */
rt_phys rt_type_phys(rt_type t);
/* Bytes per value of a physical form (8, or 16 for RT_PHYS_I128, or sizeof(rt_str)). */
size_t rt_phys_width(rt_phys p);

/* Convenience constructors (nullable). */
rt_type rt_type_of(rt_kind kind);
rt_type rt_type_decimal(unsigned precision, unsigned scale);
rt_type rt_type_varchar(uint32_t length);
rt_type rt_type_timestamp(unsigned precision);

bool rt_type_is_numeric(rt_type t);  /* integers, DECIMAL, FLOAT, DOUBLE */
bool rt_type_is_integer(rt_type t);  /* TINYINT..BIGINT */
bool rt_type_is_string(rt_type t);   /* CHAR, VARCHAR */
bool rt_type_is_temporal(rt_type t); /* DATE, TIME, TIMESTAMP, TIMESTAMP_LTZ */

/* True when `a` and `b` are the same type, ignoring nullability and time attributes. */
bool rt_type_equal(rt_type a, rt_type b);

/*
 * Parses a SQL type name as Flink writes it: "INT", "INTEGER", "BIGINT", "DECIMAL(10, 2)",
 * "VARCHAR(20)", "STRING", "TIMESTAMP(3)", "TIMESTAMP_LTZ(3)",
 * "TIMESTAMP(3) WITH LOCAL TIME ZONE", "DOUBLE", "BOOLEAN", "DATE", "TIME", "BYTES", each
 * optionally followed by "NOT NULL". Case-insensitive. Returns 0 or WEIR_EPARSE with a message.
 */
int rt_type_parse(const char *text, rt_type *out, weir_error *err) WEIR_MUST_CHECK;

/* Writes the canonical SQL name of `t` ("DECIMAL(10, 2)", "TIMESTAMP(3)", "STRING", with
 * " NOT NULL" when not nullable) into buf (always NUL-terminated). Returns buf. */
char *rt_type_format(rt_type t, char *buf, size_t size);

/* Days since 1970-01-01 -> year, month (1-12), day (1-31), proleptic Gregorian. */
void rt_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
/* The inverse of rt_civil_from_days. */
int64_t rt_days_from_civil(int64_t y, unsigned m, unsigned d);
/* a / b rounded towards negative infinity (b > 0). */
int64_t rt_floor_div(int64_t a, int64_t b);

/* Unchecked access to a type's name for messages ("BIGINT"); static storage. */
const char *rt_kind_name(rt_kind kind);

/*
 * Formats one value the way Flink's CAST(x AS STRING) does, which is also how the print
 * connector prints rows: TIMESTAMP(3) as "2024-01-02 03:04:05.678", DECIMAL(5,2) as "1.50",
 * BOOLEAN as "TRUE"/"FALSE", DOUBLE as Java's Double.toString ("1.0", "1.0E10").
 * `i64`/`f64`/`str` is the value in the physical form of `t` (an RT_PHYS_I128 DECIMAL goes
 * through rt_dec_format in decimal.h instead). Returns the length written (snprintf semantics:
 * the full length even when truncated).
 */
int rt_value_format(rt_type t, int64_t i64, double f64, rt_str str, char *buf, size_t size);

#endif
