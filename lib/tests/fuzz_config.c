/*
 * fuzz_config.c - libFuzzer target for lib/config: the input as config.yaml, as a legacy
 * flink-conf.yaml and as FLINK_PROPERTIES, then every typed getter on every key. Must never
 * crash or leak; every failure must carry a message; a failed YAML load changes nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void get_all(const config *c)
{
    static const char *const names[] = {"a", "b-c", NULL};
    const char **keys = config_keys(c);
    if (!keys)
        return;
    for (const char **k = keys; *k; k++) {
        weir_error err = {0};
        long long ll;
        unsigned long long ull;
        double d;
        bool b;
        int e;
        char **v;
        if (config_get_int(c, *k, 0, &ll, &err) && !err.msg[0])
            abort();
        if (config_get_duration_ms(c, *k, 0, &ll, &err) && !err.msg[0])
            abort();
        if (config_get_memory(c, *k, 0, &ull, &err) && !err.msg[0])
            abort();
        (void)!config_get_double(c, *k, 0, &d, &err);
        (void)!config_get_bool(c, *k, false, &b, &err);
        (void)!config_get_enum(c, *k, names, 0, &e, &err);
        if (config_get_list(c, *k, &v, &err) == 0)
            config_strv_free(v);
        if (config_get_map(c, *k, &v, &err) == 0)
            config_strv_free(v);
        /* the prefix form of maps */
        char prefix[64];
        size_t n = strcspn(*k, ".");
        if (n < sizeof(prefix)) {
            memcpy(prefix, *k, n);
            prefix[n] = '\0';
            if (config_get_map(c, prefix, &v, &err) == 0)
                config_strv_free(v);
        }
    }
    free(keys);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    config *c = config_new();
    weir_error err = {0};
    if (config_set(c, "sentinel", "x", NULL) != 0)
        abort();
    int rc = config_load_yaml(c, text, size, "fuzz.yaml", &err);
    if (rc != 0 && (!err.msg[0] || config_len(c) != 1))
        abort();
    get_all(c);
    config_free(c);

    c = config_new();
    (void)!config_load_legacy(c, text, size, "flink-conf.yaml", &err);
    get_all(c);
    char *s = malloc(size + 1); /* not strndup: the input is not NUL-terminated */
    if (s) {
        memcpy(s, text, size);
        s[size] = '\0';
        (void)!config_load_properties(c, s, &err);
        (void)!config_set_dynamic(c, s, &err);
        free(s);
    }
    get_all(c);
    config_free(c);
    return 0;
}
