/*
 * connector.c - the registry of source and sink connectors.
 *
 * Layer: runtime/connectors.
 */
#include "runtime/connectors/connector.h"

#include <string.h>

extern const rt_source_ops rt_datagen_source;
extern const rt_sink_ops rt_print_sink;
extern const rt_sink_ops rt_blackhole_sink;

static const rt_source_ops *const sources[] = {&rt_datagen_source};
static const rt_sink_ops *const sinks[] = {&rt_print_sink, &rt_blackhole_sink};

const rt_source_ops *rt_connector_source(const char *name)
{
    for (size_t i = 0; name && i < sizeof(sources) / sizeof(sources[0]); i++)
        if (strcmp(sources[i]->name, name) == 0)
            return sources[i];
    return NULL;
}

const rt_sink_ops *rt_connector_sink(const char *name)
{
    for (size_t i = 0; name && i < sizeof(sinks) / sizeof(sinks[0]); i++)
        if (strcmp(sinks[i]->name, name) == 0)
            return sinks[i];
    return NULL;
}
