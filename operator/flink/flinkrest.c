/*
 * flinkrest.c - JobManager REST client (see flinkrest.h).
 *
 * Layer: operator/flink.
 */
#include "operator/flink/flinkrest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One request; *out (may be NULL) gets the JSON answer (caller decrefs). Errors carry Flink's
 * "errors" text when the answer has one. Connections are not reused (see observer.c). */
static int call(const flinkrest *r, const char *method, const char *path, const char *ctype,
                const char *body, size_t blen, json_t **out, weir_error *err)
{
    char url[2048], ct[300];
    snprintf(url, sizeof(url), "%s%s", r->base, path);
    snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "application/json");
    const char *hdrs[] = {"Accept: application/json", "Connection: close", body ? ct : NULL, NULL};
    http_client_req req = {.method = method,
                           .url = url,
                           .headers = hdrs,
                           .body = body,
                           .body_len = blen,
                           .timeout_ms = r->timeout_ms > 0 ? r->timeout_ms : 10000};
    http_client_response resp = {0};
    int rc = http_client_do(r->hc, &req, &resp, err);
    json_error_t je;
    json_t *v = resp.body && resp.body_len ? json_loadb(resp.body, resp.body_len, 0, &je) : NULL;
    if (rc) {
        json_t *e = json_array_get(json_object_get(v, "errors"), 0);
        if (json_is_string(e))
            snprintf(err->msg, sizeof(err->msg), "%s %s: HTTP %ld: %s", method, path, resp.status,
                     json_string_value(e));
        json_decref(v);
    } else if (out) {
        if (!v && resp.body_len == 0)
            v = json_object();
        if (!v)
            rc = weir_error_set(err, WEIR_EPARSE, "%s %s: not a Flink REST answer", method, path);
        *out = v;
    } else
        json_decref(v);
    http_client_response_clear(&resp);
    return rc;
}

static int post_json(const flinkrest *r, const char *path, json_t *body, json_t **out,
                     weir_error *err)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    int rc = call(r, "POST", path, NULL, text, strlen(text), out, err);
    free(text);
    return rc;
}

static int request_id_of(json_t *ans, const char *what, char request_id[33], weir_error *err)
{
    const char *id = json_string_value(json_object_get(ans, "request-id"));
    if (!id || strlen(id) > 32) {
        json_decref(ans);
        return weir_error_set(err, WEIR_EPARSE, "%s: no request-id in the answer", what);
    }
    snprintf(request_id, 33, "%s", id);
    json_decref(ans);
    return 0;
}

int flinkrest_trigger_savepoint(const flinkrest *r, const char *job_id, const char *target_dir,
                                const char *format, const char *trigger_id, char request_id[33],
                                weir_error *err)
{
    json_t *b =
        json_pack("{s:b, s:s}", "cancel-job", 0, "formatType", format ? format : "CANONICAL");
    if (b && target_dir)
        json_object_set_new(b, "target-directory", json_string(target_dir));
    if (b && trigger_id)
        json_object_set_new(b, "triggerId", json_string(trigger_id));
    char path[128];
    snprintf(path, sizeof(path), "/jobs/%s/savepoints", job_id);
    json_t *ans = NULL;
    int rc = post_json(r, path, b, &ans, err);
    return rc ? rc : request_id_of(ans, path, request_id, err);
}

int flinkrest_stop_with_savepoint(const flinkrest *r, const char *job_id, const char *target_dir,
                                  bool drain, const char *trigger_id, char request_id[33],
                                  weir_error *err)
{
    json_t *b = json_pack("{s:b, s:s}", "drain", drain, "formatType", "CANONICAL");
    if (b && target_dir)
        json_object_set_new(b, "targetDirectory", json_string(target_dir));
    if (b && trigger_id)
        json_object_set_new(b, "triggerId", json_string(trigger_id));
    char path[128];
    snprintf(path, sizeof(path), "/jobs/%s/stop", job_id);
    json_t *ans = NULL;
    int rc = post_json(r, path, b, &ans, err);
    return rc ? rc : request_id_of(ans, path, request_id, err);
}

/* Reads an AsynchronousOperationResult. */
static int op_of(json_t *ans, const char *path, flinkrest_op *out, weir_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *st = json_string_value(json_object_get(json_object_get(ans, "status"), "id"));
    if (!st) {
        json_decref(ans);
        return weir_error_set(err, WEIR_EPARSE, "%s: no status.id in the answer", path);
    }
    out->done = strcmp(st, "COMPLETED") == 0;
    json_t *op = json_object_get(ans, "operation");
    json_t *fc = json_object_get(op, "failure-cause");
    if (out->done && fc) {
        out->failed = true;
        const char *m = json_string_value(json_object_get(fc, "message"));
        if (!m)
            m = json_string_value(json_object_get(fc, "stack-trace"));
        snprintf(out->failure, sizeof(out->failure), "%s", m ? m : "unknown failure");
    }
    const char *loc = json_string_value(json_object_get(op, "location"));
    if (loc)
        snprintf(out->location, sizeof(out->location), "%s", loc);
    json_t *cid = json_object_get(op, "checkpointId");
    if (json_is_integer(cid))
        out->checkpoint_id = json_integer_value(cid);
    json_decref(ans);
    return 0;
}

