/*
 * graph.h - the job graph of a plan: operators chained into tasks (Flink's job vertices).
 *
 * Forward-connected operators of equal parallelism whose input has no other consumer share a
 * chain and run as direct calls in one thread. Every chain runs `parallelism` subtasks; subtask
 * i of every chain lives in slot i (Flink's default slot sharing), so a job needs as many slots
 * as its largest parallelism. The graph is a pure function of the plan: the JobManager, every
 * TaskManager and the local runner compute the same one.
 *
 * Layer: runtime/engine. Depends on the plan.
 */
#ifndef WEIR_RT_GRAPH_H
#define WEIR_RT_GRAPH_H

#include "runtime/plan/plan.h"

#include <stdint.h>

typedef struct rt_chain {
    uint32_t *ops; /* plan indexes in chain order */
    uint32_t nops;
    uint32_t parallelism;
    int input_chain; /* the chain feeding the head, -1 for sources */
    char id[33];     /* 32 hex digits: Flink's vertex id (the head operator's uid) */
} rt_chain;

typedef struct rt_graph {
    rt_chain *chains; /* topological order */
    uint32_t nchains;
    int *op_chain;      /* plan op -> chain */
    uint32_t ntasks;    /* subtasks over all chains */
    uint32_t max_slots; /* largest parallelism: slots the job needs */
} rt_graph;

/* Builds the graph of `p`. Returns 0 or WEIR_ENOMEM. Free with rt_graph_free(). */
int rt_graph_build(const rt_plan *p, rt_graph *g) WEIR_MUST_CHECK;
void rt_graph_free(rt_graph *g);

/* A chain's display name, as Flink names job vertices: operator ids joined by " -> ". Writes
 * into buf (always NUL-terminated). */
void rt_graph_chain_name(const rt_plan *p, const rt_chain *c, char *buf, size_t size);

#endif
