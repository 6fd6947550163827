/*
 * jobconf.h - what every role of the `weir` binary reads from Flink's configuration: the
 * configuration itself (file or $FLINK_CONF_DIR, FLINK_PROPERTIES, -D flags, in that order of
 * precedence from low to high) and the job options (state backend, checkpointing, savepoints,
 * restart strategy) under Flink's key names.
 *
 * Layer: runtime/ top. Depends on lib/config and the engine's job options.
 */
#ifndef WEIR_RT_JOBCONF_H
#define WEIR_RT_JOBCONF_H

#include "lib/config.h"
#include "runtime/engine/job.h"

#include <jansson.h>
#include <stdbool.h>

/* Job options from `c`; *par gets parallelism.default. Errors name the key. The strings in
 * `o` point into `c`. */
int rt_jobconf_options(const config *c, rt_job_options *o, uint32_t *par,
                       weir_error *err) WEIR_MUST_CHECK;

/*
 * Loads the configuration: `conf` (a file or a directory holding config.yaml or
 * flink-conf.yaml; NULL: $FLINK_CONF_DIR, else /opt/flink/conf when it exists), then
 * FLINK_PROPERTIES, then `dyn` (the -D flags; may be NULL). *out: caller frees.
 */
int rt_jobconf_load(config *dyn, const char *conf, config **out, weir_error *err) WEIR_MUST_CHECK;

/*
 * Compiles a job file: a SQL script (.sql) into its plan document, its SET statements going
 * into `settings` (EXPLAIN sets *explain; may be NULL), or reads a plan (.json and anything
 * else) as is. *plan_doc: caller decrefs. Errors name the file (SQL ones with line:column).
 */
int rt_jobconf_compile(const char *path, json_t **plan_doc, config *settings, bool *explain,
                       weir_error *err) WEIR_MUST_CHECK;

#endif
