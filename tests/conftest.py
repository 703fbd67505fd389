"""Fixtures; the session's $SABER_HOME is set up by saber_testing before airflow is imported."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pg_server import postgres_or_skip
from saber_testing import HOME

from saber.embedded import SaberHome


@pytest.fixture(scope="session")
def saber_home() -> SaberHome:
    HOME.ensure_database()
    return HOME


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL server on 127.0.0.1 for the session (skipped locally without one,
    a failure in CI)."""
    yield from postgres_or_skip()


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write dedented text to tmp_path/NAME and return its path."""

    def write_(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write_
