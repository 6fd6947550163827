/*
 * test_config.c - unit tests for lib/config: nested, flat and mixed config.yaml, sequences and
 * maps, legacy flink-conf.yaml, FLINK_PROPERTIES, -D arguments, merge precedence, iteration,
 * Flink's duration/memory/bool/int/enum/list/map syntaxes, and errors that name the key and the
 * position (unknown unit, bad YAML, wrong type, duplicate key, alias bombs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static config *yaml(const char *text)
{
    config *c = config_new();
    weir_error err = {0};
    assert_non_null(c);
    if (config_load_yaml(c, text, strlen(text), "config.yaml", &err) != 0)
        fail_msg("load: %s", err.msg);
    return c;
}

static void expect_msg(const weir_error *err, const char *needle)
{
    if (!strstr(err->msg, needle))
        fail_msg("message '%s' lacks '%s'", err->msg, needle);
}

static void expect_strv(char **v, const char *const *want)
{
    assert_non_null(v);
    size_t i = 0;
    for (; want[i]; i++) {
        if (!v[i])
            fail_msg("item %zu missing, want '%s'", i, want[i]);
        assert_string_equal(v[i], want[i]);
    }
    assert_null(v[i]);
}

static void test_yaml_nested_flat_mixed(void **state)
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
                     "tilde: ~\n"
                     "quoted: \"true\"\n"
                     "quoted.null: 'null'\n"
                     "pipeline.global-job-parameters:\n"
                     "  region: eu\n"
                     "  tier: gold\n"
                     "kubernetes.jobmanager.annotations: {a: b, c.d: 'e:f'}\n"
                     "block: |\n"
                     "  line1\n"
                     "  line2\n");
    assert_string_equal(config_get(c, "taskmanager.numberOfTaskSlots"), "2");
    assert_string_equal(config_get(c, "taskmanager.memory.process.size"), "1728m");
    assert_string_equal(config_get(c, "jobmanager.rpc.address"), "localhost");
    assert_string_equal(config_get(c, "state.checkpoints.dir"), "s3://bucket/cp");
    assert_string_equal(config_get(c, "pipeline.jars"), "a.jar;b.jar");
    assert_string_equal(config_get(c, "kubernetes.jobmanager.annotations.a"), "b");
    assert_string_equal(config_get(c, "kubernetes.jobmanager.annotations.c.d"), "e:f");
    assert_string_equal(config_get(c, "quoted.null"), "null");
    assert_string_equal(config_get(c, "block"), "line1\nline2\n");
    assert_false(config_has(c, "empty.value"));
    assert_false(config_has(c, "tilde"));
    /* origins are the value's position, 1-based */
    assert_string_equal(config_origin(c, "taskmanager.numberOfTaskSlots"), "config.yaml:3:22");
    assert_string_equal(config_origin(c, "taskmanager.memory.process.size"), "config.yaml:5:19");
    assert_string_equal(config_origin(c, "jobmanager.rpc.address"), "config.yaml:6:25");
    assert_string_equal(config_origin(c, "kubernetes.jobmanager.annotations.a"),
                        "config.yaml:17:40");
    assert_string_equal(config_get_string(c, "jobmanager.rpc.address", "x"), "localhost");
    assert_string_equal(config_get_string(c, "unset", "dflt"), "dflt");
    assert_null(config_get_string(c, "unset", NULL));

    long long slots;
    assert_int_equal(config_get_int(c, "taskmanager.numberOfTaskSlots", 1, &slots, NULL), 0);
    assert_int_equal(slots, 2);
    unsigned long long mem;
    assert_int_equal(config_get_memory_bytes(c, "taskmanager.memory.process.size", 0, &mem, NULL),
                     0);
    assert_int_equal(mem, 1728ULL << 20);
    bool q;
    assert_int_equal(config_get_bool(c, "quoted", false, &q, NULL), 0);
    assert_true(q);
    char **v;
    assert_int_equal(config_get_list(c, "pipeline.jars", &v, NULL), 0);
    expect_strv(v, (const char *const[]){"a.jar", "b.jar", NULL});
    config_strv_free(v);
    assert_int_equal(config_get_map(c, "pipeline.global-job-parameters", &v, NULL), 0);
    expect_strv(v, (const char *const[]){"region", "eu", "tier", "gold", NULL});
    config_strv_free(v);
    assert_int_equal(config_get_map(c, "kubernetes.jobmanager.annotations", &v, NULL), 0);
    expect_strv(v, (const char *const[]){"a", "b", "c.d", "e:f", NULL});
    config_strv_free(v);

    const char **keys = config_keys(c);
    assert_non_null(keys);
    assert_string_equal(keys[0], "block");
    assert_string_equal(keys[1], "high-availability.type");
    for (size_t i = 1; keys[i]; i++)
        assert_true(strcmp(keys[i - 1], keys[i]) < 0);
    free(keys);
    config_free(c);
}

