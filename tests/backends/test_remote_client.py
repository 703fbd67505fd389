"""The airflow backend against an in-memory Airflow REST API v2 (httpx.MockTransport): auth,
errors, plan sync and refusal, runs, outcomes. No server; the real one is in
test_remote_deployment.py."""

from __future__ import annotations

import copy
import json
import logging
import re
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from saber.backends._base import RunRequest
from saber.backends.remote import AirflowBackend, AirflowClient
from saber.errors import BackendUnavailable, SaberError

URL = "http://airflow.test:8080"
PASSWORD = "s3cret-pw"
CWL = Path(__file__).resolve().parents[1] / "data" / "cwl"


class FakeAirflow:
    """The endpoints saber uses, answering with the shapes and status codes of Airflow 3.3's
    (read from its api_fastapi routes): JSON objects, {"detail": ...} errors, paged lists."""

    def __init__(self) -> None:
        self.users = {"admin": PASSWORD}
        self.valid_tokens = {"env-token"}
        self.expired_tokens: set[str] = set()
        self.forbidden: set[tuple[str, str]] = set()  # (method, path regex) answered 403
        self.dags: dict[str, dict] = {}
        self.runs: dict[str, dict] = {}
        self.tis: dict[str, list[dict]] = {}
        self.xcoms: dict[tuple, Any] = {}
        self.logs: dict[tuple, list] = {}
        self.variables: dict[str, dict] = {}
        self.pools = {"default_pool": {"name": "default_pool", "slots": 128}}
        self.import_errors: list[dict] = []
        self.fernet = True  # Variables are stored encrypted
        self.config = {("core", "parallelism"): "32"}
        self.calls: list[tuple[str, str, Any]] = []
        self.on_call: Callable[[FakeAirflow, str, str], None] | None = None
        self.issued = 0
        self.fail_next: list[int] = []  # statuses to answer the next calls with, before routing
        self.lose_answers = 0  # run creations whose answer is a 504 nonetheless

    def dag(self, dag_id: str, digest: str | None, **extra: Any) -> dict:
        tags = [{"name": "saber", "dag_id": dag_id}]
        if digest:
            tags.append({"name": f"saber-plan:{digest}", "dag_id": dag_id})
        self.dags[dag_id] = {"dag_id": dag_id, "is_paused": True, "tags": tags, "has_import_errors": False,
                             "file_token": f"tok-{dag_id}", "fileloc": f"/dags/{dag_id}.py", **extra}
        return self.dags[dag_id]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.path
        body = json.loads(request.content) if request.content else None
        self.calls.append((method, path, body))
        if self.on_call:
            self.on_call(self, method, path)
        if self.fail_next:
            return httpx.Response(self.fail_next.pop(0), json={"detail": "boom"})
        if path == "/auth/token":
            if self.users.get(body.get("username")) != body.get("password"):
                return httpx.Response(401, json={"detail": "Invalid credentials"})
            self.issued += 1
            token = f"jwt-{self.issued}"
            self.valid_tokens.add(token)
            return httpx.Response(201, json={"access_token": token})
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not token:
            return httpx.Response(401, json={"detail": "Not authenticated"})
        if token in self.expired_tokens:
            return httpx.Response(401, json={"detail": "Token Expired"})
        if token not in self.valid_tokens:
            return httpx.Response(403, json={"detail": "Invalid JWT token"})
        if any(m == method and re.fullmatch(p, path) for m, p in self.forbidden):
            return httpx.Response(403, json={"detail": "Forbidden"})
        for pattern, methods in ROUTES:
            if (match := re.fullmatch(pattern, path)) and method in methods:
                return methods[method](self, request, body, *match.groups())
        return httpx.Response(404, json={"detail": "Not Found"})

    # -- handlers ------------------------------------------------------------------------------

    def get_dags(self, request, body):
        return _ok({"dags": list(self.dags.values())[:1], "total_entries": len(self.dags)})

    def get_dag(self, request, body, dag_id):
        return _ok(self.dags[dag_id]) if dag_id in self.dags else _missing()

    def patch_dag(self, request, body, dag_id):
        if dag_id not in self.dags:
            return _missing()
        self.dags[dag_id]["is_paused"] = body["is_paused"]
        return _ok(self.dags[dag_id])

    def post_run(self, request, body, dag_id):
        run_id = body["dag_run_id"]
        if run_id in self.runs:
            return httpx.Response(409, json={"detail": {"reason": "Unique constraint violation", "statement": "hidden",
                                                        "orig_error": "hidden", "message": "Serious error"}})
        self.runs[run_id] = {"dag_run_id": run_id, "dag_id": dag_id, "state": "queued", "conf": body["conf"],
                             "start_date": None, "end_date": None, "duration": None, "note": None}
        if self.lose_answers:
            self.lose_answers -= 1
            return httpx.Response(504, json={"detail": "gateway timeout"})
        return _ok(self.runs[run_id])

    def get_runs(self, request, body, dag_id):
        states = request.url.params.get_list("state")
        runs = [r for r in self.runs.values() if not states or r["state"] in states]
        return _ok({"dag_runs": runs, "total_entries": len(runs)})

    def get_run(self, request, body, dag_id, run_id):
        return _ok(self.runs[run_id]) if run_id in self.runs else _missing()

    def patch_run(self, request, body, dag_id, run_id):
        if run_id not in self.runs:
            return _missing()
        self.runs[run_id].update(body)
        return _ok(self.runs[run_id])

    def get_tis(self, request, body, dag_id, run_id):
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        tis = self.tis.get(run_id, [])
        return _ok({"task_instances": tis[offset:offset + limit], "total_entries": len(tis)})

    def get_xcom(self, request, body, dag_id, run_id, task_id, key):
        where = (run_id, task_id, int(request.url.params.get("map_index", -1)), key)
        if where not in self.xcoms:
            return httpx.Response(404, json={"detail": f"XCom entry with key: `{key}` not found"})
        return _ok({"key": key, "task_id": task_id, "map_index": where[2], "value": self.xcoms[where]})

    def get_log(self, request, body, dag_id, run_id, task_id, try_number):
        where = (run_id, task_id, int(request.url.params.get("map_index", -1)), int(try_number))
        if where not in self.logs:
            return httpx.Response(404, json={"detail": "TaskInstance not found"})
        return _ok({"content": self.logs[where], "continuation_token": None})

    def get_import_errors(self, request, body):
        return _ok({"import_errors": self.import_errors, "total_entries": len(self.import_errors)})

    def put_parse(self, request, body, token):
        return httpx.Response(201, json=None)

    def get_pool(self, request, body, name):
        return _ok(self.pools[name]) if name in self.pools else _missing()

    def post_pool(self, request, body):
        self.pools[body["name"]] = body
        return httpx.Response(201, json=body)

    def post_variable(self, request, body):
        if body["key"] in self.variables:
            return httpx.Response(409, json={"detail": f"The Variable with key: `{body['key']}` already exists"})
        self.variables[body["key"]] = body
        return httpx.Response(201, json={**body, "value": "***", "is_encrypted": self.fernet})

    def patch_variable(self, request, body, key):
        if key not in self.variables:
            return _missing()
        self.variables[key] = body
        return _ok({**body, "value": "***", "is_encrypted": self.fernet})

    def delete_variable(self, request, body, key):
        return httpx.Response(204) if self.variables.pop(key, None) else _missing()

    def get_config(self, request, body, section, option):
        if (section, option) not in self.config:
            return httpx.Response(403, json={"detail": "not exposed"})
        return _ok({"sections": [{"name": section, "options": [{"key": option,
                                                                 "value": self.config[section, option]}]}]})


