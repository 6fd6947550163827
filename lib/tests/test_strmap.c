/*
 * test_strmap.c - unit tests for lib/strmap, including a randomized comparison against a
 * simple reference model to exercise probing and backward-shift deletion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/strmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_basic(void **state)
{
    (void)state;
    strmap *m = strmap_new();
    int a = 1, b = 2;
    void *old = (void *)&old;
    assert_int_equal(strmap_put(m, "a", &a, &old), 0);
    assert_null(old);
    assert_int_equal(strmap_put(m, "b", &b, NULL), 0);
    assert_ptr_equal(strmap_get(m, "a"), &a);
    assert_true(strmap_has(m, "b"));
    assert_false(strmap_has(m, "c"));
    assert_null(strmap_get(m, "c"));
    assert_int_equal(strmap_put(m, "a", &b, &old), 0);
    assert_ptr_equal(old, &a);
    assert_int_equal(strmap_len(m), 2);
    assert_ptr_equal(strmap_del(m, "a"), &b);
    assert_null(strmap_del(m, "a"));
    assert_int_equal(strmap_len(m), 1);
    strmap_free(m);
    strmap_free(NULL);
}

static void test_empty_map(void **state)
{
    (void)state;
    strmap *m = strmap_new();
    assert_null(strmap_get(m, "x"));
    assert_null(strmap_del(m, "x"));
    size_t it = 0;
    assert_false(strmap_next(m, &it, NULL, NULL));
    strmap_free(m);
}

/* Randomized: 20k operations over 500 keys against an array model. */
static void test_random_against_model(void **state)
{
    (void)state;
    enum { NKEYS = 500, OPS = 20000 };
    static intptr_t model[NKEYS]; /* 0 = absent, else value */
    memset(model, 0, sizeof(model));
    strmap *m = strmap_new();
    unsigned seed = 42;
    char key[32];
    for (int op = 0; op < OPS; op++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % NKEYS);
        snprintf(key, sizeof(key), "ns-%d/obj", k);
        if ((seed >> 4) % 3 == 0) {
            void *v = strmap_del(m, key);
            assert_int_equal((intptr_t)v, model[k]);
            model[k] = 0;
        } else {
            intptr_t v = op + 1;
            assert_int_equal(strmap_put(m, key, (void *)v, NULL), 0);
            model[k] = v;
        }
    }
    size_t n = 0;
    for (int k = 0; k < NKEYS; k++) {
        snprintf(key, sizeof(key), "ns-%d/obj", k);
        assert_int_equal((intptr_t)strmap_get(m, key), model[k]);
        n += model[k] != 0;
    }
    assert_int_equal(strmap_len(m), n);
    size_t it = 0, seen = 0;
    const char *k;
    void *v;
    while (strmap_next(m, &it, &k, &v)) {
        int idx = atoi(k + 3);
        assert_int_equal((intptr_t)v, model[idx]);
        seen++;
    }
    assert_int_equal(seen, n);
    strmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_empty_map),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
