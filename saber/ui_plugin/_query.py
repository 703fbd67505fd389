"""The results store as the Studies page reads it: Optuna's tables and saber_scores queried
with SQLAlchemy, read-only.

Optuna's own API loads every trial of a study with all its parameters, attributes and values
before it can show one; a page of 100 trials of a 10,000-trial study instead reads one light row
per trial (number, state, times, objective value, the one column it is sorted by) and the full
detail of the 100 shown only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from saber.errors import InputError
from saber.scores._report import PLAIN_SWEEP, StudyRow, json_finite, unscored
from saber.scores._store import scores_table
from saber.ui_plugin._compat import optuna_tables
from saber.ui_plugin._plotdata import Row, importance, parallel

__all__ = ["MAX_LIMIT", "NoStudy", "StoreReader", "airflow_links", "read_only_url"]

MAX_LIMIT = 500  # trials in one page: a bigger page is slower to draw than to page through
_UTC = timezone.utc  # noqa: UP017 (Python 3.10)
_STUDY_ATTRS = ("saber_workflow", "saber_dag_id", "saber_method", "saber_objective", "saber_created",
                "saber_sweep", PLAIN_SWEEP[0])
_TRIAL_ATTRS = ("saber_run_id", "saber_wall_s", "saber_container_s", "saber_error")
_COLUMNS = ("number", "state", "score", "start", "duration", "container")  # sortable, besides param:/step:


class NoStudy(InputError):
    """No study by that name in the store."""


def read_only_url(url: str) -> str | None:
    """``url`` opened so that nothing can write through it: a SQLite file in read-only mode
    (None if the file does not exist: no study ran yet, and the page must not create it). A
    server database is only ever sent SELECTs."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return url
    path = Path(parsed.database).expanduser().resolve()
    if not path.is_file():
        return None
    return f"sqlite:///file:{quote(str(path))}?mode=ro&uri=true"


@dataclass(frozen=True)
class _Study:
    study_id: int
    name: str
    directions: list[str]  # "maximize"/"minimize" by objective; none for a plain sweep
    attrs: dict[str, Any]


@dataclass
class _Light:
    """What every trial of a study contributes to a page: enough to sort and count."""

    trial_id: int
    number: int
    state: str
    start: datetime | None  # naive UTC, as Optuna writes it
    complete: datetime | None
    value: float | None  # the only objective's value; None for several objectives