def _ok(payload: Any) -> httpx.Response:
    return httpx.Response(200, json=payload)


def _missing() -> httpx.Response:
    return httpx.Response(404, json={"detail": "not found"})


_RUN = r"/api/v2/dags/([^/]+)/dagRuns/([^/]+)"
ROUTES = [
    (r"/api/v2/dags", {"GET": FakeAirflow.get_dags}),
    (r"/api/v2/dags/([^/]+)", {"GET": FakeAirflow.get_dag, "PATCH": FakeAirflow.patch_dag}),
    (r"/api/v2/dags/([^/]+)/dagRuns", {"POST": FakeAirflow.post_run, "GET": FakeAirflow.get_runs}),
    (_RUN, {"GET": FakeAirflow.get_run, "PATCH": FakeAirflow.patch_run}),
    (_RUN + "/taskInstances", {"GET": FakeAirflow.get_tis}),
    (_RUN + r"/taskInstances/([^/]+)/xcomEntries/([^/]+)", {"GET": FakeAirflow.get_xcom}),
    (_RUN + r"/taskInstances/([^/]+)/logs/(\d+)", {"GET": FakeAirflow.get_log}),
    (r"/api/v2/importErrors", {"GET": FakeAirflow.get_import_errors}),
    (r"/api/v2/parseDagFile/([^/]+)", {"PUT": FakeAirflow.put_parse}),
    (r"/api/v2/pools/([^/]+)", {"GET": FakeAirflow.get_pool}),
    (r"/api/v2/pools", {"POST": FakeAirflow.post_pool}),
    (r"/api/v2/variables", {"POST": FakeAirflow.post_variable}),
    (r"/api/v2/variables/([^/]+)", {"PATCH": FakeAirflow.patch_variable, "DELETE": FakeAirflow.delete_variable}),
    (r"/api/v2/config/section/([^/]+)/option/([^/]+)", {"GET": FakeAirflow.get_config}),
]


