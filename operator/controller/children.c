/*
 * children.c - builds the standalone-mode objects of a FlinkDeployment.
 *
 * The objects carry only fields the operator owns, so server-side apply with the field
 * manager "weir-operator" never takes fields from anyone else, and re-applying an unchanged
 * result is a no-op on the apiserver.
 */
#include "operator/controller/children.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"

#define RPC_PORT    6123
#define BLOB_PORT   6124
#define REST_PORT   8081
#define TM_RPC_PORT 6122
#define CONF_DIR    "/opt/flink/conf"

static const char *str(const json_t *o, const char *path)
{
    return json_path_string(o, path, NULL);
}

/* --- configuration ------------------------------------------------------------------------- */

/* Flattens a flinkConfiguration value into `c` under `prefix`. */
static int flatten(config *c, const char *prefix, const json_t *v, weir_error *err)
{
    char buf[64];
    const char *val = NULL;
    char *owned = NULL;
    int rc = 0;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *sub;
        json_object_foreach((json_t *)v, k, sub)
        {
            char key[1024];
            snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", k);
            if ((rc = flatten(c, key, sub, err)))
                return rc;
        }
        return 0;
    }
    case JSON_ARRAY: {
        size_t i, len = 1;
        json_t *e;
        json_array_foreach(v, i, e) len +=
            (json_is_string(e) ? strlen(json_string_value(e)) : 32) + 1;
        owned = calloc(1, len);
        if (!owned)
            return weir_error_set(err, WEIR_ENOMEM, "out of memory");
        json_array_foreach(v, i, e)
        {
            char *s = json_is_string(e) ? NULL : json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT);
            if (i)
                strcat(owned, ";");
            strncat(owned, s ? s : json_string_value(e), len - strlen(owned) - 1);
            free(s);
        }
        val = owned;
        break;
    }
    case JSON_STRING:
        val = json_string_value(v);
        break;
    case JSON_INTEGER:
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        val = buf;
        break;
    case JSON_REAL:
        snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
        val = buf;
        break;
    case JSON_TRUE:
        val = "true";
        break;
    case JSON_FALSE:
        val = "false";
        break;
    case JSON_NULL:
        return 0;
    }
    char origin[1100];
    snprintf(origin, sizeof(origin), "spec.flinkConfiguration");
    rc = config_set(c, prefix, val, origin);
    free(owned);
    return rc ? weir_error_set(err, rc, "out of memory") : 0;
}

static bool is_operator_key(const char *k)
{
    return strncmp(k, "kubernetes.operator.", 20) == 0 || strncmp(k, "job.autoscaler.", 15) == 0;
}

/* Sets `key` only when neither the defaults nor the resource did. */
static int set_default(config *c, const char *key, const char *value)
{
    return config_has(c, key) ? 0 : config_set(c, key, value, "operator default");
}

