/*
 * plan.c - loading and checking job plans (format: docs/plan.md).
 *
 * The loader walks the document once, in operator order, and derives every operator's output
 * schema from its input's, so that each column reference, key and expression is checked
 * against the types it will really see. Errors name the JSON path.
 *
 * Layer: runtime/plan.
 */
#include "runtime/plan/plan.h"
#include "runtime/types/decimal.h"

#include "lib/json.h"
#include "runtime/connectors/connector.h"
#include "runtime/expr/expr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool rt_plan_op_stateful(const rt_plan_op *op)
{
    return op->type == RT_OP_SOURCE || op->type == RT_OP_WINDOW_AGG || op->type == RT_OP_GROUP_AGG;
}

void rt_plan_default_idle_timeout(rt_plan *p, int64_t ms)
{
    for (uint32_t i = 0; i < p->nops; i++)
        if (p->ops[i].type == RT_OP_WATERMARK && p->ops[i].idle_timeout_ms == 0)
            p->ops[i].idle_timeout_ms = ms;
}

const char *rt_op_type_name(rt_op_type t)
{
    static const char *const n[] = {"source",
                                    "calc",
                                    "watermark",
                                    "window_aggregate",
                                    "group_aggregate",
                                    "sink",
                                    "union",
                                    "local_window_aggregate",
                                    "local_group_aggregate"};
    return (unsigned)t < sizeof(n) / sizeof(n[0]) ? n[t] : "?";
}

uint32_t rt_plan_consumers(const rt_plan *p, uint32_t i)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < p->nops; k++) {
        n += p->ops[k].input == (int)i;
        for (uint32_t j = 0; j < p->ops[k].ninputs; j++)
            n += p->ops[k].inputs[j] == (int)i;
    }
    return n;
}

const char *rt_partition_name(rt_partition p)
{
    static const char *const n[] = {"forward", "hash", "rebalance", "broadcast"};
    return (unsigned)p < 4 ? n[p] : "?";
}

static const char *const agg_names[] = {"COUNT", "SUM", "MIN", "MAX", "AVG"};

/* --- helpers ------------------------------------------------------------------------------ */

#define FAIL(code, ...)                                                                            \
    do {                                                                                           \
        rc = weir_error_set(err, code, __VA_ARGS__);                                               \
        goto done;                                                                                 \
    } while (0)

/* Checks that `obj` has only the listed keys. */
static int only_keys(const json_t *obj, const char *path, const char *const *allowed,
                     weir_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, k) == 0)
                ok = true;
        if (!ok)
            return weir_error_set(err, WEIR_EPARSE, "%s: unknown field '%s'", path, k);
    }
    return 0;
}

/* A column reference: an index or a name in `s`. */
static int column_ref(const json_t *v, const rt_schema *s, const char *path, uint32_t *out,
                      weir_error *err)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || i >= (json_int_t)s->ncols)
            return weir_error_set(err, WEIR_EINVAL, "%s: column %lld out of range (input has %u)",
                                  path, (long long)i, s->ncols);
        *out = (uint32_t)i;
        return 0;
    }
    if (json_is_string(v)) {
        int i = rt_schema_find(s, json_string_value(v));
        if (i < 0)
            return weir_error_set(err, WEIR_EINVAL, "%s: no input column named '%s'", path,
                                  json_string_value(v));
        *out = (uint32_t)i;
        return 0;
    }
    return weir_error_set(err, WEIR_EPARSE, "%s: expected a column index or name", path);
}

static int column_list(const json_t *arr, const rt_schema *s, const char *path, uint32_t **out,
                       uint32_t *n, weir_error *err)
{
    if (!json_is_array(arr))
        return weir_error_set(err, WEIR_EPARSE, "%s: expected an array of columns", path);
    size_t len = json_array_size(arr);
    uint32_t *v = calloc(len ? len : 1, sizeof(uint32_t));
    if (!v)
        return WEIR_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        char p[256];
        snprintf(p, sizeof(p), "%s[%zu]", path, i);
        int rc = column_ref(json_array_get(arr, i), s, p, &v[i], err);
        if (rc) {
            free(v);
            return rc;
        }
    }
    *out = v;
    *n = (uint32_t)len;
    return 0;
}

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int get_ms(const json_t *op, const char *key, const char *path, int64_t def, int64_t min,
                  int64_t *out, weir_error *err)
{
    json_t *v = json_object_get(op, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min)
        return weir_error_set(err, WEIR_EINVAL, "%s.%s: expected an integer >= %lld", path, key,
                              (long long)min);
    *out = json_integer_value(v);
    return 0;
}

/* Stable uid: FNV-1a (2 x 64 bit) over the operator's identity-relevant content. */
static void hash_into(uint64_t h[2], const char *s)
{
    for (; *s; s++) {
        h[0] = (h[0] ^ (unsigned char)*s) * 0x100000001b3ULL;
        h[1] = (h[1] ^ (unsigned char)*s) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
    }
    h[0] = (h[0] ^ 0xff) * 0x100000001b3ULL;
}

static int derive_uid(rt_plan *p, rt_plan_op *op)
{
    json_t *u = json_object_get(op->json, "uid");
    if (json_is_string(u)) {
        snprintf(op->uid, sizeof(op->uid), "%s", json_string_value(u));
        return 0;
    }
    /* A global aggregation reading a local one has the uid the one-phase aggregation would
     * have: the local's definition under the global's type, chained to the local's input. Its
     * state is the same, so a savepoint restores whichever way the aggregation is split. */
    const rt_plan_op *def = op->global ? &p->ops[op->input] : op;
    json_t *c = json_deep_copy(def->json);
    if (!c)
        return WEIR_ENOMEM;
    if (op->global) {
        json_object_set_new(c, "type", json_string(rt_op_type_name(op->type)));
        json_object_del(c, "flushRows");
        json_object_del(c, "flushMs");
    }
    static const char *const skip[] = {"id",      "input", "inputs",      "parallelism", "uid",
                                       "options", "name",  "description", NULL};
    for (const char *const *s = skip; *s; s++)
        json_object_del(c, *s);
    /* A source's projection is not part of its identity: its state (the position) does not
     * depend on which columns it produces, so a query reading one more column restores. */
    if (op->type == RT_OP_SOURCE)
        json_object_del(c, "projection");
    char *text = json_dump_stable(c);
    json_decref(c);
    if (!text)
        return WEIR_ENOMEM;
    uint64_t h[2] = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL};
    hash_into(h, text);
    free(text);
    if (def->input >= 0)
        hash_into(h, p->ops[def->input].uid);
    for (uint32_t i = 0; i < def->ninputs; i++) /* a union: its inputs' uids, in order */
        hash_into(h, p->ops[def->inputs[i]].uid);
    snprintf(op->uid, sizeof(op->uid), "%016llx%016llx", (unsigned long long)h[0],
             (unsigned long long)h[1]);
    /* An operator identical to an earlier one with the same input (two equal branches of a
     * UNION ALL, two equal INSERTs) is told apart by its occurrence, in plan order, as Flink's
     * generated hashes are by topology; the first one keeps the plain uid. */
    for (int k = 2; k < 1000; k++) {
        bool taken = false;
        for (const rt_plan_op *o = p->ops; o < op && !taken; o++)
            taken = strcmp(o->uid, op->uid) == 0;
        if (!taken)
            break;
        uint64_t h2[2] = {h[0], h[1]};
        char occ[16];
        snprintf(occ, sizeof(occ), "#%d", k);
        hash_into(h2, occ);
        snprintf(op->uid, sizeof(op->uid), "%016llx%016llx", (unsigned long long)h2[0],
                 (unsigned long long)h2[1]);
    }
    return 0;
}

