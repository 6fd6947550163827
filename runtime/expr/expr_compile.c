/*
 * expr_compile.c - compiling expression JSON (docs/expressions.md) into typed node trees:
 * arity and type checks with SQL's implicit numeric widening, literal parsing, rewriting of
 * derived forms (BETWEEN, IN, IF, NULLIF, NOT_LIKE ...) into core operators, constant folding.
 * Every error names the JSON path of the offending node.
 *
 * Layer: runtime/expr.
 */
#include "runtime/expr/expr_int.h"
#include "runtime/types/decimal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 200

typedef struct cctx {
    const rt_type *input;
    uint32_t ninput;
    weir_error *err;
    int depth;
} cctx;

static void node_free(node *n)
{
    if (!n)
        return;
    for (uint32_t i = 0; i < n->nargs; i++)
        node_free(n->args[i]);
    free(n->args);
    if (!n->borrowed) {
        free(n->out.null);
        free(n->out.i64);
    }
    if (n->re) {
        regfree(n->re);
        free(n->re);
    }
    free(n->path);
    free(n->owned);
    free(n->fails);
    free(n);
}

void rt_expr_free(rt_expr *e)
{
    if (!e)
        return;
    node_free(e->root);
    rt_arena_free(&e->arena);
    free(e);
}

rt_type rt_expr_type(const rt_expr *e)
{
    return e->root->type;
}

bool rt_expr_is_constant(const rt_expr *e)
{
    return e->root->is_const;
}

int expr_node_reserve(node *n, uint32_t rows)
{
    if (n->borrowed || rows <= n->cap)
        return 0;
    uint32_t cap = n->cap ? n->cap : RT_BATCH_ROWS;
    while (cap < rows)
        cap *= 2;
    uint8_t *nl = realloc(n->out.null, cap);
    if (!nl)
        return WEIR_ENOMEM;
    n->out.null = nl;
    size_t w = rt_phys_width(rt_type_phys(n->type));
    void *nv = realloc(n->out.i64, cap * w);
    if (!nv)
        return WEIR_ENOMEM;
    n->out.i64 = nv;
    n->cap = cap;
    return 0;
}

static node *new_node(expr_op op, rt_type t, const char *path)
{
    node *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->op = op;
    n->type = t;
    n->out.type = t;
    n->path = strdup(path);
    if (!n->path || expr_node_reserve(n, RT_BATCH_ROWS)) {
        node_free(n);
        return NULL;
    }
    return n;
}

/* --- typing --------------------------------------------------------------------------------- */

static int num_rank(rt_type t)
{
    switch (t.kind) {
    case RT_TINYINT:
        return 1;
    case RT_SMALLINT:
        return 2;
    case RT_INT:
        return 3;
    case RT_BIGINT:
        return 4;
    case RT_DECIMAL:
        return 5;
    case RT_FLOAT:
        return 6;
    case RT_DOUBLE:
        return 7;
    default:
        return 0;
    }
}

static void int_as_decimal(rt_type t, unsigned *p, unsigned *s)
{
    static const unsigned digits[] = {0, 3, 5, 10, 19};
    if (t.kind == RT_DECIMAL) {
        *p = t.precision;
        *s = t.scale;
    } else {
        *p = digits[num_rank(t) < 5 ? num_rank(t) : 4];
        *s = 0;
    }
}

static unsigned umax(unsigned a, unsigned b)
{
    return a > b ? a : b;
}

/* The result type of arithmetic `op` on a and b (both numeric or NULL). */
static rt_type arith_type(expr_op op, rt_type a, rt_type b)
{
    if (a.kind == RT_NULLTYPE)
        a = b;
    if (b.kind == RT_NULLTYPE)
        b = a;
    rt_type r;
    int ra = num_rank(a), rb = num_rank(b);
    if (ra >= 6 || rb >= 6) {
        r = rt_type_of(ra == 7 || rb == 7 ? RT_DOUBLE : RT_FLOAT);
    } else if (ra == 5 || rb == 5) {
        /* Flink's LogicalTypeMerging rules, integers as DECIMAL(3|5|10|19, 0) */
        unsigned p1, s1, p2, s2;
        int_as_decimal(a, &p1, &s1);
        int_as_decimal(b, &p2, &s2);
        switch (op) {
        case OP_MUL:
            r = rt_dec_mul_type(p1, s1, p2, s2);
            break;
        case OP_DIV:
            r = rt_dec_div_type(p1, s1, p2, s2);
            break;
        case OP_MOD:
            r = rt_dec_mod_type(p1, s1, p2, s2);
            break;
        case OP_CASE: /* the common type of branches (see common_type) */
            r = rt_dec_common_type(p1, s1, p2, s2);
            break;
        default:
            r = rt_dec_add_type(p1, s1, p2, s2);
            break;
        }
    } else {
        r = rt_type_of((rt_kind)(ra > rb ? a.kind : b.kind));
    }
    r.nullable = a.nullable || b.nullable;
    return r;
}

static bool comparable(rt_type a, rt_type b)
{
    if (a.kind == RT_NULLTYPE || b.kind == RT_NULLTYPE)
        return true;
    if (rt_type_is_numeric(a) && rt_type_is_numeric(b))
        return true;
    if (rt_type_is_string(a) && rt_type_is_string(b))
        return true;
    if (a.kind == RT_BOOLEAN && b.kind == RT_BOOLEAN)
        return true;
    if (a.kind == RT_BYTES && b.kind == RT_BYTES)
        return true;
    bool ta = a.kind == RT_TIMESTAMP || a.kind == RT_TIMESTAMP_LTZ || a.kind == RT_DATE;
    bool tb = b.kind == RT_TIMESTAMP || b.kind == RT_TIMESTAMP_LTZ || b.kind == RT_DATE;
    if (ta && tb)
        return true;
    return a.kind == RT_TIME && b.kind == RT_TIME;
}

