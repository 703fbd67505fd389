"""`saber cancel`: a live driver is stopped, what a dead one left is cleaned up, another
host's is refused; real lease rows, real processes, a real results database (runs and
containers: tests/integration/test_operations.py)."""

from __future__ import annotations

import os
import signal

import pytest
from operations_testing import HOST, dead_pid, plant_lease, plant_study, trial_states

from saber.cli import main
from saber.errors import InputError
from saber.runs import cancel, flights
from saber.runs._cancel import CANCELLED


def test_a_live_driver_stops_on_sigterm_and_gives_its_lease_back(home, driver) -> None:
    proc = driver("tune")
    steps = []
    done = cancel("tune", home=home, on_step=steps.append)
    assert proc.wait(timeout=10) == 143
    assert (done.driver.pid, done.stopped, done.killed, done.lease_dropped) == (proc.pid, True, False, False)
    assert done.waited_s < 10 and steps == [f"asked pid {proc.pid} to stop (SIGTERM); waiting up to 60 s for "
                                             "it to clean up"]
    assert flights(home=home) == []


def test_a_driver_that_ignores_sigterm_is_killed_and_its_lease_dropped(home, driver) -> None:
    proc = driver("tune", stubborn=True)
    done = cancel("tune", home=home, timeout=1)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    assert (done.driver.pid, done.stopped, done.killed, done.lease_dropped) == (proc.pid, True, True, True)
    assert flights(home=home) == []


def test_what_a_dead_driver_left_is_cleaned_up(home) -> None:
    plant_study(home, "tune", complete=1, running=2)
    plant_lease(home, "tune", f"{HOST}:{dead_pid()}:12345")
    done = cancel("tune", home=home)
    assert (done.stopped, done.trials, done.lease_dropped, done.runs) == (False, [1, 2], True, [])
    assert trial_states(home, "tune") == ["COMPLETE", "FAIL", "FAIL"]
    assert flights(home=home) == []
    from saber.scores import ResultsStore, results_url

    with ResultsStore(results_url(home)) as store:
        [report] = [t for t in store.study_report("tune").trials if t.number == 1]
        assert report.error == CANCELLED


def test_running_trials_without_a_lease_are_failed(home, capsys) -> None:
    plant_study(home, "tune", running=1)
    assert main(["cancel", "tune"]) == 0
    out = capsys.readouterr().out
    assert out == "tune: no saber run drove it: cleaned up what was left\n" \
                  "runs failed: none; containers killed: 0; trials failed: 1\n"
    assert trial_states(home, "tune") == ["COMPLETE", "FAIL"]


def test_a_live_driver_on_another_host_is_refused(home) -> None:
    plant_study(home, "tune", running=1)
    plant_lease(home, "tune", "elsewhere:42:999", age_s=1)
    with pytest.raises(InputError, match=r"^'tune' is driven by pid 42 on host elsewhere, not on this one "
                                         r"\(.*\): run `saber cancel tune` on elsewhere$"):
        cancel("tune", home=home)
    assert trial_states(home, "tune") == ["COMPLETE", "RUNNING"]  # untouched
    assert main(["cancel", "tune"]) == 2


def test_a_dead_driver_on_a_deployment_is_settled_here_but_its_runs_are_not(home, capsys) -> None:
    plant_study(home, "tune", running=1)
    plant_lease(home, "tune", f"{HOST}:{dead_pid()}:1",
                command="saber run wf.cwl --airflow http://airflow:8080 --study tune")
    assert main(["cancel", "tune"]) == 0
    out = capsys.readouterr().out
    assert "trials failed: 1" in out and "removed the lease its dead driver left on tune" in out
    assert "its DAG runs live on the Airflow deployment at http://airflow:8080: saber cancel does not stop" in out


def test_nothing_to_cancel(home, capsys) -> None:
    plant_study(home, "tune", running=0)
    assert cancel("tune", home=home).nothing
    assert main(["cancel", "tune"]) == 0
    assert capsys.readouterr().out == "nothing running under tune\n"
    assert main(["cancel", "nope"]) == 2
    assert "no study or sweep named 'nope'" in capsys.readouterr().err


def test_a_process_of_another_user_is_refused(home, monkeypatch) -> None:
    plant_lease(home, "tune", f"{HOST}:{os.getpid()}:1")
    monkeypatch.setattr("saber.scores._lease.LeaseHolder.alive", property(lambda self: True))

    def kill(pid, signum):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "kill", kill)
    with pytest.raises(InputError, match=r"pid \d+, which drives 'tune', belongs to another user"):
        cancel("tune", home=home)
