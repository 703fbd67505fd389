"""`saber tools` on the repository's own registry (CI validates and tests every tool on every
landing) and on a scaffolded tool in a fresh checkout-like folder."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from saber_testing import ROOT, needs_docker, run_saber

from saber.registry import Registry, validate
from saber.registry._sample import run_sample


def test_every_registered_tool_is_valid() -> None:
    assert [str(p) for p in validate(Registry(ROOT), [])] == []


def test_list_json() -> None:
    listed = run_saber("tools", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    tools = {t["name"]: t for t in json.loads(listed.stdout)}
    assert len(tools) >= 12 and tools["neuro/detect_cells"]["image"] == "saber/neuro:0.1.0"
    assert all(t["doc"] and all(p["doc"] for p in t["inputs"] + t["outputs"]) for t in tools.values())


def test_validate_lists_problems_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "cwl_tools" / "g").mkdir(parents=True)
    (tmp_path / "dockerfiles").mkdir()
    (tmp_path / "cwl_tools" / "g" / "t.cwl").write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: echo\ninputs:\n  a: string\noutputs: []\n")
    result = run_saber("tools", "--root", str(tmp_path), "validate")
    assert result.returncode == 2
    text = " ".join(result.stderr.split())
    assert "t.cwl:1: the tool has no doc" in text and "t.cwl:5: input 'a' has no doc" in text
    assert "no DockerRequirement" in text and "1 tool(s): 4 problem(s)" in text


@needs_docker
@pytest.mark.docker
@pytest.mark.slow
def test_every_registered_tool_passes_its_sample_job(tmp_path: Path) -> None:
    registry = Registry(ROOT)
    results = [run_sample(tool, tmp_path / str(i)) for i, tool in enumerate(registry.tools())]
    assert {r.tool: r.problems for r in results if not r.ok} == {}


@needs_docker
@pytest.mark.docker
@pytest.mark.slow
def test_new_tool_passes_validate_build_and_test_unchanged(tmp_path: Path) -> None:
    (tmp_path / "cwl_tools").mkdir()
    (tmp_path / "dockerfiles").mkdir()
    root = ["tools", "--root", str(tmp_path)]
    try:
        for action in (["new", "scaffoldtest/scale"], ["validate"], ["build", "scaffoldtest"],
                       ["test", "scaffoldtest/scale"]):
            result = run_saber(*root, *action)
            assert result.returncode == 0, (action, result.stderr)
        assert "ok  scaffoldtest/scale" in result.stderr and "1 of 1 tool(s) passed" in result.stderr
    finally:
        subprocess.run(["docker", "rmi", "-f", "saber/scaffoldtest:0.1.0"], capture_output=True, check=False)