/* The common type of CASE/COALESCE results; false when there is none. */
static bool common_type(node **v, uint32_t n, rt_type *out)
{
    rt_type r = {.kind = RT_NULLTYPE, .nullable = 1};
    bool nullable = false;
    for (uint32_t i = 0; i < n; i++) {
        rt_type t = v[i]->type;
        nullable |= t.nullable;
        if (t.kind == RT_NULLTYPE)
            continue;
        if (r.kind == RT_NULLTYPE) {
            r = t;
            continue;
        }
        if (rt_type_is_numeric(r) && rt_type_is_numeric(t))
            r = arith_type(OP_CASE, r, t);
        else if (rt_type_is_string(r) && rt_type_is_string(t))
            r = rt_type_varchar(umax(r.length, t.length));
        else if (r.kind == t.kind)
            r.precision = (uint8_t)umax(r.precision, t.precision);
        else if ((r.kind == RT_TIMESTAMP || r.kind == RT_TIMESTAMP_LTZ) &&
                 (t.kind == RT_TIMESTAMP || t.kind == RT_TIMESTAMP_LTZ))
            r.kind = RT_TIMESTAMP;
        else
            return false;
    }
    r.nullable = nullable;
    r.rowtime = r.proctime = 0;
    *out = r;
    return true;
}

static const char *tname(rt_type t, char *buf, size_t n)
{
    if (t.kind == RT_NULLTYPE)
        return "NULL";
    rt_type u = t;
    u.nullable = 1;
    return rt_type_format(u, buf, n);
}

/* --- literals --------------------------------------------------------------------------------- */

static int literal(const json_t *j, const char *path, node **out, cctx *c)
{
    const char *ts = json_string_value(json_object_get(j, "type"));
    json_t *v = json_object_get(j, "value");
    rt_type t;
    weir_error te = {0};
    if (!ts)
        return weir_error_set(c->err, WEIR_EPARSE, "%s.type: a literal needs a type", path);
    if (!strcasecmp(ts, "NULL"))
        t = (rt_type){.kind = RT_NULLTYPE, .nullable = 1};
    else if (rt_type_parse(ts, &t, &te))
        return weir_error_set(c->err, WEIR_EPARSE, "%s.type: %s", path, te.msg);
    node *n = new_node(OP_LIT, t, path);
    if (!n)
        return weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
    n->is_const = true;
    int rc = 0;
    if (!v || json_is_null(v) || t.kind == RT_NULLTYPE) {
        expr_set_null(&n->out, 0);
        *out = n;
        return 0;
    }
    n->type.nullable = 0;
    n->out.type = n->type;
    n->out.null[0] = 0;
    const char *sv = json_string_value(v);
    switch (t.kind) {
    case RT_BOOLEAN:
        if (json_is_boolean(v))
            n->out.i64[0] = json_is_true(v);
        else if (sv && (!strcasecmp(sv, "true") || !strcasecmp(sv, "false")))
            n->out.i64[0] = !strcasecmp(sv, "true");
        else
            rc = WEIR_EPARSE;
        break;
    case RT_TINYINT:
    case RT_SMALLINT:
    case RT_INT:
    case RT_BIGINT: {
        if (json_is_integer(v))
            n->out.i64[0] = json_integer_value(v);
        else if (sv) {
            char *end;
            errno = 0;
            long long x = strtoll(sv, &end, 10);
            if (errno || end == sv || *end)
                rc = WEIR_EPARSE;
            n->out.i64[0] = x;
        } else
            rc = WEIR_EPARSE;
        int64_t lo = t.kind == RT_TINYINT    ? INT8_MIN
                     : t.kind == RT_SMALLINT ? INT16_MIN
                     : t.kind == RT_INT      ? INT32_MIN
                                             : INT64_MIN;
        int64_t hi = -(lo + 1);
        if (!rc && (n->out.i64[0] < lo || n->out.i64[0] > hi))
            rc = WEIR_ERANGE;
        break;
    }
    case RT_FLOAT:
    case RT_DOUBLE:
        if (json_is_number(v))
            n->out.f64[0] = json_number_value(v);
        else if (sv) {
            char *end;
            n->out.f64[0] = strtod(sv, &end);
            if (end == sv || *end)
                rc = WEIR_EPARSE;
        } else
            rc = WEIR_EPARSE;
        break;
    case RT_DECIMAL: {
        char buf[128];
        if (json_is_integer(v))
            snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v))
            snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
        else if (sv)
            snprintf(buf, sizeof(buf), "%s", sv);
        else {
            rc = WEIR_EPARSE;
            break;
        }
        rt_i128 d = 0;
        int pr = rt_dec_parse(buf, strlen(buf), t.scale, &d);
        rc = pr < 0 ? WEIR_EPARSE : pr > 0 || !rt_dec_fits(d, t.precision) ? WEIR_ERANGE : 0;
        rt_col_set_dec(&n->out, 0, d);
        break;
    }
    case RT_CHAR:
    case RT_VARCHAR:
    case RT_BYTES:
        if (!sv) {
            rc = WEIR_EPARSE;
            break;
        }
        n->owned = strdup(sv);
        if (!n->owned)
            rc = WEIR_ENOMEM;
        n->out.str[0] = (rt_str){n->owned, (uint32_t)strlen(sv)};
        if (t.length == RT_MAX_LENGTH || t.kind == RT_CHAR) {
            n->type = rt_type_of(t.kind == RT_BYTES ? RT_BYTES : RT_CHAR);
            n->type.length = (uint32_t)strlen(sv) ? (uint32_t)strlen(sv) : 1;
            n->type.nullable = 0;
            n->out.type = n->type;
        }
        break;
    case RT_DATE:
        if (!sv || !expr_parse_date(sv, strlen(sv), &n->out.i64[0]))
            rc = WEIR_EPARSE;
        break;
    case RT_TIME:
        if (!sv || !expr_parse_time(sv, strlen(sv), &n->out.i64[0]))
            rc = WEIR_EPARSE;
        break;
    case RT_TIMESTAMP:
    case RT_TIMESTAMP_LTZ:
        if (json_is_integer(v))
            n->out.i64[0] = json_integer_value(v);
        else if (!sv || !expr_parse_timestamp(sv, strlen(sv), &n->out.i64[0]))
            rc = WEIR_EPARSE;
        break;
    default:
        rc = WEIR_EPARSE;
        break;
    }
    if (rc) {
        char tb[64];
        char *vs = json_dumps(v, JSON_ENCODE_ANY);
        int r2 =
            weir_error_set(c->err, rc == WEIR_ENOMEM ? WEIR_ENOMEM : WEIR_EPARSE,
                           "%s.value: %s is not a valid %s literal%s", path, vs ? vs : "?",
                           tname(t, tb, sizeof(tb)), rc == WEIR_ERANGE ? " (out of range)" : "");
        free(vs);
        node_free(n);
        return r2;
    }
    *out = n;
    return 0;
}