# -- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scatter_plan() -> dict:
    from saber.cwl import build_plan, load_process

    path = CWL / "scatter_wf.cwl"
    return build_plan(load_process(path), path=path)


@pytest.fixture
def plan(scatter_plan) -> dict:
    return copy.deepcopy(scatter_plan)


@pytest.fixture
def fake(monkeypatch) -> FakeAirflow:
    monkeypatch.delenv("SABER_AIRFLOW_TOKEN", raising=False)
    monkeypatch.setenv("SABER_AIRFLOW_USERNAME", "admin")
    monkeypatch.setenv("SABER_AIRFLOW_PASSWORD", PASSWORD)
    return FakeAirflow()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def backend(fake, sleeps) -> AirflowBackend:
    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(0.001)  # fake time, but no busy loop

    made = AirflowBackend(url=URL, transport=httpx.MockTransport(fake), sleep=sleep, retry_s=2.0, poll_s=0.5)
    yield made
    made.close()


def _digest(plan: dict) -> str:
    from saber.plan import plan_digest

    return plan_digest(plan)


def _one_sentence(message: str) -> None:
    assert "\n" not in message and message.count(". ") == 0, message


# -- credentials and errors --------------------------------------------------------------------

def test_the_password_is_exchanged_for_a_token(backend, fake):
    backend.start()
    assert fake.calls[0] == ("POST", "/auth/token", {"username": "admin", "password": PASSWORD})
    assert ("GET", "/api/v2/dags", None) in fake.calls
    assert backend.capabilities.parallel_runs == 32  # [core] parallelism
    assert backend.capabilities.needs_dag_sync and backend.capabilities.stores_secrets


def test_a_token_from_the_environment_is_used_as_it_is(backend, fake, monkeypatch):
    monkeypatch.setenv("SABER_AIRFLOW_TOKEN", "env-token")
    del fake.config["core", "parallelism"]  # [api] expose_config off
    backend.start()
    assert not [c for c in fake.calls if c[1] == "/auth/token"]
    assert backend.capabilities.parallel_runs == 4


@pytest.mark.parametrize("env, match", [
    pytest.param({"SABER_AIRFLOW_PASSWORD": "wrong"}, r"refused the user name and password .*\(HTTP 401\)",
                 id="wrong-password"),
    pytest.param({"SABER_AIRFLOW_TOKEN": "forged"}, r"refused the token in \$SABER_AIRFLOW_TOKEN \(HTTP 403 .*"
                 r"Invalid JWT token\)", id="wrong-token"),
    pytest.param({"SABER_AIRFLOW_TOKEN": "old"}, r"refused the token in \$SABER_AIRFLOW_TOKEN \(HTTP 401 .*"
                 r"Token Expired\): it has expired", id="expired-token"),
    pytest.param({"SABER_AIRFLOW_USERNAME": ""}, r"has no credentials .*SABER_AIRFLOW_USERNAME", id="none"),
])
def test_refused_credentials_are_one_sentence_without_the_secret(backend, fake, monkeypatch, env, match):
    fake.expired_tokens.add("old")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(BackendUnavailable, match=match) as caught:
        backend.start()
    message = str(caught.value)
    assert URL in message and PASSWORD not in message and "wrong" not in message and "forged" not in message
    assert "'old'" not in message
    _one_sentence(message)


