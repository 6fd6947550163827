#!/usr/bin/python3
"""Operator burst benchmark: N FlinkDeployments created at once against the local control
plane; reports create -> JobManager Deployment latency (p50/p99/max), time until every resource
is reconciled (status.observedGeneration set), the operator's RSS (idle, peak, settled) and its
CPU seconds. The operator is any command (argv after --), so any operator can be measured the
same way. Talks to the apiserver through `kubectl proxy` (plain HTTP on loopback).

    bench.py --n 1000 --namespace bench --pid-file F -- <operator command...>
"""
import argparse
import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

GROUP = "/apis/flink.apache.org/v1beta1"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start_proxy():
    """`kubectl proxy` on a free loopback port: (process, base URL), once it answers."""
    port = free_port()
    proxy = subprocess.Popen(["kubectl", "proxy", "--port", str(port), "--address", "127.0.0.1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = "http://127.0.0.1:%d" % port
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/version", timeout=1).read()
            break
        except OSError:
            time.sleep(0.1)
    return proxy, base


def stop_process(proc):
    """SIGTERM, then SIGKILL if it has not exited within 30 s."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def fd_doc(name, ns):
    return {
        "apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"image": "weir/runtime:dev", "flinkVersion": "v1_20", "serviceAccount": "flink",
                 "flinkConfiguration": {"taskmanager.numberOfTaskSlots": "2"},
                 "jobManager": {"resource": {"memory": "1g", "cpu": 0.5}},
                 "taskManager": {"resource": {"memory": "1g", "cpu": 0.5}},
                 "job": {"jarURI": "local:///opt/flink/usrlib/job.sql", "parallelism": 2,
                         "upgradeMode": "stateless"}},
    }


def scrape(url, prefixes):
    """Prometheus text from url: {series: value} for the series starting with a prefix."""
    out = {}
    try:
        text = urllib.request.urlopen(url, timeout=5).read().decode()
    except OSError:
        return out
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(prefixes):
            continue
        name, _, value = line.rpartition(" ")
        try:
            out[name] = float(value)
        except ValueError:
            pass
    return out


def apiserver_writes(base):
    """Mutating requests the apiserver has served so far, summed over resources."""
    n = 0.0
    for series, v in scrape(base + "/metrics", ("apiserver_request_total{",)).items():
        if any('verb="%s"' % w in series for w in ("POST", "PUT", "PATCH", "DELETE", "APPLY",
                                                    "CREATE", "UPDATE")):
            n += v
    return n


def operator_requests(url):
    """The operator's own API requests by verb (Weir's metric names; empty for others)."""
    m = scrape(url, ("weir_operator_kube_requests_total",))
    return {k.split('verb="')[1].split('"')[0]: v for k, v in m.items() if 'verb="' in k}


def operator_timings(url):
    """The operator's queue wait and reconcile time so far: {name: (count, sum seconds)}."""
    m = scrape(url, ("weir_operator_workqueue_wait_seconds_", "weir_operator_reconcile_duration"))
    out = {}
    for k, v in m.items():
        base = "queue_wait" if k.startswith("weir_operator_workqueue") else "reconcile"
        if 'kind="' in k and 'kind="FlinkDeployment"' not in k:
            continue
        if k.split("{")[0].endswith("_count"):
            out.setdefault(base, [0.0, 0.0])[0] += v
        elif k.split("{")[0].endswith("_sum"):
            out.setdefault(base, [0.0, 0.0])[1] += v
    return out


def timing_diff(a, b):
    """Mean milliseconds per item between two operator_timings() samples."""
    res = {}
    for k in b:
        n = b[k][0] - a.get(k, [0, 0])[0]
        t = b[k][1] - a.get(k, [0, 0])[1]
        res[k] = {"count": n, "mean_ms": 1000.0 * t / n if n else None}
    return res


def diff(a, b):
    return {k: b.get(k, 0) - a.get(k, 0) for k in b if b.get(k, 0) - a.get(k, 0)}


def restart_phase(cmd, ready_url, metrics_url, n_total):
    """The operator started again with every resource of the run in place: start -> ready
    (caches synced), last cache synced -> workers started, and how long until each resource has
    been reconciled once (each finds nothing to change)."""
    t0 = time.monotonic()
    op = subprocess.Popen(cmd, stdout=open("/tmp/weir-bench-operator-restart.log", "w"),
                          stderr=subprocess.STDOUT)
    ready = None
    out = {}
    try:
        while time.monotonic() - t0 < 60 and ready is None:
            try:
                if urllib.request.urlopen(ready_url, timeout=1).status == 200:
                    ready = time.monotonic()
            except OSError:
                time.sleep(0.002)
        if ready is None:
            return out
        total = 0.0
        while time.monotonic() - ready < 120:
            m = scrape(metrics_url, ("weir_operator_reconcile_total",))
            total = sum(v for k, v in m.items() if 'kind="FlinkDeployment"' in k)
            if total >= n_total:
                break
            time.sleep(0.5)
        # from the operator's own log: last cache synced -> workers started (the first key is
        # taken at once: every resource is queued by the initial list)
        synced = started = None
        with open("/tmp/weir-bench-operator-restart.log") as f:
            for line in f:
                ts = line.split(" ", 1)[0].replace("ts=", "")
                if 'msg="informer synced"' in line:
                    synced = ts
                elif 'msg="workers started"' in line:
                    started = ts

        def ms_of(ts):
            t = time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")
            return (time.mktime(t) + float("0" + ts[19:-1])) * 1000.0
        out = {"start_to_ready_s": ready - t0,
               "synced_to_workers_started_ms":
                   ms_of(started) - ms_of(synced) if synced and started else None,
               "ready_to_all_rechecked_s": time.monotonic() - ready,
               "writes": operator_requests(metrics_url)}
    finally:
        stop_process(op)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--namespace", default="weir-bench")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--settle", type=float, default=10.0)
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--ready-url", default="")
    ap.add_argument("--steady", type=int, default=200,
                    help="after the burst settles, this many more creates at --rate per second")
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    proxy, base = start_proxy()
    ns = a.namespace
    req = urllib.request.Request(base + "/api/v1/namespaces", method="POST",
                                 data=json.dumps({"metadata": {"name": ns}}).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req).read()
    except urllib.error.HTTPError as e:
        if e.code != 409:
            raise

    # the operator
    t_start = time.monotonic()
    op = subprocess.Popen(cmd, stdout=open("/tmp/weir-bench-operator.log", "w"),
                          stderr=subprocess.STDOUT)
    ready_s = None
    if a.ready_url:
        while time.monotonic() - t_start < 60:
            try:
                if urllib.request.urlopen(a.ready_url, timeout=1).status == 200:
                    ready_s = time.monotonic() - t_start
                    break
            except OSError:
                pass
            time.sleep(0.02)
    time.sleep(2)
    idle_rss = rss_kib(op.pid)
    cpu0 = cpu_seconds(op.pid)
    metrics_url = a.ready_url.replace("/readyz", "/metrics") if a.ready_url else ""
    op_req0 = operator_requests(metrics_url) if metrics_url else {}
    tim0 = operator_timings(metrics_url) if metrics_url else {}
    api_w0 = apiserver_writes(base)

    # watch JobManager Deployments appear
    seen = {}
    created = {}
    lock = threading.Lock()
    stop = threading.Event()

    def watch():
        url = base + "/apis/apps/v1/namespaces/%s/deployments?watch=1&timeoutSeconds=%d" % (
            ns, int(a.timeout))
        with urllib.request.urlopen(url, timeout=a.timeout + 10) as r:
            for line in r:
                if stop.is_set():
                    return
                ev = json.loads(line)
                name = ev["object"]["metadata"]["name"]
                if ev["type"] == "ADDED" and not name.endswith("-taskmanager"):
                    with lock:
                        seen.setdefault(name, time.time())

    wt = threading.Thread(target=watch, daemon=True)
    wt.start()
    time.sleep(0.5)

    peak = [idle_rss]

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(op.pid))
            time.sleep(0.1)

    st = threading.Thread(target=sample, daemon=True)
    st.start()

    names = ["bench-%05d" % i for i in range(a.n)]
    t_burst = time.time()

    def creator(chunk):
        for name in chunk:
            body = json.dumps(fd_doc(name, ns)).encode()
            r = urllib.request.Request(base + GROUP + "/namespaces/%s/flinkdeployments" % ns,
                                       method="POST", data=body,
                                       headers={"Content-Type": "application/json"})
            t0 = time.time()
            urllib.request.urlopen(r).read()
            with lock:
                created[name] = t0

    chunks = [names[i::a.threads] for i in range(a.threads)]
    ths = [threading.Thread(target=creator, args=(c,)) for c in chunks]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    t_created = time.time()

    # wait: every JM Deployment seen and every resource reconciled
    deadline = time.time() + a.timeout
    all_jm = None
    all_reconciled = None
    while time.time() < deadline:
        with lock:
            n_seen = len([n for n in names if n in seen])
        if all_jm is None and n_seen == a.n:
            all_jm = time.time()
        if all_jm is not None:
            lst = json.loads(urllib.request.urlopen(
                base + GROUP + "/namespaces/%s/flinkdeployments" % ns).read())
            done = sum(1 for i in lst["items"]
                       if i.get("status", {}).get("observedGeneration"))
            if done == a.n:
                all_reconciled = time.time()
                break
        time.sleep(0.2)
    cpu_burst = cpu_seconds(op.pid) - cpu0
    t_burst_end = all_reconciled or time.time()
    op_req1 = operator_requests(metrics_url) if metrics_url else {}
    tim1 = operator_timings(metrics_url) if metrics_url else {}
    api_w1 = apiserver_writes(base)
    time.sleep(a.settle)
    settled = rss_kib(op.pid)
    op_req_s = operator_requests(metrics_url) if metrics_url else {}
    tim_s = operator_timings(metrics_url) if metrics_url else {}
    api_ws = apiserver_writes(base)

    # steady load: one create every 1/rate s, paced against the clock (no catching up in
    # bursts). Each create is sent from a pool of client threads, so a slow POST does not
    # hold back the next one and the rate is reached.
    steady = ["steady-%05d" % i for i in range(a.steady)]
    posted = {}

    def create_one(name):
        body = json.dumps(fd_doc(name, ns)).encode()
        r = urllib.request.Request(base + GROUP + "/namespaces/%s/flinkdeployments" % ns,
                                   method="POST", data=body,
                                   headers={"Content-Type": "application/json"})
        t0 = time.time()
        urllib.request.urlopen(r).read()
        t1 = time.time()
        with lock:
            created[name] = t0
            posted[name] = t1

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=a.threads)
    futs = []
    t_steady = time.time()
    for i, name in enumerate(steady):
        wait = t_steady + i / a.rate - time.time()
        if wait > 0:
            time.sleep(wait)
        futs.append(pool.submit(create_one, name))
    for f in futs:
        f.result()
    pool.shutdown()
    steady_rate = a.steady / max(time.time() - t_steady, 1e-9) if a.steady else None
    deadline = time.time() + 60
    while time.time() < deadline:
        with lock:
            if all(n in seen for n in steady):
                break
        time.sleep(0.1)
    time.sleep(2)  # the last ones' status writes
    op_req2 = operator_requests(metrics_url) if metrics_url else {}
    tim2 = operator_timings(metrics_url) if metrics_url else {}
    api_w2 = apiserver_writes(base)
    steady_writes = api_w2 - api_ws
    steady_lat = [(seen[n] - created[n]) * 1000.0 for n in steady if n in seen and n in created]
    # from the POST's response (the resource is stored) to its JobManager Deployment: the part
    # of the latency that is the operator's (plus one watch delivery each way)
    steady_op = [(seen[n] - posted[n]) * 1000.0 for n in steady if n in seen and n in posted]
    steady_post = [(posted[n] - created[n]) * 1000.0 for n in steady if n in posted]
    stop.set()
    lat = [(seen[n] - created[n]) * 1000.0 for n in names if n in seen and n in created]
    res = {
        "n": a.n,
        "start_to_ready_s": ready_s,
        "create_burst_s": t_created - t_burst,
        "create_to_jm_deployment_ms": {"p50": pct(lat, 50), "p99": pct(lat, 99),
                                       "max": max(lat) if lat else None, "count": len(lat)},
        "burst_to_all_jm_deployments_s": (all_jm - t_burst) if all_jm else None,
        "burst_to_all_reconciled_s": (all_reconciled - t_burst) if all_reconciled else None,
        "rss_mib": {"idle": idle_rss / 1024.0, "peak": peak[0] / 1024.0,
                    "settled": settled / 1024.0},
        "cpu_seconds_burst": cpu_burst,
        # every mutating request the apiserver served during the burst (the creates, the
        # operator's writes): with the burst's length, the write rate the apiserver sustained
        "burst_apiserver_writes": api_w1 - api_w0,
        "burst_apiserver_writes_per_s": (api_w1 - api_w0) / max(t_burst_end - t_burst, 1e-9),
        "burst_operator_requests": diff(op_req0, op_req1),
        # FlinkDeployment reconciles: how long a key waited in the queue, how long one took
        "burst_operator_timings": timing_diff(tim0, tim1),
        # while nothing changes (the settle pause): the operator should write nothing
        "settle_s": a.settle,
        "settle_apiserver_writes": api_ws - api_w1,
        "settle_operator_requests": diff(op_req1, op_req_s),
        "steady": {"creates": a.steady, "rate_per_s": steady_rate,
                   "apiserver_writes": steady_writes,
                   "operator_requests": diff(op_req_s, op_req2),
                   "operator_timings": timing_diff(tim_s, tim2),
                   "create_to_jm_deployment_ms": {
                       "p50": pct(steady_lat, 50), "p99": pct(steady_lat, 99),
                       "max": max(steady_lat) if steady_lat else None,
                       "count": len(steady_lat)},
                   "stored_to_jm_deployment_ms": {
                       "p50": pct(steady_op, 50), "p99": pct(steady_op, 99),
                       "max": max(steady_op) if steady_op else None},
                   "create_post_ms": {"p50": pct(steady_post, 50), "p99": pct(steady_post, 99)}},
        "command": " ".join(cmd),
    }
    stop_process(op)
    if metrics_url:
        res["restart"] = restart_phase(cmd, a.ready_url, metrics_url, a.n + a.steady)
    proxy.terminate()
    print(json.dumps(res, indent=2))
    return 0 if all_reconciled else 1


if __name__ == "__main__":
    sys.exit(main())
