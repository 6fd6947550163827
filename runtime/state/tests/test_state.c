/*
 * test_state.c - the keyed-state contract, run identically against the hashmap and rocksdb
 * backends: get/put/delete, in-place updates (also across cache eviction), namespace scans,
 * key-group arithmetic against Flink's formulas, snapshot/restore round trips (also split and
 * merged across subtasks, and across backends), incremental RocksDB checkpoints, and errors
 * for corrupted or missing files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/state/state.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const backends[] = {"hashmap", "rocksdb"};
static char root[] = "/tmp/weir-state-test-XXXXXX";

static int rm_cb(const char *p, const struct stat *sb, int f, struct FTW *w)
{
    (void)sb;
    (void)f;
    (void)w;
    return remove(p);
}

static rt_state *open_state(const char *backend, uint32_t first, uint32_t last, size_t cache,
                            const char *tag)
{
    char dir[256];
    snprintf(dir, sizeof(dir), "%s/local-%s-%s", root, backend, tag);
    rt_state_options o = {.backend = backend,
                          .local_dir = dir,
                          .cache_bytes = cache,
                          .max_parallelism = 128,
                          .kg_first = first,
                          .kg_last = last};
    rt_state *st = NULL;
    weir_error err = {0};
    if (rt_state_open(&o, &st, &err))
        fail_msg("open %s: %s", backend, err.msg);
    return st;
}

static uint32_t kg_of(uint64_t k)
{
    return rt_state_key_group(k * 0x9E3779B97F4A7C15ULL, 128);
}

static void put_u64(rt_state *st, uint64_t ns, uint64_t k, uint64_t v)
{
    assert_int_equal(rt_state_put(st, kg_of(k), ns, &k, 8, &v, 8, NULL), 0);
}

static bool get_u64(rt_state *st, uint64_t ns, uint64_t k, uint64_t *v)
{
    void *p;
    uint32_t len;
    int rc = rt_state_get(st, kg_of(k), ns, &k, 8, &p, &len);
    if (rc == WEIR_ENOTFOUND)
        return false;
    assert_int_equal(rc, 0);
    assert_int_equal(len, 8);
    memcpy(v, p, 8);
    return true;
}

static void test_basic(void **state)
{
    (void)state;
    for (int b = 0; b < 2; b++) {
        rt_state *st = open_state(backends[b], 0, 127, 0, "basic");
        uint64_t v;
        assert_false(get_u64(st, 0, 1, &v));
        put_u64(st, 0, 1, 10);
        put_u64(st, 5, 1, 50); /* same key, other namespace */
        assert_true(get_u64(st, 0, 1, &v));
        assert_int_equal(v, 10);
        assert_true(get_u64(st, 5, 1, &v));
        assert_int_equal(v, 50);
        /* overwrite with a longer value, then a shorter one */
        uint64_t k = 1;
        char big[300];
        memset(big, 'x', sizeof(big));
        assert_int_equal(rt_state_put(st, kg_of(k), 0, &k, 8, big, sizeof(big), NULL), 0);
        void *p;
        uint32_t len;
        assert_int_equal(rt_state_get(st, kg_of(k), 0, &k, 8, &p, &len), 0);
        assert_int_equal(len, 300);
        assert_memory_equal(p, big, 300);
        put_u64(st, 0, 1, 11);
        assert_true(get_u64(st, 0, 1, &v));
        assert_int_equal(v, 11);
        assert_int_equal(rt_state_delete(st, kg_of(k), 0, &k, 8), 0);
        assert_false(get_u64(st, 0, 1, &v));
        assert_int_equal(rt_state_delete(st, kg_of(k), 0, &k, 8), 0); /* absent is fine */
        assert_true(get_u64(st, 5, 1, &v));
        /* limits */
        char huge[RT_STATE_MAX_KEY + 1];
        memset(huge, 0, sizeof(huge));
        assert_int_equal(rt_state_put(st, 0, 0, huge, sizeof(huge), "x", 1, NULL), WEIR_ETOOBIG);
        rt_state_free(st);
    }
}

/* Thousands of keys updated in place through the returned pointer, with a cache far smaller
 * than the data for rocksdb: every update must survive eviction. */
