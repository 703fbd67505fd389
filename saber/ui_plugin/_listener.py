"""Airflow listener: a saber DAG run triggered by hand becomes a trial when it ends.

Airflow calls these hooks in whichever process changes a DAG run's state: the scheduler, the
api-server (a run marked success or failed) and `saber run`'s embedded loop. Runs that saber
made carry their sweep id and are left alone (`saber run` records its own trials); a run from
the Trigger form or the REST API is handed to saber.runs._manual. Nothing here may break the
process it runs in: every failure is one logged line.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from airflow.listeners import hookimpl

__all__ = ["on_dag_run_failed", "on_dag_run_success"]

log = logging.getLogger(__name__)


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    _record(dag_run)


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    _record(dag_run)


def _record(dag_run: Any) -> None:
    conf = dict(dag_run.conf or {})
    # The cheap test first: the embedded loop calls this for every run it drives.
    from saber.plan import CONF_KEY

    if "sweep_id" in (conf.get(CONF_KEY) or {}):
        return
    try:
        plan = _plan(dag_run)
        if plan is None or not any(s.get("score_format") for s in plan["steps"]):
            return
        recorded = _record_run(plan, dag_run, conf)
    except Exception:  # noqa: BLE001 (a listener must not fail the scheduler's loop)
        log.exception("saber could not record hand-triggered run %s of %s", dag_run.run_id, dag_run.dag_id)
        return
    if recorded is not None:
        name, number = recorded
        log.info("saber recorded run %s as trial %d of study %s", dag_run.run_id, number, name)


def _plan(dag_run: Any) -> dict | None:
    """The compiled plan beside the DAG's file (`saber dag` and `saber run` write both); None
    for other DAGs, or where this process's machine does not hold the DAG folder."""
    model = dag_run.dag_model
    fileloc = getattr(model, "fileloc", None) if model is not None else None
    if not fileloc:
        return None
    path = Path(fileloc).with_name(f"{dag_run.dag_id}.plan.json")
    if not path.is_file():
        if "saber" in {getattr(t, "name", t) for t in getattr(model, "tags", None) or ()}:
            log.warning("saber cannot record run %s: no plan at %s on this machine", dag_run.run_id, path)
        return None
    plan = json.loads(path.read_text())
    return plan if plan.get("dag_id") == dag_run.dag_id else None


def _record_run(plan: dict, dag_run: Any, conf: dict) -> tuple[str, int] | None:
    from saber.backends.embedded._compat import own_session
    from saber.backends.embedded._records import Records
    from saber.runs._manual import HandRun, record_hand_run
    from saber.scores import ResultsStore, results_url

    # Tasks, XComs and logs are read through a session of our own: the caller's holds the
    # run's state change, which it commits itself.
    session = own_session()
    try:
        outcome = Records(plan, session).outcome(dag_run.run_id)
    finally:
        session.close()
    # The caller has not committed the run's end yet: its state and times come from the object.
    outcome = _ended(outcome, dag_run)
    run = HandRun(plan=plan, run_id=dag_run.run_id, conf=conf, outcome=outcome,
                  start=dag_run.start_date, end=dag_run.end_date)
    with ResultsStore(results_url()) as store:
        recorded = record_hand_run(store, run)
    if recorded is not None:
        _note(dag_run, *recorded, outcome)
    return recorded


def _ended(outcome: Any, dag_run: Any) -> Any:
    import dataclasses

    from saber.backends import run_state
    from saber.backends._failures import outcome_error

    state = run_state(str(dag_run.state))
    wall = ((dag_run.end_date - dag_run.start_date).total_seconds()
            if dag_run.end_date and dag_run.start_date else outcome.wall_s)
    return dataclasses.replace(outcome, state=state, wall_s=wall, error=outcome_error(outcome.failures, state))


def _note(dag_run: Any, study: str, number: int, outcome: Any) -> None:
    """The run's note says which trial it became, as for the runs `saber run` makes."""
    from saber.backends._outputs import NOTE_LIMIT

    text = f"saber study {study}, trial {number}"
    if outcome.error:
        text += f": failed, {outcome.error}"
    elif scores := [f"{s.task_id} score {s.score:.6g}" for s in outcome.steps if s.scored and s.score is not None]:
        text += ": " + ", ".join(scores)
    try:
        if not dag_run.note:
            dag_run.note = text[:NOTE_LIMIT]
    except Exception:  # noqa: BLE001 (the trial is recorded; the note is a courtesy)
        log.warning("saber could not write the note of run %s", dag_run.run_id, exc_info=True)