int flinkrest_savepoint_status(const flinkrest *r, const char *job_id, const char *request_id,
                               flinkrest_op *out, weir_error *err)
{
    char path[160];
    snprintf(path, sizeof(path), "/jobs/%s/savepoints/%s", job_id, request_id);
    json_t *ans = NULL;
    int rc = call(r, "GET", path, NULL, NULL, 0, &ans, err);
    return rc ? rc : op_of(ans, path, out, err);
}

int flinkrest_trigger_checkpoint(const flinkrest *r, const char *job_id, const char *type,
                                 char request_id[33], weir_error *err)
{
    char path[128];
    snprintf(path, sizeof(path), "/jobs/%s/checkpoints", job_id);
    json_t *ans = NULL;
    int rc = post_json(r, path, json_pack("{s:s}", "checkpointType", type ? type : "CONFIGURED"),
                       &ans, err);
    return rc ? rc : request_id_of(ans, path, request_id, err);
}

int flinkrest_checkpoint_status(const flinkrest *r, const char *job_id, const char *request_id,
                                flinkrest_op *out, weir_error *err)
{
    char path[160];
    snprintf(path, sizeof(path), "/jobs/%s/checkpoints/%s", job_id, request_id);
    json_t *ans = NULL;
    int rc = call(r, "GET", path, NULL, NULL, 0, &ans, err);
    return rc ? rc : op_of(ans, path, out, err);
}

int flinkrest_latest_checkpoint(const flinkrest *r, const char *job_id, char *path, size_t size,
                                bool *found, weir_error *err)
{
    char p[128];
    snprintf(p, sizeof(p), "/jobs/%s/checkpoints", job_id);
    json_t *ans = NULL;
    *found = false;
    int rc = call(r, "GET", p, NULL, NULL, 0, &ans, err);
    if (rc)
        return rc;
    /* the newest of the latest completed checkpoint and the latest savepoint */
    json_t *best = NULL;
    const char *kinds[] = {"completed", "savepoint"};
    for (int i = 0; i < 2; i++) {
        json_t *c = json_object_get(json_object_get(ans, "latest"), kinds[i]);
        if (!json_is_object(c) || !json_is_string(json_object_get(c, "external_path")))
            continue;
        if (!best || json_integer_value(json_object_get(c, "id")) >
                         json_integer_value(json_object_get(best, "id")))
            best = c;
    }
    if (best) {
        snprintf(path, size, "%s", json_string_value(json_object_get(best, "external_path")));
        *found = true;
    }
    json_decref(ans);
    return 0;
}

int flinkrest_cancel(const flinkrest *r, const char *job_id, weir_error *err)
{
    char path[128];
    snprintf(path, sizeof(path), "/jobs/%s?mode=cancel", job_id);
    return call(r, "PATCH", path, NULL, NULL, 0, NULL, err);
}

int flinkrest_dispose_savepoint(const flinkrest *r, const char *path, char request_id[33],
                                weir_error *err)
{
    json_t *ans = NULL;
    int rc =
        post_json(r, "/savepoint-disposal", json_pack("{s:s}", "savepoint-path", path), &ans, err);
    return rc ? rc : request_id_of(ans, "/savepoint-disposal", request_id, err);
}

int flinkrest_disposal_status(const flinkrest *r, const char *request_id, flinkrest_op *out,
                              weir_error *err)
{
    char path[128];
    snprintf(path, sizeof(path), "/savepoint-disposal/%s", request_id);
    json_t *ans = NULL;
    int rc = call(r, "GET", path, NULL, NULL, 0, &ans, err);
    return rc ? rc : op_of(ans, path, out, err);
}

int flinkrest_job_metrics(const flinkrest *r, const char *job_id, const char *names, json_t **out,
                          weir_error *err)
{
    char path[1024];
    snprintf(path, sizeof(path), "/jobs/%s/metrics?get=%s", job_id, names);
    json_t *ans = NULL;
    int rc = call(r, "GET", path, NULL, NULL, 0, &ans, err);
    if (rc)
        return rc;
    if (!json_is_array(ans)) {
        json_decref(ans);
        return weir_error_set(err, WEIR_EPARSE, "%s: not a metric list", path);
    }
    json_t *m = json_object();
    size_t i;
    json_t *v;
    json_array_foreach(ans, i, v)
    {
        const char *id = json_string_value(json_object_get(v, "id"));
        json_t *val = json_object_get(v, "value");
        if (id && json_is_string(val))
            json_object_set(m, id, val);
    }
    json_decref(ans);
    *out = m;
    return 0;
}

