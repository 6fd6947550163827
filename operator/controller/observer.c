/*
 * observer.c - reads /config and /jobs/overview from a JobManager.
 *
 * /jobs/overview lists jobs as {"jobs": [{"jid", "name", "state", "start-time",
 * "last-modification", ...}]}; an application cluster runs one job, a job restarted by an
 * upgrade appears again with a new jid, so the newest start-time wins.
 */
#include "operator/controller/observer.h"

#include <stdio.h>
#include <string.h>

static int get_json(http_client *hc, const char *url, long timeout_ms, json_t **out,
                    weir_error *err)
{
    http_client_response resp = {0};
    /* One connection per request: a pooled connection opened before kube-proxy programmed a
     * new Service's address keeps talking to whatever answered then (seen on a fresh
     * cluster: every later request got that server's 404). */
    const char *hdrs[] = {"Accept: application/json", "Connection: close", NULL};
    http_client_req req = {.url = url, .headers = hdrs, .timeout_ms = timeout_ms};
    int rc = http_client_do(hc, &req, &resp, err);
    if (rc == 0) {
        json_error_t je;
        *out = resp.body ? json_loadb(resp.body, resp.body_len, 0, &je) : NULL;
        if (!json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            rc = weir_error_set(err, WEIR_EPARSE, "%s: not a Flink REST response", url);
        }
    }
    http_client_response_clear(&resp);
    return rc;
}

void observer_result_clear(observer_result *r)
{
    if (!r)
        return;
    json_decref(r->cluster_info);
    json_decref(r->job);
    r->cluster_info = NULL;
    r->job = NULL;
}

int observer_query(http_client *hc, const char *base_url, long timeout_ms, observer_result *out,
                   weir_error *err)
{
    char url[512];
    json_t *config = NULL, *jobs = NULL;
    memset(out, 0, sizeof(*out));
    snprintf(url, sizeof(url), "%s/config", base_url);
    int rc = get_json(hc, url, timeout_ms, &config, err);
    if (rc)
        return rc;
    const char *ver = json_string_value(json_object_get(config, "flink-version"));
    const char *rev = json_string_value(json_object_get(config, "flink-revision"));
    if (!ver) {
        json_decref(config);
        return weir_error_set(err, WEIR_EPARSE, "%s: no flink-version in the answer", url);
    }
    out->cluster_info =
        json_pack("{s:s,s:s}", "flink-version", ver, "flink-revision", rev ? rev : "");
    json_decref(config);
    snprintf(url, sizeof(url), "%s/jobs/overview", base_url);
    if ((rc = get_json(hc, url, timeout_ms, &jobs, err))) {
        observer_result_clear(out);
        return rc;
    }
    json_t *list = json_object_get(jobs, "jobs");
    json_t *best = NULL;
    size_t i;
    json_t *j;
    json_array_foreach(list, i, j)
    {
        if (!json_is_string(json_object_get(j, "jid")) ||
            !json_is_string(json_object_get(j, "state")))
            continue;
        if (!best || json_integer_value(json_object_get(j, "start-time")) >
                         json_integer_value(json_object_get(best, "start-time")))
            best = j;
    }
    if (best) {
        char start[32], update[32];
        snprintf(start, sizeof(start), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(best, "start-time")));
        snprintf(update, sizeof(update), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(best, "last-modification")));
        const char *name = json_string_value(json_object_get(best, "name"));
        out->job = json_pack(
            "{s:s,s:s,s:s,s:s,s:s}", "jobId", json_string_value(json_object_get(best, "jid")),
            "jobName", name ? name : "", "state", json_string_value(json_object_get(best, "state")),
            "startTime", start, "updateTime", update);
    }
    json_decref(jobs);
    return 0;
}
