/*
 * test_graph.c - the job graph and the executor over it: chaining, the input edges of a union's
 * consumer (flattened, numbered channels, an input read twice), and runs of small jobs whose
 * consumer reads a union: every row of every input arrives, end of input and the final
 * watermark only after all inputs ended, and a stop-with-savepoint barrier aligned over all
 * input channels, acknowledged once by every subtask.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/clock.h"
#include "runtime/engine/exec.h"
#include "runtime/engine/graph.h"
#include "runtime/engine/operator.h"
#include "runtime/plan/plan.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A datagen source `id` of (n BIGINT, s VARCHAR) at parallelism `par`; `rows` "" is unbounded. */
#define SRC(id, par, rows)                                                                         \
    "{\"id\":\"" id "\",\"type\":\"source\",\"parallelism\":" par ",\"connector\":\"datagen\","    \
    "\"options\":{" rows "},\"schema\":[{\"name\":\"n\",\"type\":\"BIGINT\"},"                     \
    "{\"name\":\"s\",\"type\":\"VARCHAR(8)\"}]}"
#define ROWS(n)   "\"number-of-rows\":\"" n "\""
#define UNBOUNDED "\"rows-per-second\":\"2000\""
#define CALC(id, in, par)                                                                          \
    "{\"id\":\"" id "\",\"type\":\"calc\",\"input\":\"" in "\",\"parallelism\":" par ","           \
    "\"filter\":{\"kind\":\"literal\",\"type\":\"BOOLEAN\",\"value\":true}}"
#define UNION(id, ...) "{\"id\":\"" id "\",\"type\":\"union\",\"inputs\":[" __VA_ARGS__ "]}"
#define SINK(in, par)                                                                              \
    "{\"id\":\"out\",\"type\":\"sink\",\"input\":\"" in "\",\"parallelism\":" par ","              \
    "\"connector\":\"blackhole\"}"
#define PLAN(...) "{\"version\":1,\"operators\":[" __VA_ARGS__ "]}"

static rt_plan *load(const char *text)
{
    rt_plan *p = NULL;
    weir_error err = {0};
    if (rt_plan_load(text, strlen(text), "test", 1, &p, &err))
        fail_msg("load: %s", err.msg);
    return p;
}

static int op_index(const rt_plan *p, const char *id)
{
    for (uint32_t i = 0; i < p->nops; i++)
        if (!strcmp(p->ops[i].id, id))
            return (int)i;
    fail_msg("no operator %s", id);
    return -1;
}

/* The chain of operator `id`. */
static const rt_chain *chain_of(const rt_plan *p, const rt_graph *g, const char *id)
{
    int c = g->op_chain[op_index(p, id)];
    assert_true(c >= 0);
    return &g->chains[c];
}

/* A single input: chained when forward, an edge otherwise; as before unions. */
static void test_single_input(void **state)
{
    (void)state;
    rt_plan *p = load(PLAN(SRC("a", "2", ROWS("10")) "," CALC("c", "a", "2") "," SINK("c", "3")));
    rt_graph g;
    assert_int_equal(rt_graph_build(p, &g), 0);
    assert_int_equal(g.nchains, 2);
    assert_int_equal(g.chains[0].nops, 2); /* a -> c */
    assert_int_equal(g.chains[0].input_chain, -1);
    assert_int_equal(g.chains[0].ninputs, 0);
    assert_int_equal(g.chains[1].input_chain, 0);
    assert_int_equal(g.chains[1].ninputs, 1);
    assert_int_equal(g.chains[1].inputs[0].chain, 0);
    assert_int_equal(g.chains[1].inputs[0].op, 1);
    assert_int_equal(g.chains[1].inputs[0].first, 0);
    assert_int_equal(g.chains[1].nchannels, 2);
    assert_int_equal(g.ntasks, 5);
    assert_int_equal(g.max_slots, 3);
    rt_graph_free(&g);
    rt_plan_free(p);
}