/* --- calls ------------------------------------------------------------------------------------ */

static int compile_node(const json_t *j, const char *path, node **out, cctx *c);

typedef struct fn_def {
    const char *name;
    expr_op op;
    int min_args, max_args; /* -1: any */
} fn_def;

static const fn_def fns[] = {
    {"PLUS", OP_ADD, 2, 2},
    {"MINUS", OP_SUB, 2, 2},
    {"TIMES", OP_MUL, 2, 2},
    {"DIVIDE", OP_DIV, 2, 2},
    {"MOD", OP_MOD, 2, 2},
    {"NEGATE", OP_NEG, 1, 1},
    {"EQUALS", OP_EQ, 2, 2},
    {"NOT_EQUALS", OP_NE, 2, 2},
    {"LESS_THAN", OP_LT, 2, 2},
    {"LESS_THAN_OR_EQUAL", OP_LE, 2, 2},
    {"GREATER_THAN", OP_GT, 2, 2},
    {"GREATER_THAN_OR_EQUAL", OP_GE, 2, 2},
    {"AND", OP_AND, 2, -1},
    {"OR", OP_OR, 2, -1},
    {"NOT", OP_NOT, 1, 1},
    {"IS_NULL", OP_IS_NULL, 1, 1},
    {"IS_NOT_NULL", OP_IS_NOT_NULL, 1, 1},
    {"IS_TRUE", OP_IS_TRUE, 1, 1},
    {"IS_FALSE", OP_IS_FALSE, 1, 1},
    {"IS_NOT_TRUE", OP_IS_NOT_TRUE, 1, 1},
    {"IS_NOT_FALSE", OP_IS_NOT_FALSE, 1, 1},
    {"CASE", OP_CASE, 2, -1},
    {"COALESCE", OP_COALESCE, 1, -1},
    {"CAST", OP_CAST, 1, 1},
    {"TRY_CAST", OP_TRY_CAST, 1, 1},
    {"LIKE", OP_LIKE, 2, 3},
    {"UPPER", OP_UPPER, 1, 1},
    {"LOWER", OP_LOWER, 1, 1},
    {"TRIM", OP_TRIM, 1, 3},
    {"LTRIM", OP_LTRIM, 1, 1},
    {"RTRIM", OP_RTRIM, 1, 1},
    {"SUBSTRING", OP_SUBSTRING, 2, 3},
    {"SUBSTR", OP_SUBSTRING, 2, 3},
    {"CONCAT", OP_CONCAT, 1, -1},
    {"CONCAT_WS", OP_CONCAT_WS, 2, -1},
    {"CHAR_LENGTH", OP_CHAR_LENGTH, 1, 1},
    {"CHARACTER_LENGTH", OP_CHAR_LENGTH, 1, 1},
    {"REPLACE", OP_REPLACE, 3, 3},
    {"REGEXP_EXTRACT", OP_REGEXP_EXTRACT, 2, 3},
    {"REGEXP_REPLACE", OP_REGEXP_REPLACE, 3, 3},
    {"SPLIT_INDEX", OP_SPLIT_INDEX, 3, 3},
    {"INITCAP", OP_INITCAP, 1, 1},
    {"LPAD", OP_LPAD, 3, 3},
    {"RPAD", OP_RPAD, 3, 3},
    {"ABS", OP_ABS, 1, 1},
    {"ROUND", OP_ROUND, 1, 2},
    {"FLOOR", OP_FLOOR, 1, 1},
    {"CEIL", OP_CEIL, 1, 1},
    {"CEILING", OP_CEIL, 1, 1},
    {"POWER", OP_POWER, 2, 2},
    {"SQRT", OP_SQRT, 1, 1},
    {"LN", OP_LN, 1, 1},
    {"LOG10", OP_LOG10, 1, 1},
    {"EXP", OP_EXP, 1, 1},
    {"CURRENT_TIMESTAMP", OP_CURRENT_TIMESTAMP, 0, 0},
    {"NOW", OP_CURRENT_TIMESTAMP, 0, 0},
    {"LOCALTIMESTAMP", OP_LOCALTIMESTAMP, 0, 0},
    {"CURRENT_DATE", OP_CURRENT_DATE, 0, 0},
    {"PROCTIME", OP_PROCTIME, 0, 0},
    {"DATE_FORMAT", OP_DATE_FORMAT, 2, 2},
    {"TO_TIMESTAMP", OP_TO_TIMESTAMP, 1, 2},
    {"TO_TIMESTAMP_LTZ", OP_TO_TIMESTAMP_LTZ, 1, 2},
    {"UNIX_TIMESTAMP", OP_UNIX_TIMESTAMP, 0, 2},
    {"FROM_UNIXTIME", OP_FROM_UNIXTIME, 1, 2},
    {"EXTRACT", OP_EXTRACT, 2, 2},
    {"TIMESTAMPADD", OP_TIMESTAMPADD, 3, 3},
    {"TIMESTAMPDIFF", OP_TIMESTAMPDIFF, 3, 3},
    {"HASH_CODE", OP_HASH_CODE, 1, 1},
};

