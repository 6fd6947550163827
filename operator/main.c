/*
 * main.c - weir-operator entry point: flags, configuration, signals, and the manager.
 *
 * Layer: operator/ top. Everything below it is reached through its modules' headers.
 */
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/kube/client.h"
#include "lib/log.h"
#include "operator/manager.h"
#include "operator/opconfig.h"

#ifndef WEIR_VERSION
#define WEIR_VERSION "dev"
#endif

static atomic_bool stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_requested, true);
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: weir-operator [flags]\n"
            "\n"
            "Kubernetes controller for flink.apache.org/v1beta1 FlinkDeployment,\n"
            "FlinkSessionJob and FlinkStateSnapshot resources.\n"
            "\n"
            "Flags:\n"
            "  --kubeconfig PATH   kubeconfig to use out of cluster (default: $KUBECONFIG, then\n"
            "                      in-cluster service account, then ~/.kube/config)\n"
            "  --context NAME      kubeconfig context (default: current-context)\n"
            "  --config FILE       operator configuration: config.yaml or flink-conf.yaml with\n"
            "                      kubernetes.operator.* keys and default Flink configuration\n"
            "  -Dkey=value         set one configuration key (repeatable; wins over --config)\n"
            "  --log-level LEVEL   debug, info, warn or error (default info)\n"
            "  --log-format FMT    kv or json (default kv)\n"
            "  --version           print the version and exit\n"
            "  -h, --help          print this help and exit\n"
            "\n"
            "Environment: WATCH_NAMESPACES (comma-separated), POD_NAME, POD_NAMESPACE.\n"
            "Endpoints: /healthz, /readyz on kubernetes.operator.health.probe.port (8085),\n"
            "/metrics on kubernetes.operator.metrics.reporter.prom.port (9999).\n");
}

int main(int argc, char **argv)
{
    const char *kubeconfig = NULL, *context = NULL, *config_path = NULL;
    config *dyn = config_new();
    weir_error err = {0};
    int rc = 1;
    kube_config *kcfg = NULL;
    kube_client *kc = NULL;
    manager *m = NULL;
    opconfig cfg = {0};
    bool cfg_loaded = false;

    /* Few malloc arenas: with one arena per thread (glibc's default, up to 8 per core) the
     * caches' small objects fragment across arenas and RSS grows for nothing. */
    mallopt(M_ARENA_MAX, 2);
    if (!dyn || config_parse_args(dyn, &argc, argv, &err) != 0) {
        fprintf(stderr, "weir-operator: %s\n", err.msg);
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            rc = 0;
            goto out;
        } else if (strcmp(a, "--version") == 0) {
            printf("weir-operator %s\n", WEIR_VERSION);
            rc = 0;
            goto out;
        } else if (v && strcmp(a, "--kubeconfig") == 0) {
            kubeconfig = v;
            i++;
        } else if (v && strcmp(a, "--context") == 0) {
            context = v;
            i++;
        } else if (v && strcmp(a, "--config") == 0) {
            config_path = v;
            i++;
        } else if (v && strcmp(a, "--log-level") == 0) {
            enum log_level l;
            if (log_parse_level(v, &l) != 0) {
                fprintf(stderr, "weir-operator: --log-level: unknown level '%s'\n", v);
                goto out;
            }
            log_set_level(l);
            i++;
        } else if (v && strcmp(a, "--log-format") == 0) {
            enum log_format f;
            if (log_parse_format(v, &f) != 0) {
                fprintf(stderr, "weir-operator: --log-format: use kv or json, not '%s'\n", v);
                goto out;
            }
            log_set_format(f);
            i++;
        } else {
            fprintf(stderr, "weir-operator: unknown or incomplete flag '%s' (see --help)\n", a);
            rc = 2;
            goto out;
        }
    }
    if (opconfig_load(&cfg, config_path, dyn, &err) != 0) {
        fprintf(stderr, "weir-operator: configuration: %s\n", err.msg);
        goto out;
    }
    cfg_loaded = true;
    if (kubeconfig ? kube_config_load_file(kubeconfig, context, &kcfg, &err)
                   : kube_config_load_default(&kcfg, &err)) {
        fprintf(stderr, "weir-operator: kubeconfig: %s\n", err.msg);
        goto out;
    }
    kc = kube_client_new(kcfg, &err);
    if (!kc) {
        fprintf(stderr, "weir-operator: %s\n", err.msg);
        goto out;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    log_info("weir-operator starting", "version", WEIR_VERSION, "server", kube_client_server(kc),
             "identity", cfg.identity);
    m = manager_new(&cfg, kc, &err);
    if (!m) {
        log_error("cannot start", "error", err.msg);
        goto out;
    }
    if (manager_run(m, &stop_requested, &err) != 0) {
        log_error("stopped", "error", err.msg);
        goto out;
    }
    log_info("weir-operator stopped");
    rc = 0;
out:
    manager_free(m);
    kube_client_free(kc);
    kube_config_free(kcfg);
    if (cfg_loaded)
        opconfig_clear(&cfg);
    config_free(dyn);
    return rc;
}
