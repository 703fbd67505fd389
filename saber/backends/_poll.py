"""The one place saber waits on something outside it: polling with backoff and jitter."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["poll"]

T = TypeVar("T")


def poll(check: Callable[[], T | None], *, timeout: float, first: float = 0.2, most: float = 5.0,
         factor: float = 1.6, relative: float | None = None,
         sleep: Callable[[float], None] = time.sleep) -> T | None:
    """Call ``check`` until it returns something other than None, or ``timeout`` seconds pass
    (then None). Waits grow from ``first`` by ``factor`` up to ``most``, each with ±20 % jitter so
    many clients polling one server do not fall into step.

    With ``relative``, a wait is instead that share of the time waited so far (between ``first``
    and ``most``): a thing that took t seconds is noticed about ``relative`` * t late, so a run of
    seconds is seen within a fraction of a second and one of hours is asked about every ``most``.
    """
    started = time.monotonic()
    deadline = started + timeout
    delay = first
    while True:
        found = check()
        if found is not None:
            return found
        now = time.monotonic()
        if now >= deadline:
            return None
        if relative is not None:
            delay = min(most, max(first, relative * (now - started)))
        sleep(min(deadline - now, delay * random.uniform(0.8, 1.2)))
        if relative is None:
            delay = min(most, delay * factor)
