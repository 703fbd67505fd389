"""Run DAG runs of one saber DAG to completion without a scheduler service.

The loop is Airflow's own ``dag.test()`` loop (``DagRun.update_state`` decides what is ready,
including mapping, trigger rules and skips), widened to many runs at once and to a pool of
worker processes, so points and scatter instances run in parallel. The runs, task instances,
logs and XComs are ordinary Airflow records: ``saber ui`` shows them.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saber.errors import SaberError

__all__ = ["RunRequest", "RunProgress", "EmbeddedRunner", "RunBatches"]

FINISHED = {"success", "failed", "skipped", "upstream_failed", "removed"}


@dataclass(frozen=True)
class RunRequest:
    run_id: str
    conf: dict


@dataclass
class RunProgress:
    """Counts of task-instance states per run, for live display."""

    run_id: str
    state: str = "queued"
    tasks: dict[str, int] = field(default_factory=dict)


class EmbeddedRunner:
    """Drives the runs of one DAG file in this process with ``workers`` task processes."""

    def __init__(self, *, dag_file: Path, plan_path: Path, workers: int | None = None) -> None:
        self.dag_file = dag_file
        self.plan_path = plan_path
        self.workers = workers or os.cpu_count() or 2
        # With no GPU, one GPU step at a time still runs, to fail with cwltool's own message.
        self.gpus = max(gpu_count(), 1)

    @property
    def worker_log(self) -> Path:
        """Where the worker processes' own messages go (task logs are separate files)."""
        from airflow.configuration import conf

        return Path(conf.get("logging", "base_log_folder")) / "saber-workers.log"

    def sync(self):
        """Parse the DAG file and write it to Airflow's database (what the dag processor does)."""
        from airflow import settings
        from airflow.dag_processing.bundles.manager import DagBundlesManager
        from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
        from airflow.models.dagbag import DBDagBag
        from airflow.models.pool import Pool

        session = settings.Session()
        manager = DagBundlesManager()
        manager.sync_bundles_to_db(session=session)
        session.commit()
        bundle = next(b for b in manager.get_all_dag_bundles() if b.name == "dags-folder")
        bag = BundleDagBag(dag_folder=str(self.dag_file), bundle_path=bundle.path, bundle_name=bundle.name)
        if bag.import_errors:
            raise SaberError("the generated DAG file does not import:\n"
                             + "\n".join(f"{k}: {v}" for k, v in bag.import_errors.items()))
        sync_bag_to_db(bag, bundle.name, bundle.version)
        # A scheduler (saber ui) ignores runs of paused DAGs, so it never races this runner.
        from airflow.models.dag import DagModel

        for dag_id in bag.dags:
            session.query(DagModel).filter_by(dag_id=dag_id).update({"is_paused": True})
        Pool.create_or_update_pool("saber_gpu", slots=self.gpus, description="saber: one slot per GPU",
                                   include_deferred=False, session=session)
        session.commit()
        dag_id = next(iter(bag.dags))
        return DBDagBag().get_latest_version_of_dag(dag_id, session=session), session

    def run(self, requests: list[RunRequest], on_progress: Callable[[list[RunProgress]], None] | None = None,
            max_active_runs: int | None = None) -> dict[str, str]:
        """Create and run every requested DAG run; returns run_id -> final state."""
        with self.open() as batches:
            return batches.run(requests, on_progress, max_active_runs)

    @contextmanager
    def open(self) -> Iterator[RunBatches]:
        """Sync the DAG and start the worker processes once, for several batches of runs (the
        optimizer's rounds): each batch then costs only its runs, not a DAG sync and a pool."""
        from saber.embedded._workers import init_worker, warm_execution_api

        dag, session = self.sync()
        warm_execution_api()
        pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                   initializer=init_worker,
                                   initargs=(str(self.plan_path), str(self.worker_log)))
        try:
            yield RunBatches(self, dag, session, pool)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            session.close()

class RunBatches:
    """An open runner: one synced DAG, one pool of workers, any number of batches of runs."""

    def __init__(self, runner: EmbeddedRunner, dag, session, pool: ProcessPoolExecutor) -> None:
        self.runner, self.dag, self.session, self.pool = runner, dag, session, pool

    def run(self, requests: list[RunRequest], on_progress: Callable[[list[RunProgress]], None] | None = None,
            max_active_runs: int | None = None) -> dict[str, str]:
        """Run one batch to the end; returns run_id -> final state."""
        _check_new_run_ids(self.session, self.dag.dag_id, [r.run_id for r in requests])
        drive = _Drive(self.runner, self.dag, self.session, self.pool, requests,
                       max_active_runs or self.runner.workers * 2)
        try:
            while drive.waiting or drive.active:
                drive.start_runs()
                drive.step()
                if on_progress:
                    on_progress(list(drive.progress.values()))
                drive.wait()
        except BaseException:
            unfinished = [dr.run_id for dr in drive.active]
            self.pool.shutdown(wait=False, cancel_futures=True)
            _kill_containers(self.dag.dag_id, unfinished)
            _fail_unfinished(self.session, unfinished + [r.run_id for r in drive.waiting])
            raise
        return drive.finished


