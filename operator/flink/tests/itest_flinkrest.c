/*
 * itest_flinkrest.c - the operator's JobManager REST client against a real Weir JobManager and
 * TaskManager (build/bin/weir, started here on loopback and ended here by PID): savepoint,
 * checkpoint, metrics, TaskManager count, stop-with-savepoint, disposal, jar upload/run/delete,
 * cancel, and the errors for an unknown job and an unreachable JobManager.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "operator/flink/flinkrest.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/weir-itest-flinkrest-XXXXXX";
static pid_t jm = -1, tm = -1;
static http_client *hc;
static flinkrest rest;
static char base[64];

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &l);
    int p = ntohs(a.sin_port);
    close(fd);
    return p;
}

static pid_t spawn(char *const argv[], const char *log)
{
    pid_t p = fork();
    if (p == 0) {
        FILE *f = fopen(log, "w");
        if (f) {
            dup2(fileno(f), 1);
            dup2(fileno(f), 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return p;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static const char *PLAN =
    "{\"version\": 1, \"name\": \"itest\", \"operators\": ["
    "{\"id\": \"src\", \"type\": \"source\", \"connector\": \"datagen\", \"options\": "
    "{\"rows-per-second\": \"500\", \"fields.k.min\": \"0\", \"fields.k.max\": \"9\"}, "
    "\"schema\": [{\"name\": \"k\", \"type\": \"INT\"}]},"
    "{\"id\": \"agg\", \"type\": \"group_aggregate\", \"input\": \"src\", \"keys\": [\"k\"], "
    "\"aggregates\": [{\"fn\": \"COUNT\", \"arg\": null, \"name\": \"c\"}]},"
    "{\"id\": \"out\", \"type\": \"sink\", \"input\": \"agg\", \"connector\": \"blackhole\"}]}";

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    char plan[128], ck[128], sp[128], log[128];
    snprintf(plan, sizeof(plan), "%s/plan.json", dir);
    FILE *f = fopen(plan, "w");
    fputs(PLAN, f);
    fclose(f);
    int rest_port = free_port(), rpc_port = free_port();
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", rest_port);
    char a1[64], a2[64], a3[160], a4[160], a5[64], t1[64], t2[64];
    snprintf(a1, sizeof(a1), "-Drest.port=%d", rest_port);
    snprintf(a2, sizeof(a2), "-Djobmanager.rpc.port=%d", rpc_port);
    snprintf(ck, sizeof(ck), "%s/ck", dir);
    snprintf(sp, sizeof(sp), "%s/sp", dir);
    snprintf(a3, sizeof(a3), "-Dstate.checkpoints.dir=file://%s", ck);
    snprintf(a4, sizeof(a4), "-Dstate.savepoints.dir=file://%s", sp);
    snprintf(a5, sizeof(a5), "-Dio.tmp.dirs=%s", dir);
    char *jargv[] = {"build/bin/weir",
                     "standalone-job",
                     a1,
                     a2,
                     a3,
                     a4,
                     a5,
                     "-Dexecution.shutdown-on-application-finish=false",
                     "-Drest.bind-address=127.0.0.1",
                     plan,
                     NULL};
    snprintf(log, sizeof(log), "%s/jm.log", dir);
    jm = spawn(jargv, log);
    snprintf(t1, sizeof(t1), "-Djobmanager.rpc.port=%d", rpc_port);
    snprintf(t2, sizeof(t2), "-Dio.tmp.dirs=%s", dir);
    char *targv[] = {"build/bin/weir",
                     "taskmanager",
                     t1,
                     t2,
                     "-Djobmanager.rpc.address=127.0.0.1",
                     "-Dtaskmanager.host=127.0.0.1",
                     NULL};
    snprintf(log, sizeof(log), "%s/tm.log", dir);
    tm = spawn(targv, log);
    weir_error err = {0};
    hc = http_client_new(&(http_client_opts){.connect_timeout_ms = 1000}, &err);
    rest = (flinkrest){.hc = hc, .base = base, .timeout_ms = 5000};
    /* wait for the TaskManager and the job */
    for (int i = 0; i < 200; i++) {
        int n = 0;
        json_t *m = NULL;
        if (flinkrest_taskmanagers(&rest, &n, &err) == 0 && n == 1 &&
            flinkrest_job_metrics(&rest, "00000000000000000000000000000000", "uptime", &m, &err) ==
                0) {
            long long up = atoll(json_string_value(json_object_get(m, "uptime")));
            json_decref(m);
            if (up > 300)
                return 0;
        }
        sleep_ms(50);
    }
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    if (tm > 0)
        kill(tm, SIGTERM), waitpid(tm, NULL, 0);
    if (jm > 0)
        kill(jm, SIGTERM), waitpid(jm, NULL, 0);
    http_client_free(hc);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#define JOB "00000000000000000000000000000000"

