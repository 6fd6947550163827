/*
 * graph.c - chaining a plan's operators into the job graph (see graph.h).
 *
 * Layer: runtime/engine.
 */
#include "runtime/engine/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends the producers behind plan operator `src` to c's inputs: src itself, or every input
 * of a union (recursively). */
static int add_inputs(const rt_plan *p, rt_graph *g, rt_chain *c, uint32_t src, int depth)
{
    const rt_plan_op *op = &p->ops[src];
    if (op->type == RT_OP_UNION) {
        if (depth > RT_PLAN_MAX_OPERATORS)
            return WEIR_EINVAL;
        for (uint32_t i = 0; i < op->ninputs; i++) {
            int rc = add_inputs(p, g, c, (uint32_t)op->inputs[i], depth + 1);
            if (rc)
                return rc;
        }
        return 0;
    }
    rt_chain_input *n = realloc(c->inputs, (c->ninputs + 1) * sizeof(*n));
    if (!n)
        return WEIR_ENOMEM;
    c->inputs = n;
    uint32_t pc = (uint32_t)g->op_chain[src];
    n[c->ninputs++] = (rt_chain_input){.chain = pc, .op = src, .first = c->nchannels};
    c->nchannels += g->chains[pc].parallelism;
    return 0;
}

int rt_graph_build(const rt_plan *p, rt_graph *g)
{
    memset(g, 0, sizeof(*g));
    g->op_chain = calloc(p->nops ? p->nops : 1, sizeof(int));
    g->chains = calloc(p->nops ? p->nops : 1, sizeof(rt_chain));
    if (!g->op_chain || !g->chains) {
        rt_graph_free(g);
        return WEIR_ENOMEM;
    }
    for (uint32_t i = 0; i < p->nops; i++) {
        const rt_plan_op *op = &p->ops[i];
        if (op->type == RT_OP_UNION) {
            g->op_chain[i] = -1; /* no vertex: its consumers read its inputs */
            continue;
        }
        int c = -1;
        /* Any partitioning between two single subtasks is forward: chain them too (never
         * across a union: its consumer joins several inputs). */
        bool union_in = op->input >= 0 && p->ops[op->input].type == RT_OP_UNION;
        bool forward = op->input >= 0 && !union_in &&
                       (op->partition == RT_PART_FORWARD ||
                        (op->parallelism == 1 && p->ops[op->input].parallelism == 1));
        if (forward && p->ops[op->input].parallelism == op->parallelism) {
            rt_chain *ic = &g->chains[g->op_chain[op->input]];
            if (rt_plan_consumers(p, (uint32_t)op->input) == 1 &&
                ic->ops[ic->nops - 1] == (uint32_t)op->input)
                c = g->op_chain[op->input];
        }
        if (c < 0) {
            c = (int)g->nchains++;
            rt_chain *nc = &g->chains[c];
            if (!(nc->ops = calloc(p->nops, sizeof(uint32_t)))) {
                rt_graph_free(g);
                return WEIR_ENOMEM;
            }
            nc->parallelism = op->parallelism;
            nc->input_chain = -1;
            if (op->input >= 0) {
                int rc = add_inputs(p, g, nc, (uint32_t)op->input, 0);
                if (rc) {
                    rt_graph_free(g);
                    return rc;
                }
                nc->input_chain = (int)nc->inputs[0].chain;
            }
            snprintf(nc->id, sizeof(nc->id), "%s", op->uid);
            g->ntasks += op->parallelism;
            if (op->parallelism > g->max_slots)
                g->max_slots = op->parallelism;
        }
        g->chains[c].ops[g->chains[c].nops++] = i;
        g->op_chain[i] = c;
    }
    return 0;
}

void rt_graph_free(rt_graph *g)
{
    for (uint32_t c = 0; g->chains && c < g->nchains; c++) {
        free(g->chains[c].ops);
        free(g->chains[c].inputs);
    }
    free(g->chains);
    free(g->op_chain);
    memset(g, 0, sizeof(*g));
}

void rt_graph_chain_name(const rt_plan *p, const rt_chain *c, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < c->nops && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%s", i ? " -> " : "", p->ops[c->ops[i]].id);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}
