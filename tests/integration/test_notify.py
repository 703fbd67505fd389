"""Notifications end to end: a real `saber run` (embedded Airflow, containers) telling a webhook
receiver on 127.0.0.1 how it ended, and an unreachable URL that only warns."""

from __future__ import annotations

import json
import uuid

import pytest
from saber_testing import DATA, needs_docker, run_saber, yaml_writer
from webhook_receiver import closed_port, webhook_receiver

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow]
TOOL = str(DATA / "cwl" / "quadratic.cwl")


def test_a_study_tells_the_receiver_once_with_its_best_score(saber_home, tmp_path):
    name = f"it-notify-{uuid.uuid4().hex[:6]}"  # the session's home may hold an earlier one
    sweep = yaml_writer(tmp_path, "sweep.yml")("""
        x: [0.2, 0.6, 0.9]
        sampler: {method: random, max_iterations: 3, batch_size: 3, seed: 1}
    """)
    with webhook_receiver() as receiver:
        result = run_saber("run", TOOL, str(sweep), "--study", name, "--outdir", str(tmp_path / "out"),
                           "--notify", receiver.url, env={"SABER_UI_URL": "http://ui.example:8080/",
                                                          "SABER_NOTIFY": receiver.url})
    assert result.returncode == 0, result.stderr
    [got] = receiver.messages  # once, though two sources named the URL
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (got["event"], got["name"], got["kind"], got["state"]) == ("saber.sweep.ended", name, "study", "finished")
    assert got["trials"] == {"done": 3, "failed": 0, "planned": 3}
    assert got["best"]["params"] == {"x": 0.6} and got["best"]["score"] == pytest.approx(1.0)
    assert got["best"]["number"] == summary["study"]["best"]["number"]
    assert got["dag_id"] == summary["dag_id"] and got["workflow"] == "quadratic" and got["error"] is None
    assert got["url"] == f"http://ui.example:8080/saber/studies/{name}"
    assert "notification" not in result.stderr


def test_an_unreachable_url_is_one_warning_and_the_run_exits_0(saber_home, tmp_path):
    dead = f"http://127.0.0.1:{closed_port()}/hook?token=hidden"
    job = yaml_writer(tmp_path, "job.yml")("x: 0.5\n")
    result = run_saber("run", TOOL, "--job", str(job), "--outdir", str(tmp_path / "out"), "--notify", dead)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "notification" in line]
    assert warnings == [f"saber: warning: notification to {dead.split('?')[0]}?*** not delivered: "
                        "cannot connect (3 tries)"]
    assert "hidden" not in result.stderr
