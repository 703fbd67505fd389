"""P4b: what the optimizer loop of a `saber run` study costs per trial, beyond the step's own
container time, at batch_size 1 and 2, against a plain sweep of as many points.

    /opt/saber-venv/bin/python bench/p4_loop_overhead.py [--trials 16]      # ~1-2 min

Tool: bench/p4/surface.cwl (saber/blobs:0.1.0, network off; the container runs ~0.7 s).
Studies: TPE over the x, y ranges of P4 (bench/p4_samplers.py), max_iterations N, batch_size 1
and 2, `--workers 2`. Per trial, from the results database (Optuna user_attrs): saber_wall_s
(the DAG run's start -> end), saber_container_s (the step's `docker run`) and ask -> tell
(Optuna's trial start -> complete; what the loop adds outside the DAG run).
Baseline, measured in the same process and SABER_HOME (its database created before timing):
the same N points as a plain sweep, a copy of the tool WITHOUT the score hint and the sweep
`method: random, max_iterations: N` over the same labels, so `saber run` starts all N DAG runs
at once, no optimizer; its DAG runs' dates from Airflow's database, container seconds from XCom.

Per point: command wall / N (includes start-up: compiling the CWL, importing Airflow), and the
window from the first DAG run's start to the last one's end / N. Overhead per point = window / N
minus container seconds / the runs in flight (what the containers alone would need at that
parallelism). Ratios study / plain of both per-point figures. A plain sweep's DAG runs all start
at once, so its "DAG run - container" includes waiting for a worker.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import optuna
from _common import ts
from p4_samplers import RANGE, SURFACE_CWL, saber_run, sweep_text, throwaway_home

HINT = '''hints:
  saber: {score_format: "score: {score}"}
'''


@dataclass(frozen=True)
class Measured:
    name: str
    points: int
    in_flight: int
    command_s: float
    startup_s: float  # command start -> first DAG run start
    window_s: float  # first DAG run start -> last DAG run end
    container_s: list[float]
    run_wall_s: list[float]  # each DAG run, start -> end
    ask_tell_s: list[float] | None  # study trials only


def plain_tool(dest: Path) -> Path:
    """A copy of the surface tool without its score hint (so `saber run` runs a plain sweep)."""
    text = SURFACE_CWL.read_text()
    if HINT not in text:
        raise SystemExit(f"{SURFACE_CWL} no longer has the hint this bench removes:\n{HINT}")
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "surface.py").write_text((SURFACE_CWL.parent / "surface.py").read_text())
    (dest / SURFACE_CWL.name).write_text(text.replace(HINT, ""))
    return dest / SURFACE_CWL.name


def dag_runs(db: Path, run_ids: list[str]) -> tuple[list[tuple[float, float]], list[float]]:
    """(start, end) epoch seconds of each DAG run, and the container seconds its steps pushed."""
    con = sqlite3.connect(db)
    try:
        marks = ",".join("?" * len(run_ids))
        dates = [(ts(s), ts(e)) for s, e in con.execute(
            f"SELECT start_date, end_date FROM dag_run WHERE run_id IN ({marks})", run_ids)]
        # sqlite hands back a JSON number as a number
        container = [float(v if isinstance(v, (int, float)) else json.loads(v)) for (v,) in con.execute(
            f"SELECT value FROM xcom WHERE key = 'container_s' AND run_id IN ({marks})", run_ids)]
    finally:
        con.close()
    return dates, container


def measure(name: str, tool: Path, text: str, tmp: Path, env: dict[str, str], in_flight: int,
            study: bool) -> Measured:
    sweep = tmp / f"{name}.yml"
    sweep.write_text(text)
    started = time.time()
    wall, summary = saber_run(tool, sweep, name, tmp, env, workers=2)
    home = Path(env["SABER_HOME"])
    run_ids = [p["dag_run_id"] for p in summary["points"]]
    dates, container = dag_runs(home / "airflow" / "airflow.db", run_ids)
    first, last = min(s for s, _ in dates), max(e for _, e in dates)
    ask_tell = None
    if study:  # the loop's own record of each trial
        trials = optuna.load_study(study_name=name, storage=f"sqlite:///{home / 'results.db'}").trials
        container = [t.user_attrs["saber_container_s"] for t in trials]
        runs = [t.user_attrs["saber_wall_s"] for t in trials]
        ask_tell = [(t.datetime_complete - t.datetime_start).total_seconds() for t in trials]
    else:
        runs = [e - s for s, e in dates]
    return Measured(name, len(run_ids), in_flight, wall, first - started, last - first, container, runs, ask_tell)


def row(m: Measured, plain: Measured) -> str:
    per_point = m.window_s / m.points
    container = statistics.mean(m.container_s)
    overhead = per_point - container / m.in_flight
    run_minus = statistics.mean(w - c for w, c in zip(m.run_wall_s, m.container_s))
    loop = "-" if m.ask_tell_s is None else f"{statistics.mean(a - w for a, w in zip(m.ask_tell_s, m.run_wall_s)):.2f}"
    return (f"| {m.name} | {m.points} | {m.in_flight} | {m.command_s:.1f} | {m.startup_s:.1f} | "
            f"{m.command_s / m.points:.2f} | {m.window_s:.1f} | {per_point:.2f} | {container:.2f} | {overhead:.2f} | "
            f"{run_minus:.2f} | {loop} | {per_point / (plain.window_s / plain.points):.2f} | "
            f"{(m.command_s / m.points) / (plain.command_s / plain.points):.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=16, help="trials per study, points of the plain sweep")
    args = ap.parse_args()
    n = args.trials
    tmp, env = throwaway_home("saber-bench-p4b-")
    plain = measure("plain", plain_tool(tmp / "plain"),
                    sweep_text("random", RANGE, budget=n), tmp, env, in_flight=2, study=False)
    studies = [measure(f"tpe-b{b}", SURFACE_CWL, sweep_text("tpe", RANGE, budget=n, batch=b), tmp, env,
                       in_flight=b, study=True) for b in (1, 2)]

    print(f"P4b: loop overhead of `saber run` studies of {SURFACE_CWL.name} ({n} trials each, 2 workers) "
          f"against a plain sweep of {n} points (baseline)\n")
    print("| run | points | in flight | command wall, s | start-up, s | per point (command), s | window, s "
          "| per point (window), s | container, s | overhead / point, s | DAG run - container, s "
          "| ask->tell - DAG run, s | per point / plain (window) | per point / plain (command) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for m in (plain, *studies):
        print(row(m, plain))
    b1 = studies[0]
    print(f"\n(per-trial means; throw-away SABER_HOME, logs kept in {tmp})")
    print(f"RESULT p4_loop_overhead: batch_size 1 costs {b1.window_s / b1.points:.2f} s per trial "
          f"({b1.window_s / b1.points - statistics.mean(b1.container_s):.2f} s beyond its container), "
          f"{(b1.window_s / b1.points) / (plain.window_s / plain.points):.2f}x the plain sweep's "
          f"{plain.window_s / plain.points:.2f} s per point")


if __name__ == "__main__":
    main()
