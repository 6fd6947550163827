/*
 * sql_parse.c - the recursive-descent parser of Flink SQL scripts into sql_ast.h trees.
 *
 * Hand-written rather than generated (the issue allows either): one function per grammar rule,
 * precedence climbing for expressions, and error messages that name the offending token and
 * what was expected at that point, which a table-driven parser makes hard to say well.
 * Nesting is capped (MAX_DEPTH) so hostile input cannot exhaust the stack.
 *
 * Layer: runtime/sql.
 */
#include "runtime/sql/sql_ast.h"
#include "runtime/sql/sql_token.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 200

typedef struct parser {
    sql_tokens t;
    size_t i;
    sql_script *s;
    weir_error *err;
    int depth;
    bool failed;
    sql_stmt **pending; /* tables made for VALUES, placed before the statement that uses them */
    int npending, nvalues;
} parser;

/* --- allocation ------------------------------------------------------------------------------ */

static void *alloc(parser *p, size_t n)
{
    sql_script *s = p->s;
    if (s->nallocs == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        void **na = realloc(s->allocs, nc * sizeof(void *));
        if (!na)
            return NULL;
        s->allocs = na;
        s->cap = nc;
    }
    void *m = calloc(1, n ? n : 1);
    if (m)
        s->allocs[s->nallocs++] = m;
    return m;
}

static const char *sdup(parser *p, const char *str)
{
    size_t n = strlen(str);
    char *d = alloc(p, n + 1);
    if (d)
        memcpy(d, str, n + 1);
    return d;
}

/* Appends to a growable array kept in the script's allocations. */
static void *grow(parser *p, void *arr, int n, size_t elem)
{
    if ((n & (n - 1)) != 0 && n != 0)
        return arr;
    size_t cap = n ? (size_t)n * 2 : 4;
    void *na = alloc(p, cap * elem);
    if (na && arr && n)
        memcpy(na, arr, (size_t)n * elem);
    return na;
}

#define PUSH(p, arr, n, val)                                                                       \
    do {                                                                                           \
        void *g_ = grow((p), (arr), (n), sizeof(*(arr)));                                          \
        if (!g_)                                                                                   \
            return fail_oom(p);                                                                    \
        (arr) = g_;                                                                                \
        (arr)[(n)++] = (val);                                                                      \
    } while (0)

/* --- tokens and errors --------------------------------------------------------------------------
 */

static sql_token *cur(parser *p)
{
    return &p->t.v[p->i];
}

static sql_pos pos_of(const sql_token *t)
{
    return (sql_pos){t->line, t->col};
}

static void *fail_at(parser *p, const sql_token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void *fail_at(parser *p, const sql_token *t, const char *fmt, ...)
{
    if (p->failed)
        return NULL;
    p->failed = true;
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (t->kind == TK_EOF)
        weir_error_set(p->err, WEIR_EPARSE, "%s:%d:%d: syntax error at the end of the script: %s",
                       p->s->file, t->line, t->col, what);
    else
        weir_error_set(p->err, WEIR_EPARSE, "%s:%d:%d: syntax error at '%s': %s", p->s->file,
                       t->line, t->col, t->kind == TK_STRING ? "'...'" : t->text, what);
    return NULL;
}

static void *fail_oom(parser *p)
{
    if (!p->failed)
        weir_error_set(p->err, WEIR_ENOMEM, "out of memory");
    p->failed = true;
    return NULL;
}

static bool is_kw(const sql_token *t, const char *kw)
{
    return t->kind == TK_IDENT && strcmp(t->upper, kw) == 0;
}

static bool is_op(const sql_token *t, const char *op)
{
    return t->kind == TK_OP && strcmp(t->text, op) == 0;
}

static bool accept_kw(parser *p, const char *kw)
{
    if (is_kw(cur(p), kw)) {
        p->i++;
        return true;
    }
    return false;
}

static bool accept_op(parser *p, const char *op)
{
    if (is_op(cur(p), op)) {
        p->i++;
        return true;
    }
    return false;
}

static bool expect_kw(parser *p, const char *kw)
{
    if (accept_kw(p, kw))
        return true;
    fail_at(p, cur(p), "expected %s", kw);
    return false;
}

static bool expect_op(parser *p, const char *op)
{
    if (accept_op(p, op))
        return true;
    fail_at(p, cur(p), "expected '%s'", op);
    return false;
}

/* Words that end an expression or a name: they cannot be bare identifiers there. */
static const char *const reserved[] = {
    "SELECT", "FROM",   "WHERE",   "GROUP",   "HAVING",    "ORDER",  "LIMIT", "UNION",
    "ON",     "JOIN",   "INNER",   "LEFT",    "RIGHT",     "FULL",   "CROSS", "AND",
    "OR",     "NOT",    "AS",      "BY",      "WHEN",      "THEN",   "ELSE",  "END",
    "IS",     "IN",     "BETWEEN", "LIKE",    "CASE",      "WITH",   "INTO",  "VALUES",
    "SET",    "TABLE",  "ESCAPE",  "WINDOW",  "NULL",      "TRUE",   "FALSE", "DISTINCT",
    "ALL",    "INSERT", "CREATE",  "SIMILAR", "INTERSECT", "EXCEPT", NULL};

static bool reserved_word(const sql_token *t)
{
    if (t->kind != TK_IDENT)
        return false;
    for (const char *const *r = reserved; *r; r++)
        if (!strcmp(t->upper, *r))
            return true;
    return false;
}

/* An identifier (plain, not reserved, or `quoted`). */
static const char *ident(parser *p, const char *what, sql_pos *pos)
{
    sql_token *t = cur(p);
    if (t->kind == TK_QIDENT || (t->kind == TK_IDENT && !reserved_word(t))) {
        p->i++;
        if (pos)
            *pos = pos_of(t);
        return sdup(p, t->text);
    }
    return fail_at(p, t, "expected %s", what);
}

/* A possibly qualified name (catalog.db.table): the last part is the name. */
static const char *qualified_name(parser *p, const char *what, sql_pos *pos)
{
    const char *n = ident(p, what, pos);
    while (n && is_op(cur(p), ".")) {
        p->i++;
        n = ident(p, what, NULL);
    }
    return n;
}

/* --- types ---------------------------------------------------------------------------------- */

static const char *type_text(parser *p)
{
    sql_token *t = cur(p);
    if (t->kind != TK_IDENT)
        return fail_at(p, t, "expected a type name");
    char buf[256];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "%s", t->upper);
    p->i++;
    if (!strcmp(t->upper, "ARRAY") || !strcmp(t->upper, "MAP") || !strcmp(t->upper, "ROW") ||
        !strcmp(t->upper, "MULTISET"))
        return fail_at(p, t, "the type %s is not supported yet", t->upper);
    if (!strcmp(t->upper, "DOUBLE") && is_kw(cur(p), "PRECISION")) {
        p->i++;
    }
    if (!strcmp(t->upper, "CHARACTER") && is_kw(cur(p), "VARYING")) {
        p->i++;
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, " VARYING");
    }
    if (accept_op(p, "(")) {
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "(");
        for (;;) {
            sql_token *a = cur(p);
            if (a->kind != TK_NUMBER)
                return fail_at(p, a, "expected a number in the type's parameters");
            p->i++;
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", a->text);
            if (accept_op(p, ",")) {
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, ", ");
                continue;
            }
            if (!expect_op(p, ")"))
                return NULL;
            break;
        }
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, ")");
    }
    if (is_kw(cur(p), "WITH") && is_kw(&p->t.v[p->i + 1], "LOCAL")) {
        p->i++;
        if (!expect_kw(p, "LOCAL") || !expect_kw(p, "TIME") || !expect_kw(p, "ZONE"))
            return NULL;
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, " WITH LOCAL TIME ZONE");
    } else if (is_kw(cur(p), "WITHOUT")) {
        p->i++;
        if (!expect_kw(p, "TIME") || !expect_kw(p, "ZONE"))
            return NULL;
    }
    if (is_kw(cur(p), "NOT") && is_kw(&p->t.v[p->i + 1], "NULL")) {
        p->i += 2;
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, " NOT NULL");
    } else if (is_kw(cur(p), "NULL"))
        p->i++;
    return sdup(p, buf);
}

