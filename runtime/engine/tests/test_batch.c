/*
 * test_batch.c - batches: append, filter, copy, arena growth across resets, print format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/engine/batch.h"

#include <stdio.h>
#include <string.h>

static rt_batch *make(uint32_t cap)
{
    rt_type types[3] = {rt_type_of(RT_BIGINT), rt_type_of(RT_VARCHAR), rt_type_of(RT_DOUBLE)};
    return rt_batch_new_types(types, 3, cap);
}

static void fill(rt_batch *b, uint32_t n, size_t slen)
{
    char s[4096];
    bool ok = true;
    for (uint32_t r = 0; r < n; r++) {
        memset(s, 'a' + (int)(r % 26), slen);
        b->cols[0].i64[r] = r;
        b->cols[0].null[r] = 0;
        b->cols[1].str[r] = rt_arena_strdup(&b->arena, s, (uint32_t)slen, &ok);
        b->cols[1].null[r] = 0;
        b->cols[2].f64[r] = r / 2.0;
        b->cols[2].null[r] = r % 3 == 0;
        b->kind[r] = RT_INSERT;
    }
    assert_true(ok);
    b->n = n;
}

static void test_append_filter_copy(void **state)
{
    (void)state;
    rt_batch *a = make(0), *b = make(16);
    assert_int_equal(a->cap, RT_BATCH_ROWS);
    fill(a, 100, 5);
    for (uint32_t r = 0; r < 16; r++)
        assert_int_equal(rt_batch_append_row(b, a, r), 0);
    assert_true(rt_batch_full(b));
    assert_int_equal(rt_batch_append_row(b, a, 0), WEIR_ETOOBIG);
    uint8_t keep[16];
    for (int i = 0; i < 16; i++)
        keep[i] = i % 2;
    rt_batch_filter(b, keep);
    assert_int_equal(b->n, 8);
    assert_int_equal(b->cols[0].i64[3], 7);
    assert_memory_equal(b->cols[1].str[3].ptr, "hhhhh", 5);
    char buf[128];
    rt_batch_format_row(b, 1, buf, sizeof(buf));
    assert_string_equal(buf, "+I[3, ddddd, NULL]");
    rt_batch_format_row(b, 0, buf, sizeof(buf));
    assert_string_equal(buf, "+I[1, bbbbb, 0.5]");
    /* Truncated output is still terminated and reports the full length. */
    assert_int_equal(rt_batch_format_row(b, 0, buf, 5), (int)strlen("+I[1, bbbbb, 0.5]"));
    assert_string_equal(buf, "+I[1");
    rt_batch *c = make(16);
    assert_int_equal(rt_batch_copy(c, b), 0);
    assert_int_equal(c->n, 8);
    assert_ptr_not_equal(c->cols[1].str[0].ptr, b->cols[1].str[0].ptr);
    rt_batch_free(a);
    rt_batch_free(b);
    rt_batch_free(c);
}

static void test_arena_settles(void **state)
{
    (void)state;
    rt_batch *a = make(1024);
    /* 1024 rows x 1 KiB overflows the first chunk; after a reset the base holds it all. */
    fill(a, 1024, 1000);
    assert_non_null(a->arena.extra);
    rt_batch_reset(a);
    assert_null(a->arena.extra);
    fill(a, 1024, 1000);
    assert_null(a->arena.extra);
    assert_memory_equal(a->cols[1].str[1023].ptr, "jjj", 3);
    rt_batch_free(a);
}

static void test_append_rows(void **state)
{
    (void)state;
    rt_batch *src = make(64), *a = make(64), *b = make(64);
    fill(src, 40, 5);
    src->cols[1].null[3] = 1;
    src->cols[1].str[3] = (rt_str){NULL, 0};
    src->kind[7] = 3;
    uint32_t rows[] = {7, 3, 39, 0};
    assert_int_equal(rt_batch_append_rows(a, src, rows, 0, 4), 0);
    assert_int_equal(rt_batch_append_rows(a, src, NULL, 10, 20), 0);
    for (uint32_t r = 0; r < 4; r++)
        assert_int_equal(rt_batch_append_row(b, src, rows[r]), 0);
    for (uint32_t r = 10; r < 30; r++)
        assert_int_equal(rt_batch_append_row(b, src, r), 0);
    assert_int_equal(a->n, 24);
    char x[256], y[256];
    for (uint32_t r = 0; r < a->n; r++) {
        rt_batch_format_row(a, r, x, sizeof(x));
        rt_batch_format_row(b, r, y, sizeof(y));
        assert_string_equal(x, y);
    }
    assert_int_equal(a->kind[0], 3);
    assert_int_equal(a->cols[1].null[1], 1);
    /* too many rows: nothing appended */
    assert_int_equal(rt_batch_append_rows(a, src, NULL, 0, 41), WEIR_ETOOBIG);
    assert_int_equal(a->n, 24);
    rt_batch_free(src);
    rt_batch_free(a);
    rt_batch_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_filter_copy),
        cmocka_unit_test(test_arena_settles),
        cmocka_unit_test(test_append_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
