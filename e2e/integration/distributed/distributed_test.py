#!/usr/bin/env python3
"""Acceptance tests of the distributed runtime: real `weir jobmanager` / `standalone-job` /
`taskmanager` processes on loopback. Results are checked against an independent computation
of the datagen rows (runtime/connectors/tests/datagen_model.py) and the one-process engine."""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "runtime"))
sys.path.insert(0, HERE)
import runtime_test as rt  # noqa: E402
import rest_conformance  # noqa: E402
from cluster import WEIR, Cluster  # noqa: E402

WORK = tempfile.mkdtemp(prefix="weir-dist-")
rt.WORK = WORK
check = rt.check
case = rt.case


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def only_job(c):
    jobs = c.get("/jobs")["jobs"]
    check(len(jobs) == 1, f"jobs: {jobs}")
    return jobs[0]["id"]


@case("a JobManager and 2 TaskManagers at parallelism 4 give the one-process engine's window results")
def equal_results():
    p = rt.plan(options={"number-of-rows": "200000", "fields.id.end": "199999"})
    path = rt.write_plan(p, "equal.json")
    want = rt.expected_windows(p)
    c = Cluster(WORK, "equal", flags=["parallelism.default=4"], job=path)
    try:
        jid = only_job(c)
        check(c.wait_state(jid, {"FINISHED", "FAILED"}) == "FINISHED", "job did not finish")
        out = c.tm_output()
    finally:
        c.stop()
    got = rt.window_results(out)
    check(got == want, f"{len(got)} windows, want {len(want)}")
    local = rt.run(path, "parallelism.default=4").stdout
    strip = lambda t: sorted(re.sub(r"^\d+> ", "", l) for l in t.splitlines() if "[" in l)  # noqa: E731
    check(strip(out) == strip(local), "distributed output differs from the one-process run")
    # both TaskManagers ran subtasks: rows printed by each
    for tm in c.tms:
        check("+I[" in tm.log(), "a TaskManager printed nothing")


@case("a TaskManager SIGKILLed mid-run: restart from the latest checkpoint on the survivor and a new TaskManager; results equal the unfailed run")
def tm_kill():
    p = rt.plan(options={"number-of-rows": "400000", "rows-per-second": "80000",
                         "fields.id.end": "399999"})
    path = rt.write_plan(p, "kill.json")
    want = rt.expected_windows(p)
    ck = os.path.join(WORK, "ck-kill")
    c = Cluster(WORK, "kill", flags=["parallelism.default=4", f"state.checkpoints.dir=file://{ck}",
                                     "execution.checkpointing.interval=200ms",
                                     "restart-strategy.type=fixed-delay",
                                     "restart-strategy.fixed-delay.attempts=10",
                                     "restart-strategy.fixed-delay.delay=300ms",
                                     "heartbeat.timeout=2s"], job=path)
    try:
        jid = only_job(c)
        c.wait_state(jid, {"RUNNING"})
        # wait for a completed checkpoint, then kill a TaskManager
        end = time.time() + 30
        while time.time() < end and c.get(f"/jobs/{jid}/checkpoints")["counts"]["completed"] < 2:
            time.sleep(0.05)
        check(c.get(f"/jobs/{jid}/checkpoints")["counts"]["completed"] >= 2, "no checkpoints")
        c.tms[0].kill(signal.SIGKILL)
        c.add_tm()
        st = c.wait_state(jid, {"FINISHED", "FAILED"}, timeout=180)
        check(st == "FINISHED", f"job ended {st}: {c.jm.log()[-2000:]}")
        m = {x["id"]: x["value"] for x in c.get(f"/jobs/{jid}/metrics?get=numRestarts")}
        check(int(m["numRestarts"]) >= 1, f"numRestarts {m}")
        jm_log = c.jm.log()
        check(re.search(r'msg="restarting job" job_id=\S+ restore=\S*chk-\d+', jm_log),
              "the restart did not restore a checkpoint")
        exc = c.get(f"/jobs/{jid}/exceptions")
        check(exc["exceptionHistory"]["entries"], "no exception recorded")
        out = c.tm_output()
    finally:
        c.stop()
    got = rt.window_results(out)
    check(got == want, f"{len(got)} windows, want {len(want)}; first difference: "
          f"{next(((k, got.get(k), v) for k, v in want.items() if got.get(k) != v), None)}")


