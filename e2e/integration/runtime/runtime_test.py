#!/usr/bin/python3
"""Acceptance tests of the runtime engine: the real `weir run` process, real RocksDB, real files.

Each case prints PASS/FAIL; the last line is "CASES passed=N failed=M" for scripts/run-tests.sh.
Expected results are computed here, independently of the engine, from the datagen formula
documented in docs/connectors.md (runtime/connectors/tests/datagen_model.py).
"""
import collections
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "runtime", "connectors", "tests"))
import datagen_model  # noqa: E402

WEIR = os.environ.get("WEIR_BIN", os.path.join(ROOT, "build", "bin", "weir"))
EXAMPLE = os.path.join(ROOT, "runtime", "plan", "examples", "tumble-count.json")
ROW = re.compile(r"^(?:\S*> )?([+-][IUD])\[(.*)\]$")

passed = failed = 0
WORK = tempfile.mkdtemp(prefix="weir-rt-")


def case(name):
    def wrap(fn):
        def run():
            global passed, failed
            t0 = time.time()
            try:
                fn()
                passed += 1
                print(f"PASS {name} ({time.time() - t0:.1f}s)", flush=True)
            except Exception as e:  # noqa: BLE001 - report every failure the same way
                failed += 1
                print(f"FAIL {name}: {e}", flush=True)
        run.__name__ = fn.__name__
        return run
    return wrap


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def plan(**changes):
    p = json.load(open(EXAMPLE))
    src = p["operators"][0]["options"]
    src.update(changes.pop("options", {}))
    for k, v in changes.items():
        p[k] = v
    return p


def write_plan(p, name):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        json.dump(p, f)
    return path


def run(plan_path, *dflags, timeout=300, check_rc=True):
    args = [WEIR, "run"] + [f"-D{d}" for d in dflags] + [plan_path]
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check_rc and r.returncode != 0:
        raise AssertionError(f"weir run exited {r.returncode}: {r.stderr[-2000:]}")
    return r


def rows(text):
    out = []
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            out.append((m.group(1), [x.strip() for x in m.group(2).split(",")]))
    return out


def window_results(text):
    """{(key, window_start): (count, sum)} from +I rows; a window emitted twice with different
    values is an error (exactly-once)."""
    res = {}
    for kind, cols in rows(text):
        check(kind == "+I", f"unexpected row kind {kind}")
        key = (cols[0], cols[1])
        val = (int(cols[4]), int(cols[5]))
        if key in res and res[key] != val:
            raise AssertionError(f"window {key} emitted twice with different results: "
                                 f"{res[key]} and {val}")
        res[key] = val
    return res


def fmt_ts(ms):
    t = time.gmtime(ms // 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S", t) + f".{ms % 1000:03d}"


def expected_windows(p):
    """Recomputes the example plan's TUMBLE(10 s) COUNT/SUM by k from the datagen formula."""
    src = p["operators"][0]
    n = int(src["options"]["number-of-rows"])
    gen = datagen_model.Datagen(src["schema"], src["options"])
    res = collections.defaultdict(lambda: [0, 0])
    for i in range(n):
        r = gen.row(i)
        ts = r["id"] * 10
        start = ts - ts % 10000
        acc = res[(str(r["k"]), fmt_ts(start))]
        acc[0] += 1
        acc[1] += r["v"]
    return {k: tuple(v) for k, v in res.items()}


@case("tumble results equal an independent computation at parallelism 1 and 4")
def tumble_exact():
    p = plan()
    path = write_plan(p, "tumble.json")
    want = expected_windows(p)
    for par in (1, 4):
        got = window_results(run(path, f"parallelism.default={par}").stdout)
        check(got == want, f"p={par}: {len(got)} windows, want {len(want)}; first difference: "
              f"{next(((k, got.get(k), v) for k, v in want.items() if got.get(k) != v), None)}")


@case("hashmap and rocksdb give identical results")
def backends_identical():
    path = write_plan(plan(), "backends.json")
    a = run(path, "parallelism.default=2", "state.backend.type=hashmap").stdout
    b = run(path, "parallelism.default=2", "state.backend.type=rocksdb",
            f"state.backend.rocksdb.localdir={WORK}").stdout
    check(sorted(a.splitlines()) == sorted(b.splitlines()), "outputs differ")
    check(len(a.splitlines()) > 100, "too few rows")


def latest_checkpoint(job_dir):
    best = None
    for d in os.listdir(job_dir):
        if d.startswith("chk-") and os.path.exists(os.path.join(job_dir, d, "_metadata")):
            n = int(d[4:])
            if best is None or n > best[0]:
                best = (n, os.path.join(job_dir, d))
    return best[1] if best else None


@case("SIGKILL at random points, restart from the latest checkpoint: exactly the unfailed results")
def kill_restart():
    p = plan(options={"number-of-rows": "400000", "rows-per-second": "150000",
                      "fields.id.end": "399999"})
    path = write_plan(p, "kill.json")
    want = expected_windows(p)
    rnd = random.Random(int(os.environ.get("WEIR_TEST_SEED", "7")))
    for attempt in range(3):
        ck = os.path.join(WORK, f"ck-kill-{attempt}")
        job = "%032x" % (attempt + 1)
        flags = [f"state.checkpoints.dir=file://{ck}", "execution.checkpointing.interval=150ms",
                 f"$internal.pipeline.job-id={job}", "parallelism.default=2",
                 "restart-strategy.type=none"]
        outputs = []
        restore = None
        kills = 0
        while True:
            args = [WEIR, "run"] + [f"-D{f}" for f in flags]
            if restore:
                args.append(f"-Dexecution.savepoint.path={restore}")
            args.append(path)
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
            if kills < 2:
                try:
                    out, err = proc.communicate(timeout=rnd.uniform(0.4, 2.0))
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    out, err = proc.communicate()
                    kills += 1
                    outputs.append(out)
                    restore = latest_checkpoint(os.path.join(ck, job))
                    continue
            else:
                out, err = proc.communicate(timeout=120)
            check(proc.returncode == 0, f"final run exited {proc.returncode}: {err[-1500:]}")
            outputs.append(out)
            break
        got = window_results("\n".join(outputs))
        check(got == want, f"attempt {attempt}: {len(got)} windows, want {len(want)}; first "
              f"difference: {next(((k, got.get(k), v) for k, v in want.items() if got.get(k) != v), None)}")


def group_plan(ids=("src", "calc", "agg", "out")):
    return {
        "version": 1, "name": "counts",
        "operators": [
            {"id": ids[0], "type": "source", "connector": "datagen", "parallelism": 1,
             "options": {"number-of-rows": "300000", "rows-per-second": "100000", "seed": "3",
                         "fields.k.min": "0", "fields.k.max": "49"},
             "schema": [{"name": "k", "type": "INT"}]},
            {"id": ids[1], "type": "calc", "input": ids[0], "parallelism": 1,
             "projection": [{"name": "k", "expr": {"kind": "column", "index": 0}}]},
            {"id": ids[2], "type": "group_aggregate", "input": ids[1], "keys": ["k"],
             "aggregates": [{"fn": "COUNT", "arg": None, "name": "n"}]},
            {"id": ids[3], "type": "sink", "input": ids[2], "connector": "print"},
        ]}


def final_counts(text):
    last = {}
    for kind, cols in rows(text):
        if kind in ("+I", "+U"):
            last[cols[0]] = int(cols[1])
    return last


@case("a failing task restarts per the restart strategy from the latest checkpoint; none fails the job")
def restart_strategy():
    p = plan(options={"number-of-rows": "300000", "rows-per-second": "150000",
                      "fields.id.end": "299999"})
    path = write_plan(p, "restart.json")
    want = expected_windows(p)
    ck = os.path.join(WORK, "ck-restart")
    env = dict(os.environ, WEIR_FAULT_SINK_FAIL_AFTER_ROWS="1000")
    r = subprocess.run([WEIR, "run", "-Dparallelism.default=2", f"-Dstate.checkpoints.dir=file://{ck}",
                        "-Dexecution.checkpointing.interval=100ms", "-Drestart-strategy.type=fixed-delay",
                        "-Drestart-strategy.fixed-delay.attempts=2",
                        "-Drestart-strategy.fixed-delay.delay=200ms", path],
                       capture_output=True, text=True, timeout=120, env=env)
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr[-1500:]}")
    check("injected failure" in r.stderr, "the fault was not injected")
    m = re.search(r'msg="restarting job" restore=(\S+)', r.stderr)
    check(m and "chk-" in m.group(1), f"did not restart from a checkpoint: {r.stderr[-1500:]}")
    got = window_results(r.stdout)
    check(got == want, f"{len(got)} windows after a restart, want {len(want)}")
    r = subprocess.run([WEIR, "run", "-Drestart-strategy.type=none", path], capture_output=True,
                       text=True, timeout=120, env=env)
    check(r.returncode == 1, f"with restart-strategy none: exit {r.returncode}")
    check("injected failure after 1000 rows" in r.stderr and "restarting=false" in r.stderr,
          f"with restart-strategy none: {r.stderr[-800:]}")


