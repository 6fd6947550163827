/*
 * test_metrics.c - lib/metrics: exact text for a small registry, name and label validation,
 * re-registration, concurrent updates, and the rendered text of a larger registry checked by
 * a real Prometheus parser (python3-prometheus-client's text_string_to_metric_families) whose
 * families, samples and values are compared with what was recorded; label values that would
 * collide under a naive key; sample names shared between families.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/metrics.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

/* Threads create series and update them while the main thread renders. */
static void *creator(void *arg)
{
    metrics_family *f = arg;
    char v[16];
    for (int i = 0; i < 2000; i++) {
        snprintf(v, sizeof(v), "s%d", i % 50);
        metrics_add(metrics_series_get(f, (const char *[]){v}), 1);
    }
    return NULL;
}

static void test_concurrent_create_and_render(void **state)
{
    (void)state;
    metrics_registry *r = metrics_registry_new();
    metrics_family *f = metrics_counter(r, "mixed_total", "", (const char *[]){"s", NULL}, NULL);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, creator, f);
    for (int i = 0; i < 50; i++) {
        free(metrics_render(r));
        metrics_gauge(r, "late_registered", "", NULL, NULL);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    char *text = metrics_render(r);
    assert_non_null(strstr(text, "mixed_total{s=\"s7\"} 160\n"));
    free(text);
    metrics_registry_free(r);
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

/*
 * The Prometheus client's own parser, run as `/usr/bin/python3 -c SCRIPT FILE` (Debian's
 * interpreter, where python3-prometheus-client is installed): prints each family as
 * "name type help" and each of its samples as "  name {sorted labels as JSON} value" with the
 * value as Python's repr of the float. Also checks every histogram is self-consistent.
 */
static const char *parser_script =
    "import json, sys\n"
    "from prometheus_client.parser import text_string_to_metric_families as parse\n"
    "for f in parse(open(sys.argv[1]).read()):\n"
    "    print(f.name, f.type, json.dumps(f.documentation))\n"
    "    for s in f.samples:\n"
    "        print(' ', s.name, json.dumps(s.labels, sort_keys=True), repr(s.value))\n"
    "    if f.type == 'histogram':\n"
    "        groups = {}\n"
    "        for s in f.samples:\n"
    "            key = json.dumps({k: v for k, v in s.labels.items() if k != 'le'}, "
    "sort_keys=True)\n"
    "            groups.setdefault(key, []).append(s)\n"
    "        for key, ss in groups.items():\n"
    "            b = [s for s in ss if s.name.endswith('_bucket')]\n"
    "            les = [float(s.labels['le']) for s in b]\n"
    "            assert les == sorted(les) and les[-1] == float('inf'), les\n"
    "            assert all(x.value <= y.value for x, y in zip(b, b[1:])), 'not cumulative'\n"
    "            cnt = [s.value for s in ss if s.name.endswith('_count')]\n"
    "            assert cnt == [b[-1].value], (cnt, b[-1].value)\n";

/* Runs the parser over `text`; returns its output (caller frees), or NULL when it failed. */
static char *parse_with_prometheus_client(const char *text)
{
    char path[] = "/tmp/weir-metrics-XXXXXX";
    char *out = NULL;
    size_t len = 0, cap = 0;
    int pfd[2] = {-1, -1}, status = 0;
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    bool wrote = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    close(fd);
    if (!wrote || pipe(pfd) != 0)
        goto out;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execl("/usr/bin/python3", "python3", "-c", parser_script, path, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    pfd[1] = -1;
    if (pid < 0)
        goto out;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *grown = realloc(out, cap);
            assert_non_null(grown);
            out = grown;
        }
        ssize_t n = read(pfd[0], out + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    waitpid(pid, &status, 0);
    if (out)
        out[len] = '\0';
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "prometheus_client rejected:\n%s\n", text);
        free(out);
        out = NULL;
    }
out:
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    unlink(path);
    return out;
}