/* --- expressions ---------------------------------------------------------------------------- */

static sql_expr *expr(parser *p);
static sql_query *query(parser *p);

static sql_expr *node(parser *p, sql_expr_kind k, sql_pos pos)
{
    sql_expr *e = alloc(p, sizeof(*e));
    if (!e)
        return fail_oom(p);
    e->kind = k;
    e->pos = pos;
    return e;
}

static sql_expr *call(parser *p, const char *fn, sql_pos pos, int n, ...)
{
    sql_expr *e = node(p, SE_CALL, pos);
    if (!e)
        return NULL;
    e->fn = fn;
    e->args = alloc(p, sizeof(sql_expr *) * (size_t)(n ? n : 1));
    if (!e->args)
        return fail_oom(p);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        e->args[i] = va_arg(ap, sql_expr *);
        if (!e->args[i]) {
            va_end(ap);
            return NULL;
        }
    }
    va_end(ap);
    e->nargs = n;
    return e;
}

static sql_expr *lit(parser *p, const char *type, const char *text, sql_pos pos)
{
    sql_expr *e = node(p, SE_LIT, pos);
    if (e) {
        e->lit_type = type;
        e->text = text ? sdup(p, text) : NULL;
    }
    return e;
}

static const char *const units[] = {"MILLISECOND", "SECOND", "MINUTE",  "HOUR", "DAY",
                                    "WEEK",        "MONTH",  "QUARTER", "YEAR", "DOW",
                                    "DOY",         "EPOCH",  NULL};

static const char *unit(parser *p)
{
    sql_token *t = cur(p);
    if (t->kind == TK_IDENT)
        for (const char *const *u = units; *u; u++)
            if (!strcmp(t->upper, *u) ||
                (!strncmp(t->upper, *u, strlen(*u)) && !strcmp(t->upper + strlen(*u), "S"))) {
                p->i++;
                return *u;
            }
    return fail_at(p, t, "expected a time unit (SECOND, MINUTE, HOUR, DAY, MONTH, YEAR ...)");
}

/* Parses the arguments of f( ... ) after the '('. */
static sql_expr *call_args(parser *p, const char *fn, sql_pos pos)
{
    sql_expr *e = node(p, SE_CALL, pos);
    if (!e)
        return NULL;
    e->fn = fn;
    if (accept_op(p, ")"))
        return e;
    if (accept_kw(p, "DISTINCT"))
        e->distinct = true;
    else
        accept_kw(p, "ALL");
    if (is_op(cur(p), "*")) {
        p->i++;
        e->star = true;
        return expect_op(p, ")") ? e : NULL;
    }
    for (;;) {
        sql_expr *a = expr(p);
        if (!a)
            return NULL;
        PUSH(p, e->args, e->nargs, a);
        if (accept_op(p, ","))
            continue;
        if (is_op(cur(p), "=>"))
            return fail_at(p, cur(p), "named arguments are not supported yet");
        return accept_op(p, ")") ? e : fail_at(p, cur(p), "expected ',' or ')'");
    }
}

/* An aggregate's `FILTER (WHERE cond)`: the aggregate takes only the rows where cond is TRUE,
 * which is the aggregate of `CASE WHEN cond THEN arg END` (aggregates skip NULLs; COUNT(*)
 * becomes COUNT(CASE WHEN cond THEN TRUE END)). */
static sql_expr *agg_filter(parser *p, sql_expr *e)
{
    static const char *const aggs[] = {"COUNT", "SUM", "MIN", "MAX", "AVG", NULL};
    if (!is_kw(cur(p), "FILTER") || !is_op(&p->t.v[p->i + 1], "("))
        return e;
    bool agg = false;
    for (const char *const *a = aggs; *a && !agg; a++)
        agg = !strcmp(e->fn, *a);
    if (!agg)
        return fail_at(p, cur(p), "FILTER applies to aggregate functions, not %s", e->fn);
    p->i += 2;
    if (!expect_kw(p, "WHERE"))
        return NULL;
    sql_expr *cond = expr(p);
    if (!cond || !expect_op(p, ")"))
        return NULL;
    if (e->nargs > 1)
        return e; /* the binder reports the argument count */
    sql_expr *v = e->star ? lit(p, "BOOLEAN", "TRUE", e->pos) : e->args[0];
    sql_expr *c = v ? call(p, "CASE", cond->pos, 2, cond, v) : NULL;
    if (!c)
        return NULL;
    if (e->star) {
        e->star = false;
        PUSH(p, e->args, e->nargs, c);
    } else
        e->args[0] = c;
    return e;
}