static void test_yaml_sequences_round_trip(void **state)
{
    (void)state;
    config *c = yaml("l: [plain, 'semi;colon', \"it's\", ' padded ', '', \"say \\\"hi\\\"\"]\n"
                     "block:\n"
                     "  - x\n"
                     "  - 42\n"
                     "empty: []\n");
    assert_string_equal(config_get(c, "l"),
                        "plain;'semi;colon';'it''s';' padded ';'';'say \"hi\"'");
    char **v;
    assert_int_equal(config_get_list(c, "l", &v, NULL), 0);
    expect_strv(v, (const char *const[]){"plain", "semi;colon", "it's", " padded ", "",
                                         "say \"hi\"", NULL});
    config_strv_free(v);
    assert_int_equal(config_get_list(c, "block", &v, NULL), 0);
    expect_strv(v, (const char *const[]){"x", "42", NULL});
    config_strv_free(v);
    assert_string_equal(config_get(c, "empty"), "");
    assert_int_equal(config_get_list(c, "empty", &v, NULL), 0);
    expect_strv(v, (const char *const[]){NULL});
    config_strv_free(v);
    config_free(c);
}

static void test_durations(void **state)
{
    (void)state;
    struct {
        const char *in;
        long long ms;
    } ok[] = {
        {"60 s", 60000},         {"1 min", 60000},      {"500ms", 500},
        {"2 h", 7200000},        {"3d", 259200000},     {"100", 100},
        {" 10 seconds ", 10000}, {"5 m", 300000},       {"1 MIN", 60000},
        {"7 minutes", 420000},   {"1 minute", 60000},   {"2000000 ns", 2},
        {"1500 us", 1},          {"1 millisecond", 1},  {"3 milliseconds", 3},
        {"4 milli", 4},          {"5 millis", 5},       {"0", 0},
        {"1 day", 86400000},     {"2 days", 172800000}, {"3 hours", 10800000},
        {"1 hour", 3600000},     {"1 sec", 1000},       {"2 secs", 2000},
        {"1 second", 1000},      {"9 Ms", 9},           {"1\xc2\xb5s", 0},
        {"3000 micros", 3},      {"5000000 nanos", 5},  {"106751991167 d", 9223372036828800000LL},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        long long v = -1;
        if (config_parse_duration_ms(ok[i].in, &v) != 0 || v != ok[i].ms)
            fail_msg("'%s' -> %lld, want %lld", ok[i].in, v, ok[i].ms);
    }
    struct {
        const char *in;
        int rc;
    } bad[] = {
        {"1 fortnight", WEIR_EUNIT},
        {"10 mins", WEIR_EUNIT}, /* not a Flink label */
        {"10 mins2", WEIR_EUNIT},
        {"1.5 s", WEIR_EUNIT},
        {"1 s s", WEIR_EUNIT},
        {"mins", WEIR_EPARSE},
        {"-5 s", WEIR_EPARSE},
        {"", WEIR_EPARSE},
        {"   ", WEIR_EPARSE},
        {"106751991168 d", WEIR_ERANGE},
        {"9223372036854775808", WEIR_ERANGE},
        {"999999999999999999999999", WEIR_ERANGE},
        {"99999999999999999999999 parsecs", WEIR_EUNIT},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long long v = -1;
        int rc = config_parse_duration_ms(bad[i].in, &v);
        if (rc != bad[i].rc)
            fail_msg("'%s' -> rc %d, want %d", bad[i].in, rc, bad[i].rc);
    }
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
              {"1 GB", 1ULL << 30},
              {"512 kb", 512 << 10},
              {"512k", 512 << 10},
              {"2 kibibytes", 2048},
              {"100", 100},
              {"7 bytes", 7},
              {"7b", 7},
              {"1 TB", 1ULL << 40},
              {"2t", 2ULL << 40},
              {"1 tebibytes", 1ULL << 40},
              {"3 mebibytes", 3 << 20},
              {"3 MB", 3 << 20},
              {"1 gibibytes", 1ULL << 30},
              {" 2K ", 2048},
              {"9223372036854775807", 9223372036854775807ULL}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        unsigned long long v = 0;
        if (config_parse_memory(ok[i].in, &v) != 0 || v != ok[i].b)
            fail_msg("'%s' -> %llu, want %llu", ok[i].in, v, ok[i].b);
    }
    unsigned long long v;
    assert_int_equal(config_parse_memory("1 xb", &v), WEIR_EUNIT);
    assert_int_equal(config_parse_memory("1 kib", &v), WEIR_EUNIT);
    assert_int_equal(config_parse_memory("1.5g", &v), WEIR_EUNIT);
    assert_int_equal(config_parse_memory("gb", &v), WEIR_EPARSE);
    assert_int_equal(config_parse_memory("", &v), WEIR_EPARSE);
    assert_int_equal(config_parse_memory("-1m", &v), WEIR_EPARSE);
    assert_int_equal(config_parse_memory("8388608 tb", &v), WEIR_ERANGE);
    assert_int_equal(config_parse_memory("9223372036854775808", &v), WEIR_ERANGE);
    assert_int_equal(config_parse_memory("99999999999999999999999", &v), WEIR_ERANGE);
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
                     "kubernetes.jobmanager.annotations: a:b,broken\n"
                     "execution.checkpointing.timeout: 999999999999 d\n"
                     "pipeline.jars: a;'b\n"
                     "rest.port: 70000\n"
                     "taskmanager.memory.managed.size: lots\n"
                     "big: 99999999999999999999\n");
    weir_error err = {0};
    long long ms = -1;
    assert_int_equal(config_get_duration_ms(c, "execution.checkpointing.interval", 7, &ms, &err),
                     WEIR_EUNIT);
    assert_int_equal(err.code, WEIR_EUNIT);
    assert_int_equal(ms, 7); /* the default on error */
    expect_msg(&err, "config.yaml:3:15: key 'execution.checkpointing.interval': unknown duration "
                     "unit 'mins2' in '10 mins2'");
    assert_int_equal(config_get_duration_ms(c, "execution.checkpointing.timeout", 0, &ms, &err),
                     WEIR_ERANGE);
    expect_msg(&err, "config.yaml:9:34: key 'execution.checkpointing.timeout': duration");
    assert_int_equal(config_get_duration_ms(c, "parallelism.default", 0, &ms, &err), WEIR_EPARSE);
    expect_msg(&err, "config.yaml:5:22: key 'parallelism.default': 'four' is not a duration");
    unsigned long long b;
    assert_int_equal(config_get_memory_bytes(c, "taskmanager.memory.process.size", 0, &b, &err),
                     WEIR_EUNIT);
    expect_msg(&err,
               "config.yaml:4:34: key 'taskmanager.memory.process.size': unknown memory unit 'zb'");
    assert_int_equal(config_get_memory(c, "taskmanager.memory.managed.size", 0, &b, &err),
                     WEIR_EPARSE);
    expect_msg(&err, "config.yaml:12:34: key 'taskmanager.memory.managed.size': 'lots' is not a "
                     "memory size");
    long long n;
    assert_int_equal(config_get_int(c, "parallelism.default", 1, &n, &err), WEIR_ETYPE);
    expect_msg(&err, "config.yaml:5:22: key 'parallelism.default': 'four' is not an integer");
    assert_int_equal(config_get_int(c, "big", 1, &n, &err), WEIR_ERANGE);
    expect_msg(&err, "config.yaml:13:6: key 'big': '99999999999999999999' is out of range");
    assert_int_equal(config_get_int(c, "rest.port", 1, &n, &err), 0);
    assert_int_equal(n, 70000);
    assert_int_equal(config_get_int_in(c, "rest.port", 8081, 0, 65535, &n, &err), WEIR_ERANGE);
    assert_int_equal(n, 8081);
    expect_msg(&err, "config.yaml:11:12: key 'rest.port': 70000 is out of range [0, 65535]");
    bool bv;
    assert_int_equal(config_get_bool(c, "rest.flamegraph.enabled", false, &bv, &err), WEIR_ETYPE);
    expect_msg(&err, "config.yaml:6:26: key 'rest.flamegraph.enabled': 'yes please' is not a "
                     "boolean");
    static const char *const modes[] = {"EXACTLY_ONCE", "AT_LEAST_ONCE", NULL};
    int mode;
    assert_int_equal(config_get_enum(c, "execution.checkpointing.mode", modes, 0, &mode, &err),
                     WEIR_EINVAL);
    expect_msg(&err, "config.yaml:7:31: key 'execution.checkpointing.mode': 'SOMETIMES' is not "
                     "one of: EXACTLY_ONCE, AT_LEAST_ONCE");
    char **map = (char **)&map;
    assert_int_equal(config_get_map(c, "kubernetes.jobmanager.annotations", &map, &err),
                     WEIR_EPARSE);
    assert_null(map);
    expect_msg(&err, "config.yaml:8:36: key 'kubernetes.jobmanager.annotations': map entry "
                     "'broken' is not 'key:value'");
    char **list = (char **)&list;
    assert_int_equal(config_get_list(c, "pipeline.jars", &list, &err), WEIR_EPARSE);
    assert_null(list);
    expect_msg(&err, "config.yaml:10:16: key 'pipeline.jars': unclosed quote");
    /* err may be NULL */
    assert_int_equal(config_get_duration_ms(c, "execution.checkpointing.interval", 0, &ms, NULL),
                     WEIR_EUNIT);
    /* defaults when unset */
    assert_int_equal(config_get_duration_ms(c, "nope", 1234, &ms, &err), 0);
    assert_int_equal(ms, 1234);
    assert_int_equal(config_get_memory_bytes(c, "nope", 99, &b, &err), 0);
    assert_int_equal(b, 99);
    assert_int_equal(config_get_int(c, "nope", -3, &n, &err), 0);
    assert_int_equal(n, -3);
    assert_int_equal(config_get_bool(c, "nope", true, &bv, &err), 0);
    assert_true(bv);
    assert_int_equal(config_get_enum(c, "nope", modes, 1, &mode, &err), 0);
    assert_int_equal(mode, 1);
    double d;
    assert_int_equal(config_get_double(c, "nope", 2.5, &d, &err), 0);
    assert_true(d == 2.5);
    /* errors for values set by code or -D carry that origin */
    assert_int_equal(config_set(c, "x", "big", "-D"), 0);
    assert_int_equal(config_get_int(c, "x", 0, &n, &err), WEIR_ETYPE);
    expect_msg(&err, "-D: key 'x': 'big' is not an integer");
    assert_int_equal(config_set(c, "x", "1 parsec", NULL), 0);
    assert_int_equal(config_get_duration_ms(c, "x", 0, &ms, &err), WEIR_EUNIT);
    assert_string_equal(err.msg, "key 'x': unknown duration unit 'parsec' in '1 parsec' (use ns, "
                                 "us, ms, s, min, h or d)");
    config_free(c);
}

