/*
 * expr_int.h - internals of compiled expressions: the node tree, the opcodes, and helpers
 * shared by compilation (expr_compile.c), evaluation (expr_eval.c) and time functions
 * (expr_time.c).
 *
 * Every node owns an output column (values + NULL flags) sized for the largest batch seen;
 * column references point at the input batch's column instead; constant subtrees are folded
 * into one value at compile time (is_const, read at index 0).
 *
 * Layer: runtime/expr (internal).
 */
#ifndef WEIR_RT_EXPR_INT_H
#define WEIR_RT_EXPR_INT_H

#include "runtime/expr/expr.h"

#include <regex.h>

typedef enum expr_op {
    OP_COL,
    OP_LIT,
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_MOD,
    OP_NEG,
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_AND,
    OP_OR,
    OP_NOT,
    OP_IS_NULL,
    OP_IS_NOT_NULL,
    OP_IS_TRUE,
    OP_IS_FALSE,
    OP_IS_NOT_TRUE,
    OP_IS_NOT_FALSE,
    OP_CASE,
    OP_COALESCE,
    OP_CAST,
    OP_TRY_CAST,
    OP_LIKE,
    OP_UPPER,
    OP_LOWER,
    OP_TRIM,
    OP_LTRIM,
    OP_RTRIM,
    OP_SUBSTRING,
    OP_CONCAT,
    OP_CONCAT_WS,
    OP_CHAR_LENGTH,
    OP_REPLACE,
    OP_REGEXP_EXTRACT,
    OP_REGEXP_REPLACE,
    OP_SPLIT_INDEX,
    OP_INITCAP,
    OP_LPAD,
    OP_RPAD,
    OP_ABS,
    OP_ROUND,
    OP_FLOOR,
    OP_CEIL,
    OP_POWER,
    OP_SQRT,
    OP_LN,
    OP_LOG10,
    OP_EXP,
    OP_CURRENT_TIMESTAMP,
    OP_LOCALTIMESTAMP,
    OP_CURRENT_DATE,
    OP_PROCTIME,
    OP_DATE_FORMAT,
    OP_TO_TIMESTAMP,
    OP_TO_TIMESTAMP_LTZ,
    OP_UNIX_TIMESTAMP,
    OP_FROM_UNIXTIME,
    OP_EXTRACT,
    OP_TIMESTAMPADD,
    OP_TIMESTAMPDIFF,
    OP_HASH_CODE
} expr_op;

typedef struct node node;
struct node {
    expr_op op;
    rt_type type;
    node **args;
    uint32_t nargs;
    uint32_t col;  /* OP_COL */
    bool is_const; /* value at index 0 */
    bool borrowed; /* `out` arrays point into the input batch */
    rt_col out;
    uint32_t cap;
    int unit;       /* EXTRACT/TIMESTAMPADD/TIMESTAMPDIFF time unit, TRIM side */
    regex_t *re;    /* constant regex */
    char *path;     /* for runtime messages */
    char *owned;    /* bytes of a constant string value (literals, folded constants) */
    uint8_t *fails; /* CASE/COALESCE: rows on which each branch failed (nargs x rows) */
    size_t fails_cap;
};

struct rt_expr {
    node *root;
    rt_arena arena; /* strings of filter evaluations */
};

/* Time units for EXTRACT, TIMESTAMPADD, TIMESTAMPDIFF. */
enum {
    TU_MILLISECOND,
    TU_SECOND,
    TU_MINUTE,
    TU_HOUR,
    TU_DAY,
    TU_WEEK,
    TU_MONTH,
    TU_QUARTER,
    TU_YEAR,
    TU_DOW,
    TU_DOY,
    TU_EPOCH
};
int expr_time_unit(const char *s);

/* Marks row r of c NULL and clears its value in the column's physical form (an i64 store into a
 * string column would hit the wrong element). */
static inline void expr_set_null(rt_col *c, uint32_t r)
{
    c->null[r] = 1;
    rt_phys ph = rt_type_phys(c->type);
    if (ph == RT_PHYS_STR)
        c->str[r] = (rt_str){NULL, 0};
    else if (ph == RT_PHYS_I128)
        c->i128[r] = 0;
    else
        c->i64[r] = 0;
}

/* NULL when a regular expression may be compiled, else why not: patterns longer than
 * EXPR_REGEX_MAX or with stacked quantifiers ("a++", "(a*)*"-like runs) can make the C library's
 * regex compiler use unbounded memory. */
#define EXPR_REGEX_MAX 512
const char *expr_regex_refused(const char *pat, size_t len);

/* Evaluates `n` (and its arguments) over rows [0, rows) of `in`; string results go to `arena`. */
int expr_eval_node(node *n, const rt_batch *in, uint32_t rows, rt_arena *arena, weir_error *err);

/* Ensures n->out has room for `rows`. */
int expr_node_reserve(node *n, uint32_t rows);

/* Casting one value; returns 0, or WEIR_ERANGE with a message when it cannot be converted. */
int expr_cast_value(rt_type from, rt_type to, const rt_col *src, uint32_t row, rt_col *dst,
                    uint32_t drow, rt_arena *arena, weir_error *err);

/* --- time helpers (expr_time.c) ----------------------------------------------------------------
 */
int64_t expr_now_ms(void);
/* Parses "yyyy-MM-dd[ HH:mm:ss[.fff]]" (also with 'T') into epoch ms; false when malformed. */
bool expr_parse_timestamp(const char *s, size_t len, int64_t *ms);
bool expr_parse_date(const char *s, size_t len, int64_t *days);
bool expr_parse_time(const char *s, size_t len, int64_t *ms);
/* Java SimpleDateFormat subset: formats/parses with yyyy yy MM M dd d HH H hh mm ss SSS a 'lit'. */
size_t expr_format_time(int64_t ms, const char *fmt, size_t flen, char *out, size_t cap);
bool expr_parse_with_format(const char *s, size_t len, const char *fmt, size_t flen, int64_t *ms);
int64_t expr_extract(int unit, int64_t ms);
int64_t expr_timestamp_add(int unit, int64_t n, int64_t ms);
int64_t expr_timestamp_diff(int unit, int64_t a, int64_t b);

#endif
