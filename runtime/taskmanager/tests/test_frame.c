/*
 * test_frame.c - data-plane frames: batch round trips (NULLs, empty and long strings, doubles,
 * 128-bit DECIMALs, row kinds), header checks, and a specific error for every kind of malformed
 * payload.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/taskmanager/frame.h"
#include "runtime/types/decimal.h"

#include <stdlib.h>
#include <string.h>

static rt_batch *make(uint32_t cap)
{
    rt_type types[3] = {rt_type_of(RT_BIGINT), rt_type_of(RT_VARCHAR), rt_type_of(RT_DOUBLE)};
    return rt_batch_new_types(types, 3, cap);
}

static void fill(rt_batch *b, uint32_t n)
{
    bool ok = true;
    char s[300];
    for (uint32_t r = 0; r < n; r++) {
        size_t len = r % 7 == 0 ? 0 : (r * 37) % sizeof(s);
        memset(s, 'a' + (int)(r % 26), len);
        b->kind[r] = (uint8_t)(r % 4);
        b->cols[0].i64[r] = (int64_t)r * -1234567;
        b->cols[0].null[r] = r % 5 == 0;
        b->cols[1].str[r] = rt_arena_strdup(&b->arena, s, (uint32_t)len, &ok);
        b->cols[1].null[r] = r % 11 == 0;
        if (b->cols[1].null[r])
            b->cols[1].str[r] = (rt_str){0};
        b->cols[2].f64[r] = (double)r / 3.0;
        b->cols[2].null[r] = 0;
    }
    b->n = n;
    assert_true(ok);
}

static void test_roundtrip(void **state)
{
    (void)state;
    rt_batch *a = make(0), *b = make(0);
    fill(a, 1000);
    size_t need = rt_frame_batch_size(a);
    uint8_t *buf = malloc(need);
    assert_int_equal(rt_frame_batch_encode(a, buf), need);
    weir_error err = {0};
    assert_int_equal(rt_frame_batch_decode(buf, need, b, &err), 0);
    assert_int_equal(b->n, 1000);
    for (uint32_t r = 0; r < 1000; r++) {
        assert_int_equal(a->kind[r], b->kind[r]);
        assert_int_equal(a->cols[0].null[r], b->cols[0].null[r]);
        if (!a->cols[0].null[r])
            assert_int_equal(a->cols[0].i64[r], b->cols[0].i64[r]);
        assert_int_equal(a->cols[1].null[r], b->cols[1].null[r]);
        assert_int_equal(a->cols[1].str[r].len, b->cols[1].str[r].len);
        if (a->cols[1].str[r].len)
            assert_memory_equal(a->cols[1].str[r].ptr, b->cols[1].str[r].ptr,
                                a->cols[1].str[r].len);
        assert_true(a->cols[2].f64[r] == b->cols[2].f64[r]);
    }
    char x[256], y[256];
    rt_batch_format_row(a, 999, x, sizeof(x));
    rt_batch_format_row(b, 999, y, sizeof(y));
    assert_string_equal(x, y);
    free(buf);
    rt_batch_free(a);
    rt_batch_free(b);
}

/* A DECIMAL(38, 10) column (16 bytes a value) beside a DECIMAL(18, 2) one: extreme values of
 * both signs survive the frame exactly, and a truncated wide column is refused. */
static void test_roundtrip_decimal38(void **state)
{
    (void)state;
    rt_type types[2] = {rt_type_decimal(38, 10), rt_type_decimal(18, 2)};
    rt_batch *a = rt_batch_new_types(types, 2, 64), *b = rt_batch_new_types(types, 2, 64);
    rt_i128 max = rt_dec_pow10(38) - 1;
    for (uint32_t r = 0; r < 64; r++) {
        a->kind[r] = RT_INSERT;
        rt_i128 v = max / ((rt_i128)r * r + 1) - (rt_i128)r * 1000003;
        a->cols[0].i128[r] = r % 2 ? -v : v;
        a->cols[0].null[r] = r % 9 == 4;
        a->cols[1].i64[r] = (r % 3 ? -1 : 1) * (999999999999999999 - (int64_t)r);
        a->cols[1].null[r] = 0;
    }
    a->n = 64;
    size_t need = rt_frame_batch_size(a);
    assert_int_equal(need, 8 + 64 + 2 * (1 + 64) + 64 * 16 + 64 * 8);
    uint8_t *buf = malloc(need);
    assert_int_equal(rt_frame_batch_encode(a, buf), need);
    weir_error err = {0};
    assert_int_equal(rt_frame_batch_decode(buf, need, b, &err), 0);
    assert_int_equal(b->n, 64);
    for (uint32_t r = 0; r < 64; r++) {
        assert_int_equal(a->cols[0].null[r], b->cols[0].null[r]);
        if (!a->cols[0].null[r])
            assert_true(a->cols[0].i128[r] == b->cols[0].i128[r]);
        assert_int_equal(a->cols[1].i64[r], b->cols[1].i64[r]);
        char x[128], y[128];
        rt_batch_format_row(a, r, x, sizeof(x));
        rt_batch_format_row(b, r, y, sizeof(y));
        assert_string_equal(x, y);
    }
    char row[128];
    rt_batch_format_row(b, 0, row, sizeof(row));
    assert_string_equal(row, "+I[9999999999999999999999999999.9999999999, 9999999999999999.99]");
    rt_batch_format_row(b, 1, row, sizeof(row));
    assert_string_equal(row, "+I[-4999999999999999999999999999.9998999996, -9999999999999999.98]");
    /* the wide column cut short */
    assert_int_equal(rt_frame_batch_decode(buf, 8 + 64 + 1 + 64 + 100, b, &err), WEIR_EPARSE);
    assert_non_null(strstr(err.msg, "ends early"));
    free(buf);
    rt_batch_free(a);
    rt_batch_free(b);
}