static void test_scalar_getters(void **state)
{
    (void)state;
    config *c = config_new();
    struct {
        const char *v;
        int rc;
        bool want;
    } bools[] = {{"true", 0, true},    {"TRUE", 0, true},        {" False ", 0, false},
                 {"fAlSe", 0, false},  {"yes", WEIR_ETYPE, 0},   {"1", WEIR_ETYPE, 0},
                 {"", WEIR_ETYPE, 0},  {"truee", WEIR_ETYPE, 0}, {"tru", WEIR_ETYPE, 0},
                 {"on", WEIR_ETYPE, 0}};
    for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
        bool b = !bools[i].want;
        assert_int_equal(config_set(c, "b", bools[i].v, NULL), 0);
        if (config_get_bool(c, "b", false, &b, NULL) != bools[i].rc ||
            (bools[i].rc == 0 && b != bools[i].want))
            fail_msg("bool '%s'", bools[i].v);
    }
    struct {
        const char *v;
        int rc;
        long long want;
    } ints[] = {{"42", 0, 42},
                {" -7 ", 0, -7},
                {"+5", 0, 5},
                {"9223372036854775807", 0, LLONG_MAX},
                {"-9223372036854775808", 0, LLONG_MIN},
                {"9223372036854775808", WEIR_ERANGE, 0},
                {"-9223372036854775809", WEIR_ERANGE, 0},
                {"1e3", WEIR_ETYPE, 0},
                {"0x10", WEIR_ETYPE, 0},
                {"12 34", WEIR_ETYPE, 0},
                {"", WEIR_ETYPE, 0},
                {"-", WEIR_ETYPE, 0},
                {"1.0", WEIR_ETYPE, 0}};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        long long n = 0;
        assert_int_equal(config_set(c, "i", ints[i].v, NULL), 0);
        int rc = config_get_int(c, "i", 0, &n, NULL);
        if (rc != ints[i].rc || (rc == 0 && n != ints[i].want))
            fail_msg("int '%s' -> rc %d n %lld", ints[i].v, rc, n);
    }
    double d;
    assert_int_equal(config_set(c, "f", " 0.75 ", NULL), 0);
    assert_int_equal(config_get_double(c, "f", 0, &d, NULL), 0);
    assert_true(d == 0.75);
    assert_int_equal(config_set(c, "f", "nan", NULL), 0);
    assert_int_equal(config_get_double(c, "f", 0, &d, NULL), WEIR_ETYPE);
    assert_int_equal(config_set(c, "f", "1e999", NULL), 0);
    assert_int_equal(config_get_double(c, "f", 0, &d, NULL), WEIR_ETYPE);
    static const char *const modes[] = {"EXACTLY_ONCE", "AT_LEAST_ONCE", "NONE", NULL};
    int m = -1;
    assert_int_equal(config_set(c, "e", " at-least-once ", NULL), 0);
    assert_int_equal(config_get_enum(c, "e", modes, 0, &m, NULL), 0);
    assert_int_equal(m, 1);
    assert_int_equal(config_set(c, "e", "none", NULL), 0);
    assert_int_equal(config_get_enum(c, "e", modes, 0, &m, NULL), 0);
    assert_int_equal(m, 2);
    assert_int_equal(config_set(c, "e", "NON", NULL), 0);
    assert_int_equal(config_get_enum(c, "e", modes, 0, &m, NULL), WEIR_EINVAL);
    assert_int_equal(m, 0);
    config_free(c);
}