/* Derived forms, rewritten into core calls before compiling. */
static json_t *call(const char *fn, json_t *args)
{
    return json_pack("{s:s, s:s, s:o}", "kind", "call", "fn", fn, "args", args);
}

static json_t *rewrite(const char *fn, const json_t *args)
{
    size_t n = json_array_size(args);
#define A(i) json_deep_copy(json_array_get(args, i))
    if (!strcmp(fn, "BETWEEN") && n == 3)
        return call("AND", json_pack("[o, o]",
                                     call("GREATER_THAN_OR_EQUAL", json_pack("[o,o]", A(0), A(1))),
                                     call("LESS_THAN_OR_EQUAL", json_pack("[o,o]", A(0), A(2)))));
    if (!strcmp(fn, "NOT_BETWEEN") && n == 3)
        return call("NOT", json_pack("[o]", rewrite("BETWEEN", args)));
    if (!strcmp(fn, "IN") && n == 2)
        return call("EQUALS", json_pack("[o,o]", A(0), A(1)));
    if (!strcmp(fn, "IN") && n > 2) {
        json_t *ors = json_array();
        for (size_t i = 1; i < n; i++)
            json_array_append_new(ors, call("EQUALS", json_pack("[o,o]", A(0), A(i))));
        return call("OR", ors);
    }
    if (!strcmp(fn, "NOT_IN") && n >= 2)
        return call("NOT", json_pack("[o]", rewrite("IN", args)));
    if (!strcmp(fn, "NOT_LIKE") && (n == 2 || n == 3))
        return call("NOT", json_pack("[o]", call("LIKE", json_deep_copy(args))));
    if (!strcmp(fn, "IF") && n == 3)
        return call("CASE", json_pack("[o, o, o]", A(0), A(1), A(2)));
    if (!strcmp(fn, "NULLIF") && n == 2)
        return call("CASE",
                    json_pack("[o, {s:s, s:s}, o]", call("EQUALS", json_pack("[o,o]", A(0), A(1))),
                              "kind", "literal", "type", "NULL", A(0)));
    if (!strcmp(fn, "IS_DISTINCT_FROM") || !strcmp(fn, "IS_NOT_DISTINCT_FROM"))
        return NULL;
#undef A
    return NULL;
}

const char *expr_regex_refused(const char *pat, size_t len)
{
    if (len > EXPR_REGEX_MAX)
        return "longer than 512 characters";
    bool in_class = false, prev_quant = false;
    for (size_t i = 0; i < len; i++) {
        char ch = pat[i];
        if (ch == '\\' && i + 1 < len) {
            i++;
            prev_quant = false;
            continue;
        }
        if (in_class) {
            if (ch == ']')
                in_class = false;
            continue;
        }
        if (ch == '[') {
            in_class = true;
            prev_quant = false;
            continue;
        }
        bool quant = ch == '*' || ch == '+' || ch == '?' || ch == '{';
        if (quant && prev_quant)
            return "stacked quantifiers";
        if (ch == '{') {
            while (i < len && pat[i] != '}')
                i++;
        }
        prev_quant = quant || (ch == ')' && i > 0 && (pat[i - 1] == '*' || pat[i - 1] == '+'));
    }
    return NULL;
}

static int check_arity(const fn_def *f, uint32_t n, const char *path, cctx *c)
{
    if ((int)n < f->min_args || (f->max_args >= 0 && (int)n > f->max_args)) {
        if (f->min_args == f->max_args)
            return weir_error_set(c->err, WEIR_EPARSE, "%s: %s takes %d argument%s, not %u", path,
                                  f->name, f->min_args, f->min_args == 1 ? "" : "s", n);
        return weir_error_set(c->err, WEIR_EPARSE, "%s: %s takes %d to %d arguments, not %u", path,
                              f->name, f->min_args, f->max_args < 0 ? 99 : f->max_args, n);
    }
    return 0;
}

#define TYPE_ERR(...) weir_error_set(c->err, WEIR_ETYPE, __VA_ARGS__)

static bool is_num(const node *a)
{
    return rt_type_is_numeric(a->type) || a->type.kind == RT_NULLTYPE;
}

static bool is_str(const node *a)
{
    return rt_type_is_string(a->type) || a->type.kind == RT_NULLTYPE;
}

static bool is_bool(const node *a)
{
    return a->type.kind == RT_BOOLEAN || a->type.kind == RT_NULLTYPE;
}

static bool is_ts(const node *a)
{
    return a->type.kind == RT_TIMESTAMP || a->type.kind == RT_TIMESTAMP_LTZ ||
           a->type.kind == RT_DATE || a->type.kind == RT_NULLTYPE;
}

static bool any_nullable(node **a, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (a[i]->type.nullable)
            return true;
    return false;
}

/* The constant string of a literal argument, or NULL. */
static const char *const_str(const node *a)
{
    if (!a->is_const || a->out.null[0] || rt_type_phys(a->type) != RT_PHYS_STR)
        return NULL;
    return a->owned ? a->owned : NULL;
}

