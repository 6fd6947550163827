/*
 * test_log.c - unit tests for lib/log and lib/error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/error.h"
#include "lib/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* 2026-11-23T10:00:00.123Z */
static const long long TS = 1795428000123LL;

static void test_kv_line(void **state)
{
    (void)state;
    const char *kv[] = {"kind", "FlinkDeployment", "reason", "410 Gone", "empty", ""};
    char buf[512];
    log_format_line(buf, sizeof(buf), LOG_FORMAT_KV, TS, LOG_INFO, "watch restarted", kv, 6);
    assert_string_equal(buf, "ts=2026-11-23T10:00:00.123Z level=info msg=\"watch restarted\" "
                             "kind=FlinkDeployment reason=\"410 Gone\" empty=\"\"");
}

static void test_json_line(void **state)
{
    (void)state;
    const char *kv[] = {"path", "a\"b\\c\n"};
    char buf[512];
    log_format_line(buf, sizeof(buf), LOG_FORMAT_JSON, TS, LOG_WARN, "x", kv, 2);
    assert_string_equal(buf,
                        "{\"ts\":\"2026-11-23T10:00:00.123Z\",\"level\":\"warn\",\"msg\":\"x\","
                        "\"path\":\"a\\\"b\\\\c\\n\"}");
}

static void test_json_truncated_stays_closed(void **state)
{
    (void)state;
    char big[300];
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    const char *kv[] = {"k", big};
    char buf[64];
    int n = log_format_line(buf, sizeof(buf), LOG_FORMAT_JSON, TS, LOG_ERROR, "m", kv, 2);
    assert_true(n < (int)sizeof(buf));
    assert_int_equal(buf[n - 1], '}');
}

static void test_parse_level_and_format(void **state)
{
    (void)state;
    enum log_level l;
    enum log_format f;
    assert_int_equal(log_parse_level("WARNING", &l), 0);
    assert_int_equal(l, LOG_WARN);
    assert_int_equal(log_parse_level("verbose", &l), WEIR_EINVAL);
    assert_int_equal(log_parse_format("json", &f), 0);
    assert_int_equal(f, LOG_FORMAT_JSON);
    assert_int_equal(log_parse_format("xml", &f), WEIR_EINVAL);
}

static void test_level_filter_and_output(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    log_set_fd(fds[1]);
    log_set_level(LOG_WARN);
    log_info("hidden");
    log_warn("shown", "k", "v");
    log_set_fd(2);
    log_set_level(LOG_INFO);
    close(fds[1]);
    char buf[256] = {0};
    ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    assert_true(n > 0);
    assert_null(strstr(buf, "hidden"));
    assert_non_null(strstr(buf, "level=warn msg=shown k=v\n"));
}

static void test_strerror_and_error(void **state)
{
    (void)state;
    assert_string_equal(weir_strerror(WEIR_OK), "success");
    assert_string_equal(weir_strerror(WEIR_EGONE), "resource version too old (gone)");
    assert_string_equal(weir_strerror(-999), "unknown error");
    assert_string_equal(weir_strerror(5), "unknown error");
    weir_error e;
    weir_error_clear(&e);
    assert_int_equal(weir_error_set(&e, WEIR_EPARSE, "line %d", 3), WEIR_EPARSE);
    weir_error_prefix(&e, "config.yaml");
    assert_string_equal(e.msg, "config.yaml: line 3");
    assert_int_equal(weir_error_set(NULL, WEIR_EIO, "ignored"), WEIR_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kv_line),
        cmocka_unit_test(test_json_line),
        cmocka_unit_test(test_json_truncated_stays_closed),
        cmocka_unit_test(test_parse_level_and_format),
        cmocka_unit_test(test_level_filter_and_output),
        cmocka_unit_test(test_strerror_and_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
