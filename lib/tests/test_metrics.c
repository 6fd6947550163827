/*
 * test_metrics.c - lib/metrics: exact text for a small registry, name and label validation,
 * re-registration, concurrent updates, and the rendered text of a larger registry checked by
 * a real Prometheus parser (python3-prometheus-client's text_string_to_metric_families).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_exact_text(void **state)
{
    (void)state;
    metrics_registry *r = metrics_registry_new();
    weir_error err = {0};
    metrics_family *c = metrics_counter(r, "weir_reconcile_total", "Reconciles by kind.",
                                        (const char *[]){"kind", "result", NULL}, &err);
    metrics_family *g = metrics_gauge(r, "weir_queue_depth", "Items\nwaiting \\ now.", NULL, &err);
    double bounds[] = {0.1, 1};
    metrics_family *h = metrics_histogram(r, "weir_reconcile_seconds", "Duration.",
                                          (const char *[]){"kind", NULL}, bounds, 2, &err);
    assert_non_null(c);
    assert_non_null(g);
    assert_non_null(h);
    metrics_add(metrics_series_get(c, (const char *[]){"FlinkDeployment", "success"}), 2);
    metrics_add(metrics_series_get(c, (const char *[]){"FlinkDeployment", "error"}), 1);
    metrics_add(metrics_series_get(c, (const char *[]){"FlinkDeployment", "error"}), -5);
    metrics_add(metrics_series_get(c, (const char *[]){"Weird\"\n\\", "success"}), 0.5);
    metrics_set(metrics_series_get(g, NULL), 7);
    metrics_add(metrics_series_get(g, NULL), -2);
    metrics_series *hs = metrics_series_get(h, (const char *[]){"FlinkDeployment", NULL});
    metrics_observe(hs, 0.05);
    metrics_observe(hs, 0.1);
    metrics_observe(hs, 0.5);
    metrics_observe(hs, 3);
    assert_int_equal(metrics_count(hs), 4);
    char *text = metrics_render(r);
    assert_string_equal(text,
                        "# HELP weir_queue_depth Items\\nwaiting \\\\ now.\n"
                        "# TYPE weir_queue_depth gauge\n"
                        "weir_queue_depth 5\n"
                        "# HELP weir_reconcile_seconds Duration.\n"
                        "# TYPE weir_reconcile_seconds histogram\n"
                        "weir_reconcile_seconds_bucket{kind=\"FlinkDeployment\",le=\"0.1\"} 2\n"
                        "weir_reconcile_seconds_bucket{kind=\"FlinkDeployment\",le=\"1\"} 3\n"
                        "weir_reconcile_seconds_bucket{kind=\"FlinkDeployment\",le=\"+Inf\"} 4\n"
                        "weir_reconcile_seconds_sum{kind=\"FlinkDeployment\"} 3.65\n"
                        "weir_reconcile_seconds_count{kind=\"FlinkDeployment\"} 4\n"
                        "# HELP weir_reconcile_total Reconciles by kind.\n"
                        "# TYPE weir_reconcile_total counter\n"
                        "weir_reconcile_total{kind=\"FlinkDeployment\",result=\"error\"} 1\n"
                        "weir_reconcile_total{kind=\"FlinkDeployment\",result=\"success\"} 2\n"
                        "weir_reconcile_total{kind=\"Weird\\\"\\n\\\\\",result=\"success\"} 0.5\n");
    free(text);
    assert_int_equal(metrics_series_remove(c, (const char *[]){"FlinkDeployment", "error", NULL}),
                     0);
    assert_int_equal(metrics_series_remove(c, (const char *[]){"FlinkDeployment", "error", NULL}),
                     WEIR_ENOTFOUND);
    text = metrics_render(r);
    assert_null(strstr(text, "result=\"error\""));
    free(text);
    metrics_registry_free(r);
}

static void test_validation(void **state)
{
    (void)state;
    metrics_registry *r = metrics_registry_new();
    weir_error err = {0};
    assert_null(metrics_counter(r, "9bad", "", NULL, &err));
    assert_int_equal(err.code, WEIR_EINVAL);
    assert_null(metrics_counter(r, "ok", "", (const char *[]){"bad-label", NULL}, &err));
    assert_null(metrics_counter(r, "ok", "", (const char *[]){"__reserved", NULL}, &err));
    assert_null(metrics_counter(r, "ok", "", (const char *[]){"a", "a", NULL}, &err));
    assert_int_equal(err.code, WEIR_EDUPLICATE);
    assert_null(metrics_histogram(r, "h", "", (const char *[]){"le", NULL}, NULL, 0, &err));
    double bad[] = {1, 1};
    assert_null(metrics_histogram(r, "h", "", NULL, bad, 2, &err));
    metrics_family *a = metrics_counter(r, "same", "help", (const char *[]){"x", NULL}, &err);
    assert_ptr_equal(metrics_counter(r, "same", "help", (const char *[]){"x", NULL}, &err), a);
    assert_null(metrics_gauge(r, "same", "help", (const char *[]){"x", NULL}, &err));
    assert_int_equal(err.code, WEIR_EEXIST);
    assert_null(metrics_series_get(a, NULL));                   /* values missing */
    assert_null(metrics_series_get(a, (const char *[]){NULL})); /* value missing */
    metrics_family *h = metrics_histogram(r, "dflt", "", NULL, NULL, 0, &err);
    metrics_observe(metrics_series_get(h, NULL), 0.2);
    char *t = metrics_render(r);
    assert_non_null(strstr(t, "dflt_bucket{le=\"0.005\"} 0\n"));
    assert_non_null(strstr(t, "dflt_bucket{le=\"0.25\"} 1\n"));
    assert_non_null(strstr(t, "dflt_bucket{le=\"10\"} 1\n"));
    free(t);
    metrics_registry_free(r);
}