static int type_call(node *n, const fn_def *f, const json_t *j, const char *path, cctx *c)
{
    node **a = n->args;
    uint32_t na = n->nargs;
    char b1[64], b2[64];
    bool nullable = any_nullable(a, na);
    rt_type boolean = rt_type_of(RT_BOOLEAN);
    switch (f->op) {
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV:
    case OP_MOD:
        if (!is_num(a[0]) || !is_num(a[1]))
            return TYPE_ERR("%s: %s cannot be applied to %s and %s", path, f->name,
                            tname(a[0]->type, b1, sizeof(b1)), tname(a[1]->type, b2, sizeof(b2)));
        if (f->op == OP_MOD && (a[0]->type.kind >= RT_FLOAT || a[1]->type.kind >= RT_FLOAT) &&
            a[0]->type.kind != RT_NULLTYPE && a[1]->type.kind != RT_NULLTYPE &&
            (num_rank(a[0]->type) >= 6 || num_rank(a[1]->type) >= 6))
            n->type = rt_type_of(RT_DOUBLE);
        else
            n->type = arith_type(f->op, a[0]->type, a[1]->type);
        if (n->type.kind == RT_NULLTYPE)
            n->type = rt_type_of(RT_INT);
        break;
    case OP_NEG:
    case OP_ABS:
        if (!is_num(a[0]))
            return TYPE_ERR("%s: %s cannot be applied to %s", path, f->name,
                            tname(a[0]->type, b1, sizeof(b1)));
        n->type = a[0]->type.kind == RT_NULLTYPE ? rt_type_of(RT_INT) : a[0]->type;
        break;
    case OP_EQ:
    case OP_NE:
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
        if (!comparable(a[0]->type, a[1]->type))
            return TYPE_ERR("%s: %s cannot compare %s with %s", path, f->name,
                            tname(a[0]->type, b1, sizeof(b1)), tname(a[1]->type, b2, sizeof(b2)));
        n->type = boolean;
        break;
    case OP_AND:
    case OP_OR:
    case OP_NOT:
        for (uint32_t i = 0; i < na; i++)
            if (!is_bool(a[i]))
                return TYPE_ERR("%s.args[%u]: %s needs BOOLEAN, not %s", path, i, f->name,
                                tname(a[i]->type, b1, sizeof(b1)));
        n->type = boolean;
        break;
    case OP_IS_NULL:
    case OP_IS_NOT_NULL:
        n->type = boolean;
        nullable = false;
        break;
    case OP_IS_TRUE:
    case OP_IS_FALSE:
    case OP_IS_NOT_TRUE:
    case OP_IS_NOT_FALSE:
        if (!is_bool(a[0]))
            return TYPE_ERR("%s: %s needs BOOLEAN, not %s", path, f->name,
                            tname(a[0]->type, b1, sizeof(b1)));
        n->type = boolean;
        nullable = false;
        break;
    case OP_CASE: {
        node *vals[256];
        uint32_t nv = 0;
        for (uint32_t i = 0; i + 1 < na; i += 2) {
            if (!is_bool(a[i]))
                return TYPE_ERR("%s.args[%u]: a CASE condition must be BOOLEAN, not %s", path, i,
                                tname(a[i]->type, b1, sizeof(b1)));
            if (nv < 255)
                vals[nv++] = a[i + 1];
        }
        if (na % 2 == 1 && nv < 256)
            vals[nv++] = a[na - 1];
        if (!common_type(vals, nv, &n->type))
            return TYPE_ERR("%s: the CASE branches have no common type", path);
        if (na % 2 == 0)
            n->type.nullable = 1;
        if (n->type.kind == RT_NULLTYPE)
            n->type = rt_type_of(RT_INT);
        return 0;
    }
    case OP_COALESCE:
        if (!common_type(a, na, &n->type))
            return TYPE_ERR("%s: COALESCE arguments have no common type", path);
        n->type.nullable = 1;
        for (uint32_t i = 0; i < na; i++)
            if (!a[i]->type.nullable)
                n->type.nullable = 0;
        if (n->type.kind == RT_NULLTYPE)
            n->type = rt_type_of(RT_INT);
        return 0;
    case OP_CAST:
    case OP_TRY_CAST: {
        const char *ts = json_string_value(json_object_get(j, "type"));
        weir_error te = {0};
        if (!ts || rt_type_parse(ts, &n->type, &te))
            return weir_error_set(c->err, WEIR_EPARSE, "%s.type: %s", path,
                                  ts ? te.msg : "CAST needs a target type");
        rt_type from = a[0]->type, to = n->type;
        bool ok = from.kind == RT_NULLTYPE || rt_type_phys(from) == RT_PHYS_STR ||
                  rt_type_phys(to) == RT_PHYS_STR ||
                  (rt_type_is_numeric(from) && (rt_type_is_numeric(to) || to.kind == RT_BOOLEAN ||
                                                to.kind == RT_TIMESTAMP_LTZ)) ||
                  (from.kind == RT_BOOLEAN && (rt_type_is_numeric(to) || to.kind == RT_BOOLEAN)) ||
                  (rt_type_is_temporal(from) && rt_type_is_temporal(to) &&
                   !(from.kind == RT_TIME) == !(to.kind == RT_TIME)) ||
                  (from.kind == RT_TIME && to.kind == RT_TIME) ||
                  (from.kind == RT_TIMESTAMP_LTZ && rt_type_is_integer(to));
        if (!ok)
            return TYPE_ERR("%s: cannot CAST %s to %s", path, tname(from, b1, sizeof(b1)),
                            tname(to, b2, sizeof(b2)));
        n->type.nullable = from.nullable || f->op == OP_TRY_CAST;
        return 0;
    }
    case OP_LIKE:
        for (uint32_t i = 0; i < na; i++)
            if (!is_str(a[i]))
                return TYPE_ERR("%s.args[%u]: LIKE needs strings, not %s", path, i,
                                tname(a[i]->type, b1, sizeof(b1)));
        n->type = boolean;
        break;
    case OP_UPPER:
    case OP_LOWER:
    case OP_LTRIM:
    case OP_RTRIM:
    case OP_INITCAP:
        if (!is_str(a[0]))
            return TYPE_ERR("%s: %s needs a string, not %s", path, f->name,
                            tname(a[0]->type, b1, sizeof(b1)));
        n->type = rt_type_varchar(RT_MAX_LENGTH);
        break;
    case OP_TRIM: {
        /* TRIM(s) | TRIM(side, s) | TRIM(side, chars, s); side is a string literal. */
        node *s = a[na - 1];
        n->unit = 0;
        if (na >= 2) {
            const char *side = const_str(a[0]);
            if (!side || (strcasecmp(side, "BOTH") && strcasecmp(side, "LEADING") &&
                          strcasecmp(side, "TRAILING")))
                return TYPE_ERR("%s.args[0]: TRIM's first argument is 'BOTH', 'LEADING' or "
                                "'TRAILING'",
                                path);
            n->unit = !strcasecmp(side, "LEADING") ? 1 : !strcasecmp(side, "TRAILING") ? 2 : 0;
        }
        if (!is_str(s) || (na == 3 && !is_str(a[1])))
            return TYPE_ERR("%s: TRIM needs strings", path);
        n->type = rt_type_varchar(RT_MAX_LENGTH);
        break;
    }
    case OP_SUBSTRING:
        if (!is_str(a[0]) || !rt_type_is_integer(a[1]->type) ||
            (na == 3 && !rt_type_is_integer(a[2]->type)))
            return TYPE_ERR("%s: SUBSTRING needs (string, integer[, integer])", path);
        n->type = rt_type_varchar(RT_MAX_LENGTH);
        break;
    case OP_CONCAT:
    case OP_CONCAT_WS:
    case OP_REPLACE:
    case OP_REGEXP_REPLACE:
        for (uint32_t i = 0; i < na; i++)
            if (!is_str(a[i]))
                return TYPE_ERR("%s.args[%u]: %s needs strings, not %s", path, i, f->name,
                                tname(a[i]->type, b1, sizeof(b1)));
        n->type = rt_type_varchar(RT_MAX_LENGTH);
        if (f->op == OP_CONCAT_WS)
            nullable = a[0]->type.nullable;
        if (f->op == OP_REGEXP_REPLACE)
            goto regex;
        break;
    case OP_CHAR_LENGTH:
        if (!is_str(a[0]))
            return TYPE_ERR("%s: CHAR_LENGTH needs a string, not %s", path,
                            tname(a[0]->type, b1, sizeof(b1)));
        n->type = rt_type_of(RT_INT);
        break;
    case OP_REGEXP_EXTRACT:
        if (!is_str(a[0]) || !is_str(a[1]) || (na == 3 && !rt_type_is_integer(a[2]->type)))
            return TYPE_ERR("%s: REGEXP_EXTRACT needs (string, string[, integer])", path);
        n->type = rt_type_varchar(RT_MAX_LENGTH);
        nullable = true;
    regex : {
        const char *pat = const_str(a[1]);
        const char *why = pat ? expr_regex_refused(pat, strlen(pat)) : NULL;
        if (why)
            return weir_error_set(c->err, WEIR_EUNSUPPORTED, "%s.args[1]: regex not supported: %s",
                                  path, why);
        if (pat) {
            n->re = malloc(sizeof(regex_t));
            if (!n->re)
                return weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
            int e = regcomp(n->re, pat, REG_EXTENDED);
            if (e) {
                char msg[128];
                regerror(e, n->re, msg, sizeof(msg));
                free(n->re);
                n->re = NULL;
                return weir_error_set(c->err, WEIR_EPARSE, "%s.args[1]: invalid regex '%s': %s",
                                      path, pat, msg);
            }
        }
        break;
    }
    case OP_SPLIT_INDEX:
        if (!is_str(a[0]) || !is_str(a[1]) || !rt_type_is_integer(a[2]->type))
            return TYPE_ERR("%s: SPLIT_INDEX needs (string, string, integer)", path);
        n->type = rt_type_varchar(RT_MAX_LENGTH);
        nullable = true;
        break;
    case OP_LPAD:
    case OP_RPAD:
        if (!is_str(a[0]) || !rt_type_is_integer(a[1]->type) || !is_str(a[2]))
            return TYPE_ERR("%s: %s needs (string, integer, string)", path, f->name);
        n->type = rt_type_varchar(RT_MAX_LENGTH);
        nullable = true;
        break;
    case OP_ROUND:
        if (!is_num(a[0]) || (na == 2 && !rt_type_is_integer(a[1]->type)))
            return TYPE_ERR("%s: ROUND needs (numeric[, integer])", path);
        n->type = a[0]->type.kind == RT_NULLTYPE ? rt_type_of(RT_DOUBLE) : a[0]->type;
        if (n->type.kind == RT_DECIMAL) {
            /* Flink's findRoundDecimalType; a non-constant digit count keeps the type */
            int64_t d = na == 1 ? 0 : -1000;
            if (na == 2 && a[1]->is_const && !a[1]->out.null[0])
                d = a[1]->out.i64[0];
            if (d > -1000)
                n->type = rt_dec_round_type(n->type.precision, n->type.scale,
                                            d > 38    ? 38
                                            : d < -38 ? -38
                                                      : (int)d);
        }
        break;
    case OP_FLOOR:
    case OP_CEIL:
        if (!is_num(a[0]))
            return TYPE_ERR("%s: %s needs a number, not %s", path, f->name,
                            tname(a[0]->type, b1, sizeof(b1)));
        n->type = a[0]->type.kind == RT_NULLTYPE ? rt_type_of(RT_DOUBLE) : a[0]->type;
        if (n->type.kind == RT_DECIMAL)
            n->type.scale = 0;
        break;
    case OP_POWER:
    case OP_SQRT:
    case OP_LN:
    case OP_LOG10:
    case OP_EXP:
        for (uint32_t i = 0; i < na; i++)
            if (!is_num(a[i]))
                return TYPE_ERR("%s.args[%u]: %s needs a number, not %s", path, i, f->name,
                                tname(a[i]->type, b1, sizeof(b1)));
        n->type = rt_type_of(RT_DOUBLE);
        break;
    case OP_CURRENT_TIMESTAMP:
    case OP_PROCTIME:
        n->type = rt_type_of(RT_TIMESTAMP_LTZ);
        n->type.precision = 3;
        n->type.proctime = f->op == OP_PROCTIME;
        nullable = false;
        break;
    case OP_LOCALTIMESTAMP:
        n->type = rt_type_timestamp(3);
        nullable = false;
        break;
    case OP_CURRENT_DATE:
        n->type = rt_type_of(RT_DATE);
        nullable = false;
        break;
    case OP_DATE_FORMAT:
        if (!(is_ts(a[0]) || is_str(a[0])) || !is_str(a[1]))
            return TYPE_ERR("%s: DATE_FORMAT needs (timestamp or string, string)", path);
        n->type = rt_type_varchar(RT_MAX_LENGTH);
        nullable = true;
        break;
    case OP_TO_TIMESTAMP:
        if (!is_str(a[0]) || (na == 2 && !is_str(a[1])))
            return TYPE_ERR("%s: TO_TIMESTAMP needs (string[, format])", path);
        n->type = rt_type_timestamp(3);
        nullable = true;
        break;
    case OP_TO_TIMESTAMP_LTZ:
        if (!is_num(a[0]) || (na == 2 && !rt_type_is_integer(a[1]->type)))
            return TYPE_ERR("%s: TO_TIMESTAMP_LTZ needs (numeric[, precision 0 or 3]), not %s",
                            path, tname(a[0]->type, b1, sizeof(b1)));
        if (na == 2 && a[1]->is_const && !a[1]->out.null[0] && a[1]->out.i64[0] != 0 &&
            a[1]->out.i64[0] != 3)
            return TYPE_ERR("%s.args[1]: the precision of TO_TIMESTAMP_LTZ is 0 or 3", path);
        n->type = rt_type_of(RT_TIMESTAMP_LTZ);
        n->type.precision = 3;
        break;
    case OP_UNIX_TIMESTAMP:
        if ((na >= 1 && !is_str(a[0])) || (na == 2 && !is_str(a[1])))
            return TYPE_ERR("%s: UNIX_TIMESTAMP needs ([string[, format]])", path);
        n->type = rt_type_of(RT_BIGINT);
        nullable = na > 0;
        break;
    case OP_FROM_UNIXTIME:
        if (!rt_type_is_integer(a[0]->type) || (na == 2 && !is_str(a[1])))
            return TYPE_ERR("%s: FROM_UNIXTIME needs (integer[, format])", path);
        n->type = rt_type_varchar(RT_MAX_LENGTH);
        break;
    case OP_EXTRACT:
    case OP_TIMESTAMPADD:
    case OP_TIMESTAMPDIFF: {
        const char *u = const_str(a[0]);
        n->unit = u ? expr_time_unit(u) : -1;
        if (n->unit < 0)
            return TYPE_ERR("%s.args[0]: %s needs a time unit literal (SECOND, MINUTE, HOUR, "
                            "DAY, WEEK, MONTH, QUARTER, YEAR ...)",
                            path, f->name);
        if (f->op == OP_EXTRACT) {
            if (!(is_ts(a[1]) || a[1]->type.kind == RT_TIME))
                return TYPE_ERR("%s: EXTRACT needs a date, time or timestamp, not %s", path,
                                tname(a[1]->type, b1, sizeof(b1)));
            n->type = rt_type_of(RT_BIGINT);
        } else if (f->op == OP_TIMESTAMPADD) {
            if (!rt_type_is_integer(a[1]->type) || !is_ts(a[2]))
                return TYPE_ERR("%s: TIMESTAMPADD needs (unit, integer, timestamp)", path);
            n->type = a[2]->type;
            n->type.rowtime = n->type.proctime = 0;
        } else {
            if (!is_ts(a[1]) || !is_ts(a[2]))
                return TYPE_ERR("%s: TIMESTAMPDIFF needs (unit, timestamp, timestamp)", path);
            n->type = rt_type_of(RT_INT);
        }
        nullable = any_nullable(a + 1, na - 1);
        break;
    }
    case OP_HASH_CODE:
        n->type = rt_type_of(RT_INT);
        break;
    default:
        return weir_error_set(c->err, WEIR_EINTERNAL, "%s: untyped function %s", path, f->name);
    }
    n->type.nullable = nullable;
    return 0;
}