class StoreReader:
    """Read-only views of the results store at ``url``; opens one engine on first use, kept for
    the api-server's lifetime (Airflow runs no shutdown hook for a plugin's app)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: sa.engine.Engine | None = None
        self._t = optuna_tables()

    # -- the studies list ---------------------------------------------------------------------

    def studies(self) -> list[dict[str, Any]]:
        """Every study and sweep, newest first."""
        conn = self._connect()
        if conn is None:
            return []
        t = self._t
        with conn:
            if not sa.inspect(conn).has_table("studies"):
                return []
            studies = self._study_meta(conn, None)
            states: dict[int, dict[str, int]] = {}
            for study_id, state, count in conn.execute(
                    sa.select(t["trials"].c.study_id, t["trials"].c.state, sa.func.count())
                    .group_by(t["trials"].c.study_id, t["trials"].c.state)):
                states.setdefault(study_id, {})[_name(state)] = count
            best = self._best_values(conn)
            costs = self._costs(conn)
        rows = []
        for s in studies.values():
            high, low = best.get(s.study_id, (None, None))
            value = None if len(s.directions) != 1 else (high if s.directions[0] == "maximize" else low)
            rows.append(_study_json(s, states.get(s.study_id, {}), value, costs.get(s.study_id, {})))
        rows.sort(key=lambda r: (r["created"] or "", r["id"]), reverse=True)
        return rows

    def study(self, name: str) -> dict[str, Any]:
        """One study's line of the list (NoStudy if there is none by that name)."""
        for row in self.studies():
            if row["name"] == name:
                return row
        raise NoStudy(f"no study named '{name}'")

    # -- one study's trials -------------------------------------------------------------------

    def trials(self, name: str, *, offset: int = 0, limit: int = 100, sort: str = "number",
               order: str = "asc", airflow_root: str = "") -> dict[str, Any]:
        """One page of a study's trials, sorted by a column, ``param:NAME`` or ``step:LABEL``
        (unknown values and missing ones last, ties by number)."""
        if order not in ("asc", "desc"):
            raise InputError(f"order must be asc or desc, not '{order}'")
        limit = max(1, min(limit, MAX_LIMIT))
        conn = self._connect()
        if conn is None:
            raise NoStudy(f"no study named '{name}'")
        with conn:
            study = self._one_study(conn, name)
            light = self._light(conn, study)
            params = self._params(conn, study.study_id, [r.trial_id for r in light])
            step_labels = self._step_labels(conn, name)
            key = self._sort_key(conn, study, light, params, sort, step_labels)
            by_number = sorted(light, key=lambda r: r.number)
            keys = {r.trial_id: _sortable(key(r)) for r in by_number}
            known = [r for r in by_number if keys[r.trial_id] is not None]
            # A stable sort of rows already in number order: ties stay by number either way.
            known.sort(key=lambda r: _rank(keys[r.trial_id]), reverse=order == "desc")
            page = (known + [r for r in by_number if keys[r.trial_id] is None])[offset:offset + limit]
            attrs = self._trial_attrs(conn, [r.trial_id for r in page], _TRIAL_ATTRS)
            scores = self._scores(conn, name, [r.number for r in page])
        objective = _objective_step(study.attrs)
        best = _best(study, light)
        labels = list(dict.fromkeys(label for r in by_number for label in params.get(r.trial_id, {})))
        rows = [_trial_json(r, params.get(r.trial_id, {}), attrs.get(r.trial_id, {}),
                            scores.get(r.number, []), study, objective, airflow_root) for r in page]
        return json_finite({"study": name, "total": len(light), "offset": offset, "limit": limit, "sort": sort,
                        "order": order, "params": labels, "steps": step_labels, "objective": objective,
                        "direction": ",".join(study.directions), "dag_id": study.attrs.get("saber_dag_id"),
                        "best": None if best is None else {"number": best.number, "score": best.value},
                        "trials": rows})

    # -- plot data ----------------------------------------------------------------------------

    def plots(self, name: str) -> dict[str, Any]:
        """Per objective: the optimization history with its running best, per parameter that
        varies across the complete trials its (value, score) pairs, the parameters' importance
        and parallel coordinates (_plotdata); parameters with one value are named as
        fixed inputs, not plotted."""
        conn = self._connect()
        if conn is None:
            raise NoStudy(f"no study named '{name}'")
        t = self._t
        trials, values = t["trials"], t["trial_values"]
        with conn:
            study = self._one_study(conn, name)
            scored: dict[int, dict[int, float | None]] = {}  # trial_id -> objective -> value
            numbers: dict[int, int] = {}
            for trial_id, number, objective, value in conn.execute(
                    sa.select(trials.c.trial_id, trials.c.number, values.c.objective, values.c.value)
                    .join(values, values.c.trial_id == trials.c.trial_id)
                    .where(trials.c.study_id == study.study_id, trials.c.state == "COMPLETE")):
                scored.setdefault(trial_id, {})[objective] = value
                numbers[trial_id] = number
            params = self._params(conn, study.study_id, list(scored))
        complete = sorted(scored, key=numbers.__getitem__)
        names = list(dict.fromkeys(p for trial_id in complete for p in params.get(trial_id, {})))
        distinct = {p: {_repr(params[i][p]) for i in complete if p in params.get(i, {})} for p in names}
        varied = [p for p in names if len(distinct[p]) > 1]
        fixed = {p: next(params[i][p] for i in complete if p in params.get(i, {}))
                 for p in names if p not in varied}
        steps = _objective_steps(study.attrs, len(study.directions))
        objectives = []
        for index, (step, direction) in enumerate(zip(steps, study.directions)):
            history: dict[str, list[Any]] = {"number": [], "value": [], "best": []}
            best = None
            for trial_id in complete:
                value = scored[trial_id].get(index)
                if value is None or not math.isfinite(value):
                    continue
                better = max if direction == "maximize" else min
                best = value if best is None else better(best, value)
                history["number"].append(numbers[trial_id])
                history["value"].append(value)
                history["best"].append(best)
            slices = {p: {"x": [], "y": [], "number": []} for p in varied}
            for trial_id in complete:
                value = scored[trial_id].get(index)
                for p in varied:
                    if p in params.get(trial_id, {}) and value is not None:
                        slices[p]["x"].append(params[trial_id][p])
                        slices[p]["y"].append(value)
                        slices[p]["number"].append(numbers[trial_id])
            axis = f"{step} score ({direction})"
            rows = [Row(numbers[i], params.get(i, {}), scored[i][index]) for i in complete
                    if scored[i].get(index) is not None and math.isfinite(scored[i][index])]
            objectives.append({"step": step, "direction": direction, "axis": axis, "history": history,
                               "slices": slices, "importance": importance(rows, varied, direction),
                               "parallel": parallel(rows, varied, direction, axis)})
        return json_finite({"study": name, "scored": bool(study.directions), "complete": len(complete),
                            "varied": varied, "fixed": fixed, "objectives": objectives})

    # -- queries ------------------------------------------------------------------------------

    def _connect(self) -> sa.engine.Connection | None:
        if self._engine is None:
            url = read_only_url(self.url)
            if url is None:
                return None
            if url.startswith("sqlite"):
                # A running study writes while the page reads: wait out its write lock a while.
                self._engine = sa.create_engine(url, connect_args={"timeout": 10})
            else:
                self._engine = sa.create_engine(url, pool_pre_ping=True)
        return self._engine.connect()

    def _study_meta(self, conn: sa.engine.Connection, name: str | None) -> dict[int, _Study]:
        t = self._t
        query = sa.select(t["studies"].c.study_id, t["studies"].c.study_name)
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
                .where(ua.c.key.in_(_STUDY_ATTRS), *_in(ua.c.study_id, ids, name))):
            attrs.setdefault(study_id, {})[key] = json.loads(value)
        directions: dict[int, list[str]] = {}
        sd = t["study_directions"]
        for study_id, direction in conn.execute(
                sa.select(sd.c.study_id, sd.c.direction).where(*_in(sd.c.study_id, ids, name))
                .order_by(sd.c.study_id, sd.c.objective)):
            directions.setdefault(study_id, []).append(_name(direction).lower())
        # A plain sweep's one direction is Optuna's placeholder: it has no objective.
        return {i: _Study(i, names[i], [] if unscored(attrs.get(i, {})) else directions.get(i, ["minimize"]),
                          attrs.get(i, {})) for i in ids}

    def _one_study(self, conn: sa.engine.Connection, name: str) -> _Study:
        if not sa.inspect(conn).has_table("studies"):
            raise NoStudy(f"no study named '{name}'")
        found = self._study_meta(conn, name)
        if not found:
            raise NoStudy(f"no study named '{name}'")
        return next(iter(found.values()))

    def _best_values(self, conn: sa.engine.Connection) -> dict[int, tuple[float | None, float | None]]:
        """Per study: the highest and lowest first-objective value of its complete trials."""
        trials, values = self._t["trials"], self._t["trial_values"]
        query = (sa.select(trials.c.study_id, sa.func.max(values.c.value), sa.func.min(values.c.value))
                 .join(values, values.c.trial_id == trials.c.trial_id)
                 .where(trials.c.state == "COMPLETE", values.c.objective == 0)
                 .group_by(trials.c.study_id))
        return {study_id: (high, low) for study_id, high, low in conn.execute(query)}

    def _costs(self, conn: sa.engine.Connection) -> dict[int, dict[str, float]]:
        """Per study: wall and container seconds summed over its trials."""
        trials, ua = self._t["trials"], self._t["trial_user_attributes"]
        out: dict[int, dict[str, float]] = {}
        for study_id, key, value in conn.execute(
                sa.select(trials.c.study_id, ua.c.key, ua.c.value_json)
                .join(ua, ua.c.trial_id == trials.c.trial_id)
                .where(ua.c.key.in_(("saber_wall_s", "saber_container_s")))):
            number = json.loads(value)
            if isinstance(number, (int, float)):
                sums = out.setdefault(study_id, {})
                sums[key] = sums.get(key, 0.0) + number
        return out

    def _light(self, conn: sa.engine.Connection, study: _Study) -> list[_Light]:
        trials, values = self._t["trials"], self._t["trial_values"]
        single = len(study.directions) == 1
        query = (sa.select(trials.c.trial_id, trials.c.number, trials.c.state, trials.c.datetime_start,
                           trials.c.datetime_complete, values.c.value)
                 .outerjoin(values, sa.and_(values.c.trial_id == trials.c.trial_id, values.c.objective == 0))
                 .where(trials.c.study_id == study.study_id))
        # Times stay as Optuna wrote them (naive UTC) until a trial is shown: converting
        # 20,000 of them for 100 rows is a third of a page's time.
        return [_Light(i, n, _name(state), start, end, value if single else None)
                for i, n, state, start, end, value in conn.execute(query)]

    def _params(self, conn: sa.engine.Connection, study_id: int, trial_ids: Sequence[int]) -> dict[int, dict]:
        """Parameters as the user wrote them (saber_params), else Optuna's decoded values."""
        trials, ua, tp = self._t["trials"], self._t["trial_user_attributes"], self._t["trial_params"]
        out: dict[int, dict[str, Any]] = {}
        for trial_id, value in conn.execute(
                sa.select(ua.c.trial_id, ua.c.value_json).join(trials, trials.c.trial_id == ua.c.trial_id)
                .where(trials.c.study_id == study_id, ua.c.key == "saber_params")):
            params = json.loads(value)
            if isinstance(params, dict):
                out[trial_id] = params
        # Trials saber did not start (or a study made by Optuna alone) have only Optuna's params.
        rest = {i for i in trial_ids if i not in out}
        if rest:
            from optuna.distributions import json_to_distribution

            for trial_id, name, value, distribution in conn.execute(
                    sa.select(tp.c.trial_id, tp.c.param_name, tp.c.param_value, tp.c.distribution_json)
                    .join(trials, trials.c.trial_id == tp.c.trial_id).where(trials.c.study_id == study_id)
                    .order_by(tp.c.param_id)):  # the order the parameters were suggested in
                if trial_id in rest:
                    out.setdefault(trial_id, {})[name] = json_to_distribution(distribution).to_external_repr(value)
        return out

    def _trial_attrs(self, conn: sa.engine.Connection, trial_ids: Sequence[int],
                     keys: Iterable[str]) -> dict[int, dict[str, Any]]:
        ua = self._t["trial_user_attributes"]
        out: dict[int, dict[str, Any]] = {}
        if not trial_ids:
            return out
        for chunk in _chunks(trial_ids):
            for trial_id, key, value in conn.execute(
                    sa.select(ua.c.trial_id, ua.c.key, ua.c.value_json)
                    .where(ua.c.trial_id.in_(chunk), ua.c.key.in_(tuple(keys)))):
                out.setdefault(trial_id, {})[key] = json.loads(value)
        return out

    def _study_attr(self, conn: sa.engine.Connection, study_id: int, key: str) -> dict[int, Any]:
        """One user attribute of every trial of a study, by trial id."""
        trials, ua = self._t["trials"], self._t["trial_user_attributes"]
        return {trial_id: json.loads(value) for trial_id, value in conn.execute(
            sa.select(ua.c.trial_id, ua.c.value_json).join(trials, trials.c.trial_id == ua.c.trial_id)
            .where(trials.c.study_id == study_id, ua.c.key == key))}

    def _scores(self, conn: sa.engine.Connection, study: str, numbers: Sequence[int]) -> dict[int, list[Mapping]]:
        """The step scores of some trials, oldest first (a step scored again keeps its latest)."""
        if not numbers or not sa.inspect(conn).has_table(scores_table.name):
            return {}
        c = scores_table.c
        out: dict[int, list[Mapping]] = {}
        for chunk in _chunks(numbers):
            for row in conn.execute(
                    sa.select(c.trial_number, c.run_id, c.task_id, c.map_index, c.score)
                    .where(c.study == study, c.trial_number.in_(chunk)).order_by(c.recorded_at, c.id)):
                out.setdefault(row.trial_number, []).append(row._mapping)
        return out

    def _step_labels(self, conn: sa.engine.Connection, study: str) -> list[str]:
        if not sa.inspect(conn).has_table(scores_table.name):
            return []
        c = scores_table.c
        rows = conn.execute(sa.select(c.task_id, c.map_index).where(c.study == study).distinct()
                            .order_by(c.task_id, c.map_index))
        return [_label(task_id, map_index) for task_id, map_index in rows]

    def _sort_key(self, conn: sa.engine.Connection, study: _Study, light: list[_Light],
                  params: dict[int, dict], sort: str, steps: list[str]):
        """A function from a trial's light row to its sort value (None: unknown, sorted last)."""
        if sort == "number":
            return lambda r: r.number
        if sort == "state":
            return lambda r: r.state
        if sort == "score":
            return lambda r: r.value
        if sort == "start":
            return lambda r: r.start
        if sort == "duration":
            wall = self._study_attr(conn, study.study_id, "saber_wall_s")
            return lambda r: wall.get(r.trial_id, _seconds(r))
        if sort == "container":
            container = self._study_attr(conn, study.study_id, "saber_container_s")
            return lambda r: container.get(r.trial_id)
        if sort.startswith("param:"):
            name = sort[len("param:"):]
            return lambda r: params.get(r.trial_id, {}).get(name)
        if sort.startswith("step:") and sort[len("step:"):] in steps:
            label = sort[len("step:"):]
            by_number = {}
            for number, rows in self._scores(conn, study.name, [r.number for r in light]).items():
                for row in rows:
                    if _label(row["task_id"], row["map_index"]) == label:
                        by_number[number] = row["score"]
            return lambda r: by_number.get(r.number)
        raise InputError(f"cannot sort by '{sort}': give one of {', '.join(_COLUMNS)}, param:NAME or step:LABEL")