static void expect_load_error(const char *text, int code, const char *needle)
{
    config *c = config_new();
    assert_int_equal(config_set(c, "kept", "yes", NULL), 0);
    weir_error err = {0};
    int rc = config_load_yaml(c, text, strlen(text), "conf.yaml", &err);
    if (rc != code || err.code != code || !strstr(err.msg, needle))
        fail_msg("rc=%d (want %d) msg='%s' (want '%s')", rc, code, err.msg, needle);
    assert_int_equal(config_len(c), 1); /* nothing applied */
    config_free(c);
}

static void test_yaml_errors(void **state)
{
    (void)state;
    /* syntax */
    expect_load_error("a: 1\nb: [1, 2\n", WEIR_EPARSE, "conf.yaml:3:1: invalid YAML");
    expect_load_error("a:\n  b: 1\n c: 2\n", WEIR_EPARSE, "conf.yaml:3:2: invalid YAML");
    expect_load_error("a: 'unclosed\n", WEIR_EPARSE, "conf.yaml:2:1: invalid YAML");
    expect_load_error("a: b: c\n", WEIR_EPARSE, "conf.yaml:1:5: invalid YAML");
    expect_load_error("a:\n\t- x\n", WEIR_EPARSE, "conf.yaml:2:1: invalid YAML");
    expect_load_error("a: *nope\n", WEIR_EPARSE, "conf.yaml:1:4: invalid YAML");
    expect_load_error("a: 1\n---\nb: 2\n", WEIR_EPARSE,
                      "conf.yaml:3:1: expected a single YAML document");
    /* duplicates: both positions */
    expect_load_error("state.backend.type: rocksdb\nstate.backend.type: hashmap\n", WEIR_EDUPLICATE,
                      "conf.yaml:2:1: key 'state.backend.type' is given twice (first at "
                      "conf.yaml:1:1)");
    expect_load_error("a.b: 1\na:\n  b: 2\n", WEIR_EDUPLICATE,
                      "conf.yaml:3:3: key 'a.b' is given twice (first at conf.yaml:1:1)");
    expect_load_error("x:\n  y:\n    z: 1\n  y.z: 2\n", WEIR_EDUPLICATE,
                      "conf.yaml:4:3: key 'x.y.z' is given twice (first at conf.yaml:3:5)");
    /* wrong node types */
    expect_load_error("- a\n- b\n", WEIR_ETYPE,
                      "conf.yaml:1:1: expected 'key: value' entries, found a list");
    expect_load_error("just text\n", WEIR_ETYPE,
                      "conf.yaml:1:1: expected 'key: value' entries, "
                      "found a value");
    expect_load_error("k: [{a: 1}]\n", WEIR_ETYPE,
                      "conf.yaml:1:5: key 'k': list items must be plain values, found a map");
    expect_load_error("outer:\n  k:\n    - [1]\n", WEIR_ETYPE,
                      "conf.yaml:3:7: key 'outer.k': list items must be plain values, found a "
                      "list");
    expect_load_error("? [a, b]\n: c\n", WEIR_ETYPE,
                      "conf.yaml:1:3: at the top level: a key must be a non-empty string, found "
                      "a list");
    expect_load_error("m:\n  ? {x: 1}\n  : c\n", WEIR_ETYPE,
                      "conf.yaml:2:5: under 'm': a key must be a non-empty string, found a map");
    expect_load_error("'': 1\n", WEIR_ETYPE, "conf.yaml:1:1: at the top level: a key must be");
    expect_load_error("a: \"x\\0y\"\n", WEIR_EPARSE,
                      "conf.yaml:1:4: key 'a': value contains a NUL");
    expect_load_error("\"k\\0\": 1\n", WEIR_EPARSE, "conf.yaml:1:1: a key contains a NUL");
    /* alias bombs: many keys, or a long value copied many times */
    char bomb[4096] = "a0: &a0 {x: 1, y: 2, z: 3, w: 4, v: 5, u: 6, t: 7, s: 8, r: 9, q: 10}\n";
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
    expect_load_error(bomb, WEIR_ETOOBIG, "(through aliases?)");
    size_t big = 64 * 1024;
    char *longv = malloc(big + 4096);
    assert_non_null(longv);
    memcpy(longv, "v: &v ", 6);
    memset(longv + 6, 'x', big);
    size_t l = 6 + big;
    l += (size_t)sprintf(longv + l, "\nl: [");
    for (int i = 0; i < 200; i++)
        l += (size_t)sprintf(longv + l, "%s*v", i ? ", " : "");
    sprintf(longv + l, "]\n");
    expect_load_error(longv, WEIR_ETOOBIG, "values expand to more than");
    free(longv);
    /* empty documents are fine */
    config *c = config_new();
    assert_int_equal(config_load_yaml(c, "", 0, "e", NULL), 0);
    assert_int_equal(config_load_yaml(c, "# only a comment\n", 17, "e", NULL), 0);
    assert_int_equal(config_load_yaml(c, "---\n...\n", 8, "e", NULL), 0);
    assert_int_equal(config_load_yaml(c, "~\n", 2, "e", NULL), 0);
    assert_int_equal(config_len(c), 0);
    /* an unnamed source is "<string>"; text need not be NUL-terminated */
    weir_error err = {0};
    const char text[] = {'a', ':', ' ', '1', '\n', 'a', ':', ' ', '2', 'X'};
    assert_int_equal(config_load_yaml(c, text, sizeof(text) - 1, NULL, &err), WEIR_EDUPLICATE);
    assert_string_equal(err.msg, "<string>:2:1: key 'a' is given twice (first at <string>:1:1)");
    assert_int_equal(config_load_yaml(c, "a: 1", 4, NULL, &err), 0);
    assert_string_equal(config_origin(c, "a"), "<string>:1:4");
    config_free(c);
}