static sql_expr *primary(parser *p)
{
    sql_token *t = cur(p);
    sql_pos pos = pos_of(t);
    if (t->kind == TK_NUMBER) {
        p->i++;
        bool dec = strchr(t->text, '.') != NULL, ex = strpbrk(t->text, "eE") != NULL;
        if (ex)
            return lit(p, "DOUBLE", t->text, pos);
        if (dec) {
            /* DECIMAL(p, s) of the literal's digits, as Flink types it */
            const char *dot = strchr(t->text, '.');
            int scale = (int)strlen(dot + 1), prec = (int)strlen(t->text) - 1;
            if (prec < 1)
                prec = 1;
            if (prec > 38)
                return fail_at(p, t, "the DECIMAL literal %s has more than 38 digits", t->text);
            char ty[48];
            snprintf(ty, sizeof(ty), "DECIMAL(%d, %d)", prec, scale);
            return lit(p, sdup(p, ty), t->text, pos);
        }
        /* an integer literal beyond BIGINT is a DECIMAL(digits, 0), as in Flink */
        const char *digits = t->text;
        while (digits[0] == '0' && digits[1])
            digits++;
        size_t nd = strlen(digits);
        if (nd > 19 || (nd == 19 && strcmp(digits, "9223372036854775807") > 0)) {
            if (nd > 38)
                return fail_at(p, t, "the integer literal %s has more than 38 digits", t->text);
            char ty[48];
            snprintf(ty, sizeof(ty), "DECIMAL(%zu, 0)", nd);
            return lit(p, sdup(p, ty), t->text, pos);
        }
        long long v = strtoll(t->text, NULL, 10);
        return lit(p, v > 2147483647LL || strlen(t->text) > 10 ? "BIGINT" : "INT", t->text, pos);
    }
    if (t->kind == TK_STRING) {
        p->i++;
        return lit(p, "STRING", t->text, pos);
    }
    if (is_op(t, "(")) {
        p->i++;
        if (is_kw(cur(p), "SELECT")) {
            fail_at(p, cur(p), "subqueries in expressions are not supported yet");
            return NULL;
        }
        sql_expr *e = expr(p);
        if (!e || !expect_op(p, ")"))
            return NULL;
        return e;
    }
    if (t->kind == TK_IDENT) {
        const char *u = t->upper;
        if (!strcmp(u, "NULL")) {
            p->i++;
            return lit(p, "NULL", NULL, pos);
        }
        if (!strcmp(u, "TRUE") || !strcmp(u, "FALSE")) {
            p->i++;
            return lit(p, "BOOLEAN", u, pos);
        }
        if ((!strcmp(u, "DATE") || !strcmp(u, "TIME") || !strcmp(u, "TIMESTAMP")) &&
            p->t.v[p->i + 1].kind == TK_STRING) {
            p->i++;
            const char *v = cur(p)->text;
            p->i++;
            return lit(p, !strcmp(u, "TIMESTAMP") ? "TIMESTAMP(3)" : u, v, pos);
        }
        if (!strcmp(u, "INTERVAL")) {
            p->i++;
            sql_token *v = cur(p);
            if (v->kind != TK_STRING && v->kind != TK_NUMBER)
                return fail_at(p, v, "expected the interval's value as a string, e.g. '5'");
            p->i++;
            char *end;
            long long amount = strtoll(v->text, &end, 10);
            if (*end)
                return fail_at(p, v,
                               "interval values like '%s' are not supported yet (use a "
                               "whole number of one unit)",
                               v->text);
            const char *un = unit(p);
            if (!un)
                return NULL;
            if (is_kw(cur(p), "TO"))
                return fail_at(p, cur(p), "interval ranges (... TO ...) are not supported yet");
            sql_expr *e = node(p, SE_INTERVAL, pos);
            if (e) {
                e->amount = amount;
                e->unit = un;
            }
            return e;
        }
        if (!strcmp(u, "CASE")) {
            p->i++;
            sql_expr *subject = NULL;
            if (!is_kw(cur(p), "WHEN") && !(subject = expr(p)))
                return NULL;
            sql_expr *e = node(p, SE_CALL, pos);
            if (!e)
                return NULL;
            e->fn = "CASE";
            while (accept_kw(p, "WHEN")) {
                sql_expr *c = expr(p);
                if (!c || !expect_kw(p, "THEN"))
                    return NULL;
                sql_expr *v = expr(p);
                if (!v)
                    return NULL;
                if (subject && !(c = call(p, "EQUALS", c->pos, 2, subject, c)))
                    return NULL;
                PUSH(p, e->args, e->nargs, c);
                PUSH(p, e->args, e->nargs, v);
            }
            if (e->nargs == 0)
                return fail_at(p, cur(p), "expected WHEN");
            if (accept_kw(p, "ELSE")) {
                sql_expr *v = expr(p);
                if (!v)
                    return NULL;
                PUSH(p, e->args, e->nargs, v);
            }
            return expect_kw(p, "END") ? e : NULL;
        }
        if ((!strcmp(u, "CAST") || !strcmp(u, "TRY_CAST")) && is_op(&p->t.v[p->i + 1], "(")) {
            p->i += 2;
            sql_expr *x = expr(p);
            if (!x || !expect_kw(p, "AS"))
                return NULL;
            const char *ty = type_text(p);
            if (!ty || !expect_op(p, ")"))
                return NULL;
            sql_expr *e = node(p, SE_CAST, pos);
            if (!e)
                return NULL;
            e->try_cast = u[0] == 'T';
            e->type = ty;
            PUSH(p, e->args, e->nargs, x);
            return e;
        }
        if (!strcmp(u, "EXTRACT") && is_op(&p->t.v[p->i + 1], "(")) {
            p->i += 2;
            sql_pos up = pos_of(cur(p));
            const char *un = unit(p);
            if (!un || !expect_kw(p, "FROM"))
                return NULL;
            sql_expr *x = expr(p);
            if (!x || !expect_op(p, ")"))
                return NULL;
            return call(p, "EXTRACT", pos, 2, lit(p, "STRING", un, up), x);
        }
        if ((!strcmp(u, "TIMESTAMPADD") || !strcmp(u, "TIMESTAMPDIFF")) &&
            is_op(&p->t.v[p->i + 1], "(")) {
            p->i += 2;
            sql_pos up = pos_of(cur(p));
            const char *un = unit(p);
            if (!un || !expect_op(p, ","))
                return NULL;
            sql_expr *a = expr(p);
            if (!a || !expect_op(p, ","))
                return NULL;
            sql_expr *b = expr(p);
            if (!b || !expect_op(p, ")"))
                return NULL;
            return call(p, u[9] == 'A' ? "TIMESTAMPADD" : "TIMESTAMPDIFF", pos, 3,
                        lit(p, "STRING", un, up), a, b);
        }
        if (!strcmp(u, "TRIM") && is_op(&p->t.v[p->i + 1], "(")) {
            p->i += 2;
            const char *side = NULL;
            sql_pos sp = pos_of(cur(p));
            if (accept_kw(p, "BOTH"))
                side = "BOTH";
            else if (accept_kw(p, "LEADING"))
                side = "LEADING";
            else if (accept_kw(p, "TRAILING"))
                side = "TRAILING";
            sql_expr *chars = NULL, *s;
            if (side && accept_kw(p, "FROM")) {
                s = expr(p);
            } else {
                sql_expr *a = expr(p);
                if (!a)
                    return NULL;
                if (accept_kw(p, "FROM")) {
                    chars = a;
                    s = expr(p);
                } else
                    s = a;
            }
            if (!s || !expect_op(p, ")"))
                return NULL;
            if (!side && !chars)
                return call(p, "TRIM", pos, 1, s);
            sql_expr *sd = lit(p, "STRING", side ? side : "BOTH", sp);
            if (!chars)
                chars = lit(p, "STRING", " ", sp);
            return call(p, "TRIM", pos, 3, sd, chars, s);
        }
        if (!strcmp(u, "SUBSTRING") && is_op(&p->t.v[p->i + 1], "(")) {
            p->i += 2;
            sql_expr *s = expr(p);
            if (!s)
                return NULL;
            sql_expr *a = NULL, *b = NULL;
            if (accept_kw(p, "FROM") || accept_op(p, ",")) {
                if (!(a = expr(p)))
                    return NULL;
                if ((accept_kw(p, "FOR") || accept_op(p, ",")) && !(b = expr(p)))
                    return NULL;
            }
            if (!a || !expect_op(p, ")"))
                return a ? NULL : fail_at(p, cur(p), "expected FROM and a start position");
            return b ? call(p, "SUBSTRING", pos, 3, s, a, b) : call(p, "SUBSTRING", pos, 2, s, a);
        }
        if ((!strcmp(u, "CURRENT_TIMESTAMP") || !strcmp(u, "LOCALTIMESTAMP") ||
             !strcmp(u, "CURRENT_DATE")) &&
            !is_op(&p->t.v[p->i + 1], "(")) {
            p->i++;
            return call(p, sdup(p, u), pos, 0);
        }
        if (is_op(&p->t.v[p->i + 1], "(") && !reserved_word(t)) {
            p->i += 2;
            sql_expr *e = call_args(p, sdup(p, u), pos);
            return e ? agg_filter(p, e) : NULL;
        }
    }
    if (t->kind == TK_IDENT || t->kind == TK_QIDENT) {
        const char *a = ident(p, "an expression", NULL);
        if (!a)
            return NULL;
        sql_expr *e = node(p, SE_IDENT, pos);
        if (!e)
            return NULL;
        e->name = a;
        /* t.col, row.field, t.row.field ...: the first part is kept as the qualifier, the rest
         * joined with '.' (the flattened name of a ROW field); the binder decides which */
        char path[256] = "";
        while (is_op(cur(p), ".")) {
            p->i++;
            if (is_op(cur(p), "*"))
                return fail_at(p, cur(p), "t.* is only allowed in the select list");
            const char *b = ident(p, "a column name", NULL);
            if (!b)
                return NULL;
            size_t l = strlen(path);
            snprintf(path + l, sizeof(path) - l, "%s%s", l ? "." : "", b);
        }
        if (*path) {
            e->qual = a;
            e->name = sdup(p, path);
        }
        return e;
    }
    return fail_at(p, t, "expected an expression");
}

static sql_expr *unary(parser *p)
{
    sql_token *t = cur(p);
    if (is_op(t, "-") || is_op(t, "+")) {
        p->i++;
        sql_expr *x = unary(p);
        if (!x)
            return NULL;
        if (t->text[0] == '+')
            return x;
        if (x->kind == SE_LIT && x->text && strcmp(x->lit_type, "STRING") != 0 &&
            strcmp(x->lit_type, "BOOLEAN") != 0 && x->text[0] != '-') {
            char buf[256];
            snprintf(buf, sizeof(buf), "-%s", x->text);
            x->text = sdup(p, buf);
            x->pos = pos_of(t);
            if (!strcmp(x->lit_type, "BIGINT") && !strcmp(buf, "-2147483648"))
                x->lit_type = "INT";
            return x;
        }
        if (x->kind == SE_INTERVAL) {
            x->amount = -x->amount;
            return x;
        }
        return call(p, "NEGATE", pos_of(t), 1, x);
    }
    return primary(p);
}

static sql_expr *binary_level(parser *p, int level);

static const struct {
    const char *op, *fn;
    int level;
} binops[] = {
    {"*", "TIMES", 5}, {"/", "DIVIDE", 5}, {"%", "MOD", 5},
    {"+", "PLUS", 4},  {"-", "MINUS", 4},  {"||", "CONCAT", 3},
};

