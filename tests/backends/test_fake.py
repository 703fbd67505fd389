"""The in-memory backend keeps the contract, so tests of saber.runs on it mean something."""

from __future__ import annotations

import pytest

from saber.backends.testing import BackendContract, FakeBackend, FakeResult


def quadratic(plan: dict, inputs: dict) -> FakeResult:
    """What tests/data/cwl/quadratic.cwl's tool does."""
    task = plan["steps"][0]["task_id"]
    x, limit = float(inputs["x"]), float(inputs.get("fail_above", 2.0))
    if x > limit:
        return FakeResult(state="failed", error="x above fail_above")
    return FakeResult(scores={task: 1 - (x - 0.6) ** 2})


class TestFakeBackend(BackendContract):
    @pytest.fixture
    def backend_factory(self):
        return lambda: FakeBackend(quadratic)
