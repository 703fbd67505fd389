"""`saber status`: what is in flight and whether its driver lives, from lease rows and studies
in a real results database (the Airflow side is in tests/integration/test_operations.py)."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import pytest
from operations_testing import HOST, dead_pid, plant_lease, plant_study

from saber.backends.embedded._home_runs import HomeRun, _parse
from saber.cli import main
from saber.errors import InputError
from saber.runs import flights
from saber.runs._status import _point_counts


def test_nothing_in_flight_in_a_new_home(home, capsys) -> None:
    assert flights(home=home) == []
    assert main(["status"]) == 0
    assert "nothing running" in capsys.readouterr().err


def test_a_live_driver_is_alive_with_its_pid(home, driver) -> None:
    proc = driver("tune")
    [flight] = flights(home=home)
    assert (flight.name, flight.kind, flight.alive, flight.state) == ("tune", "sweep", True, "alive")
    assert (flight.holder.pid, flight.holder.host) == (proc.pid, HOST)
    assert (flight.running, flight.done, flight.failed) == (0, 0, 0)  # no DAG run yet
    assert 0 <= flight.age_s() < 60


def test_a_dead_driver_says_how_to_resume_or_cancel(home) -> None:
    plant_study(home, "tune", complete=2, failed=1, running=1)
    plant_lease(home, "tune", f"{HOST}:{dead_pid()}:12345",
                command="/venv/bin/saber run /w/flow.cwl /w/sweep.yml --study tune --workers 2")
    [flight] = flights(home=home)
    assert (flight.kind, flight.dag_id, flight.running, flight.done, flight.failed) == ("study", "flow", 1, 2, 1)
    assert not flight.alive
    assert flight.state == ("dead: resume with `saber run /w/flow.cwl /w/sweep.yml --study tune --workers 2` "
                            "or `saber cancel tune`")


def test_running_trials_without_a_lease_are_in_flight_and_finished_studies_are_not(home) -> None:
    plant_study(home, "left", running=2)
    plant_study(home, "finished", running=0)
    [flight] = flights(home=home)
    assert (flight.name, flight.holder, flight.running) == ("left", None, 2)
    # No lease: the study's own workflow and sweep make the resume command.
    assert flight.state == "dead: resume with `saber run /w/flow.cwl /w/sweep.yml --study left` or `saber cancel left`"
    assert flight.started == datetime(2025, 6, 1, 12, tzinfo=timezone.utc)  # noqa: UP017
    assert [f.name for f in flights(home=home, every=True)] == ["finished", "left"]
    [done] = flights("finished", home=home)
    assert (done.state, done.in_flight, done.done) == ("not running", False, 1)


def test_another_hosts_driver_lives_while_it_beats(home) -> None:
    plant_lease(home, "far", "elsewhere:42:999", age_s=2)
    plant_lease(home, "gone", "elsewhere:43:999", age_s=120, command="/venv/bin/saber run wf.cwl")
    far, gone = flights(home=home)
    assert (far.alive, far.holder.host, far.running) == (True, "elsewhere", None)  # its runs are not here
    # A fresh name was given: the resume names it.
    assert not gone.alive and gone.state.startswith("dead: resume with `saber run wf.cwl --study gone`")


def test_a_driver_on_an_airflow_deployment_is_named(home) -> None:
    plant_lease(home, "remote", f"{HOST}:{dead_pid()}:1",
                command="saber run wf.cwl --airflow http://airflow:8080 --study remote")
    [flight] = flights(home=home)
    assert flight.airflow == "http://airflow:8080" and flight.running is None


def test_an_unknown_name_lists_the_known_ones(home) -> None:
    plant_study(home, "tune", running=0)
    plant_lease(home, "sweep1", f"{HOST}:{os.getpid()}:1")
    with pytest.raises(InputError, match=r"no study or sweep named 'nope' in .*; known names: sweep1, tune$"):
        flights("nope", home=home)


def test_status_as_json_and_table(home, capsys) -> None:
    plant_study(home, "tune", running=1)
    plant_lease(home, "tune", f"{HOST}:{dead_pid()}:12345")
    assert main(["status", "--format", "json"]) == 0
    [flight] = json.loads(capsys.readouterr().out)["flights"]
    assert (flight["name"], flight["kind"], flight["running"], flight["alive"]) == ("tune", "study", 1, False)
    assert flight["driver"]["host"] == HOST and flight["state"].startswith("dead: resume with `saber run")
    assert main(["status", "tune"]) == 0
    out = capsys.readouterr().out
    assert "tune" in out and "dead" in out and "saber cancel tune" in out
    assert main(["status", "nope"]) == 2


@pytest.mark.parametrize("run_id, expected", [
    pytest.param("tune_t0003", ("tune", 3, 1), id="trial"),
    pytest.param("my_sweep_p0012-3", ("my_sweep", 12, 3), id="point-attempt"),
    pytest.param("big_p123456", ("big", 123456, 1), id="many-points"),
    pytest.param("manual__2025-06-01T12:00:00", None, id="ui-trigger"),
])
def test_run_ids_name_their_sweep(run_id, expected) -> None:
    run = _parse("dag", run_id, "running", None)
    assert (run and (run.name, run.number, run.attempt)) == expected


def test_a_point_counts_by_its_latest_attempt() -> None:
    def run(number, attempt, state):
        return HomeRun("dag", f"s_p{number:04d}-{attempt}", state, None, "s", number, attempt)

    runs = [run(0, 1, "failed"), run(0, 2, "success"), run(1, 1, "failed"), run(2, 1, "running"),
            run(3, 2, "failed"), run(3, 1, "success")]
    assert _point_counts(runs) == (1, 1, 2)  # running, done, failed
