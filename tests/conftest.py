"""Fixtures; the session's $SABER_HOME is set up by saber_testing before airflow is imported."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from airflow_deployment import Deployment
from airflow_deployment import airflow_deployment as start_airflow
from pg_server import postgres_or_skip
from s3_server import S3Server, s3_server_or_skip
from saber_testing import HOME

from saber.backends.embedded import ensure_database
from saber.home import SaberHome


@pytest.fixture(scope="session")
def saber_home() -> SaberHome:
    ensure_database(HOME)
    return HOME


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL server on 127.0.0.1 for the session (skipped locally without one,
    a failure in CI)."""
    yield from postgres_or_skip()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A throw-away S3 server (SeaweedFS) on 127.0.0.1 for the session (skipped locally without
    its ``weed`` binary, a failure in CI); ``.new_bucket()`` makes a fresh bucket."""
    yield from s3_server_or_skip()


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The server, with boto3's standard chain (``AWS_ENDPOINT_URL``, keys) pointed at it for the
    test."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return s3_server


@pytest.fixture(scope="session")
def airflow_deployment(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[Deployment]:
    """A running Airflow 3 deployment (api-server, scheduler, dag-processor, LocalExecutor) on a
    fresh PostgreSQL database, one per test session; tests write DAGs into ``.dags`` (saber's
    --dags-folder) and sign in with ``.username``/``.password``."""
    users = {"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer"}  # viewer: a 403
    with start_airflow(tmp_path_factory.mktemp("airflow-deployment"), postgres_url, parallelism=4,
                       extra_env=users) as deployment:
        yield deployment


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write dedented text to tmp_path/NAME and return its path."""

    def write_(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write_


# -- a local Boss API server (saber.volumes._server) over a precomputed store ------------------

BOSS_TOKEN = "test-token"


@dataclass(frozen=True)
class BossServer:
    url: str  # http://127.0.0.1:PORT
    root: Path  # the precomputed store it serves
    token: str | None

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")

    def remote(self, token: str | None = None):
        """An unmodified intern BossRemote talking to this server (with ``token`` if given)."""
        from intern.remote.boss import BossRemote

        return BossRemote({"protocol": "http", "host": self.host,
                           "token": self.token if token is None else token})


@contextmanager
def serving(root: Path, token: str | None = BOSS_TOKEN) -> Iterator[BossServer]:
    """The server on a free 127.0.0.1 port, in a background thread, until the block ends."""
    from saber.volumes import serving as serve_in_thread

    with serve_in_thread(root, token) as url:
        yield BossServer(url=url, root=root, token=token)


@pytest.fixture(scope="module")
def boss_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BossServer]:
    """A server with token BOSS_TOKEN over a fresh store, shared by the tests of one module."""
    with serving(tmp_path_factory.mktemp("boss") / "store") as server:
        yield server


@pytest.fixture
def serve_boss():
    """``serving`` itself, for a test that needs its own server (another root, no token)."""
    return serving
