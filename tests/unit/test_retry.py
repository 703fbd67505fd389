"""Trying a step again: which failures, how often, and from an emptied folder each time."""

from __future__ import annotations

from pathlib import Path

import pytest
from saber_testing import yaml_writer

from saber.errors import InputError, StepFailed
from saber.execution import RetryPolicy, run_with_retries
from saber.execution._retry import infrastructure_failure


def test_what_counts_as_an_infrastructure_failure() -> None:
    assert infrastructure_failure(StepFailed("s", 137))  # OOM killer, docker kill
    assert infrastructure_failure(StepFailed("s", 143))
    assert infrastructure_failure(StepFailed("s", None, "docker: Cannot connect to the Docker daemon at unix://"))
    assert not infrastructure_failure(StepFailed("s", 1, "Traceback ... ValueError"))
    assert not infrastructure_failure(StepFailed("s", None, "output 'x' not found"))


def _flaky(outdir: Path, failures: list[StepFailed], tries: list[int]):
    def run_once(attempt: int):
        tries.append(attempt)
        assert not outdir.exists() or not any(outdir.iterdir()), "a try started with an earlier try's files"
        outdir.mkdir(parents=True, exist_ok=True)
        (outdir / f"part-{attempt}.txt").write_text("half")
        if failures:
            raise failures.pop(0)
        return "outputs"
    return run_once


def test_a_killed_container_gets_one_more_try_in_an_emptied_folder(tmp_path: Path) -> None:
    tries, said, slept = [], [], []
    result = run_with_retries(_flaky(tmp_path / "out", [StepFailed("s", 137)], tries), RetryPolicy(),
                              tmp_path / "out", said.append, slept.append)
    assert result == "outputs" and tries == [1, 2] and slept == [2.0]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["part-2.txt"]  # one try's outputs
    assert "infrastructure failure (exit code 137); try 2 of 2" in said[0]
    with pytest.raises(StepFailed):  # killed twice: the default is one more try, not two
        run_with_retries(_flaky(tmp_path / "o2", [StepFailed("s", 137)] * 2, []), RetryPolicy(),
                         tmp_path / "o2", said.append, slept.append)


def test_a_tools_own_failure_is_tried_again_only_when_asked(tmp_path: Path) -> None:
    tries: list[int] = []
    with pytest.raises(StepFailed):
        run_with_retries(_flaky(tmp_path / "a", [StepFailed("s", 1)], tries), RetryPolicy(), tmp_path / "a",
                         print, lambda s: None)
    assert tries == [1]
    tries.clear()
    slept: list[float] = []
    assert run_with_retries(_flaky(tmp_path / "b", [StepFailed("s", 1)] * 3, tries), RetryPolicy(3, 30.0),
                            tmp_path / "b", print, slept.append) == "outputs"
    assert tries == [1, 2, 3, 4] and slept == [30.0] * 3
    with pytest.raises(StepFailed):  # retries: 0 turns the default try off too
        run_with_retries(_flaky(tmp_path / "c", [StepFailed("s", 137)], []), RetryPolicy(0), tmp_path / "c",
                         print, lambda s: None)


def test_the_steps_own_policy_wins_over_the_runs() -> None:
    run = {"retries": 2, "retry_delay": 5.0}
    assert RetryPolicy.of({"retry": {"retries": None, "retry_delay": None}}, run) == RetryPolicy(2, 5.0)
    assert RetryPolicy.of({"retry": {"retries": 0, "retry_delay": None}}, run) == RetryPolicy(0, 5.0)
    assert RetryPolicy.of({}, {}) == RetryPolicy(None, None)


def test_sweep_and_hint_settings_are_checked_at_their_line(tmp_path: Path) -> None:
    from saber.cwl import build_plan, load_process
    from saber.sweep import load_sweep

    sweep = load_sweep(yaml_writer(tmp_path, "s.yml")("x: [1]\nsampler: {retries: 2, retry_delay: 1m}\n"))
    assert (sweep.retries, sweep.retry_delay) == (2, 60.0)
    with pytest.raises(InputError, match=r"s\.yml:2: field 'sampler.retries': retries must be an int >= 0"):
        load_sweep(yaml_writer(tmp_path, "s.yml")("x: [1]\nsampler: {retries: -1}\n"))
    with pytest.raises(InputError, match="retry_delay must be a duration"):
        load_sweep(yaml_writer(tmp_path, "s.yml")("x: [1]\nsampler: {retry_delay: soon}\n"))
    tool = """
        cwlVersion: v1.2
        class: CommandLineTool
        $namespaces: {saber: https://saber.dev/cwl#}
        hints:
          saber: {retries: RETRIES, retry_delay: 30s}
        baseCommand: [echo]
        inputs: []
        outputs: []
    """
    path = yaml_writer(tmp_path, "t.cwl")(tool.replace("RETRIES", "3"))
    assert build_plan(load_process(path), path=path)["steps"][0]["retry"] == {"retries": 3, "retry_delay": 30.0}
    path = yaml_writer(tmp_path, "t.cwl")(tool.replace("RETRIES", "many"))
    with pytest.raises(InputError, match="saber hint retries must be an int >= 0, got 'many'"):
        build_plan(load_process(path), path=path)


def test_a_step_whose_run_is_being_stopped_is_not_tried_again(tmp_path: Path) -> None:
    from saber.execution._retry import STOP_MARK, mark_stopped

    run_dir = tmp_path / ".work" / "dag" / "run"
    tries: list[int] = []
    mark_stopped(run_dir)  # what a cancel leaves before it kills the containers
    with pytest.raises(StepFailed):
        run_with_retries(_flaky(tmp_path / "out", [StepFailed("s", 137)], tries), RetryPolicy(3), tmp_path / "out",
                         print, lambda s: None, stopped=lambda: (run_dir / STOP_MARK).exists())
    assert tries == [1]
