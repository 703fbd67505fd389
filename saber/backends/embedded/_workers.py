"""Worker processes of the embedded runner: each runs task instances through Airflow's real
task supervisor (log files, state changes and XCom through the Execution API), with the API
served in-process instead of by an api-server."""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from saber._phases import mark

__all__ = ["WorkerPools", "init_worker", "run_workload"]

_client: Any = None


def init_worker(plan_path: str, log_file: str) -> None:
    """Runs once per forked worker; everything loaded here is shared by the task processes it forks."""
    global _client
    import signal

    # `saber run` turns SIGTERM and SIGHUP into a clean stop in its own process; a worker, forked
    # from it, stops as Airflow's supervisor expects: by the default action.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    # A worker, and each task process it forks, dies with its parent: a `saber run` killed
    # outright must not leave processes holding the databases (the reaper kills the containers).
    from saber._lifetime import die_with_parent

    die_with_parent()
    os.register_at_fork(after_in_child=die_with_parent)
    # The supervisors' own chatter goes to a file, not the user's terminal; each task's log
    # still goes to its Airflow log file.
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    # saber run keeps Airflow at WARNING on the terminal; task logs carry INFO (tool output).
    # Airflow reads AIRFLOW__* variables at every lookup, so this reaches the task processes.
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "INFO"
    from saber.backends.embedded import _compat
    from saber.execution import preload_tool

    _compat.prepare_worker()
    _client = _compat.worker_client()
    # Load the tools now, in the worker, so each task process starts with them.
    steps = json.loads(Path(plan_path).read_text())["steps"]
    for step in steps:
        preload_tool(step)
    _compat.known_images(steps)
    mark("worker start")


def run_workload(workload) -> int:
    """Run one ExecuteTask workload to completion; returns the task process's exit code."""
    from saber.backends.embedded._compat import supervise

    return supervise(workload, _client)


class WorkerPools:
    """Up to ``limit`` worker processes, forked ``size`` at a time as tasks need them.

    A fork-context ProcessPoolExecutor forks all its workers at its first task (CPython
    gh-90622), and each worker's set-up costs CPU while the first tasks start; the default
    runner keeps several workers per core, most of which a short workflow never needs. So the
    workers come in pools of ``size``, a pool forked only when those before it are all busy.
    """

    def __init__(self, *, size: int, limit: int, initializer: Callable[..., None], initargs: tuple = ()) -> None:
        self.size, self.limit = size, limit
        self._init = (initializer, initargs)
        self._pools: list[tuple[ProcessPoolExecutor, int, set[Future]]] = []  # (pool, its workers, running)
        self._closed = False

    def submit(self, fn, *args) -> Future:
        """Run ``fn(*args)`` in an idle worker; the caller keeps at most ``limit`` running."""
        if self._closed:
            raise RuntimeError("cannot schedule new futures after shutdown")
        for pool, size, running in self._pools:
            running.difference_update([f for f in running if f.done()])
            if len(running) < size:
                break
        else:
            size = min(self.size, self.limit - self.processes)
            if size < 1:
                raise RuntimeError(f"more than {self.limit} tasks submitted at once")
            pool = ProcessPoolExecutor(size, mp_context=multiprocessing.get_context("fork"),
                                       initializer=self._init[0], initargs=self._init[1])
            running = set()
            self._pools.append((pool, size, running))
        future = pool.submit(fn, *args)
        running.add(future)
        return future

    @property
    def processes(self) -> int:
        """Worker processes forked so far."""
        return sum(size for _, size, _ in self._pools)

    def shutdown(self, *, wait: bool, cancel_futures: bool = False) -> None:
        self._closed = True
        for pool, _, _ in self._pools:
            pool.shutdown(wait=wait, cancel_futures=cancel_futures)
