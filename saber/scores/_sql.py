"""Light reads of the results store: Optuna's tables and saber_scores queried with SQL.

Optuna's API loads every trial of a study, with all its parameters, attributes and values,
to answer anything about it. These queries let a caller count, find the best and read the full
detail of a page of trials only, in time and memory that do not grow with the study (the
database's own scans aside). Shared by the results store (`saber results`) and the Studies page.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from saber.scores._compat import optuna_tables
from saber.scores._report import PLAIN_SWEEP, TrialRow, unscored

__all__ = ["STUDY_ATTRS", "metadata", "scores_table", "StudyMeta", "best_trial", "best_values", "by_number",
           "chunks", "finite", "has_table", "state_counts", "state_name", "step_label", "step_labels",
           "step_scores", "study_meta", "trial_attrs", "trial_params", "trial_query", "trial_rows"]

# The study user_attrs a summary shows (what the optimizer writes; see saber.scores._report).
STUDY_ATTRS = ("saber_workflow", "saber_dag_id", "saber_method", "saber_objective", "saber_created",
               "saber_sweep", PLAIN_SWEEP[0])


metadata = sa.MetaData()  # saber's own tables in the results store (created by ResultsStore)
scores_table = sa.Table(
    "saber_scores", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("study", sa.String(512), nullable=False, index=True),
    sa.Column("trial_number", sa.Integer, nullable=False),
    sa.Column("run_id", sa.String(512), nullable=False),
    sa.Column("task_id", sa.String(512), nullable=False),
    sa.Column("map_index", sa.Integer, nullable=False, default=-1),
    sa.Column("score", sa.Float, nullable=True),  # NULL: the step's output never matched the format
    sa.Column("fields", sa.Text, nullable=False, default="{}"),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    # A page of trials reads its trials' scores only, whatever the study's size.
    sa.Index("ix_saber_scores_study_trial", "study", "trial_number"),
)


@dataclass(frozen=True)
class StudyMeta:
    """A study's row, its directions and its saber attributes, without its trials."""

    study_id: int
    name: str
    directions: list[str]  # "maximize"/"minimize" by objective; none for a plain sweep
    attrs: dict[str, Any]


def study_meta(conn: sa.engine.Connection, name: str | None = None) -> dict[int, StudyMeta]:
    """Every study (or the one called ``name``) by id, in creation order."""
    t = optuna_tables()
    query = sa.select(t["studies"].c.study_id, t["studies"].c.study_name).order_by(t["studies"].c.study_id)
    if name is not None:
        query = query.where(t["studies"].c.study_name == name)
    names = dict(conn.execute(query).all())
    if not names:
        return {}
    ids = list(names)
    attrs: dict[int, dict[str, Any]] = {}
    ua = t["study_user_attributes"]
    for study_id, key, value in conn.execute(
            sa.select(ua.c.study_id, ua.c.key, ua.c.value_json)
            .where(ua.c.key.in_(STUDY_ATTRS), *_in(ua.c.study_id, ids, name))):
        attrs.setdefault(study_id, {})[key] = json.loads(value)
    directions: dict[int, list[str]] = {}
    sd = t["study_directions"]
    for study_id, direction in conn.execute(
            sa.select(sd.c.study_id, sd.c.direction).where(*_in(sd.c.study_id, ids, name))
            .order_by(sd.c.study_id, sd.c.objective)):
        directions.setdefault(study_id, []).append(state_name(direction).lower())
    # A plain sweep's one direction is Optuna's placeholder: it has no objective.
    return {i: StudyMeta(i, names[i], [] if unscored(attrs.get(i, {})) else directions.get(i, ["minimize"]),
                         attrs.get(i, {})) for i in ids}


def state_counts(conn: sa.engine.Connection, study_id: int | None = None) -> dict[int, dict[str, int]]:
    """Per study (every one, or ``study_id``): trial state name -> count."""
    trials = optuna_tables()["trials"]
    # States in the order their first trials came (as counting the trials one by one would give).
    first = sa.func.min(trials.c.trial_id)
    query = (sa.select(trials.c.study_id, trials.c.state, sa.func.count(), first)
             .group_by(trials.c.study_id, trials.c.state).order_by(trials.c.study_id, first))
    if study_id is not None:
        query = query.where(trials.c.study_id == study_id)
    out: dict[int, dict[str, int]] = {}
    for sid, state, count, _ in conn.execute(query):
        out.setdefault(sid, {})[state_name(state)] = count
    return out


def finite(value: Any) -> Any:
    """The SQL condition that ``value`` is a finite number: Optuna stores infinities as NULL,
    and PostgreSQL keeps NaN, which sorts above infinity there (SQLite stores it as NULL)."""
    return sa.and_(value > -math.inf, value < math.inf)