def test_an_unreachable_url_is_backend_unavailable(fake):  # fake: the credentials in the environment
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = AirflowBackend(url=f"http://admin:{PASSWORD}@127.0.0.1:{port}/", retry_s=0.3)
    with pytest.raises(BackendUnavailable, match=rf"cannot reach Airflow at http://127.0.0.1:{port} ") as caught:
        backend.start()
    assert PASSWORD not in str(caught.value)
    backend.close()


def test_a_url_without_scheme_is_refused():
    with pytest.raises(SaberError, match="must look like http://HOST:PORT"):
        AirflowBackend(url="airflow.test:8080")


def test_a_missing_permission_is_named(backend, fake, plan):
    fake.dag(plan["dag_id"], _digest(plan))
    fake.forbidden.add(("POST", r"/api/v2/dags/[^/]+/dagRuns"))
    backend.start()
    backend.prepare(plan)
    with pytest.raises(BackendUnavailable, match=rf"may not trigger DAG runs on {URL} \(HTTP 403") as caught:
        backend.submit([RunRequest(run_id="r1", conf={})])
    _one_sentence(str(caught.value))


def test_reads_ride_out_5xx_and_an_expired_token_is_renewed(backend, fake, plan):
    fake.dag(plan["dag_id"], _digest(plan))
    backend.start()
    fake.fail_next = [503, 502]
    assert backend.client.dag(plan["dag_id"])["dag_id"] == plan["dag_id"]
    fake.expired_tokens |= fake.valid_tokens  # every token expired
    assert backend.client.dag(plan["dag_id"]) is not None
    fake.valid_tokens.clear()  # the deployment's JWT secret changed: no old token verifies
    assert backend.client.dag(plan["dag_id"]) is not None
    assert [c[1] for c in fake.calls].count("/auth/token") == 3


def test_other_errors_name_the_url_and_the_call(backend, fake, plan):
    fake.dag(plan["dag_id"], _digest(plan))
    backend.start()
    fake.fail_next = [400]
    with pytest.raises(SaberError, match=rf"Airflow at {URL} could not pause or unpause DAGs \(HTTP 400 for "
                                         rf"PATCH /dags/{plan['dag_id']}: boom\)"):
        backend.client.set_paused(plan["dag_id"], False)


# -- the DAG: deployed, stale, synced ----------------------------------------------------------

def test_a_dag_not_deployed_is_refused(backend, plan):
    backend.start()
    with pytest.raises(SaberError, match=rf"DAG '{plan['dag_id']}' is not deployed on {URL}: write it with "
                                         rf"`saber dag .*scatter_wf.cwl -o <its dags folder>` or pass --dags-folder"):
        backend.prepare(plan)


def test_a_stale_dag_is_refused(backend, fake, plan):
    fake.dag(plan["dag_id"], "0123456789abcdef")
    backend.start()
    with pytest.raises(SaberError, match=r"runs another version of the workflow \(plan 0123456789abcdef, this one "
                                         rf"is {_digest(plan)}\)") as caught:
        backend.prepare(plan)
    assert not [c for c in fake.calls if c[0] == "PATCH"]  # left paused
    _one_sentence(str(caught.value))


def test_the_deployed_plan_is_unpaused_and_its_gpu_pool_made(backend, fake, plan, caplog):
    plan["steps"][1]["resources"]["pool"] = "saber_gpu"
    fake.dag(plan["dag_id"], _digest(plan))
    backend.start()
    with caplog.at_level(logging.WARNING):
        backend.prepare(plan)
    assert fake.dags[plan["dag_id"]]["is_paused"] is False
    assert fake.pools["saber_gpu"]["slots"] == 1
    assert "created it with 1 slot" in caplog.text