static void test_yaml_alias_cycle(void **state)
{
    (void)state;
    /* libyaml registers an anchor before its children, so a map can contain itself */
    const char *t = "a: &x {b: *x, c: *x}\n";
    config *c = config_new();
    weir_error err = {0};
    int rc = config_load_yaml(c, t, strlen(t), "cyc.yaml", &err);
    assert_true(rc == WEIR_ETOOBIG || rc == WEIR_EPARSE);
    expect_msg(&err, "cyc.yaml:");
    assert_int_equal(config_len(c), 0);
    /* plain aliases are fine */
    const char *ok = "base: &b {x: 1}\ncopy: *b\nlist: &l [p, q]\nlist2: *l\n";
    assert_int_equal(config_load_yaml(c, ok, strlen(ok), "ok.yaml", &err), 0);
    assert_string_equal(config_get(c, "copy.x"), "1");
    assert_string_equal(config_get(c, "list2"), "p;q");
    config_free(c);
}

static void test_legacy_format(void **state)
{
    (void)state;
    const char *legacy = "# flink-conf.yaml\n"
                         "jobmanager.rpc.address: jm # trailing comment\n"
                         "taskmanager.numberOfTaskSlots: 1\n"
                         "not a key value line\n"
                         "empty.value: \n"
                         "novalue:\n"
                         "nospace:x\n"
                         ": nokey\n"
                         "url: http://x:8081/path\n"
                         "  indented.key:   spaced value  \r\n"
                         "taskmanager.numberOfTaskSlots: 3\n"
                         "colon.value: a: b\n"
                         "\n"
                         "   # indented comment\n"
                         "last: no newline";
    config *c = config_new();
    weir_error err = {0};
    assert_int_equal(config_load_legacy(c, legacy, strlen(legacy), "flink-conf.yaml", &err), 0);
    assert_string_equal(config_get(c, "jobmanager.rpc.address"), "jm");
    assert_string_equal(config_get(c, "taskmanager.numberOfTaskSlots"), "3"); /* later wins */
    assert_string_equal(config_origin(c, "taskmanager.numberOfTaskSlots"), "flink-conf.yaml:11:32");
    assert_string_equal(config_get(c, "url"), "http://x:8081/path");
    assert_string_equal(config_get(c, "indented.key"), "spaced value");
    assert_string_equal(config_origin(c, "indented.key"), "flink-conf.yaml:10:19");
    assert_string_equal(config_get(c, "colon.value"), "a: b");
    assert_string_equal(config_get(c, "last"), "no newline");
    assert_false(config_has(c, "empty.value"));
    assert_false(config_has(c, "novalue"));
    assert_false(config_has(c, "nospace"));
    assert_int_equal(config_len(c), 6);
    /* a NUL byte is an error and changes nothing */
    const char nul[] = "a: 1\nb: x\0y\n";
    assert_int_equal(config_load_legacy(c, nul, sizeof(nul) - 1, NULL, &err), WEIR_EPARSE);
    assert_string_equal(err.msg, "flink-conf.yaml:2: line contains a NUL character");
    assert_false(config_has(c, "a"));
    /* a long line is kept whole */
    size_t n = 10000;
    char *line = malloc(n + 16);
    assert_non_null(line);
    memcpy(line, "long: ", 6);
    memset(line + 6, 'v', n);
    line[6 + n] = '\0';
    assert_int_equal(config_load_legacy(c, line, strlen(line), NULL, &err), 0);
    assert_int_equal(strlen(config_get(c, "long")), n);
    free(line);
    /* the getter error names the legacy position */
    assert_int_equal(config_set(c, "x", "1", NULL), 0);
    const char *bad = "\n\nexecution.checkpointing.interval: 5 mins2\n";
    assert_int_equal(config_load_legacy(c, bad, strlen(bad), "conf/flink-conf.yaml", &err), 0);
    long long ms;
    assert_int_equal(config_get_duration_ms(c, "execution.checkpointing.interval", 0, &ms, &err),
                     WEIR_EUNIT);
    expect_msg(&err, "conf/flink-conf.yaml:3:35: key 'execution.checkpointing.interval': unknown "
                     "duration unit 'mins2'");
    config_free(c);
}

