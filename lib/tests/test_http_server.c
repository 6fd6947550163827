/*
 * test_http_server.c - lib/http_server with a real client (lib/http_client over libcurl) on
 * loopback: path parameters and literal-over-parameter precedence, query and headers, JSON
 * bodies, 404/405 with Flink's error body and Allow, 413, TLS, concurrent clients, and a
 * graceful stop that lets a running request finish.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/http_client.h"
#include "lib/http_server.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void h_job(const http_request *req, http_response *resp, void *ud)
{
    (void)ud;
    const char *q = http_request_query(req, "detail");
    const char *h = http_request_header(req, "x-trace");
    http_response_json(resp, 200,
                       json_pack("{s:s,s:s,s:s?,s:s?}", "route", "job", "jobid",
                                 http_request_param(req, "jobid"), "detail", q, "trace", h));
}

static void h_overview(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    (void)ud;
    http_response_json(resp, 200, json_pack("{s:s}", "route", "overview"));
}

static void h_savepoint(const http_request *req, http_response *resp, void *ud)
{
    (void)ud;
    json_t *body = http_request_json(req, resp);
    if (!body)
        return;
    json_t *out = json_pack("{s:s,s:s,s:O}", "jobid", http_request_param(req, "jobid"), "trigger",
                            http_request_param(req, "triggerid"), "body", body);
    json_decref(body);
    http_response_json(resp, 202, out);
    http_response_header(resp, "X-Weir", "yes");
}

static void h_slow(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    atomic_int *started = ud;
    atomic_store(started, 1);
    usleep(700000);
    http_response_set(resp, 200, "text/plain", "done", 4);
}

static atomic_int slow_started;

static http_server *make_server(const http_server_opts *o)
{
    weir_error err = {0};
    http_server *s = http_server_new(o, &err);
    assert_non_null(s);
    assert_int_equal(http_server_route(s, "GET", "/jobs/:jobid", h_job, NULL), 0);
    assert_int_equal(http_server_route(s, "GET", "/jobs/overview", h_overview, NULL), 0);
    assert_int_equal(
        http_server_route(s, "POST", "/jobs/:jobid/savepoints/:triggerid", h_savepoint, NULL), 0);
    assert_int_equal(http_server_route(s, "GET", "/slow", h_slow, &slow_started), 0);
    assert_int_equal(http_server_route(s, "GET", "/jobs/:jobid", h_job, NULL), WEIR_EDUPLICATE);
    assert_int_equal(http_server_route(s, "GET", "nojslash", h_job, NULL), WEIR_EINVAL);
    int rc = http_server_start(s, &err);
    if (rc)
        fail_msg("start: %s", err.msg);
    assert_true(http_server_port(s) > 0);
    return s;
}

static int call(http_client *c, const char *method, http_server *s, const char *path,
                const char *body, http_client_response *resp, bool tls)
{
    char url[256];
    snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", tls ? "https" : "http", http_server_port(s),
             path);
    const char *hdrs[] = {"X-Trace: t-1", "Content-Type: application/json", NULL};
    http_client_req req = {.method = method,
                           .url = url,
                           .headers = hdrs,
                           .body = body,
                           .body_len = body ? strlen(body) : 0};
    return http_client_do(c, &req, resp, NULL);
}

static void test_routes(void **state)
{
    (void)state;
    http_server *s = make_server(&(http_server_opts){.bind_address = "127.0.0.1"});
    http_client *c = http_client_new(NULL, NULL);
    http_client_response r = {0};

    assert_int_equal(call(c, "GET", s, "/jobs/abc123?detail=full", NULL, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    assert_non_null(strstr(r.body, "\"jobid\":\"abc123\""));
    assert_non_null(strstr(r.body, "\"detail\":\"full\""));
    assert_non_null(strstr(r.body, "\"trace\":\"t-1\""));

    /* literal beats parameter */
    assert_int_equal(call(c, "GET", s, "/jobs/overview", NULL, &r, false), 0);
    assert_non_null(strstr(r.body, "\"route\":\"overview\""));

    /* percent-encoded segment arrives decoded */
    assert_int_equal(call(c, "GET", s, "/jobs/a%20b", NULL, &r, false), 0);
    assert_non_null(strstr(r.body, "\"jobid\":\"a b\""));

    /* POST with JSON body, two params, custom header */
    assert_int_equal(call(c, "POST", s, "/jobs/j1/savepoints/t9",
                          "{\"target-directory\":\"s3://x\"}", &r, false),
                     0);
    assert_int_equal(r.status, 202);
    assert_non_null(strstr(r.body, "\"trigger\":\"t9\""));
    assert_non_null(strstr(r.body, "\"target-directory\":\"s3://x\""));

    /* bad JSON -> 400 with position */
    assert_int_equal(call(c, "POST", s, "/jobs/j1/savepoints/t9", "{nope", &r, false), WEIR_EHTTP);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "{\"errors\":[\"Request body is not valid JSON: 1:"));

    /* 404 and 405 */
    assert_int_equal(call(c, "GET", s, "/nope/x", NULL, &r, false), WEIR_ENOTFOUND);
    assert_string_equal(r.body, "{\"errors\":[\"Not found: /nope/x\"]}");
    assert_int_equal(call(c, "DELETE", s, "/jobs/j1", NULL, &r, false), WEIR_EHTTP);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.body, "\"errors\":[\"Method DELETE is not allowed"));

    http_client_response_clear(&r);
    http_client_free(c);
    http_server_stop(s, 1000);
    http_server_stop(s, 1000); /* twice is fine */
    http_server_free(s);
}

