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

import pytest
from saber_testing import DATA, ROOT, needs_docker, run_saber

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

    port = _free_port()
    ui = subprocess.Popen([sys.executable, "-m", "saber", "ui", "--port", str(port)], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=os.environ.copy(), start_new_session=True)
    try:
        first = ui.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in first and "admin" in first
        password = first.rsplit("password: ", 1)[1].rstrip(")\n")
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                _request(f"{base}/api/v2/monitor/health")
                break
            except OSError:
                assert ui.poll() is None, "saber ui exited"
                assert time.monotonic() < deadline, "the UI did not come up in 120 s"
                time.sleep(1)
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
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        ui.wait(timeout=60)
