/*
 * expr.h - scalar expressions of a job plan: compiled once from the plan's JSON, evaluated a
 * whole batch at a time.
 *
 * JSON form (docs/plan.md, "Expressions"). Every node is an object with "kind":
 *   {"kind":"literal", "type":"INT", "value":5}        value null: a typed NULL
 *   {"kind":"column", "index":2}                         optional "name" for messages
 *   {"kind":"call", "fn":"PLUS", "args":[e, e]}          functions below
 *   {"kind":"call", "fn":"CAST", "args":[e], "type":"BIGINT"}   also TRY_CAST
 * Function names are upper case; the list and the typing rules are in docs/plan.md. Semantics
 * follow Flink SQL: three-valued logic, NULL in -> NULL out except where SQL says otherwise
 * (AND/OR, IS [NOT] NULL, COALESCE, IF/CASE, CONCAT_WS); integer overflow wraps as in Java;
 * integer division by zero and a failing CAST are runtime errors (TRY_CAST gives NULL).
 *
 * Compilation checks everything that can be checked before data arrives: arity, argument types
 * (with SQL's implicit numeric widening), column indexes, literal values, constant regex
 * patterns; errors name the JSON path of the offending node ("$.operators[2].filter.args[1]").
 * Evaluation allocates nothing per record: temporaries live in the compiled expression and
 * string results in the output batch's arena.
 *
 * Layer: runtime/expr. Depends on runtime/types, runtime/engine/batch.h, lib/, jansson.
 */
#ifndef WEIR_RT_EXPR_H
#define WEIR_RT_EXPR_H

#include "lib/error.h"
#include "runtime/engine/batch.h"

#include <jansson.h>

typedef struct rt_expr rt_expr;

/*
 * Compiles `node` against the input columns `input` (types of the batches it will see).
 * `path` is the node's JSON path for messages. Returns 0 and *out (caller frees with
 * rt_expr_free), WEIR_EPARSE (malformed node), WEIR_ETYPE (type error), WEIR_EUNSUPPORTED
 * (unknown function); err says what and where.
 */
int rt_expr_compile(const json_t *node, const rt_type *input, uint32_t ninput, const char *path,
                    rt_expr **out, weir_error *err) WEIR_MUST_CHECK;

void rt_expr_free(rt_expr *e);

/* The result type. */
rt_type rt_expr_type(const rt_expr *e);

/* True when the expression reads no column and calls no non-deterministic function. */
bool rt_expr_is_constant(const rt_expr *e);

/*
 * Evaluates the expression for rows [0, in->n) of `in` into column `out_col` of `out`
 * (rows [0, in->n); out->cap >= in->n; the column's type must be rt_expr_type). String results
 * are allocated in out's arena (or point into `in`'s arena / constants when unchanged; `in`
 * must outlive `out`'s use of them — it does within one operator chain). Does not change
 * out->n. Returns 0 or a runtime error (WEIR_ERANGE: division by zero, a CAST that fails,
 * overflow of DECIMAL) with a message that names the function and the value.
 */
int rt_expr_eval(rt_expr *e, const rt_batch *in, rt_batch *out, uint32_t out_col,
                 weir_error *err) WEIR_MUST_CHECK;

/*
 * Evaluates a BOOLEAN expression into keep[0..in->n): 1 where the result is TRUE, 0 where it is
 * FALSE or NULL (WHERE semantics). Returns 0 or a runtime error.
 */
int rt_expr_eval_filter(rt_expr *e, const rt_batch *in, uint8_t *keep,
                        weir_error *err) WEIR_MUST_CHECK;

/* Processing time used by PROCTIME()/CURRENT_TIMESTAMP/LOCALTIMESTAMP; tests may fix it.
 * 0 (the default) means "read the clock". Milliseconds since the epoch. */
void rt_expr_set_clock(int64_t fixed_epoch_ms);

#endif