static size_t allow_seen;
static char allow_value[128];

static void test_405_allow_header_and_413(void **state)
{
    (void)state;
    http_server *s =
        make_server(&(http_server_opts){.bind_address = "127.0.0.1", .max_body_bytes = 100});
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "curl -s -o /dev/null -D - -X PUT http://127.0.0.1:%d/jobs/x | tr -d '\\r' | "
             "sed -n 's/^[Aa]llow: //p'",
             http_server_port(s));
    FILE *p = popen(cmd, "r");
    allow_seen = fread(allow_value, 1, sizeof(allow_value) - 1, p);
    pclose(p);
    allow_value[allow_seen] = '\0';
    assert_string_equal(allow_value, "GET\n");

    http_client *c = http_client_new(NULL, NULL);
    http_client_response r = {0};
    char big[300];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(call(c, "POST", s, "/jobs/j/savepoints/t", big, &r, false), WEIR_ETOOBIG);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body, "larger than 100 bytes"));
    /* chunked upload without Content-Length also hits the limit */
    snprintf(cmd, sizeof(cmd),
             "head -c 500 /dev/zero | tr '\\0' x | curl -s -o /dev/null -w '%%{http_code}' "
             "-H 'Transfer-Encoding: chunked' --data-binary @- "
             "http://127.0.0.1:%d/jobs/j/savepoints/t",
             http_server_port(s));
    p = popen(cmd, "r");
    char code[8] = {0};
    assert_true(fread(code, 1, 3, p) == 3);
    pclose(p);
    assert_string_equal(code, "413");
    /* the server is still fine */
    assert_int_equal(call(c, "GET", s, "/jobs/overview", NULL, &r, false), 0);
    http_client_response_clear(&r);
    http_client_free(c);
    http_server_free(s);
}

static char tls_dir[] = "/tmp/weir-http-server-XXXXXX";