static sql_expr *binary_level(parser *p, int level)
{
    if (level > 5)
        return unary(p);
    sql_expr *l = binary_level(p, level + 1);
    while (l) {
        sql_token *t = cur(p);
        const char *fn = NULL;
        for (size_t k = 0; k < sizeof(binops) / sizeof(binops[0]); k++)
            if (binops[k].level == level && is_op(t, binops[k].op))
                fn = binops[k].fn;
        if (!fn)
            break;
        p->i++;
        sql_expr *r = binary_level(p, level + 1);
        l = call(p, fn, pos_of(t), 2, l, r);
    }
    return l;
}

static sql_expr *comparison(parser *p)
{
    sql_expr *l = binary_level(p, 3);
    if (!l)
        return NULL;
    for (;;) {
        sql_token *t = cur(p);
        sql_pos pos = pos_of(t);
        static const struct {
            const char *op, *fn;
        } cmps[] = {{"=", "EQUALS"},
                    {"<>", "NOT_EQUALS"},
                    {"!=", "NOT_EQUALS"},
                    {"<", "LESS_THAN"},
                    {"<=", "LESS_THAN_OR_EQUAL"},
                    {">", "GREATER_THAN"},
                    {">=", "GREATER_THAN_OR_EQUAL"}};
        const char *fn = NULL;
        for (size_t k = 0; k < sizeof(cmps) / sizeof(cmps[0]); k++)
            if (is_op(t, cmps[k].op))
                fn = cmps[k].fn;
        if (fn) {
            p->i++;
            l = call(p, fn, pos, 2, l, binary_level(p, 3));
            if (!l)
                return NULL;
            continue;
        }
        if (is_kw(t, "IS")) {
            p->i++;
            bool neg = accept_kw(p, "NOT");
            const char *what;
            if (accept_kw(p, "NULL"))
                what = neg ? "IS_NOT_NULL" : "IS_NULL";
            else if (accept_kw(p, "TRUE"))
                what = neg ? "IS_NOT_TRUE" : "IS_TRUE";
            else if (accept_kw(p, "FALSE"))
                what = neg ? "IS_NOT_FALSE" : "IS_FALSE";
            else if (is_kw(cur(p), "DISTINCT"))
                return fail_at(p, cur(p), "IS [NOT] DISTINCT FROM is not supported yet");
            else
                return fail_at(p, cur(p), "expected NULL, TRUE or FALSE after IS");
            l = call(p, what, pos, 1, l);
            if (!l)
                return NULL;
            continue;
        }
        bool neg = false;
        size_t save = p->i;
        if (is_kw(t, "NOT")) {
            p->i++;
            neg = true;
        }
        if (accept_kw(p, "BETWEEN")) {
            accept_kw(p, "ASYMMETRIC");
            if (is_kw(cur(p), "SYMMETRIC"))
                return fail_at(p, cur(p), "BETWEEN SYMMETRIC is not supported yet");
            sql_expr *lo = binary_level(p, 3);
            if (!lo || !expect_kw(p, "AND"))
                return NULL;
            sql_expr *hi = binary_level(p, 3);
            l = call(p, neg ? "NOT_BETWEEN" : "BETWEEN", pos, 3, l, lo, hi);
            if (!l)
                return NULL;
            continue;
        }
        if (accept_kw(p, "IN")) {
            if (!expect_op(p, "("))
                return NULL;
            if (is_kw(cur(p), "SELECT"))
                return fail_at(p, cur(p), "IN (subquery) is not supported yet");
            sql_expr *e = node(p, SE_CALL, pos);
            if (!e)
                return NULL;
            e->fn = neg ? "NOT_IN" : "IN";
            PUSH(p, e->args, e->nargs, l);
            for (;;) {
                sql_expr *v = expr(p);
                if (!v)
                    return NULL;
                PUSH(p, e->args, e->nargs, v);
                if (accept_op(p, ","))
                    continue;
                if (!expect_op(p, ")"))
                    return NULL;
                break;
            }
            l = e;
            continue;
        }
        if (accept_kw(p, "LIKE")) {
            sql_expr *pat = binary_level(p, 3);
            if (!pat)
                return NULL;
            if (accept_kw(p, "ESCAPE")) {
                sql_expr *esc = binary_level(p, 3);
                l = call(p, neg ? "NOT_LIKE" : "LIKE", pos, 3, l, pat, esc);
            } else
                l = call(p, neg ? "NOT_LIKE" : "LIKE", pos, 2, l, pat);
            if (!l)
                return NULL;
            continue;
        }
        if (neg) {
            p->i = save;
        }
        return l;
    }
}

static sql_expr *not_level(parser *p)
{
    sql_token *t = cur(p);
    if (is_kw(t, "NOT")) {
        p->i++;
        return call(p, "NOT", pos_of(t), 1, not_level(p));
    }
    return comparison(p);
}

static sql_expr *and_level(parser *p)
{
    sql_expr *l = not_level(p);
    while (l && is_kw(cur(p), "AND")) {
        sql_pos pos = pos_of(cur(p));
        p->i++;
        l = call(p, "AND", pos, 2, l, not_level(p));
    }
    return l;
}

static sql_expr *expr(parser *p)
{
    if (++p->depth > MAX_DEPTH) {
        p->depth--;
        return fail_at(p, cur(p), "expression nested deeper than %d levels", MAX_DEPTH);
    }
    sql_expr *l = and_level(p);
    while (l && is_kw(cur(p), "OR")) {
        sql_pos pos = pos_of(cur(p));
        p->i++;
        l = call(p, "OR", pos, 2, l, and_level(p));
    }
    p->depth--;
    return l;
}

/* --- queries ------------------------------------------------------------------------------- */

static sql_from *from_item(parser *p)
{
    sql_token *t = cur(p);
    sql_from *f = alloc(p, sizeof(*f));
    if (!f)
        return fail_oom(p);
    f->pos = pos_of(t);
    if (is_kw(t, "LATERAL") || is_kw(t, "UNNEST"))
        return fail_at(p, t, "%s is not supported yet", t->upper);
    if (is_kw(t, "TABLE") && is_op(&p->t.v[p->i + 1], "(")) {
        p->i += 2;
        sql_token *fn = cur(p);
        if (!(is_kw(fn, "TUMBLE") || is_kw(fn, "HOP") || is_kw(fn, "CUMULATE") ||
              is_kw(fn, "SESSION")))
            return fail_at(p, fn, "expected a window function: TUMBLE, HOP or CUMULATE");
        if (is_kw(fn, "SESSION"))
            return fail_at(p, fn, "SESSION windows are not supported yet");
        p->i++;
        f->kind = SF_WINDOW;
        f->wfn = sdup(p, fn->upper);
        if (!expect_op(p, "("))
            return NULL;
        if (is_op(&p->t.v[p->i + 1], "=>"))
            return fail_at(p, cur(p),
                           "named arguments are not supported yet; use "
                           "TUMBLE(TABLE t, DESCRIPTOR(ts), size)");
        if (!expect_kw(p, "TABLE"))
            return NULL;
        sql_from *src = alloc(p, sizeof(*src));
        if (!src)
            return fail_oom(p);
        src->kind = SF_TABLE;
        if (!(src->name = qualified_name(p, "a table name", &src->pos)))
            return NULL;
        f->wsrc = src;
        if (!expect_op(p, ",") || !expect_kw(p, "DESCRIPTOR") || !expect_op(p, "("))
            return NULL;
        if (!(f->timecol = ident(p, "the time attribute column", &f->timecol_pos)))
            return NULL;
        if (!expect_op(p, ")"))
            return NULL;
        while (accept_op(p, ",")) {
            if (f->nwargs == 3)
                return fail_at(p, cur(p), "too many arguments for %s", f->wfn);
            if (!(f->wargs[f->nwargs++] = expr(p)))
                return NULL;
        }
        if (!expect_op(p, ")") || !expect_op(p, ")"))
            return NULL;
    } else if (is_op(t, "(")) {
        p->i++;
        f->kind = SF_SUBQUERY;
        if (!(f->sub = query(p)) || !expect_op(p, ")"))
            return NULL;
    } else {
        f->kind = SF_TABLE;
        if (!(f->name = qualified_name(p, "a table name", &f->pos)))
            return NULL;
        if (is_op(cur(p), "("))
            return fail_at(p, cur(p), "table functions are not supported yet");
    }
    if (accept_kw(p, "AS")) {
        if (!(f->alias = ident(p, "an alias", NULL)))
            return NULL;
    } else if (cur(p)->kind == TK_QIDENT || (cur(p)->kind == TK_IDENT && !reserved_word(cur(p)))) {
        f->alias = ident(p, "an alias", NULL);
    }
    /* a subquery without an alias is fine, as in Flink (its columns are not qualified) */
    sql_token *j = cur(p);
    if (is_op(j, ",") || is_kw(j, "JOIN") || is_kw(j, "LEFT") || is_kw(j, "RIGHT") ||
        is_kw(j, "INNER") || is_kw(j, "FULL") || is_kw(j, "CROSS"))
        return fail_at(p, j, "joins are not supported yet");
    return f;
}

