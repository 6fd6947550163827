/*
 * test_upgrade.c - every row of the upgrade decision table (reference §2.4).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "operator/controller/upgrade.h"

#include <string.h>

static upgrade_input base(const char *mode, const char *state)
{
    return (upgrade_input){.upgrade_mode = mode,
                           .job_state = state,
                           .jm_reachable = true,
                           .ha_enabled = true,
                           .ha_metadata = true,
                           .savepoint_dir = true,
                           .last_state_fallback = true,
                           .last_upgrade_mode = mode};
}

static void expect(upgrade_input in, upgrade_suspend s, upgrade_restore r)
{
    upgrade_decision d;
    upgrade_decide(&in, &d);
    if (d.suspend != s || d.restore != r)
        fail_msg("mode %s state %s: got %s/%d (%s), want %s/%d", in.upgrade_mode,
                 in.job_state ? in.job_state : "-", upgrade_suspend_name(d.suspend), d.restore,
                 d.reason, upgrade_suspend_name(s), r);
    assert_true(strlen(d.reason) > 0);
}

static void test_stateless(void **state)
{
    (void)state;
    expect(base("stateless", "RUNNING"), UPGRADE_STATELESS, RESTORE_EMPTY);
    expect(base("stateless", "FAILED"), UPGRADE_NOOP, RESTORE_EMPTY);
    expect(base(NULL, "RUNNING"), UPGRADE_STATELESS, RESTORE_EMPTY);
}

static void test_terminal(void **state)
{
    (void)state;
    upgrade_input in = base("savepoint", "FINISHED");
    in.upgrade_savepoint_path = "/sp/savepoint-1";
    expect(in, UPGRADE_NOOP, RESTORE_SAVEPOINT);
    in.upgrade_savepoint_path = UPGRADE_LAST_STATE_DUMMY;
    expect(in, UPGRADE_FAIL, RESTORE_SAVEPOINT);
    /* FAILED with HA metadata and an unreachable JobManager: not trustworthy -> last-state */
    in = base("last-state", "FAILED");
    in.jm_reachable = false;
    expect(in, UPGRADE_LAST_STATE, RESTORE_LAST_STATE);
}

static void test_savepoint(void **state)
{
    (void)state;
    expect(base("savepoint", "RUNNING"), UPGRADE_SAVEPOINT, RESTORE_SAVEPOINT);
    expect(base("savepoint", "CANCELLING"), UPGRADE_WAIT, RESTORE_SAVEPOINT);
    /* not running: falls back to last-state (cancel while the JobManager answers) */
    expect(base("savepoint", "RESTARTING"), UPGRADE_CANCEL, RESTORE_SAVEPOINT);
    upgrade_input in = base("savepoint", "RESTARTING");
    in.last_state_fallback = false;
    expect(in, UPGRADE_WAIT, RESTORE_SAVEPOINT);
}

static void test_last_state(void **state)
{
    (void)state;
    expect(base("last-state", "RUNNING"), UPGRADE_LAST_STATE, RESTORE_LAST_STATE);
    upgrade_input in = base("last-state", "RUNNING");
    in.ha_metadata = false;
    expect(in, UPGRADE_CANCEL, RESTORE_SAVEPOINT);
    in = base("last-state", "RUNNING");
    in.last_state_job_cancel = true;
    expect(in, UPGRADE_CANCEL, RESTORE_SAVEPOINT);
    in = base("last-state", "RUNNING");
    in.session_job = true;
    expect(in, UPGRADE_CANCEL, RESTORE_SAVEPOINT);
    in = base("last-state", "RUNNING");
    in.flink_version_changed = true;
    expect(in, UPGRADE_SAVEPOINT, RESTORE_SAVEPOINT);
    in.savepoint_dir = false;
    expect(in, UPGRADE_CANCEL, RESTORE_SAVEPOINT);
}

static void test_unavailable(void **state)
{
    (void)state;
    upgrade_input in = base("last-state", NULL);
    in.jm_reachable = false;
    expect(in, UPGRADE_LAST_STATE, RESTORE_LAST_STATE); /* HA metadata */
    in.ha_metadata = false;
    expect(in, UPGRADE_FAIL, RESTORE_SAVEPOINT); /* never silently stateless */
    in.jm_never_available = true;
    in.last_upgrade_mode = "savepoint";
    expect(in, UPGRADE_STATELESS, RESTORE_SAVEPOINT); /* delete that JM and retry */
    in.last_upgrade_mode = "last-state";
    expect(in, UPGRADE_FAIL, RESTORE_SAVEPOINT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stateless),   cmocka_unit_test(test_terminal),
        cmocka_unit_test(test_savepoint),   cmocka_unit_test(test_last_state),
        cmocka_unit_test(test_unavailable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
