#!/usr/bin/env python3
"""Flink REST API conformance: status codes, field names and types of the endpoints an
operator uses, and {"errors": [...]} for bad requests.

    rest_conformance.py BASE_URL JOB_ID [--checkpoints]

Point it at any JobManager (Weir's or Apache Flink's) with a RUNNING job JOB_ID. With
--checkpoints the job must have state.checkpoints.dir and state.savepoints.dir configured;
the suite then triggers a checkpoint and a savepoint (the job keeps running). Exits 0 when every
assertion holds; prints one line per failed assertion otherwise."""
import json
import re
import sys
import time
import urllib.error
import urllib.request

HEX32 = re.compile(r"^[0-9a-f]{32}$")
failures = []


def req(base, method, path, body=None, raw=None, headers=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    h = {"Content-Type": "application/json"} if data is not None else {}
    h.update(headers or {})
    r = urllib.request.Request(base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            text = resp.read().decode()
            return resp.status, json.loads(text) if text.strip() else None
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text


def expect(cond, what):
    if not cond:
        failures.append(what)


def has(obj, path, types):
    """Asserts obj[path] exists with one of `types` (a type or tuple)."""
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict) or p not in cur:
            failures.append(f"missing field {path}")
            return None
        cur = cur[p]
    if not isinstance(cur, types) or (isinstance(cur, bool) and bool not in (
            types if isinstance(types, tuple) else (types,))):
        failures.append(f"{path}: {type(cur).__name__} is not {types}")
    return cur


def is_error(status, body, code, what):
    expect(status == code, f"{what}: status {status}, want {code}")
    expect(isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]
           and all(isinstance(e, str) for e in body["errors"]),
           f"{what}: body is not {{'errors': [...]}}: {str(body)[:200]}")


