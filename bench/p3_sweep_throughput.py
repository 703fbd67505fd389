"""P3: sweep throughput of `saber run` on a 1-second Docker tool: achieved / ideal (goal >= 0.85).

    /opt/saber-venv/bin/python bench/p3_sweep_throughput.py [--points 200] [--bare 10] [--workers N]

Tool: `python3 -c "import time; time.sleep(1)"` in saber/blobs:0.1.0 (network off) with an int
input `i`, swept over `i: {range: {start: 0, stop: N, step: 1}}`, one DAG run per point.
Ideal wall = N x 1 s / cores. Baseline measured in the same run: `--bare` plain
`docker run --rm --network none` of the same command, 2 at a time (what Docker alone allows).
The throw-away SABER_HOME's database is created before timing (P2 covers a cold start).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import stop_warm_servers, task_segments, ts

GOAL = 0.85
IMAGE = "saber/blobs:0.1.0"
PY = sys.executable
TOOL = f"""\
cwlVersion: v1.2
class: CommandLineTool
requirements:
  DockerRequirement: {{dockerPull: "{IMAGE}"}}
baseCommand: [python3, -c, "import time; time.sleep(1)"]
inputs:
  i: {{type: int, inputBinding: {{position: 1}}}}
outputs: []
"""




def bare_docker(n: int, parallel: int) -> tuple[float, list[float]]:
    cmd = ["docker", "run", "--rm", "--network", "none", IMAGE, "python3", "-c", "import time; time.sleep(1)"]

    def one(_):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        return time.perf_counter() - t

    t = time.perf_counter()
    with ThreadPoolExecutor(parallel) as ex:
        each = list(ex.map(one, range(n)))
    return time.perf_counter() - t, each


def log_phases(logs: Path) -> dict[str, list[float]]:
    pre, tool, post = task_segments(logs)
    return {"task start -> docker run (cwltool set-up)": pre,
            "docker run -> cwltool 'completed' (container + cwltool job)": tool,
            "completed -> log end (outputs, XCom)": post}


def peak(tis: list[tuple[float, float, float]]) -> int:
    """The most task instances running at one time."""
    edges = sorted([(s, 1) for _, s, _ in tis] + [(e, -1) for _, _, e in tis])
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--bare", type=int, default=10, help="bare docker runs for the baseline")
    ap.add_argument("--workers", type=int, help="saber run --workers N (default: none, saber's default)")
    args = ap.parse_args()
    cores = os.cpu_count() or 2
    workers = f"--workers {args.workers}" if args.workers else "default workers"

    tmp = Path(tempfile.mkdtemp(prefix="saber-bench-p3-"))
    tool = tmp / "sleep1.cwl"
    tool.write_text(TOOL)
    sweep = tmp / "sweep.yml"
    sweep.write_text(f"i: {{range: {{start: 0, stop: {args.points}, step: 1}}}}\n")
    home = tmp / "home"
    atexit.register(stop_warm_servers, home)  # the `saber run` below starts one (saber/cli/_warm.py)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(SABER_HOME=str(home), TMPDIR=str(tmp))
    env.pop("SABER_STORAGE", None)

    # Untimed: the database of the throw-away home.
    subprocess.run([PY, "-c", "from saber.backends.embedded import activate, ensure_database; "
                    "from saber.home import SaberHome; h = SaberHome.from_env(); activate(h); ensure_database(h)"],
                   env=env, check=True, timeout=300)

    bare_wall, bare_each = bare_docker(args.bare, cores)

    log = tmp / "saber.log"
    t0 = time.time()
    with open(log, "w") as f:
        res = subprocess.run([PY, "-m", "saber", "run", str(tool), str(sweep), "--outdir", str(tmp / "out"),
                              *(["--workers", str(args.workers)] if args.workers else [])],
                             env=env, stdout=f, stderr=subprocess.STDOUT, timeout=900)
    wall = time.time() - t0
    summary = json.loads((tmp / "out" / "summary.json").read_text()) if (tmp / "out" / "summary.json").exists() else {}
    ok = sum(p["state"] == "success" for p in summary.get("points", []))
    if res.returncode != 0 or ok != args.points:
        print(log.read_text()[-3000:])
        sys.exit(f"saber run failed: rc={res.returncode}, {ok}/{args.points} points succeeded")

    db = sqlite3.connect(home / "airflow" / "airflow.db")
    tis = [(ts(q), ts(s), ts(e)) for q, s, e in
           db.execute("SELECT queued_dttm, start_date, end_date FROM task_instance").fetchall()]
    runs = [(ts(s), ts(e)) for s, e in db.execute("SELECT start_date, end_date FROM dag_run").fetchall()]
    first_start, last_end = min(s for _, s, _ in tis), max(e for _, _, e in tis)
    window = last_end - first_start
    busy = sum(e - s for _, s, e in tis)
    durs = [e - s for _, s, e in tis]
    phases = log_phases(home / "airflow" / "logs")

    ideal = args.points * 1.0 / cores
    docker_alone = args.points * bare_wall / args.bare  # same rate as the bare baseline
    print(f"P3: {args.points}-point sweep of a 1 s Docker tool ({IMAGE}), {cores} cores, "
          f"saber run with {workers}")
    print(f"{'':<58} {'seconds':>8} {'points/s':>9}")
    print(f"{'ideal (points x 1 s / cores)':<58} {ideal:8.1f} {args.points / ideal:9.3f}")
    print(f"{f'bare docker run, {args.bare} runs {cores} at a time (scaled to {args.points})':<58} "
          f"{docker_alone:8.1f} {args.points / docker_alone:9.3f}")
    print(f"{'saber run, process wall':<58} {wall:8.1f} {args.points / wall:9.3f}")
    print(f"{'saber run, first task start -> last task end':<58} {window:8.1f} {args.points / window:9.3f}")
    print(f"  bare docker run each: median {statistics.median(bare_each):.2f} s (min {min(bare_each):.2f})")
    print(f"  saber: start-up before first task {first_start - t0:.1f} s, after last task {t0 + wall - last_end:.1f} s; "
          f"{len(runs)} DAG runs, {len(tis)} task instances")
    print(f"  task instance start->end: median {statistics.median(durs):.2f} s, mean {statistics.mean(durs):.2f} s; "
          f"worker-slot utilisation {busy / (cores * window):.0%} "
          f"(queued->start median {statistics.median(s - q for q, s, _ in tis):.3f} s)")
    print(f"  tasks running at once: at most {peak(tis)}, mean {busy / window:.1f}")
    for name, xs in phases.items():
        if xs:
            print(f"    {name:<62} median {statistics.median(xs):5.2f} s")
    ratio = ideal / wall
    print(f"achieved/ideal = {ratio:.2f} (task window only: {ideal / window:.2f}); "
          f"achieved/docker-alone = {docker_alone / wall:.2f}; docker-alone/ideal = {ideal / docker_alone:.2f}")
    print(f"(throw-away SABER_HOME, workflow and logs kept in {tmp})")
    print(f"RESULT p3_sweep_throughput: ratio={ratio:.2f} (goal >= {GOAL}: {args.points} points in {wall:.1f} s, "
          f"ideal {ideal:.1f} s; Docker alone allows {docker_alone:.1f} s)")


if __name__ == "__main__":
    main()
