"""`saber run --airflow URL` on a real deployment (tests/conftest.py's session deployment: its own
AIRFLOW_HOME, PostgreSQL, api-server, scheduler, dag-processor, LocalExecutor, its own run
storage): every point or trial is a DAG run of that Airflow, run by its scheduler."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from airflow_deployment import Deployment
from saber_testing import DATA, HOME, files_holding, needs_docker, run_saber, saber_sleeping, sleepers, yaml_writer

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(900)]

QUADRATIC = DATA / "cwl" / "quadratic.cwl"


@pytest.fixture
def dep(airflow_deployment: Deployment) -> Deployment:
    return airflow_deployment


def _env(dep: Deployment, **extra: str) -> dict[str, str]:
    return {"SABER_AIRFLOW_USERNAME": dep.username, "SABER_AIRFLOW_PASSWORD": dep.password,
            "SABER_AIRFLOW_URL": dep.url, **extra}


def _saber(dep: Deployment, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real command line, on the session's client home, against the deployment."""
    return run_saber("run", *args, "--dags-folder", str(dep.dags), env={**_env(dep), **(env or {})})


def _runs(dep: Deployment, dag_id: str) -> dict[str, dict]:
    with httpx.Client(base_url=dep.url, headers={"Authorization": f"Bearer {dep.token()}"}) as api:
        got = api.get(f"/api/v2/dags/{dag_id}/dagRuns", params={"limit": 100}).json()
    return {r["dag_run_id"]: r for r in got["dag_runs"]}


def _summary(outdir: Path) -> dict:
    return json.loads((outdir / "summary.json").read_text())


def test_the_readme_sample_sweep(dep: Deployment, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _saber(dep, "workflows/blob_count.cwl", "sweeps/blob_count.yml", "--outdir", str(out),
                    "--study", "own-readme")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = _summary(out)
    assert [p["state"] for p in summary["points"]] == ["success"] * 4
    runs = _runs(dep, summary["dag_id"])
    assert {p["dag_run_id"] for p in summary["points"]} <= set(runs)  # the deployment's own runs
    assert all(runs[p["dag_run_id"]]["state"] == "success" for p in summary["points"])
    assert "saber study own-readme, trial" in runs[summary["points"][0]["dag_run_id"]]["note"]
    report = out / "point-0000" if (out / "point-0000").exists() else out / "trial-0000"
    assert any(report.iterdir())  # outputs copied from the deployment's run storage
    shown = run_saber("results", "own-readme", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert len(json.loads(shown.stdout)["trials"]) == 4


def test_a_tpe_study_resumes_and_a_failing_trial_says_why(dep: Deployment, tmp_path: Path) -> None:
    write = yaml_writer(tmp_path, "sweep.yml")
    job = yaml_writer(tmp_path, "job.yml")("fail_above: 0.95\n")
    sweep = write("x: {uniform: {low: 0.0, high: 1.0}}\nsampler: {method: tpe, max_iterations: 4, batch_size: 2, seed: 5}\n")
    first = _saber(dep, str(QUADRATIC), str(sweep), "--job", str(job), "--study", "own-tpe",
                   "--outdir", str(tmp_path / "a"))
    assert first.returncode in (0, 1), first.stderr[-3000:]
    sweep = write("x: {uniform: {low: 0.0, high: 1.0}}\nsampler: {method: tpe, max_iterations: 6, batch_size: 2, seed: 5}\n")
    again = _saber(dep, str(QUADRATIC), str(sweep), "--job", str(job), "--study", "own-tpe",
                   "--outdir", str(tmp_path / "b"))
    assert again.returncode in (0, 1), again.stderr[-3000:]
    shown = json.loads(run_saber("results", "own-tpe", "--format", "json").stdout)
    assert len(shown["trials"]) == 6 and shown["best"] is not None
    assert all(t["duration_s"] > 0 for t in shown["trials"])  # from the deployment's run dates
    # a trial above fail_above fails with the tool's own sentence on its trial line
    forced = write("x: [0.99]\nsampler: {method: grid}\n")
    failed = _saber(dep, str(QUADRATIC), str(forced), "--job", str(job), "--study", "own-fail",
                    "--outdir", str(tmp_path / "c"))
    assert failed.returncode == 1
    assert "trial 0: {\"x\": 0.99} failed: step 'quadratic' failed: x above fail_above" in \
        " ".join(failed.stderr.split()), failed.stderr


def test_a_secret_is_nowhere_but_in_the_deployments_variables(dep: Deployment, tmp_path: Path) -> None:
    import secrets

    token = "own-" + secrets.token_hex(12)
    result = _saber(dep, str(DATA / "cwl" / "secret_env.cwl"), "--outdir", str(tmp_path / "out"),
                    env={"BOSSDB_TOKEN": token})
    assert result.returncode == 0, result.stderr[-3000:]
    [seen] = (tmp_path / "out").glob("point-0000/seen.json")
    import hashlib

    assert json.loads(seen.read_text())["sha256"] == hashlib.sha256(token.encode()).hexdigest()
    dump = tmp_path / "airflow.sql"
    with dump.open("w") as f:
        subprocess.run(_pg_dump(dep), stdout=f, check=True, timeout=120)
    for place in (dep.home, dump, HOME.root, tmp_path / "out", dep.storage):
        assert not files_holding(place, token), place
    assert token not in result.stdout + result.stderr


def _pg_dump(dep: Deployment) -> list[str]:
    import shutil

    tool = shutil.which("pg_dump") or str(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))[-1])
    url = dep.database_url.replace("postgresql+psycopg2://", "postgresql://")
    command = [tool, "--data-only", url]
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_a_stop_fails_the_runs_and_kills_the_containers(dep: Deployment, tmp_path: Path, signum: int,
                                                         code: int) -> None:
    sweep_id = f"own-stop-{signum}"
    proc = saber_sleeping("--outdir", str(tmp_path / "o"), "--study", sweep_id, "--dags-folder", str(dep.dags),
                          env=_env(dep))
    os.kill(proc.pid, signum)  # only saber: the deployment's processes are not its children
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == code, output
    assert "Traceback" not in output
    deadline = time.monotonic() + 60  # the deployment's worker notices, on_kill kills the container
    while sleepers() and time.monotonic() < deadline:
        time.sleep(1)
    assert sleepers() == 0
    plan = json.loads(next(dep.dags.glob("saber_sleep_*.plan.json")).read_text())
    assert _runs(dep, plan["dag_id"])[f"{sweep_id}_p0000"]["state"] == "failed"


