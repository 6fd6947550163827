/*
 * sql_plan.c - the binder and planner of the SQL front end: resolves names against the script's
 * catalog (CREATE TABLE / CREATE VIEW), types every expression by compiling it with the
 * runtime's expression compiler (so SQL and plans agree on types), checks connectors and their
 * options, and turns each INSERT into operators of one job plan:
 *
 *   table scan   source [-> calc (computed columns)] [-> watermark]     (shared by all INSERTs)
 *   SELECT       calc (projection + WHERE)
 *   GROUP BY     calc (keys, aggregate arguments, WHERE) -> group_aggregate -> calc (SELECT,
 * HAVING) window TVF   calc -> window_aggregate (TUMBLE | HOP | CUMULATE) -> calc INSERT [calc
 * (casts to the sink's types)] -> sink
 *
 * Every error is "file:line:col: message" at the construct it is about.
 *
 * Layer: runtime/sql.
 */
#include "runtime/sql/sql.h"

#include "lib/config.h"
#include "lib/json.h"
#include "runtime/connectors/connector.h"
#include "runtime/expr/expr.h"
#include "runtime/plan/plan.h"
#include "runtime/sql/sql_ast.h"
#include "runtime/types/decimal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_COLS 1024

typedef struct rcol {
    char name[128];
    rt_type type;
} rcol;

/* A planned relation: the operator producing it and its columns. */
typedef struct rel {
    char op[64];
    char qual[128]; /* the alias or table name columns can be qualified with */
    int ncols;
    rcol *cols;
} rel;

typedef struct table {
    const sql_stmt *def;
    bool scanned;
    rel scan;
} table;

typedef struct ctx {
    const sql_script *s;
    weir_error *err;
    json_t *ops;
    json_t *settings;
    const json_t *defaults; /* the configuration's planner keys (table.*), below SET */
    int next_id;
    table *tables;
    int ntables;
    const sql_stmt **views;
    int nviews;
    const sql_stmt **ctes; /* WITH queries in scope, innermost last (owned array) */
    int nctes, cap_ctes;
    int depth;
    bool lenient;  /* sql_check: accept known-later connectors */
    json_t *notes; /* their notes */
} ctx;

