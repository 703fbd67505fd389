"""A real Airflow deployment for tests, started the way a lab runs one (scripts/airflow-deployment.sh
is the same recipe as a script): a PostgreSQL metadata database, ``airflow db migrate``, then
``api-server``, ``scheduler`` and ``dag-processor`` as separate processes from this virtualenv,
LocalExecutor, SimpleAuthManager, all on 127.0.0.1.

It needs ``asyncpg`` besides ``psycopg2`` (the api-server talks to PostgreSQL through the async
driver). A session fixture in tests/conftest.py::

    from airflow_deployment import Deployment, airflow_deployment as start_airflow

    @pytest.fixture(scope="session")
    def airflow_deployment(tmp_path_factory, postgres_url) -> Iterator[Deployment]:
        \"\"\"A running Airflow (api-server, scheduler, dag-processor) on a fresh PostgreSQL database;
        tests drop DAG files into ``.dags`` and talk to ``.url`` with ``.token()``.\"\"\"
        with start_airflow(tmp_path_factory.mktemp("airflow-deployment"), postgres_url) as deployment:
            yield deployment

With ``workers`` (a list of ``CeleryWorker``, tests/celery_deployment.py) it is a CeleryExecutor
deployment instead: a Redis broker and those ``airflow celery worker`` processes besides, the
Celery result backend in the same database, each worker with its own name, queues, concurrency
and environment.

Starting takes ≈ 11 s on an idle 2-core machine (≈ 4 s of it ``db migrate``), 15–20 s when the
machine is busy; stopping 4–9 s. A new DAG file is in `GET /dags/{id}` within 0.4–1.4 s. With
two Celery workers, starting took 14–17 s where LocalExecutor took 12.5–13.5 s (same busy
2-core machine, one after the other); stopping 3–4 s.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from celery_deployment import CeleryWorker, celery_settings, redis_server, wait_ready
from pg_server import create_database, drop_database

__all__ = ["CeleryWorker", "Deployment", "airflow_deployment", "another_worker", "kill_worker"]

PROCESSES = ("api-server", "scheduler", "dag-processor")
START_TIMEOUT = 120.0


@dataclass(frozen=True)
class Deployment:
    url: str  # http://127.0.0.1:PORT, the api-server
    home: Path  # its AIRFLOW_HOME
    dags: Path  # its DAGs folder (saber's --dags-folder)
    storage: Path  # SABER_STORAGE of its processes (not the client's)
    username: str
    password: str
    env: dict[str, str]  # the environment its processes run with (for `airflow` CLI calls)
    database_url: str
    log_dir: Path  # one PROCESS.log per process (stdout and stderr)
    workers: tuple[CeleryWorker, ...] = ()  # a CeleryExecutor deployment's workers (none: LocalExecutor)
    sessions: dict[str, int] = field(default_factory=dict)  # each worker's name: its process session

    def token(self) -> str:
        """A fresh JWT for ``Authorization: Bearer …`` (valid 24 h)."""
        response = httpx.post(f"{self.url}/auth/token", timeout=30,
                              json={"username": self.username, "password": self.password})
        response.raise_for_status()
        return response.json()["access_token"]

    def client(self) -> httpx.Client:
        """An httpx client on ``/api/v2`` with a token (use as a context manager)."""
        return httpx.Client(base_url=f"{self.url}/api/v2", timeout=30,
                            headers={"Authorization": f"Bearer {self.token()}"})

    def logs(self, chars: int = 3000) -> str:
        """The last ``chars`` characters of each process's output, for assertion messages."""
        parts = []
        for log in sorted(self.log_dir.glob("*.log")):
            text = log.read_text(errors="replace")
            parts.append(f"----- {log.name} (last {min(chars, len(text))} of {len(text)} chars)\n"
                         f"{text[-chars:]}")
        return "\n".join(parts)


