"""Results databases for the store tests: SQLite on tmp_path and a throw-away PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_server import create_database

from saber.cli import main
from saber.scores import ResultsStore


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty results database: a SQLite file, or a fresh database on the session's server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results.db'}"
    return create_database(request.getfixturevalue("postgres_url"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'results.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[ResultsStore]:
    with ResultsStore(db_url) as store:
        yield store


@pytest.fixture
def results(store: ResultsStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run `saber results ARGS` on ``store``'s database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("SABER_DB", store.url)
    monkeypatch.setenv("COLUMNS", "250")  # rich would fold the table to 80 columns

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["results", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run
