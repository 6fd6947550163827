/*
 * test_config.c - lib/config: nested and flat YAML, legacy flink-conf.yaml, FLINK_PROPERTIES,
 * -D arguments, precedence, Flink's duration/memory/bool/int/enum/list/map syntaxes, and errors
 * that name the key and the position (unknown unit, bad YAML, wrong type, duplicate key).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static config *yaml(const char *text)
{
    config *c = config_new();
    weir_error err = {0};
    if (config_load_yaml(c, text, strlen(text), "config.yaml", &err) != 0)
        fail_msg("load: %s", err.msg);
    return c;
}

static void expect_msg(const weir_error *err, const char *needle)
{
    if (!strstr(err->msg, needle))
        fail_msg("message '%s' lacks '%s'", err->msg, needle);
}

static void test_yaml_nested_and_flat(void **state)
{
    (void)state;
    config *c = yaml("# Flink 2 config.yaml\n"
                     "taskmanager:\n"
                     "  numberOfTaskSlots: 2\n"
                     "  memory:\n"
                     "    process.size: 1728m\n"
                     "jobmanager.rpc.address: localhost\n"
                     "state.checkpoints.dir: 's3://bucket/cp'\n"
                     "high-availability.type: kubernetes\n"
                     "pipeline.jars: [a.jar, b.jar]\n"
                     "empty.value:\n"
                     "quoted: \"true\"\n"
                     "pipeline.global-job-parameters:\n"
                     "  region: eu\n"
                     "  tier: gold\n");
    assert_string_equal(config_get(c, "taskmanager.numberOfTaskSlots"), "2");
    assert_string_equal(config_get(c, "taskmanager.memory.process.size"), "1728m");
    assert_string_equal(config_get(c, "jobmanager.rpc.address"), "localhost");
    assert_string_equal(config_get(c, "state.checkpoints.dir"), "s3://bucket/cp");
    assert_string_equal(config_get(c, "pipeline.jars"), "a.jar;b.jar");
    assert_false(config_has(c, "empty.value"));
    assert_string_equal(config_origin(c, "taskmanager.numberOfTaskSlots"), "config.yaml:3:22");
    long long slots;
    assert_int_equal(config_get_int(c, "taskmanager.numberOfTaskSlots", 1, &slots, NULL), 0);
    assert_int_equal(slots, 2);
    unsigned long long mem;
    assert_int_equal(config_get_memory(c, "taskmanager.memory.process.size", 0, &mem, NULL), 0);
    assert_int_equal(mem, 1728ULL << 20);
    bool q;
    assert_int_equal(config_get_bool(c, "quoted", false, &q, NULL), 0);
    assert_true(q);
    char **list;
    assert_int_equal(config_get_list(c, "pipeline.jars", &list, NULL), 0);
    assert_string_equal(list[0], "a.jar");
    assert_string_equal(list[1], "b.jar");
    assert_null(list[2]);
    config_strv_free(list);
    char **map;
    assert_int_equal(config_get_map(c, "pipeline.global-job-parameters", &map, NULL), 0);
    assert_string_equal(map[0], "region");
    assert_string_equal(map[1], "eu");
    assert_string_equal(map[2], "tier");
    assert_string_equal(map[3], "gold");
    assert_null(map[4]);
    config_strv_free(map);
    const char **keys = config_keys(c);
    assert_string_equal(keys[0], "high-availability.type");
    free(keys);
    config_free(c);
}

static void test_durations(void **state)
{
    (void)state;
    struct {
        const char *in;
        long long ms;
    } ok[] = {
        {"60 s", 60000},      {"1 min", 60000},   {"500ms", 500},          {"2 h", 7200000},
        {"3d", 259200000},    {"100", 100},       {" 10 seconds ", 10000}, {"5 m", 300000},
        {"1 MIN", 60000},     {"7 mins", 420000}, {"2000000 ns", 2},       {"1500 us", 1},
        {"1 millisecond", 1}, {"0", 0},           {"1 day", 86400000},     {"3 hours", 10800000}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        long long v = -1;
        if (config_parse_duration_ms(ok[i].in, &v) != 0 || v != ok[i].ms)
            fail_msg("'%s' -> %lld, want %lld", ok[i].in, v, ok[i].ms);
    }
    long long v;
    assert_int_equal(config_parse_duration_ms("1 fortnight", &v), WEIR_EUNIT);
    assert_int_equal(config_parse_duration_ms("mins", &v), WEIR_EPARSE);
    assert_int_equal(config_parse_duration_ms("-5 s", &v), WEIR_EPARSE);
    assert_int_equal(config_parse_duration_ms("1.5 s", &v), WEIR_EUNIT);
    assert_int_equal(config_parse_duration_ms("", &v), WEIR_EPARSE);
    assert_int_equal(config_parse_duration_ms("99999999999999999 d", &v), WEIR_ERANGE);
    assert_int_equal(config_parse_duration_ms("999999999999999999999999", &v), WEIR_ERANGE);
}

static void test_memory(void **state)
{
    (void)state;
    struct {
        const char *in;
        unsigned long long b;
    } ok[] = {{"2048m", 2048ULL << 20},
              {"1g", 1ULL << 30},
              {"1 gb", 1ULL << 30},
              {"512 kb", 512 << 10},
              {"100", 100},
              {"7 bytes", 7},
              {"1 TB", 1ULL << 40},
              {"3 mebibytes", 3 << 20},
              {"2K", 2048}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        unsigned long long v = 0;
        if (config_parse_memory(ok[i].in, &v) != 0 || v != ok[i].b)
            fail_msg("'%s' -> %llu, want %llu", ok[i].in, v, ok[i].b);
    }
    unsigned long long v;
    assert_int_equal(config_parse_memory("1 xb", &v), WEIR_EUNIT);
    assert_int_equal(config_parse_memory("gb", &v), WEIR_EPARSE);
    assert_int_equal(config_parse_memory("99999999999 tb", &v), WEIR_ERANGE);
}

static void test_getter_errors_name_key_and_position(void **state)
{
    (void)state;
    config *c = yaml("execution:\n"
                     "  checkpointing:\n"
                     "    interval: 10 mins2\n"
                     "taskmanager.memory.process.size: 2 zb\n"
                     "parallelism.default: four\n"
                     "rest.flamegraph.enabled: yes please\n"
                     "execution.checkpointing.mode: SOMETIMES\n"
                     "kubernetes.jobmanager.annotations: a:b,broken\n");
    weir_error err = {0};
    long long ms;
    assert_int_equal(config_get_duration_ms(c, "execution.checkpointing.interval", 0, &ms, &err),
                     WEIR_EUNIT);
    expect_msg(&err, "config.yaml:3:15: key 'execution.checkpointing.interval': unknown duration "
                     "unit 'mins2' in '10 mins2'");
    unsigned long long b;
    assert_int_equal(config_get_memory(c, "taskmanager.memory.process.size", 0, &b, &err),
                     WEIR_EUNIT);
    expect_msg(&err,
               "config.yaml:4:34: key 'taskmanager.memory.process.size': unknown memory unit 'zb'");
    long long n;
    assert_int_equal(config_get_int(c, "parallelism.default", 1, &n, &err), WEIR_ETYPE);
    expect_msg(&err, "config.yaml:5:22: key 'parallelism.default': 'four' is not an integer");
    bool bv;
    assert_int_equal(config_get_bool(c, "rest.flamegraph.enabled", false, &bv, &err), WEIR_ETYPE);
    expect_msg(&err, "key 'rest.flamegraph.enabled': 'yes please' is not a boolean");
    static const char *const modes[] = {"EXACTLY_ONCE", "AT_LEAST_ONCE", NULL};
    int mode;
    assert_int_equal(config_get_enum(c, "execution.checkpointing.mode", modes, 0, &mode, &err),
                     WEIR_EINVAL);
    expect_msg(&err, "'SOMETIMES' is not one of: EXACTLY_ONCE, AT_LEAST_ONCE");
    char **map;
    assert_int_equal(config_get_map(c, "kubernetes.jobmanager.annotations", &map, &err),
                     WEIR_EPARSE);
    expect_msg(&err, "map entry 'broken' is not 'key:value'");
    /* defaults when unset; enum matching ignores case and -/_ */
    assert_int_equal(config_get_duration_ms(c, "nope", 1234, &ms, &err), 0);
    assert_int_equal(ms, 1234);
    assert_int_equal(config_set(c, "execution.checkpointing.mode", "at-least-once", "-D"), 0);
    assert_int_equal(config_get_enum(c, "execution.checkpointing.mode", modes, 0, &mode, &err), 0);
    assert_int_equal(mode, 1);
    assert_int_equal(config_set(c, "x", "big", "-D"), 0);
    assert_int_equal(config_get_int(c, "x", 0, &n, &err), WEIR_ETYPE);
    expect_msg(&err, "-D: key 'x': 'big' is not an integer");
    assert_int_equal(config_set(c, "x", "99999999999999999999", NULL), 0);
    assert_int_equal(config_get_int(c, "x", 0, &n, &err), WEIR_ERANGE);
    double d;
    assert_int_equal(config_set(c, "f", "0.75", NULL), 0);
    assert_int_equal(config_get_double(c, "f", 0, &d, &err), 0);
    assert_true(d == 0.75);
    config_free(c);
}