static char *slurp(const char *dir, const char *name)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    if (!f)
        return NULL;
    char *b = calloc(1, 16384);
    size_t n = fread(b, 1, 16383, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

static void test_tls(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(tls_dir));
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt "
             "-days 1 -subj /CN=ca 2>/dev/null && openssl req -newkey rsa:2048 -nodes -keyout "
             "s.key -out s.csr -subj /CN=localhost 2>/dev/null && printf "
             "'subjectAltName=IP:127.0.0.1\\n' > ext && openssl x509 -req -in s.csr -CA ca.crt "
             "-CAkey ca.key -CAcreateserial -days 1 -extfile ext -out s.crt 2>/dev/null",
             tls_dir);
    assert_int_equal(system(cmd), 0);
    char *ca = slurp(tls_dir, "ca.crt"), *crt = slurp(tls_dir, "s.crt"),
         *key = slurp(tls_dir, "s.key");
    http_server *s = make_server(
        &(http_server_opts){.bind_address = "127.0.0.1", .tls_cert_pem = crt, .tls_key_pem = key});
    http_client *c = http_client_new(&(http_client_opts){.ca_data = ca}, NULL);
    http_client_response r = {0};
    assert_int_equal(call(c, "GET", s, "/jobs/tls1", NULL, &r, true), 0);
    assert_non_null(strstr(r.body, "\"jobid\":\"tls1\""));
    http_client_response_clear(&r);
    http_client_free(c);
    http_server_free(s);

    weir_error err = {0};
    http_server *bad = http_server_new(&(http_server_opts){.bind_address = "127.0.0.1",
                                                           .tls_cert_pem = "junk",
                                                           .tls_key_pem = "junk"},
                                       &err);
    assert_int_equal(http_server_start(bad, &err), WEIR_ETLS);
    http_server_free(bad);
    assert_null(http_server_new(&(http_server_opts){.tls_cert_pem = crt}, &err));
    free(ca);
    free(crt);
    free(key);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tls_dir);
    assert_int_equal(system(cmd), 0);
}

struct client_thread {
    http_server *s;
    int ok;
    http_client_response r;
    int rc;
};

static void *client_main(void *arg)
{
    struct client_thread *t = arg;
    http_client *c = http_client_new(NULL, NULL);
    for (int i = 0; i < 25; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/jobs/j%d", i);
        http_client_response r = {0};
        if (call(c, "GET", t->s, path, NULL, &r, false) == 0 && strstr(r.body, path + 6))
            t->ok++;
        http_client_response_clear(&r);
    }
    http_client_free(c);
    return NULL;
}

static void *slow_main(void *arg)
{
    struct client_thread *t = arg;
    http_client *c = http_client_new(NULL, NULL);
    t->rc = call(c, "GET", t->s, "/slow", NULL, &t->r, false);
    http_client_free(c);
    return NULL;
}

static void test_concurrency_and_graceful_stop(void **state)
{
    (void)state;
    http_server *s = make_server(&(http_server_opts){.bind_address = "127.0.0.1"});
    struct client_thread ts[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        ts[i] = (struct client_thread){.s = s};
        pthread_create(&th[i], NULL, client_main, &ts[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ts[i].ok, 25);
    }
    /* a slow request in flight survives a graceful stop */
    struct client_thread slow = {.s = s};
    pthread_t st;
    atomic_store(&slow_started, 0);
    pthread_create(&st, NULL, slow_main, &slow);
    while (!atomic_load(&slow_started))
        usleep(1000);
    int port = http_server_port(s);
    http_server_stop(s, 5000);
    pthread_join(st, NULL);
    assert_int_equal(slow.rc, 0);
    assert_string_equal(slow.r.body, "done");
    http_client_response_clear(&slow.r);
    /* and nothing listens any more */
    http_client *c = http_client_new(NULL, NULL);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/jobs/x", port);
    http_client_response r = {0};
    assert_int_equal(http_client_do(c, &(http_client_req){.url = url}, &r, NULL), WEIR_ECONNECT);
    http_client_free(c);
    http_server_free(s);
}

static void test_port_in_use(void **state)
{
    (void)state;
    http_server *a = make_server(&(http_server_opts){.bind_address = "127.0.0.1"});
    weir_error err = {0};
    http_server *b = http_server_new(
        &(http_server_opts){.bind_address = "127.0.0.1", .port = http_server_port(a)}, &err);
    assert_int_equal(http_server_start(b, &err), WEIR_EIO);
    assert_non_null(strstr(err.msg, "cannot listen"));
    http_server_free(b);
    http_server_free(a);
    assert_null(http_server_new(&(http_server_opts){.port = 70000}, &err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),      cmocka_unit_test(test_405_allow_header_and_413),
        cmocka_unit_test(test_tls),         cmocka_unit_test(test_concurrency_and_graceful_stop),
        cmocka_unit_test(test_port_in_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
