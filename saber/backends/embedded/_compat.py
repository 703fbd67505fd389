"""Every Airflow, cadwyn and cwltool internal the embedded backend uses, in one place.

The embedded backend drives real Airflow DAG runs without a scheduler service, so it uses parts
of Airflow that are not a public API (the ORM, the `dag.test()` loop, the task supervisor, the
in-process Execution API). They were checked against the versions in ``TESTED``; ``check_versions``
refuses others with one sentence rather than failing with an AttributeError mid-run. The table
in DEVELOPERS.md says why each one is used. Import this module only after the saber home is
activated: Airflow reads its configuration once, at import.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from saber.backends.embedded._versions import TESTED, check_versions
from saber.errors import SaberError

__all__ = ["TESTED", "check_versions"]

log = logging.getLogger(__name__)

check_versions()  # before Airflow's import: an untested version is one sentence, not an AttributeError

# -- the metadata database ----------------------------------------------------------------------

from airflow import settings  # noqa: E402
from airflow.configuration import conf  # noqa: E402
from airflow.models.dagrun import DagRun  # noqa: E402
from airflow.models.taskinstance import TaskInstance  # noqa: E402
from airflow.models.xcom import XComModel  # noqa: E402
from airflow.utils.state import DagRunState, TaskInstanceState  # noqa: E402



def _log_to_stderr() -> None:
    """Airflow's logging configuration, applied at its import, writes to stdout; saber's stdout
    carries results (`saber run ... > result.txt`), so its and Airflow's messages go to stderr."""
    import sys

    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) is sys.stdout:
            handler.setStream(sys.stderr)


_log_to_stderr()

SCHEDULED, QUEUED = TaskInstanceState.SCHEDULED, TaskInstanceState.QUEUED
ACTIVE_RUN_STATES = (DagRunState.QUEUED, DagRunState.RUNNING)


def new_session():
    return settings.Session()


def own_session():
    """A session of its own, not the thread's scoped one: inside the scheduler's loop (a
    listener) that one holds the loop's transaction, which must not be committed by anyone else."""
    return settings.Session.session_factory()


def repoint() -> None:
    """Point this process's Airflow at the settings now in the environment (another saber home):
    what Airflow reads once at import, read again. Only a warm server's child does this, before
    it touches the database; Airflow reads every other setting at each lookup."""
    from airflow.models.crypto import get_fernet

    settings.configure_vars()  # the database URL, the DAGs folder
    settings.reconfigure_orm()
    get_fernet.cache_clear()  # the home's own key
    base_log_folder().mkdir(parents=True, exist_ok=True)  # made by Airflow's logging setup at import


def warm_imports() -> None:
    """What a call imports after the DAG is known, imported ahead by a warm server: reading a
    serialized DAG back (0.3 s the first time in a process), the worker's task runner."""
    import airflow.dag_processing.bundles.manager  # noqa: F401
    import airflow.dag_processing.dagbag  # noqa: F401
    import airflow.executors.workloads  # noqa: F401
    import airflow.models.dagbag  # noqa: F401
    import airflow.models.pool  # noqa: F401
    import airflow.sdk.execution_time.supervisor  # noqa: F401
    import airflow.sdk.execution_time.task_runner  # noqa: F401
    import airflow.serialization.serialized_objects  # noqa: F401


def base_log_folder() -> Path:
    return Path(conf.get("logging", "base_log_folder"))