@contextmanager
def airflow_deployment(root: Path, postgres_url: str, *, parallelism: int = 2,
                       extra_env: Mapping[str, str] | None = None,
                       workers: Sequence[CeleryWorker] = ()) -> Iterator[Deployment]:
    """Start a deployment under ``root`` on a new database of ``postgres_url``'s server; yield it
    once healthy (and its Celery ``workers`` ready, if any); stop its processes and drop the
    database on exit. ``extra_env`` overrides settings (e.g.
    ``AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin,viewer:viewer"``)."""
    if importlib.util.find_spec("asyncpg") is None:
        raise RuntimeError("the api-server needs asyncpg for a PostgreSQL database: pip install asyncpg")
    root = Path(root).resolve()
    home, dags, storage, log_dir = (root / d for d in ("airflow", "dags", "storage", "logs"))
    for folder in (home, dags, storage, log_dir, root / "saber-home"):
        folder.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{_free_port()}"
    processes: list[subprocess.Popen] = []
    with ExitStack() as stack:  # on exit: the processes, then the broker, then the database
        database_url = create_database(postgres_url, f"airflow_{uuid.uuid4().hex[:12]}")
        stack.callback(drop_database, database_url)
        settings = dict(extra_env or {})
        if workers:
            broker = stack.enter_context(redis_server(root / "redis", _free_port(), log_dir / "redis.log"))
            settings = {**celery_settings(broker, database_url), **settings}
        stack.callback(_stop, processes)
        env = _environment(root, url, database_url, parallelism, settings)
        # SimpleAuthManager keeps plaintext passwords in this file and only generates the ones
        # missing from it, so writing it first gives each configured user a password we know.
        users = [u.split(":")[0] for u in env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(",")]
        passwords = {user: secrets.token_urlsafe(12) for user in users}
        (home / "simple_auth_manager_passwords.json.generated").write_text(json.dumps(passwords) + "\n")
        deployment = Deployment(url=url, home=home, dags=dags, storage=storage, username=users[0],
                                password=passwords[users[0]], env=env, database_url=database_url,
                                log_dir=log_dir, workers=tuple(workers))
        _airflow(env, root, log_dir / "db-migrate.log", "db", "migrate")
        for name in PROCESSES:
            args = [name] + (["--skip-serve-logs"] if name == "scheduler" else [])
            processes.append(_start(env, root, log_dir / f"{name}.log", *args))
        started = []
        for worker in workers:
            log = log_dir / f"worker-{worker.name}.log"
            processes.append(_start(worker.environment(env), root, log, *worker.args()))
            started.append((worker, processes[-1], log))
            deployment.sessions[worker.name] = processes[-1].pid
        _wait_healthy(deployment, processes[:len(PROCESSES)])
        wait_ready(started)
        yield deployment


@contextmanager
def another_worker(deployment: Deployment, worker: CeleryWorker) -> Iterator[subprocess.Popen]:
    """One more Celery worker for a running CeleryExecutor ``deployment``, yielded once ready
    and stopped on exit (whatever is left of it, if a test killed it)."""
    log = deployment.log_dir / f"worker-{worker.name}.log"
    process = _start(worker.environment(deployment.env), deployment.home.parent, log, *worker.args())
    deployment.sessions[worker.name] = process.pid
    try:
        wait_ready([(worker, process, log)])
        yield process
    finally:
        _stop([process])


def kill_worker(deployment: Deployment, name: str) -> list[int]:
    """SIGKILL to every process of worker ``name``, as if its machine were gone: the Celery
    worker, its pool, the task supervisors and task processes, their `docker run` clients (all
    in the session it was started in; their /proc environ cannot tell, setproctitle overwrites
    it). The containers live on in the Docker engine. Returns the pids killed."""
    pids = _session_members(deployment.sessions[name])
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


