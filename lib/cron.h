/*
 * cron.h - Quartz cron expressions, as upstream accepts them for
 * kubernetes.operator.periodic.savepoint.interval and .checkpoint.interval: six or seven
 * fields (second minute hour day-of-month month day-of-week [year]), each `*`, `?`, a number,
 * a name (JAN-DEC, SUN-SAT), a range `a-b`, a step `*\/n`, `a/n` or `a-b/n`, or a list of
 * these. Day of week counts as Quartz does: 1 = SUN ... 7 = SAT. Times are UTC.
 *
 * Quartz's special days work too, each alone in its field: day-of-month `L` (the last day),
 * `L-n`, `nW` (the weekday nearest to day n, within the month), `LW`; day-of-week `dL` (the
 * last weekday d of the month) and `d#k` (the k-th weekday d).
 *
 * Layer: lib. Depends on lib/error.
 */
#ifndef WEIR_CRON_H
#define WEIR_CRON_H

#include <stdbool.h>

#include "lib/error.h"

typedef struct cron cron; /* opaque */

/* Parses `expr`. On success *out is owned by the caller (cron_free). */
int cron_parse(const char *expr, cron **out, weir_error *err) WEIR_MUST_CHECK;

/* The first fire time strictly after `after_ms` (epoch ms, UTC), or -1 when there is none
 * within the expression's years (or the next 10 years). */
long long cron_next(const cron *c, long long after_ms);

void cron_free(cron *c);

#endif
