/*
 * graph.c - chaining a plan's operators into the job graph (see graph.h).
 *
 * Layer: runtime/engine.
 */
#include "runtime/engine/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        int c = -1;
        /* Any partitioning between two single subtasks is forward: chain them too. */
        bool forward =
            op->input >= 0 && (op->partition == RT_PART_FORWARD ||
                               (op->parallelism == 1 && p->ops[op->input].parallelism == 1));
        if (forward && p->ops[op->input].parallelism == op->parallelism) {
            uint32_t consumers = 0;
            for (uint32_t k = 0; k < p->nops; k++)
                consumers += p->ops[k].input == op->input;
            rt_chain *ic = &g->chains[g->op_chain[op->input]];
            if (consumers == 1 && ic->ops[ic->nops - 1] == (uint32_t)op->input)
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
            nc->input_chain = op->input >= 0 ? g->op_chain[op->input] : -1;
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
    for (uint32_t c = 0; g->chains && c < g->nchains; c++)
        free(g->chains[c].ops);
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
