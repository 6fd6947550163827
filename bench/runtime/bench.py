#!/usr/bin/python3
"""bench/runtime: throughput, CPU efficiency, memory, first-row latency and checkpoint cost of
the runtime engine (`weir run`), on job shapes comparable to Nexmark q0-q2 and a tumble
aggregation. A benchmark, never a test: it prints and writes numbers, it does not judge them.

Usage: bench/runtime/bench.py [--rows N] [--repeat N] [--out bench/results/runtime-DATE.json]
       [case ...]
Cases: passthrough, tumble-hashmap, tumble-rocksdb, tumble-hashmap-p2, tumble-hashmap-1m-keys,
tumble-rocksdb-1m-keys, first-row, checkpoint; tumble-hashmap-10-keys-p2; and with the
aggregation in two phases (local + global): tumble-hashmap-2ph, tumble-hashmap-p2-2ph,
tumble-hashmap-10-keys-p2-2ph, tumble-hashmap-1m-keys-2ph
"""
import argparse
import datetime
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WEIR = os.environ.get("WEIR_BIN", os.path.join(ROOT, "build", "bin", "weir"))


def source(rows, fields, extra=None):
    opts = {"number-of-rows": str(rows), "rows-per-second": "1000000000", "seed": "1"}
    schema = []
    for name, typ, o in fields:
        schema.append({"name": name, "type": typ})
        for k, v in o.items():
            opts[f"fields.{name}.{k}"] = v
    opts.update(extra or {})
    return {"id": "src", "type": "source", "connector": "datagen", "options": opts,
            "schema": schema}


def col(i):
    return {"kind": "column", "index": i}


def lit(t, v):
    return {"kind": "literal", "type": t, "value": v}


def call(fn, *args):
    return {"kind": "call", "fn": fn, "args": list(args)}


BID = [("auction", "BIGINT", {"min": "1000", "max": "1999"}),
       ("bidder", "BIGINT", {"min": "1", "max": "100000"}),
       ("price", "BIGINT", {"min": "1", "max": "10000000"}),
       ("id", "BIGINT", {"kind": "sequence", "start": "0", "end": "9223372036854775806"})]


def passthrough(rows):
    # Nexmark q0/q1/q2 class: project, convert the price (q1), filter (q2-like).
    return {"version": 1, "name": "passthrough", "operators": [
        source(rows, BID),
        {"id": "calc", "type": "calc", "input": "src",
         "filter": call("NOT_EQUALS", call("MOD", col(0), lit("BIGINT", 123)), lit("BIGINT", 0)),
         "projection": [{"name": "auction", "expr": col(0)},
                        {"name": "bidder", "expr": col(1)},
                        {"name": "price", "expr": call("TIMES", col(2), lit("BIGINT", 908))}]},
        {"id": "sink", "type": "sink", "input": "calc", "connector": "blackhole"}]}


def tumble(rows, keys=1000, size_ms=10000):
    return {"version": 1, "name": "tumble", "operators": [
        source(rows, [("k", "BIGINT", {"min": "0", "max": str(keys - 1)}),
                      ("v", "BIGINT", {"min": "1", "max": "100"}),
                      ("id", "BIGINT", {"kind": "sequence", "start": "0",
                                        "end": "9223372036854775806"})]),
        {"id": "calc", "type": "calc", "input": "src", "projection": [
            {"name": "k", "expr": col(0)}, {"name": "v", "expr": col(1)},
            {"name": "ts", "expr": call("TO_TIMESTAMP_LTZ", col(2), lit("INT", 3))}]},
        {"id": "wm", "type": "watermark", "input": "calc", "rowtime": "ts"},
        {"id": "win", "type": "window_aggregate", "input": "wm", "rowtime": "ts", "keys": ["k"],
         "window": {"kind": "tumble", "sizeMs": size_ms},
         "aggregates": [{"fn": "COUNT", "arg": None, "name": "c"},
                        {"fn": "SUM", "arg": "v", "name": "s"}]},
        {"id": "sink", "type": "sink", "input": "win", "connector": "blackhole"}]}


def group(rows, keys):
    return {"version": 1, "name": "group", "operators": [
        source(rows, [("k", "BIGINT", {"kind": "sequence", "start": "0",
                                        "end": str(keys - 1)}),
                      ("s", "STRING", {"length": "60"})]),
        {"id": "agg", "type": "group_aggregate", "input": "src", "keys": ["k", "s"],
         "aggregates": [{"fn": "COUNT", "arg": None, "name": "c"}]},
        {"id": "sink", "type": "sink", "input": "agg", "connector": "blackhole"}]}


def two_phase(plan):
    """The plan with its aggregation split into a local and a global phase (docs/plan.md)."""
    ops = []
    for o in plan["operators"]:
        if o["type"] in ("window_aggregate", "group_aggregate"):
            local = dict(o, id=o["id"] + "_local", type="local_" + o["type"])
            local.pop("parallelism", None)
            ops.append(local)
            o = {k: v for k, v in o.items() if k in ("id", "type", "parallelism", "uid")}
            o["input"] = local["id"]
        ops.append(o)
    return dict(plan, operators=ops)


def run(plan, flags, work):
    path = os.path.join(work, "plan.json")
    with open(path, "w") as f:
        json.dump(plan, f)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "MAXRSS_KB=%M", WEIR, "run", "--log-level", "info"]
                       + [f"-D{f}" for f in flags] + [path], capture_output=True, text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"weir run failed: {r.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rss = int(re.search(r"MAXRSS_KB=(\d+)", r.stderr).group(1)) / 1024
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "peak_rss_mib": round(rss, 1),
            "stderr": r.stderr}


