#!/usr/bin/python3
"""Checks Weir's CRDs against the real apiserver with kubectl (KUBECONFIG from up.sh).

    crdtest.py valid FILE...     every document applies unchanged (client-side apply), and a
                                 second server-side apply changes nothing (same resourceVersion)
    crdtest.py invalid CASES     each case is rejected, naming the expected field and message
    crdtest.py kubectl           printer columns, `kubectl get flink`, explain, scale, status
    crdtest.py fields ROOT       every spec field path the operator's C code reads exists in
                                 the CRDs (crds/generate.py --fields): the two cannot drift

Prints PASS/FAIL lines and a final "CASES passed=N failed=M" line (read by run-tests.sh).
"""
import json
import os
import subprocess
import sys

import yaml

PASSED = 0
FAILED = 0
# A namespace of this run: without a controller-manager (up.sh --no-node) deleted namespaces
# never finish terminating, so runs do not reuse them.
TEST_NS = "weir-crdtest-%d" % os.getpid()


def result(ok, name, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print("PASS %s" % name)
    else:
        FAILED += 1
        print("FAIL %s%s" % (name, (": " + detail) if detail else ""))


def kubectl(*args, stdin=None, check=False):
    p = subprocess.run(["kubectl"] + list(args), input=stdin, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError("kubectl %s: %s" % (" ".join(args), p.stderr.strip()))
    return p


def ensure_ns(ns):
    if kubectl("get", "namespace", ns).returncode != 0:
        kubectl("create", "namespace", ns, check=True)


def doc_ns(doc):
    if doc.get("kind") in ("IngressClass",):
        return None
    return doc.get("metadata", {}).get("namespace") or TEST_NS


def apply_args(doc, *extra):
    ns = doc_ns(doc)
    explicit = doc.get("metadata", {}).get("namespace")
    args = ["apply", "-f", "-", "-o", "json"] + list(extra)
    if ns and not explicit:
        args += ["-n", ns]
    return args


def delete(doc):
    ns = doc_ns(doc)
    # no waiting: a PVC keeps its protection finalizer until a controller-manager runs
    args = ["delete", "--ignore-not-found", "--wait=false", "-f", "-"]
    if ns and not doc.get("metadata", {}).get("namespace"):
        args += ["-n", ns]
    kubectl(*args, stdin=yaml.safe_dump(doc))


def cmd_valid(files):
    for path in files:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        name = path.split("/fixtures/")[-1]
        for d in docs:
            if doc_ns(d):
                ensure_ns(doc_ns(d))
        # 1. client-side apply, exactly as users do
        ok, detail = True, ""
        for d in docs:
            p = kubectl(*apply_args(d), stdin=yaml.safe_dump(d))
            if p.returncode != 0:
                ok, detail = False, "%s/%s: %s" % (d["kind"], d["metadata"]["name"],
                                                   p.stderr.strip())
                break
        result(ok, "apply %s (%d objects)" % (name, len(docs)), detail)
        for d in reversed(docs):
            # other kinds stay: a PVC keeps its protection finalizer without a controller-manager
            if d.get("apiVersion", "").startswith("flink.apache.org/"):
                delete(d)
        # 2. server-side apply twice: the second changes nothing (Flink kinds; the other
        #    documents of a file may still be terminating)
        ok, detail = True, ""
        for d in docs:
            if not d.get("apiVersion", "").startswith("flink.apache.org/"):
                continue
            first = kubectl(*apply_args(d, "--server-side", "--field-manager=crdtest"),
                            stdin=yaml.safe_dump(d))
            second = kubectl(*apply_args(d, "--server-side", "--field-manager=crdtest"),
                             stdin=yaml.safe_dump(d))
            if first.returncode != 0 or second.returncode != 0:
                ok, detail = False, (first.stderr or second.stderr).strip()
                break
            rv1 = json.loads(first.stdout)["metadata"]["resourceVersion"]
            rv2 = json.loads(second.stdout)["metadata"]["resourceVersion"]
            if rv1 != rv2:
                ok, detail = False, "%s/%s: resourceVersion %s -> %s" % (
                    d["kind"], d["metadata"]["name"], rv1, rv2)
                break
        result(ok, "server-side apply %s twice: unchanged" % name, detail)
        for d in reversed(docs):
            if d.get("apiVersion", "").startswith("flink.apache.org/"):
                delete(d)


def cmd_invalid(cases_file):
    with open(cases_file) as f:
        cases = yaml.safe_load(f)
    ensure_ns(TEST_NS)
    for c in cases:
        before = c.get("before")
        obj = c["object"]
        try:
            if before:
                kubectl("apply", "-n", TEST_NS, "-f", "-", stdin=yaml.safe_dump(before),
                        check=True)
                p = kubectl("apply", "-n", TEST_NS, "--dry-run=server", "-f", "-",
                            stdin=yaml.safe_dump(obj))
            else:
                p = kubectl("create", "-n", TEST_NS, "--dry-run=server", "-f", "-",
                            stdin=yaml.safe_dump(obj))
        finally:
            if before:
                kubectl("delete", "-n", TEST_NS, "--ignore-not-found", "-f", "-",
                        stdin=yaml.safe_dump(before))
        err = p.stderr.strip()
        field, message = c["field"], c["message"]
        ok = p.returncode != 0 and (field + ":") in err and message in err
        result(ok, "rejects: %s" % c["name"],
               "" if ok else "rc=%d, want '%s: ...%s...', got: %s" % (
                   p.returncode, field, message, err or p.stdout.strip()))
    print("invalid cases: %d" % len(cases))


FD = """
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata: {name: scaled}
spec:
  image: weir/runtime:dev
  flinkVersion: v1_20
  serviceAccount: flink
  flinkConfiguration: {taskmanager.numberOfTaskSlots: "2"}
  taskManager: {replicas: 1, resource: {memory: 1g, cpu: 1}}
  job: {jarURI: "local:///opt/flink/usrlib/job.sql", parallelism: 2}
"""


def cmd_kubectl():
    ensure_ns(TEST_NS)
    n = ["-n", TEST_NS]
    kubectl("apply", *n, "-f", "-", stdin=FD, check=True)
    kubectl("apply", *n, "-f", "-", stdin="""
apiVersion: flink.apache.org/v1beta1
kind: FlinkSessionJob
metadata: {name: sj}
spec: {deploymentName: scaled, job: {parallelism: 1}}
---
apiVersion: flink.apache.org/v1beta1
kind: FlinkStateSnapshot
metadata: {name: snp}
spec: {jobReference: {kind: FlinkDeployment, name: scaled}, savepoint: {}}
""", check=True)
    try:
        st = kubectl("patch", *n, "flinkdep", "scaled", "--subresource=status", "--type=merge",
                     "-p", json.dumps({"status": {"jobStatus": {"state": "RUNNING"},
                                                  "lifecycleState": "STABLE",
                                                  "taskManager": {"replicas": 1,
                                                                  "labelSelector":
                                                                  "app=scaled,component="
                                                                  "taskmanager"}}}))
        result(st.returncode == 0, "status subresource accepts the operator's status",
               st.stderr.strip())
        p = kubectl("get", *n, "flinkdep")
        lines = p.stdout.splitlines()
        ok = (p.returncode == 0 and lines and "JOB STATUS" in lines[0] and
              "LIFECYCLE STATE" in lines[0] and "AGE" in lines[0] and
              any("RUNNING" in l and "STABLE" in l for l in lines[1:]))
        result(ok, "kubectl get flinkdep shows Job Status and Lifecycle State",
               p.stdout + p.stderr)
        p = kubectl("get", *n, "flink", "-o", "name")
        kinds = sorted(l.split("/")[0] for l in p.stdout.split())
        ok = kinds == ["flinkdeployment.flink.apache.org", "flinksessionjob.flink.apache.org",
                       "flinkstatesnapshot.flink.apache.org"]
        result(ok, "kubectl get flink lists all three kinds", p.stdout + p.stderr)
        p = kubectl("get", *n, "sessionjob,flinksnp", "-o", "name")
        result(p.returncode == 0 and "sj" in p.stdout and "snp" in p.stdout,
               "short names sessionjob and flinksnp", p.stderr)
        p = kubectl("explain", "flinkdeployment.spec.job.upgradeMode")
        ok = p.returncode == 0 and "last-state" in p.stdout and "savepoint" in p.stdout and \
            "stateless" in p.stdout
        result(ok, "kubectl explain flinkdeployment.spec.job.upgradeMode describes the modes",
               p.stdout + p.stderr)
        p = kubectl("explain", "flinkdeployment.spec.flinkConfiguration")
        result(p.returncode == 0 and "nested" in p.stdout, "kubectl explain flinkConfiguration",
               p.stderr)
        p = kubectl("scale", *n, "flinkdeployment", "scaled", "--replicas=3")
        g = kubectl("get", *n, "flinkdep", "scaled", "-o",
                    "jsonpath={.spec.taskManager.replicas}")
        result(p.returncode == 0 and g.stdout == "3",
               "kubectl scale --replicas=3 sets spec.taskManager.replicas",
               p.stderr + " got " + g.stdout)
        g = kubectl("get", *n, "flinkdep", "scaled", "--subresource=scale", "-o", "json")
        ok = g.returncode == 0 and json.loads(g.stdout)["status"].get("selector") == \
            "app=scaled,component=taskmanager"
        result(ok, "scale subresource reports the TaskManager label selector", g.stderr)
        p = kubectl("get", *n, "flinksnp", "snp")
        hdr = p.stdout.splitlines()[0] if p.stdout else ""
        result("PATH" in hdr and "RESULT TIMESTAMP" in hdr and "SNAPSHOT STATE" in hdr,
               "kubectl get flinksnp shows Path, Result Timestamp, Snapshot State", p.stdout)
    finally:
        kubectl("delete", *n, "flinkstatesnapshot,flinksessionjob,flinkdeployment", "--all")


SPEC_TOP = ("job", "jobManager", "taskManager", "ingress", "podTemplate", "logConfiguration",
            "flinkConfiguration", "image", "imagePullPolicy", "serviceAccount", "flinkVersion",
            "mode", "restartNonce", "deploymentName")
NOT_FIELDS = {"job.autoscaler"}  # a configuration key prefix that the code also names


def cmd_fields(root):
    import glob
    import re
    out = subprocess.run(["/usr/bin/python3", os.path.join(root, "crds/generate.py"),
                          "--fields"], capture_output=True, text=True, check=True).stdout
    known = {line.split(" ", 1)[1] for line in out.splitlines()
             if line.startswith(("FlinkDeployment ", "FlinkSessionJob "))}
    pat = re.compile(r'"((?:spec\.)?(?:%s)(?:\.[A-Za-z]+|\[[0-9]+\])*)"' % "|".join(SPEC_TOP))
    used = {}
    for path in glob.glob(os.path.join(root, "operator/**/*.c"), recursive=True):
        if "/tests/" in path:
            continue
        for m in pat.finditer(open(path).read()):
            f = m.group(1)
            if f in NOT_FIELDS:
                continue
            f = re.sub(r"\[[0-9]+\]", "[]", f)
            if not f.startswith("spec."):
                f = "spec." + f
            used.setdefault(f, os.path.relpath(path, root))
    def declared(f):
        if f in known:
            return True
        parts = f.split(".")  # a key of a map field: spec.jobManager.resources.requests.memory
        return any(".".join(parts[:i]) + ".*" in known for i in range(1, len(parts)))

    for f, where in sorted(used.items()):
        result(declared(f), "operator field %s (%s) is in the CRDs" % (f, where))
    result(len(used) > 10, "the operator reads %d spec fields" % len(used))


def main():
    mode = sys.argv[1]
    if mode == "valid":
        cmd_valid(sys.argv[2:])
    elif mode == "invalid":
        cmd_invalid(sys.argv[2])
    elif mode == "kubectl":
        cmd_kubectl()
    elif mode == "fields":
        cmd_fields(sys.argv[2])
    print("CASES passed=%d failed=%d" % (PASSED, FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
