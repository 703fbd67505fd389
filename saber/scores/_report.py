"""Studies and trials read back for people: summaries, per-trial rows, the best trial, JSON and CSV.

Reads the conventions the optimizer writes with: study user_attrs ``saber_method``,
``saber_objective``, ...; trial user_attrs ``saber_params`` (the values as the user wrote them,
preferred over ``trial.params``, which may hold encoded values), ``saber_run_id``,
``saber_wall_s``, ``saber_container_s`` and ``saber_error``.

A plain sweep (a workflow with no scored step) is a study too, marked by the study user_attr
``saber_kind`` = ``"sweep"`` (PLAIN_SWEEP): its one direction is Optuna's placeholder, its
trials have no values (COMPLETE or FAIL as their runs ended), and it has no best trial.
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


__all__ = ["PLAIN_SWEEP", "Score", "StudyReport", "StudyRow", "TrialRow", "build_report", "json_finite", "report_csv",
           "report_json", "report_json_text", "study_row", "unscored"]


@dataclass(frozen=True)
class Score:
    """One scored step instance of one trial, as stored in ``saber_scores``."""

    study: str
    trial_number: int
    run_id: str
    task_id: str
    score: float | None
    map_index: int = -1
    fields: dict[str, Any] = field(default_factory=dict)
    recorded_at: datetime | None = None

    @property
    def label(self) -> str:
        """``task`` or ``task[i]`` for a mapped instance."""
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"


GRID_METHODS = ("grid", "batch-grid")  # every point of the space runs, whatever the scores
PLAIN_SWEEP = ("saber_kind", "sweep")  # the study user_attr (key, value) marking a plain sweep


def unscored(user_attrs: Mapping[str, Any]) -> bool:
    """Whether a study's attributes mark it a plain sweep: no objective, no direction, no best."""
    return user_attrs.get(PLAIN_SWEEP[0]) == PLAIN_SWEEP[1]


@dataclass(frozen=True)
class StudyRow:
    """One line of `saber results`: a study and how its trials stand."""

    name: str
    direction: str
    method: str | None
    objective: str | None
    workflow: str | None
    created: str | None
    states: dict[str, int]  # trial state name (COMPLETE, FAIL, RUNNING, WAITING, ...) -> count
    best_value: float | None
    dag_id: str | None = None
    sweep: str | None = None  # the sweep file it was started with
    scored: bool = True  # False: a plain sweep, its points run with no score

    @property
    def n_trials(self) -> int:
        return sum(self.states.values())

    @property
    def kind(self) -> str:
        """What the user ran: ``run`` (one point: no sweep file), ``sweep`` (every point of a
        grid, or a plain sweep's points), ``study`` (a sampler chose the trials from the scores)
        or ``manual`` (DAG runs triggered by hand in Airflow)."""
        if not self.scored:
            return "sweep"
        if self.method == "manual":
            return "manual"
        if not self.sweep and self.n_trials <= 1:
            return "run"
        return "sweep" if self.method in GRID_METHODS else "study"


@dataclass(frozen=True)
class TrialRow:
    """One trial: its parameters as the user wrote them, objective score and cost."""

    number: int
    params: dict[str, Any]
    score: float | None
    state: str
    start: datetime | None
    duration_s: float | None  # wall seconds of the DAG run
    container_s: float | None  # sum of its steps' container seconds
    run_id: str | None
    error: str | None
    steps: dict[str, float | None]  # scored step ("task" or "task[i]") -> score, None: no match


@dataclass(frozen=True)
class StudyReport:
    """Some or all trials of one study and its best one (None until a trial completes)."""

    study: str
    direction: str
    method: str | None
    objective: str | None
    workflow: str | None
    sweep: str | None
    dag_id: str | None
    created: str | None
    trials: list[TrialRow]  # every trial, or a page of them (see total and offset)
    best: TrialRow | None  # of the whole study; None for several objectives: no trial is best at all of them
    n_objectives: int = 1  # several: each scored step's score is an objective (no sampler.objective); 0: a plain sweep
    total: int | None = None  # trials in the study; None: len(trials)
    offset: int = 0  # trials of the study before the first of ``trials``, in number order

    @property
    def n_trials(self) -> int:
        return len(self.trials) if self.total is None else self.total

    @property
    def param_labels(self) -> list[str]:
        """Every parameter label of any trial, in first-seen order."""
        return list(dict.fromkeys(label for t in self.trials for label in t.params))

    @property
    def step_labels(self) -> list[str]:
        return list(dict.fromkeys(label for t in self.trials for label in t.steps))


