"""The ask -> run -> tell loop with a plain function in place of DAG runs (fast, no Airflow)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
from saber_testing import yaml_writer

from saber.optimize import Optimizer, StepScore, StudySpec, TrialJob, TrialOutcome
from saber.sweep import SweepTarget, load_sweep, search_space

TARGET = SweepTarget(workflow_inputs={"x": "float", "y": "int", "mode": "string"},
                     step_inputs={"score": {"x": "float", "y": "int"}})


def peak(x: float, y: int) -> float:
    """A known optimum at x = 0.6, y = 3."""
    return 1.0 - (x - 0.6) ** 2 - 0.01 * (y - 3) ** 2


def run_with(score: Callable[[dict], float | None], *, fail: Callable[[dict], bool] = lambda p: False,
             log: list | None = None, pause: float = 0.0):
    def run_round(jobs: list[TrialJob]) -> list[TrialOutcome]:
        if log is not None:
            log.append([j.number for j in jobs])
        out = []
        for job in jobs:
            time.sleep(pause)
            inputs = job.point.inputs
            if fail(inputs):
                out.append(TrialOutcome(f"r{job.number}", "failed", [], 0.1, 0.05, "step 'score' failed"))
                continue
            out.append(TrialOutcome(f"r{job.number}", "success",
                                    [StepScore("score", -1, score(inputs))], 0.1, 0.05))
        return out
    return run_round


@pytest.fixture
def storage(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'results.db'}"


def optimizer(tmp_path: Path, storage: str, text: str, name: str = "s") -> Optimizer:
    sweep = load_sweep(yaml_writer(tmp_path, "sweep.yml")(text))
    spec = StudySpec(name=name, method=sweep.method, direction=sweep.direction, objective="score",
                     max_iterations=sweep.max_iterations, batch_size=sweep.batch_size, seed=sweep.seed,
                     max_time=sweep.max_time)
    return Optimizer(spec, search_space(sweep, TARGET), storage)


GRID = """
    x: {range: {start: 0.2, stop: 1.1, step: 0.2}}
    y: {int: {low: 1, high: 5, step: 2}}
    sampler: {method: grid}
