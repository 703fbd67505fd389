"""The contract every backend keeps, as a reusable pytest suite (like ``optuna.testing``).

A backend's test module subclasses :class:`BackendContract` and provides two fixtures:

- ``backend_factory``: a callable returning a new, not yet started backend;
- ``contract_plan``: the compiled plan of a one-step scored tool with a float input ``x`` and
  ``fail_above`` (default 2.0), whose step prints ``score: 1 - (x - 0.6)^2`` and fails with
  "x above fail_above" when ``x > fail_above`` (tests/data/cwl/quadratic.cwl).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from saber.backends._base import TERMINAL, Backend, RunProgress, RunRequest
from saber.errors import SaberError
from saber.plan import run_conf

__all__ = ["BackendContract"]


def _request(prefix: str, **inputs: float) -> RunRequest:
    run_id = f"{prefix}_{uuid.uuid4().hex[:8]}"  # unique on a deployment that outlives the test
    return RunRequest(run_id=run_id, conf=run_conf(inputs, {"sweep_id": "contract", "point": 0, "params": inputs,
                                                            "step_inputs": {}}))


class BackendContract:
    """Held by every backend: the lifecycle, named states, outcomes, outputs and cancelling."""

    @pytest.fixture
    def ready(self, backend_factory: Callable[[], Backend], contract_plan: dict):
        backend = backend_factory()
        backend.start()
        backend.prepare(contract_plan)
        try:
            yield backend
        finally:
            backend.close()

    def test_it_is_a_backend(self, backend_factory: Callable[[], Backend]) -> None:
        backend = backend_factory()
        assert isinstance(backend, Backend)
        assert backend.name and backend.capabilities.parallel_runs >= 1

    def test_a_batch_runs_to_named_terminal_states(self, ready: Backend, contract_plan: dict) -> None:
        ok, bad = _request("ok", x=0.5), _request("bad", x=3.0, fail_above=1.0)
        seen: list[RunProgress] = []
        ready.submit([ok, bad])
        states = ready.wait([ok.run_id, bad.run_id], on_progress=seen.extend)
        assert states == {ok.run_id: "success", bad.run_id: "failed"}
        assert seen and {p.run_id for p in seen} <= {ok.run_id, bad.run_id}
        assert all(s in TERMINAL for s in states.values())

    def test_outcomes_carry_scores_and_one_sentence_errors(self, ready: Backend, contract_plan: dict) -> None:
        ok, bad = _request("ok", x=0.5), _request("bad", x=3.0, fail_above=1.0)
        ready.submit([ok, bad])
        ready.wait([ok.run_id, bad.run_id])
        task = contract_plan["steps"][0]["task_id"]
        good = ready.outcome(ok.run_id)
        assert (good.run_id, good.state, good.error) == (ok.run_id, "success", None)
        [step] = [s for s in good.steps if s.task_id == task]
        assert step.scored and step.state == "success" and step.score == pytest.approx(0.99)
        assert step.container_s >= 0 and good.wall_s >= 0
        failed = ready.outcome(bad.run_id)
        assert failed.state == "failed"
        assert failed.error.startswith(f"step '{task}' failed") and "x above fail_above" in failed.error
        assert "\n" not in failed.error and list(failed.failures) == [task]

    def test_outputs_follow_the_plan(self, ready: Backend, contract_plan: dict) -> None:
        ok = _request("out", x=0.6)
        ready.submit([ok])
        ready.wait([ok.run_id])
        assert set(ready.outputs(ok.run_id)) == {o["id"] for o in contract_plan["outputs"]}
        ready.annotate(ok.run_id, "saber study s, trial 0: score 1\n" + "x" * 2000)  # cut, not refused

    def test_a_run_id_is_taken_once(self, ready: Backend) -> None:
        first = _request("once", x=0.5)
        ready.submit([first])
        ready.wait([first.run_id])
        with pytest.raises(SaberError, match=first.run_id):
            ready.submit([first])
            ready.wait([first.run_id])

    def test_settle_gives_final_states_and_none_for_unknown_runs(self, ready: Backend) -> None:
        done = _request("settled", x=0.5)
        ready.submit([done])
        ready.wait([done.run_id])
        assert ready.settle([done.run_id, "never-submitted"]) == {done.run_id: "success",
                                                                   "never-submitted": None}
        assert ready.outcome(done.run_id).state == "success"

    def test_cancel_keeps_finished_runs_and_is_idempotent(self, ready: Backend) -> None:
        done = _request("done", x=0.5)
        ready.submit([done])
        ready.wait([done.run_id])
        ready.cancel([done.run_id])
        ready.cancel([done.run_id])
        assert ready.outcome(done.run_id).state == "success"

    def test_forgetting_secrets_skips_what_is_not_stored(self, ready: Backend) -> None:
        key = f"saber_secret_contract_{uuid.uuid4().hex[:8]}"
        ready.store_secrets({key: "contract-value"})
        ready.forget_secrets([key, f"{key}_never_stored"])
        ready.forget_secrets([key])  # again: nothing left to remove, nothing raised