static void expect_load_error(const char *text, int code, const char *needle)
{
    config *c = config_new();
    assert_int_equal(config_set(c, "kept", "yes", NULL), 0);
    weir_error err = {0};
    int rc = config_load_yaml(c, text, strlen(text), "conf.yaml", &err);
    if (rc != code || !strstr(err.msg, needle))
        fail_msg("rc=%d (want %d) msg='%s' (want '%s')", rc, code, err.msg, needle);
    assert_int_equal(config_len(c), 1); /* nothing applied */
    config_free(c);
}

static void test_yaml_errors(void **state)
{
    (void)state;
    expect_load_error("a: 1\nb: [1, 2\n", WEIR_EPARSE, "conf.yaml:3:1: invalid YAML");
    expect_load_error("a:\n  b: 1\n c: 2\n", WEIR_EPARSE, "conf.yaml:3:");
    expect_load_error("state.backend.type: rocksdb\nstate.backend.type: hashmap\n", WEIR_EDUPLICATE,
                      "conf.yaml:2:1: key 'state.backend.type' is given twice (first at "
                      "conf.yaml:1:21)");
    expect_load_error("a.b: 1\na:\n  b: 2\n", WEIR_EDUPLICATE, "key 'a.b' is given twice");
    expect_load_error("- a\n- b\n", WEIR_ETYPE,
                      "conf.yaml:1:1: expected 'key: value' entries, found a list");
    expect_load_error("just text\n", WEIR_ETYPE, "found a single value");
    expect_load_error("k: [{a: 1}]\n", WEIR_ETYPE,
                      "conf.yaml:1:5: key 'k': list items must be plain values, found a map");
    expect_load_error("? [a, b]\n: c\n", WEIR_ETYPE, "a key must be a non-empty string");
    expect_load_error("a: \"\\x00\"\n", WEIR_EPARSE, "contains a NUL");
    /* aliases cannot blow a small document up into billions of keys */
    char bomb[2048] = "a0: &a0 {x: 1, y: 2, z: 3, w: 4, v: 5, u: 6, t: 7, s: 8, r: 9, q: 10}\n";
    for (int i = 1; i < 10; i++) {
        size_t l = strlen(bomb);
        snprintf(bomb + l, sizeof(bomb) - l, "a%d: &a%d {", i, i);
        for (int j = 0; j < 10; j++) {
            l = strlen(bomb);
            snprintf(bomb + l, sizeof(bomb) - l, "%sk%d: *a%d", j ? ", " : "", j, i - 1);
        }
        l = strlen(bomb);
        snprintf(bomb + l, sizeof(bomb) - l, "}\n");
    }
    expect_load_error(bomb, WEIR_ETOOBIG, "through aliases?");
    /* empty documents are fine */
    config *c = config_new();
    assert_int_equal(config_load_yaml(c, "", 0, "e", NULL), 0);
    assert_int_equal(config_load_yaml(c, "# only a comment\n", 17, "e", NULL), 0);
    assert_int_equal(config_len(c), 0);
    config_free(c);
}

