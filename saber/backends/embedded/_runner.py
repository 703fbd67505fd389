"""Run DAG runs of one saber DAG to completion without a scheduler service.

The loop is Airflow's own ``dag.test()`` loop (``DagRun.update_state`` decides what is ready,
including mapping, trigger rules and skips), widened to many runs at once and to a pool of
worker processes, so points and scatter instances run in parallel. The runs, task instances,
logs and XComs are ordinary Airflow records: ``saber ui`` shows them. Airflow's internals are
reached through ``_compat`` only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from saber._phases import mark
from saber.backends._base import RunProgress, RunRequest
from saber.backends.embedded._admission import Admission, Hold, Slots
from saber.backends.embedded._workers import WorkerPools, init_worker
from saber.errors import SaberError

__all__ = ["EmbeddedRunner", "RunBatches", "container_ids", "gpu_count", "kill_containers"]


class EmbeddedRunner:
    """Drives the runs of one DAG file in this process, as many tasks at once as ``slots`` allow
    (default: elastic beyond the core count, see ``_admission``)."""

    def __init__(self, *, dag_file: Path, plan_path: Path, slots: Slots | None = None) -> None:
        self.dag_file = dag_file
        self.plan_path = plan_path
        self.slots = slots or Slots.of()
        # The GPU pool's slots; GPU steps are refused up front on a machine with too few
        # (EmbeddedBackend.prepare), and each holds its own devices while it runs (_gpus).
        self.gpus = max(gpu_count(), 1)

    @contextmanager
    def open(self) -> Iterator[RunBatches]:
        """Sync the DAG and start the worker processes once, for several batches of runs (the
        optimizer's rounds): each batch then costs only its runs, not a DAG sync and a pool."""
        from saber.backends.embedded import _compat

        session = _compat.new_session()
        dag = _synced(self.dag_file, self.gpus, session)
        mark("dag sync")
        _compat.warm_execution_api()
        mark("execution api")
        worker_log = _compat.base_log_folder() / "saber-workers.log"  # task logs are separate files
        pool = WorkerPools(size=self.slots.cores, limit=self.slots.in_flight, initializer=init_worker,
                           initargs=(str(self.plan_path), str(worker_log)))
        try:
            yield RunBatches(self, dag, session, pool)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            session.close()


def _synced(dag_file: Path, gpus: int, session):
    """The DAG written to the home's database. Two runs of one workflow starting at once (two
    sweeps, a fresh home) would both insert it ("UNIQUE constraint failed: dag.dag_id"): the
    second waits for the first, then finds the DAG there.

    Parsing the DAG file and writing it (half a second) is skipped when the database holds the
    DAG synced from the same DAG file, plan, saber code and Airflow version: a marker beside the
    file keeps that sync's key."""
    import fcntl

    from saber.backends.embedded import _compat

    with open(dag_file.parent / ".sync.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = dag_file.with_name(f".{dag_file.stem}.synced")  # Airflow reads only .py files here
        key = _sync_key(dag_file)
        if marker.is_file() and marker.read_text() == key:
            dag = _compat.known_dag(dag_file.stem, gpus, session)
            if dag is not None:
                return dag
        dag = _compat.sync_dag(dag_file, gpus, session)
        marker.write_text(key)
        return dag


def _sync_key(dag_file: Path) -> str:
    """What the serialized DAG depends on: the DAG file, its plan, the code that builds the DAG
    from them (saber.airflow) and Airflow's version."""
    import hashlib
    from importlib.metadata import version

    import saber.airflow

    digest = hashlib.sha256(version("apache-airflow-core").encode())
    sources = sorted(Path(saber.airflow.__file__).parent.glob("*.py"))
    for path in [dag_file, dag_file.with_name(f"{dag_file.stem}.plan.json"), *sources]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class RunBatches:
    """An open runner: one synced DAG, one pool of workers, any number of batches of runs."""

    def __init__(self, runner: EmbeddedRunner, dag, session, pool: WorkerPools) -> None:
        self.runner, self.dag, self.session, self.pool = runner, dag, session, pool
        # One for all batches: its measure of the idle CPU carries from one round to the next.
        self.admission = Admission(runner.slots, gpus=runner.gpus)

    def run(self, requests: list[RunRequest], on_progress: Callable[[list[RunProgress]], None] | None = None,
            max_active_runs: int | None = None) -> dict[str, str]:
        """Run one batch to the end; returns run_id -> final state."""
        from saber.backends.embedded._compat import taken_run_id

        if taken := taken_run_id(self.session, self.dag.dag_id, [r.run_id for r in requests]):
            raise SaberError(f"DAG {self.dag.dag_id} already has a run {taken}: give this sweep another "
                             "--study (or leave it out for a fresh one)")
        drive = _Drive(self, requests, max_active_runs or self.runner.slots.in_flight * 2)
        try:
            while drive.waiting or drive.active:
                drive.start_runs()
                drive.step()
                if on_progress:
                    on_progress(list(drive.progress.values()))
                drive.wait()
        except BaseException:
            self.cancel([dr.run_id for dr in drive.active] + [r.run_id for r in drive.waiting])
            raise
        return drive.finished

    def cancel(self, run_ids: list[str]) -> None:
        """Stop: no new task starts, the runs' containers are killed, the runs marked failed."""
        from saber.backends.embedded._compat import fail_runs

        # No new task starts; the busy workers' tasks end once their containers are killed (the
        # workers die with this process in any case: a parent-death signal, see _workers).
        self.pool.shutdown(wait=False, cancel_futures=True)
        kill_containers(self.dag.dag_id, run_ids)
        fail_runs(self.session, run_ids)


class _Drive:
    """One pass of the loop at a time: start runs, let Airflow decide what is ready, hand ready
    task instances to the workers within the slots they need, wait for one to finish."""

    def __init__(self, batches: RunBatches, requests: list[RunRequest], max_active: int) -> None:
        self.dag, self.session, self.pool = batches.dag, batches.session, batches.pool
        self.admission = batches.admission
        self.waiting = list(requests)
        self.max_active = max_active
        self.active: list[Any] = []
        self.finished: dict[str, str] = {}
        self.progress = {r.run_id: RunProgress(run_id=r.run_id) for r in requests}
        self.pending: dict[Future, tuple[Any, Hold]] = {}  # future -> (ti key, what it holds)

    def start_runs(self) -> None:
        from saber.backends.embedded._compat import create_run

        while self.waiting and len(self.active) < self.max_active:
            req = self.waiting.pop(0)
            self.active.append(create_run(self.dag, req.run_id, req.conf, self.session))

    def step(self) -> None:
        """Advance every active run and dispatch what is ready, oldest run first."""
        from saber.backends.embedded._compat import ACTIVE_RUN_STATES, SCHEDULED, advance

        self.session.expire_all()
        self.admission.sample()
        for dr in list(self.active):
            tis = advance(dr, self.dag, self.session)
            self.progress[dr.run_id].tasks = _count(tis)
            self.progress[dr.run_id].state = str(dr.state)
            if dr.state not in ACTIVE_RUN_STATES:
                self.active.remove(dr)
                self.finished[dr.run_id] = str(dr.state)
                continue
            for ti in tis:
                if ti.state == SCHEDULED:
                    self._dispatch(ti)
        self.session.commit()  # end the read transaction before waiting

    def _dispatch(self, ti) -> None:
        """Resource-aware: a task holds pool_slots (its cores, from ResourceRequirement) of the
        core slots, a task larger than the machine the whole machine, and its GPUs; one whose
        cores are not declared may also start on idle CPU beyond them (``Admission``)."""
        from saber.backends.embedded._compat import queue
        from saber.backends.embedded._workers import run_workload

        res = (ti.executor_config or {}).get("saber", {})
        # Cores from the plan: a GPU step's pool_slots count GPUs (its pool's slots are GPUs).
        hold = self.admission.admit(cores=int(res.get("pool_slots") or ti.pool_slots or 1), gpus=res.get("gpus", 0),
                                    declared=bool(res.get("cores_declared")))
        if hold is None:
            return
        workload = queue(ti, self.session)
        mark("schedule")
        self.pending[self.pool.submit(run_workload, workload)] = (ti.key, hold)

    def wait(self) -> None:
        if not self.pending:
            if self.active:
                time.sleep(0.05)
            return
        done, _ = wait(list(self.pending), timeout=1.0, return_when=FIRST_COMPLETED)
        for fut in done:
            key, hold = self.pending.pop(fut)
            self.admission.release(hold)
            try:
                fut.result()
            except BrokenProcessPool as e:
                raise SaberError(f"a worker process died while running {key.task_id}") from e
            self._count_cached(key)

    def _count_cached(self, key) -> None:
        from saber.backends.embedded._compat import xcom

        if key.run_id in self.progress and xcom(self.session, key.dag_id, key.run_id, key.task_id,
                                                key.map_index, "cached") is True:
            self.progress[key.run_id].cached += 1
        self.session.commit()  # end the read transaction


def gpu_count() -> int:
    """GPUs saber may use on this machine (saber.execution._gpus: $SABER_GPUS or nvidia-smi -L)."""
    from saber.execution._gpus import gpu_devices

    return len(gpu_devices())


def _count(tis) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ti in tis:
        state = str(ti.state) if ti.state else "none"
        counts[state] = counts.get(state, 0) + 1
    return counts


def container_ids(dag_id: str, run_ids: list[str]) -> list[str]:
    """The containers these runs started: cwltool leaves a --cidfile per container."""
    from saber.home import storage_root

    return [cidfile.read_text().strip() for run_id in run_ids
            for cidfile in (storage_root() / ".work" / dag_id / run_id).glob("**/*.cid")]


def kill_containers(dag_id: str, run_ids: list[str]) -> list[str]:
    """Stop the containers of interrupted runs; returns the ids of those still running."""
    import subprocess

    from saber.execution._retry import mark_stopped
    from saber.home import storage_root

    for run_id in run_ids:  # first: a step whose container dies now must not be tried again
        mark_stopped(storage_root() / ".work" / dag_id / run_id)
    ids = [i for i in container_ids(dag_id, run_ids) if i]
    if not ids:
        return []
    # docker names each container it killed on stdout; one already gone is an error on stderr.
    killed = subprocess.run(["docker", "kill", *ids], capture_output=True, text=True, timeout=60)
    return killed.stdout.split()
