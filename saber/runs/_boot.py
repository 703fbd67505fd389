"""The start of every use case: validate and compile in a forked child while the backend starts.

Validating the CWL (cwltool, ~2 s) and starting the backend (the embedded one imports Airflow,
~2 s) are both CPU-bound: the first runs in a child forked before Airflow loads, so they
overlap on two cores. cwltool's schema is parsed once, before the fork, for both processes.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from saber.backends import Backend

__all__ = ["boot"]

T = TypeVar("T")


def boot(backend: Backend, compile_: Callable[..., T], *args: Any) -> T:
    """``compile_(*args)`` in a forked child while ``backend.start()`` runs here; its result
    (errors included) crosses back by pickling."""
    from saber.cwl import warm_schema

    warm_schema()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as child:
        compiled = child.submit(compile_, *args)
        backend.start()
        return compiled.result()
