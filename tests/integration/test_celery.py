"""`saber run --airflow` on a CeleryExecutor deployment (tests/airflow_deployment.py with Celery
workers): Redis, PostgreSQL, api-server, scheduler, dag-processor and two workers that share no
storage folder, `cpu` on the default queue and `gpu` on queue `gpu`, whose PATH has a fake
`nvidia-smi` listing two GPUs and a `docker` shim recording each `docker run`
(tests/gpu_testing.py). Files pass between them only through the run's S3 storage. The last
tests add a third worker, `spare`, on the default queue: a scatter spreads over both CPU workers,
and a task whose worker is killed is tried again on the other."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from airflow_deployment import CeleryWorker, Deployment, airflow_deployment, another_worker, kill_worker
from gpu_testing import FakeGpus, fake_gpus
from saber_testing import DATA, ROOT, needs_docker, run_saber, saber_sleeping, sleepers, yaml_writer

from saber.storage import MARKER

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(900)]

WORKFLOW = DATA / "cwl" / "cpu_gpu_wf.cwl"
DEVICES = ('"device=0"', '"device=1"')
# A task whose worker vanished is failed by the scheduler's heartbeat check after this long, then
# tried again (saber's DAGs give each task one such retry); Airflow's default is 300 s.
HEARTBEAT_TIMEOUT_S = 30


@dataclass(frozen=True)
class Celery:
    dep: Deployment
    gpus: FakeGpus  # the gpu worker's nvidia-smi and docker shim
    storage: dict[str, Path]  # each worker's own SABER_STORAGE (cpu, gpu and spare)
    root: Path
    worker_env: dict[str, str]  # what every worker has besides its own storage and home


@pytest.fixture(scope="module")
def celery(tmp_path_factory: pytest.TempPathFactory, postgres_url: str, s3_server) -> Iterator[Celery]:
    root = tmp_path_factory.mktemp("celery-deployment")
    gpus = fake_gpus(root / "gpu-machine", 2)
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])  # as the deployment's
    storage = {name: root / name / "storage" for name in ("cpu", "gpu", "spare")}
    workers = [_worker(root, name, queue, {**s3_server.env, **(gpus.env(path) if name == "gpu" else {})})
               for name, queue in (("cpu", "default"), ("gpu", "gpu"))]
    timeouts = {"AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_S),
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2"}
    with airflow_deployment(root, postgres_url, parallelism=4, workers=workers, extra_env=timeouts) as dep:
        with dep.client() as api:  # two GPUs: two GPU tasks at once (saber would create it with 1 slot)
            api.post("/pools", json={"name": "saber_gpu", "slots": 2}).raise_for_status()
        yield Celery(dep, gpus, storage, root, dict(s3_server.env))


def _worker(root: Path, name: str, queue: str, env: dict[str, str]) -> CeleryWorker:
    """A worker with its own storage folder and saber home; ``env``: S3 credentials and endpoint
    only (the bucket is in each run's conf), a fake nvidia-smi..."""
    return CeleryWorker(name, queues=(queue,), concurrency=2,
                        env={"SABER_STORAGE": str(root / name / "storage"), "SABER_HOME": str(root / name / "home"),
                             **env})


@pytest.fixture(scope="module")
def spare(celery: Celery) -> Iterator[subprocess.Popen]:
    """A second worker on the default queue (for the last tests of this module only: before
    them, every CPU step must run on `cpu`)."""
    with another_worker(celery.dep, _worker(celery.root, "spare", "default", celery.worker_env)) as process:
        yield process


def _run(celery: Celery, tmp_path: Path, job: str, workflow: Path = WORKFLOW, *extra: str,
         env: dict | None = None) -> tuple[dict, list[dict]]:
    """`saber run` of the workflow with ``job``: its point and the task instances of its DAG run."""
    summary = _saber(celery, tmp_path, str(workflow), "--job", str(yaml_writer(tmp_path, "job.yml")(job)), *extra,
                     env=env)
    [point] = summary["points"]
    return point, _task_instances(celery.dep, summary["dag_id"], point["dag_run_id"])


def _saber(celery: Celery, tmp_path: Path, *args: str, env: dict | None = None) -> dict:
    """`saber run ARGS` on the deployment, outputs in tmp_path/out: its summary."""
    dep = celery.dep
    result = run_saber("run", *args, "--no-cache", "--outdir", str(tmp_path / "out"), "--dags-folder", str(dep.dags),
                       env=_client_env(dep, env))
    assert result.returncode == 0, f"{result.stderr[-3000:]}\n{dep.logs()}"
    return json.loads((tmp_path / "out" / "summary.json").read_text())


def _client_env(dep: Deployment, env: dict | None = None) -> dict[str, str]:
    return {"SABER_AIRFLOW_USERNAME": dep.username, "SABER_AIRFLOW_PASSWORD": dep.password,
            "SABER_AIRFLOW_URL": dep.url, **(env or {})}


def _task_instances(dep: Deployment, dag_id: str, run_id: str) -> list[dict]:
    with dep.client() as api:
        got = api.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})
        got.raise_for_status()
    return got.json()["task_instances"]


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
    for name in ("cpu", "gpu"):
        assert {step.name for step in celery.storage[name].glob(f"*/{point['dag_run_id']}/*")} == {name}
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


