"""The embedded backend: Airflow in this process, state under the saber home, no server."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from saber._phases import mark
from saber.backends._base import TERMINAL, Capabilities, RunOutcome, RunProgress, RunRequest, RunState
from saber.backends.embedded._admission import Slots
from saber.home import SaberHome

__all__ = ["EmbeddedBackend"]


class EmbeddedBackend:
    """Runs DAG runs with the embedded runner (``_runner``) on a saber home's Airflow.

    ``own`` gives the home settings that replace the environment's (a throw-away home);
    ``template_dir`` copies a migrated database from there instead of migrating one;
    ``workers``: that many tasks at once, fixed; none: elastic beyond the core count (``_admission``);
    ``single_run``: one run only (`saber cwl-runner`), so the pool is sized to the plan;
    ``reaper``: a watchdog cleans up (containers, runs, trials) if this process is killed
    outright (off where the caller has its own: `saber cwl-runner`'s throw-away home).
    """

    name = "embedded"

    def __init__(self, *, home: SaberHome, workers: int | None = None, own: bool = False,
                 template_dir: Path | None = None, single_run: bool = False, reaper: bool = True) -> None:
        self.home, self.own, self.template_dir, self.single_run = home, own, template_dir, single_run
        self.reaper: Any = reaper  # True until prepare() starts it
        self.slots = Slots.of(workers)
        # A study's default batch: runs sure of a core each. The elastic slots beyond them depend
        # on what the tool waits on, and a larger batch makes each round's suggestions less informed.
        self.capabilities = Capabilities(shared_storage=True, stores_secrets=True, needs_dag_sync=False,
                                         parallel_runs=self.slots.cores)
        self._stack = ExitStack()
        self._batches: Any = None
        self._records: Any = None
        self._plan: dict | None = None
        self._pending: list[RunRequest] = []
        self._confs: dict[str, dict] = {}
        self._states: dict[str, RunState] = {}

    def start(self) -> None:
        from saber.backends.embedded._home import activate

        activate(self.home, own=self.own)
        # Airflow's import (~2 s) while the workflow compiles; the versions are checked first.
        from saber.backends.embedded import _compat  # noqa: F401
        import saber.airflow  # noqa: F401

    def prepare(self, plan: dict) -> None:
        from saber.airflow import write_dag_file
        from saber.backends.embedded._docker import check_docker, check_gpus, check_images, needs_docker
        from saber.backends.embedded._home import ensure_database
        from saber.backends.embedded._records import Records
        from saber.backends.embedded._runner import EmbeddedRunner
        from saber.execution import preload_tool

        if needs_docker(plan):
            check_docker()  # after validation: bad input is reported even with Docker down
            check_images(plan)  # before any run: a missing image failed every step at run time
        check_gpus(plan)  # a GPU step this machine cannot run is refused now, not queued
        mark("docker check")
        # Here, not in start(): a new home's migration (seconds) must not delay the report of
        # bad input, which comes once the workflow has compiled.
        ensure_database(self.home, template_dir=self.template_dir)
        mark("database")
        for step in plan["steps"]:  # loaded once here, shared by every worker forked later
            preload_tool(step)
        dag_file = write_dag_file(plan, self.home.dags)
        mark("dag file")
        slots = self.slots
        if self.single_run and len(plan["steps"]) == 1 and not plan["steps"][0]["scatter"]:
            slots = Slots.of(1)  # one task to run: a second worker process would only be forked and set up
        if self.reaper is True:  # after activate(): it inherits this home's environment
            from saber.backends.embedded._reaper import Reaper

            self.reaper = Reaper()
            self._stack.callback(self.reaper.release)
        runner = EmbeddedRunner(dag_file=dag_file, plan_path=dag_file.with_name(f"{plan['dag_id']}.plan.json"),
                                slots=slots)
        self._batches = self._stack.enter_context(runner.open())
        self._records = Records(plan, self._batches.session)
        self._plan = plan

    def store_secrets(self, values: Mapping[str, str]) -> None:
        from saber.backends.embedded._compat import store_variables

        store_variables(values)

    def submit(self, requests: Sequence[RunRequest]) -> None:
        from saber.home import storage_root

        for req in requests:
            self._confs[req.run_id] = req.conf
            self._states[req.run_id] = "queued"
            if self.reaper:
                self.reaper.watch(storage_root() / ".work" / self._plan["dag_id"] / req.run_id)
        if self.reaper:
            self.reaper.runs(self._plan["dag_id"], [r.run_id for r in requests])
        self._pending.extend(requests)

    def wait(self, run_ids: Sequence[str], *,
             on_progress: Callable[[list[RunProgress]], None] | None = None) -> dict[str, RunState]:
        wanted = set(run_ids)
        batch = [r for r in self._pending if r.run_id in wanted]
        self._pending = [r for r in self._pending if r.run_id not in wanted]
        if batch:
            for run_id, state in self._batches.run(batch, on_progress=on_progress).items():
                self._states[run_id] = "success" if state == "success" else "failed"
            if self.reaper:
                self.reaper.runs(self._plan["dag_id"], [r.run_id for r in batch], done=True)
        return {run_id: self._states.get(run_id, "failed") for run_id in run_ids}

    def outcome(self, run_id: str) -> RunOutcome:
        return self._records.outcome(run_id)

    def outputs(self, run_id: str) -> dict[str, Any]:
        conf = self._confs.get(run_id)
        if conf is None:  # a run this backend did not submit (settled): its conf is in the database
            conf = self._records.conf(run_id)
        return self._records.outputs(run_id, conf)

    def annotate(self, run_id: str, note: str) -> None:
        self._records.annotate(run_id, note)

    def cancel(self, run_ids: Sequence[str]) -> None:
        if self._batches is not None:
            unfinished = [r for r in run_ids if self._states.get(r) not in TERMINAL]
            self._pending = [r for r in self._pending if r.run_id not in set(unfinished)]
            self._batches.cancel(unfinished)

    def settle(self, run_ids: Sequence[str]) -> dict[str, RunState | None]:
        states = self._records.settle(list(run_ids))
        self._states.update({r: s for r, s in states.items() if s is not None})
        return states

    def forget_secrets(self, keys: Sequence[str]) -> None:
        from saber.backends.embedded._compat import delete_variables

        delete_variables(keys)

    def close(self) -> None:
        self._stack.close()
        self._batches = self._records = None
