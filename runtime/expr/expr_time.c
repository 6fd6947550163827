/*
 * expr_time.c - date and time helpers of the expression evaluator: civil calendar arithmetic,
 * parsing and formatting with Java SimpleDateFormat-style patterns, EXTRACT, TIMESTAMPADD and
 * TIMESTAMPDIFF. The session time zone is UTC.
 *
 * Layer: runtime/expr (internal).
 */
#include "runtime/expr/expr_int.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static _Atomic int64_t fixed_clock;

void rt_expr_set_clock(int64_t fixed_epoch_ms)
{
    atomic_store(&fixed_clock, fixed_epoch_ms);
}

int64_t expr_now_ms(void)
{
    int64_t f = atomic_load(&fixed_clock);
    if (f)
        return f;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool digits(const char *s, size_t len, size_t *i, int n, int *out)
{
    int v = 0, k = 0;
    while (k < n && *i < len && isdigit((unsigned char)s[*i])) {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        k++;
    }
    *out = v;
    return k > 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

bool expr_parse_date(const char *s, size_t len, int64_t *days)
{
    size_t i = 0;
    while (i < len && s[i] == ' ')
        i++;
    int y, m, d;
    if (!digits(s, len, &i, 4, &y) || i >= len || s[i++] != '-' || !digits(s, len, &i, 2, &m) ||
        i >= len || s[i++] != '-' || !digits(s, len, &i, 2, &d))
        return false;
    while (i < len && s[i] == ' ')
        i++;
    if (i != len || m < 1 || m > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)m))
        return false;
    *days = rt_days_from_civil(y, (unsigned)m, (unsigned)d);
    return true;
}

static bool parse_hms(const char *s, size_t len, size_t *i, int64_t *ms)
{
    int h, mi, sec = 0, frac = 0, fd = 0;
    if (!digits(s, len, i, 2, &h) || *i >= len || s[(*i)++] != ':' || !digits(s, len, i, 2, &mi))
        return false;
    if (*i < len && s[*i] == ':') {
        (*i)++;
        if (!digits(s, len, i, 2, &sec))
            return false;
        if (*i < len && s[*i] == '.') {
            (*i)++;
            size_t st = *i;
            while (*i < len && isdigit((unsigned char)s[*i])) {
                if (fd < 3) {
                    frac = frac * 10 + (s[*i] - '0');
                    fd++;
                }
                (*i)++;
            }
            if (*i == st)
                return false;
            while (fd < 3) {
                frac *= 10;
                fd++;
            }
        }
    }
    if (h > 23 || mi > 59 || sec > 59)
        return false;
    *ms = ((int64_t)h * 3600 + mi * 60 + sec) * 1000 + frac;
    return true;
}

bool expr_parse_time(const char *s, size_t len, int64_t *ms)
{
    size_t i = 0;
    while (i < len && s[i] == ' ')
        i++;
    if (!parse_hms(s, len, &i, ms))
        return false;
    while (i < len && s[i] == ' ')
        i++;
    return i == len;
}

bool expr_parse_timestamp(const char *s, size_t len, int64_t *ms)
{
    size_t i = 0;
    while (i < len && s[i] == ' ')
        i++;
    int y, m, d;
    if (!digits(s, len, &i, 4, &y) || i >= len || s[i++] != '-' || !digits(s, len, &i, 2, &m) ||
        i >= len || s[i++] != '-' || !digits(s, len, &i, 2, &d))
        return false;
    if (m < 1 || m > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)m))
        return false;
    int64_t t = 0;
    if (i < len && (s[i] == ' ' || s[i] == 'T')) {
        size_t save = i++;
        if (!parse_hms(s, len, &i, &t)) {
            i = save;
            t = 0;
        }
    }
    while (i < len && s[i] == ' ')
        i++;
    if (i != len)
        return false;
    *ms = rt_days_from_civil(y, (unsigned)m, (unsigned)d) * 86400000 + t;
    return true;
}

/* --- patterns ------------------------------------------------------------------------------- */