def test_gpu_tasks_never_share_a_device(celery: Celery, tmp_path: Path) -> None:
    """Five one-GPU tasks and a two-GPU task, all ready at once, on a worker with two GPUs."""
    started = time.time()
    point, tis = _run(celery, tmp_path, "items: [1, 2, 3, 4, 5]\nnap: 3\n", DATA / "cwl" / "gpu_mix_wf.cwl")
    assert point["state"] == "success" and len(point["outputs"]["said"]) == 5
    assert _where(tis, "one") == _where(tis, "two") == {("gpu", "gpu", "saber_gpu")}, tis
    runs = [(start, end, _device_ids(gpus)) for start, end, gpus, _ in celery.gpus.runs() if start >= started]
    assert sorted(len(ids) for _, _, ids in runs) == [1, 1, 1, 1, 1, 2], runs
    assert {ids for _, _, ids in runs if len(ids) == 2} == {("0", "1")}, runs  # two distinct devices
    assert {ids for _, _, ids in runs if len(ids) == 1} == {("0",), ("1",)}, runs  # both in use
    for device in ("0", "1"):
        spans = sorted((start, end) for start, end, ids in runs if device in ids)
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), (device, runs)


def _device_ids(gpus: str) -> tuple[str, ...]:
    """('0', '1') from the `--gpus` value '"device=0,1"'."""
    found = re.fullmatch(r'"?device=([\d,]+)"?', gpus)
    assert found, gpus
    return tuple(found.group(1).split(","))


def test_cores_hold_pool_slots_so_a_worker_is_not_oversubscribed(celery: Celery, tmp_path: Path) -> None:
    """Two steps of 2 cores each (ResourceRequirement.coresMin) with 3 slots in the pool: the
    `cpu` worker has 2 Celery slots, but the second step waits for the first (a pool sized to
    the workers' cores bounds them; each task holds one slot per core)."""
    with celery.dep.client() as api:
        api.patch("/pools/default_pool", params={"update_mask": "slots"},
                  json={"name": "default_pool", "slots": 3}).raise_for_status()
    try:
        point, tis = _run(celery, tmp_path, "items: [1, 2]\nnap: 4\n", DATA / "cwl" / "two_cores_wf.cwl")
    finally:
        with celery.dep.client() as api:
            api.patch("/pools/default_pool", params={"update_mask": "slots"},
                      json={"name": "default_pool", "slots": 128}).raise_for_status()
    assert point["state"] == "success" and point["outputs"]["said"] == ["1", "2"], point
    busy = sorted((ti["start_date"], ti["end_date"], ti["pool_slots"], ti["hostname"])
                  for ti in tis if ti["task_id"] == "busy")
    assert [(slots, host) for _, _, slots, host in busy] == [(2, "cpu"), (2, "cpu")], busy
    (_, first_end, _, _), (second_start, _, _, _) = busy
    assert first_end <= second_start, busy  # ISO 8601 in UTC: ordered as text


@pytest.mark.s3
def test_the_sample_sweep_gives_the_embedded_runs_outputs(celery: Celery, s3_server, saber_home,
                                                         tmp_path: Path) -> None:
    """The README's sample sweep through the Celery workers with its run data on S3: the same
    outputs, byte for byte, as on the embedded default."""
    bucket = s3_server.new_bucket()
    sample = (str(ROOT / "workflows" / "blob_count.cwl"), str(ROOT / "sweeps" / "blob_count.yml"))
    embedded = run_saber("run", *sample, "--no-cache", "--outdir", str(tmp_path / "embedded"))
    assert embedded.returncode == 0, embedded.stderr[-3000:]
    summary = _saber(celery, tmp_path, *sample, "--storage", f"s3://{bucket}/sample", env=s3_server.env)
    local = json.loads((tmp_path / "embedded" / "summary.json").read_text())
    assert [p["state"] for p in summary["points"]] == ["success"] * 4, summary["points"]
    for ours, theirs in zip(summary["points"], local["points"], strict=True):
        assert ours["params"] == theirs["params"]
        assert ours["outputs"]["best_f1"] == theirs["outputs"]["best_f1"]
        assert ours["outputs"]["counts"] == theirs["outputs"]["counts"]
        assert _file(ours["outputs"]["report"]) == _file(theirs["outputs"]["report"]) != b""
    tis = _task_instances(celery.dep, summary["dag_id"], summary["points"][0]["dag_run_id"])
    assert {ti["hostname"] for ti in tis} == {"cpu"}, tis