static sql_stmt *new_stmt(parser *p, sql_stmt_kind k, const sql_token *t);

static sql_option *option_of(parser *p, sql_stmt *s, const char *key, const char *value)
{
    void *g = grow(p, s->opts, s->nopts, sizeof(*s->opts));
    if (!g)
        return fail_oom(p);
    s->opts = g;
    sql_option *o = &s->opts[s->nopts++];
    memset(o, 0, sizeof(*o));
    o->key = sdup(p, key);
    o->value = sdup(p, value);
    return o->key && o->value ? o : fail_oom(p);
}

/*
 * VALUES (e, ...), (e, ...): rewritten into what the planner already has. A table of the row
 * numbers (datagen, one sequence column __row from 0 to n - 1, parallelism 1, bounded) is
 * declared before the statement, and the query becomes
 *   SELECT CASE WHEN __row = 0 THEN e00 WHEN __row = 1 THEN e10 ... END AS EXPR$0, ...
 * so each row is produced once, in order, typed as Flink types VALUES (the common type of a
 * column's expressions).
 */
static sql_query *values(parser *p)
{
    sql_token *t = cur(p);
    p->i++; /* VALUES */
    sql_expr ***rows = NULL;
    int nrows = 0, ncols = -1;
    do {
        sql_token *rt = cur(p);
        if (!expect_op(p, "("))
            return NULL;
        sql_expr **row = NULL;
        int n = 0;
        do {
            sql_expr *e = expr(p);
            if (!e)
                return NULL;
            PUSH(p, row, n, e);
        } while (accept_op(p, ","));
        if (!expect_op(p, ")"))
            return NULL;
        if (ncols >= 0 && n != ncols)
            return fail_at(p, rt, "VALUES: this row has %d values, the first has %d", n, ncols);
        ncols = n;
        PUSH(p, rows, nrows, row);
    } while (accept_op(p, ","));
    char name[32], num[32];
    snprintf(name, sizeof(name), "__values_%d", ++p->nvalues);
    sql_stmt *tb = new_stmt(p, SS_CREATE_TABLE, t);
    if (!tb || !(tb->name = sdup(p, name)))
        return NULL;
    tb->name_pos = tb->pos;
    tb->temporary = true;
    tb->cols = alloc(p, sizeof(sql_column));
    if (!tb->cols)
        return fail_oom(p);
    memset(tb->cols, 0, sizeof(sql_column));
    tb->cols[0] = (sql_column){.pos = tb->pos, .name = "__row", .type = "BIGINT"};
    tb->ncols = 1;
    snprintf(num, sizeof(num), "%d", nrows - 1);
    if (!option_of(p, tb, "connector", "datagen") ||
        !option_of(p, tb, "fields.__row.kind", "sequence") ||
        !option_of(p, tb, "fields.__row.start", "0") ||
        !option_of(p, tb, "fields.__row.end", num) || !option_of(p, tb, "scan.parallelism", "1"))
        return NULL;
    PUSH(p, p->pending, p->npending, tb);
    sql_query *q = alloc(p, sizeof(*q));
    sql_from *f = alloc(p, sizeof(*f));
    if (!q || !f)
        return fail_oom(p);
    memset(q, 0, sizeof(*q));
    memset(f, 0, sizeof(*f));
    q->pos = pos_of(t);
    f->kind = SF_TABLE;
    f->pos = q->pos;
    f->name = tb->name;
    q->from = f;
    for (int c = 0; c < ncols; c++) {
        sql_expr *v;
        if (nrows == 1) {
            v = rows[0][c];
        } else {
            v = node(p, SE_CALL, rows[0][c]->pos);
            if (!v)
                return NULL;
            v->fn = "CASE";
            for (int r = 0; r < nrows; r++) {
                sql_expr *id = node(p, SE_IDENT, rows[r][c]->pos);
                sql_expr *lit = node(p, SE_LIT, rows[r][c]->pos);
                char rn[32];
                snprintf(rn, sizeof(rn), "%d", r);
                if (!id || !lit || !(lit->text = sdup(p, rn)))
                    return NULL;
                id->name = "__row";
                lit->lit_type = "INT";
                sql_expr *cond = call(p, "EQUALS", rows[r][c]->pos, 2, id, lit);
                if (!cond)
                    return NULL;
                PUSH(p, v->args, v->nargs, cond);
                PUSH(p, v->args, v->nargs, rows[r][c]);
            }
        }
        sql_item it = {.pos = rows[0][c]->pos, .expr = v};
        PUSH(p, q->items, q->nitems, it);
    }
    return q;
}

static sql_query *select_core(parser *p)
{
    sql_token *t = cur(p);
    if (is_kw(t, "WITH"))
        return fail_at(p, t, "WITH is allowed only at the start of a query");
    if (is_kw(t, "VALUES"))
        return values(p);
    if (!expect_kw(p, "SELECT"))
        return NULL;
    sql_query *q = alloc(p, sizeof(*q));
    if (!q)
        return fail_oom(p);
    q->pos = pos_of(t);
    if (accept_kw(p, "DISTINCT"))
        q->distinct = true;
    else
        accept_kw(p, "ALL");
    for (;;) {
        sql_item it = {.pos = pos_of(cur(p))};
        if (accept_op(p, "*")) {
            /* everything */
        } else if ((cur(p)->kind == TK_IDENT || cur(p)->kind == TK_QIDENT) &&
                   is_op(&p->t.v[p->i + 1], ".") && is_op(&p->t.v[p->i + 2], "*")) {
            it.star_qual = sdup(p, cur(p)->text);
            p->i += 3;
        } else {
            if (!(it.expr = expr(p)))
                return NULL;
            if (accept_kw(p, "AS")) {
                if (!(it.alias = ident(p, "an alias", NULL)))
                    return NULL;
            } else if (cur(p)->kind == TK_QIDENT ||
                       (cur(p)->kind == TK_IDENT && !reserved_word(cur(p)))) {
                it.alias = ident(p, "an alias", NULL);
            }
        }
        PUSH(p, q->items, q->nitems, it);
        if (!accept_op(p, ","))
            break;
    }
    if (!expect_kw(p, "FROM"))
        return NULL;
    if (!(q->from = from_item(p)))
        return NULL;
    if (accept_kw(p, "WHERE") && !(q->where = expr(p)))
        return NULL;
    if (accept_kw(p, "GROUP")) {
        if (!expect_kw(p, "BY"))
            return NULL;
        for (;;) {
            if (is_kw(cur(p), "GROUPING") || is_kw(cur(p), "ROLLUP") || is_kw(cur(p), "CUBE"))
                return fail_at(p, cur(p), "%s is not supported yet", cur(p)->upper);
            sql_expr *g = expr(p);
            if (!g)
                return NULL;
            PUSH(p, q->group, q->ngroup, g);
            if (!accept_op(p, ","))
                break;
        }
    }
    if (accept_kw(p, "HAVING") && !(q->having = expr(p)))
        return NULL;
    if (is_kw(cur(p), "ORDER") || is_kw(cur(p), "LIMIT") || is_kw(cur(p), "WINDOW"))
        return fail_at(p, cur(p), "%s is not supported yet", cur(p)->upper);
    return q;
}

static sql_stmt *new_stmt(parser *p, sql_stmt_kind k, const sql_token *t);
static bool name_list(parser *p, const char ***out, int *n);

/* WITH name [(cols)] AS (query) [, ...]: common table expressions, kept as views of the query
 * that follows (the planner resolves them before the script's tables and views). */