/* Memory from `resource.memory` (Flink or Kubernetes notation) as a Flink size string. */
static int memory_value(const char *in, char *out, size_t cap)
{
    unsigned long long bytes;
    if (config_parse_memory(in, &bytes) == 0) {
        snprintf(out, cap, "%llu", bytes);
        return 0;
    }
    /* Kubernetes binary/decimal suffixes: Ki Mi Gi Ti, k M G T */
    char *end;
    double v = strtod(in, &end);
    if (end == in || v < 0)
        return -1;
    static const struct {
        const char *sfx;
        double mul;
    } units[] = {{"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
                 {"k", 1e3},     {"M", 1e6},        {"G", 1e9},           {"T", 1e12},
                 {"", 1}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(end, units[i].sfx) == 0) {
            snprintf(out, cap, "%.0f", v * units[i].mul);
            return 0;
        }
    return -1;
}

int children_resource_config(const json_t *fd, const config *defaults, config **out,
                             weir_error *err)
{
    config *c = defaults ? config_clone(defaults) : config_new();
    *out = NULL;
    if (!c)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    const json_t *fc = json_path_get(fd, "spec.flinkConfiguration");
    int rc = json_is_object(fc) ? flatten(c, "", fc, err) : 0;
    if (rc) {
        config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int children_flink_config(const json_t *fd, const config *defaults, config **out, weir_error *err)
{
    const char *name = str(fd, "metadata.name");
    const char *ns = json_path_string(fd, "metadata.namespace", "default");
    const json_t *spec = json_object_get(fd, "spec");
    const json_t *job = json_object_get(spec, "job");
    config *c = defaults ? config_clone(defaults) : config_new();
    int rc = 0;
    char buf[128];
    *out = NULL;
    if (!c)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    const json_t *fc = json_object_get(spec, "flinkConfiguration");
    if (json_is_object(fc) && (rc = flatten(c, "", fc, err)))
        goto out;
    /* operator keys never reach Flink */
    const char **keys = config_keys(c);
    if (!keys) {
        rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
        goto out;
    }
    for (const char **k = keys; *k; k++)
        if (is_operator_key(*k))
            config_remove(c, *k);
    free(keys);

    struct {
        const char *path, *key;
    } mem[] = {{"jobManager.resource.memory", "jobmanager.memory.process.size"},
               {"taskManager.resource.memory", "taskmanager.memory.process.size"},
               {"jobManager.resources.requests.memory", "jobmanager.memory.process.size"},
               {"taskManager.resources.requests.memory", "taskmanager.memory.process.size"}};
    for (size_t i = 0; i < sizeof(mem) / sizeof(mem[0]); i++) {
        const char *m = json_path_string(spec, mem[i].path, NULL);
        if (!m)
            continue;
        if (memory_value(m, buf, sizeof(buf)) != 0) {
            rc = weir_error_set(err, WEIR_EINVAL, "spec.%s: '%s' is not a memory size", mem[i].path,
                                m);
            goto out;
        }
        if ((rc = config_set(c, mem[i].key, buf, "spec")))
            goto oom;
    }
    struct {
        const char *path, *key;
    } cpu[] = {{"jobManager.resource.cpu", "kubernetes.jobmanager.cpu"},
               {"taskManager.resource.cpu", "kubernetes.taskmanager.cpu"}};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_path_get(spec, cpu[i].path);
        if (json_is_number(v)) {
            snprintf(buf, sizeof(buf), "%g", json_number_value(v));
            if ((rc = config_set(c, cpu[i].key, buf, "spec")))
                goto oom;
        }
    }
    if (job) {
        json_t *par = json_object_get(job, "parallelism");
        if (json_is_integer(par) && json_integer_value(par) > 0) {
            snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(par));
            if ((rc = config_set(c, "parallelism.default", buf, "spec.job.parallelism")))
                goto oom;
        }
        const char *jar = str(job, "jarURI");
        if (jar && (rc = config_set(c, "pipeline.jars", jar, "spec.job.jarURI")))
            goto oom;
        if (json_is_true(json_object_get(job, "allowNonRestoredState")) &&
            (rc = config_set(c, "execution.savepoint.ignore-unclaimed-state", "true",
                             "spec.job.allowNonRestoredState")))
            goto oom;
        const char *mode = str(job, "upgradeMode");
        if (mode && strcmp(mode, "last-state") == 0 &&
            (rc = set_default(c, "execution.checkpointing.interval", "5 min")))
            goto oom;
        /* as upstream: the JobManager of an application cluster stays up after its job ends,
         * so the operator can observe the terminal state and the savepoint location */
        if ((rc = config_set(c, "execution.shutdown-on-application-finish", "false", "operator")) ||
            (rc = set_default(c, "execution.checkpointing.externalized-checkpoint-retention",
                              "RETAIN_ON_CANCELLATION")) ||
            (rc = set_default(c, "pipeline.name", name)))
            goto oom;
    }
    snprintf(buf, sizeof(buf), "%d", RPC_PORT);
    if ((rc = config_set(c, "jobmanager.rpc.address", name, "operator")) ||
        (rc = config_set(c, "jobmanager.rpc.port", buf, "operator")) ||
        (rc = config_set(c, "kubernetes.cluster-id", name, "operator")) ||
        (rc = config_set(c, "kubernetes.namespace", ns, "operator")) ||
        (rc = set_default(c, "blob.server.port", "6124")) ||
        (rc = set_default(c, "rest.port", "8081")) ||
        (rc = set_default(c, "taskmanager.rpc.port", "6122")) ||
        (rc = set_default(c, "execution.target", "remote")) ||
        (rc = set_default(c, "web.cancel.enable", "false")) ||
        (rc = set_default(c, "kubernetes.rest-service.exposed.type", "ClusterIP")))
        goto oom;
    const char *ha = config_get(c, "high-availability.type");
    if (!ha)
        ha = config_get(c, "high-availability");
    if (ha && strcasecmp(ha, "none") != 0 &&
        (rc = config_set(c, "high-availability.cluster-id", name, "operator")))
        goto oom;
    *out = c;
    return 0;
oom:
    rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
out:
    config_free(c);
    return rc;
}

int children_tm_replicas(const json_t *fd, const config *flink)
{
    json_t *r = json_path_get(fd, "spec.taskManager.replicas");
    if (json_is_integer(r) && json_integer_value(r) > 0)
        return (int)json_integer_value(r);
    long long par = json_path_int(fd, "spec.job.parallelism", 0), slots = 1;
    if (config_get_int(flink, "taskmanager.numberOfTaskSlots", 1, &slots, NULL) != 0 || slots < 1)
        slots = 1;
    if (par <= 0)
        return 1;
    return (int)((par + slots - 1) / slots);
}

/* --- pod templates ------------------------------------------------------------------------- */

static bool named_array(const json_t *a)
{
    size_t i;
    json_t *e;
    if (!json_is_array(a) || json_array_size(a) == 0)
        return false;
    json_array_foreach(a, i, e) if (!json_is_string(json_object_get(e, "name"))) return false;
    return true;
}

static json_t *merge(const json_t *base, const json_t *over);

static json_t *merge_named(const json_t *base, const json_t *over)
{
    json_t *out = json_deep_copy(base);
    size_t i, j;
    json_t *o, *b;
    json_array_foreach(over, i, o)
    {
        const char *n = json_string_value(json_object_get(o, "name"));
        bool found = false;
        json_array_foreach(out, j, b)
        {
            if (strcmp(json_string_value(json_object_get(b, "name")), n) == 0) {
                json_array_set_new(out, j, merge(b, o));
                found = true;
                break;
            }
        }
        if (!found)
            json_array_append_new(out, json_deep_copy(o));
    }
    return out;
}

static json_t *merge(const json_t *base, const json_t *over)
{
    if (!over || json_is_null(over))
        return base ? json_deep_copy(base) : json_null();
    if (json_is_object(base) && json_is_object(over)) {
        json_t *out = json_deep_copy(base);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)over, k, v)
        {
            json_object_set_new(out, k, merge(json_object_get(out, k), v));
        }
        return out;
    }
    if (named_array(base) && named_array(over))
        return merge_named(base, over);
    return json_deep_copy(over);
}

