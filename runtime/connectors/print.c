/*
 * print.c - the print sink: rows written as Flink's print connector writes them,
 * "+I[1, abc, NULL]", prefixed as Flink's PrintSinkOutputWriter does: "<identifier>:<subtask+1>> "
 * with an identifier and parallelism > 1, "<identifier>> ", "<subtask+1>> ", or nothing.
 *
 * Fields of a ROW column reach the sink flattened, as columns named "row.field" (docs/sql.md);
 * they print as one nested row, "+I[1, +I[ann, lee], 2]", as Flink prints a nested Row.
 *
 * Rows are formatted into a per-instance buffer and written with one fwrite per batch under
 * the stream's lock, so lines of several subtasks never interleave.
 *
 * Layer: runtime/connectors.
 */
#include "runtime/connectors/connector.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static _Atomic(FILE *) redirect;

void rt_connector_print_redirect(FILE *out)
{
    atomic_store(&redirect, out);
}

typedef struct print_sink {
    char prefix[160];
    size_t plen;
    bool to_stderr;
    char *buf;
    size_t len, cap;
    /* ROW fields: per column, how many nested rows open before it and close after it; NULL
     * when no column is a ROW field */
    uint8_t *opens, *closes;
} print_sink;

/* The ROW nesting of the columns, from their names ("a.b.c": field c of ROW b of ROW a). */
static int nesting(print_sink *p, const rt_schema *s)
{
    bool any = false;
    for (uint32_t i = 0; i < s->ncols && !any; i++)
        any = strchr(s->names[i], '.') != NULL;
    if (!any)
        return 0;
    if (!(p->opens = calloc(s->ncols, 1)) || !(p->closes = calloc(s->ncols, 1)))
        return WEIR_ENOMEM;
    const char *prev = "";
    uint32_t prev_depth = 0;
    for (uint32_t i = 0; i < s->ncols; i++) {
        const char *n = s->names[i];
        uint32_t depth = 0, common = 0;
        for (const char *c = n; *c; c++)
            depth += *c == '.';
        /* parents shared with the previous column: equal leading "seg." parts */
        const char *a = prev, *b = n;
        while (common < depth && common < prev_depth) {
            const char *da = strchr(a, '.'), *db = strchr(b, '.');
            if (!da || !db || da - a != db - b || strncmp(a, b, (size_t)(da - a)) != 0)
                break;
            common++;
            a = da + 1;
            b = db + 1;
        }
        if (i > 0)
            p->closes[i - 1] = (uint8_t)(prev_depth - common);
        p->opens[i] = (uint8_t)(depth - common);
        prev = n;
        prev_depth = depth;
    }
    p->closes[s->ncols - 1] = (uint8_t)prev_depth;
    return 0;
}

/* rt_batch_format_row with ROW fields nested. */
static int format_nested(const print_sink *p, const rt_batch *b, uint32_t row, char *buf,
                         size_t size)
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
        for (uint8_t k = 0; k < p->opens[i]; k++)
            n += (size_t)snprintf(AT, ROOM, "+I[");
        n += (size_t)rt_col_format(&b->cols[i], row, AT, ROOM);
        for (uint8_t k = 0; k < p->closes[i]; k++)
            n += (size_t)snprintf(AT, ROOM, "]");
    }
    n += (size_t)snprintf(AT, ROOM, "]");
#undef ROOM
#undef AT
    if (size)
        buf[size - 1 < n ? size - 1 : n] = '\0';
    return (int)n;
}

static FILE *stream(print_sink *p)
{
    FILE *r = atomic_load(&redirect);
    return r ? r : (p->to_stderr ? stderr : stdout);
}

static int parse_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "true"))
        *out = true;
    else if (!strcasecmp(v, "false"))
        *out = false;
    else
        return -1;
    return 0;
}

static void print_destroy(void *self);

static int print_create(const rt_schema *schema, const json_t *options, uint32_t subtask,
                        uint32_t parallelism, void **self, weir_error *err)
{
    const char *id = "";
    bool to_stderr = false;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)options, k, v)
    {
        const char *s = json_string_value(v);
        if (!strcmp(k, "print-identifier"))
            id = s;
        else if (!strcmp(k, "standard-error")) {
            if (parse_bool(s, &to_stderr))
                return weir_error_set(err, WEIR_EINVAL,
                                      "'standard-error': '%s' is not a boolean (true or false)", s);
        } else if (strcmp(k, "sink.parallelism") != 0)
            return weir_error_set(err, WEIR_EINVAL,
                                  "Unsupported options found for 'print': %s (supported: "
                                  "print-identifier, standard-error, sink.parallelism)",
                                  k);
    }
    print_sink *p = calloc(1, sizeof(*p));
    if (!p)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    char pre[160];
    snprintf(pre, sizeof(pre), "%s", id);
    if (parallelism > 1) {
        size_t n = strlen(pre);
        snprintf(pre + n, sizeof(pre) - n, "%s%u", *id ? ":" : "", subtask + 1);
    }
    if (*pre)
        snprintf(p->prefix, sizeof(p->prefix), "%s> ", pre);
    p->plen = strlen(p->prefix);
    p->to_stderr = to_stderr;
    if (nesting(p, schema)) {
        print_destroy(p);
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    }
    *self = p;
    return 0;
}

static int print_write(void *self, const rt_batch *b, weir_error *err)
{
    print_sink *p = self;
    p->len = 0;
    for (uint32_t r = 0; r < b->n; r++) {
        for (;;) {
            size_t room = p->cap - p->len;
            if (room > p->plen + 2) {
                char *at = p->buf + p->len + p->plen;
                int n = p->opens ? format_nested(p, b, r, at, room - p->plen - 1)
                                 : rt_batch_format_row(b, r, at, room - p->plen - 1);
                if ((size_t)n + p->plen + 1 < room) {
                    memcpy(p->buf + p->len, p->prefix, p->plen);
                    p->len += p->plen + (size_t)n;
                    p->buf[p->len++] = '\n';
                    break;
                }
            }
            size_t nc = p->cap ? p->cap * 2 : 65536;
            char *nb = realloc(p->buf, nc);
            if (!nb)
                return weir_error_set(err, WEIR_ENOMEM, "out of memory");
            p->buf = nb;
            p->cap = nc;
        }
    }
    FILE *f = stream(p);
    flockfile(f);
    size_t w = fwrite_unlocked(p->buf, 1, p->len, f);
    funlockfile(f);
    if (w != p->len)
        return weir_error_set(err, WEIR_EIO, "print: write failed");
    return 0;
}

static int print_flush(void *self, weir_error *err)
{
    if (fflush(stream(self)) != 0)
        return weir_error_set(err, WEIR_EIO, "print: flush failed");
    return 0;
}

static void print_destroy(void *self)
{
    print_sink *p = self;
    if (!p)
        return;
    fflush(stream(p));
    free(p->buf);
    free(p->opens);
    free(p->closes);
    free(p);
}

const rt_sink_ops rt_print_sink = {
    .name = "print",
    .create = print_create,
    .write = print_write,
    .flush = print_flush,
    .destroy = print_destroy,
};
