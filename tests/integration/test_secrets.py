"""Secret inputs (cwltool:Secrets): the tool gets the value through its environment, and the
plain value is nowhere in saber's state - DAG files, plans, conf, XCom, logs, summaries,
Airflow's database (where Airflow keeps it encrypted)."""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path

import pytest

from saber_testing import DATA, HOME, files_holding, needs_docker, run_saber, yaml_writer

pytestmark = [needs_docker, pytest.mark.docker]
CWL = DATA / "cwl"


def _plan(path: Path) -> dict:
    from saber.cwl import build_plan, load_process

    return build_plan(load_process(path), path=path)


def _secret_variables() -> list[str]:
    """The keys of the home's Variables that hold a secret input of a saber run."""
    from airflow import settings
    from airflow.models import Variable

    session = settings.Session()
    try:
        return [key for (key,) in session.query(Variable.key) if key.startswith("saber_secret_")]
    finally:
        session.close()


def _seen(file: dict) -> dict:
    """What secret_env.cwl's tool printed, from its `seen` File output."""
    from urllib.parse import unquote, urlparse

    path = file.get("path") or unquote(urlparse(file["location"]).path)
    return json.loads(Path(path).read_text())


def test_secret_reaches_the_container_through_its_environment_only(tmp_path, monkeypatch):
    import cwltool.job

    from saber.execution import run_tool

    token = "tok-" + secrets.token_hex(12)
    launched = []
    popen = cwltool.job._job_popen

    def spy(commands, *args, **kwargs):
        launched.append((list(commands), dict(kwargs.get("env") or {})))
        return popen(commands, *args, **kwargs)

    monkeypatch.setattr(cwltool.job, "_job_popen", spy)
    step = _plan(CWL / "secret_env.cwl")["steps"][0]
    run = run_tool(step, {"token": token, "label": "plain"}, outdir=tmp_path / "out", workdir=tmp_path / "work")
    seen = _seen(run.outputs["seen"])
    assert seen["len"] == len(token) and seen["sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert seen["argv"] == ["plain"]
    [(commands, env)] = launched
    assert "--env=API_TOKEN" in commands and env["API_TOKEN"] == token
    assert not [c for c in commands if token in c], "the token is on docker's command line"
    # NetworkAccess: host networking, so a server on the host's loopback is reachable.
    assert "--net=host" in commands and len(seen["net"]) > 1
    assert token not in run.stdout + run.stderr
    assert not files_holding(tmp_path, token)


def test_tool_without_network_access_gets_no_network(tmp_path):
    from saber.execution import run_tool

    step = _plan(CWL / "secret_env.cwl")["steps"][0]
    step["requirements"] = [r for r in step["requirements"] if r["class"] != "NetworkAccess"]
    step["tool"]["requirements"] = [r for r in step["tool"]["requirements"] if r["class"] != "NetworkAccess"]
    run = run_tool(step, {"token": "t"}, outdir=tmp_path / "out", workdir=tmp_path / "work")
    assert _seen(run.outputs["seen"])["net"] == ["lo"]


@pytest.mark.slow
def test_saber_run_keeps_the_secret_out_of_its_state(saber_home, tmp_path):
    from airflow import settings
    from airflow.models import DagRun, Variable

    from saber.plan import REF_PREFIX

    token = "tok-" + secrets.token_hex(12)
    job = yaml_writer(tmp_path, "job.yml")(f"api_key: {token}\nlabel: plain\n")
    out = tmp_path / "out"
    result = run_saber("run", str(CWL / "secret_wf.cwl"), "--job", str(job), "--outdir", str(out))
    assert result.returncode == 0, result.stderr
    assert token not in result.stdout + result.stderr
    summary = json.loads((out / "summary.json").read_text())
    [point] = summary["points"]
    seen = _seen(point["outputs"]["seen"])
    assert seen["sha256"] == hashlib.sha256(token.encode()).hexdigest()
    # The run's conf holds a reference; the Variable it names was removed when `saber run` ended,
    # and no other secret of a saber run is left (every test of the session used this home).
    session = settings.Session()
    try:
        run = session.query(DagRun).filter_by(dag_id=summary["dag_id"], run_id=point["dag_run_id"]).one()
        ref = run.conf["api_key"]
        assert ref.startswith(REF_PREFIX)
        assert session.query(Variable).filter_by(key=ref.removeprefix(REF_PREFIX)).one_or_none() is None
    finally:
        session.close()
    assert not _secret_variables()
    # Nowhere in plain text: DAG files, plans, Airflow's database, task logs, run storage,
    # the results store, the outdir (job.yml itself is the user's).
    job.unlink()
    assert not files_holding(HOME.root, token)
    assert not files_holding(tmp_path, token)


def test_variables_are_encrypted_and_deleted(saber_home):
    from airflow import settings
    from airflow.models import Variable

    from saber.backends.embedded._compat import delete_variables, store_variables

    token, key = "tok-" + secrets.token_hex(12), "saber_secret_" + secrets.token_hex(8)
    store_variables({key: token})
    session = settings.Session()
    try:
        stored = session.query(Variable).filter_by(key=key).one()
        assert stored.is_encrypted and stored.val == token  # Airflow's Fernet key
        delete_variables([key, key + "_never_stored"])
        session.expire_all()
        assert session.query(Variable).filter_by(key=key).one_or_none() is None
    finally:
        session.close()


@pytest.mark.slow
def test_token_from_the_environment(saber_home, tmp_path):
    token = "env-" + secrets.token_hex(12)
    out = tmp_path / "out"
    result = run_saber("run", str(CWL / "secret_env.cwl"), "--outdir", str(out), env={"BOSSDB_TOKEN": token})
    assert result.returncode == 0, result.stderr
    [point] = json.loads((out / "summary.json").read_text())["points"]
    assert _seen(point["outputs"]["seen"])["sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert not files_holding(HOME.root, token)
    assert not _secret_variables()  # removed when `saber run` ended


def test_a_sweep_cannot_set_a_secret(tmp_path):
    sweep = yaml_writer(tmp_path, "sweep.yml")("api_key: [a, b]\n")
    result = run_saber("run", str(CWL / "secret_wf.cwl"), str(sweep), "--outdir", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "sweep.yml" in result.stderr and "'api_key'" in result.stderr and "secret" in result.stderr


def test_a_missing_secret_names_where_it_may_come_from(tmp_path):
    result = run_saber("run", str(CWL / "secret_env.cwl"), "--outdir", str(tmp_path / "o"),
                       env={"BOSSDB_TOKEN": "", "SABER_SECRET_TOKEN": ""})
    assert result.returncode == 2
    assert "'token'" in result.stderr and "$BOSSDB_TOKEN or $SABER_SECRET_TOKEN" in result.stderr
