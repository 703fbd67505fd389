"""`saber dag -o DIR`: dropping DIR's two files into another Airflow's dags folder is all it takes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from saber_testing import DATA, ROOT, files_holding, needs_docker, run_saber

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow]


def test_dag_runs_in_a_separate_airflow(saber_home, tmp_path):
    dags = tmp_path / "dags"
    result = run_saber("dag", str(DATA / "cwl" / "scatter_wf.cwl"), "-o", str(dags))
    assert result.returncode == 0, result.stderr
    plan = json.loads(next(dags.glob("*.plan.json")).read_text())
    home = tmp_path / "airflow"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SABER", "_SABER"))}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__DAGS_FOLDER=str(dags),
               AIRFLOW__CORE__LOAD_EXAMPLES="False", SABER_STORAGE=str(tmp_path / "storage"))
    airflow = [sys.executable, "-m", "airflow"]
    migrate = subprocess.run([*airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    test = subprocess.run([*airflow, "dags", "test", plan["dag_id"], "-c",
                           json.dumps({"messages": ["own", "airflow"], "suffix": "."})],
                          env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    output = test.stdout + test.stderr
    assert test.returncode == 0, output[-3000:]
    assert "state=success" in output or "success" in output.lower()
    joined = list((tmp_path / "storage" / plan["dag_id"]).glob("*/join/joined.txt"))
    assert len(joined) == 1 and joined[0].read_text() == "own. x 1\nairflow. x 1\n"
    assert ROOT  # the DAG file itself references no path of this checkout but the workflow's source


def test_a_secret_from_an_airflow_variable(saber_home, tmp_path):
    """On one's own Airflow, a secret input is an Airflow Variable (encrypted) named in the
    trigger's conf as `$saber:secret:KEY`; the tool gets the value, the logs do not."""
    import hashlib
    import secrets as random

    dags = tmp_path / "dags"
    result = run_saber("dag", str(DATA / "cwl" / "secret_env.cwl"), "-o", str(dags))
    assert result.returncode == 0, result.stderr
    plan = json.loads(next(dags.glob("*.plan.json")).read_text())
    token = "own-" + random.token_hex(12)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SABER", "_SABER", "BOSSDB"))}
    env.update(AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__DAGS_FOLDER=str(dags),
               AIRFLOW__CORE__LOAD_EXAMPLES="False", SABER_STORAGE=str(tmp_path / "storage"))
    airflow = [sys.executable, "-m", "airflow"]
    for command in (["db", "migrate"], ["variables", "set", "lab_boss_token", token]):
        done = subprocess.run([*airflow, *command], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    test = subprocess.run([*airflow, "dags", "test", plan["dag_id"], "-c",
                           json.dumps({"token": "$saber:secret:lab_boss_token"})],
                          env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert test.returncode == 0, (test.stdout + test.stderr)[-3000:]
    [seen] = (tmp_path / "storage" / plan["dag_id"]).glob("*/secret_env/seen.json")
    assert json.loads(seen.read_text())["sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in test.stdout + test.stderr
    assert not files_holding(tmp_path / "airflow" / "logs", token)
