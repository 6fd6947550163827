/*
 * test_kube_config.c - kubeconfig parsing (contexts, embedded and file credentials, relative
 * paths) and its errors, which must name the position and the key; in-cluster loading from a
 * service-account directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/kube/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "-----BEGIN CERTIFICATE-----\nabc\n" in base64 */
#define CERT_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmFiYwo="

static const char *good = "apiVersion: v1\n"
                          "kind: Config\n"
                          "preferences: {}\n"
                          "clusters:\n"
                          "- name: local\n"
                          "  cluster:\n"
                          "    server: https://10.250.0.1:6443/\n"
                          "    certificate-authority-data: " CERT_B64 "\n"
                          "- name: other\n"
                          "  cluster:\n"
                          "    server: https://other:443\n"
                          "    certificate-authority: certs/ca.crt\n"
                          "    insecure-skip-tls-verify: true\n"
                          "users:\n"
                          "- name: admin\n"
                          "  user:\n"
                          "    client-certificate-data: " CERT_B64 "\n"
                          "    client-key-data: " CERT_B64 "\n"
                          "- name: bot\n"
                          "  user:\n"
                          "    token: s3cr3t\n"
                          "contexts:\n"
                          "- name: main\n"
                          "  context: {cluster: local, user: admin}\n"
                          "- name: second\n"
                          "  context: {cluster: other, user: bot, namespace: flink}\n"
                          "current-context: main\n";

static void test_current_context(void **state)
{
    (void)state;
    kube_config *c = NULL;
    weir_error err = {0};
    assert_int_equal(kube_config_parse(good, strlen(good), "kc", "/etc/kc", NULL, &c, &err), 0);
    assert_string_equal(c->server, "https://10.250.0.1:6443");
    assert_string_equal(c->ca_data, "-----BEGIN CERTIFICATE-----\nabc\n");
    assert_string_equal(c->cert_data, "-----BEGIN CERTIFICATE-----\nabc\n");
    assert_non_null(c->key_data);
    assert_null(c->token);
    assert_string_equal(c->namespace, "default");
    assert_string_equal(c->context, "main");
    assert_false(c->insecure_skip_tls_verify);
    kube_config_free(c);
}

static void test_named_context_relative_paths(void **state)
{
    (void)state;
    kube_config *c = NULL;
    weir_error err = {0};
    assert_int_equal(kube_config_parse(good, strlen(good), "kc", "/etc/kc", "second", &c, &err), 0);
    assert_string_equal(c->server, "https://other:443");
    assert_string_equal(c->ca_file, "/etc/kc/certs/ca.crt");
    assert_true(c->insecure_skip_tls_verify);
    assert_string_equal(c->token, "s3cr3t");
    assert_string_equal(c->namespace, "flink");
    assert_null(c->cert_data);
    kube_config_free(c);
}

/* Parses `text` expecting failure with `code` and a message containing each of `needles`. */
static void expect_error(const char *text, int code, const char *n1, const char *n2)
{
    kube_config *c = NULL;
    weir_error err = {0};
    int rc = kube_config_parse(text, strlen(text), "kc.yaml", NULL, NULL, &c, &err);
    if (rc != code || !strstr(err.msg, n1) || (n2 && !strstr(err.msg, n2)))
        fail_msg("rc=%d (want %d) msg='%s' (want '%s' and '%s')", rc, code, err.msg, n1,
                 n2 ? n2 : "");
    assert_null(c);
}

