/*
 * http_client.c - HTTP(S) client over libcurl: TLS material as blobs or files, bearer tokens,
 * timeouts, a pool of easy handles for connection reuse, buffered and streaming requests.
 *
 * Threading: libcurl easy handles are not shared between threads. Each request borrows a handle
 * from the client's pool (creating one when the pool is empty) and gives it back afterwards, so
 * connections stay open across requests. DNS and TLS sessions are shared between handles
 * through a CURLSH guarded by mutexes.
 */
#include "lib/http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_TIMEOUT_MS         30000L
#define DEFAULT_MAX_RESPONSE       (64u * 1024u * 1024u)
#define ERROR_BODY_CAP             4096u
#define POOL_MAX                   16

struct http_client {
    char *ca_data, *ca_file, *cert_data, *cert_file, *key_data, *key_file;
    char *tls_server_name, *user_agent;
    bool insecure;
    long connect_timeout_ms, timeout_ms;
    size_t max_response;

    pthread_mutex_t mu; /* guards bearer, pool, npool */
    char *bearer;
    CURL *pool[POOL_MAX];
    int npool;

    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
    atomic_long connections;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
    (void)h;
    (void)access;
    http_client *c = ud;
    pthread_mutex_lock(&c->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
    (void)h;
    http_client *c = ud;
    pthread_mutex_unlock(&c->share_mu[data]);
}

static int check_readable(const char *path, const char *what, weir_error *err)
{
    if (!path)
        return 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return weir_error_set(err, WEIR_EIO, "%s %s: cannot read", what, path);
    fclose(f);
    return 0;
}

http_client *http_client_new(const http_client_opts *opts, weir_error *err)
{
    static const http_client_opts none;
    if (!opts)
        opts = &none;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        weir_error_set(err, WEIR_EINTERNAL, "curl_global_init: %s", curl_easy_strerror(global_rc));
        return NULL;
    }
    if (check_readable(opts->ca_file, "CA file", err) ||
        check_readable(opts->cert_file, "client certificate file", err) ||
        check_readable(opts->key_file, "client key file", err))
        return NULL;
    if ((opts->cert_data || opts->cert_file) && !(opts->key_data || opts->key_file)) {
        weir_error_set(err, WEIR_EINVAL, "client certificate given without a client key");
        return NULL;
    }

    http_client *c = calloc(1, sizeof(*c));
    if (!c) {
        weir_error_set(err, WEIR_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_mu[i], NULL);
    c->insecure = opts->insecure_skip_verify;
    c->connect_timeout_ms =
        opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->max_response = opts->max_response_bytes ? opts->max_response_bytes : DEFAULT_MAX_RESPONSE;
    c->ca_data = dup_or_null(opts->ca_data);
    c->ca_file = dup_or_null(opts->ca_file);
    c->cert_data = dup_or_null(opts->cert_data);
    c->cert_file = dup_or_null(opts->cert_file);
    c->key_data = dup_or_null(opts->key_data);
    c->key_file = dup_or_null(opts->key_file);
    c->tls_server_name = dup_or_null(opts->tls_server_name);
    c->bearer = dup_or_null(opts->bearer_token);
    c->user_agent = strdup(opts->user_agent ? opts->user_agent : "weir/0.1");
    c->share = curl_share_init();
    if ((opts->ca_data && !c->ca_data) || (opts->ca_file && !c->ca_file) ||
        (opts->cert_data && !c->cert_data) || (opts->cert_file && !c->cert_file) ||
        (opts->key_data && !c->key_data) || (opts->key_file && !c->key_file) ||
        (opts->tls_server_name && !c->tls_server_name) || (opts->bearer_token && !c->bearer) ||
        !c->user_agent || !c->share) {
        weir_error_set(err, WEIR_ENOMEM, "out of memory");
        http_client_free(c);
        return NULL;
    }
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return c;
}

void http_client_free(http_client *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->npool; i++)
        curl_easy_cleanup(c->pool[i]);
    if (c->share)
        curl_share_cleanup(c->share);
    free(c->ca_data);
    free(c->ca_file);
    free(c->cert_data);
    free(c->cert_file);
    free(c->key_data);
    free(c->key_file);
    free(c->tls_server_name);
    free(c->user_agent);
    free(c->bearer);
    pthread_mutex_destroy(&c->mu);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->share_mu[i]);
    free(c);
}

