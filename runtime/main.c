/*
 * main.c - the `weir` runtime binary: the roles of Flink's image entrypoint (jobmanager,
 * standalone-job, taskmanager) and `weir run` for a local mini-cluster.
 *
 * Layer: runtime/ top.
 */
#include "lib/log.h"
#include "runtime/jobmanager/jobmanager.h"
#include "runtime/run.h"
#include "runtime/taskmanager/taskmanager.h"

#include <stdio.h>
#include <string.h>

#ifndef WEIR_VERSION
#define WEIR_VERSION "dev"
#endif

static void usage(FILE *out)
{
    fprintf(out, "Usage: weir COMMAND [args...]\n"
                 "\n"
                 "Commands:\n"
                 "  jobmanager                 session cluster JobManager\n"
                 "  standalone-job [args...]   application cluster JobManager running one job\n"
                 "  taskmanager                TaskManager, registers with the JobManager\n"
                 "  run JOB                    run a job plan or SQL script in one process\n"
                 "  sql --check|--plan JOB.sql check a SQL script or print its plan\n"
                 "  version                    print the version\n"
                 "  help                       print this help\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("weir %s\n", WEIR_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return rt_run_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "sql") == 0)
        return rt_sql_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "jobmanager") == 0)
        return rt_jobmanager_main(argc - 1, argv + 1, false);
    if (strcmp(argv[1], "standalone-job") == 0)
        return rt_jobmanager_main(argc - 1, argv + 1, true);
    if (strcmp(argv[1], "taskmanager") == 0)
        return rt_taskmanager_main(argc - 1, argv + 1);
    fprintf(stderr, "weir: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
