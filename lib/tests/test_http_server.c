/*
 * test_http_server.c - lib/http_server against a real client (libcurl's easy API) on
 * 127.0.0.1: route registration rules, path parameters with literal-over-parameter
 * precedence, query arguments and headers, body echo (binary, at and over the limit, chunked),
 * Flink-style 404/405 bodies and the Allow header, HEAD, response helpers, TLS with a CA made
 * by the openssl CLI, concurrent clients (thread per connection and thread pool), graceful
 * stop while a slow handler runs, idle-connection timeout and ephemeral ports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/http_server.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* --- client side ------------------------------------------------------------------------ */

struct reply {
    long status;
    char *body;
    size_t len;
    char ctype[128];
    char allow[128];
    char conn[32];
    char xtra[64]; /* X-Weir header */
};

static void reply_clear(struct reply *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct reply *r = ud;
    char *nb = realloc(r->body, r->len + sz * n + 1);
    if (!nb)
        return 0;
    memcpy(nb + r->len, p, sz * n);
    r->body = nb;
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    const char *end = line + n;
    while (v < end && *v == ' ')
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n'))
        end--;
    snprintf(out, cap, "%.*s", (int)(end - v), v);
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct reply *r = ud;
    header_value(p, sz * n, "Content-Type", r->ctype, sizeof(r->ctype));
    header_value(p, sz * n, "Allow", r->allow, sizeof(r->allow));
    header_value(p, sz * n, "Connection", r->conn, sizeof(r->conn));
    header_value(p, sz * n, "X-Weir", r->xtra, sizeof(r->xtra));
    return sz * n;
}

struct call {
    const char *method; /* NULL: GET */
    const char *path;
    const char *body;
    size_t len;      /* 0 with body: strlen(body) */
    bool chunked;    /* send the body with Transfer-Encoding: chunked */
    const char *ca;  /* CA file: use https */
    CURL *keep;      /* reuse this handle (keep-alive) */
    long timeout_ms; /* 0: 10 s */
};

struct chunked_src {
    const char *p;
    size_t left;
};

static size_t on_read(char *buf, size_t sz, size_t n, void *ud)
{
    struct chunked_src *src = ud;
    size_t k = sz * n < src->left ? sz * n : src->left;
    if (k > 4096)
        k = 4096;
    memcpy(buf, src->p, k);
    src->p += k;
    src->left -= k;
    return k;
}

