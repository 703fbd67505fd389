"""A step's `score_format` hint in the plan: read from the step or its tool, checked at compile time."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from saber.cwl import build_plan, load_process
from saber.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
CWL = ROOT / "tests" / "data" / "cwl"
INVALID = CWL / "invalid"
SAMPLE = ROOT / "workflows" / "blob_count.cwl"
PlanOf = Callable[[Path], dict]  # the plan_of fixture (tests/unit/conftest.py)
Write = Callable[[str, str], Path]


def compile_(path: Path) -> dict:
    return build_plan(load_process(path), path=path)


def score_formats(plan: dict) -> dict[str, str | None]:
    return {s["task_id"]: s["score_format"] for s in plan["steps"]}


def workflow(hints: str, run: str = str(CWL / "echo.cwl"), namespaces: bool = False) -> str:
    """A one-step workflow whose step `say` carries ``hints`` (YAML lines under `hints:`)."""
    ns = "$namespaces: {saber: https://saber.dev/cwl#}\n" if namespaces else ""
    body = textwrap.indent(textwrap.dedent(hints).strip("\n"), " " * 6)
    return (f"cwlVersion: v1.2\nclass: Workflow\n{ns}inputs:\n  message: string\noutputs: []\n"
            f"steps:\n  say:\n    run: {run}\n    in: {{message: message}}\n    out: [out]\n"
            f"    hints:\n{body}\n")


TOOL = """
cwlVersion: v1.2
class: CommandLineTool
requirements:
  DockerRequirement: {dockerPull: "saber/blobs:0.1.0"}
hints:
  saber: {score_format: "%s"}
baseCommand: echo
inputs:
  message: {type: string, inputBinding: {position: 1}}
outputs:
  out: stdout
"""


def test_sample_scores_its_evaluate_step(plan_of: PlanOf) -> None:
    assert score_formats(plan_of(SAMPLE)) == {
        "make_volume": None, "threshold": None, "label": None, "evaluate": "F1: {score}"}


@pytest.mark.parametrize("task, expected", [
    pytest.param("listform", "F1: {score}", id="list-class-saber:Hints"),
    pytest.param("mapform", "map {score}", id="map-saber:Hints"),
    pytest.param("bare", "bare {score}", id="class-less-saber"),
    pytest.param("keyform", "key {score}", id="namespaced-key"),
    pytest.param("plain", None, id="none"),
])
def test_every_hint_form(plan_of: PlanOf, task: str, expected: str | None) -> None:
    assert score_formats(plan_of(CWL / "resources_wf.cwl"))[task] == expected


@pytest.mark.parametrize("namespaces", [pytest.param(True, id="saber-namespace"),
                                        pytest.param(False, id="no-namespaces")])
def test_class_less_step_hint(write: Write, namespaces: bool) -> None:
    """Without `$namespaces`, cwltool resolves the class `saber` against the file: still read."""
    path = write("wf.cwl", workflow('saber: {score_format: "F1: {score}"}', namespaces=namespaces))
    (step,) = compile_(path)["steps"]
    assert step["score_format"] == "F1: {score}" and step["saber"] == {"score_format": "F1: {score}"}


def test_tool_hint_and_step_hint(write: Write) -> None:
    tool = write("tool.cwl", TOOL % "tool {score}")
    plan = compile_(write("wf.cwl", workflow("[]", run=str(tool))))
    assert score_formats(plan) == {"say": "tool {score}"}
    # As for any requirement, the tool's own hint is the more specific one (CWL 1.2, 3.3).
    both = compile_(write("wf2.cwl", workflow('saber: {score_format: "step {score}"}', run=str(tool))))
    assert score_formats(both) == {"say": "tool {score}"}


def test_tool_given_alone(write: Write) -> None:
    (step,) = compile_(write("tool.cwl", TOOL % "F1: {score}"))["steps"]
    assert step["score_format"] == "F1: {score}"


def test_bad_format_fixture_names_file_line_and_field() -> None:
    path = INVALID / "bad_score_format.cwl"
    with pytest.raises(InputError, match=r"'F1: \{f1\}' has no named field \{score\}") as info:
        compile_(path)
    assert (info.value.where.file, info.value.where.line, info.value.where.field) == (
        str(path), 14, "score_format")
    assert str(info.value).startswith(f"{path}:14: field 'score_format': ")


@pytest.mark.parametrize("hints, line, message", [
    pytest.param('saber: {score_format: "F1: {score:zz}"}', 13, "not a valid format",
                 id="unknown-type-class-less"),
    pytest.param('- class: saber:Hints\n  score_format: "F1"', 14, r"no named field \{score\}",
                 id="list-form-at-its-key"),
    pytest.param('saber:Hints:\n  queue: gpu\n  score_format: "F1: {f1}"', 15,
                 r"no named field \{score\}", id="map-form-at-its-key"),
    pytest.param('ResourceRequirement: {coresMin: 1, saber:score_format: "x"}', 13,
                 r"no named field \{score\}", id="namespaced-key"),
    pytest.param("saber: {score_format: 3}", 13, "must be a string, not int 3", id="not-a-string"),
])
def test_bad_step_hint_line(write: Write, hints: str, line: int, message: str) -> None:
    path = write("wf.cwl", workflow(hints, namespaces=True))
    with pytest.raises(InputError, match=message) as info:
        compile_(path)
    assert (info.value.where.file, info.value.where.line) == (str(path), line)


def test_bad_tool_hint_names_the_tool_file(write: Write) -> None:
    tool = write("tool.cwl", TOOL % "F1: {f1}")
    with pytest.raises(InputError, match=r"no named field \{score\}") as info:
        compile_(write("wf.cwl", workflow("[]", run=str(tool))))
    assert (info.value.where.file, info.value.where.line) == (str(tool), 6)


def test_saber_run_reports_a_bad_format(capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`saber run` stops at compile time with exit code 2 and file:line, before Docker."""
    import saber.backends.embedded._docker
    from saber.cli import main

    def touched(*args, **kwargs) -> None:
        pytest.fail("Docker was checked before the bad score_format was reported")

    monkeypatch.setattr(saber.backends.embedded._docker, "check_docker", touched)
    path = INVALID / "bad_score_format.cwl"
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:14: field 'score_format': 'F1: {{f1}}' has no named field {{score}}" in err
    assert "Traceback" not in err