static void test_errors_name_key_and_position(void **state)
{
    (void)state;
    expect_error("clusters: [\n", WEIR_EPARSE, "kc.yaml:2:1: invalid YAML", NULL);
    expect_error("current-context: a\ncurrent-context: b\n", WEIR_EDUPLICATE,
                 "kc.yaml:2:1: current-context: duplicate key (first at 1:1)", NULL);
    expect_error("current-context: main\ncontexts:\n- name: main\n  context: {cluster: c}\n"
                 "clusters:\n- name: c\n  cluster:\n    server: [1, 2]\n",
                 WEIR_ETYPE, "kc.yaml:8:13: clusters[0].cluster.server: expected a string", NULL);
    expect_error("current-context: nope\ncontexts: []\n", WEIR_ENOTFOUND,
                 "contexts: no entry named 'nope'", NULL);
    expect_error("current-context: m\ncontexts:\n- name: m\n  context: {cluster: c, user: u}\n"
                 "clusters:\n- name: c\n  cluster: {server: 'https://x'}\n"
                 "users:\n- name: u\n  user:\n    client-key-data: '!!notbase64'\n",
                 WEIR_EPARSE, "kc.yaml:11:22: users[0].user.client-key-data: not valid base64",
                 NULL);
    expect_error("current-context: m\ncontexts:\n- name: m\n  context: {cluster: c, user: u}\n"
                 "clusters:\n- name: c\n  cluster: {server: 'https://x'}\n"
                 "users:\n- name: u\n  user:\n    exec: {command: aws}\n",
                 WEIR_EUNSUPPORTED, "users[0].user.exec: not supported", "11:11");
    expect_error("current-context: m\ncontexts:\n- name: m\n  context: {cluster: c}\n"
                 "clusters:\n- name: c\n  cluster: {server: 'ftp://x'}\n",
                 WEIR_EPARSE, "clusters[0].cluster.server: 'ftp://x' is not an http(s) URL", NULL);
    expect_error("current-context: m\ncontexts:\n- name: m\n  context: {cluster: c}\n"
                 "clusters:\n- name: c\n  cluster: {server: 'https://x', "
                 "insecure-skip-tls-verify: maybe}\n",
                 WEIR_ETYPE, "insecure-skip-tls-verify: expected true or false, found 'maybe'",
                 NULL);
    expect_error("contexts: {a: b}\ncurrent-context: x\n", WEIR_ETYPE,
                 "kc.yaml:1:11: contexts: expected a list", NULL);
    expect_error("- a\n- b\n", WEIR_ETYPE, "expected a map, found a list", NULL);
    expect_error("", WEIR_EPARSE, "empty kubeconfig", NULL);
    expect_error("current-context: m\ncontexts:\n- name: m\n  context: {cluster: c, user: u}\n"
                 "clusters:\n- name: c\n  cluster: {server: 'https://x'}\n"
                 "users:\n- name: u\n  user: {client-certificate-data: " CERT_B64 "}\n",
                 WEIR_EPARSE, "client certificate without client key", NULL);
}

static void test_load_file_and_token_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/weir-kc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p[256], tokp[256];
    snprintf(tokp, sizeof(tokp), "%s/token", dir);
    FILE *f = fopen(tokp, "w");
    fputs("file-token\n", f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/config", dir);
    f = fopen(p, "w");
    fputs("current-context: m\ncontexts:\n- name: m\n  context: {cluster: c, user: u}\n"
          "clusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:1'}\n"
          "users:\n- name: u\n  user: {tokenFile: token}\n",
          f);
    fclose(f);
    kube_config *c = NULL;
    weir_error err = {0};
    assert_int_equal(kube_config_load_file(p, NULL, &c, &err), 0);
    assert_string_equal(c->token, "file-token");
    assert_string_equal(c->token_file, tokp);
    kube_config_free(c);

    setenv("KUBECONFIG", "/nonexistent/a:", 1);
    assert_int_equal(kube_config_load_default(&c, &err), WEIR_ENOTFOUND);
    char env[600];
    snprintf(env, sizeof(env), "/nonexistent/a:%s", p);
    setenv("KUBECONFIG", env, 1);
    assert_int_equal(kube_config_load_default(&c, &err), 0);
    assert_string_equal(c->server, "http://127.0.0.1:1");
    kube_config_free(c);
    unsetenv("KUBECONFIG");

    assert_int_equal(kube_config_load_file("/nonexistent/kc", NULL, &c, &err), WEIR_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/kc"));
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_in_cluster(void **state)
{
    (void)state;
    char dir[] = "/tmp/weir-sa-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p[256];
    const char *files[][2] = {{"token", "sa-token\n"}, {"ca.crt", "PEM"}, {"namespace", "flink"}};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, files[i][0]);
        FILE *f = fopen(p, "w");
        fputs(files[i][1], f);
        fclose(f);
    }
    kube_config *c = NULL;
    weir_error err = {0};
    unsetenv("KUBERNETES_SERVICE_HOST");
    assert_int_equal(kube_config_in_cluster(dir, &c, &err), WEIR_ENOTFOUND);
    assert_non_null(strstr(err.msg, "KUBERNETES_SERVICE_HOST"));
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    assert_int_equal(kube_config_in_cluster(dir, &c, &err), 0);
    assert_string_equal(c->server, "https://10.96.0.1:443");
    assert_string_equal(c->token, "sa-token");
    assert_string_equal(c->namespace, "flink");
    snprintf(p, sizeof(p), "%s/ca.crt", dir);
    assert_string_equal(c->ca_file, p);
    kube_config_free(c);
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    assert_int_equal(kube_config_in_cluster(dir, &c, &err), 0);
    assert_string_equal(c->server, "https://[fd00::1]:443");
    kube_config_free(c);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_current_context),
        cmocka_unit_test(test_named_context_relative_paths),
        cmocka_unit_test(test_errors_name_key_and_position),
        cmocka_unit_test(test_load_file_and_token_file),
        cmocka_unit_test(test_in_cluster),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
