#!/usr/bin/env python3
"""Distributed runtime numbers (see run.sh). Processes are started and ended here, by PID."""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "runtime"))
sys.path.insert(0, os.path.join(ROOT, "e2e", "integration", "distributed"))
import bench as rb  # noqa: E402
from cluster import WEIR, Cluster, free_port  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def jm_ready(work, n=10):
    """Wall time from exec to the first answered GET /config, session JobManager."""
    times = []
    for i in range(n):
        c = Cluster(work, f"ready{i}", tms=0)
        times.append(c.ready_ms)
        c.stop()
    return {"case": "jobmanager-ready", "runs": n, "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1)}


def tm_idle(work):
    c = Cluster(work, "idle", tms=2)
    try:
        c.wait_tms(2)
        time.sleep(0.5)
        rss = [status_kib(tm.p.pid, "VmRSS") for tm in c.tms]
        jm = status_kib(c.jm.p.pid, "VmRSS")
    finally:
        c.stop()
    return {"case": "idle-rss", "taskmanager_rss_mib": [round(r / 1024, 1) for r in rss],
            "jobmanager_rss_mib": round(jm / 1024, 1)}


def distributed(work, rows):
    plan = rb.tumble(rows)
    path = os.path.join(work, "tumble.json")
    with open(path, "w") as f:
        json.dump(plan, f)
    c = Cluster(work, "tput", flags=["parallelism.default=2"], tms=2, slots=1)
    try:
        c.wait_tms(2)
        pids = [c.jm.p.pid] + [tm.p.pid for tm in c.tms]
        before = sum(cpu_s(p) for p in pids)
        boundary = "b0undary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"jarfile\"; "
                f"filename=\"tumble.json\"\r\n\r\n").encode() + open(path, "rb").read() + \
            f"\r\n--{boundary}--\r\n".encode()
        s, up = c.request("POST", "/jars/upload", raw=body,
                          headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        jar = os.path.basename(up["filename"])
        t0 = time.monotonic()
        s, r = c.request("POST", f"/jars/{jar}/run", {})
        jid = r["jobid"]
        c.wait_state(jid, {"FINISHED", "FAILED"}, timeout=600)
        wall = time.monotonic() - t0
        cpu = sum(cpu_s(p) for p in pids) - before
        hwm = [status_kib(tm.p.pid, "VmHWM") for tm in c.tms]
        state = c.job_state(jid)
    finally:
        c.stop()
    if state != "FINISHED":
        sys.exit("distributed job failed")
    local = rb.run(plan, ["parallelism.default=2"], work)
    res = {"case": "tumble-p2-two-taskmanagers", "rows": rows, "wall_s": round(wall, 3),
           "cpu_s": round(cpu, 3), "rows_per_cpu_s": round(rows / cpu),
           "rows_per_s": round(rows / wall),
           "taskmanager_peak_rss_mib": [round(h / 1024, 1) for h in hwm],
           "local_p2_cpu_s": local["cpu_s"], "local_p2_rows_per_cpu_s": round(rows / local["cpu_s"]),
           "shuffle_overhead_pct": round((cpu / local["cpu_s"] - 1) * 100, 1)}
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--out")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="weir-bench-dist-")
    results = []
    try:
        for fn in (lambda: jm_ready(work), lambda: tm_idle(work),
                   lambda: distributed(work, a.rows)):
            r = fn()
            print(json.dumps(r), flush=True)
            results.append(r)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"date": time.strftime("%F"), "machine": os.uname().nodename,
                       "cores": os.cpu_count(), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
