/*
 * batch.c - record batches, their schemas and string arenas.
 *
 * Layer: runtime/engine leaf.
 */
#include "runtime/engine/batch.h"

#include "runtime/types/decimal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rt_rowkind_short(rt_rowkind k)
{
    static const char *const s[] = {"+I", "-U", "+U", "-D"};
    return (unsigned)k < 4 ? s[k] : "??";
}

/* --- schema ------------------------------------------------------------------------------ */

rt_schema *rt_schema_new(uint32_t n)
{
    rt_schema *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->ncols = n;
    s->names = calloc(n ? n : 1, sizeof(char *));
    s->types = calloc(n ? n : 1, sizeof(rt_type));
    if (!s->names || !s->types) {
        rt_schema_free(s);
        return NULL;
    }
    return s;
}

void rt_schema_free(rt_schema *s)
{
    if (!s)
        return;
    if (s->names)
        for (uint32_t i = 0; i < s->ncols; i++)
            free(s->names[i]);
    free(s->names);
    free(s->types);
    free(s);
}

int rt_schema_find(const rt_schema *s, const char *name)
{
    for (uint32_t i = 0; i < s->ncols; i++)
        if (s->names[i] && strcmp(s->names[i], name) == 0)
            return (int)i;
    return -1;
}

/* --- arena ------------------------------------------------------------------------------- */

struct rt_arena_chunk {
    struct rt_arena_chunk *next;
    size_t used, size;
    char data[];
};

#define ARENA_MIN 16384

void rt_arena_init(rt_arena *a)
{
    memset(a, 0, sizeof(*a));
}

