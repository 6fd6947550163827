/*
 * fuzz_expr.c - libFuzzer target for expressions: the input is JSON compiled against a fixed
 * schema (BIGINT, STRING, DOUBLE, TIMESTAMP(3), BOOLEAN, DECIMAL(10, 2)); whatever compiles is
 * evaluated over a small batch with NULLs. Compile and runtime errors are fine; crashes,
 * sanitizer reports and leaks are not.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runtime/expr/expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *tn[] = {"BIGINT",       "STRING",  "DOUBLE",
                               "TIMESTAMP(3)", "BOOLEAN", "DECIMAL(10, 2)"};
    rt_type t[6];
    weir_error err = {0};
    for (int i = 0; i < 6; i++)
        if (rt_type_parse(tn[i], &t[i], &err))
            __builtin_trap();
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    if (!j)
        return 0;
    rt_expr_set_clock(1700000000000);
    rt_expr *e = NULL;
    if (rt_expr_compile(j, t, 6, "$", &e, &err) == 0) {
        rt_batch *in = rt_batch_new_types(t, 6, 4);
        if (!in)
            __builtin_trap();
        bool ok = true;
        static const int64_t iv[4] = {0, -1, INT64_MAX, 12345};
        static const char *sv[4] = {"", "a%b_c", "2024-01-02 03:04:05", "x,y,,z"};
        for (uint32_t r = 0; r < 4; r++) {
            in->cols[0].i64[r] = iv[r];
            in->cols[1].str[r] = rt_arena_strdup(&in->arena, sv[r], (uint32_t)strlen(sv[r]), &ok);
            in->cols[2].f64[r] = r == 3 ? -0.0 : (double)iv[r] / 7;
            in->cols[3].i64[r] = iv[r] / 1000;
            in->cols[4].i64[r] = r & 1;
            in->cols[5].i64[r] = iv[r] % 100000000;
            for (int c = 0; c < 6; c++)
                in->cols[c].null[r] = (r + (uint32_t)c) % 5 == 0;
        }
        in->n = 4;
        rt_type rt = rt_expr_type(e);
        rt_batch *out = rt_batch_new_types(&rt, 1, 4);
        uint8_t keep[4];
        if (out) {
            if (rt_expr_eval(e, in, out, 0, &err) == 0)
                for (uint32_t r = 0; r < 4; r++) {
                    char buf[128];
                    rt_batch_format_row(out, r, buf, sizeof(buf));
                }
            if (rt.kind == RT_BOOLEAN)
                (void)rt_expr_eval_filter(e, in, keep, &err);
        }
        rt_batch_free(out);
        rt_batch_free(in);
        rt_expr_free(e);
    } else if (!err.msg[0]) {
        __builtin_trap();
    }
    json_decref(j);
    return 0;
}