def airflow_links(root: str, dag_id: str | None, run_id: str | None, task_id: str | None = None,
                  map_index: int = -1) -> dict[str, str | None]:
    """The DAG run's page and a task instance's page (its log) in Airflow's UI under ``root``."""
    if not dag_id or not run_id:
        return {"run": None, "log": None}
    run = f"{root}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
    if not task_id:
        return {"run": run, "log": None}
    log = f"{run}/tasks/{quote(task_id, safe='')}"
    return {"run": run, "log": f"{log}/mapped/{map_index}" if map_index >= 0 else log}


def _study_json(s: _Study, states: dict[str, int], best: float | None, costs: dict[str, float]) -> dict:
    row = StudyRow(name=s.name, direction=",".join(s.directions), method=s.attrs.get("saber_method"),
                   objective=_objective_step(s.attrs), workflow=s.attrs.get("saber_workflow"),
                   created=s.attrs.get("saber_created"), states=states, best_value=best,
                   dag_id=s.attrs.get("saber_dag_id"), sweep=s.attrs.get("saber_sweep"),
                   scored=not unscored(s.attrs))
    return json_finite({
        "id": s.study_id, "name": s.name, "kind": row.kind, "workflow": row.workflow, "dag_id": row.dag_id,
        "sweep": row.sweep, "method": row.method, "direction": row.direction, "objective": row.objective,
        "created": row.created, "best_score": best,
        "trials": {"total": row.n_trials, "done": states.get("COMPLETE", 0), "running": states.get("RUNNING", 0),
                   "failed": states.get("FAIL", 0), "pruned": states.get("PRUNED", 0),
                   # enqueued by the optimizer: planned, not started yet
                   "waiting": states.get("WAITING", 0)},
        "wall_s": costs.get("saber_wall_s"), "container_s": costs.get("saber_container_s")})


