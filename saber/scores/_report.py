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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optuna.study import StudyDirection
    from optuna.trial import FrozenTrial


__all__ = ["PLAIN_SWEEP", "Score", "StudyReport", "StudyRow", "TrialRow", "build_report", "json_finite", "report_csv",
           "report_json", "study_row", "unscored"]


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
    """Every trial of one study and the best one (None until a trial completes)."""

    study: str
    direction: str
    method: str | None
    objective: str | None
    workflow: str | None
    sweep: str | None
    dag_id: str | None
    created: str | None
    trials: list[TrialRow]
    best: TrialRow | None  # None for several objectives: no trial is best at all of them
    n_objectives: int = 1  # several: each scored step's score is an objective (no sampler.objective); 0: a plain sweep

    @property
    def param_labels(self) -> list[str]:
        """Every parameter label of any trial, in first-seen order."""
        return list(dict.fromkeys(label for t in self.trials for label in t.params))

    @property
    def step_labels(self) -> list[str]:
        return list(dict.fromkeys(label for t in self.trials for label in t.steps))


def study_row(study: Any, trials: Sequence[FrozenTrial]) -> StudyRow:
    """Summarize an Optuna ``FrozenStudy`` and its trials."""
    attrs = study.user_attrs
    states: dict[str, int] = {}
    for t in trials:
        states[t.state.name] = states.get(t.state.name, 0) + 1
    scored = not unscored(attrs)
    directions = study.directions if scored else []
    best = _best(directions, trials)
    return StudyRow(name=study.study_name, direction=_direction(directions),
                    method=attrs.get("saber_method"), objective=_objective(attrs),
                    workflow=attrs.get("saber_workflow"), created=attrs.get("saber_created"),
                    states=states, best_value=None if best is None else best.value,
                    dag_id=attrs.get("saber_dag_id"), sweep=attrs.get("saber_sweep"), scored=scored)


def build_report(name: str, directions: Sequence[StudyDirection], user_attrs: Mapping[str, Any],
                 trials: Sequence[FrozenTrial], scores: Sequence[Score]) -> StudyReport:
    """The report of study ``name`` from Optuna's view of it and saber's step scores."""
    if unscored(user_attrs):
        directions = []  # Optuna's placeholder direction is not the user's
    steps: dict[int, dict[str, float | None]] = {}
    for s in scores:  # oldest first: a step scored again (a retried run) keeps its latest score
        steps.setdefault(s.trial_number, {})[s.label] = s.score
    rows = [_trial_row(t, steps.get(t.number, {})) for t in sorted(trials, key=lambda t: t.number)]
    best = _best(directions, trials)
    return StudyReport(
        study=name, direction=_direction(directions), method=user_attrs.get("saber_method"),
        objective=_objective(user_attrs), workflow=user_attrs.get("saber_workflow"),
        sweep=user_attrs.get("saber_sweep"), dag_id=user_attrs.get("saber_dag_id"),
        created=user_attrs.get("saber_created"), trials=rows,
        best=None if best is None else next(r for r in rows if r.number == best.number),
        n_objectives=len(directions))


def report_json(report: StudyReport) -> dict[str, Any]:
    """The documented shape of `saber results NAME --format json`."""
    best = report.best
    return json_finite({
        "study": report.study,
        "direction": report.direction,
        "best": None if best is None else {"number": best.number, "params": best.params, "score": best.score},
        "trials": [{"number": t.number, "params": t.params, "score": t.score, "state": t.state,
                    "start": t.start.isoformat() if t.start else None, "duration_s": t.duration_s,
                    "container_s": t.container_s, "run_id": t.run_id, "error": t.error, "steps": t.steps}
                   for t in report.trials],
    })


def report_csv(report: StudyReport) -> Iterator[list[Any]]:
    """Header, then one row per trial: one column per parameter, then one per scored step."""
    fixed = ["number", "score", "state", "start", "duration_s", "container_s", "run_id", "error"]
    # A parameter labelled like a fixed column must not shadow it.
    params = [(label, f"param:{label}" if label in fixed else label) for label in report.param_labels]
    yield ["number", *(column for _, column in params), *fixed[1:],
           *(f"step:{label}" for label in report.step_labels)]
    for t in report.trials:
        yield [t.number, *(_cell(t.params.get(label)) for label, _ in params), _cell(t.score), t.state,
               t.start.isoformat() if t.start else "", _cell(t.duration_s), _cell(t.container_s),
               t.run_id or "", t.error or "", *(_cell(t.steps.get(label)) for label in report.step_labels)]


def _trial_row(trial: FrozenTrial, steps: dict[str, float | None]) -> TrialRow:
    attrs = trial.user_attrs
    wall = attrs.get("saber_wall_s")
    if wall is None and trial.datetime_start and trial.datetime_complete:
        wall = (trial.datetime_complete - trial.datetime_start).total_seconds()
    return TrialRow(number=trial.number, params=dict(attrs.get("saber_params") or trial.params),
                    score=trial.value if len(trial.values or ()) <= 1 else None, state=trial.state.name,
                    start=trial.datetime_start, duration_s=wall, container_s=attrs.get("saber_container_s"),
                    run_id=attrs.get("saber_run_id"), error=attrs.get("saber_error"), steps=dict(steps))


def _best(directions: Sequence[StudyDirection], trials: Sequence[FrozenTrial]) -> FrozenTrial | None:
    """The complete trial with the best value, the earliest on ties; None for several objectives."""
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    if len(directions) != 1:
        return None
    sign = -1.0 if directions[0] == StudyDirection.MAXIMIZE else 1.0
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    return min(done, key=lambda t: (sign * t.value, t.number), default=None)


def _objective(attrs: Mapping[str, Any]) -> str | None:
    """The objective step, or "a, b" for a study of several (stored as a list)."""
    objective = attrs.get("saber_objective")
    return ", ".join(objective) if isinstance(objective, list) else objective


def _direction(directions: Sequence[StudyDirection]) -> str:
    return ",".join(d.name.lower() for d in directions)


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
