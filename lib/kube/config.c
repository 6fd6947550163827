/*
 * kube/config.c - kubeconfig and in-cluster configuration loading.
 *
 * The kubeconfig is parsed with libyaml's document API; every node keeps its start mark, so an
 * error can name the line and column along with the key path. Unknown keys are ignored (as
 * client-go does, kubeconfigs carry preferences and extensions), but a known key with the wrong
 * type, a duplicate key, malformed base64 or an unsupported auth method is an error.
 */
#include "lib/kube/config.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_FILE_BYTES (4u * 1024u * 1024u)
#define SA_DIR         "/var/run/secrets/kubernetes.io/serviceaccount"

void kube_config_free(kube_config *c)
{
    if (!c)
        return;
    free(c->server);
    free(c->ca_data);
    free(c->ca_file);
    free(c->cert_data);
    free(c->cert_file);
    free(c->key_data);
    free(c->key_file);
    free(c->token);
    free(c->token_file);
    free(c->tls_server_name);
    free(c->namespace);
    free(c->context);
    free(c);
}

/* --- small file helpers ------------------------------------------------------------------ */

/* Reads a whole file (at most `cap` bytes) into a NUL-terminated buffer; caller frees. */
static int read_file(const char *path, size_t cap, char **out, size_t *len_out, weir_error *err)
{
    int rc = 0;
    char *buf = NULL;
    size_t len = 0, bufcap = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return weir_error_set(err, WEIR_EIO, "%s: %s", path, strerror(errno));
    for (;;) {
        if (len + 4097 > bufcap) {
            size_t nc = bufcap ? bufcap * 2 : 8192;
            char *nb = realloc(buf, nc);
            if (!nb) {
                rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
                goto out;
            }
            buf = nb;
            bufcap = nc;
        }
        size_t n = fread(buf + len, 1, bufcap - len - 1, f);
        len += n;
        if (len > cap) {
            rc = weir_error_set(err, WEIR_ETOOBIG, "%s: larger than %zu bytes", path, cap);
            goto out;
        }
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        rc = weir_error_set(err, WEIR_EIO, "%s: read error", path);
        goto out;
    }
    buf[len] = '\0';
    *out = buf;
    buf = NULL;
    if (len_out)
        *len_out = len;
out:
    free(buf);
    fclose(f);
    return rc;
}

static void trim_trailing_space(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

/* --- YAML document walking ---------------------------------------------------------------- */

struct doc {
    yaml_document_t d;
    const char *source;
    weir_error *err;
};

static int node_err(struct doc *doc, const yaml_node_t *n, int code, const char *path,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int node_err(struct doc *doc, const yaml_node_t *n, int code, const char *path,
                    const char *fmt, ...)
{
    char m[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof(m), fmt, ap);
    va_end(ap);
    return weir_error_set(doc->err, code, "%s:%zu:%zu: %s: %s", doc->source,
                          n ? n->start_mark.line + 1 : 0, n ? n->start_mark.column + 1 : 0, path,
                          m);
}

static const char *type_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a map";
    default:
        return "empty";
    }
}

static bool is_null_scalar(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return n->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/*
 * Checks `map` is a mapping (or null) without duplicate keys; every key must be a scalar.
 * Returns 0, or an error naming `path`.
 */
static int check_map(struct doc *doc, const yaml_node_t *map, const char *path)
{
    if (is_null_scalar(map))
        return 0;
    if (map->type != YAML_MAPPING_NODE)
        return node_err(doc, map, WEIR_ETYPE, path, "expected a map, found %s", type_name(map));
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&doc->d, p->key);
        if (!k || k->type != YAML_SCALAR_NODE)
            return node_err(doc, k, WEIR_ETYPE, path, "%s", "map key is not a scalar");
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = yaml_document_get_node(&doc->d, q->key);
            if (k2 && k2->type == YAML_SCALAR_NODE &&
                strcmp((char *)k2->data.scalar.value, (char *)k->data.scalar.value) == 0) {
                char sub[512];
                snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "",
                         (char *)k->data.scalar.value);
                char first[64];
                snprintf(first, sizeof(first), "%zu:%zu", k2->start_mark.line + 1,
                         k2->start_mark.column + 1);
                return node_err(doc, k, WEIR_EDUPLICATE, sub, "duplicate key (first at %s)", first);
            }
        }
    }
    return 0;
}