static int fail(ctx *c, sql_pos pos, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A planner setting: the script's SET, else the configuration's, else NULL. */
static const char *setting(const ctx *c, const char *key)
{
    const char *v = json_string_value(json_object_get(c->settings, key));
    return v ? v : json_string_value(json_object_get(c->defaults, key));
}

static int fail(ctx *c, sql_pos pos, int code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return weir_error_set(c->err, code, "%s:%d:%d: %s", c->s->file, pos.line, pos.col, msg);
}

static void rel_free(rel *r)
{
    free(r->cols);
    r->cols = NULL;
    r->ncols = 0;
}

static int rel_add(rel *r, const char *name, rt_type t)
{
    rcol *n = realloc(r->cols, (size_t)(r->ncols + 1) * sizeof(rcol));
    if (!n)
        return WEIR_ENOMEM;
    r->cols = n;
    snprintf(n[r->ncols].name, sizeof(n[r->ncols].name), "%s", name);
    n[r->ncols].type = t;
    r->ncols++;
    return 0;
}

static int rel_copy(rel *dst, const rel *src)
{
    *dst = *src;
    dst->cols = malloc((size_t)(src->ncols ? src->ncols : 1) * sizeof(rcol));
    if (!dst->cols)
        return WEIR_ENOMEM;
    memcpy(dst->cols, src->cols, (size_t)src->ncols * sizeof(rcol));
    return 0;
}

static char *type_name(rt_type t, char *buf, size_t n)
{
    rt_type u = t;
    u.nullable = 1;
    return rt_type_format(u, buf, n);
}

static void new_id(ctx *c, const char *kind, char *out, size_t n)
{
    snprintf(out, n, "%s_%d", kind, c->next_id++);
}

/* --- catalog --------------------------------------------------------------------------------- */

static table *find_table(ctx *c, const char *name)
{
    for (int i = 0; i < c->ntables; i++)
        if (!strcmp(c->tables[i].def->name, name))
            return &c->tables[i];
    return NULL;
}

static const sql_stmt *find_view(ctx *c, const char *name)
{
    for (int i = 0; i < c->nviews; i++)
        if (!strcmp(c->views[i]->name, name))
            return c->views[i];
    return NULL;
}

/* A WITH query in scope (the innermost of that name): its index in c->ctes, or -1. */
static int find_cte(ctx *c, const char *name)
{
    for (int i = c->nctes - 1; i >= 0; i--)
        if (!strcmp(c->ctes[i]->name, name))
            return i;
    return -1;
}

/* Brings query q's WITH queries into scope; returns how many to pop (or -1: out of memory). */
static int push_ctes(ctx *c, const sql_query *q)
{
    if (c->nctes + q->nctes > c->cap_ctes) {
        int cap = (c->nctes + q->nctes) * 2 + 4;
        const sql_stmt **n = realloc(c->ctes, (size_t)cap * sizeof(*n));
        if (!n)
            return -1;
        c->ctes = n;
        c->cap_ctes = cap;
    }
    for (int i = 0; i < q->nctes; i++)
        c->ctes[c->nctes++] = q->ctes[i];
    return q->nctes;
}

static const char *option(const sql_stmt *t, const char *key, const sql_option **where)
{
    for (int i = 0; i < t->nopts; i++)
        if (!strcmp(t->opts[i].key, key)) {
            if (where)
                *where = &t->opts[i];
            return t->opts[i].value;
        }
    return NULL;
}

/* --- expressions --------------------------------------------------------------------------------
 */

static json_t *jlit(const char *type, json_t *value)
{
    return json_pack("{s:s, s:s, s:o}", "kind", "literal", "type", type, "value",
                     value ? value : json_null());
}

static json_t *jcol(int index, const char *name)
{
    return json_pack("{s:s, s:i, s:s}", "kind", "column", "index", index, "name", name);
}

static json_t *jcall(const char *fn, json_t *args)
{
    return json_pack("{s:s, s:s, s:o}", "kind", "call", "fn", fn, "args", args);
}

/* Types `node` against `scope` with the runtime's expression compiler. */
static int type_of(ctx *c, json_t *node, const rel *scope, sql_pos pos, rt_type *out)
{
    rt_type types[MAX_COLS];
    for (int i = 0; i < scope->ncols && i < MAX_COLS; i++)
        types[i] = scope->cols[i].type;
    char path[64];
    snprintf(path, sizeof(path), "%d:%d", pos.line, pos.col);
    rt_expr *e = NULL;
    weir_error ee = {0};
    int rc = rt_expr_compile(node, types, (uint32_t)scope->ncols, path, &e, &ee);
    if (rc) {
        /* The compiler names the node "line:col[.args[i]...]": point at the SQL instead. */
        const char *msg = ee.msg;
        size_t pl = strlen(path);
        if (!strncmp(msg, path, pl)) {
            msg += pl;
            while (*msg == '.' || *msg == '[' || *msg == ']' || (*msg >= 'a' && *msg <= 'z') ||
                   (*msg >= '0' && *msg <= '9'))
                msg++;
            if (*msg == ':')
                msg++;
            while (*msg == ' ')
                msg++;
        }
        return fail(c, pos, rc, "%s", msg);
    }
    if (out)
        *out = rt_expr_type(e);
    rt_expr_free(e);
    return 0;
}

static bool is_agg(const char *fn)
{
    return !strcmp(fn, "COUNT") || !strcmp(fn, "SUM") || !strcmp(fn, "MIN") || !strcmp(fn, "MAX") ||
           !strcmp(fn, "AVG");
}

static int rel_find(const rel *r, const char *name)
{
    for (int i = 0; i < r->ncols; i++)
        if (!strcmp(r->cols[i].name, name))
            return i;
    return -1;
}

/* How many columns of `scope` are fields of ROW column `name` ("name.x"); *first: the first. */
static int row_fields(const rel *scope, const char *name, int *first)
{
    size_t l = strlen(name);
    int n = 0;
    for (int i = 0; i < scope->ncols; i++)
        if (!strncmp(scope->cols[i].name, name, l) && scope->cols[i].name[l] == '.') {
            if (!n++)
                *first = i;
        }
    return n;
}

static int resolve(ctx *c, const sql_expr *e, const rel *scope, int *index)
{
    if (e->qual && strcmp(e->qual, scope->qual) != 0) {
        /* row.field (a ROW column's field, flattened as "row.field") */
        char full[256];
        snprintf(full, sizeof(full), "%s.%s", e->qual, e->name);
        for (int i = 0; i < scope->ncols; i++)
            if (!strcmp(scope->cols[i].name, full)) {
                *index = i;
                return 0;
            }
        int first, n = row_fields(scope, e->qual, &first);
        if (n > 0) {
            char fields[300] = "";
            for (int i = first; i < first + n && strlen(fields) < 250; i++)
                snprintf(fields + strlen(fields), sizeof(fields) - strlen(fields), "%s%s",
                         i > first ? ", " : "", scope->cols[i].name);
            return fail(c, e->pos, WEIR_EINVAL, "ROW '%s' has no field '%s' (fields: %s)", e->qual,
                        e->name, fields);
        }
        return fail(c, e->pos, WEIR_EINVAL, "unknown table or alias '%s' (the query reads '%s')",
                    e->qual, scope->qual);
    }
    for (int i = 0; i < scope->ncols; i++)
        if (!strcmp(scope->cols[i].name, e->name)) {
            *index = i;
            return 0;
        }
    int first;
    if (row_fields(scope, e->name, &first) > 0)
        return fail(c, e->pos, WEIR_EUNSUPPORTED,
                    "'%s' is a ROW: a whole ROW can only be selected as a column of its own "
                    "(SELECT %s) or by *; in expressions use its fields (%s)",
                    e->name, e->name, scope->cols[first].name);
    char cols[300] = "";
    for (int i = 0; i < scope->ncols && strlen(cols) < 250; i++)
        snprintf(cols + strlen(cols), sizeof(cols) - strlen(cols), "%s%s", i ? ", " : "",
                 scope->cols[i].name);
    return fail(c, e->pos, WEIR_EINVAL, "column '%s' not found (available: %s)", e->name, cols);
}

typedef struct aggs {
    const sql_expr *list[64];
    char *key[64]; /* bound JSON text of the call, for de-duplication */
    int n;
} aggs;

typedef struct post {
    const rel *pre;  /* the relation aggregates read */
    char **key_json; /* bound JSON of each GROUP BY key */
    int nkeys;
    const aggs *a;
    const rel *out; /* the aggregation's output relation */
    int win_first;  /* index of window_start in out, -1 without windows */
} post;

static json_t *bind(ctx *c, const sql_expr *e, const rel *scope, aggs *collect, const post *pa);

static json_t *bind_args(ctx *c, const sql_expr *e, const rel *scope, aggs *collect, const post *pa)
{
    json_t *args = json_array();
    for (int i = 0; i < e->nargs; i++) {
        json_t *a = bind(c, e->args[i], scope, collect, pa);
        if (!a) {
            json_decref(args);
            return NULL;
        }
        json_array_append_new(args, a);
    }
    return args;
}

static char *dump(json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

/* Binds an expression. With `collect`, aggregate calls are recorded (pre-aggregation walk);
 * with `pa`, the expression is bound after an aggregation: aggregates, GROUP BY keys and
 * window columns become columns of pa->out. */
static json_t *bind(ctx *c, const sql_expr *e, const rel *scope, aggs *collect, const post *pa)
{
    if (++c->depth > 200) {
        c->depth--;
        fail(c, e->pos, WEIR_ETOOBIG, "expression too deep");
        return NULL;
    }
    json_t *out = NULL;
    if (pa) {
        /* window columns, keys and aggregates are columns of the aggregation's output */
        if (e->kind == SE_IDENT && pa->win_first >= 0 &&
            (!strcmp(e->name, "window_start") || !strcmp(e->name, "window_end") ||
             !strcmp(e->name, "window_time"))) {
            int off = !strcmp(e->name, "window_start") ? 0 : !strcmp(e->name, "window_end") ? 1 : 2;
            out = jcol(pa->win_first + off, e->name);
            goto done;
        }
        if (e->kind == SE_CALL && is_agg(e->fn)) {
            aggs tmp = {.n = 0};
            json_t *b = bind(c, e, pa->pre, &tmp, NULL);
            for (int i = 0; i < tmp.n; i++)
                free(tmp.key[i]);
            if (!b)
                goto done;
            char *k = dump(b);
            json_decref(b);
            for (int i = 0; i < pa->a->n; i++)
                if (k && !strcmp(k, pa->a->key[i]))
                    out = jcol(pa->nkeys + (pa->win_first >= 0 ? 3 : 0) + i, "agg");
            free(k);
            if (!out)
                fail(c, e->pos, WEIR_EINTERNAL, "aggregate not collected");
            goto done;
        }
        if (e->kind != SE_LIT) {
            weir_error saved = *c->err;
            json_t *b = bind(c, e, pa->pre, NULL, NULL);
            if (b) {
                char *k = dump(b);
                json_decref(b);
                for (int i = 0; i < pa->nkeys; i++)
                    if (k && !strcmp(k, pa->key_json[i]))
                        out = jcol(i, pa->out->cols[i].name);
                free(k);
                if (out)
                    goto done;
            } else
                *c->err = saved;
            if (e->kind == SE_IDENT) {
                fail(c, e->pos, WEIR_EINVAL,
                     "expression '%s' is neither in GROUP BY nor inside an aggregate function",
                     e->name);
                goto done;
            }
        }
    }
    switch (e->kind) {
    case SE_LIT: {
        json_t *v = NULL;
        const char *t = e->lit_type;
        if (!strcmp(t, "NULL"))
            v = json_null();
        else if (!strcmp(t, "BOOLEAN"))
            v = json_boolean(!strcmp(e->text, "TRUE"));
        else
            v = json_string(e->text);
        out = jlit(t, v);
        break;
    }
    case SE_IDENT: {
        int ix = 0;
        if (!resolve(c, e, scope, &ix))
            out = jcol(ix, scope->cols[ix].name); /* t.p.f and p.f name the same column */
        break;
    }
    case SE_INTERVAL:
        fail(c, e->pos, WEIR_EUNSUPPORTED,
             "an INTERVAL is only supported as a window size or added to a timestamp");
        break;
    case SE_SUBQUERY:
        fail(c, e->pos, WEIR_EUNSUPPORTED, "subqueries in expressions are not supported yet");
        break;
    case SE_CAST: {
        json_t *args = bind_args(c, e, scope, collect, pa);
        if (!args)
            break;
        out = json_pack("{s:s, s:s, s:s, s:o}", "kind", "call", "fn",
                        e->try_cast ? "TRY_CAST" : "CAST", "type", e->type, "args", args);
        break;
    }
    case SE_CALL: {
        if (is_agg(e->fn)) {
            if (!collect) {
                fail(c, e->pos, WEIR_EINVAL, "aggregate function %s is not allowed here", e->fn);
                break;
            }
            if ((e->star && (strcmp(e->fn, "COUNT") || e->distinct)) ||
                (!e->star && e->nargs != 1)) {
                fail(c, e->pos, WEIR_EINVAL, "%s takes one argument", e->fn);
                break;
            }
            for (int i = 0; i < e->nargs; i++)
                if (e->args[i]->kind == SE_CALL && is_agg(e->args[i]->fn)) {
                    fail(c, e->args[i]->pos, WEIR_EINVAL, "aggregate functions cannot be nested");
                    return NULL;
                }
            /* Record it; the value itself is bound again after the aggregation. */
            json_t *args = bind_args(c, e, scope, NULL, NULL);
            if (!args)
                break;
            out = json_pack("{s:s, s:s, s:o, s:b}", "kind", "agg", "fn", e->fn, "args", args,
                            "star", e->star);
            char *k = dump(out);
            bool seen = false;
            for (int i = 0; i < collect->n; i++)
                if (k && !strcmp(k, collect->key[i]))
                    seen = true;
            if (!seen && collect->n < 64) {
                collect->list[collect->n] = e;
                collect->key[collect->n++] = k;
            } else
                free(k);
            break;
        }
        /* timestamp +/- INTERVAL -> TIMESTAMPADD */
        if ((!strcmp(e->fn, "PLUS") || !strcmp(e->fn, "MINUS")) && e->nargs == 2 &&
            (e->args[0]->kind == SE_INTERVAL || e->args[1]->kind == SE_INTERVAL)) {
            const sql_expr *iv = e->args[1]->kind == SE_INTERVAL ? e->args[1] : e->args[0];
            const sql_expr *ts = iv == e->args[1] ? e->args[0] : e->args[1];
            if (iv == e->args[0] && !strcmp(e->fn, "MINUS")) {
                fail(c, e->pos, WEIR_ETYPE, "cannot subtract a timestamp from an interval");
                break;
            }
            json_t *t = bind(c, ts, scope, collect, pa);
            if (!t)
                break;
            long long n = !strcmp(e->fn, "MINUS") ? -iv->amount : iv->amount;
            out =
                jcall("TIMESTAMPADD", json_pack("[o, o, o]", jlit("STRING", json_string(iv->unit)),
                                                jlit("BIGINT", json_integer(n)), t));
            break;
        }
        json_t *args = bind_args(c, e, scope, collect, pa);
        if (!args)
            break;
        if (e->star) {
            json_decref(args);
            fail(c, e->pos, WEIR_EINVAL, "%s(*) is only valid for COUNT", e->fn);
            break;
        }
        out = jcall(e->fn, args);
        break;
    }
    }
done:
    c->depth--;
    return out;
}

/* Binds and types an expression (no aggregates). */
static json_t *bind_typed(ctx *c, const sql_expr *e, const rel *scope, rt_type *t)
{
    json_t *j = bind(c, e, scope, NULL, NULL);
    if (j && type_of(c, j, scope, e->pos, t)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* --- operators -------------------------------------------------------------------------------- */

static int add_op(ctx *c, json_t *op)
{
    if (!op || json_array_append_new(c->ops, op))
        return weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
    return 0;
}

/* A calc over `in` with projection items (name, json) and a filter; *out describes it. */
static int emit_calc(ctx *c, const rel *in, json_t *proj, json_t *filter, const char **names,
                     const rt_type *types, int n, rel *out)
{
    json_t *op = json_pack("{s:s, s:s, s:s}", "type", "calc", "input", in->op, "id", "");
    char id[64];
    new_id(c, "calc", id, sizeof(id));
    json_object_set_new(op, "id", json_string(id));
    if (proj)
        json_object_set_new(op, "projection", proj);
    if (filter)
        json_object_set_new(op, "filter", filter);
    int rc = add_op(c, op);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    snprintf(out->op, sizeof(out->op), "%s", id);
    snprintf(out->qual, sizeof(out->qual), "%s", in->qual);
    if (!proj)
        return rel_copy(out, in) ? WEIR_ENOMEM : (snprintf(out->op, sizeof(out->op), "%s", id), 0);
    for (int i = 0; i < n; i++)
        if (rel_add(out, names[i], types[i]))
            return weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
    return 0;
}

/* Checks a connector's options now, so errors point at the table's WITH clause. */
static int check_connector(ctx *c, const sql_stmt *t, const rel *schema_rel, bool source)
{
    const sql_option *copt = NULL;
    const char *conn = option(t, "connector", &copt);
    if (!conn)
        return fail(c, t->name_pos, WEIR_EINVAL, "table '%s' has no 'connector' option", t->name);
    const void *ops =
        source ? (const void *)rt_connector_source(conn) : (const void *)rt_connector_sink(conn);
    static const char *const later[] = {"kafka",     "upsert-kafka",    "filesystem", "iceberg",
                                        "jdbc",      "elasticsearch-7", "hudi",       "paimon",
                                        "mysql-cdc", "postgres-cdc",    "kinesis",    "pulsar",
                                        NULL};
    if (!ops && c->lenient)
        for (const char *const *l = later; *l; l++)
            if (!strcmp(conn, *l)) {
                char note[300];
                snprintf(note, sizeof(note),
                         "%s:%d:%d: connector '%s' of table '%s' is accepted as known but not "
                         "runnable yet; its options are not checked",
                         c->s->file, copt->vpos.line, copt->vpos.col, conn, t->name);
                json_array_append_new(c->notes, json_string(note));
                return 0;
            }
    if (!ops) {
        bool other = source ? rt_connector_sink(conn) != NULL : rt_connector_source(conn) != NULL;
        if (other)
            return fail(c, copt->vpos, WEIR_EINVAL, "connector '%s' cannot be used as a %s", conn,
                        source ? "source" : "sink");
        return fail(c, copt->vpos, WEIR_EUNSUPPORTED,
                    "connector '%s' is not supported yet (this build has datagen, print and "
                    "blackhole; kafka and filesystem are planned)",
                    conn);
    }
    rt_schema *s = rt_schema_new((uint32_t)schema_rel->ncols);
    json_t *opts = json_object();
    int rc = 0;
    if (!s || !opts) {
        rc = weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < schema_rel->ncols; i++) {
        s->names[i] = strdup(schema_rel->cols[i].name);
        s->types[i] = schema_rel->cols[i].type;
    }
    for (int i = 0; i < t->nopts; i++)
        if (strcmp(t->opts[i].key, "connector"))
            json_object_set_new(opts, t->opts[i].key, json_string(t->opts[i].value));
    void *self = NULL;
    weir_error ce = {0};
    if (source) {
        const rt_source_ops *so = ops;
        rc = so->create(s, opts, 0, 1, &self, &ce);
        if (!rc)
            so->destroy(self);
    } else {
        const rt_sink_ops *so = ops;
        rc = so->create(s, opts, 0, 1, &self, &ce);
        if (!rc)
            so->destroy(self);
    }
    if (rc) {
        /* point at the option the message names, else at the table */
        sql_pos where = t->name_pos;
        for (int i = 0; i < t->nopts; i++)
            if (strstr(ce.msg, t->opts[i].key) && strcmp(t->opts[i].key, "connector"))
                where = t->opts[i].pos;
        rc = fail(c, where, rc, "table '%s': %s", t->name, ce.msg);
    }
done:
    json_decref(opts);
    rt_schema_free(s);
    return rc;
}

/* The shared scan of a source table: source [-> calc] [-> watermark]. */
static int scan_table(ctx *c, table *tb, rel *out)
{
    if (tb->scanned)
        return rel_copy(out, &tb->scan) ? weir_error_set(c->err, WEIR_ENOMEM, "out of memory") : 0;
    const sql_stmt *t = tb->def;
    rel phys = {0};
    json_t *schema = json_array();
    int rc = 0;
    bool computed = false;
    for (int i = 0; i < t->ncols; i++) {
        const sql_column *col = &t->cols[i];
        if (col->computed) {
            computed = true;
            continue;
        }
        if (col->metadata) {
            rc = fail(c, col->pos, WEIR_EUNSUPPORTED,
                      "metadata column '%s': the connector '%s' has no metadata", col->name,
                      option(t, "connector", NULL) ? option(t, "connector", NULL) : "?");
            goto done;
        }
        rt_type ty;
        weir_error te = {0};
        if ((rc = rt_type_parse(col->type, &ty, &te))) {
            rc = fail(c, col->pos, rc, "column '%s': %s", col->name, te.msg);
            goto done;
        }
        if (rel_add(&phys, col->name, ty)) {
            rc = weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
            goto done;
        }
        json_array_append_new(schema,
                              json_pack("{s:s, s:s}", "name", col->name, "type", col->type));
    }
    if ((rc = check_connector(c, t, &phys, true)))
        goto done;
    json_t *opts = json_object();
    for (int i = 0; i < t->nopts; i++)
        if (strcmp(t->opts[i].key, "connector"))
            json_object_set_new(opts, t->opts[i].key, json_string(t->opts[i].value));
    char id[64];
    snprintf(id, sizeof(id), "source_%s", t->name);
    json_t *src = json_pack("{s:s, s:s, s:s, s:o, s:O}", "id", id, "type", "source", "connector",
                            option(t, "connector", NULL), "options", opts, "schema", schema);
    const char *sp = option(t, "scan.parallelism", NULL);
    if (sp && atoi(sp) > 0)
        json_object_set_new(src, "parallelism", json_integer(atoi(sp)));
    if ((rc = add_op(c, src)))
        goto done;
    snprintf(phys.op, sizeof(phys.op), "%s", id);
    snprintf(phys.qual, sizeof(phys.qual), "%s", t->name);
    rel cur = phys;
    phys.cols = NULL;
    if (computed) {
        json_t *proj = json_array();
        const char *names[MAX_COLS];
        rt_type types[MAX_COLS];
        int n = 0;
        for (int i = 0; i < cur.ncols && n < MAX_COLS; i++, n++) {
            names[n] = cur.cols[i].name;
            types[n] = cur.cols[i].type;
            json_array_append_new(
                proj, json_pack("{s:s, s:o}", "name", names[n], "expr", jcol(i, names[n])));
        }
        for (int i = 0; i < t->ncols && n < MAX_COLS; i++) {
            if (!t->cols[i].computed)
                continue;
            json_t *e = bind_typed(c, t->cols[i].computed, &cur, &types[n]);
            if (!e) {
                json_decref(proj);
                rc = c->err->code;
                rel_free(&cur);
                goto done;
            }
            names[n] = t->cols[i].name;
            json_array_append_new(proj, json_pack("{s:s, s:o}", "name", names[n], "expr", e));
            n++;
        }
        rel next;
        rc = emit_calc(c, &cur, proj, NULL, names, types, n, &next);
        rel_free(&cur);
        if (rc)
            goto done;
        cur = next;
    }
    if (t->wm_col) {
        int ix = -1;
        for (int i = 0; i < cur.ncols; i++)
            if (!strcmp(cur.cols[i].name, t->wm_col))
                ix = i;
        if (ix < 0) {
            rc = fail(c, t->wm_pos, WEIR_EINVAL, "WATERMARK FOR '%s': no such column", t->wm_col);
            rel_free(&cur);
            goto done;
        }
        rt_type rt = cur.cols[ix].type;
        if (rt.kind != RT_TIMESTAMP && rt.kind != RT_TIMESTAMP_LTZ) {
            char tb[64];
            rc = fail(c, t->wm_pos, WEIR_ETYPE,
                      "WATERMARK FOR '%s': the rowtime column must be TIMESTAMP(3) or "
                      "TIMESTAMP_LTZ(3), not %s",
                      t->wm_col, type_name(rt, tb, sizeof(tb)));
            rel_free(&cur);
            goto done;
        }
        /* supported strategies: ts, ts - INTERVAL 'n' UNIT */
        const sql_expr *w = t->wm_expr;
        long long delay = -1;
        static const long long unit_ms[] = {1, 1000, 60000, 3600000, 86400000, 604800000};
        static const char *const unit_names[] = {"MILLISECOND", "SECOND", "MINUTE",
                                                 "HOUR",        "DAY",    "WEEK"};
        if (w->kind == SE_IDENT && !strcmp(w->name, t->wm_col))
            delay = 0;
        else if (w->kind == SE_CALL && !strcmp(w->fn, "MINUS") && w->nargs == 2 &&
                 w->args[0]->kind == SE_IDENT && !strcmp(w->args[0]->name, t->wm_col) &&
                 w->args[1]->kind == SE_INTERVAL) {
            for (int u = 0; u < 6; u++)
                if (!strcmp(w->args[1]->unit, unit_names[u]))
                    delay = w->args[1]->amount * unit_ms[u];
        }
        if (delay < 0) {
            rc = fail(c, w->pos, WEIR_EUNSUPPORTED,
                      "watermark strategy not supported yet: use '%s' or '%s - INTERVAL ...'",
                      t->wm_col, t->wm_col);
            rel_free(&cur);
            goto done;
        }
        char id2[64];
        new_id(c, "watermark", id2, sizeof(id2));
        json_t *wop =
            json_pack("{s:s, s:s, s:s, s:s, s:I}", "id", id2, "type", "watermark", "input", cur.op,
                      "rowtime", t->wm_col, "delayMs", (json_int_t)delay);
        const char *idle = setting(c, "table.exec.source.idle-timeout");
        long long idle_ms = 0;
        if (idle && config_parse_duration_ms(idle, &idle_ms) == 0 && idle_ms > 0)
            json_object_set_new(wop, "idleTimeoutMs", json_integer(idle_ms));
        if ((rc = add_op(c, wop))) {
            rel_free(&cur);
            goto done;
        }
        snprintf(cur.op, sizeof(cur.op), "%s", id2);
        cur.cols[ix].type.rowtime = 1;
    }
    tb->scan = cur;
    tb->scanned = true;
    rc = rel_copy(out, &tb->scan) ? weir_error_set(c->err, WEIR_ENOMEM, "out of memory") : 0;
done:
    rel_free(&phys);
    json_decref(schema);
    return rc;
}

/* --- queries -------------------------------------------------------------------------------- */

static int plan_query(ctx *c, const sql_query *q, rel *out);
static int agg_phases(ctx *c, sql_pos pos, bool win, bool distinct, const char *input, bool *two,
                      long long *flush_rows, long long *flush_ms);
static int split_agg(ctx *c, json_t *op, bool win, long long flush_rows, long long flush_ms);

static int plan_from(ctx *c, const sql_from *f, rel *out)
{
    int rc;
    if (f->kind == SF_SUBQUERY)
        rc = plan_query(c, f->sub, out);
    else {
        const char *name = f->kind == SF_WINDOW ? f->wsrc->name : f->name;
        sql_pos pos = f->kind == SF_WINDOW ? f->wsrc->pos : f->pos;
        int ci = find_cte(c, name); /* WITH queries shadow tables and views */
        const sql_stmt *cte = ci >= 0 ? c->ctes[ci] : NULL;
        table *tb = cte ? NULL : find_table(c, name);
        const sql_stmt *v = cte ? cte : tb ? NULL : find_view(c, name);
        if (tb)
            rc = scan_table(c, tb, out);
        else if (v) {
            /* a WITH query sees only the WITH queries before it (not itself: WITH is not
             * recursive), then the script's tables and views */
            int saved = c->nctes;
            if (cte)
                c->nctes = ci;
            rc = plan_query(c, v->query, out);
            c->nctes = saved;
            if (!rc)
                snprintf(out->qual, sizeof(out->qual), "%s", v->name);
            for (int i = 0; !rc && i < v->ninsert_cols && i < out->ncols; i++)
                snprintf(out->cols[i].name, sizeof(out->cols[i].name), "%s", v->insert_cols[i]);
        } else
            return fail(c, pos, WEIR_EINVAL, "table or view '%s' not found", name);
    }
    if (!rc && f->alias)
        snprintf(out->qual, sizeof(out->qual), "%s", f->alias);
    return rc;
}

static bool interval_ms(const sql_expr *e, long long *ms)
{
    static const char *const names[] = {"MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK"};
    static const long long mult[] = {1, 1000, 60000, 3600000, 86400000, 604800000};
    if (e->kind != SE_INTERVAL)
        return false;
    for (int i = 0; i < 6; i++)
        if (!strcmp(e->unit, names[i])) {
            *ms = e->amount * mult[i];
            return *ms > 0 || (*ms == 0 && false);
        }
    return false;
}

static bool same_ident(const sql_expr *e, const char *name)
{
    return e->kind == SE_IDENT && !strcmp(e->name, name);
}

static const char *item_name(const sql_item *it, int i, char *buf, size_t n)
{
    if (it->alias)
        return it->alias;
    if (it->expr->kind == SE_IDENT)
        return it->expr->name;
    snprintf(buf, n, "EXPR$%d", i);
    return buf;
}

static int emit_distinct(ctx *c, const rel *in, rel *out);

static int plan_aggregate(ctx *c, const sql_query *q, const rel *in, rel *out)
{
    const sql_from *f = q->from;
    bool win = f->kind == SF_WINDOW;
    int rc = 0, rowtime = -1;
    aggs a = {.n = 0};
    char *key_json[64] = {0};
    int nkeys = 0;
    bool has_ws = false, has_we = false;
    json_t *proj = json_array(), *filter = NULL;
    const char *names[MAX_COLS];
    rt_type types[MAX_COLS];
    char namebuf[MAX_COLS][32];
    int n = 0;
    rel pre = {0}, agg = {0};
    if (win) {
        for (int i = 0; i < in->ncols; i++)
            if (!strcmp(in->cols[i].name, f->timecol))
                rowtime = i;
        if (rowtime < 0) {
            rc = fail(c, f->timecol_pos, WEIR_EINVAL, "DESCRIPTOR(%s): no such column", f->timecol);
            goto done;
        }
        if (!in->cols[rowtime].type.rowtime) {
            rc = fail(c, f->timecol_pos, WEIR_EINVAL,
                      "DESCRIPTOR(%s): '%s' is not a time attribute (declare WATERMARK FOR %s "
                      "in the table)",
                      f->timecol, f->timecol, f->timecol);
            goto done;
        }
    }
    for (int i = 0; i < q->ngroup; i++) {
        const sql_expr *g = q->group[i];
        if (win && same_ident(g, "window_start")) {
            has_ws = true;
            continue;
        }
        if (win && same_ident(g, "window_end")) {
            has_we = true;
            continue;
        }
        if (win && same_ident(g, "window_time"))
            continue;
        if (nkeys == 64) {
            rc = fail(c, g->pos, WEIR_ETOOBIG, "too many GROUP BY keys");
            goto done;
        }
        rt_type t;
        json_t *j = bind_typed(c, g, in, &t);
        if (!j) {
            rc = c->err->code;
            goto done;
        }
        key_json[nkeys++] = dump(j);
        snprintf(namebuf[n], sizeof(namebuf[n]), "%s", g->kind == SE_IDENT ? g->name : "$key");
        if (g->kind != SE_IDENT)
            snprintf(namebuf[n], sizeof(namebuf[n]), "$k%d", nkeys - 1);
        names[n] = namebuf[n];
        types[n] = t;
        types[n].rowtime = 0;
        json_array_append_new(proj, json_pack("{s:s, s:o}", "name", names[n], "expr", j));
        n++;
    }
    if (win && (!has_ws || !has_we)) {
        rc = fail(c, q->pos, WEIR_EINVAL,
                  "a window aggregation must GROUP BY window_start and window_end");
        goto done;
    }
    /* aggregates of the SELECT list and HAVING */
    for (int i = 0; i < q->nitems; i++) {
        if (!q->items[i].expr) {
            rc = fail(c, q->items[i].pos, WEIR_EINVAL, "SELECT * is not allowed with GROUP BY");
            goto done;
        }
        json_t *j = bind(c, q->items[i].expr, in, &a, NULL);
        if (!j && !(win && c->err->code == WEIR_EINVAL)) {
            rc = c->err->code;
            goto done;
        }
        json_decref(j);
        weir_error_clear(c->err);
    }
    if (q->having) {
        json_t *j = bind(c, q->having, in, &a, NULL);
        json_decref(j);
        weir_error_clear(c->err);
    }
    /* COUNT(DISTINCT x) as the only aggregate: distinct (keys, x) first, then COUNT(x) of
     * that changelog per key (NULLs are not counted, as COUNT(DISTINCT) does not) */
    bool count_distinct = false, any_distinct = false;
    for (int i = 0; i < a.n; i++)
        any_distinct |= a.list[i]->distinct;
    /* (kept as it was planned before DISTINCT aggregates ran in the engine, so savepoints of
     * such jobs restore; every other DISTINCT aggregate is the engine's) */
    count_distinct = any_distinct && a.n == 1 && !win && !strcmp(a.list[0]->fn, "COUNT");
    json_t *aggdefs = json_array();
    for (int i = 0; i < a.n; i++) {
        const sql_expr *e = a.list[i];
        json_t *arg = json_null();
        if (!e->star) {
            rt_type t;
            json_t *j = bind_typed(c, e->args[0], in, &t);
            if (!j) {
                json_decref(aggdefs);
                rc = c->err->code;
                goto done;
            }
            snprintf(namebuf[n], sizeof(namebuf[n]), "$a%d", i);
            names[n] = namebuf[n];
            types[n] = t;
            types[n].rowtime = 0;
            json_array_append_new(proj, json_pack("{s:s, s:o}", "name", names[n], "expr", j));
            arg = json_integer(n);
            n++;
        }
        char an[32];
        snprintf(an, sizeof(an), "$agg%d", i);
        json_t *def = json_pack("{s:s, s:o, s:s}", "fn", e->fn, "arg", arg, "name", an);
        if (e->distinct && !count_distinct) /* the engine keeps the distinct values */
            json_object_set_new(def, "distinct", json_true());
        json_array_append_new(aggdefs, def);
    }
    if (win) {
        names[n] = f->timecol;
        types[n] = in->cols[rowtime].type;
        json_array_append_new(
            proj, json_pack("{s:s, s:o}", "name", names[n], "expr", jcol(rowtime, f->timecol)));
        n++;
    }
    if (q->where && !(filter = bind_typed(c, q->where, in, NULL))) {
        json_decref(aggdefs);
        rc = c->err->code;
        goto done;
    }
    if (n == 0) { /* only COUNT(*) and no keys: a calc produces at least one column */
        names[n] = "$row";
        types[n] = rt_type_of(RT_BOOLEAN);
        types[n].nullable = 0;
        json_array_append_new(proj, json_pack("{s:s, s:o}", "name", names[n], "expr",
                                              jlit("BOOLEAN NOT NULL", json_true())));
        n++;
    }
    if ((rc = emit_calc(c, in, proj, filter, names, types, n, &pre))) {
        json_decref(aggdefs);
        proj = NULL;
        goto done;
    }
    proj = NULL;
    const char *agg_input = pre.op;
    rel uniq = {0};
    if (count_distinct) {
        if ((rc = emit_distinct(c, &pre, &uniq))) {
            json_decref(aggdefs);
            goto done;
        }
        agg_input = uniq.op;
    }
    json_t *keyidx = json_array();
    for (int i = 0; i < nkeys; i++)
        json_array_append_new(keyidx, json_integer(i));
    char id[64];
    new_id(c, win ? "window" : "group", id, sizeof(id));
    json_t *op = json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", id, "type",
                           win ? "window_aggregate" : "group_aggregate", "input", agg_input, "keys",
                           keyidx, "aggregates", aggdefs);
    rel_free(&uniq);
    if (win) {
        long long v[3] = {0, 0, 0};
        for (int i = 0; i < f->nwargs; i++)
            if (!interval_ms(f->wargs[i], &v[i])) {
                rc = fail(c, f->wargs[i]->pos, WEIR_EUNSUPPORTED,
                          "window sizes are INTERVALs of milliseconds to weeks, e.g. INTERVAL "
                          "'1' MINUTE");
                json_decref(op);
                goto done;
            }
        bool tumble = !strcmp(f->wfn, "TUMBLE");
        int need = tumble ? 1 : 2;
        if (f->nwargs < need || f->nwargs > need + 1) {
            rc = fail(c, f->pos, WEIR_EINVAL, "%s takes TABLE, DESCRIPTOR and %s", f->wfn,
                      tumble ? "a size [, offset]"
                             : (!strcmp(f->wfn, "HOP") ? "a slide and a size [, offset]"
                                                       : "a step and a size [, offset]"));
            json_decref(op);
            goto done;
        }
        json_t *w = json_object();
        json_object_set_new(w, "kind",
                            json_string(tumble                   ? "tumble"
                                        : !strcmp(f->wfn, "HOP") ? "hop"
                                                                 : "cumulate"));
        if (tumble)
            json_object_set_new(w, "sizeMs", json_integer(v[0]));
        else {
            json_object_set_new(w, "sizeMs", json_integer(v[1]));
            json_object_set_new(w, !strcmp(f->wfn, "HOP") ? "slideMs" : "stepMs",
                                json_integer(v[0]));
        }
        if (f->nwargs == need + 1)
            json_object_set_new(w, "offsetMs", json_integer(v[need]));
        json_object_set_new(op, "window", w);
        json_object_set_new(op, "rowtime", json_string(f->timecol));
    }
    if (nkeys == 0) /* a global aggregation: one subtask sees every row */
        json_object_set_new(op, "parallelism", json_integer(1));
    bool two = false;
    long long flush_rows = 0, flush_ms = 0;
    if ((rc = agg_phases(c, q->pos, win, any_distinct, agg_input, &two, &flush_rows, &flush_ms))) {
        json_decref(op);
        goto done;
    }
    if (two && (rc = split_agg(c, op, win, flush_rows, flush_ms)))
        goto done;
    if ((rc = add_op(c, op)))
        goto done;
    /* the aggregation's output relation */
    snprintf(agg.op, sizeof(agg.op), "%s", id);
    snprintf(agg.qual, sizeof(agg.qual), "%s", in->qual);
    for (int i = 0; i < nkeys; i++)
        rel_add(&agg, pre.cols[i].name, pre.cols[i].type);
    if (win) {
        rt_type ts = rt_type_timestamp(3);
        ts.nullable = 0;
        rel_add(&agg, "window_start", ts);
        rel_add(&agg, "window_end", ts);
        rt_type wt = in->cols[rowtime].type;
        wt.nullable = 0;
        wt.precision = 3;
        rel_add(&agg, "window_time", wt);
    }
    for (int i = 0; i < a.n; i++) {
        const sql_expr *e = a.list[i];
        rt_type t = rt_type_of(RT_BIGINT);
        if (!strcmp(e->fn, "COUNT"))
            t.nullable = 0;
        else {
            int ai = nkeys;
            for (int k = 0; k < i; k++)
                ai += !a.list[k]->star;
            t = pre.cols[ai].type;
            t.nullable = 1;
            /* Flink's findSumAggType / findAvgAggType (the same rule as plan.c's agg_type) */
            if (!strcmp(e->fn, "SUM") && t.kind == RT_DECIMAL)
                t = rt_dec_sum_type(t.scale);
            if (!strcmp(e->fn, "AVG") && t.kind == RT_DECIMAL)
                t = rt_dec_avg_type(t.scale);
            if ((!strcmp(e->fn, "SUM") || !strcmp(e->fn, "AVG")) && !rt_type_is_numeric(t)) {
                char tb[64];
                rc = fail(c, e->pos, WEIR_ETYPE, "%s needs a numeric argument, not %s", e->fn,
                          type_name(t, tb, sizeof(tb)));
                goto done;
            }
        }
        char an[32];
        snprintf(an, sizeof(an), "$agg%d", i);
        rel_add(&agg, an, t);
    }
    /* post projection: the SELECT list (and HAVING) over the aggregation's output */
    post pa = {.pre = in,
               .key_json = key_json,
               .nkeys = nkeys,
               .a = &a,
               .out = &agg,
               .win_first = win ? nkeys : -1};
    proj = json_array();
    n = 0;
    for (int i = 0; i < q->nitems; i++) {
        const sql_item *it = &q->items[i];
        json_t *j = bind(c, it->expr, in, NULL, &pa);
        if (!j) {
            rc = c->err->code;
            goto done;
        }
        if ((rc = type_of(c, j, &agg, it->expr->pos, &types[n]))) {
            json_decref(j);
            goto done;
        }
        names[n] = item_name(it, i, namebuf[n], sizeof(namebuf[n]));
        for (int k = 0; k < n; k++)
            if (!strcmp(names[k], names[n])) {
                json_decref(j);
                rc = fail(c, it->pos, WEIR_EINVAL, "the column name '%s' appears twice", names[n]);
                goto done;
            }
        json_array_append_new(proj, json_pack("{s:s, s:o}", "name", names[n], "expr", j));
        n++;
    }
    filter = NULL;
    if (q->having) {
        if (!(filter = bind(c, q->having, in, NULL, &pa))) {
            rc = c->err->code;
            goto done;
        }
        rt_type ht;
        if ((rc = type_of(c, filter, &agg, q->having->pos, &ht))) {
            json_decref(filter);
            goto done;
        }
        if (ht.kind != RT_BOOLEAN) {
            json_decref(filter);
            rc = fail(c, q->having->pos, WEIR_ETYPE, "HAVING must be BOOLEAN");
            goto done;
        }
    }
    rc = emit_calc(c, &agg, proj, filter, names, types, n, out);
    proj = NULL;
done:
    json_decref(proj);
    for (int i = 0; i < 64; i++)
        free(key_json[i]);
    for (int i = 0; i < a.n; i++)
        free(a.key[i]);
    rel_free(&pre);
    rel_free(&agg);
    return rc;
}

static bool has_agg(const sql_expr *e)
{
    if (!e)
        return false;
    if (e->kind == SE_CALL && is_agg(e->fn))
        return true;
    for (int i = 0; i < e->nargs; i++)
        if (has_agg(e->args[i]))
            return true;
    return false;
}

static int plan_select(ctx *c, const sql_query *q, rel *out);

static int emit_union(ctx *c, const sql_query *first, rel *br, int n, rel *out);

/* UNION [ALL] of q and the branches after it. Consecutive UNION ALL branches become one union
 * operator (docs/plan.md): its consumer reads every branch, as Flink's union is several input
 * edges into one consumer. UNION [DISTINCT] is left-associative: the branches up to the last
 * one joined by it go through one union and a DISTINCT (as SELECT DISTINCT plans it), then
 * the rest join that with UNION ALL. */
static int plan_union(ctx *c, const sql_query *q, rel *out)
{
    int n = 0, last_distinct = -1, rc = 0;
    rel u = {0}, d = {0};
    for (const sql_query *b = q; b; b = b->union_all)
        n++;
    rel *br = calloc((size_t)n, sizeof(rel));
    const sql_query **bq = calloc((size_t)n, sizeof(*bq));
    if (!br || !bq) {
        free(br);
        free(bq);
        return weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
    }
    n = 0;
    for (const sql_query *b = q; b; b = b->union_all) {
        if (b != q && b->union_distinct)
            last_distinct = n;
        bq[n++] = b;
    }
    for (int i = 0; i < n && !rc; i++) {
        rc = plan_select(c, bq[i], &br[i]);
        if (!rc && i > 0 && br[i].ncols != br[0].ncols)
            rc = fail(c, bq[i]->pos, WEIR_EINVAL,
                      "%s: this branch produces %d columns, the first produces %d",
                      bq[i]->union_distinct ? "UNION" : "UNION ALL", br[i].ncols, br[0].ncols);
    }
    if (rc)
        goto done;
    if (last_distinct < 0) {
        rc = emit_union(c, q, br, n, out);
        goto done;
    }
    /* branches 0..last_distinct: union, then distinct; the rest: UNION ALL with that */
    if ((rc = emit_union(c, q, br, last_distinct + 1, &u)))
        goto done;
    rc = emit_distinct(c, &u, &d);
    rel_free(&u);
    if (rc)
        goto done;
    if (last_distinct + 1 == n) {
        *out = d;
        goto done;
    }
    rel_free(&br[last_distinct]);
    br[last_distinct] = d;
    rc = emit_union(c, bq[last_distinct], br + last_distinct, n - last_distinct, out);
done:
    rel_free(&u);
    for (int i = 0; i < n; i++)
        rel_free(&br[i]);
    free(br);
    free(bq);
    return rc;
}

/* The common type of a and b as SQL's implicit widening has it (the expression compiler's
 * rule for COALESCE, i.e. for CASE and VALUES). False when there is none. */
static bool union_type(rt_type a, rt_type b, rt_type *out)
{
    if (rt_type_equal(a, b)) {
        *out = a;
        out->nullable = a.nullable || b.nullable;
        out->rowtime = a.rowtime && b.rowtime;
        out->proctime = a.proctime && b.proctime;
        return true;
    }
    rt_type in[2] = {a, b};
    json_t *e = jcall("COALESCE", json_pack("[o, o]", jcol(0, "a"), jcol(1, "b")));
    rt_expr *x = NULL;
    weir_error ee = {0};
    bool ok = e && rt_expr_compile(e, in, 2, "union", &x, &ee) == 0;
    json_decref(e);
    if (ok) {
        *out = rt_expr_type(x);
        out->nullable = a.nullable || b.nullable;
        out->rowtime = out->proctime = 0;
    }
    rt_expr_free(x);
    return ok;
}

/* One union operator over the planned branches br[0..n) (of the queries from `first` on, for
 * positions): the column types widened to the common ones (a cast calc on every branch that
 * needs it), names from the first branch; a rowtime attribute stays when every branch has it
 * in that column. */
static int emit_union(ctx *c, const sql_query *first, rel *br, int n, rel *out)
{
    int rc = 0;
    rt_type types[MAX_COLS];
    int ncols = br[0].ncols < MAX_COLS ? br[0].ncols : MAX_COLS;
    const sql_query *bq = first;
    for (int i = 0; i < ncols; i++)
        types[i] = br[0].cols[i].type;
    for (int k = 1; k < n; k++) {
        bq = bq ? bq->union_all : NULL;
        for (int i = 0; i < ncols; i++) {
            rt_type t = br[k].cols[i].type;
            if (!union_type(types[i], t, &types[i])) {
                char a[64], b[64];
                sql_pos at = bq && i < bq->nitems && bq->items[i].expr ? bq->items[i].pos
                             : bq                                      ? bq->pos
                                                                       : first->pos;
                return fail(c, at, WEIR_ETYPE,
                            "%s: column %d ('%s') is %s in this branch but %s in the "
                            "branches before, and they have no common type (expected numbers "
                            "with numbers, strings with strings, timestamps with timestamps)",
                            bq && bq->union_distinct ? "UNION" : "UNION ALL", i + 1,
                            br[k].cols[i].name, type_name(t, a, sizeof(a)),
                            type_name(types[i], b, sizeof(b)));
            }
        }
    }
    json_t *inputs = json_array();
    for (int k = 0; k < n && !rc; k++) {
        bool cast = false;
        for (int i = 0; i < ncols; i++)
            cast |= !rt_type_equal(br[k].cols[i].type, types[i]);
        if (!cast) {
            json_array_append_new(inputs, json_string(br[k].op));
            continue;
        }
        json_t *proj = json_array();
        const char *names[MAX_COLS];
        rt_type ct[MAX_COLS];
        for (int i = 0; i < ncols; i++) {
            char tb[64];
            json_t *e = jcol(i, br[k].cols[i].name);
            names[i] = br[k].cols[i].name;
            ct[i] = types[i];
            ct[i].nullable = br[k].cols[i].type.nullable;
            if (!rt_type_equal(br[k].cols[i].type, types[i]))
                e = json_pack("{s:s, s:s, s:s, s:[o]}", "kind", "call", "fn", "CAST", "type",
                              type_name(types[i], tb, sizeof(tb)), "args", e);
            else
                ct[i] = br[k].cols[i].type;
            json_array_append_new(proj, json_pack("{s:s, s:o}", "name", names[i], "expr", e));
        }
        rel casted = {0};
        rc = emit_calc(c, &br[k], proj, NULL, names, ct, ncols, &casted);
        if (!rc)
            json_array_append_new(inputs, json_string(casted.op));
        rel_free(&casted);
    }
    if (rc) {
        json_decref(inputs);
        return rc;
    }
    char id[64];
    new_id(c, "union", id, sizeof(id));
    if ((rc = add_op(c, json_pack("{s:s, s:s, s:o}", "id", id, "type", "union", "inputs", inputs))))
        return rc;
    memset(out, 0, sizeof(*out));
    snprintf(out->op, sizeof(out->op), "%s", id);
    snprintf(out->qual, sizeof(out->qual), "%s", br[0].qual);
    for (int i = 0; i < ncols; i++)
        if (rel_add(out, br[0].cols[i].name, types[i]))
            return weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
    return 0;
}

/* A query as a relation: one SELECT, or a UNION of several. (UNION ALL at the top of an
 * INSERT is planned by plan_insert as one pipeline per branch into the sink instead.) */
static int plan_query(ctx *c, const sql_query *q, rel *out)
{
    int n = push_ctes(c, q);
    if (n < 0)
        return weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
    int rc = q->union_all ? plan_union(c, q, out) : plan_select(c, q, out);
    c->nctes -= n;
    return rc;
}

static int plan_select_rows(ctx *c, const sql_query *q, rel *out);

/* Whether an aggregation is split into a local and a global phase (Flink's two-phase
 * aggregation, table.optimizer.agg-phase-strategy): a window aggregation unless ONE_PHASE; a
 * group aggregation only with mini-batch enabled (as Flink: its local phase buffers a
 * mini-batch) and unless ONE_PHASE. Never for a DISTINCT aggregate, and not where it cannot
 * pay: when the aggregation reads a union directly (the local phase would be a task of its own,
 * one exchange more). The local phase flushes after table.exec.mini-batch.size rows and
 * allow-latency after its first buffered row (a window one at the watermark). */
static int agg_phases(ctx *c, sql_pos pos, bool win, bool distinct, const char *input, bool *two,
                      long long *flush_rows, long long *flush_ms)
{
    const char *strategy = setting(c, "table.optimizer.agg-phase-strategy");
    const char *mb = setting(c, "table.exec.mini-batch.enabled");
    bool minibatch = mb && !strcasecmp(mb, "true");
    *two = false;
    if (minibatch) {
        const char *lat = setting(c, "table.exec.mini-batch.allow-latency");
        const char *size = setting(c, "table.exec.mini-batch.size");
        if (!lat || config_parse_duration_ms(lat, flush_ms) != 0 || *flush_ms <= 0)
            return fail(c, pos, WEIR_EINVAL,
                        "table.exec.mini-batch.enabled is true: set "
                        "table.exec.mini-batch.allow-latency to a duration > 0 (e.g. '2 s')");
        if (!size || (*flush_rows = strtoll(size, NULL, 10)) <= 0)
            return fail(c, pos, WEIR_EINVAL,
                        "table.exec.mini-batch.enabled is true: set table.exec.mini-batch.size "
                        "to a number of rows > 0 (e.g. '5000')");
    }
    if (strategy && !strcasecmp(strategy, "ONE_PHASE"))
        return 0;
    if (distinct || (!win && !minibatch))
        return 0;
    for (size_t i = 0; i < json_array_size(c->ops); i++) {
        json_t *o = json_array_get(c->ops, i);
        if (!strcmp(json_string_value(json_object_get(o, "id")), input) &&
            !strcmp(json_string_value(json_object_get(o, "type")), "union"))
            return 0;
    }
    *two = true;
    return 0;
}

/* Splits aggregation `op` (not yet added) into a local one, added now and reading op's input,
 * and op itself as the global one reading the local's partials (docs/plan.md). */
static int split_agg(ctx *c, json_t *op, bool win, long long flush_rows, long long flush_ms)
{
    char id[64];
    new_id(c, "local", id, sizeof(id));
    json_t *loc = json_deep_copy(op);
    if (!loc)
        return weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
    json_object_set_new(loc, "id", json_string(id));
    json_object_set_new(loc, "type",
                        json_string(win ? "local_window_aggregate" : "local_group_aggregate"));
    json_object_del(loc, "parallelism"); /* beside its input, not at the global's */
    if (flush_rows > 0)
        json_object_set_new(loc, "flushRows", json_integer(flush_rows));
    if (flush_ms > 0 && !win)
        json_object_set_new(loc, "flushMs", json_integer(flush_ms));
    if (add_op(c, loc))
        return c->err->code;
    static const char *const def[] = {"keys", "aggregates", "window", "rowtime", NULL};
    for (const char *const *k = def; *k; k++)
        json_object_del(op, *k);
    json_object_set_new(op, "input", json_string(id));
    return 0;
}

/* SELECT DISTINCT: a group_aggregate keyed by every column, without aggregates, as Flink plans
 * it. It emits a row the first time it is seen (+I) and nothing for repeats; after a
 * retraction of its last occurrence, -D. */
static int emit_distinct(ctx *c, const rel *in, rel *out)
{
    json_t *keys = json_array();
    for (int i = 0; i < in->ncols; i++)
        json_array_append_new(keys, json_integer(i));
    char id[64];
    new_id(c, "distinct", id, sizeof(id));
    json_t *op = json_pack("{s:s, s:s, s:s, s:o, s:[]}", "id", id, "type", "group_aggregate",
                           "input", in->op, "keys", keys, "aggregates");
    int rc = add_op(c, op);
    if (rc)
        return rc;
    if (rel_copy(out, in))
        return weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
    snprintf(out->op, sizeof(out->op), "%s", id);
    for (int i = 0; i < out->ncols; i++) /* a key is no event-time attribute any more */
        out->cols[i].type.rowtime = out->cols[i].type.proctime = 0;
    return 0;
}

/* One SELECT (ignoring q->union_all). */
static int plan_select(ctx *c, const sql_query *q, rel *out)
{
    if (!q->distinct)
        return plan_select_rows(c, q, out);
    rel rows = {0};
    int rc = plan_select_rows(c, q, &rows);
    if (!rc)
        rc = emit_distinct(c, &rows, out);
    rel_free(&rows);
    return rc;
}

/* One SELECT without DISTINCT. */
static int plan_select_rows(ctx *c, const sql_query *q, rel *out)
{
    if (++c->depth > 50) {
        c->depth--;
        return fail(c, q->pos, WEIR_ETOOBIG, "queries nested too deeply");
    }
    int rc;
    rel in = {0};
    if ((rc = plan_from(c, q->from, &in)))
        goto done;
    bool aggregate = q->ngroup > 0 || q->having;
    for (int i = 0; i < q->nitems; i++)
        aggregate |= has_agg(q->items[i].expr);
    if (q->where && has_agg(q->where)) {
        rc = fail(c, q->where->pos, WEIR_EINVAL, "aggregate functions are not allowed in WHERE");
        goto done;
    }
    if (aggregate || q->from->kind == SF_WINDOW) {
        if (q->from->kind == SF_WINDOW && !aggregate) {
            rc = fail(c, q->from->pos, WEIR_EUNSUPPORTED,
                      "a window table function is supported with GROUP BY window_start, "
                      "window_end only");
            goto done;
        }
        rc = plan_aggregate(c, q, &in, out);
        goto done;
    }
    /* projection + filter */
    json_t *proj = json_array(), *filter = NULL;
    const char *names[MAX_COLS];
    rt_type types[MAX_COLS];
    char namebuf[MAX_COLS][32];
    int n = 0;
    bool identity = true;
    for (int i = 0; i < q->nitems && n < MAX_COLS; i++) {
        const sql_item *it = &q->items[i];
        if (!it->expr) {
            if (it->star_qual && strcmp(it->star_qual, in.qual)) {
                json_decref(proj);
                rc = fail(c, it->pos, WEIR_EINVAL, "unknown table or alias '%s'", it->star_qual);
                goto done;
            }
            for (int k = 0; k < in.ncols && n < MAX_COLS; k++, n++) {
                names[n] = in.cols[k].name;
                types[n] = in.cols[k].type;
                identity &= k == n;
                json_array_append_new(
                    proj, json_pack("{s:s, s:o}", "name", names[n], "expr", jcol(k, names[n])));
            }
            continue;
        }
        int rf = 0, nrf = 0;
        if (it->expr->kind == SE_IDENT && !it->alias &&
            (!it->expr->qual || !strcmp(it->expr->qual, in.qual)) &&
            rel_find(&in, it->expr->name) < 0 && (nrf = row_fields(&in, it->expr->name, &rf)) > 0) {
            /* a whole ROW column: its fields, as * gives them */
            for (int k = rf; k < in.ncols && nrf > 0 && n < MAX_COLS; k++) {
                size_t l = strlen(it->expr->name);
                if (strncmp(in.cols[k].name, it->expr->name, l) || in.cols[k].name[l] != '.')
                    continue;
                names[n] = in.cols[k].name;
                types[n] = in.cols[k].type;
                identity &= k == n;
                json_array_append_new(
                    proj, json_pack("{s:s, s:o}", "name", names[n], "expr", jcol(k, names[n])));
                n++;
                nrf--;
            }
            continue;
        }
        json_t *j = bind_typed(c, it->expr, &in, &types[n]);
        if (!j) {
            json_decref(proj);
            rc = c->err->code;
            goto done;
        }
        names[n] = item_name(it, i, namebuf[n], sizeof(namebuf[n]));
        identity &= it->expr->kind == SE_IDENT &&
                    json_integer_value(json_object_get(j, "index")) == n &&
                    !strcmp(names[n], in.cols[n].name);
        json_array_append_new(proj, json_pack("{s:s, s:o}", "name", names[n], "expr", j));
        n++;
    }
    identity &= n == in.ncols;
    if (q->where) {
        rt_type ft;
        if (!(filter = bind_typed(c, q->where, &in, &ft))) {
            json_decref(proj);
            rc = c->err->code;
            goto done;
        }
        if (ft.kind != RT_BOOLEAN && ft.kind != RT_NULLTYPE) {
            char tb[64];
            json_decref(proj);
            json_decref(filter);
            rc = fail(c, q->where->pos, WEIR_ETYPE, "WHERE must be BOOLEAN, not %s",
                      type_name(ft, tb, sizeof(tb)));
            goto done;
        }
    }
    if (identity && !filter) {
        json_decref(proj);
        rc = rel_copy(out, &in) ? weir_error_set(c->err, WEIR_ENOMEM, "out of memory") : 0;
        goto done;
    }
    rc = emit_calc(c, &in, identity ? (json_decref(proj), NULL) : proj, filter, names, types, n,
                   out);
done:
    rel_free(&in);
    c->depth--;
    return rc;
}

/* --- statements ------------------------------------------------------------------------------ */

static bool assignable(rt_type from, rt_type to)
{
    if (from.kind == RT_NULLTYPE || rt_type_equal(from, to))
        return true;
    if (rt_type_is_numeric(from) && rt_type_is_numeric(to))
        return true;
    if (rt_type_is_string(from) && rt_type_is_string(to))
        return true;
    bool tf = from.kind == RT_TIMESTAMP || from.kind == RT_TIMESTAMP_LTZ;
    bool tt = to.kind == RT_TIMESTAMP || to.kind == RT_TIMESTAMP_LTZ;
    return (tf && tt) || from.kind == to.kind;
}

/* The sink of INSERT INTO `t` fed by the planned query `q` (of `query`, for positions): casts
 * to the sink's column types where they differ, then the sink operator. */
/* The sink of INSERT INTO t [(cols)] query: a calc casting (and, with a column list, placing)
 * the query's columns where the sink's types or names differ, then the sink. `map` (NULL: the
 * query's columns in order) gives for each sink column the query column it takes, or -1 for
 * NULL (a column the list leaves out). */
static int emit_sink(ctx *c, const sql_stmt *t, const sql_query *query, const rel *sinkcols_in,
                     rel *qp, const int *map, int nlist)
{
    int rc = 0;
    const rel sinkcols = *sinkcols_in;
    rel q = *qp;
    if (map && q.ncols != nlist) {
        rc = fail(c, query->pos, WEIR_EINVAL,
                  "the query produces %d columns but the column list names %d", q.ncols, nlist);
        goto done;
    }
    if (!map && q.ncols != sinkcols.ncols) {
        rc = fail(c, query->pos, WEIR_EINVAL, "the query produces %d columns but table '%s' has %d",
                  q.ncols, t->name, sinkcols.ncols);
        goto done;
    }
    /* casts to the sink's types where they differ */
    bool casts = false;
    json_t *proj = json_array();
    const char *names[MAX_COLS];
    rt_type types[MAX_COLS];
    for (int j = 0; j < sinkcols.ncols && j < MAX_COLS; j++) {
        int i = map ? map[j] : j;
        rt_type to = sinkcols.cols[j].type;
        names[j] = sinkcols.cols[j].name;
        types[j] = to;
        if (i < 0) { /* not in the column list: NULL, as Flink fills it */
            char tb[64];
            rt_type nt = to;
            nt.nullable = 1;
            casts = true;
            json_array_append_new(proj, json_pack("{s:s, s:o}", "name", names[j], "expr",
                                                  jlit(type_name(nt, tb, sizeof(tb)), NULL)));
            continue;
        }
        rt_type from = q.cols[i].type;
        json_t *e = jcol(i, q.cols[i].name);
        if (!assignable(from, to)) {
            char a[64], b[64];
            sql_pos at = i < query->nitems ? query->items[i].pos : query->pos;
            json_decref(e);
            json_decref(proj);
            rc = fail(c, at, WEIR_ETYPE, "column %d: cannot insert %s into %s column '%s' of '%s'",
                      i + 1, type_name(from, a, sizeof(a)), type_name(to, b, sizeof(b)), names[j],
                      t->name);
            goto done;
        }
        rt_type f2 = from, t2 = to;
        f2.nullable = t2.nullable = 1;
        f2.rowtime = f2.proctime = 0;
        if (!rt_type_equal(f2, t2) || strcmp(q.cols[i].name, names[j]) != 0 || i != j) {
            casts = true;
            char tb[64];
            if (!rt_type_equal(f2, t2))
                e = json_pack("{s:s, s:s, s:s, s:[o]}", "kind", "call", "fn", "CAST", "type",
                              type_name(to, tb, sizeof(tb)), "args", e);
        }
        json_array_append_new(proj, json_pack("{s:s, s:o}", "name", names[j], "expr", e));
    }
    const char *input = q.op;
    rel casted = {0};
    if (casts) {
        if ((rc = emit_calc(c, &q, proj, NULL, names, types, sinkcols.ncols, &casted)))
            goto done;
        input = casted.op;
    } else
        json_decref(proj);
    json_t *opts = json_object();
    for (int i = 0; i < t->nopts; i++)
        if (strcmp(t->opts[i].key, "connector"))
            json_object_set_new(opts, t->opts[i].key, json_string(t->opts[i].value));
    char id[64];
    new_id(c, "sink", id, sizeof(id));
    json_t *sink = json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", id, "type", "sink", "input", input,
                             "connector", option(t, "connector", NULL), "options", opts);
    const char *sp = option(t, "sink.parallelism", NULL);
    if (sp && atoi(sp) > 0)
        json_object_set_new(sink, "parallelism", json_integer(atoi(sp)));
    rc = add_op(c, sink);
    rel_free(&casted);
done:
    return rc;
}

static int plan_insert(ctx *c, const sql_stmt *st)
{
    table *tb = find_table(c, st->name);
    if (!tb)
        return fail(c, st->name_pos, WEIR_EINVAL, "table '%s' not found", st->name);
    const sql_stmt *t = tb->def;
    rel sinkcols = {0}, q = {0};
    int rc = 0;
    for (int i = 0; i < t->ncols; i++) {
        if (t->cols[i].computed || t->cols[i].metadata)
            continue;
        rt_type ty;
        weir_error te = {0};
        if ((rc = rt_type_parse(t->cols[i].type, &ty, &te))) {
            rc = fail(c, t->cols[i].pos, rc, "column '%s': %s", t->cols[i].name, te.msg);
            goto done;
        }
        rel_add(&sinkcols, t->cols[i].name, ty);
    }
    /* INSERT INTO t (a, c) ...: the query fills the listed columns, the others are NULL */
    int map[MAX_COLS], *mp = NULL, nlist = 0;
    if (st->ninsert_cols) {
        mp = map;
        for (int j = 0; j < sinkcols.ncols && j < MAX_COLS; j++)
            map[j] = -1;
        for (int k = 0; k < st->ninsert_cols; k++) {
            const char *name = st->insert_cols[k];
            int j = rel_find(&sinkcols, name), first = 0,
                nf = j < 0 ? row_fields(&sinkcols, name, &first) : 1;
            if (nf == 0 || j >= MAX_COLS || first + nf > MAX_COLS) {
                rc = fail(c, st->name_pos, WEIR_EINVAL,
                          "column '%s' in the column list is not a column of '%s'", name, t->name);
                goto done;
            }
            if (j < 0) /* a ROW column: its fields, in order */
                j = first;
            for (int f = 0; f < nf; f++) {
                if (map[j + f] >= 0) {
                    rc = fail(c, st->name_pos, WEIR_EINVAL,
                              "column '%s' appears twice in the column list", name);
                    goto done;
                }
                map[j + f] = nlist++;
            }
        }
        for (int j = 0; j < sinkcols.ncols && j < MAX_COLS; j++)
            if (map[j] < 0 && !sinkcols.cols[j].type.nullable) {
                rc = fail(c, st->name_pos, WEIR_EINVAL,
                          "column '%s' of '%s' is NOT NULL and not in the column list",
                          sinkcols.cols[j].name, t->name);
                goto done;
            }
    }
    if ((rc = check_connector(c, t, &sinkcols, false)))
        goto done;
    /* the query, or every branch of a UNION ALL (through a view read directly, too): each
     * branch is its own pipeline into the sink, as before unions could stand elsewhere (the
     * uids of existing jobs stay; elsewhere a union is one union operator, plan_union) */
    const sql_query *top = st->query;
    if (!top->union_all && top->from && top->from->kind == SF_TABLE && !top->where &&
        top->ngroup == 0 && !top->having && top->nitems == 1 && !top->items[0].expr &&
        !top->items[0].star_qual && !top->distinct) {
        const sql_stmt *v = find_view(c, top->from->name);
        if (v && v->query->union_all && v->ncols == 0)
            top = v->query; /* INSERT INTO t SELECT * FROM a_union_view */
    }
    bool distinct = false; /* UNION [DISTINCT] somewhere: one union operator, then the sink */
    for (const sql_query *b = top->union_all; b; b = b->union_all)
        distinct |= b->union_distinct;
    if (distinct) {
        if (!(rc = plan_query(c, top, &q)))
            rc = emit_sink(c, t, top, &sinkcols, &q, mp, nlist);
        goto done;
    }
    int first_ncols = -1, scoped = push_ctes(c, top); /* WITH applies to every branch */
    if (scoped < 0) {
        rc = weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
        goto done;
    }
    for (const sql_query *b = top; b; b = b->union_all) {
        rel_free(&q);
        memset(&q, 0, sizeof(q));
        if ((rc = plan_select(c, b, &q)))
            break;
        if (first_ncols >= 0 && q.ncols != first_ncols) {
            rc = fail(c, b->pos, WEIR_EINVAL,
                      "UNION ALL: this branch produces %d columns, the first produces %d", q.ncols,
                      first_ncols);
            break;
        }
        first_ncols = q.ncols;
        if ((rc = emit_sink(c, t, b, &sinkcols, &q, mp, nlist)))
            break;
    }
    c->nctes -= scoped;
done:
    rel_free(&sinkcols);
    rel_free(&q);
    return rc;
}

/* The planner's own settings are checked where they are SET (the job's are checked by the
 * runtime when it starts). */
/* Checks a planner setting; `pos` is the SET statement's, NULL for one from the configuration. */
static int check_setting(ctx *c, const char *key, const char *v, const sql_pos *pos)
{
    char msg[300] = "";
    long long n;
    if (!strcmp(key, "table.optimizer.agg-phase-strategy") && strcasecmp(v, "AUTO") &&
        strcasecmp(v, "ONE_PHASE") && strcasecmp(v, "TWO_PHASE"))
        snprintf(msg, sizeof(msg), "%s: '%s' is not one of AUTO, ONE_PHASE, TWO_PHASE", key, v);
    if (!strcmp(key, "table.exec.mini-batch.enabled") && strcasecmp(v, "true") &&
        strcasecmp(v, "false"))
        snprintf(msg, sizeof(msg), "%s: '%s' is not a boolean (true or false)", key, v);
    if ((!strcmp(key, "table.exec.mini-batch.allow-latency") ||
         !strcmp(key, "table.exec.source.idle-timeout")) &&
        config_parse_duration_ms(v, &n) != 0)
        snprintf(msg, sizeof(msg), "%s: '%s' is not a duration (e.g. '2 s', '500 ms')", key, v);
    if (!strcmp(key, "table.exec.mini-batch.size")) {
        char *end;
        errno = 0;
        n = strtoll(v, &end, 10);
        if (end == v || *end || errno)
            snprintf(msg, sizeof(msg), "%s: '%s' is not an integer", key, v);
    }
    if (!*msg)
        return 0;
    if (pos)
        return fail(c, *pos, WEIR_EINVAL, "%s", msg);
    return weir_error_set(c->err, WEIR_EINVAL, "%s: %s (from the configuration)", c->s->file, msg);
}

static int compile_script(ctx *c, const sql_script *s, json_t **plan)
{
    int rc = 0, inserts = 0;
    for (int i = 0; i < s->nstmts; i++) {
        const sql_stmt *st = s->stmts[i];
        switch (st->kind) {
        case SS_CREATE_TABLE:
        case SS_CREATE_VIEW:
            if (find_table(c, st->name) || find_view(c, st->name)) {
                if (st->if_not_exists)
                    break;
                return fail(c, st->name_pos, WEIR_EDUPLICATE, "'%s' is already defined", st->name);
            }
            if (st->kind == SS_CREATE_TABLE) {
                for (int k = 0; k < st->ncols; k++) {
                    rt_type ty;
                    weir_error te = {0};
                    if (st->cols[k].type && (rc = rt_type_parse(st->cols[k].type, &ty, &te)))
                        return fail(c, st->cols[k].pos, rc, "column '%s': %s", st->cols[k].name,
                                    te.msg);
                }
                table *nt = realloc(c->tables, (size_t)(c->ntables + 1) * sizeof(table));
                if (!nt)
                    return weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
                c->tables = nt;
                memset(&nt[c->ntables], 0, sizeof(table));
                nt[c->ntables++].def = st;
            } else {
                const sql_stmt **nv =
                    realloc(c->views, (size_t)(c->nviews + 1) * sizeof(sql_stmt *));
                if (!nv)
                    return weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
                c->views = nv;
                nv[c->nviews++] = st;
            }
            break;
        case SS_SET:
            if ((rc = check_setting(c, st->key, st->value, &st->pos)))
                return rc;
            json_object_set_new(c->settings, st->key, json_string(st->value));
            break;
        case SS_RESET:
            if (st->key)
                json_object_del(c->settings, st->key);
            else
                json_object_clear(c->settings);
            break;
        case SS_DROP:
            return fail(c, st->pos, WEIR_EUNSUPPORTED, "DROP is not supported in job scripts");
        case SS_EXPLAIN:
            json_object_set_new(c->settings, "weir.explain", json_string("true"));
            st = st->stmts[0];
            /* fall through */
        case SS_INSERT:
        case SS_STATEMENT_SET:
            if (st->kind == SS_INSERT) {
                if ((rc = plan_insert(c, st)))
                    return rc;
                inserts++;
            } else if (st->kind == SS_STATEMENT_SET) {
                for (int k = 0; k < st->nstmts; k++) {
                    if ((rc = plan_insert(c, st->stmts[k])))
                        return rc;
                    inserts++;
                }
            } else
                return fail(c, st->pos, WEIR_EUNSUPPORTED, "EXPLAIN works on INSERT statements");
            break;
        }
    }
    if (!inserts)
        return weir_error_set(c->err, WEIR_EINVAL,
                              "%s: the script has no INSERT INTO: there is no job to run", s->file);
    const char *name = json_string_value(json_object_get(c->settings, "pipeline.name"));
    *plan = json_pack("{s:i, s:s, s:O}", "version", RT_PLAN_VERSION, "name",
                      name ? name : "weir-sql-job", "operators", c->ops);
    const char *mp = json_string_value(json_object_get(c->settings, "pipeline.max-parallelism"));
    if (mp && atoi(mp) > 0)
        json_object_set_new(*plan, "maxParallelism", json_integer(atoi(mp)));
    return *plan ? 0 : weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
}

/* --- projection push-down ---------------------------------------------------------------------
 *
 * After planning, each source whose connector supports projection (create_projected) produces
 * only the declared columns the job reads (Flink's SupportsProjectionPushDown). The pass works
 * on the finished plan, loaded once to know every operator's columns:
 *
 *   1. A source is eligible when everything that reads its columns, directly or through
 *      pass-through operators (watermark, calc without projection), is a calc or a watermark
 *      without hash partitioning. Anything else (a sink, a union, an aggregation) reading it
 *      keeps the source as it is.
 *   2. Backwards over the plan, each operator's used output columns are collected from its
 *      consumers: a sink or union uses all, a watermark its rowtime and what passes through, an
 *      aggregation its keys, arguments and rowtime, a calc its filter and its projection items.
 *      The items of a calc reading an eligible source's columns count only when the item's
 *      output column is itself used (that is how an unread computed column drops out).
 *   3. An eligible source that does not need every declared column gets "projection" (those
 *      columns in declared order; at least one, for the row count), and the operators reading
 *      its columns are renumbered; their unused projection items become typed NULL literals.
 *      The source's uid does not include its projection (plan.c), and each renumbered reader
 *      gets the uid it has without push-down as its explicit "uid", so push-down changes no
 *      operator's uid.
 */

/* Marks the input columns expression `e` reads. */
static void expr_refs(const json_t *e, bool *reads, uint32_t n)
{
    const char *kind = json_string_value(json_object_get(e, "kind"));
    if (!kind)
        return;
    if (!strcmp(kind, "column")) {
        json_t *ix = json_object_get(e, "index");
        if (json_is_integer(ix) && json_integer_value(ix) >= 0 &&
            json_integer_value(ix) < (json_int_t)n)
            reads[json_integer_value(ix)] = true;
    } else if (!strcmp(kind, "call")) {
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(e, "args"), i, a) expr_refs(a, reads, n);
    }
}

/* Renumbers the column references of `e` in place (old index i -> map[i]). */
static void expr_renumber(json_t *e, const int *map)
{
    const char *kind = json_string_value(json_object_get(e, "kind"));
    if (!kind)
        return;
    if (!strcmp(kind, "column")) {
        json_int_t i = json_integer_value(json_object_get(e, "index"));
        json_object_set_new(e, "index", json_integer(map[i]));
    } else if (!strcmp(kind, "call")) {
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(e, "args"), i, a) expr_renumber(a, map);
    }
}