def test_with_a_dags_folder_prepare_waits_for_the_new_plan(backend, fake, plan, tmp_path, sleeps):
    fake.dag(plan["dag_id"], "0123456789abcdef")  # an older version is deployed

    asked: list[int] = []  # when the re-parse was asked for

    def parse_after_a_while(fake: FakeAirflow, method: str, path: str) -> None:
        if method == "PUT":
            asked.append(len(fake.calls))
        if asked and len(fake.calls) > asked[0] + 4:  # a few polls later, the new version is listed
            digest = json.loads((tmp_path / f"{plan['dag_id']}.plan.json").read_text())["digest"]
            fake.dag(plan["dag_id"], digest, is_paused=fake.dags[plan["dag_id"]]["is_paused"])

    fake.on_call = parse_after_a_while
    backend = AirflowBackend(url=URL, dags_folder=tmp_path, transport=httpx.MockTransport(fake),
                             sleep=backend._sleep, sync_timeout=30)
    backend.start()
    backend.prepare(plan)
    assert (tmp_path / f"{plan['dag_id']}.py").is_file() and plan["digest"] == _digest(plan)
    assert ("PUT", f"/api/v2/parseDagFile/tok-{plan['dag_id']}", None) in fake.calls
    assert sleeps, "it polled"
    assert fake.dags[plan["dag_id"]]["is_paused"] is False


def test_a_dag_file_that_fails_to_import_is_reported_at_once(backend, fake, plan, tmp_path):
    later = (datetime.now(timezone.utc) + timedelta(seconds=5)).isoformat()
    fake.import_errors = [{"import_error_id": 1, "timestamp": later, "filename": f"{plan['dag_id']}.py",
                           "stack_trace": "Traceback ...\nModuleNotFoundError: No module named 'saber'\n"}]
    backend = AirflowBackend(url=URL, dags_folder=tmp_path, transport=httpx.MockTransport(fake),
                             sleep=backend._sleep, sync_timeout=30)
    with pytest.raises(SaberError, match=rf"cannot load DAG .* from {tmp_path}: parsing {plan['dag_id']}.py "
                                         r"failed: ModuleNotFoundError: No module named 'saber'"):
        backend.prepare(plan)


def test_a_dag_that_never_appears_times_out_with_what_was_seen(backend, fake, plan, tmp_path):
    backend = AirflowBackend(url=URL, dags_folder=tmp_path, transport=httpx.MockTransport(fake),
                             sleep=backend._sleep, sync_timeout=0.2)
    with pytest.raises(SaberError, match=rf"did not load DAG '{plan['dag_id']}' from {tmp_path} within 0.2 s: "
                                         r"the DAG is not listed \(is that folder its dags folder\?"):
        backend.prepare(plan)


# -- runs ------------------------------------------------------------------------------------

@pytest.fixture
def prepared(backend, fake, plan) -> AirflowBackend:
    fake.dag(plan["dag_id"], _digest(plan))
    backend.start()
    backend.prepare(plan)
    return backend


def test_secrets_are_created_or_updated_and_never_logged(prepared, fake, caplog):
    fake.variables["saber_secret_old"] = {"key": "saber_secret_old", "value": "v0"}
    with caplog.at_level(logging.DEBUG):
        prepared.store_secrets({"saber_secret_new": "tok-1", "saber_secret_old": "tok-2"})
    assert fake.variables["saber_secret_new"]["value"] == "tok-1"
    assert fake.variables["saber_secret_old"] == {"key": "saber_secret_old", "value": "tok-2",
                                                  "description": "a secret input of a saber run"}
    assert "tok-1" not in caplog.text and "tok-2" not in caplog.text


def test_a_secret_is_not_left_unencrypted(prepared, fake):
    fake.fernet = False
    with pytest.raises(SaberError, match=rf"Airflow at {URL} has no Fernet key .*would store the secret input "
                                         r"unencrypted"):
        prepared.store_secrets({"saber_secret_x": "tok-3"})
    assert "saber_secret_x" not in fake.variables


def test_forgotten_secrets_are_deleted(prepared, fake):
    prepared.store_secrets({"saber_secret_a": "tok-a", "saber_secret_b": "tok-b"})
    fake.variables["saber_secret_other"] = {"key": "saber_secret_other", "value": "another run's"}
    prepared.forget_secrets(["saber_secret_a", "saber_secret_b", "saber_secret_gone"])  # gone: a 404, skipped
    assert set(fake.variables) == {"saber_secret_other"}


