"""What a scored step pushes to XCom: its score, its fields and its container time."""

from __future__ import annotations

import logging

import pytest

from saber.airflow import CwlStepOperator
from saber.execution import ToolRun


class FakeTI:
    """The part of a task instance the operator pushes to."""

    def __init__(self) -> None:
        self.pushed: dict[str, object] = {}

    def xcom_push(self, *, key: str, value: object) -> None:
        self.pushed[key] = value


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The operators' log lines, at INFO (Airflow's own task logger writes elsewhere)."""
    logger = logging.getLogger("saber.test.step")
    monkeypatch.setattr(CwlStepOperator, "log", property(lambda self: logger))
    caplog.set_level(logging.INFO, logger=logger.name)
    return caplog


def operator(score_format: str | None) -> CwlStepOperator:
    return CwlStepOperator(task_id="evaluate", step={"task_id": "evaluate", "score_format": score_format},
                           plan={})


def tool_run(*lines: str, seconds: float = 1.5) -> ToolRun:
    return ToolRun(outputs={}, stdout="", stderr="", lines=[("stdout", line) for line in lines],
                   container_s=seconds)


def test_score_fields_and_container_time(logged: pytest.LogCaptureFixture) -> None:
    ti = FakeTI()
    operator("epoch {epoch:d} F1: {score}")._push_run(ti, tool_run("epoch 1 F1: 0.5", "epoch 2 F1: 0.7"))
    assert ti.pushed == {"container_s": 1.5, "score": 0.7, "score_fields": {"epoch": 2}}
    assert "score: 0.7 (stdout line: 'epoch 2 F1: 0.7')" in logged.text


def test_no_match_pushes_none_and_warns(logged: pytest.LogCaptureFixture) -> None:
    ti = FakeTI()
    operator("F1: {score}")._push_run(ti, tool_run("loss 0.5"))
    assert ti.pushed == {"container_s": 1.5, "score": None, "score_fields": {}}
    assert ("score_format 'F1: {score}' matched no line of stdout or stderr of step 'evaluate'; "
            "this trial has no score") in logged.text


def test_unscored_step_pushes_only_container_time() -> None:
    ti = FakeTI()
    operator(None)._push_run(ti, tool_run("F1: 0.5"))
    assert ti.pushed == {"container_s": 1.5}


@pytest.mark.parametrize("runs, score", [
    pytest.param({0: ["F1: 0.25"], 1: ["F1: 0.75"]}, 0.5, id="mean"),
    pytest.param({0: ["F1: 0.25"], 2: ["F1: 0.75"]}, 0.5, id="job-skipped-by-when"),
    pytest.param({0: ["F1: 0.25"], 1: ["nothing"]}, None, id="a-job-without-score"),
])
def test_inline_scatter_mean(logged: pytest.LogCaptureFixture, runs: dict, score: float | None) -> None:
    ti = FakeTI()
    operator("F1: {score}")._push_mean_score(ti, {j: tool_run(*lines) for j, lines in runs.items()})
    assert ti.pushed["score"] == score
    jobs = [0.25 if "F1: 0.25" in lines else 0.75 if "F1: 0.75" in lines else None for lines in runs.values()]
    assert ti.pushed["score_fields"] == {"job_scores": jobs, "job_fields": [{} if s else None for s in jobs]}
    assert "job 0 score: 0.25 (stdout line: 'F1: 0.25')" in logged.text