static bool with_clause(parser *p, sql_stmt ***ctes, int *nctes)
{
    if (!accept_kw(p, "WITH"))
        return true;
    if (is_kw(cur(p), "RECURSIVE")) {
        fail_at(p, cur(p), "WITH RECURSIVE is not supported");
        return false;
    }
    do {
        sql_stmt *v = new_stmt(p, SS_CREATE_VIEW, cur(p));
        if (!v || !(v->name = ident(p, "a name for the WITH query", &v->name_pos)))
            return false;
        if (is_op(cur(p), "(") && !name_list(p, &v->insert_cols, &v->ninsert_cols))
            return false;
        if (!expect_kw(p, "AS") || !expect_op(p, "(") || !(v->query = query(p)) ||
            !expect_op(p, ")"))
            return false;
        PUSH(p, *ctes, *nctes, v);
    } while (accept_op(p, ","));
    return true;
}

static sql_query *query(parser *p)
{
    if (++p->depth > MAX_DEPTH) {
        p->depth--;
        return fail_at(p, cur(p), "queries nested deeper than %d levels", MAX_DEPTH);
    }
    sql_stmt **ctes = NULL;
    int nctes = 0;
    if (!with_clause(p, &ctes, &nctes)) {
        p->depth--;
        return NULL;
    }
    sql_query *q = select_core(p);
    if (q) {
        q->ctes = ctes;
        q->nctes = nctes;
    }
    sql_query *last = q;
    while (last && is_kw(cur(p), "UNION")) {
        p->i++;
        /* UNION [DISTINCT] removes duplicates from everything before it (left-associative) */
        bool distinct = !accept_kw(p, "ALL");
        if (distinct)
            accept_kw(p, "DISTINCT");
        last->union_all = select_core(p);
        last = last->union_all;
        if (!last)
            q = NULL;
        else
            last->union_distinct = distinct;
    }
    if (q && (is_kw(cur(p), "INTERSECT") || is_kw(cur(p), "EXCEPT")))
        q = fail_at(p, cur(p), "%s is not supported yet", cur(p)->upper);
    p->depth--;
    return q;
}

/* --- statements ------------------------------------------------------------------------------- */

static const char *string_lit(parser *p, const char *what, sql_pos *pos)
{
    sql_token *t = cur(p);
    if (t->kind != TK_STRING)
        return fail_at(p, t, "expected %s as a 'quoted string'", what);
    p->i++;
    if (pos)
        *pos = pos_of(t);
    return sdup(p, t->text);
}

static bool name_list(parser *p, const char ***out, int *n)
{
    if (!expect_op(p, "("))
        return false;
    for (;;) {
        const char *c = ident(p, "a column name", NULL);
        if (!c)
            return false;
        void *g = grow(p, (void *)*out, *n, sizeof(char *));
        if (!g) {
            fail_oom(p);
            return false;
        }
        *out = g;
        (*out)[(*n)++] = c;
        if (accept_op(p, ","))
            continue;
        return expect_op(p, ")");
    }
}

static sql_stmt *new_stmt(parser *p, sql_stmt_kind k, const sql_token *t)
{
    sql_stmt *s = alloc(p, sizeof(*s));
    if (!s)
        return fail_oom(p);
    s->kind = k;
    s->pos = pos_of(t);
    return s;
}

enum { LIKE_INCLUDING, LIKE_EXCLUDING, LIKE_OVERWRITING };
enum { LF_CONSTRAINTS, LF_GENERATED, LF_METADATA, LF_OPTIONS, LF_PARTITIONS, LF_WATERMARKS, LF_N };

/*
 * CREATE TABLE t [(...)] [WITH (...)] LIKE src [(like options)]: t gets src's columns first
 * and its own after them, merged as Flink merges them: by default INCLUDING ALL OVERWRITING
 * OPTIONS; each of CONSTRAINTS, GENERATED, METADATA, OPTIONS, PARTITIONS, WATERMARKS can be
 * INCLUDING, EXCLUDING or OVERWRITING (ALL sets every one first). src must be a table declared
 * before. Physical columns are always taken; a name in both is an error, as is a feature in
 * both under INCLUDING.
 */
static sql_stmt *like(parser *p, sql_stmt *s)
{
    p->i++; /* LIKE */
    sql_pos src_pos;
    const char *src_name = qualified_name(p, "the table to copy", &src_pos);
    if (!src_name)
        return NULL;
    const sql_stmt *src = NULL;
    for (int i = 0; i < p->s->nstmts; i++)
        if (p->s->stmts[i]->kind == SS_CREATE_TABLE && !strcmp(p->s->stmts[i]->name, src_name))
            src = p->s->stmts[i];
    if (!src)
        return fail_at(p, &p->t.v[p->i - 1], "LIKE: table '%s' is not declared before", src_name);
    int st[LF_N];
    for (int f = 0; f < LF_N; f++)
        st[f] = LIKE_INCLUDING;
    st[LF_OPTIONS] = LIKE_OVERWRITING;
    static const char *const FEATURES[LF_N] = {"CONSTRAINTS", "GENERATED",  "METADATA",
                                               "OPTIONS",     "PARTITIONS", "WATERMARKS"};
    if (accept_op(p, "(")) {
        do {
            int how = accept_kw(p, "INCLUDING")     ? LIKE_INCLUDING
                      : accept_kw(p, "EXCLUDING")   ? LIKE_EXCLUDING
                      : accept_kw(p, "OVERWRITING") ? LIKE_OVERWRITING
                                                    : -1;
            if (how < 0)
                return fail_at(p, cur(p), "expected INCLUDING, EXCLUDING or OVERWRITING");
            sql_token *ft = cur(p);
            int f;
            if (is_kw(ft, "ALL")) {
                p->i++;
                for (f = 0; f < LF_N; f++)
                    st[f] = how;
                continue;
            }
            for (f = 0; f < LF_N; f++)
                if (ft->upper && !strcmp(ft->upper, FEATURES[f]))
                    break;
            if (f == LF_N)
                return fail_at(p, ft,
                               "expected ALL, CONSTRAINTS, GENERATED, METADATA, OPTIONS, "
                               "PARTITIONS or WATERMARKS");
            p->i++;
            st[f] = how;
        } while (!is_op(cur(p), ")"));
        if (!expect_op(p, ")"))
            return NULL;
    }
    /* columns: src's (physical always; computed and metadata as asked), then t's own */
    sql_column *own = s->cols;
    int nown = s->ncols;
    s->cols = NULL;
    s->ncols = 0;
    for (int i = 0; i < src->ncols; i++) {
        const sql_column *c = &src->cols[i];
        int f = c->computed ? LF_GENERATED : c->metadata ? LF_METADATA : -1;
        if (f >= 0 && st[f] == LIKE_EXCLUDING)
            continue;
        bool replaced = false;
        for (int j = 0; j < nown; j++)
            if (!strcmp(own[j].name, c->name)) {
                if (f < 0 || st[f] != LIKE_OVERWRITING)
                    return fail_at(p, &p->t.v[p->i - 1], "LIKE: column '%s' is in both tables%s",
                                   c->name,
                                   f < 0 ? "" : " (OVERWRITING GENERATED/METADATA replaces it)");
                replaced = true;
            }
        if (!replaced)
            PUSH(p, s->cols, s->ncols, *c);
    }
    for (int j = 0; j < nown; j++)
        PUSH(p, s->cols, s->ncols, own[j]);
    /* watermark */
    if (src->wm_col && st[LF_WATERMARKS] != LIKE_EXCLUDING) {
        if (s->wm_col && st[LF_WATERMARKS] == LIKE_INCLUDING)
            return fail_at(p, &p->t.v[p->i - 1],
                           "LIKE: both tables define a WATERMARK (use OVERWRITING WATERMARKS)");
        if (!s->wm_col) {
            s->wm_col = src->wm_col;
            s->wm_pos = src->wm_pos;
            s->wm_expr = src->wm_expr;
        }
    }
    /* primary key and partitions */
    if (src->npk && st[LF_CONSTRAINTS] != LIKE_EXCLUDING && !s->npk) {
        s->pk = src->pk;
        s->npk = src->npk;
    }
    if (src->npart && st[LF_PARTITIONS] != LIKE_EXCLUDING && !s->npart) {
        s->partitioned = src->partitioned;
        s->npart = src->npart;
    }
    /* options: src's unless t has the key (OVERWRITING) */
    if (st[LF_OPTIONS] != LIKE_EXCLUDING) {
        for (int i = 0; i < src->nopts; i++) {
            bool mine = false;
            for (int j = 0; j < s->nopts; j++)
                if (!strcmp(s->opts[j].key, src->opts[i].key))
                    mine = true;
            if (mine && st[LF_OPTIONS] == LIKE_INCLUDING)
                return fail_at(p, &p->t.v[p->i - 1],
                               "LIKE: option '%s' is in both tables (use OVERWRITING OPTIONS)",
                               src->opts[i].key);
            if (!mine)
                PUSH(p, s->opts, s->nopts, src->opts[i]);
        }
    }
    if (s->ncols == 0)
        return fail_at(p, &p->t.v[p->i - 1], "a table needs columns");
    return s;
}

