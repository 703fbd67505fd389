"""`saber ui` serves Airflow's UI and REST API over the same state `saber run` wrote."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from saber_testing import DATA, ROOT, needs_docker, run_saber, saber_ui

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, data: dict | None = None, token: str | None = None) -> dict:
    req = urllib.request.Request(url, data=json.dumps(data).encode() if data is not None else None,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def test_ui_shows_runs_made_by_saber_run(saber_home, tmp_path):
    job = tmp_path / "job.yml"
    job.write_text("messages: [ui]\n")
    sweep = tmp_path / "sweep.yml"
    sweep.write_text("suffix: ['.', '!']\n")
    result = run_saber("run", str(DATA / "cwl" / "scatter_wf.cwl"), str(sweep), "--job", str(job),
                       "--outdir", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())

    with saber_ui() as (base, password):
        token = _request(f"{base}/auth/token", {"username": "admin", "password": password})["access_token"]
        runs = _request(f"{base}/api/v2/dags/{summary['dag_id']}/dagRuns?limit=100", token=token)
        ours = {r["dag_run_id"]: r for r in runs["dag_runs"]}
        for point in summary["points"]:
            assert ours[point["dag_run_id"]]["state"] == "success"
            assert ours[point["dag_run_id"]]["conf"]["__saber"]["point"] == point["index"]
        run_id = summary["points"][0]["dag_run_id"]
        tis = _request(f"{base}/api/v2/dags/{summary['dag_id']}/dagRuns/{run_id}/taskInstances", token=token)
        assert {t["task_id"] for t in tis["task_instances"]} == {"shout__scatter", "shout", "join"}
        log = _request(f"{base}/api/v2/dags/{summary['dag_id']}/dagRuns/{run_id}/taskInstances/join/logs/1",
                       token=token)
        assert "completed success" in json.dumps(log)

        # The Trigger form's path: unpause, trigger with conf, the scheduler saber ui started runs it.
        dag = f"{base}/api/v2/dags/{summary['dag_id']}"
        req = urllib.request.Request(dag, data=b'{"is_paused": false}', method="PATCH",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {token}"})
        urllib.request.urlopen(req, timeout=10).close()
        _request(f"{dag}/dagRuns", {"logical_date": None, "dag_run_id": "by_hand",
                                    "conf": {"messages": ["hand"], "suffix": "?"}}, token=token)
        deadline = time.monotonic() + 180
        while (state := _request(f"{dag}/dagRuns/by_hand", token=token)["state"]) not in ("success", "failed"):
            assert time.monotonic() < deadline, f"manual run still {state} after 180 s"
            time.sleep(2)
        assert state == "success"
        xcom = _request(f"{dag}/dagRuns/by_hand/taskInstances/shout/xcomEntries/return_value?map_index=0",
                        token=token)
        assert "hand? x 1" in json.dumps(xcom)


def test_a_scored_run_triggered_by_hand_becomes_a_trial(saber_home, tmp_path):
    """The scheduler `saber ui` starts records a hand-triggered run of a scored DAG (the
    listener of saber's plugin): in <dag_id>-manual, or in the study the conf names."""
    sweep = tmp_path / "sweep.yml"
    sweep.write_text("x: [0.2, 0.4]\n")
    result = run_saber("run", str(DATA / "cwl" / "quadratic.cwl"), str(sweep), "--study", "by-saber",
                       "--outdir", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    dag_id = json.loads((tmp_path / "o" / "summary.json").read_text())["dag_id"]

    with saber_ui() as (base, password):
        token = _request(f"{base}/auth/token", {"username": "admin", "password": password})["access_token"]
        dag = f"{base}/api/v2/dags/{dag_id}"
        req = urllib.request.Request(dag, data=b'{"is_paused": false}', method="PATCH",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        urllib.request.urlopen(req, timeout=10).close()
        confs = {"hand_1": {"x": 0.5}, "hand_2": {"x": 3.0},  # fails: above fail_above
                 "hand_3": {"x": 0.6, "saber_study": "by-saber"}}
        for run_id, conf in confs.items():
            _request(f"{dag}/dagRuns", {"logical_date": None, "dag_run_id": run_id, "conf": conf}, token=token)
        deadline = time.monotonic() + 240
        ended = {}
        while len(ended) < len(confs):
            assert time.monotonic() < deadline, f"hand runs not all ended after 240 s: {ended}"
            time.sleep(2)
            for run_id in confs:
                state = _request(f"{dag}/dagRuns/{run_id}", token=token)
                if state["state"] in ("success", "failed"):
                    ended[run_id] = state
        assert {r: s["state"] for r, s in ended.items()} == {"hand_1": "success", "hand_2": "failed",
                                                           "hand_3": "success"}
        assert ended["hand_1"]["note"] == f"saber study {dag_id}-manual, trial 0: quadratic score 0.99"

    manual = json.loads(run_saber("results", f"{dag_id}-manual", "--format", "json").stdout)
    trials = {t["run_id"]: t for t in manual["trials"]}
    assert trials["hand_1"]["state"] == "COMPLETE" and trials["hand_1"]["score"] == pytest.approx(0.99)
    assert trials["hand_1"]["params"] == {"x": 0.5, "fail_above": 2.0}
    assert trials["hand_2"]["state"] == "FAIL" and "quadratic" in trials["hand_2"]["error"]
    named = json.loads(run_saber("results", "by-saber", "--format", "json").stdout)
    assert len(named["trials"]) == 3 and named["best"]["score"] == pytest.approx(1.0)
    assert named["trials"][-1]["run_id"] == "hand_3"
    listed = json.loads(run_saber("results", "--kind", "manual", "--format", "json").stdout)
    assert [s["name"] for s in listed["studies"]] == [f"{dag_id}-manual"]


def _listening(pids: set[int]) -> list[str]:
    """The local addresses, as /proc/net/tcp{,6} writes them (hex), that ``pids`` listen on."""
    sockets = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                sockets.add(link[len("socket:["):-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in sockets:  # 0A: LISTEN
                found.append(fields[1])
    return found


_LOOPBACK = ("0100007F:", "00000000000000000000000001000000:")  # 127.0.0.1, ::1


def test_ui_listens_on_loopback_only_and_leaves_nothing_when_killed(saber_home):
    from saber.backends.embedded._reaper import _alive, _descendants

    port = _free_port()
    ui = subprocess.Popen([sys.executable, "-m", "saber", "ui", "--port", str(port)], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=os.environ.copy(), start_new_session=True)
    family: set[int] = set()
    try:
        ui.stdout.readline()
        deadline = time.monotonic() + 120
        while True:
            try:
                _request(f"http://127.0.0.1:{port}/api/v2/monitor/health")
                break
            except OSError:
                assert ui.poll() is None, "saber ui exited"
                assert time.monotonic() < deadline, "the UI did not come up in 120 s"
                time.sleep(1)
        time.sleep(5)  # the scheduler's executor workers (and, before, its log server) are up
        family = _descendants(ui.pid)
        addresses = _listening(family)
        assert any(a.endswith(f":{port:04X}") for a in addresses), addresses
        assert all(a.startswith(_LOOPBACK) for a in addresses), f"not on loopback only: {addresses}"

        os.kill(ui.pid, signal.SIGKILL)  # no Ctrl-C, no finally: what it started must still go
        ui.wait()
        deadline = time.monotonic() + 10
        while (left := {p for p in family if _alive(p)}) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not left, f"left behind: {left}"
        with socket.socket() as s:  # nobody listens on the port any more (TIME_WAIT aside)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
    finally:
        for pid in [ui.pid, *family]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
