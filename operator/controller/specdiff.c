/*
 * specdiff.c - spec diff classes as upstream (see specdiff.h).
 *
 * Layer: operator/controller. Pure logic over jansson values.
 */
#include "operator/controller/specdiff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"IGNORE", "SCALE", "UPGRADE", "SAVEPOINT_REDEPLOY"};

const char *specdiff_name(enum spec_diff d)
{
    return (unsigned)d <= SPEC_DIFF_SAVEPOINT_REDEPLOY ? names[d] : "UNKNOWN";
}

/* json null counts as absent. */
static const json_t *get(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

static bool same(const json_t *a, const json_t *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return json_equal((json_t *)a, (json_t *)b) != 0;
}

static void note(json_t *changes, enum spec_diff *agg, const char *path, enum spec_diff d,
                 const json_t *o, const json_t *n)
{
    if (d > *agg)
        *agg = d;
    if (changes == NULL)
        return;
    json_array_append_new(changes, json_pack("{s:s, s:s, s:O?, s:O?}", "path", path, "type",
                                             specdiff_name(d), "old", o, "new", n));
}

/* Text of a scalar config value as Flink would read it. */
static json_t *scalar_text(const json_t *v)
{
    if (json_is_string(v))
        return json_incref((json_t *)v);
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    json_t *out = json_string(s ? s : "");
    free(s);
    return out;
}

/* Flattens nested objects into `out` with dotted keys. */
static void flatten(const json_t *obj, const char *prefix, json_t *out)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        char key[1024];
        snprintf(key, sizeof(key), "%s%s%s", prefix, prefix[0] ? "." : "", k);
        if (json_is_object(v))
            flatten(v, key, out);
        else if (!json_is_null(v))
            json_object_set_new(out, key, scalar_text(v));
    }
}

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static enum spec_diff config_key_class(const char *key, const struct specdiff_options *o)
{
    if (has_prefix(key, "job.autoscaler") || has_prefix(key, "kubernetes.operator") ||
        has_prefix(key, "parallelism.default"))
        return SPEC_DIFF_IGNORE;
    if (strcmp(key, "pipeline.jobvertex-parallelism-overrides") == 0 && !o->standalone)
        return SPEC_DIFF_SCALE;
    return SPEC_DIFF_UPGRADE;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted union of the keys of two objects; caller frees the array (not the strings). */
static const char **key_union(const json_t *a, const json_t *b, size_t *n)
{
    size_t cap = json_object_size(a) + json_object_size(b);
    const char **keys = calloc(cap ? cap : 1, sizeof(*keys));
    size_t len = 0;
    const char *k;
    const json_t *v;
    if (keys == NULL) {
        *n = 0;
        return NULL;
    }
    if (json_is_object(a))
        json_object_foreach((json_t *)a, k, v) keys[len++] = k;
    if (json_is_object(b))
        json_object_foreach((json_t *)b, k, v) if (!json_is_object(a) || !json_object_get(a, k))
            keys[len++] = k;
    qsort(keys, len, sizeof(*keys), cmp_str);
    *n = len;
    return keys;
}

static void diff_config(const json_t *o, const json_t *n, const struct specdiff_options *opts,
                        json_t *changes, enum spec_diff *agg)
{
    json_t *fo = json_object(), *fn = json_object();
    if (json_is_object(o))
        flatten(o, "", fo);
    if (json_is_object(n))
        flatten(n, "", fn);
    size_t nk;
    const char **keys = key_union(fo, fn, &nk);
    for (size_t i = 0; i < nk; i++) {
        const json_t *a = get(fo, keys[i]), *b = get(fn, keys[i]);
        if (same(a, b))
            continue;
        char path[1100];
        snprintf(path, sizeof(path), "flinkConfiguration.%s", keys[i]);
        note(changes, agg, path, config_key_class(keys[i], opts), a, b);
    }
    free(keys);
    json_decref(fo);
    json_decref(fn);
}

static enum spec_diff job_field_class(const char *k, const json_t *new_value,
                                      const struct specdiff_options *o)
{
    static const char *const ignored[] = {"savepointTriggerNonce",  "initialSavepointPath",
                                          "checkpointTriggerNonce", "upgradeMode",
                                          "allowNonRestoredState",  "autoscalerResetNonce"};
    for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
        if (strcmp(k, ignored[i]) == 0)
            return SPEC_DIFF_IGNORE;
    if (strcmp(k, "savepointRedeployNonce") == 0)
        return new_value ? SPEC_DIFF_SAVEPOINT_REDEPLOY : SPEC_DIFF_IGNORE;
    if (strcmp(k, "parallelism") == 0 && o->standalone && o->reactive)
        return SPEC_DIFF_SCALE;
    return SPEC_DIFF_UPGRADE;
}

static void diff_object(const json_t *o, const json_t *n, const char *prefix,
                        enum spec_diff (*classify)(const char *, const json_t *,
                                                   const struct specdiff_options *),
                        const struct specdiff_options *opts, json_t *changes, enum spec_diff *agg)
{
    size_t nk;
    const char **keys = key_union(o, n, &nk);
    for (size_t i = 0; i < nk; i++) {
        const json_t *a = get(o, keys[i]), *b = get(n, keys[i]);
        if (same(a, b))
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s.%s", prefix, keys[i]);
        note(changes, agg, path, classify(keys[i], b, opts), a, b);
    }
    free(keys);
}

static enum spec_diff tm_field_class(const char *k, const json_t *new_value,
                                     const struct specdiff_options *o)
{
    (void)new_value;
    return strcmp(k, "replicas") == 0 && o->standalone ? SPEC_DIFF_SCALE : SPEC_DIFF_UPGRADE;
}

enum spec_diff specdiff_compute(const json_t *old_spec, const json_t *new_spec,
                                const struct specdiff_options *opts, json_t **changes)
{
    static const struct specdiff_options defaults = {0};
    if (opts == NULL)
        opts = &defaults;
    json_t *list = changes ? json_array() : NULL;
    enum spec_diff agg = SPEC_DIFF_IGNORE;
    size_t nk;
    const char **keys = key_union(old_spec, new_spec, &nk);
    for (size_t i = 0; i < nk; i++) {
        const char *k = keys[i];
        const json_t *a = get(old_spec, k), *b = get(new_spec, k);
        if (same(a, b))
            continue;
        if (strcmp(k, "flinkConfiguration") == 0) {
            diff_config(a, b, opts, list, &agg);
        } else if (strcmp(k, "job") == 0 && a && b) {
            diff_object(a, b, "job", job_field_class, opts, list, &agg);
        } else if (strcmp(k, "taskManager") == 0 && a && b) {
            diff_object(a, b, "taskManager", tm_field_class, opts, list, &agg);
        } else if (strcmp(k, "restartNonce") == 0) {
            note(list, &agg, k, b ? SPEC_DIFF_UPGRADE : SPEC_DIFF_IGNORE, a, b);
        } else {
            note(list, &agg, k, SPEC_DIFF_UPGRADE, a, b);
        }
    }
    free(keys);
    if (changes)
        *changes = list;
    return agg;
}

static void short_value(const json_t *v, char *buf, size_t cap)
{
    if (v == NULL) {
        snprintf(buf, cap, "null");
        return;
    }
    if (json_is_string(v)) {
        snprintf(buf, cap, "%s", json_string_value(v));
        return;
    }
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(buf, cap, "%s", s ? s : "?");
    if (strlen(buf) > 40)
        snprintf(buf + 37, cap - 37, "...");
    free(s);
}

void specdiff_describe(enum spec_diff d, const json_t *changes, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s change(s) detected (", specdiff_name(d));
    size_t i;
    const json_t *c;
    bool first = true;
    json_array_foreach((json_t *)changes, i, c)
    {
        if (n < 0 || (size_t)n >= cap)
            break;
        if (strcmp(json_string_value(json_object_get(c, "type")), "IGNORE") == 0)
            continue;
        char o[64], v[64];
        short_value(get(c, "old"), o, sizeof(o));
        short_value(get(c, "new"), v, sizeof(v));
        n += snprintf(buf + n, cap - (size_t)n, "%s%s: %s -> %s", first ? "" : ", ",
                      json_string_value(json_object_get(c, "path")), o, v);
        first = false;
    }
    if (n >= 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, ")");
}
