/*
 * decimal.c - exact DECIMAL arithmetic up to precision 38 (see decimal.h): 128-bit values,
 * 256-bit intermediates held as sign and magnitude in four 64-bit limbs, HALF_UP rounding, and
 * Flink's result-type rules.
 *
 * Layer: runtime/ leaf.
 */
#include "runtime/types/decimal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- 256-bit magnitudes ------------------------------------------------------------------ */

typedef struct u256 {
    uint64_t w[4]; /* least significant first */
} u256;

static u256 u256_from(rt_u128 v)
{
    u256 r = {{(uint64_t)v, (uint64_t)(v >> 64), 0, 0}};
    return r;
}

static bool u256_is_zero(const u256 *a)
{
    return !(a->w[0] | a->w[1] | a->w[2] | a->w[3]);
}

static int u256_cmp(const u256 *a, const u256 *b)
{
    for (int i = 3; i >= 0; i--)
        if (a->w[i] != b->w[i])
            return a->w[i] < b->w[i] ? -1 : 1;
    return 0;
}

/* a + b; false when the sum needs more than 256 bits. */
static bool u256_add(u256 *r, const u256 *a, const u256 *b)
{
    rt_u128 carry = 0;
    for (int i = 0; i < 4; i++) {
        carry += (rt_u128)a->w[i] + b->w[i];
        r->w[i] = (uint64_t)carry;
        carry >>= 64;
    }
    return carry == 0;
}

/* a - b for a >= b. */
static void u256_sub(u256 *r, const u256 *a, const u256 *b)
{
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t x = a->w[i], y = b->w[i];
        uint64_t d = x - y - borrow;
        borrow = (x < y) || (x - y < borrow);
        r->w[i] = d;
    }
}

/* a *= m; false on overflow. */
static bool u256_mul_small(u256 *a, uint64_t m)
{
    rt_u128 carry = 0;
    for (int i = 0; i < 4; i++) {
        carry += (rt_u128)a->w[i] * m;
        a->w[i] = (uint64_t)carry;
        carry >>= 64;
    }
    return carry == 0;
}

/* a *= 10^k; false on overflow. */
static bool u256_mul_pow10(u256 *a, unsigned k)
{
    while (k > 0) {
        unsigned step = k > 19 ? 19 : k;
        uint64_t m = 1;
        for (unsigned i = 0; i < step; i++)
            m *= 10;
        if (!u256_mul_small(a, m))
            return false;
        k -= step;
    }
    return true;
}

/* a * b of two 128-bit magnitudes (always fits). */
static u256 u256_mul128(rt_u128 a, rt_u128 b)
{
    uint64_t x[2] = {(uint64_t)a, (uint64_t)(a >> 64)}, y[2] = {(uint64_t)b, (uint64_t)(b >> 64)};
    u256 r = {{0, 0, 0, 0}};
    for (int i = 0; i < 2; i++) {
        rt_u128 carry = 0;
        for (int j = 0; j < 2; j++) {
            carry += (rt_u128)x[i] * y[j] + r.w[i + j];
            r.w[i + j] = (uint64_t)carry;
            carry >>= 64;
        }
        r.w[i + 2] = (uint64_t)carry;
    }
    return r;
}

/* n / d (d != 0): quotient and remainder, by shift and subtract. */
static void u256_divmod(const u256 *n, const u256 *d, u256 *q, u256 *r)
{
    u256 quo = {{0, 0, 0, 0}}, rem = {{0, 0, 0, 0}};
    for (int bit = 255; bit >= 0; bit--) {
        /* rem = rem * 2 + bit; rem < d <= 2^256 - 1, so the top bit carries into `over` */
        bool over = rem.w[3] >> 63;
        for (int i = 3; i > 0; i--)
            rem.w[i] = (rem.w[i] << 1) | (rem.w[i - 1] >> 63);
        rem.w[0] = (rem.w[0] << 1) | ((n->w[bit / 64] >> (bit % 64)) & 1);
        if (over || u256_cmp(&rem, d) >= 0) {
            u256_sub(&rem, &rem, d); /* wraps correctly when `over` */
            quo.w[bit / 64] |= (uint64_t)1 << (bit % 64);
        }
    }
    *q = quo;
    *r = rem;
}

/* A signed 256-bit value as sign and magnitude. */
typedef struct s256 {
    u256 m;
    bool neg;
} s256;