/* The value node of `key` in mapping `map`, or NULL. `map` must have passed check_map(). */
static yaml_node_t *map_get(struct doc *doc, const yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&doc->d, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(&doc->d, p->value);
    }
    return NULL;
}

/* A scalar string value (borrowed from the document), NULL when absent or null. */
static int get_str(struct doc *doc, const yaml_node_t *map, const char *key, const char *path,
                   const char **out)
{
    *out = NULL;
    yaml_node_t *v = map_get(doc, map, key);
    if (!v || is_null_scalar(v))
        return 0;
    char p[512];
    snprintf(p, sizeof(p), "%s.%s", path, key);
    if (v->type != YAML_SCALAR_NODE)
        return node_err(doc, v, WEIR_ETYPE, p, "expected a string, found %s", type_name(v));
    *out = (const char *)v->data.scalar.value;
    return 0;
}

static int get_bool(struct doc *doc, const yaml_node_t *map, const char *key, const char *path,
                    bool *out)
{
    const char *s;
    int rc = get_str(doc, map, key, path, &s);
    if (rc || !s)
        return rc;
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0) {
        *out = true;
    } else if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0) {
        *out = false;
    } else {
        char p[512];
        snprintf(p, sizeof(p), "%s.%s", path, key);
        return node_err(doc, map_get(doc, map, key), WEIR_ETYPE, p,
                        "expected true or false, found '%s'", s);
    }
    return 0;
}

/*
 * Finds the entry named `name` in the list `list_key` (clusters, users, contexts) and returns
 * its `inner` map (cluster, user, context) and the entry's path for messages.
 */
static int find_named(struct doc *doc, const yaml_node_t *root, const char *list_key,
                      const char *inner, const char *name, yaml_node_t **out, char *path_out,
                      size_t path_cap)
{
    yaml_node_t *list = map_get(doc, root, list_key);
    *out = NULL;
    if (!list || is_null_scalar(list))
        goto missing;
    if (list->type != YAML_SEQUENCE_NODE)
        return node_err(doc, list, WEIR_ETYPE, list_key, "expected a list, found %s",
                        type_name(list));
    size_t i = 0;
    for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top;
         it++, i++) {
        yaml_node_t *e = yaml_document_get_node(&doc->d, *it);
        char p[256];
        snprintf(p, sizeof(p), "%s[%zu]", list_key, i);
        int rc = check_map(doc, e, p);
        if (rc)
            return rc;
        const char *n;
        if ((rc = get_str(doc, e, "name", p, &n)))
            return rc;
        if (!n || strcmp(n, name) != 0)
            continue;
        yaml_node_t *in = map_get(doc, e, inner);
        snprintf(path_out, path_cap, "%s.%s", p, inner);
        if (!in)
            return node_err(doc, e, WEIR_EPARSE, p, "entry '%s' has no '%s' map", name, inner);
        if ((rc = check_map(doc, in, path_out)))
            return rc;
        *out = in;
        return 0;
    }
missing:;
    char p[256];
    snprintf(p, sizeof(p), "%s", list_key);
    return node_err(doc, list ? list : yaml_document_get_root_node(&doc->d), WEIR_ENOTFOUND, p,
                    "no entry named '%s'", name);
}