static void test_properties_dynamic_merge(void **state)
{
    (void)state;
    config *c = yaml("taskmanager.numberOfTaskSlots: 1\nparallelism.default: 1\n");
    weir_error err = {0};
    assert_int_equal(config_load_properties(c,
                                            "taskmanager.numberOfTaskSlots: 4\n"
                                            "parallelism.default: 2\n\n"
                                            "# comment\n"
                                            "rest.port: 8081\n"
                                            "state.backend.type: rocksdb",
                                            &err),
                     0);
    assert_string_equal(config_get(c, "taskmanager.numberOfTaskSlots"), "4");
    assert_string_equal(config_origin(c, "parallelism.default"), "FLINK_PROPERTIES:2:22");
    assert_string_equal(config_get(c, "state.backend.type"), "rocksdb");
    assert_int_equal(config_load_properties(c, NULL, &err), 0);
    assert_int_equal(config_load_properties(c, "", &err), 0);

    char *argv[] = {"weir",
                    "-Dparallelism.default=8",
                    "standalone-job",
                    "-D",
                    "rest.port=9000",
                    "--job-classname",
                    "x",
                    "-Dweird=a=b",
                    "-D empty=",
                    "-Dparallelism.default=9",
                    NULL};
    int argc = 10;
    assert_int_equal(config_parse_args(c, &argc, argv, &err), 0);
    assert_int_equal(argc, 4);
    assert_string_equal(argv[0], "weir");
    assert_string_equal(argv[1], "standalone-job");
    assert_string_equal(argv[2], "--job-classname");
    assert_string_equal(argv[3], "x");
    assert_null(argv[4]);
    assert_string_equal(config_get(c, "parallelism.default"), "9"); /* later -D wins */
    assert_string_equal(config_origin(c, "parallelism.default"), "-D");
    assert_string_equal(config_get(c, "rest.port"), "9000");
    assert_string_equal(config_get(c, "weird"), "a=b");
    assert_string_equal(config_get(c, "empty"), "");
    char *bad[] = {"-Dnovalue", NULL};
    int bc = 1;
    assert_int_equal(config_parse_args(c, &bc, bad, &err), WEIR_EINVAL);
    assert_string_equal(err.msg, "-Dnovalue: expected -Dkey=value");
    char *bad2[] = {"prog", "-D", NULL};
    bc = 2;
    assert_int_equal(config_parse_args(c, &bc, bad2, &err), WEIR_EINVAL);
    expect_msg(&err, "-D at the end");
    assert_int_equal(config_set_dynamic(c, "=v", &err), WEIR_EINVAL);
    expect_msg(&err, "empty key");
    assert_int_equal(config_set_dynamic(c, " k = v", &err), 0);
    assert_string_equal(config_get(c, "k"), " v");

    /* merge (later wins), clone, remove, has, len */
    config *d = config_clone(c);
    assert_non_null(d);
    assert_int_equal(config_len(d), config_len(c));
    config *over = config_new();
    assert_int_equal(config_set(over, "rest.port", "1", "override"), 0);
    assert_int_equal(config_set(over, "new.key", "n", NULL), 0);
    assert_int_equal(config_merge(d, over), 0);
    assert_string_equal(config_get(d, "rest.port"), "1");
    assert_string_equal(config_origin(d, "rest.port"), "override");
    assert_string_equal(config_origin(d, "new.key"), "(set by code)");
    assert_string_equal(config_get(c, "rest.port"), "9000");
    assert_string_equal(config_get(over, "rest.port"), "1");
    assert_true(config_has(d, "rest.port"));
    assert_int_equal(config_remove(d, "rest.port"), 0);
    assert_false(config_has(d, "rest.port"));
    assert_null(config_get(d, "rest.port"));
    assert_null(config_origin(d, "rest.port"));
    assert_int_equal(config_remove(d, "rest.port"), WEIR_ENOTFOUND);
    assert_int_equal(config_set(d, "", "x", NULL), WEIR_EINVAL);
    assert_int_equal(config_set(d, "k", NULL, NULL), WEIR_EINVAL);
    config_free(over);
    config_free(d);
    config_free(c);
    config_free(NULL);
}

