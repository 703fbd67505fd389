"""`saber run` on a scored workflow: the optimizer's rounds run as batches of DAG runs.

Each trial is one DAG run whose conf names the study and trial; after it ends, its scores and
costs (the backend's RunOutcome) are told to the optimizer, stored, and written into the run's
note so the Airflow UI shows them beside the run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saber.backends import Backend, RunOutcome, RunProgress, RunRequest

if TYPE_CHECKING:
    # Not imported at run time until a study runs: saber.optimize imports Optuna (and its Redis
    # and SQLAlchemy storages), 0.3-0.4 s that a plain run or a saber-cwl-runner call never uses.
    from saber.optimize import StepScore, StudySpec, TrialJob, TrialOutcome, TrialRecord
    from saber.sweep import SearchSpace

__all__ = ["run_study", "scores_text", "trial_note", "trial_outcome"]


def run_study(plan: dict, study: StudySpec, space: SearchSpace, *, backend: Backend,
              request: Callable[[Any, str, dict], RunRequest], outdir: Path,
              on_progress: Callable[[list[RunProgress]], None] | None = None,
              on_trial: Callable[[TrialRecord], None] | None = None,
              on_round: Callable[[list[TrialJob]], None] | None = None, download: bool = True):
    """Run ``study``'s loop; returns (LoopResult, {trial number: (RunRequest, outputs)})."""
    from saber.optimize import Optimizer
    from saber.runs._outputs import export_outputs
    from saber.runs._batch import run_batch
    from saber.scores import ResultsStore, results_url

    store = ResultsStore(results_url())
    runs: dict[int, tuple[RunRequest, dict | None]] = {}

    def run_round(jobs: list[TrialJob]) -> list[TrialOutcome]:
        requests = [request(job.point, f"{study.name}_t{job.number:04d}",
                            {"study": study.name, "trial": job.number}) for job in jobs]
        run_batch(backend, requests, on_progress)
        outcomes = []
        for job, req in zip(jobs, requests):
            outcome = trial_outcome(backend.outcome(req.run_id))
            outputs = None
            if outcome.state == "success":
                outputs = export_outputs(backend.outputs(req.run_id), outdir / f"trial-{job.number:04d}",
                                         download=download)
            runs[job.number] = (req, outputs)
            outcomes.append(outcome)
        return outcomes

    def recover(jobs: list[TrialJob]) -> list[TrialOutcome | None]:
        """Trials whose round did not finish here: a run that succeeded keeps its result (and
        outputs); one still going is stopped by the backend, and its trial runs again."""
        ids = {job.number: f"{study.name}_t{job.number:04d}" for job in jobs}
        states = backend.settle(list(ids.values()))
        outcomes: list[TrialOutcome | None] = []
        for job in jobs:
            run_id = ids[job.number]
            if states.get(run_id) != "success":
                outcomes.append(None)
                continue
            req = request(job.point, run_id, {"study": study.name, "trial": job.number})
            runs[job.number] = (req, export_outputs(backend.outputs(run_id), outdir / f"trial-{job.number:04d}",
                                                    download=download))
            outcomes.append(trial_outcome(backend.outcome(run_id)))
        return outcomes

    def told(record: TrialRecord) -> None:
        backend.annotate(record.outcome.run_id, trial_note(record, study))
        if on_trial:
            on_trial(record)

    def record_score(name: str, number: int, run_id: str, s: StepScore) -> None:
        store.record_score(study=name, trial_number=number, run_id=run_id, task_id=s.task_id,
                           map_index=s.map_index, score=s.score, fields=s.fields)

    try:
        optimizer = Optimizer(study, space, store.storage, record_score=record_score,
                              default_batch=backend.capabilities.parallel_runs)
        result = optimizer.run(run_round, on_trial=told, on_round=on_round, recover=recover)
    finally:
        store.close()
    return result, runs


def trial_outcome(outcome: RunOutcome) -> TrialOutcome:
    """A run's outcome as the optimizer sees it: the scores of the scored steps that ran
    (a skipped one has none), every step's container seconds."""
    from saber.optimize import StepScore, TrialOutcome

    scores = [StepScore(s.task_id, s.map_index, s.score, dict(s.score_fields))
              for s in outcome.steps if s.scored and s.state == "success"]
    return TrialOutcome(run_id=outcome.run_id, state=outcome.state, scores=scores, wall_s=outcome.wall_s,
                        container_s=sum(s.container_s for s in outcome.steps), error=outcome.error,
                        cached=outcome.cached_steps)


def trial_note(record: TrialRecord, study: StudySpec) -> str:
    """The run's note in the Airflow UI: which trial it was and what it scored."""
    if record.state == "COMPLETE":
        head = f"saber study {study.name}, trial {record.number}: {scores_text(record.value, study)}"
    else:
        head = f"saber study {study.name}, trial {record.number}: failed, {record.error}"
    return f"{head}\nparameters: {json.dumps(record.params, default=str)}"


def scores_text(value: float | list[float], study: StudySpec) -> str:
    """A trial's scores for people: "evaluate score 0.5", or "scores: evaluate 0.5, loss 0.25"."""
    if isinstance(value, list):
        return "scores: " + ", ".join(f"{task} {v:.6g}" for task, v in zip(study.objectives, value))
    return f"{study.objective} score {value:.6g}"