size_t expr_format_time(int64_t ms, const char *fmt, size_t flen, char *out, size_t cap)
{
    int64_t days = rt_floor_div(ms, 86400000);
    int64_t tod = ms - days * 86400000;
    int64_t y;
    unsigned m, d;
    rt_civil_from_days(days, &y, &m, &d);
    int h = (int)(tod / 3600000), mi = (int)(tod / 60000 % 60), s = (int)(tod / 1000 % 60);
    int frac = (int)(tod % 1000);
    size_t o = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int n_ = snprintf(out + (o < cap ? o : cap), o < cap ? cap - o : 0, __VA_ARGS__);          \
        o += (size_t)(n_ > 0 ? n_ : 0);                                                            \
    } while (0)
    for (size_t i = 0; i < flen;) {
        char c = fmt[i];
        size_t run = 1;
        while (i + run < flen && fmt[i + run] == c)
            run++;
        if (c == '\'') {
            size_t j = i + 1;
            if (j < flen && fmt[j] == '\'') {
                PUT("'");
                i += 2;
                continue;
            }
            while (j < flen && fmt[j] != '\'') {
                PUT("%c", fmt[j]);
                j++;
            }
            i = j + 1;
            continue;
        }
        switch (c) {
        case 'y':
            if (run == 2)
                PUT("%02d", (int)(((y % 100) + 100) % 100));
            else
                PUT("%0*lld", (int)run, (long long)y);
            break;
        case 'M':
            PUT("%0*u", (int)run, m);
            break;
        case 'd':
            PUT("%0*u", (int)run, d);
            break;
        case 'H':
            PUT("%0*d", (int)run, h);
            break;
        case 'h':
            PUT("%0*d", (int)run, h % 12 == 0 ? 12 : h % 12);
            break;
        case 'm':
            PUT("%0*d", (int)run, mi);
            break;
        case 's':
            PUT("%0*d", (int)run, s);
            break;
        case 'S': {
            char f[16];
            snprintf(f, sizeof(f), "%03d000000", frac);
            f[run > 9 ? 9 : run] = '\0';
            PUT("%s", f);
            break;
        }
        case 'a':
            PUT("%s", h < 12 ? "AM" : "PM");
            break;
        default:
            for (size_t k = 0; k < run; k++)
                PUT("%c", c);
            break;
        }
        i += run;
    }
#undef PUT
    if (cap)
        out[o < cap ? o : cap - 1] = '\0';
    return o;
}

bool expr_parse_with_format(const char *s, size_t len, const char *fmt, size_t flen, int64_t *ms)
{
    int y = 1970, mo = 1, d = 1, h = 0, mi = 0, sec = 0, frac = 0;
    bool pm = false, has_ampm = false;
    size_t i = 0;
    for (size_t f = 0; f < flen;) {
        char c = fmt[f];
        size_t run = 1;
        while (f + run < flen && fmt[f + run] == c)
            run++;
        int v;
        if (c == '\'') {
            size_t j = f + 1;
            while (j < flen && fmt[j] != '\'') {
                if (i >= len || s[i] != fmt[j])
                    return false;
                i++;
                j++;
            }
            f = j + 1;
            continue;
        }
        switch (c) {
        case 'y':
            if (!digits(s, len, &i, run == 2 ? 2 : 4, &v))
                return false;
            y = run == 2 ? 2000 + v : v;
            break;
        case 'M':
            if (!digits(s, len, &i, 2, &mo))
                return false;
            break;
        case 'd':
            if (!digits(s, len, &i, 2, &d))
                return false;
            break;
        case 'H':
        case 'h':
            if (!digits(s, len, &i, 2, &h))
                return false;
            break;
        case 'm':
            if (!digits(s, len, &i, 2, &mi))
                return false;
            break;
        case 's':
            if (!digits(s, len, &i, 2, &sec))
                return false;
            break;
        case 'S': {
            int n = 0;
            frac = 0;
            while (i < len && isdigit((unsigned char)s[i]) && (size_t)n < run) {
                if (n < 3)
                    frac = frac * 10 + (s[i] - '0');
                n++;
                i++;
            }
            if (!n)
                return false;
            for (int k = n; k < 3; k++)
                frac *= 10;
            break;
        }
        case 'a':
            if (i + 2 > len)
                return false;
            has_ampm = true;
            pm = strncasecmp(s + i, "PM", 2) == 0;
            i += 2;
            break;
        default:
            for (size_t k = 0; k < run; k++) {
                if (i >= len || s[i] != c)
                    return false;
                i++;
            }
            break;
        }
        f += run;
    }
    if (i != len)
        return false;
    if (has_ampm) {
        h %= 12;
        if (pm)
            h += 12;
    }
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo) || h > 23 ||
        mi > 59 || sec > 59)
        return false;
    *ms = rt_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400000 +
          ((int64_t)h * 3600 + mi * 60 + sec) * 1000 + frac;
    return true;
}

/* --- units ---------------------------------------------------------------------------------- */

int expr_time_unit(const char *s)
{
    static const struct {
        const char *name;
        int unit;
    } units[] = {
        {"MILLISECOND", TU_MILLISECOND},
        {"SECOND", TU_SECOND},
        {"MINUTE", TU_MINUTE},
        {"HOUR", TU_HOUR},
        {"DAY", TU_DAY},
        {"WEEK", TU_WEEK},
        {"MONTH", TU_MONTH},
        {"QUARTER", TU_QUARTER},
        {"YEAR", TU_YEAR},
        {"DOW", TU_DOW},
        {"DOY", TU_DOY},
        {"EPOCH", TU_EPOCH},
        {"FRAC_SECOND", TU_MILLISECOND},
        {"SQL_TSI_SECOND", TU_SECOND},
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcasecmp(s, units[i].name) == 0)
            return units[i].unit;
    return -1;
}

