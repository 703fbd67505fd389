"""The one place saber waits on something outside it: polling with backoff and jitter."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["poll"]

T = TypeVar("T")


def poll(check: Callable[[], T | None], *, timeout: float, first: float = 0.2, most: float = 5.0,
         factor: float = 1.6, sleep: Callable[[float], None] = time.sleep) -> T | None:
    """Call ``check`` until it returns something other than None, or ``timeout`` seconds pass
    (then None). Waits grow from ``first`` by ``factor`` up to ``most``, each with ±20 % jitter so
    many clients polling one server do not fall into step."""
    deadline = time.monotonic() + timeout
    delay = first
    while True:
        found = check()
        if found is not None:
            return found
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sleep(min(left, delay * random.uniform(0.8, 1.2)))
        delay = min(most, delay * factor)