def best_values(conn: sa.engine.Connection) -> dict[int, tuple[float | None, float | None]]:
    """Per study: the highest and lowest finite first-objective value of its complete trials."""
    t = optuna_tables()
    trials, values = t["trials"], t["trial_values"]
    query = (sa.select(trials.c.study_id, sa.func.max(values.c.value), sa.func.min(values.c.value))
             .join(values, values.c.trial_id == trials.c.trial_id)
             .where(trials.c.state == "COMPLETE", values.c.objective == 0, finite(values.c.value))
             .group_by(trials.c.study_id))
    return {study_id: (high, low) for study_id, high, low in conn.execute(query)}


def best_trial(conn: sa.engine.Connection, study: StudyMeta) -> tuple[int, int, float] | None:
    """(trial id, number, value) of the complete trial with the best finite value in the
    study's direction, the earliest on ties; None for a plain sweep or several objectives (no
    trial is best at all of them)."""
    if len(study.directions) != 1:
        return None
    t = optuna_tables()
    trials, values = t["trials"], t["trial_values"]
    order = values.c.value.desc() if study.directions[0] == "maximize" else values.c.value.asc()
    row = conn.execute(
        sa.select(trials.c.trial_id, trials.c.number, values.c.value)
        .join(values, values.c.trial_id == trials.c.trial_id)
        .where(trials.c.study_id == study.study_id, trials.c.state == "COMPLETE", values.c.objective == 0,
               finite(values.c.value))
        .order_by(order, by_number(trials)).limit(1)).first()
    return None if row is None else (row[0], row[1], row[2])


def trial_params(conn: sa.engine.Connection, study_id: int, trial_ids: Sequence[int], *,
                 whole_study: bool = False) -> dict[int, dict[str, Any]]:
    """Parameters of trials ``trial_ids`` as the user wrote them (saber_params), else Optuna's
    decoded values. ``whole_study``: the caller wants (nearly) every trial: one join reads them
    instead of IN lists."""
    t = optuna_tables()
    trials, ua, tp = t["trials"], t["trial_user_attributes"], t["trial_params"]
    out: dict[int, dict[str, Any]] = {}
    if whole_study:
        batches: Iterable[Any] = [[trials.c.study_id == study_id]]
        base = sa.select(ua.c.trial_id, ua.c.value_json).join(trials, trials.c.trial_id == ua.c.trial_id)
    else:
        batches = ([ua.c.trial_id.in_(chunk)] for chunk in chunks(trial_ids))
        base = sa.select(ua.c.trial_id, ua.c.value_json)
    for where in batches:
        for trial_id, value in conn.execute(base.where(ua.c.key == "saber_params", *where)):
            params = json.loads(value)
            if isinstance(params, dict) and params:
                out[trial_id] = params
    # Trials saber did not start (or a study made by Optuna alone) have only Optuna's params.
    rest = [i for i in trial_ids if i not in out]
    if not rest:
        return out
    from optuna.distributions import json_to_distribution

    query = sa.select(tp.c.trial_id, tp.c.param_name, tp.c.param_value, tp.c.distribution_json)
    if whole_study:
        wanted = set(rest)
        batches = [[trials.c.study_id == study_id]]
        query = query.join(trials, trials.c.trial_id == tp.c.trial_id)
    else:
        wanted = None
        batches = ([tp.c.trial_id.in_(chunk)] for chunk in chunks(rest))
    for where in batches:
        # param_id: the order the parameters were suggested in
        for trial_id, name, value, distribution in conn.execute(query.where(*where).order_by(tp.c.param_id)):
            if wanted is None or trial_id in wanted:
                out.setdefault(trial_id, {})[name] = json_to_distribution(distribution).to_external_repr(value)
    return out


def trial_attrs(conn: sa.engine.Connection, trial_ids: Sequence[int], keys: Iterable[str]) -> dict[int, dict]:
    """Some user attributes of some trials, by trial id."""
    ua = optuna_tables()["trial_user_attributes"]
    out: dict[int, dict[str, Any]] = {}
    for chunk in chunks(trial_ids):
        for trial_id, key, value in conn.execute(
                sa.select(ua.c.trial_id, ua.c.key, ua.c.value_json)
                .where(ua.c.trial_id.in_(chunk), ua.c.key.in_(tuple(keys)))):
            out.setdefault(trial_id, {})[key] = json.loads(value)
    return out


def has_table(conn: sa.engine.Connection, name: str) -> bool:
    return sa.inspect(conn).has_table(name)


