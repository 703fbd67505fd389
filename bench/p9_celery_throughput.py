"""P9: a sweep through a CeleryExecutor deployment vs the embedded runner: achieved / ideal.

    .venv/bin/python bench/p9_celery_throughput.py [--points 200]      # ~10 min

Tool: `sleep 1` in saber/blobs:0.1.0 with an int input, swept over N points (one DAG run each).
- embedded: `saber run --workers 2` on a throw-away home;
- celery: `saber run --airflow URL --dags-folder DIR` on a deployment started here
  (tests/airflow_deployment.py: PostgreSQL, Redis, api-server, scheduler, dag-processor) with two
  Celery workers of one slot each (`--concurrency 1`), both on the default queue.
Ideal wall = N x 1 s / 2 slots; achieved / ideal = ideal / measured wall (1.0 is Docker-bound
perfection). Both are measured in this run, one after the other.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from p4_samplers import PY, throwaway_home

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from airflow_deployment import CeleryWorker, airflow_deployment  # noqa: E402
from pg_server import postgres_server  # noqa: E402

TOOL = """cwlVersion: v1.2
class: CommandLineTool
requirements: {DockerRequirement: {dockerPull: saber/blobs:0.1.0}}
baseCommand: [python3, -c, "import time; time.sleep(1)"]
inputs: {i: {type: int, inputBinding: {position: 1}}}
outputs: []
"""


def timed(args: list[str], env: dict[str, str], log: Path) -> float:
    import subprocess

    started = time.perf_counter()
    with open(log, "w") as out:
        done = subprocess.run([PY, "-m", "saber", "run", *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                              timeout=3600)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"saber run failed ({done.returncode}): {log.read_text()[-2000:]}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=200)
    args = ap.parse_args()
    tmp, env = throwaway_home("saber-p9-")
    tool = tmp / "sleep1.cwl"
    tool.write_text(TOOL)
    sweep = tmp / "sweep.yml"
    sweep.write_text(f"i: {{range: {{start: 0, stop: {args.points}, step: 1}}}}\n")
    ideal = args.points * 1.0 / 2
    print(f"P9, {args.points} points of a 1 s tool, 2 slots each way; load {os.getloadavg()[0]:.1f} at start")
    embedded = timed([str(tool), str(sweep), "--workers", "2", "--no-cache", "--outdir", str(tmp / "emb")], env,
                     tmp / "embedded.log")
    print(f"embedded (--workers 2): {embedded:.1f} s, achieved/ideal {ideal / embedded:.2f}", flush=True)
    with postgres_server() as pg, tempfile.TemporaryDirectory(prefix="saber-p9-dep-") as root:
        workers = [CeleryWorker(name, queues=("default",), concurrency=1,
                                env={"SABER_STORAGE": str(Path(root) / name / "storage")}) for name in ("w1", "w2")]
        started = time.perf_counter()
        with airflow_deployment(Path(root), pg, parallelism=4, workers=workers) as dep:
            print(f"celery deployment up in {time.perf_counter() - started:.1f} s", flush=True)
            remote_env = {**env, "SABER_AIRFLOW_USERNAME": dep.username, "SABER_AIRFLOW_PASSWORD": dep.password}
            celery = timed([str(tool), str(sweep), "--airflow", dep.url, "--dags-folder", str(dep.dags),
                            "--no-cache", "--outdir", str(tmp / "cel")], remote_env, tmp / "celery.log")
    print(f"celery (2 workers x 1 slot): {celery:.1f} s, achieved/ideal {ideal / celery:.2f}")
    print(f"celery / embedded wall: {celery / embedded:.2f}; load {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
