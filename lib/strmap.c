/*
 * strmap.c - string-keyed hash map with open addressing (see strmap.h).
 *
 * Layer: lib/ leaf. Depends on libc only.
 */
#include "lib/strmap.h"

#include "lib/error.h"

#include <stdlib.h>
#include <string.h>

struct slot {
    char *key; /* NULL when empty; owned */
    void *value;
    unsigned long long hash;
};

struct strmap {
    struct slot *slots;
    size_t cap; /* power of two, or 0 before the first put */
    size_t len;
};

unsigned long long strmap_hash(const char *key)
{
    unsigned long long h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

strmap *strmap_new(void)
{
    return calloc(1, sizeof(strmap));
}

void strmap_free(strmap *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    free(m);
}

size_t strmap_len(const strmap *m)
{
    return m->len;
}

/* Index of `key`'s slot, or of the empty slot where it would go. Requires cap > 0. */
static size_t find(const strmap *m, const char *key, unsigned long long h)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)h & mask;
    while (m->slots[i].key != NULL) {
        if (m->slots[i].hash == h && strcmp(m->slots[i].key, key) == 0)
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

void *strmap_get(const strmap *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    size_t i = find(m, key, strmap_hash(key));
    return m->slots[i].key ? m->slots[i].value : NULL;
}

bool strmap_has(const strmap *m, const char *key)
{
    if (m->cap == 0)
        return false;
    return m->slots[find(m, key, strmap_hash(key))].key != NULL;
}

static int grow(strmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    struct slot *ns = calloc(ncap, sizeof(*ns));
    if (ns == NULL)
        return WEIR_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        struct slot *s = &m->slots[i];
        if (s->key == NULL)
            continue;
        size_t j = (size_t)s->hash & (ncap - 1);
        while (ns[j].key != NULL)
            j = (j + 1) & (ncap - 1);
        ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

int strmap_put(strmap *m, const char *key, void *value, void **old)
{
    if (old)
        *old = NULL;
    if ((m->len + 1) * 10 > m->cap * 7) {
        int rc = grow(m);
        if (rc != 0)
            return rc;
    }
    unsigned long long h = strmap_hash(key);
    size_t i = find(m, key, h);
    struct slot *s = &m->slots[i];
    if (s->key != NULL) {
        if (old)
            *old = s->value;
        s->value = value;
        return 0;
    }
    char *copy = strdup(key);
    if (copy == NULL)
        return WEIR_ENOMEM;
    s->key = copy;
    s->value = value;
    s->hash = h;
    m->len++;
    return 0;
}

void *strmap_del(strmap *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1;
    size_t i = find(m, key, strmap_hash(key));
    if (m->slots[i].key == NULL)
        return NULL;
    void *value = m->slots[i].value;
    free(m->slots[i].key);
    m->slots[i].key = NULL;
    m->len--;
    /* Backward-shift: move later entries of the probe run into the hole when allowed. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->slots[j].key != NULL; j = (j + 1) & mask) {
        size_t home = (size_t)m->slots[j].hash & mask;
        /* The entry at j may move to `hole` if its home is not in (hole, j] cyclically. */
        bool in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!in_range) {
            m->slots[hole] = m->slots[j];
            m->slots[j].key = NULL;
            hole = j;
        }
    }
    return value;
}

bool strmap_next(const strmap *m, size_t *it, const char **key, void **value)
{
    while (*it < m->cap) {
        const struct slot *s = &m->slots[(*it)++];
        if (s->key != NULL) {
            if (key)
                *key = s->key;
            if (value)
                *value = s->value;
            return true;
        }
    }
    return false;
}
