/*
 * expr_eval.c - evaluating compiled expressions a batch at a time: one loop per node over the
 * rows, arguments evaluated first, constants read at index 0, column references read in place.
 * Also CAST between all supported types.
 *
 * Integer arithmetic wraps as Java's does (computed unsigned); integer division or modulo by
 * zero is an error naming the expression; DECIMAL arithmetic is exact (decimal.h) and results
 * that overflow their precision are NULL, as Flink's are.
 *
 * Layer: runtime/expr.
 */
#include "runtime/expr/expr_int.h"
#include "runtime/types/decimal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IX(a, r) ((a)->is_const ? 0u : (r))

static inline bool nul(const node *a, uint32_t r)
{
    return a->out.null[IX(a, r)] != 0;
}

static inline int64_t iv(const node *a, uint32_t r)
{
    return a->out.i64[IX(a, r)];
}

static inline rt_str sv(const node *a, uint32_t r)
{
    return a->out.str[IX(a, r)];
}

static const int64_t P10[19] = {1,
                                10,
                                100,
                                1000,
                                10000,
                                100000,
                                1000000,
                                10000000,
                                100000000,
                                1000000000,
                                10000000000LL,
                                100000000000LL,
                                1000000000000LL,
                                10000000000000LL,
                                100000000000000LL,
                                1000000000000000LL,
                                10000000000000000LL,
                                100000000000000000LL,
                                1000000000000000000LL};
/* 10^0 .. 10^22: the powers of ten a double holds exactly */
static const double P10D[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static unsigned scale_of(rt_type t)
{
    return t.kind == RT_DECIMAL ? t.scale : 0;
}

/* An integer or DECIMAL value of `a` as an integer at its own scale (scale_of). */
static inline rt_i128 raw(const node *a, uint32_t r)
{
    uint32_t i = IX(a, r);
    if (rt_type_phys(a->type) == RT_PHYS_I128)
        return a->out.i128[i];
    return a->out.i64[i];
}

static inline double dv(const node *a, uint32_t r)
{
    uint32_t i = IX(a, r);
    switch (rt_type_phys(a->type)) {
    case RT_PHYS_F64:
        return a->out.f64[i];
    case RT_PHYS_I128:
        return rt_dec_to_double(a->out.i128[i], a->type.scale);
    default:
        if (a->type.kind == RT_DECIMAL)
            return (double)a->out.i64[i] / (double)P10[a->type.scale];
        return (double)a->out.i64[i];
    }
}

/* Stores DECIMAL value v (at n's scale) into row r of n's output, NULL when it does not fit n's
 * precision (Flink's overflow rule); `ok` false (an intermediate overflow) also gives NULL. */
static inline void put_dec(rt_col *o, uint32_t r, rt_i128 v, bool ok)
{
    if (!ok || !rt_dec_fits(v, o->type.precision)) {
        expr_set_null(o, r);
        return;
    }
    o->null[r] = 0;
    rt_col_set_dec(o, r, v);
}

static int64_t wrap_int(rt_kind k, int64_t v)
{
    switch (k) {
    case RT_TINYINT:
        return (int8_t)v;
    case RT_SMALLINT:
        return (int16_t)v;
    case RT_INT:
        return (int32_t)v;
    default:
        return v;
    }
}

static inline int64_t ts_ms(const node *a, uint32_t r)
{
    int64_t v = iv(a, r);
    return a->type.kind == RT_DATE ? v * 86400000 : v;
}

static int fail(weir_error *err, const node *n, const char *fmt, const char *detail)
{
    return weir_error_set(err, WEIR_ERANGE, "%s: %s%s", n->path, fmt, detail ? detail : "");
}

/*
 * Lazy evaluation for CASE and COALESCE. Their branches are evaluated over the whole batch, so a
 * branch may fail on rows it is not selected for (`CASE WHEN x <> 0 THEN 10 / x END`). While a
 * branch is evaluated, `lenient_rows` is set: a failing row then becomes NULL and is marked,
 * and the CASE raises the error only if it picks a marked row, as SQL's lazy evaluation would.
 */
static _Thread_local uint8_t *lenient_rows;
static _Thread_local char lenient_msg[WEIR_ERROR_MSG_MAX];

#define ROW_FAIL(n, o, r, msg, label)                                                              \
    do {                                                                                           \
        if (!lenient_rows)                                                                         \
            return fail(err, (n), (msg), NULL);                                                    \
        lenient_rows[r] = 1;                                                                       \
        snprintf(lenient_msg, sizeof(lenient_msg), "%s: %s", (n)->path, (msg));                    \
        expr_set_null((o), (r));                                                                   \
        goto label;                                                                                \
    } while (0)

/* Writes a value of `src` (any numeric/same-class type) into n->out[r], converted to n's type. */
static void put_converted(node *n, uint32_t r, const node *src, uint32_t sr)
{
    if (nul(src, sr)) {
        expr_set_null(&n->out, r);
        return;
    }
    n->out.null[r] = 0;
    if (n->type.kind == RT_DECIMAL) {
        rt_i128 v = 0;
        bool ok = rt_dec_rescale(raw(src, sr), scale_of(src->type), n->type.scale, &v);
        put_dec(&n->out, r, v, ok);
        return;
    }
    switch (rt_type_phys(n->type)) {
    case RT_PHYS_F64:
        n->out.f64[r] = dv(src, sr);
        break;
    case RT_PHYS_STR:
        n->out.str[r] = sv(src, sr);
        break;
    default:
        if (n->type.kind == RT_TIMESTAMP || n->type.kind == RT_TIMESTAMP_LTZ)
            n->out.i64[r] = ts_ms(src, sr);
        else
            n->out.i64[r] = iv(src, sr);
        break;
    }
}

/* --- strings -------------------------------------------------------------------------------- */

static uint32_t utf8_len(rt_str s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s.len; i++)
        n += ((unsigned char)s.ptr[i] & 0xC0) != 0x80;
    return n;
}

/* Byte offset of code point `cp` (clamped to the end). */
static uint32_t utf8_offset(rt_str s, uint32_t cp)
{
    uint32_t i = 0, n = 0;
    while (i < s.len) {
        if (((unsigned char)s.ptr[i] & 0xC0) != 0x80) {
            if (n == cp)
                return i;
            n++;
        }
        i++;
    }
    return s.len;
}

static bool like_match(const char *s, size_t sl, const char *p, size_t pl, int esc)
{
    size_t si = 0, pi = 0, star_p = (size_t)-1, star_s = 0;
    while (si < sl) {
        if (pi < pl) {
            char c = p[pi];
            if (esc >= 0 && c == (char)esc && pi + 1 < pl) {
                if (p[pi + 1] == s[si]) {
                    pi += 2;
                    si++;
                    continue;
                }
            } else if (c == '%') {
                star_p = pi++;
                star_s = si;
                continue;
            } else if (c == '_' || c == s[si]) {
                pi++;
                si++;
                continue;
            }
        }
        if (star_p != (size_t)-1) {
            pi = star_p + 1;
            si = ++star_s;
            continue;
        }
        return false;
    }
    while (pi < pl && p[pi] == '%')
        pi++;
    return pi == pl;
}

