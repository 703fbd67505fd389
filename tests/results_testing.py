"""Shared by the results tests: a study written into a results store the way the optimizer
writes one (study and trial user_attrs, step scores)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from saber.scores import ResultsStore

__all__ = ["ERROR", "SIGMAS", "T0", "TRIALS", "write_big_study", "write_plain_sweep", "write_study",
           "write_two_objective_study"]

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


def write_big_study(store: ResultsStore, name: str, n: int, *, batch: int = 50_000) -> None:
    """A study of ``n`` complete trials inserted in one transaction (Optuna's add_trial commits
    each trial on its own, minutes for 10,000), ``batch`` trials' rows built at a time:
    maximize, trial k scores (k * 7919 % n) / n and has x = (k * 31 % n) / n."""
    import optuna
    import sqlalchemy as sa
    from optuna.distributions import FloatDistribution, distribution_to_json

    from saber.scores._compat import optuna_tables

    study = optuna.create_study(study_name=name, storage=store.storage, direction="maximize")
    study.set_user_attr("saber_dag_id", "big")
    study.set_user_attr("saber_objective", "evaluate")
    study_id = store.storage.get_study_id_from_name(name)
    t = optuna_tables()
    dist = distribution_to_json(FloatDistribution(0, 1))
    start = T0.replace(tzinfo=None)
    with store.engine.begin() as conn:
        first = conn.execute(sa.select(sa.func.coalesce(sa.func.max(t["trials"].c.trial_id), 0))).scalar() + 1
        for low in range(0, n, batch):
            _insert_trials(conn, t, study_id, first, range(low, min(n, low + batch)), n, start, dist)
        if conn.dialect.name == "postgresql" and n:  # the ids were given: move the sequence past them
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('trials', 'trial_id'), :last)"),
                         {"last": first + n - 1})


def _insert_trials(conn, t, study_id: int, first: int, numbers: range, n: int, start: datetime, dist: str) -> None:
    """Trials ``numbers`` of write_big_study's study, trial k with id ``first`` + k."""
    conn.execute(t["trials"].insert(), [
        {"trial_id": first + k, "number": k, "study_id": study_id, "state": "COMPLETE",
         "datetime_start": start + timedelta(seconds=k), "datetime_complete": start + timedelta(seconds=k + 5)}
        for k in numbers])
    conn.execute(t["trial_values"].insert(), [
        {"trial_id": first + k, "objective": 0, "value": (k * 7919 % n) / n, "value_type": "FINITE"}
        for k in numbers])
    conn.execute(t["trial_params"].insert(), [
        {"trial_id": first + k, "param_name": "x", "param_value": (k * 31 % n) / n, "distribution_json": dist}
        for k in numbers])
    attrs = []
    for k in numbers:
        i = first + k
        attrs += [{"trial_id": i, "key": "saber_params", "value_json": json.dumps({"x": (k * 31 % n) / n, "k": 3})},
                  {"trial_id": i, "key": "saber_run_id", "value_json": json.dumps(f"run{k}")},
                  {"trial_id": i, "key": "saber_wall_s", "value_json": "5.0"},
                  {"trial_id": i, "key": "saber_container_s", "value_json": "4.0"}]
    conn.execute(t["trial_user_attributes"].insert(), attrs)


def write_two_objective_study(store: ResultsStore, name: str = "two") -> str:
    """A study of two objectives (two scored steps, no sampler.objective), as the optimizer
    writes it: each trial's values are the steps' scores, in the objectives' order."""
    import optuna
    from optuna.distributions import FloatDistribution

    study = optuna.create_study(study_name=name, storage=store.storage, directions=["maximize", "maximize"])
    study.set_user_attr("saber_method", "grid")
    study.set_user_attr("saber_objective", ["first", "second"])
    for number, x in enumerate((0.2, 0.5, 0.8)):
        values = [x, 1 - x]
        study.add_trial(optuna.trial.create_trial(params={"x": x}, distributions={"x": FloatDistribution(0, 1)},
                                                  values=values, user_attrs={"saber_params": {"x": x}}))
        for task, score in zip(("first", "second"), values):
            store.record_score(study=name, trial_number=number, run_id=f"r{number}", task_id=task, score=score)
    return name