json_t *children_merge_pod_template(const json_t *base, const json_t *over)
{
    json_t *m = merge(base, over);
    if (json_is_null(m)) {
        json_decref(m);
        return json_object();
    }
    return m;
}

/* --- objects --------------------------------------------------------------------------------- */

static json_t *labels(const char *name, const char *component)
{
    json_t *l = json_pack("{s:s,s:s}", "app", name, "type", "flink-standalone-kubernetes");
    if (component)
        json_object_set_new(l, "component", json_string(component));
    return l;
}

static json_t *meta(const json_t *fd, const char *name, const char *component)
{
    json_t *owner = json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion", "flink.apache.org/v1beta1",
                              "kind", "FlinkDeployment", "name", str(fd, "metadata.name"), "uid",
                              json_path_string(fd, "metadata.uid", ""), "controller", 1,
                              "blockOwnerDeletion", 1);
    return json_pack("{s:s,s:s,s:o,s:[o]}", "name", name, "namespace",
                     json_path_string(fd, "metadata.namespace", "default"), "labels",
                     labels(str(fd, "metadata.name"), component), "ownerReferences", owner);
}

static bool new_config_format(const json_t *fd)
{
    const char *v = json_path_string(fd, "spec.flinkVersion", "v1_20");
    /* Flink 1.19 introduced config.yaml; earlier versions read flink-conf.yaml */
    return strcmp(v, "v1_19") >= 0 || v[1] == '2';
}

