"""`saber run --airflow` on a CeleryExecutor deployment (tests/airflow_deployment.py with Celery
workers): Redis, PostgreSQL, api-server, scheduler, dag-processor and two workers that share no
storage folder, `cpu` on the default queue and `gpu` on queue `gpu`, whose PATH has a fake
`nvidia-smi` listing two GPUs and a `docker` shim recording each `docker run`
(tests/gpu_testing.py). The workflow passes only strings between its steps (XComs), so it needs
no storage the workers share."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from airflow_deployment import CeleryWorker, Deployment, airflow_deployment
from gpu_testing import FakeGpus, fake_gpus
from saber_testing import DATA, needs_docker, run_saber, saber_sleeping, sleepers, yaml_writer

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(900)]

WORKFLOW = DATA / "cwl" / "cpu_gpu_wf.cwl"
DEVICES = ('"device=0"', '"device=1"')


@dataclass(frozen=True)
class Celery:
    dep: Deployment
    gpus: FakeGpus  # the gpu worker's nvidia-smi and docker shim
    storage: dict[str, Path]  # each worker's own SABER_STORAGE


@pytest.fixture(scope="module")
def celery(tmp_path_factory: pytest.TempPathFactory, postgres_url: str, s3_server) -> Iterator[Celery]:
    root = tmp_path_factory.mktemp("celery-deployment")
    gpus = fake_gpus(root / "gpu-machine", 2)
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])  # as the deployment's
    storage = {name: root / name / "storage" for name in ("cpu", "gpu")}
    workers = [CeleryWorker(name, queues=(queue,), concurrency=2,
                            env={"SABER_STORAGE": str(storage[name]), "SABER_HOME": str(root / name / "home"),
                                 **s3_server.env,  # credentials and endpoint only: the bucket is in each run's conf
                                 **(gpus.env(path) if name == "gpu" else {})})
               for name, queue in (("cpu", "default"), ("gpu", "gpu"))]
    with airflow_deployment(root, postgres_url, parallelism=4, workers=workers) as dep:
        with dep.client() as api:  # two GPUs: two GPU tasks at once (saber would create it with 1 slot)
            api.post("/pools", json={"name": "saber_gpu", "slots": 2}).raise_for_status()
        yield Celery(dep, gpus, storage)


def _run(celery: Celery, tmp_path: Path, job: str, workflow: Path = WORKFLOW, *extra: str,
         env: dict | None = None) -> tuple[dict, list[dict]]:
    """`saber run` of the workflow with ``job``: its point and the task instances of its DAG run."""
    dep = celery.dep
    result = run_saber("run", str(workflow), "--job", str(yaml_writer(tmp_path, "job.yml")(job)), "--no-cache",
                       "--outdir", str(tmp_path / "out"), "--dags-folder", str(dep.dags), *extra,
                       env={"SABER_AIRFLOW_USERNAME": dep.username, "SABER_AIRFLOW_PASSWORD": dep.password,
                            "SABER_AIRFLOW_URL": dep.url, **(env or {})})
    assert result.returncode == 0, f"{result.stderr[-3000:]}\n{dep.logs()}"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    [point] = summary["points"]
    with dep.client() as api:
        got = api.get(f"/dags/{summary['dag_id']}/dagRuns/{point['dag_run_id']}/taskInstances")
        got.raise_for_status()
    return point, got.json()["task_instances"]


def _where(tis: list[dict], task_id: str) -> set[tuple[str, str, str]]:
    return {(ti["hostname"], ti["queue"], ti["pool"]) for ti in tis if ti["task_id"] == task_id}


def test_each_step_runs_on_the_worker_of_its_queue(celery: Celery, tmp_path: Path) -> None:
    before = len(celery.gpus.runs())
    point, tis = _run(celery, tmp_path, "message: hi\nitems: [7]\n")
    assert point["state"] == "success"
    assert point["outputs"] == {"greeting": "hi x 1", "said": ["hi x 1 7"]}  # strings, through XComs
    assert _where(tis, "cpu") == {("cpu", "default", "default_pool")}, tis
    assert _where(tis, "gpu") == {("gpu", "gpu", "saber_gpu")}, tis
    [(_, _, device, argv)] = celery.gpus.runs()[before:]  # the cpu step's container is not the shim's
    assert device in DEVICES and "python3 -c" in argv, argv
    # each worker keeps its own step's folder in its own storage, and only that one
    for name, folder in celery.storage.items():
        assert {step.name for step in folder.glob(f"*/{point['dag_run_id']}/*")} == {name}
    assert not any(celery.dep.storage.iterdir())  # the deployment's default storage: unused
    # the api-server reads a worker's task log from the log folder they share
    [gpu_ti] = [ti for ti in tis if ti["task_id"] == "gpu"]
    with celery.dep.client() as api:
        log = api.get(f"/dags/{gpu_ti['dag_id']}/dagRuns/{gpu_ti['dag_run_id']}/taskInstances/gpu/logs/1",
                      params={"map_index": gpu_ti["map_index"]}, headers={"Accept": "application/json"})
    assert log.status_code == 200 and "[job gpu_echo.cwl] completed success" in log.text, log.text[-2000:]


@pytest.mark.s3
def test_files_pass_between_workers_through_s3(celery: Celery, s3_server, tmp_path: Path) -> None:
    """A file made on the cpu worker is read on the gpu worker and its result back on the cpu
    worker: the workers share no folder, only the run's S3 storage (named in the run's conf)."""
    bucket = s3_server.new_bucket()
    (tmp_path / "notes.txt").write_text("made on the client")
    point, tis = _run(celery, tmp_path, f"notes: {{class: File, path: {tmp_path / 'notes.txt'}}}\n",
                      DATA / "cwl" / "cpu_gpu_files_wf.cwl", "--storage", f"s3://{bucket}/celery",
                      env=s3_server.env)
    assert point["state"] == "success", point
    assert (tmp_path / "out" / "point-0000" / "c.txt").read_text() == "MADE ON THE CLIENT via gpu and back"
    assert _where(tis, "start") == _where(tis, "finish") == {("cpu", "default", "default_pool")}, tis
    assert _where(tis, "middle") == {("gpu", "gpu", "saber_gpu")}, tis
    # each worker's folder holds only its own steps' scratch; the outputs went to S3
    for name, steps in (("cpu", {"start", "finish"}), ("gpu", {"middle"})):
        assert {s.name for s in celery.storage[name].glob(f"*/{point['dag_run_id']}/*")} == steps


def test_gpu_tasks_run_two_at_a_time_never_sharing_a_device(celery: Celery, tmp_path: Path) -> None:
    started = time.time()
    point, tis = _run(celery, tmp_path, "items: [1, 2, 3, 4]\nnap: 3\n")
    assert point["state"] == "success" and len(point["outputs"]["said"]) == 4
    assert _where(tis, "gpu") == {("gpu", "gpu", "saber_gpu")}, tis
    runs = [r for r in celery.gpus.runs() if r[0] >= started]
    assert len(runs) == 4 and {device for _, _, device, _ in runs} == set(DEVICES), runs  # both in use at once
    for device in DEVICES:
        spans = [(start, end) for start, end, d, _ in runs if d == device]
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), (device, runs)


def test_stopping_leaves_no_process_and_no_container(tmp_path: Path, postgres_url: str) -> None:
    """A Celery worker stopped while it runs a step: the deployment's processes, the broker and
    the step's container all go."""
    worker = CeleryWorker("solo", env={"SABER_STORAGE": str(tmp_path / "solo-storage")})
    client = None
    try:
        with airflow_deployment(tmp_path / "d", postgres_url, workers=[worker]) as dep:
            client = saber_sleeping("--outdir", str(tmp_path / "o"), "--dags-folder", str(dep.dags),
                                    env={"SABER_AIRFLOW_USERNAME": dep.username, "SABER_AIRFLOW_PASSWORD": dep.password,
                                         "SABER_AIRFLOW_URL": dep.url})
            port = dep.env["AIRFLOW__CELERY__BROKER_URL"].rsplit(":", 1)[1].split("/")[0]
            broker = _processes_named("redis-server", f"127.0.0.1:{port}")  # its title once started
            assert _processes_of(dep.home) and broker, "nothing found to check below"
    finally:
        if client is not None:  # the client, left waiting for a deployment that is gone
            client.kill()
            client.wait()
    deadline = time.monotonic() + 30
    while (_processes_of(dep.home) or sleepers()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _processes_of(dep.home) and sleepers() == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in broker)


def _processes_of(home: Path) -> list[int]:
    """Processes whose environment has AIRFLOW_HOME=home."""
    needle = f"AIRFLOW_HOME={home}".encode()
    return [pid for pid in _pids() if needle in _read(f"/proc/{pid}/environ").split(b"\0")]


def _processes_named(*words: str) -> list[int]:
    return [pid for pid in _pids() if all(w.encode() in _read(f"/proc/{pid}/cmdline") for w in words)]


def _pids() -> list[int]:
    return [int(e) for e in os.listdir("/proc") if e.isdigit() and int(e) != os.getpid()]


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""
