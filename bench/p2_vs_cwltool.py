"""P2: `saber run` wall / `cwltool --parallel` wall on the same 10-step Docker workflow (goal <= 1.15).

    /opt/saber-venv/bin/python bench/p2_vs_cwltool.py [--fan 8] [--sleep 0.5]

The step cache is off for saber (`--no-cache`): every round runs every step, as cwltool does.
The workflow is a diamond: `first` -> `mid1..mid8` (parallel) -> `join`, every step a
`python3 -c` in saber/blobs:0.1.0 that sleeps 0.5 s and writes a file (network off). Each tool
runs as a subprocess, once cold then --repeat times warm, interleaved; the ratio uses the medians
of the warm runs. saber's first run creates the Airflow database of a throw-away SABER_HOME and
starts its warm server (saber/cli/_warm.py); the later ones reuse both.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import stop_warm_servers, task_segments, ts

GOAL = 1.15
IMAGE = "saber/blobs:0.1.0"
PY = sys.executable
CWLTOOL = str(Path(PY).with_name("cwltool"))

TOOL = """\
cwlVersion: v1.2
class: CommandLineTool
requirements:
  DockerRequirement: {{dockerPull: "{image}"}}
baseCommand: [python3, -c]
arguments:
  - position: 0
    valueFrom: "import sys, time; time.sleep({sleep}); open('out.txt', 'w').write(sys.argv[1] + chr(10) + ''.join(open(p).read() for p in sys.argv[2:]))"
inputs:
  tag: {{type: string, inputBinding: {{position: 1}}}}
  deps: {{type: "File[]?", inputBinding: {{position: 2}}}}
outputs:
  out: {{type: File, outputBinding: {{glob: out.txt}}}}
"""


def workflow(fan: int) -> str:
    mids = [f"mid{i + 1}" for i in range(fan)]
    lines = ["cwlVersion: v1.2", "class: Workflow", "requirements:", "  MultipleInputFeatureRequirement: {}",
             "inputs:", "  label: {type: string, default: bench}", "outputs:",
             "  result: {type: File, outputSource: join/out}", "steps:",
             "  first:", "    run: tool.cwl", "    in: {tag: label}", "    out: [out]"]
    for m in mids:
        lines += [f"  {m}:", "    run: tool.cwl", "    in:", f"      tag: {{default: {m}}}",
                  "      deps: {source: [first/out], linkMerge: merge_flattened}", "    out: [out]"]
    lines += ["  join:", "    run: tool.cwl", "    in:", "      tag: {default: join}",
              f"      deps: {{source: [{', '.join(m + '/out' for m in mids)}], linkMerge: merge_flattened}}",
              "    out: [out]"]
    return "\n".join(lines) + "\n"


def timed(cmd: list[str], env: dict, log: Path) -> float:
    t = time.perf_counter()
    with open(log, "w") as f:
        res = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT, timeout=300)
    wall = time.perf_counter() - t
    if res.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({res.returncode}):\n{log.read_text()[-3000:]}")
    return wall


def check_result(outdir: Path, fan: int) -> None:
    found = list(outdir.rglob("out.txt"))
    text = found[0].read_text() if found else ""
    if not found or text.count("bench") != fan or "join" not in text:
        sys.exit(f"unexpected result in {outdir}: {found} {text!r}")




def saber_breakdown(home: Path, run_t0: float) -> list[str]:
    """Where the warm saber run's time went, from Airflow's own task-instance records."""
    db = sqlite3.connect(home / "airflow" / "airflow.db")
    run_id = db.execute("SELECT run_id FROM dag_run ORDER BY id DESC LIMIT 1").fetchone()[0]
    dr = db.execute("SELECT start_date, end_date FROM dag_run WHERE run_id=?", (run_id,)).fetchone()
    rows = db.execute("SELECT task_id, queued_dttm, start_date, end_date FROM task_instance WHERE run_id=? "
                      "ORDER BY start_date", (run_id,)).fetchall()
    dr_start, dr_end = ts(dr[0]), ts(dr[1])
    out = ["  saber warm run, from Airflow's records (t=0: `saber run` process start):",
           f"    dag run created at {dr_start - run_t0:5.2f} s, ended {dr_end - run_t0:5.2f} s"]
    durs, q2s = [], []
    for task, q, s, e in rows:
        q, s, e = ts(q), ts(s), ts(e)
        durs.append(e - s)
        q2s.append(s - q)
        out.append(f"    {task:<6} queued {q - run_t0:5.2f}  start {s - run_t0:5.2f}  end {e - run_t0:5.2f}  "
                   f"(run {e - s:4.2f} s, queued->start {s - q:4.2f} s)")
    out.append(f"    task run time mean {sum(durs) / len(durs):.2f} s (sleep + docker + cwltool + task "
               f"process), queued->start mean {sum(q2s) / len(q2s):.2f} s")
    pre, tool, post = task_segments(home / "airflow" / "logs", run_id)
    segs = {"task start->docker run": pre, "docker run->cwltool completed": tool, "completed->log end": post}
    out.append("    from the task logs, medians: " + "; ".join(
        f"{name} {statistics.median(xs):.2f} s" for name, xs in segs.items() if xs))
    return out




# A third, untimed `saber run` with saber's phases wrapped in timers (saber/ itself untouched).
PHASES = r"""
import atexit, json, os, sys, time
T0 = float(os.environ["BENCH_LAUNCH"])  # the parent's clock just before it started this process
marks, totals = [], {}
def mark(name):
    marks.append((name, time.time() - T0))