@case("stop with a savepoint, start from it: counts continue (same plan, regenerated plan, rescaled)")
def savepoint_continue():
    p = group_plan()
    src = p["operators"][0]
    gen = datagen_model.Datagen(src["schema"], src["options"])
    want = collections.Counter(str(gen.row(i)["k"]) for i in range(300000))
    variants = [("same", p, 2), ("regenerated", group_plan(("source_0", "project_1",
                                                             "aggregate_2", "sink_3")), 3)]
    for name, p2, par in variants:
        path1 = write_plan(p, f"sp-{name}-1.json")
        path2 = write_plan(p2, f"sp-{name}-2.json")
        spdir = os.path.join(WORK, f"sp-{name}")
        proc = subprocess.Popen([WEIR, "run", "-Dparallelism.default=2",
                                 f"-Dstate.savepoints.dir=file://{spdir}", path1],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.2)
        proc.send_signal(signal.SIGUSR2)
        out1, err1 = proc.communicate(timeout=60)
        check(proc.returncode == 0, f"{name}: stop-with-savepoint exited {proc.returncode}: {err1[-800:]}")
        m = re.search(r'msg="savepoint completed" path=(\S+)', err1)
        check(m, f"{name}: no savepoint path logged: {err1[-800:]}")
        first = final_counts(out1)
        check(0 < sum(first.values()) < 300000, f"{name}: the first run counted {sum(first.values())}")
        r = run(path2, f"parallelism.default={par}", f"execution.savepoint.path={m.group(1)}")
        got = final_counts(r.stdout)
        check(got == dict(want), f"{name}: counts after restore differ from the totals "
              f"(restarted from zero?): {sum(got.values())} vs {sum(want.values())}")


@case("incremental RocksDB checkpoints: retention keeps num-retained, shared files referenced, new SSTs only")
def incremental_retention():
    p = group_plan()
    p["operators"][0]["options"].update({"number-of-rows": "600000", "rows-per-second": "200000",
                                        "fields.k.max": "199999"})
    path = write_plan(p, "incr.json")
    ck = os.path.join(WORK, "ck-incr")
    job = "%032x" % 99
    r = run(path, "parallelism.default=2", "state.backend.type=rocksdb",
            f"state.backend.rocksdb.localdir={WORK}", f"state.checkpoints.dir=file://{ck}",
            "execution.checkpointing.interval=400ms", "state.checkpoints.num-retained=3",
            f"$internal.pipeline.job-id={job}", "state.backend.rocksdb.cache-size=2mb")
    jd = os.path.join(ck, job)
    done = re.findall(r'msg="checkpoint completed" id=(\d+)', r.stderr)
    check(len(done) >= 3, f"only {len(done)} checkpoints completed")
    chks = sorted(int(d[4:]) for d in os.listdir(jd) if d.startswith("chk-"))
    check(len(chks) == 3, f"retained {chks}, want the last 3")
    check(chks == [int(x) for x in done[-3:]], f"retained {chks}, completed {done[-3:]}")
    referenced = {}
    for c in chks:
        meta = json.load(open(os.path.join(jd, f"chk-{c}", "_metadata")))
        files = []

        def walk(v):
            if isinstance(v, dict):
                for f in v.get("files", []):
                    if f.get("shared"):
                        files.append((f["path"], f["size"]))
                for k, x in v.items():
                    if k != "files":
                        walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(meta["operators"])
        referenced[c] = dict(files)
    present = set()
    for dp, _, fs in os.walk(os.path.join(jd, "shared")):
        for f in fs:
            present.add(os.path.relpath(os.path.join(dp, f), jd))
    allref = set().union(*[set(v) for v in referenced.values()])
    check(allref <= present, f"referenced shared files missing: {sorted(allref - present)[:3]}")
    check(present <= allref, f"unreferenced shared files left: {sorted(present - allref)[:3]}")
    # Each checkpoint flushes RocksDB's memtable into one new SST; a compaction (after 4 such
    # files) rewrites them all. So of two consecutive pairs at least one shares files, and
    # there the newer checkpoint uploaded only its new SSTs.
    sharing = []
    for older, newer in zip(chks, chks[1:]):
        a, b = referenced[older], referenced[newer]
        if set(a) & set(b):
            new = {k: v for k, v in b.items() if k not in a}
            sharing.append((newer, len(new), sum(new.values()), sum(b.values())))
    check(sharing, "no checkpoint reused any file of the one before it")
    for newer, nfiles, fresh, total in sharing:
        check(nfiles >= 1 and fresh < total,
              f"chk-{newer} uploaded {nfiles} files, {fresh} of {total} bytes")


@case("late rows are dropped and counted; every row is either in a window or counted late")
def late_rows():
    p = plan(options={"number-of-rows": "20000"})
    # Event time jumps around: ts = random 0..99 seconds, so many rows arrive behind the watermark.
    p["operators"][0]["schema"][2] = {"name": "v", "type": "BIGINT"}
    p["operators"][0]["options"].update({"fields.id.kind": "random", "fields.id.min": "0",
                                         "fields.id.max": "9999"})
    del p["operators"][0]["options"]["fields.id.start"], p["operators"][0]["options"]["fields.id.end"]
    path = write_plan(p, "late.json")
    r = run(path, "parallelism.default=1")
    got = window_results(r.stdout)
    late = sum(int(x) for x in re.findall(r'operator=win .*late_dropped=(\d+)', r.stderr))
    counted = sum(v[0] for v in got.values())
    check(late > 1000, f"only {late} late rows counted")
    check(counted + late == 20000, f"{counted} rows in windows + {late} late != 20000")


