"""The plan every backend's contract tests run (tests/data/cwl/quadratic.cwl)."""

from __future__ import annotations

import pytest
from saber_testing import DATA


@pytest.fixture(scope="session")
def contract_plan() -> dict:
    from saber.runs import compile_workflow

    return compile_workflow(DATA / "cwl" / "quadratic.cwl")