"""


def test_grid_visits_every_point_once_and_stops(tmp_path: Path, storage: str) -> None:
    result = optimizer(tmp_path, storage, GRID).run(run_with(lambda p: peak(p["x"], p["y"])))
    seen = [(t.params["x"], t.params["y"]) for t in result.trials]
    assert sorted(seen) == sorted((x, y) for x in (0.2, 0.4, 0.6, 0.8, 1.0) for y in (1, 3, 5))
    assert len(set(seen)) == 15 and result.stopped_by == "grid" and result.ok
    assert result.best["params"] == {"x": 0.6, "y": 3} and result.best["value"] == pytest.approx(1.0)
    # running again finds nothing left to do and stops cleanly
    again = optimizer(tmp_path, storage, GRID).run(run_with(lambda p: 0.0))
    assert again.trials == [] and again.best["params"] == {"x": 0.6, "y": 3}


def test_resume_reruns_failed_points_only(tmp_path: Path, storage: str) -> None:
    first = optimizer(tmp_path, storage, GRID).run(
        run_with(lambda p: peak(p["x"], p["y"]), fail=lambda p: p["y"] == 5))
    failed = [t for t in first.trials if t.state == "FAIL"]
    assert len(failed) == 5 and failed[0].error == "step 'score' failed" and not first.ok
    second = optimizer(tmp_path, storage, GRID).run(run_with(lambda p: peak(p["x"], p["y"])))
    assert sorted(t.params["x"] for t in second.trials) == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert {t.params["y"] for t in second.trials} == {5} and second.ok
    study = optuna.load_study(study_name="s", storage=storage)
    states = [t.state.name for t in study.trials]
    assert states.count("COMPLETE") == 15 and states.count("FAIL") == 5


def test_tpe_rounds_of_batch_size(tmp_path: Path, storage: str) -> None:
    log: list = []
    result = optimizer(tmp_path, storage, """
        x: {uniform: {low: 0.0, high: 1.0}}
        y: {int: {low: 1, high: 5}}
        sampler: {method: tpe, max_iterations: 12, batch_size: 3, seed: 1}
    """).run(run_with(lambda p: peak(p["x"], p["y"]), log=log))
    assert [len(r) for r in log] == [3, 3, 3, 3] and len(result.trials) == 12
    assert all(0.0 <= t.params["x"] <= 1.0 and t.params["y"] in range(1, 6) for t in result.trials)
    assert result.best["value"] == max(t.value for t in result.trials)


def test_minimize_and_missing_score(tmp_path: Path, storage: str) -> None:
    result = optimizer(tmp_path, storage, """
        x: [0.2, 0.4, 0.6]
        sampler: {method: grid, direction: minimize}
    """).run(run_with(lambda p: None if p["x"] == 0.2 else p["x"]))
    by_x = {t.params["x"]: t for t in result.trials}
    assert by_x[0.2].state == "FAIL" and "printed no line matching" in by_x[0.2].error
    assert result.best == {"number": by_x[0.4].number, "params": {"x": 0.4}, "value": 0.4}


def test_random_draws_a_finite_grid_without_repeats(tmp_path: Path, storage: str) -> None:
    result = optimizer(tmp_path, storage, GRID.replace("method: grid", "method: random, max_iterations: 15")
                       ).run(run_with(lambda p: peak(p["x"], p["y"])))
    assert len({(t.params["x"], t.params["y"]) for t in result.trials}) == 15


def test_max_time_stops_before_the_next_round(tmp_path: Path, storage: str) -> None:
    now = [0.0]
    loop = optimizer(tmp_path, storage, """
        x: {uniform: {low: 0, high: 1}}
        sampler: {method: random, max_iterations: 50, batch_size: 2, max_time: 25s}
    """)
    loop.clock = lambda: now[0]
    run = run_with(lambda p: p["x"])

    def ten_seconds_a_round(jobs):
        now[0] += 10.0
        return run(jobs)

    result = loop.run(ten_seconds_a_round)
    assert result.stopped_by == "max_time" and len(result.trials) == 6  # rounds start at 0, 10, 20 s


def test_cmaes_and_stale_running_trials(tmp_path: Path, storage: str) -> None:
    text = """
        x: {uniform: {low: 0, high: 1}}
        y: {int: {low: 1, high: 5}}
        sampler: {method: cmaes, max_iterations: 6, batch_size: 2}
    """
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    stale = study.ask()  # a trial a killed loop left RUNNING
    stale.set_user_attr("saber_params", {"x": 0.5, "y": 2})
    result = optimizer(tmp_path, storage, text).run(run_with(lambda p: peak(p["x"], p["y"])))
    assert optuna.load_study(study_name="s", storage=storage).trials[0].state.name == "FAIL"
    assert result.trials[0].params == {"x": 0.5, "y": 2}  # the failed trial runs again first
    assert len(result.trials) == 6 and result.ok


def test_other_direction_on_resume_is_refused(tmp_path: Path, storage: str) -> None:
    from saber.errors import InputError

    optimizer(tmp_path, storage, "x: [0.1]\n").run(run_with(lambda p: 1.0))
    with pytest.raises(InputError, match="was created to maximize, not minimize"):
        optimizer(tmp_path, storage, "x: [0.1]\nsampler: {direction: minimize}\n").run(run_with(lambda p: 1.0))


def test_interrupted_round_fails_its_trials_and_resume_reruns_them(tmp_path: Path, storage: str) -> None:
    def interrupted(jobs):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        optimizer(tmp_path, storage, "x: [0.1, 0.2]\n").run(interrupted)
    study = optuna.load_study(study_name="s", storage=storage)
    assert [(t.state.name, t.user_attrs["saber_error"]) for t in study.trials] == [
        ("FAIL", "interrupted: the round did not finish")] * 2
    again = optimizer(tmp_path, storage, "x: [0.1, 0.2]\n").run(run_with(lambda p: p["x"]))
    assert [t.params for t in again.trials] == [{"x": 0.1}, {"x": 0.2}] and again.ok


SMALL = """
    x: [0.1, 0.3, 0.5, 0.7, 0.9]
    y: {int: {low: 1, high: 3}}
    sampler: {method: METHOD, max_iterations: 10, batch_size: 2, seed: 3}