def _trial_json(r: _Light, params: dict, attrs: dict, scores: list[Mapping], study: _Study,
                objective: str | None, root: str) -> dict[str, Any]:
    steps: dict[str, float | None] = {}
    scored_task = None
    for row in scores:  # oldest first: the latest score of a step wins
        label = _label(row["task_id"], row["map_index"])
        steps[label] = row["score"]
        if objective in (row["task_id"], label):
            scored_task = row
    run_id = attrs.get("saber_run_id") or (scored_task["run_id"] if scored_task else None)
    links = airflow_links(root, study.attrs.get("saber_dag_id"), run_id,
                          scored_task["task_id"] if scored_task else None,
                          scored_task["map_index"] if scored_task else -1)
    wall = attrs.get("saber_wall_s")
    return {"number": r.number, "state": r.state, "params": params, "score": r.value, "steps": steps,
            "start": _utc(r.start).isoformat() if r.start else None,
            "duration_s": wall if wall is not None else _seconds(r),
            "container_s": attrs.get("saber_container_s"), "run_id": run_id, "error": attrs.get("saber_error"),
            "links": links}


def _best(study: _Study, light: list[_Light]) -> _Light | None:
    """The complete trial with the best value, the earliest on ties; None for several objectives."""
    if len(study.directions) != 1:
        return None
    sign = -1.0 if study.directions[0] == "maximize" else 1.0
    done = [r for r in light if r.state == "COMPLETE" and r.value is not None and math.isfinite(r.value)]
    return min(done, key=lambda r: (sign * r.value, r.number), default=None)