int64_t expr_extract(int unit, int64_t ms)
{
    int64_t days = rt_floor_div(ms, 86400000);
    int64_t tod = ms - days * 86400000;
    int64_t y;
    unsigned m, d;
    rt_civil_from_days(days, &y, &m, &d);
    switch (unit) {
    case TU_MILLISECOND:
        return tod / 1000 % 60 * 1000 + tod % 1000;
    case TU_SECOND:
        return tod / 1000 % 60;
    case TU_MINUTE:
        return tod / 60000 % 60;
    case TU_HOUR:
        return tod / 3600000;
    case TU_DAY:
        return d;
    case TU_MONTH:
        return m;
    case TU_QUARTER:
        return (m - 1) / 3 + 1;
    case TU_YEAR:
        return y;
    case TU_DOW:
        /* 1 = Sunday ... 7 = Saturday; 1970-01-01 was a Thursday. */
        return ((days % 7 + 7 + 4) % 7) + 1;
    case TU_DOY:
        return days - rt_days_from_civil(y, 1, 1) + 1;
    case TU_WEEK: {
        /* ISO week number. */
        int64_t wd = ((days % 7 + 7 + 3) % 7); /* Monday = 0 */
        int64_t thursday = days - wd + 3;
        int64_t ty;
        unsigned tm, td;
        rt_civil_from_days(thursday, &ty, &tm, &td);
        return (thursday - rt_days_from_civil(ty, 1, 1)) / 7 + 1;
    }
    case TU_EPOCH:
        return rt_floor_div(ms, 1000);
    default:
        return 0;
    }
}

static int64_t add_months(int64_t ms, int64_t months)
{
    int64_t days = rt_floor_div(ms, 86400000);
    int64_t tod = ms - days * 86400000;
    int64_t y;
    unsigned m, d;
    rt_civil_from_days(days, &y, &m, &d);
    int64_t total = y * 12 + (m - 1) + months;
    int64_t ny = rt_floor_div(total, 12);
    unsigned nm = (unsigned)(total - ny * 12) + 1;
    unsigned dim = days_in_month(ny, nm);
    return rt_days_from_civil(ny, nm, d > dim ? dim : d) * 86400000 + tod;
}

int64_t expr_timestamp_add(int unit, int64_t n, int64_t ms)
{
    switch (unit) {
    case TU_MILLISECOND:
        return ms + n;
    case TU_SECOND:
        return ms + n * 1000;
    case TU_MINUTE:
        return ms + n * 60000;
    case TU_HOUR:
        return ms + n * 3600000;
    case TU_DAY:
        return ms + n * 86400000;
    case TU_WEEK:
        return ms + n * 7 * 86400000;
    case TU_MONTH:
        return add_months(ms, n);
    case TU_QUARTER:
        return add_months(ms, n * 3);
    case TU_YEAR:
        return add_months(ms, n * 12);
    default:
        return ms;
    }
}

int64_t expr_timestamp_diff(int unit, int64_t a, int64_t b)
{
    int64_t delta = b - a;
    switch (unit) {
    case TU_MILLISECOND:
        return delta;
    case TU_SECOND:
        return delta / 1000;
    case TU_MINUTE:
        return delta / 60000;
    case TU_HOUR:
        return delta / 3600000;
    case TU_DAY:
        return delta / 86400000;
    case TU_WEEK:
        return delta / (7 * 86400000LL);
    case TU_MONTH:
    case TU_QUARTER:
    case TU_YEAR: {
        int64_t ya, yb;
        unsigned ma, mb, da, db;
        int64_t daya = rt_floor_div(a, 86400000), dayb = rt_floor_div(b, 86400000);
        rt_civil_from_days(daya, &ya, &ma, &da);
        rt_civil_from_days(dayb, &yb, &mb, &db);
        int64_t months = (yb - ya) * 12 + ((int64_t)mb - (int64_t)ma);
        /* Count only whole months: compare the remaining day and time of day. */
        int64_t ra = (int64_t)da * 86400000 + (a - daya * 86400000);
        int64_t rb = (int64_t)db * 86400000 + (b - dayb * 86400000);
        if (months > 0 && rb < ra)
            months--;
        else if (months < 0 && rb > ra)
            months++;
        return unit == TU_MONTH ? months : unit == TU_QUARTER ? months / 3 : months / 12;
    }
    default:
        return 0;
    }
}