class _Drive:
    """One pass of the loop at a time: start runs, let Airflow decide what is ready, hand ready
    task instances to the workers within the slots they need, wait for one to finish."""

    def __init__(self, runner: EmbeddedRunner, dag, session, pool: ProcessPoolExecutor,
                 requests: list[RunRequest], max_active: int) -> None:
        from airflow.executors.workloads import BundleInfo

        self.runner, self.dag, self.session, self.pool = runner, dag, session, pool
        self.waiting = list(requests)
        self.max_active = max_active
        self.active: list[Any] = []
        self.finished: dict[str, str] = {}
        self.progress = {r.run_id: RunProgress(r.run_id) for r in requests}
        self.pending: dict[Future, tuple[Any, int, int]] = {}  # future -> (ti key, cores, GPUs held)
        self.bundle = BundleInfo(name="dags-folder")

    def start_runs(self) -> None:
        from airflow.sdk import timezone
        from airflow.utils.state import DagRunState
        from airflow.utils.types import DagRunTriggeredByType, DagRunType

        while self.waiting and len(self.active) < self.max_active:
            req = self.waiting.pop(0)
            now = timezone.utcnow()
            self.active.append(self.dag.create_dagrun(
                run_id=req.run_id, logical_date=None, data_interval=None, run_after=now, conf=req.conf,
                run_type=DagRunType.MANUAL, triggered_by=DagRunTriggeredByType.CLI,
                triggering_user_name="saber", state=DagRunState.RUNNING, start_date=now,
                session=self.session))
            self.session.commit()

    def step(self) -> None:
        """Advance every active run and dispatch what is ready, oldest run first."""
        from airflow.utils.state import DagRunState, TaskInstanceState

        self.session.expire_all()
        for dr in list(self.active):
            dr.dag = self.dag
            schedulable, _ = dr.update_state(session=self.session)
            for ti in schedulable:
                ti.try_number += 1
                ti.state = TaskInstanceState.SCHEDULED
            self.session.commit()
            tis = dr.get_task_instances(session=self.session)
            self.progress[dr.run_id].tasks = _count(tis)
            self.progress[dr.run_id].state = str(dr.state)
            if dr.state != DagRunState.RUNNING:
                self.active.remove(dr)
                self.finished[dr.run_id] = str(dr.state)
                continue
            for ti in tis:
                if ti.state == TaskInstanceState.SCHEDULED:
                    self._dispatch(ti)
        self.session.commit()  # end the read transaction before waiting

    def _dispatch(self, ti) -> None:
        """Resource-aware: a task holds pool_slots (its cores, from ResourceRequirement) of the
        worker slots, a task larger than the machine the whole machine, and its GPUs."""
        from airflow.executors.workloads import ExecuteTask
        from airflow.sdk import timezone
        from airflow.utils.state import TaskInstanceState

        from saber.embedded._workers import run_workload

        runner = self.runner
        slots = min(max(ti.pool_slots or 1, 1), runner.workers)
        gpus = min((ti.executor_config or {}).get("saber", {}).get("gpus", 0), runner.gpus)
        busy = sum(held for _, held, _ in self.pending.values())
        busy_gpus = sum(held for _, _, held in self.pending.values())
        if busy + slots > runner.workers or busy_gpus + gpus > runner.gpus:
            return
        ti.state = TaskInstanceState.QUEUED
        ti.queued_dttm = timezone.utcnow()
        self.session.commit()
        workload = ExecuteTask.make(ti, bundle_info=self.bundle)
        self.pending[self.pool.submit(run_workload, workload)] = (ti.key, slots, gpus)

    def wait(self) -> None:
        if not self.pending:
            if self.active:
                time.sleep(0.05)
            return
        done, _ = wait(list(self.pending), timeout=1.0, return_when=FIRST_COMPLETED)
        for fut in done:
            key, _, _ = self.pending.pop(fut)
            try:
                fut.result()
            except BrokenProcessPool as e:
                raise SaberError(f"a worker process died while running {key.task_id}") from e


def _fail_unfinished(session, run_ids: list[str]) -> None:
    """An interrupted run must not stay 'running' in the UI forever."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.state import DagRunState

    session.rollback()
    for dr in session.query(DagRun).filter(DagRun.run_id.in_(run_ids)).all():
        dr.set_state(DagRunState.FAILED)
    session.commit()


def _check_new_run_ids(session, dag_id: str, run_ids: list[str]) -> None:
    from airflow.models.dagrun import DagRun

    taken = session.query(DagRun.run_id).filter(DagRun.dag_id == dag_id, DagRun.run_id.in_(run_ids)).first()
    if taken:
        raise SaberError(f"DAG {dag_id} already has a run {taken[0]}: give this sweep another "
                         "--sweep-id (or leave it out for a fresh one)")


def gpu_count() -> int:
    """GPUs on this machine, as nvidia-smi lists them (0 without an NVIDIA driver)."""
    import shutil
    import subprocess

    if not shutil.which("nvidia-smi"):
        return 0
    try:
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(line.startswith("GPU ") for line in listed.stdout.splitlines()) if listed.returncode == 0 else 0


def _count(tis) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ti in tis:
        state = str(ti.state) if ti.state else "none"
        counts[state] = counts.get(state, 0) + 1
    return counts


def _kill_containers(dag_id: str, run_ids: list[str]) -> None:
    """Stop the containers of interrupted runs: cwltool leaves a --cidfile per container."""
    import subprocess

    from saber.execution import storage_root

    ids = []
    for run_id in run_ids:
        for cidfile in (storage_root() / ".work" / dag_id / run_id).glob("**/*.cid"):
            ids.append(cidfile.read_text().strip())
    if ids:
        subprocess.run(["docker", "kill", *ids], capture_output=True, timeout=60)