@case("a JobManager SIGKILLed and started again (same job id) continues from the job's latest checkpoint, not from its start; results equal the unfailed run")
def jm_restart():
    p = rt.plan(options={"number-of-rows": "400000", "rows-per-second": "80000",
                         "fields.id.end": "399999"})
    path = rt.write_plan(p, "jmkill.json")
    want = rt.expected_windows(p)
    ck = os.path.join(WORK, "ck-jmkill")
    fixed = "0f" * 16
    c = Cluster(WORK, "jmkill", flags=["parallelism.default=2", f"state.checkpoints.dir=file://{ck}",
                                       "execution.checkpointing.interval=200ms",
                                       f"$internal.pipeline.job-id={fixed}",
                                       "heartbeat.timeout=2s"], job=path, tms=1)
    try:
        jid = only_job(c)
        check(jid == fixed, f"job id {jid}")
        c.wait_state(jid, {"RUNNING"})
        end = time.time() + 30
        while time.time() < end and c.get(f"/jobs/{jid}/checkpoints")["counts"]["completed"] < 3:
            time.sleep(0.05)
        before = c.get(f"/jobs/{jid}/checkpoints")["latest"]["completed"]["id"]
        c.restart_jm()
        st = c.wait_state(jid, {"FINISHED", "FAILED"}, timeout=180)
        check(st == "FINISHED", f"job ended {st}: {c.jm.log()[-2000:]}")
        log = c.jm.log()
        m = re.search(r'msg="recovering the job from its latest checkpoint" job_id=\S+ checkpoint=\S*chk-(\d+)', log)
        check(m and int(m.group(1)) >= before, f"not recovered from chk-{before} or later: {log[-1500:]}")
        cp = c.get(f"/jobs/{jid}/checkpoints")
        check(cp["counts"]["restored"] == 1, f"restored {cp['counts']}")
        check(cp["latest"]["completed"] is None or cp["latest"]["completed"]["id"] > int(m.group(1)),
              f"checkpoint ids continue after the recovered one: {cp['latest']}")
        out = c.tm_output()
    finally:
        c.stop()
    got = rt.window_results(out)
    check(got == want, f"{len(got)} windows, want {len(want)}; first difference: "
          f"{next(((k, got.get(k), v) for k, v in want.items() if got.get(k) != v), None)}")