/* A renumbered copy (expressions may be shared between operators, so never in place). */
static json_t *expr_renumbered(const json_t *e, const int *map)
{
    json_t *c = json_deep_copy(e);
    if (c)
        expr_renumber(c, map);
    return c;
}

/* Rewrites operator `k` of `ops`, which reads the columns of a projected source; `map` gives
 * the new index of each old input column (-1: dropped); `used` its used output columns. */
static int renumber_reader(json_t *ops, const rt_plan_op *op, uint32_t k, const int *map,
                           const bool *used)
{
    json_t *jo = json_array_get(ops, k);
    if (op->type == RT_OP_WATERMARK) {
        json_t *rt = json_object_get(jo, "rowtime");
        if (json_is_integer(rt))
            json_object_set_new(jo, "rowtime", json_integer(map[json_integer_value(rt)]));
        return 0;
    }
    json_t *f = json_object_get(jo, "filter");
    if (f && !json_is_null(f) && json_object_set_new(jo, "filter", expr_renumbered(f, map)))
        return WEIR_ENOMEM;
    json_t *proj = json_object_get(jo, "projection");
    size_t j;
    json_t *item;
    json_array_foreach(proj, j, item)
    {
        json_t *e;
        if (used[j])
            e = expr_renumbered(json_object_get(item, "expr"), map);
        else {
            char tb[64];
            rt_type t = op->out->types[j];
            t.nullable = 1;
            t.rowtime = 0;
            t.proctime = 0;
            e = jlit(rt_type_format(t, tb, sizeof(tb)), NULL);
        }
        if (!e)
            return WEIR_ENOMEM;
        json_t *ni = json_pack("{s:O, s:o}", "name", json_object_get(item, "name"), "expr", e);
        if (!ni || json_array_set_new(proj, j, ni))
            return WEIR_ENOMEM;
    }
    return 0;
}