/* --- per-operator loaders ------------------------------------------------------------------ */

static int load_schema(const json_t *arr, const char *path, rt_schema **out, weir_error *err)
{
    int rc = 0;
    rt_schema *s = NULL;
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        FAIL(WEIR_EPARSE, "%s: expected a non-empty array of {\"name\", \"type\"}", path);
    s = rt_schema_new((uint32_t)json_array_size(arr));
    if (!s)
        FAIL(WEIR_ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *c = json_array_get(arr, i);
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *type = json_string_value(json_object_get(c, "type"));
        if (!json_is_object(c) || !name || !type)
            FAIL(WEIR_EPARSE, "%s[%zu]: expected {\"name\": string, \"type\": string}", path, i);
        weir_error te = {0};
        if (rt_type_parse(type, &s->types[i], &te))
            FAIL(WEIR_ETYPE, "%s[%zu].type: %s", path, i, te.msg);
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->names[j], name) == 0)
                FAIL(WEIR_EDUPLICATE, "%s[%zu]: duplicate column name '%s'", path, i, name);
        if (!(s->names[i] = strdup(name)))
            FAIL(WEIR_ENOMEM, "out of memory");
    }
    *out = s;
    s = NULL;
done:
    rt_schema_free(s);
    return rc;
}

/* A source's optional "projection" (push-down): distinct indexes into its declared schema, in
 * output order. Sets op->out to those columns (all declared ones without a projection). */
static int load_source_projection(rt_plan_op *op, const rt_source_ops *so, const char *path,
                                  weir_error *err)
{
    int rc = 0;
    const rt_schema *d = op->declared;
    const json_t *pj = json_object_get(op->json, "projection");
    if (pj) {
        if (!json_is_array(pj) || json_array_size(pj) == 0)
            FAIL(WEIR_EPARSE,
                 "%s.projection: expected a non-empty array of declared column indexes", path);
        if (!so->create_projected)
            FAIL(WEIR_EUNSUPPORTED,
                 "%s.projection: connector '%s' does not support projection push-down", path,
                 op->connector);
        if (json_array_size(pj) > d->ncols)
            FAIL(WEIR_EINVAL, "%s.projection: %zu columns, but the schema declares only %u", path,
                 json_array_size(pj), d->ncols);
        op->nscan_cols = (uint32_t)json_array_size(pj);
        op->scan_cols = calloc(op->nscan_cols, sizeof(uint32_t));
        if (!op->scan_cols)
            FAIL(WEIR_ENOMEM, "out of memory");
        for (uint32_t j = 0; j < op->nscan_cols; j++) {
            json_t *v = json_array_get(pj, j);
            if (!json_is_integer(v))
                FAIL(WEIR_EPARSE, "%s.projection[%u]: expected the index of a declared column",
                     path, j);
            json_int_t x = json_integer_value(v);
            if (x < 0 || x >= (json_int_t)d->ncols)
                FAIL(WEIR_EINVAL,
                     "%s.projection[%u]: column %lld out of range (the schema declares %u)", path,
                     j, (long long)x, d->ncols);
            for (uint32_t k = 0; k < j; k++)
                if (op->scan_cols[k] == (uint32_t)x)
                    FAIL(WEIR_EDUPLICATE,
                         "%s.projection[%u]: column %lld ('%s') is already projected at [%u]", path,
                         j, (long long)x, d->names[x], k);
            op->scan_cols[j] = (uint32_t)x;
        }
    }
    uint32_t n = op->scan_cols ? op->nscan_cols : d->ncols;
    op->out = rt_schema_new(n);
    if (!op->out)
        FAIL(WEIR_ENOMEM, "out of memory");
    for (uint32_t j = 0; j < n; j++) {
        uint32_t c = op->scan_cols ? op->scan_cols[j] : j;
        op->out->types[j] = d->types[c];
        if (!(op->out->names[j] = strdup(d->names[c])))
            FAIL(WEIR_ENOMEM, "out of memory");
    }
done:
    return rc;
}

int rt_plan_source_create(const rt_plan_op *op, uint32_t subtask, void **self, weir_error *err)
{
    const rt_source_ops *so = rt_connector_source(op->connector);
    if (!so)
        return weir_error_set(err, WEIR_EUNSUPPORTED, "no source connector '%s'", op->connector);
    if (op->scan_cols) {
        if (!so->create_projected)
            return weir_error_set(err, WEIR_EUNSUPPORTED,
                                  "connector '%s' does not support projection push-down",
                                  op->connector);
        return so->create_projected(op->declared, op->scan_cols, op->nscan_cols, op->options,
                                    subtask, op->parallelism, self, err);
    }
    return so->create(op->declared, op->options, subtask, op->parallelism, self, err);
}

static int load_options(rt_plan_op *op, const char *path, weir_error *err)
{
    json_t *o = json_object_get(op->json, "options");
    int rc = 0;
    op->connector = xstrdup(json_string_value(json_object_get(op->json, "connector")));
    if (!op->connector)
        FAIL(WEIR_EPARSE, "%s.connector: expected a string", path);
    op->options = json_object();
    if (!op->options)
        FAIL(WEIR_ENOMEM, "out of memory");
    if (o && !json_is_object(o))
        FAIL(WEIR_EPARSE, "%s.options: expected an object of strings", path);
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (strcmp(k, "connector") == 0)
            continue;
        json_t *sv = NULL;
        if (json_is_string(v))
            sv = json_incref(v);
        else if (json_is_integer(v) || json_is_real(v) || json_is_boolean(v)) {
            /* Be lenient as YAML is: numbers and booleans become their text. */
            char buf[64];
            if (json_is_integer(v))
                snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
            else if (json_is_real(v))
                snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
            else
                snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "true" : "false");
            sv = json_string(buf);
        } else
            FAIL(WEIR_EPARSE, "%s.options.%s: expected a string value", path, k);
        if (json_object_set_new(op->options, k, sv))
            FAIL(WEIR_ENOMEM, "out of memory");
    }
done:
    return rc;
}

