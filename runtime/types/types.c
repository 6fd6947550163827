/*
 * types.c - SQL type names, parsing, and value formatting as Flink's CAST(x AS STRING).
 *
 * Layer: runtime/ leaf.
 */
#include "runtime/types/types.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const kind_names[RT_KIND_COUNT] = {
    [RT_NULLTYPE] = "NULL",
    [RT_BOOLEAN] = "BOOLEAN",
    [RT_TINYINT] = "TINYINT",
    [RT_SMALLINT] = "SMALLINT",
    [RT_INT] = "INT",
    [RT_BIGINT] = "BIGINT",
    [RT_FLOAT] = "FLOAT",
    [RT_DOUBLE] = "DOUBLE",
    [RT_DECIMAL] = "DECIMAL",
    [RT_CHAR] = "CHAR",
    [RT_VARCHAR] = "VARCHAR",
    [RT_BYTES] = "BYTES",
    [RT_DATE] = "DATE",
    [RT_TIME] = "TIME",
    [RT_TIMESTAMP] = "TIMESTAMP",
    [RT_TIMESTAMP_LTZ] = "TIMESTAMP_LTZ",
};

const char *rt_kind_name(rt_kind kind)
{
    return kind < RT_KIND_COUNT ? kind_names[kind] : "?";
}

rt_phys rt_type_phys(rt_type t)
{
    switch (t.kind) {
    case RT_FLOAT:
    case RT_DOUBLE:
        return RT_PHYS_F64;
    case RT_CHAR:
    case RT_VARCHAR:
    case RT_BYTES:
        return RT_PHYS_STR;
    case RT_DECIMAL:
        return t.precision > 18 ? RT_PHYS_I128 : RT_PHYS_I64;
    default:
        return RT_PHYS_I64;
    }
}

size_t rt_phys_width(rt_phys p)
{
    switch (p) {
    case RT_PHYS_STR:
        return sizeof(rt_str);
    case RT_PHYS_I128:
        return sizeof(rt_i128);
    default:
        return sizeof(int64_t);
    }
}

rt_type rt_type_of(rt_kind kind)
{
    rt_type t = {.kind = (uint8_t)kind, .nullable = 1};
    switch (kind) {
    case RT_VARCHAR:
    case RT_BYTES:
        t.length = RT_MAX_LENGTH;
        break;
    case RT_CHAR:
        t.length = 1;
        break;
    case RT_DECIMAL:
        t.precision = 10;
        break;
    case RT_TIMESTAMP:
    case RT_TIMESTAMP_LTZ:
        t.precision = 6;
        break;
    default:
        break;
    }
    return t;
}

rt_type rt_type_decimal(unsigned precision, unsigned scale)
{
    rt_type t = rt_type_of(RT_DECIMAL);
    t.precision = (uint8_t)precision;
    t.scale = (uint8_t)scale;
    return t;
}

rt_type rt_type_varchar(uint32_t length)
{
    rt_type t = rt_type_of(RT_VARCHAR);
    t.length = length;
    return t;
}

rt_type rt_type_timestamp(unsigned precision)
{
    rt_type t = rt_type_of(RT_TIMESTAMP);
    t.precision = (uint8_t)precision;
    return t;
}

bool rt_type_is_integer(rt_type t)
{
    return t.kind >= RT_TINYINT && t.kind <= RT_BIGINT;
}

bool rt_type_is_numeric(rt_type t)
{
    return t.kind >= RT_TINYINT && t.kind <= RT_DECIMAL;
}

bool rt_type_is_string(rt_type t)
{
    return t.kind == RT_CHAR || t.kind == RT_VARCHAR;
}

bool rt_type_is_temporal(rt_type t)
{
    return t.kind >= RT_DATE && t.kind <= RT_TIMESTAMP_LTZ;
}

bool rt_type_equal(rt_type a, rt_type b)
{
    return a.kind == b.kind && a.precision == b.precision && a.scale == b.scale &&
           a.length == b.length;
}