static bool deterministic(expr_op op)
{
    return op != OP_CURRENT_TIMESTAMP && op != OP_LOCALTIMESTAMP && op != OP_CURRENT_DATE &&
           op != OP_PROCTIME && op != OP_UNIX_TIMESTAMP;
}

/* Evaluates a node whose arguments are all constants once, and keeps the value. */
static int fold(node *n, cctx *c)
{
    if (!deterministic(n->op) || (n->op == OP_UNIX_TIMESTAMP && n->nargs == 0))
        return 0;
    for (uint32_t i = 0; i < n->nargs; i++)
        if (!n->args[i]->is_const)
            return 0;
    rt_batch *empty = rt_batch_new_types(NULL, 0, 1);
    rt_arena arena;
    rt_arena_init(&arena);
    if (!empty)
        return weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
    weir_error e = {0};
    int rc = expr_eval_node(n, empty, 1, &arena, &e);
    if (rc) {
        /* A constant that fails (1/0, a bad CAST) is left to fail at run time as Flink does
         * when it is reached; most are caught here already, so report it now. */
        rc = weir_error_set(c->err, rc, "%s", e.msg);
    } else {
        n->is_const = true;
        if (rt_type_phys(n->type) == RT_PHYS_STR && !n->out.null[0]) {
            rt_str s = n->out.str[0];
            n->owned = malloc(s.len + 1);
            if (!n->owned)
                rc = weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
            else {
                if (s.len)
                    memcpy(n->owned, s.ptr, s.len);
                n->owned[s.len] = '\0';
                n->out.str[0] = (rt_str){n->owned, s.len};
            }
        }
    }
    rt_arena_free(&arena);
    rt_batch_free(empty);
    return rc;
}