/* Performs one request against 127.0.0.1:port; returns the CURLcode and fills `r`. */
static CURLcode do_call(int port, const struct call *c, struct reply *r)
{
    reply_clear(r);
    CURL *h = c->keep ? c->keep : curl_easy_init();
    char url[512];
    snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", c->ca ? "https" : "http", port, c->path);
    struct curl_slist *hdrs = curl_slist_append(NULL, "X-Trace: t-1");
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms ? c->timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (c->ca)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca);
    struct chunked_src src = {0};
    if (c->body) {
        size_t len = c->len ? c->len : strlen(c->body);
        if (c->chunked) {
            src = (struct chunked_src){c->body, len};
            curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(h, CURLOPT_READDATA, &src);
            hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
        } else {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        }
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    }
    const char *m = c->method ? c->method : "GET";
    if (strcmp(m, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (strcmp(m, "GET") != 0 || c->body)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hdrs);
    if (!c->keep)
        curl_easy_cleanup(h);
    if (!r->body)
        r->body = calloc(1, 1);
    return rc;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* --- handlers ------------------------------------------------------------------------------ */

static void h_job(const http_request *req, http_response *resp, void *ud)
{
    (void)ud;
    http_response_json(
        resp, 200,
        json_pack("{s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:s}", "route", "job", "jobid",
                  http_request_param(req, "jobid"), "detail", http_request_query(req, "detail"),
                  "flag", http_request_query(req, "flag"), "x", http_request_query(req, "x"),
                  "missing", http_request_query(req, "missing"), "trace",
                  http_request_header(req, "x-trace"), "path", http_request_path(req)));
}

static void h_overview(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    (void)ud;
    http_response_json(resp, 200, json_pack("{s:s}", "route", "overview"));
}

static void h_named(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    http_response_text(resp, 200, ud);
}

static void h_savepoint_post(const http_request *req, http_response *resp, void *ud)
{
    (void)ud;
    json_t *body = http_request_json(req, resp);
    if (!body)
        return;
    json_t *out = json_pack("{s:s,s:s,s:s,s:o}", "method", http_request_method(req), "jobid",
                            http_request_param(req, "jobid"), "trigger",
                            http_request_param(req, "triggerid"), "body", body);
    http_response_json(resp, 202, out);
    if (http_response_header(resp, "X-Weir", "yes") != 0)
        http_response_error(resp, 500, "header not added");
}

static void h_savepoint_get(const http_request *req, http_response *resp, void *ud)
{
    (void)ud;
    http_response_error(resp, 404, "Savepoint %s of job %s not found",
                        http_request_param(req, "triggerid"), http_request_param(req, "jobid"));
}

static void h_echo(const http_request *req, http_response *resp, void *ud)
{
    (void)ud;
    size_t len = 0;
    const char *b = http_request_body(req, &len);
    /* no cmocka asserts here: handlers run on libmicrohttpd's threads */
    http_response_set(resp, b[len] == '\0' ? 200 : 500, "application/octet-stream", b, len);
    char n[32];
    snprintf(n, sizeof(n), "%zu", len);
    http_response_header(resp, "X-Weir", n);
}

static void h_nothing(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    (void)resp;
    (void)ud;
}

static void h_misc(const http_request *req, http_response *resp, void *ud)
{
    (void)ud;
    const char *what = http_request_param(req, "what");
    if (strcmp(what, "badstatus") == 0) {
        http_response_text(resp, 42, "nope");
    } else if (strcmp(what, "badheader") == 0) {
        bool ok = http_response_header(resp, "X-Bad", "a\r\nInjected: 1") == WEIR_EINVAL &&
                  http_response_header(resp, "Bad Name", "v") == WEIR_EINVAL &&
                  http_response_header(resp, "", "v") == WEIR_EINVAL;
        for (int i = 0; i < 32; i++)
            ok = ok && http_response_header(resp, "X-Many", "v") == 0;
        ok = ok && http_response_header(resp, "X-Many", "v") == WEIR_ETOOBIG;
        http_response_text(resp, 200, ok ? "checked" : "failed");
    } else if (strcmp(what, "replace") == 0) {
        http_response_text(resp, 500, "first");
        http_response_error(resp, 409, "conflict on %s: %d", "x", 7);
    } else if (strcmp(what, "nulljson") == 0) {
        http_response_json(resp, 200, NULL);
    } else {
        http_response_text(resp, 200, what);
    }
}

struct slow {
    atomic_int started;
    unsigned sleep_ms;
};

static void h_slow(const http_request *req, http_response *resp, void *ud)
{
    (void)req;
    struct slow *sl = ud;
    atomic_store(&sl->started, 1);
    usleep(sl->sleep_ms * 1000);
    http_response_text(resp, 200, "done");
}

static struct slow slow_state = {.sleep_ms = 700};

static http_server *make_server(const http_server_opts *o)
{
    weir_error err = {0};
    http_server *s = http_server_new(o, &err);
    assert_non_null(s);
    assert_int_equal(http_server_port(s), 0);
    assert_int_equal(http_server_route(s, "GET", "/jobs/:jobid", h_job, NULL), 0);
    assert_int_equal(http_server_route(s, "GET", "/jobs/overview", h_overview, NULL), 0);
    assert_int_equal(
        http_server_route(s, "POST", "/jobs/:jobid/savepoints/:triggerid", h_savepoint_post, NULL),
        0);
    assert_int_equal(
        http_server_route(s, "GET", "/jobs/:jobid/savepoints/:triggerid", h_savepoint_get, NULL),
        0);
    assert_int_equal(http_server_route(s, "GET", "/a/:x/c", h_named, "a-x-c"), 0);
    assert_int_equal(http_server_route(s, "GET", "/:y/b/c", h_named, "y-b-c"), 0);
    assert_int_equal(http_server_route(s, "GET", "/", h_named, "root"), 0);
    assert_int_equal(http_server_route(s, "POST", "/echo", h_echo, NULL), 0);
    assert_int_equal(http_server_route(s, "PUT", "/echo", h_echo, NULL), 0);
    assert_int_equal(http_server_route(s, "DELETE", "/nothing", h_nothing, NULL), 0);
    assert_int_equal(http_server_route(s, "GET", "/misc/:what", h_misc, NULL), 0);
    assert_int_equal(http_server_route(s, "GET", "/slow", h_slow, &slow_state), 0);
    int rc = http_server_start(s, &err);
    if (rc)
        fail_msg("start: %s", err.msg);
    assert_true(http_server_port(s) > 0);
    return s;
}

static const http_server_opts LOCAL = {.bind_address = "127.0.0.1"};

/* --- tests ---------------------------------------------------------------------------------- */

static void test_route_registration(void **state)
{
    (void)state;
    weir_error err = {0};
    http_server *s = http_server_new(NULL, &err);
    assert_non_null(s);
    assert_int_equal(http_server_route(s, "GET", "/jobs/:jobid", h_job, NULL), 0);
    assert_int_equal(http_server_route(s, "GET", "/jobs/:jobid", h_job, NULL), WEIR_EDUPLICATE);
    assert_int_equal(http_server_route(s, "GET", "/jobs/:other/", h_job, NULL), WEIR_EDUPLICATE);
    assert_int_equal(http_server_route(s, "POST", "/jobs/:other", h_job, NULL), 0);
    assert_int_equal(http_server_route(s, "GET", "/jobs/overview", h_job, NULL), 0);
    assert_int_equal(http_server_route(s, "GET", "nolead", h_job, NULL), WEIR_EINVAL);
    assert_int_equal(http_server_route(s, "GET", "/a/:", h_job, NULL), WEIR_EINVAL);
    assert_int_equal(http_server_route(s, "GET", "/:a/:a", h_job, NULL), WEIR_EINVAL);
    assert_int_equal(http_server_route(s, "GET", "/:a/:b/:c/:d/:e/:f/:g/:h/:i", h_job, NULL),
                     WEIR_EINVAL);
    assert_int_equal(http_server_route(s, "GET", "/:a/:b/:c/:d/:e/:f/:g/:h", h_job, NULL), 0);
    char deep[200] = "";
    for (int i = 0; i < 33; i++)
        strcat(deep, "/x");
    assert_int_equal(http_server_route(s, "GET", deep, h_job, NULL), WEIR_EINVAL);
    assert_int_equal(http_server_route(s, "", "/x", h_job, NULL), WEIR_EINVAL);
    assert_int_equal(http_server_route(s, "G T", "/x", h_job, NULL), WEIR_EINVAL);
    assert_int_equal(http_server_route(s, "GET", "/x", NULL, NULL), WEIR_EINVAL);

    /* options */
    assert_null(http_server_new(&(http_server_opts){.port = 70000}, &err));
    assert_int_equal(err.code, WEIR_EINVAL);
    assert_null(http_server_new(&(http_server_opts){.tls_cert_pem = "x"}, &err));
    assert_int_equal(err.code, WEIR_EINVAL);
    http_server *bad = http_server_new(&(http_server_opts){.bind_address = "localhost"}, &err);
    assert_int_equal(http_server_start(bad, &err), WEIR_EINVAL);
    assert_non_null(strstr(err.msg, "not an IP address"));
    http_server_free(bad);

    /* after start: no more routes; no second start */
    http_server_free(s);
    s = make_server(&LOCAL);
    assert_int_equal(http_server_route(s, "GET", "/late", h_job, NULL), WEIR_ESTATE);
    assert_int_equal(http_server_start(s, &err), WEIR_ESTATE);
    http_server_stop(s, 1000);
    assert_int_equal(http_server_port(s), 0);
    assert_int_equal(http_server_start(s, &err), WEIR_ESTATE);
    http_server_stop(s, 1000); /* twice is fine */
    http_server_free(s);
    http_server_free(NULL);
    http_server_stop(NULL, 0);
}

static void test_params_query_headers(void **state)
{
    (void)state;
    http_server *s = make_server(&LOCAL);
    int port = http_server_port(s);
    struct reply r = {0};

    assert_int_equal(
        do_call(port, &(struct call){.path = "/jobs/abc123?detail=full&flag&x=a%20b&x=second"}, &r),
        CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "jobid")), "abc123");
    assert_string_equal(json_string_value(json_object_get(j, "detail")), "full");
    assert_string_equal(json_string_value(json_object_get(j, "flag")), "");
    assert_string_equal(json_string_value(json_object_get(j, "x")), "a b");
    assert_true(json_is_null(json_object_get(j, "missing")));
    assert_string_equal(json_string_value(json_object_get(j, "trace")), "t-1");
    assert_string_equal(json_string_value(json_object_get(j, "path")), "/jobs/abc123");
    json_decref(j);

    /* literal beats parameter */
    assert_int_equal(do_call(port, &(struct call){.path = "/jobs/overview"}, &r), CURLE_OK);
    assert_string_equal(r.body, "{\"route\":\"overview\"}");
    /* the leftmost difference decides: /a/:x/c beats /:y/b/c for /a/b/c */
    assert_int_equal(do_call(port, &(struct call){.path = "/a/b/c"}, &r), CURLE_OK);
    assert_string_equal(r.body, "a-x-c");
    assert_string_equal(r.ctype, "text/plain; charset=utf-8");
    assert_int_equal(do_call(port, &(struct call){.path = "/z/b/c"}, &r), CURLE_OK);
    assert_string_equal(r.body, "y-b-c");
    assert_int_equal(do_call(port, &(struct call){.path = "/"}, &r), CURLE_OK);
    assert_string_equal(r.body, "root");
    /* trailing and doubled slashes are ignored; percent-encoding is decoded */
    assert_int_equal(do_call(port, &(struct call){.path = "/jobs//a%20b/"}, &r), CURLE_OK);
    assert_non_null(strstr(r.body, "\"jobid\":\"a b\""));

    /* two params, JSON body, custom header */
    assert_int_equal(do_call(port,
                             &(struct call){.method = "POST",
                                            .path = "/jobs/j1/savepoints/t9",
                                            .body = "{\"target-directory\":\"s3://x\"}"},
                             &r),
                     CURLE_OK);
    assert_int_equal(r.status, 202);
    assert_string_equal(r.xtra, "yes");
    assert_string_equal(r.body, "{\"method\":\"POST\",\"jobid\":\"j1\",\"trigger\":\"t9\","
                                "\"body\":{\"target-directory\":\"s3://x\"}}");
    assert_int_equal(do_call(port, &(struct call){.path = "/jobs/j1/savepoints/t9"}, &r), CURLE_OK);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "{\"errors\":[\"Savepoint t9 of job j1 not found\"]}");

    /* invalid JSON -> 400 with a position */
    assert_int_equal(
        do_call(port,
                &(struct call){.method = "POST", .path = "/jobs/j1/savepoints/t9", .body = "{nope"},
                &r),
        CURLE_OK);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "{\"errors\":[\"Request body is not valid JSON: 1:"));
    reply_clear(&r);
    http_server_free(s);
}