"""


def _params(storage: str) -> list[tuple]:
    study = optuna.load_study(study_name="s", storage=storage)
    return [(t.state.name, t.user_attrs["saber_params"]["x"], t.user_attrs["saber_params"]["y"])
            for t in study.trials]


def _stop_in_round(n: int, run_round):
    """A run_round that is interrupted (Ctrl-C) when its ``n``-th round starts."""
    rounds = [0]

    def run(jobs):
        rounds[0] += 1
        if rounds[0] == n:
            raise KeyboardInterrupt
        return run_round(jobs)
    return run


@pytest.mark.parametrize("method", ["tpe", "cmaes", "random"])
def test_resumed_study_never_runs_a_completed_point_again(tmp_path: Path, storage: str, method: str) -> None:
    # Stopped in round 2 again and again (the case: a resumed TPE replayed its first
    # draws), then run to the end: every completed point is distinct and the budget is whole.
    text = SMALL.replace("METHOD", method).replace("[0.1, 0.3, 0.5, 0.7, 0.9]", "{uniform: {low: 0, high: 1}}"
                                                    if method == "random" else "[0.1, 0.3, 0.5, 0.7, 0.9]")
    score = run_with(lambda p: peak(p["x"], p["y"]))
    for _ in range(3):
        with pytest.raises(KeyboardInterrupt):
            optimizer(tmp_path, storage, text).run(_stop_in_round(2, score))
    optimizer(tmp_path, storage, text).run(score)
    done = [(x, y) for state, x, y in _params(storage) if state == "COMPLETE"]
    assert len(done) == 10 and len(set(done)) == 10


def test_a_small_space_ends_when_every_point_ran(tmp_path: Path, storage: str) -> None:
    text = """
        x: [0.1, 0.5]
        y: {int: {low: 1, high: 3}}
        sampler: {method: tpe, max_iterations: 20, batch_size: 4, seed: 1}
    """
    result = optimizer(tmp_path, storage, text).run(run_with(lambda p: peak(p["x"], p["y"])))
    assert result.stopped_by == "exhausted" and result.ok
    assert sorted((t.params["x"], t.params["y"]) for t in result.trials) == [
        (x, y) for x in (0.1, 0.5) for y in (1, 2, 3)]
    again = optimizer(tmp_path, storage, text).run(run_with(lambda p: 0.0))
    assert again.trials == [] and again.stopped_by == "exhausted"


def test_a_seeded_study_is_reproducible_across_resumes(tmp_path: Path) -> None:
    def history(folder: Path) -> list[tuple]:
        folder.mkdir()
        url = f"sqlite:///{folder / 'results.db'}"
        score = run_with(lambda p: peak(p["x"], p["y"]))
        with pytest.raises(KeyboardInterrupt):
            optimizer(folder, url, SMALL.replace("METHOD", "tpe")).run(_stop_in_round(3, score))
        optimizer(folder, url, SMALL.replace("METHOD", "tpe")).run(score)
        return _params(url)

    assert history(tmp_path / "a") == history(tmp_path / "b")


def test_an_interrupted_round_keeps_the_runs_that_finished(tmp_path: Path, storage: str) -> None:
    finished = run_with(lambda p: p["x"])

    def recover(jobs):  # the first run had succeeded before Ctrl-C; the second had not
        return [finished(jobs[:1])[0], None]

    with pytest.raises(KeyboardInterrupt):
        optimizer(tmp_path, storage, "x: [0.1, 0.2]\n").run(_stop_in_round(1, finished), recover=recover)
    assert _params_x(storage) == [
        ("COMPLETE", 0.1), ("FAIL", 0.2)]
    again = optimizer(tmp_path, storage, "x: [0.1, 0.2]\n").run(finished)
    assert [t.params for t in again.trials] == [{"x": 0.2}]


def _params_x(storage: str) -> list[tuple]:
    study = optuna.load_study(study_name="s", storage=storage)
    return [(t.state.name, t.user_attrs["saber_params"]["x"]) for t in study.trials]


def test_trials_a_dead_loop_left_running_are_adopted_or_run_again(tmp_path: Path, storage: str) -> None:
    text = "x: [0.1, 0.2, 0.3]\nsampler: {method: random, max_iterations: 3}\n"
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    for x in (0.1, 0.2):  # a killed loop's trials: the first run had finished, the second not
        stale = study.ask()
        stale.set_user_attr("saber_params", {"x": x})
    asked: list = []

    def recover(jobs):
        asked.extend(j.point.params for j in jobs)
        return [TrialOutcome("r0", "success", [StepScore("score", -1, 0.1)], 1.0, 0.5), None]

    result = optimizer(tmp_path, storage, text).run(run_with(lambda p: p["x"]), recover=recover)
    assert asked == [{"x": 0.1}, {"x": 0.2}]
    assert [(t.params, t.state, t.adopted) for t in result.trials] == [
        ({"x": 0.1}, "COMPLETE", True), ({"x": 0.2}, "COMPLETE", False), ({"x": 0.3}, "COMPLETE", False)]
    states = [s for s, _ in _params_x(storage)]
    assert states == ["COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]
def several(tmp_path: Path, storage: str, text: str, objective: str | tuple[str, ...]) -> Optimizer:
    sweep = load_sweep(yaml_writer(tmp_path, "sweep.yml")(text))
    spec = StudySpec(name="m", method=sweep.method, direction=sweep.direction, objective=objective,
                     max_iterations=sweep.max_iterations, batch_size=sweep.batch_size)
    return Optimizer(spec, search_space(sweep, TARGET), storage)


def two_scores(jobs: list[TrialJob]) -> list[TrialOutcome]:
    """Steps 'score' (x) and 'loss' (2x, none for x = 0.4), reported loss first."""
    out = []
    for job in jobs:
        x = job.point.inputs["x"]
        out.append(TrialOutcome(f"r{job.number}", "success", [StepScore("loss", -1, None if x == 0.4 else 2 * x),
                                                               StepScore("score", -1, x)], 0.1, 0.05))
    return out


def test_several_objectives_are_every_scored_steps_score(tmp_path: Path, storage: str) -> None:
    text = "x: [0.2, 0.4, 0.6]\nsampler: {direction: minimize}\n"
    result = several(tmp_path, storage, text, ("score", "loss")).run(two_scores)
    by_x = {t.params["x"]: t for t in result.trials}
    assert (by_x[0.2].value, by_x[0.6].value) == ([0.2, 0.4], [0.6, 1.2])  # in the objectives' order
    assert by_x[0.4].state == "FAIL" and by_x[0.4].error == "step 'loss' printed no line matching its score_format"
    assert result.best is None  # no trial is best at both
    study = optuna.load_study(study_name="m", storage=storage)
    assert study.directions == [optuna.study.StudyDirection.MINIMIZE] * 2
    assert sorted(t.values for t in study.trials if t.values) == [[0.2, 0.4], [0.6, 1.2]]
    assert study.user_attrs["saber_objective"] == ["score", "loss"]


def test_a_study_keeps_its_number_of_objectives(tmp_path: Path, storage: str) -> None:
    from saber.errors import InputError

    several(tmp_path, storage, "x: [0.2]\n", ("score", "loss")).run(two_scores)
    with pytest.raises(InputError, match="study 'm' was created to maximize 2 scores, not maximize; give another"):
        several(tmp_path, storage, "x: [0.2]\n", "score").run(two_scores)