static int load_calc(rt_plan_op *op, const rt_schema *in, const char *path, weir_error *err)
{
    int rc = 0;
    rt_expr *e = NULL;
    char p[256];
    op->filter = json_object_get(op->json, "filter");
    if (op->filter && json_is_null(op->filter))
        op->filter = NULL;
    if (op->filter) {
        snprintf(p, sizeof(p), "%s.filter", path);
        if ((rc = rt_expr_compile(op->filter, in->types, in->ncols, p, &e, err)))
            goto done;
        if (rt_expr_type(e).kind != RT_BOOLEAN)
            FAIL(WEIR_ETYPE, "%s: a filter must be BOOLEAN, not %s", p,
                 rt_kind_name((rt_kind)rt_expr_type(e).kind));
        rt_expr_free(e);
        e = NULL;
    }
    op->projection = json_object_get(op->json, "projection");
    if (!op->projection) {
        /* Filter only: the output is the input. */
        op->out = rt_schema_new(in->ncols);
        if (!op->out)
            FAIL(WEIR_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < in->ncols; i++) {
            op->out->types[i] = in->types[i];
            if (!(op->out->names[i] = strdup(in->names[i])))
                FAIL(WEIR_ENOMEM, "out of memory");
        }
        goto done;
    }
    if (!json_is_array(op->projection) || json_array_size(op->projection) == 0)
        FAIL(WEIR_EPARSE, "%s.projection: expected a non-empty array of {\"name\", \"expr\"}",
             path);
    op->out = rt_schema_new((uint32_t)json_array_size(op->projection));
    if (!op->out)
        FAIL(WEIR_ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(op->projection); i++) {
        json_t *item = json_array_get(op->projection, i);
        const char *name = json_string_value(json_object_get(item, "name"));
        json_t *ex = json_object_get(item, "expr");
        if (!name || !ex)
            FAIL(WEIR_EPARSE, "%s.projection[%zu]: expected {\"name\": string, \"expr\": {...}}",
                 path, i);
        snprintf(p, sizeof(p), "%s.projection[%zu].expr", path, i);
        if ((rc = rt_expr_compile(ex, in->types, in->ncols, p, &e, err)))
            goto done;
        op->out->types[i] = rt_expr_type(e);
        rt_expr_free(e);
        e = NULL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(op->out->names[j], name) == 0)
                FAIL(WEIR_EDUPLICATE, "%s.projection[%zu]: duplicate column name '%s'", path, i,
                     name);
        if (!(op->out->names[i] = strdup(name)))
            FAIL(WEIR_ENOMEM, "out of memory");
    }
done:
    rt_expr_free(e);
    return rc;
}

static int agg_type(rt_agg_fn fn, const rt_type *in, rt_type *out, const char *path,
                    weir_error *err)
{
    if (fn == RT_AGG_COUNT) {
        *out = rt_type_of(RT_BIGINT);
        out->nullable = 0;
        return 0;
    }
    if ((fn == RT_AGG_SUM || fn == RT_AGG_AVG) && !rt_type_is_numeric(*in))
        return weir_error_set(err, WEIR_ETYPE, "%s: %s needs a numeric argument, not %s", path,
                              agg_names[fn], rt_kind_name((rt_kind)in->kind));
    if ((fn == RT_AGG_MIN || fn == RT_AGG_MAX) && rt_type_phys(*in) == RT_PHYS_STR)
        return weir_error_set(err, WEIR_EUNSUPPORTED, "%s: %s over strings is not supported yet",
                              path, agg_names[fn]);
    *out = *in;
    out->nullable = 1;
    out->rowtime = 0;
    out->proctime = 0;
    /* Flink's findSumAggType / findAvgAggType: DECIMAL(38, s) and DECIMAL(38, s) / DECIMAL(20, 0)
     */
    if (fn == RT_AGG_SUM && in->kind == RT_DECIMAL)
        *out = rt_dec_sum_type(in->scale);
    if (fn == RT_AGG_AVG && in->kind == RT_DECIMAL)
        *out = rt_dec_avg_type(in->scale);
    return 0;
}

static int agg_output(rt_plan_op *op, const rt_schema *in, const char *path, bool windowed,
                      weir_error *err);
static int local_output(rt_plan_op *op, const rt_schema *in, const char *path, bool windowed,
                        weir_error *err);

static int load_agg(rt_plan_op *op, const rt_schema *in, const char *path, bool windowed,
                    weir_error *err)
{
    int rc = 0;
    char p[256];
    snprintf(p, sizeof(p), "%s.keys", path);
    json_t *keys = json_object_get(op->json, "keys");
    if (!keys) {
        op->keys = calloc(1, sizeof(uint32_t));
        if (!op->keys)
            FAIL(WEIR_ENOMEM, "out of memory");
    } else if ((rc = column_list(keys, in, p, &op->keys, &op->nkeys, err)))
        goto done;
    json_t *aggs = json_object_get(op->json, "aggregates");
    if (!json_is_array(aggs))
        FAIL(WEIR_EPARSE, "%s.aggregates: expected an array", path);
    op->naggs = (uint32_t)json_array_size(aggs);
    op->aggs = calloc(op->naggs ? op->naggs : 1, sizeof(rt_plan_agg));
    if (!op->aggs)
        FAIL(WEIR_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < op->naggs; i++) {
        json_t *a = json_array_get(aggs, i);
        snprintf(p, sizeof(p), "%s.aggregates[%u]", path, i);
        rt_plan_agg *ag = &op->aggs[i];
        const char *fn = json_string_value(json_object_get(a, "fn"));
        const char *name = json_string_value(json_object_get(a, "name"));
        if (!fn || !name)
            FAIL(WEIR_EPARSE, "%s: expected {\"fn\", \"name\", \"arg\"}", p);
        int f = -1;
        for (int j = 0; j < 5; j++)
            if (strcasecmp(fn, agg_names[j]) == 0)
                f = j;
        if (f < 0)
            FAIL(WEIR_EUNSUPPORTED, "%s.fn: unknown aggregate function '%s'", p, fn);
        ag->fn = (rt_agg_fn)f;
        ag->distinct = json_is_true(json_object_get(a, "distinct"));
        if (ag->distinct &&
            (op->type == RT_OP_LOCAL_WINDOW_AGG || op->type == RT_OP_LOCAL_GROUP_AGG))
            FAIL(WEIR_EUNSUPPORTED,
                 "%s.distinct: a DISTINCT aggregate cannot be pre-aggregated locally (its values "
                 "must all meet in one place): use a one-phase aggregation",
                 p);
        json_t *arg = json_object_get(a, "arg");
        ag->arg = -1;
        if (arg && !json_is_null(arg)) {
            uint32_t c;
            char ap[300];
            snprintf(ap, sizeof(ap), "%s.arg", p);
            if ((rc = column_ref(arg, in, ap, &c, err)))
                goto done;
            ag->arg = (int)c;
        } else if (ag->fn != RT_AGG_COUNT || ag->distinct)
            FAIL(WEIR_EPARSE, "%s.arg: %s%s needs an argument", p, agg_names[f],
                 ag->distinct ? " DISTINCT" : "");
        rt_type t = ag->arg >= 0 ? in->types[ag->arg] : rt_type_of(RT_BIGINT);
        ag->in = t;
        if ((rc = agg_type(ag->fn, &t, &ag->out, p, err)))
            goto done;
        if (!(ag->name = strdup(name)))
            FAIL(WEIR_ENOMEM, "out of memory");
    }
    rc = op->type == RT_OP_LOCAL_WINDOW_AGG || op->type == RT_OP_LOCAL_GROUP_AGG
             ? local_output(op, in, path, windowed, err)
             : agg_output(op, in, path, windowed, err);
done:
    return rc;
}

