/*
 * sql.h - the SQL front end: a Flink SQL script compiled into a job plan (docs/plan.md).
 *
 * Stages, each in its own file as SQLite splits them: sql_token.c (tokenizer) → sql_parse.c
 * (recursive-descent parser, AST with a source position on every node, sql_ast.h) →
 * sql_plan.c (binder and planner: names resolved against the script's catalog, every
 * expression type-checked, logical query → operators). Errors are "file:line:col: message"
 * naming the offending token and what was expected.
 *
 * Layer: runtime/sql. Knows the plan format and the expression/connector checks, nothing of
 * execution.
 */
#ifndef WEIR_RT_SQL_H
#define WEIR_RT_SQL_H

#include "lib/error.h"

#include <jansson.h>
#include <stddef.h>

/*
 * Compiles a script. On success *plan is the job plan document (caller owns, json_decref) and
 * *settings (may be NULL) receives the script's SET statements as a string map (caller owns).
 * Returns 0, or WEIR_EPARSE (syntax), WEIR_ETYPE (types), WEIR_EINVAL (names, options),
 * WEIR_EUNSUPPORTED (valid Flink SQL that Weir does not run yet) with err saying where.
 */
int sql_compile(const char *text, size_t len, const char *filename, json_t **plan,
                json_t **settings, weir_error *err) WEIR_MUST_CHECK;

/* The configuration keys the planner reads (a script's SET of one of them wins). */
#define SQL_PLANNER_KEYS                                                                           \
    "table.optimizer.agg-phase-strategy", "table.exec.mini-batch.enabled",                         \
        "table.exec.mini-batch.allow-latency", "table.exec.mini-batch.size",                       \
        "table.exec.source.idle-timeout"

/*
 * sql_compile with the job's configuration: `conf` (may be NULL) maps SQL_PLANNER_KEYS to their
 * configured values (Flink's table options in the cluster configuration, -D ...); a script's
 * SET of the same key overrides them. A bad configured value is an error naming the key.
 */
int sql_compile_conf(const char *text, size_t len, const char *filename, const json_t *conf,
                     json_t **plan, json_t **settings, weir_error *err) WEIR_MUST_CHECK;

/*
 * Like sql_compile, for checking scripts: connectors Weir knows but does not run yet (kafka,
 * filesystem, iceberg, jdbc, upsert-kafka, the CDC connectors ...) are accepted without checking
 * their options, each noted in *notes (an array of "file:line:col: ..." strings, caller owns),
 * so the rest of the script is still bound and type-checked. The resulting plan cannot run.
 */
int sql_check(const char *text, size_t len, const char *filename, json_t **plan, json_t **notes,
              weir_error *err) WEIR_MUST_CHECK;

/* Reads a file into memory (at most 16 MiB); caller frees *text. */
int sql_read_file(const char *path, char **text, size_t *len, weir_error *err) WEIR_MUST_CHECK;

/* Reads and compiles a file (sql_compile_conf). */
int sql_compile_file(const char *path, const json_t *conf, json_t **plan, json_t **settings,
                     weir_error *err) WEIR_MUST_CHECK;

#endif