static void test_in_place_updates(void **state)
{
    (void)state;
    for (int b = 0; b < 2; b++) {
        rt_state *st = open_state(backends[b], 0, 127, 4096, "inplace");
        for (int round = 0; round < 3; round++)
            for (uint64_t k = 0; k < 5000; k++) {
                void *p;
                uint32_t len;
                int rc = rt_state_get(st, kg_of(k), 7, &k, 8, &p, &len);
                if (rc == WEIR_ENOTFOUND) {
                    uint64_t zero = 0;
                    assert_int_equal(rt_state_put(st, kg_of(k), 7, &k, 8, &zero, 8, &p), 0);
                } else
                    assert_int_equal(rc, 0);
                uint64_t v;
                memcpy(&v, p, 8);
                v += k;
                memcpy(p, &v, 8);
            }
        for (uint64_t k = 0; k < 5000; k++) {
            uint64_t v;
            assert_true(get_u64(st, 7, k, &v));
            assert_int_equal(v, 3 * k);
        }
        rt_state_free(st);
    }
}

typedef struct scan_acc {
    uint64_t n, sum;
} scan_acc;

static int scan_cb(void *ctx, uint32_t kg, const void *key, uint32_t klen, const void *val,
                   uint32_t vlen)
{
    scan_acc *a = ctx;
    uint64_t k, v;
    assert_int_equal(klen, 8);
    assert_int_equal(vlen, 8);
    memcpy(&k, key, 8);
    memcpy(&v, val, 8);
    assert_int_equal(kg, kg_of(k));
    a->n++;
    a->sum += v;
    return 0;
}

static void test_scan_ns(void **state)
{
    (void)state;
    for (int b = 0; b < 2; b++) {
        rt_state *st = open_state(backends[b], 0, 127, 8192, "scan");
        for (uint64_t k = 0; k < 3000; k++) {
            put_u64(st, 100, k, 1);
            put_u64(st, 200, k, 2);
        }
        scan_acc a = {0};
        assert_int_equal(rt_state_scan_ns(st, 100, false, scan_cb, &a), 0);
        assert_int_equal(a.n, 3000);
        assert_int_equal(a.sum, 3000);
        memset(&a, 0, sizeof(a));
        assert_int_equal(rt_state_scan_ns(st, 200, true, scan_cb, &a), 0);
        assert_int_equal(a.sum, 6000);
        memset(&a, 0, sizeof(a));
        assert_int_equal(rt_state_scan_ns(st, 200, false, scan_cb, &a), 0);
        assert_int_equal(a.n, 0);
        uint64_t v;
        assert_false(get_u64(st, 200, 5, &v));
        assert_true(get_u64(st, 100, 5, &v));
        /* a deleted key is not scanned */
        uint64_t k = 9;
        assert_int_equal(rt_state_delete(st, kg_of(k), 100, &k, 8), 0);
        memset(&a, 0, sizeof(a));
        assert_int_equal(rt_state_scan_ns(st, 100, false, scan_cb, &a), 0);
        assert_int_equal(a.n, 2999);
        rt_state_free(st);
    }
}

static void test_key_groups(void **state)
{
    (void)state;
    /* Flink: start = ceil(i * maxP / p), end = floor(((i + 1) * maxP - 1) / p). */
    for (uint32_t p = 1; p <= 7; p++) {
        uint32_t next = 0;
        for (uint32_t i = 0; i < p; i++) {
            uint32_t f, l;
            rt_state_key_group_range(128, p, i, &f, &l);
            assert_int_equal(f, (i * 128 + p - 1) / p);
            assert_int_equal(l, ((i + 1) * 128 - 1) / p);
            assert_int_equal(f, next);
            next = l + 1;
            for (uint32_t kg = f; kg <= l; kg++)
                assert_int_equal(rt_state_operator_index(128, p, kg), i);
        }
        assert_int_equal(next, 128);
    }
    for (uint64_t h = 0; h < 10000; h++)
        assert_true(rt_state_key_group(h * 7919, 128) < 128);
}

static json_t *snap(rt_state *st, rt_snapshot_kind kind, uint64_t id, const char *dir)
{
    char abs[512];
    snprintf(abs, sizeof(abs), "%s/%s", root, dir);
    mkdir(abs, 0755);
    char shared[512];
    snprintf(shared, sizeof(shared), "%s/shared", root);
    mkdir(shared, 0755);
    rt_snapshot_target t = {.kind = kind,
                            .checkpoint_id = id,
                            .root = root,
                            .exclusive_dir = dir,
                            .shared_dir = "shared"};
    json_t *h = NULL;
    weir_error err = {0};
    if (rt_state_snapshot(st, &t, &h, &err))
        fail_msg("snapshot: %s", err.msg);
    return h;
}

