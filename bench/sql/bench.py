#!/usr/bin/python3
"""bench/sql: how long the SQL front end takes to compile each test script, and whether a
compiled query runs as fast as the equivalent hand-written plan. A benchmark, not a test.

Compile time is measured in process by `weir sql --time` (the script checked 101 times: parse,
bind, plan, push-down and the plan loader's check; median and fastest, in microseconds), so
process start-up and its noise are not in it.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WEIR = os.environ.get("WEIR_BIN", os.path.join(ROOT, "build", "bin", "weir"))
sys.path.insert(0, os.path.join(ROOT, "bench", "runtime"))
import bench as rtbench  # noqa: E402


def main():
    scripts = sorted(
        [os.path.join(ROOT, "runtime", "sql", "tests", "scripts", f)
         for f in os.listdir(os.path.join(ROOT, "runtime", "sql", "tests", "scripts"))] +
        [os.path.join(ROOT, "runtime", "sql", "examples", f)
         for f in os.listdir(os.path.join(ROOT, "runtime", "sql", "examples"))])
    results = {"compile_us": {}, "compile_min_us": {}}
    for s in scripts:
        r = json.loads(subprocess.run([WEIR, "sql", "--time", s], capture_output=True, text=True,
                                      check=True).stdout)
        results["compile_us"][os.path.relpath(s, ROOT)] = r["median_us"]
        results["compile_min_us"][os.path.relpath(s, ROOT)] = r["min_us"]
    # the same pass-through job as SQL and as a hand-written plan
    rows = int(os.environ.get("ROWS", "20000000"))
    sql = f"""
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, id BIGINT) WITH (
  'connector' = 'datagen', 'number-of-rows' = '{rows}', 'rows-per-second' = '1000000000',
  'seed' = '1', 'fields.auction.min' = '1000', 'fields.auction.max' = '1999',
  'fields.bidder.min' = '1', 'fields.bidder.max' = '100000', 'fields.price.min' = '1',
  'fields.price.max' = '10000000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '0',
  'fields.id.end' = '9223372036854775806');
CREATE TABLE sink (auction BIGINT, bidder BIGINT, price BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT auction, bidder, price * 908 FROM bid WHERE MOD(auction, 123) <> 0;
"""
    work = tempfile.mkdtemp(prefix="weir-bench-sql-")
    path = os.path.join(work, "q.sql")
    with open(path, "w") as f:
        f.write(sql)
    # run both twice, keep the better, so noise does not pick the winner
    sql_runs, plan_runs = [], []
    for _ in range(2):
        r0 = subprocess.run(["/usr/bin/time", "-f", "%U %S", WEIR, "run", path],
                            capture_output=True, text=True)
        u, s_ = r0.stderr.strip().splitlines()[-1].split()
        sql_runs.append(float(u) + float(s_))
        res = rtbench.run(rtbench.passthrough(rows), [], work)
        plan_runs.append(res["cpu_s"])
    results["passthrough_rows"] = rows
    results["sql_cpu_s"] = min(sql_runs)
    results["plan_cpu_s"] = min(plan_runs)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
