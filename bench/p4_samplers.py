"""P4: how many trials each sampler needs to come within 1 % of the grid's best score
(goal: TPE within 20 % of the grid's size, i.e. <= 80 of 400 trials).

    /opt/saber-venv/bin/python bench/p4_samplers.py [--seeds 5]      # function mode, ~1-3 min
    /opt/saber-venv/bin/python bench/p4_samplers.py --workflow       # TPE through `saber run`, ~3-5 min

Surface: bench/p4/surface.py, a Gaussian peak at (0.62, 0.31) on a slope rising towards (0, 1);
the bench imports the very file that bench/p4/surface.cwl runs in saber/blobs:0.1.0.
Labels: x and y each `range {start: 0, stop: 1, step: 0.05}`, a 20 x 20 = 400-point grid whose
best cell (0.6, 0.3) is the grid's 247th in file order. Target: a score of at least the grid's
best minus 1 % of the grid's score range (max - min); only that best cell reaches it.

Function mode runs saber's real `Optimizer` loop (ask -> run -> tell, Optuna in-memory storage)
with a run_round that evaluates the surface in-process. Random, TPE and CMA-ES draw from the
same labels (TPE and CMA-ES see them as stepped numeric distributions) with max_iterations =
the grid's size, seeds 0..N-1, batch_size 1; extra rows: TPE at batch_size 4 and TPE on
continuous `uniform` labels over the same box. A run stops at the round after it first reached
the target. "Trials" is the 1-based number of the first trial that reached it (at batch_size 4
up to 3 more trials of its round ran too); a run that never does counts as budget + 1.
Baseline in the same process: the grid method over the same labels, and the grid's size.

--workflow: TPE (seed 0 unless --seed, max_iterations 60, batch_size 2) as a real `saber run` study of
bench/p4/surface.cwl (throw-away SABER_HOME, its database created before timing); the trial
that first reached the target is read from summary.json, the times from the results database.
Every trial's score is checked against the in-process surface (and two points run by plain
`docker run` first). Baseline: the same study in function mode, same process (and, for context,
the first trial within 1 % in function mode with seeds 0-4 at that budget).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import optuna

from saber.optimize import Optimizer, StepScore, StudySpec, TrialJob, TrialOutcome
from saber.sweep import SweepTarget, load_sweep, search_space

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "p4"))
from surface import score as surface  # the very file the container runs

SURFACE_CWL = HERE / "p4" / "surface.cwl"
IMAGE = "saber/blobs:0.1.0"
PY = sys.executable
GOAL = 0.20  # TPE's trials / grid size
TOLERANCE = 0.01  # of the grid's score range
RANGE = "{range: {start: 0.0, stop: 1.0, step: 0.05}}"
UNIFORM = "{uniform: {low: 0.0, high: 0.95}}"  # the box the grid spans
STEP = "surface"  # the tool given alone is one step, named after its file
TARGET = SweepTarget(workflow_inputs={"x": "float", "y": "float"},
                     step_inputs={STEP: {"x": "float", "y": "float"}})


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    labels: str
    batch: int | None  # None: the method's default (a grid runs whole)
    seeded: bool


ROWS = [
    Row("random", "random", RANGE, 1, True),
    Row("tpe", "tpe", RANGE, 1, True),
    Row("tpe, batch_size 4", "tpe", RANGE, 4, True),
    Row("tpe, continuous uniform labels", "tpe", UNIFORM, 1, True),
    Row("cmaes", "cmaes", RANGE, 1, True),
]


@dataclass(frozen=True)
class Run:
    values: list[float]  # scores in trial-number order
    seconds: float  # the whole loop, in-process
    points: list[tuple[float, float]] = ()  # (x, y) in trial-number order

    def first_within(self, target: float) -> int | None:
        return next((i + 1 for i, v in enumerate(self.values) if v >= target), None)


class _Reached(Exception):
    """Raised by run_round to end a loop once a trial reached the target."""


def sweep_text(method: str, labels: str, *, budget: int | None = None, batch: int | None = None,
               seed: int = 0) -> str:
    opts = [f"method: {method}", f"seed: {seed}"]
    opts += [f"max_iterations: {budget}"] if budget else []
    opts += [f"batch_size: {batch}"] if batch else []
    return f"x: {labels}\ny: {labels}\nsampler: {{{', '.join(opts)}}}\n"


def run_loop(text: str, tmp: Path, target: float | None = None) -> Run:
    """One study through saber's Optimizer, the surface evaluated in-process."""
    path = tmp / "sweep.yml"
    path.write_text(text)
    sweep = load_sweep(path)
    spec = StudySpec(name="p4", method=sweep.method, direction=sweep.direction, objective=STEP,
                     max_iterations=sweep.max_iterations, batch_size=sweep.batch_size, seed=sweep.seed)
    values: dict[int, float] = {}
    points: dict[int, tuple[float, float]] = {}

    def run_round(jobs: list[TrialJob]) -> list[TrialOutcome]:
        if target is not None and any(v >= target for v in values.values()):
            raise _Reached
        out = []
        for job in jobs:
            v = surface(job.point.inputs["x"], job.point.inputs["y"])
            values[job.number] = v
            points[job.number] = (job.point.inputs["x"], job.point.inputs["y"])
            out.append(TrialOutcome(f"r{job.number}", "success", [StepScore(STEP, -1, v)], 0.0, 0.0))
        return out

    t = time.perf_counter()
    try:
        Optimizer(spec, search_space(sweep, TARGET), optuna.storages.InMemoryStorage()).run(run_round)
    except _Reached:
        pass
    return Run([values[n] for n in sorted(values)], time.perf_counter() - t, [points[n] for n in sorted(points)])