static json_t *config_map(const json_t *fd, const config *flink, const char *cm_name)
{
    const char **keys = config_keys(flink);
    size_t len = 1;
    for (const char **k = keys; k && *k; k++)
        len += strlen(*k) + strlen(config_get(flink, *k)) * 2 + 16;
    char *text = calloc(1, len);
    for (const char **k = keys; text && keys && *k; k++) {
        /* a JSON string is a valid YAML double-quoted scalar */
        json_t *s = json_string(config_get(flink, *k));
        char *q = json_dumps(s, JSON_ENCODE_ANY);
        json_decref(s);
        size_t l = strlen(text);
        snprintf(text + l, len - l, "%s: %s\n", *k, q ? q : "\"\"");
        free(q);
    }
    free(keys);
    json_t *data = json_object();
    json_object_set_new(data, new_config_format(fd) ? "config.yaml" : "flink-conf.yaml",
                        json_string(text ? text : ""));
    free(text);
    const char *k;
    json_t *v;
    json_object_foreach(json_path_get(fd, "spec.logConfiguration"), k, v)
    {
        if (json_is_string(v))
            json_object_set(data, k, v);
    }
    return json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                     meta(fd, cm_name, NULL), "data", data);
}

static json_t *service(const json_t *fd, const config *flink, bool rest)
{
    const char *name = str(fd, "metadata.name");
    char svc[300];
    snprintf(svc, sizeof(svc), rest ? "%s-rest" : "%s", name);
    json_t *spec;
    if (rest) {
        spec =
            json_pack("{s:s,s:[{s:s,s:i,s:i,s:s}],s:o}", "type",
                      config_get_string(flink, "kubernetes.rest-service.exposed.type", "ClusterIP"),
                      "ports", "name", "rest", "port", REST_PORT, "targetPort", REST_PORT,
                      "protocol", "TCP", "selector", labels(name, "jobmanager"));
    } else {
        spec =
            json_pack("{s:s,s:[{s:s,s:i,s:i,s:s},{s:s,s:i,s:i,s:s}],s:o}", "clusterIP", "None",
                      "ports", "name", "jobmanager-rpc", "port", RPC_PORT, "targetPort", RPC_PORT,
                      "protocol", "TCP", "name", "blobserver", "port", BLOB_PORT, "targetPort",
                      BLOB_PORT, "protocol", "TCP", "selector", labels(name, "jobmanager"));
    }
    return json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "v1", "kind", "Service", "metadata",
                     meta(fd, svc, NULL), "spec", spec);
}

static json_t *resources(const json_t *spec, const char *role, const config *flink)
{
    char path[64];
    snprintf(path, sizeof(path), "%s.resources", role);
    json_t *r = json_path_get(spec, path);
    if (json_is_object(r))
        return json_deep_copy(r);
    snprintf(path, sizeof(path), "%s.resource", role);
    json_t *res = json_path_get(spec, path);
    if (!json_is_object(res))
        return json_object();
    json_t *q = json_object();
    json_t *cpu = json_object_get(res, "cpu");
    if (json_is_number(cpu)) {
        char b[32];
        snprintf(b, sizeof(b), "%gm", json_number_value(cpu) * 1000.0);
        json_object_set_new(q, "cpu", json_string(b));
    }
    const char *mkey = strcmp(role, "jobManager") == 0 ? "jobmanager.memory.process.size"
                                                       : "taskmanager.memory.process.size";
    const char *mem = config_get(flink, mkey);
    if (mem) {
        char b[48];
        snprintf(b, sizeof(b), "%sMi", mem);
        unsigned long long bytes;
        if (config_parse_memory(mem, &bytes) == 0)
            snprintf(b, sizeof(b), "%lluMi", (bytes + (1 << 20) - 1) >> 20);
        json_object_set_new(q, "memory", json_string(b));
    }
    const char *eph = json_string_value(json_object_get(res, "ephemeralStorage"));
    if (eph)
        json_object_set_new(q, "ephemeral-storage", json_string(eph));
    return json_pack("{s:O,s:o}", "requests", q, "limits", q);
}

