"""The start of every use case: validate and compile in a forked child while the backend starts.

Validating the CWL (cwltool, ~2 s) and starting the backend (the embedded one imports Airflow,
~2 s) are both CPU-bound: the first runs in a child forked before Airflow loads, so they
overlap on two cores. cwltool's schema is parsed once, before the fork, for both processes.

The backend starts in a daemon thread, so bad input is reported the moment the child finds it,
not once Airflow has loaded: the process may then exit while that thread still imports.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from saber._phases import mark
from saber.backends import Backend
from saber.errors import SaberError

__all__ = ["boot"]

T = TypeVar("T")


def boot(backend: Backend, compile_: Callable[..., T], *args: Any) -> T:
    """``compile_(*args)`` in a forked child while ``backend.start()`` runs here; its result
    (errors included) crosses back by pickling. A compile error wins over a start error."""
    from saber.cwl import warm_schema

    warm_schema()
    mark("schema")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as child:
        # Forks now, before the thread below exists.
        compiled = child.submit(_marked, "compile", compile_, *args)
        started = _in_thread(lambda: _marked("airflow import", backend.start))
        wait([compiled, started], return_when=FIRST_COMPLETED)
        if compiled.done() and compiled.exception() is not None:
            return compiled.result()  # raises: bad input, without waiting for the backend
        try:
            started.result()
        except SaberError:
            compiled.result()
            raise
        result = compiled.result()
    mark("boot")
    return result


def _marked(phase: str, call: Callable[..., T], *args: Any) -> T:
    """``call(*args)``, its end marked as ``phase`` (`saber._phases`)."""
    result = call(*args)
    mark(phase)
    return result


def _in_thread(call: Callable[[], None]) -> Future:
    """``call()`` in a daemon thread; its outcome in the returned future."""
    future: Future = Future()

    def run() -> None:
        try:
            call()
        except BaseException as e:  # noqa: BLE001 - the future carries it to the caller
            future.set_exception(e)
        else:
            future.set_result(None)

    threading.Thread(target=run, name="saber-backend-start", daemon=True).start()
    return future