/* A union is no vertex: its consumer heads a chain with one input edge per union input (unions
 * of unions flattened in order), channels numbered edge by edge; never chained, even forward. */
static void test_union_edges(void **state)
{
    (void)state;
    rt_plan *p = load(PLAN(
        SRC("a", "2", ROWS("10")) "," SRC("b", "3", ROWS("10")) "," SRC("d", "1", ROWS("10")) "," CALC(
            "ca", "a",
            "2") "," UNION("u1",
                           "\"ca\",\"b\"") "," UNION("u2",
                                                     "\"u1\",\"d\",\"ca\"") "," CALC("c", "u2",
                                                                                     "2") "," SINK("c",
                                                                                                   "2")));
    rt_graph g;
    assert_int_equal(rt_graph_build(p, &g), 0);
    assert_int_equal(g.op_chain[op_index(p, "u1")], -1);
    assert_int_equal(g.op_chain[op_index(p, "u2")], -1);
    const rt_chain *a = chain_of(p, &g, "a"), *c = chain_of(p, &g, "c");
    assert_int_equal(a->nops, 2); /* a -> ca: ca's consumers are unions, so ca ends the chain */
    assert_ptr_equal(chain_of(p, &g, "ca"), a);
    assert_int_equal(c->nops, 2); /* c -> out */
    assert_int_equal(p->ops[op_index(p, "c")].partition, RT_PART_REBALANCE);
    assert_int_equal(c->ninputs, 4); /* ca, b (u1), d, ca again */
    uint32_t want_chain[4] = {(uint32_t)(a - g.chains), (uint32_t)(chain_of(p, &g, "b") - g.chains),
                              (uint32_t)(chain_of(p, &g, "d") - g.chains),
                              (uint32_t)(a - g.chains)};
    uint32_t want_first[4] = {0, 2, 5, 6};
    for (int k = 0; k < 4; k++) {
        assert_int_equal(c->inputs[k].chain, want_chain[k]);
        assert_int_equal(c->inputs[k].first, want_first[k]);
    }
    assert_int_equal(c->inputs[0].op, op_index(p, "ca"));
    assert_int_equal(c->inputs[2].op, op_index(p, "d"));
    assert_int_equal(c->nchannels, 8);
    assert_int_equal(c->input_chain, (int)want_chain[0]);
    rt_graph_free(&g);
    rt_plan_free(p);

    /* equal parallelism everywhere: forward by subtask, still an exchange */
    p = load(PLAN(SRC("a", "2", ROWS("10")) "," SRC("b", "2", ROWS("10")) "," UNION(
        "u", "\"a\",\"b\"") "," SINK("u", "2")));
    assert_int_equal(rt_graph_build(p, &g), 0);
    assert_int_equal(p->ops[3].partition, RT_PART_FORWARD);
    assert_int_equal(g.nchains, 3);
    assert_int_equal(g.chains[2].ninputs, 2);
    assert_int_equal(g.chains[2].nchannels, 4);
    rt_graph_free(&g);
    rt_plan_free(p);
}

typedef struct acks {
    _Atomic uint32_t n;
    _Atomic uint32_t seen[8][4]; /* [chain][subtask]: acknowledgements of snapshot 1 */
} acks;

static void on_ack(void *ud, uint64_t id, uint32_t chain, uint32_t subtask, json_t *states)
{
    acks *a = ud;
    json_decref(states);
    if (id == 1 && chain < 8 && subtask < 4)
        atomic_fetch_add(&a->seen[chain][subtask], 1);
    atomic_fetch_add(&a->n, 1);
}

static rt_exec *run(const rt_plan *p, const rt_graph *g, acks *a, char *dir)
{
    rt_exec_config cfg = {.local_dir = dir,
                          .state_backend = "hashmap",
                          .state_cache_bytes = 1 << 20,
                          .hooks = {.ud = a, .ack = on_ack}};
    rt_exec *x = NULL;
    weir_error err = {0};
    if (rt_exec_new(p, g, &cfg, &x, &err) || rt_exec_start(x, &err))
        fail_msg("exec: %s", err.msg);
    return x;
}

