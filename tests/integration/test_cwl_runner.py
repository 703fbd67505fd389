"""`saber-cwl-runner`, the cwltest contract: output object on stdout, files in --outdir, exit
codes 0 / 1 / 2 / 33, and nothing left behind when the runner is killed outright."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from saber_testing import DATA, ROOT, needs_docker

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow]
CWL = DATA / "cwl"
RUNNER = str(Path(sys.executable).with_name("saber-cwl-runner"))


def _run(*args: str, tmp: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([RUNNER, *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          env={**os.environ, "TMPDIR": str(tmp)})


def test_outputs_on_stdout_and_files_in_outdir(saber_home, tmp_path):
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"message": "hello"}))
    result = _run("--quiet", f"--outdir={tmp_path / 'out'}", str(CWL / "echo.cwl"), str(job), tmp=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)  # stdout is the output object and nothing else
    assert out["text"] == "hello x 1"
    produced = out["out"]
    assert produced["basename"] == "out.txt" and produced["size"] == len("hello x 1\n")
    assert produced["checksum"].startswith("sha1$")
    assert Path(produced["path"]).read_text() == "hello x 1\n"
    assert Path(produced["path"]).parent == tmp_path / "out"
    assert not list(tmp_path.glob("saber-cwl-*")), "the run's throw-away home was not removed"


def test_same_as_cwltool_on_a_scattered_subworkflow(saber_home, tmp_path):
    result = _run("--quiet", f"--outdir={tmp_path / 'o'}", str(CWL / "scatter_sub_wf.cwl"), tmp=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout) == {"results": [21, None, 63], "after": 102}


def test_bad_job_fails_with_a_message(saber_home, tmp_path):
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"message": 42}))
    result = _run("--quiet", f"--outdir={tmp_path / 'o'}", str(CWL / "echo.cwl"), str(job), tmp=tmp_path)
    assert result.returncode not in (0, 33)
    assert "message" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_failing_tool_names_the_step(saber_home, tmp_path):
    result = _run("--quiet", f"--outdir={tmp_path / 'o'}", str(CWL / "fail.cwl"), tmp=tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "failed in step(s)" in result.stderr and "Traceback" not in result.stderr


def test_unsupported_is_exit_33(saber_home, tmp_path):
    result = _run("--quiet", f"--outdir={tmp_path / 'o'}", str(CWL / "invalid" / "nested_scattered_sub.cwl"),
                  tmp=tmp_path)
    assert result.returncode == 33
    assert "a scattered subworkflow inside a scattered subworkflow" in result.stderr


def _sleepers(seconds: int) -> list[str]:
    ps = subprocess.run(["docker", "ps", "--no-trunc", "--format", "{{.ID}} {{.Command}}"],
                        capture_output=True, text=True)
    return [line.split()[0] for line in ps.stdout.splitlines() if f"sleep {seconds}" in line]


def test_killed_runner_leaves_no_container_and_no_home(saber_home, tmp_path):
    """cwltest kills a test that runs past its time limit with SIGKILL: the reaper cleans up."""
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"seconds": 301}))
    proc = subprocess.Popen([RUNNER, "--quiet", f"--outdir={tmp_path / 'o'}", str(CWL / "sleep.cwl"), str(job)],
                            cwd=ROOT, env={**os.environ, "TMPDIR": str(tmp_path)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not _sleepers(301):
        assert proc.poll() is None and time.monotonic() < deadline, "the container never started"
        time.sleep(0.5)
    proc.kill()
    proc.wait(timeout=10)
    deadline = time.monotonic() + 60
    while (_sleepers(301) or list(tmp_path.glob("saber-cwl-*"))) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _sleepers(301) == [], "the tool's container is still running"
    assert not list(tmp_path.glob("saber-cwl-*")), "the run's throw-away home is still there"