/* Output columns and partitioning of an aggregation (global or one-phase): keys, the window
 * columns, the aggregates; hash-partitioned by the keys. */
static int agg_output(rt_plan_op *op, const rt_schema *in, const char *path, bool windowed,
                      weir_error *err)
{
    int rc = 0;
    uint32_t nwin = windowed ? 3 : 0;
    op->out = rt_schema_new(op->nkeys + nwin + op->naggs);
    if (!op->out)
        FAIL(WEIR_ENOMEM, "out of memory");
    uint32_t c = 0;
    for (uint32_t i = 0; i < op->nkeys; i++, c++) {
        op->out->types[c] = in->types[op->keys[i]];
        op->out->types[c].rowtime = 0;
        op->out->names[c] = strdup(in->names[op->keys[i]]);
    }
    if (windowed) {
        static const char *const wn[] = {"window_start", "window_end", "window_time"};
        for (uint32_t i = 0; i < 3; i++, c++) {
            op->out->types[c] = rt_type_timestamp(3);
            op->out->types[c].nullable = 0;
            if (i == 2) {
                op->out->types[c].kind = in->types[op->rowtime].kind;
                op->out->types[c].rowtime = 1;
            }
            op->out->names[c] = strdup(wn[i]);
        }
    }
    for (uint32_t i = 0; i < op->naggs; i++, c++) {
        op->out->types[c] = op->aggs[i].out;
        op->out->names[c] = strdup(op->aggs[i].name);
    }
    for (uint32_t i = 0; i < c; i++) {
        if (!op->out->names[i])
            FAIL(WEIR_ENOMEM, "out of memory");
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(op->out->names[i], op->out->names[j]) == 0)
                FAIL(WEIR_EDUPLICATE, "%s: output column '%s' appears twice", path,
                     op->out->names[i]);
    }
    /* Aggregations are partitioned by their keys (a global one runs at parallelism 1). */
    if (op->nkeys > 0) {
        op->partition = RT_PART_HASH;
        op->part_keys = malloc(op->nkeys * sizeof(uint32_t));
        if (!op->part_keys)
            FAIL(WEIR_ENOMEM, "out of memory");
        memcpy(op->part_keys, op->keys, op->nkeys * sizeof(uint32_t));
        op->npart_keys = op->nkeys;
    } else {
        if (op->parallelism != 1)
            FAIL(WEIR_EINVAL, "%s.parallelism: an aggregation without keys runs at parallelism 1",
                 path);
        op->partition = RT_PART_REBALANCE;
    }
done:
    return rc;
}

/* Output of a local aggregation: the keys, for a window one the end of the slice the partial
 * belongs to (typed as the time attribute, without being one), and the partial accumulators
 * as BYTES (agg_acc's layout). It runs beside its input (forward by default). */
static int local_output(rt_plan_op *op, const rt_schema *in, const char *path, bool windowed,
                        weir_error *err)
{
    int rc = 0;
    uint32_t n = op->nkeys + (windowed ? 1 : 0) + 1, c = 0;
    if (!(op->out = rt_schema_new(n)))
        FAIL(WEIR_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < op->nkeys; i++, c++) {
        op->out->types[c] = in->types[op->keys[i]];
        op->out->types[c].rowtime = 0;
        op->out->names[c] = strdup(in->names[op->keys[i]]);
    }
    if (windowed) {
        op->out->types[c] = in->types[op->rowtime];
        op->out->types[c].rowtime = 0;
        op->out->types[c].nullable = 0;
        op->out->names[c++] = strdup("$slice_end");
    }
    op->out->types[c] = rt_type_of(RT_BYTES);
    op->out->types[c].nullable = 0;
    op->out->names[c++] = strdup("$acc");
    for (uint32_t i = 0; i < c; i++) {
        if (!op->out->names[i])
            FAIL(WEIR_ENOMEM, "out of memory");
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(op->out->names[i], op->out->names[j]) == 0)
                FAIL(WEIR_EDUPLICATE, "%s: output column '%s' appears twice", path,
                     op->out->names[i]);
    }
done:
    return rc;
}

/* The flush limits of a local aggregation ("flushRows", "flushMs"). */
static int load_flush(rt_plan_op *op, const char *path, weir_error *err)
{
    int rc = 0;
    json_t *r = json_object_get(op->json, "flushRows");
    op->flush_rows = 10000;
    op->flush_ms = op->type == RT_OP_LOCAL_GROUP_AGG ? 1000 : 0;
    if (r) {
        if (!json_is_integer(r) || json_integer_value(r) < 1 || json_integer_value(r) > 1000000)
            FAIL(WEIR_EINVAL, "%s.flushRows: expected an integer 1..1000000", path);
        op->flush_rows = json_integer_value(r);
    }
    if (op->type == RT_OP_LOCAL_GROUP_AGG)
        rc = get_ms(op->json, "flushMs", path, op->flush_ms, 1, &op->flush_ms, err);
done:
    return rc;
}

/* A window_aggregate / group_aggregate reading a local one: its definition is the local's, its
 * input the partials (keys, [slice end,] accumulators). */