def wrap(obj, attr, name, once=False):
    orig = getattr(obj, attr)
    def inner(*a, **k):
        t = time.time()
        first = name not in totals
        if not once or first:
            mark(name + " start")
        try:
            return orig(*a, **k)
        finally:
            n, tot = totals.get(name, (0, 0.0))
            totals[name] = (n + 1, tot + time.time() - t)
            if not once or first:
                mark(name + " end")
    setattr(obj, attr, inner)
import saber.cli, saber.runs._sweep as sr, saber.backends.embedded._docker as dk, saber.backends.embedded._runner as rn
import saber.backends.embedded._home as hm, saber.backends.embedded._backend as be, concurrent.futures as cf
mark("python started, saber.cli imported")
wrap(sr, "compile_workflow", "compile_workflow")
wrap(sr, "prepare_points", "prepare_points")
wrap(dk, "check_docker", "check_docker")
wrap(hm, "ensure_database", "ensure_database")
wrap(rn.RunBatches, "run", "runner.run")
wrap(sr, "_collect", "collect outputs")
wrap(cf.ProcessPoolExecutor, "submit", "pool.submit", once=True)
wrap(cf.ProcessPoolExecutor, "shutdown", "pool.shutdown")
orig_start = be.EmbeddedBackend.start
def start(self):  # _compat imports Airflow: only once the backend has activated the home
    orig_start(self)
    import saber.backends.embedded._compat as wk
    wrap(wk, "warm_execution_api", "warm_execution_api (build Execution API app)")
    orig_sync = wk.sync_dag
    def sync(*a):
        mark("runner.sync (parse DAG file, write to DB) start")
        dag = orig_sync(*a)
        mark("runner.sync end")
        wrap(type(dag), "create_dagrun", "create_dagrun")
        from airflow.models.dagrun import DagRun
        wrap(DagRun, "update_state", "DagRun.update_state", once=True)
        return dag
    wk.sync_dag = sync
be.EmbeddedBackend.start = start
import saber.backends.embedded._workers as workers
orig_init = workers.init_worker
def init_worker(*a):  # runs in the forked worker: report through a file
    t = time.time()
    orig_init(*a)
    with open(os.environ["BENCH_PHASES"] + ".workers", "a") as f:
        f.write(json.dumps([t - T0, time.time() - T0]) + "\n")
workers.init_worker = init_worker
def done():
    mark("atexit")
    open(os.environ["BENCH_PHASES"], "w").write(json.dumps({"marks": marks, "totals": totals}))
