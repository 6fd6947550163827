#!/usr/bin/python3
"""The apiserver's floor for the operator burst: the same writes the operator makes for N new
FlinkDeployments (create, finalizer patch, two status updates, an Event, five server-side
applies of the real child objects), issued by a client that does nothing else, from the same
number of threads as the operator's workers. The time this takes is the least any operator
could need on this control plane; compare it with the burst's time in bench.py's results.

    apiserver_floor.py --template-ns NS --template NAME [--n 1000] [--threads 16]

The children of an existing FlinkDeployment (NS/NAME, reconciled by the operator) are the
templates, so the objects written have the operator's sizes and shapes. Writes into a fresh
namespace; run against the benchmark's control plane (bench/operator/run.sh leaves it up).
"""
import argparse
import copy
import json
import threading
import time
import os
import urllib.error
import urllib.request
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (start_proxy: the same kubectl proxy the burst harness uses)

GROUP = bench.GROUP


def req(base, method, path, body=None, ctype="application/json"):
    r = urllib.request.Request(base + path, method=method,
                               data=json.dumps(body).encode() if body is not None else None,
                               headers={"Content-Type": ctype})
    with urllib.request.urlopen(r) as resp:
        return json.loads(resp.read() or b"null")


def clean(obj):
    md = obj["metadata"]
    for k in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation",
              "ownerReferences", "annotations"):
        md.pop(k, None)
    obj.pop("status", None)
    spec = obj.get("spec", {})
    for k in ("clusterIP", "clusterIPs"):  # allocated per Service
        spec.pop(k, None)
    return obj


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--template-ns", required=True)
    ap.add_argument("--template", required=True)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=16)
    a = ap.parse_args()
    proxy, base = bench.start_proxy()
    ns = "weir-floor-%d" % int(time.time())
    req(base, "POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    tns, tn = a.template_ns, a.template
    fd = clean(req(base, "GET", GROUP + "/namespaces/%s/flinkdeployments/%s" % (tns, tn)))
    status = req(base, "GET", GROUP + "/namespaces/%s/flinkdeployments/%s" % (tns, tn))["status"]
    kids = [("/api/v1", "configmaps", "flink-config-" + tn),
            ("/apis/apps/v1", "deployments", tn),
            ("/api/v1", "services", tn),
            ("/api/v1", "services", tn + "-rest"),
            ("/apis/apps/v1", "deployments", tn + "-taskmanager")]
    templates = [(api, plural, clean(req(base, "GET", "%s/namespaces/%s/%s/%s" %
                                         (api, tns, plural, name))), name) for api, plural, name in kids]

    def one(i):
        name = "floor-%05d" % i
        f = copy.deepcopy(fd)
        f["metadata"] = {"name": name, "namespace": ns}
        f.pop("status", None)
        cur = req(base, "POST", GROUP + "/namespaces/%s/flinkdeployments" % ns, f)
        req(base, "PATCH", GROUP + "/namespaces/%s/flinkdeployments/%s" % (ns, name),
            [{"op": "add", "path": "/metadata/finalizers",
              "value": ["flinkdeployments.flink.apache.org/finalizer"]}],
            "application/json-patch+json")
        cur = req(base, "GET", GROUP + "/namespaces/%s/flinkdeployments/%s" % (ns, name))
        for _ in range(2):
            cur["status"] = status
            cur = req(base, "PUT", GROUP + "/namespaces/%s/flinkdeployments/%s/status" %
                      (ns, name), cur)
        req(base, "POST", "/api/v1/namespaces/%s/events" % ns, {
            "metadata": {"name": name + ".submit", "namespace": ns},
            "involvedObject": {"kind": "FlinkDeployment", "name": name, "namespace": ns},
            "reason": "Submit", "message": "Starting deployment", "type": "Normal"})
        for api, plural, t, tname in templates:
            o = json.loads(json.dumps(t).replace(tn, name))
            o["metadata"]["namespace"] = ns
            req(base, "PATCH", "%s/namespaces/%s/%s/%s?fieldManager=floor&force=true" %
                (api, ns, plural, o["metadata"]["name"]), o, "application/apply-patch+yaml")

    todo = list(range(a.n))
    lock = threading.Lock()

    errors = []

    def worker():
        while True:
            with lock:
                if not todo or errors:
                    return
                i = todo.pop(0)
            try:
                one(i)
            except urllib.error.HTTPError as e:
                with lock:
                    errors.append("%s: %s" % (e, e.read().decode()[:300]))

    t0 = time.time()
    ths = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    dt = time.time() - t0
    if errors:
        print("apiserver_floor: " + errors[0], file=sys.stderr)
        proxy.terminate()
        return 1
    writes = a.n * 11
    print(json.dumps({"n": a.n, "threads": a.threads, "writes": writes, "seconds": dt,
                      "writes_per_s": writes / dt, "namespace": ns}, indent=2))
    proxy.terminate()


if __name__ == "__main__":
    sys.exit(main())