static rt_u128 mag128(rt_i128 v)
{
    return v < 0 ? (rt_u128)0 - (rt_u128)v : (rt_u128)v;
}

static s256 s256_from(rt_i128 v)
{
    s256 r = {u256_from(mag128(v)), v < 0};
    return r;
}

/* a + b (b negated when `sub`); false on overflow. */
static bool s256_add(s256 *r, const s256 *a, const s256 *b, bool sub)
{
    bool bneg = b->neg != sub;
    if (a->neg == bneg) {
        r->neg = a->neg;
        return u256_add(&r->m, &a->m, &b->m);
    }
    if (u256_cmp(&a->m, &b->m) >= 0) {
        u256_sub(&r->m, &a->m, &b->m);
        r->neg = a->neg;
    } else {
        u256_sub(&r->m, &b->m, &a->m);
        r->neg = bneg;
    }
    return true;
}

static const u256 *pow10_256(unsigned k, u256 *buf)
{
    *buf = u256_from(1);
    u256_mul_pow10(buf, k); /* k <= 76 fits: 10^76 < 2^253 */
    return buf;
}

/* Rounds the magnitude m (at scale `from`) HALF_UP to scale `to` and narrows it to 128 bits. */
static bool s256_narrow(const s256 *v, unsigned from, unsigned to, rt_i128 *out)
{
    u256 m = v->m;
    if (to > from) {
        if (!u256_mul_pow10(&m, to - from))
            return false;
    } else if (to < from) {
        if (from - to > 76) {
            m = u256_from(0); /* smaller than half a unit of `to` */
        } else {
            u256 d, q, r, twice;
            pow10_256(from - to, &d);
            u256_divmod(&m, &d, &q, &r);
            bool ok = u256_add(&twice, &r, &r);
            if (!ok || u256_cmp(&twice, &d) >= 0) {
                u256 one = u256_from(1);
                if (!u256_add(&q, &q, &one))
                    return false;
            }
            m = q;
        }
    }
    if (m.w[2] || m.w[3] || (m.w[1] >> 63))
        return false;
    rt_i128 x = (rt_i128)(((rt_u128)m.w[1] << 64) | m.w[0]);
    *out = v->neg ? -x : x;
    return true;
}

/* --- public operations ------------------------------------------------------------------- */

rt_i128 rt_dec_pow10(unsigned n)
{
    rt_i128 p = 1;
    for (unsigned i = 0; i < n && i < 38; i++)
        p *= 10;
    return p;
}

bool rt_dec_fits(rt_i128 v, unsigned precision)
{
    if (precision >= 39)
        return true;
    return mag128(v) < (rt_u128)rt_dec_pow10(precision);
}

bool rt_dec_rescale(rt_i128 v, unsigned from, unsigned to, rt_i128 *out)
{
    if (from == to) {
        *out = v;
        return true;
    }
    s256 x = s256_from(v);
    return s256_narrow(&x, from, to, out);
}

static bool add_sub(rt_i128 a, unsigned sa, rt_i128 b, unsigned sb, unsigned to, rt_i128 *out,
                    bool sub)
{
    unsigned s = sa > sb ? sa : sb;
    s256 x = s256_from(a), y = s256_from(b), z;
    if (!u256_mul_pow10(&x.m, s - sa) || !u256_mul_pow10(&y.m, s - sb) ||
        !s256_add(&z, &x, &y, sub))
        return false;
    return s256_narrow(&z, s, to, out);
}

bool rt_dec_add(rt_i128 a, unsigned sa, rt_i128 b, unsigned sb, unsigned to, rt_i128 *out)
{
    return add_sub(a, sa, b, sb, to, out, false);
}

bool rt_dec_sub(rt_i128 a, unsigned sa, rt_i128 b, unsigned sb, unsigned to, rt_i128 *out)
{
    return add_sub(a, sa, b, sb, to, out, true);
}

bool rt_dec_mul(rt_i128 a, unsigned sa, rt_i128 b, unsigned sb, unsigned to, rt_i128 *out)
{
    s256 z = {u256_mul128(mag128(a), mag128(b)), (a < 0) != (b < 0)};
    return s256_narrow(&z, sa + sb, to, out);
}

