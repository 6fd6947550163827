/*
 * json.c - path access, merge patch and stable dumps over jansson.
 *
 * Paths are parsed one segment at a time into a fixed buffer (segment names longer than
 * JSON_SEG_MAX make the path malformed), so no allocation happens on lookups.
 */
#include "lib/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JSON_SEG_MAX 512

struct seg {
    bool is_index;
    size_t index;
    char name[JSON_SEG_MAX];
};

/*
 * Reads the segment at *pp into `s` and advances *pp past it (and past a following '.').
 * Returns 1 for a segment, 0 at the end, -1 for a malformed path.
 */
static int next_seg(const char **pp, struct seg *s, bool first)
{
    const char *p = *pp;
    if (*p == '\0')
        return first ? -1 : 0;
    if (*p == '[') {
        p++;
        if (*p == '"') {
            size_t n = 0;
            p++;
            while (*p && *p != '"') {
                if (*p == '\\') {
                    p++;
                    if (*p != '"' && *p != '\\')
                        return -1;
                }
                if (n + 1 >= sizeof(s->name))
                    return -1;
                s->name[n++] = *p++;
            }
            if (*p != '"' || p[1] != ']')
                return -1;
            s->name[n] = '\0';
            s->is_index = false;
            p += 2;
        } else {
            if (*p < '0' || *p > '9')
                return -1;
            size_t v = 0;
            while (*p >= '0' && *p <= '9') {
                if (v > (SIZE_MAX - 9) / 10)
                    return -1;
                v = v * 10 + (size_t)(*p++ - '0');
            }
            if (*p != ']')
                return -1;
            s->is_index = true;
            s->index = v;
            p++;
        }
    } else {
        size_t n = 0;
        while (*p && *p != '.' && *p != '[') {
            if (*p == ']' || *p == '"')
                return -1;
            if (n + 1 >= sizeof(s->name))
                return -1;
            s->name[n++] = *p++;
        }
        if (n == 0)
            return -1;
        s->name[n] = '\0';
        s->is_index = false;
    }
    if (*p == '.') {
        p++;
        if (*p == '\0' || *p == '.')
            return -1;
    } else if (*p != '\0' && *p != '[') {
        return -1;
    }
    *pp = p;
    return 1;
}

int json_load_text(const char *text, size_t len, const char *source, json_t **out, weir_error *err)
{
    json_error_t je;
    if (!out)
        return weir_error_set(err, WEIR_EINVAL, "json_load_text: no output");
    *out = NULL;
    if (!text && len > 0)
        return weir_error_set(err, WEIR_EINVAL, "json_load_text: no text");
    *out = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (*out)
        return 0;
    return weir_error_set(err, WEIR_EPARSE, "%s:%d:%d: %s", source ? source : "<json>", je.line,
                          je.column, je.text);
}

json_t *json_path_get(const json_t *root, const char *path)
{
    struct seg s;
    const char *p = path;
    json_t *cur = (json_t *)root;
    int r;
    if (!root || !path)
        return NULL;
    bool first = true;
    while ((r = next_seg(&p, &s, first)) == 1) {
        first = false;
        if (s.is_index)
            cur = json_is_array(cur) ? json_array_get(cur, s.index) : NULL;
        else
            cur = json_is_object(cur) ? json_object_get(cur, s.name) : NULL;
        if (!cur)
            return NULL;
    }
    return r == 0 ? cur : NULL;
}

const char *json_path_string(const json_t *root, const char *path, const char *def)
{
    json_t *v = json_path_get(root, path);
    return json_is_string(v) ? json_string_value(v) : def;
}