static int load_global(rt_plan_op *op, const rt_plan_op *local, const char *path, weir_error *err)
{
    int rc = 0;
    bool windowed = op->type == RT_OP_WINDOW_AGG;
    if ((windowed ? RT_OP_LOCAL_WINDOW_AGG : RT_OP_LOCAL_GROUP_AGG) != local->type)
        FAIL(WEIR_EINVAL, "%s.input: '%s' is a %s; a %s reads a %s", path, local->id,
             rt_op_type_name(local->type), rt_op_type_name(op->type),
             windowed ? "local_window_aggregate" : "local_group_aggregate");
    static const char *const def[] = {"keys", "aggregates", "window", "rowtime", NULL};
    for (const char *const *k = def; *k; k++)
        if (json_object_get(op->json, *k))
            FAIL(WEIR_EPARSE,
                 "%s.%s: an aggregation reading local aggregation '%s' takes its definition "
                 "from it",
                 path, *k, local->id);
    op->global = true;
    op->nkeys = local->nkeys;
    op->keys = calloc(op->nkeys ? op->nkeys : 1, sizeof(uint32_t));
    op->naggs = local->naggs;
    op->aggs = calloc(op->naggs ? op->naggs : 1, sizeof(rt_plan_agg));
    if (!op->keys || !op->aggs)
        FAIL(WEIR_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < op->nkeys; i++)
        op->keys[i] = i;
    for (uint32_t i = 0; i < op->naggs; i++) {
        op->aggs[i] = local->aggs[i];
        op->aggs[i].arg = -1; /* merged from the accumulators, not read from a column */
        if (!(op->aggs[i].name = strdup(local->aggs[i].name)))
            FAIL(WEIR_ENOMEM, "out of memory");
    }
    op->win = local->win;
    op->size_ms = local->size_ms;
    op->slide_ms = local->slide_ms;
    op->step_ms = local->step_ms;
    op->offset_ms = local->offset_ms;
    op->rowtime = local->nkeys; /* the slice end: its kind gives window_time's */
    rc = agg_output(op, local->out, path, windowed, err);
done:
    return rc;
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static int load_window(rt_plan_op *op, const rt_schema *in, const char *path, weir_error *err)
{
    int rc = 0;
    char p[256];
    snprintf(p, sizeof(p), "%s.rowtime", path);
    json_t *rt = json_object_get(op->json, "rowtime");
    if (!rt)
        FAIL(WEIR_EPARSE, "%s: missing", p);
    if ((rc = column_ref(rt, in, p, &op->rowtime, err)))
        goto done;
    rt_type t = in->types[op->rowtime];
    if (t.kind != RT_TIMESTAMP && t.kind != RT_TIMESTAMP_LTZ)
        FAIL(WEIR_ETYPE, "%s: the time attribute must be TIMESTAMP or TIMESTAMP_LTZ, not %s", p,
             rt_kind_name((rt_kind)t.kind));
    json_t *w = json_object_get(op->json, "window");
    snprintf(p, sizeof(p), "%s.window", path);
    if (!json_is_object(w))
        FAIL(WEIR_EPARSE, "%s: expected an object", p);
    static const char *const wkeys[] = {"kind", "sizeMs", "slideMs", "stepMs", "offsetMs", NULL};
    if ((rc = only_keys(w, p, wkeys, err)))
        goto done;
    const char *kind = json_string_value(json_object_get(w, "kind"));
    if (!kind)
        FAIL(WEIR_EPARSE, "%s.kind: expected \"tumble\", \"hop\" or \"cumulate\"", p);
    if (!strcasecmp(kind, "tumble"))
        op->win = RT_WIN_TUMBLE;
    else if (!strcasecmp(kind, "hop"))
        op->win = RT_WIN_HOP;
    else if (!strcasecmp(kind, "cumulate"))
        op->win = RT_WIN_CUMULATE;
    else
        FAIL(WEIR_EUNSUPPORTED, "%s.kind: unknown window kind '%s'", p, kind);
    if ((rc = get_ms(w, "sizeMs", p, 0, 1, &op->size_ms, err)) ||
        (rc = get_ms(w, "slideMs", p, op->size_ms, 1, &op->slide_ms, err)) ||
        (rc = get_ms(w, "stepMs", p, op->size_ms, 1, &op->step_ms, err)) ||
        (rc = get_ms(w, "offsetMs", p, 0, INT64_MIN, &op->offset_ms, err)))
        goto done;
    if (op->size_ms <= 0)
        FAIL(WEIR_EINVAL, "%s.sizeMs: required and > 0", p);
    if (op->win == RT_WIN_HOP && op->size_ms % op->slide_ms != 0)
        FAIL(WEIR_EINVAL, "%s: HOP size (%lld ms) must be a multiple of the slide (%lld ms)", p,
             (long long)op->size_ms, (long long)op->slide_ms);
    if (op->win == RT_WIN_CUMULATE && op->size_ms % op->step_ms != 0)
        FAIL(WEIR_EINVAL,
             "%s: CUMULATE max size (%lld ms) must be a multiple of the step (%lld ms)", p,
             (long long)op->size_ms, (long long)op->step_ms);
    if (op->win == RT_WIN_HOP && op->size_ms / op->slide_ms > 1000)
        FAIL(WEIR_EINVAL, "%s: HOP with more than 1000 windows per row", p);
    /* the slices a row's windows are made of: Flink's slicing windows */
    op->slice_ms = op->win == RT_WIN_TUMBLE ? op->size_ms
                   : op->win == RT_WIN_HOP  ? gcd64(op->size_ms, op->slide_ms)
                                            : op->step_ms;
    rc = load_agg(op, in, path, true, err);
done:
    return rc;
}

static int load_partition(rt_plan_op *op, const rt_plan_op *in, const char *path, weir_error *err)
{
    json_t *pt = json_object_get(op->json, "partition");
    char p[256];
    snprintf(p, sizeof(p), "%s.partition", path);
    if (!pt) {
        op->partition = op->parallelism == in->parallelism ? RT_PART_FORWARD : RT_PART_REBALANCE;
        return 0;
    }
    const char *kind =
        json_is_string(pt) ? json_string_value(pt) : json_string_value(json_object_get(pt, "kind"));
    if (!kind)
        return weir_error_set(err, WEIR_EPARSE, "%s: expected a string or {\"kind\": ...}", p);
    if (!strcmp(kind, "forward"))
        op->partition = RT_PART_FORWARD;
    else if (!strcmp(kind, "rebalance"))
        op->partition = RT_PART_REBALANCE;
    else if (!strcmp(kind, "broadcast"))
        op->partition = RT_PART_BROADCAST;
    else if (!strcmp(kind, "hash")) {
        op->partition = RT_PART_HASH;
        char kp[300];
        snprintf(kp, sizeof(kp), "%s.keys", p);
        json_t *keys = json_is_object(pt) ? json_object_get(pt, "keys") : NULL;
        int rc = column_list(keys, in->out, kp, &op->part_keys, &op->npart_keys, err);
        if (rc)
            return rc;
        if (op->npart_keys == 0)
            return weir_error_set(err, WEIR_EINVAL, "%s: hash partitioning needs keys", kp);
    } else
        return weir_error_set(err, WEIR_EUNSUPPORTED, "%s: unknown partitioning '%s'", p, kind);
    if (op->partition == RT_PART_FORWARD && in->type == RT_OP_UNION && in->parallelism == 0)
        return weir_error_set(err, WEIR_EINVAL,
                              "%s: forward needs equal parallelism, and the inputs of union '%s' "
                              "run at different ones",
                              p, in->id);
    if (op->partition == RT_PART_FORWARD && op->parallelism != in->parallelism)
        return weir_error_set(err, WEIR_EINVAL,
                              "%s: forward needs equal parallelism (%u here, %u at '%s')", p,
                              op->parallelism, in->parallelism, in->id);
    return 0;
}

/* A union (UNION ALL): every input has the first one's column types; names come from the
 * first input; a column is nullable when it is in any input and an event-time attribute when
 * it is one in every input (as Flink keeps the rowtime through a union). */
static int load_union(rt_plan *plan, uint32_t idx, rt_plan_op *op, const char *path,
                      weir_error *err)
{
    int rc = 0;
    json_t *arr = json_object_get(op->json, "inputs");
    if (!json_is_array(arr) || json_array_size(arr) < 2)
        FAIL(WEIR_EPARSE, "%s.inputs: expected an array of at least two ids of earlier operators",
             path);
    if (!(op->inputs = calloc(json_array_size(arr), sizeof(int))))
        FAIL(WEIR_ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *input = json_string_value(json_array_get(arr, i));
        if (!input)
            FAIL(WEIR_EPARSE, "%s.inputs[%zu]: expected the id of an earlier operator", path, i);
        int found = -1;
        for (uint32_t j = 0; j < idx; j++)
            if (strcmp(plan->ops[j].id, input) == 0)
                found = (int)j;
        if (found < 0)
            FAIL(WEIR_EINVAL, "%s.inputs[%zu]: no earlier operator has id '%s'", path, i, input);
        if (plan->ops[found].type == RT_OP_SINK)
            FAIL(WEIR_EINVAL, "%s.inputs[%zu]: '%s' is a sink and has no output", path, i, input);
        op->inputs[op->ninputs++] = found;
    }
    const rt_plan_op *first = &plan->ops[op->inputs[0]];
    if (!(op->out = rt_schema_new(first->out->ncols)))
        FAIL(WEIR_ENOMEM, "out of memory");
    for (uint32_t c = 0; c < first->out->ncols; c++) {
        op->out->types[c] = first->out->types[c];
        if (!(op->out->names[c] = strdup(first->out->names[c])))
            FAIL(WEIR_ENOMEM, "out of memory");
    }
    op->parallelism = first->parallelism;
    for (uint32_t i = 1; i < op->ninputs; i++) {
        const rt_plan_op *in = &plan->ops[op->inputs[i]];
        if (in->out->ncols != first->out->ncols)
            FAIL(WEIR_ETYPE,
                 "%s.inputs[%u]: '%s' has %u columns but '%s' (the first input) has %u; the "
                 "inputs of a union need the same columns",
                 path, i, in->id, in->out->ncols, first->id, first->out->ncols);
        for (uint32_t c = 0; c < first->out->ncols; c++) {
            rt_type a = first->out->types[c], b = in->out->types[c];
            if (!rt_type_equal(a, b)) {
                char ta[64], tb[64];
                a.nullable = b.nullable = 1;
                FAIL(WEIR_ETYPE,
                     "%s.inputs[%u]: column %u ('%s') of '%s' is %s but %s in '%s' (the first "
                     "input); the inputs of a union need the same column types",
                     path, i, c, in->out->names[c], in->id, rt_type_format(b, tb, sizeof(tb)),
                     rt_type_format(a, ta, sizeof(ta)), first->id);
            }
            op->out->types[c].nullable |= b.nullable;
            op->out->types[c].rowtime &= b.rowtime;
            op->out->types[c].proctime &= b.proctime;
        }
        if (in->parallelism != op->parallelism)
            op->parallelism = 0;
    }
done:
    return rc;
}

static int load_op(rt_plan *plan, uint32_t idx, const json_t *o, uint32_t default_par,
                   weir_error *err)
{
    int rc = 0;
    rt_plan_op *op = &plan->ops[idx];
    char path[64];
    snprintf(path, sizeof(path), "$.operators[%u]", idx);
    op->json = o;
    op->input = -1;
    if (!(op->path = strdup(path)))
        return WEIR_ENOMEM;
    if (!json_is_object(o))
        FAIL(WEIR_EPARSE, "%s: expected an object", path);
    const char *id = json_string_value(json_object_get(o, "id"));
    const char *type = json_string_value(json_object_get(o, "type"));
    if (!id || !*id)
        FAIL(WEIR_EPARSE, "%s.id: expected a non-empty string", path);
    if (!(op->id = strdup(id)))
        FAIL(WEIR_ENOMEM, "out of memory");
    for (uint32_t j = 0; j < idx; j++)
        if (strcmp(plan->ops[j].id, id) == 0)
            FAIL(WEIR_EDUPLICATE, "%s.id: '%s' is already the id of $.operators[%u]", path, id, j);
    if (!type)
        FAIL(WEIR_EPARSE, "%s.type: expected a string", path);
    int t = -1;
    for (int i = 0; i <= RT_OP_LOCAL_GROUP_AGG; i++)
        if (strcmp(type, rt_op_type_name((rt_op_type)i)) == 0)
            t = i;
    if (t < 0)
        FAIL(WEIR_EUNSUPPORTED, "%s.type: unknown operator type '%s'", path, type);
    op->type = (rt_op_type)t;
    if (op->type == RT_OP_UNION) {
        static const char *const ukeys[] = {"id",   "type",        "uid", "inputs",
                                            "name", "description", NULL};
        if (json_object_get(o, "input"))
            FAIL(WEIR_EPARSE, "%s.input: a union reads \"inputs\" (an array of operator ids)",
                 path);
        if (json_object_get(o, "parallelism") || json_object_get(o, "partition"))
            FAIL(WEIR_EPARSE,
                 "%s.%s: a union has no parallelism or partitioning of its own (its consumer's "
                 "apply to the rows of every input)",
                 path, json_object_get(o, "parallelism") ? "parallelism" : "partition");
        if ((rc = only_keys(o, path, ukeys, err)) || (rc = load_union(plan, idx, op, path, err)))
            goto done;
        rc = derive_uid(plan, op);
        goto done;
    }

    static const char *const common[] = {"id",    "type",      "uid",  "parallelism",
                                         "input", "partition", "name", "description"};
    static const char *const extra[RT_OP_LOCAL_GROUP_AGG + 1][8] = {
        [RT_OP_SOURCE] = {"connector", "options", "schema", "projection", NULL},
        [RT_OP_CALC] = {"projection", "filter", NULL},
        [RT_OP_WATERMARK] = {"rowtime", "delayMs", "idleTimeoutMs", NULL},
        [RT_OP_WINDOW_AGG] = {"rowtime", "window", "keys", "aggregates", NULL},
        [RT_OP_GROUP_AGG] = {"keys", "aggregates", NULL},
        [RT_OP_SINK] = {"connector", "options", NULL},
        [RT_OP_UNION] = {NULL},
        [RT_OP_LOCAL_WINDOW_AGG] = {"rowtime", "window", "keys", "aggregates", "flushRows", NULL},
        [RT_OP_LOCAL_GROUP_AGG] = {"keys", "aggregates", "flushRows", "flushMs", NULL},
    };
    const char *allowed[20];
    size_t na = 0;
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        allowed[na++] = common[i];
    for (size_t i = 0; extra[t][i]; i++)
        allowed[na++] = extra[t][i];
    allowed[na] = NULL;
    if ((rc = only_keys(o, path, allowed, err)))
        goto done;

    json_t *par = json_object_get(o, "parallelism");
    if (par) {
        if (!json_is_integer(par) || json_integer_value(par) < 1 ||
            json_integer_value(par) > RT_PLAN_MAX_PARALLELISM)
            FAIL(WEIR_EINVAL, "%s.parallelism: expected an integer 1..%d", path,
                 RT_PLAN_MAX_PARALLELISM);
        op->parallelism = (uint32_t)json_integer_value(par);
    } else
        op->parallelism = default_par;
    if (op->parallelism > plan->max_parallelism)
        FAIL(WEIR_EINVAL, "%s.parallelism: %u exceeds maxParallelism %u", path, op->parallelism,
             plan->max_parallelism);

    const rt_plan_op *in = NULL;
    if (op->type == RT_OP_SOURCE) {
        if (json_object_get(o, "input"))
            FAIL(WEIR_EPARSE, "%s.input: a source has no input", path);
    } else {
        const char *input = json_string_value(json_object_get(o, "input"));
        if (!input)
            FAIL(WEIR_EPARSE, "%s.input: expected the id of an earlier operator", path);
        for (uint32_t j = 0; j < idx; j++)
            if (strcmp(plan->ops[j].id, input) == 0)
                op->input = (int)j;
        if (op->input < 0)
            FAIL(WEIR_EINVAL, "%s.input: no earlier operator has id '%s'", path, input);
        in = &plan->ops[op->input];
        if (in->type == RT_OP_SINK)
            FAIL(WEIR_EINVAL, "%s.input: '%s' is a sink and has no output", path, input);
    }

    char p[128];
    switch (op->type) {
    case RT_OP_SOURCE: {
        snprintf(p, sizeof(p), "%s.schema", path);
        if ((rc = load_schema(json_object_get(o, "schema"), p, &op->declared, err)) ||
            (rc = load_options(op, path, err)))
            goto done;
        const rt_source_ops *so = rt_connector_source(op->connector);
        if (!so)
            FAIL(WEIR_EUNSUPPORTED, "%s.connector: no source connector '%s'", path, op->connector);
        if ((rc = load_source_projection(op, so, path, err)))
            goto done;
        /* Let the connector check its options now (subtask 0 is representative). */
        void *self = NULL;
        weir_error ce = {0};
        if ((rc = rt_plan_source_create(op, 0, &self, &ce)))
            FAIL(rc, "%s.options: %s", path, ce.msg);
        so->destroy(self);
        break;
    }
    case RT_OP_SINK: {
        if ((rc = load_options(op, path, err)))
            goto done;
        const rt_sink_ops *so = rt_connector_sink(op->connector);
        if (!so)
            FAIL(WEIR_EUNSUPPORTED, "%s.connector: no sink connector '%s'", path, op->connector);
        if ((rc = load_partition(op, in, path, err)))
            goto done;
        op->out = rt_schema_new(in->out->ncols);
        if (!op->out)
            FAIL(WEIR_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < in->out->ncols; i++) {
            op->out->types[i] = in->out->types[i];
            if (!(op->out->names[i] = strdup(in->out->names[i])))
                FAIL(WEIR_ENOMEM, "out of memory");
        }
        void *self = NULL;
        weir_error ce = {0};
        if ((rc = so->create(op->out, op->options, 0, op->parallelism, &self, &ce)))
            FAIL(rc, "%s.options: %s", path, ce.msg);
        so->destroy(self);
        break;
    }
    case RT_OP_CALC:
        if ((rc = load_partition(op, in, path, err)) || (rc = load_calc(op, in->out, path, err)))
            goto done;
        break;
    case RT_OP_WATERMARK: {
        if ((rc = load_partition(op, in, path, err)))
            goto done;
        snprintf(p, sizeof(p), "%s.rowtime", path);
        json_t *rt = json_object_get(o, "rowtime");
        if (!rt)
            FAIL(WEIR_EPARSE, "%s: missing", p);
        if ((rc = column_ref(rt, in->out, p, &op->rowtime, err)))
            goto done;
        rt_type tt = in->out->types[op->rowtime];
        if (tt.kind != RT_TIMESTAMP && tt.kind != RT_TIMESTAMP_LTZ)
            FAIL(WEIR_ETYPE,
                 "%s: a watermark needs a TIMESTAMP(3) or TIMESTAMP_LTZ(3) column, not %s", p,
                 rt_kind_name((rt_kind)tt.kind));
        if ((rc = get_ms(o, "delayMs", path, 0, 0, &op->delay_ms, err)) ||
            (rc = get_ms(o, "idleTimeoutMs", path, 0, 0, &op->idle_timeout_ms, err)))
            goto done;
        op->out = rt_schema_new(in->out->ncols);
        if (!op->out)
            FAIL(WEIR_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < in->out->ncols; i++) {
            op->out->types[i] = in->out->types[i];
            if (!(op->out->names[i] = strdup(in->out->names[i])))
                FAIL(WEIR_ENOMEM, "out of memory");
        }
        op->out->types[op->rowtime].rowtime = 1;
        break;
    }
    case RT_OP_WINDOW_AGG:
        if (json_object_get(o, "partition"))
            FAIL(WEIR_EPARSE, "%s.partition: aggregations are always partitioned by their keys",
                 path);
        if (in->type == RT_OP_LOCAL_WINDOW_AGG || in->type == RT_OP_LOCAL_GROUP_AGG) {
            if ((rc = load_global(op, in, path, err)))
                goto done;
            break;
        }
        if ((rc = load_window(op, in->out, path, err)))
            goto done;
        if (!in->out->types[op->rowtime].rowtime)
            FAIL(WEIR_EINVAL,
                 "%s.rowtime: '%s' is not an event-time attribute (add a watermark operator "
                 "before this one)",
                 path, in->out->names[op->rowtime]);
        break;
    case RT_OP_GROUP_AGG:
        if (json_object_get(o, "partition"))
            FAIL(WEIR_EPARSE, "%s.partition: aggregations are always partitioned by their keys",
                 path);
        if (in->type == RT_OP_LOCAL_WINDOW_AGG || in->type == RT_OP_LOCAL_GROUP_AGG) {
            if ((rc = load_global(op, in, path, err)))
                goto done;
            break;
        }
        if ((rc = load_agg(op, in->out, path, false, err)))
            goto done;
        break;
    case RT_OP_LOCAL_WINDOW_AGG:
        if ((rc = load_partition(op, in, path, err)) || (rc = load_flush(op, path, err)) ||
            (rc = load_window(op, in->out, path, err)))
            goto done;
        if (!in->out->types[op->rowtime].rowtime)
            FAIL(WEIR_EINVAL,
                 "%s.rowtime: '%s' is not an event-time attribute (add a watermark operator "
                 "before this one)",
                 path, in->out->names[op->rowtime]);
        break;
    case RT_OP_LOCAL_GROUP_AGG:
        if ((rc = load_partition(op, in, path, err)) || (rc = load_flush(op, path, err)) ||
            (rc = load_agg(op, in->out, path, false, err)))
            goto done;
        break;
    case RT_OP_UNION: /* loaded above */
        break;
    }
    rc = derive_uid(plan, op);
done:
    return rc;
}

int rt_plan_load(const char *text, size_t len, const char *source, uint32_t default_parallelism,
                 rt_plan **out, weir_error *err)
{
    int rc = 0;
    rt_plan *p = calloc(1, sizeof(*p));
    if (!p)
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    p->path = strdup(source ? source : "<string>");
    json_error_t je;
    p->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!p->doc)
        FAIL(WEIR_EPARSE, "%s:%d:%d: %s", p->path, je.line, je.column, je.text);
    if (!json_is_object(p->doc))
        FAIL(WEIR_EPARSE, "$: a plan is a JSON object");
    static const char *const top[] = {
        "version", "name", "maxParallelism", "operators", "description", "sql", NULL};
    if ((rc = only_keys(p->doc, "$", top, err)))
        goto done;
    json_t *v = json_object_get(p->doc, "version");
    if (!json_is_integer(v))
        FAIL(WEIR_EPARSE, "$.version: expected an integer (this runtime reads version %d)",
             RT_PLAN_VERSION);
    if (json_integer_value(v) != RT_PLAN_VERSION)
        FAIL(WEIR_EUNSUPPORTED,
             "$.version: plan version %lld is not supported (this runtime "
             "reads version %d)",
             (long long)json_integer_value(v), RT_PLAN_VERSION);
    p->version = RT_PLAN_VERSION;
    p->name = strdup(json_is_string(json_object_get(p->doc, "name"))
                         ? json_string_value(json_object_get(p->doc, "name"))
                         : "weir-job");
    json_t *mp = json_object_get(p->doc, "maxParallelism");
    p->max_parallelism = 128;
    if (mp) {
        if (!json_is_integer(mp) || json_integer_value(mp) < 1 || json_integer_value(mp) > 32768)
            FAIL(WEIR_EINVAL, "$.maxParallelism: expected an integer 1..32768");
        p->max_parallelism = (uint32_t)json_integer_value(mp);
    }
    if (default_parallelism < 1)
        default_parallelism = 1;
    json_t *ops = json_object_get(p->doc, "operators");
    if (!json_is_array(ops) || json_array_size(ops) == 0)
        FAIL(WEIR_EPARSE, "$.operators: expected a non-empty array");
    if (json_array_size(ops) > RT_PLAN_MAX_OPERATORS)
        FAIL(WEIR_ETOOBIG, "$.operators: more than %d operators", RT_PLAN_MAX_OPERATORS);
    p->ops = calloc(json_array_size(ops), sizeof(rt_plan_op));
    if (!p->ops)
        FAIL(WEIR_ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(ops); i++) {
        p->nops++;
        if ((rc = load_op(p, (uint32_t)i, json_array_get(ops, i),
                          default_parallelism > p->max_parallelism ? p->max_parallelism
                                                                   : default_parallelism,
                          err)))
            goto done;
    }
    /* Every operator's output is consumed, and the job writes somewhere. */
    bool sink = false;
    for (uint32_t i = 0; i < p->nops; i++) {
        if (p->ops[i].type == RT_OP_SINK) {
            sink = true;
            continue;
        }
        if (rt_plan_consumers(p, i) == 0)
            FAIL(WEIR_EINVAL, "%s: the output of '%s' goes nowhere (no operator has it as input)",
                 p->ops[i].path, p->ops[i].id);
        /* Partial accumulators mean nothing to anyone but their global aggregation. */
        bool local =
            p->ops[i].type == RT_OP_LOCAL_WINDOW_AGG || p->ops[i].type == RT_OP_LOCAL_GROUP_AGG;
        bool merged = false;
        for (uint32_t k = i + 1; local && k < p->nops; k++)
            merged |= p->ops[k].input == (int)i && p->ops[k].global;
        if (local && (!merged || rt_plan_consumers(p, i) != 1))
            FAIL(WEIR_EINVAL,
                 "%s: the output of local aggregation '%s' is partial accumulators: exactly "
                 "one %s must read it, and nothing else",
                 p->ops[i].path, p->ops[i].id,
                 p->ops[i].type == RT_OP_LOCAL_WINDOW_AGG ? "window_aggregate" : "group_aggregate");
    }
    if (!sink)
        FAIL(WEIR_EINVAL, "$.operators: a job needs at least one sink");
    for (uint32_t i = 0; i < p->nops; i++)
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(p->ops[i].uid, p->ops[j].uid) == 0)
                FAIL(WEIR_EDUPLICATE,
                     "%s: operators '%s' and '%s' have the same uid %s (give them distinct "
                     "\"uid\" values)",
                     p->ops[i].path, p->ops[j].id, p->ops[i].id, p->ops[i].uid);
    *out = p;
    p = NULL;
