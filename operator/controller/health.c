/*
 * health.c - the cluster health check (see health.h). The arithmetic follows upstream's
 * ClusterHealthEvaluator: restarts counted since an evaluation mark that moves forward once it
 * falls out of the window (the count scaled down when the mark is older than the window), and
 * checkpoint progress measured from the last time the completed count grew.
 *
 * Layer: operator/controller.
 */
#include "operator/controller/health.h"

#include <stdlib.h>

static json_t *load(const json_t *cluster_info)
{
    const char *s = json_string_value(json_object_get(cluster_info, HEALTH_INFO_KEY));
    json_t *h = s ? json_loads(s, 0, NULL) : NULL;
    if (h && !json_is_object(h)) {
        json_decref(h);
        h = NULL;
    }
    return h;
}

static long long geti(const json_t *h, const char *k)
{
    return (long long)json_integer_value(json_object_get(h, k));
}

static void seti(json_t *h, const char *k, long long v)
{
    json_object_set_new(h, k, json_integer(v));
}

static void store(json_t *cluster_info, json_t *h)
{
    char *s = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS);
    if (s)
        json_object_set_new(cluster_info, HEALTH_INFO_KEY, json_string(s));
    free(s);
}

static long long conf_ms(const config *c, const char *key, long long def)
{
    long long v = def;
    weir_error e = {0};
    if (config_get_duration_ms(c, key, def, &v, &e))
        v = def;
    return v;
}

static long long conf_int(const config *c, const char *key, long long def)
{
    long long v = def;
    weir_error e = {0};
    if (config_get_int(c, key, def, &v, &e))
        v = def;
    return v;
}

static bool restarts_ok(const config *conf, json_t *h, const health_obs *o, long long now)
{
    if (o->num_restarts < geti(h, "numRestarts")) { /* a new job: start counting again */
        seti(h, "numRestarts", o->num_restarts);
        seti(h, "numRestartsEvaluationTimeStamp", o->ts);
        return true;
    }
    long long window =
        conf_ms(conf, "kubernetes.operator.cluster.health-check.restarts.window", 120000);
    long long threshold =
        conf_int(conf, "kubernetes.operator.cluster.health-check.restarts.threshold", 64);
    long long since = o->ts - geti(h, "numRestartsEvaluationTimeStamp");
    double scale = since > 0 ? (double)window / (double)since : 1.0;
    if (scale > 1.0)
        scale = 1.0;
    long long restarts = (long long)((double)(o->num_restarts - geti(h, "numRestarts")) * scale);
    bool ok = restarts <= threshold;
    if (geti(h, "numRestartsEvaluationTimeStamp") < now - window) {
        seti(h, "numRestarts", o->num_restarts);
        seti(h, "numRestartsEvaluationTimeStamp", o->ts);
    }
    return ok;
}

static bool checkpoints_ok(const config *conf, json_t *h, const health_obs *o, long long now)
{
    bool enabled = true;
    weir_error e = {0};
    if (config_get_bool(conf,
                        "kubernetes.operator.cluster.health-check.checkpoint-progress.enabled",
                        true, &enabled, &e) == 0 &&
        !enabled)
        return true;
    long long interval = conf_ms(conf, "execution.checkpointing.interval", 0);
    long long timeout = conf_ms(conf, "execution.checkpointing.timeout", 600000);
    long long tolerable =
        conf_int(conf, "execution.checkpointing.tolerable-failed-checkpoints", 0) + 2;
    long long min_window =
        interval * tolerable > timeout * tolerable ? interval * tolerable : timeout * tolerable;
    const char *wkey = "kubernetes.operator.cluster.health-check.checkpoint-progress.window";
    bool has_window = config_get(conf, wkey) != NULL;
    if (!has_window && interval <= 0)
        return true; /* checkpointing is off and no window asked for */
    long long window = has_window ? conf_ms(conf, wkey, min_window) : min_window;
    if (window < min_window)
        window = min_window; /* shorter than the checkpoints can make progress */
    if (o->num_completed_checkpoints < geti(h, "numCompletedCheckpoints") ||
        o->num_completed_checkpoints > geti(h, "numCompletedCheckpoints")) {
        seti(h, "numCompletedCheckpoints", o->num_completed_checkpoints);
        seti(h, "numCompletedCheckpointsIncreasedTimeStamp", o->ts);
        return true;
    }
    return geti(h, "numCompletedCheckpointsIncreasedTimeStamp") + window >= now;
}

bool health_evaluate(const config *conf, json_t *cluster_info, const health_obs *obs, long long now)
{
    if (!json_is_object(cluster_info) || obs->ts == 0)
        return true;
    json_t *h = load(cluster_info);
    if (!h || geti(h, "timeStamp") > obs->ts) {
        json_decref(h);
        h = json_object();
        seti(h, "timeStamp", obs->ts);
        seti(h, "numRestarts", obs->num_restarts);
        seti(h, "numRestartsEvaluationTimeStamp", obs->ts);
        seti(h, "numCompletedCheckpoints", obs->num_completed_checkpoints);
        seti(h, "numCompletedCheckpointsIncreasedTimeStamp", obs->ts);
        json_object_set_new(h, "healthy", json_true());
        store(cluster_info, h);
        json_decref(h);
        return true;
    }
    bool ok = restarts_ok(conf, h, obs, now);
    ok = checkpoints_ok(conf, h, obs, now) && ok;
    seti(h, "timeStamp", obs->ts);
    json_object_set_new(h, "healthy", json_boolean(ok));
    store(cluster_info, h);
    json_decref(h);
    return ok;
}

bool health_is_healthy(const json_t *cluster_info)
{
    json_t *h = load(cluster_info);
    bool ok = !h || !json_is_false(json_object_get(h, "healthy"));
    json_decref(h);
    return ok;
}

void health_forget(json_t *cluster_info)
{
    if (json_is_object(cluster_info))
        json_object_del(cluster_info, HEALTH_INFO_KEY);
}
