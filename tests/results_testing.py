"""Shared by the results tests: a study written into a results store the way the optimizer
writes one (study and trial user_attrs, step scores)."""

from __future__ import annotations

from datetime import datetime, timezone

from saber.scores import ResultsStore

__all__ = ["ERROR", "SIGMAS", "T0", "TRIALS", "write_plain_sweep", "write_study"]

# The sampler sees sigma as an index into these choices (an encoded value); saber_params holds
# the value itself, which is what reports must show.
SIGMAS = [0.5, 1.5, 3.0]
# (threshold, sigma index, objective score); None: the trial failed.
TRIALS = [(0.2, 0, 0.5), (0.4, 1, 0.8), (0.6, 2, 0.3), (0.8, 0, None)]
ERROR = "step 'evaluate' printed no line matching 'F1: {score}'"
T0 = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)  # noqa: UP017 (Python 3.10)


def write_study(store: ResultsStore, name: str = "blobs", direction: str = "maximize", *,
                trials: bool = True) -> str:
    """Write a study into ``store`` as the optimizer does: three complete trials, one failed,
    one running, one waiting, and the step scores of each; ``trials=False`` leaves it empty.
    Returns the study's name."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, storage=store.storage, direction=direction)
    for key, value in {"saber_workflow": "workflows/blob_count.cwl", "saber_sweep": None,
                       "saber_dag_id": "blob_count", "saber_method": "grid",
                       "saber_objective": "evaluate", "saber_created": T0.isoformat()}.items():
        study.set_user_attr(key, value)
    if trials:
        _add_trials(study, store, name)
    return name


def _add_trials(study, store: ResultsStore, name: str) -> None:
    import optuna
    from optuna.distributions import FloatDistribution, IntDistribution
    from optuna.trial import TrialState

    distributions = {"threshold": FloatDistribution(0.0, 1.0), "sigma": IntDistribution(0, 2)}
    for number, (threshold, sigma, value) in enumerate(TRIALS):
        run_id = f"saber__{name}__{number}"
        attrs = {"saber_params": {"threshold": threshold, "sigma": SIGMAS[sigma]}, "saber_run_id": run_id,
                 "saber_wall_s": 10.0 + number, "saber_container_s": 20.0 + number}
        if value is None:
            attrs["saber_error"] = ERROR
        study.add_trial(optuna.trial.create_trial(
            params={"threshold": threshold, "sigma": sigma}, distributions=distributions, value=value,
            state=TrialState.COMPLETE if value is not None else TrialState.FAIL, user_attrs=attrs))
        store.record_score(study=name, trial_number=number, run_id=run_id, task_id="evaluate", score=value,
                           fields={"precision": 0.9} if value is not None else {})
        for index in range(2):
            store.record_score(study=name, trial_number=number, run_id=run_id, task_id="count",
                               map_index=index, score=float(10 * number + index))
    # What the optimizer leaves behind while it works: a trial running, the next one queued.
    study.enqueue_trial({"threshold": 0.9, "sigma": 1})
    running = study.ask()
    running.set_user_attr("saber_params", {"threshold": 0.9, "sigma": SIGMAS[1]})
    study.enqueue_trial({"threshold": 1.0, "sigma": 2})


def write_plain_sweep(store: ResultsStore, name: str = "echoes") -> str:
    """A plain sweep (no scored step) as `saber run` records one: a point done, one failed,
    one running."""
    from saber.backends import RunOutcome, StepRecord
    from saber.runs._record import SweepRecord

    record = SweepRecord(store, name, {"saber_workflow": "workflows/echo.cwl", "saber_dag_id": "echo",
                                       "saber_sweep": "sweeps/echo.yml", "saber_method": "grid"})
    step = StepRecord(task_id="echo", state="success", container_s=1.5)
    record.finished(0, {"message": "a"}, RunOutcome(run_id=f"{name}_p0000", state="success", wall_s=3.0,
                                                    steps=[step]))
    record.finished(1, {"message": "b"}, RunOutcome(run_id=f"{name}_p0001", state="failed", wall_s=4.0,
                                                    error="step 'echo' failed: no"))
    record.started(2, {"message": "c"}, f"{name}_p0002")
    return name