static char *arena_buf(rt_arena *a, size_t n)
{
    return rt_arena_alloc(a, n ? n : 1);
}

static bool in_set(char c, rt_str set)
{
    for (uint32_t i = 0; i < set.len; i++)
        if (set.ptr[i] == c)
            return true;
    return false;
}

static bool regex_find(regex_t *re, rt_str s, rt_arena *a, regmatch_t *m, size_t nm, char **cs)
{
    char *buf = arena_buf(a, s.len + 1);
    if (!buf)
        return false;
    if (s.len)
        memcpy(buf, s.ptr, s.len);
    buf[s.len] = '\0';
    *cs = buf;
    return regexec(re, buf, nm, m, 0) == 0;
}

static regex_t *row_regex(node *n, rt_str pat, regex_t *tmp, bool *own)
{
    *own = false;
    if (n->re)
        return n->re;
    char buf[EXPR_REGEX_MAX + 1];
    if (pat.len >= sizeof(buf) || expr_regex_refused(pat.ptr ? pat.ptr : "", pat.len))
        return NULL;
    memcpy(buf, pat.ptr, pat.len);
    buf[pat.len] = '\0';
    if (regcomp(tmp, buf, REG_EXTENDED))
        return NULL;
    *own = true;
    return tmp;
}

/* --- CAST ------------------------------------------------------------------------------------ */