bool rt_dec_div(rt_i128 a, unsigned sa, rt_i128 b, unsigned sb, unsigned to, rt_i128 *out)
{
    /* a / b at scale `to` = A * 10^(to + sb - sa) / B, rounded HALF_UP */
    int e = (int)to + (int)sb - (int)sa;
    u256 n = u256_from(mag128(a)), d = u256_from(mag128(b)), q, r, twice;
    if (u256_is_zero(&d))
        return false;
    if (e > 0 && !u256_mul_pow10(&n, (unsigned)e))
        return false; /* the quotient is at least 2^256 / 10^38: far beyond 38 digits */
    if (e < 0 && !u256_mul_pow10(&d, (unsigned)-e)) {
        *out = 0; /* the divisor exceeds 2^256: the quotient rounds to 0 */
        return true;
    }
    u256_divmod(&n, &d, &q, &r);
    if (!u256_add(&twice, &r, &r) || u256_cmp(&twice, &d) >= 0) {
        u256 one = u256_from(1);
        if (!u256_add(&q, &q, &one))
            return false;
    }
    s256 z = {q, (a < 0) != (b < 0)};
    return s256_narrow(&z, to, to, out);
}

bool rt_dec_mod(rt_i128 a, unsigned sa, rt_i128 b, unsigned sb, unsigned to, rt_i128 *out)
{
    unsigned s = sa > sb ? sa : sb;
    u256 x = u256_from(mag128(a)), y = u256_from(mag128(b)), q, r;
    if (b == 0 || !u256_mul_pow10(&x, s - sa) || !u256_mul_pow10(&y, s - sb))
        return false;
    u256_divmod(&x, &y, &q, &r);
    s256 z = {r, a < 0};
    return s256_narrow(&z, s, to, out);
}

int rt_dec_cmp(rt_i128 a, unsigned sa, rt_i128 b, unsigned sb)
{
    if (sa == sb)
        return a < b ? -1 : a > b ? 1 : 0;
    if ((a < 0) != (b < 0) || a == 0 || b == 0)
        return a < b ? -1 : a > b ? 1 : 0;
    unsigned s = sa > sb ? sa : sb;
    u256 x = u256_from(mag128(a)), y = u256_from(mag128(b));
    u256_mul_pow10(&x, s - sa); /* fits: below 10^38 * 10^38 */
    u256_mul_pow10(&y, s - sb);
    int c = u256_cmp(&x, &y);
    return a < 0 ? -c : c;
}

int rt_dec_parse(const char *s, size_t len, unsigned scale, rt_i128 *out)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)s[i]))
        i++;
    while (len > i && isspace((unsigned char)s[len - 1]))
        len--;
    bool neg = false;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    /* significant digits (leading zeros dropped) and where the decimal point is among them */
    char dig[80];
    size_t nd = 0, dropped = 0; /* digits beyond `dig` (only their first one matters) */
    long point = 0;             /* digits before the point, among the kept ones */
    bool dot = false, any = false;
    int first_dropped = 0;
    for (; i < len; i++) {
        char c = s[i];
        if (c == '.' && !dot) {
            dot = true;
            continue;
        }
        if (!isdigit((unsigned char)c))
            break;
        any = true;
        if (nd == 0 && c == '0') {
            if (dot)
                point--;
            continue;
        }
        if (nd < sizeof(dig)) {
            dig[nd++] = c;
            if (!dot)
                point++;
        } else {
            if (dropped++ == 0)
                first_dropped = c - '0';
            if (!dot)
                point++;
        }
    }
    if (!any)
        return -1;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            eneg = s[i++] == '-';
        long e = 0;
        bool edig = false;
        for (; i < len && isdigit((unsigned char)s[i]); i++) {
            edig = true;
            if (e < 100000)
                e = e * 10 + (s[i] - '0');
        }
        if (!edig)
            return -1;
        point += eneg ? -e : e;
    }
    if (i != len)
        return -1;
    /* the value at `scale` keeps the first point + scale digits; the next one rounds */
    if (nd == 0) {
        *out = 0;
        return 0;
    }
    if (point > RT_DECIMAL_MAX_PRECISION)
        return 1; /* 39 or more integral digits */
    long keep = point + (long)scale;
    rt_u128 v = 0;
    rt_u128 lim = (rt_u128)rt_dec_pow10(38);
    for (long k = 0; k < keep; k++) {
        int d = k < (long)nd ? dig[k] - '0' : 0;
        v = v * 10 + (rt_u128)d;
        if (v >= lim)
            return 1;
    }
    int next = keep < 0                      ? 0
               : keep < (long)nd             ? dig[keep] - '0'
               : keep == (long)nd && dropped ? first_dropped
                                             : 0;
    if (next >= 5 && ++v >= lim)
        return 1;
    *out = neg ? -(rt_i128)v : (rt_i128)v;
    return 0;
}

