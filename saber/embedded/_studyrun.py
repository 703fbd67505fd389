"""`saber run` on a scored workflow: the optimizer's rounds run as DAG runs of one open runner.

Each trial is one DAG run whose conf names the study and trial; after it ends, its scores and
costs are read from Airflow (XCom, the run's dates), told to the optimizer, stored, and
written into the run's note so the Airflow UI shows them beside the run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from saber.embedded._runner import EmbeddedRunner, RunProgress, RunRequest
from saber.optimize import StepScore, StudySpec, TrialJob, TrialOutcome, TrialRecord
from saber.sweep import SearchSpace

__all__ = ["run_study"]

_NOTE_LIMIT = 1000  # Airflow's dag_run_note.content


def run_study(plan: dict, study: StudySpec, space: SearchSpace, *, runner: EmbeddedRunner,
              request: Callable[[Any, str, dict], RunRequest], outdir: Path,
              on_progress: Callable[[list[RunProgress]], None] | None = None,
              on_trial: Callable[[TrialRecord], None] | None = None,
              on_round: Callable[[list[TrialJob]], None] | None = None):
    """Run ``study``'s loop; returns (LoopResult, {trial number: (RunRequest, outputs)})."""
    from airflow import settings

    from saber.optimize import Optimizer
    from saber.scores import ResultsStore, results_url

    store = ResultsStore(results_url())
    runs: dict[int, tuple[RunRequest, dict | None]] = {}
    with runner.open() as batches:
        session = settings.Session()

        def run_round(jobs: list[TrialJob]) -> list[TrialOutcome]:
            requests = [request(job.point, f"{study.name}_t{job.number:04d}",
                                {"study": study.name, "trial": job.number}) for job in jobs]
            states = batches.run(requests, on_progress=on_progress)
            outcomes = []
            for job, req in zip(jobs, requests):
                outcome = read_outcome(session, plan, req.run_id, states.get(req.run_id, "failed"))
                runs[job.number] = (req, _export(session, plan, req, outcome, outdir / f"trial-{job.number:04d}"))
                outcomes.append(outcome)
            return outcomes

        def told(record: TrialRecord) -> None:
            _note(session, plan["dag_id"], record, study)
            if on_trial:
                on_trial(record)

        def record_score(name: str, number: int, run_id: str, s: StepScore) -> None:
            store.record_score(study=name, trial_number=number, run_id=run_id, task_id=s.task_id,
                               map_index=s.map_index, score=s.score, fields=s.fields)

        try:
            optimizer = Optimizer(study, space, store.storage, record_score=record_score,
                                  default_batch=runner.workers)
            result = optimizer.run(run_round, on_trial=told, on_round=on_round)
        finally:
            session.close()
            store.close()
    return result, runs


def read_outcome(session, plan: dict, run_id: str, state: str) -> TrialOutcome:
    """Scores (XCom `score` of scored steps), container seconds (XCom `container_s` of every
    step), wall seconds (the DAG run's dates) and, for a failed run, which steps failed."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel

    session.expire_all()
    dag_id = plan["dag_id"]
    scored = {s["task_id"] for s in plan["steps"] if s.get("score_format")}
    rows = session.query(XComModel).filter(XComModel.dag_id == dag_id, XComModel.run_id == run_id,
                                           XComModel.key.in_(("score", "score_fields", "container_s"))).all()
    values = {(r.task_id, r.map_index, r.key): XComModel.deserialize_value(r) for r in rows}
    scores = [StepScore(task, index, _float(value), values.get((task, index, "score_fields")) or {})
              for (task, index, key), value in sorted(values.items()) if key == "score" and task in scored]
    container = sum(_float(v) or 0.0 for (_, _, key), v in values.items() if key == "container_s")
    dr = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one_or_none()
    wall = (dr.end_date - dr.start_date).total_seconds() if dr and dr.end_date and dr.start_date else 0.0
    error = None
    if state != "success":
        from saber.embedded._failures import run_failure

        error = run_failure(session, dag_id, run_id, state)
    session.commit()
    return TrialOutcome(run_id=run_id, state=state, scores=scores, wall_s=wall, container_s=container, error=error)


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _export(session, plan: dict, req: RunRequest, outcome: TrialOutcome, dest: Path) -> dict | None:
    from saber.embedded._results import export_outputs, run_outputs
    from saber.execution._conf import conf_inputs

    if outcome.state != "success":
        return None
    return export_outputs(run_outputs(plan, req.run_id, conf_inputs(req.conf), session), dest)


def _note(session, dag_id: str, record: TrialRecord, study: StudySpec) -> None:
    """The run's note in the Airflow UI: which trial it was and what it scored."""
    from airflow.models.dagrun import DagRun

    if record.state == "COMPLETE":
        head = f"saber study {study.name}, trial {record.number}: {study.objective} score {record.value:.6g}"
    else:
        head = f"saber study {study.name}, trial {record.number}: failed, {record.error}"
    text = f"{head}\nparameters: {json.dumps(record.params, default=str)}"
    dr = session.query(DagRun).filter_by(dag_id=dag_id, run_id=record.outcome.run_id).one_or_none()
    if dr is not None:
        dr.note = text[:_NOTE_LIMIT]
        session.commit()