def _objective_step(attrs: Mapping[str, Any]) -> str | None:
    """The scored step whose task log a trial links to: the only one, or the first of several."""
    objective = attrs.get("saber_objective")
    if isinstance(objective, list):
        return objective[0] if objective else None
    return objective or None


def _objective_steps(attrs: Mapping[str, Any], count: int) -> list[str]:
    steps = attrs.get("saber_objective")
    if count == 1:
        return [steps if isinstance(steps, str) and steps else "objective"]
    if isinstance(steps, list) and len(steps) == count:
        return [str(s) for s in steps]
    return [f"objective{i}" for i in range(count)]


def _rank(value: Any) -> tuple:
    """Sorts mixed parameter values: numbers, then text, then anything else by its JSON."""
    if isinstance(value, bool):
        return (1, str(value))
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, datetime):
        return (0, value.replace(tzinfo=_UTC).timestamp() if value.tzinfo is None else value.timestamp())
    return (2, json.dumps(value, sort_keys=True, default=str))


def _sortable(value: Any) -> Any:
    """None for what has no place in an order (no value, NaN): such trials go last."""
    return None if isinstance(value, float) and math.isnan(value) else value


def _repr(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _seconds(r: _Light) -> float | None:
    if r.start and r.complete:
        return (r.complete - r.start).total_seconds()
    return None


def _utc(value: datetime | None) -> datetime | None:
    """Optuna writes naive UTC datetimes."""
    if value is None:
        return None
    return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)


def _name(value: Any) -> str:
    """An Optuna enum column's value (an Enum member, or its name on some drivers)."""
    return getattr(value, "name", str(value))


def _label(task_id: str, map_index: int) -> str:
    return task_id if map_index < 0 else f"{task_id}[{map_index}]"


def _in(column: Any, ids: list[int], name: str | None) -> list[Any]:
    """No IN clause for the whole list (every study): all rows are wanted anyway."""
    return [] if name is None else [column.in_(ids)]


def _chunks(values: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    """IN lists short enough for every database's bound-parameter limit."""
    for start in range(0, len(values), size):
        yield values[start:start + size]
