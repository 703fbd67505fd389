"""boot: bad input is reported when the compile child finds it, not once the backend has started."""

from __future__ import annotations

import time

import pytest

from saber.errors import BackendUnavailable, InputError
from saber.runs._boot import boot


class SlowBackend:
    def __init__(self, seconds: float, fail: bool = False) -> None:
        self.seconds, self.fail, self.started = seconds, fail, False

    def start(self) -> None:
        time.sleep(self.seconds)
        if self.fail:
            raise BackendUnavailable("no backend")
        self.started = True


def bad(_: str) -> dict:
    raise InputError("bad input", file="w.cwl", line=3)


def good(name: str) -> dict:
    return {"name": name}


def test_bad_input_does_not_wait_for_the_backend() -> None:
    started = time.monotonic()
    with pytest.raises(InputError, match="w.cwl:3: bad input"):
        boot(SlowBackend(30), bad, "x")
    assert time.monotonic() - started < 10


def test_a_good_compile_waits_for_the_backend() -> None:
    backend = SlowBackend(0.5)
    assert boot(backend, good, "x") == {"name": "x"} and backend.started


def test_bad_input_wins_over_a_backend_that_fails() -> None:
    with pytest.raises(InputError):
        boot(SlowBackend(0, fail=True), bad, "x")
    with pytest.raises(BackendUnavailable):
        boot(SlowBackend(0, fail=True), good, "x")
