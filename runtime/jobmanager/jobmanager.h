/*
 * jobmanager.h - `weir jobmanager` (session cluster) and `weir standalone-job` (application
 * cluster running one job): the JobManager process with Flink's REST API on rest.port, the
 * TaskManagers' control endpoints on jobmanager.rpc.port and, when configured, Prometheus
 * metrics on metrics.reporter.prom.port.
 *
 * Layer: runtime/jobmanager top.
 */
#ifndef WEIR_RT_JOBMANAGER_H
#define WEIR_RT_JOBMANAGER_H

#include <stdbool.h>

/* Runs until the cluster is shut down (signal, DELETE /cluster, or the application's end).
 * Returns the exit code. */
int rt_jobmanager_main(int argc, char **argv, bool application);

#endif