@dataclass(frozen=True)
class Reference:
    size: int
    best: float
    worst: float
    grid_trials: int  # the grid method's trials to the target (file order)

    @property
    def target(self) -> float:
        return self.best - TOLERANCE * (self.best - self.worst)


def grid_reference(tmp: Path) -> tuple[Reference, Run]:
    """The grid method's run: the score range, the target, and its own trials to the target."""
    grid = run_loop(sweep_text("grid", RANGE), tmp)
    best, worst = max(grid.values), min(grid.values)
    target = best - TOLERANCE * (best - worst)
    return Reference(len(grid.values), best, worst, grid.first_within(target)), grid


def _trials(found: int | None, budget: int) -> int:
    return budget + 1 if found is None else found


def _fmt(trials: float, budget: int) -> str:
    return f"> {budget}" if trials > budget else f"{trials:g}"


def _share(trials: float, budget: int, size: int) -> str:
    return f"> {budget / size:.3f}" if trials > budget else f"{trials / size:.3f}"


def function_mode(seeds: int, tmp: Path) -> None:
    ref, grid = grid_reference(tmp)
    n = ref.size
    goal = int(GOAL * n)
    print(f"P4 (function mode): trials to within {TOLERANCE:.0%} of the grid's best score; grid {n} points, "
          f"best {ref.best:.4f}, range [{ref.worst:.2g}, {ref.best:.4f}], target >= {ref.target:.4f}; "
          f"{seeds} seeds per stochastic row, budget {n} trials\n")
    print("| sampler | labels | batch | seeds | trials, median | worst | median / grid size "
          f"| median / grid method | median <= 20 % | best score by trial {goal}, median | loop s / trial | per seed |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| grid, file order (baseline) | range | {n} | 1 | {ref.grid_trials} | {ref.grid_trials} | "
          f"{ref.grid_trials / n:.3f} | 1.00 | {'yes' if ref.grid_trials <= GOAL * n else 'no'} | "
          f"{max(grid.values[:goal]):.4f} | {grid.seconds / len(grid.values):.4f} | - |")
    tpe_median = tpe_worst = None
    for row in ROWS:
        runs = [run_loop(sweep_text(row.method, row.labels, budget=n, batch=row.batch, seed=s), tmp, ref.target)
                for s in range(seeds if row.seeded else 1)]
        found = [_trials(r.first_within(ref.target), n) for r in runs]
        median, worst = statistics.median(found), max(found)
        per_trial = sum(r.seconds for r in runs) / sum(len(r.values) for r in runs)
        by_goal = statistics.median(max(r.values[:goal]) for r in runs)
        labels = "uniform" if row.labels == UNIFORM else "range"
        print(f"| {row.name} | {labels} | {row.batch} | {len(runs)} | {_fmt(median, n)} | {_fmt(worst, n)} | "
              f"{median / n:.3f} | {median / ref.grid_trials:.2f} | {'yes' if median <= GOAL * n else 'no'} | "
              f"{by_goal:.4f} | {per_trial:.4f} | {', '.join(_fmt(f, n) for f in found)} |")
        if row.name == "tpe":
            tpe_median, tpe_worst = median, worst
    holds = tpe_median <= GOAL * n
    print(f"\nRESULT p4_samplers: tpe needs {tpe_median:g} trials (median of {seeds} seeds, worst "
          f"{_fmt(tpe_worst, n)}) = {tpe_median / n:.3f} of the {n}-point grid (goal <= {GOAL}: "
          f"{'holds' if holds else 'fails'}); the grid in file order needs {ref.grid_trials}")


