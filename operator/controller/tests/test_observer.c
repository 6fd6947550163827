/*
 * test_observer.c - the REST observer against a real HTTP server on loopback (lib/http_server)
 * answering as a JobManager does: cluster info from /config, the newest job from
 * /jobs/overview; a server that is not Flink's REST API, and no server at all, are errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/http_server.h"
#include "operator/controller/observer.h"

#include <stdio.h>
#include <string.h>

static const char *jobs_body = "{\"jobs\":[]}";

static void h_config(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    (void)ud;
    const char *b = "{\"refresh-interval\":3000,\"timezone-name\":\"UTC\",\"flink-version\":"
                    "\"1.20.1\",\"flink-revision\":\"abc123 @ 2025-02-01\",\"features\":{}}";
    http_response_set(resp, 200, "application/json", b, strlen(b));
}

static void h_jobs(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    (void)ud;
    http_response_set(resp, 200, "application/json", jobs_body, strlen(jobs_body));
}

static void h_other(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    (void)ud;
    http_response_set(resp, 200, "text/html", "<html>hi</html>", 15);
}

static http_server *jm(bool flink)
{
    http_server *s = http_server_new(&(http_server_opts){.bind_address = "127.0.0.1"}, NULL);
    assert_int_equal(http_server_route(s, "GET", "/config", flink ? h_config : h_other, NULL), 0);
    assert_int_equal(http_server_route(s, "GET", "/jobs/overview", h_jobs, NULL), 0);
    assert_int_equal(http_server_start(s, NULL), 0);
    return s;
}

static void test_cluster_and_newest_job(void **state)
{
    (void)state;
    http_server *s = jm(true);
    http_client *hc = http_client_new(NULL, NULL);
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", http_server_port(s));
    observer_result r;
    weir_error err = {0};
    jobs_body = "{\"jobs\":[]}";
    assert_int_equal(observer_query(hc, base, 2000, &r, &err), 0);
    assert_string_equal(json_string_value(json_object_get(r.cluster_info, "flink-version")),
                        "1.20.1");
    assert_null(r.job);
    observer_result_clear(&r);

    jobs_body = "{\"jobs\":[{\"jid\":\"a1\",\"name\":\"old\",\"state\":\"CANCELED\","
                "\"start-time\":1000,\"last-modification\":2000},{\"jid\":\"b2\",\"name\":"
                "\"sensor-aggregation\",\"state\":\"RUNNING\",\"start-time\":5000,"
                "\"last-modification\":6000,\"tasks\":{}}]}";
    assert_int_equal(observer_query(hc, base, 2000, &r, &err), 0);
    assert_string_equal(json_string_value(json_object_get(r.job, "jobId")), "b2");
    assert_string_equal(json_string_value(json_object_get(r.job, "state")), "RUNNING");
    assert_string_equal(json_string_value(json_object_get(r.job, "startTime")), "5000");
    assert_string_equal(json_string_value(json_object_get(r.job, "updateTime")), "6000");
    observer_result_clear(&r);
    http_server_free(s);

    s = jm(false);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", http_server_port(s));
    assert_int_equal(observer_query(hc, base, 2000, &r, &err), WEIR_EPARSE);
    http_server_free(s);
    assert_int_equal(observer_query(hc, "http://127.0.0.1:1", 500, &r, &err), WEIR_ECONNECT);
    http_client_free(hc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_and_newest_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
