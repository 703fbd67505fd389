"""Ctrl-C on `saber run` stops its containers and leaves no run marked running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from saber_testing import DATA, ROOT, needs_docker

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow]


def _sleepers() -> int:
    ps = subprocess.run(["docker", "ps", "--format", "{{.Command}}"], capture_output=True, text=True)
    return ps.stdout.count("sleep 300")


@pytest.mark.parametrize("signum, code, group", [
    pytest.param(signal.SIGINT, 130, True, id="ctrl-c"),  # a terminal's Ctrl-C: the whole group
    pytest.param(signal.SIGTERM, 143, False, id="sigterm"),  # `kill PID`
    pytest.param(signal.SIGHUP, 129, False, id="sighup"),  # the SSH session went away
])
def test_a_stop_kills_containers_and_fails_the_run(saber_home, tmp_path, signum, code, group):
    assert _sleepers() == 0
    sweep_id = f"interrupted-{signal.Signals(signum).name.lower()}"
    proc = subprocess.Popen([sys.executable, "-m", "saber", "run", str(DATA / "cwl" / "sleep.cwl"),
                             "--outdir", str(tmp_path / "o"), "--sweep-id", sweep_id],
                            cwd=ROOT, env=os.environ.copy(), start_new_session=True,
                            # as in a terminal's foreground job: a test run started in the
                            # background by a script (`cmd &`) inherits SIGINT ignored
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while _sleepers() == 0:
        assert proc.poll() is None and time.monotonic() < deadline, "the container never started"
        time.sleep(0.5)
    if group:
        os.killpg(proc.pid, signum)
    else:
        os.kill(proc.pid, signum)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == code, output
    assert "Traceback" not in output
    time.sleep(1)
    assert _sleepers() == 0

    from airflow import settings
    from airflow.models.dagrun import DagRun

    session = settings.Session()
    try:
        run = session.query(DagRun).filter_by(run_id=f"{sweep_id}_p0000").one()
        assert str(run.state) == "failed"
    finally:
        session.close()
