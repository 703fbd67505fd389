"""A DAG run triggered by hand becomes a trial of its study (saber.runs._manual)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import optuna
import pytest

from saber.backends import RunOutcome, StepRecord
from saber.plan import check_conf, conf_inputs
from saber.runs._manual import HandRun, hand_made, record_hand_run, study_name
from saber.scores import PLAIN_SWEEP, ResultsStore

START = datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc)  # noqa: UP017

PLAN = {"dag_id": "quadratic", "source": "/w/quadratic.cwl",
        "inputs": [{"id": "x", "type": "float", "default": 0.0}, {"id": "label", "type": "string", "default": "a"}],
        "steps": [{"task_id": "prepare"}, {"task_id": "evaluate", "score_format": "score: {score:f}"}]}


def outcome(run_id: str, state: str = "success", score: float | None = 0.75, error: str | None = None) -> RunOutcome:
    steps = [StepRecord(task_id="prepare", map_index=-1, state="success", container_s=1.0)]
    if state == "success":
        steps.append(StepRecord(task_id="evaluate", map_index=-1, state="success", scored=True, score=score,
                                score_fields={"score": score}, container_s=2.0))
    return RunOutcome(run_id=run_id, state=state, wall_s=9.0, steps=steps, error=error)


def hand_run(run_id: str, conf: dict, **kw) -> HandRun:
    return HandRun(plan=PLAN, run_id=run_id, conf=conf, outcome=outcome(run_id, **kw),
                   start=START, end=START + timedelta(seconds=9))


def test_only_runs_without_a_sweep_id_are_hand_made() -> None:
    assert hand_made({"x": 1.0})
    assert hand_made(None)
    assert hand_made({"__saber": {"study": "s"}})
    assert not hand_made({"x": 1.0, "__saber": {"sweep_id": "abc", "trial": 3}})
    assert study_name("quadratic", {"x": 1}) == "quadratic-manual"
    assert study_name("quadratic", {"saber_study": "mine"}) == "mine"
    assert study_name("quadratic", {"saber_study": "  "}) == "quadratic-manual"


def test_the_study_key_is_no_input_and_no_typo() -> None:
    conf = {"x": 2.0, "saber_study": "mine"}
    check_conf(conf, {**PLAN, "name": "quadratic"})  # no "not an input" error
    assert conf_inputs(conf) == {"x": 2.0}


def test_a_scored_hand_run_is_a_complete_trial(store: ResultsStore) -> None:
    assert record_hand_run(store, hand_run("manual__1", {"x": 2.5})) == ("quadratic-manual", 0)
    assert record_hand_run(store, hand_run("manual__2", {"x": -1.0, "label": "b"}, score=0.25)) == ("quadratic-manual", 1)

    report = store.study_report("quadratic-manual")
    assert report.best.number == 0 and report.best.score == 0.75
    first = report.trials[0]
    assert first.params == {"x": 2.5, "label": "a"}  # the conf's values over the defaults
    assert first.run_id == "manual__1" and first.state == "COMPLETE"
    assert first.duration_s == pytest.approx(9.0) and first.container_s == pytest.approx(3.0)
    assert first.steps == {"evaluate": 0.75}
    row = next(r for r in store.list_studies() if r.name == "quadratic-manual")
    assert row.kind == "manual" and row.dag_id == "quadratic" and row.workflow == "/w/quadratic.cwl"


def test_a_run_is_recorded_once(store: ResultsStore) -> None:
    assert record_hand_run(store, hand_run("manual__1", {"x": 2.5})) is not None
    assert record_hand_run(store, hand_run("manual__1", {"x": 2.5})) is None  # cleared and run again
    assert len(store.study_report("quadratic-manual").trials) == 1


def test_a_failed_hand_run_is_a_failed_trial_saying_why(store: ResultsStore) -> None:
    record_hand_run(store, hand_run("manual__1", {"x": 1.0}, state="failed", error="step evaluate failed: boom"))
    trial = store.study_report("quadratic-manual").trials[0]
    assert trial.state == "FAIL" and trial.error == "step evaluate failed: boom"


def test_no_line_matched_is_a_failed_trial(store: ResultsStore) -> None:
    record_hand_run(store, hand_run("manual__1", {"x": 1.0}, score=None))
    trial = store.study_report("quadratic-manual").trials[0]
    assert trial.state == "FAIL" and "score_format" in trial.error


def test_a_named_study_of_the_same_dag_gets_the_trial(store: ResultsStore) -> None:
    study = optuna.create_study(study_name="tuned", storage=store.storage, direction="minimize")
    study.set_user_attr("saber_dag_id", "quadratic")
    study.set_user_attr("saber_objective", "evaluate")
    study.set_user_attr("saber_method", "tpe")
    assert record_hand_run(store, hand_run("manual__1", {"x": 3.0, "saber_study": "tuned"})) == ("tuned", 0)
    report = store.study_report("tuned")
    assert report.direction == "minimize" and report.trials[0].score == 0.75


def test_a_study_of_another_workflow_is_left_alone(store: ResultsStore) -> None:
    other = optuna.create_study(study_name="theirs", storage=store.storage, direction="maximize")
    other.set_user_attr("saber_dag_id", "segment")
    assert record_hand_run(store, hand_run("manual__1", {"saber_study": "theirs"})) is None
    assert store.study_report("theirs").trials == []


def test_a_plain_sweep_is_left_alone(store: ResultsStore) -> None:
    plain = optuna.create_study(study_name="points", storage=store.storage)
    plain.set_user_attr("saber_dag_id", "quadratic")
    plain.set_user_attr(*PLAIN_SWEEP)
    assert record_hand_run(store, hand_run("manual__1", {"saber_study": "points"})) is None


def test_an_unscored_workflow_records_nothing(store: ResultsStore) -> None:
    plan = {**PLAN, "steps": [{"task_id": "prepare"}]}
    run = HandRun(plan=plan, run_id="manual__1", conf={}, outcome=outcome("manual__1"), start=START, end=START)
    assert record_hand_run(store, run) is None
    assert store.list_studies() == []