/* A ROW<name type, ...> (or ROW(...)) column: each field becomes a column of its own named
 * "column.field" (nested ROWs recursively), in order, as the catalog and the engine see them;
 * `name.field` in expressions reads it, and a sink prints the fields of a ROW as one nested row
 * (docs/sql.md). The ROW itself is never NULL. */
static bool row_columns(parser *p, sql_stmt *s, const char *prefix, sql_pos pos, int depth)
{
    if (depth > 8)
        return fail_at(p, cur(p), "ROW types nested deeper than 8 levels are not supported");
    p->i++; /* ROW */
    bool angle = accept_op(p, "<");
    if (!angle && !expect_op(p, "("))
        return false;
    for (;;) {
        sql_token *t = cur(p);
        const char *f = ident(p, "a field name", NULL);
        if (!f)
            return false;
        if (strchr(f, '.'))
            return fail_at(p, t, "field names with '.' are not supported");
        char full[256];
        if ((size_t)snprintf(full, sizeof(full), "%s.%s", prefix, f) >= 127)
            return fail_at(p, t, "the field name %s is too long", full);
        if (is_kw(cur(p), "ROW") &&
            (is_op(&p->t.v[p->i + 1], "<") || is_op(&p->t.v[p->i + 1], "("))) {
            if (!row_columns(p, s, sdup(p, full), pos, depth + 1))
                return false;
        } else {
            sql_column c = {.pos = pos_of(t), .name = sdup(p, full)};
            if (!c.name || !(c.type = type_text(p)))
                return false;
            if (cur(p)->kind == TK_STRING) /* a field's description */
                p->i++;
            PUSH(p, s->cols, s->ncols, c);
        }
        if (accept_op(p, ","))
            continue;
        if (!(angle ? expect_op(p, ">") : expect_op(p, ")")))
            return false;
        break;
    }
    if (is_kw(cur(p), "NOT") && is_kw(&p->t.v[p->i + 1], "NULL"))
        p->i += 2;
    else
        accept_kw(p, "NULL");
    (void)pos;
    return true;
}

static sql_stmt *create_table(parser *p, sql_stmt *s)
{
    if (accept_kw(p, "IF")) {
        if (!expect_kw(p, "NOT") || !expect_kw(p, "EXISTS"))
            return NULL;
        s->if_not_exists = true;
    }
    if (!(s->name = qualified_name(p, "a table name", &s->name_pos)))
        return NULL;
    if (is_kw(cur(p), "AS"))
        return fail_at(p, cur(p), "CREATE TABLE ... AS is not supported yet");
    /* the column list may be left out when the table is LIKE another */
    bool cols = is_op(cur(p), "(");
    if (!cols && !is_kw(cur(p), "WITH") && !is_kw(cur(p), "LIKE") && !is_kw(cur(p), "COMMENT") &&
        !is_kw(cur(p), "PARTITIONED"))
        return fail_at(p, cur(p), "expected '(' and the columns");
    if (cols)
        p->i++; /* ( */
    for (; cols;) {
        sql_token *t = cur(p);
        if (is_kw(t, "WATERMARK")) {
            p->i++;
            if (!expect_kw(p, "FOR"))
                return NULL;
            if (s->wm_col)
                return fail_at(p, t, "a table has at most one WATERMARK");
            if (!(s->wm_col = ident(p, "the rowtime column", &s->wm_pos)) || !expect_kw(p, "AS") ||
                !(s->wm_expr = expr(p)))
                return NULL;
        } else if (is_kw(t, "PRIMARY") || is_kw(t, "CONSTRAINT")) {
            if (accept_kw(p, "CONSTRAINT") && !ident(p, "a constraint name", NULL))
                return NULL;
            if (!expect_kw(p, "PRIMARY") || !expect_kw(p, "KEY") || !name_list(p, &s->pk, &s->npk))
                return NULL;
            if (!accept_kw(p, "NOT") || !accept_kw(p, "ENFORCED"))
                return fail_at(p, cur(p), "expected NOT ENFORCED (Flink does not enforce keys)");
        } else {
            sql_column c = {.pos = pos_of(t)};
            if (!(c.name = ident(p, "a column name, WATERMARK or PRIMARY KEY", NULL)))
                return NULL;
            if (strchr(c.name, '.'))
                return fail_at(p, t,
                               "column names with '.' are not supported (a.b names field b "
                               "of ROW column a)");
            if (is_kw(cur(p), "ROW") &&
                (is_op(&p->t.v[p->i + 1], "<") || is_op(&p->t.v[p->i + 1], "("))) {
                if (!row_columns(p, s, c.name, c.pos, 0))
                    return NULL;
                if (accept_kw(p, "COMMENT") && !string_lit(p, "a comment", NULL))
                    return NULL;
                if (accept_op(p, ","))
                    continue;
                if (!accept_op(p, ")"))
                    return fail_at(p, cur(p), "expected ',' or ')'");
                break;
            }
            if (accept_kw(p, "AS")) {
                if (!(c.computed = expr(p)))
                    return NULL;
            } else {
                if (!(c.type = type_text(p)))
                    return NULL;
                if (accept_kw(p, "METADATA")) {
                    c.metadata = true;
                    if (accept_kw(p, "FROM") && !string_lit(p, "the metadata key", NULL))
                        return NULL;
                    if (accept_kw(p, "VIRTUAL"))
                        c.virtual_ = true;
                }
                if (is_kw(cur(p), "PRIMARY")) {
                    p->i++;
                    if (!expect_kw(p, "KEY"))
                        return NULL;
                    accept_kw(p, "NOT");
                    accept_kw(p, "ENFORCED");
                }
            }
            if (accept_kw(p, "COMMENT") && !string_lit(p, "a comment", NULL))
                return NULL;
            PUSH(p, s->cols, s->ncols, c);
        }
        if (accept_op(p, ","))
            continue;
        if (!accept_op(p, ")"))
            return fail_at(p, cur(p), "expected ',' or ')'");
        break;
    }
    if (accept_kw(p, "COMMENT") && !string_lit(p, "a comment", NULL))
        return NULL;
    if (accept_kw(p, "PARTITIONED")) {
        if (!expect_kw(p, "BY") || !name_list(p, &s->partitioned, &s->npart))
            return NULL;
    }
    bool with = is_kw(cur(p), "WITH");
    if (!with && !is_kw(cur(p), "LIKE")) {
        if (!expect_kw(p, "WITH"))
            return NULL;
    }
    if (with) {
        p->i++;
        if (!expect_op(p, "("))
            return NULL;
    }
    for (; with;) {
        sql_option o = {.pos = pos_of(cur(p))};
        if (!(o.key = string_lit(p, "an option name", NULL)) || !expect_op(p, "=") ||
            !(o.value = string_lit(p, "an option value", &o.vpos)))
            return NULL;
        PUSH(p, s->opts, s->nopts, o);
        if (accept_op(p, ","))
            continue;
        if (!expect_op(p, ")"))
            return NULL;
        break;
    }
    if (is_kw(cur(p), "LIKE"))
        return like(p, s);
    if (s->ncols == 0)
        return fail_at(p, cur(p), "a table needs columns (or LIKE another table)");
    return s;
}

static sql_stmt *statement(parser *p);