static void expect_error(const uint8_t *p, size_t len, const char *needle)
{
    rt_batch *b = make(16);
    weir_error err = {0};
    assert_int_equal(rt_frame_batch_decode(p, len, b, &err), WEIR_EPARSE);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' lacks '%s'", err.msg, needle);
    assert_int_equal(b->n, 0);
    rt_batch_free(b);
}

static void test_malformed_batches(void **state)
{
    (void)state;
    rt_batch *a = make(16);
    fill(a, 10);
    size_t len = rt_frame_batch_size(a);
    uint8_t *buf = malloc(len + 8), *m = malloc(len + 8);
    rt_frame_batch_encode(a, buf);
    expect_error(buf, 4, "frame of 4 bytes");
    memcpy(m, buf, len);
    m[0] = 17; /* 17 rows > capacity 16 */
    expect_error(m, len, "capacity");
    memcpy(m, buf, len);
    m[4] = 2; /* two columns */
    expect_error(m, len, "columns");
    memcpy(m, buf, len);
    m[8] = 9; /* row kind */
    expect_error(m, len, "kind");
    memcpy(m, buf, len);
    m[8 + 10] = 2; /* physical type of column 0 */
    expect_error(m, len, "physical type");
    memcpy(m, buf, len);
    m[8 + 10 + 1] = 7; /* NULL flag */
    expect_error(m, len, "NULL flag");
    expect_error(buf, len - 1, "ends early");
    memcpy(m, buf, len);
    m[len] = 0;
    expect_error(m, len + 1, "after the last column");
    free(buf);
    free(m);
    rt_batch_free(a);
}

static void test_header(void **state)
{
    (void)state;
    uint8_t h[RT_FRAME_HEADER];
    rt_frame_header in = {.kind = RT_FRAME_BARRIER, .flags = 1, .value = 42}, out;
    rt_frame_header_encode(&in, h);
    weir_error err = {0};
    assert_int_equal(rt_frame_header_decode(h, &out, &err), 0);
    assert_int_equal(out.kind, RT_FRAME_BARRIER);
    assert_int_equal(out.flags, 1);
    assert_int_equal(out.value, 42);
    h[0] ^= 1;
    assert_int_equal(rt_frame_header_decode(h, &out, &err), WEIR_EPARSE);
    assert_non_null(strstr(err.msg, "magic"));
    in.kind = 99;
    rt_frame_header_encode(&in, h);
    assert_int_equal(rt_frame_header_decode(h, &out, &err), WEIR_EPARSE);
    in = (rt_frame_header){.kind = RT_FRAME_BATCH, .len = RT_FRAME_MAX_PAYLOAD + 1};
    rt_frame_header_encode(&in, h);
    assert_int_equal(rt_frame_header_decode(h, &out, &err), WEIR_ETOOBIG);
    in = (rt_frame_header){.kind = RT_FRAME_WATERMARK, .len = 3};
    rt_frame_header_encode(&in, h);
    assert_int_equal(rt_frame_header_decode(h, &out, &err), WEIR_EPARSE);
    in = (rt_frame_header){.kind = RT_FRAME_BARRIER, .value = 0};
    rt_frame_header_encode(&in, h);
    assert_int_equal(rt_frame_header_decode(h, &out, &err), WEIR_EPARSE);
    in = (rt_frame_header){.kind = RT_FRAME_END, .value = 2};
    rt_frame_header_encode(&in, h);
    assert_int_equal(rt_frame_header_decode(h, &out, &err), WEIR_EPARSE);
}

static void test_hello(void **state)
{
    (void)state;
    rt_frame_hello a = {.attempt = 3,
                        .chain = 2,
                        .consumer = 1,
                        .producer = 0,
                        .ncols = 3,
                        .phys = {RT_PHYS_I64, RT_PHYS_STR, RT_PHYS_I128}},
                   b;
    memset(a.job_id, 'a', 32);
    a.job_id[32] = '\0';
    uint8_t buf[400];
    size_t n = rt_frame_hello_encode(&a, buf);
    weir_error err = {0};
    assert_int_equal(rt_frame_hello_decode(buf, n, &b, &err), 0);
    assert_string_equal(a.job_id, b.job_id);
    assert_int_equal(b.attempt, 3);
    assert_int_equal(b.ncols, 3);
    assert_int_equal(b.phys[2], RT_PHYS_I128);
    assert_int_equal(rt_frame_hello_decode(buf, n - 1, &b, &err), WEIR_EPARSE);
    buf[n - 1] = RT_PHYS_COUNT; /* no such physical type */
    assert_int_equal(rt_frame_hello_decode(buf, n, &b, &err), WEIR_EPARSE);
    assert_non_null(strstr(err.msg, "column 2 has type 4"));
    buf[0] = 'Z';
    assert_int_equal(rt_frame_hello_decode(buf, n, &b, &err), WEIR_EPARSE);
    assert_non_null(strstr(err.msg, "hex"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_roundtrip_decimal38),
        cmocka_unit_test(test_malformed_batches),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_hello),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