def test_forgetting_secrets_with_airflow_gone_warns_and_returns(prepared, fake, caplog):
    prepared.store_secrets({"saber_secret_a": "tok-a"})
    prepared.client._retry_s = 0.05

    def gone(fake: FakeAirflow, method: str, path: str) -> None:
        raise httpx.ConnectError("[Errno 111] Connection refused")

    fake.on_call = gone
    with caplog.at_level(logging.WARNING):
        prepared.forget_secrets(["saber_secret_a"])  # a run's own outcome is not replaced by this
    assert "could not delete the Variables" in caplog.text and "tok-a" not in caplog.text


def test_submit_refuses_a_run_id_taken(prepared, fake, plan):
    prepared.submit([RunRequest(run_id="t_0", conf={"suffix": "."})])
    assert fake.runs["t_0"]["conf"] == {"suffix": "."}
    with pytest.raises(SaberError, match=rf"DAG '{plan['dag_id']}' on {URL} already has a run 't_0': give this "
                                         r"sweep another --study/--sweep-id"):
        prepared.submit([RunRequest(run_id="t_0", conf={"suffix": "!"})])


def test_a_run_whose_answer_was_lost_is_not_created_twice(prepared, fake):
    fake.lose_answers = 1  # the POST creates the run, its answer is lost (a gateway's 504)
    prepared.submit([RunRequest(run_id="t_1", conf={"suffix": "?"})])
    posts = [c for c in fake.calls if c[0] == "POST" and c[1].endswith("/dagRuns")]
    assert len(posts) == 1 and fake.runs["t_1"]["conf"] == {"suffix": "?"}


def test_wait_polls_until_every_run_ends_and_reports_progress(prepared, fake, sleeps):
    prepared.submit([RunRequest(run_id=r, conf={}) for r in ("a", "b")])
    script = iter([("running", "queued"), ("running", "running"), ("success", "running"), ("success", "failed")])

    def advance(fake: FakeAirflow, method: str, path: str) -> None:
        if method == "GET" and path.endswith("/dagRuns"):  # one list call per poll
            fake.runs["a"]["state"], fake.runs["b"]["state"] = next(script)
            fake.tis["a"] = [{"task_id": "shout", "map_index": i, "state": "success"} for i in range(3)]

    fake.on_call = advance
    seen = []
    states = prepared.wait(["a", "b"], on_progress=lambda progress: seen.append(
        [(p.run_id, p.state, p.tasks) for p in progress]))
    assert states == {"a": "success", "b": "failed"}
    assert len(seen) == 4 and seen[0][1] == ("b", "queued", {})
    assert seen[-1][0] == ("a", "success", {"success": 3})
    # young runs are polled every 0.2 s (±20 % jitter); no real time passes here
    assert sleeps[:3] and all(0.15 <= s <= 0.25 for s in sleeps[:3])


def test_outcome_of_a_failed_run(prepared, fake, plan):
    plan["steps"][0]["score_format"] = "score {score:g}"  # shout is scored
    fake.runs["r"] = {"dag_run_id": "r", "state": "failed", "conf": {}, "duration": 12.5}
    fake.tis["r"] = [
        {"task_id": "join", "map_index": -1, "state": "failed", "try_number": 1},
        {"task_id": "shout", "map_index": 1, "state": "success", "try_number": 1},
        {"task_id": "shout", "map_index": 0, "state": "success", "try_number": 1},
        {"task_id": "shout__scatter", "map_index": -1, "state": "success", "try_number": 1},
    ]
    fake.xcoms.update({("r", "shout", 0, "container_s"): 1.5, ("r", "shout", 0, "score"): 0.25,
                       ("r", "shout", 0, "score_fields"): {"n": 3}, ("r", "shout", 1, "container_s"): 2.0})
    fake.logs[("r", "join", -1, 1)] = [
        {"event": "::group::Log message source details", "sources": ["/logs/x.log"]},
        {"event": "Task failed with exception", "level": "error", "error_detail": [
            {"exc_type": "StepFailed", "exc_value": "step 'join' failed with exit code 3\nabout to fail\n"
                                                    "boom: bad voxel"}]}]
    outcome = prepared.outcome("r")
    assert outcome.state == "failed" and outcome.wall_s == 12.5
    assert outcome.error == "step 'join' failed: boom: bad voxel"
    assert list(outcome.failures) == ["join"] and "exit code 3" in outcome.failures["join"]
    steps = {(s.task_id, s.map_index): s for s in outcome.steps}
    assert list(steps) == [("join", -1), ("shout", 0), ("shout", 1), ("shout__scatter", -1)]
    assert steps["shout", 0].score == 0.25 and steps["shout", 0].score_fields == {"n": 3}
    assert steps["shout", 0].container_s == 1.5 and steps["shout", 0].scored
    assert steps["shout", 1].score is None and steps["shout", 1].container_s == 2.0
    assert not steps["join", -1].scored and steps["join", -1].container_s == 0.0
    asked = {c[1].rpartition("/taskInstances/")[2] for c in fake.calls if "/xcomEntries/" in c[1]}
    assert not any(a.startswith("shout__scatter") for a in asked)  # a helper pushes nothing to read