/* Decodes base64 `in` (whitespace allowed) into a NUL-terminated buffer; caller frees. */
static int b64decode(const char *in, char **out)
{
    size_t n = strlen(in);
    char *clean = malloc(n + 1);
    if (!clean)
        return WEIR_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (in[i] != '\n' && in[i] != '\r' && in[i] != ' ' && in[i] != '\t')
            clean[m++] = in[i];
    clean[m] = '\0';
    if (m == 0 || m % 4 != 0) {
        free(clean);
        return WEIR_EPARSE;
    }
    for (size_t i = 0; i < m; i++) {
        char ch = clean[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '+' || ch == '/' || (ch == '=' && i >= m - 2);
        if (!ok || (ch != '=' && i == m - 1 && clean[m - 2] == '=')) {
            free(clean);
            return WEIR_EPARSE;
        }
    }
    unsigned char *buf = malloc(m / 4 * 3 + 1);
    if (!buf) {
        free(clean);
        return WEIR_ENOMEM;
    }
    int len = EVP_DecodeBlock(buf, (unsigned char *)clean, (int)m);
    if (len < 0) {
        free(clean);
        free(buf);
        return WEIR_EPARSE;
    }
    if (clean[m - 1] == '=')
        len--;
    if (clean[m - 2] == '=')
        len--;
    buf[len] = '\0';
    free(clean);
    *out = (char *)buf;
    return 0;
}

static int set_data(struct doc *doc, const yaml_node_t *map, const char *key, const char *path,
                    char **dst)
{
    const char *s;
    int rc = get_str(doc, map, key, path, &s);
    if (rc || !s)
        return rc;
    char p[512];
    snprintf(p, sizeof(p), "%s.%s", path, key);
    rc = b64decode(s, dst);
    if (rc == WEIR_EPARSE)
        return node_err(doc, map_get(doc, map, key), WEIR_EPARSE, p, "%s", "not valid base64");
    if (rc)
        return weir_error_set(doc->err, rc, "out of memory");
    return 0;
}

/* Copies a path, resolving it against base_dir when relative. */
static int set_path(struct doc *doc, const yaml_node_t *map, const char *key, const char *path,
                    const char *base_dir, char **dst)
{
    const char *s;
    int rc = get_str(doc, map, key, path, &s);
    if (rc || !s || !s[0])
        return rc;
    char buf[PATH_MAX];
    if (s[0] == '/' || !base_dir)
        snprintf(buf, sizeof(buf), "%s", s);
    else
        snprintf(buf, sizeof(buf), "%s/%s", base_dir, s);
    *dst = strdup(buf);
    return *dst ? 0 : weir_error_set(doc->err, WEIR_ENOMEM, "out of memory");
}

static int set_str(struct doc *doc, const yaml_node_t *map, const char *key, const char *path,
                   char **dst)
{
    const char *s;
    int rc = get_str(doc, map, key, path, &s);
    if (rc || !s)
        return rc;
    *dst = strdup(s);
    return *dst ? 0 : weir_error_set(doc->err, WEIR_ENOMEM, "out of memory");
}

static int resolve(struct doc *doc, const char *base_dir, const char *want_ctx, kube_config *c)
{
    int rc;
    yaml_node_t *root = yaml_document_get_root_node(&doc->d);
    if (!root)
        return weir_error_set(doc->err, WEIR_EPARSE, "%s: empty kubeconfig", doc->source);
    if ((rc = check_map(doc, root, "")))
        return rc;
    const char *cur;
    if ((rc = get_str(doc, root, "current-context", "", &cur)))
        return rc;
    const char *ctx_name = want_ctx ? want_ctx : cur;
    if (!ctx_name || !ctx_name[0])
        return weir_error_set(doc->err, WEIR_ENOTFOUND,
                              "%s: no current-context set and no context requested", doc->source);
    if (!(c->context = strdup(ctx_name)))
        return weir_error_set(doc->err, WEIR_ENOMEM, "out of memory");

    yaml_node_t *ctx, *cluster, *user;
    char ctx_path[256], cl_path[256], us_path[256];
    if ((rc = find_named(doc, root, "contexts", "context", ctx_name, &ctx, ctx_path,
                         sizeof(ctx_path))))
        return rc;
    const char *cl_name, *us_name;
    if ((rc = get_str(doc, ctx, "cluster", ctx_path, &cl_name)) ||
        (rc = get_str(doc, ctx, "user", ctx_path, &us_name)) ||
        (rc = set_str(doc, ctx, "namespace", ctx_path, &c->namespace)))
        return rc;
    if (!cl_name)
        return node_err(doc, ctx, WEIR_EPARSE, ctx_path, "%s", "context names no cluster");

    if ((rc = find_named(doc, root, "clusters", "cluster", cl_name, &cluster, cl_path,
                         sizeof(cl_path))))
        return rc;
    if ((rc = set_str(doc, cluster, "server", cl_path, &c->server)) ||
        (rc = set_data(doc, cluster, "certificate-authority-data", cl_path, &c->ca_data)) ||
        (rc = set_path(doc, cluster, "certificate-authority", cl_path, base_dir, &c->ca_file)) ||
        (rc = set_str(doc, cluster, "tls-server-name", cl_path, &c->tls_server_name)) ||
        (rc = get_bool(doc, cluster, "insecure-skip-tls-verify", cl_path,
                       &c->insecure_skip_tls_verify)))
        return rc;
    yaml_node_t *px = map_get(doc, cluster, "proxy-url");
    if (px && !is_null_scalar(px)) {
        char p[300];
        snprintf(p, sizeof(p), "%s.proxy-url", cl_path);
        return node_err(doc, px, WEIR_EUNSUPPORTED, p, "%s", "proxies are not supported");
    }
    if (!c->server || !c->server[0])
        return node_err(doc, cluster, WEIR_EPARSE, cl_path, "%s", "cluster has no server");
    if (strncmp(c->server, "https://", 8) != 0 && strncmp(c->server, "http://", 7) != 0) {
        char p[300];
        snprintf(p, sizeof(p), "%s.server", cl_path);
        return node_err(doc, map_get(doc, cluster, "server"), WEIR_EPARSE, p,
                        "'%s' is not an http(s) URL", c->server);
    }
    trim_trailing_space(c->server);
    size_t sl = strlen(c->server);
    while (sl > 8 && c->server[sl - 1] == '/')
        c->server[--sl] = '\0';

    if (us_name) {
        if ((rc = find_named(doc, root, "users", "user", us_name, &user, us_path, sizeof(us_path))))
            return rc;
        if ((rc = set_data(doc, user, "client-certificate-data", us_path, &c->cert_data)) ||
            (rc = set_path(doc, user, "client-certificate", us_path, base_dir, &c->cert_file)) ||
            (rc = set_data(doc, user, "client-key-data", us_path, &c->key_data)) ||
            (rc = set_path(doc, user, "client-key", us_path, base_dir, &c->key_file)) ||
            (rc = set_str(doc, user, "token", us_path, &c->token)) ||
            (rc = set_path(doc, user, "tokenFile", us_path, base_dir, &c->token_file)))
            return rc;
        static const char *unsupported[] = {"exec", "auth-provider", "username", "password", "as",
                                            NULL};
        for (const char **u = unsupported; *u; u++) {
            yaml_node_t *v = map_get(doc, user, *u);
            if (v && !is_null_scalar(v)) {
                char p[300];
                snprintf(p, sizeof(p), "%s.%s", us_path, *u);
                return node_err(doc, v, WEIR_EUNSUPPORTED, p, "%s",
                                "not supported; use client certificates or a token");
            }
        }
        bool has_cert = c->cert_data || c->cert_file, has_key = c->key_data || c->key_file;
        if (has_cert != has_key)
            return node_err(doc, user, WEIR_EPARSE, us_path, "%s",
                            has_cert ? "client certificate without client key"
                                     : "client key without client certificate");
        if (c->token_file && !c->token) {
            weir_error e2 = {0};
            rc = read_file(c->token_file, 1u << 20, &c->token, NULL, &e2);
            if (rc) {
                char p[300];
                snprintf(p, sizeof(p), "%s.tokenFile", us_path);
                return node_err(doc, map_get(doc, user, "tokenFile"), rc, p, "%s", e2.msg);
            }
            trim_trailing_space(c->token);
        }
    }
    if (!c->namespace && !(c->namespace = strdup("default")))
        return weir_error_set(doc->err, WEIR_ENOMEM, "out of memory");
    return 0;
}

int kube_config_parse(const char *text, size_t len, const char *source, const char *base_dir,
                      const char *context, kube_config **out, weir_error *err)
{
    yaml_parser_t parser;
    struct doc doc = {.source = source ? source : "<kubeconfig>", .err = err};
    bool have_doc = false;
    int rc = 0;
    kube_config *c = NULL;
    *out = NULL;

    if (!yaml_parser_initialize(&parser))
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc.d)) {
        const yaml_mark_t *m = parser.problem_mark.line || parser.problem_mark.column
                                   ? &parser.problem_mark
                                   : &parser.context_mark;
        rc = weir_error_set(err, WEIR_EPARSE, "%s:%zu:%zu: invalid YAML: %s%s%s", doc.source,
                            m->line + 1, m->column + 1, parser.problem ? parser.problem : "error",
                            parser.context ? " " : "", parser.context ? parser.context : "");
        goto out;
    }
    have_doc = true;
    if (!(c = calloc(1, sizeof(*c)))) {
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = resolve(&doc, base_dir, context, c)))
        goto out;
    *out = c;
    c = NULL;