def sync_dag(dag_file: Path, gpus: int, session):
    """Parse the DAG file and write it to the database (what the dag processor does); the DAG
    stays paused, so a scheduler (`saber ui`) never races this process for its runs."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.models.dag import DagModel
    from airflow.models.dagbag import DBDagBag
    from airflow.models.pool import Pool

    manager = DagBundlesManager()
    manager.sync_bundles_to_db(session=session)
    session.commit()
    bundle = next(b for b in manager.get_all_dag_bundles() if b.name == "dags-folder")
    bag = BundleDagBag(dag_folder=str(dag_file), bundle_path=bundle.path, bundle_name=bundle.name)
    if bag.import_errors:
        raise SaberError("the generated DAG file does not import:\n"
                         + "\n".join(f"{k}: {v}" for k, v in bag.import_errors.items()))
    sync_bag_to_db(bag, bundle.name, bundle.version)
    for dag_id in bag.dags:
        session.query(DagModel).filter_by(dag_id=dag_id).update({"is_paused": True})
    Pool.create_or_update_pool("saber_gpu", slots=gpus, description="saber: one slot per GPU",
                               include_deferred=False, session=session)
    session.commit()
    return DBDagBag().get_latest_version_of_dag(next(iter(bag.dags)), session=session)


def known_dag(dag_id: str, gpus: int, session):
    """The DAG as the database already holds it (paused again, the GPU pool sized), or None if
    it holds no live DAG by that id: what ``sync_dag`` returns, without parsing the file."""
    from airflow.models.dag import DagModel
    from airflow.models.dagbag import DBDagBag
    from airflow.models.pool import Pool

    model = session.query(DagModel).filter_by(dag_id=dag_id).one_or_none()
    dag = None if model is None or model.is_stale else DBDagBag().get_latest_version_of_dag(dag_id, session=session)
    if dag is None:
        session.rollback()
        return None
    model.is_paused = True
    Pool.create_or_update_pool("saber_gpu", slots=gpus, description="saber: one slot per GPU",
                               include_deferred=False, session=session)
    session.commit()
    return dag


def create_run(dag, run_id: str, conf_: dict, session):
    from airflow.sdk import timezone
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    now = timezone.utcnow()
    dr = dag.create_dagrun(run_id=run_id, logical_date=None, data_interval=None, run_after=now, conf=conf_,
                           run_type=DagRunType.MANUAL, triggered_by=DagRunTriggeredByType.CLI,
                           triggering_user_name="saber", state=DagRunState.RUNNING, start_date=now,
                           session=session)
    session.commit()
    return dr


def advance(dr, dag, session) -> list:
    """One turn of `dag.test()`'s loop (Airflow 3.3.2): the run decides what is ready (mapping,
    trigger rules, skips); returns its task instances, the ready ones SCHEDULED."""
    from airflow.sdk import timezone

    dr.dag = dag
    schedulable, _ = dr.update_state(session=session)
    for ti in schedulable:
        if ti.state != TaskInstanceState.UP_FOR_RESCHEDULE:  # a reschedule is the same try
            ti.try_number += 1
        ti.state = SCHEDULED
        ti.scheduled_dttm = timezone.utcnow()
    session.commit()
    return dr.get_task_instances(session=session)


def queue(ti, session):
    """Mark ``ti`` queued and make the workload a worker runs."""
    from airflow.executors.workloads import BundleInfo, ExecuteTask
    from airflow.sdk import timezone

    ti.state = QUEUED
    ti.queued_dttm = timezone.utcnow()
    session.commit()
    return ExecuteTask.make(ti, bundle_info=BundleInfo(name="dags-folder"))


# SQLite allows 32766 variables a statement: a sweep's run ids are asked for in slices (a
# million-point grid failed with "too many SQL variables").
_IN_SLICE = 1000


def _slices(items: list[str]) -> Iterable[list[str]]:
    return (items[i:i + _IN_SLICE] for i in range(0, len(items), _IN_SLICE))


def taken_run_id(session, dag_id: str, run_ids: list[str]) -> str | None:
    for part in _slices(list(run_ids)):
        taken = session.query(DagRun.run_id).filter(DagRun.dag_id == dag_id, DagRun.run_id.in_(part)).first()
        if taken:
            return taken[0]
    return None


def fail_runs(session, run_ids: list[str]) -> None:
    """Unfinished runs of ``run_ids`` failed; a finished run keeps its result."""
    session.rollback()
    for part in _slices(list(run_ids)):
        for dr in session.query(DagRun).filter(DagRun.run_id.in_(part)).all():
            if dr.state in ACTIVE_RUN_STATES:
                dr.set_state(DagRunState.FAILED)
    session.commit()


def get_run(session, dag_id: str, run_id: str):
    return session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one_or_none()


def list_runs(session, *, prefixes: Iterable[str] | None = None, active_only: bool = False) -> list[tuple]:
    """(dag_id, run_id, state, start_date) of every run, or of those whose run id starts with
    one of ``prefixes``; with ``active_only``, of the queued and running ones only."""
    from sqlalchemy import or_

    query = session.query(DagRun.dag_id, DagRun.run_id, DagRun.state, DagRun.start_date)
    if prefixes is not None:
        like = [DagRun.run_id.like(_escape_like(p) + "%", escape="\\") for p in prefixes]
        if not like:
            return []
        query = query.filter(or_(*like))
    if active_only:
        query = query.filter(DagRun.state.in_(ACTIVE_RUN_STATES))
    rows = [tuple(row) for row in query.all()]
    session.commit()
    return rows


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def task_instances(session, dag_id: str, run_id: str) -> list:
    return session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id).all()


def xcoms(session, dag_id: str, run_id: str, keys: Iterable[str]) -> dict[tuple[str, int, str], Any]:
    """(task_id, map_index, key) -> value of a run's XComs with these keys."""
    rows = session.query(XComModel).filter(XComModel.dag_id == dag_id, XComModel.run_id == run_id,
                                           XComModel.key.in_(tuple(keys))).all()
    return {(r.task_id, r.map_index, r.key): XComModel.deserialize_value(r) for r in rows}


