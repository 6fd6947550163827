/*
 * specdiff.h - classifies what changed between the last reconciled spec and the current one,
 * with upstream's diff classes (reference §1.2-1.3): IGNORE < SCALE < UPGRADE <
 * SAVEPOINT_REDEPLOY; the result is the largest class over the changed fields.
 *
 * Layer: operator/controller (pure logic over spec JSON; no I/O).
 */
#ifndef WEIR_SPECDIFF_H
#define WEIR_SPECDIFF_H

#include <jansson.h>
#include <stdbool.h>

enum spec_diff {
    SPEC_DIFF_IGNORE = 0,
    SPEC_DIFF_SCALE = 1,
    SPEC_DIFF_UPGRADE = 2,
    SPEC_DIFF_SAVEPOINT_REDEPLOY = 3
};

struct specdiff_options {
    bool standalone; /* spec.mode == standalone: taskManager.replicas is SCALE */
    bool reactive;   /* scheduler-mode reactive: job.parallelism is SCALE too */
};

/* "IGNORE", "SCALE", "UPGRADE", "SAVEPOINT_REDEPLOY". */
const char *specdiff_name(enum spec_diff d);

/*
 * Compares two specs (borrowed; either may be NULL = empty). Returns the aggregate class and,
 * when `changes` is non-NULL, a new JSON array (caller decrefs) of
 * {"path": "job.parallelism", "type": "UPGRADE", "old": ..., "new": ...} in path order.
 * JSON null and an absent field are the same. flinkConfiguration is compared key by key after
 * flattening nested objects to dotted keys, so flat and nested spellings compare equal.
 */
enum spec_diff specdiff_compute(const json_t *old_spec, const json_t *new_spec,
                                const struct specdiff_options *opts, json_t **changes);

/*
 * A one-line summary for the SpecChanged event, e.g.
 * "UPGRADE change(s) detected (image: a -> b, job.parallelism: 2 -> 4)". Truncated to cap.
 */
void specdiff_describe(enum spec_diff d, const json_t *changes, char *buf, size_t cap);

#endif