out:
    kube_config_free(c);
    if (have_doc)
        yaml_document_delete(&doc.d);
    yaml_parser_delete(&parser);
    return rc;
}

int kube_config_load_file(const char *path, const char *context, kube_config **out, weir_error *err)
{
    char *text = NULL, *dir = NULL;
    size_t len = 0;
    int rc = read_file(path, MAX_FILE_BYTES, &text, &len, err);
    if (rc)
        return rc;
    char *pcopy = strdup(path);
    if (!pcopy) {
        free(text);
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    }
    dir = dirname(pcopy);
    rc = kube_config_parse(text, len, path, dir, context, out, err);
    free(pcopy);
    free(text);
    return rc;
}

int kube_config_in_cluster(const char *sa_dir, kube_config **out, weir_error *err)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    char path[PATH_MAX];
    int rc = 0;
    *out = NULL;
    if (!sa_dir)
        sa_dir = SA_DIR;
    if (!host || !host[0] || !port || !port[0])
        return weir_error_set(err, WEIR_ENOTFOUND,
                              "not in a cluster: KUBERNETES_SERVICE_HOST and "
                              "KUBERNETES_SERVICE_PORT must be set");
    kube_config *c = calloc(1, sizeof(*c));
    if (!c)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    char server[512];
    /* IPv6 service hosts need brackets */
    if (strchr(host, ':'))
        snprintf(server, sizeof(server), "https://[%s]:%s", host, port);
    else
        snprintf(server, sizeof(server), "https://%s:%s", host, port);
    snprintf(path, sizeof(path), "%s/token", sa_dir);
    c->server = strdup(server);
    c->token_file = strdup(path);
    snprintf(path, sizeof(path), "%s/ca.crt", sa_dir);
    c->ca_file = strdup(path);
    c->context = strdup("in-cluster");
    if (!c->server || !c->token_file || !c->ca_file || !c->context) {
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = read_file(c->token_file, 1u << 20, &c->token, NULL, err)))
        goto out;
    trim_trailing_space(c->token);
    FILE *f = fopen(c->ca_file, "r");
    if (!f) {
        rc = weir_error_set(err, WEIR_EIO, "%s: %s", c->ca_file, strerror(errno));
        goto out;
    }
    fclose(f);
    snprintf(path, sizeof(path), "%s/namespace", sa_dir);
    if (read_file(path, 4096, &c->namespace, NULL, NULL) == 0)
        trim_trailing_space(c->namespace);
    if (!c->namespace && !(c->namespace = strdup("default"))) {
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        goto out;
    }
    *out = c;
    c = NULL;
out:
    kube_config_free(c);
    return rc;
}

int kube_config_load_default(kube_config **out, weir_error *err)
{
    const char *env = getenv("KUBECONFIG");
    if (env && env[0]) {
        char *list = strdup(env), *save = NULL;
        if (!list)
            return weir_error_set(err, WEIR_ENOMEM, "out of memory");
        for (char *p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
            FILE *f = fopen(p, "r");
            if (!f)
                continue;
            fclose(f);
            int rc = kube_config_load_file(p, NULL, out, err);
            free(list);
            return rc;
        }
        free(list);
        return weir_error_set(err, WEIR_ENOTFOUND, "KUBECONFIG=%s: no such file", env);
    }
    if (getenv("KUBERNETES_SERVICE_HOST"))
        return kube_config_in_cluster(NULL, out, err);
    const char *home = getenv("HOME");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/.kube/config", home ? home : "");
    return kube_config_load_file(path, NULL, out, err);
}