@case("an idle input (table.exec.source.idle-timeout) does not hold windows back; without it they wait")
def idleness():
    # Datagen at parallelism 2 over ids 0..9e12: subtask 1's rows start at 4.5e12 and the
    # filter drops them, so its watermark assigner never sees a row. The window (parallelism 1) can only fire if
    # that input is declared idle.
    p = plan(options={"rows-per-second": "2000", "fields.id.end": "9000000000000"})
    del p["operators"][0]["options"]["number-of-rows"]
    p["operators"][0]["parallelism"] = 2
    p["operators"][1]["parallelism"] = 2
    p["operators"][1]["filter"] = {"kind": "call", "fn": "LESS_THAN", "args": [
        {"kind": "column", "index": 0}, {"kind": "literal", "type": "BIGINT", "value": 4500000000000}]}
    p["operators"][2]["parallelism"] = 2
    p["operators"][3]["parallelism"] = 1
    p["operators"][3]["window"]["sizeMs"] = 1000
    path = write_plan(p, "idle.json")
    outs = {}
    for flag in ("0", "300ms"):
        proc = subprocess.Popen([WEIR, "run", f"-Dtable.exec.source.idle-timeout={flag}", path],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.5)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
        outs[flag] = len(rows(out))
    check(outs["0"] == 0, f"without idleness {outs['0']} windows fired although one input never had a watermark")
    check(outs["300ms"] > 0, "with an idle timeout no window fired")