static int push_projections(json_t *plan, const char *file, weir_error *err)
{
    json_t *ops = json_object_get(plan, "operators");
    char *txt = json_dumps(plan, JSON_COMPACT);
    rt_plan *p = NULL;
    weir_error pe = {0};
    if (!txt)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    int rc = rt_plan_load(txt, strlen(txt), file, 1, &p, &pe);
    free(txt);
    if (rc) /* the final check reports it */
        return 0;
    uint32_t n = p->nops;
    int *root = calloc(n, sizeof(int));
    bool *ok = calloc(n, sizeof(bool));
    bool **used = calloc(n, sizeof(bool *));
    int *map = NULL;
    rc = 0;
    if (!root || !ok || !used)
        goto oom;
    for (uint32_t k = 0; k < n; k++)
        if (!(used[k] = calloc(p->ops[k].out->ncols + 1, sizeof(bool))))
            goto oom;
    /* 1. which operators carry a source's columns (root), and which sources are eligible */
    for (uint32_t k = 0; k < n; k++) {
        const rt_plan_op *op = &p->ops[k];
        root[k] = -1;
        if (op->type == RT_OP_SOURCE) {
            const rt_source_ops *so = rt_connector_source(op->connector);
            root[k] = (int)k;
            ok[k] = so && so->create_projected && !op->scan_cols;
            continue;
        }
        for (uint32_t i = 0; i < op->ninputs; i++)
            if (root[op->inputs[i]] >= 0)
                ok[root[op->inputs[i]]] = false;
        if (op->input < 0 || root[op->input] < 0)
            continue;
        int s = root[op->input];
        if ((op->type != RT_OP_CALC && op->type != RT_OP_WATERMARK) ||
            op->partition == RT_PART_HASH)
            ok[s] = false;
        if (op->type == RT_OP_WATERMARK || (op->type == RT_OP_CALC && !op->projection))
            root[k] = s;
    }
    /* 2. used output columns, from the consumers backwards */
    for (uint32_t k = n; k-- > 0;) {
        const rt_plan_op *op = &p->ops[k];
        for (uint32_t i = 0; i < op->ninputs; i++)
            for (uint32_t c = 0; c < p->ops[op->inputs[i]].out->ncols; c++)
                used[op->inputs[i]][c] = true;
        if (op->input < 0)
            continue;
        const rt_plan_op *in = &p->ops[op->input];
        bool *r = used[op->input];
        uint32_t w = in->out->ncols;
        bool prunable = root[op->input] >= 0 && ok[root[op->input]];
        switch (op->type) {
        case RT_OP_CALC:
            if (op->filter)
                expr_refs(op->filter, r, w);
            if (op->projection) {
                for (size_t j = 0; j < json_array_size(op->projection); j++)
                    if (!prunable || used[k][j])
                        expr_refs(json_object_get(json_array_get(op->projection, j), "expr"), r, w);
            } else
                for (uint32_t c = 0; c < w; c++)
                    r[c] |= used[k][c];
            break;
        case RT_OP_WATERMARK:
            for (uint32_t c = 0; c < w; c++)
                r[c] |= used[k][c];
            r[op->rowtime] = true;
            break;
        case RT_OP_WINDOW_AGG:
        case RT_OP_GROUP_AGG:
        case RT_OP_LOCAL_WINDOW_AGG:
        case RT_OP_LOCAL_GROUP_AGG:
            if (op->global) { /* reads every partial column */
                for (uint32_t c = 0; c < w; c++)
                    r[c] = true;
                break;
            }
            if (op->type == RT_OP_WINDOW_AGG || op->type == RT_OP_LOCAL_WINDOW_AGG)
                r[op->rowtime] = true;
            for (uint32_t i = 0; i < op->nkeys; i++)
                r[op->keys[i]] = true;
            for (uint32_t i = 0; i < op->naggs; i++)
                if (op->aggs[i].arg >= 0)
                    r[op->aggs[i].arg] = true;
            break;
        default: /* sinks write every column */
            for (uint32_t c = 0; c < w; c++)
                r[c] = true;
            break;
        }
        for (uint32_t i = 0; i < op->npart_keys; i++)
            r[op->part_keys[i]] = true;
    }
    /* 3. project and renumber */
    for (uint32_t s = 0; s < n; s++) {
        if (!ok[s])
            continue;
        uint32_t w = p->ops[s].out->ncols, kept = 0;
        for (uint32_t c = 0; c < w; c++)
            kept += used[s][c];
        if (kept == w)
            continue;
        if (kept == 0) /* e.g. COUNT(*) alone: one column still counts the rows */
            used[s][0] = true;
        free(map);
        if (!(map = calloc(w, sizeof(int))))
            goto oom;
        json_t *pj = json_array();
        if (!pj)
            goto oom;
        int next = 0;
        for (uint32_t c = 0; c < w; c++) {
            map[c] = used[s][c] ? next++ : -1;
            if (used[s][c] && json_array_append_new(pj, json_integer(c))) {
                json_decref(pj);
                goto oom;
            }
        }
        if (json_object_set_new(json_array_get(ops, s), "projection", pj))
            goto oom;
        for (uint32_t k = s + 1; k < n; k++) {
            if (p->ops[k].input < 0 || root[p->ops[k].input] != (int)s)
                continue;
            if (renumber_reader(ops, &p->ops[k], k, map, used[k]))
                goto oom;
            /* Its uid stays the one it has without push-down (derived uids chain, so the
             * operators after it keep theirs too): reading one more column of a table, say in
             * another INSERT of a statement set, changes no uid and every state restores. */
            if (json_object_set_new(json_array_get(ops, k), "uid", json_string(p->ops[k].uid)))
                goto oom;
        }
    }
    goto done;
oom:
    rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
done:
    for (uint32_t k = 0; used && k < n; k++)
        free(used[k]);
    free(used);
    free(root);
    free(ok);
    free(map);
    rt_plan_free(p);
    return rc;
}

