/*
 * kube/client.c - Kubernetes API requests over lib/http_client.
 *
 * Paths are built from a kube_resource; names must be valid path segments (no '/', not "." or
 * ".."); query values are percent-encoded. Error bodies are decoded as metav1.Status so the
 * caller sees the apiserver's reason and message. A token read from a file (in-cluster) is
 * re-read every minute, because kubelet rotates projected service-account tokens.
 */
#include "lib/kube/client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/http_client.h"
#include "lib/log.h"

#define PATH_CAP             2048
#define TOKEN_REREAD_SECONDS 60

const kube_resource KUBE_RES_NAMESPACES = {"", "v1", "namespaces", false};
const kube_resource KUBE_RES_CONFIGMAPS = {"", "v1", "configmaps", true};
const kube_resource KUBE_RES_SECRETS = {"", "v1", "secrets", true};
const kube_resource KUBE_RES_PODS = {"", "v1", "pods", true};
const kube_resource KUBE_RES_SERVICES = {"", "v1", "services", true};
const kube_resource KUBE_RES_SERVICEACCOUNTS = {"", "v1", "serviceaccounts", true};
const kube_resource KUBE_RES_EVENTS = {"", "v1", "events", true};
const kube_resource KUBE_RES_DEPLOYMENTS = {"apps", "v1", "deployments", true};
const kube_resource KUBE_RES_LEASES = {"coordination.k8s.io", "v1", "leases", true};
const kube_resource KUBE_RES_CRDS = {"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                     false};

struct kube_client {
    http_client *http;
    char *server;
    char *namespace;
    char *token_file;
    pthread_mutex_t mu; /* guards token_read_at */
    time_t token_read_at;
    atomic_ulong n_get, n_post, n_put, n_patch, n_del, n_watch, n_failed;
    atomic_ulong n_code[6];
};

kube_client *kube_client_new(const kube_config *cfg, weir_error *err)
{
    if (!cfg || !cfg->server) {
        weir_error_set(err, WEIR_EINVAL, "kube client: configuration has no server");
        return NULL;
    }
    kube_client *kc = calloc(1, sizeof(*kc));
    if (!kc) {
        weir_error_set(err, WEIR_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&kc->mu, NULL);
    http_client_opts o = {
        .ca_data = cfg->ca_data,
        .ca_file = cfg->ca_data ? NULL : cfg->ca_file,
        .cert_data = cfg->cert_data,
        .cert_file = cfg->cert_data ? NULL : cfg->cert_file,
        .key_data = cfg->key_data,
        .key_file = cfg->key_data ? NULL : cfg->key_file,
        .bearer_token = cfg->token,
        .tls_server_name = cfg->tls_server_name,
        .insecure_skip_verify = cfg->insecure_skip_tls_verify,
        .timeout_ms = 60000,
        .user_agent = "weir/0.1",
    };
    kc->http = http_client_new(&o, err);
    kc->server = strdup(cfg->server);
    kc->namespace = strdup(cfg->namespace ? cfg->namespace : "default");
    kc->token_file = cfg->token_file ? strdup(cfg->token_file) : NULL;
    kc->token_read_at = time(NULL);
    if (!kc->http || !kc->server || !kc->namespace || (cfg->token_file && !kc->token_file)) {
        if (kc->http)
            weir_error_set(err, WEIR_ENOMEM, "out of memory");
        kube_client_free(kc);
        return NULL;
    }
    return kc;
}

void kube_client_free(kube_client *kc)
{
    if (!kc)
        return;
    http_client_free(kc->http);
    free(kc->server);
    free(kc->namespace);
    free(kc->token_file);
    pthread_mutex_destroy(&kc->mu);
    free(kc);
}

const char *kube_client_namespace(const kube_client *kc)
{
    return kc->namespace;
}

const char *kube_client_server(const kube_client *kc)
{
    return kc->server;
}

void kube_client_get_stats(kube_client *kc, struct kube_client_stats *out)
{
    out->get = atomic_load(&kc->n_get);
    out->post = atomic_load(&kc->n_post);
    out->put = atomic_load(&kc->n_put);
    out->patch = atomic_load(&kc->n_patch);
    out->del = atomic_load(&kc->n_del);
    out->watch = atomic_load(&kc->n_watch);
    out->failed = atomic_load(&kc->n_failed);
    for (int i = 0; i < 6; i++)
        out->code[i] = atomic_load(&kc->n_code[i]);
}

unsigned long kube_client_writes(kube_client *kc)
{
    return atomic_load(&kc->n_post) + atomic_load(&kc->n_put) + atomic_load(&kc->n_patch) +
           atomic_load(&kc->n_del);
}

static void count(kube_client *kc, const char *method, int rc, long status)
{
    long cls = status / 100;
    atomic_fetch_add(&kc->n_code[cls >= 1 && cls <= 5 ? cls : 0], 1);
    if (strcmp(method, "GET") == 0)
        atomic_fetch_add(&kc->n_get, 1);
    else if (strcmp(method, "POST") == 0)
        atomic_fetch_add(&kc->n_post, 1);
    else if (strcmp(method, "PUT") == 0)
        atomic_fetch_add(&kc->n_put, 1);
    else if (strcmp(method, "PATCH") == 0)
        atomic_fetch_add(&kc->n_patch, 1);
    else if (strcmp(method, "DELETE") == 0)
        atomic_fetch_add(&kc->n_del, 1);
    if (rc)
        atomic_fetch_add(&kc->n_failed, 1);
}

/* Re-reads a rotated token file at most once a minute. Failures keep the old token. */
static void refresh_token(kube_client *kc)
{
    if (!kc->token_file)
        return;
    time_t now = time(NULL);
    pthread_mutex_lock(&kc->mu);
    bool due = now - kc->token_read_at >= TOKEN_REREAD_SECONDS;
    if (due)
        kc->token_read_at = now;
    pthread_mutex_unlock(&kc->mu);
    if (!due)
        return;
    FILE *f = fopen(kc->token_file, "r");
    if (!f)
        return;
    char tok[8192];
    size_t n = fread(tok, 1, sizeof(tok) - 1, f);
    fclose(f);
    tok[n] = '\0';
    while (n && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' '))
        tok[--n] = '\0';
    if (n && http_client_set_bearer(kc->http, tok) != 0)
        kc->token_read_at = 0; /* out of memory: try again next time */
}

/* --- paths and queries -------------------------------------------------------------------- */

static bool valid_segment(const char *s)
{
    if (!s || !s[0] || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (const char *p = s; *p; p++)
        if (*p == '/' || *p == '%' || *p == '?' || *p == '#' || (unsigned char)*p < 0x21)
            return false;
    return true;
}

int kube_path(const kube_resource *r, const char *ns, const char *name, const char *subresource,
              char *buf, size_t cap)
{
    int n;
    if (!r || !r->version || !valid_segment(r->plural))
        return WEIR_EINVAL;
    if (r->namespaced && ns && !valid_segment(ns))
        return WEIR_EINVAL;
    if (name && !valid_segment(name))
        return WEIR_EINVAL;
    if (subresource && !valid_segment(subresource))
        return WEIR_EINVAL;
    if (name && r->namespaced && !ns)
        return WEIR_EINVAL;
    if (!r->group || !r->group[0])
        n = snprintf(buf, cap, "/api/%s", r->version);
    else
        n = snprintf(buf, cap, "/apis/%s/%s", r->group, r->version);
    if (n < 0 || (size_t)n >= cap)
        return WEIR_ETOOBIG;
    size_t len = (size_t)n;
#define ADD(...)                                                                                   \
    do {                                                                                           \
        n = snprintf(buf + len, cap - len, __VA_ARGS__);                                           \
        if (n < 0 || (size_t)n >= cap - len)                                                       \
            return WEIR_ETOOBIG;                                                                   \
        len += (size_t)n;                                                                          \
    } while (0)
    if (r->namespaced && ns)
        ADD("/namespaces/%s", ns);
    ADD("/%s", r->plural);
    if (name)
        ADD("/%s", name);
    if (subresource)
        ADD("/%s", subresource);
#undef ADD
    return 0;
}

/* Appends "&key=percent-encoded-value" (or "?..." for the first) to buf. */
static int query_add(char *buf, size_t cap, const char *key, const char *value)
{
    size_t len = strlen(buf);
    char sep = strchr(buf, '?') ? '&' : '?';
    int n = snprintf(buf + len, cap - len, "%c%s=", sep, key);
    if (n < 0 || (size_t)n >= cap - len)
        return WEIR_ETOOBIG;
    len += (size_t)n;
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        if (len + 4 >= cap)
            return WEIR_ETOOBIG;
        if (plain) {
            buf[len++] = (char)*p;
        } else {
            buf[len++] = '%';
            buf[len++] = hex[*p >> 4];
            buf[len++] = hex[*p & 15];
        }
    }
    buf[len] = '\0';
    return 0;
}

static int path_error(int rc, const kube_resource *r, const char *ns, const char *name,
                      weir_error *err)
{
    if (rc == WEIR_ETOOBIG)
        return weir_error_set(err, rc, "%s: request path too long", r ? r->plural : "?");
    return weir_error_set(err, WEIR_EINVAL, "%s: invalid %s (namespace '%s', name '%s')",
                          r && r->plural ? r->plural : "?", "resource path", ns ? ns : "",
                          name ? name : "");
}

/* --- requests ------------------------------------------------------------------------------- */

static int do_request(kube_client *kc, const char *method, const char *path, const char *body,
                      size_t body_len, const char *content_type, json_t **out, weir_error *err)
{
    char url[PATH_CAP + 512];
    char ct[128];
    int rc;
    if (out)
        *out = NULL;
    snprintf(url, sizeof(url), "%s%s", kc->server, path);
    snprintf(ct, sizeof(ct), "Content-Type: %s", content_type ? content_type : "application/json");
    const char *hdrs[] = {"Accept: application/json", body ? ct : NULL, NULL};
    refresh_token(kc);
    http_client_req req = {
        .method = method, .url = url, .headers = hdrs, .body = body, .body_len = body_len};
    http_client_response resp = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = http_client_do(kc->http, &req, &resp, err);
    count(kc, method, rc, resp.status);
    if (log_enabled(LOG_DEBUG)) { /* as client-go's -v=6: one line per request */
        clock_gettime(CLOCK_MONOTONIC, &t1);
        char code[8], ms[24];
        snprintf(code, sizeof(code), "%ld", resp.status);
        snprintf(ms, sizeof(ms), "%.1f",
                 (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
        log_debug("kube request", "verb", method, "path", path, "code", code, "ms", ms);
    }
    if (rc && resp.status >= 400) {
        char ctx[PATH_CAP + 32];
        snprintf(ctx, sizeof(ctx), "%s %s", method, path);
        json_t *st = resp.body ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
        if (st && json_is_object(st)) {
            rc = kube_status_error(st, resp.status, ctx, err);
        } else {
            /* not a Status (e.g. a proxy's page): keep what http_client said */
            if (err)
                snprintf(err->reason, sizeof(err->reason), "%s", "");
        }
        json_decref(st);
        goto out;
    }
    if (rc)
        goto out;
    if (out && resp.body && resp.body_len) {
        json_error_t jerr;
        *out = json_loadb(resp.body, resp.body_len, 0, &jerr);
        if (!*out)
            rc = weir_error_set(err, WEIR_EPARSE, "%s %s: response is not JSON (%d:%d: %s)", method,
                                path, jerr.line, jerr.column, jerr.text);
    }
out:
    http_client_response_clear(&resp);
    return rc;
}

static int do_json(kube_client *kc, const char *method, const char *path, const json_t *body,
                   const char *content_type, json_t **out, weir_error *err)
{
    char *b = NULL;
    if (body) {
        b = json_dumps(body, JSON_COMPACT);
        if (!b)
            return weir_error_set(err, WEIR_ENOMEM, "cannot encode the request body");
    }
    int rc = do_request(kc, method, path, b, b ? strlen(b) : 0, content_type, out, err);
    free(b);
    return rc;
}

int kube_request(kube_client *kc, const char *method, const char *path_and_query,
                 const json_t *body, const char *content_type, json_t **out, weir_error *err)
{
    if (!path_and_query || path_and_query[0] != '/')
        return weir_error_set(err, WEIR_EINVAL, "request path must start with '/'");
    return do_json(kc, method, path_and_query, body, content_type, out, err);
}

int kube_get(kube_client *kc, const kube_resource *r, const char *ns, const char *name,
             json_t **out, weir_error *err)
{
    char path[PATH_CAP];
    int rc = kube_path(r, ns, name, NULL, path, sizeof(path));
    if (rc || !name)
        return path_error(rc ? rc : WEIR_EINVAL, r, ns, name, err);
    return do_json(kc, "GET", path, NULL, NULL, out, err);
}

static int list_path(const kube_resource *r, const char *ns, const kube_list_opts *o,
                     const char *cont, long limit, char *path, size_t cap)
{
    int rc = kube_path(r, ns, NULL, NULL, path, cap);
    if (rc)
        return rc;
    if (o && o->label_selector && (rc = query_add(path, cap, "labelSelector", o->label_selector)))
        return rc;
    if (o && o->field_selector && (rc = query_add(path, cap, "fieldSelector", o->field_selector)))
        return rc;
    if (o && o->resource_version && !cont &&
        (rc = query_add(path, cap, "resourceVersion", o->resource_version)))
        return rc;
    if (cont && (rc = query_add(path, cap, "continue", cont)))
        return rc;
    if (limit > 0) {
        char l[32];
        snprintf(l, sizeof(l), "%ld", limit);
        if ((rc = query_add(path, cap, "limit", l)))
            return rc;
    }
    return 0;
}

int kube_list(kube_client *kc, const kube_resource *r, const char *ns, const kube_list_opts *opts,
              json_t **out, weir_error *err)
{
    char path[PATH_CAP];
    int rc = list_path(r, ns, opts, opts ? opts->continue_token : NULL, opts ? opts->limit : 0,
                       path, sizeof(path));
    if (rc)
        return path_error(rc, r, ns, NULL, err);
    return do_json(kc, "GET", path, NULL, NULL, out, err);
}

int kube_list_all(kube_client *kc, const kube_resource *r, const char *ns,
                  const kube_list_opts *opts, json_t **out, weir_error *err)
{
    long limit = opts && opts->limit > 0 ? opts->limit : 500;
    json_t *all = NULL, *page = NULL;
    char *cont = NULL;
    int rc = 0, restarts = 0;
    *out = NULL;
restart:
    json_decref(all);
    all = NULL;
    free(cont);
    cont = opts && opts->continue_token ? strdup(opts->continue_token) : NULL;
    for (;;) {
        char path[PATH_CAP];
        if ((rc = list_path(r, ns, opts, cont, limit, path, sizeof(path)))) {
            rc = path_error(rc, r, ns, NULL, err);
            goto out;
        }
        rc = do_json(kc, "GET", path, NULL, NULL, &page, err);
        if (rc == WEIR_EGONE && cont && restarts++ == 0)
            goto restart; /* continue token expired: start over from a fresh snapshot */
        if (rc)
            goto out;
        json_t *items = json_object_get(page, "items");
        if (!json_is_array(items) && !json_is_null(items) && items) {
            rc = weir_error_set(err, WEIR_EPARSE, "%s: list response without items", path);
            goto out;
        }
        if (!all) {
            all = page;
            page = NULL;
            if (!json_is_array(json_object_get(all, "items")))
                json_object_set_new(all, "items", json_array());
        } else {
            json_array_extend(json_object_get(all, "items"), items);
            /* the list's resourceVersion is the one of the last page */
            json_t *meta = json_object_get(page, "metadata");
            json_object_set(all, "metadata", meta ? meta : json_object());
            json_decref(page);
            page = NULL;
        }
        const char *next =
            json_string_value(json_object_get(json_object_get(all, "metadata"), "continue"));
        free(cont);
        cont = next && next[0] ? strdup(next) : NULL;
        if (!cont)
            break;
    }
    json_t *meta = json_object_get(all, "metadata");
    if (json_is_object(meta)) {
        json_object_del(meta, "continue");
        json_object_del(meta, "remainingItemCount");
    }
    *out = all;
    all = NULL;
out:
    json_decref(all);
    json_decref(page);
    free(cont);
    return rc;
}

static const char *obj_name(const json_t *obj)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
}

int kube_create(kube_client *kc, const kube_resource *r, const char *ns, const json_t *obj,
                json_t **out, weir_error *err)
{
    char path[PATH_CAP];
    int rc = kube_path(r, ns, NULL, NULL, path, sizeof(path));
    if (rc)
        return path_error(rc, r, ns, NULL, err);
    return do_json(kc, "POST", path, obj, NULL, out, err);
}

int kube_update(kube_client *kc, const kube_resource *r, const char *ns, const json_t *obj,
                const char *subresource, json_t **out, weir_error *err)
{
    char path[PATH_CAP];
    const char *name = obj_name(obj);
    if (!name)
        return weir_error_set(err, WEIR_EINVAL, "%s: update of an object without metadata.name",
                              r->plural);
    int rc = kube_path(r, ns, name, subresource, path, sizeof(path));
    if (rc)
        return path_error(rc, r, ns, name, err);
    return do_json(kc, "PUT", path, obj, NULL, out, err);
}

int kube_patch(kube_client *kc, const kube_resource *r, const char *ns, const char *name,
               kube_patch_type type, const json_t *patch, const kube_patch_opts *opts, json_t **out,
               weir_error *err)
{
    char path[PATH_CAP];
    int rc = kube_path(r, ns, name, opts ? opts->subresource : NULL, path, sizeof(path));
    if (rc || !name)
        return path_error(rc ? rc : WEIR_EINVAL, r, ns, name, err);
    const char *ct;
    switch (type) {
    case KUBE_PATCH_MERGE:
        ct = "application/merge-patch+json";
        break;
    case KUBE_PATCH_JSON:
        ct = "application/json-patch+json";
        break;
    case KUBE_PATCH_STRATEGIC:
        ct = "application/strategic-merge-patch+json";
        break;
    case KUBE_PATCH_APPLY:
        ct = "application/apply-patch+yaml"; /* JSON is YAML */
        if (!opts || !opts->field_manager || !opts->field_manager[0])
            return weir_error_set(err, WEIR_EINVAL, "server-side apply needs a field manager");
        break;
    default:
        return weir_error_set(err, WEIR_EINVAL, "unknown patch type %d", (int)type);
    }
    if (opts && opts->field_manager &&
        (rc = query_add(path, sizeof(path), "fieldManager", opts->field_manager)))
        return path_error(rc, r, ns, name, err);
    if (opts && opts->dry_run && (rc = query_add(path, sizeof(path), "dryRun", "All")))
        return path_error(rc, r, ns, name, err);
    if (type == KUBE_PATCH_APPLY && opts->force &&
        (rc = query_add(path, sizeof(path), "force", "true")))
        return path_error(rc, r, ns, name, err);
    return do_json(kc, "PATCH", path, patch, ct, out, err);
}

int kube_apply(kube_client *kc, const kube_resource *r, const char *ns, const json_t *obj,
               const char *field_manager, bool force, json_t **out, weir_error *err)
{
    const char *name = obj_name(obj);
    if (!name)
        return weir_error_set(err, WEIR_EINVAL, "%s: apply of an object without metadata.name",
                              r->plural);
    kube_patch_opts o = {.field_manager = field_manager, .force = force};
    return kube_patch(kc, r, ns, name, KUBE_PATCH_APPLY, obj, &o, out, err);
}

int kube_delete(kube_client *kc, const kube_resource *r, const char *ns, const char *name,
                const kube_delete_opts *opts, weir_error *err)
{
    char path[PATH_CAP];
    int rc = kube_path(r, ns, name, NULL, path, sizeof(path));
    if (rc || !name)
        return path_error(rc ? rc : WEIR_EINVAL, r, ns, name, err);
    json_t *body = json_pack("{s:s, s:s}", "kind", "DeleteOptions", "apiVersion", "v1");
    if (!body)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    if (opts && opts->propagation)
        json_object_set_new(body, "propagationPolicy", json_string(opts->propagation));
    if (opts && opts->grace_period_seconds >= 0 && opts->grace_period_seconds != 0)
        json_object_set_new(body, "gracePeriodSeconds", json_integer(opts->grace_period_seconds));
    if (opts && (opts->uid || opts->resource_version)) {
        json_t *pre = json_object();
        if (opts->uid)
            json_object_set_new(pre, "uid", json_string(opts->uid));
        if (opts->resource_version)
            json_object_set_new(pre, "resourceVersion", json_string(opts->resource_version));
        json_object_set_new(body, "preconditions", pre);
    }
    rc = do_json(kc, "DELETE", path, body, NULL, NULL, err);
    json_decref(body);
    return rc;
}

/* --- watch ----------------------------------------------------------------------------------- */

struct watch_ctx {
    kube_watch_decoder *dec;
    weir_error *err;
    int rc;
};

static int watch_chunk(const char *data, size_t len, void *ud)
{
    struct watch_ctx *w = ud;
    w->rc = kube_watch_decoder_feed(w->dec, data, len, w->err);
    return w->rc != 0;
}

int kube_watch(kube_client *kc, const kube_resource *r, const char *ns, const kube_watch_opts *opts,
               kube_watch_fn fn, void *userdata, char *last_rv, size_t rv_cap, weir_error *err)
{
    static const kube_watch_opts none;
    if (!opts)
        opts = &none;
    char path[PATH_CAP], url[PATH_CAP + 512];
    long timeout = opts->timeout_seconds > 0 ? opts->timeout_seconds : 300;
    int rc = kube_path(r, ns, NULL, NULL, path, sizeof(path));
    char num[32];
    snprintf(num, sizeof(num), "%ld", timeout);
    if (!rc)
        rc = query_add(path, sizeof(path), "watch", "1");
    if (!rc && opts->resource_version)
        rc = query_add(path, sizeof(path), "resourceVersion", opts->resource_version);
    if (!rc && opts->label_selector)
        rc = query_add(path, sizeof(path), "labelSelector", opts->label_selector);
    if (!rc && opts->field_selector)
        rc = query_add(path, sizeof(path), "fieldSelector", opts->field_selector);
    if (!rc && opts->allow_bookmarks)
        rc = query_add(path, sizeof(path), "allowWatchBookmarks", "true");
    if (!rc)
        rc = query_add(path, sizeof(path), "timeoutSeconds", num);
    if (rc)
        return path_error(rc, r, ns, NULL, err);
    snprintf(url, sizeof(url), "%s%s", kc->server, path);

    struct watch_ctx w = {.err = err};
    w.dec = kube_watch_decoder_new(0, fn, userdata);
    if (!w.dec)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    refresh_token(kc);
    const char *hdrs[] = {"Accept: application/json", NULL};
    http_client_req req = {
        .method = "GET",
        .url = url,
        .headers = hdrs,
        .timeout_ms = -1,
        .idle_timeout_ms =
            opts->idle_timeout_ms > 0 ? opts->idle_timeout_ms : (timeout + 30) * 1000,
        .cancel = opts->cancel,
    };
    http_client_response resp = {0};
    weir_error herr = {0};
    atomic_fetch_add(&kc->n_watch, 1);
    rc = http_client_stream(kc->http, &req, watch_chunk, &w, &resp, &herr);
    if (w.rc) {
        rc = w.rc; /* the decoder's error (ERROR event, malformed event, receiver stop) */
    } else if (rc && resp.status >= 400) {
        json_t *st = resp.body ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
        if (json_is_object(st))
            rc = kube_status_error(st, resp.status, "watch", err);
        else if (err)
            *err = herr;
        json_decref(st);
    } else if (rc) {
        if (err)
            *err = herr;
    } else {
        rc = kube_watch_decoder_finish(w.dec, err);
    }
    http_client_response_clear(&resp);
    if (last_rv && rv_cap) {
        const char *rv = kube_watch_decoder_resource_version(w.dec);
        snprintf(last_rv, rv_cap, "%s",
                 rv ? rv : (opts->resource_version ? opts->resource_version : ""));
    }
    kube_watch_decoder_free(w.dec);
    return rc;
}
