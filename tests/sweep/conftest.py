"""Fixtures shared by the sweep tests: sweep files written on tmp_path."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def sweep_file(tmp_path: Path) -> Callable[[str], Path]:
    """Write dedented YAML to a fresh sweep.yml and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "sweep.yml"
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write