static sql_stmt *insert(parser *p, sql_stmt *s)
{
    if (!accept_kw(p, "INTO") && !accept_kw(p, "OVERWRITE"))
        return fail_at(p, cur(p), "expected INTO");
    if (!(s->name = qualified_name(p, "a table name", &s->name_pos)))
        return NULL;
    if (is_kw(cur(p), "PARTITION"))
        return fail_at(p, cur(p), "INSERT ... PARTITION is not supported yet");
    if (is_op(cur(p), "(") && !is_kw(&p->t.v[p->i + 1], "SELECT") &&
        !name_list(p, &s->insert_cols, &s->ninsert_cols))
        return NULL;
    if (is_op(cur(p), "(")) {
        p->i++;
        if (!(s->query = query(p)) || !expect_op(p, ")"))
            return NULL;
        return s;
    }
    return (s->query = query(p)) ? s : NULL;
}

static sql_stmt *statement_set(parser *p, sql_stmt *s)
{
    for (;;) {
        accept_op(p, ";");
        if (accept_kw(p, "END"))
            return s;
        sql_token *t = cur(p);
        if (!is_kw(t, "INSERT"))
            return fail_at(p, t, "expected INSERT or END in a statement set");
        p->i++;
        sql_stmt *ins = new_stmt(p, SS_INSERT, t);
        if (!ins || !insert(p, ins))
            return NULL;
        PUSH(p, s->stmts, s->nstmts, ins);
        if (!is_op(cur(p), ";") && !is_kw(cur(p), "END"))
            return fail_at(p, cur(p), "expected ';' or END");
    }
}

static sql_stmt *statement(parser *p)
{
    sql_token *t = cur(p);
    if (accept_kw(p, "CREATE")) {
        bool temp = accept_kw(p, "TEMPORARY");
        if (is_kw(cur(p), "TABLE")) {
            p->i++;
            sql_stmt *s = new_stmt(p, SS_CREATE_TABLE, t);
            if (!s)
                return NULL;
            s->temporary = temp;
            return create_table(p, s);
        }
        if (is_kw(cur(p), "VIEW")) {
            p->i++;
            sql_stmt *s = new_stmt(p, SS_CREATE_VIEW, t);
            if (!s)
                return NULL;
            if (accept_kw(p, "IF") && (!expect_kw(p, "NOT") || !expect_kw(p, "EXISTS")))
                return NULL;
            if (!(s->name = qualified_name(p, "a view name", &s->name_pos)))
                return NULL;
            if (is_op(cur(p), "(") && !name_list(p, &s->insert_cols, &s->ninsert_cols))
                return NULL;
            if (!expect_kw(p, "AS") || !(s->query = query(p)))
                return NULL;
            return s;
        }
        if (is_kw(cur(p), "FUNCTION") || is_kw(cur(p), "CATALOG") || is_kw(cur(p), "DATABASE"))
            return fail_at(p, cur(p), "CREATE %s is not supported yet", cur(p)->upper);
        return fail_at(p, cur(p), "expected TABLE or VIEW");
    }
    if (accept_kw(p, "DROP")) {
        sql_stmt *s = new_stmt(p, SS_DROP, t);
        accept_kw(p, "TEMPORARY");
        if (!accept_kw(p, "TABLE") && !accept_kw(p, "VIEW"))
            return fail_at(p, cur(p), "expected TABLE or VIEW");
        if (accept_kw(p, "IF") && !expect_kw(p, "EXISTS"))
            return NULL;
        return s && (s->name = qualified_name(p, "a name", &s->name_pos)) ? s : NULL;
    }
    if (accept_kw(p, "SET")) {
        sql_stmt *s = new_stmt(p, SS_SET, t);
        if (!s)
            return NULL;
        if (cur(p)->kind == TK_STRING) {
            s->key = string_lit(p, "a key", NULL);
        } else {
            /* SET key.with.dots = value (unquoted, as the SQL client accepts) */
            char buf[512] = "";
            while (cur(p)->kind == TK_IDENT || is_op(cur(p), ".") || is_op(cur(p), "-")) {
                strncat(buf, cur(p)->text, sizeof(buf) - strlen(buf) - 1);
                p->i++;
            }
            if (!*buf)
                return fail_at(p, cur(p), "expected a key, e.g. SET 'parallelism.default' = '2'");
            s->key = sdup(p, buf);
        }
        if (!s->key || !expect_op(p, "="))
            return NULL;
        sql_token *v = cur(p);
        if (v->kind != TK_STRING && v->kind != TK_NUMBER && v->kind != TK_IDENT)
            return fail_at(p, v, "expected a value");
        p->i++;
        s->value = sdup(p, v->text);
        return s;
    }
    if (accept_kw(p, "RESET")) {
        sql_stmt *s = new_stmt(p, SS_RESET, t);
        if (s && cur(p)->kind == TK_STRING)
            s->key = string_lit(p, "a key", NULL);
        return s;
    }
    if (accept_kw(p, "INSERT")) {
        sql_stmt *s = new_stmt(p, SS_INSERT, t);
        return s ? insert(p, s) : NULL;
    }
    if (accept_kw(p, "EXECUTE")) {
        if (!expect_kw(p, "STATEMENT") || !expect_kw(p, "SET") || !expect_kw(p, "BEGIN"))
            return NULL;
        sql_stmt *s = new_stmt(p, SS_STATEMENT_SET, t);
        return s ? statement_set(p, s) : NULL;
    }
    if (accept_kw(p, "BEGIN")) {
        if (!expect_kw(p, "STATEMENT") || !expect_kw(p, "SET"))
            return NULL;
        sql_stmt *s = new_stmt(p, SS_STATEMENT_SET, t);
        return s ? statement_set(p, s) : NULL;
    }
    if (accept_kw(p, "EXPLAIN")) {
        if (accept_kw(p, "PLAN") && !expect_kw(p, "FOR"))
            return NULL;
        sql_stmt *s = new_stmt(p, SS_EXPLAIN, t);
        sql_stmt *inner = statement(p);
        if (!s || !inner)
            return NULL;
        PUSH(p, s->stmts, s->nstmts, inner);
        return s;
    }
    if (is_kw(t, "SELECT"))
        return fail_at(p, t, "a job needs INSERT INTO a sink table; a bare SELECT is not a job");
    if (is_kw(t, "USE") || is_kw(t, "SHOW") || is_kw(t, "DESCRIBE") || is_kw(t, "ALTER") ||
        is_kw(t, "LOAD") || is_kw(t, "ADD"))
        return fail_at(p, t, "%s statements are not supported yet", t->upper);
    return fail_at(p, t, "expected a statement (CREATE, SET, INSERT, EXECUTE STATEMENT SET ...)");
}

int sql_parse(const char *text, size_t len, const char *file, sql_script **out, weir_error *err)
{
    parser p = {.err = err};
    p.s = calloc(1, sizeof(sql_script));
    if (!p.s)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    p.s->file = file ? file : "<sql>";
    int rc = sql_tokenize(text, len, p.s->file, &p.t, err);
    if (rc) {
        free(p.s);
        return rc;
    }
    p.s->file = sdup(&p, p.s->file);
    while (!p.failed && cur(&p)->kind != TK_EOF) {
        if (accept_op(&p, ";"))
            continue;
        sql_stmt *s = statement(&p);
        if (!s)
            break;
        for (int k = 0; k < p.npending; k++) { /* tables made for VALUES first */
            void *g = grow(&p, p.s->stmts, p.s->nstmts, sizeof(sql_stmt *));
            if (!g)
                break;
            p.s->stmts = g;
            p.s->stmts[p.s->nstmts++] = p.pending[k];
        }
        p.npending = 0;
        void *g = grow(&p, p.s->stmts, p.s->nstmts, sizeof(sql_stmt *));
        if (!g) {
            fail_oom(&p);
            break;
        }
        p.s->stmts = g;
        p.s->stmts[p.s->nstmts++] = s;
        if (!is_op(cur(&p), ";") && cur(&p)->kind != TK_EOF) {
            fail_at(&p, cur(&p), "expected ';' after the statement");
            break;
        }
    }
    sql_tokens_free(&p.t);
    if (p.failed) {
        sql_script_free(p.s);
        return err && err->code ? err->code : WEIR_EPARSE;
    }
    *out = p.s;
    return 0;
}

void sql_script_free(sql_script *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nallocs; i++)
        free(s->allocs[i]);
    free(s->allocs);
    free(s);
}
