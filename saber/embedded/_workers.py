"""Worker processes of the embedded runner: each runs task instances through Airflow's real
task supervisor (log files, state changes and XCom through the Execution API), with the API
served in-process instead of by an api-server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["init_worker", "run_workload"]

_client: Any = None


def init_worker(plan_path: str) -> None:
    """Runs once per forked worker; everything loaded here is shared by the task processes it forks."""
    global _client
    from airflow import settings
    from airflow.sdk.execution_time import supervisor

    # The parent's pooled SQLite connections must not be used from two processes.
    if settings.engine is not None:
        settings.engine.dispose(close=False)

    # The supervisor notices a finished task only on its next wake-up, up to
    # [workers] min_heartbeat_interval (5 s) later; a short select keeps one task ~0.05 s
    # from the next. Heartbeats keep their own interval.
    original = supervisor.ActivitySubprocess._service_subprocess

    def _service(self, max_wait_time, raise_on_timeout=False, expect_signal=None):
        if not raise_on_timeout:
            max_wait_time = min(max_wait_time, 0.05)
        return original(self, max_wait_time, raise_on_timeout=raise_on_timeout, expect_signal=expect_signal)

    supervisor.ActivitySubprocess._service_subprocess = _service
    _client = supervisor.InProcessTestSupervisor._api_client(dag=True)

    # Load the tools now, in the worker, so each task process starts with them.
    import airflow.sdk.execution_time.task_runner  # noqa: F401

    from saber.execution import preload_tool

    for step in json.loads(Path(plan_path).read_text())["steps"]:
        preload_tool(step)


def run_workload(workload) -> int:
    """Run one ExecuteTask workload to completion; returns the task process's exit code."""
    from airflow.sdk.execution_time.supervisor import supervise_task

    return supervise_task(ti=workload.ti, bundle_info=workload.bundle_info,
                          dag_rel_path=workload.dag_rel_path, token="", client=_client,
                          log_path=workload.log_path)