static void wait_done(rt_exec *x)
{
    for (int i = 0; i < 3000 && !rt_exec_done(x); i++)
        clock_sleep_ms(10);
    weir_error e = {0};
    if (rt_exec_failed(x, &e))
        fail_msg("job failed: %s", e.msg);
    assert_true(rt_exec_done(x));
}

/* Bounded inputs at different parallelisms, one read twice: the consumer gets every row of
 * every edge, ends once all ended, and its watermark is the final one only then. */
static void test_run_bounded(void **state)
{
    (void)state;
    char dir[] = "/tmp/weir-test-graph-XXXXXX";
    assert_non_null(mkdtemp(dir));
    rt_plan *p = load(PLAN(SRC("a", "1", ROWS("1000")) "," SRC("b", "2", ROWS("700")) "," UNION(
        "u", "\"a\",\"b\",\"a\"") "," CALC("c", "u", "2") "," SINK("c", "2")));
    rt_graph g;
    assert_int_equal(rt_graph_build(p, &g), 0);
    acks a = {0};
    rt_exec *x = run(p, &g, &a, dir);
    wait_done(x);
    uint32_t cc = (uint32_t)g.op_chain[op_index(p, "c")];
    rt_exec_counts n;
    rt_exec_chain_counts(x, cc, &n);
    assert_int_equal(n.rows_in, 1000 + 700 + 1000);
    assert_int_equal(n.rows_out, 1000 + 700 + 1000);
    assert_int_equal(n.finished, 2);
    assert_true(n.watermark == RT_WATERMARK_MAX);
    rt_exec_free(x);
    rt_graph_free(&g);
    rt_plan_free(p);
    rmdir(dir);
}

/* Unbounded inputs, stop with a savepoint: the barrier reaches the consumer through every
 * input channel; every subtask of every chain acknowledges it once and the job stops. */
static void test_run_barrier(void **state)
{
    (void)state;
    char dir[] = "/tmp/weir-test-graph-XXXXXX";
    assert_non_null(mkdtemp(dir));
    rt_plan *p = load(PLAN(SRC("a", "2", UNBOUNDED) "," SRC("b", "1", UNBOUNDED) "," UNION(
        "u", "\"a\",\"b\"") "," CALC("c", "u", "2") "," SINK("c", "2")));
    rt_graph g;
    assert_int_equal(rt_graph_build(p, &g), 0);
    acks a = {0};
    rt_exec *x = run(p, &g, &a, dir);
    clock_sleep_ms(100);
    rt_snap_req r = {.id = 1, .savepoint = true, .stop = true};
    snprintf(r.root, sizeof(r.root), "%s", dir);
    snprintf(r.scheme, sizeof(r.scheme), "file");
    rt_exec_trigger(x, &r);
    wait_done(x);
    uint32_t cc = (uint32_t)g.op_chain[op_index(p, "c")];
    rt_exec_counts n;
    rt_exec_chain_counts(x, cc, &n);
    assert_true(n.rows_in > 0);
    assert_true(n.watermark != RT_WATERMARK_MAX); /* stopped without draining */
    for (uint32_t c = 0; c < g.nchains; c++)
        for (uint32_t s = 0; s < g.chains[c].parallelism; s++)
            assert_int_equal(atomic_load(&a.seen[c][s]), 1);
    assert_int_equal(atomic_load(&a.n), g.ntasks);
    rt_exec_free(x);
    rt_graph_free(&g);
    rt_plan_free(p);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_input),
        cmocka_unit_test(test_union_edges),
        cmocka_unit_test(test_run_bounded),
        cmocka_unit_test(test_run_barrier),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
