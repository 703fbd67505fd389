"""One job file, one command line: what `saber run` and `saber cwl-runner` give a tool is what
cwltool gives it (an int for a float input stays `1`, a float keeps its written form)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from saber_testing import yaml_writer

from saber.cwl import build_plan, load_process
from saber.cwl._job import cwl_job_order
from saber.execution import run_tool
from saber.plan import CONF_KEY, conf_inputs
from saber.runs import RunSpec, prepare_points

# No DockerRequirement: every runner runs echo on this machine.
TOOL = """
    cwlVersion: v1.2
    class: CommandLineTool
    baseCommand: echo
    inputs:
      x: {type: float, inputBinding: {position: 1}}
      y: {type: double, inputBinding: {position: 2}}
      z: {type: "float?", inputBinding: {position: 3}}
      w: {type: "float[]", inputBinding: {position: 4}}
    stdout: out.txt
    outputs:
      out: stdout
"""
JOB = "x: 1\ny: 2.50\nz: 1e-5\nw: [3, 0.5]\n"


@pytest.fixture
def tool_and_job(tmp_path: Path) -> tuple[Path, Path]:
    return yaml_writer(tmp_path, "tool.cwl")(TOOL), yaml_writer(tmp_path, "job.yml")(JOB)


def cwltool_line(tool: Path, job: Path, outdir: Path) -> str:
    subprocess.run([sys.executable, "-m", "cwltool", "--quiet", "--no-container", "--outdir", str(outdir),
                    str(tool), str(job)], check=True, capture_output=True)
    return (outdir / "out.txt").read_text()


def saber_run_line(tool: Path, job: Path, workdir: Path) -> str:
    """The conf `saber run` sends, through Airflow's JSON, to the step operator's run_tool."""
    plan = build_plan(load_process(tool), path=tool)
    [(_, request)] = list(prepare_points(plan, RunSpec(workflow=tool, job=job), "s"))
    conf = json.loads(json.dumps(request.conf))
    floats = {**plan.get("floats", {}), **conf[CONF_KEY].get("floats", {})}  # as the operator merges them
    run = run_tool(plan["steps"][0], conf_inputs(conf), floats=floats, outdir=workdir / "out",
                   workdir=workdir / "work")
    return _text(run.outputs)


def cwl_runner_line(tool: Path, job: Path, workdir: Path) -> str:
    process = load_process(tool)
    plan = build_plan(process, path=tool)
    inputs, floats = cwl_job_order(process, str(job))
    run = run_tool(plan["steps"][0], json.loads(json.dumps(inputs)), floats=floats,
                   outdir=workdir / "out", workdir=workdir / "work")
    return _text(run.outputs)


def _text(outputs: dict) -> str:
    return Path(outputs["out"]["location"].removeprefix("file://")).read_text()


def test_every_entry_point_gives_cwltools_command_line(tool_and_job: tuple[Path, Path], tmp_path: Path) -> None:
    tool, job = tool_and_job
    expected = cwltool_line(tool, job, tmp_path / "cwltool")
    assert expected == "1 2.50 0.00001 3 0.5\n"
    assert saber_run_line(tool, job, tmp_path / "run") == expected
    assert cwl_runner_line(tool, job, tmp_path / "cwl-runner") == expected