def test_outputs_resolve_from_return_values(prepared, fake, plan):
    prepared.submit([RunRequest(run_id="o", conf={"messages": ["x", "y"], "suffix": "."})])
    joined = {"class": "File", "location": "file:///storage/o/join/joined.txt", "basename": "joined.txt"}
    fake.xcoms.update({("o", "join", -1, "return_value"): {"joined": joined},
                       ("o", "shout__scatter", -1, "shape"): [2],
                       ("o", "shout", 0, "return_value"): {"text": "x."},
                       ("o", "shout", 1, "return_value"): {"text": "y."}})
    outputs = prepared.outputs("o")
    assert outputs["joined"]["location"] == joined["location"] and outputs["texts"] == ["x.", "y."]


def test_annotate_cuts_the_note_to_airflows_limit(prepared, fake):
    prepared.submit([RunRequest(run_id="n", conf={})])
    prepared.annotate("n", "x" * 1500)
    assert fake.runs["n"]["note"] == "x" * 1000


def test_cancel_fails_only_unfinished_runs(prepared, fake):
    prepared.submit([RunRequest(run_id=r, conf={}) for r in ("run", "done")])
    fake.runs["run"]["state"], fake.runs["done"]["state"] = "running", "success"
    prepared.cancel(["run", "done", "never"])
    prepared.cancel(["run"])  # idempotent
    patches = [c for c in fake.calls if c[0] == "PATCH" and "/dagRuns/" in c[1]]
    assert patches == [("PATCH", f"/api/v2/dags/{prepared.dag_id}/dagRuns/run", {"state": "failed"})]
    assert fake.runs["done"]["state"] == "success"


def test_cancel_with_airflow_gone_warns_once_and_returns(prepared, fake, caplog):
    prepared.submit([RunRequest(run_id=r, conf={}) for r in ("a", "b")])
    prepared.client._retry_s = 0.05

    def gone(fake: FakeAirflow, method: str, path: str) -> None:
        raise httpx.ConnectError("[Errno 111] Connection refused")

    fake.on_call = gone
    with caplog.at_level(logging.WARNING):
        prepared.cancel(["a", "b"])  # an interruption unwinding: no new error on top of it
    assert caplog.text.count("could not cancel") == 1 and "cannot reach Airflow at" in caplog.text


def test_it_is_a_backend_that_imports_no_airflow_to_check_a_deployed_dag(backend):
    import subprocess
    import sys

    from saber.backends import Backend

    assert isinstance(backend, Backend) and backend.name == "airflow"
    probe = ("import sys; import saber.backends.remote._backend, saber.backends.remote._sync; "
             "print('airflow' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "False"


def test_the_client_accepts_the_api_url_itself():
    client = AirflowClient("https://user:pw@airflow.test/base/api/v2/")
    assert client.url == client.shown == "https://airflow.test/base"  # no credentials from the URL
    client.close()


def test_a_gpu_pool_too_small_for_a_step_is_refused(backend, fake, plan):
    plan["steps"][1]["resources"].update(pool="saber_gpu", gpus=2)
    fake.dag(plan["dag_id"], _digest(plan))
    fake.pools["saber_gpu"] = {"name": "saber_gpu", "slots": 1}
    backend.start()
    with pytest.raises(SaberError, match=r"needs 2 GPU\(s\) but pool 'saber_gpu' on .* has 1 slot\(s\)") as caught:
        backend.prepare(plan)
    _one_sentence(str(caught.value))