def _environment(root: Path, url: str, database_url: str, parallelism: int,
                 extra: Mapping[str, str]) -> dict[str, str]:
    from cryptography.fernet import Fernet

    # The caller's own Airflow/saber settings must not leak into the deployment.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SABER_", "_SABER_"))}
    venv_bin = str(Path(sys.executable).parent)
    env.update({
        "PATH": os.pathsep.join([venv_bin, env.get("PATH", "/usr/bin:/bin")]),
        "PYTHONUNBUFFERED": "1",  # log tails are current when a start fails
        "AIRFLOW_HOME": str(root / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        # Variables and connections are stored encrypted with this key.
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        # Every process signs or checks JWTs (the tasks' execution-API tokens, the REST tokens):
        # they must share the secrets, otherwise each process invents its own.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": url.rsplit(":", 1)[1],
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__API__WORKERS": "1",
        # Task processes report their state to the api-server's execution API.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        # New DAG files are found within ≈ 1.5 s (defaults: look every 300 s, checked every 5 s);
        # a changed file is re-parsed within ≈ 1 s; every file is re-parsed every 5 s (default 30).
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "1",
        "AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL": "1",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
        # A dependency hop costs ≈ 0.5 s instead of ≈ 1 s.
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
        # The api-server reads task logs from the local files; a log server would bind 0.0.0.0
        # on a fixed port, so the scheduler runs with --skip-serve-logs and this port is unique.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "SABER_STORAGE": str(root / "storage"),
        "SABER_HOME": str(root / "saber-home"),
    })
    env.update(extra)
    return env


def _airflow(env: dict[str, str], cwd: Path, log: Path, *args: str) -> None:
    with log.open("ab") as out:
        done = subprocess.run([sys.executable, "-m", "airflow", *args], env=env, cwd=cwd,
                              stdout=out, stderr=subprocess.STDOUT, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"airflow {' '.join(args)} failed ({done.returncode}):\n"
                           f"{log.read_text(errors='replace')[-3000:]}")


def _start(env: dict[str, str], cwd: Path, log: Path, *args: str) -> subprocess.Popen:
    with log.open("ab") as out:
        # A session of its own: stopping kills its process group, the task processes included.
        return subprocess.Popen([sys.executable, "-m", "airflow", *args], env=env, cwd=cwd,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def _wait_healthy(deployment: Deployment, processes: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        for name, process in zip(PROCESSES, processes):
            if process.poll() is not None:
                raise RuntimeError(f"airflow {name} exited ({process.returncode}) during start\n"
                                   f"{deployment.logs()}")
        try:
            health = httpx.get(f"{deployment.url}/api/v2/monitor/health", timeout=5).json()
            last = json.dumps(health)
            if all(health.get(part, {}).get("status") == "healthy"
                   for part in ("metadatabase", "scheduler", "dag_processor")):
                deployment.token()
                return
        except (httpx.HTTPError, ValueError) as e:
            last = repr(e)
        time.sleep(0.5)
    raise RuntimeError(f"Airflow not healthy after {START_TIMEOUT:.0f} s (last health: {last})\n"
                       f"{deployment.logs()}")


def _stop(processes: list[subprocess.Popen], grace: float = 5.0) -> None:
    # SIGTERM to each group: the task supervisors pass it on to their tasks (on_kill runs), but
    # the scheduler may still wait for them ("Signal again if you don't want to wait"): a second
    # SIGTERM ends that. All three at once, unlike the script's `stop` (api-server last, so tasks
    # can report their end): the database is dropped anyway.
    for _ in range(2):
        for process in processes:
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
    # Always, even when the leader exited: what is left in its session goes too. Task processes
    # lead process groups of their own (so killpg misses them) but stay in the scheduler's session.
    for process in processes:
        for pid in _session_members(process.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)  # pid == pgid == sid: started with start_new_session=True
    except (ProcessLookupError, PermissionError):
        pass


def _session_members(sid: int) -> list[int]:
    """The processes of session ``sid`` (from /proc/PID/stat: state ppid pgrp session ...)."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[3]) == sid:
                members.append(int(entry))
    return members




def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
