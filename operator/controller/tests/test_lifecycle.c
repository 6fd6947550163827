/*
 * test_lifecycle.c - table-driven tests of lifecycleState derivation (reference §1.7).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "operator/controller/lifecycle.h"

#include <stdio.h>
#include <string.h>

struct lc_case {
    const char *name;
    const char *status; /* JSON, or NULL */
    bool deployment;
    const char *want;
};

static const struct lc_case cases[] = {
    {"no status", NULL, true, "CREATED"},
    {"empty status", "{}", true, "CREATED"},
    {"never deployed with error", "{\"error\":\"bad\"}", true, "FAILED"},
    {"never deployed, empty error", "{\"error\":\"\"}", true, "CREATED"},
    {"deleting kept", "{\"lifecycleState\":\"DELETING\",\"error\":\"x\"}", true, "DELETING"},
    {"deleted kept", "{\"lifecycleState\":\"DELETED\"}", false, "DELETED"},
    {"upgrading",
     "{\"reconciliationStatus\":{\"state\":\"UPGRADING\",\"lastReconciledSpec\":"
     "\"x\"}}",
     true, "UPGRADING"},
    {"rolling back",
     "{\"reconciliationStatus\":{\"state\":\"ROLLING_BACK\",\"lastReconciledSpec\":\"x\"}}", true,
     "ROLLING_BACK"},
    {"suspended (new format)",
     "{\"jobStatus\":{\"state\":\"FAILED\"},\"reconciliationStatus\":{\"state\":\"DEPLOYED\","
     "\"lastReconciledSpec\":"
     "\""
     "{\\\"spec\\\":{\\\"job\\\":{\\\"state\\\":\\\"suspended\\\"}},"
     "\\\"resource_metadata\\\":{}}"
     "\"}}",
     true, "SUSPENDED"},
    {"suspended (old format)",
     "{\"reconciliationStatus\":{\"state\":\"DEPLOYED\",\"lastReconciledSpec\":"
     "\"{\\\"job\\\":{\\\"state\\\":\\\"suspended\\\"}}\"}}",
     false, "SUSPENDED"},
    {"job failed",
     "{\"jobStatus\":{\"state\":\"FAILED\"},\"reconciliationStatus\":{\"state\":\"DEPLOYED\","
     "\"lastReconciledSpec\":\"a\",\"lastStableSpec\":\"a\"}}",
     true, "FAILED"},
    {"manual restore required",
     "{\"jobManagerDeploymentStatus\":\"MISSING\",\"error\":\"{\\\"message\\\":\\\"Latest "
     "checkpoint "
     "not externally addressable, Manual restore "
     "required.\\\"}\",\"reconciliationStatus\":{\"state\":"
     "\"DEPLOYED\",\"lastReconciledSpec\":\"a\",\"lastStableSpec\":\"a\"}}",
     true, "FAILED"},
    {"manual restore text ignored for session jobs",
     "{\"error\":\"Manual restore required.\",\"reconciliationStatus\":{\"state\":\"DEPLOYED\","
     "\"lastReconciledSpec\":\"a\",\"lastStableSpec\":\"a\"}}",
     false, "STABLE"},
    {"jm error without marker",
     "{\"jobManagerDeploymentStatus\":\"ERROR\",\"error\":\"CrashLoopBackOff\","
     "\"reconciliationStatus\":{\"state\":\"DEPLOYED\",\"lastReconciledSpec\":\"a\"}}",
     true, "DEPLOYED"},
    {"rolled back",
     "{\"reconciliationStatus\":{\"state\":\"ROLLED_BACK\",\"lastReconciledSpec\":\"a\","
     "\"lastStableSpec\":\"a\"}}",
     true, "ROLLED_BACK"},
    {"stable",
     "{\"jobStatus\":{\"state\":\"RUNNING\"},\"reconciliationStatus\":{\"state\":\"DEPLOYED\","
     "\"lastReconciledSpec\":\"a\",\"lastStableSpec\":\"a\"}}",
     true, "STABLE"},
    {"deployed, not yet stable",
     "{\"jobStatus\":{\"state\":\"RUNNING\"},\"reconciliationStatus\":{\"state\":\"DEPLOYED\","
     "\"lastReconciledSpec\":\"b\",\"lastStableSpec\":\"a\"}}",
     true, "DEPLOYED"},
    {"unparsable last spec is not suspended",
     "{\"reconciliationStatus\":{\"state\":\"DEPLOYED\",\"lastReconciledSpec\":\"{not json\"}}",
     true, "DEPLOYED"},
};

static void test_table(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *st = NULL;
        if (cases[i].status) {
            json_error_t jerr;
            st = json_loads(cases[i].status, 0, &jerr);
            if (st == NULL) {
                printf("case '%s': bad fixture JSON: %s\n", cases[i].name, jerr.text);
                failures++;
                continue;
            }
        }
        const char *got = lifecycle_name(lifecycle_derive(st, cases[i].deployment));
        if (strcmp(got, cases[i].want) != 0) {
            printf("case '%s': got %s, want %s\n", cases[i].name, got, cases[i].want);
            failures++;
        }
        json_decref(st);
    }
    assert_int_equal(failures, 0);
}

static void test_names_and_terminal(void **state)
{
    (void)state;
    for (int i = 0; i < LIFECYCLE_COUNT; i++)
        assert_int_equal(lifecycle_parse(lifecycle_name((enum lifecycle_state)i)), i);
    assert_int_equal(lifecycle_parse("RUNNING"), -1);
    assert_int_equal(lifecycle_parse(NULL), -1);
    assert_true(lifecycle_is_terminal(LIFECYCLE_STABLE));
    assert_true(lifecycle_is_terminal(LIFECYCLE_SUSPENDED));
    assert_false(lifecycle_is_terminal(LIFECYCLE_DEPLOYED));
    assert_false(lifecycle_is_terminal(LIFECYCLE_DELETING));
    assert_string_equal(lifecycle_name((enum lifecycle_state)99), "UNKNOWN");
    /* Flink's globally terminal job states */
    assert_true(lifecycle_job_terminal("FINISHED"));
    assert_true(lifecycle_job_terminal("FAILED"));
    assert_true(lifecycle_job_terminal("CANCELED"));
    assert_false(lifecycle_job_terminal("SUSPENDED")); /* only locally terminal */
    assert_false(lifecycle_job_terminal("RUNNING"));
    assert_false(lifecycle_job_terminal("CANCELLING"));
    assert_false(lifecycle_job_terminal(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_names_and_terminal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