# -- workflow mode: the same question through `saber run` ---------------------------------------

def throwaway_home(prefix: str) -> tuple[Path, dict[str, str]]:
    """A temp folder and the environment for `saber run` on a fresh home there (database made)."""
    import atexit

    from _common import stop_warm_servers

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(stop_warm_servers, tmp / "home")  # its `saber run`s started one (saber/cli/_warm.py)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(SABER_HOME=str(tmp / "home"), TMPDIR=str(tmp))
    for key in ("SABER_STORAGE", "SABER_DB"):
        env.pop(key, None)
    make_db = ("from saber.backends.embedded import activate, ensure_database; from saber.home import SaberHome; "
               "h = SaberHome.from_env(); activate(h); ensure_database(h)")
    subprocess.run([PY, "-c", make_db], env=env, check=True, timeout=300)
    return tmp, env


def saber_run(tool: Path, sweep: Path, study: str, tmp: Path, env: dict[str, str],
              workers: int = 2, extra: tuple[str, ...] = ()) -> tuple[float, dict]:
    """`saber run` of one study or sweep: its process wall time and its summary.json."""
    out = tmp / f"out-{study}"
    log = tmp / f"{study}.log"
    t = time.perf_counter()
    with open(log, "w") as f:
        res = subprocess.run([PY, "-m", "saber", "run", str(tool), str(sweep), "--study", study,
                              "--outdir", str(out), "--workers", str(workers), *extra],
                             check=False, env=env, stdout=f, stderr=subprocess.STDOUT, timeout=900)
    wall = time.perf_counter() - t
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    bad = [p for p in summary.get("points", []) if p["state"] != "success"]
    if res.returncode != 0 or not summary.get("points") or bad:
        print(log.read_text()[-3000:])
        sys.exit(f"saber run {study} failed: rc={res.returncode}, {len(bad)} failed points (log {log})")
    return wall, summary


def check_container(points: list[tuple[float, float]]) -> None:
    """The container's surface.py agrees with the one imported here."""
    for x, y in points:
        out = subprocess.run(["docker", "run", "--rm", "--network", "none", "-v", f"{HERE / 'p4'}:/p4:ro", IMAGE,
                              "python3", "/p4/surface.py", str(x), str(y)],
                             check=True, capture_output=True, text=True, timeout=120).stdout
        got = float(out.split("score:")[1])
        if abs(got - surface(x, y)) > 1e-9:
            sys.exit(f"surface({x}, {y}): container {got}, in-process {surface(x, y)}")