static bool parse_int_text(rt_str s, int64_t *out)
{
    char buf[64];
    uint32_t i = 0, j = 0;
    while (i < s.len && isspace((unsigned char)s.ptr[i]))
        i++;
    uint32_t e = s.len;
    while (e > i && isspace((unsigned char)s.ptr[e - 1]))
        e--;
    if (e - i == 0 || e - i >= sizeof(buf))
        return false;
    for (; i < e; i++)
        buf[j++] = s.ptr[i];
    buf[j] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static bool parse_double_text(rt_str s, double *out)
{
    char buf[128];
    uint32_t i = 0, j = 0;
    while (i < s.len && isspace((unsigned char)s.ptr[i]))
        i++;
    uint32_t e = s.len;
    while (e > i && isspace((unsigned char)s.ptr[e - 1]))
        e--;
    if (e - i == 0 || e - i >= sizeof(buf))
        return false;
    for (; i < e; i++)
        buf[j++] = s.ptr[i];
    buf[j] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (*end)
        return false;
    *out = v;
    return true;
}

int expr_cast_value(rt_type from, rt_type to, const rt_col *src, uint32_t row, rt_col *dst,
                    uint32_t drow, rt_arena *arena, weir_error *err)
{
    dst->null[drow] = 0;
    rt_phys fp = rt_type_phys(from), tp = rt_type_phys(to);
    char buf[128];
    if (from.kind == RT_NULLTYPE || src->null[row]) {
        expr_set_null(dst, drow);
        return 0;
    }
    /* to string */
    if (tp == RT_PHYS_STR) {
        if (fp == RT_PHYS_STR) {
            rt_str s = src->str[row];
            if (to.kind != RT_CHAR && to.length < s.len)
                s.len = utf8_offset(s, to.length);
            dst->str[drow] = s;
            return 0;
        }
        int n = rt_col_format(src, row, buf, sizeof(buf));
        if (n >= (int)sizeof(buf))
            n = (int)sizeof(buf) - 1;
        if ((uint32_t)n > to.length)
            n = (int)to.length;
        bool ok = true;
        dst->str[drow] = rt_arena_strdup(arena, buf, (uint32_t)n, &ok);
        return ok ? 0 : WEIR_ENOMEM;
    }
    /* from string */
    if (fp == RT_PHYS_STR) {
        rt_str s = src->str[row];
        bool ok = false;
        switch (to.kind) {
        case RT_BOOLEAN: {
            char w[8] = {0};
            uint32_t i = 0, j = 0;
            while (i < s.len && isspace((unsigned char)s.ptr[i]))
                i++;
            while (i < s.len && j < 7 && !isspace((unsigned char)s.ptr[i]))
                w[j++] = (char)tolower((unsigned char)s.ptr[i++]);
            if (!strcmp(w, "true") || !strcmp(w, "t") || !strcmp(w, "yes") || !strcmp(w, "y") ||
                !strcmp(w, "1"))
                dst->i64[drow] = 1, ok = true;
            else if (!strcmp(w, "false") || !strcmp(w, "f") || !strcmp(w, "no") ||
                     !strcmp(w, "n") || !strcmp(w, "0"))
                dst->i64[drow] = 0, ok = true;
            break;
        }
        case RT_TINYINT:
        case RT_SMALLINT:
        case RT_INT:
        case RT_BIGINT: {
            int64_t v = 0;
            ok = parse_int_text(s, &v) && wrap_int((rt_kind)to.kind, v) == v;
            dst->i64[drow] = v;
            break;
        }
        case RT_FLOAT:
        case RT_DOUBLE:
            ok = parse_double_text(s, &dst->f64[drow]);
            break;
        case RT_DECIMAL: {
            rt_i128 v = 0;
            int pr = rt_dec_parse(s.ptr ? s.ptr : "", s.len, to.scale, &v);
            ok = pr >= 0;
            if (ok) /* a number too large for the type is NULL, as Flink's CAST gives */
                put_dec(dst, drow, v, pr == 0);
            break;
        }
        case RT_DATE:
            ok = expr_parse_date(s.ptr, s.len, &dst->i64[drow]);
            if (!ok) {
                int64_t ms;
                ok = expr_parse_timestamp(s.ptr, s.len, &ms);
                dst->i64[drow] = rt_floor_div(ms, 86400000);
            }
            break;
        case RT_TIME:
            ok = expr_parse_time(s.ptr, s.len, &dst->i64[drow]);
            break;
        case RT_TIMESTAMP:
        case RT_TIMESTAMP_LTZ:
            ok = expr_parse_timestamp(s.ptr, s.len, &dst->i64[drow]);
            break;
        default:
            break;
        }
        if (!ok) {
            char tb[64];
            return weir_error_set(err, WEIR_ERANGE, "cannot CAST '%.*s' to %s",
                                  (int)(s.len > 60 ? 60 : s.len), s.ptr ? s.ptr : "",
                                  rt_type_format(to, tb, sizeof(tb)));
        }
        return 0;
    }
    /* numeric and boolean */
    if (rt_type_is_numeric(from) || from.kind == RT_BOOLEAN) {
        bool ff = fp == RT_PHYS_F64;
        bool fd = from.kind == RT_DECIMAL;
        rt_i128 fv = fd ? rt_col_dec(src, row) : ff ? 0 : src->i64[row];
        double d = ff   ? src->f64[row]
                   : fd ? (fp == RT_PHYS_I128 ? rt_dec_to_double(fv, from.scale)
                                              : (double)src->i64[row] / (double)P10[from.scale])
                        : (double)src->i64[row];
        switch (to.kind) {
        case RT_BOOLEAN:
            dst->i64[drow] = ff ? d != 0 : fv != 0;
            return 0;
        case RT_FLOAT:
        case RT_DOUBLE:
            dst->f64[drow] = to.kind == RT_FLOAT ? (float)d : d;
            return 0;
        case RT_DECIMAL: {
            /* Flink: a value that does not fit the precision (or NaN, infinity) is NULL */
            rt_i128 v = 0;
            bool ok = ff ? rt_dec_from_double(d, to.scale, &v)
                         : rt_dec_rescale(fv, scale_of(from), to.scale, &v);
            put_dec(dst, drow, v, ok);
            return 0;
        }
        case RT_TIMESTAMP_LTZ:
            /* numbers are epoch seconds; integers multiply exactly (wrapping as Java) */
            dst->i64[drow] = ff || from.kind == RT_DECIMAL
                                 ? (int64_t)(d * 1000)
                                 : (int64_t)((uint64_t)src->i64[row] * 1000u);
            return 0;
        default:
            if (rt_type_is_integer(to)) {
                int64_t v;
                if (ff)
                    v = isnan(d)                      ? 0
                        : d >= 9.2233720368547758e18  ? INT64_MAX
                        : d <= -9.2233720368547758e18 ? INT64_MIN
                                                      : (int64_t)d;
                else if (fd) /* truncated, the low 64 bits as BigDecimal.longValue() */
                    v = (int64_t)(uint64_t)(rt_u128)(fv / rt_dec_pow10(from.scale));
                else
                    v = src->i64[row];
                dst->i64[drow] = wrap_int((rt_kind)to.kind, v);
                return 0;
            }
            break;
        }
    }
    /* temporal */
    int64_t v = src->i64[row];
    int64_t ms = from.kind == RT_DATE ? v * 86400000 : v;
    switch (to.kind) {
    case RT_DATE:
        dst->i64[drow] = from.kind == RT_DATE ? v : rt_floor_div(ms, 86400000);
        return 0;
    case RT_TIME:
        dst->i64[drow] = from.kind == RT_TIME ? v : ms - rt_floor_div(ms, 86400000) * 86400000;
        return 0;
    case RT_TIMESTAMP:
    case RT_TIMESTAMP_LTZ:
        dst->i64[drow] = ms;
        return 0;
    default:
        if (rt_type_is_integer(to) && from.kind == RT_TIMESTAMP_LTZ) {
            dst->i64[drow] = rt_floor_div(ms, 1000);
            return 0;
        }
        break;
    }
    char a[64], b[64];
    return weir_error_set(err, WEIR_ERANGE, "cannot CAST %s to %s",
                          rt_type_format(from, a, sizeof(a)), rt_type_format(to, b, sizeof(b)));
}

/* --- evaluation ------------------------------------------------------------------------------ */

static int ev(node *n, const rt_batch *in, uint32_t rows, rt_arena *arena, weir_error *err);

static int eval_args(node *n, const rt_batch *in, uint32_t rows, rt_arena *arena, weir_error *err)
{
    for (uint32_t i = 0; i < n->nargs; i++) {
        int rc = ev(n->args[i], in, rows, arena, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int arith(node *n, uint32_t rows, weir_error *err)
{
    node *a = n->args[0], *b = n->args[1];
    rt_col *o = &n->out;
    if (rt_type_phys(n->type) == RT_PHYS_F64) {
        for (uint32_t r = 0; r < rows; r++) {
            o->null[r] = nul(a, r) || nul(b, r);
            double x = dv(a, r), y = dv(b, r), z;
            switch (n->op) {
            case OP_ADD:
                z = x + y;
                break;
            case OP_SUB:
                z = x - y;
                break;
            case OP_MUL:
                z = x * y;
                break;
            case OP_DIV:
                z = x / y;
                break;
            default:
                z = fmod(x, y);
                break;
            }
            o->f64[r] = n->type.kind == RT_FLOAT ? (float)z : z;
        }
        return 0;
    }
    if (n->type.kind == RT_DECIMAL) {
        unsigned s = n->type.scale, sa = scale_of(a->type), sb = scale_of(b->type);
        for (uint32_t r = 0; r < rows; r++) {
            if (nul(a, r) || nul(b, r)) {
                expr_set_null(o, r);
                continue;
            }
            rt_i128 x = raw(a, r), y = raw(b, r), z = 0;
            bool ok;
            switch (n->op) {
            case OP_ADD:
                ok = rt_dec_add(x, sa, y, sb, s, &z);
                break;
            case OP_SUB:
                ok = rt_dec_sub(x, sa, y, sb, s, &z);
                break;
            case OP_MUL:
                ok = rt_dec_mul(x, sa, y, sb, s, &z);
                break;
            default:
                if (y == 0)
                    ROW_FAIL(n, o, r, "division by zero", next_dec);
                ok = n->op == OP_DIV ? rt_dec_div(x, sa, y, sb, s, &z)
                                     : rt_dec_mod(x, sa, y, sb, s, &z);
                break;
            }
            put_dec(o, r, z, ok);
        next_dec:;
        }
        return 0;
    }
    rt_kind k = (rt_kind)n->type.kind;
    for (uint32_t r = 0; r < rows; r++) {
        o->null[r] = nul(a, r) || nul(b, r);
        uint64_t x = (uint64_t)iv(a, r), y = (uint64_t)iv(b, r);
        int64_t z;
        switch (n->op) {
        case OP_ADD:
            z = (int64_t)(x + y);
            break;
        case OP_SUB:
            z = (int64_t)(x - y);
            break;
        case OP_MUL:
            z = (int64_t)(x * y);
            break;
        default:
            if (o->null[r]) {
                z = 0;
                break;
            }
            if (y == 0)
                ROW_FAIL(n, o, r, "division by zero", next_int);
            if ((int64_t)y == -1)
                z = n->op == OP_DIV ? (int64_t)(0 - x) : 0;
            else
                z = n->op == OP_DIV ? (int64_t)x / (int64_t)y : (int64_t)x % (int64_t)y;
            break;
        }
        o->i64[r] = wrap_int(k, z);
    next_int:;
    }
    return 0;
}

static int compare_rows(node *n, uint32_t rows)
{
    node *a = n->args[0], *b = n->args[1];
    rt_col *o = &n->out;
    rt_type ta = a->type, tb = b->type;
    int mode; /* 0 int, 1 double, 2 decimal, 3 string, 4 temporal */
    if (rt_type_phys(ta) == RT_PHYS_STR || rt_type_phys(tb) == RT_PHYS_STR)
        mode = 3;
    else if (rt_type_phys(ta) == RT_PHYS_F64 || rt_type_phys(tb) == RT_PHYS_F64)
        mode = 1;
    else if (ta.kind == RT_DECIMAL || tb.kind == RT_DECIMAL)
        mode = 2;
    else if (ta.kind == RT_DATE || tb.kind == RT_DATE)
        mode = 4;
    else
        mode = 0;
    for (uint32_t r = 0; r < rows; r++) {
        o->null[r] = nul(a, r) || nul(b, r);
        int c;
        switch (mode) {
        case 1: {
            double x = dv(a, r), y = dv(b, r);
            c = x < y ? -1 : x > y ? 1 : 0;
            break;
        }
        case 2:
            c = o->null[r] ? 0 : rt_dec_cmp(raw(a, r), scale_of(ta), raw(b, r), scale_of(tb));
            break;
        case 3: {
            if (o->null[r]) {
                c = 0;
                break;
            }
            rt_str x = sv(a, r), y = sv(b, r);
            uint32_t m = x.len < y.len ? x.len : y.len;
            c = m ? memcmp(x.ptr, y.ptr, m) : 0;
            if (c == 0)
                c = x.len < y.len ? -1 : x.len > y.len ? 1 : 0;
            break;
        }
        case 4: {
            int64_t x = ts_ms(a, r), y = ts_ms(b, r);
            c = x < y ? -1 : x > y ? 1 : 0;
            break;
        }
        default: {
            int64_t x = iv(a, r), y = iv(b, r);
            c = x < y ? -1 : x > y ? 1 : 0;
            break;
        }
        }
        bool v;
        switch (n->op) {
        case OP_EQ:
            v = c == 0;
            break;
        case OP_NE:
            v = c != 0;
            break;
        case OP_LT:
            v = c < 0;
            break;
        case OP_LE:
            v = c <= 0;
            break;
        case OP_GT:
            v = c > 0;
            break;
        default:
            v = c >= 0;
            break;
        }
        o->i64[r] = v;
    }
    return 0;
}

static int strings(node *n, uint32_t rows, rt_arena *arena, weir_error *err)
{
    node **a = n->args;
    rt_col *o = &n->out;
    for (uint32_t r = 0; r < rows; r++) {
        o->null[r] = 0;
        o->str[r] = (rt_str){NULL, 0};
        if (n->op != OP_CONCAT_WS && n->op != OP_TRIM) {
            bool any = false;
            for (uint32_t i = 0; i < n->nargs; i++)
                any |= nul(a[i], r);
            if (any) {
                o->null[r] = 1;
                continue;
            }
        }
        switch (n->op) {
        case OP_UPPER:
        case OP_LOWER:
        case OP_INITCAP: {
            rt_str s = sv(a[0], r);
            char *p = arena_buf(arena, s.len);
            if (!p)
                return WEIR_ENOMEM;
            bool start = true;
            for (uint32_t i = 0; i < s.len; i++) {
                unsigned char c = (unsigned char)s.ptr[i];
                if (n->op == OP_UPPER)
                    p[i] = (char)toupper(c);
                else if (n->op == OP_LOWER)
                    p[i] = (char)tolower(c);
                else {
                    p[i] = (char)(start ? toupper(c) : tolower(c));
                    start = !isalnum(c);
                }
            }
            o->str[r] = (rt_str){p, s.len};
            break;
        }
        case OP_TRIM:
        case OP_LTRIM:
        case OP_RTRIM: {
            node *src = a[n->nargs - 1];
            if (nul(src, r) || (n->nargs == 3 && nul(a[1], r))) {
                o->null[r] = 1;
                break;
            }
            rt_str s = sv(src, r), set = {" ", 1};
            if (n->nargs == 3)
                set = sv(a[1], r);
            int side = n->op == OP_LTRIM ? 1 : n->op == OP_RTRIM ? 2 : n->unit;
            uint32_t b = 0, e = s.len;
            if (side != 2)
                while (b < e && in_set(s.ptr[b], set))
                    b++;
            if (side != 1)
                while (e > b && in_set(s.ptr[e - 1], set))
                    e--;
            o->str[r] = (rt_str){s.ptr ? s.ptr + b : NULL, e - b};
            break;
        }
        case OP_SUBSTRING: {
            rt_str s = sv(a[0], r);
            int64_t pos = iv(a[1], r), len = n->nargs == 3 ? iv(a[2], r) : INT64_MAX;
            if (len < 0) {
                o->null[r] = 1;
                break;
            }
            int64_t nc = utf8_len(s);
            int64_t start = pos > 0 ? pos - 1 : pos < 0 ? nc + pos : 0;
            if (start < 0)
                start = 0;
            int64_t end = len == INT64_MAX || start + len > nc ? nc : start + len;
            if (start >= nc || end <= start) {
                o->str[r] = (rt_str){NULL, 0};
                break;
            }
            uint32_t bs = utf8_offset(s, (uint32_t)start), be = utf8_offset(s, (uint32_t)end);
            o->str[r] = (rt_str){s.ptr + bs, be - bs};
            break;
        }
        case OP_CONCAT:
        case OP_CONCAT_WS: {
            uint32_t first = n->op == OP_CONCAT_WS ? 1 : 0;
            if (n->op == OP_CONCAT_WS && nul(a[0], r)) {
                o->null[r] = 1;
                break;
            }
            rt_str sep = n->op == OP_CONCAT_WS ? sv(a[0], r) : (rt_str){NULL, 0};
            size_t total = 0;
            for (uint32_t i = first; i < n->nargs; i++)
                if (!nul(a[i], r))
                    total += sv(a[i], r).len + sep.len;
            char *p = arena_buf(arena, total);
            if (!p)
                return WEIR_ENOMEM;
            size_t k = 0;
            bool had = false;
            for (uint32_t i = first; i < n->nargs; i++) {
                if (nul(a[i], r))
                    continue;
                if (had && sep.len) {
                    memcpy(p + k, sep.ptr, sep.len);
                    k += sep.len;
                }
                rt_str s = sv(a[i], r);
                if (s.len)
                    memcpy(p + k, s.ptr, s.len);
                k += s.len;
                had = true;
            }
            o->str[r] = (rt_str){p, (uint32_t)k};
            break;
        }
        case OP_REPLACE: {
            rt_str s = sv(a[0], r), f = sv(a[1], r), t = sv(a[2], r);
            if (f.len == 0) {
                o->str[r] = s;
                break;
            }
            size_t cnt = 0;
            for (uint32_t i = 0; i + f.len <= s.len;)
                if (!memcmp(s.ptr + i, f.ptr, f.len))
                    cnt++, i += f.len;
                else
                    i++;
            size_t total = s.len + cnt * t.len - cnt * f.len;
            char *p = arena_buf(arena, total);
            if (!p)
                return WEIR_ENOMEM;
            size_t k = 0;
            for (uint32_t i = 0; i < s.len;) {
                if (i + f.len <= s.len && !memcmp(s.ptr + i, f.ptr, f.len)) {
                    if (t.len)
                        memcpy(p + k, t.ptr, t.len);
                    k += t.len;
                    i += f.len;
                } else
                    p[k++] = s.ptr[i++];
            }
            o->str[r] = (rt_str){p, (uint32_t)k};
            break;
        }
        case OP_REGEXP_EXTRACT:
        case OP_REGEXP_REPLACE: {
            regex_t tmp, *re;
            bool own;
            if (!(re = row_regex(n, sv(a[1], r), &tmp, &own)))
                return fail(err, n, "invalid regular expression", NULL);
            regmatch_t m[10];
            char *cs;
            rt_str s = sv(a[0], r);
            if (n->op == OP_REGEXP_EXTRACT) {
                int64_t g = n->nargs == 3 ? iv(a[2], r) : 1;
                if (!regex_find(re, s, arena, m, 10, &cs) || g < 0 || g > 9 ||
                    (size_t)g > re->re_nsub || m[g].rm_so < 0)
                    o->null[r] = 1;
                else
                    o->str[r] = (rt_str){cs + m[g].rm_so, (uint32_t)(m[g].rm_eo - m[g].rm_so)};
            } else {
                rt_str rep = sv(a[2], r);
                char *buf = arena_buf(arena, s.len + 1);
                if (!buf)
                    return WEIR_ENOMEM;
                memcpy(buf, s.ptr ? s.ptr : "", s.len);
                buf[s.len] = '\0';
                size_t cap = s.len * 2 + rep.len * 4 + 16, k = 0;
                char *out = arena_buf(arena, cap);
                const char *p = buf;
                while (out && *p && regexec(re, p, 1, m, p == buf ? 0 : REG_NOTBOL) == 0) {
                    size_t pre = (size_t)m[0].rm_so;
                    size_t need = k + pre + rep.len + 1;
                    if (need > cap) {
                        size_t nc = need * 2 + s.len;
                        char *no = arena_buf(arena, nc);
                        if (!no)
                            return WEIR_ENOMEM;
                        memcpy(no, out, k);
                        out = no;
                        cap = nc;
                    }
                    memcpy(out + k, p, pre);
                    k += pre;
                    memcpy(out + k, rep.ptr, rep.len);
                    k += rep.len;
                    if (m[0].rm_eo == m[0].rm_so) {
                        out[k++] = p[m[0].rm_so];
                        p += m[0].rm_so + 1;
                    } else
                        p += m[0].rm_eo;
                }
                if (!out)
                    return WEIR_ENOMEM;
                size_t rest = strlen(p);
                if (k + rest > cap) {
                    char *no = arena_buf(arena, k + rest);
                    if (!no)
                        return WEIR_ENOMEM;
                    memcpy(no, out, k);
                    out = no;
                }
                memcpy(out + k, p, rest);
                o->str[r] = (rt_str){out, (uint32_t)(k + rest)};
            }
            if (own)
                regfree(&tmp);
            break;
        }
        case OP_SPLIT_INDEX: {
            rt_str s = sv(a[0], r), sep = sv(a[1], r);
            int64_t idx = iv(a[2], r);
            if (sep.len == 0 || idx < 0) {
                o->null[r] = 1;
                break;
            }
            uint32_t start = 0;
            int64_t k = 0;
            bool found = false;
            for (uint32_t i = 0; i <= s.len;) {
                bool at_sep = i + sep.len <= s.len && !memcmp(s.ptr + i, sep.ptr, sep.len);
                if (at_sep || i == s.len) {
                    if (k == idx) {
                        o->str[r] = (rt_str){s.ptr ? s.ptr + start : NULL, i - start};
                        found = true;
                        break;
                    }
                    k++;
                    if (i == s.len)
                        break;
                    i += sep.len;
                    start = i;
                } else
                    i++;
            }
            if (!found)
                o->null[r] = 1;
            break;
        }
        case OP_LPAD:
        case OP_RPAD: {
            rt_str s = sv(a[0], r), pad = sv(a[2], r);
            int64_t len = iv(a[1], r);
            if (len < 0 || (pad.len == 0 && (uint64_t)len > utf8_len(s))) {
                o->null[r] = 1;
                break;
            }
            uint32_t have = utf8_len(s);
            if ((uint64_t)len <= have) {
                o->str[r] = (rt_str){s.ptr, utf8_offset(s, (uint32_t)len)};
                break;
            }
            size_t fill = (size_t)len - have;
            char *p = arena_buf(arena, s.len + fill * 4);
            if (!p)
                return WEIR_ENOMEM;
            size_t k = 0;
            if (n->op == OP_RPAD) {
                memcpy(p, s.ptr, s.len);
                k = s.len;
            }
            for (size_t i = 0; i < fill; i++)
                p[k++] = pad.ptr[i % pad.len];
            if (n->op == OP_LPAD) {
                memcpy(p + k, s.ptr, s.len);
                k += s.len;
            }
            o->str[r] = (rt_str){p, (uint32_t)k};
            break;
        }
        default:
            break;
        }
    }
    return 0;
}

/* CASE and COALESCE: every argument evaluated leniently (see ROW_FAIL); a row fails only when
 * a condition or value it actually needs failed on it. */
static int eval_lazy(node *n, const rt_batch *in, uint32_t rows, rt_arena *arena, weir_error *err)
{
    node **a = n->args;
    rt_col *o = &n->out;
    size_t need = (size_t)rows * n->nargs;
    if (need > n->fails_cap) {
        uint8_t *f = realloc(n->fails, need);
        if (!f)
            return weir_error_set(err, WEIR_ENOMEM, "out of memory");
        n->fails = f;
        n->fails_cap = need;
    }
    memset(n->fails, 0, need);
    uint8_t *outer = lenient_rows;
    for (uint32_t i = 0; i < n->nargs; i++) {
        lenient_rows = n->fails + (size_t)i * rows;
        int rc = ev(a[i], in, rows, arena, err);
        lenient_rows = outer;
        if (rc)
            return rc;
    }
    for (uint32_t r = 0; r < rows; r++) {
        int pick = -1;
        if (n->op == OP_CASE) {
            uint32_t i;
            for (i = 0; i + 1 < n->nargs; i += 2) {
                if (n->fails[(size_t)i * rows + r]) {
                    pick = (int)i; /* a condition this row needed failed */
                    break;
                }
                if (!nul(a[i], r) && iv(a[i], r)) {
                    pick = (int)i + 1;
                    break;
                }
            }
            if (pick < 0 && n->nargs % 2 == 1)
                pick = (int)n->nargs - 1;
        } else {
            for (uint32_t i = 0; i < n->nargs && pick < 0; i++)
                if (n->fails[(size_t)i * rows + r] || !nul(a[i], r))
                    pick = (int)i;
        }
        if (pick >= 0 && n->fails[(size_t)pick * rows + r]) {
            /* the branch this row needs failed on it: the error is real */
            if (!outer)
                return weir_error_set(err, WEIR_ERANGE, "%s", lenient_msg);
            outer[r] = 1;
            expr_set_null(o, r);
            continue;
        }
        if (pick >= 0)
            put_converted(n, r, a[pick], r);
        else
            expr_set_null(o, r);
    }
    return 0;
}

/* ROUND(x, d) of a DOUBLE as Flink computes it: BigDecimal.valueOf(x) (the shortest decimal
 * that reads back as x) rounded HALF_UP to d places, back to the nearest double. The fast path,
 * round(x * 10^d) / 10^d, gives the same result unless x * 10^d is within the product's error of
 * a half (or too large to be exact); those go through the decimal digits. */
static double round_double(double x, int64_t d)
{
    if (!isfinite(x) || x == 0)
        return x;
    if (d >= 0 && d <= 22) {
        double m = P10D[d], y = x * m;
        double frac = fabs(y - trunc(y));
        if (fabs(y) < 1073741824.0 && fabs(frac - 0.5) > 1e-6)
            return round(y) / m;
    }
    if (d > 340)
        return x;
    char buf[40];
    int p = 1;
    for (; p <= 17; p++) { /* the shortest digits that read back as x */
        snprintf(buf, sizeof(buf), "%.*e", p - 1, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    /* buf: [-]D[.DDD]e±XX -> digits, decimal exponent: x = 0.digits * 10^(e + 1) */
    bool neg = buf[0] == '-';
    char digits[24];
    int n = 0;
    const char *c = buf + neg;
    for (; *c && *c != 'e'; c++)
        if (*c != '.')
            digits[n++] = *c;
    int e = atoi(c + 1) + 1;
    int64_t keep = (int64_t)e + d; /* digits before the rounding position */
    if (keep >= n)
        return x; /* nothing to round away */
    if (keep < 0)
        return neg ? -0.0 : 0.0;
    bool up = digits[keep] >= '5';
    n = (int)keep;
    for (int i = n - 1; up && i >= 0; i--) {
        if (digits[i] == '9')
            digits[i] = '0';
        else {
            digits[i]++;
            up = false;
        }
    }
    char out[48];
    if (up) /* 9.99 -> 10.0: one more integer digit */
        snprintf(out, sizeof(out), "%s0.1e%d", neg ? "-" : "", e + 1);
    else if (n == 0)
        return neg ? -0.0 : 0.0;
    else
        snprintf(out, sizeof(out), "%s0.%.*se%d", neg ? "-" : "", n, digits, e);
    return strtod(out, NULL);
}

static int ev(node *n, const rt_batch *in, uint32_t rows, rt_arena *arena, weir_error *err)
{
    if (n->op == OP_COL) {
        const rt_col *c = &in->cols[n->col];
        n->out.null = c->null;
        n->out.i64 = c->i64;
        return 0;
    }
    if (n->is_const)
        return 0;
    int rc = expr_node_reserve(n, rows);
    if (rc)
        return weir_error_set(err, rc, "out of memory");
    if (n->op == OP_CASE || n->op == OP_COALESCE)
        return eval_lazy(n, in, rows, arena, err);
    if ((rc = eval_args(n, in, rows, arena, err)))
        return rc;
    node **a = n->args;
    rt_col *o = &n->out;
    switch (n->op) {
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV:
    case OP_MOD:
        return arith(n, rows, err);
    case OP_NEG:
    case OP_ABS:
        for (uint32_t r = 0; r < rows; r++) {
            o->null[r] = nul(a[0], r);
            if (rt_type_phys(n->type) == RT_PHYS_F64) {
                double x = dv(a[0], r);
                o->f64[r] = n->op == OP_NEG ? -x : fabs(x);
            } else if (rt_type_phys(n->type) == RT_PHYS_I128) {
                rt_i128 x = o->null[r] ? 0 : raw(a[0], r); /* |x| < 10^38: negation is exact */
                o->i128[r] = n->op == OP_NEG || x < 0 ? -x : x;
            } else {
                int64_t x = iv(a[0], r);
                bool neg = n->op == OP_NEG || x < 0;
                o->i64[r] = wrap_int((rt_kind)n->type.kind, neg ? (int64_t)(0 - (uint64_t)x) : x);
            }
        }
        return 0;
    case OP_EQ:
    case OP_NE:
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
        return compare_rows(n, rows);
    case OP_AND:
    case OP_OR: {
        bool is_and = n->op == OP_AND;
        for (uint32_t r = 0; r < rows; r++) {
            bool any_null = false, decided = false;
            for (uint32_t i = 0; i < n->nargs; i++) {
                if (nul(a[i], r)) {
                    any_null = true;
                    continue;
                }
                if ((iv(a[i], r) != 0) != is_and) {
                    decided = true;
                    break;
                }
            }
            o->null[r] = !decided && any_null;
            o->i64[r] = decided ? !is_and : is_and;
        }
        return 0;
    }
    case OP_NOT:
        for (uint32_t r = 0; r < rows; r++) {
            o->null[r] = nul(a[0], r);
            o->i64[r] = !iv(a[0], r);
        }
        return 0;
    case OP_IS_NULL:
    case OP_IS_NOT_NULL:
    case OP_IS_TRUE:
    case OP_IS_FALSE:
    case OP_IS_NOT_TRUE:
    case OP_IS_NOT_FALSE:
        for (uint32_t r = 0; r < rows; r++) {
            bool isn = nul(a[0], r), t = !isn && iv(a[0], r), f = !isn && !iv(a[0], r);
            bool v;
            switch (n->op) {
            case OP_IS_NULL:
                v = isn;
                break;
            case OP_IS_NOT_NULL:
                v = !isn;
                break;
            case OP_IS_TRUE:
                v = t;
                break;
            case OP_IS_FALSE:
                v = f;
                break;
            case OP_IS_NOT_TRUE:
                v = !t;
                break;
            default:
                v = !f;
                break;
            }
            o->null[r] = 0;
            o->i64[r] = v;
        }
        return 0;
    case OP_CASE:
        for (uint32_t r = 0; r < rows; r++) {
            node *pick = NULL;
            uint32_t i;
            for (i = 0; i + 1 < n->nargs; i += 2)
                if (!nul(a[i], r) && iv(a[i], r)) {
                    pick = a[i + 1];
                    break;
                }
            if (!pick && n->nargs % 2 == 1)
                pick = a[n->nargs - 1];
            if (pick)
                put_converted(n, r, pick, r);
            else
                expr_set_null(o, r);
        }
        return 0;
    case OP_COALESCE:
        for (uint32_t r = 0; r < rows; r++) {
            node *pick = NULL;
            for (uint32_t i = 0; i < n->nargs && !pick; i++)
                if (!nul(a[i], r))
                    pick = a[i];
            if (pick)
                put_converted(n, r, pick, r);
            else
                expr_set_null(o, r);
        }
        return 0;
    case OP_CAST:
    case OP_TRY_CAST:
        for (uint32_t r = 0; r < rows; r++) {
            weir_error ce = {0};
            rc = expr_cast_value(a[0]->type, n->type, &a[0]->out, IX(a[0], r), o, r, arena, &ce);
            if (rc == WEIR_ENOMEM)
                return weir_error_set(err, rc, "out of memory");
            if (rc) {
                if (n->op == OP_TRY_CAST) {
                    expr_set_null(o, r);
                    continue;
                }
                if (lenient_rows) {
                    lenient_rows[r] = 1;
                    snprintf(lenient_msg, sizeof(lenient_msg), "%s: %s", n->path, ce.msg);
                    expr_set_null(o, r);
                    continue;
                }
                return weir_error_set(err, rc, "%s: %s", n->path, ce.msg);
            }
        }
        return 0;
    case OP_LIKE:
        for (uint32_t r = 0; r < rows; r++) {
            o->null[r] = nul(a[0], r) || nul(a[1], r) || (n->nargs == 3 && nul(a[2], r));
            if (o->null[r]) {
                o->i64[r] = 0;
                continue;
            }
            rt_str s = sv(a[0], r), p = sv(a[1], r);
            int esc = n->nargs == 3 && sv(a[2], r).len ? (unsigned char)sv(a[2], r).ptr[0] : -1;
            o->i64[r] = like_match(s.ptr, s.len, p.ptr, p.len, esc);
        }
        return 0;
    case OP_CHAR_LENGTH:
        for (uint32_t r = 0; r < rows; r++) {
            o->null[r] = nul(a[0], r);
            o->i64[r] = o->null[r] ? 0 : utf8_len(sv(a[0], r));
        }
        return 0;
    case OP_UPPER:
    case OP_LOWER:
    case OP_INITCAP:
    case OP_TRIM:
    case OP_LTRIM:
    case OP_RTRIM:
    case OP_SUBSTRING:
    case OP_CONCAT:
    case OP_CONCAT_WS:
    case OP_REPLACE:
    case OP_REGEXP_EXTRACT:
    case OP_REGEXP_REPLACE:
    case OP_SPLIT_INDEX:
    case OP_LPAD:
    case OP_RPAD:
        rc = strings(n, rows, arena, err);
        return rc == WEIR_ENOMEM ? weir_error_set(err, rc, "out of memory") : rc;
    case OP_ROUND:
    case OP_FLOOR:
    case OP_CEIL:
        for (uint32_t r = 0; r < rows; r++) {
            o->null[r] = nul(a[0], r) || (n->nargs == 2 && nul(a[1], r));
            int64_t d = n->nargs == 2 ? iv(a[1], r) : 0;
            if (rt_type_phys(n->type) == RT_PHYS_F64) {
                double x = dv(a[0], r);
                if (n->op == OP_FLOOR)
                    o->f64[r] = floor(x);
                else if (n->op == OP_CEIL)
                    o->f64[r] = ceil(x);
                else
                    o->f64[r] = round_double(x, d);
            } else if (n->type.kind == RT_DECIMAL) {
                if (o->null[r]) {
                    expr_set_null(o, r);
                    continue;
                }
                unsigned sa = scale_of(a[0]->type), to = n->type.scale;
                rt_i128 x = raw(a[0], r), q = 0;
                bool ok = true;
                if (n->op == OP_ROUND) {
                    /* HALF_UP to d digits (d < 0: to tens, hundreds ...), then the type's scale */
                    int64_t dd = d < -38 ? -38 : d;
                    if (dd >= (int64_t)sa) {
                        ok = rt_dec_rescale(x, sa, to, &q);
                    } else if (dd >= 0) {
                        ok = rt_dec_rescale(x, sa, (unsigned)dd, &q) &&
                             rt_dec_rescale(q, (unsigned)dd, to, &q);
                    } else {
                        unsigned k = (unsigned)-dd; /* x / 10^(sa + k), rounded, times 10^k */
                        ok = rt_dec_rescale(x, sa + k, 0, &q) && rt_dec_rescale(q, 0, k, &q) &&
                             rt_dec_rescale(q, 0, to, &q);
                    }
                } else {
                    rt_i128 p = rt_dec_pow10(sa), whole = x / p, rem = x % p;
                    if (n->op == OP_FLOOR && rem < 0)
                        whole--;
                    if (n->op == OP_CEIL && rem > 0)
                        whole++;
                    ok = rt_dec_rescale(whole, 0, to, &q);
                }
                put_dec(o, r, q, ok);
            } else {
                int64_t x = iv(a[0], r);
                if (n->op == OP_ROUND && d < 0 && d > -19) {
                    int64_t m = P10[-d];
                    int64_t q = x / m, rem = x % m;
                    if (rem * 2 >= m)
                        q++;
                    else if (rem * 2 <= -m)
                        q--;
                    x = (int64_t)((uint64_t)q * (uint64_t)m);
                }
                o->i64[r] = wrap_int((rt_kind)n->type.kind, x);
            }
        }
        return 0;
    case OP_POWER:
    case OP_SQRT:
    case OP_LN:
    case OP_LOG10:
    case OP_EXP:
        for (uint32_t r = 0; r < rows; r++) {
            o->null[r] = nul(a[0], r) || (n->nargs == 2 && nul(a[1], r));
            double x = dv(a[0], r);
            switch (n->op) {
            case OP_POWER:
                o->f64[r] = pow(x, dv(a[1], r));
                break;
            case OP_SQRT:
                o->f64[r] = sqrt(x);
                break;
            case OP_LN:
                o->f64[r] = log(x);
                break;
            case OP_LOG10:
                o->f64[r] = log10(x);
                break;
            default:
                o->f64[r] = exp(x);
                break;
            }
        }
        return 0;
    case OP_CURRENT_TIMESTAMP:
    case OP_LOCALTIMESTAMP:
    case OP_PROCTIME:
    case OP_CURRENT_DATE: {
        int64_t now = expr_now_ms();
        int64_t v = n->op == OP_CURRENT_DATE ? rt_floor_div(now, 86400000) : now;
        for (uint32_t r = 0; r < rows; r++) {
            o->null[r] = 0;
            o->i64[r] = v;
        }
        return 0;
    }
    case OP_DATE_FORMAT:
    case OP_FROM_UNIXTIME:
        for (uint32_t r = 0; r < rows; r++) {
            o->null[r] = nul(a[0], r) || (n->nargs == 2 && nul(a[1], r));
            if (o->null[r])
                continue;
            int64_t ms;
            if (n->op == OP_FROM_UNIXTIME)
                ms = iv(a[0], r) * 1000;
            else if (rt_type_phys(a[0]->type) == RT_PHYS_STR) {
                rt_str s = sv(a[0], r);
                if (!expr_parse_timestamp(s.ptr, s.len, &ms)) {
                    o->null[r] = 1;
                    continue;
                }
            } else
                ms = ts_ms(a[0], r);
            rt_str f = n->nargs == 2 ? sv(a[1], r) : (rt_str){"yyyy-MM-dd HH:mm:ss", 19};
            char buf[256];
            size_t len = expr_format_time(ms, f.ptr, f.len, buf, sizeof(buf));
            if (len >= sizeof(buf))
                len = sizeof(buf) - 1;
            bool ok = true;
            o->str[r] = rt_arena_strdup(arena, buf, (uint32_t)len, &ok);
            if (!ok)
                return weir_error_set(err, WEIR_ENOMEM, "out of memory");
        }
        return 0;
    case OP_TO_TIMESTAMP:
    case OP_UNIX_TIMESTAMP:
        for (uint32_t r = 0; r < rows; r++) {
            if (n->op == OP_UNIX_TIMESTAMP && n->nargs == 0) {
                o->null[r] = 0;
                o->i64[r] = rt_floor_div(expr_now_ms(), 1000);
                continue;
            }
            o->null[r] = nul(a[0], r) || (n->nargs == 2 && nul(a[1], r));
            if (o->null[r])
                continue;
            rt_str s = sv(a[0], r);
            int64_t ms;
            bool ok = n->nargs == 2 ? expr_parse_with_format(s.ptr, s.len, sv(a[1], r).ptr,
                                                             sv(a[1], r).len, &ms)
                                    : expr_parse_timestamp(s.ptr, s.len, &ms);
            o->null[r] = !ok;
            o->i64[r] = ok ? (n->op == OP_UNIX_TIMESTAMP ? rt_floor_div(ms, 1000) : ms) : 0;
        }
        return 0;
    case OP_TO_TIMESTAMP_LTZ:
        for (uint32_t r = 0; r < rows; r++) {
            o->null[r] = nul(a[0], r) || (n->nargs == 2 && nul(a[1], r));
            int64_t p = n->nargs == 2 ? iv(a[1], r) : 3;
            if (!o->null[r] && p != 0 && p != 3)
                return fail(err, n, "the precision of TO_TIMESTAMP_LTZ is 0 or 3", NULL);
            if (rt_type_phys(a[0]->type) == RT_PHYS_F64 || a[0]->type.kind == RT_DECIMAL)
                o->i64[r] = (int64_t)(dv(a[0], r) * (p == 0 ? 1000.0 : 1.0));
            else
                o->i64[r] = (int64_t)((uint64_t)iv(a[0], r) * (p == 0 ? 1000u : 1u));
        }
        return 0;
    case OP_EXTRACT:
        for (uint32_t r = 0; r < rows; r++) {
            o->null[r] = nul(a[1], r);
            o->i64[r] = o->null[r] ? 0 : expr_extract(n->unit, ts_ms(a[1], r));
        }
        return 0;
    case OP_TIMESTAMPADD:
        for (uint32_t r = 0; r < rows; r++) {
            o->null[r] = nul(a[1], r) || nul(a[2], r);
            if (o->null[r])
                continue;
            int64_t v = expr_timestamp_add(n->unit, iv(a[1], r), ts_ms(a[2], r));
            o->i64[r] = n->type.kind == RT_DATE ? rt_floor_div(v, 86400000) : v;
        }
        return 0;
    case OP_TIMESTAMPDIFF:
        for (uint32_t r = 0; r < rows; r++) {
            o->null[r] = nul(a[1], r) || nul(a[2], r);
            o->i64[r] = o->null[r]
                            ? 0
                            : (int32_t)expr_timestamp_diff(n->unit, ts_ms(a[1], r), ts_ms(a[2], r));
        }
        return 0;
    case OP_HASH_CODE:
        for (uint32_t r = 0; r < rows; r++) {
            o->null[r] = 0;
            if (nul(a[0], r)) {
                o->i64[r] = 0;
                continue;
            }
            if (rt_type_phys(a[0]->type) == RT_PHYS_STR) {
                rt_str s = sv(a[0], r);
                uint32_t h = 0;
                for (uint32_t i = 0; i < s.len; i++)
                    h = h * 31 + (unsigned char)s.ptr[i];
                o->i64[r] = (int32_t)h;
            } else if (rt_type_phys(a[0]->type) == RT_PHYS_I128) {
                rt_u128 w = (rt_u128)raw(a[0], r);
                uint64_t v = (uint64_t)w ^ (uint64_t)(w >> 64);
                o->i64[r] = (int32_t)(uint32_t)(v ^ (v >> 32));
            } else {
                uint64_t v = (uint64_t)iv(a[0], r);
                o->i64[r] = (int32_t)(uint32_t)(v ^ (v >> 32));
            }
        }
        return 0;
    default:
        return weir_error_set(err, WEIR_EINTERNAL, "%s: no evaluator for this node", n->path);
    }
}

int expr_eval_node(node *n, const rt_batch *in, uint32_t rows, rt_arena *arena, weir_error *err)
{
    return ev(n, in, rows, arena, err);
}

int rt_expr_eval(rt_expr *e, const rt_batch *in, rt_batch *out, uint32_t out_col, weir_error *err)
{
    node *n = e->root;
    uint32_t rows = in->n;
    int rc = ev(n, in, rows, &out->arena, err);
    if (rc)
        return rc;
    rt_col *d = &out->cols[out_col];
    rt_phys ph = rt_type_phys(n->type);
    if (n->is_const) {
        for (uint32_t r = 0; r < rows; r++) {
            d->null[r] = n->out.null[0];
            if (ph == RT_PHYS_STR)
                d->str[r] = n->out.str[0];
            else if (ph == RT_PHYS_I128)
                d->i128[r] = n->out.i128[0];
            else
                d->i64[r] = n->out.i64[0];
        }
        return 0;
    }
    memcpy(d->null, n->out.null, rows);
    size_t w = rt_phys_width(ph);
    memcpy(d->i64, n->out.i64, rows * w);
    return 0;
}

int rt_expr_eval_filter(rt_expr *e, const rt_batch *in, uint8_t *keep, weir_error *err)
{
    node *n = e->root;
    rt_arena_reset(&e->arena);
    int rc = ev(n, in, in->n, &e->arena, err);
    if (rc)
        return rc;
    for (uint32_t r = 0; r < in->n; r++) {
        uint32_t i = IX(n, r);
        keep[r] = !n->out.null[i] && n->out.i64[i];
    }
    return 0;
}