struct seen {
    char buf[256];
    int calls;
};

static int collect(const char *key, const char *value, const char *origin, void *ud)
{
    struct seen *s = ud;
    size_t l = strlen(s->buf);
    snprintf(s->buf + l, sizeof(s->buf) - l, "%s=%s@%s;", key, value, origin ? origin : "-");
    return ++s->calls == 3 ? 42 : 0;
}

static void test_iteration_sorted(void **state)
{
    (void)state;
    config *c = config_new();
    const char *keys[] = {"b", "a.z", "a", "c.d", "a.b"};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(config_set(c, keys[i], "v", i == 0 ? "o" : NULL), 0);
    struct seen s = {.buf = ""};
    assert_int_equal(config_foreach(c, collect, &s), 42); /* stops at the first non-zero */
    assert_string_equal(s.buf, "a=v@-;a.b=v@-;a.z=v@-;");
    const char **k = config_keys(c);
    assert_string_equal(k[3], "b");
    assert_string_equal(k[4], "c.d");
    assert_null(k[5]);
    free(k);
    config *e = config_new();
    k = config_keys(e);
    assert_null(k[0]);
    free(k);
    s.calls = 0;
    assert_int_equal(config_foreach(e, collect, &s), 0);
    assert_int_equal(s.calls, 0);
    config_free(e);
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
    expect_msg(&err, "neither config.yaml nor flink-conf.yaml");
    snprintf(p, sizeof(p), "%s/flink-conf.yaml", dir);
    FILE *f = fopen(p, "w");
    fputs("a: legacy\nb: {not: yaml}\n", f);
    fclose(f);
    assert_int_equal(config_load_dir(c, dir, &err), 0);
    assert_string_equal(config_get(c, "a"), "legacy");
    assert_string_equal(config_get(c, "b"), "{not: yaml}"); /* the legacy format is not YAML */
    snprintf(p, sizeof(p), "%s/config.yaml", dir);
    f = fopen(p, "w");
    fputs("a: {b: nested}\n", f);
    fclose(f);
    assert_int_equal(config_load_dir(c, dir, &err), 0); /* config.yaml wins over the legacy file */
    assert_string_equal(config_get(c, "a.b"), "nested");
    char want[300];
    snprintf(want, sizeof(want), "%s/config.yaml:1:8", dir);
    assert_string_equal(config_origin(c, "a.b"), want);
    f = fopen(p, "w");
    fputs("a: [\n", f);
    fclose(f);
    assert_int_equal(config_load_file(c, p, &err), WEIR_EPARSE);
    expect_msg(&err, "/config.yaml:2:1: invalid YAML");
    assert_int_equal(config_load_dir(c, dir, &err), WEIR_EPARSE);
    assert_int_equal(config_load_file(c, "/nonexistent/config.yaml", &err), WEIR_ENOTFOUND);
    expect_msg(&err, "/nonexistent/config.yaml: ");
    config_free(c);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_lists_and_maps_from_strings(void **state)
{
    (void)state;
    config *c = config_new();
    assert_int_equal(config_set(c, "l", " a ; 'b;c' ;d", NULL), 0);
    assert_int_equal(config_set(c, "l2", "\"x;\"\"y\";it's;", NULL), 0);
    assert_int_equal(config_set(c, "one", "single", NULL), 0);
    assert_int_equal(config_set(c, "e", "  ", NULL), 0);
    assert_int_equal(config_set(c, "m", "k1:v1, k2 : v:2", NULL), 0);
    assert_int_equal(config_set(c, "mq", "'a:b':c,\"d,e\":'f,g'", NULL), 0);
    assert_int_equal(config_set(c, "mbad", "k1:v1,:v2", NULL), 0);
    assert_int_equal(config_set(c, "mopen", "k1:'v1", NULL), 0);
    char **v = NULL;
    assert_int_equal(config_get_list(c, "l", &v, NULL), 0);
    expect_strv(v, (const char *const[]){"a", "b;c", "d", NULL});
    config_strv_free(v);
    assert_int_equal(config_get_list(c, "l2", &v, NULL), 0);
    expect_strv(v, (const char *const[]){"x;\"y", "it's", "", NULL});
    config_strv_free(v);
    assert_int_equal(config_get_list(c, "one", &v, NULL), 0);
    expect_strv(v, (const char *const[]){"single", NULL});
    config_strv_free(v);
    assert_int_equal(config_get_list(c, "e", &v, NULL), 0);
    expect_strv(v, (const char *const[]){NULL});
    config_strv_free(v);
    assert_int_equal(config_get_list(c, "unset", &v, NULL), 0);
    assert_null(v);
    assert_int_equal(config_get_map(c, "m", &v, NULL), 0);
    expect_strv(v, (const char *const[]){"k1", "v1", "k2", "v:2", NULL});
    config_strv_free(v);
    assert_int_equal(config_get_map(c, "mq", &v, NULL), 0);
    expect_strv(v, (const char *const[]){"a:b", "c", "d,e", "f,g", NULL});
    config_strv_free(v);
    assert_int_equal(config_get_map(c, "e", &v, NULL), 0);
    expect_strv(v, (const char *const[]){NULL});
    config_strv_free(v);
    weir_error err = {0};
    assert_int_equal(config_get_map(c, "mbad", &v, &err), WEIR_EPARSE);
    assert_string_equal(err.msg, "key 'mbad': map entry ':v2' is not 'key:value' (the map syntax "
                                 "is k1:v1,k2:v2)");
    assert_int_equal(config_get_map(c, "mopen", &v, &err), WEIR_EPARSE);
    expect_msg(&err, "key 'mopen': unclosed quote in map");
    assert_int_equal(config_get_map(c, "unset", &v, NULL), 0);
    assert_null(v);
    /* the string form wins over flattened entries; "l.x" does not make "l" a map prefix of "l2" */
    assert_int_equal(config_set(c, "m.extra", "ignored", NULL), 0);
    assert_int_equal(config_get_map(c, "m", &v, NULL), 0);
    expect_strv(v, (const char *const[]){"k1", "v1", "k2", "v:2", NULL});
    config_strv_free(v);
    assert_int_equal(config_set(c, "p.b", "2", NULL), 0);
    assert_int_equal(config_set(c, "p.a", "1", NULL), 0);
    assert_int_equal(config_set(c, "pp.c", "3", NULL), 0);
    assert_int_equal(config_get_map(c, "p", &v, NULL), 0);
    expect_strv(v, (const char *const[]){"a", "1", "b", "2", NULL});
    config_strv_free(v);
    config_strv_free(NULL);
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_nested_flat_mixed),
        cmocka_unit_test(test_yaml_sequences_round_trip),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_getter_errors_name_key_and_position),
        cmocka_unit_test(test_scalar_getters),
        cmocka_unit_test(test_yaml_errors),
        cmocka_unit_test(test_yaml_alias_cycle),
        cmocka_unit_test(test_legacy_format),
        cmocka_unit_test(test_properties_dynamic_merge),
        cmocka_unit_test(test_iteration_sorted),
        cmocka_unit_test(test_files_and_dirs),
        cmocka_unit_test(test_lists_and_maps_from_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
