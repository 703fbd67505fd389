"""The airflow backend against a real deployment (tests/airflow_deployment.py): api-server,
scheduler and dag-processor on PostgreSQL, LocalExecutor; steps really run in Docker."""

from __future__ import annotations

import copy
import json
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from airflow_deployment import Deployment
from saber_testing import DATA, needs_docker

from saber.backends._base import RunRequest
from saber.backends.remote import AirflowBackend
from saber.backends.testing import BackendContract
from saber.errors import BackendUnavailable, SaberError
from saber.plan import run_conf

pytestmark = [needs_docker, pytest.mark.slow, pytest.mark.postgres, pytest.mark.docker, pytest.mark.timeout(900)]


@pytest.fixture
def deployment(airflow_deployment: Deployment) -> Deployment:
    return airflow_deployment  # the session's (tests/conftest.py): admin and viewer users


@pytest.fixture
def signed_in(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    monkeypatch.delenv("SABER_AIRFLOW_TOKEN", raising=False)
    monkeypatch.setenv("SABER_AIRFLOW_USERNAME", deployment.username)
    monkeypatch.setenv("SABER_AIRFLOW_PASSWORD", deployment.password)
    return deployment


def _plan(name: str) -> dict:
    from saber.cwl import build_plan, load_process

    path = DATA / "cwl" / name
    return build_plan(load_process(path), path=path)


def _conf(inputs: dict, point: int) -> dict:
    return run_conf(inputs, {"sweep_id": "t", "point": point, "params": {}, "step_inputs": {}})


def _local(location: str) -> Path:
    assert location.startswith("file://"), location
    return Path(unquote(urlparse(location).path))


def test_a_sweep_runs_on_the_deployment(signed_in: Deployment, caplog):
    dep = signed_in
    plan = _plan("scatter_wf.cwl")
    backend = AirflowBackend(url=dep.url, dags_folder=dep.dags, sync_timeout=180)
    try:
        started = time.monotonic()
        backend.start()
        backend.prepare(plan)
        synced = time.monotonic() - started
        backend.store_secrets({"saber_secret_remote_test": "remote-secret-value"})
        requests = [RunRequest(run_id=f"t_{i}", conf=_conf({"messages": [m, "z"], "suffix": "."}, i))
                    for i, m in enumerate(["one", "two"])]
        backend.submit(requests)
        progress: list[list] = []
        states = backend.wait([r.run_id for r in requests], on_progress=progress.append)
        outcomes = {r.run_id: backend.outcome(r.run_id) for r in requests}
        outputs = {r.run_id: backend.outputs(r.run_id) for r in requests}
        backend.annotate("t_0", "score 1.0 " + "x" * 1200)
        # t_0's inputs again: every step from the step cache, counted as cached while it runs
        backend.submit([RunRequest(run_id="t_again", conf=requests[0].conf)])
        again: list[list] = []
        assert backend.wait(["t_again"], on_progress=again.append) == {"t_again": "success"}
        again_steps = backend.outcome("t_again").steps
    finally:
        backend.close()
    assert states == {"t_0": "success", "t_1": "success"}, {k: o.error for k, o in outcomes.items()}
    assert progress and progress[-1][0].tasks.get("success", 0) >= 4  # helper, 2 shouts, join
    for run_id, outcome in outcomes.items():
        assert outcome.state == "success" and outcome.error is None and outcome.wall_s > 0
        steps = {(s.task_id, s.map_index): s for s in outcome.steps}
        assert {("shout", 0), ("shout", 1), ("join", -1)} <= set(steps)
        assert steps["join", -1].container_s > 0 and steps["shout", 1].state == "success"
    assert all(s.cached for s in again_steps if s.task_id in ("shout", "join")), again_steps
    assert again[-1][0].cached == sum(s.cached for s in again_steps) >= 3
    joined = _local(outputs["t_1"]["joined"]["location"])
    assert joined.is_relative_to(dep.storage) and joined.read_text() == "two. x 1\nz. x 1\n"
    assert outputs["t_0"]["texts"] == ["one. x 1", "z. x 1"]
    with dep.client() as api:
        assert api.get(f"/dags/{plan['dag_id']}/dagRuns/t_0").json()["note"] == ("score 1.0 " + "x" * 1200)[:1000]
        variable = api.get("/variables/saber_secret_remote_test").json()
        assert variable["description"] == "a secret input of a saber run"
        tags = {t["name"] for t in api.get(f"/dags/{plan['dag_id']}").json()["tags"]}
    assert f"saber-plan:{plan['digest']}" in tags
    assert "remote-secret-value" not in caplog.text
    print(f"DAG synced in {synced:.1f} s")


def test_a_failed_run_says_why_in_one_sentence(signed_in: Deployment):
    backend = AirflowBackend(url=signed_in.url, dags_folder=signed_in.dags, sync_timeout=180)
    try:
        backend.start()
        backend.prepare(_plan("fail.cwl"))
        backend.submit([RunRequest(run_id="f_0", conf=_conf({"code": 3}, 0))])
        assert backend.wait(["f_0"]) == {"f_0": "failed"}
        outcome = backend.outcome("f_0")
    finally:
        backend.close()
    assert outcome.state == "failed"
    assert outcome.error == "step 'fail' failed: boom: bad voxel", outcome.failures
    assert list(outcome.failures) == ["fail"] and "exit code 3" in outcome.failures["fail"]


def _containers_under(storage: Path) -> list[str]:
    """Running containers with a bind mount under ``storage`` (a deployment's step containers)."""
    ids = subprocess.run(["docker", "ps", "-q"], capture_output=True, text=True, check=True).stdout.split()
    if not ids:
        return []
    found = json.loads(subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True).stdout or "[]")
    return [c["Id"] for c in found if any(str(m.get("Source", "")).startswith(str(storage)) for m in c["Mounts"])]