int http_client_set_bearer(http_client *c, const char *token)
{
    char *t = dup_or_null(token);
    if (token && !t)
        return WEIR_ENOMEM;
    pthread_mutex_lock(&c->mu);
    free(c->bearer);
    c->bearer = t;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

long http_client_connections_opened(http_client *c)
{
    return atomic_load(&c->connections);
}

int http_client_status_code(long status)
{
    if (status < 400)
        return 0;
    switch (status) {
    case 401:
    case 403:
        return WEIR_EFORBIDDEN;
    case 404:
        return WEIR_ENOTFOUND;
    case 409:
        return WEIR_ECONFLICT;
    case 410:
        return WEIR_EGONE;
    case 413:
        return WEIR_ETOOBIG;
    case 408:
    case 504:
        return WEIR_ETIMEDOUT;
    default:
        return WEIR_EHTTP;
    }
}

void http_client_response_clear(http_client_response *resp)
{
    if (!resp)
        return;
    free(resp->body);
    free(resp->content_type);
    memset(resp, 0, sizeof(*resp));
}

/* --- handle pool ------------------------------------------------------------------------ */

static CURL *handle_get(http_client *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->npool > 0)
        h = c->pool[--c->npool];
    pthread_mutex_unlock(&c->mu);
    if (h)
        curl_easy_reset(h); /* keeps the connection cache, forgets options */
    else
        h = curl_easy_init();
    return h;
}

static void handle_put(http_client *c, CURL *h)
{
    pthread_mutex_lock(&c->mu);
    if (c->npool < POOL_MAX) {
        c->pool[c->npool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (h)
        curl_easy_cleanup(h);
}

/* --- per-transfer state ------------------------------------------------------------------- */

struct xfer {
    http_client *c;
    const http_client_req *req;
    /* buffered mode */
    char *buf;
    size_t len, cap, limit;
    bool over_limit;
    /* streaming mode */
    http_client_chunk_fn on_chunk;
    void *ud;
    bool stopped_by_callback;
    long status; /* known once headers are in */
    CURL *h;
    char *content_type;
};

static bool buf_append(struct xfer *x, const char *p, size_t n)
{
    if (x->len + n > x->limit) {
        x->over_limit = true;
        return false;
    }
    if (x->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 4096;
        while (cap < x->len + n + 1)
            cap *= 2;
        char *nb = realloc(x->buf, cap);
        if (!nb)
            return false;
        x->buf = nb;
        x->cap = cap;
    }
    memcpy(x->buf + x->len, p, n);
    x->len += n;
    x->buf[x->len] = '\0';
    return true;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (x->on_chunk) {
        if (x->status == 0)
            curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
        if (x->status >= 400) /* error bodies are buffered for the message */
            return buf_append(x, ptr, n) || x->over_limit ? n : 0;
        if (x->on_chunk(ptr, n, x->ud) != 0) {
            x->stopped_by_callback = true;
            return 0;
        }
        return n;
    }
    return buf_append(x, ptr, n) ? n : 0;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    static const char ct[] = "content-type:";
    if (n > sizeof(ct) - 1 && strncasecmp(ptr, ct, sizeof(ct) - 1) == 0) {
        const char *v = ptr + sizeof(ct) - 1;
        size_t vl = n - (sizeof(ct) - 1);
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        free(x->content_type);
        x->content_type = malloc(vl + 1); /* not strndup: the header is not NUL-terminated */
        if (x->content_type) {
            memcpy(x->content_type, v, vl);
            x->content_type[vl] = '\0';
        }
    }
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    struct xfer *x = ud;
    return x->req->cancel && atomic_load(x->req->cancel) ? 1 : 0;
}

static int setup(struct xfer *x, CURL *h, struct curl_slist **hdrs_out, weir_error *err)
{
    http_client *c = x->c;
    const http_client_req *r = x->req;
    struct curl_slist *hdrs = NULL, *t;
    int rc = 0;

    if (!r->url)
        return weir_error_set(err, WEIR_EINVAL, "request without URL");
    const char *method = r->method ? r->method : "GET";
    curl_easy_setopt(h, CURLOPT_URL, r->url);
    curl_easy_setopt(h, CURLOPT_SHARE, c->share);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    long timeout = r->timeout_ms ? r->timeout_ms : c->timeout_ms;
    if (timeout > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    if (r->idle_timeout_ms > 0) {
        /* fewer than 1 byte/s for the idle period ends the transfer */
        long secs = (r->idle_timeout_ms + 999) / 1000;
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, secs);
    }
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);

    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (r->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
            strcmp(method, "PATCH") == 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body ? r->body : "");
        }
    }

    /* TLS */
    if (c->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->ca_data) {
        struct curl_blob b = {c->ca_data, strlen(c->ca_data), CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
    } else if (c->ca_file) {
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    }
    if (c->cert_data) {
        struct curl_blob b = {c->cert_data, strlen(c->cert_data), CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &b);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    } else if (c->cert_file) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
    }
    if (c->key_data) {
        struct curl_blob b = {c->key_data, strlen(c->key_data), CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &b);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    } else if (c->key_file) {
        curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
    }

    /* headers */
    char auth[8192];
    auth[0] = '\0';
    pthread_mutex_lock(&c->mu);
    if (c->bearer && strlen(c->bearer) < sizeof(auth) - 32)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->bearer);
    pthread_mutex_unlock(&c->mu);
    if (auth[0]) {
        if (!(t = curl_slist_append(hdrs, auth)))
            goto oom;
        hdrs = t;
    }
    if (!(t = curl_slist_append(hdrs, "Expect:"))) /* no 100-continue round trip */
        goto oom;
    hdrs = t;
    for (const char *const *p = r->headers; p && *p; p++) {
        if (!(t = curl_slist_append(hdrs, *p)))
            goto oom;
        hdrs = t;
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    *hdrs_out = hdrs;
    return 0;
oom:
    curl_slist_free_all(hdrs);
    rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
    return rc;
}