static void test_404_405_head(void **state)
{
    (void)state;
    http_server *s = make_server(&LOCAL);
    int port = http_server_port(s);
    struct reply r = {0};

    assert_int_equal(do_call(port, &(struct call){.path = "/nope/x"}, &r), CURLE_OK);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.ctype, "application/json");
    assert_string_equal(r.body, "{\"errors\":[\"Not found: /nope/x\"]}");
    assert_string_equal(r.allow, "");
    /* deeper than any route can be */
    char deep[256] = "";
    for (int i = 0; i < 40; i++)
        strcat(deep, "/x");
    assert_int_equal(do_call(port, &(struct call){.path = deep}, &r), CURLE_OK);
    assert_int_equal(r.status, 404);

    assert_int_equal(do_call(port, &(struct call){.method = "DELETE", .path = "/jobs/j1"}, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "GET, HEAD");
    assert_string_equal(r.body, "{\"errors\":[\"Method DELETE is not allowed for /jobs/j1 "
                                "(allowed: GET, HEAD)\"]}");
    assert_int_equal(
        do_call(port, &(struct call){.method = "PATCH", .path = "/jobs/j1/savepoints/t"}, &r),
        CURLE_OK);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "POST, GET, HEAD");
    assert_int_equal(do_call(port, &(struct call){.path = "/echo"}, &r), CURLE_OK);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "POST, PUT");
    assert_int_equal(do_call(port, &(struct call){.method = "HEAD", .path = "/echo"}, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 405);

    /* HEAD is answered by the GET route, without a body */
    assert_int_equal(do_call(port, &(struct call){.method = "HEAD", .path = "/jobs/overview"}, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    assert_int_equal(r.len, 0);
    reply_clear(&r);
    http_server_free(s);
}

static void test_response_helpers(void **state)
{
    (void)state;
    /* exercise the debug request log and libmicrohttpd's messages, into /dev/null */
    int devnull = open("/dev/null", O_WRONLY);
    log_set_fd(devnull);
    log_set_level(LOG_DEBUG);
    http_server *s = make_server(&LOCAL);
    int port = http_server_port(s);
    struct reply r = {0};

    /* a handler that sets nothing answers 204 */
    assert_int_equal(do_call(port, &(struct call){.method = "DELETE", .path = "/nothing"}, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.len, 0);
    assert_int_equal(do_call(port, &(struct call){.path = "/misc/badstatus"}, &r), CURLE_OK);
    assert_int_equal(r.status, 500);
    assert_int_equal(do_call(port, &(struct call){.path = "/misc/badheader"}, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "checked");
    assert_int_equal(do_call(port, &(struct call){.path = "/misc/replace"}, &r), CURLE_OK);
    assert_int_equal(r.status, 409);
    assert_string_equal(r.ctype, "application/json");
    assert_string_equal(r.body, "{\"errors\":[\"conflict on x: 7\"]}");
    assert_int_equal(do_call(port, &(struct call){.path = "/misc/nulljson"}, &r), CURLE_OK);
    assert_int_equal(r.status, 500);
    assert_string_equal(r.body, "{\"errors\":[\"out of memory\"]}");
    reply_clear(&r);
    http_server_free(s);
    log_set_level(LOG_INFO);
    log_set_fd(2);
    close(devnull);
}

static void test_body_echo_and_413(void **state)
{
    (void)state;
    http_server *s =
        make_server(&(http_server_opts){.bind_address = "127.0.0.1", .max_body_bytes = 100});
    int port = http_server_port(s);
    struct reply r = {0};
    char body[600];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (char)(i % 7 == 0 ? '\0' : 'a' + i % 26); /* binary, embedded NULs */

    /* exactly at the limit: echoed byte for byte */
    assert_int_equal(
        do_call(port, &(struct call){.method = "POST", .path = "/echo", .body = body, .len = 100},
                &r),
        CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.xtra, "100");
    assert_int_equal(r.len, 100);
    assert_memory_equal(r.body, body, 100);
    /* chunked, under the limit */
    assert_int_equal(
        do_call(port,
                &(struct call){
                    .method = "PUT", .path = "/echo", .body = body, .len = 99, .chunked = true},
                &r),
        CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 99);
    assert_memory_equal(r.body, body, 99);
    /* one byte over (Content-Length) */
    assert_int_equal(
        do_call(port, &(struct call){.method = "POST", .path = "/echo", .body = body, .len = 101},
                &r),
        CURLE_OK);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.ctype, "application/json");
    assert_string_equal(r.body, "{\"errors\":[\"Request body larger than 100 bytes\"]}");
    /* over, chunked (no Content-Length): found while reading */
    assert_int_equal(
        do_call(port,
                &(struct call){
                    .method = "POST", .path = "/echo", .body = body, .len = 600, .chunked = true},
                &r),
        CURLE_OK);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.body, "{\"errors\":[\"Request body larger than 100 bytes\"]}");
    /* 413 comes before routing */
    assert_int_equal(
        do_call(port, &(struct call){.method = "POST", .path = "/nope", .body = body, .len = 300},
                &r),
        CURLE_OK);
    assert_int_equal(r.status, 413);
    /* a huge chunked upload is cut off instead of being read forever */
    size_t huge = 12u * 1024 * 1024;
    char *big = calloc(1, huge);
    CURLcode rc =
        do_call(port,
                &(struct call){
                    .method = "POST", .path = "/echo", .body = big, .len = huge, .chunked = true},
                &r);
    assert_true(rc != CURLE_OK || r.status == 413);
    free(big);
    /* the server is still fine */
    assert_int_equal(do_call(port, &(struct call){.path = "/jobs/overview"}, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    http_server_free(s);

    /* the default limit is 1 MiB */
    s = make_server(&LOCAL);
    port = http_server_port(s);
    size_t mib = 1024 * 1024;
    big = malloc(mib + 1);
    memset(big, 'x', mib + 1);
    assert_int_equal(
        do_call(port, &(struct call){.method = "POST", .path = "/echo", .body = big, .len = mib},
                &r),
        CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, mib);
    assert_int_equal(
        do_call(port,
                &(struct call){.method = "POST", .path = "/echo", .body = big, .len = mib + 1}, &r),
        CURLE_OK);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.body, "{\"errors\":[\"Request body larger than 1048576 bytes\"]}");
    free(big);
    reply_clear(&r);
    http_server_free(s);
}

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
    char dir[] = "/tmp/weir-http-server-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[1200];
    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt "
             "-days 1 -subj /CN=weir-test-ca 2>/dev/null && openssl req -newkey rsa:2048 "
             "-nodes -keyout s.key -out s.csr -subj /CN=localhost 2>/dev/null && printf "
             "'subjectAltName=IP:127.0.0.1\\n' > ext && openssl x509 -req -in s.csr -CA ca.crt "
             "-CAkey ca.key -CAcreateserial -days 1 -extfile ext -out s.crt 2>/dev/null",
             dir);
    assert_int_equal(system(cmd), 0);
    char *crt = slurp(dir, "s.crt"), *key = slurp(dir, "s.key");
    assert_non_null(crt);
    assert_non_null(key);
    char ca[256];
    snprintf(ca, sizeof(ca), "%s/ca.crt", dir);

    http_server *s = make_server(
        &(http_server_opts){.bind_address = "127.0.0.1", .tls_cert_pem = crt, .tls_key_pem = key});
    free(crt); /* copied by http_server_new */
    free(key);
    int port = http_server_port(s);
    struct reply r = {0};
    assert_int_equal(do_call(port, &(struct call){.path = "/jobs/tls1", .ca = ca}, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"jobid\":\"tls1\""));
    assert_int_equal(
        do_call(port,
                &(struct call){.method = "POST", .path = "/echo", .body = "over tls", .ca = ca},
                &r),
        CURLE_OK);
    assert_string_equal(r.body, "over tls");
    /* without the CA the server is not trusted; plain HTTP is not spoken */
    char sysca[] = "/nonexistent-ca.pem";
    assert_int_not_equal(do_call(port, &(struct call){.path = "/jobs/x", .ca = sysca}, &r),
                         CURLE_OK);
    CURLcode plain = do_call(port, &(struct call){.path = "/jobs/x", .timeout_ms = 3000}, &r);
    assert_true(plain != CURLE_OK || r.status != 200);
    reply_clear(&r);
    http_server_free(s);

    weir_error err = {0};
    http_server *bad = http_server_new(&(http_server_opts){.bind_address = "127.0.0.1",
                                                           .tls_cert_pem = "junk",
                                                           .tls_key_pem = "junk"},
                                       &err);
    assert_non_null(bad);
    assert_int_equal(http_server_start(bad, &err), WEIR_ETLS);
    http_server_free(bad);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

struct client_thread {
    int port;
    int id;
    int ok;
};

enum { NTHREADS = 8, NREQS = 40 };

static void *client_main(void *arg)
{
    struct client_thread *t = arg;
    CURL *h = curl_easy_init(); /* keep-alive across this thread's requests */
    struct reply r = {0};
    for (int i = 0; i < NREQS; i++) {
        char path[64], want[80];
        snprintf(path, sizeof(path), "/jobs/t%d-r%d", t->id, i);
        snprintf(want, sizeof(want), "\"jobid\":\"t%d-r%d\"", t->id, i);
        struct call c = {.path = path, .keep = i % 2 ? h : NULL};
        if (do_call(t->port, &c, &r) == CURLE_OK && r.status == 200 && strstr(r.body, want))
            t->ok++;
    }
    reply_clear(&r);
    curl_easy_cleanup(h);
    return NULL;
}

static void run_concurrent(const http_server_opts *o)
{
    http_server *s = make_server(o);
    struct client_thread ts[NTHREADS];
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        ts[i] = (struct client_thread){.port = http_server_port(s), .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, client_main, &ts[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ts[i].ok, NREQS);
    }
    http_server_stop(s, 1000);
    http_server_free(s);
}

static void test_concurrent_clients(void **state)
{
    (void)state;
    run_concurrent(&LOCAL);
    run_concurrent(&(http_server_opts){.bind_address = "127.0.0.1", .thread_pool_size = 4});
}

struct slow_client {
    int port;
    CURLcode rc;
    struct reply r;
};

static void *slow_main(void *arg)
{
    struct slow_client *t = arg;
    t->rc = do_call(t->port, &(struct call){.path = "/slow"}, &t->r);
    return NULL;
}

static void graceful_stop(const http_server_opts *o)
{
    http_server *s = make_server(o);
    int port = http_server_port(s);
    /* an idle keep-alive connection must not hold the stop */
    CURL *idle = curl_easy_init();
    struct reply r = {0};
    assert_int_equal(do_call(port, &(struct call){.path = "/jobs/x", .keep = idle}, &r), CURLE_OK);
    assert_string_equal(r.conn, "");

    struct slow_client slow = {.port = port};
    pthread_t st;
    slow_state.sleep_ms = 700;
    atomic_store(&slow_state.started, 0);
    assert_int_equal(pthread_create(&st, NULL, slow_main, &slow), 0);
    while (!atomic_load(&slow_state.started))
        usleep(1000);
    double t0 = now_ms();
    http_server_stop(s, 5000);
    double took = now_ms() - t0;
    pthread_join(st, NULL);
    assert_int_equal(slow.rc, CURLE_OK);
    assert_int_equal(slow.r.status, 200);
    assert_string_equal(slow.r.body, "done");
    assert_string_equal(slow.r.conn, "close");
    assert_true(took < 3000);
    reply_clear(&slow.r);
    /* nothing listens any more */
    assert_int_equal(do_call(port, &(struct call){.path = "/jobs/x"}, &r), CURLE_COULDNT_CONNECT);
    reply_clear(&r);
    curl_easy_cleanup(idle);
    http_server_free(s);
}

static void test_graceful_stop(void **state)
{
    (void)state;
    graceful_stop(&LOCAL);
    graceful_stop(&(http_server_opts){.bind_address = "127.0.0.1", .thread_pool_size = 2});

    /* the grace period runs out: stop still returns once the handler is done, no crash */
    http_server *s = make_server(&LOCAL);
    struct slow_client slow = {.port = http_server_port(s)};
    pthread_t st;
    slow_state.sleep_ms = 600;
    atomic_store(&slow_state.started, 0);
    assert_int_equal(pthread_create(&st, NULL, slow_main, &slow), 0);
    while (!atomic_load(&slow_state.started))
        usleep(1000);
    double t0 = now_ms();
    http_server_stop(s, 50);
    assert_true(now_ms() - t0 < 5000);
    pthread_join(st, NULL);
    reply_clear(&slow.r);
    http_server_free(s);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    http_server *s =
        make_server(&(http_server_opts){.bind_address = "127.0.0.1", .connection_timeout = 1});
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)http_server_port(s))};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = {.tv_sec = 6};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    double t0 = now_ms();
    char buf[16];
    ssize_t n = recv(fd, buf, sizeof(buf), 0); /* we never send: the server hangs up */
    double took = now_ms() - t0;
    assert_true(n <= 0);
    assert_true(took < 5000);
    close(fd);
    http_server_free(s);
}

