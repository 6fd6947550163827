/*
 * sql_ast.h - the syntax tree of a SQL script. Every node carries the line and column where it
 * starts; all nodes and strings belong to the script and are freed with it.
 *
 * Expressions are normalised while parsing into a few kinds: operators and special forms
 * become calls with the plan's function names (a + b -> PLUS, x BETWEEN a AND b -> BETWEEN,
 * a || b -> CONCAT, EXTRACT(DAY FROM t) -> EXTRACT('DAY', t) ...), so the binder sees one shape.
 *
 * Layer: runtime/sql.
 */
#ifndef WEIR_RT_SQL_AST_H
#define WEIR_RT_SQL_AST_H

#include "lib/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sql_pos {
    int line, col;
} sql_pos;

typedef enum sql_expr_kind {
    SE_LIT,      /* lit_type + text ("NULL" type for NULL) */
    SE_IDENT,    /* [qual.]name */
    SE_CALL,     /* fn(args), star for COUNT(*) */
    SE_CAST,     /* CAST/TRY_CAST(args[0] AS type) */
    SE_INTERVAL, /* INTERVAL 'amount' unit */
    SE_SUBQUERY  /* not supported in expressions; kept for the message */
} sql_expr_kind;

typedef struct sql_expr sql_expr;
struct sql_expr {
    sql_expr_kind kind;
    sql_pos pos;
    const char *lit_type, *text;
    const char *qual, *name;
    const char *fn;
    sql_expr **args;
    int nargs;
    bool distinct, star, try_cast;
    const char *type;
    int64_t amount; /* SE_INTERVAL: in units of `unit` */
    const char *unit;
};

typedef struct sql_query sql_query;

typedef struct sql_item {
    sql_pos pos;
    sql_expr *expr; /* NULL for * */
    const char *alias;
    const char *star_qual; /* t.* */
} sql_item;

typedef enum sql_from_kind { SF_TABLE, SF_SUBQUERY, SF_WINDOW } sql_from_kind;

typedef struct sql_from sql_from;
struct sql_from {
    sql_from_kind kind;
    sql_pos pos;
    const char *name, *alias;
    sql_query *sub;
    const char *wfn; /* TUMBLE, HOP, CUMULATE */
    sql_from *wsrc;  /* TABLE t */
    const char *timecol;
    sql_pos timecol_pos;
    sql_expr *wargs[3]; /* size | slide, size | step, size; then an optional offset */
    int nwargs;
};

struct sql_query {
    sql_pos pos;
    bool distinct;
    sql_item *items;
    int nitems;
    sql_from *from;
    sql_expr *where;
    sql_expr **group;
    int ngroup;
    sql_expr *having;
    sql_query *union_all;   /* next branch */
    bool union_distinct;    /* joined to the branches before by UNION [DISTINCT], not UNION ALL */
    struct sql_stmt **ctes; /* WITH name AS (query), ...: views of this query (SS_CREATE_VIEW) */
    int nctes;
};

typedef struct sql_column {
    sql_pos pos;
    const char *name;
    const char *type;   /* physical or metadata column */
    sql_expr *computed; /* name AS expr */
    bool metadata, virtual_;
} sql_column;

typedef struct sql_option {
    sql_pos pos, vpos;
    const char *key, *value;
} sql_option;

typedef enum sql_stmt_kind {
    SS_CREATE_TABLE,
    SS_CREATE_VIEW,
    SS_SET,
    SS_RESET,
    SS_INSERT,
    SS_STATEMENT_SET,
    SS_EXPLAIN,
    SS_DROP
} sql_stmt_kind;

typedef struct sql_stmt sql_stmt;
struct sql_stmt {
    sql_stmt_kind kind;
    sql_pos pos;
    const char *name;
    sql_pos name_pos;
    bool temporary, if_not_exists;
    sql_column *cols;
    int ncols;
    const char *wm_col;
    sql_pos wm_pos;
    sql_expr *wm_expr;
    const char **pk;
    int npk;
    const char **partitioned;
    int npart;
    sql_option *opts;
    int nopts;
    sql_query *query;
    const char **insert_cols;
    int ninsert_cols;
    const char *key, *value;
    sql_stmt **stmts; /* statement set; EXPLAIN: stmts[0] */
    int nstmts;
};

typedef struct sql_script {
    const char *file;
    sql_stmt **stmts;
    int nstmts;
    void **allocs; /* everything above, freed by sql_script_free */
    size_t nallocs, cap;
} sql_script;

/* Parses a script. Caller frees with sql_script_free(). */
int sql_parse(const char *text, size_t len, const char *file, sql_script **out,
              weir_error *err) WEIR_MUST_CHECK;
void sql_script_free(sql_script *s);

#endif
