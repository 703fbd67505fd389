"""A scored DAG run that saber did not make (the Trigger form, the REST API) recorded as a trial.

`saber run` tells the optimizer each of its own trials. A run triggered by hand has nobody
waiting for it, so the scheduler's listener (saber.ui_plugin._listener) hands its outcome here
when it ends: it becomes one trial of the study named by the conf's ``saber_study``, else of
``<dag_id>-manual``, so `saber results` and the Studies page show it like any other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from saber.backends import RunOutcome
from saber.plan import CONF_KEY, STUDY_KEY, conf_inputs, unwire

__all__ = ["HandRun", "MANUAL_METHOD", "hand_made", "record_hand_run", "study_name"]

MANUAL_METHOD = "manual"  # the study's saber_method: its trials were triggered by hand
_UTC = timezone.utc  # noqa: UP017 (Python 3.10)


@dataclass(frozen=True)
class HandRun:
    """What the listener read about one ended run of a saber DAG."""

    plan: dict
    run_id: str
    conf: dict
    outcome: RunOutcome
    start: datetime | None
    end: datetime | None


def hand_made(conf: dict | None) -> bool:
    """Runs saber makes carry their sweep id in saber's part of the conf; a person's do not."""
    return "sweep_id" not in ((conf or {}).get(CONF_KEY) or {})


def study_name(dag_id: str, conf: dict | None) -> str:
    name = (conf or {}).get(STUDY_KEY)
    return name if isinstance(name, str) and name.strip() else f"{dag_id}-manual"


def record_hand_run(store, run: HandRun) -> tuple[str, int] | None:
    """Add ``run`` to its study in ``store`` (a ResultsStore) as a complete or failed trial;
    returns (study, trial number), or None when the workflow has no scored step, the study
    belongs to another DAG, or this run was recorded before (a cleared and re-run DAG run)."""
    import optuna

    from saber.optimize import objective_value
    from saber.runs._study import trial_outcome

    plan = run.plan
    scored = [s["task_id"] for s in plan["steps"] if s.get("score_format")]
    if not scored:
        return None
    name = study_name(plan["dag_id"], run.conf)
    study = _study(store, name, plan, scored)
    if study is None or store.has_run(name, run.run_id):
        return None
    objective = study.user_attrs.get("saber_objective") or (scored[0] if len(scored) == 1 else scored)
    outcome = trial_outcome(run.outcome)
    value, error = objective_value(outcome, objective if isinstance(objective, str) else list(objective))
    if error is None and len(study.directions) != (1 if isinstance(value, float) else len(value)):
        error = f"study '{name}' has {len(study.directions)} objectives; this run scored {objective}"
    attrs: dict[str, Any] = {
        "saber_params": _params(plan, run.conf), "saber_run_id": run.run_id,
        "saber_wall_s": round(outcome.wall_s, 3), "saber_container_s": round(outcome.container_s, 3)}
    if error is None:
        trial = optuna.trial.create_trial(state=optuna.trial.TrialState.COMPLETE, user_attrs=attrs,
                                          **({"value": value} if isinstance(value, float) else {"values": value}))
    else:
        trial = optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL, user_attrs={**attrs, "saber_error": error})
    # The trial's times are the run's, so the page's start and duration are the run's too.
    if run.start is not None:
        trial.datetime_start = _naive_utc(run.start)
    if run.end is not None:
        trial.datetime_complete = _naive_utc(run.end)
    storage = store.storage
    trial_id = storage.create_new_trial(storage.get_study_id_from_name(name), template_trial=trial)
    number = storage.get_trial_number_from_id(trial_id)
    for s in outcome.scores:
        store.record_score(study=name, trial_number=number, run_id=run.run_id, task_id=s.task_id,
                           map_index=s.map_index, score=s.score, fields=s.fields)
    return name, number


def _study(store, name: str, plan: dict, scored: list[str]):
    """The study to add to: an existing one of this DAG, or a new one (maximize each scored
    step, the sweep files' default); None if the name belongs to another workflow's study or
    to a plain sweep (its trials have no scores)."""
    import optuna

    from saber.scores import unscored

    try:
        study = optuna.load_study(study_name=name, storage=store.storage)
    except KeyError:
        study = None
    if study is not None:
        attrs = study.user_attrs
        return study if attrs.get("saber_dag_id") in (None, plan["dag_id"]) and not unscored(attrs) else None
    study = optuna.create_study(study_name=name, storage=store.storage, load_if_exists=True,
                                directions=["maximize"] * len(scored))
    objective = scored[0] if len(scored) == 1 else scored
    for key, value in {"saber_method": MANUAL_METHOD, "saber_objective": objective,
                       "saber_created": datetime.now(_UTC).isoformat(timespec="seconds"),
                       "saber_workflow": plan.get("source"), "saber_dag_id": plan["dag_id"]}.items():
        study.set_user_attr(key, value)
    return study


def _params(plan: dict, conf: dict) -> dict[str, Any]:
    """The run's workflow inputs: the conf's values over the workflow's defaults."""
    given = unwire(conf_inputs(conf))
    values = {i["id"]: given.get(i["id"], i.get("default")) for i in plan["inputs"]}
    return json.loads(json.dumps(values, default=str))


def _naive_utc(value: datetime) -> datetime:
    """Optuna stores naive UTC datetimes."""
    return value.astimezone(_UTC).replace(tzinfo=None) if value.tzinfo else value