int flinkrest_job_exceptions(const flinkrest *r, const char *job_id, int max, json_t **out,
                             weir_error *err)
{
    char path[256];
    snprintf(path, sizeof(path), "/jobs/%s/exceptions?maxExceptions=%d", job_id, max);
    json_t *ans = NULL;
    int rc = call(r, "GET", path, NULL, NULL, 0, &ans, err);
    if (rc)
        return rc;
    json_t *entries = json_object_get(json_object_get(ans, "exceptionHistory"), "entries");
    if (!json_is_array(entries)) {
        json_decref(ans);
        return weir_error_set(err, WEIR_EPARSE, "%s: no exceptionHistory.entries", path);
    }
    *out = json_incref(entries);
    json_decref(ans);
    return 0;
}

int flinkrest_job_failure(const flinkrest *r, const char *job_id, char *cls, size_t cls_cap,
                          char *trace, size_t trace_cap, weir_error *err)
{
    char path[256];
    snprintf(path, sizeof(path), "/jobs/%s/execution-result", job_id);
    json_t *ans = NULL;
    int rc = call(r, "GET", path, NULL, NULL, 0, &ans, err);
    if (rc)
        return rc;
    json_t *fc = json_object_get(json_object_get(ans, "job-execution-result"), "failure-cause");
    const char *c = json_string_value(json_object_get(fc, "class"));
    const char *t = json_string_value(json_object_get(fc, "stack-trace"));
    snprintf(cls, cls_cap, "%s", c ? c : "");
    snprintf(trace, trace_cap, "%s", t ? t : "");
    json_decref(ans);
    return 0;
}

int flinkrest_taskmanagers(const flinkrest *r, int *count, weir_error *err)
{
    json_t *ans = NULL;
    int rc = call(r, "GET", "/taskmanagers", NULL, NULL, 0, &ans, err);
    if (rc)
        return rc;
    json_t *tms = json_object_get(ans, "taskmanagers");
    if (!json_is_array(tms)) {
        json_decref(ans);
        return weir_error_set(err, WEIR_EPARSE, "/taskmanagers: no taskmanagers array");
    }
    *count = (int)json_array_size(tms);
    json_decref(ans);
    return 0;
}

int flinkrest_upload_jar(const flinkrest *r, const char *filename, const void *data, size_t len,
                         char *jar_id, size_t size, weir_error *err)
{
    char boundary[40], hex[17];
    snprintf(hex, sizeof(hex), "%08x%08x", (unsigned)rand(), (unsigned)rand());
    snprintf(boundary, sizeof(boundary), "----weir%s", hex);
    if (strpbrk(filename, "\"\r\n"))
        return weir_error_set(err, WEIR_EINVAL, "file name '%s' has quotes or line breaks",
                              filename);
    char head[600];
    int hl = snprintf(head, sizeof(head),
                      "--%s\r\nContent-Disposition: form-data; name=\"jarfile\"; "
                      "filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                      boundary, filename);
    char tail[64];
    int tl = snprintf(tail, sizeof(tail), "\r\n--%s--\r\n", boundary);
    size_t total = (size_t)hl + len + (size_t)tl;
    char *body = malloc(total);
    if (!body)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    memcpy(body, head, (size_t)hl);
    memcpy(body + hl, data, len);
    memcpy(body + hl + len, tail, (size_t)tl);
    char ctype[100];
    snprintf(ctype, sizeof(ctype), "multipart/form-data; boundary=%s", boundary);
    json_t *ans = NULL;
    int rc = call(r, "POST", "/jars/upload", ctype, body, total, &ans, err);
    free(body);
    if (rc)
        return rc;
    const char *fn = json_string_value(json_object_get(ans, "filename"));
    if (!fn) {
        json_decref(ans);
        return weir_error_set(err, WEIR_EPARSE, "/jars/upload: no filename in the answer");
    }
    const char *base = strrchr(fn, '/');
    snprintf(jar_id, size, "%s", base ? base + 1 : fn);
    json_decref(ans);
    return 0;
}

int flinkrest_run_jar(const flinkrest *r, const char *jar_id, const json_t *body, char job_id[33],
                      weir_error *err)
{
    char path[512];
    snprintf(path, sizeof(path), "/jars/%s/run", jar_id);
    json_t *ans = NULL;
    int rc = post_json(r, path, body ? json_deep_copy(body) : json_object(), &ans, err);
    if (rc)
        return rc;
    const char *id = json_string_value(json_object_get(ans, "jobid"));
    if (!id || strlen(id) != 32) {
        json_decref(ans);
        return weir_error_set(err, WEIR_EPARSE, "%s: no jobid in the answer", path);
    }
    snprintf(job_id, 33, "%s", id);
    json_decref(ans);
    return 0;
}

int flinkrest_delete_jar(const flinkrest *r, const char *jar_id, weir_error *err)
{
    char path[512];
    snprintf(path, sizeof(path), "/jars/%s", jar_id);
    return call(r, "DELETE", path, NULL, NULL, 0, NULL, err);
}
