/*
 * fuzz_json_patch.c - libFuzzer target for lib/json: the input is two JSON documents separated
 * by a NUL byte (or one document used twice). Checks the merge-patch round trip
 * apply(a, diff(a, b)) == b where a merge patch can express b, that apply never modifies its
 * arguments, and exercises path lookups with paths taken from the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True when no object member anywhere outside arrays is null. */
static bool expressible(const json_t *v)
{
    if (!json_is_object(v))
        return true;
    const char *k;
    json_t *m;
    json_object_foreach((json_t *)v, k, m)
    {
        if (json_is_null(m) || !expressible(m))
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *sep = memchr(text, '\0', size);
    size_t la = sep ? (size_t)(sep - text) : size;
    const char *tb = sep ? sep + 1 : text;
    size_t lb = sep ? size - la - 1 : size;
    json_t *a = NULL, *b = NULL;
    weir_error err = {0};
    if (json_load_text(text, la, "a", &a, &err) != 0) {
        if (!err.msg[0])
            abort();
        return 0;
    }
    if (json_load_text(tb, lb, "b", &b, &err) != 0) {
        json_decref(a);
        return 0;
    }
    char *sa = json_dump_stable(a), *sb = json_dump_stable(b);
    json_t *d = json_merge_patch_diff(a, b);
    json_t *r = json_merge_patch_apply(a, d);
    json_t *r2 = json_merge_patch_apply(a, b);
    if (!d || !r || !r2)
        abort();
    if (expressible(b) && !json_equal(r, b))
        abort();
    char *sa2 = json_dump_stable(a), *sb2 = json_dump_stable(b);
    if (strcmp(sa, sa2) != 0 || strcmp(sb, sb2) != 0)
        abort();
    /* paths from the second document's text, whatever they are */
    char path[64];
    size_t pl = lb < sizeof(path) - 1 ? lb : sizeof(path) - 1;
    memcpy(path, tb, pl);
    path[pl] = '\0';
    (void)json_path_get(a, path);
    json_t *c = json_deep_copy(a);
    if (json_is_object(c) || json_is_array(c)) {
        (void)!json_path_set(c, path, json_true());
        (void)json_path_del(c, path);
    }
    json_decref(c);
    free(sa);
    free(sb);
    free(sa2);
    free(sb2);
    json_decref(a);
    json_decref(b);
    json_decref(d);
    json_decref(r);
    json_decref(r2);
    return 0;
}
