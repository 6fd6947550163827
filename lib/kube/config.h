/*
 * kube/config.h - where and how to reach a Kubernetes API server: from a kubeconfig file (its
 * current or a named context) or from inside a pod (service-account token, CA, and
 * KUBERNETES_SERVICE_HOST/PORT), as client-go's clientcmd and rest.InClusterConfig do.
 *
 * Every kubeconfig error names the file, the line and column, and the key's path, e.g.
 * `admin.kubeconfig:7:5: users[0].user.client-key-data: not valid base64`.
 *
 * Layer: lib/kube. Depends on libyaml, OpenSSL (base64), lib/error.
 */
#ifndef WEIR_KUBE_CONFIG_H
#define WEIR_KUBE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

/* A resolved connection configuration. All strings are owned; NULL when not set. */
typedef struct kube_config {
    char *server;    /* https://host:port, no trailing slash */
    char *ca_data;   /* PEM (decoded from certificate-authority-data) */
    char *ca_file;   /* absolute path */
    char *cert_data; /* PEM client certificate */
    char *cert_file;
    char *key_data; /* PEM client key */
    char *key_file;
    char *token;           /* bearer token (read from token_file when that is set) */
    char *token_file;      /* re-read periodically by the client (rotated SA tokens) */
    char *tls_server_name; /* expected server certificate name */
    char *namespace;       /* context namespace or the pod's namespace; "default" if unset */
    char *context;         /* name of the context used ("in-cluster" for pods) */
    bool insecure_skip_tls_verify;
} kube_config;

/*
 * Parses kubeconfig YAML `text` (`len` bytes; `source` names it in errors, e.g. the path) and
 * resolves `context` (NULL: current-context). Relative file paths resolve against `base_dir`
 * (may be NULL: the working directory). On success *out is set; caller frees with
 * kube_config_free().
 */
int kube_config_parse(const char *text, size_t len, const char *source, const char *base_dir,
                      const char *context, kube_config **out, weir_error *err) WEIR_MUST_CHECK;

/* Reads and parses the kubeconfig file at `path` (see kube_config_parse). */
int kube_config_load_file(const char *path, const char *context, kube_config **out,
                          weir_error *err) WEIR_MUST_CHECK;

/*
 * In-cluster configuration: KUBERNETES_SERVICE_HOST/PORT from the environment, token, CA and
 * namespace from `sa_dir` (NULL: /var/run/secrets/kubernetes.io/serviceaccount).
 */
int kube_config_in_cluster(const char *sa_dir, kube_config **out, weir_error *err) WEIR_MUST_CHECK;

/*
 * What client-go does by default: $KUBECONFIG (the first existing file of a colon-separated
 * list) if set, else in-cluster if KUBERNETES_SERVICE_HOST is set, else ~/.kube/config.
 */
int kube_config_load_default(kube_config **out, weir_error *err) WEIR_MUST_CHECK;

/* Frees `cfg` and its strings. NULL is a no-op. */
void kube_config_free(kube_config *cfg);

#endif