atexit.register(done)
rc = saber.cli.main(sys.argv[1:])
mark("main returned")
sys.exit(rc)
"""


def phases(env: dict, tmp: Path, wf: Path, job: Path) -> list[str]:
    out_file = tmp / "phases.json"
    launch = time.time()
    wall = timed([PY, "-c", PHASES, "run", str(wf), "--job", str(job), "--outdir", str(tmp / "saber-out-phases")],
                 {**env, "BENCH_PHASES": str(out_file), "BENCH_LAUNCH": repr(launch)}, tmp / "phases.log")
    exited = time.time() - launch
    data = json.loads(out_file.read_text())
    workers = [json.loads(x) for x in Path(str(out_file) + ".workers").read_text().splitlines()]
    marks = data["marks"] + [(f"worker init_worker (preload tools) {'start' if i == 0 else 'end'}", w[i])
                             for w in workers for i in (0, 1)]
    marks.append(("process exited (after atexit handlers, interpreter teardown)", exited))
    lines = [f"  saber phases (third, instrumented warm run, wall {wall:.2f} s; t=0 at process launch):"]
    last = 0.0
    for name, at in sorted(marks, key=lambda m: m[1]):
        lines.append(f"    {at:6.2f} s  (+{at - last:5.2f})  {name}")
        last = at
    for name, (n, tot) in data["totals"].items():
        if n > 1:
            lines.append(f"    {name}: {n} calls, {tot:.2f} s in all")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fan", type=int, default=8)
    ap.add_argument("--sleep", type=float, default=0.5)
    ap.add_argument("--no-phases", action="store_true", help="skip the instrumented third saber run")
    ap.add_argument("--repeat", type=int, default=3, help="warm rounds after the cold one (median shown)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="saber-bench-p2-"))
    (tmp / "tool.cwl").write_text(TOOL.format(image=IMAGE, sleep=args.sleep))
    wf = tmp / "diamond.cwl"
    wf.write_text(workflow(args.fan))
    job = tmp / "job.yml"
    job.write_text("label: bench\n")
    home = tmp / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(SABER_HOME=str(home), TMPDIR=str(tmp))
    env.pop("SABER_STORAGE", None)

    # Context: what one bare container costs here.
    bare = [timed(["docker", "run", "--rm", "--network", "none", IMAGE, "python3", "-c",
                   f"import time; time.sleep({args.sleep})"], env, tmp / "bare.log") for _ in range(3)]

    walls: dict[str, list[float]] = {"cwltool --parallel": [], "saber run": []}
    saber_t0 = 0.0
    for rnd in range(1, args.repeat + 2):  # round 1 cold (saber: its database, its warm server)
        out = tmp / f"cwltool-out{rnd}"
        walls["cwltool --parallel"].append(timed(
            [CWLTOOL, "--parallel", "--quiet", "--tmpdir-prefix", str(tmp / "cwltmp") + "/",
             "--outdir", str(out), str(wf), str(job)], env, tmp / f"cwltool{rnd}.log"))
        check_result(out, args.fan)
        out = tmp / f"saber-out{rnd}"
        saber_t0 = time.time()
        walls["saber run"].append(timed([PY, "-m", "saber", "run", str(wf), "--job", str(job), "--no-cache",
                                         "--outdir", str(out)],
                                        env, tmp / f"saber{rnd}.log"))
        check_result(out, args.fan)
        summary = json.loads((out / "summary.json").read_text())
        assert summary["points"][0]["state"] == "success", summary

    steps = args.fan + 2
    waves = 2 + -(-args.fan // (os.cpu_count() or 2))
    print(f"P2: {steps}-step diamond (1 -> {args.fan} -> 1), each step sleeps {args.sleep} s in {IMAGE}, "
          f"{os.cpu_count()} cores")
    print(f"bare `docker run --rm --network none` of one {args.sleep} s step: "
          f"{', '.join(f'{b:.2f}' for b in bare)} s; critical path {waves} waves -> "
          f">= {waves * min(bare):.1f} s with Docker alone")
    print(f"{'runner':<20} {'cold s':>8} {'warm s (median of ' + str(args.repeat) + ')':>22}   warm rounds")
    for name, (cold, *warm) in walls.items():
        print(f"{name:<20} {cold:8.2f} {statistics.median(warm):22.2f}   {', '.join(f'{w:.2f}' for w in warm)}")
    for line in saber_breakdown(home, saber_t0):
        print(line)
    if not args.no_phases:
        for line in phases(env, tmp, wf, job):
            print(line)
    stop_warm_servers(home)
    c, s = walls["cwltool --parallel"], walls["saber run"]
    cw, sw = statistics.median(c[1:]), statistics.median(s[1:])
    print(f"ratio cold (saber incl. creating its database and starting its warm server) = {s[0] / c[0]:.2f}; "
          f"warm = {sw / cw:.2f}; saber overhead warm = {sw - cw:+.2f} s; load at the end {os.getloadavg()[0]:.2f}")
    print(f"(throw-away SABER_HOME, workflow and logs kept in {tmp})")
    print(f"RESULT p2_vs_cwltool: ratio={sw / cw:.2f} (goal <= {GOAL}: warm `saber run` {sw:.2f} s / "
          f"warm `cwltool --parallel` {cw:.2f} s, medians of {args.repeat})")


if __name__ == "__main__":
    main()
