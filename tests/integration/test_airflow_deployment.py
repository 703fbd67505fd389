"""tests/airflow_deployment.py starts a real Airflow (api-server, scheduler, dag-processor on
PostgreSQL) that runs a plain Airflow DAG through the REST API, and leaves nothing behind."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from airflow_deployment import Deployment, airflow_deployment

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SQUARES = '''
import os
from pathlib import Path

from airflow.sdk import DAG, task

with DAG("deployment_squares", schedule=None, tags=["test"]) as dag:
    @task
    def numbers(dag_run=None):
        return dag_run.conf["numbers"]

    @task
    def square(x, ti=None):
        ti.xcom_push(key="score", value=x / 10)
        return x * x

    @task
    def total(squares, ti=None):
        # The deployment's own storage, not the client's.
        Path(os.environ["SABER_STORAGE"], "total.txt").write_text(str(sum(squares)))
        ti.xcom_push(key="info", value={"n": len(squares), "none": None})
        return sum(squares)

    total(square.expand(x=numbers()))
'''

SLEEPER = '''
import time

from airflow.sdk import DAG, task

with DAG("deployment_sleeper", schedule=None) as dag:
    @task
    def sleep():
        time.sleep(300)

    sleep()
'''


@pytest.fixture
def deployment(airflow_deployment: Deployment) -> Deployment:
    return airflow_deployment  # the session's (tests/conftest.py)


def test_stopping_leaves_no_process_and_no_database(tmp_path, postgres_url):
    """Even with a task running (its process leads a process group of its own)."""
    with airflow_deployment(tmp_path, postgres_url) as d, d.client() as api:
        _add_dag(d, api, "deployment_sleeper", SLEEPER)
        run = _trigger(api, "deployment_sleeper", {})
        _wait(lambda: _states(api, "deployment_sleeper", run) == ["running"], 60, d, "a running task")
        assert _processes_of(d.home), "no process found by AIRFLOW_HOME: the check below proves nothing"
    started = time.monotonic()
    while _processes_of(d.home) and time.monotonic() - started < 10:
        time.sleep(0.2)
    assert not _processes_of(d.home)
    import sqlalchemy as sa

    engine = sa.create_engine(sa.engine.make_url(d.database_url).set(database="postgres"))
    try:
        with engine.connect() as conn:
            names = conn.execute(sa.text("SELECT datname FROM pg_database")).scalars().all()
    finally:
        engine.dispose()
    assert sa.engine.make_url(d.database_url).database not in names


def test_a_dag_runs_through_the_rest_api(deployment: Deployment):
    with deployment.client() as api:
        assert httpx.get(f"{deployment.url}/api/v2/dags").status_code == 401  # a token is needed
        _add_dag(deployment, api, "deployment_squares", SQUARES)
        run = _trigger(api, "deployment_squares", {"numbers": [1, 2, 3]})
        _wait(lambda: _run_state(api, "deployment_squares", run) in ("success", "failed"), 120,
              deployment, "the run to finish")
        assert _run_state(api, "deployment_squares", run) == "success", deployment.logs()

        def xcom(task_id: str, key: str, map_index: int = -1):
            response = api.get(f"/dags/deployment_squares/dagRuns/{run}/taskInstances/{task_id}"
                               f"/xcomEntries/{key}", params={"map_index": map_index})
            response.raise_for_status()
            return response.json()["value"]

        assert xcom("total", "return_value") == 14
        assert xcom("total", "info") == {"n": 3, "none": None}
        assert [xcom("square", "return_value", i) for i in range(3)] == [1, 4, 9]
        assert xcom("square", "score", 2) == pytest.approx(0.3)
    assert (deployment.storage / "total.txt").read_text() == "14"


def _add_dag(d: Deployment, api: httpx.Client, dag_id: str, source: str) -> None:
    """Write the DAG file, wait until the dag-processor has parsed it, unpause it."""
    (d.dags / f"{dag_id}.py").write_text(textwrap.dedent(source))
    _wait(lambda: api.get(f"/dags/{dag_id}").status_code == 200, 60, d, f"DAG {dag_id} to appear")
    response = api.patch(f"/dags/{dag_id}", json={"is_paused": False})
    assert response.status_code == 200 and response.json()["is_paused"] is False, response.text


def _trigger(api: httpx.Client, dag_id: str, conf: dict) -> str:
    response = api.post(f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
    assert response.status_code == 200, response.text
    return response.json()["dag_run_id"]


def _run_state(api: httpx.Client, dag_id: str, run_id: str) -> str:
    return api.get(f"/dags/{dag_id}/dagRuns/{run_id}").json()["state"]


def _states(api: httpx.Client, dag_id: str, run_id: str) -> list[str]:
    tis = api.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()["task_instances"]
    return [ti["state"] for ti in tis]


def _wait(done, timeout: float, d: Deployment, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{d.logs()}")
        time.sleep(0.3)


def _processes_of(home: Path) -> list[int]:
    """Processes whose environment has AIRFLOW_HOME=home."""
    needle = f"AIRFLOW_HOME={home}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if needle in Path(f"/proc/{entry}/environ").read_bytes().split(b"\0"):
                    found.append(int(entry))
            except OSError:
                pass
    return found
