"""The embedded runner's worker processes come in pools forked as tasks need them."""

from __future__ import annotations

import time

import pytest

from saber.backends.embedded._workers import WorkerPools


def _noop() -> None:
    pass


def test_worker_processes_are_forked_as_tasks_need_them() -> None:
    """Pools of ``size`` (a fork-context pool forks all its workers at its first task), a new one
    only when those before it are busy, never more than ``limit`` processes."""
    pools = WorkerPools(size=2, limit=3, initializer=_noop)
    try:
        assert [pools.submit(abs, -n).result(timeout=60) for n in (1, 2)] == [1, 2]
        assert pools.processes == 2  # one task at a time: the first pool serves them all
        busy = [pools.submit(time.sleep, 2) for _ in range(3)]
        assert pools.processes == 3  # the second pool gets only what the limit leaves
        with pytest.raises(RuntimeError, match="more than 3 tasks"):
            pools.submit(time.sleep, 0)
        assert [f.result(timeout=60) for f in busy] == [None] * 3
    finally:
        pools.shutdown(wait=True)
    with pytest.raises(RuntimeError, match="after shutdown"):
        pools.submit(abs, 0)