struct worker {
    metrics_series *c, *h;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 100000; i++) {
        metrics_add(w->c, 1);
        metrics_observe(w->h, 0.001 * (i % 100));
    }
    return NULL;
}

static void test_concurrent_updates(void **state)
{
    (void)state;
    metrics_registry *r = metrics_registry_new();
    metrics_family *c = metrics_counter(r, "c_total", "", NULL, NULL);
    metrics_family *h = metrics_histogram(r, "h_seconds", "", NULL, NULL, 0, NULL);
    struct worker w = {metrics_series_get(c, NULL), metrics_series_get(h, NULL)};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, &w);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_true(metrics_value(w.c) == 400000.0);
    assert_int_equal(metrics_count(w.h), 400000);
    metrics_registry_free(r);
}

static const char *checker =
    "import sys\n"
    "from prometheus_client.parser import text_string_to_metric_families as parse\n"
    "text = open(sys.argv[1]).read()\n"
    "fams = {f.name: f for f in parse(text)}\n"
    "assert fams['weir_watch_events'].type == 'counter', fams.keys()\n"
    "s = {tuple(sorted(x.labels.items())): x.value for x in fams['weir_watch_events'].samples}\n"
    "assert s[(('kind', 'Pod'), ('type', 'ADDED'))] == 3.0, s\n"
    "assert s[(('kind', 'q\"u\\\\o\\nte'), ('type', 'ADDED'))] == 1.0, s\n"
    "h = fams['weir_latency_seconds']\n"
    "assert h.type == 'histogram'\n"
    "b = [x for x in h.samples if x.name.endswith('_bucket')]\n"
    "assert len(b) == 12 * 2, len(b)\n"
    "c = [x for x in h.samples if x.name.endswith('_count') and x.labels['op'] == 'get']\n"
    "assert c[0].value == 50, c\n"
    "g = fams['weir_temperature']\n"
    "vals = sorted(x.value for x in g.samples)\n"
    "assert vals[0] == float('-inf') and vals[-1] == 1e300, vals\n"
    "print('ok', len(fams))\n";

static void test_real_parser_accepts_output(void **state)
{
    (void)state;
    metrics_registry *r = metrics_registry_new();
    metrics_family *c = metrics_counter(r, "weir_watch_events_total", "Watch events.",
                                        (const char *[]){"kind", "type", NULL}, NULL);
    metrics_add(metrics_series_get(c, (const char *[]){"Pod", "ADDED"}), 3);
    metrics_add(metrics_series_get(c, (const char *[]){"q\"u\\o\nte", "ADDED"}), 1);
    metrics_family *h = metrics_histogram(r, "weir_latency_seconds", "Latency.",
                                          (const char *[]){"op", NULL}, NULL, 0, NULL);
    for (int i = 0; i < 50; i++) {
        metrics_observe(metrics_series_get(h, (const char *[]){"get"}), i * 0.3);
        metrics_observe(metrics_series_get(h, (const char *[]){"list"}), i * 0.01);
    }
    metrics_family *g =
        metrics_gauge(r, "weir_temperature", "Odd values.", (const char *[]){"n", NULL}, NULL);
    metrics_set(metrics_series_get(g, (const char *[]){"a"}), -1.0 / 0.0);
    metrics_set(metrics_series_get(g, (const char *[]){"b"}), 1e300);
    metrics_set(metrics_series_get(g, (const char *[]){"c"}), 0.1);
    char *text = metrics_render(r);
    char path[] = "/tmp/weir-metrics-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char pyfile[] = "/tmp/weir-metrics-check-XXXXXX";
    fd = mkstemp(pyfile);
    assert_int_equal(write(fd, checker, strlen(checker)), (ssize_t)strlen(checker));
    close(fd);
    char cmd[256];
    /* Debian's interpreter: python3-prometheus-client is installed by make deps */
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s", pyfile, path);
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "rendered text:\n%s\n", text);
    assert_int_equal(rc, 0);
    unlink(path);
    unlink(pyfile);
    free(text);
    metrics_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_text),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_concurrent_updates),
        cmocka_unit_test(test_real_parser_accepts_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