def test_a_cancelled_run_fails(signed_in: Deployment):
    from airflow.sdk import BaseOperator

    from saber.airflow import CwlStepOperator

    backend = AirflowBackend(url=signed_in.url, dags_folder=signed_in.dags, sync_timeout=180, poll_s=0.5)
    try:
        backend.start()
        backend.prepare(_plan("sleep.cwl"))
        backend.submit([RunRequest(run_id="s_0", conf=_conf({"seconds": 60}, 0))])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _containers_under(signed_in.storage):
            time.sleep(0.5)  # until its container runs
        assert _containers_under(signed_in.storage), "the sleep step never started"
        backend.cancel(["s_0"])
        backend.cancel(["s_0"])  # idempotent
        started = time.monotonic()
        assert backend.wait(["s_0"]) == {"s_0": "failed"}
        assert time.monotonic() - started < 60
        if CwlStepOperator.on_kill is not BaseOperator.on_kill:  # the operator stops its container
            deadline = time.monotonic() + 60
            while _containers_under(signed_in.storage) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert not _containers_under(signed_in.storage)
    finally:
        backend.close()
        for container in _containers_under(signed_in.storage):
            subprocess.run(["docker", "rm", "-f", container], capture_output=True)


def test_a_wrong_password_is_refused_before_anything_is_made(signed_in: Deployment, monkeypatch):
    monkeypatch.setenv("SABER_AIRFLOW_PASSWORD", "not-" + signed_in.password)
    backend = AirflowBackend(url=signed_in.url, dags_folder=signed_in.dags)
    with pytest.raises(BackendUnavailable, match=rf"Airflow at {signed_in.url} refused the user name and "
                                                 r"password") as caught:
        backend.start()
    backend.close()
    assert signed_in.password not in str(caught.value)


def test_a_stale_deployed_plan_is_refused(signed_in: Deployment):
    plan = _plan("scatter_wf.cwl")
    writer = AirflowBackend(url=signed_in.url, dags_folder=signed_in.dags, sync_timeout=180)
    reader = AirflowBackend(url=signed_in.url)  # no dags folder: the DAG must be deployed as it is
    try:
        writer.start()
        writer.prepare(plan)
        edited = copy.deepcopy(plan)
        edited.pop("digest")
        edited["doc"] = "the same DAG id, another version of the workflow"
        reader.start()
        reader.prepare(copy.deepcopy(plan))  # the deployed version itself is fine
        with pytest.raises(SaberError, match=rf"the deployed DAG '{plan['dag_id']}' on {signed_in.url} runs another "
                                             rf"version of the workflow \(plan {plan['digest']}, this one is "):
            reader.prepare(edited)
    finally:
        writer.close()
        reader.close()


def test_a_changed_plan_is_synced_and_a_broken_one_reported(signed_in: Deployment):
    plan = _plan("scatter_wf.cwl")
    backend = AirflowBackend(url=signed_in.url, dags_folder=signed_in.dags, sync_timeout=180)
    try:
        backend.start()
        backend.prepare(copy.deepcopy(plan))
        broken = copy.deepcopy(plan)
        del broken["steps"][0]["resources"]["pool_slots"]  # the DAG file fails to build its DAG
        with pytest.raises(SaberError, match=rf"cannot load DAG '{plan['dag_id']}' from {signed_in.dags}: parsing "
                                             rf"{plan['dag_id']}.py failed: KeyError: 'pool_slots'"):
            backend.prepare(broken)
        changed = copy.deepcopy(plan)
        changed["doc"] = "a new version of the workflow"
        started = time.monotonic()
        backend.prepare(changed)  # the deployment lists the DAG with its new digest
        print(f"changed DAG synced in {time.monotonic() - started:.1f} s")
    finally:
        backend.close()
    with signed_in.client() as api:
        dag = api.get(f"/dags/{plan['dag_id']}").json()
    assert f"saber-plan:{changed['digest']}" in {t["name"] for t in dag["tags"]}
    assert not dag["has_import_errors"]


def test_a_viewer_may_not_trigger_runs(signed_in: Deployment, monkeypatch):
    passwords = json.loads((signed_in.home / "simple_auth_manager_passwords.json.generated").read_text())
    monkeypatch.setenv("SABER_AIRFLOW_USERNAME", "viewer")
    monkeypatch.setenv("SABER_AIRFLOW_PASSWORD", passwords["viewer"])
    plan = _plan("fail.cwl")  # deployed and unpaused by an earlier test, or refused as not deployed
    backend = AirflowBackend(url=signed_in.url)
    try:
        backend.start()  # a viewer may read
        backend.prepare(plan)
        with pytest.raises(BackendUnavailable, match=rf"the Airflow user saber signs in as may not trigger DAG "
                                                     rf"runs on {signed_in.url} \(HTTP 403 for POST "):
            backend.submit([RunRequest(run_id="v_0", conf=_conf({}, 0))])
    finally:
        backend.close()


class TestAirflowBackend(BackendContract):
    """The contract every backend keeps (saber.backends.testing), on the real deployment."""

    @pytest.fixture
    def backend_factory(self, signed_in: Deployment):
        return lambda: AirflowBackend(url=signed_in.url, dags_folder=signed_in.dags, sync_timeout=180, poll_s=0.5)