def step_scores(conn: sa.engine.Connection, study: str, numbers: Sequence[int]) -> dict[int, list[Mapping]]:
    """The step scores of some trials, oldest first (a step scored again keeps its latest)."""
    if not numbers or not has_table(conn, scores_table.name):
        return {}
    c = scores_table.c
    out: dict[int, list[Mapping]] = {}
    for chunk in chunks(numbers):
        for row in conn.execute(
                sa.select(c.trial_number, c.run_id, c.task_id, c.map_index, c.score)
                .where(c.study == study, c.trial_number.in_(chunk)).order_by(c.recorded_at, c.id)):
            out.setdefault(row.trial_number, []).append(row._mapping)
    return out


def step_labels(conn: sa.engine.Connection, study: str) -> list[str]:
    """Every scored step instance of a study, by task and map index."""
    if not has_table(conn, scores_table.name):
        return []
    c = scores_table.c
    rows = conn.execute(sa.select(c.task_id, c.map_index).where(c.study == study).distinct()
                        .order_by(c.task_id, c.map_index))
    return [step_label(task_id, map_index) for task_id, map_index in rows]


def state_name(value: Any) -> str:
    """An Optuna enum column's value (an Enum member, or its name on some drivers)."""
    return getattr(value, "name", str(value))


def step_label(task_id: str, map_index: int) -> str:
    return task_id if map_index < 0 else f"{task_id}[{map_index}]"


def chunks(values: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    """IN lists short enough for every database's bound-parameter limit."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _in(column: Any, ids: list[int], name: str | None) -> list[Any]:
    """No IN clause for the whole list (every study): all rows are wanted anyway."""
    return [] if name is None else [column.in_(ids)]


_TRIAL_ATTRS = ("saber_params", "saber_run_id", "saber_wall_s", "saber_container_s", "saber_error")
_INFINITE = {"INF_POS": math.inf, "INF_NEG": -math.inf}


def trial_query(study: StudyMeta, trial_id: int | None = None) -> sa.Select:
    """A study's trials (or one) in number order (by_number), one light row each: id, number,
    state, times and the first objective's value (as value and value_type: Optuna stores
    infinities as NULL)."""
    t = optuna_tables()
    trials, values = t["trials"], t["trial_values"]
    return (sa.select(trials.c.trial_id, trials.c.number, trials.c.state, trials.c.datetime_start,
                      trials.c.datetime_complete, values.c.value, values.c.value_type)
            .outerjoin(values, sa.and_(values.c.trial_id == trials.c.trial_id, values.c.objective == 0))
            .where(trials.c.study_id == study.study_id,
                   *([] if trial_id is None else [trials.c.trial_id == trial_id]))
            .order_by(by_number(trials)))


def by_number(trials: sa.Table) -> sa.ColumnElement:
    """What orders a study's trials by number: their ids. Optuna numbers a trial by how many of
    its study's trials have a smaller id, so the orders agree, and the index on study_id, whose
    entries are in id order, pages through them without sorting the whole study."""
    return trials.c.trial_id


def trial_rows(conn: sa.engine.Connection, study: StudyMeta, light: Sequence[Any],
               n_objectives: int) -> list[TrialRow]:
    """TrialRows of the light rows of ``trial_query``, their detail read for these trials only."""
    ids = [r.trial_id for r in light]
    attrs = trial_attrs(conn, ids, _TRIAL_ATTRS)
    params = trial_params(conn, study.study_id, [i for i in ids if not _user_params(attrs.get(i, {}))])
    scores = step_scores(conn, study.name, [r.number for r in light])
    rows = []
    for r in light:
        a = attrs.get(r.trial_id, {})
        steps: dict[str, float | None] = {}
        for s in scores.get(r.number, ()):  # oldest first: a step scored again keeps its latest score
            steps[step_label(s["task_id"], s["map_index"])] = s["score"]
        wall = a.get("saber_wall_s")
        if wall is None and r.datetime_start and r.datetime_complete:
            wall = (r.datetime_complete - r.datetime_start).total_seconds()
        value = _INFINITE.get(state_name(r.value_type), r.value) if r.value_type is not None else None
        rows.append(TrialRow(
            number=r.number, params=dict(_user_params(a) or params.get(r.trial_id, {})),
            score=value if n_objectives <= 1 else None, state=state_name(r.state), start=r.datetime_start,
            duration_s=wall, container_s=a.get("saber_container_s"), run_id=a.get("saber_run_id"),
            error=a.get("saber_error"), steps=steps))
    return rows


def _user_params(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    params = attrs.get("saber_params")
    return params if isinstance(params, dict) and params else None
