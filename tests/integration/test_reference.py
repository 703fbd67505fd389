"""saber's outputs equal cwltool's (the reference runner) on the same workflow and job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from saber_testing import DATA, needs_docker, run_saber

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow]
CWL = DATA / "cwl"


def _normal(value):
    """Compare what a CWL output means, not where it lies."""
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        if value.get("class") in ("File", "Directory"):
            return {k: value.get(k) for k in ("class", "basename", "checksum", "size")}
        return {k: _normal(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("workflow, job", [
    pytest.param("scatter_wf.cwl", "messages: [a, b]\n", id="scatter-valueFrom-files"),
    pytest.param("crossproduct_wf.cwl", "", id="nested-and-flat-crossproduct"),
    pytest.param("scatter_when_wf.cwl", "xs: [1, 2, 3, 5]\n", id="scatter-when-pickValue"),
    pytest.param("features_wf.cwl", "n: 3\nflag: false\n", id="valueFrom-default-pickValue-linkMerge"),
    pytest.param("sub_echo_wf.cwl", "", id="subworkflow-files-linkMerge"),
    pytest.param("when_sub_wf.cwl", "flag: false\n", id="conditional-subworkflow-skipped"),
    pytest.param("when_sub_wf.cwl", "flag: true\n", id="conditional-subworkflow-runs"),
    pytest.param("scatter_sub_wf.cwl", "", id="scattered-subworkflow-when-valueFrom"),
    pytest.param("scatter_sub_wf.cwl", "starts: []\n", id="scattered-subworkflow-empty"),
    pytest.param("scatter_nested_wf.cwl", "", id="scatter-inside-scattered-subworkflow"),
])
def test_same_outputs_as_cwltool(saber_home, tmp_path, workflow, job):
    job_file = tmp_path / "job.yml"
    job_file.write_text(job or "{}\n")
    ref = subprocess.run([sys.executable, "-m", "cwltool", "--quiet", "--outdir", str(tmp_path / "ref"),
                          str(CWL / workflow), str(job_file)], capture_output=True, text=True, timeout=600)
    assert ref.returncode == 0, ref.stderr[-2000:]
    expected = json.loads(ref.stdout)
    result = run_saber("run", str(CWL / workflow), "--job", str(job_file), "--outdir", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr[-2000:]
    point = json.loads((tmp_path / "o" / "summary.json").read_text())["points"][0]
    assert _normal(point["outputs"]) == _normal(expected)
    for f in Path(tmp_path / "o").rglob("*"):
        assert f.is_dir() or f.name == "summary.json" or str(f).startswith(str(tmp_path / "o" / "point-0000"))


def test_fails_where_cwltool_fails(saber_home, tmp_path):
    """A JavaScript valueFrom without InlineJavascriptRequirement is an error for both."""
    ref = subprocess.run([sys.executable, "-m", "cwltool", "--quiet", "--outdir", str(tmp_path / "ref"),
                          str(CWL / "sub_wf.cwl")], capture_output=True, text=True, timeout=600)
    assert "permanentFail" in ref.stderr
    result = run_saber("run", str(CWL / "sub_wf.cwl"), "--outdir", str(tmp_path / "o"))
    assert result.returncode == 1
    point = json.loads((tmp_path / "o" / "summary.json").read_text())["points"][0]
    assert point["state"] == "failed"
