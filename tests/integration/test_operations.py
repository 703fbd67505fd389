"""`saber status` and `saber cancel` on real runs: a live `saber run` is shown alive and
stopped on request; one killed outright together with its reaper (so nothing cleaned up after
it) is shown dead, and cancel fails its run and kills its container."""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from pathlib import Path

import pytest
from saber_testing import needs_docker, run_saber, saber_sleeping, sleepers

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow]


def _run_state(run_id: str) -> str:
    from airflow import settings
    from airflow.models.dagrun import DagRun

    session = settings.Session()
    try:
        return str(session.query(DagRun).filter_by(run_id=run_id).one().state)
    finally:
        session.close()


def _status(name: str) -> dict:
    shown = run_saber("status", name, "--format", "json", timeout=120)
    assert shown.returncode == 0, shown.stderr
    [flight] = json.loads(shown.stdout)["flights"]
    return flight


def _reaper_of(pid: int) -> int:
    """The watchdog `saber run` started beside itself (its cmdline names the runner's pid)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "saber.backends.embedded._reaper" in args and str(pid) in args:
            return int(entry.name)
    raise AssertionError(f"no reaper process watches pid {pid}")


def test_status_shows_a_live_sweep_and_cancel_stops_it(saber_home, tmp_path):
    name = f"ops-live-{secrets.token_hex(3)}"  # a name run before would be resumed
    proc = saber_sleeping("--outdir", str(tmp_path / "o"), "--study", name)
    try:
        flight = _status(name)
        assert (flight["kind"], flight["alive"], flight["state"], flight["running"]) == ("sweep", True, "alive", 1)
        assert flight["driver"]["pid"] == proc.pid and "sleep.cwl" in flight["driver"]["command"]
        assert flight["dag_id"] and flight["age_s"] >= 0
        listed = run_saber("status", timeout=120)
        assert listed.returncode == 0 and name in listed.stdout and f"pid {proc.pid}" in listed.stdout
        cancelled = run_saber("cancel", name, timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        output, _ = proc.communicate(timeout=60)
    assert cancelled.returncode == 0, cancelled.stderr
    assert proc.returncode == 143, output
    assert f"{name}: its saber run (pid {proc.pid}) stopped after" in cancelled.stdout
    assert f"runs failed: {name}_p0000; containers killed: 1; trials failed: none" in cancelled.stdout
    assert sleepers() == 0
    assert _run_state(f"{name}_p0000") == "failed"
    assert _status(name)["state"] == "not running"


def test_cancel_cleans_up_after_a_driver_killed_with_its_reaper(saber_home, tmp_path):
    name = f"ops-dead-{secrets.token_hex(3)}"
    proc = saber_sleeping("--outdir", str(tmp_path / "o"), "--study", name)
    reaper = _reaper_of(proc.pid)
    os.kill(reaper, signal.SIGKILL)  # first: it would clean up after the runner
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    time.sleep(2)  # the runner's workers die with it; its container does not
    flight = _status(name)
    try:
        assert sleepers() == 1 and _run_state(f"{name}_p0000") == "running"
        assert not flight["alive"] and flight["driver"]["pid"] == proc.pid and flight["running"] == 1
        assert flight["state"].startswith("dead: resume with `saber run ") and f"saber cancel {name}" in flight["state"]
        cancelled = run_saber("cancel", name, timeout=120)
        assert cancelled.returncode == 0, cancelled.stderr
        assert f"{name}: its saber run (pid {proc.pid} on " in cancelled.stdout
        assert ") was dead: cleaned up what it left" in cancelled.stdout
        assert f"runs failed: {name}_p0000; containers killed: 1; trials failed: none" in cancelled.stdout
        assert f"removed the lease its dead driver left on {name}" in cancelled.stdout
        assert sleepers() == 0
        assert _run_state(f"{name}_p0000") == "failed"
        assert _status(name)["state"] == "not running"
        again = run_saber("cancel", name, timeout=120)
        assert again.returncode == 0 and again.stdout == f"nothing running under {name}\n"
    finally:  # this run's container only: other tests' may be running
        from saber.backends.embedded._runner import kill_containers

        kill_containers(flight["dag_id"], [f"{name}_p0000"])
