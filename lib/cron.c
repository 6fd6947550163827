/*
 * cron.c - Quartz cron expressions (see cron.h).
 *
 * Each field is a bit set of the values it allows. cron_next() walks forward from the given
 * time, jumping to the start of the next month, day, hour, minute or second whenever a field
 * does not match, which needs at most a few thousand steps for any expression.
 *
 * Layer: lib.
 */
#include "lib/cron.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_YEAR, F_COUNT };

static const struct {
    const char *name;
    int lo, hi;
} FIELDS[F_COUNT] = {
    {"second", 0, 59}, {"minute", 0, 59},     {"hour", 0, 23},      {"day-of-month", 1, 31},
    {"month", 1, 12},  {"day-of-week", 1, 7}, {"year", 1970, 2199},
};

static const char *MONTHS[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                               "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *DAYS[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

struct cron {
    uint64_t bits[F_COUNT][4]; /* value v allowed: bit (v - lo); years need 230 bits */
    /* Quartz's special days; when set, the field's bits are all set and these decide */
    int dom_last;    /* L or L-n: 1 + n (the last day minus n), 0: none */
    int dom_weekday; /* nW: n; LW: -1 (the weekday nearest to it within the month), 0: none */
    int dow_last;    /* dL: the last weekday d (1 = SUN) of the month, 0: none */
    int dow_nth_day, dow_nth; /* d#k: the k-th weekday d of the month, 0: none */
};

static void set_bit(uint64_t *b, int i)
{
    b[i / 64] |= 1ULL << (i % 64);
}

static bool has_bit(const uint64_t *b, int i)
{
    return (b[i / 64] >> (i % 64)) & 1ULL;
}

/* A number or a name of field f; advances *p. */
static int value(const char **p, int f, int *out, const char *expr, weir_error *err)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        long v = 0;
        while (isdigit((unsigned char)*s) && v < 100000)
            v = v * 10 + (*s++ - '0');
        *out = (int)v;
    } else if (isalpha((unsigned char)*s) && (f == F_MON || f == F_DOW)) {
        const char **names = f == F_MON ? MONTHS : DAYS;
        int n = f == F_MON ? 12 : 7, i;
        for (i = 0; i < n; i++)
            if (strncasecmp(s, names[i], 3) == 0)
                break;
        if (i == n)
            return weir_error_set(err, WEIR_EPARSE, "cron expression '%s': bad %s name near '%.3s'",
                                  expr, FIELDS[f].name, s);
        *out = i + 1;
        s += 3;
    } else if (*s == 'L' || *s == 'W' || *s == '#') {
        return weir_error_set(err, WEIR_EPARSE,
                              "cron expression '%s': '%c' is allowed only in the day-of-month "
                              "(L, L-n, nW, LW) and day-of-week (dL, d#k) fields, alone",
                              expr, *s);
    } else {
        return weir_error_set(err, WEIR_EPARSE, "cron expression '%s': bad %s field near '%s'",
                              expr, FIELDS[f].name, s);
    }
    if (*out < FIELDS[f].lo || *out > FIELDS[f].hi)
        return weir_error_set(err, WEIR_ERANGE, "cron expression '%s': %s %d is not in %d-%d", expr,
                              FIELDS[f].name, *out, FIELDS[f].lo, FIELDS[f].hi);
    *p = s;
    return 0;
}

