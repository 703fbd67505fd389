"""The path for a lab that already has Docker: `pip install .` into a clean virtualenv (no
setup.sh, no root), `saber tools build --all`, then the sample job. It installs saber from this
checkout as a regular (not editable) package, so what the wheel lacks shows up here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from saber_testing import ROOT, needs_docker

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1500)]


def _run(*args: str | Path, env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return done


def test_pip_install_then_build_then_the_sample_job(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # the base interpreter, not the test venv's: nothing of the test environment is visible
    base = getattr(sys, "_base_executable", None) or "python3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SABER_", "AIRFLOW", "VIRTUAL_ENV", "PYTHON"))}
    env["SABER_HOME"] = str(tmp_path / "home")
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=120)
    _run(venv / "bin" / "pip", "install", "-q", ROOT, env=env, cwd=tmp_path, timeout=1200)
    saber = venv / "bin" / "saber"
    where = _run(venv / "bin" / "python", "-c", "import saber; print(saber.__file__)", env=env, cwd=tmp_path,
                 timeout=60).stdout
    assert where.startswith(str(venv)), where  # the installed package, not the checkout
    # the images, from the checkout's dockerfiles/ (present and current after setup: no rebuild)
    built = _run(saber, "tools", "build", "--all", env=env, cwd=ROOT, timeout=1200)
    assert "saber/blobs:" in built.stderr, built.stderr
    doctor = _run(saber, "doctor", env=env, cwd=ROOT, timeout=120)
    assert "FAIL" not in doctor.stdout, doctor.stdout
    out = tmp_path / "out"
    _run(saber, "run", ROOT / "workflows" / "blob_count.cwl", "--job", ROOT / "workflows" / "blob_count.job.yml",
         "--outdir", out, env=env, cwd=tmp_path, timeout=600)
    [point] = json.loads((out / "summary.json").read_text())["points"]
    assert point["state"] == "success" and point["outputs"]["best_f1"] > 0.5, point
    assert Path(point["outputs"]["report"]["path"]).is_file()
