/*
 * coord.h - the checkpoint coordinator's bookkeeping, shared by the local runner (job.c) and
 * the JobManager: where a snapshot goes, which subtasks acknowledged it with which state
 * handles, the `_metadata` file that completes it, retention of old checkpoints with
 * reference-counted shared files, and statistics for the REST API.
 *
 * It does not move barriers: the caller hands the request (rt_snap_req) to the executors that
 * inject barriers, and feeds their acknowledgements back with rt_coord_ack().
 *
 * Thread-safe: every call takes the coordinator's mutex.
 *
 * Layer: runtime/engine. Depends on the plan, graph and storage.
 */
#ifndef WEIR_RT_COORD_H
#define WEIR_RT_COORD_H

#include "lib/error.h"
#include "runtime/engine/graph.h"
#include "runtime/storage/storage.h"

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

/* What executors need to take part in a snapshot. */
typedef struct rt_snap_req {
    uint64_t id;
    bool savepoint, stop, drain;
    char root[PATH_MAX]; /* absolute storage root that handle paths are relative to */
    char excl[64];       /* "chk-<id>" for checkpoints, "" for savepoints */
    char scheme[16];     /* storage scheme of root ("file") */
} rt_snap_req;

/* One entry of the statistics history. */
typedef enum rt_snap_status {
    RT_SNAP_IN_PROGRESS,
    RT_SNAP_COMPLETED,
    RT_SNAP_FAILED
} rt_snap_status;

typedef struct rt_snap_stat {
    uint64_t id;
    bool savepoint, stop;
    rt_snap_status status;
    int64_t trigger_ts, end_ts; /* epoch ms; end_ts 0 while in progress */
    uint32_t acks, nsubtasks;
    char path[PATH_MAX];         /* the snapshot directory */
    char failure[256];           /* why it failed */
    uint64_t state_bytes;        /* size of every file the snapshot references */
    uint64_t checkpointed_bytes; /* of which written for this snapshot (new files) */
} rt_snap_stat;

typedef struct rt_coord_opts {
    const char *job_id;         /* 32 hex digits */
    const char *checkpoint_dir; /* state.checkpoints.dir or NULL */
    const char *savepoint_dir;  /* state.savepoints.dir or NULL */
    int num_retained;
} rt_coord_opts;

typedef struct rt_coord rt_coord;

/* Creates the coordinator for `p` and its graph (both borrowed, must outlive it) and creates
 * <checkpoint dir>/<job id>. */
int rt_coord_new(const rt_plan *p, const rt_graph *g, const rt_coord_opts *o, rt_coord **out,
                 weir_error *err) WEIR_MUST_CHECK;
void rt_coord_free(rt_coord *c);

/* True when periodic checkpoints have somewhere to go. */
bool rt_coord_has_checkpoints(const rt_coord *c);

/*
 * Starts a snapshot: a checkpoint, or a savepoint into `target_dir` (NULL: state.savepoints.dir).
 * Fills *req for the executors. WEIR_ESTATE while another is pending; WEIR_EINVAL when a
 * savepoint has no directory or a checkpoint no state.checkpoints.dir.
 */
int rt_coord_begin(rt_coord *c, bool savepoint, bool stop, bool drain, const char *target_dir,
                   rt_snap_req *req, weir_error *err) WEIR_MUST_CHECK;

/* A subtask acknowledged `id` with its operators' states (uid -> object); takes `states`. */
void rt_coord_ack(rt_coord *c, uint64_t id, uint32_t subtask, json_t *states);

/* The pending snapshot's id (0: none), whether every subtask acknowledged it, its start. */
uint64_t rt_coord_pending(rt_coord *c, bool *all_acked, int64_t *started_ms, bool *savepoint,
                          bool *stop);

/* Writes the pending snapshot's `_metadata` and retires old checkpoints. `path` (may be NULL,
 * PATH_MAX bytes) gets the snapshot's directory. */
int rt_coord_complete(rt_coord *c, char *path, weir_error *err) WEIR_MUST_CHECK;

/* Drops the pending snapshot (if it is `id`, or any when `id` is 0) and its files. */
void rt_coord_abort(rt_coord *c, uint64_t id, const char *why);

/*
 * Recovery after a JobManager restart (what Flink's high-availability checkpoint store gives):
 * the newest completed checkpoint of this job id already in the checkpoint directory
 * (<dir>/<job id>/chk-<n>/_metadata) becomes the latest one, new checkpoints are numbered after
 * it, and retention covers it. Returns true and its directory in `path` (PATH_MAX bytes) when
 * there is one.
 */
bool rt_coord_recover(rt_coord *c, char *path, size_t size);

/* The latest completed checkpoint's directory ("" when none), copied into buf. */
void rt_coord_latest(rt_coord *c, char *buf, size_t size);
/* The id of the latest completed checkpoint (0: none). */
uint64_t rt_coord_latest_id(rt_coord *c);

/* Statistics: copies up to `max` history entries, newest first; returns how many. Counts go
 * to the out-parameters (any may be NULL). */
size_t rt_coord_stats(rt_coord *c, rt_snap_stat *out, size_t max, uint64_t *completed,
                      uint64_t *failed, uint64_t *in_progress);
/* The history entry of snapshot `id`; false when unknown. */
bool rt_coord_stat(rt_coord *c, uint64_t id, rt_snap_stat *out);

/*
 * Reads the `_metadata` of a checkpoint or savepoint (a directory or the file itself). *meta
 * (caller decrefs) and `root` (PATH_MAX bytes: where handle paths start). Errors name the path.
 */
int rt_snapshot_load(const char *path, json_t **meta, char *root, weir_error *err) WEIR_MUST_CHECK;

/* Checks that every operator state of `meta` maps to an operator of `p` (by uid), unless
 * `ignore_unclaimed`. */
int rt_snapshot_check_claimed(const rt_plan *p, const json_t *meta, const char *path,
                              bool ignore_unclaimed, weir_error *err) WEIR_MUST_CHECK;

#endif