/* --- parsing ---------------------------------------------------------------------------- */

typedef struct cursor {
    const char *s;
    size_t i;
} cursor;

static void skip_ws(cursor *c)
{
    while (isspace((unsigned char)c->s[c->i]))
        c->i++;
}

/* Reads an identifier word (letters, digits, '_') upper-cased into w. */
static size_t read_word(cursor *c, char *w, size_t size)
{
    skip_ws(c);
    size_t n = 0;
    while (isalnum((unsigned char)c->s[c->i]) || c->s[c->i] == '_') {
        if (n + 1 < size)
            w[n++] = (char)toupper((unsigned char)c->s[c->i]);
        c->i++;
    }
    w[n] = '\0';
    return n;
}

static bool accept(cursor *c, char ch)
{
    skip_ws(c);
    if (c->s[c->i] == ch) {
        c->i++;
        return true;
    }
    return false;
}

static bool accept_word(cursor *c, const char *word)
{
    size_t save = c->i;
    char w[32];
    read_word(c, w, sizeof(w));
    if (strcmp(w, word) == 0)
        return true;
    c->i = save;
    return false;
}

/* Parses "(n)" or "(n, m)"; returns how many numbers were read (0 when no parenthesis). */
static int read_params(cursor *c, long *a, long *b, weir_error *err)
{
    if (!accept(c, '('))
        return 0;
    long *dst[2] = {a, b};
    int n = 0;
    for (;;) {
        skip_ws(c);
        char *end;
        long v = strtol(c->s + c->i, &end, 10);
        if (end == c->s + c->i || v < 0 || n == 2)
            return weir_error_set(err, WEIR_EPARSE, "bad type parameter in '%s' at offset %zu",
                                  c->s, c->i);
        *dst[n++] = v;
        c->i = (size_t)(end - c->s);
        if (accept(c, ')'))
            return n;
        if (!accept(c, ','))
            return weir_error_set(err, WEIR_EPARSE, "expected ',' or ')' in type '%s'", c->s);
    }
}

