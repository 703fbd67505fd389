"""GPU steps on real Airflow runs and real containers, with a fake nvidia-smi and a docker shim
(tests/gpu_testing.py): each step gets its own devices, even across two `saber run`s at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from gpu_testing import fake_gpus
from saber_testing import DATA, ROOT, needs_docker, run_saber

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow]
CWL = DATA / "cwl"


def test_two_runs_at_once_never_share_a_gpu(saber_home, tmp_path):
    """Two `saber run`s of two one-GPU steps each, at once, on a machine with two GPUs: four
    containers, each asked for one pinned device, and on each device one at a time."""
    gpus = fake_gpus(tmp_path, 2)
    env = {**os.environ, **gpus.env(os.environ["PATH"])}
    env.pop("SABER_GPUS", None)
    runs = [subprocess.Popen([sys.executable, "-m", "saber", "run", str(CWL / "gpu_pair.cwl"), "--workers", "2",
                              "--outdir", str(tmp_path / name), "--no-cache"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    for proc in runs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    done = gpus.runs()
    assert len(done) == 4 and {g for _, _, g, _ in done} == {'"device=0"', '"device=1"'}, done
    for device in ('"device=0"', '"device=1"'):
        spans = [(start, end) for start, end, g, _ in done if g == device]
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), (device, done)
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["points"][0]["state"] == "success"


def test_a_gpu_step_on_a_machine_without_one_is_refused_before_any_run(saber_home, tmp_path):
    result = run_saber("run", str(CWL / "gpu_required.cwl"), "--outdir", str(tmp_path / "o"),
                       env={"SABER_GPUS": ""})
    assert result.returncode == 2, result.stderr
    assert "gpu_required.cwl:6: field 'cwltool:CUDARequirement': step 'gpu_required' needs 2 GPU(s)" in result.stderr
    assert "this machine has none ($SABER_GPUS lists none)" in result.stderr
    assert not (tmp_path / "o" / "summary.json").exists()