static void wait_op(int (*fn)(const flinkrest *, const char *, const char *, flinkrest_op *,
                              weir_error *),
                    const char *id, flinkrest_op *op)
{
    weir_error err = {0};
    for (int i = 0; i < 400; i++) {
        assert_int_equal(fn(&rest, JOB, id, op, &err), 0);
        if (op->done)
            return;
        sleep_ms(25);
    }
    fail_msg("operation %s did not complete", id);
}

static void test_snapshots_and_metrics(void **state)
{
    (void)state;
    weir_error err = {0};
    char id[33];
    flinkrest_op op;
    char tid[33] = "0123456789abcdef0123456789abcdef";
    assert_int_equal(flinkrest_trigger_savepoint(&rest, JOB, NULL, NULL, tid, id, &err), 0);
    assert_string_equal(id, tid);
    wait_op(flinkrest_savepoint_status, id, &op);
    assert_false(op.failed);
    assert_true(strncmp(op.location, "file:", 5) == 0);
    char meta[1200];
    snprintf(meta, sizeof(meta), "%s/_metadata", op.location + 5);
    struct stat sb;
    assert_int_equal(stat(meta, &sb), 0);
    assert_int_equal(flinkrest_trigger_checkpoint(&rest, JOB, "FULL", id, &err), 0);
    wait_op(flinkrest_checkpoint_status, id, &op);
    assert_false(op.failed);
    assert_true(op.checkpoint_id > 0);
    json_t *m = NULL;
    assert_int_equal(
        flinkrest_job_metrics(&rest, JOB, "numRestarts,numberOfCompletedCheckpoints", &m, &err), 0);
    assert_string_equal(json_string_value(json_object_get(m, "numRestarts")), "0");
    assert_true(atoi(json_string_value(json_object_get(m, "numberOfCompletedCheckpoints"))) >= 2);
    json_decref(m);
    /* dispose the first savepoint */
    char sp[1024];
    snprintf(sp, sizeof(sp), "%s", meta);
    *strrchr(sp, '/') = '\0';
    assert_int_equal(flinkrest_dispose_savepoint(&rest, sp, id, &err), 0);
    assert_int_equal(flinkrest_disposal_status(&rest, id, &op, &err), 0);
    assert_true(op.done && !op.failed);
    assert_int_not_equal(stat(meta, &sb), 0);
}

static void test_errors(void **state)
{
    (void)state;
    weir_error err = {0};
    char id[33];
    flinkrest_op op;
    assert_int_equal(
        flinkrest_savepoint_status(&rest, JOB, "ffffffffffffffffffffffffffffffff", &op, &err),
        WEIR_ENOTFOUND);
    assert_int_equal(flinkrest_cancel(&rest, "0123456789abcdef0123456789abcdef", &err),
                     WEIR_ENOTFOUND);
    assert_non_null(strstr(err.msg, "not found"));
    flinkrest down = {.hc = hc, .base = "http://127.0.0.1:1", .timeout_ms = 1000};
    assert_int_equal(flinkrest_trigger_savepoint(&down, JOB, NULL, NULL, NULL, id, &err),
                     WEIR_ECONNECT);
}

static void test_jars_and_stop(void **state)
{
    (void)state;
    weir_error err = {0};
    char jar[200], job[33], id[33];
    flinkrest_op op;
    assert_int_equal(
        flinkrest_upload_jar(&rest, "job.json", PLAN, strlen(PLAN), jar, sizeof(jar), &err), 0);
    assert_non_null(strstr(jar, "job.json"));
    /* the session job waits for slots: the application job holds the only one */
    json_t *body = json_pack("{s:s}", "jobId", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_int_equal(flinkrest_run_jar(&rest, jar, body, job, &err), 0);
    json_decref(body);
    assert_string_equal(job, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_int_equal(flinkrest_cancel(&rest, job, &err), 0);
    assert_int_equal(flinkrest_delete_jar(&rest, jar, &err), 0);
    assert_int_not_equal(flinkrest_delete_jar(&rest, jar, &err), 0);
    /* stop the application job with a savepoint */
    assert_int_equal(flinkrest_stop_with_savepoint(&rest, JOB, NULL, false, NULL, id, &err), 0);
    wait_op(flinkrest_savepoint_status, id, &op);
    assert_false(op.failed);
    assert_non_null(strstr(op.location, "savepoint-000000-"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshots_and_metrics),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_jars_and_stop),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