int rt_type_parse(const char *text, rt_type *out, weir_error *err)
{
    if (!text)
        return weir_error_set(err, WEIR_EPARSE, "missing type");
    cursor c = {text, 0};
    char w[32];
    long p = -1, s = -1;
    rt_type t;
    if (!read_word(&c, w, sizeof(w)))
        return weir_error_set(err, WEIR_EPARSE, "'%s' is not a SQL type", text);
    int np = 0;
    if (!strcmp(w, "BOOLEAN") || !strcmp(w, "BOOL")) {
        t = rt_type_of(RT_BOOLEAN);
    } else if (!strcmp(w, "TINYINT")) {
        t = rt_type_of(RT_TINYINT);
    } else if (!strcmp(w, "SMALLINT")) {
        t = rt_type_of(RT_SMALLINT);
    } else if (!strcmp(w, "INT") || !strcmp(w, "INTEGER")) {
        t = rt_type_of(RT_INT);
    } else if (!strcmp(w, "BIGINT")) {
        t = rt_type_of(RT_BIGINT);
    } else if (!strcmp(w, "FLOAT") || !strcmp(w, "REAL")) {
        t = rt_type_of(RT_FLOAT);
    } else if (!strcmp(w, "DOUBLE")) {
        accept_word(&c, "PRECISION");
        t = rt_type_of(RT_DOUBLE);
    } else if (!strcmp(w, "DECIMAL") || !strcmp(w, "DEC") || !strcmp(w, "NUMERIC")) {
        t = rt_type_of(RT_DECIMAL);
        if ((np = read_params(&c, &p, &s, err)) < 0)
            return np;
        if (np >= 1)
            t.precision = (uint8_t)(p > 255 ? 255 : p);
        t.scale = (uint8_t)(np == 2 ? (s > 255 ? 255 : s) : 0);
        if (np >= 1 && (p < 1 || p > 38))
            return weir_error_set(err, WEIR_EPARSE, "DECIMAL precision must be 1..38 in '%s'",
                                  text);
        if (t.scale > t.precision)
            return weir_error_set(err, WEIR_EPARSE, "DECIMAL scale exceeds precision in '%s'",
                                  text);
    } else if (!strcmp(w, "CHAR") || !strcmp(w, "CHARACTER")) {
        if (accept_word(&c, "VARYING")) {
            t = rt_type_of(RT_VARCHAR);
        } else {
            t = rt_type_of(RT_CHAR);
        }
        if ((np = read_params(&c, &p, &s, err)) < 0)
            return np;
        if (np == 2)
            return weir_error_set(err, WEIR_EPARSE, "too many parameters in '%s'", text);
        if (np == 1) {
            if (p < 1 || p > (long)RT_MAX_LENGTH)
                return weir_error_set(err, WEIR_EPARSE, "bad length in '%s'", text);
            t.length = (uint32_t)p;
        }
    } else if (!strcmp(w, "VARCHAR") || !strcmp(w, "STRING") || !strcmp(w, "BYTES") ||
               !strcmp(w, "VARBINARY") || !strcmp(w, "BINARY")) {
        bool str = !strcmp(w, "VARCHAR") || !strcmp(w, "STRING");
        t = rt_type_of(str ? RT_VARCHAR : RT_BYTES);
        if (strcmp(w, "STRING") && strcmp(w, "BYTES")) {
            if ((np = read_params(&c, &p, &s, err)) < 0)
                return np;
            if (np == 2)
                return weir_error_set(err, WEIR_EPARSE, "too many parameters in '%s'", text);
            if (np == 1) {
                if (p < 1 || p > (long)RT_MAX_LENGTH)
                    return weir_error_set(err, WEIR_EPARSE, "bad length in '%s'", text);
                t.length = (uint32_t)p;
            }
        }
    } else if (!strcmp(w, "DATE")) {
        t = rt_type_of(RT_DATE);
    } else if (!strcmp(w, "TIME")) {
        t = rt_type_of(RT_TIME);
        if ((np = read_params(&c, &p, &s, err)) < 0)
            return np;
        t.precision = (uint8_t)(np == 1 ? p : 0);
        if (np == 2 || (np == 1 && p > 9))
            return weir_error_set(err, WEIR_EPARSE, "TIME precision must be 0..9 in '%s'", text);
    } else if (!strcmp(w, "TIMESTAMP") || !strcmp(w, "TIMESTAMP_LTZ")) {
        bool ltz = !strcmp(w, "TIMESTAMP_LTZ");
        if ((np = read_params(&c, &p, &s, err)) < 0)
            return np;
        if (np == 2 || (np == 1 && p > 9))
            return weir_error_set(err, WEIR_EPARSE, "TIMESTAMP precision must be 0..9 in '%s'",
                                  text);
        if (!ltz && accept_word(&c, "WITH")) {
            if (accept_word(&c, "LOCAL") && accept_word(&c, "TIME") && accept_word(&c, "ZONE"))
                ltz = true;
            else
                return weir_error_set(err, WEIR_EUNSUPPORTED,
                                      "only WITH LOCAL TIME ZONE is supported in '%s'", text);
        } else if (!ltz && accept_word(&c, "WITHOUT")) {
            if (!(accept_word(&c, "TIME") && accept_word(&c, "ZONE")))
                return weir_error_set(err, WEIR_EPARSE, "expected TIME ZONE in '%s'", text);
        }
        t = rt_type_of(ltz ? RT_TIMESTAMP_LTZ : RT_TIMESTAMP);
        t.precision = (uint8_t)(np == 1 ? p : 6);
    } else {
        return weir_error_set(err, WEIR_EPARSE, "unknown type '%s'", text);
    }
    if (accept_word(&c, "NOT")) {
        if (!accept_word(&c, "NULL"))
            return weir_error_set(err, WEIR_EPARSE, "expected NULL after NOT in '%s'", text);
        t.nullable = 0;
    } else if (accept_word(&c, "NULL")) {
        t.nullable = 1;
    }
    skip_ws(&c);
    if (c.s[c.i] != '\0')
        return weir_error_set(err, WEIR_EPARSE, "unexpected '%s' in type '%s'", c.s + c.i, text);
    *out = t;
    return 0;
}