/* One field's text [s, e). */
static int field(const char *s, const char *e, int f, uint64_t *bits, const char *expr,
                 weir_error *err)
{
    char buf[128];
    size_t n = (size_t)(e - s);
    if (n >= sizeof(buf))
        return weir_error_set(err, WEIR_EPARSE, "cron expression '%s': %s field too long", expr,
                              FIELDS[f].name);
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        const char *p = item;
        int lo = FIELDS[f].lo, hi = FIELDS[f].hi, step = 1, rc;
        if (*p == '*' || *p == '?') {
            if (*p == '?' && f != F_DOM && f != F_DOW)
                return weir_error_set(err, WEIR_EPARSE,
                                      "cron expression '%s': '?' is only allowed in the "
                                      "day-of-month and day-of-week fields",
                                      expr);
            p++;
        } else {
            if ((rc = value(&p, f, &lo, expr, err)))
                return rc;
            hi = lo;
            if (*p == '-') {
                p++;
                if ((rc = value(&p, f, &hi, expr, err)))
                    return rc;
            } else if (*p == '/') {
                hi = FIELDS[f].hi; /* a/n: from a to the end */
            }
        }
        if (*p == '/') {
            p++;
            long v = 0;
            if (!isdigit((unsigned char)*p))
                return weir_error_set(err, WEIR_EPARSE,
                                      "cron expression '%s': bad step in the %s field", expr,
                                      FIELDS[f].name);
            while (isdigit((unsigned char)*p) && v < 100000)
                v = v * 10 + (*p++ - '0');
            if (v < 1)
                return weir_error_set(err, WEIR_EPARSE,
                                      "cron expression '%s': step 0 in the %s field", expr,
                                      FIELDS[f].name);
            step = (int)v;
        }
        if (*p)
            return weir_error_set(err, WEIR_EPARSE, "cron expression '%s': bad %s field near '%s'",
                                  expr, FIELDS[f].name, p);
        if (lo > hi)
            return weir_error_set(err, WEIR_EPARSE,
                                  "cron expression '%s': empty range %d-%d in the %s field", expr,
                                  lo, hi, FIELDS[f].name);
        for (int v = lo; v <= hi; v += step)
            set_bit(bits, v - FIELDS[f].lo);
    }
    return 0;
}

static int value(const char **p, int f, int *out, const char *expr, weir_error *err);

/* Quartz's L, W and # (each the whole field): 1 when `s..e` is one and was stored in `c`, 0
 * when it is an ordinary field, or an error. */
static int special(const char *s, const char *e, int f, cron *c, const char *expr, weir_error *err)
{
    char buf[32];
    size_t n = (size_t)(e - s);
    if ((f != F_DOM && f != F_DOW) || n >= sizeof(buf))
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (!strpbrk(buf, "LW#"))
        return 0;
    if (strchr(buf, ','))
        return weir_error_set(err, WEIR_EPARSE,
                              "cron expression '%s': L, W and # cannot be combined with a list "
                              "in the %s field",
                              expr, FIELDS[f].name);
    const char *q = buf;
    int v = 0, rc;
    if (f == F_DOM) {
        if (!strcmp(buf, "L") || !strcmp(buf, "LW")) {
            c->dom_last = 1;
            c->dom_weekday = buf[1] ? -1 : 0;
        } else if (!strncmp(buf, "L-", 2)) {
            char *end = NULL;
            long off = strtol(buf + 2, &end, 10);
            if (!end || *end || off < 0 || off > 30)
                return weir_error_set(err, WEIR_EPARSE, "cron expression '%s': L-n needs n in 0-30",
                                      expr);
            c->dom_last = 1 + (int)off;
        } else {
            if ((rc = value(&q, f, &v, expr, err)))
                return rc;
            if (strcmp(q, "W") != 0)
                return weir_error_set(err, WEIR_EPARSE,
                                      "cron expression '%s': bad day-of-month field near '%s'",
                                      expr, q);
            c->dom_weekday = v;
        }
    } else {
        if ((rc = value(&q, f, &v, expr, err)))
            return rc;
        if (!strcmp(q, "L")) {
            c->dow_last = v;
        } else if (q[0] == '#' && q[1] >= '1' && q[1] <= '5' && !q[2]) {
            c->dow_nth_day = v;
            c->dow_nth = q[1] - '0';
        } else {
            return weir_error_set(err, WEIR_EPARSE,
                                  "cron expression '%s': bad day-of-week field near '%s'", expr, q);
        }
    }
    for (int x = FIELDS[f].lo; x <= FIELDS[f].hi; x++)
        set_bit(c->bits[f], x - FIELDS[f].lo);
    return 1;
}

int cron_parse(const char *expr, cron **out, weir_error *err)
{
    *out = NULL;
    cron *c = calloc(1, sizeof(*c));
    if (!c)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    const char *p = expr ? expr : "";
    int f = 0, rc = 0, nf = 0;
    for (const char *q = p; *q;) { /* count the fields first: the clearest error for "60s" */
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q)
            nf++;
        while (*q && *q != ' ' && *q != '\t')
            q++;
    }
    if (nf < 6 || nf > 7) {
        rc = weir_error_set(err, WEIR_EPARSE,
                            "cron expression '%s': %d fields, Quartz needs 6 or 7 (second minute "
                            "hour day-of-month month day-of-week [year])",
                            p, nf);
        goto fail;
    }
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *e = p;
        while (*e && *e != ' ' && *e != '\t')
            e++;
        int sp = special(p, e, f, c, expr, err);
        if (sp < 0) {
            rc = sp;
            goto fail;
        }
        if (!sp && (rc = field(p, e, f, c->bits[f], expr, err)))
            goto fail;
        f++;
        p = e;
    }
    if (f == 6)
        for (int v = FIELDS[F_YEAR].lo; v <= FIELDS[F_YEAR].hi; v++)
            set_bit(c->bits[F_YEAR], v - FIELDS[F_YEAR].lo);
    *out = c;
    return 0;
