"""Ctrl-C on `saber run` stops its containers and leaves no run marked running."""

from __future__ import annotations

import os
import signal
import time

from pathlib import Path

import pytest
from saber_testing import DATA, needs_docker, saber_sleeping, sleepers

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow]


@pytest.mark.parametrize("signum, code, group", [
    pytest.param(signal.SIGINT, 130, True, id="ctrl-c"),  # a terminal's Ctrl-C: the whole group
    pytest.param(signal.SIGTERM, 143, False, id="sigterm"),  # `kill PID`
    pytest.param(signal.SIGHUP, 129, False, id="sighup"),  # the SSH session went away
])
def test_a_stop_kills_containers_and_fails_the_run(saber_home, tmp_path, signum, code, group):
    sweep_id = f"interrupted-{signal.Signals(signum).name.lower()}"
    proc = saber_sleeping("--outdir", str(tmp_path / "o"), "--sweep-id", sweep_id)
    if group:
        os.killpg(proc.pid, signum)
    else:
        os.kill(proc.pid, signum)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == code, output
    assert "Traceback" not in output
    time.sleep(1)
    assert sleepers() == 0
    # No worker or task process of the stopped run is left holding the databases.
    assert not [p for p in Path("/proc").glob("[0-9]*") if _runs_sleep(p)]

    from airflow import settings
    from airflow.models.dagrun import DagRun

    session = settings.Session()
    try:
        run = session.query(DagRun).filter_by(run_id=f"{sweep_id}_p0000").one()
        assert str(run.state) == "failed"
    finally:
        session.close()


def _runs_sleep(proc: Path) -> bool:
    try:
        cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        state = (proc / "stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return str(DATA / "cwl" / "sleep.cwl") in cmdline and state != "Z"