static int compile(const char *text, size_t len, const char *filename, bool lenient,
                   const json_t *conf, json_t **plan, json_t **settings, json_t **notes,
                   weir_error *err)
{
    sql_script *s = NULL;
    int rc = sql_parse(text, len, filename, &s, err);
    if (rc)
        return rc;
    ctx c = {.s = s,
             .err = err,
             .ops = json_array(),
             .settings = json_object(),
             .lenient = lenient,
             .notes = json_array(),
             .defaults = conf};
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)conf, k, v)
    {
        if (!rc && json_is_string(v))
            rc = check_setting(&c, k, json_string_value(v), NULL);
    }
    if (!rc && (!c.ops || !c.settings || !c.notes))
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
    else if (!rc)
        rc = compile_script(&c, s, plan);
    for (int i = 0; i < c.ntables; i++)
        rel_free(&c.tables[i].scan);
    free(c.tables);
    free(c.views);
    free(c.ctes);
    json_decref(c.ops);
    if (!rc && json_array_size(c.notes) == 0 && (rc = push_projections(*plan, s->file, err))) {
        json_decref(*plan);
        *plan = NULL;
    }
    if (!rc && json_array_size(c.notes) == 0) {
        /* The plan loader is the last check: it must accept what the planner made. */
        char *txt = json_dumps(*plan, JSON_COMPACT);
        rt_plan *p = NULL;
        weir_error pe = {0};
        if (!txt)
            rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        else if ((rc = rt_plan_load(txt, strlen(txt), s->file, 1, &p, &pe)))
            rc = weir_error_set(err, rc, "%s: internal error, the generated plan is invalid: %s",
                                s->file, pe.msg);
        rt_plan_free(p);
        free(txt);
        if (rc) {
            json_decref(*plan);
            *plan = NULL;
        }
    }
    if (!rc && settings)
        *settings = json_incref(c.settings);
    if (!rc && notes)
        *notes = json_incref(c.notes);
    json_decref(c.settings);
    json_decref(c.notes);
    sql_script_free(s);
    return rc;
}

