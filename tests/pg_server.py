"""A throw-away PostgreSQL server for tests: its own cluster in a temp dir, on 127.0.0.1.

Needs the server binaries (Debian's `postgresql` package, installed by scripts/setup.sh). In CI
(the CI variable set) a missing server fails the tests that need one; elsewhere they skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["create_database", "pg_bindir", "postgres_or_skip", "postgres_server"]

DATABASE = "saber_test"


def pg_bindir() -> Path | None:
    """The folder of initdb and pg_ctl: Debian's newest /usr/lib/postgresql/N/bin, else PATH."""
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                    key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if debian:
        return Path(debian[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a cluster with trust auth, yield the SQLAlchemy URL of its empty database
    ``saber_test``, then stop it and delete its files."""
    bindir = pg_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb); install the 'postgresql' package")
    root = Path(tempfile.mkdtemp(prefix="saber-pg-"))
    as_postgres = os.geteuid() == 0  # the server refuses to run as root
    try:
        if as_postgres:
            shutil.chown(root, "postgres", "postgres")
        _run(as_postgres, bindir / "initdb", "-D", root / "data", "-U", "postgres", "-A", "trust",
             "-E", "UTF8", "--no-locale", "--no-sync")
        port = _start(as_postgres, bindir, root)
        try:
            url = f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
            yield create_database(url, DATABASE)
        finally:
            _run(as_postgres, bindir / "pg_ctl", "-D", root / "data", "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def postgres_or_skip() -> Iterator[str]:
    """Body of a session fixture: the server's URL; skips (fails in CI) without PostgreSQL."""
    if pg_bindir() is None:
        reason = "needs PostgreSQL's initdb (Debian package 'postgresql'; scripts/setup.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with postgres_server() as url:
        yield url


def create_database(url: str, name: str | None = None) -> str:
    """Create database ``name`` (default: a fresh unique name) on the server of ``url``; its URL."""
    name = name or f"t_{uuid.uuid4().hex[:12]}"
    with _on_server(url) as (server, conn):
        conn.execute(_sql(f'CREATE DATABASE "{name}"'))
    return server.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop the database of ``url`` (``create_database``'s), with any connection still on it."""
    with _on_server(url) as (server, conn):
        # FORCE (PostgreSQL 13+): connections of killed processes may linger a moment.
        conn.execute(_sql(f'DROP DATABASE IF EXISTS "{server.database}" WITH (FORCE)'))


@contextmanager
def _on_server(url: str):
    """(the URL, a connection to the server's maintenance database) outside any transaction."""
    import sqlalchemy as sa

    server = sa.engine.make_url(url)
    engine = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield server, conn
    finally:
        engine.dispose()


def _sql(text: str):
    import sqlalchemy as sa

    return sa.text(text)


def _start(as_postgres: bool, bindir: Path, root: Path) -> int:
    """Start the server on a free port; another process may take the port first, so retry."""
    error: Exception | None = None
    for _ in range(3):
        port = _free_port()
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off "
                   "-c full_page_writes=off -c max_connections=200")
        try:
            _run(as_postgres, bindir / "pg_ctl", "-D", root / "data", "-l", root / "server.log",
                 "-o", options, "-w", "-t", "60", "start")
            return port
        except RuntimeError as e:
            error = e
    log = root / "server.log"
    raise RuntimeError(f"{error}\n{log.read_text()[-2000:] if log.exists() else ''}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(as_postgres: bool, *command: object) -> None:
    argv = [str(c) for c in command]
    if as_postgres:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, cwd="/")
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