void *rt_arena_alloc(rt_arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    a->high_water += n;
    if (!a->base && !a->extra) {
        size_t size = n > ARENA_MIN ? n : ARENA_MIN;
        a->base = malloc(size);
        if (!a->base)
            return NULL;
        a->size = size;
    }
    if (a->used + n <= a->size) {
        void *p = a->base + a->used;
        a->used += n;
        return p;
    }
    /* Overflow chunks; the next reset grows `base` to the high-water mark, so a batch that is
     * refilled with similar rows settles on one allocation. */
    struct rt_arena_chunk *c = a->extra;
    if (!c || c->size - c->used < n) {
        size_t size = n > ARENA_MIN ? n : ARENA_MIN;
        c = malloc(sizeof(*c) + size);
        if (!c)
            return NULL;
        c->size = size;
        c->used = 0;
        c->next = a->extra;
        a->extra = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

rt_str rt_arena_strdup(rt_arena *a, const char *p, uint32_t len, bool *ok)
{
    rt_str s = {NULL, 0};
    if (len == 0)
        return s;
    char *d = rt_arena_alloc(a, len);
    if (!d) {
        *ok = false;
        return s;
    }
    memcpy(d, p, len);
    s.ptr = d;
    s.len = len;
    return s;
}

void rt_arena_reset(rt_arena *a)
{
    bool overflowed = a->extra != NULL;
    while (a->extra) {
        struct rt_arena_chunk *n = a->extra->next;
        free(a->extra);
        a->extra = n;
    }
    if (overflowed && a->high_water > a->size) {
        size_t size = a->size ? a->size : ARENA_MIN;
        while (size < a->high_water)
            size *= 2;
        char *nb = realloc(a->base, size);
        if (nb) {
            a->base = nb;
            a->size = size;
        }
    }
    a->used = 0;
    a->high_water = 0;
}

void rt_arena_free(rt_arena *a)
{
    rt_arena_reset(a);
    free(a->base);
    memset(a, 0, sizeof(*a));
}

/* --- batch ------------------------------------------------------------------------------- */

rt_batch *rt_batch_new_types(const rt_type *types, uint32_t ncols, uint32_t cap)
{
    if (cap == 0)
        cap = RT_BATCH_ROWS;
    rt_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->cap = cap;
    b->ncols = ncols;
    rt_arena_init(&b->arena);
    b->kind = calloc(cap, 1);
    b->cols = calloc(ncols ? ncols : 1, sizeof(rt_col));
    if (!b->kind || !b->cols)
        goto fail;
    for (uint32_t i = 0; i < ncols; i++) {
        rt_col *c = &b->cols[i];
        c->type = types[i];
        c->null = calloc(cap, 1);
        c->i64 = calloc(cap, rt_phys_width(rt_type_phys(types[i])));
        if (!c->null || !c->i64)
            goto fail;
    }
    return b;
fail:
    rt_batch_free(b);
    return NULL;
}

rt_batch *rt_batch_new(const rt_schema *schema, uint32_t cap)
{
    return rt_batch_new_types(schema->types, schema->ncols, cap);
}

void rt_batch_free(rt_batch *b)
{
    if (!b)
        return;
    if (b->cols)
        for (uint32_t i = 0; i < b->ncols; i++) {
            free(b->cols[i].null);
            free(b->cols[i].i64);
        }
    free(b->cols);
    free(b->kind);
    rt_arena_free(&b->arena);
    free(b);
}

void rt_batch_reset(rt_batch *b)
{
    b->n = 0;
    rt_arena_reset(&b->arena);
}

int rt_batch_append_row(rt_batch *dst, const rt_batch *src, uint32_t row)
{
    if (dst->n >= dst->cap)
        return WEIR_ETOOBIG;
    uint32_t r = dst->n;
    bool ok = true;
    for (uint32_t i = 0; i < dst->ncols; i++) {
        rt_col *d = &dst->cols[i];
        const rt_col *s = &src->cols[i];
        d->null[r] = s->null[row];
        rt_phys ph = rt_type_phys(d->type);
        if (ph == RT_PHYS_STR)
            d->str[r] = s->null[row]
                            ? (rt_str){NULL, 0}
                            : rt_arena_strdup(&dst->arena, s->str[row].ptr, s->str[row].len, &ok);
        else if (ph == RT_PHYS_I128)
            d->i128[r] = s->i128[row];
        else
            d->i64[r] = s->i64[row];
    }
    if (!ok)
        return WEIR_ENOMEM;
    dst->kind[r] = src->kind[row];
    dst->n++;
    return 0;
}

int rt_batch_append_rows(rt_batch *dst, const rt_batch *src, const uint32_t *rows, uint32_t first,
                         uint32_t n)
{
    if (n > dst->cap - dst->n)
        return WEIR_ETOOBIG;
    uint32_t base = dst->n;
    bool ok = true;
    for (uint32_t i = 0; i < dst->ncols; i++) {
        rt_col *d = &dst->cols[i];
        const rt_col *s = &src->cols[i];
        rt_phys ph = rt_type_phys(d->type);
        if (!rows) {
            memcpy(d->null + base, s->null + first, n);
            if (ph == RT_PHYS_I128) {
                memcpy(d->i128 + base, s->i128 + first, (size_t)n * sizeof(rt_i128));
                continue;
            }
            if (ph != RT_PHYS_STR) {
                memcpy(d->i64 + base, s->i64 + first, (size_t)n * sizeof(int64_t));
                continue;
            }
        } else
            for (uint32_t k = 0; k < n; k++)
                d->null[base + k] = s->null[rows[k]];
        if (ph == RT_PHYS_STR) {
            for (uint32_t k = 0; k < n; k++) {
                uint32_t r = rows ? rows[k] : first + k;
                d->str[base + k] =
                    s->null[r] ? (rt_str){NULL, 0}
                               : rt_arena_strdup(&dst->arena, s->str[r].ptr, s->str[r].len, &ok);
            }
        } else if (ph == RT_PHYS_I128)
            for (uint32_t k = 0; k < n; k++)
                d->i128[base + k] = s->i128[rows[k]];
        else
            for (uint32_t k = 0; k < n; k++)
                d->i64[base + k] = s->i64[rows[k]];
    }
    if (!ok)
        return WEIR_ENOMEM;
    if (rows)
        for (uint32_t k = 0; k < n; k++)
            dst->kind[base + k] = src->kind[rows[k]];
    else
        memcpy(dst->kind + base, src->kind + first, n);
    dst->n += n;
    return 0;
}

void rt_batch_filter(rt_batch *b, const uint8_t *keep)
{
    uint32_t o = 0;
    for (uint32_t r = 0; r < b->n; r++) {
        if (!keep[r])
            continue;
        if (o != r) {
            b->kind[o] = b->kind[r];
            for (uint32_t i = 0; i < b->ncols; i++) {
                rt_col *c = &b->cols[i];
                c->null[o] = c->null[r];
                rt_phys ph = rt_type_phys(c->type);
                if (ph == RT_PHYS_STR)
                    c->str[o] = c->str[r];
                else if (ph == RT_PHYS_I128)
                    c->i128[o] = c->i128[r];
                else
                    c->i64[o] = c->i64[r];
            }
        }
        o++;
    }
    b->n = o;
}

int rt_batch_copy(rt_batch *dst, const rt_batch *src)
{
    if (src->n > dst->cap || src->ncols != dst->ncols)
        return WEIR_ETOOBIG;
    rt_batch_reset(dst);
    for (uint32_t r = 0; r < src->n; r++) {
        int rc = rt_batch_append_row(dst, src, r);
        if (rc)
            return rc;
    }
    return 0;
}

int rt_col_format(const rt_col *c, uint32_t row, char *buf, size_t size)
{
    if (c->null[row])
        return snprintf(buf, size, "NULL");
    switch (rt_type_phys(c->type)) {
    case RT_PHYS_STR:
        return rt_value_format(c->type, 0, 0, c->str[row], buf, size);
    case RT_PHYS_F64:
        return rt_value_format(c->type, 0, c->f64[row], (rt_str){NULL, 0}, buf, size);
    case RT_PHYS_I128:
        return rt_dec_format(c->i128[row], c->type.scale, buf, size);
    default:
        return rt_value_format(c->type, c->i64[row], 0, (rt_str){NULL, 0}, buf, size);
    }
}

int rt_batch_format_row(const rt_batch *b, uint32_t row, char *buf, size_t size)
{
    size_t n = 0;
#define ROOM (n < size ? size - n : 0)
#define AT   (buf + (n < size ? n : size))
    if (size)
        buf[0] = '\0';
    n += (size_t)snprintf(AT, ROOM, "%s[", rt_rowkind_short((rt_rowkind)b->kind[row]));
    for (uint32_t i = 0; i < b->ncols; i++) {
        if (i)
            n += (size_t)snprintf(AT, ROOM, ", ");
        n += (size_t)rt_col_format(&b->cols[i], row, AT, ROOM);
    }
    n += (size_t)snprintf(AT, ROOM, "]");
#undef ROOM
#undef AT
    if (size)
        buf[size - 1 < n ? size - 1 : n] = '\0';
    return (int)n;
}