int sql_compile(const char *text, size_t len, const char *filename, json_t **plan,
                json_t **settings, weir_error *err)
{
    return compile(text, len, filename, false, NULL, plan, settings, NULL, err);
}

int sql_compile_conf(const char *text, size_t len, const char *filename, const json_t *conf,
                     json_t **plan, json_t **settings, weir_error *err)
{
    return compile(text, len, filename, false, conf, plan, settings, NULL, err);
}

int sql_check(const char *text, size_t len, const char *filename, json_t **plan, json_t **notes,
              weir_error *err)
{
    return compile(text, len, filename, true, NULL, plan, NULL, notes, err);
}

int sql_read_file(const char *path, char **text, size_t *len_out, weir_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return weir_error_set(err, errno == ENOENT ? WEIR_ENOTFOUND : WEIR_EIO, "%s: %s", path,
                              strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 65536;
            if (cap > (16u << 20)) {
                rc = weir_error_set(err, WEIR_ETOOBIG, "%s: larger than 16 MiB", path);
                break;
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
                break;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    *text = buf;
    *len_out = len;
    return 0;
}

int sql_compile_file(const char *path, const json_t *conf, json_t **plan, json_t **settings,
                     weir_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = sql_read_file(path, &buf, &len, err);
    if (!rc)
        rc = sql_compile_conf(buf, len, path, conf, plan, settings, err);
    free(buf);
    return rc;
}
