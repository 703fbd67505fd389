"""Worker processes of the embedded runner: each runs task instances through Airflow's real
task supervisor (log files, state changes and XCom through the Execution API), with the API
served in-process instead of by an api-server."""

from __future__ import annotations

import json
from pathlib import Path
import logging
from typing import Any

__all__ = ["init_worker", "run_workload", "warm_execution_api"]

log = logging.getLogger(__name__)
_client: Any = None
_warm_app: Any = None


def warm_execution_api() -> None:
    """Build the Execution API app once, in the parent, before the workers fork.

    Its first request generates every versioned router (cadwyn), which takes seconds and would
    otherwise be paid by each worker's first task. The event-loop thread cannot cross a fork,
    so each worker still makes its own transport around this app.
    """
    global _warm_app
    import warnings

    with warnings.catch_warnings():
        # fastapi.testclient warns about httpx on import; it is Airflow's choice, not the user's.
        warnings.simplefilter("ignore")
        import fastapi.testclient  # noqa: F401
    from airflow.api_fastapi.execution_api import versions
    from airflow.api_fastapi.execution_api.app import InProcessExecutionAPI

    full = versions.bundle
    for trim in (_newest_version_only, _newest_versions_and_restorers):
        trimmed = trim(full)
        if trimmed is None:
            continue
        versions.bundle = trimmed
        try:
            app = InProcessExecutionAPI().app
            if trim is _newest_version_only:
                _drop_older_only_routes(app)
            app._cadwyn_initialize()
            _warm_app = app
            return
        except Exception:  # a cadwyn/Airflow layout we do not know: try the next, then all
            log.warning("could not build a trimmed Execution API (%s)", trim.__name__, exc_info=True)
    versions.bundle = _rebind(full, list(full.versions))
    app = InProcessExecutionAPI().app
    if not getattr(app, "_cadwyn_initialized", True):
        app._cadwyn_initialize()
    _warm_app = app


def _newest_version_only(bundle):
    """The Execution API as this installation's own Task SDK speaks it: the newest version only.

    cadwyn builds one router per API version on first use: about 10 s for Airflow 3.3's nine
    versions on two cores, paid by every `saber run`. The in-process API only ever serves this
    installation's Task SDK, which speaks the newest version, so the older versions, and the
    changes that convert to them, are dead weight.
    """
    from airflow.sdk.api.client import API_VERSION
    from cadwyn import HeadVersion, Version, VersionBundle

    versions = list(bundle.versions)
    if not versions or versions[0].value != API_VERSION:
        return None
    return VersionBundle(HeadVersion(), Version(versions[0].value))


def _drop_older_only_routes(app) -> None:
    """Routes marked to exist only in older versions must be restored by one of them, or cadwyn
    refuses to build; with no older version left, they are simply not served."""
    from cadwyn.route_generation import _DELETED_ROUTE_TAG

    routes = app._latest_version_router.routes
    routes[:] = [r for r in routes if _DELETED_ROUTE_TAG not in (getattr(r, "tags", None) or [])]


def _newest_versions_and_restorers(bundle):
    """The fallback: the newest version plus what cadwyn needs to accept it. cadwyn insists
    that the oldest version has no changes and that endpoints moved in a newer version are
    restored in an older one, so the second-newest and the oldest versions stay."""
    from airflow.sdk.api.client import API_VERSION

    versions = list(bundle.versions)
    if len(versions) < 4 or versions[0].value != API_VERSION:
        return None
    return _rebind(bundle, [versions[0], versions[1], versions[-1]])


def _rebind(bundle, keep: list):
    from cadwyn import HeadVersion, VersionBundle

    for version in bundle.versions:
        for change in version.changes:
            change._bound_version_bundle = None  # cadwyn binds each change to one bundle
    return VersionBundle(HeadVersion(), *keep)


def _worker_client():
    """What ``InProcessTestSupervisor._api_client`` builds, around the pre-built app."""
    from airflow.api_fastapi.common.dagbag import dag_bag_from_app
    from airflow.api_fastapi.execution_api.app import InProcessExecutionAPI
    from airflow.models.dagbag import DBDagBag
    from airflow.sdk.execution_time.supervisor import InProcessTestSupervisor

    api = InProcessExecutionAPI()
    if _warm_app is not None:
        api._app = _warm_app
    dag_bag = DBDagBag()
    api.app.dependency_overrides[dag_bag_from_app] = lambda: dag_bag
    client = InProcessTestSupervisor._Client(base_url=None, token="", dry_run=True, transport=api.transport)
    client.base_url = "http://in-process.invalid./"
    return client


def init_worker(plan_path: str, log_file: str) -> None:
    """Runs once per forked worker; everything loaded here is shared by the task processes it forks."""
    global _client
    import os

    # The supervisors' own chatter goes to a file, not the user's terminal; each task's log
    # still goes to its Airflow log file.
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    from airflow import settings

    # saber run keeps Airflow at WARNING on the terminal; task logs carry INFO (tool output).
    # Airflow reads AIRFLOW__* variables at every lookup, so this reaches the task processes.
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "INFO"
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
    _client = _worker_client()

    # Load the tools now, in the worker, so each task process starts with them.
    import airflow.sdk.execution_time.task_runner  # noqa: F401

    from saber.execution import preload_tool

    steps = json.loads(Path(plan_path).read_text())["steps"]
    for step in steps:
        preload_tool(step)
    _known_images(steps)


def _known_images(steps: list[dict]) -> None:
    """Tell cwltool which images exist, once per worker instead of a `docker inspect` per task
    (its cache is per process, and every task is a new process)."""
    import subprocess

    from cwltool import docker

    images = {r.get("dockerImageId") or r.get("dockerPull") for s in steps
              for r in s["requirements"] + s["hints"] if r.get("class") == "DockerRequirement"}
    for image in filter(None, images):
        found = subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0
        if found:
            with docker._IMAGES_LOCK:
                docker._IMAGES.add(image)


def run_workload(workload) -> int:
    """Run one ExecuteTask workload to completion; returns the task process's exit code."""
    from airflow.sdk.execution_time.supervisor import supervise_task

    return supervise_task(ti=workload.ti, bundle_info=workload.bundle_info,
                          dag_rel_path=workload.dag_rel_path, token="", client=_client,
                          log_path=workload.log_path)