@pytest.mark.s3
def test_a_scatter_of_50_spreads_over_both_cpu_workers(celery: Celery, spare, s3_server, tmp_path: Path) -> None:
    bucket = s3_server.new_bucket()
    messages = [f"m{i}" for i in range(50)]
    point, tis = _run(celery, tmp_path, f"messages: {json.dumps(messages)}\n", DATA / "cwl" / "scatter_wf.cwl",
                      "--storage", f"s3://{bucket}/fifty", env=s3_server.env)
    assert point["state"] == "success", point
    assert point["outputs"]["texts"] == [f"{m}! x 1" for m in messages]
    assert (tmp_path / "out" / "point-0000" / "joined.txt").read_text().splitlines() == point["outputs"]["texts"]
    shouts = [ti for ti in tis if ti["task_id"] == "shout"]
    assert len(shouts) == 50 and {ti["state"] for ti in shouts} == {"success"}
    hosts = {ti["hostname"] for ti in shouts}
    assert hosts == {"cpu", "spare"}, sorted((ti["map_index"], ti["hostname"]) for ti in shouts)


@pytest.mark.s3
def test_a_task_whose_worker_is_killed_runs_again_on_the_other(celery: Celery, spare, s3_server,
                                                              tmp_path: Path) -> None:
    """SIGKILL to every process of the worker running a step (its machine gone): the scheduler
    finds the task without a heartbeat, the other worker of its queue runs it again, the run
    succeeds, and the step's folder on S3 holds the outputs of that one try only."""
    bucket = s3_server.new_bucket()
    dep = celery.dep
    client = subprocess.Popen(
        [sys.executable, "-m", "saber", "run", str(DATA / "cwl" / "slow_file.cwl"), "--job",
         str(yaml_writer(tmp_path, "job.yml")("nap: 12\n")), "--no-cache", "--outdir", str(tmp_path / "out"),
         "--dags-folder", str(dep.dags), "--storage", f"s3://{bucket}/killed"],
        cwd=ROOT, env={**os.environ, **_client_env(dep, s3_server.env)}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        first = _running_task(dep, "slow_file", client)
        time.sleep(4)  # well inside its container's 12 s
        victim = first["hostname"]
        killed = kill_worker(dep, victim)
        assert killed, f"no process of worker {victim}"
        out, _ = client.communicate(timeout=HEARTBEAT_TIMEOUT_S + 240)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
        _kill_orphans(celery.storage)  # the first try's container outlived its worker
    assert client.returncode == 0, f"{out[-3000:]}\n{dep.logs()}"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    [point] = summary["points"]
    [ti] = [t for t in _task_instances(dep, summary["dag_id"], point["dag_run_id"]) if t["task_id"] == "slow_file"]
    assert ti["try_number"] == 2 and ti["state"] == "success", ti
    assert ti["hostname"] == ({"cpu", "spare"} - {victim}).pop(), ti  # the worker its queue allows
    # the step's folder on S3: the second try's file and its manifest, nothing of the first try
    prefix = f"killed/{summary['dag_id']}/{point['dag_run_id']}/slow_file/"
    s3 = s3_server.client()
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))
    assert keys == [prefix + MARKER, prefix + "made.txt"], keys
    made = s3.get_object(Bucket=bucket, Key=prefix + "made.txt")["Body"].read()
    assert (tmp_path / "out" / "point-0000" / "made.txt").read_bytes() == made and len(made) == 32
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=prefix + MARKER)["Body"].read())
    assert list(manifest["files"]) == ["made.txt"], manifest
    # the killed try made its own file, which never left its worker
    first_tries = list(celery.storage[victim].glob(f"{summary['dag_id']}/{point['dag_run_id']}/**/made.txt"))
    assert all(f.read_bytes() != made for f in first_tries), first_tries


def _running_task(dep: Deployment, task_id: str, client: subprocess.Popen, timeout: float = 120) -> dict:
    """The task instance ``task_id`` once it runs on a worker (any DAG run of the deployment)."""
    deadline = time.monotonic() + timeout
    with dep.client() as api:
        while time.monotonic() < deadline:
            assert client.poll() is None, client.communicate()[0][-3000:]
            got = api.get("/dags/~/dagRuns/~/taskInstances", params={"state": "running", "limit": 100})
            got.raise_for_status()
            for ti in got.json()["task_instances"]:
                if ti["task_id"] == task_id and ti["hostname"]:
                    return ti
            time.sleep(0.5)
    raise AssertionError(f"{task_id} never ran\n{dep.logs()}")


def _kill_orphans(storage: dict[str, Path]) -> None:
    ids = [cid.read_text().strip() for folder in storage.values() for cid in folder.glob(".work/**/*.cid")]
    if ids := [i for i in ids if i]:
        subprocess.run(["docker", "kill", *ids], capture_output=True, timeout=60)


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


def _file(value: dict) -> bytes:
    """The bytes of an output File of summary.json (downloaded to --outdir)."""
    return Path(value.get("path") or unquote(urlparse(value["location"]).path)).read_bytes()


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""
