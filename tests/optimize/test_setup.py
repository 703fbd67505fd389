"""Which step a study optimizes, and the sampler/label combinations refused before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from saber_testing import yaml_writer

from saber.errors import InputError
from saber.optimize._setup import study_spec
from saber.sweep import Sweep, load_sweep

PLAN = {"name": "wf", "steps": [
    {"id": "make", "task_id": "make", "score_format": None},
    {"id": "metrics", "task_id": "metrics", "score_format": "F1: {score}"},
    {"id": "loss", "task_id": "sub.loss", "score_format": "loss {score}"},
]}


def spec(tmp_path: Path, text: str, plan: dict = PLAN):
    return study_spec(load_sweep(yaml_writer(tmp_path, "sweep.yml")(text)), plan, "s1", {"saber_dag_id": "d"})


def test_objective_by_step_id_or_task_id(tmp_path: Path) -> None:
    got = spec(tmp_path, "x: [1]\nsampler: {method: tpe, max_iterations: 4, objective: loss, direction: minimize}\n")
    assert (got.objective, got.method, got.direction, got.max_iterations) == ("sub.loss", "tpe", "minimize", 4)
    assert got.attrs == {"saber_dag_id": "d"}
    got = spec(tmp_path, "x: [1]\nsampler: {objective: metrics}\n")
    assert (got.objective, got.objectives) == ("metrics", ("metrics",))


def test_one_scored_step_is_the_objective(tmp_path: Path) -> None:
    plan = {"name": "wf", "steps": PLAN["steps"][:2]}
    assert spec(tmp_path, "x: [1]\n", plan).objective == "metrics"


@pytest.mark.parametrize("text", [
    pytest.param("x: [1, 2]\nsampler:\n  method: grid\n", id="grid"),
    pytest.param("x: [1, 2]\n", id="no-sampler"),
    pytest.param("x: [1, 2]\nsampler: {method: random, max_iterations: 2, direction: minimize}\n", id="random"),
    pytest.param("x: [1, 2]\nsampler: {method: batch-grid, batch_size: 1}\n", id="batch-grid"),
])
def test_several_scored_steps_are_several_objectives(tmp_path: Path, text: str) -> None:
    got = spec(tmp_path, text)
    assert got.objective == ("metrics", "sub.loss") and got.objectives == ("metrics", "sub.loss")


def test_several_scored_steps_without_a_sweep_file() -> None:
    got = study_spec(Sweep(file="(no sweep)"), PLAN, "s1")
    assert (got.objectives, got.method, got.direction) == (("metrics", "sub.loss"), "grid", "maximize")


def test_nothing_scored_is_a_plain_sweep(tmp_path: Path) -> None:
    plan = {"name": "wf", "steps": PLAN["steps"][:1]}
    assert spec(tmp_path, "x: [1, 2]\nsampler: {method: random, max_iterations: 1}\n", plan) is None


@pytest.mark.parametrize("text, message, line", [
    pytest.param("x: [1]\nsampler:\n  method: grid\n  objective: make\n",
                 r"objective 'make' names a step without a score_format hint \(scored steps: metrics, sub.loss\)",
                 4, id="objective-not-scored"),
    pytest.param("x: [1]\nsampler:\n  objective: nope\n", r"objective 'nope' names no step of wf", 3,
                 id="objective-unknown"),
    pytest.param("x: [1]\nsampler:\n  max_iterations: 3\n  method: tpe\n",
                 r"the tpe method learns from one score, but 2 steps are scored \(metrics, sub.loss\): name the "
                 r"one to optimize with sampler.objective", 4, id="several-scored-tpe-at-its-method-line"),
    pytest.param("x: [1]\nsampler: {method: cmaes, max_iterations: 3}\n", r"the cmaes method learns from one score",
                 2, id="several-scored-cmaes"),
    pytest.param("x:\n  uniform: {low: 0, high: 1}\nsampler: {objective: metrics}\n",
                 r"the grid method needs a finite list of values, but 'x' is a uniform space", 2,
                 id="grid-over-uniform"),
])
def test_refused(tmp_path: Path, text: str, message: str, line: int) -> None:
    with pytest.raises(InputError, match=message) as info:
        spec(tmp_path, text)
    assert info.value.where.line == line and info.value.where.file.endswith("sweep.yml")


def test_learning_needs_a_scored_step(tmp_path: Path) -> None:
    plan = {"name": "wf", "steps": PLAN["steps"][:1]}
    with pytest.raises(InputError, match=r"sweep.yml:2: field 'sampler': the tpe method learns from scores, "
                                         r"but no step of wf has a score_format hint"):
        spec(tmp_path, "x: [1]\nsampler: {method: tpe, max_iterations: 3}\n", plan)
