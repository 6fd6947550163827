/*
 * fuzz_config.c - libFuzzer target for lib/config: arbitrary bytes as config.yaml, as a legacy
 * flink-conf.yaml, as FLINK_PROPERTIES and as -D arguments, then every typed getter on the
 * keys. Must never crash or leak; every failure must carry a message; a failed YAML load must
 * change nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config.h"

#define MAX_KEYS_CHECKED 256 /* getters are O(keys) for maps; keep each input fast */
#define MAX_ARGS         64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed getter must say why. */
static void check(int rc, const weir_error *err)
{
    if (rc != 0 && (err->code != rc || !err->msg[0]))
        abort();
}

static int count_entry(const char *key, const char *value, const char *origin, void *ud)
{
    (void)origin;
    if (!key[0] || !value)
        abort();
    ++*(size_t *)ud;
    return 0;
}

static void get_all(const config *c)
{
    static const char *const names[] = {"a", "b-c", "EXACTLY_ONCE", NULL};
    size_t n = 0;
    if (config_foreach(c, count_entry, &n) == 0 && n != config_len(c))
        abort();
    const char **keys = config_keys(c);
    if (!keys)
        return;
    for (size_t i = 0; i < MAX_KEYS_CHECKED && keys[i]; i++) {
        const char *k = keys[i];
        weir_error err = {0};
        long long ll;
        unsigned long long ull;
        double d;
        bool b;
        int e;
        char **v;
        if (!config_get(c, k) || !config_origin(c, k) || !config_get_string(c, k, NULL))
            abort();
        check(config_get_int(c, k, 0, &ll, &err), &err);
        check(config_get_int_in(c, k, 0, -5, 5, &ll, &err), &err);
        check(config_get_duration_ms(c, k, 0, &ll, &err), &err);
        check(config_get_memory_bytes(c, k, 0, &ull, &err), &err);
        check(config_get_double(c, k, 0, &d, &err), &err);
        check(config_get_bool(c, k, false, &b, &err), &err);
        check(config_get_enum(c, k, names, 0, &e, &err), &err);
        int rc = config_get_list(c, k, &v, &err);
        check(rc, &err);
        if (rc == 0 && !v)
            abort();
        config_strv_free(v);
        rc = config_get_map(c, k, &v, &err);
        check(rc, &err);
        config_strv_free(v);
        /* the flattened form of maps: every dotted prefix of the key */
        char prefix[128];
        for (const char *dot = strchr(k, '.'); dot; dot = strchr(dot + 1, '.')) {
            size_t pl = (size_t)(dot - k);
            if (pl == 0 || pl >= sizeof(prefix))
                continue;
            memcpy(prefix, k, pl);
            prefix[pl] = '\0';
            rc = config_get_map(c, prefix, &v, &err);
            check(rc, &err);
            config_strv_free(v);
        }
    }
    free(keys);
}

/* Splits `s` (modified) at newlines into argv-like tokens and applies them as arguments. */
static void apply_args(config *c, char *s)
{
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    for (char *tok = s; tok && argc < MAX_ARGS;) {
        char *nl = strchr(tok, '\n');
        if (nl)
            *nl = '\0';
        argv[argc++] = tok;
        tok = nl ? nl + 1 : NULL;
    }
    argv[argc] = NULL;
    int before = argc;
    weir_error err = {0};
    int rc = config_parse_args(c, &argc, argv, &err);
    check(rc, &err);
    if (rc == 0 && (argc > before || argv[argc] != NULL))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    weir_error err = {0};
    config *c = config_new();
    if (!c || config_set(c, "sentinel", "x", NULL) != 0)
        abort();
    int rc = config_load_yaml(c, text, size, "fuzz.yaml", &err);
    check(rc, &err);
    if (rc != 0 && config_len(c) != 1)
        abort(); /* a failed load changes nothing */
    get_all(c);
    config *copy = config_clone(c);
    if (copy && config_len(copy) != config_len(c))
        abort();
    config_free(copy);
    config_free(c);

    c = config_new();
    if (!c)
        abort();
    rc = config_load_legacy(c, text, size, "flink-conf.yaml", &err);
    check(rc, &err);
    get_all(c);
    char *s = malloc(size + 1); /* not strndup: the input is not NUL-terminated */
    if (s) {
        memcpy(s, text, size);
        s[size] = '\0';
        rc = config_load_properties(c, s, &err);
        check(rc, &err);
        rc = config_set_dynamic(c, s, &err);
        check(rc, &err);
        apply_args(c, s);
        free(s);
    }
    get_all(c);
    config_free(c);
    return 0;
}