static void restore(rt_state *st, json_t **h, size_t n)
{
    weir_error err = {0};
    if (rt_state_restore(st, root, h, n, &err))
        fail_msg("restore: %s", err.msg);
}

static void fill(rt_state *st, uint64_t n)
{
    for (uint64_t k = 0; k < n; k++)
        put_u64(st, k % 3, k, k * 2);
}

static void check_range(rt_state *st, uint64_t n, uint32_t first, uint32_t last)
{
    for (uint64_t k = 0; k < n; k++) {
        uint64_t v;
        uint32_t kg = kg_of(k);
        if (kg < first || kg > last)
            continue;
        if (!get_u64(st, k % 3, k, &v))
            fail_msg("key %llu (kg %u) missing after restore", (unsigned long long)k, kg);
        assert_int_equal(v, k * 2);
    }
}

static void test_snapshot_restore(void **state)
{
    (void)state;
    int dirn = 0;
    for (int b = 0; b < 2; b++)
        for (int kind = 0; kind < 2; kind++) {
            rt_state *st = open_state(backends[b], 0, 127, 16384, "src");
            fill(st, 4000);
            char dir[64];
            snprintf(dir, sizeof(dir), "snap-%d", dirn++);
            json_t *h = snap(st, (rt_snapshot_kind)kind, 1, dir);
            rt_state_free(st);
            /* same range, both backends */
            for (int b2 = 0; b2 < 2; b2++) {
                rt_state *r = open_state(backends[b2], 0, 127, 0, "dst");
                restore(r, &h, 1);
                check_range(r, 4000, 0, 127);
                rt_state_free(r);
            }
            /* split into 3 subtasks; each keeps only its key groups */
            uint64_t total = 0;
            for (uint32_t i = 0; i < 3; i++) {
                uint32_t f, l;
                rt_state_key_group_range(128, 3, i, &f, &l);
                rt_state *r = open_state(backends[b], f, l, 0, "part");
                restore(r, &h, 1);
                check_range(r, 4000, f, l);
                for (uint64_t ns = 0; ns < 3; ns++) {
                    scan_acc a = {0};
                    assert_int_equal(rt_state_scan_ns(r, ns, false, scan_cb, &a), 0);
                    total += a.n;
                }
                rt_state_free(r);
            }
            assert_int_equal(total, 4000);
            json_decref(h);
        }
}

static void test_merge_subtasks(void **state)
{
    (void)state;
    /* Two subtasks' snapshots restored into one (scale in). */
    json_t *h[2];
    for (uint32_t i = 0; i < 2; i++) {
        uint32_t f, l;
        rt_state_key_group_range(128, 2, i, &f, &l);
        rt_state *st = open_state("rocksdb", f, l, 0, "merge");
        for (uint64_t k = 0; k < 2000; k++)
            if (kg_of(k) >= f && kg_of(k) <= l)
                put_u64(st, k % 3, k, k * 2);
        char dir[32];
        snprintf(dir, sizeof(dir), "merge-%u", i);
        h[i] = snap(st, RT_SNAPSHOT_CHECKPOINT, 10 + i, dir);
        rt_state_free(st);
    }
    for (int b = 0; b < 2; b++) {
        rt_state *r = open_state(backends[b], 0, 127, 0, "m");
        restore(r, h, 2);
        check_range(r, 2000, 0, 127);
        rt_state_free(r);
    }
    json_decref(h[0]);
    json_decref(h[1]);
}

static uint64_t new_shared_bytes(json_t *older, json_t *newer, size_t *nfiles)
{
    uint64_t bytes = 0;
    *nfiles = 0;
    size_t i, j;
    json_t *f, *g;
    json_array_foreach(json_object_get(newer, "files"), i, f)
    {
        if (!json_is_true(json_object_get(f, "shared")))
            continue;
        bool seen = false;
        json_array_foreach(json_object_get(older, "files"), j, g)
        {
            if (!strcmp(json_string_value(json_object_get(f, "path")),
                        json_string_value(json_object_get(g, "path"))))
                seen = true;
        }
        if (!seen) {
            bytes += (uint64_t)json_integer_value(json_object_get(f, "size"));
            (*nfiles)++;
        }
    }
    return bytes;
}

static uint64_t shared_bytes(json_t *h)
{
    uint64_t b = 0;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(h, "files"), i, f)
    {
        if (json_is_true(json_object_get(f, "shared")))
            b += (uint64_t)json_integer_value(json_object_get(f, "size"));
    }
    return b;
}

