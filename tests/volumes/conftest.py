"""Shared fixtures: a local Boss-API server (saber.volumes._server) over a precomputed store."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

TOKEN = "test-token"


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
def serving(root: Path, token: str | None = TOKEN) -> Iterator[BossServer]:
    """Run the server on a free 127.0.0.1 port in a background thread until the block ends."""
    import uvicorn

    from saber.volumes._server import make_app

    # Bind first and hand uvicorn the socket: no race for the port between choosing and binding.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(make_app(root, token), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the Boss test server did not start")
        time.sleep(0.02)
    try:
        yield BossServer(url=f"http://127.0.0.1:{port}", root=root, token=token)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def boss_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BossServer]:
    """A server with token TOKEN over a fresh store, shared by the tests of one module."""
    with serving(tmp_path_factory.mktemp("boss") / "store") as server:
        yield server


@pytest.fixture
def serve_boss():
    """``serving`` itself, for a test that needs its own server (another root, no token)."""
    return serving
