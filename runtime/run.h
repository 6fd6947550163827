/*
 * run.h - `weir run PLAN.json`: runs a job plan in this process (the local mini-cluster).
 *
 * Layer: runtime/ top.
 */
#ifndef WEIR_RT_RUN_H
#define WEIR_RT_RUN_H

/* Entry point of the `run` command; argv[0] is "run". Returns the process exit code. */
int rt_run_main(int argc, char **argv);

/* Entry point of `weir sql --check|--plan JOB.sql`. */
int rt_sql_main(int argc, char **argv);

#endif
