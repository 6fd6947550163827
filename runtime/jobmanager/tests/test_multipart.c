/*
 * test_multipart.c - /jars/upload's multipart parsing: curl's shape, quoted and unquoted
 * parameters, several parts, unsafe file names, and the errors for malformed bodies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/jobmanager/multipart.h"

#include <string.h>

static const char *CT = "multipart/form-data; boundary=------------------------abc123";

static void test_curl_shape(void **state)
{
    (void)state;
    const char *body = "--------------------------abc123\r\n"
                       "Content-Disposition: form-data; name=\"other\"\r\n\r\n"
                       "x\r\n"
                       "--------------------------abc123\r\n"
                       "Content-Disposition: form-data; name=\"jarfile\"; "
                       "filename=\"../../etc/job one.sql\"\r\n"
                       "Content-Type: application/octet-stream\r\n\r\n"
                       "SELECT 1;\r\n--x\r\n"
                       "--------------------------abc123--\r\n";
    multipart_file f;
    weir_error err = {0};
    assert_int_equal(multipart_find(CT, body, strlen(body), "jarfile", &f, &err), 0);
    assert_int_equal(f.len, strlen("SELECT 1;\r\n--x"));
    assert_memory_equal(f.data, "SELECT 1;\r\n--x", f.len);
    assert_string_equal(f.filename, "job_one.sql");
}

static void test_errors(void **state)
{
    (void)state;
    multipart_file f;
    weir_error err = {0};
    assert_int_equal(multipart_find("application/json", "{}", 2, "jarfile", &f, &err), WEIR_EINVAL);
    assert_int_equal(multipart_find("multipart/form-data", "x", 1, "jarfile", &f, &err),
                     WEIR_EINVAL);
    const char *nopart = "--------------------------abc123--\r\n";
    assert_int_equal(multipart_find(CT, nopart, strlen(nopart), "jarfile", &f, &err),
                     WEIR_ENOTFOUND);
    const char *unclosed = "--------------------------abc123\r\n"
                           "Content-Disposition: form-data; name=\"jarfile\"\r\n\r\nabc";
    assert_int_equal(multipart_find(CT, unclosed, strlen(unclosed), "jarfile", &f, &err),
                     WEIR_EPARSE);
    const char *noheader = "--------------------------abc123\r\nContent-Disposition: x";
    assert_int_equal(multipart_find(CT, noheader, strlen(noheader), "jarfile", &f, &err),
                     WEIR_EPARSE);
    assert_int_equal(multipart_find(CT, "garbage", 7, "jarfile", &f, &err), WEIR_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_curl_shape),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
