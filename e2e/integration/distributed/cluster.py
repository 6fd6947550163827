"""Starts and stops a Weir JobManager and TaskManagers on loopback for tests and benchmarks.

Every process is started here and ended here, by PID. Ports are picked free at start."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
WEIR = os.environ.get("WEIR_BIN", os.path.join(ROOT, "build", "bin", "weir"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Proc:
    def __init__(self, args, log):
        self.log_path = log
        self.logf = open(log, "w")
        self.p = subprocess.Popen(args, stdout=self.logf, stderr=subprocess.STDOUT)

    def log(self):
        if not self.logf.closed:
            self.logf.flush()
        with open(self.log_path) as f:
            return f.read()

    def alive(self):
        return self.p.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            self.p.send_signal(sig)
        try:
            self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.logf.close()


class Cluster:
    """A JobManager (session, or application with `job`) and TaskManagers."""

    def __init__(self, work, name, flags=(), job=None, job_args=(), tms=2, slots=2, tm_flags=(),
                 metrics=False, application=False):
        self.work = work
        self.name = name
        self.rest = free_port()
        self.rpc = free_port()
        self.flags = [f"rest.port={self.rest}", f"jobmanager.rpc.port={self.rpc}",
                      "jobmanager.rpc.address=127.0.0.1", "rest.bind-address=127.0.0.1",
                      "heartbeat.timeout=3s", "execution.shutdown-on-application-finish=false",
                      f"io.tmp.dirs={work}"] + list(flags)
        self.tm_flags = list(tm_flags)
        self.slots = slots
        self.tms = []
        self.metrics = metrics
        self.tm_metrics_ports = []
        if metrics:
            self.jm_metrics_port = free_port()
            self.flags.append(f"metrics.reporter.prom.port={self.jm_metrics_port}")
        app = job or job_args or application
        args = [WEIR, "standalone-job" if app else "jobmanager"] + [f"-D{f}" for f in self.flags]
        args += list(job_args)
        if job:
            args.append(job)
        self.t0 = time.time()
        self.jm_args = args
        self.jm_runs = 0
        self.jm = Proc(args, os.path.join(work, f"{name}-jm.log"))
        self.wait_rest()
        for _ in range(tms):
            self.add_tm()

    def restart_jm(self):
        """SIGKILLs the JobManager and starts it again with the same arguments and ports (a
        JobManager pod restarted by Kubernetes); the TaskManagers stay."""
        self.jm.kill(signal.SIGKILL)
        self.jm_runs += 1
        self.t0 = time.time()
        self.jm = Proc(self.jm_args, os.path.join(self.work, f"{self.name}-jm{self.jm_runs}.log"))
        self.wait_rest()

    def add_tm(self, slots=None):
        i = len(self.tms)
        args = [WEIR, "taskmanager", f"-Djobmanager.rpc.port={self.rpc}",
                "-Djobmanager.rpc.address=127.0.0.1", "-Dtaskmanager.host=127.0.0.1",
                f"-Dtaskmanager.numberOfTaskSlots={slots or self.slots}",
                f"-Dio.tmp.dirs={self.work}"] + [f"-D{f}" for f in self.tm_flags]
        if self.metrics:
            port = free_port()
            self.tm_metrics_ports.append(port)
            args.append(f"-Dmetrics.reporter.prom.port={port}")
        tm = Proc(args, os.path.join(self.work, f"{self.name}-tm{i}.log"))
        self.tms.append(tm)
        return tm

    def url(self, path):
        return f"http://127.0.0.1:{self.rest}{path}"

    def wait_rest(self, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            try:
                self.get("/config")
                self.ready_ms = (time.time() - self.t0) * 1000
                return
            except (urllib.error.URLError, ConnectionError):
                if not self.jm.alive():
                    raise AssertionError("JobManager exited: " + self.jm.log()[-2000:])
                time.sleep(0.01)
        raise AssertionError("REST did not come up")

    def request(self, method, path, body=None, headers=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = {"Content-Type": "application/json"} if data is not None and raw is None else {}
        h.update(headers or {})
        req = urllib.request.Request(self.url(path), data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read().decode()
                return r.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text

    def get(self, path):
        s, b = self.request("GET", path)
        if s != 200:
            raise AssertionError(f"GET {path}: {s} {b}")
        return b

    def wait_tms(self, n, timeout=15):
        end = time.time() + timeout
        while time.time() < end:
            if self.get("/overview")["taskmanagers"] >= n:
                return
            time.sleep(0.05)
        raise AssertionError(f"{n} TaskManagers did not register")

    def job_state(self, jid):
        return self.get(f"/jobs/{jid}/status")["status"]

    def wait_state(self, jid, states, timeout=120):
        end = time.time() + timeout
        st = None
        while time.time() < end:
            st = self.job_state(jid)
            if st in states:
                return st
            time.sleep(0.05)
        raise AssertionError(f"job {jid} is {st}, wanted {states}; JM log: {self.jm.log()[-3000:]}")

    def wait_trigger(self, jid, kind, tid, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            b = self.get(f"/jobs/{jid}/{kind}/{tid}")
            if b["status"]["id"] == "COMPLETED":
                return b["operation"]
            time.sleep(0.05)
        raise AssertionError(f"{kind} {tid} did not complete")

    def tm_output(self):
        return "\n".join(tm.log() for tm in self.tms)

    def stop(self):
        for tm in self.tms:
            tm.kill(signal.SIGTERM)
        self.jm.kill(signal.SIGTERM)
        # with a sanitizer build (WEIR_BIN), any report fails the test that started the cluster
        for p in [self.jm] + self.tms:
            log = p.log()
            for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                if marker in log:
                    i = log.index(marker)
                    raise AssertionError(f"{p.log_path}: {log[i:i + 3000]}")