static void test_legacy_properties_dynamic_precedence(void **state)
{
    (void)state;
    const char *legacy = "# flink-conf.yaml\n"
                         "jobmanager.rpc.address: jm # trailing comment\n"
                         "taskmanager.numberOfTaskSlots: 1\n"
                         "not a key value line\n"
                         "empty.value: \n"
                         "url: http://x:8081/path\n"
                         "taskmanager.numberOfTaskSlots: 3\n";
    config *c = config_new();
    weir_error err = {0};
    assert_int_equal(config_load_legacy(c, legacy, strlen(legacy), "flink-conf.yaml", &err), 0);
    assert_string_equal(config_get(c, "jobmanager.rpc.address"), "jm");
    assert_string_equal(config_get(c, "taskmanager.numberOfTaskSlots"), "3"); /* later wins */
    assert_string_equal(config_origin(c, "taskmanager.numberOfTaskSlots"), "flink-conf.yaml:7");
    assert_string_equal(config_get(c, "url"), "http://x:8081/path");
    assert_false(config_has(c, "empty.value"));
    assert_int_equal(config_len(c), 3);

    assert_int_equal(config_load_properties(c,
                                            "taskmanager.numberOfTaskSlots: 4\n"
                                            "parallelism.default: 2\n\n",
                                            &err),
                     0);
    assert_string_equal(config_get(c, "taskmanager.numberOfTaskSlots"), "4");
    assert_string_equal(config_origin(c, "parallelism.default"), "FLINK_PROPERTIES:2");

    char *argv[] = {"weir",
                    "-Dparallelism.default=8",
                    "standalone-job",
                    "-D",
                    "rest.port=9000",
                    "--job-classname",
                    "x",
                    "-Dweird=a=b",
                    NULL};
    int argc = 8;
    assert_int_equal(config_parse_args(c, &argc, argv, &err), 0);
    assert_int_equal(argc, 4);
    assert_string_equal(argv[0], "weir");
    assert_string_equal(argv[1], "standalone-job");
    assert_string_equal(argv[2], "--job-classname");
    assert_string_equal(argv[3], "x");
    assert_null(argv[4]);
    assert_string_equal(config_get(c, "parallelism.default"), "8");
    assert_string_equal(config_get(c, "rest.port"), "9000");
    assert_string_equal(config_get(c, "weird"), "a=b");
    char *bad[] = {"-Dnovalue", NULL};
    int bc = 1;
    assert_int_equal(config_parse_args(c, &bc, bad, &err), WEIR_EINVAL);
    expect_msg(&err, "-Dnovalue: expected -Dkey=value");
    char *bad2[] = {"-D", NULL};
    bc = 1;
    assert_int_equal(config_parse_args(c, &bc, bad2, &err), WEIR_EINVAL);

    /* merge and clone */
    config *d = config_clone(c);
    assert_int_equal(config_len(d), config_len(c));
    config *over = config_new();
    assert_int_equal(config_set(over, "rest.port", "1", "override"), 0);
    assert_int_equal(config_merge(d, over), 0);
    assert_string_equal(config_get(d, "rest.port"), "1");
    assert_string_equal(config_get(c, "rest.port"), "9000");
    assert_int_equal(config_remove(d, "rest.port"), 0);
    assert_int_equal(config_remove(d, "rest.port"), WEIR_ENOTFOUND);
    config_free(over);
    config_free(d);
    config_free(c);
}