fail:
    free(c);
    return rc;
}

static bool ok(const cron *c, int f, int v)
{
    if (v < FIELDS[f].lo || v > FIELDS[f].hi)
        return false;
    return has_bit(c->bits[f], v - FIELDS[f].lo);
}

static int days_in_month(int year, int mon0)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return mon0 == 1 && leap ? 29 : d[mon0];
}

/* The weekday (0 = SUN) of day `mday` of the month of `tm`. */
static int wday_of(const struct tm *tm, int mday)
{
    return ((tm->tm_wday - (tm->tm_mday - mday)) % 7 + 7) % 7;
}

/* Quartz's special days (L, L-n, nW, LW, dL, d#k) for the day of `tm`. */
static bool special_day_ok(const cron *c, const struct tm *tm)
{
    int dim = days_in_month(tm->tm_year + 1900, tm->tm_mon);
    int day = tm->tm_mday;
    if (c->dom_weekday) {
        /* the weekday nearest to the target day, not crossing into another month */
        int t = c->dom_weekday > 0 ? c->dom_weekday : dim;
        if (t > dim)
            return false;
        int wd = wday_of(tm, t), want = t;
        if (wd == 6) /* SAT: Friday before, or Monday after on the 1st */
            want = t == 1 ? t + 2 : t - 1;
        else if (wd == 0) /* SUN: Monday after, or Friday before on the last day */
            want = t == dim ? t - 2 : t + 1;
        return day == want;
    }
    if (c->dom_last && day != dim - (c->dom_last - 1))
        return false;
    if (c->dow_last && !(tm->tm_wday + 1 == c->dow_last && day + 7 > dim))
        return false;
    if (c->dow_nth && !(tm->tm_wday + 1 == c->dow_nth_day && (day - 1) / 7 + 1 == c->dow_nth))
        return false;
    return true;
}

long long cron_next(const cron *c, long long after_ms)
{
    if (!c)
        return -1;
    time_t t = (time_t)(after_ms / 1000) + 1; /* strictly after, on a whole second */
    struct tm tm;
    gmtime_r(&t, &tm);
    int last_year = tm.tm_year + 1900 + 10;
    for (int guard = 0; guard < 100000; guard++) {
        int year = tm.tm_year + 1900;
        if (year > last_year || year > FIELDS[F_YEAR].hi)
            return -1;
        if (!ok(c, F_YEAR, year)) {
            tm = (struct tm){.tm_year = tm.tm_year + 1, .tm_mday = 1};
        } else if (!ok(c, F_MON, tm.tm_mon + 1)) {
            tm = (struct tm){.tm_year = tm.tm_year, .tm_mon = tm.tm_mon + 1, .tm_mday = 1};
        } else if (!ok(c, F_DOM, tm.tm_mday) || !ok(c, F_DOW, tm.tm_wday + 1) ||
                   !special_day_ok(c, &tm)) {
            tm = (struct tm){.tm_year = tm.tm_year, .tm_mon = tm.tm_mon, .tm_mday = tm.tm_mday + 1};
        } else if (!ok(c, F_HOUR, tm.tm_hour)) {
            tm.tm_hour++;
            tm.tm_min = tm.tm_sec = 0;
        } else if (!ok(c, F_MIN, tm.tm_min)) {
            tm.tm_min++;
            tm.tm_sec = 0;
        } else if (!ok(c, F_SEC, tm.tm_sec)) {
            tm.tm_sec++;
        } else {
            return (long long)timegm(&tm) * 1000;
        }
        t = timegm(&tm); /* normalises the carried field and fills tm_wday */
        gmtime_r(&t, &tm);
    }
    return -1;
}

void cron_free(cron *c)
{
    free(c);
}
