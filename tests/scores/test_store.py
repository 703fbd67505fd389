"""The results store on SQLite and PostgreSQL: step scores, study summaries, trial reports."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path

import pytest
from results_testing import ERROR, T0, write_study

from saber.errors import InputError
from saber.scores import ResultsStore, report_json, results_url


def test_scores_round_trip(store: ResultsStore) -> None:
    store.record_score(study="s", trial_number=0, run_id="r0", task_id="evaluate", score=0.75,
                       fields={"precision": 0.5, "label": "a"})
    store.record_score(study="s", trial_number=0, run_id="r0", task_id="count", map_index=3, score=None)
    store.record_score(study="other", trial_number=0, run_id="r9", task_id="evaluate", score=1.0)
    first, second = store.scores("s")
    assert (first.task_id, first.map_index, first.score, first.fields) == ("evaluate", -1, 0.75,
                                                                          {"precision": 0.5, "label": "a"})
    assert (second.label, second.score, second.fields) == ("count[3]", None, {})
    assert first.recorded_at.tzinfo is not None
    assert abs((datetime.now(timezone.utc) - first.recorded_at).total_seconds()) < 60  # noqa: UP017
    assert store.scores("nobody") == []


def test_reopening_keeps_tables_and_rows(db_url: str) -> None:
    with ResultsStore(db_url) as store:
        store.record_score(study="s", trial_number=1, run_id="r", task_id="t", score=2.0)
    with ResultsStore(db_url) as again:  # create_all must not fail or empty the table
        assert [s.score for s in again.scores("s")] == [2.0]


def test_list_studies(store: ResultsStore) -> None:
    write_study(store, "blobs", "maximize")
    write_study(store, "empty", "minimize", trials=False)
    blobs, empty = store.list_studies()
    assert (blobs.name, blobs.direction, blobs.method, blobs.objective) == ("blobs", "maximize", "grid", "evaluate")
    assert blobs.states == {"COMPLETE": 3, "FAIL": 1, "RUNNING": 1, "WAITING": 1}
    assert blobs.n_trials == 6
    assert blobs.best_value == 0.8
    assert blobs.created == T0.isoformat()
    assert (empty.name, empty.direction, empty.states, empty.best_value) == ("empty", "minimize", {}, None)


@pytest.mark.parametrize(("direction", "best", "score"), [
    pytest.param("maximize", 1, 0.8, id="maximize"),
    pytest.param("minimize", 2, 0.3, id="minimize"),
])
def test_best_trial_respects_direction(store: ResultsStore, direction: str, best: int,
                                       score: float) -> None:
    report = store.study_report(write_study(store, direction=direction))
    assert report.direction == direction
    assert (report.best.number, report.best.score) == (best, score)


def test_report_trials(store: ResultsStore) -> None:
    report = store.study_report(write_study(store))
    assert [(t.number, t.state) for t in report.trials] == [
        (0, "COMPLETE"), (1, "COMPLETE"), (2, "COMPLETE"), (3, "FAIL"), (4, "RUNNING"), (5, "WAITING")]
    first, _, third, failed, running, waiting = report.trials
    assert third.params == {"threshold": 0.6, "sigma": 3.0}  # saber_params, not the encoded index
    assert (first.score, first.duration_s, first.container_s, first.run_id) == (0.5, 10.0, 20.0, "saber__blobs__0")
    assert isinstance(first.start, datetime)
    assert first.steps == {"evaluate": 0.5, "count[0]": 0.0, "count[1]": 1.0}
    assert (failed.score, failed.error, failed.steps["evaluate"]) == (None, ERROR, None)
    assert running.params == {"threshold": 0.9, "sigma": 1.5}
    assert running.start is not None and running.duration_s is None
    assert (waiting.params, waiting.start) == ({}, None)
    assert report.param_labels == ["threshold", "sigma"]
    assert (report.method, report.objective, report.dag_id) == ("grid", "evaluate", "blob_count")


def test_report_without_complete_trials(store: ResultsStore) -> None:
    report = store.study_report(write_study(store, trials=False))
    assert (report.trials, report.best) == ([], None)
    assert report_json(report) == {"study": "blobs", "direction": "maximize", "best": None, "trials": []}


def test_later_score_of_a_step_wins(store: ResultsStore) -> None:
    name = write_study(store)
    store.record_score(study=name, trial_number=0, run_id="retry", task_id="count", map_index=1, score=99.0)
    assert store.study_report(name).trials[0].steps["count[1]"] == 99.0


def test_unknown_study_names_the_known_ones(store: ResultsStore) -> None:
    write_study(store, "blobs")
    write_study(store, "cells", trials=False)
    with pytest.raises(InputError, match=r"no study named 'nope' in .*; known studies: blobs, cells") as e:
        store.study_report("nope")
    assert e.value.exit_code == 2


def test_json_has_no_infinite_numbers(store: ResultsStore) -> None:
    import optuna

    name = write_study(store, trials=False)
    optuna.load_study(study_name=name, storage=store.storage).add_trial(
        optuna.trial.create_trial(value=math.inf, params={}, distributions={}))
    assert report_json(store.study_report(name))["trials"][0]["score"] is None


def test_results_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SABER_DB", raising=False)
    monkeypatch.setenv("SABER_HOME", str(tmp_path / "home"))
    assert results_url() == f"sqlite:///{tmp_path / 'home' / 'results.db'}"
    assert (tmp_path / "home").is_dir()
    monkeypatch.setenv("SABER_DB", f"sqlite:///{tmp_path / 'deep' / 'er' / 'r.db'}")
    assert results_url().endswith("/deep/er/r.db") and (tmp_path / "deep" / "er").is_dir()
    monkeypatch.setenv("SABER_DB", "postgresql+psycopg2://u:secret@db.example/saber")
    assert results_url() == "postgresql+psycopg2://u:secret@db.example/saber"


def test_unreachable_database_is_a_saber_error(tmp_path: Path) -> None:
    from saber.errors import SaberError

    with pytest.raises(SaberError, match=r"cannot open the results database postgresql\+psycopg2://u:\*\*\*@"):
        ResultsStore("postgresql+psycopg2://u:secret@127.0.0.1:1/nothing")