done:
    rt_plan_free(p);
    return rc;
}

int rt_plan_load_file(const char *path, uint32_t default_parallelism, rt_plan **out,
                      weir_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return weir_error_set(err, errno == ENOENT ? WEIR_ENOTFOUND : WEIR_EIO, "%s: %s", path,
                              strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len + 65536 > cap) {
            cap = cap ? cap * 2 : 131072;
            if (cap > (64u << 20)) {
                rc = weir_error_set(err, WEIR_ETOOBIG, "%s: larger than 64 MiB", path);
                goto done;
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
                goto done;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        rc = weir_error_set(err, WEIR_EIO, "%s: read error", path);
        goto done;
    }
    rc = rt_plan_load(buf, len, path, default_parallelism, out, err);
done:
    free(buf);
    fclose(f);
    return rc;
}

void rt_plan_free(rt_plan *p)
{
    if (!p)
        return;
    for (uint32_t i = 0; i < p->nops; i++) {
        rt_plan_op *op = &p->ops[i];
        free(op->id);
        free(op->path);
        free(op->part_keys);
        free(op->inputs);
        rt_schema_free(op->out);
        rt_schema_free(op->declared);
        free(op->scan_cols);
        free(op->connector);
        json_decref(op->options);
        free(op->keys);
        for (uint32_t j = 0; j < op->naggs; j++)
            free(op->aggs[j].name);
        free(op->aggs);
    }
    free(p->ops);
    free(p->name);
    free(p->path);
    json_decref(p->doc);
    free(p);
}
