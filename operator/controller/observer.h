/*
 * observer.h - what the JobManager's REST API says about a cluster: GET /config (Flink version
 * and revision) and GET /jobs/overview (jobs with their state), as upstream's observer reads
 * them (reference section 2.2 and 2.11).
 *
 * Layer: operator/controller. Depends on lib/http_client, jansson.
 */
#ifndef WEIR_OBSERVER_H
#define WEIR_OBSERVER_H

#include <jansson.h>

#include "lib/error.h"
#include "lib/http_client.h"

typedef struct observer_result {
    json_t *cluster_info; /* {"flink-version": ..., "flink-revision": ...}; owned */
    json_t *job;          /* status.jobStatus for the newest job, or NULL; owned */
} observer_result;

/*
 * Queries the JobManager at `base_url` (e.g. "http://10.96.3.4:8081"), each request bounded by
 * `timeout_ms`. Returns 0 and fills `out` (caller frees with observer_result_clear()), or
 * WEIR_ECONNECT/WEIR_ETIMEDOUT/WEIR_EHTTP when the JobManager does not answer, WEIR_EPARSE when
 * it answers something that is not Flink's REST API.
 */
int observer_query(http_client *hc, const char *base_url, long timeout_ms, observer_result *out,
                   weir_error *err) WEIR_MUST_CHECK;

void observer_result_clear(observer_result *r);

#endif