/* Maps a failed transfer to a status code with a message naming the URL. */
static int transfer_error(struct xfer *x, CURLcode cc, const char *errbuf, weir_error *err)
{
    const char *url = x->req->url;
    const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(cc);
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return weir_error_set(err, WEIR_ETIMEDOUT, "%s: timed out (%s)", url, detail);
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return weir_error_set(err, WEIR_ECONNECT, "%s: cannot connect (%s)", url, detail);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
        return weir_error_set(err, WEIR_ETLS, "%s: TLS error (%s)", url, detail);
    case CURLE_ABORTED_BY_CALLBACK:
        return weir_error_set(err, WEIR_ECANCELED, "%s: cancelled", url);
    case CURLE_WRITE_ERROR:
        if (x->over_limit)
            return weir_error_set(err, WEIR_ETOOBIG, "%s: response larger than %zu bytes", url,
                                  x->limit);
        if (x->stopped_by_callback)
            return weir_error_set(err, WEIR_ECANCELED, "%s: stream stopped by the receiver", url);
        return weir_error_set(err, WEIR_ENOMEM, "%s: out of memory buffering the response", url);
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        return weir_error_set(err, WEIR_ECLOSED, "%s: connection closed (%s)", url, detail);
    default:
        return weir_error_set(err, WEIR_EIO, "%s: %s", url, detail);
    }
}

static int status_error(struct xfer *x, long status, weir_error *err)
{
    int code = http_client_status_code(status);
    const char *m = x->req->method ? x->req->method : "GET";
    int n = x->len > ERROR_BODY_CAP ? (int)ERROR_BODY_CAP : (int)x->len;
    weir_error_set(err, code, "%s %s: HTTP %ld: %.*s", m, x->req->url, status, n,
                   x->buf ? x->buf : "");
    if (err)
        err->http_status = (int)status;
    return code;
}

static int perform(http_client *c, const http_client_req *req, struct xfer *x, weir_error *err)
{
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *hdrs = NULL;
    int rc;
    CURL *h = handle_get(c);
    if (!h)
        return weir_error_set(err, WEIR_ENOMEM, "curl_easy_init failed");
    x->h = h;
    errbuf[0] = '\0';
    rc = setup(x, h, &hdrs, err);
    if (rc)
        goto out;
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode cc = curl_easy_perform(h);
    long nconn = 0;
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nconn);
    atomic_fetch_add(&c->connections, nconn);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x->status);
    if (cc != CURLE_OK) {
        rc = transfer_error(x, cc, errbuf, err);
        /* An error status streamed partway is still an HTTP error. */
        if (x->on_chunk && x->status >= 400 && !x->over_limit && cc == CURLE_WRITE_ERROR)
            rc = status_error(x, x->status, err);
        goto out;
    }
    if (x->status >= 400)
        rc = status_error(x, x->status, err);
out:
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);
    /* A handle whose transfer was interrupted may hold a half-read connection: drop it. */
    if (rc == WEIR_ECANCELED || rc == WEIR_ETIMEDOUT || rc == WEIR_ETOOBIG)
        curl_easy_cleanup(h);
    else
        handle_put(c, h);
    return rc;
}

int http_client_do(http_client *c, const http_client_req *req, http_client_response *resp,
                   weir_error *err)
{
    struct xfer x = {.c = c, .req = req, .limit = c->max_response};
    http_client_response_clear(resp);
    int rc = perform(c, req, &x, err);
    if (resp) {
        resp->status = x.status;
        resp->body = x.buf;
        resp->body_len = x.len;
        resp->content_type = x.content_type;
    } else {
        free(x.buf);
        free(x.content_type);
    }
    return rc;
}

int http_client_stream(http_client *c, const http_client_req *req, http_client_chunk_fn on_chunk,
                       void *userdata, http_client_response *resp, weir_error *err)
{
    if (!on_chunk)
        return weir_error_set(err, WEIR_EINVAL, "stream without a chunk callback");
    http_client_req r = *req;
    if (r.timeout_ms == 0)
        r.timeout_ms = -1; /* streams run until the server ends them */
    struct xfer x = {
        .c = c, .req = &r, .limit = ERROR_BODY_CAP, .on_chunk = on_chunk, .ud = userdata};
    http_client_response_clear(resp);
    int rc = perform(c, &r, &x, err);
    if (resp) {
        resp->status = x.status;
        resp->body = x.buf;
        resp->body_len = x.len;
        resp->content_type = x.content_type;
    } else {
        free(x.buf);
        free(x.content_type);
    }
    return rc;
}
