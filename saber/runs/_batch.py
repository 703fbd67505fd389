"""One batch of DAG runs on a backend, cancelled as a whole when interrupted; the backend closed
at the end of a use case, its secrets removed first."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from saber._phases import mark
from saber.backends import Backend, RunProgress, RunRequest, RunState

__all__ = ["close_backend", "run_batch"]


def run_batch(backend: Backend, requests: Sequence[RunRequest],
              on_progress: Callable[[list[RunProgress]], None] | None = None) -> dict[str, RunState]:
    """Submit ``requests`` and wait for all of them; interrupted (Ctrl-C, SIGTERM), the
    unfinished ones are cancelled (failed, containers killed) before the interruption goes on."""
    ids = [r.run_id for r in requests]
    try:
        backend.submit(requests)
        states = backend.wait(ids, on_progress=on_progress)
        mark("run done")
        return states
    except BaseException:
        backend.cancel(ids)
        raise


def close_backend(backend: Backend, secret_keys: Collection[str] = ()) -> None:
    """Remove the Variables this use case stored, then close the backend; called in its
    ``finally``: its runs are over (finished, failed, or cancelled by ``run_batch``) and its
    Variables' keys are its own (``saber.execution._secrets``), so no other run loses one."""
    try:
        if secret_keys:
            backend.forget_secrets(list(secret_keys))
    finally:
        backend.close()
        mark("close")
