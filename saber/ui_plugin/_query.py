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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from saber.errors import InputError
from saber.scores._report import StudyRow, json_finite, unscored
from saber.scores._sql import (StudyMeta, best_values, state_counts, state_name, step_label, step_labels,
                               step_scores, study_meta, trial_attrs, trial_params)
from saber.ui_plugin._compat import optuna_tables
from saber.ui_plugin._plotdata import Row, importance, parallel

__all__ = ["MAX_LIMIT", "NoStudy", "StoreReader", "airflow_links", "read_only_url"]

MAX_LIMIT = 500  # trials in one page: a bigger page is slower to draw than to page through
_UTC = timezone.utc  # noqa: UP017 (Python 3.10)
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
        with conn:
            if not sa.inspect(conn).has_table("studies"):
                return []
            studies = study_meta(conn)
            states = state_counts(conn)
            best = best_values(conn)
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
            params = trial_params(conn, study.study_id, [r.trial_id for r in light], whole_study=True)
            steps = step_labels(conn, name)
            key = self._sort_key(conn, study, light, params, sort, steps)
            by_number = sorted(light, key=lambda r: r.number)
            keys = {r.trial_id: _sortable(key(r)) for r in by_number}
            known = [r for r in by_number if keys[r.trial_id] is not None]
            # A stable sort of rows already in number order: ties stay by number either way.
            known.sort(key=lambda r: _rank(keys[r.trial_id]), reverse=order == "desc")
            page = (known + [r for r in by_number if keys[r.trial_id] is None])[offset:offset + limit]
            attrs = trial_attrs(conn, [r.trial_id for r in page], _TRIAL_ATTRS)
            scores = step_scores(conn, name, [r.number for r in page])
        objective = _objective_step(study.attrs)
        best = _best(study, light)
        labels = list(dict.fromkeys(label for r in by_number for label in params.get(r.trial_id, {})))
        rows = [_trial_json(r, params.get(r.trial_id, {}), attrs.get(r.trial_id, {}),
                            scores.get(r.number, []), study, objective, airflow_root) for r in page]
        return json_finite({"study": name, "total": len(light), "offset": offset, "limit": limit, "sort": sort,
                        "order": order, "params": labels, "steps": steps, "objective": objective,
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
            params = trial_params(conn, study.study_id, list(scored), whole_study=True)
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

    def _one_study(self, conn: sa.engine.Connection, name: str) -> StudyMeta:
        if not sa.inspect(conn).has_table("studies"):
            raise NoStudy(f"no study named '{name}'")
        found = study_meta(conn, name)
        if not found:
            raise NoStudy(f"no study named '{name}'")
        return next(iter(found.values()))

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

    def _light(self, conn: sa.engine.Connection, study: StudyMeta) -> list[_Light]:
        trials, values = self._t["trials"], self._t["trial_values"]
        single = len(study.directions) == 1
        query = (sa.select(trials.c.trial_id, trials.c.number, trials.c.state, trials.c.datetime_start,
                           trials.c.datetime_complete, values.c.value)
                 .outerjoin(values, sa.and_(values.c.trial_id == trials.c.trial_id, values.c.objective == 0))
                 .where(trials.c.study_id == study.study_id))
        # Times stay as Optuna wrote them (naive UTC) until a trial is shown: converting
        # 20,000 of them for 100 rows is a third of a page's time.
        return [_Light(i, n, state_name(state), start, end, value if single else None)
                for i, n, state, start, end, value in conn.execute(query)]

    def _study_attr(self, conn: sa.engine.Connection, study_id: int, key: str) -> dict[int, Any]:
        """One user attribute of every trial of a study, by trial id."""
        trials, ua = self._t["trials"], self._t["trial_user_attributes"]
        return {trial_id: json.loads(value) for trial_id, value in conn.execute(
            sa.select(ua.c.trial_id, ua.c.value_json).join(trials, trials.c.trial_id == ua.c.trial_id)
            .where(trials.c.study_id == study_id, ua.c.key == key))}

    def _sort_key(self, conn: sa.engine.Connection, study: StudyMeta, light: list[_Light],
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
            for number, rows in step_scores(conn, study.name, [r.number for r in light]).items():
                for row in rows:
                    if step_label(row["task_id"], row["map_index"]) == label:
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


def _study_json(s: StudyMeta, states: dict[str, int], best: float | None, costs: dict[str, float]) -> dict:
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


def _trial_json(r: _Light, params: dict, attrs: dict, scores: list[Mapping], study: StudyMeta,
                objective: str | None, root: str) -> dict[str, Any]:
    steps: dict[str, float | None] = {}
    scored_task = None
    for row in scores:  # oldest first: the latest score of a step wins
        label = step_label(row["task_id"], row["map_index"])
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


def _best(study: StudyMeta, light: list[_Light]) -> _Light | None:
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
