"""saber in a pipeline: a reader that stops early (`saber results --format csv | head -1`) ends
saber quietly: exit status 1 (as rich and Python's own advice have it), no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from results_testing import write_study
from saber_testing import ROOT

from saber.scores import ResultsStore


@pytest.fixture
def results_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'results.db'}"
    with ResultsStore(url) as store:
        write_study(store, "blobs")
    return url


@pytest.mark.parametrize(("argv", "code"), [
    pytest.param(["results", "--format", "csv", "blobs"], 1, id="results-csv"),
    pytest.param(["results", "--format", "json", "blobs"], 1, id="results-json"),
    pytest.param(["results", "blobs"], 1, id="results-table"),
    pytest.param(["results"], 1, id="studies"),
    pytest.param(["--help"], 0, id="help"),  # argparse ignores a failed write of its help
])
def test_a_reader_that_stops_early_ends_saber_quietly(results_db: str, tmp_path: Path, argv: list[str],
                                                      code: int) -> None:
    env = {**os.environ, "SABER_DB": results_db, "SABER_HOME": str(tmp_path / "home")}
    # the reader is gone before saber writes a byte: every write fails with EPIPE
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "saber", *argv], stdout=write, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=ROOT, timeout=120)
    finally:
        os.close(write)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def test_the_first_line_through_head(results_db: str, tmp_path: Path) -> None:
    env = {**os.environ, "SABER_DB": results_db, "SABER_HOME": str(tmp_path / "home")}
    done = subprocess.run(f"{sys.executable} -m saber results --format csv blobs | head -1", shell=True,
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0 and done.stdout.count("\n") == 1, done
    assert "number" in done.stdout and "Traceback" not in done.stderr, done.stderr
