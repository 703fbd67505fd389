"""One batch of DAG runs on a backend, cancelled as a whole when interrupted."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from saber.backends import Backend, RunProgress, RunRequest, RunState

__all__ = ["run_batch"]


def run_batch(backend: Backend, requests: Sequence[RunRequest],
              on_progress: Callable[[list[RunProgress]], None] | None = None) -> dict[str, RunState]:
    """Submit ``requests`` and wait for all of them; interrupted (Ctrl-C, SIGTERM), the
    unfinished ones are cancelled (failed, containers killed) before the interruption goes on."""
    ids = [r.run_id for r in requests]
    try:
        backend.submit(requests)
        return backend.wait(ids, on_progress=on_progress)
    except BaseException:
        backend.cancel(ids)
        raise
