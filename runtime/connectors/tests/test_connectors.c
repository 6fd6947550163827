/*
 * test_connectors.c - datagen (determinism across parallelism, number-of-rows splits, sequence
 * bounds, snapshot/restore, option errors, bounds, null rate, rate limit, and agreement with the
 * documented formula as recomputed by datagen_model.py), print (Flink's prefixes) and blackhole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/connectors/connector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rt_schema *schema(void)
{
    static const char *names[] = {"id", "k", "s", "d"};
    static const char *types[] = {"BIGINT", "INT", "STRING", "DOUBLE"};
    rt_schema *s = rt_schema_new(4);
    for (int i = 0; i < 4; i++) {
        s->names[i] = strdup(names[i]);
        weir_error e = {0};
        assert_int_equal(rt_type_parse(types[i], &s->types[i], &e), 0);
    }
    return s;
}

static json_t *opts(const char *extra)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"rows-per-second\":\"1000000000\",\"seed\":\"7\",\"fields.k.min\":\"-5\","
             "\"fields.k.max\":\"5\",\"fields.s.length\":\"10\",\"fields.d.min\":\"0\","
             "\"fields.d.max\":\"1\"%s}",
             extra);
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    assert_non_null(o);
    return o;
}

/* All rows of subtask `st` of `par` as formatted lines appended to `out` (one string). */
static size_t collect(const rt_schema *s, json_t *o, uint32_t st, uint32_t par, char ***lines,
                      size_t n)
{
    const rt_source_ops *ops = rt_connector_source("datagen");
    void *self;
    weir_error err = {0};
    if (ops->create(s, o, st, par, &self, &err))
        fail_msg("create: %s", err.msg);
    rt_batch *b = rt_batch_new(s, 100);
    for (;;) {
        rt_batch_reset(b);
        int64_t idle = 0;
        int rc = ops->poll(self, b, &idle, &err);
        assert_true(rc >= 0);
        for (uint32_t r = 0; r < b->n; r++) {
            char buf[256];
            rt_batch_format_row(b, r, buf, sizeof(buf));
            *lines = realloc(*lines, (n + 1) * sizeof(char *));
            (*lines)[n++] = strdup(buf);
        }
        if (rc == RT_SOURCE_END)
            break;
    }
    rt_batch_free(b);
    ops->destroy(self);
    return n;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_lines(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

static void test_parallelism_independent(void **state)
{
    (void)state;
    rt_schema *s = schema();
    json_t *o = opts(",\"number-of-rows\":\"1003\",\"fields.id.kind\":\"sequence\","
                     "\"fields.id.start\":\"100\",\"fields.id.end\":\"100000\"");
    char **one = NULL;
    size_t n1 = collect(s, o, 0, 1, &one, 0);
    assert_int_equal(n1, 1003);
    for (uint32_t par = 3; par <= 4; par++) {
        char **many = NULL;
        size_t n = 0;
        for (uint32_t st = 0; st < par; st++)
            n = collect(s, o, st, par, &many, n);
        assert_int_equal(n, n1);
        assert_non_null(many);
        qsort(many, n, sizeof(char *), cmp);
        char **sorted1 = malloc(n1 * sizeof(char *));
        memcpy(sorted1, one, n1 * sizeof(char *));
        qsort(sorted1, n1, sizeof(char *), cmp);
        for (size_t i = 0; i < n; i++)
            assert_string_equal(many[i], sorted1[i]);
        free(sorted1);
        free_lines(many, n);
    }
    free_lines(one, n1);
    json_decref(o);
    rt_schema_free(s);
}

static void test_sequence_bounds(void **state)
{
    (void)state;
    rt_schema *s = schema();
    json_t *o = opts(",\"fields.id.kind\":\"sequence\",\"fields.id.start\":\"5\","
                     "\"fields.id.end\":\"24\"");
    char **l = NULL;
    size_t n = collect(s, o, 0, 1, &l, 0);
    assert_int_equal(n, 20); /* the sequence bounds an otherwise unbounded source */
    assert_non_null(strstr(l[0], "+I[5, "));
    assert_non_null(strstr(l[19], "+I[24, "));
    free_lines(l, n);
    json_decref(o);
    rt_schema_free(s);
}

/* Every row of subtask `st` of `par` into one batch; `proj` NULL: every column. */
static rt_batch *poll_all(const rt_schema *s, const uint32_t *proj, uint32_t nproj, json_t *o,
                          uint32_t st, uint32_t par)
{
    const rt_source_ops *ops = rt_connector_source("datagen");
    assert_non_null(ops->create_projected);
    void *self = NULL;
    weir_error err = {0};
    int rc = proj ? ops->create_projected(s, proj, nproj, o, st, par, &self, &err)
                  : ops->create(s, o, st, par, &self, &err);
    if (rc)
        fail_msg("create: %s", err.msg);
    rt_type types[8];
    uint32_t n = proj ? nproj : s->ncols;
    for (uint32_t j = 0; j < n; j++)
        types[j] = s->types[proj ? proj[j] : j];
    rt_batch *b = rt_batch_new_types(types, n, 4096);
    for (;;) {
        int64_t idle = 0;
        rc = ops->poll(self, b, &idle, &err);
        assert_true(rc >= 0);
        if (rc == RT_SOURCE_END)
            break;
        assert_true(b->n < b->cap);
    }
    ops->destroy(self);
    return b;
}

/* Column `pc` of projected rows `p` equals column `fc` of the full rows `f`, row by row. */
static void same_column(const rt_batch *f, uint32_t fc, const rt_batch *p, uint32_t pc)
{
    assert_int_equal(f->n, p->n);
    const rt_col *a = &f->cols[fc], *b = &p->cols[pc];
    for (uint32_t r = 0; r < f->n; r++) {
        assert_int_equal(a->null[r], b->null[r]);
        if (a->null[r])
            continue;
        switch (rt_type_phys(a->type)) {
        case RT_PHYS_STR:
            assert_int_equal(a->str[r].len, b->str[r].len);
            assert_memory_equal(a->str[r].ptr, b->str[r].ptr, a->str[r].len);
            break;
        case RT_PHYS_F64:
            assert_true(a->f64[r] == b->f64[r]);
            break;
        default:
            assert_int_equal(a->i64[r], b->i64[r]);
            break;
        }
    }
}

/* Projection push-down: the projected columns have the values they have without projection
 * (each with its declared position in the formula), in projection order, and a sequence field
 * that is not produced still bounds the rows. */
static void test_projection(void **state)
{
    (void)state;
    rt_schema *s = schema();
    json_t *o = opts(",\"fields.id.kind\":\"sequence\",\"fields.id.start\":\"5\","
                     "\"fields.id.end\":\"1204\",\"fields.d.null-rate\":\"0.3\"");
    rt_batch *full = poll_all(s, NULL, 0, o, 0, 1);
    assert_int_equal(full->n, 1200);
    /* d and k, reversed, without the sequence id and the string s before d */
    const uint32_t dk[] = {3, 1};
    rt_batch *p = poll_all(s, dk, 2, o, 0, 1);
    assert_int_equal(p->ncols, 2);
    assert_int_equal(p->n, 1200); /* the pruned sequence still bounds the rows */
    same_column(full, 3, p, 0);
    same_column(full, 1, p, 1);
    uint32_t nulls = 0;
    for (uint32_t r = 0; r < p->n; r++)
        nulls += p->cols[0].null[r];
    assert_true(nulls > 200 && nulls < 520); /* d's null stream, not k's */
    rt_batch_free(p);
    /* the string alone, after two pruned fields */
    const uint32_t only_s[] = {2};
    p = poll_all(s, only_s, 1, o, 0, 1);
    same_column(full, 2, p, 0);
    rt_batch_free(p);
    /* the sequence itself, projected, at another parallelism */
    rt_batch *full1 = poll_all(s, NULL, 0, o, 1, 3);
    const uint32_t id_s[] = {0, 2};
    p = poll_all(s, id_s, 2, o, 1, 3);
    assert_int_equal(p->n, 400);
    same_column(full1, 0, p, 0);
    same_column(full1, 2, p, 1);
    assert_int_equal(p->cols[0].i64[0], 5 + 400);
    rt_batch_free(p);
    rt_batch_free(full1);
    rt_batch_free(full);
    /* bad projections */
    const rt_source_ops *ops = rt_connector_source("datagen");
    void *self = NULL;
    weir_error err = {0};
    const uint32_t out_of_range[] = {1, 4};
    assert_int_equal(ops->create_projected(s, out_of_range, 2, o, 0, 1, &self, &err), WEIR_EINVAL);
    assert_non_null(strstr(err.msg, "projected column 4 is out of range (the table has 4)"));
    assert_int_equal(ops->create_projected(s, out_of_range, 0, o, 0, 1, &self, &err), WEIR_EINVAL);
    assert_null(self);
    json_decref(o);
    rt_schema_free(s);
}

static void test_snapshot_restore(void **state)
{
    (void)state;
    rt_schema *s = schema();
    json_t *o = opts(",\"number-of-rows\":\"500\"");
    const rt_source_ops *ops = rt_connector_source("datagen");
    char **all = NULL;
    size_t nall = collect(s, o, 1, 2, &all, 0);
    void *a;
    weir_error err = {0};
    assert_int_equal(ops->create(s, o, 1, 2, &a, &err), 0);
    rt_batch *b = rt_batch_new(s, 100);
    int64_t idle;
    assert_int_equal(ops->poll(a, b, &idle, &err), RT_SOURCE_MORE);
    json_t *pos = ops->snapshot(a);
    ops->destroy(a);
    void *c;
    assert_int_equal(ops->create(s, o, 1, 2, &c, &err), 0);
    assert_int_equal(ops->restore(c, pos, &err), 0);
    size_t i = 100;
    for (;;) {
        rt_batch_reset(b);
        int rc = ops->poll(c, b, &idle, &err);
        for (uint32_t r = 0; r < b->n; r++, i++) {
            char buf[256];
            rt_batch_format_row(b, r, buf, sizeof(buf));
            assert_string_equal(buf, all[i]);
        }
        if (rc == RT_SOURCE_END)
            break;
    }
    assert_int_equal(i, nall);
    /* a position from another parallelism is refused */
    json_object_set_new(pos, "parallelism", json_integer(3));
    assert_int_equal(ops->restore(c, pos, &err), WEIR_EUNSUPPORTED);
    json_object_set_new(pos, "next", json_string("x"));
    assert_int_equal(ops->restore(c, pos, &err), WEIR_EPARSE);
    ops->destroy(c);
    json_decref(pos);
    rt_batch_free(b);
    free_lines(all, nall);
    json_decref(o);
    rt_schema_free(s);
}

static void bad_option(const char *extra, const char *needle)
{
    rt_schema *s = schema();
    json_t *o = opts(extra);
    void *self = NULL;
    weir_error err = {0};
    int rc = rt_connector_source("datagen")->create(s, o, 0, 1, &self, &err);
    if (rc != WEIR_EINVAL || !strstr(err.msg, needle))
        fail_msg("'%s': got %d '%s', want '%s'", extra, rc, err.msg, needle);
    json_decref(o);
    rt_schema_free(s);
}

static void test_option_errors(void **state)
{
    (void)state;
    bad_option(",\"rows-per-secnd\":\"1\"",
               "Unsupported options found for 'datagen': rows-per-secnd");
    bad_option(",\"fields.nope.min\":\"1\"", "no column 'nope'");
    bad_option(",\"fields.k.kind\":\"sequence\"", "fields.k.start is required");
    bad_option(",\"fields.k.kind\":\"sequence\",\"fields.k.start\":\"9\",\"fields.k.end\":\"1\"",
               "end 1 is before start 9");
    bad_option(",\"fields.k.min\":\"abc\"", "'fields.k.min': 'abc' is not an integer");
    bad_option(",\"fields.s.min\":\"1\"", "min/max apply to numeric columns");
    bad_option(",\"fields.k.kind\":\"randum\"", "not one of random, sequence");
    bad_option(",\"number-of-rows\":\"-1\"", "number-of-rows");
    bad_option(",\"fields.k.null-rate\":\"2\"", "not in [0, 1]");
    bad_option(",\"fields.k.foo\":\"2\"", "fields.k.foo");
}

static void test_values(void **state)
{
    (void)state;
    rt_schema *s = schema();
    json_t *o = opts(",\"number-of-rows\":\"5000\",\"fields.d.null-rate\":\"0.25\"");
    const rt_source_ops *ops = rt_connector_source("datagen");
    void *self;
    weir_error err = {0};
    assert_int_equal(ops->create(s, o, 0, 1, &self, &err), 0);
    rt_batch *b = rt_batch_new(s, 5000);
    int64_t idle;
    assert_int_equal(ops->poll(self, b, &idle, &err), RT_SOURCE_END);
    assert_int_equal(b->n, 5000);
    uint32_t nulls = 0, seen_lo = 0, seen_hi = 0;
    for (uint32_t r = 0; r < b->n; r++) {
        int64_t k = b->cols[1].i64[r];
        assert_true(k >= -5 && k <= 5);
        seen_lo += k == -5;
        seen_hi += k == 5;
        assert_int_equal(b->cols[2].str[r].len, 10);
        nulls += b->cols[3].null[r];
        if (!b->cols[3].null[r])
            assert_true(b->cols[3].f64[r] >= 0 && b->cols[3].f64[r] < 1);
    }
    assert_true(seen_lo > 0 && seen_hi > 0);
    assert_true(nulls > 1000 && nulls < 1500);
    ops->destroy(self);
    rt_batch_free(b);
    json_decref(o);
    /* rate limit: 100 rows/s gives a short batch and an idle hint */
    o = json_pack("{s:s}", "rows-per-second", "100");
    assert_int_equal(ops->create(s, o, 0, 1, &self, &err), 0);
    b = rt_batch_new(s, 1000);
    assert_int_equal(ops->poll(self, b, &idle, &err), RT_SOURCE_MORE);
    assert_true(b->n < 10);
    rt_batch_reset(b);
    idle = 0;
    assert_int_equal(ops->poll(self, b, &idle, &err), RT_SOURCE_MORE);
    assert_true(b->n > 0 || idle > 0);
    ops->destroy(self);
    rt_batch_free(b);
    json_decref(o);
    rt_schema_free(s);
}

/* The documented formula, recomputed by the Python model, gives the same rows. */
static void test_matches_model(void **state)
{
    (void)state;
    rt_schema *s = schema();
    json_t *o = opts(",\"number-of-rows\":\"50\",\"fields.s.var-len\":\"true\"");
    char *o_text = json_dumps(o, JSON_COMPACT);
    const char *sch = "[{\"name\":\"id\",\"type\":\"BIGINT\"},{\"name\":\"k\",\"type\":\"INT\"},"
                      "{\"name\":\"s\",\"type\":\"STRING\"},{\"name\":\"d\",\"type\":\"DOUBLE\"}]";
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 runtime/connectors/tests/datagen_model.py '%s' '%s' 0 50", sch,
             o_text);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    const rt_source_ops *ops = rt_connector_source("datagen");
    void *self;
    weir_error err = {0};
    assert_int_equal(ops->create(s, o, 0, 1, &self, &err), 0);
    rt_batch *b = rt_batch_new(s, 100);
    int64_t idle;
    assert_int_equal(ops->poll(self, b, &idle, &err), RT_SOURCE_END);
    char line[1024];
    uint32_t r = 0;
    while (fgets(line, sizeof(line), p)) {
        json_t *row = json_loads(line, 0, NULL);
        assert_non_null(row);
        assert_true(r < b->n);
        assert_int_equal(json_integer_value(json_object_get(row, "id")), b->cols[0].i64[r]);
        assert_int_equal(json_integer_value(json_object_get(row, "k")), b->cols[1].i64[r]);
        const char *str = json_string_value(json_object_get(row, "s"));
        assert_int_equal(strlen(str), b->cols[2].str[r].len);
        assert_memory_equal(str, b->cols[2].str[r].ptr, b->cols[2].str[r].len);
        assert_true(json_real_value(json_object_get(row, "d")) == b->cols[3].f64[r]);
        json_decref(row);
        r++;
    }
    assert_int_equal(pclose(p), 0);
    assert_int_equal(r, 50);
    ops->destroy(self);
    rt_batch_free(b);
    free(o_text);
    json_decref(o);
    rt_schema_free(s);
}

static char *print_rows(const char *id, uint32_t st, uint32_t par)
{
    rt_schema *s = schema();
    json_t *o = id ? json_pack("{s:s}", "print-identifier", id) : json_object();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rt_connector_print_redirect(f);
    const rt_sink_ops *ops = rt_connector_sink("print");
    void *self;
    weir_error err = {0};
    assert_int_equal(ops->create(s, o, st, par, &self, &err), 0);
    rt_batch *b = rt_batch_new(s, 4);
    bool ok = true;
    b->cols[0].i64[0] = 1;
    b->cols[1].null[0] = 1;
    b->cols[2].str[0] = rt_arena_strdup(&b->arena, "ab", 2, &ok);
    b->cols[3].f64[0] = 2.5;
    b->kind[0] = RT_UPDATE_BEFORE;
    b->n = 1;
    assert_int_equal(ops->write(self, b, &err), 0);
    assert_int_equal(ops->flush(self, &err), 0);
    ops->destroy(self);
    rt_connector_print_redirect(NULL);
    fclose(f);
    rt_batch_free(b);
    json_decref(o);
    rt_schema_free(s);
    return buf;
}

/* Fields of ROW columns (flattened as "row.field") print as nested rows, as Flink's nested Row. */
static void test_print_rows(void **state)
{
    (void)state;
    static const char *const layouts[][6] = {
        {"id", "r.a", "r.b", "d", NULL},
        {"r.a", "r.n.x", "r.n.y", "r.b", "q.z", NULL},
        {"a.b.c", "a.b.d", "e", NULL},
    };
    static const char *const want[] = {
        "-U[1, +I[NULL, ab], 2.5]\n",
        "-U[+I[1, +I[NULL, ab], 2.5], +I[7]]\n",
        "-U[+I[+I[1, NULL]], ab]\n",
    };
    for (int l = 0; l < 3; l++) {
        int n = 0;
        while (layouts[l][n])
            n++;
        rt_schema *s = rt_schema_new((uint32_t)n);
        static const char *types[] = {"BIGINT", "INT", "STRING", "DOUBLE", "INT"};
        for (int i = 0; i < n; i++) {
            s->names[i] = strdup(layouts[l][i]);
            weir_error e = {0};
            assert_int_equal(rt_type_parse(types[i], &s->types[i], &e), 0);
        }
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        rt_connector_print_redirect(f);
        const rt_sink_ops *ops = rt_connector_sink("print");
        void *self;
        weir_error err = {0};
        json_t *o = json_object();
        assert_int_equal(ops->create(s, o, 0, 1, &self, &err), 0);
        rt_batch *b = rt_batch_new(s, 4);
        bool ok = true;
        b->cols[0].i64[0] = 1;
        b->cols[1].null[0] = 1;
        b->cols[2].str[0] = rt_arena_strdup(&b->arena, "ab", 2, &ok);
        if (n > 3)
            b->cols[3].f64[0] = 2.5;
        if (n > 4)
            b->cols[4].i64[0] = 7;
        b->kind[0] = RT_UPDATE_BEFORE;
        b->n = 1;
        assert_int_equal(ops->write(self, b, &err), 0);
        ops->destroy(self);
        rt_connector_print_redirect(NULL);
        fclose(f);
        assert_string_equal(buf, want[l]);
        free(buf);
        rt_batch_free(b);
        json_decref(o);
        rt_schema_free(s);
    }
}

static void test_print(void **state)
{
    (void)state;
    char *s;
    s = print_rows("job", 1, 3);
    assert_string_equal(s, "job:2> -U[1, NULL, ab, 2.5]\n");
    free(s);
    s = print_rows("job", 0, 1);
    assert_string_equal(s, "job> -U[1, NULL, ab, 2.5]\n");
    free(s);
    s = print_rows(NULL, 2, 4);
    assert_string_equal(s, "3> -U[1, NULL, ab, 2.5]\n");
    free(s);
    s = print_rows(NULL, 0, 1);
    assert_string_equal(s, "-U[1, NULL, ab, 2.5]\n");
    free(s);
    rt_schema *sc = schema();
    json_t *o = json_pack("{s:s}", "print-identifer", "x");
    void *self;
    weir_error err = {0};
    assert_int_equal(rt_connector_sink("print")->create(sc, o, 0, 1, &self, &err), WEIR_EINVAL);
    assert_non_null(strstr(err.msg, "print-identifer"));
    json_decref(o);
    o = json_pack("{s:s}", "x", "y");
    assert_int_equal(rt_connector_sink("blackhole")->create(sc, o, 0, 1, &self, &err), WEIR_EINVAL);
    json_decref(o);
    rt_schema_free(sc);
    assert_null(rt_connector_source("kafka"));
    assert_null(rt_connector_sink("nope"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parallelism_independent),
        cmocka_unit_test(test_sequence_bounds),
        cmocka_unit_test(test_projection),
        cmocka_unit_test(test_snapshot_restore),
        cmocka_unit_test(test_option_errors),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_matches_model),
        cmocka_unit_test(test_print),
        cmocka_unit_test(test_print_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
