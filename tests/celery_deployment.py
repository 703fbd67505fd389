"""The Celery parts of a test deployment (tests/airflow_deployment.py): a throw-away Redis broker
(Debian's ``redis-server``) and ``airflow celery worker`` processes, each with its queues, slots,
name and environment. scripts/airflow-deployment.sh (``EXECUTOR=celery``) is the same recipe."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CeleryWorker", "celery_settings", "redis_server", "wait_ready"]

# scripts/saber_worker_hostname.py: each worker's own name as its task instances' hostname.
HOSTNAME_MODULE_DIR = Path(__file__).resolve().parents[1] / "scripts"
HOSTNAME_CALLABLE = "saber_worker_hostname.hostname"
READY_TIMEOUT = 60.0


@dataclass(frozen=True)
class CeleryWorker:
    """One ``airflow celery worker``: ``name`` is its Celery node name and the ``hostname`` of the
    task instances it runs; it takes tasks from ``queues``, ``concurrency`` at a time. ``env`` is
    laid over the deployment's environment (its own ``SABER_STORAGE``, a fake ``nvidia-smi``
    first on ``PATH``...)."""

    name: str
    queues: tuple[str, ...] = ("default",)
    concurrency: int = 1
    env: Mapping[str, str] = field(default_factory=dict)

    def args(self) -> list[str]:
        """``airflow`` arguments. Its task logs go to the deployment's log folder, which the
        api-server reads directly: no log server (it would listen on 0.0.0.0)."""
        return ["celery", "worker", "--queues", ",".join(self.queues), "--concurrency", str(self.concurrency),
                "--celery-hostname", f"{self.name}@%h", "--skip-serve-logs"]

    def environment(self, deployment_env: Mapping[str, str]) -> dict[str, str]:
        """Its environment: the deployment's, its name for ``[core] hostname_callable``, ``env``."""
        python_path = os.pathsep.join(p for p in (str(HOSTNAME_MODULE_DIR), deployment_env.get("PYTHONPATH")) if p)
        return {**deployment_env, "PYTHONPATH": python_path, "SABER_WORKER_NAME": self.name,
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": HOSTNAME_CALLABLE, **self.env}


def celery_settings(broker_url: str, database_url: str) -> dict[str, str]:
    """What every process of a CeleryExecutor deployment needs besides the common settings."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        # Celery's database result backend names the driver (a bare db+postgresql:// wants psycopg 3).
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + database_url.replace("postgresql://", "postgresql+psycopg2://", 1),
    }


@contextmanager
def redis_server(folder: Path, port: int, log: Path) -> Iterator[str]:
    """Redis on 127.0.0.1:``port``, nothing saved to disk; yields its URL, stops it on exit."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("a Celery deployment needs Redis as its broker: apt-get install redis-server")
    folder.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                    "--appendonly", "no", "--dir", str(folder)],
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    try:
        _wait_for_pong(port, process, log)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()  # with nothing to save, SIGTERM ends it at once
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_pong(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited ({process.returncode}):\n{log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"redis-server not answering on port {port} after {READY_TIMEOUT:.0f} s")


def wait_ready(workers: list[tuple[CeleryWorker, subprocess.Popen, Path]], timeout: float = READY_TIMEOUT) -> None:
    """Until each worker has said ``NAME@host ready.`` (Celery's own line, once connected to the
    broker and consuming its queues)."""
    deadline = time.monotonic() + timeout
    waiting = list(workers)
    while waiting:
        for worker, process, log in list(waiting):
            if process.poll() is not None:
                raise RuntimeError(f"celery worker {worker.name} exited ({process.returncode}) during start:\n"
                                   f"{log.read_text(errors='replace')[-3000:]}")
            if re.search(rf"\b{re.escape(worker.name)}@\S+ ready\.", log.read_text(errors="replace")):
                waiting.remove((worker, process, log))
        if waiting and time.monotonic() > deadline:
            raise RuntimeError(f"celery workers not ready after {timeout:.0f} s: {[w.name for w, _, _ in waiting]}")
        time.sleep(0.2)
