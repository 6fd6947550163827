/*
 * graph.h - the job graph of a plan: operators chained into tasks (Flink's job vertices).
 *
 * Forward-connected operators of equal parallelism whose input has no other consumer share a
 * chain and run as direct calls in one thread. Every chain runs `parallelism` subtasks; subtask
 * i of every chain lives in slot i (Flink's default slot sharing), so a job needs as many slots
 * as its largest parallelism. The graph is a pure function of the plan: the JobManager, every
 * TaskManager and the local runner compute the same one.
 *
 * A union (RT_OP_UNION) is no vertex, as in Flink: an operator reading a union heads a chain
 * whose inputs are all the union's inputs (each an exchange, never a chained call), so its
 * subtasks receive from every producer subtask of every input.
 *
 * Layer: runtime/engine. Depends on the plan.
 */
#ifndef WEIR_RT_GRAPH_H
#define WEIR_RT_GRAPH_H

#include "runtime/plan/plan.h"

#include <stdint.h>

/* One input edge of a chain: the rows of another chain's tail. */
typedef struct rt_chain_input {
    uint32_t chain; /* the producing chain */
    uint32_t op;    /* its last operator (plan index), whose output travels */
    uint32_t first; /* index of the producer's subtask 0 among the consumer's input channels */
} rt_chain_input;

typedef struct rt_chain {
    uint32_t *ops; /* plan indexes in chain order */
    uint32_t nops;
    uint32_t parallelism;
    int input_chain; /* the chain feeding the head (the first input of a union), -1 for sources */
    /* Every input edge: one, or one per input of a union the head reads (unions of unions
     * flattened, in plan order; an operator read twice is two edges). A consumer subtask has
     * one channel per producer subtask of every edge: `nchannels` in all, numbered edge by
     * edge (rt_chain_input.first + producer subtask). */
    rt_chain_input *inputs;
    uint32_t ninputs;
    uint32_t nchannels;
    char id[33]; /* 32 hex digits: Flink's vertex id (the head operator's uid) */
} rt_chain;

typedef struct rt_graph {
    rt_chain *chains; /* topological order */
    uint32_t nchains;
    int *op_chain;      /* plan op -> chain (-1 for unions) */
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