def run(base, jid, checkpoints):
    num = (int, float)
    s, b = req(base, "GET", "/config")
    expect(s == 200, f"/config {s}")
    for f, t in [("refresh-interval", int), ("timezone-name", str), ("timezone-offset", int),
                 ("flink-version", str), ("flink-revision", str), ("features", dict)]:
        has(b, f, t)
    s, b = req(base, "GET", "/v1/config")
    expect(s == 200, f"/v1/config {s}")
    s, b = req(base, "GET", "/overview")
    expect(s == 200, f"/overview {s}")
    for f in ["taskmanagers", "slots-total", "slots-available", "jobs-running", "jobs-finished",
              "jobs-cancelled", "jobs-failed"]:
        has(b, f, int)
    has(b, "flink-version", str)
    s, b = req(base, "GET", "/jobs")
    expect(s == 200 and any(j["id"] == jid for j in b.get("jobs", [])), f"/jobs {s} {b}")
    for j in b.get("jobs", []):
        expect(HEX32.match(j.get("id", "")), f"/jobs id {j}")
        has(j, "status", str)
    s, b = req(base, "GET", "/jobs/overview")
    expect(s == 200, f"/jobs/overview {s}")
    mine = [j for j in b.get("jobs", []) if j.get("jid") == jid]
    expect(len(mine) == 1, "/jobs/overview lacks the job")
    for j in mine:
        for f, t in [("jid", str), ("name", str), ("state", str), ("start-time", int),
                     ("end-time", int), ("duration", int), ("last-modification", int),
                     ("tasks", dict)]:
            has(j, f, t)
        for f in ["total", "running", "finished", "canceled", "failed", "created"]:
            has(j, "tasks." + f, int)
        expect(j["state"] == "RUNNING", f"job state {j['state']}")
    s, b = req(base, "GET", f"/jobs/{jid}")
    expect(s == 200, f"/jobs/:id {s}")
    for f, t in [("jid", str), ("name", str), ("isStoppable", bool), ("state", str),
                 ("start-time", int), ("end-time", int), ("duration", int),
                 ("maxParallelism", int), ("now", int), ("timestamps", dict),
                 ("vertices", list), ("status-counts", dict), ("plan", dict)]:
        has(b, f, t)
    for v in b.get("vertices", []):
        for f, t in [("id", str), ("name", str), ("parallelism", int), ("maxParallelism", int),
                     ("status", str), ("start-time", int), ("end-time", int), ("duration", int),
                     ("tasks", dict), ("metrics", dict)]:
            has(v, f, t)
        expect(HEX32.match(v.get("id", "")), f"vertex id {v.get('id')}")
        for m in ["read-records", "write-records", "accumulated-busy-time",
                  "accumulated-backpressured-time"]:
            has(v, "metrics." + m, int)
    has(b, "plan.nodes", list)
    s, b = req(base, "GET", f"/jobs/{jid}/status")
    expect(s == 200 and b.get("status") == "RUNNING", f"/jobs/:id/status {s} {b}")
    s, b = req(base, "GET", f"/jobs/{jid}/checkpoints")
    expect(s == 200, f"checkpoints {s}")
    for f in ["counts.restored", "counts.total", "counts.in_progress", "counts.completed",
              "counts.failed"]:
        has(b, f, int)
    has(b, "summary", dict)
    has(b, "latest", dict)
    has(b, "history", list)
    s, b = req(base, "GET", f"/jobs/{jid}/checkpoints/config")
    expect(s == 200, f"checkpoints/config {s}")
    for f, t in [("mode", str), ("interval", int), ("timeout", int), ("min_pause", int),
                 ("max_concurrent", int), ("externalization", dict)]:
        has(b, f, t)
    s, b = req(base, "GET", f"/jobs/{jid}/exceptions")
    expect(s == 200, f"exceptions {s}")
    has(b, "exceptionHistory.entries", list)
    has(b, "exceptionHistory.truncated", bool)
    s, b = req(base, "GET", f"/jobs/{jid}/execution-result")
    expect(s == 200 and b.get("status", {}).get("id") == "IN_PROGRESS",
           f"execution-result {s} {b}")
    s, b = req(base, "GET", f"/jobs/{jid}/metrics")
    expect(s == 200 and isinstance(b, list) and all("id" in m for m in b), f"metrics list {s}")
    s, b = req(base, "GET", f"/jobs/{jid}/metrics?get=numRestarts,uptime")
    expect(s == 200 and isinstance(b, list) and {m.get("id") for m in b} == {"numRestarts", "uptime"}
           and all(isinstance(m.get("value"), str) for m in b), f"metrics get {s} {b}")
    s, b = req(base, "GET", "/taskmanagers")
    expect(s == 200, f"/taskmanagers {s}")
    for tm in b.get("taskmanagers", []):
        for f, t in [("id", str), ("path", str), ("dataPort", int), ("timeSinceLastHeartbeat", int),
                     ("slotsNumber", int), ("freeSlots", int), ("totalResource", dict),
                     ("freeResource", dict), ("hardware", dict), ("memoryConfiguration", dict)]:
            has(tm, f, t)
    s, b = req(base, "GET", "/jobmanager/config")
    expect(s == 200 and isinstance(b, list) and all({"key", "value"} <= set(e) for e in b),
           f"/jobmanager/config {s}")
    s, b = req(base, "GET", "/jars")
    expect(s == 200 and isinstance(b.get("files"), list), f"/jars {s} {b}")

    # bad requests
    unknown = "0123456789abcdef0123456789abcdef"
    s, b = req(base, "GET", f"/jobs/{unknown}")
    is_error(s, b, 404, "unknown job")
    s, b = req(base, "GET", f"/jobs/{unknown}/status")
    is_error(s, b, 404, "unknown job status")
    s, b = req(base, "PATCH", f"/jobs/{unknown}?mode=cancel")
    is_error(s, b, 404, "cancel unknown job")
    s, b = req(base, "POST", f"/jobs/{jid}/savepoints", raw=b"{not json")
    is_error(s, b, 400, "malformed JSON")
    s, b = req(base, "DELETE", f"/jobs/{jid}/status")
    is_error(s, b, 405, "wrong method")
    s, b = req(base, "GET", f"/jobs/{jid}/savepoints/{unknown}")
    is_error(s, b, 404, "unknown trigger id")
    s, b = req(base, "GET", "/no/such/path")
    is_error(s, b, 404, "unknown path")
    s, b = req(base, "POST", f"/jobs/{jid}/savepoints", body={"triggerId": "xyz"})
    is_error(s, b, 400, "bad trigger id")
    s, b = req(base, "GET", f"/jobs/{jid}/checkpoints/details/999999")
    is_error(s, b, 404, "unknown checkpoint")
    s, b = req(base, "POST", "/jars/upload", raw=b"plain", headers={"Content-Type": "text/plain"})
    is_error(s, b, 400, "upload without multipart")
    s, b = req(base, "POST", f"/jars/{unknown}.sql/run", body={})
    is_error(s, b, 400, "run unknown jar")

    if checkpoints:
        s, b = req(base, "POST", f"/jobs/{jid}/checkpoints", body={"checkpointType": "FULL"})
        expect(s == 202 and HEX32.match(b.get("request-id", "")), f"checkpoint trigger {s} {b}")
        op = poll(base, f"/jobs/{jid}/checkpoints/{b.get('request-id')}")
        expect(isinstance(op.get("checkpointId"), int), f"checkpoint operation {op}")
        if isinstance(op.get("checkpointId"), int):
            s, d = req(base, "GET", f"/jobs/{jid}/checkpoints/details/{op['checkpointId']}")
            expect(s == 200, f"checkpoint details {s}")
            for f, t in [("id", int), ("status", str), ("is_savepoint", bool),
                         ("trigger_timestamp", int), ("latest_ack_timestamp", int),
                         ("end_to_end_duration", int), ("num_subtasks", int),
                         ("num_acknowledged_subtasks", int), ("checkpoint_type", str),
                         ("external_path", str)]:
                has(d, f, t)
        tid = "%032x" % int(time.time() * 1000)
        s, b = req(base, "POST", f"/jobs/{jid}/savepoints",
                   body={"cancel-job": False, "formatType": "CANONICAL", "triggerId": tid})
        expect(s == 202 and b.get("request-id") == tid, f"savepoint trigger {s} {b}")
        s2, b2 = req(base, "POST", f"/jobs/{jid}/savepoints",
                     body={"cancel-job": False, "triggerId": tid})
        expect(s2 == 202 and b2.get("request-id") == tid, "triggerId is not idempotent")
        op = poll(base, f"/jobs/{jid}/savepoints/{tid}")
        expect(isinstance(op.get("location"), str), f"savepoint operation {op}")
        s, b = req(base, "GET", f"/jobs/{jid}/checkpoints")
        expect(b.get("counts", {}).get("completed", 0) >= 2, f"counts after snapshots {b.get('counts')}")
    return failures


def poll(base, path, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        s, b = req(base, "GET", path)
        if s != 200:
            failures.append(f"{path}: {s} {b}")
            return {}
        if b.get("status", {}).get("id") == "COMPLETED":
            return b.get("operation", {})
        expect(b.get("status", {}).get("id") == "IN_PROGRESS", f"{path}: status {b}")
        time.sleep(0.05)
    failures.append(f"{path}: not completed in {timeout} s")
    return {}


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    f = run(sys.argv[1].rstrip("/"), sys.argv[2], "--checkpoints" in sys.argv[3:])
    for x in f:
        print("FAIL", x)
    print(f"conformance: {len(f)} failures")
    sys.exit(1 if f else 0)