static void test_real_parser_accepts_output(void **state)
{
    (void)state;
    metrics_registry *r = metrics_registry_new();
    metrics_family *c = metrics_counter(r, "weir_watch_events_total", "Watch events.",
                                        (const char *[]){"kind", "type", NULL}, NULL);
    metrics_add(metrics_series_get(c, (const char *[]){"Pod", "ADDED"}), 3);
    metrics_add(metrics_series_get(c, (const char *[]){"q\"u\\o\nte", "ADDED"}), 1);
    metrics_family *h =
        metrics_histogram(r, "weir_latency_seconds", "Latency \\ in\nseconds.",
                          (const char *[]){"op", NULL}, (double[]){0.5, 2, 10}, 3, NULL);
    for (int i = 0; i < 50; i++) {
        metrics_observe(metrics_series_get(h, (const char *[]){"get"}), i * 0.25);
        metrics_observe(metrics_series_get(h, (const char *[]){"list"}), i * 0.01);
    }
    metrics_family *g =
        metrics_gauge(r, "weir_temperature", "Odd values.", (const char *[]){"n", NULL}, NULL);
    metrics_set(metrics_series_get(g, (const char *[]){"a"}), -1.0 / 0.0);
    metrics_set(metrics_series_get(g, (const char *[]){"b"}), 1e300);
    metrics_set(metrics_series_get(g, (const char *[]){"c"}), 0.1);
    metrics_set(metrics_series_get(g, (const char *[]){"d"}), -0.000123456789012345);
    metrics_set(metrics_series_get(g, (const char *[]){""}), 2.0 / 3.0);
    metrics_counter(r, "weir_restarts_total", "", NULL, NULL); /* unlabeled: shown at zero */
    char *text = metrics_render(r);
    char *parsed = parse_with_prometheus_client(text);
    assert_non_null(parsed);
    assert_string_equal(
        parsed,
        "weir_latency_seconds histogram \"Latency \\\\ in\\nseconds.\"\n"
        "  weir_latency_seconds_bucket {\"le\": \"0.5\", \"op\": \"get\"} 3.0\n"
        "  weir_latency_seconds_bucket {\"le\": \"2\", \"op\": \"get\"} 9.0\n"
        "  weir_latency_seconds_bucket {\"le\": \"10\", \"op\": \"get\"} 41.0\n"
        "  weir_latency_seconds_bucket {\"le\": \"+Inf\", \"op\": \"get\"} 50.0\n"
        "  weir_latency_seconds_sum {\"op\": \"get\"} 306.25\n"
        "  weir_latency_seconds_count {\"op\": \"get\"} 50.0\n"
        "  weir_latency_seconds_bucket {\"le\": \"0.5\", \"op\": \"list\"} 50.0\n"
        "  weir_latency_seconds_bucket {\"le\": \"2\", \"op\": \"list\"} 50.0\n"
        "  weir_latency_seconds_bucket {\"le\": \"10\", \"op\": \"list\"} 50.0\n"
        "  weir_latency_seconds_bucket {\"le\": \"+Inf\", \"op\": \"list\"} 50.0\n"
        "  weir_latency_seconds_sum {\"op\": \"list\"} 12.25\n"
        "  weir_latency_seconds_count {\"op\": \"list\"} 50.0\n"
        "weir_restarts counter \"\"\n"
        "  weir_restarts_total {} 0.0\n"
        "weir_temperature gauge \"Odd values.\"\n"
        "  weir_temperature {\"n\": \"\"} 0.6666666666666666\n"
        "  weir_temperature {\"n\": \"a\"} -inf\n"
        "  weir_temperature {\"n\": \"b\"} 1e+300\n"
        "  weir_temperature {\"n\": \"c\"} 0.1\n"
        "  weir_temperature {\"n\": \"d\"} -0.000123456789012345\n"
        "weir_watch_events counter \"Watch events.\"\n"
        "  weir_watch_events_total {\"kind\": \"Pod\", \"type\": \"ADDED\"} 3.0\n"
        "  weir_watch_events_total {\"kind\": \"q\\\"u\\\\o\\nte\", \"type\": \"ADDED\"} 1.0\n");
    free(parsed);
    free(text);
    metrics_registry_free(r);
}

/* Label values that contain separators or control bytes stay distinct series. */
static void test_label_values_distinct(void **state)
{
    (void)state;
    metrics_registry *r = metrics_registry_new();
    metrics_family *c = metrics_counter(r, "x_total", "", (const char *[]){"a", "b", NULL}, NULL);
    metrics_series *s1 = metrics_series_get(c, (const char *[]){"p\x1fq", "r"});
    metrics_series *s2 = metrics_series_get(c, (const char *[]){"p", "q\x1fr"});
    metrics_series *s3 = metrics_series_get(c, (const char *[]){"1:p", ""});
    metrics_series *s4 = metrics_series_get(c, (const char *[]){"1", "p:"});
    assert_non_null(s1);
    assert_true(s1 != s2 && s3 != s4);
    metrics_add(s1, 1);
    metrics_add(s2, 2);
    assert_true(metrics_value(s1) == 1 && metrics_value(s2) == 2);
    char *text = metrics_render(r);
    /* series ordered by label values, in label order */
    assert_string_equal(text, "# HELP x_total \n"
                              "# TYPE x_total counter\n"
                              "x_total{a=\"1\",b=\"p:\"} 0\n"
                              "x_total{a=\"1:p\",b=\"\"} 0\n"
                              "x_total{a=\"p\",b=\"q\x1fr\"} 2\n"
                              "x_total{a=\"p\x1fq\",b=\"r\"} 1\n");
    free(text);
    metrics_registry_free(r);
}

/* Histogram "x" writes x_bucket, x_sum and x_count: no other family may take those names. */
static void test_sample_name_clash(void **state)
{
    (void)state;
    metrics_registry *r = metrics_registry_new();
    weir_error err = {0};
    assert_non_null(metrics_histogram(r, "req_seconds", "", NULL, NULL, 0, &err));
    assert_null(metrics_counter(r, "req_seconds_count", "", NULL, &err));
    assert_int_equal(err.code, WEIR_EEXIST);
    assert_null(metrics_gauge(r, "req_seconds_sum", "", NULL, &err));
    assert_null(metrics_histogram(r, "req_seconds_bucket", "", NULL, NULL, 0, &err));
    assert_non_null(metrics_gauge(r, "req_seconds_total", "", NULL, &err));
    assert_non_null(metrics_gauge(r, "other_sum", "", NULL, &err));
    assert_null(metrics_histogram(r, "other", "", NULL, NULL, 0, &err));
    assert_non_null(strstr(err.msg, "other_sum"));
    /* very long names are rendered whole */
    char name[700];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    metrics_family *h = metrics_histogram(r, name, "", NULL, (double[]){1}, 1, &err);
    assert_non_null(h);
    char *text = metrics_render(r);
    char *want = malloc(strlen(name) + 64);
    sprintf(want, "\n%s_count 0\n", name);
    assert_non_null(strstr(text, want));
    free(want);
    free(text);
    metrics_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_text),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_concurrent_updates),
        cmocka_unit_test(test_concurrent_create_and_render),
        cmocka_unit_test(test_real_parser_accepts_output),
        cmocka_unit_test(test_label_values_distinct),
        cmocka_unit_test(test_sample_name_clash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
