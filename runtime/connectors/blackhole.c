/*
 * blackhole.c - the blackhole sink: accepts every row and drops it (Flink's 'blackhole'), for
 * benchmarks and for jobs whose effect is elsewhere.
 *
 * Weir's one extra option, 'weir.throttle.rows-per-second', makes it a slow sink (per subtask):
 * a test and demo aid for backpressure.
 *
 * Layer: runtime/connectors.
 */
#include "runtime/connectors/connector.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct blackhole {
    uint64_t rows;
    double rate; /* rows per second, 0: unthrottled */
    struct timespec start;
} blackhole;

static int bh_create(const rt_schema *schema, const json_t *options, uint32_t subtask,
                     uint32_t parallelism, void **self, weir_error *err)
{
    const char *k;
    json_t *v;
    double rate = 0;
    json_object_foreach((json_t *)options, k, v)
    {
        if (strcmp(k, "weir.throttle.rows-per-second") == 0) {
            const char *s = json_string_value(v);
            char *end = NULL;
            rate = s ? strtod(s, &end) : -1;
            if (!s || !*s || *end || !(rate > 0) || rate > 1e12)
                return weir_error_set(err, WEIR_EINVAL,
                                      "'weir.throttle.rows-per-second' must be a positive number");
        } else if (strcmp(k, "sink.parallelism") != 0)
            return weir_error_set(err, WEIR_EINVAL, "Unsupported options found for 'blackhole': %s",
                                  k);
    }
    blackhole *b = calloc(1, sizeof(*b));
    if (!b)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    b->rate = rate;
    clock_gettime(CLOCK_MONOTONIC, &b->start);
    *self = b;
    return 0;
}

static int bh_write(void *self, const rt_batch *b, weir_error *err)
{
    blackhole *bh = self;
    bh->rows += b->n;
    if (bh->rate > 0) {
        /* sleep until the rows so far fit the rate */
        double due = (double)bh->rows / bh->rate;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double spent = (double)(now.tv_sec - bh->start.tv_sec) +
                       (double)(now.tv_nsec - bh->start.tv_nsec) / 1e9;
        if (due > spent) {
            double d = due - spent;
            struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
    return 0;
}

static int bh_flush(void *self, weir_error *err)
{
    return 0;
}

static void bh_destroy(void *self)
{
    free(self);
}

const rt_sink_ops rt_blackhole_sink = {
    .name = "blackhole",
    .create = bh_create,
    .write = bh_write,
    .flush = bh_flush,
    .destroy = bh_destroy,
};