def workflow_mode(budget: int, batch: int, seed: int, tmp: Path) -> None:
    ref, _ = grid_reference(tmp)
    check_container([(0.62, 0.31), (0.15, 0.85)])
    text = sweep_text("tpe", RANGE, budget=budget, batch=batch, seed=seed)
    baseline = run_loop(text, tmp)  # whole budget, to compare trial by trial
    base_hit = baseline.first_within(ref.target)
    other_seeds = {s: run_loop(sweep_text("tpe", RANGE, budget=budget, batch=batch, seed=s), tmp).first_within(
        ref.target) for s in range(5) if s != seed}

    home, env = throwaway_home("saber-bench-p4-")
    (home / "sweep.yml").write_text(text)
    wall, summary = saber_run(SURFACE_CWL, home / "sweep.yml", "p4-tpe", home, env, workers=batch)
    points = sorted(summary["points"], key=lambda p: p["index"])
    drift = max(abs(p["score"] - surface(p["params"]["x"], p["params"]["y"])) for p in points)
    if drift > 1e-9:
        sys.exit(f"a trial's score differs from the in-process surface by {drift:g}")
    hit = Run([p["score"] for p in points], 0.0).first_within(ref.target)
    trials = optuna.load_study(study_name="p4-tpe", storage=f"sqlite:///{home / 'home' / 'results.db'}").trials
    to_hit = (trials[hit - 1].datetime_complete - trials[0].datetime_start).total_seconds() if hit else None
    same = sum(a == (p["params"]["x"], p["params"]["y"]) for a, p in zip(baseline.points, points))

    print(f"P4 (workflow mode): TPE through `saber run` on {SURFACE_CWL.relative_to(HERE.parent)}, seed {seed}, "
          f"max_iterations {budget}, batch_size {batch}; target >= {ref.target:.4f} (grid best {ref.best:.4f})\n")
    print("| run | trials | first within 1 % | / grid size | best score | wall to reach, s | wall, s |")
    print("|---|---|---|---|---|---|---|")
    print(f"| function mode, same sweep (baseline) | {len(baseline.values)} | {_fmt(_trials(base_hit, budget), budget)} "
          f"| {_share(_trials(base_hit, budget), budget, ref.size)} | {max(baseline.values):.4f} | - | {baseline.seconds:.1f} |")
    print(f"| saber run (Airflow + Docker) | {len(points)} | {_fmt(_trials(hit, budget), budget)} | "
          f"{_share(_trials(hit, budget), budget, ref.size)} | {max(p['score'] for p in points):.4f} | "
          f"{'-' if to_hit is None else f'{to_hit:.1f}'} | {wall:.1f} |")
    print("\nfunction mode at this budget with other seeds: "
          + ", ".join(f"seed {s}: {_fmt(_trials(h, budget), budget)}" for s, h in other_seeds.items()))
    drifted = "" if same == len(points) else (" (the tool prints 12 significant digits: TPE may drift apart "
                                              "once a score differs in the last digits)")
    print(f"every trial's score matches the in-process surface (max |diff| {drift:.1e}); {same} of "
          f"{len(points)} trials ran the same point as in function mode{drifted}")
    print("wall: the in-process loop (function mode), the `saber run` process (workflow); wall to reach: "
          "the study's first trial start -> the reaching trial's end")
    print(f"(throw-away SABER_HOME, study and logs kept in {home})")
    print(f"RESULT p4_samplers --workflow: tpe reached the target at trial {_fmt(_trials(hit, budget), budget)} "
          f"of {len(points)} ({_share(_trials(hit, budget), budget, ref.size)} of the grid; goal <= {GOAL}: "
          f"{'holds' if hit and hit <= GOAL * ref.size else 'fails'}) in {wall:.1f} s of `saber run`")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5, help="seeds per stochastic row (function mode)")
    ap.add_argument("--workflow", action="store_true", help="TPE through the real `saber run` instead")
    ap.add_argument("--max-iterations", type=int, default=60, help="--workflow: the study's budget")
    ap.add_argument("--batch-size", type=int, default=2, help="--workflow: trials per round")
    ap.add_argument("--seed", type=int, default=0, help="--workflow: the study's seed")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="saber-p4-") as tmp:
        if args.workflow:
            workflow_mode(args.max_iterations, args.batch_size, args.seed, Path(tmp))
        else:
            function_mode(args.seeds, Path(tmp))


if __name__ == "__main__":
    main()