static json_t *jm_args(const json_t *fd)
{
    const json_t *job = json_path_get(fd, "spec.job");
    if (!job)
        return json_pack("[s]", "jobmanager");
    json_t *a = json_pack("[s]", "standalone-job");
    const char *cls = str(job, "entryClass");
    if (cls) {
        json_array_append_new(a, json_string("--job-classname"));
        json_array_append_new(a, json_string(cls));
    }
    const char *sp = str(job, "initialSavepointPath");
    if (sp && *sp) {
        json_array_append_new(a, json_string("--fromSavepoint"));
        json_array_append_new(a, json_string(sp));
    }
    if (json_is_true(json_object_get(job, "allowNonRestoredState")))
        json_array_append_new(a, json_string("--allowNonRestoredState"));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(job, "args"), i, v) json_array_append(a, v);
    return a;
}

static json_t *deployment(const json_t *fd, const config *flink, bool jm, const char *cm_name)
{
    const char *name = str(fd, "metadata.name");
    const json_t *spec = json_object_get(fd, "spec");
    const char *role = jm ? "jobManager" : "taskManager";
    const char *component = jm ? "jobmanager" : "taskmanager";
    char dname[300], gen[32];
    snprintf(dname, sizeof(dname), jm ? "%s" : "%s-taskmanager", name);
    snprintf(gen, sizeof(gen), "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_path_get(fd, "metadata.generation")));

    char rp[64];
    snprintf(rp, sizeof(rp), "%s.podTemplate", role);
    json_t *tmpl =
        children_merge_pod_template(json_object_get(spec, "podTemplate"), json_path_get(spec, rp));
    json_object_del(tmpl, "apiVersion");
    json_object_del(tmpl, "kind");

    json_t *ports =
        jm ? json_pack("[{s:s,s:i,s:s},{s:s,s:i,s:s},{s:s,s:i,s:s}]", "name", "jobmanager-rpc",
                       "containerPort", RPC_PORT, "protocol", "TCP", "name", "blobserver",
                       "containerPort", BLOB_PORT, "protocol", "TCP", "name", "rest",
                       "containerPort", REST_PORT, "protocol", "TCP")
           : json_pack("[{s:s,s:i,s:s}]", "name", "taskmanager-rpc", "containerPort", TM_RPC_PORT,
                       "protocol", "TCP");
    json_t *main = json_pack("{s:s,s:s,s:o,s:o,s:[{s:s,s:{s:{s:s}}}],s:[{s:s,s:s}],s:o}", "name",
                             CHILDREN_MAIN_CONTAINER, "image",
                             json_path_string(spec, "image", "weir/runtime:dev"), "args",
                             jm ? jm_args(fd) : json_pack("[s]", "taskmanager"), "ports", ports,
                             "env", "name", "_POD_IP_ADDRESS", "valueFrom", "fieldRef", "fieldPath",
                             "status.podIP", "volumeMounts", "name", "flink-config-volume",
                             "mountPath", CONF_DIR, "resources", resources(spec, role, flink));
    const char *pull = str(spec, "imagePullPolicy");
    if (pull)
        json_object_set_new(main, "imagePullPolicy", json_string(pull));
    if (jm) {
        json_object_set_new(main, "startupProbe",
                            json_pack("{s:{s:s,s:s},s:i,s:i}", "httpGet", "path", "/config", "port",
                                      "rest", "periodSeconds", 1, "failureThreshold", 600));
        json_object_set_new(main, "livenessProbe",
                            json_pack("{s:{s:s},s:i,s:i}", "tcpSocket", "port", "rest",
                                      "periodSeconds", 10, "failureThreshold", 6));
    }
    /* no generation in the pod template: a change that does not touch a pod must not roll it */
    json_t *generated = json_pack("{s:{s:o},s:{s:[o],s:[{s:s,s:{s:s}}]}}", "metadata", "labels",
                                  labels(name, component), "spec", "containers", main, "volumes",
                                  "name", "flink-config-volume", "configMap", "name", cm_name);
    const char *sa = str(spec, "serviceAccount");
    if (sa)
        (void)!json_path_set(generated, "spec.serviceAccountName", json_string(sa));
    /* the user's template, with the operator's container fields winning on conflicts */
    json_t *pod = children_merge_pod_template(tmpl, generated);
    json_decref(tmpl);
    json_decref(generated);

    int replicas =
        jm ? (int)json_path_int(spec, "jobManager.replicas", 1) : children_tm_replicas(fd, flink);
    json_t *dmeta = meta(fd, dname, component);
    json_object_set_new(dmeta, "annotations",
                        json_pack("{s:s}", CHILDREN_GENERATION_ANNOTATION, gen));
    return json_pack("{s:s,s:s,s:o,s:{s:i,s:{s:o},s:o,s:{s:s}}}", "apiVersion", "apps/v1", "kind",
                     "Deployment", "metadata", dmeta, "spec", "replicas", replicas, "selector",
                     "matchLabels", labels(name, component), "template", pod, "strategy", "type",
                     "Recreate");
}

static void substitute(const char *tmpl, const char *name, const char *ns, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = tmpl; *p && o + 1 < cap;) {
        if (strncmp(p, "{{name}}", 8) == 0) {
            o += (size_t)snprintf(out + o, cap - o, "%s", name);
            p += 8;
        } else if (strncmp(p, "{{namespace}}", 13) == 0) {
            o += (size_t)snprintf(out + o, cap - o, "%s", ns);
            p += 13;
        } else {
            out[o++] = *p++;
        }
        if (o >= cap)
            o = cap - 1;
    }
    out[o] = '\0';
}

