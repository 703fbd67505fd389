"""A scored step for real: `saber run` in Docker, then its score and container time in XCom."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from saber_testing import DATA, HOME, needs_docker, run_saber

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow]

# stderr first, then stdout: the last matching line is stdout's "F1: 0.75".
SCRIPT = "echo 'F1: 0.1' >&2; sleep 0.2; echo 'loss 0.5'; echo 'F1: 0.25'; echo 'F1: 0.75'"


def scored_tool(folder: Path, score_format: str) -> Path:
    path = folder / "scored.cwl"
    path.write_text(textwrap.dedent(f"""\
        cwlVersion: v1.2
        class: CommandLineTool
        doc: Prints a loss and two F1 lines.
        requirements:
          DockerRequirement: {{dockerPull: "saber/blobs:0.1.0"}}
        hints:
          saber: {{score_format: "{score_format}"}}
        baseCommand: [sh, -c, "{SCRIPT}"]
        inputs: []
        outputs: []
        """))
    return path


def run_one(tool: Path, outdir: Path) -> tuple[str, str]:
    """Run the tool alone; its DAG run and its task succeed whether or not a line matched (a
    trial without a score fails later, in the optimizer loop)."""
    result = run_saber("run", str(tool), "--outdir", str(outdir))
    summary = json.loads((outdir / "summary.json").read_text())
    (point,) = summary["points"]
    assert point["state"] == "success", result.stderr
    assert task_state(summary["dag_id"], point["dag_run_id"], "scored") == "success"
    return summary["dag_id"], point["dag_run_id"]


def task_state(dag_id: str, run_id: str, task_id: str) -> str:
    from airflow import settings
    from airflow.models.taskinstance import TaskInstance

    session = settings.Session()
    try:
        return str(session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id, task_id=task_id).one().state)
    finally:
        session.close()


def xcoms(dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
    from airflow import settings
    from airflow.models.xcom import XComModel

    session = settings.Session()
    try:
        rows = session.query(XComModel).filter_by(dag_id=dag_id, run_id=run_id, task_id=task_id).all()
        return {row.key: XComModel.deserialize_value(row) for row in rows}
    finally:
        session.close()


def task_log(dag_id: str, run_id: str, task_id: str) -> str:
    folder = HOME.airflow_home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    return (folder / "attempt=1.log").read_text()


def test_score_and_container_time_reach_xcom(saber_home, tmp_path: Path) -> None:
    dag_id, run_id = run_one(scored_tool(tmp_path, "F1: {score}"), tmp_path / "o")
    pushed = xcoms(dag_id, run_id, "scored")
    assert pushed["score"] == 0.75 and pushed["score_fields"] == {}
    assert pushed["container_s"] > 0
    assert "score: 0.75 (stdout line: 'F1: 0.75')" in task_log(dag_id, run_id, "scored")


def test_no_matching_line_still_succeeds_without_score(saber_home, tmp_path: Path) -> None:
    dag_id, run_id = run_one(scored_tool(tmp_path, "accuracy {score}"), tmp_path / "o")
    pushed = xcoms(dag_id, run_id, "scored")
    assert pushed["score"] is None and pushed["container_s"] > 0
    assert ("score_format 'accuracy {score}' matched no line of stdout or stderr of step 'scored'; "
            "this trial has no score") in task_log(dag_id, run_id, "scored")


def test_run_tool_lines_include_a_captured_stdout(tmp_path: Path) -> None:
    """echo.cwl sends its stdout to out.txt (`stdout:`): its lines still count, after stderr's."""
    from saber.cwl import build_plan, load_process
    from saber.execution import run_tool

    path = DATA / "cwl" / "echo.cwl"
    (step,) = build_plan(load_process(path), path=path)["steps"]
    run = run_tool(step, {"message": "F1: 0.5"}, outdir=tmp_path / "out", workdir=tmp_path / "work")
    assert run.lines[-1] == ("stdout", "F1: 0.5 x 1")
    assert run.outputs["text"] == "F1: 0.5 x 1"  # the file itself still becomes the output
    assert run.container_s > 0
