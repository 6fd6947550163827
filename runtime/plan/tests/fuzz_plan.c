/*
 * fuzz_plan.c - libFuzzer target for the plan loader: any bytes either load as a plan (then the
 * derived schemas are walked) or fail with an error message; never a crash or a leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runtime/plan/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rt_plan *p = NULL;
    weir_error err = {0};
    int rc = rt_plan_load((const char *)data, size, "fuzz", 3, &p, &err);
    if (rc == 0) {
        for (uint32_t i = 0; i < p->nops; i++) {
            const rt_plan_op *op = &p->ops[i];
            if (!op->out || op->out->ncols == 0 || strlen(op->uid) == 0)
                __builtin_trap();
        }
        rt_plan_free(p);
    } else if (err.msg[0] == '\0' && rc != WEIR_ENOMEM) {
        __builtin_trap(); /* every failure explains itself */
    }
    return 0;
}
