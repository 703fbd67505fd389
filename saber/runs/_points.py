"""A plain sweep's points as DAG run requests, made as they are run: a sweep of a million points
starts its first run in about the time one of ten does, and holds one batch at a time."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from saber.backends import RunRequest

__all__ = ["Points", "BATCH"]

# Runs submitted together when the sweep gives no batch_size: bounded, so the Airflow database
# gets runs as the sweep reaches them, not all at once (and a batch's end barely waits).
BATCH = 1000
CHECK_ALL = 10_000  # a sweep this small has every point checked before the first run


@dataclass(frozen=True)
class Points:
    """The sweep's (point, RunRequest) pairs, ``count`` of them, each made when iterated."""

    count: int
    make: Callable[[], Iterator[Any]]  # the points, lazily (saber.sweep.iter_points)
    request: Callable[[Any, str, dict], RunRequest]
    sweep_id: str

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[tuple[Any, RunRequest]]:
        for point in self.make():
            yield point, self.request(point, f"{self.sweep_id}_p{point.index:04d}", {"point": point.index})

    def batches(self, size: int) -> Iterator[list[tuple[Any, RunRequest]]]:
        pairs = iter(self)
        while batch := list(itertools.islice(pairs, size)):
            yield batch

    def check(self) -> None:
        """Make every point's request, which checks it, up to CHECK_ALL points; of a larger sweep
        the first one's: every other point differs only in values whose types the sweep's check
        already matched to the workflow (each listed value, a range's ends), and in nothing else
        a request checks (which inputs are given, which are secret)."""
        for _ in itertools.islice(self, CHECK_ALL if self.count <= CHECK_ALL else 1):
            pass
