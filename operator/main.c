/*
 * main.c - weir-operator entry point: flags, configuration, and (once the controller lands)
 * the manager that wires informers, the work queue and reconcilers.
 *
 * Layer: operator/ top. Everything below it is reached through its modules' headers.
 */
#include "lib/log.h"

#include <stdio.h>
#include <string.h>

#ifndef WEIR_VERSION
#define WEIR_VERSION "dev"
#endif

static void usage(FILE *out)
{
    fprintf(out, "Usage: weir-operator [flags]\n"
                 "\n"
                 "Kubernetes controller for flink.apache.org/v1beta1 FlinkDeployment,\n"
                 "FlinkSessionJob and FlinkStateSnapshot resources.\n"
                 "\n"
                 "Flags:\n"
                 "  --kubeconfig PATH   kubeconfig to use out of cluster (default: in-cluster,\n"
                 "                      then $KUBECONFIG, then ~/.kube/config)\n"
                 "  --config FILE       operator configuration (kubernetes.operator.* keys)\n"
                 "  --log-level LEVEL   debug, info, warn or error (default info)\n"
                 "  --log-format FMT    kv or json (default kv)\n"
                 "  --version           print the version and exit\n"
                 "  -h, --help          print this help and exit\n");
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("weir-operator %s\n", WEIR_VERSION);
            return 0;
        }
    }
    log_error("the controller is not implemented yet in this build (see README, issue 5)");
    return 2;
}