@case("configuration from a file and FLINK_PROPERTIES; SIGTERM cancels")
def config_and_cancel():
    conf = os.path.join(WORK, "conf")
    os.makedirs(conf, exist_ok=True)
    with open(os.path.join(conf, "config.yaml"), "w") as f:
        f.write("parallelism:\n  default: 3\nstate.backend.type: rocksdb\n"
                f"state.backend.rocksdb.localdir: {WORK}\n")
    path = write_plan(plan(), "conf.json")
    env = dict(os.environ, FLINK_PROPERTIES="pipeline.name: ignored\n")
    r = subprocess.run([WEIR, "run", "--log-level", "debug", "--config", conf, path],
                       capture_output=True, text=True, timeout=60, env=env)
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr[-500:]}")
    subtasks = set(re.findall(r'operator=win subtask=(\d+)', r.stderr))
    check(subtasks == {"0", "1", "2"}, f"parallelism from the file not applied: {subtasks}")
    check(window_results(r.stdout) == expected_windows(plan()), "results differ")
    with open(os.path.join(conf, "config.yaml"), "w") as f:
        f.write("execution.checkpointing.interval: 10 parsecs\n")
    r = subprocess.run([WEIR, "run", "--config", conf, path], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 2 and "execution.checkpointing.interval" in r.stderr,
          f"bad duration: exit {r.returncode}: {r.stderr[-300:]}")
    unbounded = plan()
    del unbounded["operators"][0]["options"]["number-of-rows"]
    unbounded["operators"][0]["options"]["fields.id.end"] = "9000000000000"
    unbounded["operators"][0]["options"]["rows-per-second"] = "1000"
    path = write_plan(unbounded, "unbounded.json")
    proc = subprocess.Popen([WEIR, "run", path], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    check(proc.returncode == 130, f"SIGTERM: exit {proc.returncode}")
    check(time.time() - t0 < 3, "cancel took more than 3 s")
    check("state=CANCELED" in err, f"no CANCELED state logged: {err[-300:]}")


@case("savepoints are relocatable; drain fires every window first; unclaimed state is refused unless allowed")
def savepoint_options():
    unbounded = plan(options={"rows-per-second": "20000", "fields.id.end": "9000000000000"})
    del unbounded["operators"][0]["options"]["number-of-rows"]
    path = write_plan(unbounded, "sp-opts.json")
    metas = {}
    for drain in ("false", "true"):
        spdir = os.path.join(WORK, f"sp-drain-{drain}")
        proc = subprocess.Popen([WEIR, "run", f"-Dstate.savepoints.dir={spdir}",
                                 f"-Dweir.stop-with-savepoint.drain={drain}", path],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.8)
        proc.send_signal(signal.SIGUSR2)
        out, err = proc.communicate(timeout=30)
        check(proc.returncode == 0, f"drain={drain}: exit {proc.returncode}: {err[-500:]}")
        sp = re.search(r'msg="savepoint completed" path=(\S+)', err).group(1)
        meta = json.load(open(os.path.join(sp, "_metadata")))
        win = [o for o in meta["operators"].values() if o["type"] == "window_aggregate"][0]
        metas[drain] = (sp, sum(len(s["windows"]) for s in win["subtasks"]), len(rows(out)))
    check(metas["false"][1] > 0, "without drain the savepoint holds no pending window")
    check(metas["true"][1] == 0, f"with drain {metas['true'][1]} windows stayed pending")
    # relocate: move the savepoint directory and restore from the new place
    moved = os.path.join(WORK, "moved-savepoint")
    shutil.move(metas["false"][0], moved)
    bounded = plan(options={"number-of-rows": "1000000", "fields.id.end": "999999"})
    bpath = write_plan(bounded, "sp-opts-bounded.json")
    r = run(bpath, f"execution.savepoint.path={moved}", check_rc=False)
    check(r.returncode in (0, 1), f"restore from a moved savepoint: exit {r.returncode}")
    check("restored job state" in r.stderr or "datagen position" in r.stderr,
          f"restore from a moved savepoint: {r.stderr[-500:]}")
    # a plan whose aggregation changed cannot take the old window state ...
    changed = plan()
    changed["operators"][3]["aggregates"].append({"fn": "MAX", "arg": "v", "name": "mx"})
    cpath = write_plan(changed, "sp-changed.json")
    r = run(cpath, f"execution.savepoint.path={moved}", check_rc=False)
    check(r.returncode == 1 and "cannot be mapped to the new job" in r.stderr and "'win'" in r.stderr,
          f"unclaimed state: exit {r.returncode}: {r.stderr[-400:]}")
    # ... unless execution.savepoint.ignore-unclaimed-state says to drop it
    r = run(cpath, f"execution.savepoint.path={moved}",
            "execution.savepoint.ignore-unclaimed-state=true", check_rc=False)
    check("skipping unclaimed operator state" in r.stderr and "restored job state" in r.stderr,
          f"ignore-unclaimed-state: exit {r.returncode}: {r.stderr[-400:]}")


SQL_EXAMPLE = os.path.join(ROOT, "runtime", "sql", "examples", "sensor-aggregator.sql")


@case("SQL: seed 004's sensor aggregation (datagen source, print sink) gives the per-sensor, per-minute aggregates computed independently")
def sql_sensor_aggregates():
    gen = datagen_model.Datagen(
        [{"name": "sensor_id", "type": "STRING"}, {"name": "temperature", "type": "DOUBLE"},
         {"name": "humidity", "type": "DOUBLE"}, {"name": "seq", "type": "BIGINT"}],
        {"seed": "4", "fields.sensor_id.length": "1", "fields.temperature.min": "10",
         "fields.temperature.max": "30", "fields.humidity.min": "20",
         "fields.humidity.max": "80", "fields.seq.kind": "sequence", "fields.seq.start": "0",
         "fields.seq.end": "3599"})
    acc = {}
    for i in range(3600):
        r = gen.row(i)
        key = (r["sensor_id"], fmt_ts(i * 1000 // 60000 * 60000))
        a = acc.setdefault(key, [0.0, -1e300, 1e300, 0.0, 0])
        a[0] += r["temperature"]
        a[1] = max(a[1], r["temperature"])
        a[2] = min(a[2], r["temperature"])
        a[3] += r["humidity"]
        a[4] += 1
    want = {k: (v[0] / v[4], v[1], v[2], v[3] / v[4], v[4]) for k, v in acc.items()}
    r = run(SQL_EXAMPLE)
    got = {}
    for kind, cols in rows(r.stdout):
        check(kind == "+I", f"row kind {kind}")
        got[(cols[0], cols[1])] = (float(cols[3]), float(cols[4]), float(cols[5]),
                                   float(cols[6]), int(cols[7]))
    check(len(got) == len(want), f"{len(got)} windows, want {len(want)}")
    for k, v in want.items():
        check(got.get(k) == v, f"window {k}: got {got.get(k)}, want {v}")
    check("name=sensor-aggregator" in r.stderr, "SET 'pipeline.name' not applied")
    check(len(set(re.findall(r"^(\d+)> ", r.stdout, re.M))) == 3,
          "SET 'parallelism.default' = '3' not applied to the print sink")


@case("SQL: DECIMAL(38, s) end to end: wide computed column, SUM/AVG/MIN/MAX per key, both backends")
def sql_decimal38():
    import decimal
    decimal.getcontext().prec = 100
    path = os.path.join(WORK, "decimal38.sql")
    with open(path, "w") as f:
        f.write("CREATE TABLE t (id BIGINT, big AS CAST(id AS DECIMAL(20, 0)) * "
                "12345678901234567890.12) WITH ('connector' = 'datagen', 'fields.id.kind' = "
                "'sequence', 'fields.id.start' = '1', 'fields.id.end' = '3000');\n"
                "CREATE TABLE o (k BIGINT, s DECIMAL(38, 2), a DECIMAL(38, 6), mn DECIMAL(38, 2), "
                "mx DECIMAL(38, 2), c BIGINT) WITH ('connector' = 'print');\n"
                "INSERT INTO o SELECT id % 3, SUM(big), AVG(big), MIN(big), MAX(big), COUNT(*) "
                "FROM t GROUP BY id % 3;\n")
    unit = decimal.Decimal("12345678901234567890.12")
    want = {}
    for k in range(3):
        vals = [i * unit for i in range(1, 3001) if i % 3 == k]
        s = sum(vals)
        a = (s / len(vals)).quantize(decimal.Decimal("0.000001"), rounding=decimal.ROUND_HALF_UP)
        want[str(k)] = [f"{s:.2f}", f"{a:.6f}", f"{min(vals):.2f}", f"{max(vals):.2f}",
                        str(len(vals))]
    for backend in ("hashmap", "rocksdb"):
        r = run(path, "parallelism.default=2", f"state.backend.type={backend}")
        got = {}
        for kind, cols in rows(r.stdout):
            if kind in ("+I", "+U"):
                got[cols[0]] = cols[1:]
        check(got == want, f"{backend}: got {got}, want {want}")


@case("SQL: Nexmark q0, q1, q2 over a datagen bid table compile and run; q2's filter holds")
def sql_nexmark():
    script = os.path.join(ROOT, "runtime", "sql", "tests", "scripts", "nexmark.sql")
    r = run(script, "parallelism.default=2")
    got = [(kind, cols) for kind, cols in rows(r.stdout)]
    check(got, "q2 printed nothing")
    gen = datagen_model.Datagen([{"name": "auction", "type": "BIGINT"}],
                                {"fields.auction.min": "1000", "fields.auction.max": "1999"})
    want = sum(1 for i in range(100000) if gen.row(i)["auction"] % 123 == 0)
    for kind, cols in got:
        check(kind == "+I" and int(cols[0]) % 123 == 0, f"q2 row {cols} fails MOD(auction, 123) = 0")
    check(len(got) == want, f"q2 printed {len(got)} rows, the bids have {want}")
    check("q2:1> " in r.stdout and "q2:2> " in r.stdout, "print-identifier/subtask prefix missing")


UNION_SQL = """
CREATE TABLE a (id BIGINT, ts AS TO_TIMESTAMP_LTZ(id * 100, 3), WATERMARK FOR ts AS ts)
  WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '0',
        'fields.id.end' = '5999');
CREATE TABLE b (n INT, ts AS TO_TIMESTAMP_LTZ(CAST(n AS BIGINT) * 250, 3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'datagen', 'fields.n.kind' = 'sequence', 'fields.n.start' = '0',
        'fields.n.end' = '1999');
CREATE TABLE o1 (k BIGINT, c BIGINT, s BIGINT) WITH ('connector' = 'print', 'print-identifier' = 'o1');
CREATE TABLE o2 (k BIGINT, ws TIMESTAMP(3), c BIGINT, mx BIGINT)
  WITH ('connector' = 'print', 'print-identifier' = 'o2');
CREATE TABLE o3 (g BIGINT, c BIGINT) WITH ('connector' = 'print', 'print-identifier' = 'o3');
CREATE VIEW v AS SELECT id % 5 AS k, id AS x, ts FROM a UNION ALL SELECT n % 3, n, ts FROM b;
EXECUTE STATEMENT SET BEGIN
INSERT INTO o1 SELECT k, COUNT(*), SUM(x) FROM (SELECT id % 5 AS k, id AS x FROM a
  UNION ALL SELECT n % 3, n FROM b WHERE n % 2 = 0) GROUP BY k;
INSERT INTO o2 WITH w AS (SELECT * FROM v)
  SELECT k, window_start, COUNT(*), MAX(x)
  FROM TABLE(TUMBLE(TABLE w, DESCRIPTOR(ts), INTERVAL '10' SECOND))
  GROUP BY window_start, window_end, k;
INSERT INTO o3 SELECT x % 3, COUNT(*) FROM (SELECT id AS x FROM a UNION SELECT n FROM b)
  GROUP BY x % 3;
END;
"""


def union_script(name="union.sql"):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(UNION_SQL)
    return path


def union_expected():
    """UNION_SQL's results from the sequences themselves: a's ids 0..5999 at id * 100 ms, b's
    n 0..1999 at n * 250 ms. o1: per key the final COUNT/SUM of a's ids by id % 5 and b's even
    n by n % 3; o2: per (key, 10 s window) COUNT and MAX of x over both tables; o3: the
    distinct values of both (b's are all among a's) counted by value % 3."""
    o1 = collections.defaultdict(lambda: [0, 0])
    o2 = {}
    a = [(i % 5, i, i * 100) for i in range(6000)]
    b = [(n % 3, n, n * 250) for n in range(2000)]
    for k, x, _ in a + [r for r in b if r[1] % 2 == 0]:
        o1[str(k)][0] += 1
        o1[str(k)][1] += x
    for k, x, ms in a + b:
        key = (str(k), fmt_ts(ms - ms % 10000))
        c, mx = o2.get(key, (0, -1))
        o2[key] = (c + 1, max(mx, x))
    o3 = collections.Counter(str(x % 3) for x in set(r[1] for r in a + b))
    return ({k: (str(v[0]), str(v[1])) for k, v in o1.items()}, o2,
            {k: (str(v),) for k, v in o3.items()})


UNION_ROW = re.compile(r"^(o1|o2|o3)(?::\d+)?> ([+-][IUD])\[(.*)\]$")


def union_results(text):
    """(o1 and o3: final values per key from their changelogs, o2: windows) from print output;
    a window printed twice, or a row kind other than +I in o2, is an error."""
    o1, o2, o3 = {}, {}, {}
    for line in text.splitlines():
        m = UNION_ROW.match(line.strip())
        if not m:
            continue
        sink, kind, cols = m.group(1), m.group(2), [x.strip() for x in m.group(3).split(",")]
        if sink != "o2":
            if kind in ("+I", "+U"):
                (o1 if sink == "o1" else o3)[cols[0]] = tuple(cols[1:])
            continue
        check(kind == "+I", f"o2: row kind {kind}")
        key = (cols[0], cols[1])
        check(key not in o2, f"o2: window {key} printed twice")
        o2[key] = (int(cols[2]), int(cols[3]))
    return o1, o2, o3


@case("SQL: UNION ALL in a subquery under GROUP BY, in a view under a TUMBLE window (INT and BIGINT widened, rowtime through the union), UNION under GROUP BY, parallelism 1 and 2, equal an independent computation")
def sql_union():
    path = union_script()
    want1, want2, want3 = union_expected()
    for par in (1, 2):
        r = run(path, f"parallelism.default={par}")
        got1, got2, got3 = union_results(r.stdout)
        check(got1 == want1, f"parallelism {par}: o1 {got1}, want {want1}")
        check(got3 == want3, f"parallelism {par}: o3 (UNION) {got3}, want {want3}")
        check(len(got2) == len(want2), f"parallelism {par}: {len(got2)} windows, want {len(want2)}")
        for k, v in want2.items():
            check(got2.get(k) == v, f"parallelism {par}: window {k}: {got2.get(k)}, want {v}")
    # EXPLAIN prints the plan: one union operator per query, read by the aggregation's calc
    ex = os.path.join(WORK, "union_explain.sql")
    with open(ex, "w") as f:
        f.write(UNION_SQL.split("EXECUTE STATEMENT SET BEGIN")[0] +
                "EXPLAIN INSERT INTO o1 SELECT k, COUNT(*), SUM(x) FROM (SELECT id % 5 AS k, id AS x "
                "FROM a UNION ALL SELECT n % 3, n FROM b WHERE n % 2 = 0) GROUP BY k;\n")
    r = run(ex)
    ops = json.loads(r.stdout)["operators"]
    unions = [o for o in ops if o["type"] == "union"]
    check(len(unions) == 1 and len(unions[0]["inputs"]) == 2, f"EXPLAIN: unions {unions}")
    check(any(o.get("input") == unions[0]["id"] for o in ops), "EXPLAIN: nothing reads the union")


@case("SQL: projection push-down: reading 2 of 5 datagen columns (a pruned sequence bounds the rows, random fields after pruned ones) gives the model's rows at parallelism 1 and 3")
def sql_projection():
    path = os.path.join(WORK, "projection.sql")
    opts = {"seed": "9", "fields.id.kind": "sequence", "fields.id.start": "1",
            "fields.id.end": "500", "fields.s.length": "8", "fields.k.min": "0",
            "fields.k.max": "99", "fields.d.min": "0", "fields.d.max": "1",
            "fields.v.min": "-1000", "fields.v.max": "1000"}
    with open(path, "w") as f:
        f.write("CREATE TABLE t (id BIGINT, s STRING, k INT, d DOUBLE, v BIGINT) WITH "
                "('connector' = 'datagen', "
                + ", ".join(f"'{k}' = '{v}'" for k, v in opts.items()) + ");\n"
                "CREATE TABLE o (k INT, v BIGINT) WITH ('connector' = 'print');\n"
                "INSERT INTO o SELECT k, v FROM t;\n")
    plan = subprocess.run([WEIR, "sql", "--plan", path], capture_output=True, text=True,
                          check=True)
    src = [o for o in json.loads(plan.stdout)["operators"] if o["type"] == "source"]
    check(len(src) == 1 and src[0].get("projection") == [2, 4],
          f"source projection: {src[0].get('projection') if src else None}, want [2, 4]")
    gen = datagen_model.Datagen(
        [{"name": "id", "type": "BIGINT"}, {"name": "s", "type": "STRING"},
         {"name": "k", "type": "INT"}, {"name": "d", "type": "DOUBLE"},
         {"name": "v", "type": "BIGINT"}], opts)
    want = sorted((str(gen.row(i)["k"]), str(gen.row(i)["v"])) for i in range(500))
    for par in (1, 3):
        r = run(path, f"parallelism.default={par}")
        got = sorted((cols[0], cols[1]) for kind, cols in rows(r.stdout) if kind == "+I")
        check(got == want, f"p={par}: {len(got)} rows, want {len(want)}; first difference: "
              f"{next((g, w) for g, w in zip(got + [None] * 500, want) if g != w) if got != want else None}")


TWO_PHASE_OPTS = {"seed": "5", "fields.id.kind": "sequence", "fields.id.start": "0",
                  "fields.k.min": "0", "fields.k.max": "19", "fields.v.min": "-1000",
                  "fields.v.max": "1000"}


def two_phase_table(n, rps):
    opts = dict(TWO_PHASE_OPTS, **{"fields.id.end": str(n - 1), "rows-per-second": str(rps)})
    return ("CREATE TABLE t (id BIGINT, k INT, v BIGINT, ts AS TO_TIMESTAMP_LTZ(id * 100, 3), "
            "WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen', "
            + ", ".join(f"'{k}' = '{v}'" for k, v in opts.items()) + ");\n")


def two_phase_rows(n):
    gen = datagen_model.Datagen(
        [{"name": "id", "type": "BIGINT"}, {"name": "k", "type": "INT"},
         {"name": "v", "type": "BIGINT"}], dict(TWO_PHASE_OPTS, **{"fields.id.end": str(n - 1)}))
    return [gen.row(i) for i in range(n)]


def java_div(a, b):
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def expected_hop_cumulate(rows, kind, keyed):
    """{(key, start, end): [count, sum, min, max, avg]} of HOP(2 s, 6 s) or CUMULATE(2 s, 6 s)."""
    acc = {}
    for r in rows:
        ts = r["id"] * 100
        if kind == "HOP":
            wins = [(s, s + 6000) for s in range(ts - ts % 2000, ts - 6000, -2000)]
        else:
            start = ts - ts % 6000
            wins = [(start, e) for e in range(start + 2000, start + 6001, 2000) if e > ts]
        for w in wins:
            key = (str(r["k"]) if keyed else "x", fmt_ts(w[0]), fmt_ts(w[1]))
            a = acc.setdefault(key, [0, 0, None, None])
            a[0] += 1
            a[1] += r["v"]
            a[2] = r["v"] if a[2] is None else min(a[2], r["v"])
            a[3] = r["v"] if a[3] is None else max(a[3], r["v"])
    return {k: [str(a[0]), str(a[1]), str(a[2]), str(a[3]), str(java_div(a[1], a[0]))]
            for k, a in acc.items()}


def window_rows(text, what):
    got = {}
    for kind, cols in rows(text):
        check(kind == "+I", f"{what}: row kind {kind}")
        key = (cols[0], cols[1], cols[2])
        check(key not in got, f"{what}: window {key} emitted twice")
        got[key] = cols[3:]
    return got


def plan_types(path, *settings):
    r = subprocess.run([WEIR, "sql", "--plan", path], capture_output=True, text=True, check=True)
    return [o["type"] for o in json.loads(r.stdout)["operators"]]


@case("SQL two-phase aggregation: local + global equals one phase (HOP, CUMULATE, keyless, "
      "mini-batch GROUP BY over a changelog); savepoints restore across the strategies")
def sql_two_phase():
    n = 6000
    data = two_phase_rows(n)
    for kind, keyed in (("HOP", True), ("CUMULATE", True), ("HOP", False)):
        want = expected_hop_cumulate(data, kind, keyed)
        keyexpr = "CAST(k AS STRING)" if keyed else "'x'"
        for strategy in ("AUTO", "ONE_PHASE"):
            path = os.path.join(WORK, f"two-{kind}-{keyed}-{strategy}.sql")
            with open(path, "w") as f:
                f.write(f"SET 'table.optimizer.agg-phase-strategy' = '{strategy}';\n"
                        + two_phase_table(n, 10000000)
                        + "CREATE TABLE o (k STRING, ws TIMESTAMP(3), we TIMESTAMP(3), c BIGINT, "
                        "s BIGINT, mn BIGINT, mx BIGINT, a BIGINT) WITH ('connector' = 'print');\n"
                        f"INSERT INTO o SELECT {keyexpr}, "
                        "window_start, window_end, COUNT(*), SUM(v), MIN(v), MAX(v), AVG(v) FROM "
                        f"TABLE({kind}(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND, "
                        "INTERVAL '6' SECOND)) GROUP BY window_start, window_end"
                        + (", k" if keyed else "") + ";\n")
            types = plan_types(path)
            check(("local_window_aggregate" in types) == (strategy == "AUTO"),
                  f"{kind} {strategy}: plan {types}")
            r = run(path, "parallelism.default=3")
            got = window_rows(r.stdout, f"{kind} {strategy}")
            bad = [k for k in want if got.get(k) != want[k]]
            check(len(got) == len(want) and not bad,
                  f"{kind} keyed={keyed} {strategy}: {len(got)} windows, want {len(want)}; "
                  f"first wrong: {bad[:1]} got {got.get(bad[0]) if bad else None} "
                  f"want {want[bad[0]] if bad else None}")

    # keys that never repeat: the local phase steps aside (passes rows on) and stays exact
    big = [dict(r_, k=r_["id"]) for r_ in two_phase_rows(30000)]
    want = expected_hop_cumulate(big, "HOP", True)
    path = os.path.join(WORK, "two-bypass.sql")
    with open(path, "w") as f:
        f.write(two_phase_table(30000, 10000000)
                + "CREATE TABLE o (k STRING, ws TIMESTAMP(3), we TIMESTAMP(3), c BIGINT, "
                "s BIGINT, mn BIGINT, mx BIGINT, a BIGINT) WITH ('connector' = 'print');\n"
                "INSERT INTO o SELECT CAST(id AS STRING), window_start, window_end, COUNT(*), "
                "SUM(v), MIN(v), MAX(v), AVG(v) FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), "
                "INTERVAL '2' SECOND, INTERVAL '6' SECOND)) GROUP BY window_start, window_end, "
                "id;\n")
    r = run(path, "parallelism.default=2")
    check("local aggregation does not pay" in r.stderr,
          f"the local phase did not step aside: {r.stderr[-600:]}")
    got = window_rows(r.stdout, "unique keys")
    bad = [k for k in want if got.get(k) != want[k]]
    check(len(got) == len(want) and not bad,
          f"unique keys: {len(got)} windows, want {len(want)}; first wrong: {bad[:1]}")

    # GROUP BY with mini-batch: local phases flush every 500 rows / 200 ms; the outer
    # aggregation reads the inner one's changelog (retractions merge as negative partials)
    totals = {}
    for r_ in data:
        t = totals.setdefault(str(r_["k"]), [0, 0, -10**9])
        t[0] += 1
        t[1] += r_["v"]
        t[2] = max(t[2], r_["v"])
    hist = collections.Counter(t[0] for t in totals.values())
    changes = {}
    for mb in ("true", "false"):
        path = os.path.join(WORK, f"two-group-{mb}.sql")
        with open(path, "w") as f:
            f.write(f"SET 'table.exec.mini-batch.enabled' = '{mb}';\n"
                    "SET 'table.exec.mini-batch.allow-latency' = '200 ms';\n"
                    "SET 'table.exec.mini-batch.size' = '500';\n"
                    + two_phase_table(n, 10000000)
                    + "CREATE TABLE o (k INT, c BIGINT, s BIGINT, mx BIGINT) WITH ('connector' = "
                    "'print', 'print-identifier' = 'per-key');\n"
                    "CREATE TABLE h (c BIGINT, n BIGINT) WITH ('connector' = 'print', "
                    "'print-identifier' = 'hist');\n"
                    "EXECUTE STATEMENT SET BEGIN\n"
                    "INSERT INTO o SELECT k, COUNT(*), SUM(v), MAX(v) FROM t GROUP BY k;\n"
                    "INSERT INTO h SELECT c, COUNT(*) FROM (SELECT k, COUNT(*) AS c FROM t "
                    "GROUP BY k) GROUP BY c;\nEND;\n")
        types = plan_types(path)
        check(types.count("local_group_aggregate") == (3 if mb == "true" else 0),
              f"mini-batch {mb}: plan {types}")
        r = run(path, "parallelism.default=2")
        per_key, hist_got = {}, {}
        for line in r.stdout.splitlines():
            m = re.match(r"^(per-key|hist)(?::\d+)?> ([+-][IUD])\[(.*)\]$", line)
            if not m:
                continue
            cols = [x.strip() for x in m.group(3).split(",")]
            target = per_key if m.group(1) == "per-key" else hist_got
            if m.group(2) in ("+I", "+U"):
                target[cols[0]] = cols[1:]
            elif m.group(2) == "-D":
                target.pop(cols[0], None)
        want = {k: [str(v[0]), str(v[1]), str(v[2])] for k, v in totals.items()}
        check(per_key == want, f"mini-batch {mb}: per-key totals {per_key} want {want}")
        want_h = {str(c): [str(m_)] for c, m_ in hist.items()}
        check(hist_got == want_h, f"mini-batch {mb}: histogram {hist_got} want {want_h}")
        changes[mb] = sum(1 for ln in r.stdout.splitlines() if "> " in ln)
    check(changes["true"] * 4 < changes["false"],
          f"mini-batch did not cut the changelog: {changes['true']} vs {changes['false']} lines")

    # a savepoint of one strategy restores with the other: every window exactly once
    want = expected_hop_cumulate(two_phase_rows(30000), "HOP", True)
    for first, second in (("ONE_PHASE", "AUTO"), ("AUTO", "ONE_PHASE")):
        paths = []
        for strategy in (first, second):
            path = os.path.join(WORK, f"two-sp-{first}-{strategy}.sql")
            with open(path, "w") as f:
                f.write(f"SET 'table.optimizer.agg-phase-strategy' = '{strategy}';\n"
                        + two_phase_table(30000, 10000)
                        + "CREATE TABLE o (k STRING, ws TIMESTAMP(3), we TIMESTAMP(3), c BIGINT, "
                        "s BIGINT, mn BIGINT, mx BIGINT, a BIGINT) WITH ('connector' = 'print');\n"
                        "INSERT INTO o SELECT CAST(k AS STRING), window_start, window_end, "
                        "COUNT(*), SUM(v), MIN(v), MAX(v), AVG(v) FROM TABLE(HOP(TABLE t, "
                        "DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '6' SECOND)) "
                        "GROUP BY window_start, window_end, k;\n")
            paths.append(path)
        spdir = os.path.join(WORK, f"two-sp-{first}")
        proc = subprocess.Popen([WEIR, "run", "-Dparallelism.default=2",
                                 f"-Dstate.savepoints.dir=file://{spdir}", paths[0]],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        proc.send_signal(signal.SIGUSR2)
        out1, err1 = proc.communicate(timeout=60)
        check(proc.returncode == 0, f"{first}: stop-with-savepoint exited {proc.returncode}: "
              f"{err1[-800:]}")
        m = re.search(r'msg="savepoint completed" path=(\S+)', err1)
        check(m, f"{first}: no savepoint path logged: {err1[-800:]}")
        part1 = window_rows(out1, f"{first} before the savepoint")
        check(0 < len(part1) < len(want), f"{first}: {len(part1)} windows before the savepoint")
        r = run(paths[1], "parallelism.default=2", f"execution.savepoint.path={m.group(1)}")
        part2 = window_rows(r.stdout, f"{second} after restore")
        both = set(part1) & set(part2)
        check(not both, f"{first} -> {second}: windows emitted twice: {sorted(both)[:2]}")
        got = {**part1, **part2}
        bad = [k for k in want if got.get(k) != want[k]]
        check(len(got) == len(want) and not bad,
              f"{first} -> {second}: {len(got)} windows, want {len(want)}; first wrong: "
              f"{bad[:1]}")


def java_mod(a, b):
    return a - java_div(a, b) * b


def expected_distinct_hop(rows):
    """{(key, start, end): [count(*), count(distinct v%10), sum(distinct v%10), max(distinct v)]}
    of HOP(2 s, 6 s) by k."""
    vals = {}
    for r in rows:
        ts = r["id"] * 100
        for s_ in range(ts - ts % 2000, ts - 6000, -2000):
            key = (str(r["k"]), fmt_ts(s_), fmt_ts(s_ + 6000))
            vals.setdefault(key, []).append(r["v"])
    out = {}
    for key, vs in vals.items():
        mods = {java_mod(v, 10) for v in vs}
        out[key] = [str(len(vs)), str(len(mods)), str(sum(mods)), str(max(vs))]
    return out


DISTINCT_WINDOW = ("CREATE TABLE o (k STRING, ws TIMESTAMP(3), we TIMESTAMP(3), c BIGINT, "
                   "dc BIGINT, ds BIGINT, mx BIGINT) WITH ('connector' = 'print');\n"
                   "INSERT INTO o SELECT CAST(k AS STRING), window_start, window_end, COUNT(*), "
                   "COUNT(DISTINCT MOD(v, 10)), SUM(DISTINCT MOD(v, 10)), MAX(DISTINCT v) FROM "
                   "TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '6' SECOND)) "
                   "GROUP BY window_start, window_end, k;\n")


@case("SQL DISTINCT aggregates: COUNT/SUM/MAX(DISTINCT) beside COUNT(*) in HOP windows and over a "
      "changelog (retracted values leave), both backends; FILTER (WHERE); their values survive "
      "a savepoint")
def sql_distinct():
    n = 6000
    data = two_phase_rows(n)
    want = expected_distinct_hop(data)
    path = os.path.join(WORK, "distinct-window.sql")
    with open(path, "w") as f:
        f.write(two_phase_table(n, 10000000) + DISTINCT_WINDOW)
    types = plan_types(path)
    check("local_window_aggregate" not in types, f"a DISTINCT aggregation was split: {types}")
    for backend in ("hashmap", "rocksdb"):
        r = run(path, "parallelism.default=2", f"state.backend.type={backend}",
                f"state.backend.rocksdb.localdir={WORK}")
        got = window_rows(r.stdout, f"distinct {backend}")
        bad = [k for k in want if got.get(k) != want[k]]
        check(len(got) == len(want) and not bad,
              f"{backend}: {len(got)} windows, want {len(want)}; first wrong: {bad[:1]} got "
              f"{got.get(bad[0]) if bad else None} want {want[bad[0]] if bad else None}")

    # over the changelog of a GROUP BY: a key's count moves (-U old, +U new), so the outer
    # DISTINCT sees values come and go; the final state is that of the final counts
    counts = collections.Counter(r_["k"] for r_ in data)
    by_m = {}
    for k, c in counts.items():
        by_m.setdefault(k % 3, []).append(c)
    want_g = {str(m): [str(len(set(cs))), str(sum(set(cs))), str(len(cs))]
              for m, cs in by_m.items()}
    path = os.path.join(WORK, "distinct-group.sql")
    with open(path, "w") as f:
        f.write(two_phase_table(n, 10000000)
                + "CREATE TABLE o (m INT, dc BIGINT, ds BIGINT, c BIGINT) WITH "
                "('connector' = 'print');\n"
                "INSERT INTO o SELECT MOD(k, 3), COUNT(DISTINCT c), SUM(DISTINCT c), COUNT(*) "
                "FROM (SELECT k, COUNT(*) AS c FROM t GROUP BY k) GROUP BY MOD(k, 3);\n")
    for backend in ("hashmap", "rocksdb"):
        r = run(path, "parallelism.default=2", f"state.backend.type={backend}",
                f"state.backend.rocksdb.localdir={WORK}")
        final = {}
        for kind, cols in rows(r.stdout):
            if kind in ("+I", "+U"):
                final[cols[0]] = cols[1:]
            elif kind == "-D":
                final.pop(cols[0], None)
        check(final == want_g, f"{backend}: {final}, want {want_g}")

    # FILTER (WHERE ...) on aggregates, DISTINCT ones too (Nexmark q15's shape)
    want_f = {}
    for r_ in data:
        w = want_f.setdefault(str(r_["k"]), [0, 0, 0, set()])
        w[0] += 1
        if r_["v"] > 500:
            w[1] += 1
            w[2] += r_["v"]
        if r_["v"] < -900:
            w[3].add(r_["v"])
    want_f = {k: [str(w[0]), str(w[1]), str(w[2]), str(len(w[3]))] for k, w in want_f.items()}
    path = os.path.join(WORK, "filter.sql")
    with open(path, "w") as f:
        f.write(two_phase_table(n, 10000000)
                + "CREATE TABLE o (k INT, c BIGINT, cf BIGINT, sf BIGINT, df BIGINT) WITH "
                "('connector' = 'print');\n"
                "INSERT INTO o SELECT k, COUNT(*), COUNT(*) FILTER (WHERE v > 500), "
                "SUM(v) FILTER (WHERE v > 500), COUNT(DISTINCT v) FILTER (WHERE v < -900) "
                "FROM t GROUP BY k;\n")
    r = run(path, "parallelism.default=2")
    final = {}
    for kind, cols in rows(r.stdout):
        if kind in ("+I", "+U"):
            final[cols[0]] = cols[1:]
    check(final == want_f, f"FILTER: {final}, want {want_f}")

    # stop with a savepoint mid-stream and restore: the distinct values seen before it count
    n = 30000
    want = expected_distinct_hop(two_phase_rows(n))
    path = os.path.join(WORK, "distinct-sp.sql")
    with open(path, "w") as f:
        f.write(two_phase_table(n, 10000) + DISTINCT_WINDOW)
    spdir = os.path.join(WORK, "distinct-sp")
    proc = subprocess.Popen([WEIR, "run", "-Dparallelism.default=2",
                             f"-Dstate.savepoints.dir=file://{spdir}", path],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    proc.send_signal(signal.SIGUSR2)
    out1, err1 = proc.communicate(timeout=60)
    m = re.search(r'msg="savepoint completed" path=(\S+)', err1)
    check(proc.returncode == 0 and m, f"stop-with-savepoint: {proc.returncode} {err1[-600:]}")
    part1 = window_rows(out1, "before the savepoint")
    check(0 < len(part1) < len(want), f"{len(part1)} windows before the savepoint")
    r = run(path, "parallelism.default=2", f"execution.savepoint.path={m.group(1)}")
    part2 = window_rows(r.stdout, "after restore")
    check(not set(part1) & set(part2), "windows emitted twice")
    got = {**part1, **part2}
    bad = [k for k in want if got.get(k) != want[k]]
    check(len(got) == len(want) and not bad,
          f"after restore: {len(got)} windows, want {len(want)}; first wrong: {bad[:1]} got "
          f"{got.get(bad[0]) if bad else None} want {want[bad[0]] if bad else None}")


@case("SQL ROW columns: nested ROW fields from datagen print as nested rows; fields in "
      "expressions and GROUP BY; INSERT with a column list; upstream's simple.sql runs unchanged")
def sql_row():
    opts = {"seed": "11", "fields.id.kind": "sequence", "fields.id.start": "1",
            "fields.id.end": "300", "fields.p.name.length": "5", "fields.p.addr.city.length": "2",
            "fields.p.addr.zip.min": "1", "fields.p.addr.zip.max": "4", "fields.v.min": "0",
            "fields.v.max": "9"}
    path = os.path.join(WORK, "row.sql")
    with open(path, "w") as f:
        f.write("CREATE TABLE t (id BIGINT, p ROW<name STRING, addr ROW<city STRING, zip INT>>, "
                "v INT) WITH ('connector' = 'datagen', "
                + ", ".join(f"'{k}' = '{v}'" for k, v in opts.items()) + ");\n"
                "CREATE TABLE o (id BIGINT, p ROW<name STRING, addr ROW<city STRING, zip INT>>, "
                "v INT) WITH ('connector' = 'print', 'print-identifier' = 'rows');\n"
                "CREATE TABLE z (zip INT, n BIGINT, s BIGINT) WITH ('connector' = 'print', "
                "'print-identifier' = 'zips');\n"
                "EXECUTE STATEMENT SET BEGIN\n"
                "INSERT INTO o SELECT * FROM t;\n"
                "INSERT INTO z SELECT t.p.addr.zip, COUNT(*), SUM(v) FROM t WHERE "
                "CHAR_LENGTH(p.name) = 5 GROUP BY p.addr.zip;\nEND;\n")
    gen = datagen_model.Datagen(
        [{"name": "id", "type": "BIGINT"}, {"name": "p.name", "type": "STRING"},
         {"name": "p.addr.city", "type": "STRING"}, {"name": "p.addr.zip", "type": "INT"},
         {"name": "v", "type": "INT"}], opts)
    data = [gen.row(i) for i in range(300)]
    want_rows = sorted(f"+I[{r['id']}, +I[{r['p.name']}, +I[{r['p.addr.city']}, "
                       f"{r['p.addr.zip']}]], {r['v']}]" for r in data)
    zips = {}
    for r in data:
        z = zips.setdefault(str(r["p.addr.zip"]), [0, 0])
        z[0] += 1
        z[1] += r["v"]
    r = run(path, "parallelism.default=2")
    got_rows = sorted(re.sub(r"^rows(:\d+)?> ", "", ln) for ln in r.stdout.splitlines()
                      if ln.startswith("rows"))
    check(got_rows == want_rows, f"{len(got_rows)} rows, want {len(want_rows)}; first: "
          f"{got_rows[:1]} want {want_rows[:1]}")
    final = {}
    for ln in r.stdout.splitlines():
        m = re.match(r"^zips(?::\d+)?> ([+-][IUD])\[(.*)\]$", ln)
        if m and m.group(1) in ("+I", "+U"):
            cols = [x.strip() for x in m.group(2).split(",")]
            final[cols[0]] = [int(cols[1]), int(cols[2])]
    check(final == zips, f"per zip {final}, want {zips}")
    # INSERT with a column list: listed columns in list order (a ROW by its name), NULL else
    path = os.path.join(WORK, "row-list.sql")
    with open(path, "w") as f:
        f.write("CREATE TABLE t (id BIGINT, k INT) WITH ('connector' = 'datagen', "
                "'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '5', "
                "'fields.k.min' = '0', 'fields.k.max' = '9', 'seed' = '3');\n"
                "CREATE TABLE o (a INT, b STRING, c BIGINT, r ROW<x INT, y INT>) WITH "
                "('connector' = 'print');\n"
                "INSERT INTO o (c, r, a) SELECT id, k, k + 1, k * 2 FROM t;\n")
    gen = datagen_model.Datagen([{"name": "id", "type": "BIGINT"}, {"name": "k", "type": "INT"}],
                                {"fields.id.kind": "sequence", "fields.id.start": "1",
                                 "fields.id.end": "5", "fields.k.min": "0", "fields.k.max": "9",
                                 "seed": "3"})
    want = sorted(f"+I[{g['k'] * 2}, NULL, {g['id']}, +I[{g['k']}, {g['k'] + 1}]]"
                  for g in (gen.row(i) for i in range(5)))
    got = sorted(ln for ln in run(path).stdout.splitlines() if ln.startswith("+I"))
    check(got == want, f"column list: {got}, want {want}")
    # upstream's example (unbounded datagen): it starts and prints nested buyers
    script = os.path.join(ROOT, "runtime", "sql", "tests", "scripts", "upstream_simple.sql")
    proc = subprocess.Popen([WEIR, "run", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    proc.terminate()
    proc.communicate(timeout=30)
    check(re.match(r"^\+I\[-?\d+, -?\d+\.\d\d, \+I\[[0-9a-f]+, [0-9a-f]+\], "
                   r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\]$", line),
          f"simple.sql printed {line!r}")


@case("bad input: malformed plan, unknown option, type error, corrupted metadata give specific errors")
def errors():
    cases = [
        ('{"version":1,"operators":[{"id":"s","type":"source"}]}', "$.operators[0]"),
        (json.dumps(plan(options={"rows-per-sec": "1"})), "rows-per-sec"),
    ]
    p = plan()
    p["operators"][1]["filter"] = {"kind": "call", "fn": "PLUS", "args": [
        {"kind": "column", "index": 0}, {"kind": "literal", "type": "STRING", "value": "x"}]}
    cases.append((json.dumps(p), "$.operators[1].filter"))
    for i, (text, needle) in enumerate(cases):
        path = os.path.join(WORK, f"bad-{i}.json")
        open(path, "w").write(text)
        r = run(path, check_rc=False)
        check(r.returncode == 2, f"case {i}: exit {r.returncode}, want 2")
        check(needle in r.stderr, f"case {i}: '{needle}' not in: {r.stderr.strip()}")
    # corrupted metadata and a missing state file
    spdir = os.path.join(WORK, "sp-bad")
    path = write_plan(group_plan(), "sp-bad.json")
    proc = subprocess.Popen([WEIR, "run", f"-Dstate.savepoints.dir=file://{spdir}", path],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(0.8)
    proc.send_signal(signal.SIGUSR2)
    _, err = proc.communicate(timeout=60)
    sp = re.search(r'msg="savepoint completed" path=(\S+)', err).group(1)
    broken = sp + "-broken"
    shutil.copytree(sp, broken)
    with open(os.path.join(broken, "_metadata"), "r+") as f:
        f.truncate(40)
    r = run(path, f"execution.savepoint.path={broken}", check_rc=False)
    check(r.returncode == 1 and "_metadata" in r.stderr, f"corrupted metadata: {r.returncode} {r.stderr[-400:]}")
    missing = sp + "-missing"
    shutil.copytree(sp, missing)
    for dp, _, fs in os.walk(missing):
        for f in fs:
            if f != "_metadata":
                os.unlink(os.path.join(dp, f))
    r = run(path, f"execution.savepoint.path={missing}", check_rc=False)
    check(r.returncode == 1 and missing in r.stderr, f"missing state file: {r.returncode} {r.stderr[-400:]}")


if __name__ == "__main__":
    only = sys.argv[1:]
    for fn in [tumble_exact, backends_identical, kill_restart, restart_strategy, savepoint_continue,
               incremental_retention, late_rows, idleness, config_and_cancel, savepoint_options,
               sql_sensor_aggregates, sql_decimal38, sql_nexmark, sql_union, sql_projection,
               sql_two_phase, sql_distinct, sql_row, errors]:
        if not only or fn.__name__ in only:
            fn()
    shutil.rmtree(WORK, ignore_errors=True)
    print(f"CASES passed={passed} failed={failed}")
    sys.exit(1 if failed else 0)
