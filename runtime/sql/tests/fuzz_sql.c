/*
 * fuzz_sql.c - libFuzzer target for the SQL front end: tokenizer, parser, binder and planner.
 * Any input either compiles into a plan the plan loader accepts, or fails with a positioned
 * message; never a crash, a sanitizer report or a leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runtime/sql/sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *plan = NULL, *notes = NULL, *settings = NULL;
    weir_error err = {0};
    int rc = sql_compile((const char *)data, size, "fuzz.sql", &plan, &settings, &err);
    if (rc == 0) {
        json_decref(plan);
        json_decref(settings);
    } else if (!err.msg[0])
        __builtin_trap();
    plan = NULL;
    if (sql_check((const char *)data, size, "fuzz.sql", &plan, &notes, &err) == 0) {
        json_decref(plan);
        json_decref(notes);
    }
    return 0;
}