long long json_path_int(const json_t *root, const char *path, long long def)
{
    json_t *v = json_path_get(root, path);
    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

bool json_path_bool(const json_t *root, const char *path, bool def)
{
    json_t *v = json_path_get(root, path);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

int json_path_set(json_t *root, const char *path, json_t *value)
{
    struct seg s, nexts;
    const char *p = path;
    json_t *cur = root;
    int rc = 0;
    if (!root || !path || !value) {
        rc = WEIR_EINVAL;
        goto out;
    }
    int r = next_seg(&p, &s, true);
    if (r != 1) {
        rc = WEIR_EINVAL;
        goto out;
    }
    for (;;) {
        int rn = next_seg(&p, &nexts, false);
        if (rn < 0) {
            rc = WEIR_EINVAL;
            goto out;
        }
        if (rn == 0) { /* s is the last segment: store */
            if (s.is_index) {
                if (!json_is_array(cur)) {
                    rc = WEIR_ETYPE;
                    goto out;
                }
                size_t n = json_array_size(cur);
                if (s.index > n) {
                    rc = WEIR_ERANGE;
                    goto out;
                }
                /* the _new setters take the reference even when they fail */
                if (s.index < n)
                    rc = json_array_set_new(cur, s.index, value) ? WEIR_ENOMEM : 0;
                else
                    rc = json_array_append_new(cur, value) ? WEIR_ENOMEM : 0;
                value = NULL;
            } else {
                if (!json_is_object(cur)) {
                    rc = WEIR_ETYPE;
                    goto out;
                }
                rc = json_object_set_new(cur, s.name, value) ? WEIR_ENOMEM : 0;
                value = NULL;
            }
            return rc;
        }
        /* descend through s, creating an object or array for the next segment if missing */
        json_t *child;
        if (s.is_index) {
            if (!json_is_array(cur)) {
                rc = WEIR_ETYPE;
                goto out;
            }
            child = json_array_get(cur, s.index);
            if (!child || json_is_null(child)) {
                if (s.index > json_array_size(cur)) {
                    rc = WEIR_ERANGE;
                    goto out;
                }
                bool append = !child;
                child = nexts.is_index ? json_array() : json_object();
                if (!child || (append ? json_array_append_new(cur, child)
                                      : json_array_set_new(cur, s.index, child))) {
                    rc = WEIR_ENOMEM;
                    goto out;
                }
            }
        } else {
            if (!json_is_object(cur)) {
                rc = WEIR_ETYPE;
                goto out;
            }
            child = json_object_get(cur, s.name);
            if (!child || json_is_null(child)) {
                child = nexts.is_index ? json_array() : json_object();
                if (!child || json_object_set_new(cur, s.name, child)) {
                    rc = WEIR_ENOMEM;
                    goto out;
                }
            }
        }
        cur = child;
        s = nexts;
    }
out:
    json_decref(value);
    return rc;
}

int json_path_del(json_t *root, const char *path)
{
    struct seg s;
    const char *p = path;
    json_t *cur = root, *parent = NULL;
    struct seg last;
    int r;
    bool first = true;
    if (!root || !path)
        return WEIR_EINVAL;
    while ((r = next_seg(&p, &s, first)) == 1) {
        first = false;
        parent = cur;
        last = s;
        if (s.is_index)
            cur = json_is_array(cur) ? json_array_get(cur, s.index) : NULL;
        else
            cur = json_is_object(cur) ? json_object_get(cur, s.name) : NULL;
        if (!cur)
            return WEIR_ENOTFOUND;
    }
    if (r < 0)
        return WEIR_EINVAL;
    if (last.is_index)
        return json_array_remove(parent, last.index) ? WEIR_ENOTFOUND : 0;
    return json_object_del(parent, last.name) ? WEIR_ENOTFOUND : 0;
}

json_t *json_merge_patch_apply(const json_t *target, const json_t *patch)
{
    if (!json_is_object(patch))
        return json_deep_copy(patch);
    json_t *result = json_is_object(target) ? json_deep_copy(target) : json_object();
    if (!result)
        return NULL;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v)
    {
        if (json_is_null(v)) {
            json_object_del(result, k);
            continue;
        }
        json_t *merged = json_merge_patch_apply(json_object_get(result, k), v);
        if (!merged || json_object_set_new(result, k, merged)) {
            json_decref(result);
            return NULL;
        }
    }
    return result;
}

json_t *json_merge_patch_diff(const json_t *from, const json_t *to)
{
    if (!json_is_object(from) || !json_is_object(to))
        return json_deep_copy(to);
    json_t *patch = json_object();
    if (!patch)
        return NULL;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)from, k, v)
    {
        if (!json_object_get(to, k) && json_object_set_new(patch, k, json_null()))
            goto oom;
    }
    json_object_foreach((json_t *)to, k, v)
    {
        json_t *old = json_object_get(from, k);
        json_t *d = NULL;
        if (!old) {
            d = json_deep_copy(v);
        } else if (json_is_object(old) && json_is_object(v)) {
            d = json_merge_patch_diff(old, v);
            if (d && json_object_size(d) == 0) {
                json_decref(d);
                continue;
            }
        } else if (!json_equal(old, v)) {
            d = json_deep_copy(v);
        } else {
            continue;
        }
        if (!d || json_object_set_new(patch, k, d))
            goto oom;
    }
    return patch;
oom:
    json_decref(patch);
    return NULL;
}

char *json_dump_stable(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

char *json_dump_pretty(const json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *r = realloc(s, n + 2);
    if (!r) {
        free(s);
        return NULL;
    }
    r[n] = '\n';
    r[n + 1] = '\0';
    return r;
}
