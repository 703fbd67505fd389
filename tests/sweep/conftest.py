"""Fixtures shared by the sweep tests: sweep files written on tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from saber_testing import yaml_writer


@pytest.fixture
def sweep_file(tmp_path: Path) -> Callable[[str], Path]:
    """Write dedented YAML to a fresh sweep.yml and return its path."""
    return yaml_writer(tmp_path, "sweep.yml")