int rt_dec_format(rt_i128 v, unsigned scale, char *buf, size_t size)
{
    char tmp[48];
    size_t n = 0;
    rt_u128 m = mag128(v);
    do {
        tmp[n++] = (char)('0' + (int)(m % 10));
        m /= 10;
    } while (m);
    while (n <= scale)
        tmp[n++] = '0';
    char out[52];
    size_t o = 0;
    if (v < 0)
        out[o++] = '-';
    for (size_t k = n; k-- > 0;) {
        out[o++] = tmp[k];
        if (k == scale && scale > 0)
            out[o++] = '.';
    }
    out[o] = '\0';
    return snprintf(buf, size, "%s", out);
}

double rt_dec_to_double(rt_i128 v, unsigned scale)
{
    char buf[56];
    rt_dec_format(v, scale, buf, sizeof(buf));
    return strtod(buf, NULL);
}

bool rt_dec_from_double(double d, unsigned scale, rt_i128 *out)
{
    if (!isfinite(d))
        return false;
    /* Java's Double.toString digits: the shortest text that reads back as d */
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return rt_dec_parse(buf, strlen(buf), scale, out) == 0;
}

/* --- result types ------------------------------------------------------------------------ */

/* Flink's adjustPrecisionScale: above 38 digits the integral part wins, keeping at least
 * min(scale, 6) fractional digits. */
static rt_type adjust(unsigned p, unsigned s)
{
    if (p <= RT_DECIMAL_MAX_PRECISION)
        return rt_type_decimal(p < 1 ? 1 : p, s);
    unsigned whole = p - s;
    unsigned min_scale = s < 6 ? s : 6;
    unsigned keep = whole >= RT_DECIMAL_MAX_PRECISION ? 0 : RT_DECIMAL_MAX_PRECISION - whole;
    return rt_type_decimal(RT_DECIMAL_MAX_PRECISION, keep > min_scale ? keep : min_scale);
}

static unsigned umax(unsigned a, unsigned b)
{
    return a > b ? a : b;
}

static unsigned umin(unsigned a, unsigned b)
{
    return a < b ? a : b;
}

rt_type rt_dec_add_type(unsigned p1, unsigned s1, unsigned p2, unsigned s2)
{
    unsigned s = umax(s1, s2);
    return adjust(umax(p1 - s1, p2 - s2) + s + 1, s);
}

rt_type rt_dec_mul_type(unsigned p1, unsigned s1, unsigned p2, unsigned s2)
{
    return adjust(p1 + p2 + 1, s1 + s2);
}

rt_type rt_dec_div_type(unsigned p1, unsigned s1, unsigned p2, unsigned s2)
{
    unsigned s = umax(6, s1 + p2 + 1);
    return adjust(p1 - s1 + s2 + s, s);
}

rt_type rt_dec_mod_type(unsigned p1, unsigned s1, unsigned p2, unsigned s2)
{
    unsigned s = umax(s1, s2);
    return adjust(umin(p1 - s1, p2 - s2) + s, s);
}

rt_type rt_dec_common_type(unsigned p1, unsigned s1, unsigned p2, unsigned s2)
{
    unsigned d = umin(umax(p1 - s1, p2 - s2), RT_DECIMAL_MAX_PRECISION);
    unsigned s = umin(umax(s1, s2), RT_DECIMAL_MAX_PRECISION - d);
    return rt_type_decimal(d + s < 1 ? 1 : d + s, s);
}

rt_type rt_dec_round_type(unsigned p, unsigned s, int r)
{
    if (r >= (int)s)
        return rt_type_decimal(p, s);
    if (r < 0)
        return rt_type_decimal(umin(RT_DECIMAL_MAX_PRECISION, 1 + p - s), 0);
    return rt_type_decimal(umin(RT_DECIMAL_MAX_PRECISION, 1 + p - s + (unsigned)r), (unsigned)r);
}

rt_type rt_dec_sum_type(unsigned s)
{
    return rt_type_decimal(RT_DECIMAL_MAX_PRECISION, s);
}

rt_type rt_dec_avg_type(unsigned s)
{
    return rt_dec_div_type(RT_DECIMAL_MAX_PRECISION, s, 20, 0);
}
