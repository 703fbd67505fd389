"""An in-memory backend: runs finish at once with what a function of their inputs says, so the
use cases in ``saber.runs`` can be tested without Airflow or Docker."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from saber.backends._base import TERMINAL, Capabilities, RunOutcome, RunProgress, RunRequest, RunState, StepRecord
from saber.backends._failures import outcome_error
from saber.errors import SaberError
from saber.plan import conf_inputs

__all__ = ["FakeBackend", "FakeResult"]


@dataclass(frozen=True, kw_only=True)
class FakeResult:
    """What one run gives: its state, scores by task id, outputs, and a failed step's error."""

    state: RunState = "success"
    scores: Mapping[str, float | None] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None  # the failed step's last log line


class FakeBackend:
    """``behave(plan, inputs) -> FakeResult`` decides each run. Everything a caller did is
    recorded (``submitted``, ``secrets``, ``notes``, ``cancelled``, ``forgotten``) for tests to
    check; ``secrets`` holds what is stored now."""

    name = "fake"

    def __init__(self, behave: Callable[[dict, dict], FakeResult], *, parallel_runs: int = 2,
                 interrupt_after: int | None = None) -> None:
        self.behave = behave
        self.capabilities = Capabilities(shared_storage=True, stores_secrets=True, needs_dag_sync=False,
                                         parallel_runs=parallel_runs)
        self.interrupt_after = interrupt_after  # waits before a KeyboardInterrupt (a Ctrl-C test)
        self.plan: dict | None = None
        self.started = self.closed = False
        self.submitted: dict[str, RunRequest] = {}
        self.states: dict[str, RunState] = {}
        self.results: dict[str, FakeResult] = {}
        self.secrets: dict[str, str] = {}
        self.notes: dict[str, str] = {}
        self.cancelled: list[str] = []
        self.forgotten: list[str] = []

    def start(self) -> None:
        self.started = True

    def prepare(self, plan: dict) -> None:
        assert self.started, "prepare() before start()"
        self.plan = plan

    def store_secrets(self, values: Mapping[str, str]) -> None:
        self.secrets.update(values)

    def submit(self, requests: Sequence[RunRequest]) -> None:
        assert self.plan is not None, "submit() before prepare()"
        for req in requests:
            if req.run_id in self.submitted:
                raise SaberError(f"DAG {self.plan['dag_id']} already has a run {req.run_id}")
            self.submitted[req.run_id] = req
            self.states[req.run_id] = "queued"

    def wait(self, run_ids: Sequence[str], *,
             on_progress: Callable[[list[RunProgress]], None] | None = None) -> dict[str, RunState]:
        if self.interrupt_after is not None:
            if self.interrupt_after == 0:
                raise KeyboardInterrupt
            self.interrupt_after -= 1
        for run_id in run_ids:
            if self.states[run_id] not in TERMINAL:
                result = self.behave(self.plan, conf_inputs(self.submitted[run_id].conf))
                self.results[run_id], self.states[run_id] = result, result.state
        if on_progress:
            on_progress([RunProgress(run_id=r, state=self.states[r]) for r in run_ids])
        return {r: self.states[r] for r in run_ids}

    def outcome(self, run_id: str) -> RunOutcome:
        result = self.results.get(run_id) or FakeResult(state=self.states.get(run_id, "failed"))
        scored = {s["task_id"] for s in self.plan["steps"] if s.get("score_format")}
        steps = [StepRecord(task_id=s["task_id"], state="success" if result.state == "success" else "failed",
                            score=result.scores.get(s["task_id"]), scored=s["task_id"] in scored,
                            container_s=0.1)
                 for s in self.plan["steps"]]
        failed = [s.task_id for s in steps if s.state == "failed"]
        failures = {label: result.error or "(no task log)" for label in failed[:1]}
        return RunOutcome(run_id=run_id, state=self.states[run_id], wall_s=0.1, steps=steps,
                          error=outcome_error(failures, result.state), failures=failures)

    def outputs(self, run_id: str) -> dict[str, Any]:
        result = self.results[run_id]
        return {o["id"]: result.outputs.get(o["id"]) for o in self.plan["outputs"]}

    def annotate(self, run_id: str, note: str) -> None:
        self.notes[run_id] = note

    def cancel(self, run_ids: Sequence[str]) -> None:
        for run_id in run_ids:
            if self.states.get(run_id) not in TERMINAL:
                self.states[run_id] = "failed"
                self.cancelled.append(run_id)

    def settle(self, run_ids: Sequence[str]) -> dict[str, RunState | None]:
        self.cancel([r for r in run_ids if r in self.states])
        return {r: self.states.get(r) for r in run_ids}

    def forget_secrets(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.secrets.pop(key, None)
            self.forgotten.append(key)

    def close(self) -> None:
        self.closed = True