def test_a_deployed_dag_with_another_plan_is_refused(dep: Deployment, tmp_path: Path) -> None:
    folder = tmp_path / "lab"
    folder.mkdir()
    tool = folder / "stale_tool.cwl"
    tool.write_text((DATA / "cwl" / "quadratic.cwl").read_text())
    deployed = run_saber("dag", str(tool), "-o", str(dep.dags))
    assert deployed.returncode == 0, deployed.stderr
    tool.write_text(tool.read_text().replace("starting", "starting again"))  # the workflow changed since
    result = run_saber("run", str(tool), "--job", str(yaml_writer(tmp_path, "j.yml")("x: 0.5\n")), env=_env(dep))
    assert result.returncode == 2, result.stderr
    assert "runs another version of the workflow" in " ".join(result.stderr.split())


def test_a_wrong_password_is_one_sentence_before_any_run(dep: Deployment, tmp_path: Path) -> None:
    result = _saber(dep, str(QUADRATIC), "--job", str(yaml_writer(tmp_path, "j.yml")("x: 0.5\n")),
                    env={"SABER_AIRFLOW_PASSWORD": "not-the-password"})
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert message.startswith("saber: ") and "not-the-password" not in message and "Traceback" not in message
    assert "password" in message.lower() or "credentials" in message.lower(), message


def test_a_hand_made_conf_with_a_typo_fails_naming_the_key(dep: Deployment, tmp_path: Path) -> None:
    """A run triggered through REST (as the UI's Trigger form does) whose conf names no input."""
    deployed = run_saber("dag", str(QUADRATIC), "-o", str(dep.dags))
    assert deployed.returncode == 0, deployed.stderr
    dag_id = json.loads(next(dep.dags.glob("saber_quadratic_*.plan.json")).read_text())["dag_id"]
    with httpx.Client(base_url=dep.url, headers={"Authorization": f"Bearer {dep.token()}"}) as api:
        deadline = time.monotonic() + 60
        while api.get(f"/api/v2/dags/{dag_id}").status_code != 200:
            assert time.monotonic() < deadline, "the deployment never parsed the DAG"
            time.sleep(1)
        api.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False}).raise_for_status()
        run_id = f"typo_{time.time_ns()}"
        api.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"dag_run_id": run_id, "logical_date": None,
                                                         "conf": {"x": 0.5, "fail_abve": 1.0}}).raise_for_status()
        while (run := api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json())["state"] not in ("success", "failed"):
            assert time.monotonic() < deadline + 120, run
            time.sleep(1)
        assert run["state"] == "failed"
        log = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/quadratic/logs/1").json()
    text = json.dumps(log)
    assert "names 'fail_abve', which is no input of workflow 'quadratic'; its inputs are: fail_above, x" in text, text[-3000:]
