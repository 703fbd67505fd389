"""P8: what running a study on one's own Airflow (the `airflow` backend, REST API v2) costs per
trial, against the embedded backend, on the same study.

    .venv/bin/python bench/p8_backend_overhead.py [--trials 16] [--rounds 2]   # ~4-6 min

Tool: bench/p4/surface.cwl (saber/blobs:0.1.0; the container runs ~0.7 s). Study: TPE over P4's
x, y ranges, max_iterations N, batch_size 2, the same seed for both.
- baseline: `saber run --workers 2` on a throw-away SABER_HOME (the embedded backend);
- measured: `saber run --airflow URL --dags-folder DIR` on a real deployment started here the way
  the tests start one (tests/airflow_deployment.py: PostgreSQL, api-server, scheduler,
  dag-processor, LocalExecutor with parallelism 2), already running and holding the DAG (one
  warm-up study first), as a lab's deployment would be.
Per trial: the command's wall / N, and the DAG runs' window (first run's start -> last run's end,
from the results store's trial records) / N. Rounds alternate the two; ratios are medians of
the paired rounds' ratios (airflow / embedded).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import optuna
from p4_samplers import RANGE, SURFACE_CWL, saber_run, sweep_text, throwaway_home

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from airflow_deployment import airflow_deployment  # noqa: E402
from pg_server import postgres_server  # noqa: E402


def window_per_trial(home: Path, study: str) -> float:
    """(last DAG run end - first DAG run start) / trials, from the trials' own records."""
    trials = optuna.load_study(study_name=study, storage=f"sqlite:///{home / 'results.db'}").trials
    starts = [t.datetime_start.timestamp() for t in trials]
    ends = [t.datetime_complete.timestamp() for t in trials]
    return (max(ends) - min(starts)) / len(trials)


def one(name: str, sweep: Path, tmp: Path, env: dict[str, str], n: int) -> tuple[float, float]:
    wall, _ = saber_run(SURFACE_CWL, sweep, name, tmp, env, workers=2)
    return wall / n, window_per_trial(Path(env["SABER_HOME"]), name)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    n = args.trials
    tmp, env = throwaway_home("saber-bench-p8-")
    sweep = tmp / "sweep.yml"
    sweep.write_text(sweep_text("tpe", RANGE, budget=n, batch=2, seed=7))
    with postgres_server() as pg, airflow_deployment(Path(tempfile.mkdtemp(prefix="p8-airflow-", dir=tmp)), pg,
                                                     parallelism=2) as dep:
        remote = {**env, "SABER_AIRFLOW_URL": dep.url, "SABER_AIRFLOW_USERNAME": dep.username,
                  "SABER_AIRFLOW_PASSWORD": dep.password}
        ratios_cmd, ratios_win, rows = [], [], []
        one_remote("warmup", sweep, tmp, remote, n, dep.dags)
        for r in range(args.rounds):
            emb = one(f"emb{r}", sweep, tmp, env, n)
            air = one_remote(f"air{r}", sweep, tmp, remote, n, dep.dags)
            rows.append((r, emb, air))
            ratios_cmd.append(air[0] / emb[0])
            ratios_win.append(air[1] / emb[1])
    print(f"P8: a {n}-trial TPE study of {SURFACE_CWL.name} at batch_size 2, the airflow backend (a real "
          "deployment, LocalExecutor, parallelism 2) against the embedded backend (--workers 2)\n")
    print("| round | embedded per trial (command), s | embedded per trial (runs window), s "
          "| airflow per trial (command), s | airflow per trial (runs window), s |")
    print("|---|---|---|---|---|")
    for r, emb, air in rows:
        print(f"| {r} | {emb[0]:.2f} | {emb[1]:.2f} | {air[0]:.2f} | {air[1]:.2f} |")
    print(f"\n(logs in {tmp})")
    print(f"RESULT p8_backend_overhead: airflow / embedded wall per trial {statistics.median(ratios_cmd):.2f}x "
          f"(command), {statistics.median(ratios_win):.2f}x (DAG runs window); goal <= 1.5x")


def one_remote(name: str, sweep: Path, tmp: Path, env: dict[str, str], n: int, dags: Path) -> tuple[float, float]:
    import json
    import subprocess

    out = tmp / f"out-{name}"
    t = time.perf_counter()
    with open(tmp / f"{name}.log", "w") as f:
        res = subprocess.run([sys.executable, "-m", "saber", "run", str(SURFACE_CWL), str(sweep), "--study", name,
                              "--outdir", str(out), "--dags-folder", str(dags)],
                             env=env, stdout=f, stderr=subprocess.STDOUT, timeout=1800)
    wall = time.perf_counter() - t
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    if res.returncode != 0 or any(p["state"] != "success" for p in summary.get("points", [])):
        print((tmp / f"{name}.log").read_text()[-3000:])
        raise SystemExit(f"the {name} study did not succeed")
    return wall / n, window_per_trial(Path(env["SABER_HOME"]), name)


if __name__ == "__main__":
    main()
