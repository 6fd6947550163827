/*
 * blackhole.c - the blackhole sink: accepts every row and drops it (Flink's 'blackhole'), for
 * benchmarks and for jobs whose effect is elsewhere.
 *
 * Layer: runtime/connectors.
 */
#include "runtime/connectors/connector.h"

#include <stdlib.h>
#include <string.h>

typedef struct blackhole {
    uint64_t rows;
} blackhole;

static int bh_create(const rt_schema *schema, const json_t *options, uint32_t subtask,
                     uint32_t parallelism, void **self, weir_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)options, k, v)
    {
        if (strcmp(k, "sink.parallelism") != 0)
            return weir_error_set(err, WEIR_EINVAL, "Unsupported options found for 'blackhole': %s",
                                  k);
    }
    blackhole *b = calloc(1, sizeof(*b));
    if (!b)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    *self = b;
    return 0;
}

static int bh_write(void *self, const rt_batch *b, weir_error *err)
{
    ((blackhole *)self)->rows += b->n;
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