char *rt_type_format(rt_type t, char *buf, size_t size)
{
    const char *nn = t.nullable ? "" : " NOT NULL";
    switch (t.kind) {
    case RT_DECIMAL:
        snprintf(buf, size, "DECIMAL(%u, %u)%s", t.precision, t.scale, nn);
        break;
    case RT_CHAR:
        snprintf(buf, size, "CHAR(%" PRIu32 ")%s", t.length, nn);
        break;
    case RT_VARCHAR:
        if (t.length == RT_MAX_LENGTH)
            snprintf(buf, size, "STRING%s", nn);
        else
            snprintf(buf, size, "VARCHAR(%" PRIu32 ")%s", t.length, nn);
        break;
    case RT_BYTES:
        if (t.length == RT_MAX_LENGTH)
            snprintf(buf, size, "BYTES%s", nn);
        else
            snprintf(buf, size, "VARBINARY(%" PRIu32 ")%s", t.length, nn);
        break;
    case RT_TIME:
        snprintf(buf, size, "TIME(%u)%s", t.precision, nn);
        break;
    case RT_TIMESTAMP:
    case RT_TIMESTAMP_LTZ:
        snprintf(buf, size, "%s(%u)%s", kind_names[t.kind], t.precision, nn);
        break;
    default:
        snprintf(buf, size, "%s%s", rt_kind_name((rt_kind)t.kind), nn);
        break;
    }
    return buf;
}

/* --- value formatting -------------------------------------------------------------------- */

/* Days since the epoch -> civil date (Howard Hinnant's algorithm). */
void rt_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

int64_t rt_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int64_t rt_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* Formats a fraction of `digits` digits from milliseconds (digits > 3 are zero-padded). */
static int format_fraction(char *buf, size_t size, int64_t ms, unsigned precision)
{
    if (precision == 0)
        return 0;
    char frac[16];
    snprintf(frac, sizeof(frac), "%03" PRId64 "000000", ms);
    frac[precision > 9 ? 9 : precision] = '\0';
    return snprintf(buf, size, ".%s", frac);
}

/* Java's Double.toString for the common cases: shortest repr, ".0" for integral values,
 * scientific notation outside [1e-3, 1e7). */
static int format_double(double v, char *buf, size_t size)
{
    if (isnan(v))
        return snprintf(buf, size, "NaN");
    if (isinf(v))
        return snprintf(buf, size, v > 0 ? "Infinity" : "-Infinity");
    if (v == 0)
        return snprintf(buf, size, signbit(v) ? "-0.0" : "0.0");
    double a = fabs(v);
    char tmp[64];
    /* Shortest round-trip digits. */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    /* tmp is d.ddde[+-]XX: split mantissa digits and exponent. */
    char digits[32];
    size_t nd = 0;
    const char *p = tmp;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (isdigit((unsigned char)*p) && nd + 1 < sizeof(digits))
            digits[nd++] = *p;
    digits[nd] = '\0';
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = '\0';
    char out[64];
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    if (a >= 1e-3 && a < 1e7) {
        if (exp10 >= 0) {
            for (int i = 0; i <= exp10; i++)
                out[o++] = (size_t)i < nd ? digits[i] : '0';
            out[o++] = '.';
            if ((size_t)exp10 + 1 < nd)
                for (size_t i = (size_t)exp10 + 1; i < nd; i++)
                    out[o++] = digits[i];
            else
                out[o++] = '0';
        } else {
            out[o++] = '0';
            out[o++] = '.';
            for (int i = 0; i < -exp10 - 1; i++)
                out[o++] = '0';
            for (size_t i = 0; i < nd; i++)
                out[o++] = digits[i];
        }
        out[o] = '\0';
    } else {
        out[o++] = digits[0];
        out[o++] = '.';
        if (nd > 1)
            for (size_t i = 1; i < nd; i++)
                out[o++] = digits[i];
        else
            out[o++] = '0';
        snprintf(out + o, sizeof(out) - o, "E%d", exp10);
    }
    return snprintf(buf, size, "%s", out);
}

