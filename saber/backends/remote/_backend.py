"""The airflow backend: DAG runs on a real Airflow 3 deployment, through its REST API v2."""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from saber.backends._base import (TERMINAL, Capabilities, RunOutcome, RunProgress, RunRequest, RunState,
                                  StepRecord, run_state)
from saber.backends._failures import outcome_error, step_error
from saber.backends._outputs import NOTE_LIMIT, pushed_float, resolve_outputs, step_label
from saber.backends._poll import poll
from saber.backends.remote._client import AirflowClient
from saber.errors import BackendUnavailable, SaberError

__all__ = ["AirflowBackend"]

log = logging.getLogger(__name__)

_GPU_POOL = "saber_gpu"
_DEFAULT_PARALLEL_RUNS = 4


class AirflowBackend:
    """Runs a plan's DAG runs on the Airflow deployment at ``url``.

    With ``dags_folder`` (the deployment's, shared with this machine) ``prepare`` writes the DAG
    file there and waits up to ``sync_timeout`` s for the deployment to parse it; without, the
    DAG must be deployed already, as this very plan. Runs are polled at most ``poll_s`` s apart
    (more often while young); a read
    rides out an unreachable or failing (5xx) api-server for ``retry_s`` s. ``transport`` and
    ``sleep`` are for tests (an ``httpx.MockTransport``, a fake clock).
    """

    name = "airflow"

    def __init__(self, *, url: str, dags_folder: Path | None = None, sync_timeout: float = 300.0,
                 poll_s: float = 5.0, retry_s: float = 20.0, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = AirflowClient(url, transport=transport, retry_s=retry_s, sleep=sleep)
        self.dags_folder = Path(dags_folder) if dags_folder is not None else None
        self.sync_timeout, self.poll_s, self._sleep = sync_timeout, poll_s, sleep
        self.capabilities = self._capabilities(_DEFAULT_PARALLEL_RUNS)
        self._plan: dict | None = None
        self._confs: dict[str, dict] = {}
        self._states: dict[str, RunState] = {}

    @staticmethod
    def _capabilities(parallel_runs: int) -> Capabilities:
        return Capabilities(shared_storage=True, stores_secrets=True, needs_dag_sync=True,
                            parallel_runs=parallel_runs)

    @property
    def plan(self) -> dict:
        if self._plan is None:
            raise SaberError("the airflow backend has no plan yet: call prepare(plan) first")
        return self._plan

    @property
    def dag_id(self) -> str:
        return self.plan["dag_id"]

    def start(self) -> None:
        self.client.authenticate()
        self.client.check_access()
        parallelism = self.client.config_value("core", "parallelism")
        if parallelism and parallelism.strip().isdigit() and int(parallelism) > 0:
            self.capabilities = self._capabilities(int(parallelism))
        log.info("signed in to Airflow at %s ([core] parallelism %s)", self.client.shown, parallelism or "hidden")

    def prepare(self, plan: dict) -> None:
        from saber.backends.remote._sync import await_plan, check_deployed
        from saber.plan import plan_digest

        if self.dags_folder is not None:
            from saber.airflow import write_dag_file

            dag_file = write_dag_file(plan, self.dags_folder)  # sets plan["digest"]
            dag = await_plan(self.client, plan, dag_file, timeout=self.sync_timeout, sleep=self._sleep)
        else:
            plan.setdefault("digest", plan_digest(plan))
            dag = check_deployed(self.client, plan)
        self._plan = plan
        self._ensure_gpu_pool(plan)
        if dag.get("is_paused", True):
            self.client.set_paused(plan["dag_id"], False)

    def _ensure_gpu_pool(self, plan: dict) -> None:
        """The GPU steps' pool (a slot per GPU of the workers) exists and is large enough for
        each of them: a task needing more slots than its pool has would wait forever."""
        steps = [s for s in plan["steps"] if s["resources"]["pool"] == _GPU_POOL]
        if not steps:
            return
        biggest = max(steps, key=lambda s: s["resources"]["gpus"])
        need = max(1, int(biggest["resources"]["gpus"]))
        pool = self.client.pool(_GPU_POOL)
        if pool is None:
            self.client.create_pool(_GPU_POOL, need, "saber: one slot per GPU")
            log.warning("Airflow at %s had no pool %r for GPU steps: created it with %d slot(s); give it one "
                        "slot per GPU of the workers", self.client.shown, _GPU_POOL, need)
        elif int(pool.get("slots", 0)) != -1 and int(pool.get("slots", 0)) < need:
            raise SaberError(f"step '{biggest['task_id']}' needs {need} GPU(s) but pool {_GPU_POOL!r} on "
                             f"{self.client.shown} has {pool.get('slots')} slot(s), one per GPU of the workers: "
                             f"the step would wait forever (give the pool more slots if the workers have the GPUs)")

    def store_secrets(self, values: Mapping[str, str]) -> None:
        for key, value in values.items():
            if not self.client.set_variable(key, value, "a secret input of a saber run"):
                self.client.delete_variable(key)  # not left there in plain text
                raise SaberError(f"Airflow at {self.client.shown} has no Fernet key ([core] fernet_key), so it "
                                 f"would store the secret input unencrypted: its administrator must set one")
        if values:
            log.info("stored %d secret input(s) as Airflow Variables on %s", len(values), self.client.shown)

    def submit(self, requests: Sequence[RunRequest]) -> None:
        for req in requests:
            if not self.client.trigger(self.dag_id, req.run_id, req.conf):
                raise SaberError(f"DAG {self.dag_id!r} on {self.client.shown} already has a run {req.run_id!r}: "
                                 f"give this sweep another --study/--sweep-id")
            self._confs[req.run_id] = req.conf
            self._states[req.run_id] = "queued"

    def wait(self, run_ids: Sequence[str], *,
             on_progress: Callable[[list[RunProgress]], None] | None = None) -> dict[str, RunState]:
        ids = list(dict.fromkeys(run_ids))
        counts: dict[str, dict[str, int]] = {}
        cached: dict[str, int] = {}

        def check() -> dict[str, RunState] | None:
            changed = self._refresh(ids)
            if on_progress is not None:
                for run_id in ids:  # a queued run has no task running, a finished one changes no more
                    if self._states[run_id] == "running" or run_id in changed:
                        before = counts.get(run_id, {}).get("success", 0)
                        counts[run_id] = self._task_counts(run_id)
                        if counts[run_id].get("success", 0) != before:
                            cached[run_id] = self.client.xcom_count(self.dag_id, run_id, "cached")
                on_progress([RunProgress(run_id=r, state=self._states[r], tasks=dict(counts.get(r, {})),
                                         cached=cached.get(r, 0)) for r in ids])
            done = {r: self._states[r] for r in ids}
            return done if all(s in TERMINAL for s in done.values()) else None

        # Polled often while young, rarely once long: a run is noticed ~5 % of its time late.
        found = poll(check, timeout=math.inf, first=0.2, most=self.poll_s, relative=0.05, sleep=self._sleep)
        assert found is not None  # no timeout: poll returns only once every run is terminal
        return found

    def _refresh(self, ids: list[str]) -> set[str]:
        """Update the states of the unfinished runs of ``ids``: one list call for all of them,
        then one read per run that has left the list (its final state). Returns the runs that
        became terminal."""
        pending = [r for r in ids if self._states.get(r) not in TERMINAL]
        if not pending:
            return set()
        unfinished = self.client.unfinished_runs(self.dag_id)
        finished = set()
        for run_id in pending:
            if run_id in unfinished:
                self._states[run_id] = run_state(unfinished[run_id])
                continue
            run = self.client.dag_run(self.dag_id, run_id)
            if run is None:
                log.warning("run %s of DAG %s is gone from %s: counted as failed", run_id, self.dag_id,
                            self.client.shown)
            self._states[run_id] = run_state(run["state"]) if run else "failed"
            if self._states[run_id] in TERMINAL:
                finished.add(run_id)
        return finished

    def _task_counts(self, run_id: str) -> dict[str, int]:
        return dict(Counter(str(ti.get("state") or "none") for ti in self.client.task_instances(self.dag_id, run_id)))

    def outcome(self, run_id: str) -> RunOutcome:
        run = self._run(run_id)
        state = run_state(run.get("state"))
        self._states[run_id] = state
        tis = sorted(self.client.task_instances(self.dag_id, run_id), key=lambda t: (t["task_id"], t["map_index"]))
        plan_steps = {s["task_id"]: s for s in self.plan["steps"]}
        steps = [self._step(run_id, ti, plan_steps.get(ti["task_id"])) for ti in tis]
        failures = {step_label(ti["task_id"], ti["map_index"]): self._failure(run_id, ti)
                    for ti in tis if ti.get("state") == "failed"}
        return RunOutcome(run_id=run_id, state=state, wall_s=_wall_s(run), steps=steps,
                          error=outcome_error(failures, state), failures=failures)

    def _run(self, run_id: str) -> dict:
        run = self.client.dag_run(self.dag_id, run_id)
        if run is None:
            raise SaberError(f"DAG {self.dag_id!r} on {self.client.shown} has no run {run_id!r}")
        return run

    def _step(self, run_id: str, ti: dict, step: dict | None) -> StepRecord:
        """A task instance with what its step pushed. Only a step's task that ran pushes
        anything (not a scatter helper, not a skipped or unreached task): others are not asked."""
        task_id, index, state = ti["task_id"], ti["map_index"], str(ti.get("state") or "none")
        scored = bool(step and step.get("score_format"))
        ran = step is not None and state in ("success", "failed")

        def xcom(key: str) -> Any:
            return self.client.xcom(self.dag_id, run_id, task_id, key, index) if ran else None

        fields = xcom("score_fields") if scored else None
        return StepRecord(task_id=task_id, map_index=index, state=state, scored=scored,
                          score=pushed_float(xcom("score")) if scored else None,
                          score_fields=fields if isinstance(fields, dict) else {},
                          container_s=pushed_float(xcom("container_s")) or 0.0,
                          cached=state == "success" and xcom("cached") is True)

    def _failure(self, run_id: str, ti: dict) -> str:
        """The failed task's error, from its latest try's log."""
        tries = int(ti.get("try_number") or 0)
        records = self.client.log(self.dag_id, run_id, ti["task_id"], tries, ti["map_index"]) if tries else None
        return step_error(records) if records else "(no task log)"

    def outputs(self, run_id: str) -> dict[str, Any]:
        conf = self._confs.get(run_id)
        if conf is None:  # a run this backend did not submit: its conf is on the deployment
            conf = self._run(run_id).get("conf") or {}
        seen: dict[tuple[str, int, str], Any] = {}

        def xcom(task_id: str, map_index: int, key: str) -> Any:
            if (task_id, map_index, key) not in seen:
                seen[task_id, map_index, key] = self.client.xcom(self.dag_id, run_id, task_id, key, map_index)
            return seen[task_id, map_index, key]

        return resolve_outputs(self.plan, conf, xcom)

    def annotate(self, run_id: str, note: str) -> None:
        self.client.patch_dag_run(self.dag_id, run_id, {"note": note[:NOTE_LIMIT]}, "edit DAG run notes")

    def cancel(self, run_ids: Sequence[str]) -> None:
        """Fail the unfinished runs; Airflow then stops their tasks (the operator's on_kill stops
        the containers). Called while an interruption unwinds: what cannot be failed is
        reported, not raised, so the interruption itself goes on."""
        for run_id in dict.fromkeys(run_ids):
            if self._states.get(run_id) in TERMINAL:
                continue
            try:
                self._fail(run_id)
            except BackendUnavailable as e:  # the next run would wait as long again
                log.warning("could not cancel the runs of DAG %s: %s", self.dag_id, e)
                return
            except SaberError as e:
                log.warning("could not cancel run %s of DAG %s: %s", run_id, self.dag_id, e)

    def _fail(self, run_id: str) -> None:
        run = self.client.dag_run(self.dag_id, run_id)
        if run is None:
            return  # never created, or deleted: nothing runs
        state = run_state(run.get("state"))
        if state not in TERMINAL:
            self.client.patch_dag_run(self.dag_id, run_id, {"state": "failed"}, "fail DAG runs")
            log.info("failed run %s of DAG %s on %s", run_id, self.dag_id, self.client.shown)
            state = "failed"
        self._states[run_id] = state

    def settle(self, run_ids: Sequence[str]) -> dict[str, RunState | None]:
        """A deployment runs on without its client; a run still going is failed all the same
        (Airflow then stops its tasks): its trial runs again under the new client's eye."""
        states: dict[str, RunState | None] = {}
        for run_id in dict.fromkeys(run_ids):
            self._states.pop(run_id, None)
            if self.client.dag_run(self.dag_id, run_id) is None:
                states[run_id] = None
                continue
            self._fail(run_id)
            states[run_id] = self._states[run_id]
        return states

    def forget_secrets(self, keys: Sequence[str]) -> None:
        try:
            for key in keys:
                self.client.delete_variable(key)
        except SaberError as e:  # the run's own outcome must not be lost to this
            log.warning("could not delete the Variables of this run's secret inputs on %s: %s",
                        self.client.shown, e)

    def close(self) -> None:
        self.client.close()


def _wall_s(run: dict) -> float:
    if isinstance(run.get("duration"), (int, float)):
        return float(run["duration"])
    try:
        return (datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])).total_seconds()
    except (KeyError, TypeError, ValueError):
        return 0.0

