/*
 * flinkrest.h - the operator's client for a JobManager's REST API (reference §2.11 and the
 * REST table of runtime-and-benchmarks §5): savepoints, stop-with-savepoint, checkpoints,
 * cancel, savepoint disposal, job metrics, TaskManager count, and jar upload/run/delete for
 * session jobs. Works against Weir's JobManager and Apache Flink's alike.
 *
 * Every call is one request bounded by `timeout_ms`: nothing waits for a savepoint to finish.
 * Callers trigger, record the trigger id (status is the write-ahead log), and poll later.
 * Errors: WEIR_ECONNECT/WEIR_ETIMEDOUT when the JobManager does not answer, WEIR_ENOTFOUND for
 * an unknown job or trigger, WEIR_EHTTP for other error statuses (err->msg carries Flink's
 * "errors" text), WEIR_EPARSE for an answer that is not Flink's.
 *
 * Layer: operator/flink. Depends on lib/http_client, jansson.
 */
#ifndef WEIR_FLINKREST_H
#define WEIR_FLINKREST_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/error.h"
#include "lib/http_client.h"

typedef struct flinkrest {
    http_client *hc;  /* borrowed */
    const char *base; /* "http://10.96.3.4:8081", borrowed */
    long timeout_ms;
} flinkrest;

/* The outcome of an asynchronous operation (savepoint, checkpoint, disposal). */
typedef struct flinkrest_op {
    bool done;           /* COMPLETED (success or failure) */
    bool failed;         /* done with a failure-cause */
    char location[1024]; /* savepoint location (success) */
    long long checkpoint_id;
    char failure[1024]; /* failure-cause message */
} flinkrest_op;

/* POST /jobs/:id/savepoints. `target_dir` may be NULL (state.savepoints.dir); `format` is
 * "CANONICAL" or "NATIVE" (NULL: CANONICAL); `trigger_id` (may be NULL) makes a retry
 * idempotent. Fills `request_id` (33 bytes). */
int flinkrest_trigger_savepoint(const flinkrest *r, const char *job_id, const char *target_dir,
                                const char *format, const char *trigger_id, char request_id[33],
                                weir_error *err) WEIR_MUST_CHECK;

/* POST /jobs/:id/stop: stop with a savepoint (drain: final watermark first). */
int flinkrest_stop_with_savepoint(const flinkrest *r, const char *job_id, const char *target_dir,
                                  bool drain, const char *trigger_id, char request_id[33],
                                  weir_error *err) WEIR_MUST_CHECK;

/* GET /jobs/:id/savepoints/:triggerid. */
int flinkrest_savepoint_status(const flinkrest *r, const char *job_id, const char *request_id,
                               flinkrest_op *out, weir_error *err) WEIR_MUST_CHECK;

/* POST /jobs/:id/checkpoints ("FULL" or "INCREMENTAL"; NULL: CONFIGURED) and its status. */
int flinkrest_trigger_checkpoint(const flinkrest *r, const char *job_id, const char *type,
                                 char request_id[33], weir_error *err) WEIR_MUST_CHECK;
int flinkrest_checkpoint_status(const flinkrest *r, const char *job_id, const char *request_id,
                                flinkrest_op *out, weir_error *err) WEIR_MUST_CHECK;

/* GET /jobs/:id/checkpoints: the external path of the latest completed checkpoint (or
 * savepoint) into `path` (size bytes); *found is false when none completed. */
int flinkrest_latest_checkpoint(const flinkrest *r, const char *job_id, char *path, size_t size,
                                bool *found, weir_error *err) WEIR_MUST_CHECK;

/* PATCH /jobs/:id?mode=cancel. */
int flinkrest_cancel(const flinkrest *r, const char *job_id, weir_error *err) WEIR_MUST_CHECK;

/* POST /savepoint-disposal and GET /savepoint-disposal/:triggerid. */
int flinkrest_dispose_savepoint(const flinkrest *r, const char *path, char request_id[33],
                                weir_error *err) WEIR_MUST_CHECK;
int flinkrest_disposal_status(const flinkrest *r, const char *request_id, flinkrest_op *out,
                              weir_error *err) WEIR_MUST_CHECK;

/* GET /jobs/:id/metrics?get=a,b: *out is an object name -> string value (caller decrefs). */
int flinkrest_job_metrics(const flinkrest *r, const char *job_id, const char *names, json_t **out,
                          weir_error *err) WEIR_MUST_CHECK;

/* GET /jobs/:id/exceptions?maxExceptions=N: *out is the exceptionHistory.entries array
 * (newest first; each {exceptionName, stacktrace, timestamp, ...}; caller decrefs). */
int flinkrest_job_exceptions(const flinkrest *r, const char *job_id, int max, json_t **out,
                             weir_error *err) WEIR_MUST_CHECK;

/* GET /jobs/:id/execution-result of a FAILED job: its failure cause's class and stack trace
 * (both "" when it has none). */
int flinkrest_job_failure(const flinkrest *r, const char *job_id, char *cls, size_t cls_cap,
                          char *trace, size_t trace_cap, weir_error *err) WEIR_MUST_CHECK;

/* GET /taskmanagers: how many are registered. */
int flinkrest_taskmanagers(const flinkrest *r, int *count, weir_error *err) WEIR_MUST_CHECK;

/* POST /jars/upload of `data` (len bytes) named `filename`; fills the jar id (size bytes). */
int flinkrest_upload_jar(const flinkrest *r, const char *filename, const void *data, size_t len,
                         char *jar_id, size_t size, weir_error *err) WEIR_MUST_CHECK;
/* POST /jars/:id/run with `body` (JarRunRequestBody; borrowed); fills the job id. */
int flinkrest_run_jar(const flinkrest *r, const char *jar_id, const json_t *body, char job_id[33],
                      weir_error *err) WEIR_MUST_CHECK;
/* DELETE /jars/:id. */
int flinkrest_delete_jar(const flinkrest *r, const char *jar_id, weir_error *err) WEIR_MUST_CHECK;

#endif