@case("REST: savepoint with _metadata, stop-with-savepoint ends FINISHED, state continues through /jars/:id/run and a new JobManager")
def savepoints_rest():
    p = rt.plan(options={"number-of-rows": "300000", "rows-per-second": "60000",
                         "fields.id.end": "299999"})
    path = rt.write_plan(p, "sp.json")
    want = rt.expected_windows(p)
    spd = os.path.join(WORK, "sp")
    flags = ["parallelism.default=2", f"state.savepoints.dir=file://{spd}"]
    outs = []
    a = Cluster(WORK, "spA", flags=flags, job=path, tms=1)
    try:
        jid = only_job(a)
        a.wait_state(jid, {"RUNNING"})
        time.sleep(1.0)
        s, b = a.request("POST", f"/jobs/{jid}/savepoints", {"cancel-job": False})
        check(s == 202, f"savepoint trigger {s} {b}")
        loc = a.wait_trigger(jid, "savepoints", b["request-id"])["location"]
        check(loc.startswith("file:/") and os.path.exists(loc[5:] + "/_metadata"),
              f"savepoint location {loc}")
        check(a.job_state(jid) == "RUNNING", "the job stopped after a plain savepoint")
        time.sleep(0.5)
        s, b = a.request("POST", f"/jobs/{jid}/stop", {"drain": False,
                                                        "targetDirectory": f"file://{spd}/stop"})
        check(s == 202, f"stop {s} {b}")
        sp1 = a.wait_trigger(jid, "savepoints", b["request-id"])["location"]
        check(a.wait_state(jid, {"FINISHED", "FAILED"}) == "FINISHED", "stop did not finish the job")
        check(os.path.exists(sp1[5:] + "/_metadata") and "/stop/" in sp1, f"stop location {sp1}")
        outs.append(a.tm_output())
    finally:
        a.stop()
    # session cluster: upload the plan, run it from the savepoint
    b_ = Cluster(WORK, "spB", flags=flags, tms=1)
    try:
        b_.wait_tms(1)
        boundary = "----weirtest"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"jarfile\"; "
                f"filename=\"sp.json\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
        body += open(path, "rb").read() + f"\r\n--{boundary}--\r\n".encode()
        s, up = b_.request("POST", "/jars/upload", raw=body,
                           headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        check(s == 200 and up["status"] == "success", f"upload {s} {up}")
        jar = os.path.basename(up["filename"])
        check(any(f["id"] == jar for f in b_.get("/jars")["files"]), "uploaded file not listed")
        s, r = b_.request("POST", f"/jars/{jar}/run", {"savepointPath": sp1, "parallelism": 2})
        check(s == 200 and rt_hex(r.get("jobid")), f"run {s} {r}")
        jid = r["jobid"]
        b_.wait_state(jid, {"RUNNING"})
        time.sleep(1.0)
        s, b = b_.request("POST", f"/jobs/{jid}/stop", {"drain": False})
        check(s == 202, f"stop {s} {b}")
        sp2 = b_.wait_trigger(jid, "savepoints", b["request-id"])["location"]
        check(b_.wait_state(jid, {"FINISHED", "FAILED"}) == "FINISHED", "second stop")
        cp = b_.get(f"/jobs/{jid}/checkpoints")
        check(cp["counts"]["restored"] == 1 and cp["latest"]["restored"], f"restored {cp['counts']}")
        s, _ = b_.request("DELETE", f"/jars/{jar}")
        check(s == 200, f"delete jar {s}")
        outs.append(b_.tm_output())
    finally:
        b_.stop()
    # a new application JobManager with execution.savepoint.path
    c = Cluster(WORK, "spC", flags=flags + [f"execution.savepoint.path={sp2}"], job=path, tms=1)
    try:
        jid = only_job(c)
        check(c.wait_state(jid, {"FINISHED", "FAILED"}) == "FINISHED", "third run")
        outs.append(c.tm_output())
    finally:
        c.stop()
    got = rt.window_results("\n".join(outs))
    check(got == want, f"{len(got)} windows over three clusters, want {len(want)}")
    # disposal
    s, d = c_request_free(spd, sp1)
    check(s == 202, f"disposal {s} {d}")


def rt_hex(s):
    return isinstance(s, str) and re.match(r"^[0-9a-f]{32}$", s)


def c_request_free(spd, sp):
    """Disposes a savepoint through a fresh session JobManager."""
    c = Cluster(WORK, "dispose", tms=0)
    try:
        s, b = c.request("POST", "/savepoint-disposal", {"savepoint-path": sp})
        if s != 202:
            return s, b
        op = c.get(f"/savepoint-disposal/{b['request-id']}")
        check(op["status"]["id"] == "COMPLETED" and "failure-cause" not in op.get("operation", {}),
              f"disposal status {op}")
        check(not os.path.exists(sp[5:]), "savepoint still on disk")
        s2, b2 = c.request("POST", "/savepoint-disposal", {"savepoint-path": sp})
        op = c.get(f"/savepoint-disposal/{b2['request-id']}")
        check("failure-cause" in op.get("operation", {}), "disposing a missing savepoint succeeded")
        return s, b
    finally:
        c.stop()


@case("REST conformance suite against a running job; cancel ends CANCELED")
def conformance():
    p = rt.plan(options={"rows-per-second": "2000", "fields.id.end": "9000000000000"})
    del p["operators"][0]["options"]["number-of-rows"]
    path = rt.write_plan(p, "conf.json")
    ck, sp = os.path.join(WORK, "ck-conf"), os.path.join(WORK, "sp-conf")
    c = Cluster(WORK, "conf", flags=["parallelism.default=2", f"state.checkpoints.dir=file://{ck}",
                                     f"state.savepoints.dir=file://{sp}",
                                     "execution.checkpointing.interval=1h"], job=path, tms=1)
    try:
        jid = only_job(c)
        c.wait_state(jid, {"RUNNING"})
        time.sleep(0.5)
        f = rest_conformance.run(f"http://127.0.0.1:{c.rest}", jid, True)
        check(not f, "; ".join(f[:10]))
        s, b = c.request("PATCH", f"/jobs/{jid}?mode=cancel")
        check(s == 202, f"cancel {s} {b}")
        check(c.wait_state(jid, {"CANCELED"}) == "CANCELED", "not cancelled")
        r = c.get(f"/jobs/{jid}/execution-result")
        check(r["status"]["id"] == "COMPLETED" and
              r["job-execution-result"]["application-status"] == "CANCELED", f"result {r}")
        s, b = c.request("PATCH", f"/jobs/{jid}?mode=cancel")
        check(s == 409 and b.get("errors"), f"cancelling a cancelled job: {s} {b}")
        s, b = c.request("POST", f"/jobs/{jid}/savepoints", {})
        check(s == 409 and b.get("errors"), f"savepoint of a cancelled job: {s} {b}")
        s, b = c.request("DELETE", "/cluster")
        check(s == 200, f"DELETE /cluster: {s} {b}")
        c.jm.p.wait(timeout=15)
        check(c.jm.p.returncode == 0, f"JobManager exit code {c.jm.p.returncode}")
    finally:
        c.stop()
    # a savepoint with cancel-job ends the job CANCELED, with the savepoint's location
    c = Cluster(WORK, "cancelsp", flags=["parallelism.default=1", f"state.savepoints.dir=file://{sp}"],
                job=path, tms=1)
    try:
        jid = only_job(c)
        c.wait_state(jid, {"RUNNING"})
        time.sleep(0.3)
        s, b = c.request("POST", f"/jobs/{jid}/savepoints", {"cancel-job": True})
        check(s == 202, f"savepoint with cancel-job: {s} {b}")
        loc = c.wait_trigger(jid, "savepoints", b["request-id"])["location"]
        check(os.path.exists(loc[5:] + "/_metadata"), f"location {loc}")
        check(c.wait_state(jid, {"CANCELED", "FINISHED", "FAILED"}) == "CANCELED", "not CANCELED")
    finally:
        c.stop()


@case("a slow sink backpressures the sources: backpressured time grows, memory stays bounded")
def backpressure():
    plan = {
        "version": 1, "name": "slow-sink",
        "operators": [
            {"id": "src", "type": "source", "connector": "datagen", "parallelism": 2,
             "options": {"rows-per-second": "100000000", "fields.s.length": "200"},
             "schema": [{"name": "id", "type": "BIGINT"}, {"name": "s", "type": "STRING"}]},
            {"id": "out", "type": "sink", "input": "src", "connector": "blackhole",
             "parallelism": 2, "partition": "rebalance",
             "options": {"weir.throttle.rows-per-second": "5000"}}]}
    path = rt.write_plan(plan, "slow.json")
    c = Cluster(WORK, "bp", job=path, tms=2, slots=1, metrics=True)
    try:
        jid = only_job(c)
        c.wait_state(jid, {"RUNNING"})
        peak = 0
        for _ in range(30):
            time.sleep(0.1)
            for tm in c.tms:
                peak = max(peak, rss_kib(tm.p.pid))
        d = c.get(f"/jobs/{jid}")
        src = next(v for v in d["vertices"] if v["name"].startswith("src"))
        sink = next(v for v in d["vertices"] if v["name"].startswith("out"))
        bp = src["metrics"]["accumulated-backpressured-time"]
        busy = src["metrics"]["accumulated-busy-time"]
        check(bp > 3000, f"source backpressured {bp} ms, busy {busy} ms over 3 s with 2 subtasks")
        check(bp > 5 * busy, f"source should mostly wait: backpressured {bp} ms, busy {busy} ms")
        written = src["metrics"]["write-records"]
        check(written < 200000, f"the source wrote {written} rows past a 10k rows/s sink")
        check(peak < 64 * 1024, f"TaskManager RSS peaked at {peak} KiB (cap 64 MiB)")
        rt.check(sink["status"] == "RUNNING", "sink not running")
        # Prometheus: Flink's names, parsed by the reference parser
        from prometheus_client.parser import text_string_to_metric_families as parse
        import urllib.request
        series = {}
        for port in c.tm_metrics_ports + [c.jm_metrics_port]:
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
            for fam in parse(text.decode()):
                for smp in fam.samples:
                    series.setdefault(smp.name, []).append(smp)
        for name in ["flink_taskmanager_job_task_numRecordsIn",
                     "flink_taskmanager_job_task_numRecordsOutPerSecond",
                     "flink_taskmanager_job_task_busyTimeMsPerSecond",
                     "flink_taskmanager_job_task_backPressuredTimeMsPerSecond",
                     "flink_taskmanager_Status_numberOfTaskSlots",
                     "flink_jobmanager_numRegisteredTaskManagers", "flink_jobmanager_job_uptime",
                     "flink_jobmanager_job_numRestarts",
                     "flink_jobmanager_job_numberOfCompletedCheckpoints",
                     "flink_jobmanager_taskSlotsTotal"]:
            check(name in series, f"metric {name} missing")
        bp_src = [smp.value for smp in series["flink_taskmanager_job_task_backPressuredTimeMsPerSecond"]
                  if smp.labels["task_name"].startswith("src")]
        check(bp_src and max(bp_src) > 500, f"source backPressuredTimeMsPerSecond {bp_src}")
        check(series["flink_jobmanager_numRegisteredTaskManagers"][0].value == 2, "registered TMs")
    finally:
        c.stop()


def frame(kind, value=0, payload=b"", flags=0, magic=0x31465257):
    import zlib  # noqa: F401 - checksum is XXH3; tests send payload-less or wrong ones
    return struct.pack("<IBBHqII", magic, kind, flags, 0, value, len(payload), 0) + payload


@case("malformed data frames and control requests, oversized REST bodies: rejected with errors and log lines, processes stay up")
def malformed():
    p = rt.plan(options={"rows-per-second": "1000", "fields.id.end": "9000000000000"})
    del p["operators"][0]["options"]["number-of-rows"]
    path = rt.write_plan(p, "mal.json")
    c = Cluster(WORK, "mal", flags=["parallelism.default=2"], job=path, tms=1)
    try:
        jid = only_job(c)
        c.wait_state(jid, {"RUNNING"})
        port = c.get("/taskmanagers")["taskmanagers"][0]["dataPort"]
        for data in [b"GET / HTTP/1.1\r\n\r\n" + b"x" * 100,          # not a frame
                     frame(1, payload=b"short"),                        # hello too short
                     frame(12, value=-5),                               # barrier before hello
                     frame(1, payload=b"z" * 32 + b"\0" * 28),          # bad job id
                     struct.pack("<IBBHqII", 0x31465257, 10, 0, 0, 0, 0x7fffffff, 0)]:  # huge
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(data)
            s.settimeout(5)
            try:
                s.recv(4096)
            except (socket.timeout, ConnectionError):
                pass
            s.close()
        time.sleep(0.3)
        log = c.tms[0].log()
        check(log.count("data connection") >= 4, f"rejections not logged: {log[-1500:]}")
        check(c.tms[0].alive() and c.job_state(jid) == "RUNNING", "TaskManager or job harmed")
        # a body over the REST limit (64 MiB), announced by Content-Length: 413 before reading it
        s = socket.create_connection(("127.0.0.1", c.rest), timeout=10)
        s.sendall(f"POST /jobs/{jid}/savepoints HTTP/1.1\r\nHost: x\r\nContent-Type: "
                  f"application/json\r\nContent-Length: {70 * 1024 * 1024}\r\n\r\n{{".encode())
        resp = b""
        try:
            while b"\r\n\r\n" not in resp or not resp.rstrip().endswith(b"}"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                resp += chunk
        except socket.timeout:
            pass
        s.close()
        check(resp.startswith(b"HTTP/1.1 413") and b'"errors"' in resp, f"oversized body: {resp[:300]!r}")
        import urllib.request
        for body in [b"{bad", b'{"id": 5}', b"[]"]:
            r = urllib.request.Request(f"http://127.0.0.1:{c.rpc}/internal/v1/taskmanagers",
                                       data=body, method="POST")
            try:
                urllib.request.urlopen(r, timeout=5)
                check(False, f"control endpoint accepted {body!r}")
            except urllib.error.HTTPError as e:
                check(e.code == 400 and "errors" in json.loads(e.read()), f"control {e.code}")
        check(c.jm.alive() and c.job_state(jid) == "RUNNING", "JobManager or job harmed")
    finally:
        c.stop()


@case("UNION ALL and UNION across TaskManagers: 2 TaskManagers at parallelism 4, union consumers read producers in both; results equal the independent computation; the vertices list every input")
def union_across():
    path = rt.union_script("dist_union.sql")
    want1, want2, want3 = rt.union_expected()
    c = Cluster(WORK, "union", flags=["parallelism.default=4"], job=path)
    try:
        jid = only_job(c)
        check(c.wait_state(jid, {"FINISHED", "FAILED"}) == "FINISHED", "job did not finish")
        out = c.tm_output()
        nodes = c.get(f"/jobs/{jid}")["plan"]["nodes"]
    finally:
        c.stop()
    got1, got2, got3 = rt.union_results(out)
    check(got1 == want1, f"o1 {got1}, want {want1}")
    check(got3 == want3, f"o3 {got3}, want {want3}")
    check(got2 == want2, f"{len(got2)} windows, want {len(want2)}; differing: "
          f"{[(k, got2.get(k), v) for k, v in want2.items() if got2.get(k) != v][:5]}")
    # one consumer per query reads two inputs (the union), each from its own vertex; o3's is
    # the DISTINCT aggregation, hash-partitioned from both inputs across the TaskManagers
    multi = [n for n in nodes if len(n.get("inputs", [])) == 2]
    check(len(multi) == 3, f"vertices with two inputs: {multi}")
    check(any(i["ship_strategy"] == "HASH" for n in multi for i in n["inputs"]), "no HASH union edge")
    ids = {n["id"] for n in nodes}
    for n in multi:
        check([i["num"] for i in n["inputs"]] == [0, 1], f"input numbers {n['inputs']}")
        check(all(i["id"] in ids and i["id"] != n["id"] for i in n["inputs"]), f"inputs {n['inputs']}")


@case("the job file: jarURI naming the script, or upstream SQL-runner arguments after a runner jar")
def job_file():
    sql = os.path.join(rt.ROOT, "runtime", "sql", "examples", "sensor-aggregator.sql")
    for flags, args in [([f"pipeline.jars=local://{sql}"], []),
                        (["pipeline.jars=local:///opt/flink/usrlib/sql-runner.jar"], [sql])]:
        c = Cluster(WORK, "jobfile", flags=flags, job_args=args, tms=1, slots=3, application=True)
        try:
            jid = only_job(c)
            check(c.wait_state(jid, {"FINISHED", "FAILED"}) == "FINISHED", f"{flags} {args}")
            check(c.get(f"/jobs/{jid}")["name"] == "sensor-aggregator", "pipeline.name from SET")
            check("+I[" in c.tm_output(), "no results")
        finally:
            c.stop()


@case("bad jobs: a SQL error names line:column; a missing savepoint and unknown slots fail with clear errors")
def bad_jobs():
    bad = os.path.join(WORK, "bad.sql")
    with open(bad, "w") as f:
        f.write("CREATE TABLE t (a INT) WITH ('connector' = 'datagen');\nINSERT INTO t SELEC a FROM t;\n")
    r = subprocess.run([WEIR, "standalone-job", "-Drest.port=0", "-Djobmanager.rpc.port=0", bad],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and re.search(r":2:\d+", r.stderr), f"SQL error: {r.returncode} {r.stderr[-500:]}")
    path = rt.write_plan(rt.plan(), "nosp.json")
    r = subprocess.run([WEIR, "standalone-job", "-Drest.port=0", "-Djobmanager.rpc.port=0",
                        "--fromSavepoint", os.path.join(WORK, "nope"), path],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and "nope" in r.stderr, f"missing savepoint: {r.returncode} {r.stderr[-500:]}")
    c = Cluster(WORK, "slots", flags=["parallelism.default=8", "slot.request.timeout=1s"],
                job=path, tms=1, slots=2)
    try:
        jid = only_job(c)
        check(c.wait_state(jid, {"FAILED", "FINISHED"}) == "FAILED", "job with too few slots")
        exc = c.get(f"/jobs/{jid}/exceptions")
        check("NoResourceAvailable" in (exc.get("root-exception") or ""), f"exception {exc}")
    finally:
        c.stop()


if __name__ == "__main__":
    only = sys.argv[1:]
    for fn in [equal_results, tm_kill, jm_restart, savepoints_rest, conformance, backpressure, malformed,
               union_across, job_file, bad_jobs]:
        if not only or fn.__name__ in only:
            fn()
    shutil.rmtree(WORK, ignore_errors=True)
    print(f"CASES passed={rt.passed} failed={rt.failed}")
    sys.exit(1 if rt.failed else 0)