static int compile_call(const json_t *j, const char *path, node **out, cctx *c)
{
    const char *fn = json_string_value(json_object_get(j, "fn"));
    const json_t *args = json_object_get(j, "args");
    if (!fn)
        return weir_error_set(c->err, WEIR_EPARSE, "%s.fn: a call needs a function name", path);
    if (args && !json_is_array(args))
        return weir_error_set(c->err, WEIR_EPARSE, "%s.args: expected an array", path);
    char upper[64];
    snprintf(upper, sizeof(upper), "%s", fn);
    for (char *p = upper; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    json_t *rw = rewrite(upper, args);
    if (rw) {
        int rc = compile_node(rw, path, out, c);
        json_decref(rw);
        return rc;
    }
    const fn_def *f = NULL;
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
        if (!strcmp(fns[i].name, upper))
            f = &fns[i];
    if (!f)
        return weir_error_set(c->err, WEIR_EUNSUPPORTED, "%s.fn: unknown function '%s'", path, fn);
    uint32_t na = (uint32_t)json_array_size(args);
    int rc = check_arity(f, na, path, c);
    if (rc)
        return rc;
    node *n = new_node(f->op, rt_type_of(RT_BOOLEAN), path);
    if (!n)
        return weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
    n->args = calloc(na ? na : 1, sizeof(node *));
    if (!n->args) {
        node_free(n);
        return weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < na; i++) {
        char p[512];
        snprintf(p, sizeof(p), "%s.args[%u]", path, i);
        if ((rc = compile_node(json_array_get(args, i), p, &n->args[i], c))) {
            node_free(n);
            return rc;
        }
        n->nargs++;
    }
    if ((rc = type_call(n, f, j, path, c))) {
        node_free(n);
        return rc;
    }
    n->out.type = n->type;
    /* The output column was sized for the placeholder type: size it for the real one. */
    free(n->out.i64);
    n->out.i64 = NULL;
    uint32_t cap = n->cap;
    n->cap = 0;
    if (expr_node_reserve(n, cap)) {
        node_free(n);
        return weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
    }
    if ((rc = fold(n, c))) {
        node_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

static int compile_node(const json_t *j, const char *path, node **out, cctx *c)
{
    if (!json_is_object(j))
        return weir_error_set(c->err, WEIR_EPARSE, "%s: an expression is a JSON object", path);
    if (++c->depth > MAX_DEPTH) {
        c->depth--;
        return weir_error_set(c->err, WEIR_ETOOBIG, "expression nested deeper than %d at %s",
                              MAX_DEPTH, path);
    }
    const char *kind = json_string_value(json_object_get(j, "kind"));
    int rc;
    if (!kind)
        rc = weir_error_set(c->err, WEIR_EPARSE,
                            "%s.kind: expected \"literal\", \"column\" or \"call\"", path);
    else if (!strcmp(kind, "literal"))
        rc = literal(j, path, out, c);
    else if (!strcmp(kind, "column")) {
        json_t *ix = json_object_get(j, "index");
        if (!json_is_integer(ix) || json_integer_value(ix) < 0 ||
            json_integer_value(ix) >= (json_int_t)c->ninput)
            rc = weir_error_set(c->err, WEIR_EPARSE,
                                "%s.index: column index must be 0..%u (the input has %u columns)",
                                path, c->ninput ? c->ninput - 1 : 0, c->ninput);
        else {
            uint32_t col = (uint32_t)json_integer_value(ix);
            node *n = calloc(1, sizeof(*n));
            if (!n || !(n->path = strdup(path))) {
                free(n);
                rc = weir_error_set(c->err, WEIR_ENOMEM, "out of memory");
            } else {
                n->op = OP_COL;
                n->col = col;
                n->type = c->input[col];
                n->out.type = n->type;
                n->borrowed = true;
                *out = n;
                rc = 0;
            }
        }
    } else if (!strcmp(kind, "call"))
        rc = compile_call(j, path, out, c);
    else
        rc = weir_error_set(c->err, WEIR_EPARSE,
                            "%s.kind: unknown kind '%s' (literal, column or call)", path, kind);
    c->depth--;
    return rc;
}

int rt_expr_compile(const json_t *node_json, const rt_type *input, uint32_t ninput,
                    const char *path, rt_expr **out, weir_error *err)
{
    cctx c = {.input = input, .ninput = ninput, .err = err};
    rt_expr *e = calloc(1, sizeof(*e));
    if (!e)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    rt_arena_init(&e->arena);
    int rc = compile_node(node_json, path ? path : "$", &e->root, &c);
    if (rc) {
        free(e);
        return rc;
    }
    *out = e;
    return 0;
}