def study_row(name: str, directions: Sequence[str], user_attrs: Mapping[str, Any], states: dict[str, int],
              best_value: float | None) -> StudyRow:
    """A study's summary from its directions ("maximize"/"minimize"; none for a plain sweep),
    saber's study user_attrs, its trial counts by state and its best value."""
    return StudyRow(name=name, direction=",".join(directions), method=user_attrs.get("saber_method"),
                    objective=_objective(user_attrs), workflow=user_attrs.get("saber_workflow"),
                    created=user_attrs.get("saber_created"), states=states, best_value=best_value,
                    dag_id=user_attrs.get("saber_dag_id"), sweep=user_attrs.get("saber_sweep"),
                    scored=not unscored(user_attrs))


def build_report(name: str, directions: Sequence[str], user_attrs: Mapping[str, Any], trials: list[TrialRow],
                 best: TrialRow | None, *, total: int | None = None, offset: int = 0) -> StudyReport:
    """The report of study ``name``: some of its trials (``total`` in all, these past the first
    ``offset``) and the best of all of them."""
    return StudyReport(
        study=name, direction=",".join(directions), method=user_attrs.get("saber_method"),
        objective=_objective(user_attrs), workflow=user_attrs.get("saber_workflow"),
        sweep=user_attrs.get("saber_sweep"), dag_id=user_attrs.get("saber_dag_id"),
        created=user_attrs.get("saber_created"), trials=trials, best=best, n_objectives=len(directions),
        total=len(trials) if total is None else total, offset=offset)


def report_json(report: StudyReport) -> dict[str, Any]:
    """The documented shape of `saber results NAME --format json`."""
    return json_finite({**_json_head(report), "trials": [_trial_json(t) for t in report.trials]})


def report_json_text(report: StudyReport, trials: Iterable[TrialRow] | None = None) -> Iterator[str]:
    """``json.dumps(report_json(report), indent=2)`` in pieces, ``trials`` (default: the
    report's) written as they come: an export of a million trials need not hold them all."""
    opening = json.dumps(json_finite({**_json_head(report), "trials": []}), indent=2)
    yield opening[:-len("]\n}")]  # up to the trials' "["
    first = True
    for t in report.trials if trials is None else trials:
        yield ("\n" if first else ",\n") + textwrap.indent(json.dumps(json_finite(_trial_json(t)), indent=2), "    ")
        first = False
    yield "]\n}" if first else "\n  ]\n}"


def _json_head(report: StudyReport) -> dict[str, Any]:
    best = report.best
    return {"study": report.study, "direction": report.direction,
            "best": None if best is None else {"number": best.number, "params": best.params, "score": best.score}}


def _trial_json(t: TrialRow) -> dict[str, Any]:
    return {"number": t.number, "params": t.params, "score": t.score, "state": t.state,
            "start": t.start.isoformat() if t.start else None, "duration_s": t.duration_s,
            "container_s": t.container_s, "run_id": t.run_id, "error": t.error, "steps": t.steps}


def report_csv(report: StudyReport, trials: Iterable[TrialRow] | None = None,
               labels: tuple[list[str], list[str]] | None = None) -> Iterator[list[Any]]:
    """Header, then one row per trial: one column per parameter, then one per scored step.
    ``trials`` (default: the report's) may be a stream, given with its (parameter, step)
    ``labels`` (default: the report's param_labels and step_labels)."""
    fixed = ["number", "score", "state", "start", "duration_s", "container_s", "run_id", "error"]
    param_labels, step_labels = labels or (report.param_labels, report.step_labels)
    # A parameter labelled like a fixed column must not shadow it.
    params = [(label, f"param:{label}" if label in fixed else label) for label in param_labels]
    yield ["number", *(column for _, column in params), *fixed[1:], *(f"step:{label}" for label in step_labels)]
    for t in report.trials if trials is None else trials:
        yield [t.number, *(_cell(t.params.get(label)) for label, _ in params), _cell(t.score), t.state,
               t.start.isoformat() if t.start else "", _cell(t.duration_s), _cell(t.container_s),
               t.run_id or "", t.error or "", *(_cell(t.steps.get(label)) for label in step_labels)]


def _objective(attrs: Mapping[str, Any]) -> str | None:
    """The objective step, or "a, b" for a study of several (stored as a list)."""
    objective = attrs.get("saber_objective")
    return ", ".join(objective) if isinstance(objective, list) else objective


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def json_finite(value: Any) -> Any:
    """JSON has no NaN or Infinity: such numbers are written as null (``value`` nested in dicts and lists)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_finite(v) for v in value]
    return value