int rt_value_format(rt_type t, int64_t i64, double f64, rt_str str, char *buf, size_t size)
{
    switch (t.kind) {
    case RT_BOOLEAN:
        return snprintf(buf, size, "%s", i64 ? "TRUE" : "FALSE");
    case RT_TINYINT:
    case RT_SMALLINT:
    case RT_INT:
    case RT_BIGINT:
        return snprintf(buf, size, "%" PRId64, i64);
    case RT_FLOAT:
        return format_double((double)(float)f64, buf, size);
    case RT_DOUBLE:
        return format_double(f64, buf, size);
    case RT_DECIMAL: {
        if (t.scale == 0)
            return snprintf(buf, size, "%" PRId64, i64);
        uint64_t mag = i64 < 0 ? (uint64_t)0 - (uint64_t)i64 : (uint64_t)i64;
        uint64_t pow10 = 1;
        for (unsigned i = 0; i < t.scale; i++)
            pow10 *= 10;
        return snprintf(buf, size, "%s%" PRIu64 ".%0*" PRIu64, i64 < 0 ? "-" : "", mag / pow10,
                        (int)t.scale, mag % pow10);
    }
    case RT_CHAR:
    case RT_VARCHAR:
        return snprintf(buf, size, "%.*s", (int)str.len, str.ptr ? str.ptr : "");
    case RT_BYTES: {
        /* Flink prints BYTES as x'hex'. */
        int n = snprintf(buf, size, "x'");
        for (uint32_t i = 0; i < str.len; i++)
            n += snprintf(buf + ((size_t)n < size ? (size_t)n : size),
                          (size_t)n < size ? size - (size_t)n : 0, "%02x",
                          (unsigned char)str.ptr[i]);
        n += snprintf(buf + ((size_t)n < size ? (size_t)n : size),
                      (size_t)n < size ? size - (size_t)n : 0, "'");
        return n;
    }
    case RT_DATE: {
        int64_t y;
        unsigned m, d;
        rt_civil_from_days(i64, &y, &m, &d);
        return snprintf(buf, size, "%04" PRId64 "-%02u-%02u", y, m, d);
    }
    case RT_TIME: {
        int64_t ms = i64 % 86400000;
        int n = snprintf(buf, size, "%02d:%02d:%02d", (int)(ms / 3600000), (int)(ms / 60000 % 60),
                         (int)(ms / 1000 % 60));
        return n + format_fraction(buf + ((size_t)n < size ? (size_t)n : size),
                                   (size_t)n < size ? size - (size_t)n : 0, ms % 1000, t.precision);
    }
    case RT_TIMESTAMP:
    case RT_TIMESTAMP_LTZ: {
        /* Session time zone is UTC (table.local-time-zone is not supported yet). */
        int64_t days = rt_floor_div(i64, 86400000);
        int64_t ms = i64 - days * 86400000;
        int64_t y;
        unsigned m, d;
        rt_civil_from_days(days, &y, &m, &d);
        int n = snprintf(buf, size, "%04" PRId64 "-%02u-%02u %02d:%02d:%02d", y, m, d,
                         (int)(ms / 3600000), (int)(ms / 60000 % 60), (int)(ms / 1000 % 60));
        return n + format_fraction(buf + ((size_t)n < size ? (size_t)n : size),
                                   (size_t)n < size ? size - (size_t)n : 0, ms % 1000, t.precision);
    }
    default:
        return snprintf(buf, size, "NULL");
    }
}