static void test_files_and_dirs(void **state)
{
    (void)state;
    char dir[] = "/tmp/weir-config-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p[256];
    config *c = config_new();
    weir_error err = {0};
    assert_int_equal(config_load_dir(c, dir, &err), WEIR_ENOTFOUND);
    snprintf(p, sizeof(p), "%s/flink-conf.yaml", dir);
    FILE *f = fopen(p, "w");
    fputs("a: legacy\n", f);
    fclose(f);
    assert_int_equal(config_load_dir(c, dir, &err), 0);
    assert_string_equal(config_get(c, "a"), "legacy");
    snprintf(p, sizeof(p), "%s/config.yaml", dir);
    f = fopen(p, "w");
    fputs("a: {b: nested}\n", f);
    fclose(f);
    assert_int_equal(config_load_dir(c, dir, &err), 0); /* config.yaml wins over the legacy file */
    assert_string_equal(config_get(c, "a.b"), "nested");
    f = fopen(p, "w");
    fputs("a: [\n", f);
    fclose(f);
    assert_int_equal(config_load_file(c, p, &err), WEIR_EPARSE);
    expect_msg(&err, "/config.yaml:2:1: invalid YAML");
    assert_int_equal(config_load_file(c, "/nonexistent/config.yaml", &err), WEIR_ENOTFOUND);
    config_free(c);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_lists_and_maps(void **state)
{
    (void)state;
    config *c = config_new();
    assert_int_equal(config_set(c, "l", " a ; 'b;c' ;d", NULL), 0);
    assert_int_equal(config_set(c, "e", "", NULL), 0);
    assert_int_equal(config_set(c, "m", "k1:v1, k2 : v:2", NULL), 0);
    char **v;
    assert_int_equal(config_get_list(c, "l", &v, NULL), 0);
    assert_string_equal(v[0], "a");
    assert_string_equal(v[1], "b;c");
    assert_string_equal(v[2], "d");
    assert_null(v[3]);
    config_strv_free(v);
    assert_int_equal(config_get_list(c, "e", &v, NULL), 0);
    assert_null(v[0]);
    config_strv_free(v);
    assert_int_equal(config_get_list(c, "unset", &v, NULL), 0);
    assert_null(v);
    assert_int_equal(config_get_map(c, "m", &v, NULL), 0);
    assert_string_equal(v[0], "k1");
    assert_string_equal(v[1], "v1");
    assert_string_equal(v[2], "k2");
    assert_string_equal(v[3], "v:2");
    config_strv_free(v);
    assert_int_equal(config_get_map(c, "unset", &v, NULL), 0);
    assert_null(v);
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_nested_and_flat),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_getter_errors_name_key_and_position),
        cmocka_unit_test(test_yaml_errors),
        cmocka_unit_test(test_legacy_properties_dynamic_precedence),
        cmocka_unit_test(test_files_and_dirs),
        cmocka_unit_test(test_lists_and_maps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