static json_t *ingress(const json_t *fd)
{
    const json_t *ing = json_path_get(fd, "spec.ingress");
    const char *name = str(fd, "metadata.name");
    const char *ns = json_path_string(fd, "metadata.namespace", "default");
    char url[1024], rest[300];
    substitute(json_path_string(ing, "template", ""), name, ns, url, sizeof(url));
    snprintf(rest, sizeof(rest), "%s-rest", name);
    char host[1024] = "", path[1024] = "/";
    char *slash = strchr(url, '/');
    if (slash) {
        snprintf(path, sizeof(path), "%s", slash);
        *slash = '\0';
    }
    snprintf(host, sizeof(host), "%s", url);
    json_t *rule = json_pack("{s:{s:[{s:s,s:s,s:{s:{s:s,s:{s:i}}}}]}}", "http", "paths", "path",
                             path, "pathType", "ImplementationSpecific", "backend", "service",
                             "name", rest, "port", "number", REST_PORT);
    if (*host)
        json_object_set_new(rule, "host", json_string(host));
    json_t *m = meta(fd, name, "ingress");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(ing, "labels"), k, v)
        json_object_set(json_object_get(m, "labels"), k, v);
    if (json_object_size(json_object_get(ing, "annotations")))
        json_object_set_new(m, "annotations", json_deep_copy(json_object_get(ing, "annotations")));
    json_t *spec = json_pack("{s:[o]}", "rules", rule);
    if (str(ing, "className"))
        json_object_set_new(spec, "ingressClassName", json_string(str(ing, "className")));
    if (json_array_size(json_object_get(ing, "tls")))
        json_object_set_new(spec, "tls", json_deep_copy(json_object_get(ing, "tls")));
    return json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "networking.k8s.io/v1", "kind", "Ingress",
                     "metadata", m, "spec", spec);
}

int children_build(const json_t *fd, const config *defaults, json_t **out, weir_error *err)
{
    config *flink = NULL;
    *out = NULL;
    const char *name = str(fd, "metadata.name");
    if (!name || !json_is_object(json_object_get(fd, "spec")))
        return weir_error_set(err, WEIR_EINVAL, "FlinkDeployment without name or spec");
    int rc = children_flink_config(fd, defaults, &flink, err);
    if (rc)
        return rc;
    char cm[300];
    snprintf(cm, sizeof(cm), "flink-config-%s", name);
    json_t *objs = json_array();
    /* the JobManager first after its configuration: it is what a user waits for, and every
     * write before it adds an apiserver round trip to that wait */
    json_array_append_new(objs, config_map(fd, flink, cm));
    json_array_append_new(objs, deployment(fd, flink, true, cm));
    json_array_append_new(objs, service(fd, flink, false));
    json_array_append_new(objs, service(fd, flink, true));
    json_array_append_new(objs, deployment(fd, flink, false, cm));
    if (json_is_object(json_path_get(fd, "spec.ingress")))
        json_array_append_new(objs, ingress(fd));
    config_free(flink);
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o) if (!json_is_object(o))
    {
        json_decref(objs);
        return weir_error_set(err, WEIR_ENOMEM, "out of memory building children");
    }
    *out = objs;
    return 0;
}
