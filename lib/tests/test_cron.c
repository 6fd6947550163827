/*
 * test_cron.c - unit tests for lib/cron: Quartz expressions as used by
 * kubernetes.operator.periodic.savepoint.interval, next fire times checked against times
 * worked out by hand (with L, L-n, nW, LW, dL and d#k), and bad expressions rejected with the
 * field they name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/cron.h"

#include <string.h>
#include <time.h>

/* epoch ms of a UTC date */
static long long at(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    return (long long)timegm(&tm) * 1000;
}

static long long next(const char *expr, long long after)
{
    cron *c = NULL;
    weir_error err = {0};
    assert_int_equal(cron_parse(expr, &c, &err), 0);
    long long n = cron_next(c, after);
    cron_free(c);
    return n;
}

static void test_next_fire_times(void **state)
{
    (void)state;
    long long t0 = at(2026, 11, 23, 15, 47, 12) + 345; /* a Monday */
    assert_int_equal(next("0/10 * * * * ?", t0), at(2026, 11, 23, 15, 47, 20));
    assert_int_equal(next("*/10 * * * * ?", at(2026, 11, 23, 15, 47, 20)),
                     at(2026, 11, 23, 15, 47, 30)); /* strictly after */
    assert_int_equal(next("0 0 * * * ?", t0), at(2026, 11, 23, 16, 0, 0));
    assert_int_equal(next("0 30 2 * * ?", t0), at(2026, 11, 24, 2, 30, 0));
    assert_int_equal(next("0 0 12 ? * SUN", t0), at(2026, 11, 29, 12, 0, 0));
    assert_int_equal(next("0 0 12 ? * 1", t0), at(2026, 11, 29, 12, 0, 0)); /* 1 = SUN */
    assert_int_equal(next("0 0 0 1 JAN ?", t0), at(2027, 1, 1, 0, 0, 0));
    assert_int_equal(next("0 0 0 31 * ?", at(2026, 11, 1, 0, 0, 0)), at(2026, 12, 31, 0, 0, 0));
    assert_int_equal(next("0 0 0 29 2 ?", t0), at(2028, 2, 29, 0, 0, 0)); /* leap day */
    assert_int_equal(next("0 15,45 9-17/4 ? * MON-FRI", t0), at(2026, 11, 23, 17, 15, 0));
    assert_int_equal(next("0 0 6 * * ? 2027", t0), at(2027, 1, 1, 6, 0, 0));
    assert_int_equal(next("0 0 6 * * ? 2025", t0), -1); /* in the past */
    /* Quartz's special days */
    assert_int_equal(next("0 0 12 L * ?", t0), at(2026, 11, 30, 12, 0, 0));   /* last day */
    assert_int_equal(next("0 0 12 L-2 * ?", t0), at(2026, 11, 28, 12, 0, 0)); /* 2 before */
    assert_int_equal(next("0 0 9 15W * ?", t0), at(2026, 12, 15, 9, 0, 0));   /* Nov 15 was Sun */
    assert_int_equal(next("0 0 9 1W * ?", at(2026, 7, 15, 0, 0, 0)),
                     at(2026, 8, 3, 9, 0, 0)); /* Aug 1 is a Saturday: Monday the 3rd */
    assert_int_equal(next("0 0 9 LW * ?", t0), at(2026, 11, 30, 9, 0, 0));
    assert_int_equal(next("0 0 9 LW * ?", at(2026, 12, 31, 10, 0, 0)),
                     at(2027, 1, 29, 9, 0, 0)); /* Jan 31 is a Sunday: Friday the 29th */
    assert_int_equal(next("0 0 10 ? * 6L", t0), at(2026, 11, 27, 10, 0, 0));  /* last FRI */
    assert_int_equal(next("0 0 10 ? * 6#3", t0), at(2026, 12, 18, 10, 0, 0)); /* 3rd FRI */
    assert_int_equal(next("0 0 10 ? * MON#1", t0), at(2026, 12, 7, 10, 0, 0));
}

static void test_bad_expressions(void **state)
{
    (void)state;
    static const struct {
        const char *expr, *says;
    } cases[] = {
        {"60s", "Quartz needs 6 or 7"},
        {"* * * * *", "5 fields"},
        {"0 0 0 1 1 ? 2030 x", "8 fields"},
        {"61 * * * * ?", "second 61 is not in 0-59"},
        {"0 0 25 * * ?", "hour 25"},
        {"0 0 0 L,5 * ?", "cannot be combined with a list"},
        {"0 0 0 ? * 6#9", "bad day-of-week field near '#9'"},
        {"L 0 0 * * ?", "'L' is allowed only in the day-of-month"},
        {"0 0 0 3X * ?", "bad day-of-month field near 'X'"},
        {"0 0 0 ? * FOO", "bad day-of-week name"},
        {"? 0 0 * * ?", "'?' is only allowed"},
        {"*/0 * * * * ?", "step 0"},
        {"0 30-10 * * * ?", "empty range"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cron *c = NULL;
        weir_error err = {0};
        assert_int_not_equal(cron_parse(cases[i].expr, &c, &err), 0);
        assert_null(c);
        if (!strstr(err.msg, cases[i].says))
            fail_msg("'%s': got '%s', want '%s'", cases[i].expr, err.msg, cases[i].says);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_fire_times),
        cmocka_unit_test(test_bad_expressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