def xcom(session, dag_id: str, run_id: str, task_id: str, map_index: int, key: str) -> Any:
    row = session.query(XComModel).filter_by(dag_id=dag_id, run_id=run_id, task_id=task_id,
                                             map_index=map_index, key=key).one_or_none()
    return XComModel.deserialize_value(row) if row is not None else None


def store_variables(values: Mapping[str, str]) -> None:
    """Keep ``values`` in Airflow Variables, encrypted with the home's Fernet key."""
    from airflow.models import Variable
    from airflow.models.crypto import get_fernet

    if values and not get_fernet().is_encrypted:
        raise SaberError("Airflow has no Fernet key ([core] fernet_key, AIRFLOW__CORE__FERNET_KEY), so it "
                         "would store the secret input unencrypted; set one")
    for key, value in values.items():
        Variable.set(key, value, description="a secret input of a saber run")


def delete_variables(keys: Sequence[str]) -> None:
    """Delete these Variables (a key not there is skipped); what fails is logged, not raised."""
    from airflow.models import Variable

    try:
        for key in keys:
            Variable.delete(key)
    except Exception as e:  # the run's own outcome must not be lost to this
        log.warning("could not delete the Airflow Variables of this run's secret inputs: %s", e)


# -- worker processes: the task supervisor around an in-process Execution API -------------------

_warm_app: Any = None


def warm_execution_api() -> None:
    """Build the Execution API app once, in the parent, before the workers fork.

    Its first request generates every versioned router (cadwyn), which takes seconds and would
    otherwise be paid by each worker's first task. The event-loop thread cannot cross a fork,
    so each worker still makes its own transport around this app.
    """
    global _warm_app
    import warnings

    if _warm_app is not None:  # built by a warm server (saber.cli._warm_server) before this call forked
        return

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


def worker_client():
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


def prepare_worker() -> None:
    """In a freshly forked worker: its own database connections, a prompt supervisor, and the
    task runner loaded so each task process starts with it."""
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
    import airflow.sdk.execution_time.task_runner  # noqa: F401


def supervise(workload, client) -> int:
    """Run one ExecuteTask workload to completion; returns the task process's exit code."""
    from airflow.sdk.execution_time.supervisor import supervise_task

    return supervise_task(ti=workload.ti, bundle_info=workload.bundle_info, dag_rel_path=workload.dag_rel_path,
                          token="", client=client, log_path=workload.log_path)


def known_images(steps: list[dict]) -> None:
    """Tell cwltool which images exist, once per worker instead of a `docker inspect` per task
    (its cache is per process, and every task is a new process)."""
    import subprocess

    from cwltool import docker

    images = {r.get("dockerImageId") or r.get("dockerPull") for s in steps
              for r in s["requirements"] + s["hints"] if r.get("class") == "DockerRequirement"}
    for image in filter(None, images):
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0:
            with docker._IMAGES_LOCK:
                docker._IMAGES.add(image)