REPEAT = 1


def throughput(name, plan, rows, flags, work):
    # the best of REPEAT runs (--repeat): this machine's noise is one-sided
    r = min((run(plan, flags, work) for _ in range(REPEAT)), key=lambda x: x["cpu_s"])
    res = {"case": name, "rows": rows, "wall_s": r["wall_s"], "cpu_s": r["cpu_s"],
           "rows_per_s": round(rows / r["wall_s"]), "rows_per_cpu_s": round(rows / r["cpu_s"]),
           "peak_rss_mib": r["peak_rss_mib"], "flags": flags}
    print(json.dumps(res), flush=True)
    return res


def first_row(work):
    plan = passthrough(10)
    plan["operators"][-1]["connector"] = "print"
    path = os.path.join(work, "first.json")
    with open(path, "w") as f:
        json.dump(plan, f)
    samples = []
    for _ in range(10):
        t0 = time.monotonic()
        p = subprocess.Popen([WEIR, "run", path], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        p.stdout.readline()
        samples.append((time.monotonic() - t0) * 1000)
        p.wait()
    samples.sort()
    res = {"case": "first-row", "median_ms": round(samples[len(samples) // 2], 2),
           "min_ms": round(samples[0], 2), "max_ms": round(samples[-1], 2)}
    print(json.dumps(res), flush=True)
    return res


def checkpoint(work, keys):
    ck = os.path.join(work, "ck")
    r = run(group(keys, keys), ["state.backend.type=rocksdb", f"state.backend.rocksdb.localdir={work}",
                                f"state.checkpoints.dir=file://{ck}", "parallelism.default=1",
                                "execution.checkpointing.interval=5s"], work)
    durs = [int(x) for x in re.findall(r'msg="checkpoint completed".*duration_ms=(\d+)', r["stderr"])]
    size = 0
    for dp, _, fs in os.walk(ck):
        size += sum(os.path.getsize(os.path.join(dp, f)) for f in fs)
    res = {"case": "checkpoint", "keys": keys, "checkpoints": len(durs), "durations_ms": durs,
           "bytes_on_disk_at_end": size, "wall_s": r["wall_s"], "cpu_s": r["cpu_s"],
           "peak_rss_mib": r["peak_rss_mib"]}
    print(json.dumps(res), flush=True)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--out")
    ap.add_argument("--checkpoint-keys", type=int, default=8_000_000)
    ap.add_argument("--repeat", type=int, default=1, help="keep the best of N runs per case")
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()
    global REPEAT
    REPEAT = max(1, a.repeat)
    cases = a.cases or ["passthrough", "tumble-hashmap", "tumble-rocksdb", "tumble-hashmap-p2",
                        "tumble-hashmap-1m-keys", "tumble-rocksdb-1m-keys", "first-row",
                        "checkpoint"]
    work = tempfile.mkdtemp(prefix="weir-bench-")
    results = []
    try:
        for c in cases:
            if c.endswith("-2ph"):  # the same case with its aggregation in two phases
                base = c[:-4]
                plans = {"tumble-hashmap": (tumble(a.rows), ["state.backend.type=hashmap"]),
                         "tumble-hashmap-p2": (tumble(a.rows), ["state.backend.type=hashmap",
                                                                "parallelism.default=2"]),
                         "tumble-hashmap-10-keys-p2": (tumble(a.rows, 10),
                                                       ["state.backend.type=hashmap",
                                                        "parallelism.default=2"]),
                         "tumble-hashmap-1m-keys": (tumble(a.rows, 1_000_000, 3_600_000),
                                                    ["state.backend.type=hashmap"])}
                if base not in plans:
                    sys.exit(f"unknown case {c}")
                results.append(throughput(c, two_phase(plans[base][0]), a.rows, plans[base][1],
                                          work))
            elif c == "tumble-hashmap-10-keys-p2":
                results.append(throughput(c, tumble(a.rows, 10), a.rows,
                                          ["state.backend.type=hashmap",
                                           "parallelism.default=2"], work))
            elif c == "passthrough":
                results.append(throughput(c, passthrough(a.rows), a.rows, [], work))
            elif c == "tumble-hashmap":
                results.append(throughput(c, tumble(a.rows), a.rows,
                                          ["state.backend.type=hashmap"], work))
            elif c == "tumble-rocksdb":
                results.append(throughput(c, tumble(a.rows), a.rows,
                                          ["state.backend.type=rocksdb",
                                           f"state.backend.rocksdb.localdir={work}"], work))
            elif c == "tumble-hashmap-p2":
                results.append(throughput(c, tumble(a.rows), a.rows,
                                          ["state.backend.type=hashmap",
                                           "parallelism.default=2"], work))
            elif c == "tumble-rocksdb-1m-keys":
                # 1 M keys in one-hour windows with an 8 MiB cache: most updates miss the cache.
                results.append(throughput(c, tumble(a.rows, 1_000_000, 3_600_000), a.rows,
                                          ["state.backend.type=rocksdb",
                                           f"state.backend.rocksdb.localdir={work}",
                                           "state.backend.rocksdb.cache-size=8mb"], work))
            elif c == "tumble-hashmap-1m-keys":
                results.append(throughput(c, tumble(a.rows, 1_000_000, 3_600_000), a.rows,
                                          ["state.backend.type=hashmap"], work))
            elif c == "first-row":
                results.append(first_row(work))
            elif c == "checkpoint":
                results.append(checkpoint(work, a.checkpoint_keys))
            else:
                sys.exit(f"unknown case {c}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"date": datetime.date.today().isoformat(), "machine": os.uname().nodename,
                       "cpus": os.cpu_count(), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