static void test_ports(void **state)
{
    (void)state;
    http_server *a = make_server(&LOCAL), *b = make_server(&LOCAL);
    assert_true(http_server_port(a) > 0);
    assert_true(http_server_port(b) > 0);
    assert_int_not_equal(http_server_port(a), http_server_port(b));
    weir_error err = {0};
    http_server *c = http_server_new(
        &(http_server_opts){.bind_address = "127.0.0.1", .port = http_server_port(a)}, &err);
    assert_int_equal(http_server_start(c, &err), WEIR_EIO);
    assert_non_null(strstr(err.msg, "cannot listen"));
    assert_int_equal(http_server_port(c), 0);
    http_server_free(c);
    /* a fixed port is reported as is */
    int port = http_server_port(b);
    http_server_free(b);
    c = http_server_new(&(http_server_opts){.bind_address = "127.0.0.1", .port = port}, &err);
    if (http_server_start(c, &err) == 0) /* the port may have been taken meanwhile */
        assert_int_equal(http_server_port(c), port);
    http_server_free(c);
    http_server_free(a);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_registration), cmocka_unit_test(test_params_query_headers),
        cmocka_unit_test(test_404_405_head),       cmocka_unit_test(test_response_helpers),
        cmocka_unit_test(test_body_echo_and_413),  cmocka_unit_test(test_tls),
        cmocka_unit_test(test_concurrent_clients), cmocka_unit_test(test_graceful_stop),
        cmocka_unit_test(test_idle_timeout),       cmocka_unit_test(test_ports),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