static void test_incremental(void **state)
{
    (void)state;
    rt_state *st = open_state("rocksdb", 0, 127, 1 << 20, "incr");
    char pad[200];
    uint64_t x = 88172645463325252ULL;
    for (uint64_t k = 0; k < 50000; k++) {
        for (size_t i = 0; i < sizeof(pad); i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* incompressible */
            pad[i] = (char)x;
        }
        assert_int_equal(rt_state_put(st, kg_of(k), 0, &k, 8, pad, sizeof(pad), NULL), 0);
    }
    json_t *h1 = snap(st, RT_SNAPSHOT_CHECKPOINT, 1, "incr-1");
    rt_state_notify_complete(st, 1);
    for (uint64_t k = 0; k < 300; k++)
        put_u64(st, 0, k * 97, 1);
    json_t *h2 = snap(st, RT_SNAPSHOT_CHECKPOINT, 2, "incr-2");
    size_t nnew;
    uint64_t fresh = new_shared_bytes(h1, h2, &nnew);
    uint64_t all1 = shared_bytes(h1);
    assert_true(all1 > 5u << 20);
    assert_true(nnew >= 1);
    if (fresh * 20 > all1)
        fail_msg("second checkpoint uploaded %llu new bytes of %llu", (unsigned long long)fresh,
                 (unsigned long long)all1);
    rt_state_free(st);
    rt_state *r = open_state("rocksdb", 0, 127, 0, "incr-r");
    restore(r, &h2, 1);
    for (uint64_t k = 0; k < 50000; k++) {
        void *p;
        uint32_t len;
        assert_int_equal(rt_state_get(r, kg_of(k), 0, &k, 8, &p, &len), 0);
        if (k % 97 == 0 && k / 97 < 300)
            assert_int_equal(len, 8);
        else
            assert_int_equal(len, 200);
    }
    rt_state_free(r);
    json_decref(h1);
    json_decref(h2);
}

static void test_corruption(void **state)
{
    (void)state;
    rt_state *st = open_state("hashmap", 0, 127, 0, "c");
    fill(st, 500);
    json_t *h = snap(st, RT_SNAPSHOT_SAVEPOINT, 1, "corrupt");
    rt_state_free(st);
    char path[512];
    snprintf(path, sizeof(path), "%s/corrupt/state.kv", root);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    /* flip one byte in the middle */
    FILE *f = fopen(path, "r+b");
    fseek(f, sb.st_size / 2, SEEK_SET);
    int c = fgetc(f);
    fseek(f, sb.st_size / 2, SEEK_SET);
    fputc(c ^ 0x40, f);
    fclose(f);
    for (int b = 0; b < 2; b++) {
        rt_state *r = open_state(backends[b], 0, 127, 0, "cr");
        weir_error err = {0};
        int rc = rt_state_restore(r, root, &h, 1, &err);
        assert_int_equal(rc, WEIR_EPARSE);
        assert_non_null(strstr(err.msg, "corrupt/state.kv"));
        rt_state_free(r);
    }
    /* truncate */
    assert_int_equal(truncate(path, sb.st_size - 5), 0);
    rt_state *r = open_state("hashmap", 0, 127, 0, "cr2");
    weir_error err = {0};
    assert_int_equal(rt_state_restore(r, root, &h, 1, &err), WEIR_EPARSE);
    assert_non_null(strstr(err.msg, "truncated"));
    rt_state_free(r);
    /* missing */
    unlink(path);
    r = open_state("rocksdb", 0, 127, 0, "cr3");
    assert_int_equal(rt_state_restore(r, root, &h, 1, &err), WEIR_ENOTFOUND);
    assert_non_null(strstr(err.msg, "state.kv"));
    rt_state_free(r);
    json_decref(h);
}

static void test_bad_options(void **state)
{
    (void)state;
    rt_state *st = NULL;
    weir_error err = {0};
    rt_state_options o = {.backend = "memory", .max_parallelism = 128, .kg_last = 127};
    assert_int_equal(rt_state_open(&o, &st, &err), WEIR_EINVAL);
    assert_non_null(strstr(err.msg, "memory"));
    o.backend = "hashmap";
    o.kg_first = 10;
    o.kg_last = 5;
    assert_int_equal(rt_state_open(&o, &st, &err), WEIR_EINVAL);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_in_place_updates),
        cmocka_unit_test(test_scan_ns),
        cmocka_unit_test(test_key_groups),
        cmocka_unit_test(test_snapshot_restore),
        cmocka_unit_test(test_merge_subtasks),
        cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_corruption),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
